//! `cmms compute`: the validation and calculation stages straight from a folder of import files
//! to `thresholds.csv` and `intervals.csv`, with no store — for analysts' what-if runs and for
//! measuring the calculation against reference implementations on the same files.
//!
//! Same readers, row rules and core functions as the persisted pipeline; what the store does
//! there (references, first-delivery-wins, SKU mapping) is done here in memory. Consumption is
//! aggregated while it streams, so memory holds per-part sums, not events. The consumption and
//! failure files are read concurrently (one reader thread each).

use crate::import::reader::{Format, Parsed, read_file};
use crate::import::{ImportError, Location, RowIssue};
use cmms_core::feeds::{ConsumptionRecord, FailureRecord, MtbfReadingRecord};
use cmms_core::formula::FormulaSet;
use cmms_core::mapping::{Mapping, SkuIndex};
use cmms_core::master::{AssetRecord, ImportRecord, PartRecord, SiteRecord, SkuMapRecord};
use cmms_core::pm::next_due;
use cmms_core::quantity::Quantity;
use cmms_core::reliability::{FailureEvent, MtbfReading, SampleScope, lookback_start, mtbf_stats, pm_interval};
use cmms_core::thresholds::{ExactSum, UsageSummary, compute, window_start};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap, hash_map::Entry};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

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
    /// The first rejected rows, `kind: location: reason`.
    pub issues: Vec<String>,
    /// Parts written to thresholds.csv.
    pub parts: usize,
    /// Assets written to intervals.csv.
    pub assets: usize,
}

impl ComputeReport {
    fn reject(&mut self, kind: &'static str, issue: &RowIssue) {
        *self.rejected.entry(kind).or_default() += 1;
        if self.issues.len() < 100 {
            self.issues.push(format!("{kind}: {issue}"));
        }
    }
    fn accept(&mut self, kind: &'static str) {
        *self.accepted.entry(kind).or_default() += 1;
    }
}

/// Streams every row of `dir/<kind>.csv` (or `.json`) to `f`; a missing file is empty.
async fn each<R: ImportRecord>(
    dir: &Path,
    mut f: impl FnMut(Location, Result<R, RowIssue>),
) -> Result<(), ImportError> {
    let csv = dir.join(format!("{}.csv", R::KIND));
    let json = dir.join(format!("{}.json", R::KIND));
    let path: PathBuf = if csv.exists() {
        csv
    } else if json.exists() {
        json
    } else {
        return Ok(());
    };
    let format = Format::from_path(&path)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Parsed<R>>>(2);
    let reader = tokio::task::spawn_blocking(move || read_file::<R>(path, format, tx, Arc::new(AtomicU64::new(0))));
    while let Some(batch) = rx.recv().await {
        for (location, rec) in batch {
            f(location, rec);
        }
    }
    reader
        .await
        .map_err(|e| ImportError::Syntax { path: dir.into(), at: "reader".into(), message: e.to_string() })?
        .map(|_| ())
}

/// Keeps the first row of each key; a later identical row is a duplicate, a different one a
/// `DUPLICATE_CONFLICT`.
fn first_wins<K: std::hash::Hash + Eq, V: PartialEq>(
    seen: &mut HashMap<K, V>,
    key: K,
    value: V,
) -> Result<bool, &'static str> {
    match seen.entry(key) {
        Entry::Vacant(v) => {
            v.insert(value);
            Ok(true)
        }
        Entry::Occupied(o) if *o.get() == value => Ok(false),
        Entry::Occupied(_) => Err("DUPLICATE_CONFLICT: a first copy with other values wins"),
    }
}

