//! Streaming readers for import files: CSV with a header row, or a JSON array of objects with the
//! same field names. Rows are parsed into typed records on the reader's thread and handed over in
//! bounded batches, so memory stays flat however large the file is.

use super::{ImportError, Location, RowIssue};
use cmms_core::master::{ImportRecord, RawRow};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc::Sender;

/// Rows per batch handed to the writer (and per database transaction): master data.
pub const BATCH_ROWS: usize = 5_000;

/// Rows per batch of an event feed (consumption, snapshots, scans, failures). Larger, because
/// feed rows land in indexes in random order and each commit rewrites every index page it
/// touched: fewer, larger transactions write each page once for many rows.
pub const FEED_BATCH_ROWS: usize = 25_000;

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
    /// The CSV field delimiter used (chosen or detected); `None` for JSON.
    pub delimiter: Option<u8>,
}

/// The delimiters [`detect_delimiter`] chooses from, in order of preference on a tie.
pub const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// The field delimiter of a CSV file from its header line: whichever of `,` `;` and tab occurs
/// most often outside double quotes (`,` when none does; on a tie the earlier in [`DELIMITERS`]).
pub fn detect_delimiter(header_line: &[u8]) -> u8 {
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for &b in header_line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
            counts[i] += 1;
        }
    }
    let mut best = 0;
    for i in 1..DELIMITERS.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    DELIMITERS[best]
}

/// How a delimiter is named to people: `,` `;` `tab` or the character.
pub fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".to_owned(),
        d => char::from(d).to_string(),
    }
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

/// Parses a row into the kind's record; a refusal names the row's place and the field.
pub(crate) fn parse_row<R: ImportRecord>(location: &Location, row: &RawRow<'_>) -> Result<R, RowIssue> {
    R::parse(row).map_err(|e| RowIssue::from_field(location, e))
}

/// The result of a scoped thread; a panic in it is carried on in the caller.
pub(crate) fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// What a row callback is given: the row's place and either its column values or why the row
/// could not even be split into them. It answers false to stop reading.
pub type RowSink<'s> = dyn FnMut(Location, Result<&RawRow<'_>, RowIssue>) -> bool + 's;

/// Reads `path` to the end, sending parsed rows to `tx` in batches of [`BATCH_ROWS`]. Blocking:
/// run it on a blocking thread. Rows sent before a fatal error (e.g. broken JSON syntax) stay sent.
pub fn read_file<R: ImportRecord>(
    path: PathBuf,
    format: Format,
    tx: Sender<Vec<Parsed<R>>>,
    bytes: Arc<AtomicU64>,
) -> Result<ReadSummary, ImportError> {
    read_file_in_batches(path, format, tx, bytes, BATCH_ROWS, None)
}

/// [`read_file`] with batches of `batch_rows` rows (at least 1) and the CSV `delimiter` (`None`:
/// detected from the header line).
pub fn read_file_in_batches<R: ImportRecord>(
    path: PathBuf,
    format: Format,
    tx: Sender<Vec<Parsed<R>>>,
    bytes: Arc<AtomicU64>,
    batch_rows: usize,
    delimiter: Option<u8>,
) -> Result<ReadSummary, ImportError> {
    let file = File::open(&path).map_err(|source| ImportError::Io { path: path.clone(), cause: source })?;
    let input = BufReader::with_capacity(256 * 1024, Counting { inner: file, bytes });
    read_delimited_in_batches(&path, input, format, tx, batch_rows, delimiter)
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
    read_delimited_in_batches(path, input, format, tx, batch_rows, None)
}

/// [`read_from_in_batches`] with the CSV `delimiter` (`None`: detected from the header line).
fn read_delimited_in_batches<R: ImportRecord, I: Read>(
    path: &Path,
    input: I,
    format: Format,
    tx: Sender<Vec<Parsed<R>>>,
    batch_rows: usize,
    delimiter: Option<u8>,
) -> Result<ReadSummary, ImportError> {
    let size = batch_rows.max(1);
    let mut out = Batcher { tx, batch: Vec::with_capacity(size), size };
    let mut summary = ReadSummary::default();
    let outcome = read_rows::<R, _>(path, input, format, delimiter, &mut summary, &mut |location, row| {
        let item = row.and_then(|row| parse_row::<R>(&location, row));
        out.push((location, item))
    });
    // Rows read before a fatal error are good rows: hand them over before reporting it.
    out.flush();
    outcome.map(|()| summary)
}

