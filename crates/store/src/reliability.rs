//! Reliability feeds (failure-log events, MTBF readings), the formula registry's active version,
//! and computed PM intervals.

use crate::codes::{Flag, NullableCode, PmStatus};
use crate::master::{Reference, StoredRecord};
use crate::rows::{ColType, SqlValue, TableSpec, WriteMode};
use crate::{Store, StoreError};
use cmms_core::feeds::{FailureRecord, MtbfReadingRecord};
use cmms_core::ids::{AssetId, ComponentId, EventId};
use cmms_core::reliability::{Basis, IntervalReason};
use cmms_core::reliability::{FailureEvent, FailureEventType, MtbfReading};
use cmms_core::time::{from_epoch_ms, to_epoch_ms};
use sqlx::{AssertSqlSafe, FromRow};
use std::collections::HashMap;

fn asset_ref(id: &str) -> Reference<'_> {
    Reference { field: "asset_id", table: "assets", column: "asset_id", id, import_hint: "assets" }
}

impl StoredRecord for FailureRecord {
    const SPEC: TableSpec = TableSpec {
        table: "failure_events",
        columns: &[
            ("event_id", ColType::Text),
            ("asset_id", ColType::Text),
            ("event_type", ColType::Text),
            ("started_at", ColType::Int),
            ("ended_at", ColType::Int),
            ("component", ColType::Text),
        ],
        key_len: 1,
        stamp: "received_at",
        mode: WriteMode::FirstWins,
        derived: 0,
    };
    fn to_row(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.event_id.to_string()),
            SqlValue::Text(self.asset_id.to_string()),
            SqlValue::Text(self.event.event_type.as_str().to_owned()),
            SqlValue::Int(to_epoch_ms(self.event.started_at)),
            SqlValue::opt_int(self.event.ended_at.map(to_epoch_ms)),
            SqlValue::opt_text(self.component.as_ref().map(ComponentId::as_str)),
        ]
    }
    fn references(&self) -> Vec<Reference<'_>> {
        vec![asset_ref(self.asset_id.as_str())]
    }
}

impl StoredRecord for MtbfReadingRecord {
    const SPEC: TableSpec = TableSpec {
        table: "mtbf_readings",
        columns: &[("asset_id", ColType::Text), ("observed_at", ColType::Int), ("mtbf_hours", ColType::Real)],
        key_len: 2,
        stamp: "received_at",
        mode: WriteMode::FirstWins,
        derived: 0,
    };
    fn to_row(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.asset_id.to_string()),
            SqlValue::Int(to_epoch_ms(self.reading.observed_at)),
            SqlValue::Real(self.reading.mtbf_hours),
        ]
    }
    fn references(&self) -> Vec<Reference<'_>> {
        vec![asset_ref(self.asset_id.as_str())]
    }
}

/// An asset as the PM calculation needs it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PmAsset {
    /// The asset.
    pub asset_id: String,
    /// Its group (the pool of its life model under `weibull_cost`).
    pub asset_group: String,
    /// Its site's IANA time zone.
    pub timezone: String,
    /// Manufacturer interval, days.
    pub fallback_interval_days: f64,
    /// Last PM completion, epoch ms.
    pub last_completion_at: Option<i64>,
}

/// The `pm_intervals` table: one row per asset, upserted.
const PM_INTERVALS: TableSpec = TableSpec {
    table: "pm_intervals",
    columns: &[
        ("asset_id", ColType::Text),
        ("formula_version", ColType::Int),
        ("status", ColType::Text),
        ("basis", ColType::Text),
        ("reason", ColType::Text),
        ("n_samples", ColType::Int),
        ("n_discarded", ColType::Int),
        ("n_open_planned", ColType::Int),
        ("mean_mtbf_hours", ColType::Real),
        ("cv", ColType::Real),
        ("interval_days", ColType::Real),
        ("last_completion_at", ColType::Int),
        ("next_due_at", ColType::Int),
        ("next_due_local", ColType::Text),
        ("life_component", ColType::Text),
    ],
    key_len: 1,
    stamp: "computed_at",
    mode: WriteMode::Upsert,
    derived: 0,
};

