//! MTBF → PM interval → next due date against the seed article's `normalize_mtbf_to_pm_interval`,
//! run in CPython over the cases in `fixtures/seed_pm.json` (see its `about` field): naive UTC
//! completions in ten zones, across DST changes, landing in gaps and folds.
//!
//! The seed's result is compared as an instant. (For a wall time in a gap the seed prints the
//! non-existent local time with the pre-transition offset, e.g. `02:30-05:00`; that is the same
//! instant as our `03:30-04:00`.) They agree to the microsecond, which is stronger than the
//! required "to the second".

use cmms_core::formula::PmParams;
use cmms_core::pm::next_due;
use cmms_core::reliability::{Basis, FallbackReason, MtbfReading, SampleScope, mtbf_stats, pm_interval};
use cmms_core::time::parse_timestamp;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
    offset_case: OffsetCase,
}

#[derive(Deserialize)]
struct Case {
    last_completion_utc: String,
    local_tz: String,
    mtbf_hours: Vec<f64>,
    seed_next_due: Option<String>,
}

#[derive(Deserialize)]
struct OffsetCase {
    last_completion: String,
    local_tz: String,
    mtbf_hours: Vec<f64>,
    seed_next_due: String,
}

const MANUFACTURER_INTERVAL_DAYS: f64 = 30.0;

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("fixtures/seed_pm.json")).unwrap()
}

fn interval(mtbf_hours: &[f64]) -> cmms_core::reliability::PmInterval {
    let readings: Vec<MtbfReading> =
        mtbf_hours.iter().map(|&h| MtbfReading { mtbf_hours: h, observed_at: Timestamp::UNIX_EPOCH }).collect();
    let stats = mtbf_stats(&[], &readings, SampleScope::default()).unwrap();
    pm_interval(&stats, &PmParams::default(), MANUFACTURER_INTERVAL_DAYS)
}

#[test]
fn next_due_matches_the_seed() {
    let fx = fixture();
    assert!(fx.cases.len() >= 40);
    for c in &fx.cases {
        let what = format!("{} {} {:?}", c.last_completion_utc, c.local_tz, c.mtbf_hours);
        let i = interval(&c.mtbf_hours);
        let Some(seed) = &c.seed_next_due else {
            // The seed returns None; the contract's circuit breaker (docs/contract.md#pm-intervals) uses the manufacturer interval.
            assert_eq!((i.basis, i.reason), (Basis::Fallback, Some(FallbackReason::NoValidSamples)), "{what}");
            continue;
        };
        assert_eq!(i.basis, Basis::Mtbf, "{what}");
        let completion = parse_timestamp(&c.last_completion_utc).unwrap();
        let tz = TimeZone::get(&c.local_tz).unwrap();
        let ours = next_due(Some(completion), i.interval_days, &tz).unwrap();
        let seed = parse_timestamp(seed).unwrap();
        assert_eq!(ours.due_utc(), seed, "{what}: ours {}", ours.local_rfc3339());
    }
}

#[test]
fn offsets_are_honoured_where_the_seed_overwrites_them() {
    let c = fixture().offset_case;
    let completion = parse_timestamp(&c.last_completion).unwrap();
    assert_eq!(completion.to_string(), "2024-03-09T13:00:00Z");
    let tz = TimeZone::get(&c.local_tz).unwrap();
    let ours = next_due(Some(completion), interval(&c.mtbf_hours).interval_days, &tz).unwrap();
    // 08:00 EST + 7 days of wall time = 08:00 EDT.
    assert_eq!(ours.local_rfc3339(), "2024-03-16T08:00:00-04:00");
    // The seed read 08:00-05:00 as 08:00 UTC (03:00 EST) and so lands five hours early.
    assert_eq!(c.seed_next_due, "2024-03-16T03:00:00-04:00");
    assert_eq!(ours.due_utc().duration_since(parse_timestamp(&c.seed_next_due).unwrap()).as_hours(), 5);
}
