//! Streaming readers for import files: CSV with a header row, or a JSON array of objects with the
//! same field names. Rows are parsed into typed records on the reader's thread and handed over in
//! bounded batches, so memory stays flat however large the file is.

use super::{ImportError, Location, RowIssue};
use cmms_core::master::{ImportRecord, RawRow};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc::Sender;

/// Rows per batch handed to the writer (and per database transaction): master data.
pub const BATCH_ROWS: usize = 5_000;

/// Rows per batch of an event feed (consumption, snapshots, scans, failures). Larger, because
/// feed rows land in indexes in random order and each commit rewrites every index page it
/// touched: fewer, larger transactions write each page once for many rows.
pub const FEED_BATCH_ROWS: usize = 50_000;

/// The file formats accepted by `cmms import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

impl Format {
    /// The format named by the file's extension (`.csv`, `.json`).
    pub fn from_path(path: &Path) -> Result<Format, ImportError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            _ => Err(ImportError::UnknownFormat(path.to_path_buf())),
        }
    }
}

/// One row as read: its place in the file and either the typed record or why it was refused.
pub type Parsed<R> = (Location, Result<R, RowIssue>);

/// What the reader noticed about the file as a whole.
#[derive(Debug, Default)]
pub struct ReadSummary {
    /// Columns or fields present in the file that this kind does not use (ignored).
    pub unknown_columns: BTreeSet<String>,
}

/// Counts bytes as they are read, for the progress bar.
struct Counting<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

struct Batcher<R> {
    tx: Sender<Vec<Parsed<R>>>,
    batch: Vec<Parsed<R>>,
    size: usize,
}

impl<R> Batcher<R> {
    /// Queues a row; false when the writer has gone away (stop reading).
    fn push(&mut self, item: Parsed<R>) -> bool {
        self.batch.push(item);
        if self.batch.len() >= self.size {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.size));
        self.tx.blocking_send(batch).is_ok()
    }
}

fn parse_row<R: ImportRecord>(location: &Location, values: &[String]) -> Result<R, RowIssue> {
    R::parse(&RawRow::new(R::COLUMNS, values)).map_err(|e| RowIssue::field(location.clone(), e.field, e.reason))
}

/// Reads `path` to the end, sending parsed rows to `tx` in batches of [`BATCH_ROWS`]. Blocking:
/// run it on a blocking thread. Rows sent before a fatal error (e.g. broken JSON syntax) stay sent.
pub fn read_file<R: ImportRecord>(
    path: PathBuf,
    format: Format,
    tx: Sender<Vec<Parsed<R>>>,
    bytes: Arc<AtomicU64>,
) -> Result<ReadSummary, ImportError> {
    read_file_in_batches(path, format, tx, bytes, BATCH_ROWS)
}

/// [`read_file`] with batches of `batch_rows` rows (at least 1).
pub fn read_file_in_batches<R: ImportRecord>(
    path: PathBuf,
    format: Format,
    tx: Sender<Vec<Parsed<R>>>,
    bytes: Arc<AtomicU64>,
    batch_rows: usize,
) -> Result<ReadSummary, ImportError> {
    let file = File::open(&path).map_err(|source| ImportError::Io { path: path.clone(), source })?;
    let input = BufReader::with_capacity(256 * 1024, Counting { inner: file, bytes });
    read_from_in_batches(&path, input, format, tx, batch_rows)
}

/// [`read_file_in_batches`] over any reader (the file path version opens the file and calls this):
/// `path` only names the input in errors. Buffer `input` yourself if it is unbuffered.
pub fn read_from_in_batches<R: ImportRecord, I: Read>(
    path: &Path,
    input: I,
    format: Format,
    tx: Sender<Vec<Parsed<R>>>,
    batch_rows: usize,
) -> Result<ReadSummary, ImportError> {
    let size = batch_rows.max(1);
    let mut out = Batcher { tx, batch: Vec::with_capacity(size), size };
    let mut summary = ReadSummary::default();
    let outcome = match format {
        Format::Csv => read_csv::<R, _>(path, input, &mut out, &mut summary),
        Format::Json => read_json::<R, _>(path, input, &mut out, &mut summary),
    };
    // Rows read before a fatal error are good rows: hand them over before reporting it.
    out.flush();
    outcome.map(|()| summary)
}

fn read_csv<R: ImportRecord, I: Read>(
    path: &Path,
    input: I,
    out: &mut Batcher<R>,
    summary: &mut ReadSummary,
) -> Result<(), ImportError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(input);
    let header = rdr
        .byte_headers()
        .map_err(|e| ImportError::Syntax { path: path.to_path_buf(), at: "line 1".into(), message: e.to_string() })?
        .clone();
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = String::from_utf8_lossy(h);
            let h = if i == 0 { h.trim_start_matches('\u{feff}') } else { &h };
            h.trim().to_owned()
        })
        .collect();
    let index = column_index::<R>(path, &names)?;
    summary.unknown_columns =
        names.iter().filter(|n| !R::COLUMNS.contains(&n.as_str()) && !n.is_empty()).cloned().collect();

    let mut record = csv::ByteRecord::new();
    loop {
        let location = match rdr.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => Location::Line(record.position().map_or(0, |p| p.line())),
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(ImportError::Syntax {
                        path: path.to_path_buf(),
                        at: format!("line {line}"),
                        message: e.to_string(),
                    });
                }
                if !out.push((Location::Line(line), Err(RowIssue::row(Location::Line(line), e.to_string())))) {
                    return Ok(());
                }
                continue;
            }
        };
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        let item = if record.len() != names.len() {
            Err(RowIssue::row(
                location.clone(),
                format!("expected {} fields as in the header, found {}", names.len(), record.len()),
            ))
        } else {
            csv_values::<R>(&record, &index, &location).and_then(|values| parse_row::<R>(&location, &values))
        };
        if !out.push((location, item)) {
            return Ok(());
        }
    }
}

