//! SQLite queries of the dialer: claims, attempts, recovery, the do-not-call list.
//!
//! Every write here is one `BEGIN IMMEDIATE` transaction that checks the call's lease first
//! (fencing), so a node that lost a call to recovery cannot overwrite it. The order of
//! commits is the crash-safety argument: the attempt row (with its SIP Call-ID) is committed
//! by [`SqliteStore::dialer_begin_attempt`] before the caller may send the INVITE, and
//! [`SqliteStore::dialer_recover`] turns any attempt still `DIALING` under a dead lease into
//! `INTERRUPTED`, counted against `max_attempts`.

use std::collections::{BTreeSet, HashMap};

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use crate::dialer::*;
use crate::listing::played_to;
use crate::model::{BatchRow, CallStatus};
use crate::sqlite::{SqliteStore, batch_from, call_from};
use crate::sqlite_fleet::count_live;
use crate::{Result, StoreError};

/// Marks the batch `COMPLETED` (or `CANCELLED` if the integrator cancelled some call) once
/// none of its calls is live. Called inside every transaction that makes a call final.
pub(crate) async fn settle_batch(conn: &mut SqliteConnection, batch_id: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE batches SET completed_at = ?2,
           status = CASE WHEN EXISTS (SELECT 1 FROM calls WHERE batch_id = ?1 AND status = 'CANCELLED')
                         THEN 'CANCELLED' ELSE 'COMPLETED' END
         WHERE id = ?1 AND status NOT IN ('COMPLETED', 'CANCELLED')
           AND NOT EXISTS (SELECT 1 FROM calls WHERE batch_id = ?1 AND status IN ('QUEUED', 'DIALING'))",
    )
    .bind(batch_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The batch id of a call if `node` holds its lease (status `DIALING`).
async fn leased_batch(conn: &mut SqliteConnection, call_id: &str, node: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT batch_id FROM calls WHERE id = ? AND status = 'DIALING' AND lease_owner = ?",
    )
    .bind(call_id)
    .bind(node)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Makes a call final and releases its lease.
async fn finalise_call(
    conn: &mut SqliteConnection,
    call_id: &str,
    status: CallStatus,
    reason: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE calls SET status = ?, reason = COALESCE(?, reason), lease_owner = NULL,
           lease_expires_at = NULL, updated_at = ? WHERE id = ?",
    )
    .bind(status.as_str())
    .bind(reason)
    .bind(now)
    .bind(call_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// SQL condition on a `calls` row `c` for [`DeadLeases`] bound as `?1`, `?2`, `?3` (a macro so
/// the queries stay `&'static str`).
macro_rules! dead_lease {
    () => {
        "(c.lease_expires_at < ?1 OR c.lease_owner = ?2
          OR c.lease_owner IN (SELECT node FROM nodes WHERE heartbeat_at < ?3))"
    };
}

impl SqliteStore {
    /// Finalises queued calls of batches past `not_after`, then claims due calls.
    pub(crate) async fn dialer_claim(&self, req: &ClaimRequest) -> Result<Vec<ClaimedCall>> {
        let mut tx = self.write_tx().await?;
        let expired: Vec<String> = sqlx::query_scalar(
            "UPDATE calls SET status = CASE WHEN outcome = 'NO_ANSWER' THEN 'TIMEOUT' ELSE 'FAILED' END,
               reason = 'not_after', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?1
             WHERE status = 'QUEUED' AND batch_id IN (SELECT id FROM batches
               WHERE not_after IS NOT NULL AND not_after < ?1 AND status NOT IN ('COMPLETED', 'CANCELLED'))
             RETURNING batch_id",
        )
        .bind(req.now)
        .fetch_all(&mut *tx)
        .await?;
        for batch_id in expired.into_iter().collect::<BTreeSet<_>>() {
            settle_batch(&mut tx, &batch_id, req.now).await?;
        }
        let rows = sqlx::query(
            "UPDATE calls SET status = 'DIALING', lease_owner = ?1, lease_expires_at = ?2, updated_at = ?3
             WHERE id IN (SELECT c.id FROM calls c JOIN batches b ON b.id = c.batch_id
               WHERE c.status = 'QUEUED' AND c.next_attempt_at <= ?3 AND b.cancel_requested_at IS NULL
                 AND b.status NOT IN ('COMPLETED', 'CANCELLED')
                 AND (b.not_after IS NULL OR b.not_after >= ?3)
               ORDER BY c.next_attempt_at, c.seq LIMIT ?4)
             RETURNING *",
        )
        .bind(&req.node)
        .bind(req.lease_until)
        .bind(req.now)
        .bind(i64::from(req.limit))
        .fetch_all(&mut *tx)
        .await?;
        let calls = rows.iter().map(call_from).collect::<Result<Vec<_>>>()?;
        let ids: BTreeSet<&str> = calls.iter().map(|c| c.batch_id.as_str()).collect();
        let mut batches: HashMap<String, BatchRow> = HashMap::new();
        if !ids.is_empty() {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM batches WHERE id IN (");
            let mut list = q.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            q.push(")");
            for row in q.build().fetch_all(&mut *tx).await? {
                let b = batch_from(&row)?;
                batches.insert(b.id.clone(), b);
            }
        }
        tx.commit().await?;
        let mut claimed: Vec<ClaimedCall> = calls
            .into_iter()
            .map(|call| {
                let batch = batches
                    .get(&call.batch_id)
                    .cloned()
                    .ok_or_else(|| StoreError::Corrupt { table: "calls", detail: "batch missing".into() })?;
                Ok(ClaimedCall { call, batch })
            })
            .collect::<Result<_>>()?;
        claimed.sort_by_key(|c| (c.call.next_attempt_at, c.call.seq));
        Ok(claimed)
    }

    /// Commits the attempt row before the INVITE; refuses when cancelled or exhausted.
    pub(crate) async fn dialer_begin_attempt(&self, a: &NewAttempt) -> Result<AttemptStart> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "SELECT c.batch_id, c.attempts, b.max_attempts, b.cancel_requested_at
             FROM calls c JOIN batches b ON b.id = c.batch_id
             WHERE c.id = ? AND c.status = 'DIALING' AND c.lease_owner = ?",
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
            && count_live(&mut tx, &a.trunk).await? >= i64::from(max)
        {
            tx.rollback().await?;
            return Ok(AttemptStart::TrunkFull);
        }
        let attempt_no = attempts + 1;
        sqlx::query("UPDATE calls SET attempts = ?, lease_expires_at = ?, updated_at = ? WHERE id = ?")
            .bind(attempt_no)
            .bind(a.lease_until)
            .bind(a.started_at)
            .bind(&a.call_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO attempts (id, call_id, attempt_no, sip_call_id, trunk, node, state, started_at)
             VALUES (?, ?, ?, ?, ?, ?, 'DIALING', ?)",
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
        sqlx::query("UPDATE batches SET status = 'IN_PROGRESS' WHERE id = ? AND status = 'PENDING'")
            .bind(&batch_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(AttemptStart::Started(u32::try_from(attempt_no).unwrap_or(u32::MAX)))
    }

    /// Records the answer time of a live attempt.
    pub(crate) async fn dialer_mark_answered(&self, attempt_id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE attempts SET answered_at = ? WHERE id = ? AND state = 'DIALING'")
            .bind(at)
            .bind(attempt_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends an attempt, moves the call on, records an opt-out, settles the batch.
    pub(crate) async fn dialer_finish_attempt(&self, r: &AttemptResult) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let Some(batch_id) = leased_batch(&mut tx, &r.call_id, &r.node).await? else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE attempts SET state = 'ENDED', outcome = ?, sip_code = ?,
               answered_at = COALESCE(?, answered_at), ended_at = ?, digits = ?, played = ?
             WHERE id = ? AND call_id = ?",
        )
        .bind(&r.outcome)
        .bind(r.sip_code)
        .bind(r.answered_at)
        .bind(r.ended_at)
        .bind(&r.digits)
        .bind(played_to(&r.played))
        .bind(&r.attempt_id)
        .bind(&r.call_id)
        .execute(&mut *tx)
        .await?;
        let cancelled: Option<i64> =
            sqlx::query_scalar("SELECT cancel_requested_at FROM batches WHERE id = ?")
                .bind(&batch_id)
                .fetch_one(&mut *tx)
                .await?;
        let (status, due, reason) = match (&r.next, cancelled) {
            (CallNext::Retry { .. }, Some(_)) => (CallStatus::Cancelled, None, Some("cancelled")),
            (CallNext::Retry { at }, None) => (CallStatus::Queued, Some(*at), None),
            (CallNext::Final { status, reason }, _) => (*status, None, reason.as_deref()),
        };
        sqlx::query(
            "UPDATE calls SET status = ?, next_attempt_at = COALESCE(?, next_attempt_at),
               reason = COALESCE(?, reason), outcome = ?, sip_code = ?, duration_seconds = ?,
               options_selected = COALESCE(?, options_selected), lease_owner = NULL,
               lease_expires_at = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(due)
        .bind(reason)
        .bind(&r.outcome)
        .bind(r.sip_code)
        .bind(r.duration_seconds)
        .bind(&r.options_selected)
        .bind(r.ended_at)
        .bind(&r.call_id)
        .execute(&mut *tx)
        .await?;
        if r.opted_out {
            sqlx::query(
                "INSERT INTO do_not_call (integrator_id, phone_number, source, created_at)
                 SELECT integrator_id, phone_number, 'opt_out', ? FROM calls WHERE id = ?
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
        let mut tx = self.write_tx().await?;
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
            "UPDATE calls SET status = 'QUEUED', next_attempt_at = ?, lease_owner = NULL,
               lease_expires_at = NULL, updated_at = ? WHERE id = ? AND status = 'DIALING' AND lease_owner = ?",
        )
        .bind(due)
        .bind(now)
        .bind(call_id)
        .bind(node)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Interrupted attempts → `INTERRUPTED` (counted); attempt-less dead claims → queue.
    pub(crate) async fn dialer_recover(&self, dead: DeadLeases<'_>, retry_delay: i64) -> Result<Recovered> {
        let now = dead.now;
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query(concat!(
            "SELECT a.id AS attempt_id, c.id AS call_id, c.batch_id, c.attempts, b.max_attempts,
               b.backoff_seconds, b.cancel_requested_at
             FROM attempts a JOIN calls c ON c.id = a.call_id JOIN batches b ON b.id = c.batch_id
             WHERE a.state = 'DIALING' AND c.status = 'DIALING' AND ",
            dead_lease!(),
        ))
        .bind(now)
        .bind(dead.node)
        .bind(dead.silent_since)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Recovered::default();
        for row in &rows {
            let attempt_id: String = row.try_get("attempt_id")?;
            let call_id: String = row.try_get("call_id")?;
            let batch_id: String = row.try_get("batch_id")?;
            let attempts: i64 = row.try_get("attempts")?;
            let max_attempts: i64 = row.try_get("max_attempts")?;
            let backoff: Option<i64> = row.try_get("backoff_seconds")?;
            let cancelled: Option<i64> = row.try_get("cancel_requested_at")?;
            sqlx::query("UPDATE attempts SET state = ?, outcome = ?, ended_at = ? WHERE id = ?")
                .bind(OUTCOME_INTERRUPTED)
                .bind(OUTCOME_INTERRUPTED)
                .bind(now)
                .bind(&attempt_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE calls SET outcome = ?, sip_code = NULL WHERE id = ?")
                .bind(OUTCOME_INTERRUPTED)
                .bind(&call_id)
                .execute(&mut *tx)
                .await?;
            out.interrupted += 1;
            if attempts >= max_attempts || cancelled.is_some() {
                let (status, reason) = if attempts >= max_attempts {
                    (CallStatus::Failed, "interrupted")
                } else {
                    (CallStatus::Cancelled, "cancelled")
                };
                finalise_call(&mut tx, &call_id, status, Some(reason), now).await?;
                settle_batch(&mut tx, &batch_id, now).await?;
                out.finalised += 1;
            } else {
                let due = now + backoff.map_or(retry_delay, |s| s.saturating_mul(1_000_000));
                sqlx::query(
                    "UPDATE calls SET status = 'QUEUED', next_attempt_at = ?, lease_owner = NULL,
                       lease_expires_at = NULL, updated_at = ? WHERE id = ?",
                )
                .bind(due)
                .bind(now)
                .bind(&call_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        out.requeued = sqlx::query(concat!(
            "UPDATE calls AS c SET status = 'QUEUED', lease_owner = NULL, lease_expires_at = NULL,
               updated_at = ?1 WHERE c.status = 'DIALING' AND ",
            dead_lease!(),
            " AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.call_id = c.id AND a.state = 'DIALING')",
        ))
        .bind(now)
        .bind(dead.node)
        .bind(dead.silent_since)
        .execute(&mut *tx)
        .await?
        .rows_affected();
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
            "INSERT INTO do_not_call (integrator_id, phone_number, source, created_at) VALUES (?, ?, ?, ?)
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
            "SELECT phone_number, source, created_at FROM do_not_call WHERE integrator_id = ?
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
        let done = sqlx::query("DELETE FROM do_not_call WHERE integrator_id = ? AND phone_number = ?")
            .bind(integrator_id)
            .bind(phone)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Counts a batch's calls by status.
    pub(crate) async fn dialer_batch_progress(&self, batch_id: &str) -> Result<BatchProgress> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM calls WHERE batch_id = ? GROUP BY status")
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
               (SELECT COUNT(*) FROM calls WHERE status = 'QUEUED' AND next_attempt_at <= ?), \
               (SELECT COUNT(*) FROM calls WHERE status = 'QUEUED' AND next_attempt_at > ?), \
               (SELECT COUNT(*) FROM calls WHERE status = 'DIALING')",
        )
        .bind(now)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(QueueDepth { due: count(due), scheduled: count(scheduled), dialing: count(dialing) })
    }
}
