//! When the next attempt goes out: the Standard Webhooks retry schedule, jittered, with the
//! receiver's `Retry-After` honoured. Pure functions of their inputs so tests need no clock.

use std::time::Duration;

/// The spec's schedule: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
pub const STANDARD_SCHEDULE_SECONDS: [u64; 10] =
    [0, 5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];

/// Longest `Retry-After` honoured (a receiver cannot park a delivery forever).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Delays before each attempt; entry 0 is the first attempt (the batch becoming final).
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    /// Delay before attempt `i` (0-based), counted from the previous attempt.
    pub delays: Vec<Duration>,
    /// Relative jitter: a delay `d` becomes uniform in `d × [1 − jitter, 1 + jitter]`.
    pub jitter: f64,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            delays: STANDARD_SCHEDULE_SECONDS.iter().map(|s| Duration::from_secs(*s)).collect(),
            jitter: 0.1,
        }
    }
}

impl RetrySchedule {
    /// A schedule from seconds (config), fractions allowed.
    pub fn from_seconds(seconds: &[f64], jitter: f64) -> Self {
        RetrySchedule {
            delays: seconds.iter().map(|s| Duration::from_secs_f64(s.max(0.0))).collect(),
            jitter: jitter.clamp(0.0, 1.0),
        }
    }

    /// The delay after failed attempt number `done` (1-based within the round), or `None` when
    /// the schedule is exhausted. `unit` in [0, 1) picks the jitter; `retry_after` (from the
    /// receiver) is a lower bound.
    pub fn next_delay(&self, done: u32, unit: f64, retry_after: Option<Duration>) -> Option<Duration> {
        let base = *self.delays.get(done as usize)?;
        let factor = 1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        let jittered = base.mul_f64(factor.max(0.0));
        Some(match retry_after {
            Some(ra) => jittered.max(ra.min(MAX_RETRY_AFTER)),
            None => jittered,
        })
    }
}

/// Parses `Retry-After`: delta-seconds or an HTTP date (relative to `now_unix` seconds).
pub fn parse_retry_after(value: &str, now_unix: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?.timestamp();
    Some(Duration::from_secs(u64::try_from(at - now_unix).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_schedule_and_exhaustion() {
        let s = RetrySchedule { jitter: 0.0, ..RetrySchedule::default() };
        assert_eq!(s.next_delay(1, 0.5, None), Some(Duration::from_secs(5)));
        assert_eq!(s.next_delay(2, 0.5, None), Some(Duration::from_secs(300)));
        assert_eq!(s.next_delay(9, 0.5, None), Some(Duration::from_secs(86_400)));
        assert_eq!(s.next_delay(10, 0.5, None), None);
    }

    #[test]
    fn jitter_stays_in_band_and_retry_after_is_a_floor() {
        let s = RetrySchedule::default();
        let lo = s.next_delay(2, 0.0, None).unwrap();
        let hi = s.next_delay(2, 0.999_999, None).unwrap();
        assert_eq!(lo, Duration::from_secs(270));
        assert!(hi > Duration::from_secs(329) && hi <= Duration::from_secs(330));
        let ra = s.next_delay(1, 0.5, Some(Duration::from_secs(60))).unwrap();
        assert_eq!(ra, Duration::from_secs(60));
        let capped = s.next_delay(1, 0.5, Some(Duration::from_secs(10 * 86_400))).unwrap();
        assert_eq!(capped, MAX_RETRY_AFTER);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120", 0), Some(Duration::from_secs(120)));
        let date = parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1_445_412_400);
        assert_eq!(date, Some(Duration::from_secs(80)));
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
