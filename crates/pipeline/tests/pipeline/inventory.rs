//! Inventory threshold pipeline: staging, SKU mapping and quarantine, the snapshot gate,
//! thresholds with drift/fallback/approval, scan pause and release.

use crate::{load_sites, write_temp};
use cmms_core::feeds::{ConsumptionRecord, ScanRecord, SnapshotRecord};
use cmms_core::master::{ImportRecord, PartRecord, SkuMapRecord};
use cmms_core::time::parse_timestamp;
use cmms_pipeline::feed::{self, Feed};
use cmms_pipeline::import::{ImportReport, Quiet, import_file};
use cmms_pipeline::inventory::{self, accept_scan, resolve_quarantine};
use cmms_pipeline::thresholds::{RecomputeScope, ThresholdRun, approve, recompute_thresholds, recompute_thresholds_in};
use cmms_store::codes::{AlertKind, ScanVerdict, SnapshotStatus, ThresholdBasis};
use cmms_store::master::StoredRecord;
use cmms_store::testing::Db;

pub(crate) const NOW: i64 = 1_790_000_000_000;
pub(crate) const AS_OF: &str = "2026-10-31T00:00:00Z";

/// Imports a file of `R` with the plain generic import: a consumption file lands unmapped, so the
/// validation gate's mapping is what a test sees (`feed::import` maps consumption SKUs at ingest).
pub(crate) async fn import<R: ImportRecord + StoredRecord>(db: &Db, name: &str, csv: &str) -> ImportReport {
    import_file::<R>(&db.store, &write_temp(name, csv), 2, &mut Quiet).await.unwrap()
}

/// Parts: BRG (baseline close to its usage), FLT (baseline far below), NEW (no baseline). BRG and
/// FLT are kept in a continuous unit (`KG`), so the figures here are the seed formula's own;
/// discrete units have their own cases (`units.rs`).
pub(crate) async fn master(db: &Db) {
    load_sites(db).await;
    let parts = "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n\
                 BRG,Bearing,KG,PLANT-A,BEARING,10,15,18.75,28.13\n\
                 FLT,Filter,KG,PLANT-A,FILTER,10,1,2,3\n\
                 NEW,Seal,EA,PLANT-A,SEAL,10,,,\n\
                 ZERO,Gasket,EA,PLANT-A,SEAL,0,,,\n";
    assert!(import::<PartRecord>(db, "parts.csv", parts).await.is_clean());
    let map = "source,external_sku,part_id\nERP,100-BRG,BRG\nERP,100-FLT,FLT\nWMS,flt ,FLT\n";
    assert!(import::<SkuMapRecord>(db, "map.csv", map).await.is_clean());
}

/// 90 days of one unit a day for BRG (ERP SKU), and of the normalised WMS SKU for FLT.
pub(crate) fn consumption() -> String {
    let mut s = String::from("event_id,source,external_sku,quantity,consumed_at\n");
    let as_of = parse_timestamp(AS_OF).unwrap();
    for d in 1..=90 {
        let t = as_of - jiff::SignedDuration::from_hours(24 * d) + jiff::SignedDuration::from_hours(10);
        s.push_str(&format!("B{d},ERP,100-BRG,1,{t}\nF{d},WMS,  FLT,1,{t}\n"));
    }
    s.push_str(&format!("U1,ERP,MYSTERY,3,{}\n", parse_timestamp("2026-10-01").unwrap()));
    s
}

