//! The publication outbox: rows written in the same transaction as the threshold change they
//! announce, per-(target, part) leases that let several instances share the outbox without
//! double-sending, and the bookkeeping of every delivery attempt.
//!
//! Claims: a publisher leases `(target, part)` heads with due work (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; SQLite serialises writers, so the same single `UPDATE … RETURNING` is atomic there).
//! A lease expires, so the heads of an instance that died are taken over. While it holds a head,
//! an instance sends that part's newest pending change; older undelivered ones are superseded
//! (the target only needs the latest thresholds, and a newer sequence must never be overtaken by
//! an older one), as is any change not newer than what the target already confirmed.

use crate::codes::OutboxStatus;
use crate::{Backend, Store, StoreError};
use cmms_core::publication::{ThresholdSync, target_wants};

/// Which parts' threshold changes go to a target (the delivery settings live with the publisher).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationRoute {
    /// The target's name (the outbox rows' `target`).
    pub target: String,
    /// Only these parts (with `classes`: either matches); both empty means every part.
    pub parts: Vec<String>,
    /// Only parts of these classes.
    pub classes: Vec<String>,
}

/// A `(target, part)` head leased to one publisher instance.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Claim {
    /// The target.
    pub target: String,
    /// The part.
    pub part_id: String,
}

/// The change a lease holder should send next.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    /// The outbox row.
    pub id: i64,
    /// The target.
    pub target: String,
    /// The part.
    pub part_id: String,
    /// Its sequence.
    pub sequence_id: i64,
    /// The JSON body to send.
    pub payload: String,
    /// Attempts made so far.
    pub attempts: i64,
}

/// What an attempt ended with, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptResult {
    /// Delivered (2xx) or already applied (409): finished.
    Done,
    /// To be retried at this instant (epoch ms).
    Retry(i64),
    /// Dead-lettered, for this reason.
    Dead(String),
}

/// One delivery attempt, as recorded.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct AttemptRow {
    /// The outbox row it was for.
    pub outbox_id: i64,
    /// 1-based attempt number of that row.
    pub attempt: i64,
    /// When it ended, epoch ms.
    pub at: i64,
    /// The HTTP status, when the target answered.
    pub http_status: Option<i64>,
    /// The transport error (timeout, connection), when it did not.
    pub error: Option<String>,
    /// The response body (truncated).
    pub response: Option<String>,
}

/// Outbox rows per target and status (`PENDING`, `DELIVERED`, `SUPERSEDED`, `DEAD`), and open
/// dead letters per target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboxDepths {
    /// `(target, status, rows)`.
    pub rows: Vec<(String, OutboxStatus, i64)>,
    /// `(target, dead letters not replayed)`.
    pub dead_letters: Vec<(String, i64)>,
}

/// What an outbox row announcing a part's change needs of the part.
#[derive(sqlx::FromRow)]
struct PublishedPart {
    part_class: String,
    on_hand: Option<f64>,
}

/// The newest pending change of a head.
#[derive(sqlx::FromRow)]
struct Pending {
    id: i64,
    sequence_id: i64,
    payload: String,
    attempts: i64,
    next_attempt_at: i64,
}

/// Outbox rows of a target in one status.
#[derive(sqlx::FromRow)]
struct Depth {
    target: String,
    #[sqlx(try_from = "String")]
    status: OutboxStatus,
    n: i64,
}

impl Store {
    /// This store with publication routes: every announcement of a threshold change (see
    /// [`crate::thresholds::Announcement`]; approvals and received thresholds announce
    /// themselves) writes one outbox row per matching target, in the transaction of the change.
    pub fn with_publication(mut self, routes: Vec<PublicationRoute>) -> Store {
        self.publication = routes.into();
        self
    }

    /// The publication routes of this store handle.
    pub fn publication_routes(&self) -> &[PublicationRoute] {
        &self.publication
    }

