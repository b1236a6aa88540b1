-- PM pipeline details (PostgreSQL). Keep in step with ../sqlite/0002_pm.sql.

-- The completion a PM's due date was computed from: a completion must come after it.
ALTER TABLE work_orders ADD COLUMN follows_at BIGINT;

ALTER TABLE pm_intervals ADD COLUMN n_discarded BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pm_intervals ADD COLUMN n_open_planned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pm_intervals ADD COLUMN last_completion_at BIGINT;
