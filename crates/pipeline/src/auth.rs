//! API token service: create (the only place the plaintext token exists), list, revoke, and
//! authenticate a bearer token against a required scope. The HTTP layer maps
//! [`AuthError::Unauthenticated`] to 401 and [`AuthError::Forbidden`] to 403.
//!
//! Dashboard sessions too: signing in with a token opens a session ([`open_session`]) whose
//! random id is the only thing the browser keeps; [`session_principal`] checks it on every
//! request (lifetime, idle timeout, token not revoked), [`close_session`] ends it on sign-out, and
//! revoking the token ends all its sessions.
//!
//! Token names are unique among active tokens, checked here before insert; two concurrent
//! `create`s of one name could both pass, which is acceptable for an operator command.

use cmms_core::auth::{
    Scope, ScopeError, Scopes, TOKEN_BYTES, TokenNameError, bearer_credential, check_token_name, default_token_name,
    format_token, hash_token, is_well_formed, should_touch,
};
use cmms_core::session::{
    SESSION_ID_BYTES, SessionPolicy, SessionState, format_session_id, hash_session_id, is_well_formed_session_id,
};
use cmms_store::tokens::TokenRow;
use cmms_store::{Store, StoreError};
use subtle::ConstantTimeEq;

/// Errors of the token service, each with a message fit for the operator or the API client.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is missing, malformed, unknown or revoked (HTTP 401). Which of these is not said,
    /// so a caller learns nothing about which tokens exist.
    #[error("a valid API token is required (missing, malformed, unknown or revoked token)")]
    Unauthenticated,
    /// The token is valid but none of its scopes allows the operation (HTTP 403).
    #[error("this token's scopes ({granted}) do not allow {required}")]
    Forbidden {
        /// The scope the operation needs.
        required: Scope,
        /// The scopes the token holds.
        granted: Scopes,
    },
    /// A token was requested with no scope or an unknown one.
    #[error("{0}")]
    Scope(#[from] ScopeError),
    /// The requested token name breaks the naming rule.
    #[error("invalid token name {name:?}: {reason}")]
    InvalidName {
        /// The refused name.
        name: String,
        /// Why.
        reason: TokenNameError,
    },
    /// An active token already has this name.
    #[error("an active token is already named {0:?}: revoke it first or choose another name")]
    NameTaken(String),
    /// No token has this id, or no active token has this name.
    #[error("no token with id or active name {0:?}")]
    NotFound(String),
    /// The token was revoked before.
    #[error("token {id} ({name}) is already revoked")]
    AlreadyRevoked {
        /// Its id.
        id: i64,
        /// Its name.
        name: String,
    },
    /// The operating system's random source failed.
    #[error("cannot generate a token or session id: the operating system's random source failed: {0}")]
    Random(getrandom::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthError {
    /// The HTTP status this error answers with: 401, 403, 404, 409, 422 or 500.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden { .. } => 403,
            Self::NotFound(_) => 404,
            Self::NameTaken(_) | Self::AlreadyRevoked { .. } => 409,
            Self::Scope(_) | Self::InvalidName { .. } => 422,
            Self::Random(_) | Self::Store(_) => 500,
        }
    }
}

/// Who an authenticated request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id.
    pub token_id: i64,
    /// The token's name.
    pub name: String,
    /// The token's scopes.
    pub scopes: Scopes,
}

/// Creates a token with `scopes` (at least one) and an optional `name` (default `token-<id>`).
/// Returns its row and the plaintext token, which is stored nowhere and cannot be shown again.
pub async fn create_token(
    store: &Store,
    name: Option<&str>,
    scopes: &[Scope],
    now_ms: i64,
) -> Result<(TokenRow, String), AuthError> {
    let scopes = Scopes::new(scopes.iter().copied())?;
    if let Some(name) = name {
        check_token_name(name).map_err(|reason| AuthError::InvalidName { name: name.to_owned(), reason })?;
        if store.active_token_named(name).await?.is_some() {
            return Err(AuthError::NameTaken(name.to_owned()));
        }
    }
    let mut random = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut random).map_err(AuthError::Random)?;
    let token = format_token(&random);
    let scopes_text = scopes.to_string();
    let id = store.create_token(name, &scopes_text, &hash_token(&token), now_ms).await?;
    let name = name.map_or_else(|| default_token_name(id), str::to_owned);
    tracing::info!(token_id = id, name = %name, scopes = %scopes_text, "API token created");
    let row = TokenRow { id, name, scopes: scopes_text, created_at: now_ms, last_used_at: None, revoked_at: None };
    Ok((row, token))
}

/// Every token, revoked ones included, by id (never the token or its hash).
pub async fn list_tokens(store: &Store) -> Result<Vec<TokenRow>, AuthError> {
    Ok(store.tokens().await?)
}

