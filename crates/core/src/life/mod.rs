//! Censoring-aware life models and the cost-optimal PM decision (docs/contract.md#life-models).
//!
//! - [`lives`]: a unit's lives from its renewals (failures and replacements) and the end of the
//!   record, planned downtime subtracted from exposure; [`unit_lives`]: every unit of an asset
//!   (the asset as a whole, or each component its failure log names) from that log;
//! - [`fit_exponential`] and [`fit_weibull`] (submodule `weibull`): the fits with their bounds;
//! - [`cost_rate`] and [`optimal_replacement_age`] (submodule `cost`): age replacement;
//! - [`pool_by_group`] and [`pm_decision`]: which lives a decision rests on, and the decision.
//!
//! Everything is pure: no clock, no I/O.

mod cost;
pub mod special;
mod weibull;

pub use cost::{cost_rate, integrated_reliability, optimal_replacement_age};
pub use weibull::{ExponentialFit, Weibull, WeibullFit, fit_exponential, fit_weibull};

use crate::formula::PmParams;
use crate::reliability::{FailureEvent, FailureEventType};
use jiff::Timestamp;
use std::collections::BTreeMap;
use weibull::{BoundQuantiles, fit_exponential_with, fit_weibull_with};

/// Nanoseconds per hour.
const NANOS_PER_HOUR: f64 = 3_600_000_000_000.0;

/// One life: operating hours from a renewal to the next renewal or the end of the record.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Life {
    /// Operating hours (> 0).
    pub hours: f64,
    /// `true` when the life ended in a failure; `false` for a suspension (right-censored: a
    /// preventive replacement or the end of the record).
    pub failed: bool,
}

/// Why a life model could not be fitted.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum LifeError {
    /// A life that is not a finite number of hours > 0.
    #[error("a life must be a finite number of hours > 0, got {0}")]
    InvalidLife(f64),
    /// No life ended in a failure.
    #[error("no life ended in a failure")]
    NoFailures,
    /// The likelihood grows without bound in β (every failure at the longest life).
    #[error("no finite Weibull shape: every failure is at the longest life")]
    NoFiniteShape,
    /// Renewals were not sorted by time (a caller defect).
    #[error("renewals must be sorted by time")]
    NotSorted,
    /// Component keys given, but not one per event (a caller defect).
    #[error("{components} component keys for {events} events")]
    ComponentsMismatch {
        /// Events given.
        events: usize,
        /// Component keys given.
        components: usize,
    },
}

/// What ends one life and starts the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RenewalKind {
    /// An `UNPLANNED` failure: the life ends as a failure.
    Failure,
    /// A preventive replacement or overhaul (a PM completion, or a `PLANNED` event flagged as a
    /// replacement): the life ends as a suspension.
    Replacement,
}

/// A renewal of an asset (or of one of its components).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Renewal {
    /// When it happened.
    pub at: Timestamp,
    /// What it was; at one instant a failure sorts before a replacement, so the life ends as a
    /// failure and the zero-length life between them is dropped.
    pub kind: RenewalKind,
}

/// An asset's lives, and the zero-length ones that were dropped.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LifeSet {
    /// The lives, in time order.
    pub lives: Vec<Life>,
    /// Lives of zero (or, after downtime, no) operating time, dropped.
    pub zero_length_dropped: usize,
}