/// The computed PM interval of one asset, as the PM stage stores it in `pm_intervals`.
#[derive(Debug, Clone, PartialEq)]
pub struct PmIntervalWrite {
    /// The asset.
    pub asset_id: String,
    /// Formula version used.
    pub formula_version: i64,
    /// The calculation's result.
    pub status: PmStatus,
    /// Where the interval came from.
    pub basis: Basis,
    /// Why the fallback was used, or why no time-based PM is recommended.
    pub reason: Option<IntervalReason>,
    /// Valid samples.
    pub n_samples: i64,
    /// Discarded samples.
    pub n_discarded: i64,
    /// Planned downtime still open at the end of the history.
    pub n_open_planned: i64,
    /// Mean MTBF, hours.
    pub mean_mtbf_hours: Option<f64>,
    /// Coefficient of variation.
    pub cv: Option<f64>,
    /// Interval, days (`None`: no time-based PM).
    pub interval_days: Option<f64>,
    /// The completion the due date follows, epoch ms.
    pub last_completion_at: Option<i64>,
    /// Next due date, epoch ms.
    pub next_due_at: Option<i64>,
    /// Next due date, local time with offset.
    pub next_due_local: Option<String>,
    /// Under `weibull_cost`, the component whose decision sets the interval (`""` = the asset as
    /// a whole; its row in `pm_life_models`).
    pub life_component: Option<String>,
}

impl PmIntervalWrite {
    /// The row in [`PM_INTERVALS`] column order.
    fn into_row(self) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.asset_id),
            SqlValue::Int(self.formula_version),
            SqlValue::Text(self.status.as_str().to_owned()),
            SqlValue::Text(self.basis.as_str().to_owned()),
            SqlValue::opt_text(self.reason.map(IntervalReason::code)),
            SqlValue::Int(self.n_samples),
            SqlValue::Int(self.n_discarded),
            SqlValue::Int(self.n_open_planned),
            SqlValue::opt_real(self.mean_mtbf_hours),
            SqlValue::opt_real(self.cv),
            SqlValue::opt_real(self.interval_days),
            SqlValue::opt_int(self.last_completion_at),
            SqlValue::opt_int(self.next_due_at),
            SqlValue::opt_text(self.next_due_local.as_deref()),
            SqlValue::opt_text(self.life_component.as_deref()),
        ]
    }
}

/// The `pm_life_models` table: one row per asset and component under `weibull_cost`.
const PM_LIFE_MODELS: TableSpec = TableSpec {
    table: "pm_life_models",
    columns: &[
        ("asset_id", ColType::Text),
        ("component", ColType::Text),
        ("formula_version", ColType::Int),
        ("basis", ColType::Text),
        ("reason", ColType::Text),
        ("life_source", ColType::Text),
        ("lives", ColType::Int),
        ("failures", ColType::Int),
        ("suspensions", ColType::Int),
        ("zero_length_dropped", ColType::Int),
        ("exp_mtbf_hours", ColType::Real),
        ("beta", ColType::Real),
        ("beta_lower", ColType::Real),
        ("beta_upper", ColType::Real),
        ("alpha_hours", ColType::Real),
        ("mean_life_hours", ColType::Real),
        ("b10_hours", ColType::Real),
        ("t_star_hours", ColType::Real),
        ("seed_interval_days", ColType::Real),
        ("interval_days", ColType::Real),
        ("failure_cost", ColType::Real),
        ("pm_cost", ColType::Real),
        ("cost_rate", ColType::Real),
        ("cost_rate_seed", ColType::Real),
    ],
    key_len: 2,
    stamp: "computed_at",
    mode: WriteMode::Upsert,
    derived: 0,
};

/// The columns of a `pm_life_models` row after its key, as the query of [`LifeModelRow`] and the
/// joined columns of [`PmIntervalRow`] read them (a macro, for `concat!`).
macro_rules! life_model_columns {
    () => {
        "m.component, m.basis AS life_basis, m.reason AS life_reason, m.life_source, \
     m.lives, m.failures, m.suspensions, m.zero_length_dropped, m.exp_mtbf_hours, m.beta, m.beta_lower, \
     m.beta_upper, m.alpha_hours, m.mean_life_hours, m.b10_hours, m.t_star_hours, m.seed_interval_days, \
     m.interval_days AS life_interval_days, m.failure_cost, m.pm_cost, m.cost_rate, m.cost_rate_seed"
    };
}

