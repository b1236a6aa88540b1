//! Voided events: skipped by every calculation, still counted for deduplication, recorded and
//! reversible.

use cmms_core::corrections::{EventKey, VoidFeed, event_key};
use cmms_core::feeds::{ConsumptionRecord, FailureRecord, SnapshotRecord};
use cmms_core::master::{AssetRecord, ImportRecord, PartRecord, RawRow, SiteRecord};
use cmms_core::reliability::FailureEventType::{self, Corrective};
use cmms_core::reliability::MTBF_EVENT_TYPES;
use cmms_store::corrections::{RestoreOutcome, VoidOutcome};
use cmms_store::master::StoredRecord;
use cmms_store::reliability::LoggedEvent;
use cmms_store::testing::Db;
use cmms_store::{RowOutcome, SqlValue};

fn record<R: ImportRecord>(vals: &[&str]) -> R {
    R::parse(&RawRow::new(R::COLUMNS, vals)).expect("valid test record")
}

const DAY: i64 = 86_400_000;
const T0: i64 = 1_780_000_000_000;

async fn master(db: &Db) {
    let s = &db.store;
    s.upsert_batch(&SiteRecord::SPEC, vec![record::<SiteRecord>(&["S1", "UTC"]).to_row()], 1).await.unwrap();
    let part = record::<PartRecord>(&["P-1", "Bearing", "EA", "S1", "BEARING", "14", "", "", "", "", ""]).to_row();
    s.upsert_batch(&PartRecord::SPEC, vec![part], 1).await.unwrap();
}

fn consumption(event: &str, qty: f64, at: i64) -> Vec<SqlValue> {
    vec![
        SqlValue::Text("ERP".into()),
        SqlValue::Text(event.into()),
        SqlValue::Text("SKU-1".into()),
        SqlValue::Real(qty),
        SqlValue::Int(at),
        SqlValue::Text("P-1".into()),
    ]
}

fn key(feed: VoidFeed, source: &str, event_id: &str) -> EventKey {
    event_key(feed, source, event_id).unwrap()
}

async fn window_sum(db: &Db) -> (f64, bool) {
    let all = db.store.threshold_inputs(T0 - 30 * DAY, T0 + DAY).await.unwrap();
    let one = db.store.threshold_inputs_of(T0 - 30 * DAY, T0 + DAY, &["P-1".to_owned()]).await.unwrap();
    assert_eq!(all, one, "both aggregates skip the same rows");
    let micros = all[0].consumed_in_window_micros.expect("an exact sum");
    (cmms_core::quantity::Quantity::from_micros(micros).get(), all[0].has_history)
}

