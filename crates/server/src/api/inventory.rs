//! Inventory routes: the threshold endpoint of the seed article, parts with stock and thresholds,
//! threshold history and approval, alerts, the quarantine queue, scan and snapshot review, and
//! the dead-letter queue of publication.

use super::page::{self, Page, PageQuery};
use super::types::{
    AlertRow, DeadLetterRow, GateRun, PartOverview, ProcurementRow, QuarantineRow, ThresholdHistoryRow, convert,
};
use super::{ApiJson, ApiPath, ApiQuery, Identifier, names_schema, now_ms};
use crate::AppState;
use crate::auth::{Auth, Ingest, Operate, Read};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use cmms_core::ids::PartId;
use cmms_core::quantity::{Quantity, QuantityError};
use cmms_pipeline::inventory;
use cmms_pipeline::thresholds;
use cmms_store::thresholds::{Received, ReceivedThresholds};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use cmms_core::publication::{Limits, ThresholdSync};

/// The answer to an applied threshold update.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThresholdApplied {
    /// The part.
    pub part_id: String,
    /// The sequence now in force.
    pub sequence_id: i64,
    /// `[min, reorder, max]` now in force.
    pub thresholds: [f64; 3],
}

fn part_id(raw: &str) -> Result<PartId, ApiError> {
    PartId::parse(raw).map_err(|e| ApiError::bad_request("INVALID_ID", format!("part id {raw:?}: {e}")))
}

fn invalid(code: &'static str, message: String) -> ApiError {
    ApiError::unprocessable(code, message)
}

/// Checks the payload against the path and the rules (`sync_timestamp` inside `window`, built
/// from the caller's clock); returns what to store. Public so the fuzz targets (`fuzz/`) exercise
/// exactly the endpoint's checks.
pub fn validate(
    path_part: &str,
    body: &ThresholdSync,
    client_id: Option<String>,
    window: &cmms_core::time::TimeWindow,
) -> Result<ReceivedThresholds, ApiError> {
    if body.part_id != path_part {
        return Err(invalid(
            "PART_ID_MISMATCH",
            format!("body part_id {:?} differs from the path's {path_part:?}", body.part_id),
        ));
    }
    if !body.checksum_ok() {
        return Err(invalid("BAD_CHECKSUM", "checksum is not sha256(\"{part_id}:{sequence_id}\")".to_owned()));
    }
    if body.sequence_id < 0 {
        return Err(invalid(
            "INVALID_SEQUENCE",
            format!("sequence_id must not be negative (got {})", body.sequence_id),
        ));
    }
    let quantity = |name: &str, v: f64| match Quantity::new(v) {
        Ok(q) => Ok(q.get()),
        Err(e @ QuantityError::TooLarge { .. }) => Err(invalid("IMPLAUSIBLE_QUANTITY", format!("{name}: {e}"))),
        Err(_) => Err(invalid("NEGATIVE_THRESHOLD", format!("{name} must be a finite number >= 0 (got {v})"))),
    };
    let Limits { min, reorder, max } = body.thresholds;
    let (min, reorder, max) =
        (quantity("thresholds.min", min)?, quantity("thresholds.reorder", reorder)?, quantity("thresholds.max", max)?);
    let current_stock = quantity("current_stock", body.current_stock)?;
    if !(min <= reorder && reorder <= max) {
        return Err(invalid(
            "THRESHOLD_ORDER",
            format!("thresholds must satisfy min <= reorder <= max (got {min} / {reorder} / {max})"),
        ));
    }
    let sync = cmms_core::time::parse_timestamp(&body.sync_timestamp)
        .and_then(|t| window.check(t))
        .map_err(|e| invalid(e.code(), format!("sync_timestamp: {e}")))?;
    Ok(ReceivedThresholds {
        part_id: body.part_id.clone(),
        sequence_id: body.sequence_id,
        limits: [min, reorder, max],
        current_stock,
        sync_timestamp: sync.as_millisecond(),
        client_id,
        received_by: None,
    })
}

