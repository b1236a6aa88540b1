//! Seasonal maintenance windows: the `MM-DD` month-day and the recurring window that scales a
//! part's expected usage (the arithmetic is [`crate::thresholds::seasonal_uplift`]).

use crate::ids::{PartClass, SiteId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a `MM-DD` month-day was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a month-day {0:?} (expected MM-DD, e.g. 11-15; 02-29 is allowed)")]
pub struct MonthDayError(pub String);

/// A day of the year as `MM-DD`, without a year. `02-29` is accepted: in common years a window
/// starting on it starts on 1 March and one ending on it ends with 28 February.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthDay {
    month: u8,
    day: u8,
}

impl MonthDay {
    /// Builds a month-day; the day must exist in that month of a leap year.
    pub fn new(month: u8, day: u8) -> Option<Self> {
        const MAX_DAY: [u8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let max = *MAX_DAY.get(usize::from(month).checked_sub(1)?)?;
        (1..=max).contains(&day).then_some(Self { month, day })
    }

    /// The month, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1–31.
    pub fn day(self) -> u8 {
        self.day
    }
}

impl std::str::FromStr for MonthDay {
    type Err = MonthDayError;
    fn from_str(s: &str) -> Result<Self, MonthDayError> {
        let err = || MonthDayError(s.to_owned());
        let b = s.as_bytes();
        if b.len() != 5 || b[2] != b'-' {
            return Err(err());
        }
        let two = |i: usize| -> Option<u8> {
            let (h, l) = (b[i], b[i + 1]);
            (h.is_ascii_digit() && l.is_ascii_digit()).then(|| (h - b'0') * 10 + (l - b'0'))
        };
        two(0).zip(two(3)).and_then(|(m, d)| Self::new(m, d)).ok_or_else(err)
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl Serialize for MonthDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MonthDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A recurring seasonal maintenance window that scales expected usage (see
/// [`crate::thresholds::seasonal_uplift`] for the exact arithmetic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeasonalWindow {
    /// First UTC calendar day of the window (inclusive).
    pub start: MonthDay,
    /// Last UTC calendar day of the window (inclusive); before `start` means it wraps over new year.
    pub end: MonthDay,
    /// Usage factor inside the window (> 0; 1.3 = 30 % more usage).
    pub uplift: f64,
    /// Part classes it applies to; empty = all.
    #[serde(default)]
    pub part_classes: Vec<PartClass>,
    /// Sites it applies to; empty = all.
    #[serde(default)]
    pub site_ids: Vec<SiteId>,
}

impl SeasonalWindow {
    /// Whether the window applies to a part of this class stored at this site.
    pub fn applies_to(&self, class: &PartClass, site: &SiteId) -> bool {
        (self.part_classes.is_empty() || self.part_classes.contains(class))
            && (self.site_ids.is_empty() || self.site_ids.contains(site))
    }

    /// Whether the window runs over new year (`end` before `start`).
    pub fn wraps(&self) -> bool {
        self.end < self.start
    }
}
