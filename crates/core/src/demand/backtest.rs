//! The backtest engine (`cmms backtest`, docs/cli.md#backtest): a daily stock simulation of
//! each part under a policy recomputed at every review from the history strictly before it.
//!
//! No look-ahead by construction: at review day `r` the policy sees `daily[..r]` only
//! ([`review_thresholds`]). Between reviews, every day: arrivals first, then the day's demand
//! (served from stock on hand; the rest is lost, or back-ordered with `backorders`), then
//! continuous review: when the inventory position (on hand + on order) is at or below the reorder
//! point, an order up to max is placed and arrives `ceil(lead time)` days later. Each part starts
//! at its first policy's max with nothing on order. Pure: the caller splits parts over threads
//! and merges the [`Tally`]s.

use super::{DemandClass, PolicyWhy, buckets, classify, policy_thresholds};
use crate::formula::{FormulaSet, SeasonalWindow, ThresholdMethod, ThresholdParams};
use crate::ids::PartClass;
use crate::quantity::Quantity;
use crate::thresholds::{Limits, ThresholdError, Thresholds, UsageSummary};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// One part's demand for the backtest: `daily[t]` is demand on day `t` of the replay.
#[derive(Debug, Clone, PartialEq)]
pub struct SimPart {
    /// The part's class (for per-class parameters and results).
    pub part_class: PartClass,
    /// Supplier lead time, days.
    pub lead_time_days: f64,
    /// The first day with consumption (`daily.len()` when none).
    pub first_day: usize,
    /// Demand per day.
    pub daily: Vec<f64>,
}

/// How the replay runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Review days, ascending: the policy is recomputed at each; the simulation runs from the
    /// first to `end_day`.
    pub reviews: Vec<usize>,
    /// The day after the last simulated day.
    pub end_day: usize,
    /// Unmet demand waits for stock (true) or is lost (false).
    pub backorders: bool,
    /// Reorder point and max rounded up to whole units before the simulation uses them.
    pub whole_units: bool,
    /// Holding cost per unit and year.
    pub holding_cost: f64,
    /// Cost per order.
    pub ordering_cost: f64,
}

/// A policy under test: the registry's threshold parameters, per part class.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySpec {
    /// Name in the report (`seed`, `sba`, …).
    pub name: String,
    /// Parameters of classes without overrides.
    pub global: ThresholdParams,
    /// Parameters of classes with overrides.
    pub by_class: BTreeMap<PartClass, ThresholdParams>,
}

/// The knob of a policy the frontier turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Knob {
    /// `safety_multiplier` (the seed formula).
    SafetyMultiplier,
    /// `service_level` (the demand-driven methods).
    ServiceLevel,
}

impl PolicySpec {
    /// The policy of a formula version, its method replaced by `method` when given.
    pub fn from_formulas(name: &str, formulas: &FormulaSet, method: Option<ThresholdMethod>) -> Self {
        let with = |mut p: ThresholdParams| {
            if let Some(m) = method {
                p.method = m;
            }
            p
        };
        Self {
            name: name.to_owned(),
            global: with(formulas.params().thresholds),
            by_class: formulas.params().overrides.keys().map(|c| (c.clone(), with(formulas.params_for(c)))).collect(),
        }
    }

    /// The parameters of a class.
    pub fn params_for(&self, class: &PartClass) -> &ThresholdParams {
        self.by_class.get(class).unwrap_or(&self.global)
    }

    /// The knob that moves this policy's stock: the safety multiplier of the seed formula, the
    /// service level of the others (by the global method).
    pub fn knob(&self) -> Knob {
        if self.global.method == ThresholdMethod::MovingAverage { Knob::SafetyMultiplier } else { Knob::ServiceLevel }
    }

