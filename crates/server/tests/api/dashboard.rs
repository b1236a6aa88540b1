//! The dashboard over HTTP: sign-in with a token, every page, the plots, and an action.

use crate::{App, instant_ms, load_reliability, spawn_app, spawn_app_with, sync_payload};
use cmms_core::auth::Scope;
use cmms_store::testing::Db;
use reqwest::{Method, StatusCode, header};
use serde_json::json;

/// A client that does not follow redirects, so the tests see them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub(crate) async fn sign_in(app: &App, scope: Scope) -> String {
    let resp = browser().post(format!("{}/login", app.base)).form(&[("token", app.token(scope))]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

pub(crate) async fn page(app: &App, cookie: &str, path: &str) -> (StatusCode, String) {
    let resp = browser().get(format!("{}{path}", app.base)).header(header::COOKIE, cookie).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// The `<tr …>…</tr>` rows of a page that contain `needle`.
fn rows_with<'a>(html: &'a str, needle: &str) -> Vec<&'a str> {
    html.split("<tr").skip(1).map(|r| r.split("</tr>").next().unwrap_or(r)).filter(|r| r.contains(needle)).collect()
}

/// Follows an action's redirect and returns the page it lands on.
pub(crate) async fn act(app: &App, cookie: &str, path: &str, form: &[(&str, &str)]) -> String {
    let resp =
        browser().post(format!("{}{path}", app.base)).header(header::COOKIE, cookie).form(form).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
    let location = resp.headers()[header::LOCATION].to_str().unwrap().to_owned();
    page(app, cookie, &location).await.1
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
    let (s, _) = page(&app, "cmms_session=nope", "/parts").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let resp = browser().post(format!("{}/login", app.base)).form(&[("token", "cmms_bad")]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.text().await.unwrap().contains("not valid"));
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
    assert!(
        html.contains("mapped to BRG-6204: 1 consumption event mapped") && html.contains("Nothing here."),
        "{html}"
    );
    let (_, q) = app.get("/api/v1/quarantine", Scope::Read).await;
    assert_eq!(q, json!([]));

    let resp = browser().post(format!("{}/logout", app.base)).header(header::COOKIE, &operate).send().await.unwrap();
    assert!(resp.headers()[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
}

pub async fn dashboard_shows_site_times_overdue_pms_and_alert_actions(db: Db) {
    let app = spawn_app(db).await;
    populate(&app).await;
    let read = sign_in(&app, Scope::Read).await;
    let operate = sign_in(&app, Scope::Operate).await;

    // The thresholds received just now sit at the plot's right edge: drawn dotted back to its start.
    let (_, html) = page(&app, &read, "/parts/BRG-6204").await;
    assert!(html.contains("<path class=\"before\""), "{html}");
    assert!(html.contains("class=\"legend\""), "{html}");

    // Next due in site time with the zone, not RFC 3339; overdue exactly when past due.
    let now = jiff::Timestamp::now().as_millisecond();
    let (_, pm) = app.get("/api/v1/assets/CHILLER-01/pm", Scope::Read).await;
    let late = pm["work_orders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["state"] != "COMPLETED" && w["state"] != "CANCELLED" && instant_ms(&w["due_at"]) < now);
    let (_, html) = page(&app, &read, "/assets").await;
    let row = rows_with(&html, "/assets/CHILLER-01\"")[0];
    assert!(
        !row.contains("+01:00") && !row.contains("+02:00") && (row.contains(" CET") || row.contains(" CEST")),
        "{row}"
    );
    assert_eq!(row.contains("badge overdue"), late, "{row}");
    let pump = rows_with(&html, "/assets/PUMP-P3\"")[0];
    assert!(pump.contains("no completion recorded yet") && pump.contains("title=\"NO_LAST_COMPLETION\""), "{pump}");
    let (_, html) = page(&app, &read, "/work-orders").await;
    let rows = rows_with(&html, "data-due=");
    assert_eq!(rows.len(), 2, "{html}");
    for r in rows {
        let due: i64 = r.split("data-due=\"").nth(1).and_then(|v| v.split('"').next()).unwrap().parse().unwrap();
        assert_eq!(r.contains("class=\"late\"") && r.contains("badge overdue"), due < now, "{r}");
    }

    // A scan that disagrees: the operator sees a button instead of a CLI command, a reader the command.
    let scan = json!({"scan_id": "S-9", "scanner_id": "GUN-1", "code": "BRG-6204", "counted_qty": 30, "scanned_at": "2026-11-01T07:00:00Z"});
    let (_, r) = app.post("/api/v1/ingest/scans", Scope::Ingest, scan).await;
    assert_eq!(r["results"][0]["code"], "DISCREPANCY", "{r}");
    let (_, html) = page(&app, &read, "/alerts").await;
    assert!(html.contains("`cmms scans accept S-9`") && !html.contains("<button>Accept"), "{html}");
    let (_, html) = page(&app, &operate, "/alerts").await;
    let row = rows_with(&html, "SCAN_DISCREPANCY")[0];
    assert!(row.contains("action=\"/ui/scans/S-9/accept\"") && !row.contains("cmms scans accept"), "{row}");
    let html = act(&app, &operate, "/ui/scans/S-9/accept", &[]).await;
    assert!(html.contains("Count of scan S-9 accepted") && !html.contains("SCAN_DISCREPANCY"), "{html}");
    let html = act(&app, &operate, "/ui/scans/S-9/accept", &[]).await;
    assert!(html.contains("flash err") && html.contains("not a discrepancy"), "{html}");
    let (_, parts) = app.get("/api/v1/parts", Scope::Read).await;
    let brg = parts.as_array().unwrap().iter().find(|p| p["part_id"] == "BRG-6204").unwrap();
    assert_eq!((brg["on_hand"].as_f64(), brg["paused_reason"].as_str()), (Some(30.0), None), "{brg}");

    // A drop nothing explains is held; the operator applies it from the alert.
    let snap = |seq: i64, qty: f64| json!({"source": "ERP", "sequence_id": seq, "external_sku": "10004711", "on_hand": qty, "observed_at": jiff::Timestamp::now().to_string()});
    app.post("/api/v1/ingest/inventory", Scope::Ingest, snap(3, 500.0)).await;
    app.post("/api/v1/ingest/inventory", Scope::Ingest, snap(4, 0.0)).await;
    let (_, html) = page(&app, &operate, "/alerts").await;
    let row = rows_with(&html, "IMPLAUSIBLE_DROP")[0];
    assert!(row.contains("action=\"/ui/parts/BRG-6204/held-snapshot/accept\""), "{row}");
    let html = act(&app, &operate, "/ui/parts/BRG-6204/held-snapshot/accept", &[]).await;
    assert!(html.contains("Held snapshot ERP#4 of BRG-6204 applied") && !html.contains("IMPLAUSIBLE_DROP"), "{html}");
    let (_, parts) = app.get("/api/v1/parts", Scope::Read).await;
    let brg = parts.as_array().unwrap().iter().find(|p| p["part_id"] == "BRG-6204").unwrap();
    assert_eq!(brg["on_hand"].as_f64(), Some(0.0), "{brg}");

    // A reader may not act.
    let resp =
        browser().post(format!("{}/ui/scans/S-9/accept", app.base)).header(header::COOKIE, &read).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

/// Where a POST leads (the redirect's `Location`), without following it.
async fn location(app: &App, cookie: &str, path: &str, form: &[(&str, &str)]) -> String {
    let resp =
        browser().post(format!("{}{path}", app.base)).header(header::COOKIE, cookie).form(form).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
    resp.headers()[header::LOCATION].to_str().unwrap().to_owned()
}

pub async fn dashboard_work_order_actions_follow_the_state_machine_on_a_fixed_clock(db: Db) {
    let as_of: jiff::Timestamp = "2026-11-10T00:00:00Z".parse().unwrap();
    let settings = cmms_server::dashboard::DashboardSettings { as_of: Some(as_of), ..Default::default() };
    let app = spawn_app_with(db, cmms_server::ServeOptions::default(), settings).await;
    populate(&app).await;
    let read = sign_in(&app, Scope::Read).await;
    let operate = sign_in(&app, Scope::Operate).await;

    // Overdue is judged against the dashboard's today, not the clock.
    let (_, html) = page(&app, &read, "/work-orders").await;
    let rows = rows_with(&html, "data-due=");
    let real_now = jiff::Timestamp::now().as_millisecond();
    let mut past_by_the_clock = 0;
    for r in &rows {
        let due: i64 = r.split("data-due=\"").nth(1).and_then(|v| v.split('"').next()).unwrap().parse().unwrap();
        assert_eq!(r.contains("badge overdue"), due < as_of.as_millisecond(), "{r}");
        past_by_the_clock += usize::from(due < real_now);
        assert!(!r.contains("/confirm?action="), "a reader gets no action buttons: {r}");
    }
    assert!(past_by_the_clock > html.matches("badge overdue\">overdue</span></td>").count(), "{html}");

    // The operator sees exactly the actions the state allows, each behind a confirmation.
    let (_, orders) = app.get("/api/v1/work-orders?asset_id=AHU-07", Scope::Read).await;
    let ahu = &orders[0];
    assert_eq!(ahu["state"], "SCHEDULED", "{orders}");
    let id = ahu["id"].as_i64().unwrap();
    let (_, html) = page(&app, &operate, "/work-orders").await;
    let row = rows_with(&html, "/assets/AHU-07\"")[0];
    for action in ["release", "hold_for_material", "cancel"] {
        assert!(row.contains(&format!("/work-orders/{id}/confirm?action={action}\"")), "{action}: {row}");
    }
    assert!(!row.contains("action=start") && !row.contains("action=complete"), "{row}");
    let (s, html) = page(&app, &operate, &format!("/work-orders/{id}/confirm?action=release")).await;
    assert!(s == StatusCode::OK && html.contains("SCHEDULED → RELEASED"), "{html}");
    assert!(html.contains(&format!("action=\"/ui/work-orders/{id}/transition\"")), "{html}");
    let (s, _) = page(&app, &operate, &format!("/work-orders/{id}/confirm?action=start")).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "an action the state does not allow is not offered");
    let (s, _) = page(&app, &read, &format!("/work-orders/{id}/confirm?action=release")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Release, start, complete at the default time (the dashboard's today in Sydney).
    let post = format!("/ui/work-orders/{id}/transition");
    let html = act(&app, &operate, &post, &[("action", "release")]).await;
    assert!(html.contains("Release done, now RELEASED"), "{html}");
    let html = act(&app, &operate, &post, &[("action", "start")]).await;
    assert!(html.contains("now IN_PROGRESS"), "{html}");
    let (_, html) = page(&app, &operate, &format!("/work-orders/{id}/confirm?action=complete")).await;
    assert!(html.contains("type=\"datetime-local\" name=\"completed_at\" value=\"2026-11-10T11:00\""), "{html}");
    assert!(html.contains("site time, Australia/Sydney"), "{html}");
    let html = act(&app, &operate, &post, &[("action", "complete"), ("completed_at", "2026-11-10T11:00")]).await;
    assert!(html.contains(&format!("Work order {id} (AHU-07) completed at 2026-11-10 11:00 AEDT; next PM")), "{html}");
    let (_, order) = app.get("/api/v1/assets/AHU-07/pm", Scope::Read).await;
    let done = order["work_orders"].as_array().unwrap().iter().find(|w| w["id"] == id).unwrap().clone();
    assert_eq!(done["state"], "COMPLETED", "{order}");

    // Refusals are flash messages on the page, never an error page.
    let html = act(&app, &operate, &post, &[("action", "complete"), ("completed_at", "2026-11-10T12:00")]).await;
    assert!(html.contains("flash err") && html.contains("cannot complete a work order that is COMPLETED"), "{html}");
    let html = act(&app, &operate, &post, &[("action", "fly")]).await;
    assert!(html.contains("flash err") && html.contains("unknown action"), "{html}");
    let html = act(&app, &operate, "/ui/work-orders/999999/transition", &[("action", "cancel")]).await;
    assert!(html.contains("flash err") && html.contains("unknown work order 999999"), "{html}");
    let resp =
        browser().post(format!("{}{post}", app.base)).header(header::COOKIE, &read).form(&[("action", "cancel")]);
    assert_eq!(resp.send().await.unwrap().status(), StatusCode::FORBIDDEN);

    // From the asset page the action leads back there; nowhere else is followed.
    let (_, chiller) = app.get("/api/v1/work-orders?asset_id=CHILLER-01", Scope::Read).await;
    let open = chiller.as_array().unwrap().iter().find(|w| w["state"] == "MATERIAL_PENDING").unwrap();
    let cid = open["id"].as_i64().unwrap();
    let (_, html) = page(&app, &operate, "/assets/CHILLER-01").await;
    assert!(
        html.contains(&format!("/work-orders/{cid}/confirm?action=material_available&amp;back=%2Fassets%2FCHILLER-01")),
        "{html}"
    );
    let cpost = format!("/ui/work-orders/{cid}/transition");
    let to = location(&app, &operate, &cpost, &[("action", "cancel"), ("back", "https://evil.example/")]).await;
    assert!(to.starts_with("/work-orders?done="), "{to}");
    let to = location(&app, &operate, &cpost, &[("action", "cancel"), ("back", "/assets/CHILLER-01")]).await;
    assert!(to.starts_with("/assets/CHILLER-01?error="), "already cancelled: {to}");
    let (_, html) = page(&app, &operate, &to).await;
    assert!(html.contains("flash err") && html.contains("CANCELLED is final"), "{html}");

    // The overview plots PM compliance (one completion, on time) and counts with separators.
    let (_, html) = page(&app, &read, "/").await;
    assert!(html.contains("id=\"trends\"") && html.contains("parts below reorder and open procurement"), "{html}");
    assert!(html.contains("PM work orders completed on time and late, per week"), "{html}");
    assert!(html.contains("MTBF per asset group"), "{html}");

    // The calendar is a month grid of the dashboard's month; the list is the alternative.
    let (_, html) = page(&app, &read, "/calendar").await;
    assert!(html.contains("<table class=\"month\">") && html.contains("November 2026"), "{html}");
    assert!(html.contains("data-date=\"2026-11-10\" class=\" today\""), "{html}");
    let (_, html) = page(&app, &read, "/calendar?view=list").await;
    assert!(!html.contains("<table class=\"month\">") && html.contains("<th>date</th>"), "{html}");
    let (_, html) = page(&app, &read, "/calendar?month=2026-13").await;
    assert!(html.contains("is not a month like 2026-12"), "{html}");

    // A paused part shows the pause and its scan, with the button that accepts the count.
    let scan = json!({"scan_id": "S-7", "scanner_id": "GUN-1", "code": "BRG-6204", "counted_qty": 30, "scanned_at": "2026-11-01T07:00:00Z"});
    app.post("/api/v1/ingest/scans", Scope::Ingest, scan).await;
    let (_, html) = page(&app, &operate, "/parts/BRG-6204").await;
    assert!(html.contains("id=\"paused\"") && html.contains("Scan S-7 at 2026-11-01 07:00 UTC counted"), "{html}");
    assert!(html.contains("action=\"/ui/scans/S-7/accept?from=part\""), "{html}");
    let (_, html) = page(&app, &read, "/parts/BRG-6204").await;
    assert!(html.contains("id=\"paused\"") && !html.contains("/ui/scans/S-7/accept"), "{html}");
    let to = location(&app, &operate, "/ui/scans/S-7/accept?from=part", &[]).await;
    assert!(to.starts_with("/parts/BRG-6204?done="), "{to}");
    let (_, html) = page(&app, &operate, &to).await;
    assert!(!html.contains("id=\"paused\"") && html.contains("Count of scan S-7 accepted"), "{html}");

    // An unmapped SKU is typed in; nothing is filled in for the operator.
    let (_, html) = page(&app, &operate, "/quarantine").await;
    assert!(html.contains("<input name=\"part_id\" placeholder=\"part id\" required>"), "{html}");
}

/// Under `[pm] method = "weibull_cost"` the asset page says the decision in words and draws the
/// life plot; the API carries the life model with the reason in words.
pub async fn dashboard_asset_page_shows_the_life_model(db: Db) {
    let app = spawn_app(db).await;
    load_reliability(&app.db).await;
    let toml = "[pm]\nmethod = \"weibull_cost\"\nfailure_cost = 5.0\npm_cost = 1.0\n";
    let now = jiff::Timestamp::now();
    cmms_pipeline::formulas::load(&app.db.store, toml, "weibull", now.as_millisecond()).await.unwrap();
    cmms_pipeline::pm::recompute_intervals(&app.db.store, now, now.as_millisecond()).await.unwrap();
    let (_, pm) = app.get("/api/v1/assets/CHILLER-01/pm", Scope::Read).await;
    let life = &pm["interval"]["life"];
    assert_eq!((&life["basis"], &life["reason"]), (&json!("RUN_TO_FAILURE"), &json!("TOO_FEW_FAILURES")), "{pm}");
    assert!(life["reason_text"].as_str().unwrap().contains("too few failures"), "{pm}");
    assert_eq!(pm["interval"]["status"], "NO_TIME_BASED_PM", "{pm}");
    let read = sign_in(&app, Scope::Read).await;
    let (s, html) = page(&app, &read, "/assets/CHILLER-01").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Life model and PM decision") && html.contains("No time-based PM"), "{html}");
    assert!(html.contains("fitted reliability R(t) against the observed lives"), "{html}");
    assert!(!html.contains("<h3>Components</h3>"), "no component named: no component table");

    // Failures that name a component: each component is a unit of its own, shown in a table; the
    // untagged failures stay the asset as a whole's, which has the most and so decides.
    let tagged = json!([
        {"event_id": "F-C1", "asset_id": "CHILLER-01", "event_type": "UNPLANNED", "started_at": "2026-10-01T04:00:00Z", "component": "COMPRESSOR"},
        {"event_id": "F-C2", "asset_id": "CHILLER-01", "event_type": "PLANNED_REPLACEMENT", "started_at": "2026-10-05T04:00:00Z", "component": "FAN"},
    ]);
    let (s, r) = app.post("/api/v1/ingest/failures", Scope::Ingest, tagged).await;
    assert_eq!((s, r["accepted"].as_u64()), (StatusCode::OK, Some(2)), "{r}");
    cmms_pipeline::pm::recompute_intervals(&app.db.store, now, now.as_millisecond() + 1).await.unwrap();
    let units: Vec<_> =
        app.db.store.life_models("CHILLER-01").await.unwrap().into_iter().map(|m| m.component.unwrap()).collect();
    assert_eq!(units, ["", "COMPRESSOR", "FAN"]);
    let (_, pm) = app.get("/api/v1/assets/CHILLER-01/pm", Scope::Read).await;
    assert_eq!(pm["interval"]["life"]["component"], "", "{pm}");
    let (_, html) = page(&app, &read, "/assets/CHILLER-01").await;
    assert!(html.contains("<h3>Components</h3>") && html.contains("<td>COMPRESSOR</td>"), "{html}");
    assert!(html.contains("(the asset as a whole) <span class=\"badge\">decides</span>"), "{html}");
    assert!(html.contains("<td>PLANNED_REPLACEMENT</td><td>FAN</td>"), "{html}");
}

/// A saved report as `cmms backtest --format json` writes it (the fields the page reads).
fn backtest_report(seed_fill: f64) -> serde_json::Value {
    let summary = |fill: f64, stock: f64, orders: f64| {
        json!({"parts": 3, "fill_rate": fill, "cycle_service_level": 0.9, "avg_on_hand": stock,
               "orders_per_part_year": orders, "cost_per_part_year": 12.5, "demanded": 10.0, "served": 8.0})
    };
    let policy = |name: &str, fill: f64, stock: f64| {
        json!({"name": name, "method": name, "knob": "service_level", "knob_value": 0.95,
               "summary": summary(fill, stock, 3.0),
               "by_part_class": {"CARPART": summary(fill, stock, 3.0)},
               "by_demand_class": {"intermittent": summary(fill, stock, 3.0), "lumpy <x>": summary(fill, stock, 3.0)},
               "methods": {name: 36}})
    };
    let point =
        |k: f64, fill: f64, stock: f64| json!({"knob_value": k, "summary": summary(fill, stock, 3.2), "reached": true});
    json!({
        "parts": 3, "first_day": "1998-01-01", "start": "1999-04-01", "end": "2002-04-01", "reviews": 36,
        "simulated_days": 1096, "review": "monthly", "backorders": false, "whole_units": true,
        "holding_cost": 1.0, "ordering_cost": 10.0,
        "policies": [policy("seed", seed_fill, 2.431), policy("tsb", 0.9032, 3.882)],
        "frontier": [{"policy": "tsb", "knob": "service_level",
            "at_seed_stock": point(0.6455, 0.8362, 2.431), "at_seed_fill_rate": point(0.4698, seed_fill, 2.011),
            "curve": [{"knob_value": 0.05, "fill_rate": 0.5, "avg_on_hand": 1.0, "orders_per_part_year": 2.0},
                      {"knob_value": 0.4698, "fill_rate": seed_fill, "avg_on_hand": 2.011, "orders_per_part_year": 3.3},
                      {"knob_value": 0.6455, "fill_rate": 0.8362, "avg_on_hand": 2.431, "orders_per_part_year": 3.39}]}],
        "replay_ms": 5000, "frontier_ms": 100000
    })
}

/// Many open alerts are listed a page at a time, newest first, with the total and links between
/// the pages (a first recompute over a large feed can raise one for most parts).
pub async fn the_alerts_list_comes_in_pages(db: Db) {
    use cmms_store::alerts::AlertUpdate;
    use cmms_store::codes::AlertKind;
    let app = spawn_app(db).await;
    let read = sign_in(&app, Scope::Read).await;
    let raise = |i: usize| AlertUpdate::Raise {
        kind: AlertKind::Drift,
        subject: format!("P-{i:04}"),
        message: format!("drift {i}"),
        details: None,
    };
    let updates: Vec<AlertUpdate> = (0..450).map(raise).collect();
    app.db.store.store_threshold_changes(&[], &[], &updates, 1).await.unwrap();
    let subjects = |html: &str| -> Vec<String> {
        rows_with(html, "href=\"/parts/P-").iter().map(|r| r.split("/parts/").nth(1).unwrap()[..6].to_owned()).collect()
    };
    let older =
        |html: &str| html.split("href=\"/alerts?before=").nth(1).map(|r| r.split('"').next().unwrap().to_owned());
    let (s, first) = page(&app, &read, "/alerts").await;
    assert_eq!(s, StatusCode::OK);
    assert!(first.contains("450 open, newest first") && !first.contains("Newest alerts"), "{first}");
    let shown = subjects(&first);
    assert_eq!((shown.len(), shown[0].as_str(), shown[199].as_str()), (200, "P-0449", "P-0250"));
    let (_, second) = page(&app, &read, &format!("/alerts?before={}", older(&first).unwrap())).await;
    let shown = subjects(&second);
    assert_eq!((shown.len(), shown[0].as_str(), shown[199].as_str()), (200, "P-0249", "P-0050"));
    assert!(second.contains("href=\"/alerts\">Newest alerts"), "{second}");
    let (_, last) = page(&app, &read, &format!("/alerts?before={}", older(&second).unwrap())).await;
    let shown = subjects(&last);
    assert_eq!((shown.len(), shown[0].as_str(), shown[49].as_str()), (50, "P-0049", "P-0000"));
    assert_eq!(older(&last), None, "the last page has no older one");
    // A `before` that is not an id shows the newest page.
    let (s, html) = page(&app, &read, "/alerts?before=abc").await;
    assert_eq!((s, subjects(&html).first().map(String::as_str)), (StatusCode::OK, Some("P-0449")));
}

/// The assets list comes 500 assets at a time, by id, with links to the next page and back to
/// the first, and the work orders 200 per state (the benchmark's many-assets data has 100,000
/// assets and 88,309 PM orders).
pub async fn the_assets_and_work_order_lists_come_in_pages(db: Db) {
    use cmms_pipeline::feed::{self, Feed};
    let app = spawn_app(db).await;
    let read = sign_in(&app, Scope::Read).await;
    let mut csv = String::from("asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n");
    for i in 0..1_100 {
        csv.push_str(&format!("Z-{i:05},PUMPS,PLANT-BER,30,2026-10-01T07:00:00Z\n"));
    }
    let path = std::env::temp_dir().join(format!("assets-pages-{}.csv", std::process::id()));
    std::fs::write(&path, csv).unwrap();
    let observer = &mut cmms_pipeline::import::Quiet;
    let r = feed::import(&app.db.store, Feed::Assets, feed::File { path: &path, observer }, 1).await.unwrap();
    assert_eq!(r.rejected, 0, "{:?}", r.issues.first());
    let now = jiff::Timestamp::now();
    cmms_pipeline::pm::recompute_intervals(&app.db.store, now, now.as_millisecond()).await.unwrap();
    let listed = |html: &str| -> Vec<String> {
        rows_with(html, "href=\"/assets/Z-")
            .iter()
            .map(|r| r.split("/assets/").nth(1).unwrap()[..7].to_owned())
            .collect()
    };
    let next = |html: &str| html.split("href=\"/assets?after=").nth(1).map(|r| r.split('"').next().unwrap().to_owned());
    let (s, first) = page(&app, &read, "/assets").await;
    assert_eq!(s, StatusCode::OK);
    // The example site's own assets come before the Z- ones.
    let before_z = rows_with(&first, "href=\"/assets/").len() - listed(&first).len();
    assert_eq!(listed(&first).len(), 500 - before_z, "{first}");
    assert!(!first.contains("First assets") && first.contains("PM"), "{first}");
    let (_, second) = page(&app, &read, &format!("/assets?after={}", next(&first).unwrap())).await;
    let z = listed(&second);
    assert_eq!((z.len(), z[0].clone()), (500, format!("Z-{:05}", 500 - before_z)));
    assert!(second.contains("href=\"/assets\">First assets"), "{second}");
    let (_, third) = page(&app, &read, &format!("/assets?after={}", next(&second).unwrap())).await;
    let z = listed(&third);
    assert_eq!((z.len() + 1000 - before_z, z.last().map(String::as_str)), (1_100, Some("Z-01099")));
    assert_eq!(next(&third), None, "the last page has no next one");
    std::fs::remove_file(path).ok();

    // Their PM work orders: 200 per state on a page, the state's total in its heading, and "More"
    // links that walk the rest by due date without repeating or skipping an order.
    let heading = |html: &str| -> i64 {
        let h = html.split("<h2 id=\"SCHEDULED\">SCHEDULED (").nth(1).unwrap();
        h.split(')').next().unwrap().parse().unwrap()
    };
    let ids = |html: &str| -> Vec<String> {
        rows_with(html, "data-due=")
            .iter()
            .map(|r| r.split("<td class=\"n\">").nth(1).unwrap().split('<').next().unwrap().to_owned())
            .collect()
    };
    let more = |html: &str| {
        html.split("href=\"/work-orders?state=SCHEDULED&amp;after=")
            .nth(1)
            .map(|r| r.split('#').next().unwrap().to_owned())
    };
    let (s, html) = page(&app, &read, "/work-orders").await;
    assert_eq!(s, StatusCode::OK);
    let total = heading(&html);
    assert!(total > 1_100, "{total}");
    let mut seen: Vec<String> = Vec::new();
    let mut html = html;
    let mut pages = 0;
    loop {
        let shown = ids(&html);
        assert!(shown.len() <= 200, "{}", shown.len());
        seen.extend(shown);
        pages += 1;
        let Some(after) = more(&html) else { break };
        html = page(&app, &read, &format!("/work-orders?state=SCHEDULED&after={after}")).await.1;
        assert!(html.contains("All states from the first") && heading(&html) == total, "{html}");
    }
    let distinct: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!((seen.len() as i64, distinct.len() as i64, pages), (total, total, (total + 199) / 200));
}

pub async fn the_backtest_page_shows_the_latest_saved_report(db: Db) {
    let app = spawn_app(db).await;
    let read = sign_in(&app, Scope::Read).await;
    let (s, html) = page(&app, &read, "/backtest").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("No backtest saved yet") && html.contains("href=\"/backtest\" class=\"on\""), "{html}");

    let store = &app.db.store;
    store.save_backtest_report(1_000, "old-folder", &backtest_report(0.5).to_string()).await.unwrap();
    let id = store.save_backtest_report(2_000, "carparts-import", &backtest_report(0.7959).to_string()).await.unwrap();
    let (s, html) = page(&app, &read, "/backtest").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(&format!("Backtest {id} of <code>carparts-import</code>")), "the latest: {html}");
    assert!(
        html.contains("1970-01-01") && html.contains("36 reviews (monthly)") && html.contains("whole units"),
        "{html}"
    );
    // The frontier: a curve for tsb, tsb as configured, the reference marked; and its table.
    assert!(html.contains("<svg class=\"plot\"") && html.contains("data-series=\"3\""), "{html}");
    assert!(html.contains("seed (reference)") && html.contains("tsb as configured"), "{html}");
    assert!(html.contains("fill rate 83.62 % (+4.03 points)") && html.contains("avg stock 2.01 (-17.3 %)"), "{html}");
    // Per policy and class, labels escaped.
    let totals = rows_with(&html, "all parts");
    assert_eq!(totals.len(), 2, "{html}");
    assert!(totals[0].contains("79.59 %") && totals[1].contains("90.32 %"), "{totals:?}");
    assert!(html.contains("demand class lumpy &#60;x&#62;") && html.contains("part class CARPART"), "{html}");
    // The same report over the API, its time in RFC 3339.
    let (s, body) = app.call(Method::GET, "/api/v1/backtest", Some(Scope::Read), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!((body["id"].as_i64(), body["source"].as_str()), (Some(id), Some("carparts-import")));
    assert_eq!(body["created_at"], "1970-01-01T00:00:02Z");
    assert_eq!(body["report"]["policies"][1]["name"], "tsb");
}

pub async fn the_backtest_api_answers_404_before_the_first_report(db: Db) {
    let app = spawn_app(db).await;
    let (s, body) = app.call(Method::GET, "/api/v1/backtest", Some(Scope::Read), None).await;
    assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("NOT_FOUND")), "{body}");
}
