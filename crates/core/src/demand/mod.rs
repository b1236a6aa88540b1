//! Demand-driven stock policies (docs/contract.md#demand-policies): the Syntetos–Boylan–Croston
//! demand classes, the SBA and TSB forecasts of intermittent demand, the empirical lead-time
//! demand distribution, and the service-level reorder point and order quantity built on them.
//!
//! Everything here is a pure function of a part's daily demand (oldest first, the last day
//! ending at the computation instant), its lead time and the registry's [`ThresholdParams`]. The
//! result is unrounded; [`policy_thresholds`] rounds it like the seed formula and records why the
//! part got its numbers ([`PolicyWhy`]). The backtest that replays these policies over a history
//! is [`backtest`].

pub mod backtest;
pub mod normal;

use crate::formula::{FormulaSet, ThresholdMethod, ThresholdParams};
use crate::ids::{PartClass, SiteId};
use crate::quantity::Quantity;
use crate::thresholds::{
    Consumption, Limits, ThresholdError, Thresholds, UsageSummary, compute, part_thresholds, round_decimals,
};
use crate::units::UnitPolicy;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Average inter-demand interval (in periods) from which demand is intermittent (Syntetos, Boylan
/// & Croston 2005).
pub const ADI_CUTOFF: f64 = 1.32;
/// Squared coefficient of variation of demand sizes from which demand is erratic or lumpy.
pub const CV2_CUTOFF: f64 = 0.49;

/// Which service level the safety stock targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevelKind {
    /// Probability of no stock-out in a replenishment cycle: `k = Φ⁻¹(service_level)`.
    Cycle,
    /// Share of demanded units served from stock: `σ_L·G(k) = (1 − service_level)·Q`.
    FillRate,
}

/// The forecast `auto` uses for intermittent and lumpy parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntermittentMethod {
    /// Syntetos–Boylan approximation.
    Sba,
    /// Teunter–Syntetos–Babai.
    Tsb,
}

/// A part's demand class (Syntetos–Boylan–Croston cut-offs [`ADI_CUTOFF`] and [`CV2_CUTOFF`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandClass {
    /// ADI < 1.32, CV² < 0.49.
    Smooth,
    /// ADI < 1.32, CV² ≥ 0.49.
    Erratic,
    /// ADI ≥ 1.32, CV² < 0.49.
    Intermittent,
    /// ADI ≥ 1.32, CV² ≥ 0.49.
    Lumpy,
    /// No demand in the history.
    NoDemand,
}

impl DemandClass {
    /// The stable code (`smooth`, `erratic`, `intermittent`, `lumpy`, `no_demand`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Smooth => "smooth",
            Self::Erratic => "erratic",
            Self::Intermittent => "intermittent",
            Self::Lumpy => "lumpy",
            Self::NoDemand => "no_demand",
        }
    }
}

/// The method that computed a part's numbers (for `auto`, the one its class chose).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyMethod {
    /// The seed formula (multipliers on the window average).
    MovingAverage,
    /// Window average with a service-level safety stock (`auto` on smooth demand).
    MovingAverageSs,
    /// Syntetos–Boylan approximation.
    Sba,
    /// Teunter–Syntetos–Babai.
    Tsb,
    /// Empirical lead-time demand distribution.
    Empirical,
}

impl PolicyMethod {
    /// The stable code (`moving_average`, `moving_average_ss`, `sba`, `tsb`, `empirical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MovingAverage => "moving_average",
            Self::MovingAverageSs => "moving_average_ss",
            Self::Sba => "sba",
            Self::Tsb => "tsb",
            Self::Empirical => "empirical",
        }
    }
}

/// The demand class figures of a bucket series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Classification {
    /// Average inter-demand interval: periods / periods with demand (the number of periods when
    /// none has demand).
    pub adi: f64,
    /// Squared coefficient of variation of the non-zero period demands (population variance /
    /// mean²; 0 with fewer than two).
    pub cv2: f64,
    /// The class.
    pub class: DemandClass,
}

/// Classifies periodic demand by the Syntetos–Boylan–Croston cut-offs.
pub fn classify(buckets: &[f64]) -> Classification {
    let sizes: Vec<f64> = buckets.iter().copied().filter(|&d| d > 0.0).collect();
    if sizes.is_empty() {
        return Classification { adi: buckets.len() as f64, cv2: 0.0, class: DemandClass::NoDemand };
    }
    let adi = buckets.len() as f64 / sizes.len() as f64;
    let (mean, var) = mean_var(&sizes);
    let cv2 = if sizes.len() < 2 || mean <= 0.0 { 0.0 } else { var / (mean * mean) };
    let class = match (adi >= ADI_CUTOFF, cv2 >= CV2_CUTOFF) {
        (false, false) => DemandClass::Smooth,
        (false, true) => DemandClass::Erratic,
        (true, false) => DemandClass::Intermittent,
        (true, true) => DemandClass::Lumpy,
    };
    Classification { adi, cv2, class }
}

