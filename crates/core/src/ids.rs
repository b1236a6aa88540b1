//! Identifier newtypes, parsed once at the boundary.
//!
//! docs/contract.md#identifiers: identifiers are 1–64 characters of `A–Z a–z 0–9 . _ -`. An identifier made only of
//! dots (`.`, `..`) is rejected too, so no identifier can ever act as a path component.

use std::fmt;

/// Longest identifier accepted, in bytes (all accepted characters are ASCII).
pub const MAX_ID_LEN: usize = 64;

/// The identifier rule of [`check_identifier`] as an ECMA-262 regular expression, for API
/// documents: 1–64 characters of `A–Z a–z 0–9 . _ -`, not only dots.
pub const ID_PATTERN: &str = r"^(?!\.+$)[A-Za-z0-9._-]{1,64}$";

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The value is empty.
    #[error("must not be empty")]
    Empty,
    /// The value is longer than [`MAX_ID_LEN`].
    #[error("must be at most {MAX_ID_LEN} characters (got {0})")]
    TooLong(usize),
    /// The value holds a character outside `A–Z a–z 0–9 . _ -`.
    #[error("character {0:?} is not allowed (allowed: A-Z a-z 0-9 . _ -)")]
    BadChar(char),
    /// The value is made only of dots.
    #[error("must not consist only of dots")]
    OnlyDots,
}

/// Checks the identifier rule shared by every id newtype.
pub fn check_identifier(s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(IdError::BadChar(c));
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong(s.len()));
    }
    if s.bytes().all(|b| b == b'.') {
        return Err(IdError::OnlyDots);
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses and validates an identifier.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                Self::check(s).map(|s| Self(s.to_owned()))
            }

            /// Validates an identifier without taking a copy (hot paths that only compare it).
            pub fn check(s: &str) -> Result<&str, IdError> {
                check_identifier(s).map(|()| s)
            }

            /// Wraps text that [`Self::check`] accepted.
            #[allow(dead_code, reason = "used for the id kinds that have borrowed rows")]
            pub(crate) fn from_checked(s: &str) -> Self {
                Self(s.to_owned())
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Takes the identifier's text.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A site (plant, campus) with its own time zone.
    SiteId
);
id_type!(
    /// A spare part in the CMMS part master.
    PartId
);
id_type!(
    /// A maintained asset (machine, chiller, pump …).
    AssetId
);
id_type!(
    /// A data source (ERP, WMS, scanner fleet) that numbers its own deliveries.
    SourceId
);
id_type!(
    /// A source-assigned event id (consumption, failure events), unique per source.
    EventId
);
id_type!(
    /// A PM plan of an asset (an asset may have several: monthly lubrication, yearly overhaul).
    PlanId
);
id_type!(
    /// A part class used for formula overrides (e.g. `BEARING`, `FILTER`).
    PartClass
);
id_type!(
    /// A group of similar assets (e.g. `HVAC-CHILLERS`).
    AssetGroup
);
id_type!(
    /// A part of an asset that fails and is replaced on its own (`BEARING-DE`, `comp1`), as a
    /// failure log names it; life models are built per asset and component.
    ComponentId
);

/// An external SKU as a source system spells it. Unlike internal ids it may carry surrounding
/// blanks and any case (mapping normalises it), but never control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct ExternalSku(String);

impl ExternalSku {
    /// Parses an external SKU: 1–64 characters once trimmed, no control characters.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Self::check(s).map(|s| Self(s.to_owned()))
    }

    /// Wraps text that [`Self::check`] accepted.
    pub(crate) fn from_checked(s: &str) -> Self {
        Self(s.to_owned())
    }

    /// Validates an external SKU without taking a copy; the text is kept exactly as delivered.
    pub fn check(s: &str) -> Result<&str, IdError> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(IdError::Empty);
        }
        if let Some(c) = s.chars().find(|c| c.is_control()) {
            return Err(IdError::BadChar(c));
        }
        let n = trimmed.chars().count();
        if n > MAX_ID_LEN {
            return Err(IdError::TooLong(n));
        }
        Ok(s)
    }

    /// The SKU exactly as delivered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised form used for the second mapping rule: trimmed and upper-cased.
    pub fn normalized(&self) -> String {
        self.0.trim().to_uppercase()
    }
}

impl fmt::Display for ExternalSku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_pattern_has_the_length_limit_in_force() {
        assert!(ID_PATTERN.contains(&format!("{{1,{MAX_ID_LEN}}}")), "{ID_PATTERN}");
        assert!(ID_PATTERN.contains("(?!\\.+$)"), "only-dots rule missing: {ID_PATTERN}");
    }

    #[test]
    fn accepts_the_documented_alphabet() {
        assert!(PartId::parse("BRG-6204_2RS.v1").is_ok());
        assert!(PartId::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_path_like_and_bad_ids() {
        assert_eq!(PartId::parse("../etc"), Err(IdError::BadChar('/')));
        assert_eq!(PartId::parse(".."), Err(IdError::OnlyDots));
        assert_eq!(PartId::parse(""), Err(IdError::Empty));
        assert_eq!(PartId::parse(&"a".repeat(65)), Err(IdError::TooLong(65)));
        assert_eq!(PartId::parse("a b"), Err(IdError::BadChar(' ')));
        assert_eq!(PartId::parse("é"), Err(IdError::BadChar('é')));
    }

    #[test]
    fn sku_normalises_blanks_and_case() {
        let sku = ExternalSku::parse("  brg-6204 ").unwrap();
        assert_eq!(sku.normalized(), "BRG-6204");
        assert!(ExternalSku::parse("   ").is_err());
        assert!(ExternalSku::parse("a\tb").is_err());
    }
}
