//! Routing engine: procurement requests and MATERIAL_PENDING work orders from stock against the
//! thresholds in force, with scan pauses.

use crate::inventory::{AS_OF, NOW, consumption, import, master};
use cmms_core::feeds::{ScanRecord, SnapshotRecord};
use cmms_core::master::{AssetPartRecord, AssetRecord};
use cmms_core::time::parse_timestamp;
use cmms_core::work_order::WoAction;
use cmms_pipeline::cycle::{CycleScope, cycle};
use cmms_pipeline::feed::{self, Feed};
use cmms_pipeline::import::Quiet;
use cmms_pipeline::inventory::{self, accept_scan};
use cmms_pipeline::pm;
use cmms_pipeline::routing::{RouteScope, RoutingRun, route};
use cmms_pipeline::thresholds::{RecomputeScope, recompute_thresholds};
use cmms_store::routing::ProcurementRow;
use cmms_store::testing::Db;

const SNAP_HEAD: &str = "source,sequence_id,external_sku,on_hand,observed_at\n";
const SCAN_HEAD: &str = "scan_id,scanner_id,code,counted_qty,scanned_at\n";

/// Thresholds in force: BRG [15, 18.75, 28.12] (computed), FLT [1, 2, 3] (baseline fallback).
/// Assets: CH-1 needs BRG and FLT, PUMP-1 needs FLT, FAN-1 needs nothing; each has one SCHEDULED
/// PM. Stock: BRG 25, FLT 20 — nothing short yet (drops within what consumption explains follow).
async fn plant(db: &Db) {
    master(db).await;
    let path = crate::write_temp("c.csv", &consumption());
    feed::import(&db.store, Feed::Consumption, feed::File { path: &path, observer: &mut Quiet }, 2).await.unwrap();
    let as_of = parse_timestamp(AS_OF).unwrap();
    recompute_thresholds(&db.store, as_of, NOW).await.unwrap();
    let assets = "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n\
                  CH-1,HVAC-CHILLERS,PLANT-A,90,2026-10-01T07:00:00+02:00\n\
                  PUMP-1,PUMPS,PLANT-A,45,2026-10-01T07:00:00+02:00\n\
                  FAN-1,FANS,PLANT-A,30,2026-10-01T07:00:00+02:00\n";
    assert!(import::<AssetRecord>(db, "assets.csv", assets).await.is_clean());
    let bom = "asset_id,part_id,quantity\nCH-1,BRG,2\nCH-1,FLT,1\nPUMP-1,FLT,1\n";
    assert!(import::<AssetPartRecord>(db, "bom.csv", bom).await.is_clean());
    let run = pm::recompute_intervals(&db.store, as_of, NOW).await.unwrap();
    assert_eq!(run.work_orders_created, 3);
    snapshot(db, 1, "25", "20", "2026-10-01").await;
    let cur = db.store.current_thresholds().await.unwrap();
    assert_eq!((cur["BRG"].published, cur["FLT"].published), ([15.0, 18.75, 28.12], [1.0, 2.0, 3.0]));
    assert_eq!(route(&db.store, RouteScope::All, NOW).await.unwrap().requests_raised, 0);
}

/// Delivers one snapshot of BRG and FLT (empty: not that part) and runs the gate.
async fn snapshot(db: &Db, seq: i64, brg: &str, flt: &str, day: &str) {
    let mut csv = String::from(SNAP_HEAD);
    for (sku, qty) in [("100-BRG", brg), ("100-FLT", flt)] {
        if !qty.is_empty() {
            csv.push_str(&format!("ERP,{seq},{sku},{qty},{day}\n"));
        }
    }
    assert!(import::<SnapshotRecord>(db, "s.csv", &csv).await.is_clean());
    inventory::process(&db.store, NOW).await.unwrap();
}

async fn scan(db: &Db, id: &str, counted: &str, at: &str) {
    import::<ScanRecord>(db, "scan.csv", &format!("{SCAN_HEAD}{id},GUN-1,BRG,{counted},{at}\n")).await;
    inventory::process(&db.store, NOW).await.unwrap();
}

/// State of the open PM of an asset.
async fn pm_state(db: &Db, asset: &str) -> String {
    let orders = db.store.work_orders(None, Some(asset)).await.unwrap();
    assert_eq!(orders.len(), 1, "{asset}: exactly one work order, never a duplicate: {orders:?}");
    orders[0].state.as_str().to_owned()
}

