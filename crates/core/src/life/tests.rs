use super::*;

fn at_hour(h: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + h * 3600).unwrap()
}

fn failure(h: i64) -> Renewal {
    Renewal { at: at_hour(h), kind: RenewalKind::Failure }
}

fn replacement(h: i64) -> Renewal {
    Renewal { at: at_hour(h), kind: RenewalKind::Replacement }
}

fn life(hours: f64, failed: bool) -> Life {
    Life { hours, failed }
}

#[test]
fn lives_follow_renewals_and_the_end_of_record() {
    let mut renewals = vec![
        replacement(0), // install: the first life starts here
        failure(100),
        replacement(250),
        failure(400),
        replacement(400), // same instant as the failure: a zero-length life, dropped
        failure(700),
        failure(2000), // after as_of: ignored
    ];
    renewals.sort();
    let downtime = [(at_hour(120), at_hour(130)), (at_hour(125), at_hour(140)), (at_hour(690), at_hour(710))];
    let set = lives(&renewals, &downtime, at_hour(1000)).unwrap();
    assert_eq!(
        set.lives,
        vec![
            life(100.0, true),
            life(150.0 - 20.0, false), // 120..140 down
            life(150.0, true),
            life(300.0 - 10.0, true),  // 690..700 down
            life(300.0 - 10.0, false), // 700..710 down; as_of ends it
        ]
    );
    assert_eq!(set.zero_length_dropped, 1);
    // A renewal exactly at as_of leaves a zero-length running life: dropped and counted.
    let set = lives(&[replacement(0), failure(50)], &[], at_hour(50)).unwrap();
    assert_eq!((set.lives, set.zero_length_dropped), (vec![life(50.0, true)], 1));
    assert_eq!(lives(&[], &[], at_hour(50)).unwrap(), LifeSet::default());
    assert_eq!(lives(&[failure(5), failure(1)], &[], at_hour(50)), Err(LifeError::NotSorted));
}

#[test]
fn pooling_uses_own_lives_only_with_enough_failures() {
    let rich: Vec<Life> = (1..=6).map(|i| life(100.0 * i as f64, true)).collect();
    let poor = vec![life(50.0, true), life(80.0, false)];
    let units = [(("PUMP", "SEAL"), rich.as_slice()), (("PUMP", "SEAL"), poor.as_slice()), (("FAN", ""), &poor[..1])];
    let (pools, sources) = pool_by_group(&units, 5);
    assert_eq!(sources, vec![LifeSource::Own, LifeSource::Pooled, LifeSource::Pooled]);
    assert_eq!(pools[&("PUMP", "SEAL")].len(), 8);
    assert_eq!(pools[&("FAN", "")].len(), 1);
}

fn params(cp: f64, cf: f64) -> DecisionParams {
    DecisionParams {
        failure_cost: cf,
        pm_cost: cp,
        min_failures: 5,
        confidence: 0.95,
        slack: 0.85,
        min_interval_days: 7.0,
        max_interval_days: 365.0,
    }
}

/// Lives with β ≈ 3 (quantiles of a Weibull(3, 2000 h)), every third suspended.
fn wearing_lives() -> Vec<Life> {
    (1..=40)
        .map(|i| {
            let p = (i as f64 - 0.5) / 40.0;
            life(2000.0 * (-(1.0 - p).ln()).powf(1.0 / 3.0), i % 3 != 0)
        })
        .collect()
}