    /// The same policy with its knob set to `value` for every class.
    pub fn with_knob(&self, value: f64) -> Self {
        let knob = self.knob();
        let set = |p: &ThresholdParams| {
            let mut p = *p;
            match knob {
                Knob::SafetyMultiplier => p.safety_multiplier = value,
                Knob::ServiceLevel => p.service_level = value,
            }
            p
        };
        Self {
            name: self.name.clone(),
            global: set(&self.global),
            by_class: self.by_class.iter().map(|(c, p)| (c.clone(), set(p))).collect(),
        }
    }

    /// The knob's value (global).
    pub fn knob_value(&self) -> f64 {
        match self.knob() {
            Knob::SafetyMultiplier => self.global.safety_multiplier,
            Knob::ServiceLevel => self.global.service_level,
        }
    }
}

/// Counters of a replay, additive over parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tally {
    /// Parts simulated.
    pub parts: u64,
    /// Part-days simulated.
    pub part_days: u64,
    /// Units demanded.
    pub demanded: f64,
    /// Units served from stock on the day of demand.
    pub served: f64,
    /// Sum over part-days of the stock on hand at the end of the day.
    pub on_hand_days: f64,
    /// Orders placed.
    pub orders: u64,
    /// Completed order cycles (from one order to the next).
    pub cycles: u64,
    /// Completed order cycles without unmet demand.
    pub cycles_without_stockout: u64,
}

impl Tally {
    /// Adds another tally.
    pub fn merge(&mut self, o: &Tally) {
        self.parts += o.parts;
        self.part_days += o.part_days;
        self.demanded += o.demanded;
        self.served += o.served;
        self.on_hand_days += o.on_hand_days;
        self.orders += o.orders;
        self.cycles += o.cycles;
        self.cycles_without_stockout += o.cycles_without_stockout;
    }

    /// The figures of the report.
    pub fn summary(&self, opts: &Options) -> Summary {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 1.0 };
        let part_years = self.part_days as f64 / 365.0;
        let parts = self.parts.max(1) as f64;
        let days = if self.parts == 0 { 1.0 } else { self.part_days as f64 / parts };
        let avg_on_hand = self.on_hand_days / days / parts;
        let orders_per_part_year = if part_years > 0.0 { self.orders as f64 / part_years } else { 0.0 };
        Summary {
            parts: self.parts,
            fill_rate: ratio(self.served, self.demanded),
            cycle_service_level: ratio(self.cycles_without_stockout as f64, self.cycles as f64),
            avg_on_hand,
            orders_per_part_year,
            cost_per_part_year: opts.holding_cost * avg_on_hand + opts.ordering_cost * orders_per_part_year,
            demanded: self.demanded,
            served: self.served,
        }
    }
}

/// The figures of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Parts.
    pub parts: u64,
    /// Units served from stock / units demanded (1 when nothing was demanded).
    pub fill_rate: f64,
    /// Order cycles without unmet demand / order cycles (1 when there were none).
    pub cycle_service_level: f64,
    /// Average stock on hand per part, units.
    pub avg_on_hand: f64,
    /// Orders per part and year.
    pub orders_per_part_year: f64,
    /// `holding_cost × avg_on_hand + ordering_cost × orders_per_part_year`.
    pub cost_per_part_year: f64,
    /// Units demanded.
    pub demanded: f64,
    /// Units served.
    pub served: f64,
}

/// A policy's replay: totals, per part class, per demand class (at the first review) and the
/// methods chosen at the reviews.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PolicyRun {
    /// All parts.
    pub total: Tally,
    /// Per part class.
    pub by_part_class: BTreeMap<String, Tally>,
    /// Per demand class of the history at the first review.
    pub by_demand_class: BTreeMap<String, Tally>,
    /// Reviews per method used (`auto` shows its choices here).
    pub methods: BTreeMap<String, u64>,
}