/// Applies thresholds pushed by an optimiser (the seed article's `ThresholdSyncPipeline`).
///
/// 200 when applied; 409 when `sequence_id` is not newer than the one in force (a duplicate or
/// out-of-order delivery: nothing changes); 422 for invalid thresholds (negative, above the
/// plausible limit, not min <= reorder <= max, part id mismatch, bad checksum) or a
/// `sync_timestamp` outside 1970-01-01 … now + 1 day (`TIMESTAMP_OUT_OF_RANGE`) or not RFC 3339
/// with an offset within ±18:00 (`INVALID_TIMESTAMP`); 404 for an unknown part.
#[utoipa::path(
    put,
    path = "/api/v1/inventory/thresholds/{part_id}",
    tag = "inventory",
    params(("part_id" = Identifier, Path, description = "The part")),
    request_body = ThresholdSync,
    responses(
        (status = 200, description = "Applied", body = ThresholdApplied),
        (status = 400, description = "Malformed body or id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the ingest scope", body = ErrorBody),
        (status = 404, description = "Unknown part", body = ErrorBody),
        (status = 409, description = "Sequence not newer than the one in force", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Invalid thresholds, an unknown field or a value of the wrong type", body = ErrorBody),
    )
)]
pub async fn put_thresholds(
    auth: Auth<Ingest>,
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ThresholdSync>,
) -> Result<Json<ThresholdApplied>, ApiError> {
    let part = part_id(&raw)?;
    let client = headers.get("x-client-id").and_then(|v| v.to_str().ok()).map(|s| s.chars().take(128).collect());
    let window = cmms_core::time::TimeWindow::events(jiff::Timestamp::now());
    let mut received = validate(part.as_str(), &body, client, &window)?;
    received.received_by = Some(auth.principal.name.clone());
    let part_id = received.part_id.clone();
    let (sequence_id, limits) = (received.sequence_id, received.limits);
    match state.receive_thresholds(received).await? {
        Received::Applied => {
            state.after_change(std::slice::from_ref(&part_id)).await;
            Ok(Json(ThresholdApplied { part_id, sequence_id, thresholds: limits }))
        }
        Received::NotNewer { in_force } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "SEQUENCE_CONFLICT",
            format!(
                "sequence {} is not newer than the sequence in force ({in_force}) for part {}: nothing changed",
                sequence_id, part_id
            ),
        )
        .with_detail("sequence_in_force", in_force.into())),
        Received::UnknownPart => {
            Err(ApiError::not_found("UNKNOWN_PART", format!("unknown part {:?} (import parts first)", part.as_str())))
        }
    }
}

/// 404 unless `part` is a known part.
async fn require_part(state: &AppState, part: &PartId) -> Result<(), ApiError> {
    let known = state.store.existing_ids("parts", "part_id", &std::iter::once(part.as_str()).collect()).await?;
    if known.is_empty() {
        return Err(ApiError::not_found("UNKNOWN_PART", format!("unknown part {:?}", part.as_str())));
    }
    Ok(())
}

