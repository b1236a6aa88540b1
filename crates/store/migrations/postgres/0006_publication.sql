-- Publication to external CMMS targets (postgres). Keep in step with ../sqlite/0006_publication.sql.

-- One row per (target, part): the lease a publisher instance holds while it delivers that part's
-- changes (so a part's changes go out one at a time, newest first, never overtaken by an older
-- one), and the highest sequence the target has confirmed. Leases expire, so a dead instance's
-- parts are taken over by the others.
CREATE TABLE outbox_heads (
    target             TEXT NOT NULL,
    part_id            TEXT NOT NULL,
    lease_owner        TEXT,
    lease_expires_at   BIGINT,
    delivered_sequence BIGINT,
    PRIMARY KEY (target, part_id)
);

-- The last failure of a row still being retried, for operators.
ALTER TABLE outbox ADD COLUMN last_error TEXT;

-- Dead letters keep the sequence and the full request (method, URL, headers with the token
-- redacted, body); every response or error is in delivery_attempts.
ALTER TABLE dead_letters ADD COLUMN sequence_id BIGINT;
ALTER TABLE dead_letters ADD COLUMN request TEXT;
CREATE INDEX dead_letters_open ON dead_letters(replayed_at, id);
