//! Storage integration tests, each run on SQLite and on PostgreSQL (when configured).

mod corrections;
mod dashboard;

use cmms_core::mapping::Mapping;
use cmms_core::master::{ImportRecord, PartRecord, RawRow, SiteRecord, SkuMapRecord};
use cmms_store::master::StoredRecord;
use cmms_store::testing::{Db, run_suite};
use cmms_store::thresholds::{Received, ReceivedThresholds};
use cmms_store::{UpsertCounts, case};

fn record<R: ImportRecord>(vals: &[&str]) -> R {
    R::parse(&RawRow::new(R::COLUMNS, vals)).expect("valid test record")
}

async fn migrations_are_idempotent(db: Db) {
    let v = db.store.schema_version().await.unwrap();
    assert!(v >= 1);
    // Opening again re-runs the migrator, which must find nothing to do.
    let again = cmms_store::Store::open(&db.url).await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), v);
    again.health().await.unwrap();
    again.close().await;
}

async fn the_latest_backtest_report_is_the_last_saved(db: Db) {
    let s = &db.store;
    assert_eq!(s.latest_backtest_report().await.unwrap(), None);
    let first = s.save_backtest_report(1_000, "folder a", "{\"parts\":1}").await.unwrap();
    let second = s.save_backtest_report(500, "folder b", "{\"parts\":2}").await.unwrap();
    assert!(second > first);
    let latest = s.latest_backtest_report().await.unwrap().unwrap();
    assert_eq!((latest.id, latest.created_at, latest.source.as_str()), (second, 500, "folder b"));
    assert_eq!(latest.report, "{\"parts\":2}");
}

async fn upsert_counts_inserted_updated_unchanged(db: Db) {
    let s = &db.store;
    let sites = vec![
        record::<SiteRecord>(&["S1", "Europe/Berlin"]).to_row(),
        record::<SiteRecord>(&["S2", "Australia/Sydney"]).to_row(),
    ];
    let c = s.upsert_batch(&SiteRecord::SPEC, sites.clone(), 1).await.unwrap().0;
    assert_eq!(c, UpsertCounts { inserted: 2, updated: 0, unchanged: 0 });
    let c = s.upsert_batch(&SiteRecord::SPEC, sites, 2).await.unwrap().0;
    assert_eq!(c, UpsertCounts { inserted: 0, updated: 0, unchanged: 2 });

    let part = |lead: &str, bmin: &str| {
        record::<PartRecord>(&["P-1", "Bearing", "EA", "S1", "BEARING", lead, bmin, "", "", "", ""]).to_row()
    };
    let c = s.upsert_batch(&PartRecord::SPEC, vec![part("14", "")], 3).await.unwrap().0;
    assert_eq!(c.inserted, 1);
    let c = s.upsert_batch(&PartRecord::SPEC, vec![part("14", "")], 4).await.unwrap().0;
    assert_eq!(c.unchanged, 1, "NULL baselines compare equal");
    let c = s.upsert_batch(&PartRecord::SPEC, vec![part("14.5", "2")], 5).await.unwrap().0;
    assert_eq!(c.updated, 1);
    assert_eq!(s.count_rows("parts").await.unwrap(), 1);
}

async fn existing_ids_finds_only_known(db: Db) {
    let s = &db.store;
    s.upsert_batch(&SiteRecord::SPEC, vec![record::<SiteRecord>(&["S1", "UTC"]).to_row()], 1).await.unwrap();
    let ids = ["S1", "S9"].into_iter().collect();
    let found = s.existing_ids("sites", "site_id", &ids).await.unwrap();
    assert_eq!(found.into_iter().collect::<Vec<_>>(), vec!["S1".to_string()]);
}

async fn foreign_keys_are_enforced(db: Db) {
    // The pipeline checks references first; the schema is the second line of defence.
    let orphan = record::<PartRecord>(&["P-1", "", "EA", "NOPE", "C", "1", "", "", "", "", ""]).to_row();
    assert!(db.store.upsert_batch(&PartRecord::SPEC, vec![orphan], 1).await.is_err());
    assert_eq!(db.store.count_rows("parts").await.unwrap(), 0);
}