/// For each of the kind's columns, its position in the file (None for a missing optional one).
fn column_index<R: ImportRecord>(path: &Path, names: &[String]) -> Result<Vec<Option<usize>>, ImportError> {
    let index: Vec<Option<usize>> = R::COLUMNS.iter().map(|c| names.iter().position(|n| n == c)).collect();
    let missing: Vec<&str> = R::COLUMNS
        .iter()
        .zip(&index)
        .filter(|(c, i)| i.is_none() && !R::OPTIONAL.contains(c))
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns {
            path: path.to_path_buf(),
            missing: missing.join(", "),
            expected: R::COLUMNS.join(", "),
        });
    }
    Ok(index)
}

fn csv_values<R: ImportRecord>(
    record: &csv::ByteRecord,
    index: &[Option<usize>],
    location: &Location,
) -> Result<Vec<String>, RowIssue> {
    R::COLUMNS
        .iter()
        .zip(index)
        .map(|(col, i)| match i {
            None => Ok(String::new()),
            Some(i) => {
                let raw = record.get(*i).unwrap_or_default();
                std::str::from_utf8(raw).map(str::to_owned).map_err(|e| {
                    let at = e.valid_up_to();
                    RowIssue::field(
                        location.clone(),
                        col,
                        format!("not valid UTF-8 (byte 0x{:02X} at offset {at})", raw[at]),
                    )
                })
            }
        })
        .collect()
}

fn read_json<R: ImportRecord, I: Read>(
    path: &Path,
    input: I,
    out: &mut Batcher<R>,
    summary: &mut ReadSummary,
) -> Result<(), ImportError> {
    let mut de = serde_json::Deserializer::from_reader(input);
    let syntax = |e: serde_json::Error| ImportError::Syntax {
        path: path.to_path_buf(),
        at: format!("line {} column {}", e.line(), e.column()),
        message: e.to_string(),
    };
    JsonArray::<R> { out, summary }.deserialize(&mut de).map_err(syntax)?;
    de.end().map_err(syntax)
}

/// Streams the elements of a top-level JSON array into the batcher without holding the array.
struct JsonArray<'a, R> {
    out: &'a mut Batcher<R>,
    summary: &'a mut ReadSummary,
}

impl<'de, R: ImportRecord> DeserializeSeed<'de> for JsonArray<'_, R> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, R: ImportRecord> Visitor<'de> for JsonArray<'_, R> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0u64;
        while let Some(value) = seq.next_element::<serde_json::Value>()? {
            let location = Location::Index(i);
            i += 1;
            let item = json_values::<R>(value, &location, Some(&mut *self.summary))
                .and_then(|values| parse_row::<R>(&location, &values));
            if !self.out.push((location, item)) {
                break;
            }
        }
        Ok(())
    }
}

/// Parses one JSON object into a typed record, refusing fields the kind does not have (the strict
/// rule of the write endpoints; files only note unknown columns).
pub fn record_from_json<R: ImportRecord>(value: serde_json::Value, location: &Location) -> Result<R, RowIssue> {
    json_values::<R>(value, location, None).and_then(|values| parse_row::<R>(location, &values))
}

/// The kind's column values of a JSON object. Unknown fields are noted in `summary`, or refused
/// when there is none.
fn json_values<R: ImportRecord>(
    value: serde_json::Value,
    location: &Location,
    summary: Option<&mut ReadSummary>,
) -> Result<Vec<String>, RowIssue> {
    let serde_json::Value::Object(mut obj) = value else {
        return Err(RowIssue::row(location.clone(), "expected an object with the record's fields"));
    };
    let mut values = Vec::with_capacity(R::COLUMNS.len());
    for col in R::COLUMNS {
        let text = match obj.remove(*col) {
            None if R::OPTIONAL.contains(col) => String::new(),
            None => return Err(RowIssue::field(location.clone(), col, "missing field")),
            Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(RowIssue::field(
                    location.clone(),
                    col,
                    format!("expected a string or a number, found {}", json_kind(&other)),
                ));
            }
        };
        values.push(text);
    }
    match summary {
        Some(summary) => {
            for k in obj.keys() {
                if summary.unknown_columns.len() < 100 {
                    summary.unknown_columns.insert(k.clone());
                }
            }
        }
        None => {
            if let Some(k) = obj.keys().next() {
                let reason = format!("unknown field (expected: {})", R::COLUMNS.join(", "));
                return Err(RowIssue::field(location.clone(), k, reason));
            }
        }
    }
    Ok(values)
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
