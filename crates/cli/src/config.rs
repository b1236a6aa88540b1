//! Configuration, layered: built-in defaults → `cmms.toml` → `CMMS_*` environment → flags.

use crate::cli::GlobalArgs;
use cmms_core::publication::RetryPolicy;
use cmms_core::session::SessionPolicy;
use cmms_pipeline::publish::{PublisherSettings, Target};
use cmms_server::dashboard::DashboardSettings;
use cmms_store::Store;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Settings of the service and CLI, with their documented defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Database location (`CMMS_DATABASE_URL`).
    pub database_url: String,
    /// Address `cmms serve` listens on (`CMMS_LISTEN`).
    pub listen: String,
    /// Log filter (`CMMS_LOG`); empty means the command's default.
    pub log: String,
    /// Log line format (`CMMS_LOG_FORMAT`, `--log-format`): `text` or `json`.
    #[serde(default)]
    pub log_format: crate::cli::LogFormat,
    /// Seconds between reconciliation cycles of `cmms serve` (`CMMS_RECONCILE_SECONDS`).
    pub reconcile_seconds: u64,
    /// Seconds a PM completion time may lie past now (`CMMS_COMPLETION_TOLERANCE_SECONDS`,
    /// `cmms serve --completion-tolerance-seconds`) [default: 3600].
    #[serde(default = "default_completion_tolerance_seconds")]
    pub completion_tolerance_seconds: u64,
    /// Limits of the HTTP server of `cmms serve` (`[http]`).
    #[serde(default)]
    pub http: HttpConfig,
    /// How publisher instances share the outbox (`[publication]`).
    #[serde(default)]
    pub publication: PublicationConfig,
    /// External CMMS targets that threshold changes are published to (`[[targets]]`).
    #[serde(default)]
    pub targets: Vec<TargetConfig>,
    /// Plausible ranges of outside input (`[limits]`).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Dashboard sessions and cookies (`[dashboard]`).
    #[serde(default)]
    pub dashboard: DashboardConfig,
}

/// The `[limits]` table: what outside input may hold before it is refused as implausible.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest quantity of one value (a consumed, counted or on-hand figure, a threshold), units;
    /// at most 1e9.
    pub max_quantity: f64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig { max_quantity: cmms_core::quantity::QUANTITY_CEILING }
    }
}

impl LimitsConfig {
    /// Puts the limits in force for this process.
    pub fn apply(&self) -> anyhow::Result<()> {
        cmms_core::quantity::set_max_quantity(self.max_quantity)
            .map_err(|e| anyhow::anyhow!("[limits] max_quantity: {e}"))
    }
}

/// The `[dashboard]` table: how long sign-in sessions last and whether the dashboard is reached
/// over HTTPS (through a TLS-terminating proxy: the service itself speaks plain HTTP).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardConfig {
    /// Seconds a session lasts after sign-in, however it is used [default: 43200, 12 h].
    pub session_lifetime_seconds: u64,
    /// Seconds without a request after which a session ends [default: 3600, 1 h].
    pub session_idle_seconds: u64,
    /// Every request comes over HTTPS: the session cookie is `Secure` and named
    /// `__Host-cmms_session` [default: false].
    pub secure_cookies: bool,
    /// Believe a reverse proxy's `X-Forwarded-Proto: https` (Secure cookie for that request) and
    /// `X-Forwarded-Host` (the host the Origin check compares with); only when nothing but the
    /// proxy can reach the service [default: false].
    pub trust_proxy_headers: bool,
    /// A fixed "now" for the dashboard (RFC 3339), as `cmms demo` sets to the demo's today:
    /// overdue marks and plot axes use it instead of the clock [default: unset, the clock].
    pub as_of: Option<String>,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            session_lifetime_seconds: 12 * 3600,
            session_idle_seconds: 3600,
            secure_cookies: false,
            trust_proxy_headers: false,
            as_of: None,
        }
    }
}

