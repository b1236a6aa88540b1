//! Import records of the feeds: stock snapshots, consumption and scans (inventory), failure-log
//! events and MTBF readings (reliability), parsed at the boundary into domain types.

use crate::ids::{AssetId, ComponentId, EventId, ExternalSku, IdError, SourceId};
use crate::master::{FieldError, ImportRecord, RawRow, check_time};
use crate::quantity::{Quantity, QuantityError, parse_finite};
use crate::reliability::{FailureEvent, FailureEventType, MtbfReading};
use crate::time::{TimeWindow, parse_optional_timestamp, parse_timestamp};
use jiff::Timestamp;

/// A stock snapshot from an ERP/WMS: the on-hand quantity of one SKU, numbered by its source.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRecord {
    /// The delivering system.
    pub source: SourceId,
    /// Monotonic per (source, SKU): a snapshot not newer than the last applied one changes nothing.
    pub sequence_id: i64,
    /// The SKU as the source spells it.
    pub external_sku: ExternalSku,
    /// On-hand quantity (negative stock is a rejected row).
    pub on_hand: Quantity,
    /// When the source observed it.
    pub observed_at: Timestamp,
}

impl ImportRecord for SnapshotRecord {
    const KIND: &'static str = "inventory";
    const COLUMNS: &'static [&'static str] = &["source", "sequence_id", "external_sku", "on_hand", "observed_at"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            source: row.id("source", SourceId::parse)?,
            sequence_id: row.parse("sequence_id", parse_sequence)?,
            external_sku: row.parse("external_sku", ExternalSku::parse)?,
            on_hand: row.parse("on_hand", Quantity::parse)?,
            observed_at: row.parse("observed_at", parse_timestamp)?,
        })
    }
    fn key(&self) -> String {
        format!("{}\u{1f}{}\u{1f}{}", self.source, self.external_sku, self.sequence_id)
    }
    fn check_times(&self, window: &TimeWindow) -> Result<(), FieldError> {
        check_time(window, "observed_at", self.observed_at)
    }
}

fn parse_sequence(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(v) if v >= 0 => Ok(v),
        Ok(v) => Err(format!("must not be negative (got {v})")),
        Err(_) => Err(format!("not a whole number: {s:?}")),
    }
}

/// Units of a part consumed (issued to a job), as an additive event deduplicated by
/// `(source, event_id)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumptionRecord {
    /// The source's event id.
    pub event_id: EventId,
    /// The delivering system.
    pub source: SourceId,
    /// The SKU as the source spells it.
    pub external_sku: ExternalSku,
    /// Units consumed (negative, NaN and infinite quantities are rejected rows).
    pub quantity: Quantity,
    /// When.
    pub consumed_at: Timestamp,
}

/// A consumption row checked exactly as [`ConsumptionRecord`] is, borrowing its text from the row
/// (the in-memory calculation keeps millions of them without an allocation each).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsumptionRow<'a> {
    /// The source's event id (a valid [`EventId`]).
    pub event_id: &'a str,
    /// The delivering system (a valid [`SourceId`]).
    pub source: &'a str,
    /// The SKU as the source spells it (a valid [`ExternalSku`]).
    pub external_sku: &'a str,
    /// Units consumed.
    pub quantity: Quantity,
    /// When.
    pub consumed_at: Timestamp,
}

impl<'a> ConsumptionRow<'a> {
    /// Parses and checks a raw consumption row.
    pub fn parse(row: &RawRow<'a>) -> Result<Self, FieldError> {
        Ok(Self {
            event_id: row.parse("event_id", EventId::check)?,
            source: row.parse("source", SourceId::check)?,
            external_sku: row.parse("external_sku", ExternalSku::check)?,
            quantity: row.parse("quantity", Quantity::parse)?,
            consumed_at: row.parse("consumed_at", parse_timestamp)?,
        })
    }

    /// Checks `consumed_at` against the plausible window.
    pub fn check_times(&self, window: &TimeWindow) -> Result<(), FieldError> {
        check_time(window, "consumed_at", self.consumed_at)
    }
}

impl ImportRecord for ConsumptionRecord {
    const KIND: &'static str = "consumption";
    const COLUMNS: &'static [&'static str] = &["event_id", "source", "external_sku", "quantity", "consumed_at"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        let r = ConsumptionRow::parse(row)?;
        Ok(Self {
            event_id: EventId::from_checked(r.event_id),
            source: SourceId::from_checked(r.source),
            external_sku: ExternalSku::from_checked(r.external_sku),
            quantity: r.quantity,
            consumed_at: r.consumed_at,
        })
    }
    fn key(&self) -> String {
        format!("{}\u{1f}{}", self.source, self.event_id)
    }
    fn check_times(&self, window: &TimeWindow) -> Result<(), FieldError> {
        check_time(window, "consumed_at", self.consumed_at)
    }
}