/// Calls `sink` with every row of the file at `path` in file order (blocking).
pub fn read_file_with<R: ImportRecord>(path: &Path, sink: &mut RowSink<'_>) -> Result<ReadSummary, ImportError> {
    let format = Format::from_path(path)?;
    let file = File::open(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), cause: source })?;
    let mut summary = ReadSummary::default();
    read_rows::<R, _>(path, BufReader::with_capacity(256 * 1024, file), format, None, &mut summary, sink)?;
    Ok(summary)
}

/// Calls `sink` with every row of `input` in file order (blocking).
fn read_rows<R: ImportRecord, I: Read>(
    path: &Path,
    input: I,
    format: Format,
    delimiter: Option<u8>,
    summary: &mut ReadSummary,
    sink: &mut RowSink<'_>,
) -> Result<(), ImportError> {
    match format {
        Format::Csv => {
            // The header line decides the delimiter; it is read again by the CSV reader.
            let mut input = BufReader::new(input);
            let mut head = Vec::new();
            input.read_until(b'\n', &mut head).map_err(|e| ImportError::Syntax {
                path: path.to_path_buf(),
                at: "line 1".into(),
                message: e.to_string(),
            })?;
            let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(&head));
            summary.delimiter = Some(delimiter);
            let mut rdr = csv_reader(std::io::Cursor::new(head).chain(input), true, delimiter);
            let header = csv_header::<R, _>(path, &mut rdr, summary)?;
            csv_records::<R, _>(path, &mut rdr, &header, 0, sink)
        }
        Format::Json => read_json::<R, _>(path, input, summary, sink),
    }
}

/// What [`read_file_in_blocks`] calls for each row, with the sink of the row's piece.
pub type PieceRow<'f, S> = dyn Fn(&mut S, Location, Result<&RawRow<'_>, RowIssue>) + Sync + 'f;

/// A block is cut into pieces of at least this size (threads cost more than smaller pieces save).
const MIN_BLOCK_PIECE_BYTES: usize = if cfg!(test) { 16 } else { 64 * 1024 };

/// What [`read_file_in_blocks`] hands over per block: the sinks of its pieces, in file order.
pub type BlockSink<'f, S> = dyn FnMut(Vec<S>) + 'f;

/// Reads an import file in blocks of about `block_bytes`, so that memory follows the block, not
/// the file: each block is cut at line ends into `pieces` pieces read on as many threads (each
/// piece's rows go, in file order, to its own sink from `new_sink`, given the piece's size in
/// bytes), and `block` receives the sinks of one block, in file order, before the next is read.
/// Locations are those of the whole file.
///
/// Quoted fields within a line are split in place too. From the first block holding a quote
/// the splitter does not read alone (a quoted field spanning lines, so that a cut at a line end
/// might fall inside it, or a stray quote), and for JSON files, the rest of the file is read by
/// one csv reader in one pass, handed over every `block_bytes / 64` rows: the rows and their
/// locations never depend on the blocks.
pub fn read_file_in_blocks<R: ImportRecord, S: Send>(
    path: &Path,
    pieces: usize,
    block_bytes: usize,
    new_sink: &(dyn Fn(usize) -> S + Sync),
    row: &PieceRow<'_, S>,
    block: &mut BlockSink<'_, S>,
) -> Result<ReadSummary, ImportError> {
    let format = Format::from_path(path)?;
    let file = File::open(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), cause: source })?;
    read_in_blocks::<R, S>(path, format, file, pieces, block_bytes, new_sink, row, block)
}

