//! SDP offer/answer (RFC 4566 / RFC 3264) for one audio stream.
//!
//! Owns what voicebot negotiates: G.711 µ-law (PT 0) and A-law (PT 8) plus `telephone-event/8000` for RFC 4733
//! digits, 20 ms packets, `sendrecv`, and SRTP keyed by SDES ([`crypto`]: `RTP/SAVP`, `a=crypto`).
//! [`LocalMedia::offer`] writes our offer, [`LocalMedia::accept_answer`] reads the peer's answer to it into a
//! [`RemoteMedia`] (with the agreed SRTP keys), [`parse_remote`] reads any body without SRTP negotiation, and
//! [`LocalMedia::answer`] builds the UAS answer choosing the first codec (and crypto line) of the offer that we
//! support. Only the first `m=audio` line is used; video etc. are ignored.

mod crypto;

use std::net::{IpAddr, SocketAddr};

pub use crypto::{
    CryptoError, CryptoSuite, LocalSrtp, MASTER_KEY_LEN, MasterKey, NegotiatedSrtp, SrtpPolicy,
};

/// `a=crypto` lines of one stream we look at; more are ignored.
const MAX_CRYPTO_LINES: usize = 16;

/// An audio codec we can send and receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl Codec {
    /// Static RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// Encoding name as in `a=rtpmap`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    fn from_static_pt(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }
}

/// Why an SDP body cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is not UTF-8 text.
    #[error("SDP is not valid UTF-8")]
    InvalidUtf8,
    /// No `m=audio` line.
    #[error("no audio media line")]
    NoAudio,
    /// The audio stream was rejected (port 0).
    #[error("audio stream rejected (port 0)")]
    Rejected,
    /// No usable `c=` connection address.
    #[error("no usable connection address")]
    NoConnection,
    /// The `m=` line is malformed.
    #[error("malformed media line")]
    InvalidMedia,
    /// No codec in common with ours.
    #[error("no common codec")]
    NoCommonCodec,
    /// SRTP could not be agreed (and the policy or the peer's profile requires it).
    #[error("SRTP: {0}")]
    Crypto(#[from] CryptoError),
}

/// Media direction attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly`
    SendOnly,
    /// `a=recvonly`
    RecvOnly,
    /// `a=inactive`
    Inactive,
}

impl Direction {
    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// What the peer told us about its media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMedia {
    /// Where to send RTP.
    pub rtp_addr: SocketAddr,
    /// The codec to use (first supported one in the peer's list).
    pub codec: Codec,
    /// The peer's `telephone-event/8000` payload type, if offered.
    pub telephone_event_pt: Option<u8>,
    /// `a=ptime`, if given.
    pub ptime_ms: Option<u32>,
    /// The peer's direction.
    pub direction: Direction,
    /// The SSRC the peer announced for its RTP (`a=ssrc`, RFC 5576), if it did.
    pub ssrc: Option<u32>,
    /// The SRTP both sides agreed on; `None`: plain RTP.
    pub srtp: Option<NegotiatedSrtp>,
}

/// Our side of the media: where we receive RTP and what we support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address and port where we receive RTP.
    pub rtp_addr: SocketAddr,
    /// Codecs in preference order.
    pub codecs: Vec<Codec>,
    /// Payload type for `telephone-event/8000` (101 by default).
    pub telephone_event_pt: u8,
    /// SDP session id (`o=` line); any number.
    pub session_id: u64,
    /// The SSRC our RTP will carry, announced as `a=ssrc:<id> cname:voicebot` (RFC 5576): a peer that
    /// receives many calls on one RTP socket from one address of ours tells them apart by it.
    pub ssrc: Option<u32>,
    /// SRTP: our policy and keys (`None`: plain RTP only, and `RTP/SAVP` offers are refused).
    pub srtp: Option<LocalSrtp>,
}

impl LocalMedia {
    /// PCMU, PCMA and telephone-event on 101, receiving at `rtp_addr`.
    pub fn new(rtp_addr: SocketAddr) -> LocalMedia {
        LocalMedia {
            rtp_addr,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event_pt: 101,
            session_id: 1,
            ssrc: None,
            srtp: None,
        }
    }

    /// Our SDP offer: `RTP/SAVP` when SRTP is mandatory, else `RTP/AVP`; one `a=crypto` line per
    /// suite when SRTP is on (best effort: `RTP/AVP` with crypto, which SDES peers accept).
    pub fn offer(&self) -> String {
        let srtp = self.srtp.as_ref();
        let secure = srtp.is_some_and(|s| s.mandatory);
        let crypto = srtp.map(LocalSrtp::offer_lines).unwrap_or_default();
        self.render(&self.codecs, Some(self.telephone_event_pt), Direction::SendRecv, (secure, &crypto))
    }

