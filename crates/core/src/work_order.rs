//! PM work orders (docs/contract.md#work-orders): the state machine, the completion rule
//! (completing a PM schedules exactly one next PM, due strictly later), and [`PmBook`], a pure
//! in-memory reference model of the "at most one open PM per asset and plan" rule that the
//! store-backed routing engine must behave like.

use crate::ids::AssetId;
pub use crate::ids::PlanId;
use crate::pm::{NextDue, PmError, next_due};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::BTreeMap;
use std::fmt;

/// How far past now a completion time may lie unless configured otherwise (`cmms.toml`
/// `completion_tolerance_seconds`): clock skew between a technician's device and the server.
pub const DEFAULT_COMPLETION_TOLERANCE: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

/// State of a PM work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WoState {
    /// Planned, waiting for release.
    Scheduled,
    /// Released to technicians.
    Released,
    /// Work started.
    InProgress,
    /// Done (final).
    Completed,
    /// Waiting for a part below its reorder point.
    MaterialPending,
    /// Cancelled (final).
    Cancelled,
}

/// An action on a work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WoAction {
    /// SCHEDULED → RELEASED.
    Release,
    /// RELEASED → IN_PROGRESS.
    Start,
    /// IN_PROGRESS → COMPLETED (schedules the next PM).
    Complete,
    /// SCHEDULED or RELEASED → MATERIAL_PENDING (a needed part is short).
    HoldForMaterial,
    /// MATERIAL_PENDING → SCHEDULED (stock recovered).
    MaterialAvailable,
    /// Any open state → CANCELLED.
    Cancel,
}

/// The transition table — the only place that says which action is allowed from which state.
fn target(from: WoState, action: WoAction) -> Option<WoState> {
    use WoAction as A;
    use WoState as S;
    Some(match (from, action) {
        (S::Scheduled, A::Release) => S::Released,
        (S::Released, A::Start) => S::InProgress,
        (S::InProgress, A::Complete) => S::Completed,
        (S::Scheduled | S::Released, A::HoldForMaterial) => S::MaterialPending,
        (S::MaterialPending, A::MaterialAvailable) => S::Scheduled,
        (S::Scheduled | S::Released | S::InProgress | S::MaterialPending, A::Cancel) => S::Cancelled,
        _ => return None,
    })
}

impl WoState {
    /// Every state.
    pub const ALL: [Self; 6] =
        [Self::Scheduled, Self::Released, Self::InProgress, Self::Completed, Self::MaterialPending, Self::Cancelled];

    /// The state's name (`IN_PROGRESS` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDULED",
            Self::Released => "RELEASED",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::MaterialPending => "MATERIAL_PENDING",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Whether the work order still counts as the asset's open PM (not COMPLETED, not CANCELLED).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Completed | Self::Cancelled)
    }

    /// The actions allowed from this state (none for final states).
    pub fn allowed_actions(self) -> impl Iterator<Item = WoAction> {
        WoAction::ALL.into_iter().filter(move |&a| target(self, a).is_some())
    }
}

impl WoAction {
    /// Every action.
    pub const ALL: [Self; 6] =
        [Self::Release, Self::Start, Self::Complete, Self::HoldForMaterial, Self::MaterialAvailable, Self::Cancel];

    /// The action's name (`hold_for_material` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Start => "start",
            Self::Complete => "complete",
            Self::HoldForMaterial => "hold_for_material",
            Self::MaterialAvailable => "material_available",
            Self::Cancel => "cancel",
        }
    }
}

impl fmt::Display for WoState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for WoAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state or action name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {given:?} (known: {known})")]
pub struct UnknownName {
    /// `state` or `action`.
    pub kind: &'static str,
    /// The text given.
    pub given: String,
    /// The known names, comma-separated.
    pub known: String,
}

fn parse_name<T: Copy + fmt::Display>(s: &str, all: &[T], kind: &'static str) -> Result<T, UnknownName> {
    let t = s.trim();
    all.iter().copied().find(|v| v.to_string().eq_ignore_ascii_case(t)).ok_or_else(|| UnknownName {
        kind,
        given: s.to_owned(),
        known: all.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
    })
}

