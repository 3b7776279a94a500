//! Test signals for the detector's unit tests: tones, noise, silence, and a speech-like signal
//! (a voiced buzz whose loudness moves like syllables), all 8 kHz PCM16.

use crate::sender::FRAME_SAMPLES;
use crate::tone::dual_tone;

/// A tiny deterministic generator (no dependency on `rand`'s algorithms for reproducibility).
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    /// Uniform in [0, 1).
    pub(crate) fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Roughly Gaussian, unit variance (sum of four uniforms).
    pub(crate) fn gauss(&mut self) -> f32 {
        ((0..4).map(|_| self.next()).sum::<f32>() - 2.0) * 3f32.sqrt()
    }
}

fn ms_to_samples(ms: u32) -> usize {
    ms as usize * 8
}

pub(crate) fn silence(ms: u32) -> Vec<i16> {
    vec![0; ms_to_samples(ms)]
}

pub(crate) fn tone(hz: f32, amplitude: f32, ms: u32) -> Vec<i16> {
    dual_tone(hz, hz, amplitude, 0.0, ms_to_samples(ms))
}

pub(crate) fn two_tones(f1: f32, f2: f32, a1: f32, a2: f32, ms: u32) -> Vec<i16> {
    dual_tone(f1, f2, a1, a2, ms_to_samples(ms))
}

/// `pcm` plus Gaussian noise of standard deviation `sigma`.
pub(crate) fn noise(rng: &mut Lcg, pcm: &[i16], sigma: f32) -> Vec<i16> {
    pcm.iter().map(|&s| (f32::from(s) + sigma * rng.gauss()).clamp(-32768.0, 32767.0) as i16).collect()
}

/// `ms` of speech-like sound: a 140 Hz pulse train through two resonances, its loudness
/// rising and falling four times a second like syllables (never quite silent inside a word).
pub(crate) fn babble(rng: &mut Lcg, ms: u32, amplitude: f32) -> Vec<i16> {
    let n = ms_to_samples(ms);
    let (mut y1, mut y2, mut z1, mut z2) = (0f32, 0f32, 0f32, 0f32);
    let resonator = |f: f32, r: f32| (2.0 * r * (std::f32::consts::TAU * f / 8000.0).cos(), -r * r);
    let (a1, b1) = resonator(500.0 + 200.0 * rng.next(), 0.97);
    let (a2, b2) = resonator(1500.0 + 400.0 * rng.next(), 0.95);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let pulse = if i % 57 == 0 { 1.0 } else { 0.0 } + 0.05 * rng.gauss();
        let y = pulse + a1 * y1 + b1 * y2;
        (y2, y1) = (y1, y);
        let z = y + a2 * z1 + b2 * z2;
        (z2, z1) = (z1, z);
        let t = i as f32 / 8000.0;
        let envelope = 0.55 + 0.45 * (std::f32::consts::TAU * 4.0 * t).sin();
        out.push(z * envelope);
    }
    let peak = out.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    out.into_iter().map(|v| (v / peak * amplitude) as i16).collect()
}

/// 20 ms frames of `pcm` as f32 (a short tail is dropped).
pub(crate) fn frames_of(pcm: &[i16]) -> impl Iterator<Item = [f32; FRAME_SAMPLES]> + '_ {
    pcm.chunks_exact(FRAME_SAMPLES).map(|c| std::array::from_fn(|i| f32::from(c[i])))
}
