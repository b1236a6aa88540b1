//! Drift detection (docs/contract.md#drift): compares computed limits with the part master's
//! static baseline and decides what is published — the computed limits, or the conservative
//! fallback (`baseline × fallback_multiplier`) until an operator approves the computed ones.

use crate::formula::ThresholdParams;
use crate::quantity::Quantity;
use crate::thresholds::{Limits, round_decimals};

/// The static limits of the part master; any of them may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Baseline {
    /// Baseline minimum.
    pub min: Option<Quantity>,
    /// Baseline reorder point.
    pub reorder: Option<Quantity>,
    /// Baseline maximum.
    pub max: Option<Quantity>,
}

/// One of the three limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitField {
    /// The minimum.
    Min,
    /// The reorder point.
    Reorder,
    /// The maximum.
    Max,
}

impl LimitField {
    /// All three, in the order min, reorder, max.
    pub const ALL: [LimitField; 3] = [Self::Min, Self::Reorder, Self::Max];

    /// Lower-case name (`min`, `reorder`, `max`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Min => "min",
            Self::Reorder => "reorder",
            Self::Max => "max",
        }
    }

    fn of_limits(self, l: &Limits) -> f64 {
        match self {
            Self::Min => l.min,
            Self::Reorder => l.reorder,
            Self::Max => l.max,
        }
    }

    fn of_baseline(self, b: &Baseline) -> Option<Quantity> {
        match self {
            Self::Min => b.min,
            Self::Reorder => b.reorder,
            Self::Max => b.max,
        }
    }
}

/// How far one computed limit is from its baseline.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FieldDeviation {
    /// Which limit.
    pub field: LimitField,
    /// The computed value.
    pub computed: f64,
    /// The baseline value.
    pub baseline: f64,
    /// `|computed − baseline| / baseline`; 0 when both are 0, `f64::INFINITY` when the baseline is
    /// 0 and the computed value is not (store it as "unbounded", JSON has no infinity).
    pub deviation: f64,
    /// Whether `deviation` exceeds the tolerance (strictly).
    pub exceeds: bool,
}

/// The comparison of all limits that have a baseline.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DriftReport {
    /// Per limit, in the order min, reorder, max; `None` where the baseline is missing (no check).
    pub fields: [Option<FieldDeviation>; 3],
    /// The tolerance used.
    pub tolerance: f64,
}

impl DriftReport {
    /// Whether any limit exceeds the tolerance.
    pub fn drifted(&self) -> bool {
        self.deviations().any(|d| d.exceeds)
    }

    /// The checked limits.
    pub fn deviations(&self) -> impl Iterator<Item = &FieldDeviation> {
        self.fields.iter().flatten()
    }
}

/// Compares computed limits with the baseline. A missing baseline value is not checked.
pub fn assess(computed: &Limits, baseline: &Baseline, tolerance: f64) -> DriftReport {
    let fields = LimitField::ALL.map(|field| {
        let base = field.of_baseline(baseline)?.get();
        let value = field.of_limits(computed);
        let deviation =
            if base == 0.0 { if value == 0.0 { 0.0 } else { f64::INFINITY } } else { (value - base).abs() / base };
        Some(FieldDeviation { field, computed: value, baseline: base, deviation, exceeds: deviation > tolerance })
    });
    DriftReport { fields, tolerance }
}

/// Which limits are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PublishBasis {
    /// No drift: the computed limits.
    Computed,
    /// Drift, and an operator approved the computed limits.
    Approved,
    /// Drift without approval: the conservative fallback.
    Fallback,
}

/// The drift decision for one part.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DriftDecision {
    /// The comparison (raise a drift alert when [`DriftReport::drifted`]).
    pub report: DriftReport,
    /// Why `published` was chosen.
    pub basis: PublishBasis,
    /// The limits to publish.
    pub published: Limits,
}

/// Decides what to publish. When drifted and not `approved`, each limit that has a baseline is
/// published as `r(baseline × fallback_multiplier)` (rounded like the thresholds); a limit
/// without a baseline keeps its computed value, since there is nothing more conservative to fall
/// back to. What an approval covers (one computation, or the part until it stops drifting) is the
/// caller's policy; this function only needs to know whether the current values are approved.
pub fn decide(computed: &Limits, baseline: &Baseline, params: &ThresholdParams, approved: bool) -> DriftDecision {
    let report = assess(computed, baseline, params.drift_tolerance);
    let (basis, published) = match (report.drifted(), approved) {
        (false, _) => (PublishBasis::Computed, *computed),
        (true, true) => (PublishBasis::Approved, *computed),
        (true, false) => {
            let fallback = |field: LimitField| match field.of_baseline(baseline) {
                Some(b) => round_decimals(b.get() * params.fallback_multiplier, params.rounding_decimals),
                None => field.of_limits(computed),
            };
            let published = Limits {
                min: fallback(LimitField::Min),
                reorder: fallback(LimitField::Reorder),
                max: fallback(LimitField::Max),
            };
            (PublishBasis::Fallback, published)
        }
    };
    DriftDecision { report, basis, published }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(v: f64) -> Option<Quantity> {
        Some(Quantity::new(v).unwrap())
    }

    fn limits(min: f64, reorder: f64, max: f64) -> Limits {
        Limits { min, reorder, max }
    }

    #[test]
    fn within_tolerance_publishes_computed() {
        let b = Baseline { min: q(10.0), reorder: q(12.5), max: q(18.75) };
        // +40 % exactly is not beyond the tolerance.
        let d = decide(&limits(14.0, 12.5, 18.75), &b, &ThresholdParams::default(), false);
        assert_eq!(d.basis, PublishBasis::Computed);
        assert!(!d.report.drifted());
        assert_eq!(d.report.fields[0].unwrap().deviation, 0.4);
    }

    #[test]
    fn drift_publishes_fallback_until_approved() {
        let b = Baseline { min: q(10.0), reorder: q(12.5), max: None };
        let p = ThresholdParams { fallback_multiplier: 1.1, ..Default::default() };
        let computed = limits(15.0, 18.75, 28.12);
        let d = decide(&computed, &b, &p, false);
        assert!(d.report.drifted());
        assert_eq!(d.basis, PublishBasis::Fallback);
        assert_eq!(d.published, limits(11.0, 13.75, 28.12));
        assert!(d.report.fields[2].is_none());
        let a = decide(&computed, &b, &p, true);
        assert_eq!((a.basis, a.published), (PublishBasis::Approved, computed));
    }

    #[test]
    fn zero_baselines_and_missing_baselines() {
        let zero = Baseline { min: q(0.0), reorder: q(0.0), max: q(0.0) };
        assert!(!assess(&limits(0.0, 0.0, 0.0), &zero, 0.4).drifted());
        let r = assess(&limits(0.01, 0.0, 0.0), &zero, 0.4);
        assert!(r.drifted());
        assert_eq!(r.fields[0].unwrap().deviation, f64::INFINITY);
        assert!(!assess(&limits(1e9, 1e9, 1e9), &Baseline::default(), 0.4).drifted());
        // Demand stopped: computed 0 against a positive baseline is a 100 % deviation.
        assert!(assess(&limits(0.0, 0.0, 0.0), &Baseline { min: q(5.0), ..Default::default() }, 0.4).drifted());
    }
}