async fn null_then_value_doubles_share_a_prepared_statement(db: Db) {
    db.store.check_null_then_value_doubles().await.unwrap();
}

fn received(part: &str, sequence_id: i64) -> ReceivedThresholds {
    ReceivedThresholds {
        part_id: part.to_owned(),
        sequence_id,
        limits: [1.0, 2.0, 3.0],
        current_stock: 0.0,
        sync_timestamp: 1,
        client_id: None,
        received_by: None,
    }
}

/// Threshold deliveries from many tasks and from a second store on the same database (as
/// `cmms import` next to `cmms serve`) all commit, each is visible to reads as soon as it
/// returns, and the outcome for an unknown part or an old sequence changes nothing.
async fn concurrent_writers_all_commit_and_are_read_at_once(db: Db) {
    let s = &db.store;
    s.upsert_batch(&SiteRecord::SPEC, vec![record::<SiteRecord>(&["S1", "UTC"]).to_row()], 1).await.unwrap();
    let parts: Vec<_> = (0..8)
        .map(|i| record::<PartRecord>(&[&format!("P-{i}"), "", "EA", "S1", "C", "1", "", "", "", "", ""]).to_row())
        .collect();
    s.upsert_batch(&PartRecord::SPEC, parts, 1).await.unwrap();
    let other = cmms_store::Store::open(&db.url).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..32i64 {
        let store = if i % 4 == 0 { other.clone() } else { s.clone() };
        tasks.push(tokio::spawn(async move {
            let part = format!("P-{}", i % 8);
            let outcome = store.receive_thresholds(&received(&part, i / 8 + 1), 2).await.unwrap();
            // Read-your-write on the read side, at once.
            let seq = store.current_threshold(&part).await.unwrap().map(|c| c.sequence_id);
            (outcome, seq)
        }));
    }
    for t in tasks {
        let (outcome, seq) = t.await.unwrap();
        match outcome {
            Received::Applied => assert!(seq.is_some()),
            Received::NotNewer { in_force } => assert!(in_force >= 1),
            Received::UnknownPart => panic!("every part exists"),
        }
    }
    other.close().await;
    for i in 0..8 {
        let current = s.current_threshold(&format!("P-{i}")).await.unwrap().unwrap();
        assert_eq!(current.sequence_id, 4, "the newest of the four deliveries of P-{i} is in force");
    }
    assert_eq!(s.receive_thresholds(&received("P-0", 4), 3).await.unwrap(), Received::NotNewer { in_force: 4 });
    assert_eq!(s.receive_thresholds(&received("NO-SUCH", 1), 3).await.unwrap(), Received::UnknownPart);
    assert_eq!(s.count_rows("current_thresholds").await.unwrap(), 8);
}

/// A group-committed batch judges each delivery against the ones before it, exactly as if they
/// had arrived one at a time: repeats of a part in one batch, unknown parts and old sequences.
async fn a_threshold_batch_is_judged_in_arrival_order(db: Db) {
    let s = &db.store;
    s.upsert_batch(&SiteRecord::SPEC, vec![record::<SiteRecord>(&["S1", "UTC"]).to_row()], 1).await.unwrap();
    let parts: Vec<_> = (0..2)
        .map(|i| record::<PartRecord>(&[&format!("P-{i}"), "", "EA", "S1", "C", "1", "", "", "", "", ""]).to_row())
        .collect();
    s.upsert_batch(&PartRecord::SPEC, parts, 1).await.unwrap();
    let batch = [
        received("P-0", 1),
        received("P-0", 1),
        received("P-1", 5),
        received("NO-SUCH", 1),
        received("P-0", 3),
        received("P-1", 2),
        received("P-0", 2),
    ];
    let outcomes = s.receive_thresholds_batch(&batch, 2).await.unwrap();
    assert_eq!(
        outcomes,
        vec![
            Received::Applied,
            Received::NotNewer { in_force: 1 },
            Received::Applied,
            Received::UnknownPart,
            Received::Applied,
            Received::NotNewer { in_force: 5 },
            Received::NotNewer { in_force: 3 },
        ]
    );
    assert_eq!(s.current_threshold("P-0").await.unwrap().unwrap().sequence_id, 3);
    assert_eq!(s.current_threshold("P-1").await.unwrap().unwrap().sequence_id, 5);
    assert_eq!(s.count_rows("received_thresholds").await.unwrap(), 3, "one history row per applied delivery");
    // The same batch again changes nothing.
    let again = s.receive_thresholds_batch(&batch, 3).await.unwrap();
    assert!(again.iter().all(|o| *o != Received::Applied), "{again:?}");
    assert_eq!(s.count_rows("received_thresholds").await.unwrap(), 3);
}

