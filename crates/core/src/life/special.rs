//! Special functions for the life models, written out here rather than pulled from a statistics
//! crate (the few needed are short and each is tested against published values):
//!
//! - `ln Γ(x)`: Lanczos approximation (g = 7, 9 terms), reflection below ½; relative error ≈ 1e-15.
//! - regularised lower incomplete gamma `P(a, x)`: power series for `x < a + 1`, Lentz's continued
//!   fraction for `Q = 1 − P` otherwise (Numerical Recipes §6.2).
//! - chi-square quantile: `2 · P⁻¹(k/2, p)` by a safeguarded Newton solve; the standard normal
//!   quantile follows from the chi-square quantile with one degree of freedom.
//! - [`increasing_root`]: the safeguarded 1-D root solve every estimator here uses.

use std::f64::consts::PI;

const LANCZOS_G: f64 = 7.0;
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// Relative accuracy the series and continued fraction run to.
const EPS: f64 = 1e-16;
/// Smallest magnitude kept in Lentz's algorithm.
const TINY: f64 = 1e-300;

/// `ln Γ(x)` for `x > 0` (NaN otherwise).
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x < 0.5 {
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + LANCZOS_G + 0.5;
    let a = LANCZOS.iter().enumerate().skip(1).fold(LANCZOS[0], |a, (i, c)| a + c / (x + i as f64));
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `Γ(x)` for `x > 0`.
pub fn gamma(x: f64) -> f64 {
    ln_gamma(x).exp()
}

/// `P(a, x)` and `Q(a, x)` for `a > 0`, `x ≥ 0` with `ln Γ(a)` given: the branch accurate at `x`
/// (the series below `a + 1`, the continued fraction above) times the common prefactor
/// `x^a e^(−x) / Γ(a)`, the other as its complement.
fn gamma_pq(a: f64, ln_gamma_a: f64, x: f64) -> (f64, f64) {
    if a.is_nan() || x.is_nan() || a <= 0.0 || x < 0.0 {
        return (f64::NAN, f64::NAN);
    }
    if x == 0.0 {
        return (0.0, 1.0);
    }
    if x.is_infinite() {
        return (1.0, 0.0);
    }
    let prefactor = (a * x.ln() - x - ln_gamma_a).exp();
    if x < a + 1.0 {
        let p = series_sum(a, x) * prefactor;
        (p, 1.0 - p)
    } else {
        let q = prefactor * fraction(a, x);
        (1.0 - q, q)
    }
}

/// Regularised lower incomplete gamma `P(a, x) = γ(a, x) / Γ(a)` for `a > 0`, `x ≥ 0`.
pub fn gamma_p(a: f64, x: f64) -> f64 {
    gamma_pq(a, ln_gamma(a), x).0
}

/// [`gamma_p`] with `ln Γ(a)` supplied by a caller that evaluates many `x` at one `a`.
pub(crate) fn gamma_p_at(a: f64, ln_gamma_a: f64, x: f64) -> f64 {
    gamma_pq(a, ln_gamma_a, x).0
}

/// Regularised upper incomplete gamma `Q(a, x) = 1 − P(a, x)`.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    gamma_pq(a, ln_gamma(a), x).1
}

/// `P(a, x) / prefactor`: the power series.
fn series_sum(a: f64, x: f64) -> f64 {
    let mut ap = a;
    let mut term = 1.0 / a;
    let mut sum = term;
    for _ in 0..100_000 {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * EPS {
            break;
        }
    }
    sum
}

