//! Deterministic UAC ⇄ UAS tests: a `Pair` moves datagrams between an `OutboundCall` and an `InboundCall`
//! under a virtual clock that jumps to the next deadline (no sleeping), with a hook that can drop datagrams.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use voicebot_sip::digest::{Challenge, Credentials, DigestRequest, response};
use voicebot_sip::header::{CSeq, split_list, unquote};
use voicebot_sip::{
    CallConfig, CallEnd, CallEvent, EndReason, InboundCall, InboundConfig, InboundEvent, LocalMedia, Message,
    Method, OutboundCall, Outcome, Transmit, parse, sip_uri, stateless_response,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    ToUas,
    ToUac,
}

#[derive(Debug, Clone, Copy)]
enum Script {
    Answer { after: Duration },
    Reject { code: u16 },
    RingForever,
}

type Dropper = Box<dyn FnMut(Dir, &Message) -> bool>;

/// A UAC and a UAS joined by a lossy virtual link.
struct Pair {
    t0: Instant,
    now: Instant,
    uac: OutboundCall,
    uas: Option<InboundCall>,
    script: Script,
    answer_at: Option<Instant>,
    in_flight: VecDeque<(Dir, Transmit)>,
    dropper: Dropper,
    /// Challenge every INVITE lacking Proxy-Authorization with this 407 (a stateless auth proxy).
    auth: Option<(String, Credentials)>,
    uac_events: Vec<(Duration, CallEvent)>,
    uas_events: Vec<(Duration, InboundEvent)>,
    /// Every datagram put on the link: (time since start, direction, start line, dropped?).
    log: Vec<(Duration, Dir, String, bool)>,
    /// The last INVITE put on the link.
    last_invite: Vec<u8>,
}

const UAC_ADDR: &str = "127.0.0.1:5062";
const UAS_ADDR: &str = "127.0.0.1:5070";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("addr")
}

fn config() -> CallConfig {
    let media = LocalMedia::new(addr("127.0.0.1:40000"));
    let mut cfg = CallConfig::new(
        "call-1@voicebot",
        sip_uri("+2348000000001", UAS_ADDR).expect("uri"),
        "sip:+2341000000000@127.0.0.1",
        addr(UAS_ADDR),
        addr(UAC_ADDR),
        media,
    );
    cfg.ring_timeout = Duration::from_secs(20);
    cfg
}

