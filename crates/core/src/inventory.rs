//! Inventory gate decisions (docs/contract.md#inventory-gate;
//! re-deliveries: docs/contract.md#duplicates-and-re-delivery): pure answers to "apply this delivery?", "is this stock level
//! believable?", "does this count agree?", "may routing act on this part?". The store keeps the
//! state these functions are given; the parameters live in the registry's `[gate]` section
//! ([`GateParams`]).

use crate::formula::GateParams;
use crate::quantity::Quantity;
use jiff::Timestamp;
use std::fmt;

/// What to do with a stock snapshot given the last sequence applied for its `(source, SKU)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Newer than anything applied (or the first one): apply it.
    Apply,
    /// Same sequence as the last applied one: a retry; change nothing (HTTP 409).
    Duplicate {
        /// The last applied sequence.
        last_applied: i64,
    },
    /// Older than the last applied one: an out-of-order delivery; change nothing (HTTP 409).
    Stale {
        /// The last applied sequence.
        last_applied: i64,
    },
}

impl SequenceCheck {
    /// Whether the snapshot is to be applied.
    pub fn is_apply(self) -> bool {
        self == Self::Apply
    }
}

/// Sequence ids are monotonic per `(source, SKU)`; only a strictly newer one changes state.
pub fn check_sequence(last_applied: Option<i64>, incoming: i64) -> SequenceCheck {
    match last_applied {
        None => SequenceCheck::Apply,
        Some(last) if incoming > last => SequenceCheck::Apply,
        Some(last) if incoming == last => SequenceCheck::Duplicate { last_applied: last },
        Some(last) => SequenceCheck::Stale { last_applied: last },
    }
}

/// Why a snapshot is rejected outright.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum SnapshotRejection {
    /// Stock below zero cannot exist.
    #[error("on-hand quantity must not be negative (got {0})")]
    NegativeStock(f64),
    /// NaN or infinite.
    #[error("on-hand quantity must be a finite number")]
    NotFinite,
}

impl SnapshotRejection {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NegativeStock(_) => "NEGATIVE_STOCK",
            Self::NotFinite => "INVALID_QUANTITY",
        }
    }
}

/// A stock drop that recent consumption cannot explain; the snapshot waits for review.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DropHold {
    /// Stock before the snapshot.
    pub previous_on_hand: f64,
    /// Stock the snapshot reports.
    pub new_on_hand: f64,
    /// `previous − new`.
    pub drop: f64,
    /// Consumption in the look-back window before the snapshot.
    pub recent_consumption: f64,
    /// `recent_consumption × drop_factor + drop_slack_units`.
    pub allowed_drop: f64,
}

impl DropHold {
    /// Stable code of the alert.
    pub const CODE: &'static str = "IMPLAUSIBLE_DROP";
}

impl fmt::Display for DropHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stock fell by {} ({} -> {}) but recent consumption ({}) explains a drop of at most {}",
            self.drop, self.previous_on_hand, self.new_on_hand, self.recent_consumption, self.allowed_drop
        )
    }
}

/// The plausibility verdict on a snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plausibility {
    /// Believable: apply this on-hand quantity.
    Apply(Quantity),
    /// Hold for review and raise an alert.
    Hold(DropHold),
    /// Reject the row.
    Reject(SnapshotRejection),
}

/// Checks a snapshot against history. Negative or non-finite stock is rejected. A rise, or a drop
/// of at most `recent_consumption × drop_factor + drop_slack_units`, is applied; a larger drop is
/// held. `recent_consumption` is the part's accepted consumption in
/// `[observed_at − drop_lookback_days × 24 h, observed_at)`; the slack keeps tiny parts with no
/// recent consumption from being held for a one-unit correction. Without a previous stock level
/// there is nothing to compare with, so the snapshot is applied.
pub fn check_plausibility(
    new_on_hand: f64,
    previous_on_hand: Option<Quantity>,
    recent_consumption: Quantity,
    params: &GateParams,
) -> Plausibility {
    if !new_on_hand.is_finite() {
        return Plausibility::Reject(SnapshotRejection::NotFinite);
    }
    let Ok(new) = Quantity::new(new_on_hand) else {
        return Plausibility::Reject(SnapshotRejection::NegativeStock(new_on_hand));
    };
    let Some(previous) = previous_on_hand else { return Plausibility::Apply(new) };
    let drop = previous.get() - new.get();
    let allowed_drop = recent_consumption.get() * params.drop_factor + params.drop_slack_units;
    if drop > allowed_drop {
        Plausibility::Hold(DropHold {
            previous_on_hand: previous.get(),
            new_on_hand: new.get(),
            drop,
            recent_consumption: recent_consumption.get(),
            allowed_drop,
        })
    } else {
        Plausibility::Apply(new)
    }
}