/// Approves the computed thresholds of a part held on the drift fallback; 409 when the part is
/// not on the drift fallback (nothing to approve).
#[utoipa::path(
    post,
    path = "/api/v1/inventory/thresholds/{part_id}/approve",
    tag = "inventory",
    params(("part_id" = Identifier, Path, description = "The part")),
    responses(
        (status = 204, description = "Approved: the computed thresholds are published"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the operate scope", body = ErrorBody),
        (status = 404, description = "Unknown part", body = ErrorBody),
        (status = 409, description = "The part is not on the drift fallback", body = ErrorBody),
    )
)]
pub async fn approve_thresholds(
    _auth: Auth<Operate>,
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let part = part_id(&raw)?;
    require_part(&state, &part).await?;
    thresholds::approve(&state.store, part.as_str(), now_ms()).await?;
    state.after_change(&[part.as_str().to_owned()]).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters and page of the parts list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PartsQuery {
    /// Only parts whose available stock is below their reorder point.
    #[serde(default)]
    pub below_reorder: bool,
    /// Entries per page: 1 to 5000, default 1000.
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
    /// Opaque: the `X-Next-Cursor` of the previous page (absent: the first page).
    pub cursor: Option<String>,
}

/// Parts with their stock, availability, pause state and the thresholds in force, by part id,
/// one page at a time (see `limit` and `cursor`).
#[utoipa::path(
    get,
    path = "/api/v1/parts",
    tag = "inventory",
    params(PartsQuery),
    responses(
        (status = 200, description = "Parts by id: one page", body = [PartOverview], headers(
            ("Link" = String, description = "`<…&cursor=…>; rel=\"next\"`: the next page, when more entries follow"),
            ("X-Next-Cursor" = String, description = "The `cursor` of the next page, when more entries follow"),
        )),
        (status = 400, description = "Malformed query, limit or cursor", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the read scope", body = ErrorBody),
    )
)]
pub async fn list_parts(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    uri: Uri,
    ApiQuery(q): ApiQuery<PartsQuery>,
) -> Result<Page<PartOverview>, ApiError> {
    let limit = page::limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        Some(c) => Some(page::decode(c, 1)?.remove(0)),
        None => None,
    };
    let rows = state.store.parts_overview_page(q.below_reorder, after.as_deref(), limit as i64 + 1).await?;
    Ok(Page::new(convert(rows), limit, uri, |p| page::encode(&[&p.part_id])))
}

/// A part's threshold history (computed and received), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/parts/{part_id}/thresholds",
    tag = "inventory",
    params(("part_id" = Identifier, Path, description = "The part")),
    responses(
        (status = 200, description = "History, newest first (at most 1,000 entries)", body = [ThresholdHistoryRow]),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the read scope", body = ErrorBody),
    )
)]
pub async fn threshold_history(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Vec<ThresholdHistoryRow>>, ApiError> {
    let part = part_id(&raw)?;
    Ok(Json(convert(state.store.threshold_history(part.as_str(), 1000).await?)))
}

/// The latest report `cmms backtest` saved (404 before the first).
#[utoipa::path(
    get,
    path = "/api/v1/backtest",
    tag = "inventory",
    responses(
        (status = 200, description = "The latest saved backtest report", body = super::types::BacktestReport),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the read scope", body = ErrorBody),
        (status = 404, description = "No backtest report saved yet (`NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn latest_backtest(
    _auth: Auth<Read>,
    State(state): State<AppState>,
) -> Result<Json<super::types::BacktestReport>, ApiError> {
    let row = state.store.latest_backtest_report().await?.ok_or_else(|| {
        ApiError::not_found("NOT_FOUND", "no backtest report saved yet: run `cmms backtest --input FOLDER`")
    })?;
    let report = serde_json::from_str(&row.report).map_err(|e| ApiError::internal(&e))?;
    Ok(Json(super::types::BacktestReport {
        id: row.id,
        created_at: cmms_core::time::rfc3339_utc(row.created_at),
        source: row.source,
        report,
    }))
}

/// Open alerts (drift, scan discrepancies, implausible drops), newest first, one page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "inventory",
    params(PageQuery),
    responses(
        (status = 200, description = "Open alerts: one page", body = [AlertRow], headers(
            ("Link" = String, description = "`<…&cursor=…>; rel=\"next\"`: the next page, when more entries follow"),
            ("X-Next-Cursor" = String, description = "The `cursor` of the next page, when more entries follow"),
        )),
        (status = 400, description = "Malformed query, limit or cursor", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the read scope", body = ErrorBody),
    )
)]
pub async fn list_alerts(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    uri: Uri,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Page<AlertRow>, ApiError> {
    let limit = page::limit(q.limit)?;
    let before = q.cursor.as_deref().map(page::decode_ints::<1>).transpose()?.map(|[id]| id);
    let rows = state.store.open_alerts_page(before, limit as i64 + 1).await?;
    Ok(Page::new(convert(rows), limit, uri, |a| page::encode(&[&a.id.to_string()])))
}

/// Filters of list endpoints that can show resolved entries too.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AllQuery {
    /// Include resolved / replayed entries.
    #[serde(default)]
    pub all: bool,
    /// Entries per page: 1 to 5000, default 1000.
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
    /// Opaque: the `X-Next-Cursor` of the previous page (absent: the first page).
    pub cursor: Option<String>,
}

/// The quarantine queue: SKUs that map to no part or to several; open entries first, one page at
/// a time.
#[utoipa::path(
    get,
    path = "/api/v1/quarantine",
    tag = "inventory",
    params(AllQuery),
    responses(
        (status = 200, description = "Quarantine entries: one page", body = [QuarantineRow], headers(
            ("Link" = String, description = "`<…&cursor=…>; rel=\"next\"`: the next page, when more entries follow"),
            ("X-Next-Cursor" = String, description = "The `cursor` of the next page, when more entries follow"),
        )),
        (status = 400, description = "Malformed query, limit or cursor", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the read scope", body = ErrorBody),
    )
)]
pub async fn list_quarantine(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    uri: Uri,
    ApiQuery(q): ApiQuery<AllQuery>,
) -> Result<Page<QuarantineRow>, ApiError> {
    let limit = page::limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        Some(c) => {
            let key = page::decode(c, 2)?;
            let id = key[1].parse().map_err(|_| page::bad_cursor())?;
            Some((key[0].clone(), id))
        }
        None => None,
    };
    let after = after.as_ref().map(|(status, id)| (status.as_str(), *id));
    let rows = state.store.quarantine_page(!q.all, after, limit as i64 + 1).await?;
    Ok(Page::new(convert(rows), limit, uri, |e| page::encode(&[&e.status, &e.id.to_string()])))
}