impl Pair {
    fn new(cfg: CallConfig, script: Script) -> Pair {
        let t0 = Instant::now();
        Pair {
            t0,
            now: t0,
            uac: OutboundCall::new(t0, cfg).expect("valid config"),
            uas: None,
            script,
            answer_at: None,
            in_flight: VecDeque::new(),
            dropper: Box::new(|_, _| false),
            auth: None,
            uac_events: Vec::new(),
            uas_events: Vec::new(),
            log: Vec::new(),
            last_invite: Vec::new(),
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    fn collect(&mut self) {
        let at = self.elapsed();
        while let Some(t) = self.uac.poll_transmit() {
            self.in_flight.push_back((Dir::ToUas, t));
        }
        while let Some(e) = self.uac.poll_event() {
            self.uac_events.push((at, e));
        }
        if let Some(uas) = self.uas.as_mut() {
            while let Some(t) = uas.poll_transmit() {
                self.in_flight.push_back((Dir::ToUac, t));
            }
            while let Some(e) = uas.poll_event() {
                self.uas_events.push((at, e));
            }
        }
    }

    /// One step: deliver one datagram, or else jump to the next deadline. False when idle.
    fn step(&mut self) -> bool {
        self.collect();
        if let Some((dir, t)) = self.in_flight.pop_front() {
            let msg = parse(&t.payload).expect("engines emit parseable messages");
            let dropped = (self.dropper)(dir, &msg);
            self.log.push((self.elapsed(), dir, start_line(&t.payload), dropped));
            if matches!(&msg, Message::Request(r) if r.method == Method::Invite) {
                self.last_invite = t.payload.clone();
            }
            if !dropped {
                self.deliver(dir, &t.payload, &msg);
            }
            return true;
        }
        let deadlines =
            [self.uac.poll_timeout(), self.uas.as_ref().and_then(InboundCall::poll_timeout), self.answer_at];
        let Some(next) = deadlines.into_iter().flatten().min() else { return false };
        self.now = self.now.max(next);
        if self.answer_at.is_some_and(|at| at <= self.now) {
            self.answer_at = None;
            if let Some(uas) = self.uas.as_mut() {
                uas.answer(self.now).expect("answer");
            }
        }
        self.uac.handle_timeout(self.now);
        if let Some(uas) = self.uas.as_mut() {
            uas.handle_timeout(self.now);
        }
        true
    }

    fn deliver(&mut self, dir: Dir, bytes: &[u8], msg: &Message) {
        match dir {
            Dir::ToUac => self.uac.handle_datagram(self.now, addr(UAS_ADDR), bytes).expect("uac parse"),
            Dir::ToUas => {
                if self.challenge(bytes, msg) {
                    return;
                }
                match self.uas.as_mut() {
                    Some(uas) => uas.handle_datagram(self.now, addr(UAC_ADDR), bytes).expect("uas parse"),
                    None => self.start_uas(bytes),
                }
            }
        }
    }

    fn start_uas(&mut self, bytes: &[u8]) {
        let cfg = InboundConfig::new(addr(UAS_ADDR), LocalMedia::new(addr("127.0.0.1:41000")));
        let Ok(mut uas) = InboundCall::new(self.now, addr(UAC_ADDR), bytes, cfg) else { return };
        uas.ring(self.now);
        match self.script {
            Script::Answer { after } => self.answer_at = Some(self.now + after),
            Script::Reject { code } => uas.reject(self.now, code),
            Script::RingForever => {}
        }
        self.uas = Some(uas);
    }

    /// The stateless auth proxy: 407 for INVITEs without valid credentials, swallow the ACKs of those 407s.
    fn challenge(&mut self, bytes: &[u8], msg: &Message) -> bool {
        let Some((realm, cred)) = &self.auth else { return false };
        let Message::Request(req) = msg else { return false };
        if req.method == Method::Ack && self.uas.is_none() {
            return true;
        }
        if req.method != Method::Invite {
            return false;
        }
        if req.headers.get("Proxy-Authorization").is_some_and(|a| verify(a, realm, cred, &req.uri)) {
            return false;
        }
        let resp = stateless_response(bytes, 407, "proxy").expect("407");
        let mut resp = match parse(&resp) {
            Ok(Message::Response(r)) => r,
            other => panic!("{other:?}"),
        };
        let ch = format!("Digest realm=\"{realm}\", nonce=\"n0nce\", qop=\"auth\", algorithm=SHA-256");
        resp.headers.push("Proxy-Authenticate", ch);
        let t = Transmit { destination: addr(UAC_ADDR), payload: resp.to_bytes().expect("serialise") };
        self.in_flight.push_back((Dir::ToUac, t));
        true
    }

    /// Steps until idle or `limit` of virtual time has passed.
    fn run(&mut self, limit: Duration) {
        while self.elapsed() <= limit && self.step() {}
        self.collect();
    }

    /// Steps until `pred` holds (panics after `limit` of virtual time).
    fn run_until(&mut self, limit: Duration, mut pred: impl FnMut(&Pair) -> bool) {
        while !pred(self) {
            assert!(self.elapsed() <= limit && self.step(), "condition not reached; log: {:#?}", self.log);
            self.collect();
        }
    }

    fn uac_end(&self) -> Option<(Duration, CallEnd)> {
        self.uac_events.iter().find_map(|(t, e)| match e {
            CallEvent::Ended(end) => Some((*t, *end)),
            _ => None,
        })
    }

    fn uas_end(&self) -> Option<EndReason> {
        self.uas_events.iter().find_map(|(_, e)| match e {
            InboundEvent::Ended(r) => Some(*r),
            _ => None,
        })
    }

    fn sent(&self, dir: Dir, prefix: &str) -> Vec<Duration> {
        self.log.iter().filter(|(_, d, l, _)| *d == dir && l.starts_with(prefix)).map(|(t, ..)| *t).collect()
    }

    fn answered(&self) -> bool {
        self.uac_events.iter().any(|(_, e)| matches!(e, CallEvent::Answered(_)))
    }
}

fn start_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().next().unwrap_or_default().to_string()
}

fn verify(auth: &str, realm: &str, cred: &Credentials, uri: &str) -> bool {
    let field = |name: &str| {
        let rest = auth.strip_prefix("Digest ").unwrap_or(auth);
        split_list(rest).into_iter().find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k.trim() == name).then(|| unquote(v.trim()).to_string())
        })
    };
    let ch = Challenge::parse(&format!(
        "Digest realm=\"{realm}\", nonce=\"n0nce\", qop=\"auth\", algorithm=SHA-256"
    ))
    .expect("challenge");
    let cnonce = field("cnonce").unwrap_or_default();
    let nc = u32::from_str_radix(&field("nc").unwrap_or_default(), 16).unwrap_or(0);
    let req = DigestRequest { method: "INVITE", uri, cnonce: &cnonce, nc };
    field("uri").as_deref() == Some(uri) && field("response") == Some(response(&ch, cred, &req))
}

