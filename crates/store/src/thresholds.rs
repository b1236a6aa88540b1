//! Threshold inputs (parts with their consumption in the window), the thresholds in force per
//! part, their history, and operator approval.

use crate::codes::ThresholdBasis;
pub use crate::received::{Received, ReceivedThresholds};
pub use crate::threshold_history::ThresholdHistoryRow;
use crate::{Store, StoreError};
use std::collections::{HashMap, HashSet};

/// What the calculation needs of one part.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdInput {
    /// The part.
    pub part_id: String,
    /// Its site.
    pub site_id: String,
    /// Its class (formula overrides).
    pub part_class: String,
    /// Supplier lead time, days.
    pub lead_time_days: f64,
    /// Baseline limits from the part master.
    pub baseline: [Option<f64>; 3],
    /// Unit of measure (discrete units get whole-unit thresholds).
    pub unit: String,
    /// Units per pack (order multiple), if any.
    pub pack_size: Option<f64>,
    /// Minimum order quantity, if any.
    pub min_order_qty: Option<f64>,
    /// Units consumed in the window, in whole micro-units: an exact sum, or `None` when the stored
    /// quantities cannot be summed exactly (2⁵³ micro-units or more, about 9·10⁹ units, which only
    /// implausible values stored before the plausible range was enforced reach).
    pub consumed_in_window_micros: Option<i128>,
    /// Whether any mapped consumption exists before `as_of`.
    pub has_history: bool,
}

/// The thresholds in force for a part.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CurrentThreshold {
    /// The part.
    pub part_id: String,
    /// Published limits `[min, reorder, max]`.
    pub published: [f64; 3],
    /// Computed limits (equal to published unless drift chose the fallback).
    pub computed: Option<[f64; 3]>,
    /// `COMPUTED`, `APPROVED`, `FALLBACK` or `RECEIVED`.
    pub basis: ThresholdBasis,
    /// Computed limits an operator approved despite drift.
    pub approved: Option<[f64; 3]>,
    /// Publication sequence, +1 on every change.
    pub sequence_id: i64,
    /// Formula version of the computation.
    pub formula_version: Option<i64>,
}

/// A part whose latest threshold calculation failed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThresholdErrorRow {
    /// The part.
    pub part_id: String,
    /// The status code (`NO_HISTORY`, `INVALID_INPUT`, `IMPLAUSIBLE_CONSUMPTION` …).
    pub code: String,
    /// The reason in words, when the calculation recorded one.
    pub reason: Option<String>,
}

/// One change of a part's thresholds, to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdChange {
    /// The part.
    pub part_id: String,
    /// Formula version used.
    pub formula_version: i64,
    /// Computation instant, epoch ms.
    pub as_of: i64,
    /// `OK` or the error code.
    pub status: String,
    /// Average daily usage.
    pub avg_daily_usage: Option<f64>,
    /// Computed limits.
    pub computed: Option<[f64; 3]>,
    /// Published limits (`None` when the calculation failed: the previous ones stay in force).
    pub published: Option<[f64; 3]>,
    /// `COMPUTED`, `APPROVED`, `FALLBACK` or `NONE`.
    pub basis: ThresholdBasis,
    /// The inputs, as JSON.
    pub inputs: String,
    /// Publication sequence of this change: the previous one + 1 when limits are published
    /// (the caller holds the thresholds in force; one recompute writes at a time).
    pub sequence_id: i64,
    /// The method that computed the limits (`None` for errors; `moving_average` for the seed).
    pub method: Option<String>,
    /// The part's demand class, when a demand-driven method computed it.
    pub demand_class: Option<String>,
}

/// A change of a part's thresholds in force to announce to the publication targets (see
/// [`Store::with_publication`]): the pipeline decides which changes are announced and hands them to
/// [`Store::store_threshold_changes`], which writes them with the changes in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    /// The part.
    pub part_id: String,
    /// The publication sequence of the change.
    pub sequence_id: i64,
    /// The limits now in force, `[min, reorder, max]`.
    pub limits: [f64; 3],
}

