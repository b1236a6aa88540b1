//! Routing side of the store: the inputs of the routing engine (stock, thresholds in force, pause
//! flags, open procurement requests, open PM work orders with their asset's bill of materials),
//! loaded with a few set-based queries, and procurement requests (at most one OPEN per part, a
//! partial unique index enforces it). Work-order moves go through
//! [`Store::transition_work_order_by`], a compare-and-set.

use crate::codes::RequestStatus;
use crate::rows::placeholders;
use crate::{Store, StoreError};
use cmms_core::quantity::Quantity;
use cmms_core::routing::{Limits, OpenRequest, OrderInput, PartInput};
use cmms_core::units::UnitsParams;
use cmms_core::work_order::WoState;
use sqlx::AssertSqlSafe;
use std::collections::{BTreeMap, BTreeSet};

/// Ids bound per `IN (…)` list.
const ID_CHUNK: usize = 1000;

/// Work-order states routing may move (into or out of MATERIAL_PENDING).
const ROUTABLE: &str = "('SCHEDULED', 'RELEASED', 'MATERIAL_PENDING')";

/// What the routing engine reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutingInputs {
    /// The parts in scope, by part id.
    pub parts: Vec<PartInput>,
    /// The open PM work orders in scope (SCHEDULED, RELEASED, MATERIAL_PENDING), by id.
    pub orders: Vec<OrderInput>,
}

/// How an open procurement request ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestClosure {
    /// Stock recovered: the request was delivered.
    Fulfilled,
    /// Withdrawn.
    Cancelled,
}

impl From<RequestClosure> for RequestStatus {
    fn from(c: RequestClosure) -> RequestStatus {
        match c {
            RequestClosure::Fulfilled => RequestStatus::Fulfilled,
            RequestClosure::Cancelled => RequestStatus::Cancelled,
        }
    }
}

/// A stored procurement request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ProcurementRow {
    /// Its id.
    pub id: i64,
    /// The part.
    pub part_id: String,
    /// Units requested.
    pub quantity: f64,
    /// `OPEN`, `FULFILLED` or `CANCELLED`.
    #[sqlx(try_from = "String")]
    pub status: RequestStatus,
    /// Why it was raised.
    pub reason: String,
    /// Raised at, epoch ms.
    pub created_at: i64,
    /// Last changed (closed) at, epoch ms.
    pub updated_at: i64,
}

/// A part's routing inputs as [`PARTS_SELECT`] reads them.
#[derive(sqlx::FromRow)]
struct PartRow {
    part_id: String,
    on_hand: Option<f64>,
    reserved: Option<f64>,
    paused_reason: Option<String>,
    reorder_qty: Option<f64>,
    max_qty: Option<f64>,
    request_id: Option<i64>,
    request_qty: Option<f64>,
    unit: String,
    pack_size: Option<f64>,
    min_order_qty: Option<f64>,
}

impl PartRow {
    /// The routing engine's view of the row; `units` says which units are discrete. A stored pack
    /// size or minimum that is not a positive quantity counts as none.
    fn into_input(self, units: &UnitsParams) -> PartInput {
        let positive = |v: Option<f64>| v.and_then(|v| Quantity::new(v).ok()).filter(|q| q.get() > 0.0);
        let r = self;
        PartInput {
            units: units.policy(&r.unit, positive(r.pack_size), positive(r.min_order_qty)),
            part_id: r.part_id,
            available: r.on_hand.map(|h| h - r.reserved.unwrap_or(0.0)),
            limits: r.reorder_qty.zip(r.max_qty).map(|(reorder, max)| Limits { reorder, max }),
            paused: r.paused_reason.is_some(),
            open_request: r.request_id.map(|id| OpenRequest { id, quantity: r.request_qty.unwrap_or(0.0) }),
        }
    }
}

/// An open work order with one part its asset's bill of materials names, as [`ORDERS_SELECT`]
/// reads it.
#[derive(sqlx::FromRow)]
struct OrderPart {
    id: i64,
    #[sqlx(try_from = "String")]
    state: WoState,
    part_id: Option<String>,
}

const PARTS_SELECT: &str = "SELECT p.part_id, s.on_hand, s.reserved, s.paused_reason, c.reorder_qty, c.max_qty, \
     r.id AS request_id, r.quantity AS request_qty, p.unit, p.pack_size, p.min_order_qty FROM parts p \
     LEFT JOIN inventory_state s ON s.part_id = p.part_id \
     LEFT JOIN current_thresholds c ON c.part_id = p.part_id \
     LEFT JOIN procurement_requests r ON r.part_id = p.part_id AND r.status = 'OPEN'";

const ORDERS_SELECT: &str = "SELECT w.id, w.state, ap.part_id FROM work_orders w \
     LEFT JOIN asset_parts ap ON ap.asset_id = w.asset_id";

