//! The routing engine's decisions (docs/contract.md#routing,
//! docs/contract.md#inventory-gate), without I/O: given each part's availability, thresholds in force,
//! pause flag and open procurement request, and the open PM work orders with the parts their
//! asset's bill of materials names, [`plan`] says which procurement requests to raise or close and
//! which work orders to hold for material or release.
//!
//! Rules:
//! - A part is **short** when it has thresholds in force and a stock state, its available quantity
//!   (on hand − reserved) is below the published reorder point, and routing is not paused for it.
//! - A part has **recovered** when it has thresholds and stock and available ≥ reorder point.
//! - A short part without an open request gets one, for `max − available` (order up to max), when
//!   that is positive, rounded by the part's [`UnitPolicy::order_quantity`] (whole packs and at
//!   least the minimum order quantity for discrete units; two decimals for continuous units
//!   without pack size or minimum). A recovered part's open request is closed as fulfilled.
//! - An open PM (SCHEDULED or RELEASED) needing a short part is held (MATERIAL_PENDING); a
//!   MATERIAL_PENDING order none of whose parts is short is released back to SCHEDULED.
//! - A paused part changes nothing: no request raised or closed for it, and no order needing it
//!   moves in either direction.
//!
//! Applying the decisions and planning again yields no decision (idempotence).

use crate::units::UnitPolicy;
use crate::work_order::{WoAction, WoState, transition};
use std::collections::{BTreeMap, BTreeSet};

/// The thresholds of a part that routing uses.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Limits {
    /// Published reorder point.
    pub reorder: f64,
    /// Published maximum (the order-up-to level).
    pub max: f64,
}

/// The open procurement request of a part.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OpenRequest {
    /// The request's id.
    pub id: i64,
    /// Units requested.
    pub quantity: f64,
}

/// What routing knows of one part.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PartInput {
    /// The part.
    pub part_id: String,
    /// On hand − reserved; `None` when the part has no stock state yet.
    pub available: Option<f64>,
    /// Thresholds in force; `None` when none were published.
    pub limits: Option<Limits>,
    /// Routing is paused for the part (a scan disagreed with system stock).
    pub paused: bool,
    /// Its open procurement request, if any.
    pub open_request: Option<OpenRequest>,
    /// How its order quantities are rounded (unit of measure, pack size, minimum order quantity).
    pub units: UnitPolicy,
}

/// What routing knows of one open PM work order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OrderInput {
    /// The work order's id.
    pub work_order_id: i64,
    /// Its current state.
    pub state: WoState,
    /// The parts its asset's bill of materials names.
    pub needs: Vec<String>,
}

/// Where a part stands for routing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PartStatus {
    /// Routing is paused: nothing may change because of this part.
    Paused,
    /// Available below the reorder point.
    Short {
        /// On hand − reserved.
        available: f64,
        /// The thresholds in force.
        limits: Limits,
    },
    /// Available at or above the reorder point.
    Recovered,
    /// No thresholds or no stock state (or a non-finite figure): not short, but not known to have
    /// recovered either.
    Unknown,
}

impl PartStatus {
    /// Whether the part is short.
    pub fn is_short(self) -> bool {
        matches!(self, Self::Short { .. })
    }
}

/// The routing status of a part (see the module rules).
pub fn status(part: &PartInput) -> PartStatus {
    if part.paused {
        return PartStatus::Paused;
    }
    match (part.available, part.limits) {
        (Some(available), Some(limits)) if available.is_finite() && limits.reorder.is_finite() => {
            if available < limits.reorder { PartStatus::Short { available, limits } } else { PartStatus::Recovered }
        }
        _ => PartStatus::Unknown,
    }
}

