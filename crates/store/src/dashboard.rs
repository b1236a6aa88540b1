//! Read models for the dashboard: counts by stage and state, the daily series behind plots, and
//! the one row or the few columns a page shows (so that no page loads a table to show one row).

use crate::codes::{AlertKind, Flag, OutboxStatus, RequestStatus, SnapshotStatus};
use crate::reliability::{PM_INTERVAL, PmIntervalRow};
use crate::stock::{PART_OVERVIEW, PartOverview};
use crate::{Store, StoreError};
use cmms_core::work_order::WoState;
use sqlx::AssertSqlSafe;
use std::collections::BTreeMap;

/// Counts by stage and state, for the overview page.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Overview {
    /// Parts in the master data.
    pub parts: i64,
    /// Parts with thresholds in force.
    pub parts_with_thresholds: i64,
    /// Parts whose available stock is below the reorder point.
    pub parts_below_reorder: i64,
    /// Parts whose routing is paused by a scan discrepancy.
    pub parts_paused: i64,
    /// Assets.
    pub assets: i64,
    /// Staged snapshots by gate status (`APPLIED`, `STALE`, `HELD` …).
    pub snapshots: BTreeMap<SnapshotStatus, i64>,
    /// Consumption events stored, and how many are still unmapped.
    pub consumption_events: i64,
    /// Consumption events whose SKU does not map yet.
    pub consumption_unmapped: i64,
    /// Open quarantine entries.
    pub quarantine_open: i64,
    /// Open alerts by kind.
    pub alerts: BTreeMap<AlertKind, i64>,
    /// Procurement requests by status.
    pub procurement: BTreeMap<RequestStatus, i64>,
    /// Work orders by state.
    pub work_orders: BTreeMap<WoState, i64>,
    /// Outbox rows by status.
    pub outbox: BTreeMap<OutboxStatus, i64>,
    /// Dead letters not yet replayed.
    pub dead_letters: i64,
}

/// An open PM work order on the calendar: where and when it is due.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CalendarEntry {
    /// The asset.
    pub asset_id: String,
    /// The asset's site.
    pub site_id: String,
    /// The site's time zone.
    pub timezone: String,
    /// Its state (an open one).
    #[sqlx(try_from = "String")]
    pub state: WoState,
    /// Due instant, epoch ms.
    pub due_at: i64,
}

/// An asset's PM status for the asset list: its site's time zone, and whether an open PM is late.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AssetPmStatus {
    /// The asset.
    pub asset_id: String,
    /// The time zone of the asset's site.
    pub timezone: String,
    /// Whether an open PM work order of the asset is due before `now`.
    #[sqlx(try_from = "Flag")]
    pub overdue: bool,
}

/// Computed thresholds held back by drift: what approval would publish, and the fallback in
/// force meanwhile.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PendingApproval {
    /// Computed min.
    pub computed_min: f64,
    /// Computed reorder point.
    pub computed_reorder: f64,
    /// Computed max.
    pub computed_max: f64,
    /// The fallback min in force.
    pub min: f64,
    /// The fallback reorder point in force.
    pub reorder: f64,
    /// The fallback max in force.
    pub max: f64,
    /// When the fallback was published, epoch ms.
    pub since: i64,
}

/// `w.state IN ($first, …)` over the open work-order states, binding from `$first` on.
fn open_states(first: usize) -> (String, Vec<&'static str>) {
    let open: Vec<&'static str> = WoState::ALL.into_iter().filter(|s| s.is_open()).map(WoState::as_str).collect();
    let marks: Vec<String> = (first..first + open.len()).map(|i| format!("${i}")).collect();
    (format!("w.state IN ({})", marks.join(", ")), open)
}

impl Store {
    async fn scalar(&self, sql: &'static str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sql).fetch_one(self.pool()).await?)
    }