/// The lives of one asset from its renewals (sorted by `(at, kind)`) up to `as_of`.
///
/// The first life starts at the first renewal (before it the age is unknown, so that stretch is
/// not a life); each later renewal ends the running life — as a failure for
/// [`RenewalKind::Failure`], as a suspension for [`RenewalKind::Replacement`] — and starts the
/// next; `as_of` ends the running life as a suspension. Renewals after `as_of` are ignored. A life's
/// hours are its span minus the union of `downtime` intervals (sorted by start; may overlap)
/// clipped to the span. Lives of zero hours are dropped and counted.
pub fn lives(
    renewals: &[Renewal],
    downtime: &[(Timestamp, Timestamp)],
    as_of: Timestamp,
) -> Result<LifeSet, LifeError> {
    if !renewals.is_sorted() || !downtime.is_sorted_by_key(|d| d.0) {
        return Err(LifeError::NotSorted);
    }
    let ns = |t: Timestamp| t.as_nanosecond();
    let mut union: Vec<(i128, i128)> = Vec::new();
    for &(s, e) in downtime {
        let (s, e) = (ns(s), ns(e));
        if e <= s {
            continue;
        }
        match union.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => union.push((s, e)),
        }
    }
    let mut out = LifeSet::default();
    let mut down = union.iter().peekable();
    let mut push = |start: i128, end: i128, failed: bool, out: &mut LifeSet| {
        let mut covered = 0i128;
        while let Some(&&(s, e)) = down.peek() {
            if e <= start {
                down.next();
                continue;
            }
            if s >= end {
                break;
            }
            covered += e.min(end) - s.max(start);
            if e > end {
                break;
            }
            down.next();
        }
        let hours = (end - start - covered) as f64 / NANOS_PER_HOUR;
        if hours > 0.0 {
            out.lives.push(Life { hours, failed });
        } else {
            out.zero_length_dropped += 1;
        }
    };
    let mut start: Option<i128> = None;
    let end_of_record = ns(as_of);
    for r in renewals.iter().take_while(|r| r.at <= as_of) {
        let at = ns(r.at);
        if let Some(s) = start {
            push(s, at, r.kind == RenewalKind::Failure, &mut out);
        }
        start = Some(at);
    }
    if let Some(s) = start {
        push(s, end_of_record, false, &mut out);
    }
    Ok(out)
}

/// Whose lives a decision rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LifeSource {
    /// The asset's own lives (it has at least `min_failures` failures).
    Own,
    /// The lives of every asset of its pool (asset group and component) pooled together.
    Pooled,
}

impl LifeSource {
    /// `OWN` or `POOLED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "OWN",
            Self::Pooled => "POOLED",
        }
    }
}

impl std::str::FromStr for LifeSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Self::Own, Self::Pooled]
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown life source {s:?}"))
    }
}

/// The lives each unit (an asset or asset component) is fitted on: its own when it has at least
/// `min_failures` failures, else the pooled lives of every unit with the same pool key (asset
/// group and component). Returns, per pool key, the pooled lives, and per unit index its source.
pub fn pool_by_group<K: Ord + Clone>(
    units: &[(K, &[Life])],
    min_failures: usize,
) -> (BTreeMap<K, Vec<Life>>, Vec<LifeSource>) {
    let mut pools: BTreeMap<K, Vec<Life>> = BTreeMap::new();
    let sources = units
        .iter()
        .map(|(key, lives)| {
            pools.entry(key.clone()).or_default().extend_from_slice(lives);
            if lives.iter().filter(|l| l.failed).count() >= min_failures { LifeSource::Own } else { LifeSource::Pooled }
        })
        .collect();
    (pools, sources)
}

/// Why no time-based PM is recommended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NoPmReason {
    /// Fewer failures than `min_failures`, even pooled.
    TooFewFailures,
    /// No Weibull fit exists (every failure at the longest life).
    NoFit,
    /// β's lower confidence bound is ≤ 1: wear-out is not shown, so replacing by age cannot
    /// lower the failure rate.
    NoWearOut,
    /// A failure costs no more than a PM (`Cf ≤ Cp`).
    FailureNotCostlier,
    /// The cost rate has no minimum short of a million scale lengths (flat: PM does not pay).
    NoFiniteOptimum,
}

impl NoPmReason {
    /// Every reason, in the order the decision checks them.
    pub const ALL: [Self; 5] =
        [Self::TooFewFailures, Self::NoFit, Self::FailureNotCostlier, Self::NoWearOut, Self::NoFiniteOptimum];

    /// The reason in words, for people.
    pub fn words(self) -> &'static str {
        match self {
            Self::TooFewFailures => "too few failures to fit a life model, even pooled with the asset group",
            Self::NoFit => "no Weibull fit exists (every failure is at the longest life)",
            Self::NoWearOut => {
                "no wear-out shown (the lower bound of the Weibull shape is at most 1): failures are random \
                 or early, so replacing by age cannot lower them"
            }
            Self::FailureNotCostlier => "a failure costs no more than a planned replacement",
            Self::NoFiniteOptimum => "the cost rate keeps falling with longer intervals: PM does not pay",
        }
    }

    /// Stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            Self::TooFewFailures => "TOO_FEW_FAILURES",
            Self::NoFit => "NO_FIT",
            Self::NoWearOut => "NO_WEAR_OUT",
            Self::FailureNotCostlier => "FAILURE_NOT_COSTLIER",
            Self::NoFiniteOptimum => "NO_FINITE_OPTIMUM",
        }
    }
}

