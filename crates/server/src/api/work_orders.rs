//! Work-order routes: list by state or asset, transitions, completion (which schedules the next
//! PM), and the PM schedule of an asset.

use super::page::{self, Page};
use super::types::{PmCorrection, PmIntervalRow, WorkOrderRow, convert};
use super::{ApiJson, ApiPath, ApiQuery, Identifier, names_schema, now_ms};
use crate::AppState;
use crate::auth::{Auth, Operate, Read};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use cmms_core::ids::AssetId;
use cmms_core::work_order::{WoAction, WoState};
use cmms_pipeline::pm;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Filters of the work-order list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WorkOrderQuery {
    /// Only this state (`SCHEDULED`, `RELEASED`, `IN_PROGRESS`, `MATERIAL_PENDING`, `COMPLETED`,
    /// `CANCELLED`).
    #[param(schema_with = wo_state_schema)]
    pub state: Option<String>,
    /// Only this asset.
    #[param(value_type = Option<Identifier>)]
    pub asset_id: Option<String>,
    /// Entries per page: 1 to 5000, default 1000.
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
    /// Opaque: the `X-Next-Cursor` of the previous page (absent: the first page).
    pub cursor: Option<String>,
}

fn wo_state_schema() -> utoipa::openapi::schema::Object {
    names_schema(WoState::ALL.map(WoState::as_str), "Only work orders in this state.")
}

/// The actions of the transition route: every action but `complete`, which has its own route.
fn transition_actions() -> impl Iterator<Item = WoAction> {
    WoAction::ALL.into_iter().filter(|a| *a != WoAction::Complete)
}

fn action_schema() -> utoipa::openapi::schema::Object {
    names_schema(transition_actions().map(WoAction::as_str), "The action (`complete` has its own route).")
}

/// PM work orders by due date.
#[utoipa::path(
    get,
    path = "/api/v1/work-orders",
    tag = "work orders",
    params(WorkOrderQuery),
    responses(
        (status = 200, description = "Work orders by due date: one page", body = [WorkOrderRow], headers(
            ("Link" = String, description = "`<…&cursor=…>; rel=\"next\"`: the next page, when more entries follow"),
            ("X-Next-Cursor" = String, description = "The `cursor` of the next page, when more entries follow"),
        )),
        (status = 400, description = "Unknown state, malformed asset id, limit or cursor", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the read scope", body = ErrorBody),
    )
)]
pub async fn list_work_orders(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    uri: Uri,
    ApiQuery(q): ApiQuery<WorkOrderQuery>,
) -> Result<Page<WorkOrderRow>, ApiError> {
    let limit = page::limit(q.limit)?;
    let after = q.cursor.as_deref().map(page::decode_ints::<2>).transpose()?.map(|[due, id]| (due, id));
    let wo_state = match q.state.as_deref() {
        Some(s) => Some(s.parse::<WoState>().map_err(|e| ApiError::bad_request("INVALID_QUERY", e.to_string()))?),
        None => None,
    };
    let asset = match q.asset_id.as_deref() {
        Some(a) => Some(asset_id(a)?),
        None => None,
    };
    let asset = asset.as_ref().map(AssetId::as_str);
    let rows = state.store.work_orders_page(wo_state, asset, after, limit as i64 + 1).await?;
    Ok(Page::new(rows, limit, uri, |w| page::encode(&[&w.due_at.to_string(), &w.id.to_string()])).map(Into::into))
}

fn asset_id(raw: &str) -> Result<AssetId, ApiError> {
    AssetId::parse(raw).map_err(|e| ApiError::bad_request("INVALID_ID", format!("asset id {raw:?}: {e}")))
}

/// A work-order action.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// `release`, `start`, `hold_for_material`, `material_available` or `cancel` (completion has
    /// its own route).
    #[schema(schema_with = action_schema)]
    pub action: String,
}

/// Applies an action to a work order; an action not allowed from its state is refused (409) with
/// the allowed ones named.
#[utoipa::path(
    post,
    path = "/api/v1/work-orders/{id}/transition",
    tag = "work orders",
    params(("id" = i64, Path, minimum = 1, description = "The work order")),
    request_body = Transition,
    responses(
        (status = 200, description = "The work order after the transition", body = WorkOrderRow),
        (status = 400, description = "Malformed id or body", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the operate scope", body = ErrorBody),
        (status = 404, description = "Unknown work order", body = ErrorBody),
        (status = 409, description = "Not allowed from the current state, or changed concurrently", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Unknown action, an unknown field or a value of the wrong type", body = ErrorBody),
    )
)]
pub async fn transition_work_order(
    auth: Auth<Operate>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Transition>,
) -> Result<Json<WorkOrderRow>, ApiError> {
    let action: WoAction = body
        .action
        .parse()
        .map_err(|e: cmms_core::work_order::UnknownName| ApiError::unprocessable("UNKNOWN_ACTION", e.to_string()))?;
    Ok(Json(pm::apply_action(&state.store, id, action, &auth.principal.name, now_ms()).await?.into()))
}

/// When a work order was completed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// RFC 3339 (no offset means UTC); defaults to now.
    #[schema(format = DateTime)]
    pub completed_at: Option<String>,
}

