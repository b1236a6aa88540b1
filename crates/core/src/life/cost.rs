//! Age replacement: the long-run cost rate of replacing at age `T` (or at failure, whichever comes
//! first) and the `T*` that minimises it.
//!
//! `C(T) = (Cp·R(T) + Cf·(1 − R(T))) / ∫₀ᵀ R(t) dt` (Barlow & Proschan). For a Weibull,
//! `∫₀ᵀ R = α Γ(1 + 1/β) P(1/β, (T/α)^β)` with `P` the regularised lower incomplete gamma.
//! Setting `C'(T) = 0` gives the first-order condition
//! `φ(T) = h(T) ∫₀ᵀ R − (1 − R(T)) = Cp / (Cf − Cp)`; `φ(0) = 0` and `φ'(T) = h'(T) ∫₀ᵀ R`, so for
//! `β > 1` `φ` is strictly increasing without bound and `T*` is its one root; at `T*`,
//! `C(T*) = (Cf − Cp)·h(T*)`. For `β ≤ 1` the hazard does not rise, `C` decreases towards
//! `Cf / MTTF` and no finite `T*` exists.

use super::special::{gamma_p, gamma_p_at, increasing_root, ln_gamma};
use super::weibull::Weibull;

/// `∫₀ᵀ R(t) dt`, hours.
pub fn integrated_reliability(w: &Weibull, t: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    w.mean() * gamma_p(1.0 / w.shape, (t / w.scale).powf(w.shape))
}

/// The long-run cost rate `C(T)` of replacing at age `t` hours, cost per hour; `t = ∞` is
/// run-to-failure, `Cf / MTTF`.
pub fn cost_rate(w: &Weibull, cp: f64, cf: f64, t: f64) -> f64 {
    if t.is_infinite() {
        return cf / w.mean();
    }
    let r = w.reliability(t);
    (cp * r + cf * (1.0 - r)) / integrated_reliability(w, t)
}

/// Largest `T*` looked for, in scales: beyond it the optimum is flat and any PM interval clamp
/// applies anyway.
const MAX_T_IN_SCALES: f64 = 1e6;

/// The optimal age-replacement interval `T*`, hours: `None` unless `β > 1` and `Cf > Cp > 0`, or
/// when `T*` lies beyond a million scale lengths (the cost rate is then flat: replacing is no
/// better than running to failure).
pub fn optimal_replacement_age(w: &Weibull, cp: f64, cf: f64) -> Option<f64> {
    if !(w.shape > 1.0 && cf > cp && cp > 0.0) {
        return None;
    }
    let k = cp / (cf - cp);
    let (beta, alpha) = (w.shape, w.scale);
    // Constant along the solve: the mean life and ln Γ(1/β) of `integrated_reliability`.
    let (mean, shape_inv) = (w.mean(), 1.0 / beta);
    let ln_gamma_a = ln_gamma(shape_inv);
    // One exp per evaluation for every power of t/α: (t/α)^(β−2), then ·(t/α) twice.
    let phi = |t: f64| {
        let ratio = t / alpha;
        let pow2 = ((beta - 2.0) * ratio.ln()).exp();
        let pow1 = pow2 * ratio;
        let x = pow1 * ratio;
        let m = mean * gamma_p_at(shape_inv, ln_gamma_a, x);
        let h = beta / alpha * pow1;
        let dh = beta * (beta - 1.0) / (alpha * alpha) * pow2;
        (h * m - (1.0 - (-x).exp()) - k, dh * m)
    };
    let (mut lo, mut hi) = (0.0, alpha);
    let mut at_hi = phi(hi);
    while at_hi.0 < 0.0 {
        lo = hi;
        hi *= 2.0;
        if hi > MAX_T_IN_SCALES * alpha {
            return None;
        }
        at_hi = phi(hi);
    }
    // Newton from the bracket end where φ ≥ 0 (the solve falls back to bisection if it leaves).
    Some(increasing_root(phi, lo, hi, hi - at_hi.0 / at_hi.1, 1e-14))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrated_reliability_matches_quadrature() {
        for (shape, t) in [(0.7, 300.0), (1.0, 1000.0), (2.5, 1500.0), (6.0, 900.0)] {
            let w = Weibull { shape, scale: 1000.0 };
            let n = 200_000;
            let h = t / n as f64;
            // Midpoint rule.
            let quad: f64 = (0..n).map(|i| w.reliability((i as f64 + 0.5) * h)).sum::<f64>() * h;
            let got = integrated_reliability(&w, t);
            assert!((got - quad).abs() < 1e-6 * quad, "β {shape}: {got} vs {quad}");
        }
        let w = Weibull { shape: 1.0, scale: 50.0 };
        assert!((integrated_reliability(&w, 100.0) - 50.0 * (1.0 - (-2.0f64).exp())).abs() < 1e-12);
    }

    #[test]
    fn at_the_optimum_cost_rate_equals_cost_difference_times_hazard() {
        for shape in [1.2, 1.5, 2.0, 3.0, 5.0] {
            for (cp, cf) in [(1.0, 5.0), (100.0, 250.0), (1.0, 50.0)] {
                let w = Weibull { shape, scale: 2000.0 };
                let t = optimal_replacement_age(&w, cp, cf).unwrap();
                let c = cost_rate(&w, cp, cf, t);
                assert!((c - (cf - cp) * w.hazard(t)).abs() < 1e-9 * c, "β {shape} Cf/Cp {}: {c}", cf / cp);
                // A minimum: no lower cost at nearby ages, and cheaper than running to failure.
                assert!(cost_rate(&w, cp, cf, t * 0.99) > c && cost_rate(&w, cp, cf, t * 1.01) > c);
                assert!(c < cost_rate(&w, cp, cf, f64::INFINITY));
            }
        }
    }

    #[test]
    fn without_wear_out_the_cost_rate_falls_to_run_to_failure() {
        for shape in [0.6, 0.8, 1.0] {
            let w = Weibull { shape, scale: 1000.0 };
            let (cp, cf) = (1.0, 5.0);
            assert_eq!(optimal_replacement_age(&w, cp, cf), None);
            let ages = [10.0, 100.0, 500.0, 1000.0, 3000.0, 10_000.0, 100_000.0];
            let rates: Vec<f64> = ages.iter().map(|&t| cost_rate(&w, cp, cf, t)).collect();
            assert!(rates.windows(2).all(|p| p[1] < p[0] || shape == 1.0 && (p[1] - p[0]).abs() < 1e-12 * p[0]));
            let limit = cf / w.mean();
            assert_eq!(cost_rate(&w, cp, cf, f64::INFINITY), limit);
            assert!((rates[rates.len() - 1] - limit).abs() < 1e-6 * limit, "β {shape}");
            assert!(rates.iter().all(|&c| c >= limit * (1.0 - 1e-12)));
        }
        let w = Weibull { shape: 3.0, scale: 1000.0 };
        assert_eq!(optimal_replacement_age(&w, 5.0, 5.0), None);
        assert_eq!(optimal_replacement_age(&w, 6.0, 5.0), None);
    }
}
