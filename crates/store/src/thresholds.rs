//! Threshold inputs (parts with their consumption in the window), the thresholds in force per
//! part, their history, and operator approval.

use crate::{Store, StoreError};
use sqlx::Row;
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
    /// `COMPUTED`, `APPROVED` or `FALLBACK`.
    pub basis: String,
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
    pub basis: String,
    /// The inputs, as JSON.
    pub inputs: String,
    /// Publication sequence of this change: the previous one + 1 when limits are published
    /// (the caller holds the thresholds in force; one recompute writes at a time).
    pub sequence_id: i64,
}

/// What a completed threshold recompute covered: the formula version and the window
/// `[window_start, as_of)`, epoch ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdWatermark {
    /// Formula version used.
    pub formula_version: i64,
    /// Start of the window, epoch ms.
    pub window_start: i64,
    /// The computation instant (end of the window), epoch ms.
    pub as_of: i64,
}

fn threshold_input(r: &sqlx::any::AnyRow) -> Result<ThresholdInput, StoreError> {
    Ok(ThresholdInput {
        part_id: r.try_get(0)?,
        site_id: r.try_get(1)?,
        part_class: r.try_get(2)?,
        lead_time_days: r.try_get(3)?,
        baseline: [r.try_get(4)?, r.try_get(5)?, r.try_get(6)?],
        consumed_in_window_micros: match r.try_get::<Option<f64>, _>(7)?.unwrap_or(0.0) {
            total if (0.0..EXACT_MICROS).contains(&total) => Some(total as i128),
            _ => None,
        },
        has_history: r.try_get::<Option<i64>, _>(8)?.unwrap_or(0) > 0,
    })
}

/// The reason a failed calculation recorded in its inputs document (`{"error": …}`).
fn error_reason(inputs: Option<&str>) -> Option<String> {
    let inputs: serde_json::Value = serde_json::from_str(inputs?).ok()?;
    inputs.get("error")?.as_str().map(str::to_owned)
}

