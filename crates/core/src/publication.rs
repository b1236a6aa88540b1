//! Publication to an external CMMS, the pure part: the seed article's threshold payload with its
//! checksum (sent by the publisher and accepted by `PUT /api/v1/inventory/thresholds/{part_id}`),
//! and the delivery rules — how an attempt's outcome is classified and when the next attempt is
//! due (exponential backoff with jitter, `Retry-After` honoured, dead-letter after the last try).
//!
//! Nothing here reads the clock or draws random numbers: `now` and the jitter draw are parameters.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The threshold limits of the seed article's payload.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Minimum stock.
    pub min: f64,
    /// Reorder point.
    pub reorder: f64,
    /// Maximum (order-up-to) stock.
    pub max: f64,
}

/// The seed article's `ThresholdSyncPipeline.sync_thresholds` payload, unchanged: what the
/// publisher PUTs to a target and what the threshold endpoint accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ThresholdSync {
    /// Must equal the path's part id.
    pub part_id: String,
    /// The stock the sender saw (recorded; stock itself comes from snapshots).
    pub current_stock: f64,
    /// The limits.
    pub thresholds: Limits,
    /// Must be newer than the sequence in force for the part (else 409).
    pub sequence_id: i64,
    /// When the sender produced it (RFC 3339; no offset means UTC).
    pub sync_timestamp: String,
    /// Lower-case hex SHA-256 of `"{part_id}:{sequence_id}"`.
    pub checksum: String,
}

/// The payload's checksum: lower-case hex SHA-256 of `"{part_id}:{sequence_id}"` (the seed's rule).
pub fn payload_checksum(part_id: &str, sequence_id: i64) -> String {
    format!("{:x}", Sha256::digest(format!("{part_id}:{sequence_id}")))
}

impl ThresholdSync {
    /// Builds the payload for one threshold change, with its checksum.
    pub fn new(part_id: &str, current_stock: f64, limits: [f64; 3], sequence_id: i64, at: Timestamp) -> Self {
        ThresholdSync {
            part_id: part_id.to_owned(),
            current_stock,
            thresholds: Limits { min: limits[0], reorder: limits[1], max: limits[2] },
            sequence_id,
            sync_timestamp: at.to_string(),
            checksum: payload_checksum(part_id, sequence_id),
        }
    }

    /// Whether the checksum matches `part_id` and `sequence_id` (hex case ignored).
    pub fn checksum_ok(&self) -> bool {
        self.checksum.eq_ignore_ascii_case(&payload_checksum(&self.part_id, self.sequence_id))
    }
}

/// What one delivery attempt came back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The target answered with an HTTP status.
    Status {
        /// The HTTP status code.
        code: u16,
        /// Its `Retry-After`, in milliseconds, when it gave one in seconds.
        retry_after_ms: Option<i64>,
    },
    /// No answer within the target's timeout.
    Timeout,
    /// The connection failed or dropped (refused, reset, closed mid-response).
    Connection(String),
}

/// How often and how patiently a change is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all before a retryable failure is dead-lettered (docs/contract.md#publication: 3).
    pub max_attempts: u32,
    /// Delay before the second attempt, milliseconds; doubled for each later one.
    pub base_delay_ms: i64,
    /// Upper bound of any delay, milliseconds (also caps `Retry-After`).
    pub max_delay_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, base_delay_ms: 1_000, max_delay_ms: 60_000 }
    }
}

/// What to do with a change after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: applied by the target.
    Delivered,
    /// 409: the target already has this sequence (or a newer one); nothing more to do.
    AlreadyApplied,
    /// A transient failure: try again at this instant (epoch ms).
    RetryAt(i64),
    /// Give up: into the dead-letter queue, for this reason.
    DeadLetter(String),
}

impl Verdict {
    /// Whether the change is finished with at the target (delivered or already there).
    pub fn is_done(&self) -> bool {
        matches!(self, Verdict::Delivered | Verdict::AlreadyApplied)
    }
}