impl std::str::FromStr for WoState {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        parse_name(s, &Self::ALL, "state")
    }
}

/// Decodes a stored state name (the store's row types read the `state` column through it).
impl TryFrom<String> for WoState {
    type Error = UnknownName;
    fn try_from(s: String) -> Result<Self, UnknownName> {
        s.parse()
    }
}

impl std::str::FromStr for WoAction {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        parse_name(s, &Self::ALL, "action")
    }
}

/// An action that is not allowed from the work order's state; the message names the allowed ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition {
    /// The current state.
    pub from: WoState,
    /// The refused action.
    pub action: WoAction,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed: Vec<&str> = self.from.allowed_actions().map(WoAction::as_str).collect();
        write!(f, "cannot {} a work order that is {}; ", self.action, self.from)?;
        if allowed.is_empty() {
            write!(f, "{} is final, no action is allowed", self.from)
        } else {
            write!(f, "allowed: {}", allowed.join(", "))
        }
    }
}

impl std::error::Error for IllegalTransition {}

/// Applies an action to a state.
pub fn transition(from: WoState, action: WoAction) -> Result<WoState, IllegalTransition> {
    target(from, action).ok_or(IllegalTransition { from, action })
}

/// Identifier of a work order in a [`PmBook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct WoId(pub u64);

/// A PM work order.
#[derive(Debug, Clone, PartialEq)]
pub struct PmWorkOrder {
    /// Its id.
    pub id: WoId,
    /// The asset.
    pub asset_id: AssetId,
    /// The plan.
    pub plan_id: PlanId,
    /// Current state.
    pub state: WoState,
    /// The completion its due date was computed from.
    pub follows: Timestamp,
    /// When it is due.
    pub due_at: Timestamp,
    /// When it was completed, once it is.
    pub completed_at: Option<Timestamp>,
}

/// Why a work-order operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkOrderError {
    /// The action is not allowed from the current state.
    #[error("{0}")]
    Illegal(IllegalTransition),
    /// The completion time is not after the completion this PM was scheduled from.
    #[error("completion at {completed_at} is not after the completion this PM follows ({follows})")]
    CompletionBeforeSchedule {
        /// The completion the PM follows.
        follows: Timestamp,
        /// The refused completion time.
        completed_at: Timestamp,
    },
    /// The next PM's due date could not be computed (e.g. `NOT_MONOTONIC`); nothing changed.
    #[error("next PM cannot be scheduled: {0}")]
    NextDue(#[from] PmError),
    /// No work order with this id.
    #[error("unknown work order {0:?}")]
    UnknownWorkOrder(WoId),
    /// The asset and plan already have an open PM.
    #[error("asset {asset_id} plan {plan_id} already has an open PM ({open:?})")]
    AlreadyOpen {
        /// The asset.
        asset_id: AssetId,
        /// The plan.
        plan_id: PlanId,
        /// The open work order.
        open: WoId,
    },
    /// `complete` carries a time and an interval; use the completion operation.
    #[error("completing a PM needs its completion time and the next interval")]
    CompletionNeedsTime,
    /// Only a COMPLETED order has a completion to correct.
    #[error("work order {id:?} is {state}: only a COMPLETED work order's completion time can be corrected")]
    NotCompleted {
        /// The order.
        id: WoId,
        /// Its state.
        state: WoState,
    },
}

impl WorkOrderError {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Illegal(_) => "ILLEGAL_TRANSITION",
            Self::CompletionBeforeSchedule { .. } => "COMPLETION_BEFORE_SCHEDULE",
            Self::NextDue(e) => e.code(),
            Self::UnknownWorkOrder(_) => "UNKNOWN_WORK_ORDER",
            Self::AlreadyOpen { .. } => "ALREADY_OPEN",
            Self::CompletionNeedsTime => "COMPLETION_NEEDS_TIME",
            Self::NotCompleted { .. } => "NOT_COMPLETED",
        }
    }
}

