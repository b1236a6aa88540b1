//! End-to-end tests of the `cmms` binary: imports, exit codes, API tokens, routing after `recompute`,
//! `serve` health and shutdown.

mod common;
#[path = "../../pipeline/tests/common/lives.rs"]
#[allow(dead_code, reason = "the fixture's WEAR/FEW/RAND log is the pipeline tests'")]
mod lives;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cmms-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cmms(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cmms"));
    c.current_dir(dir).env_remove("CMMS_DATABASE_URL").env_remove("CMMS_CONFIG");
    c
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline/tests/fixtures").join(name)
}

#[test]
fn import_reports_rejected_rows_with_file_and_line_and_exit_code_3() {
    let dir = workdir("import");
    let ok = cmms(&dir).args(["import", "sites"]).arg(fixture("sites.csv")).output().unwrap();
    assert!(ok.status.success(), "{ok:?}");
    assert!(dir.join("cmms.db").exists(), "the default store is ./cmms.db, created on first use");

    let out = cmms(&dir).args(["import", "parts"]).arg(fixture("parts_with_bad_rows.csv")).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("parts_with_bad_rows.csv:3: lead_time_days: must not be negative"), "{stderr}");
    assert!(stderr.contains("parts_with_bad_rows.csv:8: duplicate part_id"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("8 rows read — 2 inserted, 0 updated, 0 unchanged, 6 rejected"), "{stdout}");

    let json = cmms(&dir).args(["import", "parts", "--json"]).arg(fixture("parts_with_bad_rows.csv")).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["counts"]["unchanged"], 2);
    assert_eq!(report["rejected"], 6);
}

/// A part whose stored data breaks a rule no longer stops the recompute of every part: it gets a
/// status with the reason in the run's output, `report` and `export`, and the exit code says
/// "completed with part errors" (4).
#[test]
fn recompute_completes_with_part_errors_and_exit_code_4() {
    let dir = workdir("part-errors");
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/site");
    for kind in ["sites", "parts", "sku_map", "consumption"] {
        let out = cmms(&dir).args(["import", kind]).arg(site.join(format!("{kind}.csv"))).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 3)), "{kind}: {out:?}");
    }
    // As an older version or a hand edit could have left it: a class the import would refuse.
    let url = format!("sqlite://{}", dir.join("cmms.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = cmms_store::Store::open(&url).await.unwrap();
        store.execute_raw("UPDATE parts SET part_class = 'no such class!' WHERE part_id = 'BRG-6204'").await.unwrap();
        store.close().await;
    });
    let out = cmms(&dir).args(["recompute", "--as-of", "2026-10-31T00:00:00Z"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("completed with part errors: 1 part(s)"), "{stderr}");
    assert!(stderr.contains("part BRG-6204: INVALID_INPUT — part class"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("status OK: "), "the other parts were computed: {stdout}");

    let report = cmms(&dir).arg("report").output().unwrap();
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.contains("BRG-6204: INVALID_INPUT — part class"), "{text}");
    let export = cmms(&dir).args(["export", "thresholds", "--format", "json"]).output().unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    let brg = rows.as_array().unwrap().iter().find(|r| r["part_id"] == "BRG-6204").unwrap();
    assert_eq!(brg["status"], "INVALID_INPUT", "{brg}");
    assert!(brg["status_reason"].as_str().unwrap().contains("part class"), "{brg}");
}

