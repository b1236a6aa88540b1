//! Reliability → PM pipeline: failure feed import, interval recompute, PM work orders.

use crate::{issue_at, lives, load_sites, write_temp};
use cmms_core::life::{LifeSource, NoPmReason};
use cmms_core::reliability::{Basis, FallbackReason};
use cmms_core::time::{TimeWindow, parse_timestamp};
use cmms_core::work_order::WoState;
use cmms_core::work_order::{DEFAULT_COMPLETION_TOLERANCE, WoAction};
use cmms_pipeline::feed::{self, Feed};
use cmms_pipeline::formulas;
use cmms_pipeline::import::Quiet;
use cmms_pipeline::pm::{self, PmServiceError};
use cmms_store::UpsertCounts;
use cmms_store::reliability::PmIntervalRow;
use cmms_store::testing::Db;

const NOW: i64 = 1_790_000_000_000;

/// The completion window of the CLI and API: up to the clock + 1 hour.
fn window() -> TimeWindow {
    pm::completion_window(jiff::Timestamp::now(), DEFAULT_COMPLETION_TOLERANCE)
}

async fn load_assets(db: &Db) {
    load_sites(db).await;
    let assets = write_temp(
        "assets.csv",
        "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n\
         CH-1,HVAC-CHILLERS,PLANT-A,90,2026-10-01T07:00:00+02:00\n\
         EMPTY,PUMPS,PLANT-A,45,2026-10-01T07:00:00+02:00\n\
         WILD,PUMPS,CAMPUS-S,60,2026-09-30T09:00:00\n\
         NEW,PUMPS,CAMPUS-S,30,\n",
    );
    let r = feed::import(&db.store, Feed::Assets, feed::File { path: &assets, observer: &mut Quiet }, 2).await.unwrap();
    assert!(r.is_clean(), "{:?}", r.issues);
}

const FAILURES: &str = "event_id,asset_id,event_type,started_at,ended_at\n\
    F1,CH-1,UNPLANNED,2026-01-10T04:00:00+01:00,2026-01-10T09:00:00+01:00\n\
    F2,CH-1,PLANNED,2026-02-01 06:00:00,2026-02-02 06:00:00\n\
    F3,CH-1,SENSOR_RESET,2026-02-15 06:00:00,\n\
    F4,CH-1,UNPLANNED,2026-03-12 05:00:00,2026-03-12 09:00:00\n\
    F5,CH-1,CORRECTIVE,2026-03-12 09:00:00,2026-03-12 12:00:00\n\
    F6,CH-1,UNPLANNED,2026-05-02 22:00:00,\n\
    F7,CH-1,PLANNED,2026-04-01 00:00:00,\n\
    W1,WILD,UNPLANNED,2026-01-01 00:00:00,\n\
    W2,WILD,UNPLANNED,2026-01-01 01:00:00,\n\
    W3,WILD,UNPLANNED,2026-09-01 00:00:00,\n\
    W4,WILD,UNPLANNED,2026-01-01 02:00:00,\n\
    E1,EMPTY,SENSOR_RESET,2026-01-01 00:00:00,\n\
    E2,EMPTY,PLANNED,2026-02-01 00:00:00,2026-02-01 04:00:00\n";

async fn load_failures(db: &Db) {
    let r = feed::import(
        &db.store,
        Feed::Failures,
        feed::File { path: &write_temp("failures.csv", FAILURES), observer: &mut Quiet },
        3,
    )
    .await
    .unwrap();
    assert!(r.is_clean(), "{:?}", r.issues);
}