impl PolicyRun {
    /// Adds another run (of other parts).
    pub fn merge(&mut self, o: &PolicyRun) {
        self.total.merge(&o.total);
        for (k, t) in &o.by_part_class {
            self.by_part_class.entry(k.clone()).or_default().merge(t);
        }
        for (k, t) in &o.by_demand_class {
            self.by_demand_class.entry(k.clone()).or_default().merge(t);
        }
        for (k, n) in &o.methods {
            *self.methods.entry(k.clone()).or_default() += n;
        }
    }
}

const NO_WINDOWS: [SeasonalWindow; 0] = [];

/// The thresholds of `part` at review day `review` from `daily[..review]` only: the window total
/// of the last `window_days` days for the seed formula, the history from the later of the part's
/// first consumption and `history_days` before the review for the others. No seasonal windows.
pub fn review_thresholds(
    part: &SimPart,
    params: &ThresholdParams,
    review: usize,
) -> Result<Thresholds, ThresholdError> {
    let review = review.min(part.daily.len());
    let seen = &part.daily[..review];
    let window = &seen[review.saturating_sub(params.window_days as usize)..];
    let micros: i128 = window.iter().map(|&d| (d * 1e6).round() as i128).sum();
    let usage =
        UsageSummary { consumed_in_window: Quantity::from_micros(micros), has_history: part.first_day < review };
    let from = part.first_day.max(review.saturating_sub(params.history_days as usize)).min(review);
    policy_thresholds(params, usage, &seen[from..], part.lead_time_days, jiff::Timestamp::UNIX_EPOCH, &NO_WINDOWS)
}

/// Replays one part under `policy` and adds it to `run`.
pub fn simulate_part(part: &SimPart, policy: &PolicySpec, opts: &Options, run: &mut PolicyRun) {
    let params = policy.params_for(&part.part_class);
    let end = opts.end_day.min(part.daily.len());
    let Some(&start) = opts.reviews.first() else { return };
    if start >= end {
        return;
    }
    let lead = (part.lead_time_days.ceil().max(1.0)) as usize;
    let mut t = Tally { parts: 1, ..Tally::default() };
    let (mut on_hand, mut on_order) = (0.0f64, 0.0f64);
    let mut pipeline: VecDeque<(usize, f64)> = VecDeque::new();
    let (mut ordered_before, mut short_in_cycle) = (false, false);
    let first_seen = part.first_day.max(start.saturating_sub(params.history_days as usize)).min(start);
    let class = if part.first_day < start {
        classify(&buckets(&part.daily[first_seen..start], params.period_days)).class
    } else {
        DemandClass::NoDemand
    };
    for (i, &review) in opts.reviews.iter().enumerate() {
        if review >= end {
            break;
        }
        let next = opts.reviews.get(i + 1).copied().unwrap_or(end).min(end);
        let (mut limits, why) = match review_thresholds(part, params, review) {
            Ok(th) => (th.limits, th.policy),
            Err(_) => (Limits { min: 0.0, reorder: 0.0, max: 0.0 }, None),
        };
        let method = why.map_or(
            if params.method == ThresholdMethod::MovingAverage { "moving_average" } else { "none" },
            |w: PolicyWhy| w.method.as_str(),
        );
        *run.methods.entry(method.to_owned()).or_default() += 1;
        if opts.whole_units {
            limits.reorder = limits.reorder.ceil();
            limits.max = limits.max.ceil().max(limits.reorder);
        }
        if i == 0 {
            on_hand = limits.max;
        }
        for day in review..next {
            while let Some(&(at, q)) = pipeline.front() {
                if at > day {
                    break;
                }
                on_hand += q;
                on_order -= q;
                pipeline.pop_front();
            }
            let d = part.daily[day];
            let served = on_hand.max(0.0).min(d);
            t.demanded += d;
            t.served += served;
            if served + 1e-9 < d {
                short_in_cycle = true;
            }
            on_hand -= if opts.backorders { d } else { served };
            t.on_hand_days += on_hand.max(0.0);
            t.part_days += 1;
            let position = on_hand + on_order;
            if limits.max > 0.0 && position <= limits.reorder && limits.max - position > 1e-9 {
                let q = limits.max - position;
                pipeline.push_back((day + lead, q));
                on_order += q;
                t.orders += 1;
                if ordered_before {
                    t.cycles += 1;
                    t.cycles_without_stockout += u64::from(!short_in_cycle);
                }
                ordered_before = true;
                short_in_cycle = false;
            }
        }
    }
    run.total.merge(&t);
    run.by_part_class.entry(part.part_class.as_str().to_owned()).or_default().merge(&t);
    run.by_demand_class.entry(class.as_str().to_owned()).or_default().merge(&t);
}

