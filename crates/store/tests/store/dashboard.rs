//! The dashboard's read models: one row by id, the open PM calendar and each asset's PM status.

use cmms_core::master::{AssetRecord, ImportRecord, PartRecord, RawRow, SiteRecord};
use cmms_core::work_order::WoState as S;
use cmms_store::master::StoredRecord;
use cmms_store::testing::Db;
use cmms_store::work_orders::Scheduled;

fn record<R: ImportRecord>(vals: &[&str]) -> R {
    R::parse(&RawRow::new(R::COLUMNS, vals)).expect("valid test record")
}

fn created(outcome: Scheduled) -> i64 {
    match outcome {
        Scheduled::Created(id) => id,
        other => panic!("expected a new order, got {other:?}"),
    }
}

/// Pages read one part or interval by id, and only open orders count for the calendar and the
/// overdue flag.
pub async fn pages_read_one_row_and_only_open_orders(db: Db) {
    let s = &db.store;
    let sites = vec![
        record::<SiteRecord>(&["S1", "Europe/Berlin"]).to_row(),
        record::<SiteRecord>(&["S2", "Australia/Sydney"]).to_row(),
    ];
    s.upsert_batch(&SiteRecord::SPEC, sites, 1).await.unwrap();
    let part = record::<PartRecord>(&["P-1", "Bearing", "EA", "S1", "BEARING", "14", "", "", "", "", ""]).to_row();
    s.upsert_batch(&PartRecord::SPEC, vec![part], 1).await.unwrap();
    let assets = vec![
        record::<AssetRecord>(&["A1", "PUMPS", "S1", "90", ""]).to_row(),
        record::<AssetRecord>(&["A2", "AHU", "S2", "30", ""]).to_row(),
        record::<AssetRecord>(&["A3", "AHU", "S2", "30", ""]).to_row(),
    ];
    s.upsert_batch(&AssetRecord::SPEC, assets, 1).await.unwrap();

    let p = s.part_overview("P-1").await.unwrap().expect("the part");
    assert_eq!((p.part_id.as_str(), p.site_id.as_str(), p.available, p.basis), ("P-1", "S1", None, None));
    assert_eq!(s.part_overview("P-9").await.unwrap(), None);
    assert_eq!(s.pm_interval("A1").await.unwrap(), None, "nothing computed yet");

    let late = created(s.schedule_pm("A1", "PM", 100, None, 1).await.unwrap());
    created(s.schedule_pm("A2", "PM", 300, None, 1).await.unwrap());
    let cancelled = created(s.schedule_pm("A2", "OTHER", 50, None, 1).await.unwrap());
    assert!(s.transition_work_order(cancelled, S::Scheduled, S::Cancelled, "test", 2).await.unwrap());
    let done = created(s.schedule_pm("A3", "PM", 60, None, 1).await.unwrap());
    for (from, to) in [(S::Scheduled, S::Released), (S::Released, S::InProgress), (S::InProgress, S::Completed)] {
        assert!(s.transition_work_order(done, from, to, "test", 2).await.unwrap());
    }

    let due = s.open_due_dates("PM").await.unwrap();
    assert_eq!(due, [("A1".to_owned(), 100), ("A2".to_owned(), 300)].into(), "open orders of the plan only");
    assert_eq!(s.open_due_dates("OTHER").await.unwrap(), Default::default(), "a cancelled order is not open");

    use cmms_store::codes::AlertKind;
    for (kind, subject) in [(AlertKind::Drift, "P-1"), (AlertKind::Drift, "P-2"), (AlertKind::ScanDiscrepancy, "P-3")] {
        s.raise_alert(kind, subject, "why", None, 1).await.unwrap();
    }
    s.resolve_alert(AlertKind::Drift, "P-2", 2).await.unwrap();
    assert_eq!(s.open_alert_subjects(AlertKind::Drift).await.unwrap(), ["P-1".to_owned()].into());
    assert_eq!(s.open_alert_subjects(AlertKind::ScanDiscrepancy).await.unwrap(), ["P-3".to_owned()].into());

    let calendar = s.pm_calendar().await.unwrap();
    let got: Vec<_> =
        calendar.iter().map(|e| (e.asset_id.as_str(), e.site_id.as_str(), e.timezone.as_str(), e.due_at)).collect();
    assert_eq!(got, [("A1", "S1", "Europe/Berlin", 100), ("A2", "S2", "Australia/Sydney", 300)]);
    assert!(calendar.iter().all(|e| e.state == S::Scheduled));

    let status = s.asset_pm_status(200, "A1", "A3").await.unwrap();
    let got: Vec<_> = status.iter().map(|a| (a.asset_id.as_str(), a.timezone.as_str(), a.overdue)).collect();
    assert_eq!(
        got,
        [("A1", "Europe/Berlin", true), ("A2", "Australia/Sydney", false), ("A3", "Australia/Sydney", false)],
        "a cancelled or completed order is never late"
    );
    // Only the assets of the range asked for (a page of the assets list).
    let status = s.asset_pm_status(200, "A2", "A2").await.unwrap();
    assert_eq!(status.iter().map(|a| a.asset_id.as_str()).collect::<Vec<_>>(), ["A2"]);
    assert_eq!(s.work_order(late).await.unwrap().map(|w| w.state), Some(S::Scheduled));
    assert_eq!(s.paused_parts().await.unwrap(), []);
    s.execute_raw(
        "INSERT INTO inventory_state (part_id, on_hand, reserved, observed_at, paused_reason, updated_at) \
         VALUES ('P-1', 5, 1, 1, 'SCAN_DISCREPANCY: scan S-1', 1)",
    )
    .await
    .unwrap();
    assert_eq!(s.paused_parts().await.unwrap(), [("P-1".to_owned(), "SCAN_DISCREPANCY: scan S-1".to_owned())]);
    assert_eq!(s.part_overview("P-1").await.unwrap().and_then(|p| p.available), Some(4.0));
}
