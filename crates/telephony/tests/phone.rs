//! Our UAC against our virtual phone (issue 4, acceptance 5): answered call, the phone's WAV holds our
//! audio, the phone's scripted `2` is detected by RFC 4733 and in-band; plus the phone's reject and
//! ring-forever behaviours mapped to outcomes.

mod common;

use std::time::Duration;

use common::*;
use voicebot_telephony::phone::{self, PhoneConfig, Script};
use voicebot_telephony::{CallEvent, Digit, DigitSource, EndReason, Outcome};

const SCRIPT: &str = r#"{
  "default": {"answer_after_ms": 100, "press": null},
  "numbers": {
    "+2348000000002": {"reject": 486},
    "+2348000000003": {"ring_forever": true},
    "+2348000000005": {"press": "2", "press_after_ms": 500, "dtmf": "inband"},
    "+2348000000006": {"press": "2", "press_after_ms": 500, "dtmf": "rfc4733"},
    "+2348000000007": {"hangup_after_ms": 600}
  }
}"#;

async fn phone(dir: &std::path::Path) -> phone::PhoneHandle {
    let mut cfg = PhoneConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.script = Script::from_json(SCRIPT).expect("script");
    cfg.record_dir = Some(dir.to_path_buf());
    cfg.log_stdout = false;
    phone::run(cfg).await.expect("start phone")
}

/// Plays 1.5 s of tone to a number whose phone presses 2, hangs up after; checks the digit and recording.
async fn answered_call_with_digit(number: &str, want: DigitSource) {
    let dir = tempfile::tempdir().unwrap();
    let phone = phone(dir.path()).await;
    let tel = uac().await;
    let call = place(&tel, trunk(phone.local_addr()), number).await;
    let (digits, call_id) = play_until_digit(call).await;
    assert_eq!(digits, vec![(Digit::D2, want)]);
    let rec = phone.wait_records(1, CALL_LIMIT).await.expect("phone record")[0].clone();
    assert_eq!((rec.answered, rec.digits_pressed.as_str(), rec.invites), (true, "2", 1));
    assert_eq!(rec.call_id, call_id);
    let wav = rec.wav.expect("recording written");
    let pcm = voicebot_telephony::wav::read_wav(&wav).expect("read WAV");
    assert!(pcm.len() >= 8000, "only {} samples recorded", pcm.len());
    // 440 Hz at peak 8000 has RMS ≈ 5657; silence is ~0. The loudest second must be our tone.
    let loudest = pcm.chunks(8000).map(voicebot_telephony::wav::rms).fold(0.0, f64::max);
    assert!(loudest > 4000.0, "recording RMS {loudest}");
    tel.shutdown().await;
    phone.shutdown().await;
}

#[tokio::test]
async fn phone_records_our_audio_and_presses_2_inband() {
    answered_call_with_digit("+2348000000005", DigitSource::InBand).await;
}

#[tokio::test]
async fn phone_records_our_audio_and_presses_2_rfc4733() {
    answered_call_with_digit("+2348000000006", DigitSource::Rfc4733).await;
}

#[tokio::test]
async fn phone_reject_ring_forever_and_remote_hangup() {
    let dir = tempfile::tempdir().unwrap();
    let phone = phone(dir.path()).await;
    let tel = uac().await;
    let mut busy = place(&tel, trunk(phone.local_addr()), "+2348000000002").await;
    let mut t = trunk(phone.local_addr());
    t.ring_timeout = Duration::from_millis(800);
    let mut ringing = place(&tel, t, "+2348000000003").await;
    let mut theirs = place(&tel, trunk(phone.local_addr()), "+2348000000007").await;
    let busy_events = collect(&mut busy, |_, _| {}).await;
    assert_eq!(ended(&busy_events), (Outcome::Busy, 486, EndReason::Rejected));
    let ring_events = collect(&mut ringing, |_, _| {}).await;
    assert!(ring_events.contains(&CallEvent::Ringing), "{ring_events:?}");
    assert_eq!(ended(&ring_events), (Outcome::NoAnswer, 487, EndReason::RingTimeout));
    let their_events = collect(&mut theirs, |_, _| {}).await;
    assert_eq!(ended(&their_events), (Outcome::Answered, 200, EndReason::RemoteHangup));
    let records = phone.wait_records(3, CALL_LIMIT).await.expect("three records");
    assert!(records.iter().any(|r| r.rejected == Some(486)));
    assert!(records.iter().any(|r| r.end_reason == "Cancelled" && !r.answered));
    tel.shutdown().await;
    phone.shutdown().await;
}

#[tokio::test]
async fn dial_plays_a_wav_and_reports_the_phones_digit() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = PhoneConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.script = Script::from_json(
        r#"{"default": {"answer_after_ms": 50, "press": "1", "press_after_ms": 300, "dtmf": "rfc4733"}}"#,
    )
    .unwrap();
    cfg.record_dir = Some(dir.path().to_path_buf());
    cfg.log_stdout = false;
    let phone = phone::run(cfg).await.expect("phone");
    let wav = dir.path().join("prompt.wav");
    voicebot_telephony::wav::write_wav(&wav, &tone(1.0)).expect("write prompt");
    let mut dial = voicebot_telephony::dial::DialConfig::new(trunk(phone.local_addr()), "+2348000000009");
    dial.wav = Some(wav);
    dial.linger = Duration::from_millis(300);
    let report = tokio::time::timeout(CALL_LIMIT, voicebot_telephony::dial::run(dial))
        .await
        .expect("dial in time")
        .expect("dial");
    assert_eq!((report.outcome.as_str(), report.sip_code), ("ANSWERED", 200), "{report:?}");
    assert_eq!(report.digits, vec![('1', DigitSource::Rfc4733)]);
    let rec = phone.wait_records(1, CALL_LIMIT).await.expect("record")[0].clone();
    assert!(rec.heard_ms >= 900, "phone heard {} ms", rec.heard_ms);
    phone.shutdown().await;
}
