//! Inventory threshold calculation (docs/contract.md#thresholds): the rolling consumption window, the min / reorder / max formula with the seed's
//! chained rounding, the seasonal uplift, and the two numeric primitives it rests on —
//! Python-compatible decimal rounding and an exact, order-independent float sum.
//!
//! Two entry points share one formula: [`compute_from_events`] for a part's raw consumption, and
//! [`compute`] for a pre-aggregated [`UsageSummary`] (the hot path of a recompute over a million
//! parts: it never allocates); [`part_thresholds`] applies it to one part with its class's
//! parameters. The window and the sum it takes live in [`crate::usage`] (re-exported here).

pub use crate::usage::{
    Consumption, MAX_EXACT_MICROS, Placement, UsageAccumulator, UsageSummary, UsageWindow, window_start,
};

use crate::formula::{FormulaSet, SeasonalWindow, ThresholdParams};
use crate::ids::{PartClass, SiteId};
use crate::units::UnitPolicy;
use jiff::{SignedDuration, Timestamp, civil, tz::TimeZone};
use std::fmt;

/// Seconds in one window or horizon day: days are 24 h of UTC, never local calendar days.
const SECS_PER_DAY: f64 = 86_400.0;

/// Exact powers of ten (every one up to 10²² is representable in an `f64`).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// Rounds `x` to `decimals` decimals exactly like Python's `round(x, decimals)`: the exact binary
/// value of `x` is rounded to the nearest decimal, ties to even, and the result is the `f64`
/// nearest that decimal (so `round_decimals(2.675, 2) == 2.67`, because 2.675 is stored as
/// 2.67499999…). Equal to `format!("{x:.decimals$}").parse()` for every input, but without
/// allocating and about ten times faster.
///
/// How: `y = |x|·10^d` is computed in floating point. Unless `y` lies within its own rounding error
/// of a half-integer, the nearest integer `k` of `y` is the nearest integer of the exact product.
/// Near a half-integer (the chained `min × 1.25`, `reorder × 1.5` land there often) the exact
/// product `mantissa · 10^d · 2^exponent` is compared with `k + ½` in 128-bit integers. The result
/// is `k / 10^d`, one correctly rounded division, i.e. the `f64` nearest the decimal. Values whose
/// product reaches 2^50 and more than 22 decimals take the exact text path on a stack buffer. NaN
/// and infinities are returned unchanged, and so is `x` when more than 100 decimals are asked for.
pub fn round_decimals(x: f64, decimals: u8) -> f64 {
    const TWO_POW_50: f64 = 1_125_899_906_842_624.0;
    const TWO_POW_52: f64 = 4_503_599_627_370_496.0;
    if !x.is_finite() || x.abs() >= TWO_POW_52 {
        return x; // every float this large is already an integer
    }
    let Some(&scale) = POW10.get(usize::from(decimals)) else {
        return round_via_text(x, usize::from(decimals));
    };
    let a = x.abs();
    let y = a * scale;
    if y >= TWO_POW_50 {
        return round_via_text(x, usize::from(decimals));
    }
    let k = y.floor();
    let rounded = if (y - k - 0.5).abs() > y * f64::EPSILON {
        y.round()
    } else {
        // y < 2^50, so k is an exact integer well inside u64.
        k + exact_half_step(a, decimals, k as u64)
    };
    (rounded / scale).copysign(x)
}

/// For `a·10^d` known to lie in `[k, k + 1)`: 1.0 when its exact value is above `k + ½` (or exactly
/// on it with `k` odd, ties to even), else 0.0.
fn exact_half_step(a: f64, decimals: u8, k: u64) -> f64 {
    let bits = a.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, exponent) = if biased == 0 { (fraction, -1074) } else { (fraction | 1 << 52, biased - 1075) };
    if exponent >= 0 {
        return 0.0; // a is an integer, so a·10^d is exactly k
    }
    // a·10^d = product · 2^exponent, and product < 2^53 · 10^22 < 2^127.
    let product = u128::from(mantissa) * 10u128.pow(u32::from(decimals));
    // Compare product · 2^exponent with (2k + 1) / 2, i.e. product / 2^shift with 2k + 1.
    let shift = (-exponent - 1) as u32;
    let (quotient, remainder) =
        if shift >= 128 { (0, product) } else { (product >> shift, product & ((1u128 << shift) - 1)) };
    let twice_half = 2 * u128::from(k) + 1;
    let side = quotient.cmp(&twice_half).then(if remainder != 0 {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    });
    match side {
        std::cmp::Ordering::Greater => 1.0,
        std::cmp::Ordering::Less => 0.0,
        std::cmp::Ordering::Equal => (k % 2) as f64,
    }
}

