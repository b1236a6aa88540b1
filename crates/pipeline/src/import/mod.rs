//! File import (`cmms import <kind> FILE`): stream a CSV or JSON file, parse each row into a
//! typed record, check references and in-file duplicates, and upsert in batches.
//!
//! Promises: a bad row never aborts the import or half-applies — it is reported with its line
//! (or JSON index), field and reason while the good rows land; memory does not grow with the file
//! (master data keeps 24 bytes per distinct key to reject in-file duplicates; feeds keep nothing);
//! re-importing the same file writes nothing and reports every row as unchanged.
//!
//! Duplicates follow the table's write mode. Master data: a second row for a key in one file is
//! rejected. Feed events (first delivery wins): an identical copy is a duplicate delivery (counted,
//! harmless); a copy with other values is rejected as `DUPLICATE_CONFLICT`, whether the first copy
//! is earlier in the file or was stored by an earlier import.
//!
//! Instants are checked against the plausible window ([`input_window`]: 1970-01-01 … now + 1
//! day by the wall clock): a row dated year 0000 or 9999 is a rejected row naming its field.

pub mod reader;

use cmms_core::master::ImportRecord;
use cmms_core::time::TimeWindow;
use cmms_store::master::StoredRecord;
use cmms_store::rows::WriteMode;
use cmms_store::{Store, StoreError, UpsertCounts};
use reader::{BATCH_ROWS, FEED_BATCH_ROWS, Format, Parsed, read_file_in_batches};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// How many rejected rows a report keeps in full (all are counted, and all go to the observer).
pub const MAX_KEPT_ISSUES: usize = 1000;

/// Where a row is in its file (ordered as in the file).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// A CSV line number (1-based; the header is line 1).
    Line(u64),
    /// A JSON array index (0-based).
    Index(u64),
}

/// A rejected row: where, which field (if one), and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowIssue {
    /// The row's place in the file.
    pub location: Location,
    /// The offending column, when the problem is one field.
    pub field: Option<String>,
    /// The reason, in words.
    pub reason: String,
}

impl Location {
    /// The location in 8 bytes (for tables of millions of rows): JSON indices carry the top bit.
    pub(crate) fn pack(&self) -> u64 {
        match self {
            Location::Line(l) => *l & !(1 << 63),
            Location::Index(i) => *i | (1 << 63),
        }
    }

    /// The location [`Location::pack`] packed.
    pub(crate) fn unpack(packed: u64) -> Location {
        if packed & (1 << 63) == 0 { Location::Line(packed) } else { Location::Index(packed & !(1 << 63)) }
    }
}

impl RowIssue {
    /// A problem with one field.
    pub fn field(location: Location, field: &str, reason: impl Into<String>) -> Self {
        Self { location, field: Some(field.to_owned()), reason: reason.into() }
    }

    /// A field that failed its domain check, at `location`.
    pub fn from_field(location: &Location, e: cmms_core::master::FieldError) -> Self {
        Self::field(location.clone(), e.field, e.reason)
    }

    /// A problem with the row as a whole.
    pub fn row(location: Location, reason: impl Into<String>) -> Self {
        Self { location, field: None, reason: reason.into() }
    }
}

impl fmt::Display for RowIssue {
    /// `line 7: lead_time_days: must not be negative (got -3)` or `$[6].part_id: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, &self.field) {
            (Location::Line(l), Some(field)) => write!(f, "line {l}: {field}: {}", self.reason),
            (Location::Line(l), None) => write!(f, "line {l}: {}", self.reason),
            (Location::Index(i), Some(field)) => write!(f, "$[{i}].{field}: {}", self.reason),
            (Location::Index(i), None) => write!(f, "$[{i}]: {}", self.reason),
        }
    }
}

/// Why an import stopped as a whole (rows already written stay written; each batch is atomic).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read. The message holds the OS error (it is not chained as a
    /// source too, so an error chain says it once).
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// The file's extension names no supported format.
    #[error("{}: unknown file format: use a .csv or .json file", .0.display())]
    UnknownFormat(PathBuf),
    /// The CSV header lacks required columns.
    #[error("{}: header is missing column(s) {missing} (expected: {expected}){}", path.display(), delimiter_hint(*.delimiter))]
    MissingColumns {
        /// The file.
        path: PathBuf,
        /// The missing columns.
        missing: String,
        /// All columns of the kind.
        expected: String,
        /// The delimiter the header was split with.
        delimiter: u8,
    },
    /// The file holds nothing, not even a header row.
    #[error("{}: empty file (expected a CSV header row or a JSON array, with: {expected})", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// The kind's columns.
        expected: String,
    },
    /// The file's structure is broken (e.g. JSON syntax); reading cannot continue past `at`.
    #[error("{}: {at}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where reading stopped.
        at: String,
        /// The parser's message.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Names the delimiter a CSV header was split with, for the missing-columns message.
fn delimiter_hint(d: u8) -> String {
    format!("; fields split at `{}` (--delimiter chooses another)", reader::delimiter_name(d))
}

