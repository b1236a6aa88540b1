//! Master-data records (sites, parts, SKU map, assets, PM bills of materials) and the import
//! record contract: every import kind names its columns and parses a raw row into a typed record.
//!
//! Only field-local rules live here (formats, ranges, cross-field order). Rules that need other
//! data (does the site exist?) are checked by the pipeline against the store.

use crate::ids::{AssetGroup, AssetId, ExternalSku, IdError, PartClass, PartId, SiteId, SourceId};
use crate::quantity::{Quantity, QuantityError, parse_finite};
use crate::time::{SiteTz, TimeError, TimeWindow, parse_optional_timestamp};
use jiff::Timestamp;

/// Longest manufacturer interval accepted, in days (docs/contract.md#import-file-formats: (0, 3650]).
pub const MAX_FALLBACK_INTERVAL_DAYS: f64 = 3650.0;
/// Longest supplier lead time accepted, in days.
pub const MAX_LEAD_TIME_DAYS: f64 = 3650.0;
/// Longest free-text field (descriptions), in characters.
pub const MAX_TEXT_LEN: usize = 500;

/// A field of a row that failed its rule, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The column name.
    pub field: &'static str,
    /// Why the value was refused.
    pub reason: String,
}

impl FieldError {
    /// Builds an error for a field.
    pub fn new(field: &'static str, reason: impl ToString) -> Self {
        Self { field, reason: reason.to_string() }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// One raw row: the values of a kind's columns, in the order of [`ImportRecord::COLUMNS`].
#[derive(Debug, Clone, Copy)]
pub struct RawRow<'a> {
    columns: &'static [&'static str],
    values: &'a [&'a str],
}

impl<'a> RawRow<'a> {
    /// Pairs a kind's columns with a row's values (same length, same order).
    pub fn new(columns: &'static [&'static str], values: &'a [&'a str]) -> Self {
        debug_assert_eq!(columns.len(), values.len());
        Self { columns, values }
    }

    /// The raw text of a column ("" when absent).
    pub fn text(&self, field: &'static str) -> &'a str {
        // The parsers name columns with the same literals as `COLUMNS`: the address usually
        // matches, and the text comparison settles it when it does not.
        let same = |c: &&str| std::ptr::eq(*c, field) || *c == field;
        self.columns.iter().position(same).and_then(|i| self.values.get(i)).copied().unwrap_or("")
    }

    /// Parses a column with `parse`, tagging any error with the column name.
    pub fn parse<T, E: std::fmt::Display>(
        &self,
        field: &'static str,
        parse: impl FnOnce(&'a str) -> Result<T, E>,
    ) -> Result<T, FieldError> {
        parse(self.text(field)).map_err(|e| FieldError::new(field, e))
    }

    /// An identifier column (surrounding blanks are not trimmed: ids are exact).
    pub fn id<T>(&self, field: &'static str, parse: fn(&str) -> Result<T, IdError>) -> Result<T, FieldError> {
        self.parse(field, parse)
    }
}

/// A kind of import file: its name, its columns, and how a raw row becomes a typed record.
pub trait ImportRecord: Sized + Send + 'static {
    /// The kind's name on the command line (`cmms import <kind>`).
    const KIND: &'static str;
    /// Column names, as in docs/contract.md#import-file-formats.
    const COLUMNS: &'static [&'static str];
    /// Columns that may be missing from the header (their value is then empty).
    const OPTIONAL: &'static [&'static str] = &[];
    /// Parses and checks a raw row.
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError>;
    /// The record's identity within one file: two rows with the same key are duplicates.
    fn key(&self) -> String;
    /// Checks the record's instants against the plausible window (the shell passes it, built from
    /// its clock); the refusal names the field. Kinds without instants have nothing to check.
    fn check_times(&self, _window: &TimeWindow) -> Result<(), FieldError> {
        Ok(())
    }
}

/// Checks one instant of a row against the plausible window, naming the field on refusal.
pub fn check_time(window: &TimeWindow, field: &'static str, at: Timestamp) -> Result<(), FieldError> {
    window.check(at).map(|_| ()).map_err(|e| FieldError::new(field, e))
}

