//! External SKU → part mapping, by DESIGN.md's deterministic rules.
//!
//! 1. An exact `(source, external_sku)` entry of the SKU map always wins.
//! 2. Otherwise the SKU trimmed and upper-cased is compared with the same source's entries,
//!    normalised the same way: one distinct part → that part.
//! 3. No match → `UNMAPPED`; two or more distinct parts → `AMBIGUOUS` (both go to quarantine).
//!
//! Scanned codes carry no source: a code that is exactly a part id names that part; otherwise
//! rule 2 applies across every source.

use std::collections::{BTreeSet, HashMap};

/// The result of mapping one SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// It names this part.
    Part(String),
    /// No rule matched.
    Unmapped,
    /// The normalised rule matched several parts (sorted).
    Ambiguous(Vec<String>),
}

impl Mapping {
    /// Quarantine reason code, for the unmappable outcomes.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Mapping::Part(_) => None,
            Mapping::Unmapped => Some("UNMAPPED"),
            Mapping::Ambiguous(_) => Some("AMBIGUOUS"),
        }
    }
}

/// The result of mapping one SKU, borrowed from the index (no allocation on the hot path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingRef<'a> {
    /// It names this part.
    Part(&'a str),
    /// No rule matched.
    Unmapped,
    /// The normalised rule matched several parts (sorted).
    Ambiguous(&'a BTreeSet<String>),
}

impl MappingRef<'_> {
    /// The owned form.
    pub fn to_owned(self) -> Mapping {
        match self {
            MappingRef::Part(p) => Mapping::Part(p.to_owned()),
            MappingRef::Unmapped => Mapping::Unmapped,
            MappingRef::Ambiguous(p) => Mapping::Ambiguous(p.iter().cloned().collect()),
        }
    }
}

/// An in-memory index of the SKU map, built once per stage run. Keyed by source first, so a
/// lookup borrows the caller's text instead of building a key.
#[derive(Debug, Default)]
pub struct SkuIndex {
    exact: HashMap<String, HashMap<String, String>>,
    normalised: HashMap<String, HashMap<String, BTreeSet<String>>>,
    any_source: HashMap<String, BTreeSet<String>>,
    parts: BTreeSet<String>,
}

/// The normal form of a SKU for rule 2.
pub fn normalise(sku: &str) -> String {
    sku.trim().to_uppercase()
}

impl SkuIndex {
    /// Builds the index from `(source, external_sku, part_id)` entries and the known part ids.
    pub fn new<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
        part_ids: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut ix = SkuIndex { parts: part_ids.into_iter().map(str::to_owned).collect(), ..Default::default() };
        for (source, sku, part) in entries {
            ix.exact.entry(source.to_owned()).or_default().insert(sku.to_owned(), part.to_owned());
            ix.normalised
                .entry(source.to_owned())
                .or_default()
                .entry(normalise(sku))
                .or_default()
                .insert(part.to_owned());
            ix.any_source.entry(normalise(sku)).or_default().insert(part.to_owned());
        }
        ix
    }

    /// Maps a source's SKU.
    pub fn resolve(&self, source: &str, sku: &str) -> Mapping {
        self.resolve_ref(source, sku).to_owned()
    }

    /// [`SkuIndex::resolve`] borrowing the answer from the index: allocates only when the exact
    /// rule misses and the SKU has to be normalised.
    pub fn resolve_ref(&self, source: &str, sku: &str) -> MappingRef<'_> {
        if let Some(part) = self.exact.get(source).and_then(|m| m.get(sku)) {
            return MappingRef::Part(part);
        }
        one_of(self.normalised.get(source).and_then(|m| m.get(&normalise(sku))))
    }

    /// Maps a scanned code (no source).
    pub fn resolve_code(&self, code: &str) -> Mapping {
        let code = code.trim();
        if let Some(part) = self.parts.get(code) {
            return Mapping::Part(part.clone());
        }
        one_of(self.any_source.get(&normalise(code))).to_owned()
    }
}

fn one_of(parts: Option<&BTreeSet<String>>) -> MappingRef<'_> {
    match parts {
        None => MappingRef::Unmapped,
        Some(p) if p.len() == 1 => p.iter().next().map_or(MappingRef::Unmapped, |p| MappingRef::Part(p)),
        Some(p) => MappingRef::Ambiguous(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SkuIndex {
        SkuIndex::new(
            [
                ("ERP", "10004711", "BRG-6204"),
                ("WMS", "brg-6204", "BRG-6204"),
                ("WMS", "flt-1", "FLT-A"),
                ("WMS", "FLT-1 ", "FLT-B"),
            ],
            ["BRG-6204", "FLT-A", "FLT-B"],
        )
    }

    #[test]
    fn exact_wins_then_normalised_then_quarantine() {
        let ix = index();
        assert_eq!(ix.resolve("ERP", "10004711"), Mapping::Part("BRG-6204".into()));
        assert_eq!(ix.resolve("WMS", "  BRG-6204"), Mapping::Part("BRG-6204".into()));
        assert_eq!(ix.resolve("ERP", "brg-6204"), Mapping::Unmapped, "the source is matched exactly");
        assert_eq!(ix.resolve("WMS", "flt-1"), Mapping::Part("FLT-A".into()), "an exact entry always wins");
        assert_eq!(ix.resolve("WMS", "Flt-1"), Mapping::Ambiguous(vec!["FLT-A".into(), "FLT-B".into()]));
        assert_eq!(Mapping::Unmapped.code(), Some("UNMAPPED"));
    }

    #[test]
    fn codes_name_parts_or_skus_of_any_source() {
        let ix = index();
        assert_eq!(ix.resolve_code("FLT-A"), Mapping::Part("FLT-A".into()));
        assert_eq!(ix.resolve_code("10004711"), Mapping::Part("BRG-6204".into()));
        assert_eq!(ix.resolve_code("nope"), Mapping::Unmapped);
    }
}
