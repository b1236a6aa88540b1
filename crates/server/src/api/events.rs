//! Correction routes: void an accepted event (consumption, failure event, stock snapshot),
//! restore it, and list the voids with who, when and why.

use super::types::{Correction, EventVoidRow, convert};
use super::{ApiJson, ApiQuery, names_schema, now_ms};
use crate::AppState;
use crate::auth::{Auth, Operate, Read};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use cmms_core::corrections::VoidFeed;
use cmms_pipeline::corrections::{self, CorrectionError};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

fn feed_schema() -> utoipa::openapi::schema::Object {
    names_schema(
        VoidFeed::ALL.map(VoidFeed::as_str),
        "The feed; needed only when `source` and `event_id` name events in more than one.",
    )
}

/// The event to void, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {
    /// `consumption`, `failures` or `inventory`; needed only when the key exists in more than one.
    #[schema(schema_with = feed_schema)]
    pub feed: Option<String>,
    /// The source (consumption, inventory) or the asset (failures).
    #[schema(min_length = 1)]
    pub source: String,
    /// The event id; for a stock snapshot `SKU/SEQUENCE` (split at the last `/`).
    #[schema(min_length = 1)]
    pub event_id: String,
    /// Why: what was wrong with the event, or the ERP reversal's reference. Required.
    #[schema(min_length = 1)]
    pub reason: String,
}

/// The voided event to restore.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// `consumption`, `failures` or `inventory`; needed only when the key exists in more than one.
    #[schema(schema_with = feed_schema)]
    pub feed: Option<String>,
    /// The source (consumption, inventory) or the asset (failures).
    #[schema(min_length = 1)]
    pub source: String,
    /// The event id; for a stock snapshot `SKU/SEQUENCE`.
    #[schema(min_length = 1)]
    pub event_id: String,
    /// Why it is restored.
    pub reason: Option<String>,
}

fn feed(name: Option<&str>) -> Result<Option<VoidFeed>, ApiError> {
    name.map(VoidFeed::parse).transpose().map_err(|e| CorrectionError::Key(e).into())
}

/// Voids an accepted event: every calculation skips it from now on (threshold windows, MTBF,
/// stock), a re-delivery of it stays a duplicate, and the void is recorded with the token's name,
/// the time and the reason. Voiding consumption marks its part for the next threshold recompute;
/// voiding a failure event changes its asset's MTBF at the next PM recompute; voiding the applied
/// snapshot a part's stock came from puts the stock back to the newest applied snapshot that is
/// not voided (and the part is routed again). An ERP reversal is a void of the original event.
#[utoipa::path(
    post,
    path = "/api/v1/events/void",
    tag = "corrections",
    request_body = VoidRequest,
    responses(
        (status = 200, description = "Voided; what it touched", body = Correction),
        (status = 400, description = "Malformed body, or source/event id that fit no event key", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the operate scope", body = ErrorBody),
        (status = 404, description = "No accepted event has this key (`UNKNOWN_EVENT`)", body = ErrorBody),
        (status = 409, description = "Already voided (`ALREADY_VOIDED`), or the key names events in several feeds (`AMBIGUOUS_EVENT`; give `feed`)", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`", body = ErrorBody),
        (status = 422, description = "No reason, an unknown feed, an unknown field or a value of the wrong type", body = ErrorBody),
    )
)]
pub async fn void_event(
    auth: Auth<Operate>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<VoidRequest>,
) -> Result<Json<Correction>, ApiError> {
    let feed = feed(body.feed.as_deref())?;
    let done = corrections::void(
        &state.store,
        feed,
        &body.source,
        &body.event_id,
        &body.reason,
        &auth.principal.name,
        now_ms(),
    )
    .await?;
    state.after_change(&done.parts).await;
    Ok(Json(done.into()))
}

/// Restores a voided event: it counts again in every calculation, and the void is closed with the
/// token's name, the time and the reason. The same recompute marks and routing as a void follow; a
/// restored snapshot that had been applied goes through the gate again, as a late delivery.
#[utoipa::path(
    post,
    path = "/api/v1/events/restore",
    tag = "corrections",
    request_body = RestoreRequest,
    responses(
        (status = 200, description = "Restored; what it touched", body = Correction),
        (status = 400, description = "Malformed body, or source/event id that fit no event key", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the operate scope", body = ErrorBody),
        (status = 404, description = "No accepted event has this key (`UNKNOWN_EVENT`)", body = ErrorBody),
        (status = 409, description = "Not voided (`NOT_VOIDED`), or the key names events in several feeds (`AMBIGUOUS_EVENT`)", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`", body = ErrorBody),
        (status = 422, description = "An unknown feed, an unknown field or a value of the wrong type", body = ErrorBody),
    )
)]
pub async fn restore_event(
    auth: Auth<Operate>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RestoreRequest>,
) -> Result<Json<Correction>, ApiError> {
    let feed = feed(body.feed.as_deref())?;
    let done = corrections::restore(
        &state.store,
        feed,
        &body.source,
        &body.event_id,
        body.reason.as_deref(),
        &auth.principal.name,
        now_ms(),
    )
    .await?;
    state.after_change(&done.parts).await;
    Ok(Json(done.into()))
}

/// Filters of the void list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VoidQuery {
    /// Include restored voids (default: only those in force).
    pub all: Option<bool>,
    /// Most entries returned (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Voids, newest first: what was voided, by whom, when and why, and its restore if undone.
#[utoipa::path(
    get,
    path = "/api/v1/events/voids",
    tag = "corrections",
    params(VoidQuery),
    responses(
        (status = 200, description = "Voids, newest first", body = [EventVoidRow]),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the read scope", body = ErrorBody),
    )
)]
pub async fn list_voids(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<VoidQuery>,
) -> Result<Json<Vec<EventVoidRow>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("INVALID_QUERY", format!("limit must be 1–1000 (got {limit})")));
    }
    Ok(Json(convert(state.store.event_voids(!q.all.unwrap_or(false), limit).await?)))
}
