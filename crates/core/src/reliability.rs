//! Reliability → PM interval (docs/contract.md#pm-intervals): failure event types, MTBF samples from a failure log and from MTBF readings, their
//! statistics, and the interval policy with its fallback to the manufacturer interval.
//!
//! Built for volume (100,000 assets, 10,000,000 events): samples are produced by a streaming sweep
//! over the asset's events sorted by start, and statistics take two passes over that stream
//! instead of materialising the samples. No allocation per event or per sample.

use crate::formula::PmParams;
use crate::thresholds::ExactSum;
use jiff::Timestamp;
use std::fmt;
use std::iter::Peekable;

/// Nanoseconds per hour.
const NANOS_PER_HOUR: f64 = 3_600_000_000_000.0;

/// Kind of a failure-log event. Only `UNPLANNED` failures end a time-between-failure sample;
/// `PLANNED` downtime is subtracted from operating time; `CORRECTIVE` and `SENSOR_RESET` are
/// ignored by the MTBF calculation (they are not failures, and the seed's bug was counting them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailureEventType {
    /// An unplanned breakdown.
    Unplanned,
    /// Corrective maintenance work.
    Corrective,
    /// Planned downtime (shutdown, PM).
    Planned,
    /// A sensor calibration or manual reset.
    SensorReset,
    /// Planned downtime that replaces or overhauls the asset (or the event's component): downtime
    /// like `PLANNED`, and for the life models (`cmms_core::life`) it ends a life as a suspension.
    PlannedReplacement,
}

impl FailureEventType {
    /// Every type, in documentation order.
    pub const ALL: [Self; 5] =
        [Self::Unplanned, Self::Corrective, Self::Planned, Self::SensorReset, Self::PlannedReplacement];

    /// The type's name as written in feeds.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unplanned => "UNPLANNED",
            Self::Corrective => "CORRECTIVE",
            Self::Planned => "PLANNED",
            Self::SensorReset => "SENSOR_RESET",
            Self::PlannedReplacement => "PLANNED_REPLACEMENT",
        }
    }

    /// `PLANNED` or `PLANNED_REPLACEMENT`: planned downtime, subtracted from operating time.
    pub fn is_planned(self) -> bool {
        matches!(self, Self::Planned | Self::PlannedReplacement)
    }
}

impl fmt::Display for FailureEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event type not among the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?} (known: UNPLANNED, CORRECTIVE, PLANNED, SENSOR_RESET, PLANNED_REPLACEMENT)")]
pub struct UnknownEventType(pub String);

impl std::str::FromStr for FailureEventType {
    type Err = UnknownEventType;
    /// Parses a type name; surrounding blanks and letter case are ignored (`unplanned` is
    /// `UNPLANNED`), nothing else is.
    fn from_str(s: &str) -> Result<Self, UnknownEventType> {
        let t = s.trim();
        Self::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(t)).ok_or_else(|| UnknownEventType(s.to_owned()))
    }
}

/// Decodes a stored type name (the store's row types read the `event_type` column through it).
impl TryFrom<String> for FailureEventType {
    type Error = UnknownEventType;
    fn try_from(s: String) -> Result<Self, UnknownEventType> {
        s.parse()
    }
}

/// One event of an asset's failure log, as the MTBF calculation takes it (the feed's event id
/// is the record's, not the calculation's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailureEvent {
    /// What happened.
    pub event_type: FailureEventType,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended, if known.
    pub ended_at: Option<Timestamp>,
}

/// An MTBF value delivered by a feed that computes MTBF itself; each is one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MtbfReading {
    /// Mean time between failures, hours (any finite number; ≤ 0 is discarded as a sample).
    pub mtbf_hours: f64,
    /// When the reading was taken.
    pub observed_at: Timestamp,
}

/// Why samples could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReliabilityError {
    /// The failure events were not sorted by `started_at` (a caller defect, never silently
    /// tolerated: the sweep would produce wrong samples).
    #[error("failure events must be sorted by started_at")]
    EventsNotSorted,
}

/// MTBF sample statistics of one asset.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct MtbfStats {
    /// Valid (> 0) samples.
    pub n_samples: usize,
    /// Of those, from UNPLANNED→UNPLANNED spans of the failure log.
    pub n_failure_samples: usize,
    /// Of those, from MTBF readings.
    pub n_reading_samples: usize,
    /// Samples ≤ 0 (or not finite) that were discarded.
    pub n_discarded: usize,
    /// PLANNED events without `ended_at`: they subtract nothing and are reported.
    pub n_open_planned: usize,
    /// Mean of the valid samples, hours.
    pub mean_hours: Option<f64>,
    /// Population standard deviation, hours.
    pub sd_hours: Option<f64>,
    /// Coefficient of variation `sd / mean` (0 for one sample).
    pub cv: Option<f64>,
}

