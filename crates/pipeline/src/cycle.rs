//! The pipeline cycle: the one place that orders the stages after data came in — validation and
//! mapping gate → thresholds, beside them PM intervals and work orders, then routing.
//!
//! `cmms import`, `cmms recompute`, `cmms demo` and the server's reconciliation loop run
//! [`cycle`]; what each runs is its [`CycleScope`].

use crate::inventory::{self, GateRun, InventoryError};
use crate::pm::{self, IntervalRun, PmServiceError};
use crate::routing::{self, RouteScope, RoutingError, RoutingRun};
use crate::thresholds::{self, RecomputeScope, ThresholdRun, ThresholdsError};
use cmms_store::Store;
use jiff::Timestamp;

/// Which stages a cycle runs. The gate always runs (it is cheap when nothing is staged), before
/// every stage but the PM stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleScope {
    /// The validation and mapping gate only: one file of a batch whose routing runs at the end
    /// (`cmms demo` reports the gate file by file).
    Gate,
    /// The gate, then routing of every part: the server's periodic reconciliation (it repairs
    /// what event-driven routing missed).
    Route,
    /// The gate, then routing of the parts whose stock or pause it changed ([`GateRun::touched`]):
    /// after a feed import. Feed records reach routing's inputs (stock, pauses) only through the
    /// gate — consumption counts in thresholds, not in stock — so the parts the gate left alone
    /// have nothing new to route.
    RouteTouched,
    /// The gate, thresholds of these parts, PM intervals of every asset, then routing of every
    /// part (`cmms recompute`, the end of `cmms demo`).
    Recompute(RecomputeScope),
}

/// What one cycle did, stage by stage (`None`: the stage is not in the scope).
#[derive(Debug, Default, serde::Serialize)]
pub struct CycleReport {
    /// The validation and mapping gate.
    pub gate: GateRun,
    /// The threshold recompute.
    pub thresholds: Option<ThresholdRun>,
    /// The PM interval recompute and its work orders.
    pub intervals: Option<IntervalRun>,
    /// Routing (procurement requests, material holds).
    pub routing: Option<RoutingRun>,
}

/// Why a cycle stopped. What the stages before the failed one did is stored, and so is the PM
/// stage's work when the gate or the thresholds failed beside it (and theirs when it failed).
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    /// The validation and mapping gate failed.
    #[error(transparent)]
    Gate(#[from] InventoryError),
    /// The threshold recompute failed.
    #[error(transparent)]
    Thresholds(#[from] ThresholdsError),
    /// The PM recompute failed.
    #[error(transparent)]
    Intervals(#[from] PmServiceError),
    /// Routing failed.
    #[error(transparent)]
    Routing(#[from] RoutingError),
}

/// Runs the stages of `scope`, computing as of `as_of`; `now_ms` is written on the rows.
///
/// The PM stage reads and writes only assets, their failure logs and PM work orders, none of
/// which the gate or the thresholds touch: it runs beside them (its statements on their own
/// connections while the other chain computes), and routing, which reads both, runs last.
pub async fn cycle(store: &Store, as_of: Timestamp, now_ms: i64, scope: CycleScope) -> Result<CycleReport, CycleError> {
    let inventory = async {
        let gate = inventory::process(store, now_ms).await?;
        let thresholds = match scope {
            CycleScope::Recompute(parts) => {
                Some(thresholds::recompute_thresholds_in(store, as_of, now_ms, parts).await?)
            }
            _ => None,
        };
        Ok::<_, CycleError>((gate, thresholds))
    };
    let intervals = async {
        match scope {
            CycleScope::Recompute(_) => pm::recompute_intervals(store, as_of, now_ms).await.map(Some),
            _ => Ok(None),
        }
    };
    let (inventory, intervals) = tokio::join!(inventory, intervals);
    let (gate, thresholds) = inventory?;
    let mut report = CycleReport { gate, thresholds, intervals: intervals?, routing: None };
    let routes = match scope {
        CycleScope::Gate => None,
        CycleScope::RouteTouched => Some(RouteScope::Parts(report.gate.touched.iter().cloned().collect())),
        CycleScope::Route | CycleScope::Recompute(_) => Some(RouteScope::All),
    };
    if let Some(routes) = routes {
        report.routing = Some(routing::route(store, routes, now_ms).await?);
    }
    Ok(report)
}
