//! Corrections over HTTP: voiding and restoring accepted events, with scopes and error codes.

use crate::{App, assert_error, load_reliability, spawn_app};
use cmms_core::auth::Scope;
use cmms_core::corrections::{VoidFeed, event_key};
use cmms_store::testing::Db;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn consumption(id: &str, qty: f64) -> Value {
    json!({"event_id": id, "source": "ERP", "external_sku": "10004711", "quantity": qty, "consumed_at": "2026-11-01T08:00:00Z"})
}

async fn on_hand(app: &App, part: &str) -> Value {
    let (_, parts) = app.get("/api/v1/parts", Scope::Read).await;
    parts.as_array().unwrap().iter().find(|p| p["part_id"] == part).unwrap()["on_hand"].clone()
}

/// Void and restore of a consumption event: operate scope only, recorded with the token's name,
/// 404 / 409 / 400 / 422 with stable codes, the list with who and why; a re-delivery of the voided
/// event stays a duplicate.
pub async fn consumption_is_voided_and_restored_over_http(db: Db) {
    let app = spawn_app(db).await;
    let (s, r) = app
        .post("/api/v1/ingest/consumption", Scope::Ingest, json!([consumption("E-1", 2.0), consumption("E-2", 5000.0)]))
        .await;
    assert_eq!((s, r["accepted"].as_u64()), (StatusCode::OK, Some(2)), "{r}");

    let body = json!({"source": "ERP", "event_id": "E-2", "reason": "ERP reversal R-77"});
    for scope in [Scope::Ingest, Scope::Read] {
        let (s, b) = app.post("/api/v1/events/void", scope, body.clone()).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    let (s, v) = app.post("/api/v1/events/void", Scope::Operate, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["record"]["feed"], "consumption", "{v}");
    assert_eq!(v["record"]["voided_by"], "operate", "the token's name: {v}");
    assert_eq!(v["record"]["reason"], "ERP reversal R-77");
    assert_eq!(v["parts"], json!(["BRG-6204"]));
    let key = event_key(VoidFeed::Consumption, "ERP", "E-2").unwrap();
    assert!(app.db.store.find_event(&key).await.unwrap().unwrap().voided);

    let (s, b) = app.post("/api/v1/events/void", Scope::Operate, body.clone()).await;
    assert_error(s, &b, StatusCode::CONFLICT, "ALREADY_VOIDED");
    assert_eq!(b["error"]["details"]["void"]["reason"], "ERP reversal R-77", "{b}");
    let (s, b) = app
        .post("/api/v1/events/void", Scope::Operate, json!({"source": "ERP", "event_id": "E-404", "reason": "x"}))
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "UNKNOWN_EVENT");
    let (s, b) = app
        .post("/api/v1/events/void", Scope::Operate, json!({"source": "E R P", "event_id": "E-1", "reason": "x"}))
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_EVENT_KEY");
    let (s, b) = app
        .post("/api/v1/events/void", Scope::Operate, json!({"source": "ERP", "event_id": "E-1", "reason": " "}))
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "REASON_REQUIRED");
    let (s, b) = app
        .post(
            "/api/v1/events/void",
            Scope::Operate,
            json!({"feed": "scans", "source": "ERP", "event_id": "E-1", "reason": "x"}),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "UNKNOWN_FEED");
    let (s, b) = app.post("/api/v1/events/void", Scope::Operate, json!({"source": "ERP", "event_id": "E-1"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a missing reason is a missing field: {b}");

    // The ERP sends the reversed event again: a duplicate, and it stays voided.
    let (s, r) = app.post("/api/v1/ingest/consumption", Scope::Ingest, json!([consumption("E-2", 5000.0)])).await;
    assert_eq!((s, r["results"][0]["status"].as_str()), (StatusCode::OK, Some("duplicate")), "{r}");
    assert!(app.db.store.find_event(&key).await.unwrap().unwrap().voided);

    let (s, list) = app.get("/api/v1/events/voids", Scope::Read).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!((&list[0]["event_id"], &list[0]["voided_by"]), (&json!("E-2"), &json!("operate")));

    let restore = json!({"source": "ERP", "event_id": "E-2", "reason": "reversal withdrawn"});
    let (s, b) = app.post("/api/v1/events/restore", Scope::Read, restore.clone()).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "FORBIDDEN");
    let (s, r) = app.post("/api/v1/events/restore", Scope::Operate, restore.clone()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (&r["record"]["restored_by"], &r["record"]["restore_reason"]),
        (&json!("operate"), &json!("reversal withdrawn"))
    );
    assert!(!app.db.store.find_event(&key).await.unwrap().unwrap().voided);
    let (s, b) = app.post("/api/v1/events/restore", Scope::Operate, restore).await;
    assert_error(s, &b, StatusCode::CONFLICT, "NOT_VOIDED");
    let (s, b) =
        app.post("/api/v1/events/restore", Scope::Operate, json!({"source": "ERP", "event_id": "E-404"})).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "UNKNOWN_EVENT");

    let (_, in_force) = app.get("/api/v1/events/voids", Scope::Read).await;
    assert_eq!(in_force, json!([]), "only voids in force by default");
    let (_, all) = app.get("/api/v1/events/voids?all=true", Scope::Read).await;
    assert_eq!(all[0]["restored_by"], "operate", "{all}");
    let (s, b) = app.get("/api/v1/events/voids?limit=0", Scope::Read).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_QUERY");
}

