//! The publication outbox's dead-letter queue: deliveries that exhausted their retries, kept with
//! their payload and reason, and replayed by putting them back into the outbox as new rows.

use crate::{Store, StoreError};

/// A dead-lettered delivery.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct DeadLetterRow {
    /// Its id.
    pub id: i64,
    /// The outbox row it came from.
    pub outbox_id: i64,
    /// The publication target.
    pub target: String,
    /// The part the thresholds are for.
    pub part_id: String,
    /// The sequence of the change.
    pub sequence_id: Option<i64>,
    /// The request body that was sent.
    pub payload: String,
    /// The full request as last sent (method, URL, headers with the token redacted, body), as
    /// JSON; absent for entries written before it was recorded.
    pub request: Option<String>,
    /// Why it was dead-lettered.
    pub reason: String,
    /// When, epoch ms.
    pub created_at: i64,
    /// When it was replayed, epoch ms.
    pub replayed_at: Option<i64>,
}

const SELECT: &str = "SELECT d.id, d.outbox_id, d.target, d.part_id, d.payload, d.reason, d.created_at, d.replayed_at, \
     COALESCE(d.sequence_id, o.sequence_id) AS sequence_id, d.request FROM dead_letters d LEFT JOIN outbox o ON o.id = d.outbox_id";

impl Store {
    /// Dead letters, newest first; only those not yet replayed unless `all`.
    pub async fn dead_letters(&self, all: bool) -> Result<Vec<DeadLetterRow>, StoreError> {
        self.dead_letters_page(all, None, i64::MAX).await
    }

    /// At most `limit` dead letters of [`Store::dead_letters`] older (smaller id) than `before_id`.
    pub async fn dead_letters_page(
        &self,
        all: bool,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeadLetterRow>, StoreError> {
        let sql = format!(
            "{SELECT} WHERE ($1 = 1 OR d.replayed_at IS NULL) AND ($2 = 0 OR d.id < $2) ORDER BY d.id DESC LIMIT $3"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(all))
            .bind(before_id.unwrap_or(0))
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }

    /// One dead letter.
    pub async fn dead_letter(&self, id: i64) -> Result<Option<DeadLetterRow>, StoreError> {
        let sql = format!("{SELECT} WHERE d.id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?)
    }

    /// Puts a dead letter back into the outbox as a new pending delivery (same target, part,
    /// sequence and payload) and marks it replayed, in one transaction. The new row follows the
    /// same rules as any change: retried, dead-lettered again, or superseded when the target
    /// already confirmed this sequence or a newer one. Returns the new outbox id,
    /// or `None` when it was already replayed.
    pub async fn replay_dead_letter(&self, id: i64, now_ms: i64) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE dead_letters SET replayed_at = $1 WHERE id = $2 AND replayed_at IS NULL")
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let outbox_id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (target, part_id, sequence_id, payload, status, attempts, next_attempt_at, created_at) \
             SELECT o.target, o.part_id, o.sequence_id, d.payload, 'PENDING', 0, $1, $1 \
             FROM dead_letters d JOIN outbox o ON o.id = d.outbox_id WHERE d.id = $2 RETURNING id",
        )
        .bind(now_ms)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO outbox_heads (target, part_id) SELECT target, part_id FROM dead_letters WHERE id = $1 \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(outbox_id))
    }
}
