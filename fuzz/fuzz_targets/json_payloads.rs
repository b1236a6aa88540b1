//! JSON bodies of the write endpoints: the feed webhooks (`POST /api/v1/ingest/{feed}`, one record
//! or an array, each through `record_from_json`) and the threshold `PUT` body (`ThresholdSync`
//! through the endpoint's `validate`).
//!
//! Input: one selector byte, then the body. Selector mod 6: `'0'` inventory, `'1'` consumption,
//! `'2'` scans, `'3'` failures, `'4'` mtbf_readings, `'5'` thresholds. For thresholds, bit 0x40
//! set takes the path's part id from the body (so the later checks are reached), else `BRG-6204`.
#![no_main]

use cmms_core::master::ImportRecord;
use cmms_core::publication::{ThresholdSync, payload_checksum};
use cmms_fuzz::{PerKind, check_record, dispatch};
use cmms_pipeline::import::Location;
use cmms_pipeline::import::reader::record_from_json;
use cmms_server::api::inventory::validate;
use cmms_store::master::StoredRecord;
use libfuzzer_sys::fuzz_target;

/// Kind numbers (`cmms_fuzz::KINDS`) of the webhook feeds.
const FEEDS: [u8; 5] = [3, 4, 5, 8, 9];

struct Webhook(serde_json::Value);

impl PerKind for Webhook {
    fn run<R: ImportRecord + StoredRecord>(self) {
        // As the ingest endpoint: an object is one record, an array a batch, anything else refused.
        let records = match self.0 {
            serde_json::Value::Array(items) => items,
            obj @ serde_json::Value::Object(_) => vec![obj],
            _ => return,
        };
        for (i, value) in records.into_iter().enumerate() {
            match record_from_json::<R>(value, &Location::Index(i as u64)) {
                Ok(record) => check_record(&record),
                Err(issue) => assert!(!issue.to_string().is_empty()),
            }
        }
    }
}

fn thresholds(body: &[u8], path_from_body: bool) {
    let Ok(mut sync) = serde_json::from_slice::<ThresholdSync>(body) else { return };
    let path = if path_from_body { sync.part_id.clone() } else { "BRG-6204".to_owned() };
    check_sync(&path, &sync);
    // The checksum is a hash the fuzzer cannot forge: fix it to reach the checks behind it.
    sync.checksum = payload_checksum(&sync.part_id, sync.sequence_id);
    check_sync(&path, &sync);
}

fn check_sync(path: &str, sync: &ThresholdSync) {
    let window = cmms_core::time::TimeWindow::events(jiff::Timestamp::now());
    match validate(path, sync, Some("fuzz".to_owned()), &window) {
        Ok(received) => {
            let [min, reorder, max] = received.limits;
            assert_eq!(received.part_id, path);
            assert!(sync.checksum_ok());
            assert!(received.sequence_id >= 0);
            for v in [min, reorder, max, received.current_stock] {
                assert!(v.is_finite() && v >= 0.0 && v.is_sign_positive(), "limit {v}");
            }
            assert!(min <= reorder && reorder <= max);
        }
        Err(e) => {
            assert!(e.status.is_client_error());
            assert!(!e.message.is_empty());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    match (selector & 0x0f) % 6 {
        5 => thresholds(body, selector & 0x40 != 0),
        feed => {
            let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else { return };
            dispatch(FEEDS[feed as usize], Webhook(value));
        }
    }
});
