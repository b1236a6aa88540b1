//! `cmms compute` on a small folder: validation and calculation without a store.

use cmms_core::formula::FormulaSet;
use cmms_core::time::TimeWindow;
use cmms_core::time::parse_timestamp;
use cmms_pipeline::compute::compute_folder;

#[path = "common/lives.rs"]
#[allow(dead_code, reason = "the component fixture is the pipeline and CLI tests'")]
mod lives;

/// The window `cmms compute` uses: a day past the later of the clock and `as_of`.
fn window(as_of: jiff::Timestamp) -> TimeWindow {
    TimeWindow::events(jiff::Timestamp::now().max(as_of))
}

fn write(dir: &std::path::Path, name: &str, content: &str) {
    std::fs::write(dir.join(name), content).unwrap();
}

/// A fresh input folder holding the one site NY, and where the outputs go: (base, input, output).
fn folder(name: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let base = std::env::temp_dir().join(format!("cmms-compute-{name}-{}", std::process::id()));
    let (input, output) = (base.join("in"), base.join("out"));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&input).unwrap();
    write(&input, "sites.csv", "site_id,timezone\nNY,America/New_York\n");
    (base, input, output)
}

#[test]
fn computes_thresholds_and_intervals_from_import_files() {
    let (base, input, output) = folder("small");
    write(
        &input,
        "parts.csv",
        "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n\
         BRG,,EA,NY,C,10,,,\nIDLE,,EA,NY,C,10,,,\nZERO,,EA,NY,C,0,,,\nLOST,,EA,MARS,C,1,,,\n",
    );
    write(&input, "sku_map.csv", "source,external_sku,part_id\nERP,brg,BRG\n");
    let mut consumption = String::from("event_id,source,external_sku,quantity,consumed_at\n");
    let as_of = parse_timestamp("2024-03-01T00:00:00Z").unwrap();
    for d in 1..=90 {
        let t = as_of - jiff::SignedDuration::from_hours(24 * d - 12);
        consumption.push_str(&format!("E{d},ERP, BRG ,1,{t}\n"));
    }
    consumption
        .push_str("E1,ERP, BRG ,1,2024-02-29T12:00:00Z\nE1,ERP,brg,5,2024-02-29T12:00:00Z\nX,ERP,nope,1,2024-02-01\n");
    write(&input, "consumption.csv", &consumption);
    write(
        &input,
        "assets.csv",
        "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\nP1,PUMPS,NY,30,2024-03-03T13:00:00Z\n",
    );
    write(
        &input,
        "failures.csv",
        "event_id,asset_id,event_type,started_at,ended_at\nF1,P1,UNPLANNED,2024-01-01,\nF2,P1,SENSOR_RESET,2024-01-03,\nF3,P1,UNPLANNED,2024-01-08 22:35:17,\n",
    );

    let report = compute_folder(&input, &output, &FormulaSet::defaults(), as_of, window(as_of)).unwrap();
    assert_eq!((report.duplicates, report.unmapped_events), (1, 1));
    assert_eq!(report.rejected.get("consumption"), Some(&1), "conflicting copy of E1");
    assert_eq!(report.rejected.get("parts"), Some(&1), "unknown site");

    let thresholds = std::fs::read_to_string(output.join("thresholds.csv")).unwrap();
    let version = &FormulaSet::defaults().content_hash()[..12];
    // BRG counts in EA, a discrete unit: the formula's 15 / 18.75 / 28.12 in whole units.
    assert_eq!(
        thresholds,
        format!(
            "part_id,status,avg_daily_usage,min,reorder,max,formula_version\n\
             BRG,OK,1,15,19,29,{version}\nIDLE,NO_HISTORY,,,,,{version}\nZERO,LEAD_TIME_NOT_POSITIVE,,,,,{version}\n"
        )
    );
    // One sample of 190.588 h: 190.588 × 0.85 / 24 = 6.75 days, clamped to 7; 08:00 local
    // before the 2024-03-10 DST change stays 08:00 local after it.
    let intervals = std::fs::read_to_string(output.join("intervals.csv")).unwrap();
    let row = intervals.lines().nth(1).unwrap();
    assert!(
        row.starts_with("P1,OK,MTBF,,1,190.58805555555554,0,7,2024-03-10T08:00:00-04:00,2024-03-10T12:00:00Z"),
        "{row}"
    );
    let _ = std::fs::remove_dir_all(base);
}

