-- Dialer bookkeeping.
-- A cancel request is remembered on the batch so a call that is live when the integrator
-- cancels is not retried afterwards (cancel stops everything not yet dialed).
ALTER TABLE batches ADD COLUMN cancel_requested_at BIGINT;

-- Recovery looks for attempts left DIALING; claims look for leases by owner.
CREATE INDEX attempts_state ON attempts(state);
CREATE INDEX calls_lease ON calls(status, lease_expires_at);

-- PostgreSQL only: the claim query (FOR UPDATE SKIP LOCKED, many nodes) walks due queued calls
-- in order without touching the final ones that make up most of the table.
CREATE INDEX calls_queued_due ON calls(next_attempt_at, seq) WHERE status = 'QUEUED';