/// What a completed threshold recompute covered: the formula version and the window
/// `[window_start, as_of)`, epoch ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct ThresholdWatermark {
    /// Formula version used.
    pub formula_version: i64,
    /// Start of the window, epoch ms.
    pub window_start: i64,
    /// The computation instant (end of the window), epoch ms.
    pub as_of: i64,
}

/// A part with its consumption aggregates, as [`Store::threshold_inputs`] reads it.
#[derive(sqlx::FromRow)]
struct InputRow {
    part_id: String,
    site_id: String,
    part_class: String,
    lead_time_days: f64,
    baseline_min: Option<f64>,
    baseline_reorder: Option<f64>,
    baseline_max: Option<f64>,
    unit: String,
    pack_size: Option<f64>,
    min_order_qty: Option<f64>,
    in_window: Option<f64>,
    n_before: Option<i64>,
}

impl From<InputRow> for ThresholdInput {
    fn from(r: InputRow) -> ThresholdInput {
        ThresholdInput {
            part_id: r.part_id,
            site_id: r.site_id,
            part_class: r.part_class,
            lead_time_days: r.lead_time_days,
            baseline: [r.baseline_min, r.baseline_reorder, r.baseline_max],
            unit: r.unit,
            pack_size: r.pack_size,
            min_order_qty: r.min_order_qty,
            consumed_in_window_micros: match r.in_window.unwrap_or(0.0) {
                total if (0.0..EXACT_MICROS).contains(&total) => Some(total as i128),
                _ => None,
            },
            has_history: r.n_before.unwrap_or(0) > 0,
        }
    }
}

/// A row of `current_thresholds`.
#[derive(sqlx::FromRow)]
struct CurrentRow {
    part_id: String,
    min_qty: f64,
    reorder_qty: f64,
    max_qty: f64,
    computed_min: Option<f64>,
    computed_reorder: Option<f64>,
    computed_max: Option<f64>,
    #[sqlx(try_from = "String")]
    basis: ThresholdBasis,
    approved_min: Option<f64>,
    approved_reorder: Option<f64>,
    approved_max: Option<f64>,
    sequence_id: i64,
    formula_version: Option<i64>,
}

impl From<CurrentRow> for CurrentThreshold {
    fn from(r: CurrentRow) -> CurrentThreshold {
        CurrentThreshold {
            part_id: r.part_id,
            published: [r.min_qty, r.reorder_qty, r.max_qty],
            computed: triple(r.computed_min, r.computed_reorder, r.computed_max),
            basis: r.basis,
            approved: triple(r.approved_min, r.approved_reorder, r.approved_max),
            sequence_id: r.sequence_id,
            formula_version: r.formula_version,
        }
    }
}

/// The latest failed calculation of a part.
#[derive(sqlx::FromRow)]
struct ErrorRow {
    part_id: String,
    status: String,
    inputs: String,
}

/// The reason a failed calculation recorded in its inputs document (`{"error": …}`).
pub(crate) fn error_reason(inputs: Option<&str>) -> Option<String> {
    let inputs: serde_json::Value = serde_json::from_str(inputs?).ok()?;
    inputs.get("error")?.as_str().map(str::to_owned)
}

pub(crate) fn triple(a: Option<f64>, b: Option<f64>, c: Option<f64>) -> Option<[f64; 3]> {
    match (a, b, c) {
        (Some(a), Some(b), Some(c)) => Some([a, b, c]),
        _ => None,
    }
}

/// The largest micro-unit total a double holds exactly (2⁵³): a window sum at or above it cannot
/// be exact, which only implausible values stored by an older version reach.
const EXACT_MICROS: f64 = 9_007_199_254_740_992.0;

