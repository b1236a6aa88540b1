//! Whole units (docs/contract.md#whole-units): parts counted in discrete units publish whole-unit
//! limits in multiples of their pack size and order whole packs of at least their minimum; a
//! continuous part keeps the formula's decimals.

use crate::inventory::{AS_OF, NOW, import};
use crate::load_sites;
use cmms_core::feeds::SnapshotRecord;
use cmms_core::master::{PartRecord, SkuMapRecord};
use cmms_core::time::parse_timestamp;
use cmms_pipeline::feed::{self, Feed};
use cmms_pipeline::import::Quiet;
use cmms_pipeline::inventory;
use cmms_pipeline::routing::{RouteScope, route};
use cmms_pipeline::thresholds::recompute_thresholds;
use cmms_store::testing::Db;

const PARTS_HEAD: &str = "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,\
                          baseline_max,pack_size,min_order_qty\n";

/// Four parts with the same usage (1 a day for 90 days, lead time 10: the formula gives
/// 15 / 18.75 / 28.12): O-rings in kits sold by 5, seals in pieces bought 50 at least, a splice
/// kit in pieces, and oil in litres.
async fn plant(db: &Db, oring_pack: &str) {
    load_sites(db).await;
    let parts = format!(
        "{PARTS_HEAD}ORING,O-ring kit,kit,PLANT-A,SEAL,10,,,,{oring_pack},\n\
         SEAL,Radial shaft seal,EA,PLANT-A,SEAL,10,,,,,50\n\
         SPLICE,Belt splice kit,KIT,PLANT-A,BELT,10,,,,,\n\
         OIL,Gear oil,L,PLANT-A,LUBRICANT,10,,,,,\n"
    );
    assert!(import::<PartRecord>(db, "parts.csv", &parts).await.is_clean());
    let map = "source,external_sku,part_id\nERP,1-ORING,ORING\nERP,1-SEAL,SEAL\nERP,1-SPLICE,SPLICE\nERP,1-OIL,OIL\n";
    assert!(import::<SkuMapRecord>(db, "map.csv", map).await.is_clean());
    let as_of = parse_timestamp(AS_OF).unwrap();
    let mut csv = String::from("event_id,source,external_sku,quantity,consumed_at\n");
    for d in 1..=90 {
        let t = as_of - jiff::SignedDuration::from_hours(24 * d) + jiff::SignedDuration::from_hours(10);
        for part in ["ORING", "SEAL", "SPLICE", "OIL"] {
            csv.push_str(&format!("{part}{d},ERP,1-{part},1,{t}\n"));
        }
    }
    let path = crate::write_temp("c.csv", &csv);
    feed::import(&db.store, Feed::Consumption, feed::File { path: &path, observer: &mut Quiet }, 2).await.unwrap();
}

pub async fn discrete_parts_publish_and_order_whole_packs(db: Db) {
    plant(&db, "5").await;
    let as_of = parse_timestamp(AS_OF).unwrap();
    let run = recompute_thresholds(&db.store, as_of, NOW).await.unwrap();
    assert_eq!(run.by_status.get("OK"), Some(&4), "{run:?}");
    let cur = db.store.current_thresholds().await.unwrap();
    let published = |p: &str| (cur[p].published, cur[p].computed, cur[p].basis.as_str());
    assert_eq!(published("ORING"), ([15.0, 20.0, 30.0], Some([15.0, 20.0, 30.0]), "COMPUTED"));
    assert_eq!(published("SEAL"), ([15.0, 19.0, 29.0], Some([15.0, 19.0, 29.0]), "COMPUTED"));
    assert_eq!(published("SPLICE"), ([15.0, 19.0, 29.0], Some([15.0, 19.0, 29.0]), "COMPUTED"));
    assert_eq!(published("OIL"), ([15.0, 18.75, 28.12], Some([15.0, 18.75, 28.12]), "COMPUTED"));

    // Stock 3.5 of each: all short. Orders up to max, in whole packs of at least the minimum.
    let mut snap = String::from("source,sequence_id,external_sku,on_hand,observed_at\n");
    for part in ["ORING", "SEAL", "SPLICE", "OIL"] {
        snap.push_str(&format!("ERP,1,1-{part},3.5,2026-10-30\n"));
    }
    assert!(import::<SnapshotRecord>(&db, "s.csv", &snap).await.is_clean());
    inventory::process(&db.store, NOW).await.unwrap();
    route(&db.store, RouteScope::All, NOW).await.unwrap();
    let open = db.store.procurement_requests(Some("OPEN")).await.unwrap();
    let mut ordered: Vec<(&str, f64)> = open.iter().map(|r| (r.part_id.as_str(), r.quantity)).collect();
    ordered.sort_by(|a, b| a.0.cmp(b.0));
    // ORING 30 − 3.5 = 26.5 → 30 (six packs); SEAL 25.5 → 50 (the minimum); SPLICE 25.5 → 26;
    // OIL 28.12 − 3.5 = 24.62 as before.
    assert_eq!(ordered, [("OIL", 24.62), ("ORING", 30.0), ("SEAL", 50.0), ("SPLICE", 26.0)]);

    // The overview (API, export) shows the pack data.
    let overview = db.store.parts_overview(false).await.unwrap();
    let oring = overview.iter().find(|p| p.part_id == "ORING").unwrap();
    assert_eq!((oring.pack_size, oring.min_order_qty), (Some(5.0), None));
}