pub async fn failure_feed_is_idempotent_and_rejects_conflicts(db: Db) {
    load_assets(&db).await;
    load_failures(&db).await;
    let again = feed::import(
        &db.store,
        Feed::Failures,
        feed::File { path: &write_temp("f.csv", FAILURES), observer: &mut Quiet },
        4,
    )
    .await
    .unwrap();
    assert_eq!(again.counts, UpsertCounts { inserted: 0, updated: 0, unchanged: 13 });
    assert!(again.is_clean());

    let mixed = write_temp(
        "mixed.csv",
        "event_id,asset_id,event_type,started_at,ended_at\n\
         F1,CH-1,UNPLANNED,2026-01-10T05:00:00+01:00,\n\
         N1,CH-1,BREAKDOWN,2026-06-01,\n\
         N2,NOPE,UNPLANNED,2026-06-01,\n\
         N3,CH-1,UNPLANNED,2026-06-01,\n\
         N3,CH-1,UNPLANNED,2026-06-01,\n\
         N3,CH-1,UNPLANNED,2026-06-02,\n",
    );
    let r =
        feed::import(&db.store, Feed::Failures, feed::File { path: &mixed, observer: &mut Quiet }, 5).await.unwrap();
    assert_eq!((r.counts.inserted, r.counts.unchanged, r.rejected), (1, 1, 4), "{:?}", r.issues);
    assert!(
        issue_at(&r, 2).reason.contains("DUPLICATE_CONFLICT") && issue_at(&r, 2).reason.contains("delivered before")
    );
    assert!(issue_at(&r, 3).reason.contains("known: UNPLANNED, CORRECTIVE, PLANNED, SENSOR_RESET"));
    assert!(issue_at(&r, 4).reason.contains("unknown asset \"NOPE\""));
    assert!(issue_at(&r, 7).reason.contains("DUPLICATE_CONFLICT: event_id \"N3\""), "{:?}", r.issues);
    assert_eq!(db.store.count_rows("failure_events").await.unwrap(), 14);
}

pub async fn intervals_use_unplanned_failures_only_and_fall_back(db: Db) {
    load_assets(&db).await;
    load_failures(&db).await;
    let readings = write_temp("r.csv", "asset_id,mtbf_hours,observed_at\nNEW,0,2026-01-01\nNEW,-3,2026-01-02\n");
    feed::import(&db.store, Feed::MtbfReadings, feed::File { path: &readings, observer: &mut Quiet }, 3).await.unwrap();
    let run = pm::recompute_intervals(&db.store, parse_timestamp("2026-11-01").unwrap(), NOW).await.unwrap();
    assert_eq!(run.assets, 4);
    assert_eq!(run.discarded_samples, 2);
    let rows = db.store.pm_intervals().await.unwrap();
    let get = |id: &str| rows.iter().find(|r| r.asset_id == id).unwrap().clone();

    // Spans between UNPLANNED starts: 1466 h minus the 24 h PLANNED stop, and 1241 h; the open
    // PLANNED event subtracts nothing; CORRECTIVE and SENSOR_RESET end nothing.
    let ch = get("CH-1");
    assert_eq!((ch.basis, ch.n_samples, ch.mean_mtbf_hours), (Some(Basis::Mtbf), 2, Some(1341.5)));
    assert_eq!(ch.interval_days, Some(1341.5 * 0.85 / 24.0));
    // 07:00 Berlin summer time + 47.51 days of wall-clock time, across the October DST change.
    assert_eq!(ch.next_due_local.as_deref(), Some("2026-11-17T19:16:30+01:00"));

    let empty = get("EMPTY");
    assert_eq!((empty.basis, empty.reason), (Some(Basis::Fallback), Some(FallbackReason::NoValidSamples.into())));
    assert_eq!(empty.interval_days, Some(45.0));
    let wild = get("WILD");
    assert_eq!((wild.basis, wild.reason), (Some(Basis::Fallback), Some(FallbackReason::HighVariability.into())));
    // Naive timestamps are UTC: 09:00Z is 19:00 in Sydney (AEST); 60 days later it is still 19:00
    // local, now under daylight saving (AEDT, +11:00).
    assert_eq!(wild.next_due_local.as_deref(), Some("2026-11-29T19:00:00+11:00"));
    let new = get("NEW");
    assert_eq!((new.status.as_str(), new.n_discarded, new.next_due_at), ("NO_LAST_COMPLETION", 2, None));
}

