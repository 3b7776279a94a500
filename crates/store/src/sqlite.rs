//! SQLite backend: the embedded default for a single box.
//!
//! WAL journal (readers never block the writer), `synchronous = FULL` so a committed attempt
//! row survives power loss as well as `kill -9` — that row is what stops a double dial.
//! Write transactions start with `BEGIN IMMEDIATE` so two writers queue on the busy timeout
//! instead of failing when one upgrades a read lock.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::callback::*;
use crate::dialer::*;
use crate::listing::{BatchListFilter, BatchSummary};
use crate::model::*;
use crate::{Result, Store, StoreError};

/// Rows per multi-row INSERT: 7 columns × 1,000 stays far below SQLite's 32,766 variables.
const INSERT_CHUNK: usize = 1000;

/// The SQLite [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://file.db`, `sqlite::memory:`).
    pub async fn open(url: &str) -> Result<Self> {
        let memory = url.contains(":memory:");
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(if memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        // An in-memory database exists per connection, so it must have exactly one.
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { 8 })
            .min_connections(if memory { 1 } else { 0 })
            .idle_timeout(if memory { None } else { Some(Duration::from_secs(600)) })
            .max_lifetime(if memory { None } else { Some(Duration::from_secs(3600)) })
            .connect_with(options)
            .await?;
        Ok(SqliteStore { pool })
    }

    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

