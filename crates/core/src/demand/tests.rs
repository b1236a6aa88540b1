use super::*;
use crate::quantity::Quantity;
use proptest::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn params(method: ThresholdMethod) -> ThresholdParams {
    ThresholdParams { method, ..ThresholdParams::default() }
}

#[test]
fn buckets_align_on_the_end() {
    let d = [1.0, 0.0, 2.0, 3.0, 0.0, 0.0, 4.0];
    assert_eq!(buckets(&d, 3), vec![1.0, 5.0, 4.0]);
    assert_eq!(buckets(&d, 7), vec![10.0]);
    assert!(buckets(&[], 7).is_empty());
}

#[test]
fn classification_by_hand() {
    // 4 periods, 2 with demand: ADI 2; sizes 3 and 5: mean 4, variance 1, CV² 1/16.
    let c = classify(&[0.0, 3.0, 0.0, 5.0]);
    assert_eq!((c.adi, c.cv2, c.class), (2.0, 0.0625, DemandClass::Intermittent));
    // Sizes 1 and 9: mean 5, variance 16, CV² 0.64.
    assert_eq!(classify(&[0.0, 1.0, 0.0, 9.0]).class, DemandClass::Lumpy);
    assert_eq!(classify(&[1.0, 9.0, 1.0, 9.0]).class, DemandClass::Erratic);
    assert_eq!(classify(&[4.0, 5.0, 4.0, 5.0]).class, DemandClass::Smooth);
    let none = classify(&[0.0, 0.0]);
    assert_eq!((none.adi, none.class), (2.0, DemandClass::NoDemand));
    // ADI exactly 1.32 is intermittent (the cut-off belongs to the upper class).
    let mut v = vec![0.0; 8];
    v.extend([1.0; 25]);
    assert_eq!(classify(&v).adi, 33.0 / 25.0);
    assert_eq!(classify(&v).class, DemandClass::Intermittent);
}

#[test]
fn sba_recursion_by_hand() {
    // z0 = 3, p0 = 2 (first demand in period 2), α = 0.5, factor 0.75: f = 1.125.
    // Periods 3, 4 without demand: errors −1.125 twice. Period 5: demand 5 after q = 3:
    // error 3.875; z = 3 + 0.5·2 = 4; p = 2 + 0.5·(3 − 2) = 2.5; f = 0.75·4/2.5 = 1.2.
    let f = sba(&[0.0, 3.0, 0.0, 0.0, 5.0], 0.5).unwrap();
    assert!(close(f.per_period, 1.2), "{f:?}");
    let mse = (1.125f64.powi(2) * 2.0 + 3.875f64.powi(2)) / 3.0;
    assert!(close(f.rmse, mse.sqrt()), "{f:?}");
    assert_eq!(sba(&[0.0, 0.0], 0.5), None);
    // One demand, nothing after: the forecast is its own spread.
    let one = sba(&[2.0], 0.2).unwrap();
    assert!(close(one.per_period, 0.9 * 2.0) && close(one.rmse, one.per_period));
}

#[test]
fn tsb_recursion_by_hand() {
    // z0 = 3, π0 = 1/2, α = β = 0.5: f = 1.5; no demand: π = 0.25, f = 0.75; π = 0.125,
    // f = 0.375; demand 5: π = 0.5625, z = 4, f = 2.25. Errors −1.5, −0.75, 4.625.
    let f = tsb(&[0.0, 3.0, 0.0, 0.0, 5.0], 0.5, 0.5).unwrap();
    assert!(close(f.per_period, 2.25), "{f:?}");
    let mse = (2.25 + 0.5625 + 4.625f64.powi(2)) / 3.0;
    assert!(close(f.rmse, mse.sqrt()), "{f:?}");
    assert_eq!(tsb(&[0.0], 0.5, 0.5), None);
}

