//! The dashboard over HTTP: sign-in with a token, every page, the plots, and an action.

use crate::{App, load_reliability, spawn_app, sync_payload};
use cmms_core::auth::Scope;
use cmms_store::testing::Db;
use reqwest::{Method, StatusCode, header};
use serde_json::json;

/// A client that does not follow redirects, so the tests see them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn sign_in(app: &App, scope: Scope) -> String {
    let resp = browser().post(format!("{}/login", app.base)).form(&[("token", app.token(scope))]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

async fn page(app: &App, cookie: &str, path: &str) -> (StatusCode, String) {
    let resp = browser().get(format!("{}{path}", app.base)).header(header::COOKIE, cookie).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// A site with a short part, a drift-free threshold history, a quarantined SKU and PMs.
async fn populate(app: &App) {
    load_reliability(&app.db).await;
    let now = jiff::Timestamp::now();
    cmms_pipeline::pm::recompute_intervals(&app.db.store, now, now.as_millisecond()).await.unwrap();
    let put = sync_payload("BRG-6204", 1, 4.0, 5.0, 7.5);
    app.call(Method::PUT, "/api/v1/inventory/thresholds/BRG-6204", Some(Scope::Ingest), Some(put)).await;
    let day = |d: i64| (now - jiff::SignedDuration::from_hours(24 * d)).to_string();
    let events: Vec<_> = (1..20)
        .map(|d| json!({"event_id": format!("D-{d}"), "source": "ERP", "external_sku": "10004711", "quantity": 1, "consumed_at": day(d)}))
        .chain([json!({"event_id": "D-X", "source": "WMS", "external_sku": "mystery", "quantity": 1, "consumed_at": day(1)})])
        .collect();
    app.post("/api/v1/ingest/consumption", Scope::Ingest, json!(events)).await;
    for (seq, qty) in [(1, 12.0), (2, 3.0)] {
        let snap = json!({"source": "ERP", "sequence_id": seq, "external_sku": "10004711", "on_hand": qty, "observed_at": day(3 - seq)});
        let (s, r) = app.post("/api/v1/ingest/inventory", Scope::Ingest, snap).await;
        assert_eq!(r["accepted"], 1, "{s} {r}");
    }
}

pub async fn dashboard_pages_render_and_act(db: Db) {
    let app = spawn_app(db).await;
    populate(&app).await;

    // Without a session every page sends the person to sign in; a bad token is refused.
    let (s, _) = page(&app, "cmms_token=nope", "/parts").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let resp = browser().post(format!("{}/login", app.base)).form(&[("token", "cmms_bad")]).send().await.unwrap();
    assert_eq!(resp.headers()[header::LOCATION], "/login?expired=1");
    let (s, html) = page(&app, "", "/login").await;
    assert!(s == StatusCode::OK && html.contains("cmms token create"), "{html}");

    let read = sign_in(&app, Scope::Read).await;
    let (s, html) = page(&app, &read, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("below reorder") && html.contains("material pending"), "{html}");
    let (_, html) = page(&app, &read, "/parts").await;
    assert!(html.contains("BRG-6204") && html.contains("class=\"hl\""), "the short part is highlighted: {html}");
    let (_, html) = page(&app, &read, "/parts/BRG-6204").await;
    assert!(html.contains("<svg class=\"plot\"") && html.contains("data-series=\"4\""), "stock + 3 limits: {html}");
    assert!(html.contains("daily consumption of BRG-6204") && html.contains("data-series=\"1\""));
    let (_, html) = page(&app, &read, "/procurement").await;
    assert!(html.contains("BRG-6204") && html.contains("OPEN"), "{html}");
    let (_, html) = page(&app, &read, "/work-orders").await;
    assert!(html.contains("id=\"MATERIAL_PENDING\"") && html.contains("CHILLER-01"), "{html}");
    let (_, html) = page(&app, &read, "/calendar").await;
    assert!(html.contains("PLANT-BER (Europe/Berlin)") && html.contains("CAMPUS-SYD (Australia/Sydney)"), "{html}");
    let (_, html) = page(&app, &read, "/assets/CHILLER-01").await;
    assert!(html.contains("failures of CHILLER-01 against MTBF and PM interval"), "{html}");
    assert!(html.contains("stroke-dasharray"), "MTBF / interval lines drawn: {html}");
    for path in ["/alerts", "/dlq", "/assets"] {
        let (s, _) = page(&app, &read, path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
    }
    let (s, _) = page(&app, &read, "/parts/NOPE").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A read token sees no action buttons and may not act.
    let (_, html) = page(&app, &read, "/quarantine").await;
    assert!(html.contains("mystery") && !html.contains("Resolve</button>"), "{html}");
    let (_, q) = app.get("/api/v1/quarantine", Scope::Read).await;
    let id = q[0]["id"].as_i64().unwrap();
    let url = format!("{}/ui/quarantine/{id}/resolve", app.base);
    let resolve = |cookie: String| {
        let url = url.clone();
        async move {
            browser().post(url).header(header::COOKIE, cookie).form(&[("part_id", "BRG-6204")]).send().await.unwrap()
        }
    };
    assert_eq!(resolve(read.clone()).await.status(), StatusCode::FORBIDDEN);

    // An operate token resolves the entry; the page shows the outcome and the queue is empty.
    let operate = sign_in(&app, Scope::Operate).await;
    let (_, html) = page(&app, &operate, "/quarantine").await;
    assert!(html.contains("Resolve</button>"), "{html}");
    let resp = resolve(operate.clone()).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let (_, html) = page(&app, &operate, &location).await;
    assert!(html.contains("mapped to BRG-6204") && html.contains("Nothing here."), "{html}");
    let (_, q) = app.get("/api/v1/quarantine", Scope::Read).await;
    assert_eq!(q, json!([]));

    let resp = browser().post(format!("{}/logout", app.base)).header(header::COOKIE, &operate).send().await.unwrap();
    assert!(resp.headers()[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
}
