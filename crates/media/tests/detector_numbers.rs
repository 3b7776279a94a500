//! Measurements of the in-band detector, printed rather than asserted (numbers for reports).
//! Run: `cargo test -p voicebot-media --release --test detector_numbers -- --ignored --nocapture`

use std::process::Command;
use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng};
use voicebot_media::tone::{dbm0_to_amplitude, dtmf_sequence, dual_tone, samples_for};
use voicebot_media::{DetectorConfig, Digit, DtmfDetector};

fn detect_with(config: &DetectorConfig, pcm: &[i16]) -> Vec<Digit> {
    let mut d = DtmfDetector::with_config(config.clone());
    d.process(pcm);
    std::iter::from_fn(|| d.poll_digit()).collect()
}

fn detect(pcm: &[i16]) -> Vec<Digit> {
    detect_with(&DetectorConfig::default(), pcm)
}

fn noise(rng: &mut StdRng, sigma: f64) -> f64 {
    let u1: f64 = rng.r#gen::<f64>().max(1e-12);
    let u2: f64 = rng.r#gen();
    sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[test]
#[ignore = "measurement; prints numbers"]
fn snr_sweep() {
    let ms = Duration::from_millis;
    let level = -10.0;
    let a = f64::from(dbm0_to_amplitude(level));
    for snr in [10.0, 6.0, 3.0, 0.0] {
        let sigma = (a * a / 10f64.powf(snr / 10.0)).sqrt();
        let (mut hit, mut extra, mut total) = (0, 0, 0);
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            let clean = dtmf_sequence(&Digit::ALL, ms(60), ms(60), level);
            let noisy: Vec<i16> = clean
                .iter()
                .map(|&s| (f64::from(s) + noise(&mut rng, sigma)).clamp(-32768.0, 32767.0) as i16)
                .collect();
            let got = detect(&noisy);
            let h = Digit::ALL.iter().filter(|d| got.contains(d)).count();
            hit += h;
            extra += got.len() - h.min(got.len());
            total += 16;
        }
        println!("SNR {snr:>4} dB, 60 ms tones/pauses: {hit}/{total} detected, {extra} extra");
    }
    let mut rng = StdRng::seed_from_u64(5);
    let pure: Vec<i16> = (0..60 * 8000).map(|_| noise(&mut rng, 3000.0) as i16).collect();
    println!("60 s white noise (σ=3000): {} false digits", detect(&pure).len());
}

#[test]
#[ignore = "measurement; prints numbers"]
fn frequency_edges() {
    let a = dbm0_to_amplitude(-10.0);
    let len = samples_for(Duration::from_millis(200));
    for digit in [Digit::D1, Digit::D5, Digit::D9, Digit::D] {
        let (lo, hi) = digit.frequencies();
        let mut line = format!("{digit} ({lo}/{hi} Hz): ");
        for (name, tone) in [("row", 0), ("col", 1)] {
            for sign in [1.0f32, -1.0] {
                let mut edge = 0.0;
                for step in 0..=40 {
                    let dev = step as f32 * 0.001;
                    let f = 1.0 + sign * dev;
                    let (l, h) = if tone == 0 { (lo * f, hi) } else { (lo, hi * f) };
                    if detect(&dual_tone(l, h, a, a, len)) != vec![digit] {
                        break;
                    }
                    edge = dev;
                }
                line += &format!("{name}{} ≤{:.1}%  ", if sign > 0.0 { '+' } else { '-' }, edge * 100.0);
            }
        }
        println!("{line}");
    }
}

#[test]
#[ignore = "measurement; prints numbers"]
fn shortest_tone_and_pause() {
    let ms = Duration::from_millis;
    let shortest = (15..60)
        .find(|&on| (0..10).all(|pre| detect_tone_after(pre * 7, on) == vec![Digit::D3]))
        .unwrap_or(0);
    let longest_rejected =
        (15..60).rev().find(|&on| (0..10).all(|pre| detect_tone_after(pre * 7, on).is_empty()));
    println!("tone always accepted from {shortest} ms; always rejected up to {longest_rejected:?} ms");
    let min_pause = (5..60)
        .find(|&off| detect(&dtmf_sequence(&[Digit::D3, Digit::D3], ms(80), ms(off), -10.0)).len() == 2)
        .unwrap_or(0);
    println!("two presses of one key separated from a {min_pause} ms pause");
}

fn detect_tone_after(pre: usize, on_ms: u64) -> Vec<Digit> {
    let mut pcm = vec![0i16; pre];
    pcm.extend(dtmf_sequence(&[Digit::D3], Duration::from_millis(on_ms), Duration::from_millis(60), -10.0));
    detect(&pcm)
}

#[test]
#[ignore = "measurement; prints numbers"]
fn speech_margin() {
    let text = "The quick brown fox jumps over the lazy dog. Please hold while we connect your call. \
        Your appointment is confirmed for Tuesday at three thirty in the afternoon. Press one to confirm.";
    let mut pcm = Vec::new();
    for voice in ["en", "en+f3", "en+f4", "en+m3", "en-us", "fr", "de", "es", "it", "pt"] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "espeak-ng -v {voice} -p 80 --stdout \"{text}\" | sox -t wav - -t raw -r 8000 -e signed -b 16 -c 1 -L -"
            ))
            .output()
            .expect("espeak-ng + sox");
        pcm.extend(out.stdout.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
    }
    println!("speech: {:.0} s, 10 voices at high pitch", pcm.len() as f64 / 8000.0);
    let base = DetectorConfig::default();
    let variants = [
        ("default", base.clone()),
        ("min_blocks 3", DetectorConfig { min_blocks: 3, ..base.clone() }),
        ("min_blocks 2", DetectorConfig { min_blocks: 2, ..base.clone() }),
        ("energy ratio 0.5", DetectorConfig { min_energy_ratio: 0.5, ..base.clone() }),
        (
            "no harmonic check",
            DetectorConfig { max_col_harmonic: 1e9, max_row_harmonic: 1e9, ..base.clone() },
        ),
        ("freq tol 5 %", DetectorConfig { frequency_tolerance: 0.05, ..base.clone() }),
        (
            "all three loosened",
            DetectorConfig {
                min_blocks: 3,
                min_energy_ratio: 0.5,
                frequency_tolerance: 0.05,
                max_col_harmonic: 1e9,
                max_row_harmonic: 1e9,
                ..base.clone()
            },
        ),
    ];
    for (name, cfg) in variants {
        println!("  {name:<20} false digits: {}", detect_with(&cfg, &pcm).len());
    }
}
