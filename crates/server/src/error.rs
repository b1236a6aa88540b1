//! The API's one error type: every failure is answered as
//! `{"error": {"code", "message", "details"}}` with a stable code; internal causes are logged,
//! never sent. `details` is always an object (`{}` when there is nothing more to say), so clients
//! can read a key from it without checking for null first.
//!
//! Status codes: 400 for a malformed request (JSON syntax, path, query, identifier), 404 for an
//! unknown resource named in the path, 409 when a well-formed request conflicts with the current
//! state of its resource (illegal work-order transition, nothing to approve or accept, already
//! resolved or replayed, sequence not newer), 415 for a body that is not `application/json`,
//! 422 for a body that breaks a rule (invalid thresholds, unknown part named in the body, the
//! monotonic guard on completion, every ingested record rejected), 503 with `Retry-After` when
//! the service is overloaded (too many requests in flight, or no database connection came free in
//! time): the request was not applied and may be retried.
//!
//!
//! [`uniform_errors`] keeps it so for errors no handler wrote: the framework's own answers
//! (a body over the size limit, a form that does not parse, a path parameter of the wrong type)
//! come as plain text, and it rewrites every error response that is plain text or has no body
//! into this document — or, on the dashboard's pages, into its HTML error page. It also answers
//! 414 for a request target longer than [`MAX_URI_BYTES`].

use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::header::{HeaderValue, RETRY_AFTER};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cmms_core::corrections::KeyError;
use cmms_core::work_order::WorkOrderError;
use cmms_pipeline::corrections::CorrectionError;
use cmms_pipeline::ingest::IngestError;
use cmms_pipeline::inventory::InventoryError;
use cmms_pipeline::pm::PmServiceError;
use cmms_pipeline::thresholds::ThresholdsError;
use cmms_store::StoreError;
use serde::Serialize;

/// The `Retry-After` of every 503 answer, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// An API error: HTTP status, stable code, message for people, structured details.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`UNKNOWN_PART`, `SEQUENCE_CONFLICT` …).
    pub code: &'static str,
    /// What went wrong and what to do, in words.
    pub message: String,
    /// Structured details (the sequence in force, the per-record results …); empty when none.
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// The error document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error itself.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Structured details; always an object, `{}` when there are none.
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: serde_json::Map::new() }
    }

    /// Adds one entry to the details.
    pub fn with_detail(mut self, key: &str, value: serde_json::Value) -> Self {
        self.details.insert(key.to_owned(), value);
        self
    }

    /// 404 for an unknown resource.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 409 for a well-formed request that conflicts with the current state of its resource.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 422 for a request that is well-formed but breaks a rule.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 400 for a malformed request.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 503 `OVERLOADED`: nothing was applied; answered with `Retry-After`.
    pub fn overloaded(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "OVERLOADED", message)
    }

    /// 503 for an overloaded store, 500 for any other store failure (the cause is logged).
    pub fn store(e: &StoreError) -> Self {
        if e.is_overloaded() {
            tracing::warn!(error = %e, "request refused: store overloaded");
            return Self::overloaded("the database is busy: retry shortly");
        }
        Self::internal(e)
    }

    /// 500; the cause goes to the log only.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "internal error; the server log has the cause")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail { code: self.code.to_owned(), message: self.message, details: self.details },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::store(&e)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match &r {
            JsonRejection::JsonDataError(_) => "INVALID_FIELD",
            JsonRejection::JsonSyntaxError(_) => "INVALID_JSON",
            JsonRejection::MissingJsonContentType(_) => "UNSUPPORTED_MEDIA_TYPE",
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => "BODY_TOO_LARGE",
            _ => "INVALID_BODY",
        };
        ApiError::new(status, code, r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request("INVALID_PATH", r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request("INVALID_QUERY", r.body_text())
    }
}

