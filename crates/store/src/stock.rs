//! Stock state per part (on hand, reserved, routing pause) and the parts overview with the
//! thresholds in force.

use crate::codes::{NullableCode, ThresholdBasis};
use crate::rows::bind_opt_f64;
use crate::staging::StagedSnapshot;
use crate::{Store, StoreError};
use sqlx::AssertSqlSafe;

/// A part with its stock and the thresholds in force.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
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
    /// Units per pack (order multiple), if set.
    pub pack_size: Option<f64>,
    /// Minimum order quantity, if set.
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
    #[sqlx(try_from = "NullableCode")]
    pub basis: Option<ThresholdBasis>,
    /// Publication sequence of the thresholds in force.
    pub sequence_id: Option<i64>,
}

/// Stock state of a part.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
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

/// A part's stock state with its id.
#[derive(sqlx::FromRow)]
struct PartStock {
    part_id: String,
    #[sqlx(flatten)]
    stock: StockState,
}

/// The query of [`PartOverview`] rows, to be completed with a `WHERE` clause on `p`, `s` or `t`.
pub(crate) const PART_OVERVIEW: &str = "SELECT p.part_id, p.description, p.unit, p.site_id, p.part_class, \
     p.lead_time_days, p.pack_size, p.min_order_qty, s.on_hand, s.on_hand - COALESCE(s.reserved, 0.0) AS available, s.paused_reason, \
     t.min_qty AS min, t.reorder_qty AS reorder, t.max_qty AS max, t.basis, t.sequence_id \
     FROM parts p LEFT JOIN inventory_state s ON s.part_id = p.part_id \
     LEFT JOIN current_thresholds t ON t.part_id = p.part_id";

impl Store {
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
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "{PART_OVERVIEW} WHERE ($1 = 0 OR (s.on_hand - s.reserved < t.reorder_qty)) AND p.part_id > $2 \
             ORDER BY p.part_id LIMIT $3"
        )))
        .bind(i64::from(below_reorder))
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
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

    /// A part's stock state.
    pub async fn stock(&self, part_id: &str) -> Result<Option<StockState>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT on_hand, reserved, observed_at, paused_reason FROM inventory_state WHERE part_id = $1",
        )
        .bind(part_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The stock state of every part that has one (reports).
    pub async fn stock_all(&self) -> Result<std::collections::HashMap<String, StockState>, StoreError> {
        let rows: Vec<PartStock> =
            sqlx::query_as("SELECT part_id, on_hand, reserved, observed_at, paused_reason FROM inventory_state")
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|r| (r.part_id, r.stock)).collect())
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
}
