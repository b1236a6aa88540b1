//! The dashboard: server-rendered pages for the people who run the plant — overview, parts vs
//! thresholds, procurement, work orders, PM calendar, alerts with approve, quarantine with
//! resolve, dead letters with replay, and plots of stock and consumption against thresholds and of
//! failures against MTBF and the PM interval.
//!
//! Same auth model as the API: a person signs in once with an API token (scope `read` to look,
//! `operate` to act), which opens a server-side session; the browser keeps only the session id,
//! in an HttpOnly, SameSite=Strict cookie (`Secure`, `__Host-` over HTTPS: see [`session`]).
//! The session ends at sign-out, after its lifetime or idle timeout, or when the token is revoked.
//! Every action is a POST form that calls the same service as the API and the CLI, and is refused
//! (403) when it comes from another site.

pub mod html;
pub mod plots;
pub mod session;

pub use session::DashboardSettings;

use crate::AppState;
use crate::api::now_ms;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cmms_core::auth::Scope;
use cmms_core::reliability::{Basis, FallbackReason};
use cmms_core::work_order::WoState as S;
use cmms_pipeline::auth::{AuthError, Principal, close_session, open_session, session_principal};
use cmms_pipeline::{inventory, thresholds};
use cmms_store::codes::{AlertKind, PmStatus, RequestStatus, SnapshotStatus, ThresholdBasis};
use html::{OVERDUE_BADGE, esc, local, local_text, num, overdue, page, seg, table, utc};
use plots::{Series, Style, time_plot};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The dashboard's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/parts", get(parts))
        .route("/parts/{part_id}", get(part))
        .route("/procurement", get(procurement))
        .route("/work-orders", get(work_orders))
        .route("/calendar", get(calendar))
        .route("/alerts", get(alerts))
        .route("/quarantine", get(quarantine))
        .route("/dlq", get(dead_letters))
        .route("/assets", get(assets))
        .route("/assets/{asset_id}", get(asset))
        .route("/ui/quarantine/{id}/resolve", post(resolve_quarantine))
        .route("/ui/thresholds/{part_id}/approve", post(approve))
        .route("/ui/dlq/{id}/replay", post(replay))
        .route("/ui/scans/{scan_id}/accept", post(accept_scan))
        .route("/ui/parts/{part_id}/held-snapshot/accept", post(accept_snapshot))
        .route("/ui/work-orders/{id}/correct-completion", post(correct_completion))
}

/// A signed-in person whose token allows `read`.
pub struct Viewer {
    principal: Principal,
}

impl Viewer {
    fn name(&self) -> Option<&str> {
        Some(&self.principal.name)
    }

    fn can_operate(&self) -> bool {
        self.principal.scopes.allows(Scope::Operate)
    }

    /// The refusal page when the token may not act, `None` when it may.
    fn refusal_unless_operate(&self) -> Option<Response> {
        if self.can_operate() {
            return None;
        }
        let body = "<p class=\"flash err\">This token may look but not act: actions need the <code>operate</code> \
                    scope (<code>cmms token create --scope operate</code>).</p>";
        Some((StatusCode::FORBIDDEN, Html(page("Not allowed", "", self.name(), body))).into_response())
    }
}

/// A request that is safe (GET, HEAD, OPTIONS) or comes from the dashboard's own pages; a
/// state-changing request from another site is refused with the 403 page (see [`session`]).
pub struct SameOrigin;

impl FromRequestParts<AppState> for SameOrigin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let authority = parts.uri.authority().map(|a| a.as_str());
        let Some(why) = state.dashboard.cross_site_refusal(&parts.method, &parts.headers, authority) else {
            return Ok(SameOrigin);
        };
        tracing::warn!(path = %parts.uri.path(), reason = %why, "cross-site dashboard request refused");
        Err(error_page(
            StatusCode::FORBIDDEN,
            &format!("Refused: {why}. Actions are accepted only from the dashboard's own pages."),
        ))
    }
}

/// Requests with a session get its viewer; without one (or with an ended one) they are sent to
/// sign in. State-changing requests from another site are refused first.
impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        SameOrigin::from_request_parts(parts, state).await?;
        let Some(id) = state.dashboard.session_id(&parts.headers) else {
            return Err(Redirect::to("/login").into_response());
        };
        match session_principal(&state.store, &id, &state.dashboard.policy, now_ms()).await {
            Ok(principal) => Ok(Viewer { principal }),
            Err(AuthError::Store(e)) => Err(internal(e)),
            Err(_) => {
                let clear = state.dashboard.clear_cookie(&parts.headers);
                Err(([(header::SET_COOKIE, clear)], Redirect::to("/login?expired=1")).into_response())
            }
        }
    }
}

type PageResult = Result<Html<String>, Response>;

