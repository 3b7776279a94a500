//! Issue 20 at the protocol layer, with byte vectors and no sockets: values that would inject headers are
//! refused before anything is sent; a stranger who knows a Call-ID (even the tags) cannot answer our
//! INVITE, move our media with a re-INVITE or end the call with a BYE; a request without the dialog's
//! tags gets 481 and changes nothing.

use std::net::SocketAddr;
use std::time::Instant;

use voicebot_sip::dialog::response_to;
use voicebot_sip::{
    CallConfig, CallEvent, Credentials, EndReason, InboundCall, InboundConfig, InboundError, InboundEvent,
    LocalMedia, Message, OutboundCall, Request, SerialiseError, Transmit, parse, sip_uri,
};

const TRUNK: &str = "127.0.0.1:5070";
const US: &str = "127.0.0.1:5062";
const STRANGER: &str = "127.0.0.1:6666";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("addr")
}

fn config() -> CallConfig {
    let uri = sip_uri("+2348000000001", TRUNK).expect("uri");
    let media = LocalMedia::new(addr("127.0.0.1:40000"));
    CallConfig::new("call-1@voicebot", uri, "sip:+2341000000000@127.0.0.1", addr(TRUNK), addr(US), media)
}

fn request(t: &Transmit) -> Request {
    match parse(&t.payload) {
        Ok(Message::Request(r)) => r,
        other => panic!("not a request: {other:?}"),
    }
}

fn drain(call: &mut OutboundCall) -> (Vec<Transmit>, Vec<CallEvent>) {
    (
        std::iter::from_fn(|| call.poll_transmit()).collect(),
        std::iter::from_fn(|| call.poll_event()).collect(),
    )
}

/// A change to a valid config.
type Edit = fn(&mut CallConfig);

