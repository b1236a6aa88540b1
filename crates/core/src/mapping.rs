//! External SKU → part mapping, by the deterministic rules of docs/contract.md#sku-mapping.
//!
//! 1. An exact `(source, external_sku)` entry of the SKU map always wins.
//! 2. Otherwise the SKU trimmed and upper-cased is compared with the same source's entries,
//!    normalised the same way: one distinct part → that part.
//! 3. No match → `UNMAPPED`; two or more distinct parts → `AMBIGUOUS` (both go to quarantine).
//!
//! Scanned codes carry no source: a code that is exactly a part id names that part; otherwise
//! rule 2 applies across every source.

use hashbrown::HashTable;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

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

/// A text of the index: where it starts in the index's one text buffer, and its length.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u64,
    len: u32,
}

/// A key of a lookup table and what it names. Exact and per-source keys are the source's number
/// (4 bytes) followed by the SKU's text; keys across sources are the normal form alone.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u64,
    len: u32,
    /// A part's position, or [`MANY`] plus the position of a set in `many`.
    value: u32,
}

/// Marks an entry's value as a set of parts (normal forms naming several parts).
const MANY: u32 = 1 << 31;

/// An in-memory index of the SKU map, built once per stage run and sized for catalogues of
/// hundreds of thousands of SKUs: every text (part ids, SKUs, normal forms) is held once in one
/// buffer and the lookup tables hold 16-byte entries pointing into it, so building the index
/// allocates a few large buffers rather than one per key, and a lookup touches one table slot
/// and the key's text. Parts are named by their position (dense: `0..len`). The index of scanned
/// codes across sources is built only by [`SkuIndex::new`]; [`SkuIndex::for_sources`] leaves it
/// out. A single text longer than 4 GiB is never indexed (identifiers are at most 64
/// characters), so it stays unmapped.
#[derive(Debug, Default)]
pub struct SkuIndex {
    text: Vec<u8>,
    /// Part ids, by position.
    parts: Vec<Span>,
    /// Positions into `parts`, hashed by the part id they name.
    positions: HashTable<u32>,
    /// Source names and their numbers (the first bytes of a per-source key).
    sources: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    /// Rule 1: (source, SKU as delivered) → part.
    exact: HashTable<Entry>,
    /// Rule 2: (source, normal form) → part or parts.
    normalised: HashTable<Entry>,
    /// Scanned codes: normal form, across sources → part or parts.
    any_source: HashTable<Entry>,
    /// The sets of [`MANY`] entries: sorted, distinct, at least two parts each.
    many: Vec<Vec<u32>>,
    hasher: foldhash::fast::RandomState,
    codes: bool,
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
    /// pages, so that the map's rows are never all held at once besides the index). The first
    /// entry of a `(source, external_sku)` wins: `false` when it was entered before (the index
    /// is unchanged), as the store's unique key keeps the first.
    pub fn add(&mut self, source: &str, sku: &str, part: &str) -> bool {
        let next = self.sources.len() as u32;
        let source = match self.sources.get(source) {
            Some(&number) => number,
            None => *self.sources.entry(source.into()).or_insert(next),
        };
        let hash = key_hash(&self.hasher, Some(source), sku.as_bytes());
        if self.exact.find(hash, |e| same(&self.text, e, Some(source), sku.as_bytes())).is_some() {
            return false;
        }
        let Some(at) = self.intern(part) else { return true };
        let norm = normalise(sku);
        let stored = self.upsert(Rule::Exact, Some(source), sku, None, at);
        // A SKU in normal form shares its text with its normal form's key.
        let reuse = stored.filter(|_| norm == sku);
        let stored = self.upsert(Rule::Normalised, Some(source), &norm, reuse, at).or(reuse);
        if self.codes {
            // Across sources: the same text without the source's number.
            let reuse = stored.map(|s| Span { start: s.start + 4, len: s.len - 4 });
            self.upsert(Rule::AnySource, None, &norm, reuse, at);
        }
        true
    }

    /// Enters part `at` under a key of a rule's table: a new key names it, a normal form already
    /// there adds it to the parts it names (an exact key already there keeps its first part).
    /// Returns where a new key's text was stored (`reuse`, or a new copy), `None` when the key
    /// was there already.
    fn upsert(&mut self, rule: Rule, source: Option<u32>, key: &str, reuse: Option<Span>, at: u32) -> Option<Span> {
        let hash = key_hash(&self.hasher, source, key.as_bytes());
        let (text, many, hasher) = (&mut self.text, &mut self.many, &self.hasher);
        let table = match rule {
            Rule::Exact => &mut self.exact,
            Rule::Normalised => &mut self.normalised,
            Rule::AnySource => &mut self.any_source,
        };
        if let Some(e) = table.find_mut(hash, |e| same(text, e, source, key.as_bytes())) {
            if rule == Rule::Exact {
                return None;
            }
            if e.value & MANY != 0 {
                let set = &mut many[(e.value & !MANY) as usize];
                if let Err(i) = set.binary_search(&at) {
                    set.insert(i, at);
                }
            } else if e.value != at {
                let mut set = vec![e.value, at];
                set.sort_unstable();
                e.value = MANY | many.len() as u32;
                many.push(set);
            }
            return None;
        }
        let span = match reuse {
            Some(span) => span,
            None => push_key(text, source, key)?,
        };
        let with_source = source.is_some();
        table.insert_unique(hash, Entry { key: span.start, len: span.len, value: at }, |e| {
            rehash(hasher, text, e, with_source)
        });
        Some(span)
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
        let hash = self.hasher.hash_one(part.as_bytes());
        self.positions.find(hash, |&at| self.part_bytes(at) == part.as_bytes()).map(|&at| at as usize)
    }