/// A count that disagrees with system stock beyond the tolerance.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ScanDiscrepancy {
    /// What the scanner counted.
    pub counted: f64,
    /// What the system believed.
    pub system: f64,
    /// `counted − system`.
    pub difference: f64,
    /// The tolerance that was exceeded.
    pub tolerance: f64,
}

/// Whether a count agrees with system stock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScanOutcome {
    /// Within tolerance.
    Match,
    /// Beyond tolerance.
    Discrepancy(ScanDiscrepancy),
}

/// Compares a count with system stock: they match when
/// `|counted − system| ≤ max(scan_abs_tolerance, scan_rel_tolerance × system)`. A further
/// `1e-9 × max(1, system)` absorbs binary noise of fractional units (0.1 + 0.2 vs 0.3). With the
/// defaults (0 and 2 %) a count of whole units must match exactly below 50 units.
pub fn reconcile_scan(counted: Quantity, system: Quantity, params: &GateParams) -> ScanOutcome {
    let (c, s) = (counted.get(), system.get());
    let tolerance = params.scan_abs_tolerance.max(params.scan_rel_tolerance * s);
    let difference = c - s;
    if difference.abs() <= tolerance + 1e-9 * s.max(1.0) {
        ScanOutcome::Match
    } else {
        ScanOutcome::Discrepancy(ScanDiscrepancy { counted: c, system: s, difference, tolerance })
    }
}

/// Why a part's routing signals are paused.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Pause {
    /// The latest disagreeing count.
    pub discrepancy: ScanDiscrepancy,
    /// When that count was taken.
    pub scanned_at: Timestamp,
}

/// Whether routing may act on a part (raise procurement, move work orders).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum RoutingState {
    /// Routing signals flow.
    #[default]
    Active,
    /// Signals paused until reconciliation.
    Paused(Pause),
}

impl RoutingState {
    /// Whether signals are paused.
    pub fn is_paused(&self) -> bool {
        matches!(self, Self::Paused(_))
    }
}

/// Something that may change a part's routing state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReconcileEvent {
    /// A scan was compared with system stock.
    Scan {
        /// The comparison.
        outcome: ScanOutcome,
        /// When the count was taken.
        scanned_at: Timestamp,
    },
    /// An operator accepts the pausing count as the true stock.
    AcceptCount,
}

/// The result of a reconciliation step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reconciled {
    /// The new routing state.
    pub state: RoutingState,
    /// Set the part's stock to this (an accepted count), if any.
    pub set_stock_to: Option<f64>,
}

/// An operator tried to accept a count while nothing is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("routing for this part is not paused; there is no count to accept")]
pub struct NotPaused;

/// The pause state machine of one part:
///
/// - `Active` + matching scan → `Active`; `Active` + disagreeing scan → `Paused`.
/// - `Paused` + a *later* matching scan → `Active`; + a later disagreeing scan → `Paused` with the
///   newer count; a scan taken at or before the pausing one is stale and changes nothing (so a
///   delayed old count never lifts a pause).
/// - `Paused` + operator accept → `Active`, and stock is set to the counted quantity.
/// - `Active` + operator accept → [`NotPaused`].
pub fn reconcile(state: &RoutingState, event: ReconcileEvent) -> Result<Reconciled, NotPaused> {
    let keep = |state: RoutingState| Reconciled { state, set_stock_to: None };
    Ok(match (state, event) {
        (RoutingState::Active, ReconcileEvent::AcceptCount) => return Err(NotPaused),
        (RoutingState::Paused(p), ReconcileEvent::AcceptCount) => {
            Reconciled { state: RoutingState::Active, set_stock_to: Some(p.discrepancy.counted) }
        }
        (RoutingState::Paused(p), ReconcileEvent::Scan { scanned_at, .. }) if scanned_at <= p.scanned_at => {
            keep(*state)
        }
        (_, ReconcileEvent::Scan { outcome: ScanOutcome::Match, .. }) => keep(RoutingState::Active),
        (_, ReconcileEvent::Scan { outcome: ScanOutcome::Discrepancy(discrepancy), scanned_at }) => {
            keep(RoutingState::Paused(Pause { discrepancy, scanned_at }))
        }
    })
}