/// Everything that decides which samples count: `since` drops failure spans that start before it
/// and readings observed before it (see [`lookback_start`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SampleScope {
    /// Earliest instant a sample may start at; `None` = the whole history.
    pub since: Option<Timestamp>,
}

/// Start of the look-back window: `as_of − lookback_days × 24 h`, or `None` without a limit.
pub fn lookback_start(as_of: Timestamp, lookback_days: Option<u32>) -> Option<Timestamp> {
    lookback_days.map(|d| crate::thresholds::window_start(as_of, d))
}

fn nanos(t: Timestamp) -> i128 {
    t.as_nanosecond()
}

/// Disjoint, sorted union of the PLANNED intervals with a known end (events sorted by start).
struct PlannedUnion<'a> {
    events: std::slice::Iter<'a, FailureEvent>,
    pending: Option<(i128, i128)>,
}

impl PlannedUnion<'_> {
    fn next_raw(&mut self) -> Option<(i128, i128)> {
        self.events.by_ref().find_map(|e| match e.ended_at {
            Some(end) if e.event_type.is_planned() && end > e.started_at => Some((nanos(e.started_at), nanos(end))),
            _ => None,
        })
    }
}

impl Iterator for PlannedUnion<'_> {
    type Item = (i128, i128);
    fn next(&mut self) -> Option<(i128, i128)> {
        let (start, mut end) = self.pending.take().or_else(|| self.next_raw())?;
        while let Some((s, e)) = self.next_raw() {
            if s <= end {
                end = end.max(e);
            } else {
                self.pending = Some((s, e));
                break;
            }
        }
        Some((start, end))
    }
}

/// Operating hours between consecutive UNPLANNED starts, PLANNED downtime (union, clipped to the
/// span) subtracted. Spans are consecutive and the union is sorted, so one forward sweep suffices:
/// an interval reaching past a span's end stays current for the next span.
struct FailureSpans<'a> {
    unplanned: std::slice::Iter<'a, FailureEvent>,
    since: Option<i128>,
    previous: Option<i128>,
    planned: Peekable<PlannedUnion<'a>>,
}

impl<'a> FailureSpans<'a> {
    fn new(events: &'a [FailureEvent], since: Option<Timestamp>) -> Self {
        Self {
            unplanned: events.iter(),
            since: since.map(nanos),
            previous: None,
            planned: PlannedUnion { events: events.iter(), pending: None }.peekable(),
        }
    }
}

impl Iterator for FailureSpans<'_> {
    type Item = f64;
    fn next(&mut self) -> Option<f64> {
        loop {
            let e = self.unplanned.next()?;
            if e.event_type != FailureEventType::Unplanned {
                continue;
            }
            let b = nanos(e.started_at);
            if self.since.is_some_and(|s| b < s) {
                continue;
            }
            let Some(a) = self.previous.replace(b) else { continue };
            let mut down = 0i128;
            while let Some(&(s, end)) = self.planned.peek() {
                if end <= a {
                    self.planned.next();
                    continue;
                }
                if s >= b {
                    break;
                }
                down += end.min(b) - s.max(a);
                if end > b {
                    break;
                }
                self.planned.next();
            }
            return Some((b - a - down) as f64 / NANOS_PER_HOUR);
        }
    }
}

/// The event types [`mtbf_stats`] reads: UNPLANNED starts end samples and planned downtime is
/// subtracted. Events of the other types (CORRECTIVE, SENSOR_RESET) do not change its result, so
/// a reader of stored logs may leave them out.
pub const MTBF_EVENT_TYPES: [FailureEventType; 3] =
    [FailureEventType::Unplanned, FailureEventType::Planned, FailureEventType::PlannedReplacement];

/// Every raw sample (valid or not) with its origin: `true` for failure-log spans.
fn raw_samples<'a>(
    events: &'a [FailureEvent],
    readings: &'a [MtbfReading],
    scope: SampleScope,
) -> impl Iterator<Item = (bool, f64)> + 'a {
    let readings =
        readings.iter().filter(move |r| scope.since.is_none_or(|s| r.observed_at >= s)).map(|r| (false, r.mtbf_hours));
    FailureSpans::new(events, scope.since).map(|h| (true, h)).chain(readings)
}