impl std::str::FromStr for NoPmReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|r| r.code() == s).ok_or_else(|| format!("unknown no-PM reason {s:?}"))
    }
}

/// The inputs of the cost-optimal decision (from the formula registry).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionParams {
    /// Cost of a failure (replacement at failure, incl. consequences), any currency.
    pub failure_cost: f64,
    /// Cost of a preventive replacement, same currency.
    pub pm_cost: f64,
    /// Fewest failures a fit needs.
    pub min_failures: usize,
    /// Confidence level of the wear-out test (β's lower likelihood-ratio bound).
    pub confidence: f64,
    /// The recommended interval is `T* × slack`.
    pub slack: f64,
    /// Lower clamp, days.
    pub min_interval_days: f64,
    /// Upper clamp, days.
    pub max_interval_days: f64,
}

impl DecisionParams {
    /// The registry's `[pm]` keys, with `Cf = Cp = 1` until a unit's group costs are filled in.
    pub fn from_registry(pm: &PmParams) -> Self {
        Self {
            failure_cost: 1.0,
            pm_cost: 1.0,
            min_failures: pm.min_failures as usize,
            confidence: pm.confidence,
            slack: pm.slack_factor,
            min_interval_days: pm.min_interval_days,
            max_interval_days: pm.max_interval_days,
        }
    }
}

/// A cost-optimal PM decision for one unit.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PmDecision {
    /// The exponential fit (MTBF with censoring).
    pub exponential: ExponentialFit,
    /// The Weibull fit, when it exists.
    pub weibull: Option<WeibullFit>,
    /// Cost-optimal replacement age `T*`, hours (before slack and clamping).
    pub optimal_age_hours: Option<f64>,
    /// The recommended PM interval, days (`T* × slack`, clamped); `None` = run to failure.
    pub interval_days: Option<f64>,
    /// Why no interval is recommended.
    pub reason: Option<NoPmReason>,
    /// Expected cost rate under the recommendation, per hour (run to failure: `Cf / MTTF`).
    pub cost_rate_recommended: Option<f64>,
    /// Expected cost rate under the comparison (seed) interval, per hour.
    pub cost_rate_seed: Option<f64>,
}

/// The cost-optimal PM decision on `lives`, with the cost rate of `seed_interval_days` (the
/// `mtbf_fraction` interval or the manufacturer's) for comparison: wear-out shown (β's lower
/// bound > 1) and `Cf > Cp` → `T* × slack` clamped to the bounds; otherwise no time-based PM, with
/// the reason (checked in the order: too few failures, no fit, `Cf ≤ Cp`, no wear-out, no finite
/// optimum). Cost rates are under the fitted Weibull.
pub fn pm_decision(lives: &[Life], params: &DecisionParams, seed_interval_days: Option<f64>) -> PmDecision {
    pm_decision_with(lives, params, seed_interval_days, &BoundQuantiles::new(params.confidence, 0))
}

/// [`pm_decision`] with the bounds' quantiles at `params.confidence` computed beforehand.
fn pm_decision_with(
    lives: &[Life],
    params: &DecisionParams,
    seed_interval_days: Option<f64>,
    q: &BoundQuantiles,
) -> PmDecision {
    let exponential = fit_exponential_with(lives, q);
    let mut d = PmDecision {
        exponential,
        weibull: None,
        optimal_age_hours: None,
        interval_days: None,
        reason: None,
        cost_rate_recommended: None,
        cost_rate_seed: None,
    };
    let (cp, cf) = (params.pm_cost, params.failure_cost);
    if exponential.failures < params.min_failures.max(1) {
        d.reason = Some(NoPmReason::TooFewFailures);
        return d;
    }
    let Ok(fit) = fit_weibull_with(lives, q) else {
        d.reason = Some(NoPmReason::NoFit);
        return d;
    };
    d.weibull = Some(fit);
    let w = fit.model;
    d.cost_rate_seed = seed_interval_days.map(|days| cost_rate(&w, cp, cf, days * 24.0));
    d.cost_rate_recommended = Some(cost_rate(&w, cp, cf, f64::INFINITY));
    d.reason = if cf <= cp {
        Some(NoPmReason::FailureNotCostlier)
    } else if fit.shape_lr.0 <= 1.0 {
        Some(NoPmReason::NoWearOut)
    } else {
        d.optimal_age_hours = optimal_replacement_age(&w, cp, cf);
        match d.optimal_age_hours {
            None => Some(NoPmReason::NoFiniteOptimum),
            Some(t) => {
                let days = params.min_interval_days.max((t * params.slack / 24.0).min(params.max_interval_days));
                d.interval_days = Some(days);
                d.cost_rate_recommended = Some(cost_rate(&w, cp, cf, days * 24.0));
                None
            }
        }
    };
    d
}

