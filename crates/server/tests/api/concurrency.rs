//! Routing over HTTP, and 16 concurrent clients delivering the same shuffled, duplicated stream
//! of snapshots: the end state equals one in-order delivery, with one procurement request per
//! short part and no duplicate work orders.

use crate::{App, load_reliability, spawn_app, sync_payload};
use cmms_core::auth::Scope;
use cmms_pipeline::feed::{self, Feed};
use cmms_pipeline::import::Quiet;
use cmms_store::testing::{Db, TestDb};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// (external SKU, part, reorder limits (min, reorder, max)) of the routed parts.
const PARTS: [(&str, &str, [f64; 3]); 4] = [
    ("10004711", "BRG-6204", [4.0, 5.0, 7.5]),
    ("10004712", "FLT-AHU-592", [12.0, 15.0, 22.5]),
    ("SEAL-35", "SEAL-MECH-35", [2.0, 3.0, 6.0]),
    ("BLT-1250", "BLT-SPA-1250", [2.0, 2.5, 3.75]),
];

/// Maps the extra SKUs, gives every part thresholds, schedules the PMs and records consumption
/// that explains any stock drop (so no snapshot is held as implausible, whatever the order).
async fn prepare(app: &App) {
    let dir =
        std::env::temp_dir().join(format!("cmms-api-{}-{}", std::process::id(), app.base.replace([':', '/', '.'], "")));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sku_map.csv");
    std::fs::write(&file, "source,external_sku,part_id\nERP,SEAL-35,SEAL-MECH-35\nERP,BLT-1250,BLT-SPA-1250\n")
        .unwrap();
    let r =
        feed::import(&app.db.store, Feed::SkuMap, feed::File { path: &file, observer: &mut Quiet }, 1).await.unwrap();
    assert!(r.is_clean(), "{r:?}");
    let _ = std::fs::remove_dir_all(&dir);
    for (_, part, [min, reorder, max]) in PARTS {
        let (s, b) = app
            .call(
                Method::PUT,
                &format!("/api/v1/inventory/thresholds/{part}"),
                Some(Scope::Ingest),
                Some(sync_payload(part, 1, min, reorder, max)),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    load_reliability(&app.db).await;
    let now = jiff::Timestamp::now();
    cmms_pipeline::pm::recompute_intervals(&app.db.store, now, now.as_millisecond()).await.unwrap();
    let events: Vec<Value> = PARTS
        .iter()
        .flat_map(|(sku, _, _)| {
            (0..5).map(move |d| {
                json!({"event_id": format!("U-{sku}-{d}"), "source": "ERP", "external_sku": sku, "quantity": 20,
                       "consumed_at": format!("2026-11-0{}T12:00:00Z", 5 + d)})
            })
        })
        .collect();
    let (s, b) = app.post("/api/v1/ingest/consumption", Scope::Ingest, Value::Array(events)).await;
    assert_eq!((s, b["accepted"].as_u64()), (StatusCode::OK, Some(20)), "{b}");
}

/// A small deterministic generator (tests need no randomness crate).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// The in-order stream: 12 snapshots per SKU wandering between 0 and 40, ending with two parts
/// short (BRG-6204 at 2, SEAL-MECH-35 at 1) and two not.
fn stream() -> Vec<Value> {
    let finals = [2.0, 30.0, 1.0, 3.0];
    let mut rng = Lcg(7);
    let mut out = Vec::new();
    for seq in 1..=12 {
        for (i, (sku, _, _)) in PARTS.iter().enumerate() {
            let on_hand = if seq == 12 { finals[i] } else { rng.next(41) as f64 };
            out.push(json!({"source": "ERP", "sequence_id": seq, "external_sku": sku, "on_hand": on_hand,
                            "observed_at": format!("2026-11-10T06:{seq:02}:00Z")}));
        }
    }
    out
}

/// What must be equal after any delivery order: stock, open requests, work orders. (Requests
/// raised and fulfilled on the way depend on which intermediate snapshots a delivery applied —
/// one that skipped a dip never saw it — so closed ones are history, not state.)
async fn state(app: &App) -> Value {
    let (_, parts) = app.get("/api/v1/parts", Scope::Read).await;
    let stock: BTreeMap<String, Value> = parts
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["part_id"].as_str().unwrap().to_owned(), json!([p["on_hand"], p["paused_reason"]])))
        .collect();
    let (_, requests) = app.get("/api/v1/procurement-requests?status=OPEN", Scope::Read).await;
    let mut requests: Vec<Value> =
        requests.as_array().unwrap().iter().map(|r| json!([r["part_id"], r["status"], r["quantity"]])).collect();
    requests.sort_by_key(|r| r.to_string());
    let (_, orders) = app.get("/api/v1/work-orders", Scope::Read).await;
    let mut orders: Vec<Value> = orders
        .as_array()
        .unwrap()
        .iter()
        .map(|o| json!([o["asset_id"], o["plan_id"], o["state"], o["due_at"]]))
        .collect();
    orders.sort_by_key(|o| o.to_string());
    json!({"stock": stock, "requests": requests, "work_orders": orders})
}

