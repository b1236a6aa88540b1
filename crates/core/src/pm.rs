//! Next PM due date (docs/contract.md#due-dates): the last completion converted to the site's IANA zone, plus the interval as local
//! wall-clock time, resolved back to an instant, with the monotonic guard.
//!
//! Wall-clock arithmetic is what the seed's `aware_datetime + timedelta(days=x)` does, so a PM
//! every 7 days stays at 08:00 local across a DST change. Unlike the seed, the completion's own
//! offset is honoured (the seed replaced it with UTC).

use jiff::tz::{Disambiguation, Offset, TimeZone};
use jiff::{SignedDuration, Timestamp, Zoned};

/// Microseconds per day.
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `interval_days` as the exact duration Python's `timedelta(days=interval_days)` holds: the
/// whole days exactly, the fraction `fract × 86 400 000 000` µs rounded half-to-even (CPython's
/// `datetime` C implementation). `None` for NaN, infinities and more than 10⁸ days.
pub fn wall_clock_offset(interval_days: f64) -> Option<SignedDuration> {
    if !interval_days.is_finite() || interval_days.abs() > 1e8 {
        return None;
    }
    let whole = interval_days.trunc();
    let fraction_us = ((interval_days - whole) * MICROS_PER_DAY as f64).round_ties_even();
    // |whole| ≤ 10⁸ and |fraction_us| < 8.64·10¹⁰, so both conversions and the sum are exact.
    let micros = (whole as i64).checked_mul(MICROS_PER_DAY)?.checked_add(fraction_us as i64)?;
    Some(SignedDuration::from_micros(micros))
}

/// A computed due date.
#[derive(Debug, Clone, PartialEq)]
pub struct NextDue {
    /// The completion it follows.
    pub last_completion: Timestamp,
    /// The interval added, days.
    pub interval_days: f64,
    /// The due date in the site's zone (carries offset and zone name).
    pub due: Zoned,
}

impl NextDue {
    /// The due instant.
    pub fn due_utc(&self) -> Timestamp {
        self.due.timestamp()
    }

    /// RFC 3339 with the local offset, e.g. `2024-03-17T08:00:00-04:00` (`next_due_at`). It always
    /// reads back as [`Self::due_utc`]: RFC 3339 offsets are whole minutes, so an offset with
    /// seconds (local mean time, before a zone adopted standard time, e.g. New York's −04:56:02)
    /// is rounded to the nearest minute and the local clock reading shifted with it. (Printing the
    /// zoned value directly rounds only the offset and names an instant up to 30 s off.)
    pub fn local_rfc3339(&self) -> String {
        self.due.timestamp().display_with_offset(whole_minutes(self.due.offset())).to_string()
    }

    /// RFC 3339 in UTC, e.g. `2024-03-17T12:00:00Z` (`next_due_at_utc`).
    pub fn utc_rfc3339(&self) -> String {
        self.due.timestamp().to_string()
    }
}

/// `offset` rounded to the nearest whole minute (halves away from zero, as jiff prints it).
pub(crate) fn whole_minutes(offset: Offset) -> Offset {
    let secs = offset.seconds();
    let nearest = (secs.abs() + 30) / 60 * 60 * secs.signum();
    // Rounding up can only leave jiff's offset range (±25:59:59) at its very edge; truncate then.
    Offset::from_seconds(nearest).or_else(|_| Offset::from_seconds(secs / 60 * 60)).unwrap_or(Offset::UTC)
}

/// Why no due date was produced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PmError {
    /// The asset was never completed, so there is nothing to count from.
    #[error("no recorded completion; the asset has no due date yet")]
    NoLastCompletion,
    /// The result would not be after the completion (non-positive interval, or a short interval
    /// landing in a DST fold's earlier occurrence). Rejected (HTTP 422), never stored.
    #[error("next due date {due_at} would not be after the last completion {completed_at}")]
    NotMonotonic {
        /// The last completion.
        completed_at: Timestamp,
        /// The rejected due date.
        due_at: Timestamp,
    },
    /// The interval is not a finite number of days, or the date leaves the supported range.
    #[error("interval of {interval_days} days gives no representable date")]
    OutOfRange {
        /// The interval given.
        interval_days: f64,
    },
}

