-- Thresholds received on PUT /api/v1/inventory/thresholds/{part_id} (PostgreSQL). Keep in step with
-- ../sqlite/0005_received_thresholds.sql. One row per applied delivery; the thresholds in force
-- are updated in the same transaction (basis RECEIVED).
CREATE TABLE received_thresholds (
    id             BIGSERIAL PRIMARY KEY,
    part_id        TEXT NOT NULL REFERENCES parts(part_id),
    sequence_id    BIGINT NOT NULL,
    min_qty        DOUBLE PRECISION NOT NULL,
    reorder_qty    DOUBLE PRECISION NOT NULL,
    max_qty        DOUBLE PRECISION NOT NULL,
    current_stock  DOUBLE PRECISION NOT NULL,
    sync_timestamp BIGINT NOT NULL,
    client_id      TEXT,
    received_by    TEXT,
    received_at    BIGINT NOT NULL,
    UNIQUE (part_id, sequence_id)
);