/// A physical count from a barcode/QR scanner.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRecord {
    /// The scan's id.
    pub scan_id: EventId,
    /// The scanner.
    pub scanner_id: SourceId,
    /// The scanned code: the barcode/QR payload naming the SKU (a part id or an external SKU).
    pub code: ExternalSku,
    /// Units counted on the shelf.
    pub counted_qty: Quantity,
    /// When.
    pub scanned_at: Timestamp,
}

impl ImportRecord for ScanRecord {
    const KIND: &'static str = "scans";
    const COLUMNS: &'static [&'static str] = &["scan_id", "scanner_id", "code", "counted_qty", "scanned_at"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            scan_id: row.id("scan_id", EventId::parse)?,
            scanner_id: row.id("scanner_id", SourceId::parse)?,
            code: row.parse("code", ExternalSku::parse)?,
            counted_qty: row.parse("counted_qty", Quantity::parse)?,
            scanned_at: row.parse("scanned_at", parse_timestamp)?,
        })
    }
    fn key(&self) -> String {
        self.scan_id.to_string()
    }
    fn check_times(&self, window: &TimeWindow) -> Result<(), FieldError> {
        check_time(window, "scanned_at", self.scanned_at)
    }
}

/// One failure-log event of an asset.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRecord {
    /// The feed's id of the event (deduplication key).
    pub event_id: EventId,
    /// The asset it happened to.
    pub asset_id: AssetId,
    /// The component of the asset it was about (`None`: the asset as a whole).
    pub component: Option<ComponentId>,
    /// The event.
    pub event: FailureEvent,
}

/// A failure-log row checked exactly as [`FailureRecord`] is, borrowing its ids from the row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailureRow<'a> {
    /// The feed's id of the event (a valid [`EventId`]).
    pub event_id: &'a str,
    /// The asset (a valid [`AssetId`]).
    pub asset_id: &'a str,
    /// What happened.
    pub event_type: FailureEventType,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended, if known (never before `started_at`).
    pub ended_at: Option<Timestamp>,
    /// The component it was about (a valid [`ComponentId`]; `None`: the asset as a whole).
    pub component: Option<&'a str>,
}

/// An optional component: empty means none.
fn parse_component(s: &str) -> Result<Option<&str>, IdError> {
    if s.is_empty() { Ok(None) } else { ComponentId::check(s).map(Some) }
}

impl<'a> FailureRow<'a> {
    /// Parses and checks a raw failure-log row.
    pub fn parse(row: &RawRow<'a>) -> Result<Self, FieldError> {
        let event_id = row.parse("event_id", EventId::check)?;
        let event_type = row.parse("event_type", str::parse::<FailureEventType>)?;
        let started_at = row.parse("started_at", parse_timestamp)?;
        let ended_at = row.parse("ended_at", parse_optional_timestamp)?;
        if let Some(end) = ended_at
            && end < started_at
        {
            return Err(FieldError::new("ended_at", format!("is before started_at ({end} < {started_at})")));
        }
        let asset_id = row.parse("asset_id", AssetId::check)?;
        let component = row.parse("component", parse_component)?;
        Ok(Self { event_id, asset_id, event_type, started_at, ended_at, component })
    }

    /// The event as the reliability calculation takes it.
    pub fn event(&self) -> FailureEvent {
        FailureEvent { event_type: self.event_type, started_at: self.started_at, ended_at: self.ended_at }
    }

    /// Checks `started_at` and `ended_at` against the plausible window.
    pub fn check_times(&self, window: &TimeWindow) -> Result<(), FieldError> {
        check_event_times(window, &self.event())
    }
}

fn check_event_times(window: &TimeWindow, event: &FailureEvent) -> Result<(), FieldError> {
    check_time(window, "started_at", event.started_at)?;
    event.ended_at.map_or(Ok(()), |end| check_time(window, "ended_at", end))
}

impl ImportRecord for FailureRecord {
    const KIND: &'static str = "failures";
    const COLUMNS: &'static [&'static str] =
        &["event_id", "asset_id", "event_type", "started_at", "ended_at", "component"];
    const OPTIONAL: &'static [&'static str] = &["ended_at", "component"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        let r = FailureRow::parse(row)?;
        Ok(Self {
            event_id: EventId::from_checked(r.event_id),
            asset_id: AssetId::from_checked(r.asset_id),
            component: r.component.map(ComponentId::from_checked),
            event: r.event(),
        })
    }
    fn key(&self) -> String {
        self.event_id.to_string()
    }
    fn check_times(&self, window: &TimeWindow) -> Result<(), FieldError> {
        check_event_times(window, &self.event)
    }
}

/// An MTBF value from a feed that computes MTBF itself; each reading is one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct MtbfReadingRecord {
    /// The asset.
    pub asset_id: AssetId,
    /// The reading. Any finite value up to [`MAX_MTBF_HOURS`] is accepted; values ≤ 0 are
    /// discarded (and counted) by the calculation, as docs/contract.md#pm-intervals says, rather than lost at import.
    pub reading: MtbfReading,
}

/// The largest plausible MTBF reading, hours (about 1,140 years: vendor figures for electronics
/// reach a few million hours; a larger one is a unit or typing mistake).
pub const MAX_MTBF_HOURS: f64 = 1e7;

