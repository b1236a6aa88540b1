-- Incremental threshold recompute (SQLite). Keep in step with ../postgres/0006_threshold_marks.sql.
--
-- `cmms recompute` without --all recomputes only the parts whose inputs changed since the last
-- run. Changes of consumption (new events, events mapped to a part) and of a part's master
-- inputs mark the part here, by trigger, so every write path is covered. A recompute claims the
-- marks (claimed = 1) before it reads, and deletes the claimed ones when it has stored its
-- results; a change arriving meanwhile resets claimed to 0, so it survives for the next run.
CREATE TABLE threshold_marks (
    part_id  TEXT PRIMARY KEY,
    claimed  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TRIGGER consumption_marks_insert AFTER INSERT ON consumption WHEN NEW.part_id IS NOT NULL
BEGIN
    INSERT INTO threshold_marks (part_id) VALUES (NEW.part_id)
    ON CONFLICT (part_id) DO UPDATE SET claimed = 0 WHERE claimed <> 0;
END;

CREATE TRIGGER consumption_marks_map AFTER UPDATE OF part_id ON consumption WHEN NEW.part_id IS NOT NULL
BEGIN
    INSERT INTO threshold_marks (part_id) VALUES (NEW.part_id)
    ON CONFLICT (part_id) DO UPDATE SET claimed = 0 WHERE claimed <> 0;
END;

CREATE TRIGGER parts_marks_insert AFTER INSERT ON parts
BEGIN
    INSERT INTO threshold_marks (part_id) VALUES (NEW.part_id)
    ON CONFLICT (part_id) DO UPDATE SET claimed = 0 WHERE claimed <> 0;
END;

CREATE TRIGGER parts_marks_update AFTER UPDATE ON parts
WHEN OLD.lead_time_days IS NOT NEW.lead_time_days OR OLD.part_class IS NOT NEW.part_class
  OR OLD.site_id IS NOT NEW.site_id OR OLD.baseline_min IS NOT NEW.baseline_min
  OR OLD.baseline_reorder IS NOT NEW.baseline_reorder OR OLD.baseline_max IS NOT NEW.baseline_max
BEGIN
    INSERT INTO threshold_marks (part_id) VALUES (NEW.part_id)
    ON CONFLICT (part_id) DO UPDATE SET claimed = 0 WHERE claimed <> 0;
END;

-- What the last completed recompute covered: its formula version and window. A run with the same
-- version needs, besides the marked parts, only the parts with events in the window's moved edges.
CREATE TABLE threshold_watermark (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    formula_version INTEGER NOT NULL,
    window_start    INTEGER NOT NULL,
    as_of           INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
