//! Resources under abuse and load (issue 21, section 3): metrics labels from a closed set, list
//! pagination, load shedding with 503 + `Retry-After`, `/healthz` beside a saturated API, and the
//! header read timeout against slow clients.

use crate::{App, assert_error, spawn_app, spawn_app_with};
use cmms_core::auth::Scope;
use cmms_pipeline::feed::{self, Feed};
use cmms_pipeline::import::Quiet;
use cmms_server::ServeOptions;
use cmms_server::dashboard::DashboardSettings;
use cmms_store::Backend;
use cmms_store::testing::Db;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// 100 requests with invented 20 KB method names: before, each became a label set of its own
/// (counter and 15 histogram series), and one scrape grew by tens of megabytes.
pub async fn odd_methods_do_not_grow_the_metrics(db: Db) {
    let app = spawn_app(db).await;
    for i in 0..100 {
        let method = Method::from_bytes(format!("X{i}{}", "M".repeat(20_000)).as_bytes()).unwrap();
        let resp = app.client.request(method, format!("{}/api/v1/parts", app.base)).send().await.unwrap();
        assert!(resp.status().is_client_error(), "{}", resp.status());
    }
    let (s, scrape) = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let scrape = scrape.as_str().unwrap();
    assert!(scrape.len() < 512 * 1024, "scrape of {} bytes after 100 odd methods", scrape.len());
    assert!(!scrape.contains("MMMMMMMM"), "a client's method string became a label");
    assert!(scrape.contains("method=\"OTHER\""), "odd methods are counted as OTHER");
    // No route of its own for a path that matches none: `unmatched`.
    let (s, _) = app.call(Method::GET, "/no/such/route/12345", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, scrape) = app.call(Method::GET, "/metrics", None, None).await;
    assert!(!scrape.as_str().unwrap().contains("12345"));
}

/// `metrics_require_token`: `/metrics` for a token with the read scope only.
pub async fn metrics_can_require_a_token(db: Db) {
    let options = ServeOptions { metrics_require_token: true, ..ServeOptions::default() };
    let app = spawn_app_with(db, options, DashboardSettings::default()).await;
    let (s, b) = app.call(Method::GET, "/metrics", None, None).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let (s, b) = app.call(Method::GET, "/metrics", Some(Scope::Ingest), None).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "FORBIDDEN");
    let (s, b) = app.get("/metrics", Scope::Read).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK, "health stays open");
}