/// Assets over several of the PM stage's chunks (read ahead while the previous chunk computes)
/// each get their own log: asset `i` fails every `24 + i % 97` hours, with corrective work and
/// sensor resets between failures that must not change its MTBF.
pub async fn every_asset_of_many_chunks_gets_its_own_mtbf(db: Db) {
    load_sites(&db).await;
    let n: u32 = 2_345;
    let mut assets = String::from("asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n");
    let mut failures = String::from("event_id,asset_id,event_type,started_at,ended_at\n");
    let start = parse_timestamp("2026-01-01T00:00:00Z").unwrap();
    let at = |h: i64| (start + jiff::SignedDuration::from_hours(h)).to_string();
    for i in 0..n {
        assets.push_str(&format!("A-{i:05},PUMPS,PLANT-A,90,2026-10-01T07:00:00Z\n"));
        let gap = 24 + i64::from(i % 97);
        for k in 0..3 {
            let t = k * gap;
            failures.push_str(&format!("U-{i}-{k},A-{i:05},UNPLANNED,{},\n", at(t)));
            failures.push_str(&format!("C-{i}-{k},A-{i:05},CORRECTIVE,{},{}\n", at(t + 1), at(t + 3)));
            failures.push_str(&format!("S-{i}-{k},A-{i:05},SENSOR_RESET,{},\n", at(t + 2)));
        }
    }
    for (feed_kind, name, text) in [(Feed::Assets, "assets.csv", assets), (Feed::Failures, "failures.csv", failures)] {
        let path = write_temp(name, &text);
        let r = feed::import(&db.store, feed_kind, feed::File { path: &path, observer: &mut Quiet }, 2).await.unwrap();
        assert!(r.is_clean(), "{:?}", r.issues);
    }
    let run = pm::recompute_intervals(&db.store, parse_timestamp("2026-11-01").unwrap(), NOW).await.unwrap();
    assert_eq!(run.assets, u64::from(n));
    let rows = db.store.pm_intervals().await.unwrap();
    assert_eq!(rows.len(), n as usize);
    for (i, row) in rows.iter().enumerate() {
        let gap = 24.0 + f64::from(i as u32 % 97);
        assert_eq!(row.asset_id, format!("A-{i:05}"));
        assert_eq!((row.n_samples, row.mean_mtbf_hours), (2, Some(gap)), "{}", row.asset_id);
    }
}

pub async fn recompute_is_stable_and_keeps_one_open_pm(db: Db) {
    load_assets(&db).await;
    load_failures(&db).await;
    let as_of = parse_timestamp("2026-11-01").unwrap();
    let first = pm::recompute_intervals(&db.store, as_of, NOW).await.unwrap();
    assert_eq!(first.work_orders_created, 3, "every asset with a completion gets its PM");
    let second = pm::recompute_intervals(&db.store, as_of, NOW + 1).await.unwrap();
    assert_eq!(second.rows, UpsertCounts { inserted: 0, updated: 0, unchanged: 4 });
    assert_eq!((second.work_orders_created, second.work_orders_rescheduled), (0, 0));
    assert_eq!(db.store.work_orders(None, None).await.unwrap().len(), 3);
}

async fn in_progress_pm(db: &Db, asset: &str) -> i64 {
    pm::recompute_intervals(&db.store, parse_timestamp("2026-11-01").unwrap(), NOW).await.unwrap();
    let wo = db.store.work_orders(Some(WoState::Scheduled), Some(asset)).await.unwrap().remove(0);
    pm::apply_action(&db.store, wo.id, WoAction::Release, "test", NOW).await.unwrap();
    pm::apply_action(&db.store, wo.id, WoAction::Start, "test", NOW).await.unwrap();
    wo.id
}

pub async fn completion_schedules_exactly_one_next_pm(db: Db) {
    load_assets(&db).await;
    load_failures(&db).await;
    let id = in_progress_pm(&db, "CH-1").await;
    let err = pm::apply_action(&db.store, id, WoAction::Release, "test", NOW).await.unwrap_err();
    assert!(err.to_string().contains("allowed: complete, cancel"), "{err}");

    let done_at = parse_timestamp("2026-11-18T10:00:00+01:00").unwrap();
    let (done, next) = pm::complete(&db.store, id, done_at, window(), "test", NOW).await.unwrap();
    assert_eq!(done.state, WoState::Completed);
    assert_eq!((next.state.as_str(), next.previous_id), ("SCHEDULED", Some(id)));
    assert!(next.due_at > done.completed_at.unwrap(), "due strictly after the completion");

    let again = pm::complete(&db.store, id, done_at, window(), "test", NOW).await.unwrap_err();
    assert_eq!(again.code(), "ILLEGAL_TRANSITION");
    let open = db.store.work_orders(None, Some("CH-1")).await.unwrap();
    assert_eq!(open.iter().filter(|w| w.state.is_open()).count(), 1);

    // The next PM must be completed after the completion it follows.
    pm::apply_action(&db.store, next.id, WoAction::Release, "test", NOW).await.unwrap();
    pm::apply_action(&db.store, next.id, WoAction::Start, "test", NOW).await.unwrap();
    let early = pm::complete(&db.store, next.id, done_at, window(), "test", NOW).await.unwrap_err();
    assert_eq!(early.code(), "COMPLETION_BEFORE_SCHEDULE");
}

