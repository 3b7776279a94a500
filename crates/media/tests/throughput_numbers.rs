//! Cost of the media engines per call, printed rather than asserted (numbers for BENCHMARKS.md).
//! Run: `cargo test -p voicebot-media --release --test throughput_numbers -- --ignored --nocapture`

use std::sync::Arc;
use std::time::{Duration, Instant};

use voicebot_media::{Codec, DtmfDetector, ReceiverConfig, RtpReceiver, RtpSender, SenderConfig};

#[test]
#[ignore = "measurement; prints numbers"]
fn sender_receiver_detector_throughput() {
    let calls = 2000;
    let seconds = 10;
    let start = Instant::now();
    let prompt: Arc<[i16]> = (0..8000 * seconds).map(|i| ((i as f32 * 0.05).sin() * 8000.0) as i16).collect();
    let mut senders: Vec<RtpSender> = (0..calls)
        .map(|_| {
            let mut s = RtpSender::new(SenderConfig::new(Codec::Pcmu), start);
            s.enqueue_shared(prompt.clone());
            s
        })
        .collect();
    let mut receivers: Vec<RtpReceiver> =
        (0..calls).map(|_| RtpReceiver::new(ReceiverConfig::default())).collect();
    let mut sent = 0u64;
    let (mut t_send, mut t_recv) = (Duration::ZERO, Duration::ZERO);
    for tick in 0..50 * seconds as u32 {
        let now = start + Duration::from_millis(20) * tick;
        for (tx, rx) in senders.iter_mut().zip(&mut receivers) {
            let t0 = Instant::now();
            let p = tx.poll_transmit(now).expect("a frame per tick");
            let t1 = Instant::now();
            rx.handle_datagram(now, &p).expect("valid");
            while rx.poll_event().is_some() {}
            let t2 = Instant::now();
            t_send += t1 - t0;
            t_recv += t2 - t1;
            sent += 1;
        }
    }
    let per = |t: Duration| t.as_nanos() as f64 / sent as f64;
    println!(
        "{calls} calls × {seconds} s: {sent} packets; sender {:.0} ns/packet, receiver (decode + events) {:.0} ns/packet",
        per(t_send),
        per(t_recv)
    );
    println!(
        "one core at 50 pps/call: sender alone ≈ {:.0} calls, sender + receiver ≈ {:.0} calls",
        1e9 / (per(t_send) * 50.0),
        1e9 / ((per(t_send) + per(t_recv)) * 50.0)
    );
    let mut det = DtmfDetector::new();
    let t0 = Instant::now();
    for chunk in prompt.chunks(160) {
        det.process(chunk);
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "in-band detector: {:.0}× real time per core ({seconds} s of audio in {:.1} ms)",
        seconds as f64 / secs,
        secs * 1e3
    );
}

/// SRTP cost per 20 ms G.711 packet (172 octets): protect on the sender, unprotect on the receiver.
#[test]
#[ignore = "measurement; prints numbers"]
fn srtp_protect_unprotect_cost() {
    use voicebot_media::{SrtpContext, SrtpProfile};
    let (key, salt) = ([7u8; 16], [9u8; 14]);
    for profile in [SrtpProfile::AesCm128HmacSha1_80, SrtpProfile::AesCm128HmacSha1_32] {
        let mut tx = SrtpContext::new(profile, &key, &salt);
        let mut rx = SrtpContext::new(profile, &key, &salt);
        let n = 200_000u32;
        let (mut t_protect, mut t_unprotect) = (Duration::ZERO, Duration::ZERO);
        for i in 0..n {
            let mut packet = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0xCA, 0xFE, 0xBA, 0xBE];
            packet[2..4].copy_from_slice(&(i as u16).to_be_bytes());
            packet.extend_from_slice(&[0x55; 160]);
            packet.reserve(10);
            let t0 = Instant::now();
            tx.protect(&mut packet).expect("protect");
            let t1 = Instant::now();
            rx.unprotect(&mut packet).expect("unprotect");
            t_protect += t1 - t0;
            t_unprotect += t1.elapsed();
        }
        let per = |t: Duration| t.as_nanos() as f64 / f64::from(n);
        println!(
            "{profile:?}: protect {:.0} ns/packet, unprotect {:.0} ns/packet (172-octet RTP)",
            per(t_protect),
            per(t_unprotect)
        );
    }
}
