//! Timestamps and time zones at the boundary.
//!
//! docs/contract.md#timestamps: a timestamp without an offset is UTC; a timestamp with an offset is honoured (the
//! seed article overwrote offsets, a bug). Accepted forms: RFC 3339 / ISO 8601 with `T` or a blank
//! between date and time, optional fractional seconds, optional offset (`Z`, `+02:00`), or a bare
//! date (midnight UTC). Offsets are accepted within ±18:00 ([`MAX_OFFSET_SECONDS`]; jiff itself
//! reads up to ±25:59:59, which no real zone uses).
//!
//! Parsing says whether a text is a timestamp; [`TimeWindow`] says whether the instant is
//! plausible for outside input (not before 1970, not after now plus a small allowance). The
//! window takes `now` as a value: the shells (import, ingest, API, CLI) read the clock.

use jiff::{SignedDuration, Timestamp, civil, fmt::temporal::Pieces, tz::TimeZone};

/// Largest UTC offset accepted in a timestamp, in seconds: ±18:00, the range of ISO 8601
/// profiles such as `java.time` and XML Schema (real zones use −12:00 … +14:00).
pub const MAX_OFFSET_SECONDS: i32 = 18 * 3600;

/// Why a timestamp or time zone was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The text is not a timestamp in an accepted form.
    #[error("not a timestamp (expected e.g. 2025-03-09T14:30:00Z, 2025-03-09 14:30:00 or 2025-03-09): {0:?}")]
    BadTimestamp(String),
    /// The name is not an IANA time zone known to the bundled database.
    #[error("unknown IANA time zone {0:?} (e.g. Europe/Berlin, America/New_York)")]
    UnknownZone(String),
    /// The offset is beyond ±18:00.
    #[error("UTC offset {offset} is outside -18:00 … +18:00: {text:?}")]
    OffsetOutOfRange {
        /// The text given.
        text: String,
        /// The offset it carries.
        offset: jiff::tz::Offset,
    },
    /// The instant is before the window's earliest instant (1970-01-01T00:00:00Z).
    #[error("{at} is before {earliest}, the earliest accepted instant")]
    TooEarly {
        /// The refused instant.
        at: Timestamp,
        /// The window's start.
        earliest: Timestamp,
    },
    /// The instant is after now plus the window's allowance.
    #[error("{at} is in the future: later than now + {ahead:#} ({latest})")]
    TooLate {
        /// The refused instant.
        at: Timestamp,
        /// The allowance past now.
        ahead: SignedDuration,
        /// Now plus the allowance.
        latest: Timestamp,
    },
}

impl TimeError {
    /// Stable code: `TIMESTAMP_OUT_OF_RANGE` for an instant outside the plausible window,
    /// `INVALID_TIMESTAMP` for text that is not an accepted timestamp, `UNKNOWN_TIME_ZONE`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadTimestamp(_) | Self::OffsetOutOfRange { .. } => "INVALID_TIMESTAMP",
            Self::UnknownZone(_) => "UNKNOWN_TIME_ZONE",
            Self::TooEarly { .. } | Self::TooLate { .. } => "TIMESTAMP_OUT_OF_RANGE",
        }
    }
}

/// The plausible instants of outside input: from 1970-01-01T00:00:00Z ([`TimeWindow::EARLIEST`])
/// to `now + ahead`. One rule for every timestamp a feed, file or request brings in:
/// [`TimeWindow::events`] (now + 1 day) for event, observation and sync times; a PM completion
/// uses a smaller allowance (the configured completion tolerance, 1 hour by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    now: Timestamp,
    ahead: SignedDuration,
}

impl TimeWindow {
    /// The earliest plausible instant: the Unix epoch.
    pub const EARLIEST: Timestamp = Timestamp::UNIX_EPOCH;
    /// How far past now an event, observation or sync time may be (clock skew between systems).
    pub const EVENT_AHEAD: SignedDuration = SignedDuration::from_hours(24);

    /// The window ending `ahead` after `now` (a negative `ahead` counts as zero).
    pub fn new(now: Timestamp, ahead: SignedDuration) -> Self {
        Self { now, ahead: ahead.max(SignedDuration::ZERO) }
    }

    /// The window for event, observation and sync times: up to now + 1 day.
    pub fn events(now: Timestamp) -> Self {
        Self::new(now, Self::EVENT_AHEAD)
    }

    /// The latest plausible instant.
    pub fn latest(&self) -> Timestamp {
        self.now.checked_add(self.ahead).unwrap_or(Timestamp::MAX)
    }

    /// The instant, if it lies in the window; otherwise why not.
    pub fn check(&self, at: Timestamp) -> Result<Timestamp, TimeError> {
        if at < Self::EARLIEST {
            return Err(TimeError::TooEarly { at, earliest: Self::EARLIEST });
        }
        let latest = self.latest();
        if at > latest {
            return Err(TimeError::TooLate { at, ahead: self.ahead, latest });
        }
        Ok(at)
    }
}

