//! Ingestion webhooks: `POST /api/v1/ingest/{feed}` with one record (a JSON object) or a batch
//! (a JSON array). The records are stored before the answer is sent; the answer says, record by
//! record, accepted / duplicate / rejected (with the reason) / quarantined.

use super::{ApiJson, ApiPath, now_ms};
use crate::AppState;
use crate::auth::{Auth, Ingest};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cmms_pipeline::feed::{self, Feed, Pushed};
use cmms_pipeline::ingest::{IngestReport, MAX_BATCH, RecordStatus};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};

/// The body of an ingestion webhook, for the OpenAPI document: one record (an object) or a batch
/// (an array of at most [`MAX_BATCH`] records). Each feed checks its records' fields itself.
pub struct IngestBody;

impl utoipa::PartialSchema for IngestBody {
    fn schema() -> RefOr<Schema> {
        let record = || ObjectBuilder::new().schema_type(Type::Object);
        OneOfBuilder::new()
            .item(record().title(Some("One record")))
            .item(ArrayBuilder::new().title(Some("A batch")).items(record()).max_items(Some(MAX_BATCH)))
            .description(Some("One record, or an array of at most 10,000 records"))
            .into()
    }
}

impl utoipa::ToSchema for IngestBody {}

/// A feed in the webhook path: the name of a pushable [`Feed`]; any other name is refused as
/// serde refuses an unknown variant.
pub struct PushableFeed(pub Feed);

impl<'de> serde::Deserialize<'de> for PushableFeed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match Feed::parse(&name).filter(|f| f.is_pushable()) {
            Some(feed) => Ok(PushableFeed(feed)),
            None => Err(serde::de::Error::unknown_variant(&name, Feed::pushable_names())),
        }
    }
}

/// Ingests records of one feed.
///
/// Feeds and their fields (as in the import files): `inventory` (source, sequence_id,
/// external_sku, on_hand, observed_at), `consumption` (event_id, source, external_sku, quantity,
/// consumed_at), `scans` (scan_id, scanner_id, code, counted_qty, scanned_at), `failures`
/// (event_id, asset_id, event_type, started_at, ended_at, component), `mtbf_readings` (asset_id, mtbf_hours,
/// observed_at). Unknown fields reject the record, and so does an instant outside
/// 1970-01-01 … now + 1 day or with an offset beyond ±18:00. Answers 200 with a result per record, or 422
/// when every record was rejected (the per-record results in `details.results`).
#[utoipa::path(
    post,
    path = "/api/v1/ingest/{feed}",
    tag = "ingestion",
    params(("feed" = Feed, Path, description = "The feed")),
    request_body(content = IngestBody, description = "One record, or an array of at most 10,000 records"),
    responses(
        (status = 200, description = "Per-record results", body = IngestReport),
        (status = 400, description = "Body is not JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the ingest scope", body = ErrorBody),
        (status = 413, description = "Body or batch too large", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Every record was rejected, or the body is neither an object nor an array", body = ErrorBody),
    )
)]
pub async fn ingest_feed(
    _auth: Auth<Ingest>,
    State(state): State<AppState>,
    ApiPath(PushableFeed(feed)): ApiPath<PushableFeed>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Json<IngestReport>, ApiError> {
    let records = match body {
        serde_json::Value::Array(items) => items,
        obj @ serde_json::Value::Object(_) => vec![obj],
        _ => {
            return Err(ApiError::unprocessable(
                "INVALID_BODY",
                "the body must be one record (a JSON object) or a batch (a JSON array of objects)",
            ));
        }
    };
    let now = now_ms();
    let window = cmms_core::time::TimeWindow::events(cmms_core::time::from_epoch_ms(now));
    let report = feed::import(&state.store, feed, Pushed { records, window }, now).await?;
    crate::metrics::count_records(feed.as_str(), &report);
    state.after_change(&report.parts_touched).await;
    if report.received > 0 && report.rejected == report.received {
        let results = serde_json::to_value(&report.results).unwrap_or_default();
        let first = report.results.iter().find(|r| r.status == RecordStatus::Rejected);
        let why = first.and_then(|r| r.reason.clone()).unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ALL_RECORDS_REJECTED",
            format!("every record was rejected; the first: {why}"),
        )
        .with_detail("results", results));
    }
    Ok(Json(report))
}
