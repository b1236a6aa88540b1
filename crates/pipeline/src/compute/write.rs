//! `compute`'s outputs: `thresholds.csv` (one row per part) and `intervals.csv` (one row per
//! asset), each row from the same core functions as the persisted recompute
//! ([`part_policy_thresholds`], [`asset_interval`], [`next_due`]).

use super::FastMap;
use super::failures::AssetLog;
use super::usage::Usage;
use crate::import::ImportError;
use cmms_core::demand::{PartDemand, daily_demand, part_policy_thresholds};
use cmms_core::formula::{FormulaSet, PmMethod};
use cmms_core::ids::{AssetGroup, SiteId};
use cmms_core::life::{DecisionParams, LifeSet, UnitInput, deciding_unit, unit_lives, weibull_cost_decisions};
use cmms_core::mapping::SkuIndex;
use cmms_core::master::{AssetRecord, PartRecord};
use cmms_core::pm::next_due;
use cmms_core::reliability::{MtbfReading, asset_interval};
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

/// The consumption of every part as `write_thresholds` takes it: the window sums, and every
/// event when a demand-driven method needs the history.
pub(super) struct PartUsage<'u> {
    pub(super) sums: &'u Usage,
    pub(super) events: Option<&'u super::usage::Events>,
}

/// Writes `path` (`thresholds.csv`): per part, `OK` with its average usage and limits, or the
/// error code; `version` names the formulas.
pub(super) fn write_thresholds(
    path: &Path,
    parts: &BTreeMap<String, PartRecord>,
    index: &SkuIndex,
    usage: &PartUsage<'_>,
    formulas: &FormulaSet,
    as_of: Timestamp,
    version: &str,
) -> Result<(), ImportError> {
    let mut out = Out::create(path)?;
    out.line(format_args!("part_id,status,avg_daily_usage,min,reorder,max,formula_version"))?;
    for (id, part) in parts {
        let at = index.position(id);
        let acc = at.and_then(|at| usage.sums.get(at)).copied().unwrap_or_default();
        let history = formulas.params_for(&part.part_class).history_days;
        let daily = match (at, usage.events) {
            (Some(at), Some(events)) => daily_demand(&events[at], as_of, history),
            _ => Vec::new(),
        };
        let units = formulas.unit_policy(&part.unit, part.pack_size, part.min_order_qty);
        let result = acc.summary().and_then(|usage| {
            part_policy_thresholds(
                formulas,
                &part.part_class,
                &part.site_id,
                part.lead_time_days,
                PartDemand { usage, daily: &daily },
                as_of,
                units,
            )
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
/// date in its site's zone and in UTC (or the code of why there is none). `logs` are per asset
/// in the order of `assets`, sorted by start; both they and `readings` are taken.
pub(super) fn write_intervals(
    path: &Path,
    assets: &BTreeMap<String, AssetRecord>,
    logs: &mut [AssetLog],
    readings: &mut HashMap<String, Vec<MtbfReading>>,
    sites: &FastMap<SiteId, TimeZone>,
    formulas: &FormulaSet,
    as_of: Timestamp,
) -> Result<(), ImportError> {
    if formulas.pm().method == PmMethod::WeibullCost {
        return write_weibull_cost_intervals(path, assets, logs, readings, sites, formulas, as_of);
    }
    let mut out = Out::create(path)?;
    out.line(format_args!(
        "asset_id,status,basis,reason,n_samples,mean_mtbf_hours,cv,interval_days,next_due_at,next_due_at_utc"
    ))?;
    for ((id, asset), log) in assets.iter().zip(logs) {
        let evs = std::mem::take(&mut log.events);
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

/// `intervals.csv` under `[pm] method = "weibull_cost"`: the `mtbf_fraction` columns (the basis
/// `WEIBULL` or `RUN_TO_FAILURE`, the reason a [`cmms_core::life::NoPmReason`] code, status
/// `NO_TIME_BASED_PM` where no interval is scheduled), then the deciding unit's component, its
/// life data, fit, `T*` and the cost rates under the recommendation and under the seed
/// (`mtbf_fraction`) interval. Each unit of an asset (the asset as a whole, or each component its
/// log names) is decided, pooled per asset group and component; the shortest recommended
/// interval decides ([`deciding_unit`]).
fn write_weibull_cost_intervals(
    path: &Path,
    assets: &BTreeMap<String, AssetRecord>,
    logs: &mut [AssetLog],
    readings: &mut HashMap<String, Vec<MtbfReading>>,
    sites: &FastMap<SiteId, TimeZone>,
    formulas: &FormulaSet,
    as_of: Timestamp,
) -> Result<(), ImportError> {
    let started = std::time::Instant::now();
    let pm = formulas.pm();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let work: Vec<_> = assets
        .iter()
        .zip(logs)
        .map(|((id, asset), log)| (id, asset, std::mem::take(log), readings.remove(id).unwrap_or_default()))
        .collect();
    // The seed intervals and lives, per asset and pure, on the same threads as the fits.
    let chunk = work.len().div_ceil(threads.max(1)).max(1);
    let rows: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .filter_map(|(id, asset, log, rs)| {
                            // The events are sorted by start, the only way either can fail.
                            let seed = asset_interval(&log.events, rs, pm, as_of, asset.fallback_interval_days).ok()?;
                            let completions = asset.last_completion_at.as_slice();
                            let units = unit_lives(&log.events, &log.components, completions, as_of).ok()?;
                            let units: Vec<(Box<str>, LifeSet)> = units
                                .into_iter()
                                .map(|(k, set)| (log.names.get(k as usize).cloned().unwrap_or_default(), set))
                                .collect();
                            let costs = formulas.pm_costs_for(&asset.asset_group).map(|c| (c.failure_cost, c.pm_cost));
                            Some((*id, *asset, seed, units, costs))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    drop(work);
    let inputs: Vec<UnitInput<'_, (&AssetGroup, &str)>> = rows
        .iter()
        .flat_map(|(_, asset, seed, units, costs)| {
            units.iter().map(move |(component, set)| UnitInput {
                pool: (&asset.asset_group, &**component),
                lives: &set.lives,
                seed_interval_days: seed.interval_days,
                manufacturer_interval_days: asset.fallback_interval_days,
                costs: *costs,
            })
        })
        .collect();
    let decisions =
        weibull_cost_decisions(&inputs, &DecisionParams::from_registry(pm), pm.keep_manufacturer_interval, threads);
    drop(inputs);
    tracing::debug!(elapsed = ?started.elapsed(), assets = rows.len(), "weibull_cost decisions");
    let mut out = Out::create(path)?;
    out.line(format_args!(
        "asset_id,status,basis,reason,n_samples,mean_mtbf_hours,cv,interval_days,next_due_at,next_due_at_utc,\
         life_component,life_source,failures,suspensions,zero_length_dropped,exp_mtbf_hours,beta,beta_lower,\
         beta_upper,alpha_hours,mean_life_hours,b10_hours,t_star_hours,seed_interval_days,cost_rate,cost_rate_seed"
    ))?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    let mut decided = decisions.as_slice();
    for (id, asset, seed, units, _) in &rows {
        let (mine, rest) = decided.split_at(units.len());
        decided = rest;
        // unit_lives gives at least one unit per asset.
        let Some(at) = deciding_unit(mine) else { continue };
        let (u, (component, set)) = (&mine[at], &units[at]);
        let zone = &sites[&asset.site_id];
        let (status, local, utc) = match u.interval_days.map(|d| next_due(asset.last_completion_at, d, zone)) {
            None => ("NO_TIME_BASED_PM", String::new(), String::new()),
            Some(Ok(d)) => ("OK", d.local_rfc3339(), d.utc_rfc3339()),
            Some(Err(e)) => (e.code(), String::new(), String::new()),
        };
        let d = &u.decision;
        let fit = d.weibull;
        let source = u.source.as_str();
        out.line(format_args!(
            "{id},{status},{},{},{},{},{},{},{local},{utc},{component},{source},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            u.basis.as_str(),
            d.reason.map_or("", |r| r.code()),
            seed.stats.n_samples,
            opt(seed.stats.mean_hours),
            opt(seed.stats.cv),
            opt(u.interval_days),
            d.exponential.failures,
            fit.map_or(String::new(), |f| f.suspensions.to_string()),
            set.zero_length_dropped,
            opt(d.exponential.mtbf_hours),
            opt(fit.map(|f| f.model.shape)),
            opt(fit.map(|f| f.shape_lr.0)),
            opt(fit.map(|f| f.shape_lr.1)),
            opt(fit.map(|f| f.model.scale)),
            opt(fit.map(|f| f.model.mean())),
            opt(fit.map(|f| f.model.b_life(0.1))),
            opt(d.optimal_age_hours),
            seed.interval_days,
            opt(d.cost_rate_recommended),
            opt(d.cost_rate_seed),
        ))?;
    }
    out.finish()
}