pub async fn a_completion_in_the_future_is_refused(db: Db) {
    load_assets(&db).await;
    let id = in_progress_pm(&db, "CH-1").await;
    for at in ["2062-01-01T00:00:00Z", "9000-06-01T00:00:00Z"] {
        let err = pm::complete(&db.store, id, parse_timestamp(at).unwrap(), window(), "test", NOW).await.unwrap_err();
        assert_eq!(err.code(), "TIMESTAMP_OUT_OF_RANGE", "{at}: {err}");
        assert!(err.to_string().contains("is in the future: later than now + 1h"), "{err}");
    }
    let wo = db.store.work_order(id).await.unwrap().unwrap();
    assert_eq!((wo.state.as_str(), wo.completed_at), ("IN_PROGRESS", None), "nothing written");
    let now = jiff::Timestamp::now();
    let (done, _) = pm::complete(&db.store, id, now, window(), "test", NOW).await.unwrap();
    assert_eq!(done.completed_at, Some(now.as_millisecond()));
}

pub async fn correcting_a_completion_reschedules_the_next_pm(db: Db) {
    load_assets(&db).await;
    load_failures(&db).await;
    let id = in_progress_pm(&db, "CH-1").await;
    // A completion dated 2062, as the service accepted before completion times were checked.
    let wrong = parse_timestamp("2062-11-18T10:00:00+01:00").unwrap();
    let lax = TimeWindow::new(jiff::Timestamp::now(), jiff::SignedDuration::from_hours(24 * 365 * 100));
    let (_, next) = pm::complete(&db.store, id, wrong, lax, "test", NOW).await.unwrap();
    assert!(next.due_at > wrong.as_millisecond());

    let bad = pm::correct(&db.store, next.id, wrong, "typo", window(), "op", NOW).await.unwrap_err();
    assert_eq!(bad.code(), "TIMESTAMP_OUT_OF_RANGE");
    let real = parse_timestamp("2026-11-18T10:00:00+01:00").unwrap();
    assert_eq!(
        pm::correct(&db.store, next.id, real, "typo", window(), "op", NOW).await.unwrap_err().code(),
        "NOT_COMPLETED"
    );
    assert_eq!(
        pm::correct(&db.store, id, real, "  ", window(), "op", NOW).await.unwrap_err().code(),
        "REASON_REQUIRED"
    );
    let fixed = pm::correct(&db.store, id, real, "year typed as 2062", window(), "op", NOW + 5).await.unwrap();
    assert_eq!(fixed.corrected.completed_at, Some(real.as_millisecond()));
    let moved = fixed.next.expect("the next PM");
    assert!(fixed.next_rescheduled);
    assert_eq!((moved.id, moved.state.as_str(), moved.follows_at), (next.id, "SCHEDULED", Some(real.as_millisecond())));
    // Due one interval after the corrected completion: what completing at `real` would have given.
    let interval = db.store.current_interval_days("CH-1").await.unwrap().unwrap();
    let tz = cmms_core::time::SiteTz::parse(&moved.timezone).unwrap().zone();
    let due = cmms_core::pm::next_due(Some(real), interval, &tz).unwrap().due_utc();
    assert_eq!(moved.due_at, due.as_millisecond());
    let asset = db.store.pm_assets().await.unwrap().into_iter().find(|a| a.asset_id == "CH-1").unwrap();
    assert_eq!(asset.last_completion_at, Some(real.as_millisecond()), "the asset forgets 2062");
    let events = db.store.column_texts("work_order_events", "reason").await.unwrap();
    assert!(
        events
            .iter()
            .any(|r| r.contains("corrected from 2062-11-18T09:00:00Z to 2026-11-18T09:00:00Z: year typed as 2062")),
        "{events:?}"
    );
    // A recompute keeps the corrected schedule, and the next PM can be completed today.
    pm::recompute_intervals(&db.store, parse_timestamp("2026-11-20").unwrap(), NOW + 6).await.unwrap();
    assert_eq!(db.store.work_order(next.id).await.unwrap().unwrap().due_at, due.as_millisecond());
    pm::apply_action(&db.store, next.id, WoAction::Release, "test", NOW).await.unwrap();
    pm::apply_action(&db.store, next.id, WoAction::Start, "test", NOW).await.unwrap();
    pm::complete(&db.store, next.id, jiff::Timestamp::now(), window(), "test", NOW).await.unwrap();
    // Now the next PM's own completion drives the schedule: the first can no longer be corrected.
    let later = parse_timestamp("2026-11-19T10:00:00+01:00").unwrap();
    let err = pm::correct(&db.store, id, later, "again", window(), "op", NOW).await.unwrap_err();
    assert_eq!(err.code(), "NEXT_PM_COMPLETED");
}

