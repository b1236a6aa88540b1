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

/// Raises an alert, or refreshes the open one of the same kind and subject.
const RAISE: &str = "INSERT INTO alerts (kind, subject, message, details, status, created_at) VALUES ($1, $2, $3, $4, 'OPEN', $5) \
     ON CONFLICT (kind, subject) WHERE status = 'OPEN' DO UPDATE SET message = excluded.message, details = excluded.details";

/// Resolves the open alert of a kind and subject, if any.
const RESOLVE: &str =
    "UPDATE alerts SET status = 'RESOLVED', resolved_at = $1 WHERE kind = $2 AND subject = $3 AND status = 'OPEN'";

/// A change to the open alert of one kind and subject, written together with other changes
/// (see [`Store::store_threshold_changes`]).
#[derive(Debug, Clone, PartialEq)]
pub enum AlertUpdate {
    /// Raise the alert, or refresh the open one's message.
    Raise {
        /// Its kind.
        kind: AlertKind,
        /// What it is about (a part id).
        subject: String,
        /// In words.
        message: String,
    },
    /// Resolve the open alert, if any.
    Resolve {
        /// Its kind.
        kind: AlertKind,
        /// What it is about.
        subject: String,
    },
}

/// Applies `updates` in order inside the caller's transaction.
pub(crate) async fn apply_alert_updates(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    updates: &[AlertUpdate],
    now_ms: i64,
) -> Result<(), StoreError> {
    for u in updates {
        match u {
            AlertUpdate::Raise { kind, subject, message } => {
                sqlx::query(RAISE)
                    .bind(kind.as_str())
                    .bind(subject.as_str())
                    .bind(message.as_str())
                    .bind(None::<&str>)
                    .bind(now_ms)
                    .execute(&mut **tx)
                    .await?;
            }
            AlertUpdate::Resolve { kind, subject } => {
                sqlx::query(RESOLVE).bind(now_ms).bind(kind.as_str()).bind(subject.as_str()).execute(&mut **tx).await?;
            }
        }
    }
    Ok(())
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
        sqlx::query(RAISE)
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
        sqlx::query(RESOLVE).bind(now_ms).bind(kind.as_str()).bind(subject).execute(self.writer()).await?;
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
