//! Publication stage: delivers the outbox to external CMMS targets with the seed article's
//! threshold PUT, by the rules of [`cmms_core::publication`] — 2xx delivered, 409 already applied,
//! 408/429/5xx/timeouts/connection errors retried with backoff and jitter, other 4xx and the last
//! failed try dead-lettered with the full request and every response.
//!
//! Several publishers (threads of one `cmms serve`, or several processes on one PostgreSQL) share
//! the outbox through the store's per-(target, part) leases; a lease outlives any send started
//! under it, so an instance never sends for a part another instance holds.

use cmms_core::publication::{AttemptOutcome, RetryPolicy, Verdict, decide, describe};
use cmms_store::codes::{AlertKind, OutboxStatus};
use cmms_store::publication::{AttemptResult, AttemptRow, Claim, OutboxItem, PublicationRoute};
use cmms_store::{Store, StoreError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Alert kind: dead letters of a target reached the configured depth.
pub const ALERT_DLQ: AlertKind = AlertKind::Dlq;

/// The path of the seed article's threshold endpoint, `{part_id}` replaced per change.
pub const DEFAULT_PATH_TEMPLATE: &str = "/api/v1/inventory/thresholds/{part_id}";

/// Longest response body kept with an attempt.
const MAX_RESPONSE_CHARS: usize = 4_096;

/// Changes one lease holder sends for a part before giving the lease back (new changes that keep
/// arriving for one part must not starve the others).
const MAX_SENDS_PER_LEASE: usize = 4;

/// Errors of the publication stage.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A target's settings are unusable.
    #[error("publication target {target:?}: {reason}")]
    Config {
        /// The target's name.
        target: String,
        /// What is wrong.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An external CMMS that threshold changes are published to.
#[derive(Clone, PartialEq)]
pub struct Target {
    /// Unique name (the outbox rows' `target`).
    pub name: String,
    /// Scheme, host and port, e.g. `https://cmms.example.com`.
    pub base_url: String,
    /// Path with a `{part_id}` placeholder.
    pub path_template: String,
    /// Bearer token sent as `Authorization: Bearer …`, if any.
    pub token: Option<String>,
    /// Time allowed for one attempt (connect, send, answer).
    pub timeout: Duration,
    /// Only these parts (with `classes`: either matches); both empty means every part.
    pub parts: Vec<String>,
    /// Only parts of these classes.
    pub classes: Vec<String>,
    /// Retries and backoff.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("path_template", &self.path_template)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("parts", &self.parts)
            .field("classes", &self.classes)
            .field("retry", &self.retry)
            .finish()
    }
}

impl Target {
    /// Checks the settings: a name, an http(s) base URL, a path naming `{part_id}`, a timeout and
    /// at least one attempt.
    pub fn check(&self) -> Result<(), PublishError> {
        let fail = |reason: &str| Err(PublishError::Config { target: self.name.clone(), reason: reason.to_owned() });
        if self.name.trim().is_empty() || self.name.len() > 64 {
            return fail("name must be 1-64 characters");
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return fail("base_url must start with http:// or https://");
        }
        if !self.path_template.starts_with('/') || !self.path_template.contains("{part_id}") {
            return fail("path must start with / and contain {part_id}");
        }
        if self.timeout.is_zero() {
            return fail("timeout_ms must be at least 1");
        }
        if self.retry.max_attempts == 0 {
            return fail("max_attempts must be at least 1");
        }
        Ok(())
    }

    /// The URL a part's thresholds are PUT to (part ids are `[A-Za-z0-9._-]`, safe in a path).
    pub fn url(&self, part_id: &str) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), self.path_template.replace("{part_id}", part_id))
    }

    /// Which parts' changes the store should queue for this target.
    pub fn route(&self) -> PublicationRoute {
        PublicationRoute { target: self.name.clone(), parts: self.parts.clone(), classes: self.classes.clone() }
    }
}

/// How a publisher instance shares the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherSettings {
    /// This instance's lease owner id (unique per process).
    pub owner: String,
    /// How long a claimed part stays leased; must exceed every target's timeout.
    pub lease_ms: i64,
    /// Pause between passes when there is nothing due.
    pub poll_interval: Duration,
    /// Parts delivered concurrently.
    pub concurrency: usize,
    /// Dead letters per target at which a `DLQ` alert is raised.
    pub dlq_alert_depth: i64,
}