fn text_field(row: &RawRow<'_>, field: &'static str, required: bool) -> Result<String, FieldError> {
    let t = row.text(field).trim();
    if required && t.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if let Some(c) = t.chars().find(|c| c.is_control()) {
        return Err(FieldError::new(field, format!("control character {c:?} is not allowed")));
    }
    let n = t.chars().count();
    if n > MAX_TEXT_LEN {
        return Err(FieldError::new(field, format!("must be at most {MAX_TEXT_LEN} characters (got {n})")));
    }
    Ok(t.to_owned())
}

fn optional_quantity(row: &RawRow<'_>, field: &'static str) -> Result<Option<Quantity>, FieldError> {
    let t = row.text(field);
    if t.trim().is_empty() { Ok(None) } else { row.parse(field, Quantity::parse).map(Some) }
}

fn optional_positive_quantity(row: &RawRow<'_>, field: &'static str) -> Result<Option<Quantity>, FieldError> {
    match optional_quantity(row, field)? {
        Some(q) if q.get() == 0.0 => Err(FieldError::new(field, QuantityError::NotPositive(0.0))),
        other => Ok(other),
    }
}

fn bounded_days(row: &RawRow<'_>, field: &'static str, allow_zero: bool, max: f64) -> Result<f64, FieldError> {
    let v = row.parse(field, parse_finite)?;
    let err = |e: QuantityError| Err(FieldError::new(field, e));
    if v < 0.0 {
        return err(QuantityError::Negative(v));
    }
    if v == 0.0 && !allow_zero {
        return err(QuantityError::NotPositive(v));
    }
    if v > max {
        return err(QuantityError::TooLarge { value: v, max });
    }
    Ok(v + 0.0)
}

/// A site and its IANA time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRecord {
    /// The site.
    pub site_id: SiteId,
    /// Its time zone; PM due dates are computed in it.
    pub timezone: SiteTz,
}

impl ImportRecord for SiteRecord {
    const KIND: &'static str = "sites";
    const COLUMNS: &'static [&'static str] = &["site_id", "timezone"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            site_id: row.id("site_id", SiteId::parse)?,
            timezone: row.parse("timezone", |s: &str| SiteTz::parse(s).map_err(|e: TimeError| e))?,
        })
    }
    fn key(&self) -> String {
        self.site_id.to_string()
    }
}

/// A part of the part master, with supplier lead time and static baseline limits.
#[derive(Debug, Clone, PartialEq)]
pub struct PartRecord {
    /// The part.
    pub part_id: PartId,
    /// Free-text description.
    pub description: String,
    /// Stock-keeping unit (`EA`, `M`, `L` …).
    pub unit: String,
    /// The site whose stores hold it.
    pub site_id: SiteId,
    /// Class used for formula overrides.
    pub part_class: PartClass,
    /// Supplier lead time in days. Zero is accepted here and reported by the calculation as
    /// `LEAD_TIME_NOT_POSITIVE`; a negative lead time is a rejected row.
    pub lead_time_days: f64,
    /// Static baseline minimum from the part master (drift detection compares against it).
    pub baseline_min: Option<Quantity>,
    /// Static baseline reorder point.
    pub baseline_reorder: Option<Quantity>,
    /// Static baseline maximum.
    pub baseline_max: Option<Quantity>,
    /// Units per pack (order multiple), > 0 when given (docs/contract.md#whole-units).
    pub pack_size: Option<Quantity>,
    /// Smallest quantity one order may be for, > 0 when given.
    pub min_order_qty: Option<Quantity>,
}