#[test]
fn empirical_windows_and_quantiles_by_hand() {
    // Lead 2 days over [1, 0, 3, 0, 0]: window sums 1, 3, 3, 0 → sorted 0, 1, 3, 3.
    let e = empirical(&[1.0, 0.0, 3.0, 0.0, 0.0], 2.0);
    assert_eq!(e.sums, vec![0.0, 1.0, 3.0, 3.0]);
    assert!(close(e.mean, 1.75) && close(e.daily, 0.8));
    // Cycle 0.5: the 2nd smallest; 0.95: the largest; 0.25: the smallest.
    assert_eq!(e.reorder_point(ServiceLevelKind::Cycle, 0.5, 0.0), 1.0);
    assert_eq!(e.reorder_point(ServiceLevelKind::Cycle, 0.95, 0.0), 3.0);
    assert_eq!(e.reorder_point(ServiceLevelKind::Cycle, 0.25, 0.0), 0.0);
    // Fill rate 0.9 with Q = 5: allowed shortage 0.5. R = 0: 1.75; R = 1: (2 + 2)/4 = 1;
    // R = 3: 0 → 3. Fill rate 0.75 with Q = 5 (allowed 1.25): R = 1.
    assert_eq!(e.reorder_point(ServiceLevelKind::FillRate, 0.9, 5.0), 3.0);
    assert_eq!(e.reorder_point(ServiceLevelKind::FillRate, 0.75, 5.0), 1.0);
    // Short history: one window, scaled.
    assert_eq!(empirical(&[2.0, 0.0], 4.0).sums, vec![4.0]);
}

#[test]
fn safety_factor_by_hand() {
    assert!((safety_factor(ServiceLevelKind::Cycle, 0.95, 1.0, 1.0) - 1.644_853_6).abs() < 1e-6);
    // Fill rate 0.95, Q = 10, σ = 5: G(k) = 0.1 → k ≈ 0.9004 (G(0.90) = 0.1004).
    let k = safety_factor(ServiceLevelKind::FillRate, 0.95, 5.0, 10.0);
    assert!((normal::loss(k) - 0.1).abs() < 1e-9 && (k - 0.9).abs() < 0.01, "{k}");
    assert_eq!(safety_factor(ServiceLevelKind::FillRate, 0.95, 0.0, 10.0), 0.0);
}

#[test]
fn sba_policy_by_hand() {
    // Weekly buckets of 14 days: [0,…,0] then [3 on day 13] → buckets [0, 3]; SBA α 0.1:
    // f = 0.95·3/2 = 1.425 per week, no errors → σ₁ = 1.425. Lead 14 days = 2 periods:
    // μ = 2.85, σ = 1.425·√2, cycle 95 %: reorder = μ + 1.6449σ, Q = μ.
    let mut daily = vec![0.0; 14];
    daily[13] = 3.0;
    let p = policy(&params(ThresholdMethod::Sba), &daily, 14.0, 1.0);
    let (mu, sigma) = (2.85, 1.425 * 2f64.sqrt());
    assert!(close(p.why.lead_time_demand, mu), "{p:?}");
    assert!(close(p.why.sigma, sigma));
    let reorder = mu + normal::inverse_cdf(0.95) * sigma;
    assert!(close(p.limits.reorder, reorder));
    assert!(close(p.limits.max, reorder + mu) && close(p.limits.min, reorder - mu));
    assert_eq!((p.why.method, p.why.demand_class), (PolicyMethod::Sba, DemandClass::Intermittent));
    // EOQ when both costs are given: daily rate 1.425/7, annual 74.30…, K 50, h 2.
    let eoq = ThresholdParams { holding_cost: Some(2.0), ordering_cost: Some(50.0), ..params(ThresholdMethod::Sba) };
    let q = policy(&eoq, &daily, 14.0, 1.0).why.order_qty;
    assert!(close(q, (2.0 * 1.425 / 7.0 * 365.0 * 50.0 / 2.0f64).sqrt()), "{q}");
}