impl DashboardConfig {
    /// The server's dashboard settings; refused when a duration is zero.
    pub fn settings(&self) -> anyhow::Result<DashboardSettings> {
        let ms = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        let policy = SessionPolicy::new(ms(self.session_lifetime_seconds), ms(self.session_idle_seconds))
            .map_err(|e| anyhow::anyhow!("[dashboard]: {e}"))?;
        let as_of = match self.as_of.as_deref() {
            Some(text) => {
                Some(cmms_core::time::parse_timestamp(text).map_err(|e| anyhow::anyhow!("[dashboard] as_of: {e}"))?)
            }
            None => None,
        };
        Ok(DashboardSettings {
            policy,
            secure_cookies: self.secure_cookies,
            trust_proxy_headers: self.trust_proxy_headers,
            as_of,
        })
    }
}

/// The `[http]` table: limits of the HTTP server (see RELIABILITY.md "Limits and bad input").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    pub header_read_timeout_seconds: u64,
    /// Requests handled at once; more are answered 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// Require a token with the `read` scope for `/metrics`.
    pub metrics_require_token: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        let d = cmms_server::ServeOptions::default();
        HttpConfig {
            header_read_timeout_seconds: d.header_read_timeout.as_secs(),
            max_in_flight: d.max_in_flight,
            metrics_require_token: d.metrics_require_token,
        }
    }
}

impl HttpConfig {
    /// The server options, checked (a zero timeout or limit is refused).
    pub fn serve_options(&self) -> anyhow::Result<cmms_server::ServeOptions> {
        anyhow::ensure!(self.header_read_timeout_seconds > 0, "http.header_read_timeout_seconds must be at least 1");
        anyhow::ensure!(self.max_in_flight > 0, "http.max_in_flight must be at least 1");
        Ok(cmms_server::ServeOptions {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            max_in_flight: self.max_in_flight,
            metrics_require_token: self.metrics_require_token,
        })
    }
}

/// The `[publication]` table: publisher settings shared by every target.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicationConfig {
    /// Milliseconds a claimed part stays leased to one instance (must exceed every timeout).
    pub lease_ms: u64,
    /// Milliseconds between outbox polls when nothing is due.
    pub poll_ms: u64,
    /// Parts delivered concurrently by one instance.
    pub concurrency: usize,
    /// Open dead letters of a target at which a `DLQ` alert is raised.
    pub dlq_alert_depth: i64,
}

impl Default for PublicationConfig {
    fn default() -> Self {
        PublicationConfig { lease_ms: 30_000, poll_ms: 1_000, concurrency: 8, dlq_alert_depth: 1 }
    }
}

/// One `[[targets]]` entry: an external CMMS receiving the seed article's threshold PUT.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// Unique name, recorded on outbox rows and dead letters.
    pub name: String,
    /// Scheme, host and port, e.g. `https://cmms.example.com`.
    pub base_url: String,
    /// Path with `{part_id}` [default: /api/v1/inventory/thresholds/{part_id}].
    #[serde(default = "default_path")]
    pub path: String,
    /// Bearer token, inline (prefer `token_env`).
    #[serde(default)]
    pub token: Option<String>,
    /// Name of the environment variable holding the bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Milliseconds allowed per attempt [default: 10000].
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Only these parts (empty with `classes` empty: every part).
    #[serde(default)]
    pub parts: Vec<String>,
    /// Only parts of these classes.
    #[serde(default)]
    pub classes: Vec<String>,
    /// Attempts before a retryable failure is dead-lettered [default: 3].
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Milliseconds before the second attempt, doubled after each [default: 1000].
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// Upper bound of a retry delay, milliseconds [default: 60000].
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// Set to false to keep the target configured without publishing to it.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

fn default_completion_tolerance_seconds() -> u64 {
    cmms_core::work_order::DEFAULT_COMPLETION_TOLERANCE.as_secs().unsigned_abs()
}

fn default_path() -> String {
    cmms_pipeline::publish::DEFAULT_PATH_TEMPLATE.to_owned()
}
fn default_timeout_ms() -> u64 {
    10_000
}
fn default_max_attempts() -> u32 {
    3
}
fn default_backoff_ms() -> u64 {
    1_000
}
fn default_max_backoff_ms() -> u64 {
    60_000
}
fn default_enabled() -> bool {
    true
}

