-- PostgreSQL twin of migrations/sqlite/0001_init.sql: same tables, same meaning.
-- Times are BIGINT microseconds since the Unix epoch (UTC); ids are uuid text.
-- JSON columns hold the integrator's bytes as sent so they are echoed back verbatim.

CREATE TABLE integrators (
    id                          TEXT PRIMARY KEY,
    name                        TEXT NOT NULL,
    callback_url                TEXT,
    signing_secret              TEXT NOT NULL,
    previous_signing_secret     TEXT,
    previous_secret_expires_at  BIGINT,
    created_at                  BIGINT NOT NULL
);

-- Only a SHA-256 of each API key is kept.
CREATE TABLE api_keys (
    key_hash       TEXT PRIMARY KEY,
    integrator_id  TEXT NOT NULL REFERENCES integrators(id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT
);
CREATE INDEX api_keys_integrator ON api_keys(integrator_id);

-- Workflow ids are chosen by integrators (PUT), so two integrators may use the same id.
CREATE TABLE workflows (
    integrator_id  TEXT NOT NULL REFERENCES integrators(id),
    id             TEXT NOT NULL,
    name           TEXT NOT NULL,
    definition     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    deleted_at     BIGINT,
    PRIMARY KEY (integrator_id, id)
);

-- A batch keeps a snapshot of its workflow: editing the workflow never changes running calls.
CREATE TABLE batches (
    id                TEXT PRIMARY KEY,
    integrator_id     TEXT NOT NULL REFERENCES integrators(id),
    workflow_id       TEXT NOT NULL,
    workflow          TEXT NOT NULL,
    tts_voice_accent  TEXT NOT NULL,
    tts_voice_gender  TEXT NOT NULL,
    callback_url      TEXT,
    caller_id         TEXT,
    not_before        BIGINT,
    not_after         BIGINT,
    max_attempts      BIGINT NOT NULL,
    backoff_seconds   BIGINT,
    status            TEXT NOT NULL,
    total_calls       BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    completed_at      BIGINT
);
CREATE INDEX batches_integrator ON batches(integrator_id, created_at);

CREATE TABLE calls (
    id                    TEXT PRIMARY KEY,
    batch_id              TEXT NOT NULL REFERENCES batches(id),
    integrator_id         TEXT NOT NULL,
    seq                   BIGINT NOT NULL,
    phone_number          TEXT NOT NULL,
    user_tag_identifiers  TEXT NOT NULL,
    workflow_variables    TEXT NOT NULL,
    status                TEXT NOT NULL,
    attempts              BIGINT NOT NULL DEFAULT 0,
    next_attempt_at       BIGINT NOT NULL,
    lease_owner           TEXT,
    lease_expires_at      BIGINT,
    outcome               TEXT,
    sip_code              BIGINT,
    reason                TEXT,
    duration_seconds      BIGINT NOT NULL DEFAULT 0,
    options_selected      TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE UNIQUE INDEX calls_batch_seq ON calls(batch_id, seq);
CREATE INDEX calls_due ON calls(status, next_attempt_at);

-- One row per dial attempt, committed before its INVITE leaves (no double dial).
CREATE TABLE attempts (
    id           TEXT PRIMARY KEY,
    call_id      TEXT NOT NULL REFERENCES calls(id),
    attempt_no   BIGINT NOT NULL,
    sip_call_id  TEXT NOT NULL UNIQUE,
    trunk        TEXT NOT NULL,
    node         TEXT NOT NULL,
    state        TEXT NOT NULL,
    outcome      TEXT,
    sip_code     BIGINT,
    started_at   BIGINT NOT NULL,
    answered_at  BIGINT,
    ended_at     BIGINT,
    UNIQUE (call_id, attempt_no)
);

CREATE TABLE idempotency_keys (
    integrator_id  TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    batch_id       TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (integrator_id, key)
);

CREATE TABLE do_not_call (
    integrator_id  TEXT NOT NULL,
    phone_number   TEXT NOT NULL,
    source         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (integrator_id, phone_number)
);
