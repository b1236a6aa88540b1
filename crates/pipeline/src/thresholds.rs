//! Calculation stage of the inventory pipeline: min / reorder / max per part from the active
//! formula version, drift against the part master's baseline with the conservative fallback
//! until an operator approves, and the thresholds in force per part with their history.
//!
//! Deterministic: the same inputs and formula version give the same rows, so a recompute that
//! finds nothing changed writes nothing.

use crate::formulas::{self, FormulasError};
use cmms_core::drift::{Baseline, PublishBasis, decide};
use cmms_core::ids::{PartClass, SiteId};
use cmms_core::quantity::Quantity;
use cmms_core::thresholds::{Limits, UsageSummary, compute, window_start};
use cmms_core::time::to_epoch_ms;
use cmms_store::thresholds::{CurrentThreshold, ThresholdChange};
use cmms_store::{Store, StoreError};
use jiff::Timestamp;
use std::collections::BTreeMap;

/// Alert kind: computed thresholds drifted from the baseline; the fallback is published.
pub const ALERT_DRIFT: &str = "DRIFT";

/// Errors of the calculation stage.
#[derive(Debug, thiserror::Error)]
pub enum ThresholdsError {
    /// The part is not held on the drift fallback, so there is nothing to approve.
    #[error("part {0:?} is not held on the drift fallback: nothing to approve (see `cmms report`)")]
    NothingToApprove(String),
    /// A stored value breaks a domain rule.
    #[error("{0}")]
    Invalid(String),
    /// The formula registry could not be loaded.
    #[error(transparent)]
    Formulas(#[from] FormulasError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a threshold recompute did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ThresholdRun {
    /// Formula version used.
    pub formula_version: i64,
    /// Parts computed.
    pub parts: u64,
    /// Parts whose thresholds or status changed (history rows written).
    pub changed: u64,
    /// Parts per outcome: `OK` or the error code.
    pub by_status: BTreeMap<String, u64>,
    /// Parts per published basis (`COMPUTED`, `APPROVED`, `FALLBACK`).
    pub by_basis: BTreeMap<String, u64>,
}

fn triple(l: &Limits) -> [f64; 3] {
    [l.min, l.reorder, l.max]
}

fn basis_name(b: PublishBasis) -> &'static str {
    match b {
        PublishBasis::Computed => "COMPUTED",
        PublishBasis::Approved => "APPROVED",
        PublishBasis::Fallback => "FALLBACK",
    }
}

/// Recomputes every part's thresholds at `as_of` and stores what changed.
pub async fn recompute_thresholds(
    store: &Store,
    as_of: Timestamp,
    now_ms: i64,
) -> Result<ThresholdRun, ThresholdsError> {
    let span = tracing::info_span!("recompute_thresholds", %as_of);
    let _enter = span.enter();
    let (version, formulas) = formulas::active(store, now_ms).await?;
    let mut run = ThresholdRun { formula_version: version, ..Default::default() };
    let window_days = formulas.params().thresholds.window_days;
    let inputs = store.threshold_inputs(to_epoch_ms(window_start(as_of, window_days)), to_epoch_ms(as_of)).await?;
    let current = store.current_thresholds().await?;
    let errors: BTreeMap<String, String> = store.threshold_errors().await?.into_iter().collect();
    // Alerts are written only when their state changes, not once per part and run.
    let open_drift: std::collections::HashSet<String> =
        store.open_alerts().await?.into_iter().filter(|a| a.kind == ALERT_DRIFT).map(|a| a.subject).collect();
    let mut changes = Vec::new();
    for input in &inputs {
        run.parts += 1;
        let bad = |e: String| ThresholdsError::Invalid(format!("part {}: {e}", input.part_id));
        let class = PartClass::parse(&input.part_class).map_err(|e| bad(e.to_string()))?;
        let site = SiteId::parse(&input.site_id).map_err(|e| bad(e.to_string()))?;
        let params = formulas.params_for(&class);
        let usage = UsageSummary {
            consumed_in_window: Quantity::new(input.consumed_in_window).map_err(|e| bad(e.to_string()))?,
            has_history: input.has_history,
        };
        let result = compute(usage, input.lead_time_days, as_of, &params, formulas.seasonal_windows_for(&class, &site));
        let previous = current.get(&input.part_id);
        let change = match result {
            Err(e) => {
                *run.by_status.entry(e.code().to_owned()).or_default() += 1;
                if errors.get(&input.part_id).map(String::as_str) == Some(e.code()) {
                    continue;
                }
                ThresholdChange {
                    part_id: input.part_id.clone(),
                    formula_version: version,
                    as_of: to_epoch_ms(as_of),
                    status: e.code().to_owned(),
                    avg_daily_usage: None,
                    computed: None,
                    published: None,
                    basis: "NONE".to_owned(),
                    sequence_id: previous.map_or(0, |p| p.sequence_id),
                    inputs: format!(
                        r#"{{"lead_time_days":{},"consumed_in_window":{},"has_history":{}}}"#,
                        input.lead_time_days, input.consumed_in_window, input.has_history
                    ),
                }
            }
            Ok(t) => {
                *run.by_status.entry("OK".to_owned()).or_default() += 1;
                let baseline = Baseline {
                    min: input.baseline[0].and_then(|v| Quantity::new(v).ok()),
                    reorder: input.baseline[1].and_then(|v| Quantity::new(v).ok()),
                    max: input.baseline[2].and_then(|v| Quantity::new(v).ok()),
                };
                let approved = previous.and_then(|p| p.approved) == Some(triple(&t.limits));
                let decision = decide(&t.limits, &baseline, &params, approved);
                let basis = basis_name(decision.basis);
                *run.by_basis.entry(basis.to_owned()).or_default() += 1;
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
                    store.raise_alert(ALERT_DRIFT, &input.part_id, &msg, None, now_ms).await?;
                } else if !on_fallback && open_drift.contains(&input.part_id) {
                    store.resolve_alert(ALERT_DRIFT, &input.part_id, now_ms).await?;
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
                    basis: basis.to_owned(),
                    sequence_id: previous.map_or(0, |p| p.sequence_id) + 1,
                    inputs: serde_json::to_string(&t).map_err(|e| bad(e.to_string()))?,
                }
            }
        };
        changes.push(change);
        if changes.len() >= 1000 {
            run.changed += changes.len() as u64;
            store.store_threshold_changes(&changes, now_ms).await?;
            changes.clear();
        }
    }
    run.changed += changes.len() as u64;
    store.store_threshold_changes(&changes, now_ms).await?;
    tracing::info!(parts = run.parts, changed = run.changed, "thresholds recomputed");
    Ok(run)
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
