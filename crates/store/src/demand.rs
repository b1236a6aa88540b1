//! Consumption history per part for the demand-driven threshold methods (SBA, TSB, empirical,
//! auto): every mapped, non-voided event of the last `history_days` before the computation
//! instant, and each part's first consumption (which bounds its history).

use crate::{Store, StoreError};
use std::collections::HashMap;

/// One part's consumption as the demand-driven methods read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartHistory {
    /// Epoch milliseconds of the part's first mapped, non-voided consumption before `as_of`.
    pub first_ms: Option<i64>,
    /// `(consumed_at epoch ms, quantity)` of the events in `[from_ms, as_of_ms)`, in no order.
    pub events: Vec<(i64, f64)>,
}

impl Store {
    /// The consumption history of every part with consumption before `as_of_ms`: its events in
    /// `[from_ms, as_of_ms)` and its first event. One pass over the consumption index.
    pub async fn consumption_history(
        &self,
        from_ms: i64,
        as_of_ms: i64,
    ) -> Result<HashMap<String, PartHistory>, StoreError> {
        let mut out: HashMap<String, PartHistory> = HashMap::new();
        let firsts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT part_id, MIN(consumed_at) FROM consumption \
             WHERE part_id IS NOT NULL AND consumed_at < $1 AND voided = 0 GROUP BY part_id",
        )
        .bind(as_of_ms)
        .fetch_all(self.pool())
        .await?;
        for (part, first) in firsts {
            out.entry(part).or_default().first_ms = Some(first);
        }
        let rows: Vec<(String, i64, f64)> = sqlx::query_as(
            "SELECT part_id, consumed_at, quantity FROM consumption \
             WHERE part_id IS NOT NULL AND consumed_at >= $1 AND consumed_at < $2 AND voided = 0",
        )
        .bind(from_ms)
        .bind(as_of_ms)
        .fetch_all(self.pool())
        .await?;
        for (part, at, q) in rows {
            out.entry(part).or_default().events.push((at, q));
        }
        Ok(out)
    }
}

/// How the thresholds in force of a part were computed: the method, the demand class and the
/// figures behind them (the `policy` object of the computation's inputs document).
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdMethodRow {
    /// `moving_average` (also for rows written before migration 11), or the demand-driven method.
    pub method: String,
    /// The demand class, for the demand-driven methods.
    pub demand_class: Option<String>,
    /// The `policy` object of the inputs (method, class, ADI, CV², forecast, σ, z, order quantity,
    /// service level), `None` for the seed formula.
    pub policy: Option<serde_json::Value>,
}

impl Store {
    /// Per part, how its thresholds in force were computed (parts whose thresholds in force came
    /// from a calculation; received thresholds have none).
    pub async fn threshold_methods(&self) -> Result<HashMap<String, ThresholdMethodRow>, StoreError> {
        let rows: Vec<(String, Option<String>, Option<String>, String)> = sqlx::query_as(
            "SELECT c.part_id, t.method, t.demand_class, t.inputs FROM current_thresholds c \
             JOIN thresholds t ON t.id = c.threshold_id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(part, method, demand_class, inputs)| {
                let policy = serde_json::from_str::<serde_json::Value>(&inputs)
                    .ok()
                    .and_then(|mut v| v.get_mut("policy").map(serde_json::Value::take));
                let row = ThresholdMethodRow {
                    method: method.unwrap_or_else(|| "moving_average".to_owned()),
                    demand_class,
                    policy,
                };
                (part, row)
            })
            .collect())
    }
}
