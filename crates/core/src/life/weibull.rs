//! Life models fitted to right-censored lives: the exponential (constant hazard) with chi-square
//! bounds, and the two-parameter Weibull by maximum likelihood with Fisher-matrix and
//! likelihood-ratio bounds on the shape.
//!
//! Notation: lives `tᵢ > 0`, `δᵢ = 1` for a failure and 0 for a suspension, `r = Σ δᵢ` failures,
//! `T = Σ tᵢ` total exposure. Weibull `R(t) = exp(−(t/α)^β)`.
//!
//! **Weibull MLE.** For a fixed shape β the scale maximising the likelihood is
//! `α̂(β)^β = Σ tᵢ^β / r`; substituting it leaves the profile log-likelihood
//! `ℓₚ(β) = r ln β − r ln(Σ tᵢ^β / r) + (β − 1) Σ_{δ=1} ln tᵢ − r`, whose derivative is
//! `−r·g(β)` with `g(β) = Σ tᵢ^β ln tᵢ / Σ tᵢ^β − 1/β − (1/r) Σ_{δ=1} ln tᵢ`. `g` is strictly
//! increasing (its derivative is a weighted variance of `ln t` plus `1/β²`), so the MLE is its one
//! root, found by [`increasing_root`] after bracketing. Every power is taken as
//! `exp(β (ln tᵢ − ln t_max)) ≤ 1`, so nothing overflows however large β or the times are. A root
//! exists unless every failure is at the longest time (then the likelihood grows without bound in
//! β and no fit is returned).

use super::special::{chi_square_quantile, gamma, increasing_root, normal_quantile};
use super::{Life, LifeError};

/// Exponential (constant hazard) fit with censoring.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ExponentialFit {
    /// Failures `r`.
    pub failures: usize,
    /// Total exposure `T`, hours.
    pub exposure_hours: f64,
    /// `MTBF = T / r`, hours (`None` without a failure).
    pub mtbf_hours: Option<f64>,
    /// Two-sided lower bound `2T / χ²((1+c)/2; 2r+2)` (time-terminated test), hours.
    pub mtbf_lower_hours: Option<f64>,
    /// Two-sided upper bound `2T / χ²((1−c)/2; 2r)`, hours (`None` without a failure: unbounded).
    pub mtbf_upper_hours: Option<f64>,
}

/// The exponential fit of `lives` with two-sided bounds at `confidence` (e.g. 0.95). The record
/// ends at a time, not at a failure count, so the lower bound takes `2r + 2` degrees of freedom.
pub fn fit_exponential(lives: &[Life], confidence: f64) -> ExponentialFit {
    fit_exponential_with(lives, &BoundQuantiles::new(confidence, 0))
}

/// [`fit_exponential`] with the quantiles computed beforehand.
pub(crate) fn fit_exponential_with(lives: &[Life], q: &BoundQuantiles) -> ExponentialFit {
    let failures = lives.iter().filter(|l| l.failed).count();
    let exposure_hours: f64 = lives.iter().map(|l| l.hours).sum();
    let r = failures as f64;
    let (chi_lower, chi_upper) = q.exponential(failures);
    let lower = (exposure_hours > 0.0).then(|| 2.0 * exposure_hours / chi_lower);
    let (mtbf, upper) =
        if failures == 0 { (None, None) } else { (Some(exposure_hours / r), Some(2.0 * exposure_hours / chi_upper)) };
    ExponentialFit { failures, exposure_hours, mtbf_hours: mtbf, mtbf_lower_hours: lower, mtbf_upper_hours: upper }
}

/// The chi-square and normal quantiles the bounds at one confidence level take. Each is a root
/// solve costing more than a whole Weibull fit, so a batch of decisions computes them once.
#[derive(Debug, Clone)]
pub(crate) struct BoundQuantiles {
    /// Confidence level `c`.
    confidence: f64,
    /// `χ²(c; 1)`, the likelihood-ratio cut-off.
    lr_cut: f64,
    /// `Φ⁻¹(½ + c/2)`, the Fisher-bound multiplier.
    z: f64,
    /// By failure count `r`: `χ²((1+c)/2; 2r+2)` and `χ²((1−c)/2; 2r)` (NaN for `r = 0`).
    exponential: Vec<(f64, f64)>,
}

impl BoundQuantiles {
    /// The quantiles at `confidence`, the exponential ones tabulated for up to `max_failures`
    /// failures (larger counts are computed when asked for).
    pub(crate) fn new(confidence: f64, max_failures: usize) -> Self {
        let mut q = Self {
            confidence,
            lr_cut: chi_square_quantile(confidence, 1.0),
            z: normal_quantile(0.5 + confidence / 2.0),
            exponential: Vec::new(),
        };
        q.exponential = (0..=max_failures).map(|r| q.exponential_quantiles(r)).collect();
        q
    }

