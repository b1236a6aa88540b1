//! Crash safety: `cmms serve` is killed with SIGKILL again and again while client threads push
//! consumption events, stock snapshots, failure events (the ingestion webhooks) and threshold
//! PUTs, and `cmms import` is killed mid-file; after every restart the clients retry what was not
//! acknowledged, as a real integration would. At the end every acknowledged record must be stored
//! exactly once, nothing sent may be missing, and the derived state after `cmms recompute` must
//! equal that of a clean replay: a fresh database that receives the same records, in the order
//! they were acknowledged, without crashes, recomputed with the same `--as-of`.
//!
//! `CMMS_CRASH_CYCLES` sets the number of kill/restart cycles (default 3; the acceptance run uses
//! 20, see RELIABILITY.md); `CMMS_CRASH_SEED` replays a run (the seed is printed). Runs on SQLite,
//! and on PostgreSQL when `CMMS_TEST_POSTGRES_URL` is set.

mod common;

use cmms_core::publication::ThresholdSync;
use cmms_store::Backend;
use cmms_store::testing::{TestDb, backends};
use common::{request, status_and_body, wait_until};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const PARTS: usize = 20;
const ASSETS: usize = 8;
/// The `--as-of` of both recomputes; every consumption event lies in the 90 days before it.
const AS_OF: &str = "2026-12-01T00:00:00Z";
const DAY_MS: i64 = 86_400_000;

/// xorshift64*: deterministic for a seed, no dependency.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn as_of_ms() -> i64 {
    AS_OF.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