/// Reads until `buf` holds at least `want` bytes or the input ends; true at the end.
fn fill(path: &Path, input: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> Result<bool, ImportError> {
    let io = |source| ImportError::Io { path: path.to_path_buf(), cause: source };
    while buf.len() < want {
        let from = buf.len();
        buf.resize(want, 0);
        match input.read(&mut buf[from..]) {
            Ok(0) => {
                buf.truncate(from);
                return Ok(true);
            }
            Ok(n) => buf.truncate(from + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(from),
            Err(e) => return Err(io(e)),
        }
    }
    Ok(false)
}

/// [`read_file_in_blocks`] over any input (`path` names it in errors).
#[allow(clippy::too_many_arguments)]
fn read_in_blocks<R: ImportRecord, S: Send>(
    path: &Path,
    format: Format,
    mut input: impl Read + Send,
    pieces: usize,
    block_bytes: usize,
    new_sink: &(dyn Fn(usize) -> S + Sync),
    row: &PieceRow<'_, S>,
    block: &mut BlockSink<'_, S>,
) -> Result<ReadSummary, ImportError> {
    let block_bytes = block_bytes.max(1);
    let mut summary = ReadSummary::default();
    let mut buf = Vec::with_capacity(block_bytes + (block_bytes >> 4));
    let mut eof = fill(path, &mut input, &mut buf, block_bytes)?;
    if format == Format::Json {
        let rest = std::io::Cursor::new(buf).chain(input);
        one_pass::<R, S>(path, format, rest, None, 0, block_bytes, new_sink, row, block, &mut summary)?;
        return Ok(summary);
    }
    // The header: the first line (one with a double quote makes the whole file be read in one pass).
    while !eof && !buf.contains(&b'\n') {
        let want = buf.len() * 2;
        eof = fill(path, &mut input, &mut buf, want)?;
    }
    let delimiter = detect_delimiter(buf.split(|&b| b == b'\n').next().unwrap_or_default());
    summary.delimiter = Some(delimiter);
    let first_line = buf.iter().position(|&b| b == b'\n').map_or(buf.len(), |nl| nl + 1);
    if buf[..first_line].contains(&b'"') {
        let rest = std::io::Cursor::new(buf).chain(input);
        one_pass::<R, S>(path, format, rest, None, 0, block_bytes, new_sink, row, block, &mut summary)?;
        return Ok(summary);
    }
    let header = csv_header::<R, _>(path, &mut csv_reader(&buf[..first_line], true, delimiter), &mut summary)?;
    let mut start = first_line;
    // Line ends before the block.
    let mut lines = buf[..first_line].iter().filter(|&&b| b == b'\n').count() as u64;
    loop {
        // The block: whole lines, up to the last line end read (or the end of the input).
        let end = match memchr::memrchr(b'\n', &buf[start..]) {
            _ if eof => buf.len(),
            Some(nl) => start + nl + 1,
            None => {
                let want = buf.len() + block_bytes;
                eof = fill(path, &mut input, &mut buf, want)?;
                continue;
            }
        };
        let text = &buf[start..end];
        let Some(sinks) = read_block::<R, S>(text, pieces, lines, &header, delimiter, new_sink, row) else {
            // A quoted field spans lines or holds a quote the block reader does not read alone:
            // the rest of the file is read by the csv reader, in one pass.
            let rest = std::io::Cursor::new(buf[start..].to_vec()).chain(input);
            return one_pass::<R, S>(
                path,
                format,
                rest,
                Some((&header, delimiter)),
                lines,
                block_bytes,
                new_sink,
                row,
                block,
                &mut summary,
            )
            .map(|()| summary);
        };
        if !text.is_empty() {
            block(sinks);
        }
        lines += memchr::memchr_iter(b'\n', text).count() as u64;
        if eof {
            return Ok(summary);
        }
        buf.drain(..end);
        start = 0;
        eof = fill(path, &mut input, &mut buf, block_bytes)?;
    }
}

/// The rows of one block of whole lines, cut at line ends into `pieces` pieces split in place on
/// as many threads (see [`split_records`]); `lines` line ends come before it in the file. `None`,
/// the pieces' rows dropped, when a piece holds a line only the csv reader reads right (a quoted
/// field spanning lines).
fn read_block<R: ImportRecord, S: Send>(
    text: &[u8],
    pieces: usize,
    lines: u64,
    header: &CsvHeader,
    delimiter: u8,
    new_sink: &(dyn Fn(usize) -> S + Sync),
    row: &PieceRow<'_, S>,
) -> Option<Vec<S>> {
    let cuts = cut_points(text, if text.len() >= MIN_BLOCK_PIECE_BYTES * pieces { pieces } else { 1 });
    let read = |from: usize, to: usize, line: u64| -> Option<S> {
        let mut sink = new_sink(to - from);
        split_records::<R>(&text[from..to], delimiter, header, line, &mut |l, r| row(&mut sink, l, r)).then_some(sink)
    };
    let mut starts = Vec::with_capacity(cuts.len());
    let mut line = lines;
    for w in cuts.windows(2) {
        starts.push(line);
        line += memchr::memchr_iter(b'\n', &text[w[0]..w[1]]).count() as u64;
    }
    if cuts.len() <= 2 {
        return read(0, text.len(), lines).map(|sink| vec![sink]);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            cuts.windows(2).zip(&starts).map(|(w, &line)| scope.spawn(move || read(w[0], w[1], line))).collect();
        handles.into_iter().map(join).collect()
    })
}

/// The rest of a file read by one reader (`header`: a CSV file's header, already read, and its
/// delimiter; `None`: the input starts with the header, or is JSON; `lines` line ends come
/// before the input), handed to `block` every `block_bytes / 64` rows.
#[allow(clippy::too_many_arguments)]
fn one_pass<R: ImportRecord, S: Send>(
    path: &Path,
    format: Format,
    input: impl Read,
    header: Option<(&CsvHeader, u8)>,
    lines: u64,
    block_bytes: usize,
    new_sink: &(dyn Fn(usize) -> S + Sync),
    row: &PieceRow<'_, S>,
    block: &mut BlockSink<'_, S>,
    summary: &mut ReadSummary,
) -> Result<(), ImportError> {
    let rows_per_block = (block_bytes / 64).max(1);
    let mut sink = new_sink(block_bytes);
    let mut n = 0;
    let mut each = |l: Location, r: Result<&RawRow<'_>, RowIssue>| {
        row(&mut sink, l, r);
        n += 1;
        if n >= rows_per_block {
            block(vec![std::mem::replace(&mut sink, new_sink(block_bytes))]);
            n = 0;
        }
        true
    };
    let input = BufReader::with_capacity(256 * 1024, input);
    match header {
        Some((header, delimiter)) => {
            let mut rdr = csv_reader(input, false, delimiter);
            csv_records::<R, _>(path, &mut rdr, header, lines, &mut each)?;
        }
        None => read_rows::<R, _>(path, input, format, None, summary, &mut each)?,
    }
    block(vec![sink]);
    Ok(())
}

