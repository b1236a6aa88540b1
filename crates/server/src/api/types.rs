//! The HTTP response types of the API, with their OpenAPI schemas: the contract clients see,
//! kept apart from the store's row types and the pipeline's results so that a change of a table
//! or a service does not change the API unnoticed. Each converts field by field from its source.

use cmms_core::time::{rfc3339_local, rfc3339_utc};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

// Instants are RFC 3339 strings (docs/contract.md "Timestamps"): UTC (`Z`) for when something
// happened in the system, the site's offset for the instants of an asset's schedule.

/// Converts rows of the store or the pipeline into their API types.
pub fn convert<T, U: From<T>>(rows: Vec<T>) -> Vec<U> {
    rows.into_iter().map(U::from).collect()
}

/// A part with its stock and the thresholds in force.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PartOverview {
    /// The part.
    pub part_id: String,
    /// Description.
    pub description: String,
    /// Unit of measure.
    pub unit: String,
    /// Site.
    pub site_id: String,
    /// Part class.
    pub part_class: String,
    /// Supplier lead time, days.
    pub lead_time_days: f64,
    /// Units per pack: orders (and, for a discrete unit, reorder point and max) are whole
    /// multiples of it (docs/contract.md#whole-units).
    pub pack_size: Option<f64>,
    /// Smallest quantity one procurement request may be for.
    pub min_order_qty: Option<f64>,
    /// On-hand stock, once a snapshot was applied.
    pub on_hand: Option<f64>,
    /// On hand minus reserved: what routing uses.
    pub available: Option<f64>,
    /// Why routing is paused for the part, if it is.
    pub paused_reason: Option<String>,
    /// Min in force.
    pub min: Option<f64>,
    /// Reorder point in force.
    pub reorder: Option<f64>,
    /// Max (order-up-to level) in force.
    pub max: Option<f64>,
    /// `COMPUTED`, `APPROVED`, `FALLBACK` or `RECEIVED`.
    pub basis: Option<String>,
    /// Publication sequence of the thresholds in force.
    pub sequence_id: Option<i64>,
}

impl From<cmms_store::inventory::PartOverview> for PartOverview {
    fn from(r: cmms_store::inventory::PartOverview) -> Self {
        Self {
            part_id: r.part_id,
            description: r.description,
            unit: r.unit,
            site_id: r.site_id,
            part_class: r.part_class,
            lead_time_days: r.lead_time_days,
            pack_size: r.pack_size,
            min_order_qty: r.min_order_qty,
            on_hand: r.on_hand,
            available: r.available,
            paused_reason: r.paused_reason,
            min: r.min,
            reorder: r.reorder,
            max: r.max,
            basis: r.basis.map(|b| b.as_str().to_owned()),
            sequence_id: r.sequence_id,
        }
    }
}

/// One entry of a part's threshold history.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ThresholdHistoryRow {
    /// `COMPUTED` (this service's calculation) or `RECEIVED` (pushed over the API).
    pub origin: String,
    /// Publication sequence.
    pub sequence_id: i64,
    /// `OK` or the calculation's error code.
    pub status: String,
    /// `COMPUTED`, `APPROVED`, `FALLBACK`, `RECEIVED` or `NONE`.
    pub basis: String,
    /// The formula version, for computed rows.
    pub formula_version: Option<i64>,
    /// Published `[min, reorder, max]`.
    pub published: Option<[f64; 3]>,
    /// Computed `[min, reorder, max]`.
    pub computed: Option<[f64; 3]>,
    /// Average daily usage of the computation.
    pub avg_daily_usage: Option<f64>,
    /// When, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub at: String,
    /// Why the calculation gave no thresholds, in words (when the status is not `OK`).
    pub reason: Option<String>,
    /// The method that computed the row: `moving_average` (the seed formula), `moving_average_ss`,
    /// `sba`, `tsb` or `empirical` (for `auto`, the one the part's demand class chose).
    pub method: Option<String>,
    /// The demand class of a demand-driven method: `smooth`, `erratic`, `intermittent`, `lumpy`
    /// or `no_demand`.
    pub demand_class: Option<String>,
    /// The figures behind a demand-driven method's numbers.
    pub policy: Option<PolicyFigures>,
}

