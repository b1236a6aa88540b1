//! `cmms compute`: the validation and calculation stages straight from a folder of import files
//! to `thresholds.csv` and `intervals.csv`, with no store — for analysts' what-if runs and for
//! measuring the calculation against reference implementations on the same files.
//!
//! Same readers, row rules and core functions as the persisted pipeline; what the store does
//! there (references, first-delivery-wins, SKU mapping) is done here in memory. The two big
//! feeds (consumption and failures) are read at the same time, each in two passes: every core
//! parses and checks its own piece of the file into compact rows, then one thread per feed
//! settles first-delivery-wins in file order and aggregates (per-part usage sums, per-asset
//! event lists). Blocking: call it off the async runtime.

use crate::import::reader::{join, parse_row, read_file_in_pieces, read_file_with};
use crate::import::{ImportError, Location, RowIssue};
use cmms_core::feeds::{ConsumptionRecord, ConsumptionRow, FailureRecord, FailureRow, MtbfReadingRecord};
use cmms_core::formula::FormulaSet;
use cmms_core::mapping::SkuIndex;
use cmms_core::master::{AssetRecord, ImportRecord, PartRecord, RawRow, SiteRecord, SkuMapRecord};
use cmms_core::pm::next_due;
use cmms_core::quantity::Quantity;
use cmms_core::reliability::{FailureEvent, MtbfReading, SampleScope, lookback_start, mtbf_stats, pm_interval};
use cmms_core::thresholds::{UsageSummary, compute, window_start};
use cmms_core::time::TimeWindow;
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap, hash_map::Entry};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Rejected rows kept per kind in the report (the counts cover all of them).
const MAX_ISSUES: usize = 100;

/// Hash maps over millions of short keys: foldhash is several times faster than SipHash here,
/// and the keys come from the operator's own files.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// What a compute run read and wrote.
#[derive(Debug, Default, serde::Serialize)]
pub struct ComputeReport {
    /// Rows accepted per file kind.
    pub accepted: BTreeMap<&'static str, u64>,
    /// Rows rejected per file kind (with the first few reasons in `issues`).
    pub rejected: BTreeMap<&'static str, u64>,
    /// Consumption events whose SKU did not map (UNMAPPED or AMBIGUOUS); not counted.
    pub unmapped_events: u64,
    /// Identical re-deliveries ignored.
    pub duplicates: u64,
    /// The first rejected rows of each kind, `kind: location: reason`.
    pub issues: Vec<String>,
    /// Parts written to thresholds.csv.
    pub parts: usize,
    /// Assets written to intervals.csv.
    pub assets: usize,
}

impl ComputeReport {
    fn reject(&mut self, kind: &'static str, issue: &RowIssue) {
        let n = self.rejected.entry(kind).or_default();
        *n += 1;
        if *n <= MAX_ISSUES as u64 {
            self.issues.push(format!("{kind}: {issue}"));
        }
    }
    fn accept(&mut self, kind: &'static str) {
        *self.accepted.entry(kind).or_default() += 1;
    }
    fn add(&mut self, kind: &'static str, tally: Tally) {
        *self.accepted.entry(kind).or_default() += tally.accepted;
        *self.rejected.entry(kind).or_default() += tally.rejected.count;
        self.duplicates += tally.duplicates;
        self.unmapped_events += tally.unmapped;
        self.issues.extend(tally.rejected.first.iter().map(|i| format!("{kind}: {i}")));
    }
}

/// The file `dir/<kind>.csv` (or `.json`), if there is one.
fn input_file<R: ImportRecord>(dir: &Path) -> Option<PathBuf> {
    [format!("{}.csv", R::KIND), format!("{}.json", R::KIND)].into_iter().map(|f| dir.join(f)).find(|p| p.exists())
}

/// Streams every row of `dir/<kind>.csv` (or `.json`) to `f`, instants checked against
/// `window`; a missing file is empty.
fn each<R: ImportRecord>(
    dir: &Path,
    window: &TimeWindow,
    mut f: impl FnMut(Location, Result<R, RowIssue>),
) -> Result<(), ImportError> {
    let Some(path) = input_file::<R>(dir) else { return Ok(()) };
    read_file_with::<R>(&path, &mut |location, row| {
        let record = row
            .and_then(|row| parse_row::<R>(&location, row))
            .and_then(|r| r.check_times(window).map(|()| r).map_err(|e| RowIssue::from_field(&location, e)));
        f(location, record);
        true
    })
    .map(|_| ())
}