/// Quoted fields from the first rows on (an ERP quoting SKUs with blanks, quantities and
/// instants) are split on every core like unquoted ones: the same file written without quotes
/// gives the same counts, issues and thresholds.
#[test]
fn quoted_fields_throughout_a_feed_read_as_unquoted() {
    let as_of = parse_timestamp("2024-03-01T00:00:00Z").unwrap();
    let run = |name: &str, quoted: bool| {
        let (base, input, output) = folder(name);
        write(
            &input,
            "parts.csv",
            "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n\
             BRG,,EA,NY,C,10,,,\nSEAL,\"seal, 40 mm\",EA,NY,C,5,,,\n",
        );
        write(&input, "sku_map.csv", "source,external_sku,part_id\nERP,brg,BRG\nERP,SL-40,SEAL\n");
        let mut consumption = String::from("event_id,source,external_sku,quantity,consumed_at\n");
        for i in 0..40_000i64 {
            let t = as_of - jiff::SignedDuration::from_secs(60 + i * 190);
            let (sku, q) = if i % 3 == 0 { (" brg ", 2) } else { ("SL-40", 1) };
            let row = match quoted && i % 2 == 0 {
                true => format!("E{i},ERP,\"{sku}\",\"{q}\",\"{t}\"\n"),
                false => format!("E{i},ERP,{sku},{q},{t}\n"),
            };
            consumption.push_str(&row);
            if i % 1000 == 7 {
                // A re-delivery, quoted or not, and a row with one field too many.
                consumption.push_str(&row);
                consumption.push_str(&format!("X{i},ERP,SL-40,1,{t},extra\n"));
            }
        }
        write(&input, "consumption.csv", &consumption);
        let report = compute_folder(&input, &output, &FormulaSet::defaults(), as_of, window(as_of)).unwrap();
        let thresholds = std::fs::read_to_string(output.join("thresholds.csv")).unwrap();
        let _ = std::fs::remove_dir_all(base);
        (report.accepted, report.rejected, report.duplicates, report.issues, thresholds)
    };
    let plain = run("quotes-none", false);
    let quoted = run("quotes-half", true);
    assert_eq!(plain.0.get("consumption"), Some(&40_000));
    assert_eq!(plain.1.get("consumption"), Some(&40));
    assert_eq!(plain.2, 40);
    assert_eq!(quoted, plain);
}

