//! Every endpoint's success and failure paths.

use crate::{App, assert_error, instant_ms, load_reliability, spawn_app, sync_payload};
use cmms_core::auth::Scope;
use cmms_store::testing::Db;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every protected route with the scope it needs and a body that would be acceptable.
fn protected() -> Vec<(Method, &'static str, Scope, Option<Value>)> {
    let put = sync_payload("BRG-6204", 1, 1.0, 2.0, 3.0);
    vec![
        (Method::POST, "/api/v1/ingest/{feed}", Scope::Ingest, Some(json!([]))),
        (Method::PUT, "/api/v1/inventory/thresholds/{part_id}", Scope::Ingest, Some(put)),
        (Method::POST, "/api/v1/inventory/thresholds/{part_id}/approve", Scope::Operate, None),
        (Method::GET, "/api/v1/parts", Scope::Read, None),
        (Method::GET, "/api/v1/parts/{part_id}/thresholds", Scope::Read, None),
        (Method::POST, "/api/v1/parts/{part_id}/held-snapshot/accept", Scope::Operate, None),
        (Method::GET, "/api/v1/alerts", Scope::Read, None),
        (Method::GET, "/api/v1/quarantine", Scope::Read, None),
        (Method::POST, "/api/v1/quarantine/{id}/resolve", Scope::Operate, Some(json!({"part_id": "BRG-6204"}))),
        (Method::POST, "/api/v1/scans/{scan_id}/accept", Scope::Operate, None),
        (Method::GET, "/api/v1/dlq", Scope::Read, None),
        (Method::POST, "/api/v1/dlq/{id}/replay", Scope::Operate, None),
        (Method::GET, "/api/v1/dlq/{id}", Scope::Read, None),
        (Method::POST, "/api/v1/dlq/replay", Scope::Operate, Some(json!({"all": true}))),
        (Method::GET, "/api/v1/work-orders", Scope::Read, None),
        (Method::POST, "/api/v1/work-orders/{id}/transition", Scope::Operate, Some(json!({"action": "release"}))),
        (Method::POST, "/api/v1/work-orders/{id}/complete", Scope::Operate, Some(json!({}))),
        (
            Method::POST,
            "/api/v1/work-orders/{id}/correct-completion",
            Scope::Operate,
            Some(json!({"completed_at": "2026-11-01T00:00:00Z", "reason": "typo"})),
        ),
        (Method::GET, "/api/v1/assets/{asset_id}/pm", Scope::Read, None),
        (Method::GET, "/api/v1/procurement-requests", Scope::Read, None),
        (
            Method::POST,
            "/api/v1/events/void",
            Scope::Operate,
            Some(json!({"source": "ERP", "event_id": "E-1", "reason": "x"})),
        ),
        (Method::POST, "/api/v1/events/restore", Scope::Operate, Some(json!({"source": "ERP", "event_id": "E-1"}))),
        (Method::GET, "/api/v1/events/voids", Scope::Read, None),
        (Method::GET, "/api/v1/backtest", Scope::Read, None),
    ]
}

fn concrete(path: &str) -> String {
    path.replace("{feed}", "consumption")
        .replace("{part_id}", "BRG-6204")
        .replace("{asset_id}", "CHILLER-01")
        .replace("{scan_id}", "S-1")
        .replace("{id}", "1")
}

/// A scope that does not allow `required`.
fn wrong(required: Scope) -> Scope {
    match required {
        Scope::Ingest => Scope::Read,
        Scope::Read | Scope::Operate | Scope::Admin => Scope::Ingest,
    }
}