/// One request a client sends, and the keys of the records it carries (as the store keys them).
#[derive(Clone, Debug)]
enum Job {
    Ingest { feed: &'static str, records: Vec<Value>, keys: Vec<String> },
    Put { part: String, seq: i64, body: String },
}

impl Job {
    fn send(&self, addr: &str, token: &str) -> std::io::Result<String> {
        match self {
            Job::Ingest { feed, records, .. } => {
                let body = serde_json::to_string(records).unwrap();
                request(addr, "POST", &format!("/api/v1/ingest/{feed}"), Some(token), Some(&body))
            }
            Job::Put { part, body, .. } => {
                request(addr, "PUT", &format!("/api/v1/inventory/thresholds/{part}"), Some(token), Some(body))
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Consumption,
    Inventory,
    Failures,
    Thresholds,
}

/// What the server answered to one request.
enum Answer {
    /// Stored; `already` when (part of) it had been stored by an earlier, unacknowledged attempt.
    Acknowledged { already: bool },
    /// Not acknowledged but the server is up (5xx): retry.
    Retry(u16),
    /// No complete answer: the server is gone.
    Lost,
}

/// One client: generates its requests, sends them one at a time, keeps the one not acknowledged
/// and sends it again before anything new. Lives across cycles.
struct Lane {
    kind: Kind,
    rng: Rng,
    n: u64,
    seqs: Vec<i64>,
    pending: Option<Job>,
    /// Acknowledged jobs with their global acknowledgement order.
    acked: Vec<(u64, Job)>,
    sent: u64,
    lost: u64,
    stored_before_ack: u64,
    server_errors: u64,
}

impl Lane {
    fn new(kind: Kind, seed: u64) -> Lane {
        Lane {
            kind,
            rng: Rng(seed | 1),
            n: 0,
            seqs: vec![0; PARTS],
            pending: None,
            acked: Vec::new(),
            sent: 0,
            lost: 0,
            stored_before_ack: 0,
            server_errors: 0,
        }
    }

    fn generate(&mut self) -> Job {
        let n = self.n;
        self.n += 1;
        let as_of = as_of_ms();
        match self.kind {
            Kind::Consumption => {
                let (mut records, mut keys) = (Vec::new(), Vec::new());
                for i in 0..20 {
                    let id = format!("H-{n}-{i}");
                    let part = self.rng.below(PARTS as u64);
                    let at = as_of - 1 - self.rng.below(89 * DAY_MS as u64) as i64;
                    records.push(json!({"event_id": id, "source": "ERP", "external_sku": format!("SKU-{part:02}"),
                        "quantity": 1 + self.rng.below(4), "consumed_at": rfc3339(at)}));
                    keys.push(format!("ERP/{id}"));
                }
                Job::Ingest { feed: "consumption", records, keys }
            }
            Kind::Inventory => {
                // Half of the SKUs per batch, each with its next sequence. Stock never falls as
                // the sequence rises, so the plausibility gate (a drop larger than consumption
                // explains) never holds one: the final stock is the last sequence's, in any order.
                let (mut records, mut keys) = (Vec::new(), Vec::new());
                for k in 0..PARTS / 2 {
                    let part = (n as usize * (PARTS / 2) + k) % PARTS;
                    self.seqs[part] += 1;
                    let seq = self.seqs[part];
                    records.push(json!({"source": "ERP", "sequence_id": seq, "external_sku": format!("SKU-{part:02}"),
                        "on_hand": 2 + seq / 3 + (part as i64 % 3), "observed_at": rfc3339(as_of - 30 * DAY_MS + seq * 3_600_000)}));
                    keys.push(format!("ERP/SKU-{part:02}/{seq}"));
                }
                Job::Ingest { feed: "inventory", records, keys }
            }
            Kind::Failures => {
                let (mut records, mut keys) = (Vec::new(), Vec::new());
                let from = "2024-01-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
                for a in 0..ASSETS {
                    let id = format!("HF-{n}-{a}");
                    let start = from + self.rng.below((as_of - 40 * DAY_MS - from) as u64) as i64;
                    let planned = self.rng.below(5) == 0;
                    let end = if planned { json!(rfc3339(start + 4 * 3_600_000)) } else { Value::Null };
                    records.push(json!({"event_id": id, "asset_id": format!("A-{a}"),
                        "event_type": if planned { "PLANNED" } else { "UNPLANNED" },
                        "started_at": rfc3339(start), "ended_at": end}));
                    keys.push(id);
                }
                Job::Ingest { feed: "failures", records, keys }
            }
            Kind::Thresholds => {
                let p = (n as usize) % PARTS;
                self.seqs[p] += 1;
                let seq = self.seqs[p];
                let min = (1 + (seq * 7 + p as i64) % 5) as f64;
                let part = format!("P-{p:02}");
                let at = jiff::Timestamp::from_millisecond(as_of).unwrap();
                let body = ThresholdSync::new(&part, 0.0, [min, min + 1.5, min + 5.5], seq, at);
                Job::Put { part, seq, body: serde_json::to_string(&body).unwrap() }
            }
        }
    }

    fn judge(&self, job: &Job, retry: bool, response: &str) -> Answer {
        let Some((status, body)) = status_and_body(response) else { return Answer::Lost };
        match (job, status) {
            (Job::Ingest { keys, .. }, 200) => {
                let report: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
                let results = report["results"].as_array().unwrap();
                assert_eq!(results.len(), keys.len(), "{body}");
                let mut already = false;
                for (r, key) in results.iter().zip(keys) {
                    match r["status"].as_str() {
                        Some("accepted") => {}
                        // A duplicate on a first attempt would mean a key was generated twice.
                        Some("duplicate") if retry => already = true,
                        _ => panic!("{key}: unexpected result {r} (retry: {retry})"),
                    }
                }
                Answer::Acknowledged { already }
            }
            (Job::Put { .. }, 200) => Answer::Acknowledged { already: false },
            // The sequence is in force already: the lost attempt was applied.
            (Job::Put { .. }, 409) if retry => Answer::Acknowledged { already: true },
            (_, 500..) => Answer::Retry(status),
            _ => panic!("{job:?}: unexpected answer {status}: {body}"),
        }
    }

    /// Sends until the server is gone; with `drain`, sends only the pending job (if any).
    fn run(mut self, addr: &str, token: &str, order: &AtomicU64, drain: bool) -> Lane {
        loop {
            let (job, retry) = match self.pending.take() {
                Some(job) => (job, true),
                None if drain => return self,
                None => (self.generate(), false),
            };
            self.sent += 1;
            let answer = job.send(addr, token).map_or(Answer::Lost, |r| self.judge(&job, retry, &r));
            match answer {
                Answer::Acknowledged { already } => {
                    self.stored_before_ack += u64::from(already);
                    self.acked.push((order.fetch_add(1, Ordering::SeqCst), job));
                }
                Answer::Retry(status) => {
                    eprintln!("crash: {:?} answered {status}; retrying", self.kind);
                    self.server_errors += 1;
                    self.pending = Some(job);
                    std::thread::sleep(Duration::from_millis(50));
                }
                Answer::Lost => {
                    self.lost += 1;
                    self.pending = Some(job);
                    return self;
                }
            }
        }
    }
}

fn cmms(dir: &Path, config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cmms"));
    c.current_dir(dir).env_remove("CMMS_DATABASE_URL").env_remove("CMMS_CONFIG").arg("--config").arg(config);
    c
}

fn run_ok(dir: &Path, config: &Path, args: &[&str]) -> String {
    let out = cmms(dir, config).args(args).output().unwrap();
    assert!(out.status.success(), "cmms {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// One database under test: its directory, config file and ingest token.
struct Site {
    dir: PathBuf,
    config: PathBuf,
    token: String,
}

impl Site {
    fn new(dir: PathBuf, url: &str) -> Site {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("cmms.toml");
        std::fs::write(&config, format!("database_url = \"{url}\"\nreconcile_seconds = 1\n")).unwrap();
        let master = dir.join("master");
        std::fs::create_dir_all(&master).unwrap();
        let write = |name: &str, text: String| std::fs::write(master.join(name), text).unwrap();
        write("sites.csv", "site_id,timezone\nPLANT-BER,Europe/Berlin\n".into());
        let mut parts = String::from(
            "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n",
        );
        let mut skus = String::from("source,external_sku,part_id\n");
        for p in 0..PARTS {
            parts += &format!("P-{p:02},part {p},EA,PLANT-BER,C{},{},,,\n", p % 3, 7 + p % 10);
            skus += &format!("ERP,SKU-{p:02},P-{p:02}\nWMS,W-{p:02},P-{p:02}\n");
        }
        write("parts.csv", parts);
        write("sku_map.csv", skus);
        let mut assets = String::from("asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n");
        let mut bom = String::from("asset_id,part_id,quantity\n");
        for a in 0..ASSETS {
            assets += &format!("A-{a},G,PLANT-BER,{},2026-11-{:02}T08:00:00+01:00\n", 30 + a * 10, 1 + a);
            bom += &format!("A-{a},P-{:02},2\nA-{a},P-{:02},1\n", a * 2, a * 2 + 1);
        }
        write("assets.csv", assets);
        write("asset_parts.csv", bom);
        for kind in ["sites", "parts", "sku_map", "assets", "asset_parts"] {
            run_ok(&dir, &config, &["import", kind, &format!("master/{kind}.csv")]);
        }
        let token = run_ok(&dir, &config, &["token", "create", "--scope", "ingest", "--name", "crash"]);
        Site { token: token.trim().to_owned(), dir, config }
    }

    /// Starts `cmms serve` on a free port and waits until it answers `/healthz`.
    fn serve(&self, n: usize) -> (Child, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(self.dir.join(format!("serve-{n}.log"))).unwrap();
        let child = cmms(&self.dir, &self.config)
            .args(["serve", "--listen", &addr, "--log", "warn"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        wait_until(Duration::from_secs(30), "cmms serve answers /healthz", || {
            request(&addr, "GET", "/healthz", None, None).is_ok_and(|r| r.starts_with("HTTP/1.1 200"))
        });
        (child, addr)
    }

    fn cmms(&self, args: &[&str]) -> String {
        run_ok(&self.dir, &self.config, args)
    }

    /// The derived state: exports and report after `cmms recompute --as-of AS_OF`.
    fn derived(&self) -> BTreeMap<&'static str, Value> {
        self.cmms(&["recompute", "--as-of", AS_OF]);
        let mut state = BTreeMap::new();
        for what in ["thresholds", "intervals", "work-orders", "procurement"] {
            let out = self.cmms(&["export", what, "--format", "json"]);
            let mut rows: Value = serde_json::from_str(&out).unwrap();
            if what == "procurement" {
                // Open requests only. Closed (FULFILLED) ones are the history of the intermediate
                // states routing happened to see — which deliveries had arrived when a request or
                // reconciliation cycle ran — and differ between any two runs with concurrent
                // clients, crash or not. The requests open now follow from the final state.
                // Their `reason` (here and in the report) is the text written when the request was raised ("available
                // stock 6 is below …"); resizing to the current state updates the quantity only.
                rows.as_array_mut().unwrap().retain(|r| r["status"] == "OPEN");
                for r in rows.as_array_mut().unwrap() {
                    r.as_object_mut().unwrap().remove("reason");
                }
            }
            state.insert(what, comparable(rows));
        }
        let mut report: Value = serde_json::from_str(&self.cmms(&["report", "--format", "json"])).unwrap();
        for r in report["procurement_requests_open"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("reason"); // As for the export, below.
        }
        state.insert("report", comparable(report));
        state
    }
}

/// Drops what legitimately differs between two stores that hold the same records: row ids (and
/// references to them), and wall-clock instants of receipt and change (`created_at…`,
/// `updated_at…`, `raised_at`…: when a process ran, not what it decided). Everything else —
/// stock, thresholds in force and their basis and sequence, intervals and due dates, work-order
/// states, open procurement requests and their quantities, alerts, quarantine — must be equal.
fn comparable(v: Value) -> Value {
    const WALL_CLOCK: [&str; 10] = [
        "id",
        "previous_id",
        "created_at",
        "created_at_utc",
        "updated_at",
        "updated_at_utc",
        "raised_at",
        "resolved_at",
        "received_at",
        "computed_at",
    ];
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| !WALL_CLOCK.contains(&k.as_str()))
                .map(|(k, v)| (k, comparable(v)))
                .collect(),
        ),
        // Rows come in id order; without ids, as a set.
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(comparable).collect();
            items.sort_by_cached_key(Value::to_string);
            Value::Array(items)
        }
        other => other,
    }
}

/// The import files of one cycle: a consumption or failures file, a tenth of whose rows repeat
/// the previous file of its kind (first delivery wins: those are duplicates, not new events).
struct ImportFile {
    kind: &'static str,
    name: String,
    keys: Vec<String>,
    /// How many of the first `keys` repeat the previous file.
    repeated: usize,
}

fn write_import(
    dir: &Path,
    cycle: usize,
    kind: &'static str,
    rng: &mut Rng,
    previous: &mut Vec<(String, String)>,
) -> ImportFile {
    // A feed import commits every 50,000 rows: a consumption file of two transactions can be
    // killed between them.
    let rows_wanted = if kind == "consumption" { 52_000 } else { 4_000 };
    let as_of = as_of_ms();
    let mut rows: Vec<(String, String)> = previous.iter().rev().take(rows_wanted / 10).cloned().collect();
    let repeated = rows.len();
    let from = "2024-01-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
    while rows.len() < rows_wanted {
        let i = rows.len();
        let row = if kind == "consumption" {
            let id = format!("I{cycle}-{i}");
            let at = as_of - 1 - rng.below(89 * DAY_MS as u64) as i64;
            let line = format!("{id},WMS,W-{:02},{},{}", rng.below(PARTS as u64), 1 + rng.below(3), rfc3339(at));
            (format!("WMS/{id}"), line)
        } else {
            let id = format!("IF{cycle}-{i}");
            let start = from + rng.below((as_of - 40 * DAY_MS - from) as u64) as i64;
            (id.clone(), format!("{id},A-{},UNPLANNED,{},", rng.below(ASSETS as u64), rfc3339(start)))
        };
        rows.push(row);
    }
    let header = if kind == "consumption" {
        "event_id,source,external_sku,quantity,consumed_at"
    } else {
        "event_id,asset_id,event_type,started_at,ended_at"
    };
    let name = format!("import-{cycle}-{kind}.csv");
    let text: String =
        std::iter::once(header.to_owned()).chain(rows.iter().map(|r| r.1.clone())).collect::<Vec<_>>().join("\n");
    std::fs::write(dir.join(&name), text + "\n").unwrap();
    let keys = rows.iter().map(|r| r.0.clone()).collect();
    *previous = rows;
    ImportFile { kind, name, keys, repeated }
}

/// Keys as the store holds them, per record kind.
async fn stored_keys(store: &cmms_store::Store) -> BTreeMap<&'static str, Vec<String>> {
    let mut keys = BTreeMap::new();
    for (kind, table, expr) in [
        ("consumption", "consumption", "source || '/' || event_id"),
        ("inventory", "inventory_snapshots", "source || '/' || external_sku || '/' || sequence_id"),
        ("failures", "failure_events", "event_id"),
        ("thresholds", "received_thresholds", "part_id || '/' || sequence_id"),
    ] {
        let mut stored = store.column_texts(table, expr).await.unwrap();
        stored.sort_unstable();
        keys.insert(kind, stored);
    }
    keys
}

fn job_keys(job: &Job) -> (&'static str, Vec<String>) {
    match job {
        Job::Ingest { feed, keys, .. } => (feed, keys.clone()),
        Job::Put { part, seq, .. } => ("thresholds", vec![format!("{part}/{seq}")]),
    }
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush, no cleanup.
    child.wait().unwrap();
}

fn terminate(mut child: Child) {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");
}

fn run(backend: Backend, cycles: usize, seed: u64) {
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db = rt.block_on(TestDb::new(backend));
    let base = std::env::temp_dir().join(format!("cmms-cli-crash-{}-{backend}", std::process::id()));
    let site = Site::new(base.join("crashed"), &db.url);
    let mut rng = Rng(seed | 1);
    let order = Arc::new(AtomicU64::new(0));
    let kinds = [Kind::Consumption, Kind::Inventory, Kind::Failures, Kind::Thresholds];
    let mut lanes: Vec<Lane> = kinds.iter().map(|k| Lane::new(*k, rng.next())).collect();
    let mut imports: Vec<ImportFile> = Vec::new();
    let mut previous: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    let (mut imports_killed, mut import_rows_at_kill) = (0, Vec::new());
    let mut import_time: BTreeMap<&str, Duration> = BTreeMap::new();

    for cycle in 0..cycles {
        let (server, addr) = site.serve(cycle);
        let handles: Vec<_> = lanes
            .drain(..)
            .map(|lane| {
                let (addr, token, order) = (addr.clone(), site.token.clone(), order.clone());
                std::thread::spawn(move || lane.run(&addr, &token, &order, false))
            })
            .collect();
        // Every other cycle, an import runs beside the clients and is killed mid-file, then run
        // again to completion (while the server still takes requests).
        if cycle % 2 == 1 {
            let kind = if cycle % 4 == 1 { "consumption" } else { "failures" };
            let file = write_import(&site.dir, cycle, kind, &mut rng, previous.entry(kind).or_default());
            let mut import = cmms(&site.dir, &site.config)
                .args(["import", kind, &file.name])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // Killed at a random point of its expected run time (that of the last run to
            // completion of its kind).
            let expected = import_time.get(kind).copied().unwrap_or(Duration::from_millis(300));
            std::thread::sleep(expected.mul_f64(rng.below(1000) as f64 / 1000.0));
            if import.try_wait().unwrap().is_none() {
                imports_killed += 1;
                kill(import);
                let stored = rt.block_on(stored_keys(&db.store));
                let present: BTreeSet<&String> = stored[kind].iter().collect();
                import_rows_at_kill.push(file.keys[file.repeated..].iter().filter(|k| present.contains(k)).count());
            } else {
                eprintln!("crash: cycle {cycle}: the import finished before the kill");
            }
            let again = Instant::now();
            let out = cmms(&site.dir, &site.config).args(["import", kind, &file.name]).output().unwrap();
            assert!(out.status.success(), "re-import {}: {out:?}", file.name);
            import_time.insert(kind, again.elapsed());
            imports.push(file);
        }
        std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
        kill(server);
        lanes = handles.into_iter().map(|h| h.join().expect("a client thread panicked")).collect();
        let pending = lanes.iter().filter(|l| l.pending.is_some()).count();
        eprintln!("crash: {backend} cycle {cycle}: killed with {pending} requests unanswered");
    }

    // Restart once more; every client sends what is still unacknowledged.
    let (server, addr) = site.serve(cycles);
    lanes = lanes.into_iter().map(|l| l.run(&addr, &site.token, &order, true)).collect();
    assert!(lanes.iter().all(|l| l.pending.is_none()), "every request is acknowledged in the end");
    // An acknowledged request sent once more changes nothing.
    for lane in &lanes {
        let Some((_, job)) = lane.acked.last() else { continue };
        let response = job.send(&addr, &site.token).unwrap();
        assert!(matches!(lane.judge(job, true, &response), Answer::Acknowledged { already: true }), "{response}");
    }
    terminate(server);

    // Every record sent is stored exactly once: acknowledged ones, and the ones whose answer was
    // lost (their retry was acknowledged); nothing else.
    let mut expected: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for lane in &lanes {
        for (_, job) in &lane.acked {
            let (kind, keys) = job_keys(job);
            expected.entry(kind).or_default().extend(keys);
        }
    }
    for file in &imports {
        expected.entry(file.kind).or_default().extend(file.keys.iter().cloned());
    }
    let stored = rt.block_on(stored_keys(&db.store));
    let mut records = 0;
    for (kind, keys) in &stored {
        let unique: BTreeSet<String> = keys.iter().cloned().collect();
        assert_eq!(unique.len(), keys.len(), "{kind}: a record is stored twice");
        let want = expected.remove(kind).unwrap_or_default();
        let missing: Vec<_> = want.difference(&unique).take(10).collect();
        let extra: Vec<_> = unique.difference(&want).take(10).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{kind}: missing {missing:?}, unexpected {extra:?}");
        assert!(!keys.is_empty(), "{kind}: nothing was stored");
        records += keys.len();
    }
    let crashed = site.derived();

    // The clean replay: the same records into a fresh database through the same paths (webhooks,
    // threshold PUT, import), with no crash: each client sends its requests once, in the order
    // they were acknowledged, beside the other clients (as in the crashed run).
    let clean_db = rt.block_on(TestDb::new(backend));
    let clean = Site::new(base.join("clean"), &clean_db.url);
    let (server, addr) = clean.serve(0);
    std::thread::scope(|scope| {
        for lane in &lanes {
            let (addr, token) = (&addr, &clean.token);
            scope.spawn(move || {
                for (_, job) in &lane.acked {
                    let response = job.send(addr, token).unwrap();
                    let answer = lane.judge(job, false, &response);
                    assert!(matches!(answer, Answer::Acknowledged { already: false }), "{response}");
                }
            });
        }
    });
    terminate(server);
    for file in &imports {
        std::fs::copy(site.dir.join(&file.name), clean.dir.join(&file.name)).unwrap();
        clean.cmms(&["import", file.kind, &file.name]);
    }
    assert!(rt.block_on(stored_keys(&clean_db.store)) == stored, "the replay holds the same records");
    let replayed = clean.derived();
    for (what, state) in &crashed {
        assert_eq!(state, &replayed[what], "{what}: the crashed store's derived state differs from the clean replay");
    }
    assert!(
        crashed["procurement"].as_array().is_some_and(|a| !a.is_empty()),
        "the comparison covers procurement requests"
    );
    assert!(crashed["work-orders"].as_array().is_some_and(|a| !a.is_empty()), "the comparison covers work orders");

    let sum = |f: fn(&Lane) -> u64| lanes.iter().map(f).sum::<u64>();
    println!(
        "crash safety on {backend}: {cycles} SIGKILL cycles of cmms serve, {imports_killed} imports killed mid-file \
         (new rows committed at the kill: {import_rows_at_kill:?}); {} requests sent, {} acknowledged, {} answers \
         lost to a kill, {} of those found stored on retry, {} 5xx; {records} records stored exactly once; derived \
         state equals the clean replay; {:.1} s (seed {seed})",
        sum(|l| l.sent),
        sum(|l| l.acked.len() as u64),
        sum(|l| l.lost),
        sum(|l| l.stored_before_ack),
        sum(|l| l.server_errors),
        started.elapsed().as_secs_f64()
    );
    assert!(sum(|l| l.lost) > 0, "no request was in flight at a kill: the test did not test anything");
    rt.block_on(db.cleanup());
    rt.block_on(clean_db.cleanup());
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn killed_server_and_import_lose_nothing_double_nothing_and_derive_the_clean_replay_state() {
    let cycles = std::env::var("CMMS_CRASH_CYCLES").ok().map_or(3, |v| v.parse().expect("CMMS_CRASH_CYCLES: a number"));
    let seed = std::env::var("CMMS_CRASH_SEED").ok().map_or_else(
        || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64,
        |v| v.parse().expect("CMMS_CRASH_SEED: a number"),
    );
    for backend in backends() {
        run(backend, cycles, seed);
    }
}