#[test]
fn config_values_that_would_break_the_invite_are_refused() {
    let now = Instant::now();
    let cases: Vec<(&str, Edit, SerialiseError)> = vec![
        ("Call-ID", |c| c.call_id = "x\r\nVia: SIP/2.0/UDP 203.0.113.9".into(), hv("Call-ID")),
        ("Request-URI", |c| c.request_uri = "sip:1@h SIP/2.0\r\nX: y".into(), SerialiseError::Uri),
        ("From URI", |c| c.from_uri = "sip:1@h>;tag=x, <sip:evil@h".into(), SerialiseError::Uri),
        ("From NUL", |c| c.from_uri = "sip:1\0@h".into(), SerialiseError::Uri),
        ("display", |c| c.from_display = Some("A\r\nX: y".into()), SerialiseError::QuotedString),
        ("User-Agent", |c| c.user_agent = "ua\nX: y".into(), hv("User-Agent")),
        (
            "username",
            |c| c.credentials = Some(Credentials { username: "u\r\nX: y".into(), password: "p".into() }),
            SerialiseError::QuotedString,
        ),
    ];
    for (what, set, want) in cases {
        let mut cfg = config();
        set(&mut cfg);
        assert_eq!(OutboundCall::new(now, cfg).err(), Some(want), "{what}");
    }
    // A display name with quotes is escaped, not refused: it stays one quoted string.
    let mut cfg = config();
    cfg.from_display = Some(r#"Clinic" <sip:evil@h>"#.into());
    let mut call = OutboundCall::new(now, cfg).expect("valid config");
    let invite = request(&call.poll_transmit().expect("invite"));
    let from = invite.headers.get("From").expect("From");
    assert!(from.starts_with(r#""Clinic\" <sip:evil@h>" <sip:+2341000000000@127.0.0.1>;tag="#), "{from}");
}

fn hv(name: &str) -> SerialiseError {
    SerialiseError::HeaderValue(name.into())
}

const SDP: &str =
    "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 7000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

/// A UAC leg answered by the trunk (200 with tag `peer`), ACK sent; returns the leg and its INVITE.
fn answered_uac(now: Instant) -> (OutboundCall, Request) {
    let mut call = OutboundCall::new(now, config()).expect("valid config");
    let invite = request(&call.poll_transmit().expect("invite"));
    let mut ok = response_to(&invite, 200, Some("peer"), "gw");
    ok.headers.push("Contact", format!("<sip:gw@{TRUNK}>"));
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = SDP.as_bytes().to_vec();
    let ok = ok.to_bytes().expect("serialise");
    // The same 200 from a stranger who guessed the branch is not our answer.
    call.handle_datagram(now, addr(STRANGER), &ok).expect("parse");
    assert_eq!(drain(&mut call), (vec![], vec![]), "a 200 from a stranger was taken");
    call.handle_datagram(now, addr(TRUNK), &ok).expect("parse");
    let (sent, events) = drain(&mut call);
    assert!(matches!(events.as_slice(), [CallEvent::Answered(_)]), "{events:?}");
    assert!(sent.len() == 1 && sent[0].payload.starts_with(b"ACK "), "{sent:?}");
    (call, invite)
}

/// A request in the dialog of `invite` as the far end would send it; `tags`: (their From tag, our To tag).
fn in_dialog(method: &str, invite: &Request, tags: (&str, &str), cseq: u32, via: &str, sdp: &str) -> Vec<u8> {
    let h = &invite.headers;
    let ours = h.get("From").expect("From").split(";tag=").next().expect("uri").to_string();
    let theirs = h.get("To").expect("To");
    format!(
        "{method} sip:voicebot@{US} SIP/2.0\r\nVia: {via}\r\nFrom: {theirs};tag={}\r\nTo: {ours};tag={}\r\n\
         Call-ID: {}\r\nCSeq: {cseq} {method}\r\nContact: <sip:gw@{TRUNK}>\r\nContent-Length: {}\r\n\r\n{sdp}",
        tags.0,
        tags.1,
        h.get("Call-ID").expect("Call-ID"),
        sdp.len()
    )
    .into_bytes()
}

fn our_tag(invite: &Request) -> String {
    invite.headers.get("From").and_then(|f| f.split(";tag=").nth(1)).expect("tag").to_string()
}

const VIA: &str = "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKpeer1";

#[test]
fn uac_answers_in_dialog_requests_only_from_the_peer_and_with_the_dialogs_tags() {
    let now = Instant::now();
    let (mut call, invite) = answered_uac(now);
    let tag = our_tag(&invite);
    let sdp = SDP.replace("7000", "9999");

    // The whole dialog known, but sent from elsewhere: no answer at all, media not moved, call not ended.
    let reinvite = in_dialog("INVITE", &invite, ("peer", &tag), 2, VIA, &sdp);
    call.handle_datagram(now, addr(STRANGER), &reinvite).expect("parse");
    let bye = in_dialog("BYE", &invite, ("peer", &tag), 3, VIA, "");
    call.handle_datagram(now, addr(STRANGER), &bye).expect("parse");
    assert_eq!(drain(&mut call), (vec![], vec![]));

    // From the trunk, but without the dialog's tags: 481, nothing else.
    for tags in [("guess", tag.as_str()), ("peer", "guess")] {
        call.handle_datagram(now, addr(TRUNK), &in_dialog("INVITE", &invite, tags, 4, VIA, &sdp))
            .expect("parse");
        call.handle_datagram(now, addr(TRUNK), &in_dialog("BYE", &invite, tags, 5, VIA, "")).expect("parse");
        let (sent, events) = drain(&mut call);
        assert_eq!(events, vec![]);
        let codes: Vec<_> =
            sent.iter().map(|t| String::from_utf8_lossy(&t.payload[..12]).to_string()).collect();
        assert_eq!(codes, vec!["SIP/2.0 481 ", "SIP/2.0 481 "], "{tags:?}");
    }

    // A request whose Via holds a bare CR cannot be answered without echoing it: ignored entirely.
    let via_cr = format!("{VIA}\rX-Evil: 1");
    call.handle_datagram(now, addr(TRUNK), &in_dialog("INVITE", &invite, ("peer", &tag), 6, &via_cr, &sdp))
        .expect("parse");
    assert_eq!(drain(&mut call), (vec![], vec![]));

    // The real peer moves the media, then hangs up.
    call.handle_datagram(now, addr(TRUNK), &in_dialog("INVITE", &invite, ("peer", &tag), 7, VIA, &sdp))
        .expect("parse");
    let (sent, events) = drain(&mut call);
    assert!(sent.len() == 1 && sent[0].payload.starts_with(b"SIP/2.0 200 "), "{sent:?}");
    assert!(matches!(&events[..], [CallEvent::MediaUpdated(m)] if m.rtp_addr.port() == 9999), "{events:?}");
    call.handle_datagram(now, addr(TRUNK), &in_dialog("BYE", &invite, ("peer", &tag), 8, VIA, ""))
        .expect("parse");
    let (sent, events) = drain(&mut call);
    assert!(sent.len() == 1 && sent[0].payload.starts_with(b"SIP/2.0 200 "), "{sent:?}");
    assert!(
        matches!(&events[..], [CallEvent::Ended(e)] if e.reason == EndReason::RemoteHangup),
        "{events:?}"
    );
}

#[test]
fn uac_takes_the_answer_to_its_bye_only_from_where_the_bye_went() {
    let now = Instant::now();
    let (mut call, _) = answered_uac(now);
    call.hangup(now);
    let bye = request(&call.poll_transmit().expect("BYE"));
    let ok = response_to(&bye, 200, None, "gw").to_bytes().expect("serialise");
    call.handle_datagram(now, addr(STRANGER), &ok).expect("parse");
    assert_eq!(drain(&mut call), (vec![], vec![]));
    call.handle_datagram(now, addr(TRUNK), &ok).expect("parse");
    let (_, events) = drain(&mut call);
    assert!(matches!(&events[..], [CallEvent::Ended(e)] if e.reason == EndReason::LocalHangup), "{events:?}");
}

fn inbound_invite(from_display: &str) -> Vec<u8> {
    format!(
        "INVITE sip:+2348000000001@{TRUNK} SIP/2.0\r\nVia: SIP/2.0/UDP {US};branch=z9hG4bKinv1\r\n\
         From: \"{from_display}\" <sip:+2341000000000@127.0.0.1>;tag=caller\r\nTo: <sip:+2348000000001@{TRUNK}>\r\n\
         Call-ID: in-1@test\r\nCSeq: 1 INVITE\r\nContact: <sip:voicebot@{US}>\r\nContent-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
    .into_bytes()
}

#[test]
fn uas_refuses_an_invite_it_cannot_answer_safely() {
    let cfg = InboundConfig::new(addr(TRUNK), LocalMedia::new(addr("127.0.0.1:41000")));
    // An escaped NUL in a quoted string is valid SIP (RFC 4475 intmeth), but echoing it is not for us.
    let result = InboundCall::new(Instant::now(), addr(US), &inbound_invite("A \\\0 B"), cfg);
    assert_eq!(result.err(), Some(InboundError::Unanswerable(SerialiseError::HeaderValue("From".into()))));
}

#[test]
fn uas_ends_the_call_only_on_a_bye_from_the_dialogs_peer_with_its_tags() {
    let now = Instant::now();
    let cfg = InboundConfig::new(addr(TRUNK), LocalMedia::new(addr("127.0.0.1:41000")));
    let mut uas = InboundCall::new(now, addr(US), &inbound_invite("Clinic"), cfg).expect("INVITE");
    uas.answer(now).expect("answer");
    let sent: Vec<_> = std::iter::from_fn(|| uas.poll_transmit()).collect();
    let ok = sent.iter().find(|t| t.payload.starts_with(b"SIP/2.0 200 ")).expect("200");
    let Ok(Message::Response(ok)) = parse(&ok.payload) else { panic!("response") };
    let our_tag = ok.headers.get("To").and_then(|t| t.split(";tag=").nth(1)).expect("tag").to_string();
    let bye = |tags: (&str, &str), cseq: u32| {
        format!(
            "BYE sip:phone@{TRUNK} SIP/2.0\r\nVia: SIP/2.0/UDP {US};branch=z9hG4bKbye{cseq}\r\n\
             From: <sip:+2341000000000@127.0.0.1>;tag={}\r\nTo: <sip:+2348000000001@{TRUNK}>;tag={}\r\n\
             Call-ID: in-1@test\r\nCSeq: {cseq} BYE\r\nContent-Length: 0\r\n\r\n",
            tags.0, tags.1
        )
        .into_bytes()
    };
    let events = |uas: &mut InboundCall| std::iter::from_fn(|| uas.poll_event()).collect::<Vec<_>>();

    uas.handle_datagram(now, addr(STRANGER), &bye(("caller", &our_tag), 2)).expect("parse");
    assert_eq!(uas.poll_transmit(), None, "a stranger's BYE was answered");
    uas.handle_datagram(now, addr(US), &bye(("guess", &our_tag), 3)).expect("parse");
    uas.handle_datagram(now, addr(US), &bye(("caller", "guess"), 4)).expect("parse");
    let codes: Vec<_> = std::iter::from_fn(|| uas.poll_transmit())
        .map(|t| String::from_utf8_lossy(&t.payload[..12]).to_string())
        .collect();
    assert_eq!(codes, vec!["SIP/2.0 481 ", "SIP/2.0 481 "]);
    assert_eq!(events(&mut uas), vec![]);

    uas.handle_datagram(now, addr(US), &bye(("caller", &our_tag), 5)).expect("parse");
    let reply = uas.poll_transmit().expect("200 to the BYE");
    assert!(reply.payload.starts_with(b"SIP/2.0 200 ") && reply.destination == addr(US));
    assert_eq!(events(&mut uas), vec![InboundEvent::Ended(EndReason::RemoteHangup)]);
    assert!(
        matches!(parse(&reply.payload), Ok(Message::Response(r)) if r.headers.get("CSeq") == Some("5 BYE"))
    );
}
