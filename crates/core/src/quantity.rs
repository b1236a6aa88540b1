//! Quantities: finite, non-negative numbers of stock units or days.

use std::fmt;

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
    #[error("must be at most {max} (got {value})")]
    TooLarge {
        /// The value given.
        value: f64,
        /// The largest accepted value.
        max: f64,
    },
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

/// A finite, non-negative quantity (stock units, consumed units, counted units).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
#[serde(transparent)]
pub struct Quantity(f64);

impl Quantity {
    /// Zero units.
    pub const ZERO: Quantity = Quantity(0.0);

    /// Builds a quantity from a number, rejecting NaN, infinities and negatives.
    pub fn new(v: f64) -> Result<Self, QuantityError> {
        if !v.is_finite() {
            return Err(QuantityError::NotFinite);
        }
        if v < 0.0 {
            return Err(QuantityError::Negative(v));
        }
        // -0.0 is normalised so equal quantities have equal bits.
        Ok(Self(v + 0.0))
    }

    /// Parses a quantity from text.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        Self::new(parse_finite(s)?)
    }

    /// The quantity as a number.
    pub fn get(self) -> f64 {
        self.0
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
}