#[test]
fn decisions_and_their_reasons() {
    let lives = wearing_lives();
    let d = pm_decision(&lives, &params(1.0, 5.0), Some(30.0));
    assert_eq!(d.reason, None);
    let fit = d.weibull.unwrap();
    assert!(fit.shape_lr.0 > 1.0);
    let t = d.optimal_age_hours.unwrap();
    assert_eq!(d.interval_days, Some((t * 0.85 / 24.0).clamp(7.0, 365.0)));
    assert!(d.cost_rate_recommended.unwrap() < d.cost_rate_seed.unwrap());
    assert!(d.cost_rate_recommended.unwrap() < cost_rate(&fit.model, 1.0, 5.0, f64::INFINITY));

    let d = pm_decision(&lives, &params(5.0, 5.0), Some(30.0));
    assert_eq!((d.reason, d.interval_days), (Some(NoPmReason::FailureNotCostlier), None));
    assert_eq!(d.cost_rate_recommended, Some(5.0 / d.weibull.unwrap().model.mean()));

    let few = &lives[..5];
    let d = pm_decision(few, &params(1.0, 5.0), None);
    assert_eq!((d.reason, d.weibull), (Some(NoPmReason::TooFewFailures), None));

    let random: Vec<Life> = (1..=40).map(|i| life(1000.0 * -((i as f64 - 0.5) / 40.0).ln(), true)).collect();
    let d = pm_decision(&random, &params(1.0, 5.0), Some(30.0));
    assert_eq!((d.reason, d.interval_days), (Some(NoPmReason::NoWearOut), None));

    let mut tied = vec![life(10.0, true); 6];
    tied.push(life(5.0, false));
    assert_eq!(pm_decision(&tied, &params(1.0, 5.0), None).reason, Some(NoPmReason::NoFit));
}

/// SplitMix64 (the demo crate's generator; core takes no dependency on it).
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Simulation study: 1,000 replications per true shape β ∈ {0.8, 1, 1.5, 3} (scale 1000 h), each
/// 80 lives, each life suspended by a PM at a uniform random age in (0, 2000 h) when that comes
/// first. The 95 % likelihood-ratio bounds on β must cover the true β in 93–97 % of replications,
/// and for β ≤ 1 the decision (Cf/Cp = 5) must be no time-based PM in ≥ 95 % of the replications
/// with 20 or more failures.
#[test]
fn simulation_bounds_cover_and_random_failures_get_no_pm() {
    let mut rng = Rng(20_261_207);
    for beta in [0.8, 1.0, 1.5, 3.0] {
        let (mut covered_lr, mut covered_fisher, mut fitted, mut eligible, mut no_pm) = (0, 0, 0, 0, 0);
        for _ in 0..1000 {
            let lives: Vec<Life> = (0..80)
                .map(|_| {
                    let t = 1000.0 * (-(1.0 - rng.unit()).ln()).powf(1.0 / beta);
                    let pm = 2000.0 * (1.0 - rng.unit());
                    if t <= pm { life(t, true) } else { life(pm, false) }
                })
                .collect();
            let d = pm_decision(&lives, &params(1.0, 5.0), Some(30.0));
            if let Some(fit) = d.weibull {
                fitted += 1;
                covered_lr += usize::from(fit.shape_lr.0 <= beta && beta <= fit.shape_lr.1);
                covered_fisher += usize::from(fit.shape_fisher.0 <= beta && beta <= fit.shape_fisher.1);
            }
            if d.exponential.failures >= 20 {
                eligible += 1;
                no_pm += usize::from(d.interval_days.is_none());
            }
        }
        println!(
            "β {beta}: LR bounds cover {covered_lr}/1000, Fisher {covered_fisher}/1000; no PM in {no_pm}/{eligible} \
             replications with ≥ 20 failures"
        );
        assert_eq!(fitted, 1000, "β {beta}: every replication has a fit");
        assert!((930..=970).contains(&covered_lr), "β {beta}: LR coverage {covered_lr}/1000");
        assert!((920..=975).contains(&covered_fisher), "β {beta}: Fisher coverage {covered_fisher}/1000");
        if beta <= 1.0 {
            assert!(eligible >= 900, "β {beta}: {eligible} replications with ≥ 20 failures");
            assert!(no_pm * 100 >= eligible * 95, "β {beta}: no PM in {no_pm}/{eligible}");
        } else {
            assert!(no_pm < 1000, "β {beta}: wear-out must sometimes be shown");
        }
    }
}

