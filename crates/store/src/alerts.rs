//! Alerts for operators: at most one open per kind and subject, refreshed while the condition
//! lasts and resolved when it ends.

use crate::codes::{AlertKind, OpenStatus};
use crate::{Store, StoreError};
use sqlx::AssertSqlSafe;

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
        /// More detail, if any.
        details: Option<String>,
    },
    /// Resolve the open alert, if any.
    Resolve {
        /// Its kind.
        kind: AlertKind,
        /// What it is about.
        subject: String,
    },
}

/// Applies `updates` in order inside the caller's transaction: runs of raises (or of resolves of
/// one kind) with distinct subjects, at most 1,000 each, are one statement (a statement per alert
/// cost a round trip to the database each: most of a first recompute's thresholds stage).
pub(crate) async fn apply_alert_updates(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: crate::Backend,
    updates: &[AlertUpdate],
    now_ms: i64,
) -> Result<(), StoreError> {
    use crate::rows::placeholder;
    for run in crate::rows::distinct_runs(updates, 1000, AlertUpdate::key, same_run) {
        match &run[0] {
            AlertUpdate::Raise { .. } => {
                let rows: Vec<String> = (0..run.len())
                    .map(|r| {
                        let p = |i: usize| placeholder(backend, 5 * r + i);
                        format!("({}, {}, {}, {}, 'OPEN', {})", p(1), p(2), p(3), p(4), p(5))
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO alerts (kind, subject, message, details, status, created_at) VALUES {} \
                     ON CONFLICT (kind, subject) WHERE status = 'OPEN' DO UPDATE SET message = excluded.message, \
                     details = excluded.details",
                    rows.join(", ")
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for u in run {
                    if let AlertUpdate::Raise { kind, subject, message, details } = u {
                        q = q.bind(kind.as_str()).bind(subject.as_str()).bind(message.as_str());
                        q = q.bind(details.as_deref()).bind(now_ms);
                    }
                }
                q.execute(&mut **tx).await?;
            }
            AlertUpdate::Resolve { kind, .. } => {
                let list: Vec<String> = (0..run.len()).map(|i| placeholder(backend, i + 3)).collect();
                let sql = format!(
                    "UPDATE alerts SET status = 'RESOLVED', resolved_at = {} WHERE status = 'OPEN' AND kind = {} \
                     AND subject IN ({})",
                    placeholder(backend, 1),
                    placeholder(backend, 2),
                    list.join(", ")
                );
                let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now_ms).bind(kind.as_str());
                for u in run {
                    q = q.bind(u.key().1);
                }
                q.execute(&mut **tx).await?;
            }
        }
    }
    Ok(())
}

/// Whether `u` may join the statement of the run that `first` starts.
fn same_run(first: &AlertUpdate, u: &AlertUpdate) -> bool {
    match (first, u) {
        (AlertUpdate::Raise { .. }, AlertUpdate::Raise { .. }) => true,
        (AlertUpdate::Resolve { kind: a, .. }, AlertUpdate::Resolve { kind: b, .. }) => a == b,
        _ => false,
    }
}

impl AlertUpdate {
    /// The alert's kind and subject.
    fn key(&self) -> (&'static str, &str) {
        match self {
            AlertUpdate::Raise { kind, subject, .. } | AlertUpdate::Resolve { kind, subject } => {
                (kind.as_str(), subject.as_str())
            }
        }
    }
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
        let (subject, message, details) = (subject.to_owned(), message.to_owned(), details.map(str::to_owned));
        self.update_alerts(&[AlertUpdate::Raise { kind, subject, message, details }], now_ms).await
    }

    /// Resolves the open alert of a kind and subject, if any.
    pub async fn resolve_alert(&self, kind: AlertKind, subject: &str, now_ms: i64) -> Result<(), StoreError> {
        self.update_alerts(&[AlertUpdate::Resolve { kind, subject: subject.to_owned() }], now_ms).await
    }

    /// Applies `updates` in one transaction.
    async fn update_alerts(&self, updates: &[AlertUpdate], now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        apply_alert_updates(&mut tx, self.backend(), updates, now_ms).await?;
        tx.commit().await?;
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

    /// How many alerts are open.
    pub async fn open_alert_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE status = 'OPEN'").fetch_one(self.pool()).await?)
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
