//! Shared helpers of the fuzz targets: run the production import reader over bytes, pick an import
//! kind from a selector byte, and check what every parsed record must satisfy.

use cmms_core::feeds::{ConsumptionRecord, FailureRecord, MtbfReadingRecord, ScanRecord, SnapshotRecord};
use cmms_core::master::{AssetPartRecord, AssetRecord, ImportRecord, PartRecord, SiteRecord, SkuMapRecord};
use cmms_pipeline::import::reader::{Format, Parsed, read_from_in_batches};
use cmms_store::master::StoredRecord;
use std::path::Path;

/// Rows per batch in the fuzz runs: small, so batch boundaries are crossed often.
pub const FUZZ_BATCH_ROWS: usize = 3;

/// Something to do with one import kind, chosen at run time.
pub trait PerKind {
    /// Does it for records of kind `R`.
    fn run<R: ImportRecord + StoredRecord>(self);
}

/// The import kinds, in selector order (docs/contract.md#import-file-formats).
pub const KINDS: [&str; 10] = [
    "sites",
    "parts",
    "sku_map",
    "inventory",
    "consumption",
    "scans",
    "assets",
    "asset_parts",
    "failures",
    "mtbf_readings",
];

/// Runs `job` for kind number `kind % 10` of [`KINDS`].
pub fn dispatch(kind: u8, job: impl PerKind) {
    match kind % 10 {
        0 => job.run::<SiteRecord>(),
        1 => job.run::<PartRecord>(),
        2 => job.run::<SkuMapRecord>(),
        3 => job.run::<SnapshotRecord>(),
        4 => job.run::<ConsumptionRecord>(),
        5 => job.run::<ScanRecord>(),
        6 => job.run::<AssetRecord>(),
        7 => job.run::<AssetPartRecord>(),
        8 => job.run::<FailureRecord>(),
        _ => job.run::<MtbfReadingRecord>(),
    }
}

/// Reads `body` as an import file of kind `R` through the production reader and returns every
/// row it produced, in order. Panics only when the reader breaks its own promises.
pub fn read_all<R: ImportRecord + StoredRecord>(body: &[u8], format: Format) -> Vec<Parsed<R>> {
    // Each row is at most one line or one array element, so this capacity never blocks the reader.
    let (tx, mut rx) = tokio::sync::mpsc::channel(body.len() + 2);
    let outcome = read_from_in_batches::<R, _>(Path::new("fuzz-input"), body, format, tx, FUZZ_BATCH_ROWS);
    let mut rows = Vec::new();
    while let Ok(batch) = rx.try_recv() {
        assert!(!batch.is_empty() && batch.len() <= FUZZ_BATCH_ROWS, "batch of {} rows", batch.len());
        rows.extend(batch);
    }
    match outcome {
        Ok(summary) => {
            assert!(summary.unknown_columns.iter().all(|c| !R::COLUMNS.contains(&c.as_str())));
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
        }
    }
    for (_, item) in &rows {
        match item {
            Ok(record) => check_record(record),
            Err(issue) => assert!(!issue.to_string().is_empty()),
        }
    }
    rows
}

/// What every accepted record must satisfy: a key, a storable row of the table's width, and
/// references that name an id.
pub fn check_record<R: ImportRecord + StoredRecord>(record: &R) {
    assert!(!record.key().is_empty(), "empty key");
    assert_eq!(record.to_row().len(), R::SPEC.columns.len(), "row width of {}", R::KIND);
    for reference in record.references() {
        assert!(!reference.id.is_empty(), "empty reference {}", reference.field);
    }
}