/// Revokes the token with this id (digits) or this active name, and returns its updated row.
pub async fn revoke_token(store: &Store, id_or_name: &str, now_ms: i64) -> Result<TokenRow, AuthError> {
    let key = id_or_name.trim();
    let found = match key.parse::<i64>() {
        Ok(id) => store.token(id).await?,
        Err(_) => store.active_token_named(key).await?,
    };
    let row = found.ok_or_else(|| AuthError::NotFound(key.to_owned()))?;
    if row.revoked_at.is_some() || !store.revoke_token(row.id, now_ms).await? {
        return Err(AuthError::AlreadyRevoked { id: row.id, name: row.name });
    }
    tracing::info!(token_id = row.id, name = %row.name, "API token revoked");
    Ok(TokenRow { revoked_at: Some(now_ms), ..row })
}

/// Checks a bearer token (the token, or a whole `Authorization` header value) against the
/// scope an operation requires, and records its use at most once a minute.
///
/// The token is looked up by its hash, then the stored hash is compared with the computed one in
/// constant time. Missing, malformed, unknown and revoked tokens are all
/// [`AuthError::Unauthenticated`]; a valid token lacking the scope is [`AuthError::Forbidden`].
pub async fn authenticate(store: &Store, bearer: &str, required: Scope, now_ms: i64) -> Result<Principal, AuthError> {
    let token = bearer_credential(bearer);
    if !is_well_formed(token) {
        return Err(AuthError::Unauthenticated);
    }
    let hash = hash_token(token);
    let stored = store.token_by_hash(&hash).await?.ok_or(AuthError::Unauthenticated)?;
    if !bool::from(stored.token_hash.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(AuthError::Unauthenticated);
    }
    let row = stored.row;
    let scopes = Scopes::parse(&row.scopes).map_err(|e| StoreError::invalid("api_tokens.scopes", e))?;
    if should_touch(row.last_used_at, now_ms) {
        store.touch_token(row.id, now_ms).await?;
    }
    if !scopes.allows(required) {
        return Err(AuthError::Forbidden { required, granted: scopes });
    }
    Ok(Principal { token_id: row.id, name: row.name, scopes })
}

/// A dashboard session just opened.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    /// The session id for the browser's cookie; only its hash is stored.
    pub id: String,
    /// Who the session acts as.
    pub principal: Principal,
    /// When the session ends at the latest, epoch ms.
    pub expires_at: i64,
}

/// Signs in to the dashboard: checks `token` (which must allow `read`) and opens a session of it
/// under `policy`; sessions that have ended are deleted on the way.
pub async fn open_session(
    store: &Store,
    token: &str,
    policy: &SessionPolicy,
    now_ms: i64,
) -> Result<OpenedSession, AuthError> {
    let principal = authenticate(store, token, Scope::Read, now_ms).await?;
    let mut random = [0u8; SESSION_ID_BYTES];
    getrandom::fill(&mut random).map_err(AuthError::Random)?;
    let id = format_session_id(&random);
    let expires_at = policy.expires_at(now_ms);
    store
        .create_session(&hash_session_id(&id), principal.token_id, now_ms, expires_at, policy.idle_before(now_ms))
        .await?;
    tracing::info!(token_id = principal.token_id, name = %principal.name, "dashboard session opened");
    Ok(OpenedSession { id, principal, expires_at })
}

/// Who the dashboard session `id` acts as at `now_ms`. Unknown, malformed, ended (lifetime or idle
/// timeout of `policy`) sessions and sessions of a revoked token are all
/// [`AuthError::Unauthenticated`]; an ended session is deleted. Records the session's use at most
/// as often as `SessionPolicy::should_touch` says.
pub async fn session_principal(
    store: &Store,
    id: &str,
    policy: &SessionPolicy,
    now_ms: i64,
) -> Result<Principal, AuthError> {
    if !is_well_formed_session_id(id) {
        return Err(AuthError::Unauthenticated);
    }
    let hash = hash_session_id(id);
    let row = store.session(&hash).await?.ok_or(AuthError::Unauthenticated)?;
    if policy.state(row.last_seen_at, row.expires_at, now_ms) != SessionState::Live {
        store.delete_session(&hash).await?;
        return Err(AuthError::Unauthenticated);
    }
    let scopes = Scopes::parse(&row.scopes).map_err(|e| StoreError::invalid("api_tokens.scopes", e))?;
    if !scopes.allows(Scope::Read) {
        return Err(AuthError::Forbidden { required: Scope::Read, granted: scopes });
    }
    if policy.should_touch(row.last_seen_at, now_ms) {
        store.touch_session(&hash, now_ms).await?;
    }
    Ok(Principal { token_id: row.token_id, name: row.token_name, scopes })
}

/// Ends the dashboard session `id` (sign-out); false when there was no such session.
pub async fn close_session(store: &Store, id: &str) -> Result<bool, AuthError> {
    if !is_well_formed_session_id(id) {
        return Ok(false);
    }
    Ok(store.delete_session(&hash_session_id(id)).await?)
}
