//! The outbound call leg (UAC): [`OutboundCall`], one per dialed call.
//!
//! Owns everything one outbound call needs at the SIP layer: the INVITE client transaction (Timers A/B/D, ACK
//! for non-2xx in the transaction), digest re-INVITE on 401/407, the ring timeout and CANCEL, the dialog that
//! the 2xx creates (ACK for 2xx as a new request, re-ACK of retransmitted 2xx), and BYE in both directions.
//! The public API follows quinn-proto: feed input with [`OutboundCall::handle_datagram`] /
//! [`OutboundCall::handle_timeout`], then drain [`OutboundCall::poll_transmit`], [`OutboundCall::poll_event`]
//! and re-arm the driver's timer with [`OutboundCall::poll_timeout`]. The INVITE-side logic lives in
//! `invite.rs`; this file holds the leg's state, the public API and in-dialog request handling.
//!
//! Hardening: the leg is built only from values that serialise safely ([`OutboundCall::new`] refuses the
//! rest, so nothing is sent); responses count only from where their request went (in a dialog: from its
//! peer); requests count only from the trunk or the dialog's next hop, and act on the dialog only with its
//! tags — anything else gets no answer at all (a stranger learns nothing and cannot make us send to a
//! forged address).

mod invite;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::dialog::{Dialog, response_to, same_addr};
use crate::digest::Credentials;
use crate::header::{CSeq, Via, quoted_string};
use crate::message::{Message, Method, Request, SerialiseError, is_uri_text};
use crate::outcome::{CallEnd, EndReason, Outcome};
use crate::parse::{ParseError, parse};
use crate::sdp::{LocalMedia, RemoteMedia, SdpError};
use crate::timer::{Timer, TimerConfig, TimerTable};
use crate::transaction::{NonInviteClient, ResponseCache, Transmit, random_token};

/// Everything needed to place one call.
#[derive(Debug, Clone)]
pub struct CallConfig {
    /// Call-ID, chosen by the caller so it can be recorded before the INVITE leaves.
    pub call_id: String,
    /// Request-URI, e.g. `sip:+2348000000001@trunk.example:5060` (build it with [`crate::header::sip_uri`]).
    pub request_uri: String,
    /// Our identity (From URI), e.g. `sip:+2341000000000@trunk.example` ([`crate::header::sip_uri`]).
    pub from_uri: String,
    /// Optional From display name.
    pub from_display: Option<String>,
    /// Where to send the INVITE (the trunk, resolved by the driver).
    pub destination: SocketAddr,
    /// Our SIP socket address: used in Via and Contact, so it must be reachable by the peer.
    pub local_addr: SocketAddr,
    /// Our media (the SDP offer is built from it, and re-INVITEs are answered from it).
    pub media: LocalMedia,
    /// Digest credentials for 401/407 challenges.
    pub credentials: Option<Credentials>,
    /// CANCEL when no final response arrived this long after the INVITE was first sent (default 30 s).
    pub ring_timeout: Duration,
    /// RFC 3261 timer values (T1 = 500 ms by default).
    pub timers: TimerConfig,
    /// User-Agent header value.
    pub user_agent: String,
}

impl CallConfig {
    /// A config with defaults: no credentials, 30 s ring timeout, default timers, `User-Agent: voicebot`.
    pub fn new(
        call_id: impl Into<String>,
        request_uri: impl Into<String>,
        from_uri: impl Into<String>,
        destination: SocketAddr,
        local_addr: SocketAddr,
        media: LocalMedia,
    ) -> CallConfig {
        CallConfig {
            call_id: call_id.into(),
            request_uri: request_uri.into(),
            from_uri: from_uri.into(),
            from_display: None,
            destination,
            local_addr,
            media,
            credentials: None,
            ring_timeout: Duration::from_secs(30),
            timers: TimerConfig::default(),
            user_agent: "voicebot".to_string(),
        }
    }
}

/// What the driver learns about an outbound call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallEvent {
    /// First `100 Trying`.
    Trying,
    /// First `180`–`182`.
    Ringing,
    /// A provisional response carried SDP: early media can be received from this peer address.
    EarlyMedia(RemoteMedia),
    /// The call was answered: start media towards this peer.
    Answered(RemoteMedia),
    /// A re-INVITE changed the peer's media.
    MediaUpdated(RemoteMedia),
    /// The call is over. Emitted exactly once; the leg may still need time to absorb retransmissions
    /// (keep driving it until [`OutboundCall::is_terminated`]).
    Ended(CallEnd),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// INVITE sent, no response yet (Timers A, B).
    Calling,
    /// Provisional received.
    Proceeding,
    /// 2xx received and ACKed.
    Confirmed,
    /// Our BYE is in flight (Timers E, F).
    Terminating,
    /// Ended; absorbing retransmissions until Timer D or Linger.
    Draining,
    /// Nothing left to do.
    Terminated,
}