pub async fn drift_falls_back_until_approved(db: Db) {
    master(&db).await;
    // Mapping at ingest: the mappable SKUs land with their part, the unmappable one waits.
    let path = write_temp("c.csv", &consumption());
    let r =
        feed::import(&db.store, Feed::Consumption, feed::File { path: &path, observer: &mut Quiet }, 2).await.unwrap();
    assert_eq!(r.counts.inserted, 181);
    let gate = inventory::process(&db.store, NOW).await.unwrap();
    assert_eq!(gate.consumption_mapped, 0, "already mapped at ingest");
    assert_eq!(gate.quarantined.len(), 1);
    let again =
        feed::import(&db.store, Feed::Consumption, feed::File { path: &path, observer: &mut Quiet }, 3).await.unwrap();
    assert_eq!((again.counts.unchanged, again.rejected), (181, 0), "the derived part is not compared");
    let as_of = parse_timestamp(AS_OF).unwrap();
    let run = recompute_thresholds(&db.store, as_of, NOW).await.unwrap();
    assert_eq!(run.by_status.get("OK"), Some(&2));
    assert_eq!(run.by_status.get("NO_HISTORY"), Some(&1), "NEW has no consumption at all");
    assert_eq!(run.by_status.get("LEAD_TIME_NOT_POSITIVE"), Some(&1), "checked before NO_HISTORY");
    let cur = db.store.current_thresholds().await.unwrap();
    // avg 1/day × 10 days × 1.5 = 15; 18.75; 28.125 → 28.12 — within 40 % of BRG's baseline.
    assert_eq!(
        (cur["BRG"].published, cur["BRG"].basis.as_str()),
        ([15.0, 18.75, 28.12], "COMPUTED"),
        "28.125 rounds half-to-even"
    );
    // FLT computes the same but its baseline is far lower: drift → the baseline is published.
    assert_eq!(cur["FLT"].computed, Some([15.0, 18.75, 28.12]));
    assert_eq!((cur["FLT"].published, cur["FLT"].basis.as_str()), ([1.0, 2.0, 3.0], "FALLBACK"));
    assert!(!cur.contains_key("NEW"), "a part without history publishes nothing, never a silent zero");
    let errors = db.store.threshold_errors().await.unwrap();
    let codes: Vec<(&str, &str)> = errors.iter().map(|e| (e.part_id.as_str(), e.code.as_str())).collect();
    assert_eq!(codes, vec![("NEW", "NO_HISTORY"), ("ZERO", "LEAD_TIME_NOT_POSITIVE")]);
    assert!(errors.iter().all(|e| e.reason.is_some()), "every error says why: {errors:?}");
    let alerts = db.store.open_alerts().await.unwrap();
    assert_eq!(
        alerts.iter().map(|a| (a.kind.as_str(), a.subject.as_str())).collect::<Vec<_>>(),
        vec![("DRIFT", "FLT")]
    );

    assert!(approve(&db.store, "BRG", NOW).await.is_err(), "BRG is not on the fallback");
    approve(&db.store, "FLT", NOW).await.unwrap();
    let cur = db.store.current_thresholds().await.unwrap();
    assert_eq!((cur["FLT"].published, cur["FLT"].basis.as_str()), ([15.0, 18.75, 28.12], "APPROVED"));
    assert_eq!(cur["FLT"].sequence_id, 2, "each published change gets the next sequence");
    assert!(db.store.open_alerts().await.unwrap().is_empty());

    // Same inputs: nothing changes, the approval holds.
    let again = recompute_thresholds(&db.store, as_of, NOW + 1).await.unwrap();
    assert_eq!(again.changed, 0);
    assert_eq!(db.store.current_thresholds().await.unwrap()["FLT"].basis, ThresholdBasis::Approved);
    // Different computed values are not covered by the approval: fallback again.
    let later =
        recompute_thresholds(&db.store, parse_timestamp("2026-11-15T00:00:00Z").unwrap(), NOW + 2).await.unwrap();
    assert!(later.changed >= 1);
    let cur = db.store.current_thresholds().await.unwrap();
    assert_eq!(cur["FLT"].basis, ThresholdBasis::Fallback);
    let drifting = |alerts: Vec<cmms_store::alerts::AlertRow>| -> Vec<String> {
        alerts.into_iter().filter(|a| a.kind == AlertKind::Drift).map(|a| a.subject).collect()
    };
    assert_eq!(drifting(db.store.open_alerts().await.unwrap()), ["FLT"], "raised again");
    // The baseline moves to what is computed now: no drift, the recompute resolves the alert.
    let [min, reorder, max] = cur["FLT"].computed.unwrap();
    let parts = format!(
        "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n\
         FLT,Filter,KG,PLANT-A,FILTER,10,{min},{reorder},{max}\n"
    );
    assert!(import::<PartRecord>(&db, "parts-2.csv", &parts).await.is_clean());
    let as_of = parse_timestamp("2026-11-15T00:00:00Z").unwrap();
    recompute_thresholds_in(&db.store, as_of, NOW + 3, RecomputeScope::All).await.unwrap();
    assert_eq!(db.store.current_thresholds().await.unwrap()["FLT"].basis, ThresholdBasis::Computed);
    assert!(drifting(db.store.open_alerts().await.unwrap()).is_empty(), "resolved with the change");
}

