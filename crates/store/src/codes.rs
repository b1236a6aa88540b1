//! The text codes of the status, state, basis and kind columns, and their enums: the one place
//! where a stored code becomes a typed value and back. Row structs decode these columns with
//! `#[sqlx(try_from = "String")]`; writes bind `as_str()`. Core enums that are stored (the
//! work-order state, the PM basis, the failure event type) convert through their own
//! `as_str`/`FromStr` in core; the statuses that only exist in storage are defined here.

use crate::StoreError;
use cmms_core::drift::PublishBasis;

/// Declares a storage code enum: `as_str`, `ALL`, `FromStr`, `TryFrom<String>` (for row
/// decoding), `Display`, and an order by code (as the text column sorts), from one table of
/// variants and codes.
macro_rules! codes {
    (
        $(#[$meta:meta])*
        $name:ident, $column:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $code:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $code, )+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self, StoreError> {
                match s {
                    $( $code => Ok($name::$variant), )+
                    other => Err(StoreError::invalid($column, format!("unknown code {other:?}"))),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = StoreError;
            fn try_from(s: String) -> Result<Self, StoreError> {
                s.parse()
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.as_str().cmp(other.as_str())
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

codes! {
    /// Where a staged stock snapshot stands (`inventory_snapshots.status`).
    SnapshotStatus, "inventory_snapshots.status" {
        /// Staged, not yet gated.
        Pending => "PENDING",
        /// Applied to the stock state.
        Applied => "APPLIED",
        /// Not newer than the last applied sequence.
        Stale => "STALE",
        /// Held as an implausible drop, awaiting review.
        Held => "HELD",
        /// Its SKU does not map to one part.
        Quarantined => "QUARANTINED",
        /// Refused by a rule of the gate.
        Rejected => "REJECTED",
    }
}

impl SnapshotStatus {
    /// Whether the gate may still change the verdict (pending, quarantined, held).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Quarantined | Self::Held)
    }
}

codes! {
    /// A scan's reconciliation verdict (`scans.outcome`).
    ScanVerdict, "scans.outcome" {
        /// Staged, not yet reconciled.
        Pending => "PENDING",
        /// The count agrees with system stock.
        Match => "MATCH",
        /// The count disagrees: routing of the part is paused.
        Discrepancy => "DISCREPANCY",
        /// The scanned code does not map to one part.
        Quarantined => "QUARANTINED",
        /// An operator accepted the discrepant count as the true stock.
        Accepted => "ACCEPTED",
    }
}

codes! {
    /// Whether a quarantine entry or an alert still needs an operator (`quarantine.status`,
    /// `alerts.status`).
    OpenStatus, "status" {
        /// Waiting for an operator or a recovery.
        Open => "OPEN",
        /// Closed.
        Resolved => "RESOLVED",
    }
}

codes! {
    /// Where an outbox row stands (`outbox.status`).
    OutboxStatus, "outbox.status" {
        /// To be sent (or retried).
        Pending => "PENDING",
        /// Delivered or already applied by the target.
        Delivered => "DELIVERED",
        /// Replaced by a newer change of the same part before it was sent.
        Superseded => "SUPERSEDED",
        /// Dead-lettered.
        Dead => "DEAD",
    }
}

codes! {
    /// Why the thresholds in force are what they are (`current_thresholds.basis`,
    /// `thresholds.basis`).
    ThresholdBasis, "thresholds.basis" {
        /// The computed limits (no drift).
        Computed => "COMPUTED",
        /// Computed limits an operator approved despite drift.
        Approved => "APPROVED",
        /// The conservative fallback while drift is not approved.
        Fallback => "FALLBACK",
        /// Pushed by an outside optimiser.
        Received => "RECEIVED",
        /// Nothing published (the calculation failed).
        None => "NONE",
    }
}

impl From<PublishBasis> for ThresholdBasis {
    fn from(b: PublishBasis) -> Self {
        match b {
            PublishBasis::Computed => Self::Computed,
            PublishBasis::Approved => Self::Approved,
            PublishBasis::Fallback => Self::Fallback,
        }
    }
}

codes! {
    /// Where an entry of a part's threshold history came from.
    ThresholdOrigin, "thresholds.origin" {
        /// This service's calculation.
        Computed => "COMPUTED",
        /// Pushed over the API.
        Received => "RECEIVED",
    }
}

codes! {
    /// Where a procurement request stands (`procurement_requests.status`).
    RequestStatus, "procurement_requests.status" {
        /// Raised, waiting for stock.
        Open => "OPEN",
        /// Stock recovered: delivered.
        Fulfilled => "FULFILLED",
        /// Withdrawn.
        Cancelled => "CANCELLED",
    }
}

codes! {
    /// What an alert is about (`alerts.kind`).
    AlertKind, "alerts.kind" {
        /// Computed thresholds drift from the baseline; the fallback is published.
        Drift => "DRIFT",
        /// A count disagrees with system stock.
        ScanDiscrepancy => "SCAN_DISCREPANCY",
        /// A stock snapshot dropped more than the consumption explains.
        ImplausibleDrop => "IMPLAUSIBLE_DROP",
        /// Publications of a target are dead-lettered.
        Dlq => "DLQ",
    }
}

codes! {
    /// The result of a PM interval calculation (`pm_intervals.status`).
    PmStatus, "pm_intervals.status" {
        /// Interval and next due date computed.
        Ok => "OK",
        /// The asset's stored data breaks a rule (failure history, site time zone).
        InvalidInput => "INVALID_INPUT",
        /// No completion recorded yet: no due date.
        NoLastCompletion => "NO_LAST_COMPLETION",
        /// The due date would not be after the last completion: not stored.
        NotMonotonic => "NOT_MONOTONIC",
        /// The due date is outside the representable range.
        OutOfRange => "OUT_OF_RANGE",
        /// `weibull_cost` recommends no time-based PM: no interval, no due date.
        NoTimeBasedPm => "NO_TIME_BASED_PM",
    }
}

/// A nullable code column as read from a row, before it becomes `Option` of its enum: row structs
/// declare such a field as `#[sqlx(try_from = "NullableCode")] field: Option<SomeCode>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NullableCode(Option<String>);

impl sqlx::Type<sqlx::Any> for NullableCode {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<sqlx::Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <String as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for NullableCode {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(NullableCode(<Option<String> as sqlx::Decode<'r, sqlx::Any>>::decode(value)?))
    }
}

impl<T: std::str::FromStr> TryFrom<NullableCode> for Option<T>
where
    T::Err: std::fmt::Display,
{
    type Error = StoreError;
    fn try_from(code: NullableCode) -> Result<Self, StoreError> {
        code.0.map(|s| s.parse().map_err(|e| StoreError::invalid("code", e))).transpose()
    }
}

/// A 0/1 integer column as read from a row (`Any` decodes a boolean only from a boolean value,
/// and SQLite stores them as integers): row structs declare `#[sqlx(try_from = "Flag")] field: bool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flag(bool);

impl sqlx::Type<sqlx::Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<sqlx::Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Flag(<i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value)? != 0))
    }
}

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0
    }
}

impl From<&cmms_core::pm::PmError> for PmStatus {
    fn from(e: &cmms_core::pm::PmError) -> Self {
        match e {
            cmms_core::pm::PmError::NoLastCompletion => Self::NoLastCompletion,
            cmms_core::pm::PmError::NotMonotonic { .. } => Self::NotMonotonic,
            cmms_core::pm::PmError::OutOfRange { .. } => Self::OutOfRange,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in SnapshotStatus::ALL {
            assert_eq!(s.as_str().parse::<SnapshotStatus>().unwrap(), *s);
        }
        for b in ThresholdBasis::ALL {
            assert_eq!(ThresholdBasis::try_from(b.as_str().to_owned()).unwrap(), *b);
        }
        assert!("NOPE".parse::<OutboxStatus>().is_err());
        assert_eq!(serde_json::to_string(&ScanVerdict::Discrepancy).unwrap(), "\"DISCREPANCY\"");
    }
}
