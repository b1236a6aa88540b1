//! The parameter diff between two formula versions (`cmms formulas diff`), over the canonical
//! documents flattened to dotted paths.

use super::FormulaSet;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Every parameter of `set` by dotted path, its value in TOML syntax.
fn flattened(set: &FormulaSet) -> BTreeMap<String, String> {
    // The canonical text was written by toml's own serializer, so reading it back cannot fail.
    let table: toml::Table = toml::from_str(&set.canonical).unwrap_or_default();
    let mut out = BTreeMap::new();
    for (k, v) in &table {
        flatten(k.clone(), v, &mut out);
    }
    out
}

fn flatten(path: String, v: &toml::Value, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                flatten(format!("{path}.{k}"), v, out);
            }
        }
        toml::Value::Array(items) if items.iter().any(toml::Value::is_table) => {
            for (i, v) in items.iter().enumerate() {
                flatten(format!("{path}[{i}]"), v, out);
            }
        }
        other => {
            out.insert(path, other.to_string());
        }
    }
}

/// One parameter that differs between two formula versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamChange {
    /// Dotted path, e.g. `thresholds.safety_multiplier` or `seasonal_windows[0].uplift`.
    pub path: String,
    /// Value in the older version (TOML syntax); `None` when the key is new.
    pub old: Option<String>,
    /// Value in the newer version (TOML syntax); `None` when the key was removed.
    pub new: Option<String>,
}

impl fmt::Display for ParamChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".to_owned());
        write!(f, "{}: {} -> {}", self.path, show(&self.old), show(&self.new))
    }
}

/// The parameters that differ from `old` to `new`, sorted by path (for `cmms formulas diff`).
pub fn diff(old: &FormulaSet, new: &FormulaSet) -> Vec<ParamChange> {
    let (a, b) = (flattened(old), flattened(new));
    let mut paths: Vec<&String> = a.keys().chain(b.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|p| {
            let (o, n) = (a.get(p), b.get(p));
            (o != n).then(|| ParamChange { path: p.clone(), old: o.cloned(), new: n.cloned() })
        })
        .collect()
}
