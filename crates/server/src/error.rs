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

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::http::header::{HeaderValue, RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use cmms_core::work_order::WorkOrderError;
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
            PmServiceError::Rule(WorkOrderError::Illegal(_) | WorkOrderError::AlreadyOpen { .. })
            | PmServiceError::Concurrent(_) => ApiError::conflict(code, e.to_string()),
            // The monotonic guard (DESIGN.md: 422) and `complete` sent as a plain transition.
            PmServiceError::Rule(
                WorkOrderError::CompletionBeforeSchedule { .. }
                | WorkOrderError::NextDue(_)
                | WorkOrderError::CompletionNeedsTime,
            )
            | PmServiceError::UseComplete => ApiError::unprocessable(code, e.to_string()),
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
            ThresholdsError::Invalid(_) | ThresholdsError::Formulas(_) => ApiError::internal(&e),
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

#[cfg(test)]
mod tests {
    use super::*;

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