/// One asset's (or asset component's) `weibull_cost` decision, as the PM stage stores it in
/// `pm_life_models` (docs/contract.md#life-models-and-weibull_cost).
#[derive(Debug, Clone, PartialEq)]
pub struct LifeModelWrite {
    /// The asset.
    pub asset_id: String,
    /// The component (`""`: the asset as a whole).
    pub component: String,
    /// Formula version used.
    pub formula_version: i64,
    /// The decision on the fitted lives.
    pub decision: cmms_core::life::UnitDecision,
    /// The unit's own lives (the fit's figures are its pool's when pooled).
    pub lives: i64,
    /// Zero-length lives dropped from its own lives.
    pub zero_length_dropped: i64,
    /// The `mtbf_fraction` interval it is compared with, days.
    pub seed_interval_days: f64,
    /// Failure cost and PM cost used.
    pub costs: (f64, f64),
}

impl LifeModelWrite {
    /// The row in [`PM_LIFE_MODELS`] column order.
    fn into_row(self) -> Vec<SqlValue> {
        let u = self.decision;
        let d = u.decision;
        let fit = d.weibull;
        let reason = d.reason.map(cmms_core::life::NoPmReason::code);
        vec![
            SqlValue::Text(self.asset_id),
            SqlValue::Text(self.component),
            SqlValue::Int(self.formula_version),
            SqlValue::Text(Basis::from(u.basis).as_str().to_owned()),
            SqlValue::opt_text(reason),
            SqlValue::Text(u.source.as_str().to_owned()),
            SqlValue::Int(self.lives),
            SqlValue::Int(d.exponential.failures as i64),
            SqlValue::Int(fit.map_or(0, |f| f.suspensions as i64)),
            SqlValue::Int(self.zero_length_dropped),
            SqlValue::opt_real(d.exponential.mtbf_hours),
            SqlValue::opt_real(fit.map(|f| f.model.shape)),
            SqlValue::opt_real(fit.map(|f| f.shape_lr.0)),
            SqlValue::opt_real(fit.map(|f| f.shape_lr.1)),
            SqlValue::opt_real(fit.map(|f| f.model.scale)),
            SqlValue::opt_real(fit.map(|f| f.model.mean())),
            SqlValue::opt_real(fit.map(|f| f.model.b_life(0.1))),
            SqlValue::opt_real(d.optimal_age_hours),
            SqlValue::Real(self.seed_interval_days),
            SqlValue::opt_real(u.interval_days),
            SqlValue::Real(self.costs.0),
            SqlValue::Real(self.costs.1),
            SqlValue::opt_real(d.cost_rate_recommended),
            SqlValue::opt_real(d.cost_rate_seed),
        ]
    }
}

/// A stored `weibull_cost` decision of one asset or asset component. Every field is optional so
/// the same columns can be joined onto [`PmIntervalRow`] (absent under `mtbf_fraction`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct LifeModelRow {
    /// The component (`""`: the asset as a whole).
    pub component: Option<String>,
    /// `WEIBULL` or `RUN_TO_FAILURE`.
    #[sqlx(try_from = "NullableCode")]
    pub life_basis: Option<Basis>,
    /// Why no time-based PM ([`cmms_core::life::NoPmReason`] code).
    #[sqlx(try_from = "NullableCode")]
    pub life_reason: Option<cmms_core::life::NoPmReason>,
    /// `OWN` or `POOLED`.
    #[sqlx(try_from = "NullableCode")]
    pub life_source: Option<cmms_core::life::LifeSource>,
    /// The unit's own lives.
    pub lives: Option<i64>,
    /// Failures of the lives fitted (the pool's when pooled).
    pub failures: Option<i64>,
    /// Suspensions of the lives fitted.
    pub suspensions: Option<i64>,
    /// Zero-length lives dropped from the unit's own lives.
    pub zero_length_dropped: Option<i64>,
    /// Exponential MTBF with censoring (exposure / failures), hours.
    pub exp_mtbf_hours: Option<f64>,
    /// Weibull shape β.
    pub beta: Option<f64>,
    /// Lower likelihood-ratio bound on β.
    pub beta_lower: Option<f64>,
    /// Upper likelihood-ratio bound on β.
    pub beta_upper: Option<f64>,
    /// Weibull scale α (η), hours.
    pub alpha_hours: Option<f64>,
    /// Mean life `α·Γ(1+1/β)`, hours.
    pub mean_life_hours: Option<f64>,
    /// B10 life, hours.
    pub b10_hours: Option<f64>,
    /// Cost-optimal replacement age `T*`, hours (before slack and clamping).
    pub t_star_hours: Option<f64>,
    /// The `mtbf_fraction` interval compared with, days.
    pub seed_interval_days: Option<f64>,
    /// The unit's recommended interval, days (`None`: no time-based PM).
    pub life_interval_days: Option<f64>,
    /// Failure cost used.
    pub failure_cost: Option<f64>,
    /// PM cost used.
    pub pm_cost: Option<f64>,
    /// Expected cost rate under the recommendation, per hour.
    pub cost_rate: Option<f64>,
    /// Expected cost rate under the seed interval, per hour.
    pub cost_rate_seed: Option<f64>,
}

