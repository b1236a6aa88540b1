-- PM pipeline details (SQLite). Keep in step with ../postgres/0002_pm.sql.

-- The completion a PM's due date was computed from: a completion must come after it.
ALTER TABLE work_orders ADD COLUMN follows_at INTEGER;

ALTER TABLE pm_intervals ADD COLUMN n_discarded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pm_intervals ADD COLUMN n_open_planned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pm_intervals ADD COLUMN last_completion_at INTEGER;
