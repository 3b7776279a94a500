//! The only code that speaks SQL.
//!
//! Everything voicebot remembers — integrators and their key hashes, workflows, batches,
//! calls, attempts, the do-not-call list — lives behind the [`Store`] trait so the service
//! runs on embedded SQLite (one box) or, later, PostgreSQL (a fleet) without the rest of the
//! code knowing which. Callers pass time in (`now`, Unix microseconds) so scheduling code can
//! be tested with a fake clock.
//!
//! Intake is one transaction: a batch and all its calls are committed together, or nothing is.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod callback;
mod dialer;
mod error;
mod listing;
mod model;
mod postgres;
mod postgres_callback;
mod postgres_dialer;
mod postgres_fleet;
mod postgres_listing;
mod privacy;
pub mod report;
pub mod secrets;
mod sqlite;
mod sqlite_callback;
mod sqlite_dialer;
mod sqlite_fleet;
mod sqlite_listing;

use async_trait::async_trait;

pub use callback::*;
pub use dialer::*;
pub use error::StoreError;
pub use listing::{BatchCursor, BatchListFilter, BatchSummary};
pub use model::*;
pub use postgres::{DEFAULT_POOL_SIZE, PgStore};
pub use privacy::mask_phone;
pub use sqlite::SqliteStore;

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Current time as Unix microseconds, the unit every stored timestamp uses.
pub fn now_micros() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

/// Opens the store named by a database URL (`sqlite://path`, `sqlite::memory:`, or
/// `postgres://user@host/db` for a fleet) and brings its schema up to date.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    open_with_pool(url, DEFAULT_POOL_SIZE).await
}

/// [`open`] with `pool_size` connections for PostgreSQL (each node of a fleet opens its own;
/// SQLite keeps its own pool, sized for one writer).
pub async fn open_with_pool(url: &str, pool_size: u32) -> Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::open(url).await?;
        store.migrate().await?;
        return Ok(std::sync::Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options: sqlx::postgres::PgConnectOptions = url.parse()?;
        let store = PgStore::open_with(options, pool_size).await?;
        store.migrate().await?;
        return Ok(std::sync::Arc::new(store));
    }
    Err(StoreError::UnsupportedUrl(url.split(':').next().unwrap_or_default().to_string()))
}

