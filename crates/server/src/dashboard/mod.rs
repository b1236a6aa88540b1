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
//!
//! Pages are askama templates (`crates/server/templates/`, one per page, all extending
//! `layout.html`), which escape every value they print: handlers load what a page shows and
//! hand the templates plain values. The handlers live by area: [`inventory`] (overview, parts,
//! procurement, alerts, quarantine, dead letters), [`pm`] (work orders, calendar, assets),
//! [`backtest`] (the latest saved backtest report) and [`actions`] (sign-in and every POST).

mod actions;
mod backtest;
pub mod html;
mod inventory;
pub mod plots;
mod pm;
pub mod session;
pub mod trends;

pub use session::DashboardSettings;

use crate::AppState;
use crate::api::now_ms;
use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cmms_core::auth::Scope;
use cmms_pipeline::auth::{AuthError, Principal, session_principal};
use serde::Deserialize;
use std::fmt::Write;

/// The dashboard's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(inventory::overview))
        .route("/login", get(actions::login_form).post(actions::login))
        .route("/logout", post(actions::logout))
        .route("/parts", get(inventory::parts))
        .route("/parts/{part_id}", get(inventory::part))
        .route("/procurement", get(inventory::procurement))
        .route("/work-orders", get(pm::work_orders))
        .route("/calendar", get(pm::calendar))
        .route("/alerts", get(inventory::alerts))
        .route("/quarantine", get(inventory::quarantine))
        .route("/dlq", get(inventory::dead_letters))
        .route("/assets", get(pm::assets))
        .route("/assets/{asset_id}", get(pm::asset))
        .route("/backtest", get(backtest::backtest))
        .route("/ui/quarantine/{id}/resolve", post(actions::resolve_quarantine))
        .route("/ui/thresholds/{part_id}/approve", post(actions::approve))
        .route("/ui/dlq/{id}/replay", post(actions::replay))
        .route("/ui/scans/{scan_id}/accept", post(actions::accept_scan))
        .route("/ui/parts/{part_id}/held-snapshot/accept", post(actions::accept_snapshot))
        .route("/ui/work-orders/{id}/correct-completion", post(actions::correct_completion))
        .route("/work-orders/{id}/confirm", get(pm::confirm_action))
        .route("/ui/work-orders/{id}/transition", post(actions::work_order_action))
}

/// The pages of the navigation bar: (path, label).
const NAV: [(&str, &str); 10] = [
    ("/", "Overview"),
    ("/parts", "Parts"),
    ("/procurement", "Procurement"),
    ("/work-orders", "Work orders"),
    ("/calendar", "PM calendar"),
    ("/alerts", "Alerts"),
    ("/quarantine", "Quarantine"),
    ("/dlq", "Dead letters"),
    ("/assets", "Assets"),
    ("/backtest", "Backtest"),
];

/// What `layout.html` needs of every page: its title, the navigation entry to highlight, and
/// who is signed in (no one on the sign-in and error pages).
pub struct Shell<'a> {
    /// The page's title (before ` · cmms`).
    pub title: String,
    /// The path of the highlighted navigation entry (`""`: none).
    pub active: &'static str,
    /// The signed-in person's token name.
    pub who: Option<&'a str>,
}

impl<'a> Shell<'a> {
    /// A page titled `title` under the navigation entry `active`, for `who`.
    fn new(title: impl Into<String>, active: &'static str, who: Option<&'a str>) -> Self {
        Shell { title: title.into(), active, who }
    }

    /// The navigation bar: (path, label, whether it is this page's).
    pub fn nav(&self) -> [(&'static str, &'static str, bool); 10] {
        NAV.map(|(path, label)| (path, label, path == self.active))
    }
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

    /// The page shell for this viewer.
    fn shell(&self, title: impl Into<String>, active: &'static str) -> Shell<'_> {
        Shell::new(title, active, self.name())
    }

    /// The refusal page when the token may not act, `None` when it may.
    fn refusal_unless_operate(&self) -> Option<Response> {
        if self.can_operate() {
            return None;
        }
        Some(page(StatusCode::FORBIDDEN, &Refused { shell: self.shell("Not allowed", "") }))
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

/// What a page handler answers: the page, or the error page (or redirect) that replaces it.
type PageResult = Result<Response, Response>;

/// A page rendered with status 200, or the error page when it cannot be rendered.
fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => internal(e),
    }
}

/// A page rendered with `status`; a page that cannot be rendered is logged and answered with the
/// status alone (this is also how error pages end, so it must not recurse).
fn page(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "dashboard page could not be rendered");
            status.into_response()
        }
    }
}

/// The 403 page of a token that may only read.
#[derive(Template)]
#[template(path = "refused.html")]
struct Refused<'a> {
    shell: Shell<'a>,
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    shell: Shell<'a>,
    message: &'a str,
}

/// The 404 page of an unknown part or asset.
#[derive(Template)]
#[template(path = "unknown.html")]
struct Unknown<'a> {
    shell: Shell<'a>,
    heading: &'static str,
    text: String,
}

/// The dashboard's error page: `status` with `message` (plain text, escaped by the template).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    page(status, &ErrorPage { shell: Shell::new(title, "", None), message })
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard page failed");
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "Internal error; the server log has the cause.")
}

/// Cuts `rows`, read with one row more than a page of `per_page`, to the page, and returns where
/// the next page starts (`key` of the page's last row) when there is one.
fn cut_page<T, K>(rows: &mut Vec<T>, per_page: usize, key: impl FnOnce(&T) -> K) -> Option<K> {
    let next = (rows.len() > per_page && per_page > 0).then(|| key(&rows[per_page - 1]));
    rows.truncate(per_page);
    next
}

/// A message carried over a redirect after an action (`?done=…` or `?error=…`).
#[derive(Debug, Default, Deserialize)]
pub struct Flash {
    done: Option<String>,
    error: Option<String>,
    expired: Option<String>,
    all: Option<String>,
}

/// Back to `path` after an action, with its outcome as the flash message.
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

#[cfg(test)]
mod tests {
    use super::cut_page;

    #[test]
    fn a_page_is_cut_and_names_its_last_row_only_when_more_follow() {
        let mut rows: Vec<i32> = (1..=4).collect();
        assert_eq!(cut_page(&mut rows, 3, |r| *r), Some(3));
        assert_eq!(rows, [1, 2, 3]);
        assert_eq!(cut_page(&mut rows, 3, |r| *r), None, "exactly a page: nothing follows");
        assert_eq!(rows, [1, 2, 3]);
        let mut empty: Vec<i32> = Vec::new();
        assert_eq!(cut_page(&mut empty, 3, |r| *r), None);
    }
}
