//! PostgreSQL queries of the dialer: claims, attempts, recovery, the do-not-call list.
//!
//! Same crash-safety order as the SQLite side — the attempt row (with its SIP Call-ID) is
//! committed by [`PgStore::dialer_begin_attempt`] before the caller may send the INVITE, and
//! [`PgStore::dialer_recover`] turns attempts still `DIALING` under a dead lease into
//! `INTERRUPTED`, counted against `max_attempts` — but with many nodes writing at once:
//!
//! - claims lock due rows with `FOR UPDATE SKIP LOCKED`, so nodes never wait on or share a call;
//! - every write on a leased call locks the call row first (fencing against recovery);
//! - every transaction that may make a batch final locks the batch row before it looks at the
//!   batch's other calls, so two nodes finishing the last two calls cannot both see the other
//!   call live and leave the batch unsettled, and a cancel cannot slip between a node reading
//!   "not cancelled" and re-queueing its call. Locks are taken call → batch (or batch → queued
//!   calls with `SKIP LOCKED`), never the other way round, so these never deadlock.

use std::collections::HashMap;

use sqlx::{PgConnection, Row};

use crate::Result;
use crate::dialer::*;
use crate::listing::played_to;
use crate::model::{BatchRow, CallStatus};
use crate::postgres::{PgStore, batch_from, call_from, corrupt};
use crate::postgres_fleet::lock_and_count_live;

