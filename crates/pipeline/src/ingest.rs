//! Ingestion of pushed payloads (the HTTP webhooks): a batch of JSON records of one feed is
//! parsed strictly, stored durably in one transaction, passed through the validation stage, and
//! answered record by record — accepted, duplicate, rejected (with the reason) or quarantined.
//!
//! The same typed records, tables and first-delivery-wins rule as `cmms import`, so a record
//! delivered by file and again by webhook is a duplicate, never a second event.

use crate::feed::{Feed, FeedRecord};
use crate::import::reader::record_from_json;
use crate::import::{Location, RowIssue};
use crate::inventory::{self, InventoryError};
use cmms_core::feeds::{ConsumptionRecord, ScanRecord, SnapshotRecord};
use cmms_core::mapping::Mapping;
use cmms_core::master::ImportRecord;
use cmms_core::time::TimeWindow;
use cmms_store::codes::{ScanVerdict, SnapshotStatus};
use cmms_store::inventory::SnapshotVerdict;
use cmms_store::master::StoredRecord;
use cmms_store::{RowOutcome, Store, StoreError};
use std::collections::{HashMap, HashSet};

/// Most records one request may carry.
pub const MAX_BATCH: usize = 10_000;

/// What became of one pushed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Stored (and, for snapshots and scans, passed through the gate).
    Accepted,
    /// Delivered before with the same content, or a snapshot not newer than the last applied
    /// one: nothing changed.
    Duplicate,
    /// Refused, with the reason; nothing stored.
    Rejected,
    /// Stored, but held until its SKU maps to a part (see the quarantine queue).
    Quarantined,
}

/// The answer for one pushed record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct RecordResult {
    /// Its position in the request (0-based).
    pub index: usize,
    /// What became of it.
    pub status: RecordStatus,
    /// The record's key (e.g. `ERP/E-1` for a consumption event), when it parsed.
    pub key: Option<String>,
    /// A stable code for what happened (`DUPLICATE_CONFLICT`, `UNMAPPED`, `HELD`, `STALE` …).
    pub code: Option<String>,
    /// The reason in words, for rejected, quarantined and held records; the JSON path and field
    /// for a record that did not parse.
    pub reason: Option<String>,
}

/// The answer to one ingestion request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// The feed.
    pub feed: Feed,
    /// Records received.
    pub received: usize,
    /// Records accepted.
    pub accepted: usize,
    /// Records that were duplicates.
    pub duplicate: usize,
    /// Records rejected.
    pub rejected: usize,
    /// Records quarantined.
    pub quarantined: usize,
    /// One result per record, in request order.
    pub results: Vec<RecordResult>,
    /// Parts whose stock or pause state the request may have changed (for routing).
    #[serde(skip)]
    pub parts_touched: Vec<String>,
}

/// Why a whole ingestion request failed (records' own problems are per-record results instead).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// More records than one request may carry.
    #[error("a request carries at most {MAX_BATCH} records (got {0}); split the batch")]
    TooMany(usize),
    /// The validation stage failed.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The store failed (nothing of this request was stored).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RowIssue> for RecordResult {
    fn from(issue: RowIssue) -> Self {
        let index = match issue.location {
            Location::Index(i) | Location::Line(i) => i as usize,
        };
        RecordResult {
            index,
            status: RecordStatus::Rejected,
            key: None,
            code: Some("INVALID".to_owned()),
            reason: Some(issue.to_string()),
        }
    }
}

fn result(index: usize, status: RecordStatus, key: String, code: Option<&str>, reason: Option<String>) -> RecordResult {
    RecordResult { index, status, key: Some(key), code: code.map(str::to_owned), reason }
}

/// The per-record answers of one request, and the parts whose stock or pause state it may have
/// changed (for routing).
pub type Ingested = (Vec<RecordResult>, Vec<String>);

/// Ingests `records` (JSON objects with the fields of `R`) pushed to `feed`: the [`crate::feed::Pushed`]
/// source of [`crate::feed::import`]. A record with an instant outside `window` is rejected naming
/// its JSON path.
pub(crate) async fn ingest<R: FeedRecord>(
    store: &Store,
    feed: Feed,
    records: Vec<serde_json::Value>,
    window: TimeWindow,
    now_ms: i64,
) -> Result<IngestReport, IngestError> {
    if records.len() > MAX_BATCH {
        return Err(IngestError::TooMany(records.len()));
    }
    let span = tracing::info_span!("ingest", feed = feed.as_str(), records = records.len());
    let _enter = span.enter();
    let received = records.len();
    let (results, parts_touched) = R::from_pushed(store, records, window, now_ms).await?;
    let count = |s: RecordStatus| results.iter().filter(|r| r.status == s).count();
    let report = IngestReport {
        feed,
        received,
        accepted: count(RecordStatus::Accepted),
        duplicate: count(RecordStatus::Duplicate),
        rejected: count(RecordStatus::Rejected),
        quarantined: count(RecordStatus::Quarantined),
        results,
        parts_touched,
    };
    tracing::info!(
        accepted = report.accepted,
        duplicate = report.duplicate,
        rejected = report.rejected,
        quarantined = report.quarantined,
        "records ingested"
    );
    Ok(report)
}