impl PublisherSettings {
    /// Defaults with a fresh owner id: 30 s leases, 1 s polls, 8 parts at once, alert at 1.
    pub fn new() -> Self {
        PublisherSettings {
            owner: owner_id(),
            lease_ms: 30_000,
            poll_interval: Duration::from_secs(1),
            concurrency: 8,
            dlq_alert_depth: 1,
        }
    }

    /// Checks the settings against the targets (a lease must outlast one attempt with margin).
    pub fn check(&self, targets: &[Target]) -> Result<(), PublishError> {
        for t in targets {
            t.check()?;
            let need = t.timeout.as_millis() as i64 + 1_000;
            if self.lease_ms < need {
                return Err(PublishError::Config {
                    target: t.name.clone(),
                    reason: format!("lease_ms ({}) must be at least timeout_ms + 1000 ({need})", self.lease_ms),
                });
            }
        }
        let mut names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(PublishError::Config { target: w[0].to_owned(), reason: "duplicate target name".into() });
        }
        Ok(())
    }
}

impl Default for PublisherSettings {
    fn default() -> Self {
        Self::new()
    }
}

/// A process-unique lease owner id: `pid-random`.
pub fn owner_id() -> String {
    let mut r = [0u8; 6];
    let _ = getrandom::fill(&mut r);
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", std::process::id())
}

/// A uniform draw in `[0, 1)` for backoff jitter (0.5 if the OS gives no randomness).
fn jitter() -> f64 {
    let mut r = [0u8; 8];
    match getrandom::fill(&mut r) {
        Ok(()) => (u64::from_le_bytes(r) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// What a target answered to one PUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status, timeout or connection error.
    pub outcome: AttemptOutcome,
    /// The response body (or the body read error), when there was an answer.
    pub body: Option<String>,
}

/// The outbound seam: PUTs a JSON body to a target.
pub trait Transport: Send + Sync + 'static {
    /// Sends `body` to `url` with the target's token and timeout.
    fn put(&self, target: &Target, url: &str, body: &str) -> impl Future<Output = Response> + Send;
}

/// The real transport: reqwest over rustls.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    /// A client with a connection pool shared by every target.
    pub fn new() -> Result<Self, PublishError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("cmms-pipeline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PublishError::Config { target: "*".into(), reason: format!("HTTP client: {e}") })?;
        Ok(HttpTransport { client })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        s.push_str(": ");
        s.push_str(&c.to_string());
        source = c.source();
    }
    s
}

impl Transport for HttpTransport {
    async fn put(&self, target: &Target, url: &str, body: &str) -> Response {
        let mut req = self
            .client
            .put(url)
            .timeout(target.timeout)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(token) = &target.token {
            req = req.bearer_auth(token);
        }
        match req.send().await {
            Ok(resp) => {
                let code = resp.status().as_u16();
                let retry_after_ms = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .map(|s| s.saturating_mul(1_000));
                let body = match resp.text().await {
                    Ok(t) => t.chars().take(MAX_RESPONSE_CHARS).collect(),
                    Err(e) => format!("(response body unreadable: {})", error_chain(&e)),
                };
                Response { outcome: AttemptOutcome::Status { code, retry_after_ms }, body: Some(body) }
            }
            Err(e) if e.is_timeout() => Response { outcome: AttemptOutcome::Timeout, body: None },
            Err(e) => Response { outcome: AttemptOutcome::Connection(error_chain(&e)), body: None },
        }
    }
}

/// What a publication pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PassReport {
    /// Changes the target applied (2xx).
    pub delivered: u64,
    /// Changes the target already had (409).
    pub already_applied: u64,
    /// Failed attempts scheduled for a retry.
    pub retried: u64,
    /// Changes moved to the dead-letter queue.
    pub dead_lettered: u64,
    /// Changes superseded by a newer one for the same part, or already confirmed by the target.
    pub superseded: u64,
}

impl PassReport {
    fn add(&mut self, o: PassReport) {
        self.delivered += o.delivered;
        self.already_applied += o.already_applied;
        self.retried += o.retried;
        self.dead_lettered += o.dead_lettered;
        self.superseded += o.superseded;
    }

    /// Attempts made in the pass.
    pub fn attempts(&self) -> u64 {
        self.delivered + self.already_applied + self.retried + self.dead_lettered
    }
}