/// The outcome of one import.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportReport {
    /// The import kind (`parts`, `sites` …).
    pub kind: &'static str,
    /// The file imported.
    pub file: String,
    /// Rows read, good and bad.
    pub rows: u64,
    /// What happened to the accepted rows.
    pub counts: UpsertCounts,
    /// Rows rejected.
    pub rejected: u64,
    /// The first [`MAX_KEPT_ISSUES`] rejected rows.
    pub issues: Vec<RowIssue>,
    /// Columns in the file that this kind does not use (ignored).
    pub ignored_columns: Vec<String>,
    /// Why the import stopped early, if it did (rows before that point were imported).
    pub stopped: Option<String>,
    /// The CSV field delimiter used (`,` `;` `tab`), chosen or detected; `None` for JSON.
    pub delimiter: Option<String>,
}

impl ImportReport {
    /// Rows accepted (inserted, updated or unchanged).
    pub fn accepted(&self) -> u64 {
        self.counts.inserted + self.counts.updated + self.counts.unchanged
    }

    /// True when every row landed and the whole file was read.
    pub fn is_clean(&self) -> bool {
        self.rejected == 0 && self.stopped.is_none()
    }
}

/// Receives progress and rejected rows as they happen (the CLI draws a bar and prints them).
pub trait ImportObserver: Send {
    /// The file's size, before reading.
    fn started(&mut self, _total_bytes: u64) {}
    /// Bytes read so far.
    fn progress(&mut self, _bytes_read: u64) {}
    /// A row was rejected.
    fn rejected(&mut self, _issue: &RowIssue) {}
    /// The CSV field delimiter the caller chose (`None`: detect it from the header line).
    fn csv_delimiter(&self) -> Option<u8> {
        None
    }
}

/// An observer that ignores everything.
pub struct Quiet;
impl ImportObserver for Quiet {}

/// The plausible window for instants of outside input (files and webhooks), by the wall clock:
/// 1970-01-01 … now + 1 day ([`TimeWindow::events`]). The import's `now_ms` is the time written
/// on the rows (tests pass a counter there); this reads the clock itself.
pub fn input_window() -> TimeWindow {
    TimeWindow::events(jiff::Timestamp::now())
}

