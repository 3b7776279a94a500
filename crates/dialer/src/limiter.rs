//! Per-trunk rate limits: calls per second (a token bucket) and calls live at once.
//!
//! Pure and fed explicit time, so the CPS rule ("never more than `cps` INVITEs in any second")
//! is tested without sleeping. The async loop holds one [`TrunkLimiter`] per trunk behind a
//! mutex and sleeps until [`TokenBucket::try_take`] says the next token is ready.

use std::time::{Duration, Instant};

/// A token bucket: `rate` tokens per second, at most `burst` saved up (implemented as GCRA:
/// one "theoretical arrival time" instead of a token count, so no float drift).
///
/// With `burst = 1` (the dialer's choice) INVITEs leave evenly spaced `1/rate` s apart, so
/// any one-second window holds at most `rate` of them.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    interval: Duration,
    burst: u32,
    /// When the next token would be due if the bucket were drained evenly.
    tat: Option<Instant>,
}

impl TokenBucket {
    /// A bucket of `rate` tokens per second (at least 0.001) holding at most `burst` (≥ 1).
    pub fn new(rate: f64, burst: u32) -> Self {
        let rate = if rate.is_finite() && rate > 0.001 { rate } else { 0.001 };
        TokenBucket { interval: Duration::from_secs_f64(1.0 / rate), burst: burst.max(1), tat: None }
    }

    /// Spacing between tokens.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Takes a token if one is ready at `now`; otherwise returns when the next one is.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Instant> {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let slack = self.interval * (self.burst - 1);
        let allowed_at = tat.checked_sub(slack).unwrap_or(now);
        if allowed_at > now {
            return Err(allowed_at);
        }
        self.tat = Some(tat + self.interval);
        Ok(())
    }
}

/// INVITEs are spaced this much wider than `1/cps`, so the far end still sees at most `cps` in
/// any one-second window when our sends or the network add a few milliseconds of jitter
/// (at 5 CPS: 204 ms apart, tolerating 20 ms across five gaps).
pub const JITTER_MARGIN: f64 = 0.02;

/// One trunk's limits: the CPS buckets and a counter of live calls.
///
/// CPS is enforced twice: [`TrunkLimiter::try_send`] admits a call to start its attempt
/// (before the attempt row is written, so no attempt waits long uncommitted-to-the-wire), and
/// [`TrunkLimiter::try_invite`] spaces the INVITEs themselves, absorbing the jitter of the
/// commit in between. Both have burst 1, so the second one only ever waits a few ms.
#[derive(Debug, Clone)]
pub struct TrunkLimiter {
    bucket: TokenBucket,
    wire: TokenBucket,
    max_concurrent: u32,
    live: u32,
}

impl TrunkLimiter {
    /// Limits of `cps` INVITEs per second (evenly spaced) and `max_concurrent` live calls.
    pub fn new(cps: f64, max_concurrent: u32) -> Self {
        TrunkLimiter {
            bucket: TokenBucket::new(cps / (1.0 + JITTER_MARGIN), 1),
            wire: TokenBucket::new(cps / (1.0 + JITTER_MARGIN), 1),
            max_concurrent: max_concurrent.max(1),
            live: 0,
        }
    }

    /// Free call slots.
    pub fn free(&self) -> u32 {
        self.max_concurrent - self.live
    }

    /// Calls holding a slot.
    pub fn live(&self) -> u32 {
        self.live
    }

    /// Takes a call slot if one is free.
    pub fn try_acquire(&mut self) -> bool {
        if self.live < self.max_concurrent {
            self.live += 1;
            true
        } else {
            false
        }
    }

    /// Gives a call slot back.
    pub fn release(&mut self) {
        self.live = self.live.saturating_sub(1);
    }

    /// Asks to send one INVITE at `now`: Ok, or the instant to ask again.
    pub fn try_send(&mut self, now: Instant) -> Result<(), Instant> {
        self.bucket.try_take(now)
    }