/// Whether an outcome is a transient failure worth retrying: 408, 429, 5xx, timeouts and
/// connection errors.
pub fn is_retryable(outcome: &AttemptOutcome) -> bool {
    match outcome {
        AttemptOutcome::Status { code, .. } => *code == 408 || *code == 429 || (500..600).contains(code),
        AttemptOutcome::Timeout | AttemptOutcome::Connection(_) => true,
    }
}

/// The delay before attempt `attempt + 1`, after `attempt` failed attempts (1-based): the
/// exponential step `base × 2^(attempt−1)`, capped, scaled by `0.5 + jitter / 2` ("equal jitter":
/// never less than half the step, so instances that failed together spread out without retrying
/// at once). `jitter` is a uniform draw in `[0, 1)`; out-of-range draws are clamped.
pub fn backoff_delay_ms(policy: &RetryPolicy, attempt: u32, jitter: f64) -> i64 {
    let shift = attempt.saturating_sub(1).min(40);
    let step = policy.base_delay_ms.max(0).saturating_mul(1_i64 << shift).min(policy.max_delay_ms.max(0));
    let j = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
    // step ≤ max_delay_ms, so the product stays well inside f64's exact integer range.
    (step as f64 * (0.5 + j / 2.0)).round() as i64
}

/// Decides what follows attempt number `attempt` (1-based) that ended with `outcome`.
pub fn decide(outcome: &AttemptOutcome, attempt: u32, policy: &RetryPolicy, now_ms: i64, jitter: f64) -> Verdict {
    if let AttemptOutcome::Status { code, .. } = outcome {
        if (200..300).contains(code) {
            return Verdict::Delivered;
        }
        if *code == 409 {
            return Verdict::AlreadyApplied;
        }
    }
    if !is_retryable(outcome) {
        return Verdict::DeadLetter(format!("{}: not retryable", describe(outcome)));
    }
    if attempt >= policy.max_attempts {
        return Verdict::DeadLetter(format!("{} after {attempt} attempt(s)", describe(outcome)));
    }
    let mut delay = backoff_delay_ms(policy, attempt, jitter);
    if let AttemptOutcome::Status { retry_after_ms: Some(after), .. } = outcome {
        delay = delay.max((*after).clamp(0, policy.max_delay_ms.max(0)));
    }
    Verdict::RetryAt(now_ms.saturating_add(delay))
}

/// A short human description of an outcome (`HTTP 503`, `timeout`, `connection error: …`).
pub fn describe(outcome: &AttemptOutcome) -> String {
    match outcome {
        AttemptOutcome::Status { code, .. } => format!("HTTP {code}"),
        AttemptOutcome::Timeout => "timeout".to_owned(),
        AttemptOutcome::Connection(e) => format!("connection error: {e}"),
    }
}