#[test]
fn answered_call_then_we_hang_up() {
    let mut p = Pair::new(config(), Script::Answer { after: Duration::from_secs(2) });
    p.run_until(Duration::from_secs(10), |p| p.uas_events.iter().any(|(_, e)| *e == InboundEvent::Confirmed));
    let kinds: Vec<_> = p.uac_events.iter().map(|(_, e)| std::mem::discriminant(e)).collect();
    assert_eq!(kinds.len(), 3, "{:?}", p.uac_events);
    assert!(matches!(p.uac_events[0].1, CallEvent::Trying));
    assert!(matches!(p.uac_events[1].1, CallEvent::Ringing));
    match &p.uac_events[2].1 {
        CallEvent::Answered(m) => assert_eq!(m.rtp_addr, addr("127.0.0.1:41000")),
        other => panic!("{other:?}"),
    }
    p.uac.hangup(p.now);
    p.run(Duration::from_secs(120));
    let (_, end) = p.uac_end().expect("uac ended");
    assert_eq!(end, CallEnd { outcome: Outcome::Answered, sip_code: 200, reason: EndReason::LocalHangup });
    assert_eq!(p.uas_end(), Some(EndReason::RemoteHangup));
    assert!(p.uac.is_terminated() && p.uas.as_ref().is_some_and(InboundCall::is_terminated));
    assert_eq!(p.sent(Dir::ToUas, "ACK").len(), 1);
    assert_eq!(p.sent(Dir::ToUac, "SIP/2.0 200").len(), 2, "200 to INVITE and to BYE, no retransmission");
}

#[test]
fn answered_call_then_they_hang_up() {
    let mut p = Pair::new(config(), Script::Answer { after: Duration::from_millis(300) });
    p.run_until(Duration::from_secs(10), |p| p.uas_events.iter().any(|(_, e)| *e == InboundEvent::Confirmed));
    let now = p.now;
    p.uas.as_mut().expect("uas").hangup(now);
    p.run(Duration::from_secs(120));
    let (_, end) = p.uac_end().expect("ended");
    assert_eq!(end, CallEnd { outcome: Outcome::Answered, sip_code: 200, reason: EndReason::RemoteHangup });
    assert_eq!(p.uas_end(), Some(EndReason::LocalHangup));
    assert!(p.uac.is_terminated() && p.uas.as_ref().is_some_and(InboundCall::is_terminated));
}

