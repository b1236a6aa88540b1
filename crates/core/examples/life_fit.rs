//! Fits the life models of `cmms_core::life` to renewal logs read from standard input and prints
//! one JSON object per group: the outside-reference test (tests/reliability/) compares it with the
//! Python `reliability` package.
//!
//! Input: CSV with a header `group,unit,at,kind`, rows sorted or not; `kind` is `FAILURE` or
//! `REPLACEMENT`; `at` an RFC 3339 timestamp (naive = UTC). Each unit's lives are built with
//! `life::lives` up to the `AS_OF` argument; a group's lives are pooled over its units.
//! Usage: cargo run -p cmms-core --example life_fit -- AS_OF < renewals.csv

use cmms_core::life::{Life, Renewal, RenewalKind, fit_exponential, fit_weibull, lives};
use cmms_core::time::parse_timestamp;
use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("life_fit: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let as_of = std::env::args().nth(1).ok_or("usage: life_fit AS_OF < renewals.csv")?;
    let as_of = parse_timestamp(&as_of).map_err(|e| format!("AS_OF: {e}"))?;
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| format!("stdin: {e}"))?;
    let mut units: BTreeMap<(String, String), Vec<Renewal>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let [group, unit, at, kind] = f[..] else { return Err(format!("stdin:{}: expected 4 fields", i + 1)) };
        let at = parse_timestamp(at).map_err(|e| format!("stdin:{}: at: {e}", i + 1))?;
        let kind = match kind {
            "FAILURE" => RenewalKind::Failure,
            "REPLACEMENT" => RenewalKind::Replacement,
            other => return Err(format!("stdin:{}: kind: unknown {other:?}", i + 1)),
        };
        units.entry((group.to_owned(), unit.to_owned())).or_default().push(Renewal { at, kind });
    }
    let mut groups: BTreeMap<String, (Vec<Life>, usize)> = BTreeMap::new();
    for ((group, unit), mut renewals) in units {
        renewals.sort();
        let set = lives(&renewals, &[], as_of).map_err(|e| format!("unit {unit}: {e}"))?;
        let g = groups.entry(group).or_default();
        g.0.extend(set.lives);
        g.1 += set.zero_length_dropped;
    }
    for (group, (lives, dropped)) in groups {
        let e = fit_exponential(&lives, 0.95);
        let w = fit_weibull(&lives, 0.95).map_err(|e| format!("group {group}: {e}"))?;
        let json = serde_json::json!({
            "group": group,
            "lives": lives.len(),
            "failures": w.failures,
            "suspensions": w.suspensions,
            "zero_length_dropped": dropped,
            "exposure_hours": e.exposure_hours,
            "mtbf_hours": e.mtbf_hours,
            "mtbf_bounds": [e.mtbf_lower_hours, e.mtbf_upper_hours],
            "alpha": w.model.scale,
            "beta": w.model.shape,
            "log_likelihood": w.log_likelihood,
            "beta_lr": w.shape_lr,
            "beta_fisher": w.shape_fisher,
            "alpha_fisher": w.scale_fisher,
            "mean_life": w.model.mean(),
            "b10": w.model.b_life(0.1),
        });
        println!("{json}");
    }
    Ok(())
}