#[test]
fn renewals_come_from_failures_flagged_replacements_and_completions() {
    use crate::reliability::{FailureEvent, FailureEventType::*};
    let ev = |event_type, s: i64, e: Option<i64>| FailureEvent {
        event_type,
        started_at: at_hour(s),
        ended_at: e.map(at_hour),
    };
    let events = [
        ev(Unplanned, 100, Some(104)),
        ev(Planned, 150, Some(160)), // downtime only
        ev(PlannedReplacement, 250, Some(255)),
        ev(SensorReset, 260, None),
        ev(Corrective, 270, Some(280)),
    ];
    let (renewals, downtime) = renewals_from_log(&events, &[], WHOLE_ASSET, &[at_hour(0), at_hour(400)]);
    assert_eq!(renewals, vec![replacement(0), failure(100), replacement(250), replacement(400)]);
    assert_eq!(downtime, vec![(at_hour(150), at_hour(160)), (at_hour(250), at_hour(255))]);
    let set = lives(&renewals, &downtime, at_hour(500)).unwrap();
    assert_eq!(set.lives, vec![life(100.0, true), life(140.0, false), life(145.0, false), life(100.0, false)]);
}

#[test]
fn components_have_their_own_lives_renewed_by_whole_asset_replacements() {
    use crate::reliability::{FailureEvent, FailureEventType::*};
    let ev = |event_type, s: i64, e: Option<i64>| FailureEvent {
        event_type,
        started_at: at_hour(s),
        ended_at: e.map(at_hour),
    };
    // Keys: 0 the asset as a whole, 1 bearing, 2 seal.
    let events = [
        ev(Unplanned, 100, None),               // bearing fails
        ev(Unplanned, 150, None),               // seal fails
        ev(Planned, 200, Some(210)),            // downtime of the whole asset, no renewal
        ev(PlannedReplacement, 300, None),      // seal replaced
        ev(Unplanned, 350, None),               // bearing fails
        ev(PlannedReplacement, 400, Some(402)), // overhaul of the whole asset
        ev(Corrective, 450, None),              // renews nothing
    ];
    let (components, names) =
        component_keys([Some("bearing"), Some("seal"), None, Some("seal"), Some("bearing"), None, Some("bearing")]);
    assert_eq!(components, vec![1, 2, 0, 2, 1, 0, 1]);
    assert_eq!(names, vec!["", "bearing", "seal"]);
    assert_eq!(component_keys([None, None]), (vec![], vec![""]));
    assert_eq!(component_keys([None, Some("seal"), None, Some("")]), (vec![0, 1, 0, 0], vec!["", "seal"]));
    assert_eq!(units_of(&events, &components), vec![1, 2]);
    let units = unit_lives(&events, &components, &[at_hour(500)], at_hour(600)).unwrap();
    let bearing = &units[0];
    assert_eq!(bearing.0, 1);
    // 100 → 350 failure (10 h down), 350 → 400 suspension, 400 → 500 (2 h down), 500 → 600.
    assert_eq!(bearing.1.lives, vec![life(240.0, true), life(50.0, false), life(98.0, false), life(100.0, false)]);
    let seal = &units[1];
    assert_eq!(seal.0, 2);
    // 150 → 300 replaced (10 h down), 300 → 400, 400 → 500 (2 h down), 500 → 600.
    assert_eq!(seal.1.lives, vec![life(140.0, false), life(100.0, false), life(98.0, false), life(100.0, false)]);
    // Without keys every event is about the asset as a whole, exactly as before components.
    let whole = unit_lives(&events, &[], &[at_hour(500)], at_hour(600)).unwrap();
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].0, WHOLE_ASSET);
    let (renewals, downtime) = renewals_from_log(&events, &[], WHOLE_ASSET, &[at_hour(500)]);
    assert_eq!(whole[0].1, lives(&renewals, &downtime, at_hour(600)).unwrap());
    assert_eq!(whole[0].1.lives.iter().filter(|l| l.failed).count(), 2, "the first failure starts the first life");
    // An untagged failure beside tagged ones is a unit of its own; a log without renewals has one.
    assert_eq!(units_of(&events, &[1, 0, 0, 2, 1, 0, 1]), vec![0, 1, 2]);
    assert_eq!(units_of(&events[2..3], &[2]), vec![WHOLE_ASSET]);
    assert_eq!(
        unit_lives(&events, &[1, 2], &[], at_hour(600)),
        Err(LifeError::ComponentsMismatch { events: 7, components: 2 })
    );
}