#[test]
fn reject_codes_map_to_outcomes() {
    for (code, outcome) in [
        (486, Outcome::Busy),
        (600, Outcome::Busy),
        (480, Outcome::NoAnswer),
        (408, Outcome::NoAnswer),
        (404, Outcome::InvalidNumber),
        (484, Outcome::InvalidNumber),
        (604, Outcome::InvalidNumber),
        (403, Outcome::Rejected),
        (603, Outcome::Rejected),
        (503, Outcome::Failed),
        (500, Outcome::Failed),
    ] {
        let mut p = Pair::new(config(), Script::Reject { code });
        p.run(Duration::from_secs(120));
        let (_, end) = p.uac_end().expect("ended");
        assert_eq!(end, CallEnd { outcome, sip_code: code, reason: EndReason::Rejected }, "{code}");
        assert_eq!(p.uas_end(), Some(EndReason::Rejected));
        assert_eq!(p.sent(Dir::ToUac, &format!("SIP/2.0 {code}")).len(), 1, "ACK stopped Timer G");
        assert_eq!(p.sent(Dir::ToUas, "ACK").len(), 1);
        assert!(p.uac.is_terminated() && p.uas.as_ref().is_some_and(InboundCall::is_terminated));
    }
}

#[test]
fn proxy_challenge_then_authenticated_invite_proceeds() {
    let mut cfg = config();
    let cred = Credentials { username: "trunkuser".into(), password: "s3cret".into() };
    cfg.credentials = Some(cred.clone());
    let mut p = Pair::new(cfg, Script::Answer { after: Duration::from_millis(500) });
    p.auth = Some(("voicebot.test".into(), cred));
    p.run_until(Duration::from_secs(10), |p| p.uas_events.iter().any(|(_, e)| *e == InboundEvent::Confirmed));
    let invites: Vec<_> =
        p.log.iter().filter(|(_, d, l, _)| *d == Dir::ToUas && l.starts_with("INVITE")).collect();
    assert_eq!(invites.len(), 2);
    assert_eq!(p.sent(Dir::ToUas, "ACK").len(), 2, "ACK for the 407 and for the 200");
    let Ok(Message::Request(req)) = parse(&p.last_invite) else { panic!("invite") };
    assert_eq!(req.headers.get("CSeq"), Some("2 INVITE"), "credentials go on a new CSeq");
    assert!(
        req.headers
            .get("Proxy-Authorization")
            .is_some_and(|a| a.contains("algorithm=SHA-256") && a.contains("qop=auth"))
    );
    let uas = p.uas.as_ref().expect("uas");
    assert_eq!(uas.call_id(), "call-1@voicebot");
}

#[test]
fn wrong_password_fails_with_407() {
    let mut cfg = config();
    cfg.credentials = Some(Credentials { username: "u".into(), password: "wrong".into() });
    let mut p = Pair::new(cfg, Script::Answer { after: Duration::from_millis(500) });
    p.auth = Some(("r".into(), Credentials { username: "u".into(), password: "right".into() }));
    p.run(Duration::from_secs(60));
    // The proxy re-challenges with the nonce we already answered: we give up instead of looping.
    let (_, end) = p.uac_end().expect("ended");
    assert_eq!(end, CallEnd { outcome: Outcome::Failed, sip_code: 407, reason: EndReason::Rejected });
    assert_eq!(p.sent(Dir::ToUas, "INVITE").len(), 2);
    assert!(p.uas.is_none());
}

#[test]
fn first_invite_dropped_timer_a_retransmits() {
    let mut p = Pair::new(config(), Script::Answer { after: Duration::from_millis(200) });
    let mut first = true;
    p.dropper = Box::new(move |dir, msg| {
        let invite = dir == Dir::ToUas && matches!(msg, Message::Request(r) if r.method == Method::Invite);
        let drop = first && invite;
        first &= !invite;
        drop
    });
    p.run_until(Duration::from_secs(10), |p| p.answered());
    assert_eq!(p.sent(Dir::ToUas, "INVITE"), vec![Duration::ZERO, Duration::from_millis(500)]);
}

