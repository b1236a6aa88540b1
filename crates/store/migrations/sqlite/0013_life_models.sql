-- Life models and the cost-optimal PM decision, issue 24 (SQLite). Keep in step with
-- ../postgres/0013_life_models.sql. docs/contract.md#life-models-and-weibull_cost has the rules.

-- The part of an asset a failure event is about (optional): lives are built per asset and
-- component, and pooled per asset group and component.
ALTER TABLE failure_events ADD COLUMN component TEXT;

-- Under `[pm] method = "weibull_cost"`: one row per asset and component ('' = the asset as a
-- whole) with the life data, the fit it rests on (its own lives, or its pool's) and the decision.
-- Rows are removed when the registry goes back to `mtbf_fraction`.
CREATE TABLE pm_life_models (
    asset_id            TEXT NOT NULL REFERENCES assets(asset_id),
    component           TEXT NOT NULL,
    formula_version     INTEGER NOT NULL REFERENCES formula_versions(version_id),
    basis               TEXT NOT NULL,
    reason              TEXT,
    life_source         TEXT NOT NULL,
    lives               INTEGER NOT NULL,
    failures            INTEGER NOT NULL,
    suspensions         INTEGER NOT NULL,
    zero_length_dropped INTEGER NOT NULL,
    exp_mtbf_hours      REAL,
    beta                REAL,
    beta_lower          REAL,
    beta_upper          REAL,
    alpha_hours         REAL,
    mean_life_hours     REAL,
    b10_hours           REAL,
    t_star_hours        REAL,
    seed_interval_days  REAL NOT NULL,
    interval_days       REAL,
    failure_cost        REAL NOT NULL,
    pm_cost             REAL NOT NULL,
    cost_rate           REAL,
    cost_rate_seed      REAL,
    computed_at         INTEGER NOT NULL,
    PRIMARY KEY (asset_id, component)
);

-- The component whose decision sets the asset's interval (the shortest interval; '' = the asset).
ALTER TABLE pm_intervals ADD COLUMN life_component TEXT;