/// Why a demand-driven method gave a part its numbers (docs/contract.md#demand-policies).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema)]
pub struct PolicyFigures {
    /// Average inter-demand interval, periods.
    pub adi: f64,
    /// Squared coefficient of variation of the non-zero period demands.
    pub cv2: f64,
    /// Forecast demand per day.
    pub forecast_daily: f64,
    /// Mean lead-time demand.
    pub lead_time_demand: f64,
    /// Standard deviation of lead-time demand.
    pub sigma: f64,
    /// Safety factor: reorder = lead-time demand + z × sigma.
    pub z: f64,
    /// Order quantity: max − reorder.
    pub order_qty: f64,
    /// Target service level.
    pub service_level: f64,
    /// `cycle` or `fill_rate`.
    pub service_level_kind: String,
    /// Days of history used.
    pub history_days: u32,
}

impl From<cmms_store::thresholds::ThresholdHistoryRow> for ThresholdHistoryRow {
    fn from(r: cmms_store::thresholds::ThresholdHistoryRow) -> Self {
        Self {
            origin: r.origin.as_str().to_owned(),
            sequence_id: r.sequence_id,
            status: r.status,
            basis: r.basis.as_str().to_owned(),
            formula_version: r.formula_version,
            published: r.published,
            computed: r.computed,
            avg_daily_usage: r.avg_daily_usage,
            at: rfc3339_utc(r.at),
            reason: r.reason,
            method: r.method,
            demand_class: r.demand_class,
            policy: r.policy.and_then(|v| serde_json::from_value(v).ok()),
        }
    }
}

/// The latest report `cmms backtest` saved.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BacktestReport {
    /// Its id (ascending in the order of saving).
    pub id: i64,
    /// When it was saved, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub created_at: String,
    /// What was replayed (the input folder).
    pub source: String,
    /// The report as `cmms backtest --format json` prints it (docs/cli.md#backtest): run
    /// settings, per policy the figures in total and per part and demand class, the frontier.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

/// An alert for operators.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AlertRow {
    /// Its id.
    pub id: i64,
    /// `DRIFT`, `SCAN_DISCREPANCY`, `IMPLAUSIBLE_DROP` …
    pub kind: String,
    /// What it is about (a part id).
    pub subject: String,
    /// In words.
    pub message: String,
    /// `OPEN` or `RESOLVED`.
    pub status: String,
    /// Raised at, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub created_at: String,
}

impl From<cmms_store::inventory::AlertRow> for AlertRow {
    fn from(r: cmms_store::inventory::AlertRow) -> Self {
        Self {
            id: r.id,
            kind: r.kind.as_str().to_owned(),
            subject: r.subject,
            message: r.message,
            status: r.status.as_str().to_owned(),
            created_at: rfc3339_utc(r.created_at),
        }
    }
}

/// An entry of the quarantine queue.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QuarantineRow {
    /// Its id.
    pub id: i64,
    /// The source.
    pub source: String,
    /// The SKU as delivered.
    pub external_sku: String,
    /// `UNMAPPED` or `AMBIGUOUS`.
    pub reason: String,
    /// Candidate parts (for AMBIGUOUS), comma-separated.
    pub candidates: Option<String>,
    /// Records held for this SKU.
    pub held_count: i64,
    /// `OPEN` or `RESOLVED`.
    pub status: String,
    /// The part it was resolved to.
    pub resolved_part_id: Option<String>,
}

impl From<cmms_store::inventory::QuarantineRow> for QuarantineRow {
    fn from(r: cmms_store::inventory::QuarantineRow) -> Self {
        Self {
            id: r.id,
            source: r.source,
            external_sku: r.external_sku,
            reason: r.reason,
            candidates: r.candidates,
            held_count: r.held_count,
            status: r.status.as_str().to_owned(),
            resolved_part_id: r.resolved_part_id,
        }
    }
}