/// Mean and population variance (0, 0 for an empty slice).
fn mean_var(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var)
}

/// Daily demand summed into periods of `period_days`, aligned on the end (the last period ends
/// at the computation instant); a leading partial period counts the days before the history as
/// zero demand.
pub fn buckets(daily: &[f64], period_days: u32) -> Vec<f64> {
    let p = period_days.max(1) as usize;
    let mut out: Vec<f64> = daily.rchunks(p).map(|c| c.iter().sum()).collect();
    out.reverse();
    out
}

/// A one-period-ahead forecast and the spread of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Forecast {
    /// Forecast demand per period.
    pub per_period: f64,
    /// Root mean squared one-period-ahead error over the periods after the first demand (the
    /// forecast itself when there is none).
    pub rmse: f64,
}

/// Syntetos–Boylan approximation of Croston's method: from the first period with demand (size
/// `z₀` = its demand, interval `p₀` = its 1-based position), at each period with demand `d` after
/// an interval of `q` periods: `z ← z + α(d − z)`, `p ← p + α(q − p)`; the forecast is
/// `(1 − α/2)·z/p`. `None` without demand.
pub fn sba(buckets: &[f64], alpha: f64) -> Option<Forecast> {
    let first = buckets.iter().position(|&d| d > 0.0)?;
    let (mut z, mut p, mut q) = (buckets[first], (first + 1) as f64, 0.0);
    let factor = 1.0 - alpha / 2.0;
    let mut f = factor * z / p;
    let mut errors = ErrorSum::default();
    for &d in &buckets[first + 1..] {
        errors.add(d - f);
        q += 1.0;
        if d > 0.0 {
            z += alpha * (d - z);
            p += alpha * (q - p);
            q = 0.0;
        }
        f = factor * z / p;
    }
    Some(Forecast { per_period: f, rmse: errors.rmse(f) })
}

/// Teunter–Syntetos–Babai: from the first period with demand (size `z₀` = its demand,
/// probability `π₀` = 1 / its 1-based position), every period: `π ← π + β(1 − π)` with demand
/// (and `z ← z + α(d − z)`), `π ← (1 − β)·π` without; the forecast is `π·z`. It decays
/// geometrically while no demand comes (obsolescence). `None` without demand.
pub fn tsb(buckets: &[f64], alpha: f64, beta: f64) -> Option<Forecast> {
    let first = buckets.iter().position(|&d| d > 0.0)?;
    let (mut z, mut prob) = (buckets[first], 1.0 / (first + 1) as f64);
    let mut f = prob * z;
    let mut errors = ErrorSum::default();
    for &d in &buckets[first + 1..] {
        errors.add(d - f);
        if d > 0.0 {
            prob += beta * (1.0 - prob);
            z += alpha * (d - z);
        } else {
            prob -= beta * prob;
        }
        f = prob * z;
    }
    Some(Forecast { per_period: f, rmse: errors.rmse(f) })
}

#[derive(Default)]
struct ErrorSum {
    squares: f64,
    n: u32,
}

impl ErrorSum {
    fn add(&mut self, e: f64) {
        self.squares += e * e;
        self.n += 1;
    }
    fn rmse(&self, fallback: f64) -> f64 {
        if self.n == 0 { fallback } else { (self.squares / f64::from(self.n)).sqrt() }
    }
}

/// The safety factor `k` for a lead-time demand spread `sigma` and order quantity `q`: for a
/// cycle service level `Φ⁻¹(level)`; for a fill rate the `k` in [−4, 8] with
/// `sigma·G(k) = (1 − level)·q` (bisection; 0 when `sigma` is 0).
pub fn safety_factor(kind: ServiceLevelKind, level: f64, sigma: f64, q: f64) -> f64 {
    match kind {
        ServiceLevelKind::Cycle => normal::inverse_cdf(level),
        ServiceLevelKind::FillRate => {
            if sigma <= 0.0 {
                return 0.0;
            }
            let target = (1.0 - level) * q / sigma;
            let (mut lo, mut hi) = (-4.0, 8.0);
            if normal::loss(lo) <= target {
                return lo;
            }
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if normal::loss(mid) > target { lo = mid } else { hi = mid }
            }
            hi
        }
    }
}