/// The in-memory SKU index follows every change of the map: rows written by an import, a mapping
/// added by a quarantine resolve, a change made by another store on the same database (as
/// `cmms import sku_map` next to `cmms serve`), and a row deleted outside cmms.
async fn the_sku_index_follows_every_change_of_the_map(db: Db) {
    let s = &db.store;
    s.upsert_batch(&SiteRecord::SPEC, vec![record::<SiteRecord>(&["S1", "UTC"]).to_row()], 1).await.unwrap();
    let parts =
        ["P-1", "P-2"].map(|p| record::<PartRecord>(&[p, "", "EA", "S1", "C", "7", "", "", "", "", ""]).to_row());
    s.upsert_batch(&PartRecord::SPEC, parts.to_vec(), 1).await.unwrap();
    let resolve = |sku: &'static str| async move { s.sku_map_index().await.unwrap().resolve("ERP", sku) };
    assert_eq!(resolve("A-1").await, Mapping::Unmapped, "empty map");

    let entry = |sku: &str, part: &str| record::<SkuMapRecord>(&["ERP", sku, part]).to_row();
    s.upsert_batch(&SkuMapRecord::SPEC, vec![entry("A-1", "P-1")], 2).await.unwrap();
    assert_eq!(resolve("A-1").await, Mapping::Part("P-1".into()), "import");
    assert_eq!(resolve(" a-1 ").await, Mapping::Part("P-1".into()), "normalised match");
    let kept = s.sku_map_index().await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&kept, &s.sku_map_index().await.unwrap()), "unchanged map: the same index");

    s.upsert_batch(&SkuMapRecord::SPEC, vec![entry("A-1", "P-2")], 3).await.unwrap();
    assert_eq!(resolve("A-1").await, Mapping::Part("P-2".into()), "re-pointed by an import");

    s.add_sku_mapping("ERP", "B-7", "B-7", "P-1", 4).await.unwrap();
    assert_eq!(resolve("B-7").await, Mapping::Part("P-1".into()), "quarantine resolve");

    let other = cmms_store::Store::open(&db.url).await.unwrap();
    other.upsert_batch(&SkuMapRecord::SPEC, vec![entry("C-3", "P-2")], 5).await.unwrap();
    assert_eq!(resolve("C-3").await, Mapping::Part("P-2".into()), "written by another store");
    other.close().await;

    s.execute_raw("DELETE FROM sku_map WHERE external_sku = 'B-7'").await.unwrap();
    assert_eq!(resolve("B-7").await, Mapping::Unmapped, "deleted outside cmms");
}

