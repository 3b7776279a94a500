//! Sender and receiver on a virtual clock: pacing, seq/timestamp continuity, marker bits,
//! RFC 4733 send and receive (with a real sipp capture), loss/duplicate counters, lateness.

use std::time::{Duration, Instant};

use rand::{SeedableRng, rngs::StdRng};
use voicebot_media::{
    Codec, Digit, DigitSource, MediaEvent, PromptAudio, ReceiverConfig, RtpError, RtpPacket, RtpReceiver,
    RtpSender, SenderConfig, TelephoneEvent,
};

const MS20: Duration = Duration::from_millis(20);

fn sender(codec: Codec, start: Instant) -> RtpSender {
    RtpSender::new(SenderConfig::with_rng(codec, &mut StdRng::seed_from_u64(7)), start)
}

/// Runs the sender on time for `frames` slots, returning every datagram.
fn run(tx: &mut RtpSender, frames: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..frames {
        let now = tx.poll_timeout().unwrap();
        while let Some(p) = tx.poll_transmit(now) {
            out.push(p);
        }
    }
    out
}

fn parse(p: &[u8]) -> RtpPacket<'_> {
    RtpPacket::parse(p).unwrap()
}

#[test]
fn fifty_packets_per_second_with_continuous_seq_and_timestamp() {
    let start = Instant::now();
    let mut tx = sender(Codec::Pcmu, start);
    let cfg = tx.config().clone();
    assert_eq!(tx.poll_transmit(start - Duration::from_millis(1)), None);
    let pkts = run(&mut tx, 50);
    assert_eq!(pkts.len(), 50, "one second is 50 packets");
    assert_eq!(tx.poll_timeout(), Some(start + Duration::from_secs(1)));
    for (i, raw) in pkts.iter().enumerate() {
        let p = parse(raw);
        assert_eq!(p.ssrc, cfg.ssrc);
        assert_eq!(p.payload_type, 0);
        assert_eq!(p.sequence, cfg.initial_sequence.wrapping_add(i as u16));
        assert_eq!(p.timestamp, cfg.initial_timestamp.wrapping_add(160 * i as u32));
        assert_eq!(p.marker, i == 0, "marker only on the first packet");
        assert_eq!(p.payload, &[0xFF; 160][..], "comfort silence");
    }
    assert!(tx.is_idle());
    assert_eq!(tx.stats().silence_frames, 50);
    assert_eq!(tx.stats().late_max, Duration::ZERO);
}

#[test]
fn prompt_talkspurts_marker_and_barge_in() {
    let start = Instant::now();
    let mut tx = sender(Codec::Pcma, start);
    let _ = run(&mut tx, 2);
    tx.enqueue(&[1000; 400]); // 2.5 frames: last one padded with silence
    assert!(!tx.is_idle());
    assert_eq!(tx.queued_duration(), Duration::from_millis(50));
    let pkts = run(&mut tx, 4);
    let markers: Vec<bool> = pkts.iter().map(|p| parse(p).marker).collect();
    assert_eq!(markers, [true, false, false, false]);
    let third = parse(&pkts[2]);
    let mut pcm = Vec::new();
    Codec::Pcma.decode(third.payload, &mut pcm);
    assert!(pcm[..80].iter().all(|&s| (s - 1000).abs() < 40) && pcm[80..].iter().all(|&s| s == 8));
    assert!(tx.is_idle());
    // Barge-in: a long prompt cleared after two frames; the next prompt is a new talkspurt.
    tx.enqueue(&[500; 8000]);
    let _ = run(&mut tx, 2);
    tx.clear();
    assert!(tx.is_idle() && tx.queued_samples() == 0);
    let silent = run(&mut tx, 1);
    assert_eq!(parse(&silent[0]).payload, &[0xD5; 160][..]);
    tx.enqueue(&[500; 160]);
    assert!(parse(&run(&mut tx, 1)[0]).marker);
    assert_eq!(tx.stats().audio_frames, 3 + 2 + 1);
}