/// `0`, the starts of the lines nearest to each `len / pieces` step, and `len`.
fn cut_points(buf: &[u8], pieces: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    for k in 1..pieces.max(1) {
        let from = (buf.len() / pieces * k).max(cuts[cuts.len() - 1]);
        if let Some(nl) = buf[from..].iter().position(|&b| b == b'\n') {
            let cut = from + nl + 1;
            if cut < buf.len() {
                cuts.push(cut);
            }
        }
    }
    cuts.push(buf.len());
    cuts
}

fn csv_reader<I: Read>(input: I, has_headers: bool, delimiter: u8) -> csv::Reader<Lines<I>> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(has_headers)
        .delimiter(delimiter)
        .from_reader(Lines::new(input))
}

/// Passes the input through while noting where its line breaks are, so that a record's line is
/// the physical line its first field is on. (The csv crate's own line count starts where the
/// reader stopped after the previous record: before the blank lines it then skips, and one line
/// short after each CRLF, whose `\r` ends the record and whose `\n` it reads with the next one.)
/// Only the breaks not yet passed are kept: memory is bounded by the reader's look-ahead.
struct Lines<I> {
    inner: I,
    /// Offset of the next byte read.
    offset: u64,
    /// Offsets of the `\r` and `\n` bytes read and not yet passed, with true for `\n`.
    breaks: std::collections::VecDeque<(u64, bool)>,
    /// `\n` bytes passed.
    passed: u64,
}

impl<I> Lines<I> {
    fn new(inner: I) -> Self {
        Lines { inner, offset: 0, breaks: Default::default(), passed: 0 }
    }

    /// The 1-based line of a record the csv reader placed at `byte` (from the start of this
    /// input): the line of the first byte at or after `byte` that is no line break. Calls must
    /// come in file order.
    fn line_of(&mut self, byte: u64) -> u64 {
        let mut at = byte;
        while let Some(&(offset, lf)) = self.breaks.front() {
            if offset > at {
                break;
            }
            if offset == at {
                at += 1;
            }
            self.passed += u64::from(lf);
            self.breaks.pop_front();
        }
        self.passed + 1
    }
}

