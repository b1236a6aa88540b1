//! `compute`'s failure feed: read block by block, rows checked and packed on every core, first
//! delivery wins, and per asset its events sorted by start (then event id), as the MTBF
//! calculation takes them. What is kept per accepted event is compact (instants to the
//! millisecond, as parsed, and the event id for the order of equal starts).

use super::FastMap;
use super::settle::{BLOCK_BYTES, FirstWins, Keyed, Piece, Rejections, Seen, Tally, refused, seen};
use crate::import::reader::{join, read_file_in_blocks};
use crate::import::{ImportError, Location, RowIssue};
use cmms_core::feeds::{FailureRecord, FailureRow};
use cmms_core::life::{ComponentKey, component_keys};
use cmms_core::master::RawRow;
use cmms_core::reliability::{FailureEvent, FailureEventType};
use cmms_core::time::{TimeWindow, from_epoch_ms, to_epoch_ms};
use std::path::Path;

/// A checked failure-log row of a known asset (`assets[asset]`); its event id is
/// `text[start..start + id_len]` of its piece, its component (if any) the `component_len` bytes
/// after it.
struct FailureAt {
    seen: Seen,
    at: u64,
    start: u32,
    id_len: u8,
    component_len: u8,
    asset: u32,
    event: Compact,
}

/// A failure event in 24 bytes: instants as epoch milliseconds (the precision rows are parsed
/// to), no end as [`NO_END`].
#[derive(Clone, Copy)]
struct Compact {
    started_ms: i64,
    ended_ms: i64,
    event_type: FailureEventType,
}

/// `ended_ms` of an event without an end.
const NO_END: i64 = i64::MIN;

impl Compact {
    fn of(e: &FailureEvent) -> Compact {
        Compact {
            started_ms: to_epoch_ms(e.started_at),
            ended_ms: e.ended_at.map_or(NO_END, to_epoch_ms),
            event_type: e.event_type,
        }
    }

    fn event(self) -> FailureEvent {
        FailureEvent {
            event_type: self.event_type,
            started_at: from_epoch_ms(self.started_ms),
            ended_at: (self.ended_ms != NO_END).then(|| from_epoch_ms(self.ended_ms)),
        }
    }
}

impl Keyed for FailureAt {
    fn seen(&self) -> &Seen {
        &self.seen
    }
    fn at(&self) -> Location {
        Location::unpack(self.at)
    }
}

/// An accepted event of one settling thread; its id is `ids[id_at..id_at + id_len]`, its
/// component the `component_len` bytes after it.
struct Accepted {
    event: Compact,
    id_at: u64,
    asset: u32,
    id_len: u8,
    component_len: u8,
}

/// What one settling thread accepted: the events and their ids.
#[derive(Default)]
struct Kept {
    events: Vec<Accepted>,
    ids: Vec<u8>,
}

impl Kept {
    fn id(&self, e: &Accepted) -> &[u8] {
        &self.ids[e.id_at as usize..e.id_at as usize + usize::from(e.id_len)]
    }

    /// The event's component (`None`: the asset as a whole).
    fn component(&self, e: &Accepted) -> Option<&str> {
        let from = e.id_at as usize + usize::from(e.id_len);
        let text = &self.ids[from..from + usize::from(e.component_len)];
        // Components are checked identifiers (ASCII) when kept, so the text is always UTF-8.
        std::str::from_utf8(text).ok().filter(|c| !c.is_empty())
    }
}

/// One asset's failure log as `compute` keeps it: the events sorted by start (then event id),
/// and when any names a component, the key of each event's component and the names of the keys
/// (`""`, the asset as a whole, first), as [`cmms_core::life::unit_lives`] takes them.
#[derive(Debug, Clone, Default)]
pub(super) struct AssetLog {
    /// The events, sorted by start.
    pub(super) events: Vec<FailureEvent>,
    /// One component key per event, or none when no event names a component.
    pub(super) components: Vec<ComponentKey>,
    /// The component names by key.
    pub(super) names: Vec<Box<str>>,
}

