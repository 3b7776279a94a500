//! The answering machine's beep: one steady tone between ~400 and ~2,000 Hz lasting ≥ 150 ms.
//!
//! Every 20 ms frame the detector looks at the latest 40 ms (320 samples):
//! 1. **Frequency**, from the autocorrelation at lags 0, 1, 2. For `A·cos(ωn) + white noise`,
//!    `r1 = P·cos ω` and `r2 = P·cos 2ω` whatever the noise (it only adds to `r0`), which gives
//!    `cos ω = (r2 + √(r2² + 8·r1²)) / (4·r1)` — a few multiply-adds per sample, no filter bank.
//! 2. **Purity**: the power of that one frequency (Goertzel, rectangular 40 ms window, at the
//!    estimate and ±8 Hz, the best of three) over the frame's whole power. A beep holds almost all
//!    of it; speech spreads it over harmonics and formants; two tones (ringback 440 + 480 Hz, a
//!    DTMF key, dial tone) share it (each ≤ ~0.5 at equal levels, and 40 Hz apart they beat
//!    within the window); noise has none of it.
//! 3. **Steadiness**: consecutive pure frames form a run while each frame's frequency stays
//!    within 1.5 % (at least 8 Hz) of the run's first. A run of [`MIN_RUN_FRAMES`] frames is a
//!    beep; it ends at the first frame that breaks it.
//!
//! Measured on synthetic tones (tests below): tones ≥ 150 ms are found from 400 to 2,000 Hz with
//! white noise 10 dB below them; tones ≤ 100 ms, ringback, dial tone and DTMF are not.

use std::f32::consts::TAU;

use crate::sender::{FRAME_SAMPLES, SAMPLE_RATE};

/// Samples analysed per frame (two frames: 40 ms).
pub(crate) const WINDOW: usize = 2 * FRAME_SAMPLES;
/// Pure frames that make a beep. The first pure frame needs 40 ms of tone, each next one 20 ms
/// more: 5 frames ≈ 120 ms of tone, so a 150 ms beep passes even with one frame lost to noise,
/// and a 100 ms one (4 frames at most) never does.
pub(crate) const MIN_RUN_FRAMES: u32 = 5;
/// Lowest and highest beep frequency accepted, Hz (a little outside 400–2,000 for tolerance).
const LOW_HZ: f32 = 370.0;
const HIGH_HZ: f32 = 2080.0;
/// Share of the window's power the tone must hold.
const MIN_PURITY: f32 = 0.85;
/// Frequency tolerance within a run: relative, and at least this many Hz.
const STEADY_REL: f32 = 0.015;
const STEADY_MIN_HZ: f32 = 8.0;

/// What one frame did to the beep detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BeepStep {
    /// Nothing to report.
    None,
    /// A run just became long enough to be a beep.
    Started {
        /// Its frequency, Hz.
        frequency_hz: f32,
    },
    /// A beep (a run that had started) just ended with this frame.
    Ended {
        /// Its frequency, Hz.
        frequency_hz: f32,
    },
}

#[derive(Debug, Clone, Copy)]
struct Run {
    /// Sum of the pure frames' frequencies.
    sum_hz: f32,
    /// Pure frames in the run.
    frames: u32,
    /// Frames in a row since the last pure one (bridged, up to a limit).
    missed: u32,
}

impl Run {
    fn hz(&self) -> f32 {
        self.sum_hz / self.frames as f32
    }
}

/// Streaming single-tone detector over 20 ms frames (state: 320 samples and the current run).
#[derive(Debug, Clone)]
pub(crate) struct BeepDetector {
    window: [f32; WINDOW],
    /// Samples in `window` so far (up to `WINDOW`).
    filled: usize,
    run: Option<Run>,
    /// Whether the last frame was a pure tone in range.
    tonal: bool,
    /// Quietest mean square that can be a beep.
    min_power: f32,
}

impl BeepDetector {
    /// A detector ignoring tones below `min_power` (mean square, PCM units).
    pub(crate) fn new(min_power: f32) -> BeepDetector {
        BeepDetector { window: [0.0; WINDOW], filled: 0, run: None, tonal: false, min_power }
    }

    /// True if the last frame was a pure tone in the beep range (whether or not a beep yet).
    pub(crate) fn last_frame_tonal(&self) -> bool {
        self.tonal
    }

    /// True while a run has reached beep length and not ended.
    pub(crate) fn in_beep(&self) -> bool {
        self.run.is_some_and(|r| r.frames >= MIN_RUN_FRAMES)
    }

