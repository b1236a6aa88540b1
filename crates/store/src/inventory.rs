//! Inventory side of the store: staged feeds (snapshots, consumption, scans), the SKU map index,
//! the quarantine queue, stock state with routing pauses, and alerts.

use crate::master::{Reference, StoredRecord};
use crate::rows::{ColType, SqlValue, TableSpec, WriteMode, bind_opt_f64};
use crate::{Store, StoreError};
use cmms_core::feeds::{ConsumptionRecord, ScanRecord, SnapshotRecord};
use cmms_core::mapping::SkuIndex;
use cmms_core::time::to_epoch_ms;
use sqlx::{AssertSqlSafe, Row};
use std::sync::{Arc, Mutex, PoisonError};

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
        vec![
            SqlValue::Text(self.source.to_string()),
            SqlValue::Text(self.event_id.to_string()),
            SqlValue::Text(self.external_sku.as_str().to_owned()),
            SqlValue::Real(self.quantity.get()),
            SqlValue::Int(to_epoch_ms(self.consumed_at)),
            SqlValue::Null(ColType::Text),
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

/// One explicit SKU mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuMapEntry {
    /// The source.
    pub source: String,
    /// The SKU as that source spells it.
    pub external_sku: String,
    /// Its normalised form (trimmed, upper-cased).
    pub norm_sku: String,
    /// The part.
    pub part_id: String,
}

/// A part with its stock and the thresholds in force.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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

/// The query of [`PartOverview`] rows, to be completed with a `WHERE` clause on `p`, `s` or `t`.
pub(crate) const PART_OVERVIEW: &str = "SELECT p.part_id, p.description, p.unit, p.site_id, p.part_class, p.lead_time_days, s.on_hand, \
     s.reserved, s.paused_reason, t.min_qty, t.reorder_qty, t.max_qty, t.basis, t.sequence_id \
     FROM parts p LEFT JOIN inventory_state s ON s.part_id = p.part_id \
     LEFT JOIN current_thresholds t ON t.part_id = p.part_id";

/// One row of [`PART_OVERVIEW`].
pub(crate) fn decode_part_overview(r: &sqlx::any::AnyRow) -> Result<PartOverview, sqlx::Error> {
    let on_hand: Option<f64> = r.try_get(6)?;
    let reserved: Option<f64> = r.try_get(7)?;
    Ok(PartOverview {
        part_id: r.try_get(0)?,
        description: r.try_get(1)?,
        unit: r.try_get(2)?,
        site_id: r.try_get(3)?,
        part_class: r.try_get(4)?,
        lead_time_days: r.try_get(5)?,
        on_hand,
        available: on_hand.map(|o| o - reserved.unwrap_or(0.0)),
        paused_reason: r.try_get(8)?,
        min: r.try_get(9)?,
        reorder: r.try_get(10)?,
        max: r.try_get(11)?,
        basis: r.try_get(12)?,
        sequence_id: r.try_get(13)?,
    })
}

/// A staged stock snapshot awaiting (or re-awaiting, when quarantined) the gate.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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

/// Stock state of a part.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StockState {
    /// On hand.
    pub on_hand: f64,
    /// Reserved for open work orders.
    pub reserved: f64,
    /// When the on-hand figure was observed, epoch ms.
    pub observed_at: i64,
    /// Why routing is paused for the part, if it is.
    pub paused_reason: Option<String>,
}

/// An entry of the quarantine queue.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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

/// An alert for operators.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
    /// Raised at, epoch ms.
    pub created_at: i64,
}

/// The SKU map as an index and the `sku_map_generation` it was read at, shared by a store's clones.
pub(crate) type SkuMapCache = Arc<Mutex<Option<(i64, Arc<SkuIndex>)>>>;

impl Store {
    /// The whole SKU map as an index of explicit and normalised matches (no part ids: for SKUs
    /// of a source, not scanned codes). Kept in memory between calls: each call reads the
    /// one-row `sku_map_generation`, which every change of `sku_map` raises by trigger, and loads
    /// the map again only when it moved. Webhook batches and consumption imports map with it.
    pub async fn sku_map_index(&self) -> Result<Arc<SkuIndex>, StoreError> {
        let generation: i64 =
            sqlx::query_scalar("SELECT generation FROM sku_map_generation WHERE id = 1").fetch_one(self.pool()).await?;
        let cached = |cache: &SkuMapCache| cache.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some((at, index)) = cached(&self.sku_map_cache)
            && at == generation
        {
            return Ok(index);
        }
        // Read after the generation: a change committed in between raises it again, so the next
        // call loads once more; the index is never older than the generation it is kept under.
        let entries = self.sku_map_entries().await?;
        let index = Arc::new(SkuIndex::new(
            entries.iter().map(|e| (e.source.as_str(), e.external_sku.as_str(), e.part_id.as_str())),
            std::iter::empty(),
        ));
        let mut cache = self.sku_map_cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.as_ref().is_none_or(|(at, _)| *at < generation) {
            *cache = Some((generation, index.clone()));
        }
        Ok(index)
    }