/// The component an event is about, as the caller numbers the component names of its log;
/// [`WHOLE_ASSET`] for an event that names none.
pub type ComponentKey = u32;

/// The [`ComponentKey`] of an event about the asset as a whole (no `component`).
pub const WHOLE_ASSET: ComponentKey = 0;

/// Numbers the components of a failure log's events for [`unit_lives`] (`None`: the asset as a
/// whole): one key per event and the names by key (`""`, the asset as a whole, first), or no keys
/// at all when no event names a component (then nothing is allocated for them).
pub fn component_keys<'a>(components: impl IntoIterator<Item = Option<&'a str>>) -> (Vec<ComponentKey>, Vec<&'a str>) {
    let mut names = vec![""];
    let mut keys: Vec<ComponentKey> = Vec::new();
    for (i, c) in components.into_iter().enumerate() {
        let Some(name) = c.filter(|n| !n.is_empty()) else {
            if !keys.is_empty() {
                keys.push(WHOLE_ASSET);
            }
            continue;
        };
        // At the first named component the events before it get the asset's key (after it, a no-op).
        keys.resize(i, WHOLE_ASSET);
        let at = names.iter().position(|n| *n == name).unwrap_or_else(|| {
            names.push(name);
            names.len() - 1
        });
        keys.push(at as ComponentKey);
    }
    (keys, names)
}

/// The units one asset's lives are built for, sorted: the component of each `UNPLANNED` event
/// ([`WHOLE_ASSET`] for one that names none) and of each `PLANNED_REPLACEMENT` that names one; the
/// asset as a whole when there is none of either. `components` is empty (every event is about
/// the asset as a whole) or holds one key per event.
pub fn units_of(events: &[FailureEvent], components: &[ComponentKey]) -> Vec<ComponentKey> {
    let component = |i: usize| components.get(i).copied().unwrap_or(WHOLE_ASSET);
    let mut units: Vec<ComponentKey> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e.event_type {
            FailureEventType::Unplanned => Some(component(i)),
            FailureEventType::PlannedReplacement if component(i) != WHOLE_ASSET => Some(component(i)),
            _ => None,
        })
        .collect();
    units.sort_unstable();
    units.dedup();
    if units.is_empty() {
        units.push(WHOLE_ASSET);
    }
    units
}

/// One unit's renewals and the asset's planned downtime from its failure log (any order) and its
/// PM completions: an `UNPLANNED` event of `unit` is a failure; a `PLANNED_REPLACEMENT` of `unit`
/// or of the asset as a whole, and every PM completion, is a replacement; the downtime of every
/// `PLANNED` and `PLANNED_REPLACEMENT` event with an end is subtracted from exposure (the asset
/// stands still, whichever part is worked on). Failures of other components, `CORRECTIVE` and
/// `SENSOR_RESET` renew nothing. Both outputs sorted; a renewal recorded twice (a
/// `PLANNED_REPLACEMENT` event and the PM completion of the same instant) is one renewal.
/// `components` is empty or holds one key per event ([`unit_lives`] checks it).
pub fn renewals_from_log(
    events: &[FailureEvent],
    components: &[ComponentKey],
    unit: ComponentKey,
    pm_completions: &[Timestamp],
) -> (Vec<Renewal>, Vec<(Timestamp, Timestamp)>) {
    let component = |i: usize| components.get(i).copied().unwrap_or(WHOLE_ASSET);
    let mut renewals: Vec<Renewal> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e.event_type {
            FailureEventType::Unplanned if component(i) == unit => {
                Some(Renewal { at: e.started_at, kind: RenewalKind::Failure })
            }
            FailureEventType::PlannedReplacement if component(i) == unit || component(i) == WHOLE_ASSET => {
                Some(Renewal { at: e.started_at, kind: RenewalKind::Replacement })
            }
            _ => None,
        })
        .chain(pm_completions.iter().map(|&at| Renewal { at, kind: RenewalKind::Replacement }))
        .collect();
    renewals.sort_unstable();
    renewals.dedup();
    let mut downtime: Vec<(Timestamp, Timestamp)> = events
        .iter()
        .filter_map(|e| e.ended_at.filter(|_| e.event_type.is_planned()).map(|end| (e.started_at, end)))
        .collect();
    downtime.sort_unstable();
    (renewals, downtime)
}