/// The current INVITE client transaction.
#[derive(Debug, Clone)]
struct InviteTx {
    branch: String,
    cseq: u32,
    request: Request,
    bytes: Vec<u8>,
    interval: Duration,
}

/// One outbound call leg. See the crate docs for the run loop.
#[derive(Debug)]
pub struct OutboundCall {
    cfg: CallConfig,
    state: State,
    timers: TimerTable,
    transmits: VecDeque<Transmit>,
    events: VecDeque<CallEvent>,
    /// Our From header value, with our tag.
    from_value: String,
    /// Last CSeq number we used.
    cseq: u32,
    invite: Option<InviteTx>,
    /// ACKs sent for non-2xx finals, by INVITE branch, to answer retransmitted finals.
    acks: Vec<(String, Vec<u8>)>,
    /// Authorization headers to put on (re-)INVITEs.
    auth: Vec<(&'static str, String)>,
    /// Nonces already answered, to stop on a repeated challenge.
    answered_nonces: Vec<String>,
    ack_2xx: Option<Transmit>,
    dialog: Option<Dialog>,
    cancel: Option<NonInviteClient>,
    cancel_reason: Option<EndReason>,
    bye: Option<NonInviteClient>,
    early: Option<RemoteMedia>,
    /// Why the answer's SDP was refused, if it was.
    answer_error: Option<SdpError>,
    seen_trying: bool,
    seen_ringing: bool,
    /// Responses we sent to in-dialog requests, to answer their retransmissions.
    responded: ResponseCache,
    end: Option<CallEnd>,
}

impl OutboundCall {
    /// Creates the leg and queues the INVITE: call [`OutboundCall::poll_transmit`] next.
    /// `now` starts Timers A, B and the ring timeout.
    ///
    /// Refused, with nothing queued, when a value of `config` would break the INVITE: CR, LF or NUL in any
    /// header value, a URI with whitespace or delimiters, a display name or digest username with a control
    /// character (see [`SerialiseError`]).
    pub fn new(now: Instant, mut config: CallConfig) -> Result<OutboundCall, SerialiseError> {
        config.timers = config.timers.sanitized();
        if !is_uri_text(&config.from_uri) {
            return Err(SerialiseError::Uri);
        }
        if let Some(cred) = &config.credentials {
            quoted_string(&cred.username)?;
        }
        let tag = random_token(10);
        let from_value = match &config.from_display {
            Some(d) => format!("{} <{}>;tag={tag}", quoted_string(d)?, config.from_uri),
            None => format!("<{}>;tag={tag}", config.from_uri),
        };
        let ring = now + config.ring_timeout;
        let mut call = OutboundCall {
            cfg: config,
            state: State::Calling,
            timers: TimerTable::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            from_value,
            cseq: 0,
            invite: None,
            acks: Vec::new(),
            auth: Vec::new(),
            answered_nonces: Vec::new(),
            ack_2xx: None,
            dialog: None,
            cancel: None,
            cancel_reason: None,
            bye: None,
            early: None,
            answer_error: None,
            seen_trying: false,
            seen_ringing: false,
            responded: ResponseCache::default(),
            end: None,
        };
        call.timers.set(Timer::RingTimeout, ring);
        call.send_invite(now)?;
        Ok(call)
    }

    /// The Call-ID (the demultiplexing key for [`crate::peek`]).
    pub fn call_id(&self) -> &str {
        &self.cfg.call_id
    }

    /// Feeds one received datagram. Datagrams for another Call-ID are ignored. Returns the parse error for
    /// unparseable bytes (the leg is unaffected). Afterwards drain `poll_transmit` and `poll_event`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), ParseError> {
        let msg = parse(datagram)?;
        if msg.headers().get("Call-ID") != Some(self.cfg.call_id.as_str()) || self.state == State::Terminated
        {
            return Ok(());
        }
        match msg {
            Message::Response(r) => self.on_response(now, from, r),
            Message::Request(r) => self.on_request(now, from, r),
        }
        Ok(())
    }

