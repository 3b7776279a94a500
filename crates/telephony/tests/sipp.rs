//! Our UAC against sipp, an independent SIP implementation (issue 4, acceptance 1–3): answered calls with
//! RTP both ways and an RFC 4733 digit, both hang-up directions, the outcome mapping of final responses and
//! of a ring timeout, a 407 digest challenge, a dropped first INVITE (Timer A) and no answer at all (Timer
//! B, the one real-time ~32 s test), and one answered call with our RTP on the endpoint's shared socket.
//! Every sipp run must also end successfully on its side.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::sipp::{Sipp, free_port};
use common::*;
use md5::{Digest, Md5};
use tokio::net::UdpSocket;
use voicebot_telephony::{
    CallEvent, Digit, DigitSource, EndReason, MediaSummary, Outcome, RtpSocket, Telephony, TelephonyConfig,
};

const NUMBER: &str = "+2348000000001";

/// What an answered call against sipp showed.
struct Answered {
    digits: Vec<(Digit, DigitSource)>,
    talk: Duration,
    end: (Outcome, u16, EndReason),
    media: MediaSummary,
    packets_sent: u64,
}

/// Places a call to `sipp`, plays a tone once answered, hangs up `hangup_after` the answer (if `Some`).
async fn answered_call(sipp: &Sipp, hangup_after: Option<Duration>) -> Answered {
    answered_call_on(sipp, hangup_after, RtpSocket::PerCall).await
}

/// [`answered_call`] with our RTP on its own socket or on the endpoint's shared one.
async fn answered_call_on(sipp: &Sipp, hangup_after: Option<Duration>, rtp_socket: RtpSocket) -> Answered {
    let tel = Telephony::start(TelephonyConfig { rtp_socket, ..TelephonyConfig::default() })
        .await
        .expect("start UAC endpoint");
    let mut call = place(&tel, trunk(sipp.addr), NUMBER).await;
    let (mut answered_at, mut hangup_at, mut digits) = (None, None, Vec::new());
    let limit = tokio::time::Instant::now() + CALL_LIMIT;
    let far = limit + Duration::from_secs(1);
    let (end, media) = loop {
        tokio::select! {
            ev = call.next_event() => match ev {
                Some(CallEvent::Answered { .. }) => {
                    answered_at = Some(Instant::now());
                    hangup_at = hangup_after.map(|d| tokio::time::Instant::now() + d);
                    call.play(tone(10.0));
                }
                Some(CallEvent::Digit { digit, source }) => digits.push((digit, source)),
                Some(CallEvent::Ended { outcome, sip_code, reason, media }) => break ((outcome, sip_code, reason), media),
                Some(_) => {}
                None => panic!("event stream closed before Ended"),
            },
            _ = tokio::time::sleep_until(hangup_at.unwrap_or(far)), if hangup_at.is_some() => {
                hangup_at = None;
                call.hangup();
            }
            _ = tokio::time::sleep_until(limit) => panic!("call did not end within {CALL_LIMIT:?}"),
        }
    };
    let talk = answered_at.map(|t| t.elapsed()).unwrap_or_default();
    let packets_sent = tel.media_stats().packets_sent;
    tel.shutdown().await;
    Answered { digits, talk, end, media, packets_sent }
}

async fn assert_sipp_ok(sipp: Sipp) {
    let (status, logs) = sipp.finish(Duration::from_secs(20)).await;
    assert!(status.success(), "sipp failed ({status}):\n{logs}");
}

/// 50 pps both ways: sipp echoes every packet it receives (`-rtp_echo`), so the echoed audio frames we
/// count over the talk time are sipp's receive rate of our stream.
fn assert_rtp_rate(a: &Answered) {
    let secs = a.talk.as_secs_f64();
    let echoed = a.media.audio_frames as f64 / secs;
    let sent = a.packets_sent as f64 / secs;
    assert!((40.0..=56.0).contains(&echoed), "sipp echoed {echoed:.1} pps over {secs:.2} s: {:?}", a.media);
    assert!((40.0..=56.0).contains(&sent), "we sent {sent:.1} pps over {secs:.2} s");
}