pub async fn quarantine_holds_until_resolved(db: Db) {
    master(&db).await;
    let r = import::<ConsumptionRecord>(&db, "c.csv", &consumption()).await;
    assert!(r.is_clean());
    let gate = inventory::process(&db.store, NOW).await.unwrap();
    assert_eq!(gate.consumption_mapped, 180, "exact ERP SKUs and the normalised WMS SKU map");
    let q = db.store.quarantine(true).await.unwrap();
    assert_eq!((q.len(), q[0].reason.as_str(), q[0].held_count), (1, "UNMAPPED", 1));

    // An ambiguous SKU: two entries normalise alike but name different parts.
    let amb = "source,external_sku,part_id\nWMS,x-1,BRG\nWMS,X-1 ,NEW\n";
    import::<SkuMapRecord>(&db, "amb.csv", amb).await;
    let snap = "source,sequence_id,external_sku,on_hand,observed_at\nWMS,1,x-1  ,5,2026-10-30\n";
    import::<SnapshotRecord>(&db, "s.csv", snap).await;
    inventory::process(&db.store, NOW).await.unwrap();
    let q = db.store.quarantine(true).await.unwrap();
    let ambiguous = q.iter().find(|e| e.reason == "AMBIGUOUS").unwrap();
    assert_eq!(ambiguous.candidates.as_deref(), Some("BRG,NEW"));
    assert!(db.store.stock("BRG").await.unwrap().is_none(), "nothing routes before mapping");

    let err = resolve_quarantine(&db.store, ambiguous.id, "NOPE", NOW).await.unwrap_err();
    assert!(err.to_string().contains("unknown part"));
    let run = resolve_quarantine(&db.store, ambiguous.id, "NEW", NOW).await.unwrap();
    assert_eq!(run.snapshots_applied, 1, "held snapshot re-processed");
    assert_eq!(db.store.stock("NEW").await.unwrap().unwrap().on_hand, 5.0);
    let mystery = q.iter().find(|e| e.external_sku == "MYSTERY").unwrap();
    let run = resolve_quarantine(&db.store, mystery.id, "ZERO", NOW).await.unwrap();
    assert_eq!(run.consumption_mapped, 1);
    assert!(db.store.quarantine(true).await.unwrap().is_empty());
    assert!(resolve_quarantine(&db.store, mystery.id, "ZERO", NOW).await.is_err(), "already resolved");
}

pub async fn snapshots_in_any_order_end_in_the_in_order_state(db: Db) {
    master(&db).await;
    let rows = [
        "ERP,3,100-BRG,30,2026-10-03",
        "ERP,1,100-BRG,10,2026-10-01",
        "ERP,3,100-BRG,30,2026-10-03",
        "ERP,2,100-BRG,20,2026-10-02",
        "ERP,7,100-FLT,7,2026-10-07",
    ];
    // Deliver in two files, the later one older: stale deliveries change nothing.
    let head = "source,sequence_id,external_sku,on_hand,observed_at\n";
    import::<SnapshotRecord>(&db, "a.csv", &format!("{head}{}\n{}\n", rows[0], rows[4])).await;
    let g1 = inventory::process(&db.store, NOW).await.unwrap();
    assert_eq!(g1.snapshots_applied, 2);
    let r = import::<SnapshotRecord>(&db, "b.csv", &format!("{head}{}\n", rows.join("\n"))).await;
    assert_eq!((r.counts.inserted, r.counts.unchanged), (2, 3));
    let g2 = inventory::process(&db.store, NOW).await.unwrap();
    assert_eq!((g2.snapshots_applied, g2.snapshots_stale), (0, 2));
    assert_eq!(db.store.stock("BRG").await.unwrap().unwrap().on_hand, 30.0);
    assert_eq!(db.store.last_sequence("ERP", "100-BRG").await.unwrap(), Some(3));

    // A drop that recent consumption cannot explain is held with an alert, not applied.
    import::<SnapshotRecord>(&db, "c.csv", &format!("{head}ERP,4,100-BRG,0,2026-10-04\n")).await;
    let g3 = inventory::process(&db.store, NOW).await.unwrap();
    assert_eq!(g3.snapshots_held, 1);
    assert_eq!(db.store.stock("BRG").await.unwrap().unwrap().on_hand, 30.0);
    assert!(db.store.open_alerts().await.unwrap().iter().any(|a| a.kind == AlertKind::ImplausibleDrop));

    // After review an operator accepts it: applied, alert resolved; there is nothing left to accept.
    let accepted = inventory::accept_held_snapshot(&db.store, "BRG", NOW).await.unwrap();
    assert_eq!(accepted.sequence_id, 4);
    assert_eq!(db.store.stock("BRG").await.unwrap().unwrap().on_hand, 0.0);
    assert!(db.store.open_alerts().await.unwrap().is_empty());
    assert!(inventory::accept_held_snapshot(&db.store, "BRG", NOW).await.is_err());
}

