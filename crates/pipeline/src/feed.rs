//! The feeds: every kind of input the pipeline ingests, from a file (`cmms import`, `cmms demo`)
//! or pushed to a webhook (`POST /api/v1/ingest/{feed}`), and the one entry point that takes them
//! in, [`import`].
//!
//! A new feed kind is one arm of [`Feed`] (its name, columns and flags below, and its arm in
//! [`import`]) plus its record type: the core's parsing (`cmms_core::feeds`/`master`) and the
//! store's table (`cmms_store::master`), joined here by an `impl FeedRecord`.

use crate::import::{ImportError, ImportObserver, ImportReport};
use crate::ingest::{self, IngestError, IngestReport, Ingested};
use cmms_core::feeds::{ConsumptionRecord, FailureRecord, MtbfReadingRecord, ScanRecord, SnapshotRecord};
use cmms_core::master::{AssetPartRecord, AssetRecord, ImportRecord, PartRecord, SiteRecord, SkuMapRecord};
use cmms_core::time::TimeWindow;
use cmms_store::Store;
use cmms_store::master::StoredRecord;
use std::future::Future;
use std::path::Path;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// A kind of input: master data (upserted by key) or an event feed (first delivery wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feed {
    /// Sites and their time zones.
    Sites,
    /// The part master.
    Parts,
    /// SKUs of source systems mapped to parts.
    SkuMap,
    /// Stock snapshots.
    Inventory,
    /// Consumption events.
    Consumption,
    /// Barcode/QR scan counts.
    Scans,
    /// Assets with their manufacturer PM interval.
    Assets,
    /// The PM bill of materials of each asset.
    AssetParts,
    /// Failure-log events.
    Failures,
    /// MTBF readings.
    MtbfReadings,
}

impl Feed {
    /// Every feed, in the order `cmms import --help` lists them.
    pub const ALL: [Feed; 10] = [
        Feed::Sites,
        Feed::Parts,
        Feed::SkuMap,
        Feed::Inventory,
        Feed::Consumption,
        Feed::Scans,
        Feed::Assets,
        Feed::AssetParts,
        Feed::Failures,
        Feed::MtbfReadings,
    ];

    /// The feed's name, as in `cmms import <kind>` and the webhook path.
    pub fn as_str(self) -> &'static str {
        match self {
            Feed::Sites => SiteRecord::KIND,
            Feed::Parts => PartRecord::KIND,
            Feed::SkuMap => SkuMapRecord::KIND,
            Feed::Inventory => SnapshotRecord::KIND,
            Feed::Consumption => ConsumptionRecord::KIND,
            Feed::Scans => ScanRecord::KIND,
            Feed::Assets => AssetRecord::KIND,
            Feed::AssetParts => AssetPartRecord::KIND,
            Feed::Failures => FailureRecord::KIND,
            Feed::MtbfReadings => MtbfReadingRecord::KIND,
        }
    }

    /// The feed of a name.
    pub fn parse(name: &str) -> Option<Feed> {
        Feed::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The columns of its import file, in short (`cmms import --help`).
    pub fn columns(self) -> &'static str {
        match self {
            Feed::Sites => "site_id, timezone",
            Feed::Parts => "part_id, description, unit, site_id, part_class, lead_time_days, baseline_min/reorder/max",
            Feed::SkuMap => "source, external_sku, part_id",
            Feed::Inventory => "source, sequence_id, external_sku, on_hand, observed_at",
            Feed::Consumption => "event_id, source, external_sku, quantity, consumed_at",
            Feed::Scans => "scan_id, scanner_id, code, counted_qty, scanned_at",
            Feed::Assets => "asset_id, asset_group, site_id, fallback_interval_days, last_completion_at",
            Feed::AssetParts => "asset_id, part_id, quantity",
            Feed::Failures => "event_id, asset_id, event_type, started_at, ended_at",
            Feed::MtbfReadings => "asset_id, mtbf_hours, observed_at",
        }
    }

    /// An event feed: each record is delivered once and the first delivery wins (the others are
    /// master data, upserted by key).
    pub fn is_event_feed(self) -> bool {
        !matches!(self, Feed::Sites | Feed::Parts | Feed::SkuMap | Feed::Assets | Feed::AssetParts)
    }

    /// Accepts records pushed to its ingestion webhook (every event feed).
    pub fn is_pushable(self) -> bool {
        self.is_event_feed()
    }

    /// Its records are staged for the validation and mapping gate (SKU mapping, snapshot
    /// sequence and plausibility, scan reconciliation) before they count.
    pub fn is_staged(self) -> bool {
        matches!(self, Feed::Inventory | Feed::Consumption | Feed::Scans)
    }

    /// The feeds that accept pushed records.
    pub fn pushable() -> impl Iterator<Item = Feed> {
        Feed::ALL.into_iter().filter(|f| f.is_pushable())
    }

    /// The names of the feeds that accept pushed records (the webhook paths).
    pub fn pushable_names() -> &'static [&'static str] {
        static NAMES: std::sync::LazyLock<Vec<&'static str>> =
            std::sync::LazyLock::new(|| Feed::pushable().map(Feed::as_str).collect());
        &NAMES
    }
}