fn integrator_from(row: &SqliteRow) -> Result<Integrator> {
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

fn workflow_from(row: &SqliteRow) -> Result<WorkflowRow> {
    Ok(WorkflowRow {
        integrator_id: row.try_get("integrator_id")?,
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        definition: row.try_get("definition")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) fn corrupt(table: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt { table, detail: detail.into() }
}

pub(crate) fn batch_from(row: &SqliteRow) -> Result<BatchRow> {
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

pub(crate) fn call_from(row: &SqliteRow) -> Result<CallRow> {
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

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_integrator(&self, i: &Integrator, key_hash: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO integrators (id, name, callback_url, signing_secret, created_at, default_country)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&i.id)
        .bind(&i.name)
        .bind(&i.callback_url)
        .bind(&i.signing_secret)
        .bind(i.created_at)
        .bind(&i.default_country)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO api_keys (key_hash, integrator_id, created_at) VALUES (?, ?, ?)")
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
        let row =
            sqlx::query("SELECT * FROM integrators WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(integrator_from).transpose()
    }

    async fn integrator_for_key(&self, key_hash: &str, now: i64) -> Result<Option<Integrator>> {
        let row = sqlx::query(
            "SELECT i.* FROM api_keys k JOIN integrators i ON i.id = k.integrator_id
             WHERE k.key_hash = ? AND (k.expires_at IS NULL OR k.expires_at > ?)",
        )
        .bind(key_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(integrator_from).transpose()
    }

    async fn set_default_country(&self, id: &str, country: Option<&str>) -> Result<bool> {
        let done = sqlx::query("UPDATE integrators SET default_country = ? WHERE id = ?")
            .bind(country)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn rotate_keys(&self, id: &str, r: &KeyRotation) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query(
            "UPDATE integrators SET previous_signing_secret = signing_secret, signing_secret = ?,
             previous_secret_expires_at = ? WHERE id = ?",
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
            "UPDATE api_keys SET expires_at = ? WHERE integrator_id = ? AND (expires_at IS NULL OR expires_at > ?)",
        )
        .bind(r.grace_until)
        .bind(id)
        .bind(r.grace_until)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO api_keys (key_hash, integrator_id, created_at) VALUES (?, ?, ?)")
            .bind(&r.key_hash)
            .bind(id)
            .bind(r.now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn put_workflow(&self, w: &WorkflowRow) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let existing: Option<Option<i64>> =
            sqlx::query_scalar("SELECT deleted_at FROM workflows WHERE integrator_id = ? AND id = ?")
                .bind(&w.integrator_id)
                .bind(&w.id)
                .fetch_optional(&mut *tx)
                .await?;
        let created = !matches!(existing, Some(None));
        sqlx::query(
            "INSERT INTO workflows (integrator_id, id, name, definition, created_at, updated_at, deleted_at)
             VALUES (?, ?, ?, ?, ?, ?, NULL)
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

    async fn get_workflow(&self, integrator_id: &str, id: &str) -> Result<Option<WorkflowRow>> {
        let row =
            sqlx::query("SELECT * FROM workflows WHERE integrator_id = ? AND id = ? AND deleted_at IS NULL")
                .bind(integrator_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(workflow_from).transpose()
    }

    async fn list_workflows(&self, integrator_id: &str) -> Result<Vec<WorkflowRow>> {
        let rows = sqlx::query(
            "SELECT * FROM workflows WHERE integrator_id = ? AND deleted_at IS NULL ORDER BY created_at DESC, id",
        )
        .bind(integrator_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(workflow_from).collect()
    }

    async fn delete_workflow(&self, integrator_id: &str, id: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE workflows SET deleted_at = ? WHERE integrator_id = ? AND id = ? AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(integrator_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_batch(&self, b: &NewBatch) -> Result<BatchCreated> {
        let mut tx = self.write_tx().await?;
        if let Some(idem) = &b.idempotency {
            let prior: Option<(String, String, i64)> = sqlx::query_as(
                "SELECT request_hash, batch_id, created_at FROM idempotency_keys WHERE integrator_id = ? AND key = ?",
            )
            .bind(&b.integrator_id)
            .bind(&idem.key)
            .fetch_optional(&mut *tx)
            .await?;
            match prior {
                Some((hash, batch_id, at)) if at >= idem.not_before => {
                    return Ok(if hash == idem.request_hash {
                        BatchCreated::Replayed(batch_id)
                    } else {
                        BatchCreated::Conflict
                    });
                }
                Some(_) => {
                    sqlx::query("DELETE FROM idempotency_keys WHERE integrator_id = ? AND key = ?")
                        .bind(&b.integrator_id)
                        .bind(&idem.key)
                        .execute(&mut *tx)
                        .await?;
                }
                None => {}
            }
            sqlx::query(
                "INSERT INTO idempotency_keys (integrator_id, key, request_hash, batch_id, created_at)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&b.integrator_id)
            .bind(&idem.key)
            .bind(&idem.request_hash)
            .bind(&b.id)
            .bind(b.created_at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO batches (id, integrator_id, workflow_id, workflow, tts_voice_accent, tts_voice_gender,
               callback_url, caller_id, not_before, not_after, max_attempts, backoff_seconds, status,
               total_calls, created_at, name)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO calls (id, batch_id, integrator_id, seq, phone_number, user_tag_identifiers,
                   workflow_variables, status, next_attempt_at, created_at, updated_at) ",
            );
            q.push_values(chunk.iter().enumerate(), |mut row, (i, call)| {
                row.push_bind(call.id.as_str())
                    .push_bind(b.id.as_str())
                    .push_bind(b.integrator_id.as_str())
                    .push_bind((chunk_no * INSERT_CHUNK + i) as i64)
                    .push_bind(call.phone_number.as_str())
                    .push_bind(call.user_tag_identifiers.as_str())
                    .push_bind(call.workflow_variables.as_str())
                    .push_bind(CallStatus::Queued.as_str())
                    .push_bind(due)
                    .push_bind(b.created_at)
                    .push_bind(b.created_at);
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(BatchCreated::Created(b.id.clone()))
    }

    async fn find_idempotent(
        &self,
        integrator_id: &str,
        key: &str,
        not_before: i64,
    ) -> Result<Option<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT request_hash, batch_id FROM idempotency_keys
             WHERE integrator_id = ? AND key = ? AND created_at >= ?",
        )
        .bind(integrator_id)
        .bind(key)
        .bind(not_before)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn get_batch(&self, integrator_id: &str, id: &str) -> Result<Option<BatchRow>> {
        let row = sqlx::query("SELECT * FROM batches WHERE id = ? AND integrator_id = ?")
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
        let row = sqlx::query("SELECT * FROM calls WHERE id = ? AND integrator_id = ?")
            .bind(id)
            .bind(integrator_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(call_from).transpose()
    }

    async fn cancel_batch(&self, integrator_id: &str, id: &str, now: i64) -> Result<Option<u64>> {
        let mut tx = self.write_tx().await?;
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM batches WHERE id = ? AND integrator_id = ?")
                .bind(id)
                .bind(integrator_id)
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Ok(None);
        }
        // Remembered so a call live now is not retried after it ends.
        sqlx::query("UPDATE batches SET cancel_requested_at = COALESCE(cancel_requested_at, ?) WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let cancelled = sqlx::query(
            "UPDATE calls SET status = 'CANCELLED', updated_at = ? WHERE batch_id = ? AND status = 'QUEUED'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // The batch is final now only if no call is still live (the dialer settles it otherwise).
        crate::sqlite_dialer::settle_batch(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(Some(cancelled))
    }

    async fn do_not_call_hits(&self, integrator_id: &str, phones: &[String]) -> Result<Vec<String>> {
        let mut hits = Vec::new();
        for chunk in phones.chunks(INSERT_CHUNK) {
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT phone_number FROM do_not_call WHERE integrator_id = ");
            q.push_bind(integrator_id).push(" AND phone_number IN (");
            let mut list = q.separated(", ");
            for p in chunk {
                list.push_bind(p.as_str());
            }
            q.push(")");
            let rows: Vec<String> = q.build_query_scalar().fetch_all(&self.pool).await?;
            hits.extend(rows);
        }
        Ok(hits)
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