fn round_via_text(x: f64, decimals: usize) -> f64 {
    struct StackBuf {
        bytes: [u8; 128],
        len: usize,
    }
    impl fmt::Write for StackBuf {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    let mut buf = StackBuf { bytes: [0; 128], len: 0 };
    if fmt::Write::write_fmt(&mut buf, format_args!("{x:.decimals$}")).is_err() {
        return x;
    }
    std::str::from_utf8(&buf.bytes[..buf.len]).ok().and_then(|s| s.parse().ok()).unwrap_or(x)
}

/// An exact floating-point accumulator (Shewchuk's algorithm, as Python's `math.fsum`): the
/// result is the sum of all added values rounded once, so it does not depend on the order in
/// which values are added. This is what makes "same inputs → same output, bit for bit" hold when
/// the same consumption events arrive in a different order.
#[derive(Debug, Clone, Default)]
pub struct ExactSum {
    partials: Vec<f64>,
    special: f64,
}

impl ExactSum {
    /// An empty sum (zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value. Infinities and NaN (or an intermediate overflow) make the sum non-finite.
    pub fn add(&mut self, x: f64) {
        if !x.is_finite() {
            self.special += x;
            return;
        }
        let mut x = x;
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        if x.is_finite() {
            self.partials.push(x);
        } else {
            self.special += x;
        }
    }

    /// Adds everything `other` holds: the result is exactly that of adding its values here,
    /// whatever the order (sums built on several threads combine without rounding).
    pub fn absorb(&mut self, other: &ExactSum) {
        for &p in &other.partials {
            self.add(p);
        }
        self.special += other.special;
    }

    /// The correctly rounded sum of everything added so far.
    pub fn value(&self) -> f64 {
        if self.special != 0.0 || self.special.is_nan() {
            return self.special;
        }
        let p = &self.partials;
        let Some(mut n) = p.len().checked_sub(1) else { return 0.0 };
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        // Half-way case: make the final rounding use the sign of the remaining partials.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

impl Extend<f64> for ExactSum {
    fn extend<I: IntoIterator<Item = f64>>(&mut self, iter: I) {
        iter.into_iter().for_each(|x| self.add(x));
    }
}

/// The exact, order-independent sum of `values` (see [`ExactSum`]).
pub fn exact_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = ExactSum::new();
    s.extend(values);
    s.value()
}

/// The three stock limits of a part.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Limits {
    /// Minimum stock (safety stock).
    pub min: f64,
    /// Reorder point: procurement is raised below it.
    pub reorder: f64,
    /// Order-up-to level.
    pub max: f64,
}

/// A computed threshold with the inputs that produced it, so a threshold row can record them.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Thresholds {
    /// The rounded limits: the formula's, in whole units and packs for a discrete part
    /// ([`part_thresholds`]).
    pub limits: Limits,
    /// The formula's limits before whole-unit rounding (equal to `limits` for a continuous part and
    /// wherever [`compute`] is called directly): drift compares these with the baseline, so that
    /// rounding alone never raises a drift alert.
    #[serde(skip)]
    pub formula_limits: Limits,
    /// `consumed_in_window / window_days`, before any seasonal uplift.
    pub avg_daily_usage: f64,
    /// `avg_daily_usage × seasonal_uplift` (identical to it when no window applies).
    pub effective_daily_usage: f64,
    /// Quantity consumed inside the window.
    pub consumed_in_window: f64,
    /// Window length used, days.
    pub window_days: u32,
    /// Supplier lead time used, days.
    pub lead_time_days: f64,
    /// Safety multiplier used.
    pub safety_multiplier: f64,
    /// Reorder factor used.
    pub reorder_factor: f64,
    /// Max factor used.
    pub max_factor: f64,
    /// Seasonal factor applied to the average (1.0 when none).
    pub seasonal_uplift: f64,
    /// Why a demand-driven method gave these numbers (`None` for the seed formula).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::demand::PolicyWhy>,
}

