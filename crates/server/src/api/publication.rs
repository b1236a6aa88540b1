//! Publication routes beyond the list and single replay in [`super::inventory`]: one dead letter
//! with every delivery attempt, and replay of several (or all) dead letters at once.

use super::types::{AttemptRow, DeadLetterRow, convert};
use super::{ApiJson, ApiPath, now_ms};
use crate::AppState;
use crate::auth::{Auth, Operate, Read};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};

/// A dead letter with the history of its change's delivery attempts (across earlier replays).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterDetail {
    /// The dead letter, with the full request as last sent.
    pub dead_letter: DeadLetterRow,
    /// Every attempt at this change (same target, part and sequence), oldest first.
    pub attempts: Vec<AttemptRow>,
}

/// One dead letter with every response or error its change got.
#[utoipa::path(
    get,
    path = "/api/v1/dlq/{id}",
    tag = "publication",
    params(("id" = i64, Path, minimum = 1, description = "The dead letter")),
    responses(
        (status = 200, description = "The dead letter and its attempts", body = DeadLetterDetail),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the read scope", body = ErrorBody),
        (status = 404, description = "Unknown dead letter", body = ErrorBody),
    )
)]
pub async fn show_dead_letter(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DeadLetterDetail>, ApiError> {
    let Some(dead_letter) = state.store.dead_letter(id).await? else {
        return Err(ApiError::not_found("UNKNOWN_DEAD_LETTER", format!("unknown dead letter {id}")));
    };
    let attempts = match dead_letter.sequence_id {
        Some(seq) => state.store.delivery_attempts(&dead_letter.target, &dead_letter.part_id, seq).await?,
        None => Vec::new(),
    };
    Ok(Json(DeadLetterDetail { dead_letter: dead_letter.into(), attempts: convert(attempts) }))
}

/// Which dead letters to replay: the listed ids, or every one not yet replayed. Its schema says
/// "either a non-empty `ids` or `all: true`" as a `oneOf`, the rule the handler applies.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Dead-letter ids.
    #[serde(default, deserialize_with = "whole_numbers")]
    pub ids: Vec<i64>,
    /// Replay every dead letter not yet replayed (then `ids` must be empty).
    #[serde(default)]
    pub all: bool,
}

/// Largest magnitude up to which every whole number has its own `f64`.
const EXACT_FLOAT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// JSON Schema's integers: `7` and `7.0` alike (a client that computes with floats sends the
/// second). Refused: a number with a fraction, an integer outside i64, and a float beyond 2^53
/// (it no longer names one whole number).
fn whole_numbers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    let numbers = Vec::<serde_json::Number>::deserialize(d)?;
    numbers
        .iter()
        .map(|n| {
            n.as_i64()
                .or_else(|| {
                    n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= EXACT_FLOAT_INTEGERS).map(|f| f as i64)
                })
                .ok_or_else(|| serde::de::Error::custom(format!("ids must be whole numbers (got {n})")))
        })
        .collect()
}

impl utoipa::PartialSchema for ReplayRequest {
    fn schema() -> RefOr<Schema> {
        let ids = |min_items, max_items| {
            ArrayBuilder::new()
                .items(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
                )
                .min_items(min_items)
                .max_items(max_items)
                .description(Some("Dead-letter ids."))
        };
        let flag = |value: bool| ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([value]));
        let by_ids = ObjectBuilder::new()
            .title(Some("By id"))
            .property("ids", ids(Some(1), None))
            .property("all", flag(false))
            .required("ids")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let every = ObjectBuilder::new()
            .title(Some("Every dead letter"))
            .property("ids", ids(None, Some(0)))
            .property("all", flag(true).description(Some("Replay every dead letter not yet replayed.")))
            .required("all")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new()
            .item(by_ids)
            .item(every)
            .description(Some("Which dead letters to replay: a non-empty `ids` list, or `all: true`."))
            .into()
    }
}

impl ToSchema for ReplayRequest {}

/// One dead letter a batch replay put back into the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayedEntry {
    /// The dead letter.
    pub id: i64,
    /// Its new outbox row.
    pub outbox_id: i64,
}

/// One dead letter a batch replay left alone, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusedEntry {
    /// The dead letter.
    pub id: i64,
    /// `UNKNOWN_DEAD_LETTER` or `ALREADY_REPLAYED`.
    pub code: String,
}

/// What a batch replay did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayReport {
    /// Put back into the outbox.
    pub replayed: Vec<ReplayedEntry>,
    /// Left alone.
    pub refused: Vec<RefusedEntry>,
}

/// Replays several dead letters (or all): each goes back into the outbox and is delivered by the
/// same rules as a new change.
#[utoipa::path(
    post,
    path = "/api/v1/dlq/replay",
    tag = "publication",
    request_body = ReplayRequest,
    responses(
        (status = 200, description = "What was replayed and what was refused", body = ReplayReport),
        (status = 400, description = "Neither ids nor all, or both", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Token lacks the operate scope", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Unknown field, or a value of the wrong type", body = ErrorBody),
    )
)]
pub async fn replay_dead_letters(
    _auth: Auth<Operate>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ReplayRequest>,
) -> Result<Json<ReplayReport>, ApiError> {
    if body.all != body.ids.is_empty() {
        return Err(ApiError::bad_request("INVALID_REPLAY", "give either a non-empty `ids` list or `all: true`"));
    }
    let ids = if body.all { state.store.dead_letters(false).await?.iter().map(|d| d.id).collect() } else { body.ids };
    let now = now_ms();
    let mut report = ReplayReport { replayed: Vec::new(), refused: Vec::new() };
    for id in ids {
        match state.store.replay_dead_letter(id, now).await? {
            Some(outbox_id) => report.replayed.push(ReplayedEntry { id, outbox_id }),
            None => {
                let code = if state.store.dead_letter(id).await?.is_some() {
                    "ALREADY_REPLAYED"
                } else {
                    "UNKNOWN_DEAD_LETTER"
                };
                report.refused.push(RefusedEntry { id, code: code.to_owned() });
            }
        }
    }
    Ok(Json(report))
}