/// A completed work order and the next PM it scheduled.
#[derive(Debug, Serialize, ToSchema)]
pub struct Completed {
    /// The completed order.
    pub completed: WorkOrderRow,
    /// The next PM, due one interval later in the site's local time.
    pub next: WorkOrderRow,
}

/// Completes an IN_PROGRESS work order and schedules the next PM in the same transaction.
/// 409 when the order is not IN_PROGRESS; 422 when the completion is not after the completion it
/// follows, or the next due date would not be after it (the monotonic guard), or the completion
/// time is later than now + the completion tolerance (1 h unless configured) or before 1970
/// (`TIMESTAMP_OUT_OF_RANGE`).
#[utoipa::path(
    post,
    path = "/api/v1/work-orders/{id}/complete",
    tag = "work orders",
    params(("id" = i64, Path, minimum = 1, description = "The work order")),
    request_body = Completion,
    responses(
        (status = 200, description = "Completed, next PM scheduled", body = Completed),
        (status = 400, description = "Malformed id or body", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the operate scope", body = ErrorBody),
        (status = 404, description = "Unknown work order", body = ErrorBody),
        (status = 409, description = "Not IN_PROGRESS, or changed concurrently", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Invalid or implausible time, the monotonic guard would break, an unknown field or a value of the wrong type", body = ErrorBody),
    )
)]
pub async fn complete_work_order(
    auth: Auth<Operate>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Completion>,
) -> Result<Json<Completed>, ApiError> {
    let at = match body.completed_at.as_deref() {
        Some(t) => cmms_core::time::parse_timestamp(t)
            .map_err(|e| ApiError::unprocessable(e.code(), format!("completed_at: {e}")))?,
        None => jiff::Timestamp::now(),
    };
    let window = state.completion_window();
    let (completed, next) = pm::complete(&state.store, id, at, window, &auth.principal.name, now_ms()).await?;
    Ok(Json(Completed { completed: completed.into(), next: next.into() }))
}

/// A corrected completion time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionCorrection {
    /// The corrected completion time: RFC 3339 (no offset means UTC), at most now + the completion
    /// tolerance, after the completion the order follows.
    #[schema(format = DateTime)]
    pub completed_at: String,
    /// Why (1–500 characters), recorded in the work order's history with the token's name.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Corrects the completion time of a COMPLETED work order (a wrong entry, e.g. year 2062 for
/// 2026). The correction is recorded (token name, time, reason). The next PM that the completion
/// scheduled is rescheduled from the corrected time while it is SCHEDULED or MATERIAL_PENDING —
/// earlier as well as later: an operator's correction is the one exception to "due dates never
/// move backwards". A next PM already released or started keeps its due date
/// (`next_rescheduled: false`); one already completed makes the correction a 409
/// (`NEXT_PM_COMPLETED`: correct that one instead).
#[utoipa::path(
    post,
    path = "/api/v1/work-orders/{id}/correct-completion",
    tag = "work orders",
    params(("id" = i64, Path, minimum = 1, description = "The COMPLETED work order")),
    request_body = CompletionCorrection,
    responses(
        (status = 200, description = "Corrected; the next PM as it is now", body = PmCorrection),
        (status = 400, description = "Malformed id or body", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the operate scope", body = ErrorBody),
        (status = 404, description = "Unknown work order", body = ErrorBody),
        (status = 409, description = "Not COMPLETED, the next PM is already completed, or changed concurrently", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Invalid or implausible time, not after the completion the order follows, a missing reason, an unknown field or a value of the wrong type", body = ErrorBody),
    )
)]
pub async fn correct_completion(
    auth: Auth<Operate>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CompletionCorrection>,
) -> Result<Json<PmCorrection>, ApiError> {
    let at = cmms_core::time::parse_timestamp(&body.completed_at)
        .map_err(|e| ApiError::unprocessable(e.code(), format!("completed_at: {e}")))?;
    let window = state.completion_window();
    Ok(Json(pm::correct(&state.store, id, at, &body.reason, window, &auth.principal.name, now_ms()).await?.into()))
}

/// An asset's PM schedule: its interval and next due date, and its work orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct PmSchedule {
    /// The computed interval and due date (absent before the first recompute).
    pub interval: Option<PmIntervalRow>,
    /// The asset's work orders by due date.
    pub work_orders: Vec<WorkOrderRow>,
}

/// The PM schedule of one asset.
#[utoipa::path(
    get,
    path = "/api/v1/assets/{asset_id}/pm",
    tag = "work orders",
    params(("asset_id" = Identifier, Path, description = "The asset")),
    responses(
        (status = 200, description = "Interval and work orders", body = PmSchedule),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the read scope", body = ErrorBody),
        (status = 404, description = "Unknown asset", body = ErrorBody),
    )
)]
pub async fn pm_schedule(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<PmSchedule>, ApiError> {
    let asset = asset_id(&raw)?;
    let known = state.store.existing_ids("assets", "asset_id", &std::iter::once(asset.as_str()).collect()).await?;
    if known.is_empty() {
        return Err(ApiError::not_found("UNKNOWN_ASSET", format!("unknown asset {:?}", asset.as_str())));
    }
    let interval = state.store.pm_interval(asset.as_str()).await?;
    let work_orders = state.store.work_orders(None, Some(asset.as_str())).await?;
    Ok(Json(PmSchedule { interval: interval.map(Into::into), work_orders: convert(work_orders) }))
}
