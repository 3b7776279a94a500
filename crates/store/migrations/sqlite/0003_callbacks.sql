-- Completion callbacks (CONTRACT.md §7): a durable outbox and every delivery attempt.
--
-- The outbox row is written by a trigger, so it is committed in the same transaction that
-- makes a batch final, whichever code path does it (dialer settling the last call, cancel).
-- Its id is the Standard Webhooks `webhook-id`: stable across retries and redelivery.
-- The target URL is resolved at send time (batch, workflow snapshot, integrator default),
-- so a corrected integrator default applies to retries and redeliveries.

CREATE TABLE callback_outbox (
    id                TEXT PRIMARY KEY,              -- webhook-id, 'msg_' + 32 hex
    batch_id          TEXT NOT NULL UNIQUE REFERENCES batches(id),
    integrator_id     TEXT NOT NULL,
    state             TEXT NOT NULL,                 -- PENDING | DELIVERED | EXHAUSTED | GONE | NO_TARGET
    attempts          INTEGER NOT NULL DEFAULT 0,    -- all attempts, numbering callback_attempts
    round_attempts    INTEGER NOT NULL DEFAULT 0,    -- attempts since creation or the last redeliver
    next_attempt_at   INTEGER NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    target_url        TEXT,                          -- last URL resolved
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    delivered_at      INTEGER,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX callback_outbox_due ON callback_outbox(state, next_attempt_at);

CREATE TABLE callback_attempts (
    outbox_id    TEXT NOT NULL REFERENCES callback_outbox(id),
    attempt_no   INTEGER NOT NULL,
    node         TEXT NOT NULL,
    url          TEXT,
    started_at   INTEGER NOT NULL,
    http_status  INTEGER,
    latency_ms   INTEGER,
    error        TEXT,
    outcome      TEXT NOT NULL,                      -- DELIVERED | RETRY | EXHAUSTED | GONE | NO_TARGET
    PRIMARY KEY (outbox_id, attempt_no)
);

CREATE TRIGGER batches_final_callback
AFTER UPDATE OF status ON batches
WHEN NEW.status IN ('COMPLETED', 'CANCELLED') AND OLD.status NOT IN ('COMPLETED', 'CANCELLED')
BEGIN
    INSERT OR IGNORE INTO callback_outbox
        (id, batch_id, integrator_id, state, next_attempt_at, created_at, updated_at)
    VALUES (
        'msg_' || lower(hex(randomblob(16))),
        NEW.id,
        NEW.integrator_id,
        'PENDING',
        COALESCE(NEW.completed_at, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)),
        COALESCE(NEW.completed_at, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)),
        COALESCE(NEW.completed_at, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))
    );
END;