/// Voided consumption leaves the window sums, the history flag, the moved-edge check and the
/// plausibility sum; it marks its part both ways; a re-delivery is a duplicate and stays voided.
pub async fn voided_consumption_counts_nowhere_but_in_deduplication(db: Db) {
    master(&db).await;
    let s = &db.store;
    let rows = vec![consumption("E-1", 2.0, T0 - DAY), consumption("E-2", 5000.0, T0 - 2 * DAY)];
    s.write_rows(&ConsumptionRecord::SPEC, rows, 1).await.unwrap();
    assert_eq!(window_sum(&db).await, (5002.0, true));
    s.claim_threshold_marks().await.unwrap();
    let covered = cmms_store::thresholds::ThresholdWatermark { formula_version: 1, window_start: 0, as_of: T0 };
    s.finish_threshold_recompute(&covered, 2).await.unwrap();

    let k2 = key(VoidFeed::Consumption, "ERP", "E-2");
    let VoidOutcome::Voided(v) = s.void_event(&k2, "ERP reversal R-77", "ops", 10).await.unwrap() else {
        panic!("not voided")
    };
    assert_eq!((v.feed.as_str(), v.source.as_str(), v.event_id.as_str()), ("consumption", "ERP", "E-2"));
    assert_eq!(
        (v.subject.as_deref(), v.voided_by.as_str(), v.voided_at, v.reason.as_str()),
        (Some("P-1"), "ops", 10, "ERP reversal R-77")
    );
    assert_eq!(window_sum(&db).await, (2.0, true));
    assert_eq!(s.consumption_between("P-1", T0 - 3 * DAY, T0).await.unwrap(), 2.0);
    assert!(s.parts_consumed_in(&[(T0 - 2 * DAY, T0 - 2 * DAY + 1)]).await.unwrap().is_empty());
    assert_eq!(s.claim_threshold_marks().await.unwrap().into_iter().collect::<Vec<_>>(), ["P-1"], "void marks");
    s.finish_threshold_recompute(&covered, 11).await.unwrap();

    // Twice: refused, naming the void in force.
    let VoidOutcome::AlreadyVoided(Some(inforce)) = s.void_event(&k2, "again", "ops", 12).await.unwrap() else {
        panic!("second void not refused")
    };
    assert_eq!(inforce.id, v.id);
    // A re-delivery of the voided event is a duplicate (first delivery wins) and stays voided.
    let again = s.write_rows(&ConsumptionRecord::SPEC, vec![consumption("E-2", 5000.0, T0 - 2 * DAY)], 13).await;
    assert_eq!(again.unwrap(), [RowOutcome::Unchanged]);
    assert!(s.find_event(&k2).await.unwrap().unwrap().voided);
    assert_eq!(window_sum(&db).await, (2.0, true));

    // Only voided history left: no history at all.
    let k1 = key(VoidFeed::Consumption, "ERP", "E-1");
    assert!(matches!(s.void_event(&k1, "test", "ops", 14).await.unwrap(), VoidOutcome::Voided(_)));
    assert_eq!(window_sum(&db).await, (0.0, false));

    let RestoreOutcome::Restored(r) = s.restore_event(&k2, Some("reversal withdrawn"), "lead", 20).await.unwrap()
    else {
        panic!("not restored")
    };
    assert_eq!(
        (r.id, r.restored_by.as_deref(), r.restored_at, r.restore_reason.as_deref()),
        (v.id, Some("lead"), Some(20), Some("reversal withdrawn"))
    );
    assert_eq!(window_sum(&db).await, (5000.0, true));
    assert_eq!(s.claim_threshold_marks().await.unwrap().into_iter().collect::<Vec<_>>(), ["P-1"], "restore marks");
    assert_eq!(s.restore_event(&k2, None, "lead", 21).await.unwrap(), RestoreOutcome::NotVoided);
    let unknown = key(VoidFeed::Consumption, "ERP", "E-404");
    assert_eq!(s.void_event(&unknown, "x", "ops", 22).await.unwrap(), VoidOutcome::Unknown);
    assert_eq!(s.restore_event(&unknown, None, "ops", 22).await.unwrap(), RestoreOutcome::Unknown);

    // Voided again after the restore: a second record; the list shows both, newest first.
    assert!(matches!(s.void_event(&k2, "really wrong", "ops", 30).await.unwrap(), VoidOutcome::Voided(_)));
    let all = s.event_voids(false, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|v| (v.event_id.as_str(), v.restored_at.is_some())).collect::<Vec<_>>(),
        [("E-2", false), ("E-1", false), ("E-2", true)]
    );
    assert_eq!(s.event_voids(true, 10).await.unwrap().len(), 2);
    assert_eq!(s.event_voids(false, 1).await.unwrap().len(), 1);
}

