//! The formula registry document (`cmms formulas add FILE`): `FormulaSet::parse`, its canonical
//! form and content hash, and `diff` between two versions.
//!
//! Input: two TOML documents separated by the first NUL byte (the second may be absent).
#![no_main]

use cmms_core::formula::{FormulaSet, diff};
use cmms_core::ids::{PartClass, SiteId};
use libfuzzer_sys::fuzz_target;

fn parse(bytes: &[u8]) -> Option<FormulaSet> {
    let text = String::from_utf8_lossy(bytes);
    match FormulaSet::parse(&text) {
        Ok(set) => {
            // The canonical text reads back as the same set, and so hashes the same.
            let again = FormulaSet::parse(set.canonical_toml());
            assert_eq!(again.as_ref().ok(), Some(&set), "canonical text does not read back: {}", set.canonical_toml());
            assert_eq!(set.content_hash().len(), 64);
            assert!(diff(&set, &set).is_empty());
            Some(set)
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (first, second) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Some(old) = parse(first) else { return };
    if let (Ok(class), Ok(site)) = (PartClass::parse("BEARING"), SiteId::parse("PLANT-1")) {
        let _ = old.params_for(&class);
        let _ = old.seasonal_windows_for(&class, &site).count();
    }
    let Some(new) = second.and_then(parse) else { return };
    let changes = diff(&old, &new);
    assert_eq!(changes.is_empty(), old.canonical_toml() == new.canonical_toml());
    assert!(changes.windows(2).all(|w| w[0].path < w[1].path), "diff not sorted by path");
    for change in &changes {
        assert!(change.old != change.new);
        assert!(!change.to_string().is_empty());
    }
});