/// A kind's rejected rows: how many, and the first [`MAX_ISSUES`] in file order.
#[derive(Debug, Default)]
struct Rejections {
    count: u64,
    first: Vec<RowIssue>,
}

impl Rejections {
    fn push(&mut self, issue: RowIssue) {
        self.count += 1;
        if self.first.len() < MAX_ISSUES {
            self.first.push(issue);
        }
    }

    /// Both sets, the first ones still in file order.
    fn merge(mut self, other: Rejections) -> Rejections {
        self.count += other.count;
        self.first.extend(other.first);
        self.first.sort_by(|a, b| a.location.cmp(&b.location));
        self.first.truncate(MAX_ISSUES);
        self
    }
}

/// What settling a feed counted.
#[derive(Debug, Default)]
struct Tally {
    accepted: u64,
    duplicates: u64,
    unmapped: u64,
    rejected: Rejections,
}

const CONFLICT: &str = "DUPLICATE_CONFLICT: a first copy with other values wins";

/// Rows are spread over this many partitions by key hash, so that first-delivery-wins can be
/// settled partition by partition: on several threads, each with a table that fits in cache.
const PARTITIONS: usize = 256;

/// The rows of one piece of a feed that passed the row checks, by partition and in file order
/// within each, their text kept in one buffer.
struct Piece<Row> {
    text: Vec<u8>,
    partitions: Vec<Vec<Row>>,
    rejected: Rejections,
}

impl<Row> Piece<Row> {
    /// An empty piece sized for `bytes` of CSV with rows of about `row_bytes` each.
    fn new(bytes: usize, row_bytes: usize) -> Self {
        let rows = bytes / row_bytes + 1;
        Self {
            text: Vec::with_capacity(bytes / 2),
            partitions: (0..PARTITIONS).map(|_| Vec::with_capacity(rows / PARTITIONS * 9 / 8)).collect(),
            rejected: Rejections::default(),
        }
    }

    /// Appends `s` to the text.
    fn keep(&mut self, s: &str) {
        self.text.extend_from_slice(s.as_bytes());
    }

    fn push(&mut self, row: Row)
    where
        Row: Keyed,
    {
        self.partitions[(row.hash() >> 56) as usize % PARTITIONS].push(row);
    }
}

/// A feed row as first-delivery-wins sees it: its key and what a re-delivery must repeat.
trait Keyed {
    /// The key's hash (equal keys, equal hashes, across pieces).
    fn hash(&self) -> u64;
    /// Where the row is (for a conflict's report).
    fn at(&self) -> Location;
    /// The key, from the row's piece text.
    fn key<'t>(&self, text: &'t [u8]) -> &'t [u8];
    /// Whether `other` carries the same values (both with their piece texts).
    fn same_content(&self, text: &[u8], other: &Self, other_text: &[u8]) -> bool;
}

/// What settling gives per thread: its accumulator, the duplicates it ignored, the conflicts.
struct Settled<A> {
    acc: A,
    duplicates: u64,
    conflicts: Rejections,
}

/// First delivery wins across all `pieces` (in file order): `accept` sees each first delivery
/// exactly once, on one of `threads` threads, each with its own accumulator from `new_acc`.
fn settle<'p, Row: Keyed + Sync, A: Send>(
    pieces: &'p [Piece<Row>],
    threads: usize,
    new_acc: &(dyn Fn() -> A + Sync),
    accept: &(dyn Fn(&mut A, &'p Row, &'p [u8]) + Sync),
) -> Vec<Settled<A>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut out = Settled { acc: new_acc(), duplicates: 0, conflicts: Rejections::default() };
        let mut table: hashbrown::HashTable<(u32, u32)> = hashbrown::HashTable::new();
        loop {
            let p = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if p >= PARTITIONS {
                return out;
            }
            table.clear();
            let row_at = |(k, i): (u32, u32)| (&pieces[k as usize].partitions[p][i as usize], &pieces[k as usize].text);
            for (k, piece) in pieces.iter().enumerate() {
                for (i, row) in piece.partitions[p].iter().enumerate() {
                    let key = row.key(&piece.text);
                    let first = table.find(row.hash(), |&at| {
                        let (other, text) = row_at(at);
                        other.hash() == row.hash() && other.key(text) == key
                    });
                    match first {
                        None => {
                            table.insert_unique(row.hash(), (k as u32, i as u32), |&at| row_at(at).0.hash());
                            accept(&mut out.acc, row, &piece.text);
                        }
                        Some(&at) => {
                            let (other, text) = row_at(at);
                            if other.same_content(text, row, &piece.text) {
                                out.duplicates += 1;
                            } else {
                                out.conflicts.push(RowIssue::row(row.at(), CONFLICT));
                            }
                        }
                    }
                }
            }
        }
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1)).map(|_| s.spawn(work)).collect();
        handles.into_iter().map(join).collect()
    })
}

