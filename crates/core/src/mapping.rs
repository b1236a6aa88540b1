//! External SKU → part mapping, by the deterministic rules of docs/contract.md#sku-mapping.
//!
//! 1. An exact `(source, external_sku)` entry of the SKU map always wins.
//! 2. Otherwise the SKU trimmed and upper-cased is compared with the same source's entries,
//!    normalised the same way: one distinct part → that part.
//! 3. No match → `UNMAPPED`; two or more distinct parts → `AMBIGUOUS` (both go to quarantine).
//!
//! Scanned codes carry no source: a code that is exactly a part id names that part; otherwise
//! rule 2 applies across every source.

use std::collections::HashMap;
use std::hash::BuildHasher;

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

/// Hash maps of the index: lookups run once per delivered event, so a fast hash pays (the keys
/// are the operator's own SKU map, not hostile input).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// An in-memory index of the SKU map, built once per stage run. Parts are held once and named
/// by their position (dense: `0..len`); the maps are keyed by source first, so a lookup borrows
/// the caller's text instead of building a key.
///
/// Sized for catalogues of hundreds of thousands of SKUs: keys are boxed text and a normal form
/// names its one part inline (a set only when several parts share it). The index of scanned codes
/// across sources is built only by [`SkuIndex::new`]; [`SkuIndex::for_sources`] leaves it out.
#[derive(Debug, Default)]
pub struct SkuIndex {
    parts: Vec<String>,
    /// Positions into `parts`, hashed by the part id they name (no second copy of each id).
    positions: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    exact: FastMap<String, FastMap<Box<str>, u32>>,
    normalised: FastMap<String, FastMap<Box<str>, PartSet>>,
    any_source: FastMap<Box<str>, PartSet>,
    codes: bool,
}

/// The distinct parts (positions) a normal form names: usually one.
#[derive(Debug, Clone)]
enum PartSet {
    One(u32),
    /// Sorted, distinct, at least two.
    Many(Vec<u32>),
}

impl PartSet {
    fn insert(&mut self, at: u32) {
        match self {
            PartSet::One(one) if *one == at => {}
            PartSet::One(one) => {
                let mut many = vec![*one, at];
                many.sort_unstable();
                *self = PartSet::Many(many);
            }
            PartSet::Many(many) => {
                if let Err(i) = many.binary_search(&at) {
                    many.insert(i, at);
                }
            }
        }
    }
}

/// The normal form of a SKU for rule 2.
pub fn normalise(sku: &str) -> String {
    sku.trim().to_uppercase()
}

/// What a lookup found: one part, none, or several (positions).
enum Found<'a> {
    One(u32),
    None,
    Many(&'a [u32]),
}

