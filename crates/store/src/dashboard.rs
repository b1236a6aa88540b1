//! Read models for the dashboard: counts by stage and state, and the daily series behind plots.

use crate::codes::{AlertKind, OutboxStatus, RequestStatus, SnapshotStatus};
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
            work_orders: self.grouped("SELECT state AS code, COUNT(*) AS n FROM work_orders GROUP BY state").await?,
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

/// A count per code.
#[derive(sqlx::FromRow)]
struct Count {
    code: String,
    n: i64,
}
