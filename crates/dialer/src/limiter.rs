//! Per-trunk limits on this node, and the spacing of INVITEs that the fleet shares.
//!
//! A trunk's `cps` and `max_concurrent` hold across every node on one database, so their
//! state lives in the store (`Store::reserve_send_slot`, the check in `Store::begin_attempt`).
//! What stays here is pure: [`TrunkLimiter`] counts this node's call slots (how many calls it
//! claims and prepares at once) and [`send_interval`] turns `cps` into the spacing of send
//! slots, with a margin for jitter between the slot and the phone.

use std::time::Duration;

/// Default of [`crate::TrunkConfig::cps_margin`]: INVITEs are spaced this much wider than
/// `1/cps`, so the far end still sees at most `cps` in any one-second window when our sends,
/// the network or the far end's reading of its socket bunch them: with margin `m` a window of
/// one second spans at most `cps - 1` intervals plus `m` seconds (50 ms at 5 %), and sends may
/// bunch that much before a window could hold `cps + 1` of them.
pub const JITTER_MARGIN: f64 = 0.05;

/// Spacing of a trunk's send slots at `cps` (at least 0.001) with `margin` (0 to 1) of headroom.
pub fn send_interval(cps: f64, margin: f64) -> Duration {
    let cps = if cps.is_finite() && cps > 0.001 { cps } else { 0.001 };
    let margin = if margin.is_finite() { margin.clamp(0.0, 1.0) } else { JITTER_MARGIN };
    Duration::from_secs_f64((1.0 + margin) / cps)
}

/// This node's call slots on one trunk: a call holds one from its claim until its task ends.
/// The fleet-wide `max_concurrent` is checked again by the store when the attempt starts;
/// this counter only keeps one node from claiming more calls than the trunk could ever run.
#[derive(Debug, Clone)]
pub struct TrunkLimiter {
    max_concurrent: u32,
    live: u32,
}

impl TrunkLimiter {
    /// At most `max_concurrent` (≥ 1) calls held at once.
    pub fn new(max_concurrent: u32) -> Self {
        TrunkLimiter { max_concurrent: max_concurrent.max(1), live: 0 }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots `send_interval` apart, each sent up to `jitter` late, never put more than `cps`
    /// sends in any one-second window while the jitter stays within the margin.
    #[test]
    fn spacing_keeps_cps_in_any_second_under_jitter() {
        for cps in [1.0, 5.0, 10.0, 60.0, 200.0] {
            let interval = send_interval(cps, JITTER_MARGIN).as_micros() as i64;
            let jitter = (JITTER_MARGIN * 1e6) as i64 - 1_000;
            // Worst case: the first send of a window as late as allowed, the rest on time.
            let sends: Vec<i64> = (0..1000)
                .map(|k| k * interval + if k % (cps as i64 + 1) == 0 { jitter } else { 0 })
                .collect();
            let most = (0..sends.len())
                .map(|i| sends[i..].iter().filter(|t| **t >= sends[i] && **t < sends[i] + 1_000_000).count())
                .max()
                .unwrap();
            assert!(most as f64 <= cps, "{most} sends in one second at {cps} CPS");
        }
        assert_eq!(send_interval(0.0, 0.0), send_interval(-1.0, 0.0), "nonsense rates are clamped");
        assert_eq!(send_interval(10.0, 0.1), Duration::from_millis(110));
    }

    #[test]
    fn concurrency_counter() {
        let mut l = TrunkLimiter::new(2);
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
}
