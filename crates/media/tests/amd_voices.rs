//! The answering-machine detector on real synthetic speech: espeak-ng voices (installed by
//! `scripts/test.sh`) resampled to 8 kHz by sox, mixed here with tones and noise.

use std::process::Command;
use std::time::{Duration, Instant};

use voicebot_media::tone::{dbm0_to_amplitude, dtmf_sequence, dual_tone};
use voicebot_media::{AmdConfig, AmdEvent, Digit, MachineDetector};

/// `text` spoken by espeak-ng `voice`, as 8 kHz mono PCM16 at about −18 dBm0.
fn speak(voice: &str, text: &str) -> Vec<i16> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"espeak-ng -v "$1" -s 165 --stdout "$2" | sox -t wav - -t raw -r 8000 -c 1 -e signed -b 16 - norm -18"#)
        .args(["sh", voice, text])
        .output()
        .expect("espeak-ng and sox (scripts/test.sh installs them)");
    assert!(out.status.success() && !out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

fn silence(ms: u64) -> Vec<i16> {
    vec![0; ms as usize * 8]
}

fn tone(hz: f32, ms: u64) -> Vec<i16> {
    dual_tone(hz, hz, dbm0_to_amplitude(-14.0), 0.0, ms as usize * 8)
}

/// Events with the time of each, feeding 20 ms frames in real-time order.
fn detect(pcm: &[i16]) -> Vec<AmdEvent> {
    let start = Instant::now();
    let mut d = MachineDetector::new(AmdConfig::default(), start);
    let mut events = Vec::new();
    for (i, frame) in pcm.chunks(160).enumerate() {
        d.process(start + Duration::from_millis(20 * (i as u64 + 1)), frame);
        events.extend(std::iter::from_fn(|| d.poll_event()));
    }
    events
}

fn ms(samples: usize) -> Duration {
    Duration::from_micros(samples as u64 * 125)
}

#[test]
fn a_short_hello_is_a_person_within_a_second_of_its_end() {
    for voice in ["en-us", "en-gb+f3", "en-029+m2"] {
        let hello = speak(voice, "Hello?");
        let pcm = [silence(500), hello.clone(), silence(4000)].concat();
        let events = detect(&pcm);
        let Some(AmdEvent::Human { at }) = events.first().copied() else { panic!("{voice}: {events:?}") };
        let spoke_until = ms(4000 + hello.len());
        assert!(at <= spoke_until + Duration::from_millis(1000), "{voice}: human at {at:?}");
        assert_eq!(events.len(), 1, "{voice}: {events:?}");
    }
}

#[test]
fn a_long_greeting_and_a_beep_is_a_machine_and_the_beep_end_follows_the_tone() {
    let greeting = speak(
        "en-us+f2",
        "Hi, you have reached the Okafor family. We cannot take your call right now. \
         Please leave your name and number after the tone and we will call you back.",
    );
    let before_beep = 500 * 8 + greeting.len() + 600 * 8;
    let pcm = [silence(500), greeting, silence(600), tone(1000.0, 500), silence(3000)].concat();
    let events = detect(&pcm);
    let Some(AmdEvent::Machine { at }) = events.first().copied() else { panic!("{events:?}") };
    assert!(at < Duration::from_secs(4), "machine decided at {at:?}");
    let beep_end = ms(before_beep) + Duration::from_millis(500);
    let Some(AmdEvent::BeepEnded { at, frequency_hz }) = events.last().copied() else { panic!("{events:?}") };
    assert!(at >= beep_end && at <= beep_end + Duration::from_millis(100), "beep end {at:?} vs {beep_end:?}");
    assert!((frequency_hz - 1000.0).abs() < 10.0, "{frequency_hz}");
}

#[test]
fn ringback_dtmf_and_comfort_noise_after_a_hello_are_not_beeps() {
    let hello = speak("en-us+m3", "Yes, hello?");
    let a = dbm0_to_amplitude(-16.0);
    let ringback = dual_tone(440.0, 480.0, a, a, 16_000);
    let keys = dtmf_sequence(
        &[Digit::D4, Digit::D2, Digit::Pound],
        Duration::from_millis(250),
        Duration::from_millis(80),
        -9.0,
    );
    let mut comfort_state = 1u32;
    let comfort: Vec<i16> = (0..24_000)
        .map(|_| {
            comfort_state = comfort_state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            ((comfort_state >> 16) as i16 % 64) - 32
        })
        .collect();
    let pcm = [hello, silence(1000), ringback, silence(200), keys, comfort].concat();
    let events = detect(&pcm);
    assert!(matches!(events[..], [AmdEvent::Human { .. }]), "{events:?}");
}
