//! Routing stage: reads stock, thresholds in force, pauses, open procurement requests and open PM
//! work orders from the store, asks the pure core ([`cmms_core::routing::plan`]) what to do, and
//! applies it: procurement requests raised (one OPEN per part, ever) or closed as fulfilled, PM
//! work orders moved into or out of MATERIAL_PENDING.
//!
//! Safe to run any number of times and concurrently: requests are raised with an insert the
//! "one OPEN per part" index turns into a no-op, closes and work-order moves are compare-and-set
//! updates, and a change another run made first is skipped (counted in [`RoutingRun::skipped`]).

use crate::formulas::{self, FormulasError};
use cmms_core::routing::{Decision, plan};
use cmms_core::work_order::{WoAction, WoState, transition};
use cmms_store::routing::RequestClosure;
use cmms_store::{Store, StoreError};
use tracing::Instrument;

/// The actor recorded on work-order events the routing engine writes.
pub const ACTOR: &str = "routing";

/// Which parts a routing run looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteScope {
    /// Every part and every open PM work order.
    All,
    /// These parts and the open PMs whose asset needs one of them.
    Parts(Vec<String>),
}

/// Errors of the routing stage.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// The store failed.
    #[error("routing: {0}")]
    Store(#[from] StoreError),
    /// A decision the state machine refuses (a bug in the planner, never a user error).
    #[error("routing: {0}")]
    Illegal(#[from] cmms_core::work_order::IllegalTransition),
    /// The active formula version (its discrete units) could not be read.
    #[error("routing: {0}")]
    Formulas(#[from] FormulasError),
}

/// What one routing run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoutingRun {
    /// Parts looked at.
    pub parts: u64,
    /// Open PM work orders looked at.
    pub work_orders: u64,
    /// Procurement requests raised.
    pub requests_raised: u64,
    /// Open procurement requests brought to order up to max from the current stock.
    pub requests_resized: u64,
    /// Procurement requests closed as fulfilled.
    pub requests_closed: u64,
    /// Work orders moved to MATERIAL_PENDING.
    pub orders_held: u64,
    /// Work orders moved back to SCHEDULED.
    pub orders_released: u64,
    /// Parts in scope whose routing is paused by a scan discrepancy (nothing changed for them).
    pub parts_paused: u64,
    /// Decisions another change applied first (a concurrent run or operator); nothing written.
    pub skipped: u64,
}

/// Serialises routing runs within a process. A run reads, plans and writes; two overlapping runs
/// could otherwise let one that read older stock write last (close a request the newer run kept).
/// Serialised, the run that follows the last change reads it. Across processes, the periodic
/// reconciliation cycle repairs what an overlap left.
static ROUTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Routes the parts in `scope`: loads the inputs, plans, applies the decisions.
pub async fn route(store: &Store, scope: RouteScope, now_ms: i64) -> Result<RoutingRun, RoutingError> {
    let parts = match &scope {
        RouteScope::All => "all".to_owned(),
        RouteScope::Parts(p) => p.join(","),
    };
    // Instrumented rather than entered: the span must not stay entered across awaits.
    route_in_span(store, scope, now_ms).instrument(tracing::info_span!("route", parts)).await
}

async fn route_in_span(store: &Store, scope: RouteScope, now_ms: i64) -> Result<RoutingRun, RoutingError> {
    let _one_at_a_time = ROUTING.lock().await;
    if matches!(&scope, RouteScope::Parts(parts) if parts.is_empty()) {
        return Ok(RoutingRun::default());
    }
    // The discrete units decide how order quantities are rounded (docs/contract.md#whole-units).
    let formulas = formulas::active_or_defaults(store).await?;
    let inputs = match &scope {
        RouteScope::All => store.routing_inputs(None, formulas.units()).await?,
        RouteScope::Parts(parts) => store.routing_inputs(Some(parts), formulas.units()).await?,
    };
    let mut run = RoutingRun {
        parts: inputs.parts.len() as u64,
        work_orders: inputs.orders.len() as u64,
        parts_paused: inputs.parts.iter().filter(|p| p.paused).count() as u64,
        ..RoutingRun::default()
    };
    for decision in plan(&inputs.parts, &inputs.orders) {
        let applied = match &decision {
            Decision::RaiseRequest { part_id, quantity, reason } => {
                let raised = store.raise_procurement_request(part_id, *quantity, reason, now_ms).await?.is_some();
                run.requests_raised += u64::from(raised);
                raised
            }
            Decision::ResizeRequest { request_id, quantity, reason, .. } => {
                let resized = store.resize_procurement_request(*request_id, *quantity, reason, now_ms).await?;
                run.requests_resized += u64::from(resized);
                resized
            }
            Decision::CloseRequest { request_id, .. } => {
                let closed = store.close_procurement_request(*request_id, RequestClosure::Fulfilled, now_ms).await?;
                run.requests_closed += u64::from(closed);
                closed
            }
            Decision::HoldForMaterial { work_order_id, from, short_parts } => {
                let reason = format!("material pending: {} below the reorder point", short_parts.join(", "));
                let held = move_order(store, *work_order_id, *from, WoAction::HoldForMaterial, &reason, now_ms).await?;
                run.orders_held += u64::from(held);
                held
            }
            Decision::ReleaseMaterial { work_order_id } => {
                let reason = "material available: every needed part is at or above its reorder point";
                let released = move_order(
                    store,
                    *work_order_id,
                    WoState::MaterialPending,
                    WoAction::MaterialAvailable,
                    reason,
                    now_ms,
                )
                .await?;
                run.orders_released += u64::from(released);
                released
            }
        };
        if !applied {
            tracing::debug!(?decision, "already applied by another change; skipped");
            run.skipped += 1;
        }
    }
    for (decision, n) in [
        ("request_raised", run.requests_raised),
        ("request_resized", run.requests_resized),
        ("request_fulfilled", run.requests_closed),
        ("order_held", run.orders_held),
        ("order_released", run.orders_released),
    ] {
        metrics::counter!("cmms_routing_decisions_total", "decision" => decision).increment(n);
    }
    tracing::info!(
        parts = run.parts,
        work_orders = run.work_orders,
        raised = run.requests_raised,
        closed = run.requests_closed,
        held = run.orders_held,
        released = run.orders_released,
        paused = run.parts_paused,
        skipped = run.skipped,
        "routing applied"
    );
    Ok(run)
}

/// Applies one work-order action as a compare-and-set from `from`; false when the order had moved.
async fn move_order(
    store: &Store,
    id: i64,
    from: WoState,
    action: WoAction,
    reason: &str,
    now_ms: i64,
) -> Result<bool, RoutingError> {
    let to = transition(from, action)?;
    Ok(store.transition_work_order_by(id, from, to, reason, ACTOR, now_ms).await?)
}
