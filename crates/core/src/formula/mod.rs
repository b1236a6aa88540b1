//! Formula registry: every tunable number of the threshold, PM-interval and inventory-gate
//! calculations, parsed from one versioned TOML document into a validated [`FormulaSet`].
//!
//! docs/contract.md#formula-registry: changing a multiplier needs no code change, every result names the
//! version that produced it, and operators can list and diff versions. This module owns the
//! document's shape, its defaults, its range checks, the canonical serialisation whose SHA-256 is
//! the version's content hash, and (in its submodules) the seasonal windows and the parameter
//! diff. Storing versions (id, time) is the store's job.

mod diff;
mod season;

use crate::demand::{IntermittentMethod, ServiceLevelKind};
use crate::ids::{AssetGroup, PartClass, SiteId};
use crate::master::MAX_FALLBACK_INTERVAL_DAYS;
use crate::quantity::Quantity;
use crate::units::{UnitPolicy, UnitsParams};
pub use diff::{ParamChange, diff};
pub use season::{MonthDay, MonthDayError, SeasonalWindow};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// The document schema this build reads; `schema = 1` may be omitted.
pub const SCHEMA_VERSION: u32 = 1;

/// Longest averaging window accepted, in days.
pub const MAX_WINDOW_DAYS: u32 = 3650;
/// Most decimals thresholds may be rounded to.
pub const MAX_ROUNDING_DECIMALS: u8 = 9;
/// Longest look-back accepted for MTBF samples and the snapshot gate, in days.
pub const MAX_LOOKBACK_DAYS: u32 = 36_500;

/// The shipped formula document. It spells out every default, so parsing it gives exactly
/// [`FormulaParams::default()`] (and so does parsing an empty document).
pub const DEFAULT_FORMULAS_TOML: &str = r#"# cmms-pipeline formula registry (schema 1).
# Every key is optional; a missing key takes the value shown here. Unknown keys are errors.
schema = 1

[thresholds]
window_days = 90               # rolling window of the moving average, days (zero-usage days count)
method = "moving_average"      # moving_average (the seed formula) | sba | tsb | empirical | auto
safety_multiplier = 1.5        # min = avg_daily_usage x lead_time_days x safety_multiplier
reorder_factor = 1.25          # reorder = min x reorder_factor
max_factor = 1.5               # max = reorder x max_factor
rounding_decimals = 2          # each value rounded half-to-even on its binary value (Python round)
drift_tolerance = 0.40         # relative deviation from the part-master baseline that raises drift
fallback_multiplier = 1.0      # published while drifted and unapproved: baseline x fallback_multiplier

# Demand-driven methods (sba, tsb, empirical, auto; docs/contract.md#demand-policies):
# period_days = 7              # demand buckets for classification and the SBA/TSB forecasts
# history_days = 365           # days of history they read (from the part's first consumption)
# alpha = 0.1                  # smoothing of demand sizes and intervals (SBA), sizes (TSB)
# beta = 0.1                   # smoothing of the demand probability (TSB)
# service_level = 0.95         # target: reorder = lead-time demand + z x sigma
# service_level_kind = "cycle" # cycle | fill_rate
# auto_intermittent = "sba"    # auto: forecast of intermittent and lumpy parts (sba | tsb)
# holding_cost = 2.5           # per unit and year; with ordering_cost the order quantity is the EOQ
# ordering_cost = 40.0         # per order (otherwise the order quantity is the mean lead-time demand)

# Seasonal maintenance windows (none by default). Month-days are UTC calendar days, inclusive;
# a window may wrap over new year. Empty filter lists mean "all".
# [[seasonal_windows]]
# start = "11-15"
# end = "02-15"
# uplift = 1.3
# part_classes = ["FILTER"]
# site_ids = ["PLANT-1"]

# Per part-class overrides of any [thresholds] key:
# [overrides.BEARING]
# safety_multiplier = 2.0

[pm]
safety_factor = 0.85           # interval_days = clamp(mean_mtbf_hours x safety_factor / 24, min, max)
min_interval_days = 7.0
max_interval_days = 365.0
cv_limit = 1.0                 # coefficient of variation above which the manufacturer interval is used
# lookback_days = 730          # MTBF samples only from the last N days (default: whole history)
# method = "mtbf_fraction"     # or "weibull_cost": Weibull life fit, cost-optimal PM or none (contract)
# weibull_cost keys: failure_cost, pm_cost (required), min_failures = 5, confidence = 0.95,
# slack_factor = 0.85, keep_manufacturer_interval = false; per asset group:
# [pm_costs.PUMPS]
# failure_cost = 5000.0
# pm_cost = 1000.0

[gate]
drop_factor = 3.0              # a stock drop larger than recent consumption x drop_factor ...
drop_lookback_days = 7         # ... (consumption of the last N days before the snapshot) ...
drop_slack_units = 1.0         # ... plus this many units is held for review
scan_abs_tolerance = 0.0       # a scan matches when |counted - system| <= max(abs, rel x system)
scan_rel_tolerance = 0.02