impl ImportRecord for PartRecord {
    const KIND: &'static str = "parts";
    const COLUMNS: &'static [&'static str] = &[
        "part_id",
        "description",
        "unit",
        "site_id",
        "part_class",
        "lead_time_days",
        "baseline_min",
        "baseline_reorder",
        "baseline_max",
        "pack_size",
        "min_order_qty",
    ];
    const OPTIONAL: &'static [&'static str] = &["pack_size", "min_order_qty"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        let rec = Self {
            part_id: row.id("part_id", PartId::parse)?,
            description: text_field(row, "description", false)?,
            unit: text_field(row, "unit", true)?,
            site_id: row.id("site_id", SiteId::parse)?,
            part_class: row.id("part_class", PartClass::parse)?,
            lead_time_days: bounded_days(row, "lead_time_days", true, MAX_LEAD_TIME_DAYS)?,
            baseline_min: optional_quantity(row, "baseline_min")?,
            baseline_reorder: optional_quantity(row, "baseline_reorder")?,
            baseline_max: optional_quantity(row, "baseline_max")?,
            pack_size: optional_positive_quantity(row, "pack_size")?,
            min_order_qty: optional_positive_quantity(row, "min_order_qty")?,
        };
        if let (Some(min), Some(reorder)) = (rec.baseline_min, rec.baseline_reorder)
            && reorder < min
        {
            return Err(FieldError::new(
                "baseline_reorder",
                format!("must not be below baseline_min ({reorder} < {min})"),
            ));
        }
        if let (Some(reorder), Some(max)) = (rec.baseline_reorder, rec.baseline_max)
            && max < reorder
        {
            return Err(FieldError::new(
                "baseline_max",
                format!("must not be below baseline_reorder ({max} < {reorder})"),
            ));
        }
        Ok(rec)
    }
    fn key(&self) -> String {
        self.part_id.to_string()
    }
}

/// An explicit mapping of a source's external SKU to a part.
#[derive(Debug, Clone, PartialEq)]
pub struct SkuMapRecord {
    /// The source system.
    pub source: SourceId,
    /// The SKU as that source spells it.
    pub external_sku: ExternalSku,
    /// The part it means.
    pub part_id: PartId,
}

impl ImportRecord for SkuMapRecord {
    const KIND: &'static str = "sku_map";
    const COLUMNS: &'static [&'static str] = &["source", "external_sku", "part_id"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            source: row.id("source", SourceId::parse)?,
            external_sku: row.parse("external_sku", ExternalSku::parse)?,
            part_id: row.id("part_id", PartId::parse)?,
        })
    }
    fn key(&self) -> String {
        format!("{}\u{1f}{}", self.source, self.external_sku)
    }
}

/// A maintained asset with its manufacturer PM interval and last PM completion.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetRecord {
    /// The asset.
    pub asset_id: AssetId,
    /// Its group (for reporting and policy).
    pub asset_group: AssetGroup,
    /// The site it stands at (gives the time zone).
    pub site_id: SiteId,
    /// Manufacturer-recommended PM interval in days, in (0, 3650]; the fallback basis.
    pub fallback_interval_days: f64,
    /// When the last PM was completed, if ever.
    pub last_completion_at: Option<Timestamp>,
}

impl ImportRecord for AssetRecord {
    const KIND: &'static str = "assets";
    const COLUMNS: &'static [&'static str] =
        &["asset_id", "asset_group", "site_id", "fallback_interval_days", "last_completion_at"];
    const OPTIONAL: &'static [&'static str] = &["last_completion_at"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            asset_id: row.id("asset_id", AssetId::parse)?,
            asset_group: row.id("asset_group", AssetGroup::parse)?,
            site_id: row.id("site_id", SiteId::parse)?,
            fallback_interval_days: bounded_days(row, "fallback_interval_days", false, MAX_FALLBACK_INTERVAL_DAYS)?,
            last_completion_at: row.parse("last_completion_at", parse_optional_timestamp)?,
        })
    }
    fn key(&self) -> String {
        self.asset_id.to_string()
    }
    fn check_times(&self, window: &TimeWindow) -> Result<(), FieldError> {
        self.last_completion_at.map_or(Ok(()), |at| check_time(window, "last_completion_at", at))
    }
}

/// One line of an asset's PM bill of materials.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetPartRecord {
    /// The asset.
    pub asset_id: AssetId,
    /// A part its PM consumes.
    pub part_id: PartId,
    /// How many units one PM needs (> 0).
    pub quantity: Quantity,
}

impl ImportRecord for AssetPartRecord {
    const KIND: &'static str = "asset_parts";
    const COLUMNS: &'static [&'static str] = &["asset_id", "part_id", "quantity"];
    fn parse(row: &RawRow<'_>) -> Result<Self, FieldError> {
        let quantity = row.parse("quantity", Quantity::parse)?;
        if quantity.get() == 0.0 {
            return Err(FieldError::new("quantity", QuantityError::NotPositive(0.0)));
        }
        Ok(Self { asset_id: row.id("asset_id", AssetId::parse)?, part_id: row.id("part_id", PartId::parse)?, quantity })
    }
    fn key(&self) -> String {
        format!("{}\u{1f}{}", self.asset_id, self.part_id)
    }
}