/// A 128-bit fingerprint of a record key, for duplicate detection in bounded memory.
fn fingerprint(key: &str) -> u128 {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        key.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

/// Imports a file of kind `R` into the store, by key, following the kind's write mode.
pub async fn import_file<R: ImportRecord + StoredRecord>(
    store: &Store,
    path: &Path,
    now_ms: i64,
    observer: &mut dyn ImportObserver,
) -> Result<ImportReport, ImportError> {
    import_file_with::<R>(store, path, now_ms, observer, &mut |_| None).await
}

/// The part a record maps to, stored with it (its derived column, see `TableSpec::derived`).
pub type Derive<'a, R> = dyn FnMut(&R) -> Option<String> + Send + 'a;

/// [`import_file`], with `derive` filling each accepted row's derived columns.
pub async fn import_file_with<R: ImportRecord + StoredRecord>(
    store: &Store,
    path: &Path,
    now_ms: i64,
    observer: &mut dyn ImportObserver,
    derive: &mut Derive<'_, R>,
) -> Result<ImportReport, ImportError> {
    let format = Format::from_path(path)?;
    let total = std::fs::metadata(path).map_err(|source| ImportError::Io { path: path.into(), cause: source })?.len();
    observer.started(total);
    let span = tracing::info_span!("import", kind = R::KIND, file = %path.display());
    let _enter = span.enter();
    let run_id = store.begin_import_run(R::KIND, &path.display().to_string(), now_ms).await?;

    let bytes = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = mpsc::channel::<Vec<Parsed<R>>>(1);
    let reader = {
        let (path, bytes) = (path.to_path_buf(), bytes.clone());
        let batch_rows = match R::SPEC.mode {
            WriteMode::Upsert => BATCH_ROWS,
            WriteMode::FirstWins => FEED_BATCH_ROWS,
        };
        let delimiter = observer.csv_delimiter();
        tokio::task::spawn_blocking(move || read_file_in_batches::<R>(path, format, tx, bytes, batch_rows, delimiter))
    };

    let mut report = ImportReport { kind: R::KIND, file: path.display().to_string(), ..Default::default() };
    // Master data only: per distinct key, its 128-bit fingerprint → packed first location.
    let mut seen: HashMap<u128, u64> = HashMap::new();
    let mut write_error = None;
    let window = input_window();
    while let Some(batch) = rx.recv().await {
        let batch = batch
            .into_iter()
            .map(|(location, rec)| {
                let rec = rec.and_then(|r| match r.check_times(&window) {
                    Ok(()) => Ok(r),
                    Err(e) => Err(RowIssue::from_field(&location, e)),
                });
                (location, rec)
            })
            .collect();
        match write_batch(store, batch, &mut seen, &mut report, observer, derive, now_ms).await {
            Ok(()) => observer.progress(bytes.load(Ordering::Relaxed)),
            Err(e) => {
                write_error = Some(e);
                break;
            }
        }
    }
    drop(rx);
    let read = reader.await.map_err(|e| ImportError::Syntax {
        path: path.into(),
        at: "reader".into(),
        message: e.to_string(),
    })?;
    if let Some(e) = write_error {
        let _ = store.finish_import_run(run_id, &report.counts, report.rejected, "FAILED", now_ms).await;
        return Err(e);
    }
    match read {
        Ok(summary) => {
            report.ignored_columns = summary.unknown_columns.into_iter().collect();
            report.delimiter = summary.delimiter.map(reader::delimiter_name);
        }
        Err(e @ (ImportError::Syntax { .. } | ImportError::Io { .. })) if report.rows > 0 => {
            report.stopped = Some(e.to_string());
        }
        Err(e) => {
            let _ = store.finish_import_run(run_id, &report.counts, report.rejected, "FAILED", now_ms).await;
            return Err(e);
        }
    }
    let kind = R::KIND;
    metrics::counter!("cmms_records_total", "stage" => "import", "feed" => kind, "status" => "accepted")
        .increment(report.accepted());
    metrics::counter!("cmms_records_total", "stage" => "import", "feed" => kind, "status" => "rejected")
        .increment(report.rejected);
    let outcome = if report.is_clean() { "OK" } else { "PARTIAL" };
    store.finish_import_run(run_id, &report.counts, report.rejected, outcome, now_ms).await?;
    tracing::info!(
        rows = report.rows,
        inserted = report.counts.inserted,
        updated = report.counts.updated,
        unchanged = report.counts.unchanged,
        rejected = report.rejected,
        "import finished"
    );
    Ok(report)
}

async fn write_batch<R: ImportRecord + StoredRecord>(
    store: &Store,
    batch: Vec<Parsed<R>>,
    seen: &mut HashMap<u128, u64>,
    report: &mut ImportReport,
    observer: &mut dyn ImportObserver,
    derive: &mut Derive<'_, R>,
    now_ms: i64,
) -> Result<(), ImportError> {
    // Which referenced ids exist, one query per referenced table.
    let mut wanted: HashMap<(&'static str, &'static str), HashSet<&str>> = HashMap::new();
    for rec in batch.iter().filter_map(|(_, r)| r.as_ref().ok()) {
        for r in rec.references() {
            wanted.entry((r.table, r.column)).or_default().insert(r.id);
        }
    }
    let mut known: HashMap<(&'static str, &'static str), HashSet<String>> = HashMap::new();
    for (key, ids) in wanted {
        known.insert(key, store.existing_ids(key.0, key.1, &ids).await?);
    }

    let mut rows = Vec::with_capacity(batch.len());
    let mut locations = Vec::with_capacity(batch.len());
    let mut recs = Vec::with_capacity(batch.len());
    let mut reject = |issue: RowIssue, report: &mut ImportReport| {
        observer.rejected(&issue);
        report.rejected += 1;
        if report.issues.len() < MAX_KEPT_ISSUES {
            report.issues.push(issue);
        }
    };
    let key_names = R::SPEC.columns[..R::SPEC.key_len].iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
    for (location, rec) in batch {
        report.rows += 1;
        let rec = match rec {
            Ok(rec) => rec,
            Err(issue) => {
                reject(issue, report);
                continue;
            }
        };
        let missing =
            rec.references().into_iter().find(|r| !known.get(&(r.table, r.column)).is_some_and(|k| k.contains(r.id)));
        if let Some(r) = missing {
            let issue = RowIssue::field(
                location,
                r.field,
                format!("unknown {} {:?} (import {} first)", r.field.trim_end_matches("_id"), r.id, r.import_hint),
            );
            reject(issue, report);
            continue;
        }
        // Master data: a second row for a key in one file is rejected (it would overwrite the
        // first). Feeds need no memory here: the store keeps the first delivery and reports
        // identical copies as duplicates and differing ones as conflicts.
        if R::SPEC.mode == WriteMode::Upsert {
            let fp = fingerprint(&rec.key());
            if let Some(first) = seen.get(&fp) {
                let key = shown_key(&rec);
                let reason = format!("duplicate {key_names} {key:?}: first given at {}", at(&Location::unpack(*first)));
                reject(RowIssue::row(location, reason), report);
                continue;
            }
            seen.insert(fp, location.pack());
        }
        rows.push(rec.to_row_mapped(derive(&rec).as_deref()));
        locations.push(location);
        // Kept (moved, not copied) to name a conflict's key; most rows never need it.
        recs.push(rec);
    }
    let (counts, conflicts) = store.upsert_batch(&R::SPEC, rows, now_ms).await?;
    report.counts.add(counts);
    for i in conflicts {
        let reason = format!(
            "DUPLICATE_CONFLICT: {key_names} {:?} was delivered before with other values (the first delivery wins)",
            shown_key(&recs[i])
        );
        reject(RowIssue::row(locations[i].clone(), reason), report);
    }
    Ok(())
}

/// A record's key as reports show it: its columns joined by `/`.
fn shown_key<R: ImportRecord>(rec: &R) -> String {
    rec.key().replace('\u{1f}', "/")
}

fn at(location: &Location) -> String {
    match location {
        Location::Line(l) => format!("line {l}"),
        Location::Index(i) => format!("$[{i}]"),
    }
}
