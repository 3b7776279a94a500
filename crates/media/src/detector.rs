//! In-band DTMF detection (Goertzel) for 8 kHz PCM16, tuned to ITU-T Q.24.
//!
//! The signal is cut into 102-sample blocks (12.75 ms) every 51 samples (50 % overlap). For each
//! block the eight DTMF frequencies are measured with the Goertzel recurrence, keeping the
//! complex result, and a block *votes* for a digit only if:
//! - the strongest row and column tones are each above the minimum level;
//! - twist is within limits (row louder by ≤ 8 dB "normal", column louder by ≤ 4 dB "reverse");
//! - each tone beats the other tones of its group by a clear margin;
//! - the two tones hold most of the block's energy (speech spreads its energy over many
//!   harmonics and formants);
//! - their second harmonics are weak (voiced speech has strong harmonics, DTMF does not).
//!
//! Frequency tolerance is checked from phase, not magnitude: between two blocks 51 samples apart
//! a tone at `f + Δ` advances by `2π(f + Δ)·51/8000`, so the residual phase gives Δ with a
//! precision a single short block cannot. Phase products are summed over the run of votes and a
//! digit is accepted only if its estimated deviation is within ±2.5 % for both tones (Q.24:
//! accept ±1.5 %, reject ±3.5 %; measured edge ±2.4–2.5 %). A digit is reported once, when four
//! consecutive blocks have voted for it (measured: tones ≥ 30 ms always pass, ≤ 24 ms never do),
//! and not again until four consecutive blocks have not (a pause of ≥ 20 ms re-arms; a 10 ms
//! dropout inside a key press is bridged). `tests/detector_numbers.rs` prints these figures.

use std::collections::VecDeque;
use std::f32::consts::TAU;

use crate::digit::{COL_FREQS, Digit, ROW_FREQS};
use crate::sender::SAMPLE_RATE;
use crate::tone::dbm0_to_amplitude;

/// Block length in samples.
const BLOCK: usize = 102;
/// Hop between block starts.
const HOP: usize = 51;

/// Detection thresholds; [`Default`] follows ITU-T Q.24 as described in the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorConfig {
    /// Largest allowed "row louder than column" difference, dB.
    pub normal_twist_db: f32,
    /// Largest allowed "column louder than row" difference, dB.
    pub reverse_twist_db: f32,
    /// Accepted frequency deviation as a fraction (0.025 = ±2.5 %).
    pub frequency_tolerance: f32,
    /// Weakest tone accepted, dBm0 per tone.
    pub min_level_dbm0: f32,
    /// Each tone must exceed the other tones of its group by this much, dB.
    pub group_margin_db: f32,
    /// Share of the block's energy the two tones must hold.
    pub min_energy_ratio: f32,
    /// Second-harmonic power allowed, relative to the column tone.
    pub max_col_harmonic: f32,
    /// Second-harmonic power allowed, relative to the row tone (looser: 2·row frequencies lie
    /// near column tones and pick up their leakage).
    pub max_row_harmonic: f32,
    /// Consecutive voting blocks needed to accept a digit (blocks start every 6.4 ms). Below 2
    /// there is no block pair to measure frequency from, so the tolerance check is skipped.
    pub min_blocks: u32,
    /// Consecutive non-voting blocks that end a key press.
    pub release_blocks: u32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            normal_twist_db: 8.0,
            reverse_twist_db: 4.0,
            frequency_tolerance: 0.025,
            min_level_dbm0: -32.0,
            group_margin_db: 6.0,
            min_energy_ratio: 0.7,
            max_col_harmonic: 0.1,
            max_row_harmonic: 0.5,
            min_blocks: 4,
            release_blocks: 4,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Complex {
    re: f32,
    im: f32,
}

impl Complex {
    fn mul_conj(self, o: Complex) -> Complex {
        Complex { re: self.re * o.re + self.im * o.im, im: self.im * o.re - self.re * o.im }
    }
    fn mul(self, o: Complex) -> Complex {
        Complex { re: self.re * o.re - self.im * o.im, im: self.re * o.im + self.im * o.re }
    }
    fn add(self, o: Complex) -> Complex {
        Complex { re: self.re + o.re, im: self.im + o.im }
    }
    fn norm_sqr(self) -> f32 {
        self.re * self.re + self.im * self.im
    }
}

/// One Goertzel bin with its precomputed constants.
#[derive(Debug, Clone)]
struct Bin {
    freq: f32,
    coeff: f32,
    /// `e^{-iω}`.
    rot1: Complex,
    /// `e^{-iω(N-1)}`: turns the Goertzel output into the DFT referenced to the block start.
    rot_block: Complex,
    /// `e^{-iω·HOP}`: removes the nominal phase advance between blocks.
    rot_hop: Complex,
}