pub async fn every_protected_route_needs_a_token_with_its_scope(db: Db) {
    let app = spawn_app(db).await;
    let routes = protected();
    // The list covers exactly the routes of the OpenAPI document, so a new route cannot be missed.
    let (status, doc) = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let tested: BTreeSet<(String, String)> = routes.iter().map(|(m, p, _, _)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, tested, "every documented route is tested for 401/403, and only those");

    for (method, path, scope, body) in routes {
        let url = concrete(path);
        let (s, b) = app.call(method.clone(), &url, None, body.clone()).await;
        assert_error(s, &b, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
        let resp = app
            .client
            .request(method.clone(), format!("{}{url}", app.base))
            .bearer_auth("cmms_0000000000000000000000000000000000000000000000000000000000000000")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{method} {url} with an unknown token");
        let (s, b) = app.call(method.clone(), &url, Some(wrong(scope)), body.clone()).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "FORBIDDEN");
        // The admin scope is allowed everywhere: whatever the answer, it is not an auth refusal.
        let (s, _) = app.call(method.clone(), &url, Some(Scope::Admin), body).await;
        assert!(s != StatusCode::UNAUTHORIZED && s != StatusCode::FORBIDDEN, "{method} {url}: admin got {s}");
    }
    // A token revoked in the store (as by `cmms token revoke` in another process) is refused
    // once the server's short trust in its last verification has passed.
    cmms_pipeline::auth::revoke_token(&app.db.store, "read", 2).await.unwrap();
    tokio::time::sleep(cmms_server::auth::TOKEN_CACHE_TTL + std::time::Duration::from_millis(100)).await;
    let (s, b) = app.get("/api/v1/parts", Scope::Read).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    // Health and metrics are open (for load balancers and scrapers).
    let (s, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, metrics) = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(metrics.as_str().unwrap().contains("cmms_http_requests_total"), "{metrics}");
}

pub async fn threshold_put_follows_the_seed_contract(db: Db) {
    let app = spawn_app(db).await;
    let put = |body: Value, part: &'static str| {
        let app = &app;
        async move {
            app.call(Method::PUT, &format!("/api/v1/inventory/thresholds/{part}"), Some(Scope::Ingest), Some(body))
                .await
        }
    };
    let (s, b) = put(sync_payload("BRG-6204", 5, 4.0, 5.0, 7.5), "BRG-6204").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["sequence_id"], 5);
    let (s, b) = put(sync_payload("BRG-6204", 5, 4.0, 5.0, 7.5), "BRG-6204").await;
    assert_error(s, &b, StatusCode::CONFLICT, "SEQUENCE_CONFLICT");
    assert_eq!(b["error"]["details"]["sequence_in_force"], 5);
    let (s, b) = put(sync_payload("BRG-6204", 4, 1.0, 2.0, 3.0), "BRG-6204").await;
    assert_error(s, &b, StatusCode::CONFLICT, "SEQUENCE_CONFLICT");
    let (s, _) = put(sync_payload("BRG-6204", 6, 6.0, 7.5, 11.25), "BRG-6204").await;
    assert_eq!(s, StatusCode::OK);

    for (body, code) in [
        (sync_payload("BRG-6204", 7, -1.0, 2.0, 3.0), "NEGATIVE_THRESHOLD"),
        (sync_payload("BRG-6204", 7, 1.0, 2.0, 1e308), "IMPLAUSIBLE_QUANTITY"),
        (sync_payload("BRG-6204", 7, 1.0, 2.0, 1_000_000_001.0), "IMPLAUSIBLE_QUANTITY"),
        (sync_payload("BRG-6204", 7, 3.0, 2.0, 4.0), "THRESHOLD_ORDER"),
        (sync_payload("BRG-6204", 7, 1.0, 5.0, 4.0), "THRESHOLD_ORDER"),
        (sync_payload("FLT-AHU-592", 7, 1.0, 2.0, 3.0), "PART_ID_MISMATCH"),
    ] {
        let (s, b) = put(body, "BRG-6204").await;
        assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    let mut bad_sum = sync_payload("BRG-6204", 7, 1.0, 2.0, 3.0);
    bad_sum["checksum"] = json!("0".repeat(64));
    let (s, b) = put(bad_sum, "BRG-6204").await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "BAD_CHECKSUM");
    let mut extra = sync_payload("BRG-6204", 7, 1.0, 2.0, 3.0);
    extra["surprise"] = json!(1);
    let (s, b) = put(extra, "BRG-6204").await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD");
    let (s, b) = put(sync_payload("NOPE", 1, 1.0, 2.0, 3.0), "NOPE").await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "UNKNOWN_PART");

    // The thresholds in force and the history say what was received; refusals changed nothing.
    let (_, parts) = app.get("/api/v1/parts", Scope::Read).await;
    let brg = parts.as_array().unwrap().iter().find(|p| p["part_id"] == "BRG-6204").unwrap();
    assert_eq!(
        (brg["min"].as_f64(), brg["reorder"].as_f64(), brg["max"].as_f64()),
        (Some(6.0), Some(7.5), Some(11.25))
    );
    assert_eq!((brg["basis"].as_str(), brg["sequence_id"].as_i64()), (Some("RECEIVED"), Some(6)));
    let (_, history) = app.get("/api/v1/parts/BRG-6204/thresholds", Scope::Read).await;
    let seqs: Vec<i64> = history.as_array().unwrap().iter().map(|h| h["sequence_id"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![6, 5]);
}

