//! In-band DTMF detector acceptance: all 16 digits clean and in 10 dB SNR white Gaussian noise,
//! ITU-T Q.24 frequency tolerance (±1.5 % accepted, ±3.5 % rejected), and no false digit in
//! 60+ s of espeak-ng speech.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng};
use voicebot_media::tone::{dbm0_to_amplitude, dtmf_sequence, dual_tone, samples_for};
use voicebot_media::{Digit, DtmfDetector};

fn detect(pcm: &[i16]) -> Vec<Digit> {
    let mut d = DtmfDetector::new();
    for chunk in pcm.chunks(160) {
        d.process(chunk);
    }
    std::iter::from_fn(|| d.poll_digit()).collect()
}

/// Standard normal samples by Box–Muller from a seeded RNG.
fn gaussian(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.r#gen::<f64>().max(1e-12);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Adds white Gaussian noise `snr_db` below the mean power of the tone-on parts of `pcm`.
fn add_noise(pcm: &[i16], signal_power: f64, snr_db: f64, seed: u64) -> Vec<i16> {
    let mut rng = StdRng::seed_from_u64(seed);
    let sigma = (signal_power / 10f64.powf(snr_db / 10.0)).sqrt();
    pcm.iter()
        .map(|&s| (f64::from(s) + sigma * gaussian(&mut rng)).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

#[test]
fn all_digits_clean_at_several_levels() {
    let ms = Duration::from_millis;
    for level in [-3.0, -10.0, -20.0, -25.0] {
        let pcm = dtmf_sequence(&Digit::ALL, ms(60), ms(60), level);
        assert_eq!(detect(&pcm), Digit::ALL.to_vec(), "level {level} dBm0");
    }
}

#[test]
fn all_digits_in_white_noise_at_10_db_snr() {
    let ms = Duration::from_millis;
    let level = -10.0;
    let a = f64::from(dbm0_to_amplitude(level));
    let tone_power = a * a; // two sines of peak a: 2 · a²/2
    let mut detected = 0;
    let mut extra = 0;
    let seeds = 0..10u64;
    for seed in seeds.clone() {
        let clean = dtmf_sequence(&Digit::ALL, ms(80), ms(80), level);
        let noisy = add_noise(&clean, tone_power, 10.0, seed);
        let got = detect(&noisy);
        if got == Digit::ALL.to_vec() {
            detected += 16;
        } else {
            let hits = Digit::ALL.iter().filter(|d| got.contains(d)).count();
            detected += hits;
            extra += got.len().saturating_sub(hits);
            eprintln!("seed {seed}: got {got:?}");
        }
    }
    let total = 16 * seeds.count();
    eprintln!("10 dB SNR: {detected}/{total} digits detected, {extra} extra");
    assert_eq!((detected, extra), (total, 0));
}

#[test]
fn frequency_tolerance_q24() {
    let a = dbm0_to_amplitude(-10.0);
    let len = samples_for(Duration::from_millis(200));
    for digit in Digit::ALL {
        let (lo, hi) = digit.frequencies();
        for (dl, dh) in
            [(1.015, 1.0), (0.985, 1.0), (1.0, 1.015), (1.0, 0.985), (1.015, 0.985), (0.985, 0.985)]
        {
            let got = detect(&dual_tone(lo * dl, hi * dh, a, a, len));
            assert_eq!(got, vec![digit], "{digit} at ×{dl}/×{dh} must be accepted");
        }
        for (dl, dh) in [(1.035, 1.0), (0.965, 1.0), (1.0, 1.035), (1.0, 0.965), (1.05, 1.0), (1.0, 0.94)] {
            let got = detect(&dual_tone(lo * dl, hi * dh, a, a, len));
            assert!(got.is_empty(), "{digit} at ×{dl}/×{dh} must be rejected, got {got:?}");
        }
    }
}

#[test]
fn dropout_within_a_key_press_is_bridged() {
    let mut pcm = dtmf_sequence(&[Digit::D9], Duration::from_millis(200), Duration::from_millis(60), -10.0);
    // 10 ms hole in the middle of the tone: still one key press.
    pcm[800..880].fill(0);
    assert_eq!(detect(&pcm), vec![Digit::D9]);
}

/// Renders `text` with espeak-ng and resamples it to 8 kHz PCM16 with sox.
fn espeak_8k(args: &[&str], text: &str) -> Vec<i16> {
    for tool in ["espeak-ng", "sox"] {
        let found = Command::new("which").arg(tool).output().map(|o| o.status.success()).unwrap_or(false);
        assert!(
            found,
            "`{tool}` is not installed: run `apt-get install -y espeak-ng sox` (the test script does)"
        );
    }
    let mut espeak = Command::new("espeak-ng")
        .args(args)
        .arg("--stdout")
        .arg(text)
        .stdout(Stdio::piped())
        .spawn()
        .expect("espeak-ng starts");
    let wav = espeak.stdout.take().expect("piped stdout");
    let mut sox = Command::new("sox")
        .args(["-t", "wav", "-", "-t", "raw", "-r", "8000", "-e", "signed-integer", "-b", "16", "-c", "1"])
        .args(["-L", "-"])
        .stdin(Stdio::from(wav))
        .stdout(Stdio::piped())
        .spawn()
        .expect("sox starts");
    let mut raw = Vec::new();
    sox.stdout.take().expect("piped stdout").read_to_end(&mut raw).expect("sox output");
    assert!(espeak.wait().expect("espeak-ng runs").success(), "espeak-ng failed");
    assert!(sox.wait().expect("sox runs").success(), "sox failed");
    raw.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

const SPEECH: &str = "Hello, this is an automated call from your pharmacy. Your prescription is ready for \
collection at the counter. Please press one to confirm that you will collect it today, press two to choose \
another day, or stay on the line to speak with a member of our team. Opening hours are from eight in the \
morning until nine in the evening, Monday to Saturday, and from ten until four on Sundays and public \
holidays. If you have already collected your medicine, please ignore this message. We would also like to \
remind you that your annual review is due next month. A pharmacist will check your medication, discuss any \
side effects and answer your questions. The review takes about fifteen minutes and there is no charge. To \
book an appointment, visit our website, call us during opening hours, or simply ask at the counter when you \
next come in. Thank you for choosing our pharmacy. We look forward to seeing you soon. Remember that \
repeat prescriptions can take up to three working days to prepare, so please order in good time, especially \
before weekends and bank holidays. Our delivery service is available for patients who cannot visit us in \
person. Deliveries are made on Tuesdays and Thursdays between noon and six o'clock. Goodbye.";

#[test]
fn no_false_digit_in_a_minute_of_speech() {
    let mut total = 0usize;
    let mut false_digits = Vec::new();
    let renderings: [&[&str]; 3] =
        [&["-v", "en"], &["-v", "en+f3", "-p", "70"], &["-v", "en-us", "-s", "200"]];
    for (i, args) in renderings.into_iter().enumerate() {
        let pcm = espeak_8k(args, SPEECH);
        if i == 0 {
            assert!(pcm.len() >= 60 * 8000, "speech too short: {} s", pcm.len() / 8000);
        }
        total += pcm.len();
        // Speech at a hot level as well as as rendered.
        for gain in [1.0f32, 2.5] {
            let scaled: Vec<i16> =
                pcm.iter().map(|&s| (f32::from(s) * gain).clamp(-32768.0, 32767.0) as i16).collect();
            let got = detect(&scaled);
            if !got.is_empty() {
                false_digits.push((args.join(" "), gain, got));
            }
        }
    }
    eprintln!("speech: {:.1} s analysed (×2 gains), false digits: {false_digits:?}", total as f64 / 8000.0);
    assert!(false_digits.is_empty(), "false digits in speech: {false_digits:?}");
}