impl From<PmServiceError> for ApiError {
    fn from(e: PmServiceError) -> Self {
        let code = e.code();
        match e {
            PmServiceError::UnknownWorkOrder(_) | PmServiceError::Rule(WorkOrderError::UnknownWorkOrder(_)) => {
                ApiError::not_found(code, e.to_string())
            }
            // Valid in form, refused by the order's current state (or its asset's open PM).
            PmServiceError::Rule(
                WorkOrderError::Illegal(_) | WorkOrderError::AlreadyOpen { .. } | WorkOrderError::NotCompleted { .. },
            )
            | PmServiceError::Concurrent(_)
            | PmServiceError::NextAlreadyCompleted { .. } => ApiError::conflict(code, e.to_string()),
            // The monotonic guard (docs/contract.md#work-orders: 422) and `complete` sent as a plain transition.
            PmServiceError::Rule(
                WorkOrderError::CompletionBeforeSchedule { .. }
                | WorkOrderError::NextDue(_)
                | WorkOrderError::CompletionNeedsTime,
            )
            | PmServiceError::UseComplete
            | PmServiceError::Time(_)
            | PmServiceError::ReasonRequired => ApiError::unprocessable(code, e.to_string()),
            PmServiceError::Store(e) => e.into(),
            PmServiceError::Invalid(_) | PmServiceError::Formulas(_) => ApiError::internal(&e),
        }
    }
}

impl From<InventoryError> for ApiError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::UnknownQuarantine(_) => ApiError::not_found("UNKNOWN_QUARANTINE_ENTRY", e.to_string()),
            InventoryError::UnknownPart(_) => ApiError::unprocessable("UNKNOWN_PART", e.to_string()),
            InventoryError::UnknownScan(_) => ApiError::not_found("UNKNOWN_SCAN", e.to_string()),
            InventoryError::AlreadyResolved(_) => ApiError::conflict("ALREADY_RESOLVED", e.to_string()),
            InventoryError::Scan(_) => ApiError::conflict("NOT_APPLICABLE", e.to_string()),
            InventoryError::Store(e) => e.into(),
            InventoryError::Formulas(_) => ApiError::internal(&e),
        }
    }
}

impl From<ThresholdsError> for ApiError {
    fn from(e: ThresholdsError) -> Self {
        match e {
            ThresholdsError::NothingToApprove(_) => ApiError::conflict("NOTHING_TO_APPROVE", e.to_string()),
            ThresholdsError::Store(e) => e.into(),
            ThresholdsError::Formulas(_) => ApiError::internal(&e),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::TooMany(_) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "BATCH_TOO_LARGE", e.to_string()),
            IngestError::Inventory(e) => e.into(),
            IngestError::Store(e) => e.into(),
        }
    }
}

impl From<CorrectionError> for ApiError {
    fn from(e: CorrectionError) -> Self {
        let code = e.code();
        match &e {
            CorrectionError::Key(KeyError::UnknownFeed(_)) => ApiError::unprocessable("UNKNOWN_FEED", e.to_string()),
            CorrectionError::Key(_) => ApiError::bad_request(code, e.to_string()),
            CorrectionError::Unknown { .. } => ApiError::not_found(code, e.to_string()),
            CorrectionError::Ambiguous { feeds, .. } => {
                let feeds = feeds.iter().map(|f| serde_json::Value::from(f.as_str())).collect();
                ApiError::conflict(code, e.to_string()).with_detail("feeds", serde_json::Value::Array(feeds))
            }
            CorrectionError::AlreadyVoided { void, .. } => {
                let void = void.as_ref().and_then(|v| serde_json::to_value(v).ok()).unwrap_or_default();
                ApiError::conflict(code, e.to_string()).with_detail("void", void)
            }
            CorrectionError::NotVoided(_) => ApiError::conflict(code, e.to_string()),
            CorrectionError::NoReason => ApiError::unprocessable(code, e.to_string()),
            CorrectionError::Inventory(_) | CorrectionError::Store(_) => ApiError::internal(&e),
        }
    }
}

/// Longest request target (path and query) accepted, in bytes; a longer one is answered 414 with
/// the error document. (Beyond 65,534 bytes, or a request head over about 400 KiB, the HTTP
/// library answers 414 or 431 itself, with an empty body, before any of this code runs.)
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Most bytes of a plain-text error body read to carry its message over.
const MAX_PLAIN_ERROR_BYTES: usize = 16 * 1024;

/// Whether `path` is one of the dashboard's (answered with HTML pages) rather than the API's, the
/// metrics' or the health check's (answered with JSON).
fn is_dashboard_path(path: &str) -> bool {
    !(path == "/api" || path.starts_with("/api/") || path == "/metrics" || path == "/healthz")
}

