//! Times the `weibull_cost` decisions of N assets with L lives each (default 100,000 × 50): the
//! fitting part of `cmms compute` without the file reading (BENCHMARKS.md, issue 24).
//! Lives: Weibull shape 0.8, 1.5 or 3 by asset group (scale 1000 h), suspended by a PM at a uniform
//! age in (0, 2000 h). Usage: cargo run --release -p cmms-core --example life_speed -- [N] [L] [DUMP]
//! Prints a checksum of the decisions; with DUMP, writes each unit's interval, fitted shape and
//! scale and shape bounds to that file (one line per unit) to compare two builds.

use cmms_core::life::{DecisionParams, Life, UnitInput, weibull_cost_decisions};

fn main() {
    let mut args =
        std::env::args().skip(1).take(2).map(|a| a.parse::<usize>().unwrap_or_else(|_| panic!("not a count: {a}")));
    let dump = std::env::args().nth(3);
    let n = args.next().unwrap_or(100_000);
    let per = args.next().unwrap_or(50);
    let mut state = 24u64;
    let mut unit = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    };
    let groups = ["RANDOM", "WEAR", "STEEP"];
    let shapes = [0.8, 1.5, 3.0];
    let lives: Vec<Vec<Life>> = (0..n)
        .map(|i| {
            (0..per)
                .map(|_| {
                    let t = 1000.0 * (-(1.0 - unit()).ln()).powf(1.0 / shapes[i % 3]);
                    let pm = 2000.0 * (1.0 - unit());
                    Life { hours: t.min(pm), failed: t <= pm }
                })
                .collect()
        })
        .collect();
    let inputs: Vec<UnitInput<'_, &&str>> = lives
        .iter()
        .enumerate()
        .map(|(i, l)| UnitInput {
            pool: &groups[i % 3],
            lives: l,
            seed_interval_days: 30.0,
            manufacturer_interval_days: 90.0,
            costs: Some((5.0, 1.0)),
        })
        .collect();
    let params = DecisionParams {
        failure_cost: 5.0,
        pm_cost: 1.0,
        min_failures: 5,
        confidence: 0.95,
        slack: 0.85,
        min_interval_days: 7.0,
        max_interval_days: 365.0,
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    for t in [1, threads] {
        let started = std::time::Instant::now();
        let out = weibull_cost_decisions(&inputs, &params, false, t);
        let elapsed = started.elapsed();
        let with_pm = out.iter().filter(|d| d.interval_days.is_some()).count();
        let days: f64 = out.iter().filter_map(|d| d.interval_days).sum();
        println!(
            "{n} assets x {per} lives, {t} thread(s): {elapsed:.2?} ({with_pm} with a time-based PM, {days:.6} interval days in all)"
        );
        if let Some(path) = &dump {
            let lines: Vec<String> = out
                .iter()
                .map(|d| {
                    let w = d.decision.weibull;
                    format!(
                        "{:?} {:?} {:?} {:?} {:?} {:?}",
                        d.interval_days,
                        w.map(|f| f.model.shape),
                        w.map(|f| f.model.scale),
                        w.map(|f| f.shape_lr),
                        w.map(|f| f.shape_fisher),
                        d.decision.cost_rate_recommended
                    )
                })
                .collect();
            std::fs::write(path, lines.join("\n")).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
}