/// Why a part got its numbers: the method, the demand class and the forecast figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PolicyWhy {
    /// The method that computed the numbers.
    pub method: PolicyMethod,
    /// The demand class of the history.
    pub demand_class: DemandClass,
    /// Average inter-demand interval, periods.
    pub adi: f64,
    /// Squared coefficient of variation of non-zero period demands.
    pub cv2: f64,
    /// Forecast demand per day (before any seasonal uplift).
    pub forecast_daily: f64,
    /// Mean lead-time demand (uplift applied).
    pub lead_time_demand: f64,
    /// Standard deviation of lead-time demand.
    pub sigma: f64,
    /// Safety factor: reorder = lead-time demand + z·sigma (for `empirical`, the quantile's z).
    pub z: f64,
    /// Order quantity: max − reorder.
    pub order_qty: f64,
    /// The service level targeted.
    pub service_level: f64,
    /// Which service level.
    pub service_level_kind: ServiceLevelKind,
    /// Days of history used.
    pub history_days: u32,
}

/// An unrounded policy and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// min (safety stock `max(reorder − lead-time demand, 0)`), reorder, max (`reorder + Q`).
    pub limits: Limits,
    /// The figures behind them.
    pub why: PolicyWhy,
}

/// The demand-driven policy of one part: `daily` is its demand per day, oldest first, from the
/// later of its first consumption and `history_days` before the computation instant, to that
/// instant. `method` is any [`ThresholdMethod`] but `moving_average` (which takes the seed
/// formula; here it means the service-level variant). `uplift` scales the forecast.
pub fn policy(params: &ThresholdParams, daily: &[f64], lead_time_days: f64, uplift: f64) -> Policy {
    let b = buckets(daily, params.period_days);
    let class = classify(&b);
    let method = match params.method {
        ThresholdMethod::MovingAverage => PolicyMethod::MovingAverageSs,
        ThresholdMethod::Sba => PolicyMethod::Sba,
        ThresholdMethod::Tsb => PolicyMethod::Tsb,
        ThresholdMethod::Empirical => PolicyMethod::Empirical,
        ThresholdMethod::Auto => match class.class {
            DemandClass::Smooth => PolicyMethod::MovingAverageSs,
            DemandClass::Erratic => PolicyMethod::Empirical,
            DemandClass::Intermittent | DemandClass::Lumpy | DemandClass::NoDemand => match params.auto_intermittent {
                IntermittentMethod::Sba => PolicyMethod::Sba,
                IntermittentMethod::Tsb => PolicyMethod::Tsb,
            },
        },
    };
    let periods_in_lead = lead_time_days / f64::from(params.period_days.max(1));
    let level = params.service_level;
    let kind = params.service_level_kind;
    let order_qty = |daily_rate: f64, lead_mean: f64| match (params.holding_cost, params.ordering_cost) {
        (Some(h), Some(k)) if h > 0.0 && k > 0.0 && daily_rate > 0.0 => (2.0 * daily_rate * 365.0 * k / h).sqrt(),
        _ => lead_mean,
    };
    let (forecast_daily, mean, sigma, z, q, reorder) = if method == PolicyMethod::Empirical {
        let e = empirical(daily, lead_time_days);
        let mean = e.mean * uplift;
        let q = order_qty(e.daily * uplift, mean);
        let r = e.reorder_point(kind, level, q) * uplift;
        let z = if e.sigma > 0.0 { (r - mean) / e.sigma } else { 0.0 };
        (e.daily, mean, e.sigma, z, q, r)
    } else {
        let f = match method {
            PolicyMethod::Sba => sba(&b, params.alpha),
            PolicyMethod::Tsb => tsb(&b, params.alpha, params.beta),
            _ => {
                let per = (f64::from(params.window_days) / f64::from(params.period_days.max(1))).ceil() as usize;
                let recent = &b[b.len().saturating_sub(per.max(1))..];
                let (m, v) = mean_var(recent);
                Some(Forecast { per_period: m, rmse: v.sqrt() })
            }
        }
        .unwrap_or(Forecast { per_period: 0.0, rmse: 0.0 });
        let forecast_daily = f.per_period / f64::from(params.period_days.max(1));
        let mean = forecast_daily * uplift * lead_time_days;
        let sigma = f.rmse * periods_in_lead.sqrt();
        let q = order_qty(forecast_daily * uplift, mean);
        let z = if mean > 0.0 { safety_factor(kind, level, sigma, q) } else { 0.0 };
        (forecast_daily, mean, sigma, z, q, mean + z * sigma)
    };
    let reorder = if mean > 0.0 { reorder.max(0.0) } else { 0.0 };
    let q = if mean > 0.0 { q } else { 0.0 };
    Policy {
        limits: Limits { min: (reorder - mean).max(0.0), reorder, max: reorder + q },
        why: PolicyWhy {
            method,
            demand_class: class.class,
            adi: class.adi,
            cv2: class.cv2,
            forecast_daily,
            lead_time_demand: mean,
            sigma,
            z,
            order_qty: q,
            service_level: level,
            service_level_kind: kind,
            history_days: u32::try_from(daily.len()).unwrap_or(u32::MAX),
        },
    }
}

