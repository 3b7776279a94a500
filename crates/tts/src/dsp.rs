//! Signal processing that turns any engine's or recording's samples into telephone audio:
//! channel downmix, band-limited resampling to 8 kHz, and loudness normalisation with a peak limiter.
//!
//! The resampler is a polyphase windowed-sinc filter (Kaiser window, 24 zero crossings each side, cut-off at
//! 92 % of the lower Nyquist frequency), written here rather than pulled in because it is small, has one job
//! and is tested below on tones: the passband keeps its level and anything above 4 kHz is removed before it
//! can alias. Filters are built once per rate pair and shared.
//!
//! Loudness: every clip is scaled so that its *speech* (20 ms frames above a -50 dBFS gate) sits at -20 dBFS
//! RMS, then a look-ahead limiter keeps every sample under -3 dBFS, so no voice clips and all voices play at a
//! similar level.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::pcm::{Pcm16, SAMPLE_RATE};

const ZERO_CROSSINGS: f64 = 24.0;
const ROLLOFF: f64 = 0.92;
const KAISER_BETA: f64 = 8.6;
/// Rate pairs whose reduced interpolation factor exceeds this are approximated (see [`Resampler::new`]).
const MAX_PHASES: u64 = 2_048;

/// Speech level after normalisation: -20 dBFS RMS.
pub(crate) const TARGET_RMS: f32 = 0.1;
/// Ceiling of the limiter: -3 dBFS.
const CEILING: f32 = 0.708;
/// Frames quieter than -50 dBFS are pauses and do not count towards loudness.
const GATE: f32 = 0.003_16;
/// Never amplify by more than +30 dB (a near-silent recording stays quiet rather than turning into hiss).
const MAX_GAIN: f32 = 31.6;
const FRAME: usize = 160;

/// Converts interleaved samples in [-1, 1] at any rate and channel count to normalised 8 kHz mono.
pub(crate) fn to_telephone(interleaved: &[f32], rate: u32, channels: u16) -> Pcm16 {
    let mono = downmix(interleaved, channels);
    let mut resampled = resample(&mono, rate, SAMPLE_RATE);
    normalise(&mut resampled);
    to_i16(&resampled)
}

/// Averages the channels of interleaved audio.
pub(crate) fn downmix(interleaved: &[f32], channels: u16) -> Vec<f32> {
    let n = usize::from(channels.max(1));
    if n == 1 {
        return interleaved.to_vec();
    }
    let scale = 1.0 / n as f32;
    interleaved.chunks_exact(n).map(|frame| frame.iter().sum::<f32>() * scale).collect()
}

/// Band-limited sample-rate conversion.
pub(crate) fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() || from == 0 || to == 0 {
        return input.to_vec();
    }
    Resampler::shared(from, to).process(input)
}

/// Filters built so far, by (input rate, output rate).
type FilterBank = HashMap<(u32, u32), Arc<Resampler>>;

/// A polyphase filter for one rational ratio `up / down`.
struct Resampler {
    up: usize,
    down: usize,
    /// Taps per phase (even); tap `j` of output phase `p` weighs input `base - half + 1 + j`.
    taps: usize,
    /// `up * taps` coefficients, phase-major.
    coeffs: Vec<f32>,
}

impl Resampler {
    fn shared(from: u32, to: u32) -> Arc<Resampler> {
        static CACHE: OnceLock<Mutex<FilterBank>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((from, to)).or_insert_with(|| Arc::new(Resampler::new(from, to))).clone()
    }

