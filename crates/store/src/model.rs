//! Rows as the rest of voicebot sees them. Times are Unix microseconds (UTC).

use serde::Serialize;

/// An organisation calling patients through voicebot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Integrator {
    /// uuid.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Default completion callback.
    pub callback_url: Option<String>,
    /// `whsec_…` secret for Standard Webhooks signatures.
    #[serde(skip)]
    pub signing_secret: String,
    /// The secret before the last rotation, still signed with until it expires.
    #[serde(skip)]
    pub previous_signing_secret: Option<String>,
    /// When the previous secret stops being used.
    pub previous_secret_expires_at: Option<i64>,
    /// Created at.
    pub created_at: i64,
    /// ISO 3166 region (`NG`) for numbers written the local way; `None`: E.164 only.
    pub default_country: Option<String>,
}

/// A key rotation: the new key's hash, the new signing secret and the grace period end.
#[derive(Debug, Clone)]
pub struct KeyRotation {
    /// SHA-256 (hex) of the new API key.
    pub key_hash: String,
    /// New `whsec_…` signing secret.
    pub signing_secret: String,
    /// Now.
    pub now: i64,
    /// Old keys and the old secret stay valid until then.
    pub grace_until: i64,
}

/// A stored workflow: the normalised model as JSON plus bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRow {
    /// Owner.
    pub integrator_id: String,
    /// uuid (chosen by the integrator on PUT).
    pub id: String,
    /// Name, for listing.
    pub name: String,
    /// `voicebot_workflow::Workflow` as JSON.
    pub definition: String,
    /// Created at.
    pub created_at: i64,
    /// Last replaced at.
    pub updated_at: i64,
}

/// Where a call is in its life. Stored as the SCREAMING_SNAKE name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallStatus {
    /// Waiting to be dialed (first time or for a retry).
    Queued,
    /// An attempt is live.
    Dialing,
    /// Answered and the workflow ran.
    Completed,
    /// Not answered within the ring timeout on the last attempt.
    Timeout,
    /// Busy, rejected, invalid number, network error, or skipped, on the last attempt.
    Failed,
    /// Cancelled before it was dialed.
    Cancelled,
}

impl CallStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "QUEUED",
            CallStatus::Dialing => "DIALING",
            CallStatus::Completed => "COMPLETED",
            CallStatus::Timeout => "TIMEOUT",
            CallStatus::Failed => "FAILED",
            CallStatus::Cancelled => "CANCELLED",
        }
    }

    /// Parses a stored or query-string name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Dialing, Self::Completed, Self::Timeout, Self::Failed, Self::Cancelled]
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    /// True once nothing more will happen to the call.
    pub fn is_final(self) -> bool {
        !matches!(self, CallStatus::Queued | CallStatus::Dialing)
    }
}

/// Where a batch is: derived from its calls, stored for cheap listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BatchStatus {
    /// No call dialed yet.
    Pending,
    /// Some call dialed, not all final.
    InProgress,
    /// Every call final.
    Completed,
    /// Cancelled: every call final and at least one cancelled by the integrator.
    Cancelled,
}

impl BatchStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Pending => "PENDING",
            BatchStatus::InProgress => "IN_PROGRESS",
            BatchStatus::Completed => "COMPLETED",
            BatchStatus::Cancelled => "CANCELLED",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::InProgress, Self::Completed, Self::Cancelled]
            .into_iter()
            .find(|b| b.as_str() == s)
    }
}

/// One recipient of a new batch.
#[derive(Debug, Clone)]
pub struct NewCall {
    /// uuid.
    pub id: String,
    /// E.164, normalised.
    pub phone_number: String,
    /// The integrator's JSON object, as sent.
    pub user_tag_identifiers: String,
    /// Variables as a JSON object of strings.
    pub workflow_variables: String,
}

/// Idempotency key of a request and the hash of its body.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    /// The `Idempotency-Key` header.
    pub key: String,
    /// SHA-256 of the canonical body.
    pub request_hash: String,
    /// Replays older than this (Unix µs) are treated as new requests.
    pub not_before: i64,
}

/// A batch to store, with all its calls.
#[derive(Debug, Clone)]
pub struct NewBatch {
    /// uuid.
    pub id: String,
    /// Owner.
    pub integrator_id: String,
    /// The workflow id the request named.
    pub workflow_id: String,
    /// Snapshot of the workflow model as JSON.
    pub workflow: String,
    /// Accent name, lower case.
    pub tts_voice_accent: String,
    /// `male` or `female`.
    pub tts_voice_gender: String,
    /// Batch-level callback URL.
    pub callback_url: Option<String>,
    /// Caller id to present.
    pub caller_id: Option<String>,
    /// Earliest dial time.
    pub not_before: Option<i64>,
    /// Latest dial time.
    pub not_after: Option<i64>,
    /// Attempts per call.
    pub max_attempts: u32,
    /// Retry delay override.
    pub backoff_seconds: Option<u32>,
    /// Created at (also every call's `created_at`).
    pub created_at: i64,
    /// Optional idempotency key.
    pub idempotency: Option<IdempotencyKey>,
    /// The recipients, in request order.
    pub calls: Vec<NewCall>,
    /// Optional label shown on dashboards.
    pub name: Option<String>,
}