/// The full request as sent, for the dead-letter queue (the token redacted).
fn request_record(target: &Target, url: &str, payload: &str) -> String {
    let body = serde_json::from_str::<serde_json::Value>(payload).unwrap_or_else(|_| payload.into());
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".into(), "application/json".into());
    if target.token.is_some() {
        headers.insert("authorization".into(), "Bearer ***".into());
    }
    serde_json::json!({ "method": "PUT", "url": url, "headers": headers, "body": body, "timeout_ms": target.timeout.as_millis() as u64 })
        .to_string()
}

/// Delivers one leased part's due change(s), then gives the lease back.
async fn work_head<T: Transport>(
    store: Store,
    transport: Arc<T>,
    target: Target,
    claim: Claim,
    owner: String,
    lease_deadline_ms: i64,
) -> Result<PassReport, PublishError> {
    let result = send_due(&store, &*transport, &target, &claim, lease_deadline_ms).await;
    if let Err(e) = store.release_publication(&claim, &owner).await {
        tracing::warn!(error = %e, target = %claim.target, part = %claim.part_id, "cannot release a lease; it expires");
    }
    result
}

async fn send_due<T: Transport>(
    store: &Store,
    transport: &T,
    target: &Target,
    claim: &Claim,
    lease_deadline_ms: i64,
) -> Result<PassReport, PublishError> {
    let mut report = PassReport::default();
    let labels = [("target", target.name.clone())];
    for _ in 0..MAX_SENDS_PER_LEASE {
        // Never start a send that could outlive the lease: another instance may take the part then.
        if now_ms() + target.timeout.as_millis() as i64 + 500 >= lease_deadline_ms {
            break;
        }
        let (item, superseded) = store.next_publication(claim, now_ms()).await?;
        report.superseded += superseded;
        if superseded > 0 {
            metrics::counter!("cmms_publication_superseded_total", &labels).increment(superseded);
        }
        let Some(item) = item else { break };
        let verdict = attempt(store, transport, target, &item).await?;
        match verdict {
            Verdict::Delivered => report.delivered += 1,
            Verdict::AlreadyApplied => report.already_applied += 1,
            Verdict::DeadLetter(_) => report.dead_lettered += 1,
            Verdict::RetryAt(_) => {
                report.retried += 1;
                break;
            }
        }
    }
    Ok(report)
}

/// Sends one outbox row and records the attempt and its verdict.
async fn attempt<T: Transport>(
    store: &Store,
    transport: &T,
    target: &Target,
    item: &OutboxItem,
) -> Result<Verdict, PublishError> {
    let url = target.url(&item.part_id);
    let started = Instant::now();
    let response = transport.put(target, &url, &item.payload).await;
    let at = now_ms();
    let number = item.attempts + 1;
    let verdict = decide(&response.outcome, u32::try_from(number).unwrap_or(u32::MAX), &target.retry, at, jitter());
    let (http_status, error) = match &response.outcome {
        AttemptOutcome::Status { code, .. } => (Some(i64::from(*code)), None),
        other => (None, Some(describe(other))),
    };
    let row = AttemptRow { outbox_id: item.id, attempt: number, at, http_status, error, response: response.body };
    let result = match &verdict {
        Verdict::Delivered | Verdict::AlreadyApplied => AttemptResult::Done,
        Verdict::RetryAt(t) => AttemptResult::Retry(*t),
        Verdict::DeadLetter(reason) => AttemptResult::Dead(reason.clone()),
    };
    store.record_attempt(item, &row, &result, &request_record(target, &url, &item.payload)).await?;
    let outcome = match &verdict {
        Verdict::Delivered => "delivered",
        Verdict::AlreadyApplied => "already_applied",
        Verdict::RetryAt(_) => "retry",
        Verdict::DeadLetter(_) => "dead_letter",
    };
    let labels = [("target", target.name.clone()), ("outcome", outcome.to_owned())];
    metrics::counter!("cmms_publication_attempts_total", &labels).increment(1);
    metrics::histogram!("cmms_publication_attempt_duration_seconds", "target" => target.name.clone())
        .record(started.elapsed().as_secs_f64());
    match &verdict {
        Verdict::DeadLetter(reason) => tracing::warn!(
            target = %target.name, part = %item.part_id, sequence = item.sequence_id, %reason,
            "publication dead-lettered"
        ),
        Verdict::RetryAt(at) => tracing::info!(
            target = %target.name, part = %item.part_id, sequence = item.sequence_id, attempt = number,
            outcome = %describe(&response.outcome), retry_at_ms = at, "publication attempt failed; will retry"
        ),
        _ => tracing::debug!(target = %target.name, part = %item.part_id, sequence = item.sequence_id, "published"),
    }
    Ok(verdict)
}

