//! PostgreSQL queries that coordinate a fleet: the trunk's shared send pacing, the
//! fleet-wide concurrency check of `begin_attempt`, and node heartbeats.
//!
//! Every node asks the same rows, so a trunk's `cps` and `max_concurrent` hold across the
//! fleet rather than per node. Both limits go through the trunk's `trunk_pacing` row: a slot
//! is one `UPSERT ... RETURNING` (atomic, no lock held past the statement); the concurrency
//! check locks the row until the attempt row commits, so two nodes cannot both take the last
//! slot. Lock order is call → trunk everywhere (nothing locks a trunk row, then a call).

use sqlx::PgConnection;

use crate::Result;
use crate::postgres::PgStore;

/// Locks the trunk's pacing row (creating it) until the transaction ends, then counts the
/// trunk's live attempts: `DIALING` ones (the partial index `attempts_live_trunk`, so the count
/// costs the live attempts only). Read after the lock, so every attempt committed by a node that
/// held the lock before is counted. An attempt of a dead node counts until recovery (the
/// heartbeat sweep, which also takes expired leases) marks it `INTERRUPTED`: safe side.
pub(crate) async fn lock_and_count_live(conn: &mut PgConnection, trunk: &str) -> Result<i64> {
    sqlx::query(
        "INSERT INTO trunk_pacing (trunk, next_send_at) VALUES ($1, 0)
         ON CONFLICT (trunk) DO UPDATE SET trunk = excluded.trunk",
    )
    .bind(trunk)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM attempts WHERE trunk = $1 AND state = 'DIALING'")
        .bind(trunk)
        .fetch_one(&mut *conn)
        .await?)
}

impl PgStore {
    /// Advances the trunk's pacing time by `interval` from `max(pacing, earliest)`.
    pub(crate) async fn fleet_reserve_send_slot(
        &self,
        trunk: &str,
        earliest: i64,
        interval: i64,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO trunk_pacing (trunk, next_send_at) VALUES ($1, $2 + $3)
             ON CONFLICT (trunk) DO UPDATE
               SET next_send_at = GREATEST(trunk_pacing.next_send_at, $2) + $3
             RETURNING next_send_at - $3",
        )
        .bind(trunk)
        .bind(earliest)
        .bind(interval.max(0))
        .fetch_one(&self.pool)
        .await?)
    }

    /// Upserts the node's heartbeat; returns the one it replaced.
    pub(crate) async fn fleet_heartbeat(&self, node: &str, now: i64) -> Result<Option<i64>> {
        let mut tx = self.tx().await?;
        let previous: Option<i64> =
            sqlx::query_scalar("SELECT heartbeat_at FROM nodes WHERE node = $1 FOR UPDATE")
                .bind(node)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO nodes (node, heartbeat_at) VALUES ($1, $2)
             ON CONFLICT (node) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
        )
        .bind(node)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(previous)
    }
}
