//! The HTTP API over real HTTP: the server bound to a loopback port on a fresh store, every case
//! on SQLite and on PostgreSQL (when configured).

mod concurrency;
mod dashboard;
mod events;
mod load;
mod routes;
mod session;
mod time;

use cmms_core::auth::Scope;
use cmms_core::feeds::{FailureRecord, MtbfReadingRecord};
use cmms_core::master::{AssetPartRecord, AssetRecord, ImportRecord, PartRecord, SiteRecord, SkuMapRecord};
use cmms_pipeline::feed::{self, Feed};
use cmms_pipeline::import::Quiet;
use cmms_server::{AppState, ServeOptions};
use cmms_store::case;
use cmms_store::master::StoredRecord;
use cmms_store::testing::{Db, run_suite};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use tokio::sync::oneshot;

/// A running server on a fresh store, with one token per scope.
pub struct App {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The store under the server.
    pub db: Db,
    tokens: HashMap<Scope, String>,
    _stop: oneshot::Sender<()>,
}

async fn import<R: ImportRecord + StoredRecord>(db: &Db, file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/site").join(file);
    let r = feed::import(&db.store, Feed::parse(R::KIND).unwrap(), feed::File { path: &path, observer: &mut Quiet }, 1)
        .await
        .unwrap();
    assert!(r.rejected == 0, "{file}: {:?}", r.issues);
}

/// Starts the server on `db` with the example site's master data loaded.
pub async fn spawn_app(db: Db) -> App {
    spawn_app_with(db, ServeOptions::default(), cmms_server::dashboard::DashboardSettings::default()).await
}

/// [`spawn_app`] with these server limits and dashboard session settings.
pub async fn spawn_app_with(
    db: Db,
    options: ServeOptions,
    dashboard: cmms_server::dashboard::DashboardSettings,
) -> App {
    import::<SiteRecord>(&db, "sites.csv").await;
    import::<PartRecord>(&db, "parts.csv").await;
    import::<SkuMapRecord>(&db, "sku_map.csv").await;
    import::<AssetRecord>(&db, "assets.csv").await;
    import::<AssetPartRecord>(&db, "asset_parts.csv").await;
    let mut tokens = HashMap::new();
    for scope in Scope::ALL {
        let (_, token) = cmms_pipeline::auth::create_token(&db.store, Some(scope.as_str()), &[scope], 1).await.unwrap();
        tokens.insert(scope, token);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let state = AppState::new(db.store.clone()).with_dashboard(dashboard).with_options(options);
    tokio::spawn(cmms_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    App { base, client: reqwest::Client::new(), db, tokens, _stop: stop }
}

impl App {
    /// The token of a scope.
    pub fn token(&self, scope: Scope) -> &str {
        &self.tokens[&scope]
    }

    /// Sends a request with the token of `scope` (none when `None`); returns status and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        scope: Option<Scope>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(s) = scope {
            req = req.bearer_auth(self.token(s));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    /// GET with a scope's token.
    pub async fn get(&self, path: &str, scope: Scope) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(scope), None).await
    }

    /// POST with a scope's token.
    pub async fn post(&self, path: &str, scope: Scope, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(scope), Some(body)).await
    }
}

/// An RFC 3339 instant of a response (docs/contract.md "Timestamps") as epoch milliseconds.
pub fn instant_ms(v: &Value) -> i64 {
    let text = v.as_str().unwrap_or_else(|| panic!("an RFC 3339 string, not {v}"));
    text.parse::<jiff::Timestamp>().unwrap_or_else(|e| panic!("{text}: {e}")).as_millisecond()
}

/// Asserts an error document with `code`.
pub fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["error"]["details"].is_object(), "details is always an object: {body}");
}

/// The seed article's payload for a part.
pub fn sync_payload(part: &str, seq: i64, min: f64, reorder: f64, max: f64) -> Value {
    use sha2::{Digest, Sha256};
    json!({
        "part_id": part,
        "current_stock": 7.0,
        "thresholds": {"min": min, "reorder": reorder, "max": max},
        "sequence_id": seq,
        "sync_timestamp": "2026-11-20T10:00:00.123456+00:00",
        "checksum": format!("{:x}", Sha256::digest(format!("{part}:{seq}"))),
    })
}

/// Loads the example failure log and MTBF readings (for PM schedules and work orders).
pub async fn load_reliability(db: &Db) {
    import::<FailureRecord>(db, "failures.csv").await;
    import::<MtbfReadingRecord>(db, "mtbf_readings.csv").await;
}

fn main() -> std::process::ExitCode {
    run_suite(&[
        case!(routes::every_protected_route_needs_a_token_with_its_scope),
        case!(routes::threshold_put_follows_the_seed_contract),
        case!(routes::ingestion_answers_record_by_record),
        case!(routes::implausible_webhook_values_never_stop_recompute),
        case!(routes::snapshots_pass_the_gate_before_the_answer),
        case!(routes::read_endpoints_answer),
        case!(routes::operate_endpoints_succeed_and_refuse),
        case!(routes::bad_requests_get_json_errors),
        case!(routes::dead_letters_replay_once),
        case!(concurrency::routing_follows_stock_over_http),
        case!(concurrency::sixteen_clients_converge_to_the_in_order_state),
        case!(time::absurd_timestamps_are_refused_on_the_put_and_every_webhook),
        case!(time::a_completion_in_the_future_is_refused),
        case!(time::a_wrong_completion_is_corrected_and_the_next_pm_rescheduled),
        case!(time::the_dashboard_corrects_a_completion),
        case!(dashboard::dashboard_pages_render_and_act),
        case!(dashboard::the_backtest_page_shows_the_latest_saved_report),
        case!(dashboard::the_alerts_list_comes_in_pages),
        case!(dashboard::the_assets_and_work_order_lists_come_in_pages),
        case!(dashboard::the_backtest_api_answers_404_before_the_first_report),
        case!(events::consumption_is_voided_and_restored_over_http),
        case!(events::an_ambiguous_key_needs_the_feed),
        case!(events::a_voided_snapshot_gives_the_stock_back),
        case!(dashboard::dashboard_shows_site_times_overdue_pms_and_alert_actions),
        case!(dashboard::dashboard_work_order_actions_follow_the_state_machine_on_a_fixed_clock),
        case!(dashboard::dashboard_asset_page_shows_the_life_model),
        case!(session::the_cookie_holds_a_session_id_never_the_token),
        case!(session::sign_out_and_revocation_end_sessions_on_the_server),
        case!(session::sessions_end_after_their_lifetime_or_idle_timeout),
        case!(session::cross_site_posts_are_refused),
        case!(session::a_token_with_a_line_break_is_a_400_page_not_a_500),
        case!(session::framework_errors_are_the_json_error_or_the_html_page),
        case!(load::odd_methods_do_not_grow_the_metrics),
        case!(load::metrics_can_require_a_token),
        case!(load::parts_come_in_pages),
        case!(load::every_list_walks_in_pages),
        case!(load::overload_is_shed_with_503_and_retry_after),
        case!(load::healthz_does_not_wait_for_the_request_pool),
        case!(load::slow_and_idle_clients_are_disconnected),
    ])
}