/// Validates and computes the folder `input` at `as_of`, writing `output/thresholds.csv` and
/// `output/intervals.csv`.
pub async fn compute_folder(
    input: &Path,
    output: &Path,
    formulas: &FormulaSet,
    as_of: Timestamp,
) -> Result<ComputeReport, ImportError> {
    let mut report = ComputeReport::default();
    let mut sites = HashMap::new();
    each::<SiteRecord>(input, |loc, r| match r {
        Ok(s) if !sites.contains_key(&s.site_id) => {
            report.accept("sites");
            sites.insert(s.site_id.clone(), s.timezone.zone());
        }
        Ok(_) => report.reject("sites", &RowIssue::row(loc, "duplicate site_id")),
        Err(e) => report.reject("sites", &e),
    })
    .await?;
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
    })
    .await?;
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
    })
    .await?;
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
    })
    .await?;

    // Consumption and failures stream concurrently, each into its own aggregate.
    let window_days = formulas.params().thresholds.window_days;
    let from = window_start(as_of, window_days);
    let consumption = async {
        let mut r = ComputeReport::default();
        let mut seen: HashMap<(String, String), (String, u64, i64)> = HashMap::new();
        let mut usage: HashMap<String, (ExactSum, bool)> = HashMap::new();
        each::<ConsumptionRecord>(input, |loc, rec| {
            let c = match rec {
                Ok(c) => c,
                Err(e) => return r.reject("consumption", &e),
            };
            let content =
                (c.external_sku.as_str().to_owned(), c.quantity.get().to_bits(), c.consumed_at.as_millisecond());
            match first_wins(&mut seen, (c.source.to_string(), c.event_id.to_string()), content) {
                Ok(true) => r.accept("consumption"),
                Ok(false) => return r.duplicates += 1,
                Err(why) => return r.reject("consumption", &RowIssue::row(loc, why)),
            }
            let Mapping::Part(part) = index.resolve(c.source.as_str(), c.external_sku.as_str()) else {
                return r.unmapped_events += 1;
            };
            if c.consumed_at < as_of {
                let entry = usage.entry(part).or_insert_with(|| (ExactSum::new(), false));
                entry.1 = true;
                if c.consumed_at >= from {
                    entry.0.add(c.quantity.get());
                }
            }
        })
        .await
        .map(|()| (r, usage))
    };
    let failures = async {
        let mut r = ComputeReport::default();
        let mut seen: HashMap<String, (String, String, i64, Option<i64>)> = HashMap::new();
        let mut events: HashMap<String, Vec<FailureEvent>> = HashMap::new();
        each::<FailureRecord>(input, |loc, rec| {
            let f = match rec {
                Ok(f) if !assets.contains_key(f.asset_id.as_str()) => {
                    return r.reject("failures", &RowIssue::field(loc, "asset_id", "unknown asset"));
                }
                Ok(f) => f,
                Err(e) => return r.reject("failures", &e),
            };
            let e = &f.event;
            let content = (
                f.asset_id.to_string(),
                e.event_type.as_str().to_owned(),
                e.started_at.as_millisecond(),
                e.ended_at.map(|t| t.as_millisecond()),
            );
            match first_wins(&mut seen, e.event_id.to_string(), content) {
                Ok(true) => r.accept("failures"),
                Ok(false) => return r.duplicates += 1,
                Err(why) => return r.reject("failures", &RowIssue::row(loc, why)),
            }
            events.entry(f.asset_id.to_string()).or_default().push(f.event);
        })
        .await
        .map(|()| (r, events))
    };
    let ((rc, usage), (rf, mut events)) = tokio::try_join!(consumption, failures)?;
    for r in [rc, rf] {
        report.duplicates += r.duplicates;
        report.unmapped_events += r.unmapped_events;
        for (k, n) in r.accepted {
            *report.accepted.entry(k).or_default() += n;
        }
        for (k, n) in r.rejected {
            *report.rejected.entry(k).or_default() += n;
        }
        report.issues.extend(r.issues);
    }
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
    })
    .await?;

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
        let (sum, has_history) = usage.get(id).map_or((0.0, false), |(s, h)| (s.value(), *h));
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
    for (id, asset) in &assets {
        let mut evs = events.remove(id).unwrap_or_default();
        evs.sort_by(|a, b| a.started_at.cmp(&b.started_at).then_with(|| a.event_id.cmp(&b.event_id)));
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
    Ok(report)
}
