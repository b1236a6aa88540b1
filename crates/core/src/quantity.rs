//! Quantities: finite, non-negative numbers of stock units or days, held to a millionth of a unit
//! and bounded by a plausible per-value limit.
//!
//! Every quantity that enters the product (a consumed, counted or on-hand figure, a threshold) is
//! rounded to whole micro-units (10⁻⁶ of a unit, half away from zero) and must not exceed the
//! plausible limit ([`max_quantity`]: 10⁹ units by default, lowered with
//! [`set_max_quantity`] from the configuration). Sums of quantities are taken over the integer
//! micro-units ([`Quantity::micros`], [`Quantity::from_micros`]), so a sum is exact and does not
//! depend on the order of the events — in memory and in the database alike.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Micro-units per unit: quantities are held to a millionth of a unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// The largest plausible limit a configuration may set (and the default): 10⁹ units. Below it a
/// quantity's micro-units stay exact in a double (< 2⁵³), so stored values read back bit for bit.
pub const QUANTITY_CEILING: f64 = 1e9;

/// The plausible limit in force, as the bits of an `f64` (default [`QUANTITY_CEILING`]).
static MAX_QUANTITY_BITS: AtomicU64 = AtomicU64::new(0x41CD_CD65_0000_0000);

/// The largest quantity accepted for one value (one event, one snapshot, one threshold).
pub fn max_quantity() -> f64 {
    f64::from_bits(MAX_QUANTITY_BITS.load(Ordering::Relaxed))
}

/// Sets the plausible limit for this process (`[limits] max_quantity` in the configuration);
/// it must be greater than zero and at most [`QUANTITY_CEILING`].
pub fn set_max_quantity(limit: f64) -> Result<(), QuantityError> {
    if !limit.is_finite() {
        return Err(QuantityError::NotFinite);
    }
    if limit <= 0.0 {
        return Err(QuantityError::NotPositive(limit));
    }
    if limit > QUANTITY_CEILING {
        return Err(QuantityError::TooLarge { value: limit, max: QUANTITY_CEILING });
    }
    MAX_QUANTITY_BITS.store(limit.to_bits(), Ordering::Relaxed);
    Ok(())
}

/// Why a number is not an acceptable quantity.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantityError {
    /// The text is not a number.
    #[error("not a number: {0:?}")]
    NotANumber(String),
    /// NaN or infinite.
    #[error("must be a finite number")]
    NotFinite,
    /// Below zero.
    #[error("must not be negative (got {0})")]
    Negative(f64),
    /// Zero or below where a strictly positive value is required.
    #[error("must be greater than zero (got {0})")]
    NotPositive(f64),
    /// Above an upper bound.
    #[error("must be at most {} (got {})", compact(*max), compact(*value))]
    TooLarge {
        /// The value given.
        value: f64,
        /// The largest accepted value.
        max: f64,
    },
}

/// A number as people read it: plain up to 10¹⁵, in exponent form beyond (1e308, not 309 digits).
fn compact(v: f64) -> String {
    if v.abs() < 1e15 { v.to_string() } else { format!("{v:e}") }
}

/// Parses a decimal number from text (surrounding blanks allowed), rejecting NaN and infinities.
pub fn parse_finite(s: &str) -> Result<f64, QuantityError> {
    let t = s.trim();
    let v: f64 = t.parse().map_err(|_| QuantityError::NotANumber(s.to_owned()))?;
    if !v.is_finite() {
        return Err(QuantityError::NotFinite);
    }
    Ok(v)
}

/// A finite, non-negative quantity (stock units, consumed units, counted units), a whole number of
/// micro-units (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
#[serde(transparent)]
pub struct Quantity(f64);

impl Quantity {
    /// Zero units.
    pub const ZERO: Quantity = Quantity(0.0);

    /// Builds a quantity from a number: NaN, infinities, negatives and values above
    /// [`max_quantity`] are refused; the value is rounded to whole micro-units.
    pub fn new(v: f64) -> Result<Self, QuantityError> {
        if !v.is_finite() {
            return Err(QuantityError::NotFinite);
        }
        if v < 0.0 {
            return Err(QuantityError::Negative(v));
        }
        let max = max_quantity();
        if v > max {
            return Err(QuantityError::TooLarge { value: v, max });
        }
        // Below the ceiling the micro-units are an exact integer in a double; -0.0 becomes 0.0 so
        // equal quantities have equal bits.
        let micros = (v * MICROS_PER_UNIT as f64).round();
        Ok(Self(micros / MICROS_PER_UNIT as f64 + 0.0))
    }

    /// Parses a quantity from text.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        Self::new(parse_finite(s)?)
    }

    /// The quantity as a number.
    pub fn get(self) -> f64 {
        self.0
    }

    /// The quantity in whole micro-units (exact: a quantity is at most [`QUANTITY_CEILING`]).
    pub fn micros(self) -> i64 {
        (self.0 * MICROS_PER_UNIT as f64).round() as i64
    }

    /// A total of micro-units as a quantity (a sum of many quantities, which may exceed the
    /// per-value limit). Negative totals count as zero.
    pub fn from_micros(total: i128) -> Self {
        Self(total.max(0) as f64 / MICROS_PER_UNIT as f64 + 0.0)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_negative_nan_and_infinite() {
        assert_eq!(Quantity::parse("-1"), Err(QuantityError::Negative(-1.0)));
        assert_eq!(Quantity::parse("NaN"), Err(QuantityError::NotFinite));
        assert_eq!(Quantity::parse("inf"), Err(QuantityError::NotFinite));
        assert!(matches!(Quantity::parse("abc"), Err(QuantityError::NotANumber(_))));
        assert_eq!(Quantity::parse(" 2.5 ").unwrap().get(), 2.5);
        assert!(Quantity::parse("-0").unwrap().get().is_sign_positive());
    }

    #[test]
    fn refuses_values_above_the_plausible_limit() {
        assert_eq!(max_quantity(), QUANTITY_CEILING);
        assert_eq!(Quantity::parse("1e308"), Err(QuantityError::TooLarge { value: 1e308, max: 1e9 }));
        assert_eq!(Quantity::parse("1000000000").unwrap().get(), 1e9);
        assert!(Quantity::parse("1000000000.01").is_err());
        assert!(set_max_quantity(2e9).is_err());
        assert!(set_max_quantity(0.0).is_err());
        assert!(set_max_quantity(f64::NAN).is_err());
    }

    #[test]
    fn rounds_to_micro_units() {
        assert_eq!(Quantity::parse("0.0133333333").unwrap().get(), 0.013333);
        assert_eq!(Quantity::parse("0.0000005").unwrap().micros(), 1);
        assert_eq!(Quantity::parse("2.5").unwrap().micros(), 2_500_000);
        assert_eq!(Quantity::new(1e9).unwrap().micros(), 1_000_000_000_000_000);
        assert_eq!(Quantity::from_micros(2_500_000).get(), 2.5);
        assert_eq!(Quantity::from_micros(-3), Quantity::ZERO);
    }

    proptest::proptest! {
        #[test]
        fn micros_round_trip(v in 0.0f64..1e9) {
            let q = Quantity::new(v).unwrap();
            proptest::prop_assert_eq!(Quantity::from_micros(i128::from(q.micros())), q);
            proptest::prop_assert_eq!(Quantity::new(q.get()).unwrap(), q);
            proptest::prop_assert!((q.get() - v).abs() <= 0.5e-6 + v * f64::EPSILON);
        }
    }
}