#[test]
fn no_response_timer_b_fails_after_32s() {
    let mut p = Pair::new(config(), Script::RingForever);
    p.dropper = Box::new(|dir, _| dir == Dir::ToUas);
    p.run(Duration::from_secs(120));
    let (at, end) = p.uac_end().expect("ended");
    assert_eq!(end, CallEnd { outcome: Outcome::Failed, sip_code: 408, reason: EndReason::Timeout });
    assert_eq!(at, Duration::from_secs(32));
    let expect: Vec<Duration> = [0, 500, 1500, 3500, 7500, 15500, 31500].map(Duration::from_millis).to_vec();
    assert_eq!(p.sent(Dir::ToUas, "INVITE"), expect);
    assert!(p.uac.is_terminated());
}

#[test]
fn ring_timeout_cancels_and_487_is_no_answer() {
    let mut cfg = config();
    cfg.ring_timeout = Duration::from_secs(5);
    let mut p = Pair::new(cfg, Script::RingForever);
    p.run(Duration::from_secs(120));
    let (at, end) = p.uac_end().expect("ended");
    assert_eq!(end, CallEnd { outcome: Outcome::NoAnswer, sip_code: 487, reason: EndReason::RingTimeout });
    assert_eq!(at, Duration::from_secs(5));
    assert_eq!(p.sent(Dir::ToUas, "CANCEL"), vec![Duration::from_secs(5)]);
    assert_eq!(p.uas_end(), Some(EndReason::Cancelled));
    assert_eq!(p.sent(Dir::ToUas, "ACK").len(), 1, "487 ACKed");
    assert!(p.uac.is_terminated() && p.uas.as_ref().is_some_and(InboundCall::is_terminated));
}

#[test]
fn hangup_before_answer_is_cancelled() {
    let mut p = Pair::new(config(), Script::RingForever);
    p.run_until(Duration::from_secs(5), |p| p.uac_events.iter().any(|(_, e)| *e == CallEvent::Ringing));
    p.uac.hangup(p.now);
    p.run(Duration::from_secs(120));
    let (_, end) = p.uac_end().expect("ended");
    assert_eq!(end, CallEnd { outcome: Outcome::Cancelled, sip_code: 487, reason: EndReason::LocalCancel });
}

#[test]
fn lost_ack_makes_uas_retransmit_200_and_uac_reacks() {
    let mut p = Pair::new(config(), Script::Answer { after: Duration::from_millis(100) });
    let mut dropped = false;
    p.dropper = Box::new(move |dir, msg| {
        let ack = dir == Dir::ToUas && matches!(msg, Message::Request(r) if r.method == Method::Ack);
        let drop = ack && !dropped;
        dropped |= drop;
        drop
    });
    p.run_until(Duration::from_secs(10), |p| p.uas_events.iter().any(|(_, e)| *e == InboundEvent::Confirmed));
    assert_eq!(p.sent(Dir::ToUac, "SIP/2.0 200").len(), 2, "Timer G retransmitted the 200");
    let acks = p.sent(Dir::ToUas, "ACK");
    assert_eq!(acks.len(), 2);
    assert_eq!(p.uac_events.iter().filter(|(_, e)| matches!(e, CallEvent::Answered(_))).count(), 1);
}