    /// Takes the next 20 ms frame.
    pub(crate) fn frame(&mut self, frame: &[f32; FRAME_SAMPLES]) -> BeepStep {
        self.window.copy_within(FRAME_SAMPLES.., 0);
        self.window[FRAME_SAMPLES..].copy_from_slice(frame);
        self.filled = (self.filled + FRAME_SAMPLES).min(WINDOW);
        let tone = if self.filled == WINDOW { pure_tone(&self.window, self.min_power) } else { None };
        self.tonal = tone.is_some();
        let before = self.run;
        self.run = match (tone, before) {
            (Some(f), Some(run)) if (f - run.hz()).abs() <= steady_tolerance(run.hz()) => {
                Some(Run { frames: run.frames + 1, sum_hz: run.sum_hz + f, missed: 0 })
            }
            // A frame that misses (noise pushing purity under the bar, or the estimate off) does
            // not break a run: one in a row before it is a beep, two once it is.
            (_, Some(run)) if run.missed < 1 + u32::from(run.frames >= MIN_RUN_FRAMES) => {
                Some(Run { missed: run.missed + 1, ..run })
            }
            (Some(f), _) => Some(Run { sum_hz: f, frames: 1, missed: 0 }),
            (None, _) => None,
        };
        match (before, self.run) {
            (Some(b), now) if b.frames >= MIN_RUN_FRAMES && now.is_none_or(|n| n.frames == 1) => {
                BeepStep::Ended { frequency_hz: b.hz() }
            }
            (Some(b), Some(n)) if n.frames == MIN_RUN_FRAMES && b.frames < n.frames => {
                BeepStep::Started { frequency_hz: n.hz() }
            }
            (None, Some(n)) if n.frames == MIN_RUN_FRAMES => BeepStep::Started { frequency_hz: n.hz() },
            _ => BeepStep::None,
        }
    }
}

fn steady_tolerance(hz: f32) -> f32 {
    (hz * STEADY_REL).max(STEADY_MIN_HZ)
}

/// The frequency of `x` if it is one pure tone in the beep range, loud enough.
fn pure_tone(x: &[f32; WINDOW], min_power: f32) -> Option<f32> {
    let (mut r0, mut r1, mut r2) = (0f32, 0f32, 0f32);
    for n in 2..WINDOW {
        r0 += x[n] * x[n];
        r1 += x[n] * x[n - 1];
        r2 += x[n] * x[n - 2];
    }
    let power = r0 / (WINDOW - 2) as f32;
    if power < min_power || r1.abs() < f32::EPSILON * r0 {
        return None;
    }
    let cos_w = ((r2 + (r2 * r2 + 8.0 * r1 * r1).sqrt()) / (4.0 * r1)).clamp(-1.0, 1.0);
    let estimate = cos_w.acos() * SAMPLE_RATE as f32 / TAU;
    // The raw estimate may be ~50 Hz off in noise; the range is checked after refining.
    if !(LOW_HZ - 80.0..=HIGH_HZ + 80.0).contains(&estimate) {
        return None;
    }
    // The estimate wanders by ~15 Hz in noise 10 dB down, more near the ends of the range: a good
    // part of the 25 Hz main lobe. Refine it from the phase the tone gains between the two halves
    // of the window (unambiguous within ±25 Hz of the estimate), then measure there.
    let (first, second) = (goertzel(&x[..FRAME_SAMPLES], estimate), goertzel(&x[FRAME_SAMPLES..], estimate));
    let turn = (second.1 * first.0 - second.0 * first.1).atan2(second.0 * first.0 + second.1 * first.1);
    let nominal = TAU * estimate * FRAME_SAMPLES as f32 / SAMPLE_RATE as f32;
    let residual = (turn - nominal + std::f32::consts::PI).rem_euclid(TAU) - std::f32::consts::PI;
    let hz = estimate + residual * SAMPLE_RATE as f32 / (TAU * FRAME_SAMPLES as f32);
    if !(LOW_HZ..=HIGH_HZ).contains(&hz) {
        return None;
    }
    let total = x.iter().map(|v| v * v).sum::<f32>() / WINDOW as f32;
    (tone_power(x, hz) >= MIN_PURITY * total).then_some(hz)
}

/// The DFT of `x` at `hz`, up to a phase factor that depends only on `hz` and `x.len()`.
fn goertzel(x: &[f32], hz: f32) -> (f32, f32) {
    let w = TAU * hz / SAMPLE_RATE as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0f32, 0f32);
    for &v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 - w.cos() * s2, w.sin() * s2)
}

