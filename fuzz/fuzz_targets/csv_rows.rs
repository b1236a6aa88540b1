//! Import files (`cmms import <kind> FILE`) through the production reader, for every kind.
//!
//! Input: one selector byte, then the file. The selector's low four bits pick the kind (mod 10,
//! in `cmms_fuzz::KINDS` order: `'0'` sites … `'9'` mtbf_readings); bit 0x40 set reads the file as
//! a JSON array instead of CSV (`'@'` sites … `'I'` mtbf_readings).
#![no_main]

use cmms_core::master::ImportRecord;
use cmms_fuzz::{PerKind, dispatch, read_all};
use cmms_pipeline::import::reader::Format;
use cmms_store::master::StoredRecord;
use libfuzzer_sys::fuzz_target;

struct ReadFile<'a> {
    body: &'a [u8],
    format: Format,
}

impl PerKind for ReadFile<'_> {
    fn run<R: ImportRecord + StoredRecord>(self) {
        read_all::<R>(self.body, self.format);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let format = if selector & 0x40 != 0 { Format::Json } else { Format::Csv };
    dispatch(selector & 0x0f, ReadFile { body, format });
});
