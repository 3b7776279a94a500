//! SRTP end to end on 127.0.0.1 (issue 14): our UAC against our virtual phone in both RTP socket modes,
//! the `optional` fallback to plain RTP, a `mandatory` trunk refusing sipp's plain answer, and baresip
//! (libre's SRTP, `mediaenc=srtp-mand` and best-effort `srtp`) recording our prompt while we decode
//! the tones it plays to us.

mod common;

use std::path::Path;
use std::time::Duration;

use common::baresip::{Baresip, BaresipConfig};
use common::sipp::Sipp;
use common::*;
use voicebot_media::tone::dtmf_sequence;
use voicebot_telephony::phone::{PhoneConfig, PhoneHandle};
use voicebot_telephony::{
    CallEvent, Digit, DigitSource, EndReason, Outcome, RtpSocket, SrtpPolicy, Telephony, TelephonyConfig,
};

const NUMBER: &str = "+2348000000001";

async fn phone(srtp: SrtpPolicy, rtp_socket: RtpSocket) -> PhoneHandle {
    let mut config = PhoneConfig::new("127.0.0.1:0".parse().expect("addr"));
    (config.srtp, config.rtp_socket, config.log_stdout) = (srtp, rtp_socket, false);
    let script = r#"{"default": {"answer_after_ms": 50, "press": "1", "press_after_ms": 600}}"#;
    config.script = voicebot_telephony::phone::Script::from_json(script).expect("script");
    voicebot_telephony::phone::run(config).await.expect("phone")
}

/// Our UAC and the phone both `mandatory`, per-call and shared RTP sockets: the call is SRTP both ways
/// (the phone's digit reaches us, the phone authenticated every packet of ours), nothing forged.
#[tokio::test]
async fn uac_and_phone_talk_srtp_on_both_socket_modes() {
    for mode in [RtpSocket::PerCall, RtpSocket::Shared] {
        let phone = phone(SrtpPolicy::Mandatory, mode).await;
        let tel = Telephony::start(TelephonyConfig { rtp_socket: mode, ..TelephonyConfig::default() })
            .await
            .expect("UAC");
        let mut trunk = trunk(phone.local_addr());
        trunk.srtp = SrtpPolicy::Mandatory;
        let (digits, _) = play_until_digit(place(&tel, trunk, NUMBER).await).await;
        assert_eq!(digits, [(Digit::D1, DigitSource::Rfc4733)], "{mode:?}");
        let record = phone.wait_records(1, CALL_LIMIT).await.expect("phone record").remove(0);
        assert_eq!(record.srtp.as_deref(), Some("AES_CM_128_HMAC_SHA1_80"), "{mode:?}");
        assert!(record.rtp_packets > 40, "the phone authenticated our packets: {record:?}");
        let ours = tel.media_stats();
        assert!(ours.packets_received > 20, "{mode:?}: {ours:?}");
        assert_eq!((ours.srtp_auth_failures, ours.srtp_replays_dropped), (0, 0), "{ours:?}");
        assert_eq!(record.srtp_auth_failures, 0);
        tel.shutdown().await;
        phone.shutdown().await;
    }
}

/// `optional` against a phone without SRTP: the offer's crypto lines are ignored, the call is plain RTP.
#[tokio::test]
async fn optional_trunk_falls_back_to_plain_rtp() {
    let phone = phone(SrtpPolicy::Off, RtpSocket::PerCall).await;
    let tel = uac().await;
    let mut trunk = trunk(phone.local_addr());
    trunk.srtp = SrtpPolicy::Optional;
    let (digits, _) = play_until_digit(place(&tel, trunk, NUMBER).await).await;
    assert_eq!(digits, [(Digit::D1, DigitSource::Rfc4733)]);
    let record = phone.wait_records(1, CALL_LIMIT).await.expect("record").remove(0);
    assert_eq!(record.srtp, None);
    tel.shutdown().await;
}