/// Power (mean square) of the sinusoid at `hz` in `x`: a sine of peak A gives A²/2.
pub(crate) fn tone_power(x: &[f32], hz: f32) -> f32 {
    let (re, im) = goertzel(x, hz);
    let n = x.len() as f32;
    2.0 * (re * re + im * im) / (n * n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Digit;
    use crate::amd::testsig::{Lcg, frames_of, noise, silence, tone, two_tones};
    use crate::tone::{dbm0_to_amplitude, dtmf_tone};
    use std::time::Duration;

    fn steps(pcm: &[i16]) -> Vec<BeepStep> {
        let mut d = BeepDetector::new(1.0);
        frames_of(pcm).map(|f| d.frame(&f)).filter(|s| *s != BeepStep::None).collect()
    }

    fn beeps(pcm: &[i16]) -> Vec<f32> {
        steps(pcm)
            .into_iter()
            .filter_map(|s| match s {
                BeepStep::Ended { frequency_hz } => Some(frequency_hz),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn tones_of_150_ms_are_found_across_the_range_even_with_noise() {
        let mut rng = Lcg(7);
        for hz in [400.0, 425.0, 650.0, 1000.0, 1400.0, 1800.0, 2000.0] {
            for ms in [150, 400, 1500] {
                for snr_db in [40.0, 10.0] {
                    let a = dbm0_to_amplitude(-15.0);
                    let mut pcm = silence(300);
                    pcm.extend(tone(hz, a, ms));
                    pcm.extend(silence(300));
                    let sigma = a / 2f32.sqrt() / 10f32.powf(snr_db / 20.0);
                    let pcm = noise(&mut rng, &pcm, sigma);
                    let found = beeps(&pcm);
                    assert_eq!(found.len(), 1, "{hz} Hz {ms} ms SNR {snr_db}: {found:?}");
                    assert!((found[0] - hz).abs() < 10.0, "{hz} Hz estimated as {}", found[0]);
                }
            }
        }
    }

    #[test]
    fn short_tones_out_of_range_tones_and_pairs_are_not_beeps() {
        let a = dbm0_to_amplitude(-12.0);
        assert!(beeps(&tone(1000.0, a, 100)).is_empty(), "100 ms");
        assert!(beeps(&tone(300.0, a, 800)).is_empty(), "300 Hz");
        assert!(beeps(&tone(2400.0, a, 800)).is_empty(), "2400 Hz");
        // Ringback (North America 440 + 480, UK 400 + 450), dial tone 350 + 440: 2 s each.
        for (f1, f2) in [(440.0, 480.0), (400.0, 450.0), (350.0, 440.0)] {
            assert!(beeps(&two_tones(f1, f2, a, a, 2000)).is_empty(), "{f1}+{f2}");
        }
        // DTMF held for 1 s, at equal levels and with the 8 dB twist a keypad may have.
        for d in [Digit::D1, Digit::D5, Digit::D9, Digit::Star, Digit::D0, Digit::Pound] {
            assert!(beeps(&dtmf_tone(d, Duration::from_secs(1), -8.0)).is_empty(), "{d:?}");
            let (lo, hi) = d.frequencies();
            let twisted = two_tones(lo, hi, a, a * 10f32.powf(-8.0 / 20.0), 1000);
            assert!(beeps(&twisted).is_empty(), "{d:?} with 8 dB twist");
        }
    }

    #[test]
    fn noise_and_silence_are_not_beeps() {
        let mut rng = Lcg(3);
        assert!(beeps(&silence(3000)).is_empty());
        let pcm = noise(&mut rng, &silence(10_000), 800.0);
        assert!(beeps(&pcm).is_empty());
    }

    #[test]
    fn a_beep_is_started_then_ended_once() {
        let a = dbm0_to_amplitude(-10.0);
        let mut pcm = tone(1000.0, a, 500);
        pcm.extend(silence(200));
        pcm.extend(tone(1000.0, a, 500));
        pcm.extend(silence(100));
        let s = steps(&pcm);
        assert_eq!(s.len(), 4, "{s:?}");
        assert!(matches!(s[0], BeepStep::Started { .. }) && matches!(s[1], BeepStep::Ended { .. }));
    }

    #[test]
    fn tone_power_of_a_sine_is_half_its_square_peak() {
        let pcm: Vec<f32> = tone(1000.0, 1000.0, 40).into_iter().map(f32::from).collect();
        let p = tone_power(&pcm, 1000.0);
        assert!((p - 500_000.0).abs() < 10_000.0, "{p}");
    }
}
