//! Packet index estimation and the replay list of one SSRC (RFC 3711 §3.3.1, §3.3.2, Appendix A).
//!
//! The 48-bit packet index is ROC · 2^16 + SEQ; only SEQ travels, so the receiver guesses the
//! rollover counter (ROC) from the highest sequence number it has authenticated: a SEQ far below
//! it after the middle of the cycle belongs to the next cycle, one far above it early in the cycle
//! to the previous one. State changes only through [`IndexState::commit`], which the context calls
//! after the packet authenticated, so a forged packet can neither move the ROC nor fill the window.

/// Width of the replay window in packets (RFC 3711 asks for at least 64).
pub(crate) const REPLAY_WINDOW: u64 = 128;

/// Why a received index is refused before its authentication tag is even checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// The index was already received and authenticated.
    Duplicate,
    /// The index is behind the window (or before the stream's first packet).
    TooOld,
}

/// The highest authenticated index of one SSRC and which of the [`REPLAY_WINDOW`] indices below it
/// were seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexState {
    /// Rollover counter of the highest index.
    roc: u32,
    /// Sequence number of the highest index (`s_l`).
    highest_seq: u16,
    /// Bit `k` set: index `highest − k` was received.
    window: u128,
}

impl IndexState {
    /// The state before the first packet with sequence number `seq`: ROC 0, `s_l` = `seq`, nothing
    /// received yet (RFC 3711 §3.3.1).
    pub(crate) fn first(seq: u16) -> IndexState {
        IndexState { roc: 0, highest_seq: seq, window: 0 }
    }

    /// The highest index authenticated so far (or the first packet's, before any).
    fn highest(&self) -> u64 {
        (u64::from(self.roc) << 16) | u64::from(self.highest_seq)
    }

    /// Appendix A: the index of `seq` relative to `s_l`; `None` for a guess before ROC 0 or past
    /// ROC 2^32 − 1 (a stream that old must have been re-keyed).
    pub(crate) fn estimate(&self, seq: u16) -> Option<u64> {
        let (s_l, seq_i, roc) = (i64::from(self.highest_seq), i64::from(seq), i64::from(self.roc));
        let v = if s_l < 32_768 {
            if seq_i - s_l > 32_768 { roc - 1 } else { roc }
        } else if s_l - 32_768 > seq_i {
            roc + 1
        } else {
            roc
        };
        let v = u32::try_from(v).ok()?;
        Some((u64::from(v) << 16) | u64::from(seq))
    }

    /// Refuses an index already received or too far behind the highest.
    pub(crate) fn check(&self, index: u64) -> Result<(), Replay> {
        let highest = self.highest();
        if index > highest || (self.window == 0 && index == highest) {
            return Ok(());
        }
        let age = highest - index;
        if age >= REPLAY_WINDOW {
            return Err(Replay::TooOld);
        }
        if self.window & (1u128 << age) != 0 { Err(Replay::Duplicate) } else { Ok(()) }
    }

    /// Records an authenticated index: it becomes the highest (moving the ROC) or is marked in the
    /// window.
    pub(crate) fn commit(&mut self, index: u64) {
        let highest = self.highest();
        if index > highest || self.window == 0 {
            let shift = index.saturating_sub(highest);
            self.window = if shift >= REPLAY_WINDOW { 0 } else { self.window << shift };
            self.window |= 1;
            self.roc = (index >> 16) as u32;
            self.highest_seq = index as u16;
        } else {
            self.window |= 1u128 << (highest - index);
        }
    }

    /// The rollover counter of the highest index.
    pub(crate) fn roc(&self) -> u32 {
        self.roc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(seqs: &[u16]) -> IndexState {
        let mut s = IndexState::first(seqs[0]);
        for &seq in seqs {
            let i = s.estimate(seq).expect("index");
            s.check(i).expect("fresh");
            s.commit(i);
        }
        s
    }

    #[test]
    fn rollover_is_estimated_across_the_wrap_both_ways() {
        let mut s = received(&[65_530, 65_535]);
        assert_eq!(s.estimate(2), Some(0x1_0002), "small SEQ after the middle: next cycle");
        s.commit(0x1_0002);
        assert_eq!(s.roc(), 1);
        assert_eq!(s.estimate(65_534), Some(0xFFFE), "late packet of the previous cycle");
        assert_eq!(s.estimate(30_000), Some(0x1_0000 + 30_000), "a jump ahead within half a cycle");
        assert_eq!(s.estimate(40_000), Some(40_000), "more than half a cycle ahead: the previous one");
        assert_eq!(IndexState::first(10).estimate(60_000), None, "before ROC 0");
    }

    #[test]
    fn window_refuses_duplicates_and_old_packets_and_accepts_reordered_ones() {
        let mut s = received(&[100, 101, 103]);
        assert_eq!(s.check(s.estimate(103).expect("i")), Err(Replay::Duplicate));
        assert_eq!(s.check(s.estimate(101).expect("i")), Err(Replay::Duplicate));
        assert_eq!(s.check(s.estimate(102).expect("i")), Ok(()), "reordered, not seen yet");
        s.commit(102);
        assert_eq!(s.check(102), Err(Replay::Duplicate));
        let mut far = received(&[1000]);
        far.commit(1000 + REPLAY_WINDOW);
        assert_eq!(far.check(1000), Err(Replay::TooOld));
        assert_eq!(far.check(1001), Ok(()));
        assert_eq!(IndexState::first(5).check(5), Ok(()), "the first packet itself");
    }
}