    /// Counts by a code column: `sql` selects `code` and `n`.
    async fn grouped<K>(&self, sql: &'static str) -> Result<BTreeMap<K, i64>, StoreError>
    where
        K: std::str::FromStr + Ord,
        K::Err: std::fmt::Display,
    {
        let rows: Vec<Count> = sqlx::query_as(AssertSqlSafe(sql)).fetch_all(self.pool()).await?;
        rows.into_iter().map(|c| Ok((c.code.parse().map_err(|e| StoreError::invalid("code", e))?, c.n))).collect()
    }

    /// Counts by stage and state.
    pub async fn overview(&self) -> Result<Overview, StoreError> {
        Ok(Overview {
            parts: self.scalar("SELECT COUNT(*) FROM parts").await?,
            parts_with_thresholds: self.scalar("SELECT COUNT(*) FROM current_thresholds").await?,
            parts_below_reorder: self
                .scalar(
                    "SELECT COUNT(*) FROM inventory_state s JOIN current_thresholds t ON t.part_id = s.part_id \
                     WHERE s.on_hand - s.reserved < t.reorder_qty",
                )
                .await?,
            parts_paused: self.scalar("SELECT COUNT(*) FROM inventory_state WHERE paused_reason IS NOT NULL").await?,
            assets: self.scalar("SELECT COUNT(*) FROM assets").await?,
            snapshots: self
                .grouped("SELECT status AS code, COUNT(*) AS n FROM inventory_snapshots GROUP BY status")
                .await?,
            consumption_events: self.scalar("SELECT COUNT(*) FROM consumption").await?,
            consumption_unmapped: self.scalar("SELECT COUNT(*) FROM consumption WHERE part_id IS NULL").await?,
            quarantine_open: self.scalar("SELECT COUNT(*) FROM quarantine WHERE status = 'OPEN'").await?,
            alerts: self
                .grouped("SELECT kind AS code, COUNT(*) AS n FROM alerts WHERE status = 'OPEN' GROUP BY kind")
                .await?,
            procurement: self
                .grouped("SELECT status AS code, COUNT(*) AS n FROM procurement_requests GROUP BY status")
                .await?,
            work_orders: self.work_order_counts().await?,
            outbox: self.grouped("SELECT status AS code, COUNT(*) AS n FROM outbox GROUP BY status").await?,
            dead_letters: self.scalar("SELECT COUNT(*) FROM dead_letters WHERE replayed_at IS NULL").await?,
        })
    }

    /// A part's mapped consumption per UTC day in `[from_ms, to_ms)`: `(day start, quantity)`,
    /// days without consumption omitted.
    pub async fn consumption_daily(
        &self,
        part_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, f64)>, StoreError> {
        let rows: Vec<(i64, f64)> = sqlx::query_as(
            "SELECT consumed_at / 86400000 AS day, SUM(quantity) FROM consumption \
             WHERE part_id = $1 AND consumed_at >= $2 AND consumed_at < $3 AND voided = 0 GROUP BY consumed_at / 86400000 ORDER BY 1",
        )
        .bind(part_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(day, quantity)| (day * 86_400_000, quantity)).collect())
    }
}

impl Store {
    /// A part's applied stock snapshots in time order: `(observed at, on hand)`.
    pub async fn stock_history(&self, part_id: &str) -> Result<Vec<(i64, f64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT observed_at, on_hand FROM inventory_snapshots WHERE part_id = $1 AND status = 'APPLIED' \
             AND voided = 0 ORDER BY observed_at, sequence_id",
        )
        .bind(part_id)
        .fetch_all(self.pool())
        .await?)
    }
}