/// The rows the pieces refused, taken out of them.
fn refused<Row>(pieces: &mut [Piece<Row>]) -> Rejections {
    pieces.iter_mut().fold(Rejections::default(), |all, p| all.merge(std::mem::take(&mut p.rejected)))
}

/// Sums up what settling counted, with the rows the pieces refused.
fn tally<A>(refused: Rejections, settled: &mut [Settled<A>], accepted: u64, unmapped: u64) -> Tally {
    let duplicates = settled.iter().map(|s| s.duplicates).sum();
    let rejected = settled.iter_mut().fold(refused, |all, s| all.merge(std::mem::take(&mut s.conflicts)));
    Tally { accepted, duplicates, unmapped, rejected }
}

/// A checked consumption row: `source`, `event_id` and the SKU are back to back in its piece's
/// text from `start` (key = source and event id).
struct ConsumptionAt {
    hash: u64,
    at: u64,
    start: usize,
    source_len: u8,
    id_len: u8,
    sku_len: u32,
    quantity: Quantity,
    consumed_at: Timestamp,
    part: Option<u32>,
}

impl ConsumptionAt {
    fn sku<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        let from = self.start + usize::from(self.source_len) + usize::from(self.id_len);
        &text[from..from + self.sku_len as usize]
    }
}

impl Keyed for ConsumptionAt {
    fn hash(&self) -> u64 {
        self.hash
    }
    fn at(&self) -> Location {
        Location::unpack(self.at)
    }
    fn key<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        &text[self.start..self.start + usize::from(self.source_len) + usize::from(self.id_len)]
    }
    fn same_content(&self, text: &[u8], other: &Self, other_text: &[u8]) -> bool {
        self.quantity == other.quantity
            && self.consumed_at.as_millisecond() == other.consumed_at.as_millisecond()
            && self.sku(text) == other.sku(other_text)
    }
}

/// Per part (by position in the SKU index): the consumption inside the window, and whether it
/// has any history at all.
type Usage = Vec<(i128, bool)>;

/// The key hash of a row: the same hasher for every piece (keys hash alike on every thread).
fn key_hash(hasher: &foldhash::fast::RandomState, parts: &[&str]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = hasher.build_hasher();
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

/// Reads the consumption feed: rejections, duplicates and unmapped events counted, usage summed.
fn consumption_usage(
    path: Option<&Path>,
    cores: usize,
    index: &SkuIndex,
    as_of: Timestamp,
    from: Timestamp,
    window: &TimeWindow,
) -> Result<(Tally, Usage), ImportError> {
    let no_usage = || vec![(0i128, false); index.len()];
    let Some(path) = path else { return Ok((Tally::default(), no_usage())) };
    let started = std::time::Instant::now();
    let hasher = foldhash::fast::RandomState::default();
    let row = |piece: &mut Piece<ConsumptionAt>, location: Location, raw: Result<&RawRow<'_>, RowIssue>| {
        let checked = raw.and_then(|r| {
            let row = ConsumptionRow::parse(r).and_then(|row| row.check_times(window).map(|()| row));
            row.map_err(|e| RowIssue::from_field(&location, e))
        });
        let row = match checked {
            Ok(row) => row,
            Err(issue) => return piece.rejected.push(issue),
        };
        let part = index.resolve_position(row.source, row.external_sku).map(|at| at as u32);
        let start = piece.text.len();
        piece.keep(row.source);
        piece.keep(row.event_id);
        piece.keep(row.external_sku);
        piece.push(ConsumptionAt {
            hash: key_hash(&hasher, &[row.source, row.event_id]),
            at: location.pack(),
            start,
            // Ids are at most 64 ASCII characters (checked); a SKU is far below 4 GiB.
            source_len: row.source.len() as u8,
            id_len: row.event_id.len() as u8,
            sku_len: row.external_sku.len() as u32,
            quantity: row.quantity,
            consumed_at: row.consumed_at,
            part,
        });
    };
    let (mut pieces, _) =
        read_file_in_pieces::<ConsumptionRecord, _>(path, cores, &|bytes| Piece::new(bytes, 40), &row)?;
    let refused = refused(&mut pieces);
    tracing::debug!(elapsed = ?started.elapsed(), pieces = pieces.len(), "consumption read and checked");

    let new_acc = || (0u64, 0u64, no_usage());
    let accept = |(accepted, unmapped, usage): &mut (u64, u64, Usage), r: &ConsumptionAt, _: &[u8]| {
        *accepted += 1;
        let Some(part) = r.part else {
            *unmapped += 1;
            return;
        };
        if r.consumed_at < as_of {
            let entry = &mut usage[part as usize];
            entry.1 = true;
            if r.consumed_at >= from {
                entry.0 += i128::from(r.quantity.micros());
            }
        }
    };
    let mut settled = settle(&pieces, cores, &new_acc, &accept);
    let mut usage = no_usage();
    let (mut accepted, mut unmapped) = (0, 0);
    for s in &mut settled {
        accepted += s.acc.0;
        unmapped += s.acc.1;
        for (total, (sum, history)) in usage.iter_mut().zip(&s.acc.2) {
            total.0 += sum;
            total.1 |= history;
        }
    }
    tracing::debug!(elapsed = ?started.elapsed(), "consumption deduplicated and summed");
    Ok((tally(refused, &mut settled, accepted, unmapped), usage))
}