fn triple(r: &sqlx::any::AnyRow, first: usize) -> Result<Option<[f64; 3]>, sqlx::Error> {
    let a: Option<f64> = r.try_get(first)?;
    let b: Option<f64> = r.try_get(first + 1)?;
    let c: Option<f64> = r.try_get(first + 2)?;
    Ok(match (a, b, c) {
        (Some(a), Some(b), Some(c)) => Some([a, b, c]),
        _ => None,
    })
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
             p.baseline_max, c.in_window, c.n_before FROM parts p LEFT JOIN ( \
               SELECT part_id, {} \
               FROM consumption WHERE part_id IS NOT NULL AND consumed_at < $2 AND voided = 0 GROUP BY part_id \
             ) c ON c.part_id = p.part_id ORDER BY p.part_id",
            usage_columns(self.backend(), "$1")
        );
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(window_start_ms).bind(as_of_ms).fetch_all(self.pool()).await?;
        rows.iter().map(threshold_input).collect()
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
                 p.baseline_max, c.in_window, c.n_before FROM parts p LEFT JOIN ( \
                   SELECT part_id, {} \
                   FROM consumption WHERE part_id IN ({}) AND consumed_at < {asof} AND voided = 0 GROUP BY part_id \
                 ) c ON c.part_id = p.part_id WHERE p.part_id IN ({}) ORDER BY p.part_id",
                usage_columns(self.backend(), &ws),
                inner.join(", "),
                outer.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(window_start_ms);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            q = q.bind(as_of_ms);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for r in q.fetch_all(self.pool()).await? {
                out.push(threshold_input(&r)?);
            }
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
        let row = sqlx::query("SELECT formula_version, window_start, as_of FROM threshold_watermark WHERE id = 1")
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(ThresholdWatermark { formula_version: r.try_get(0)?, window_start: r.try_get(1)?, as_of: r.try_get(2)? })
        })
        .transpose()
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
        let rows = sqlx::query(
            "SELECT part_id, min_qty, reorder_qty, max_qty, computed_min, computed_reorder, computed_max, basis, \
             approved_min, approved_reorder, approved_max, sequence_id, formula_version FROM current_thresholds",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in &rows {
            let part_id: String = r.try_get(0)?;
            let current = CurrentThreshold {
                part_id: part_id.clone(),
                published: triple(r, 1)?.unwrap_or_default(),
                computed: triple(r, 4)?,
                basis: r.try_get(7)?,
                approved: triple(r, 8)?,
                sequence_id: r.try_get(11)?,
                formula_version: r.try_get(12)?,
            };
            out.insert(part_id, current);
        }
        Ok(out)
    }

    /// The latest status of every part whose last calculation failed, with the recorded reason.
    pub async fn threshold_errors(&self) -> Result<Vec<ThresholdErrorRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.part_id, t.status, t.inputs FROM thresholds t JOIN (SELECT part_id, MAX(id) AS id FROM thresholds \
             GROUP BY part_id) l ON l.id = t.id WHERE t.status <> 'OK' ORDER BY t.part_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let inputs: String = r.try_get(2)?;
                Ok(ThresholdErrorRow {
                    part_id: r.try_get(0)?,
                    code: r.try_get(1)?,
                    reason: error_reason(Some(&inputs)),
                })
            })
            .collect()
    }

    /// Stores changes: a history row each and, when limits are published, the new thresholds in
    /// force with the next publication sequence and its outbox rows (see
    /// [`Store::with_publication`]). One transaction for the whole slice, written with multi-row
    /// statements (a history insert returning the ids, then one upsert of the thresholds in
    /// force), so the cost per change is a few bound values rather than two round trips. A part
    /// may appear more than once; its changes apply in slice order.
    pub async fn store_threshold_changes(&self, changes: &[ThresholdChange], now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Runs of changes with distinct parts, at most 1,000 each (15 values per history row stay
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
        tx.commit().await?;
        Ok(())
    }

    async fn store_change_run(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        run: &[ThresholdChange],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        use crate::rows::{SqlValue, bind, placeholders};
        if run.is_empty() {
            return Ok(());
        }
        let insert = format!(
            "INSERT INTO thresholds (part_id, formula_version, as_of, status, basis, inputs, sequence_id, \
             created_at, avg_daily_usage, computed_min, computed_reorder, computed_max, published_min, \
             published_reorder, published_max) VALUES {} RETURNING id, part_id",
            placeholders(self.backend(), run.len(), 15, 0)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(insert));
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
                q = bind(q, SqlValue::opt_real(v));
            }
        }
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(run.len());
        for r in q.fetch_all(&mut **tx).await? {
            ids.insert(r.try_get(1)?, r.try_get(0)?);
        }
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
        let mut outbox = Vec::with_capacity(published.len());
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
            outbox.push((c.part_id.as_str(), c.sequence_id, [min, reorder, max]));
        }
        q.execute(&mut **tx).await?;
        for (part_id, sequence, limits) in outbox {
            self.enqueue_publication(tx, part_id, sequence, limits, now_ms).await?;
        }
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
            let row = sqlx::query(
                "SELECT min_qty, reorder_qty, max_qty, sequence_id FROM current_thresholds WHERE part_id = $1",
            )
            .bind(part_id)
            .fetch_one(&mut *tx)
            .await?;
            let limits = [row.try_get(0)?, row.try_get(1)?, row.try_get(2)?];
            self.enqueue_publication(&mut tx, part_id, row.try_get(3)?, limits, now_ms).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Applies thresholds received from an outside optimiser when `sequence_id` is newer than the
    /// part's sequence in force: the thresholds in force (basis `RECEIVED`) and a history row, in
    /// one transaction. Otherwise changes nothing and says why (not newer, or unknown part).
    pub async fn receive_thresholds(&self, t: &ReceivedThresholds, now_ms: i64) -> Result<Received, StoreError> {
        let mut outcomes = self.receive_thresholds_batch(std::slice::from_ref(t), now_ms).await?;
        Ok(outcomes.pop().unwrap_or(Received::UnknownPart))
    }

    /// [`Store::receive_thresholds`] for several deliveries in one transaction (group commit):
    /// each is judged in order against what the ones before it applied, exactly as if they had
    /// arrived one after another; one outcome per delivery, in order. A store failure applies
    /// none of them.
    pub async fn receive_thresholds_batch(
        &self,
        batch: &[ReceivedThresholds],
        now_ms: i64,
    ) -> Result<Vec<Received>, StoreError> {
        let mut outcomes = vec![Received::UnknownPart; batch.len()];
        let mut tx = self.begin_write().await?;
        let mut start = 0;
        while start < batch.len() {
            // A run in which each part occurs once is written with one statement per step; a
            // second delivery for a part starts the next run, so it sees what the first applied.
            let mut parts = HashSet::new();
            let len = batch[start..].iter().take_while(|t| parts.insert(t.part_id.as_str())).count();
            let end = start + len.min(RECEIVE_RUN);
            self.receive_run(&mut tx, &batch[start..end], &mut outcomes[start..end], now_ms).await?;
            start = end;
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Deliveries for distinct parts: applies the newer ones (an upsert guarded by the sequence,
    /// which also skips unknown parts), records them, and reads the sequence in force for the rest.
    async fn receive_run(
        &self,
        conn: &mut sqlx::AnyConnection,
        run: &[ReceivedThresholds],
        outcomes: &mut [Received],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let backend = self.backend();
        let upsert = format!(
            "INSERT INTO current_thresholds (part_id, min_qty, reorder_qty, max_qty, basis, sequence_id, updated_at, \
             status) SELECT p.part_id, v.column2, v.column3, v.column4, 'RECEIVED', v.column5, {now}, 'OK' \
             FROM (VALUES {values}) AS v JOIN parts p ON p.part_id = v.column1 WHERE true \
             ON CONFLICT (part_id) DO UPDATE SET threshold_id = NULL, min_qty = excluded.min_qty, \
             reorder_qty = excluded.reorder_qty, max_qty = excluded.max_qty, basis = 'RECEIVED', \
             sequence_id = excluded.sequence_id, updated_at = excluded.updated_at, status = 'OK', \
             computed_min = NULL, computed_reorder = NULL, computed_max = NULL, formula_version = NULL \
             WHERE current_thresholds.sequence_id < excluded.sequence_id RETURNING part_id",
            // SQLite binds `?` in order of appearance: `now` comes first in the text, so first here.
            now = crate::rows::placeholder(backend, 1),
            values = crate::rows::placeholders(backend, run.len(), 5, 1),
        );
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(upsert)).bind(now_ms);
        for t in run {
            q = q.bind(&t.part_id).bind(t.limits[0]).bind(t.limits[1]).bind(t.limits[2]).bind(t.sequence_id);
        }
        let applied: HashSet<String> = q.fetch_all(&mut *conn).await?.into_iter().collect();

        let history: Vec<&ReceivedThresholds> = run.iter().filter(|t| applied.contains(&t.part_id)).collect();
        if !history.is_empty() {
            let insert = format!(
                "INSERT INTO received_thresholds (part_id, sequence_id, min_qty, reorder_qty, max_qty, current_stock, \
                 sync_timestamp, client_id, received_by, received_at) VALUES {}",
                crate::rows::placeholders(backend, history.len(), 10, 0)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(insert));
            for t in &history {
                q = q
                    .bind(&t.part_id)
                    .bind(t.sequence_id)
                    .bind(t.limits[0])
                    .bind(t.limits[1])
                    .bind(t.limits[2])
                    .bind(t.current_stock)
                    .bind(t.sync_timestamp)
                    .bind(t.client_id.as_deref())
                    .bind(t.received_by.as_deref())
                    .bind(now_ms);
            }
            q.execute(&mut *conn).await?;
        }

        let refused: Vec<&str> =
            run.iter().filter(|t| !applied.contains(&t.part_id)).map(|t| t.part_id.as_str()).collect();
        let mut in_force = HashMap::new();
        if !refused.is_empty() {
            let select = format!(
                "SELECT part_id, sequence_id FROM current_thresholds WHERE part_id IN ({})",
                crate::rows::placeholders(backend, refused.len(), 1, 0)
            );
            let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(select));
            for part in &refused {
                q = q.bind(*part);
            }
            in_force.extend(q.fetch_all(&mut *conn).await?);
        }

        for (t, outcome) in run.iter().zip(outcomes.iter_mut()) {
            *outcome = if applied.contains(&t.part_id) {
                self.enqueue_publication(conn, &t.part_id, t.sequence_id, t.limits, now_ms).await?;
                Received::Applied
            } else {
                in_force.get(&t.part_id).map_or(Received::UnknownPart, |&in_force| Received::NotNewer { in_force })
            };
        }
        Ok(())
    }

    /// The thresholds in force for one part.
    pub async fn current_threshold(&self, part_id: &str) -> Result<Option<CurrentThreshold>, StoreError> {
        Ok(self.current_thresholds().await?.remove(part_id))
    }

    /// A part's threshold history, newest first: computed changes and received deliveries.
    pub async fn threshold_history(&self, part_id: &str, limit: i64) -> Result<Vec<ThresholdHistoryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT 'COMPUTED' AS origin, sequence_id, status, basis, formula_version, published_min, published_reorder, \
             published_max, computed_min, computed_reorder, computed_max, avg_daily_usage, created_at, \
             CASE WHEN status <> 'OK' THEN inputs END FROM thresholds \
             WHERE part_id = $1 UNION ALL SELECT 'RECEIVED', sequence_id, 'OK', 'RECEIVED', NULL, min_qty, reorder_qty, \
             max_qty, NULL, NULL, NULL, NULL, received_at, NULL FROM received_thresholds WHERE part_id = $1 \
             ORDER BY 13 DESC, 2 DESC LIMIT $2",
        )
        .bind(part_id)
        .bind(limit)
        .fetch_all(self.writer())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ThresholdHistoryRow {
                    origin: r.try_get(0)?,
                    sequence_id: r.try_get(1)?,
                    status: r.try_get(2)?,
                    basis: r.try_get(3)?,
                    formula_version: r.try_get(4)?,
                    published: triple(r, 5)?,
                    computed: triple(r, 8)?,
                    avg_daily_usage: r.try_get(11)?,
                    at: r.try_get(12)?,
                    reason: error_reason(r.try_get::<Option<String>, _>(13)?.as_deref()),
                })
            })
            .collect()
    }
}