/// A stored formula registry version (immutable).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct FormulaVersionRow {
    /// Version id (increasing).
    pub version_id: i64,
    /// SHA-256 of the canonical parameters.
    pub content_hash: String,
    /// Where it came from (file name, or "built-in defaults").
    pub label: Option<String>,
    /// Stored at, epoch ms.
    pub created_at: i64,
    /// Whether calculations use it now.
    #[sqlx(try_from = "Flag")]
    pub active: bool,
}

/// The query of [`PmIntervalRow`] rows, to be completed with `WHERE` / `ORDER BY` on `p` or `a`.
pub(crate) const PM_INTERVAL: &str = concat!(
    "SELECT p.asset_id, a.asset_group, a.site_id, p.status, p.basis, p.reason, p.n_samples, p.n_discarded, \
     p.mean_mtbf_hours, p.cv, p.interval_days, p.next_due_local, p.next_due_at, p.formula_version, \
     p.last_completion_at, ",
    life_model_columns!(),
    " FROM pm_intervals p JOIN assets a ON a.asset_id = p.asset_id \
     LEFT JOIN pm_life_models m ON m.asset_id = p.asset_id AND m.component = p.life_component"
);

/// A stored PM interval with its asset (for reports and exports).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct PmIntervalRow {
    /// The asset.
    pub asset_id: String,
    /// Its group.
    pub asset_group: String,
    /// Its site.
    pub site_id: String,
    /// `OK`, `NO_LAST_COMPLETION`, `NOT_MONOTONIC`, `NO_TIME_BASED_PM` …
    #[sqlx(try_from = "String")]
    pub status: PmStatus,
    /// `MTBF`, `FALLBACK`, `WEIBULL` or `RUN_TO_FAILURE`.
    #[sqlx(try_from = "NullableCode")]
    pub basis: Option<Basis>,
    /// Fallback reason, or why no time-based PM.
    #[sqlx(try_from = "NullableCode")]
    pub reason: Option<IntervalReason>,
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
    /// Next due date, epoch ms.
    pub next_due_at: Option<i64>,
    /// Formula version used.
    pub formula_version: i64,
    /// The completion the due date follows, epoch ms.
    pub last_completion_at: Option<i64>,
    /// Under `weibull_cost`, the decision that sets the interval (all `None` otherwise).
    #[sqlx(flatten)]
    pub life: LifeModelRow,
}