#[test]
fn moving_average_with_safety_stock_by_hand() {
    // `policy` with `moving_average` is the service-level variant. Two weeks: 7 units (1 a day),
    // then 14 (2 a day): buckets [7, 14], both in the 90-day window (13 weeks): mean 10.5 a week,
    // population sd 3.5. Daily 1.5; lead 14 days = 2 periods: μ = 21, σ = 3.5·√2; cycle 95 %:
    // reorder = μ + 1.6449σ, Q = μ, min = reorder − μ.
    let daily: Vec<f64> = (0..14).map(|d| if d < 7 { 1.0 } else { 2.0 }).collect();
    let p = policy(&params(ThresholdMethod::MovingAverage), &daily, 14.0, 1.0);
    let (mu, sigma) = (21.0, 3.5 * 2f64.sqrt());
    assert_eq!(p.why.method, PolicyMethod::MovingAverageSs);
    assert!(
        close(p.why.forecast_daily, 1.5) && close(p.why.lead_time_demand, mu) && close(p.why.sigma, sigma),
        "{p:?}"
    );
    let reorder = mu + normal::inverse_cdf(0.95) * sigma;
    assert!(close(p.limits.reorder, reorder) && close(p.limits.max, reorder + mu) && close(p.limits.min, reorder - mu));
    // A seasonal uplift of 1.2 scales the lead-time demand, not the forecast per day.
    let up = policy(&params(ThresholdMethod::MovingAverage), &daily, 14.0, 1.2);
    assert!(close(up.why.forecast_daily, 1.5) && close(up.why.lead_time_demand, 1.2 * mu), "{up:?}");
}

