-- Life models and the cost-optimal PM decision, issue 24 (PostgreSQL). Keep in step with
-- ../sqlite/0013_life_models.sql. docs/contract.md#life-models-and-weibull_cost has the rules.

-- The part of an asset a failure event is about (optional): lives are built per asset and
-- component, and pooled per asset group and component.
ALTER TABLE failure_events ADD COLUMN component TEXT;

-- Under `[pm] method = "weibull_cost"`: one row per asset and component ('' = the asset as a
-- whole) with the life data, the fit it rests on (its own lives, or its pool's) and the decision.
-- Rows are removed when the registry goes back to `mtbf_fraction`.
CREATE TABLE pm_life_models (
    asset_id            TEXT NOT NULL REFERENCES assets(asset_id),
    component           TEXT NOT NULL,
    formula_version     BIGINT NOT NULL REFERENCES formula_versions(version_id),
    basis               TEXT NOT NULL,
    reason              TEXT,
    life_source         TEXT NOT NULL,
    lives               BIGINT NOT NULL,
    failures            BIGINT NOT NULL,
    suspensions         BIGINT NOT NULL,
    zero_length_dropped BIGINT NOT NULL,
    exp_mtbf_hours      DOUBLE PRECISION,
    beta                DOUBLE PRECISION,
    beta_lower          DOUBLE PRECISION,
    beta_upper          DOUBLE PRECISION,
    alpha_hours         DOUBLE PRECISION,
    mean_life_hours     DOUBLE PRECISION,
    b10_hours           DOUBLE PRECISION,
    t_star_hours        DOUBLE PRECISION,
    seed_interval_days  DOUBLE PRECISION NOT NULL,
    interval_days       DOUBLE PRECISION,
    failure_cost        DOUBLE PRECISION NOT NULL,
    pm_cost             DOUBLE PRECISION NOT NULL,
    cost_rate           DOUBLE PRECISION,
    cost_rate_seed      DOUBLE PRECISION,
    computed_at         BIGINT NOT NULL,
    PRIMARY KEY (asset_id, component)
);

-- The component whose decision sets the asset's interval (the shortest interval; '' = the asset).
ALTER TABLE pm_intervals ADD COLUMN life_component TEXT;
