//! Dashboard sessions: one `dashboard_sessions` row per signed-in browser, holding the SHA-256 of
//! the session id (never the id itself), the API token it was opened with, and when it was created,
//! last seen and ends at the latest. The rules (id format, lifetime, idle timeout) live in
//! `cmms_core::session`; the service in `cmms_pipeline::auth`.

use crate::{Store, StoreError};

/// A session whose token is still active, with that token's name and scopes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    /// Lower-case hex SHA-256 of the session id.
    pub id_hash: String,
    /// The token the session was opened with.
    pub token_id: i64,
    /// The token's name.
    pub token_name: String,
    /// The token's scopes, comma-separated.
    pub scopes: String,
    /// Opened, epoch ms.
    pub created_at: i64,
    /// Last request seen, epoch ms (recorded at most about once a minute).
    pub last_seen_at: i64,
    /// The session ends at this instant whatever its use, epoch ms.
    pub expires_at: i64,
}

impl Store {
    /// Stores a new session of token `token_id`, and deletes the sessions that ended before
    /// `now_ms` (past `expires_at`, or unseen since `idle_before_ms`), so the table holds live
    /// sessions only.
    pub async fn create_session(
        &self,
        id_hash: &str,
        token_id: i64,
        now_ms: i64,
        expires_at: i64,
        idle_before_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= $1 OR last_seen_at < $2")
            .bind(now_ms)
            .bind(idle_before_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO dashboard_sessions (id_hash, token_id, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(id_hash)
        .bind(token_id)
        .bind(now_ms)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session whose id hashes to `id_hash`, if it exists and its token is not revoked
    /// (whether it has ended is the caller's rule).
    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.id_hash, s.token_id, t.name AS token_name, t.scopes, s.created_at, s.last_seen_at, s.expires_at \
             FROM dashboard_sessions s JOIN api_tokens t ON t.id = s.token_id \
             WHERE s.id_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(id_hash)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Records a request of the session at `now_ms` (never moving `last_seen_at` backwards).
    pub async fn touch_session(&self, id_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE dashboard_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1")
            .bind(now_ms)
            .bind(id_hash)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Deletes one session (sign-out, or one found ended); false when there was none.
    pub async fn delete_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM dashboard_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many sessions token `token_id` has open (ended ones not yet deleted included).
    pub async fn session_count(&self, token_id: i64) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dashboard_sessions WHERE token_id = $1")
            .bind(token_id)
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }
}
