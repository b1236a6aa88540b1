//! Corrections: how an operator names an accepted event to void or restore it.
//!
//! Every voidable event is named by two values, `SOURCE EVENT_ID`, read per feed:
//!
//! | feed          | SOURCE                         | EVENT_ID                       |
//! |---------------|--------------------------------|--------------------------------|
//! | `consumption` | the delivering source          | the source's event id          |
//! | `failures`    | the asset (the failure log has no source; its events are per asset) | the event id |
//! | `inventory`   | the delivering source          | `SKU/SEQUENCE` (split at the last `/`) |
//!
//! Without a feed, every feed whose form the two values fit is a candidate; the caller looks each
//! candidate up and asks for the feed when more than one exists.

use crate::ids::{AssetId, EventId, ExternalSku, IdError, SourceId};

/// A feed whose accepted events can be voided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VoidFeed {
    /// Consumption events, keyed by `(source, event_id)`.
    Consumption,
    /// Failure-log events, keyed by `event_id` (named with their asset).
    Failures,
    /// Stock snapshots, keyed by `(source, external_sku, sequence_id)`.
    Inventory,
}

impl VoidFeed {
    /// Every voidable feed.
    pub const ALL: [VoidFeed; 3] = [VoidFeed::Consumption, VoidFeed::Failures, VoidFeed::Inventory];

    /// The feed's name, as in `cmms import <kind>` and the webhook path.
    pub fn as_str(self) -> &'static str {
        match self {
            VoidFeed::Consumption => "consumption",
            VoidFeed::Failures => "failures",
            VoidFeed::Inventory => "inventory",
        }
    }

    /// The feed of a name.
    pub fn parse(name: &str) -> Result<VoidFeed, KeyError> {
        VoidFeed::ALL.into_iter().find(|f| f.as_str() == name).ok_or_else(|| KeyError::UnknownFeed(name.to_owned()))
    }
}

impl std::fmt::Display for VoidFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stored key of one voidable event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKey {
    /// A consumption event.
    Consumption {
        /// The delivering source.
        source: SourceId,
        /// The source's event id.
        event_id: EventId,
    },
    /// A failure-log event.
    Failure {
        /// The asset it happened to.
        asset_id: AssetId,
        /// The event id.
        event_id: EventId,
    },
    /// A stock snapshot.
    Snapshot {
        /// The delivering source.
        source: SourceId,
        /// The SKU as the source spelled it.
        external_sku: ExternalSku,
        /// The source's sequence number.
        sequence_id: i64,
    },
}

impl EventKey {
    /// The feed of the event.
    pub fn feed(&self) -> VoidFeed {
        match self {
            EventKey::Consumption { .. } => VoidFeed::Consumption,
            EventKey::Failure { .. } => VoidFeed::Failures,
            EventKey::Snapshot { .. } => VoidFeed::Inventory,
        }
    }

    /// The SOURCE value that names it (the asset for failure events).
    pub fn source(&self) -> &str {
        match self {
            EventKey::Consumption { source, .. } | EventKey::Snapshot { source, .. } => source.as_str(),
            EventKey::Failure { asset_id, .. } => asset_id.as_str(),
        }
    }

    /// The EVENT_ID value that names it (`SKU/SEQUENCE` for a snapshot).
    pub fn event_id(&self) -> String {
        match self {
            EventKey::Consumption { event_id, .. } | EventKey::Failure { event_id, .. } => event_id.to_string(),
            EventKey::Snapshot { external_sku, sequence_id, .. } => format!("{external_sku}/{sequence_id}"),
        }
    }
}

impl std::fmt::Display for EventKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} event {}/{}", self.feed(), self.source(), self.event_id())
    }
}

/// Why two values name no event of any (or of the given) feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not a voidable feed.
    #[error("unknown feed {0:?}: use consumption, failures or inventory")]
    UnknownFeed(String),
    /// The values do not fit the feed's key.
    #[error("not a {feed} event key: {reason}")]
    Invalid {
        /// The feed asked for.
        feed: VoidFeed,
        /// Which value is wrong, and why.
        reason: String,
    },
    /// The values fit no feed's key.
    #[error(
        "{source_id:?} {event_id:?} names no event: expected SOURCE EVENT_ID (consumption), ASSET EVENT_ID \
         (failures) or SOURCE SKU/SEQUENCE (inventory)"
    )]
    NoForm {
        /// The SOURCE value given.
        source_id: String,
        /// The EVENT_ID value given.
        event_id: String,
    },
}