/// A stored procurement request.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProcurementRow {
    /// Its id.
    pub id: i64,
    /// The part.
    pub part_id: String,
    /// Units requested.
    pub quantity: f64,
    /// `OPEN`, `FULFILLED` or `CANCELLED`.
    pub status: String,
    /// Why it was raised.
    pub reason: String,
    /// Raised at, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub created_at: String,
    /// Last changed (closed) at, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub updated_at: String,
}

impl From<cmms_store::routing::ProcurementRow> for ProcurementRow {
    fn from(r: cmms_store::routing::ProcurementRow) -> Self {
        Self {
            id: r.id,
            part_id: r.part_id,
            quantity: r.quantity,
            status: r.status.as_str().to_owned(),
            reason: r.reason,
            created_at: rfc3339_utc(r.created_at),
            updated_at: rfc3339_utc(r.updated_at),
        }
    }
}

/// A dead-lettered delivery.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeadLetterRow {
    /// Its id.
    pub id: i64,
    /// The outbox row it came from.
    pub outbox_id: i64,
    /// The publication target.
    pub target: String,
    /// The part the thresholds are for.
    pub part_id: String,
    /// The sequence of the change.
    pub sequence_id: Option<i64>,
    /// The request body that was sent.
    pub payload: String,
    /// The full request as last sent (method, URL, headers with the token redacted, body), as
    /// JSON; absent for entries written before it was recorded.
    pub request: Option<String>,
    /// Why it was dead-lettered.
    pub reason: String,
    /// When, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub created_at: String,
    /// When it was replayed, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub replayed_at: Option<String>,
}

impl From<cmms_store::outbox::DeadLetterRow> for DeadLetterRow {
    fn from(r: cmms_store::outbox::DeadLetterRow) -> Self {
        Self {
            id: r.id,
            outbox_id: r.outbox_id,
            target: r.target,
            part_id: r.part_id,
            sequence_id: r.sequence_id,
            payload: r.payload,
            request: r.request,
            reason: r.reason,
            created_at: rfc3339_utc(r.created_at),
            replayed_at: r.replayed_at.map(rfc3339_utc),
        }
    }
}

/// One delivery attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AttemptRow {
    /// The outbox row it was for.
    pub outbox_id: i64,
    /// 1-based attempt number of that row.
    pub attempt: i64,
    /// When it ended, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub at: String,
    /// The HTTP status, when the target answered.
    pub http_status: Option<i64>,
    /// The transport error (timeout, connection), when it did not.
    pub error: Option<String>,
    /// The response body (truncated).
    pub response: Option<String>,
}

impl From<cmms_store::publication::AttemptRow> for AttemptRow {
    fn from(r: cmms_store::publication::AttemptRow) -> Self {
        Self {
            outbox_id: r.outbox_id,
            attempt: r.attempt,
            at: rfc3339_utc(r.at),
            http_status: r.http_status,
            error: r.error,
            response: r.response,
        }
    }
}

/// A stored PM work order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WorkOrderRow {
    /// Its id.
    pub id: i64,
    /// The asset.
    pub asset_id: String,
    /// The PM plan.
    pub plan_id: String,
    /// State name (`SCHEDULED`, `RELEASED` …).
    pub state: String,
    /// Due instant, RFC 3339 with the site's offset.
    #[schema(format = DateTime, example = "2026-12-03T08:00:00+11:00")]
    pub due_at: String,
    /// The completion the due date was computed from, RFC 3339 with the site's offset.
    #[schema(format = DateTime, example = "2026-12-03T08:00:00+11:00")]
    pub follows_at: Option<String>,
    /// When it was completed, RFC 3339 with the site's offset.
    #[schema(format = DateTime, example = "2026-12-03T08:00:00+11:00")]
    pub completed_at: Option<String>,
    /// The order it follows (completed before it).
    pub previous_id: Option<i64>,
    /// Site time zone of the asset (for showing local times).
    pub timezone: String,
    /// Created, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub created_at: String,
    /// Last changed, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub updated_at: String,
}