    /// Reads the peer's answer to [`LocalMedia::offer`]: its codec, and the SRTP keys of the crypto
    /// line it accepted. Refused when SRTP is mandatory and the answer has no usable `a=crypto`, or
    /// when its crypto line does not match our offer (media would be undecodable).
    pub fn accept_answer(&self, answer: &[u8]) -> Result<RemoteMedia, SdpError> {
        let (mut remote, security) = parse_with(answer, &[Codec::Pcmu, Codec::Pcma])?;
        remote.srtp = crypto::accept_answer(self.srtp.as_ref(), &security.crypto)?;
        Ok(remote)
    }

    /// Answers a remote offer: picks the offer's first codec we support and echoes its telephone-event PT,
    /// and its first usable crypto line when SRTP is on (or required by its `RTP/SAVP`).
    /// Returns our answer body and what we learned about the peer.
    pub fn answer(&self, offer: &[u8]) -> Result<(String, RemoteMedia), SdpError> {
        let (mut remote, security) = parse_with(offer, &self.codecs)?;
        let agreed = crypto::answer_offer(self.srtp.as_ref(), security.secure, &security.crypto)?;
        let dir = match remote.direction {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        };
        let lines: Vec<String> = agreed.iter().map(|(_, line)| line.clone()).collect();
        let body = self.render(&[remote.codec], remote.telephone_event_pt, dir, (security.secure, &lines));
        remote.srtp = agreed.map(|(srtp, _)| srtp);
        Ok((body, remote))
    }

    /// The body; `secure`: `RTP/SAVP` instead of `RTP/AVP`, `crypto`: `a=` lines to add.
    fn render(
        &self,
        codecs: &[Codec],
        te: Option<u8>,
        dir: Direction,
        (secure, crypto): (bool, &[String]),
    ) -> String {
        let ip = self.rtp_addr.ip();
        let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
        let fmts: Vec<String> =
            codecs.iter().map(|c| c.payload_type()).chain(te).map(|pt| pt.to_string()).collect();
        let mut s = format!(
            "v=0\r\no=voicebot {id} {id} IN {family} {ip}\r\ns=voicebot\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
             m=audio {port} {proto} {fmts}\r\n",
            id = self.session_id,
            port = self.rtp_addr.port(),
            proto = if secure { "RTP/SAVP" } else { "RTP/AVP" },
            fmts = fmts.join(" "),
        );
        for c in codecs {
            s.push_str(&format!("a=rtpmap:{} {}/8000\r\n", c.payload_type(), c.name()));
        }
        if let Some(te) = te {
            s.push_str(&format!("a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"));
        }
        s.push_str(&format!("a=ptime:20\r\na={}\r\n", dir.attr()));
        if let Some(ssrc) = self.ssrc {
            s.push_str(&format!("a=ssrc:{ssrc} cname:voicebot\r\n"));
        }
        for line in crypto {
            s.push_str(&format!("a={line}\r\n"));
        }
        s
    }
}

/// Reads a remote answer or offer, choosing the first of its codecs that is PCMU or PCMA. SRTP is not
/// negotiated here (`srtp` is `None`): see [`LocalMedia::accept_answer`] and [`LocalMedia::answer`].
pub fn parse_remote(body: &[u8]) -> Result<RemoteMedia, SdpError> {
    parse_with(body, &[Codec::Pcmu, Codec::Pcma]).map(|(remote, _)| remote)
}

/// The audio stream's security: its profile and `a=crypto` values, for [`crypto`] to negotiate.
struct Security {
    /// `RTP/SAVP` (or `RTP/SAVPF`): the peer requires SRTP.
    secure: bool,
    /// The `a=crypto:` attribute values, in order.
    crypto: Vec<String>,
}

#[derive(Default)]
struct AudioSection<'a> {
    port: Option<u16>,
    secure: bool,
    crypto: Vec<String>,
    fmts: Vec<&'a str>,
    conn: Option<IpAddr>,
    rtpmaps: Vec<(u8, &'a str)>,
    ptime: Option<u32>,
    direction: Option<Direction>,
    ssrc: Option<u32>,
}

