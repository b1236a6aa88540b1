//! Bearer-token authentication and scope checks as an extractor: a handler that takes
//! `Auth<Read>` runs only for a valid token whose scopes allow `read` (401 otherwise, 403 for a
//! valid token without the scope).

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use cmms_core::auth::Scope;
use cmms_pipeline::auth::{AuthError, Principal, authenticate};
use std::marker::PhantomData;

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
        let now = jiff::Timestamp::now().as_millisecond();
        match authenticate(&state.store, token, S::SCOPE, now).await {
            Ok(principal) => Ok(Auth { principal, scope: PhantomData }),
            Err(AuthError::Forbidden { .. }) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                format!("this token lacks the `{}` scope this route requires", S::SCOPE.as_str()),
            )),
            Err(AuthError::Store(e)) => Err(e.into()),
            Err(_) => Err(unauthenticated("invalid or revoked token")),
        }
    }
}