/// Why a part has no threshold (a per-part error, never a silent zero).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    /// The part's lead time is zero, negative or not a finite number (checked first).
    #[error("lead time must be a positive number of days (got {lead_time_days})")]
    LeadTimeNotPositive {
        /// The lead time given.
        lead_time_days: f64,
    },
    /// No accepted consumption event before `as_of`.
    #[error("no consumption recorded before the computation instant")]
    NoHistory,
    /// The arithmetic left the finite range (absurd quantities or parameters built in code).
    #[error("computed thresholds are not finite numbers (check quantities and parameters)")]
    NotFinite,
    /// The consumption in the window reaches [`MAX_EXACT_MICROS`] (checked before the lead time).
    #[error(
        "the consumption in the window adds up to more than 9e9 units: it holds implausible \
         quantities stored before the plausible range was enforced; void those events \
         (`cmms events void`) to compute this part"
    )]
    ImplausibleConsumption,
}

impl ThresholdError {
    /// Stable error code for reports, CSV `status` columns and APIs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::LeadTimeNotPositive { .. } => "LEAD_TIME_NOT_POSITIVE",
            Self::NoHistory => "NO_HISTORY",
            Self::NotFinite => "NOT_FINITE",
            Self::ImplausibleConsumption => "IMPLAUSIBLE_CONSUMPTION",
        }
    }
}

/// The seasonal factor for the lead-time horizon `[as_of, as_of + lead_time_days × 24 h)`:
///
/// `1 + Σ_w (uplift_w − 1) × overlap_days_w / lead_time_days`
///
/// where `overlap_days_w` is the length (in 24 h days, fractional) of the horizon's intersection
/// with window `w`. A window covers whole UTC calendar days: from 00:00 UTC of its `start` day to
/// 24:00 UTC of its `end` day, every year; when `end` is before `start` it runs over new year into
/// the following year. `02-29` as start means 1 March in common years, as end 28 February (24:00).
/// Overlapping windows add their contributions. Terms are summed in the order given (the registry
/// keeps windows in canonical order). Returns exactly 1.0 when no window overlaps the horizon or
/// the lead time is not positive.
pub fn seasonal_uplift<'w>(
    windows: impl IntoIterator<Item = &'w SeasonalWindow>,
    as_of: Timestamp,
    lead_time_days: f64,
) -> f64 {
    if !valid_lead_time(lead_time_days) {
        return 1.0;
    }
    let mut horizon_end = None; // computed on the first window only: most parts have none
    let mut extra = 0.0;
    for w in windows {
        let end = *horizon_end.get_or_insert_with(|| {
            SignedDuration::try_from_secs_f64(lead_time_days * SECS_PER_DAY)
                .ok()
                .and_then(|d| as_of.checked_add(d).ok())
                .unwrap_or(Timestamp::MAX)
        });
        let overlap_secs = window_overlap_secs(w, as_of, end);
        if overlap_secs > 0.0 {
            extra += (w.uplift - 1.0) * (overlap_secs / SECS_PER_DAY) / lead_time_days;
        }
    }
    1.0 + extra
}

/// Seconds of `[from, to)` covered by the window's yearly occurrences.
fn window_overlap_secs(w: &SeasonalWindow, from: Timestamp, to: Timestamp) -> f64 {
    let year = |t: Timestamp| i32::from(TimeZone::UTC.to_datetime(t).year());
    let wraps = w.wraps();
    let mut total = 0.0;
    // An occurrence starting the year before `from` may still be running (wrapping windows).
    for y in year(from) - 1..=year(to) {
        let Some(lo) = day_boundary(y, w.start, false) else { continue };
        let hi = day_boundary(if wraps { y + 1 } else { y }, w.end, true).unwrap_or(Timestamp::MAX);
        let (lo, hi) = (lo.max(from), hi.min(to));
        if lo < hi {
            total += hi.duration_since(lo).as_secs_f64();
        }
    }
    total
}