    /// Builds the filter. A ratio that does not reduce to at most [`MAX_PHASES`] phases (an odd input rate
    /// such as 44 101 Hz) is approximated by rounding the input rate to a multiple of 100 Hz: a speed error
    /// under 0.6 % at 8 kHz and far less at usual rates, which no listener hears.
    fn new(from: u32, to: u32) -> Resampler {
        let (mut from, to) = (u64::from(from), u64::from(to));
        if to / gcd(from, to) > MAX_PHASES {
            from = ((from + 50) / 100 * 100).max(100);
        }
        let g = gcd(from, to);
        let (up, down) = ((to / g) as usize, (from / g) as usize);
        // Cut-off as a fraction of the input rate's Nyquist frequency.
        let cutoff = ROLLOFF * (to as f64 / from as f64).min(1.0);
        let half = (ZERO_CROSSINGS / cutoff).ceil() as usize;
        let taps = 2 * half;
        let mut coeffs = Vec::with_capacity(up * taps);
        for phase in 0..up {
            let frac = phase as f64 / up as f64;
            for j in 0..taps {
                // Distance from the output instant to input sample (base - half + 1 + j).
                let t = frac + half as f64 - 1.0 - j as f64;
                coeffs.push(kernel(t, cutoff) as f32);
            }
        }
        Resampler { up, down, taps, coeffs }
    }

    fn process(&self, input: &[f32]) -> Vec<f32> {
        let out_len = input.len() * self.up / self.down;
        let half = self.taps / 2;
        // Zero padding on both sides so every window is a plain slice.
        let mut padded = vec![0.0f32; input.len() + 2 * self.taps];
        padded[self.taps..self.taps + input.len()].copy_from_slice(input);
        let mut out = Vec::with_capacity(out_len);
        for n in 0..out_len {
            let pos = n * self.down;
            let (base, phase) = (pos / self.up, pos % self.up);
            let start = base + self.taps + 1 - half;
            let window = &padded[start..start + self.taps];
            let coeffs = &self.coeffs[phase * self.taps..(phase + 1) * self.taps];
            out.push(dot(window, coeffs));
        }
        out
    }
}

/// Dot product with eight independent accumulators, which the compiler turns into SIMD lanes.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Kaiser-windowed sinc low-pass at `cutoff` (fraction of Nyquist), `t` in input samples.
fn kernel(t: f64, cutoff: f64) -> f64 {
    let u = t * cutoff; // in zero crossings
    if u.abs() >= ZERO_CROSSINGS {
        return 0.0;
    }
    let x = u / ZERO_CROSSINGS;
    let window = bessel_i0(KAISER_BETA * (1.0 - x * x).sqrt()) / bessel_i0(KAISER_BETA);
    cutoff * sinc(u) * window
}

fn sinc(u: f64) -> f64 {
    if u.abs() < 1e-12 {
        1.0
    } else {
        let x = std::f64::consts::PI * u;
        x.sin() / x
    }
}

/// Modified Bessel function of the first kind, order zero (power series).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0, 1.0, x * x / 4.0);
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// RMS of the frames above the gate, or `None` when every frame is a pause.
pub(crate) fn active_rms(samples: &[f32]) -> Option<f32> {
    let (mut energy, mut count) = (0.0f64, 0usize);
    for frame in samples.chunks(FRAME) {
        let e: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        if (e / frame.len() as f64).sqrt() as f32 > GATE {
            energy += e;
            count += frame.len();
        }
    }
    (count > 0).then(|| (energy / count as f64).sqrt() as f32)
}

/// Scales speech to [`TARGET_RMS`] and limits peaks to -3 dBFS.
pub(crate) fn normalise(samples: &mut [f32]) {
    let Some(rms) = active_rms(samples) else {
        return;
    };
    let gain = (TARGET_RMS / rms).min(MAX_GAIN);
    samples.iter_mut().for_each(|s| *s *= gain);
    limit(samples);
}

/// Look-ahead peak limiter: the gain reaches its minimum 2 ms before a peak and recovers over ~50 ms.
fn limit(samples: &mut [f32]) {
    const LOOKAHEAD: usize = 16;
    let release = 1.0 / (0.05 * SAMPLE_RATE as f32);
    let required: Vec<f32> = samples
        .iter()
        .map(|s| {
            let a = s.abs();
            if a > CEILING { CEILING / a } else { 1.0 }
        })
        .collect();
    if required.iter().all(|&g| g >= 1.0) {
        return;
    }
    let mut gain = 1.0f32;
    for i in 0..samples.len() {
        let end = (i + LOOKAHEAD).min(samples.len());
        let target = required[i..end].iter().copied().fold(1.0f32, f32::min);
        gain = if target < gain { target } else { (gain + release).min(target) };
        samples[i] *= gain;
    }
}