/// A voided failure event leaves its asset's failure history; the asset must match.
pub async fn voided_failure_events_leave_the_history(db: Db) {
    master(&db).await;
    let s = &db.store;
    let asset = record::<AssetRecord>(&["A-1", "PUMPS", "S1", "90", ""]).to_row();
    s.upsert_batch(&AssetRecord::SPEC, vec![asset], 1).await.unwrap();
    let f = |id: &str, at: &str| record::<FailureRecord>(&[id, "A-1", "UNPLANNED", at, "", ""]).to_row();
    let rows = vec![f("F-1", "2026-01-01T00:00:00Z"), f("F-2", "2026-02-01T00:00:00Z")];
    s.write_rows(&FailureRecord::SPEC, rows, 1).await.unwrap();
    let ids = |h: std::collections::HashMap<String, Vec<FailureRecord>>| -> Vec<String> {
        h.get("A-1").map_or(vec![], |v| v.iter().map(|r| r.event_id.to_string()).collect())
    };
    assert_eq!(
        s.void_event(&key(VoidFeed::Failures, "A-9", "F-1"), "x", "ops", 2).await.unwrap(),
        VoidOutcome::Unknown
    );
    let VoidOutcome::Voided(v) =
        s.void_event(&key(VoidFeed::Failures, "A-1", "F-1"), "sensor glitch", "ops", 2).await.unwrap()
    else {
        panic!("not voided")
    };
    assert_eq!(v.subject.as_deref(), Some("A-1"));
    assert_eq!(ids(s.failure_histories(&["A-1".to_owned()]).await.unwrap()), ["F-2"]);
    s.restore_event(&key(VoidFeed::Failures, "A-1", "F-1"), None, "ops", 3).await.unwrap();
    assert_eq!(ids(s.failure_histories(&["A-1".to_owned()]).await.unwrap()), ["F-1", "F-2"]);
}

fn snapshot(seq: &str, on_hand: &str, at: &str) -> Vec<SqlValue> {
    record::<SnapshotRecord>(&["WMS", seq, "BOX 1/2", on_hand, at]).to_row()
}

/// Voiding the applied snapshot the stock came from puts the stock and the sequence back to the
/// newest applied one that is not voided, and returns the snapshots refused as stale to the gate;
/// with no applied snapshot left the stock figure goes.
pub async fn voiding_the_applied_snapshot_falls_back(db: Db) {
    master(&db).await;
    let s = &db.store;
    let rows = vec![
        snapshot("1", "5", "2026-11-01T00:00:00Z"),
        snapshot("9", "8", "2026-11-02T00:00:00Z"),
        snapshot("5", "7", "2026-11-03T00:00:00Z"),
    ];
    s.write_rows(&SnapshotRecord::SPEC, rows, 1).await.unwrap();
    let staged = s.staged_snapshots().await.unwrap();
    let by_seq = |n: i64| staged.iter().find(|x| x.sequence_id == n).unwrap().clone();
    assert!(s.apply_snapshot(&by_seq(1), "P-1", 2).await.unwrap());
    assert!(s.apply_snapshot(&by_seq(9), "P-1", 3).await.unwrap());
    assert!(
        s.set_snapshot_status(&by_seq(5), Some("P-1"), cmms_store::codes::SnapshotStatus::Stale, "not newer")
            .await
            .unwrap()
    );
    assert_eq!(s.stock("P-1").await.unwrap().unwrap().on_hand, 8.0);

    let k9 = key(VoidFeed::Inventory, "WMS", "BOX 1/2/9");
    assert!(matches!(s.void_event(&k9, "bogus sequence", "ops", 4).await.unwrap(), VoidOutcome::Voided(_)));
    assert_eq!(s.stock("P-1").await.unwrap().unwrap().on_hand, 5.0, "back to sequence 1");
    assert_eq!(s.last_sequence("WMS", "BOX 1/2").await.unwrap(), Some(1));
    let pending: Vec<i64> = s.staged_snapshots().await.unwrap().iter().map(|x| x.sequence_id).collect();
    assert_eq!(pending, [5], "the snapshot refused because of the voided one is judged again");
    assert_eq!(s.stock_history("P-1").await.unwrap().len(), 1);

    // Restored: back to the gate as a late delivery (PENDING), not applied by the store itself.
    assert!(matches!(s.restore_event(&k9, None, "ops", 5).await.unwrap(), RestoreOutcome::Restored(_)));
    let pending: Vec<i64> = s.staged_snapshots().await.unwrap().iter().map(|x| x.sequence_id).collect();
    assert_eq!(pending, [5, 9]);

    // The only applied snapshot voided: no stock figure is left.
    let k1 = key(VoidFeed::Inventory, "WMS", "BOX 1/2/1");
    assert!(matches!(s.void_event(&k1, "wrong count", "ops", 6).await.unwrap(), VoidOutcome::Voided(_)));
    assert_eq!(s.stock("P-1").await.unwrap(), None);
    assert_eq!(s.last_sequence("WMS", "BOX 1/2").await.unwrap(), None);
}

