//! PostgreSQL backend: one database shared by a fleet of `voicebot serve` nodes.
//!
//! Owns the connection pool, the row mappers and the intake/reporting queries; the dialer and
//! callback queries live in `postgres_dialer.rs` and `postgres_callback.rs`. Same tables and
//! meaning as the SQLite backend (BIGINT µs times, TEXT ids and JSON). Differences come from
//! many writers: SQLite serialises writers (`BEGIN IMMEDIATE`), PostgreSQL runs them side by
//! side under READ COMMITTED, so claims use `FOR UPDATE SKIP LOCKED`, and every transaction
//! that may settle a batch locks the batch row first (see `postgres_dialer.rs`). Durability of
//! the attempt row relies on the server's `synchronous_commit = on` (the default).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row};

use crate::callback::*;
use crate::dialer::*;
use crate::listing::{BatchListFilter, BatchSummary};
use crate::model::*;
use crate::{Result, Store, StoreError};

/// Rows per intake statement: calls go in as column arrays (`UNNEST`), one round trip each.
const INSERT_CHUNK: usize = 5000;

/// Batches at least this large refresh the planner's statistics of `calls` after intake.
const ANALYZE_AFTER: usize = 1000;

/// Connections per node unless the URL says otherwise (`?max_connections=` is not a
/// PostgreSQL parameter, so the pool size comes from [`PgStore::open_with`]).
pub const DEFAULT_POOL_SIZE: u32 = 10;

/// The PostgreSQL [`Store`].
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, libpq-style parameters such as
    /// `options=-csearch_path=...` honoured) with [`DEFAULT_POOL_SIZE`] connections.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(PgConnectOptions::from_str(url)?, DEFAULT_POOL_SIZE).await
    }

    /// Connects with explicit options and pool size.
    pub async fn open_with(options: PgConnectOptions, pool_size: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .idle_timeout(Some(Duration::from_secs(600)))
            .max_lifetime(Some(Duration::from_secs(3600)))
            .connect_with(options)
            .await?;
        Ok(PgStore { pool })
    }

    /// Closes every connection (tests drop their schema afterwards).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) async fn tx(&self) -> Result<sqlx::Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

pub(crate) fn corrupt(table: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt { table, detail: detail.into() }
}

fn integrator_from(row: &PgRow) -> Result<Integrator> {
    Ok(Integrator {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        callback_url: row.try_get("callback_url")?,
        signing_secret: row.try_get("signing_secret")?,
        previous_signing_secret: row.try_get("previous_signing_secret")?,
        previous_secret_expires_at: row.try_get("previous_secret_expires_at")?,
        created_at: row.try_get("created_at")?,
        default_country: row.try_get("default_country")?,
    })
}