/// Thresholds pushed by an outside optimiser (the seed article's payload, checked).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedThresholds {
    /// The part.
    pub part_id: String,
    /// The sender's sequence: must be newer than the one in force.
    pub sequence_id: i64,
    /// `[min, reorder, max]`.
    pub limits: [f64; 3],
    /// The stock the sender saw (recorded, never applied: stock comes from snapshots).
    pub current_stock: f64,
    /// The sender's timestamp, epoch ms.
    pub sync_timestamp: i64,
    /// The sender's `X-Client-Id`, if given.
    pub client_id: Option<String>,
    /// The API token's name that delivered it.
    pub received_by: Option<String>,
}

/// Most deliveries one statement of [`Store::receive_thresholds_batch`] writes (10 parameters
/// each for the history rows).
const RECEIVE_RUN: usize = 500;

/// The outcome of [`Store::receive_thresholds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Applied: the thresholds in force changed.
    Applied,
    /// Not newer than the sequence in force: nothing changed.
    NotNewer {
        /// The sequence in force.
        in_force: i64,
    },
    /// No part has this id: nothing changed.
    UnknownPart,
}

/// One entry of a part's threshold history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
    /// When, epoch ms.
    pub at: i64,
    /// Why the calculation gave no thresholds, in words (when the status is not `OK`).
    pub reason: Option<String>,
}