fn parse_mtbf_hours(s: &str) -> Result<f64, QuantityError> {
    let v = parse_finite(s)?;
    if v > MAX_MTBF_HOURS {
        return Err(QuantityError::TooLarge { value: v, max: MAX_MTBF_HOURS });
    }
    Ok(v)
}

impl ImportRecord for MtbfReadingRecord {
    const KIND: &'static str = "mtbf_readings";
    const COLUMNS: &'static [&'static str] = &["asset_id", "mtbf_hours", "observed_at"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            asset_id: row.id("asset_id", AssetId::parse)?,
            reading: MtbfReading {
                mtbf_hours: row.parse("mtbf_hours", parse_mtbf_hours)?,
                observed_at: row.parse("observed_at", parse_timestamp)?,
            },
        })
    }
    fn key(&self) -> String {
        format!("{}\u{1f}{}", self.asset_id, self.reading.observed_at.as_millisecond())
    }
    fn check_times(&self, window: &TimeWindow) -> Result<(), FieldError> {
        check_time(window, "observed_at", self.reading.observed_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::parse_values as parse;

    #[test]
    fn inventory_rows() {
        let s = parse::<SnapshotRecord>(&["ERP", "17", " brg-6204 ", "12", "2026-01-01T00:00:00Z"]).unwrap();
        assert_eq!((s.sequence_id, s.external_sku.normalized()), (17, "BRG-6204".to_string()));
        assert_eq!(parse::<SnapshotRecord>(&["ERP", "17", "X", "-1", "2026-01-01"]).unwrap_err().field, "on_hand");
        assert_eq!(parse::<SnapshotRecord>(&["ERP", "1.5", "X", "1", "2026-01-01"]).unwrap_err().field, "sequence_id");
        for bad in ["-2", "NaN", "inf", ""] {
            let e = parse::<ConsumptionRecord>(&["E1", "ERP", "X", bad, "2026-01-01"]).unwrap_err();
            assert_eq!(e.field, "quantity", "{bad}");
        }
        assert!(parse::<ScanRecord>(&["S1", "GUN-7", "BRG-6204", "3", "2026-01-01"]).is_ok());
    }

    #[test]
    fn failure_rows() {
        let ok = parse::<FailureRecord>(&["E1", "A1", "unplanned", "2025-01-01 03:00:00", "", ""]).unwrap();
        assert_eq!(ok.event.event_type, FailureEventType::Unplanned);
        assert_eq!(ok.component, None);
        let e = parse::<FailureRecord>(&["E1", "A1", "BROKEN", "2025-01-01", "", ""]).unwrap_err();
        assert_eq!(e.field, "event_type");
        assert!(e.reason.contains("known: UNPLANNED, CORRECTIVE, PLANNED, SENSOR_RESET"), "{e}");
        let e = parse::<FailureRecord>(&["E1", "A1", "PLANNED", "2025-01-02", "2025-01-01", ""]).unwrap_err();
        assert_eq!(e.field, "ended_at");
        let part = parse::<FailureRecord>(&["E1", "A1", "UNPLANNED", "2025-01-01", "", "BEARING-DE"]).unwrap();
        assert_eq!(part.component.as_ref().map(ComponentId::as_str), Some("BEARING-DE"));
        for bad in [" BEARING", "..", &"X".repeat(65), "A\u{7}B"] {
            let e = parse::<FailureRecord>(&["E1", "A1", "UNPLANNED", "2025-01-01", "", bad]).unwrap_err();
            assert_eq!(e.field, "component", "{bad:?}");
        }
    }

    #[test]
    fn instants_outside_the_window_name_their_field() {
        let w = TimeWindow::events(parse_timestamp("2026-12-07T00:00:00Z").unwrap());
        let ok = parse::<ConsumptionRecord>(&["E1", "ERP", "X", "1", "2026-12-01"]).unwrap();
        assert_eq!(ok.check_times(&w), Ok(()));
        let far = parse::<ConsumptionRecord>(&["E1", "ERP", "X", "1", "9999-12-30"]).unwrap();
        assert_eq!(far.check_times(&w).unwrap_err().field, "consumed_at");
        let old = parse::<SnapshotRecord>(&["ERP", "1", "X", "1", "0000-01-01"]).unwrap();
        assert_eq!(old.check_times(&w).unwrap_err().field, "observed_at");
        let scan = parse::<ScanRecord>(&["S1", "GUN-7", "X", "3", "2062-01-01"]).unwrap();
        assert_eq!(scan.check_times(&w).unwrap_err().field, "scanned_at");
        let ended = parse::<FailureRecord>(&["E1", "A1", "PLANNED", "2026-01-01", "9000-01-01", ""]).unwrap();
        assert_eq!(ended.check_times(&w).unwrap_err().field, "ended_at");
        let reading = parse::<MtbfReadingRecord>(&["A1", "10", "1969-07-20"]).unwrap();
        assert_eq!(reading.check_times(&w).unwrap_err().field, "observed_at");
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