/// Two processes gate the same staged snapshot (`cmms serve` and `cmms import` both run the
/// validation stage): the first applies it, the second, having read it as staged, finds its
/// sequence already applied. Its late "stale" verdict must not overwrite "applied" — the webhook
/// answered `duplicate`/`STALE` to a first delivery before this was fixed (found by the crash test).
pub async fn a_late_verdict_of_another_gate_run_keeps_the_applied_status(db: Db) {
    master(&db).await;
    let head = "source,sequence_id,external_sku,on_hand,observed_at\n";
    import::<SnapshotRecord>(&db, "a.csv", &format!("{head}ERP,5,100-BRG,12,2026-10-05\n")).await;
    let seen_by_the_other = db.store.staged_snapshots().await.unwrap();
    assert_eq!(seen_by_the_other.len(), 1);
    assert_eq!(inventory::process(&db.store, NOW).await.unwrap().snapshots_applied, 1);
    // The other process now gives the verdict it reached on the sequence it found applied.
    let changed = db
        .store
        .set_snapshot_status(&seen_by_the_other[0], Some("BRG"), SnapshotStatus::Stale, "not newer than 5")
        .await
        .unwrap();
    assert!(!changed, "an applied snapshot keeps its verdict");
    let key = ("ERP".to_owned(), "100-BRG".to_owned(), 5);
    let statuses = db.store.snapshot_statuses(std::slice::from_ref(&key)).await.unwrap();
    assert_eq!(statuses[&key].status, SnapshotStatus::Applied);
    assert_eq!(db.store.stock("BRG").await.unwrap().unwrap().on_hand, 12.0);
}

pub async fn a_late_scan_verdict_of_another_gate_run_changes_nothing(db: Db) {
    master(&db).await;
    let head = "source,sequence_id,external_sku,on_hand,observed_at\n";
    import::<SnapshotRecord>(&db, "s.csv", &format!("{head}ERP,1,100-BRG,10,2026-10-01\n")).await;
    inventory::process(&db.store, NOW).await.unwrap();
    let scans = "scan_id,scanner_id,code,counted_qty,scanned_at\nS1,GUN-1,BRG,10,2026-10-02T08:00:00Z\n";
    import::<ScanRecord>(&db, "scans.csv", scans).await;
    assert_eq!(inventory::process(&db.store, NOW).await.unwrap().scans_matched, 1);
    // Another process, which read the scan before this run decided it, now gives its verdict.
    let changed = db.store.set_scan_outcome("S1", Some("BRG"), Some(4.0), ScanVerdict::Discrepancy).await.unwrap();
    assert!(!changed, "a reconciled scan keeps its verdict");
    assert_eq!(db.store.scan("S1").await.unwrap().unwrap().2, ScanVerdict::Match);
    // Only a discrepancy can be accepted.
    assert!(!db.store.set_scan_outcome("S1", Some("BRG"), None, ScanVerdict::Accepted).await.unwrap());
    assert!(db.store.stock("BRG").await.unwrap().unwrap().paused_reason.is_none());
}