    /// The part id at a position.
    fn part(&self, at: u32) -> &str {
        // Spans of parts hold whole `&str`s, so this never fails.
        std::str::from_utf8(self.part_bytes(at)).unwrap_or_default()
    }

    fn part_bytes(&self, at: u32) -> &[u8] {
        let span = self.parts[at as usize];
        &self.text[span.start as usize..][..span.len as usize]
    }

    fn intern(&mut self, part: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(part.as_bytes());
        if let Some(&at) = self.positions.find(hash, |&at| self.part_bytes(at) == part.as_bytes()) {
            return Some(at);
        }
        // Positions at and above MANY would read as sets (two billion parts never fit anyway).
        let at = u32::try_from(self.parts.len()).ok().filter(|&at| at < MANY)?;
        let span = push_key(&mut self.text, None, part)?;
        self.parts.push(span);
        let (parts, text, hasher) = (&self.parts, &self.text, &self.hasher);
        self.positions.insert_unique(hash, at, |&at| {
            let s = parts[at as usize];
            hasher.hash_one(&text[s.start as usize..][..s.len as usize])
        });
        Some(at)
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
            return Mapping::Part(self.part(at as u32).to_owned());
        }
        self.owned(self.find(&self.any_source, None, normalise(code).as_bytes()))
    }

    /// What `table` holds for a key.
    fn find(&self, table: &HashTable<Entry>, source: Option<u32>, key: &[u8]) -> Found<'_> {
        let hash = key_hash(&self.hasher, source, key);
        match table.find(hash, |e| same(&self.text, e, source, key)) {
            None => Found::None,
            Some(e) if e.value & MANY != 0 => Found::Many(&self.many[(e.value & !MANY) as usize]),
            Some(e) => Found::One(e.value),
        }
    }

    fn lookup(&self, source: &str, sku: &str) -> Found<'_> {
        let Some(&source) = self.sources.get(source) else { return Found::None };
        if let found @ Found::One(_) = self.find(&self.exact, Some(source), sku.as_bytes()) {
            return found;
        }
        // Most SKUs are short ASCII: normalise those on the stack (the same text as `normalise`).
        let trimmed = sku.trim();
        let mut buf = [0u8; 64];
        if trimmed.is_ascii() && trimmed.len() <= buf.len() {
            let key = &mut buf[..trimmed.len()];
            key.copy_from_slice(trimmed.as_bytes());
            key.make_ascii_uppercase();
            return self.find(&self.normalised, Some(source), key);
        }
        self.find(&self.normalised, Some(source), normalise(sku).as_bytes())
    }

    fn owned(&self, found: Found<'_>) -> Mapping {
        match found {
            Found::One(at) => Mapping::Part(self.part(at).to_owned()),
            Found::None => Mapping::Unmapped,
            Found::Many(set) => {
                let mut parts: Vec<String> = set.iter().map(|&at| self.part(at).to_owned()).collect();
                parts.sort_unstable();
                Mapping::Ambiguous(parts)
            }
        }
    }
}

/// The three lookup tables of the mapping rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Exact,
    Normalised,
    AnySource,
}

/// Appends a key's text (the source's number first, if any); `None` for a text over 4 GiB.
fn push_key(text: &mut Vec<u8>, source: Option<u32>, key: &str) -> Option<Span> {
    let start = text.len() as u64;
    let len = u32::try_from(key.len() + if source.is_some() { 4 } else { 0 }).ok()?;
    if let Some(s) = source {
        text.extend_from_slice(&s.to_le_bytes());
    }
    text.extend_from_slice(key.as_bytes());
    Some(Span { start, len })
}

/// The hash of a key: the source's number (if any), then the text.
fn key_hash(hasher: &foldhash::fast::RandomState, source: Option<u32>, key: &[u8]) -> u64 {
    let mut h = hasher.build_hasher();
    if let Some(s) = source {
        h.write_u32(s);
    }
    h.write(key);
    h.finish()
}