#[test]
fn never_acked_200_ends_at_timer_h_with_bye() {
    let mut p = Pair::new(config(), Script::Answer { after: Duration::from_millis(100) });
    p.dropper = Box::new(|dir, msg| {
        dir == Dir::ToUas && matches!(msg, Message::Request(r) if r.method == Method::Ack)
    });
    p.run(Duration::from_secs(120));
    assert_eq!(p.uas_end(), Some(EndReason::AckTimeout));
    assert_eq!(p.sent(Dir::ToUac, "BYE").len(), 1);
    let (_, end) = p.uac_end().expect("uac saw BYE");
    assert_eq!(end.reason, EndReason::RemoteHangup);
}

#[test]
fn lost_bye_is_retransmitted_by_timer_e() {
    let mut p = Pair::new(config(), Script::Answer { after: Duration::from_millis(100) });
    p.run_until(Duration::from_secs(10), |p| p.answered());
    let mut dropped = false;
    p.dropper = Box::new(move |dir, msg| {
        let bye = dir == Dir::ToUas && matches!(msg, Message::Request(r) if r.method == Method::Bye);
        let drop = bye && !dropped;
        dropped |= drop;
        drop
    });
    let hung_up = p.elapsed();
    p.uac.hangup(p.now);
    p.run(Duration::from_secs(120));
    assert_eq!(p.sent(Dir::ToUas, "BYE"), vec![hung_up, hung_up + Duration::from_millis(500)]);
    assert_eq!(p.uac_end().map(|(_, e)| e.reason), Some(EndReason::LocalHangup));
}

#[test]
fn requests_carry_required_headers() {
    let mut call = OutboundCall::new(Instant::now(), config()).expect("valid config");
    let t = call.poll_transmit().expect("invite");
    assert_eq!(t.destination, addr(UAS_ADDR));
    let Ok(Message::Request(req)) = parse(&t.payload) else { panic!("not a request") };
    let h = &req.headers;
    assert!(h.get("Via").is_some_and(|v| v.contains(";branch=z9hG4bK") && v.ends_with(";rport")));
    assert!(h.get("From").is_some_and(|v| v.contains(";tag=")));
    assert_eq!(h.get("To"), Some("<sip:+2348000000001@127.0.0.1:5070>"));
    assert_eq!(h.get("Call-ID"), Some("call-1@voicebot"));
    assert_eq!(h.get("CSeq").and_then(CSeq::parse).map(|c| (c.seq, c.method)), Some((1, Method::Invite)));
    assert_eq!(h.get("Contact"), Some("<sip:voicebot@127.0.0.1:5062>"));
    assert_eq!(h.get("Max-Forwards"), Some("70"));
    assert_eq!(h.get("User-Agent"), Some("voicebot"));
    assert!(String::from_utf8_lossy(&req.body).contains("a=rtpmap:101 telephone-event/8000"));
}

#[test]
fn lost_ack_for_busy_is_resent_on_retransmitted_486() {
    let mut p = Pair::new(config(), Script::Reject { code: 486 });
    let mut dropped = false;
    p.dropper = Box::new(move |dir, msg| {
        let ack = dir == Dir::ToUas && matches!(msg, Message::Request(r) if r.method == Method::Ack);
        let drop = ack && !dropped;
        dropped |= drop;
        drop
    });
    p.run(Duration::from_secs(120));
    assert_eq!(p.sent(Dir::ToUac, "SIP/2.0 486").len(), 2, "Timer G retransmitted the 486");
    assert_eq!(p.sent(Dir::ToUas, "ACK").len(), 2, "UAC re-ACKed from the completed transaction");
    assert_eq!(p.uac_events.iter().filter(|(_, e)| matches!(e, CallEvent::Ended(_))).count(), 1);
    assert!(p.uac.is_terminated() && p.uas.as_ref().is_some_and(InboundCall::is_terminated));
}

