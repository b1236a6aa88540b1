-- Incremental threshold recompute (PostgreSQL). Keep in step with ../sqlite/0006_threshold_marks.sql.
--
-- `cmms recompute` without --all recomputes only the parts whose inputs changed since the last
-- run. Changes of consumption (new events, events mapped to a part) and of a part's master
-- inputs mark the part here, by trigger, so every write path is covered. A recompute claims the
-- marks (claimed = 1) before it reads, and deletes the claimed ones when it has stored its
-- results; a change arriving meanwhile resets claimed to 0, so it survives for the next run.
-- Statement-level triggers mark each part once per statement, and only when it is not already
-- marked and unclaimed, so concurrent writers of the same part take no row lock in steady state.
CREATE TABLE threshold_marks (
    part_id  TEXT PRIMARY KEY,
    claimed  INTEGER NOT NULL DEFAULT 0
);

CREATE FUNCTION cmms_mark_threshold_parts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO threshold_marks (part_id)
    SELECT DISTINCT n.part_id FROM changed_rows n
    WHERE n.part_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM threshold_marks m WHERE m.part_id = n.part_id AND m.claimed = 0)
    ORDER BY n.part_id
    ON CONFLICT (part_id) DO UPDATE SET claimed = 0 WHERE threshold_marks.claimed <> 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER consumption_marks_insert AFTER INSERT ON consumption
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION cmms_mark_threshold_parts();

CREATE TRIGGER consumption_marks_map AFTER UPDATE ON consumption
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION cmms_mark_threshold_parts();

CREATE TRIGGER parts_marks_insert AFTER INSERT ON parts
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION cmms_mark_threshold_parts();

-- Master updates mark every part the statement wrote: an import writes only new and changed rows.
CREATE TRIGGER parts_marks_update AFTER UPDATE ON parts
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION cmms_mark_threshold_parts();

-- What the last completed recompute covered: its formula version and window. A run with the same
-- version needs, besides the marked parts, only the parts with events in the window's moved edges.
CREATE TABLE threshold_watermark (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    formula_version BIGINT NOT NULL,
    window_start    BIGINT NOT NULL,
    as_of           BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
