//! Saved backtest reports: `cmms backtest` stores each report it prints, the dashboard shows the
//! latest. The report is kept as the JSON document `cmms backtest --format json` prints, so its
//! shape is the pipeline's (`cmms_pipeline::compute::BacktestReport`), not the store's.

use crate::{Store, StoreError};

/// A saved backtest report.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BacktestRow {
    /// Its id (ascending in the order of saving).
    pub id: i64,
    /// When it was saved, epoch ms.
    pub created_at: i64,
    /// What was replayed, in words (the input folder).
    pub source: String,
    /// The report, JSON.
    pub report: String,
}

impl Store {
    /// Saves a backtest report (JSON text) made at `created_at` (epoch ms) from `source`; its id.
    pub async fn save_backtest_report(&self, created_at: i64, source: &str, report: &str) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO backtest_reports (created_at, source, report) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(created_at)
        .bind(source)
        .bind(report)
        .fetch_one(self.writer())
        .await?;
        Ok(id)
    }

    /// The latest saved backtest report (the highest id), `None` before the first.
    pub async fn latest_backtest_report(&self) -> Result<Option<BacktestRow>, StoreError> {
        Ok(sqlx::query_as("SELECT id, created_at, source, report FROM backtest_reports ORDER BY id DESC LIMIT 1")
            .fetch_optional(self.pool())
            .await?)
    }
}