pub async fn routing_follows_stock_over_http(db: Db) {
    let app = spawn_app(db).await;
    prepare(&app).await;
    let snap = |seq: i64, qty: f64| {
        json!({"source": "ERP", "sequence_id": seq, "external_sku": "10004711", "on_hand": qty,
               "observed_at": format!("2026-11-10T06:{seq:02}:00Z")})
    };
    app.post("/api/v1/ingest/inventory", Scope::Ingest, snap(1, 20.0)).await;
    let (_, r) = app.get("/api/v1/procurement-requests", Scope::Read).await;
    assert_eq!(r, json!([]), "stock above reorder: nothing to order");
    app.post("/api/v1/ingest/inventory", Scope::Ingest, snap(2, 3.0)).await;
    let (_, r) = app.get("/api/v1/procurement-requests?status=OPEN", Scope::Read).await;
    // Order up to max 7.5 from 3: 4.5, in whole units (EA) 5 — the received limits stay as sent.
    assert_eq!((r[0]["part_id"].as_str(), r[0]["quantity"].as_f64()), (Some("BRG-6204"), Some(5.0)), "{r}");
    let (_, wos) = app.get("/api/v1/work-orders?asset_id=CHILLER-01", Scope::Read).await;
    assert_eq!(wos[0]["state"], "MATERIAL_PENDING", "{wos}");
    // Falling further resizes the open request instead of raising a second one.
    app.post("/api/v1/ingest/inventory", Scope::Ingest, snap(3, 1.0)).await;
    let (_, r) = app.get("/api/v1/procurement-requests", Scope::Read).await;
    assert_eq!((r.as_array().unwrap().len(), r[0]["quantity"].as_f64()), (1, Some(7.0)), "6.5 in whole units: {r}");
    // Recovery fulfils it and releases the PM.
    app.post("/api/v1/ingest/inventory", Scope::Ingest, snap(4, 12.0)).await;
    let (_, r) = app.get("/api/v1/procurement-requests", Scope::Read).await;
    assert_eq!(r[0]["status"], "FULFILLED", "{r}");
    let (_, wos) = app.get("/api/v1/work-orders?asset_id=CHILLER-01", Scope::Read).await;
    assert_eq!(wos[0]["state"], "SCHEDULED", "{wos}");
    // Lowering the reorder point over the threshold endpoint routes too.
    app.post("/api/v1/ingest/inventory", Scope::Ingest, snap(5, 4.0)).await;
    let (_, r) = app.get("/api/v1/procurement-requests?status=OPEN", Scope::Read).await;
    assert_eq!(r.as_array().unwrap().len(), 1, "{r}");
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/inventory/thresholds/BRG-6204",
            Some(Scope::Ingest),
            Some(sync_payload("BRG-6204", 2, 1.0, 2.0, 3.0)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, r) = app.get("/api/v1/procurement-requests?status=OPEN", Scope::Read).await;
    assert_eq!(r, json!([]), "stock 4 is above the new reorder point 2");
}

pub async fn sixteen_clients_converge_to_the_in_order_state(db: Db) {
    let backend = db.store.backend();
    let app = spawn_app(db).await;
    prepare(&app).await;
    let in_order = stream();

    let mut clients = Vec::new();
    for c in 0..16u64 {
        let mut rng = Lcg(1000 + c);
        let mut mine = in_order.clone();
        for _ in 0..in_order.len() * 2 / 5 {
            mine.push(in_order[rng.next(in_order.len() as u64) as usize].clone());
        }
        for i in (1..mine.len()).rev() {
            mine.swap(i, rng.next(i as u64 + 1) as usize);
        }
        let (client, base, token) = (app.client.clone(), app.base.clone(), app.token(Scope::Ingest).to_owned());
        clients.push(tokio::spawn(async move {
            let mut rest = mine.as_slice();
            while !rest.is_empty() {
                let n = (1 + rng.next(4) as usize).min(rest.len());
                let (batch, tail) = rest.split_at(n);
                rest = tail;
                let resp = client
                    .post(format!("{base}/api/v1/ingest/inventory"))
                    .bearer_auth(&token)
                    .json(&Value::Array(batch.to_vec()))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), StatusCode::OK, "{}", resp.text().await.unwrap());
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }

    // The same stream once, in order, on a fresh store of the same backend.
    let reference_db = TestDb::new(backend).await;
    let reference = spawn_app(Db { store: reference_db.store.clone(), url: reference_db.url.clone() }).await;
    prepare(&reference).await;
    for snapshot in &in_order {
        let (s, b) = reference.post("/api/v1/ingest/inventory", Scope::Ingest, snapshot.clone()).await;
        assert_eq!((s, b["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{b}");
    }
    let (got, want) = (state(&app).await, state(&reference).await);
    drop(reference);
    reference_db.cleanup().await;

    // Due dates depend on when each store computed them only through `now`; compare without them.
    let strip = |mut v: Value| {
        for o in v["work_orders"].as_array_mut().unwrap() {
            o.as_array_mut().unwrap().pop();
        }
        v
    };
    assert_eq!(strip(got.clone()), strip(want), "16 shuffled concurrent deliveries differ from one in-order delivery");
    let open: Vec<&Value> = got["requests"].as_array().unwrap().iter().collect();
    assert_eq!(open.len(), 2, "one open request per short part: {got}");
    // 7.5 − 2 = 5.5, in whole units (EA) 6.
    assert_eq!((open[0][0].as_str(), open[0][2].as_f64()), (Some("BRG-6204"), Some(6.0)), "order up to max: {got}");
    assert_eq!(got["stock"]["BRG-6204"][0].as_f64(), Some(2.0));
    assert_eq!(got["stock"]["SEAL-MECH-35"][0].as_f64(), Some(1.0));
    let mut open_orders: BTreeMap<String, usize> = BTreeMap::new();
    for o in got["work_orders"].as_array().unwrap() {
        if !["COMPLETED", "CANCELLED"].contains(&o[2].as_str().unwrap()) {
            *open_orders.entry(o[0].as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    assert!(open_orders.values().all(|n| *n == 1), "no duplicate open work orders: {open_orders:?}");
    assert_eq!(open_orders.len(), 2, "{got}");
    let chiller = got["work_orders"].as_array().unwrap().iter().find(|o| o[0] == "CHILLER-01").unwrap();
    assert_eq!(chiller[2], "MATERIAL_PENDING", "{got}");
}