/// The dashboard's error page: `status` with `message` (plain text, escaped here).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<h1>{}</h1><p class=\"flash err\">{}</p><p><a href=\"/\">Back to the overview</a></p>",
        esc(title),
        esc(message)
    );
    (status, Html(page(title, "", None, &body))).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard page failed");
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "Internal error; the server log has the cause.")
}

/// A message carried over a redirect after an action (`?done=…` or `?error=…`).
#[derive(Debug, Default, Deserialize)]
pub struct Flash {
    done: Option<String>,
    error: Option<String>,
    expired: Option<String>,
    all: Option<String>,
}

impl Flash {
    fn html(&self) -> String {
        match (&self.done, &self.error) {
            (Some(d), _) => format!("<p class=\"flash\">{}</p>", esc(d)),
            (_, Some(e)) => format!("<p class=\"flash err\">{}</p>", esc(e)),
            _ => String::new(),
        }
    }
}

fn back(path: &str, outcome: Result<String, String>) -> Response {
    let (key, text) = match outcome {
        Ok(t) => ("done", t),
        Err(t) => ("error", t),
    };
    let mut q = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() {
            q.push(b as char);
        } else {
            let _ = write!(q, "%{b:02X}");
        }
    }
    Redirect::to(&format!("{path}?{key}={q}")).into_response()
}

/// The message shown when sign-in is refused or a session ended.
const NOT_VALID: &str = "That token is not valid (unknown, revoked, or without the read scope), or your session \
                         ended: sign in again.";

async fn login_form(Query(flash): Query<Flash>) -> Html<String> {
    let note = if flash.expired.is_some() { NOT_VALID } else { "" };
    sign_in_page(note)
}