/// One thing the routing engine is to do.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Raise a procurement request for a short part that has none open.
    RaiseRequest {
        /// The part.
        part_id: String,
        /// Units to order: max − available (order up to max), rounded by the part's
        /// [`UnitPolicy::order_quantity`].
        quantity: f64,
        /// Why, naming the stock figure and the reorder point.
        reason: String,
    },
    /// Bring a short part's open request to order up to max from the current stock (stock kept
    /// falling, or partly recovered, since it was raised), so the open request never depends on the
    /// order in which stock figures arrived.
    ResizeRequest {
        /// The request.
        request_id: i64,
        /// Its part.
        part_id: String,
        /// Units to order now: max − available, rounded by the part's
        /// [`UnitPolicy::order_quantity`].
        quantity: f64,
        /// Why, with the figures the new quantity comes from (replaces the request's reason, so
        /// the text never names a stale stock figure or max).
        reason: String,
    },
    /// Close a recovered part's open request as fulfilled.
    CloseRequest {
        /// The request.
        request_id: i64,
        /// Its part.
        part_id: String,
    },
    /// Move an open PM to MATERIAL_PENDING.
    HoldForMaterial {
        /// The work order.
        work_order_id: i64,
        /// Its current state (SCHEDULED or RELEASED), for the compare-and-set.
        from: WoState,
        /// The needed parts that are short, sorted.
        short_parts: Vec<String>,
    },
    /// Move a MATERIAL_PENDING order back to SCHEDULED.
    ReleaseMaterial {
        /// The work order.
        work_order_id: i64,
    },
}

/// The reason of a procurement request: the figures its quantity comes from.
fn order_reason(available: f64, limits: Limits) -> String {
    format!(
        "available stock {available} is below the reorder point {}; ordering up to max {}",
        limits.reorder, limits.max
    )
}

