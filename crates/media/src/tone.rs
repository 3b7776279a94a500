//! In-band DTMF tone generation (our virtual phone pressing keys, and test signals).
//!
//! Levels are given in dBm0 on the G.711 scale, where 0 dBm0 is a sine of peak 22 656 in
//! 16-bit PCM (µ-law full scale is +3.17 dBm0). The detector uses the same reference.

use std::f32::consts::TAU;
use std::time::Duration;

use crate::digit::Digit;
use crate::sender::SAMPLE_RATE;

/// Peak amplitude of a 0 dBm0 sine in 16-bit PCM.
pub const DBM0_PEAK: f32 = 22_656.0;
/// Per-tone level used by default (a typical telephone keypad sends about −7 dBm0 per tone).
pub const DEFAULT_TONE_LEVEL_DBM0: f32 = -7.0;

/// Peak amplitude of a sine at `dbm0`.
pub fn dbm0_to_amplitude(dbm0: f32) -> f32 {
    DBM0_PEAK * 10f32.powf(dbm0 / 20.0)
}

/// Samples at 8 kHz in `d` (rounded down).
pub fn samples_for(d: Duration) -> usize {
    (d.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000) as usize
}

/// Two sines `low_hz` + `high_hz` with the given peak amplitudes, `len` samples, saturated
/// to 16 bits. Building block for keys, off-frequency and twist tests.
pub fn dual_tone(low_hz: f32, high_hz: f32, low_amp: f32, high_amp: f32, len: usize) -> Vec<i16> {
    let (wl, wh) = (TAU * low_hz / SAMPLE_RATE as f32, TAU * high_hz / SAMPLE_RATE as f32);
    (0..len)
        .map(|n| {
            let n = n as f32;
            let v = low_amp * (wl * n).sin() + high_amp * (wh * n).sin();
            v.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
        })
        .collect()
}

/// One key press: `on` of the digit's two tones at `level_dbm0` each.
pub fn dtmf_tone(digit: Digit, on: Duration, level_dbm0: f32) -> Vec<i16> {
    let (lo, hi) = digit.frequencies();
    let a = dbm0_to_amplitude(level_dbm0);
    dual_tone(lo, hi, a, a, samples_for(on))
}

/// Key presses separated by silence: each digit `on`, then `off` of zeros.
pub fn dtmf_sequence(digits: &[Digit], on: Duration, off: Duration, level_dbm0: f32) -> Vec<i16> {
    let mut out = Vec::new();
    for &d in digits {
        out.extend(dtmf_tone(d, on, level_dbm0));
        out.resize(out.len() + samples_for(off), 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_length_and_level() {
        let t = dtmf_tone(Digit::D1, Duration::from_millis(100), 0.0);
        assert_eq!(t.len(), 800);
        let peak = t.iter().map(|s| i32::from(*s).abs()).max().unwrap();
        // Two 0 dBm0 sines add up to at most twice the single peak.
        assert!(peak > 30_000 && peak <= 32_768, "{peak}");
        let seq = dtmf_sequence(
            &[Digit::D1, Digit::D2],
            Duration::from_millis(50),
            Duration::from_millis(50),
            -7.0,
        );
        assert_eq!(seq.len(), 1600);
        assert!(seq[400..800].iter().all(|&s| s == 0));
    }
}