fn is_valid(h: f64) -> bool {
    h > 0.0 && h.is_finite()
}

/// MTBF statistics of one asset from its failure log (`events`, sorted by `started_at`; the
/// caller's `ORDER BY`) and its MTBF readings (any order).
///
/// A failure sample is the time between two consecutive UNPLANNED starts (both at or after
/// `scope.since`) minus the union of PLANNED downtime intervals clipped to that span; repair time
/// is not subtracted; PLANNED without `ended_at` subtracts nothing and is counted in
/// `n_open_planned`. Each reading is one sample. Samples ≤ 0 are discarded and counted. Mean and
/// population standard deviation use exact sums, so the result does not depend on sample order.
pub fn mtbf_stats(
    events: &[FailureEvent],
    readings: &[MtbfReading],
    scope: SampleScope,
) -> Result<MtbfStats, ReliabilityError> {
    if !events.is_sorted_by_key(|e| e.started_at) {
        return Err(ReliabilityError::EventsNotSorted);
    }
    let mut stats = MtbfStats {
        n_open_planned: events
            .iter()
            .filter(|e| e.event_type.is_planned() && e.ended_at.is_none())
            .filter(|e| scope.since.is_none_or(|s| e.started_at >= s))
            .count(),
        ..MtbfStats::default()
    };
    let mut sum = ExactSum::new();
    for (from_log, h) in raw_samples(events, readings, scope) {
        if !is_valid(h) {
            stats.n_discarded += 1;
            continue;
        }
        sum.add(h);
        stats.n_samples += 1;
        if from_log {
            stats.n_failure_samples += 1;
        } else {
            stats.n_reading_samples += 1;
        }
    }
    if stats.n_samples == 0 {
        return Ok(stats);
    }
    let n = stats.n_samples as f64;
    let mean = sum.value() / n;
    let mut squares = ExactSum::new();
    for (_, h) in raw_samples(events, readings, scope).filter(|&(_, h)| is_valid(h)) {
        let d = h - mean;
        squares.add(d * d);
    }
    let sd = (squares.value() / n).sqrt();
    stats.mean_hours = Some(mean);
    stats.sd_hours = Some(sd);
    stats.cv = Some(sd / mean);
    Ok(stats)
}

/// Where an interval came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Basis {
    /// From the asset's MTBF.
    Mtbf,
    /// The manufacturer interval (circuit breaker).
    Fallback,
    /// `[pm] method = "weibull_cost"`: the cost-optimal age `T*` of the fitted Weibull.
    Weibull,
    /// `[pm] method = "weibull_cost"`: no time-based PM pays (the manufacturer interval is kept
    /// only when the registry says so).
    RunToFailure,
}

impl Basis {
    /// `MTBF`, `FALLBACK`, `WEIBULL` or `RUN_TO_FAILURE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mtbf => "MTBF",
            Self::Fallback => "FALLBACK",
            Self::Weibull => "WEIBULL",
            Self::RunToFailure => "RUN_TO_FAILURE",
        }
    }
}

impl From<crate::life::CostBasis> for Basis {
    fn from(b: crate::life::CostBasis) -> Self {
        match b {
            crate::life::CostBasis::Weibull => Self::Weibull,
            crate::life::CostBasis::RunToFailure => Self::RunToFailure,
        }
    }
}

impl std::str::FromStr for Basis {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Self::Mtbf, Self::Fallback, Self::Weibull, Self::RunToFailure]
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| format!("unknown PM basis {s:?}"))
    }
}

/// Why the manufacturer interval was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FallbackReason {
    /// No sample > 0.
    NoValidSamples,
    /// Coefficient of variation above the configured limit.
    HighVariability,
}

impl FallbackReason {
    /// Stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NoValidSamples => "NO_VALID_SAMPLES",
            Self::HighVariability => "HIGH_VARIABILITY",
        }
    }
}

impl std::str::FromStr for FallbackReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Self::NoValidSamples, Self::HighVariability]
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| format!("unknown fallback reason {s:?}"))
    }
}

/// Why an interval is not the policy's own: the `mtbf_fraction` fallback, or why `weibull_cost`
/// recommends no time-based PM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum IntervalReason {
    /// The manufacturer interval was used (`mtbf_fraction`).
    Fallback(FallbackReason),
    /// No time-based PM pays (`weibull_cost`).
    NoPm(crate::life::NoPmReason),
}