/// The lead-time demand distribution of a daily history: the sums over every window of
/// `ceil(lead)` consecutive days inside it (overlapping), sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct Empirical {
    /// Window sums, ascending.
    pub sums: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Their population standard deviation.
    pub sigma: f64,
    /// Mean demand per day of the history.
    pub daily: f64,
}

/// The empirical lead-time demand of `daily` for `lead_time_days` (a history shorter than the
/// lead time gives one window: its total scaled to the lead time).
pub fn empirical(daily: &[f64], lead_time_days: f64) -> Empirical {
    let n = daily.len();
    let total: f64 = daily.iter().sum();
    let per_day = if n == 0 { 0.0 } else { total / n as f64 };
    let w = (lead_time_days.ceil().max(1.0) as usize).max(1);
    let mut sums = if n == 0 {
        vec![0.0]
    } else if n < w {
        vec![total * w as f64 / n as f64]
    } else {
        let mut s: f64 = daily[..w].iter().sum();
        let mut v = Vec::with_capacity(n - w + 1);
        v.push(s);
        for i in w..n {
            s += daily[i] - daily[i - w];
            v.push(s.max(0.0));
        }
        v
    };
    sums.sort_by(f64::total_cmp);
    let (mean, var) = mean_var(&sums);
    Empirical { sums, mean, sigma: var.sqrt(), daily: per_day }
}

impl Empirical {
    /// The reorder point: for a cycle service level the empirical quantile (the smallest window
    /// sum whose share of sums at or below it reaches `level`); for a fill rate the smallest
    /// window sum (or 0) whose expected shortage `mean((S − R)⁺)` is at most `(1 − level)·q`.
    pub fn reorder_point(&self, kind: ServiceLevelKind, level: f64, q: f64) -> f64 {
        let m = self.sums.len();
        match kind {
            ServiceLevelKind::Cycle => {
                let idx = ((level * m as f64).ceil() as usize).clamp(1, m) - 1;
                self.sums[idx]
            }
            ServiceLevelKind::FillRate => {
                let target = (1.0 - level) * q;
                let total: f64 = self.sums.iter().sum();
                if total / m as f64 <= target {
                    return 0.0;
                }
                let mut above = total;
                for (j, &r) in self.sums.iter().enumerate() {
                    above -= r;
                    let short = (above - (m - j - 1) as f64 * r) / m as f64;
                    if short <= target {
                        return r;
                    }
                }
                self.sums[m - 1]
            }
        }
    }
}

/// The thresholds of one part by its class's method: `moving_average` is the seed formula on
/// the window total (`usage`, exactly as [`compute`]); every other method is [`policy`] on
/// `daily` (see there), each limit rounded to `rounding_decimals` like the seed's, with
/// [`Thresholds::policy`] saying why. Checks come in the seed's order: lead time, then history.
pub fn policy_thresholds<'w>(
    params: &ThresholdParams,
    usage: UsageSummary,
    daily: &[f64],
    lead_time_days: f64,
    as_of: Timestamp,
    windows: impl IntoIterator<Item = &'w crate::formula::SeasonalWindow>,
) -> Result<Thresholds, ThresholdError> {
    if params.method == ThresholdMethod::MovingAverage {
        return compute(usage, lead_time_days, as_of, params, windows);
    }
    if !(lead_time_days.is_finite() && lead_time_days > 0.0) {
        return Err(ThresholdError::LeadTimeNotPositive { lead_time_days });
    }
    if !usage.has_history {
        return Err(ThresholdError::NoHistory);
    }
    let uplift = crate::thresholds::seasonal_uplift(windows, as_of, lead_time_days);
    let p = policy(params, daily, lead_time_days, uplift);
    let d = params.rounding_decimals;
    let limits = Limits {
        min: round_decimals(p.limits.min, d),
        reorder: round_decimals(p.limits.reorder, d),
        max: round_decimals(p.limits.max, d),
    };
    let w = &p.why;
    if ![limits.min, limits.reorder, limits.max, w.forecast_daily, w.sigma].iter().all(|v| v.is_finite()) {
        return Err(ThresholdError::NotFinite);
    }
    Ok(Thresholds {
        limits,
        formula_limits: limits,
        avg_daily_usage: w.forecast_daily,
        effective_daily_usage: w.forecast_daily * uplift,
        consumed_in_window: usage.consumed_in_window.get(),
        window_days: params.window_days,
        lead_time_days,
        safety_multiplier: params.safety_multiplier,
        reorder_factor: params.reorder_factor,
        max_factor: params.max_factor,
        seasonal_uplift: uplift,
        policy: Some(p.why),
    })
}