/// A record that was written by this request (index, record).
type Stored<R> = Vec<(usize, R)>;

/// Feeds whose records are done once stored (failure events, MTBF readings).
pub(crate) async fn stored_only<R: ImportRecord + StoredRecord>(
    store: &Store,
    records: Vec<serde_json::Value>,
    window: TimeWindow,
    now_ms: i64,
) -> Result<Ingested, IngestError> {
    let (mut results, stored) = plain::<R>(store, records, window, now_ms).await?;
    for (i, rec) in stored {
        results.push(result(i, RecordStatus::Accepted, rec.key().replace('\u{1f}', "/"), None, None));
    }
    Ok((sorted(results), Vec::new()))
}

/// Parses, checks references and stores the records of one feed; answers the ones whose fate is
/// decided here and returns the ones newly stored for the feed's own next step.
async fn plain<R: ImportRecord + StoredRecord>(
    store: &Store,
    records: Vec<serde_json::Value>,
    window: TimeWindow,
    now_ms: i64,
) -> Result<(Vec<RecordResult>, Stored<R>), IngestError> {
    stage::<R>(store, records, window, now_ms, &mut |_| None).await
}

async fn stage<R: ImportRecord + StoredRecord>(
    store: &Store,
    records: Vec<serde_json::Value>,
    window: TimeWindow,
    now_ms: i64,
    derive: &mut crate::import::Derive<'_, R>,
) -> Result<(Vec<RecordResult>, Stored<R>), IngestError> {
    let mut results = Vec::with_capacity(records.len());
    let mut parsed = Vec::with_capacity(records.len());
    for (i, value) in records.into_iter().enumerate() {
        let location = Location::Index(i as u64);
        let rec = record_from_json::<R>(value, &location)
            .and_then(|rec| rec.check_times(&window).map(|()| rec).map_err(|e| RowIssue::from_field(&location, e)));
        match rec {
            Ok(rec) => parsed.push((i, rec)),
            Err(issue) => results.push(RecordResult::from(issue)),
        }
    }
    let mut wanted: HashMap<(&'static str, &'static str), HashSet<&str>> = HashMap::new();
    for (_, rec) in &parsed {
        for r in rec.references() {
            wanted.entry((r.table, r.column)).or_default().insert(r.id);
        }
    }
    let mut known: HashMap<(&'static str, &'static str), HashSet<String>> = HashMap::new();
    for (key, ids) in wanted {
        known.insert(key, store.existing_ids(key.0, key.1, &ids).await?);
    }
    let mut rows = Vec::with_capacity(parsed.len());
    let mut kept = Vec::with_capacity(parsed.len());
    for (i, rec) in parsed {
        let key = rec.key().replace('\u{1f}', "/");
        let missing =
            rec.references().into_iter().find(|r| !known.get(&(r.table, r.column)).is_some_and(|k| k.contains(r.id)));
        if let Some(r) = missing {
            let reason = format!("$[{i}].{}: unknown {} {:?}", r.field, r.field.trim_end_matches("_id"), r.id);
            results.push(result(i, RecordStatus::Rejected, key, Some("UNKNOWN_REFERENCE"), Some(reason)));
            continue;
        }
        let row = rec.to_row_mapped(derive(&rec).as_deref());
        rows.push(row);
        kept.push((i, key, rec));
    }
    let outcomes = store.write_rows(&R::SPEC, rows, now_ms).await?;
    let mut stored = Vec::new();
    for ((i, key, rec), outcome) in kept.into_iter().zip(outcomes) {
        match outcome {
            RowOutcome::Inserted | RowOutcome::Updated => stored.push((i, rec)),
            RowOutcome::Unchanged => results.push(result(
                i,
                RecordStatus::Duplicate,
                key,
                Some("DUPLICATE"),
                Some("delivered before with the same content".to_owned()),
            )),
            RowOutcome::Conflict => {
                let reason = "delivered before with other values (the first delivery wins)".to_owned();
                results.push(result(i, RecordStatus::Rejected, key, Some("DUPLICATE_CONFLICT"), Some(reason)));
            }
        }
    }
    Ok((results, stored))
}

fn sorted(mut results: Vec<RecordResult>) -> Vec<RecordResult> {
    results.sort_by_key(|r| r.index);
    results
}

