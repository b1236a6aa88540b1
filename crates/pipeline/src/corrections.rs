//! Corrections: an operator voids an accepted event (consumption, failure event, stock snapshot)
//! by its key, or restores a voided one. ERP reversals are modelled as a void of the original
//! event, not as negative events (quantities are never negative; see RELIABILITY.md).
//!
//! The void is recorded with who, when and why and changes what the event counted for:
//! consumption marks its part for the next threshold recompute, a failure event changes its
//! asset's MTBF at the next PM recompute, and a snapshot's stock change passes through the gate
//! here (see [`cmms_store::Store::void_event`]). [`Correction::parts`] and [`Correction::assets`]
//! name what it touched, for the caller's recompute and routing.

use crate::inventory::{self, InventoryError};
use cmms_core::corrections::{EventKey, KeyError, VoidFeed, candidate_keys};
use cmms_store::corrections::{EventVoidRow, RestoreOutcome, VoidOutcome};
use cmms_store::{Store, StoreError};

/// Errors of a correction, each a reason for the operator.
#[derive(Debug, thiserror::Error)]
pub enum CorrectionError {
    /// The values name no event of the feed (or of any feed).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// No stored event has the key.
    #[error("no accepted {} matches {source_id:?} {event_id:?}", feed.map_or("event".to_owned(), |f| format!("{f} event")))]
    Unknown {
        /// The feed asked for, if any.
        feed: Option<VoidFeed>,
        /// The SOURCE value.
        source_id: String,
        /// The EVENT_ID value.
        event_id: String,
    },
    /// Stored events of several feeds have the key.
    #[error("{source_id:?} {event_id:?} names an event in more than one feed ({}): say which with the feed", feeds.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        /// The feeds with an event of that key.
        feeds: Vec<VoidFeed>,
        /// The SOURCE value.
        source_id: String,
        /// The EVENT_ID value.
        event_id: String,
    },
    /// The event is voided already.
    #[error("the {key} is already voided{}", .void.as_ref().map_or(String::new(), |v| format!(" (by {}: {})", v.voided_by, v.reason)))]
    AlreadyVoided {
        /// The event.
        key: EventKey,
        /// The void in force.
        void: Option<Box<EventVoidRow>>,
    },
    /// The event is not voided, so there is nothing to restore.
    #[error("the {0} is not voided: nothing to restore")]
    NotVoided(EventKey),
    /// A void needs a reason.
    #[error("a void needs a reason (what was wrong with the event, or the ERP reversal's reference)")]
    NoReason,
    /// The gate run after a snapshot's void or restore failed (the correction itself is stored).
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CorrectionError {
    /// Stable machine-readable code (for JSON output and the HTTP API).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Key(_) => "INVALID_EVENT_KEY",
            Self::Unknown { .. } => "UNKNOWN_EVENT",
            Self::Ambiguous { .. } => "AMBIGUOUS_EVENT",
            Self::AlreadyVoided { .. } => "ALREADY_VOIDED",
            Self::NotVoided(_) => "NOT_VOIDED",
            Self::NoReason => "REASON_REQUIRED",
            Self::Inventory(_) | Self::Store(_) => "INTERNAL",
        }
    }
}

/// A void or restore done, with what it touched.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Correction {
    /// The void record (with its restore, after a restore).
    pub record: EventVoidRow,
    /// Parts whose thresholds (consumption) or stock (snapshot) the correction changes.
    pub parts: Vec<String>,
    /// Assets whose MTBF and PM interval the correction changes (failure events).
    pub assets: Vec<String>,
}

/// The one stored event named by `source` and `event_id` (of `feed` when given).
pub async fn resolve(
    store: &Store,
    feed: Option<VoidFeed>,
    source: &str,
    event_id: &str,
) -> Result<EventKey, CorrectionError> {
    let mut found = Vec::new();
    for key in candidate_keys(feed, source, event_id)? {
        if store.find_event(&key).await?.is_some() {
            found.push(key);
        }
    }
    match found.len() {
        0 => Err(CorrectionError::Unknown { feed, source_id: source.to_owned(), event_id: event_id.to_owned() }),
        1 => Ok(found.remove(0)),
        _ => Err(CorrectionError::Ambiguous {
            feeds: found.iter().map(EventKey::feed).collect(),
            source_id: source.to_owned(),
            event_id: event_id.to_owned(),
        }),
    }
}

fn touched(key: &EventKey, record: EventVoidRow) -> Correction {
    let subject: Vec<String> = record.subject.iter().cloned().collect();
    let (parts, assets) = if key.feed() == VoidFeed::Failures { (Vec::new(), subject) } else { (subject, Vec::new()) };
    Correction { record, parts, assets }
}

/// Voids the event named by `source` and `event_id` (of `feed` when given), recorded with
/// `actor`, `now_ms` and `reason`. A snapshot's void is followed by the gate (snapshots refused
/// as stale because of the voided one are judged again).
pub async fn void(
    store: &Store,
    feed: Option<VoidFeed>,
    source: &str,
    event_id: &str,
    reason: &str,
    actor: &str,
    now_ms: i64,
) -> Result<Correction, CorrectionError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CorrectionError::NoReason);
    }
    let key = resolve(store, feed, source, event_id).await?;
    let record = match store.void_event(&key, reason, actor, now_ms).await? {
        VoidOutcome::Voided(record) => record,
        VoidOutcome::Unknown => {
            return Err(CorrectionError::Unknown { feed, source_id: source.to_owned(), event_id: event_id.to_owned() });
        }
        VoidOutcome::AlreadyVoided(void) => {
            return Err(CorrectionError::AlreadyVoided { key, void: void.map(Box::new) });
        }
    };
    tracing::info!(event = %key, actor, reason, "event voided");
    gate_after(store, &key, now_ms).await?;
    Ok(touched(&key, record))
}

/// Restores the voided event named by `source` and `event_id` (of `feed` when given), recorded
/// with `actor`, `now_ms` and `reason`. A restored snapshot that had been applied goes through the
/// gate again, as a late delivery.
pub async fn restore(
    store: &Store,
    feed: Option<VoidFeed>,
    source: &str,
    event_id: &str,
    reason: Option<&str>,
    actor: &str,
    now_ms: i64,
) -> Result<Correction, CorrectionError> {
    let key = resolve(store, feed, source, event_id).await?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let record = match store.restore_event(&key, reason, actor, now_ms).await? {
        RestoreOutcome::Restored(record) => *record,
        RestoreOutcome::Unknown => {
            return Err(CorrectionError::Unknown { feed, source_id: source.to_owned(), event_id: event_id.to_owned() });
        }
        RestoreOutcome::NotVoided => return Err(CorrectionError::NotVoided(key)),
    };
    tracing::info!(event = %key, actor, "event restored");
    gate_after(store, &key, now_ms).await?;
    Ok(touched(&key, record))
}

async fn gate_after(store: &Store, key: &EventKey, now_ms: i64) -> Result<(), CorrectionError> {
    if key.feed() == VoidFeed::Inventory {
        inventory::process(store, now_ms).await?;
    }
    Ok(())
}