async fn requests(db: &Db, status: &str) -> Vec<ProcurementRow> {
    db.store.procurement_requests(Some(status)).await.unwrap()
}

fn nothing(run: &RoutingRun) -> bool {
    (run.requests_raised, run.requests_closed, run.orders_held, run.orders_released, run.skipped) == (0, 0, 0, 0, 0)
}

pub async fn a_resized_request_states_the_figures_of_its_new_quantity(db: Db) {
    plant(&db).await;
    snapshot(&db, 2, "10", "", "2026-10-02").await;
    route(&db.store, RouteScope::All, NOW + 1).await.unwrap();
    let open = requests(&db, "OPEN").await;
    assert_eq!(open[0].reason, "available stock 10 is below the reorder point 18.75; ordering up to max 28.12");
    // Thresholds pushed by an optimiser raise max to 40: the open request grows to 40 − 10.
    let pushed = cmms_store::thresholds::ReceivedThresholds {
        part_id: "BRG".into(),
        sequence_id: 1_000,
        limits: [15.0, 20.0, 40.0],
        current_stock: 10.0,
        sync_timestamp: NOW,
        client_id: None,
        received_by: None,
    };
    db.store.receive_thresholds(&pushed, NOW + 2).await.unwrap();
    let run = route(&db.store, RouteScope::Parts(vec!["BRG".into()]), NOW + 3).await.unwrap();
    assert_eq!(run.requests_resized, 1, "{run:?}");
    let resized = requests(&db, "OPEN").await;
    assert_eq!((resized[0].id, resized[0].quantity), (open[0].id, 30.0));
    assert_eq!(resized[0].reason, "available stock 10 is below the reorder point 20; ordering up to max 40");
}

pub async fn short_part_raises_one_request_and_holds_its_pms_until_stock_recovers(db: Db) {
    plant(&db).await;
    // BRG falls to 10 (a drop its consumption explains): below the reorder point 18.75.
    snapshot(&db, 2, "10", "", "2026-10-02").await;
    assert_eq!(db.store.stock("BRG").await.unwrap().unwrap().on_hand, 10.0);
    let run = route(&db.store, RouteScope::All, NOW + 1).await.unwrap();
    assert_eq!((run.requests_raised, run.orders_held, run.parts_paused), (1, 1, 0), "{run:?}");
    let open = requests(&db, "OPEN").await;
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].part_id.as_str(), open[0].quantity), ("BRG", 18.12), "order up to max: 28.12 − 10");
    assert!(open[0].reason.contains("10") && open[0].reason.contains("18.75"), "{}", open[0].reason);
    assert_eq!(pm_state(&db, "CH-1").await, "MATERIAL_PENDING");
    assert_eq!(pm_state(&db, "PUMP-1").await, "SCHEDULED", "does not need BRG");
    assert_eq!(pm_state(&db, "FAN-1").await, "SCHEDULED", "needs nothing");

    // Routing again changes nothing; the index refuses a second open request outright.
    assert!(nothing(&route(&db.store, RouteScope::All, NOW + 2).await.unwrap()));
    assert!(nothing(&route(&db.store, RouteScope::Parts(vec!["BRG".into()]), NOW + 2).await.unwrap()));
    assert_eq!(db.store.raise_procurement_request("BRG", 1.0, "again", NOW + 2).await.unwrap(), None);
    assert_eq!(requests(&db, "OPEN").await, open);

    // A newer snapshot: BRG back to 30 ≥ 18.75. Routing the part fulfils the request and
    // releases the PM.
    snapshot(&db, 3, "30", "", "2026-10-03").await;
    let run = route(&db.store, RouteScope::Parts(vec!["BRG".into()]), NOW + 3).await.unwrap();
    assert_eq!((run.requests_closed, run.orders_released, run.requests_raised), (1, 1, 0), "{run:?}");
    assert!(requests(&db, "OPEN").await.is_empty());
    let done = requests(&db, "FULFILLED").await;
    assert_eq!((done.len(), done[0].id, done[0].updated_at), (1, open[0].id, NOW + 3));
    assert_eq!(pm_state(&db, "CH-1").await, "SCHEDULED");
    assert!(nothing(&route(&db.store, RouteScope::All, NOW + 4).await.unwrap()));

    // Falling again raises a new request (the fulfilled one stays in the history, newest first).
    snapshot(&db, 4, "12", "", "2026-10-04").await;
    let run = route(&db.store, RouteScope::Parts(vec!["BRG".into()]), NOW + 5).await.unwrap();
    assert_eq!((run.requests_raised, run.orders_held), (1, 1));
    let all = db.store.procurement_requests(None).await.unwrap();
    assert_eq!(
        all.iter().map(|r| (r.status.as_str(), r.quantity)).collect::<Vec<_>>(),
        [("OPEN", 16.12), ("FULFILLED", 18.12)]
    );
}

