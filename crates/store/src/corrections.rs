//! Corrections: voiding accepted events (consumption, failure events, stock snapshots) and
//! restoring them, with the record of who did it, when and why.
//!
//! A voided event keeps its row with `voided = 1` (migration 9): it still counts for
//! first-delivery-wins deduplication, so a re-delivery is a duplicate and stays voided, and every
//! calculation skips it. Voiding or restoring consumption marks its part for the next threshold
//! recompute (by trigger). Voiding the applied snapshot a part's stock came from puts the stock
//! and the (source, SKU) sequence back to the newest applied snapshot that is not voided, and sends
//! the snapshots refused as stale since back through the gate (see [`Store::void_event`]).

use crate::codes::{Flag, NullableCode, SnapshotStatus};
use crate::{Store, StoreError};
use cmms_core::corrections::EventKey;

/// One void of an event, with its restore once undone.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct EventVoidRow {
    /// Its id.
    pub id: i64,
    /// `consumption`, `failures` or `inventory`.
    pub feed: String,
    /// The source (the asset for a failure event).
    pub source: String,
    /// The event id (`SKU/SEQUENCE` for a snapshot).
    pub event_id: String,
    /// The part (consumption, snapshot) or asset (failure event) the event counts for, if mapped.
    pub subject: Option<String>,
    /// Why it was voided.
    pub reason: String,
    /// Who voided it: the API token's name, or `cli:<user>`.
    pub voided_by: String,
    /// When, epoch ms.
    pub voided_at: i64,
    /// Who restored it, once restored.
    pub restored_by: Option<String>,
    /// When it was restored, epoch ms.
    pub restored_at: Option<i64>,
    /// Why it was restored.
    pub restore_reason: Option<String>,
}

/// A stored event found by its key.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredEvent {
    /// The part (consumption, snapshot) or asset (failure event) it counts for, if mapped.
    pub subject: Option<String>,
    /// Whether it is voided now.
    #[sqlx(try_from = "Flag")]
    pub voided: bool,
    /// The gate's verdict, for a snapshot (`APPLIED`, `STALE`, `HELD` …).
    #[sqlx(try_from = "NullableCode", default)]
    pub status: Option<SnapshotStatus>,
}

/// The outcome of [`Store::void_event`].
#[derive(Debug, Clone, PartialEq)]
pub enum VoidOutcome {
    /// Voided now, recorded so.
    Voided(EventVoidRow),
    /// No stored event has this key.
    Unknown,
    /// Voided already; the void in force.
    AlreadyVoided(Option<EventVoidRow>),
}

/// The outcome of [`Store::restore_event`].
#[derive(Debug, Clone, PartialEq)]
pub enum RestoreOutcome {
    /// Restored now: the void with its restore.
    Restored(Box<EventVoidRow>),
    /// No stored event has this key.
    Unknown,
    /// The event is not voided.
    NotVoided,
}

const VOID_COLUMNS: &str = "id, feed, source, event_id, subject, reason, voided_by, voided_at, restored_by, \
                            restored_at, restore_reason";

type Conn = sqlx::AnyConnection;

/// Finds the event of `key` on `conn`.
async fn locate(conn: &mut Conn, key: &EventKey) -> Result<Option<StoredEvent>, sqlx::Error> {
    match key {
        EventKey::Consumption { source, event_id } => {
            sqlx::query_as("SELECT part_id AS subject, voided FROM consumption WHERE source = $1 AND event_id = $2")
                .bind(source.as_str())
                .bind(event_id.as_str())
                .fetch_optional(&mut *conn)
                .await
        }
        EventKey::Failure { asset_id, event_id } => {
            sqlx::query_as(
                "SELECT asset_id AS subject, voided FROM failure_events WHERE asset_id = $1 AND event_id = $2",
            )
            .bind(asset_id.as_str())
            .bind(event_id.as_str())
            .fetch_optional(&mut *conn)
            .await
        }
        EventKey::Snapshot { source, external_sku, sequence_id } => {
            sqlx::query_as(
                "SELECT part_id AS subject, voided, status FROM inventory_snapshots \
                 WHERE source = $1 AND external_sku = $2 AND sequence_id = $3",
            )
            .bind(source.as_str())
            .bind(external_sku.as_str())
            .bind(*sequence_id)
            .fetch_optional(&mut *conn)
            .await
        }
    }
}

