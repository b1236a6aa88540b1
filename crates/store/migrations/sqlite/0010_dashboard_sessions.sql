-- Dashboard sessions (SQLite). Keep in step with ../postgres/0010_dashboard_sessions.sql.
--
-- Signing in to the dashboard with an API token opens a session: the browser's cookie holds only
-- a random session id, and this table holds its SHA-256 (never the id itself), the token it was
-- opened with, and when it was created, last seen and ends at the latest. Signing out deletes the
-- row; revoking the token deletes its rows (and a session of a revoked token never authenticates).
CREATE TABLE dashboard_sessions (
    id_hash      TEXT PRIMARY KEY,
    token_id     INTEGER NOT NULL REFERENCES api_tokens (id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX dashboard_sessions_token ON dashboard_sessions (token_id);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