fn expi(x: f32) -> Complex {
    Complex { re: x.cos(), im: x.sin() }
}

impl Bin {
    fn new(freq: f32) -> Bin {
        let w = TAU * freq / SAMPLE_RATE as f32;
        Bin {
            freq,
            coeff: 2.0 * w.cos(),
            rot1: expi(-w),
            rot_block: expi(-w * (BLOCK as f32 - 1.0)),
            rot_hop: expi(-w * HOP as f32),
        }
    }

    /// DFT value at this frequency over `x`, phase-referenced to `x[0]`.
    fn dft(&self, x: &[f32]) -> Complex {
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for &v in x {
            let s0 = v + self.coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let y = Complex { re: s1 - self.rot1.re * s2, im: -self.rot1.im * s2 };
        y.mul(self.rot_block)
    }

    /// Power of the tone at this frequency, as mean square (a sine of peak A gives A²/2).
    fn power(&self, x: &[f32]) -> f32 {
        let n = x.len() as f32;
        2.0 * self.dft(x).norm_sqr() / (n * n)
    }
}

/// A run of consecutive blocks voting for the same digit.
#[derive(Debug, Clone)]
struct Run {
    digit: Digit,
    blocks: u32,
    prev: [Complex; 2],
    /// Summed phase-advance products (row, column).
    z: [Complex; 2],
}

/// Streaming in-band DTMF detector. Feed samples with [`process`](Self::process), take digits
/// with [`poll_digit`](Self::poll_digit).
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    config: DetectorConfig,
    rows: [Bin; 4],
    cols: [Bin; 4],
    min_power: f32,
    /// The latest `filled` samples as a ring; `window[next]` is the oldest once it is full.
    window: [f32; BLOCK],
    next: usize,
    filled: usize,
    /// How many of the latest samples are each too quiet to let a block vote (see `analyse`).
    quiet_for: usize,
    since_block: usize,
    run: Option<Run>,
    latched: Option<Digit>,
    misses: u32,
    digits: VecDeque<Digit>,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

fn db(ratio_db: f32) -> f32 {
    10f32.powf(ratio_db / 10.0)
}

impl DtmfDetector {
    /// A detector with Q.24 defaults.
    pub fn new() -> Self {
        Self::with_config(DetectorConfig::default())
    }

    /// A detector with custom thresholds.
    pub fn with_config(config: DetectorConfig) -> Self {
        let a = dbm0_to_amplitude(config.min_level_dbm0);
        DtmfDetector {
            rows: ROW_FREQS.map(Bin::new),
            cols: COL_FREQS.map(Bin::new),
            min_power: a * a / 2.0,
            config,
            window: [0.0; BLOCK],
            next: 0,
            filled: 0,
            quiet_for: 0,
            since_block: 0,
            run: None,
            latched: None,
            misses: 0,
            digits: VecDeque::new(),
        }
    }

    /// Analyses more 8 kHz samples (any chunk size; state carries across calls).
    pub fn process(&mut self, pcm: &[i16]) {
        if self.skip_quiet_chunk(pcm) {
            return;
        }
        for &s in pcm {
            let v = f32::from(s);
            self.window[self.next] = v;
            self.next = if self.next + 1 == BLOCK { 0 } else { self.next + 1 };
            self.filled = (self.filled + 1).min(BLOCK);
            // A block whose every sample has 2·v² below the minimum tone power has a mean square below
            // it too, so it cannot vote (`analyse`): most of a call is such silence, skipped unread.
            self.quiet_for = if self.too_quiet(v) { (self.quiet_for + 1).min(BLOCK) } else { 0 };
            self.since_block += 1;
            if self.filled == BLOCK && self.since_block >= HOP {
                self.since_block = 0;
                if self.quiet_for == BLOCK {
                    self.count_vote(None);
                } else {
                    let (newest, oldest) = self.window.split_at(self.next);
                    let mut block = [0f32; BLOCK];
                    block[..oldest.len()].copy_from_slice(oldest);
                    block[oldest.len()..].copy_from_slice(newest);
                    self.analyse(&block);
                }
            }
        }
    }

    /// A sample too quiet to let a block of such samples vote: 2·v² below the minimum tone power.
    fn too_quiet(&self, v: f32) -> bool {
        2.0 * v * v < self.min_power
    }