impl From<cmms_store::work_orders::WorkOrderRow> for WorkOrderRow {
    fn from(r: cmms_store::work_orders::WorkOrderRow) -> Self {
        Self {
            id: r.id,
            asset_id: r.asset_id,
            plan_id: r.plan_id,
            state: r.state.as_str().to_owned(),
            due_at: rfc3339_local(r.due_at, &r.timezone),
            follows_at: r.follows_at.map(|t| rfc3339_local(t, &r.timezone)),
            completed_at: r.completed_at.map(|t| rfc3339_local(t, &r.timezone)),
            previous_id: r.previous_id,
            timezone: r.timezone,
            created_at: rfc3339_utc(r.created_at),
            updated_at: rfc3339_utc(r.updated_at),
        }
    }
}

/// A stored PM interval with its asset (for reports and exports).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PmIntervalRow {
    /// The asset.
    pub asset_id: String,
    /// Its group.
    pub asset_group: String,
    /// Its site.
    pub site_id: String,
    /// `OK`, `NO_LAST_COMPLETION`, `NOT_MONOTONIC`, `OUT_OF_RANGE`, `INVALID_INPUT` or
    /// `NO_TIME_BASED_PM` (`weibull_cost`: no interval, no due date).
    pub status: String,
    /// `MTBF` or `FALLBACK` (`mtbf_fraction`), `WEIBULL` or `RUN_TO_FAILURE` (`weibull_cost`).
    pub basis: Option<String>,
    /// Fallback reason (`NO_VALID_SAMPLES`, `HIGH_VARIABILITY`), or why no time-based PM
    /// (`TOO_FEW_FAILURES`, `NO_FIT`, `FAILURE_NOT_COSTLIER`, `NO_WEAR_OUT`, `NO_FINITE_OPTIMUM`).
    pub reason: Option<String>,
    /// Valid samples.
    pub n_samples: i64,
    /// Discarded samples (≤ 0).
    pub n_discarded: i64,
    /// Mean MTBF, hours.
    pub mean_mtbf_hours: Option<f64>,
    /// Coefficient of variation.
    pub cv: Option<f64>,
    /// Interval, days.
    pub interval_days: Option<f64>,
    /// Next due date, local time with offset.
    pub next_due_local: Option<String>,
    /// Next due date, RFC 3339 UTC (`next_due_local` has it in site time).
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub next_due_at: Option<String>,
    /// Formula version used.
    pub formula_version: i64,
    /// Under `[pm] method = "weibull_cost"`: the life model and decision the interval rests on,
    /// of the deciding unit when the failure log names components (absent under `mtbf_fraction`).
    pub life: Option<LifeModel>,
}