[units]
# Units of measure counted in whole pieces (case-insensitive). Parts in these units publish whole
# reorder points and maxima in multiples of their pack size, and order whole packs of at least
# their minimum order quantity (parts.csv pack_size, min_order_qty); other units keep decimals.
discrete = [
    "BAG", "BOX", "BTL", "CAN", "CASE", "DRUM", "EA", "EACH", "KIT", "PACK",
    "PAIR", "PC", "PCS", "PIECE", "PK", "PR", "ROLL", "SET", "UNIT",
]
"#;

/// How average daily usage is derived from consumption history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMethod {
    /// Consumed quantity in the rolling window divided by the window's length in days.
    MovingAverage,
    /// Syntetos–Boylan approximation of Croston on periodic buckets, service-level reorder point.
    Sba,
    /// Teunter–Syntetos–Babai (demand probability and size smoothing), service-level reorder point.
    Tsb,
    /// Lead-time demand distribution from overlapping windows of the history, reorder at a quantile.
    Empirical,
    /// Per part from its demand class: smooth → window average with service-level safety stock,
    /// intermittent/lumpy → `auto_intermittent`, erratic → empirical.
    Auto,
}

impl ThresholdMethod {
    /// The registry's name of the method.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MovingAverage => "moving_average",
            Self::Sba => "sba",
            Self::Tsb => "tsb",
            Self::Empirical => "empirical",
            Self::Auto => "auto",
        }
    }
}

fn is_period_default(v: &u32) -> bool {
    *v == 7
}
fn is_history_default(v: &u32) -> bool {
    *v == 365
}
fn is_smoothing_default(v: &f64) -> bool {
    *v == 0.1
}
fn is_level_default(v: &f64) -> bool {
    *v == 0.95
}
fn is_kind_default(v: &ServiceLevelKind) -> bool {
    *v == ServiceLevelKind::Cycle
}
fn is_intermittent_default(v: &IntermittentMethod) -> bool {
    *v == IntermittentMethod::Sba
}

/// Parameters of the threshold formula for one part class (after overrides).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThresholdParams {
    /// Length of the rolling consumption window, in days (≥ 1).
    pub window_days: u32,
    /// How average daily usage is computed.
    pub method: ThresholdMethod,
    /// `min = avg × lead × safety_multiplier` (> 0).
    pub safety_multiplier: f64,
    /// `reorder = min × reorder_factor` (> 0).
    pub reorder_factor: f64,
    /// `max = reorder × max_factor` (> 0).
    pub max_factor: f64,
    /// Decimals each threshold is rounded to.
    pub rounding_decimals: u8,
    /// Relative deviation from the baseline above which a threshold has drifted (≥ 0).
    pub drift_tolerance: f64,
    /// While drifted and unapproved, `baseline × fallback_multiplier` is published (> 0).
    pub fallback_multiplier: f64,
    /// Demand bucket length for the demand class and the SBA/TSB forecasts, days (1–365). Keys
    /// of the demand-driven methods are left out of the canonical text at their defaults, so
    /// documents written before them keep their content hash.
    #[serde(skip_serializing_if = "is_period_default")]
    pub period_days: u32,
    /// Days of history the demand-driven methods read (1–3650).
    #[serde(skip_serializing_if = "is_history_default")]
    pub history_days: u32,
    /// Smoothing constant of demand sizes (SBA, TSB) and intervals (SBA), in (0, 1].
    #[serde(skip_serializing_if = "is_smoothing_default")]
    pub alpha: f64,
    /// Smoothing constant of the demand probability (TSB), in (0, 1].
    #[serde(skip_serializing_if = "is_smoothing_default")]
    pub beta: f64,
    /// Target service level of the demand-driven methods, in [0.01, 0.9999].
    #[serde(skip_serializing_if = "is_level_default")]
    pub service_level: f64,
    /// Whether `service_level` is a cycle service level or a fill rate.
    #[serde(skip_serializing_if = "is_kind_default")]
    pub service_level_kind: ServiceLevelKind,
    /// The forecast `auto` gives intermittent and lumpy parts.
    #[serde(skip_serializing_if = "is_intermittent_default")]
    pub auto_intermittent: IntermittentMethod,
    /// Holding cost per unit and year (> 0); with `ordering_cost` the order quantity is the EOQ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holding_cost: Option<f64>,
    /// Cost per order (> 0); with `holding_cost` the order quantity is the EOQ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordering_cost: Option<f64>,
}

impl Default for ThresholdParams {
    fn default() -> Self {
        Self {
            window_days: 90,
            method: ThresholdMethod::MovingAverage,
            safety_multiplier: 1.5,
            reorder_factor: 1.25,
            max_factor: 1.5,
            rounding_decimals: 2,
            drift_tolerance: 0.40,
            fallback_multiplier: 1.0,
            period_days: 7,
            history_days: 365,
            alpha: 0.1,
            beta: 0.1,
            service_level: 0.95,
            service_level_kind: ServiceLevelKind::Cycle,
            auto_intermittent: IntermittentMethod::Sba,
            holding_cost: None,
            ordering_cost: None,
        }
    }
}