/// The part a quarantined SKU should map to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    /// The part.
    #[schema(value_type = Identifier)]
    pub part_id: String,
}

/// Maps a quarantined SKU to a part (recorded in the SKU map) and re-processes its held records.
#[utoipa::path(
    post,
    path = "/api/v1/quarantine/{id}/resolve",
    tag = "inventory",
    params(("id" = i64, Path, minimum = 1, description = "The quarantine entry")),
    request_body = Resolve,
    responses(
        (status = 200, description = "Resolved; what re-processing did", body = GateRun),
        (status = 400, description = "Malformed id or body", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the operate scope", body = ErrorBody),
        (status = 404, description = "Unknown entry", body = ErrorBody),
        (status = 409, description = "Already resolved", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Unknown part, an unknown field or a value of the wrong type", body = ErrorBody),
    )
)]
pub async fn resolve_quarantine(
    _auth: Auth<Operate>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Resolve>,
) -> Result<Json<GateRun>, ApiError> {
    let part = part_id(&body.part_id)?;
    let run = inventory::resolve_quarantine(&state.store, id, part.as_str(), now_ms()).await?;
    state.after_change(&[part.as_str().to_owned()]).await;
    Ok(Json(run.into()))
}

/// The part an operator action applied to.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartRef {
    /// The part.
    pub part_id: String,
}

/// Accepts the count of the scan that paused a part: stock becomes the count, routing resumes;
/// 409 when the scan is not a discrepancy waiting for review (or not mapped to a part yet).
#[utoipa::path(
    post,
    path = "/api/v1/scans/{scan_id}/accept",
    tag = "inventory",
    params(("scan_id" = Identifier, Path, description = "The discrepant scan")),
    responses(
        (status = 200, description = "Accepted", body = PartRef),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the operate scope", body = ErrorBody),
        (status = 404, description = "Unknown scan", body = ErrorBody),
        (status = 409, description = "Not a discrepancy waiting for review", body = ErrorBody),
    )
)]
pub async fn accept_scan(
    _auth: Auth<Operate>,
    State(state): State<AppState>,
    ApiPath(scan_id): ApiPath<String>,
) -> Result<Json<PartRef>, ApiError> {
    cmms_core::ids::check_identifier(&scan_id)
        .map_err(|e| ApiError::bad_request("INVALID_ID", format!("scan id {scan_id:?}: {e}")))?;
    let part_id = inventory::accept_scan(&state.store, &scan_id, now_ms()).await?;
    state.after_change(std::slice::from_ref(&part_id)).await;
    Ok(Json(PartRef { part_id }))
}

