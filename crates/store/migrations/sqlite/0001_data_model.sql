-- cmms-pipeline data model (SQLite). Instants are INTEGER epoch milliseconds (UTC);
-- quantities are REAL; ids are TEXT. Keep in step with ../postgres/0001_data_model.sql.

CREATE TABLE sites (
    site_id     TEXT PRIMARY KEY,
    timezone    TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE parts (
    part_id          TEXT PRIMARY KEY,
    description      TEXT NOT NULL,
    unit             TEXT NOT NULL,
    site_id          TEXT NOT NULL REFERENCES sites(site_id),
    part_class       TEXT NOT NULL,
    lead_time_days   REAL NOT NULL,
    baseline_min     REAL,
    baseline_reorder REAL,
    baseline_max     REAL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX parts_site ON parts(site_id);
CREATE INDEX parts_class ON parts(part_class);

CREATE TABLE sku_map (
    source        TEXT NOT NULL,
    external_sku  TEXT NOT NULL,
    norm_sku      TEXT NOT NULL,
    part_id       TEXT NOT NULL REFERENCES parts(part_id),
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (source, external_sku)
);
CREATE INDEX sku_map_norm ON sku_map(source, norm_sku);

-- Every accepted payload is stored here before it is acknowledged; later stages process it.
CREATE TABLE staging (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    source       TEXT,
    origin       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'PENDING',
    reason       TEXT,
    processed_at INTEGER
);
CREATE INDEX staging_pending ON staging(status, id);

CREATE TABLE inventory_state (
    part_id          TEXT PRIMARY KEY REFERENCES parts(part_id),
    on_hand          REAL NOT NULL,
    reserved         REAL NOT NULL DEFAULT 0,
    observed_at      INTEGER NOT NULL,
    paused_reason    TEXT,
    paused_since     INTEGER,
    updated_at       INTEGER NOT NULL
);

-- Last applied snapshot sequence per (source, external SKU).
CREATE TABLE snapshot_sequences (
    source           TEXT NOT NULL,
    external_sku     TEXT NOT NULL,
    last_sequence_id INTEGER NOT NULL,
    applied_at       INTEGER NOT NULL,
    PRIMARY KEY (source, external_sku)
);

CREATE TABLE consumption (
    source        TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    external_sku  TEXT NOT NULL,
    part_id       TEXT REFERENCES parts(part_id),
    quantity      REAL NOT NULL,
    consumed_at   INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (source, event_id)
);
CREATE INDEX consumption_part_time ON consumption(part_id, consumed_at);

CREATE TABLE scans (
    scan_id      TEXT PRIMARY KEY,
    scanner_id   TEXT NOT NULL,
    code         TEXT NOT NULL,
    part_id      TEXT REFERENCES parts(part_id),
    counted_qty  REAL NOT NULL,
    system_qty   REAL,
    scanned_at   INTEGER NOT NULL,
    outcome      TEXT NOT NULL DEFAULT 'PENDING'
);
CREATE INDEX scans_part ON scans(part_id, scanned_at);

CREATE TABLE assets (
    asset_id               TEXT PRIMARY KEY,
    asset_group            TEXT NOT NULL,
    site_id                TEXT NOT NULL REFERENCES sites(site_id),
    fallback_interval_days REAL NOT NULL,
    last_completion_at     INTEGER,
    updated_at             INTEGER NOT NULL
);
CREATE INDEX assets_site ON assets(site_id);

CREATE TABLE asset_parts (
    asset_id   TEXT NOT NULL REFERENCES assets(asset_id),
    part_id    TEXT NOT NULL REFERENCES parts(part_id),
    quantity   REAL NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (asset_id, part_id)
);
CREATE INDEX asset_parts_part ON asset_parts(part_id);

CREATE TABLE failure_events (
    event_id    TEXT PRIMARY KEY,
    asset_id    TEXT NOT NULL REFERENCES assets(asset_id),
    event_type  TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    received_at INTEGER NOT NULL
);
CREATE INDEX failure_events_asset ON failure_events(asset_id, started_at);

CREATE TABLE mtbf_readings (
    asset_id    TEXT NOT NULL REFERENCES assets(asset_id),
    observed_at INTEGER NOT NULL,
    mtbf_hours  REAL NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (asset_id, observed_at)
);

-- Immutable formula registry versions.
CREATE TABLE formula_versions (
    version_id   INTEGER PRIMARY KEY,
    content_hash TEXT NOT NULL UNIQUE,
    content      TEXT NOT NULL,
    label        TEXT,
    created_at   INTEGER NOT NULL,
    active       INTEGER NOT NULL DEFAULT 0
);

-- Threshold history: one row per computation that changed a part's thresholds.
CREATE TABLE thresholds (
    id               INTEGER PRIMARY KEY,
    part_id          TEXT NOT NULL REFERENCES parts(part_id),
    formula_version  INTEGER NOT NULL REFERENCES formula_versions(version_id),
    as_of            INTEGER NOT NULL,
    status           TEXT NOT NULL,
    avg_daily_usage  REAL,
    computed_min     REAL,
    computed_reorder REAL,
    computed_max     REAL,
    published_min    REAL,
    published_reorder REAL,
    published_max    REAL,
    basis            TEXT NOT NULL,
    inputs           TEXT NOT NULL,
    sequence_id      INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX thresholds_part ON thresholds(part_id, id);

-- The thresholds in force per part (the latest published state).
CREATE TABLE current_thresholds (
    part_id        TEXT PRIMARY KEY REFERENCES parts(part_id),
    threshold_id   INTEGER REFERENCES thresholds(id),
    min_qty        REAL NOT NULL,
    reorder_qty    REAL NOT NULL,
    max_qty        REAL NOT NULL,
    basis          TEXT NOT NULL,
    sequence_id    INTEGER NOT NULL,
    approved_at    INTEGER,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE pm_intervals (
    asset_id         TEXT PRIMARY KEY REFERENCES assets(asset_id),
    formula_version  INTEGER NOT NULL REFERENCES formula_versions(version_id),
    status           TEXT NOT NULL,
    basis            TEXT,
    reason           TEXT,
    n_samples        INTEGER NOT NULL,
    mean_mtbf_hours  REAL,
    cv               REAL,
    interval_days    REAL,
    next_due_at      INTEGER,
    next_due_local   TEXT,
    computed_at      INTEGER NOT NULL
);

CREATE TABLE work_orders (
    id            INTEGER PRIMARY KEY,
    asset_id      TEXT NOT NULL REFERENCES assets(asset_id),
    plan_id       TEXT NOT NULL,
    state         TEXT NOT NULL,
    due_at        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    completed_at  INTEGER,
    previous_id   INTEGER REFERENCES work_orders(id)
);
-- At most one open PM per asset and plan, enforced by the store itself.
CREATE UNIQUE INDEX work_orders_one_open ON work_orders(asset_id, plan_id)
    WHERE state NOT IN ('COMPLETED', 'CANCELLED');
CREATE INDEX work_orders_state ON work_orders(state, due_at);

CREATE TABLE work_order_events (
    id            INTEGER PRIMARY KEY,
    work_order_id INTEGER NOT NULL REFERENCES work_orders(id),
    from_state    TEXT,
    to_state      TEXT NOT NULL,
    reason        TEXT,
    actor         TEXT NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX work_order_events_wo ON work_order_events(work_order_id, id);

CREATE TABLE procurement_requests (
    id          INTEGER PRIMARY KEY,
    part_id     TEXT NOT NULL REFERENCES parts(part_id),
    quantity    REAL NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- Never two open procurement requests for one part.
CREATE UNIQUE INDEX procurement_one_open ON procurement_requests(part_id) WHERE status = 'OPEN';

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    message     TEXT NOT NULL,
    details     TEXT,
    status      TEXT NOT NULL DEFAULT 'OPEN',
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE UNIQUE INDEX alerts_one_open ON alerts(kind, subject) WHERE status = 'OPEN';

CREATE TABLE quarantine (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    external_sku TEXT NOT NULL,
    reason       TEXT NOT NULL,
    candidates   TEXT,
    held_count   INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT 'OPEN',
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    resolved_part_id TEXT,
    resolved_at  INTEGER
);
CREATE UNIQUE INDEX quarantine_one_open ON quarantine(source, external_sku) WHERE status = 'OPEN';

-- Transactional outbox for publication, written with the state change it announces.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    target           TEXT NOT NULL,
    part_id          TEXT NOT NULL,
    sequence_id      INTEGER NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'PENDING',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_part ON outbox(target, part_id, sequence_id);

CREATE TABLE delivery_attempts (
    id          INTEGER PRIMARY KEY,
    outbox_id   INTEGER NOT NULL REFERENCES outbox(id),
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    http_status INTEGER,
    error       TEXT,
    response    TEXT
);
CREATE INDEX delivery_attempts_outbox ON delivery_attempts(outbox_id, attempt);

CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY,
    outbox_id   INTEGER NOT NULL REFERENCES outbox(id),
    target      TEXT NOT NULL,
    part_id     TEXT NOT NULL,
    payload     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    replayed_at INTEGER
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

-- One row per import run, for audit ("who loaded what, when, with what result").
CREATE TABLE import_runs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    file        TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    inserted    INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT
);