impl Store {
    /// The active formula registry version `(id, content)`, if any was stored.
    pub async fn active_formulas(&self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT version_id, content FROM formula_versions WHERE active = 1 ORDER BY version_id DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?)
    }

    /// Stores a formula version (immutable; the same content hash is stored once) and makes it
    /// the active one. Returns its id.
    pub async fn activate_formulas(
        &self,
        content: &str,
        hash: &str,
        label: &str,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO formula_versions (content_hash, content, label, created_at, active) VALUES ($1, $2, $3, $4, 0) \
             ON CONFLICT (content_hash) DO NOTHING",
        )
        .bind(hash)
        .bind(content)
        .bind(label)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar("SELECT version_id FROM formula_versions WHERE content_hash = $1")
            .bind(hash)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("UPDATE formula_versions SET active = CASE WHEN version_id = $1 THEN 1 ELSE 0 END")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every stored formula version, oldest first.
    pub async fn formula_versions(&self) -> Result<Vec<FormulaVersionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT version_id, content_hash, label, created_at, active FROM formula_versions ORDER BY version_id",
        )
        .fetch_all(self.writer())
        .await?)
    }

    /// The content of one formula version.
    pub async fn formula_content(&self, version_id: i64) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT content FROM formula_versions WHERE version_id = $1")
            .bind(version_id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Every asset with its site's time zone, ordered by id.
    pub async fn pm_assets(&self) -> Result<Vec<PmAsset>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT a.asset_id, a.asset_group, s.timezone, a.fallback_interval_days, a.last_completion_at \
             FROM assets a JOIN sites s ON s.site_id = a.site_id ORDER BY a.asset_id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// The failure logs of `asset_ids`, each sorted by start (then event id, for determinism).
    pub async fn failure_histories(
        &self,
        asset_ids: &[String],
    ) -> Result<HashMap<String, Vec<FailureRecord>>, StoreError> {
        let mut out: HashMap<String, Vec<FailureRecord>> = HashMap::new();
        for chunk in asset_ids.chunks(1000) {
            let sql = format!(
                "SELECT asset_id, event_id, event_type, started_at, ended_at, component FROM failure_events \
                 WHERE asset_id IN ({}) AND voided = 0 ORDER BY asset_id, started_at, event_id",
                list(self, chunk.len())
            );
            // The hottest read of the PM stage (every failure event of every asset): the rows are
            // fetched first and decoded afterwards, so the SQLite worker thread streams them
            // without waiting on the decoding (decoding inside the stream doubled the hand-offs).
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for row in q.fetch_all(self.pool()).await? {
                let (asset_id, event_id, event_type, started_at, ended_at, component) = FailureRow::from_row(&row)?;
                let event = FailureEvent {
                    event_type: event_type.parse().map_err(|e| StoreError::invalid("failure_events.event_type", e))?,
                    started_at: from_epoch_ms(started_at),
                    ended_at: ended_at.map(from_epoch_ms),
                };
                let record = FailureRecord {
                    event_id: EventId::parse(&event_id)
                        .map_err(|e| StoreError::invalid("failure_events.event_id", e))?,
                    asset_id: AssetId::parse(&asset_id)
                        .map_err(|e| StoreError::invalid("failure_events.asset_id", e))?,
                    component: component
                        .map(|c| ComponentId::parse(&c))
                        .transpose()
                        .map_err(|e| StoreError::invalid("failure_events.component", e))?,
                    event,
                };
                out.entry(asset_id).or_default().push(record);
            }
        }
        Ok(out)
    }

    /// The failure logs of `asset_ids` as the PM calculation reads them: per asset (by position
    /// in `asset_ids`) its events sorted by start (then event id), each with its component. The
    /// hot read of `recompute` (every failure event of every asset): the database packs each
    /// asset's log into one text (`code,started_at,ended_at,component` per event, `;` between
    /// events), so the driver hands over one row per asset instead of one per event — per-row
    /// overhead of the driver was most of the PM stage's time. A log of more than
    /// [`PACKED_EVENTS_MAX`] events is read row by row (a packed text has a size limit). Only
    /// events of the types in `kinds` are read (the MTBF calculation ignores some).
    pub async fn failure_logs(
        &self,
        asset_ids: &[String],
        kinds: &[FailureEventType],
    ) -> Result<Vec<Vec<LoggedEvent>>, StoreError> {
        self.failure_logs_packing_at_most(asset_ids, kinds, PACKED_EVENTS_MAX).await
    }

    /// [`Store::failure_logs`], packing only logs of at most `max_packed` events (tests compare
    /// both ways of reading).
    #[doc(hidden)]
    pub async fn failure_logs_packing_at_most(
        &self,
        asset_ids: &[String],
        kinds: &[FailureEventType],
        max_packed: i64,
    ) -> Result<Vec<Vec<LoggedEvent>>, StoreError> {
        let mut out: Vec<Vec<LoggedEvent>> = vec![Vec::new(); asset_ids.len()];
        if kinds.is_empty() {
            return Ok(out);
        }
        let codes: String =
            FailureEventType::ALL.iter().enumerate().map(|(i, k)| format!(" WHEN '{}' THEN {i}", k.as_str())).collect();
        // The names are the enum's own constants, not input: safe to write into the statement.
        let only: String = if FailureEventType::ALL.iter().all(|k| kinds.contains(k)) {
            String::new()
        } else {
            let names: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.as_str())).collect();
            format!(" AND event_type IN ({})", names.join(", "))
        };
        let one_log = format!(
            "SELECT CAST(CASE event_type{codes} ELSE -1 END AS BIGINT), started_at, ended_at, component \
             FROM failure_events WHERE asset_id = $1 AND voided = 0{only} ORDER BY started_at, event_id"
        );
        for (c, chunk) in asset_ids.chunks(1000).enumerate() {
            // Counted from the index alone (voided events included: an upper bound); only the
            // long logs come back.
            let n = chunk.len();
            let sql = format!(
                "SELECT asset_id FROM failure_events WHERE asset_id IN ({}) GROUP BY asset_id HAVING count(*) > {}",
                list(self, n),
                crate::rows::placeholder(self.backend(), n + 1)
            );
            let mut q = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.as_str());
            }
            let long: std::collections::HashSet<String> =
                q.bind(max_packed).fetch_all(self.pool()).await?.into_iter().collect();
            // Each id with its position: the rows name their asset by number, not by text.
            let packed: Vec<(usize, &String)> = chunk
                .iter()
                .enumerate()
                .map(|(i, id)| (c * 1000 + i, id))
                .filter(|(_, id)| !long.contains(*id))
                .collect();
            if !packed.is_empty() {
                let values: Vec<String> = (0..packed.len())
                    .map(|i| format!("({}, {})", crate::rows::placeholder(self.backend(), i + 1), packed[i].0))
                    .collect();
                // string_agg with ORDER BY and concat_ws: SQLite 3.44+ and PostgreSQL alike. One
                // concat_ws builds each event's text at once (a tenth faster than chained `||`);
                // no argument is NULL, so no field is skipped.
                let sql = format!(
                    "SELECT CAST(v.column2 AS BIGINT), count(*), string_agg(concat_ws(',', CASE f.event_type{codes} ELSE -1 END, \
                     f.started_at, coalesce(f.ended_at || '', ''), coalesce(f.component, '')), ';' \
                     ORDER BY f.started_at, f.event_id) \
                     FROM failure_events f JOIN (VALUES {}) v ON v.column1 = f.asset_id \
                     WHERE f.voided = 0{only} GROUP BY v.column2",
                    values.join(", ")
                );
                let mut q = sqlx::query_as::<_, (i64, i64, String)>(AssertSqlSafe(sql));
                for (_, id) in &packed {
                    q = q.bind(id.as_str());
                }
                for (at, count, text) in q.fetch_all(self.pool()).await? {
                    let log = usize::try_from(at).ok().and_then(|a| out.get_mut(a));
                    let log = log.ok_or_else(|| StoreError::invalid("failure log position", at))?;
                    *log = unpack_log(&text, count)?;
                }
            }
            for (i, id) in chunk.iter().enumerate().filter(|(_, id)| long.contains(*id)) {
                let rows = sqlx::query_as::<_, (i64, i64, Option<i64>, Option<String>)>(AssertSqlSafe(one_log.clone()))
                    .bind(id.as_str())
                    .fetch_all(self.pool())
                    .await?;
                out[c * 1000 + i] = rows
                    .into_iter()
                    .map(|(kind, started_at, ended_at, component)| {
                        logged_event(kind, started_at, ended_at, component.as_deref().filter(|c| !c.is_empty()))
                    })
                    .collect::<Result<_, _>>()?;
            }
        }
        Ok(out)
    }

    /// The MTBF readings of `asset_ids`.
    pub async fn mtbf_readings(&self, asset_ids: &[String]) -> Result<HashMap<String, Vec<MtbfReading>>, StoreError> {
        let mut out: HashMap<String, Vec<MtbfReading>> = HashMap::new();
        for chunk in asset_ids.chunks(1000) {
            let sql = format!(
                "SELECT asset_id, mtbf_hours, observed_at FROM mtbf_readings WHERE asset_id IN ({}) ORDER BY asset_id, observed_at",
                list(self, chunk.len())
            );
            let mut q = sqlx::query_as::<_, MtbfRow>(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for r in q.fetch_all(self.pool()).await? {
                let reading = MtbfReading { mtbf_hours: r.mtbf_hours, observed_at: from_epoch_ms(r.observed_at) };
                out.entry(r.asset_id).or_default().push(reading);
            }
        }
        Ok(out)
    }

    /// Stores computed PM intervals (one multi-row upsert per batch; an unchanged row is not
    /// written).
    pub async fn store_pm_intervals(
        &self,
        rows: Vec<PmIntervalWrite>,
        now_ms: i64,
    ) -> Result<crate::UpsertCounts, StoreError> {
        let rows = rows.into_iter().map(PmIntervalWrite::into_row).collect();
        Ok(self.upsert_batch(&PM_INTERVALS, rows, now_ms).await?.0)
    }

    /// Stores `weibull_cost` decisions (an unchanged row is not written) and removes the other
    /// components' rows of the same assets.
    pub async fn store_life_models(
        &self,
        rows: Vec<LifeModelWrite>,
        now_ms: i64,
    ) -> Result<crate::UpsertCounts, StoreError> {
        let mut keep: HashMap<String, Vec<String>> = HashMap::new();
        for r in &rows {
            keep.entry(r.asset_id.clone()).or_default().push(r.component.clone());
        }
        let rows = rows.into_iter().map(LifeModelWrite::into_row).collect();
        let counts = self.upsert_batch(&PM_LIFE_MODELS, rows, now_ms).await?.0;
        let stale: Vec<(String, String)> = {
            let ids: Vec<String> = keep.keys().cloned().collect();
            let mut stale = Vec::new();
            for chunk in ids.chunks(1000) {
                let sql = format!(
                    "SELECT asset_id, component FROM pm_life_models WHERE asset_id IN ({})",
                    list(self, chunk.len())
                );
                let mut q = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                stale.extend(q.fetch_all(self.pool()).await?.into_iter().filter(|(a, c)| !keep[a].contains(c)));
            }
            stale
        };
        for (asset_id, component) in stale {
            sqlx::query("DELETE FROM pm_life_models WHERE asset_id = $1 AND component = $2")
                .bind(asset_id)
                .bind(component)
                .execute(self.writer())
                .await?;
        }
        Ok(counts)
    }

    /// Removes every stored `weibull_cost` decision (the registry went back to `mtbf_fraction`).
    pub async fn clear_life_models(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM pm_life_models").execute(self.writer()).await?.rows_affected())
    }

    /// Every stored `weibull_cost` decision of one asset, by component.
    pub async fn life_models(&self, asset_id: &str) -> Result<Vec<LifeModelRow>, StoreError> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {} FROM pm_life_models m WHERE m.asset_id = $1 ORDER BY m.component",
            life_model_columns!()
        )))
        .bind(asset_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The completion times (epoch ms) of the completed work orders of `asset_ids`, sorted.
    pub async fn pm_completions(&self, asset_ids: &[String]) -> Result<HashMap<String, Vec<i64>>, StoreError> {
        let mut out: HashMap<String, Vec<i64>> = HashMap::new();
        for chunk in asset_ids.chunks(1000) {
            let sql = format!(
                "SELECT asset_id, completed_at FROM work_orders WHERE asset_id IN ({}) AND completed_at IS NOT NULL \
                 ORDER BY asset_id, completed_at",
                list(self, chunk.len())
            );
            let mut q = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for (asset_id, at) in q.fetch_all(self.pool()).await? {
                out.entry(asset_id).or_default().push(at);
            }
        }
        Ok(out)
    }

    /// The PM interval in force for an asset: the computed one, else its manufacturer interval.
    /// `None` for an unknown asset.
    pub async fn current_interval_days(&self, asset_id: &str) -> Result<Option<f64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(p.interval_days, a.fallback_interval_days) FROM assets a \
             LEFT JOIN pm_intervals p ON p.asset_id = a.asset_id WHERE a.asset_id = $1",
        )
        .bind(asset_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Stored PM intervals with their assets, ordered by asset.
    pub async fn pm_intervals(&self) -> Result<Vec<PmIntervalRow>, StoreError> {
        self.pm_intervals_page(None, i64::MAX).await
    }

    /// At most `limit` of [`Store::pm_intervals`] after the asset `after`.
    pub async fn pm_intervals_page(&self, after: Option<&str>, limit: i64) -> Result<Vec<PmIntervalRow>, StoreError> {
        Ok(sqlx::query_as(AssertSqlSafe(format!("{PM_INTERVAL} WHERE p.asset_id > $1 ORDER BY p.asset_id LIMIT $2")))
            // Asset ids are never empty: "" is before every one.
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }
}

/// A stored failure-log event: asset, event id, event type code, started at, ended at (epoch ms).
type FailureRow = (String, String, String, i64, Option<i64>, Option<String>);

/// One asset's failure log from the text [`Store::failure_logs`] has the database pack: `count`
/// events of `code,started_at,ended_at,component`, separated by `;` (a component is an
/// identifier, which holds neither separator; a stored value that does is refused).
fn unpack_log(packed: &str, count: i64) -> Result<Vec<LoggedEvent>, StoreError> {
    let bad = |what: &str| StoreError::invalid("failure_events", format!("{what} in a packed failure log"));
    let mut log = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for record in packed.split(';') {
        let mut fields = record.split(',');
        let (Some(kind), Some(started_at), Some(ended_at), Some(component), None) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("an event without exactly four fields"));
        };
        let instant = |s: &str| s.parse::<i64>().map_err(|_| bad("an instant that is not a number"));
        let ended_at = if ended_at.is_empty() { None } else { Some(instant(ended_at)?) };
        let component = Some(component).filter(|c| !c.is_empty());
        let kind = kind.parse::<i64>().map_err(|_| bad("an event type code that is not a number"))?;
        log.push(logged_event(kind, instant(started_at)?, ended_at, component)?);
    }
    if log.len() as i64 != count {
        return Err(bad("another number of events than the log holds"));
    }
    Ok(log)
}