/// `Q(a, x) / prefactor`: Lentz's continued fraction.
fn fraction(a: f64, x: f64) -> f64 {
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..100_000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// The root of `f` on `[lo, hi]`, where `f` is increasing with `f(lo) ≤ 0 ≤ f(hi)`; `f` returns
/// its value and derivative. Newton steps from `x0`, with a bisection step whenever Newton would
/// leave the shrinking bracket; stops when a step is below `rel_tol` relative (or after 300 steps).
pub fn increasing_root(mut f: impl FnMut(f64) -> (f64, f64), mut lo: f64, mut hi: f64, x0: f64, rel_tol: f64) -> f64 {
    let mut x = if x0 > lo && x0 < hi { x0 } else { 0.5 * (lo + hi) };
    for _ in 0..300 {
        let (fx, dfx) = f(x);
        if fx == 0.0 {
            return x;
        }
        if fx < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let newton = x - fx / dfx;
        let next = if dfx > 0.0 && newton > lo && newton < hi { newton } else { 0.5 * (lo + hi) };
        if (next - x).abs() <= rel_tol * next.abs() || (hi - lo) <= rel_tol * hi.abs() {
            return next;
        }
        x = next;
    }
    x
}

/// The `p`-quantile of the chi-square distribution with `k` degrees of freedom (`0 < p < 1`,
/// `k > 0`): the `x` with `P(k/2, x/2) = p`.
pub fn chi_square_quantile(p: f64, k: f64) -> f64 {
    if !(p > 0.0 && p < 1.0 && k > 0.0) {
        return f64::NAN;
    }
    let a = k / 2.0;
    let f = |y: f64| (gamma_p(a, y) - p, ((a - 1.0) * y.ln() - y - ln_gamma(a)).exp());
    let mut hi = a.max(1.0);
    while f(hi).0 < 0.0 {
        hi *= 2.0;
    }
    2.0 * increasing_root(f, 0.0, hi, a, 1e-15)
}

/// The `p`-quantile of the standard normal distribution (`0 < p < 1`).
pub fn normal_quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    let z = chi_square_quantile((2.0 * p - 1.0).abs(), 1.0).sqrt();
    if p > 0.5 { z } else { -z }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_matches_known_values() {
        assert!(close(gamma(5.0), 24.0, 1e-14));
        assert!(close(gamma(0.5), PI.sqrt(), 1e-14));
        assert!(close(gamma(1.5), PI.sqrt() / 2.0, 1e-14));
        assert!(close(ln_gamma(100.0), 359.134_205_369_575_4, 1e-14));
        assert!(close(ln_gamma(0.01), 4.599_479_878_042_022, 1e-13));
        assert!(close(gamma(1.0 + 1.0 / 3.0), 0.892_979_511_569_249_2, 1e-14));
        assert!(ln_gamma(0.0).is_nan() && ln_gamma(-1.0).is_nan());
    }

    #[test]
    fn incomplete_gamma_matches_known_values() {
        // P(1, x) = 1 − e^(−x); P(1/2, x) = erf(√x).
        for x in [0.01, 0.5, 1.0, 3.0, 10.0, 40.0] {
            assert!(close(gamma_p(1.0, x), 1.0 - (-x).exp(), 1e-14), "{x}");
            assert!(close(gamma_q(1.0, x), (-x).exp(), 1e-13), "{x}");
        }
        assert!(close(gamma_p(0.5, 1.0), 0.842_700_792_949_715_1, 1e-14));
        assert!(close(gamma_p(0.5, 4.0), 0.995_322_265_018_952_7, 1e-14));
        // P(3, 2) = 1 − e^-2 (1 + 2 + 2) ; P(10, 12.5) from the Poisson sum.
        assert!(close(gamma_p(3.0, 2.0), 1.0 - 5.0 * (-2.0f64).exp(), 1e-14));
        let poisson: f64 = (0..10).map(|k| (-12.5f64).exp() * 12.5f64.powi(k) / gamma(k as f64 + 1.0)).sum();
        assert!(close(gamma_p(10.0, 12.5), 1.0 - poisson, 1e-13));
        assert_eq!((gamma_p(2.0, 0.0), gamma_p(2.0, f64::INFINITY)), (0.0, 1.0));
        assert!(gamma_p(-1.0, 1.0).is_nan());
    }

    #[test]
    fn quantiles_match_tables() {
        assert!(close(chi_square_quantile(0.95, 1.0), 3.841_458_820_694_124, 1e-12));
        assert!(close(chi_square_quantile(0.975, 2.0), 7.377_758_908_227_871, 1e-12));
        assert!(close(chi_square_quantile(0.025, 20.0), 9.590_777_392_264_867, 1e-11));
        assert!(close(chi_square_quantile(0.975, 200.0), 241.057_895_506_310_93, 1e-11));
        assert!(close(normal_quantile(0.975), 1.959_963_984_540_054, 1e-12));
        assert!(close(normal_quantile(0.05), -1.644_853_626_951_472_9, 1e-12));
        assert!(chi_square_quantile(1.0, 3.0).is_nan());
    }

    #[test]
    fn root_solve_handles_a_flat_start() {
        let r = increasing_root(|x| (x * x * x - 2.0, 3.0 * x * x), 0.0, 10.0, 0.0, 1e-15);
        assert!(close(r, 2f64.cbrt(), 1e-14));
    }
}