/// Sets the event's flag to `voided` when it is not so already; whether it changed.
async fn set_voided(conn: &mut Conn, key: &EventKey, voided: bool) -> Result<bool, sqlx::Error> {
    let flag = i64::from(voided);
    let done = match key {
        EventKey::Consumption { source, event_id } => {
            sqlx::query("UPDATE consumption SET voided = $1 WHERE source = $2 AND event_id = $3 AND voided <> $1")
                .bind(flag)
                .bind(source.as_str())
                .bind(event_id.as_str())
                .execute(&mut *conn)
                .await?
        }
        EventKey::Failure { asset_id, event_id } => {
            sqlx::query("UPDATE failure_events SET voided = $1 WHERE asset_id = $2 AND event_id = $3 AND voided <> $1")
                .bind(flag)
                .bind(asset_id.as_str())
                .bind(event_id.as_str())
                .execute(&mut *conn)
                .await?
        }
        EventKey::Snapshot { source, external_sku, sequence_id } => {
            // A restored snapshot that had been applied goes through the gate again, as a late
            // delivery: applied when still newer than the last applied one, else recorded stale.
            sqlx::query(
                "UPDATE inventory_snapshots SET voided = $1, \
                 status = CASE WHEN $1 = 0 AND status = 'APPLIED' THEN 'PENDING' ELSE status END \
                 WHERE source = $2 AND external_sku = $3 AND sequence_id = $4 AND voided <> $1",
            )
            .bind(flag)
            .bind(source.as_str())
            .bind(external_sku.as_str())
            .bind(*sequence_id)
            .execute(&mut *conn)
            .await?
        }
    };
    Ok(done.rows_affected() > 0)
}