fn field(name: &str, value: &str, e: IdError) -> String {
    format!("{name} {value:?}: {e}")
}

/// The key of `feed` named by `source` and `event_id`.
pub fn event_key(feed: VoidFeed, source: &str, event_id: &str) -> Result<EventKey, KeyError> {
    let invalid = |reason: String| KeyError::Invalid { feed, reason };
    match feed {
        VoidFeed::Consumption => Ok(EventKey::Consumption {
            source: SourceId::parse(source).map_err(|e| invalid(field("source", source, e)))?,
            event_id: EventId::parse(event_id).map_err(|e| invalid(field("event id", event_id, e)))?,
        }),
        VoidFeed::Failures => Ok(EventKey::Failure {
            asset_id: AssetId::parse(source).map_err(|e| invalid(field("asset", source, e)))?,
            event_id: EventId::parse(event_id).map_err(|e| invalid(field("event id", event_id, e)))?,
        }),
        VoidFeed::Inventory => {
            let (sku, seq) = event_id
                .rsplit_once('/')
                .ok_or_else(|| invalid(format!("{event_id:?} is not SKU/SEQUENCE (e.g. BRG-6204/42)")))?;
            let sequence_id = match seq.parse::<i64>() {
                Ok(v) if v >= 0 => v,
                _ => return Err(invalid(format!("sequence {seq:?} is not a whole number ≥ 0"))),
            };
            Ok(EventKey::Snapshot {
                source: SourceId::parse(source).map_err(|e| invalid(field("source", source, e)))?,
                external_sku: ExternalSku::parse(sku).map_err(|e| invalid(field("SKU", sku, e)))?,
                sequence_id,
            })
        }
    }
}

/// The keys `source` and `event_id` may name: of `feed` only when given (an error when they do
/// not fit it), else of every feed whose form they fit (an error when none).
pub fn candidate_keys(feed: Option<VoidFeed>, source: &str, event_id: &str) -> Result<Vec<EventKey>, KeyError> {
    if let Some(feed) = feed {
        return event_key(feed, source, event_id).map(|k| vec![k]);
    }
    let keys: Vec<EventKey> = VoidFeed::ALL.into_iter().filter_map(|f| event_key(f, source, event_id).ok()).collect();
    if keys.is_empty() {
        return Err(KeyError::NoForm { source_id: source.to_owned(), event_id: event_id.to_owned() });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_id_fits_consumption_and_failures_but_not_inventory() {
        let keys = candidate_keys(None, "ERP", "E-1").unwrap();
        assert_eq!(
            keys.iter().map(EventKey::feed).collect::<Vec<_>>(),
            vec![VoidFeed::Consumption, VoidFeed::Failures]
        );
    }

    #[test]
    fn a_snapshot_is_named_by_sku_and_sequence_split_at_the_last_slash() {
        let keys = candidate_keys(None, "WMS", "BOX 3/4/17").unwrap();
        assert_eq!(keys.len(), 1);
        let EventKey::Snapshot { source, external_sku, sequence_id } = &keys[0] else { panic!("{keys:?}") };
        assert_eq!((source.as_str(), external_sku.as_str(), *sequence_id), ("WMS", "BOX 3/4", 17));
        assert_eq!(keys[0].event_id(), "BOX 3/4/17");
        assert_eq!(keys[0].to_string(), "inventory event WMS/BOX 3/4/17");
    }

    #[test]
    fn a_given_feed_checks_its_own_form() {
        let e = event_key(VoidFeed::Inventory, "WMS", "BRG-1").unwrap_err();
        assert!(e.to_string().contains("not SKU/SEQUENCE"), "{e}");
        let e = event_key(VoidFeed::Inventory, "WMS", "BRG-1/-3").unwrap_err();
        assert!(e.to_string().contains("whole number"), "{e}");
        let e = event_key(VoidFeed::Consumption, "ERP", "a b").unwrap_err();
        assert!(e.to_string().contains("event id \"a b\""), "{e}");
        assert!(matches!(VoidFeed::parse("scans"), Err(KeyError::UnknownFeed(_))));
    }

    #[test]
    fn values_that_fit_no_feed_say_which_forms_exist() {
        let e = candidate_keys(None, "bad source", "x").unwrap_err();
        assert!(e.to_string().contains("SOURCE SKU/SEQUENCE"), "{e}");
    }
}