/// Applies the snapshot of a part held as an implausible drop; 409 when none is held or a newer
/// snapshot was applied since.
#[utoipa::path(
    post,
    path = "/api/v1/parts/{part_id}/held-snapshot/accept",
    tag = "inventory",
    params(("part_id" = Identifier, Path, description = "The part")),
    responses(
        (status = 200, description = "Applied", body = PartRef),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the operate scope", body = ErrorBody),
        (status = 404, description = "Unknown part", body = ErrorBody),
        (status = 409, description = "No held snapshot, or a newer one was applied", body = ErrorBody),
    )
)]
pub async fn accept_held_snapshot(
    _auth: Auth<Operate>,
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<PartRef>, ApiError> {
    let part = part_id(&raw)?;
    require_part(&state, &part).await?;
    inventory::accept_held_snapshot(&state.store, part.as_str(), now_ms()).await?;
    state.after_change(&[part.as_str().to_owned()]).await;
    Ok(Json(PartRef { part_id: part.as_str().to_owned() }))
}

/// Filters of the procurement list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProcurementQuery {
    /// Only this status (`OPEN`, `FULFILLED`, `CANCELLED`).
    #[param(schema_with = procurement_status_schema)]
    pub status: Option<String>,
    /// Entries per page: 1 to 5000, default 1000.
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
    /// Opaque: the `X-Next-Cursor` of the previous page (absent: the first page).
    pub cursor: Option<String>,
}

/// The statuses a procurement request can have.
const PROCUREMENT_STATUSES: [&str; 3] = ["OPEN", "FULFILLED", "CANCELLED"];

fn procurement_status_schema() -> utoipa::openapi::schema::Object {
    names_schema(PROCUREMENT_STATUSES, "Only requests with this status.")
}

/// Procurement requests raised by routing (order up to max when stock falls below reorder),
/// newest first.
#[utoipa::path(
    get,
    path = "/api/v1/procurement-requests",
    tag = "routing",
    params(ProcurementQuery),
    responses(
        (status = 200, description = "Procurement requests: one page", body = [ProcurementRow], headers(
            ("Link" = String, description = "`<…&cursor=…>; rel=\"next\"`: the next page, when more entries follow"),
            ("X-Next-Cursor" = String, description = "The `cursor` of the next page, when more entries follow"),
        )),
        (status = 400, description = "Unknown status, malformed limit or cursor", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the read scope", body = ErrorBody),
    )
)]
pub async fn list_procurement_requests(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    uri: Uri,
    ApiQuery(q): ApiQuery<ProcurementQuery>,
) -> Result<Page<ProcurementRow>, ApiError> {
    let limit = page::limit(q.limit)?;
    let after = q.cursor.as_deref().map(page::decode_ints::<2>).transpose()?.map(|[at, id]| (at, id));
    let status = match q.status.as_deref().map(str::to_ascii_uppercase) {
        None => None,
        Some(s) if PROCUREMENT_STATUSES.contains(&s.as_str()) => Some(s),
        Some(s) => {
            return Err(ApiError::bad_request(
                "INVALID_QUERY",
                format!("unknown status {s:?} (OPEN, FULFILLED, CANCELLED)"),
            ));
        }
    };
    let rows = state.store.procurement_requests_page(status.as_deref(), after, limit as i64 + 1).await?;
    Ok(Page::new(rows, limit, uri, |r| page::encode(&[&r.created_at.to_string(), &r.id.to_string()])).map(Into::into))
}