impl Config {
    /// The enabled publication targets, checked, with their tokens resolved (for the publisher:
    /// a `token_env` that is not set is an error).
    pub fn targets(&self) -> anyhow::Result<Vec<Target>> {
        self.checked_targets(true)
    }

    /// The enabled targets, checked; tokens are resolved only when `with_tokens` (queueing
    /// changes for a target needs its routes, not its secret).
    fn checked_targets(&self, with_tokens: bool) -> anyhow::Result<Vec<Target>> {
        let mut out = Vec::new();
        for t in self.targets.iter().filter(|t| t.enabled) {
            let token = match (&t.token, &t.token_env) {
                (Some(_), Some(_)) => anyhow::bail!("target {:?}: set token or token_env, not both", t.name),
                _ if !with_tokens => None,
                (Some(tok), None) => Some(tok.clone()),
                (None, Some(var)) => Some(std::env::var(var).map_err(|_| {
                    anyhow::anyhow!("target {:?}: environment variable {var} (token_env) is not set", t.name)
                })?),
                (None, None) => None,
            };
            let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            out.push(Target {
                name: t.name.clone(),
                base_url: t.base_url.clone(),
                path_template: t.path.clone(),
                token,
                timeout: Duration::from_millis(t.timeout_ms),
                parts: t.parts.clone(),
                classes: t.classes.clone(),
                retry: RetryPolicy {
                    max_attempts: t.max_attempts,
                    base_delay_ms: ms(t.backoff_ms),
                    max_delay_ms: ms(t.max_backoff_ms),
                },
            });
        }
        self.publisher_settings().check(&out)?;
        Ok(out)
    }

    /// How far past now a PM completion time may lie (at most a day: a larger tolerance would let
    /// the absurd completions it guards against back in).
    pub fn completion_tolerance(&self) -> anyhow::Result<jiff::SignedDuration> {
        anyhow::ensure!(
            self.completion_tolerance_seconds <= 86_400,
            "completion_tolerance_seconds must be at most 86400 (one day), got {}",
            self.completion_tolerance_seconds
        );
        Ok(jiff::SignedDuration::from_secs(self.completion_tolerance_seconds as i64))
    }

    /// This instance's publisher settings (with a fresh lease owner id).
    pub fn publisher_settings(&self) -> PublisherSettings {
        let p = &self.publication;
        PublisherSettings {
            lease_ms: i64::try_from(p.lease_ms).unwrap_or(i64::MAX),
            poll_interval: Duration::from_millis(p.poll_ms.max(1)),
            concurrency: p.concurrency.max(1),
            dlq_alert_depth: p.dlq_alert_depth,
            ..PublisherSettings::new()
        }
    }

    /// Opens the store with the publication routes of the enabled targets, so every threshold
    /// change stored through it writes its outbox rows. Needs no target's token: `cmms
    /// recompute` or `import` on a machine without the publisher's secrets still queues changes.
    pub async fn open_store(&self) -> anyhow::Result<Store> {
        let routes = self.checked_targets(false)?.iter().map(Target::route).collect();
        Ok(Store::open(&self.database_url).await?.with_publication(routes))
    }

    /// Opens the store for a command that only reads (`report`, `export`, the lists): an SQLite
    /// file that does not exist is not created; the error says so and how to start one.
    pub async fn open_existing_store(&self) -> anyhow::Result<Store> {
        if let Some(path) = sqlite_path(&self.database_url)?
            && !path.exists()
        {
            anyhow::bail!(
                "no cmms database at {}: nothing has been imported here. Run `cmms demo` for a demo site, or \
                 start your own with `cmms import sites FILE` and the other imports (docs/cli.md); \
                 --database-url names another database",
                shown(&path)
            );
        }
        Ok(Store::open(&self.database_url).await?)
    }
}

/// A database file as people see it: `./cmms.db` rather than `cmms.db`.
pub fn shown(path: &std::path::Path) -> String {
    if path.is_relative() && path.parent().is_none_or(|p| p.as_os_str().is_empty()) {
        format!("./{}", path.display())
    } else {
        path.display().to_string()
    }
}