impl<I: Read> Read for Lines<I> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                self.breaks.push_back((self.offset + i as u64, b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// A CSV file's header: where each of the kind's columns is, and how many fields a row has.
struct CsvHeader {
    width: usize,
    index: Vec<Option<usize>>,
}

fn csv_header<R: ImportRecord, I: Read>(
    path: &Path,
    rdr: &mut csv::Reader<I>,
    summary: &mut ReadSummary,
) -> Result<CsvHeader, ImportError> {
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
    if names.iter().all(String::is_empty) {
        return Err(ImportError::Empty { path: path.to_path_buf(), expected: R::COLUMNS.join(", ") });
    }
    let index = column_index::<R>(path, &names, summary.delimiter.unwrap_or(b','))?;
    summary.unknown_columns =
        names.iter().filter(|n| !R::COLUMNS.contains(&n.as_str()) && !n.is_empty()).cloned().collect();
    Ok(CsvHeader { width: names.len(), index })
}

/// The most columns a kind has (the column values of a row live on the stack).
const MAX_COLUMNS: usize = 16;

/// Hands every record `rdr` reads to `sink`, located by physical line (`lines` line ends come
/// before the reader's input), until the input ends or `sink` says stop.
fn csv_records<R: ImportRecord, I: Read>(
    path: &Path,
    rdr: &mut csv::Reader<Lines<I>>,
    header: &CsvHeader,
    lines: u64,
    sink: &mut RowSink<'_>,
) -> Result<(), ImportError> {
    const { assert!(R::COLUMNS.len() <= MAX_COLUMNS) };
    let mut record = csv::ByteRecord::new();
    loop {
        let read = rdr.read_byte_record(&mut record);
        let position = match &read {
            Ok(false) => return Ok(()),
            Ok(true) => record.position(),
            Err(e) => e.position(),
        };
        let byte = position.map_or(0, csv::Position::byte);
        let line = lines + rdr.get_mut().line_of(byte);
        let location = Location::Line(line);
        if let Err(e) = read {
            if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                return Err(ImportError::Syntax {
                    path: path.to_path_buf(),
                    at: format!("line {line}"),
                    message: e.to_string(),
                });
            }
            if !sink(location.clone(), Err(RowIssue::row(location, e.to_string()))) {
                return Ok(());
            }
            continue;
        }
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        let mut values = [""; MAX_COLUMNS];
        let go_on = if record.len() != header.width {
            let reason = format!("expected {} fields as in the header, found {}", header.width, record.len());
            sink(location.clone(), Err(RowIssue::row(location, reason)))
        } else {
            match csv_values::<R>(|i| record.get(i), &header.index, &location, &mut values) {
                Ok(()) => sink(location, Ok(&RawRow::new(R::COLUMNS, &values[..R::COLUMNS.len()]))),
                Err(issue) => sink(location, Err(issue)),
            }
        };
        if !go_on {
            return Ok(());
        }
    }
}

/// For each of the kind's columns, its position in the file (None for a missing optional one).
fn column_index<R: ImportRecord>(
    path: &Path,
    names: &[String],
    delimiter: u8,
) -> Result<Vec<Option<usize>>, ImportError> {
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
            delimiter,
        });
    }
    Ok(index)
}

