//! Event-driven routing, coalesced: every request that changed stock, pauses or thresholds waits
//! for a routing run that starts after its change was stored, and requests arriving while a run
//! is under way share the next run.
//!
//! Routing runs are serialised (see `cmms_pipeline::routing`), so routing each request's parts
//! on its own caps the write path at one routing run per request. Here one run covers the union
//! of the parts of every request waiting for it: under load the cost per request falls, and the
//! answer still follows the routing of its own change, as before.

use cmms_pipeline::routing::{self, RouteScope};
use cmms_store::Store;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// Routes parts after changes, sharing runs between concurrent requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct RoutingQueue {
    store: Store,
    pending: Arc<Mutex<Pending>>,
}

/// Parts waiting for the next run, the requests waiting for it, and whether a driver runs.
#[derive(Debug, Default)]
struct Pending {
    parts: BTreeSet<String>,
    waiters: Vec<oneshot::Sender<()>>,
    driving: bool,
}

/// Marks the driver stopped if its task panics, so the next request starts a new one instead of
/// waiting for a driver that is gone. (A normal stop clears the mark under the lock that saw
/// nothing pending, so no request can slip in between.)
struct PanicGuard(Arc<Mutex<Pending>>);

impl Drop for PanicGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).driving = false;
        }
    }
}

impl RoutingQueue {
    /// A queue over `store`.
    pub fn new(store: Store) -> Self {
        Self { store, pending: Arc::default() }
    }

    /// Routes `parts` (after their change is stored) and returns when a run that started after
    /// this call has finished. A failed run is logged, not returned: the change itself is stored,
    /// and the reconciliation cycle routes every part again.
    pub async fn route(&self, parts: &[String]) {
        if parts.is_empty() {
            return;
        }
        let (done, finished) = oneshot::channel();
        let start_driver = {
            let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            p.parts.extend(parts.iter().cloned());
            p.waiters.push(done);
            !std::mem::replace(&mut p.driving, true)
        };
        if start_driver {
            // In a task of its own: a request whose client goes away must not stop the runs
            // other requests wait for.
            let queue = self.clone();
            tokio::spawn(async move { queue.drive().await });
        }
        // An error means the driver died with this request's run (logged by the runtime).
        let _ = finished.await;
    }

    /// Runs routing over whatever is pending until nothing is.
    async fn drive(&self) {
        let _guard = PanicGuard(self.pending.clone());
        loop {
            let (parts, waiters) = {
                let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                if p.waiters.is_empty() {
                    p.driving = false;
                    return;
                }
                (std::mem::take(&mut p.parts), std::mem::take(&mut p.waiters))
            };
            let requests = waiters.len();
            let scope = RouteScope::Parts(parts.into_iter().collect());
            if let Err(e) = routing::route(&self.store, scope, crate::api::now_ms()).await {
                tracing::error!(error = %e, requests, "routing after a change failed; the next reconciliation cycle retries");
            }
            for w in waiters {
                let _ = w.send(());
            }
        }
    }
}