    /// A whole chunk of silence after a quiet window (a call's usual input) in bulk: every block it
    /// completes is too quiet to vote, so only the votes are counted and its last `BLOCK` samples kept.
    /// Same state as the sample loop; `false` (nothing done) when the chunk is short or not all quiet.
    fn skip_quiet_chunk(&mut self, pcm: &[i16]) -> bool {
        if self.quiet_for < BLOCK || pcm.len() < BLOCK || !pcm.iter().all(|&s| self.too_quiet(f32::from(s))) {
            return false;
        }
        let ahead = self.since_block + pcm.len();
        for _ in 0..ahead / HOP {
            self.count_vote(None);
        }
        self.since_block = ahead % HOP;
        for (w, &s) in self.window.iter_mut().zip(&pcm[pcm.len() - BLOCK..]) {
            *w = f32::from(s);
        }
        self.next = 0;
        true
    }

    /// The next detected key press, in order.
    #[must_use]
    pub fn poll_digit(&mut self) -> Option<Digit> {
        self.digits.pop_front()
    }

    fn analyse(&mut self, block: &[f32; BLOCK]) {
        // A bin's power never exceeds twice the block's mean square (Cauchy–Schwarz), so a block quieter
        // than half the minimum tone power cannot vote: skip the eight DFTs (silence is most of a call).
        let energy = block.iter().map(|v| v * v).sum::<f32>() / BLOCK as f32;
        let vote = if 2.0 * energy < self.min_power {
            None
        } else {
            let row_x = self.rows.each_ref().map(|b| b.dft(block));
            let col_x = self.cols.each_ref().map(|b| b.dft(block));
            self.classify(block, &row_x, &col_x).map(|(d, r, c)| (d, r, c, row_x[r], col_x[c]))
        };
        self.count_vote(vote);
    }

    /// Advances the digit run, the release count and the latch by one block's vote.
    fn count_vote(&mut self, vote: Option<(Digit, usize, usize, Complex, Complex)>) {
        match vote {
            Some((digit, r, c, row, col)) => {
                let cur = [row, col];
                match self.run.as_mut() {
                    Some(run) if run.digit == digit => {
                        let rots = [self.rows[r].rot_hop, self.cols[c].rot_hop];
                        for i in 0..2 {
                            run.z[i] = run.z[i].add(cur[i].mul_conj(run.prev[i]).mul(rots[i]));
                        }
                        run.prev = cur;
                        run.blocks += 1;
                    }
                    _ => self.run = Some(Run { digit, blocks: 1, prev: cur, z: [Complex::default(); 2] }),
                }
            }
            None => self.run = None,
        }
        if vote.map(|v| v.0) == self.latched {
            self.misses = 0;
        } else {
            self.misses += 1;
            if self.misses >= self.config.release_blocks {
                self.latched = None;
            }
        }
        if let Some(digit) = self.accepted()
            && self.latched != Some(digit)
        {
            self.digits.push_back(digit);
            self.latched = Some(digit);
            self.misses = 0;
        }
    }

    /// The digit of the current run if it is long enough and on frequency.
    fn accepted(&self) -> Option<Digit> {
        let run = self.run.as_ref()?;
        if run.blocks < self.config.min_blocks {
            return None;
        }
        let (r, c) = run.digit.position();
        let tol = self.config.frequency_tolerance;
        for (z, f) in run.z.iter().zip([ROW_FREQS[r], COL_FREQS[c]]) {
            let dev_hz = z.im.atan2(z.re) * SAMPLE_RATE as f32 / (TAU * HOP as f32);
            if dev_hz.abs() > tol * f {
                return None;
            }
        }
        Some(run.digit)
    }