    /// Fires every timer due at `now`. Call when the deadline from [`OutboundCall::poll_timeout`] passes.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            self.on_timer(now, timer);
        }
    }

    /// Ends the call from our side: CANCEL before the answer (sent once a provisional arrived, RFC 3261 §9.1),
    /// BYE after it. The `Ended` event follows when the peer confirms (or the transaction times out).
    pub fn hangup(&mut self, now: Instant) {
        match self.state {
            State::Calling | State::Proceeding => self.start_cancel(now, EndReason::LocalCancel),
            State::Confirmed => self.send_bye(now),
            _ => {}
        }
    }

    /// The driver could not send (e.g. ICMP unreachable): ends the call as `Failed` with a synthesized 503
    /// (RFC 3261 §8.1.3.1) before the answer, or as `Answered` with the 200 kept after it.
    pub fn handle_transport_error(&mut self, _now: Instant) {
        let end = match self.state {
            State::Confirmed | State::Terminating => {
                CallEnd { outcome: Outcome::Answered, sip_code: 200, reason: EndReason::TransportError }
            }
            _ => CallEnd { outcome: Outcome::Failed, sip_code: 503, reason: EndReason::TransportError },
        };
        self.finish(end);
        self.terminate();
    }

    /// Next datagram to send, if any. Call after every `handle_*`, `new` and `hangup` until `None`.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event, if any. Call after every `handle_*` until `None`.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<CallEvent> {
        self.events.pop_front()
    }

    /// When [`OutboundCall::handle_timeout`] must next be called; `None` once terminated.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// True when the leg has nothing left to do and can be dropped.
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// The end of the call, once known.
    pub fn end(&self) -> Option<CallEnd> {
        self.end
    }

    fn on_timer(&mut self, now: Instant, timer: Timer) {
        let tc = self.cfg.timers;
        match timer {
            Timer::A => self.retransmit_invite(now),
            Timer::B => self.on_timer_b(),
            Timer::RingTimeout => self.start_cancel(now, EndReason::RingTimeout),
            Timer::CancelGuard => self.on_cancel_guard(),
            Timer::CancelE => {
                if let Some(t) = self.cancel.as_mut().map(|c| c.retransmit(now, &mut self.timers, &tc)) {
                    self.transmits.push_back(t);
                }
            }
            Timer::CancelF => self.cancel = None,
            Timer::E => {
                if let Some(t) = self.bye.as_mut().map(|b| b.retransmit(now, &mut self.timers, &tc)) {
                    self.transmits.push_back(t);
                }
            }
            Timer::F => {
                self.bye = None;
                self.finish(CallEnd {
                    outcome: Outcome::Answered,
                    sip_code: 200,
                    reason: EndReason::LocalHangup,
                });
                self.terminate();
            }
            Timer::D | Timer::Linger => self.terminate(),
            Timer::G | Timer::H | Timer::I => {}
        }
    }

    /// A response counts only with its transaction's branch and from where its request went: the trunk for
    /// INVITE and CANCEL; for BYE the dialog's peer (its next hop, or the trunk: a peer may answer through
    /// the address it learned the dialog from, as sipp does).
    fn on_response(&mut self, now: Instant, from: SocketAddr, resp: crate::message::Response) {
        let Some(cseq) = resp.headers.get("CSeq").and_then(CSeq::parse) else { return };
        let via = resp.headers.get("Via").and_then(Via::parse);
        let branch = via.as_ref().and_then(Via::branch).unwrap_or_default().to_string();
        let from_trunk = same_addr(from, self.cfg.destination);
        match cseq.method {
            Method::Invite if from_trunk => self.on_invite_response(now, &branch, cseq.seq, resp),
            Method::Cancel
                if resp.status >= 200
                    && self
                        .cancel
                        .as_ref()
                        .is_some_and(|c| c.branch == branch && same_addr(from, c.destination())) =>
            {
                if let Some(c) = self.cancel.take() {
                    c.finish(&mut self.timers);
                }
            }
            Method::Bye
                if self.bye.as_ref().is_some_and(|b| b.branch == branch)
                    && self.dialog.as_ref().is_some_and(|d| d.is_peer(from)) =>
            {
                if resp.status < 200 {
                    let tc = self.cfg.timers;
                    if let Some(b) = self.bye.as_mut() {
                        b.proceeding(&tc);
                    }
                    return;
                }
                if let Some(b) = self.bye.take() {
                    b.finish(&mut self.timers);
                }
                self.finish(CallEnd {
                    outcome: Outcome::Answered,
                    sip_code: 200,
                    reason: EndReason::LocalHangup,
                });
                self.terminate();
            }
            _ => {}
        }
    }

    /// A request with this leg's Call-ID. Only the trunk (before the answer) or the dialog's peer is
    /// answered at all; only a request with the dialog's tags acts on it (BYE, re-INVITE), others get 481.
    fn on_request(&mut self, now: Instant, from: SocketAddr, req: Request) {
        let peer = match &self.dialog {
            Some(dialog) => dialog.is_peer(from),
            None => same_addr(from, self.cfg.destination),
        };
        let Some(cseq) = req.headers.get("CSeq").and_then(CSeq::parse) else { return };
        if !peer || req.method == Method::Ack {
            return;
        }
        if let Some(t) = self.responded.get(cseq.seq, &req.method) {
            self.transmits.push_back(t.clone());
            return;
        }
        let in_dialog = self.dialog.as_ref().is_some_and(|d| d.matches(&req));
        let (status, answer) = match (&req.method, in_dialog) {
            (Method::Bye, true) => (200, None),
            (Method::Invite, true) if self.state == State::Confirmed => self.answer_reinvite(&req),
            (Method::Options | Method::Info | Method::Update | Method::Notify, true) => (200, None),
            (Method::Options, false) => (200, None),
            (_, false) => (481, None),
            (_, true) => (501, None),
        };
        let mut resp = response_to(&req, status, None, &self.cfg.user_agent);
        if let Some((body, _)) = &answer {
            resp.headers.push("Contact", format!("<sip:voicebot@{}>", self.cfg.local_addr));
            resp.headers.push("Content-Type", "application/sdp");
            resp.body = body.clone().into_bytes();
        }
        // A request whose echoed headers cannot be sent back safely is ignored, as if never received.
        let Ok(payload) = resp.to_bytes() else { return };
        let t = Transmit { destination: from, payload };
        if in_dialog {
            self.responded.put(cseq.seq, req.method.clone(), t.clone());
        }
        self.transmits.push_back(t);
        if let Some((_, Some(remote))) = answer {
            self.events.push_back(CallEvent::MediaUpdated(remote));
        }
        if req.method == Method::Bye && in_dialog && self.state == State::Confirmed {
            self.finish(CallEnd {
                outcome: Outcome::Answered,
                sip_code: 200,
                reason: EndReason::RemoteHangup,
            });
            self.drain(Timer::Linger, now + self.cfg.timers.timeout());
        }
    }

    /// Our answer to a re-INVITE: the SDP body (an offer of ours when it had none) and the peer's new
    /// media, if it sent an offer; 488 when its offer is unusable.
    fn answer_reinvite(&self, req: &Request) -> (u16, Option<(String, Option<RemoteMedia>)>) {
        if req.body.is_empty() {
            return (200, Some((self.cfg.media.offer(), None)));
        }
        match self.cfg.media.answer(&req.body) {
            Ok((body, remote)) => (200, Some((body, Some(remote)))),
            Err(_) => (488, None),
        }
    }

    fn send_bye(&mut self, now: Instant) {
        let Some(dialog) = &self.dialog else { return };
        self.cseq += 1;
        let (req, branch) = dialog.request(Method::Bye, self.cseq);
        let Ok(t) = dialog.transmit(&req) else {
            // The dialog's own values (checked when its ACK was built) cannot be sent: end without a BYE.
            let end = CallEnd { outcome: Outcome::Answered, sip_code: 200, reason: EndReason::LocalHangup };
            self.finish(end);
            self.terminate();
            return;
        };
        let tc = self.cfg.timers;
        let (tx, t) = NonInviteClient::start(now, (Timer::E, Timer::F), branch, t, &mut self.timers, &tc);
        self.bye = Some(tx);
        self.transmits.push_back(t);
        self.state = State::Terminating;
    }

    fn finish(&mut self, end: CallEnd) {
        if self.end.is_none() {
            self.end = Some(end);
            self.events.push_back(CallEvent::Ended(end));
        }
    }

    /// Ended, but keep answering retransmissions until `timer` fires at `at`.
    fn drain(&mut self, timer: Timer, at: Instant) {
        self.timers.clear();
        self.timers.set(timer, at);
        self.state = State::Draining;
    }

    fn terminate(&mut self) {
        self.timers.clear();
        self.state = State::Terminated;
    }
}
