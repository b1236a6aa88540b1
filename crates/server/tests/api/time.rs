//! Implausible instants over HTTP: the threshold PUT and the five webhooks refuse timestamps
//! outside 1970 … now + 1 day or with offsets beyond ±18:00; a completion later than now + the
//! tolerance is refused, and a wrong completion can be corrected, rescheduling the next PM.

use crate::{App, assert_error, instant_ms, load_reliability, spawn_app, sync_payload};
use cmms_core::auth::Scope;
use cmms_core::time::TimeWindow;
use cmms_store::testing::Db;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Timestamps jiff parses that no input should carry.
const ABSURD: [&str; 3] = ["0000-01-01T00:00:00Z", "9999-12-30T00:00:00Z", "2026-11-20T10:00:00+25:00"];

/// One record of each feed, with `at` in its time field; (feed, record, field).
fn records(i: usize, at: &str) -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "inventory",
            json!({"source": "ERP", "sequence_id": 500 + i, "external_sku": "10004711", "on_hand": 9, "observed_at": at}),
            "observed_at",
        ),
        (
            "consumption",
            json!({"event_id": format!("T-{i}"), "source": "ERP", "external_sku": "10004711", "quantity": 1, "consumed_at": at}),
            "consumed_at",
        ),
        (
            "scans",
            json!({"scan_id": format!("TS-{i}"), "scanner_id": "GUN-07", "code": "BRG-6204", "counted_qty": 9, "scanned_at": at}),
            "scanned_at",
        ),
        (
            "failures",
            json!({"event_id": format!("TF-{i}"), "asset_id": "CHILLER-01", "event_type": "UNPLANNED", "started_at": at}),
            "started_at",
        ),
        ("mtbf_readings", json!({"asset_id": "CHILLER-01", "mtbf_hours": 100, "observed_at": at}), "observed_at"),
    ]
}

pub async fn absurd_timestamps_are_refused_on_the_put_and_every_webhook(db: Db) {
    let app = spawn_app(db).await;
    for (i, at) in ABSURD.into_iter().enumerate() {
        let mut body = sync_payload("BRG-6204", 10 + i as i64, 1.0, 2.0, 3.0);
        body["sync_timestamp"] = json!(at);
        let (s, r) =
            app.call(Method::PUT, "/api/v1/inventory/thresholds/BRG-6204", Some(Scope::Ingest), Some(body)).await;
        let code = if at.ends_with("+25:00") { "INVALID_TIMESTAMP" } else { "TIMESTAMP_OUT_OF_RANGE" };
        assert_error(s, &r, StatusCode::UNPROCESSABLE_ENTITY, code);
        assert!(r["error"]["message"].as_str().unwrap().starts_with("sync_timestamp: "), "{at}: {r}");
        for (feed, record, field) in records(i, at) {
            let (s, r) = app.post(&format!("/api/v1/ingest/{feed}"), Scope::Ingest, json!([record])).await;
            assert_error(s, &r, StatusCode::UNPROCESSABLE_ENTITY, "ALL_RECORDS_REJECTED");
            let reason = r["error"]["details"]["results"][0]["reason"].as_str().unwrap_or_default();
            assert!(reason.starts_with(&format!("$[0].{field}: ")), "{feed} {at}: {r}");
        }
    }
    // The same records and payload with a plausible time are accepted: only the time was wrong.
    let mut body = sync_payload("BRG-6204", 20, 1.0, 2.0, 3.0);
    body["sync_timestamp"] = json!("2026-11-20T10:00:00+14:00");
    let (s, r) = app.call(Method::PUT, "/api/v1/inventory/thresholds/BRG-6204", Some(Scope::Ingest), Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    for (feed, record, _) in records(0, "2026-11-20T10:00:00Z") {
        let (s, r) = app.post(&format!("/api/v1/ingest/{feed}"), Scope::Ingest, json!([record])).await;
        assert_eq!((s, r["rejected"].as_u64()), (StatusCode::OK, Some(0)), "{feed}: {r}");
    }
}

async fn in_progress_pm(app: &App) -> i64 {
    load_reliability(&app.db).await;
    let now = jiff::Timestamp::now();
    cmms_pipeline::pm::recompute_intervals(&app.db.store, now, now.as_millisecond()).await.unwrap();
    let (_, wos) = app.get("/api/v1/work-orders?asset_id=CHILLER-01", Scope::Read).await;
    let id = wos[0]["id"].as_i64().unwrap();
    for action in ["release", "start"] {
        let (s, r) =
            app.post(&format!("/api/v1/work-orders/{id}/transition"), Scope::Operate, json!({"action": action})).await;
        assert_eq!(s, StatusCode::OK, "{r}");
    }
    id
}

pub async fn a_completion_in_the_future_is_refused(db: Db) {
    let app = spawn_app(db).await;
    let id = in_progress_pm(&app).await;
    let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(150)).to_string();
    for at in ["2062-01-01T00:00:00Z", "9000-01-01T00:00:00Z", soon.as_str(), "1969-07-20T20:17:00Z"] {
        let (s, r) =
            app.post(&format!("/api/v1/work-orders/{id}/complete"), Scope::Operate, json!({"completed_at": at})).await;
        assert_error(s, &r, StatusCode::UNPROCESSABLE_ENTITY, "TIMESTAMP_OUT_OF_RANGE");
        assert!(r["error"]["message"].as_str().unwrap().starts_with("completed_at: "), "{r}");
    }
    // Within the tolerance (clock skew) is fine.
    let skewed = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(30)).to_string();
    let (s, r) =
        app.post(&format!("/api/v1/work-orders/{id}/complete"), Scope::Operate, json!({"completed_at": skewed})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
}

