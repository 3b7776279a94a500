//! `RtpSocket::Shared` end to end on real sockets: our UAC and the virtual phone each with ONE RTP socket
//! for all calls. A call hears the phone's digit and the phone records our audio; two calls at once each
//! hear only their own peer (distinct digits): between two shared sockets every call has the same source
//! address, so the SSRC each side announces in its SDP (`a=ssrc`) keeps them apart.

mod common;

use common::*;
use voicebot_telephony::phone::{self, PhoneConfig, PhoneHandle, Script};
use voicebot_telephony::{Digit, DigitSource, RtpSocket, Telephony, TelephonyConfig};

const SCRIPT: &str = r#"{
  "default": {"answer_after_ms": 100, "press": null},
  "numbers": {
    "+2348000000003": {"press": "3", "press_after_ms": 500, "dtmf": "rfc4733"},
    "+2348000000005": {"press": "5", "press_after_ms": 500, "dtmf": "inband"},
    "+2348000000007": {"press": "7", "press_after_ms": 500, "dtmf": "rfc4733"}
  }
}"#;

async fn shared_phone(dir: &std::path::Path) -> PhoneHandle {
    let mut cfg = PhoneConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.script = Script::from_json(SCRIPT).expect("script");
    cfg.record_dir = Some(dir.to_path_buf());
    cfg.log_stdout = false;
    cfg.rtp_socket = RtpSocket::Shared;
    phone::run(cfg).await.expect("start phone")
}

async fn shared_uac() -> Telephony {
    let cfg = TelephonyConfig { rtp_socket: RtpSocket::Shared, ..TelephonyConfig::default() };
    Telephony::start(cfg).await.expect("start UAC endpoint")
}

/// The loudest second of the phone's recording of `call_id` is our 440 Hz tone.
fn assert_recorded_our_tone(records: &[phone::PhoneCallRecord], call_id: &str) {
    let rec = records.iter().find(|r| r.call_id == call_id).expect("record of the call");
    let pcm = voicebot_telephony::wav::read_wav(rec.wav.as_ref().expect("WAV")).expect("read WAV");
    assert!(pcm.len() >= 8000, "only {} samples recorded", pcm.len());
    let loudest = pcm.chunks(8000).map(voicebot_telephony::wav::rms).fold(0.0, f64::max);
    assert!(loudest > 4000.0, "recording RMS {loudest}");
}

/// Datagrams from unknown sources are only the peer's last packets after a call's stream closed (the
/// hanging-up side sends until its BYE is answered): a few per call, never a call's worth.
fn assert_only_stragglers(stats: &voicebot_telephony::ClockStats, calls: u64) {
    assert!(stats.unknown_source_dropped <= 10 * calls, "{stats:?}");
}

#[tokio::test]
async fn shared_both_ends_hears_the_phones_digit_and_the_phone_records_us() {
    let dir = tempfile::tempdir().unwrap();
    let phone = shared_phone(dir.path()).await;
    let tel = shared_uac().await;
    for (n, (number, want)) in [
        ("+2348000000003", (Digit::D3, DigitSource::Rfc4733)),
        ("+2348000000005", (Digit::D5, DigitSource::InBand)),
    ]
    .into_iter()
    .enumerate()
    {
        let call = place(&tel, trunk(phone.local_addr()), number).await;
        let (digits, call_id) = play_until_digit(call).await;
        assert_eq!(digits, vec![want], "{number}");
        let records = phone.wait_records(n + 1, CALL_LIMIT).await.expect("record");
        assert_recorded_our_tone(&records, &call_id);
    }
    let (ours, theirs) = (tel.media_stats(), phone.media_stats());
    assert!(ours.packets_received > 50 && theirs.packets_received > 50, "{ours:?} {theirs:?}");
    assert_only_stragglers(&ours, 2);
    assert_only_stragglers(&theirs, 2);
    tel.shutdown().await;
    phone.shutdown().await;
}

#[tokio::test]
async fn two_calls_at_once_on_shared_sockets_each_hear_only_their_own_peer() {
    let dir = tempfile::tempdir().unwrap();
    let phone = shared_phone(dir.path()).await;
    let tel = shared_uac().await;
    let three = place(&tel, trunk(phone.local_addr()), "+2348000000003").await;
    let seven = place(&tel, trunk(phone.local_addr()), "+2348000000007").await;
    let ((d3, id3), (d7, id7)) = tokio::join!(play_until_digit(three), play_until_digit(seven));
    assert_eq!(d3, vec![(Digit::D3, DigitSource::Rfc4733)]);
    assert_eq!(d7, vec![(Digit::D7, DigitSource::Rfc4733)]);
    let records = phone.wait_records(2, CALL_LIMIT).await.expect("two records");
    assert_recorded_our_tone(&records, &id3);
    assert_recorded_our_tone(&records, &id7);
    for r in &records {
        // ~2 s of 50 pps each; the other call's packets would double it.
        assert!((50..=160).contains(&r.rtp_packets), "{r:?}");
    }
    assert_only_stragglers(&tel.media_stats(), 2);
    assert_only_stragglers(&phone.media_stats(), 2);
    tel.shutdown().await;
    phone.shutdown().await;
}

/// Shared UAC against a per-call phone and the other way round: the modes mix.
#[tokio::test]
async fn shared_and_per_call_ends_interwork() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = PhoneConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.script = Script::from_json(SCRIPT).expect("script");
    cfg.record_dir = Some(dir.path().to_path_buf());
    cfg.log_stdout = false;
    let per_call_phone = phone::run(cfg).await.expect("phone");
    let tel = shared_uac().await;
    let call = place(&tel, trunk(per_call_phone.local_addr()), "+2348000000007").await;
    assert_eq!(play_until_digit(call).await.0, vec![(Digit::D7, DigitSource::Rfc4733)]);
    tel.shutdown().await;
    per_call_phone.shutdown().await;

    let phone = shared_phone(dir.path()).await;
    let tel = uac().await;
    let call = place(&tel, trunk(phone.local_addr()), "+2348000000003").await;
    assert_eq!(play_until_digit(call).await.0, vec![(Digit::D3, DigitSource::Rfc4733)]);
    tel.shutdown().await;
    phone.shutdown().await;
}