#[test]
fn early_media_sdp_is_used_when_200_has_no_body() {
    use voicebot_sip::dialog::response_to;
    let now = Instant::now();
    let mut call = OutboundCall::new(now, config()).expect("valid config");
    let invite = call.poll_transmit().expect("invite");
    let Ok(Message::Request(req)) = parse(&invite.payload) else { panic!("request") };
    let sdp =
        "v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 7000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";
    let mut progress = response_to(&req, 183, Some("abc"), "gw");
    progress.headers.push("Content-Type", "application/sdp");
    progress.body = sdp.as_bytes().to_vec();
    call.handle_datagram(now, addr(UAS_ADDR), &progress.to_bytes().expect("serialise")).expect("183");
    let mut ok = response_to(&req, 200, Some("abc"), "gw");
    ok.headers.push("Contact", "<sip:gw@127.0.0.1:5070>");
    call.handle_datagram(now, addr(UAS_ADDR), &ok.to_bytes().expect("serialise")).expect("200");
    let events: Vec<_> = std::iter::from_fn(|| call.poll_event()).collect();
    assert!(matches!(&events[0], CallEvent::EarlyMedia(m) if m.rtp_addr == addr("10.1.1.1:7000")));
    match &events[1] {
        CallEvent::Answered(m) => {
            assert_eq!((m.codec, m.telephone_event_pt), (voicebot_sip::Codec::Pcma, Some(101)))
        }
        other => panic!("{other:?}"),
    }
    let ack = call.poll_transmit().expect("ack");
    assert!(ack.payload.starts_with(b"ACK sip:gw@127.0.0.1:5070 SIP/2.0"));
    let Ok(Message::Request(ack)) = parse(&ack.payload) else { panic!("ack") };
    assert!(ack.headers.get("To").is_some_and(|t| t.ends_with(";tag=abc")));
    assert_ne!(ack.headers.get("Via"), req.headers.get("Via"), "ACK for 2xx is a new transaction");
    // A retransmitted 200 is re-ACKed with the same ACK.
    call.handle_datagram(now, addr(UAS_ADDR), &ok.to_bytes().expect("serialise")).expect("200 again");
    let again = call.poll_transmit().expect("re-ack");
    assert_eq!(parse(&again.payload), Ok(Message::Request(ack)));
}

#[test]
fn zero_timers_cannot_spin() {
    let mut cfg = config();
    cfg.timers = voicebot_sip::TimerConfig { t1: Duration::ZERO, t2: Duration::ZERO, t4: Duration::ZERO };
    let mut p = Pair::new(cfg, Script::RingForever);
    p.dropper = Box::new(|dir, _| dir == Dir::ToUas);
    p.run(Duration::from_secs(5));
    assert!(p.uac.is_terminated(), "Timer B (64 ms here) ended the call");
}

/// SRTP with SDES, both ends on `optional`: the offer is `RTP/AVP` with one `a=crypto` per suite,
/// the answer picks the first (tag 1, `_80`), and each side's sending key is the other's receiving key.
#[test]
fn srtp_keys_are_exchanged_in_offer_and_answer() {
    use rand::SeedableRng;
    use voicebot_sip::sdp::{CryptoSuite, LocalSrtp, SrtpPolicy};
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let now = Instant::now();
    let mut cfg = config();
    cfg.media.srtp = LocalSrtp::new(SrtpPolicy::Optional, &mut rng);
    let mut uac = OutboundCall::new(now, cfg).expect("valid config");
    let invite = uac.poll_transmit().expect("invite");
    let text = String::from_utf8_lossy(&invite.payload).to_string();
    assert!(text.contains("m=audio 40000 RTP/AVP 0 8 101\r\n"), "{text}");
    assert!(text.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), "{text}");
    assert!(text.contains("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"), "{text}");
    let mut media = LocalMedia::new(addr("127.0.0.1:41000"));
    media.srtp = LocalSrtp::new(SrtpPolicy::Optional, &mut rng);
    let mut uas =
        InboundCall::new(now, addr(UAC_ADDR), &invite.payload, InboundConfig::new(addr(UAS_ADDR), media))
            .expect("invite accepted");
    let theirs = uas.answer(now).expect("answer").srtp.expect("srtp agreed");
    let ok = std::iter::from_fn(|| uas.poll_transmit()).last().expect("200");
    assert!(String::from_utf8_lossy(&ok.payload).contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
    uac.handle_datagram(now, addr(UAS_ADDR), &ok.payload).expect("200");
    let ours = std::iter::from_fn(|| uac.poll_event())
        .find_map(|e| match e {
            CallEvent::Answered(m) => m.srtp,
            _ => None,
        })
        .expect("answered with srtp");
    assert_eq!((ours.suite, ours.tag), (CryptoSuite::AesCm128HmacSha1_80, 1));
    assert_eq!((ours.send_key.clone(), ours.receive_key.clone()), (theirs.receive_key, theirs.send_key));
}