/// The database a URL names, for messages: the SQLite file (`./cmms.db`) or the redacted URL.
pub fn store_name(url: &str) -> String {
    match sqlite_path(url) {
        Ok(Some(path)) => shown(&path),
        _ => cmms_store::redact(url),
    }
}

/// The SQLite file behind a database URL (`None` for PostgreSQL or an in-memory database).
pub fn sqlite_path(url: &str) -> anyhow::Result<Option<PathBuf>> {
    let (_, backend) = cmms_store::resolve_url(url)?;
    if backend == cmms_store::Backend::Postgres {
        return Ok(None);
    }
    let path = url.trim().trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    Ok((!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path)))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: cmms_store::DEFAULT_DATABASE_URL.to_owned(),
            listen: "127.0.0.1:8080".to_owned(),
            log: String::new(),
            log_format: crate::cli::LogFormat::Text,
            reconcile_seconds: 300,
            completion_tolerance_seconds: default_completion_tolerance_seconds(),
            http: HttpConfig::default(),
            publication: PublicationConfig::default(),
            targets: Vec::new(),
            limits: LimitsConfig::default(),
            dashboard: DashboardConfig::default(),
        }
    }
}

impl Config {
    /// Loads the layered configuration. An explicitly named file must exist; `./cmms.toml` is
    /// used only when present.
    pub fn load(args: &GlobalArgs) -> anyhow::Result<Config> {
        let explicit = args.config.clone().or_else(|| std::env::var_os("CMMS_CONFIG").map(PathBuf::from));
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match explicit {
            Some(path) => {
                anyhow::ensure!(path.is_file(), "configuration file {} not found", path.display());
                fig = fig.merge(Toml::file_exact(path));
            }
            None if std::path::Path::new("cmms.toml").is_file() => fig = fig.merge(Toml::file_exact("cmms.toml")),
            None => {}
        }
        fig = fig.merge(Env::prefixed("CMMS_").only(&[
            "database_url",
            "listen",
            "log",
            "log_format",
            "reconcile_seconds",
            "completion_tolerance_seconds",
        ]));
        let mut cfg: Config = fig.extract()?;
        if let Some(url) = &args.database_url {
            cfg.database_url = url.clone();
        }
        if let Some(log) = &args.log {
            cfg.log = log.clone();
        }
        if let Some(format) = args.log_format {
            cfg.log_format = format;
        }
        cfg.limits.apply()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration with one target whose token settings are `token_lines`.
    fn with_target(token_lines: &str) -> Config {
        let toml = format!(
            "[[targets]]\nname = \"erp\"\nbase_url = \"http://127.0.0.1:9\"\npath = \"/thresholds/{{part_id}}\"\n{token_lines}"
        );
        Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(&toml)).extract().unwrap()
    }

    #[test]
    fn a_missing_token_variable_stops_the_publisher_but_not_the_queueing_of_changes() {
        let config = with_target("token_env = \"CMMS_TEST_TOKEN_THAT_IS_NEVER_SET\"");
        let err = config.targets().unwrap_err().to_string();
        assert!(err.contains("CMMS_TEST_TOKEN_THAT_IS_NEVER_SET"), "{err}");
        let routes = config.checked_targets(false).unwrap();
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].token, None);
    }

    #[test]
    fn dashboard_sessions_default_to_12_hours_and_1_hour_idle_and_refuse_zero() {
        let settings = Config::default().dashboard.settings().unwrap();
        assert_eq!((settings.policy.lifetime_ms(), settings.policy.idle_ms()), (43_200_000, 3_600_000));
        assert!(!settings.secure_cookies && !settings.trust_proxy_headers);
        let toml = "[dashboard]\nsession_idle_seconds = 0\n";
        let config: Config =
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)).extract().unwrap();
        let err = config.dashboard.settings().unwrap_err().to_string();
        assert!(err.contains("idle timeout"), "{err}");
    }

    #[test]
    fn token_and_token_env_together_are_refused_either_way() {
        let config = with_target("token = \"inline\"\ntoken_env = \"X\"");
        assert!(config.targets().is_err());
        assert!(config.checked_targets(false).is_err());
    }
}
