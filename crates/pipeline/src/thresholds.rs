//! Calculation stage of the inventory pipeline: min / reorder / max per part from the active
//! formula version, drift against the part master's baseline with the conservative fallback
//! until an operator approves, and the thresholds in force per part with their history.
//!
//! Deterministic: the same inputs and formula version give the same rows, so a recompute that
//! finds nothing changed writes nothing.
//!
//! Incremental by default ([`RecomputeScope::Changed`]): a part is recomputed when its inputs
//! may have changed since the last completed recompute — it was marked by a write (new or newly
//! mapped consumption, a new part, changed lead time, class, site or baseline; see migration 6),
//! or it has consumption in the part of the window that moved (`[old start, new start)` and
//! `[old as_of, new as_of)`, either direction), or the formula version differs, or no recompute
//! completed before. [`RecomputeScope::All`] recomputes every part.

use crate::formulas::{self, FormulasError};
use cmms_core::demand::{PartDemand, daily_demand_since, part_policy_thresholds, uses_history};
use cmms_core::drift::{Baseline, PublishBasis, decide};
use cmms_core::formula::{FormulaSet, ThresholdParams};
use cmms_core::ids::{PartClass, SiteId};
use cmms_core::quantity::Quantity;
use cmms_core::thresholds::{Consumption, Limits, ThresholdError, Thresholds, UsageSummary, UsageWindow};
use cmms_core::time::to_epoch_ms;
use cmms_core::units::UnitPolicy;
use cmms_store::alerts::AlertUpdate;
use cmms_store::codes::{AlertKind, ThresholdBasis};
use cmms_store::demand::PartHistory;
use cmms_store::thresholds::{Announcement, CurrentThreshold, ThresholdChange, ThresholdInput, ThresholdWatermark};
use cmms_store::{Store, StoreError};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashSet};
use tracing::Instrument;

/// Alert kind: computed thresholds drifted from the baseline; the fallback is published.
pub const ALERT_DRIFT: AlertKind = AlertKind::Drift;

/// Part status: the part's stored master data breaks a rule (class, site).
pub const STATUS_INVALID_INPUT: &str = "INVALID_INPUT";

/// Part status: consumption in the window holds quantities outside the plausible range
/// ([`ThresholdError::ImplausibleConsumption`]).
pub const STATUS_IMPLAUSIBLE_CONSUMPTION: &str = "IMPLAUSIBLE_CONSUMPTION";

/// Errors of the calculation stage.
#[derive(Debug, thiserror::Error)]
pub enum ThresholdsError {
    /// The part is not held on the drift fallback, so there is nothing to approve.
    #[error("part {0:?} is not held on the drift fallback: nothing to approve (see `cmms report`)")]
    NothingToApprove(String),
    /// The formula registry could not be loaded.
    #[error(transparent)]
    Formulas(#[from] FormulasError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which parts a threshold recompute computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecomputeScope {
    /// Only parts whose inputs may have changed since the last completed recompute (see the
    /// module documentation); every part when none completed or the formula version changed.
    #[default]
    Changed,
    /// Every part (`cmms recompute --all`).
    All,
}

/// What a threshold recompute did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ThresholdRun {
    /// Formula version used.
    pub formula_version: i64,
    /// The scope asked for.
    pub scope: RecomputeScope,
    /// Whether every part was computed (asked for, or needed: first run, new formula version).
    pub full: bool,
    /// Parts computed.
    pub parts: u64,
    /// Parts left as they were because their inputs did not change.
    pub skipped: u64,
    /// Parts whose thresholds or status changed (history rows written).
    pub changed: u64,
    /// Parts per outcome: `OK` or the error code.
    pub by_status: BTreeMap<String, u64>,
    /// Parts per published basis (`COMPUTED`, `APPROVED`, `FALLBACK`).
    pub by_basis: BTreeMap<String, u64>,
    /// Parts computed in this run that could not be computed because of their own data (every
    /// status but `OK` and `NO_HISTORY`), with the reason; the other parts were computed.
    pub part_errors: Vec<PartError>,
}