/// Adds `n` parts `P-00000`… to the store.
async fn add_parts(app: &App, n: usize) {
    let dir = std::env::temp_dir().join(format!(
        "cmms-load-{}-{}",
        std::process::id(),
        app.base.replace([':', '/', '.'], "")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("parts.csv");
    let mut csv = String::from(
        "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n",
    );
    for i in 0..n {
        csv.push_str(&format!("P-{i:05},Generated part {i},EA,PLANT-BER,BEARING,14,1,2,3\n"));
    }
    std::fs::write(&file, csv).unwrap();
    let r =
        feed::import(&app.db.store, Feed::Parts, feed::File { path: &file, observer: &mut Quiet }, 1).await.unwrap();
    assert!(r.rejected == 0, "{:?}", r.issues);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A GET with the read token: status, `X-Next-Cursor`, `Link` and the JSON body.
async fn get_page(app: &App, path: &str) -> (StatusCode, Option<String>, Option<String>, Value) {
    let resp = app.client.get(format!("{}{path}", app.base)).bearer_auth(app.token(Scope::Read)).send().await.unwrap();
    let header = |name: &str| resp.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (cursor, link) = (header("x-next-cursor"), header("link"));
    let status = resp.status();
    (status, cursor, link, resp.json().await.unwrap())
}

/// The parts list comes in pages: a default of 1,000, at most 5,000, the next page by cursor;
/// walking the pages gives every part once, in order.
pub async fn parts_come_in_pages(db: Db) {
    let app = spawn_app(db).await;
    add_parts(&app, 1_200).await;
    let (s, cursor, link, first) = get_page(&app, "/api/v1/parts").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(first.as_array().unwrap().len(), 1000, "the default page");
    let cursor = cursor.expect("more parts follow: X-Next-Cursor");
    let link = link.expect("more parts follow: Link");
    assert_eq!(link, format!("</api/v1/parts?cursor={cursor}>; rel=\"next\""));
    let (s, next, _, rest) = get_page(&app, &format!("/api/v1/parts?cursor={cursor}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(next, None, "the last page has no next");
    let total = app.db.store.parts_overview(false).await.unwrap().len();
    assert_eq!(first.as_array().unwrap().len() + rest.as_array().unwrap().len(), total);

    // Small pages, following the Link header with the filter kept.
    let mut seen = Vec::new();
    let mut path = "/api/v1/parts?below_reorder=false&limit=500".to_owned();
    loop {
        let (s, _, link, page) = get_page(&app, &path).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(page.as_array().unwrap().len() <= 500);
        seen.extend(page.as_array().unwrap().iter().map(|p| p["part_id"].as_str().unwrap().to_owned()));
        match link {
            Some(l) => {
                assert!(l.contains("below_reorder=false") && l.contains("limit=500"), "{l}");
                path = l.trim_start_matches('<').split('>').next().unwrap().to_owned();
            }
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((seen.len(), &seen), (total, &sorted), "every part once, by id");

    for bad in ["limit=0", "limit=5001", "limit=x", "limit=-1"] {
        let (s, b) = app.get(&format!("/api/v1/parts?{bad}"), Scope::Read).await;
        assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_QUERY");
    }
    for bad in ["zz", "4", "41424", "%00"] {
        let (s, b) = app.get(&format!("/api/v1/parts?cursor={bad}"), Scope::Read).await;
        assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_CURSOR");
    }
    let (s, b) = app.get("/api/v1/parts?limit=5000", Scope::Read).await;
    assert_eq!((s, b.as_array().unwrap().len()), (StatusCode::OK, total));
}

/// Starts a request that stays in flight: its headers are sent, its body never completes.
async fn request_in_flight(app: &App) -> TcpStream {
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST /api/v1/ingest/consumption HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n[",
        app.token(Scope::Ingest)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Beyond `max_in_flight` requests, the API answers 503 `OVERLOADED` with `Retry-After` at once;
/// `/healthz` and `/metrics` still answer.
pub async fn overload_is_shed_with_503_and_retry_after(db: Db) {
    let options = ServeOptions { max_in_flight: 2, ..ServeOptions::default() };
    let app = spawn_app_with(db, options, DashboardSettings::default()).await;
    let (s, _) = app.get("/api/v1/parts", Scope::Read).await;
    assert_eq!(s, StatusCode::OK);
    let _held = [request_in_flight(&app).await, request_in_flight(&app).await];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let resp =
        app.client.get(format!("{}/api/v1/parts", app.base)).bearer_auth(app.token(Scope::Read)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned()), Some("1".to_owned()));
    let body: Value = resp.json().await.unwrap();
    assert_error(StatusCode::SERVICE_UNAVAILABLE, &body, StatusCode::SERVICE_UNAVAILABLE, "OVERLOADED");
    assert!(started.elapsed() < Duration::from_secs(2), "shed at once, not queued: {:?}", started.elapsed());
    for path in ["/healthz", "/metrics"] {
        let started = Instant::now();
        let (s, b) = app.call(Method::GET, path, None, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        assert!(started.elapsed() < Duration::from_millis(500), "{path} took {:?}", started.elapsed());
    }
    drop(_held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, _) = app.get("/api/v1/parts", Scope::Read).await;
    assert_eq!(s, StatusCode::OK, "served again once the load is gone");
}

/// `/healthz` has its own connection: with every pooled connection stuck behind a lock (parts
/// locked by another session on PostgreSQL), it still answers at once. Before, it queued for
/// the pool with the API's requests (seconds under load). SQLite readers cannot be blocked by a
/// lock in WAL mode, so there the case checks only that health answers beside the API.
pub async fn healthz_does_not_wait_for_the_request_pool(db: Db) {
    let pg = db.store.backend() == Backend::Postgres;
    let url = db.url.clone();
    let options = ServeOptions { max_in_flight: 16, ..ServeOptions::default() };
    let app = spawn_app_with(db, options, DashboardSettings::default()).await;
    let (s, _) = app.get("/api/v1/parts", Scope::Read).await;
    assert_eq!(s, StatusCode::OK);
    let mut lock = None;
    if pg {
        use sqlx::Connection;
        let mut conn = sqlx::postgres::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("BEGIN; LOCK TABLE parts IN ACCESS EXCLUSIVE MODE").execute(&mut conn).await.unwrap();
        lock = Some(conn);
    }
    // 16 requests fill the PostgreSQL pool (16 connections) and the in-flight limit.
    let stuck: Vec<_> = (0..16)
        .map(|_| {
            let (client, url, token) =
                (app.client.clone(), format!("{}/api/v1/parts", app.base), app.token(Scope::Read).to_owned());
            tokio::spawn(async move { client.get(url).bearer_auth(token).send().await.unwrap().status() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let (s, b) = app.call(Method::GET, "/healthz", None, None).await;
    let took = started.elapsed();
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(took < Duration::from_millis(500), "healthz took {took:?} beside a saturated API");
    if let Some(mut conn) = lock {
        let (s, b) = app.get("/api/v1/parts", Scope::Read).await;
        assert_error(s, &b, StatusCode::SERVICE_UNAVAILABLE, "OVERLOADED");
        sqlx::raw_sql("COMMIT").execute(&mut conn).await.unwrap();
    }
    for s in stuck {
        assert_eq!(s.await.unwrap(), StatusCode::OK);
    }
}

/// Reads until the server closes the connection; how long that took (`None`: still open after
/// `within`). `trickle` sends one more byte of a request head every 200 ms meanwhile.
async fn closed_within(stream: &mut TcpStream, within: Duration, trickle: bool) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    let head =
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut sent = 0;
    while started.elapsed() < within {
        if trickle && sent < head.len() {
            // A write to a connection the server closed may fail: that is the answer too.
            if stream.write_all(&head[sent..=sent]).await.is_err() {
                return Some(started.elapsed());
            }
            sent += 1;
        }
        let read = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            return Some(started.elapsed());
        }
    }
    None
}

/// A client trickling its headers a byte at a time, or idling on a keep-alive connection, is
/// disconnected after the header read timeout (here 1 s); before, it kept the connection open
/// for as long as it liked.
pub async fn slow_and_idle_clients_are_disconnected(db: Db) {
    let options = ServeOptions { header_read_timeout: Duration::from_secs(1), ..ServeOptions::default() };
    let app = spawn_app_with(db, options, DashboardSettings::default()).await;
    let addr = app.base.trim_start_matches("http://").to_owned();

    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let took = closed_within(&mut slow, Duration::from_secs(5), true).await;
    assert!(took.is_some_and(|t| t < Duration::from_secs(3)), "a trickling client stayed connected: {took:?}");

    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 4096];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "served first");
    let took = closed_within(&mut idle, Duration::from_secs(5), false).await;
    assert!(took.is_some_and(|t| t < Duration::from_secs(3)), "an idle keep-alive connection stayed open: {took:?}");

    // A prompt client is served as before.
    let (s, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK);
}

/// Every list endpoint pages the same way: walking it one entry at a time gives exactly the
/// entries of one large page, in the same order, and a bad cursor is a 400.
pub async fn every_list_walks_in_pages(db: Db) {
    let app = spawn_app(db).await;
    crate::load_reliability(&app.db).await;
    let now = jiff::Timestamp::now();
    cmms_pipeline::pm::recompute_intervals(&app.db.store, now, now.as_millisecond()).await.unwrap();
    let unknown: Vec<Value> = (1..=3)
        .map(|i| {
            serde_json::json!({"event_id": format!("U-{i}"), "source": "ERP", "external_sku": format!("UNKNOWN-{i}"),
                               "quantity": 1, "consumed_at": "2026-11-05T12:00:00Z"})
        })
        .collect();
    let (s, b) = app.post("/api/v1/ingest/consumption", Scope::Ingest, Value::Array(unknown)).await;
    assert!(s.is_success(), "{b}");
    for list in [
        "/api/v1/work-orders?",
        "/api/v1/work-orders?state=SCHEDULED&",
        "/api/v1/quarantine?all=true&",
        "/api/v1/alerts?",
        "/api/v1/dlq?all=true&",
        "/api/v1/procurement-requests?",
        "/api/v1/parts?",
    ] {
        let (s, _, next, whole) = get_page(&app, &format!("{list}limit=5000")).await;
        assert_eq!((s, next), (StatusCode::OK, None), "{list}");
        let mut walked = Vec::new();
        let mut path = format!("{list}limit=1");
        loop {
            let (s, cursor, _, page) = get_page(&app, &path).await;
            assert_eq!(s, StatusCode::OK, "{path}: {page}");
            walked.extend(page.as_array().unwrap().iter().cloned());
            match cursor {
                Some(c) => path = format!("{list}limit=1&cursor={c}"),
                None => break,
            }
            assert!(walked.len() <= whole.as_array().unwrap().len(), "{list} does not end");
        }
        assert_eq!(&walked, whole.as_array().unwrap(), "{list}");
        let (s, b) = app.get(&format!("{list}cursor=7a7"), Scope::Read).await;
        assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_CURSOR");
    }
    let (_, wos) = app.get("/api/v1/work-orders", Scope::Read).await;
    assert!(wos.as_array().unwrap().len() > 1, "work orders to walk: {wos}");
    let (_, q) = app.get("/api/v1/quarantine?all=true", Scope::Read).await;
    assert_eq!(q.as_array().unwrap().len(), 3, "{q}");
}
