//! The pipeline cycle: the one place that orders the stages after data came in — validation and
//! mapping gate → thresholds → PM intervals and work orders → routing.
//!
//! `cmms import`, `cmms recompute`, `cmms demo` and the server's reconciliation loop run
//! [`cycle`]; what each runs is its [`CycleScope`].

use crate::inventory::{self, GateRun, InventoryError};
use crate::pm::{self, IntervalRun, PmServiceError};
use crate::routing::{self, RouteScope, RoutingError, RoutingRun};
use crate::thresholds::{self, RecomputeScope, ThresholdRun, ThresholdsError};
use cmms_store::Store;
use jiff::Timestamp;

/// Which stages a cycle runs. The gate always runs first (it is cheap when nothing is staged).
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

/// Why a cycle stopped; the stages before the failed one are stored.
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

/// Runs the stages of `scope` in order, computing as of `as_of`; `now_ms` is written on the rows.
pub async fn cycle(store: &Store, as_of: Timestamp, now_ms: i64, scope: CycleScope) -> Result<CycleReport, CycleError> {
    let mut report = CycleReport { gate: inventory::process(store, now_ms).await?, ..CycleReport::default() };
    if let CycleScope::Recompute(parts) = scope {
        report.thresholds = Some(thresholds::recompute_thresholds_in(store, as_of, now_ms, parts).await?);
        report.intervals = Some(pm::recompute_intervals(store, as_of, now_ms).await?);
    }
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
