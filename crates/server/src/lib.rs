//! HTTP surface of cmms-pipeline (axum): the `/api/v1` API with bearer-token auth, its OpenAPI
//! document, the dashboard, Prometheus `/metrics` and `/healthz`.
//!
//! [`serve`] is a library function taking a bound listener and a shutdown future, so tests can bind
//! port 0 and stop the server cleanly.

pub mod api;
pub mod auth;
pub mod coalesce;
pub mod dashboard;
pub mod error;
pub mod metrics;
pub mod routing_queue;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use cmms_pipeline::cycle::{CycleScope, cycle};
use cmms_store::Store;
use cmms_store::thresholds::{Received, ReceivedThresholds};
use error::ApiError;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// Largest request body accepted (a batch of 10,000 records fits well within it).
pub const BODY_LIMIT_BYTES: usize = 16 * 1024 * 1024;

/// Most threshold deliveries written in one transaction (group commit).
const MAX_THRESHOLDS_PER_COMMIT: usize = 256;

/// Received thresholds in, one outcome each out; a failed batch answers every request with the
/// store's error message.
type ThresholdIntake = coalesce::Coalescer<ReceivedThresholds, Result<Received, String>>;

/// Shared state of every request handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The store the service runs on.
    pub store: Store,
    /// Event-driven routing, shared by concurrent requests.
    routing: routing_queue::RoutingQueue,
    /// Threshold deliveries, committed in groups.
    thresholds: ThresholdIntake,
    /// Recently verified API tokens.
    tokens: Arc<auth::TokenCache>,
    /// How far past now a PM completion time may lie.
    completion_tolerance: jiff::SignedDuration,
    /// Dashboard sessions and cookies.
    dashboard: dashboard::DashboardSettings,
    /// Limits of the HTTP server.
    pub(crate) options: ServeOptions,
}

/// Limits of the HTTP server, with documented defaults (`cmms serve` reads them from the `[http]`
/// table of the configuration).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Time a client has to send a request's complete headers, counted from when the connection
    /// starts waiting for a request: it bounds a client trickling its headers and is also how long
    /// an idle keep-alive connection stays open. Default 10 s.
    pub header_read_timeout: std::time::Duration,
    /// Requests handled at once (API, dashboard, OpenAPI document); one more is answered 503
    /// `OVERLOADED` with `Retry-After` at once instead of queueing. `/healthz` and `/metrics` are
    /// not counted. Default 64.
    pub max_in_flight: usize,
    /// `/metrics` only for a token with the `read` scope (default: open, as `/healthz` is).
    pub metrics_require_token: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: std::time::Duration::from_secs(10),
            max_in_flight: 64,
            metrics_require_token: false,
        }
    }
}

impl AppState {
    /// State over a store.
    pub fn new(store: Store) -> Self {
        let batch_store = store.clone();
        let thresholds = coalesce::Coalescer::new(MAX_THRESHOLDS_PER_COMMIT, move |batch: Vec<ReceivedThresholds>| {
            let store = batch_store.clone();
            async move {
                match store.receive_thresholds_batch(&batch, api::now_ms()).await {
                    Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(e.to_string()); batch.len()],
                }
            }
        });
        Self {
            routing: routing_queue::RoutingQueue::new(store.clone()),
            thresholds,
            tokens: Arc::default(),
            completion_tolerance: cmms_core::work_order::DEFAULT_COMPLETION_TOLERANCE,
            dashboard: dashboard::DashboardSettings::default(),
            options: ServeOptions::default(),
            store,
        }
    }

    /// The same state with another completion tolerance (`cmms serve
    /// --completion-tolerance-seconds`; default [`cmms_core::work_order::DEFAULT_COMPLETION_TOLERANCE`]).
    pub fn with_completion_tolerance(mut self, tolerance: jiff::SignedDuration) -> Self {
        self.completion_tolerance = tolerance;
        self
    }

    /// The window a PM completion time must lie in, by the clock: 1970 … now + the tolerance.
    pub fn completion_window(&self) -> cmms_core::time::TimeWindow {
        cmms_pipeline::pm::completion_window(jiff::Timestamp::now(), self.completion_tolerance)
    }

    /// The same state with these dashboard session settings (default: 12 h lifetime, 1 h idle
    /// timeout, plain-HTTP cookies).
    pub fn with_dashboard(self, dashboard: dashboard::DashboardSettings) -> Self {
        Self { dashboard, ..self }
    }

    /// The same state with these server limits.
    pub fn with_options(self, options: ServeOptions) -> Self {
        Self { options, ..self }
    }

    /// Routes `parts` after a change of their stock, pause state or thresholds: procurement
    /// requests and material holds follow before this returns (concurrent requests share one
    /// routing run). A failure is logged, not returned: the change itself is stored, and the
    /// reconciliation cycle routes every part again.
    pub async fn after_change(&self, parts: &[String]) {
        self.routing.route(parts).await;
    }

    /// Applies received thresholds as [`Store::receive_thresholds`] does, committed together with
    /// the deliveries of concurrent requests (each still judged in arrival order). Durable when
    /// this returns `Ok`.
    pub async fn receive_thresholds(&self, delivery: ReceivedThresholds) -> Result<Received, ApiError> {
        match self.thresholds.submit(delivery).await {
            Some(Ok(outcome)) => Ok(outcome),
            Some(Err(message)) => Err(ApiError::internal(&message)),
            None => Err(ApiError::internal(&"the threshold batch was aborted")),
        }
    }
}

