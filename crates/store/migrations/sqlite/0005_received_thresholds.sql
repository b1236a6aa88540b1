-- Thresholds received on PUT /api/v1/inventory/thresholds/{part_id} (SQLite). Keep in step with
-- ../postgres/0005_received_thresholds.sql. One row per applied delivery; the thresholds in force
-- are updated in the same transaction (basis RECEIVED).
CREATE TABLE received_thresholds (
    id             INTEGER PRIMARY KEY,
    part_id        TEXT NOT NULL REFERENCES parts(part_id),
    sequence_id    INTEGER NOT NULL,
    min_qty        REAL NOT NULL,
    reorder_qty    REAL NOT NULL,
    max_qty        REAL NOT NULL,
    current_stock  REAL NOT NULL,
    sync_timestamp INTEGER NOT NULL,
    client_id      TEXT,
    received_by    TEXT,
    received_at    INTEGER NOT NULL,
    UNIQUE (part_id, sequence_id)
);