/// Whether a target with these filters publishes changes of a part: every part when both lists
/// are empty, else a part named in `parts` or of a class named in `classes`.
pub fn target_wants(parts: &[String], classes: &[String], part_id: &str, part_class: &str) -> bool {
    (parts.is_empty() && classes.is_empty())
        || parts.iter().any(|p| p == part_id)
        || classes.iter().any(|c| c == part_class)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status(code: u16) -> AttemptOutcome {
        AttemptOutcome::Status { code, retry_after_ms: None }
    }

    #[test]
    fn payload_matches_the_seed() {
        let at: Timestamp = "2025-03-09T14:30:00Z".parse().unwrap();
        let p = ThresholdSync::new("BRG-6204", 12.0, [1.5, 1.88, 2.82], 7, at);
        assert_eq!(p.checksum, payload_checksum("BRG-6204", 7));
        assert_eq!(p.checksum.len(), 64);
        assert!(p.checksum_ok());
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["thresholds"]["reorder"], 1.88);
        assert_eq!(json["sync_timestamp"], "2025-03-09T14:30:00Z");
        let back: ThresholdSync = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
        let tampered = ThresholdSync { sequence_id: 8, ..p };
        assert!(!tampered.checksum_ok());
    }

    #[test]
    fn classifies_outcomes() {
        let p = RetryPolicy::default();
        assert_eq!(decide(&status(200), 1, &p, 0, 0.0), Verdict::Delivered);
        assert_eq!(decide(&status(204), 3, &p, 0, 0.0), Verdict::Delivered);
        assert_eq!(decide(&status(409), 1, &p, 0, 0.0), Verdict::AlreadyApplied);
        assert!(matches!(decide(&status(422), 1, &p, 0, 0.0), Verdict::DeadLetter(r) if r.contains("HTTP 422")));
        assert!(matches!(decide(&status(401), 1, &p, 0, 0.0), Verdict::DeadLetter(_)));
        for retryable in [status(500), status(503), status(408), status(429), AttemptOutcome::Timeout] {
            assert!(matches!(decide(&retryable, 1, &p, 0, 0.0), Verdict::RetryAt(_)), "{retryable:?}");
            assert!(matches!(decide(&retryable, 3, &p, 0, 0.0), Verdict::DeadLetter(r) if r.contains("3 attempt")));
        }
        let conn = AttemptOutcome::Connection("reset".into());
        assert_eq!(decide(&conn, 1, &p, 1_000, 0.0), Verdict::RetryAt(1_500));
    }

    #[test]
    fn backoff_doubles_and_honours_retry_after() {
        let p = RetryPolicy { max_attempts: 5, base_delay_ms: 100, max_delay_ms: 1_000 };
        assert_eq!(backoff_delay_ms(&p, 1, 0.0), 50);
        assert_eq!(backoff_delay_ms(&p, 2, 0.999_999), 200);
        assert_eq!(backoff_delay_ms(&p, 3, 0.0), 200);
        assert_eq!(backoff_delay_ms(&p, 30, 0.0), 500);
        let later = AttemptOutcome::Status { code: 503, retry_after_ms: Some(800) };
        assert_eq!(decide(&later, 1, &p, 0, 0.0), Verdict::RetryAt(800));
        let huge = AttemptOutcome::Status { code: 429, retry_after_ms: Some(10_000_000) };
        assert_eq!(decide(&huge, 1, &p, 0, 0.0), Verdict::RetryAt(1_000));
    }

    #[test]
    fn target_filters() {
        let none: Vec<String> = vec![];
        assert!(target_wants(&none, &none, "P1", "BEARING"));
        let parts = vec!["P1".to_owned()];
        let classes = vec!["SEAL".to_owned()];
        assert!(target_wants(&parts, &none, "P1", "X"));
        assert!(!target_wants(&parts, &none, "P2", "X"));
        assert!(target_wants(&parts, &classes, "P2", "SEAL"));
        assert!(!target_wants(&none, &classes, "P2", "BEARING"));
    }

    proptest! {
        #[test]
        fn delays_stay_within_bounds(attempt in 1u32..100, jitter in -1.0f64..2.0, base in 0i64..100_000, cap in 0i64..10_000_000) {
            let p = RetryPolicy { max_attempts: 100, base_delay_ms: base, max_delay_ms: cap };
            let d = backoff_delay_ms(&p, attempt, jitter);
            prop_assert!(d >= 0 && d <= cap);
            let full = backoff_delay_ms(&p, attempt, 1.0);
            prop_assert!(d * 2 >= full - 1);
        }

        #[test]
        fn retries_end_in_the_dead_letter_queue(code in 500u16..600, max in 1u32..10) {
            let p = RetryPolicy { max_attempts: max, base_delay_ms: 10, max_delay_ms: 100 };
            let mut attempt = 1;
            while let Verdict::RetryAt(_) = decide(&status(code), attempt, &p, 0, 0.5) {
                attempt += 1;
            }
            prop_assert_eq!(attempt, max);
        }
    }
}