/// What [`crate::Store::create_batch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchCreated {
    /// Stored now.
    Created(String),
    /// Same idempotency key and body as an earlier request: its batch id.
    Replayed(String),
    /// Same idempotency key, different body.
    Conflict,
}

/// A stored batch.
#[derive(Debug, Clone)]
pub struct BatchRow {
    /// uuid.
    pub id: String,
    /// Owner.
    pub integrator_id: String,
    /// Workflow id named at intake.
    pub workflow_id: String,
    /// Workflow snapshot JSON.
    pub workflow: String,
    /// Accent.
    pub tts_voice_accent: String,
    /// Gender.
    pub tts_voice_gender: String,
    /// Batch callback URL.
    pub callback_url: Option<String>,
    /// Caller id.
    pub caller_id: Option<String>,
    /// Earliest dial time.
    pub not_before: Option<i64>,
    /// Latest dial time.
    pub not_after: Option<i64>,
    /// Attempts per call.
    pub max_attempts: u32,
    /// Retry delay override.
    pub backoff_seconds: Option<u32>,
    /// Status.
    pub status: BatchStatus,
    /// Number of calls.
    pub total_calls: u32,
    /// Created at.
    pub created_at: i64,
    /// When the last call became final.
    pub completed_at: Option<i64>,
    /// Optional label shown on dashboards.
    pub name: Option<String>,
}

/// A stored call.
#[derive(Debug, Clone)]
pub struct CallRow {
    /// uuid.
    pub id: String,
    /// Batch.
    pub batch_id: String,
    /// Owner.
    pub integrator_id: String,
    /// Row number within the batch (request order).
    pub seq: i64,
    /// E.164.
    pub phone_number: String,
    /// JSON object as sent.
    pub user_tag_identifiers: String,
    /// JSON object of strings.
    pub workflow_variables: String,
    /// Status.
    pub status: CallStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: i64,
    /// Last attempt's outcome (`ANSWERED`, `BUSY`, ...).
    pub outcome: Option<String>,
    /// Last attempt's final SIP status code.
    pub sip_code: Option<i32>,
    /// Why it failed, when it did (`do_not_call`, `tts_failed`, ...).
    pub reason: Option<String>,
    /// Whole seconds from answer to hang-up.
    pub duration_seconds: i64,
    /// Digit chosen at the first gather.
    pub options_selected: Option<String>,
    /// Created at.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// Which calls of a batch to read.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    /// Only calls in this status.
    pub status: Option<CallStatus>,
    /// Only calls with `seq` greater than this (cursor paging; row order only).
    pub after_seq: Option<i64>,
    /// At most this many.
    pub limit: Option<u32>,
    /// Only calls whose number, variables or tags contain this text (case-insensitive).
    pub search: Option<String>,
    /// Order of the rows; [`CallSort::Row`] (request order) by default.
    pub sort: CallSort,
    /// Reverse the order.
    pub descending: bool,
    /// Skip this many rows first (paging in an order other than [`CallSort::Row`]).
    pub offset: Option<u32>,
}

/// Orders a batch's calls can be read in; ties are broken by row number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CallSort {
    /// Request order (`seq`).
    #[default]
    Row,
    /// Phone number.
    Phone,
    /// Status name.
    Status,
    /// Attempts made.
    Attempts,
    /// Call duration.
    Duration,
    /// Last change.
    Updated,
    /// The value of one workflow variable (`name`): letters, digits and `_` only.
    Variable(String),
}

impl CallSort {
    /// True for a name a [`CallSort::Variable`] may carry (what templates accept as a variable).
    pub fn is_variable_name(name: &str) -> bool {
        !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }
}

/// One dial attempt of a call, as the dashboard's timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    /// 1-based.
    pub attempt_no: u32,
    /// Trunk it went out on.
    pub trunk: String,
    /// `DIALING`, `ENDED` or `INTERRUPTED`.
    pub state: String,
    /// Outcome (`ANSWERED`, `BUSY`, ...), once ended.
    pub outcome: Option<String>,
    /// Final SIP status code.
    pub sip_code: Option<i32>,
    /// Committed (just before the INVITE left).
    pub started_at: i64,
    /// Answered at.
    pub answered_at: Option<i64>,
    /// Ended at.
    pub ended_at: Option<i64>,
    /// Every keypad digit the callee pressed, in order.
    pub digits: String,
    /// What it played, in order: `tts:<cache key>+…` or `audio:<id>` references.
    pub played: Vec<String>,
}