pub async fn a_correction_keeps_the_due_date_of_a_released_next_pm(db: Db) {
    load_assets(&db).await;
    load_failures(&db).await;
    let id = in_progress_pm(&db, "CH-1").await;
    let first = parse_timestamp("2026-11-18T10:00:00+01:00").unwrap();
    let (_, next) = pm::complete(&db.store, id, first, window(), "test", NOW).await.unwrap();
    pm::apply_action(&db.store, next.id, WoAction::Release, "test", NOW).await.unwrap();
    let real = parse_timestamp("2026-11-17T10:00:00+01:00").unwrap();
    let fixed = pm::correct(&db.store, id, real, "entered a day late", window(), "op", NOW).await.unwrap();
    assert!(!fixed.next_rescheduled);
    let kept = fixed.next.unwrap();
    assert_eq!((kept.state.as_str(), kept.due_at), ("RELEASED", next.due_at));
    assert_eq!(kept.follows_at, Some(real.as_millisecond()), "it follows the corrected completion");
}

pub async fn concurrent_completions_yield_one_open_pm(db: Db) {
    load_assets(&db).await;
    load_failures(&db).await;
    let id = in_progress_pm(&db, "CH-1").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = db.store.clone();
        let at = parse_timestamp(&format!("2026-11-18T10:0{i}:00+01:00")).unwrap();
        tasks.push(tokio::spawn(async move { pm::complete(&store, id, at, window(), "test", NOW).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(PmServiceError::Concurrent(_)) | Err(PmServiceError::Rule(_)) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one completion wins");
    let orders = db.store.work_orders(None, Some("CH-1")).await.unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders.iter().filter(|w| w.state == WoState::Scheduled).count(), 1);
}

pub async fn formula_change_flows_into_intervals(db: Db) {
    load_assets(&db).await;
    load_failures(&db).await;
    let as_of = parse_timestamp("2026-11-01").unwrap();
    let first = pm::recompute_intervals(&db.store, as_of, NOW).await.unwrap();
    let (v2, new) = formulas::load(&db.store, "[pm]\nsafety_factor = 0.7\n", "test", NOW).await.unwrap();
    assert!(new && v2 > first.formula_version);
    let (again, new) = formulas::load(&db.store, "[pm]\n  safety_factor = 0.70 # same\n", "again", NOW).await.unwrap();
    assert_eq!((again, new), (v2, false), "identical parameters are one version");
    let changes = formulas::diff_versions(&db.store, first.formula_version, v2).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].path, "pm.safety_factor");

    let second = pm::recompute_intervals(&db.store, as_of, NOW + 1).await.unwrap();
    assert_eq!(second.formula_version, v2);
    assert_eq!(second.work_orders_rescheduled, 1, "only CH-1's interval depends on the factor");
    let ch = db.store.pm_intervals().await.unwrap().into_iter().find(|r| r.asset_id == "CH-1").unwrap();
    assert_eq!((ch.interval_days, ch.formula_version), (Some(1341.5 * 0.7 / 24.0), v2));

    let bad = formulas::load(&db.store, "[pm]\nsafety_factor = 0\n", "bad", NOW).await.unwrap_err();
    assert!(bad.to_string().contains("pm.safety_factor"), "{bad}");
    assert_eq!(db.store.formula_versions().await.unwrap().len(), 2, "a rejected file stores nothing");
}

/// The `weibull_cost` formulas of the tests: a failure costs five PMs.
const WEIBULL_COST: &str = "[pm]\nmethod = \"weibull_cost\"\nfailure_cost = 5.0\npm_cost = 1.0\n";

