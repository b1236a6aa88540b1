//! Reliability → PM stage: recompute every asset's MTBF, PM interval and next due date from its
//! failure log and MTBF readings, store them, and keep one open PM work order per asset and plan;
//! plus the work-order operations (transition, complete) that the CLI and API call.

use crate::formulas::{self, FormulasError};
use cmms_core::formula::{FormulaSet, PmMethod, PmParams};
use cmms_core::ids::AssetGroup;
use cmms_core::ids::PlanId;
use cmms_core::life::{
    CostBasis, DecisionParams, LifeSet, UnitDecision, UnitInput, component_keys, deciding_unit, unit_lives,
    weibull_cost_decisions,
};
use cmms_core::pm::{PmError, next_due};
use cmms_core::reliability::{
    Basis, FailureEvent, FailureEventType, IntervalReason, MTBF_EVENT_TYPES, MtbfReading, MtbfStats, PmInterval,
    asset_interval, pm_interval,
};
use cmms_core::time::{SiteTz, TimeError, TimeWindow, from_epoch_ms, to_epoch_ms};
use cmms_core::work_order::{
    PmWorkOrder, WoAction, WoId, WoState, WorkOrderError, completion, correct_completion, transition,
};
use cmms_store::codes::PmStatus;
use cmms_store::reliability::{LifeModelWrite, LoggedEvent, PmAsset, PmIntervalWrite};
use cmms_store::work_orders::{CompletionOutcome, CorrectionOutcome, PmDue, Scheduled, WorkOrderRow};
use cmms_store::{Store, StoreError, UpsertCounts};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};
use tracing::Instrument;

/// The PM plan that MTBF-based intervals drive (one per asset until plans are imported).
pub const DEFAULT_PLAN: &str = "PM";

/// Assets processed per store round trip.
const ASSET_CHUNK: usize = 1000;

/// Errors of the PM stage and work-order operations, each a reason for the operator.
#[derive(Debug, thiserror::Error)]
pub enum PmServiceError {
    /// No work order has this id.
    #[error("unknown work order {0}")]
    UnknownWorkOrder(i64),
    /// The operation breaks a work-order rule (illegal transition, completion not after the
    /// previous one, due date not after the completion …).
    #[error("{0}")]
    Rule(#[from] WorkOrderError),
    /// `complete` has its own operation because it needs the completion time.
    #[error("use `complete` to complete a work order (it needs the completion time)")]
    UseComplete,
    /// Another change to the same order won the race; nothing was written.
    #[error("work order {0} was changed concurrently; reload and retry")]
    Concurrent(i64),
    /// The completion time is outside the plausible window (before 1970, or later than now plus
    /// the completion tolerance).
    #[error("completed_at: {0}")]
    Time(TimeError),
    /// A correction needs a reason (recorded in the history).
    #[error("a correction needs a reason (1–500 characters, no control characters)")]
    ReasonRequired,
    /// The PM that the completion scheduled is itself completed; correct that one instead.
    #[error(
        "work order {next} that this completion scheduled is already completed: its completion now drives the \
         schedule; correct work order {next} instead"
    )]
    NextAlreadyCompleted {
        /// The completed next PM.
        next: i64,
    },
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

impl PmServiceError {
    /// Stable machine-readable code (for JSON output and the HTTP API).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownWorkOrder(_) => "UNKNOWN_WORK_ORDER",
            Self::Rule(e) => e.code(),
            Self::UseComplete => "COMPLETION_NEEDS_TIME",
            Self::Concurrent(_) => "CONCURRENT_CHANGE",
            Self::Time(e) => e.code(),
            Self::ReasonRequired => "REASON_REQUIRED",
            Self::NextAlreadyCompleted { .. } => "NEXT_PM_COMPLETED",
            Self::Invalid(_) | Self::Formulas(_) | Self::Store(_) => "INTERNAL",
        }
    }
}

/// What a recompute of PM intervals did.
#[derive(Debug, Default, serde::Serialize)]
pub struct IntervalRun {
    /// Formula version used.
    pub formula_version: i64,
    /// Assets computed.
    pub assets: u64,
    /// Interval rows inserted / updated / unchanged.
    pub rows: UpsertCounts,
    /// Assets per status (`OK`, `NO_LAST_COMPLETION`, `NOT_MONOTONIC`).
    pub by_status: BTreeMap<String, u64>,
    /// Assets per basis and reason (`MTBF`, `FALLBACK/NO_VALID_SAMPLES` …).
    pub by_basis: BTreeMap<String, u64>,
    /// Samples discarded as ≤ 0, over all assets.
    pub discarded_samples: u64,
    /// PM work orders created.
    pub work_orders_created: u64,
    /// Open, unreleased PM work orders whose due date moved.
    pub work_orders_rescheduled: u64,
    /// Assets whose own data could not be used (status `INVALID_INPUT`), with the reason; the
    /// other assets were computed.
    pub asset_errors: Vec<AssetError>,
}