/// Feeds over 1 MiB are read by several threads, each from its own cut of the file: duplicates
/// across the cuts, a conflicting copy and a quoted line break must come out as in one pass.
#[test]
fn large_feeds_read_in_pieces_keep_first_wins_and_line_numbers() {
    let (base, input, output) = folder("big");
    write(
        &input,
        "parts.csv",
        "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n\
         BRG,,EA,NY,C,10,,,\n",
    );
    write(&input, "sku_map.csv", "source,external_sku,part_id\nERP,brg,BRG\n");
    let as_of = parse_timestamp("2024-03-01T00:00:00Z").unwrap();
    const N: i64 = 30_000;
    let mut block = String::new();
    for i in 0..N {
        let t = as_of - jiff::SignedDuration::from_secs(60 + i * 250);
        block.push_str(&format!("E{i},ERP,brg,1,{t}\n"));
    }
    // Header, the events, all of them again (identical), a conflicting E7 and a SKU with a line break.
    let consumption = format!(
        "event_id,source,external_sku,quantity,consumed_at\n{block}{block}E7,ERP,brg,9,2024-02-01T00:00:00Z\n\
         E-X,ERP,\"br\ng\",1,2024-02-01T00:00:00Z\nE-Y,ERP,brg,1,2024-02-01T00:00:00Z\n"
    );
    assert!(consumption.len() > 2 << 20);
    write(&input, "consumption.csv", &consumption);
    write(
        &input,
        "assets.csv",
        "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\nP1,PUMPS,NY,30,2024-03-03T13:00:00Z\n",
    );
    let mut failures = String::from("event_id,asset_id,event_type,started_at,ended_at\n");
    let mut block = String::new();
    for i in 0..N {
        let t = as_of - jiff::SignedDuration::from_hours(10 * (N - i));
        block.push_str(&format!("F{i:06},P1,UNPLANNED,{t},\n"));
    }
    failures.push_str(&block);
    failures.push_str(&block);
    failures.push_str("F000003,P1,PLANNED,2020-01-01T00:00:00Z,\nF-Z,NOPE,UNPLANNED,2020-01-01T00:00:00Z,\n");
    assert!(failures.len() > 2 << 20);
    write(&input, "failures.csv", &failures);

    let report = compute_folder(&input, &output, &FormulaSet::defaults(), as_of, window(as_of)).unwrap();
    let n = N as u64;
    assert_eq!(report.accepted.get("consumption"), Some(&(n + 1)), "E0..E29999 and E-Y");
    assert_eq!(report.accepted.get("failures"), Some(&n));
    assert_eq!(report.duplicates, 2 * n);
    assert_eq!(report.rejected.get("consumption"), Some(&2));
    assert_eq!(report.rejected.get("failures"), Some(&2));
    let lines = 2 + 2 * N; // header at line 1, then two blocks
    assert_eq!(
        report.issues,
        [
            format!("consumption: line {}: DUPLICATE_CONFLICT: a first copy with other values wins", lines),
            format!(
                "consumption: line {}: external_sku: character '\\n' is not allowed (allowed: A-Z a-z 0-9 . _ -)",
                lines + 1
            ),
            format!("failures: line {}: DUPLICATE_CONFLICT: a first copy with other values wins", lines),
            format!("failures: line {}: asset_id: unknown asset", lines + 1),
        ]
    );

    let thresholds = std::fs::read_to_string(output.join("thresholds.csv")).unwrap();
    let avg: f64 = thresholds.lines().nth(1).unwrap().split(',').nth(2).unwrap().parse().unwrap();
    assert!((avg - (N + 1) as f64 / 90.0).abs() < 0.01, "{thresholds}");
    let intervals = std::fs::read_to_string(output.join("intervals.csv")).unwrap();
    let row: Vec<&str> = intervals.lines().nth(1).unwrap().split(',').collect();
    assert_eq!((row[4], row[5]), ("29999", "10"), "{intervals}");
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn rows_dated_outside_the_plausible_window_are_rejected_with_line_and_field() {
    let (base, input, output) = folder("window");
    write(
        &input,
        "parts.csv",
        "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n\
         BRG,,EA,NY,C,10,,,\n",
    );
    write(&input, "sku_map.csv", "source,external_sku,part_id\nERP,brg,BRG\n");
    // Line 3 lies after as_of but inside the window: accepted, outside the calculation.
    write(
        &input,
        "consumption.csv",
        "event_id,source,external_sku,quantity,consumed_at\nE1,ERP,brg,1,2024-02-20\nE2,ERP,brg,1,2024-06-01\n\
         E3,ERP,brg,1,9999-12-30\nE4,ERP,brg,1,0000-01-01T00:00:00Z\n",
    );
    write(
        &input,
        "assets.csv",
        "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\nP1,PUMPS,NY,30,2062-01-01\n\
         P2,PUMPS,NY,30,2024-01-01\n",
    );
    write(
        &input,
        "failures.csv",
        "event_id,asset_id,event_type,started_at,ended_at\nF1,P2,UNPLANNED,2024-01-05,9000-01-01\nF2,P2,UNPLANNED,2024-01-08,\n",
    );
    let as_of = parse_timestamp("2024-03-01T00:00:00Z").unwrap();
    let report = compute_folder(&input, &output, &FormulaSet::defaults(), as_of, window(as_of)).unwrap();
    assert_eq!(report.accepted.get("consumption"), Some(&2), "{:?}", report.issues);
    assert_eq!(report.rejected.get("consumption"), Some(&2));
    assert_eq!((report.rejected.get("assets"), report.rejected.get("failures")), (Some(&1), Some(&1)));
    let issues = report.issues.join("\n");
    for expected in [
        "consumption: line 4: consumed_at: 9999-12-30T00:00:00Z is in the future",
        "consumption: line 5: consumed_at: 0000-01-01T00:00:00Z is before 1970-01-01T00:00:00Z",
        "assets: line 2: last_completion_at: 2062-01-01T00:00:00Z is in the future",
        "failures: line 2: ended_at: 9000-01-01T00:00:00Z is in the future",
    ] {
        assert!(issues.contains(expected), "{expected}\n{issues}");
    }
    // Only E1 counts (E2 is after as_of): the average over the window is 1 / window days.
    let thresholds = std::fs::read_to_string(output.join("thresholds.csv")).unwrap();
    assert!(thresholds.lines().nth(1).unwrap().starts_with("BRG,OK,"), "{thresholds}");
    let _ = std::fs::remove_dir_all(base);
}

/// A folder with one part `P` (lead 14 days) consuming `q` units every `every` days for 200 days
/// before 2024-03-01.
fn intermittent(name: &str, every: i64, q: u32) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let (base, input, output) = folder(name);
    write(
        &input,
        "parts.csv",
        "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n\
         P,,EA,NY,C,14,,,\n",
    );
    write(&input, "sku_map.csv", "source,external_sku,part_id\nERP,p,P\n");
    let as_of = parse_timestamp("2024-03-01T00:00:00Z").unwrap();
    let mut consumption = String::from("event_id,source,external_sku,quantity,consumed_at\n");
    for d in (1..=200).filter(|d| d % every == 0) {
        let t = as_of - jiff::SignedDuration::from_hours(24 * d - 12);
        consumption.push_str(&format!("E{d},ERP,p,{q},{t}\n"));
    }
    write(&input, "consumption.csv", &consumption);
    (base, input, output)
}