/// The lives of every unit of one asset ([`units_of`]), in key order, from its failure log and
/// its PM completions up to `as_of`: [`renewals_from_log`] then [`lives`] per unit. `cmms compute`,
/// the persisted recompute and the dashboard all build lives with it. `components` is empty
/// (every event is about the asset as a whole) or holds one key per event.
pub fn unit_lives(
    events: &[FailureEvent],
    components: &[ComponentKey],
    pm_completions: &[Timestamp],
    as_of: Timestamp,
) -> Result<Vec<(ComponentKey, LifeSet)>, LifeError> {
    if !components.is_empty() && components.len() != events.len() {
        return Err(LifeError::ComponentsMismatch { events: events.len(), components: components.len() });
    }
    units_of(events, components)
        .into_iter()
        .map(|unit| {
            let (renewals, downtime) = renewals_from_log(events, components, unit, pm_completions);
            lives(&renewals, &downtime, as_of).map(|set| (unit, set))
        })
        .collect()
}

/// The unit whose decision sets the asset's interval, by index into `units`: of those with a
/// `WEIBULL` interval the shortest (ties: the first); else the one with the most failures (ties:
/// the first), whose reason the asset carries. `None` for no units.
pub fn deciding_unit(units: &[UnitDecision]) -> Option<usize> {
    let weibull = units
        .iter()
        .enumerate()
        .filter(|(_, u)| u.basis == CostBasis::Weibull)
        .filter_map(|(i, u)| u.interval_days.map(|d| (i, d)))
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    weibull.map(|(i, _)| i).or_else(|| {
        units
            .iter()
            .enumerate()
            .max_by(|a, b| {
                a.1.decision.exponential.failures.cmp(&b.1.decision.exponential.failures).then(b.0.cmp(&a.0))
            })
            .map(|(i, _)| i)
    })
}

/// One step of the Kaplan–Meier estimate: a life's hours, whether it failed, and the estimated
/// survival just after it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct KaplanMeierPoint {
    /// The life's operating hours.
    pub hours: f64,
    /// A failure (`false`: a suspension).
    pub failed: bool,
    /// `Ŝ(hours)`: the product over failures up to `hours` of `1 − 1/n_at_risk`.
    pub survival: f64,
}

/// The Kaplan–Meier (product-limit) estimate of the survival function at every life, in order of
/// hours (at equal hours, failures before suspensions): the observed lives as a reliability
/// plot shows them next to the fitted `R(t)`.
pub fn kaplan_meier(lives: &[Life]) -> Vec<KaplanMeierPoint> {
    let mut sorted: Vec<Life> = lives.to_vec();
    sorted.sort_by(|a, b| a.hours.total_cmp(&b.hours).then(b.failed.cmp(&a.failed)));
    let mut at_risk = sorted.len() as f64;
    let mut survival = 1.0;
    sorted
        .into_iter()
        .map(|l| {
            if l.failed {
                survival *= 1.0 - 1.0 / at_risk;
            }
            at_risk -= 1.0;
            KaplanMeierPoint { hours: l.hours, failed: l.failed, survival }
        })
        .collect()
}

/// Basis of a `weibull_cost` interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CostBasis {
    /// `T* × slack`, clamped: wear-out shown and PM pays.
    Weibull,
    /// No time-based PM (the manufacturer interval kept only when the registry says so).
    RunToFailure,
}

impl CostBasis {
    /// `WEIBULL` or `RUN_TO_FAILURE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Weibull => "WEIBULL",
            Self::RunToFailure => "RUN_TO_FAILURE",
        }
    }
}