pub async fn a_paused_part_changes_nothing_until_released(db: Db) {
    plant(&db).await;
    snapshot(&db, 2, "10", "", "2026-10-02").await;
    // A count that disagrees with system stock pauses BRG before routing sees the shortage.
    scan(&db, "S1", "6", "2026-10-02T08:00:00Z").await;
    assert!(db.store.stock("BRG").await.unwrap().unwrap().paused_reason.is_some());
    let run = route(&db.store, RouteScope::All, NOW + 1).await.unwrap();
    assert!(nothing(&run), "{run:?}");
    assert_eq!(run.parts_paused, 1);
    assert!(requests(&db, "OPEN").await.is_empty());
    assert_eq!(pm_state(&db, "CH-1").await, "SCHEDULED");

    // The operator accepts the count (stock 6): routing resumes for BRG.
    accept_scan(&db.store, "S1", NOW + 2).await.unwrap();
    let run = route(&db.store, RouteScope::Parts(vec!["BRG".into()]), NOW + 2).await.unwrap();
    assert_eq!((run.requests_raised, run.orders_held, run.parts_paused), (1, 1, 0), "{run:?}");
    assert_eq!(requests(&db, "OPEN").await[0].quantity, 22.12);
    assert_eq!(pm_state(&db, "CH-1").await, "MATERIAL_PENDING");

    // Paused again while short, then stock recovers: the request stays open, the PM held.
    scan(&db, "S2", "41", "2026-10-03T08:00:00Z").await;
    snapshot(&db, 3, "40", "", "2026-10-03").await;
    let run = route(&db.store, RouteScope::All, NOW + 3).await.unwrap();
    assert!(nothing(&run), "{run:?}");
    assert_eq!(requests(&db, "OPEN").await.len(), 1);
    assert_eq!(pm_state(&db, "CH-1").await, "MATERIAL_PENDING");

    // A matching count releases the pause: fulfilled and released.
    scan(&db, "S3", "40", "2026-10-03T09:00:00Z").await;
    assert!(db.store.stock("BRG").await.unwrap().unwrap().paused_reason.is_none());
    let run = route(&db.store, RouteScope::All, NOW + 4).await.unwrap();
    assert_eq!((run.requests_closed, run.orders_released), (1, 1), "{run:?}");
    assert_eq!(pm_state(&db, "CH-1").await, "SCHEDULED");
    assert_eq!(pm_state(&db, "PUMP-1").await, "SCHEDULED");
}

pub async fn only_open_scheduled_or_released_pms_are_held(db: Db) {
    plant(&db).await;
    // PUMP-1's PM is under way, FAN-1's was released; FLT falls to 1 < 2.
    let pump = db.store.work_orders(None, Some("PUMP-1")).await.unwrap()[0].id;
    pm::apply_action(&db.store, pump, WoAction::Release, "test", NOW).await.unwrap();
    pm::apply_action(&db.store, pump, WoAction::Start, "test", NOW).await.unwrap();
    let ch = db.store.work_orders(None, Some("CH-1")).await.unwrap()[0].id;
    pm::apply_action(&db.store, ch, WoAction::Release, "test", NOW).await.unwrap();
    snapshot(&db, 2, "", "1", "2026-10-02").await;
    let run = route(&db.store, RouteScope::Parts(vec!["FLT".into()]), NOW + 1).await.unwrap();
    assert_eq!((run.requests_raised, run.orders_held, run.work_orders), (1, 1, 1), "{run:?}");
    assert_eq!(requests(&db, "OPEN").await[0].quantity, 2.0, "order up to max 3");
    assert_eq!(pm_state(&db, "CH-1").await, "MATERIAL_PENDING", "held from RELEASED");
    assert_eq!(pm_state(&db, "PUMP-1").await, "IN_PROGRESS", "work under way is not held");
    // Released back to SCHEDULED, not RELEASED, as the state machine says.
    snapshot(&db, 3, "", "5", "2026-10-03").await;
    route(&db.store, RouteScope::All, NOW + 2).await.unwrap();
    assert_eq!(pm_state(&db, "CH-1").await, "SCHEDULED");
}