impl PmError {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoLastCompletion => "NO_LAST_COMPLETION",
            Self::NotMonotonic { .. } => "NOT_MONOTONIC",
            Self::OutOfRange { .. } => "OUT_OF_RANGE",
        }
    }
}

/// The next due date: `last_completion` in `tz`, plus [`wall_clock_offset`]`(interval_days)` of
/// local wall-clock time, resolved with [`Disambiguation::Compatible`]: a wall time in a DST gap
/// moves forward by the gap (02:30 on a spring-forward night becomes 03:30 daylight time), and in
/// a fold the earlier instant is taken — Python's `fold=0`, so results equal the seed's instants.
/// The result must be strictly after the completion, else [`PmError::NotMonotonic`].
pub fn next_due(last_completion: Option<Timestamp>, interval_days: f64, tz: &TimeZone) -> Result<NextDue, PmError> {
    let completed_at = last_completion.ok_or(PmError::NoLastCompletion)?;
    let out_of_range = || PmError::OutOfRange { interval_days };
    let step = wall_clock_offset(interval_days).ok_or_else(out_of_range)?;
    let wall = tz.to_datetime(completed_at).checked_add(step).map_err(|_| out_of_range())?;
    let due = tz.to_ambiguous_zoned(wall).disambiguate(Disambiguation::Compatible).map_err(|_| out_of_range())?;
    if due.timestamp() <= completed_at {
        return Err(PmError::NotMonotonic { completed_at, due_at: due.timestamp() });
    }
    Ok(NextDue { last_completion: completed_at, interval_days, due })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timestamp;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn due(completion: &str, days: f64, zone: &str) -> NextDue {
        next_due(Some(parse_timestamp(completion).unwrap()), days, &tz(zone)).unwrap()
    }

    #[test]
    fn local_text_of_a_local_mean_time_date_reads_back_as_the_same_instant() {
        // Found by the `timestamps` fuzz target: New York kept local mean time (−04:56:02) until
        // 1883, and the printed offset was rounded while the clock reading was not (2 s off).
        let d = due("1012-03-03T13:00:00Z", 3.0, "America/New_York");
        assert_eq!(d.utc_rfc3339(), "1012-03-06T13:00:00Z");
        assert_eq!(d.local_rfc3339(), "1012-03-06T08:04:00-04:56");
        assert_eq!(parse_timestamp(&d.local_rfc3339()).unwrap(), d.due_utc());
        assert_eq!(
            whole_minutes(Offset::from_seconds(-(4 * 3600 + 56 * 60 + 30)).unwrap()).seconds(),
            -(4 * 3600 + 57 * 60)
        );
        assert_eq!(whole_minutes(Offset::from_seconds(93_599).unwrap()).seconds(), 93_540);
    }

    #[test]
    fn whole_days_keep_the_local_hour_across_dst() {
        // (completion UTC, zone, due local, due UTC) — 08:00 local before and after each change.
        let cases = [
            ("2024-03-03T13:00:00Z", "America/New_York", "2024-03-10T08:00:00-04:00", "2024-03-10T12:00:00Z"),
            ("2024-10-31T12:00:00Z", "America/New_York", "2024-11-07T08:00:00-05:00", "2024-11-07T13:00:00Z"),
            ("2024-03-28T07:00:00Z", "Europe/Berlin", "2024-04-04T08:00:00+02:00", "2024-04-04T06:00:00Z"),
            ("2024-10-24T06:00:00Z", "Europe/Berlin", "2024-10-31T08:00:00+01:00", "2024-10-31T07:00:00Z"),
            ("2024-03-31T21:00:00Z", "Australia/Sydney", "2024-04-08T08:00:00+10:00", "2024-04-07T22:00:00Z"),
            ("2024-09-30T22:00:00Z", "Australia/Sydney", "2024-10-08T08:00:00+11:00", "2024-10-07T21:00:00Z"),
        ];
        for (completion, zone, local, utc) in cases {
            let d = due(completion, 7.0, zone);
            assert_eq!((d.local_rfc3339().as_str(), d.utc_rfc3339().as_str()), (local, utc), "{zone}");
            assert_eq!(d.due.time().hour(), 8);
            assert_eq!(d.due.time_zone().iana_name(), Some(zone));
        }
    }

    #[test]
    fn gap_moves_forward_and_fold_takes_the_earlier_instant() {
        // 02:30 EST + 7 days = 02:30 on 2024-03-10, which does not exist -> 03:30 EDT.
        let d = due("2024-03-03T07:30:00Z", 7.0, "America/New_York");
        assert_eq!(d.local_rfc3339(), "2024-03-10T03:30:00-04:00");
        // 01:30 EDT + 7 days = 01:30 on 2024-11-03, which happens twice -> the EDT one.
        let d = due("2024-10-27T05:30:00Z", 7.0, "America/New_York");
        assert_eq!(d.local_rfc3339(), "2024-11-03T01:30:00-04:00");
        // Berlin gap (02:30 on 2024-03-31) and Sydney gap (02:30 on 2024-10-06).
        assert_eq!(due("2024-03-24T01:30:00Z", 7.0, "Europe/Berlin").local_rfc3339(), "2024-03-31T03:30:00+02:00");
        assert_eq!(due("2024-09-28T16:30:00Z", 7.0, "Australia/Sydney").local_rfc3339(), "2024-10-06T03:30:00+11:00");
    }

    #[test]
    fn fractional_days_are_wall_clock_microseconds() {
        let d = due("2024-03-09T13:00:00Z", 8.5, "America/New_York");
        // 08:00 EST + 8 days 12 hours of wall time = 20:00 EDT (only 203 real hours later).
        assert_eq!(d.local_rfc3339(), "2024-03-17T20:00:00-04:00");
        assert_eq!(wall_clock_offset(1e-7), Some(SignedDuration::from_micros(8640)));
        // Half a microsecond rounds to even like CPython: 0.5 -> 0, 1.5 -> 2.
        assert_eq!(wall_clock_offset(0.5 / MICROS_PER_DAY as f64).map(|d| d.as_micros()), Some(0));
        assert_eq!(wall_clock_offset(-7.25), Some(SignedDuration::from_hours(-174)));
        assert_eq!(wall_clock_offset(f64::NAN), None);
    }

    #[test]
    fn guards() {
        let ny = tz("America/New_York");
        assert_eq!(next_due(None, 7.0, &ny).unwrap_err().code(), "NO_LAST_COMPLETION");
        let t = parse_timestamp("2024-06-01T00:00:00Z").unwrap();
        assert_eq!(next_due(Some(t), 0.0, &ny).unwrap_err().code(), "NOT_MONOTONIC");
        assert_eq!(next_due(Some(t), -3.0, &ny).unwrap_err().code(), "NOT_MONOTONIC");
        assert_eq!(next_due(Some(t), f64::INFINITY, &ny).unwrap_err().code(), "OUT_OF_RANGE");
        assert_eq!(next_due(Some(t), 5e6, &ny).unwrap_err().code(), "OUT_OF_RANGE");
        assert_eq!(next_due(Some(Timestamp::MAX), 1.0, &ny).unwrap_err().code(), "OUT_OF_RANGE");
        // Completed at the second 01:50 (EST) of the fold; 5 wall minutes later is 01:55, which
        // resolves to the earlier (EDT) 01:55 — 55 real minutes *before* the completion.
        let second_0150 = parse_timestamp("2024-11-03T06:50:00Z").unwrap();
        match next_due(Some(second_0150), 5.0 / 1440.0, &ny) {
            Err(PmError::NotMonotonic { due_at, .. }) => assert_eq!(due_at.to_string(), "2024-11-03T05:55:00Z"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn completion_offsets_are_honoured() {
        // 08:00 at -05:00 is 13:00 UTC, i.e. 08:00 EST in New York; 7 days later 08:00 EDT.
        let d = due("2024-03-09T08:00:00-05:00", 7.0, "America/New_York");
        assert_eq!(d.local_rfc3339(), "2024-03-16T08:00:00-04:00");
        // The same instant written in another offset gives the same due date.
        assert_eq!(due("2024-03-09T14:00:00+01:00", 7.0, "America/New_York"), d);
    }
}
