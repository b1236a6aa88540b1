//! Publication routes beyond the list and single replay in [`super::inventory`]: one dead letter
//! with every delivery attempt, and replay of several (or all) dead letters at once.

use super::{ApiJson, ApiPath, now_ms};
use crate::AppState;
use crate::auth::{Auth, Operate, Read};
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use cmms_store::outbox::DeadLetterRow;
use cmms_store::publication::AttemptRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    params(("id" = i64, Path, description = "The dead letter")),
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
    Ok(Json(DeadLetterDetail { dead_letter, attempts }))
}

/// Which dead letters to replay: the listed ids, or every one not yet replayed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Dead-letter ids.
    #[serde(default)]
    pub ids: Vec<i64>,
    /// Replay every dead letter not yet replayed (then `ids` must be empty).
    #[serde(default)]
    pub all: bool,
}

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
