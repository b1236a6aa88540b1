//! Configuration, layered: built-in defaults → `cmms.toml` → `CMMS_*` environment → flags.

use crate::cli::GlobalArgs;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Settings of the service and CLI, with their documented defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Database location (`CMMS_DATABASE_URL`).
    pub database_url: String,
    /// Address `cmms serve` listens on (`CMMS_LISTEN`).
    pub listen: String,
    /// Log filter (`CMMS_LOG`); empty means the command's default.
    pub log: String,
    /// Seconds between reconciliation cycles of `cmms serve` (`CMMS_RECONCILE_SECONDS`).
    pub reconcile_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: cmms_store::DEFAULT_DATABASE_URL.to_owned(),
            listen: "127.0.0.1:8080".to_owned(),
            log: String::new(),
            reconcile_seconds: 300,
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
        fig = fig.merge(Env::prefixed("CMMS_").only(&["database_url", "listen", "log", "reconcile_seconds"]));
        let mut cfg: Config = fig.extract()?;
        if let Some(url) = &args.database_url {
            cfg.database_url = url.clone();
        }
        if let Some(log) = &args.log {
            cfg.log = log.clone();
        }
        Ok(cfg)
    }
}
