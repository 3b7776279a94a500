//! Wall-clock time for stored timestamps and calling windows, injectable for tests.
//!
//! Pacing (CPS, gather timeouts, ring guards) uses tokio's monotonic clock; only what is
//! written to the store or compared with a recipient's local time goes through [`Clock`].

use chrono::{DateTime, Utc};

/// Source of "now" in UTC.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// The current time as Unix microseconds (the store's unit).
    fn now_micros(&self) -> i64 {
        self.now().timestamp_micros()
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