pub async fn scan_discrepancy_pauses_until_matching_count_or_acceptance(db: Db) {
    master(&db).await;
    let head = "source,sequence_id,external_sku,on_hand,observed_at\n";
    import::<SnapshotRecord>(&db, "s.csv", &format!("{head}ERP,1,100-BRG,10,2026-10-01\nERP,1,100-FLT,4,2026-10-01\n"))
        .await;
    inventory::process(&db.store, NOW).await.unwrap();
    let scans = "scan_id,scanner_id,code,counted_qty,scanned_at\n\
                 S1,GUN-1,BRG,6,2026-10-02T08:00:00Z\n\
                 S2,GUN-1,100-flt,9,2026-10-02T08:00:00Z\n";
    import::<ScanRecord>(&db, "scans.csv", scans).await;
    let g = inventory::process(&db.store, NOW).await.unwrap();
    assert_eq!(g.scans_discrepant, 2);
    for part in ["BRG", "FLT"] {
        assert!(db.store.stock(part).await.unwrap().unwrap().paused_reason.is_some(), "{part} paused");
    }

    // A later count that matches system stock releases the pause.
    import::<ScanRecord>(
        &db,
        "s3.csv",
        "scan_id,scanner_id,code,counted_qty,scanned_at\nS3,GUN-1,BRG,10,2026-10-02T09:00:00Z\n",
    )
    .await;
    let g = inventory::process(&db.store, NOW).await.unwrap();
    assert_eq!((g.scans_matched, g.parts_released), (1, 1));
    let brg = db.store.stock("BRG").await.unwrap().unwrap();
    assert_eq!((brg.paused_reason, brg.on_hand), (None, 10.0));

    // An operator accepts the count: stock becomes the counted quantity.
    assert!(accept_scan(&db.store, "S3", NOW).await.is_err(), "S3 is no discrepancy");
    assert_eq!(accept_scan(&db.store, "S2", NOW).await.unwrap(), "FLT");
    let flt = db.store.stock("FLT").await.unwrap().unwrap();
    assert_eq!((flt.paused_reason, flt.on_hand), (None, 9.0));
    assert!(db.store.open_alerts().await.unwrap().is_empty());
}

/// The parts computed by one recompute, with what it did.
async fn recompute(db: &Db, as_of: &str, now: i64, scope: RecomputeScope) -> (ThresholdRun, Vec<String>) {
    let before = db.store.count_rows("thresholds").await.unwrap();
    let run = recompute_thresholds_in(&db.store, parse_timestamp(as_of).unwrap(), now, scope).await.unwrap();
    let after = db.store.count_rows("thresholds").await.unwrap();
    assert_eq!(after - before, run.changed as i64, "one history row per change");
    let mut parts = Vec::new();
    for p in ["BRG", "FLT", "NEW", "ZERO"] {
        if db.store.threshold_history(p, 100).await.unwrap().iter().any(|h| h.at == now) {
            parts.push(p.to_owned());
        }
    }
    (run, parts)
}

