//! Network bytes never panic the parsers or the receiver: random datagrams, and valid packets
//! with random bit flips and truncations (a seeded, always-on cousin of the cargo-fuzz targets).

use std::time::Instant;

use rand::{Rng, SeedableRng, rngs::StdRng};
use voicebot_media::{ReceiverConfig, RtpPacket, RtpReceiver, TelephoneEvent};

/// Parse → write → parse must give the same packet.
fn check_round_trip(bytes: &[u8]) {
    if let Ok(p) = RtpPacket::parse(bytes) {
        let again = p.to_bytes().expect("a parsed packet can be written");
        assert_eq!(RtpPacket::parse(&again).as_ref(), Ok(&p));
        assert_eq!(again.len(), p.encoded_len());
    }
}

#[test]
fn random_datagrams_never_panic() {
    let mut rng = StdRng::seed_from_u64(0xDEC0DE);
    let mut rx = RtpReceiver::new(ReceiverConfig { inband_dtmf: true, ..Default::default() });
    let now = Instant::now();
    let mut parsed = 0;
    for _ in 0..50_000 {
        let len = rng.gen_range(0..200);
        let mut buf: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        if len > 0 && rng.gen_bool(0.7) {
            // Version 2, mostly without padding/extension and with few CSRCs, so that deeper
            // paths (receiver, event parsing) run often.
            let keep = if rng.gen_bool(0.2) { 0x3F } else { 0x03 };
            buf[0] = (buf[0] & keep) | 0x80;
        }
        if len > 1 && rng.gen_bool(0.3) {
            buf[1] = (buf[1] & 0x80) | [0, 8, 101][rng.gen_range(0..3)];
        }
        parsed += usize::from(RtpPacket::parse(&buf).is_ok());
        check_round_trip(&buf);
        let _ = TelephoneEvent::parse(&buf);
        let _ = rx.handle_datagram(now, &buf);
        while rx.poll_event().is_some() {}
    }
    assert!(parsed > 10_000, "too few valid packets to exercise the receiver: {parsed}");
}

#[test]
fn mutated_valid_packets_never_panic() {
    let mut rng = StdRng::seed_from_u64(42);
    let payload = [0xD5u8; 160];
    let ext = [1, 2, 3, 4, 5, 6, 7, 8];
    let mut base = RtpPacket::new(8, 100, 1000, 0xABCD, &payload);
    base.csrcs = vec![1, 2, 3];
    base.extension = Some(voicebot_media::Extension { profile: 0xBEDE, data: &ext });
    base.padding = 4;
    let good = base.to_bytes().unwrap();
    let mut rx = RtpReceiver::new(ReceiverConfig::default());
    let now = Instant::now();
    for _ in 0..20_000 {
        let mut buf = good.clone();
        for _ in 0..rng.gen_range(1..4) {
            let i = rng.gen_range(0..buf.len());
            buf[i] ^= 1 << rng.gen_range(0..8);
        }
        buf.truncate(rng.gen_range(0..=buf.len()));
        check_round_trip(&buf);
        let _ = rx.handle_datagram(now, &buf);
        while rx.poll_event().is_some() {}
    }
}