/// Events per asset above which [`Store::failure_logs`] reads the log row by row: SQLite refuses
/// a text over 1 GB, and a packed event takes about 25 bytes.
pub const PACKED_EVENTS_MAX: i64 = 1_000_000;

/// One event of a stored failure log: the event type's index in [`FailureEventType::ALL`], start
/// and end (epoch ms), and the component (`None`: the asset as a whole).
fn logged_event(
    kind: i64,
    started_at: i64,
    ended_at: Option<i64>,
    component: Option<&str>,
) -> Result<LoggedEvent, StoreError> {
    let event_type = usize::try_from(kind)
        .ok()
        .and_then(|k| FailureEventType::ALL.get(k).copied())
        .ok_or_else(|| StoreError::invalid("failure_events.event_type", format!("unknown code {kind}")))?;
    let event =
        FailureEvent { event_type, started_at: from_epoch_ms(started_at), ended_at: ended_at.map(from_epoch_ms) };
    let component = component
        .map(ComponentId::parse)
        .transpose()
        .map_err(|e| StoreError::invalid("failure_events.component", e))?;
    Ok(LoggedEvent { event, component })
}

/// One event of a failure log as [`Store::failure_logs`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    /// The event.
    pub event: FailureEvent,
    /// The component it was about (`None`: the asset as a whole).
    pub component: Option<ComponentId>,
}