/// A checked failure-log row of a known asset (`assets[asset]`); its event id is
/// `text[start..start + id_len]`.
struct FailureAt {
    hash: u64,
    at: u64,
    start: usize,
    id_len: u8,
    asset: u32,
    event: FailureEvent,
}

impl Keyed for FailureAt {
    fn hash(&self) -> u64 {
        self.hash
    }
    fn at(&self) -> Location {
        Location::unpack(self.at)
    }
    fn key<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        &text[self.start..self.start + usize::from(self.id_len)]
    }
    fn same_content(&self, _: &[u8], other: &Self, _: &[u8]) -> bool {
        let ms =
            |e: &FailureEvent| (e.event_type, e.started_at.as_millisecond(), e.ended_at.map(|t| t.as_millisecond()));
        self.asset == other.asset && ms(&self.event) == ms(&other.event)
    }
}

/// Reads the failure feed: per asset (by position in `assets`), its events sorted by start (then
/// event id), as the MTBF calculation takes them.
fn failure_events(
    path: Option<&Path>,
    cores: usize,
    assets: &FastMap<&str, u32>,
    window: &TimeWindow,
) -> Result<(Tally, Vec<Vec<FailureEvent>>), ImportError> {
    let Some(path) = path else { return Ok((Tally::default(), vec![Vec::new(); assets.len()])) };
    let started = std::time::Instant::now();
    let hasher = foldhash::fast::RandomState::default();
    let row = |piece: &mut Piece<FailureAt>, location: Location, raw: Result<&RawRow<'_>, RowIssue>| {
        let checked = raw.and_then(|r| {
            let row = FailureRow::parse(r).and_then(|row| row.check_times(window).map(|()| row));
            row.map_err(|e| RowIssue::from_field(&location, e))
        });
        let row = match checked {
            Ok(row) => row,
            Err(issue) => return piece.rejected.push(issue),
        };
        let Some(&asset) = assets.get(row.asset_id) else {
            return piece.rejected.push(RowIssue::field(location, "asset_id", "unknown asset"));
        };
        let start = piece.text.len();
        piece.keep(row.event_id);
        piece.push(FailureAt {
            hash: key_hash(&hasher, &[row.event_id]),
            at: location.pack(),
            start,
            id_len: row.event_id.len() as u8,
            asset,
            event: row.event(),
        });
    };
    let (mut pieces, _) = read_file_in_pieces::<FailureRecord, _>(path, cores, &|bytes| Piece::new(bytes, 50), &row)?;
    let refused = refused(&mut pieces);
    tracing::debug!(elapsed = ?started.elapsed(), pieces = pieces.len(), "failures read and checked");

    /// Events accepted, and per asset its events with their ids.
    type ByAsset<'p> = (u64, Vec<Vec<(&'p [u8], FailureEvent)>>);
    fn accept<'p>((accepted, by_asset): &mut ByAsset<'p>, r: &'p FailureAt, text: &'p [u8]) {
        *accepted += 1;
        by_asset[r.asset as usize].push((r.key(text), r.event));
    }
    let new_acc = || -> ByAsset<'_> { (0, vec![Vec::new(); assets.len()]) };
    let mut settled = settle(&pieces, cores, &new_acc, &accept);
    tracing::debug!(elapsed = ?started.elapsed(), "failures deduplicated");
    let mut with_ids: Vec<Vec<(&[u8], FailureEvent)>> = (0..assets.len())
        .map(|asset| settled.iter_mut().flat_map(|s| std::mem::take(&mut s.acc.1[asset])).collect())
        .collect();
    let mut events = vec![Vec::new(); assets.len()];
    let chunk = assets.len().div_ceil(cores.max(1)).max(1);
    std::thread::scope(|s| {
        for (ins, outs) in with_ids.chunks_mut(chunk).zip(events.chunks_mut(chunk)) {
            s.spawn(move || {
                for (log, out) in ins.iter_mut().zip(outs) {
                    log.sort_unstable_by(|a, b| a.1.started_at.cmp(&b.1.started_at).then_with(|| a.0.cmp(b.0)));
                    *out = log.iter().map(|(_, e)| *e).collect();
                }
            });
        }
    });
    tracing::debug!(elapsed = ?started.elapsed(), "failure logs sorted");
    let accepted = settled.iter().map(|s| s.acc.0).sum();
    Ok((tally(refused, &mut settled, accepted, 0), events))
}