/// The hash of a stored entry (of a table whose keys carry a source number or not).
fn rehash(hasher: &foldhash::fast::RandomState, text: &[u8], e: &Entry, with_source: bool) -> u64 {
    let bytes = &text[e.key as usize..][..e.len as usize];
    match bytes.split_first_chunk::<4>() {
        Some((s, key)) if with_source => key_hash(hasher, Some(u32::from_le_bytes(*s)), key),
        _ => key_hash(hasher, None, bytes),
    }
}

/// Whether a stored entry is the key (`source`, `key`).
fn same(text: &[u8], e: &Entry, source: Option<u32>, key: &[u8]) -> bool {
    let bytes = &text[e.key as usize..][..e.len as usize];
    match source {
        Some(s) => bytes.len() == key.len() + 4 && bytes[..4] == s.to_le_bytes() && &bytes[4..] == key,
        None => bytes == key,
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

    #[test]
    fn one_text_serves_the_rules_and_repeated_entries_add_nothing() {
        let mut ix = SkuIndex::for_sources();
        assert!(ix.add("WMS", "FLT-1", "FLT-A"));
        let stored = ix.text.len();
        assert!(!ix.add("WMS", "FLT-1", "FLT-B"), "the first entry of a key wins");
        assert_eq!(ix.text.len(), stored, "an entry added again stores no text");
        assert!(ix.add("WMS", "flt-1", "FLT-B"));
        assert_eq!(ix.resolve("WMS", "flt-1"), Mapping::Part("FLT-B".into()));
        assert_eq!(ix.resolve("WMS", "FLT-1"), Mapping::Part("FLT-A".into()));
        assert_eq!(ix.resolve("WMS", "Flt-1"), Mapping::Ambiguous(vec!["FLT-A".into(), "FLT-B".into()]));
        assert!(!ix.add("WMS", "flt-1", "FLT-A"));
        assert_eq!(ix.resolve("WMS", "flt-1"), Mapping::Part("FLT-B".into()), "the first exact entry wins");
        assert_eq!(ix.resolve("ERP", "FLT-1"), Mapping::Unmapped, "another source");
        assert_eq!(ix.resolve_code("FLT-1"), Mapping::Unmapped, "no codes across sources in a source index");
    }

    #[test]
    fn many_parts_and_sources_resolve_after_the_tables_grow() {
        let skus: Vec<(String, String, String)> =
            (0..5000).map(|i| (format!("S{}", i % 7), format!("sku-{i}"), format!("P{}", i / 2))).collect();
        let ix = SkuIndex::new(skus.iter().map(|(s, k, p)| (s.as_str(), k.as_str(), p.as_str())), []);
        assert_eq!(ix.len(), 2500);
        for (s, k, p) in &skus {
            assert_eq!(ix.resolve(s, k), Mapping::Part(p.clone()));
            assert_eq!(ix.resolve(s, &k.to_uppercase()), Mapping::Part(p.clone()));
            assert_eq!(ix.resolve_code(k), Mapping::Part(p.clone()));
        }
        assert_eq!(ix.position("P1249").map(|at| ix.part(at as u32)), Some("P1249"));
    }

    /// The rules of docs/contract.md#sku-mapping written plainly, over the first entry of each
    /// `(source, external_sku)` (a later one is refused, as by the store's unique key).
    fn by_the_rules(entries: &[(String, String, String)], source: &str, sku: &str) -> Mapping {
        let entries: Vec<&(String, String, String)> = entries
            .iter()
            .enumerate()
            .filter(|(i, (s, k, _))| !entries[..*i].iter().any(|(s2, k2, _)| s2 == s && k2 == k))
            .map(|(_, e)| e)
            .collect();
        let exact = entries.iter().find(|(s, k, _)| s == source && k == sku);
        if let Some((_, _, p)) = exact {
            return Mapping::Part(p.clone());
        }
        let mut parts: Vec<String> = entries
            .iter()
            .filter(|(s, k, _)| s == source && normalise(k) == normalise(sku))
            .map(|(_, _, p)| p.clone())
            .collect();
        parts.sort_unstable();
        parts.dedup();
        match parts.len() {
            0 => Mapping::Unmapped,
            1 => Mapping::Part(parts.remove(0)),
            _ => Mapping::Ambiguous(parts),
        }
    }

    proptest::proptest! {
        #[test]
        fn the_index_resolves_as_the_rules_say(
            entries in proptest::collection::vec(("[AB]", " ?[a-cA-C]{1,2} ?", "P[0-3]"), 0..40),
            probes in proptest::collection::vec(("[ABC]", " ?[a-cA-C]{1,2} ?"), 1..20),
        ) {
            let ix = SkuIndex::new(entries.iter().map(|(s, k, p)| (s.as_str(), k.as_str(), p.as_str())), []);
            for (source, sku) in &probes {
                proptest::prop_assert_eq!(ix.resolve(source, sku), by_the_rules(&entries, source, sku));
            }
        }
    }
}