/// A part class's overrides of [`ThresholdParams`]; absent keys keep the global value.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThresholdOverrides {
    /// Overrides [`ThresholdParams::window_days`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_days: Option<u32>,
    /// Overrides [`ThresholdParams::method`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<ThresholdMethod>,
    /// Overrides [`ThresholdParams::safety_multiplier`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_multiplier: Option<f64>,
    /// Overrides [`ThresholdParams::reorder_factor`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reorder_factor: Option<f64>,
    /// Overrides [`ThresholdParams::max_factor`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_factor: Option<f64>,
    /// Overrides [`ThresholdParams::rounding_decimals`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding_decimals: Option<u8>,
    /// Overrides [`ThresholdParams::drift_tolerance`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_tolerance: Option<f64>,
    /// Overrides [`ThresholdParams::fallback_multiplier`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_multiplier: Option<f64>,
    /// Overrides [`ThresholdParams::period_days`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_days: Option<u32>,
    /// Overrides [`ThresholdParams::history_days`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_days: Option<u32>,
    /// Overrides [`ThresholdParams::alpha`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Overrides [`ThresholdParams::beta`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// Overrides [`ThresholdParams::service_level`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_level: Option<f64>,
    /// Overrides [`ThresholdParams::service_level_kind`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_level_kind: Option<ServiceLevelKind>,
    /// Overrides [`ThresholdParams::auto_intermittent`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_intermittent: Option<IntermittentMethod>,
    /// Overrides [`ThresholdParams::holding_cost`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holding_cost: Option<f64>,
    /// Overrides [`ThresholdParams::ordering_cost`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordering_cost: Option<f64>,
}

impl ThresholdOverrides {
    /// The global parameters with these overrides applied.
    pub fn apply(&self, base: ThresholdParams) -> ThresholdParams {
        ThresholdParams {
            window_days: self.window_days.unwrap_or(base.window_days),
            method: self.method.unwrap_or(base.method),
            safety_multiplier: self.safety_multiplier.unwrap_or(base.safety_multiplier),
            reorder_factor: self.reorder_factor.unwrap_or(base.reorder_factor),
            max_factor: self.max_factor.unwrap_or(base.max_factor),
            rounding_decimals: self.rounding_decimals.unwrap_or(base.rounding_decimals),
            drift_tolerance: self.drift_tolerance.unwrap_or(base.drift_tolerance),
            fallback_multiplier: self.fallback_multiplier.unwrap_or(base.fallback_multiplier),
            period_days: self.period_days.unwrap_or(base.period_days),
            history_days: self.history_days.unwrap_or(base.history_days),
            alpha: self.alpha.unwrap_or(base.alpha),
            beta: self.beta.unwrap_or(base.beta),
            service_level: self.service_level.unwrap_or(base.service_level),
            service_level_kind: self.service_level_kind.unwrap_or(base.service_level_kind),
            auto_intermittent: self.auto_intermittent.unwrap_or(base.auto_intermittent),
            holding_cost: self.holding_cost.or(base.holding_cost),
            ordering_cost: self.ordering_cost.or(base.ordering_cost),
        }
    }
}

/// How a PM interval is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PmMethod {
    /// `interval = clamp(mean MTBF × safety_factor / 24, min, max)`, the seed's policy.
    #[default]
    MtbfFraction,
    /// A censoring-aware Weibull fit and the cost-optimal age-replacement interval, or no
    /// time-based PM where it cannot pay (`cmms_core::life`).
    WeibullCost,
}

/// Default of [`PmParams::min_failures`].
const DEFAULT_MIN_FAILURES: u32 = 5;
/// Default of [`PmParams::confidence`].
const DEFAULT_CONFIDENCE: f64 = 0.95;
/// Default of [`PmParams::slack_factor`].
const DEFAULT_SLACK_FACTOR: f64 = 0.85;

// The weibull_cost keys are left out of the canonical text while at their defaults, so the
// content hash of every document written before they existed stays the same.
fn is_default_method(m: &PmMethod) -> bool {
    *m == PmMethod::MtbfFraction
}
fn is_default_min_failures(v: &u32) -> bool {
    *v == DEFAULT_MIN_FAILURES
}
fn is_default_confidence(v: &f64) -> bool {
    *v == DEFAULT_CONFIDENCE
}
fn is_default_slack(v: &f64) -> bool {
    *v == DEFAULT_SLACK_FACTOR
}
fn is_false(v: &bool) -> bool {
    !*v
}

/// Failure and PM cost of one asset group (`[pm_costs.GROUP]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PmCosts {
    /// Cost of a failure (> 0, any currency).
    pub failure_cost: f64,
    /// Cost of a preventive replacement (> 0, same currency).
    pub pm_cost: f64,
}

