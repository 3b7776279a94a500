-- Completion callbacks (CONTRACT.md §7): a durable outbox and every delivery attempt.
-- PostgreSQL twin of migrations/sqlite/0003_callbacks.sql.
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
    attempts          BIGINT NOT NULL DEFAULT 0,     -- all attempts, numbering callback_attempts
    round_attempts    BIGINT NOT NULL DEFAULT 0,     -- attempts since creation or the last redeliver
    next_attempt_at   BIGINT NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  BIGINT,
    target_url        TEXT,                          -- last URL resolved
    last_error        TEXT,
    created_at        BIGINT NOT NULL,
    delivered_at      BIGINT,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX callback_outbox_due ON callback_outbox(state, next_attempt_at);

CREATE TABLE callback_attempts (
    outbox_id    TEXT NOT NULL REFERENCES callback_outbox(id),
    attempt_no   BIGINT NOT NULL,
    node         TEXT NOT NULL,
    url          TEXT,
    started_at   BIGINT NOT NULL,
    http_status  BIGINT,
    latency_ms   BIGINT,
    error        TEXT,
    outcome      TEXT NOT NULL,                      -- DELIVERED | RETRY | EXHAUSTED | GONE | NO_TARGET
    PRIMARY KEY (outbox_id, attempt_no)
);

-- gen_random_uuid() is core since PostgreSQL 13: 32 hex digits once the dashes are gone.
CREATE FUNCTION batches_final_callback() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at BIGINT := COALESCE(NEW.completed_at, (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT);
BEGIN
    INSERT INTO callback_outbox (id, batch_id, integrator_id, state, next_attempt_at, created_at, updated_at)
    VALUES ('msg_' || replace(gen_random_uuid()::text, '-', ''), NEW.id, NEW.integrator_id, 'PENDING', at, at, at)
    ON CONFLICT (batch_id) DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER batches_final_callback
AFTER UPDATE OF status ON batches
FOR EACH ROW
WHEN (NEW.status IN ('COMPLETED', 'CANCELLED') AND OLD.status NOT IN ('COMPLETED', 'CANCELLED'))
EXECUTE FUNCTION batches_final_callback();