/// Marks the batch `COMPLETED` (or `CANCELLED` if the integrator cancelled some call) once
/// none of its calls is live. The row lock comes first so the check below runs on a snapshot
/// taken after any other transaction settling a call of this batch has committed.
pub(crate) async fn settle_batch(conn: &mut PgConnection, batch_id: &str, now: i64) -> Result<()> {
    lock_batch(conn, batch_id).await?;
    sqlx::query(
        "UPDATE batches SET completed_at = $2,
           status = CASE WHEN EXISTS (SELECT 1 FROM calls WHERE batch_id = $1 AND status = 'CANCELLED')
                         THEN 'CANCELLED' ELSE 'COMPLETED' END
         WHERE id = $1 AND status NOT IN ('COMPLETED', 'CANCELLED')
           AND NOT EXISTS (SELECT 1 FROM calls WHERE batch_id = $1 AND status IN ('QUEUED', 'DIALING'))",
    )
    .bind(batch_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Locks a batch row; returns its `cancel_requested_at`.
async fn lock_batch(conn: &mut PgConnection, batch_id: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT cancel_requested_at FROM batches WHERE id = $1 FOR UPDATE")
        .bind(batch_id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Locks the call and returns its batch id if `node` holds its lease (status `DIALING`).
async fn leased_batch(conn: &mut PgConnection, call_id: &str, node: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT batch_id FROM calls WHERE id = $1 AND status = 'DIALING' AND lease_owner = $2 FOR UPDATE",
    )
    .bind(call_id)
    .bind(node)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Makes a call final and releases its lease.
async fn finalise_call(
    conn: &mut PgConnection,
    call_id: &str,
    status: CallStatus,
    reason: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE calls SET status = $1, reason = COALESCE($2, reason), lease_owner = NULL,
           lease_expires_at = NULL, updated_at = $3 WHERE id = $4",
    )
    .bind(status.as_str())
    .bind(reason)
    .bind(now)
    .bind(call_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Finalises queued calls of batches past `not_after` (batches another node is settling
/// right now are skipped; the next claim gets them).
async fn expire_not_after(conn: &mut PgConnection, now: i64) -> Result<()> {
    let batches: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM batches b
         WHERE not_after IS NOT NULL AND not_after < $1 AND status NOT IN ('COMPLETED', 'CANCELLED')
           AND EXISTS (SELECT 1 FROM calls c WHERE c.batch_id = b.id AND c.status = 'QUEUED')
         ORDER BY id FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    if batches.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE calls SET status = CASE WHEN outcome = 'NO_ANSWER' THEN 'TIMEOUT' ELSE 'FAILED' END,
           reason = 'not_after', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
         WHERE status = 'QUEUED' AND batch_id = ANY($2)",
    )
    .bind(now)
    .bind(&batches)
    .execute(&mut *conn)
    .await?;
    for batch_id in &batches {
        settle_batch(conn, batch_id, now).await?;
    }
    Ok(())
}

impl PgStore {
    /// Finalises queued calls of batches past `not_after`, then claims due calls.
    pub(crate) async fn dialer_claim(&self, req: &ClaimRequest) -> Result<Vec<ClaimedCall>> {
        let mut tx = self.tx().await?;
        expire_not_after(&mut tx, req.now).await?;
        let rows = sqlx::query(
            "UPDATE calls SET status = 'DIALING', lease_owner = $1, lease_expires_at = $2, updated_at = $3
             WHERE id IN (SELECT c.id FROM calls c JOIN batches b ON b.id = c.batch_id
               WHERE c.status = 'QUEUED' AND c.next_attempt_at <= $3 AND b.cancel_requested_at IS NULL
                 AND b.status NOT IN ('COMPLETED', 'CANCELLED')
                 AND (b.not_after IS NULL OR b.not_after >= $3)
               ORDER BY c.next_attempt_at, c.seq LIMIT $4
               FOR UPDATE OF c SKIP LOCKED)
             RETURNING *",
        )
        .bind(&req.node)
        .bind(req.lease_until)
        .bind(req.now)
        .bind(i64::from(req.limit))
        .fetch_all(&mut *tx)
        .await?;
        let calls = rows.iter().map(call_from).collect::<Result<Vec<_>>>()?;
        let mut ids: Vec<&str> = calls.iter().map(|c| c.batch_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut batches: HashMap<String, BatchRow> = HashMap::new();
        if !ids.is_empty() {
            let rows = sqlx::query("SELECT * FROM batches WHERE id = ANY($1)")
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?;
            for row in &rows {
                let b = batch_from(row)?;
                batches.insert(b.id.clone(), b);
            }
        }
        tx.commit().await?;
        let mut claimed: Vec<ClaimedCall> = calls
            .into_iter()
            .map(|call| {
                let batch =
                    batches.get(&call.batch_id).cloned().ok_or_else(|| corrupt("calls", "batch missing"))?;
                Ok(ClaimedCall { call, batch })
            })
            .collect::<Result<_>>()?;
        claimed.sort_by_key(|c| (c.call.next_attempt_at, c.call.seq));
        Ok(claimed)
    }

    /// Commits the attempt row before the INVITE; refuses when cancelled or exhausted.
    pub(crate) async fn dialer_begin_attempt(&self, a: &NewAttempt) -> Result<AttemptStart> {
        let mut tx = self.tx().await?;
        let row = sqlx::query(
            "SELECT c.batch_id, c.attempts, b.max_attempts, b.cancel_requested_at
             FROM calls c JOIN batches b ON b.id = c.batch_id
             WHERE c.id = $1 AND c.status = 'DIALING' AND c.lease_owner = $2
             FOR UPDATE OF c",
        )
        .bind(&a.call_id)
        .bind(&a.node)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(AttemptStart::LeaseLost) };
        let batch_id: String = row.try_get("batch_id")?;
        let attempts: i64 = row.try_get("attempts")?;
        let max_attempts: i64 = row.try_get("max_attempts")?;
        let cancelled: Option<i64> = row.try_get("cancel_requested_at")?;
        if cancelled.is_some() || attempts >= max_attempts {
            let (status, reason, start) = if cancelled.is_some() {
                (CallStatus::Cancelled, "cancelled", AttemptStart::Cancelled)
            } else {
                (CallStatus::Failed, "max_attempts", AttemptStart::Exhausted)
            };
            finalise_call(&mut tx, &a.call_id, status, Some(reason), a.started_at).await?;
            settle_batch(&mut tx, &batch_id, a.started_at).await?;
            tx.commit().await?;
            return Ok(start);
        }
        if let Some(max) = a.max_concurrent
            && lock_and_count_live(&mut tx, &a.trunk).await? >= i64::from(max)
        {
            tx.rollback().await?;
            return Ok(AttemptStart::TrunkFull);
        }
        let attempt_no = attempts + 1;
        sqlx::query("UPDATE calls SET attempts = $1, lease_expires_at = $2, updated_at = $3 WHERE id = $4")
            .bind(attempt_no)
            .bind(a.lease_until)
            .bind(a.started_at)
            .bind(&a.call_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO attempts (id, call_id, attempt_no, sip_call_id, trunk, node, state, started_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'DIALING', $7)",
        )
        .bind(&a.id)
        .bind(&a.call_id)
        .bind(attempt_no)
        .bind(&a.sip_call_id)
        .bind(&a.trunk)
        .bind(&a.node)
        .bind(a.started_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE batches SET status = 'IN_PROGRESS' WHERE id = $1 AND status = 'PENDING'")
            .bind(&batch_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(AttemptStart::Started(u32::try_from(attempt_no).unwrap_or(u32::MAX)))
    }

    /// Records the answer time of a live attempt.
    pub(crate) async fn dialer_mark_answered(&self, attempt_id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE attempts SET answered_at = $1 WHERE id = $2 AND state = 'DIALING'")
            .bind(at)
            .bind(attempt_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends an attempt, moves the call on, records an opt-out, settles the batch.
    pub(crate) async fn dialer_finish_attempt(&self, r: &AttemptResult) -> Result<bool> {
        let mut tx = self.tx().await?;
        let Some(batch_id) = leased_batch(&mut tx, &r.call_id, &r.node).await? else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE attempts SET state = 'ENDED', outcome = $1, sip_code = $2,
               answered_at = COALESCE($3, answered_at), ended_at = $4, digits = $5, played = $6
             WHERE id = $7 AND call_id = $8",
        )
        .bind(&r.outcome)
        .bind(r.sip_code.map(i64::from))
        .bind(r.answered_at)
        .bind(r.ended_at)
        .bind(&r.digits)
        .bind(played_to(&r.played))
        .bind(&r.attempt_id)
        .bind(&r.call_id)
        .execute(&mut *tx)
        .await?;
        // Locked, so a cancel committing now is either seen here or sees this call re-queued.
        let cancelled = lock_batch(&mut tx, &batch_id).await?;
        let (status, due, reason) = match (&r.next, cancelled) {
            (CallNext::Retry { .. }, Some(_)) => (CallStatus::Cancelled, None, Some("cancelled")),
            (CallNext::Retry { at }, None) => (CallStatus::Queued, Some(*at), None),
            (CallNext::Final { status, reason }, _) => (*status, None, reason.as_deref()),
        };
        sqlx::query(
            "UPDATE calls SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at),
               reason = COALESCE($3, reason), outcome = $4, sip_code = $5, duration_seconds = $6,
               options_selected = COALESCE($7, options_selected), lease_owner = NULL,
               lease_expires_at = NULL, updated_at = $8 WHERE id = $9",
        )
        .bind(status.as_str())
        .bind(due)
        .bind(reason)
        .bind(&r.outcome)
        .bind(r.sip_code.map(i64::from))
        .bind(r.duration_seconds)
        .bind(&r.options_selected)
        .bind(r.ended_at)
        .bind(&r.call_id)
        .execute(&mut *tx)
        .await?;
        if r.opted_out {
            sqlx::query(
                "INSERT INTO do_not_call (integrator_id, phone_number, source, created_at)
                 SELECT integrator_id, phone_number, 'opt_out', $1 FROM calls WHERE id = $2
                 ON CONFLICT (integrator_id, phone_number) DO NOTHING",
            )
            .bind(r.ended_at)
            .bind(&r.call_id)
            .execute(&mut *tx)
            .await?;
        }
        if status.is_final() {
            settle_batch(&mut tx, &batch_id, r.ended_at).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Finalises a claimed call without an attempt.
    pub(crate) async fn dialer_skip_call(
        &self,
        call_id: &str,
        node: &str,
        status: CallStatus,
        reason: &str,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.tx().await?;
        let Some(batch_id) = leased_batch(&mut tx, call_id, node).await? else { return Ok(false) };
        finalise_call(&mut tx, call_id, status, Some(reason), now).await?;
        settle_batch(&mut tx, &batch_id, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Returns a claimed, undialed call to the queue.
    pub(crate) async fn dialer_defer_call(
        &self,
        call_id: &str,
        node: &str,
        due: i64,
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE calls SET status = 'QUEUED', next_attempt_at = $1, lease_owner = NULL,
               lease_expires_at = NULL, updated_at = $2
             WHERE id = $3 AND status = 'DIALING' AND lease_owner = $4",
        )
        .bind(due)
        .bind(now)
        .bind(call_id)
        .bind(node)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// One attempt found `DIALING` under a dead lease, with what recovery needs to decide.
struct Orphan {
    attempt_id: String,
    call_id: String,
    batch_id: String,
    attempts: i64,
    max_attempts: i64,
    backoff: Option<i64>,
    cancelled: bool,
}

/// SQL condition on a `calls` row `c` for [`DeadLeases`] bound as `$1`, `$2`, `$3` (a macro so
/// the queries stay `&'static str`).
macro_rules! dead_lease {
    () => {
        "(c.lease_expires_at < $1 OR c.lease_owner = $2
          OR c.lease_owner IN (SELECT node FROM nodes WHERE heartbeat_at < $3))"
    };
}

/// Attempts left `DIALING` by dead leases, their calls locked. Rows another transaction holds
/// (the live owner finishing, another node recovering) are skipped; ordered by batch so batch
/// locks are taken in one order by every recovering node.
async fn orphans(conn: &mut PgConnection, dead: DeadLeases<'_>) -> Result<Vec<Orphan>> {
    let rows = sqlx::query(concat!(
        "SELECT a.id AS attempt_id, c.id AS call_id, c.batch_id, c.attempts, b.max_attempts,
           b.backoff_seconds, b.cancel_requested_at
         FROM attempts a JOIN calls c ON c.id = a.call_id JOIN batches b ON b.id = c.batch_id
         WHERE a.state = 'DIALING' AND c.status = 'DIALING' AND ",
        dead_lease!(),
        " ORDER BY c.batch_id, c.id
         FOR UPDATE OF a, c SKIP LOCKED"
    ))
    .bind(dead.now)
    .bind(dead.node)
    .bind(dead.silent_since)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Orphan {
                attempt_id: row.try_get("attempt_id")?,
                call_id: row.try_get("call_id")?,
                batch_id: row.try_get("batch_id")?,
                attempts: row.try_get("attempts")?,
                max_attempts: row.try_get("max_attempts")?,
                backoff: row.try_get("backoff_seconds")?,
                cancelled: row.try_get::<Option<i64>, _>("cancel_requested_at")?.is_some(),
            })
        })
        .collect()
}

/// Marks one orphaned attempt `INTERRUPTED` and moves its call on; true if the call is final.
async fn interrupt(conn: &mut PgConnection, o: &Orphan, now: i64, retry_delay: i64) -> Result<bool> {
    sqlx::query("UPDATE attempts SET state = $1, outcome = $1, ended_at = $2 WHERE id = $3")
        .bind(OUTCOME_INTERRUPTED)
        .bind(now)
        .bind(&o.attempt_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE calls SET outcome = $1, sip_code = NULL WHERE id = $2")
        .bind(OUTCOME_INTERRUPTED)
        .bind(&o.call_id)
        .execute(&mut *conn)
        .await?;
    if o.attempts >= o.max_attempts || o.cancelled {
        let (status, reason) = if o.attempts >= o.max_attempts {
            (CallStatus::Failed, "interrupted")
        } else {
            (CallStatus::Cancelled, "cancelled")
        };
        finalise_call(conn, &o.call_id, status, Some(reason), now).await?;
        settle_batch(conn, &o.batch_id, now).await?;
        return Ok(true);
    }
    let due = now + o.backoff.map_or(retry_delay, |s| s.saturating_mul(1_000_000));
    sqlx::query(
        "UPDATE calls SET status = 'QUEUED', next_attempt_at = $1, lease_owner = NULL,
           lease_expires_at = NULL, updated_at = $2 WHERE id = $3",
    )
    .bind(due)
    .bind(now)
    .bind(&o.call_id)
    .execute(&mut *conn)
    .await?;
    Ok(false)
}

impl PgStore {
    /// Interrupted attempts → `INTERRUPTED` (counted); attempt-less dead claims → queue.
    pub(crate) async fn dialer_recover(&self, dead: DeadLeases<'_>, retry_delay: i64) -> Result<Recovered> {
        let now = dead.now;
        let mut tx = self.tx().await?;
        let mut out = Recovered::default();
        for o in orphans(&mut tx, dead).await? {
            out.interrupted += 1;
            if interrupt(&mut tx, &o, now, retry_delay).await? {
                out.finalised += 1;
            }
        }
        // Lock first (skipping rows in use) so this never waits on a call while holding a batch.
        let unstarted: Vec<String> = sqlx::query_scalar(concat!(
            "SELECT c.id FROM calls c WHERE c.status = 'DIALING' AND ",
            dead_lease!(),
            " AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.call_id = c.id AND a.state = 'DIALING')
             ORDER BY c.id FOR UPDATE SKIP LOCKED"
        ))
        .bind(now)
        .bind(dead.node)
        .bind(dead.silent_since)
        .fetch_all(&mut *tx)
        .await?;
        if !unstarted.is_empty() {
            out.requeued = sqlx::query(
                "UPDATE calls SET status = 'QUEUED', lease_owner = NULL, lease_expires_at = NULL,
                   updated_at = $1 WHERE id = ANY($2)",
            )
            .bind(now)
            .bind(&unstarted)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Adds a do-not-call entry.
    pub(crate) async fn dnc_add(
        &self,
        integrator_id: &str,
        phone: &str,
        source: &str,
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO do_not_call (integrator_id, phone_number, source, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (integrator_id, phone_number) DO NOTHING",
        )
        .bind(integrator_id)
        .bind(phone)
        .bind(source)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Lists do-not-call entries by number.
    pub(crate) async fn dnc_list(&self, integrator_id: &str) -> Result<Vec<DoNotCall>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT phone_number, source, created_at FROM do_not_call WHERE integrator_id = $1
             ORDER BY phone_number",
        )
        .bind(integrator_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(phone_number, source, created_at)| DoNotCall { phone_number, source, created_at })
            .collect())
    }

    /// Removes a do-not-call entry.
    pub(crate) async fn dnc_remove(&self, integrator_id: &str, phone: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM do_not_call WHERE integrator_id = $1 AND phone_number = $2")
            .bind(integrator_id)
            .bind(phone)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Counts a batch's calls by status.
    pub(crate) async fn dialer_batch_progress(&self, batch_id: &str) -> Result<BatchProgress> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM calls WHERE batch_id = $1 GROUP BY status")
                .bind(batch_id)
                .fetch_all(&self.pool)
                .await?;
        let mut p = BatchProgress::default();
        for (status, n) in rows {
            crate::listing::count_status(&mut p, &status, n)?;
        }
        Ok(p)
    }

    /// Non-final calls of every batch (the `calls_due` index covers both counts).
    pub(crate) async fn dialer_queue_depth(&self, now: i64) -> Result<QueueDepth> {
        let (due, scheduled, dialing): (i64, i64, i64) = sqlx::query_as(
            "SELECT \
               (SELECT COUNT(*) FROM calls WHERE status = 'QUEUED' AND next_attempt_at <= $1), \
               (SELECT COUNT(*) FROM calls WHERE status = 'QUEUED' AND next_attempt_at > $1), \
               (SELECT COUNT(*) FROM calls WHERE status = 'DIALING')",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(QueueDepth { due: count(due), scheduled: count(scheduled), dialing: count(dialing) })
    }
}