/// Consumption: SKUs are mapped as the events are stored; unmappable ones are quarantined by the
/// validation stage.
pub(crate) async fn consumption(
    store: &Store,
    records: Vec<serde_json::Value>,
    window: TimeWindow,
    now_ms: i64,
) -> Result<Ingested, IngestError> {
    let pairs: HashSet<(String, String)> = records
        .iter()
        .filter_map(|v| Some((v.get("source")?.as_str()?.to_owned(), v.get("external_sku")?.as_str()?.to_owned())))
        .collect();
    let mapping = inventory::map_skus(store, pairs.into_iter().collect()).await?;
    let mut derive =
        |rec: &ConsumptionRecord| match mapping.get(&(rec.source.to_string(), rec.external_sku.as_str().to_owned())) {
            Some(Mapping::Part(part)) => Some(part.clone()),
            _ => None,
        };
    let (mut results, stored) = stage::<ConsumptionRecord>(store, records, window, now_ms, &mut derive).await?;
    let mut unmapped = false;
    for (i, rec) in stored {
        let key = (rec.source.to_string(), rec.external_sku.as_str().to_owned());
        let id = format!("{}/{}", key.0, rec.event_id);
        match mapping.get(&key) {
            Some(Mapping::Part(_)) => results.push(result(i, RecordStatus::Accepted, id, None, None)),
            other => {
                unmapped = true;
                let code = other.and_then(Mapping::code).unwrap_or("UNMAPPED");
                let reason =
                    format!("SKU {:?} of source {:?} maps to no single part; held in quarantine", key.1, key.0);
                results.push(result(i, RecordStatus::Quarantined, id, Some(code), Some(reason)));
            }
        }
    }
    if unmapped {
        inventory::process(store, now_ms).await?;
    }
    Ok((sorted(results), Vec::new()))
}

/// Snapshots: stored, then through the gate (sequence order, plausibility) before answering.
pub(crate) async fn snapshots(
    store: &Store,
    records: Vec<serde_json::Value>,
    window: TimeWindow,
    now_ms: i64,
) -> Result<Ingested, IngestError> {
    let (mut results, stored) = plain::<SnapshotRecord>(store, records, window, now_ms).await?;
    if stored.is_empty() {
        return Ok((sorted(results), Vec::new()));
    }
    inventory::process(store, now_ms).await?;
    let keys: Vec<(String, String, i64)> =
        stored.iter().map(|(_, r)| (r.source.to_string(), r.external_sku.as_str().to_owned(), r.sequence_id)).collect();
    let statuses = store.snapshot_statuses(&keys).await?;
    let mut parts = HashSet::new();
    for ((i, _), key) in stored.into_iter().zip(keys) {
        let id = format!("{}/{}/{}", key.0, key.1, key.2);
        let SnapshotVerdict { status, reason, part_id: part } = statuses
            .get(&key)
            .cloned()
            .unwrap_or(SnapshotVerdict { status: SnapshotStatus::Pending, reason: None, part_id: None });
        let (status, code) = match status {
            SnapshotStatus::Applied => (RecordStatus::Accepted, None),
            SnapshotStatus::Held => (RecordStatus::Accepted, Some(status.as_str())),
            SnapshotStatus::Stale => (RecordStatus::Duplicate, Some(status.as_str())),
            SnapshotStatus::Quarantined => (RecordStatus::Quarantined, Some(reason.as_deref().unwrap_or("UNMAPPED"))),
            SnapshotStatus::Rejected => (RecordStatus::Rejected, Some(reason.as_deref().unwrap_or(status.as_str()))),
            SnapshotStatus::Pending => (RecordStatus::Accepted, Some(status.as_str())),
        };
        let code = code.map(str::to_owned);
        if status == RecordStatus::Accepted {
            parts.extend(part);
        }
        results.push(RecordResult { index: i, status, key: Some(id), code, reason });
    }
    Ok((sorted(results), parts.into_iter().collect()))
}

/// Scans: stored, then reconciled against system stock before answering.
pub(crate) async fn scans(
    store: &Store,
    records: Vec<serde_json::Value>,
    window: TimeWindow,
    now_ms: i64,
) -> Result<Ingested, IngestError> {
    let (mut results, stored) = plain::<ScanRecord>(store, records, window, now_ms).await?;
    if stored.is_empty() {
        return Ok((sorted(results), Vec::new()));
    }
    inventory::process(store, now_ms).await?;
    let mut parts = HashSet::new();
    for (i, rec) in stored {
        let id = rec.scan_id.to_string();
        let (part, _, outcome) = store.scan(&id).await?.unwrap_or((None, 0.0, ScanVerdict::Pending));
        let (status, code, reason) = match outcome {
            ScanVerdict::Quarantined => (
                RecordStatus::Quarantined,
                Some("UNMAPPED"),
                Some(format!("code {:?} names no single part; held in quarantine", rec.code.as_str())),
            ),
            ScanVerdict::Discrepancy => (
                RecordStatus::Accepted,
                Some(outcome.as_str()),
                Some("the count disagrees with system stock: routing for the part is paused".to_owned()),
            ),
            _ => (RecordStatus::Accepted, None, None),
        };
        parts.extend(part);
        results.push(result(i, status, id, code, reason));
    }
    Ok((sorted(results), parts.into_iter().collect()))
}
