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

use crate::import::reader::{parse_row, read_file_in_pieces, read_file_with};
use crate::import::{ImportError, Location, RowIssue};
use cmms_core::feeds::{ConsumptionRecord, ConsumptionRow, FailureRecord, FailureRow, MtbfReadingRecord};
use cmms_core::formula::FormulaSet;
use cmms_core::mapping::{MappingRef, SkuIndex};
use cmms_core::master::{AssetRecord, FieldError, ImportRecord, PartRecord, RawRow, SiteRecord, SkuMapRecord};
use cmms_core::pm::next_due;
use cmms_core::quantity::Quantity;
use cmms_core::reliability::{
    FailureEvent, FailureEventType, MtbfReading, SampleScope, lookback_start, mtbf_stats, pm_interval,
};
use cmms_core::thresholds::{ExactSum, UsageSummary, compute, window_start};
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

/// Streams every row of `dir/<kind>.csv` (or `.json`) to `f`; a missing file is empty.
fn each<R: ImportRecord>(dir: &Path, mut f: impl FnMut(Location, Result<R, RowIssue>)) -> Result<(), ImportError> {
    let Some(path) = input_file::<R>(dir) else { return Ok(()) };
    read_file_with::<R>(&path, &mut |location, row| {
        let record = row.and_then(|row| parse_row::<R>(&location, row));
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

fn field_issue(location: &Location) -> impl FnOnce(FieldError) -> RowIssue + '_ {
    |e| RowIssue::field(location.clone(), e.field, e.reason)
}

const CONFLICT: &str = "DUPLICATE_CONFLICT: a first copy with other values wins";

/// The rows of one piece of a feed that passed the row checks, their text kept in one buffer.
struct Piece<Row> {
    text: Vec<u8>,
    rows: Vec<Row>,
    rejected: Rejections,
}

impl<Row> Piece<Row> {
    fn new() -> Self {
        Self { text: Vec::new(), rows: Vec::new(), rejected: Rejections::default() }
    }

    /// Appends `s` to the text, answering where it ends.
    fn keep(&mut self, s: &str) -> usize {
        self.text.extend_from_slice(s.as_bytes());
        self.text.len()
    }
}

/// A checked consumption row: `source`, `event_id` and the SKU are `text[start..source_end]`,
/// `text[source_end..id_end]` and `text[id_end..sku_end]`.
struct ConsumptionAt<'ix> {
    location: Location,
    start: usize,
    source_end: usize,
    id_end: usize,
    sku_end: usize,
    quantity: f64,
    consumed_at: Timestamp,
    part: Option<&'ix str>,
}

/// Per mapped part: the consumption inside the window, and whether it has any history at all.
type Usage<'ix> = FastMap<&'ix str, (ExactSum, bool)>;

/// Reads the consumption feed: rejections, duplicates and unmapped events counted, usage summed.
fn consumption_usage<'ix>(
    path: Option<&Path>,
    pieces: usize,
    index: &'ix SkuIndex,
    as_of: Timestamp,
    from: Timestamp,
) -> Result<(Tally, Usage<'ix>), ImportError> {
    let Some(path) = path else { return Ok(Default::default()) };
    let row = |piece: &mut Piece<ConsumptionAt<'ix>>, location: Location, raw: Result<&RawRow<'_>, RowIssue>| {
        let row = match raw.and_then(|r| ConsumptionRow::parse(r).map_err(field_issue(&location))) {
            Ok(row) => row,
            Err(issue) => return piece.rejected.push(issue),
        };
        let part = match index.resolve_ref(row.source, row.external_sku) {
            MappingRef::Part(p) => Some(p),
            MappingRef::Unmapped | MappingRef::Ambiguous(_) => None,
        };
        let start = piece.text.len();
        let source_end = piece.keep(row.source);
        let id_end = piece.keep(row.event_id);
        let sku_end = piece.keep(row.external_sku);
        let (quantity, consumed_at) = (row.quantity.get(), row.consumed_at);
        piece.rows.push(ConsumptionAt { location, start, source_end, id_end, sku_end, quantity, consumed_at, part });
    };
    let started = std::time::Instant::now();
    let (pieces, _) = read_file_in_pieces::<ConsumptionRecord, _>(path, pieces, &Piece::new, &row)?;
    tracing::debug!(elapsed = ?started.elapsed(), pieces = pieces.len(), "consumption read and checked");

    let mut tally = Tally::default();
    let mut conflicts = Rejections::default();
    let mut usage = Usage::default();
    let total = pieces.iter().map(|p| p.rows.len()).sum();
    /// What a re-delivery must repeat: the SKU, the quantity's bits and the instant (ms).
    type Content<'t> = (&'t [u8], u64, i64);
    let mut seen: FastMap<(&[u8], &[u8]), Content> = FastMap::with_capacity_and_hasher(total, Default::default());
    for piece in &pieces {
        let t = &piece.text;
        for r in &piece.rows {
            let key = (&t[r.start..r.source_end], &t[r.source_end..r.id_end]);
            let content = (&t[r.id_end..r.sku_end], r.quantity.to_bits(), r.consumed_at.as_millisecond());
            match seen.entry(key) {
                Entry::Vacant(v) => {
                    v.insert(content);
                    tally.accepted += 1;
                }
                Entry::Occupied(o) if *o.get() == content => {
                    tally.duplicates += 1;
                    continue;
                }
                Entry::Occupied(_) => {
                    conflicts.push(RowIssue::row(r.location.clone(), CONFLICT));
                    continue;
                }
            }
            let Some(part) = r.part else {
                tally.unmapped += 1;
                continue;
            };
            if r.consumed_at < as_of {
                let entry = usage.entry(part).or_insert_with(|| (ExactSum::new(), false));
                entry.1 = true;
                if r.consumed_at >= from {
                    entry.0.add(r.quantity);
                }
            }
        }
    }
    drop(seen);
    tracing::debug!(elapsed = ?started.elapsed(), "consumption deduplicated and summed");
    tally.rejected = pieces.into_iter().fold(conflicts, |all, p| all.merge(p.rejected));
    Ok((tally, usage))
}