/// An asset whose PM interval could not be computed from its own data, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AssetError {
    /// The asset.
    pub asset_id: String,
    /// The reason in words.
    pub reason: String,
}

/// One asset after the first pass of [`recompute_intervals`]: its `mtbf_fraction` interval (the
/// policy's result, or under `weibull_cost` the seed it is compared with), why its own data could
/// not be used, and under `weibull_cost` the lives of each of its units (component name, `""` for
/// the asset as a whole).
struct Prepared<'a> {
    asset: &'a PmAsset,
    interval: PmInterval,
    problem: Option<String>,
    units: Vec<(String, LifeSet)>,
}

/// One unit's `weibull_cost` decision with the failure and PM cost it was decided on.
type Decided = (UnitDecision, (f64, f64));

/// Recomputes the MTBF, PM interval and next due date of every asset, stores them, and makes sure
/// each asset with a due date has its open PM work order. Under `[pm] method = "weibull_cost"`
/// the interval is the cost-optimal decision on the asset's lives (or its group's pooled lives),
/// stored with its fit in `pm_life_models`, by the same core functions as `cmms compute`.
pub async fn recompute_intervals(store: &Store, as_of: Timestamp, now_ms: i64) -> Result<IntervalRun, PmServiceError> {
    // Instrumented rather than entered: the stage runs beside the thresholds stage (`crate::cycle`).
    let span = tracing::info_span!("recompute_intervals", %as_of);
    intervals_in_span(store, as_of, now_ms).instrument(span).await
}

async fn intervals_in_span(store: &Store, as_of: Timestamp, now_ms: i64) -> Result<IntervalRun, PmServiceError> {
    let (formula_version, formulas) = formulas::active(store, now_ms).await?;
    let params = *formulas.pm();
    let weibull = params.method == PmMethod::WeibullCost;
    let mut run = IntervalRun { formula_version, ..Default::default() };
    let plan = PlanId::parse(DEFAULT_PLAN).map_err(|e| PmServiceError::Invalid(e.to_string()))?;
    let assets = store.pm_assets().await?;
    // The open PM of each asset, so unchanged schedules cost no write transaction.
    let open_due = store.open_due_dates(plan.as_str()).await?;
    if !weibull {
        store.clear_life_models().await?;
    }
    let storing = Storing { store, formula_version, plan: &plan, open_due: &open_due, now_ms };
    // Every asset's seed interval and, under weibull_cost, its lives. Under mtbf_fraction each
    // chunk is stored as soon as it is computed; under weibull_cost a decision may rest on the
    // lives of the asset's whole group, so all are prepared before any is decided and stored.
    let mut prepared = Vec::new();
    let chunks: Vec<&[PmAsset]> = assets.chunks(ASSET_CHUNK).collect();
    // The next chunk's inputs are read (on another connection) while this chunk is computed.
    let read_ahead = |chunk: &[PmAsset]| {
        let ids: Vec<String> = chunk.iter().map(|a| a.asset_id.clone()).collect();
        tokio::spawn(read_chunk(store.clone(), ids, weibull).in_current_span())
    };
    let mut next = chunks.first().map(|c| read_ahead(c));
    for (i, chunk) in chunks.iter().enumerate() {
        let Some(reading) = next.take() else { break };
        next = chunks.get(i + 1).map(|c| read_ahead(c));
        let ChunkInputs { logs, mut readings, mut completions } =
            reading.await.map_err(|e| PmServiceError::Invalid(format!("reading failure logs: {e}")))??;
        let mut logs = logs.into_iter();
        let ready: Vec<Prepared<'_>> = chunk
            .iter()
            .map(|asset| {
                let history = logs.next().unwrap_or_default();
                let readings = readings.remove(&asset.asset_id).unwrap_or_default();
                let done = completions.remove(&asset.asset_id).unwrap_or_default();
                prepare(asset, history, &readings, done, &params, as_of, weibull)
            })
            .collect();
        if weibull {
            prepared.extend(ready);
        } else {
            // Nothing waits for other assets: the chunk is stored while the next one is read.
            let none = vec![Vec::new(); ready.len()];
            store_chunk(&storing, &ready, &none, &mut run).await?;
        }
    }
    if weibull {
        let decisions = decide(&prepared, &formulas).await?;
        for (chunk, decisions) in prepared.chunks(ASSET_CHUNK).zip(decisions.chunks(ASSET_CHUNK)) {
            store_chunk(&storing, chunk, decisions, &mut run).await?;
        }
    }
    tracing::info!(assets = run.assets, created = run.work_orders_created, "PM intervals recomputed");
    Ok(run)
}