/// Import files for `weibull_cost`: sites, assets (WEAR and FEW in one group, RAND in another)
/// and the failure log of [`lives::wear_few_rand`].
fn life_files(as_of: jiff::Timestamp) -> std::path::PathBuf {
    let dir = write_temp("sites.csv", "site_id,timezone\nNY,America/New_York\n").parent().unwrap().to_path_buf();
    std::fs::write(
        dir.join("assets.csv"),
        "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n\
         WEAR,GEARS,NY,30,2024-05-20T08:00:00-04:00\nFEW,GEARS,NY,30,\nRAND,FANS,NY,45,2024-05-10T08:00:00-04:00\n",
    )
    .unwrap();
    std::fs::write(dir.join("failures.csv"), lives::wear_few_rand(as_of)).unwrap();
    dir
}

/// `[pm] method = "weibull_cost"` in the persisted recompute: the same decisions, fits, cost
/// rates and due dates as `cmms compute` on the same files; no PM work order where no
/// time-based PM pays; back on `mtbf_fraction` the life models are gone and the seed's intervals
/// are back.
pub async fn weibull_cost_recompute_matches_compute(db: Db) {
    let as_of = parse_timestamp("2024-06-01T00:00:00Z").unwrap();
    let dir = life_files(as_of);
    for (kind, name) in [(Feed::Sites, "sites.csv"), (Feed::Assets, "assets.csv"), (Feed::Failures, "failures.csv")] {
        let r =
            feed::import(&db.store, kind, feed::File { path: &dir.join(name), observer: &mut Quiet }, 1).await.unwrap();
        assert!(r.is_clean(), "{name}: {:?}", r.issues);
    }
    let seed = pm::recompute_intervals(&db.store, as_of, NOW).await.unwrap();
    let seed_rows = db.store.pm_intervals().await.unwrap();
    formulas::load(&db.store, WEIBULL_COST, "weibull", NOW).await.unwrap();
    let run = pm::recompute_intervals(&db.store, as_of, NOW + 1).await.unwrap();
    assert_eq!(run.by_status.get("NO_TIME_BASED_PM"), Some(&1), "{run:?}");
    assert_eq!(run.by_basis.get("RUN_TO_FAILURE/NO_WEAR_OUT"), Some(&1), "{run:?}");

    let stored = db.store.pm_intervals().await.unwrap();
    assert_eq!(stored.len(), 3);
    assert_compute_agrees(&dir, as_of, &stored);
    let get = |id: &str| stored.iter().find(|r| r.asset_id == id).unwrap();
    let wear = get("WEAR");
    assert_eq!(
        (wear.status.as_str(), wear.basis, wear.life.life_source),
        ("OK", Some(Basis::Weibull), Some(LifeSource::Own))
    );
    assert!(wear.life.cost_rate.unwrap() < wear.life.cost_rate_seed.unwrap());
    assert_eq!(get("FEW").life.life_source, Some(LifeSource::Pooled));
    let rand = get("RAND");
    assert_eq!(
        (rand.status.as_str(), rand.basis, rand.reason, rand.interval_days, rand.next_due_at),
        ("NO_TIME_BASED_PM", Some(Basis::RunToFailure), Some(NoPmReason::NoWearOut.into()), None, None)
    );
    // The seed's PM of RAND stays open (an operator cancels it); no new one is scheduled.
    assert_eq!(run.work_orders_created, 0);
    assert_eq!(db.store.work_orders(None, Some("RAND")).await.unwrap().len(), 1);
    assert_eq!(db.store.life_models("RAND").await.unwrap().len(), 1);

    // Completed PMs are renewals: the running life ends as a suspension at each. Two completions
    // in the last life (the imported last completion of 2024-05-20 is superseded by them) make
    // one life more.
    let before = db.store.life_models("WEAR").await.unwrap()[0].clone();
    let window = TimeWindow::new(parse_timestamp("2024-06-01T00:00:00Z").unwrap(), DEFAULT_COMPLETION_TOLERANCE);
    for (i, done) in ["2024-05-31T08:00:00-04:00", "2024-05-31T09:00:00-04:00"].into_iter().enumerate() {
        let open = db.store.work_orders(None, Some("WEAR")).await.unwrap();
        let id = open.iter().find(|w| w.state.is_open()).unwrap().id;
        let at = NOW + 2 + 3 * i as i64;
        for action in [WoAction::Release, WoAction::Start] {
            pm::apply_action(&db.store, id, action, "test", at).await.unwrap();
        }
        pm::complete(&db.store, id, parse_timestamp(done).unwrap(), window, "test", at + 1).await.unwrap();
    }
    pm::recompute_intervals(&db.store, as_of, NOW + 9).await.unwrap();
    let after = db.store.life_models("WEAR").await.unwrap()[0].clone();
    assert_eq!((after.lives, after.failures), (before.lives.map(|n| n + 1), before.failures));

    formulas::load(&db.store, "[pm]\nmethod = \"mtbf_fraction\"\n", "seed", NOW + 5).await.unwrap();
    pm::recompute_intervals(&db.store, as_of, NOW + 6).await.unwrap();
    assert!(db.store.life_models("WEAR").await.unwrap().is_empty());
    let back = db.store.pm_intervals().await.unwrap();
    let rand_back = back.iter().find(|r| r.asset_id == "RAND").unwrap();
    let rand_seed = seed_rows.iter().find(|r| r.asset_id == "RAND").unwrap();
    assert_eq!((rand_back.basis, rand_back.interval_days), (rand_seed.basis, rand_seed.interval_days));
    assert_eq!(rand_back.life, Default::default());
    assert_eq!(seed.assets, 3);
}