fn workflow_from(row: &PgRow) -> Result<WorkflowRow> {
    Ok(WorkflowRow {
        integrator_id: row.try_get("integrator_id")?,
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        definition: row.try_get("definition")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) fn batch_from(row: &PgRow) -> Result<BatchRow> {
    let status: String = row.try_get("status")?;
    Ok(BatchRow {
        id: row.try_get("id")?,
        integrator_id: row.try_get("integrator_id")?,
        workflow_id: row.try_get("workflow_id")?,
        workflow: row.try_get("workflow")?,
        tts_voice_accent: row.try_get("tts_voice_accent")?,
        tts_voice_gender: row.try_get("tts_voice_gender")?,
        callback_url: row.try_get("callback_url")?,
        caller_id: row.try_get("caller_id")?,
        not_before: row.try_get("not_before")?,
        not_after: row.try_get("not_after")?,
        max_attempts: row.try_get::<i64, _>("max_attempts")?.try_into().unwrap_or(1),
        backoff_seconds: row.try_get::<Option<i64>, _>("backoff_seconds")?.and_then(|v| v.try_into().ok()),
        status: BatchStatus::parse(&status).ok_or_else(|| corrupt("batches", format!("status {status}")))?,
        total_calls: row.try_get::<i64, _>("total_calls")?.try_into().unwrap_or(0),
        created_at: row.try_get("created_at")?,
        completed_at: row.try_get("completed_at")?,
        name: row.try_get("name")?,
    })
}

pub(crate) fn call_from(row: &PgRow) -> Result<CallRow> {
    let status: String = row.try_get("status")?;
    Ok(CallRow {
        id: row.try_get("id")?,
        batch_id: row.try_get("batch_id")?,
        integrator_id: row.try_get("integrator_id")?,
        seq: row.try_get("seq")?,
        phone_number: row.try_get("phone_number")?,
        user_tag_identifiers: row.try_get("user_tag_identifiers")?,
        workflow_variables: row.try_get("workflow_variables")?,
        status: CallStatus::parse(&status).ok_or_else(|| corrupt("calls", format!("status {status}")))?,
        attempts: row.try_get::<i64, _>("attempts")?.try_into().unwrap_or(0),
        next_attempt_at: row.try_get("next_attempt_at")?,
        outcome: row.try_get("outcome")?,
        sip_code: row.try_get::<Option<i64>, _>("sip_code")?.and_then(|c| c.try_into().ok()),
        reason: row.try_get("reason")?,
        duration_seconds: row.try_get("duration_seconds")?,
        options_selected: row.try_get("options_selected")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Intake and integrator-facing reads and writes.
impl PgStore {
    async fn intake_rotate_keys(&self, id: &str, r: &KeyRotation) -> Result<bool> {
        let mut tx = self.tx().await?;
        let updated = sqlx::query(
            "UPDATE integrators SET previous_signing_secret = signing_secret, signing_secret = $1,
             previous_secret_expires_at = $2 WHERE id = $3",
        )
        .bind(&r.signing_secret)
        .bind(r.grace_until)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE api_keys SET expires_at = $1 WHERE integrator_id = $2 AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(r.grace_until)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO api_keys (key_hash, integrator_id, created_at) VALUES ($1, $2, $3)")
            .bind(&r.key_hash)
            .bind(id)
            .bind(r.now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn intake_put_workflow(&self, w: &WorkflowRow) -> Result<bool> {
        let mut tx = self.tx().await?;
        let existing: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT deleted_at FROM workflows WHERE integrator_id = $1 AND id = $2 FOR UPDATE",
        )
        .bind(&w.integrator_id)
        .bind(&w.id)
        .fetch_optional(&mut *tx)
        .await?;
        let created = !matches!(existing, Some(None));
        sqlx::query(
            "INSERT INTO workflows (integrator_id, id, name, definition, created_at, updated_at, deleted_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL)
             ON CONFLICT (integrator_id, id) DO UPDATE SET name = excluded.name,
               definition = excluded.definition, updated_at = excluded.updated_at, deleted_at = NULL,
               created_at = CASE WHEN workflows.deleted_at IS NULL THEN workflows.created_at
                                 ELSE excluded.created_at END",
        )
        .bind(&w.integrator_id)
        .bind(&w.id)
        .bind(&w.name)
        .bind(&w.definition)
        .bind(w.created_at)
        .bind(w.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Checks and records the idempotency key inside the intake transaction; `Some` answers
    /// the request without storing anything. A transaction-scoped advisory lock on the key
    /// makes two nodes receiving the same request at once see each other.
    async fn intake_idempotency(
        tx: &mut sqlx::PgConnection,
        b: &NewBatch,
        idem: &IdempotencyKey,
    ) -> Result<Option<BatchCreated>> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 0))")
            .bind(&b.integrator_id)
            .bind(&idem.key)
            .execute(&mut *tx)
            .await?;
        let prior: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT request_hash, batch_id, created_at FROM idempotency_keys WHERE integrator_id = $1 AND key = $2",
        )
        .bind(&b.integrator_id)
        .bind(&idem.key)
        .fetch_optional(&mut *tx)
        .await?;
        match prior {
            Some((hash, batch_id, at)) if at >= idem.not_before => {
                return Ok(Some(if hash == idem.request_hash {
                    BatchCreated::Replayed(batch_id)
                } else {
                    BatchCreated::Conflict
                }));
            }
            Some(_) => {
                sqlx::query("DELETE FROM idempotency_keys WHERE integrator_id = $1 AND key = $2")
                    .bind(&b.integrator_id)
                    .bind(&idem.key)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {}
        }
        sqlx::query(
            "INSERT INTO idempotency_keys (integrator_id, key, request_hash, batch_id, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&b.integrator_id)
        .bind(&idem.key)
        .bind(&idem.request_hash)
        .bind(&b.id)
        .bind(b.created_at)
        .execute(&mut *tx)
        .await?;
        Ok(None)
    }

    async fn intake_create_batch(&self, b: &NewBatch) -> Result<BatchCreated> {
        let mut tx = self.tx().await?;
        if let Some(idem) = &b.idempotency
            && let Some(answer) = Self::intake_idempotency(&mut tx, b, idem).await?
        {
            return Ok(answer);
        }
        sqlx::query(
            "INSERT INTO batches (id, integrator_id, workflow_id, workflow, tts_voice_accent, tts_voice_gender,
               callback_url, caller_id, not_before, not_after, max_attempts, backoff_seconds, status,
               total_calls, created_at, name)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&b.id)
        .bind(&b.integrator_id)
        .bind(&b.workflow_id)
        .bind(&b.workflow)
        .bind(&b.tts_voice_accent)
        .bind(&b.tts_voice_gender)
        .bind(&b.callback_url)
        .bind(&b.caller_id)
        .bind(b.not_before)
        .bind(b.not_after)
        .bind(i64::from(b.max_attempts))
        .bind(b.backoff_seconds.map(i64::from))
        .bind(BatchStatus::Pending.as_str())
        .bind(b.calls.len() as i64)
        .bind(b.created_at)
        .bind(&b.name)
        .execute(&mut *tx)
        .await?;
        let due = b.not_before.unwrap_or(b.created_at);
        for (chunk_no, chunk) in b.calls.chunks(INSERT_CHUNK).enumerate() {
            let first = (chunk_no * INSERT_CHUNK) as i64;
            let ids: Vec<&str> = chunk.iter().map(|c| c.id.as_str()).collect();
            let seqs: Vec<i64> = (0..chunk.len() as i64).map(|i| first + i).collect();
            let phones: Vec<&str> = chunk.iter().map(|c| c.phone_number.as_str()).collect();
            let tags: Vec<&str> = chunk.iter().map(|c| c.user_tag_identifiers.as_str()).collect();
            let vars: Vec<&str> = chunk.iter().map(|c| c.workflow_variables.as_str()).collect();
            sqlx::query(
                "INSERT INTO calls (id, batch_id, integrator_id, seq, phone_number, user_tag_identifiers,
                   workflow_variables, status, next_attempt_at, created_at, updated_at)
                 SELECT t.id, $6, $7, t.seq, t.phone, t.tags, t.vars, 'QUEUED', $8, $9, $9
                 FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])
                   AS t(id, seq, phone, tags, vars)",
            )
            .bind(&ids)
            .bind(&seqs)
            .bind(&phones)
            .bind(&tags)
            .bind(&vars)
            .bind(&b.id)
            .bind(&b.integrator_id)
            .bind(due)
            .bind(b.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if b.calls.len() >= ANALYZE_AFTER {
            // Until autovacuum samples them, the planner guesses a few queued calls and claims
            // sort every queued row instead of walking `calls_queued_due` (146 ms instead of
            // 0.4 ms per claim at 50,000 queued). Off the request path; a failure only leaves
            // that to autovacuum.
            let pool = self.pool.clone();
            tokio::spawn(async move {
                let _ = sqlx::query("ANALYZE calls").execute(&pool).await;
            });
        }
        Ok(BatchCreated::Created(b.id.clone()))
    }

    async fn intake_cancel_batch(&self, integrator_id: &str, id: &str, now: i64) -> Result<Option<u64>> {
        let mut tx = self.tx().await?;
        // The batch row lock orders this against a node finishing one of its calls.
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM batches WHERE id = $1 AND integrator_id = $2 FOR UPDATE")
                .bind(id)
                .bind(integrator_id)
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Ok(None);
        }
        // Remembered so a call live now is not retried after it ends.
        sqlx::query(
            "UPDATE batches SET cancel_requested_at = COALESCE(cancel_requested_at, $1) WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let cancelled = sqlx::query(
            "UPDATE calls SET status = 'CANCELLED', updated_at = $1 WHERE batch_id = $2 AND status = 'QUEUED'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // The batch is final now only if no call is still live (the dialer settles it otherwise).
        crate::postgres_dialer::settle_batch(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(Some(cancelled))
    }
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/postgres").run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_integrator(&self, i: &Integrator, key_hash: &str) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO integrators (id, name, callback_url, signing_secret, created_at, default_country)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&i.id)
        .bind(&i.name)
        .bind(&i.callback_url)
        .bind(&i.signing_secret)
        .bind(i.created_at)
        .bind(&i.default_country)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO api_keys (key_hash, integrator_id, created_at) VALUES ($1, $2, $3)")
            .bind(key_hash)
            .bind(&i.id)
            .bind(i.created_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_integrators(&self) -> Result<Vec<Integrator>> {
        let rows =
            sqlx::query("SELECT * FROM integrators ORDER BY created_at, id").fetch_all(&self.pool).await?;
        rows.iter().map(integrator_from).collect()
    }

    async fn get_integrator(&self, id: &str) -> Result<Option<Integrator>> {
        let row = sqlx::query("SELECT * FROM integrators WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(integrator_from).transpose()
    }

    async fn integrator_for_key(&self, key_hash: &str, now: i64) -> Result<Option<Integrator>> {
        let row = sqlx::query(
            "SELECT i.* FROM api_keys k JOIN integrators i ON i.id = k.integrator_id
             WHERE k.key_hash = $1 AND (k.expires_at IS NULL OR k.expires_at > $2)",
        )
        .bind(key_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(integrator_from).transpose()
    }

    async fn set_default_country(&self, id: &str, country: Option<&str>) -> Result<bool> {
        let done = sqlx::query("UPDATE integrators SET default_country = $1 WHERE id = $2")
            .bind(country)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn rotate_keys(&self, id: &str, rotation: &KeyRotation) -> Result<bool> {
        self.intake_rotate_keys(id, rotation).await
    }

    async fn put_workflow(&self, row: &WorkflowRow) -> Result<bool> {
        self.intake_put_workflow(row).await
    }

    async fn get_workflow(&self, integrator_id: &str, id: &str) -> Result<Option<WorkflowRow>> {
        let row = sqlx::query(
            "SELECT * FROM workflows WHERE integrator_id = $1 AND id = $2 AND deleted_at IS NULL",
        )
        .bind(integrator_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(workflow_from).transpose()
    }

    async fn list_workflows(&self, integrator_id: &str) -> Result<Vec<WorkflowRow>> {
        let rows = sqlx::query(
            "SELECT * FROM workflows WHERE integrator_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id",
        )
        .bind(integrator_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(workflow_from).collect()
    }

    async fn delete_workflow(&self, integrator_id: &str, id: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE workflows SET deleted_at = $1 WHERE integrator_id = $2 AND id = $3 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(integrator_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_batch(&self, batch: &NewBatch) -> Result<BatchCreated> {
        self.intake_create_batch(batch).await
    }

    async fn find_idempotent(
        &self,
        integrator_id: &str,
        key: &str,
        not_before: i64,
    ) -> Result<Option<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT request_hash, batch_id FROM idempotency_keys
             WHERE integrator_id = $1 AND key = $2 AND created_at >= $3",
        )
        .bind(integrator_id)
        .bind(key)
        .bind(not_before)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn get_batch(&self, integrator_id: &str, id: &str) -> Result<Option<BatchRow>> {
        let row = sqlx::query("SELECT * FROM batches WHERE id = $1 AND integrator_id = $2")
            .bind(id)
            .bind(integrator_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(batch_from).transpose()
    }

    async fn list_batches(&self, integrator_id: &str, filter: &BatchListFilter) -> Result<Vec<BatchSummary>> {
        self.listing_batches(integrator_id, filter).await
    }

    async fn batch_calls(&self, batch_id: &str, f: &CallFilter) -> Result<Vec<CallRow>> {
        self.listing_calls(batch_id, f).await
    }

    async fn get_batch_summary(&self, integrator_id: &str, id: &str) -> Result<Option<BatchSummary>> {
        self.listing_batch(integrator_id, id).await
    }

    async fn call_attempts(&self, integrator_id: &str, call_id: &str) -> Result<Vec<AttemptRow>> {
        self.listing_attempts(integrator_id, call_id).await
    }

    async fn get_call(&self, integrator_id: &str, id: &str) -> Result<Option<CallRow>> {
        let row = sqlx::query("SELECT * FROM calls WHERE id = $1 AND integrator_id = $2")
            .bind(id)
            .bind(integrator_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(call_from).transpose()
    }

    async fn cancel_batch(&self, integrator_id: &str, id: &str, now: i64) -> Result<Option<u64>> {
        self.intake_cancel_batch(integrator_id, id, now).await
    }

    async fn do_not_call_hits(&self, integrator_id: &str, phones: &[String]) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT phone_number FROM do_not_call WHERE integrator_id = $1 AND phone_number = ANY($2)",
        )
        .bind(integrator_id)
        .bind(phones)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn claim_due_calls(&self, req: &ClaimRequest) -> Result<Vec<ClaimedCall>> {
        self.dialer_claim(req).await
    }

    async fn begin_attempt(&self, attempt: &NewAttempt) -> Result<AttemptStart> {
        self.dialer_begin_attempt(attempt).await
    }

    async fn mark_answered(&self, attempt_id: &str, at: i64) -> Result<()> {
        self.dialer_mark_answered(attempt_id, at).await
    }

    async fn finish_attempt(&self, result: &AttemptResult) -> Result<bool> {
        self.dialer_finish_attempt(result).await
    }

    async fn skip_call(
        &self,
        call_id: &str,
        node: &str,
        status: CallStatus,
        reason: &str,
        now: i64,
    ) -> Result<bool> {
        self.dialer_skip_call(call_id, node, status, reason, now).await
    }

    async fn defer_call(&self, call_id: &str, node: &str, due: i64, now: i64) -> Result<bool> {
        self.dialer_defer_call(call_id, node, due, now).await
    }

    async fn recover_interrupted(
        &self,
        now: i64,
        dead_node: Option<&str>,
        retry_delay: i64,
    ) -> Result<Recovered> {
        self.dialer_recover(DeadLeases { now, node: dead_node, silent_since: None }, retry_delay).await
    }

    async fn reserve_send_slot(&self, trunk: &str, earliest: i64, interval: i64) -> Result<i64> {
        self.fleet_reserve_send_slot(trunk, earliest, interval).await
    }

    async fn heartbeat(&self, node: &str, now: i64) -> Result<Option<i64>> {
        self.fleet_heartbeat(node, now).await
    }

    async fn recover_dead_nodes(&self, now: i64, silent_since: i64, retry_delay: i64) -> Result<Recovered> {
        let dead = DeadLeases { now, node: None, silent_since: Some(silent_since) };
        self.dialer_recover(dead, retry_delay).await
    }

    async fn add_do_not_call(
        &self,
        integrator_id: &str,
        phone: &str,
        source: &str,
        now: i64,
    ) -> Result<bool> {
        self.dnc_add(integrator_id, phone, source, now).await
    }

    async fn list_do_not_call(&self, integrator_id: &str) -> Result<Vec<DoNotCall>> {
        self.dnc_list(integrator_id).await
    }

    async fn remove_do_not_call(&self, integrator_id: &str, phone: &str) -> Result<bool> {
        self.dnc_remove(integrator_id, phone).await
    }

    async fn batch_progress(&self, batch_id: &str) -> Result<BatchProgress> {
        self.dialer_batch_progress(batch_id).await
    }

    async fn queue_depth(&self, now: i64) -> Result<QueueDepth> {
        self.dialer_queue_depth(now).await
    }

    async fn claim_callbacks(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<CallbackClaim>> {
        self.callback_claim(node, now, lease_until, limit).await
    }

    async fn record_callback_attempt(&self, record: &CallbackAttemptRecord) -> Result<bool> {
        self.callback_record(record).await
    }

    async fn callback_delivery(
        &self,
        integrator_id: &str,
        batch_id: &str,
    ) -> Result<Option<CallbackDelivery>> {
        self.callback_read(integrator_id, batch_id).await
    }

    async fn redeliver_callback(
        &self,
        integrator_id: &str,
        batch_id: &str,
        now: i64,
    ) -> Result<Option<CallbackDelivery>> {
        self.callback_redeliver(integrator_id, batch_id, now).await
    }
}
