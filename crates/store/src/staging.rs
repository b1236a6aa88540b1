//! Staged inventory feeds: stock snapshots, consumption events and scans, as delivered, with the
//! gate's verdict on each (see `cmms_pipeline::inventory`).

use crate::codes::{ScanVerdict, SnapshotStatus};
use crate::master::{Reference, StoredRecord};
use crate::rows::{ColType, SqlValue, TableSpec, WriteMode, bind_opt_f64};
use crate::{Store, StoreError};
use cmms_core::feeds::{ConsumptionRecord, ScanRecord, SnapshotRecord};
use cmms_core::time::to_epoch_ms;

impl StoredRecord for SnapshotRecord {
    const SPEC: TableSpec = TableSpec {
        table: "inventory_snapshots",
        columns: &[
            ("source", ColType::Text),
            ("external_sku", ColType::Text),
            ("sequence_id", ColType::Int),
            ("on_hand", ColType::Real),
            ("observed_at", ColType::Int),
        ],
        key_len: 3,
        stamp: "received_at",
        mode: WriteMode::FirstWins,
        derived: 0,
    };
    fn to_row(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.source.to_string()),
            SqlValue::Text(self.external_sku.as_str().to_owned()),
            SqlValue::Int(self.sequence_id),
            SqlValue::Real(self.on_hand.get()),
            SqlValue::Int(to_epoch_ms(self.observed_at)),
        ]
    }
    fn references(&self) -> Vec<Reference<'_>> {
        Vec::new()
    }
}

impl StoredRecord for ConsumptionRecord {
    const SPEC: TableSpec = TableSpec {
        table: "consumption",
        columns: &[
            ("source", ColType::Text),
            ("event_id", ColType::Text),
            ("external_sku", ColType::Text),
            ("quantity", ColType::Real),
            ("consumed_at", ColType::Int),
            ("part_id", ColType::Text),
        ],
        key_len: 2,
        stamp: "received_at",
        mode: WriteMode::FirstWins,
        derived: 1,
    };
    /// The part is derived: NULL here, set at ingest when the SKU maps (see
    /// `cmms_pipeline::inventory::import_consumption`) or later by the mapping stage.
    fn to_row(&self) -> Vec<SqlValue> {
        self.to_row_mapped(None)
    }
    fn to_row_mapped(&self, part: Option<&str>) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.source.to_string()),
            SqlValue::Text(self.event_id.to_string()),
            SqlValue::Text(self.external_sku.as_str().to_owned()),
            SqlValue::Real(self.quantity.get()),
            SqlValue::Int(to_epoch_ms(self.consumed_at)),
            SqlValue::opt_text(part),
        ]
    }
    fn references(&self) -> Vec<Reference<'_>> {
        Vec::new()
    }
}

impl StoredRecord for ScanRecord {
    const SPEC: TableSpec = TableSpec {
        table: "scans",
        columns: &[
            ("scan_id", ColType::Text),
            ("scanner_id", ColType::Text),
            ("code", ColType::Text),
            ("counted_qty", ColType::Real),
            ("scanned_at", ColType::Int),
        ],
        key_len: 1,
        stamp: "received_at",
        mode: WriteMode::FirstWins,
        derived: 0,
    };
    fn to_row(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.scan_id.to_string()),
            SqlValue::Text(self.scanner_id.to_string()),
            SqlValue::Text(self.code.as_str().to_owned()),
            SqlValue::Real(self.counted_qty.get()),
            SqlValue::Int(to_epoch_ms(self.scanned_at)),
        ]
    }
    fn references(&self) -> Vec<Reference<'_>> {
        Vec::new()
    }
}

/// A staged stock snapshot awaiting (or re-awaiting, when quarantined) the gate.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StagedSnapshot {
    /// The source.
    pub source: String,
    /// The SKU as delivered.
    pub external_sku: String,
    /// The source's sequence number.
    pub sequence_id: i64,
    /// On-hand quantity.
    pub on_hand: f64,
    /// Observed at, epoch ms.
    pub observed_at: i64,
}

