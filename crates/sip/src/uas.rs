//! The inbound call leg (UAS) behind `voicebot phone`: [`InboundCall`], one per received INVITE.
//!
//! Owns the INVITE server transaction (100 sent at once; 180 and the final response on the driver's command;
//! final responses retransmitted on Timer G until the ACK, abandoned at Timer H; ACK retransmissions absorbed
//! for Timer I), CANCEL (200 to the CANCEL, 487 to the INVITE), BYE in both directions, and the SDP answer.
//! Same poll-style API as [`crate::OutboundCall`]; the driver creates the leg when [`crate::peek`] shows an
//! INVITE with an unknown Call-ID.
//!
//! The same hardening as the UAC: an INVITE whose headers cannot be echoed safely starts no leg; requests
//! count only from the INVITE's source or the dialog's next hop (others get no answer), and a BYE ends the
//! call only with the dialog's tags.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::dialog::{Dialog, response_to, route_entries, same_addr};
use crate::header::{CSeq, NameAddr, SipUri, Via};
use crate::message::{Message, Method, Request, SerialiseError};
use crate::outcome::EndReason;
use crate::parse::{ParseError, parse};
use crate::sdp::{LocalMedia, RemoteMedia, SdpError, parse_remote};
use crate::timer::{Timer, TimerConfig, TimerTable};
use crate::transaction::{NonInviteClient, ResponseCache, Transmit, random_token};

/// Settings for answering calls.
#[derive(Debug, Clone)]
pub struct InboundConfig {
    /// Our SIP socket address (Contact).
    pub local_addr: SocketAddr,
    /// Our media, used to build the SDP answer.
    pub media: LocalMedia,
    /// RFC 3261 timer values.
    pub timers: TimerConfig,
    /// Server header value.
    pub user_agent: String,
}

impl InboundConfig {
    /// Defaults: standard timers, `voicebot-phone` as Server.
    pub fn new(local_addr: SocketAddr, media: LocalMedia) -> InboundConfig {
        InboundConfig {
            local_addr,
            media,
            timers: TimerConfig::default(),
            user_agent: "voicebot-phone".into(),
        }
    }
}