impl Store {
    /// One part with its stock and the thresholds in force, if it exists.
    pub async fn part_overview(&self, part_id: &str) -> Result<Option<PartOverview>, StoreError> {
        Ok(sqlx::query_as(AssertSqlSafe(format!("{PART_OVERVIEW} WHERE p.part_id = $1")))
            .bind(part_id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The computed thresholds of a part waiting for approval (its basis is `FALLBACK` after
    /// drift and a computation exists), if any.
    pub async fn pending_approval(&self, part_id: &str) -> Result<Option<PendingApproval>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT computed_min, computed_reorder, computed_max, min_qty AS min, reorder_qty AS reorder, \
             max_qty AS max, updated_at AS since FROM current_thresholds \
             WHERE part_id = $1 AND basis = 'FALLBACK' AND computed_min IS NOT NULL \
             AND computed_reorder IS NOT NULL AND computed_max IS NOT NULL",
        )
        .bind(part_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// One asset's stored PM interval, if one was computed.
    pub async fn pm_interval(&self, asset_id: &str) -> Result<Option<PmIntervalRow>, StoreError> {
        Ok(sqlx::query_as(AssertSqlSafe(format!("{PM_INTERVAL} WHERE p.asset_id = $1")))
            .bind(asset_id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The parts whose routing is paused, with why: `(part, reason)`, by part.
    pub async fn paused_parts(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT part_id, paused_reason FROM inventory_state WHERE paused_reason IS NOT NULL ORDER BY part_id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// The open PM work orders with their asset's site, by due date.
    pub async fn pm_calendar(&self) -> Result<Vec<CalendarEntry>, StoreError> {
        let (open, states) = open_states(1);
        let sql = format!(
            "SELECT w.asset_id, a.site_id, s.timezone, w.state, w.due_at FROM work_orders w \
             JOIN assets a ON a.asset_id = w.asset_id JOIN sites s ON s.site_id = a.site_id \
             WHERE {open} ORDER BY w.due_at, w.id"
        );
        let mut query = sqlx::query_as(AssertSqlSafe(sql));
        for state in states {
            query = query.bind(state);
        }
        Ok(query.fetch_all(self.pool()).await?)
    }

    /// Work orders by state.
    pub async fn work_order_counts(&self) -> Result<BTreeMap<WoState, i64>, StoreError> {
        self.grouped("SELECT state AS code, COUNT(*) AS n FROM work_orders GROUP BY state").await
    }

    /// Open work orders due before `now_ms`.
    pub async fn overdue_work_orders(&self, now_ms: i64) -> Result<i64, StoreError> {
        let (open, states) = open_states(2);
        let sql = format!("SELECT COUNT(*) FROM work_orders w WHERE {open} AND w.due_at < $1");
        let mut query = sqlx::query_scalar(AssertSqlSafe(sql)).bind(now_ms);
        for state in states {
            query = query.bind(state);
        }
        Ok(query.fetch_one(self.pool()).await?)
    }

    /// Each asset from `first` to `last` (by id) with work orders: its site's time zone and
    /// whether an open PM of it is due before `now_ms`, by asset.
    pub async fn asset_pm_status(
        &self,
        now_ms: i64,
        first: &str,
        last: &str,
    ) -> Result<Vec<AssetPmStatus>, StoreError> {
        let (open, states) = open_states(4);
        let sql = format!(
            "SELECT w.asset_id, MIN(s.timezone) AS timezone, \
             CAST(MAX(CASE WHEN {open} AND w.due_at < $1 THEN 1 ELSE 0 END) AS BIGINT) AS overdue \
             FROM work_orders w JOIN assets a ON a.asset_id = w.asset_id JOIN sites s ON s.site_id = a.site_id \
             WHERE w.asset_id BETWEEN $2 AND $3 GROUP BY w.asset_id ORDER BY w.asset_id"
        );
        let mut query = sqlx::query_as(AssertSqlSafe(sql)).bind(now_ms).bind(first).bind(last);
        for state in states {
            query = query.bind(state);
        }
        Ok(query.fetch_all(self.pool()).await?)
    }
}

/// A count per code.
#[derive(sqlx::FromRow)]
struct Count {
    code: String,
    n: i64,
}

/// The history behind the overview's trend plots, read from the tables as they are (no history
/// table of its own): stock snapshots and published reorder points, procurement requests, PM
/// completions against their due dates, and unplanned failures per asset group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendData {
    /// Applied stock snapshots: `(part, observed at, on hand)`, by part and time.
    pub stock: Vec<(String, i64, f64)>,
    /// Published reorder points of computed thresholds: `(part, as of, reorder)`, by part and time.
    pub reorder: Vec<(String, i64, f64)>,
    /// Procurement requests: `(created at, closed at)`; `None` while open (a closed request's
    /// last change is when it closed).
    pub procurement: Vec<(i64, Option<i64>)>,
    /// Completed PM work orders since the start: `(completed at, due at)`.
    pub completions: Vec<(i64, i64)>,
    /// Unplanned failures since the start: `(asset group, started at)`.
    pub failures: Vec<(String, i64)>,
    /// Assets per asset group.
    pub assets_per_group: BTreeMap<String, i64>,
}

impl Store {
    /// The history behind the overview's trend plots; completions and failures from `from_ms`
    /// on.
    pub async fn trend_data(&self, from_ms: i64) -> Result<TrendData, StoreError> {
        let stock = sqlx::query_as(
            "SELECT part_id, observed_at, on_hand FROM inventory_snapshots WHERE status = 'APPLIED' AND voided = 0 \
             AND part_id IS NOT NULL ORDER BY part_id, observed_at, sequence_id",
        )
        .fetch_all(self.pool())
        .await?;
        let reorder = sqlx::query_as(
            "SELECT part_id, as_of, published_reorder FROM thresholds WHERE published_reorder IS NOT NULL \
             ORDER BY part_id, as_of, id",
        )
        .fetch_all(self.pool())
        .await?;
        let requests: Vec<(i64, i64, String)> =
            sqlx::query_as("SELECT created_at, updated_at, status FROM procurement_requests ORDER BY created_at")
                .fetch_all(self.pool())
                .await?;
        let procurement = requests
            .into_iter()
            .map(|(created, updated, status)| (created, (status != RequestStatus::Open.as_str()).then_some(updated)))
            .collect();
        let completions = sqlx::query_as(
            "SELECT completed_at, due_at FROM work_orders WHERE state = 'COMPLETED' AND completed_at IS NOT NULL \
             AND completed_at >= $1 ORDER BY completed_at",
        )
        .bind(from_ms)
        .fetch_all(self.pool())
        .await?;
        let failures = sqlx::query_as(
            "SELECT a.asset_group, f.started_at FROM failure_events f JOIN assets a ON a.asset_id = f.asset_id \
             WHERE f.event_type = 'UNPLANNED' AND f.started_at >= $1 ORDER BY f.started_at",
        )
        .bind(from_ms)
        .fetch_all(self.pool())
        .await?;
        let groups: Vec<(String, i64)> =
            sqlx::query_as("SELECT asset_group, COUNT(*) FROM assets GROUP BY asset_group ORDER BY asset_group")
                .fetch_all(self.pool())
                .await?;
        Ok(TrendData {
            stock,
            reorder,
            procurement,
            completions,
            failures,
            assets_per_group: groups.into_iter().collect(),
        })
    }
}
