//! Event-driven routing, coalesced: every request that changed stock, pauses or thresholds waits
//! for a routing run that starts after its change was stored, and requests arriving while a run
//! is under way share the next run.
//!
//! Routing runs are serialised (see `cmms_pipeline::routing`), so routing each request's parts
//! on its own caps the write path at one routing run per request. Here one run covers the union
//! of the parts of every request waiting for it: under load the cost per request falls, and the
//! answer still follows the routing of its own change, as before.

use crate::coalesce::Coalescer;
use cmms_pipeline::routing::{self, RouteScope};
use cmms_store::Store;
use std::collections::BTreeSet;

/// Most requests whose parts one routing run covers.
const MAX_REQUESTS_PER_RUN: usize = 1024;

/// Routes parts after changes, sharing runs between concurrent requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct RoutingQueue {
    runs: Coalescer<Vec<String>, ()>,
}

impl RoutingQueue {
    /// A queue over `store`.
    pub fn new(store: Store) -> Self {
        let runs = Coalescer::new(MAX_REQUESTS_PER_RUN, move |requests: Vec<Vec<String>>| {
            let store = store.clone();
            async move {
                let count = requests.len();
                let parts: BTreeSet<String> = requests.into_iter().flatten().collect();
                let scope = RouteScope::Parts(parts.into_iter().collect());
                if let Err(e) = routing::route(&store, scope, crate::api::now_ms()).await {
                    tracing::error!(error = %e, requests = count, "routing after a change failed; the next reconciliation cycle retries");
                }
                vec![(); count]
            }
        });
        Self { runs }
    }

    /// Routes `parts` (after their change is stored) and returns when a run that started after
    /// this call has finished. A failed run is logged, not returned: the change itself is stored,
    /// and the reconciliation cycle routes every part again.
    pub async fn route(&self, parts: &[String]) {
        if parts.is_empty() {
            return;
        }
        // `None` means the run panicked (logged by the runtime); the change itself is stored.
        let _ = self.runs.submit(parts.to_vec()).await;
    }
}