/// A delivery whose key was seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// First delivery of this key: store it.
    New,
    /// Identical to the stored record: a retry; acknowledge and ignore.
    Duplicate,
}

/// A record whose key (`(source, event_id)` for consumption, `event_id` for failure events) was
/// delivered before with different content. The first delivery stands; this row is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a different record with the same key was delivered before; the first delivery stands")]
pub struct DuplicateConflict;

impl DuplicateConflict {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        "DUPLICATE_CONFLICT"
    }
}

/// De-duplicates by key: `existing` is the record already stored under the incoming record's key.
/// Records compare by their parsed values, so `"2.50"` and `"2.5"` are the same delivery.
pub fn dedup<T: PartialEq>(existing: Option<&T>, incoming: &T) -> Result<Delivery, DuplicateConflict> {
    match existing {
        None => Ok(Delivery::New),
        Some(e) if e == incoming => Ok(Delivery::Duplicate),
        Some(_) => Err(DuplicateConflict),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thresholds::exact_sum;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn q(v: f64) -> Quantity {
        Quantity::new(v).unwrap()
    }

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn sequences() {
        assert_eq!(check_sequence(None, -5), SequenceCheck::Apply);
        assert_eq!(check_sequence(Some(3), 4), SequenceCheck::Apply);
        assert_eq!(check_sequence(Some(3), 3), SequenceCheck::Duplicate { last_applied: 3 });
        assert_eq!(check_sequence(Some(3), 2), SequenceCheck::Stale { last_applied: 3 });
    }

    #[test]
    fn plausibility() {
        let p = GateParams::default();
        assert_eq!(
            check_plausibility(-1.0, None, q(0.0), &p),
            Plausibility::Reject(SnapshotRejection::NegativeStock(-1.0))
        );
        assert_eq!(check_plausibility(f64::NAN, None, q(0.0), &p), Plausibility::Reject(SnapshotRejection::NotFinite));
        assert_eq!(check_plausibility(5.0, None, q(0.0), &p), Plausibility::Apply(q(5.0)));
        // Rises are receipts.
        assert_eq!(check_plausibility(500.0, Some(q(5.0)), q(0.0), &p), Plausibility::Apply(q(500.0)));
        // 10 consumed recently: a drop of up to 31 is explainable.
        assert_eq!(check_plausibility(69.0, Some(q(100.0)), q(10.0), &p), Plausibility::Apply(q(69.0)));
        match check_plausibility(68.0, Some(q(100.0)), q(10.0), &p) {
            Plausibility::Hold(h) => {
                assert_eq!((h.drop, h.allowed_drop), (32.0, 31.0));
                assert!(h.to_string().contains("fell by 32"), "{h}");
            }
            other => panic!("{other:?}"),
        }
        // The slack lets a one-unit correction through without any consumption.
        assert_eq!(check_plausibility(4.0, Some(q(5.0)), q(0.0), &p), Plausibility::Apply(q(4.0)));
    }

    #[test]
    fn scans_and_pauses() {
        let p = GateParams::default();
        assert_eq!(reconcile_scan(q(0.3), q(0.1 + 0.2), &p), ScanOutcome::Match);
        assert_eq!(reconcile_scan(q(98.0), q(100.0), &p), ScanOutcome::Match);
        let ScanOutcome::Discrepancy(d) = reconcile_scan(q(9.0), q(10.0), &p) else { panic!() };
        assert_eq!(d.difference, -1.0);

        let bad = |t| ReconcileEvent::Scan { outcome: ScanOutcome::Discrepancy(d), scanned_at: ts(t) };
        let good = |t| ReconcileEvent::Scan { outcome: ScanOutcome::Match, scanned_at: ts(t) };
        let active = RoutingState::Active;
        assert_eq!(reconcile(&active, ReconcileEvent::AcceptCount), Err(NotPaused));
        let paused = reconcile(&active, bad(100)).unwrap().state;
        assert!(paused.is_paused());
        // An older matching count does not lift the pause; a later one does.
        assert_eq!(reconcile(&paused, good(50)).unwrap().state, paused);
        assert_eq!(reconcile(&paused, good(100)).unwrap().state, paused);
        assert_eq!(reconcile(&paused, good(150)).unwrap().state, RoutingState::Active);
        let accepted = reconcile(&paused, ReconcileEvent::AcceptCount).unwrap();
        assert_eq!(accepted, Reconciled { state: RoutingState::Active, set_stock_to: Some(9.0) });
        assert_eq!(
            reconcile(&paused, bad(200)).unwrap().state,
            RoutingState::Paused(Pause { discrepancy: d, scanned_at: ts(200) })
        );
    }

    #[test]
    fn dedup_by_parsed_value() {
        assert_eq!(dedup(None, &(1, 2.5)), Ok(Delivery::New));
        assert_eq!(dedup(Some(&(1, 2.5)), &(1, "2.50".parse::<f64>().unwrap())), Ok(Delivery::Duplicate));
        let e = dedup(Some(&(1, 2.5)), &(1, 3.0)).unwrap_err();
        assert_eq!(e.code(), "DUPLICATE_CONFLICT");
    }

    /// One delivery of a mixed inventory feed, as the proptest replays it.
    #[derive(Debug, Clone, PartialEq)]
    enum Msg {
        Snapshot { key: (u8, u8), seq: i64, on_hand: f64 },
        Consumption { key: (u8, u16), part: u8, quantity: f64, at: i64 },
    }

    /// The smallest store the gate needs: last applied snapshot per (source, SKU) and the accepted
    /// consumption records per (source, event id).
    #[derive(Debug, Default, PartialEq)]
    struct Store {
        snapshots: BTreeMap<(u8, u8), (i64, f64)>,
        consumption: BTreeMap<(u8, u16), (u8, f64, i64)>,
    }

    impl Store {
        fn apply(&mut self, m: &Msg) {
            match *m {
                Msg::Snapshot { key, seq, on_hand } => {
                    if check_sequence(self.snapshots.get(&key).map(|s| s.0), seq).is_apply() {
                        self.snapshots.insert(key, (seq, on_hand));
                    }
                }
                Msg::Consumption { key, part, quantity, at } => {
                    let rec = (part, quantity, at);
                    if dedup(self.consumption.get(&key), &rec) == Ok(Delivery::New) {
                        self.consumption.insert(key, rec);
                    }
                }
            }
        }

        fn usage_by_part(&self) -> BTreeMap<u8, u64> {
            let mut parts: BTreeMap<u8, Vec<f64>> = BTreeMap::new();
            for &(part, qty, _) in self.consumption.values() {
                parts.entry(part).or_default().push(qty);
            }
            parts.into_iter().map(|(p, v)| (p, exact_sum(v).to_bits())).collect()
        }
    }

    /// A delivery log: distinct messages (each snapshot sequence and each event id has one content,
    /// as a retrying sender produces), plus retries of some of them.
    fn delivery_log() -> impl Strategy<Value = (Vec<Msg>, Vec<Msg>)> {
        let snaps = prop::collection::btree_map((0u8..3, 0u8..3, 0i64..20), 0.0f64..500.0, 0..25);
        let cons = prop::collection::btree_map((0u8..3, 0u16..40), (0u8..4, 0.0f64..50.0, 0i64..1000), 0..40);
        (snaps, cons)
            .prop_map(|(s, c)| {
                let mut unique: Vec<Msg> = s
                    .into_iter()
                    .map(|((src, sku, seq), on_hand)| Msg::Snapshot { key: (src, sku), seq, on_hand })
                    .collect();
                unique.extend(c.into_iter().map(|(key, (part, quantity, at))| Msg::Consumption {
                    key,
                    part,
                    quantity,
                    at,
                }));
                unique
            })
            .prop_flat_map(|unique| {
                let n = unique.len();
                (Just(unique), prop::collection::vec(0..n.max(1), 0..n + 1))
            })
            .prop_flat_map(|(unique, retries)| {
                let mut log = unique.clone();
                log.extend(retries.iter().filter_map(|&i| unique.get(i).cloned()));
                (Just(unique), Just(log).prop_shuffle())
            })
    }

    proptest! {
        #[test]
        fn any_shuffle_with_retries_gives_the_in_order_state((unique, shuffled) in delivery_log()) {
            let mut once = Store::default();
            unique.iter().for_each(|m| once.apply(m));
            let mut replayed = Store::default();
            shuffled.iter().for_each(|m| replayed.apply(m));
            prop_assert_eq!(&replayed, &once);
            prop_assert_eq!(replayed.usage_by_part(), once.usage_by_part());
            // And a second replay of the whole log changes nothing.
            shuffled.iter().for_each(|m| replayed.apply(m));
            prop_assert_eq!(&replayed, &once);
        }
    }
}