/// A checked failure-log row of a known asset (`assets[asset]`); its event id is `text[start..id_end]`.
struct FailureAt {
    location: Location,
    start: usize,
    id_end: usize,
    asset: usize,
    event: FailureEvent,
}

/// Reads the failure feed: per asset (by position in `assets`), its events sorted by start (then
/// event id), as the MTBF calculation takes them.
fn failure_events(
    path: Option<&Path>,
    pieces: usize,
    assets: &FastMap<&str, usize>,
) -> Result<(Tally, Vec<Vec<FailureEvent>>), ImportError> {
    let mut by_asset = vec![Vec::new(); assets.len()];
    let Some(path) = path else { return Ok((Tally::default(), by_asset)) };
    let row = |piece: &mut Piece<FailureAt>, location: Location, raw: Result<&RawRow<'_>, RowIssue>| {
        let row = match raw.and_then(|r| FailureRow::parse(r).map_err(field_issue(&location))) {
            Ok(row) => row,
            Err(issue) => return piece.rejected.push(issue),
        };
        let Some(&asset) = assets.get(row.asset_id) else {
            return piece.rejected.push(RowIssue::field(location, "asset_id", "unknown asset"));
        };
        let start = piece.text.len();
        let id_end = piece.keep(row.event_id);
        piece.rows.push(FailureAt { location, start, id_end, asset, event: row.event() });
    };
    let started = std::time::Instant::now();
    let (pieces, _) = read_file_in_pieces::<FailureRecord, _>(path, pieces, &Piece::new, &row)?;
    tracing::debug!(elapsed = ?started.elapsed(), pieces = pieces.len(), "failures read and checked");

    let mut tally = Tally::default();
    let mut conflicts = Rejections::default();
    let total = pieces.iter().map(|p| p.rows.len()).sum();
    type Content = (usize, FailureEventType, i64, Option<i64>);
    let mut seen: FastMap<&[u8], Content> = FastMap::with_capacity_and_hasher(total, Default::default());
    let mut with_ids: Vec<Vec<(&[u8], FailureEvent)>> = vec![Vec::new(); assets.len()];
    for piece in &pieces {
        for r in &piece.rows {
            let id = &piece.text[r.start..r.id_end];
            let e = &r.event;
            let content =
                (r.asset, e.event_type, e.started_at.as_millisecond(), e.ended_at.map(|t| t.as_millisecond()));
            match seen.entry(id) {
                Entry::Vacant(v) => {
                    v.insert(content);
                    tally.accepted += 1;
                    with_ids[r.asset].push((id, r.event));
                }
                Entry::Occupied(o) if *o.get() == content => tally.duplicates += 1,
                Entry::Occupied(_) => conflicts.push(RowIssue::row(r.location.clone(), CONFLICT)),
            }
        }
    }
    drop(seen);
    tracing::debug!(elapsed = ?started.elapsed(), "failures deduplicated");
    for (events, out) in with_ids.iter_mut().zip(&mut by_asset) {
        events.sort_unstable_by(|a, b| a.1.started_at.cmp(&b.1.started_at).then_with(|| a.0.cmp(b.0)));
        *out = events.iter().map(|(_, e)| *e).collect();
    }
    drop(with_ids);
    tracing::debug!(elapsed = ?started.elapsed(), "failure logs sorted");
    tally.rejected = pieces.into_iter().fold(conflicts, |all, p| all.merge(p.rejected));
    Ok((tally, by_asset))
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Validates and computes the folder `input` at `as_of`, writing `output/thresholds.csv` and
/// `output/intervals.csv`.
pub fn compute_folder(
    input: &Path,
    output: &Path,
    formulas: &FormulaSet,
    as_of: Timestamp,
) -> Result<ComputeReport, ImportError> {
    let started = std::time::Instant::now();
    let mut report = ComputeReport::default();
    let mut sites = HashMap::new();
    each::<SiteRecord>(input, |loc, r| match r {
        Ok(s) if !sites.contains_key(&s.site_id) => {
            report.accept("sites");
            sites.insert(s.site_id.clone(), s.timezone.zone());
        }
        Ok(_) => report.reject("sites", &RowIssue::row(loc, "duplicate site_id")),
        Err(e) => report.reject("sites", &e),
    })?;
    let mut parts: BTreeMap<String, PartRecord> = BTreeMap::new();
    each::<PartRecord>(input, |loc, r| match r {
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
    let mut map: HashMap<(String, String), String> = HashMap::new();
    each::<SkuMapRecord>(input, |loc, r| match r {
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
    each::<AssetRecord>(input, |loc, r| match r {
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
    let asset_at: FastMap<&str, usize> = assets.keys().enumerate().map(|(i, id)| (id.as_str(), i)).collect();

    let from = window_start(as_of, formulas.params().thresholds.window_days);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let (consumption_path, failures_path) =
        (input_file::<ConsumptionRecord>(input), input_file::<FailureRecord>(input));
    let (consumption, failures) = std::thread::scope(|s| {
        let c = s.spawn(|| consumption_usage(consumption_path.as_deref(), cores, &index, as_of, from));
        let f = s.spawn(|| failure_events(failures_path.as_deref(), cores, &asset_at));
        (join(c), join(f))
    });
    let (consumption, usage) = consumption?;
    let (failures, mut events) = failures?;
    tracing::debug!(elapsed = ?started.elapsed(), "feeds read");
    report.add("consumption", consumption);
    report.add("failures", failures);

    let mut readings: HashMap<String, Vec<MtbfReading>> = HashMap::new();
    each::<MtbfReadingRecord>(input, |loc, r| match r {
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
        let (sum, has_history) = usage.get(id.as_str()).map_or((0.0, false), |(s, h)| (s.value(), *h));
        let summary = UsageSummary { consumed_in_window: Quantity::new(sum).unwrap_or(Quantity::ZERO), has_history };
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
