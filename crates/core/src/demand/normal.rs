//! The standard normal distribution as the service-level rules need it: the cumulative
//! distribution Φ, its inverse, and the loss function G(k) = E[(Z − k)⁺] — all pure `f64` code
//! (the standard library has no `erf`).

/// Φ(x), the standard normal cumulative distribution (W. J. Cody's rational approximation of
/// `erfc` as in Numerical Recipes' `erfcc`, fractional error below 1.2·10⁻⁷).
pub fn cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// φ(x), the standard normal density.
pub fn pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The standard normal loss function G(k) = E[(Z − k)⁺] = φ(k) − k·(1 − Φ(k)): expected units
/// short per unit of σ when the reorder point is μ + k·σ. Decreasing in `k`.
pub fn loss(k: f64) -> f64 {
    (pdf(k) - k * (1.0 - cdf(k))).max(0.0)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Φ⁻¹(p) for `p` in (0, 1) (P. J. Acklam's rational approximation, relative error below
/// 1.2·10⁻⁹); −∞ at 0, +∞ at 1, NaN outside.
pub fn inverse_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const LOW: f64 = 0.024_25;
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Tables of the standard normal distribution.
        assert!((cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((cdf(1.644_853_6) - 0.95).abs() < 1e-6);
        assert!((cdf(-1.959_964) - 0.025).abs() < 1e-6);
        assert!((inverse_cdf(0.95) - 1.644_853_627).abs() < 1e-8);
        assert!((inverse_cdf(0.5)).abs() < 1e-12);
        assert!((inverse_cdf(0.01) + 2.326_347_874).abs() < 1e-8);
        assert!((inverse_cdf(0.999) - 3.090_232_306).abs() < 1e-8);
        // G(0) = φ(0) = 0.398942; G(1) = 0.083315 (Silver, Pyke & Peterson, table B.1).
        assert!((loss(0.0) - 0.398_942).abs() < 1e-6);
        assert!((loss(1.0) - 0.083_315).abs() < 1e-6);
        assert!(inverse_cdf(1.5).is_nan());
    }

    #[test]
    fn loss_decreases_and_inverse_round_trips() {
        let mut last = f64::INFINITY;
        for i in -40..=60 {
            let k = f64::from(i) / 10.0;
            let g = loss(k);
            assert!(g <= last, "{k}");
            last = g;
        }
        for i in 1..100 {
            let p = f64::from(i) / 100.0;
            assert!((cdf(inverse_cdf(p)) - p).abs() < 1e-6, "{p}");
        }
    }
}
