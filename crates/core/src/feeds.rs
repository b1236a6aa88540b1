//! Import records of the reliability feeds (failure-log events, MTBF readings), parsed at the
//! boundary into the types the MTBF calculation uses.

use crate::ids::{AssetId, EventId};
use crate::master::{FieldError, ImportRecord, RawRow};
use crate::quantity::parse_finite;
use crate::reliability::{FailureEvent, FailureEventType, MtbfReading};
use crate::time::{parse_optional_timestamp, parse_timestamp};

/// One failure-log event of an asset.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRecord {
    /// The asset it happened to.
    pub asset_id: AssetId,
    /// The event.
    pub event: FailureEvent,
}

impl ImportRecord for FailureRecord {
    const KIND: &'static str = "failures";
    const COLUMNS: &'static [&'static str] = &["event_id", "asset_id", "event_type", "started_at", "ended_at"];
    const OPTIONAL: &'static [&'static str] = &["ended_at"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        let event = FailureEvent {
            event_id: row.id("event_id", EventId::parse)?,
            event_type: row.parse("event_type", str::parse::<FailureEventType>)?,
            started_at: row.parse("started_at", parse_timestamp)?,
            ended_at: row.parse("ended_at", parse_optional_timestamp)?,
        };
        if let Some(end) = event.ended_at
            && end < event.started_at
        {
            return Err(FieldError::new("ended_at", format!("is before started_at ({end} < {})", event.started_at)));
        }
        Ok(Self { asset_id: row.id("asset_id", AssetId::parse)?, event })
    }
    fn key(&self) -> String {
        self.event.event_id.to_string()
    }
}

/// An MTBF value from a feed that computes MTBF itself; each reading is one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct MtbfReadingRecord {
    /// The asset.
    pub asset_id: AssetId,
    /// The reading. Any finite value is accepted; values ≤ 0 are discarded (and counted) by the
    /// calculation, as DESIGN.md asks, rather than lost at import.
    pub reading: MtbfReading,
}

impl ImportRecord for MtbfReadingRecord {
    const KIND: &'static str = "mtbf_readings";
    const COLUMNS: &'static [&'static str] = &["asset_id", "mtbf_hours", "observed_at"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            asset_id: row.id("asset_id", AssetId::parse)?,
            reading: MtbfReading {
                mtbf_hours: row.parse("mtbf_hours", parse_finite)?,
                observed_at: row.parse("observed_at", parse_timestamp)?,
            },
        })
    }
    fn key(&self) -> String {
        format!("{}\u{1f}{}", self.asset_id, self.reading.observed_at.as_millisecond())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<R: ImportRecord>(vals: &[&str]) -> Result<R, FieldError> {
        let v: Vec<String> = vals.iter().map(|s| s.to_string()).collect();
        R::parse(&RawRow::new(R::COLUMNS, &v))
    }

    #[test]
    fn failure_rows() {
        let ok = parse::<FailureRecord>(&["E1", "A1", "unplanned", "2025-01-01 03:00:00", ""]).unwrap();
        assert_eq!(ok.event.event_type, FailureEventType::Unplanned);
        let e = parse::<FailureRecord>(&["E1", "A1", "BROKEN", "2025-01-01", ""]).unwrap_err();
        assert_eq!(e.field, "event_type");
        assert!(e.reason.contains("known: UNPLANNED, CORRECTIVE, PLANNED, SENSOR_RESET"), "{e}");
        let e = parse::<FailureRecord>(&["E1", "A1", "PLANNED", "2025-01-02", "2025-01-01"]).unwrap_err();
        assert_eq!(e.field, "ended_at");
    }

    #[test]
    fn readings_keep_non_positive_values_for_the_calculation_to_discard() {
        assert_eq!(
            parse::<MtbfReadingRecord>(&["A1", "-12.4", "2024-11-14T08:12:04Z"]).unwrap().reading.mtbf_hours,
            -12.4
        );
        assert_eq!(parse::<MtbfReadingRecord>(&["A1", "NaN", "2024-11-14"]).unwrap_err().field, "mtbf_hours");
    }
}