/// The hardening issue's reproduction: 1e308 and 1.7e308 units pushed to the consumption webhook
/// were accepted and then stopped every recompute. Now they are refused records naming the field,
/// the good record of the same request lands, and recompute completes for every part.
pub async fn implausible_webhook_values_never_stop_recompute(db: Db) {
    let app = spawn_app(db).await;
    let ev = |id: &str, qty: Value| json!({"event_id": id, "source": "ERP", "external_sku": "10004711", "quantity": qty, "consumed_at": "2026-11-01T08:00:00Z"});
    let batch = json!([ev("HUGE-1", json!(1e308)), ev("HUGE-2", json!(1.7e308)), ev("OK-1", json!(3))]);
    let (s, r) = app.post("/api/v1/ingest/consumption", Scope::Ingest, batch).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let statuses: Vec<&str> = r["results"].as_array().unwrap().iter().map(|x| x["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["rejected", "rejected", "accepted"], "{r}");
    for i in 0..2 {
        let reason = r["results"][i]["reason"].as_str().unwrap();
        assert!(reason.contains(&format!("$[{i}].quantity")) && reason.contains("at most 1000000000"), "{reason}");
    }
    let snapshot = json!([{"source": "ERP", "sequence_id": 1, "external_sku": "10004711", "on_hand": 1e308, "observed_at": "2026-11-01T08:00:00Z"}]);
    let (s, r) = app.post("/api/v1/ingest/inventory", Scope::Ingest, snapshot).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "every record refused: {r}");
    let as_of = cmms_core::time::parse_timestamp("2026-12-01T00:00:00Z").unwrap();
    let run = cmms_pipeline::thresholds::recompute_thresholds_in(
        &app.db.store,
        as_of,
        1,
        cmms_pipeline::thresholds::RecomputeScope::All,
    )
    .await
    .expect("recompute completes");
    assert!(run.part_errors.is_empty(), "{:?}", run.part_errors);
    assert!(run.by_status.get("OK").is_some_and(|&n| n >= 1), "{run:?}");
}

pub async fn ingestion_answers_record_by_record(db: Db) {
    let app = spawn_app(db).await;
    let ev = |id: &str, sku: &str, qty: Value| json!({"event_id": id, "source": "ERP", "external_sku": sku, "quantity": qty, "consumed_at": "2026-11-01T08:00:00Z"});
    let batch = json!([
        ev("E-1", "10004711", json!(2)),
        ev("E-1", "10004711", json!(2)),
        ev("E-2", "10004711", json!(-1)),
        ev("E-3", "UNKNOWN-SKU", json!(1)),
        {"event_id": "E-4", "source": "ERP", "external_sku": "10004711", "quantity": 1, "consumed_at": "2026-11-01", "extra": 1},
    ]);
    let (s, r) = app.post("/api/v1/ingest/consumption", Scope::Ingest, batch).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let statuses: Vec<&str> = r["results"].as_array().unwrap().iter().map(|x| x["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["accepted", "duplicate", "rejected", "quarantined", "rejected"], "{r}");
    assert!(r["results"][2]["reason"].as_str().unwrap().contains("$[2].quantity"), "{r}");
    assert_eq!(r["results"][3]["code"], "UNMAPPED");
    assert!(r["results"][4]["reason"].as_str().unwrap().contains("$[4].extra: unknown field"), "{r}");
    assert_eq!(
        (r["accepted"].as_u64(), r["rejected"].as_u64(), r["quarantined"].as_u64()),
        (Some(1), Some(2), Some(1))
    );
    // Durable before the answer: the stored rows are there; the unmapped SKU is in quarantine.
    assert_eq!(app.db.store.count_rows("consumption").await.unwrap(), 2);
    let (_, q) = app.get("/api/v1/quarantine", Scope::Read).await;
    assert_eq!(q[0]["external_sku"], "UNKNOWN-SKU", "{q}");

    // A re-delivery with other values is a conflict; one record alone may be an object.
    let (s, r) = app.post("/api/v1/ingest/consumption", Scope::Ingest, ev("E-1", "10004711", json!(3))).await;
    assert_error(s, &r, StatusCode::UNPROCESSABLE_ENTITY, "ALL_RECORDS_REJECTED");
    assert_eq!(r["error"]["details"]["results"][0]["code"], "DUPLICATE_CONFLICT");

    load_reliability(&app.db).await;
    let failures = json!([
        {"event_id": "F-900", "asset_id": "CHILLER-01", "event_type": "UNPLANNED", "started_at": "2026-11-01T04:00:00Z", "ended_at": ""},
        {"event_id": "F-901", "asset_id": "NO-SUCH-ASSET", "event_type": "UNPLANNED", "started_at": "2026-11-01T04:00:00Z"},
        {"event_id": "F-902", "asset_id": "CHILLER-01", "event_type": "EXPLODED", "started_at": "2026-11-01T04:00:00Z"},
        {"event_id": "F-903", "asset_id": "CHILLER-01", "event_type": "UNPLANNED", "started_at": "2026-11-01T05:00:00Z", "component": "COMPRESSOR"},
        {"event_id": "F-904", "asset_id": "CHILLER-01", "event_type": "UNPLANNED", "started_at": "2026-11-01T05:00:00Z", "component": "fan blade"},
    ]);
    let (s, r) = app.post("/api/v1/ingest/failures", Scope::Ingest, failures).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["results"][0]["status"], "accepted", "{r}");
    assert_eq!(r["results"][1]["code"], "UNKNOWN_REFERENCE");
    assert!(r["results"][2]["reason"].as_str().unwrap().contains("event_type"), "{r}");
    assert_eq!(r["results"][3]["status"], "accepted", "{r}");
    assert!(r["results"][4]["reason"].as_str().unwrap().contains("component"), "{r}");
    let log = app.db.store.failure_histories(&["CHILLER-01".to_owned()]).await.unwrap();
    let tagged: Vec<_> = log["CHILLER-01"].iter().filter_map(|r| r.component.as_ref().map(|c| c.as_str())).collect();
    assert_eq!(tagged, ["COMPRESSOR"]);
    let reading = json!({"asset_id": "PUMP-P3", "mtbf_hours": 120.5, "observed_at": "2026-11-02T00:00:00Z"});
    let (s, r) = app.post("/api/v1/ingest/mtbf_readings", Scope::Ingest, reading.clone()).await;
    assert_eq!((s, r["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{r}");
    let (_, r) = app.post("/api/v1/ingest/mtbf_readings", Scope::Ingest, reading).await;
    assert_eq!(r["duplicate"], 1, "{r}");
}

pub async fn snapshots_pass_the_gate_before_the_answer(db: Db) {
    let app = spawn_app(db).await;
    let snap = |seq: i64, sku: &str, qty: f64| json!({"source": "ERP", "sequence_id": seq, "external_sku": sku, "on_hand": qty, "observed_at": "2026-11-01T06:00:00Z"});
    let (s, r) = app.post("/api/v1/ingest/inventory", Scope::Ingest, snap(10, "10004711", 14.0)).await;
    assert_eq!((s, r["results"][0]["status"].as_str()), (StatusCode::OK, Some("accepted")), "{r}");
    let (_, r) = app.post("/api/v1/ingest/inventory", Scope::Ingest, snap(10, "10004711", 14.0)).await;
    assert_eq!(r["results"][0]["status"], "duplicate", "{r}");
    let (_, r) = app.post("/api/v1/ingest/inventory", Scope::Ingest, snap(9, "10004711", 20.0)).await;
    assert_eq!(
        (r["results"][0]["status"].as_str(), r["results"][0]["code"].as_str()),
        (Some("duplicate"), Some("STALE"))
    );
    let (_, r) = app.post("/api/v1/ingest/inventory", Scope::Ingest, snap(1, "NOT-MAPPED", 1.0)).await;
    assert_eq!(r["results"][0]["status"], "quarantined", "{r}");
    let (_, parts) = app.get("/api/v1/parts", Scope::Read).await;
    let brg = parts.as_array().unwrap().iter().find(|p| p["part_id"] == "BRG-6204").unwrap();
    assert_eq!(brg["on_hand"].as_f64(), Some(14.0), "the stale snapshot changed nothing");

    // A scan that disagrees pauses the part; accepting it through the API releases it.
    let scan = json!({"scan_id": "S-9", "scanner_id": "GUN-1", "code": "BRG-6204", "counted_qty": 3, "scanned_at": "2026-11-01T07:00:00Z"});
    let (_, r) = app.post("/api/v1/ingest/scans", Scope::Ingest, scan).await;
    assert_eq!(
        (r["results"][0]["status"].as_str(), r["results"][0]["code"].as_str()),
        (Some("accepted"), Some("DISCREPANCY"))
    );
    let (_, alerts) = app.get("/api/v1/alerts", Scope::Read).await;
    assert!(alerts.as_array().unwrap().iter().any(|a| a["kind"] == "SCAN_DISCREPANCY"), "{alerts}");
    let (s, r) = app.post("/api/v1/scans/S-9/accept", Scope::Operate, json!(null)).await;
    assert_eq!((s, r["part_id"].as_str()), (StatusCode::OK, Some("BRG-6204")), "{r}");
    let (s, r) = app.post("/api/v1/scans/S-9/accept", Scope::Operate, json!(null)).await;
    assert_error(s, &r, StatusCode::CONFLICT, "NOT_APPLICABLE");
    let (s, r) = app.post("/api/v1/scans/S-404/accept", Scope::Operate, json!(null)).await;
    assert_error(s, &r, StatusCode::NOT_FOUND, "UNKNOWN_SCAN");
    let (s, r) = app.post("/api/v1/scans/..%2Fx/accept", Scope::Operate, json!(null)).await;
    assert_error(s, &r, StatusCode::BAD_REQUEST, "INVALID_ID");
    let (_, parts) = app.get("/api/v1/parts", Scope::Read).await;
    let brg = parts.as_array().unwrap().iter().find(|p| p["part_id"] == "BRG-6204").unwrap();
    assert_eq!((brg["on_hand"].as_f64(), brg["paused_reason"].as_str()), (Some(3.0), None));
}

pub async fn read_endpoints_answer(db: Db) {
    let app = spawn_app(db).await;
    load_reliability(&app.db).await;
    let now = jiff::Timestamp::now();
    cmms_pipeline::pm::recompute_intervals(&app.db.store, now, now.as_millisecond()).await.unwrap();
    let (s, wos) = app.get("/api/v1/work-orders?state=SCHEDULED", Scope::Read).await;
    assert_eq!(s, StatusCode::OK);
    assert!(wos.as_array().unwrap().iter().any(|w| w["asset_id"] == "CHILLER-01"), "{wos}");
    let (s, r) = app.get("/api/v1/work-orders?state=NAPPING", Scope::Read).await;
    assert_error(s, &r, StatusCode::BAD_REQUEST, "INVALID_QUERY");
    let (s, pm) = app.get("/api/v1/assets/CHILLER-01/pm", Scope::Read).await;
    assert_eq!(s, StatusCode::OK, "{pm}");
    assert_eq!(pm["interval"]["asset_id"], "CHILLER-01");
    assert_eq!(pm["work_orders"].as_array().unwrap().len(), 1);
    let (s, r) = app.get("/api/v1/assets/NOPE/pm", Scope::Read).await;
    assert_error(s, &r, StatusCode::NOT_FOUND, "UNKNOWN_ASSET");
    let (s, r) = app.get("/api/v1/assets/bad%20id/pm", Scope::Read).await;
    assert_error(s, &r, StatusCode::BAD_REQUEST, "INVALID_ID");
    for path in [
        "/api/v1/parts",
        "/api/v1/parts?below_reorder=true",
        "/api/v1/alerts",
        "/api/v1/quarantine?all=true",
        "/api/v1/dlq",
        "/api/v1/procurement-requests",
    ] {
        let (s, r) = app.get(path, Scope::Read).await;
        assert_eq!(s, StatusCode::OK, "{path}: {r}");
        assert!(r.is_array(), "{path}: {r}");
    }
    let (_, parts) = app.get("/api/v1/parts", Scope::Read).await;
    assert_eq!(parts.as_array().unwrap().len(), 4);
}

pub async fn operate_endpoints_succeed_and_refuse(db: Db) {
    let app = spawn_app(db).await;
    load_reliability(&app.db).await;
    let now = jiff::Timestamp::now();
    cmms_pipeline::pm::recompute_intervals(&app.db.store, now, now.as_millisecond()).await.unwrap();
    let (_, wos) = app.get("/api/v1/work-orders?asset_id=CHILLER-01", Scope::Read).await;
    let id = wos[0]["id"].as_i64().unwrap();
    let tr = |action: &str| json!({ "action": action });
    let (s, r) = app.post(&format!("/api/v1/work-orders/{id}/transition"), Scope::Operate, tr("start")).await;
    assert_error(s, &r, StatusCode::CONFLICT, "ILLEGAL_TRANSITION");
    assert!(r["error"]["message"].as_str().unwrap().contains("release"), "the allowed actions are named: {r}");
    let (s, r) = app.post(&format!("/api/v1/work-orders/{id}/transition"), Scope::Operate, tr("nap")).await;
    assert_error(s, &r, StatusCode::UNPROCESSABLE_ENTITY, "UNKNOWN_ACTION");
    let (s, r) = app.post("/api/v1/work-orders/999999/transition", Scope::Operate, tr("release")).await;
    assert_error(s, &r, StatusCode::NOT_FOUND, "UNKNOWN_WORK_ORDER");
    for action in ["release", "start"] {
        let (s, r) = app.post(&format!("/api/v1/work-orders/{id}/transition"), Scope::Operate, tr(action)).await;
        assert_eq!(s, StatusCode::OK, "{r}");
    }
    let actors = app.db.store.column_texts("work_order_events", "actor").await.unwrap();
    assert!(actors.iter().filter(|a| *a == "operate").count() >= 2, "the token's name is recorded: {actors:?}");
    // Completing before the completion this PM follows would move the schedule backwards: 422.
    let early = json!({"completed_at": "2026-01-01T00:00:00Z"});
    let (s, r) = app.post(&format!("/api/v1/work-orders/{id}/complete"), Scope::Operate, early).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    let done = json!({"completed_at": "2026-11-15T09:00:00+01:00"});
    let (s, r) = app.post(&format!("/api/v1/work-orders/{id}/complete"), Scope::Operate, done.clone()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["completed"]["state"], "COMPLETED");
    assert_eq!(r["next"]["state"], "SCHEDULED");
    assert!(instant_ms(&r["next"]["due_at"]) > instant_ms(&r["completed"]["completed_at"]), "{r}");
    let (s, r) = app.post(&format!("/api/v1/work-orders/{id}/complete"), Scope::Operate, done).await;
    assert_error(s, &r, StatusCode::CONFLICT, "ILLEGAL_TRANSITION");

    // Quarantine resolve: unknown entry, unknown part, success, then already resolved.
    let unmapped = json!({"event_id": "Q-1", "source": "WMS", "external_sku": "odd-sku", "quantity": 1, "consumed_at": "2026-11-01T00:00:00Z"});
    app.post("/api/v1/ingest/consumption", Scope::Ingest, unmapped).await;
    let (_, q) = app.get("/api/v1/quarantine", Scope::Read).await;
    let qid = q[0]["id"].as_i64().unwrap();
    let (s, r) = app.post("/api/v1/quarantine/999999/resolve", Scope::Operate, json!({"part_id": "BRG-6204"})).await;
    assert_error(s, &r, StatusCode::NOT_FOUND, "UNKNOWN_QUARANTINE_ENTRY");
    let (s, r) =
        app.post(&format!("/api/v1/quarantine/{qid}/resolve"), Scope::Operate, json!({"part_id": "NOPE"})).await;
    assert_error(s, &r, StatusCode::UNPROCESSABLE_ENTITY, "UNKNOWN_PART");
    let (s, r) =
        app.post(&format!("/api/v1/quarantine/{qid}/resolve"), Scope::Operate, json!({"part_id": "BRG-6204"})).await;
    assert_eq!((s, r["consumption_mapped"].as_u64()), (StatusCode::OK, Some(1)), "{r}");
    let (s, r) =
        app.post(&format!("/api/v1/quarantine/{qid}/resolve"), Scope::Operate, json!({"part_id": "BRG-6204"})).await;
    assert_error(s, &r, StatusCode::CONFLICT, "ALREADY_RESOLVED");

    let (s, r) = app.post("/api/v1/inventory/thresholds/BRG-6204/approve", Scope::Operate, json!(null)).await;
    assert_error(s, &r, StatusCode::CONFLICT, "NOTHING_TO_APPROVE");
    let (s, r) = app.post("/api/v1/parts/BRG-6204/held-snapshot/accept", Scope::Operate, json!(null)).await;
    assert_error(s, &r, StatusCode::CONFLICT, "NOT_APPLICABLE");
    for action in ["inventory/thresholds/NOPE/approve", "parts/NOPE/held-snapshot/accept"] {
        let (s, r) = app.post(&format!("/api/v1/{action}"), Scope::Operate, json!(null)).await;
        assert_error(s, &r, StatusCode::NOT_FOUND, "UNKNOWN_PART");
    }
}

pub async fn bad_requests_get_json_errors(db: Db) {
    let app = spawn_app(db).await;
    let raw = |method: Method, path: &str, body: &'static str| {
        app.client
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(app.token(Scope::Admin))
            .header("content-type", "application/json")
            .body(body)
    };
    let resp = raw(Method::POST, "/api/v1/ingest/consumption", "{not json").send().await.unwrap();
    let (s, b): (StatusCode, Value) = (resp.status(), resp.json().await.unwrap());
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_JSON");
    let resp = raw(Method::POST, "/api/v1/ingest/consumption", "42").send().await.unwrap();
    let (s, b): (StatusCode, Value) = (resp.status(), resp.json().await.unwrap());
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    let resp = app
        .client
        .post(format!("{}/api/v1/ingest/consumption", app.base))
        .bearer_auth(app.token(Scope::Admin))
        .body("[]")
        .send()
        .await
        .unwrap();
    let (s, b): (StatusCode, Value) = (resp.status(), resp.json().await.unwrap());
    assert_error(s, &b, StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
    let (s, b) = app.post("/api/v1/ingest/nonsense", Scope::Admin, json!([])).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_PATH");
    // Master data has no webhook: refused as an unknown feed, naming the feeds that have one.
    let (s, b) = app.post("/api/v1/ingest/sites", Scope::Admin, json!([])).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_PATH");
    let feeds = "expected one of `inventory`, `consumption`, `scans`, `failures`, `mtbf_readings`";
    let message = b["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("unknown variant `sites`, {feeds}")), "{b}");
    let (s, b) = app.post("/api/v1/work-orders/abc/transition", Scope::Admin, json!({"action": "release"})).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_PATH");
    let (s, b) = app.get("/api/v1/nowhere", Scope::Admin).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "NOT_FOUND");
    let (s, b) = app.call(Method::DELETE, "/api/v1/parts", Some(Scope::Admin), None).await;
    assert_error(s, &b, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    let (s, b) = app.get("/api/v1/parts?below_reorder=maybe", Scope::Admin).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_QUERY");
    // Bodies over the limit are refused with 413 and a JSON error, batches over 10,000 records too.
    let big = format!("[{}]", vec!["{}"; 20_000].join(",")) + &" ".repeat(cmms_server::BODY_LIMIT_BYTES);
    let resp = app
        .client
        .post(format!("{}/api/v1/ingest/consumption", app.base))
        .bearer_auth(app.token(Scope::Admin))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (s, b): (StatusCode, Value) = (resp.status(), resp.json().await.unwrap());
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE");
    let many: Vec<Value> = (0..10_001).map(|_| json!({})).collect();
    let (s, b) = app.post("/api/v1/ingest/consumption", Scope::Admin, Value::Array(many)).await;
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "BATCH_TOO_LARGE");
}

pub async fn dead_letters_replay_once(db: Db) {
    let app: App = spawn_app(db).await;
    app.db
        .store
        .execute_raw(
            "INSERT INTO outbox (target, part_id, sequence_id, payload, status, attempts, next_attempt_at, created_at) \
             VALUES ('erp', 'BRG-6204', 3, '{}', 'DEAD', 3, 0, 0); \
             INSERT INTO dead_letters (outbox_id, target, part_id, payload, reason, created_at) \
             SELECT id, 'erp', 'BRG-6204', '{}', 'HTTP 500 three times', 0 FROM outbox",
        )
        .await
        .unwrap();
    let (_, dlq) = app.get("/api/v1/dlq", Scope::Read).await;
    let id = dlq[0]["id"].as_i64().unwrap();
    assert_eq!(dlq[0]["reason"], "HTTP 500 three times");
    let (s, r) = app.post(&format!("/api/v1/dlq/{id}/replay"), Scope::Operate, json!(null)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["outbox_id"].as_i64().unwrap() > 0);
    let (s, r) = app.post(&format!("/api/v1/dlq/{id}/replay"), Scope::Operate, json!(null)).await;
    assert_error(s, &r, StatusCode::CONFLICT, "ALREADY_REPLAYED");
    let (s, r) = app.post("/api/v1/dlq/999999/replay", Scope::Operate, json!(null)).await;
    assert_error(s, &r, StatusCode::NOT_FOUND, "UNKNOWN_DEAD_LETTER");
    let (_, pending) = app.get("/api/v1/dlq", Scope::Read).await;
    assert_eq!(pending.as_array().unwrap().len(), 0, "a replayed letter leaves the default list");
    assert_eq!(app.db.store.count_rows("outbox").await.unwrap(), 2);
}