/// A feed with many unmappable SKUs does not flood the recompute's output: the 20 holding the
/// most records are named, the rest summed up.
#[test]
fn recompute_names_the_quarantined_skus_holding_most_and_sums_up_the_rest() {
    let dir = workdir("quarantine-summary");
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/site");
    for kind in ["sites", "parts", "sku_map"] {
        let out = cmms(&dir).args(["import", kind]).arg(site.join(format!("{kind}.csv"))).output().unwrap();
        assert!(out.status.success(), "{kind}: {out:?}");
    }
    // SKU X-01 holds 1 record, X-02 2 … X-25 25 (325 records in all).
    let mut csv = String::from("event_id,source,external_sku,quantity,consumed_at\n");
    for sku in 1..=25 {
        for n in 0..sku {
            csv.push_str(&format!("E-{sku}-{n},ERP,X-{sku:02},1,2026-08-01T09:00:00Z\n"));
        }
    }
    std::fs::write(dir.join("unmapped.csv"), csv).unwrap();
    let out = cmms(&dir).args(["import", "consumption", "unmapped.csv"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = cmms(&dir).args(["recompute", "--as-of", "2026-10-31T00:00:00Z"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let named: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  quarantined ")).collect();
    assert_eq!(named.len(), 20, "{stdout}");
    assert!(named[0].contains("ERP/X-25 (UNMAPPED): 25 record(s) held"), "{stdout}");
    assert!(named[19].contains("ERP/X-06 (UNMAPPED): 6 record(s) held"), "{stdout}");
    assert!(stdout.contains("  … and 5 more SKU(s) holding 15 record(s)"), "X-01..X-05: {stdout}");
}

#[test]
fn recompute_routes_and_report_lists_open_procurement_requests() {
    let dir = workdir("routing");
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/site");
    for kind in ["sites", "parts", "sku_map", "assets", "asset_parts", "consumption", "inventory"] {
        let out = cmms(&dir).args(["import", kind]).arg(site.join(format!("{kind}.csv"))).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 3)), "{kind}: {out:?}");
    }
    let run = |args: &[&str]| {
        let out = cmms(&dir).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    // BRG-6204 and FLT-AHU-592 are below their reorder points; both PMs need one of them.
    let first = run(&["recompute", "--as-of", "2026-10-31T00:00:00Z"]);
    assert!(
        first.contains(
            "routing: procurement requests 2 raised, 0 resized, 0 fulfilled; work orders 2 held for material"
        ),
        "{first}"
    );
    let again = run(&["recompute", "--as-of", "2026-10-31T00:00:00Z"]);
    assert!(
        again.contains("routing: procurement requests 0 raised, 0 resized, 0 fulfilled; work orders 0 held"),
        "{again}"
    );
    // Nothing changed since the first run: no part is computed again, unless --all asks for it.
    assert!(again.contains(": 0 parts computed, "), "{again}");
    let all = run(&["recompute", "--as-of", "2026-10-31T00:00:00Z", "--all"]);
    assert!(all.contains("parts computed (all), 0 unchanged inputs skipped, 0 changed"), "{all}");
    let report: serde_json::Value = serde_json::from_str(&run(&["report", "--format", "json"])).unwrap();
    let mut parts: Vec<&str> = report["procurement_requests_open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["part_id"].as_str().unwrap())
        .collect();
    parts.sort_unstable();
    assert_eq!(parts, ["BRG-6204", "FLT-AHU-592"]);
    let table = run(&["report"]);
    assert!(table.contains("Procurement requests (2 open)"), "{table}");
    let orders: serde_json::Value = serde_json::from_str(&run(&["work-orders", "list", "--format", "json"])).unwrap();
    let states: Vec<&str> = orders.as_array().unwrap().iter().map(|w| w["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["MATERIAL_PENDING", "MATERIAL_PENDING"]);

    let csv = run(&["export", "procurement"]);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("id,part_id,quantity,status,reason,created_at_utc,updated_at_utc"));
    assert_eq!(lines.filter(|l| l.contains(",OPEN,")).count(), 2, "{csv}");
    let exported: serde_json::Value =
        serde_json::from_str(&run(&["export", "work-orders", "--format", "json"])).unwrap();
    let first = &exported[0];
    assert_eq!(first["state"], "MATERIAL_PENDING");
    assert!(first["due_at_utc"].as_str().unwrap().ends_with('Z'), "{first}");
    run(&["export", "thresholds", "--output", "thresholds.csv"]);
    let thresholds = std::fs::read_to_string(dir.join("thresholds.csv")).unwrap();
    assert!(
        thresholds.starts_with("part_id,site_id,part_class,unit,lead_time_days,pack_size,min_order_qty,on_hand,"),
        "{thresholds}"
    );
    assert!(thresholds.lines().any(|l| l.starts_with("BRG-6204,")), "{thresholds}");
    let intervals = run(&["export", "intervals"]);
    assert!(intervals.starts_with("asset_id,asset_group,site_id,status,basis,reason,n_samples,"), "{intervals}");
}

/// `[pm] method = "weibull_cost"` on a failure log that names components (a bearing that wears out,
/// a fan that fails at random): `cmms report` shows the life-model table with the deciding
/// component, `cmms export intervals` its `life_component`, basis and `T*`.
#[test]
fn weibull_cost_report_and_export_name_the_deciding_component() {
    let dir = workdir("weibull");
    let as_of: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    let (bearing, fan, start) = lives::bearing_and_fan(as_of);
    let failures = [
        lives::FAILURES_HEADER.to_owned(),
        format!("MIX-0,MIX,PLANNED_REPLACEMENT,{start},,\n"),
        lives::renewal_rows("MIX", "BEARING", start, &bearing),
        lives::renewal_rows("MIX", "FAN", start, &fan),
    ]
    .concat();
    let files = [
        ("sites.csv", "site_id,timezone\nNY,America/New_York\n".to_owned()),
        (
            "assets.csv",
            "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\nMIX,PUMPS,NY,30,\n".to_owned(),
        ),
        ("failures.csv", failures),
        ("weibull.toml", "[pm]\nmethod = \"weibull_cost\"\nfailure_cost = 5.0\npm_cost = 1.0\n".to_owned()),
    ];
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let run = |args: &[&str]| {
        let out = cmms(&dir).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    for kind in ["sites", "assets", "failures"] {
        run(&["import", kind, &format!("{kind}.csv")]);
    }
    run(&["formulas", "load", "weibull.toml"]);
    run(&["recompute", "--as-of", "2024-06-01T00:00:00Z"]);
    let report = run(&["report"]);
    assert!(report.contains("Life models and PM decisions"), "{report}");
    let mix = report.lines().rev().find(|l| l.trim_start().starts_with("MIX ")).unwrap();
    assert!(mix.contains("BEARING") && mix.contains("OWN"), "{report}");
    let exported: serde_json::Value = serde_json::from_str(&run(&["export", "intervals", "--format", "json"])).unwrap();
    let row = &exported[0];
    assert_eq!((&row["life_component"], &row["basis"]), (&serde_json::json!("BEARING"), &serde_json::json!("WEIBULL")));
    assert!(row["t_star_hours"].as_f64().unwrap() > 0.0, "{row}");
}

/// `cmms events void` takes absurd consumption out of a part's thresholds (recomputing at once),
/// records who and why, refuses a second void (exit 5), and `restore` brings the values back.
#[test]
fn events_void_and_restore_recompute_the_touched_part() {
    let dir = workdir("events");
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/site");
    for kind in ["sites", "parts", "sku_map", "consumption"] {
        let out = cmms(&dir).args(["import", kind]).arg(site.join(format!("{kind}.csv"))).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 3)), "{kind}: {out:?}");
    }
    let run = |args: &[&str]| {
        let out = cmms(&dir).env("USER", "alice").args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let as_of = "2026-10-31T00:00:00Z";
    let brg = |run: &dyn Fn(&[&str]) -> String| -> serde_json::Value {
        let all: serde_json::Value = serde_json::from_str(&run(&["export", "thresholds", "--format", "json"])).unwrap();
        let row = all.as_array().unwrap().iter().find(|r| r["part_id"] == "BRG-6204").unwrap();
        // The drift alert names the computed values, also while the fallback is published.
        let report: serde_json::Value = serde_json::from_str(&run(&["report", "--format", "json"])).unwrap();
        let drift =
            report["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "DRIFT" && a["subject"] == "BRG-6204");
        serde_json::json!([row["min"], row["reorder"], row["max"], row["basis"], drift.map(|a| a["message"].clone())])
    };
    run(&["recompute", "--as-of", as_of]);
    let sound = brg(&run);
    let absurd = dir.join("absurd.csv");
    std::fs::write(
        &absurd,
        "event_id,source,external_sku,quantity,consumed_at\nX-1,ERP,10004711,40000,2026-10-20T08:00:00Z\n\
         X-2,ERP,10004711,70000,2026-10-21T08:00:00Z\n",
    )
    .unwrap();
    run(&["import", "consumption", absurd.to_str().unwrap()]);
    run(&["recompute", "--as-of", as_of]);
    let inflated = brg(&run);
    assert_ne!(inflated, sound);

    let out = run(&["events", "void", "ERP", "X-1", "--reason", "keyed in as grams", "--as-of", as_of]);
    assert!(out.contains("voided consumption event ERP/X-1"), "{out}");
    assert!(out.contains(": 1 parts computed, 1 changed"), "only the touched part is recomputed: {out}");
    run(&["events", "void", "ERP", "X-2", "--reason", "keyed in as grams", "--as-of", as_of]);
    assert_eq!(brg(&run), sound, "the thresholds are back without a separate recompute");

    let again = cmms(&dir).args(["events", "void", "ERP", "X-1", "--reason", "again"]).output().unwrap();
    assert_eq!(again.status.code(), Some(5), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("ALREADY_VOIDED"), "{again:?}");
    let voids: serde_json::Value = serde_json::from_str(&run(&["events", "list", "--format", "json"])).unwrap();
    assert_eq!(voids.as_array().unwrap().len(), 2, "{voids}");
    assert_eq!(
        (&voids[0]["voided_by"], &voids[0]["reason"]),
        (&serde_json::json!("cli:alice"), &serde_json::json!("keyed in as grams"))
    );

    run(&["events", "restore", "ERP", "X-1", "--reason", "they were right", "--as-of", as_of]);
    run(&["events", "restore", "ERP", "X-2", "--as-of", as_of]);
    assert_eq!(brg(&run), inflated, "restore is the inverse of void");
    assert!(run(&["events", "list"]).lines().count() == 1, "no void in force, only the header");
}

#[test]
fn missing_file_and_unknown_format_are_clear_errors() {
    let dir = workdir("errors");
    let out = cmms(&dir).args(["import", "parts", "nope.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.csv"));
    std::fs::write(dir.join("parts.txt"), "x").unwrap();
    let out = cmms(&dir).args(["import", "parts", "parts.txt"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("use a .csv or .json file"));
}

#[test]
fn help_lists_every_command_of_the_interface() {
    let dir = workdir("help");
    let help = cmms(&dir).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for sub in [
        "serve",
        "import",
        "recompute",
        "report",
        "export",
        "dlq",
        "publish",
        "quarantine",
        "formulas",
        "thresholds",
        "events",
        "token",
        "demo",
        "compute",
    ] {
        assert!(help.contains(&format!("  {sub}")), "--help lacks {sub}:\n{help}");
    }
}

#[test]
fn token_create_list_revoke() {
    let dir = workdir("token");
    let out = cmms(&dir).args(["token", "create", "--scope", "read", "--name", "x"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.trim_end_matches('\n');
    assert!(!token.contains('\n'), "the token alone on stdout: {stdout:?}");
    assert!(token.starts_with("cmms_") && token.len() == 69, "{token:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be shown again"));

    let both = cmms(&dir).args(["token", "create", "--scope", "ingest,operate", "--scope", "admin"]).output().unwrap();
    assert!(both.status.success(), "{both:?}");

    let list = cmms(&dir).args(["token", "list"]).output().unwrap();
    let table = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success() && table.contains(" x ") && table.contains("token-2"), "{table}");
    assert!(table.contains("ingest,operate,admin"), "{table}");
    assert!(!table.contains(token) && !table.contains(&token[5..]), "{table}");
    let json = cmms(&dir).args(["token", "list", "--format", "json"]).output().unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows[0]["name"], "x");
    assert_eq!(rows[0]["scopes"], "read");
    assert!(rows[0].get("token_hash").is_none() && rows[0]["revoked_at"].is_null(), "{rows}");

    let revoke = cmms(&dir).args(["token", "revoke", "x"]).output().unwrap();
    assert!(revoke.status.success(), "{revoke:?}");
    assert!(String::from_utf8_lossy(&revoke.stdout).contains("revoked API token 1 (x)"));
    let json = cmms(&dir).args(["token", "list", "--format", "json"]).output().unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(rows[0]["revoked_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{rows}");

    let unknown = cmms(&dir).args(["token", "revoke", "x"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no token with id or active name \"x\""));
    let bad_scope = cmms(&dir).args(["token", "create", "--scope", "write"]).output().unwrap();
    assert_eq!(bad_scope.status.code(), Some(2));
    assert!(bad_scope.stdout.is_empty());
}

#[test]
fn serve_answers_healthz_and_exits_cleanly_on_sigterm() {
    let dir = workdir("serve");
    let mut child =
        cmms(&dir).args(["serve", "--listen", "127.0.0.1:0", "--log", "info"]).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve exited before listening").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let response = common::get(&addr, "/healthz", None);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""status":"ok""#) && response.contains(r#""store":"sqlite""#), "{response}");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "serve exited with {status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("SIGTERM received")), "{rest:?}");
}

#[test]
fn implausible_times_are_refused_and_a_completion_can_be_corrected() {
    let dir = workdir("time");
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/site");
    for kind in ["sites", "parts", "sku_map", "assets", "asset_parts"] {
        let out = cmms(&dir).args(["import", kind]).arg(site.join(format!("{kind}.csv"))).output().unwrap();
        assert!(out.status.success(), "{kind}: {out:?}");
    }
    // A feed row dated 9999 is a rejected row naming file, line and field; the good row lands.
    let feed = dir.join("inventory.csv");
    std::fs::write(
        &feed,
        "source,sequence_id,external_sku,on_hand,observed_at\nERP,1,10004711,9,2026-11-01T00:00:00Z\n\
         ERP,2,10004711,9,9999-12-30T00:00:00Z\n",
    )
    .unwrap();
    let out = cmms(&dir).args(["import", "inventory"]).arg(&feed).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("inventory.csv:3: observed_at: 9999-12-30T00:00:00Z is in the future"), "{stderr}");

    let run = |args: &[&str]| cmms(&dir).args(args).output().unwrap();
    assert!(run(&["recompute"]).status.success());
    let orders: serde_json::Value =
        serde_json::from_slice(&run(&["work-orders", "list", "--asset", "CHILLER-01", "--format", "json"]).stdout)
            .unwrap();
    let id = orders[0]["id"].as_i64().unwrap().to_string();
    for action in ["release", "start"] {
        assert!(run(&["work-orders", "transition", &id, action]).status.success());
    }
    let future = run(&["work-orders", "complete", &id, "--at", "2062-01-01T00:00:00Z"]);
    assert_eq!(future.status.code(), Some(5), "{future:?}");
    assert!(String::from_utf8_lossy(&future.stderr).contains("[TIMESTAMP_OUT_OF_RANGE]"), "{future:?}");
    let done = run(&["work-orders", "complete", &id]);
    assert!(done.status.success(), "{done:?}");

    // The completion was really yesterday: correct it; the next PM moves a day earlier.
    let due = |dir: &Path| {
        let out = cmms(dir).args(["work-orders", "list", "--state", "SCHEDULED", "--format", "json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let w = v.as_array().unwrap().iter().find(|w| w["asset_id"] == "CHILLER-01").unwrap().clone();
        // RFC 3339 with the site's offset (docs/contract.md "Timestamps").
        w["due_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_millisecond()
    };
    let before = due(&dir);
    let yesterday = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24)).to_string();
    let missing = run(&["work-orders", "correct-completion", &id, "--at", &yesterday, "--reason", " "]);
    assert_eq!(missing.status.code(), Some(5), "{missing:?}");
    let fixed = run(&["work-orders", "correct-completion", &id, "--at", &yesterday, "--reason", "entered a day late"]);
    assert!(fixed.status.success(), "{fixed:?}");
    assert!(String::from_utf8_lossy(&fixed.stdout).contains("rescheduled from the corrected completion"), "{fixed:?}");
    let after = due(&dir);
    assert!(before - after > 23 * 3_600_000 && before - after < 25 * 3_600_000, "{before} -> {after}");
}

#[test]
fn csv_exports_escape_spreadsheet_formulas_unless_asked_not_to() {
    use cmms_store::testing::{TestDb, backends};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for backend in backends() {
        let db = rt.block_on(TestDb::new(backend));
        let dir = workdir(&format!("export-{backend}"));
        std::fs::write(
            dir.join("parts.csv"),
            "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n\
             P-1,@SUM(A1),\"=HYPERLINK(\"\"http://evil.example\"\",\"\"pcs\"\")\",PLANT-BER,C,7,4,5,7.5\n\
             P-2,-2+3,+EA,PLANT-BER,C,7,,,\n",
        )
        .unwrap();
        let sites = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/site/sites.csv");
        let run = |args: &[&str]| {
            let out = cmms(&dir).arg("--database-url").arg(&db.url).args(args).output().unwrap();
            assert!(out.status.success(), "{backend} {args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        run(&["import", "sites", sites.to_str().unwrap()]);
        run(&["import", "parts", "parts.csv"]);

        let csv = run(&["export", "thresholds"]);
        let p1 = csv.lines().find(|l| l.starts_with("P-1,")).unwrap_or_else(|| panic!("{csv}"));
        assert_eq!(
            p1,
            "P-1,PLANT-BER,C,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"pcs\"\")\",7.0,,,,,,,,,,,NOT_COMPUTED,,,,,,,,,",
            "{backend}: the formula is text; the numbers stay numbers"
        );
        let p2 = csv.lines().find(|l| l.starts_with("P-2,")).unwrap_or_else(|| panic!("{csv}"));
        assert!(p2.starts_with("P-2,PLANT-BER,C,'+EA,7.0,"), "{backend}: {p2}");

        let raw = run(&["export", "thresholds", "--no-formula-escape"]);
        assert!(raw.contains(",\"=HYPERLINK(") && raw.contains(",+EA,"), "{backend}: as stored: {raw}");
        let json: serde_json::Value =
            serde_json::from_str(&run(&["export", "thresholds", "--format", "json"])).unwrap();
        let units: Vec<&str> = json.as_array().unwrap().iter().map(|p| p["unit"].as_str().unwrap()).collect();
        assert_eq!(units, ["=HYPERLINK(\"http://evil.example\",\"pcs\")", "+EA"], "{backend}: JSON is never altered");
        rt.block_on(db.cleanup());
    }
}
