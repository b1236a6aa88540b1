//! API tokens: one `api_tokens` row per token, holding its SHA-256 (never the token itself), its
//! scopes as comma-separated text, and when it was created, last used and revoked. Revoked rows
//! are kept for the audit trail; revoking a token deletes its dashboard sessions. The rules
//! (scopes, names, hashing) live in `cmms_core::auth`.

use crate::{Store, StoreError};
use sqlx::AssertSqlSafe;

/// A stored API token as operators see it: everything but the hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct TokenRow {
    /// Its id.
    pub id: i64,
    /// Its name (unique among active tokens).
    pub name: String,
    /// Granted scopes, comma-separated (`read,operate`).
    pub scopes: String,
    /// Created, epoch ms.
    pub created_at: i64,
    /// Last authenticated use, epoch ms (recorded at most about once a minute).
    pub last_used_at: Option<i64>,
    /// Revoked, epoch ms; a revoked token authenticates nothing.
    pub revoked_at: Option<i64>,
}

/// An active token with its stored hash, for authentication only (not serialisable on purpose).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredToken {
    /// The token's row.
    #[sqlx(flatten)]
    pub row: TokenRow,
    /// Lower-case hex SHA-256 of the token.
    pub token_hash: String,
}

const COLUMNS: &str = "id, name, scopes, created_at, last_used_at, revoked_at";

impl Store {
    /// Stores a new token and returns its id. Without a `name`, the token is named by
    /// `cmms_core::auth::default_token_name` of its id (in the same transaction).
    pub async fn create_token(
        &self,
        name: Option<&str>,
        scopes: &str,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, token_hash, scopes, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name.unwrap_or(""))
        .bind(token_hash)
        .bind(scopes)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        if name.is_none() {
            sqlx::query("UPDATE api_tokens SET name = $1 WHERE id = $2")
                .bind(cmms_core::auth::default_token_name(id))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Every token, revoked ones included, by id.
    pub async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens ORDER BY id");
        Ok(sqlx::query_as(AssertSqlSafe(sql)).fetch_all(self.pool()).await?)
    }

    /// One token by id, revoked or not.
    pub async fn token(&self, id: i64) -> Result<Option<TokenRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1");
        Ok(sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?)
    }

    /// The active (not revoked) token of this name, if any.
    pub async fn active_token_named(&self, name: &str) -> Result<Option<TokenRow>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM api_tokens WHERE name = $1 AND revoked_at IS NULL ORDER BY id LIMIT 1");
        Ok(sqlx::query_as(AssertSqlSafe(sql)).bind(name).fetch_optional(self.pool()).await?)
    }

    /// Revokes a token and, in the same transaction, ends its dashboard sessions; false when there
    /// is no such token or it was already revoked (the first revocation time is kept).
    pub async fn revoke_token(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM dashboard_sessions WHERE token_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// The active (not revoked) token whose hash is `token_hash`, with that hash.
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<StoredToken>, StoreError> {
        let sql = format!("SELECT {COLUMNS}, token_hash FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL");
        Ok(sqlx::query_as(AssertSqlSafe(sql)).bind(token_hash).fetch_optional(self.pool()).await?)
    }

    /// Records a use of the token at `now_ms` (never moving `last_used_at` backwards). Callers
    /// throttle: see `cmms_core::auth::should_touch`.
    pub async fn touch_token(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
        )
        .bind(now_ms)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }
}