/// Delivers everything due now: claims parts until none is left, `settings.concurrency` at a
/// time. Changes waiting for a retry later are left for a later pass.
pub async fn publish_pass<T: Transport>(
    store: &Store,
    transport: &Arc<T>,
    targets: &[Target],
    settings: &PublisherSettings,
) -> Result<PassReport, PublishError> {
    let mut report = PassReport::default();
    let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    let by_name: HashMap<&str, &Target> = targets.iter().map(|t| (t.name.as_str(), t)).collect();
    let width = settings.concurrency.max(1);
    loop {
        let now = now_ms();
        let claims = store.claim_publications(&names, &settings.owner, now, settings.lease_ms, width as i64).await?;
        if claims.is_empty() {
            return Ok(report);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for claim in claims {
            let Some(target) = by_name.get(claim.target.as_str()) else { continue };
            tasks.spawn(work_head(
                store.clone(),
                transport.clone(),
                (*target).clone(),
                claim,
                settings.owner.clone(),
                now + settings.lease_ms,
            ));
        }
        let mut failure = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(r)) => report.add(r),
                Ok(Err(e)) => failure = Some(e),
                Err(e) => tracing::error!(error = %e, "a publication task failed"),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
    }
}

/// Keeps the outbox gauges current and raises (or resolves) a `DLQ` alert per target whose open
/// dead letters reach `settings.dlq_alert_depth`. Remembers the last depths to write alerts only
/// on a change.
#[derive(Debug, Default)]
pub struct DlqWatch {
    last: HashMap<String, i64>,
}

impl DlqWatch {
    /// Reads the depths and updates gauges and alerts.
    pub async fn refresh(
        &mut self,
        store: &Store,
        targets: &[Target],
        settings: &PublisherSettings,
    ) -> Result<(), PublishError> {
        let depths = store.outbox_depths().await?;
        let now = now_ms();
        for t in targets {
            let pending = depths
                .rows
                .iter()
                .filter(|(n, s, _)| *n == t.name && *s == OutboxStatus::Pending)
                .map(|r| r.2)
                .sum::<i64>();
            let dead = depths.dead_letters.iter().find(|(n, _)| *n == t.name).map_or(0, |d| d.1);
            metrics::gauge!("cmms_outbox_pending", "target" => t.name.clone()).set(pending as f64);
            metrics::gauge!("cmms_dlq_depth", "target" => t.name.clone()).set(dead as f64);
            let before = self.last.insert(t.name.clone(), dead);
            if before == Some(dead) {
                continue;
            }
            if dead >= settings.dlq_alert_depth.max(1) {
                let msg = format!(
                    "{dead} publication(s) to target {} are in the dead-letter queue: inspect with `cmms dlq list`, \
                     replay with `cmms dlq replay`",
                    t.name
                );
                store.raise_alert(ALERT_DLQ, &t.name, &msg, None, now).await?;
            } else {
                store.resolve_alert(ALERT_DLQ, &t.name, now).await?;
            }
        }
        Ok(())
    }
}

/// The publisher worker of `cmms serve`: passes over the outbox every `poll_interval` (at once
/// again after a pass that did work) until `shutdown` completes. Errors are logged and retried
/// on the next pass; a send in flight at shutdown finishes first.
pub async fn run_publisher<T: Transport>(
    store: Store,
    transport: Arc<T>,
    targets: Vec<Target>,
    settings: PublisherSettings,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut watch = DlqWatch::default();
    tracing::info!(targets = targets.len(), owner = %settings.owner, "publisher started");
    loop {
        let busy = match publish_pass(&store, &transport, &targets, &settings).await {
            Ok(r) => {
                if r.attempts() > 0 {
                    tracing::debug!(?r, "publication pass");
                }
                r.attempts() > 0
            }
            Err(e) => {
                tracing::error!(error = %e, "publication pass failed; retrying on the next one");
                false
            }
        };
        if let Err(e) = watch.refresh(&store, &targets, &settings).await {
            tracing::warn!(error = %e, "cannot refresh the outbox gauges");
        }
        let pause = if busy { Duration::ZERO } else { settings.poll_interval };
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    tracing::info!("publisher stopped");
}