/// Parameters of the MTBF → PM interval policy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PmParams {
    /// `interval_days = mean_mtbf_hours × safety_factor / 24` before clamping (> 0).
    pub safety_factor: f64,
    /// Lower clamp of the MTBF-based interval, days (> 0).
    pub min_interval_days: f64,
    /// Upper clamp of the MTBF-based interval, days (≥ min, ≤ 3650).
    pub max_interval_days: f64,
    /// Coefficient of variation above which the manufacturer interval is used (≥ 0).
    pub cv_limit: f64,
    /// Only samples from the last N days count; `None` = the whole history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookback_days: Option<u32>,
    /// How the interval is decided (`mtbf_fraction` by default).
    #[serde(skip_serializing_if = "is_default_method")]
    pub method: PmMethod,
    /// weibull_cost: an asset with fewer failures is fitted on its pool (asset group) (≥ 1).
    #[serde(skip_serializing_if = "is_default_min_failures")]
    pub min_failures: u32,
    /// weibull_cost: confidence level of the wear-out test on β (in (0.5, 1)).
    #[serde(skip_serializing_if = "is_default_confidence")]
    pub confidence: f64,
    /// weibull_cost: the interval is `T* × slack_factor`, clamped (> 0, ≤ 1).
    #[serde(skip_serializing_if = "is_default_slack")]
    pub slack_factor: f64,
    /// weibull_cost: where no time-based PM pays, keep the manufacturer interval (else none).
    #[serde(skip_serializing_if = "is_false")]
    pub keep_manufacturer_interval: bool,
    /// weibull_cost: cost of a failure for asset groups without `[pm_costs.GROUP]` (> 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_cost: Option<f64>,
    /// weibull_cost: cost of a preventive replacement for groups without `[pm_costs.GROUP]` (> 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pm_cost: Option<f64>,
}

impl Default for PmParams {
    fn default() -> Self {
        Self {
            safety_factor: 0.85,
            min_interval_days: 7.0,
            max_interval_days: 365.0,
            cv_limit: 1.0,
            lookback_days: None,
            method: PmMethod::MtbfFraction,
            min_failures: DEFAULT_MIN_FAILURES,
            confidence: DEFAULT_CONFIDENCE,
            slack_factor: DEFAULT_SLACK_FACTOR,
            keep_manufacturer_interval: false,
            failure_cost: None,
            pm_cost: None,
        }
    }
}

/// Parameters of the inventory gate (snapshot plausibility and scan reconciliation). They live in
/// the registry so that stores managers tune them like any other formula parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GateParams {
    /// A stock drop larger than `recent consumption × drop_factor + drop_slack_units` is held (≥ 0).
    pub drop_factor: f64,
    /// "Recent consumption" = consumption in the last N days before the snapshot (≥ 1).
    pub drop_lookback_days: u32,
    /// Absolute slack added to the explainable drop, in stock units (≥ 0): absorbs counting noise.
    pub drop_slack_units: f64,
    /// Absolute scan tolerance in stock units (≥ 0).
    pub scan_abs_tolerance: f64,
    /// Relative scan tolerance as a fraction of system stock (≥ 0).
    pub scan_rel_tolerance: f64,
}

impl Default for GateParams {
    fn default() -> Self {
        Self {
            drop_factor: 3.0,
            drop_lookback_days: 7,
            drop_slack_units: 1.0,
            scan_abs_tolerance: 0.0,
            scan_rel_tolerance: 0.02,
        }
    }
}

/// The whole parameter document as written in TOML. Defaults fill absent keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FormulaParams {
    /// Document schema; only [`SCHEMA_VERSION`] is understood.
    pub schema: u32,
    /// Global threshold parameters.
    pub thresholds: ThresholdParams,
    /// Seasonal maintenance windows (canonically ordered after validation).
    pub seasonal_windows: Vec<SeasonalWindow>,
    /// Per part-class overrides of the threshold parameters.
    pub overrides: BTreeMap<PartClass, ThresholdOverrides>,
    /// PM interval policy.
    pub pm: PmParams,
    /// Inventory gate.
    pub gate: GateParams,
    /// Discrete units of measure (whole-unit thresholds and orders).
    pub units: UnitsParams,
    /// Failure and PM costs per asset group (`weibull_cost`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pm_costs: BTreeMap<AssetGroup, PmCosts>,
}

impl Default for FormulaParams {
    fn default() -> Self {
        Self {
            schema: SCHEMA_VERSION,
            thresholds: ThresholdParams::default(),
            seasonal_windows: Vec::new(),
            overrides: BTreeMap::new(),
            pm: PmParams::default(),
            gate: GateParams::default(),
            units: UnitsParams::default(),
            pm_costs: BTreeMap::new(),
        }
    }
}

/// Why a formula document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormulaError {
    /// Not TOML, a wrong type, an unknown key or an unknown method (toml names line and column).
    #[error("formula document is not valid: {0}")]
    Syntax(String),
    /// A `schema` this build does not read.
    #[error("unsupported formula schema {0} (this build reads schema {SCHEMA_VERSION})")]
    UnsupportedSchema(u32),
    /// A value outside its allowed range.
    #[error("{path}: {reason}")]
    OutOfRange {
        /// Dotted path of the offending key, e.g. `overrides.BEARING.safety_multiplier`.
        path: String,
        /// The rule it breaks.
        reason: String,
    },
}

struct Checker<'p> {
    prefix: &'p str,
}