/// Reads the failure feed: per asset (by position in `assets`), its log.
pub(super) fn failure_events(
    path: Option<&Path>,
    cores: usize,
    assets: &FastMap<&str, u32>,
    window: &TimeWindow,
) -> Result<(Tally, Vec<AssetLog>), ImportError> {
    let Some(path) = path else { return Ok((Tally::default(), vec![AssetLog::default(); assets.len()])) };
    let started = std::time::Instant::now();
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
        let event = Compact::of(&row.event());
        let component = row.component.unwrap_or("");
        let seen = seen(&[row.event_id], |h| {
            h.write_u32(asset);
            h.write_u8(event.event_type as u8);
            h.write_i64(event.started_ms);
            h.write_i64(event.ended_ms);
            h.write(component.as_bytes());
        });
        // Piece texts stay far below 4 GiB (a block is 16 MiB); ids are at most 64 bytes.
        let start = piece.keep(row.event_id) as u32;
        piece.keep(component);
        piece.push(FailureAt {
            seen,
            at: location.pack(),
            start,
            id_len: row.event_id.len() as u8,
            component_len: component.len() as u8,
            asset,
            event,
        });
    };
    let mut first_wins: FirstWins<Kept> = FirstWins::new(cores, &Kept::default);
    let accept = |kept: &mut Kept, r: &FailureAt, text: &[u8]| {
        let id_and_component =
            &text[r.start as usize..r.start as usize + usize::from(r.id_len) + usize::from(r.component_len)];
        kept.events.push(Accepted {
            event: r.event,
            id_at: kept.ids.len() as u64,
            asset: r.asset,
            id_len: r.id_len,
            component_len: r.component_len,
        });
        kept.ids.extend_from_slice(id_and_component);
    };
    let mut rejected = Rejections::default();
    let mut block = |mut pieces: Vec<Piece<FailureAt>>| {
        rejected = std::mem::take(&mut rejected).merge(refused(&mut pieces));
        first_wins.settle(&pieces, &accept);
    };
    read_file_in_blocks::<FailureRecord, _>(
        path,
        cores,
        BLOCK_BYTES,
        &|bytes| Piece::new(bytes, 50),
        &row,
        &mut block,
    )?;
    let accepted = first_wins.settled.iter().map(|s| s.acc.events.len() as u64).sum();
    let (tally, kept) = first_wins.finish(rejected, accepted, 0);
    tracing::debug!(elapsed = ?started.elapsed(), "failures read and deduplicated");
    let events = by_asset(&kept, assets.len(), cores);
    tracing::debug!(elapsed = ?started.elapsed(), "failure logs sorted");
    Ok((tally, events))
}

/// Per asset, the events `kept` by the settling threads, sorted by start, then event id.
fn by_asset(kept: &[Kept], assets: usize, cores: usize) -> Vec<AssetLog> {
    // Each accepted event by (thread, index), grouped by asset: counts, then offsets.
    let mut start = vec![0usize; assets + 1];
    for e in kept.iter().flat_map(|k| &k.events) {
        start[e.asset as usize + 1] += 1;
    }
    for a in 0..assets {
        start[a + 1] += start[a];
    }
    let mut refs = vec![(0u32, 0u32); start[assets]];
    let mut next = start.clone();
    for (t, k) in kept.iter().enumerate() {
        for (i, e) in k.events.iter().enumerate() {
            let at = &mut next[e.asset as usize];
            refs[*at] = (t as u32, i as u32);
            *at += 1;
        }
    }
    let mut events: Vec<AssetLog> = vec![AssetLog::default(); assets];
    let chunk = assets.div_ceil(cores.max(1)).max(1);
    std::thread::scope(|s| {
        let mut rest: &mut [(u32, u32)] = &mut refs;
        let mut handles = Vec::new();
        for (c, outs) in events.chunks_mut(chunk).enumerate() {
            let (from, to) = (start[c * chunk], start[(c * chunk + outs.len()).min(assets)]);
            let (mine, more) = std::mem::take(&mut rest).split_at_mut(to - from);
            rest = more;
            let start = &start[c * chunk..];
            handles.push(s.spawn(move || {
                let get = |&(t, i): &(u32, u32)| (&kept[t as usize], &kept[t as usize].events[i as usize]);
                for (a, out) in outs.iter_mut().enumerate() {
                    let log = &mut mine[start[a] - from..start[a + 1] - from];
                    log.sort_unstable_by(|x, y| {
                        let ((kx, ex), (ky, ey)) = (get(x), get(y));
                        ex.event.started_ms.cmp(&ey.event.started_ms).then_with(|| kx.id(ex).cmp(ky.id(ey)))
                    });
                    out.events = log.iter().map(|r| get(r).1.event.event()).collect();
                    let (components, names) = component_keys(log.iter().map(|r| {
                        let (k, e) = get(r);
                        k.component(e)
                    }));
                    if !components.is_empty() {
                        out.components = components;
                        out.names = names.into_iter().map(Box::from).collect();
                    }
                }
            }));
        }
        handles.into_iter().for_each(join);
    });
    events
}