/// Converts [-1, 1] floats to i16, saturating one step short of full scale.
pub(crate) fn to_i16(samples: &[f32]) -> Pcm16 {
    Pcm16::new(samples.iter().map(|&s| (s * 32767.0).round().clamp(-32767.0, 32767.0) as i16).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, secs: f64, amp: f32) -> Vec<f32> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    fn rms(s: &[f32]) -> f32 {
        // Skip the filter's start-up and tail.
        let s = &s[s.len() / 10..s.len() * 9 / 10];
        (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt()
    }

    #[test]
    fn passband_keeps_level() {
        for from in [22_050, 44_100, 48_000, 16_000, 11_025] {
            let input = tone(1_000.0, from, 1.0, 0.5);
            let out = resample(&input, from, 8_000);
            let expected = input.len() * 8_000 / from as usize;
            assert_eq!(out.len(), expected, "{from}");
            let ratio_db = 20.0 * (rms(&out) / rms(&input)).log10();
            assert!(ratio_db.abs() < 0.1, "{from}: {ratio_db} dB");
        }
    }

    #[test]
    fn stopband_is_removed_not_aliased() {
        // 5 kHz at 22.05 kHz would alias to 3 kHz; 10 kHz at 44.1 kHz to 2 kHz.
        for (freq, from) in [(5_000.0, 22_050), (10_000.0, 44_100), (4_500.0, 48_000)] {
            let input = tone(freq, from, 1.0, 0.5);
            let out = resample(&input, from, 8_000);
            let ratio_db = 20.0 * (rms(&out) / rms(&input)).log10();
            assert!(ratio_db < -60.0, "{freq} Hz from {from}: {ratio_db} dB");
        }
    }

    #[test]
    fn upsampling_and_odd_rates() {
        let out = resample(&tone(1_000.0, 6_000, 1.0, 0.5), 6_000, 8_000);
        assert_eq!(out.len(), 8_000);
        assert!((rms(&out) - 0.3536).abs() < 0.01);
        let out = resample(&tone(500.0, 44_101, 1.0, 0.5), 44_101, 8_000);
        assert!((out.len() as i64 - 8_000).abs() < 10);
        assert!((rms(&out) - 0.3536).abs() < 0.01);
    }

    #[test]
    fn downmix_averages() {
        assert_eq!(downmix(&[1.0, 0.0, 0.5, 0.5], 2), vec![0.5, 0.5]);
    }

    #[test]
    fn normalise_hits_target_and_never_clips() {
        for amp in [0.01, 0.2, 1.0] {
            let mut s = tone(300.0, 8_000, 1.0, amp);
            // A click well above the speech level that the limiter must catch.
            s[4_000] = (10.0 * amp).min(1.0);
            normalise(&mut s);
            let pcm = to_i16(&s);
            assert!(pcm.peak() <= (CEILING * 32767.0) as u16 + 1, "amp {amp}");
            let level = active_rms(&s).unwrap_or(0.0);
            assert!((20.0 * (level / TARGET_RMS).log10()).abs() < 1.0, "amp {amp}: {level}");
        }
        let mut quiet = vec![0.0f32; 800];
        normalise(&mut quiet);
        assert!(quiet.iter().all(|&s| s == 0.0));
    }

    #[test]
    fn square_wave_is_limited() {
        let mut s: Vec<f32> = (0..8_000).map(|i| if i % 40 < 20 { 1.0 } else { -1.0 }).collect();
        normalise(&mut s);
        let pcm = to_i16(&s);
        assert_eq!(pcm.longest_full_scale_run(), 0);
        assert!(pcm.peak() <= (CEILING * 32767.0) as u16 + 1);
    }
}
