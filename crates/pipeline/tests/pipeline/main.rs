//! Pipeline integration tests, each run on SQLite and on PostgreSQL (when configured).

mod auth;
mod corrections;
mod hardening;
mod inventory;
#[path = "../common/lives.rs"]
mod lives;
mod pm;
mod routing;
mod units;

use cmms_pipeline::feed::{self, Feed};
use cmms_pipeline::import::{ImportReport, Location, Quiet, RowIssue};
use cmms_store::testing::{Db, run_suite};
use cmms_store::{UpsertCounts, case};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub(crate) fn write_temp(name: &str, content: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("cmms-pipeline-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

pub(crate) async fn load_sites(db: &Db) {
    let r = feed::import(&db.store, Feed::Sites, feed::File { path: &fixture("sites.csv"), observer: &mut Quiet }, 1)
        .await
        .unwrap();
    assert!(r.is_clean(), "{r:?}");
}

pub(crate) fn issue_at(r: &ImportReport, line: u64) -> &RowIssue {
    r.issues
        .iter()
        .find(|i| i.location == Location::Line(line))
        .unwrap_or_else(|| panic!("no issue reported for line {line}: {:?}", r.issues))
}

async fn bad_parts_rows_are_reported_and_good_rows_land(db: Db) {
    load_sites(&db).await;
    let r = feed::import(
        &db.store,
        Feed::Parts,
        feed::File { path: &fixture("parts_with_bad_rows.csv"), observer: &mut Quiet },
        2,
    )
    .await
    .unwrap();
    assert_eq!(r.rows, 8);
    assert_eq!(r.rejected, 6);
    assert_eq!(r.counts, UpsertCounts { inserted: 2, updated: 0, unchanged: 0 });
    let check = |line, field: Option<&str>, needle: &str| {
        let i = issue_at(&r, line);
        assert_eq!(i.field.as_deref(), field, "line {line}: {i}");
        assert!(i.reason.contains(needle), "line {line}: {i}");
    };
    check(3, Some("lead_time_days"), "negative");
    check(4, Some("site_id"), "unknown site \"NOWHERE\"");
    check(5, Some("part_id"), "'/' is not allowed");
    check(6, None, "expected 9 fields as in the header, found 8");
    check(7, Some("description"), "not valid UTF-8");
    check(8, None, "duplicate part_id \"P-1\": first given at line 2");
    assert_eq!(db.store.count_rows("parts").await.unwrap(), 2);
    assert_eq!(db.store.count_rows("import_runs").await.unwrap(), 2);
}

async fn reimport_changes_nothing(db: Db) {
    load_sites(&db).await;
    let path = fixture("parts_with_bad_rows.csv");
    feed::import(&db.store, Feed::Parts, feed::File { path: &path, observer: &mut Quiet }, 2).await.unwrap();
    let again =
        feed::import(&db.store, Feed::Parts, feed::File { path: &path, observer: &mut Quiet }, 3).await.unwrap();
    assert_eq!(again.counts, UpsertCounts { inserted: 0, updated: 0, unchanged: 2 });
    let sites =
        feed::import(&db.store, Feed::Sites, feed::File { path: &fixture("sites.csv"), observer: &mut Quiet }, 4)
            .await
            .unwrap();
    assert_eq!(sites.counts.unchanged, 2);
}

async fn json_rows_follow_the_same_rules_with_json_paths(db: Db) {
    load_sites(&db).await;
    let r = feed::import(&db.store, Feed::Parts, feed::File { path: &fixture("parts.json"), observer: &mut Quiet }, 2)
        .await
        .unwrap();
    assert_eq!(r.rows, 5);
    assert_eq!(r.counts.inserted, 1);
    let shown: Vec<String> = r.issues.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "$[1].lead_time_days: must be a finite number",
            "$[2].lead_time_days: expected a string or a number, found an array",
            "$[3]: expected an object with the record's fields",
            "$[4].description: missing field",
        ]
    );
    assert_eq!(r.ignored_columns, vec!["erp_note".to_string()]);
}

