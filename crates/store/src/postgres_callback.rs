//! PostgreSQL queries of the callback sender: claim due deliveries under a lease, record each
//! attempt with the outbox row's next state, read a batch's delivery, redeliver.
//!
//! The outbox rows come from the `batches_final_callback` plpgsql trigger (migration
//! `postgres/0003_callbacks.sql`). Several senders (one per node) claim with
//! `FOR UPDATE SKIP LOCKED` plus a lease, so one delivery is attempted by one sender at a
//! time; an attempt is recorded only by the lease holder (fencing, row locked), and all state
//! lives in these rows, so a restart resumes the schedule.

use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::Result;
use crate::callback::*;
use crate::postgres::{PgStore, corrupt};

fn claim_from(row: &PgRow) -> Result<CallbackClaim> {
    Ok(CallbackClaim {
        id: row.try_get("id")?,
        batch_id: row.try_get("batch_id")?,
        integrator_id: row.try_get("integrator_id")?,
        attempts: row.try_get::<i64, _>("attempts")?.try_into().unwrap_or(0),
        round_attempts: row.try_get::<i64, _>("round_attempts")?.try_into().unwrap_or(0),
    })
}

fn attempt_from(row: &PgRow) -> Result<CallbackAttempt> {
    Ok(CallbackAttempt {
        attempt_no: row.try_get::<i64, _>("attempt_no")?.try_into().unwrap_or(0),
        url: row.try_get("url")?,
        started_at: row.try_get("started_at")?,
        http_status: row.try_get::<Option<i64>, _>("http_status")?.and_then(|c| c.try_into().ok()),
        latency_ms: row.try_get("latency_ms")?,
        error: row.try_get("error")?,
        outcome: row.try_get("outcome")?,
    })
}

fn delivery_from(row: &PgRow, attempt_log: Vec<CallbackAttempt>) -> Result<CallbackDelivery> {
    let state: String = row.try_get("state")?;
    Ok(CallbackDelivery {
        webhook_id: row.try_get("id")?,
        batch_id: row.try_get("batch_id")?,
        state: CallbackState::parse(&state)
            .ok_or_else(|| corrupt("callback_outbox", format!("state {state}")))?,
        attempts: row.try_get::<i64, _>("attempts")?.try_into().unwrap_or(0),
        next_attempt_at: row.try_get("next_attempt_at")?,
        target_url: row.try_get("target_url")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
        attempt_log,
    })
}

fn outcome_name(next: CallbackNext) -> &'static str {
    match next {
        CallbackNext::Delivered => "DELIVERED",
        CallbackNext::RetryAt(_) => "RETRY",
        CallbackNext::Stop(state) => state.as_str(),
    }
}

impl PgStore {
    /// Takes up to `limit` due `PENDING` deliveries whose lease is free or expired.
    pub(crate) async fn callback_claim(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<CallbackClaim>> {
        let rows = sqlx::query(
            "UPDATE callback_outbox SET lease_owner = $1, lease_expires_at = $2, updated_at = $3
             WHERE id IN (SELECT id FROM callback_outbox
                          WHERE state = 'PENDING' AND next_attempt_at <= $3
                            AND (lease_expires_at IS NULL OR lease_expires_at <= $3)
                          ORDER BY next_attempt_at LIMIT $4
                          FOR UPDATE SKIP LOCKED)
             RETURNING id, batch_id, integrator_id, attempts, round_attempts",
        )
        .bind(node)
        .bind(lease_until)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(claim_from).collect()
    }

    /// Writes the attempt row and the outbox row's next state; false if `node` lost the lease.
    pub(crate) async fn callback_record(&self, r: &CallbackAttemptRecord) -> Result<bool> {
        let mut tx = self.tx().await?;
        let attempts: Option<i64> = sqlx::query_scalar(
            "SELECT attempts FROM callback_outbox WHERE id = $1 AND lease_owner = $2 FOR UPDATE",
        )
        .bind(&r.outbox_id)
        .bind(&r.node)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(attempts) = attempts else { return Ok(false) };
        sqlx::query(
            "INSERT INTO callback_attempts
               (outbox_id, attempt_no, node, url, started_at, http_status, latency_ms, error, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&r.outbox_id)
        .bind(attempts + 1)
        .bind(&r.node)
        .bind(&r.url)
        .bind(r.started_at)
        .bind(r.http_status.map(i64::from))
        .bind(r.latency_ms)
        .bind(&r.error)
        .bind(outcome_name(r.next))
        .execute(&mut *tx)
        .await?;
        let (state, next_at, delivered_at) = match r.next {
            CallbackNext::Delivered => (CallbackState::Delivered, r.now, Some(r.now)),
            CallbackNext::RetryAt(at) => (CallbackState::Pending, at, None),
            CallbackNext::Stop(state) => (state, r.now, None),
        };
        sqlx::query(
            "UPDATE callback_outbox SET state = $1, attempts = attempts + 1,
               round_attempts = round_attempts + 1, next_attempt_at = $2, lease_owner = NULL,
               lease_expires_at = NULL, target_url = COALESCE($3, target_url), last_error = $4,
               delivered_at = COALESCE($5, delivered_at), updated_at = $6
             WHERE id = $7",
        )
        .bind(state.as_str())
        .bind(next_at)
        .bind(&r.url)
        .bind(&r.error)
        .bind(delivered_at)
        .bind(r.now)
        .bind(&r.outbox_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The delivery of one of the integrator's batches, with every attempt.
    pub(crate) async fn callback_read(
        &self,
        integrator_id: &str,
        batch_id: &str,
    ) -> Result<Option<CallbackDelivery>> {
        let row = sqlx::query("SELECT * FROM callback_outbox WHERE batch_id = $1 AND integrator_id = $2")
            .bind(batch_id)
            .bind(integrator_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("id")?;
        let attempts =
            sqlx::query("SELECT * FROM callback_attempts WHERE outbox_id = $1 ORDER BY attempt_no")
                .bind(&id)
                .fetch_all(&self.pool)
                .await?;
        let log = attempts.iter().map(attempt_from).collect::<Result<Vec<_>>>()?;
        delivery_from(&row, log).map(Some)
    }

    /// Makes the delivery due now with a fresh retry schedule and the same `webhook-id`.
    pub(crate) async fn callback_redeliver(
        &self,
        integrator_id: &str,
        batch_id: &str,
        now: i64,
    ) -> Result<Option<CallbackDelivery>> {
        let done = sqlx::query(
            "UPDATE callback_outbox SET state = 'PENDING', next_attempt_at = $1, round_attempts = 0,
               updated_at = $1 WHERE batch_id = $2 AND integrator_id = $3",
        )
        .bind(now)
        .bind(batch_id)
        .bind(integrator_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.callback_read(integrator_id, batch_id).await
    }
}
