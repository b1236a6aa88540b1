//! Dashboard session rules: the session id's format, its stored form, how long a session lives
//! and how long it may sit unused. Pure: the random bytes and the clock come from the caller.
//!
//! A session id is 64 lower-case hex digits (32 random bytes from the operating system). Like an
//! API token it is stored only as its SHA-256 ([`hash_session_id`]): whoever reads the database
//! cannot sign in with what they read.

use crate::auth::{hash_token, hex};

/// How many random bytes a session id carries.
pub const SESSION_ID_BYTES: usize = 32;

/// Default absolute lifetime of a session: 12 hours (a shift and then some).
pub const DEFAULT_LIFETIME_MS: i64 = 12 * 3_600_000;

/// Default idle timeout of a session: 1 hour without a request ends it.
pub const DEFAULT_IDLE_MS: i64 = 3_600_000;

/// At most one `last_seen_at` write per session per this many milliseconds (less when the idle
/// timeout is short: see [`SessionPolicy::should_touch`]).
pub const TOUCH_INTERVAL_MS: i64 = 60_000;

/// The session id for `random` bytes: lower-case hex.
pub fn format_session_id(random: &[u8; SESSION_ID_BYTES]) -> String {
    hex(random)
}

/// Whether `id` has the shape [`format_session_id`] produces (checked before any lookup).
pub fn is_well_formed_session_id(id: &str) -> bool {
    id.len() == SESSION_ID_BYTES * 2 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The stored form of a session id: lower-case hex SHA-256 of its text.
pub fn hash_session_id(id: &str) -> String {
    hash_token(id)
}

/// Why a session policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionPolicyError {
    /// A lifetime or idle timeout of zero or less.
    #[error("{0} must be at least one second")]
    NotPositive(&'static str),
}

/// Whether a stored session may still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Within its lifetime and used recently enough.
    Live,
    /// Past its absolute lifetime.
    Expired,
    /// Unused for longer than the idle timeout.
    Idle,
}

/// How long sessions live: an absolute lifetime from sign-in and an idle timeout since the last
/// request, both in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    lifetime_ms: i64,
    idle_ms: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { lifetime_ms: DEFAULT_LIFETIME_MS, idle_ms: DEFAULT_IDLE_MS }
    }
}

impl SessionPolicy {
    /// A policy; both durations must be positive.
    pub fn new(lifetime_ms: i64, idle_ms: i64) -> Result<SessionPolicy, SessionPolicyError> {
        if lifetime_ms <= 0 {
            return Err(SessionPolicyError::NotPositive("the session lifetime"));
        }
        if idle_ms <= 0 {
            return Err(SessionPolicyError::NotPositive("the session idle timeout"));
        }
        Ok(SessionPolicy { lifetime_ms, idle_ms })
    }

    /// The absolute lifetime, milliseconds.
    pub fn lifetime_ms(&self) -> i64 {
        self.lifetime_ms
    }

    /// The idle timeout, milliseconds.
    pub fn idle_ms(&self) -> i64 {
        self.idle_ms
    }

    /// When a session opened at `now_ms` ends at the latest.
    pub fn expires_at(&self, now_ms: i64) -> i64 {
        now_ms.saturating_add(self.lifetime_ms)
    }

    /// Sessions last seen before this instant are idle at `now_ms`.
    pub fn idle_before(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.idle_ms)
    }

    /// The state at `now_ms` of a session last seen at `last_seen_ms` that ends at `expires_at`.
    pub fn state(&self, last_seen_ms: i64, expires_at: i64, now_ms: i64) -> SessionState {
        if now_ms >= expires_at {
            SessionState::Expired
        } else if last_seen_ms < self.idle_before(now_ms) {
            SessionState::Idle
        } else {
            SessionState::Live
        }
    }

    /// Whether a request at `now_ms` should be recorded as the session's last use: at most once
    /// per [`TOUCH_INTERVAL_MS`], or per a quarter of the idle timeout when that is shorter, so a
    /// session in use never looks idle.
    pub fn should_touch(&self, last_seen_ms: i64, now_ms: i64) -> bool {
        now_ms.saturating_sub(last_seen_ms) >= TOUCH_INTERVAL_MS.min(self.idle_ms / 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_64_hex_digits_and_stored_hashed() {
        let mut bytes = [0u8; SESSION_ID_BYTES];
        bytes[0] = 0xab;
        let id = format_session_id(&bytes);
        assert_eq!(id.len(), 64);
        assert!(id.starts_with("ab00"));
        assert!(is_well_formed_session_id(&id));
        assert!(!is_well_formed_session_id(&id.to_uppercase()));
        assert!(!is_well_formed_session_id(&id[1..]));
        assert!(!is_well_formed_session_id(&format!("cmms_{}", &id[5..])));
        assert!(!is_well_formed_session_id(""));
        assert_eq!(hash_session_id("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn a_session_ends_at_its_lifetime_or_after_its_idle_timeout() {
        let p = SessionPolicy::new(10_000, 3_000).unwrap();
        let opened = 1_000;
        let expires = p.expires_at(opened);
        assert_eq!(expires, 11_000);
        assert_eq!(p.state(opened, expires, opened), SessionState::Live);
        assert_eq!(p.state(opened, expires, opened + 3_000), SessionState::Live);
        assert_eq!(p.state(opened, expires, opened + 3_001), SessionState::Idle);
        assert_eq!(p.state(10_000, expires, 10_999), SessionState::Live);
        assert_eq!(p.state(10_999, expires, 11_000), SessionState::Expired, "use does not extend the lifetime");
    }

    #[test]
    fn policies_need_positive_durations_and_default_to_12_hours_and_1_hour() {
        assert_eq!(SessionPolicy::new(0, 1), Err(SessionPolicyError::NotPositive("the session lifetime")));
        assert_eq!(SessionPolicy::new(1, -1), Err(SessionPolicyError::NotPositive("the session idle timeout")));
        let d = SessionPolicy::default();
        assert_eq!((d.lifetime_ms(), d.idle_ms()), (43_200_000, 3_600_000));
    }

    #[test]
    fn last_use_is_recorded_often_enough_for_the_idle_timeout() {
        let d = SessionPolicy::default();
        assert!(!d.should_touch(0, TOUCH_INTERVAL_MS - 1));
        assert!(d.should_touch(0, TOUCH_INTERVAL_MS));
        let short = SessionPolicy::new(60_000, 2_000).unwrap();
        assert!(short.should_touch(0, 500));
        assert!(!short.should_touch(0, 499));
        assert!(!d.should_touch(5_000, 1_000), "a clock step backwards writes nothing");
    }
}