/// A `weibull_cost` decision with the life data and fit it rests on
/// (docs/contract.md#life-models-and-weibull_cost). Fit figures are of the lives fitted: the
/// asset group's pooled lives when `life_source` is `POOLED`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LifeModel {
    /// The component whose decision sets the interval (`""`: the asset as a whole).
    pub component: String,
    /// `WEIBULL` (PM at the cost-optimal age) or `RUN_TO_FAILURE` (no time-based PM pays).
    pub basis: String,
    /// Why no time-based PM: `TOO_FEW_FAILURES`, `NO_FIT`, `FAILURE_NOT_COSTLIER`, `NO_WEAR_OUT`
    /// or `NO_FINITE_OPTIMUM`.
    pub reason: Option<String>,
    /// The reason in words.
    pub reason_text: Option<String>,
    /// `OWN` (the asset's own lives) or `POOLED` (its asset group's).
    pub life_source: String,
    /// The asset's own lives.
    pub lives: i64,
    /// Failures among the lives fitted.
    pub failures: i64,
    /// Suspensions (right-censored lives) among the lives fitted.
    pub suspensions: i64,
    /// Zero-length lives dropped from the asset's own lives.
    pub zero_length_dropped: i64,
    /// Exponential MTBF with censoring (exposure / failures), hours.
    pub exp_mtbf_hours: Option<f64>,
    /// Weibull shape β.
    pub beta: Option<f64>,
    /// Lower likelihood-ratio bound on β (wear-out is shown when it is above 1).
    pub beta_lower: Option<f64>,
    /// Upper likelihood-ratio bound on β.
    pub beta_upper: Option<f64>,
    /// Weibull scale α (η), hours.
    pub alpha_hours: Option<f64>,
    /// Mean life `α·Γ(1+1/β)`, hours.
    pub mean_life_hours: Option<f64>,
    /// B10 life (10 % failed), hours.
    pub b10_hours: Option<f64>,
    /// Cost-optimal replacement age `T*`, hours (before slack and clamping).
    pub t_star_hours: Option<f64>,
    /// The `mtbf_fraction` interval it is compared with, days.
    pub seed_interval_days: f64,
    /// Failure cost Cf used.
    pub failure_cost: f64,
    /// PM cost Cp used.
    pub pm_cost: f64,
    /// Expected cost per hour under the recommendation (run to failure: Cf / mean life).
    pub cost_rate: Option<f64>,
    /// Expected cost per hour under the seed interval.
    pub cost_rate_seed: Option<f64>,
}

impl LifeModel {
    /// The stored decision, when there is one.
    pub fn from_row(l: cmms_store::reliability::LifeModelRow) -> Option<Self> {
        Some(Self {
            component: l.component?,
            basis: l.life_basis?.as_str().to_owned(),
            reason: l.life_reason.map(|r| r.code().to_owned()),
            reason_text: l.life_reason.map(|r| r.words().to_owned()),
            life_source: l.life_source?.as_str().to_owned(),
            lives: l.lives?,
            failures: l.failures?,
            suspensions: l.suspensions?,
            zero_length_dropped: l.zero_length_dropped?,
            exp_mtbf_hours: l.exp_mtbf_hours,
            beta: l.beta,
            beta_lower: l.beta_lower,
            beta_upper: l.beta_upper,
            alpha_hours: l.alpha_hours,
            mean_life_hours: l.mean_life_hours,
            b10_hours: l.b10_hours,
            t_star_hours: l.t_star_hours,
            seed_interval_days: l.seed_interval_days?,
            failure_cost: l.failure_cost?,
            pm_cost: l.pm_cost?,
            cost_rate: l.cost_rate,
            cost_rate_seed: l.cost_rate_seed,
        })
    }
}

impl From<cmms_store::reliability::PmIntervalRow> for PmIntervalRow {
    fn from(r: cmms_store::reliability::PmIntervalRow) -> Self {
        Self {
            asset_id: r.asset_id,
            asset_group: r.asset_group,
            site_id: r.site_id,
            status: r.status.as_str().to_owned(),
            basis: r.basis.map(|b| b.as_str().to_owned()),
            reason: r.reason.map(|x| x.code().to_owned()),
            n_samples: r.n_samples,
            n_discarded: r.n_discarded,
            mean_mtbf_hours: r.mean_mtbf_hours,
            cv: r.cv,
            interval_days: r.interval_days,
            next_due_local: r.next_due_local,
            next_due_at: r.next_due_at.map(rfc3339_utc),
            formula_version: r.formula_version,
            life: LifeModel::from_row(r.life),
        }
    }
}

