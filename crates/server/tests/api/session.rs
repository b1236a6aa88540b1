//! Dashboard sessions over HTTP: the cookie holds a server-side session id (never the token),
//! sign-out and token revocation end sessions, sessions expire, cross-site POSTs are refused, and
//! the framework's own errors come as the JSON error or the HTML error page.

use crate::{App, assert_error, spawn_app, spawn_app_with};
use cmms_core::auth::Scope;
use cmms_core::session::SessionPolicy;
use cmms_server::ServeOptions;
use cmms_server::dashboard::DashboardSettings;
use cmms_store::testing::Db;
use reqwest::{StatusCode, header};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A client that does not follow redirects, so the tests see them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Signs in with the token of `scope`; returns the whole `Set-Cookie` value.
async fn sign_in(app: &App, scope: Scope) -> String {
    let resp = browser().post(format!("{}/login", app.base)).form(&[("token", app.token(scope))]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    resp.headers()[header::SET_COOKIE].to_str().unwrap().to_owned()
}

/// The `name=value` part of a `Set-Cookie` value, to send back as `Cookie`.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// GET `path` with `cookie`: status and `Location` (empty when none).
async fn visit(app: &App, cookie: &str, path: &str) -> (StatusCode, String) {
    let resp = browser().get(format!("{}{path}", app.base)).header(header::COOKIE, cookie).send().await.unwrap();
    let location = resp.headers().get(header::LOCATION).map_or(String::new(), |l| l.to_str().unwrap().to_owned());
    (resp.status(), location)
}

/// Asserts `cookie` opens the overview.
async fn signed_in(app: &App, cookie: &str) {
    assert_eq!(visit(app, cookie, "/").await, (StatusCode::OK, String::new()), "{cookie}");
}

/// Asserts `cookie` is sent to sign in again.
async fn signed_out(app: &App, cookie: &str) {
    assert_eq!(visit(app, cookie, "/").await, (StatusCode::SEE_OTHER, "/login?expired=1".to_owned()), "{cookie}");
}

fn sha256_hex(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

pub async fn the_cookie_holds_a_session_id_never_the_token(db: Db) {
    let app = spawn_app(db).await;
    let token = app.token(Scope::Operate).to_owned();
    let set_cookie = sign_in(&app, Scope::Operate).await;
    assert!(!set_cookie.contains(&token) && !set_cookie.contains("cmms_token"), "{set_cookie}");
    let (name, id) = pair(&set_cookie).split_once('=').map(|(n, v)| (n.to_owned(), v.to_owned())).unwrap();
    assert_eq!(name, "cmms_session", "plain HTTP: no __Host- prefix");
    assert!(id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set_cookie.contains(attribute), "{attribute} missing: {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "not Secure over plain HTTP without configuration: {set_cookie}");
    // The store holds the session id's SHA-256, never the id.
    let stored = app.db.store.column_texts("dashboard_sessions", "id_hash").await.unwrap();
    assert_eq!(stored, [sha256_hex(&id)]);
    signed_in(&app, &pair(&set_cookie)).await;
    // The token itself is no session id, and a session id is no API token.
    signed_out(&app, &format!("cmms_session={token}")).await;
    let resp = app.client.get(format!("{}/api/v1/parts", app.base)).bearer_auth(&id).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // Two sign-ins are two sessions.
    let second = sign_in(&app, Scope::Operate).await;
    assert_ne!(pair(&second), pair(&set_cookie));
    signed_in(&app, &pair(&set_cookie)).await;

    // Secure and __Host- when configured for HTTPS (a second server on the same store).
    let secure = DashboardSettings { secure_cookies: true, ..DashboardSettings::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = cmms_server::AppState::new(app.db.store.clone()).with_dashboard(secure);
    tokio::spawn(cmms_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let https = App { base, ..app };
    let set_cookie = sign_in(&https, Scope::Read).await;
    assert!(set_cookie.starts_with("__Host-cmms_session=") && set_cookie.contains("; Secure"), "{set_cookie}");
    signed_in(&https, &pair(&set_cookie)).await;
    let plain = pair(&set_cookie).replace("__Host-", "");
    assert_eq!(visit(&https, &plain, "/").await, (StatusCode::SEE_OTHER, "/login".to_owned()), "only __Host- counts");
}

pub async fn sign_out_and_revocation_end_sessions_on_the_server(db: Db) {
    let app = spawn_app(db).await;
    let kept = pair(&sign_in(&app, Scope::Read).await);
    let gone = pair(&sign_in(&app, Scope::Read).await);
    let resp = browser().post(format!("{}/logout", app.base)).header(header::COOKIE, &gone).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(resp.headers()[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    // A copy of the cookie kept after sign-out opens nothing; the other session lives on.
    signed_out(&app, &gone).await;
    signed_in(&app, &kept).await;

    // Revoking the token (as `cmms token revoke` does) ends every session it opened.
    let operate = [pair(&sign_in(&app, Scope::Operate).await), pair(&sign_in(&app, Scope::Operate).await)];
    let row = cmms_pipeline::auth::revoke_token(&app.db.store, "operate", jiff::Timestamp::now().as_millisecond())
        .await
        .unwrap();
    assert_eq!(app.db.store.session_count(row.id).await.unwrap(), 0);
    for cookie in &operate {
        signed_out(&app, cookie).await;
    }
    signed_in(&app, &kept).await;
}

pub async fn sessions_end_after_their_lifetime_or_idle_timeout(db: Db) {
    let policy = SessionPolicy::new(600_000, 120_000).unwrap();
    let app =
        spawn_app_with(db, ServeOptions::default(), DashboardSettings { policy, ..DashboardSettings::default() }).await;
    let set_cookie = sign_in(&app, Scope::Read).await;
    assert!(set_cookie.contains("Max-Age=600"), "the configured lifetime: {set_cookie}");
    let cookie = pair(&set_cookie);
    signed_in(&app, &cookie).await;
    // Unused for longer than the idle timeout: ended, and deleted.
    app.db.store.execute_raw("UPDATE dashboard_sessions SET last_seen_at = last_seen_at - 120001").await.unwrap();
    signed_out(&app, &cookie).await;
    assert_eq!(app.db.store.count_rows("dashboard_sessions").await.unwrap(), 0);
    // In use but past its lifetime: ended too.
    let cookie = pair(&sign_in(&app, Scope::Read).await);
    signed_in(&app, &cookie).await;
    app.db.store.execute_raw("UPDATE dashboard_sessions SET expires_at = created_at").await.unwrap();
    signed_out(&app, &cookie).await;
}

/// Puts one dead letter in the store and returns its id.
async fn dead_letter(app: &App) -> i64 {
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
    dlq[0]["id"].as_i64().unwrap()
}

pub async fn cross_site_posts_are_refused(db: Db) {
    let app = spawn_app(db).await;
    let cookie = pair(&sign_in(&app, Scope::Operate).await);
    let id = dead_letter(&app).await;
    let replay = format!("{}/ui/dlq/{id}/replay", app.base);
    let post = |url: String, headers: &[(&'static str, String)]| {
        let mut req = browser().post(url).header(header::COOKIE, &cookie);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        req.send()
    };
    let evil = [("origin", "http://evil.example".to_owned()), ("sec-fetch-site", "cross-site".to_owned())];
    for headers in [&evil[..], &evil[..1], &evil[1..], &[("origin", "null".to_owned())]] {
        let resp = post(replay.clone(), headers).await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(resp.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        let html = resp.text().await.unwrap();
        assert!(html.contains("Actions are accepted only from the dashboard"), "{html}");
    }
    let (_, dlq) = app.get("/api/v1/dlq", Scope::Read).await;
    assert_eq!(dlq.as_array().unwrap().len(), 1, "nothing was replayed: {dlq}");
    // Neither sign-in nor sign-out can be forced from another site.
    let resp = browser()
        .post(format!("{}/login", app.base))
        .headers(evil.iter().map(|(k, v)| (header::HeaderName::from_static(k), v.parse().unwrap())).collect())
        .form(&[("token", app.token(Scope::Read))])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get(header::SET_COOKIE).is_none());
    assert_eq!(post(format!("{}/logout", app.base), &evil).await.unwrap().status(), StatusCode::FORBIDDEN);
    signed_in(&app, &cookie).await;
    // The dashboard's own form posts pass.
    let same = [("origin", app.base.clone()), ("sec-fetch-site", "same-origin".to_owned())];
    let resp = post(replay, &same).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(resp.headers()[header::LOCATION].to_str().unwrap().starts_with("/dlq?done="));
    let (_, dlq) = app.get("/api/v1/dlq", Scope::Read).await;
    assert_eq!(dlq, Value::Array(vec![]), "replayed");
}

pub async fn a_token_with_a_line_break_is_a_400_page_not_a_500(db: Db) {
    let app = spawn_app(db).await;
    let login = |token: String| browser().post(format!("{}/login", app.base)).form(&[("token", token)]).send();
    let resp = login(format!("Bearer \r\n{}", app.token(Scope::Read))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get(header::SET_COOKIE).is_none());
    assert!(resp.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(resp.text().await.unwrap().contains("without line breaks"));
    // A wrong token: 401 with the sign-in form and its message.
    let resp = login("cmms_bad".to_owned()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let html = resp.text().await.unwrap();
    assert!(html.contains("not valid") && html.contains("<form method=\"post\" action=\"/login\">"), "{html}");
    // The token pasted with spaces around it still signs in.
    let resp = login(format!("  {}  ", app.token(Scope::Read))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

/// Asserts an HTML error page with `status`.
async fn assert_page(resp: reqwest::Response, status: StatusCode, contains: &str) {
    assert_eq!(resp.status(), status);
    let content_type = resp.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
    let html = resp.text().await.unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}: {html}");
    assert!(html.starts_with("<!doctype html>") && html.contains(contains), "{html}");
}

/// The status and JSON body of a response (panics when the body is not JSON).
async fn json(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}")))
}

pub async fn framework_errors_are_the_json_error_or_the_html_page(db: Db) {
    let app = spawn_app(db).await;
    let cookie = pair(&sign_in(&app, Scope::Operate).await);
    let client = browser();
    // 413: a sign-in form over the body limit.
    let big = "a".repeat(cmms_server::BODY_LIMIT_BYTES + 1);
    let resp = client.post(format!("{}/login", app.base)).form(&[("token", big)]).send().await.unwrap();
    assert_page(resp, StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded").await;
    // 415: a form without its content type.
    let resp = client.post(format!("{}/login", app.base)).body("token=x").send().await.unwrap();
    assert_page(resp, StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type").await;
    // 400: a path parameter of the wrong type, and a form without its field.
    let url = format!("{}/ui/dlq/abc/replay", app.base);
    let resp = client.post(url).header(header::COOKIE, &cookie).send().await.unwrap();
    assert_page(resp, StatusCode::BAD_REQUEST, "abc").await;
    let url = format!("{}/ui/quarantine/1/resolve", app.base);
    let resp = client.post(url).header(header::COOKIE, &cookie).form(&[("x", "y")]).send().await.unwrap();
    assert_page(resp, StatusCode::UNPROCESSABLE_ENTITY, "part_id").await;
    // 414: a request target over 8 KiB, on the API and on the dashboard.
    let long = "x".repeat(cmms_server::error::MAX_URI_BYTES);
    let resp =
        client.get(format!("{}/api/v1/parts?q={long}", app.base)).bearer_auth(app.token(Scope::Read)).send().await;
    let (s, b) = json(resp.unwrap()).await;
    assert_error(s, &b, StatusCode::URI_TOO_LONG, "URI_TOO_LONG");
    let resp = client.get(format!("{}/parts?q={long}", app.base)).header(header::COOKIE, &cookie).send().await;
    assert_page(resp.unwrap(), StatusCode::URI_TOO_LONG, "at most 8192").await;
    // A target too long for the HTTP library itself (over 65,534 bytes): it answers 414 with an
    // empty body before the service sees the request (documented in RELIABILITY.md).
    let raw = raw_request(&app, &format!("GET /api/v1/parts?q={} HTTP/1.1\r\n", "x".repeat(70_000))).await;
    assert!(raw.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{}", &raw[..raw.len().min(300)]);
    assert!(raw.to_ascii_lowercase().contains("content-length: 0\r\n") && raw.ends_with("\r\n\r\n"), "{raw}");
}

/// Sends `head` (request line and any headers, each ending in CRLF) with a Host header over a
/// raw connection, and returns everything the server answers until it closes.
async fn raw_request(app: &App, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("{head}Host: {addr}\r\nConnection: close\r\n\r\n");
    // The server may answer and close before reading all of a long request.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}
