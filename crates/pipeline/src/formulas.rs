//! The formula registry as the stages see it: the active version, or the built-in defaults stored
//! as the first version on first use, so every computed row can name the version that made it.

use cmms_core::formula::{DEFAULT_FORMULAS_TOML, FormulaError, FormulaSet, ParamChange, diff};
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
    /// A file to load does not parse or breaks a parameter rule.
    #[error("{0}")]
    Rejected(FormulaError),
    /// No version with this id.
    #[error("unknown formula version {0} (see `cmms formulas list`)")]
    UnknownVersion(i64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Loads registry text as a new immutable version (or finds the identical stored one) and makes
/// it active. Returns `(version id, newly stored?)`.
pub async fn load(store: &Store, text: &str, label: &str, now_ms: i64) -> Result<(i64, bool), FormulasError> {
    let set = FormulaSet::parse(text).map_err(FormulasError::Rejected)?;
    let hash = set.content_hash();
    let existed = store.formula_versions().await?.iter().any(|v| v.content_hash == hash);
    let id = store.activate_formulas(set.canonical_toml(), &hash, label, now_ms).await?;
    Ok((id, !existed))
}

/// Parameter differences from version `from` to version `to`.
pub async fn diff_versions(store: &Store, from: i64, to: i64) -> Result<Vec<ParamChange>, FormulasError> {
    let get = async |version: i64| -> Result<FormulaSet, FormulasError> {
        let content = store.formula_content(version).await?.ok_or(FormulasError::UnknownVersion(version))?;
        FormulaSet::parse(&content).map_err(|source| FormulasError::Invalid { version, source })
    };
    Ok(diff(&get(from).await?, &get(to).await?))
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

/// The active formula set, or the built-in defaults when none is stored yet (read-only: the
/// defaults are stored by the first recompute, [`active`]).
pub async fn active_or_defaults(store: &Store) -> Result<FormulaSet, FormulasError> {
    match store.active_formulas().await? {
        Some((version, content)) => {
            FormulaSet::parse(&content).map_err(|source| FormulasError::Invalid { version, source })
        }
        None => Ok(FormulaSet::defaults()),
    }
}