/// A staged scan awaiting reconciliation.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StagedScan {
    /// The scan.
    pub scan_id: String,
    /// The scanned code.
    pub code: String,
    /// Units counted.
    pub counted_qty: f64,
    /// Scanned at, epoch ms.
    pub scanned_at: i64,
}

/// The gate's verdict on a staged snapshot.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SnapshotVerdict {
    /// Where it stands.
    #[sqlx(try_from = "String")]
    pub status: SnapshotStatus,
    /// Why (the rule or code), when not applied.
    pub reason: Option<String>,
    /// The part its SKU mapped to, once known.
    pub part_id: Option<String>,
}

/// A scan's part, count and verdict.
#[derive(sqlx::FromRow)]
struct ScanState {
    part_id: Option<String>,
    counted_qty: f64,
    #[sqlx(try_from = "String")]
    outcome: ScanVerdict,
}

impl Store {
    /// Snapshots still to pass the gate (new, or quarantined awaiting a mapping), in sequence order.
    pub async fn staged_snapshots(&self) -> Result<Vec<StagedSnapshot>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT source, external_sku, sequence_id, on_hand, observed_at FROM inventory_snapshots \
             WHERE status IN ('PENDING', 'QUARANTINED') AND voided = 0 ORDER BY source, external_sku, sequence_id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Where each of these staged snapshots stands: `(source, SKU, sequence) → verdict`.
    pub async fn snapshot_statuses(
        &self,
        keys: &[(String, String, i64)],
    ) -> Result<std::collections::HashMap<(String, String, i64), SnapshotVerdict>, StoreError> {
        let mut out = std::collections::HashMap::new();
        for (source, sku, seq) in keys {
            let row = sqlx::query_as(
                "SELECT status, reason, part_id FROM inventory_snapshots \
                 WHERE source = $1 AND external_sku = $2 AND sequence_id = $3",
            )
            .bind(source)
            .bind(sku)
            .bind(*seq)
            .fetch_optional(self.pool())
            .await?;
            if let Some(verdict) = row {
                out.insert((source.clone(), sku.clone(), *seq), verdict);
            }
        }
        Ok(out)
    }