/// Why a datagram cannot start an inbound call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InboundError {
    /// The bytes are not a SIP message.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The message is not an INVITE request.
    #[error("not an INVITE request")]
    NotInvite,
    /// The INVITE's top Via has no branch (RFC 2543 peers are not supported).
    #[error("INVITE has no Via branch")]
    NoBranch,
    /// A response to the INVITE would echo a header value that cannot be sent safely (CR, LF or NUL).
    #[error("the INVITE cannot be answered: {0}")]
    Unanswerable(#[from] SerialiseError),
    /// The caller's SDP offer is unusable.
    #[error(transparent)]
    Sdp(#[from] SdpError),
    /// The INVITE was already answered, rejected or cancelled.
    #[error("the INVITE is no longer ringing")]
    NotRinging,
}

/// What the driver learns about an inbound call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InboundEvent {
    /// The ACK for our 2xx arrived: the call is confirmed.
    Confirmed,
    /// The call is over (emitted once). Keep driving the leg until [`InboundCall::is_terminated`].
    Ended(EndReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// INVITE received; 1xx sent.
    Proceeding,
    /// 2xx sent, waiting for the ACK (Timers G, H).
    Accepted,
    /// 2xx ACKed.
    Confirmed,
    /// Non-2xx final sent, waiting for the ACK (Timers G, H).
    Completed,
    /// Our BYE in flight (Timers E, F).
    Terminating,
    /// Absorbing retransmissions (Timer I or Linger).
    Draining,
    /// Done.
    Terminated,
}

/// One inbound call leg.
#[derive(Debug)]
pub struct InboundCall {
    cfg: InboundConfig,
    state: State,
    timers: TimerTable,
    transmits: VecDeque<Transmit>,
    events: VecDeque<InboundEvent>,
    source: SocketAddr,
    invite: Request,
    branch: String,
    local_tag: String,
    last_response: Vec<u8>,
    g_interval: Duration,
    dialog: Option<Dialog>,
    cseq: u32,
    bye: Option<NonInviteClient>,
    responded: ResponseCache,
    ended: bool,
}

impl InboundCall {
    /// Starts a leg from an INVITE datagram received from `from`, and queues `100 Trying`.
    pub fn new(
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        mut cfg: InboundConfig,
    ) -> Result<InboundCall, InboundError> {
        let _ = now;
        cfg.timers = cfg.timers.sanitized();
        let Message::Request(invite) = parse(datagram)? else { return Err(InboundError::NotInvite) };
        if invite.method != Method::Invite {
            return Err(InboundError::NotInvite);
        }
        let via = invite.headers.get("Via").and_then(Via::parse);
        let branch = via.as_ref().and_then(Via::branch).ok_or(InboundError::NoBranch)?.to_string();
        let mut call = InboundCall {
            g_interval: cfg.timers.t1,
            cfg,
            state: State::Proceeding,
            timers: TimerTable::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            source: from,
            invite,
            branch,
            local_tag: random_token(10),
            last_response: Vec::new(),
            dialog: None,
            cseq: 0,
            bye: None,
            responded: ResponseCache::default(),
            ended: false,
        };
        call.respond_invite(100, None)?;
        Ok(call)
    }

    /// The Call-ID.
    pub fn call_id(&self) -> &str {
        self.invite.headers.get("Call-ID").unwrap_or_default()
    }

    /// The user part of the Request-URI: the dialed number.
    pub fn dialed_user(&self) -> Option<String> {
        SipUri::parse(&self.invite.uri).and_then(|u| u.user)
    }

    /// The caller's From URI.
    pub fn caller_uri(&self) -> Option<String> {
        self.invite.headers.get("From").and_then(NameAddr::parse).map(|n| n.uri)
    }

    /// The caller's SDP offer, parsed.
    pub fn remote_offer(&self) -> Result<RemoteMedia, SdpError> {
        parse_remote(&self.invite.body)
    }

    /// Sends `180 Ringing` (only before a final response).
    pub fn ring(&mut self, _now: Instant) {
        if self.state == State::Proceeding {
            // The same echoed values as the 100 that `new` could send, plus our Contact.
            let _ = self.respond_invite(180, None);
        }
    }

    /// Answers with `200 OK` and our SDP answer; retransmits it on Timer G until the ACK (Timer H gives up).
    /// Returns the caller's media. On an unusable offer, or a Record-Route or Contact of the caller's that
    /// cannot be echoed safely, nothing is sent: reject instead (488, 500).
    pub fn answer(&mut self, now: Instant) -> Result<RemoteMedia, InboundError> {
        if self.state != State::Proceeding {
            return Err(InboundError::NotRinging);
        }
        let (body, remote) = self.cfg.media.answer(&self.invite.body)?;
        let dialog = self.make_dialog();
        dialog.check()?;
        self.respond_invite(200, Some(body))?;
        self.dialog = Some(dialog);
        self.start_final_timers(now, State::Accepted);
        Ok(remote)
    }

    /// Rejects the INVITE with a final `status` (300–699) and absorbs the ACK.
    pub fn reject(&mut self, now: Instant, status: u16) {
        if self.state != State::Proceeding || !(300..=699).contains(&status) {
            return;
        }
        let _ = self.respond_invite(status, None);
        self.start_final_timers(now, State::Completed);
        self.finish(EndReason::Rejected);
    }

    /// Hangs up: `603 Decline` before an answer, BYE after it.
    pub fn hangup(&mut self, now: Instant) {
        match self.state {
            State::Proceeding => self.reject(now, 603),
            State::Accepted | State::Confirmed => self.send_bye(now),
            _ => {}
        }
    }

    /// Feeds a datagram of this leg's Call-ID (others are ignored).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), ParseError> {
        let msg = parse(datagram)?;
        if msg.headers().get("Call-ID") != Some(self.call_id()) || self.state == State::Terminated {
            return Ok(());
        }
        match msg {
            Message::Request(req) => self.on_request(now, from, req),
            Message::Response(resp) => {
                let via = resp.headers.get("Via").and_then(Via::parse);
                let ours =
                    self.bye.as_ref().is_some_and(|b| via.as_ref().and_then(Via::branch) == Some(&b.branch))
                        && self.dialog.as_ref().is_some_and(|d| d.is_peer(from));
                if ours && resp.status >= 200 {
                    self.finish(EndReason::LocalHangup);
                    self.terminate();
                }
            }
        }
        Ok(())
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            let tc = self.cfg.timers;
            match timer {
                Timer::G => {
                    self.g_interval = (self.g_interval * 2).min(tc.t2);
                    self.timers.set(Timer::G, now + self.g_interval);
                    self.send_last_response();
                }
                Timer::H if self.state == State::Accepted => {
                    self.timers.stop(Timer::G);
                    self.send_bye(now);
                    self.finish(EndReason::AckTimeout);
                }
                Timer::E => {
                    if let Some(t) = self.bye.as_mut().map(|b| b.retransmit(now, &mut self.timers, &tc)) {
                        self.transmits.push_back(t);
                    }
                }
                Timer::F => {
                    self.finish(EndReason::LocalHangup);
                    self.terminate();
                }
                _ => self.terminate(),
            }
        }
    }

    /// Next datagram to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<InboundEvent> {
        self.events.pop_front()
    }

    /// When to call [`InboundCall::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// True when the leg can be dropped.
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// A request with this leg's Call-ID. Only the INVITE's source or the dialog's peer is answered at all;
    /// a BYE (or the ACK of a 2xx) acts only with the dialog's tags, CANCEL only with the INVITE's branch.
    fn on_request(&mut self, now: Instant, from: SocketAddr, req: Request) {
        if !(same_addr(from, self.source) || self.dialog.as_ref().is_some_and(|d| d.is_peer(from))) {
            return;
        }
        let via = req.headers.get("Via").and_then(Via::parse);
        let same_branch = via.as_ref().and_then(Via::branch) == Some(self.branch.as_str());
        let in_dialog = self.dialog.as_ref().is_some_and(|d| d.matches(&req));
        match req.method {
            Method::Invite if same_branch => self.send_last_response(),
            Method::Ack if same_branch || in_dialog => self.on_ack(now),
            Method::Ack => {}
            Method::Cancel if same_branch => {
                self.respond_other(&req, 200, from);
                if self.state == State::Proceeding {
                    let _ = self.respond_invite(487, None);
                    self.start_final_timers(now, State::Completed);
                    self.finish(EndReason::Cancelled);
                }
            }
            Method::Bye
                if in_dialog
                    && matches!(self.state, State::Accepted | State::Confirmed | State::Terminating) =>
            {
                if !self.respond_other(&req, 200, from) {
                    return;
                }
                if self.state != State::Terminating {
                    self.finish(EndReason::RemoteHangup);
                    self.timers.clear();
                    self.timers.set(Timer::Linger, now + self.cfg.timers.timeout());
                    self.state = State::Draining;
                }
            }
            Method::Bye if in_dialog && self.state == State::Draining => {
                self.respond_other(&req, 200, from);
            }
            Method::Cancel if self.state == State::Draining => {
                self.respond_other(&req, 200, from);
            }
            Method::Options => {
                self.respond_other(&req, 200, from);
            }
            Method::Bye | Method::Cancel | Method::Invite => {
                self.respond_other(&req, 481, from);
            }
            _ => {
                self.respond_other(&req, 501, from);
            }
        }
    }

    fn on_ack(&mut self, now: Instant) {
        match self.state {
            State::Accepted => {
                self.timers.stop(Timer::G);
                self.timers.stop(Timer::H);
                self.state = State::Confirmed;
                self.events.push_back(InboundEvent::Confirmed);
            }
            State::Completed => {
                self.timers.clear();
                self.timers.set(Timer::I, now + self.cfg.timers.t4);
                self.state = State::Draining;
            }
            _ => {}
        }
    }

    /// Sends a response to the INVITE (and keeps it for retransmissions); refused, with nothing sent, when
    /// the INVITE's echoed headers cannot be sent back safely.
    fn respond_invite(&mut self, status: u16, sdp: Option<String>) -> Result<(), SerialiseError> {
        let mut resp = response_to(&self.invite, status, Some(&self.local_tag), &self.cfg.user_agent);
        if (101..300).contains(&status) {
            resp.headers.push("Contact", format!("<sip:phone@{}>", self.cfg.local_addr));
        }
        if let Some(body) = sdp {
            resp.headers.push("Content-Type", "application/sdp");
            resp.body = body.into_bytes();
        }
        self.last_response = resp.to_bytes()?;
        self.send_last_response();
        Ok(())
    }

    fn send_last_response(&mut self) {
        self.transmits.push_back(Transmit { destination: self.source, payload: self.last_response.clone() });
    }

    /// Responds to a non-INVITE request, remembering the response for retransmissions of that request.
    /// False (nothing sent) when the request's headers cannot be echoed safely.
    fn respond_other(&mut self, req: &Request, status: u16, from: SocketAddr) -> bool {
        let Some(cseq) = req.headers.get("CSeq").and_then(CSeq::parse) else { return false };
        let t = match self.responded.get(cseq.seq, &req.method) {
            Some(t) => t.clone(),
            None => {
                let resp = response_to(req, status, Some(&self.local_tag), &self.cfg.user_agent);
                let Ok(payload) = resp.to_bytes() else { return false };
                let t = Transmit { destination: from, payload };
                self.responded.put(cseq.seq, req.method.clone(), t.clone());
                t
            }
        };
        self.transmits.push_back(t);
        true
    }

    fn start_final_timers(&mut self, now: Instant, state: State) {
        self.g_interval = self.cfg.timers.t1;
        self.timers.set(Timer::G, now + self.g_interval);
        self.timers.set(Timer::H, now + self.cfg.timers.timeout());
        self.state = state;
    }

    fn make_dialog(&self) -> Dialog {
        let h = &self.invite.headers;
        let remote_target = h.get("Contact").and_then(NameAddr::parse).map(|n| n.uri);
        let caller = h.get("From").and_then(NameAddr::parse).map(|n| n.uri);
        Dialog {
            call_id: self.call_id().to_string(),
            local: format!("{};tag={}", h.get("To").unwrap_or_default(), self.local_tag),
            remote: h.get("From").unwrap_or_default().to_string(),
            remote_target: remote_target.or(caller).unwrap_or_default(),
            route_set: route_entries(h.get_all("Record-Route")),
            local_addr: self.cfg.local_addr,
            fallback: self.source,
            user_agent: self.cfg.user_agent.clone(),
        }
    }

    fn send_bye(&mut self, now: Instant) {
        let Some(dialog) = &self.dialog else { return };
        self.cseq += 1;
        let (req, branch) = dialog.request(Method::Bye, self.cseq);
        let Ok(t) = dialog.transmit(&req) else {
            // Checked when the call was answered; should it still be refused, end without a BYE.
            self.finish(EndReason::LocalHangup);
            self.terminate();
            return;
        };
        let tc = self.cfg.timers;
        self.timers.stop(Timer::G);
        self.timers.stop(Timer::H);
        let (tx, t) = NonInviteClient::start(now, (Timer::E, Timer::F), branch, t, &mut self.timers, &tc);
        self.bye = Some(tx);
        self.transmits.push_back(t);
        self.state = State::Terminating;
    }

    fn finish(&mut self, reason: EndReason) {
        if !self.ended {
            self.ended = true;
            self.events.push_back(InboundEvent::Ended(reason));
        }
    }

    fn terminate(&mut self) {
        self.timers.clear();
        self.state = State::Terminated;
    }
}
