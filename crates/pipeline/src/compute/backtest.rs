//! `cmms backtest` on a folder of import files: the same readers and row rules as `compute`
//! (sites, parts, SKU map, consumption; first delivery wins), each part's accepted consumption
//! turned into demand per UTC day, and the core's replay ([`cmms_core::demand::backtest`]) run
//! for every policy on all cores, then the frontier. Blocking: call it off the async runtime.

use super::{ComputeReport, input_file, read_parts, usage};
use crate::import::ImportError;
use cmms_core::demand::backtest::{
    self as engine, FrontierPoint, Knob, Options, PolicyRun, PolicySpec, SimPart, Summary, knob_range, match_knob,
};
use cmms_core::feeds::ConsumptionRecord;
use cmms_core::formula::{FormulaSet, ThresholdMethod};
use cmms_core::ids::PartClass;
use cmms_core::time::TimeWindow;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use std::collections::BTreeMap;
use std::path::Path;

/// Seconds per day of the replay (UTC days).
const DAY_SECS: i64 = 86_400;

/// How often the policies are recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// On the first day of every calendar month (UTC).
    Monthly,
    /// Every N days from the start.
    Days(u32),
}

/// What to replay and how.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestSettings {
    /// First review (its UTC day); default: the first review day at least `burn_in_days` after
    /// the first consumption.
    pub start: Option<Date>,
    /// The day after the last simulated day; default: the day after the last consumption.
    pub end: Option<Date>,
    /// History before the first review when `start` is not given, days.
    pub burn_in_days: u32,
    /// Review cadence.
    pub review: Review,
    /// Unmet demand waits (true) or is lost (false).
    pub backorders: bool,
    /// Reorder point and max rounded up to whole units in the simulation.
    pub whole_units: bool,
    /// Holding cost per unit and year (cost figure).
    pub holding_cost: f64,
    /// Cost per order (cost figure).
    pub ordering_cost: f64,
    /// Whether to search the frontier.
    pub frontier: bool,
    /// Policies by name: the formula document as given (`None`) or with its method replaced.
    pub policies: Vec<(String, Option<ThresholdMethod>)>,
}

/// One policy's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PolicyResult {
    /// Its name.
    pub name: String,
    /// The registry method (global).
    pub method: &'static str,
    /// The knob the frontier turns.
    pub knob: Knob,
    /// The knob's value in the formula document.
    pub knob_value: f64,
    /// All parts.
    pub summary: Summary,
    /// Per part class.
    pub by_part_class: BTreeMap<String, Summary>,
    /// Per demand class of the history at the first review.
    pub by_demand_class: BTreeMap<String, Summary>,
    /// Reviews per method used (`auto`'s choices).
    pub methods: BTreeMap<String, u64>,
}

/// A policy against the first (seed) policy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FrontierResult {
    /// The policy.
    pub policy: String,
    /// Its knob.
    pub knob: Knob,
    /// The knob at which it holds the seed's average stock, and its fill rate there.
    pub at_seed_stock: FrontierPoint,
    /// The knob at which it reaches the seed's fill rate, and the stock it needs there.
    pub at_seed_fill_rate: FrontierPoint,
    /// Every knob value the two searches replayed, ascending: the policy's fill-rate / stock
    /// curve (what the dashboard plots).
    pub curve: Vec<CurvePoint>,
}

/// A replayed point of a policy's curve.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CurvePoint {
    /// The knob's value.
    pub knob_value: f64,
    /// Fill rate there.
    pub fill_rate: f64,
    /// Average stock on hand per part there.
    pub avg_on_hand: f64,
    /// Orders per part and year there.
    pub orders_per_part_year: f64,
}

/// What `cmms backtest` found.
#[derive(Debug, serde::Serialize)]
pub struct BacktestReport {
    /// Rows read (accepted, rejected, duplicates, unmapped), as `compute` counts them.
    pub input: ComputeReport,
    /// Parts replayed.
    pub parts: usize,
    /// First day of data (UTC).
    pub first_day: Option<Date>,
    /// First review.
    pub start: Option<Date>,
    /// Day after the last simulated day.
    pub end: Option<Date>,
    /// Reviews.
    pub reviews: usize,
    /// Days simulated per part.
    pub simulated_days: usize,
    /// Review cadence.
    pub review: Review,
    /// Lost sales or backorders.
    pub backorders: bool,
    /// Whole units in the simulation.
    pub whole_units: bool,
    /// Holding cost per unit and year.
    pub holding_cost: f64,
    /// Cost per order.
    pub ordering_cost: f64,
    /// Per policy.
    pub policies: Vec<PolicyResult>,
    /// Every other policy against the first.
    pub frontier: Vec<FrontierResult>,
    /// Time spent replaying the policies as given, milliseconds.
    pub replay_ms: u128,
    /// Time spent on the frontier, milliseconds.
    pub frontier_ms: u128,
}

