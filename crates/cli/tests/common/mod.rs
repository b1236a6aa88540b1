//! Helpers shared by the tests that run the `cmms` binary: waiting for a condition and talking
//! HTTP/1.1 to `cmms serve` with a plain `TcpStream` (one request per connection).

// Each test binary compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Polls `done` every 20 ms; panics after `limit`, naming `what`.
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends one request (`Connection: close`) and returns the whole raw response (status line,
/// headers and body). An error when the connection fails, e.g. because the server died.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let body = body.unwrap_or_default();
    let content = if body.is_empty() {
        String::new()
    } else {
        format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len())
    };
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}{content}Connection: close\r\n\r\n{body}")?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    Ok(response)
}

/// `GET path`; panics if the connection fails.
pub fn get(addr: &str, path: &str, token: Option<&str>) -> String {
    request(addr, "GET", path, token, None).unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// The status code and body of a complete response; `None` for a truncated or garbled one (the
/// server died while answering).
pub fn status_and_body(response: &str) -> Option<(u16, &str)> {
    let status = response.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
    });
    match length {
        Some(n) if n != body.len() => None,
        _ => Some((status, body)),
    }
}
