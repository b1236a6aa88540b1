//! Timestamps, time-zone names and the PM next-due date across DST.
//!
//! Input: UTF-8 text (invalid bytes replaced). The whole text goes through `parse_timestamp`,
//! `parse_optional_timestamp` and `SiteTz::parse`; split at `|` as `completion|interval_days|zone`
//! it goes through `next_due` (the wall-clock arithmetic and DST resolution).
#![no_main]

use cmms_core::pm::{next_due, wall_clock_offset};
use cmms_core::time::{SiteTz, from_epoch_ms, parse_optional_timestamp, parse_timestamp, to_epoch_ms};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    let parsed = parse_timestamp(text);
    if let Ok(ts) = &parsed {
        // What we print, we read back as the same instant.
        assert_eq!(parse_timestamp(&ts.to_string()).ok(), Some(*ts), "{text:?}");
        assert_eq!(from_epoch_ms(to_epoch_ms(*ts)).as_millisecond(), ts.as_millisecond());
    } else if let Err(e) = &parsed {
        assert!(!e.to_string().is_empty());
    }
    match parse_optional_timestamp(text) {
        Ok(None) => assert!(text.trim().is_empty()),
        Ok(Some(ts)) => assert_eq!(parsed.ok(), Some(ts)),
        Err(_) => assert!(parsed.is_err()),
    }
    if let Ok(tz) = SiteTz::parse(text) {
        assert_eq!(SiteTz::parse(tz.name()).ok().as_ref(), Some(&tz));
        let _ = tz.zone();
    }
    if data.len() >= 8 {
        let mut ms = [0u8; 8];
        ms.copy_from_slice(&data[..8]);
        let _ = from_epoch_ms(i64::from_le_bytes(ms));
    }

    let mut parts = text.splitn(3, '|');
    let (Some(completion), Some(days), Some(zone)) = (parts.next(), parts.next(), parts.next()) else { return };
    let Ok(days) = days.trim().parse::<f64>() else { return };
    let _ = wall_clock_offset(days);
    let Ok(zone) = SiteTz::parse(zone) else { return };
    let completion = parse_optional_timestamp(completion).ok().flatten();
    match next_due(completion, days, &zone.zone()) {
        Ok(due) => {
            let completed = completion.expect("a due date needs a completion");
            assert!(due.due_utc() > completed, "not after the completion");
            assert_eq!(parse_timestamp(&due.utc_rfc3339()).ok(), Some(due.due_utc()));
            assert_eq!(parse_timestamp(&due.local_rfc3339()).ok(), Some(due.due_utc()));
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert!(!e.code().is_empty());
        }
    }
});
