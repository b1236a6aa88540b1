//! End-to-end tests of `cmms demo`: the summary names every stage, the store holds the planted
//! faults, other data is never overwritten, and the served dashboard and API accept the printed
//! tokens.

mod common;

use common::get as http;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cmms-demo-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cmms(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cmms"));
    c.current_dir(dir).env_remove("CMMS_DATABASE_URL").env_remove("CMMS_CONFIG").env_remove("CMMS_LISTEN");
    c
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = cmms(dir).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn demo_without_serving_builds_the_site_with_every_planted_fault() {
    let dir = workdir("no-serve");
    let out = cmms(&dir).args(["demo", "--no-serve", "--seed", "7"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for needle in [
        "Formula registry: version",
        "1. Ingestion — master data",
        "2. Ingestion — feeds",
        "consumption-retry.csv",
        "duplicate",
        "DUPLICATE_CONFLICT",
        "quarantined ERP/Ab-7731 (AMBIGUOUS)",
        "(UNMAPPED)",
        "stale",
        "held as an implausible drop",
        "routing for",
        "3. Calculation",
        "thresholds, formula version",
        "drift alert",
        "manufacturer interval used (NO_VALID_SAMPLES)",
        "PM work orders:",
        "4. Routing",
        "procurement requests raised",
        "MATERIAL_PENDING",
        "Dashboard: http://",
        "demo-read",
        "demo-operate",
    ] {
        assert!(stdout.contains(needle), "the summary lacks {needle:?}:\n{stdout}");
    }
    assert!(dir.join("cmms.db").exists() && dir.join("cmms-demo-data/consumption.csv").exists());

    let report = json(&dir, &["report", "--format", "json"]);
    let quarantine = report["quarantine"].as_array().unwrap();
    assert!(quarantine.iter().any(|q| q["reason"] == "UNMAPPED"), "{quarantine:?}");
    assert!(quarantine.iter().any(|q| q["reason"] == "AMBIGUOUS"), "{quarantine:?}");
    let alerts = report["alerts"].as_array().unwrap();
    for kind in ["DRIFT", "SCAN_DISCREPANCY", "IMPLAUSIBLE_DROP"] {
        assert!(alerts.iter().any(|a| a["kind"] == kind), "no {kind} alert: {alerts:?}");
    }
    assert_eq!(report["paused_parts"].as_array().unwrap().len(), 1, "{}", report["paused_parts"]);
    let intervals = report["pm_intervals"].as_array().unwrap();
    assert!(intervals.iter().any(|r| r["basis"] == "FALLBACK" && r["reason"] == "NO_VALID_SAMPLES"));
    assert!(intervals.iter().any(|r| r["basis"] == "MTBF"));
    assert!(!report["procurement_requests_open"].as_array().unwrap().is_empty());
    let pending = json(&dir, &["work-orders", "list", "--state", "MATERIAL_PENDING", "--format", "json"]);
    assert!(!pending.as_array().unwrap().is_empty(), "no MATERIAL_PENDING work order");

    // An import into the demo's database is warned about (and done).
    std::fs::write(dir.join("mine.csv"), "site_id,timezone\nMINE,Europe/Paris\n").unwrap();
    let mine = cmms(&dir).args(["import", "sites", "mine.csv"]).output().unwrap();
    assert!(mine.status.success(), "{mine:?}");
    let warning = String::from_utf8_lossy(&mine.stderr);
    assert!(warning.contains("warning: ./cmms.db holds the site `cmms demo` built"), "{warning}");
    assert!(warning.contains("--database-url"), "{warning}");

    // Another seed on the same database is refused; --fresh rebuilds.
    let other = cmms(&dir).args(["demo", "--no-serve", "--seed", "8"]).output().unwrap();
    assert_eq!(other.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other.stderr).contains("holds the demo site of seed 7"), "{other:?}");
}

#[test]
fn demo_refuses_a_store_that_is_not_a_demo_database() {
    let dir = workdir("refuse");
    std::fs::write(dir.join("sites.csv"), "site_id,timezone\nMINE,Europe/Paris\n").unwrap();
    let ok = cmms(&dir).args(["import", "sites", "sites.csv"]).output().unwrap();
    assert!(ok.status.success(), "{ok:?}");
    assert!(!String::from_utf8_lossy(&ok.stderr).contains("warning"), "not a demo database: {ok:?}");
    let out = cmms(&dir).args(["demo", "--no-serve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a demo site") && stderr.contains("--fresh"), "{stderr}");
    // The data is untouched.
    let sites = cmms(&dir).args(["report", "--format", "json"]).output().unwrap();
    assert!(sites.status.success());
    assert!(!dir.join("cmms-demo-data").exists());

    let pg = cmms(&dir).args(["--database-url", "postgres://u@127.0.0.1:1/x", "demo", "--no-serve"]).output().unwrap();
    assert_eq!(pg.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&pg.stderr).contains("embedded SQLite file"), "{pg:?}");
}

#[test]
fn demo_serves_the_dashboard_and_api_with_the_printed_tokens() {
    let dir = workdir("serve");
    let mut child = cmms(&dir)
        .args(["demo", "--seed", "3", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut tokens = std::collections::HashMap::new();
    let addr = loop {
        let line = lines.next().expect("demo exited before serving").unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [name, token, ..] = words.as_slice()
            && name.starts_with("demo-")
            && token.starts_with("cmms_")
        {
            tokens.insert(name.to_string(), token.to_string());
        }
        if let Some(rest) = line.strip_prefix("Serving the dashboard and API on http://") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    assert!(!addr.ends_with(":0"), "the bound address is printed, not the requested one: {addr}");
    let health = http(&addr, "/healthz", None);
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    let read = tokens.get("demo-read").expect("a read token is printed");
    let parts = http(&addr, "/api/v1/parts?below_reorder=true", Some(read));
    assert!(parts.starts_with("HTTP/1.1 200") && parts.contains("\"part_id\""), "{parts}");
    let pending = http(&addr, "/api/v1/work-orders?state=MATERIAL_PENDING", Some(read));
    assert!(pending.starts_with("HTTP/1.1 200") && pending.contains("MATERIAL_PENDING"), "{pending}");
    assert!(http(&addr, "/api/v1/parts", None).starts_with("HTTP/1.1 401"));
    assert!(tokens.contains_key("demo-operate"));
    assert!(http(&addr, "/login", None).starts_with("HTTP/1.1 200"));

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "demo did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "demo exited with {status}");
}