    /// Asks to put one INVITE on the wire at `now` (after its attempt row is committed).
    pub fn try_invite(&mut self, now: Instant) -> Result<(), Instant> {
        self.wire.try_take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(base: Instant, n: u64) -> Instant {
        base + Duration::from_millis(n)
    }

    #[test]
    fn even_spacing_at_burst_one() {
        let t = Instant::now();
        let mut b = TokenBucket::new(5.0, 1);
        assert_eq!(b.try_take(t), Ok(()));
        assert_eq!(b.try_take(ms(t, 10)), Err(ms(t, 200)));
        assert_eq!(b.try_take(ms(t, 200)), Ok(()));
        assert_eq!(b.try_take(ms(t, 399)), Err(ms(t, 400)));
    }

    #[test]
    fn never_more_than_cps_in_any_second() {
        let t = Instant::now();
        let mut b = TokenBucket::new(5.0, 1);
        let mut sent = Vec::new();
        let mut now = t;
        // A greedy caller asking every millisecond for 5 seconds.
        while now < ms(t, 5000) {
            if b.try_take(now).is_ok() {
                sent.push(now);
            }
            now += Duration::from_millis(1);
        }
        assert_eq!(sent.len(), 25);
        for (i, s) in sent.iter().enumerate() {
            let in_window = sent[i..].iter().take_while(|x| **x < *s + Duration::from_secs(1)).count();
            assert!(in_window <= 5, "window at {i} holds {in_window}");
        }
    }

    #[test]
    fn burst_saves_up_tokens() {
        let t = Instant::now();
        let mut b = TokenBucket::new(1.0, 3);
        assert!(b.try_take(t).is_ok());
        assert!(b.try_take(t).is_ok());
        assert!(b.try_take(t).is_ok());
        assert_eq!(b.try_take(t), Err(ms(t, 1000)));
        // After a long idle time at most `burst` are saved.
        let later = ms(t, 60_000);
        assert!((0..3).all(|_| b.try_take(later).is_ok()));
        assert!(b.try_take(later).is_err());
    }

    #[test]
    fn concurrency_counter() {
        let mut l = TrunkLimiter::new(10.0, 2);
        assert!(l.try_acquire() && l.try_acquire());
        assert!(!l.try_acquire());
        assert_eq!((l.live(), l.free()), (2, 0));
        l.release();
        assert!(l.try_acquire());
        l.release();
        l.release();
        l.release();
        assert_eq!(l.live(), 0, "release never underflows");
    }

    /// The async pattern the dialer uses (sleep until the bucket's answer), on tokio's
    /// paused clock: 20 tasks contending for a 5 CPS trunk with 3 slots.
    #[tokio::test(start_paused = true)]
    async fn contending_tasks_keep_both_limits() {
        use std::sync::{Arc, Mutex};
        let limiter = Arc::new(Mutex::new(TrunkLimiter::new(5.0, 3)));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (limiter, sent) = (limiter.clone(), sent.clone());
            tasks.push(tokio::spawn(async move {
                while !limiter.lock().unwrap().try_acquire() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                loop {
                    let now = tokio::time::Instant::now();
                    let answer = limiter.lock().unwrap().try_send(now.into_std());
                    match answer {
                        Ok(()) => break,
                        Err(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    }
                }
                sent.lock().unwrap().push(tokio::time::Instant::now());
                tokio::time::sleep(Duration::from_secs(1)).await; // the call
                limiter.lock().unwrap().release();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut sent = sent.lock().unwrap().clone();
        sent.sort();
        assert_eq!(sent.len(), 20);
        for w in sent.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(200), "CPS");
        }
        // 3 slots, 1 s calls: 20 calls need at least 6 full rounds.
        assert!(sent[19] - start >= Duration::from_secs(6), "concurrency");
        assert_eq!(limiter.lock().unwrap().live(), 0);
    }
}