/// `srtp = "mandatory"` offers `RTP/SAVP`; a UAS without SRTP cannot answer it (the phone sends 488).
#[test]
fn mandatory_srtp_offer_is_savp_and_refused_by_a_plain_uas() {
    use voicebot_sip::sdp::{CryptoError, LocalSrtp, SrtpPolicy};
    let now = Instant::now();
    let mut cfg = config();
    cfg.media.srtp = LocalSrtp::new(SrtpPolicy::Mandatory, &mut rand::thread_rng());
    let mut uac = OutboundCall::new(now, cfg).expect("valid config");
    let invite = uac.poll_transmit().expect("invite");
    assert!(String::from_utf8_lossy(&invite.payload).contains("m=audio 40000 RTP/SAVP 0 8 101\r\n"));
    let plain = InboundConfig::new(addr(UAS_ADDR), LocalMedia::new(addr("127.0.0.1:41000")));
    let mut uas = InboundCall::new(now, addr(UAC_ADDR), &invite.payload, plain).expect("invite");
    let refused = uas.answer(now).expect_err("refused");
    assert!(
        matches!(
            refused,
            voicebot_sip::InboundError::Sdp(voicebot_sip::SdpError::Crypto(CryptoError::NotEnabled))
        ),
        "{refused:?}"
    );
}

/// A 2xx whose SDP has no `a=crypto` while our SRTP is mandatory: ACK, BYE, and the call ends
/// `Failed` / `SrtpRefused`, the reason kept for the log.
#[test]
fn answer_without_crypto_ends_a_mandatory_srtp_call() {
    use voicebot_sip::dialog::response_to;
    use voicebot_sip::sdp::{CryptoError, LocalSrtp, SrtpPolicy};
    let now = Instant::now();
    let mut cfg = config();
    cfg.media.srtp = LocalSrtp::new(SrtpPolicy::Mandatory, &mut rand::thread_rng());
    let mut call = OutboundCall::new(now, cfg).expect("valid config");
    let invite = call.poll_transmit().expect("invite");
    let Ok(Message::Request(req)) = parse(&invite.payload) else { panic!("request") };
    let mut ok = response_to(&req, 200, Some("abc"), "gw");
    ok.headers.push("Contact", "<sip:gw@127.0.0.1:5070>");
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = b"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 7000 RTP/AVP 0\r\n".to_vec();
    call.handle_datagram(now, addr(UAS_ADDR), &ok.to_bytes().expect("serialise")).expect("200");
    let sent: Vec<String> =
        std::iter::from_fn(|| call.poll_transmit()).map(|t| start_line(&t.payload)).collect();
    assert!(sent[0].starts_with("ACK ") && sent[1].starts_with("BYE "), "{sent:?}");
    let end = std::iter::from_fn(|| call.poll_event()).find_map(|e| match e {
        CallEvent::Ended(end) => Some(end),
        _ => None,
    });
    let want = CallEnd { outcome: Outcome::Failed, sip_code: 200, reason: EndReason::SrtpRefused };
    assert_eq!(end, Some(want));
    assert_eq!(call.answer_error(), Some(&voicebot_sip::SdpError::Crypto(CryptoError::Missing)));
}
