//! Benchmarks of the two hot pure paths, with the budgets their issues name:
//! thresholds for 1,000,000 parts (≤ 1 s) and MTBF + PM interval + next due date for 100,000
//! assets from 10,000,000 failure events (≤ 3 s of computation). Measurement only, no
//! assertions on time: `cargo bench -p cmms-core` (best of 3 runs, one core).

use cmms_core::formula::{FormulaSet, PmParams, ThresholdParams};
use cmms_core::ids::{PartClass, SiteId};
use cmms_core::pm::next_due;
use cmms_core::quantity::Quantity;
use cmms_core::reliability::{FailureEvent, FailureEventType, SampleScope, mtbf_stats, pm_interval};
use cmms_core::thresholds::{UsageSummary, compute};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn best_of_3(name: &str, budget: Duration, mut run: impl FnMut() -> f64) {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        black_box(run());
        best = best.min(start.elapsed());
    }
    let verdict = if best <= budget { "within" } else { "OVER" };
    println!("{name:<55} {:>9.1} ms   ({verdict} budget {} ms)", best.as_secs_f64() * 1e3, budget.as_millis());
}

fn thresholds_for_a_million_parts() {
    let formulas = FormulaSet::defaults();
    let class = PartClass::parse("BEARING").unwrap();
    let site = SiteId::parse("S1").unwrap();
    let params: ThresholdParams = formulas.params_for(&class);
    let as_of = Timestamp::from_second(1_735_689_600).unwrap();
    let inputs: Vec<(UsageSummary, f64)> = (0..1_000_000u32)
        .map(|i| {
            let consumed = Quantity::new(f64::from(i % 9_973) * 0.37).unwrap();
            (UsageSummary { consumed_in_window: consumed, has_history: true }, f64::from(1 + i % 120))
        })
        .collect();
    best_of_3("thresholds, 1,000,000 parts", Duration::from_secs(1), || {
        let mut checksum = 0.0;
        for &(usage, lead) in &inputs {
            let t = compute(usage, lead, as_of, &params, formulas.seasonal_windows_for(&class, &site)).unwrap();
            checksum += t.limits.max;
        }
        checksum
    });
}

fn intervals_for_100k_assets_from_10m_events() {
    const ASSETS: usize = 100_000;
    const PER_ASSET: usize = 100;
    let kinds = FailureEventType::ALL;
    let base = Timestamp::from_second(1_600_000_000).unwrap();
    let events: Vec<FailureEvent> = (0..ASSETS * PER_ASSET)
        .map(|i| {
            let k = i % PER_ASSET;
            let start = base + SignedDuration::from_hours((k * 37 + (i / PER_ASSET) % 11) as i64);
            FailureEvent {
                event_type: kinds[(i * 7 + i / 3) % 4],
                started_at: start,
                ended_at: k.is_multiple_of(3).then(|| start + SignedDuration::from_hours(5)),
            }
        })
        .collect();
    let params = PmParams::default();
    let zones = [TimeZone::get("Europe/Berlin").unwrap(), TimeZone::get("Australia/Sydney").unwrap()];
    let completed = Timestamp::from_second(1_730_000_000).unwrap();
    best_of_3("MTBF + interval + next due, 100,000 assets / 10,000,000 events", Duration::from_secs(3), || {
        let mut checksum = 0.0;
        for (n, asset) in events.chunks(PER_ASSET).enumerate() {
            let stats = mtbf_stats(asset, &[], SampleScope::default()).unwrap();
            let interval = pm_interval(&stats, &params, 30.0);
            let due = next_due(Some(completed), interval.interval_days, &zones[n % 2]).unwrap();
            checksum += interval.interval_days + due.due_utc().as_second() as f64;
        }
        checksum
    });
}

fn main() {
    thresholds_for_a_million_parts();
    intervals_for_100k_assets_from_10m_events();
}
