//! `cmms serve`: opens the store, binds the listener and serves the API, and runs the
//! reconciliation cycle, until SIGINT or SIGTERM.

use crate::config::Config;
use anyhow::Context;
use cmms_pipeline::publish::{HttpTransport, run_publisher};
use cmms_server::AppState;
use cmms_store::Store;
use std::process::ExitCode;
use std::sync::Arc;

/// `cmms serve`: opens the store, binds `listen` (or the configured address) and serves.
pub async fn run(config: &Config, listen: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = config.open_store().await?;
    let listener = bind(listen.unwrap_or(&config.listen)).await?;
    serve_on(config, store, listener).await
}

/// Binds the listener (`127.0.0.1:0` picks a free port; see `local_addr`).
pub async fn bind(addr: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))
}

/// Serves the API and dashboard on a bound listener, runs the reconciliation cycle and (when
/// targets are configured) the publisher, until SIGINT or SIGTERM; then closes the store.
pub async fn serve_on(config: &Config, store: Store, listener: tokio::net::TcpListener) -> anyhow::Result<ExitCode> {
    let targets = config.targets()?;
    let dashboard = config.dashboard.settings()?;
    let shutdown = shutdown_signal();
    let local = listener.local_addr()?;
    tracing::info!(%local, store = %store.backend(), "cmms serve listening on http://{local}");
    anyhow::ensure!(config.reconcile_seconds > 0, "reconcile_seconds must be at least 1");
    let options = config.http.serve_options()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let every = std::time::Duration::from_secs(config.reconcile_seconds);
    let cycle = tokio::spawn(cmms_server::reconcile_periodically(store.clone(), every, {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    }));
    let publisher = if targets.is_empty() {
        None
    } else {
        let transport = Arc::new(HttpTransport::new()?);
        let mut stopped = stopped.clone();
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        Some(tokio::spawn(run_publisher(store.clone(), transport, targets, config.publisher_settings(), shutdown)))
    };
    let state = AppState::new(store.clone())
        .with_completion_tolerance(config.completion_tolerance()?)
        .with_dashboard(dashboard)
        .with_options(options);
    let served = cmms_server::serve(listener, state, shutdown).await;
    let _ = stop.send(true);
    let _ = cycle.await;
    if let Some(p) = publisher {
        let _ = p.await;
    }
    served?;
    store.close().await;
    tracing::info!("cmms serve stopped");
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled, so a signal sent right after the "listening" line is caught.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            let (mut int, mut term) = match (int, term) {
                (Ok(int), Ok(term)) => (int, term),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot listen for SIGINT/SIGTERM; stopping on Ctrl-C only");
                    let _ = tokio::signal::ctrl_c().await;
                    tracing::info!("SIGINT received, shutting down");
                    return;
                }
            };
            tokio::select! {
                _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
                _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("SIGINT received, shutting down");
    }
}