/// A stored MTBF reading.
#[derive(sqlx::FromRow)]
struct MtbfRow {
    asset_id: String,
    mtbf_hours: f64,
    observed_at: i64,
}

/// `$1, $2, …` (PostgreSQL) or `?, ?, …` (SQLite) for an IN list.
pub(crate) fn list(store: &Store, n: usize) -> String {
    crate::rows::placeholders(store.backend(), n, 1, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_logs_unpack_to_their_events_and_refuse_what_does_not_fit() {
        let log = unpack_log("0,1000,2000,bearing;1,3000,,", 2).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].event.event_type, FailureEventType::ALL[0]);
        assert_eq!(log[0].event.ended_at, Some(from_epoch_ms(2000)));
        assert_eq!(log[0].component.as_ref().map(|c| c.as_str()), Some("bearing"));
        assert_eq!(
            (log[1].event.started_at, log[1].event.ended_at, &log[1].component),
            (from_epoch_ms(3000), None, &None)
        );
        for (packed, count) in [
            ("0,1000,2000,bearing", 2),
            ("0,1000,2000", 1),
            ("0,1000,2000,a,b", 1),
            ("9,1000,,", 1),
            ("0,x,,", 1),
            ("0,1000,,bad id!", 1),
        ] {
            assert!(unpack_log(packed, count).is_err(), "{packed}");
        }
    }
}
