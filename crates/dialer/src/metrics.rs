//! The dialer's Prometheus series, recorded through the `metrics` facade (the binary installs
//! the exporter and serves `/metrics`; without it these calls cost nothing).
//!
//! Names live here so the dashboard, alerts and README agree on one spelling:
//! - `voicebot_call_attempts_total{outcome}`: attempts ended, by SIP outcome;
//! - `voicebot_calls_finished_total{status}`: calls made final by this node, by status;
//! - `voicebot_invite_answer_seconds`: INVITE sent → 200 OK, answered attempts only.

use std::time::Duration;

use voicebot_store::{CallNext, CallStatus};

/// An attempt's result was committed.
pub(crate) fn attempt_finished(outcome: &str, next: &CallNext) {
    metrics::counter!("voicebot_call_attempts_total", "outcome" => outcome.to_string()).increment(1);
    if let CallNext::Final { status, .. } = next {
        call_finished(*status);
    }
}

/// A call became final (after its last attempt, or skipped without dialing).
pub(crate) fn call_finished(status: CallStatus) {
    metrics::counter!("voicebot_calls_finished_total", "status" => status.as_str()).increment(1);
}

/// The callee answered `after` the INVITE left.
pub(crate) fn answered(after: Duration) {
    metrics::histogram!("voicebot_invite_answer_seconds").record(after.as_secs_f64());
}
