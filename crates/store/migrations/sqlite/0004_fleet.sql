-- Fleet coordination (issue 8): limits shared by every node, and node heartbeats.
-- SQLite twin of migrations/postgres/0004_fleet.sql.

-- One row per trunk. `next_send_at` is the trunk's GCRA "theoretical arrival time" (µs): the
-- earliest the next INVITE may leave from any node. Taking a send slot advances it by the
-- trunk's interval in one UPDATE, so slots handed to different nodes never overlap. The row
-- lock also serialises the concurrency check of begin_attempt (count live attempts, insert).
CREATE TABLE trunk_pacing (
    trunk         TEXT PRIMARY KEY,
    next_send_at  INTEGER NOT NULL
);

-- One row per dialer node name. A node whose heartbeat is older than `dead_after` is dead:
-- another node interrupts its open attempts and requeues its claims (sooner than the lease).
CREATE TABLE nodes (
    node          TEXT PRIMARY KEY,
    heartbeat_at  INTEGER NOT NULL
);

-- The concurrency check counts a trunk's live attempts; the dead-node sweep finds a node's
-- leased calls. Both look at the few live rows only.
CREATE INDEX attempts_live_trunk ON attempts(trunk) WHERE state = 'DIALING';
CREATE INDEX calls_leased_by ON calls(lease_owner) WHERE status = 'DIALING';

-- Claims order due queued calls by (next_attempt_at, seq): with `seq` in the index SQLite walks
-- it in that order instead of sorting every queued call (55 ms per claim at 50,000 queued).
DROP INDEX calls_due;
CREATE INDEX calls_due ON calls(status, next_attempt_at, seq);