pub async fn a_wrong_completion_is_corrected_and_the_next_pm_rescheduled(db: Db) {
    let app = spawn_app(db).await;
    let id = in_progress_pm(&app).await;
    // A completion dated 2062, stored as the service accepted it before completion times were
    // checked.
    let wrong = cmms_core::time::parse_timestamp("2062-11-15T09:00:00+01:00").unwrap();
    let lax = TimeWindow::new(jiff::Timestamp::now(), jiff::SignedDuration::from_hours(24 * 365 * 100));
    let now = jiff::Timestamp::now().as_millisecond();
    let (_, next) = cmms_pipeline::pm::complete(&app.db.store, id, wrong, lax, "legacy", now).await.unwrap();
    let url = format!("/api/v1/work-orders/{id}/correct-completion");
    let real = "2026-11-15T09:00:00+01:00";
    let body = json!({"completed_at": real, "reason": "year typed as 2062"});
    let (s, r) = app.post(&url, Scope::Read, body.clone()).await;
    assert_error(s, &r, StatusCode::FORBIDDEN, "FORBIDDEN");
    let (s, r) = app.post(&url, Scope::Operate, json!({"completed_at": "2063-01-01", "reason": "x"})).await;
    assert_error(s, &r, StatusCode::UNPROCESSABLE_ENTITY, "TIMESTAMP_OUT_OF_RANGE");
    let (s, r) = app.post(&url, Scope::Operate, json!({"completed_at": real})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the reason is required: {r}");
    let (s, r) =
        app.post(&format!("/api/v1/work-orders/{}/correct-completion", next.id), Scope::Operate, body.clone()).await;
    assert_error(s, &r, StatusCode::CONFLICT, "NOT_COMPLETED");

    let (s, r) = app.post(&url, Scope::Operate, body).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let real_ms = cmms_core::time::parse_timestamp(real).unwrap().as_millisecond();
    // RFC 3339 in the site's offset (CHILLER-01 is in Berlin): the completion reads as entered.
    assert_eq!(r["corrected"]["completed_at"], real, "{r}");
    assert_eq!((r["next"]["id"].as_i64(), r["next_rescheduled"].as_bool()), (Some(next.id), Some(true)), "{r}");
    let due = instant_ms(&r["next"]["due_at"]);
    assert!(due > real_ms && due < next.due_at, "moved back to one interval after {real}: {r}");
    let reasons = app.db.store.column_texts("work_order_events", "reason").await.unwrap();
    assert!(reasons.iter().any(|t| t.ends_with(": year typed as 2062")), "{reasons:?}");
    let actors = app.db.store.column_texts("work_order_events", "actor").await.unwrap();
    assert!(actors.iter().any(|a| a == "operate"), "{actors:?}");

    // The next PM can now be completed today (before: COMPLETION_BEFORE_SCHEDULE).
    for action in ["release", "start"] {
        let path = format!("/api/v1/work-orders/{}/transition", next.id);
        assert_eq!(app.post(&path, Scope::Operate, json!({"action": action})).await.0, StatusCode::OK);
    }
    let (s, r) = app.post(&format!("/api/v1/work-orders/{}/complete", next.id), Scope::Operate, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
}

pub async fn the_dashboard_corrects_a_completion(db: Db) {
    use crate::dashboard::{act, page, sign_in};
    let app = spawn_app(db).await;
    let id = in_progress_pm(&app).await;
    let wrong = cmms_core::time::parse_timestamp("2062-11-15T09:00:00+01:00").unwrap();
    let lax = TimeWindow::new(jiff::Timestamp::now(), jiff::SignedDuration::from_hours(24 * 365 * 100));
    let now = jiff::Timestamp::now().as_millisecond();
    let (_, next) = cmms_pipeline::pm::complete(&app.db.store, id, wrong, lax, "legacy", now).await.unwrap();
    let path = format!("/ui/work-orders/{id}/correct-completion");
    let read = sign_in(&app, Scope::Read).await;
    let (_, html) = page(&app, &read, "/work-orders").await;
    assert!(!html.contains(&path), "a read token sees no correction form: {html}");
    let operate = sign_in(&app, Scope::Operate).await;
    let (_, html) = page(&app, &operate, "/work-orders").await;
    assert!(html.contains(&path), "{html}");
    let html = act(&app, &operate, &path, &[("completed_at", "2063-01-01"), ("reason", "typo")]).await;
    assert!(html.contains("class=\"flash err\"") && html.contains("is in the future"), "{html}");
    let form = [("completed_at", "2026-11-15T09:00:00+01:00"), ("reason", "year typed as 2062")];
    let html = act(&app, &operate, &path, &form).await;
    assert!(
        html.contains(&format!("Completion of work order {id} corrected; next PM {} rescheduled", next.id)),
        "{html}"
    );
    let moved = app.db.store.work_order(next.id).await.unwrap().unwrap();
    assert!(moved.due_at < next.due_at, "moved back from 2062");
    let actors = app.db.store.column_texts("work_order_events", "actor").await.unwrap();
    assert!(actors.iter().any(|a| a == "operate"), "{actors:?}");
}