/// 00:00 UTC of month-day `md` in `year` (`after = false`) or of the day after it (`after = true`);
/// `02-29` in a common year resolves to 1 March either way. `None` outside jiff's year range.
fn day_boundary(year: i32, md: crate::formula::MonthDay, after: bool) -> Option<Timestamp> {
    let year = i16::try_from(year).ok()?;
    let (m, d) = (i8::try_from(md.month()).ok()?, i8::try_from(md.day()).ok()?);
    let date = match civil::Date::new(year, m, d) {
        Ok(date) if after => date.tomorrow().ok()?,
        Ok(date) => date,
        Err(_) => civil::Date::new(year, 3, 1).ok()?,
    };
    TimeZone::UTC.to_timestamp(date.to_datetime(civil::Time::midnight())).ok()
}

/// A lead time the formula accepts: a finite number of days above zero.
fn valid_lead_time(days: f64) -> bool {
    days.is_finite() && days > 0.0
}

/// The threshold formula on a pre-aggregated usage (allocation-free hot path).
///
/// Order of checks: lead time (`LEAD_TIME_NOT_POSITIVE`), then history (`NO_HISTORY`). Then, with
/// `r` = [`round_decimals`] to `params.rounding_decimals`:
/// `avg = consumed / window_days`, `eff = avg × seasonal_uplift` (skipped when the uplift is 1),
/// `min = r(eff × lead × safety_multiplier)`, `reorder = r(min × reorder_factor)`,
/// `max = r(reorder × max_factor)` — multiplied left to right as the seed does, so for the same
/// consumed sum the results equal the seed's bit for bit (the seed's sum itself is a plain
/// left-to-right sum, one ulp off an exact one now and then; see [`ExactSum`]). `windows` are the
/// seasonal windows that apply to the part.
pub fn compute<'w>(
    usage: UsageSummary,
    lead_time_days: f64,
    as_of: Timestamp,
    params: &ThresholdParams,
    windows: impl IntoIterator<Item = &'w SeasonalWindow>,
) -> Result<Thresholds, ThresholdError> {
    if !valid_lead_time(lead_time_days) {
        return Err(ThresholdError::LeadTimeNotPositive { lead_time_days });
    }
    if !usage.has_history {
        return Err(ThresholdError::NoHistory);
    }
    let consumed = usage.consumed_in_window.get();
    // The window average; the demand-driven methods are `crate::demand::policy_thresholds`.
    let avg = consumed / f64::from(params.window_days);
    let uplift = seasonal_uplift(windows, as_of, lead_time_days);
    let effective = if uplift == 1.0 { avg } else { avg * uplift };
    let d = params.rounding_decimals;
    let min = round_decimals(effective * lead_time_days * params.safety_multiplier, d);
    let reorder = round_decimals(min * params.reorder_factor, d);
    let max = round_decimals(reorder * params.max_factor, d);
    if ![avg, effective, min, reorder, max].iter().all(|v| v.is_finite()) {
        return Err(ThresholdError::NotFinite);
    }
    Ok(Thresholds {
        limits: Limits { min, reorder, max },
        formula_limits: Limits { min, reorder, max },
        avg_daily_usage: avg,
        effective_daily_usage: effective,
        consumed_in_window: consumed,
        window_days: params.window_days,
        lead_time_days,
        safety_multiplier: params.safety_multiplier,
        reorder_factor: params.reorder_factor,
        max_factor: params.max_factor,
        seasonal_uplift: uplift,
        policy: None,
    })
}

/// The threshold formula on a part's consumption events (any order): the lead time is checked
/// before the history, then [`UsageSummary::from_events`] and [`compute`].
pub fn compute_from_events<'w>(
    events: &[Consumption],
    lead_time_days: f64,
    as_of: Timestamp,
    params: &ThresholdParams,
    windows: impl IntoIterator<Item = &'w SeasonalWindow>,
) -> Result<Thresholds, ThresholdError> {
    if !valid_lead_time(lead_time_days) {
        return Err(ThresholdError::LeadTimeNotPositive { lead_time_days });
    }
    let usage = UsageSummary::from_events(events, as_of, params.window_days);
    compute(usage, lead_time_days, as_of, params, windows)
}