#[tokio::test]
async fn sipp_answers_hears_our_rtp_sends_digit_1_and_we_hang_up() {
    let sipp = Sipp::uas("uas_we_hangup.xml", &[]);
    let a = answered_call(&sipp, Some(Duration::from_secs(3))).await;
    assert_eq!(a.end, (Outcome::Answered, 200, EndReason::LocalHangup));
    assert_eq!(a.digits, vec![(Digit::D1, DigitSource::Rfc4733)]);
    assert_rtp_rate(&a);
    assert_sipp_ok(sipp).await;
}

/// Shared RTP socket against an independent peer: sipp sends (echo and the digit's pcap) from the media
/// port its SDP names, so routing by source address finds the call.
#[tokio::test]
async fn shared_rtp_socket_against_sipp_hears_echo_and_digit_1() {
    let sipp = Sipp::uas("uas_we_hangup.xml", &[]);
    let a = answered_call_on(&sipp, Some(Duration::from_secs(3)), RtpSocket::Shared).await;
    assert_eq!(a.end, (Outcome::Answered, 200, EndReason::LocalHangup));
    assert_eq!(a.digits, vec![(Digit::D1, DigitSource::Rfc4733)]);
    assert_rtp_rate(&a);
    assert_sipp_ok(sipp).await;
}

#[tokio::test]
async fn sipp_answers_sends_digit_1_and_hangs_up() {
    let sipp = Sipp::uas_on_port("uas_they_hangup.xml", free_port(false), &[("hold", "2500")], &[]);
    let a = answered_call(&sipp, None).await;
    assert_eq!(a.end, (Outcome::Answered, 200, EndReason::RemoteHangup));
    assert_eq!(a.digits, vec![(Digit::D1, DigitSource::Rfc4733)]);
    assert_rtp_rate(&a);
    assert_sipp_ok(sipp).await;
}

#[tokio::test]
async fn final_responses_map_to_outcomes() {
    let cases = [
        (486, Outcome::Busy),
        (480, Outcome::NoAnswer),
        (603, Outcome::Rejected),
        (404, Outcome::InvalidNumber),
        (503, Outcome::Failed),
    ];
    let tel = uac().await;
    let mut running = Vec::new();
    for (code, outcome) in cases {
        let sipp = Sipp::uas_on_port("uas_reject.xml", free_port(false), &[("code", &code.to_string())], &[]);
        let call = place(&tel, trunk(sipp.addr), NUMBER).await;
        running.push((code, outcome, sipp, call));
    }
    for (code, outcome, sipp, mut call) in running {
        let events = collect(&mut call, |_, _| {}).await;
        assert_eq!(ended(&events), (outcome, code, EndReason::Rejected), "{code}: {events:?}");
        assert!(events.contains(&CallEvent::Ringing), "{code}: {events:?}");
        assert_sipp_ok(sipp).await;
    }
    tel.shutdown().await;
}