/// The sign-in page, with `note` (plain text) shown as an error when not empty.
fn sign_in_page(note: &str) -> Html<String> {
    let note = if note.is_empty() { String::new() } else { format!("<p class=\"flash err\">{}</p>", esc(note)) };
    let body = format!(
        "<h1>Sign in</h1>{note}<p>Paste an API token with the <code>read</code> scope (add <code>operate</code> to act \
         on alerts, quarantine and dead letters). Create one on the server with \
         <code>cmms token create --scope read,operate --name your-name</code>.</p>\
         <form method=\"post\" action=\"/login\"><input name=\"token\" type=\"password\" size=\"72\" \
         autocomplete=\"off\" required> <button>Sign in</button></form>"
    );
    Html(page("Sign in", "", None, &body))
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct Login {
    token: String,
}

/// Signs in: a valid token opens a session and the cookie gets its id (303 to the overview); a
/// token with a line break or other control character is 400, an invalid one 401, both with the
/// sign-in page and a message; a request from another site is 403.
async fn login(_: SameOrigin, State(state): State<AppState>, headers: HeaderMap, Form(form): Form<Login>) -> Response {
    let token = form.token.trim();
    if token.chars().any(char::is_control) {
        let note = "A token is one line of letters and digits: paste the token alone, without line breaks.";
        return (StatusCode::BAD_REQUEST, sign_in_page(note)).into_response();
    }
    match open_session(&state.store, token, &state.dashboard.policy, now_ms()).await {
        Ok(session) => {
            let cookie = state.dashboard.set_cookie(&headers, &session.id);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        Err(AuthError::Store(e)) => internal(e),
        Err(e @ AuthError::Random(_)) => internal(e),
        Err(_) => (StatusCode::UNAUTHORIZED, sign_in_page(NOT_VALID)).into_response(),
    }
}

/// Signs out: deletes the session (its id stops working at once) and clears the cookie.
async fn logout(_: SameOrigin, State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = state.dashboard.session_id(&headers)
        && let Err(e) = close_session(&state.store, &id).await
    {
        return internal(e);
    }
    let cookie = state.dashboard.clear_cookie(&headers);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

fn card(label: &str, value: i64, href: &str, warn: bool) -> String {
    let class = if warn && value > 0 { "card warn" } else { "card" };
    format!("<a class=\"{class}\" href=\"{href}\"><b>{value}</b>{}</a>", esc(label))
}

async fn overview(viewer: Viewer, State(state): State<AppState>) -> PageResult {
    let o = state.store.overview().await.map_err(internal)?;

    let mut body = String::from("<h1>Overview</h1><h2>Inventory</h2><div class=\"cards\">");
    body += &card("parts", o.parts, "/parts?all=1", false);
    body += &card("with thresholds", o.parts_with_thresholds, "/parts?all=1", false);
    body += &card("below reorder", o.parts_below_reorder, "/parts", true);
    body += &card("paused by a scan", o.parts_paused, "/alerts", true);
    body += &card(
        "open procurement requests",
        o.procurement.get(&RequestStatus::Open).copied().unwrap_or(0),
        "/procurement",
        false,
    );
    body += "</div><h2>Validation</h2><div class=\"cards\">";
    for (status, n) in &o.snapshots {
        let held = *status == SnapshotStatus::Held;
        body += &card(&format!("snapshots {}", status.as_str().to_lowercase()), *n, "/alerts", held);
    }
    body += &card("consumption events", o.consumption_events, "/parts", false);
    body += &card("unmapped events", o.consumption_unmapped, "/quarantine", true);
    body += &card("quarantined SKUs", o.quarantine_open, "/quarantine", true);
    for (kind, n) in &o.alerts {
        body += &card(&format!("{} alerts", kind.as_str().to_lowercase().replace('_', " ")), *n, "/alerts", true);
    }
    body += "</div><h2>Work orders</h2><div class=\"cards\">";
    for wo_state in [S::Scheduled, S::MaterialPending, S::Released, S::InProgress, S::Completed, S::Cancelled] {
        let n = o.work_orders.get(&wo_state).copied().unwrap_or(0);
        let label = wo_state.as_str().to_lowercase().replace('_', " ");
        body += &card(&label, n, "/work-orders", wo_state == S::MaterialPending);
    }
    body += &card("assets", o.assets, "/assets", false);
    body += "</div><h2>Publication</h2><div class=\"cards\">";
    for (status, n) in &o.outbox {
        body += &card(&format!("outbox {}", status.as_str().to_lowercase()), *n, "/dlq", false);
    }
    body += &card("dead letters", o.dead_letters, "/dlq", true);
    body += "</div>";
    Ok(Html(page("Overview", "/", viewer.name(), &body)))
}

async fn parts(viewer: Viewer, State(state): State<AppState>, Query(flash): Query<Flash>) -> PageResult {
    let all = flash.all.is_some();
    let rows = state.store.parts_overview(!all).await.map_err(internal)?;
    let mut out = Vec::new();
    for p in &rows {
        let short = matches!((p.available, p.reorder), (Some(a), Some(r)) if a < r);
        let bar = match (p.available, p.reorder, p.max) {
            (Some(a), Some(r), Some(m)) if m > 0.0 => {
                let scale = |v: f64| (v / m * 160.0).clamp(0.0, 160.0);
                format!(
                    "<svg class=\"bar\" width=\"170\" height=\"14\"><rect width=\"160\" height=\"14\" fill=\"#eef1f4\"/>\
                     <rect width=\"{:.1}\" height=\"14\" fill=\"{}\"/><line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"0\" y2=\"14\" \
                     stroke=\"#1d3557\" stroke-width=\"2\"/></svg>",
                    scale(a),
                    if short { "#e76f51" } else { "#2a9d8f" },
                    scale(r),
                    scale(r)
                )
            }
            _ => String::new(),
        };
        out.push(format!(
            "<tr{}><td><a href=\"/parts/{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{bar}</td><td>{}</td><td>{}</td></tr>",
            if short { " class=\"hl\"" } else { "" },
            seg(&p.part_id),
            esc(&p.part_id),
            esc(&p.description),
            esc(&p.site_id),
            num(p.available),
            num(p.min),
            num(p.reorder),
            num(p.max),
            esc(p.basis.map_or("—", ThresholdBasis::as_str)),
            esc(p.paused_reason.as_deref().unwrap_or("")),
        ));
    }
    let (title, switch) = if all {
        ("All parts", "<a href=\"/parts\">only parts below reorder</a>")
    } else {
        ("Parts below reorder", "<a href=\"/parts?all=1\">all parts</a>")
    };
    let body = format!(
        "<h1>{title}</h1><p>{switch} · available = on hand − reserved; the bar shows available against max, the \
         line is the reorder point.</p>{}",
        table(
            &[
                "part",
                "description",
                "site",
                "available",
                "min",
                "reorder",
                "max",
                "stock vs thresholds",
                "basis",
                "paused"
            ],
            &out
        )
    );
    Ok(Html(page(title, "/parts", viewer.name(), &body)))
}

async fn part(viewer: Viewer, State(state): State<AppState>, Path(part_id): Path<String>) -> PageResult {
    let overview = state.store.parts_overview(false).await.map_err(internal)?;
    let Some(p) = overview.into_iter().find(|p| p.part_id == part_id) else {
        let body = format!("<h1>Unknown part</h1><p>No part {:?}.</p>", esc(&part_id));
        return Err((StatusCode::NOT_FOUND, Html(page("Unknown part", "/parts", viewer.name(), &body))).into_response());
    };
    let now = now_ms();
    let from = now - 365 * 86_400_000;
    let mut history = state.store.threshold_history(&part_id, 1000).await.map_err(internal)?;
    history.reverse();
    let stock = state.store.stock_history(&part_id).await.map_err(internal)?;
    let usage = state.store.consumption_daily(&part_id, from, now).await.map_err(internal)?;
    let limit = |i: usize| history.iter().filter_map(|h| h.published.map(|l| (h.at, l[i]))).collect::<Vec<_>>();
    let first = [stock.first().map(|s| s.0), usage.first().map(|u| u.0), history.first().map(|h| h.at)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(from)
        .min(now - 30 * 86_400_000);
    let plot = time_plot(
        &format!("stock and thresholds of {part_id}"),
        "units",
        first,
        now,
        &[
            Series { label: "on hand".into(), color: "#264653", style: Style::Step, points: stock },
            Series { label: "min".into(), color: "#e9c46a", style: Style::StepFromStart, points: limit(0) },
            Series { label: "reorder".into(), color: "#e76f51", style: Style::StepFromStart, points: limit(1) },
            Series { label: "max".into(), color: "#2a9d8f", style: Style::StepFromStart, points: limit(2) },
        ],
    );
    let usage_plot = time_plot(
        &format!("daily consumption of {part_id}"),
        "units/day",
        first,
        now,
        &[Series { label: "consumed".into(), color: "#457b9d", style: Style::Bars, points: usage }],
    );
    let rows: Vec<String> = history
        .iter()
        .rev()
        .take(50)
        .map(|h| {
            let l = h.published.unwrap_or_default();
            format!(
                "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                utc(h.at),
                h.sequence_id,
                esc(h.origin.as_str()),
                esc(&match &h.reason {
                    Some(why) => format!("{} / {}: {why}", h.basis, h.status),
                    None => format!("{} / {}", h.basis, h.status),
                }),
                num(h.published.map(|_| l[0])),
                num(h.published.map(|_| l[1])),
                num(h.published.map(|_| l[2])),
                num(h.avg_daily_usage),
            )
        })
        .collect();
    let body = format!(
        "<h1>{} — {}</h1><p>Site {} · class {} · lead time {} days · available {} · in force {} / {} / {} ({})</p>\
         <h2>Stock against min / reorder / max</h2>{plot}<p class=\"muted\">Each limit is drawn from its first \
         recorded value on, dotted before it.</p><h2>Consumption</h2>{usage_plot}<h2>Threshold history</h2>{}",
        esc(&p.part_id),
        esc(&p.description),
        esc(&p.site_id),
        esc(&p.part_class),
        num(Some(p.lead_time_days)),
        num(p.available),
        num(p.min),
        num(p.reorder),
        num(p.max),
        esc(p.basis.map_or("no thresholds yet", ThresholdBasis::as_str)),
        table(&["at", "sequence", "origin", "basis / status", "min", "reorder", "max", "avg daily usage"], &rows)
    );
    Ok(Html(page(&part_id, "/parts", viewer.name(), &body)))
}

async fn procurement(viewer: Viewer, State(state): State<AppState>) -> PageResult {
    let rows = state.store.procurement_requests(None).await.map_err(internal)?;
    let out: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "<tr{}><td class=\"n\">{}</td><td><a href=\"/parts/{}\">{}</a></td><td class=\"n\">{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td></tr>",
                if r.status == RequestStatus::Open { " class=\"hl\"" } else { "" },
                r.id,
                seg(&r.part_id),
                esc(&r.part_id),
                num(Some(r.quantity)),
                esc(r.status.as_str()),
                esc(&r.reason),
                utc(r.updated_at)
            )
        })
        .collect();
    let body = format!(
        "<h1>Procurement requests</h1><p>Raised by routing when available stock falls below the reorder point \
         (order up to max); closed as fulfilled when stock recovers.</p>{}",
        table(&["id", "part", "quantity", "status", "reason", "updated"], &out)
    );
    Ok(Html(page("Procurement", "/procurement", viewer.name(), &body)))
}

async fn work_orders(viewer: Viewer, State(state): State<AppState>, Query(flash): Query<Flash>) -> PageResult {
    let rows = state.store.work_orders(None, None).await.map_err(internal)?;
    let now = now_ms();
    let late = rows.iter().filter(|w| overdue(w.state, w.due_at, now)).count();
    let mut body = format!("<h1>Work orders</h1>{}", flash.html());
    if late > 0 {
        let _ =
            write!(body, "<p><span class=\"badge overdue\">{late} overdue</span> open PM(s) past their due date.</p>");
    }
    for wo_state in [S::MaterialPending, S::Scheduled, S::Released, S::InProgress, S::Completed, S::Cancelled] {
        let state_name = wo_state.as_str();
        let of: Vec<String> = rows
            .iter()
            .filter(|w| w.state == wo_state)
            .map(|w| {
                let late = overdue(w.state, w.due_at, now);
                let class = match (late, wo_state == S::MaterialPending) {
                    (true, _) => " class=\"late\"",
                    (false, true) => " class=\"hl\"",
                    (false, false) => "",
                };
                format!(
                    "<tr{class} data-due=\"{}\"><td class=\"n\">{}</td><td><a href=\"/assets/{}\">{}</a></td><td>{}</td>\
                     <td class=\"nowrap\">{}{}</td><td class=\"nowrap\">{}</td></tr>",
                    w.due_at,
                    w.id,
                    seg(&w.asset_id),
                    esc(&w.asset_id),
                    esc(&w.plan_id),
                    local(w.due_at, &w.timezone),
                    if late { OVERDUE_BADGE } else { "" },
                    w.completed_at.map(|c| local(c, &w.timezone)).unwrap_or_default()
                        + &correction_form(&viewer, w)
                )
            })
            .collect();
        if of.is_empty() {
            continue;
        }
        let _ = write!(
            body,
            "<h2 id=\"{state_name}\">{} ({})</h2>{}",
            state_name.replace('_', " "),
            of.len(),
            table(&["id", "asset", "plan", "due (site time)", "completed"], &of)
        );
    }
    Ok(Html(page("Work orders", "/work-orders", viewer.name(), &body)))
}

async fn calendar(viewer: Viewer, State(state): State<AppState>) -> PageResult {
    let rows = state.store.work_orders(None, None).await.map_err(internal)?;
    let assets = state.store.pm_intervals().await.map_err(internal)?;
    let site_of: BTreeMap<&str, &str> = assets.iter().map(|a| (a.asset_id.as_str(), a.site_id.as_str())).collect();
    let now = now_ms();
    let mut by_site: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for w in rows.iter().filter(|w| w.state.is_open()) {
        let site = site_of.get(w.asset_id.as_str()).copied().unwrap_or("?");
        let when = local(w.due_at, &w.timezone);
        let (date, time) = when.split_once(' ').unwrap_or((&when, ""));
        by_site.entry(format!("{site} ({})", w.timezone)).or_default().entry(date.to_owned()).or_default().push(
            format!(
                "<a href=\"/assets/{}\">{}</a> {} <span class=\"muted\">{}</span>{}",
                seg(&w.asset_id),
                esc(&w.asset_id),
                esc(time),
                esc(w.state.as_str()),
                if overdue(w.state, w.due_at, now) { OVERDUE_BADGE } else { "" }
            ),
        );
    }
    let mut body =
        String::from("<h1>PM calendar</h1><p>Open PM work orders by due date, in each site's local time.</p>");
    if by_site.is_empty() {
        body += "<p class=\"muted\">No open PM work orders.</p>";
    }
    for (site, days) in by_site {
        let rows: Vec<String> = days
            .iter()
            .map(|(d, items)| format!("<tr><td class=\"nowrap\">{}</td><td>{}</td></tr>", esc(d), items.join("<br>")))
            .collect();
        let _ = write!(body, "<h2>{}</h2>{}", esc(&site), table(&["date", "due"], &rows));
    }
    Ok(Html(page("PM calendar", "/calendar", viewer.name(), &body)))
}

async fn alerts(viewer: Viewer, State(state): State<AppState>, Query(flash): Query<Flash>) -> PageResult {
    let rows = state.store.open_alerts().await.map_err(internal)?;
    let parts = state.store.parts_overview(false).await.map_err(internal)?;
    let paused_by: BTreeMap<&str, &str> =
        parts.iter().filter_map(|p| Some((p.part_id.as_str(), scan_of_pause(p.paused_reason.as_deref()?)?))).collect();
    let out: Vec<String> = rows
        .iter()
        .map(|a| {
            let button = |action: String, label: &str| {
                format!("<form class=\"inline\" method=\"post\" action=\"{action}\"><button>{label}</button></form>")
            };
            let action = match a.kind {
                _ if !viewer.can_operate() => None,
                thresholds::ALERT_DRIFT => {
                    Some(button(format!("/ui/thresholds/{}/approve", seg(&a.subject)), "Approve computed thresholds"))
                }
                inventory::ALERT_SCAN => paused_by.get(a.subject.as_str()).map(|scan| {
                    button(format!("/ui/scans/{}/accept", seg(scan)), &format!("Accept count of scan {}", esc(scan)))
                }),
                inventory::ALERT_DROP => Some(button(
                    format!("/ui/parts/{}/held-snapshot/accept", seg(&a.subject)),
                    "Apply held snapshot",
                )),
                _ => None,
            };
            let message = if action.is_some() { without_cli_hint(a.kind, &a.message) } else { a.message.clone() };
            format!(
                "<tr><td class=\"nowrap\">{}</td><td><a href=\"/parts/{}\">{}</a></td><td>{}</td><td class=\"nowrap\">{}</td>\
                 <td>{}</td></tr>",
                esc(a.kind.as_str()),
                seg(&a.subject),
                esc(&a.subject),
                esc(&message),
                utc(a.created_at),
                action.unwrap_or_default()
            )
        })
        .collect();
    let body = format!("<h1>Alerts</h1>{}{}", flash.html(), table(&["kind", "part", "message", "raised", ""], &out));
    Ok(Html(page("Alerts", "/alerts", viewer.name(), &body)))
}

async fn quarantine(viewer: Viewer, State(state): State<AppState>, Query(flash): Query<Flash>) -> PageResult {
    let rows = state.store.quarantine(true).await.map_err(internal)?;
    let out: Vec<String> = rows
        .iter()
        .map(|q| {
            let first = q.candidates.as_deref().and_then(|c| c.split(',').next()).unwrap_or("");
            let action = if viewer.can_operate() {
                format!(
                    "<form class=\"inline\" method=\"post\" action=\"/ui/quarantine/{}/resolve\"><input name=\"part_id\" \
                     placeholder=\"part id\" value=\"{}\" required> <button>Resolve</button></form>",
                    q.id,
                    esc(first)
                )
            } else {
                String::new()
            };
            format!(
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{action}</td></tr>",
                q.id,
                esc(&q.source),
                esc(&q.external_sku),
                esc(&q.reason),
                esc(q.candidates.as_deref().unwrap_or("")),
                q.held_count
            )
        })
        .collect();
    let body = format!(
        "<h1>Quarantine</h1>{}<p>SKUs that map to no part (UNMAPPED) or to several (AMBIGUOUS). Resolving adds the \
         mapping to the SKU map and re-processes the held records.</p>{}",
        flash.html(),
        table(&["id", "source", "SKU", "reason", "candidates", "held", ""], &out)
    );
    Ok(Html(page("Quarantine", "/quarantine", viewer.name(), &body)))
}

async fn dead_letters(viewer: Viewer, State(state): State<AppState>, Query(flash): Query<Flash>) -> PageResult {
    let rows = state.store.dead_letters(flash.all.is_some()).await.map_err(internal)?;
    let out: Vec<String> = rows
        .iter()
        .map(|d| {
            let action = if viewer.can_operate() && d.replayed_at.is_none() {
                format!("<form class=\"inline\" method=\"post\" action=\"/ui/dlq/{}/replay\"><button>Replay</button></form>", d.id)
            } else {
                d.replayed_at.map(|r| format!("replayed {}", utc(r))).unwrap_or_default()
            };
            format!(
                "<tr><td class=\"n\">{}</td><td>{}</td><td><a href=\"/parts/{}\">{}</a></td><td>{}</td><td>{}</td><td>{action}</td></tr>",
                d.id,
                esc(&d.target),
                seg(&d.part_id),
                esc(&d.part_id),
                esc(&d.reason),
                utc(d.created_at)
            )
        })
        .collect();
    let body = format!(
        "<h1>Dead letters</h1>{}<p>Publications that exhausted their retries. Replay puts one back into the outbox; it \
         is delivered by the same rules as a new change. <a href=\"/dlq?all=1\">include replayed</a></p>{}",
        flash.html(),
        table(&["id", "target", "part", "reason", "dead-lettered", ""], &out)
    );
    Ok(Html(page("Dead letters", "/dlq", viewer.name(), &body)))
}

/// Each asset's site time zone and whether it has an overdue PM, from the work orders.
async fn pm_status(state: &AppState) -> Result<BTreeMap<String, (String, bool)>, Response> {
    let orders = state.store.work_orders(None, None).await.map_err(internal)?;
    let now = now_ms();
    let mut out: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for w in orders {
        let late = overdue(w.state, w.due_at, now);
        let entry = out.entry(w.asset_id).or_insert((w.timezone, false));
        entry.1 |= late;
    }
    Ok(out)
}

/// An asset's next due date for a person: local date and time with the zone, the overdue badge
/// when an open PM is past due, or the status when there is no due date.
fn next_due(a: &cmms_store::reliability::PmIntervalRow, status: Option<&(String, bool)>) -> String {
    match &a.next_due_local {
        Some(text) => format!(
            "{}{}",
            esc(&local_text(text, status.map(|s| s.0.as_str()))),
            if status.is_some_and(|s| s.1) { OVERDUE_BADGE } else { "" }
        ),
        None => {
            let why = match a.status {
                PmStatus::NoLastCompletion => "no completion recorded yet",
                PmStatus::NotMonotonic => "not stored: it would not be after the last completion",
                _ => "",
            };
            format!("<span class=\"muted\" title=\"{}\">— {why}</span>", esc(a.status.as_str()))
        }
    }
}

async fn assets(viewer: Viewer, State(state): State<AppState>) -> PageResult {
    let rows = state.store.pm_intervals().await.map_err(internal)?;
    let status = pm_status(&state).await?;
    let out: Vec<String> = rows
        .iter()
        .map(|a| {
            format!(
                "<tr><td><a href=\"/assets/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"nowrap\">{}</td></tr>",
                seg(&a.asset_id),
                esc(&a.asset_id),
                esc(&a.site_id),
                esc(&a.asset_group),
                esc(&format!("{} {}", a.basis.map_or("", Basis::as_str), a.reason.map_or("", FallbackReason::code))),
                a.n_samples,
                num(a.mean_mtbf_hours),
                num(a.interval_days),
                next_due(a, status.get(&a.asset_id)),
            )
        })
        .collect();
    let body = format!(
        "<h1>Assets</h1><p>MTBF from unplanned failures only; interval = clamp(MTBF × safety / 24, bounds), or the \
         manufacturer interval on fallback.</p>{}",
        table(&["asset", "site", "group", "basis", "samples", "MTBF h", "interval d", "next due (site time)"], &out)
    );
    Ok(Html(page("Assets", "/assets", viewer.name(), &body)))
}

async fn asset(viewer: Viewer, State(state): State<AppState>, Path(asset_id): Path<String>) -> PageResult {
    let intervals = state.store.pm_intervals().await.map_err(internal)?;
    let Some(a) = intervals.into_iter().find(|i| i.asset_id == asset_id) else {
        let body =
            format!("<h1>Unknown asset</h1><p>No computed PM interval for {:?} (run a recompute).</p>", esc(&asset_id));
        return Err(
            (StatusCode::NOT_FOUND, Html(page("Unknown asset", "/assets", viewer.name(), &body))).into_response()
        );
    };
    let status = pm_status(&state).await?;
    let events = state.store.failure_histories(std::slice::from_ref(&asset_id)).await.map_err(internal)?;
    let events = events.get(&asset_id).cloned().unwrap_or_default();
    let ms = |t: jiff::Timestamp| t.as_millisecond();
    let unplanned: Vec<i64> = events
        .iter()
        .filter(|e| e.event.event_type == cmms_core::reliability::FailureEventType::Unplanned)
        .map(|e| ms(e.event.started_at))
        .collect();
    let gaps: Vec<(i64, f64)> = unplanned.windows(2).map(|w| (w[1], (w[1] - w[0]) as f64 / 86_400_000.0)).collect();
    let now = now_ms();
    let from = events.first().map_or(now - 365 * 86_400_000, |e| ms(e.event.started_at)).min(now - 30 * 86_400_000);
    let mut series = vec![Series {
        label: "days since previous failure".into(),
        color: "#e76f51",
        style: Style::Points,
        points: gaps,
    }];
    if let Some(m) = a.mean_mtbf_hours {
        series.push(Series {
            label: "MTBF (days)".into(),
            color: "#264653",
            style: Style::Level,
            points: vec![(from, m / 24.0)],
        });
    }
    if let Some(i) = a.interval_days {
        series.push(Series {
            label: "PM interval (days)".into(),
            color: "#2a9d8f",
            style: Style::Level,
            points: vec![(from, i)],
        });
    }
    let plot = time_plot(&format!("failures of {asset_id} against MTBF and PM interval"), "days", from, now, &series);
    let rows: Vec<String> = events
        .iter()
        .rev()
        .take(100)
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(e.event_id.as_str()),
                esc(e.event.event_type.as_str()),
                utc(ms(e.event.started_at)),
                e.event.ended_at.map(|t| utc(ms(t))).unwrap_or_default()
            )
        })
        .collect();
    let orders = state.store.work_orders(None, Some(&asset_id)).await.map_err(internal)?;
    let wo: Vec<String> = orders
        .iter()
        .map(|w| {
            let late = overdue(w.state, w.due_at, now);
            format!(
                "<tr{}><td class=\"n\">{}</td><td>{}</td><td class=\"nowrap\">{}{}</td></tr>",
                if late { " class=\"late\"" } else { "" },
                w.id,
                esc(w.state.as_str()),
                local(w.due_at, &w.timezone),
                if late { OVERDUE_BADGE } else { "" }
            )
        })
        .collect();
    let body = format!(
        "<h1>{}</h1><p>Site {} · group {} · basis {} {} · {} samples ({} discarded) · MTBF {} h · cv {} · interval {} days \
         · next due {}</p><h2>Failures against MTBF and PM interval</h2>{plot}<h2>Work orders</h2>{}<h2>Failure log (latest \
         100)</h2>{}",
        esc(&a.asset_id),
        esc(&a.site_id),
        esc(&a.asset_group),
        esc(a.basis.map_or("", Basis::as_str)),
        esc(a.reason.map_or("", FallbackReason::code)),
        a.n_samples,
        a.n_discarded,
        num(a.mean_mtbf_hours),
        num(a.cv),
        num(a.interval_days),
        next_due(&a, status.get(&a.asset_id)),
        table(&["id", "state", "due (site time)"], &wo),
        table(&["event", "type", "started", "ended"], &rows)
    );
    Ok(Html(page(&asset_id, "/assets", viewer.name(), &body)))
}