impl From<IllegalTransition> for WorkOrderError {
    fn from(e: IllegalTransition) -> Self {
        Self::Illegal(e)
    }
}

/// The completion rule, without mutating anything: the order must be IN_PROGRESS, the completion
/// strictly after the completion the order follows, and the next due date
/// ([`next_due`]`(completed_at, interval_days, tz)`) strictly after the completion. Returns the
/// next PM's due date; the caller stores COMPLETED and the new SCHEDULED order together.
pub fn completion(
    order: &PmWorkOrder,
    completed_at: Timestamp,
    interval_days: f64,
    tz: &TimeZone,
) -> Result<NextDue, WorkOrderError> {
    transition(order.state, WoAction::Complete)?;
    if completed_at <= order.follows {
        return Err(WorkOrderError::CompletionBeforeSchedule { follows: order.follows, completed_at });
    }
    Ok(next_due(Some(completed_at), interval_days, tz)?)
}

/// An operator's correction of a wrong completion time, without mutating anything: the order
/// must be COMPLETED and the corrected time strictly after the completion the order follows (the
/// same rule as [`completion`]). Returns the due date of the next PM recomputed from the
/// corrected time; the caller moves the next PM there while it is not yet released.
///
/// This is the one documented exception to "due dates never move backwards": the automatic
/// pipeline only ever moves a schedule forward from a newer completion, but an operator who
/// corrects a completion entered wrongly (say, year 2062 instead of 2026) explicitly moves the
/// next PM back to where the true completion puts it. The correction is recorded (who, when,
/// why) in the order's history.
pub fn correct_completion(
    order: &PmWorkOrder,
    corrected_at: Timestamp,
    interval_days: f64,
    tz: &TimeZone,
) -> Result<NextDue, WorkOrderError> {
    if order.state != WoState::Completed {
        return Err(WorkOrderError::NotCompleted { id: order.id, state: order.state });
    }
    if corrected_at <= order.follows {
        return Err(WorkOrderError::CompletionBeforeSchedule { follows: order.follows, completed_at: corrected_at });
    }
    Ok(next_due(Some(corrected_at), interval_days, tz)?)
}

/// What a successful completion did.
#[derive(Debug, Clone, PartialEq)]
pub struct Completed {
    /// The order now COMPLETED.
    pub completed: WoId,
    /// The new SCHEDULED order.
    pub next: WoId,
    /// Its due date.
    pub next_due: NextDue,
}

/// In-memory work-order book: the reference model of the routing rules. Every operation either
/// applies completely or changes nothing.
#[derive(Debug, Clone, Default)]
pub struct PmBook {
    orders: BTreeMap<WoId, PmWorkOrder>,
    open: BTreeMap<(AssetId, PlanId), WoId>,
    next_id: u64,
}