/// The aggregate columns of [`threshold_input`] over `consumption`, with `window_start` the SQL
/// text of the window's first instant: the window's sum in whole micro-units, and the count of
/// events before `as_of`. Each stored quantity is a whole number of micro-units (see
/// `cmms_core::quantity`); it is brought back to that integer per event and the integers are summed
/// in a double, exact and order-independent below 2⁵³. SQLite: `CAST(x + 0.5)` truncates (cheaper
/// than `ROUND`, and the same for non-negative values), `TOTAL` never raises an overflow;
/// PostgreSQL: `ROUND` of a value capped at 10¹² units (a product beyond the double range would be
/// an error there, not infinity; the cap is still far above the exact range, so it is flagged).
fn usage_columns(backend: crate::Backend, window_start: &str) -> String {
    let micros = cmms_core::quantity::MICROS_PER_UNIT;
    match backend {
        crate::Backend::Sqlite => format!(
            "TOTAL(CASE WHEN consumed_at >= {window_start} THEN CAST(quantity * {micros} + 0.5 AS INTEGER) END) \
             AS in_window, COUNT(*) AS n_before"
        ),
        crate::Backend::Postgres => format!(
            "SUM(CASE WHEN consumed_at >= {window_start} THEN ROUND(LEAST(quantity, 1e12) * {micros}) END) AS in_window, \
             COUNT(*) AS n_before"
        ),
    }
}