#[tokio::test]
async fn never_answered_is_cancelled_at_ring_timeout() {
    let sipp = Sipp::uas("uas_never_answer.xml", &[]);
    let tel = uac().await;
    let mut t = trunk(sipp.addr);
    t.ring_timeout = Duration::from_millis(1500);
    let started = Instant::now();
    let mut call = place(&tel, t, NUMBER).await;
    let events = collect(&mut call, |_, _| {}).await;
    assert_eq!(ended(&events), (Outcome::NoAnswer, 487, EndReason::RingTimeout), "{events:?}");
    assert!(started.elapsed() >= Duration::from_millis(1400), "ended too early: {:?}", started.elapsed());
    assert_sipp_ok(sipp).await;
    tel.shutdown().await;
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

#[tokio::test]
async fn proxy_407_is_answered_with_digest_and_call_proceeds() {
    // The expected response is computed here, independently of our digest code (RFC 2617 without qop).
    let port_probe = free_port(false);
    let uri = format!("sip:{NUMBER}@127.0.0.1:{port_probe}");
    let ha1 = md5_hex("alice:voicebot.test:s3cret");
    let ha2 = md5_hex(&format!("INVITE:{uri}"));
    let expected = md5_hex(&format!("{ha1}:f1xedn0nce4test:{ha2}"));
    let sipp = Sipp::uas_on_port("uas_auth407.xml", port_probe, &[("expected", &expected)], &[]);
    let tel = uac().await;
    let mut t = trunk(sipp.addr);
    t.username = Some("alice".into());
    t.password = Some("s3cret".into());
    let mut call = place(&tel, t, NUMBER).await;
    let events = collect(&mut call, |call, ev| {
        if matches!(ev, CallEvent::Answered { .. }) {
            call.hangup();
        }
    })
    .await;
    assert_eq!(ended(&events), (Outcome::Answered, 200, EndReason::LocalHangup), "{events:?}");
    assert_sipp_ok(sipp).await;
    tel.shutdown().await;
}

/// A UDP relay in front of sipp that drops the first datagram from us (our first INVITE).
async fn dropping_proxy(sipp: std::net::SocketAddr) -> (std::net::SocketAddr, Arc<AtomicU32>) {
    let front = UdpSocket::bind("127.0.0.1:0").await.expect("bind front");
    let back = UdpSocket::bind("127.0.0.1:0").await.expect("bind back");
    let addr = front.local_addr().expect("addr");
    let from_us = Arc::new(AtomicU32::new(0));
    let counter = from_us.clone();
    tokio::spawn(async move {
        let (mut a, mut b) = (vec![0u8; 65_535], vec![0u8; 65_535]);
        let mut client = None;
        loop {
            tokio::select! {
                Ok((n, from)) = front.recv_from(&mut a) => {
                    client = Some(from);
                    if counter.fetch_add(1, Ordering::SeqCst) > 0 {
                        let _ = back.send_to(&a[..n], sipp).await;
                    }
                }
                Ok((n, _)) = back.recv_from(&mut b) => {
                    if let Some(c) = client {
                        let _ = front.send_to(&b[..n], c).await;
                    }
                }
            }
        }
    });
    (addr, from_us)
}

#[tokio::test]
async fn first_invite_dropped_timer_a_resends_and_call_completes() {
    let sipp = Sipp::uas("uas_we_hangup.xml", &[]);
    let (proxy, from_us) = dropping_proxy(sipp.addr).await;
    let tel = uac().await;
    let started = Instant::now();
    let mut call = place(&tel, trunk(proxy), NUMBER).await;
    let mut answer_after = None;
    let events = collect(&mut call, |call, ev| {
        if matches!(ev, CallEvent::Answered { .. }) {
            answer_after = Some(started.elapsed());
            call.hangup();
        }
    })
    .await;
    assert_eq!(ended(&events), (Outcome::Answered, 200, EndReason::LocalHangup), "{events:?}");
    let waited = answer_after.expect("answered");
    assert!(waited >= Duration::from_millis(450), "answered after {waited:?}: no Timer A wait?");
    assert!(from_us.load(Ordering::SeqCst) >= 2, "the INVITE was not retransmitted");
    assert_sipp_ok(sipp).await;
    tel.shutdown().await;
}

/// The one real-time Timer B test: nobody answers, the call fails with a synthesized 408 after 64·T1 = 32 s.
#[tokio::test]
async fn no_response_at_all_timer_b_fails_after_32_s() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = silent.local_addr().expect("addr");
    let invites = Arc::new(AtomicU32::new(0));
    let counter = invites.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        while let Ok((n, _)) = silent.recv_from(&mut buf).await {
            if buf[..n].starts_with(b"INVITE ") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let tel = uac().await;
    let mut t = trunk(addr);
    t.ring_timeout = Duration::from_secs(120);
    let started = Instant::now();
    let mut call = place(&tel, t, NUMBER).await;
    let events = tokio::time::timeout(Duration::from_secs(60), async {
        let mut all = Vec::new();
        while let Some(ev) = call.next_event().await {
            all.push(ev);
        }
        all
    })
    .await
    .expect("Timer B did not fire within 60 s");
    let took = started.elapsed();
    assert_eq!(ended(&events), (Outcome::Failed, 408, EndReason::Timeout), "{events:?}");
    assert!((Duration::from_secs(31)..Duration::from_secs(45)).contains(&took), "ended after {took:?}");
    // Timer A: sent at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s.
    let n = invites.load(Ordering::SeqCst);
    assert!((6..=7).contains(&n), "{n} INVITEs sent");
    tel.shutdown().await;
}