/// `cmms compute` on the import files in `dir` gives, per asset, the status, decision, fit and
/// cost rates that the persisted recompute stored (`stored`).
fn assert_compute_agrees(dir: &std::path::Path, as_of: jiff::Timestamp, stored: &[PmIntervalRow]) {
    let out = dir.join("out");
    let formulas = cmms_core::formula::FormulaSet::parse(WEIBULL_COST).unwrap();
    let window = TimeWindow::events(jiff::Timestamp::now().max(as_of));
    cmms_pipeline::compute::compute_folder(dir, &out, &formulas, as_of, window).unwrap();
    let text = std::fs::read_to_string(out.join("intervals.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let computed: std::collections::BTreeMap<String, std::collections::HashMap<&str, String>> = lines
        .map(|l| {
            let row: std::collections::HashMap<&str, String> =
                header.iter().copied().zip(l.split(',').map(str::to_owned)).collect();
            (row["asset_id"].clone(), row)
        })
        .collect();
    assert_eq!(computed.len(), stored.len());
    let text = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    for r in stored {
        let c = &computed[&r.asset_id];
        let l = &r.life;
        assert_eq!(r.status.as_str(), c["status"], "{}", r.asset_id);
        assert_eq!(r.basis.map(|b| b.as_str()), Some(c["basis"].as_str()), "{}", r.asset_id);
        assert_eq!(r.reason.map_or("", |x| x.code()), c["reason"], "{}", r.asset_id);
        assert_eq!(text(r.interval_days), c["interval_days"], "{}", r.asset_id);
        assert_eq!(r.next_due_local.clone().unwrap_or_default(), c["next_due_at"], "{}", r.asset_id);
        assert_eq!(l.component.as_deref(), Some(c["life_component"].as_str()), "{}", r.asset_id);
        assert_eq!(l.life_source.map(|s| s.as_str()), Some(c["life_source"].as_str()), "{}", r.asset_id);
        assert_eq!(l.failures.map(|n| n.to_string()).as_ref(), Some(&c["failures"]), "{}", r.asset_id);
        assert_eq!(l.zero_length_dropped.map(|n| n.to_string()).as_ref(), Some(&c["zero_length_dropped"]));
        for (value, column) in [
            (l.exp_mtbf_hours, "exp_mtbf_hours"),
            (l.beta, "beta"),
            (l.beta_lower, "beta_lower"),
            (l.beta_upper, "beta_upper"),
            (l.alpha_hours, "alpha_hours"),
            (l.mean_life_hours, "mean_life_hours"),
            (l.b10_hours, "b10_hours"),
            (l.t_star_hours, "t_star_hours"),
            (l.seed_interval_days, "seed_interval_days"),
            (l.cost_rate, "cost_rate"),
            (l.cost_rate_seed, "cost_rate_seed"),
        ] {
            assert_eq!(text(value), c[column], "{} {column}", r.asset_id);
        }
    }
}

/// Failure events that name a component (`component` column): each component of an asset is a
/// unit with lives of its own (renewed by its own failures and replacements, by replacements of
/// the whole asset and by PM completions, not by the other components' failures), pooled with the
/// same component of the asset group; the shortest recommended interval sets the asset's. MIX's
/// BEARING units equal SOLO's whole-asset lives (the same renewals in a log of its own); its FAN
/// fails at random, so it gets no PM, and the bearing decides.
pub async fn weibull_cost_decides_per_component(db: Db) {
    let as_of = parse_timestamp("2024-06-01T00:00:00Z").unwrap();
    let dir = write_temp("sites.csv", "site_id,timezone\nNY,America/New_York\n").parent().unwrap().to_path_buf();
    std::fs::write(
        dir.join("assets.csv"),
        "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n\
         MIX,PUMPS,NY,30,\nSOLO,SOLOS,NY,30,\n",
    )
    .unwrap();
    let (bearing, fan, start) = lives::bearing_and_fan(as_of);
    // One overhaul of the whole asset starts every unit's first life.
    let failures = [
        lives::FAILURES_HEADER.to_owned(),
        format!("MIX-0,MIX,PLANNED_REPLACEMENT,{start},,\nSOLO-0,SOLO,PLANNED_REPLACEMENT,{start},,\n"),
        lives::renewal_rows("MIX", "BEARING", start, &bearing),
        lives::renewal_rows("MIX", "FAN", start, &fan),
        lives::renewal_rows("SOLO", "", start, &bearing),
    ]
    .concat();
    std::fs::write(dir.join("failures.csv"), failures).unwrap();
    for (kind, name) in [(Feed::Sites, "sites.csv"), (Feed::Assets, "assets.csv"), (Feed::Failures, "failures.csv")] {
        let r =
            feed::import(&db.store, kind, feed::File { path: &dir.join(name), observer: &mut Quiet }, 1).await.unwrap();
        assert!(r.is_clean(), "{name}: {:?}", r.issues);
    }
    formulas::load(&db.store, WEIBULL_COST, "weibull", NOW).await.unwrap();
    pm::recompute_intervals(&db.store, as_of, NOW + 1).await.unwrap();

    let units = db.store.life_models("MIX").await.unwrap();
    let names: Vec<_> = units.iter().map(|m| m.component.clone().unwrap()).collect();
    assert_eq!(names, ["BEARING", "FAN"]);
    let (bearing_model, fan_model) = (&units[0], &units[1]);
    let solo = &db.store.life_models("SOLO").await.unwrap()[0];
    assert_eq!(solo.component.as_deref(), Some(""));
    for (a, b) in [
        (bearing_model.beta, solo.beta),
        (bearing_model.alpha_hours, solo.alpha_hours),
        (bearing_model.t_star_hours, solo.t_star_hours),
    ] {
        assert_eq!(a, b, "the bearing's lives are SOLO's");
    }
    assert_eq!((bearing_model.lives, bearing_model.failures), (solo.lives, solo.failures));
    assert_eq!(bearing_model.life_basis, Some(Basis::Weibull));
    assert_eq!((fan_model.life_basis, fan_model.life_reason), (Some(Basis::RunToFailure), Some(NoPmReason::NoWearOut)));
    let stored = db.store.pm_intervals().await.unwrap();
    let mix = stored.iter().find(|r| r.asset_id == "MIX").unwrap();
    assert_eq!((mix.basis, mix.life.component.as_deref()), (Some(Basis::Weibull), Some("BEARING")));
    assert_eq!(mix.interval_days, bearing_model.life_interval_days);
    // MTBF still counts every unplanned failure of the asset, whatever its component.
    let solo_row = stored.iter().find(|r| r.asset_id == "SOLO").unwrap();
    assert!(mix.n_samples > solo_row.n_samples, "{} vs {}", mix.n_samples, solo_row.n_samples);
    assert_compute_agrees(&dir, as_of, &stored);

    // A re-delivery naming another component is a conflict, not a silent change.
    let log = std::fs::read_to_string(dir.join("failures.csv")).unwrap();
    let first_bearing = log.lines().find(|l| l.starts_with("MIX-BEARING-1,")).unwrap().replace(",BEARING", ",FAN");
    let again = write_temp("failures.csv", &format!("{}{first_bearing}\n", lives::FAILURES_HEADER));
    let r =
        feed::import(&db.store, Feed::Failures, feed::File { path: &again, observer: &mut Quiet }, 1).await.unwrap();
    assert_eq!(r.issues.len(), 1, "{:?}", r.issues);
}
