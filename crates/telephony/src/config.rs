//! Configuration of the UAC endpoint, of trunks and of one call request: plain data with defaults, so the
//! dialer (which reads `[[trunks]]` from voicebot.toml) builds them without knowing the drivers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use voicebot_sip::{Codec, SrtpPolicy, TimerConfig};

use crate::error::TelephonyError;

/// Settings of one [`crate::Telephony`] endpoint.
#[derive(Debug, Clone)]
pub struct TelephonyConfig {
    /// Where the SIP UDP socket binds (port 0: any free port).
    pub sip_bind: SocketAddr,
    /// Address put in Via/Contact when `sip_bind` is a wildcard (default: the bind address).
    pub advertised_ip: Option<IpAddr>,
    /// Address the RTP sockets bind to (and put in our SDP).
    pub rtp_bind_ip: IpAddr,
    /// RTP port range (even ports are used, each call's at random); `None`: any free port chosen by the
    /// OS. In [`RtpSocket::Shared`] mode the one shared socket takes a free port of it.
    pub rtp_ports: Option<RangeInclusive<u16>>,
    /// One RTP socket per call (default) or one for all calls of the endpoint.
    pub rtp_socket: RtpSocket,
    /// Run the in-band DTMF detector on received audio (RFC 4733 events are always decoded).
    pub inband_dtmf: bool,
    /// Run the media clock thread SCHED_FIFO at this priority (1–99), as media servers are deployed, so
    /// other work on the machine cannot delay its packets. Needs CAP_SYS_NICE (or root); without it a
    /// warning is logged and the thread runs at normal priority. `None` (default): normal priority.
    pub media_priority: Option<u8>,
    /// RFC 3261 timers (T1 500 ms by default; tests may shorten them).
    pub timers: TimerConfig,
    /// User-Agent header.
    pub user_agent: String,
    /// How long [`crate::Telephony::shutdown`] waits for hung-up calls to end.
    pub shutdown_grace: Duration,
}

impl Default for TelephonyConfig {
    fn default() -> Self {
        TelephonyConfig {
            sip_bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            advertised_ip: None,
            rtp_bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rtp_ports: None,
            rtp_socket: RtpSocket::PerCall,
            inband_dtmf: true,
            media_priority: None,
            timers: TimerConfig::default(),
            user_agent: "voicebot".into(),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// How an endpoint (or the virtual phone) binds the RTP of its calls.
///
/// Both modes run on the endpoint's one media clock thread ([`crate::clock`]); they differ in how many
/// sockets the kernel sees, and so in what a packet costs and what a peer must do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum RtpSocket {
    /// One socket (port) per call, named in that call's SDP and drawn at random from `rtp_ports`.
    /// Each packet costs its own `sendto` / `recvfrom` system call. Like [`RtpSocket::Shared`], a call
    /// hears only its peer: RTP from the address the peer's SDP names (with the SSRC it announced, if
    /// any); datagrams from anywhere else — a stranger spraying key presses at our ports — are dropped
    /// and counted ([`crate::ClockStats::unknown_source_dropped`]).
    #[default]
    PerCall,
    /// ONE socket for every call, its port named in every call's SDP. The clock sends a slot's
    /// packets with one `sendmmsg` and reads with `recvmmsg` in batches, routing each datagram by
    /// its source address to the call whose peer (the SDP's RTP address) it is: less kernel time
    /// per packet (2,000 calls both ways: ~0.3 fewer cores and far fewer late packets, see
    /// ARCHITECTURE.md). Peers MUST send from the address their SDP names (symmetric RTP);
    /// datagrams from any other source are dropped and counted
    /// ([`crate::ClockStats::unknown_source_dropped`]), and two calls whose peers share one RTP
    /// address cannot be told apart (the later call gets the packets).
    Shared,
}

impl RtpSocket {
    /// Parses `shared` / `per_call` (also `per-call`, `percall`), case-insensitive.
    pub fn parse(s: &str) -> Option<RtpSocket> {
        match s.trim().to_ascii_lowercase().as_str() {
            "shared" => Some(RtpSocket::Shared),
            "per_call" | "per-call" | "percall" => Some(RtpSocket::PerCall),
            _ => None,
        }
    }
}

/// A SIP trunk: where calls go and how we authenticate.
#[derive(Debug, Clone)]
pub struct TrunkConfig {
    /// The trunk's SIP address (resolved).
    pub addr: SocketAddr,
    /// Host part of the Request-URI and From URI (default: `addr` as `ip:port`).
    pub host: Option<String>,
    /// Digest username (401/407 challenges are answered when both are set).
    pub username: Option<String>,
    /// Digest password.
    pub password: Option<String>,
    /// Our number (user part of From).
    pub caller_id: String,
    /// Codecs to offer, in preference order.
    pub codecs: Vec<Codec>,
    /// CANCEL after this long without a final response.
    pub ring_timeout: Duration,
    /// SRTP (SDES): off, optional (best effort) or mandatory.
    pub srtp: SrtpPolicy,
}

impl TrunkConfig {
    /// A trunk at `addr` without credentials, offering PCMU then PCMA, 30 s ring timeout, no SRTP.
    pub fn new(addr: SocketAddr, caller_id: impl Into<String>) -> Self {
        TrunkConfig {
            addr,
            host: None,
            username: None,
            password: None,
            caller_id: caller_id.into(),
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            ring_timeout: Duration::from_secs(30),
            srtp: SrtpPolicy::Off,
        }
    }

    /// The host (and port) used in URIs.
    pub fn uri_host(&self) -> String {
        self.host.clone().unwrap_or_else(|| self.addr.to_string())
    }

    /// Checks at start-up what [`crate::Telephony::place_call`] would refuse on every call of this trunk:
    /// a caller id or host that cannot stand in a SIP URI, a username with control characters.
    pub fn check(&self) -> Result<(), TelephonyError> {
        voicebot_sip::sip_uri(&self.caller_id, &self.uri_host())?;
        if let Some(username) = &self.username {
            voicebot_sip::header::quoted_string(username)?;
        }
        Ok(())
    }
}

/// One call to place.
#[derive(Debug, Clone)]
pub struct CallRequest {
    /// The Call-ID, chosen by the caller so it can be recorded before the INVITE leaves.
    pub call_id: String,
    /// The number to dial (E.164, e.g. `+2348000000001`).
    pub number: String,
    /// The trunk to dial through.
    pub trunk: TrunkConfig,
}

impl CallRequest {
    /// A request for `number` through `trunk` with the given Call-ID.
    pub fn new(call_id: impl Into<String>, number: impl Into<String>, trunk: TrunkConfig) -> Self {
        CallRequest { call_id: call_id.into(), number: number.into(), trunk }
    }
}

/// A fresh random Call-ID (`<hex>@voicebot`), for callers with no id of their own.
pub fn new_call_id() -> String {
    format!("{:032x}@voicebot", rand::random::<u128>())
}