async fn broken_json_keeps_the_rows_before_it(db: Db) {
    load_sites(&db).await;
    let mut content = String::from("[");
    for i in 0..1500 {
        content.push_str(&format!(
            r#"{{"part_id":"B-{i}","description":"","unit":"EA","site_id":"PLANT-A","part_class":"C","lead_time_days":1,"baseline_min":"","baseline_reorder":"","baseline_max":""}},"#
        ));
    }
    content.push_str("{\"part_id\": oops");
    let path = write_temp("broken.json", &content);
    let r = feed::import(&db.store, Feed::Parts, feed::File { path: &path, observer: &mut Quiet }, 2).await.unwrap();
    assert!(r.stopped.as_deref().is_some_and(|s| s.contains("line 1 column")), "{r:?}");
    assert_eq!(r.counts.inserted, 1500);
    assert!(!r.is_clean());
}

async fn assets_sku_map_and_bom_check_references(db: Db) {
    load_sites(&db).await;
    feed::import(
        &db.store,
        Feed::Parts,
        feed::File { path: &fixture("parts_with_bad_rows.csv"), observer: &mut Quiet },
        2,
    )
    .await
    .unwrap();
    let assets = write_temp(
        "assets.csv",
        "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n\
         CH-1,HVAC-CHILLERS,PLANT-A,90,2025-03-01T08:00:00+01:00\n\
         CH-2,HVAC-CHILLERS,MOON,90,\n\
         CH-3,HVAC-CHILLERS,PLANT-A,0,\n\
         CH-4,HVAC-CHILLERS,CAMPUS-S,30,\n",
    );
    let r = feed::import(&db.store, Feed::Assets, feed::File { path: &assets, observer: &mut Quiet }, 3).await.unwrap();
    assert_eq!((r.counts.inserted, r.rejected), (2, 2), "{:?}", r.issues);
    assert_eq!(issue_at(&r, 3).field.as_deref(), Some("site_id"));
    assert_eq!(issue_at(&r, 4).field.as_deref(), Some("fallback_interval_days"));

    let bom =
        write_temp("asset_parts.csv", "asset_id,part_id,quantity\nCH-1,P-1,2\nCH-1,P-404,1\nCH-9,P-1,1\nCH-4,P-8,0\n");
    let r =
        feed::import(&db.store, Feed::AssetParts, feed::File { path: &bom, observer: &mut Quiet }, 4).await.unwrap();
    assert_eq!((r.counts.inserted, r.rejected), (1, 3), "{:?}", r.issues);
    assert!(issue_at(&r, 3).reason.contains("unknown part \"P-404\""));
    assert!(issue_at(&r, 4).reason.contains("unknown asset \"CH-9\""));

    let map =
        write_temp("sku_map.csv", "source,external_sku,part_id\nERP,brg-6204 ,P-1\nERP,X1,P-404\nERP,brg-6204 ,P-8\n");
    let r = feed::import(&db.store, Feed::SkuMap, feed::File { path: &map, observer: &mut Quiet }, 5).await.unwrap();
    assert_eq!((r.counts.inserted, r.rejected), (1, 2), "{:?}", r.issues);
    assert!(issue_at(&r, 4).reason.starts_with("duplicate source, external_sku"));
}

async fn missing_header_column_is_a_file_error(db: Db) {
    let path = write_temp("nohdr.csv", "part_id,unit\nP-1,EA\n");
    let err =
        feed::import(&db.store, Feed::Parts, feed::File { path: &path, observer: &mut Quiet }, 1).await.unwrap_err();
    assert!(err.to_string().contains("header is missing column(s) description"), "{err}");
}

