//! `cmms serve`: opens the store, binds the listener and serves until SIGINT or SIGTERM.

use crate::config::Config;
use anyhow::Context;
use cmms_server::AppState;
use cmms_store::Store;
use std::process::ExitCode;

pub async fn run(config: &Config, listen: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database_url).await?;
    let addr = listen.unwrap_or(&config.listen);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(%local, store = %store.backend(), "cmms serve listening on http://{local}");
    cmms_server::serve(listener, AppState { store: store.clone() }, shutdown_signal()).await?;
    store.close().await;
    tracing::info!("cmms serve stopped");
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}
