//! API token rules: scopes and what each allows, the token format, its hash, token names and how
//! often a token's last use is recorded. Pure: the random bytes and the clock come from the caller.
//!
//! A token is `cmms_` followed by 64 lower-case hex digits (32 random bytes); the recognisable
//! prefix lets secret scanners find leaked tokens. Only its SHA-256 is ever stored: the token has
//! 256 bits of entropy, so a plain (unsalted, fast) hash is enough to make the stored value useless
//! to whoever reads the database.

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt::{self, Write};

/// What a token may do. Each scope allows itself; `operate` also allows `read`; `admin` allows all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Push data in through the ingestion webhooks.
    Ingest,
    /// Read state: thresholds, work orders, reports.
    Read,
    /// Act on state: work-order transitions, quarantine and DLQ actions (and everything `read` allows).
    Operate,
    /// Everything, including token management.
    Admin,
}

/// Why a scope or a scope list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// A name that is not one of the four scopes.
    #[error("unknown scope {0:?} (expected ingest, read, operate or admin)")]
    Unknown(String),
    /// No scope at all.
    #[error("at least one scope is required (ingest, read, operate or admin)")]
    Empty,
}

impl Scope {
    /// Every scope, from the narrowest to the widest.
    pub const ALL: [Scope; 4] = [Scope::Ingest, Scope::Read, Scope::Operate, Scope::Admin];

    /// Parses a lower-case scope name (surrounding spaces ignored; other cases refused).
    pub fn parse(s: &str) -> Result<Scope, ScopeError> {
        match s.trim() {
            "ingest" => Ok(Scope::Ingest),
            "read" => Ok(Scope::Read),
            "operate" => Ok(Scope::Operate),
            "admin" => Ok(Scope::Admin),
            other => Err(ScopeError::Unknown(other.to_owned())),
        }
    }

    /// The scope's lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Operate => "operate",
            Scope::Admin => "admin",
        }
    }

    /// Whether a token holding this scope may do what `required` guards.
    pub fn allows(self, required: Scope) -> bool {
        match self {
            Scope::Admin => true,
            Scope::Operate => matches!(required, Scope::Operate | Scope::Read),
            Scope::Read => required == Scope::Read,
            Scope::Ingest => required == Scope::Ingest,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::parse(s)
    }
}

/// The non-empty set of scopes a token holds; stored as comma-separated names in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// The set of `scopes` (duplicates collapse); refused when empty.
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Result<Scopes, ScopeError> {
        let set: BTreeSet<Scope> = scopes.into_iter().collect();
        if set.is_empty() { Err(ScopeError::Empty) } else { Ok(Scopes(set)) }
    }

    /// Parses comma-separated scope names, e.g. `read,operate` (spaces around names ignored).
    pub fn parse(text: &str) -> Result<Scopes, ScopeError> {
        let names = text.split(',').map(str::trim).filter(|s| !s.is_empty());
        Scopes::new(names.map(Scope::parse).collect::<Result<Vec<_>, _>>()?)
    }

    /// Whether any held scope allows `required`.
    pub fn allows(&self, required: Scope) -> bool {
        self.0.iter().any(|s| s.allows(required))
    }

    /// Whether `scope` itself is held (not merely allowed through a wider one).
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    /// The held scopes, narrowest first.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for Scopes {
    /// The stored form: names joined by commas, narrowest first (`ingest,read`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

/// The prefix of every token.
pub const TOKEN_PREFIX: &str = "cmms_";

/// How many random bytes a token carries.
pub const TOKEN_BYTES: usize = 32;

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The token text for `random` bytes: [`TOKEN_PREFIX`] and lower-case hex.
pub fn format_token(random: &[u8; TOKEN_BYTES]) -> String {
    format!("{TOKEN_PREFIX}{}", hex(random))
}