async fn import_rows_dated_outside_the_plausible_window_are_rejected(db: Db) {
    let path = write_temp(
        "inventory.csv",
        "source,sequence_id,external_sku,on_hand,observed_at\n\
         ERP,1,BRG-6204,3,2026-11-01T00:00:00Z\n\
         ERP,2,BRG-6204,3,9999-12-30T00:00:00Z\n\
         ERP,3,BRG-6204,3,0000-01-01T00:00:00Z\n\
         ERP,4,BRG-6204,3,2026-11-02T00:00:00+25:00\n",
    );
    let r =
        feed::import(&db.store, Feed::Inventory, feed::File { path: &path, observer: &mut Quiet }, 1).await.unwrap();
    assert_eq!((r.counts.inserted, r.rejected), (1, 3), "{:?}", r.issues);
    for (line, needle) in [
        (3, "9999-12-30T00:00:00Z is in the future: later than now + 24h"),
        (4, "is before 1970-01-01T00:00:00Z"),
        (5, "UTC offset +25 is outside -18:00 … +18:00"),
    ] {
        let i = issue_at(&r, line);
        assert_eq!(i.field.as_deref(), Some("observed_at"), "line {line}: {i}");
        assert!(i.reason.contains(needle), "line {line}: {i}");
    }
    let assets = write_temp(
        "assets.csv",
        "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\nA1,PUMPS,PLANT-A,30,2062-01-01\n",
    );
    load_sites(&db).await;
    let r = feed::import(&db.store, Feed::Assets, feed::File { path: &assets, observer: &mut Quiet }, 2).await.unwrap();
    assert_eq!(issue_at(&r, 2).field.as_deref(), Some("last_completion_at"), "{:?}", r.issues);
}

fn main() -> std::process::ExitCode {
    run_suite(&[
        case!(units::discrete_parts_publish_and_order_whole_packs),
        case!(units::a_new_pack_size_recomputes_the_part_incrementally),
        case!(units::bad_pack_sizes_are_rejected_rows),
        case!(units::the_stored_history_replays),
        case!(bad_parts_rows_are_reported_and_good_rows_land),
        case!(reimport_changes_nothing),
        case!(json_rows_follow_the_same_rules_with_json_paths),
        case!(broken_json_keeps_the_rows_before_it),
        case!(assets_sku_map_and_bom_check_references),
        case!(missing_header_column_is_a_file_error),
        case!(pm::failure_feed_is_idempotent_and_rejects_conflicts),
        case!(pm::intervals_use_unplanned_failures_only_and_fall_back),
        case!(pm::every_asset_of_many_chunks_gets_its_own_mtbf),
        case!(pm::recompute_is_stable_and_keeps_one_open_pm),
        case!(pm::completion_schedules_exactly_one_next_pm),
        case!(pm::a_completion_in_the_future_is_refused),
        case!(pm::correcting_a_completion_reschedules_the_next_pm),
        case!(pm::a_correction_keeps_the_due_date_of_a_released_next_pm),
        case!(pm::concurrent_completions_yield_one_open_pm),
        case!(import_rows_dated_outside_the_plausible_window_are_rejected),
        case!(pm::formula_change_flows_into_intervals),
        case!(pm::weibull_cost_recompute_matches_compute),
        case!(pm::weibull_cost_decides_per_component),
        case!(hardening::implausible_quantities_are_refused_at_every_entry_point),
        case!(hardening::one_bad_part_never_stops_the_others),
        case!(hardening::compute_and_recompute_agree_on_generated_feeds),
        case!(inventory::drift_falls_back_until_approved),
        case!(corrections::voiding_absurd_consumption_gives_the_thresholds_back),
        case!(inventory::quarantine_holds_until_resolved),
        case!(inventory::snapshots_in_any_order_end_in_the_in_order_state),
        case!(inventory::a_late_verdict_of_another_gate_run_keeps_the_applied_status),
        case!(inventory::a_late_scan_verdict_of_another_gate_run_changes_nothing),
        case!(inventory::scan_discrepancy_pauses_until_matching_count_or_acceptance),
        case!(inventory::recompute_without_all_computes_only_changed_parts),
        case!(inventory::a_change_during_a_recompute_is_kept_for_the_next),
        case!(auth::tokens_authenticate_by_scope_until_revoked),
        case!(auth::tokens_are_stored_hashed),
        case!(auth::admin_allows_everything_and_operate_reads),
        case!(auth::names_are_unique_among_active_tokens),
        case!(auth::last_use_is_recorded_at_most_once_a_minute),
        case!(routing::short_part_raises_one_request_and_holds_its_pms_until_stock_recovers),
        case!(routing::a_resized_request_states_the_figures_of_its_new_quantity),
        case!(routing::a_paused_part_changes_nothing_until_released),
        case!(routing::only_open_scheduled_or_released_pms_are_held),
        case!(routing::concurrent_runs_raise_one_request_and_move_each_pm_once),
        case!(routing::the_cycle_runs_the_stages_of_its_scope),
        case!(routing::the_import_cycle_routes_the_parts_the_gate_changed),
    ])
}