/// A part whose thresholds could not be computed, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PartError {
    /// The part.
    pub part_id: String,
    /// The status code (`INVALID_INPUT`, `IMPLAUSIBLE_CONSUMPTION`, `LEAD_TIME_NOT_POSITIVE` …).
    pub code: String,
    /// The reason in words.
    pub reason: String,
}

fn triple(l: &Limits) -> [f64; 3] {
    [l.min, l.reorder, l.max]
}

/// The publication step: every change that puts new limits in force is announced to the
/// publication targets. The store writes the announcements with the changes in one transaction.
fn announcements(changes: &[ThresholdChange]) -> Vec<Announcement> {
    changes
        .iter()
        .filter_map(|c| {
            Some(Announcement { part_id: c.part_id.clone(), sequence_id: c.sequence_id, limits: c.published? })
        })
        .collect()
}

/// Stores a batch of changes with their announcements.
async fn store_changes(
    store: &Store,
    changes: &[ThresholdChange],
    alerts: &[AlertUpdate],
    now_ms: i64,
) -> Result<(), StoreError> {
    store.store_threshold_changes(changes, &announcements(changes), alerts, now_ms).await
}

/// Recomputes the thresholds of the parts whose inputs changed ([`RecomputeScope::Changed`]) at
/// `as_of` and stores what changed.
pub async fn recompute_thresholds(
    store: &Store,
    as_of: Timestamp,
    now_ms: i64,
) -> Result<ThresholdRun, ThresholdsError> {
    recompute_thresholds_in(store, as_of, now_ms, RecomputeScope::Changed).await
}

/// Above this share of all parts, the inputs of the parts to recompute are read with one
/// aggregate over all consumption rather than part by part.
const FULL_SCAN_SHARE: f64 = 0.2;

/// Recomputes the thresholds of the parts in `scope` at `as_of` and stores what changed.
pub async fn recompute_thresholds_in(
    store: &Store,
    as_of: Timestamp,
    now_ms: i64,
    scope: RecomputeScope,
) -> Result<ThresholdRun, ThresholdsError> {
    // Instrumented rather than entered: the stage runs beside the PM stage (`crate::cycle`).
    let span = tracing::info_span!("recompute_thresholds", %as_of, ?scope);
    thresholds_in_span(store, as_of, now_ms, scope).instrument(span).await
}

