//! Rows of the completion-callback outbox (CONTRACT.md §7), as the sender and the API see them.
//!
//! The outbox row itself is created by a SQL trigger when a batch becomes final (migration
//! `0003_callbacks.sql`), so no code path that finishes a batch can forget it. These types
//! carry what the sender needs to claim a due delivery under a lease, and what it writes back
//! after each attempt.

use serde::Serialize;

/// Where a delivery stands. Stored as the SCREAMING_SNAKE name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallbackState {
    /// Due now or at `next_attempt_at`.
    Pending,
    /// A 2xx was received.
    Delivered,
    /// Every attempt of the schedule failed.
    Exhausted,
    /// The receiver answered 410 Gone: no more retries.
    Gone,
    /// No URL on the batch, its workflow or the integrator.
    NoTarget,
}

impl CallbackState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackState::Pending => "PENDING",
            CallbackState::Delivered => "DELIVERED",
            CallbackState::Exhausted => "EXHAUSTED",
            CallbackState::Gone => "GONE",
            CallbackState::NoTarget => "NO_TARGET",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Exhausted, Self::Gone, Self::NoTarget]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

/// A due delivery taken by one sender under a lease.
#[derive(Debug, Clone)]
pub struct CallbackClaim {
    /// Outbox id = `webhook-id`.
    pub id: String,
    /// The final batch.
    pub batch_id: String,
    /// Its owner.
    pub integrator_id: String,
    /// Attempts so far (all rounds); the next one is `attempts + 1`.
    pub attempts: u32,
    /// Attempts since creation or the last redeliver (index into the retry schedule).
    pub round_attempts: u32,
}

/// What an attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackNext {
    /// 2xx: done.
    Delivered,
    /// Failed; try again at this time (Unix µs).
    RetryAt(i64),
    /// Failed for good: `Exhausted`, `Gone` or `NoTarget`.
    Stop(CallbackState),
}

/// One attempt's result, written with the outbox row's new state in one transaction.
#[derive(Debug, Clone)]
pub struct CallbackAttemptRecord {
    /// Outbox id.
    pub outbox_id: String,
    /// The sender holding the lease (fencing: nothing is written if it lost the lease).
    pub node: String,
    /// URL posted to, if one was resolved.
    pub url: Option<String>,
    /// When the request started (Unix µs).
    pub started_at: i64,
    /// HTTP status, if a response came back.
    pub http_status: Option<u16>,
    /// Milliseconds until the response head (or the failure).
    pub latency_ms: Option<i64>,
    /// Transport error, guard refusal or non-2xx summary.
    pub error: Option<String>,
    /// Where the delivery goes from here.
    pub next: CallbackNext,
    /// Now (Unix µs).
    pub now: i64,
}

/// One recorded attempt.
#[derive(Debug, Clone, Serialize)]
pub struct CallbackAttempt {
    /// 1-based, across rounds.
    pub attempt_no: u32,
    /// URL posted to.
    pub url: Option<String>,
    /// Start time (Unix µs).
    pub started_at: i64,
    /// HTTP status.
    pub http_status: Option<u16>,
    /// Latency in ms.
    pub latency_ms: Option<i64>,
    /// Error text.
    pub error: Option<String>,
    /// `DELIVERED`, `RETRY`, `EXHAUSTED`, `GONE` or `NO_TARGET`.
    pub outcome: String,
}

/// A batch's delivery and its attempts, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct CallbackDelivery {
    /// `webhook-id`.
    pub webhook_id: String,
    /// Batch.
    pub batch_id: String,
    /// State.
    pub state: CallbackState,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (meaningful while `PENDING`).
    pub next_attempt_at: i64,
    /// Last URL resolved.
    pub target_url: Option<String>,
    /// Last error.
    pub last_error: Option<String>,
    /// Outbox row created (the batch became final).
    pub created_at: i64,
    /// When a 2xx came back.
    pub delivered_at: Option<i64>,
    /// Every attempt.
    pub attempt_log: Vec<CallbackAttempt>,
}