/// Durable state of the service. Every integrator-facing read takes the integrator's id and
/// returns `None` for rows of other integrators, so tenancy cannot be forgotten by a caller.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// Cheap round trip proving the database answers.
    async fn ping(&self) -> Result<()>;

    /// Stores a new integrator with its first API key hash.
    async fn create_integrator(&self, integrator: &Integrator, key_hash: &str) -> Result<()>;
    /// All integrators, oldest first.
    async fn list_integrators(&self) -> Result<Vec<Integrator>>;
    /// One integrator by id.
    async fn get_integrator(&self, id: &str) -> Result<Option<Integrator>>;
    /// The integrator owning a live (unexpired) API key hash.
    async fn integrator_for_key(&self, key_hash: &str, now: i64) -> Result<Option<Integrator>>;
    /// Sets (or with `None` clears) the integrator's default country for local numbers. False for
    /// an unknown integrator.
    async fn set_default_country(&self, id: &str, country: Option<&str>) -> Result<bool>;
    /// Adds a new key and signing secret; old keys and the old secret stay valid until
    /// `grace_until`. Returns false for an unknown integrator.
    async fn rotate_keys(&self, id: &str, rotation: &KeyRotation) -> Result<bool>;

    /// Creates or replaces a workflow; returns true when it was created.
    async fn put_workflow(&self, row: &WorkflowRow) -> Result<bool>;
    /// One live workflow of an integrator.
    async fn get_workflow(&self, integrator_id: &str, id: &str) -> Result<Option<WorkflowRow>>;
    /// The integrator's live workflows, newest first.
    async fn list_workflows(&self, integrator_id: &str) -> Result<Vec<WorkflowRow>>;
    /// Deletes a workflow (batches keep their snapshot). False if there was none.
    async fn delete_workflow(&self, integrator_id: &str, id: &str, now: i64) -> Result<bool>;

    /// Stores a batch and all its calls in one transaction, honouring its idempotency key.
    async fn create_batch(&self, batch: &NewBatch) -> Result<BatchCreated>;
    /// An unexpired idempotency record: (request hash, batch id).
    async fn find_idempotent(
        &self,
        integrator_id: &str,
        key: &str,
        not_before: i64,
    ) -> Result<Option<(String, String)>>;
    /// One batch of an integrator.
    async fn get_batch(&self, integrator_id: &str, id: &str) -> Result<Option<BatchRow>>;
    /// The integrator's batches, newest first, keyset-paged, each with its calls by status.
    async fn list_batches(&self, integrator_id: &str, filter: &BatchListFilter) -> Result<Vec<BatchSummary>>;
    /// Calls of a batch, filtered, searched, sorted (by row number unless asked) and paged.
    async fn batch_calls(&self, batch_id: &str, filter: &CallFilter) -> Result<Vec<CallRow>>;
    /// One batch of an integrator with its calls counted by status, as [`Store::list_batches`]
    /// lists it.
    async fn get_batch_summary(&self, integrator_id: &str, id: &str) -> Result<Option<BatchSummary>>;
    /// The attempts of an integrator's call, in order (none for another integrator's call).
    async fn call_attempts(&self, integrator_id: &str, call_id: &str) -> Result<Vec<AttemptRow>>;
    /// One call of an integrator.
    async fn get_call(&self, integrator_id: &str, id: &str) -> Result<Option<CallRow>>;
    /// Cancels every call of the batch not yet dialed; returns how many, or None if the
    /// batch is not the integrator's.
    async fn cancel_batch(&self, integrator_id: &str, id: &str, now: i64) -> Result<Option<u64>>;

    /// Which of `phones` are on the integrator's do-not-call list.
    async fn do_not_call_hits(&self, integrator_id: &str, phones: &[String]) -> Result<Vec<String>>;

    // ---- dialer (see `dialer.rs` for the crash-safety rules these keep) ----

    /// Takes up to `limit` due calls (`QUEUED`, `next_attempt_at <= now`, batch neither
    /// cancelled nor past `not_after`) under a lease: they become `DIALING`. In the same
    /// transaction, queued calls of batches past `not_after` become final (`reason not_after`).
    async fn claim_due_calls(&self, req: &ClaimRequest) -> Result<Vec<ClaimedCall>>;
    /// Commits the attempt row (state `DIALING`, its SIP Call-ID) and counts it on the call,
    /// marking the batch `IN_PROGRESS`. Only after this returns `Started` may the INVITE leave.
    async fn begin_attempt(&self, attempt: &NewAttempt) -> Result<AttemptStart>;
    /// Notes when an attempt was answered (so a crash mid-call still shows it).
    async fn mark_answered(&self, attempt_id: &str, at: i64) -> Result<()>;
    /// Ends an attempt and moves its call on (retry or final), adding the number to the
    /// do-not-call list on opt-out and settling the batch when its last call is final — one
    /// transaction. False (nothing written) if `node` no longer holds the call's lease.
    async fn finish_attempt(&self, result: &AttemptResult) -> Result<bool>;
    /// Makes a claimed call final without dialing it (`do_not_call`, `tts_failed`, ...),
    /// settling the batch. False if `node` no longer holds the lease.
    async fn skip_call(
        &self,
        call_id: &str,
        node: &str,
        status: CallStatus,
        reason: &str,
        now: i64,
    ) -> Result<bool>;
    /// Puts a claimed, not yet dialed call back in the queue, due at `due` (calling window,
    /// drain). No attempt is counted. False if `node` no longer holds the lease.
    async fn defer_call(&self, call_id: &str, node: &str, due: i64, now: i64) -> Result<bool>;
    /// Recovers from dead processes: attempts still `DIALING` whose call's lease expired (or
    /// is held by `dead_node`, e.g. this node before a restart) become `INTERRUPTED` and count
    /// against `max_attempts` — the call is retried `retry_delay` µs later (or the batch's
    /// backoff) or made final (`FAILED`, reason `interrupted`) if none is left. Calls claimed
    /// without an attempt row go back to the queue uncounted (their INVITE never left).
    async fn recover_interrupted(
        &self,
        now: i64,
        dead_node: Option<&str>,
        retry_delay: i64,
    ) -> Result<Recovered>;

    // ---- fleet (see `fleet` in ARCHITECTURE.md; the same code path on SQLite) ----

    /// Takes the next INVITE send slot of `trunk`, shared by every node on this database: the
    /// later of `earliest` and the trunk's pacing time (GCRA, burst 1), which moves on by
    /// `interval` µs in the same statement. Slots are at least `interval` apart whichever
    /// node took them, so INVITEs sent at their slots keep the trunk's CPS fleet-wide.
    async fn reserve_send_slot(&self, trunk: &str, earliest: i64, interval: i64) -> Result<i64>;
    /// Records that dialer `node` is alive at `now`; returns its previous heartbeat, if any.
    async fn heartbeat(&self, node: &str, now: i64) -> Result<Option<i64>>;
    /// [`Store::recover_interrupted`] for dead nodes: calls leased by a node whose last
    /// heartbeat is older than `silent_since` (and calls whose lease expired) are recovered —
    /// open attempts become `INTERRUPTED` and count, claims without an attempt are requeued.
    async fn recover_dead_nodes(&self, now: i64, silent_since: i64, retry_delay: i64) -> Result<Recovered>;

    /// Adds a number to the integrator's do-not-call list; false if it was there already.
    async fn add_do_not_call(&self, integrator_id: &str, phone: &str, source: &str, now: i64)
    -> Result<bool>;
    /// The integrator's do-not-call list, by number.
    async fn list_do_not_call(&self, integrator_id: &str) -> Result<Vec<DoNotCall>>;
    /// Removes a number; false if it was not listed.
    async fn remove_do_not_call(&self, integrator_id: &str, phone: &str) -> Result<bool>;
    /// Calls of a batch by status.
    async fn batch_progress(&self, batch_id: &str) -> Result<BatchProgress>;
    /// Non-final calls of every batch: due now, due later, dialing.
    async fn queue_depth(&self, now: i64) -> Result<QueueDepth>;

    // ---- callbacks (see `callback.rs`; outbox rows come from a trigger) ----

    /// Takes up to `limit` due callback deliveries under a lease held by `node` until
    /// `lease_until`; a row whose lease expired (dead sender) is taken again.
    async fn claim_callbacks(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<CallbackClaim>>;
    /// Records an attempt and moves the delivery on (delivered, retry at, stopped) in one
    /// transaction. False (nothing written) if `node` no longer holds the lease.
    async fn record_callback_attempt(&self, record: &CallbackAttemptRecord) -> Result<bool>;
    /// The integrator's batch's delivery state and attempts; None before the batch is final.
    async fn callback_delivery(
        &self,
        integrator_id: &str,
        batch_id: &str,
    ) -> Result<Option<CallbackDelivery>>;
    /// Makes the delivery due now on a fresh schedule, same `webhook-id`; None if none exists.
    async fn redeliver_callback(
        &self,
        integrator_id: &str,
        batch_id: &str,
        now: i64,
    ) -> Result<Option<CallbackDelivery>>;
}