#[test]
fn the_shortest_weibull_interval_decides_else_the_most_failures() {
    let params = params(1.0, 5.0);
    let wearing = wearing_lives();
    let decide = |lives: &[Life]| {
        let decision = pm_decision(lives, &params, Some(90.0));
        let interval_days = decision.interval_days;
        let basis = if interval_days.is_some() { CostBasis::Weibull } else { CostBasis::RunToFailure };
        UnitDecision { source: LifeSource::Own, decision, basis, interval_days }
    };
    let random: Vec<Life> = (1..=30).map(|i| life(-1000.0 * (1.0 - (f64::from(i) - 0.5) / 30.0).ln(), true)).collect();
    let few = vec![life(500.0, true)];
    let (w, r, f) = (decide(&wearing), decide(&random), decide(&few));
    assert_eq!(w.basis, CostBasis::Weibull);
    assert_eq!(r.basis, CostBasis::RunToFailure);
    let mut shorter = w;
    shorter.interval_days = w.interval_days.map(|d| d / 2.0);
    assert_eq!(deciding_unit(&[r, w, shorter, f]), Some(2));
    assert_eq!(deciding_unit(&[f, r]), Some(1));
    assert_eq!(deciding_unit(&[f, f]), Some(0));
    assert_eq!(deciding_unit(&[]), None);
}

#[test]
fn units_with_few_failures_share_their_pool_fit() {
    let rich = wearing_lives();
    let poor = vec![life(900.0, true), life(1500.0, false)];
    let inputs = [
        UnitInput {
            pool: &"A",
            lives: &rich,
            seed_interval_days: 30.0,
            manufacturer_interval_days: 90.0,
            costs: Some((5.0, 1.0)),
        },
        UnitInput {
            pool: &"A",
            lives: &poor,
            seed_interval_days: 60.0,
            manufacturer_interval_days: 90.0,
            costs: Some((5.0, 1.0)),
        },
        UnitInput {
            pool: &"B",
            lives: &poor,
            seed_interval_days: 60.0,
            manufacturer_interval_days: 90.0,
            costs: Some((5.0, 1.0)),
        },
    ];
    let p = params(1.0, 5.0);
    let out = weibull_cost_decisions(&inputs, &p, false, 1);
    assert_eq!(weibull_cost_decisions(&inputs, &p, false, 3), out);
    assert_eq!(
        out.iter().map(|u| u.source).collect::<Vec<_>>(),
        [LifeSource::Own, LifeSource::Pooled, LifeSource::Pooled]
    );
    assert_eq!(out[0].basis, CostBasis::Weibull);
    let pooled: Vec<Life> = rich.iter().chain(&poor).copied().collect();
    assert_eq!(out[1].decision.weibull, pm_decision(&pooled, &p, None).weibull);
    let model = out[1].decision.weibull.unwrap().model;
    assert_eq!(out[1].decision.cost_rate_seed, Some(cost_rate(&model, 1.0, 5.0, 60.0 * 24.0)));
    assert_eq!((out[2].basis, out[2].interval_days), (CostBasis::RunToFailure, None));
    assert_eq!(out[2].decision.reason, Some(NoPmReason::TooFewFailures));
    let kept = weibull_cost_decisions(&inputs[2..], &p, true, 2);
    assert_eq!(kept[0].interval_days, Some(90.0));
}

#[test]
fn kaplan_meier_steps_down_at_failures_only() {
    let km = kaplan_meier(&[life(30.0, true), life(10.0, true), life(20.0, false), life(40.0, true)]);
    let steps: Vec<(f64, bool, f64)> = km.iter().map(|p| (p.hours, p.failed, p.survival)).collect();
    assert_eq!(steps, vec![(10.0, true, 0.75), (20.0, false, 0.75), (30.0, true, 0.375), (40.0, true, 0.0)]);
}