    /// The whole SKU map (small: one row per mapped SKU).
    pub async fn sku_map_entries(&self) -> Result<Vec<SkuMapEntry>, StoreError> {
        let rows =
            sqlx::query("SELECT source, external_sku, norm_sku, part_id FROM sku_map").fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(SkuMapEntry {
                    source: r.try_get(0)?,
                    external_sku: r.try_get(1)?,
                    norm_sku: r.try_get(2)?,
                    part_id: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// The SKU-map entries that decide how these `(source, SKU)` pairs and scanned codes map
    /// (every entry of a pair's source with the same normal form, and of any source for a code),
    /// and which codes are part ids. Cost follows the request, not the size of the catalogue.
    pub async fn sku_candidates(
        &self,
        pairs: &[(String, String)],
        codes: &[String],
    ) -> Result<(Vec<SkuMapEntry>, Vec<String>), StoreError> {
        use std::collections::BTreeSet;
        let ph = |n| crate::rows::placeholders(self.backend(), n, 1, 0);
        let decode = |r: &sqlx::any::AnyRow| -> Result<SkuMapEntry, sqlx::Error> {
            Ok(SkuMapEntry {
                source: r.try_get(0)?,
                external_sku: r.try_get(1)?,
                norm_sku: r.try_get(2)?,
                part_id: r.try_get(3)?,
            })
        };
        let mut entries = Vec::new();
        let by_source: BTreeSet<(&str, String)> =
            pairs.iter().map(|(src, sku)| (src.as_str(), cmms_core::mapping::normalise(sku))).collect();
        let sources: BTreeSet<&str> = by_source.iter().map(|(s, _)| *s).collect();
        for source in sources {
            let norms: Vec<&String> = by_source.iter().filter(|(s, _)| *s == source).map(|(_, n)| n).collect();
            for chunk in norms.chunks(900) {
                let first = if self.backend() == crate::Backend::Postgres { "$1" } else { "?" };
                let sql = format!(
                    "SELECT source, external_sku, norm_sku, part_id FROM sku_map WHERE source = {first} AND norm_sku IN ({})",
                    crate::rows::placeholders(self.backend(), chunk.len(), 1, 1)
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(source);
                for n in chunk {
                    q = q.bind(n.as_str());
                }
                for r in q.fetch_all(self.pool()).await? {
                    entries.push(decode(&r)?);
                }
            }
        }
        let norms: BTreeSet<String> = codes.iter().map(|c| cmms_core::mapping::normalise(c)).collect();
        let norms: Vec<String> = norms.into_iter().collect();
        let mut parts = Vec::new();
        for chunk in norms.chunks(900) {
            let sql = format!(
                "SELECT source, external_sku, norm_sku, part_id FROM sku_map WHERE norm_sku IN ({})",
                ph(chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for n in chunk {
                q = q.bind(n.as_str());
            }
            for r in q.fetch_all(self.pool()).await? {
                entries.push(decode(&r)?);
            }
        }
        let trimmed: BTreeSet<&str> = codes.iter().map(|c| c.trim()).collect();
        let trimmed: Vec<&str> = trimmed.into_iter().collect();
        for chunk in trimmed.chunks(900) {
            let sql = format!("SELECT part_id FROM parts WHERE part_id IN ({})", ph(chunk.len()));
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for c in chunk {
                q = q.bind(*c);
            }
            parts.extend(q.fetch_all(self.pool()).await?);
        }
        Ok((entries, parts))
    }

    /// Where each of these staged snapshots stands: `(source, SKU, sequence) → (status, reason, part)`.
    #[allow(clippy::type_complexity)]
    pub async fn snapshot_statuses(
        &self,
        keys: &[(String, String, i64)],
    ) -> Result<std::collections::HashMap<(String, String, i64), (String, Option<String>, Option<String>)>, StoreError>
    {
        let mut out = std::collections::HashMap::new();
        for (source, sku, seq) in keys {
            let row = sqlx::query(
                "SELECT status, reason, part_id FROM inventory_snapshots \
                 WHERE source = $1 AND external_sku = $2 AND sequence_id = $3",
            )
            .bind(source)
            .bind(sku)
            .bind(*seq)
            .fetch_optional(self.pool())
            .await?;
            if let Some(r) = row {
                out.insert((source.clone(), sku.clone(), *seq), (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
            }
        }
        Ok(out)
    }

    /// Parts with their stock and the thresholds in force, by part id; only those below their
    /// reorder point when `below_reorder`.
    pub async fn parts_overview(&self, below_reorder: bool) -> Result<Vec<PartOverview>, StoreError> {
        self.parts_overview_page(below_reorder, None, i64::MAX).await
    }

    /// At most `limit` parts of [`Store::parts_overview`] whose id sorts after `after` (keyset
    /// pagination: the primary-key index finds the start, nothing before it is scanned).
    pub async fn parts_overview_page(
        &self,
        below_reorder: bool,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PartOverview>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{PART_OVERVIEW} WHERE ($1 = 0 OR (s.on_hand - s.reserved < t.reorder_qty)) AND p.part_id > $2 \
             ORDER BY p.part_id LIMIT $3"
        )))
        .bind(i64::from(below_reorder))
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(decode_part_overview).collect::<Result<_, _>>()?)
    }

    /// Every part id (scans may name a part directly).
    pub async fn part_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT part_id FROM parts").fetch_all(self.pool()).await?)
    }

    /// Distinct (source, SKU) of consumption not yet mapped to a part, with how many events.
    pub async fn unmapped_consumption(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT source, external_sku, COUNT(*) FROM consumption WHERE part_id IS NULL GROUP BY source, external_sku",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
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

    /// Opens (or refreshes) the quarantine entry of a SKU that cannot be mapped.
    pub async fn quarantine_hold(
        &self,
        source: &str,
        sku: &str,
        reason: &str,
        candidates: Option<&str>,
        held_count: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO quarantine (source, external_sku, reason, candidates, held_count, status, first_seen, last_seen) \
             VALUES ($1, $2, $3, $4, $5, 'OPEN', $6, $6) \
             ON CONFLICT (source, external_sku) WHERE status = 'OPEN' DO UPDATE SET reason = excluded.reason, \
             candidates = excluded.candidates, held_count = excluded.held_count, last_seen = excluded.last_seen",
        )
        .bind(source)
        .bind(sku)
        .bind(reason)
        .bind(candidates)
        .bind(held_count)
        .bind(now_ms)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Closes the open quarantine entry of a SKU that now maps to `part_id`.
    pub async fn quarantine_release(
        &self,
        source: &str,
        sku: &str,
        part_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE quarantine SET status = 'RESOLVED', resolved_part_id = $1, resolved_at = $2 \
             WHERE source = $3 AND external_sku = $4 AND status = 'OPEN'",
        )
        .bind(part_id)
        .bind(now_ms)
        .bind(source)
        .bind(sku)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Quarantine entries, open ones first.
    pub async fn quarantine(&self, only_open: bool) -> Result<Vec<QuarantineRow>, StoreError> {
        self.quarantine_page(only_open, None, i64::MAX).await
    }

    /// At most `limit` entries of [`Store::quarantine`] after the entry `(status, id)`.
    pub async fn quarantine_page(
        &self,
        only_open: bool,
        after: Option<(&str, i64)>,
        limit: i64,
    ) -> Result<Vec<QuarantineRow>, StoreError> {
        let (after_status, after_id) = after.unwrap_or(("", 0));
        let rows = sqlx::query(
            "SELECT id, source, external_sku, reason, candidates, held_count, status, resolved_part_id FROM quarantine \
             WHERE ($1 = 0 OR status = 'OPEN') AND ($2 = '' OR status < $2 OR (status = $2 AND id > $3)) \
             ORDER BY status DESC, id LIMIT $4",
        )
        .bind(i64::from(only_open))
        .bind(after_status)
        .bind(after_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QuarantineRow {
                    id: r.try_get(0)?,
                    source: r.try_get(1)?,
                    external_sku: r.try_get(2)?,
                    reason: r.try_get(3)?,
                    candidates: r.try_get(4)?,
                    held_count: r.try_get(5)?,
                    status: r.try_get(6)?,
                    resolved_part_id: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// Adds an explicit SKU mapping (an operator's quarantine decision).
    pub async fn add_sku_mapping(
        &self,
        source: &str,
        sku: &str,
        norm: &str,
        part_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sku_map (source, external_sku, norm_sku, part_id, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (source, external_sku) DO UPDATE SET part_id = excluded.part_id, updated_at = excluded.updated_at",
        )
        .bind(source)
        .bind(sku)
        .bind(norm)
        .bind(part_id)
        .bind(now_ms)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Snapshots still to pass the gate (new, or quarantined awaiting a mapping), in sequence order.
    pub async fn staged_snapshots(&self) -> Result<Vec<StagedSnapshot>, StoreError> {
        let rows = sqlx::query(
            "SELECT source, external_sku, sequence_id, on_hand, observed_at FROM inventory_snapshots \
             WHERE status IN ('PENDING', 'QUARANTINED') AND voided = 0 ORDER BY source, external_sku, sequence_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StagedSnapshot {
                    source: r.try_get(0)?,
                    external_sku: r.try_get(1)?,
                    sequence_id: r.try_get(2)?,
                    on_hand: r.try_get(3)?,
                    observed_at: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// The latest snapshot of a part held as implausible, if any.
    pub async fn held_snapshot(&self, part_id: &str) -> Result<Option<StagedSnapshot>, StoreError> {
        let row = sqlx::query(
            "SELECT source, external_sku, sequence_id, on_hand, observed_at FROM inventory_snapshots \
             WHERE part_id = $1 AND status = 'HELD' AND voided = 0 ORDER BY observed_at DESC, sequence_id DESC LIMIT 1",
        )
        .bind(part_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(StagedSnapshot {
                source: r.try_get(0)?,
                external_sku: r.try_get(1)?,
                sequence_id: r.try_get(2)?,
                on_hand: r.try_get(3)?,
                observed_at: r.try_get(4)?,
            })
        })
        .transpose()
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
        status: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE inventory_snapshots SET status = $1, reason = $2, part_id = $3 \
             WHERE source = $4 AND external_sku = $5 AND sequence_id = $6 \
             AND status IN ('PENDING', 'QUARANTINED', 'HELD')",
        )
        .bind(status)
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

    /// Applies a snapshot: last sequence, stock state and the snapshot's status, in one
    /// transaction. The sequence only moves forward: when a newer snapshot of the same
    /// (source, SKU) was applied meanwhile (another process), nothing changes and this returns false.
    pub async fn apply_snapshot(&self, s: &StagedSnapshot, part_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let advanced = sqlx::query(
            "INSERT INTO snapshot_sequences (source, external_sku, last_sequence_id, applied_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (source, external_sku) DO UPDATE SET last_sequence_id = excluded.last_sequence_id, \
             applied_at = excluded.applied_at WHERE snapshot_sequences.last_sequence_id < excluded.last_sequence_id",
        )
        .bind(&s.source)
        .bind(&s.external_sku)
        .bind(s.sequence_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if advanced == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO inventory_state (part_id, on_hand, observed_at, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (part_id) DO UPDATE SET on_hand = excluded.on_hand, observed_at = excluded.observed_at, \
             updated_at = excluded.updated_at",
        )
        .bind(part_id)
        .bind(s.on_hand)
        .bind(s.observed_at)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE inventory_snapshots SET status = 'APPLIED', reason = NULL, part_id = $1 \
             WHERE source = $2 AND external_sku = $3 AND sequence_id = $4",
        )
        .bind(part_id)
        .bind(&s.source)
        .bind(&s.external_sku)
        .bind(s.sequence_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
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

    /// A part's stock state.
    pub async fn stock(&self, part_id: &str) -> Result<Option<StockState>, StoreError> {
        let row =
            sqlx::query("SELECT on_hand, reserved, observed_at, paused_reason FROM inventory_state WHERE part_id = $1")
                .bind(part_id)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| {
            Ok(StockState {
                on_hand: r.try_get(0)?,
                reserved: r.try_get(1)?,
                observed_at: r.try_get(2)?,
                paused_reason: r.try_get(3)?,
            })
        })
        .transpose()
    }

    /// The stock state of every part that has one (reports).
    pub async fn stock_all(&self) -> Result<std::collections::HashMap<String, StockState>, StoreError> {
        let rows = sqlx::query("SELECT part_id, on_hand, reserved, observed_at, paused_reason FROM inventory_state")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    StockState {
                        on_hand: r.try_get(1)?,
                        reserved: r.try_get(2)?,
                        observed_at: r.try_get(3)?,
                        paused_reason: r.try_get(4)?,
                    },
                ))
            })
            .collect()
    }

    /// Pauses routing for a part (`Some(reason)`) or resumes it (`None`); `set_on_hand` replaces
    /// the stock figure (an accepted count).
    pub async fn set_pause(
        &self,
        part_id: &str,
        reason: Option<&str>,
        set_on_hand: Option<f64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let q = sqlx::query(
            "INSERT INTO inventory_state (part_id, on_hand, observed_at, paused_reason, paused_since, updated_at) \
             VALUES ($1, COALESCE($2, 0), $3, $4, CASE WHEN $4 IS NULL THEN NULL ELSE $3 END, $3) \
             ON CONFLICT (part_id) DO UPDATE SET on_hand = COALESCE($2, inventory_state.on_hand), \
             paused_reason = excluded.paused_reason, paused_since = excluded.paused_since, updated_at = excluded.updated_at",
        )
        .bind(part_id);
        bind_opt_f64(q, set_on_hand).bind(now_ms).bind(reason).execute(self.writer()).await?;
        Ok(())
    }

    /// Scans not yet reconciled, oldest first.
    pub async fn staged_scans(&self) -> Result<Vec<StagedScan>, StoreError> {
        let rows = sqlx::query(
            "SELECT scan_id, code, counted_qty, scanned_at FROM scans WHERE outcome IN ('PENDING', 'QUARANTINED') \
             ORDER BY scanned_at, scan_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StagedScan {
                    scan_id: r.try_get(0)?,
                    code: r.try_get(1)?,
                    counted_qty: r.try_get(2)?,
                    scanned_at: r.try_get(3)?,
                })
            })
            .collect()
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
        outcome: &str,
    ) -> Result<bool, StoreError> {
        let open = if outcome == "ACCEPTED" { "('DISCREPANCY')" } else { "('PENDING', 'QUARANTINED')" };
        let sql = format!(
            "UPDATE scans SET part_id = $1, system_qty = $2, outcome = $3 WHERE scan_id = $4 AND outcome IN {open}"
        );
        let changed = bind_opt_f64(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(part_id), system_qty)
            .bind(outcome)
            .bind(scan_id)
            .execute(self.writer())
            .await?
            .rows_affected();
        Ok(changed > 0)
    }

    /// A scan's part and counted quantity.
    pub async fn scan(&self, scan_id: &str) -> Result<Option<(Option<String>, f64, String)>, StoreError> {
        let row = sqlx::query("SELECT part_id, counted_qty, outcome FROM scans WHERE scan_id = $1")
            .bind(scan_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).transpose()
    }

    /// The latest discrepant scan of a part: `(counted, system, scanned_at)`.
    pub async fn pausing_scan(&self, part_id: &str) -> Result<Option<(f64, f64, i64)>, StoreError> {
        let row = sqlx::query(
            "SELECT counted_qty, system_qty, scanned_at FROM scans WHERE part_id = $1 AND outcome = 'DISCREPANCY' \
             ORDER BY scanned_at DESC, scan_id DESC LIMIT 1",
        )
        .bind(part_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get::<Option<f64>, _>(1)?.unwrap_or(0.0), r.try_get(2)?))).transpose()
    }

    /// Raises an alert, or refreshes the open one of the same kind and subject.
    pub async fn raise_alert(
        &self,
        kind: &str,
        subject: &str,
        message: &str,
        details: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO alerts (kind, subject, message, details, status, created_at) VALUES ($1, $2, $3, $4, 'OPEN', $5) \
             ON CONFLICT (kind, subject) WHERE status = 'OPEN' DO UPDATE SET message = excluded.message, details = excluded.details",
        )
        .bind(kind)
        .bind(subject)
        .bind(message)
        .bind(details)
        .bind(now_ms)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Resolves the open alert of a kind and subject, if any.
    pub async fn resolve_alert(&self, kind: &str, subject: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE alerts SET status = 'RESOLVED', resolved_at = $1 WHERE kind = $2 AND subject = $3 AND status = 'OPEN'")
            .bind(now_ms)
            .bind(kind)
            .bind(subject)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Open alerts, newest first.
    pub async fn open_alerts(&self) -> Result<Vec<AlertRow>, StoreError> {
        self.open_alerts_page(None, i64::MAX).await
    }

    /// At most `limit` open alerts older (smaller id) than `before_id`, newest first.
    pub async fn open_alerts_page(&self, before_id: Option<i64>, limit: i64) -> Result<Vec<AlertRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, subject, message, status, created_at FROM alerts WHERE status = 'OPEN' \
             AND ($1 = 0 OR id < $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(before_id.unwrap_or(0))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AlertRow {
                    id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    subject: r.try_get(2)?,
                    message: r.try_get(3)?,
                    status: r.try_get(4)?,
                    created_at: r.try_get(5)?,
                })
            })
            .collect()
    }
}