impl Store {
    /// Every part with its consumption in `[window_start_ms, as_of_ms)` and whether it has any
    /// mapped consumption before `as_of_ms`, ordered by part.
    pub async fn threshold_inputs(
        &self,
        window_start_ms: i64,
        as_of_ms: i64,
    ) -> Result<Vec<ThresholdInput>, StoreError> {
        let sql = format!(
            "SELECT p.part_id, p.site_id, p.part_class, p.lead_time_days, p.baseline_min, p.baseline_reorder, \
             p.baseline_max, p.unit, p.pack_size, p.min_order_qty, c.in_window, c.n_before FROM parts p LEFT JOIN ( \
               SELECT part_id, {} \
               FROM consumption WHERE part_id IS NOT NULL AND consumed_at < $2 AND voided = 0 GROUP BY part_id \
             ) c ON c.part_id = p.part_id ORDER BY p.part_id",
            usage_columns(self.backend(), "$1")
        );
        let rows: Vec<InputRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(window_start_ms)
            .bind(as_of_ms)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(ThresholdInput::from).collect())
    }

    /// [`Store::threshold_inputs`] for the named parts only (unknown ids are skipped), ordered by
    /// part. Each chunk of parts is one query that seeks the covering index part by part.
    pub async fn threshold_inputs_of(
        &self,
        window_start_ms: i64,
        as_of_ms: i64,
        part_ids: &[String],
    ) -> Result<Vec<ThresholdInput>, StoreError> {
        let mut sorted: Vec<&String> = part_ids.iter().collect();
        sorted.sort();
        sorted.dedup();
        let mut out = Vec::with_capacity(sorted.len());
        for chunk in sorted.chunks(500) {
            let mut n = 0;
            let mut ph = || {
                n += 1;
                crate::rows::placeholder(self.backend(), n)
            };
            let ws = ph();
            let inner: Vec<String> = chunk.iter().map(|_| ph()).collect();
            let asof = ph();
            let outer: Vec<String> = chunk.iter().map(|_| ph()).collect();
            let sql = format!(
                "SELECT p.part_id, p.site_id, p.part_class, p.lead_time_days, p.baseline_min, p.baseline_reorder, \
                 p.baseline_max, p.unit, p.pack_size, p.min_order_qty, c.in_window, c.n_before FROM parts p LEFT JOIN ( \
                   SELECT part_id, {} \
                   FROM consumption WHERE part_id IN ({}) AND consumed_at < {asof} AND voided = 0 GROUP BY part_id \
                 ) c ON c.part_id = p.part_id WHERE p.part_id IN ({}) ORDER BY p.part_id",
                usage_columns(self.backend(), &ws),
                inner.join(", "),
                outer.join(", ")
            );
            let mut q = sqlx::query_as::<_, InputRow>(sqlx::AssertSqlSafe(sql)).bind(window_start_ms);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            q = q.bind(as_of_ms);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            out.extend(q.fetch_all(self.pool()).await?.into_iter().map(ThresholdInput::from));
        }
        Ok(out)
    }

    /// Parts with mapped consumption in any of the half-open ranges `[from_ms, to_ms)`: the parts
    /// whose window sums change when the window's edges move. One index seek per part and range.
    pub async fn parts_consumed_in(&self, ranges: &[(i64, i64)]) -> Result<HashSet<String>, StoreError> {
        let ranges: Vec<(i64, i64)> = ranges.iter().copied().filter(|(a, b)| a < b).collect();
        if ranges.is_empty() {
            return Ok(HashSet::new());
        }
        let mut n = 0;
        let mut ph = || {
            n += 1;
            crate::rows::placeholder(self.backend(), n)
        };
        let exists: Vec<String> = ranges
            .iter()
            .map(|_| {
                let (a, b) = (ph(), ph());
                format!(
                    "EXISTS (SELECT 1 FROM consumption c WHERE c.part_id = p.part_id AND c.consumed_at >= {a} \
                     AND c.consumed_at < {b} AND c.voided = 0)"
                )
            })
            .collect();
        let sql = format!("SELECT p.part_id FROM parts p WHERE {}", exists.join(" OR "));
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for (a, b) in &ranges {
            q = q.bind(*a).bind(*b);
        }
        Ok(q.fetch_all(self.pool()).await?.into_iter().collect())
    }

    /// What the last completed threshold recompute covered, if one completed.
    pub async fn threshold_watermark(&self) -> Result<Option<ThresholdWatermark>, StoreError> {
        Ok(sqlx::query_as("SELECT formula_version, window_start, as_of FROM threshold_watermark WHERE id = 1")
            .fetch_optional(self.pool())
            .await?)
    }

    /// Claims every part marked as changed (see migration 6) and returns them. Claimed marks are
    /// deleted by [`Store::finish_threshold_recompute`]; a change written after the claim unclaims
    /// its part's mark, so it is kept for the next run. Marks left claimed by a failed run are
    /// claimed again.
    pub async fn claim_threshold_marks(&self) -> Result<HashSet<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE threshold_marks SET claimed = 1 WHERE claimed = 0").execute(&mut *tx).await?;
        let parts: Vec<String> =
            sqlx::query_scalar("SELECT part_id FROM threshold_marks WHERE claimed = 1").fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(parts.into_iter().collect())
    }

    /// Ends a recompute whose results are stored: deletes the claimed marks and records what it
    /// covered, in one transaction.
    pub async fn finish_threshold_recompute(
        &self,
        covered: &ThresholdWatermark,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM threshold_marks WHERE claimed = 1").execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO threshold_watermark (id, formula_version, window_start, as_of, updated_at) \
             VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET formula_version = excluded.formula_version, \
             window_start = excluded.window_start, as_of = excluded.as_of, updated_at = excluded.updated_at",
        )
        .bind(covered.formula_version)
        .bind(covered.window_start)
        .bind(covered.as_of)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The thresholds in force, by part.
    pub async fn current_thresholds(&self) -> Result<HashMap<String, CurrentThreshold>, StoreError> {
        let rows: Vec<CurrentRow> = sqlx::query_as(
            "SELECT part_id, min_qty, reorder_qty, max_qty, computed_min, computed_reorder, computed_max, basis, \
             approved_min, approved_reorder, approved_max, sequence_id, formula_version FROM current_thresholds",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| (r.part_id.clone(), CurrentThreshold::from(r))).collect())
    }

    /// The latest status of every part whose last calculation failed, with the recorded reason.
    pub async fn threshold_errors(&self) -> Result<Vec<ThresholdErrorRow>, StoreError> {
        let rows: Vec<ErrorRow> = sqlx::query_as(
            "SELECT t.part_id, t.status, t.inputs FROM thresholds t JOIN (SELECT part_id, MAX(id) AS id FROM thresholds \
             GROUP BY part_id) l ON l.id = t.id WHERE t.status <> 'OK' ORDER BY t.part_id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ThresholdErrorRow { reason: error_reason(Some(&r.inputs)), part_id: r.part_id, code: r.status })
            .collect())
    }

    /// Stores changes: a history row each and, when limits are published, the new thresholds in
    /// force with the next publication sequence; and the outbox rows of the `announce`ments the
    /// caller asks for (see [`Store::with_publication`]), in the same transaction, so a change is
    /// never in force without its announcement nor announced without being stored. One
    /// transaction for the whole slice, written with multi-row statements (a history insert
    /// returning the ids, then one upsert of the thresholds in force), so the cost per change is a
    /// few bound values rather than two round trips. A part may appear more than once; its
    /// changes apply in slice order. The drift `alerts` raised or resolved for these and other
    /// parts of the same run go in the same transaction (one commit per alert was most of a first
    /// recompute's time when many parts drift).
    pub async fn store_threshold_changes(
        &self,
        changes: &[ThresholdChange],
        announce: &[Announcement],
        alerts: &[crate::alerts::AlertUpdate],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        crate::alerts::apply_alert_updates(&mut tx, self.backend(), alerts, now_ms).await?;
        // Runs of changes with distinct parts, at most 1,000 each (17 values per history row stay
        // under both backends' bound-parameter limits); the returned ids are matched by part.
        let mut start = 0;
        while start < changes.len() {
            let mut seen = HashSet::new();
            let mut end = start;
            while end < changes.len() && end - start < 1000 && seen.insert(changes[end].part_id.as_str()) {
                end += 1;
            }
            self.store_change_run(&mut tx, &changes[start..end], now_ms).await?;
            start = end;
        }
        for a in announce {
            self.enqueue_publication(&mut tx, &a.part_id, a.sequence_id, a.limits, now_ms).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn store_change_run(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        run: &[ThresholdChange],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        use crate::rows::{bind_opt_f64_as, placeholders};
        if run.is_empty() {
            return Ok(());
        }
        let insert = format!(
            "INSERT INTO thresholds (part_id, formula_version, as_of, status, basis, inputs, sequence_id, \
             created_at, avg_daily_usage, computed_min, computed_reorder, computed_max, published_min, \
             published_reorder, published_max, method, demand_class) VALUES {} RETURNING id, part_id",
            placeholders(self.backend(), run.len(), 17, 0)
        );
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(insert));
        for c in run {
            let [cmin, creo, cmax] = c.computed.map_or([None; 3], |v| v.map(Some));
            let [pmin, preo, pmax] = c.published.map_or([None; 3], |v| v.map(Some));
            q = q
                .bind(c.part_id.as_str())
                .bind(c.formula_version)
                .bind(c.as_of)
                .bind(c.status.as_str())
                .bind(c.basis.as_str())
                .bind(c.inputs.as_str())
                .bind(c.sequence_id)
                .bind(now_ms);
            for v in [c.avg_daily_usage, cmin, creo, cmax, pmin, preo, pmax] {
                q = bind_opt_f64_as(q, v);
            }
            q = q.bind(c.method.as_deref()).bind(c.demand_class.as_deref());
        }
        let ids: HashMap<String, i64> =
            q.fetch_all(&mut **tx).await?.into_iter().map(|(id, part_id): (i64, String)| (part_id, id)).collect();
        let published: Vec<(&ThresholdChange, [f64; 3], [f64; 3])> =
            run.iter().filter_map(|c| Some((c, c.published?, c.computed?))).collect();
        if published.is_empty() {
            return Ok(());
        }
        let upsert = format!(
            "INSERT INTO current_thresholds (part_id, threshold_id, min_qty, reorder_qty, max_qty, basis, \
             sequence_id, updated_at, computed_min, computed_reorder, computed_max, status, formula_version) \
             VALUES {} \
             ON CONFLICT (part_id) DO UPDATE SET threshold_id = excluded.threshold_id, min_qty = excluded.min_qty, \
             reorder_qty = excluded.reorder_qty, max_qty = excluded.max_qty, basis = excluded.basis, \
             sequence_id = excluded.sequence_id, updated_at = excluded.updated_at, \
             computed_min = excluded.computed_min, computed_reorder = excluded.computed_reorder, \
             computed_max = excluded.computed_max, status = 'OK', formula_version = excluded.formula_version",
            placeholders(self.backend(), published.len(), 13, 0)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(upsert));
        for (c, [min, reorder, max], [a, b, d]) in published {
            let id = ids.get(&c.part_id).copied().ok_or_else(|| {
                StoreError::invalid("thresholds.id", format!("no history id returned for part {}", c.part_id))
            })?;
            q = q
                .bind(c.part_id.as_str())
                .bind(id)
                .bind(min)
                .bind(reorder)
                .bind(max)
                .bind(c.basis.as_str())
                .bind(c.sequence_id)
                .bind(now_ms)
                .bind(a)
                .bind(b)
                .bind(d)
                .bind("OK")
                .bind(c.formula_version);
        }
        q.execute(&mut **tx).await?;
        Ok(())
    }

    /// Records an operator's approval of the computed limits of a part held on the drift
    /// fallback: the computed limits are published (next sequence) and recorded as approved, with
    /// a history row, in one transaction. False when the part is not on the fallback.
    pub async fn approve_thresholds(&self, part_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE current_thresholds SET approved_min = computed_min, approved_reorder = computed_reorder, \
             approved_max = computed_max, approved_at = $1, min_qty = computed_min, reorder_qty = computed_reorder, \
             max_qty = computed_max, basis = 'APPROVED', sequence_id = sequence_id + 1, updated_at = $1 \
             WHERE part_id = $2 AND basis = 'FALLBACK' AND computed_min IS NOT NULL",
        )
        .bind(now_ms)
        .bind(part_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO thresholds (part_id, formula_version, as_of, status, basis, inputs, sequence_id, created_at, \
             avg_daily_usage, computed_min, computed_reorder, computed_max, published_min, published_reorder, published_max) \
             SELECT t.part_id, t.formula_version, t.as_of, 'OK', 'APPROVED', t.inputs, c.sequence_id, $1, \
             t.avg_daily_usage, t.computed_min, t.computed_reorder, t.computed_max, t.computed_min, t.computed_reorder, \
             t.computed_max FROM thresholds t JOIN current_thresholds c ON c.threshold_id = t.id WHERE c.part_id = $2 \
             RETURNING id",
        )
        .bind(now_ms)
        .bind(part_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE current_thresholds SET threshold_id = $1 WHERE part_id = $2")
            .bind(id)
            .bind(part_id)
            .execute(&mut *tx)
            .await?;
        if !self.publication_routes().is_empty() {
            let (min, reorder, max, sequence): (f64, f64, f64, i64) = sqlx::query_as(
                "SELECT min_qty, reorder_qty, max_qty, sequence_id FROM current_thresholds WHERE part_id = $1",
            )
            .bind(part_id)
            .fetch_one(&mut *tx)
            .await?;
            self.enqueue_publication(&mut tx, part_id, sequence, [min, reorder, max], now_ms).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The thresholds in force for one part.
    pub async fn current_threshold(&self, part_id: &str) -> Result<Option<CurrentThreshold>, StoreError> {
        Ok(self.current_thresholds().await?.remove(part_id))
    }
}