async fn thresholds_in_span(
    store: &Store,
    as_of: Timestamp,
    now_ms: i64,
    scope: RecomputeScope,
) -> Result<ThresholdRun, ThresholdsError> {
    let (version, formulas) = formulas::active(store, now_ms).await?;
    let mut run = ThresholdRun { formula_version: version, scope, ..Default::default() };
    let window = UsageWindow::new(as_of, formulas.params().thresholds.window_days);
    let covered =
        ThresholdWatermark { formula_version: version, window_start: window.start_ms(), as_of: window.as_of_ms() };
    // Claimed before anything is read, so a change written from here on is kept for the next run.
    let marked = store.claim_threshold_marks().await?;
    let previous = store.threshold_watermark().await?;
    let wanted: Option<HashSet<String>> = match previous {
        // The demand-driven methods read each part's daily history up to `as_of`: a new `as_of`
        // moves every part's buckets, so every part is recomputed.
        Some(last)
            if scope == RecomputeScope::Changed
                && last.formula_version == version
                && !(uses_history(&formulas) && last.as_of != covered.as_of) =>
        {
            let edges = [
                (last.window_start.min(covered.window_start), last.window_start.max(covered.window_start)),
                (last.as_of.min(covered.as_of), last.as_of.max(covered.as_of)),
            ];
            let mut parts = store.parts_consumed_in(&edges).await?;
            parts.extend(marked);
            Some(parts)
        }
        _ => None,
    };
    run.full = wanted.is_none();
    let total_parts = u64::try_from(store.count_rows("parts").await?).unwrap_or(0);
    let inputs: Vec<ThresholdInput> = match &wanted {
        None => store.threshold_inputs(covered.window_start, covered.as_of).await?,
        Some(w) if w.len() as f64 > FULL_SCAN_SHARE * total_parts as f64 => {
            let mut all = store.threshold_inputs(covered.window_start, covered.as_of).await?;
            all.retain(|i| w.contains(&i.part_id));
            all
        }
        Some(w) => {
            let ids: Vec<String> = w.iter().cloned().collect();
            store.threshold_inputs_of(covered.window_start, covered.as_of, &ids).await?
        }
    };
    run.skipped = total_parts.saturating_sub(inputs.len() as u64);
    if inputs.is_empty() {
        // Nothing to compute: the thresholds in force, errors and alerts need not be read.
        store.finish_threshold_recompute(&covered, now_ms).await?;
        return Ok(run);
    }
    let history = if uses_history(&formulas) {
        let days = history_days(&formulas);
        let from = as_of.checked_sub(jiff::SignedDuration::from_hours(24 * i64::from(days))).unwrap_or(Timestamp::MIN);
        Some(store.consumption_history(to_epoch_ms(from), covered.as_of).await?)
    } else {
        None
    };
    let current = store.current_thresholds().await?;
    let errors: BTreeMap<String, (String, Option<String>)> =
        store.threshold_errors().await?.into_iter().map(|e| (e.part_id, (e.code, e.reason))).collect();
    // Alerts are written only when their state changes, not once per part and run.
    let open_drift = store.open_alert_subjects(ALERT_DRIFT).await?;
    let mut changes = Vec::new();
    // Drift alerts raised or resolved, written with the changes.
    let mut alerts = Vec::new();
    for input in &inputs {
        // Flushed before each part, so parts that only change an alert flush too.
        if changes.len() >= 5000 || alerts.len() >= 5000 {
            run.changed += changes.len() as u64;
            store_changes(store, &changes, &alerts, now_ms).await?;
            changes.clear();
            alerts.clear();
        }
        run.parts += 1;
        let previous = current.get(&input.part_id);
        let part_history = history.as_ref().map(|h| h.get(&input.part_id).unwrap_or(&NO_HISTORY));
        let change = match part_outcome(input, part_history, as_of, &formulas) {
            Err(issue) => {
                *run.by_status.entry(issue.code.to_owned()).or_default() += 1;
                if issue.is_part_error() {
                    run.part_errors.push(PartError {
                        part_id: input.part_id.clone(),
                        code: issue.code.to_owned(),
                        reason: issue.reason.clone(),
                    });
                }
                if errors.get(&input.part_id).is_some_and(|(code, reason)| {
                    code == issue.code && reason.as_deref() == Some(issue.reason.as_str())
                }) {
                    continue;
                }
                ThresholdChange {
                    part_id: input.part_id.clone(),
                    formula_version: version,
                    as_of: to_epoch_ms(as_of),
                    status: issue.code.to_owned(),
                    avg_daily_usage: None,
                    computed: None,
                    published: None,
                    basis: ThresholdBasis::None,
                    sequence_id: previous.map_or(0, |p| p.sequence_id),
                    inputs: serde_json::json!({
                        "lead_time_days": input.lead_time_days,
                        "consumed_in_window": input.consumed_in_window_micros.map(|m| Quantity::from_micros(m).get()),
                        "has_history": input.has_history,
                        "error": issue.reason,
                    })
                    .to_string(),
                    method: None,
                    demand_class: None,
                }
            }
            Ok((params, t, units)) => {
                *run.by_status.entry("OK".to_owned()).or_default() += 1;
                let baseline = Baseline {
                    min: input.baseline[0].and_then(|v| Quantity::new(v).ok()),
                    reorder: input.baseline[1].and_then(|v| Quantity::new(v).ok()),
                    max: input.baseline[2].and_then(|v| Quantity::new(v).ok()),
                };
                let approved = previous.and_then(|p| p.approved) == Some(triple(&t.limits));
                // Drift compares the formula's limits (before whole units) with the baseline, so
                // rounding alone never drifts; what is published is in whole units either way.
                let mut decision = decide(&t.formula_limits, &baseline, &params, approved);
                decision.published = units.whole_limits(decision.published);
                let basis = ThresholdBasis::from(decision.basis);
                *run.by_basis.entry(basis.as_str().to_owned()).or_default() += 1;
                let unchanged = previous.is_some_and(|p: &CurrentThreshold| {
                    p.computed == Some(triple(&t.limits))
                        && p.published == triple(&decision.published)
                        && p.basis == basis
                        && p.formula_version == Some(version)
                }) && !errors.contains_key(&input.part_id);
                let on_fallback = decision.report.drifted() && decision.basis == PublishBasis::Fallback;
                if on_fallback && (!unchanged || !open_drift.contains(&input.part_id)) {
                    let msg = format!(
                        "computed {:?} deviates from baseline by more than {:.0}%; publishing the fallback {:?} until `cmms thresholds approve {}`",
                        triple(&t.limits),
                        params.drift_tolerance * 100.0,
                        triple(&decision.published),
                        input.part_id
                    );
                    alerts.push(AlertUpdate::Raise {
                        kind: ALERT_DRIFT,
                        subject: input.part_id.clone(),
                        message: msg,
                        details: None,
                    });
                } else if !on_fallback && open_drift.contains(&input.part_id) {
                    alerts.push(AlertUpdate::Resolve { kind: ALERT_DRIFT, subject: input.part_id.clone() });
                }
                if unchanged {
                    continue;
                }
                ThresholdChange {
                    part_id: input.part_id.clone(),
                    formula_version: version,
                    as_of: to_epoch_ms(as_of),
                    status: "OK".to_owned(),
                    avg_daily_usage: Some(t.avg_daily_usage),
                    computed: Some(triple(&t.limits)),
                    published: Some(triple(&decision.published)),
                    basis,
                    sequence_id: previous.map_or(0, |p| p.sequence_id) + 1,
                    inputs: history_inputs(&t, units),
                    method: Some(t.policy.map_or("moving_average", |w| w.method.as_str()).to_owned()),
                    demand_class: t.policy.map(|w| w.demand_class.as_str().to_owned()),
                }
            }
        };
        changes.push(change);
    }
    run.changed += changes.len() as u64;
    store_changes(store, &changes, &alerts, now_ms).await?;
    store.finish_threshold_recompute(&covered, now_ms).await?;
    tracing::info!(
        parts = run.parts,
        skipped = run.skipped,
        changed = run.changed,
        full = run.full,
        "thresholds recomputed"
    );
    Ok(run)
}