/// First delivery wins across the chunks of a large batch, whichever way each chunk is written:
/// the first chunk optimistically (insert, then undo when a key was stored), the later ones by
/// reading their stored keys first. Every row's outcome is the one a row-by-row judge gives.
async fn first_wins_judges_every_chunk_of_a_large_batch(db: Db) {
    use cmms_core::feeds::ConsumptionRecord;
    use cmms_store::{RowOutcome, SqlValue};
    let s = &db.store;
    let row = |event: usize, qty: f64| {
        vec![
            SqlValue::Text("ERP".into()),
            SqlValue::Text(format!("E-{event:05}")),
            SqlValue::Text("SKU-1".into()),
            SqlValue::Real(qty),
            SqlValue::Int(1_700_000_000_000),
            SqlValue::Null(cmms_store::rows::ColType::Text),
        ]
    };
    // Stored before: every 7th event of the batch below, half of them with other quantities.
    let stored: Vec<usize> = (0..2_600).step_by(7).collect();
    let before = stored.iter().map(|&e| row(e, if e % 2 == 0 { 1.0 } else { 9.0 })).collect();
    s.write_rows(&ConsumptionRecord::SPEC, before, 1).await.unwrap();

    // 2,600 events in three chunks, each event with quantity 1, and every 100th event repeated
    // right after itself inside the batch (once the same, once with another quantity).
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for e in 0..2_600 {
        batch.push(row(e, 1.0));
        expected.push(match stored.contains(&e) {
            false => RowOutcome::Inserted,
            true if e % 2 == 0 => RowOutcome::Unchanged,
            true => RowOutcome::Conflict,
        });
        if e % 100 == 0 {
            let same = (e / 100) % 2 == 0;
            batch.push(row(e, if same { 1.0 } else { 2.0 }));
            let first_value_wins = !stored.contains(&e) || e % 2 == 0;
            expected.push(if same && first_value_wins { RowOutcome::Unchanged } else { RowOutcome::Conflict });
        }
    }
    let outcomes = s.write_rows(&ConsumptionRecord::SPEC, batch.clone(), 2).await.unwrap();
    assert_eq!(outcomes.len(), expected.len());
    for (i, (got, want)) in outcomes.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "row {i} of the batch");
    }
    assert_eq!(s.count_rows("consumption").await.unwrap(), 2_600);
    // The whole batch again: nothing new, the first deliveries still decide.
    let again = s.write_rows(&ConsumptionRecord::SPEC, batch, 3).await.unwrap();
    assert!(again.iter().all(|o| *o != RowOutcome::Inserted), "a repeated batch inserts nothing");
    assert_eq!(s.count_rows("consumption").await.unwrap(), 2_600);
}

/// Two senders delivering the same event at once: the one whose insert waited for the other's
/// commit judges the row that commit stored — the same content is a repeat, not a conflict.
/// On PostgreSQL the first writer holds its transaction open until the second waits on its key;
/// on SQLite writers take the lock in turn, so the second simply finds the first's rows.
async fn a_copy_stored_meanwhile_by_another_writer_is_judged_by_content(db: Db) {
    use cmms_core::feeds::ConsumptionRecord;
    use cmms_store::{Backend, RowOutcome, SqlValue};
    let s = &db.store;
    let row = |event: &str, qty: f64| {
        vec![
            SqlValue::Text("ERP".into()),
            SqlValue::Text(event.into()),
            SqlValue::Text("SKU-1".into()),
            SqlValue::Real(qty),
            SqlValue::Int(1_700_000_000_000),
            SqlValue::Null(cmms_store::rows::ColType::Text),
        ]
    };
    let batch = vec![row("E-1", 1.0), row("E-2", 5.0), row("E-3", 1.0)];
    let want = vec![RowOutcome::Unchanged, RowOutcome::Conflict, RowOutcome::Inserted];
    if s.backend() == Backend::Sqlite {
        s.write_rows(&ConsumptionRecord::SPEC, vec![row("E-1", 1.0), row("E-2", 2.0)], 1).await.unwrap();
        assert_eq!(s.write_rows(&ConsumptionRecord::SPEC, batch, 2).await.unwrap(), want);
        return;
    }
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut first = conn.begin().await.unwrap();
    let first_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *first).await.unwrap();
    sqlx::query(
        "INSERT INTO consumption (source, event_id, external_sku, quantity, consumed_at, received_at) \
         VALUES ('ERP', 'E-1', 'SKU-1', 1.0, 1700000000000, 1), ('ERP', 'E-2', 'SKU-1', 2.0, 1700000000000, 1)",
    )
    .execute(&mut *first)
    .await
    .unwrap();
    let second = {
        let s = s.clone();
        tokio::spawn(async move { s.write_rows(&ConsumptionRecord::SPEC, batch, 2).await })
    };
    // Watched from a third connection: a transaction sees one snapshot of pg_stat_activity.
    let mut watch = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut waited = false;
    for _ in 0..200 {
        let waiting: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))")
                .bind(first_pid)
                .fetch_one(&mut watch)
                .await
                .unwrap();
        if waiting > 0 {
            waited = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(waited, "the second writer waits for the first one's keys");
    first.commit().await.unwrap();
    assert_eq!(second.await.unwrap().unwrap(), want);
    assert_eq!(s.count_rows("consumption").await.unwrap(), 3);
}