/// Parses one row given as text values in column order (unit tests of every record kind).
#[cfg(test)]
pub(crate) fn parse_values<R: ImportRecord>(vals: &[&str]) -> Result<R, FieldError> {
    R::parse(&RawRow::new(R::COLUMNS, vals))
}

#[cfg(test)]
mod tests {
    use super::parse_values as parse;
    use super::*;

    #[test]
    fn part_row_rules() {
        let ok =
            parse::<PartRecord>(&["P-1", "Bearing 6204", "EA", "S1", "BEARING", "14", "2", "3", "5", "", ""]).unwrap();
        assert_eq!(ok.lead_time_days, 14.0);
        let neg = parse::<PartRecord>(&["P-1", "", "EA", "S1", "C", "-3", "", "", "", "", ""]).unwrap_err();
        assert_eq!(neg.field, "lead_time_days");
        assert!(neg.reason.contains("negative"), "{neg}");
        let bad_id = parse::<PartRecord>(&["../etc", "", "EA", "S1", "C", "1", "", "", "", "", ""]).unwrap_err();
        assert_eq!(bad_id.field, "part_id");
        let order = parse::<PartRecord>(&["P", "", "EA", "S1", "C", "1", "5", "3", "", "", ""]).unwrap_err();
        assert_eq!(order.field, "baseline_reorder");
        let zero_lead = parse::<PartRecord>(&["P", "", "EA", "S1", "C", "0", "", "", "", "", ""]).unwrap();
        assert_eq!(zero_lead.lead_time_days, 0.0);
        assert_eq!((zero_lead.pack_size, zero_lead.min_order_qty), (None, None));
        let packed = parse::<PartRecord>(&["P", "", "KIT", "S1", "C", "5", "", "", "", " 12 ", "2.5"]).unwrap();
        assert_eq!(packed.pack_size.map(Quantity::get), Some(12.0));
        assert_eq!(packed.min_order_qty.map(Quantity::get), Some(2.5));
        for (pack, moq, field) in [
            ("0", "", "pack_size"),
            ("-2", "", "pack_size"),
            ("x", "", "pack_size"),
            ("", "0", "min_order_qty"),
            ("", "NaN", "min_order_qty"),
        ] {
            let e = parse::<PartRecord>(&["P", "", "EA", "S1", "C", "5", "", "", "", pack, moq]).unwrap_err();
            assert_eq!(e.field, field, "{pack:?} {moq:?}");
        }
        let zero = parse::<PartRecord>(&["P", "", "EA", "S1", "C", "5", "", "", "", "0", ""]).unwrap_err();
        assert!(zero.reason.contains("greater than zero"), "{zero}");
    }

    #[test]
    fn asset_row_rules() {
        let a = parse::<AssetRecord>(&["A1", "PUMPS", "S1", "90", ""]).unwrap();
        assert_eq!(a.last_completion_at, None);
        for bad in ["0", "-1", "3651", "x"] {
            let e = parse::<AssetRecord>(&["A1", "PUMPS", "S1", bad, ""]).unwrap_err();
            assert_eq!(e.field, "fallback_interval_days", "{bad}");
        }
        let e = parse::<AssetRecord>(&["A1", "PUMPS", "S1", "30", "soon"]).unwrap_err();
        assert_eq!(e.field, "last_completion_at");
    }

    #[test]
    fn bom_quantity_must_be_positive() {
        assert!(parse::<AssetPartRecord>(&["A1", "P1", "0"]).is_err());
        assert!(parse::<AssetPartRecord>(&["A1", "P1", "2"]).is_ok());
    }

    #[test]
    fn site_zone_checked() {
        assert!(parse::<SiteRecord>(&["S1", "Europe/Berlin"]).is_ok());
        assert_eq!(parse::<SiteRecord>(&["S1", "Berlin"]).unwrap_err().field, "timezone");
    }
}