/// The history of a part without consumption in the history window.
static NO_HISTORY: PartHistory = PartHistory { first_ms: None, events: Vec::new() };

/// The longest history any part class of `formulas` reads, days.
fn history_days(formulas: &FormulaSet) -> u32 {
    let p = formulas.params();
    p.overrides.keys().map(|c| formulas.params_for(c).history_days).fold(p.thresholds.history_days, u32::max)
}

/// Why one part could not be computed: a stable code and the reason in words.
#[derive(Debug, Clone, PartialEq)]
struct PartIssue {
    code: &'static str,
    reason: String,
}

impl PartIssue {
    /// A part without consumption history is a normal state (a new part), not an error.
    fn is_part_error(&self) -> bool {
        self.code != ThresholdError::NoHistory.code()
    }
}

/// The thresholds of one part from its inputs, or why there are none. Every problem of the part's
/// own data is an issue of this part; no part's data can stop the others.
fn part_outcome(
    input: &ThresholdInput,
    history: Option<&PartHistory>,
    as_of: Timestamp,
    formulas: &FormulaSet,
) -> Result<(ThresholdParams, Thresholds, UnitPolicy), PartIssue> {
    let invalid = |reason: String| PartIssue { code: STATUS_INVALID_INPUT, reason };
    let class = PartClass::parse(&input.part_class).map_err(|e| invalid(format!("part class: {e}")))?;
    let site = SiteId::parse(&input.site_id).map_err(|e| invalid(format!("site: {e}")))?;
    let units = unit_policy(input, formulas).map_err(invalid)?;
    let daily = match history {
        Some(h) => {
            let events: Vec<Consumption> = h
                .events
                .iter()
                .filter_map(|&(at, q)| {
                    Some(Consumption { at: Timestamp::from_millisecond(at).ok()?, quantity: Quantity::new(q).ok()? })
                })
                .collect();
            let first = h.first_ms.and_then(|t| Timestamp::from_millisecond(t).ok());
            daily_demand_since(&events, first, as_of, formulas.params_for(&class).history_days)
        }
        None => Vec::new(),
    };
    // The store flags a window total it cannot sum exactly (at least `MAX_EXACT_MICROS`).
    input
        .consumed_in_window_micros
        .ok_or(ThresholdError::ImplausibleConsumption)
        .and_then(|micros| UsageSummary::from_micros(micros, input.has_history))
        .and_then(|usage| {
            let demand = PartDemand { usage, daily: &daily };
            part_policy_thresholds(formulas, &class, &site, input.lead_time_days, demand, as_of, units)
        })
        .map(|(params, t)| (params, t, units))
        .map_err(|e| PartIssue { code: e.code(), reason: e.to_string() })
}