/// An asset's failure log reads the same whether the database packs it into one text or it is
/// read row by row (the way of logs too long to pack): order by start then event id, open ends,
/// components, voided events left out, assets without events empty.
pub async fn failure_logs_read_alike_packed_and_row_by_row(db: Db) {
    master(&db).await;
    let s = &db.store;
    let assets = ["A-1", "A-2", "A-3"].map(|a| record::<AssetRecord>(&[a, "PUMPS", "S1", "90", ""]).to_row());
    s.upsert_batch(&AssetRecord::SPEC, assets.to_vec(), 1).await.unwrap();
    let f = |id: &str, asset: &str, kind: &str, start: &str, end: &str, component: &str| {
        record::<FailureRecord>(&[id, asset, kind, start, end, component]).to_row()
    };
    let rows = vec![
        f("F-3", "A-1", "UNPLANNED", "2026-02-01T00:00:00Z", "2026-02-01T04:00:00Z", "bearing"),
        f("F-1", "A-1", "PLANNED", "2026-01-01T00:00:00Z", "", ""),
        f("F-2", "A-1", "CORRECTIVE", "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", ""),
        f("F-9", "A-1", "UNPLANNED", "2026-03-01T00:00:00Z", "", "fan"),
        f("F-5", "A-3", "UNPLANNED", "2026-01-05T00:00:00Z", "", ""),
    ];
    s.write_rows(&FailureRecord::SPEC, rows, 1).await.unwrap();
    s.void_event(&key(VoidFeed::Failures, "A-1", "F-9"), "duplicate", "ops", 2).await.unwrap();
    let ids: Vec<String> = ["A-1", "A-2", "A-3", "A-404"].map(str::to_owned).to_vec();
    let packed = s.failure_logs(&ids, &FailureEventType::ALL).await.unwrap();
    let row_by_row = s.failure_logs_packing_at_most(&ids, &FailureEventType::ALL, 1).await.unwrap();
    assert_eq!(packed, row_by_row);
    assert_eq!(packed.iter().map(Vec::len).collect::<Vec<_>>(), [3, 0, 1, 0]);
    let a1: Vec<(String, Option<&str>)> = packed[0]
        .iter()
        .map(|e| (format!("{:?}", e.event.event_type), e.component.as_ref().map(|c| c.as_str())))
        .collect();
    assert_eq!(a1.iter().map(|(_, c)| *c).collect::<Vec<_>>(), [None, None, Some("bearing")], "F-1, F-2, F-3: {a1:?}");
    assert_eq!(packed[0][0].event.ended_at, None, "an open planned downtime stays open");
    // Only the types asked for, both ways: the CORRECTIVE F-2 is left out.
    let mtbf = s.failure_logs(&ids, &MTBF_EVENT_TYPES).await.unwrap();
    assert_eq!(mtbf, s.failure_logs_packing_at_most(&ids, &MTBF_EVENT_TYPES, 1).await.unwrap());
    let kept: Vec<Vec<LoggedEvent>> =
        packed.iter().map(|log| log.iter().filter(|e| e.event.event_type != Corrective).cloned().collect()).collect();
    assert_eq!(mtbf, kept);
    assert_eq!(mtbf[0].len(), 2);
    // No type asked for: every log empty, not an invalid statement.
    assert_eq!(s.failure_logs(&ids, &[]).await.unwrap(), vec![Vec::<LoggedEvent>::new(); 4]);
}