impl std::fmt::Display for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Feed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// In the HTTP contract a feed is a webhook path: only the pushable feeds appear there.
impl utoipa::PartialSchema for Feed {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("The feeds that accept pushed records."))
            .enum_values(Some(Feed::pushable_names().iter().copied()))
            .into()
    }
}

impl utoipa::ToSchema for Feed {}

/// A record type of a feed: how a file of it is imported and how pushed records of it are
/// ingested. The defaults store the records and are done; staged feeds add their gate step.
pub trait FeedRecord: ImportRecord + StoredRecord {
    /// Imports a file of this kind.
    fn from_file(
        store: &Store,
        path: &Path,
        now_ms: i64,
        observer: &mut dyn ImportObserver,
    ) -> impl Future<Output = Result<ImportReport, ImportError>> + Send {
        crate::import::import_file::<Self>(store, path, now_ms, observer)
    }

    /// Ingests pushed records of this kind, answering each.
    fn from_pushed(
        store: &Store,
        records: Vec<serde_json::Value>,
        window: TimeWindow,
        now_ms: i64,
    ) -> impl Future<Output = Result<Ingested, IngestError>> + Send {
        ingest::stored_only::<Self>(store, records, window, now_ms)
    }
}

impl FeedRecord for SiteRecord {}
impl FeedRecord for PartRecord {}
impl FeedRecord for SkuMapRecord {}
impl FeedRecord for AssetRecord {}
impl FeedRecord for AssetPartRecord {}
impl FeedRecord for FailureRecord {}
impl FeedRecord for MtbfReadingRecord {}

impl FeedRecord for SnapshotRecord {
    fn from_pushed(
        store: &Store,
        records: Vec<serde_json::Value>,
        window: TimeWindow,
        now_ms: i64,
    ) -> impl Future<Output = Result<Ingested, IngestError>> + Send {
        ingest::snapshots(store, records, window, now_ms)
    }
}

impl FeedRecord for ScanRecord {
    fn from_pushed(
        store: &Store,
        records: Vec<serde_json::Value>,
        window: TimeWindow,
        now_ms: i64,
    ) -> impl Future<Output = Result<Ingested, IngestError>> + Send {
        ingest::scans(store, records, window, now_ms)
    }
}

impl FeedRecord for ConsumptionRecord {
    fn from_file(
        store: &Store,
        path: &Path,
        now_ms: i64,
        observer: &mut dyn ImportObserver,
    ) -> impl Future<Output = Result<ImportReport, ImportError>> + Send {
        crate::inventory::import_consumption(store, path, now_ms, observer)
    }

    fn from_pushed(
        store: &Store,
        records: Vec<serde_json::Value>,
        window: TimeWindow,
        now_ms: i64,
    ) -> impl Future<Output = Result<Ingested, IngestError>> + Send {
        ingest::consumption(store, records, window, now_ms)
    }
}