fn epoch_day(t: Timestamp) -> i64 {
    t.as_second().div_euclid(DAY_SECS)
}

fn date_of(day: i64) -> Option<Date> {
    Timestamp::from_second(day * DAY_SECS).ok().map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
}

fn day_of(date: Date) -> Option<i64> {
    date.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| epoch_day(z.timestamp()))
}

/// The review days (epoch days) from `start` to before `end`.
fn review_days(start: Date, end: i64, review: Review) -> Vec<i64> {
    let mut out = Vec::new();
    let mut d = start;
    while let Some(day) = day_of(d).filter(|&day| day < end) {
        out.push(day);
        let next = match review {
            Review::Monthly => d.first_of_month().checked_add(1.month()).ok(),
            Review::Days(n) => d.checked_add(i64::from(n.max(1)).days()).ok(),
        };
        match next {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

/// One part as the replay reads it: its class, lead time and consumption as `(epoch ms,
/// micro-units)`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPart {
    /// The part's class.
    pub part_class: PartClass,
    /// Supplier lead time, days.
    pub lead_time_days: f64,
    /// Its accepted consumption, in any order.
    pub events: Vec<(i64, i128)>,
}

/// Replays every part of the folder `input` under each policy of `settings` built from
/// `formulas`. Rows with an instant outside `window` are rejected rows, as in `compute`.
pub fn backtest_folder(
    input: &Path,
    formulas: &FormulaSet,
    settings: &BacktestSettings,
    window: TimeWindow,
) -> Result<BacktestReport, ImportError> {
    let mut report = ComputeReport::default();
    let (_, parts, index) = read_parts(input, &window, &mut report)?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let (tally, events) =
        usage::consumption_events(input_file::<ConsumptionRecord>(input).as_deref(), cores, &index, &window)?;
    report.add("consumption", tally);
    report.parts = parts.len();
    let history = parts
        .iter()
        .map(|(id, p)| HistoryPart {
            part_class: p.part_class.clone(),
            lead_time_days: p.lead_time_days,
            events: index
                .position(id)
                .and_then(|at| events.get(at))
                .map(|evs| evs.iter().map(|e| (e.at.as_millisecond(), i128::from(e.quantity.micros()))).collect())
                .unwrap_or_default(),
        })
        .collect();
    Ok(backtest_parts(history, formulas, settings, report))
}

/// The stored history as the replay reads it: every part of the store with its class, lead time
/// and every mapped, non-voided consumption event before `as_of_ms`.
pub async fn stored_history(store: &cmms_store::Store, as_of_ms: i64) -> Result<Vec<HistoryPart>, BacktestError> {
    let inputs = store.threshold_inputs(as_of_ms, as_of_ms).await?;
    let mut history = store.consumption_history(i64::MIN, as_of_ms).await?;
    inputs
        .into_iter()
        .map(|p| {
            let part_class = PartClass::parse(&p.part_class)
                .map_err(|_| BacktestError::BadClass { part_id: p.part_id.clone(), class: p.part_class.clone() })?;
            let events = history
                .remove(&p.part_id)
                .map(|h| {
                    h.events
                        .into_iter()
                        .map(|(at, q)| {
                            (at, cmms_core::quantity::Quantity::new(q).map_or(0, |q| i128::from(q.micros())))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(HistoryPart { part_class, lead_time_days: p.lead_time_days, events })
        })
        .collect()
}

/// Why the stored history could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] cmms_store::StoreError),
    /// A stored part class is not an identifier (the import refuses such rows).
    #[error("part {part_id}: stored part class {class:?} is not valid")]
    BadClass {
        /// The part.
        part_id: String,
        /// Its class.
        class: String,
    },
}

/// Replays `parts` under each policy of `settings` built from `formulas`; `input` is what was
/// read (rows accepted and rejected), reported as it is. Blocking (all cores).
pub fn backtest_parts(
    parts: Vec<HistoryPart>,
    formulas: &FormulaSet,
    settings: &BacktestSettings,
    report: ComputeReport,
) -> BacktestReport {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let day = |ms: i64| ms.div_euclid(DAY_SECS * 1000);
    let all = parts.iter().flat_map(|p| p.events.iter().map(|e| day(e.0)));
    let (first, last) = all.fold((i64::MAX, i64::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
    let empty = BacktestReport {
        input: ComputeReport::default(),
        parts: parts.len(),
        first_day: None,
        start: None,
        end: None,
        reviews: 0,
        simulated_days: 0,
        review: settings.review,
        backorders: settings.backorders,
        whole_units: settings.whole_units,
        holding_cost: settings.holding_cost,
        ordering_cost: settings.ordering_cost,
        policies: Vec::new(),
        frontier: Vec::new(),
        replay_ms: 0,
        frontier_ms: 0,
    };
    if first > last {
        return BacktestReport { input: report, ..empty };
    }
    let end = settings.end.and_then(day_of).unwrap_or(last + 1);
    let start = match settings.start {
        Some(d) => d,
        None => {
            let earliest = date_of(first + i64::from(settings.burn_in_days)).unwrap_or(Date::MIN);
            match settings.review {
                Review::Monthly if earliest.day() != 1 => {
                    earliest.first_of_month().checked_add(1.month()).unwrap_or(earliest)
                }
                _ => earliest,
            }
        }
    };
    let reviews = review_days(start, end, settings.review);
    let origin = first.min(reviews.first().copied().unwrap_or(first));
    let span = usize::try_from(end - origin).unwrap_or(0);
    let sim_parts: Vec<SimPart> = parts
        .into_iter()
        .map(|p| {
            let mut daily = vec![0.0; span];
            let mut micros = vec![0i128; span];
            for &(at, q) in &p.events {
                let d = day(at) - origin;
                if let Some(m) = usize::try_from(d).ok().and_then(|d| micros.get_mut(d)) {
                    *m += q;
                }
            }
            for (d, m) in daily.iter_mut().zip(&micros) {
                *d = cmms_core::quantity::Quantity::from_micros(*m).get();
            }
            let first_day = daily.iter().position(|&d| d > 0.0).unwrap_or(span);
            SimPart { part_class: p.part_class, lead_time_days: p.lead_time_days, first_day, daily }
        })
        .collect();
    let opts = Options {
        reviews: reviews.iter().filter_map(|&d| usize::try_from(d - origin).ok()).collect(),
        end_day: span,
        backorders: settings.backorders,
        whole_units: settings.whole_units,
        holding_cost: settings.holding_cost,
        ordering_cost: settings.ordering_cost,
    };
    let specs: Vec<PolicySpec> =
        settings.policies.iter().map(|(name, m)| PolicySpec::from_formulas(name, formulas, *m)).collect();
    let replay = |spec: &PolicySpec| run_parallel(&sim_parts, spec, &opts, cores);
    let started = std::time::Instant::now();
    let runs: Vec<PolicyRun> = specs.iter().map(&replay).collect();
    let replay_ms = started.elapsed().as_millis();
    let summarise =
        |m: &BTreeMap<String, engine::Tally>| m.iter().map(|(k, t)| (k.clone(), t.summary(&opts))).collect();
    let policies: Vec<PolicyResult> = specs
        .iter()
        .zip(&runs)
        .map(|(spec, run)| PolicyResult {
            name: spec.name.clone(),
            method: spec.global.method.as_str(),
            knob: spec.knob(),
            knob_value: spec.knob_value(),
            summary: run.total.summary(&opts),
            by_part_class: summarise(&run.by_part_class),
            by_demand_class: summarise(&run.by_demand_class),
            methods: run.methods.clone(),
        })
        .collect();
    let started = std::time::Instant::now();
    let mut frontier = Vec::new();
    if settings.frontier
        && let Some(seed) = policies.first()
    {
        for spec in specs.iter().skip(1) {
            let seen = std::cell::RefCell::new(Vec::new());
            let eval = |x: f64| {
                let s = replay(&spec.with_knob(x)).total.summary(&opts);
                seen.borrow_mut().push(CurvePoint {
                    knob_value: x,
                    fill_rate: s.fill_rate,
                    avg_on_hand: s.avg_on_hand,
                    orders_per_part_year: s.orders_per_part_year,
                });
                s
            };
            let range = knob_range(spec.knob());
            let at_seed_stock = match_knob(&eval, range, |s| s.avg_on_hand, seed.summary.avg_on_hand, 12);
            let at_seed_fill_rate = match_knob(&eval, range, |s| s.fill_rate, seed.summary.fill_rate, 12);
            let mut curve = seen.into_inner();
            curve.sort_by(|a, b| a.knob_value.total_cmp(&b.knob_value));
            curve.dedup_by(|a, b| a.knob_value == b.knob_value);
            frontier.push(FrontierResult {
                policy: spec.name.clone(),
                knob: spec.knob(),
                at_seed_stock,
                at_seed_fill_rate,
                curve,
            });
        }
    }
    BacktestReport {
        input: report,
        first_day: date_of(origin),
        start: reviews.first().and_then(|&d| date_of(d)),
        end: date_of(end),
        reviews: reviews.len(),
        simulated_days: reviews.first().map_or(0, |&s| usize::try_from(end - s).unwrap_or(0)),
        policies,
        frontier,
        replay_ms,
        frontier_ms: started.elapsed().as_millis(),
        ..empty
    }
}

/// One policy over all parts, the parts split over `threads` threads.
fn run_parallel(parts: &[SimPart], spec: &PolicySpec, opts: &Options, threads: usize) -> PolicyRun {
    let chunk = parts.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = parts.chunks(chunk).map(|c| s.spawn(move || engine::simulate(c, spec, opts))).collect();
        handles.into_iter().fold(PolicyRun::default(), |mut all, h| {
            all.merge(&crate::import::reader::join(h));
            all
        })
    })
}
