//! Timestamps and time zones at the boundary.
//!
//! DESIGN.md: a timestamp without an offset is UTC; a timestamp with an offset is honoured (the
//! seed article overwrote offsets, a bug). Accepted forms: RFC 3339 / ISO 8601 with `T` or a blank
//! between date and time, optional fractional seconds, optional offset (`Z`, `+02:00`), or a bare
//! date (midnight UTC).

use jiff::{Timestamp, civil, tz::TimeZone};

/// Why a timestamp or time zone was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The text is not a timestamp in an accepted form.
    #[error("not a timestamp (expected e.g. 2025-03-09T14:30:00Z, 2025-03-09 14:30:00 or 2025-03-09): {0:?}")]
    BadTimestamp(String),
    /// The name is not an IANA time zone known to the bundled database.
    #[error("unknown IANA time zone {0:?} (e.g. Europe/Berlin, America/New_York)")]
    UnknownZone(String),
}

/// Parses a timestamp; naive date-times are taken as UTC.
pub fn parse_timestamp(s: &str) -> Result<Timestamp, TimeError> {
    let t = s.trim();
    let bad = || TimeError::BadTimestamp(s.to_owned());
    if t.is_empty() {
        return Err(bad());
    }
    if let Some(ts) = parse_canonical_utc(t.as_bytes()) {
        return Ok(ts);
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = t.parse::<civil::DateTime>() {
        return dt.to_zoned(TimeZone::UTC).map(|z| z.timestamp()).map_err(|_| bad());
    }
    Err(bad())
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

#[cfg(test)]
mod tests {
    use super::*;

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