/// The stable code of an error status that no handler named.
fn code_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BAD_REQUEST",
        401 => "UNAUTHENTICATED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        408 => "REQUEST_TIMEOUT",
        413 => "BODY_TOO_LARGE",
        414 => "URI_TOO_LONG",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        422 => "INVALID_BODY",
        429 => "TOO_MANY_REQUESTS",
        431 => "HEADERS_TOO_LARGE",
        503 => "UNAVAILABLE",
        504 => "TIMEOUT",
        s if s >= 500 => "INTERNAL",
        _ => "BAD_REQUEST",
    }
}

/// The error response for `status` with `message`: the dashboard's HTML error page on its paths,
/// the JSON error document elsewhere. A server error's message goes to the log only.
fn error_response(dashboard: bool, status: StatusCode, message: String) -> Response {
    let message = if status.is_server_error() {
        tracing::error!(status = status.as_u16(), error = %message, "request failed");
        "internal error; the server log has the cause".to_owned()
    } else if message.is_empty() {
        status.canonical_reason().unwrap_or("request refused").to_owned()
    } else {
        message
    };
    if dashboard {
        crate::dashboard::error_page(status, &message)
    } else {
        ApiError::new(status, code_of(status), message).into_response()
    }
}

/// Middleware: answers 414 for a request target over [`MAX_URI_BYTES`], and rewrites every error
/// response (4xx, 5xx) that is plain text or has no content type into the error document (JSON,
/// or the HTML error page on the dashboard's paths), keeping its status, its message and its other
/// headers (`Allow`, `Retry-After` …).
pub async fn uniform_errors(request: Request, next: Next) -> Response {
    let dashboard = is_dashboard_path(request.uri().path());
    let target = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        let message = format!("the request target is {target} bytes long; at most {MAX_URI_BYTES} are accepted");
        return error_response(dashboard, StatusCode::URI_TOO_LONG, message);
    }
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?"));
    if !content_type.is_none_or(|t| t.starts_with("text/plain")) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_PLAIN_ERROR_BYTES).await.unwrap_or_default();
    let mut rewritten = error_response(dashboard, status, String::from_utf8_lossy(&text).trim().to_owned());
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    rewritten.headers_mut().extend(parts.headers);
    rewritten
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_metrics_and_health_answer_json_everything_else_html() {
        for path in ["/api", "/api/v1/parts", "/metrics", "/healthz"] {
            assert!(!is_dashboard_path(path), "{path}");
        }
        for path in ["/", "/login", "/ui/dlq/1/replay", "/apix", "/metrics/x"] {
            assert!(is_dashboard_path(path), "{path}");
        }
    }

    #[test]
    fn every_error_status_has_a_code() {
        assert_eq!(code_of(StatusCode::PAYLOAD_TOO_LARGE), "BODY_TOO_LARGE");
        assert_eq!(code_of(StatusCode::URI_TOO_LONG), "URI_TOO_LONG");
        assert_eq!(code_of(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE), "HEADERS_TOO_LARGE");
        assert_eq!(code_of(StatusCode::IM_A_TEAPOT), "BAD_REQUEST");
        assert_eq!(code_of(StatusCode::BAD_GATEWAY), "INTERNAL");
    }

    /// A request that found no free database connection in time was not applied: 503 with
    /// `Retry-After` (it was a 500 "pool timed out"), through every error type that wraps the store.
    #[test]
    fn an_overloaded_store_is_503_with_retry_after() {
        let timed_out = || StoreError::Query(sqlx::Error::PoolTimedOut);
        for e in [
            ApiError::from(timed_out()),
            ApiError::from(PmServiceError::Store(timed_out())),
            ApiError::from(InventoryError::Store(timed_out())),
            ApiError::from(ThresholdsError::Store(timed_out())),
            ApiError::from(IngestError::Store(timed_out())),
        ] {
            assert_eq!((e.status, e.code), (StatusCode::SERVICE_UNAVAILABLE, "OVERLOADED"));
            let response = e.into_response();
            assert_eq!(response.headers().get(RETRY_AFTER).unwrap(), &RETRY_AFTER_SECONDS.to_string());
        }
        let other = ApiError::from(StoreError::Query(sqlx::Error::RowNotFound));
        assert_eq!(other.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
