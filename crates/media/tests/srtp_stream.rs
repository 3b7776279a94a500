//! A sender and a receiver that negotiated SRTP, on a virtual clock: audio and an RFC 4733 digit
//! arrive decrypted across the sequence wrap; forged, replayed and wrongly keyed packets are
//! dropped and counted; RTCP on the RTP port is recognised before any key is used.

use std::time::{Duration, Instant};

use voicebot_media::{
    Codec, Digit, MediaEvent, ReceiveError, ReceiverConfig, RtpReceiver, RtpSender, SenderConfig,
    SrtpContext, SrtpError, SrtpProfile,
};

const KEY: [u8; 16] = [0x11; 16];
const SALT: [u8; 14] = [0x22; 14];

fn srtp(profile: SrtpProfile) -> SrtpContext {
    SrtpContext::new(profile, &KEY, &SALT)
}

/// Frames due in the next `frames` slots.
fn run(tx: &mut RtpSender, frames: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..frames {
        let now = tx.poll_timeout().expect("always due");
        while let Some(p) = tx.poll_transmit(now) {
            out.push(p);
        }
    }
    out
}

#[test]
fn audio_and_digits_cross_the_rollover_encrypted() {
    let start = Instant::now();
    let mut config = SenderConfig::new(Codec::Pcmu);
    config.initial_sequence = 65_500; // the wrap comes after 36 packets
    let mut tx = RtpSender::new(config, start);
    tx.set_srtp(Some(srtp(SrtpProfile::AesCm128HmacSha1_32)));
    let tone: Vec<i16> = (0..8000).map(|i| ((i as f32 * 0.3).sin() * 6000.0) as i16).collect();
    tx.enqueue(&tone);
    tx.send_digit(Digit::D7, Duration::from_millis(100));
    let mut rx = RtpReceiver::new(ReceiverConfig { emit_audio: true, ..ReceiverConfig::default() });
    rx.set_srtp(Some(srtp(SrtpProfile::AesCm128HmacSha1_32)));
    let mut plain_rx = RtpReceiver::new(ReceiverConfig { emit_audio: true, ..ReceiverConfig::default() });
    let (mut pcm, mut digits) = (Vec::new(), Vec::new());
    for packet in run(&mut tx, 60) {
        rx.handle_datagram(start, &packet).expect("authentic SRTP");
        let _ = plain_rx.handle_datagram(start, &packet);
        while let Some(ev) = rx.poll_event() {
            match ev {
                MediaEvent::Audio(f) => pcm.extend(f.pcm),
                MediaEvent::Digit { digit, .. } => digits.push(digit),
                _ => {}
            }
        }
    }
    assert_eq!(digits, [Digit::D7]);
    let stats = rx.stats();
    assert_eq!((stats.srtp_auth_failures, stats.srtp_replays, stats.lost), (0, 0, 0), "{stats:?}");
    // What arrived is the tone (through G.711), not ciphertext.
    let heard = &pcm[..4000];
    let err: f64 =
        heard.iter().zip(&tone).map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs()).sum::<f64>() / 4000.0;
    assert!(err < 200.0, "mean error {err}");
    // A receiver without the key decodes noise: the payload really was encrypted.
    let mut noise = Vec::new();
    while let Some(ev) = plain_rx.poll_event() {
        if let MediaEvent::Audio(f) = ev {
            noise.extend(f.pcm);
        }
    }
    let err: f64 =
        noise.iter().zip(&tone).map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs()).sum::<f64>() / 4000.0;
    assert!(err > 2000.0, "mean error without the key {err}");
}

#[test]
fn forged_replayed_and_rtcp_datagrams_are_counted_and_dropped() {
    let start = Instant::now();
    let mut tx = RtpSender::new(SenderConfig::new(Codec::Pcma), start);
    tx.set_srtp(Some(srtp(SrtpProfile::AesCm128HmacSha1_80)));
    let mut rx = RtpReceiver::new(ReceiverConfig::default());
    rx.set_srtp(Some(srtp(SrtpProfile::AesCm128HmacSha1_80)));
    let packets = run(&mut tx, 3);
    rx.handle_datagram(start, &packets[0]).expect("genuine");
    let mut forged = packets[1].clone();
    forged[30] ^= 0x40;
    let err = rx.handle_datagram(start, &forged);
    assert_eq!(err, Err(ReceiveError::Srtp(SrtpError::AuthFailed)));
    assert_eq!(rx.handle_datagram(start, &packets[0]), Err(ReceiveError::Srtp(SrtpError::Replayed)));
    let mut stranger = RtpSender::new(SenderConfig::new(Codec::Pcma), start);
    stranger.set_srtp(Some(SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &[9; 16], &SALT)));
    let theirs = run(&mut stranger, 1);
    assert!(rx.handle_datagram(start, &theirs[0]).is_err());
    let rtcp = [0x81, 201, 0, 7, 0, 0, 0, 1, 0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 0, 0, 0, 0, 0];
    assert!(rx.handle_datagram(start, &rtcp).is_err());
    rx.handle_datagram(start, &packets[1]).expect("the genuine packet after the forged one");
    let stats = rx.stats();
    assert_eq!(
        (stats.packets_received, stats.srtp_auth_failures, stats.srtp_replays, stats.rtcp),
        (2, 2, 1, 1),
        "{stats:?}"
    );
}