impl PmBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// A work order by id.
    pub fn get(&self, id: WoId) -> Option<&PmWorkOrder> {
        self.orders.get(&id)
    }

    /// The open PM of an asset and plan, if any.
    pub fn open_for(&self, asset_id: &AssetId, plan_id: &PlanId) -> Option<&PmWorkOrder> {
        self.open.get(&(asset_id.clone(), plan_id.clone())).and_then(|id| self.orders.get(id))
    }

    /// All work orders, by id.
    pub fn orders(&self) -> impl Iterator<Item = &PmWorkOrder> {
        self.orders.values()
    }

    fn insert(&mut self, asset_id: AssetId, plan_id: PlanId, due: &NextDue) -> WoId {
        let id = WoId(self.next_id);
        self.next_id += 1;
        self.open.insert((asset_id.clone(), plan_id.clone()), id);
        let order = PmWorkOrder {
            id,
            asset_id,
            plan_id,
            state: WoState::Scheduled,
            follows: due.last_completion,
            due_at: due.due_utc(),
            completed_at: None,
        };
        self.orders.insert(id, order);
        id
    }

    /// Schedules the first PM of an asset and plan from its last completion; refused while one is
    /// open.
    pub fn schedule(
        &mut self,
        asset_id: AssetId,
        plan_id: PlanId,
        last_completion: Option<Timestamp>,
        interval_days: f64,
        tz: &TimeZone,
    ) -> Result<WoId, WorkOrderError> {
        if let Some(open) = self.open_for(&asset_id, &plan_id) {
            return Err(WorkOrderError::AlreadyOpen { asset_id, plan_id, open: open.id });
        }
        let due = next_due(last_completion, interval_days, tz)?;
        Ok(self.insert(asset_id, plan_id, &due))
    }

    /// Applies any action but `complete` (see [`PmBook::complete`]).
    pub fn act(&mut self, id: WoId, action: WoAction) -> Result<WoState, WorkOrderError> {
        if action == WoAction::Complete {
            return Err(WorkOrderError::CompletionNeedsTime);
        }
        let order = self.orders.get_mut(&id).ok_or(WorkOrderError::UnknownWorkOrder(id))?;
        order.state = transition(order.state, action)?;
        if !order.state.is_open() {
            self.open.remove(&(order.asset_id.clone(), order.plan_id.clone()));
        }
        Ok(order.state)
    }

    /// Completes an IN_PROGRESS order and schedules exactly one next PM for its asset and plan.
    pub fn complete(
        &mut self,
        id: WoId,
        completed_at: Timestamp,
        interval_days: f64,
        tz: &TimeZone,
    ) -> Result<Completed, WorkOrderError> {
        let order = self.orders.get_mut(&id).ok_or(WorkOrderError::UnknownWorkOrder(id))?;
        let next_due = completion(order, completed_at, interval_days, tz)?;
        order.state = WoState::Completed;
        order.completed_at = Some(completed_at);
        let (asset_id, plan_id) = (order.asset_id.clone(), order.plan_id.clone());
        let next = self.insert(asset_id, plan_id, &next_due);
        Ok(Completed { completed: id, next, next_due })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn t(h: i64) -> Timestamp {
        // 2024-03-01T00:00:00Z + h hours: the range crosses both 2024 DST changes.
        Timestamp::from_second(1_709_251_200 + h * 3600).unwrap()
    }

    fn key(i: usize) -> (AssetId, PlanId) {
        (AssetId::parse(&format!("A{}", i % 2)).unwrap(), PlanId::parse(&format!("P{}", i / 2)).unwrap())
    }

    #[test]
    fn table_and_messages() {
        use WoAction as A;
        use WoState as S;
        assert_eq!(transition(S::Scheduled, A::Release), Ok(S::Released));
        assert_eq!(transition(S::Released, A::HoldForMaterial), Ok(S::MaterialPending));
        assert_eq!(transition(S::MaterialPending, A::MaterialAvailable), Ok(S::Scheduled));
        let e = transition(S::Scheduled, A::Complete).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot complete a work order that is SCHEDULED; allowed: release, hold_for_material, cancel"
        );
        let e = transition(S::Completed, A::Cancel).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot cancel a work order that is COMPLETED; COMPLETED is final, no action is allowed"
        );
        assert!(transition(S::InProgress, A::HoldForMaterial).is_err());
        assert_eq!(S::ALL.iter().filter(|s| s.is_open()).count(), 4);
        assert_eq!("in_progress".parse::<S>(), Ok(S::InProgress));
        assert!("DONE".parse::<S>().unwrap_err().to_string().contains("SCHEDULED, RELEASED"));
        assert_eq!("hold_for_material".parse::<A>(), Ok(A::HoldForMaterial));
    }

    #[test]
    fn completion_schedules_exactly_one_next_pm() {
        let mut book = PmBook::new();
        let (a, p) = key(0);
        let tz = ny();
        let first = book.schedule(a.clone(), p.clone(), Some(t(0)), 7.0, &tz).unwrap();
        assert_eq!(book.schedule(a.clone(), p.clone(), Some(t(0)), 7.0, &tz).unwrap_err().code(), "ALREADY_OPEN");
        assert_eq!(book.act(first, WoAction::Complete).unwrap_err().code(), "COMPLETION_NEEDS_TIME");
        assert_eq!(book.complete(first, t(10), 7.0, &tz).unwrap_err().code(), "ILLEGAL_TRANSITION");
        book.act(first, WoAction::Release).unwrap();
        book.act(first, WoAction::Start).unwrap();
        assert_eq!(book.complete(first, t(0), 7.0, &tz).unwrap_err().code(), "COMPLETION_BEFORE_SCHEDULE");
        assert_eq!(book.complete(first, t(10), 0.0, &tz).unwrap_err().code(), "NOT_MONOTONIC");
        assert_eq!(book.get(first).unwrap().state, WoState::InProgress);
        let done = book.complete(first, t(10), 7.0, &tz).unwrap();
        assert_eq!(book.get(first).unwrap().state, WoState::Completed);
        assert_eq!(book.open_for(&a, &p).unwrap().id, done.next);
        assert!(done.next_due.due_utc() > t(10));
        // A repeated completion is an illegal transition and schedules nothing.
        assert_eq!(book.complete(first, t(11), 7.0, &tz).unwrap_err().code(), "ILLEGAL_TRANSITION");
        assert_eq!(book.orders().count(), 2);
        // Cancelling frees the slot.
        book.act(done.next, WoAction::Cancel).unwrap();
        assert!(book.open_for(&a, &p).is_none());
        assert!(book.schedule(a, p, Some(t(20)), 7.0, &tz).is_ok());
    }

    #[test]
    fn a_completion_correction_needs_a_completed_order_and_a_time_after_the_one_it_follows() {
        let tz = ny();
        let mut order = PmWorkOrder {
            id: WoId(1),
            asset_id: AssetId::parse("A1").unwrap(),
            plan_id: PlanId::parse("PM").unwrap(),
            state: WoState::InProgress,
            follows: t(0),
            due_at: t(24 * 7),
            completed_at: None,
        };
        assert_eq!(correct_completion(&order, t(10), 7.0, &tz).unwrap_err().code(), "NOT_COMPLETED");
        order.state = WoState::Completed;
        order.completed_at = Some(t(24 * 365 * 36));
        assert_eq!(correct_completion(&order, t(0), 7.0, &tz).unwrap_err().code(), "COMPLETION_BEFORE_SCHEDULE");
        // Earlier than the wrong completion: the next due date moves back, by design.
        let next = correct_completion(&order, t(10), 7.0, &tz).unwrap();
        assert_eq!(next.last_completion, t(10));
        assert!(next.due_utc() > t(10) && next.due_utc() < t(24 * 8));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Schedule {
            key: usize,
            at_h: i64,
        },
        Act {
            pick: usize,
            action: WoAction,
        },
        /// Completion `offset_h` hours from the order's due date (early when negative); `pick`
        /// any order (repeats included), or `None`: the open order of `key`.
        Complete {
            pick: Option<usize>,
            key: usize,
            offset_h: i64,
            interval_days: f64,
        },
        /// The natural next step for the open order of a key (release, start, material back).
        Advance {
            key: usize,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            1 => (0usize..4, 0i64..200).prop_map(|(key, at_h)| Op::Schedule { key, at_h }),
            2 => (any::<usize>(), prop::sample::select(WoAction::ALL.to_vec())).prop_map(|(pick, action)| Op::Act { pick, action }),
            2 => (prop::option::of(any::<usize>()), 0usize..4, -400i64..400, prop::sample::select(vec![0.001, 0.5, 7.0, 8.5, 30.0, 90.0]))
                .prop_map(|(pick, key, offset_h, interval_days)| Op::Complete { pick, key, offset_h, interval_days }),
            3 => (0usize..4).prop_map(|key| Op::Advance { key }),
        ]
    }

    proptest! {
        #[test]
        fn random_operations_keep_the_invariants(ops in prop::collection::vec(op(), 1..80)) {
            let tz = ny();
            let mut book = PmBook::new();
            let mut successor: BTreeMap<WoId, WoId> = BTreeMap::new();
            for k in 0..4 {
                let (a, p) = key(k);
                prop_assert!(book.schedule(a, p, Some(t(0)), 7.0, &tz).is_ok());
            }
            for op in ops {
                let before: BTreeMap<WoId, PmWorkOrder> = book.orders().map(|o| (o.id, o.clone())).collect();
                let ids: Vec<WoId> = before.keys().copied().collect();
                let pick = |i: usize| ids.get(i % ids.len().max(1)).copied().unwrap_or(WoId(u64::MAX));
                let open_of = |k: usize| {
                    let (a, p) = key(k);
                    book.open_for(&a, &p).map_or(WoId(u64::MAX), |o| o.id)
                };
                match op {
                    Op::Schedule { key: k, at_h } => {
                        let (a, p) = key(k);
                        let had_open = book.open_for(&a, &p).is_some();
                        let r = book.schedule(a, p, Some(t(at_h)), 7.0, &tz);
                        prop_assert_eq!(r.is_err(), had_open);
                    }
                    Op::Act { pick: i, action } => {
                        let id = pick(i);
                        let r = book.act(id, action);
                        if let (Some(old), Ok(new)) = (before.get(&id), &r) {
                            prop_assert_eq!(transition(old.state, action), Ok(*new));
                        }
                    }
                    Op::Advance { key: k } => {
                        let id = open_of(k);
                        let step = match before.get(&id).map(|o| o.state) {
                            Some(WoState::Scheduled) => WoAction::Release,
                            Some(WoState::Released) => WoAction::Start,
                            _ => WoAction::MaterialAvailable,
                        };
                        let r = book.act(id, step);
                        if let (Some(old), Ok(new)) = (before.get(&id), &r) {
                            prop_assert_eq!(transition(old.state, step), Ok(*new));
                        }
                    }
                    Op::Complete { pick: i, key: k, offset_h, interval_days } => {
                        let id = i.map_or_else(|| open_of(k), pick);
                        let at = before.get(&id).map_or(t(0), |o| o.due_at) + jiff::SignedDuration::from_hours(offset_h);
                        let r = book.complete(id, at, interval_days, &tz);
                        if let (Some(old), Ok(done)) = (before.get(&id), &r) {
                            prop_assert_eq!(old.state, WoState::InProgress);
                            prop_assert!(done.next_due.due_utc() > at && at > old.follows);
                            prop_assert!(successor.insert(id, done.next).is_none(), "completed twice");
                        }
                    }
                }
                // Refused operations change nothing; accepted ones change one order's state legally
                // (plus, for a completion, one new SCHEDULED order).
                for (id, old) in &before {
                    let now = book.get(*id).unwrap();
                    if now.state != old.state {
                        prop_assert!(WoAction::ALL.iter().any(|&a| transition(old.state, a) == Ok(now.state)));
                    }
                }
                prop_assert!(book.orders().count() <= before.len() + 1);
                // At most one open PM per asset and plan.
                let mut open = BTreeSet::new();
                for o in book.orders().filter(|o| o.state.is_open()) {
                    prop_assert!(open.insert((o.asset_id.clone(), o.plan_id.clone())), "two open PMs for {:?}", o);
                }
                // Every due date is after the completion it follows; every completion scheduled
                // exactly one successor, due after it, and later than its own due date whenever the
                // PM was not completed early.
                for o in book.orders() {
                    prop_assert!(o.due_at > o.follows);
                    prop_assert_eq!(o.completed_at.is_some(), successor.contains_key(&o.id));
                    if let (Some(c), Some(next)) = (o.completed_at, successor.get(&o.id).and_then(|n| book.get(*n))) {
                        prop_assert_eq!((&next.asset_id, &next.plan_id, next.follows), (&o.asset_id, &o.plan_id, c));
                        prop_assert!(c > o.follows && next.due_at > c);
                        if c >= o.due_at {
                            prop_assert!(next.due_at > o.due_at);
                        }
                    }
                }
            }
        }
    }
}