/// The reconciliation cycle: every `every`, runs the validation stage over anything pending and
/// routes every part, until `shutdown` completes. Catches what event-driven routing missed
/// (a failed run, changes written by another process such as `cmms import`).
pub async fn reconcile_periodically(store: Store, every: std::time::Duration, shutdown: impl Future<Output = ()>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = tick.tick() => {}
        }
        let now = api::now_ms();
        let as_of = cmms_core::time::from_epoch_ms(now);
        match cycle(&store, as_of, now, CycleScope::Route).await {
            Ok(run) => {
                let routed = run.routing.unwrap_or_default();
                tracing::debug!(raised = routed.requests_raised, held = routed.orders_held, "reconciliation cycle done")
            }
            Err(e) => tracing::error!(error = %e, "reconciliation cycle failed"),
        }
    }
}

/// The application's routes: the API, its OpenAPI document, metrics and health.
///
/// Everything but `/healthz` and `/metrics` counts against [`ServeOptions::max_in_flight`], so a
/// saturated API still answers health checks and scrapes.
pub fn router(state: AppState) -> Router {
    metrics::install();
    let (api, openapi) = api::routes();
    let document: Arc<str> = openapi.to_json().unwrap_or_default().into();
    let in_flight = Arc::new(Semaphore::new(state.options.max_in_flight.max(1)));
    let limited = Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { ([("content-type", "application/json")], document.to_string()) }
            }),
        )
        .merge(api)
        .merge(dashboard::routes())
        .layer(axum::middleware::from_fn_with_state(in_flight, shed_load));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .merge(limited)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(error::uniform_errors))
        .with_state(state)
}

/// Runs the request if fewer than the limit are in flight; answers 503 `OVERLOADED` with
/// `Retry-After` at once otherwise (a queue would only turn overload into timeouts).
async fn shed_load(State(in_flight): State<Arc<Semaphore>>, request: Request, next: Next) -> Response {
    match in_flight.try_acquire() {
        Ok(permit) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(_) => {
            ::metrics::counter!("cmms_http_shed_total").increment(1);
            ApiError::overloaded("too many requests in flight: retry after the time in Retry-After").into_response()
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("NOT_FOUND", "no such route (see /api/v1/openapi.json)")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "this route does not take that method")
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then finishes in-flight
/// requests and returns.
///
/// HTTP/1.1 through hyper with the [`ServeOptions::header_read_timeout`] of `state` (which
/// `axum::serve` does not offer): a connection that has not sent a complete request head within
/// it is closed, whether it trickles bytes or sits idle between keep-alive requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(state.options.header_read_timeout);
    let app = router(state);
    let (stop, stopping) = watch::channel(false);
    let (open, open_rx) = watch::channel(());
    let mut listener = listener;
    tokio::pin!(shutdown);
    loop {
        let (io, _peer) = tokio::select! {
            conn = axum::serve::Listener::accept(&mut listener) => conn,
            () = &mut shutdown => break,
        };
        let connection = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(app.clone()));
        let mut stopping = stopping.clone();
        let still_open = open_rx.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let stop_requested = async move {
                let _ = stopping.wait_for(|s| *s).await;
            };
            let result = tokio::select! {
                r = connection.as_mut() => r,
                () = stop_requested => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(still_open);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(open_rx);
    open.closed().await;
    Ok(())
}

/// The health document served at `/healthz`.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// The storage backend (`sqlite`, `postgres`).
    pub store: String,
    /// The schema version, when the store answers.
    pub schema_version: Option<i64>,
    /// The service's version.
    pub version: &'static str,
}

/// How long `/healthz` waits for the store before it answers 503.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// The store is asked on its own connection ([`Store::health_version`]), never behind the
/// requests waiting for the pool, and for at most [`HEALTH_TIMEOUT`].
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let store = state.store.backend().to_string();
    let version = env!("CARGO_PKG_VERSION");
    let unavailable = |store| {
        (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "unavailable", store, schema_version: None, version }))
    };
    match tokio::time::timeout(HEALTH_TIMEOUT, state.store.health_version()).await {
        Ok(Ok(v)) => (StatusCode::OK, Json(Health { status: "ok", store, schema_version: Some(v), version })),
        Ok(Err(e)) => {
            // The cause goes to the log, not to the (possibly unauthenticated) caller.
            tracing::warn!(error = %e, "health check: store unavailable");
            unavailable(store)
        }
        Err(_) => {
            tracing::warn!("health check: the store did not answer within {HEALTH_TIMEOUT:?}");
            unavailable(store)
        }
    }
}