#[test]
fn auto_picks_the_method_of_the_class() {
    let smooth: Vec<f64> = (0..70).map(|i| if i % 7 == 0 { 10.0 } else { 1.0 }).collect();
    let lumpy: Vec<f64> = (0..70).map(|i| if i % 21 == 0 { f64::from(i) + 1.0 } else { 0.0 }).collect();
    let erratic: Vec<f64> = (0..70)
        .map(|i| {
            if i % 14 == 0 {
                40.0
            } else if i % 7 == 0 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let auto = params(ThresholdMethod::Auto);
    assert_eq!(policy(&auto, &smooth, 10.0, 1.0).why.method, PolicyMethod::MovingAverageSs);
    assert_eq!(policy(&auto, &lumpy, 10.0, 1.0).why.method, PolicyMethod::Sba);
    let tsb = ThresholdParams { auto_intermittent: IntermittentMethod::Tsb, ..auto };
    assert_eq!(policy(&tsb, &lumpy, 10.0, 1.0).why.method, PolicyMethod::Tsb);
    let e = policy(&auto, &erratic, 10.0, 1.0).why;
    assert_eq!((e.demand_class, e.method), (DemandClass::Erratic, PolicyMethod::Empirical));
}

#[test]
fn seed_method_is_untouched_and_others_round_like_it() {
    let usage = UsageSummary { consumed_in_window: Quantity::new(90.0).unwrap(), has_history: true };
    let as_of = jiff::Timestamp::from_second(1_700_000_000).unwrap();
    let none: [crate::formula::SeasonalWindow; 0] = [];
    let seed = policy_thresholds(&ThresholdParams::default(), usage, &[], 10.0, as_of, &none).unwrap();
    assert_eq!(seed, compute(usage, 10.0, as_of, &ThresholdParams::default(), &none).unwrap());
    assert_eq!(seed.policy, None);
    let daily = [1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 4.0, 1.0];
    let t = policy_thresholds(&params(ThresholdMethod::Tsb), usage, &daily, 10.0, as_of, &none).unwrap();
    for v in [t.limits.min, t.limits.reorder, t.limits.max] {
        assert_eq!(v, round_decimals(v, 2));
    }
    assert_eq!(t.policy.map(|w| w.method), Some(PolicyMethod::Tsb));
    let no_history = UsageSummary { consumed_in_window: Quantity::ZERO, has_history: false };
    let p = params(ThresholdMethod::Sba);
    assert_eq!(policy_thresholds(&p, no_history, &[], 10.0, as_of, &none), Err(ThresholdError::NoHistory));
    assert!(matches!(
        policy_thresholds(&p, usage, &daily, 0.0, as_of, &none),
        Err(ThresholdError::LeadTimeNotPositive { .. })
    ));
}

#[test]
fn daily_demand_counts_days_back_from_as_of() {
    let as_of = jiff::Timestamp::from_second(10 * 86_400).unwrap();
    let ev = |sec: i64, q: f64| Consumption {
        at: jiff::Timestamp::from_second(sec).unwrap(),
        quantity: Quantity::new(q).unwrap(),
    };
    // First event 3.5 days back: 4 days. An event exactly 24 h back is in the last day; at as_of, out.
    let events = [ev(6 * 86_400 + 43_200, 1.0), ev(9 * 86_400, 2.0), ev(10 * 86_400 - 1, 0.5), ev(10 * 86_400, 9.0)];
    assert_eq!(daily_demand(&events, as_of, 365), vec![1.0, 0.0, 0.0, 2.5]);
    assert_eq!(daily_demand(&events, as_of, 2), vec![0.0, 2.5]);
    assert!(daily_demand(&events[3..], as_of, 365).is_empty());
}

fn any_method() -> impl Strategy<Value = ThresholdMethod> {
    prop::sample::select(vec![
        ThresholdMethod::Sba,
        ThresholdMethod::Tsb,
        ThresholdMethod::Empirical,
        ThresholdMethod::Auto,
    ])
}

fn any_kind() -> impl Strategy<Value = ServiceLevelKind> {
    prop::sample::select(vec![ServiceLevelKind::Cycle, ServiceLevelKind::FillRate])
}

fn history() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(prop_oneof![3 => Just(0u32), 1 => 1u32..20].prop_map(f64::from), 1..200)
}

proptest! {
    #[test]
    fn reorder_point_is_monotone_in_the_service_level(
        daily in history(), method in any_method(), kind in any_kind(),
        a in 0.5f64..0.999, b in 0.5f64..0.999, lead in 1.0f64..60.0,
    ) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let p = |level| ThresholdParams { method, service_level: level, service_level_kind: kind, ..ThresholdParams::default() };
        let x = policy(&p(lo), &daily, lead, 1.0);
        let y = policy(&p(hi), &daily, lead, 1.0);
        prop_assert!(x.limits.reorder <= y.limits.reorder + 1e-9, "{:?} {:?}", x, y);
        prop_assert!(x.limits.reorder <= x.limits.max && x.limits.min <= x.limits.reorder + 1e-9);
    }

    #[test]
    fn zero_demand_gives_a_zero_reorder_point(
        days in 1usize..400, method in any_method(), kind in any_kind(), lead in 0.5f64..90.0,
    ) {
        let p = ThresholdParams { method, service_level_kind: kind, ..ThresholdParams::default() };
        let r = policy(&p, &vec![0.0; days], lead, 1.0);
        prop_assert_eq!(r.limits, Limits { min: 0.0, reorder: 0.0, max: 0.0 });
    }

    #[test]
    fn tsb_decays_under_obsolescence(daily in history(), alpha in 0.01f64..1.0, beta in 0.01f64..1.0) {
        prop_assume!(daily.iter().any(|&d| d > 0.0));
        let mut series = daily.clone();
        let mut last = tsb(&series, alpha, beta).unwrap().per_period;
        for _ in 0..10 {
            series.push(0.0);
            let next = tsb(&series, alpha, beta).unwrap().per_period;
            prop_assert!(next < last || (last == 0.0 && next == 0.0), "{} -> {}", last, next);
            prop_assert!((next - last * (1.0 - beta)).abs() <= 1e-9 * last.max(1.0));
            last = next;
        }
    }
}
