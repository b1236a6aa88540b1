//! Corrections: voiding absurd consumption gives a part its thresholds back; restoring brings
//! the absurd ones back; only the touched part is recomputed.

use crate::inventory::{AS_OF, NOW, consumption, master};
use crate::write_temp;
use cmms_core::corrections::VoidFeed;
use cmms_core::time::parse_timestamp;
use cmms_pipeline::corrections::{self, CorrectionError};
use cmms_pipeline::feed::{self, Feed, Pushed};
use cmms_pipeline::import::{Quiet, input_window};
use cmms_pipeline::ingest::RecordStatus;
use cmms_pipeline::thresholds::recompute_thresholds;
use cmms_store::testing::Db;
use serde_json::json;

async fn computed(db: &Db, part: &str) -> Option<[f64; 3]> {
    db.store.current_thresholds().await.unwrap()[part].computed
}

pub async fn voiding_absurd_consumption_gives_the_thresholds_back(db: Db) {
    master(&db).await;
    let path = write_temp("c.csv", &consumption());
    feed::import(&db.store, Feed::Consumption, feed::File { path: &path, observer: &mut Quiet }, 2).await.unwrap();
    let as_of = parse_timestamp(AS_OF).unwrap();
    recompute_thresholds(&db.store, as_of, NOW).await.unwrap();
    let sound = computed(&db, "BRG").await;
    let flt = computed(&db, "FLT").await;

    // Two absurd events for BRG, accepted by the webhook.
    let ev = |id: &str, qty: f64| json!({"event_id": id, "source": "ERP", "external_sku": "100-BRG", "quantity": qty, "consumed_at": "2026-10-20T08:00:00Z"});
    let r = feed::import(
        &db.store,
        Feed::Consumption,
        Pushed { records: vec![ev("X-1", 40_000.0), ev("X-2", 70_000.0)], window: input_window() },
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(r.accepted, 2, "{r:?}");
    recompute_thresholds(&db.store, as_of, NOW + 1).await.unwrap();
    let absurd = computed(&db, "BRG").await;
    assert_ne!(absurd, sound);

    for id in ["X-1", "X-2"] {
        let c = corrections::void(&db.store, None, "ERP", id, "keyed in as grams", "tester", NOW + 2).await.unwrap();
        assert_eq!(c.parts, ["BRG"]);
        assert_eq!(c.record.voided_by, "tester");
    }
    let run = recompute_thresholds(&db.store, as_of, NOW + 3).await.unwrap();
    assert_eq!((run.parts, run.changed), (1, 1), "only the voided events' part is recomputed");
    assert_eq!(computed(&db, "BRG").await, sound, "the thresholds are back");
    assert_eq!(computed(&db, "FLT").await, flt);

    // The ERP sends the reversed events again: duplicates, still voided, thresholds unchanged.
    let r = feed::import(
        &db.store,
        Feed::Consumption,
        Pushed { records: vec![ev("X-1", 40_000.0)], window: input_window() },
        NOW + 4,
    )
    .await
    .unwrap();
    assert_eq!(r.results[0].status, RecordStatus::Duplicate);
    let run = recompute_thresholds(&db.store, as_of, NOW + 5).await.unwrap();
    assert_eq!(run.changed, 0);
    assert!(matches!(
        corrections::void(&db.store, Some(VoidFeed::Consumption), "ERP", "X-1", "again", "tester", NOW + 5).await,
        Err(CorrectionError::AlreadyVoided { .. })
    ));

    // Restore is the inverse: the absurd thresholds come back exactly.
    for id in ["X-1", "X-2"] {
        corrections::restore(&db.store, None, "ERP", id, Some("they were right"), "tester", NOW + 6).await.unwrap();
    }
    recompute_thresholds(&db.store, as_of, NOW + 7).await.unwrap();
    assert_eq!(computed(&db, "BRG").await, absurd);
    assert!(matches!(
        corrections::restore(&db.store, None, "ERP", "X-1", None, "tester", NOW + 8).await,
        Err(CorrectionError::NotVoided(_))
    ));
    assert!(matches!(
        corrections::void(&db.store, None, "ERP", "X-9", "r", "tester", NOW + 8).await,
        Err(CorrectionError::Unknown { .. })
    ));
    assert!(matches!(
        corrections::void(&db.store, None, "ERP", "X-1", "  ", "tester", NOW + 8).await,
        Err(CorrectionError::NoReason)
    ));
}
