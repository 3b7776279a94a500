//! The detector's rules on synthetic audio (espeak-ng voices are in `tests/amd_voices.rs`).

use super::testsig::{Lcg, babble, noise, silence, tone, two_tones};
use super::*;
use crate::Digit;
use crate::tone::{dbm0_to_amplitude, dtmf_sequence};

const SPEECH: f32 = 9000.0;

/// Feeds `pcm` in `chunk`-sample pieces at real-time pace; returns every event.
fn run_chunked(pcm: &[i16], chunk: usize) -> Vec<AmdEvent> {
    let start = Instant::now();
    let mut d = MachineDetector::new(AmdConfig::default(), start);
    let mut out = Vec::new();
    let mut fed = 0usize;
    for piece in pcm.chunks(chunk) {
        fed += piece.len();
        d.process(start + Duration::from_micros(fed as u64 * 125), piece);
        out.extend(std::iter::from_fn(|| d.poll_event()));
    }
    out
}

fn run(pcm: &[i16]) -> Vec<AmdEvent> {
    run_chunked(pcm, FRAME_SAMPLES)
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn cat(parts: &[Vec<i16>]) -> Vec<i16> {
    parts.concat()
}

#[test]
fn a_short_hello_then_silence_is_a_person_soon_after_they_stop() {
    let mut rng = Lcg(1);
    let pcm = cat(&[silence(400), babble(&mut rng, 600, SPEECH), silence(3000)]);
    let events = run(&pcm);
    let AmdEvent::Human { at } = events[0] else { panic!("{events:?}") };
    assert!(at >= ms(1000 + 800) && at <= ms(1000 + 900), "{at:?}");
    assert_eq!(events.len(), 1, "{events:?}");
}

#[test]
fn two_short_utterances_with_a_long_pause_are_a_person() {
    let mut rng = Lcg(2);
    let pcm =
        cat(&[babble(&mut rng, 500, SPEECH), silence(1200), babble(&mut rng, 1500, SPEECH), silence(2000)]);
    assert!(matches!(run(&pcm)[..], [AmdEvent::Human { .. }]));
}

#[test]
fn a_long_greeting_then_a_beep_is_a_machine_and_the_beep_end_is_reported_after_the_tone() {
    let mut rng = Lcg(3);
    let a = dbm0_to_amplitude(-12.0);
    // Greeting with short pauses between phrases, then the beep at 5.8 s for 400 ms.
    let pcm = cat(&[
        silence(300),
        babble(&mut rng, 1800, SPEECH),
        silence(300),
        babble(&mut rng, 2900, SPEECH),
        silence(500),
        tone(1000.0, a, 400),
        silence(2000),
    ]);
    let events = run(&pcm);
    let AmdEvent::Machine { at } = events[0] else { panic!("{events:?}") };
    assert!(at >= ms(300 + 2400) && at <= ms(300 + 2500), "machine at {at:?}");
    let Some(AmdEvent::BeepEnded { at, frequency_hz }) = events.last().copied() else { panic!("{events:?}") };
    assert!(at >= ms(6200) && at <= ms(6260), "beep end seen at {at:?} (tone ends at 6.2 s)");
    assert!((frequency_hz - 1000.0).abs() < 10.0);
    assert_eq!(events.len(), 2, "no greeting end before a beep that follows quickly: {events:?}");
}

#[test]
fn a_greeting_without_a_beep_ends_in_silence() {
    let mut rng = Lcg(4);
    let pcm = cat(&[babble(&mut rng, 4000, SPEECH), silence(3000)]);
    let events = run(&pcm);
    assert!(matches!(events[0], AmdEvent::Machine { .. }), "{events:?}");
    let AmdEvent::GreetingEnded { at } = events[1] else { panic!("{events:?}") };
    assert!(at >= ms(4000 + 1000) && at <= ms(4000 + 1300), "{at:?}");
}

#[test]
fn a_short_greeting_with_a_late_beep_becomes_a_machine() {
    let mut rng = Lcg(5);
    let a = dbm0_to_amplitude(-12.0);
    let pcm = cat(&[babble(&mut rng, 1200, SPEECH), silence(1000), tone(800.0, a, 300), silence(1500)]);
    let events = run(&pcm);
    assert!(
        matches!(events[..], [AmdEvent::Human { .. }, AmdEvent::Machine { .. }, AmdEvent::BeepEnded { .. }]),
        "{events:?}"
    );
}

#[test]
fn a_beep_with_no_greeting_is_a_machine() {
    let a = dbm0_to_amplitude(-12.0);
    let pcm = cat(&[silence(700), tone(1400.0, a, 250), silence(1000)]);
    let events = run(&pcm);
    assert!(matches!(events[..], [AmdEvent::Machine { .. }, AmdEvent::BeepEnded { .. }]), "{events:?}");
}

#[test]
fn silence_is_undecided_after_the_initial_silence() {
    let events = run(&silence(6000));
    assert_eq!(events, vec![AmdEvent::Undecided { at: ms(2500) }]);
}

#[test]
fn missing_audio_counts_as_silence() {
    let start = Instant::now();
    let mut d = MachineDetector::new(AmdConfig::default(), start);
    let mut events = Vec::new();
    for t in (0..4000).step_by(20) {
        d.handle_timeout(start + ms(t));
        events.extend(std::iter::from_fn(|| d.poll_event()));
    }
    assert_eq!(events, vec![AmdEvent::Undecided { at: ms(2500) }]);
    assert_eq!(d.media_time() + GAP, ms(3980), "time is filled up to the gap");
}

#[test]
fn ringback_dtmf_and_comfort_noise_after_a_person_are_not_beeps() {
    let mut rng = Lcg(6);
    let a = dbm0_to_amplitude(-15.0);
    let keys = dtmf_sequence(&[Digit::D1, Digit::D2, Digit::D3], ms(200), ms(100), -8.0);
    let comfort = noise(&mut rng, &silence(3000), 40.0);
    let pcm = cat(&[
        babble(&mut rng, 700, SPEECH),
        silence(900),
        two_tones(440.0, 480.0, a, a, 2000),
        silence(300),
        keys,
        comfort,
    ]);
    let events = run(&pcm);
    assert!(matches!(events[..], [AmdEvent::Human { .. }]), "{events:?}");
}

#[test]
fn steady_line_noise_is_not_speech() {
    let mut rng = Lcg(7);
    // Loud hiss from the answer on; a short hello in it 10 dB above.
    let quiet = noise(&mut rng, &silence(1500), 700.0);
    let mut hello = babble(&mut rng, 600, 14_000.0);
    hello = noise(&mut rng, &hello, 700.0);
    let after = noise(&mut rng, &silence(3000), 700.0);
    let events = run(&cat(&[quiet, hello, after]));
    let AmdEvent::Human { at } = events[0] else { panic!("{events:?}") };
    assert!(at <= ms(2100 + 900), "{at:?}");
}

#[test]
fn chunk_size_does_not_matter() {
    let mut rng = Lcg(8);
    let a = dbm0_to_amplitude(-12.0);
    let pcm = cat(&[babble(&mut rng, 3000, SPEECH), silence(400), tone(1200.0, a, 500), silence(500)]);
    let frames = run(&pcm);
    for chunk in [1, 77, 240, 1000] {
        assert_eq!(run_chunked(&pcm, chunk), frames, "chunk {chunk}");
    }
}

#[test]
fn the_detector_stops_listening_once_done() {
    let mut rng = Lcg(9);
    let pcm = cat(&[babble(&mut rng, 600, SPEECH), silence(6000)]);
    let start = Instant::now();
    let mut d = MachineDetector::new(AmdConfig::default(), start);
    d.process(start + ms(6600), &pcm);
    assert!(matches!(d.poll_event(), Some(AmdEvent::Human { .. })));
    assert!(d.is_finished(), "late-beep window over");
}
