//! [`Pcm16`]: the one audio type every engine, the cache and the media path agree on.
//!
//! Telephony (G.711) runs at 8 kHz mono, so everything this crate produces is converted to exactly that
//! once, here, and the rest of the system never deals with sample rates or channel layouts.

use std::fmt;
use std::time::Duration;

/// The sample rate of every [`Pcm16`]: 8 kHz, the G.711 rate.
pub const SAMPLE_RATE: u32 = 8_000;

/// 8 kHz mono signed 16-bit audio.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pcm16 {
    samples: Vec<i16>,
}

impl fmt::Debug for Pcm16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pcm16")
            .field("samples", &self.samples.len())
            .field("duration", &self.duration())
            .finish()
    }
}

impl Pcm16 {
    /// Wraps 8 kHz mono samples.
    pub fn new(samples: Vec<i16>) -> Self {
        Self { samples }
    }

    /// `ms` milliseconds of digital silence.
    pub fn silence(ms: u32) -> Self {
        Self::new(vec![0; (SAMPLE_RATE / 1000 * ms) as usize])
    }

    /// The samples, 8 000 per second.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// Takes the samples out.
    pub fn into_samples(self) -> Vec<i16> {
        self.samples
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Playing time.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// Appends another clip.
    pub fn append(&mut self, other: &Pcm16) {
        self.samples.extend_from_slice(&other.samples);
    }

    /// Root mean square over all samples, on the i16 scale (0 ..= 32768).
    pub fn rms(&self) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let sum: f64 = self.samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        (sum / self.samples.len() as f64).sqrt()
    }

    /// Largest absolute sample value.
    pub fn peak(&self) -> u16 {
        self.samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0)
    }

    /// Longest run of consecutive samples at full scale (|s| ≥ 32767): a sign of clipping.
    pub fn longest_full_scale_run(&self) -> usize {
        let (mut best, mut run) = (0, 0);
        for s in &self.samples {
            if s.unsigned_abs() >= i16::MAX as u16 {
                run += 1;
                best = best.max(run);
            } else {
                run = 0;
            }
        }
        best
    }

    /// The samples without leading and trailing near-silence (below about -50 dBFS), keeping
    /// `margin_ms` of the quiet edge on each side.
    pub fn trimmed(&self, margin_ms: u32) -> Pcm16 {
        self.trimmed_edges(margin_ms, margin_ms)
    }

    /// As [`Pcm16::trimmed`], keeping `lead_ms` of quiet before the sound and `tail_ms` after.
    pub fn trimmed_edges(&self, lead_ms: u32, tail_ms: u32) -> Pcm16 {
        const FLOOR: u16 = 100;
        let ms = |n: u32| (SAMPLE_RATE / 1000 * n) as usize;
        let loud = |s: &i16| s.unsigned_abs() > FLOOR;
        let Some(first) = self.samples.iter().position(loud) else {
            return Pcm16::default();
        };
        let last = self.samples.iter().rposition(loud).unwrap_or(first);
        let start = first.saturating_sub(ms(lead_ms));
        let end = (last + 1 + ms(tail_ms)).min(self.samples.len());
        Pcm16::new(self.samples[start..end].to_vec())
    }

    /// A canonical 44-byte-header WAV file (PCM, 8 kHz, mono, 16 bit).
    pub fn to_wav(&self) -> Vec<u8> {
        let data_len = (self.samples.len() * 2) as u32;
        let mut out = Vec::with_capacity(44 + data_len as usize);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // PCM
        out.extend_from_slice(&1u16.to_le_bytes()); // mono
        out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
        out.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes()); // block align
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// Reads back exactly what [`Pcm16::to_wav`] writes; `None` for anything else.
    ///
    /// This is the fast path for cache files; use [`crate::decode_audio`] for arbitrary audio.
    pub fn from_canonical_wav(bytes: &[u8]) -> Option<Pcm16> {
        let header = bytes.get(..44)?;
        let expected = Pcm16::default().to_wav();
        let same_format = header[..4] == expected[..4] && header[8..40] == expected[8..40];
        let data_len = u32::from_le_bytes(header[40..44].try_into().ok()?) as usize;
        if !same_format || bytes.len() != 44 + data_len || !data_len.is_multiple_of(2) {
            return None;
        }
        let samples = bytes[44..].chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
        Some(Pcm16::new(samples))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_round_trip() {
        let pcm = Pcm16::new(vec![0, 1, -1, i16::MAX, i16::MIN, 1234]);
        let wav = pcm.to_wav();
        assert_eq!(wav.len(), 44 + 12);
        assert_eq!(Pcm16::from_canonical_wav(&wav), Some(pcm));
        assert_eq!(Pcm16::from_canonical_wav(&wav[..50]), None);
    }

    #[test]
    fn measures() {
        let pcm = Pcm16::new(vec![i16::MAX, i16::MAX, 0, i16::MIN, i16::MIN, i16::MIN]);
        assert_eq!(pcm.longest_full_scale_run(), 3);
        assert_eq!(pcm.peak(), 32768);
        assert_eq!(Pcm16::silence(250).len(), 2000);
        assert_eq!(Pcm16::silence(250).duration(), Duration::from_millis(250));
    }

    #[test]
    fn trims_quiet_edges() {
        let mut s = vec![0i16; 800];
        s.extend(std::iter::repeat_n(5000, 80));
        s.extend(vec![3; 800]);
        let t = Pcm16::new(s).trimmed(10);
        assert_eq!(t.len(), 80 + 2 * 80);
        assert!(Pcm16::silence(10).trimmed(10).is_empty());
        let mut s = vec![0i16; 800];
        s.extend(std::iter::repeat_n(5000, 80));
        s.extend(vec![3; 800]);
        let t = Pcm16::new(s).trimmed_edges(5, 20);
        assert_eq!(t.len(), 40 + 80 + 160);
        assert_eq!(t.samples()[40], 5000, "sound starts after 5 ms");
    }
}
