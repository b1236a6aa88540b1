//! First delivery wins, for `compute`'s big feeds: the checked rows of a feed's pieces are spread
//! over partitions by key hash, and each partition is settled on one of several threads — the
//! first copy of a key is accepted, identical re-deliveries are counted, others are conflicts.

use super::MAX_ISSUES;
use crate::import::reader::join;
use crate::import::{Location, RowIssue};

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
/// settled partition by partition: on several threads, each with a table that fits in cache.
pub(super) const PARTITIONS: usize = 256;

/// The rows of one piece of a feed that passed the row checks, by partition and in file order
/// within each, their text kept in one buffer.
pub(super) struct Piece<Row> {
    pub(super) text: Vec<u8>,
    pub(super) partitions: Vec<Vec<Row>>,
    pub(super) rejected: Rejections,
}

impl<Row> Piece<Row> {
    /// An empty piece sized for `bytes` of CSV with rows of about `row_bytes` each.
    pub(super) fn new(bytes: usize, row_bytes: usize) -> Self {
        let rows = bytes / row_bytes + 1;
        Self {
            text: Vec::with_capacity(bytes / 2),
            partitions: (0..PARTITIONS).map(|_| Vec::with_capacity(rows / PARTITIONS * 9 / 8)).collect(),
            rejected: Rejections::default(),
        }
    }

    /// Appends `s` to the text.
    pub(super) fn keep(&mut self, s: &str) {
        self.text.extend_from_slice(s.as_bytes());
    }

    pub(super) fn push(&mut self, row: Row)
    where
        Row: Keyed,
    {
        self.partitions[(row.hash() >> 56) as usize % PARTITIONS].push(row);
    }
}

/// A feed row as first-delivery-wins sees it: its key and what a re-delivery must repeat.
pub(super) trait Keyed {
    /// The key's hash (equal keys, equal hashes, across pieces).
    fn hash(&self) -> u64;
    /// Where the row is (for a conflict's report).
    fn at(&self) -> Location;
    /// The key, from the row's piece text.
    fn key<'t>(&self, text: &'t [u8]) -> &'t [u8];
    /// Whether `other` carries the same values (both with their piece texts).
    fn same_content(&self, text: &[u8], other: &Self, other_text: &[u8]) -> bool;
}

/// What settling gives per thread: its accumulator, the duplicates it ignored, the conflicts.
pub(super) struct Settled<A> {
    pub(super) acc: A,
    pub(super) duplicates: u64,
    pub(super) conflicts: Rejections,
}

/// First delivery wins across all `pieces` (in file order): `accept` sees each first delivery
/// exactly once, on one of `threads` threads, each with its own accumulator from `new_acc`.
pub(super) fn settle<'p, Row: Keyed + Sync, A: Send>(
    pieces: &'p [Piece<Row>],
    threads: usize,
    new_acc: &(dyn Fn() -> A + Sync),
    accept: &(dyn Fn(&mut A, &'p Row, &'p [u8]) + Sync),
) -> Vec<Settled<A>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut out = Settled { acc: new_acc(), duplicates: 0, conflicts: Rejections::default() };
        let mut table: hashbrown::HashTable<(u32, u32)> = hashbrown::HashTable::new();
        loop {
            let p = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if p >= PARTITIONS {
                return out;
            }
            table.clear();
            let row_at = |(k, i): (u32, u32)| (&pieces[k as usize].partitions[p][i as usize], &pieces[k as usize].text);
            for (k, piece) in pieces.iter().enumerate() {
                for (i, row) in piece.partitions[p].iter().enumerate() {
                    let key = row.key(&piece.text);
                    let first = table.find(row.hash(), |&at| {
                        let (other, text) = row_at(at);
                        other.hash() == row.hash() && other.key(text) == key
                    });
                    match first {
                        None => {
                            table.insert_unique(row.hash(), (k as u32, i as u32), |&at| row_at(at).0.hash());
                            accept(&mut out.acc, row, &piece.text);
                        }
                        Some(&at) => {
                            let (other, text) = row_at(at);
                            if other.same_content(text, row, &piece.text) {
                                out.duplicates += 1;
                            } else {
                                out.conflicts.push(RowIssue::row(row.at(), CONFLICT));
                            }
                        }
                    }
                }
            }
        }
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1)).map(|_| s.spawn(work)).collect();
        handles.into_iter().map(join).collect()
    })
}

/// The rows the pieces refused, taken out of them.
pub(super) fn refused<Row>(pieces: &mut [Piece<Row>]) -> Rejections {
    pieces.iter_mut().fold(Rejections::default(), |all, p| all.merge(std::mem::take(&mut p.rejected)))
}

/// Sums up what settling counted, with the rows the pieces refused.
pub(super) fn tally<A>(refused: Rejections, settled: &mut [Settled<A>], accepted: u64, unmapped: u64) -> Tally {
    let duplicates = settled.iter().map(|s| s.duplicates).sum();
    let rejected = settled.iter_mut().fold(refused, |all, s| all.merge(std::mem::take(&mut s.conflicts)));
    Tally { accepted, duplicates, unmapped, rejected }
}

/// The key hash of a row: the same hasher for every piece (keys hash alike on every thread).
pub(super) fn key_hash(hasher: &foldhash::fast::RandomState, parts: &[&str]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = hasher.build_hasher();
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}