#[test]
fn rfc4733_send_sequence() {
    let start = Instant::now();
    let mut tx = sender(Codec::Pcmu, start);
    let cfg = tx.config().clone();
    tx.enqueue(&[200; 1600]);
    let _ = run(&mut tx, 1);
    tx.send_digit(Digit::Pound, Duration::from_millis(100));
    let pkts = run(&mut tx, 8);
    let ev: Vec<_> = pkts[..7].iter().map(|p| parse(p)).collect();
    let event_ts = cfg.initial_timestamp.wrapping_add(160);
    for (i, p) in ev.iter().enumerate() {
        assert_eq!(p.payload_type, 101);
        assert_eq!(p.timestamp, event_ts, "all event packets carry the event start timestamp");
        assert_eq!(p.sequence, cfg.initial_sequence.wrapping_add(1 + i as u16));
        assert_eq!(p.marker, i == 0);
        let e = TelephoneEvent::parse(p.payload).unwrap();
        assert_eq!(e.event, 11);
        assert_eq!(e.volume, 10);
        assert_eq!(e.duration, 160 * (i as u16 + 1).min(5));
        assert_eq!(e.end, i >= 4, "three end packets");
    }
    // Prompt resumes after the event as a new talkspurt, on the media clock.
    let after = parse(&pkts[7]);
    assert_eq!((after.payload_type, after.marker), (0, true));
    assert_eq!(after.timestamp, event_ts.wrapping_add(7 * 160));
    assert_eq!(tx.queued_samples(), 1600 - 160 - 160);
    assert_eq!(tx.stats().digits_sent, 1);
    assert_eq!(tx.stats().event_packets, 7);
}

#[test]
fn digits_round_trip_once_each_despite_duplicates_and_reordering() {
    let start = Instant::now();
    let mut tx = sender(Codec::Pcmu, start);
    let keys: Vec<Digit> = "0123456789*#ABCD55".chars().map(|c| Digit::from_char(c).unwrap()).collect();
    for &k in &keys {
        tx.send_digit(k, Duration::from_millis(60));
    }
    let mut pkts = run(&mut tx, keys.len() * 5 + 3);
    // Every packet twice, and swap some neighbours.
    pkts = pkts.into_iter().flat_map(|p| [p.clone(), p]).collect();
    for i in (0..pkts.len() - 3).step_by(7) {
        pkts.swap(i, i + 3);
    }
    let mut rx = RtpReceiver::new(ReceiverConfig::default());
    let mut got = Vec::new();
    for p in &pkts {
        rx.handle_datagram(start, p).unwrap();
        while let Some(ev) = rx.poll_event() {
            if let MediaEvent::Digit { digit, source: DigitSource::Rfc4733 { .. } } = ev {
                got.push(digit);
            }
        }
    }
    assert_eq!(got, keys);
    let st = rx.stats();
    assert_eq!(st.duplicates, pkts.len() as u64 / 2);
    assert_eq!(st.lost, 0);
    assert!(st.reordered > 0);
}