/// For an operator, on a COMPLETED order: a form correcting its completion time.
fn correction_form(viewer: &Viewer, w: &cmms_store::work_orders::WorkOrderRow) -> String {
    if w.state != S::Completed || !viewer.can_operate() {
        return String::new();
    }
    format!(
        "<form class=\"inline\" method=\"post\" action=\"/ui/work-orders/{}/correct-completion\">\
         <input name=\"completed_at\" placeholder=\"2026-11-15T09:00:00+01:00\" size=\"25\" required> \
         <input name=\"reason\" placeholder=\"reason\" size=\"16\" maxlength=\"500\" required> \
         <button>Correct completion</button></form>",
        w.id
    )
}

/// The completion correction form.
#[derive(Debug, Deserialize)]
pub struct CorrectionForm {
    completed_at: String,
    reason: String,
}

/// Corrects a completion time (the same service as the API and the CLI); the next PM is
/// rescheduled from it while not yet released.
async fn correct_completion(
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

/// The quarantine resolve form.
#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    part_id: String,
}

async fn resolve_quarantine(
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

async fn approve(viewer: Viewer, State(state): State<AppState>, Path(part_id): Path<String>) -> Response {
    if let Some(refusal) = viewer.refusal_unless_operate() {
        return refusal;
    }
    match thresholds::approve(&state.store, &part_id, now_ms()).await {
        Ok(()) => {
            state.after_change(std::slice::from_ref(&part_id)).await;
            back("/alerts", Ok(format!("Computed thresholds of {part_id} approved and published.")))
        }
        Err(e @ thresholds::ThresholdsError::NothingToApprove(_)) => back("/alerts", Err(e.to_string())),
        Err(e) => internal(e),
    }
}

async fn replay(viewer: Viewer, State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    if let Some(refusal) = viewer.refusal_unless_operate() {
        return refusal;
    }
    match state.store.replay_dead_letter(id, now_ms()).await {
        Ok(Some(outbox)) => back("/dlq", Ok(format!("Dead letter {id} is back in the outbox (row {outbox})."))),
        Ok(None) => back("/dlq", Err(format!("Dead letter {id} was already replayed, or does not exist."))),
        Err(e) => internal(e),
    }
}

async fn accept_scan(viewer: Viewer, State(state): State<AppState>, Path(scan_id): Path<String>) -> Response {
    if let Some(refusal) = viewer.refusal_unless_operate() {
        return refusal;
    }
    match inventory::accept_scan(&state.store, &scan_id, now_ms()).await {
        Ok(part) => {
            state.after_change(std::slice::from_ref(&part)).await;
            back(
                "/alerts",
                Ok(format!(
                    "Count of scan {scan_id} accepted: it is now the stock of {part}, and routing for it resumed."
                )),
            )
        }
        Err(e @ (inventory::InventoryError::Store(_) | inventory::InventoryError::Formulas(_))) => internal(e),
        Err(e) => back("/alerts", Err(e.to_string())),
    }
}

async fn accept_snapshot(viewer: Viewer, State(state): State<AppState>, Path(part_id): Path<String>) -> Response {
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

/// The scan that paused a part, from its pause reason (`SCAN_DISCREPANCY: scan S-1`).
fn scan_of_pause(reason: &str) -> Option<&str> {
    reason.strip_prefix("SCAN_DISCREPANCY: scan ").map(str::trim).filter(|s| !s.is_empty())
}

/// An alert's message without the CLI command it ends with, for a row that carries the button
/// doing the same (`until `cmms thresholds approve P`` becomes `until approval`).
fn without_cli_hint(kind: AlertKind, message: &str) -> String {
    let Some(start) = message.find("`cmms ") else { return message.to_owned() };
    let Some(len) = message[start + 1..].find('`') else { return message.to_owned() };
    let what = match kind {
        thresholds::ALERT_DRIFT => "approval",
        inventory::ALERT_SCAN => "acceptance of the count",
        inventory::ALERT_DROP => "acceptance of the snapshot",
        _ => "an operator action",
    };
    format!("{}{what}{}", &message[..start], &message[start + len + 2..])
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
    fn cli_hints_give_way_to_the_button() {
        let drift = "computed [24.5, 30.62, 45.93] deviates from baseline by more than 40%; publishing the fallback \
                     [4.0, 5.0, 7.5] until `cmms thresholds approve BRG-6204`";
        assert!(without_cli_hint(AlertKind::Drift, drift).ends_with("[4.0, 5.0, 7.5] until approval"));
        let scan = "scan S-2 counted 40 but system stock is 2 (tolerance 0.04); routing paused until a matching \
                    count or `cmms scans accept S-2`";
        assert_eq!(
            without_cli_hint(AlertKind::ScanDiscrepancy, scan),
            "scan S-2 counted 40 but system stock is 2 (tolerance 0.04); routing paused until a matching count or \
             acceptance of the count"
        );
        assert_eq!(without_cli_hint(AlertKind::Drift, "no command here"), "no command here");
        assert_eq!(without_cli_hint(AlertKind::Drift, "broken `cmms quote"), "broken `cmms quote");
    }

    #[test]
    fn the_scan_behind_a_pause_is_found() {
        assert_eq!(scan_of_pause("SCAN_DISCREPANCY: scan S-1"), Some("S-1"));
        assert_eq!(scan_of_pause("SCAN_DISCREPANCY: scan "), None);
        assert_eq!(scan_of_pause("OTHER"), None);
    }

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
