//! SQLite side of fleet coordination: the same trunk pacing, concurrency check and heartbeats
//! as `postgres_fleet.rs`, so the dialer has one code path on either backend.
//!
//! On SQLite there is one node, and writers are serialised by `BEGIN IMMEDIATE` anyway, so
//! these are plain statements inside the caller's write transaction; the rows keep the limits
//! across a restart of that node exactly as they would across nodes.

use sqlx::SqliteConnection;

use crate::Result;
use crate::sqlite::SqliteStore;

/// The trunk's live attempts: `DIALING` ones (partial index `attempts_live_trunk`). Called
/// inside the `BEGIN IMMEDIATE` transaction that inserts the attempt, so no writer slips in
/// between. A dead run's attempts count until recovery marks them `INTERRUPTED`.
pub(crate) async fn count_live(conn: &mut SqliteConnection, trunk: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM attempts WHERE trunk = ? AND state = 'DIALING'")
        .bind(trunk)
        .fetch_one(&mut *conn)
        .await?)
}

impl SqliteStore {
    /// Advances the trunk's pacing time by `interval` from `max(pacing, earliest)`.
    pub(crate) async fn fleet_reserve_send_slot(
        &self,
        trunk: &str,
        earliest: i64,
        interval: i64,
    ) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let slot: i64 = sqlx::query_scalar(
            "INSERT INTO trunk_pacing (trunk, next_send_at) VALUES (?1, ?2 + ?3)
             ON CONFLICT (trunk) DO UPDATE SET next_send_at = MAX(trunk_pacing.next_send_at, ?2) + ?3
             RETURNING next_send_at - ?3",
        )
        .bind(trunk)
        .bind(earliest)
        .bind(interval.max(0))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(slot)
    }

    /// Upserts the node's heartbeat; returns the one it replaced.
    pub(crate) async fn fleet_heartbeat(&self, node: &str, now: i64) -> Result<Option<i64>> {
        let mut tx = self.write_tx().await?;
        let previous: Option<i64> = sqlx::query_scalar("SELECT heartbeat_at FROM nodes WHERE node = ?")
            .bind(node)
            .fetch_optional(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO nodes (node, heartbeat_at) VALUES (?1, ?2)
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
