//! A part's threshold history: the computed changes and the received deliveries, newest first.

use crate::codes::{ThresholdBasis, ThresholdOrigin};
use crate::thresholds::{error_reason, triple};
use crate::{Store, StoreError};

/// One entry of a part's threshold history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThresholdHistoryRow {
    /// `COMPUTED` (this service's calculation) or `RECEIVED` (pushed over the API).
    pub origin: ThresholdOrigin,
    /// Publication sequence.
    pub sequence_id: i64,
    /// `OK` or the calculation's error code.
    pub status: String,
    /// `COMPUTED`, `APPROVED`, `FALLBACK`, `RECEIVED` or `NONE`.
    pub basis: ThresholdBasis,
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

/// An entry of a part's threshold history, as [`Store::threshold_history`] reads it.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    #[sqlx(try_from = "String")]
    origin: ThresholdOrigin,
    sequence_id: i64,
    status: String,
    #[sqlx(try_from = "String")]
    basis: ThresholdBasis,
    formula_version: Option<i64>,
    published_min: Option<f64>,
    published_reorder: Option<f64>,
    published_max: Option<f64>,
    computed_min: Option<f64>,
    computed_reorder: Option<f64>,
    computed_max: Option<f64>,
    avg_daily_usage: Option<f64>,
    at: i64,
    error_inputs: Option<String>,
}

impl From<HistoryRow> for ThresholdHistoryRow {
    fn from(r: HistoryRow) -> ThresholdHistoryRow {
        ThresholdHistoryRow {
            origin: r.origin,
            sequence_id: r.sequence_id,
            status: r.status,
            basis: r.basis,
            formula_version: r.formula_version,
            published: triple(r.published_min, r.published_reorder, r.published_max),
            computed: triple(r.computed_min, r.computed_reorder, r.computed_max),
            avg_daily_usage: r.avg_daily_usage,
            at: r.at,
            reason: error_reason(r.error_inputs.as_deref()),
        }
    }
}

impl Store {
    /// A part's threshold history, newest first: computed changes and received deliveries.
    pub async fn threshold_history(&self, part_id: &str, limit: i64) -> Result<Vec<ThresholdHistoryRow>, StoreError> {
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT 'COMPUTED' AS origin, sequence_id, status, basis, formula_version, published_min, published_reorder, \
             published_max, computed_min, computed_reorder, computed_max, avg_daily_usage, created_at AS at, \
             CASE WHEN status <> 'OK' THEN inputs END AS error_inputs FROM thresholds \
             WHERE part_id = $1 UNION ALL SELECT 'RECEIVED', sequence_id, 'OK', 'RECEIVED', NULL, min_qty, reorder_qty, \
             max_qty, NULL, NULL, NULL, NULL, received_at, NULL FROM received_thresholds WHERE part_id = $1 \
             ORDER BY 13 DESC, 2 DESC LIMIT $2",
        )
        .bind(part_id)
        .bind(limit)
        .fetch_all(self.writer())
        .await?;
        Ok(rows.into_iter().map(ThresholdHistoryRow::from).collect())
    }
}
