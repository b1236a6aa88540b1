//! The formula registry as the stages see it: the active version, or the built-in defaults stored
//! as the first version on first use, so every computed row can name the version that made it.

use cmms_core::formula::{DEFAULT_FORMULAS_TOML, FormulaError, FormulaSet};
use cmms_store::{Store, StoreError};

/// Why the active formulas could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FormulasError {
    /// The stored version no longer parses (written by an incompatible version).
    #[error("stored formula version {version} is invalid: {source}")]
    Invalid {
        /// The version id.
        version: i64,
        /// Why.
        source: FormulaError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The active formula set and its version id (installing the defaults if none is stored).
pub async fn active(store: &Store, now_ms: i64) -> Result<(i64, FormulaSet), FormulasError> {
    if let Some((version, content)) = store.active_formulas().await? {
        let set = FormulaSet::parse(&content).map_err(|source| FormulasError::Invalid { version, source })?;
        return Ok((version, set));
    }
    let set =
        FormulaSet::parse(DEFAULT_FORMULAS_TOML).map_err(|source| FormulasError::Invalid { version: 0, source })?;
    let version =
        store.activate_formulas(set.canonical_toml(), &set.content_hash(), "built-in defaults", now_ms).await?;
    Ok((version, set))
}