/// Parses a timestamp; naive date-times are taken as UTC. Instants are held to the millisecond,
/// as the store keeps them (epoch ms): a finer fraction is cut ([`to_stored_precision`]), so
/// `cmms compute` and the persisted pipeline compute on the same instants.
pub fn parse_timestamp(s: &str) -> Result<Timestamp, TimeError> {
    let t = s.trim();
    let bad = || TimeError::BadTimestamp(s.to_owned());
    if t.is_empty() {
        return Err(bad());
    }
    if let Some(ts) = parse_canonical_utc(t.as_bytes()) {
        return Ok(ts); // whole seconds
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        check_offset(s, t)?;
        return Ok(to_stored_precision(ts));
    }
    if let Ok(dt) = t.parse::<civil::DateTime>() {
        return dt.to_zoned(TimeZone::UTC).map(|z| to_stored_precision(z.timestamp())).map_err(|_| bad());
    }
    Err(bad())
}

/// The instant the store keeps for `ts`: [`from_epoch_ms`] of [`to_epoch_ms`].
pub fn to_stored_precision(ts: Timestamp) -> Timestamp {
    from_epoch_ms(to_epoch_ms(ts))
}

/// Refuses an offset beyond ±18:00 (jiff reads up to ±25:59:59).
fn check_offset(s: &str, t: &str) -> Result<(), TimeError> {
    let offset = Pieces::parse(t).ok().and_then(|p| p.to_numeric_offset());
    match offset {
        Some(offset) if offset.seconds().abs() > MAX_OFFSET_SECONDS => {
            Err(TimeError::OffsetOutOfRange { text: s.to_owned(), offset })
        }
        _ => Ok(()),
    }
}

/// The common form `YYYY-MM-DDTHH:MM:SSZ` without jiff's general parser (a fifth of its cost, and
/// feeds are mostly in this form); None for anything else, which then takes the general path.
/// Years 1000–8999 only, so the result is always inside jiff's range.
fn parse_canonical_utc(b: &[u8]) -> Option<Timestamp> {
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1000..=8999).contains(&year) || !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if day < 1 || day > month_days[(month - 1) as usize] {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Timestamp::from_second(days * 86_400 + hour * 3_600 + minute * 60 + second).ok()
}

/// Parses an optional timestamp: empty text means "none".
pub fn parse_optional_timestamp(s: &str) -> Result<Option<Timestamp>, TimeError> {
    if s.trim().is_empty() { Ok(None) } else { parse_timestamp(s).map(Some) }
}

/// A validated IANA time zone name, resolved against jiff's bundled tz database so results do
/// not depend on the host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct SiteTz(String);

