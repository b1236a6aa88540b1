//! The `cmms` binary behaves like a Unix tool (issue 26, "CLI manners"): a closed pipe ends a
//! command quietly, an error names its cause once, read-only commands never create a store, CSV
//! delimiters are detected, `demo` checks its address first, logs carry colour only on a terminal,
//! JSON output gives RFC 3339 instants, and report tables size their columns.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cmms-manners-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cmms(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cmms"));
    c.current_dir(dir)
        .env_remove("CMMS_DATABASE_URL")
        .env_remove("CMMS_CONFIG")
        .env_remove("CMMS_LOG")
        .env_remove("CMMS_LOG_FORMAT")
        .env_remove("RUST_LOG");
    c
}

fn site(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/site").join(file)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A folder holding the sample site, imported and recomputed (routing has raised requests and
/// held work orders for material).
fn sample_site(name: &str) -> PathBuf {
    let dir = workdir(name);
    for kind in ["sites", "parts", "sku_map", "assets", "asset_parts", "failures", "consumption", "inventory"] {
        let out = cmms(&dir).args(["import", kind]).arg(site(&format!("{kind}.csv"))).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 3)), "{kind}: {out:?}");
    }
    let out = cmms(&dir).args(["recompute", "--as-of", "2026-10-31T00:00:00Z"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    dir
}

/// Runs the command with its stdout a pipe whose reader has already gone away.
fn into_closed_pipe(dir: &Path, args: &[&str]) -> Output {
    let mut child = cmms(dir).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    Output { status, stdout: Vec::new(), stderr: stderr.into_bytes() }
}

#[test]
fn a_closed_pipe_ends_printing_commands_quietly_with_exit_0() {
    let dir = sample_site("pipe");
    for args in [
        &["report"][..],
        &["report", "--format", "json"],
        &["work-orders", "list"],
        &["quarantine", "list"],
        &["export", "thresholds"],
        &["export", "work-orders", "--format", "json"],
    ] {
        let out = into_closed_pipe(&dir, args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn an_error_names_each_cause_once() {
    let dir = workdir("causes");
    let out = cmms(&dir).args(["import", "parts", "nosuch.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
    assert!(stderr.contains("nosuch.csv"), "{stderr}");

    let bad = dir.join("no-such-folder").join("x.db");
    let out =
        cmms(&dir).arg("--database-url").arg(&bad).args(["import", "sites"]).arg(site("sites.csv")).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("unable to open database file").count(), 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn read_only_commands_never_create_a_store() {
    let dir = workdir("read-only");
    for args in [
        &["report"][..],
        &["report", "--format", "json"],
        &["export", "thresholds"],
        &["work-orders", "list"],
        &["quarantine", "list"],
        &["formulas", "list"],
        &["token", "list"],
        &["events", "list"],
        &["dlq", "list"],
    ] {
        let out = cmms(&dir).args(args).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert!(stderr.contains("no cmms database at ./cmms.db"), "{args:?}: {stderr}");
        assert!(stderr.contains("cmms demo") && stderr.contains("cmms import"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!dir.join("cmms.db").exists(), "{args:?} created a store");
    }
    // A command that writes still starts one.
    let out = cmms(&dir).args(["import", "sites"]).arg(site("sites.csv")).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(cmms(&dir).arg("report").output().unwrap().status.success());
}

#[test]
fn csv_delimiters_are_detected_or_given_and_an_empty_file_says_so() {
    let dir = workdir("delimiters");
    std::fs::write(dir.join("semicolon.csv"), "site_id;timezone\nPLANT-BER;Europe/Berlin\n").unwrap();
    std::fs::write(dir.join("tab.csv"), "site_id\ttimezone\nCAMPUS-SYD\tAustralia/Sydney\n").unwrap();
    std::fs::write(dir.join("comma.csv"), "site_id,timezone\nPLANT-X,UTC\n").unwrap();
    std::fs::write(dir.join("empty.csv"), "").unwrap();
    let run = |args: &[&str]| cmms(&dir).args(args).output().unwrap();

    let out = run(&["import", "sites", "semicolon.csv"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("1 inserted") && stdout.contains("delimiter `;` (detected"), "{stdout}");
    let out = run(&["import", "sites", "tab.csv", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["delimiter"].as_str(), report["counts"]["inserted"].as_u64()), (Some("tab"), Some(1)));
    let out = run(&["import", "sites", "comma.csv"]);
    assert!(!text(&out.stdout).contains("delimiter"), "a comma is not worth a line: {out:?}");

    // A delimiter given is used as given; the refusal says what the header was split at.
    let out = run(&["import", "sites", "comma.csv", "--delimiter", ";"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("header is missing column(s) site_id, timezone"), "{stderr}");
    assert!(stderr.contains("fields split at `;`"), "{stderr}");
    let out = run(&["import", "sites", "semicolon.csv", "--delimiter", ";"]);
    assert!(text(&out.stdout).contains("delimiter `;` (as given by --delimiter)"), "{out:?}");
    assert_eq!(run(&["import", "sites", "x.csv", "--delimiter", "#"]).status.code(), Some(2));

    let out = run(&["import", "sites", "empty.csv"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("empty.csv: empty file"), "{out:?}");
}

#[test]
fn csv_line_numbers_count_physical_lines_with_crlf_and_blank_lines() {
    let dir = workdir("lines");
    assert!(cmms(&dir).args(["import", "sites"]).arg(site("sites.csv")).output().unwrap().status.success());
    // Line 1 header, 2 good, 3 blank, 4 bad, 5 a quoted description over two lines, 7 bad.
    let parts = "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\r\n\
                 P-1,ok,EA,PLANT-BER,C,7,,,\r\n\
                 \r\n\
                 P-2,bad,EA,PLANT-BER,C,-1,,,\r\n\
                 P-3,\"two\r\nlines\",EA,PLANT-BER,C,7,,,\r\n\
                 P-4,bad,EA,PLANT-BER,C,-2,,,\r\n";
    std::fs::write(dir.join("parts.csv"), parts).unwrap();
    let out = cmms(&dir).args(["import", "parts", "parts.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("parts.csv:4: lead_time_days"), "{stderr}");
    assert!(stderr.contains("parts.csv:5: description: control character"), "where the record starts: {stderr}");
    assert!(stderr.contains("parts.csv:7: lead_time_days"), "{stderr}");
}

#[test]
fn demo_checks_its_address_before_building_anything() {
    let dir = workdir("busy-port");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let started = std::time::Instant::now();
    let out = cmms(&dir).args(["demo", "--listen", &addr]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("cannot listen on {addr}")) && stderr.contains("--listen"), "{stderr}");
    assert!(!dir.join("cmms.db").exists() && !dir.join("cmms-demo-data").exists(), "nothing was built");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "failed fast");
}

#[test]
fn logs_carry_no_colour_codes_when_redirected_and_json_on_request() {
    let dir = workdir("logs");
    let out = cmms(&dir).args(["--log", "info", "import", "sites"]).arg(site("sites.csv")).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("INFO"), "some log lines: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "no ANSI escapes in a redirected log: {stderr:?}");

    for how in [&["--log-format", "json"][..], &[]] {
        let mut c = cmms(&dir);
        if how.is_empty() {
            c.env("CMMS_LOG_FORMAT", "json");
        }
        let out =
            c.args(["--log", "info"]).args(how).args(["import", "sites"]).arg(site("sites.csv")).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.lines().count() > 0, "{how:?}: {stderr}");
        for line in stderr.lines() {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{how:?}: not JSON ({e}): {line}"));
            assert!(v["level"].is_string() && v["timestamp"].is_string(), "{line}");
        }
    }
}

#[test]
fn json_output_gives_rfc3339_instants() {
    let dir = sample_site("times");
    let run = |args: &[&str]| -> serde_json::Value {
        let out = cmms(&dir).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let is_utc = |v: &serde_json::Value| {
        let s = v.as_str().unwrap_or_else(|| panic!("a string, not {v}"));
        s.ends_with('Z') && s.parse::<jiff::Timestamp>().is_ok()
    };
    let report = run(&["report", "--format", "json"]);
    let requests = report["procurement_requests_open"].as_array().unwrap();
    assert!(!requests.is_empty(), "{report}");
    for r in requests {
        assert!(is_utc(&r["created_at"]) && is_utc(&r["updated_at"]), "{r}");
    }
    for a in report["alerts"].as_array().unwrap() {
        assert!(is_utc(&a["created_at"]), "{a}");
    }
    for i in report["pm_intervals"].as_array().unwrap() {
        assert!(i["next_due_at"].is_null() || is_utc(&i["next_due_at"]), "{i}");
    }
    // Work orders: due dates in the site's offset (AHU-07 is in Sydney, CHILLER-01 in Berlin).
    let orders = run(&["work-orders", "list", "--format", "json"]);
    for w in orders.as_array().unwrap() {
        let due = w["due_at"].as_str().unwrap();
        let offset = if w["timezone"] == "Australia/Sydney" { ["+10:00", "+11:00"] } else { ["+01:00", "+02:00"] };
        assert!(offset.iter().any(|o| due.ends_with(o)) && due.parse::<jiff::Timestamp>().is_ok(), "{w}");
        assert!(is_utc(&w["created_at"]), "{w}");
    }
    let tokens = {
        assert!(cmms(&dir).args(["token", "create", "--scope", "read"]).output().unwrap().status.success());
        run(&["token", "list", "--format", "json"])
    };
    assert!(is_utc(&tokens[0]["created_at"]), "{tokens}");
}

#[test]
fn report_columns_fit_their_widest_value() {
    let dir = sample_site("table");
    let out = cmms(&dir).arg("report").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let report = text(&out.stdout);
    let pm: Vec<&str> = report.lines().skip_while(|l| !l.starts_with("PM intervals per asset")).skip(1).collect();
    let header = pm.first().unwrap_or_else(|| panic!("{report}"));
    let status_at = header.find("status").unwrap();
    assert!(pm.len() > 2, "{report}");
    for row in pm.iter().skip(1).take_while(|l| !l.trim().is_empty()) {
        let chars: Vec<char> = row.chars().collect();
        let cell: String = chars[status_at.min(chars.len())..].iter().collect();
        assert!(
            ["OK", "NO_LAST_COMPLETION", "NOT_MONOTONIC"].iter().any(|s| cell.starts_with(s)),
            "the status column starts under its header in every row:\n{header}\n{row}"
        );
    }
}

#[test]
fn help_points_at_the_contract_not_a_design_file() {
    let dir = workdir("help");
    for args in [&["--help"][..], &["import", "--help"]] {
        let out = cmms(&dir).args(args).output().unwrap();
        let help = text(&out.stdout);
        assert!(help.contains("docs/contract.md") && !help.contains("DESIGN.md"), "{args:?}: {help}");
    }
}