pub async fn a_new_pack_size_recomputes_the_part_incrementally(db: Db) {
    plant(&db, "5").await;
    let as_of = parse_timestamp(AS_OF).unwrap();
    recompute_thresholds(&db.store, as_of, NOW).await.unwrap();
    let parts = format!("{PARTS_HEAD}ORING,O-ring kit,kit,PLANT-A,SEAL,10,,,,4,\n");
    let r = import::<PartRecord>(&db, "parts2.csv", &parts).await;
    assert!(r.is_clean() && r.counts.updated == 1, "{r:?}");
    let run = recompute_thresholds(&db.store, as_of, NOW + 1).await.unwrap();
    assert_eq!((run.full, run.parts, run.changed), (false, 1, 1), "{run:?}");
    let cur = db.store.current_thresholds().await.unwrap();
    // 18.75 → 20 (5 packs of 4), 28.12 → 32 (8 packs).
    assert_eq!(cur["ORING"].published, [15.0, 20.0, 32.0]);
    assert_eq!(cur["ORING"].sequence_id, 2);
}

pub async fn bad_pack_sizes_are_rejected_rows(db: Db) {
    load_sites(&db).await;
    let parts = format!(
        "{PARTS_HEAD}OK,Seal,EA,PLANT-A,SEAL,10,,,,12,24\n\
         ZERO,Seal,EA,PLANT-A,SEAL,10,,,,0,\n\
         NEG,Seal,EA,PLANT-A,SEAL,10,,,,,-1\n"
    );
    let r = import::<PartRecord>(&db, "parts.csv", &parts).await;
    assert_eq!(r.rejected, 2, "{r:?}");
    let (zero, neg) = (crate::issue_at(&r, 3), crate::issue_at(&r, 4));
    assert_eq!(zero.field.as_deref(), Some("pack_size"));
    assert!(zero.reason.contains("greater than zero"), "{zero}");
    assert_eq!(neg.field.as_deref(), Some("min_order_qty"));
    assert!(neg.reason.contains("negative"), "{neg}");
    assert_eq!(db.store.count_rows("parts").await.unwrap(), 1);
}

/// `cmms backtest` without `--input`: the stored history is every part with its class, lead time
/// and mapped consumption, and replays like a folder.
pub async fn the_stored_history_replays(db: Db) {
    use cmms_pipeline::compute::{BacktestSettings, ComputeReport, Review, backtest_parts, stored_history};
    plant(&db, "5").await;
    let history = stored_history(&db.store, parse_timestamp(AS_OF).unwrap().as_millisecond()).await.unwrap();
    assert_eq!(history.len(), 4);
    for p in &history {
        assert_eq!((p.lead_time_days, p.events.len()), (10.0, 90));
        assert_eq!(p.events.iter().map(|e| e.1).sum::<i128>(), 90_000_000);
    }
    let settings = BacktestSettings {
        start: None,
        end: None,
        burn_in_days: 30,
        review: Review::Days(10),
        backorders: false,
        whole_units: true,
        holding_cost: 1.0,
        ordering_cost: 10.0,
        frontier: false,
        policies: vec![("seed".into(), None), ("tsb".into(), Some(cmms_core::formula::ThresholdMethod::Tsb))],
    };
    let formulas = cmms_core::formula::FormulaSet::defaults();
    let r = backtest_parts(history, &formulas, &settings, ComputeReport::default());
    assert_eq!((r.parts, r.reviews, r.simulated_days), (4, 6, 60));
    for p in &r.policies {
        // Days 31–90 of the history: 60 units per part.
        assert_eq!(p.summary.demanded, 240.0, "{p:?}");
        assert!(p.summary.fill_rate > 0.5, "{p:?}");
    }
}