    /// The latest snapshot of a part held as implausible, if any.
    pub async fn held_snapshot(&self, part_id: &str) -> Result<Option<StagedSnapshot>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT source, external_sku, sequence_id, on_hand, observed_at FROM inventory_snapshots \
             WHERE part_id = $1 AND status = 'HELD' AND voided = 0 ORDER BY observed_at DESC, sequence_id DESC LIMIT 1",
        )
        .bind(part_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The last applied sequence of a (source, SKU).
    pub async fn last_sequence(&self, source: &str, sku: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT last_sequence_id FROM snapshot_sequences WHERE source = $1 AND external_sku = $2",
        )
        .bind(source)
        .bind(sku)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Records the gate's verdict on a snapshot that is not applied (stale, held, quarantined,
    /// rejected). Only a snapshot still awaiting a verdict (pending, quarantined, held) changes:
    /// a final verdict (applied, stale, rejected) stays. Two processes can gate the same staged
    /// snapshot (`cmms serve` and `cmms import`, or several instances on one PostgreSQL): the one
    /// that applies it must not be overwritten by the other's late "not newer than the last
    /// applied" verdict. Returns whether the snapshot changed.
    pub async fn set_snapshot_status(
        &self,
        s: &StagedSnapshot,
        part_id: Option<&str>,
        status: SnapshotStatus,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE inventory_snapshots SET status = $1, reason = $2, part_id = $3 \
             WHERE source = $4 AND external_sku = $5 AND sequence_id = $6 \
             AND status IN ('PENDING', 'QUARANTINED', 'HELD')",
        )
        .bind(status.as_str())
        .bind(reason)
        .bind(part_id)
        .bind(&s.source)
        .bind(&s.external_sku)
        .bind(s.sequence_id)
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    /// Mapped consumption of a part in `[from_ms, to_ms]` (plausibility of stock drops).
    pub async fn consumption_between(&self, part_id: &str, from_ms: i64, to_ms: i64) -> Result<f64, StoreError> {
        let v: Option<f64> = sqlx::query_scalar(
            "SELECT SUM(quantity) FROM consumption WHERE part_id = $1 AND consumed_at >= $2 AND consumed_at <= $3 \
             AND voided = 0",
        )
        .bind(part_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(self.pool())
        .await?;
        Ok(v.unwrap_or(0.0))
    }

    /// Distinct (source, SKU) of consumption not yet mapped to a part, with how many events.
    pub async fn unmapped_consumption(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT source, external_sku, COUNT(*) FROM consumption WHERE part_id IS NULL GROUP BY source, external_sku",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Maps the unmapped consumption of one (source, SKU) to a part; returns how many events.
    pub async fn map_consumption(&self, source: &str, sku: &str, part_id: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE consumption SET part_id = $1 WHERE source = $2 AND external_sku = $3 AND part_id IS NULL",
        )
        .bind(part_id)
        .bind(source)
        .bind(sku)
        .execute(self.writer())
        .await?
        .rows_affected())
    }

    /// Scans not yet reconciled, oldest first.
    pub async fn staged_scans(&self) -> Result<Vec<StagedScan>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT scan_id, code, counted_qty, scanned_at FROM scans WHERE outcome IN ('PENDING', 'QUARANTINED') \
             ORDER BY scanned_at, scan_id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Records a scan's verdict (`MATCH`, `DISCREPANCY`, `QUARANTINED`, or `ACCEPTED` by an
    /// operator) and returns whether it did. A verdict only replaces one still open: `ACCEPTED`
    /// only a `DISCREPANCY`, the others only a scan awaiting reconciliation (pending or
    /// quarantined), so a late verdict of another process's gate run changes nothing.
    pub async fn set_scan_outcome(
        &self,
        scan_id: &str,
        part_id: Option<&str>,
        system_qty: Option<f64>,
        outcome: ScanVerdict,
    ) -> Result<bool, StoreError> {
        let open = match outcome {
            ScanVerdict::Accepted => "('DISCREPANCY')",
            _ => "('PENDING', 'QUARANTINED')",
        };
        let sql = format!(
            "UPDATE scans SET part_id = $1, system_qty = $2, outcome = $3 WHERE scan_id = $4 AND outcome IN {open}"
        );
        let changed = bind_opt_f64(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(part_id), system_qty)
            .bind(outcome.as_str())
            .bind(scan_id)
            .execute(self.writer())
            .await?
            .rows_affected();
        Ok(changed > 0)
    }

    /// A scan's part, counted quantity and verdict.
    pub async fn scan(&self, scan_id: &str) -> Result<Option<(Option<String>, f64, ScanVerdict)>, StoreError> {
        let row: Option<ScanState> =
            sqlx::query_as("SELECT part_id, counted_qty, outcome FROM scans WHERE scan_id = $1")
                .bind(scan_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|s| (s.part_id, s.counted_qty, s.outcome)))
    }

    /// The latest discrepant scan of a part: `(counted, system, scanned_at)`.
    pub async fn pausing_scan(&self, part_id: &str) -> Result<Option<(f64, f64, i64)>, StoreError> {
        let row: Option<(f64, Option<f64>, i64)> = sqlx::query_as(
            "SELECT counted_qty, system_qty, scanned_at FROM scans WHERE part_id = $1 AND outcome = 'DISCREPANCY' \
             ORDER BY scanned_at DESC, scan_id DESC LIMIT 1",
        )
        .bind(part_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(counted, system, at)| (counted, system.unwrap_or(0.0), at)))
    }
}
