//! Alerts for operators: at most one open per kind and subject, refreshed while the condition
//! lasts and resolved when it ends.

use crate::codes::{AlertKind, OpenStatus};
use crate::{Store, StoreError};

/// An alert for operators.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct AlertRow {
    /// Its id.
    pub id: i64,
    /// `DRIFT`, `SCAN_DISCREPANCY`, `IMPLAUSIBLE_DROP` …
    #[sqlx(try_from = "String")]
    pub kind: AlertKind,
    /// What it is about (a part id).
    pub subject: String,
    /// In words.
    pub message: String,
    /// `OPEN` or `RESOLVED`.
    #[sqlx(try_from = "String")]
    pub status: OpenStatus,
    /// Raised at, epoch ms.
    pub created_at: i64,
}

impl Store {
    /// Raises an alert, or refreshes the open one of the same kind and subject.
    pub async fn raise_alert(
        &self,
        kind: AlertKind,
        subject: &str,
        message: &str,
        details: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO alerts (kind, subject, message, details, status, created_at) VALUES ($1, $2, $3, $4, 'OPEN', $5) \
             ON CONFLICT (kind, subject) WHERE status = 'OPEN' DO UPDATE SET message = excluded.message, details = excluded.details",
        )
        .bind(kind.as_str())
        .bind(subject)
        .bind(message)
        .bind(details)
        .bind(now_ms)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Resolves the open alert of a kind and subject, if any.
    pub async fn resolve_alert(&self, kind: AlertKind, subject: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE alerts SET status = 'RESOLVED', resolved_at = $1 WHERE kind = $2 AND subject = $3 AND status = 'OPEN'")
            .bind(now_ms)
            .bind(kind.as_str())
            .bind(subject)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Open alerts, newest first.
    pub async fn open_alerts(&self) -> Result<Vec<AlertRow>, StoreError> {
        self.open_alerts_page(None, i64::MAX).await
    }

    /// The subjects of the open alerts of one kind (read from the index of open alerts alone: a
    /// recompute compares every part with them, and there may be hundreds of thousands).
    pub async fn open_alert_subjects(&self, kind: AlertKind) -> Result<std::collections::HashSet<String>, StoreError> {
        let subjects: Vec<String> =
            sqlx::query_scalar("SELECT subject FROM alerts WHERE status = 'OPEN' AND kind = $1")
                .bind(kind.as_str())
                .fetch_all(self.pool())
                .await?;
        Ok(subjects.into_iter().collect())
    }

    /// At most `limit` open alerts older (smaller id) than `before_id`, newest first.
    pub async fn open_alerts_page(&self, before_id: Option<i64>, limit: i64) -> Result<Vec<AlertRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, kind, subject, message, status, created_at FROM alerts WHERE status = 'OPEN' \
             AND ($1 = 0 OR id < $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(before_id.unwrap_or(0))
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