fn parse_with(body: &[u8], supported: &[Codec]) -> Result<(RemoteMedia, Security), SdpError> {
    let text = std::str::from_utf8(body).map_err(|_| SdpError::InvalidUtf8)?;
    let mut session_conn = None;
    let mut session_dir = None;
    let mut audio: Option<AudioSection> = None;
    let mut in_other_media = false;
    for line in text.lines().map(str::trim) {
        let Some((kind, value)) = line.split_once('=') else { continue };
        match (kind, audio.as_mut()) {
            ("m", Some(_)) => break,
            ("m", None) if value.starts_with("audio ") => audio = Some(parse_m_line(value)?),
            ("m", None) => in_other_media = true,
            (_, None) if in_other_media => {}
            ("c", None) => session_conn = parse_c_line(value),
            ("c", Some(a)) => a.conn = parse_c_line(value),
            ("a", a) => parse_attr(value, a, &mut session_dir),
            _ => {}
        }
    }
    let audio = audio.ok_or(SdpError::NoAudio)?;
    let port = audio.port.ok_or(SdpError::InvalidMedia)?;
    if port == 0 {
        return Err(SdpError::Rejected);
    }
    let ip = audio.conn.or(session_conn).ok_or(SdpError::NoConnection)?;
    let mut codec = None;
    let mut telephone_event_pt = None;
    for fmt in &audio.fmts {
        let Ok(pt) = fmt.parse::<u8>() else { continue };
        let name = audio.rtpmaps.iter().find(|(p, _)| *p == pt).map(|(_, n)| *n);
        let found = match name {
            Some(n) => {
                supported.iter().copied().find(|c| n.eq_ignore_ascii_case(&format!("{}/8000", c.name())))
            }
            None => Codec::from_static_pt(pt).filter(|c| supported.contains(c)),
        };
        if codec.is_none() {
            codec = found.map(|c| (c, pt));
        }
        if name.is_some_and(|n| n.eq_ignore_ascii_case("telephone-event/8000"))
            && telephone_event_pt.is_none()
        {
            telephone_event_pt = Some(pt);
        }
    }
    let (codec, _pt) = codec.ok_or(SdpError::NoCommonCodec)?;
    let direction = audio.direction.or(session_dir).unwrap_or(Direction::SendRecv);
    let rtp_addr = SocketAddr::new(ip, port);
    let remote = RemoteMedia {
        rtp_addr,
        codec,
        telephone_event_pt,
        ptime_ms: audio.ptime,
        direction,
        ssrc: audio.ssrc,
        srtp: None,
    };
    Ok((remote, Security { secure: audio.secure, crypto: audio.crypto }))
}

fn parse_m_line(value: &str) -> Result<AudioSection<'_>, SdpError> {
    let mut it = value.split_whitespace();
    let (_media, port, proto) = (it.next(), it.next(), it.next());
    let port =
        port.and_then(|p| p.split('/').next()).and_then(|p| p.parse().ok()).ok_or(SdpError::InvalidMedia)?;
    let secure =
        proto.is_some_and(|p| p.eq_ignore_ascii_case("RTP/SAVP") || p.eq_ignore_ascii_case("RTP/SAVPF"));
    Ok(AudioSection { port: Some(port), secure, fmts: it.collect(), ..AudioSection::default() })
}

fn parse_c_line(value: &str) -> Option<IpAddr> {
    let mut it = value.split_whitespace();
    let (Some("IN"), Some(_family), Some(addr)) = (it.next(), it.next(), it.next()) else { return None };
    addr.split('/').next()?.parse().ok()
}