pub async fn concurrent_runs_raise_one_request_and_move_each_pm_once(db: Db) {
    plant(&db).await;
    snapshot(&db, 2, "10", "1", "2026-10-02").await;
    let runs = route_concurrently(&db).await;
    let sum = |f: fn(&RoutingRun) -> u64| runs.iter().map(f).sum::<u64>();
    assert_eq!(sum(|r| r.requests_raised), 2, "one per short part: {runs:?}");
    assert_eq!(sum(|r| r.orders_held), 2, "CH-1 and PUMP-1, once each: {runs:?}");
    assert_eq!(requests(&db, "OPEN").await.len(), 2);
    assert_eq!(pm_state(&db, "CH-1").await, "MATERIAL_PENDING");
    assert_eq!(pm_state(&db, "PUMP-1").await, "MATERIAL_PENDING");
    assert_eq!(pm_state(&db, "FAN-1").await, "SCHEDULED");
}

/// Four routing runs at once, each over every part.
async fn route_concurrently(db: &Db) -> Vec<RoutingRun> {
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let store = db.store.clone();
            tokio::spawn(async move { route(&store, RouteScope::All, NOW + i).await.unwrap() })
        })
        .collect();
    let mut runs = Vec::new();
    for t in tasks {
        runs.push(t.await.unwrap());
    }
    runs
}

/// A cycle runs the stages of its scope, in order: the gate alone applies what was staged and
/// routes nothing; `Route` adds routing; `Recompute` recomputes thresholds and PM intervals first.
pub async fn the_cycle_runs_the_stages_of_its_scope(db: Db) {
    plant(&db).await;
    let csv = format!("{SNAP_HEAD}ERP,2,100-BRG,10,2026-10-02\n");
    assert!(import::<SnapshotRecord>(&db, "s.csv", &csv).await.is_clean());
    let as_of = parse_timestamp(AS_OF).unwrap();

    let gate = cycle(&db.store, as_of, NOW + 1, CycleScope::Gate).await.unwrap();
    assert_eq!(gate.gate.snapshots_applied, 1);
    assert!(gate.thresholds.is_none() && gate.intervals.is_none() && gate.routing.is_none());
    assert!(requests(&db, "OPEN").await.is_empty(), "the gate alone routes nothing");

    let routed = cycle(&db.store, as_of, NOW + 2, CycleScope::Route).await.unwrap();
    assert_eq!(routed.gate.snapshots_applied, 0, "nothing is left staged");
    assert!(routed.thresholds.is_none() && routed.intervals.is_none());
    assert_eq!(routed.routing.map(|r| r.requests_raised), Some(1), "BRG is below its reorder point");

    let full = cycle(&db.store, as_of, NOW + 3, CycleScope::Recompute(RecomputeScope::All)).await.unwrap();
    let (th, intervals, routing) = (full.thresholds.unwrap(), full.intervals.unwrap(), full.routing.unwrap());
    assert_eq!((th.scope, th.full), (RecomputeScope::All, true));
    assert_eq!(intervals.assets, 3);
    assert_eq!(routing.requests_raised, 0, "the open request stands");
    assert_eq!(requests(&db, "OPEN").await.len(), 1);
}

/// After a feed import, routing looks at the parts whose stock or pause the gate changed (a
/// snapshot's part here), not at every part; with nothing staged it routes no part at all.
pub async fn the_import_cycle_routes_the_parts_the_gate_changed(db: Db) {
    plant(&db).await;
    let csv = format!("{SNAP_HEAD}ERP,2,100-BRG,10,2026-10-02\n");
    assert!(import::<SnapshotRecord>(&db, "s.csv", &csv).await.is_clean());
    let as_of = parse_timestamp(AS_OF).unwrap();

    let routed = cycle(&db.store, as_of, NOW + 1, CycleScope::RouteTouched).await.unwrap();
    assert_eq!(routed.gate.touched.iter().collect::<Vec<_>>(), ["BRG"]);
    let run = routed.routing.unwrap();
    assert_eq!((run.requests_raised, run.orders_held), (1, 1), "BRG is short; CH-1 needs it: {run:?}");
    assert_eq!(pm_state(&db, "CH-1").await, "MATERIAL_PENDING");

    let again = cycle(&db.store, as_of, NOW + 2, CycleScope::RouteTouched).await.unwrap();
    assert!(again.gate.touched.is_empty());
    assert_eq!(again.routing.map(|r| r.parts), Some(0), "nothing staged, nothing routed");
}
