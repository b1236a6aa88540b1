//! The inventory side of the store, by aggregate: staged feeds ([`crate::staging`]), the SKU map
//! and quarantine ([`crate::sku_map`]), stock state ([`crate::stock`]) and alerts
//! ([`crate::alerts`]). Re-exported here under their former paths.

pub use crate::alerts::AlertRow;
pub(crate) use crate::sku_map::SkuMapCache;
pub use crate::sku_map::{QuarantineRow, SkuMapEntry};
pub use crate::staging::{SnapshotVerdict, StagedScan, StagedSnapshot};
pub use crate::stock::{PartOverview, StockState};