/// A batch of PMs schedules each asset as one call would: new orders for assets without one,
/// a moved due date for an order not yet released, a released order left alone.
async fn pms_are_scheduled_in_one_batch(db: Db) {
    use cmms_core::master::AssetRecord;
    use cmms_core::work_order::WoState;
    use cmms_store::work_orders::{PmDue, Scheduled};
    let s = &db.store;
    s.upsert_batch(&SiteRecord::SPEC, vec![record::<SiteRecord>(&["S1", "UTC"]).to_row()], 1).await.unwrap();
    let assets = ["A1", "A2", "A3", "A4"].map(|a| record::<AssetRecord>(&[a, "PUMPS", "S1", "90", ""]).to_row());
    s.upsert_batch(&AssetRecord::SPEC, assets.to_vec(), 1).await.unwrap();
    let Scheduled::Created(a2) = s.schedule_pm("A2", "PM", 100, None, 1).await.unwrap() else { panic!("created") };
    let Scheduled::Created(a3) = s.schedule_pm("A3", "PM", 100, None, 1).await.unwrap() else { panic!("created") };
    assert!(s.transition_work_order(a3, WoState::Scheduled, WoState::Released, "test", 2).await.unwrap());
    let due = |asset_id, due_at| PmDue { asset_id, plan_id: "PM", due_at, follows_at: Some(50) };
    let got = s.schedule_pms(&[due("A1", 200), due("A2", 300), due("A3", 400)], 3).await.unwrap();
    let Scheduled::Created(a1) = got[0] else { panic!("A1 gets an order: {got:?}") };
    assert_eq!(got[1..], [Scheduled::Rescheduled(a2), Scheduled::Unchanged(a3)]);
    // An asset named twice: created by the first item, moved by the second, as one by one.
    let again = s.schedule_pms(&[due("A1", 200), due("A4", 500), due("A4", 600)], 4).await.unwrap();
    let Scheduled::Created(a4) = again[1] else { panic!("A4 gets an order: {again:?}") };
    assert_eq!(again, [Scheduled::Unchanged(a1), Scheduled::Created(a4), Scheduled::Rescheduled(a4)]);
    let open = s.open_due_dates("PM").await.unwrap();
    let want = [("A1", 200), ("A2", 300), ("A3", 100), ("A4", 600)].map(|(a, d)| (a.to_owned(), d));
    assert_eq!(open, want.into());
    // Four creations and one release; moving a due date records no event.
    assert_eq!(s.count_rows("work_order_events").await.unwrap(), 5);
}

