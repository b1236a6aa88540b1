-- Inventory pipeline (PostgreSQL). Keep in step with ../sqlite/0003_inventory.sql.

-- Staging buffer of stock snapshots: stored first, then the gate applies, holds, rejects or
-- quarantines each one (status) with a reason.
CREATE TABLE inventory_snapshots (
    source       TEXT NOT NULL,
    external_sku TEXT NOT NULL,
    sequence_id  BIGINT NOT NULL,
    on_hand      DOUBLE PRECISION NOT NULL,
    observed_at  BIGINT NOT NULL,
    part_id      TEXT,
    status       TEXT NOT NULL DEFAULT 'PENDING',
    reason       TEXT,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (source, external_sku, sequence_id)
);
CREATE INDEX inventory_snapshots_status ON inventory_snapshots(status);

-- Scans are staged the same way: outcome PENDING until reconciled.
CREATE INDEX scans_outcome ON scans(outcome);
ALTER TABLE scans ADD COLUMN received_at BIGINT NOT NULL DEFAULT 0;

-- Consumption rows are stored before mapping; part_id stays NULL until the SKU maps.
CREATE INDEX consumption_unmapped ON consumption(source, external_sku) WHERE part_id IS NULL;

-- Thresholds approved by an operator despite drift (the computed values approved).
ALTER TABLE current_thresholds ADD COLUMN approved_min DOUBLE PRECISION;
ALTER TABLE current_thresholds ADD COLUMN approved_reorder DOUBLE PRECISION;
ALTER TABLE current_thresholds ADD COLUMN approved_max DOUBLE PRECISION;
ALTER TABLE current_thresholds ADD COLUMN computed_min DOUBLE PRECISION;
ALTER TABLE current_thresholds ADD COLUMN computed_reorder DOUBLE PRECISION;
ALTER TABLE current_thresholds ADD COLUMN computed_max DOUBLE PRECISION;
ALTER TABLE current_thresholds ADD COLUMN status TEXT NOT NULL DEFAULT 'OK';
ALTER TABLE current_thresholds ADD COLUMN formula_version BIGINT;
