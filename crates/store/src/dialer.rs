//! Rows and requests of the dialer: claims, attempts, their results, recovery, the
//! do-not-call list and batch progress.
//!
//! Kept apart from `model.rs` (intake and reporting rows) because these types carry the
//! crash-safety rules of ARCHITECTURE.md "A call's life": an attempt row with its SIP Call-ID
//! is committed before the INVITE leaves, leases fence one node's writes from another's, and
//! interrupted attempts are counted, never silently re-dialed.

use crate::model::{BatchRow, CallRow, CallStatus};

/// Stored outcome name of an attempt a dead process left behind.
pub const OUTCOME_INTERRUPTED: &str = "INTERRUPTED";

/// Which due calls a node takes, and for how long.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// The claiming node (lease owner).
    pub node: String,
    /// Now (Unix µs).
    pub now: i64,
    /// The lease ends then; it must outlast the attempt's maximum life.
    pub lease_until: i64,
    /// At most this many calls.
    pub limit: u32,
}

/// A call this node now holds the lease of (status `DIALING`), with its batch.
#[derive(Debug, Clone)]
pub struct ClaimedCall {
    /// The call, as claimed.
    pub call: CallRow,
    /// Its batch (workflow snapshot, voice, attempts, schedule).
    pub batch: BatchRow,
}

/// An attempt about to be dialed. Committed before its INVITE is sent.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    /// uuid of the attempt row.
    pub id: String,
    /// The call.
    pub call_id: String,
    /// SIP Call-ID the INVITE will carry (unique across all attempts).
    pub sip_call_id: String,
    /// Trunk name.
    pub trunk: String,
    /// The node holding the call's lease.
    pub node: String,
    /// Now (Unix µs).
    pub started_at: i64,
    /// The lease is extended to this.
    pub lease_until: i64,
    /// The trunk's `max_concurrent`, enforced across every node on this database: the attempt
    /// is refused ([`AttemptStart::TrunkFull`]) while that many attempts of the trunk are
    /// `DIALING` (a dead node's count until recovery interrupts them). `None`: no check.
    pub max_concurrent: Option<u32>,
}

/// What [`crate::Store::begin_attempt`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptStart {
    /// The attempt row is committed with this attempt number: the INVITE may leave.
    Started(u32),
    /// The batch was cancelled: the call is now `CANCELLED`; do not dial.
    Cancelled,
    /// Every allowed attempt was used: the call is now final; do not dial.
    Exhausted,
    /// This node no longer holds the call's lease: do not dial.
    LeaseLost,
    /// The trunk already has `max_concurrent` live attempts fleet-wide. Nothing was written:
    /// the call stays claimed; ask again when an attempt ends.
    TrunkFull,
}

/// What happens to a call after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallNext {
    /// Back to `QUEUED`, due then (Unix µs).
    Retry {
        /// Next attempt due.
        at: i64,
    },
    /// Final status with an optional reason (`tts_failed`, ...).
    Final {
        /// `COMPLETED`, `TIMEOUT`, `FAILED` or `CANCELLED`.
        status: CallStatus,
        /// Why, when not obvious from the outcome.
        reason: Option<String>,
    },
}

/// The result of one attempt, written with the call's new state in one transaction.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    /// Attempt row id.
    pub attempt_id: String,
    /// The call.
    pub call_id: String,
    /// Lease owner (fencing: nothing is written if another node took the call).
    pub node: String,
    /// `ANSWERED`, `BUSY`, `NO_ANSWER`, `REJECTED`, `INVALID_NUMBER`, `FAILED`.
    pub outcome: String,
    /// Final SIP status code, if any.
    pub sip_code: Option<i32>,
    /// When it was answered (Unix µs).
    pub answered_at: Option<i64>,
    /// When it ended (Unix µs); also "now" for the call and batch.
    pub ended_at: i64,
    /// Whole seconds from answer to hang-up.
    pub duration_seconds: i64,
    /// Digit chosen at the first gather.
    pub options_selected: Option<String>,
    /// The callee pressed the opt-out digit: add the number to the do-not-call list.
    pub opted_out: bool,
    /// What happens to the call.
    pub next: CallNext,
    /// Every keypad digit the callee pressed, in order.
    pub digits: String,
    /// References to the prompts played, in order ([`crate::AttemptRow::played`]).
    pub played: Vec<String>,
}

/// What start-up (or a periodic sweep) recovered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Attempts found `DIALING` under a dead lease, now `INTERRUPTED` (and counted).
    pub interrupted: u64,
    /// Of their calls, how many used their last attempt and became final.
    pub finalised: u64,
    /// Calls claimed by a dead lease before any attempt was written, put back in the queue.
    pub requeued: u64,
}

/// Whose leases recovery treats as dead: expired ones always, plus those of one named node
/// (this node before a restart) and of nodes whose heartbeat is older than `silent_since`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeadLeases<'a> {
    pub(crate) now: i64,
    pub(crate) node: Option<&'a str>,
    pub(crate) silent_since: Option<i64>,
}

/// One entry of an integrator's do-not-call list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoNotCall {
    /// E.164.
    pub phone_number: String,
    /// `opt_out` (pressed the digit), `api`, ...
    pub source: String,
    /// Added at (Unix µs).
    pub created_at: i64,
}

/// Calls of a batch by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchProgress {
    /// Rows.
    pub total: u64,
    /// Waiting (first time or retry).
    pub queued: u64,
    /// An attempt is live.
    pub dialing: u64,
    /// Answered.
    pub completed: u64,
    /// Not answered on the last attempt.
    pub timeout: u64,
    /// Failed.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
}

/// Calls not yet final across every batch, for the `/metrics` queue-depth gauge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Queued and due now (waiting for a trunk slot or a node).
    pub due: u64,
    /// Queued for later (retry delay, calling window, batch schedule).
    pub scheduled: u64,
    /// An attempt is live (or claimed).
    pub dialing: u64,
}

impl BatchProgress {
    /// Calls that reached a final status.
    pub fn finished(&self) -> u64 {
        self.completed + self.timeout + self.failed + self.cancelled
    }
}