/// One unit's input to [`weibull_cost_decisions`]: an asset as a whole, or one of its components.
#[derive(Debug, Clone, Copy)]
pub struct UnitInput<'a, K> {
    /// Pool key (asset group and component).
    pub pool: K,
    /// The unit's own lives.
    pub lives: &'a [Life],
    /// The `mtbf_fraction` interval (or the manufacturer's fallback), days: the comparison.
    pub seed_interval_days: f64,
    /// The manufacturer interval, days.
    pub manufacturer_interval_days: f64,
    /// Failure and PM cost of its group (`None`: not configured).
    pub costs: Option<(f64, f64)>,
}

/// One unit's `weibull_cost` outcome.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct UnitDecision {
    /// Whose lives were fitted.
    pub source: LifeSource,
    /// The decision on them (the cost rate under the seed interval is this asset's).
    pub decision: PmDecision,
    /// `WEIBULL` or `RUN_TO_FAILURE`.
    pub basis: CostBasis,
    /// The interval to schedule, days: the decision's, else the manufacturer interval when
    /// `keep_manufacturer_interval`, else `None` (no time-based PM).
    pub interval_days: Option<f64>,
}

/// The `weibull_cost` decision of every unit: fitted on its own lives when it has at least
/// `params.min_failures` failures, else on its pool's lives (one fit per pool); the cost rate
/// under each unit's own seed interval (and, where the manufacturer interval is kept, the cost
/// rate under it). A unit without costs (the registry requires them for `weibull_cost`, so only
/// a direct caller can pass none) is taken as `Cf = Cp`: no time-based PM pays. The own fits run
/// on up to `threads` scoped threads; the result does not depend on their number.
pub fn weibull_cost_decisions<K: Ord + Clone + Sync>(
    units: &[UnitInput<'_, K>],
    params: &DecisionParams,
    keep_manufacturer_interval: bool,
    threads: usize,
) -> Vec<UnitDecision> {
    let keyed: Vec<(K, &[Life])> = units.iter().map(|u| (u.pool.clone(), u.lives)).collect();
    let (pools, sources) = pool_by_group(&keyed, params.min_failures);
    let costs = |u: &UnitInput<'_, K>| u.costs.unwrap_or((1.0, 1.0));
    let with_costs = |(cf, cp): (f64, f64)| DecisionParams { failure_cost: cf, pm_cost: cp, ..*params };
    let most_failures = units.iter().map(|u| u.lives.iter().filter(|l| l.failed).count()).max().unwrap_or(0);
    let q = BoundQuantiles::new(params.confidence, most_failures);
    let mut pooled: BTreeMap<(K, u64, u64), PmDecision> = BTreeMap::new();
    for (u, _) in units.iter().zip(&sources).filter(|(_, s)| **s == LifeSource::Pooled) {
        let (cf, cp) = costs(u);
        pooled
            .entry((u.pool.clone(), cf.to_bits(), cp.to_bits()))
            .or_insert_with(|| pm_decision_with(&pools[&u.pool], &with_costs((cf, cp)), None, &q));
    }
    let decide = |u: &UnitInput<'_, K>, source: LifeSource| {
        let (cf, cp) = costs(u);
        let mut decision = match source {
            LifeSource::Own => pm_decision_with(u.lives, &with_costs((cf, cp)), None, &q),
            LifeSource::Pooled => pooled[&(u.pool.clone(), cf.to_bits(), cp.to_bits())],
        };
        decision.cost_rate_seed = decision.weibull.map(|f| cost_rate(&f.model, cp, cf, u.seed_interval_days * 24.0));
        let (basis, interval_days) = match decision.interval_days {
            Some(d) => (CostBasis::Weibull, Some(d)),
            None if keep_manufacturer_interval => {
                decision.cost_rate_recommended = decision
                    .weibull
                    .map(|f| cost_rate(&f.model, cp, cf, u.manufacturer_interval_days * 24.0))
                    .or(decision.cost_rate_recommended);
                (CostBasis::RunToFailure, Some(u.manufacturer_interval_days))
            }
            None => (CostBasis::RunToFailure, None),
        };
        UnitDecision { source, decision, basis, interval_days }
    };
    let chunk = units.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = units
            .chunks(chunk)
            .zip(sources.chunks(chunk))
            .map(|(us, ss)| {
                let decide = &decide;
                scope.spawn(move || us.iter().zip(ss).map(|(u, s)| decide(u, *s)).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

#[cfg(test)]
mod tests;