impl IntervalReason {
    /// Stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Fallback(r) => r.code(),
            Self::NoPm(r) => r.code(),
        }
    }
}

impl From<FallbackReason> for IntervalReason {
    fn from(r: FallbackReason) -> Self {
        Self::Fallback(r)
    }
}

impl From<crate::life::NoPmReason> for IntervalReason {
    fn from(r: crate::life::NoPmReason) -> Self {
        Self::NoPm(r)
    }
}

impl std::str::FromStr for IntervalReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse::<FallbackReason>()
            .map(Self::Fallback)
            .or_else(|_| s.parse::<crate::life::NoPmReason>().map(Self::NoPm))
            .map_err(|_| format!("unknown PM interval reason {s:?}"))
    }
}

/// A PM interval with its provenance.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PmInterval {
    /// Days between PMs (fractional).
    pub interval_days: f64,
    /// Where it came from.
    pub basis: Basis,
    /// Why the fallback was used (`None` for basis MTBF).
    pub reason: Option<FallbackReason>,
    /// The statistics it rests on.
    pub stats: MtbfStats,
}

/// The interval policy: `clamp(mean_hours × safety_factor / 24, min_interval_days,
/// max_interval_days)` (multiplied and divided in the seed's order, so results equal its), or the
/// manufacturer interval, used as given, when there is no valid sample (`NO_VALID_SAMPLES`) or
/// `cv > cv_limit` (`HIGH_VARIABILITY`).
pub fn pm_interval(stats: &MtbfStats, params: &PmParams, manufacturer_interval_days: f64) -> PmInterval {
    let fallback = |reason| PmInterval {
        interval_days: manufacturer_interval_days,
        basis: Basis::Fallback,
        reason: Some(reason),
        stats: *stats,
    };
    let (Some(mean), Some(cv)) = (stats.mean_hours, stats.cv) else {
        return fallback(FallbackReason::NoValidSamples);
    };
    if cv > params.cv_limit {
        return fallback(FallbackReason::HighVariability);
    }
    let raw = mean * params.safety_factor / 24.0;
    let interval_days = params.min_interval_days.max(raw.min(params.max_interval_days));
    PmInterval { interval_days, basis: Basis::Mtbf, reason: None, stats: *stats }
}

