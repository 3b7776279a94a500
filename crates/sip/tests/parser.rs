//! Parser vectors from RFC 4475 (SIP torture tests) and a mutation loop proving the parser and both engines
//! never panic on arbitrary bytes.

use std::time::{Duration, Instant};

use voicebot_sip::header::{CSeq, NameAddr, Via};
use voicebot_sip::{
    CallConfig, InboundCall, InboundConfig, LocalMedia, Message, Method, OutboundCall, ParseError,
    SerialiseError, parse, peek, sip_uri, stateless_response,
};

/// RFC 4475 messages are printed with bare line ends; the wire form uses CRLF.
fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

/// RFC 4475 §3.1.1.1 "A Short Tortuous INVITE" (wsinv).
const WSINV: &str = "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : 150
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.3
s=-
c=IN IP4 192.0.2.4
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
";

/// RFC 4475 §3.1.1.2 "Wide Range of Valid Characters" (intmeth), control characters included.
const INTMETH: &str = "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~
To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>
From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\u{0440}\u{0430}\u{0431}\";tag=_token~1'+`*%!-.
Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{
CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~
Max-Forwards: 255
extensionHeader-!.%*+_`'~:\u{feff}\u{5927}\u{505c}\u{96fb}
Content-Length: 0

";

#[test]
fn rfc4475_short_tortuous_invite() {
    let Ok(Message::Request(req)) = parse(&crlf(WSINV)) else { panic!("wsinv must parse") };
    assert_eq!(req.method, Method::Invite);
    let h = &req.headers;
    assert_eq!(h.get("Call-ID"), Some("wsinv.ndaksdj@192.0.2.1"));
    assert_eq!(h.get("CSeq").and_then(CSeq::parse).map(|c| c.seq), Some(9));
    assert_eq!(
        NameAddr::parse(h.get("To").unwrap_or_default()).and_then(|n| n.tag().map(str::to_string)),
        Some("1918181833n".into())
    );
    assert_eq!(
        NameAddr::parse(h.get("From").unwrap_or_default()).and_then(|n| n.tag().map(str::to_string)),
        Some("98asjd8".into())
    );
    let vias: Vec<_> = h.get_all("Via").collect();
    assert_eq!(vias.len(), 2);
    let top = Via::parse(vias[0]).expect("top via");
    assert_eq!(
        (top.transport.as_str(), top.sent_by.as_str(), top.branch()),
        ("UDP", "192.0.2.2", Some("390skdjuw"))
    );
    assert_eq!(h.get("NewFangledHeader"), Some("newfangled value continued newfangled value"));
    assert_eq!(h.get("Subject"), Some(""));
    assert!(h.get("Contact").is_some_and(|c| c.contains("secondparam")));
    assert_eq!(req.body.len(), 150);
    assert!(req.body.ends_with(b"a=rtpmap:31 LPC\r\n"));
    let again = parse(&req.to_bytes().expect("serialise")).expect("re-parse");
    assert_eq!(again, Message::Request(req));
}

#[test]
fn rfc4475_wide_range_of_valid_characters() {
    let Ok(Message::Request(req)) = parse(&crlf(INTMETH)) else { panic!("intmeth must parse") };
    assert_eq!(req.method.as_str(), "!interesting-Method0123456789_*+`.%indeed'~");
    assert_eq!(req.headers.get("Max-Forwards"), Some("255"));
    assert!(req.headers.get("extensionHeader-!.%*+_`'~").is_some());
    assert_eq!(
        peek(&crlf(INTMETH)).map(|p| p.call_id),
        Ok("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{".into())
    );
    // Valid, yet its To holds a NUL (escaped in a quoted string): we would echo it, so we refuse to
    // answer it at all rather than send a NUL on.
    assert_eq!(req.to_bytes(), Err(SerialiseError::HeaderValue("To".into())));
    assert_eq!(stateless_response(&crlf(INTMETH), 481, "ua"), None);
}