/// Replays every part under `policy`.
pub fn simulate(parts: &[SimPart], policy: &PolicySpec, opts: &Options) -> PolicyRun {
    let mut run = PolicyRun::default();
    for p in parts {
        simulate_part(p, policy, opts, &mut run);
    }
    run
}

/// A point of the frontier: the knob value found and the replay's figures there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrontierPoint {
    /// The knob's value.
    pub knob_value: f64,
    /// The figures at that value.
    pub summary: Summary,
    /// Whether the target was reached inside the knob's range (else the nearest end).
    pub reached: bool,
}

/// The knob's search range: service level in [0.05, 0.9995], multiplier in [0.05, 10].
pub fn knob_range(knob: Knob) -> (f64, f64) {
    match knob {
        Knob::ServiceLevel => (0.05, 0.9995),
        Knob::SafetyMultiplier => (0.05, 10.0),
    }
}

/// The knob value in `[lo, hi]` where `metric` (increasing in the knob) reaches `target`, by
/// `iterations` bisection steps over `eval`; the nearer end when the target lies outside.
pub fn match_knob(
    eval: &dyn Fn(f64) -> Summary,
    (lo, hi): (f64, f64),
    metric: fn(&Summary) -> f64,
    target: f64,
    iterations: u32,
) -> FrontierPoint {
    let (s_lo, s_hi) = (eval(lo), eval(hi));
    if metric(&s_lo) >= target {
        return FrontierPoint { knob_value: lo, summary: s_lo, reached: metric(&s_lo) == target };
    }
    if metric(&s_hi) < target {
        return FrontierPoint { knob_value: hi, summary: s_hi, reached: false };
    }
    let (mut a, mut b, mut best) = (lo, hi, (hi, s_hi));
    for _ in 0..iterations {
        let mid = 0.5 * (a + b);
        let s = eval(mid);
        if metric(&s) >= target {
            b = mid;
            best = (mid, s);
        } else {
            a = mid;
        }
    }
    FrontierPoint { knob_value: best.0, summary: best.1, reached: true }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn part(daily: Vec<f64>, lead: f64) -> SimPart {
        let first_day = daily.iter().position(|&d| d > 0.0).unwrap_or(daily.len());
        SimPart { part_class: PartClass::parse("C").unwrap(), lead_time_days: lead, first_day, daily }
    }

    fn opts(reviews: Vec<usize>, end_day: usize, backorders: bool) -> Options {
        Options { reviews, end_day, backorders, whole_units: false, holding_cost: 1.0, ordering_cost: 10.0 }
    }

    fn policy(method: ThresholdMethod) -> PolicySpec {
        PolicySpec::from_formulas("p", &FormulaSet::defaults(), Some(method))
    }

    #[test]
    fn replay_by_hand() {
        // 90 days of 1 unit/day of history, then 10 days simulated with a 2-day lead time.
        // Seed policy: avg 1, min = 1·2·1.5 = 3, reorder 3.75, max r(5.625) = 5.62 (tie to even).
        let mut daily = vec![1.0; 100];
        daily[95] = 4.0;
        let p = part(daily, 2.0);
        let o = opts(vec![90], 100, false);
        let run = simulate(std::slice::from_ref(&p), &policy(ThresholdMethod::MovingAverage), &o);
        let t = &run.total;
        // Start with 5.62. Day 90: 4.62. Day 91: 3.62 ≤ 3.75 → order 2 (arrives day 93).
        // Day 92: 2.62; day 93: +2 − 1 = 3.62 → order 2 (arrives 95); day 94: 2.62;
        // day 95: +2 = 4.62, demand 4 → 0.62 → order 5 (arrives 97); day 96: 0.38 lost;
        // day 97: +5 − 1 = 4, no order; day 98: 3 → order 2.62 (arrives 100); day 99: 2.
        assert_eq!(t.demanded, 13.0);
        assert!((t.served - 12.62).abs() < 1e-9, "{t:?}");
        assert_eq!(t.orders, 4);
        // Cycles close at the 2nd, 3rd and 4th order; the one from day 95 to 98 ran short.
        assert_eq!((t.cycles, t.cycles_without_stockout), (3, 2));
        let on_hand = 4.62 + 3.62 + 2.62 + 3.62 + 2.62 + 0.62 + 0.0 + 4.0 + 3.0 + 2.0;
        assert!((t.on_hand_days - on_hand).abs() < 1e-9, "{t:?}");
        let s = t.summary(&o);
        assert!((s.avg_on_hand - on_hand / 10.0).abs() < 1e-9);
        assert!((s.orders_per_part_year - 4.0 / (10.0 / 365.0)).abs() < 1e-9);
        assert!((s.cost_per_part_year - (s.avg_on_hand + 10.0 * s.orders_per_part_year)).abs() < 1e-9);
        // With backorders day 96 owes 0.38 (position 4.62: no order), paid from the day-97
        // arrival: 3.62 → order; day 99: arrival, 3.62 → order. Same units served, 5 orders.
        let b = simulate(&[p], &policy(ThresholdMethod::MovingAverage), &opts(vec![90], 100, true));
        assert!((b.total.served - 12.62).abs() < 1e-9);
        assert_eq!(b.total.orders, 5);
    }

    #[test]
    fn frontier_bisection_finds_the_target() {
        let eval = |x: f64| Summary {
            parts: 1,
            fill_rate: x / 10.0,
            cycle_service_level: 1.0,
            avg_on_hand: x,
            orders_per_part_year: 1.0,
            cost_per_part_year: 0.0,
            demanded: 1.0,
            served: 1.0,
        };
        let p = match_knob(&eval, (0.0, 10.0), |s| s.avg_on_hand, 2.5, 30);
        assert!((p.knob_value - 2.5).abs() < 1e-6 && p.reached);
        let out = match_knob(&eval, (0.0, 10.0), |s| s.avg_on_hand, 20.0, 30);
        assert!(!out.reached && out.knob_value == 10.0);
    }

    fn method() -> impl Strategy<Value = ThresholdMethod> {
        prop::sample::select(vec![
            ThresholdMethod::MovingAverage,
            ThresholdMethod::Sba,
            ThresholdMethod::Tsb,
            ThresholdMethod::Empirical,
            ThresholdMethod::Auto,
        ])
    }

    proptest! {
        #[test]
        fn no_look_ahead(
            daily in prop::collection::vec(prop_oneof![3 => Just(0u32), 1 => 1u32..30].prop_map(f64::from), 60..300),
            cut in 1usize..300, noise in prop::collection::vec(0u32..50, 300), m in method(),
        ) {
            let cut = cut.min(daily.len());
            let a = part(daily.clone(), 14.0);
            let mut changed = daily.clone();
            for (d, n) in changed[cut..].iter_mut().zip(&noise) {
                *d = f64::from(*n);
            }
            // The part's first consumption is found in the whole series, as the CLI does.
            let b = part(changed, 14.0);
            let p = ThresholdParams { method: m, ..ThresholdParams::default() };
            prop_assert_eq!(review_thresholds(&a, &p, cut), review_thresholds(&b, &p, cut));
        }
    }
}