/// Alert updates written with threshold changes apply in order, however they group into
/// statements: a repeated subject refreshes the message, a resolve after a raise resolves, a
/// resolve names one kind only.
async fn alert_updates_apply_in_order(db: Db) {
    use cmms_store::alerts::AlertUpdate;
    use cmms_store::codes::AlertKind::{Drift, ScanDiscrepancy};
    let s = &db.store;
    let raise = |kind, subject: &str, message: &str| AlertUpdate::Raise {
        kind,
        subject: subject.to_owned(),
        message: message.to_owned(),
        details: None,
    };
    let resolve = |kind, subject: &str| AlertUpdate::Resolve { kind, subject: subject.to_owned() };
    let mut updates = vec![raise(Drift, "P-1", "first"), raise(Drift, "P-2", "x"), raise(Drift, "P-1", "second")];
    updates.extend([resolve(Drift, "P-2"), raise(ScanDiscrepancy, "P-3", "count"), resolve(Drift, "P-3")]);
    // More than one statement's worth of raises, then all but one of them resolved.
    updates.extend((0..1500).map(|i| raise(Drift, &format!("Q-{i}"), "bulk")));
    updates.extend((1..1500).map(|i| resolve(Drift, &format!("Q-{i}"))));
    s.store_threshold_changes(&[], &[], &updates, 1).await.unwrap();
    let mut open: Vec<(String, String, String)> = s
        .open_alerts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.kind.as_str().to_owned(), a.subject, a.message))
        .collect();
    open.sort();
    let want = [("DRIFT", "P-1", "second"), ("DRIFT", "Q-0", "bulk"), ("SCAN_DISCREPANCY", "P-3", "count")]
        .map(|(k, s, m)| (k.to_owned(), s.to_owned(), m.to_owned()));
    assert_eq!(open, want);
}

/// Quarantine holds written many per statement: more than one statement's worth, a SKU named
/// twice in one call (the later hold wins), and a second call refreshing open entries in place.
async fn quarantine_holds_are_written_in_bulk(db: Db) {
    use cmms_store::sku_map::QuarantineHold;
    let s = &db.store;
    let hold = |sku: String, n: i64| QuarantineHold {
        source: "ERP".to_owned(),
        external_sku: sku,
        reason: "UNMAPPED",
        candidates: None,
        held_count: n,
    };
    let mut holds: Vec<QuarantineHold> = (0..2500).map(|i| hold(format!("SKU-{i}"), 1)).collect();
    holds.push(hold("SKU-2400".to_owned(), 5));
    s.quarantine_hold(&holds, 1).await.unwrap();
    s.quarantine_hold(&[hold("SKU-8".to_owned(), 9)], 2).await.unwrap();
    let open = s.quarantine(true).await.unwrap();
    assert_eq!(open.len(), 2500, "one open entry per SKU");
    let count = |sku: &str| open.iter().find(|q| q.external_sku == sku).map(|q| q.held_count);
    assert_eq!(
        (count("SKU-0"), count("SKU-2400"), count("SKU-8"), count("SKU-2499")),
        (Some(1), Some(5), Some(9), Some(1))
    );
}

fn main() -> std::process::ExitCode {
    run_suite(&[
        case!(null_then_value_doubles_share_a_prepared_statement),
        case!(migrations_are_idempotent),
        case!(the_latest_backtest_report_is_the_last_saved),
        case!(upsert_counts_inserted_updated_unchanged),
        case!(existing_ids_finds_only_known),
        case!(foreign_keys_are_enforced),
        case!(concurrent_writers_all_commit_and_are_read_at_once),
        case!(a_threshold_batch_is_judged_in_arrival_order),
        case!(the_sku_index_follows_every_change_of_the_map),
        case!(first_wins_judges_every_chunk_of_a_large_batch),
        case!(a_copy_stored_meanwhile_by_another_writer_is_judged_by_content),
        case!(pms_are_scheduled_in_one_batch),
        case!(alert_updates_apply_in_order),
        case!(quarantine_holds_are_written_in_bulk),
        case!(corrections::voided_consumption_counts_nowhere_but_in_deduplication),
        case!(corrections::voided_failure_events_leave_the_history),
        case!(corrections::failure_logs_read_alike_packed_and_row_by_row),
        case!(corrections::voiding_the_applied_snapshot_falls_back),
        case!(dashboard::pages_read_one_row_and_only_open_orders),
    ])
}
