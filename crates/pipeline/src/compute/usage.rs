//! `compute`'s consumption feed: rows checked and packed on every core, first delivery wins, and
//! each accepted event mapped to its part and summed by the core's [`UsageAccumulator`] — the
//! same window and sum as the store's aggregate in the persisted recompute.

use super::settle::{Keyed, Piece, Tally, key_hash, refused, settle, tally};
use crate::import::reader::read_file_in_pieces;
use crate::import::{ImportError, Location, RowIssue};
use cmms_core::feeds::{ConsumptionRecord, ConsumptionRow};
use cmms_core::mapping::SkuIndex;
use cmms_core::master::RawRow;
use cmms_core::quantity::Quantity;
use cmms_core::thresholds::{Consumption, UsageAccumulator, UsageWindow};
use cmms_core::time::TimeWindow;
use jiff::Timestamp;
use std::path::Path;

/// A checked consumption row: `source`, `event_id` and the SKU are back to back in its piece's
/// text from `start` (key = source and event id).
struct ConsumptionAt {
    hash: u64,
    at: u64,
    start: usize,
    source_len: u8,
    id_len: u8,
    sku_len: u32,
    quantity: Quantity,
    consumed_at: Timestamp,
    part: Option<u32>,
}

impl ConsumptionAt {
    fn sku<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        let from = self.start + usize::from(self.source_len) + usize::from(self.id_len);
        &text[from..from + self.sku_len as usize]
    }
}

impl Keyed for ConsumptionAt {
    fn hash(&self) -> u64 {
        self.hash
    }
    fn at(&self) -> Location {
        Location::unpack(self.at)
    }
    fn key<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        &text[self.start..self.start + usize::from(self.source_len) + usize::from(self.id_len)]
    }
    fn same_content(&self, text: &[u8], other: &Self, other_text: &[u8]) -> bool {
        self.quantity == other.quantity
            && self.consumed_at.as_millisecond() == other.consumed_at.as_millisecond()
            && self.sku(text) == other.sku(other_text)
    }
}

/// Per part (by position in the SKU index): its consumption, summed.
pub(super) type Usage = Vec<UsageAccumulator>;

/// Reads the consumption feed: rejections, duplicates and unmapped events counted, usage summed
/// per part by the rules of `window` (rows with an instant outside `times` are rejected).
pub(super) fn consumption_usage(
    path: Option<&Path>,
    cores: usize,
    index: &SkuIndex,
    window: &UsageWindow,
    times: &TimeWindow,
) -> Result<(Tally, Usage), ImportError> {
    let no_usage = || vec![UsageAccumulator::new(); index.len()];
    read_consumption(
        path,
        cores,
        index,
        times,
        &no_usage,
        &|usage: &mut Usage, part, at, q| usage[part].add(window, at, q),
        &|total: &mut Usage, part: Usage| {
            for (t, p) in total.iter_mut().zip(&part) {
                t.merge(p);
            }
        },
    )
}

/// Per part (by position in the SKU index): its accepted consumption events, in no order.
pub(super) type Events = Vec<Vec<Consumption>>;

/// Reads the consumption feed like [`consumption_usage`], keeping every accepted event per part
/// (for the demand-driven methods and the backtest).
pub(super) fn consumption_events(
    path: Option<&Path>,
    cores: usize,
    index: &SkuIndex,
    times: &TimeWindow,
) -> Result<(Tally, Events), ImportError> {
    let none = || vec![Vec::new(); index.len()];
    read_consumption(
        path,
        cores,
        index,
        times,
        &none,
        &|events: &mut Events, part, at, quantity| events[part].push(Consumption { at, quantity }),
        &|total: &mut Events, part: Events| {
            for (t, p) in total.iter_mut().zip(part) {
                t.extend(p);
            }
        },
    )
}

/// The consumption feed read on `cores` threads, first delivery wins, each accepted and mapped
/// event handed to `add` with its part's position; the threads' accumulators merged by `merge`.
fn read_consumption<A: Send>(
    path: Option<&Path>,
    cores: usize,
    index: &SkuIndex,
    times: &TimeWindow,
    new_acc: &(dyn Fn() -> A + Sync),
    add: &(dyn Fn(&mut A, usize, Timestamp, Quantity) + Sync),
    merge: &dyn Fn(&mut A, A),
) -> Result<(Tally, A), ImportError> {
    let Some(path) = path else { return Ok((Tally::default(), new_acc())) };
    let started = std::time::Instant::now();
    let hasher = foldhash::fast::RandomState::default();
    let row = |piece: &mut Piece<ConsumptionAt>, location: Location, raw: Result<&RawRow<'_>, RowIssue>| {
        let checked = raw.and_then(|r| {
            let row = ConsumptionRow::parse(r).and_then(|row| row.check_times(times).map(|()| row));
            row.map_err(|e| RowIssue::from_field(&location, e))
        });
        let row = match checked {
            Ok(row) => row,
            Err(issue) => return piece.rejected.push(issue),
        };
        let part = index.resolve_position(row.source, row.external_sku).map(|at| at as u32);
        let start = piece.text.len();
        piece.keep(row.source);
        piece.keep(row.event_id);
        piece.keep(row.external_sku);
        piece.push(ConsumptionAt {
            hash: key_hash(&hasher, &[row.source, row.event_id]),
            at: location.pack(),
            start,
            // Ids are at most 64 ASCII characters (checked); a SKU is far below 4 GiB.
            source_len: row.source.len() as u8,
            id_len: row.event_id.len() as u8,
            sku_len: row.external_sku.len() as u32,
            quantity: row.quantity,
            consumed_at: row.consumed_at,
            part,
        });
    };
    let (mut pieces, _) =
        read_file_in_pieces::<ConsumptionRecord, _>(path, cores, &|bytes| Piece::new(bytes, 40), &row)?;
    let refused = refused(&mut pieces);
    tracing::debug!(elapsed = ?started.elapsed(), pieces = pieces.len(), "consumption read and checked");

    let new_settled = || (0u64, 0u64, new_acc());
    let accept = |(accepted, unmapped, acc): &mut (u64, u64, A), r: &ConsumptionAt, _: &[u8]| {
        *accepted += 1;
        match r.part {
            Some(part) => add(acc, part as usize, r.consumed_at, r.quantity),
            None => *unmapped += 1,
        }
    };
    let mut settled = settle(&pieces, cores, &new_settled, &accept);
    let mut total = new_acc();
    let (mut accepted, mut unmapped) = (0, 0);
    for s in &mut settled {
        accepted += s.acc.0;
        unmapped += s.acc.1;
        merge(&mut total, std::mem::replace(&mut s.acc.2, new_acc()));
    }
    tracing::debug!(elapsed = ?started.elapsed(), "consumption deduplicated and summed");
    Ok((tally(refused, &mut settled, accepted, unmapped), total))
}
