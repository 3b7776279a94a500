-- Dialer bookkeeping.
-- A cancel request is remembered on the batch so a call that is live when the integrator
-- cancels is not retried afterwards (cancel stops everything not yet dialed).
ALTER TABLE batches ADD COLUMN cancel_requested_at INTEGER;

-- Recovery looks for attempts left DIALING; claims look for leases by owner.
CREATE INDEX attempts_state ON attempts(state);
CREATE INDEX calls_lease ON calls(status, lease_expires_at);
