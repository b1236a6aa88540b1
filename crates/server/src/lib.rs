//! HTTP surface of cmms-pipeline (axum). Today: `GET /healthz`; the API proper, metrics and the
//! dashboard are added as later capabilities.
//!
//! [`serve`] is a library function taking a bound listener and a shutdown future, so tests can bind
//! port 0 and stop the server cleanly.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use cmms_store::Store;
use serde::Serialize;
use std::future::Future;
use tokio::net::TcpListener;

/// Shared state of every request handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The store the service runs on.
    pub store: Store,
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new().route("/healthz", get(healthz)).with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then finishes in-flight
/// requests and returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
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

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let store = state.store.backend().to_string();
    let version = env!("CARGO_PKG_VERSION");
    match state.store.schema_version().await {
        Ok(v) => (StatusCode::OK, Json(Health { status: "ok", store, schema_version: Some(v), version })),
        Err(e) => {
            // The cause goes to the log, not to the (possibly unauthenticated) caller.
            tracing::warn!(error = %e, "health check: store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health { status: "unavailable", store, schema_version: None, version }),
            )
        }
    }
}
