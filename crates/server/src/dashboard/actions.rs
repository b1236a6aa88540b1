//! The dashboard's actions: signing in and out, and every POST form (approve, resolve, replay,
//! accept a scan or a held snapshot, correct a completion). Each calls the same service as the
//! API and the CLI, then leads back to its page with the outcome as a flash message.

use super::html::{local, parse_local_input};
use super::{Flash, SameOrigin, Shell, Viewer, back, internal, page};
use crate::AppState;
use crate::api::now_ms;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cmms_pipeline::auth::{AuthError, close_session, open_session};
use cmms_pipeline::{inventory, thresholds};
use serde::Deserialize;

/// The message shown when sign-in is refused or a session ended.
const NOT_VALID: &str = "That token is not valid (unknown, revoked, or without the read scope), or your session \
                         ended: sign in again.";

pub(super) async fn login_form(Query(flash): Query<Flash>) -> Response {
    let note = if flash.expired.is_some() { NOT_VALID } else { "" };
    sign_in_page(StatusCode::OK, note)
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn<'a> {
    shell: Shell<'a>,
    note: &'a str,
}

/// The sign-in page with `status`, and `note` (plain text) shown as an error when not empty.
fn sign_in_page(status: StatusCode, note: &str) -> Response {
    page(status, &SignIn { shell: Shell::new("Sign in", "", None), note })
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct Login {
    token: String,
}

/// Signs in: a valid token opens a session and the cookie gets its id (303 to the overview); a
/// token with a line break or other control character is 400, an invalid one 401, both with the
/// sign-in page and a message; a request from another site is 403.
pub(super) async fn login(
    _: SameOrigin,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Login>,
) -> Response {
    let token = form.token.trim();
    if token.chars().any(char::is_control) {
        let note = "A token is one line of letters and digits: paste the token alone, without line breaks.";
        return sign_in_page(StatusCode::BAD_REQUEST, note);
    }
    match open_session(&state.store, token, &state.dashboard.policy, now_ms()).await {
        Ok(session) => {
            let cookie = state.dashboard.set_cookie(&headers, &session.id);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        Err(AuthError::Store(e)) => internal(e),
        Err(e @ AuthError::Random(_)) => internal(e),
        Err(_) => sign_in_page(StatusCode::UNAUTHORIZED, NOT_VALID),
    }
}

/// Signs out: deletes the session (its id stops working at once) and clears the cookie.
pub(super) async fn logout(_: SameOrigin, State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = state.dashboard.session_id(&headers)
        && let Err(e) = close_session(&state.store, &id).await
    {
        return internal(e);
    }
    let cookie = state.dashboard.clear_cookie(&headers);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

/// The completion correction form.
#[derive(Debug, Deserialize)]
pub struct CorrectionForm {
    completed_at: String,
    reason: String,
}

/// Corrects a completion time (the same service as the API and the CLI); the next PM is
/// rescheduled from it while not yet released.
pub(super) async fn correct_completion(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<CorrectionForm>,
) -> Response {
    use cmms_pipeline::pm::{self, PmServiceError};
    if let Some(refusal) = viewer.refusal_unless_operate() {
        return refusal;
    }
    let at = match cmms_core::time::parse_timestamp(&form.completed_at) {
        Ok(at) => at,
        Err(e) => return back("/work-orders", Err(format!("completed_at: {e}"))),
    };
    let actor = viewer.name().unwrap_or("dashboard").to_owned();
    match pm::correct(&state.store, id, at, &form.reason, state.completion_window(), &actor, now_ms()).await {
        Ok(c) => {
            let next = match &c.next {
                Some(n) if c.next_rescheduled => format!("; next PM {} rescheduled", n.id),
                Some(n) => format!("; next PM {} is {} and keeps its due date", n.id, n.state),
                None => String::new(),
            };
            back("/work-orders", Ok(format!("Completion of work order {id} corrected{next}.")))
        }
        Err(e @ (PmServiceError::Store(_) | PmServiceError::Formulas(_) | PmServiceError::Invalid(_))) => internal(e),
        Err(e) => back("/work-orders", Err(e.to_string())),
    }
}

/// A work-order action from its confirmation page: the action, the completion time in the
/// site's time (for `complete`; default now), and the page to go back to.
#[derive(Debug, Deserialize)]
pub struct WorkOrderActionForm {
    action: String,
    completed_at: Option<String>,
    back: Option<String>,
}

/// Applies a work-order action (the same services as the API and the CLI) and leads back to the
/// work-order list or the asset page, with the outcome as the flash message: an action the state
/// does not allow, a bad time or a concurrent change is a message there, never an error page.
pub(super) async fn work_order_action(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<WorkOrderActionForm>,
) -> Response {
    if let Some(refusal) = viewer.refusal_unless_operate() {
        return refusal;
    }
    let to = super::pm::back_path(form.back.as_deref());
    let actor = viewer.name().unwrap_or("dashboard").to_owned();
    back(&to, apply_work_order_action(&state, id, &form, &actor).await)
}

/// The outcome of a work-order action in words, or why it was refused.
async fn apply_work_order_action(
    state: &AppState,
    id: i64,
    form: &WorkOrderActionForm,
    actor: &str,
) -> Result<String, String> {
    use cmms_core::work_order::WoAction;
    use cmms_pipeline::pm::{self, PmServiceError};
    let failed = |e: PmServiceError| match e {
        PmServiceError::Store(_) | PmServiceError::Formulas(_) => {
            tracing::error!(error = %e, work_order = id, "dashboard work-order action failed");
            format!("Work order {id}: the action failed in the store; the server log has the cause.")
        }
        e => format!("Work order {id}: {e}"),
    };
    let action: WoAction =
        form.action.parse().map_err(|e: cmms_core::work_order::UnknownName| format!("Work order {id}: {e}"))?;
    if action != WoAction::Complete {
        let w = pm::apply_action(&state.store, id, action, actor, now_ms()).await.map_err(failed)?;
        return Ok(format!(
            "Work order {id} ({}): {} done, now {}.",
            w.asset_id,
            super::pm::action_label(action),
            w.state
        ));
    }
    let order = match state.store.work_order(id).await {
        Ok(Some(order)) => order,
        Ok(None) => return Err(failed(PmServiceError::UnknownWorkOrder(id))),
        Err(e) => return Err(failed(e.into())),
    };
    let at = match form.completed_at.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => {
            parse_local_input(text, &order.timezone).map_err(|e| format!("Work order {id}: completed at: {e}"))?
        }
        None => jiff::Timestamp::from_millisecond(state.dashboard.now_ms()).map_err(|e| e.to_string())?,
    };
    let (done, next) =
        pm::complete(&state.store, id, at, state.completion_window(), actor, now_ms()).await.map_err(failed)?;
    let completed = done.completed_at.map(|c| local(c, &done.timezone)).unwrap_or_default();
    Ok(format!(
        "Work order {id} ({}) completed at {completed}; next PM {} due {}.",
        done.asset_id,
        next.id,
        local(next.due_at, &next.timezone)
    ))
}

/// The quarantine resolve form.
#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    part_id: String,
}

pub(super) async fn resolve_quarantine(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<ResolveForm>,
) -> Response {
    if let Some(refusal) = viewer.refusal_unless_operate() {
        return refusal;
    }
    let part = form.part_id.trim().to_owned();
    match inventory::resolve_quarantine(&state.store, id, &part, now_ms()).await {
        Ok(run) => {
            state.after_change(std::slice::from_ref(&part)).await;
            back("/quarantine", Ok(format!("Entry {id} mapped to {part}: {}.", gate_summary(&run))))
        }
        Err(e @ (inventory::InventoryError::Store(_) | inventory::InventoryError::Formulas(_))) => internal(e),
        Err(e) => back("/quarantine", Err(e.to_string())),
    }
}

/// Which page an action on a part came from (`?from=part`: the part page; else the alerts).
#[derive(Debug, Default, Deserialize)]
pub struct CameFrom {
    from: Option<String>,
}

impl CameFrom {
    /// The page to lead back to after an action on `part_id`.
    fn page(&self, part_id: &str) -> String {
        match self.from.as_deref() {
            Some("part") => format!("/parts/{}", super::pm::segment(part_id)),
            _ => "/alerts".to_owned(),
        }
    }
}

pub(super) async fn approve(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(part_id): Path<String>,
    Query(from): Query<CameFrom>,
) -> Response {
    if let Some(refusal) = viewer.refusal_unless_operate() {
        return refusal;
    }
    let to = from.page(&part_id);
    match thresholds::approve(&state.store, &part_id, now_ms()).await {
        Ok(()) => {
            state.after_change(std::slice::from_ref(&part_id)).await;
            back(&to, Ok(format!("Computed thresholds of {part_id} approved and published.")))
        }
        Err(e @ thresholds::ThresholdsError::NothingToApprove(_)) => back(&to, Err(e.to_string())),
        Err(e) => internal(e),
    }
}

pub(super) async fn replay(viewer: Viewer, State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    if let Some(refusal) = viewer.refusal_unless_operate() {
        return refusal;
    }
    match state.store.replay_dead_letter(id, now_ms()).await {
        Ok(Some(outbox)) => back("/dlq", Ok(format!("Dead letter {id} is back in the outbox (row {outbox})."))),
        Ok(None) => back("/dlq", Err(format!("Dead letter {id} was already replayed, or does not exist."))),
        Err(e) => internal(e),
    }
}

pub(super) async fn accept_scan(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(scan_id): Path<String>,
    Query(from): Query<CameFrom>,
) -> Response {
    if let Some(refusal) = viewer.refusal_unless_operate() {
        return refusal;
    }
    match inventory::accept_scan(&state.store, &scan_id, now_ms()).await {
        Ok(part) => {
            state.after_change(std::slice::from_ref(&part)).await;
            back(
                &from.page(&part),
                Ok(format!(
                    "Count of scan {scan_id} accepted: it is now the stock of {part}, and routing for it resumed."
                )),
            )
        }
        Err(e @ (inventory::InventoryError::Store(_) | inventory::InventoryError::Formulas(_))) => internal(e),
        Err(e) => back("/alerts", Err(e.to_string())),
    }
}

pub(super) async fn accept_snapshot(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(part_id): Path<String>,
) -> Response {
    if let Some(refusal) = viewer.refusal_unless_operate() {
        return refusal;
    }
    match inventory::accept_held_snapshot(&state.store, &part_id, now_ms()).await {
        Ok(snap) => {
            state.after_change(std::slice::from_ref(&part_id)).await;
            back(
                "/alerts",
                Ok(format!("Held snapshot {}#{} of {part_id} applied to stock.", snap.source, snap.sequence_id)),
            )
        }
        Err(e @ (inventory::InventoryError::Store(_) | inventory::InventoryError::Formulas(_))) => internal(e),
        Err(e) => back("/alerts", Err(e.to_string())),
    }
}

/// What a validation run released, in words: every non-zero count.
fn gate_summary(run: &inventory::GateRun) -> String {
    let counts = [
        (run.consumption_mapped, "consumption event", "mapped"),
        (run.snapshots_applied, "snapshot", "applied to stock"),
        (run.snapshots_stale, "snapshot", "stale or duplicate"),
        (run.snapshots_held, "snapshot", "held as an implausible drop"),
        (run.scans_matched, "scan", "matching stock"),
        (run.scans_discrepant, "scan", "disagreeing with stock (routing paused)"),
        (run.parts_released, "part", "released from a scan pause"),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, ..)| *n > 0)
        .map(|(n, noun, what)| format!("{n} {noun}{} {what}", if *n == 1 { "" } else { "s" }))
        .collect();
    if parts.is_empty() { "no held records were waiting".to_owned() } else { parts.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resolve_message_counts_every_released_record() {
        let run = inventory::GateRun {
            consumption_mapped: 5,
            snapshots_applied: 1,
            scans_discrepant: 2,
            ..inventory::GateRun::default()
        };
        assert_eq!(
            gate_summary(&run),
            "5 consumption events mapped, 1 snapshot applied to stock, 2 scans disagreeing with stock (routing paused)"
        );
        assert_eq!(gate_summary(&inventory::GateRun::default()), "no held records were waiting");
    }
}
