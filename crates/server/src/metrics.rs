//! Prometheus metrics: a process-wide recorder, the request middleware (a tracing span, a count
//! and a latency per route), the pipeline's record counters, and the `/metrics` page.

use crate::AppState;
use crate::auth::{Auth, Read};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cmms_pipeline::ingest::IngestReport;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;
use tracing::Instrument;

/// Latency buckets in seconds: 0.5 ms to 5 s.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The process's recorder handle (installed on first use; `None` if another recorder was
/// installed first, in which case `/metrics` says so).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Installs the recorder (call once at startup, before serving).
pub fn install() {
    let _ = handle();
}

/// The methods counted under their own name; any other method string is counted as `OTHER`.
const KNOWN_METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"];

/// The `method` label of a request: a method of [`KNOWN_METHODS`] or `OTHER`, so a client cannot
/// add label sets (and scrape size) by sending invented methods.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    KNOWN_METHODS.into_iter().find(|m| *m == method.as_str()).unwrap_or("OTHER")
}

/// Wraps every request in a span and counts it with its latency by route, method and status.
/// Every label comes from a closed set: the matched route template (or `unmatched`), a known
/// method (or `OTHER`) and the status code.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = method_label(request.method());
    let span = tracing::info_span!("request", %method, %route, status = tracing::field::Empty);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16().to_string();
    span.record("status", status.as_str());
    let labels = [("route", route), ("method", method.to_owned()), ("status", status)];
    metrics::counter!("cmms_http_requests_total", &labels).increment(1);
    metrics::histogram!("cmms_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

/// Counts an ingestion request's records by feed and outcome.
pub fn count_records(feed: &'static str, report: &IngestReport) {
    for (status, n) in [
        ("accepted", report.accepted),
        ("duplicate", report.duplicate),
        ("rejected", report.rejected),
        ("quarantined", report.quarantined),
    ] {
        if n > 0 {
            metrics::counter!("cmms_records_total", "stage" => "ingest", "feed" => feed, "status" => status)
                .increment(n as u64);
        }
    }
}

/// `GET /metrics` in the Prometheus text format. Open unless the server was started with
/// `metrics_require_token`: then only for a token with the `read` scope (401/403 otherwise).
pub async fn render(State(state): State<AppState>, mut parts: Parts) -> Response {
    if state.options.metrics_require_token
        && let Err(e) = Auth::<Read>::from_request_parts(&mut parts, &state).await
    {
        return e.into_response();
    }
    match handle() {
        Some(h) => ([("content-type", "text/plain; version=0.0.4")], h.render()).into_response(),
        None => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable\n").into_response(),
    }
}
