//! `compute`'s outputs: `thresholds.csv` (one row per part) and `intervals.csv` (one row per
//! asset), each row from the same core functions as the persisted recompute
//! ([`part_thresholds`], [`asset_interval`], [`next_due`]).

use super::FastMap;
use super::usage::Usage;
use crate::import::ImportError;
use cmms_core::formula::FormulaSet;
use cmms_core::ids::SiteId;
use cmms_core::mapping::SkuIndex;
use cmms_core::master::{AssetRecord, PartRecord};
use cmms_core::pm::next_due;
use cmms_core::reliability::{FailureEvent, MtbfReading, asset_interval};
use cmms_core::thresholds::part_thresholds;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufWriter, Write};
use std::path::Path;

/// A buffered CSV output and its path (for the error).
struct Out<'p> {
    path: &'p Path,
    file: BufWriter<std::fs::File>,
}

impl<'p> Out<'p> {
    fn create(path: &'p Path) -> Result<Self, ImportError> {
        let file =
            std::fs::File::create(path).map_err(|source| ImportError::Io { path: path.into(), cause: source })?;
        Ok(Self { path, file: BufWriter::new(file) })
    }

    fn line(&mut self, args: std::fmt::Arguments<'_>) -> Result<(), ImportError> {
        writeln!(self.file, "{args}").map_err(|source| ImportError::Io { path: self.path.into(), cause: source })
    }

    fn finish(mut self) -> Result<(), ImportError> {
        self.file.flush().map_err(|source| ImportError::Io { path: self.path.into(), cause: source })
    }
}

/// Writes `path` (`thresholds.csv`): per part, `OK` with its average usage and limits, or the
/// error code; `version` names the formulas.
pub(super) fn write_thresholds(
    path: &Path,
    parts: &BTreeMap<String, PartRecord>,
    index: &SkuIndex,
    usage: &Usage,
    formulas: &FormulaSet,
    as_of: Timestamp,
    version: &str,
) -> Result<(), ImportError> {
    let mut out = Out::create(path)?;
    out.line(format_args!("part_id,status,avg_daily_usage,min,reorder,max,formula_version"))?;
    for (id, part) in parts {
        let acc = index.position(id).and_then(|at| usage.get(at)).copied().unwrap_or_default();
        let result = acc.summary().and_then(|usage| {
            part_thresholds(formulas, &part.part_class, &part.site_id, part.lead_time_days, usage, as_of)
        });
        match result {
            Ok((_, t)) => out.line(format_args!(
                "{id},OK,{},{},{},{},{version}",
                t.avg_daily_usage, t.limits.min, t.limits.reorder, t.limits.max
            ))?,
            Err(e) => out.line(format_args!("{id},{},,,,,{version}", e.code()))?,
        }
    }
    out.finish()
}

/// Writes `path` (`intervals.csv`): per asset, its MTBF statistics, PM interval and next due
/// date in its site's zone and in UTC (or the code of why there is none). `events` are per asset
/// in the order of `assets`, sorted by start; both they and `readings` are taken.
pub(super) fn write_intervals(
    path: &Path,
    assets: &BTreeMap<String, AssetRecord>,
    events: &mut [Vec<FailureEvent>],
    readings: &mut HashMap<String, Vec<MtbfReading>>,
    sites: &FastMap<SiteId, TimeZone>,
    formulas: &FormulaSet,
    as_of: Timestamp,
) -> Result<(), ImportError> {
    let mut out = Out::create(path)?;
    out.line(format_args!(
        "asset_id,status,basis,reason,n_samples,mean_mtbf_hours,cv,interval_days,next_due_at,next_due_at_utc"
    ))?;
    for ((id, asset), evs) in assets.iter().zip(events) {
        let evs = std::mem::take(evs);
        let rs = readings.remove(id).unwrap_or_default();
        // The events are sorted by start, the only way this can fail.
        let Ok(interval) = asset_interval(&evs, &rs, formulas.pm(), as_of, asset.fallback_interval_days) else {
            continue;
        };
        let stats = interval.stats;
        let zone = &sites[&asset.site_id];
        let (status, local, utc) = match next_due(asset.last_completion_at, interval.interval_days, zone) {
            Ok(d) => ("OK", d.local_rfc3339(), d.utc_rfc3339()),
            Err(e) => (e.code(), String::new(), String::new()),
        };
        let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
        out.line(format_args!(
            "{id},{status},{},{},{},{},{},{},{local},{utc}",
            interval.basis.as_str(),
            interval.reason.map_or("", |r| r.code()),
            stats.n_samples,
            opt(stats.mean_hours),
            opt(stats.cv),
            interval.interval_days
        ))?;
    }
    out.finish()
}