/// [`csv_records`] over whole lines starting at a record, split in place: every `\r` or `\n`
/// ends a record and every delimiter a field, blank lines are skipped, and a field is either
/// free of double quotes or quoted whole with its inner quotes doubled (unquoted into a scratch
/// buffer) — what the csv reader reads from such lines, without copying each record or tracking
/// line breaks apart. False, with some rows already handed to `sink`, at the first line using
/// quotes otherwise (a quoted field spanning lines, a quote inside a field): the caller reads
/// the lines again with the csv reader. `lines` line ends come before the text.
fn split_records<R: ImportRecord>(
    text: &[u8],
    delimiter: u8,
    header: &CsvHeader,
    lines: u64,
    sink: &mut dyn FnMut(Location, Result<&RawRow<'_>, RowIssue>),
) -> bool {
    const { assert!(R::COLUMNS.len() <= MAX_COLUMNS) };
    let mut line = lines + 1;
    let mut at = 0;
    // A row's fields (where they start and end); those past the header's width are only counted.
    let mut fields: Vec<(usize, usize)> = Vec::with_capacity(header.width);
    let mut unquoted = Vec::new();
    while at < text.len() {
        match text[at] {
            b'\n' => {
                line += 1;
                at += 1;
                continue;
            }
            b'\r' => {
                at += 1;
                continue;
            }
            _ => {}
        }
        let end = memchr::memchr2(b'\n', b'\r', &text[at..]).map_or(text.len(), |n| at + n);
        let record = &text[at..end];
        let quoted = memchr::memchr(b'"', record).is_some();
        let width = match quoted {
            false => split_fields(record, delimiter, header.width, &mut fields),
            true => match unquote_fields(record, delimiter, header.width, &mut fields, &mut unquoted) {
                Some(width) => width,
                None => return false,
            },
        };
        at = end;
        if width == 1 && fields.first().is_some_and(|&(from, to)| from == to) {
            // A lone empty field (`""`): a blank record, skipped as the csv reader's are.
            continue;
        }
        let location = Location::Line(line);
        if width != header.width {
            let reason = format!("expected {} fields as in the header, found {width}", header.width);
            sink(location.clone(), Err(RowIssue::row(location, reason)));
        } else {
            let values_of = if quoted { &unquoted[..] } else { record };
            let mut values = [""; MAX_COLUMNS];
            let field = |i: usize| fields.get(i).map(|&(from, to)| &values_of[from..to]);
            match csv_values::<R>(field, &header.index, &location, &mut values) {
                Ok(()) => sink(location, Ok(&RawRow::new(R::COLUMNS, &values[..R::COLUMNS.len()]))),
                Err(issue) => sink(location, Err(issue)),
            }
        }
    }
    true
}

/// Splits a line without quotes at `delimiter`: the first `keep` fields' ranges into `fields`;
/// returns how many fields it has.
fn split_fields(record: &[u8], delimiter: u8, keep: usize, fields: &mut Vec<(usize, usize)>) -> usize {
    fields.clear();
    let mut width = 0;
    let mut start = 0;
    for cut in memchr::memchr_iter(delimiter, record).chain([record.len()]) {
        if width < keep {
            fields.push((start, cut));
        }
        width += 1;
        start = cut + 1;
    }
    width
}

/// Splits a line whose fields are either free of quotes or quoted whole (`"a ""b"", c"`), each
/// field's value written to `out` and its range there to `fields` (the first `keep`); returns how
/// many fields it has, or `None` for any other use of quotes.
fn unquote_fields(
    record: &[u8],
    delimiter: u8,
    keep: usize,
    fields: &mut Vec<(usize, usize)>,
    out: &mut Vec<u8>,
) -> Option<usize> {
    fields.clear();
    out.clear();
    let mut width = 0;
    let mut at = 0;
    loop {
        let start = out.len();
        if record.get(at) == Some(&b'"') {
            at += 1;
            loop {
                let quote = at + memchr::memchr(b'"', &record[at..])?;
                out.extend_from_slice(&record[at..quote]);
                at = quote + 1;
                if record.get(at) != Some(&b'"') {
                    break;
                }
                out.push(b'"');
                at += 1;
            }
            if record.get(at).is_some_and(|&b| b != delimiter) {
                return None;
            }
        } else {
            let end = memchr::memchr(delimiter, &record[at..]).map_or(record.len(), |n| at + n);
            if memchr::memchr(b'"', &record[at..end]).is_some() {
                return None;
            }
            out.extend_from_slice(&record[at..end]);
            at = end;
        }
        if width < keep {
            fields.push((start, out.len()));
        }
        width += 1;
        if at >= record.len() {
            return Some(width);
        }
        at += 1;
    }
}

/// The kind's column values of a row whose `i`th field `field(i)` gives, checked as UTF-8.
fn csv_values<'r, R: ImportRecord>(
    field: impl Fn(usize) -> Option<&'r [u8]>,
    index: &[Option<usize>],
    location: &Location,
    values: &mut [&'r str; MAX_COLUMNS],
) -> Result<(), RowIssue> {
    for ((col, i), value) in R::COLUMNS.iter().zip(index).zip(values.iter_mut()) {
        let Some(i) = i else { continue };
        let raw = field(*i).unwrap_or_default();
        *value = std::str::from_utf8(raw).map_err(|e| {
            let at = e.valid_up_to();
            RowIssue::field(location.clone(), col, format!("not valid UTF-8 (byte 0x{:02X} at offset {at})", raw[at]))
        })?;
    }
    Ok(())
}

fn read_json<R: ImportRecord, I: Read>(
    path: &Path,
    input: I,
    summary: &mut ReadSummary,
    sink: &mut RowSink<'_>,
) -> Result<(), ImportError> {
    let mut de = serde_json::Deserializer::from_reader(input);
    let syntax = |e: serde_json::Error| {
        if e.is_eof() && e.line() <= 1 && e.column() == 0 {
            return ImportError::Empty { path: path.to_path_buf(), expected: R::COLUMNS.join(", ") };
        }
        ImportError::Syntax {
            path: path.to_path_buf(),
            at: format!("line {} column {}", e.line(), e.column()),
            message: e.to_string(),
        }
    };
    JsonArray::<R> { sink, summary, kind: std::marker::PhantomData }.deserialize(&mut de).map_err(syntax)?;
    de.end().map_err(syntax)
}

/// Streams the elements of a top-level JSON array to the sink without holding the array.
struct JsonArray<'a, 's, R> {
    sink: &'a mut RowSink<'s>,
    summary: &'a mut ReadSummary,
    kind: std::marker::PhantomData<R>,
}

impl<'de, R: ImportRecord> DeserializeSeed<'de> for JsonArray<'_, '_, R> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, R: ImportRecord> Visitor<'de> for JsonArray<'_, '_, R> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0u64;
        while let Some(value) = seq.next_element::<serde_json::Value>()? {
            let location = Location::Index(i);
            i += 1;
            let go_on = match json_values::<R>(value, &location, Some(&mut *self.summary)) {
                Ok(values) => {
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    (self.sink)(location, Ok(&RawRow::new(R::COLUMNS, &values)))
                }
                Err(issue) => (self.sink)(location, Err(issue)),
            };
            if !go_on {
                break;
            }
        }
        Ok(())
    }
}