impl SiteTz {
    /// Validates an IANA zone name.
    pub fn parse(name: &str) -> Result<Self, TimeError> {
        let name = name.trim();
        TimeZone::get(name).map_err(|_| TimeError::UnknownZone(name.to_owned()))?;
        Ok(Self(name.to_owned()))
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The zone itself.
    pub fn zone(&self) -> TimeZone {
        // The name was validated against the same bundled database in `parse`.
        TimeZone::get(&self.0).unwrap_or(TimeZone::UTC)
    }
}

/// Milliseconds since the Unix epoch, the storage representation of instants.
pub fn to_epoch_ms(ts: Timestamp) -> i64 {
    ts.as_millisecond()
}

/// The instant for a stored epoch-millisecond value (clamped into jiff's supported range).
pub fn from_epoch_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

/// A stored instant as RFC 3339 in UTC: `2026-12-01T08:00:00Z` (with milliseconds when not zero).
pub fn rfc3339_utc(ms: i64) -> String {
    from_epoch_ms(ms).to_string()
}

/// A stored instant as RFC 3339 with the offset the zone named `tz` has at that instant:
/// `2026-12-01T19:00:00+11:00` (milliseconds when not zero); UTC when `tz` is no known zone. It
/// always reads back as the same instant (an offset with seconds, local mean time, is rounded to
/// whole minutes and the clock reading shifted with it, as `NextDue::local_rfc3339` does).
pub fn rfc3339_local(ms: i64, tz: &str) -> String {
    let ts = from_epoch_ms(ms);
    match SiteTz::parse(tz) {
        Ok(z) => ts.display_with_offset(crate::pm::whole_minutes(z.zone().to_offset(ts))).to_string(),
        Err(_) => ts.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_instants_print_as_rfc3339_in_utc_or_the_site_offset() {
        let ms = 1_796_599_096_892;
        assert_eq!(rfc3339_utc(ms), "2026-12-06T23:18:16.892Z");
        assert_eq!(rfc3339_local(ms, "Australia/Sydney"), "2026-12-07T10:18:16.892+11:00");
        assert_eq!(rfc3339_local(1_796_599_096_000, "Europe/Berlin"), "2026-12-07T00:18:16+01:00");
        assert_eq!(rfc3339_local(ms, "Not/AZone"), "2026-12-06T23:18:16.892Z");
        // Local mean time (New York before 1883, −04:56:02) still reads back as the instant.
        let lmt = -2_717_640_000_000;
        let text = rfc3339_local(lmt, "America/New_York");
        assert_eq!(text.parse::<Timestamp>().unwrap().as_millisecond(), lmt, "{text}");
    }

    #[test]
    fn naive_is_utc_and_offsets_are_honoured() {
        let naive = parse_timestamp("2024-11-03 05:30:00").unwrap();
        assert_eq!(naive.to_string(), "2024-11-03T05:30:00Z");
        let t = parse_timestamp("2024-11-03T05:30:00").unwrap();
        assert_eq!(t, naive);
        let off = parse_timestamp("2024-11-03T01:30:00-04:00").unwrap();
        assert_eq!(off, naive);
        let z = parse_timestamp("2024-11-03T05:30:00.250Z").unwrap();
        assert_eq!(z.as_millisecond() - naive.as_millisecond(), 250);
        assert_eq!(parse_timestamp("2024-11-03").unwrap().to_string(), "2024-11-03T00:00:00Z");
    }

    #[test]
    fn offsets_beyond_18_hours_are_refused() {
        for s in ["2024-11-03T05:30:00+18:00", "2024-11-03T05:30:00-18:00", "2024-11-03 05:30:00+14:00"] {
            assert!(parse_timestamp(s).is_ok(), "{s}");
        }
        for s in ["2024-11-03T05:30:00+25:00", "2024-11-03T05:30:00-18:01", "2024-11-03T05:30:00+25:59:59"] {
            let e = parse_timestamp(s).unwrap_err();
            assert!(matches!(e, TimeError::OffsetOutOfRange { .. }), "{s}: {e}");
            assert_eq!(e.code(), "INVALID_TIMESTAMP");
        }
    }

    #[test]
    fn the_window_runs_from_1970_to_now_plus_the_allowance() {
        let now = parse_timestamp("2026-12-07T00:30:00Z").unwrap();
        let w = TimeWindow::events(now);
        assert_eq!(w.latest().to_string(), "2026-12-08T00:30:00Z");
        for ok in ["1970-01-01T00:00:00Z", "2026-12-01", "2026-12-08T00:30:00Z"] {
            assert!(w.check(parse_timestamp(ok).unwrap()).is_ok(), "{ok}");
        }
        for bad in ["0000-01-01", "1969-12-31T23:59:59Z", "2026-12-08T00:30:01Z", "2062-01-01", "9999-12-30"] {
            let e = w.check(parse_timestamp(bad).unwrap()).unwrap_err();
            assert_eq!(e.code(), "TIMESTAMP_OUT_OF_RANGE", "{bad}");
        }
        let e = w.check(parse_timestamp("9999-12-30").unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "9999-12-30T00:00:00Z is in the future: later than now + 24h (2026-12-08T00:30:00Z)");
        let completion = TimeWindow::new(now, SignedDuration::from_hours(1));
        assert!(completion.check(parse_timestamp("2026-12-07T01:30:00Z").unwrap()).is_ok());
        assert!(completion.check(parse_timestamp("2026-12-07T01:30:01Z").unwrap()).is_err());
        // Near the end of jiff's range, now + allowance saturates instead of failing.
        assert_eq!(TimeWindow::events(Timestamp::MAX).latest(), Timestamp::MAX);
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "yesterday", "2024-13-01", "2024-02-30 10:00:00", "12:00"] {
            assert!(parse_timestamp(s).is_err(), "{s}");
        }
        assert_eq!(parse_optional_timestamp("  ").unwrap(), None);
    }

    proptest::proptest! {
        /// The canonical-form shortcut gives exactly jiff's answer, valid or not.
        #[test]
        fn canonical_form_agrees_with_jiff(
            y in 900i64..9100, mo in 0i64..14, d in 0i64..33, h in 0i64..26, mi in 0i64..62, s in 0i64..62,
        ) {
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
            if let Some(fast) = parse_canonical_utc(text.as_bytes()) {
                proptest::prop_assert_eq!(Some(fast), text.parse::<Timestamp>().ok(), "{}", text);
            } else if (1000..=8999).contains(&y) && s < 60 {
                proptest::prop_assert!(text.parse::<Timestamp>().is_err(), "{} was refused by the shortcut", text);
            }
        }
    }

    #[test]
    fn canonical_form_edges() {
        for s in ["2024-02-29T23:59:59Z", "2000-02-29T00:00:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z"] {
            assert_eq!(parse_canonical_utc(s.as_bytes()), Some(s.parse::<Timestamp>().unwrap()), "{s}");
        }
        for s in ["2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-01-01t00:00:00Z"] {
            assert_eq!(parse_canonical_utc(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn zones_come_from_the_bundled_database() {
        assert!(SiteTz::parse("Australia/Sydney").is_ok());
        assert!(SiteTz::parse("Mars/Olympus").is_err());
    }
}