impl Checker<'_> {
    fn fail(&self, key: &str, reason: String) -> FormulaError {
        FormulaError::OutOfRange { path: format!("{}.{key}", self.prefix), reason }
    }
    fn positive(&self, key: &str, v: f64) -> Result<(), FormulaError> {
        if v.is_finite() && v > 0.0 { Ok(()) } else { Err(self.fail(key, format!("must be a number > 0 (got {v})"))) }
    }
    fn non_negative(&self, key: &str, v: f64) -> Result<(), FormulaError> {
        if v.is_finite() && v >= 0.0 { Ok(()) } else { Err(self.fail(key, format!("must be a number >= 0 (got {v})"))) }
    }
    fn within<T: PartialOrd + fmt::Display>(&self, key: &str, v: T, lo: T, hi: T) -> Result<(), FormulaError> {
        if lo <= v && v <= hi {
            Ok(())
        } else {
            Err(self.fail(key, format!("must be between {lo} and {hi} (got {v})")))
        }
    }
}

impl ThresholdParams {
    fn validate(&self, prefix: &str) -> Result<(), FormulaError> {
        let c = Checker { prefix };
        c.within("window_days", self.window_days, 1, MAX_WINDOW_DAYS)?;
        c.positive("safety_multiplier", self.safety_multiplier)?;
        c.positive("reorder_factor", self.reorder_factor)?;
        c.positive("max_factor", self.max_factor)?;
        c.within("rounding_decimals", self.rounding_decimals, 0, MAX_ROUNDING_DECIMALS)?;
        c.non_negative("drift_tolerance", self.drift_tolerance)?;
        c.positive("fallback_multiplier", self.fallback_multiplier)?;
        c.within("period_days", self.period_days, 1, 365)?;
        c.within("history_days", self.history_days, 1, MAX_WINDOW_DAYS)?;
        c.positive("alpha", self.alpha)?;
        c.within("alpha", self.alpha, 0.0, 1.0)?;
        c.positive("beta", self.beta)?;
        c.within("beta", self.beta, 0.0, 1.0)?;
        c.positive("service_level", self.service_level)?;
        c.within("service_level", self.service_level, 0.01, 0.9999)?;
        if let Some(h) = self.holding_cost {
            c.positive("holding_cost", h)?;
        }
        if let Some(k) = self.ordering_cost {
            c.positive("ordering_cost", k)?;
        }
        Ok(())
    }
}

impl PmParams {
    fn validate(&self) -> Result<(), FormulaError> {
        let c = Checker { prefix: "pm" };
        c.positive("safety_factor", self.safety_factor)?;
        c.positive("min_interval_days", self.min_interval_days)?;
        c.within("max_interval_days", self.max_interval_days, self.min_interval_days, MAX_FALLBACK_INTERVAL_DAYS)?;
        c.non_negative("cv_limit", self.cv_limit)?;
        if let Some(d) = self.lookback_days {
            c.within("lookback_days", d, 1, MAX_LOOKBACK_DAYS)?;
        }
        c.within("min_failures", self.min_failures, 1, u32::MAX)?;
        if !(self.confidence > 0.5 && self.confidence < 1.0) {
            return Err(c.fail("confidence", format!("must be in (0.5, 1), got {}", self.confidence)));
        }
        c.positive("slack_factor", self.slack_factor)?;
        if self.slack_factor > 1.0 {
            return Err(c.fail("slack_factor", format!("must be at most 1 (got {})", self.slack_factor)));
        }
        for (key, v) in [("failure_cost", self.failure_cost), ("pm_cost", self.pm_cost)] {
            match v {
                Some(v) => c.positive(key, v)?,
                None if self.method == PmMethod::WeibullCost => {
                    return Err(c.fail(key, "is required with method = \"weibull_cost\"".to_owned()));
                }
                None => {}
            }
        }
        Ok(())
    }
}

impl GateParams {
    fn validate(&self) -> Result<(), FormulaError> {
        let c = Checker { prefix: "gate" };
        c.non_negative("drop_factor", self.drop_factor)?;
        c.within("drop_lookback_days", self.drop_lookback_days, 1, MAX_LOOKBACK_DAYS)?;
        c.non_negative("drop_slack_units", self.drop_slack_units)?;
        c.non_negative("scan_abs_tolerance", self.scan_abs_tolerance)?;
        c.non_negative("scan_rel_tolerance", self.scan_rel_tolerance)
    }
}

impl FormulaParams {
    /// Checks every range and brings the document into canonical form: filter lists sorted and
    /// de-duplicated, windows in a fixed order, `-0.0` written as `0.0`. Canonical form makes the
    /// content hash independent of how the TOML was written, and makes summing window uplifts
    /// independent of their order in the file.
    fn normalize_and_validate(mut self) -> Result<Self, FormulaError> {
        if self.schema != SCHEMA_VERSION {
            return Err(FormulaError::UnsupportedSchema(self.schema));
        }
        self.thresholds.drift_tolerance += 0.0;
        self.thresholds.validate("thresholds")?;
        for (class, o) in &mut self.overrides {
            o.drift_tolerance = o.drift_tolerance.map(|v| v + 0.0);
            o.apply(self.thresholds).validate(&format!("overrides.{class}"))?;
        }
        for w in &mut self.seasonal_windows {
            w.part_classes.sort();
            w.part_classes.dedup();
            w.site_ids.sort();
            w.site_ids.dedup();
        }
        self.seasonal_windows.sort_by(|a, b| {
            (a.start, a.end)
                .cmp(&(b.start, b.end))
                .then(a.uplift.total_cmp(&b.uplift))
                .then_with(|| a.part_classes.cmp(&b.part_classes))
                .then_with(|| a.site_ids.cmp(&b.site_ids))
        });
        for (i, w) in self.seasonal_windows.iter().enumerate() {
            Checker { prefix: &format!("seasonal_windows[{i}]") }.positive("uplift", w.uplift)?;
        }
        self.pm.cv_limit += 0.0;
        self.pm.validate()?;
        let g = &mut self.gate;
        g.drop_factor += 0.0;
        g.drop_slack_units += 0.0;
        g.scan_abs_tolerance += 0.0;
        g.scan_rel_tolerance += 0.0;
        self.gate.validate()?;
        self.units
            .normalize()
            .map_err(|(i, reason)| FormulaError::OutOfRange { path: format!("units.discrete[{i}]"), reason })?;
        for (group, costs) in &self.pm_costs {
            let c = Checker { prefix: &format!("pm_costs.{group}") };
            c.positive("failure_cost", costs.failure_cost)?;
            c.positive("pm_cost", costs.pm_cost)?;
        }
        Ok(self)
    }
}

