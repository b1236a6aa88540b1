//! `cmms compute`: the validation and calculation stages straight from a folder of import files
//! to `thresholds.csv` and `intervals.csv`, with no store — for analysts' what-if runs and for
//! measuring the calculation against reference implementations on the same files.
//!
//! Same readers, row rules and core functions as the persisted pipeline; what the store does
//! there (references, first-delivery-wins, SKU mapping) is done here in memory. The two big
//! feeds (consumption and failures) are read one after the other in blocks of a few MiB: every
//! core parses and checks its own piece of a block into compact rows, then every core settles
//! first-delivery-wins for its share of the keys and aggregates (per-part usage sums, per-asset
//! event lists), so memory follows the parts, assets and distinct events, not the file size.
//! Blocking: call it off the async runtime.

mod backtest;
mod failures;
mod settle;
mod usage;
mod write;

use crate::import::reader::{join, parse_row, read_file_with};
use crate::import::{ImportError, Location, RowIssue};
pub use backtest::{
    BacktestError, BacktestReport, BacktestSettings, CurvePoint, FrontierResult, HistoryPart, PolicyResult, Review,
    backtest_folder, backtest_parts, stored_history,
};
use cmms_core::feeds::{ConsumptionRecord, FailureRecord, MtbfReadingRecord};
use cmms_core::formula::FormulaSet;
use cmms_core::ids::SiteId;
use cmms_core::mapping::SkuIndex;
use cmms_core::master::{AssetRecord, ImportRecord, PartRecord, SiteRecord, SkuMapRecord};
use cmms_core::reliability::MtbfReading;
use cmms_core::thresholds::UsageWindow;
use cmms_core::time::TimeWindow;
use jiff::Timestamp;
use settle::Tally;
use std::collections::{BTreeMap, HashMap, hash_map::Entry};
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
    /// Adds what `other` counted (its issues after these).
    fn absorb(&mut self, other: ComputeReport) {
        for (kind, n) in other.accepted {
            *self.accepted.entry(kind).or_default() += n;
        }
        for (kind, n) in other.rejected {
            *self.rejected.entry(kind).or_default() += n;
        }
        self.unmapped_events += other.unmapped_events;
        self.duplicates += other.duplicates;
        self.issues.extend(other.issues);
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

/// The sites (with their zones), each row checked and counted in `report` as `cmms import` would.
fn read_sites(
    input: &Path,
    window: &TimeWindow,
    report: &mut ComputeReport,
) -> Result<FastMap<SiteId, jiff::tz::TimeZone>, ImportError> {
    let mut sites = FastMap::default();
    each::<SiteRecord>(input, window, |loc, r| match r {
        Ok(s) if !sites.contains_key(&s.site_id) => {
            report.accept("sites");
            sites.insert(s.site_id.clone(), s.timezone.zone());
        }
        Ok(_) => report.reject("sites", &RowIssue::row(loc, "duplicate site_id")),
        Err(e) => report.reject("sites", &e),
    })?;
    Ok(sites)
}

/// The master data the threshold side needs: sites (with their zones), parts and the SKU index,
/// each row checked and counted in `report` as `cmms import` would.
#[allow(clippy::type_complexity)]
fn read_parts(
    input: &Path,
    window: &TimeWindow,
    report: &mut ComputeReport,
) -> Result<(FastMap<SiteId, jiff::tz::TimeZone>, BTreeMap<String, PartRecord>, SkuIndex), ImportError> {
    let sites = read_sites(input, window, report)?;
    let (parts, index) = read_catalogue(input, window, &sites, report)?;
    Ok((sites, parts, index))
}

/// The parts of known sites and the SKU index over them, each row checked and counted.
fn read_catalogue(
    input: &Path,
    window: &TimeWindow,
    sites: &FastMap<SiteId, jiff::tz::TimeZone>,
    report: &mut ComputeReport,
) -> Result<(BTreeMap<String, PartRecord>, SkuIndex), ImportError> {
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
    // The index is the duplicate check too: the first entry of a (source, external_sku) wins.
    let mut index = SkuIndex::new(std::iter::empty(), parts.keys().map(String::as_str));
    each::<SkuMapRecord>(input, window, |loc, r| match r {
        Ok(m) if index.position(m.part_id.as_str()).is_none() => {
            report.reject("sku_map", &RowIssue::field(loc, "part_id", "unknown part"))
        }
        Ok(m) if index.add(m.source.as_str(), m.external_sku.as_str(), m.part_id.as_str()) => report.accept("sku_map"),
        Ok(_) => report.reject("sku_map", &RowIssue::row(loc, "duplicate source, external_sku")),
        Err(e) => report.reject("sku_map", &e),
    })?;
    Ok((parts, index))
}

/// The assets of known sites, each row checked and counted.
fn read_assets(
    input: &Path,
    window: &TimeWindow,
    sites: &FastMap<SiteId, jiff::tz::TimeZone>,
    report: &mut ComputeReport,
) -> Result<BTreeMap<String, AssetRecord>, ImportError> {
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
    Ok(assets)
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
    let sites = read_sites(input, window, &mut report)?;
    // The catalogue (parts, SKU map) and the assets are independent: read side by side.
    let mut assets_report = ComputeReport::default();
    let (catalogue, assets) = std::thread::scope(|s| {
        let assets = s.spawn(|| read_assets(input, window, &sites, &mut assets_report));
        (read_catalogue(input, window, &sites, &mut report), join(assets))
    });
    let ((parts, index), assets) = (catalogue?, assets?);
    report.absorb(assets_report);
    tracing::debug!(elapsed = ?started.elapsed(), "master data read");
    let asset_at: FastMap<&str, u32> = assets.keys().zip(0..).map(|(id, i)| (id.as_str(), i)).collect();

    let usage_window = UsageWindow::new(as_of, formulas.params().thresholds.window_days);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let (consumption_path, failures_path) =
        (input_file::<ConsumptionRecord>(input), input_file::<FailureRecord>(input));
    // One feed after the other, each on every core: memory holds one feed's keys at a time.
    let consumption = if cmms_core::demand::uses_history(formulas) {
        // The demand-driven methods read each part's history, not only the window total.
        usage::consumption_events(consumption_path.as_deref(), cores, &index, window).map(|(tally, events)| {
            let usage = events
                .iter()
                .map(|part| {
                    let mut acc = cmms_core::thresholds::UsageAccumulator::new();
                    part.iter().for_each(|e| acc.add(&usage_window, e.at, e.quantity));
                    acc
                })
                .collect();
            (tally, usage, Some(events))
        })
    } else {
        usage::consumption_usage(consumption_path.as_deref(), cores, &index, &usage_window, window)
            .map(|(tally, usage)| (tally, usage, None))
    };
    let failures = failures::failure_events(failures_path.as_deref(), cores, &asset_at, window);
    let (consumption, usage, history) = consumption?;
    let (failures, mut events) = failures?;
    tracing::debug!(elapsed = ?started.elapsed(), "feeds read");
    report.add("consumption", consumption);
    report.add("failures", failures);

    // Readings are a feed: the first delivery of an asset's reading at an instant (to the
    // millisecond, as stored) wins, as in the store.
    let mut readings: HashMap<String, Vec<MtbfReading>> = HashMap::new();
    let mut first_reading: FastMap<(String, i64), f64> = FastMap::default();
    each::<MtbfReadingRecord>(input, window, |loc, r| match r {
        Ok(m) if !assets.contains_key(m.asset_id.as_str()) => {
            report.reject("mtbf_readings", &RowIssue::field(loc, "asset_id", "unknown asset"))
        }
        Ok(m) => match first_reading.entry((m.asset_id.to_string(), m.reading.observed_at.as_millisecond())) {
            Entry::Vacant(v) => {
                v.insert(m.reading.mtbf_hours);
                report.accept("mtbf_readings");
                readings.entry(m.asset_id.to_string()).or_default().push(m.reading);
            }
            Entry::Occupied(first) if *first.get() == m.reading.mtbf_hours => report.duplicates += 1,
            Entry::Occupied(_) => report.reject("mtbf_readings", &RowIssue::row(loc, settle::CONFLICT)),
        },
        Err(e) => report.reject("mtbf_readings", &e),
    })?;

    std::fs::create_dir_all(output).map_err(|source| ImportError::Io { path: output.into(), cause: source })?;
    let version = &formulas.content_hash()[..12];
    let usage = write::PartUsage { sums: &usage, events: history.as_ref() };
    // The two outputs share nothing: written side by side.
    let (thresholds, intervals) = std::thread::scope(|s| {
        let thresholds = s.spawn(|| {
            write::write_thresholds(&output.join("thresholds.csv"), &parts, &index, &usage, formulas, as_of, version)
        });
        let intervals = write::write_intervals(
            &output.join("intervals.csv"),
            &assets,
            &mut events,
            &mut readings,
            &sites,
            formulas,
            as_of,
        );
        (join(thresholds), intervals)
    });
    thresholds?;
    intervals?;
    report.parts = parts.len();
    report.assets = assets.len();
    tracing::debug!(elapsed = ?started.elapsed(), "outputs written");
    Ok(report)
}
