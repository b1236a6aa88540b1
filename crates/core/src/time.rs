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
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = t.parse::<civil::DateTime>() {
        return dt.to_zoned(TimeZone::UTC).map(|z| z.timestamp()).map_err(|_| bad());
    }
    Err(bad())
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

    #[test]
    fn zones_come_from_the_bundled_database() {
        assert!(SiteTz::parse("Australia/Sydney").is_ok());
        assert!(SiteTz::parse("Mars/Olympus").is_err());
    }
}