/// One asset's first-pass result from its failure log (`history`), MTBF readings and, under
/// `weibull_cost`, its completion times (`done`, epoch ms).
fn prepare<'a>(
    asset: &'a PmAsset,
    history: Vec<LoggedEvent>,
    readings: &[MtbfReading],
    done: Vec<i64>,
    params: &PmParams,
    as_of: Timestamp,
    weibull: bool,
) -> Prepared<'a> {
    let (keys, names) = component_keys(history.iter().map(|e| e.component.as_ref().map(|c| c.as_str())));
    let names: Vec<String> = names.into_iter().map(str::to_owned).collect();
    let events: Vec<FailureEvent> = history.into_iter().map(|e| e.event).collect();
    // A problem of one asset's own data is that asset's status; the others go on.
    let mut problem = None;
    let interval = asset_interval(&events, readings, params, as_of, asset.fallback_interval_days).unwrap_or_else(|e| {
        problem = Some(format!("failure history: {e}"));
        pm_interval(&MtbfStats::default(), params, asset.fallback_interval_days)
    });
    let units = if weibull && problem.is_none() {
        let mut completed: Vec<Timestamp> =
            done.into_iter().chain(asset.last_completion_at).map(from_epoch_ms).collect();
        completed.sort_unstable();
        completed.dedup();
        match unit_lives(&events, &keys, &completed, as_of) {
            Ok(units) => units.into_iter().map(|(k, set)| (names[k as usize].clone(), set)).collect(),
            Err(e) => {
                problem = Some(format!("failure history: {e}"));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    Prepared { asset, interval, problem, units }
}

/// What storing a chunk of prepared assets needs besides the chunk.
struct Storing<'a> {
    store: &'a Store,
    formula_version: i64,
    plan: &'a PlanId,
    /// The due date of each asset's open PM.
    open_due: &'a HashMap<String, i64>,
    now_ms: i64,
}

/// Stores the intervals, life models and PM schedule of one chunk of prepared assets with their
/// `weibull_cost` decisions (empty under `mtbf_fraction`), counting what it did in `run`.
async fn store_chunk(
    storing: &Storing<'_>,
    chunk: &[Prepared<'_>],
    decisions: &[Vec<Decided>],
    run: &mut IntervalRun,
) -> Result<(), PmServiceError> {
    let Storing { store, formula_version, plan, open_due, now_ms } = *storing;
    let mut rows = Vec::with_capacity(chunk.len());
    let mut models = Vec::new();
    let mut due = Vec::new();
    for (p, decided) in chunk.iter().zip(decisions) {
        let (asset, interval) = (p.asset, p.interval);
        // Under weibull_cost the unit with the shortest recommended interval decides.
        let decider = deciding_unit(&decided.iter().map(|d| d.0).collect::<Vec<_>>());
        let decision = decider.map(|i| &decided[i]);
        let mut problem = p.problem.clone();
        let stats = interval.stats;
        // Under weibull_cost the decision sets basis, reason and interval; `None`: no PM.
        let (basis, reason, interval_days) = match decision {
            Some((u, _)) => (
                Basis::from(u.basis),
                u.decision.reason.filter(|_| u.basis == CostBasis::RunToFailure).map(IntervalReason::from),
                u.interval_days,
            ),
            None => (interval.basis, interval.reason.map(IntervalReason::from), Some(interval.interval_days)),
        };
        let last = asset.last_completion_at.map(from_epoch_ms);
        let next = match SiteTz::parse(&asset.timezone) {
            Ok(tz) => interval_days.map(|d| next_due(last, d, &tz.zone())),
            Err(e) => {
                problem = Some(format!("site time zone: {e}"));
                None
            }
        };
        let status = match (&problem, &next) {
            (Some(reason), _) => {
                run.asset_errors.push(AssetError { asset_id: asset.asset_id.clone(), reason: reason.clone() });
                PmStatus::InvalidInput
            }
            (None, Some(Err(e))) => PmStatus::from(e),
            (None, None) => PmStatus::NoTimeBasedPm,
            (None, Some(Ok(_))) => PmStatus::Ok,
        };
        *run.by_status.entry(status.as_str().to_owned()).or_default() += 1;
        let basis_key = match reason {
            Some(r) => format!("{}/{}", basis.as_str(), r.code()),
            None => basis.as_str().to_owned(),
        };
        *run.by_basis.entry(basis_key).or_default() += 1;
        run.discarded_samples += stats.n_discarded as u64;
        let (due_ms, due_local) = match &next {
            Some(Ok(n)) if problem.is_none() => (Some(to_epoch_ms(n.due_utc())), Some(n.local_rfc3339())),
            Some(Err(PmError::NotMonotonic { due_at, .. })) => {
                tracing::warn!(asset = %asset.asset_id, %due_at, "next due date not after the last completion; not stored");
                (None, None)
            }
            _ => (None, None),
        };
        if let (Some(d), Some(l)) = (due_ms, last) {
            due.push((asset.asset_id.clone(), d, to_epoch_ms(l)));
        }
        for ((component, set), (u, costs)) in p.units.iter().zip(decided) {
            models.push(LifeModelWrite {
                asset_id: asset.asset_id.clone(),
                component: component.clone(),
                formula_version,
                decision: *u,
                lives: set.lives.len() as i64,
                zero_length_dropped: set.zero_length_dropped as i64,
                seed_interval_days: interval.interval_days,
                costs: *costs,
            });
        }
        rows.push(PmIntervalWrite {
            asset_id: asset.asset_id.clone(),
            formula_version,
            status,
            basis,
            reason,
            n_samples: stats.n_samples as i64,
            n_discarded: stats.n_discarded as i64,
            n_open_planned: stats.n_open_planned as i64,
            mean_mtbf_hours: stats.mean_hours,
            cv: stats.cv,
            interval_days,
            last_completion_at: asset.last_completion_at,
            next_due_at: due_ms,
            next_due_local: due_local,
            life_component: decider.map(|i| p.units[i].0.clone()),
        });
    }
    run.assets += rows.len() as u64;
    run.rows.add(store.store_pm_intervals(rows, now_ms).await?);
    if !models.is_empty() {
        store.store_life_models(models, now_ms).await?;
    }
    let moved: Vec<PmDue<'_>> = due
        .iter()
        .filter(|(asset_id, due_ms, _)| open_due.get(asset_id) != Some(due_ms))
        .map(|(asset_id, due_at, follows_at)| PmDue {
            asset_id,
            plan_id: plan.as_str(),
            due_at: *due_at,
            follows_at: Some(*follows_at),
        })
        .collect();
    for outcome in store.schedule_pms(&moved, now_ms).await? {
        match outcome {
            Scheduled::Created(_) => run.work_orders_created += 1,
            Scheduled::Rescheduled(_) => run.work_orders_rescheduled += 1,
            Scheduled::Unchanged(_) => {}
        }
    }
    Ok(())
}

/// What the PM stage reads of one chunk of assets.
struct ChunkInputs {
    /// Failure logs by position in the chunk: only the event types the MTBF calculation reads,
    /// unless the life models need every event.
    logs: Vec<Vec<LoggedEvent>>,
    /// MTBF readings by asset.
    readings: HashMap<String, Vec<MtbfReading>>,
    /// Completion times by asset (read under `weibull_cost` only).
    completions: HashMap<String, Vec<i64>>,
}

/// Reads one chunk's [`ChunkInputs`] (owned arguments: it runs as its own task).
async fn read_chunk(store: Store, ids: Vec<String>, weibull: bool) -> Result<ChunkInputs, StoreError> {
    let kinds: &[FailureEventType] = if weibull { &FailureEventType::ALL } else { &MTBF_EVENT_TYPES };
    Ok(ChunkInputs {
        logs: store.failure_logs(&ids, kinds).await?,
        readings: store.mtbf_readings(&ids).await?,
        completions: if weibull { store.pm_completions(&ids).await? } else { HashMap::new() },
    })
}

/// The `weibull_cost` decision of every unit of every prepared asset (in the order of its
/// `units`), with the failure and PM cost used, by [`weibull_cost_decisions`] on a blocking
/// thread: own lives, or below `min_failures` the pooled lives of its asset group and component.
async fn decide(prepared: &[Prepared<'_>], formulas: &FormulaSet) -> Result<Vec<Vec<Decided>>, PmServiceError> {
    let pm = *formulas.pm();
    let mut units = Vec::new();
    for p in prepared {
        let costs = AssetGroup::parse(&p.asset.asset_group).ok().and_then(|g| formulas.pm_costs_for(&g));
        for (component, set) in &p.units {
            units.push((
                (p.asset.asset_group.clone(), component.clone()),
                set.lives.clone(),
                p.interval.interval_days,
                p.asset.fallback_interval_days,
                costs.map(|c| (c.failure_cost, c.pm_cost)),
            ));
        }
    }
    let decided = tokio::task::spawn_blocking(move || {
        let inputs: Vec<UnitInput<'_, &(String, String)>> = units
            .iter()
            .map(|(pool, lives, seed, fallback, costs)| UnitInput {
                pool,
                lives,
                seed_interval_days: *seed,
                manufacturer_interval_days: *fallback,
                costs: *costs,
            })
            .collect();
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let decisions = weibull_cost_decisions(
            &inputs,
            &DecisionParams::from_registry(&pm),
            pm.keep_manufacturer_interval,
            threads,
        );
        // A unit without costs is decided as Cf = Cp (see weibull_cost_decisions).
        decisions.into_iter().zip(units.iter().map(|u| u.4.unwrap_or((1.0, 1.0)))).collect::<Vec<_>>()
    })
    .await
    .map_err(|e| PmServiceError::Invalid(format!("life model fit: {e}")))?;
    let mut decided = decided.into_iter();
    Ok(prepared.iter().map(|p| decided.by_ref().take(p.units.len()).collect()).collect())
}

async fn load(store: &Store, id: i64) -> Result<WorkOrderRow, PmServiceError> {
    store.work_order(id).await?.ok_or(PmServiceError::UnknownWorkOrder(id))
}

/// Applies an action other than `complete` to a work order, recording `actor` (the API token's
/// name, or `cli`) in the order's history.
pub async fn apply_action(
    store: &Store,
    id: i64,
    action: WoAction,
    actor: &str,
    now_ms: i64,
) -> Result<WorkOrderRow, PmServiceError> {
    if action == WoAction::Complete {
        return Err(PmServiceError::UseComplete);
    }
    let order = load(store, id).await?;
    let from = order.state;
    let to = transition(from, action).map_err(WorkOrderError::from)?;
    if !store.transition_work_order_by(id, from, to, action.as_str(), actor, now_ms).await? {
        return Err(PmServiceError::Concurrent(id));
    }
    load(store, id).await
}

/// The window a completion time must lie in: 1970-01-01 … `now + tolerance` (the shell passes
/// its clock and the configured tolerance, [`cmms_core::work_order::DEFAULT_COMPLETION_TOLERANCE`]
/// by default). A completion in 2062 would push the next PM decades out and, since the next
/// completion must follow it, block every real completion after it.
pub fn completion_window(now: Timestamp, tolerance: jiff::SignedDuration) -> TimeWindow {
    TimeWindow::new(now, tolerance)
}

/// Completes an IN_PROGRESS work order at `completed_at` (recording `actor`) and schedules the
/// next PM, due after the asset's current PM interval in the site's local time. A completion
/// time outside `window` ([`completion_window`]) is refused. Returns (completed, next).
pub async fn complete(
    store: &Store,
    id: i64,
    completed_at: Timestamp,
    window: TimeWindow,
    actor: &str,
    now_ms: i64,
) -> Result<(WorkOrderRow, WorkOrderRow), PmServiceError> {
    window.check(completed_at).map_err(PmServiceError::Time)?;
    let order = load(store, id).await?;
    let tz = SiteTz::parse(&order.timezone).map_err(|e| PmServiceError::Invalid(e.to_string()))?.zone();
    let interval_days = current_interval_days(store, &order.asset_id).await?;
    let asset_id = order.asset_id.parse().map_err(|e| PmServiceError::Invalid(format!("asset id: {e}")))?;
    let plan_id = PlanId::parse(&order.plan_id).map_err(|e| PmServiceError::Invalid(format!("plan id: {e}")))?;
    let model = PmWorkOrder {
        id: WoId(order.id as u64),
        asset_id,
        plan_id,
        state: order.state,
        // An order scheduled before any completion follows nothing: any completion is after it.
        follows: order.follows_at.map_or(Timestamp::MIN, from_epoch_ms),
        due_at: from_epoch_ms(order.due_at),
        completed_at: order.completed_at.map(from_epoch_ms),
    };
    let next = completion(&model, completed_at, interval_days, &tz)?;
    match store.complete_work_order(id, to_epoch_ms(completed_at), to_epoch_ms(next.due_utc()), actor, now_ms).await? {
        CompletionOutcome::Completed { next_id } => Ok((load(store, id).await?, load(store, next_id).await?)),
        CompletionOutcome::StateChanged => Err(PmServiceError::Concurrent(id)),
    }
}

/// What a completion correction did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Correction {
    /// The corrected order.
    pub corrected: WorkOrderRow,
    /// The PM the completion scheduled, as it is now (absent when there is none).
    pub next: Option<WorkOrderRow>,
    /// True when the next PM's due date was recomputed from the corrected time (it was SCHEDULED
    /// or MATERIAL_PENDING). False when it was already released, started or cancelled: it then
    /// keeps its due date and only records the corrected completion it follows.
    pub next_rescheduled: bool,
}

/// Longest correction reason, in characters.
pub const MAX_REASON_LEN: usize = 500;

/// Corrects the completion time of a COMPLETED work order (an operator's fix of a wrong entry,
/// e.g. year 2062 for 2026), recording `actor` and `reason`; the next PM that the completion
/// scheduled is rescheduled from the corrected time while it is not yet released. The
/// corrected time follows the completion rules: inside `window` ([`completion_window`]) and
/// after the completion the order itself follows. This may move the next PM's due date
/// backwards — the documented exception to the pipeline's "due dates never move backwards".
pub async fn correct(
    store: &Store,
    id: i64,
    completed_at: Timestamp,
    reason: &str,
    window: TimeWindow,
    actor: &str,
    now_ms: i64,
) -> Result<Correction, PmServiceError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_LEN || reason.chars().any(char::is_control) {
        return Err(PmServiceError::ReasonRequired);
    }
    window.check(completed_at).map_err(PmServiceError::Time)?;
    let order = load(store, id).await?;
    let tz = SiteTz::parse(&order.timezone).map_err(|e| PmServiceError::Invalid(e.to_string()))?.zone();
    let model = model_of(&order)?;
    // Checked first so that an order that is not COMPLETED gets its own message.
    let old = match (model.state, order.completed_at) {
        (WoState::Completed, Some(old)) => old,
        _ => return Err(WorkOrderError::NotCompleted { id: model.id, state: model.state }.into()),
    };
    let interval_days = current_interval_days(store, &order.asset_id).await?;
    let next = correct_completion(&model, completed_at, interval_days, &tz)?;
    let outcome = store
        .correct_completion(id, old, to_epoch_ms(completed_at), to_epoch_ms(next.due_utc()), actor, reason, now_ms)
        .await?;
    match outcome {
        CorrectionOutcome::Corrected { next } => {
            let (next, next_rescheduled) = match next {
                Some(n) => (Some(load(store, n.id).await?), n.rescheduled),
                None => (None, false),
            };
            Ok(Correction { corrected: load(store, id).await?, next, next_rescheduled })
        }
        CorrectionOutcome::StateChanged => Err(PmServiceError::Concurrent(id)),
        CorrectionOutcome::NextCompleted(next) => Err(PmServiceError::NextAlreadyCompleted { next }),
    }
}

/// The core model of a stored order.
fn model_of(order: &WorkOrderRow) -> Result<PmWorkOrder, PmServiceError> {
    Ok(PmWorkOrder {
        id: WoId(order.id as u64),
        asset_id: order.asset_id.parse().map_err(|e| PmServiceError::Invalid(format!("asset id: {e}")))?,
        plan_id: PlanId::parse(&order.plan_id).map_err(|e| PmServiceError::Invalid(format!("plan id: {e}")))?,
        state: order.state,
        // An order scheduled before any completion follows nothing: any completion is after it.
        follows: order.follows_at.map_or(Timestamp::MIN, from_epoch_ms),
        due_at: from_epoch_ms(order.due_at),
        completed_at: order.completed_at.map(from_epoch_ms),
    })
}

/// The asset's PM interval: the computed one, or its manufacturer interval before any recompute.
async fn current_interval_days(store: &Store, asset_id: &str) -> Result<f64, PmServiceError> {
    store
        .current_interval_days(asset_id)
        .await?
        .ok_or_else(|| PmServiceError::Invalid(format!("work order names unknown asset {asset_id}")))
}
