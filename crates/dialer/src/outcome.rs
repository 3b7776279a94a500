//! Attempt outcomes and the retry policy that turns them into the call's next state.
//!
//! One place owns CONTRACT.md §8's dialing policy (per-outcome retry delays, `max_attempts`,
//! per-batch overrides) and §7's final statuses, so the loop and crash recovery agree on them.

use std::time::Duration;

use voicebot_store::CallStatus;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Answered (2xx); the workflow ran.
    Answered,
    /// Busy (486, 600).
    Busy,
    /// Not answered within the ring timeout (408, 480, our timer).
    NoAnswer,
    /// Refused (403, 603): final at once.
    Rejected,
    /// The number does not exist (404, 484, 604): final at once.
    InvalidNumber,
    /// Network or trunk error, other final codes.
    Failed,
    /// The process died while the attempt was live (found on restart).
    Interrupted,
}

impl Outcome {
    /// Stored name (`ANSWERED`, `NO_ANSWER`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "ANSWERED",
            Outcome::Busy => "BUSY",
            Outcome::NoAnswer => "NO_ANSWER",
            Outcome::Rejected => "REJECTED",
            Outcome::InvalidNumber => "INVALID_NUMBER",
            Outcome::Failed => "FAILED",
            Outcome::Interrupted => voicebot_store::OUTCOME_INTERRUPTED,
        }
    }

    /// The call's status if this attempt is its last (CONTRACT.md §7).
    pub fn final_status(self) -> CallStatus {
        match self {
            Outcome::Answered => CallStatus::Completed,
            Outcome::NoAnswer => CallStatus::Timeout,
            _ => CallStatus::Failed,
        }
    }
}

/// Retry delay per retryable outcome (CONTRACT.md §8 defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryDelays {
    /// After busy (default 5 min).
    pub busy: Duration,
    /// After no answer (default 15 min).
    pub no_answer: Duration,
    /// After a network/trunk failure or an interrupted attempt (default 5 min).
    pub failed: Duration,
}

impl Default for RetryDelays {
    fn default() -> Self {
        RetryDelays {
            busy: Duration::from_secs(5 * 60),
            no_answer: Duration::from_secs(15 * 60),
            failed: Duration::from_secs(5 * 60),
        }
    }
}

/// What happens after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Dial again after this delay.
    Retry(Duration),
    /// The call is over with this status.
    Final(CallStatus),
}

/// The retry policy of one batch: config delays plus the batch's `retry` overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, interrupted ones included (config default 3, batch override).
    pub max_attempts: u32,
    /// Per-outcome delays.
    pub delays: RetryDelays,
    /// The batch's `backoff_seconds`: one delay for every retryable outcome.
    pub backoff: Option<Duration>,
}

impl RetryPolicy {
    /// The policy for a batch: its stored `max_attempts` and `backoff_seconds` win.
    pub fn for_batch(delays: RetryDelays, max_attempts: u32, backoff_seconds: Option<u32>) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            delays,
            backoff: backoff_seconds.map(|s| Duration::from_secs(u64::from(s))),
        }
    }

    /// Decides after attempt number `attempt_no` (1-based) ended with `outcome`.
    pub fn decide(&self, outcome: Outcome, attempt_no: u32) -> Decision {
        let delay = match outcome {
            Outcome::Answered | Outcome::Rejected | Outcome::InvalidNumber => {
                return Decision::Final(outcome.final_status());
            }
            Outcome::Busy => self.delays.busy,
            Outcome::NoAnswer => self.delays.no_answer,
            Outcome::Failed | Outcome::Interrupted => self.delays.failed,
        };
        if attempt_no >= self.max_attempts {
            Decision::Final(outcome.final_status())
        } else {
            Decision::Retry(self.backoff.unwrap_or(delay))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60;

    fn policy() -> RetryPolicy {
        RetryPolicy::for_batch(RetryDelays::default(), 3, None)
    }

    #[test]
    fn delays_per_outcome() {
        let p = policy();
        assert_eq!(p.decide(Outcome::Busy, 1), Decision::Retry(Duration::from_secs(5 * MIN)));
        assert_eq!(p.decide(Outcome::NoAnswer, 1), Decision::Retry(Duration::from_secs(15 * MIN)));
        assert_eq!(p.decide(Outcome::Failed, 2), Decision::Retry(Duration::from_secs(5 * MIN)));
        assert_eq!(p.decide(Outcome::Interrupted, 1), Decision::Retry(Duration::from_secs(5 * MIN)));
    }

    #[test]
    fn final_statuses() {
        let p = policy();
        assert_eq!(p.decide(Outcome::Answered, 1), Decision::Final(CallStatus::Completed));
        assert_eq!(p.decide(Outcome::NoAnswer, 3), Decision::Final(CallStatus::Timeout));
        assert_eq!(p.decide(Outcome::Busy, 3), Decision::Final(CallStatus::Failed));
        assert_eq!(p.decide(Outcome::Failed, 3), Decision::Final(CallStatus::Failed));
        assert_eq!(p.decide(Outcome::Interrupted, 3), Decision::Final(CallStatus::Failed));
    }

    #[test]
    fn invalid_and_rejected_are_final_at_once() {
        let p = policy();
        assert_eq!(p.decide(Outcome::InvalidNumber, 1), Decision::Final(CallStatus::Failed));
        assert_eq!(p.decide(Outcome::Rejected, 1), Decision::Final(CallStatus::Failed));
    }

    #[test]
    fn batch_overrides() {
        let p = RetryPolicy::for_batch(RetryDelays::default(), 5, Some(30));
        assert_eq!(p.decide(Outcome::NoAnswer, 4), Decision::Retry(Duration::from_secs(30)));
        assert_eq!(p.decide(Outcome::NoAnswer, 5), Decision::Final(CallStatus::Timeout));
        let one = RetryPolicy::for_batch(RetryDelays::default(), 1, None);
        assert_eq!(one.decide(Outcome::Busy, 1), Decision::Final(CallStatus::Failed));
        assert_eq!(RetryPolicy::for_batch(RetryDelays::default(), 0, None).max_attempts, 1);
    }

    #[test]
    fn stored_names() {
        assert_eq!(Outcome::NoAnswer.as_str(), "NO_ANSWER");
        assert_eq!(Outcome::Interrupted.as_str(), "INTERRUPTED");
    }
}
