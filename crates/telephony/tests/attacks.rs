//! Issue 20's network findings replayed against the real endpoint and virtual phone on 127.0.0.1, each
//! shown closed: header injection through call request values, RFC 4733 key presses forged by a stranger
//! spraying our RTP ports, and a dialog hijacked with a known Call-ID (re-INVITE moving our RTP, BYE ending
//! the call) — on our UAC and on the phone (UAS).

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use tokio::net::UdpSocket;
use voicebot_media::{Codec, RtpSender, SenderConfig};
use voicebot_sip::{Message, parse};
use voicebot_telephony::phone::{self, PhoneConfig, PhoneHandle, Script};
use voicebot_telephony::{
    CallEvent, CallRequest, Digit, EndReason, Outcome, RtpSocket, Telephony, TelephonyConfig, new_call_id,
};

const SCRIPT: &str = r#"{
  "default": {"answer_after_ms": 100, "press": null},
  "numbers": {"+2348000000009": {"hangup_after_ms": 2500}}
}"#;

async fn quiet_phone() -> PhoneHandle {
    let mut cfg = PhoneConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.script = Script::from_json(SCRIPT).expect("script");
    cfg.log_stdout = false;
    phone::run(cfg).await.expect("start phone")
}

/// CR/LF/NUL (or URI delimiters) in any value of a call request — caller id, number, trunk host, digest
/// username — refuse the call before anything is sent: the phone never sees an INVITE.
#[tokio::test]
async fn injected_values_refuse_the_call_and_send_nothing() {
    let phone = quiet_phone().await;
    let tel = uac().await;
    let base = trunk(phone.local_addr());
    let mut cases = Vec::new();
    let mut t = base.clone();
    t.caller_id = "+2341000000000\r\nP-Asserted-Identity: <sip:+19005550100@evil.example>".into();
    cases.push(("caller id CRLF", t, "+2348000000001"));
    let mut t = base.clone();
    t.caller_id = "+2341000000000\0".into();
    cases.push(("caller id NUL", t, "+2348000000001"));
    cases.push(("number CRLF", base.clone(), "+2348000000001\r\nVia: SIP/2.0/UDP 203.0.113.9"));
    cases.push(("number with a host", base.clone(), "+2348000000001@evil.example"));
    cases.push(("number with URI params", base.clone(), "+2348000000001;maddr=203.0.113.9"));
    let mut t = base.clone();
    t.host = Some("127.0.0.1\r\nRoute: <sip:203.0.113.9>".into());
    cases.push(("trunk host CRLF", t, "+2348000000001"));
    let mut t = base.clone();
    (t.username, t.password) = (Some("user\r\nX-Evil: 1".into()), Some("pw".into()));
    cases.push(("username CRLF", t, "+2348000000001"));
    for (what, trunk, number) in cases {
        let placed = tel.place_call(CallRequest::new(new_call_id(), number, trunk)).await;
        assert!(placed.is_err(), "{what}: the call was placed");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(phone.invites_seen(), vec![], "the phone received INVITEs");
    assert_eq!(tel.active_calls(), 0);
    tel.shutdown().await;
    phone.shutdown().await;
}

/// Even RTP ports `lo..=lo+6`, all free now.
fn free_rtp_range() -> std::ops::RangeInclusive<u16> {
    for _ in 0..200 {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let lo = probe.local_addr().expect("addr").port() & !1;
        drop(probe);
        if lo < 60_000 && (0..4).all(|k| std::net::UdpSocket::bind(("127.0.0.1", lo + 2 * k)).is_ok()) {
            return lo..=lo + 7;
        }
    }
    panic!("no free RTP port range");
}

/// Sends a fresh RFC 4733 key press `9` (new SSRC and timestamp each round) to every port of `ports`
/// every 100 ms until `until`.
async fn spray_digits(ports: std::ops::RangeInclusive<u16>, until: Instant) {
    let stranger = UdpSocket::bind("127.0.0.1:0").await.expect("bind stranger");
    while Instant::now() < until {
        let start = Instant::now();
        let mut far = RtpSender::new(SenderConfig::new(Codec::Pcmu), start);
        far.send_digit(Digit::D9, Duration::from_millis(60));
        let mut packets = Vec::new();
        for k in 0..6u32 {
            while let Some(p) = far.poll_transmit(start + Duration::from_millis(20) * k) {
                packets.push(p);
            }
        }
        for port in ports.clone().step_by(2) {
            for p in &packets {
                let _ = stranger.send_to(p, ("127.0.0.1", port)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A stranger sprays RFC 4733 presses at all our RTP ports during an answered call: none is taken as the
/// callee's key, and the dropped datagrams are counted.
async fn sprayed_digits_are_not_heard(rtp_socket: RtpSocket) {
    let phone = quiet_phone().await;
    let ports = free_rtp_range();
    let cfg = TelephonyConfig { rtp_ports: Some(ports.clone()), rtp_socket, ..TelephonyConfig::default() };
    let tel = Telephony::start(cfg).await.expect("start UAC endpoint");
    let spray = tokio::spawn(spray_digits(ports, Instant::now() + Duration::from_secs(4)));
    let mut call = place(&tel, trunk(phone.local_addr()), "+2348000000009").await;
    let events = collect(&mut call, |call, ev| {
        if matches!(ev, CallEvent::Answered { .. }) {
            call.play(tone(2.0));
        }
    })
    .await;
    spray.abort();
    assert_eq!(ended(&events), (Outcome::Answered, 200, EndReason::RemoteHangup), "{events:?}");
    let digits: Vec<_> = events.iter().filter(|e| matches!(e, CallEvent::Digit { .. })).collect();
    assert!(digits.is_empty(), "forged key presses taken as the callee's: {digits:?}");
    let stats = tel.media_stats();
    assert!(stats.unknown_source_dropped > 0, "the stranger's datagrams were not counted: {stats:?}");
    tel.shutdown().await;
    phone.shutdown().await;
}

#[tokio::test]
async fn sprayed_rfc4733_is_not_a_key_press_per_call_sockets() {
    sprayed_digits_are_not_heard(RtpSocket::PerCall).await;
}

#[tokio::test]
async fn sprayed_rfc4733_is_not_a_key_press_shared_socket() {
    sprayed_digits_are_not_heard(RtpSocket::Shared).await;
}

/// A trunk in front of the phone that shows everything it relays, as an on-path observer would see it.
struct Relay {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

async fn relay(to: SocketAddr) -> Relay {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind relay");
    let addr = socket.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        let mut client = None;
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            log.lock().unwrap().push(buf[..n].to_vec());
            let dest = if from == to { client } else { Some(to) };
            if from != to {
                client = Some(from);
            }
            if let Some(dest) = dest {
                let _ = socket.send_to(&buf[..n], dest).await;
            }
        }
    });
    Relay { addr, seen }
}

/// What the observer learned from the relayed 200 OK: Call-ID, our From (with our tag) and the phone's To
/// (with its tag).
fn sniffed_dialog(relay: &Relay) -> (String, String, String) {
    let seen = relay.seen.lock().unwrap();
    seen.iter()
        .find_map(|d| match parse(d) {
            Ok(Message::Response(r)) if r.status == 200 && r.headers.get("CSeq")?.ends_with("INVITE") => {
                let h = &r.headers;
                Some((h.get("Call-ID")?.into(), h.get("From")?.into(), h.get("To")?.into()))
            }
            _ => None,
        })
        .expect("the relay saw the 200 OK")
}

/// A request inside the sniffed dialog, as the far end would send it (From = the phone, To = us).
fn forged(
    method: &str,
    target: SocketAddr,
    stranger: SocketAddr,
    dialog: &(String, String, String),
    cseq: u32,
    sdp: &str,
) -> Vec<u8> {
    let (call_id, ours, theirs) = dialog;
    format!(
        "{method} sip:voicebot@{target} SIP/2.0\r\nVia: SIP/2.0/UDP {stranger};branch=z9hG4bKforged{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: {theirs}\r\nTo: {ours}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
         Contact: <sip:evil@{stranger}>\r\n{}Content-Length: {}\r\n\r\n{sdp}",
        if sdp.is_empty() { "" } else { "Content-Type: application/sdp\r\n" },
        sdp.len()
    )
    .into_bytes()
}

/// Waits up to `wait` for a datagram on `socket`.
async fn received(socket: &UdpSocket, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65_535];
    let got = tokio::time::timeout(wait, socket.recv_from(&mut buf)).await.ok()?.ok()?;
    Some(buf[..got.0].to_vec())
}

/// A stranger who sniffed the Call-ID and both tags sends our UAC a re-INVITE moving the media to itself,
/// then a BYE, from its own address: neither is answered, our RTP does not move, the call goes on until
/// we hang up.
#[tokio::test]
async fn forged_reinvite_and_bye_do_not_move_or_end_our_call() {
    let phone = quiet_phone().await;
    let trunk_relay = relay(phone.local_addr()).await;
    let tel = uac().await;
    let mut call = place(&tel, trunk(trunk_relay.addr), "+2348000000001").await;
    loop {
        match tokio::time::timeout(CALL_LIMIT, call.next_event()).await.expect("answer in time") {
            Some(CallEvent::Answered { .. }) => break,
            Some(CallEvent::Ended { .. }) | None => panic!("ended before the answer"),
            _ => {}
        }
    }
    call.play(tone(10.0));
    let dialog = sniffed_dialog(&trunk_relay);
    let sip = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let rtp = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let (stranger, media) = (sip.local_addr().unwrap(), rtp.local_addr().unwrap());
    let sdp = format!(
        "v=0\r\no=evil 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
        media.port()
    );
    sip.send_to(&forged("INVITE", tel.local_addr(), stranger, &dialog, 100, &sdp), tel.local_addr())
        .await
        .expect("send re-INVITE");
    if let Some(answer) = received(&sip, Duration::from_secs(1)).await {
        panic!("the forged re-INVITE was answered: {}", String::from_utf8_lossy(&answer));
    }
    assert_eq!(received(&rtp, Duration::from_millis(500)).await, None, "our RTP moved to the stranger");
    sip.send_to(&forged("BYE", tel.local_addr(), stranger, &dialog, 101, ""), tel.local_addr())
        .await
        .expect("send BYE");
    let early = tokio::time::timeout(Duration::from_secs(1), call.next_event()).await;
    assert!(early.is_err(), "the forged BYE reached the call: {early:?}");
    call.hangup();
    let events = collect(&mut call, |_, _| {}).await;
    assert_eq!(ended(&events), (Outcome::Answered, 200, EndReason::LocalHangup), "{events:?}");
    tel.shutdown().await;
    phone.shutdown().await;
}

/// A stranger who knows only the Call-ID sends the phone a BYE for a live call: the phone's call goes on.
#[tokio::test]
async fn forged_bye_with_a_known_call_id_does_not_end_the_phones_call() {
    let phone = quiet_phone().await;
    let tel = uac().await;
    let mut call = place(&tel, trunk(phone.local_addr()), "+2348000000001").await;
    loop {
        match tokio::time::timeout(CALL_LIMIT, call.next_event()).await.expect("answer in time") {
            Some(CallEvent::Answered { .. }) => break,
            Some(CallEvent::Ended { .. }) | None => panic!("ended before the answer"),
            _ => {}
        }
    }
    let sip = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let stranger = sip.local_addr().unwrap();
    let dialog = (call.call_id().to_string(), "<sip:a@b>;tag=guess1".into(), "<sip:c@d>;tag=guess2".into());
    let bye = forged("BYE", phone.local_addr(), stranger, &dialog, 7, "");
    sip.send_to(&bye, phone.local_addr()).await.expect("send BYE");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(phone.active_calls(), 1, "the forged BYE ended the phone's call");
    assert!(phone.records().is_empty(), "{:?}", phone.records());
    call.hangup();
    let events = collect(&mut call, |_, _| {}).await;
    assert_eq!(ended(&events), (Outcome::Answered, 200, EndReason::LocalHangup), "{events:?}");
    let rec = phone.wait_records(1, CALL_LIMIT).await.expect("phone record")[0].clone();
    assert_eq!(rec.end_reason, "RemoteHangup");
    tel.shutdown().await;
    phone.shutdown().await;
}