/// The PM interval of one asset at `as_of` — the one home of the per-asset rule, used by `cmms
/// compute` and by the persisted recompute: the samples inside the look-back window
/// ([`lookback_start`] of `params.lookback_days`), their statistics ([`mtbf_stats`]; `events`
/// sorted by start) and the interval policy ([`pm_interval`]) with the asset's manufacturer
/// interval as the fallback. The next due date follows with [`crate::pm::next_due`].
pub fn asset_interval(
    events: &[FailureEvent],
    readings: &[MtbfReading],
    params: &PmParams,
    as_of: Timestamp,
    manufacturer_interval_days: f64,
) -> Result<PmInterval, ReliabilityError> {
    let scope = SampleScope { since: lookback_start(as_of, params.lookback_days) };
    let stats = mtbf_stats(events, readings, scope)?;
    Ok(pm_interval(&stats, params, manufacturer_interval_days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timestamp;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        parse_timestamp(s).unwrap()
    }

    fn at_hour(h: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + h * 3600).unwrap()
    }

    fn ev(kind: FailureEventType, start_h: i64, end_h: Option<i64>) -> FailureEvent {
        FailureEvent { event_type: kind, started_at: at_hour(start_h), ended_at: end_h.map(at_hour) }
    }

    use FailureEventType::*;

    fn stats(events: &[FailureEvent]) -> MtbfStats {
        mtbf_stats(events, &[], SampleScope::default()).unwrap()
    }

    #[test]
    fn event_types_parse_with_a_helpful_error() {
        assert_eq!(" unplanned ".parse::<FailureEventType>(), Ok(Unplanned));
        assert_eq!("SENSOR_RESET".parse::<FailureEventType>(), Ok(SensorReset));
        let e = "BREAKDOWN".parse::<FailureEventType>().unwrap_err();
        assert!(e.to_string().contains("UNPLANNED, CORRECTIVE, PLANNED, SENSOR_RESET"), "{e}");
    }

    #[test]
    fn only_unplanned_end_samples_and_planned_downtime_is_subtracted() {
        let events = [
            ev(Unplanned, 0, Some(5)), // repair time is not subtracted
            ev(SensorReset, 10, None),
            ev(Planned, 20, Some(30)),
            ev(Planned, 25, Some(35)), // overlaps: union 20..35 = 15 h
            ev(Corrective, 40, Some(41)),
            ev(Unplanned, 100, None),
            ev(Planned, 190, Some(210)), // straddles the next failure: 10 h in this span
            ev(Unplanned, 200, None),
            ev(Planned, 250, None), // open: subtracts nothing, reported
            ev(Unplanned, 300, None),
        ];
        let s = stats(&events);
        // spans: 100 - 15 = 85; 100 - 10 = 90; 100 - 10 (rest of 190..210) = 90
        assert_eq!((s.n_samples, s.n_failure_samples, s.n_open_planned, s.n_discarded), (3, 3, 1, 0));
        let mean = (85.0 + 90.0 + 90.0) / 3.0;
        assert_eq!(s.mean_hours, Some(mean));
        let sd = (((85.0 - mean) * (85.0 - mean) + 2.0 * (90.0 - mean) * (90.0 - mean)) / 3.0f64).sqrt();
        assert!((s.sd_hours.unwrap() - sd).abs() < 1e-12);
    }

    #[test]
    fn non_positive_samples_are_discarded_and_counted() {
        let events = [
            ev(Unplanned, 0, None),
            ev(Unplanned, 0, None), // same instant: 0 h
            ev(Planned, 0, Some(50)),
            ev(Unplanned, 50, None), // fully planned: 0 h
            ev(Unplanned, 98, None),
        ];
        let readings = [
            MtbfReading { mtbf_hours: -12.4, observed_at: at_hour(1) },
            MtbfReading { mtbf_hours: 0.0, observed_at: at_hour(2) },
            MtbfReading { mtbf_hours: 142.5, observed_at: at_hour(3) },
        ];
        let s = mtbf_stats(&events, &readings, SampleScope::default()).unwrap();
        assert_eq!((s.n_samples, s.n_failure_samples, s.n_reading_samples, s.n_discarded), (2, 1, 1, 4));
        assert_eq!(s.mean_hours, Some((48.0 + 142.5) / 2.0));
    }

    #[test]
    fn one_sample_has_cv_zero_and_no_sample_falls_back() {
        let s = stats(&[ev(Unplanned, 0, None), ev(Unplanned, 240, None)]);
        assert_eq!((s.mean_hours, s.cv), (Some(240.0), Some(0.0)));
        let p = PmParams::default();
        let i = pm_interval(&s, &p, 30.0);
        assert_eq!((i.basis, i.reason, i.interval_days), (Basis::Mtbf, None, 8.5));
        let none = stats(&[ev(Unplanned, 0, None)]);
        let i = pm_interval(&none, &p, 30.0);
        assert_eq!(
            (i.basis, i.reason.map(FallbackReason::code), i.interval_days),
            (Basis::Fallback, Some("NO_VALID_SAMPLES"), 30.0)
        );
    }

    #[test]
    fn clamps_and_high_variability() {
        let p = PmParams::default();
        let readings = |v: &[f64]| -> MtbfStats {
            let r: Vec<MtbfReading> =
                v.iter().map(|&h| MtbfReading { mtbf_hours: h, observed_at: at_hour(0) }).collect();
            mtbf_stats(&[], &r, SampleScope::default()).unwrap()
        };
        assert_eq!(pm_interval(&readings(&[10.0]), &p, 30.0).interval_days, 7.0);
        assert_eq!(pm_interval(&readings(&[100_000.0]), &p, 30.0).interval_days, 365.0);
        // The seed's log line: [142.5, 0.0, 89.2, -12.4, 320.1] -> valid mean 183.93 h -> 6.51 d -> 7.
        let s = readings(&[142.5, 0.0, 89.2, -12.4, 320.1]);
        assert_eq!((s.n_samples, s.n_discarded), (3, 2));
        assert!((s.mean_hours.unwrap() - 183.933_333_333).abs() < 1e-6);
        let i = pm_interval(&s, &p, 30.0);
        assert_eq!((i.basis, i.interval_days), (Basis::Mtbf, 7.0));
        let i = pm_interval(&readings(&[480.0, 500.0]), &p, 30.0);
        assert_eq!(i.interval_days, 490.0 * 0.85 / 24.0);
        let wild = readings(&[1.0, 1.0, 1.0, 1000.0]);
        assert!(wild.cv.unwrap() > 1.0);
        let i = pm_interval(&wild, &p, 45.0);
        assert_eq!(
            (i.basis, i.reason, i.interval_days),
            (Basis::Fallback, Some(FallbackReason::HighVariability), 45.0)
        );
    }

    #[test]
    fn lookback_limits_spans_and_readings() {
        let events = [ev(Unplanned, 0, None), ev(Unplanned, 100, None), ev(Unplanned, 150, None)];
        let readings = [MtbfReading { mtbf_hours: 500.0, observed_at: at_hour(10) }];
        let scope = SampleScope { since: lookback_start(at_hour(200), Some(5)) };
        assert_eq!(scope.since, Some(at_hour(200 - 120)));
        let s = mtbf_stats(&events, &readings, scope).unwrap();
        assert_eq!((s.n_samples, s.mean_hours), (1, Some(50.0)));
        assert_eq!(lookback_start(at_hour(0), None), None);
    }

    #[test]
    fn unsorted_events_are_refused() {
        let events = [ev(Unplanned, 10, None), ev(Unplanned, 0, None)];
        assert_eq!(mtbf_stats(&events, &[], SampleScope::default()), Err(ReliabilityError::EventsNotSorted));
    }

    #[test]
    fn offsets_are_honoured_in_spans() {
        let a = FailureEvent { event_type: Unplanned, started_at: ts("2024-03-09T08:00:00-05:00"), ended_at: None };
        let b = FailureEvent { started_at: ts("2024-03-10T13:00:00Z"), ..a };
        assert_eq!(stats(&[a, b]).mean_hours, Some(24.0));
    }

    /// Brute force: per span, count planned-covered hours hour by hour (all times on whole hours).
    fn brute_force(events: &[FailureEvent]) -> Vec<f64> {
        let hour = |t: Timestamp| (t.as_second() - 1_700_000_000) / 3600;
        let starts: Vec<i64> =
            events.iter().filter(|e| e.event_type == Unplanned).map(|e| hour(e.started_at)).collect();
        starts
            .windows(2)
            .map(|w| {
                let covered = (w[0]..w[1])
                    .filter(|&h| {
                        events.iter().any(|e| {
                            e.event_type.is_planned()
                                && e.ended_at.is_some_and(|end| hour(e.started_at) <= h && h < hour(end))
                        })
                    })
                    .count() as i64;
                (w[1] - w[0] - covered) as f64
            })
            .collect()
    }

    proptest! {
        #[test]
        fn sweep_equals_brute_force(raw in prop::collection::vec((0usize..5, 0i64..500, prop::option::of(0i64..60)), 0..40)) {
            let mut events: Vec<FailureEvent> = raw
                .iter()
                .map(|&(k, start, len)| ev(FailureEventType::ALL[k], start, len.map(|l| start + l)))
                .collect();
            events.sort_by_key(|e| e.started_at);
            let got: Vec<f64> = FailureSpans::new(&events, None).collect();
            prop_assert_eq!(got, brute_force(&events));
        }

        #[test]
        fn stats_read_only_the_mtbf_event_types(
            raw in prop::collection::vec((0usize..5, 0i64..500, prop::option::of(-5i64..60)), 0..40),
            since in prop::option::of(0i64..300),
        ) {
            let mut events: Vec<FailureEvent> = raw
                .iter()
                .map(|&(k, start, len)| ev(FailureEventType::ALL[k], start, len.map(|l| start + l)))
                .collect();
            events.sort_by_key(|e| e.started_at);
            let read: Vec<FailureEvent> =
                events.iter().filter(|e| MTBF_EVENT_TYPES.contains(&e.event_type)).copied().collect();
            let scope = SampleScope { since: since.map(at_hour) };
            prop_assert_eq!(mtbf_stats(&events, &[], scope), mtbf_stats(&read, &[], scope));
        }

        #[test]
        fn stats_ignore_reading_order(mut v in prop::collection::vec(-50.0f64..5000.0, 1..30)) {
            let r = |v: &[f64]| -> Vec<MtbfReading> { v.iter().map(|&h| MtbfReading { mtbf_hours: h, observed_at: at_hour(0) }).collect() };
            let a = mtbf_stats(&[], &r(&v), SampleScope::default()).unwrap();
            v.reverse();
            let b = mtbf_stats(&[], &r(&v), SampleScope::default()).unwrap();
            prop_assert_eq!(a, b);
            if let Some(cv) = a.cv { prop_assert!(cv >= 0.0); }
        }
    }
}