/// The thresholds of one part at `as_of` — the one home of the per-part rule, used by `cmms
/// compute` and by the persisted recompute: `usage` is the part's checked window total
/// ([`UsageAccumulator::summary`] or [`UsageSummary::from_micros`], whose error comes before this
/// one's), then the parameters of its class and the seasonal windows of its class and site go
/// into [`compute`], and last the part's unit policy ([`FormulaSet::unit_policy`]) rounds the
/// limits of a discrete part up to whole units and packs ([`UnitPolicy::whole_limits`]; every
/// threshold method's limits pass through it here). Returns the parameters used with the
/// thresholds (the drift decision needs them).
pub fn part_thresholds(
    formulas: &FormulaSet,
    class: &PartClass,
    site: &SiteId,
    lead_time_days: f64,
    usage: UsageSummary,
    as_of: Timestamp,
    units: UnitPolicy,
) -> Result<(ThresholdParams, Thresholds), ThresholdError> {
    let params = formulas.params_for(class);
    compute(usage, lead_time_days, as_of, &params, formulas.seasonal_windows_for(class, site))
        .map(|t| (params, Thresholds { limits: units.whole_limits(t.limits), ..t }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::{FormulaSet, MonthDay};
    use crate::quantity::Quantity;
    use crate::time::parse_timestamp;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        parse_timestamp(s).unwrap()
    }

    fn ev(at: &str, q: f64) -> Consumption {
        Consumption { at: ts(at), quantity: Quantity::new(q).unwrap() }
    }

    fn window(start: &str, end: &str, uplift: f64) -> SeasonalWindow {
        SeasonalWindow {
            start: start.parse::<MonthDay>().unwrap(),
            end: end.parse().unwrap(),
            uplift,
            part_classes: vec![],
            site_ids: vec![],
        }
    }

    const NONE: [SeasonalWindow; 0] = [];

    #[test]
    fn rounding_is_pythons_round() {
        // Values checked against CPython 3.11 round(x, 2).
        let cases = [
            (0.125, 0.12),
            (0.375, 0.38),
            (0.025, 0.03),
            (0.045, 0.04),
            (1.005, 1.0),
            (2.675, 2.67),
            (12.345, 12.35),
            (28.125, 28.12),
            (-0.125, -0.12),
            (1e15 + 0.125, 1e15 + 0.125),
            (0.0, 0.0),
        ];
        for (x, want) in cases {
            assert_eq!(round_decimals(x, 2), want, "{x}");
        }
        assert_eq!(round_decimals(2.5, 0), 2.0);
        assert_eq!(round_decimals(3.5, 0), 4.0);
        assert!(round_decimals(f64::NAN, 2).is_nan());
        assert_eq!(round_decimals(f64::INFINITY, 2), f64::INFINITY);
        assert_eq!(round_decimals(1.23456789, 200), 1.23456789);
    }

    #[test]
    fn exact_sum_is_exact() {
        assert_eq!(exact_sum([0.1; 10]), 1.0);
        assert_ne!([0.1; 10].iter().sum::<f64>(), 1.0);
        assert_eq!(exact_sum([1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]), 1e-100);
        assert_eq!(exact_sum([]), 0.0);
        assert_eq!(exact_sum([f64::MAX, f64::MAX]), f64::INFINITY);
        assert!(exact_sum([f64::INFINITY, f64::NEG_INFINITY]).is_nan());
    }

    #[test]
    fn window_is_half_open_and_counts_zero_days() {
        let p = ThresholdParams { window_days: 10, ..Default::default() };
        let as_of = ts("2025-01-11T00:00:00Z");
        let events = [
            ev("2025-01-01T00:00:00Z", 4.0),   // first instant of the window: in
            ev("2024-12-31T23:59:59Z", 100.0), // before the window: out, but is history
            ev("2025-01-10T23:59:59Z", 6.0),   // last second: in
            ev("2025-01-11T00:00:00Z", 50.0),  // at as_of: out
        ];
        let t = compute_from_events(&events, 4.0, as_of, &p, &NONE).unwrap();
        assert_eq!(t.consumed_in_window, 10.0);
        assert_eq!(t.avg_daily_usage, 1.0);
        assert_eq!(t.limits, Limits { min: 6.0, reorder: 7.5, max: 11.25 });
    }

    #[test]
    fn accumulator_follows_the_window_and_flags_inexact_totals() {
        // An instant a fraction of a millisecond past as_of: the window ends at the millisecond.
        let as_of = ts("2025-01-11T00:00:00Z") + SignedDuration::from_micros(700);
        let window = UsageWindow::new(as_of, 10);
        assert_eq!(
            (window.start_ms(), window.as_of_ms()),
            (ts("2025-01-01").as_millisecond(), ts("2025-01-11").as_millisecond())
        );
        assert_eq!(window.place(ts("2025-01-11") + SignedDuration::from_micros(300)), Placement::After);
        assert_eq!(window.place(ts("2025-01-01")), Placement::Inside);
        assert_eq!(window.place(ts("2025-01-01") - SignedDuration::from_nanos(1)), Placement::Before);
        let q = |v: f64| Quantity::new(v).unwrap();
        let (mut a, mut b) = (UsageAccumulator::new(), UsageAccumulator::new());
        a.add(&window, ts("2024-12-01"), q(100.0));
        assert_eq!(a.summary(), Ok(UsageSummary { consumed_in_window: Quantity::ZERO, has_history: true }));
        a.add(&window, ts("2025-01-05"), q(0.1));
        b.add(&window, ts("2025-01-06"), q(0.2));
        b.add(&window, ts("2025-01-12"), q(50.0));
        a.merge(&b);
        assert_eq!(a.summary().unwrap().consumed_in_window, q(0.3));
        let events =
            [ev("2024-12-01T00:00:00Z", 100.0), ev("2025-01-05T00:00:00Z", 0.1), ev("2025-01-06T00:00:00Z", 0.2)];
        assert_eq!(UsageSummary::from_events(&events, as_of, 10), a.summary().unwrap());
        // Ten plausible events of 10⁹ units: 10¹⁶ micro-units, beyond an exact double sum.
        let mut big = UsageAccumulator::new();
        for day in 1..11 {
            big.add(&window, ts(&format!("2025-01-{day:02}")), q(1e9));
        }
        assert_eq!(big.summary(), Err(ThresholdError::ImplausibleConsumption));
        assert_eq!(UsageSummary::from_micros(MAX_EXACT_MICROS - 1, true).map(|u| u.has_history), Ok(true));
        assert_eq!(UsageSummary::from_micros(MAX_EXACT_MICROS, true), Err(ThresholdError::ImplausibleConsumption));
    }

    #[test]
    fn default_chain_rounds_each_step() {
        let p = ThresholdParams::default();
        let usage = UsageSummary { consumed_in_window: Quantity::new(90.0).unwrap(), has_history: true };
        let t = compute(usage, 10.0, ts("2025-01-01"), &p, &NONE).unwrap();
        // min 15, reorder 18.75, max 28.125 -> 28.12 (tie to even)
        assert_eq!(t.limits, Limits { min: 15.0, reorder: 18.75, max: 28.12 });
        assert_eq!(t.seasonal_uplift, 1.0);
    }

    #[test]
    fn errors_in_documented_order() {
        let p = ThresholdParams::default();
        let as_of = ts("2025-01-01");
        let e = compute_from_events(&[], 0.0, as_of, &p, &NONE).unwrap_err();
        assert_eq!(e.code(), "LEAD_TIME_NOT_POSITIVE");
        assert_eq!(compute_from_events(&[], f64::NAN, as_of, &p, &NONE).unwrap_err().code(), "LEAD_TIME_NOT_POSITIVE");
        let only_future = [ev("2025-01-01", 3.0)];
        assert_eq!(compute_from_events(&only_future, 5.0, as_of, &p, &NONE), Err(ThresholdError::NoHistory));
        let stale = [ev("2020-01-01", 3.0)];
        let t = compute_from_events(&stale, 5.0, as_of, &p, &NONE).unwrap();
        assert_eq!(t.limits, Limits { min: 0.0, reorder: 0.0, max: 0.0 });
        let zero_window = ThresholdParams { window_days: 0, ..p };
        assert_eq!(compute_from_events(&stale, 5.0, as_of, &zero_window, &NONE), Err(ThresholdError::NotFinite));
    }

    #[test]
    fn seasonal_uplift_counts_utc_days_of_the_horizon() {
        let w = window("11-15", "02-15", 1.3);
        // Horizon Nov 10 .. Nov 20: 5 of 10 days inside.
        let f = seasonal_uplift([&w], ts("2024-11-10T00:00:00Z"), 10.0);
        assert!((f - 1.15).abs() < 1e-12, "{f}");
        // Fully inside, across new year.
        let f = seasonal_uplift([&w], ts("2024-12-28T00:00:00Z"), 10.0);
        assert!((f - 1.3).abs() < 1e-12, "{f}");
        // Ends with Feb 15 24:00: horizon Feb 14 12:00 .. Feb 16 12:00 has 1.5 of 2 days inside.
        let f = seasonal_uplift([&w], ts("2025-02-14T12:00:00Z"), 2.0);
        assert!((f - (1.0 + 0.3 * 1.5 / 2.0)).abs() < 1e-12, "{f}");
        // Outside.
        assert_eq!(seasonal_uplift([&w], ts("2025-06-01T00:00:00Z"), 30.0), 1.0);
        // Long horizon: 3 years from Jan 1 2025, window Dec 1..Dec 31 -> 3 x 31 days.
        let dec = window("12-01", "12-31", 2.0);
        let f = seasonal_uplift([&dec], ts("2025-01-01T00:00:00Z"), 1096.0);
        assert!((f - (1.0 + 93.0 / 1096.0)).abs() < 1e-12, "{f}");
        // Two windows add up.
        let f = seasonal_uplift([&dec, &window("12-01", "12-31", 0.5)], ts("2025-12-01"), 31.0);
        assert!((f - 1.5).abs() < 1e-12, "{f}");
    }

    #[test]
    fn leap_day_windows() {
        let w = window("02-29", "03-01", 2.0);
        // Common year: only March 1.
        let f = seasonal_uplift([&w], ts("2025-02-27"), 4.0);
        assert!((f - 1.25).abs() < 1e-12, "{f}");
        // Leap year: Feb 29 and March 1.
        let f = seasonal_uplift([&w], ts("2024-02-27"), 4.0);
        assert!((f - 1.5).abs() < 1e-12, "{f}");
        let to_leap = window("02-01", "02-29", 2.0);
        let f = seasonal_uplift([&to_leap], ts("2025-02-27"), 4.0); // Feb 27, 28 in
        assert!((f - 1.5).abs() < 1e-12, "{f}");
    }

    #[test]
    fn uplift_scales_usage_only_for_the_overlap() {
        let p = ThresholdParams::default();
        let usage = UsageSummary { consumed_in_window: Quantity::new(90.0).unwrap(), has_history: true };
        let w = window("01-01", "12-31", 1.2);
        let t = compute(usage, 10.0, ts("2025-03-01"), &p, [&w]).unwrap();
        assert_eq!(t.limits.min, 18.0);
        assert!((t.seasonal_uplift - 1.2).abs() < 1e-12);
        assert_eq!(t.avg_daily_usage, 1.0);
    }

    #[test]
    fn part_thresholds_round_discrete_parts_last() {
        let f = FormulaSet::defaults();
        let site = crate::ids::SiteId::parse("S1").unwrap();
        let class = crate::ids::PartClass::parse("SEAL").unwrap();
        let usage = UsageSummary { consumed_in_window: Quantity::new(90.0).unwrap(), has_history: true };
        let as_of = ts("2025-01-01");
        let part = |unit: &str, pack: Option<f64>| {
            let policy = f.unit_policy(unit, pack.map(|p| Quantity::new(p).unwrap()), None);
            part_thresholds(&f, &class, &site, 10.0, usage, as_of, policy).unwrap().1
        };
        // The seed formula gives 15 / 18.75 / 28.12 (see default_chain_rounds_each_step).
        let litres = part("L", None);
        assert_eq!(litres.limits, Limits { min: 15.0, reorder: 18.75, max: 28.12 });
        let pieces = part("ea", None);
        assert_eq!(pieces.limits, Limits { min: 15.0, reorder: 19.0, max: 29.0 });
        assert_eq!(part("KIT", Some(5.0)).limits, Limits { min: 15.0, reorder: 20.0, max: 30.0 });
        // Only the limits change: the inputs recorded with them are the formula's.
        assert_eq!(Thresholds { limits: litres.limits, ..pieces }, litres);
        assert_eq!(pieces.formula_limits, litres.limits);
    }

    #[test]
    fn registry_windows_feed_the_formula() {
        let f = FormulaSet::parse(
            "[[seasonal_windows]]\nstart='03-01'\nend='03-31'\nuplift=2.0\npart_classes=['FILTER']\n",
        )
        .unwrap();
        let site = crate::ids::SiteId::parse("S1").unwrap();
        let filter = crate::ids::PartClass::parse("FILTER").unwrap();
        let other = crate::ids::PartClass::parse("BEARING").unwrap();
        let usage = UsageSummary { consumed_in_window: Quantity::new(9.0).unwrap(), has_history: true };
        let as_of = ts("2025-03-10");
        let a = compute(usage, 10.0, as_of, &f.params_for(&filter), f.seasonal_windows_for(&filter, &site)).unwrap();
        let b = compute(usage, 10.0, as_of, &f.params_for(&other), f.seasonal_windows_for(&other, &site)).unwrap();
        assert_eq!(a.limits.min, 3.0);
        assert_eq!(b.limits.min, 1.5);
    }

    proptest! {
        #[test]
        fn rounding_equals_format_and_parse(x in -1e7f64..1e7, d in 0u8..10) {
            let want: f64 = format!("{x:.*}", usize::from(d)).parse().unwrap();
            prop_assert_eq!(round_decimals(x, d).to_bits(), want.to_bits());
        }

        #[test]
        fn rounding_near_ties(k in -10_000_000i64..10_000_000, d in 0u8..6, f in prop::sample::select(vec![1.0, 1.25, 1.5, 0.85])) {
            // x.xx5-style values and the seed's chained products sit on or next to ties.
            let scale = POW10[usize::from(d)];
            for x in [(k as f64 + 0.5) / scale, k as f64 / scale * f, (k as f64 / 100.0) * f, (k as f64 + 0.5) / scale * f] {
                let want: f64 = format!("{x:.*}", usize::from(d)).parse().unwrap();
                prop_assert_eq!(round_decimals(x, d).to_bits(), want.to_bits(), "{} {}", x, d);
            }
        }

        #[test]
        fn rounding_any_bits(bits in any::<u64>(), d in 0u8..23) {
            let x = f64::from_bits(bits);
            let got = round_decimals(x, d);
            if x.is_finite() {
                let want: f64 = format!("{x:.*}", usize::from(d)).parse().unwrap();
                prop_assert_eq!(got.to_bits(), want.to_bits(), "{:e} {}", x, d);
            } else {
                prop_assert_eq!(got.to_bits(), x.to_bits());
            }
        }

        #[test]
        fn exact_sum_ignores_order(mut v in prop::collection::vec(0.0f64..1e6, 0..60), seed in any::<u64>()) {
            let a = exact_sum(v.iter().copied());
            // deterministic shuffle
            let mut s = seed;
            for i in (1..v.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                v.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(a.to_bits(), exact_sum(v.iter().copied()).to_bits());
        }

        #[test]
        fn sums_split_anywhere_absorb_to_the_whole(
            v in prop::collection::vec(prop_oneof![-1e300f64..1e300, -1.0f64..1.0, Just(f64::INFINITY)], 0..60),
            cut in any::<prop::sample::Index>(),
        ) {
            let cut = cut.index(v.len() + 1);
            let (mut left, mut right) = (ExactSum::new(), ExactSum::new());
            left.extend(v[..cut].iter().copied());
            right.extend(v[cut..].iter().copied());
            left.absorb(&right);
            prop_assert_eq!(left.value().to_bits(), exact_sum(v.iter().copied()).to_bits());
        }

        #[test]
        fn no_window_is_bit_identical_to_plain_formula(
            consumed in 0.0f64..1e6, lead in 0.01f64..3650.0, mult in 0.1f64..5.0, off in 0i64..1_000_000_000
        ) {
            let p = ThresholdParams { safety_multiplier: mult, ..Default::default() };
            let usage = UsageSummary { consumed_in_window: Quantity::new(consumed).unwrap(), has_history: true };
            let as_of = Timestamp::from_second(1_000_000_000 + off).unwrap();
            let t = compute(usage, lead, as_of, &p, &NONE).unwrap();
            let avg = usage.consumed_in_window.get() / 90.0;
            let min = round_decimals(avg * lead * mult, 2);
            let reorder = round_decimals(min * 1.25, 2);
            prop_assert_eq!(t.limits, Limits { min, reorder, max: round_decimals(reorder * 1.5, 2) });
            prop_assert_eq!(t.effective_daily_usage.to_bits(), avg.to_bits());
            // A neutral window (uplift 1) changes nothing either, bit for bit.
            let neutral = window("01-01", "12-31", 1.0);
            prop_assert_eq!(compute(usage, lead, as_of, &p, [&neutral]).unwrap(), t);
        }
    }
}