/// Parses one JSON object into a typed record, refusing fields the kind does not have (the strict
/// rule of the write endpoints; files only note unknown columns).
pub fn record_from_json<R: ImportRecord>(value: serde_json::Value, location: &Location) -> Result<R, RowIssue> {
    let values = json_values::<R>(value, location, None)?;
    parse_row::<R>(location, &RawRow::new(R::COLUMNS, &values.iter().map(String::as_str).collect::<Vec<_>>()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use cmms_core::feeds::ConsumptionRecord;
    use proptest::prelude::*;

    /// Everything the sinks saw, in the order they come back: each row's place and its values or
    /// its issue.
    fn note(sink: &mut Vec<String>, location: Location, row: Result<&RawRow<'_>, RowIssue>) {
        sink.push(match row {
            Ok(r) => {
                format!("{location:?} {:?}", ConsumptionRecord::COLUMNS.iter().map(|c| r.text(c)).collect::<Vec<_>>())
            }
            Err(issue) => issue.to_string(),
        })
    }

    /// Everything the csv reader reads from `buf` in one pass.
    fn read(buf: &[u8]) -> Vec<String> {
        let mut all = Vec::new();
        let mut summary = ReadSummary::default();
        read_rows::<ConsumptionRecord, _>(
            Path::new("consumption.csv"),
            buf,
            Format::Csv,
            None,
            &mut summary,
            &mut |l, r| {
                note(&mut all, l, r);
                true
            },
        )
        .expect("a CSV body never fails as a whole");
        all
    }

    /// Everything the sinks of [`read_in_blocks`] saw, in the order the blocks came.
    fn read_blocks(buf: &[u8], pieces: usize, block_bytes: usize) -> Vec<String> {
        let path = Path::new("consumption.csv");
        let mut all = Vec::new();
        let mut block = |sinks: Vec<Vec<String>>| all.extend(sinks.into_iter().flatten());
        read_in_blocks::<ConsumptionRecord, _>(
            path,
            Format::Csv,
            buf,
            pieces,
            block_bytes,
            &|_| Vec::new(),
            &note,
            &mut block,
        )
        .expect("a CSV body never fails as a whole");
        all
    }

    fn file(rows: &[Vec<String>], crlf: bool) -> Vec<u8> {
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("{}{end}", ConsumptionRecord::COLUMNS.join(","));
        for row in rows {
            text.push_str(&row.join(","));
            text.push_str(end);
        }
        text.into_bytes()
    }

    #[test]
    fn blocks_give_the_rows_and_lines_of_one_pass() {
        let rows: Vec<Vec<String>> = (0..500)
            .map(|i| vec![format!("E{i}"), "ERP".into(), format!("SKU-{}", i % 7), "1.5".into(), "2024-01-01".into()])
            .collect();
        for crlf in [false, true] {
            let buf = file(&rows, crlf);
            let one = read(&buf);
            assert_eq!(one.len(), 500);
            assert!(one[499].starts_with("Line(501) "), "{}", one[499]);
            for (pieces, block_bytes) in [(1, 1), (2, 100), (3, 1000), (2, 7), (4, 1 << 20)] {
                assert_eq!(read_blocks(&buf, pieces, block_bytes), one, "{pieces} pieces, blocks of {block_bytes}");
            }
        }
    }

    #[test]
    fn lines_are_physical_lines_with_crlf_blank_lines_and_quoted_breaks() {
        for end in ["\n", "\r\n"] {
            let text = [
                "event_id,source,external_sku,quantity,consumed_at",
                "E1,ERP,A,1,2024-01-01",
                "",
                &format!("E2,ERP,\"A{end}B\",1,2024-01-01"),
                "E3,ERP,A,1,2024-01-01",
                "",
                "",
                "E4,ERP,A,1,2024-01-01",
            ]
            .join(end)
                + end;
            let lines = |rows: Vec<String>| rows.iter().map(|r| r.split(' ').next().unwrap().to_owned()).collect();
            let one: Vec<String> = lines(read(text.as_bytes()));
            assert_eq!(one, ["Line(2)", "Line(4)", "Line(6)", "Line(9)"], "{end:?}");
            for (pieces, block_bytes) in [(1, 1), (2, 30), (4, 10)] {
                let blocks: Vec<String> = lines(read_blocks(text.as_bytes(), pieces, block_bytes));
                assert_eq!(blocks, one, "{end:?}, {pieces} pieces, blocks of {block_bytes}");
            }
        }
    }

    #[test]
    fn the_delimiter_is_the_most_frequent_of_comma_semicolon_and_tab_outside_quotes() {
        assert_eq!(detect_delimiter(b"a;b;c\r\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"a,b;c,d"), b',');
        assert_eq!(detect_delimiter(b"\"a,b,c\";d;e"), b';', "commas inside quotes do not count");
        assert_eq!(detect_delimiter(b"single"), b',');
        assert_eq!(detect_delimiter(b""), b',');
    }

    proptest! {
        /// Quoted fields with line breaks, commas and doubled quotes, quotes inside unquoted
        /// fields, blank lines and rows of the wrong width: however the file is cut into blocks
        /// and pieces, the rows, their lines and their issues are those of one pass.
        #[test]
        fn any_block_size_reads_as_one_pass(
            rows in prop::collection::vec(
                prop::collection::vec(
                    prop_oneof![
                        4 => "[a-z0-9]{0,4}",
                        1 => "\"[a-z\n,]{0,6}\"",
                        2 => "\"([a-z, ]|\"\"){0,5}\"",
                        1 => "[a-z]{1,2}\"[a-z]?",
                        1 => Just(String::new()),
                    ],
                    1..7,
                ),
                0..60,
            ),
            crlf in any::<bool>(),
            pieces in 1usize..4,
            block_bytes in 1usize..300,
        ) {
            let buf = file(&rows, crlf);
            prop_assert_eq!(read_blocks(&buf, pieces, block_bytes), read(&buf));
        }

        /// Blocks are split in place rather than by the csv reader: any bytes (stray and doubled
        /// `\r`, blank lines, rows too short or too long, invalid UTF-8, another delimiter, quotes
        /// anywhere) give the rows, lines and issues the csv reader gives.
        #[test]
        fn a_body_split_in_place_reads_as_the_csv_reader_reads_it(
            body in prop::collection::vec(
                prop::sample::select(vec![b'a', b'7', b',', b';', b'\r', b'\n', b'\n', b' ', b'"', 0xC3, 0xA9, 0xFF]),
                0..400,
            ),
            semicolons in any::<bool>(),
            pieces in 1usize..4,
            block_bytes in 1usize..300,
        ) {
            let delimiter = if semicolons { ";" } else { "," };
            let mut buf = format!("{}\n", ConsumptionRecord::COLUMNS.join(delimiter)).into_bytes();
            buf.extend_from_slice(&body);
            prop_assert_eq!(read_blocks(&buf, pieces, block_bytes), read(&buf));
        }
    }
}