impl SkuIndex {
    /// Builds the index from `(source, external_sku, part_id)` entries and the known part ids
    /// (the latter let a scanned code that is exactly a part id resolve).
    pub fn new<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
        part_ids: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut ix = SkuIndex { codes: true, ..SkuIndex::default() };
        for part in part_ids {
            ix.intern(part);
        }
        for (source, sku, part) in entries {
            ix.add(source, sku, part);
        }
        ix
    }

    /// An empty index for SKUs of a source only (no part ids, no codes across sources), to be
    /// filled with [`SkuIndex::add`].
    pub fn for_sources() -> Self {
        SkuIndex::default()
    }

    /// Adds one `(source, external_sku, part_id)` entry of the SKU map (for an index read in
    /// pages, so that the map's rows are never all held at once besides the index).
    pub fn add(&mut self, source: &str, sku: &str, part: &str) {
        let at = self.intern(part);
        let norm = normalise(sku);
        if !self.exact.contains_key(source) {
            self.exact.insert(source.to_owned(), FastMap::default());
            self.normalised.insert(source.to_owned(), FastMap::default());
        }
        if let Some(m) = self.exact.get_mut(source) {
            m.insert(sku.into(), at);
        }
        if self.codes {
            add_part(&mut self.any_source, &norm, at);
        }
        if let Some(m) = self.normalised.get_mut(source) {
            add_part(m, &norm, at);
        }
    }

    /// Maps a source's SKU.
    pub fn resolve(&self, source: &str, sku: &str) -> Mapping {
        self.owned(self.lookup(source, sku))
    }

    /// The position of the one part a source's SKU maps to (None: unmapped or ambiguous), as
    /// [`SkuIndex::resolve`] decides; allocates only when the exact rule misses.
    pub fn resolve_position(&self, source: &str, sku: &str) -> Option<usize> {
        match self.lookup(source, sku) {
            Found::One(at) => Some(at as usize),
            Found::None | Found::Many(_) => None,
        }
    }

    /// The position of a part id among the index's parts.
    pub fn position(&self, part: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(part);
        self.positions.find(hash, |&at| self.parts[at as usize] == part).map(|&at| at as usize)
    }

    fn intern(&mut self, part: &str) -> u32 {
        let hash = self.hasher.hash_one(part);
        if let Some(&at) = self.positions.find(hash, |&at| self.parts[at as usize] == part) {
            return at;
        }
        let at = self.parts.len() as u32;
        self.parts.push(part.to_owned());
        let (parts, hasher) = (&self.parts, &self.hasher);
        self.positions.insert_unique(hash, at, |&at| hasher.hash_one(parts[at as usize].as_str()));
        at
    }

    /// How many parts the index holds (positions are `0..len`).
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether the index holds no part.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Maps a scanned code (no source).
    pub fn resolve_code(&self, code: &str) -> Mapping {
        let code = code.trim();
        if let Some(at) = self.position(code) {
            return Mapping::Part(self.parts[at].clone());
        }
        self.owned(one_of(self.any_source.get(normalise(code).as_str())))
    }

    fn lookup(&self, source: &str, sku: &str) -> Found<'_> {
        let Some(exact) = self.exact.get(source) else { return Found::None };
        if let Some(&at) = exact.get(sku) {
            return Found::One(at);
        }
        let normalised = self.normalised.get(source);
        // Most SKUs are short ASCII: normalise those on the stack (the same text as `normalise`).
        let trimmed = sku.trim();
        let mut buf = [0u8; 64];
        if trimmed.is_ascii() && trimmed.len() <= buf.len() {
            let key = &mut buf[..trimmed.len()];
            key.copy_from_slice(trimmed.as_bytes());
            key.make_ascii_uppercase();
            let key = std::str::from_utf8(key).unwrap_or_default();
            return one_of(normalised.and_then(|m| m.get(key)));
        }
        one_of(normalised.and_then(|m| m.get(normalise(sku).as_str())))
    }

    fn owned(&self, found: Found<'_>) -> Mapping {
        match found {
            Found::One(at) => Mapping::Part(self.parts[at as usize].clone()),
            Found::None => Mapping::Unmapped,
            Found::Many(set) => {
                let mut parts: Vec<String> = set.iter().map(|&at| self.parts[at as usize].clone()).collect();
                parts.sort_unstable();
                Mapping::Ambiguous(parts)
            }
        }
    }
}

fn add_part(map: &mut FastMap<Box<str>, PartSet>, norm: &str, at: u32) {
    match map.get_mut(norm) {
        Some(set) => set.insert(at),
        None => {
            map.insert(norm.into(), PartSet::One(at));
        }
    }
}

fn one_of(parts: Option<&PartSet>) -> Found<'_> {
    match parts {
        None => Found::None,
        Some(PartSet::One(at)) => Found::One(*at),
        Some(PartSet::Many(p)) => Found::Many(p),
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

    #[test]
    fn long_and_non_ascii_skus_normalise_like_short_ones() {
        let long = "x".repeat(70);
        let ix = SkuIndex::new([("WMS", long.as_str(), "L"), ("WMS", "straße", "S")], []);
        assert_eq!(ix.resolve("WMS", &format!(" {} ", long.to_uppercase())), Mapping::Part("L".into()));
        assert_eq!(ix.resolve("WMS", "STRASSE"), Mapping::Part("S".into()), "ß upper-cases to SS");
        assert_eq!(normalise("straße"), "STRASSE");
    }

    #[test]
    fn positions_are_dense_and_stable() {
        let ix = index();
        assert_eq!((ix.len(), ix.position("FLT-A"), ix.position("nope")), (3, Some(1), None));
        assert_eq!(ix.resolve_position("WMS", " brg-6204"), Some(0));
        assert_eq!(ix.resolve_position("WMS", "Flt-1"), None, "ambiguous");
        assert_eq!(ix.resolve_position("ERP", "brg-6204"), None, "unmapped");
    }
}
