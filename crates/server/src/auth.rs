//! Bearer-token authentication and scope checks as an extractor: a handler that takes
//! `Auth<Read>` runs only for a valid token whose scopes allow `read` (401 otherwise, 403 for a
//! valid token without the scope).
//!
//! A verified token is trusted for [`TOKEN_CACHE_TTL`] without asking the store again: the
//! lookup was the largest cost of a small request (a hand-off to a database thread and back), and
//! a revoked token — revoked by `cmms token revoke` in another process — stops working within
//! that time.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use cmms_core::auth::{Scope, bearer_credential, hash_token};
use cmms_pipeline::auth::{AuthError, Principal, authenticate};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a verified token is trusted without asking the store again; the longest a revoked
/// token keeps working on a running server.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(1);

/// Most verified tokens remembered (the cache starts over when full).
const TOKEN_CACHE_MAX: usize = 1024;

/// Tokens this process verified recently, by their hash (the plaintext is not kept).
#[derive(Debug, Default)]
pub struct TokenCache {
    verified: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl TokenCache {
    /// The principal of a token verified less than [`TOKEN_CACHE_TTL`] ago.
    fn get(&self, hash: &str) -> Option<Principal> {
        let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified.get(hash).filter(|(_, at)| at.elapsed() < TOKEN_CACHE_TTL).map(|(p, _)| p.clone())
    }

    /// Remembers a token just verified.
    fn put(&self, hash: String, principal: Principal) {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= TOKEN_CACHE_MAX {
            verified.retain(|_, (_, at)| at.elapsed() < TOKEN_CACHE_TTL);
            if verified.len() >= TOKEN_CACHE_MAX {
                verified.clear();
            }
        }
        verified.insert(hash, (principal, Instant::now()));
    }
}

/// A scope a route requires, as a type.
pub trait Required: Send + Sync + 'static {
    /// The scope.
    const SCOPE: Scope;
}

/// Requires `ingest`.
pub struct Ingest;
/// Requires `read`.
pub struct Read;
/// Requires `operate`.
pub struct Operate;

impl Required for Ingest {
    const SCOPE: Scope = Scope::Ingest;
}
impl Required for Read {
    const SCOPE: Scope = Scope::Read;
}
impl Required for Operate {
    const SCOPE: Scope = Scope::Operate;
}

/// The authenticated caller of a route that requires scope `S`.
pub struct Auth<S: Required> {
    /// Who called.
    pub principal: Principal,
    scope: PhantomData<S>,
}

impl<S: Required> FromRequestParts<AppState> for Auth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthenticated =
            |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message.to_owned());
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthenticated("missing `Authorization: Bearer <token>` header"))?;
        let token =
            header.to_str().map_err(|_| unauthenticated("the `Authorization` header must be `Bearer <token>`"))?;
        let forbidden = || {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                format!("this token lacks the `{}` scope this route requires", S::SCOPE.as_str()),
            )
        };
        let hash = hash_token(bearer_credential(token));
        if let Some(principal) = state.tokens.get(&hash) {
            return if principal.scopes.allows(S::SCOPE) {
                Ok(Auth { principal, scope: PhantomData })
            } else {
                Err(forbidden())
            };
        }
        let now = jiff::Timestamp::now().as_millisecond();
        match authenticate(&state.store, token, S::SCOPE, now).await {
            Ok(principal) => {
                state.tokens.put(hash, principal.clone());
                Ok(Auth { principal, scope: PhantomData })
            }
            Err(AuthError::Forbidden { .. }) => Err(forbidden()),
            Err(AuthError::Store(e)) => Err(e.into()),
            Err(_) => Err(unauthenticated("invalid or revoked token")),
        }
    }
}
