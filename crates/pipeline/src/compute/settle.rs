//! First delivery wins, for `compute`'s big feeds, in memory that follows the number of distinct
//! events rather than the file: the feed is read block by block, the checked rows of a block are
//! spread over partitions by key hash, and each partition is settled against what earlier blocks
//! accepted — the first copy of a key is accepted, identical re-deliveries are counted, others are
//! conflicts. Partitions are settled on several threads, each owning a fixed share of them.
//!
//! A key is remembered by its 128-bit fingerprint (two independently seeded hashes), not its
//! text: two distinct keys of a file of millions of events share one with a chance far below one
//! in 10^20 — the bounded-memory rule of the imports' master-data duplicate check. What a
//! re-delivery must repeat is remembered as a 64-bit hash of its values: it decides only whether
//! a repeated key counts as a duplicate or as a conflict, never which copy counts.

use super::MAX_ISSUES;
use crate::import::reader::join;
use crate::import::{Location, RowIssue};
use foldhash::SharedSeed;
use foldhash::quality::SeedableRandomState;
use std::hash::{BuildHasher, Hasher};

/// A kind's rejected rows: how many, and the first [`MAX_ISSUES`] in file order.
#[derive(Debug, Default)]
pub(super) struct Rejections {
    pub(super) count: u64,
    pub(super) first: Vec<RowIssue>,
}

impl Rejections {
    pub(super) fn push(&mut self, issue: RowIssue) {
        self.count += 1;
        if self.first.len() < MAX_ISSUES {
            self.first.push(issue);
        }
    }

    /// Both sets, the first ones still in file order.
    pub(super) fn merge(mut self, other: Rejections) -> Rejections {
        self.count += other.count;
        self.first.extend(other.first);
        self.first.sort_by(|a, b| a.location.cmp(&b.location));
        self.first.truncate(MAX_ISSUES);
        self
    }
}

/// What settling a feed counted.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) accepted: u64,
    pub(super) duplicates: u64,
    pub(super) unmapped: u64,
    pub(super) rejected: Rejections,
}

/// The reason of a re-delivery whose values differ from its first copy.
pub(super) const CONFLICT: &str = "DUPLICATE_CONFLICT: a first copy with other values wins";

/// Rows are spread over this many partitions by key hash, so that first-delivery-wins can be
/// settled partition by partition on several threads, each with tables of its own.
pub(super) const PARTITIONS: usize = 256;

/// A feed's bytes per block: what is held of the file at a time (plus its rows, parsed).
pub(super) const BLOCK_BYTES: usize = 16 << 20;

/// A row's key and values as first-delivery-wins remembers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Seen {
    /// The key's fingerprint (`key[0]` also picks the partition).
    key: [u64; 2],
    /// A hash of the values a re-delivery must repeat.
    content: u64,
}

static KEY_SEEDS: [SharedSeed; 2] =
    [SharedSeed::from_u64(0x636d_6d73_6b65_7931), SharedSeed::from_u64(0x636d_6d73_6b65_7932)];

/// Fingerprints a row: `key` the fields of its key, `content` writes what a re-delivery repeats.
pub(super) fn seen(key: &[&str], content: impl FnOnce(&mut dyn Hasher)) -> Seen {
    let hash = |seed: &'static SharedSeed| {
        let mut h = SeedableRandomState::with_seed(0, seed).build_hasher();
        for k in key {
            h.write(k.as_bytes());
            h.write_u8(0xff);
        }
        h.finish()
    };
    let mut c = SeedableRandomState::with_seed(1, &KEY_SEEDS[0]).build_hasher();
    content(&mut c);
    Seen { key: [hash(&KEY_SEEDS[0]), hash(&KEY_SEEDS[1])], content: c.finish() }
}

impl Seen {
    fn partition(&self) -> usize {
        (self.key[0] >> 56) as usize % PARTITIONS
    }
}

/// The rows of one piece of a block that passed the row checks, by partition and in file order
/// within each, with the text some of them keep (an event id) in one buffer.
pub(super) struct Piece<Row> {
    pub(super) text: Vec<u8>,
    pub(super) partitions: Vec<Vec<Row>>,
    pub(super) rejected: Rejections,
}

impl<Row: Keyed> Piece<Row> {
    /// An empty piece sized for `bytes` of CSV with rows of about `row_bytes` each.
    pub(super) fn new(bytes: usize, row_bytes: usize) -> Self {
        let rows = bytes / row_bytes + 1;
        Self {
            text: Vec::new(),
            partitions: (0..PARTITIONS).map(|_| Vec::with_capacity(rows / PARTITIONS * 9 / 8)).collect(),
            rejected: Rejections::default(),
        }
    }