    /// The digit this block votes for, with its row and column index.
    fn classify(
        &self,
        block: &[f32; BLOCK],
        row_x: &[Complex; 4],
        col_x: &[Complex; 4],
    ) -> Option<(Digit, usize, usize)> {
        let scale = 2.0 / (BLOCK * BLOCK) as f32;
        let rp = row_x.map(|x| x.norm_sqr() * scale);
        let cp = col_x.map(|x| x.norm_sqr() * scale);
        let r = argmax(&rp);
        let c = argmax(&cp);
        let (pr, pc) = (rp[r], cp[c]);
        let cfg = &self.config;
        if pr < self.min_power || pc < self.min_power {
            return None;
        }
        if pr > pc * db(cfg.normal_twist_db) || pc > pr * db(cfg.reverse_twist_db) {
            return None;
        }
        let margin = db(cfg.group_margin_db);
        let others_ok = |p: &[f32; 4], best: usize| (0..4).all(|i| i == best || p[i] * margin < p[best]);
        if !others_ok(&rp, r) || !others_ok(&cp, c) {
            return None;
        }
        let energy = block.iter().map(|v| v * v).sum::<f32>() / BLOCK as f32;
        if pr + pc < cfg.min_energy_ratio * energy {
            return None;
        }
        let h_col = Bin::new(2.0 * self.cols[c].freq).power(block);
        let h_row = Bin::new(2.0 * self.rows[r].freq).power(block);
        if h_col > cfg.max_col_harmonic * pc || h_row > cfg.max_row_harmonic * pr {
            return None;
        }
        Digit::from_position(r, c).map(|d| (d, r, c))
    }
}

fn argmax(p: &[f32; 4]) -> usize {
    (1..4).fold(0, |best, i| if p[i] > p[best] { i } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{DEFAULT_TONE_LEVEL_DBM0, dtmf_sequence, dual_tone};
    use std::time::Duration;

    fn detect(pcm: &[i16]) -> Vec<Digit> {
        let mut d = DtmfDetector::new();
        // Odd chunk size: state must carry across calls.
        for chunk in pcm.chunks(77) {
            d.process(chunk);
        }
        std::iter::from_fn(|| d.poll_digit()).collect()
    }

    /// Silence fed in frame-sized chunks (the bulk path) and one sample at a time (the sample loop)
    /// leave the same state: the same digits after it, even one starting right at a chunk edge.
    #[test]
    fn quiet_chunks_in_bulk_match_the_sample_loop() {
        let ms = Duration::from_millis;
        let mut pcm = vec![3i16; 8 * 160 + 37];
        pcm.extend(dtmf_sequence(&[Digit::D7, Digit::Star], ms(60), ms(60), -20.0));
        pcm.extend(vec![-2i16; 160 * 3]);
        pcm.extend(dtmf_sequence(&[Digit::D0], ms(50), ms(50), -20.0));
        let (mut bulk, mut single) = (DtmfDetector::new(), DtmfDetector::new());
        for chunk in pcm.chunks(160) {
            bulk.process(chunk);
        }
        for s in &pcm {
            single.process(std::slice::from_ref(s));
        }
        let digits = |d: &mut DtmfDetector| std::iter::from_fn(|| d.poll_digit()).collect::<Vec<_>>();
        assert_eq!(digits(&mut bulk), vec![Digit::D7, Digit::Star, Digit::D0]);
        assert_eq!(digits(&mut single), vec![Digit::D7, Digit::Star, Digit::D0]);
        assert_eq!(
            (bulk.since_block, bulk.misses, bulk.latched),
            (single.since_block, single.misses, single.latched)
        );
        let ordered = |d: &DtmfDetector| [&d.window[d.next..], &d.window[..d.next]].concat();
        assert_eq!(ordered(&bulk), ordered(&single));
    }

    #[test]
    fn all_digits_once_each() {
        let ms = Duration::from_millis;
        let pcm = dtmf_sequence(&Digit::ALL, ms(100), ms(100), DEFAULT_TONE_LEVEL_DBM0);
        assert_eq!(detect(&pcm), Digit::ALL.to_vec());
    }

    #[test]
    fn duration_limits() {
        let ms = Duration::from_millis;
        for on in [40, 45, 60] {
            let pcm = dtmf_sequence(&[Digit::D5, Digit::D5], ms(on), ms(40), -10.0);
            assert_eq!(detect(&pcm), vec![Digit::D5, Digit::D5], "{on} ms tone");
        }
        let pcm = dtmf_sequence(&[Digit::D5], ms(23), ms(40), -10.0);
        assert!(detect(&pcm).is_empty(), "23 ms tone accepted");
    }

    #[test]
    fn silence_and_single_tones_give_nothing() {
        assert!(detect(&[0; 8000]).is_empty());
        let a = dbm0_to_amplitude(-5.0);
        assert!(detect(&dual_tone(697.0, 697.0, a, 0.0, 8000)).is_empty());
        assert!(detect(&dual_tone(1209.0, 1209.0, a, 0.0, 8000)).is_empty());
    }

    #[test]
    fn twist_limits() {
        let (lo, hi) = Digit::D8.frequencies();
        let base = dbm0_to_amplitude(-10.0);
        let at = |row_db: f32, col_db: f32| {
            let a = |d: f32| base * 10f32.powf(d / 20.0);
            detect(&dual_tone(lo, hi, a(row_db), a(col_db), 1600))
        };
        assert_eq!(at(0.0, -7.0), vec![Digit::D8], "7 dB normal twist must pass");
        assert!(at(0.0, -9.5).is_empty(), "9.5 dB normal twist must fail");
        assert_eq!(at(-3.0, 0.0), vec![Digit::D8], "3 dB reverse twist must pass");
        assert!(at(-5.5, 0.0).is_empty(), "5.5 dB reverse twist must fail");
    }

    #[test]
    fn level_limit() {
        let pcm = dtmf_sequence(&[Digit::D0], Duration::from_millis(100), Duration::ZERO, -28.0);
        assert_eq!(detect(&pcm), vec![Digit::D0]);
        let pcm = dtmf_sequence(&[Digit::D0], Duration::from_millis(100), Duration::ZERO, -40.0);
        assert!(detect(&pcm).is_empty());
    }
}