/// After an applied snapshot of `(source, sku)` for `part_id` was voided: the sequence in force
/// falls back to the newest applied snapshot that is not voided, snapshots refused as stale since
/// then go back to the gate, and the part's stock takes the newest applied, not voided snapshot of
/// the part (by observation time). With none left, the stock figure is removed (kept at 0 while
/// routing is paused for the part, so the pause survives).
async fn fall_back_stock(
    conn: &mut Conn,
    source: &str,
    sku: &str,
    part_id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(sequence_id) FROM inventory_snapshots WHERE source = $1 AND external_sku = $2 \
         AND status = 'APPLIED' AND voided = 0",
    )
    .bind(source)
    .bind(sku)
    .fetch_one(&mut *conn)
    .await?;
    match last {
        Some(seq) => {
            sqlx::query("UPDATE snapshot_sequences SET last_sequence_id = $1 WHERE source = $2 AND external_sku = $3")
                .bind(seq)
                .bind(source)
                .bind(sku)
                .execute(&mut *conn)
                .await?;
        }
        None => {
            sqlx::query("DELETE FROM snapshot_sequences WHERE source = $1 AND external_sku = $2")
                .bind(source)
                .bind(sku)
                .execute(&mut *conn)
                .await?;
        }
    }
    sqlx::query(
        "UPDATE inventory_snapshots SET status = 'PENDING', reason = NULL WHERE source = $1 AND external_sku = $2 \
         AND status = 'STALE' AND voided = 0 AND sequence_id > $3",
    )
    .bind(source)
    .bind(sku)
    .bind(last.unwrap_or(-1))
    .execute(&mut *conn)
    .await?;
    let newest: Option<(f64, i64)> = sqlx::query_as(
        "SELECT on_hand, observed_at FROM inventory_snapshots WHERE part_id = $1 AND status = 'APPLIED' \
         AND voided = 0 ORDER BY observed_at DESC, sequence_id DESC LIMIT 1",
    )
    .bind(part_id)
    .fetch_optional(&mut *conn)
    .await?;
    match newest {
        Some((on_hand, observed_at)) => {
            sqlx::query(
                "UPDATE inventory_state SET on_hand = $1, observed_at = $2, updated_at = $3 WHERE part_id = $4",
            )
            .bind(on_hand)
            .bind(observed_at)
            .bind(now_ms)
            .bind(part_id)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM inventory_state WHERE part_id = $1 AND paused_reason IS NULL")
                .bind(part_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE inventory_state SET on_hand = 0, updated_at = $1 WHERE part_id = $2")
                .bind(now_ms)
                .bind(part_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

async fn void_in_force(conn: &mut Conn, key: &EventKey) -> Result<Option<EventVoidRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {VOID_COLUMNS} FROM event_voids WHERE feed = $1 AND source = $2 AND event_id = $3 \
         AND restored_at IS NULL"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key.feed().as_str())
        .bind(key.source())
        .bind(key.event_id())
        .fetch_optional(&mut *conn)
        .await
}

impl Store {
    /// The stored event of `key`, if any.
    pub async fn find_event(&self, key: &EventKey) -> Result<Option<StoredEvent>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        Ok(locate(&mut conn, key).await?)
    }

    /// Voids the event of `key` and records who (`actor`), when and why, in one transaction.
    /// Voiding the applied snapshot of a (source, SKU) puts its sequence and the part's stock back
    /// to the newest applied snapshot that is not voided, and returns the snapshots refused as
    /// stale since then to the gate (`PENDING`): the caller runs the gate.
    pub async fn void_event(
        &self,
        key: &EventKey,
        reason: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<VoidOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(found) = locate(&mut tx, key).await? else {
            tx.rollback().await?;
            return Ok(VoidOutcome::Unknown);
        };
        if found.voided || !set_voided(&mut tx, key, true).await? {
            let row = void_in_force(&mut tx, key).await?;
            tx.rollback().await?;
            return Ok(VoidOutcome::AlreadyVoided(row));
        }
        if let (EventKey::Snapshot { source, external_sku, .. }, Some(SnapshotStatus::Applied), Some(part)) =
            (key, found.status, found.subject.as_deref())
        {
            fall_back_stock(&mut tx, source.as_str(), external_sku.as_str(), part, now_ms).await?;
        }
        let sql = format!(
            "INSERT INTO event_voids (feed, source, event_id, subject, reason, voided_by, voided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {VOID_COLUMNS}"
        );
        let row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(key.feed().as_str())
            .bind(key.source())
            .bind(key.event_id())
            .bind(found.subject.as_deref())
            .bind(reason)
            .bind(actor)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(VoidOutcome::Voided(row))
    }

    /// Restores a voided event: it counts again in every calculation, and its void in force is
    /// closed with who, when and why, in one transaction. A restored snapshot that had been
    /// applied goes back to the gate (`PENDING`): the caller runs the gate.
    pub async fn restore_event(
        &self,
        key: &EventKey,
        reason: Option<&str>,
        actor: &str,
        now_ms: i64,
    ) -> Result<RestoreOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(found) = locate(&mut tx, key).await? else {
            tx.rollback().await?;
            return Ok(RestoreOutcome::Unknown);
        };
        if !found.voided || !set_voided(&mut tx, key, false).await? {
            tx.rollback().await?;
            return Ok(RestoreOutcome::NotVoided);
        }
        let sql = format!(
            "UPDATE event_voids SET restored_by = $1, restored_at = $2, restore_reason = $3 \
             WHERE feed = $4 AND source = $5 AND event_id = $6 AND restored_at IS NULL RETURNING {VOID_COLUMNS}"
        );
        let row: Option<EventVoidRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(actor)
            .bind(now_ms)
            .bind(reason)
            .bind(key.feed().as_str())
            .bind(key.source())
            .bind(key.event_id())
            .fetch_optional(&mut *tx)
            .await?;
        let row = match row {
            Some(r) => r,
            // Voided without a record (by hand in the database): the restore is recorded alone.
            None => {
                let sql = format!(
                    "INSERT INTO event_voids (feed, source, event_id, subject, reason, voided_by, voided_at, \
                     restored_by, restored_at, restore_reason) VALUES ($1, $2, $3, $4, 'unrecorded', 'unknown', $5, \
                     $6, $7, $8) RETURNING {VOID_COLUMNS}"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(key.feed().as_str())
                    .bind(key.source())
                    .bind(key.event_id())
                    .bind(found.subject.as_deref())
                    .bind(now_ms)
                    .bind(actor)
                    .bind(now_ms)
                    .bind(reason)
                    .fetch_one(&mut *tx)
                    .await?
            }
        };
        tx.commit().await?;
        Ok(RestoreOutcome::Restored(Box::new(row)))
    }

    /// Recorded voids, newest first: only those in force when `in_force_only`, at most `limit`.
    pub async fn event_voids(&self, in_force_only: bool, limit: i64) -> Result<Vec<EventVoidRow>, StoreError> {
        let sql = format!(
            "SELECT {VOID_COLUMNS} FROM event_voids WHERE ($1 = 0 OR restored_at IS NULL) ORDER BY id DESC LIMIT $2"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(in_force_only))
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }
}
