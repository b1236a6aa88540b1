//! `compute`'s failure feed: rows checked and packed on every core, first delivery wins, and
//! per asset its events sorted by start (then event id), as the MTBF calculation takes them.

use super::FastMap;
use super::settle::{Keyed, Piece, Tally, key_hash, refused, settle, tally};
use crate::import::reader::read_file_in_pieces;
use crate::import::{ImportError, Location, RowIssue};
use cmms_core::feeds::{FailureRecord, FailureRow};
use cmms_core::master::RawRow;
use cmms_core::reliability::FailureEvent;
use cmms_core::time::TimeWindow;
use std::path::Path;

/// A checked failure-log row of a known asset (`assets[asset]`); its event id is
/// `text[start..start + id_len]`.
struct FailureAt {
    hash: u64,
    at: u64,
    start: usize,
    id_len: u8,
    asset: u32,
    event: FailureEvent,
}

impl Keyed for FailureAt {
    fn hash(&self) -> u64 {
        self.hash
    }
    fn at(&self) -> Location {
        Location::unpack(self.at)
    }
    fn key<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        &text[self.start..self.start + usize::from(self.id_len)]
    }
    fn same_content(&self, _: &[u8], other: &Self, _: &[u8]) -> bool {
        let ms =
            |e: &FailureEvent| (e.event_type, e.started_at.as_millisecond(), e.ended_at.map(|t| t.as_millisecond()));
        self.asset == other.asset && ms(&self.event) == ms(&other.event)
    }
}

/// Reads the failure feed: per asset (by position in `assets`), its events sorted by start (then
/// event id), as the MTBF calculation takes them.
pub(super) fn failure_events(
    path: Option<&Path>,
    cores: usize,
    assets: &FastMap<&str, u32>,
    window: &TimeWindow,
) -> Result<(Tally, Vec<Vec<FailureEvent>>), ImportError> {
    let Some(path) = path else { return Ok((Tally::default(), vec![Vec::new(); assets.len()])) };
    let started = std::time::Instant::now();
    let hasher = foldhash::fast::RandomState::default();
    let row = |piece: &mut Piece<FailureAt>, location: Location, raw: Result<&RawRow<'_>, RowIssue>| {
        let checked = raw.and_then(|r| {
            let row = FailureRow::parse(r).and_then(|row| row.check_times(window).map(|()| row));
            row.map_err(|e| RowIssue::from_field(&location, e))
        });
        let row = match checked {
            Ok(row) => row,
            Err(issue) => return piece.rejected.push(issue),
        };
        let Some(&asset) = assets.get(row.asset_id) else {
            return piece.rejected.push(RowIssue::field(location, "asset_id", "unknown asset"));
        };
        let start = piece.text.len();
        piece.keep(row.event_id);
        piece.push(FailureAt {
            hash: key_hash(&hasher, &[row.event_id]),
            at: location.pack(),
            start,
            id_len: row.event_id.len() as u8,
            asset,
            event: row.event(),
        });
    };
    let (mut pieces, _) = read_file_in_pieces::<FailureRecord, _>(path, cores, &|bytes| Piece::new(bytes, 50), &row)?;
    let refused = refused(&mut pieces);
    tracing::debug!(elapsed = ?started.elapsed(), pieces = pieces.len(), "failures read and checked");

    /// Events accepted, and per asset its events with their ids.
    type ByAsset<'p> = (u64, Vec<Vec<(&'p [u8], FailureEvent)>>);
    fn accept<'p>((accepted, by_asset): &mut ByAsset<'p>, r: &'p FailureAt, text: &'p [u8]) {
        *accepted += 1;
        by_asset[r.asset as usize].push((r.key(text), r.event));
    }
    let new_acc = || -> ByAsset<'_> { (0, vec![Vec::new(); assets.len()]) };
    let mut settled = settle(&pieces, cores, &new_acc, &accept);
    tracing::debug!(elapsed = ?started.elapsed(), "failures deduplicated");
    let mut with_ids: Vec<Vec<(&[u8], FailureEvent)>> = (0..assets.len())
        .map(|asset| settled.iter_mut().flat_map(|s| std::mem::take(&mut s.acc.1[asset])).collect())
        .collect();
    let mut events = vec![Vec::new(); assets.len()];
    let chunk = assets.len().div_ceil(cores.max(1)).max(1);
    std::thread::scope(|s| {
        for (ins, outs) in with_ids.chunks_mut(chunk).zip(events.chunks_mut(chunk)) {
            s.spawn(move || {
                for (log, out) in ins.iter_mut().zip(outs) {
                    log.sort_unstable_by(|a, b| a.1.started_at.cmp(&b.1.started_at).then_with(|| a.0.cmp(b.0)));
                    *out = log.iter().map(|(_, e)| *e).collect();
                }
            });
        }
    });
    tracing::debug!(elapsed = ?started.elapsed(), "failure logs sorted");
    let accepted = settled.iter().map(|s| s.acc.0).sum();
    Ok((tally(refused, &mut settled, accepted, 0), events))
}