    fn exponential_quantiles(&self, failures: usize) -> (f64, f64) {
        let (r, tail) = (failures as f64, (1.0 - self.confidence) / 2.0);
        (chi_square_quantile(1.0 - tail, 2.0 * r + 2.0), chi_square_quantile(tail, 2.0 * r))
    }

    fn exponential(&self, failures: usize) -> (f64, f64) {
        self.exponential.get(failures).copied().unwrap_or_else(|| self.exponential_quantiles(failures))
    }
}

/// A two-parameter Weibull distribution.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Weibull {
    /// Shape β (> 0).
    pub shape: f64,
    /// Scale α, hours (> 0).
    pub scale: f64,
}

impl Weibull {
    /// `R(t) = exp(−(t/α)^β)`.
    pub fn reliability(&self, t: f64) -> f64 {
        (-(t / self.scale).powf(self.shape)).exp()
    }

    /// Hazard `h(t) = (β/α)(t/α)^(β−1)`.
    pub fn hazard(&self, t: f64) -> f64 {
        self.shape / self.scale * (t / self.scale).powf(self.shape - 1.0)
    }

    /// Mean life `α Γ(1 + 1/β)`.
    pub fn mean(&self) -> f64 {
        self.scale * gamma(1.0 + 1.0 / self.shape)
    }

    /// The age by which a fraction `p` has failed: `α (−ln(1−p))^(1/β)` (B10 is `p = 0.1`).
    pub fn b_life(&self, p: f64) -> f64 {
        self.scale * (-(1.0 - p).ln()).powf(1.0 / self.shape)
    }
}

/// A Weibull maximum-likelihood fit with its bounds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct WeibullFit {
    /// The fitted distribution.
    pub model: Weibull,
    /// Failures.
    pub failures: usize,
    /// Suspensions (right-censored lives).
    pub suspensions: usize,
    /// Log-likelihood at the fit (densities in 1/hours).
    pub log_likelihood: f64,
    /// Confidence level of the bounds.
    pub confidence: f64,
    /// Likelihood-ratio bounds on β: `2(ℓₚ(β̂) − ℓₚ(β)) = χ²(c; 1)`.
    pub shape_lr: (f64, f64),
    /// Fisher-matrix bounds on β: `β̂ exp(∓z·se(β̂)/β̂)` from the observed information.
    pub shape_fisher: (f64, f64),
    /// Fisher-matrix bounds on α: `α̂ exp(∓z·se(α̂)/α̂)`.
    pub scale_fisher: (f64, f64),
}

/// Sums of `wᵢ = exp(β sᵢ)`, `wᵢ sᵢ` and `wᵢ sᵢ²` over all lives (`sᵢ = ln tᵢ − ln t_max`).
fn moments(s: &[f64], beta: f64) -> (f64, f64, f64) {
    s.iter().fold((0.0, 0.0, 0.0), |(e0, e1, e2), &si| {
        let w = (beta * si).exp();
        (e0 + w, e1 + w * si, e2 + w * si * si)
    })
}

/// Shifted log times and what the profile likelihood needs of them.
struct Profile {
    /// `ln tᵢ − ln t_max`, every life.
    s: Vec<f64>,
    /// `ln t_max`.
    shift: f64,
    /// Failures.
    r: f64,
    /// `Σ_{δ=1} sᵢ`.
    sum_fail_s: f64,
}

/// The profile likelihood and its score at one shape.
#[derive(Debug, Clone, Copy)]
struct AtShape {
    /// `ℓₚ(β)`.
    ll: f64,
    /// `g(β)`.
    g: f64,
    /// `g'(β)`.
    dg: f64,
    /// `ln α̂(β)`.
    ln_scale: f64,
}

impl Profile {
    fn new(lives: &[Life]) -> Result<Self, LifeError> {
        if let Some(bad) = lives.iter().find(|l| !(l.hours > 0.0 && l.hours.is_finite())) {
            return Err(LifeError::InvalidLife(bad.hours));
        }
        let failures = lives.iter().filter(|l| l.failed).count();
        if failures == 0 {
            return Err(LifeError::NoFailures);
        }
        let mut s: Vec<f64> = lives.iter().map(|l| l.hours.ln()).collect();
        let shift = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        s.iter_mut().for_each(|si| *si -= shift);
        let sum_fail_s = lives.iter().zip(&s).filter(|(l, _)| l.failed).map(|(_, &si)| si).sum::<f64>();
        if sum_fail_s == 0.0 {
            return Err(LifeError::NoFiniteShape);
        }
        Ok(Self { s, shift, r: failures as f64, sum_fail_s })
    }