#[test]
fn rfc4475_invalid_messages_are_rejected() {
    let base = "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK23\nTo: <sip:t@example.org>\n\
                From: <sip:c@example.org>;tag=1\nCall-ID: x@y\nMax-Forwards: 70\n";
    let cases = [
        // ncl: negative Content-Length
        (
            format!("INVITE sip:a@example.org SIP/2.0\n{base}CSeq: 1 INVITE\nContent-Length: -999\n\n"),
            ParseError::InvalidContentLength,
        ),
        // scalar02: Content-Length and CSeq overflow
        (
            format!(
                "REGISTER sip:example.com SIP/2.0\n{base}CSeq: 1 REGISTER\nContent-Length: 18446744073709551618\n\n"
            ),
            ParseError::InvalidContentLength,
        ),
        (
            format!("REGISTER sip:example.com SIP/2.0\n{base}CSeq: 36893488147419103232 REGISTER\n\n"),
            ParseError::InvalidCSeq,
        ),
        // badvers: SIP/7.0
        (
            format!("OPTIONS sip:t.watson@example.org SIP/7.0\n{base}CSeq: 1 OPTIONS\n\n"),
            ParseError::UnsupportedVersion,
        ),
        // mismatch01: CSeq method differs from request method
        (
            format!("OPTIONS sip:user@example.com SIP/2.0\n{base}CSeq: 1 INVITE\n\n"),
            ParseError::CSeqMethodMismatch,
        ),
        // insuf: no Call-ID, From, To
        (
            "INVITE sip:user@example.com SIP/2.0\nCSeq: 1 INVITE\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n\n"
                .to_string(),
            ParseError::MissingHeader("From"),
        ),
        // clerr: Content-Length beyond the datagram
        (
            format!("INVITE sip:a@example.org SIP/2.0\n{base}CSeq: 1 INVITE\nContent-Length: 9999\n\nv=0\n"),
            ParseError::BodyTruncated { declared: 9999, available: 5 },
        ),
        // status code out of range
        (format!("SIP/2.0 1000 Huh\n{base}CSeq: 1 INVITE\n\n"), ParseError::InvalidStatusCode),
    ];
    for (raw, want) in cases {
        assert_eq!(parse(&crlf(&raw)), Err(want), "{raw}");
    }
}

/// A small deterministic PRNG so the mutation loop is reproducible without a dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    const TOKENS: &[&[u8]] = &[
        b"\r\n",
        b":",
        b";",
        b",",
        b"\"",
        b"<",
        b">",
        b" ",
        b"\r\n ",
        b"=",
        b"\xff",
        b"\0",
        b"999999999999999999999",
    ];
    let mut m = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(m.len() + 1);
        match rng.below(5) {
            0 => m.truncate(at),
            1 => {
                if let Some(b) = m.get_mut(at) {
                    *b = rng.next() as u8;
                }
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                m.splice(at..at, t.iter().copied());
            }
            3 => {
                let end = (at + rng.below(16)).min(m.len());
                m.drain(at..end);
            }
            _ => m = (0..rng.below(200)).map(|_| rng.next() as u8).collect(),
        }
    }
    m
}

#[test]
fn mutated_messages_never_panic() {
    let sdp =
        "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
    let ok = format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKx;rport\r\nFrom: <sip:a@b>;tag=1\r\n\
         To: <sip:c@d>;tag=2\r\nCall-ID: call-1@voicebot\r\nCSeq: 1 INVITE\r\nContact: <sip:c@127.0.0.1:5070>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let seeds: Vec<Vec<u8>> = vec![crlf(WSINV), crlf(INTMETH), ok.into_bytes()];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let now = Instant::now();
    let media = LocalMedia::new("127.0.0.1:40000".parse().expect("addr"));
    let peer = "127.0.0.1:5070".parse().expect("addr");
    let uri = sip_uri("+1", "127.0.0.1:5070").expect("uri");
    let cfg = CallConfig::new("call-1@voicebot", uri, "sip:a@b", peer, peer, media.clone());
    let mut uac = OutboundCall::new(now, cfg.clone()).expect("valid config");
    let mut parsed = 0;
    for i in 0..10_000u32 {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        if let Ok(msg) = parse(&input) {
            parsed += 1;
            // What serialises must re-parse unchanged; the rest (CR or NUL inside a value, a URI with
            // delimiters) is refused, never sent.
            if let Ok(bytes) = msg.to_bytes() {
                let again = parse(&bytes);
                assert_eq!(again.as_ref(), Ok(&msg), "round trip of {:?}", String::from_utf8_lossy(&input));
            }
        }
        let t = now + Duration::from_millis(u64::from(i));
        if i % 100 == 0 {
            // A fresh leg now and then, so mutations keep reaching live (not terminated) state.
            uac = OutboundCall::new(t, cfg.clone()).expect("valid config");
        }
        let _ = uac.handle_datagram(t, peer, &input);
        uac.handle_timeout(t);
        while uac.poll_transmit().is_some() {}
        while uac.poll_event().is_some() {}
        if let Ok(mut uas) = InboundCall::new(t, peer, &input, InboundConfig::new(peer, media.clone())) {
            let _ = uas.answer(t);
            let _ = uas.handle_datagram(t, peer, &input);
            uas.handle_timeout(t + Duration::from_secs(40));
        }
        let _ = peek(&input);
    }
    assert!(parsed > 500, "mutations should keep many messages parseable, got {parsed}");
}