/// Where the records of an [`import`] come from, and what it answers.
pub trait Source {
    /// What the import reports.
    type Report;
    /// Why the import as a whole failed.
    type Error;
    /// Takes the records in as records of `R`, the record type of `feed`.
    fn import<R: FeedRecord>(
        self,
        feed: Feed,
        store: &Store,
        now_ms: i64,
    ) -> impl Future<Output = Result<Self::Report, Self::Error>> + Send;
}

/// A CSV or JSON file (`cmms import`, `cmms demo`), read with progress reported to `observer`.
pub struct File<'a> {
    /// The file.
    pub path: &'a Path,
    /// Sees progress and rejected rows as they happen.
    pub observer: &'a mut dyn ImportObserver,
}

impl Source for File<'_> {
    type Report = ImportReport;
    type Error = ImportError;

    fn import<R: FeedRecord>(
        self,
        _feed: Feed,
        store: &Store,
        now_ms: i64,
    ) -> impl Future<Output = Result<ImportReport, ImportError>> + Send {
        R::from_file(store, self.path, now_ms, self.observer)
    }
}

/// JSON records pushed to a feed's webhook; an instant outside `window` (the shell builds it from
/// its clock, [`TimeWindow::events`]) rejects its record.
pub struct Pushed {
    /// The records (JSON objects with the feed's fields).
    pub records: Vec<serde_json::Value>,
    /// The window instants must lie in.
    pub window: TimeWindow,
}

impl Source for Pushed {
    type Report = IngestReport;
    type Error = IngestError;

    fn import<R: FeedRecord>(
        self,
        feed: Feed,
        store: &Store,
        now_ms: i64,
    ) -> impl Future<Output = Result<IngestReport, IngestError>> + Send {
        ingest::ingest::<R>(store, feed, self.records, self.window, now_ms)
    }
}

/// Takes the records of `feed` from `source` into the store: a file is parsed, checked and
/// written by key in batches ([`ImportReport`]); pushed records are stored in one transaction and
/// answered one by one ([`IngestReport`]). Staged feeds then wait for the validation gate of the
/// next [`crate::cycle::cycle`] (pushed ones pass it before they are answered).
pub async fn import<S: Source>(store: &Store, feed: Feed, source: S, now_ms: i64) -> Result<S::Report, S::Error> {
    match feed {
        Feed::Sites => source.import::<SiteRecord>(feed, store, now_ms).await,
        Feed::Parts => source.import::<PartRecord>(feed, store, now_ms).await,
        Feed::SkuMap => source.import::<SkuMapRecord>(feed, store, now_ms).await,
        Feed::Inventory => source.import::<SnapshotRecord>(feed, store, now_ms).await,
        Feed::Consumption => source.import::<ConsumptionRecord>(feed, store, now_ms).await,
        Feed::Scans => source.import::<ScanRecord>(feed, store, now_ms).await,
        Feed::Assets => source.import::<AssetRecord>(feed, store, now_ms).await,
        Feed::AssetParts => source.import::<AssetPartRecord>(feed, store, now_ms).await,
        Feed::Failures => source.import::<FailureRecord>(feed, store, now_ms).await,
        Feed::MtbfReadings => source.import::<MtbfReadingRecord>(feed, store, now_ms).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_flags_partition_the_feeds() {
        for f in Feed::ALL {
            assert_eq!(Feed::parse(f.as_str()), Some(f));
            assert!(!f.columns().is_empty());
            assert!(!f.is_staged() || f.is_event_feed(), "{f}: staged feeds are event feeds");
        }
        assert_eq!(Feed::parse("nope"), None);
        assert_eq!(Feed::pushable_names(), ["inventory", "consumption", "scans", "failures", "mtbf_readings"]);
        assert_eq!(serde_json::to_string(&Feed::MtbfReadings).unwrap(), "\"mtbf_readings\"");
    }
}
