//! How each typed import record is stored (table, columns, write mode) and which master data it
//! must reference: master data (sites, parts, SKU map, assets, PM bills of materials) here, feed
//! events in their own modules.

use crate::rows::{ColType, SqlValue, TableSpec, WriteMode};
use cmms_core::master::{AssetPartRecord, AssetRecord, PartRecord, SiteRecord, SkuMapRecord};
use cmms_core::quantity::Quantity;
use cmms_core::time::to_epoch_ms;

/// A reference from a record to master data that must already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference<'a> {
    /// The record's field holding the reference.
    pub field: &'static str,
    /// The referenced table.
    pub table: &'static str,
    /// The referenced table's key column.
    pub column: &'static str,
    /// The referenced id.
    pub id: &'a str,
    /// What to import first when the id is unknown.
    pub import_hint: &'static str,
}

/// A record that the batch writer stores in a keyed table: master data (upserted) or feed events
/// (first delivery wins).
pub trait StoredRecord {
    /// Where and how it is stored.
    const SPEC: TableSpec;
    /// The record as a row in `SPEC.columns` order, derived columns (see `TableSpec::derived`)
    /// NULL.
    fn to_row(&self) -> Vec<SqlValue>;
    /// The record as a row with its derived columns set: `part` is the part its SKU maps to, for
    /// records that store one (consumption); the others ignore it.
    fn to_row_mapped(&self, part: Option<&str>) -> Vec<SqlValue> {
        let _ = part;
        self.to_row()
    }
    /// The master data it refers to.
    fn references(&self) -> Vec<Reference<'_>>;
}

fn opt_qty(q: Option<Quantity>) -> SqlValue {
    SqlValue::opt_real(q.map(Quantity::get))
}

fn site_ref(id: &str) -> Reference<'_> {
    Reference { field: "site_id", table: "sites", column: "site_id", id, import_hint: "sites" }
}

fn part_ref(id: &str) -> Reference<'_> {
    Reference { field: "part_id", table: "parts", column: "part_id", id, import_hint: "parts" }
}

impl StoredRecord for SiteRecord {
    const SPEC: TableSpec = TableSpec {
        table: "sites",
        columns: &[("site_id", ColType::Text), ("timezone", ColType::Text)],
        key_len: 1,
        stamp: "updated_at",
        mode: WriteMode::Upsert,
        derived: 0,
    };
    fn to_row(&self) -> Vec<SqlValue> {
        vec![SqlValue::Text(self.site_id.to_string()), SqlValue::Text(self.timezone.name().to_owned())]
    }
    fn references(&self) -> Vec<Reference<'_>> {
        Vec::new()
    }
}

impl StoredRecord for PartRecord {
    const SPEC: TableSpec = TableSpec {
        table: "parts",
        columns: &[
            ("part_id", ColType::Text),
            ("description", ColType::Text),
            ("unit", ColType::Text),
            ("site_id", ColType::Text),
            ("part_class", ColType::Text),
            ("lead_time_days", ColType::Real),
            ("baseline_min", ColType::Real),
            ("baseline_reorder", ColType::Real),
            ("baseline_max", ColType::Real),
            ("pack_size", ColType::Real),
            ("min_order_qty", ColType::Real),
        ],
        key_len: 1,
        stamp: "updated_at",
        mode: WriteMode::Upsert,
        derived: 0,
    };
    fn to_row(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.part_id.to_string()),
            SqlValue::Text(self.description.clone()),
            SqlValue::Text(self.unit.clone()),
            SqlValue::Text(self.site_id.to_string()),
            SqlValue::Text(self.part_class.to_string()),
            SqlValue::Real(self.lead_time_days),
            opt_qty(self.baseline_min),
            opt_qty(self.baseline_reorder),
            opt_qty(self.baseline_max),
            opt_qty(self.pack_size),
            opt_qty(self.min_order_qty),
        ]
    }
    fn references(&self) -> Vec<Reference<'_>> {
        vec![site_ref(self.site_id.as_str())]
    }
}

impl StoredRecord for SkuMapRecord {
    const SPEC: TableSpec = TableSpec {
        table: "sku_map",
        columns: &[
            ("source", ColType::Text),
            ("external_sku", ColType::Text),
            ("norm_sku", ColType::Text),
            ("part_id", ColType::Text),
        ],
        key_len: 2,
        stamp: "updated_at",
        mode: WriteMode::Upsert,
        derived: 0,
    };
    fn to_row(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.source.to_string()),
            SqlValue::Text(self.external_sku.as_str().to_owned()),
            SqlValue::Text(self.external_sku.normalized()),
            SqlValue::Text(self.part_id.to_string()),
        ]
    }
    fn references(&self) -> Vec<Reference<'_>> {
        vec![part_ref(self.part_id.as_str())]
    }
}

impl StoredRecord for AssetRecord {
    const SPEC: TableSpec = TableSpec {
        table: "assets",
        columns: &[
            ("asset_id", ColType::Text),
            ("asset_group", ColType::Text),
            ("site_id", ColType::Text),
            ("fallback_interval_days", ColType::Real),
            ("last_completion_at", ColType::Int),
        ],
        key_len: 1,
        stamp: "updated_at",
        mode: WriteMode::Upsert,
        derived: 0,
    };
    fn to_row(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.asset_id.to_string()),
            SqlValue::Text(self.asset_group.to_string()),
            SqlValue::Text(self.site_id.to_string()),
            SqlValue::Real(self.fallback_interval_days),
            SqlValue::opt_int(self.last_completion_at.map(to_epoch_ms)),
        ]
    }
    fn references(&self) -> Vec<Reference<'_>> {
        vec![site_ref(self.site_id.as_str())]
    }
}

impl StoredRecord for AssetPartRecord {
    const SPEC: TableSpec = TableSpec {
        table: "asset_parts",
        columns: &[("asset_id", ColType::Text), ("part_id", ColType::Text), ("quantity", ColType::Real)],
        key_len: 2,
        stamp: "updated_at",
        mode: WriteMode::Upsert,
        derived: 0,
    };
    fn to_row(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.asset_id.to_string()),
            SqlValue::Text(self.part_id.to_string()),
            SqlValue::Real(self.quantity.get()),
        ]
    }
    fn references(&self) -> Vec<Reference<'_>> {
        vec![
            Reference {
                field: "asset_id",
                table: "assets",
                column: "asset_id",
                id: self.asset_id.as_str(),
                import_hint: "assets",
            },
            part_ref(self.part_id.as_str()),
        ]
    }
}