    /// Appends `s` to the text; returns where it starts.
    pub(super) fn keep(&mut self, s: &str) -> usize {
        let at = self.text.len();
        self.text.extend_from_slice(s.as_bytes());
        at
    }

    pub(super) fn push(&mut self, row: Row) {
        self.partitions[row.seen().partition()].push(row);
    }
}

/// A feed row as first-delivery-wins sees it.
pub(super) trait Keyed {
    /// Its key and values.
    fn seen(&self) -> &Seen;
    /// Where the row is (for a conflict's report).
    fn at(&self) -> Location;
}

/// What settling gives per thread: its accumulator, the duplicates it ignored, the conflicts.
pub(super) struct Settled<A> {
    pub(super) acc: A,
    pub(super) duplicates: u64,
    pub(super) conflicts: Rejections,
}

/// First delivery wins across the blocks of a feed: the keys accepted so far, per partition,
/// and per thread what it accepted.
pub(super) struct FirstWins<A> {
    tables: Vec<hashbrown::HashTable<Seen>>,
    pub(super) settled: Vec<Settled<A>>,
}

impl<A: Send> FirstWins<A> {
    /// Nothing seen yet; settles on `threads` threads, each with its accumulator from `new_acc`.
    pub(super) fn new(threads: usize, new_acc: &dyn Fn() -> A) -> Self {
        let threads = threads.clamp(1, PARTITIONS);
        Self {
            tables: (0..PARTITIONS).map(|_| hashbrown::HashTable::new()).collect(),
            settled: (0..threads)
                .map(|_| Settled { acc: new_acc(), duplicates: 0, conflicts: Rejections::default() })
                .collect(),
        }
    }

    /// Settles a block's `pieces` (in file order) against every block before: `accept` sees each
    /// first delivery exactly once, with its piece's text, on the thread that owns its partition.
    pub(super) fn settle<Row: Keyed + Sync>(
        &mut self,
        pieces: &[Piece<Row>],
        accept: &(dyn Fn(&mut A, &Row, &[u8]) + Sync),
    ) {
        let share = PARTITIONS.div_ceil(self.settled.len());
        let work = |first: usize, tables: &mut [hashbrown::HashTable<Seen>], out: &mut Settled<A>| {
            for (p, table) in (first..).zip(tables.iter_mut()) {
                for piece in pieces {
                    for row in &piece.partitions[p] {
                        let s = row.seen();
                        match table.entry(s.key[1], |t| t.key == s.key, |t| t.key[1]) {
                            hashbrown::hash_table::Entry::Vacant(v) => {
                                v.insert(*s);
                                accept(&mut out.acc, row, &piece.text);
                            }
                            hashbrown::hash_table::Entry::Occupied(o) if o.get().content == s.content => {
                                out.duplicates += 1;
                            }
                            hashbrown::hash_table::Entry::Occupied(_) => {
                                out.conflicts.push(RowIssue::row(row.at(), CONFLICT));
                            }
                        }
                    }
                }
            }
        };
        if self.settled.len() == 1 {
            return work(0, &mut self.tables, &mut self.settled[0]);
        }
        std::thread::scope(|s| {
            let handles: Vec<_> = self
                .tables
                .chunks_mut(share)
                .zip(self.settled.iter_mut())
                .enumerate()
                .map(|(t, (tables, out))| s.spawn(move || work(t * share, tables, out)))
                .collect();
            handles.into_iter().for_each(join);
        });
    }

    /// The accumulators and the tally (with the rows the pieces refused, `refused`); the keys
    /// seen are dropped.
    pub(super) fn finish(self, refused: Rejections, accepted: u64, unmapped: u64) -> (Tally, Vec<A>) {
        let duplicates = self.settled.iter().map(|s| s.duplicates).sum();
        let mut accs = Vec::with_capacity(self.settled.len());
        let mut rejected = refused;
        for s in self.settled {
            rejected = rejected.merge(s.conflicts);
            accs.push(s.acc);
        }
        (Tally { accepted, duplicates, unmapped, rejected }, accs)
    }
}

/// The rows the pieces refused, taken out of them.
pub(super) fn refused<Row>(pieces: &mut [Piece<Row>]) -> Rejections {
    pieces.iter_mut().fold(Rejections::default(), |all, p| all.merge(std::mem::take(&mut p.rejected)))
}