/// A validated formula version: the parameters plus their canonical text. Only constructible
/// through validation, so every `FormulaSet` in the system is in range.
#[derive(Debug, Clone, PartialEq)]
pub struct FormulaSet {
    params: FormulaParams,
    canonical: String,
}

impl FormulaSet {
    /// Parses and validates a TOML formula document.
    pub fn parse(text: &str) -> Result<Self, FormulaError> {
        let params: FormulaParams = toml::from_str(text).map_err(|e| FormulaError::Syntax(e.to_string()))?;
        Self::from_params(params)
    }

    /// Validates parameters built in code.
    pub fn from_params(params: FormulaParams) -> Result<Self, FormulaError> {
        let params = params.normalize_and_validate()?;
        let canonical = toml::to_string(&params).map_err(|e| FormulaError::Syntax(e.to_string()))?;
        Ok(Self { params, canonical })
    }

    /// The built-in defaults ([`DEFAULT_FORMULAS_TOML`]).
    pub fn defaults() -> Self {
        // The defaults are a constant checked by a unit test; failing here is a build defect.
        Self::from_params(FormulaParams::default()).expect("default formula parameters are valid")
    }

    /// The validated parameters.
    pub fn params(&self) -> &FormulaParams {
        &self.params
    }

    /// The threshold parameters for a part class, overrides applied.
    pub fn params_for(&self, class: &PartClass) -> ThresholdParams {
        match self.params.overrides.get(class) {
            Some(o) => o.apply(self.params.thresholds),
            None => self.params.thresholds,
        }
    }

