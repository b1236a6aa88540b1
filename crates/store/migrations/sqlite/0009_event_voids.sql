-- Corrections: voided events (SQLite). Keep in step with ../postgres/0009_event_voids.sql.
--
-- An operator (or an ERP reversal) voids an accepted consumption event, failure event or stock
-- snapshot: the row stays where it is with voided = 1, so it still counts for first-delivery-wins
-- deduplication (a re-delivery is a duplicate and stays voided), and every calculation skips it.
-- event_voids records each void with who, when and why, and its restore when it is undone.
ALTER TABLE consumption ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
ALTER TABLE failure_events ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inventory_snapshots ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;

-- The threshold aggregate stays one index-only scan: the flag is part of the covering index
-- (same name as in 0004, so a later migration that replaces the index by name replaces this one).
DROP INDEX IF EXISTS consumption_part_time_qty;
CREATE INDEX consumption_part_time_qty ON consumption(part_id, consumed_at, quantity, voided);

CREATE TABLE event_voids (
    id             INTEGER PRIMARY KEY,
    feed           TEXT NOT NULL,
    source         TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    subject        TEXT,
    reason         TEXT NOT NULL,
    voided_by      TEXT NOT NULL,
    voided_at      INTEGER NOT NULL,
    restored_by    TEXT,
    restored_at    INTEGER,
    restore_reason TEXT
);
-- At most one void in force per event.
CREATE UNIQUE INDEX event_voids_in_force ON event_voids(feed, source, event_id) WHERE restored_at IS NULL;

-- Voiding or restoring mapped consumption marks its part for the next threshold recompute.
CREATE TRIGGER consumption_marks_void AFTER UPDATE OF voided ON consumption WHEN NEW.part_id IS NOT NULL
BEGIN
    INSERT INTO threshold_marks (part_id) VALUES (NEW.part_id)
    ON CONFLICT (part_id) DO UPDATE SET claimed = 0 WHERE claimed <> 0;
END;