fn parse_attr<'a>(value: &'a str, audio: Option<&mut AudioSection<'a>>, session_dir: &mut Option<Direction>) {
    let dir = match value {
        "sendrecv" => Some(Direction::SendRecv),
        "sendonly" => Some(Direction::SendOnly),
        "recvonly" => Some(Direction::RecvOnly),
        "inactive" => Some(Direction::Inactive),
        _ => None,
    };
    let Some(a) = audio else {
        if dir.is_some() {
            *session_dir = dir;
        }
        return;
    };
    if dir.is_some() {
        a.direction = dir;
    } else if let Some(map) = value.strip_prefix("rtpmap:") {
        if let Some((pt, name)) = map.split_once(' ')
            && let Ok(pt) = pt.trim().parse()
        {
            a.rtpmaps.push((pt, name.trim()));
        }
    } else if let Some(crypto) = value.strip_prefix("crypto:") {
        // Bounded: a peer cannot make us keep more than a handful of lines.
        if a.crypto.len() < MAX_CRYPTO_LINES {
            a.crypto.push(crypto.trim().to_string());
        }
    } else if let Some(ptime) = value.strip_prefix("ptime:") {
        a.ptime = ptime.trim().parse().ok();
    } else if let Some(ssrc) = value.strip_prefix("ssrc:")
        && a.ssrc.is_none()
    {
        a.ssrc = ssrc.split_whitespace().next().and_then(|id| id.parse().ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssrc_is_announced_and_read_back() {
        let mut ours = local();
        assert!(!ours.offer().contains("a=ssrc"));
        ours.ssrc = Some(3_000_000_001);
        let offer = ours.offer();
        assert!(offer.contains("a=ssrc:3000000001 cname:voicebot\r\n"), "{offer}");
        assert_eq!(parse_remote(offer.as_bytes()).expect("parse").ssrc, Some(3_000_000_001));
        let (answer, remote) = local().answer(offer.as_bytes()).expect("answer");
        assert_eq!(
            (remote.ssrc, parse_remote(answer.as_bytes()).expect("parse").ssrc),
            (Some(3_000_000_001), None)
        );
    }

    fn local() -> LocalMedia {
        LocalMedia::new("127.0.0.1:40000".parse().expect("addr"))
    }

    #[test]
    fn offer_has_required_lines() {
        let o = local().offer();
        for line in [
            "m=audio 40000 RTP/AVP 0 8 101",
            "c=IN IP4 127.0.0.1",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=sendrecv",
        ] {
            assert!(o.contains(line), "missing {line} in {o}");
        }
    }

    #[test]
    fn answer_picks_first_common_codec() {
        let offer = "v=0\r\no=x 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
            m=audio 6000 RTP/AVP 18 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=ptime:20\r\n";
        let (body, remote) = local().answer(offer.as_bytes()).expect("answer");
        assert_eq!(remote.codec, Codec::Pcma);
        assert_eq!(remote.telephone_event_pt, Some(96));
        assert_eq!(remote.rtp_addr, "10.0.0.9:6000".parse().expect("addr"));
        assert!(body.contains("m=audio 40000 RTP/AVP 8 96\r\n"), "{body}");
        let back = parse_remote(body.as_bytes()).expect("parse own answer");
        assert_eq!((back.codec, back.telephone_event_pt), (Codec::Pcma, Some(96)));
    }

    /// What baresip with `mediaenc=srtp-mand` offers: `RTP/SAVP`, one `_80` line. Our answer echoes the
    /// profile and the tag with our own key; without SRTP we refuse it.
    #[test]
    fn savp_offer_is_answered_with_its_tag_and_our_key() {
        use rand::SeedableRng;
        let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
            m=audio 10000 RTP/SAVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n\
            a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:WnD7c1ksDGs+dIefCEo4Wsn3GvzMc0Bv/xOIOAqo|2^31\r\n";
        let mut ours = local();
        ours.srtp = LocalSrtp::new(SrtpPolicy::Optional, &mut rand::rngs::StdRng::seed_from_u64(3));
        let (answer, remote) = ours.answer(offer.as_bytes()).expect("answer");
        assert!(answer.contains("m=audio 40000 RTP/SAVP 0 101\r\n"), "{answer}");
        let srtp = remote.srtp.expect("srtp");
        assert_eq!(
            (srtp.tag, srtp.suite, srtp.receive_lifetime),
            (7, CryptoSuite::AesCm128HmacSha1_80, 1 << 31)
        );
        let line = answer.lines().find(|l| l.starts_with("a=crypto:")).expect("crypto line");
        assert!(line.starts_with("a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:"), "{line}");
        assert!(!line.contains("WnD7c1ks"), "our own key, not theirs: {line}");
        assert_eq!(local().answer(offer.as_bytes()), Err(SdpError::Crypto(CryptoError::NotEnabled)));
        // Offer without SRTP: our answer stays plain even with SRTP optional.
        let plain = offer.replace("RTP/SAVP", "RTP/AVP").replace("a=crypto", "a=x-crypto");
        let (answer, remote) = ours.answer(plain.as_bytes()).expect("answer");
        assert!(answer.contains("RTP/AVP") && !answer.contains("a=crypto"), "{answer}");
        assert_eq!(remote.srtp, None);
    }

    #[test]
    fn media_level_connection_and_errors() {
        let sdp = "v=0\r\nc=IN IP4 1.1.1.1\r\nm=video 9 RTP/AVP 96\r\nc=IN IP4 9.9.9.9\r\n\
            m=audio 7000 RTP/AVP 0\r\nc=IN IP4 2.2.2.2\r\na=recvonly\r\n";
        let r = parse_remote(sdp.as_bytes()).expect("parse");
        assert_eq!(r.rtp_addr, "2.2.2.2:7000".parse().expect("addr"));
        assert_eq!(r.direction, Direction::RecvOnly);
        assert_eq!(parse_remote(b"v=0\r\nm=audio 0 RTP/AVP 0\r\n"), Err(SdpError::Rejected));
        assert_eq!(parse_remote(b"v=0\r\nm=audio 5 RTP/AVP 0\r\n"), Err(SdpError::NoConnection));
        assert_eq!(
            parse_remote(b"v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 5 RTP/AVP 18\r\n"),
            Err(SdpError::NoCommonCodec)
        );
        assert_eq!(parse_remote(b"v=0\r\n"), Err(SdpError::NoAudio));
    }
}