/// The inputs a history row records: the formula's ([`Thresholds`]), and for a part whose
/// quantities are rounded ([`UnitPolicy`] other than continuous without pack or minimum) the
/// policy under `units` and the limits before whole-unit rounding under `formula_limits`.
fn history_inputs(t: &Thresholds, units: UnitPolicy) -> String {
    if units == UnitPolicy::CONTINUOUS {
        return serde_json::to_string(t).unwrap_or_default();
    }
    let mut inputs = serde_json::to_value(t).unwrap_or_default();
    if let (Some(map), Ok(policy), Ok(formula)) =
        (inputs.as_object_mut(), serde_json::to_value(units), serde_json::to_value(t.formula_limits))
    {
        map.insert("units".to_owned(), policy);
        map.insert("formula_limits".to_owned(), formula);
    }
    inputs.to_string()
}

/// The part's whole-unit policy from its stored unit, pack size and minimum order quantity (each
/// > 0 when given, or the reason it is not).
fn unit_policy(input: &ThresholdInput, formulas: &FormulaSet) -> Result<UnitPolicy, String> {
    let positive = |field: &str, v: Option<f64>| match v {
        None => Ok(None),
        Some(v) => match Quantity::new(v) {
            Ok(q) if q.get() > 0.0 => Ok(Some(q)),
            Ok(_) => Err(format!("{field}: must be greater than zero (got {v})")),
            Err(e) => Err(format!("{field}: {e}")),
        },
    };
    let pack = positive("pack_size", input.pack_size)?;
    let moq = positive("min_order_qty", input.min_order_qty)?;
    Ok(formulas.unit_policy(&input.unit, pack, moq))
}

/// An operator approves the computed thresholds of a part held on the drift fallback: exactly
/// those values are published now, and later recomputes keep publishing them while the
/// computation gives the same values (a different computation drifts and falls back again).
pub async fn approve(store: &Store, part_id: &str, now_ms: i64) -> Result<(), ThresholdsError> {
    if !store.approve_thresholds(part_id, now_ms).await? {
        return Err(ThresholdsError::NothingToApprove(part_id.to_owned()));
    }
    store.resolve_alert(ALERT_DRIFT, part_id, now_ms).await?;
    Ok(())
}