/// A key stored in two feeds needs the feed; a failure event is named with its asset.
pub async fn an_ambiguous_key_needs_the_feed(db: Db) {
    let app = spawn_app(db).await;
    load_reliability(&app.db).await;
    // A consumption event whose source and id equal a failure event's asset and id (its SKU
    // maps to nothing: stored, held in quarantine).
    let ev = json!([{"event_id": "F-001", "source": "CHILLER-01", "external_sku": "X-1", "quantity": 1, "consumed_at": "2026-11-01T08:00:00Z"}]);
    let (s, r) = app.post("/api/v1/ingest/consumption", Scope::Ingest, ev).await;
    assert_eq!((s, r["quarantined"].as_u64()), (StatusCode::OK, Some(1)), "{r}");

    let body = json!({"source": "CHILLER-01", "event_id": "F-001", "reason": "duplicate log entry"});
    let (s, b) = app.post("/api/v1/events/void", Scope::Operate, body).await;
    assert_error(s, &b, StatusCode::CONFLICT, "AMBIGUOUS_EVENT");
    assert_eq!(b["error"]["details"]["feeds"], json!(["consumption", "failures"]), "{b}");
    let body =
        json!({"feed": "failures", "source": "CHILLER-01", "event_id": "F-001", "reason": "duplicate log entry"});
    let (s, v) = app.post("/api/v1/events/void", Scope::Operate, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["record"]["feed"], &v["assets"], &v["parts"]),
        (&json!("failures"), &json!(["CHILLER-01"]), &json!([]))
    );
}

/// Voiding the applied snapshot a part's stock came from: the stock falls back at once (the gate
/// and routing run before the answer); the restore passes it through the gate again.
pub async fn a_voided_snapshot_gives_the_stock_back(db: Db) {
    let app = spawn_app(db).await;
    let snap = |seq: i64, qty: f64, at: &str| json!({"source": "ERP", "sequence_id": seq, "external_sku": "10004711", "on_hand": qty, "observed_at": at});
    let (s, r) =
        app.post("/api/v1/ingest/inventory", Scope::Ingest, json!([snap(1, 5.0, "2026-11-01T00:00:00Z")])).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (s, r) =
        app.post("/api/v1/ingest/inventory", Scope::Ingest, json!([snap(9, 8.0, "2026-11-02T00:00:00Z")])).await;
    assert_eq!((s, r["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{r}");
    // Sequence 5 comes after the (bogus) 9: refused as stale.
    let (_, r) =
        app.post("/api/v1/ingest/inventory", Scope::Ingest, json!([snap(5, 7.0, "2026-11-03T00:00:00Z")])).await;
    assert_eq!(r["results"][0]["code"], "STALE", "{r}");
    assert_eq!(on_hand(&app, "BRG-6204").await, json!(8.0));

    let body = json!({"source": "ERP", "event_id": "10004711/9", "reason": "sequence jumped"});
    let (s, v) = app.post("/api/v1/events/void", Scope::Operate, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((&v["record"]["feed"], &v["parts"]), (&json!("inventory"), &json!(["BRG-6204"])));
    assert_eq!(on_hand(&app, "BRG-6204").await, json!(7.0), "sequence 5, refused before, is applied now");

    let (s, r) =
        app.post("/api/v1/events/restore", Scope::Operate, json!({"source": "ERP", "event_id": "10004711/9"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(on_hand(&app, "BRG-6204").await, json!(8.0), "sequence 9 is newer than 5: applied again");
}
