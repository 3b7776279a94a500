//! Timer bookkeeping for the engines: one deadline slot per [`Timer`], and the RFC 3261 timer values.
//!
//! Each engine owns a [`TimerTable`]; `poll_timeout` is the earliest armed slot and `handle_timeout(now)` asks
//! the table which slots have expired. Naming each deadline after the RFC timer it implements (in the spirit
//! of quinn-proto's `TimerTable` and str0m's timeout reasons) keeps timer bugs visible in tests.

use std::time::{Duration, Instant};

/// Every deadline an engine can wait on (RFC 3261 §17 names where they exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// INVITE client retransmission (T1, doubling).
    A,
    /// INVITE client transaction timeout (64·T1).
    B,
    /// Wait in Completed for response retransmissions after ACKing a non-2xx (32 s over UDP).
    D,
    /// BYE (non-INVITE client) retransmission (T1 doubling, capped at T2).
    E,
    /// BYE (non-INVITE client) transaction timeout (64·T1).
    F,
    /// CANCEL retransmission (Timer E of the CANCEL transaction).
    CancelE,
    /// CANCEL transaction timeout (Timer F of the CANCEL transaction).
    CancelF,
    /// After a CANCEL: give up waiting for the INVITE's final response (64·T1, RFC 3261 §9.1).
    CancelGuard,
    /// Ring timeout chosen by the dialer: CANCEL when it fires before a final response.
    RingTimeout,
    /// INVITE server: final response retransmission (T1 doubling, capped at T2).
    G,
    /// INVITE server: give up waiting for the ACK (64·T1).
    H,
    /// INVITE server: absorb ACK retransmissions after the ACK arrived (T4).
    I,
    /// Keep the finished leg briefly to answer retransmitted requests (64·T1).
    Linger,
}

impl Timer {
    const ALL: [Timer; 13] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::CancelE,
        Timer::CancelF,
        Timer::CancelGuard,
        Timer::RingTimeout,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::Linger,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// RFC 3261 timer base values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate, default 500 ms.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s.
    pub t2: Duration,
    /// Maximum time a message stays in the network, default 5 s.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> TimerConfig {
        TimerConfig { t1: Duration::from_millis(500), t2: Duration::from_secs(4), t4: Duration::from_secs(5) }
    }
}

impl TimerConfig {
    /// The same values with T1, T2 and T4 at least 1 ms, so a retransmission timer can never re-arm at the
    /// instant it fired (which would spin `handle_timeout`).
    pub fn sanitized(self) -> TimerConfig {
        let min = Duration::from_millis(1);
        TimerConfig { t1: self.t1.max(min), t2: self.t2.max(min), t4: self.t4.max(min) }
    }

    /// 64·T1: Timers B, F, H and J.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D: at least 32 s for unreliable transports.
    pub fn d(&self) -> Duration {
        self.timeout().max(Duration::from_secs(32))
    }
}

/// One optional deadline per [`Timer`].
#[derive(Debug, Clone, Default)]
pub struct TimerTable {
    slots: [Option<Instant>; Timer::ALL.len()],
}

impl TimerTable {
    /// Arms (or re-arms) `timer` to fire at `at`.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(slot) = self.slots.get_mut(timer.index()) {
            *slot = Some(at);
        }
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        if let Some(slot) = self.slots.get_mut(timer.index()) {
            *slot = None;
        }
    }

    /// The deadline of `timer`, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots.get(timer.index()).copied().flatten()
    }

    /// True when `timer` is armed.
    pub fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    /// The earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Disarms and returns the earliest timer that expired at or before `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = Timer::ALL
            .into_iter()
            .filter(|t| self.get(*t).is_some_and(|at| at <= now))
            .min_by_key(|t| self.get(*t))?;
        self.stop(timer);
        Some(timer)
    }

    /// Disarms everything.
    pub fn clear(&mut self) {
        self.slots = Default::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_deadline_order() {
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        t.set(Timer::B, t0 + Duration::from_secs(32));
        t.set(Timer::A, t0 + Duration::from_millis(500));
        assert_eq!(t.next(), Some(t0 + Duration::from_millis(500)));
        assert_eq!(t.pop_expired(t0), None);
        assert_eq!(t.pop_expired(t0 + Duration::from_secs(40)), Some(Timer::A));
        assert_eq!(t.pop_expired(t0 + Duration::from_secs(40)), Some(Timer::B));
        assert_eq!(t.next(), None);
    }
}