/// A `mandatory` trunk whose far end (sipp) answers with plain `RTP/AVP`: we ACK, send BYE, and the call
/// ends FAILED with reason `SrtpRefused`; sipp sees a complete call.
#[tokio::test]
async fn mandatory_trunk_refuses_an_answer_without_crypto() {
    let sipp = Sipp::uas("uas_we_hangup.xml", &[]);
    let tel = uac().await;
    let mut trunk = trunk(sipp.addr);
    trunk.srtp = SrtpPolicy::Mandatory;
    let mut call = place(&tel, trunk, NUMBER).await;
    let events = collect(&mut call, |_, _| {}).await;
    assert_eq!(ended(&events), (Outcome::Failed, 200, EndReason::SrtpRefused), "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, CallEvent::Answered { .. })), "{events:?}");
    let (status, logs) = sipp.finish(Duration::from_secs(20)).await;
    assert!(status.success(), "sipp failed ({status}):\n{logs}");
    tel.shutdown().await;
}

/// What baresip plays to us: silence, then the key 5 as in-band tones.
fn baresip_source(dir: &Path) -> std::path::PathBuf {
    let mut pcm = vec![0i16; 4000];
    pcm.extend(dtmf_sequence(&[Digit::D5], Duration::from_millis(300), Duration::from_millis(200), -6.0));
    pcm.extend(vec![0i16; 40_000]);
    let path = dir.join("source.wav");
    voicebot_telephony::wav::write_wav(&path, &pcm).expect("source wav");
    path
}

/// A 300 → 3000 Hz sweep: unmistakable in a cross-correlation, unlike a steady tone.
fn sweep(secs: f32) -> Vec<i16> {
    let n = (secs * 8000.0) as usize;
    let mut phase = 0f32;
    (0..n)
        .map(|i| {
            let f = 300.0 + 2700.0 * i as f32 / n as f32;
            phase += std::f32::consts::TAU * f / 8000.0;
            (phase.sin() * 9000.0) as i16
        })
        .collect()
}

/// The best normalised cross-correlation of `prompt` with `heard` (1.0: the same waveform), searched
/// around where `heard` first gets loud, over the part of the prompt the recording holds (a hang-up
/// right after our last frame leaves its last few frames unrecorded).
fn best_correlation(prompt: &[i16], heard: &[i16]) -> f64 {
    let energy = |s: &[i16]| s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>();
    let Some(onset) = heard.iter().position(|&x| x.unsigned_abs() > 2000) else { return 0.0 };
    (onset.saturating_sub(400)..onset + 400)
        .filter_map(|lag| {
            let len = prompt.len().min(heard.len().checked_sub(lag)?);
            // At least 90 % of the prompt must be in the recording.
            (len * 10 >= prompt.len() * 9).then_some((lag, len))
        })
        .map(|(lag, len)| {
            let (window, reference) = (&heard[lag..lag + len], &prompt[..len]);
            let dot: f64 = window.iter().zip(reference).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
            dot / (energy(reference) * energy(window)).sqrt().max(1.0)
        })
        .fold(0.0, f64::max)
}

/// Calls baresip through a trunk with `srtp`: plays the sweep, stays on until the sweep played and
/// baresip's key 5 was heard, hangs up. Returns baresip's recording of us.
async fn call_baresip(mediaenc: &str, srtp: SrtpPolicy, prompt: &[i16]) -> (Vec<i16>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = BaresipConfig::new(NUMBER, &baresip_source(dir.path()));
    config.mediaenc = Some(mediaenc.to_string());
    let baresip = Baresip::start(&config);
    let tel = uac().await;
    let mut trunk = trunk(baresip.addr);
    trunk.srtp = srtp;
    let mut call = place(&tel, trunk, NUMBER).await;
    let (mut played, mut digits) = (false, Vec::new());
    let audio: std::sync::Arc<[i16]> = prompt.into();
    let events = collect(&mut call, |call, ev| match ev {
        CallEvent::Answered { .. } => call.play(audio.clone()),
        CallEvent::PlaybackFinished => {
            played = true;
            if !digits.is_empty() {
                call.hangup();
            }
        }
        CallEvent::Digit { digit, source } => {
            digits.push((*digit, *source));
            if played {
                call.hangup();
            }
        }
        _ => {}
    })
    .await;
    let log = baresip.log();
    assert_eq!(ended(&events), (Outcome::Answered, 200, EndReason::LocalHangup), "{events:?}\n{log}");
    assert_eq!(digits, [(Digit::D5, DigitSource::InBand)], "baresip's tones, decrypted and decoded\n{log}");
    let Some(CallEvent::Ended { media, .. }) = events.last() else { panic!("no end") };
    assert_eq!((media.srtp_auth_failures, media.srtp_replays), (0, 0), "{media:?}");
    tel.shutdown().await;
    let wav = baresip.recording(Duration::from_secs(10)).unwrap_or_else(|| panic!("no recording:\n{log}"));
    (voicebot_telephony::wav::read_wav(&wav).expect("baresip's recording"), log)
}

/// Acceptance (issue 14, SRTP part): baresip with `mediaenc=srtp-mand` answers our `RTP/SAVP` offer; its
/// recording holds our prompt (correlation, not just size) and we decode the key it plays to us.
#[tokio::test]
async fn baresip_srtp_mandatory_records_our_prompt_and_we_hear_its_tones() {
    let prompt = sweep(2.0);
    let (heard, log) = call_baresip("srtp-mand", SrtpPolicy::Mandatory, &prompt).await;
    assert!(log.contains("SRTP is Enabled"), "baresip did not use SRTP:\n{log}");
    let corr = best_correlation(&prompt, &heard);
    assert!(corr > 0.9, "prompt correlation in baresip's recording: {corr:.3} ({} samples)", heard.len());
}

/// `optional` (RTP/AVP with crypto) against baresip's best-effort `mediaenc=srtp`: SRTP is agreed too.
#[tokio::test]
async fn baresip_best_effort_srtp_with_an_optional_trunk() {
    let prompt = sweep(1.0);
    let (heard, log) = call_baresip("srtp", SrtpPolicy::Optional, &prompt).await;
    assert!(log.contains("SRTP is Enabled"), "baresip did not use SRTP:\n{log}");
    assert!(best_correlation(&prompt, &heard) > 0.9);
}