pub async fn recompute_without_all_computes_only_changed_parts(db: Db) {
    master(&db).await;
    let path = write_temp("c.csv", &consumption());
    feed::import(&db.store, Feed::Consumption, feed::File { path: &path, observer: &mut Quiet }, 2).await.unwrap();
    inventory::process(&db.store, NOW).await.unwrap();
    // First run: no earlier recompute, so every part.
    let (first, _) = recompute(&db, AS_OF, NOW, RecomputeScope::Changed).await;
    assert!(first.full);
    assert_eq!((first.parts, first.skipped), (4, 0));

    // Nothing changed: nothing computed, nothing written.
    let (same, _) = recompute(&db, AS_OF, NOW + 1, RecomputeScope::Changed).await;
    assert_eq!((same.full, same.parts, same.skipped, same.changed), (false, 0, 4, 0));

    // A new event of BRG inside the window: BRG only, and its thresholds move.
    let extra = "event_id,source,external_sku,quantity,consumed_at\nB-extra,ERP,100-BRG,9,2026-10-20T00:00:00Z\n";
    feed::import(
        &db.store,
        Feed::Consumption,
        feed::File { path: &write_temp("e.csv", extra), observer: &mut Quiet },
        3,
    )
    .await
    .unwrap();
    let (one, _) = recompute(&db, AS_OF, NOW + 2, RecomputeScope::Changed).await;
    assert_eq!((one.parts, one.skipped, one.changed), (1, 3, 1));
    assert_eq!(db.store.current_thresholds().await.unwrap()["BRG"].published, [16.5, 20.62, 30.93]);

    // A changed lead time (part master): that part only. A re-import of the same master marks nothing.
    let parts = "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n\
                 BRG,Bearing,KG,PLANT-A,BEARING,10,15,18.75,28.13\n\
                 FLT,Filter,KG,PLANT-A,FILTER,20,1,2,3\n";
    assert!(import::<PartRecord>(&db, "parts2.csv", parts).await.is_clean());
    let (lead, _) = recompute(&db, AS_OF, NOW + 3, RecomputeScope::Changed).await;
    assert_eq!((lead.parts, lead.changed), (1, 1));
    assert_eq!(db.store.current_thresholds().await.unwrap()["FLT"].computed, Some([30.0, 37.5, 56.25]));

    // An event newly mapped by the validation stage (quarantine resolved) marks its part.
    let q = db.store.quarantine(true).await.unwrap();
    resolve_quarantine(&db.store, q[0].id, "NEW", NOW).await.unwrap();
    let (mapped, computed) = recompute(&db, AS_OF, NOW + 4, RecomputeScope::Changed).await;
    assert_eq!((mapped.parts, computed), (1, vec!["NEW".to_owned()]));

    // The window moves by a day: only parts with events in the moved edges. BRG and FLT lose
    // their oldest day; NEW's one event is mid-window and ZERO has none.
    let (moved, computed) = recompute(&db, "2026-11-01T00:00:00Z", NOW + 5, RecomputeScope::Changed).await;
    assert_eq!((moved.full, moved.parts, moved.skipped), (false, 2, 2));
    assert_eq!(computed, vec!["BRG".to_owned(), "FLT".to_owned()]);

    // --all: every part, though nothing changed.
    let (all, _) = recompute(&db, "2026-11-01T00:00:00Z", NOW + 6, RecomputeScope::All).await;
    assert_eq!((all.full, all.parts, all.skipped, all.changed), (true, 4, 0, 0));
}

/// A change written while a recompute runs (after it claimed the marks) is kept for the next run.
pub async fn a_change_during_a_recompute_is_kept_for_the_next(db: Db) {
    master(&db).await;
    let path = write_temp("c.csv", &consumption());
    feed::import(&db.store, Feed::Consumption, feed::File { path: &path, observer: &mut Quiet }, 2).await.unwrap();
    recompute(&db, AS_OF, NOW, RecomputeScope::Changed).await;
    let extra = "event_id,source,external_sku,quantity,consumed_at\nB-x,ERP,100-BRG,1,2026-10-20T00:00:00Z\n";
    feed::import(
        &db.store,
        Feed::Consumption,
        feed::File { path: &write_temp("e.csv", extra), observer: &mut Quiet },
        3,
    )
    .await
    .unwrap();
    let claimed = db.store.claim_threshold_marks().await.unwrap();
    assert_eq!(claimed.into_iter().collect::<Vec<_>>(), vec!["BRG".to_owned()]);
    // Meanwhile another event of BRG arrives; the run then finishes.
    let more = "event_id,source,external_sku,quantity,consumed_at\nB-y,ERP,100-BRG,1,2026-10-21T00:00:00Z\n";
    feed::import(
        &db.store,
        Feed::Consumption,
        feed::File { path: &write_temp("m.csv", more), observer: &mut Quiet },
        3,
    )
    .await
    .unwrap();
    let covered = db.store.threshold_watermark().await.unwrap().unwrap();
    db.store.finish_threshold_recompute(&covered, NOW).await.unwrap();
    let (next, computed) = recompute(&db, AS_OF, NOW + 1, RecomputeScope::Changed).await;
    assert_eq!((next.parts, computed), (1, vec!["BRG".to_owned()]));
}