    /// `g(β)` and `g'(β)`.
    fn score(&self, beta: f64) -> (f64, f64) {
        let (e0, e1, e2) = moments(&self.s, beta);
        let m1 = e1 / e0;
        (m1 - 1.0 / beta - self.sum_fail_s / self.r, (e2 / e0 - m1 * m1) + 1.0 / (beta * beta))
    }

    /// `ℓₚ(β)` in original units: `r ln β − rβ ln α̂ + (β−1) Σ_{δ=1} ln tᵢ − r`.
    #[cfg(test)]
    fn log_likelihood(&self, beta: f64) -> f64 {
        self.all(beta).ll
    }

    /// `ℓₚ(β)`, `g(β)`, `g'(β)` and `ln α̂(β)` from one pass over the lives.
    fn all(&self, beta: f64) -> AtShape {
        let (e0, e1, e2) = moments(&self.s, beta);
        let m1 = e1 / e0;
        let ln_scale = self.shift + (e0 / self.r).ln() / beta;
        let sum_fail_ln_t = self.sum_fail_s + self.r * self.shift;
        let ll = self.r * beta.ln() - self.r * beta * ln_scale + (beta - 1.0) * sum_fail_ln_t - self.r;
        AtShape {
            ll,
            g: m1 - 1.0 / beta - self.sum_fail_s / self.r,
            dg: (e2 / e0 - m1 * m1) + 1.0 / (beta * beta),
            ln_scale,
        }
    }
}

/// Largest shape the bracket search tries before declaring the shape unbounded.
const MAX_SHAPE: f64 = 1e4;

/// The root above `from` (to 1e-12 relative) of `f`, increasing and convex on `[from, limit]`
/// with `f(from) < 0`, by Newton from `guess`: from the right of the root Newton stays right of
/// it, and from the left its first step lands right of it (convexity), so at most one evaluation
/// beyond `guess` closes the bracket. `None` when no bracket within `limit` is found that way
/// (the caller then widens one by doubling).
fn convex_root(f: impl Fn(f64) -> (f64, f64) + Copy, from: f64, guess: f64, limit: f64) -> Option<f64> {
    if !(guess > from && guess < limit) {
        return None;
    }
    let (d, dd) = f(guess);
    if d == 0.0 {
        return Some(guess);
    }
    if d > 0.0 {
        return Some(increasing_root(f, from, guess, guess - d / dd, 1e-12));
    }
    let next = guess - d / dd;
    if !(d < 0.0 && dd > 0.0 && next > guess && next < limit) {
        return None;
    }
    let (d1, dd1) = f(next);
    (d1 >= 0.0).then(|| increasing_root(f, guess, next, next - d1 / dd1, 1e-12))
}

/// Fits a two-parameter Weibull to right-censored `lives` by maximum likelihood, with bounds at
/// `confidence`. Errors: a life not finite and > 0, no failure, or no finite shape (every failure
/// at the longest time).
pub fn fit_weibull(lives: &[Life], confidence: f64) -> Result<WeibullFit, LifeError> {
    fit_weibull_with(lives, &BoundQuantiles::new(confidence, 0))
}

