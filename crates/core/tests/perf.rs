//! Throughput checks of the two hot paths against DESIGN-derived budgets: thresholds for
//! 1,000,000 parts in ≤ 1 s, and MTBF/PM intervals for 100,000 assets from 10,000,000 failure
//! events in ≤ 3 s (one core). Ignored by default; timings only mean something in release:
//!
//! `cargo test -p cmms-core --release --test perf -- --ignored --nocapture`

use cmms_core::formula::{FormulaSet, PmParams, ThresholdParams};
use cmms_core::ids::{EventId, PartClass, SiteId};
use cmms_core::quantity::Quantity;
use cmms_core::reliability::{FailureEvent, FailureEventType, SampleScope, mtbf_stats, pm_interval};
use cmms_core::thresholds::{UsageSummary, compute};
use jiff::{SignedDuration, Timestamp};
use std::time::{Duration, Instant};

fn budget(name: &str, took: Duration, limit: Duration) {
    println!("{name}: {took:?} (budget {limit:?})");
    if !cfg!(debug_assertions) {
        assert!(took <= limit, "{name} took {took:?}, budget {limit:?}");
    }
}

#[test]
#[ignore = "timing; run in release"]
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
    let start = Instant::now();
    let mut checksum = 0.0;
    for &(usage, lead) in &inputs {
        let t = compute(usage, lead, as_of, &params, formulas.seasonal_windows_for(&class, &site)).unwrap();
        checksum += t.limits.max;
    }
    let took = start.elapsed();
    assert!(checksum > 0.0);
    budget("thresholds, 1,000,000 parts", took, Duration::from_secs(1));
}

#[test]
#[ignore = "timing; run in release"]
fn intervals_for_100k_assets_from_10m_events() {
    const ASSETS: usize = 100_000;
    const PER_ASSET: usize = 100;
    let kinds = FailureEventType::ALL;
    let id = EventId::parse("E").unwrap();
    let base = Timestamp::from_second(1_600_000_000).unwrap();
    let events: Vec<FailureEvent> = (0..ASSETS * PER_ASSET)
        .map(|i| {
            let k = i % PER_ASSET;
            let start = base + SignedDuration::from_hours((k * 37 + (i / PER_ASSET) % 11) as i64);
            FailureEvent {
                event_id: id.clone(),
                event_type: kinds[(i * 7 + i / 3) % 4],
                started_at: start,
                ended_at: k.is_multiple_of(3).then(|| start + SignedDuration::from_hours(5)),
            }
        })
        .collect();
    let params = PmParams::default();
    let start = Instant::now();
    let mut mtbf_assets = 0usize;
    for asset in events.chunks(PER_ASSET) {
        let stats = mtbf_stats(asset, &[], SampleScope::default()).unwrap();
        let interval = pm_interval(&stats, &params, 30.0);
        mtbf_assets += usize::from(interval.reason.is_none());
    }
    let took = start.elapsed();
    assert!(mtbf_assets > 0);
    budget("intervals, 100,000 assets / 10,000,000 events", took, Duration::from_secs(3));
}