    /// Writes the outbox rows announcing that `part_id`'s thresholds are now `limits` at
    /// `sequence_id`, inside the caller's transaction. Does nothing without routes.
    pub(crate) async fn enqueue_publication(
        &self,
        conn: &mut sqlx::AnyConnection,
        part_id: &str,
        sequence_id: i64,
        limits: [f64; 3],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if self.publication.is_empty() {
            return Ok(());
        }
        let row: Option<PublishedPart> = sqlx::query_as(
            "SELECT p.part_class, s.on_hand FROM parts p LEFT JOIN inventory_state s ON s.part_id = p.part_id \
             WHERE p.part_id = $1",
        )
        .bind(part_id)
        .fetch_optional(&mut *conn)
        .await?;
        let (class, stock) = row.map_or((String::new(), 0.0), |p| (p.part_class, p.on_hand.unwrap_or(0.0)));
        let targets: Vec<&str> = self
            .publication
            .iter()
            .filter(|r| target_wants(&r.parts, &r.classes, part_id, &class))
            .map(|r| r.target.as_str())
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        let at = cmms_core::time::from_epoch_ms(now_ms);
        let payload = serde_json::to_string(&ThresholdSync::new(part_id, stock, limits, sequence_id, at))
            .map_err(|e| StoreError::invalid("outbox.payload", e))?;
        for target in targets {
            sqlx::query("INSERT INTO outbox_heads (target, part_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(target)
                .bind(part_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO outbox (target, part_id, sequence_id, payload, status, attempts, next_attempt_at, \
                 created_at) VALUES ($1, $2, $3, $4, 'PENDING', 0, $5, $5)",
            )
            .bind(target)
            .bind(part_id)
            .bind(sequence_id)
            .bind(&payload)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Leases up to `limit` `(target, part)` heads of `targets` that have a due pending change and
    /// no live lease, to `owner` until `now_ms + lease_ms`. Concurrent callers never get the same
    /// head while its lease lives.
    pub async fn claim_publications(
        &self,
        targets: &[String],
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Claim>, StoreError> {
        if targets.is_empty() || limit <= 0 {
            return Ok(Vec::new());
        }
        let names: Vec<String> = (0..targets.len()).map(|i| format!("${}", i + 5)).collect();
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox_heads SET lease_owner = $1, lease_expires_at = $2 WHERE (target, part_id) IN ( \
             SELECT h.target, h.part_id FROM outbox_heads h \
             WHERE (h.lease_expires_at IS NULL OR h.lease_expires_at <= $3) AND h.target IN ({}) \
             AND (h.target, h.part_id) IN (SELECT o.target, o.part_id FROM outbox o \
                 WHERE o.status = 'PENDING' AND o.next_attempt_at <= $3) \
             LIMIT $4{lock}) RETURNING target, part_id",
            names.join(", ")
        );
        let mut q =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(owner).bind(now_ms + lease_ms).bind(now_ms).bind(limit);
        for t in targets {
            q = q.bind(t);
        }
        Ok(q.fetch_all(self.pool()).await?)
    }

    /// The change to send next for a leased head, if one is due: the newest pending change when it
    /// is newer than the target's confirmed sequence. Every other pending change of the head is
    /// marked `SUPERSEDED` (never sent). Returns `(item, superseded rows)`.
    ///
    /// Two single statements, no transaction: the caller holds the head's lease, so no other
    /// publisher touches these rows, and a change queued in between is simply picked next time.
    /// (On SQLite a transaction that reads before it writes could fail with `SQLITE_BUSY_SNAPSHOT`.)
    pub async fn next_publication(&self, claim: &Claim, now_ms: i64) -> Result<(Option<OutboxItem>, u64), StoreError> {
        let superseded = sqlx::query(
            "UPDATE outbox SET status = 'SUPERSEDED' WHERE target = $1 AND part_id = $2 AND status = 'PENDING' AND ( \
               id <> (SELECT id FROM outbox WHERE target = $1 AND part_id = $2 AND status = 'PENDING' \
                      ORDER BY sequence_id DESC, id DESC LIMIT 1) \
               OR sequence_id <= COALESCE((SELECT delivered_sequence FROM outbox_heads \
                                           WHERE target = $1 AND part_id = $2), -1))",
        )
        .bind(&claim.target)
        .bind(&claim.part_id)
        .execute(self.pool())
        .await?
        .rows_affected();
        let newest: Option<Pending> = sqlx::query_as(
            "SELECT id, sequence_id, payload, attempts, next_attempt_at FROM outbox \
             WHERE target = $1 AND part_id = $2 AND status = 'PENDING' ORDER BY sequence_id DESC, id DESC LIMIT 1",
        )
        .bind(&claim.target)
        .bind(&claim.part_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = newest else {
            return Ok((None, superseded));
        };
        if r.next_attempt_at > now_ms {
            return Ok((None, superseded));
        }
        let item = OutboxItem {
            id: r.id,
            target: claim.target.clone(),
            part_id: claim.part_id.clone(),
            sequence_id: r.sequence_id,
            payload: r.payload,
            attempts: r.attempts,
        };
        Ok((Some(item), superseded))
    }

    /// Records an attempt at `item` and its result in one transaction: the attempt row; then the
    /// outbox row delivered (and the head's confirmed sequence raised), rescheduled, or
    /// dead-lettered with `request` (the full request as sent, token redacted).
    pub async fn record_attempt(
        &self,
        item: &OutboxItem,
        attempt: &AttemptRow,
        result: &AttemptResult,
        request: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO delivery_attempts (outbox_id, attempt, at, http_status, error, response) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(item.id)
        .bind(attempt.attempt)
        .bind(attempt.at)
        .bind(attempt.http_status)
        .bind(attempt.error.as_deref())
        .bind(attempt.response.as_deref())
        .execute(&mut *tx)
        .await?;
        let now = attempt.at;
        match result {
            AttemptResult::Done => {
                sqlx::query("UPDATE outbox SET status = 'DELIVERED', attempts = $1, delivered_at = $2 WHERE id = $3")
                    .bind(attempt.attempt)
                    .bind(now)
                    .bind(item.id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE outbox_heads SET delivered_sequence = $1 WHERE target = $2 AND part_id = $3 \
                     AND (delivered_sequence IS NULL OR delivered_sequence < $1)",
                )
                .bind(item.sequence_id)
                .bind(&item.target)
                .bind(&item.part_id)
                .execute(&mut *tx)
                .await?;
            }
            AttemptResult::Retry(at) => {
                sqlx::query("UPDATE outbox SET attempts = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4")
                    .bind(attempt.attempt)
                    .bind(*at)
                    .bind(attempt.error.clone().or_else(|| attempt.http_status.map(|s| format!("HTTP {s}"))))
                    .bind(item.id)
                    .execute(&mut *tx)
                    .await?;
            }
            AttemptResult::Dead(reason) => {
                sqlx::query("UPDATE outbox SET status = 'DEAD', attempts = $1, last_error = $2 WHERE id = $3")
                    .bind(attempt.attempt)
                    .bind(reason)
                    .bind(item.id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO dead_letters (outbox_id, target, part_id, payload, reason, created_at, sequence_id, \
                     request) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(item.id)
                .bind(&item.target)
                .bind(&item.part_id)
                .bind(&item.payload)
                .bind(reason)
                .bind(now)
                .bind(item.sequence_id)
                .bind(request)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives a head's lease back (only if `owner` still holds it).
    pub async fn release_publication(&self, claim: &Claim, owner: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox_heads SET lease_owner = NULL, lease_expires_at = NULL \
             WHERE target = $1 AND part_id = $2 AND lease_owner = $3",
        )
        .bind(&claim.target)
        .bind(&claim.part_id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every attempt at the outbox rows of a part and target with sequence `sequence_id`, oldest
    /// first (the history of a dead letter, across earlier replays).
    pub async fn delivery_attempts(
        &self,
        target: &str,
        part_id: &str,
        sequence_id: i64,
    ) -> Result<Vec<AttemptRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT a.outbox_id, a.attempt, a.at, a.http_status, a.error, a.response FROM delivery_attempts a \
             JOIN outbox o ON o.id = a.outbox_id WHERE o.target = $1 AND o.part_id = $2 AND o.sequence_id = $3 \
             ORDER BY a.at, a.id",
        )
        .bind(target)
        .bind(part_id)
        .bind(sequence_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Outbox rows per target and status, and open dead letters per target (for metrics).
    pub async fn outbox_depths(&self) -> Result<OutboxDepths, StoreError> {
        let rows: Vec<Depth> =
            sqlx::query_as("SELECT target, status, COUNT(*) AS n FROM outbox GROUP BY target, status ORDER BY 1, 2")
                .fetch_all(self.pool())
                .await?;
        let rows = rows.into_iter().map(|d| (d.target, d.status, d.n)).collect();
        let dead_letters = sqlx::query_as(
            "SELECT target, COUNT(*) AS n FROM dead_letters WHERE replayed_at IS NULL GROUP BY target ORDER BY 1",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(OutboxDepths { rows, dead_letters })
    }
}