/// Validates and computes the folder `input` at `as_of`, writing `output/thresholds.csv` and
/// `output/intervals.csv`. Rows with an instant outside `window` are rejected rows, as in
/// `cmms import`; the CLI passes [`TimeWindow::events`] of the later of the clock and `as_of`
/// (so a what-if run for a future date can still read its data). Rows inside the window but after
/// `as_of` are not rejected; the calculation just leaves them out.
pub fn compute_folder(
    input: &Path,
    output: &Path,
    formulas: &FormulaSet,
    as_of: Timestamp,
    window: TimeWindow,
) -> Result<ComputeReport, ImportError> {
    let window = &window;
    let started = std::time::Instant::now();
    let mut report = ComputeReport::default();
    let mut sites = FastMap::default();
    each::<SiteRecord>(input, window, |loc, r| match r {
        Ok(s) if !sites.contains_key(&s.site_id) => {
            report.accept("sites");
            sites.insert(s.site_id.clone(), s.timezone.zone());
        }
        Ok(_) => report.reject("sites", &RowIssue::row(loc, "duplicate site_id")),
        Err(e) => report.reject("sites", &e),
    })?;
    let mut parts: BTreeMap<String, PartRecord> = BTreeMap::new();
    each::<PartRecord>(input, window, |loc, r| match r {
        Ok(p) if !sites.contains_key(&p.site_id) => {
            report.reject("parts", &RowIssue::field(loc, "site_id", "unknown site"))
        }
        Ok(p) if parts.contains_key(p.part_id.as_str()) => {
            report.reject("parts", &RowIssue::row(loc, "duplicate part_id"))
        }
        Ok(p) => {
            report.accept("parts");
            parts.insert(p.part_id.to_string(), p);
        }
        Err(e) => report.reject("parts", &e),
    })?;
    let mut map: FastMap<(String, String), String> = FastMap::default();
    each::<SkuMapRecord>(input, window, |loc, r| match r {
        Ok(m) if !parts.contains_key(m.part_id.as_str()) => {
            report.reject("sku_map", &RowIssue::field(loc, "part_id", "unknown part"))
        }
        Ok(m) => match map.entry((m.source.to_string(), m.external_sku.as_str().to_owned())) {
            Entry::Vacant(v) => {
                report.accept("sku_map");
                v.insert(m.part_id.to_string());
            }
            Entry::Occupied(_) => report.reject("sku_map", &RowIssue::row(loc, "duplicate source, external_sku")),
        },
        Err(e) => report.reject("sku_map", &e),
    })?;
    let index = SkuIndex::new(
        map.iter().map(|((s, k), p)| (s.as_str(), k.as_str(), p.as_str())),
        parts.keys().map(String::as_str),
    );
    let mut assets: BTreeMap<String, AssetRecord> = BTreeMap::new();
    each::<AssetRecord>(input, window, |loc, r| match r {
        Ok(a) if !sites.contains_key(&a.site_id) => {
            report.reject("assets", &RowIssue::field(loc, "site_id", "unknown site"))
        }
        Ok(a) if assets.contains_key(a.asset_id.as_str()) => {
            report.reject("assets", &RowIssue::row(loc, "duplicate asset_id"))
        }
        Ok(a) => {
            report.accept("assets");
            assets.insert(a.asset_id.to_string(), a);
        }
        Err(e) => report.reject("assets", &e),
    })?;
    tracing::debug!(elapsed = ?started.elapsed(), "master data read");
    let asset_at: FastMap<&str, u32> = assets.keys().zip(0..).map(|(id, i)| (id.as_str(), i)).collect();

    let from = window_start(as_of, formulas.params().thresholds.window_days);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let (consumption_path, failures_path) =
        (input_file::<ConsumptionRecord>(input), input_file::<FailureRecord>(input));
    let (consumption, failures) = std::thread::scope(|s| {
        let c = s.spawn(|| consumption_usage(consumption_path.as_deref(), cores, &index, as_of, from, window));
        let f = s.spawn(|| failure_events(failures_path.as_deref(), cores, &asset_at, window));
        (join(c), join(f))
    });
    let (consumption, usage) = consumption?;
    let (failures, mut events) = failures?;
    tracing::debug!(elapsed = ?started.elapsed(), "feeds read");
    report.add("consumption", consumption);
    report.add("failures", failures);

    let mut readings: HashMap<String, Vec<MtbfReading>> = HashMap::new();
    each::<MtbfReadingRecord>(input, window, |loc, r| match r {
        Ok(m) if !assets.contains_key(m.asset_id.as_str()) => {
            report.reject("mtbf_readings", &RowIssue::field(loc, "asset_id", "unknown asset"))
        }
        Ok(m) => {
            report.accept("mtbf_readings");
            readings.entry(m.asset_id.to_string()).or_default().push(m.reading);
        }
        Err(e) => report.reject("mtbf_readings", &e),
    })?;

    std::fs::create_dir_all(output).map_err(|source| ImportError::Io { path: output.into(), source })?;
    let version = &formulas.content_hash()[..12];
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { path: path.clone(), source }
    };

    let path = output.join("thresholds.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(write_err(&path))?);
    writeln!(out, "part_id,status,avg_daily_usage,min,reorder,max,formula_version").map_err(write_err(&path))?;
    for (id, part) in &parts {
        let (sum, has_history) = index.position(id).and_then(|at| usage.get(at)).map_or((0, false), |&(s, h)| (s, h));
        let summary = UsageSummary { consumed_in_window: Quantity::from_micros(sum), has_history };
        let params = formulas.params_for(&part.part_class);
        let line = match compute(
            summary,
            part.lead_time_days,
            as_of,
            &params,
            formulas.seasonal_windows_for(&part.part_class, &part.site_id),
        ) {
            Ok(t) => format!(
                "{id},OK,{},{},{},{},{version}",
                t.avg_daily_usage, t.limits.min, t.limits.reorder, t.limits.max
            ),
            Err(e) => format!("{id},{},,,,,{version}", e.code()),
        };
        writeln!(out, "{line}").map_err(write_err(&path))?;
    }
    out.flush().map_err(write_err(&path))?;
    report.parts = parts.len();

    let path = output.join("intervals.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(write_err(&path))?);
    writeln!(
        out,
        "asset_id,status,basis,reason,n_samples,mean_mtbf_hours,cv,interval_days,next_due_at,next_due_at_utc"
    )
    .map_err(write_err(&path))?;
    let pm = *formulas.pm();
    let scope = SampleScope { since: lookback_start(as_of, pm.lookback_days) };
    for ((id, asset), evs) in assets.iter().zip(&mut events) {
        let evs = std::mem::take(evs);
        let rs = readings.remove(id).unwrap_or_default();
        let Ok(stats) = mtbf_stats(&evs, &rs, scope) else { continue };
        let interval = pm_interval(&stats, &pm, asset.fallback_interval_days);
        let zone = &sites[&asset.site_id];
        let (status, local, utc) = match next_due(asset.last_completion_at, interval.interval_days, zone) {
            Ok(d) => ("OK", d.local_rfc3339(), d.utc_rfc3339()),
            Err(e) => (e.code(), String::new(), String::new()),
        };
        let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
        writeln!(
            out,
            "{id},{status},{},{},{},{},{},{},{local},{utc}",
            interval.basis.as_str(),
            interval.reason.map_or("", |r| r.code()),
            stats.n_samples,
            opt(stats.mean_hours),
            opt(stats.cv),
            interval.interval_days
        )
        .map_err(write_err(&path))?;
    }
    out.flush().map_err(write_err(&path))?;
    report.assets = assets.len();
    tracing::debug!(elapsed = ?started.elapsed(), "outputs written");
    Ok(report)
}
