//! `compute`'s consumption feed: rows checked and packed on every core, first delivery wins, and
//! each accepted event mapped to its part and summed by the core's [`UsageAccumulator`] — the
//! same window and sum as the store's aggregate in the persisted recompute.

use super::settle::{BLOCK_BYTES, FirstWins, Keyed, Piece, Rejections, Seen, Tally, refused, seen};
use crate::import::reader::read_file_in_blocks;
use crate::import::{ImportError, Location, RowIssue};
use cmms_core::feeds::{ConsumptionRecord, ConsumptionRow};
use cmms_core::mapping::SkuIndex;
use cmms_core::master::RawRow;
use cmms_core::quantity::Quantity;
use cmms_core::thresholds::{Consumption, UsageAccumulator, UsageWindow};
use cmms_core::time::{TimeWindow, to_epoch_ms};
use jiff::Timestamp;
use std::path::Path;

/// A checked consumption row (key = source and event id; a re-delivery repeats the SKU, the
/// quantity and the instant to the millisecond).
struct ConsumptionAt {
    seen: Seen,
    at: u64,
    quantity: Quantity,
    consumed_at: Timestamp,
    /// The part's position in the SKU index, or [`UNMAPPED`].
    part: u32,
}

/// The `part` of an event whose SKU does not map to one part.
const UNMAPPED: u32 = u32::MAX;

impl Keyed for ConsumptionAt {
    fn seen(&self) -> &Seen {
        &self.seen
    }
    fn at(&self) -> Location {
        Location::unpack(self.at)
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

/// The consumption feed read on `cores` threads, block by block, first delivery wins, each
/// accepted and mapped event handed to `add` with its part's position; the threads' accumulators
/// merged by `merge`.
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
    let row = |piece: &mut Piece<ConsumptionAt>, location: Location, raw: Result<&RawRow<'_>, RowIssue>| {
        let checked = raw.and_then(|r| {
            let row = ConsumptionRow::parse(r).and_then(|row| row.check_times(times).map(|()| row));
            row.map_err(|e| RowIssue::from_field(&location, e))
        });
        let row = match checked {
            Ok(row) => row,
            Err(issue) => return piece.rejected.push(issue),
        };
        let part = index.resolve_position(row.source, row.external_sku).map_or(UNMAPPED, |at| at as u32);
        let seen = seen(&[row.source, row.event_id], |h| {
            // Equal quantities hash alike (0.0 and -0.0 too), as they compare.
            let q = row.quantity.get();
            h.write_u64(if q == 0.0 { 0 } else { q.to_bits() });
            h.write_i64(to_epoch_ms(row.consumed_at));
            h.write(row.external_sku.as_bytes());
        });
        piece.push(ConsumptionAt {
            seen,
            at: location.pack(),
            quantity: row.quantity,
            consumed_at: row.consumed_at,
            part,
        });
    };
    /// Per thread: events accepted, events unmapped, the accumulator.
    type Acc<A> = (u64, u64, A);
    let new_settled = || (0u64, 0u64, new_acc());
    let mut first_wins: FirstWins<Acc<A>> = FirstWins::new(cores, &new_settled);
    let accept = |(accepted, unmapped, acc): &mut Acc<A>, r: &ConsumptionAt, _: &[u8]| {
        *accepted += 1;
        match r.part {
            UNMAPPED => *unmapped += 1,
            part => add(acc, part as usize, r.consumed_at, r.quantity),
        }
    };
    let mut rejected = Rejections::default();
    let mut block = |mut pieces: Vec<Piece<ConsumptionAt>>| {
        rejected = std::mem::take(&mut rejected).merge(refused(&mut pieces));
        first_wins.settle(&pieces, &accept);
    };
    read_file_in_blocks::<ConsumptionRecord, _>(
        path,
        cores,
        BLOCK_BYTES,
        &|bytes| Piece::new(bytes, 40),
        &row,
        &mut block,
    )?;
    let (accepted, unmapped) = first_wins.settled.iter().fold((0, 0), |(a, u), s| (a + s.acc.0, u + s.acc.1));
    let (tally, accs) = first_wins.finish(rejected, accepted, unmapped);
    let mut total = new_acc();
    for (_, _, acc) in accs {
        merge(&mut total, acc);
    }
    tracing::debug!(elapsed = ?started.elapsed(), "consumption read, deduplicated and summed");
    Ok((tally, total))
}