    /// The seasonal windows that apply to a part of this class at this site, in canonical order.
    pub fn seasonal_windows_for<'a>(
        &'a self,
        class: &'a PartClass,
        site: &'a SiteId,
    ) -> impl Iterator<Item = &'a SeasonalWindow> + Clone + 'a {
        self.params.seasonal_windows.iter().filter(move |w| w.applies_to(class, site))
    }

    /// The PM interval policy.
    pub fn pm(&self) -> &PmParams {
        &self.params.pm
    }

    /// The failure and PM cost of an asset group for `weibull_cost`: its `[pm_costs.GROUP]`, else
    /// the `[pm]` defaults (`None` when neither is set).
    pub fn pm_costs_for(&self, group: &AssetGroup) -> Option<PmCosts> {
        let pm = &self.params.pm;
        let defaults = pm.failure_cost.zip(pm.pm_cost).map(|(failure_cost, pm_cost)| PmCosts { failure_cost, pm_cost });
        self.params.pm_costs.get(group).copied().or(defaults)
    }

    /// The inventory gate parameters.
    pub fn gate(&self) -> &GateParams {
        &self.params.gate
    }

    /// The discrete units of measure.
    pub fn units(&self) -> &UnitsParams {
        &self.params.units
    }

    /// The whole-unit policy of a part with this unit of measure, pack size and minimum order
    /// quantity (see [`crate::units`]).
    pub fn unit_policy(&self, unit: &str, pack_size: Option<Quantity>, min_order_qty: Option<Quantity>) -> UnitPolicy {
        self.params.units.policy(unit, pack_size, min_order_qty)
    }

    /// The canonical TOML text: every key spelled out, fixed order, fixed number format.
    pub fn canonical_toml(&self) -> &str {
        &self.canonical
    }

    /// Lower-case hex SHA-256 of [`Self::canonical_toml`]: equal parameter sets hash equal however
    /// their TOML was formatted, commented or ordered.
    pub fn content_hash(&self) -> String {
        Sha256::digest(self.canonical.as_bytes()).iter().fold(String::with_capacity(64), |mut s, b| {
            use fmt::Write;
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

impl Default for FormulaSet {
    fn default() -> Self {
        Self::defaults()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> PartClass {
        PartClass::parse(s).unwrap()
    }

    #[test]
    fn shipped_document_and_empty_document_are_the_defaults() {
        let shipped = FormulaSet::parse(DEFAULT_FORMULAS_TOML).unwrap();
        assert_eq!(shipped.params(), &FormulaParams::default());
        assert_eq!(FormulaSet::parse("").unwrap(), shipped);
        assert_eq!(FormulaSet::defaults(), shipped);
        assert_eq!(shipped.content_hash().len(), 64);
    }

    #[test]
    fn hash_ignores_formatting_order_and_explicit_defaults() {
        let a = FormulaSet::parse(
            "[thresholds]\nsafety_multiplier = 2.0\n[[seasonal_windows]]\nstart='11-15'\nend='02-15'\nuplift=1.3\npart_classes=['B','A','A']\n[[seasonal_windows]]\nstart='06-01'\nend='06-30'\nuplift=1.1\n",
        )
        .unwrap();
        let b = FormulaSet::parse(
            "# other layout\n[[seasonal_windows]]\nuplift = 1.1\nend = \"06-30\"\nstart = \"06-01\"\n\n[[seasonal_windows]]\nstart = \"11-15\"\nend = \"02-15\"\nuplift = 1.30\npart_classes = [\"A\", \"B\"]\n\n[thresholds]\nwindow_days = 90\nsafety_multiplier = 2\n",
        )
        .unwrap();
        assert_eq!(a.content_hash(), b.content_hash());
        assert_eq!(a, b);
        assert_ne!(a.content_hash(), FormulaSet::defaults().content_hash());
    }

    #[test]
    fn unknown_keys_and_methods_are_rejected_with_the_key_named() {
        let e = FormulaSet::parse("[thresholds]\nsafety_multiplyer = 2.0\n").unwrap_err();
        assert!(e.to_string().contains("safety_multiplyer"), "{e}");
        let e = FormulaSet::parse("colour = 1\n").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        let e = FormulaSet::parse("[thresholds]\nmethod = \"ewma\"\n").unwrap_err();
        assert!(e.to_string().contains("moving_average"), "{e}");
        let e = FormulaSet::parse("[overrides.BEARING]\nwindow = 3\n").unwrap_err();
        assert!(e.to_string().contains("window"), "{e}");
        assert_eq!(FormulaSet::parse("schema = 2").unwrap_err(), FormulaError::UnsupportedSchema(2));
    }

    #[test]
    fn range_checks_name_the_path() {
        let cases = [
            ("[thresholds]\nsafety_multiplier = 0\n", "thresholds.safety_multiplier"),
            ("[thresholds]\nwindow_days = 0\n", "thresholds.window_days"),
            ("[thresholds]\nrounding_decimals = 12\n", "thresholds.rounding_decimals"),
            ("[thresholds]\ndrift_tolerance = -0.1\n", "thresholds.drift_tolerance"),
            ("[thresholds]\nreorder_factor = nan\n", "thresholds.reorder_factor"),
            ("[overrides.BRG]\nmax_factor = -1\n", "overrides.BRG.max_factor"),
            ("[[seasonal_windows]]\nstart='01-01'\nend='01-31'\nuplift=0\n", "seasonal_windows[0].uplift"),
            ("[pm]\nmin_interval_days = 30\nmax_interval_days = 10\n", "pm.max_interval_days"),
            ("[pm]\nlookback_days = 0\n", "pm.lookback_days"),
            ("[gate]\ndrop_lookback_days = 0\n", "gate.drop_lookback_days"),
            ("[units]\ndiscrete = ['EA', 'two words']\n", "units.discrete[1]"),
        ];
        for (doc, path) in cases {
            match FormulaSet::parse(doc) {
                Err(FormulaError::OutOfRange { path: p, .. }) => assert_eq!(p, path, "{doc}"),
                other => panic!("{doc}: {other:?}"),
            }
        }
        for bad in ["13-01", "02-30", "2-1", "00-10", "11/15", "1115x"] {
            let doc = format!("[[seasonal_windows]]\nstart='{bad}'\nend='01-31'\nuplift=1.2\n");
            assert!(matches!(FormulaSet::parse(&doc), Err(FormulaError::Syntax(_))), "{bad}");
        }
        assert!("02-29".parse::<MonthDay>().is_ok());
    }

    #[test]
    fn units_section_is_canonical_and_resolves_part_policies() {
        let a = FormulaSet::parse("[units]\ndiscrete = ['kit', 'EA', 'ea']\n").unwrap();
        let b = FormulaSet::parse("[units]\ndiscrete = ['EA', 'KIT']\n").unwrap();
        assert_eq!(a.content_hash(), b.content_hash());
        assert_eq!(a.units().discrete, ["EA", "KIT"]);
        assert!(a.unit_policy("Kit", None, None).discrete);
        assert!(!a.unit_policy("PR", None, None).discrete);
        assert!(FormulaSet::defaults().unit_policy("PR", None, None).discrete);
        let none = FormulaSet::parse("[units]\ndiscrete = []\n").unwrap();
        assert!(!none.unit_policy("EA", None, None).discrete);
        let d: Vec<String> = diff(&FormulaSet::defaults(), &b).iter().map(ToString::to_string).collect();
        assert_eq!(d.len(), 1);
        assert!(d[0].starts_with("units.discrete: [\"BAG\""), "{d:?}");
    }

    #[test]
    fn overrides_apply_per_class_only() {
        let f = FormulaSet::parse(
            "[thresholds]\nsafety_multiplier = 1.6\n[overrides.BEARING]\nsafety_multiplier = 2.0\nwindow_days = 30\n",
        )
        .unwrap();
        let b = f.params_for(&class("BEARING"));
        assert_eq!((b.safety_multiplier, b.window_days, b.reorder_factor), (2.0, 30, 1.25));
        let o = f.params_for(&class("FILTER"));
        assert_eq!((o.safety_multiplier, o.window_days), (1.6, 90));
    }

    #[test]
    fn windows_filter_by_class_and_site() {
        let f = FormulaSet::parse(
            "[[seasonal_windows]]\nstart='11-15'\nend='02-15'\nuplift=1.3\npart_classes=['FILTER']\n[[seasonal_windows]]\nstart='06-01'\nend='06-30'\nuplift=1.1\nsite_ids=['S2']\n",
        )
        .unwrap();
        let s1 = SiteId::parse("S1").unwrap();
        let s2 = SiteId::parse("S2").unwrap();
        assert_eq!(f.seasonal_windows_for(&class("FILTER"), &s1).count(), 1);
        assert_eq!(f.seasonal_windows_for(&class("FILTER"), &s2).count(), 2);
        assert_eq!(f.seasonal_windows_for(&class("BEARING"), &s1).count(), 0);
        assert!(f.params().seasonal_windows.iter().any(SeasonalWindow::wraps));
    }

    #[test]
    fn diff_lists_changed_added_and_removed_paths() {
        let a = FormulaSet::defaults();
        let b = FormulaSet::parse(
            "[thresholds]\nsafety_multiplier = 1.8\n[overrides.BEARING]\nmax_factor = 2.0\n[pm]\nlookback_days = 365\n",
        )
        .unwrap();
        let d = diff(&a, &b);
        let show: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(
            show,
            [
                "overrides.BEARING.max_factor: (absent) -> 2.0",
                "pm.lookback_days: (absent) -> 365",
                "thresholds.safety_multiplier: 1.5 -> 1.8",
            ]
        );
        assert!(diff(&a, &a).is_empty());
        let back = diff(&b, &a);
        assert_eq!(back.len(), 3);
        assert!(back.iter().all(|c| c.new.is_none() || c.path.starts_with("thresholds")));
    }

    #[test]
    fn canonical_text_round_trips() {
        let f = FormulaSet::parse(
            "[[seasonal_windows]]\nstart='12-01'\nend='01-31'\nuplift=1.25\n[overrides.X]\nrounding_decimals=3\n",
        )
        .unwrap();
        let again = FormulaSet::parse(f.canonical_toml()).unwrap();
        assert_eq!(again, f);
        assert_eq!(again.content_hash(), f.content_hash());
    }

    #[test]
    fn weibull_cost_keys_validate_and_leave_existing_hashes_alone() {
        let defaults = FormulaSet::defaults();
        let text = defaults.canonical_toml();
        let pm = &text[text.find("[pm]").unwrap()..];
        let pm = &pm[..pm[1..].find('[').map_or(pm.len(), |i| i + 1)];
        assert!(pm.contains("safety_factor"), "{pm}");
        for key in ["method", "min_failures", "confidence", "slack_factor", "keep_manufacturer", "cost"] {
            assert!(!text.contains("pm_costs") && !pm.contains(key), "{key} in {pm}");
        }
        let explicit =
            FormulaSet::parse("[pm]\nmethod = \"mtbf_fraction\"\nmin_failures = 5\nslack_factor = 0.85\n").unwrap();
        assert_eq!(explicit.content_hash(), defaults.content_hash());
        let w = FormulaSet::parse(
            "[pm]\nmethod = \"weibull_cost\"\nfailure_cost = 5.0\npm_cost = 1.0\n[pm_costs.PUMPS]\nfailure_cost = 9.0\npm_cost = 3.0\n",
        )
        .unwrap();
        assert_eq!(w.pm().method, PmMethod::WeibullCost);
        let group = |s: &str| AssetGroup::parse(s).unwrap();
        assert_eq!(w.pm_costs_for(&group("PUMPS")), Some(PmCosts { failure_cost: 9.0, pm_cost: 3.0 }));
        assert_eq!(w.pm_costs_for(&group("FANS")), Some(PmCosts { failure_cost: 5.0, pm_cost: 1.0 }));
        assert_eq!(defaults.pm_costs_for(&group("FANS")), None);
        for (doc, path) in [
            ("[pm]\nmethod = \"weibull_cost\"\npm_cost = 1.0\n", "pm.failure_cost"),
            ("[pm]\nmin_failures = 0\n", "pm.min_failures"),
            ("[pm]\nconfidence = 1.0\n", "pm.confidence"),
            ("[pm]\nslack_factor = 1.5\n", "pm.slack_factor"),
            ("[pm_costs.PUMPS]\nfailure_cost = 5.0\npm_cost = 0.0\n", "pm_costs.PUMPS.pm_cost"),
        ] {
            let e = FormulaSet::parse(doc).unwrap_err();
            assert!(e.to_string().contains(path), "{doc}: {e}");
        }
        assert!(FormulaSet::parse("[pm]\nmethod = \"guess\"\n").is_err());
    }
}