/// Whether `token` has the shape [`format_token`] produces (checked before any lookup).
pub fn is_well_formed(token: &str) -> bool {
    token.strip_prefix(TOKEN_PREFIX).is_some_and(|h| {
        h.len() == TOKEN_BYTES * 2 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The credential in an `Authorization` header value (`Bearer <token>`, scheme in any case), or
/// the value itself when it carries no scheme; surrounding spaces removed.
pub fn bearer_credential(value: &str) -> &str {
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    }
}

/// The stored form of a token: lower-case hex SHA-256 of its text.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Why a token name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenNameError {
    /// Not an identifier (1–64 of `A–Z a–z 0–9 . _ -`).
    #[error("{0}")]
    Identifier(#[from] crate::ids::IdError),
    /// Only digits: it could not be told apart from a token id.
    #[error("must not be only digits (it would read as a token id)")]
    Numeric,
    /// `token-N` is the default name of token N, so no other token may take it.
    #[error("names of the form token-N are reserved for tokens created without a name")]
    Reserved,
}

/// The name a token gets when none is given.
pub fn default_token_name(id: i64) -> String {
    format!("token-{id}")
}

/// Checks a user-chosen token name: an identifier, not a number, not a default name.
pub fn check_token_name(name: &str) -> Result<(), TokenNameError> {
    crate::ids::check_identifier(name)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(name) {
        return Err(TokenNameError::Numeric);
    }
    if name.strip_prefix("token-").is_some_and(digits) {
        return Err(TokenNameError::Reserved);
    }
    Ok(())
}

/// At most one `last_used_at` write per token per this many milliseconds.
pub const TOUCH_INTERVAL_MS: i64 = 60_000;

/// Whether a use at `now_ms` should be recorded, given the recorded last use.
pub fn should_touch(last_used_at: Option<i64>, now_ms: i64) -> bool {
    last_used_at.is_none_or(|t| now_ms.saturating_sub(t) >= TOUCH_INTERVAL_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Ok(s));
            assert_eq!(s.to_string().parse::<Scope>(), Ok(s));
        }
        assert_eq!(Scope::parse(" read "), Ok(Scope::Read));
        assert_eq!(Scope::parse("Admin"), Err(ScopeError::Unknown("Admin".into())));
        assert_eq!(Scope::parse("write"), Err(ScopeError::Unknown("write".into())));
    }

    #[test]
    fn scope_rule_matrix() {
        use Scope::*;
        let allowed = |s: Scope| Scope::ALL.into_iter().filter(|r| s.allows(*r)).collect::<Vec<_>>();
        assert_eq!(allowed(Admin), vec![Ingest, Read, Operate, Admin]);
        assert_eq!(allowed(Operate), vec![Read, Operate]);
        assert_eq!(allowed(Read), vec![Read]);
        assert_eq!(allowed(Ingest), vec![Ingest]);
    }

    #[test]
    fn scope_sets_parse_dedupe_and_print_in_order() {
        let s = Scopes::parse("operate, ingest,operate").unwrap();
        assert_eq!(s.to_string(), "ingest,operate");
        assert_eq!(Scopes::parse(&s.to_string()), Ok(s.clone()));
        assert!(s.allows(Scope::Ingest) && s.allows(Scope::Read) && s.allows(Scope::Operate));
        assert!(!s.allows(Scope::Admin));
        assert!(s.contains(Scope::Operate) && !s.contains(Scope::Read));
        assert_eq!(Scopes::parse(""), Err(ScopeError::Empty));
        assert_eq!(Scopes::parse(" , "), Err(ScopeError::Empty));
        assert_eq!(Scopes::parse("read,nope"), Err(ScopeError::Unknown("nope".into())));
        assert_eq!(Scopes::new([]), Err(ScopeError::Empty));
        assert!(Scopes::new([Scope::Admin]).unwrap().allows(Scope::Ingest));
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"["ingest","operate"]"#);
    }

    #[test]
    fn hash_is_lowercase_hex_sha256() {
        assert_eq!(hash_token(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn tokens_have_the_prefix_and_64_hex_digits() {
        let mut bytes = [0u8; TOKEN_BYTES];
        bytes[0] = 0xab;
        bytes[31] = 0x0f;
        let t = format_token(&bytes);
        assert_eq!(t.len(), TOKEN_PREFIX.len() + 64);
        assert!(t.starts_with("cmms_ab00") && t.ends_with("000f"), "{t}");
        assert!(is_well_formed(&t));
        assert!(!is_well_formed(&t.to_uppercase()));
        assert!(!is_well_formed(&t[..t.len() - 1]));
        assert!(!is_well_formed(&format!("{t}0")));
        assert!(!is_well_formed(&t.replace("cmms_", "cmmz_")));
        assert!(!is_well_formed(&format!("{}g", &t[..t.len() - 1])));
        assert!(!is_well_formed(""));
    }

    #[test]
    fn bearer_values() {
        assert_eq!(bearer_credential("Bearer cmms_ab"), "cmms_ab");
        assert_eq!(bearer_credential(" bearer   cmms_ab "), "cmms_ab");
        assert_eq!(bearer_credential("cmms_ab"), "cmms_ab");
        assert_eq!(bearer_credential("Basic dXNlcg=="), "Basic dXNlcg==");
        assert_eq!(bearer_credential(""), "");
    }

    #[test]
    fn token_names() {
        assert_eq!(check_token_name("ci-ingest.v2"), Ok(()));
        assert_eq!(check_token_name("token-a"), Ok(()));
        assert_eq!(check_token_name("token-"), Ok(()));
        assert_eq!(check_token_name("42"), Err(TokenNameError::Numeric));
        assert_eq!(check_token_name("token-7"), Err(TokenNameError::Reserved));
        assert!(matches!(check_token_name("a b"), Err(TokenNameError::Identifier(_))));
        assert!(matches!(check_token_name(""), Err(TokenNameError::Identifier(_))));
        assert_eq!(default_token_name(7), "token-7");
        assert_eq!(check_token_name(&default_token_name(7)), Err(TokenNameError::Reserved));
    }

    #[test]
    fn last_use_is_recorded_at_most_once_a_minute() {
        assert!(should_touch(None, 0));
        assert!(!should_touch(Some(1_000), 1_000 + TOUCH_INTERVAL_MS - 1));
        assert!(should_touch(Some(1_000), 1_000 + TOUCH_INTERVAL_MS));
        assert!(!should_touch(Some(5_000), 1_000), "a clock step backwards writes nothing");
    }
}