/// Plans the routing decisions: first the procurement decisions by part id, then the work-order
/// decisions by work-order id. With several entries for one part or one work order, the first
/// counts. Parts a work order needs that are not in `parts` count as [`PartStatus::Unknown`].
pub fn plan(parts: &[PartInput], orders: &[OrderInput]) -> Vec<Decision> {
    let mut by_part: BTreeMap<&str, &PartInput> = BTreeMap::new();
    for p in parts {
        by_part.entry(p.part_id.as_str()).or_insert(p);
    }
    let statuses: BTreeMap<&str, PartStatus> = by_part.iter().map(|(id, p)| (*id, status(p))).collect();
    let mut out = Vec::new();
    for (id, part) in &by_part {
        match (statuses[id], part.open_request) {
            (PartStatus::Short { available, limits }, None) => {
                let quantity = part.units.order_quantity(limits.max - available);
                if quantity > 0.0 {
                    out.push(Decision::RaiseRequest {
                        part_id: (*id).to_owned(),
                        quantity,
                        reason: order_reason(available, limits),
                    });
                }
            }
            (PartStatus::Short { available, limits }, Some(request)) => {
                let quantity = part.units.order_quantity(limits.max - available);
                if quantity > 0.0 && quantity.to_bits() != request.quantity.to_bits() {
                    out.push(Decision::ResizeRequest {
                        request_id: request.id,
                        part_id: (*id).to_owned(),
                        quantity,
                        reason: order_reason(available, limits),
                    });
                }
            }
            (PartStatus::Recovered, Some(request)) => {
                out.push(Decision::CloseRequest { request_id: request.id, part_id: (*id).to_owned() });
            }
            _ => {}
        }
    }
    let mut by_order: BTreeMap<i64, &OrderInput> = BTreeMap::new();
    for o in orders {
        by_order.entry(o.work_order_id).or_insert(o);
    }
    for (id, order) in by_order {
        let needed: BTreeSet<&str> = order.needs.iter().map(String::as_str).collect();
        let status_of = |p: &str| statuses.get(p).copied().unwrap_or(PartStatus::Unknown);
        if needed.iter().any(|p| status_of(p) == PartStatus::Paused) {
            continue;
        }
        let short: Vec<String> = needed.iter().filter(|p| status_of(p).is_short()).map(|p| (*p).to_owned()).collect();
        if !short.is_empty() && transition(order.state, WoAction::HoldForMaterial).is_ok() {
            out.push(Decision::HoldForMaterial { work_order_id: id, from: order.state, short_parts: short });
        } else if short.is_empty() && transition(order.state, WoAction::MaterialAvailable).is_ok() {
            out.push(Decision::ReleaseMaterial { work_order_id: id });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantity::Quantity;
    use proptest::prelude::*;

    fn part(id: &str, available: Option<f64>, reorder_max: Option<(f64, f64)>) -> PartInput {
        PartInput {
            part_id: id.to_owned(),
            available,
            limits: reorder_max.map(|(reorder, max)| Limits { reorder, max }),
            paused: false,
            open_request: None,
            units: UnitPolicy::CONTINUOUS,
        }
    }

    fn order(id: i64, state: WoState, needs: &[&str]) -> OrderInput {
        OrderInput { work_order_id: id, state, needs: needs.iter().map(|s| (*s).to_owned()).collect() }
    }

    /// What the store does with the decisions; new requests get ids from 1000 on.
    fn apply(parts: &mut [PartInput], orders: &mut [OrderInput], decisions: &[Decision]) {
        let mut next_id = 1000;
        for d in decisions {
            match d {
                Decision::RaiseRequest { part_id, quantity, .. } => {
                    let p = parts.iter_mut().find(|p| &p.part_id == part_id).unwrap();
                    assert!(p.open_request.is_none(), "second open request for {part_id}");
                    p.open_request = Some(OpenRequest { id: next_id, quantity: *quantity });
                    next_id += 1;
                }
                Decision::CloseRequest { request_id, part_id } => {
                    let p = parts.iter_mut().find(|p| &p.part_id == part_id).unwrap();
                    assert_eq!(p.open_request.map(|r| r.id), Some(*request_id));
                    p.open_request = None;
                }
                Decision::ResizeRequest { request_id, part_id, quantity, .. } => {
                    let p = parts.iter_mut().find(|p| &p.part_id == part_id).unwrap();
                    assert_eq!(p.open_request.map(|r| r.id), Some(*request_id));
                    p.open_request = Some(OpenRequest { id: *request_id, quantity: *quantity });
                }
                Decision::HoldForMaterial { work_order_id, from, .. } => {
                    let o = orders.iter_mut().find(|o| o.work_order_id == *work_order_id).unwrap();
                    assert_eq!(o.state, *from);
                    o.state = transition(o.state, WoAction::HoldForMaterial).unwrap();
                }
                Decision::ReleaseMaterial { work_order_id } => {
                    let o = orders.iter_mut().find(|o| o.work_order_id == *work_order_id).unwrap();
                    o.state = transition(o.state, WoAction::MaterialAvailable).unwrap();
                }
            }
        }
    }

    #[test]
    fn short_part_raises_one_request_and_holds_the_pm_needing_it() {
        let parts = vec![part("BRG", Some(3.0), Some((18.75, 28.12))), part("FLT", Some(50.0), Some((2.0, 3.0)))];
        let orders = vec![order(2, WoState::Released, &["FLT"]), order(1, WoState::Scheduled, &["BRG", "FLT"])];
        let d = plan(&parts, &orders);
        assert_eq!(
            d,
            vec![
                Decision::RaiseRequest {
                    part_id: "BRG".into(),
                    quantity: 25.12,
                    reason: "available stock 3 is below the reorder point 18.75; ordering up to max 28.12".into(),
                },
                Decision::HoldForMaterial {
                    work_order_id: 1,
                    from: WoState::Scheduled,
                    short_parts: vec!["BRG".into()]
                },
            ]
        );
    }

    #[test]
    fn discrete_parts_order_whole_packs_of_at_least_the_minimum() {
        let q = |v: f64| Some(Quantity::new(v).unwrap());
        // The O-ring kits: 28.66 to order up to max, packs of 5.
        let mut kits = part("ORING-KIT", Some(1.34), Some((20.0, 30.0)));
        kits.units = UnitPolicy { discrete: true, pack_size: q(5.0), min_order_qty: None };
        let mut seals = part("SEAL", Some(7.26), Some((100.0, 150.0)));
        seals.units = UnitPolicy { discrete: true, pack_size: None, min_order_qty: q(200.0) };
        seals.open_request = Some(OpenRequest { id: 4, quantity: 142.74 });
        let d = plan(&[kits, seals], &[]);
        assert!(matches!(&d[0], Decision::RaiseRequest { quantity, .. } if *quantity == 30.0), "{d:?}");
        assert!(matches!(&d[1], Decision::ResizeRequest { quantity, request_id: 4, .. } if *quantity == 200.0));
    }

    #[test]
    fn a_resize_restates_the_reason_with_the_new_figures() {
        let mut brg = part("BRG", Some(3.0), Some((5.0, 10.0)));
        brg.open_request = Some(OpenRequest { id: 7, quantity: 0.75 });
        assert_eq!(
            plan(&[brg], &[]),
            vec![Decision::ResizeRequest {
                request_id: 7,
                part_id: "BRG".into(),
                quantity: 7.0,
                reason: "available stock 3 is below the reorder point 5; ordering up to max 10".into(),
            }]
        );
    }

    #[test]
    fn recovery_closes_the_request_and_releases_the_order() {
        let mut brg = part("BRG", Some(18.75), Some((18.75, 28.12)));
        brg.open_request = Some(OpenRequest { id: 7, quantity: 25.12 });
        let orders =
            vec![order(1, WoState::MaterialPending, &["BRG"]), order(2, WoState::MaterialPending, &["BRG", "GONE"])];
        assert_eq!(
            plan(&[brg], &orders),
            vec![
                Decision::CloseRequest { request_id: 7, part_id: "BRG".into() },
                Decision::ReleaseMaterial { work_order_id: 1 },
                Decision::ReleaseMaterial { work_order_id: 2 },
            ]
        );
    }

    #[test]
    fn a_paused_part_changes_nothing() {
        let mut short = part("BRG", Some(0.0), Some((10.0, 20.0)));
        short.paused = true;
        let mut recovered = part("FLT", Some(50.0), Some((2.0, 3.0)));
        recovered.paused = true;
        recovered.open_request = Some(OpenRequest { id: 3, quantity: 1.0 });
        let orders = vec![
            order(1, WoState::Scheduled, &["BRG"]),
            order(2, WoState::MaterialPending, &["FLT"]),
            // Another short part would hold it, but the paused one freezes the order.
            order(3, WoState::Scheduled, &["BRG", "X"]),
        ];
        let x = part("X", Some(0.0), Some((1.0, 2.0)));
        let d = plan(&[short, recovered, x], &orders);
        assert_eq!(
            d,
            vec![Decision::RaiseRequest {
                part_id: "X".into(),
                quantity: 2.0,
                reason: "available stock 0 is below the reorder point 1; ordering up to max 2".into(),
            }]
        );
    }

    #[test]
    fn unknown_parts_and_other_states_change_nothing() {
        let parts = vec![
            part("NOSTOCK", None, Some((5.0, 9.0))),
            part("NOLIMITS", Some(0.0), None),
            part("NAN", Some(f64::NAN), Some((5.0, 9.0))),
            // Short, but max is not above available: nothing to order.
            part("ODD", Some(4.0), Some((5.0, 4.0))),
        ];
        let mut with_request = part("KEEP", None, Some((5.0, 9.0)));
        with_request.open_request = Some(OpenRequest { id: 1, quantity: 9.0 });
        let mut all = parts.clone();
        all.push(with_request);
        let orders = vec![
            order(1, WoState::InProgress, &["ODD"]),
            order(2, WoState::Completed, &["ODD"]),
            order(3, WoState::Scheduled, &["NOSTOCK", "NOLIMITS", "NAN"]),
        ];
        assert_eq!(plan(&all, &orders), Vec::new());
        // ODD is short even without a request: the order needing it is held.
        let d = plan(&all, &[order(4, WoState::Released, &["ODD"])]);
        assert_eq!(
            d,
            vec![Decision::HoldForMaterial {
                work_order_id: 4,
                from: WoState::Released,
                short_parts: vec!["ODD".into()]
            }]
        );
    }

    #[test]
    fn quantities_are_rounded_and_duplicates_count_once() {
        let a = part("A", Some(3.1), Some((10.0, 28.12)));
        let mut b = a.clone();
        b.available = Some(0.0);
        let d = plan(&[a, b], &[order(1, WoState::Scheduled, &["A", "A"]), order(1, WoState::Released, &["A"])]);
        assert_eq!(d.len(), 2);
        assert!(matches!(&d[0], Decision::RaiseRequest { quantity, .. } if *quantity == 25.02));
        assert!(
            matches!(&d[1], Decision::HoldForMaterial { from: WoState::Scheduled, short_parts, .. } if short_parts.len() == 1)
        );
    }

    const IDS: [&str; 5] = ["P0", "P1", "P2", "P3", "P4"];

    fn arb_part(id: &'static str) -> impl Strategy<Value = PartInput> {
        (
            prop::option::of(prop_oneof![-5.0f64..40.0, Just(10.0), Just(0.0)]),
            prop::option::of((0.0f64..30.0, 0.0f64..20.0)),
            prop::bool::weighted(0.2),
            prop::option::of((0i64..100, 0.0f64..50.0)),
            arb_units(),
        )
            .prop_map(move |(available, limits, paused, open, units)| PartInput {
                part_id: id.to_owned(),
                available,
                limits: limits.map(|(reorder, extra)| Limits { reorder, max: reorder + extra }),
                paused,
                open_request: open.map(|(id, quantity)| OpenRequest { id, quantity }),
                units,
            })
    }

    /// Continuous parts as before whole units, and discrete or packed parts.
    fn arb_units() -> impl Strategy<Value = UnitPolicy> {
        let qty = || prop::option::of(prop_oneof![Just(1.0), Just(5.0), Just(12.0), Just(2.5), 0.01f64..30.0]);
        prop_oneof![
            Just(UnitPolicy::CONTINUOUS),
            (any::<bool>(), qty(), qty()).prop_map(|(discrete, pack, moq)| UnitPolicy {
                discrete,
                pack_size: pack.and_then(|v| Quantity::new(v).ok()),
                min_order_qty: moq.and_then(|v| Quantity::new(v).ok()),
            }),
        ]
    }

    fn arb_inputs() -> impl Strategy<Value = (Vec<PartInput>, Vec<OrderInput>)> {
        let parts: Vec<_> = IDS.iter().map(|id| arb_part(id).boxed()).collect();
        let orders = prop::collection::vec(
            (prop::sample::select(WoState::ALL.to_vec()), prop::sample::subsequence(IDS.to_vec(), 0..=3)),
            0..8,
        );
        (parts, orders, prop::sample::subsequence(IDS.to_vec(), 0..=5)).prop_map(|(parts, orders, keep)| {
            let parts = parts.into_iter().filter(|p| keep.contains(&p.part_id.as_str())).collect();
            let orders =
                orders.into_iter().enumerate().map(|(i, (state, needs))| order(i as i64, state, &needs)).collect();
            (parts, orders)
        })
    }

    /// A discrete part's order is whole, a whole multiple of its pack, at least its minimum and
    /// at least max − available; other parts' orders are not checked here (see `crate::units`).
    fn whole_order(p: &PartInput, quantity: f64) -> bool {
        let (Some(available), Some(limits)) = (p.available, p.limits) else { return false };
        if !p.units.discrete {
            return true;
        }
        let micros = (quantity * 1e6).round() as i64;
        let pack = p.units.pack_size.map_or(1_000_000, Quantity::micros);
        micros % 1_000_000 == 0
            && micros % pack == 0
            && quantity >= limits.max - available
            && quantity >= p.units.min_order_qty.map_or(0.0, Quantity::get)
    }

    proptest! {
        #[test]
        fn planning_after_applying_decides_nothing((parts, orders) in arb_inputs()) {
            let (mut p, mut o) = (parts.clone(), orders.clone());
            let first = plan(&p, &o);
            apply(&mut p, &mut o, &first);
            prop_assert_eq!(plan(&p, &o), Vec::new());
            // Deterministic, whatever the input order.
            let (mut rp, mut ro) = (parts.clone(), orders.clone());
            rp.reverse();
            ro.reverse();
            prop_assert_eq!(plan(&rp, &ro), first);
        }

        #[test]
        fn decisions_follow_the_rules((parts, orders) in arb_inputs()) {
            let decisions = plan(&parts, &orders);
            let part = |id: &str| parts.iter().find(|p| p.part_id == id);
            let mut touched = BTreeSet::new();
            for d in &decisions {
                match d {
                    Decision::RaiseRequest { part_id, quantity, .. } => {
                        let p = part(part_id).unwrap();
                        prop_assert!(status(p).is_short() && !p.paused);
                        prop_assert!(p.open_request.is_none());
                        prop_assert!(*quantity > 0.0);
                        prop_assert!(whole_order(p, *quantity), "{:?} ordered {}", p, quantity);
                        prop_assert!(touched.insert(part_id.clone()), "two decisions for {}", part_id);
                    }
                    Decision::ResizeRequest { part_id, request_id, quantity, .. } => {
                        let p = part(part_id).unwrap();
                        prop_assert!(status(p).is_short() && !p.paused);
                        prop_assert_eq!(p.open_request.map(|r| r.id), Some(*request_id));
                        prop_assert!(*quantity > 0.0);
                        prop_assert!(whole_order(p, *quantity), "{:?} ordered {}", p, quantity);
                        prop_assert!(touched.insert(part_id.clone()), "two decisions for {}", part_id);
                    }
                    Decision::CloseRequest { part_id, request_id } => {
                        let p = part(part_id).unwrap();
                        prop_assert_eq!(status(p), PartStatus::Recovered);
                        prop_assert_eq!(p.open_request.map(|r| r.id), Some(*request_id));
                        prop_assert!(touched.insert(part_id.clone()), "two decisions for {}", part_id);
                    }
                    Decision::HoldForMaterial { work_order_id, from, short_parts } => {
                        let o = orders.iter().find(|o| o.work_order_id == *work_order_id).unwrap();
                        prop_assert!(matches!(o.state, WoState::Scheduled | WoState::Released));
                        prop_assert_eq!(*from, o.state);
                        prop_assert_eq!(transition(o.state, WoAction::HoldForMaterial), Ok(WoState::MaterialPending));
                        prop_assert!(!short_parts.is_empty());
                        for p in short_parts {
                            prop_assert!(o.needs.contains(p) && part(p).is_some_and(|p| status(p).is_short()));
                        }
                        prop_assert!(o.needs.iter().all(|n| part(n).is_none_or(|p| !p.paused)));
                    }
                    Decision::ReleaseMaterial { work_order_id } => {
                        let o = orders.iter().find(|o| o.work_order_id == *work_order_id).unwrap();
                        prop_assert_eq!(o.state, WoState::MaterialPending);
                        prop_assert_eq!(transition(o.state, WoAction::MaterialAvailable), Ok(WoState::Scheduled));
                        prop_assert!(o.needs.iter().all(|n| part(n).is_none_or(|p| !p.paused && !status(p).is_short())));
                    }
                }
            }
            // Every short part ends with exactly one open request (unless there is nothing to order).
            for p in &parts {
                let raised = decisions.iter().filter(|d| matches!(d, Decision::RaiseRequest { part_id, .. } if *part_id == p.part_id)).count();
                prop_assert!(raised + usize::from(p.open_request.is_some()) <= 1);
            }
        }
    }
}