/// One void of an event, with its restore once undone.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EventVoidRow {
    /// Its id.
    pub id: i64,
    /// `consumption`, `failures` or `inventory`.
    pub feed: String,
    /// The source (the asset for a failure event).
    pub source: String,
    /// The event id (`SKU/SEQUENCE` for a snapshot).
    pub event_id: String,
    /// The part (consumption, snapshot) or asset (failure event) the event counts for, if mapped.
    pub subject: Option<String>,
    /// Why it was voided.
    pub reason: String,
    /// Who voided it: the API token's name, or `cli:<user>`.
    pub voided_by: String,
    /// When, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub voided_at: String,
    /// Who restored it, once restored.
    pub restored_by: Option<String>,
    /// When it was restored, RFC 3339 UTC.
    #[schema(format = DateTime, example = "2026-12-01T08:00:00Z")]
    pub restored_at: Option<String>,
    /// Why it was restored.
    pub restore_reason: Option<String>,
}

impl From<cmms_store::corrections::EventVoidRow> for EventVoidRow {
    fn from(r: cmms_store::corrections::EventVoidRow) -> Self {
        Self {
            id: r.id,
            feed: r.feed,
            source: r.source,
            event_id: r.event_id,
            subject: r.subject,
            reason: r.reason,
            voided_by: r.voided_by,
            voided_at: rfc3339_utc(r.voided_at),
            restored_by: r.restored_by,
            restored_at: r.restored_at.map(rfc3339_utc),
            restore_reason: r.restore_reason,
        }
    }
}

/// A void or restore done, with what it touched.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Correction {
    /// The void record (with its restore, after a restore).
    pub record: EventVoidRow,
    /// Parts whose thresholds (consumption) or stock (snapshot) the correction changes.
    pub parts: Vec<String>,
    /// Assets whose MTBF and PM interval the correction changes (failure events).
    pub assets: Vec<String>,
}

impl From<cmms_pipeline::corrections::Correction> for Correction {
    fn from(r: cmms_pipeline::corrections::Correction) -> Self {
        Self { record: r.record.into(), parts: r.parts, assets: r.assets }
    }
}

/// What one run of the stage did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GateRun {
    /// Consumption events newly mapped to a part.
    pub consumption_mapped: u64,
    /// Records (consumption, snapshots, scans) held in quarantine, by SKU.
    pub quarantined: BTreeMap<String, i64>,
    /// Snapshots applied to stock.
    pub snapshots_applied: u64,
    /// Snapshots not newer than the last applied one (duplicate or stale delivery).
    pub snapshots_stale: u64,
    /// Snapshots held for review as implausible.
    pub snapshots_held: u64,
    /// Scans that matched system stock.
    pub scans_matched: u64,
    /// Scans that disagreed (their part's routing is paused).
    pub scans_discrepant: u64,
    /// Parts whose pause a matching count released.
    pub parts_released: u64,
}

impl From<cmms_pipeline::inventory::GateRun> for GateRun {
    fn from(r: cmms_pipeline::inventory::GateRun) -> Self {
        Self {
            consumption_mapped: r.consumption_mapped,
            quarantined: r.quarantined,
            snapshots_applied: r.snapshots_applied,
            snapshots_stale: r.snapshots_stale,
            snapshots_held: r.snapshots_held,
            scans_matched: r.scans_matched,
            scans_discrepant: r.scans_discrepant,
            parts_released: r.parts_released,
        }
    }
}

/// What a completion correction did: the corrected order and the next PM.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PmCorrection {
    /// The corrected order.
    pub corrected: WorkOrderRow,
    /// The PM the completion scheduled, as it is now (absent when there is none).
    pub next: Option<WorkOrderRow>,
    /// True when the next PM's due date was recomputed from the corrected time (it was SCHEDULED
    /// or MATERIAL_PENDING). False when it was already released, started or cancelled: it then
    /// keeps its due date and only records the corrected completion it follows.
    pub next_rescheduled: bool,
}

impl From<cmms_pipeline::pm::Correction> for PmCorrection {
    fn from(r: cmms_pipeline::pm::Correction) -> Self {
        Self { corrected: r.corrected.into(), next: r.next.map(Into::into), next_rescheduled: r.next_rescheduled }
    }
}
