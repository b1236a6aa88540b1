//! A part's consumption as the threshold formula takes it: the window of a computation
//! ([`UsageWindow`]) and the exact, order-independent sum of the quantities inside it
//! ([`UsageAccumulator`], [`UsageSummary`]) — one definition for `cmms compute`, for the
//! persisted recompute and for the store's SQL aggregate that mirrors it.

use crate::quantity::Quantity;
use crate::thresholds::ThresholdError;
use jiff::{SignedDuration, Timestamp};

/// One accepted consumption event of a part (already mapped, validated and de-duplicated).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consumption {
    /// When the quantity was consumed.
    pub at: Timestamp,
    /// How much was consumed (finite, ≥ 0 by construction).
    pub quantity: Quantity,
}

/// A part's consumption reduced to what the formula needs: the sum inside the window, and whether
/// any consumption at all happened before `as_of` (else the part has `NO_HISTORY`). Built by a
/// [`UsageAccumulator`] (or [`UsageSummary::from_events`]); a database aggregate that mirrors the
/// accumulator builds it with [`UsageSummary::from_micros`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageSummary {
    /// Sum of quantities consumed in `[as_of − window_days × 24 h, as_of)`.
    pub consumed_in_window: Quantity,
    /// Whether at least one event lies before `as_of` (inside or before the window).
    pub has_history: bool,
}

impl UsageSummary {
    /// Sums the events in the window `[window_start(as_of, window_days), as_of)` over their whole
    /// micro-units (exact and order-independent); events at or after `as_of` are ignored. A sum
    /// too large to be exact is counted as it is (see [`UsageAccumulator::summary`] for the check).
    pub fn from_events(events: &[Consumption], as_of: Timestamp, window_days: u32) -> Self {
        let window = UsageWindow::new(as_of, window_days);
        let mut acc = UsageAccumulator::new();
        for e in events {
            acc.add(&window, e.at, e.quantity);
        }
        Self { consumed_in_window: Quantity::from_micros(acc.micros), has_history: acc.has_history }
    }

    /// The summary of a window total of `micros` micro-units, summed elsewhere by the rules of
    /// [`UsageWindow`] and [`UsageAccumulator`] (the store's SQL aggregate):
    /// [`ThresholdError::ImplausibleConsumption`] from [`MAX_EXACT_MICROS`] on.
    pub fn from_micros(micros: i128, has_history: bool) -> Result<Self, ThresholdError> {
        UsageAccumulator { micros, has_history }.summary()
    }
}

/// The largest window total, in micro-units, that the thresholds are computed from (2⁵³, about
/// 9·10⁹ units): from here on a sum no longer fits a double exactly — the store sums in one — so
/// the part gets [`ThresholdError::ImplausibleConsumption`], in memory and in the database alike.
pub const MAX_EXACT_MICROS: i128 = 1 << 53;

/// Where an event's instant lies relative to a [`UsageWindow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Before the window: history only (the part is not `NO_HISTORY`), not summed.
    Before,
    /// Inside the window: summed.
    Inside,
    /// At or after `as_of`: left out entirely.
    After,
}

/// The consumption window of a computation at `as_of`: `[as_of − window_days × 24 h, as_of)`,
/// half-open, both edges cut to the whole millisecond (instants are stored as epoch
/// milliseconds, so an instant lies inside exactly when its stored value does).
///
/// This is the one definition of which consumption counts. `cmms compute` applies it event by
/// event through a [`UsageAccumulator`]; the persisted recompute hands [`UsageWindow::start_ms`]
/// and [`UsageWindow::as_of_ms`] to the store, whose SQL aggregate (`usage_columns` in
/// `cmms-store`'s thresholds module) applies the same comparisons to the stored epoch
/// milliseconds. The pipeline test `compute_and_recompute_agree_on_generated_feeds` checks that
/// both give the same sums, statuses and thresholds, on SQLite and PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageWindow {
    start: Timestamp,
    as_of: Timestamp,
}

impl UsageWindow {
    /// The window of `window_days` days ending at `as_of`.
    pub fn new(as_of: Timestamp, window_days: u32) -> Self {
        let as_of = crate::time::to_stored_precision(as_of);
        Self { start: window_start(as_of, window_days), as_of }
    }

    /// The first instant inside the window.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The end of the window (excluded): the computation instant.
    pub fn as_of(&self) -> Timestamp {
        self.as_of
    }

    /// [`Self::start`] in epoch milliseconds (exact: the edges are whole milliseconds).
    pub fn start_ms(&self) -> i64 {
        self.start.as_millisecond()
    }

    /// [`Self::as_of`] in epoch milliseconds (exact).
    pub fn as_of_ms(&self) -> i64 {
        self.as_of.as_millisecond()
    }

    /// Where an event at `at` lies.
    #[inline]
    pub fn place(&self, at: Timestamp) -> Placement {
        if at >= self.as_of {
            Placement::After
        } else if at >= self.start {
            Placement::Inside
        } else {
            Placement::Before
        }
    }
}

/// A part's consumption being summed, one event at a time (the streaming form of
/// [`UsageSummary::from_events`]): whole micro-units inside the window in an `i128` — exact,
/// and the same whatever the order of the events or the way they are split over threads
/// ([`UsageAccumulator::merge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageAccumulator {
    micros: i128,
    has_history: bool,
}

impl UsageAccumulator {
    /// Nothing consumed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts an event of `quantity` at `at` by the rules of `window`.
    #[inline]
    pub fn add(&mut self, window: &UsageWindow, at: Timestamp, quantity: Quantity) {
        match window.place(at) {
            Placement::Inside => {
                self.has_history = true;
                self.micros += i128::from(quantity.micros());
            }
            Placement::Before => self.has_history = true,
            Placement::After => {}
        }
    }

    /// Adds what `other` counted (for sums built on several threads).
    #[inline]
    pub fn merge(&mut self, other: &Self) {
        self.micros += other.micros;
        self.has_history |= other.has_history;
    }

    /// The summary the formula takes, or [`ThresholdError::ImplausibleConsumption`] when the
    /// window total reaches [`MAX_EXACT_MICROS`].
    pub fn summary(&self) -> Result<UsageSummary, ThresholdError> {
        if self.micros >= MAX_EXACT_MICROS {
            return Err(ThresholdError::ImplausibleConsumption);
        }
        Ok(UsageSummary { consumed_in_window: Quantity::from_micros(self.micros), has_history: self.has_history })
    }
}

/// First instant of the window ending at `as_of`: `as_of − window_days × 24 h` (saturating at the
/// earliest representable instant).
pub fn window_start(as_of: Timestamp, window_days: u32) -> Timestamp {
    as_of.checked_sub(SignedDuration::from_secs(i64::from(window_days) * 86_400)).unwrap_or(Timestamp::MIN)
}