#[test]
fn demand_driven_methods_compute_from_the_daily_history() {
    let (base, input, output) = intermittent("sba", 10, 3);
    let as_of = parse_timestamp("2024-03-01T00:00:00Z").unwrap();
    let formulas = FormulaSet::parse("[thresholds]\nmethod = \"sba\"\nservice_level = 0.9\n").unwrap();
    compute_folder(&input, &output, &formulas, as_of, window(as_of)).unwrap();
    let csv = std::fs::read_to_string(output.join("thresholds.csv")).unwrap();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    // The same numbers from the core on the same daily series: 3 units every 10th day back, the
    // first 199.5 days before as_of (200 days of history).
    let mut daily = vec![0.0; 200];
    for (i, d) in daily.iter_mut().enumerate() {
        if (200 - i) % 10 == 0 {
            *d = 3.0;
        }
    }
    let p = cmms_core::demand::policy(&formulas.params().thresholds, &daily, 14.0, 1.0);
    assert_eq!(row[1], "OK", "{csv}");
    // `EA` is a discrete unit: the two-decimal limits end rounded up to whole units.
    let r = |v: f64| cmms_core::thresholds::round_decimals(v, 2);
    let rounded =
        cmms_core::thresholds::Limits { min: r(p.limits.min), reorder: r(p.limits.reorder), max: r(p.limits.max) };
    let whole = formulas.unit_policy("EA", None, None).whole_limits(rounded);
    assert_eq!(&row[3..6], [whole.min, whole.reorder, whole.max].map(|v| v.to_string()), "{csv}");
    assert_eq!(p.why.demand_class, cmms_core::demand::DemandClass::Intermittent);
    // The seed formula gives other numbers on the same files.
    compute_folder(&input, &output, &FormulaSet::defaults(), as_of, window(as_of)).unwrap();
    let seed = std::fs::read_to_string(output.join("thresholds.csv")).unwrap();
    assert_ne!(seed.lines().nth(1), csv.lines().nth(1));
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn backtest_replays_every_policy_without_look_ahead() {
    use cmms_pipeline::compute::{BacktestSettings, Review, backtest_folder};
    let (base, input, _) = intermittent("backtest", 5, 2);
    let as_of = parse_timestamp("2024-03-01T00:00:00Z").unwrap();
    let settings = BacktestSettings {
        start: None,
        end: Some("2024-03-01".parse().unwrap()),
        burn_in_days: 90,
        review: Review::Monthly,
        backorders: false,
        whole_units: false,
        holding_cost: 1.0,
        ordering_cost: 10.0,
        frontier: true,
        policies: ["seed", "sba", "tsb", "empirical", "auto"]
            .into_iter()
            .map(|n| {
                let m = match n {
                    "sba" => Some(cmms_core::formula::ThresholdMethod::Sba),
                    "tsb" => Some(cmms_core::formula::ThresholdMethod::Tsb),
                    "empirical" => Some(cmms_core::formula::ThresholdMethod::Empirical),
                    "auto" => Some(cmms_core::formula::ThresholdMethod::Auto),
                    _ => None,
                };
                (n.to_owned(), m)
            })
            .collect(),
    };
    let r = backtest_folder(&input, &FormulaSet::defaults(), &settings, window(as_of)).unwrap();
    assert_eq!(r.parts, 1);
    // First consumption 2023-08-14 (199.5 days back): 90 days of burn-in, then the first of the
    // next month; three monthly reviews to the end.
    assert_eq!(r.start.map(|d| d.to_string()).as_deref(), Some("2023-12-01"));
    assert_eq!(r.end.map(|d| d.to_string()).as_deref(), Some("2024-03-01"));
    assert_eq!((r.reviews, r.simulated_days), (3, 91));
    assert_eq!(r.policies.len(), 5);
    for p in &r.policies {
        let s = &p.summary;
        assert!((0.0..=1.0).contains(&s.fill_rate) && s.avg_on_hand >= 0.0, "{p:?}");
        assert_eq!(s.demanded, 2.0 * 18.0, "{p:?}");
        assert_eq!(p.by_part_class.len(), 1);
    }
    assert_eq!(r.frontier.len(), 4);
    // Each policy's curve: the knob values both searches replayed, ascending, the matches among them.
    for f in &r.frontier {
        assert!(f.curve.len() >= 2 && f.curve.windows(2).all(|w| w[0].knob_value < w[1].knob_value), "{f:?}");
        for found in [&f.at_seed_stock, &f.at_seed_fill_rate] {
            let c = f.curve.iter().find(|c| c.knob_value == found.knob_value).expect("the match is on the curve");
            assert_eq!((c.fill_rate, c.avg_on_hand), (found.summary.fill_rate, found.summary.avg_on_hand));
        }
    }
    let _ = std::fs::remove_dir_all(base);
}

/// `[pm] method = "weibull_cost"`: a wearing-out asset gets `T*`, an asset of random failures no
/// time-based PM, an asset with two failures the fit of its pooled group; the seed's columns stay.
#[test]
fn weibull_cost_decides_per_asset_with_pooling() {
    let (base, input, output) = folder("weibull");
    let as_of = parse_timestamp("2024-06-01T00:00:00Z").unwrap();
    write(
        &input,
        "assets.csv",
        "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n\
         WEAR,GEARS,NY,30,\nFEW,GEARS,NY,30,\nRAND,FANS,NY,45,\n",
    );
    write(&input, "failures.csv", &lives::wear_few_rand(as_of));
    let formulas = FormulaSet::parse("[pm]\nmethod = \"weibull_cost\"\nfailure_cost = 5.0\npm_cost = 1.0\n").unwrap();
    compute_folder(&input, &output, &formulas, as_of, window(as_of)).unwrap();
    let text = std::fs::read_to_string(output.join("intervals.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..4], ["asset_id", "status", "basis", "reason"]);
    let rows: std::collections::BTreeMap<&str, std::collections::HashMap<&str, &str>> = lines
        .map(|l| {
            let row: std::collections::HashMap<&str, &str> = header.iter().copied().zip(l.split(',')).collect();
            (row["asset_id"], row)
        })
        .collect();
    let wear = &rows["WEAR"];
    assert_eq!((wear["basis"], wear["life_source"], wear["failures"]), ("WEIBULL", "OWN", "30"), "{wear:?}");
    let beta: f64 = wear["beta"].parse().unwrap();
    assert!(beta > 2.0 && wear["beta_lower"].parse::<f64>().unwrap() > 1.0, "{wear:?}");
    let t_star: f64 = wear["t_star_hours"].parse().unwrap();
    let interval: f64 = wear["interval_days"].parse().unwrap();
    assert!((interval - (t_star * 0.85 / 24.0).clamp(7.0, 365.0)).abs() < 1e-9, "{wear:?}");
    assert_eq!(wear["status"], "NO_LAST_COMPLETION");
    assert!(wear["cost_rate"].parse::<f64>().unwrap() < wear["cost_rate_seed"].parse::<f64>().unwrap());
    let few = &rows["FEW"];
    assert_eq!((few["life_source"], few["failures"]), ("POOLED", "32"), "{few:?}");
    let random = &rows["RAND"];
    assert_eq!(
        (random["status"], random["basis"], random["reason"], random["interval_days"]),
        ("NO_TIME_BASED_PM", "RUN_TO_FAILURE", "NO_WEAR_OUT", ""),
        "{random:?}"
    );
    let _ = std::fs::remove_dir_all(base);
}
