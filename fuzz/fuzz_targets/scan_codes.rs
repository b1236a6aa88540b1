//! Scan records (barcode/QR payloads naming a SKU) through the import reader and the SKU → part
//! mapping rules, against a small fixed SKU map with near-collisions.
//!
//! Input: one selector byte (bit 0x40 set: JSON array, else CSV), then a scans file
//! (`scan_id,scanner_id,code,counted_qty,scanned_at`).
#![no_main]

use cmms_core::feeds::ScanRecord;
use cmms_core::mapping::{Mapping, SkuIndex, normalise};
use cmms_fuzz::read_all;
use cmms_pipeline::import::reader::Format;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// Known part ids.
const PARTS: [&str; 6] = ["BRG-6204", "FLT-A", "FLT-B", "SEAL-9", "GSK-42", "belt.v-13"];

/// `(source, external_sku, part_id)`: exact and normalised hits, an ambiguous pair, non-ASCII case.
const SKU_MAP: [(&str, &str, &str); 8] = [
    ("ERP", "10004711", "BRG-6204"),
    ("WMS", "brg-6204", "BRG-6204"),
    ("WMS", "flt-1", "FLT-A"),
    ("WMS", "FLT-1 ", "FLT-B"),
    ("SCN", "straße-9", "SEAL-9"),
    ("ERP", "0042", "GSK-42"),
    ("ERP", "GSK-42", "GSK-42"),
    ("WMS", "İ-13", "belt.v-13"),
];

static INDEX: LazyLock<SkuIndex> = LazyLock::new(|| SkuIndex::new(SKU_MAP, PARTS));

fn check(mapping: &Mapping) {
    match mapping {
        Mapping::Part(p) => assert!(PARTS.contains(&p.as_str()), "unknown part {p}"),
        Mapping::Unmapped => assert_eq!(mapping.code(), Some("UNMAPPED")),
        Mapping::Ambiguous(parts) => {
            assert!(parts.len() >= 2, "ambiguous with {parts:?}");
            assert!(parts.windows(2).all(|w| w[0] < w[1]), "unsorted {parts:?}");
            assert!(parts.iter().all(|p| PARTS.contains(&p.as_str())));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let format = if selector & 0x40 != 0 { Format::Json } else { Format::Csv };
    for (_, item) in read_all::<ScanRecord>(body, format) {
        let Ok(scan) = item else { continue };
        let code = scan.code.as_str();
        assert_eq!(scan.code.normalized(), normalise(code));
        let by_code = INDEX.resolve_code(code);
        check(&by_code);
        if PARTS.contains(&code.trim()) {
            assert_eq!(by_code, Mapping::Part(code.trim().to_owned()), "a part id names its part");
        }
        for source in ["ERP", "WMS", "SCN", scan.scanner_id.as_str()] {
            let by_source = INDEX.resolve(source, code);
            check(&by_source);
            if let Mapping::Part(p) = &by_source {
                // Whatever one source maps, the source-free rule finds too (maybe as ambiguous),
                // unless the code is itself a part id, which wins.
                match &by_code {
                    Mapping::Part(q) => assert!(q == p || PARTS.contains(&code.trim()), "{q} vs {p}"),
                    Mapping::Ambiguous(all) => assert!(all.contains(p), "{all:?} lacks {p}"),
                    Mapping::Unmapped => panic!("{source} maps {code:?} to {p}, the code rule to nothing"),
                }
            }
        }
    }
});