/// [`fit_weibull`] with the quantiles computed beforehand.
pub(crate) fn fit_weibull_with(lives: &[Life], q: &BoundQuantiles) -> Result<WeibullFit, LifeError> {
    let p = Profile::new(lives)?;
    let score = |b: f64| p.score(b);
    let (mut lo, mut hi) = (0.0, 1.0);
    let mut at_one = score(1.0);
    while at_one.0 < 0.0 {
        lo = hi;
        hi *= 2.0;
        if hi > MAX_SHAPE {
            return Err(LifeError::NoFiniteShape);
        }
        at_one = score(hi);
    }
    // Newton from the bracket end where g ≥ 0: g is increasing, so steps stay inside the bracket.
    let beta = increasing_root(score, lo, hi, hi - at_one.0 / at_one.1, 1e-15);
    let at = p.all(beta);
    let alpha = at.ln_scale.exp();
    let ll = at.ll;

    // Likelihood-ratio bounds: ℓₚ is concave with its peak at β̂; the deficit below the cut-off
    // has derivative r·g(β). Newton starts where the quadratic approximation of ℓₚ at β̂
    // (curvature −r·g'(β̂)) meets the cut-off; when that point is past the root it closes the
    // bracket, else the bracket is widened by doubling.
    let cut = ll - q.lr_cut / 2.0;
    let deficit = |b: f64| {
        let a = p.all(b);
        (cut - a.ll, p.r * a.g)
    };
    // The quadratic approximation is taken in ln β, where ℓₚ is closer to symmetric.
    let half_width = (q.lr_cut / (p.r * at.dg)).sqrt() / beta;
    let upper = convex_root(deficit, beta, beta * half_width.exp(), MAX_SHAPE).unwrap_or_else(|| {
        let mut up = beta * 1.5;
        while deficit(up).0 < 0.0 && up < MAX_SHAPE {
            up *= 2.0;
        }
        increasing_root(deficit, beta, up, beta + (up - beta) / 2.0, 1e-12)
    });
    // Increasing in x = −β.
    let rising = |x: f64| {
        let (d, dd) = deficit(-x);
        (d, -dd)
    };
    let lower = -convex_root(rising, -beta, -beta * (-half_width).exp(), -1e-8).unwrap_or_else(|| {
        let mut down = beta / 1.5;
        while deficit(down).0 < 0.0 && down > 1e-8 {
            down /= 2.0;
        }
        increasing_root(rising, -beta, -down, -(down + (beta - down) / 2.0), 1e-12)
    });

    // Observed information of (β, α) at the fit (Σ zᵢ = r there), uᵢ = ln(tᵢ/α̂).
    let (mut szu, mut szu2) = (0.0, 0.0);
    let u_shift = p.shift - at.ln_scale;
    for &si in &p.s {
        let u = si + u_shift;
        let z = (beta * u).exp();
        szu += z * u;
        szu2 += z * u * u;
    }
    let i_bb = p.r / (beta * beta) + szu2;
    let i_aa = p.r * beta * beta / (alpha * alpha);
    let i_ab = -beta / alpha * szu;
    let det = i_bb * i_aa - i_ab * i_ab;
    let z = q.z;
    let (se_b, se_a) = ((i_aa / det).sqrt(), (i_bb / det).sqrt());
    let bound = |v: f64, se: f64| (v * (-z * se / v).exp(), v * (z * se / v).exp());
    let failures = p.r as usize;
    Ok(WeibullFit {
        model: Weibull { shape: beta, scale: alpha },
        failures,
        suspensions: lives.len() - failures,
        log_likelihood: ll,
        confidence: q.confidence,
        shape_lr: (lower, upper),
        shape_fisher: bound(beta, se_b),
        scale_fisher: bound(alpha, se_a),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn life(hours: f64, failed: bool) -> Life {
        Life { hours, failed }
    }

    /// The log-likelihood straight from its definition.
    fn ll(lives: &[Life], w: Weibull) -> f64 {
        lives
            .iter()
            .map(|l| {
                let z = (l.hours / w.scale).powf(w.shape);
                if l.failed { (w.shape / w.scale).ln() + (w.shape - 1.0) * (l.hours / w.scale).ln() - z } else { -z }
            })
            .sum()
    }

    #[test]
    fn the_fit_is_the_likelihood_maximum() {
        let lives: Vec<Life> =
            [(120.0, true), (340.0, false), (410.0, true), (95.0, true), (700.0, false), (510.0, true)]
                .iter()
                .map(|&(h, f)| life(h, f))
                .collect();
        let fit = fit_weibull(&lives, 0.95).unwrap();
        let best = ll(&lives, fit.model);
        assert!((best - fit.log_likelihood).abs() < 1e-9 * best.abs());
        for (db, da) in [(1e-4, 0.0), (-1e-4, 0.0), (0.0, 1e-4), (0.0, -1e-4), (1e-4, 1e-4)] {
            let w = Weibull { shape: fit.model.shape * (1.0 + db), scale: fit.model.scale * (1.0 + da) };
            assert!(ll(&lives, w) < best);
        }
        let (lo, hi) = fit.shape_lr;
        assert!(lo < fit.model.shape && fit.model.shape < hi);
        let drop = |b: f64| {
            let p = Profile::new(&lives).unwrap();
            2.0 * (fit.log_likelihood - p.log_likelihood(b))
        };
        assert!((drop(lo) - 3.841_458_820_694_124).abs() < 1e-8 && (drop(hi) - 3.841_458_820_694_124).abs() < 1e-8);
        assert!(fit.shape_fisher.0 < fit.model.shape && fit.model.shape < fit.shape_fisher.1);
    }

    #[test]
    fn likelihood_ratio_bounds_hit_the_cut_off_for_few_and_many_failures() {
        // From one failure (a skewed profile) to many, with heavy censoring.
        let mut state = 7u64;
        let mut unit = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        for (n, shape) in [(3, 0.7), (4, 3.0), (8, 1.2), (40, 0.5), (200, 2.5), (50, 8.0)] {
            let lives: Vec<Life> = (0..n)
                .map(|_| {
                    let t = 100.0 * (-unit().ln()).powf(1.0 / shape);
                    let pm = 150.0 * unit();
                    life(t.min(pm), t <= pm)
                })
                .collect();
            let Ok(fit) = fit_weibull(&lives, 0.9) else { continue };
            let p = Profile::new(&lives).unwrap();
            let cut = chi_square_quantile(0.9, 1.0);
            let (lo, hi) = fit.shape_lr;
            assert!(lo < fit.model.shape && fit.model.shape < hi, "n {n}: {lo} {hi}");
            for b in [lo, hi] {
                let drop = 2.0 * (fit.log_likelihood - p.log_likelihood(b));
                assert!((drop - cut).abs() < 1e-8, "n {n} β {shape}: {drop} at {b}");
            }
        }
    }

    #[test]
    fn convex_root_closes_the_bracket_from_either_side_or_gives_up() {
        let f = |x: f64| (x * x - 4.0, 2.0 * x);
        for guess in [0.5, 1.9, 2.0, 3.0, 50.0] {
            let root = convex_root(f, 0.0, guess, 100.0).unwrap();
            assert!((root - 2.0).abs() < 1e-11, "from {guess}: {root}");
        }
        // Outside (from, limit), or a first Newton step past the limit: the caller widens.
        assert_eq!(convex_root(f, 0.0, 150.0, 100.0), None);
        assert_eq!(convex_root(f, 0.0, f64::NAN, 100.0), None);
        assert_eq!(convex_root(f, 0.0, 0.01, 100.0), None);
    }

    #[test]
    fn huge_and_tiny_times_do_not_overflow() {
        for unit in [1e-6, 1.0, 1e12] {
            let lives: Vec<Life> =
                [1.0, 2.0, 3.5, 4.0, 6.0, 9.0].iter().enumerate().map(|(i, &h)| life(h * unit, i % 3 != 2)).collect();
            let fit = fit_weibull(&lives, 0.95).unwrap();
            let base =
                fit_weibull(&lives.iter().map(|l| life(l.hours / unit, l.failed)).collect::<Vec<_>>(), 0.95).unwrap();
            assert!((fit.model.shape - base.model.shape).abs() < 1e-10 * base.model.shape);
            assert!((fit.model.scale / unit - base.model.scale).abs() < 1e-10 * base.model.scale);
        }
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        assert_eq!(fit_weibull(&[life(10.0, false)], 0.95), Err(LifeError::NoFailures));
        assert_eq!(fit_weibull(&[life(10.0, true), life(5.0, false)], 0.95), Err(LifeError::NoFiniteShape));
        assert_eq!(fit_weibull(&[life(10.0, true), life(10.0, true)], 0.95), Err(LifeError::NoFiniteShape));
        assert_eq!(fit_weibull(&[life(0.0, true), life(10.0, true)], 0.95), Err(LifeError::InvalidLife(0.0)));
        assert!(fit_weibull(&[life(10.0, true), life(5.0, true)], 0.95).is_ok());
    }

    #[test]
    fn exponential_bounds_match_the_chi_square_table() {
        let lives = [life(100.0, true), life(300.0, true), life(600.0, false)];
        let e = fit_exponential(&lives, 0.90);
        assert_eq!((e.failures, e.exposure_hours, e.mtbf_hours), (2, 1000.0, Some(500.0)));
        // χ²(0.95; 6) = 12.591587243743977, χ²(0.05; 4) = 0.7107230213973239.
        assert!((e.mtbf_lower_hours.unwrap() - 2000.0 / 12.591_587_243_743_977).abs() < 1e-9);
        assert!((e.mtbf_upper_hours.unwrap() - 2000.0 / 0.710_723_021_397_323_9).abs() < 1e-8);
        let none = fit_exponential(&[life(50.0, false)], 0.95);
        assert_eq!((none.mtbf_hours, none.mtbf_upper_hours), (None, None));
        assert!(none.mtbf_lower_hours.is_some());
    }

    #[test]
    fn weibull_helpers() {
        let w = Weibull { shape: 2.0, scale: 1000.0 };
        assert!((w.mean() - 1000.0 * std::f64::consts::PI.sqrt() / 2.0).abs() < 1e-9);
        assert!((w.reliability(w.b_life(0.1)) - 0.9).abs() < 1e-15);
        assert!((w.hazard(500.0) - 2.0 / 1000.0 * 0.5).abs() < 1e-18);
    }
}
