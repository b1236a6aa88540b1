//! A CMMS target under the test's control: a bare HTTP/1.1 server on a loopback port that applies
//! the seed's threshold PUT like the real endpoint (newer sequence → 200, else 409), counts every
//! application, and misbehaves on request: 5xx, hanging past the client's timeout, or dropping
//! the connection before or after applying.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the target treats one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Behave: apply when newer (200), else 409.
    None,
    /// Answer this status without applying.
    Status(u16),
    /// Apply, then never answer (the client times out).
    HangAfterApply,
    /// Close the connection without applying or answering.
    DropBeforeApply,
    /// Apply, then close the connection without answering.
    DropAfterApply,
}

/// Decides the fault of a request from `(part, sequence, nth request for that pair)`.
pub type Script = Arc<dyn Fn(&str, i64, u32) -> Fault + Send + Sync>;

/// What the target saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Applications per part, in the order they happened.
    pub applied: HashMap<String, Vec<i64>>,
    /// Requests per `(part, sequence)`.
    pub requests: HashMap<(String, i64), u32>,
    /// Authorization headers seen.
    pub auth: Vec<String>,
}

/// A running target.
pub struct Target {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// What it saw.
    pub seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Target {
    /// Starts on `addr` (`127.0.0.1:0` for any port).
    pub async fn start(addr: &str, script: Script) -> Target {
        let listener = TcpListener::bind(addr).await.expect("bind target");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let task = tokio::spawn(accept(listener, seen.clone(), script));
        Target { base, seen, task }
    }

    /// The `host:port` it listens on.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    /// Stops listening (connections in progress are dropped).
    pub fn stop(&self) {
        self.task.abort();
    }

    /// Applications per part.
    pub fn applied(&self) -> HashMap<String, Vec<i64>> {
        self.seen.lock().unwrap().applied.clone()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, seen: Arc<Mutex<Seen>>, script: Script) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else { return };
        conns.spawn(handle(stream, seen.clone(), script.clone()));
        while conns.try_join_next().is_some() {}
    }
}

async fn handle(mut stream: TcpStream, seen: Arc<Mutex<Seen>>, script: Script) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut length = 0;
    let mut auth = String::new();
    for line in head.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "authorization" => auth = v.trim().to_owned(),
                _ => {}
            }
        }
    }
    while buf.len() < header_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body: serde_json::Value = serde_json::from_slice(&buf[header_end..header_end + length]).unwrap_or_default();
    let part = body["part_id"].as_str().unwrap_or_default().to_owned();
    let seq = body["sequence_id"].as_i64().unwrap_or(-1);
    let path_ok = head.split_whitespace().nth(1).is_some_and(|p| p.ends_with(&format!("/{part}")));
    let checksum_ok = body["checksum"].as_str() == Some(cmms_core::publication::payload_checksum(&part, seq).as_str());
    let nth = {
        let mut s = seen.lock().unwrap();
        s.auth.push(auth);
        let n = s.requests.entry((part.clone(), seq)).or_default();
        *n += 1;
        *n
    };
    if !path_ok || !checksum_ok || !head.starts_with("PUT ") {
        respond(&mut stream, 422, r#"{"error":{"code":"INVALID","message":"bad request","details":null}}"#).await;
        return;
    }
    let fault = script(&part, seq, nth);
    let apply = |seen: &Arc<Mutex<Seen>>| -> bool {
        let mut s = seen.lock().unwrap();
        let list = s.applied.entry(part.clone()).or_default();
        if list.last().is_none_or(|last| seq > *last) {
            list.push(seq);
            true
        } else {
            false
        }
    };
    match fault {
        Fault::Status(code) => {
            respond(&mut stream, code, r#"{"error":{"code":"FAULT","message":"injected","details":null}}"#).await
        }
        Fault::DropBeforeApply => {}
        Fault::DropAfterApply => {
            apply(&seen);
        }
        Fault::HangAfterApply => {
            apply(&seen);
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        Fault::None => {
            if apply(&seen) {
                respond(&mut stream, 200, &format!(r#"{{"part_id":"{part}","sequence_id":{seq}}}"#)).await;
            } else {
                respond(
                    &mut stream,
                    409,
                    r#"{"error":{"code":"SEQUENCE_CONFLICT","message":"not newer","details":null}}"#,
                )
                .await;
            }
        }
    }
}

async fn respond(stream: &mut TcpStream, code: u16, body: &str) {
    let text = format!(
        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(text.as_bytes()).await;
    let _ = stream.shutdown().await;
}
