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
    /// The method of a computed row (`moving_average` for rows written before migration 11).
    pub method: Option<String>,
    /// The demand class, for the demand-driven methods.
    pub demand_class: Option<String>,
    /// The `policy` object of the computation's inputs: the forecast figures of a demand-driven
    /// method (`None` for the seed formula).
    pub policy: Option<serde_json::Value>,
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
    inputs: Option<String>,
    method: Option<String>,
    demand_class: Option<String>,
}

impl From<HistoryRow> for ThresholdHistoryRow {
    fn from(r: HistoryRow) -> ThresholdHistoryRow {
        ThresholdHistoryRow {
            origin: r.origin,
            sequence_id: r.sequence_id,
            basis: r.basis,
            formula_version: r.formula_version,
            published: triple(r.published_min, r.published_reorder, r.published_max),
            computed: triple(r.computed_min, r.computed_reorder, r.computed_max),
            avg_daily_usage: r.avg_daily_usage,
            at: r.at,
            reason: if r.status == "OK" { None } else { error_reason(r.inputs.as_deref()) },
            method: match r.origin {
                ThresholdOrigin::Computed if r.status == "OK" => {
                    Some(r.method.unwrap_or_else(|| "moving_average".to_owned()))
                }
                _ => None,
            },
            demand_class: r.demand_class,
            policy: r
                .inputs
                .as_deref()
                .and_then(|i| serde_json::from_str::<serde_json::Value>(i).ok())
                .and_then(|mut v| v.get_mut("policy").map(serde_json::Value::take)),
            status: r.status,
        }
    }
}

impl Store {
    /// A part's threshold history, newest first: computed changes and received deliveries.
    pub async fn threshold_history(&self, part_id: &str, limit: i64) -> Result<Vec<ThresholdHistoryRow>, StoreError> {
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT 'COMPUTED' AS origin, sequence_id, status, basis, formula_version, published_min, published_reorder, \
             published_max, computed_min, computed_reorder, computed_max, avg_daily_usage, created_at AS at, \
             inputs, method, demand_class FROM thresholds \
             WHERE part_id = $1 UNION ALL SELECT 'RECEIVED', sequence_id, 'OK', 'RECEIVED', NULL, min_qty, reorder_qty, \
             max_qty, NULL, NULL, NULL, NULL, received_at, NULL, NULL, NULL FROM received_thresholds WHERE part_id = $1 \
             ORDER BY 13 DESC, 2 DESC LIMIT $2",
        )
        .bind(part_id)
        .bind(limit)
        .fetch_all(self.writer())
        .await?;
        Ok(rows.into_iter().map(ThresholdHistoryRow::from).collect())
    }
}