/// Whether any part class of `formulas` uses a demand-driven method (so its consumption history,
/// not only the window total, must be read).
pub fn uses_history(formulas: &FormulaSet) -> bool {
    let p = formulas.params();
    p.thresholds.method != ThresholdMethod::MovingAverage
        || p.overrides.keys().any(|c| formulas.params_for(c).method != ThresholdMethod::MovingAverage)
}

/// Milliseconds in a day of the history (24 h of UTC, like the window's days).
const DAY_MS: i64 = 86_400_000;

/// A part's daily demand at `as_of` from its consumption events (any order): day `i` of `n` covers
/// `[as_of − (n − i) × 24 h, as_of − (n − i − 1) × 24 h)`, the last day ending at `as_of`
/// (instants at stored, millisecond precision); `n` is the smaller of `history_days` and the
/// days since the part's first consumption before `as_of`. Empty without consumption before it.
pub fn daily_demand(events: &[Consumption], as_of: Timestamp, history_days: u32) -> Vec<f64> {
    let first = events.iter().map(|e| e.at).filter(|&t| t < as_of).min();
    daily_demand_since(events, first, as_of, history_days)
}

/// [`daily_demand`] when the part's first consumption is known apart from `events` (which may
/// then cover only the last `history_days`): `first` is that instant, `None` when there is none.
pub fn daily_demand_since(
    events: &[Consumption],
    first: Option<Timestamp>,
    as_of: Timestamp,
    history_days: u32,
) -> Vec<f64> {
    let end = crate::time::to_stored_precision(as_of).as_millisecond();
    let ms = |e: &Consumption| crate::time::to_stored_precision(e.at).as_millisecond();
    let Some(first) = first.map(|t| crate::time::to_stored_precision(t).as_millisecond()).filter(|&t| t < end) else {
        return Vec::new();
    };
    let span = (end - first + DAY_MS - 1) / DAY_MS;
    let n = span.min(i64::from(history_days)).max(1) as usize;
    let mut micros = vec![0i128; n];
    for e in events {
        let age = end - ms(e);
        if age <= 0 {
            continue;
        }
        let back = ((age - 1) / DAY_MS) as usize;
        if back < n {
            micros[n - 1 - back] += i128::from(e.quantity.micros());
        }
    }
    micros.into_iter().map(|m| Quantity::from_micros(m).get()).collect()
}

/// The thresholds of one part at `as_of` by its class's method — [`part_thresholds`] for the seed
/// formula, [`policy_thresholds`] on `daily` ([`daily_demand`]) for the others — with the
/// parameters used; every method's limits end in the part's unit policy
/// ([`UnitPolicy::whole_limits`]).
#[allow(clippy::too_many_arguments)]
pub fn part_policy_thresholds(
    formulas: &FormulaSet,
    class: &PartClass,
    site: &SiteId,
    lead_time_days: f64,
    usage: UsageSummary,
    daily: &[f64],
    as_of: Timestamp,
    units: UnitPolicy,
) -> Result<(ThresholdParams, Thresholds), ThresholdError> {
    let params = formulas.params_for(class);
    if params.method == ThresholdMethod::MovingAverage {
        return part_thresholds(formulas, class, site, lead_time_days, usage, as_of, units);
    }
    policy_thresholds(&params, usage, daily, lead_time_days, as_of, formulas.seasonal_windows_for(class, site))
        .map(|t| (params, Thresholds { limits: units.whole_limits(t.limits), ..t }))
}

#[cfg(test)]
mod tests;