/// The dead-letter queue of outbound publication.
#[utoipa::path(
    get,
    path = "/api/v1/dlq",
    tag = "publication",
    params(AllQuery),
    responses(
        (status = 200, description = "Dead letters, newest first: one page", body = [DeadLetterRow], headers(
            ("Link" = String, description = "`<…&cursor=…>; rel=\"next\"`: the next page, when more entries follow"),
            ("X-Next-Cursor" = String, description = "The `cursor` of the next page, when more entries follow"),
        )),
        (status = 400, description = "Malformed query, limit or cursor", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the read scope", body = ErrorBody),
    )
)]
pub async fn list_dead_letters(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    uri: Uri,
    ApiQuery(q): ApiQuery<AllQuery>,
) -> Result<Page<DeadLetterRow>, ApiError> {
    let limit = page::limit(q.limit)?;
    let before = q.cursor.as_deref().map(page::decode_ints::<1>).transpose()?.map(|[id]| id);
    let rows = state.store.dead_letters_page(q.all, before, limit as i64 + 1).await?;
    Ok(Page::new(convert(rows), limit, uri, |d| page::encode(&[&d.id.to_string()])))
}

/// The outbox row a replay created.
#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    /// The new outbox row.
    pub outbox_id: i64,
}

/// Puts a dead letter back into the outbox; it is delivered by the same rules as a new change.
#[utoipa::path(
    post,
    path = "/api/v1/dlq/{id}/replay",
    tag = "publication",
    params(("id" = i64, Path, minimum = 1, description = "The dead letter")),
    responses(
        (status = 200, description = "Back in the outbox", body = Replayed),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the operate scope", body = ErrorBody),
        (status = 404, description = "Unknown dead letter", body = ErrorBody),
        (status = 409, description = "Already replayed", body = ErrorBody),
    )
)]
pub async fn replay_dead_letter(
    _auth: Auth<Operate>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Replayed>, ApiError> {
    if state.store.dead_letter(id).await?.is_none() {
        return Err(ApiError::not_found("UNKNOWN_DEAD_LETTER", format!("unknown dead letter {id}")));
    }
    match state.store.replay_dead_letter(id, now_ms()).await? {
        Some(outbox_id) => Ok(Json(Replayed { outbox_id })),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "ALREADY_REPLAYED",
            format!("dead letter {id} was already replayed"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmms_core::publication::ThresholdSync;
    use cmms_core::time::TimeWindow;
    use proptest::prelude::*;

    /// Plausible figures, boundary cases and the absurd values senders produce.
    fn figure() -> impl Strategy<Value = f64> {
        prop_oneof![
            0.0f64..1e6,
            Just(0.0),
            Just(-0.0),
            Just(1e9),
            Just(1e9 + 1.0),
            Just(1e308),
            Just(f64::MAX),
            Just(-1.0),
            Just(f64::MIN_POSITIVE),
            Just(0.1234567891),
        ]
    }

    proptest! {
        /// The threshold PUT either refuses a payload with a stable code and a message naming the
        /// field, or accepts it with every figure finite, within the plausible limit, in micro-units
        /// and ordered; it never panics.
        #[test]
        fn the_put_accepts_only_plausible_thresholds(
            min in figure(), reorder in figure(), max in figure(), stock in figure(), seq in 0i64..1_000
        ) {
            let now = jiff::Timestamp::from_second(1_796_000_000).unwrap();
            let body = ThresholdSync::new("P-1", stock, [min, reorder, max], seq, now);
            match validate("P-1", &body, None, &TimeWindow::events(now)) {
                Ok(r) => {
                    let limit = cmms_core::quantity::max_quantity();
                    for v in r.limits.into_iter().chain([r.current_stock]) {
                        prop_assert!(v.is_finite() && (0.0..=limit).contains(&v), "{v}");
                        prop_assert_eq!(Quantity::new(v).unwrap().get(), v, "held in micro-units");
                    }
                    prop_assert!(r.limits[0] <= r.limits[1] && r.limits[1] <= r.limits[2]);
                }
                Err(e) => {
                    prop_assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
                    prop_assert!(
                        ["IMPLAUSIBLE_QUANTITY", "NEGATIVE_THRESHOLD", "THRESHOLD_ORDER"].contains(&e.code),
                        "{}", e.code
                    );
                    let names_field = ["min", "reorder", "max", "current_stock"].iter().any(|f| e.message.contains(f));
                    prop_assert!(names_field, "{}", e.message);
                }
            }
        }
    }
}