impl Store {
    /// The routing inputs. `None`: every part and every open PM. `Some(parts)`: those parts, the
    /// open PMs whose asset's bill of materials names one of them, and every other part those PMs
    /// need (so a release sees all of an order's parts). A few queries per 1,000 part ids.
    /// `units` (the active formula version's discrete units) gives each part its
    /// [`cmms_core::units::UnitPolicy`].
    pub async fn routing_inputs(
        &self,
        parts: Option<&[String]>,
        units: &UnitsParams,
    ) -> Result<RoutingInputs, StoreError> {
        let mut orders: BTreeMap<i64, OrderInput> = BTreeMap::new();
        let mut part_rows: Vec<PartRow> = Vec::new();
        match parts {
            None => {
                let sql = format!("{ORDERS_SELECT} WHERE w.state IN {ROUTABLE}");
                let rows = sqlx::query_as(AssertSqlSafe(sql)).fetch_all(self.pool()).await?;
                collect_orders(rows, &mut orders);
                let sql = format!("{PARTS_SELECT} ORDER BY p.part_id");
                part_rows = sqlx::query_as(AssertSqlSafe(sql)).fetch_all(self.pool()).await?;
            }
            Some(ids) => {
                for chunk in ids.chunks(ID_CHUNK) {
                    let sql = format!(
                        "{ORDERS_SELECT} WHERE w.state IN {ROUTABLE} AND w.asset_id IN \
                         (SELECT asset_id FROM asset_parts WHERE part_id IN ({}))",
                        placeholders(self.backend(), chunk.len(), 1, 0)
                    );
                    let mut q = sqlx::query_as(AssertSqlSafe(sql));
                    for id in chunk {
                        q = q.bind(id.as_str());
                    }
                    collect_orders(q.fetch_all(self.pool()).await?, &mut orders);
                }
                let wanted: BTreeSet<&str> = ids
                    .iter()
                    .map(String::as_str)
                    .chain(orders.values().flat_map(|o| o.needs.iter().map(String::as_str)))
                    .collect();
                let wanted: Vec<&str> = wanted.into_iter().collect();
                for chunk in wanted.chunks(ID_CHUNK) {
                    let sql = format!(
                        "{PARTS_SELECT} WHERE p.part_id IN ({}) ORDER BY p.part_id",
                        placeholders(self.backend(), chunk.len(), 1, 0)
                    );
                    let mut q = sqlx::query_as::<_, PartRow>(AssertSqlSafe(sql));
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    part_rows.extend(q.fetch_all(self.pool()).await?);
                }
            }
        }
        let parts = part_rows.into_iter().map(|r| r.into_input(units)).collect();
        Ok(RoutingInputs { parts, orders: orders.into_values().collect() })
    }

    /// Raises an OPEN procurement request for a part; `None` when the part already has one open
    /// (the partial unique index turns a concurrent second request into a no-op).
    pub async fn raise_procurement_request(
        &self,
        part_id: &str,
        quantity: f64,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO procurement_requests (part_id, quantity, status, reason, created_at, updated_at) \
             VALUES ($1, $2, 'OPEN', $3, $4, $4) ON CONFLICT (part_id) WHERE status = 'OPEN' DO NOTHING RETURNING id",
        )
        .bind(part_id)
        .bind(quantity)
        .bind(reason)
        .bind(now_ms)
        .fetch_optional(self.writer())
        .await?)
    }

    /// Closes an OPEN procurement request; false when it is not (or no longer) open.
    pub async fn close_procurement_request(
        &self,
        id: i64,
        status: RequestClosure,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE procurement_requests SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'OPEN'",
        )
        .bind(RequestStatus::from(status).as_str())
        .bind(now_ms)
        .bind(id)
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Sets the quantity of a request that is still open, and its reason (the figures the new
    /// quantity comes from); false when it is not open any more.
    pub async fn resize_procurement_request(
        &self,
        id: i64,
        quantity: f64,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE procurement_requests SET quantity = $1, reason = $2, updated_at = $3 WHERE id = $4 AND status = 'OPEN'",
        )
        .bind(quantity)
        .bind(reason)
        .bind(now_ms)
        .bind(id)
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Procurement requests, optionally of one status (`OPEN` …), newest first.
    pub async fn procurement_requests(&self, status: Option<&str>) -> Result<Vec<ProcurementRow>, StoreError> {
        self.procurement_requests_page(status, None, i64::MAX).await
    }

    /// At most `limit` requests of [`Store::procurement_requests`] after the request
    /// `(created_at, id)` (newest first).
    pub async fn procurement_requests_page(
        &self,
        status: Option<&str>,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<ProcurementRow>, StoreError> {
        let (after_created, after_id) = after.unwrap_or((0, 0));
        Ok(sqlx::query_as(
            "SELECT id, part_id, quantity, status, reason, created_at, updated_at FROM procurement_requests \
             WHERE ($1 = '' OR status = $1) AND ($2 = 0 OR created_at < $3 OR (created_at = $3 AND id < $4)) \
             ORDER BY created_at DESC, id DESC LIMIT $5",
        )
        .bind(status.unwrap_or(""))
        .bind(i64::from(after.is_some()))
        .bind(after_created)
        .bind(after_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}

/// Folds `(work order, state, needed part)` rows into orders.
fn collect_orders(rows: Vec<OrderPart>, orders: &mut BTreeMap<i64, OrderInput>) {
    for OrderPart { id, state, part_id } in rows {
        let order = orders.entry(id).or_insert_with(|| OrderInput { work_order_id: id, state, needs: Vec::new() });
        if let Some(part) = part_id
            && !order.needs.contains(&part)
        {
            order.needs.push(part);
        }
    }
}