#[test]
fn sipp_capture_digit_1_is_reported_once() {
    // RTP payloads of /usr/share/sip-tester/dtmf_2833_1.pcap: the three end packets reuse one
    // sequence number there.
    let hex = [
        "80e51f30000033e00e05384e010a0000",
        "80651f31000033e00e05384e010a0140",
        "80651f32000033e00e05384e010a0280",
        "80651f33000033e00e05384e010a03c0",
        "80651f34000033e00e05384e010a0500",
        "80651f35000033e00e05384e010a0640",
        "80651f36000033e00e05384e010a0780",
        "80651f37000033e00e05384e018a08c0",
        "80651f37000033e00e05384e018a08c0",
        "80651f37000033e00e05384e018a08c0",
    ];
    let mut rx = RtpReceiver::new(ReceiverConfig::default());
    let now = Instant::now();
    for h in hex {
        let bytes: Vec<u8> =
            (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
        rx.handle_datagram(now, &bytes).unwrap();
    }
    let events: Vec<_> = std::iter::from_fn(|| rx.poll_event()).collect();
    assert_eq!(
        events,
        [MediaEvent::Digit { digit: Digit::D1, source: DigitSource::Rfc4733 { timestamp: 0x33e0 } }]
    );
    assert_eq!(rx.stats().duplicates, 2);
    assert_eq!(rx.stats().event_packets, 8);
}

#[test]
fn start_packet_lost_digit_still_reported_from_updates() {
    let start = Instant::now();
    let mut tx = sender(Codec::Pcmu, start);
    tx.send_digit(Digit::D7, Duration::from_millis(100));
    let pkts = run(&mut tx, 8);
    let mut rx = RtpReceiver::new(ReceiverConfig::default());
    for p in &pkts[1..] {
        rx.handle_datagram(start, p).unwrap();
    }
    let digits: Vec<_> =
        std::iter::from_fn(|| rx.poll_event()).filter(|e| matches!(e, MediaEvent::Digit { .. })).collect();
    assert_eq!(digits.len(), 1);
    assert_eq!(rx.stats().lost, 0, "the first packet seen starts the count");
}

#[test]
fn audio_decoded_and_losses_counted_across_wraparound() {
    let start = Instant::now();
    let mut cfg = SenderConfig::with_rng(Codec::Pcma, &mut StdRng::seed_from_u64(1));
    cfg.initial_sequence = 65530;
    let mut tx = RtpSender::new(cfg, start);
    let tone: Vec<i16> = (0..1600).map(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16).collect();
    tx.enqueue(&tone);
    let pkts = run(&mut tx, 10);
    let mut rx = RtpReceiver::new(ReceiverConfig::default());
    let mut pcm = Vec::new();
    for (i, p) in pkts.iter().enumerate() {
        if i == 3 || i == 7 {
            continue; // lost: seq 65533 and 1
        }
        let at = start + MS20 * i as u32 + Duration::from_millis(if i % 2 == 0 { 0 } else { 4 });
        rx.handle_datagram(at, p).unwrap();
        while let Some(MediaEvent::Audio(f)) = rx.poll_event() {
            assert_eq!(f.pcm.len(), 160);
            pcm.extend(f.pcm);
        }
    }
    assert_eq!(rx.stats().lost, 2);
    assert_eq!(rx.stats().audio_frames, 8);
    assert!(rx.stats().jitter_ms > 1.0 && rx.stats().jitter_ms < 4.0, "{}", rx.stats().jitter_ms);
    let expect = tone[..480].iter().chain(&tone[640..1120]).chain(&tone[1280..]);
    for (a, b) in pcm.iter().zip(expect) {
        assert!((a - b).abs() <= (b.abs() / 16).max(16));
    }
    // Unknown payload types are counted, not decoded.
    let odd = RtpPacket::new(18, 1, 2, rx.remote_ssrc().unwrap(), &[0; 20]).to_bytes().unwrap();
    rx.handle_datagram(start, &odd).unwrap();
    assert_eq!(rx.stats().unknown_payload_type, 1);
    assert!(rx.poll_event().is_none());
    // RTCP (rtcp-mux) is reported, counted apart from garbage.
    let rr = [0x80, 201, 0, 1, 0, 0, 0, 5];
    assert!(matches!(
        rx.handle_datagram(start, &rr),
        Err(voicebot_media::ReceiveError::Rtp(RtpError::Rtcp(201)))
    ));
    assert!(rx.handle_datagram(start, &[0x80, 0]).is_err());
    assert_eq!((rx.stats().rtcp, rx.stats().malformed), (1, 1));
}

#[test]
fn lateness_is_measured_and_long_stalls_skip_slots() {
    let start = Instant::now();
    let mut tx = sender(Codec::Pcmu, start);
    let cfg = tx.config().clone();
    // Driver wakes 3 ms late, then once 7 ms late.
    for late in [3, 3, 7, 3] {
        let now = tx.poll_timeout().unwrap() + Duration::from_millis(late);
        assert!(tx.poll_transmit(now).is_some());
        assert!(tx.poll_transmit(now).is_none());
    }
    assert_eq!(tx.stats().late_max, Duration::from_millis(7));
    assert_eq!(tx.stats().late_over_5ms, 1);
    assert_eq!(tx.stats().late_mean(), Duration::from_millis(4));
    // 45 ms late: catch up by bursting the two missed slots plus the current one.
    let now = tx.poll_timeout().unwrap() + Duration::from_millis(45);
    assert_eq!(std::iter::from_fn(|| tx.poll_transmit(now)).count(), 3);
    // A 1 s stall: missed slots are skipped, timestamps keep media time, seq stays continuous.
    let now = tx.poll_timeout().unwrap() + Duration::from_secs(1);
    let burst: Vec<_> = std::iter::from_fn(|| tx.poll_transmit(now)).collect();
    assert_eq!(burst.len(), 1);
    let p = parse(&burst[0]);
    assert_eq!(p.sequence, cfg.initial_sequence.wrapping_add(7));
    assert_eq!(p.timestamp, cfg.initial_timestamp.wrapping_add(160 * (7 + 50)));
    assert_eq!(tx.stats().skipped_frames, 50);
    assert_eq!(tx.poll_timeout(), Some(start + MS20 * 58));
}

#[test]
fn silence_can_be_turned_off() {
    let start = Instant::now();
    let mut cfg = SenderConfig::with_rng(Codec::Pcmu, &mut StdRng::seed_from_u64(3));
    cfg.send_silence = false;
    let mut tx = RtpSender::new(cfg, start);
    assert!(run(&mut tx, 5).is_empty());
    tx.enqueue(&[0; 320]);
    let pkts = run(&mut tx, 5);
    assert_eq!(pkts.len(), 2);
    let (a, b) = (parse(&pkts[0]), parse(&pkts[1]));
    assert!(a.marker && !b.marker);
    assert_eq!(b.sequence, a.sequence.wrapping_add(1));
    assert_eq!(b.timestamp, a.timestamp.wrapping_add(160));
}

#[test]
fn inband_digits_through_the_receiver() {
    let start = Instant::now();
    let mut tx = sender(Codec::Pcmu, start);
    let keys = [Digit::D2, Digit::Star, Digit::D2];
    tx.enqueue(&voicebot_media::tone::dtmf_sequence(
        &keys,
        Duration::from_millis(80),
        Duration::from_millis(80),
        -8.0,
    ));
    let pkts = run(&mut tx, 30);
    let mut rx =
        RtpReceiver::new(ReceiverConfig { inband_dtmf: true, emit_audio: false, ..Default::default() });
    let mut got = Vec::new();
    for p in &pkts {
        rx.handle_datagram(start, p).unwrap();
        while let Some(e) = rx.poll_event() {
            match e {
                MediaEvent::Digit { digit, source: DigitSource::InBand } => got.push(digit),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(got, keys);
}

#[test]
fn events_under_their_own_ssrc_interleaved_with_audio() {
    // Like sipp: audio from `rtp_stream` under one SSRC, the digit from a pcap under another.
    let start = Instant::now();
    let mut audio = sender(Codec::Pcmu, start);
    let mut cfg = SenderConfig::with_rng(Codec::Pcmu, &mut StdRng::seed_from_u64(99));
    cfg.send_silence = false;
    let mut dtmf = RtpSender::new(cfg, start);
    dtmf.send_digit(Digit::D1, Duration::from_millis(100));
    dtmf.send_digit(Digit::D1, Duration::from_millis(100));
    let mut rx = RtpReceiver::new(ReceiverConfig::default());
    let mut digits = 0;
    for _ in 0..20 {
        let now = audio.poll_timeout().unwrap();
        let pkts: Vec<_> = std::iter::from_fn(|| audio.poll_transmit(now))
            .chain(std::iter::from_fn(|| dtmf.poll_transmit(now)))
            .collect();
        for p in pkts {
            rx.handle_datagram(now, &p).unwrap();
        }
        digits +=
            std::iter::from_fn(|| rx.poll_event()).filter(|e| matches!(e, MediaEvent::Digit { .. })).count();
    }
    assert_eq!(digits, 2);
    assert_eq!(rx.stats().sources, 2);
    assert_eq!(rx.stats().lost, 0);
    assert_eq!(rx.remote_ssrc(), Some(audio.config().ssrc));
}

#[test]
fn sequence_jump_restarts_loss_counting() {
    let mut rx = RtpReceiver::new(ReceiverConfig::default());
    let now = Instant::now();
    for seq in [10u16, 11, 13, 40_000, 40_001, 40_003] {
        let p = RtpPacket::new(0, seq, u32::from(seq) * 160, 5, &[0xFF; 160]).to_bytes().unwrap();
        rx.handle_datagram(now, &p).unwrap();
    }
    assert_eq!(rx.stats().restarts, 1);
    assert_eq!(rx.stats().lost, 2);
}

#[test]
fn shared_prompt_segments_are_played_in_order_across_frames() {
    let start = Instant::now();
    let mut tx = sender(Codec::Pcmu, start);
    let a: std::sync::Arc<[i16]> = vec![1000i16; 100].into();
    let b: std::sync::Arc<[i16]> = vec![-1000i16; 130].into();
    tx.enqueue_shared(a.clone());
    tx.enqueue_shared(b);
    tx.enqueue_shared(a);
    tx.enqueue(&[]);
    assert_eq!(tx.queued_samples(), 330);
    let pkts = run(&mut tx, 3);
    let mut pcm = Vec::new();
    for p in &pkts {
        Codec::Pcmu.decode(parse(p).payload, &mut pcm);
    }
    let sign: Vec<i16> = pcm.iter().map(|s| s.signum()).collect();
    let mut want = vec![1; 100];
    want.extend([-1; 130]);
    want.extend([1; 100]);
    want.resize(480, 0);
    assert_eq!(sign, want);
    assert!(tx.is_idle());
    assert_eq!(tx.stats().audio_frames, 3);
}

/// A prompt held as µ-law bytes sends the same PCMU payloads as its PCM16 source, and on a PCMA
/// call decodes to within one A-law step of the source.
#[test]
fn ulaw_prompt_plays_like_its_pcm16_source_on_both_codecs() {
    let source: Vec<i16> = (0..800).map(|i| ((i as f32 * 0.07).sin() * 12_000.0) as i16).collect();
    for codec in [Codec::Pcmu, Codec::Pcma] {
        let start = Instant::now();
        let (mut linear, mut ulaw) = (sender(codec, start), sender(codec, start));
        linear.enqueue(&source);
        ulaw.enqueue_shared(PromptAudio::ulaw(&source));
        assert_eq!(ulaw.queued_samples(), source.len());
        let (a, b) = (run(&mut linear, 5), run(&mut ulaw, 5));
        assert!(ulaw.is_idle());
        let (mut pa, mut pb) = (Vec::new(), Vec::new());
        for (x, y) in a.iter().zip(&b) {
            codec.decode(parse(x).payload, &mut pa);
            codec.decode(parse(y).payload, &mut pb);
        }
        assert_eq!(pa.len(), 800);
        if codec == Codec::Pcmu {
            assert_eq!(a, b, "PCMU sends the µ-law bytes as they are");
        }
        for ((x, y), s) in pa.iter().zip(&pb).zip(&source) {
            // A-law steps are 1/16 of the magnitude at most (plus a small floor near zero).
            let step = (i32::from(*s).abs() / 16).max(64);
            assert!((i32::from(*x) - i32::from(*y)).abs() <= step, "{codec:?}: {x} vs {y} for {s}");
        }
    }
}

#[test]
fn peer_sending_both_rfc4733_and_tones_gives_each_digit_once() {
    let start = Instant::now();
    let mut tx = sender(Codec::Pcma, start);
    let mut rx =
        RtpReceiver::new(ReceiverConfig { inband_dtmf: true, emit_audio: false, ..Default::default() });
    let mut got = Vec::new();
    for digit in [Digit::D4, Digit::D4] {
        // The event first, then the same key as tones in the audio (as some gateways do).
        tx.send_digit(digit, Duration::from_millis(100));
        tx.enqueue(&voicebot_media::tone::dtmf_tone(digit, Duration::from_millis(100), -8.0));
        tx.enqueue(&[0; 800]);
        for p in run(&mut tx, 7 + 10) {
            rx.handle_datagram(start, &p).unwrap();
            while let Some(MediaEvent::Digit { digit, source }) = rx.poll_event() {
                got.push((digit, matches!(source, DigitSource::InBand)));
            }
        }
    }
    assert_eq!(got, [(Digit::D4, false), (Digit::D4, false)]);
}
