//! The INVITE side of [`OutboundCall`]: the INVITE client transaction (RFC 3261 §17.1.1), responses to it,
//! digest retries, CANCEL (§9.1) and the dialog created by the 2xx (§13.2.2.4).
//!
//! Timer B runs only while no provisional response has arrived (state Calling); after a provisional the
//! ring timeout bounds the wait, and after a CANCEL Timer CancelGuard (64·T1) bounds the wait for the 487.

use std::time::Instant;

use super::{CallEvent, InviteTx, OutboundCall, State};
use crate::dialog::{Dialog, route_entries};
use crate::digest::{Challenge, DigestRequest, authorization};
use crate::header::NameAddr;
use crate::message::{Method, Request, Response, SerialiseError};
use crate::outcome::{CallEnd, EndReason, Outcome};
use crate::sdp::{RemoteMedia, SdpError};
use crate::timer::Timer;
use crate::transaction::{NonInviteClient, Transmit, new_branch, random_token, via_value};

/// Most digest rounds per call (a proxy and a UAS may both challenge; a stale nonce may add one).
const MAX_AUTH_ROUNDS: usize = 3;

impl OutboundCall {
    /// Builds and queues a new INVITE (new branch, next CSeq) and starts Timers A and B. Refused, with
    /// nothing changed or queued, when a value would break the message.
    pub(super) fn send_invite(&mut self, now: Instant) -> Result<(), SerialiseError> {
        let cseq = self.cseq + 1;
        let branch = new_branch();
        let cfg = &self.cfg;
        let mut req = Request::new(Method::Invite, cfg.request_uri.clone());
        let h = &mut req.headers;
        h.push("Via", via_value(cfg.local_addr, &branch));
        h.push("Max-Forwards", "70");
        h.push("From", self.from_value.clone());
        h.push("To", format!("<{}>", cfg.request_uri));
        h.push("Call-ID", cfg.call_id.clone());
        h.push("CSeq", format!("{cseq} INVITE"));
        h.push("Contact", format!("<sip:voicebot@{}>", cfg.local_addr));
        for (name, value) in &self.auth {
            h.push(*name, value.clone());
        }
        h.push("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS");
        h.push("User-Agent", cfg.user_agent.clone());
        h.push("Content-Type", "application/sdp");
        req.body = cfg.media.offer().into_bytes();
        let bytes = req.to_bytes()?;
        self.cseq = cseq;
        self.transmits.push_back(Transmit { destination: cfg.destination, payload: bytes.clone() });
        self.timers.set(Timer::A, now + cfg.timers.t1);
        self.timers.set(Timer::B, now + cfg.timers.timeout());
        self.invite = Some(InviteTx { branch, cseq, request: req, bytes, interval: cfg.timers.t1 });
        self.state = State::Calling;
        Ok(())
    }

    /// Timer A: retransmit while Calling, doubling the interval (no cap for INVITE).
    pub(super) fn retransmit_invite(&mut self, now: Instant) {
        if self.state != State::Calling {
            return;
        }
        let Some(inv) = self.invite.as_mut() else { return };
        inv.interval *= 2;
        self.timers.set(Timer::A, now + inv.interval);
        self.transmits.push_back(Transmit { destination: self.cfg.destination, payload: inv.bytes.clone() });
    }

    /// Timer B: no final (and no provisional) response within 64·T1.
    pub(super) fn on_timer_b(&mut self) {
        if self.state != State::Calling {
            return;
        }
        // The peer never answered at all: a transport-level failure even if our ring timeout fired meanwhile
        // (its CANCEL waits for a provisional). Only an explicit local hang-up keeps its own outcome.
        let end = match self.cancel_reason {
            Some(EndReason::LocalCancel) => {
                CallEnd { outcome: Outcome::Cancelled, sip_code: 408, reason: EndReason::LocalCancel }
            }
            _ => CallEnd { outcome: Outcome::Failed, sip_code: 408, reason: EndReason::Timeout },
        };
        self.finish(end);
        self.terminate();
    }

    /// CancelGuard: the 487 never came within 64·T1 of our CANCEL.
    pub(super) fn on_cancel_guard(&mut self) {
        if !matches!(self.state, State::Calling | State::Proceeding) {
            return;
        }
        let reason = self.cancel_reason.unwrap_or(EndReason::LocalCancel);
        self.finish(CallEnd { outcome: cancel_outcome(reason), sip_code: 408, reason });
        self.terminate();
    }

    /// Decides to cancel; sends the CANCEL now if a provisional arrived, else when one does.
    pub(super) fn start_cancel(&mut self, now: Instant, reason: EndReason) {
        if self.cancel_reason.is_some() || !matches!(self.state, State::Calling | State::Proceeding) {
            return;
        }
        self.cancel_reason = Some(reason);
        self.timers.stop(Timer::RingTimeout);
        if self.state == State::Proceeding {
            self.send_cancel(now);
        }
    }

    fn send_cancel(&mut self, now: Instant) {
        let Some(inv) = &self.invite else { return };
        let mut req = Request::new(Method::Cancel, inv.request.uri.clone());
        let h = &mut req.headers;
        for name in ["Via", "Max-Forwards", "From", "To", "Call-ID"] {
            if let Some(v) = inv.request.headers.get(name) {
                h.push(name, v);
            }
        }
        h.push("CSeq", format!("{} CANCEL", inv.cseq));
        for r in inv.request.headers.get_all("Route") {
            h.push("Route", r);
        }
        h.push("User-Agent", self.cfg.user_agent.clone());
        let tc = self.cfg.timers;
        self.timers.set(Timer::CancelGuard, now + tc.timeout());
        // Every value was in the INVITE already; should one still be refused, CancelGuard ends the call.
        let Ok(payload) = req.to_bytes() else { return };
        let t = Transmit { destination: self.cfg.destination, payload };
        let timers = (Timer::CancelE, Timer::CancelF);
        let (tx, t) = NonInviteClient::start(now, timers, inv.branch.clone(), t, &mut self.timers, &tc);
        self.cancel = Some(tx);
        self.transmits.push_back(t);
    }

    pub(super) fn on_invite_response(&mut self, now: Instant, branch: &str, seq: u32, resp: Response) {
        if let Some((_, ack)) = self.acks.iter().find(|(b, _)| b == branch)
            && resp.status >= 300
        {
            let t = Transmit { destination: self.cfg.destination, payload: ack.clone() };
            self.transmits.push_back(t);
            return;
        }
        let current = self.invite.as_ref().is_some_and(|i| i.branch == branch && i.cseq == seq);
        match (self.state, resp.status) {
            (State::Calling | State::Proceeding, 100..=199) if current => self.on_provisional(now, &resp),
            (State::Calling | State::Proceeding, 200..=299) if current => self.on_answer(now, &resp),
            (State::Calling | State::Proceeding, 300..) if current => self.on_failure(now, &resp),
            (_, 200..=299) if self.invite.as_ref().is_some_and(|i| i.cseq == seq) => {
                // A retransmitted (or forked) 2xx: the dialog re-sends its ACK (RFC 3261 §13.2.2.4).
                if let Some(t) = &self.ack_2xx {
                    self.transmits.push_back(t.clone());
                }
            }
            _ => {}
        }
    }

    fn on_provisional(&mut self, now: Instant, resp: &Response) {
        self.state = State::Proceeding;
        self.timers.stop(Timer::A);
        self.timers.stop(Timer::B);
        if resp.status == 100 && !self.seen_trying {
            self.seen_trying = true;
            self.events.push_back(CallEvent::Trying);
        }
        if (180..=182).contains(&resp.status) && !self.seen_ringing {
            self.seen_ringing = true;
            self.events.push_back(CallEvent::Ringing);
        }
        if !resp.body.is_empty()
            && self.early.is_none()
            && let Ok(media) = self.cfg.media.accept_answer(&resp.body)
        {
            self.early = Some(media.clone());
            self.events.push_back(CallEvent::EarlyMedia(media));
        }
        if self.cancel_reason.is_some() && self.cancel.is_none() && !self.timers.is_set(Timer::CancelGuard) {
            self.send_cancel(now);
        }
    }

    fn on_answer(&mut self, now: Instant, resp: &Response) {
        for t in [Timer::A, Timer::B, Timer::RingTimeout, Timer::CancelGuard, Timer::CancelE, Timer::CancelF]
        {
            self.timers.stop(t);
        }
        self.cancel = None;
        let Some(inv) = &self.invite else { return };
        let remote_target = resp
            .headers
            .get("Contact")
            .and_then(NameAddr::parse)
            .map(|n| n.uri)
            .unwrap_or_else(|| self.cfg.request_uri.clone());
        let mut route_set = route_entries(resp.headers.get_all("Record-Route"));
        route_set.reverse();
        let dialog = Dialog {
            call_id: self.cfg.call_id.clone(),
            local: self.from_value.clone(),
            remote: resp.headers.get("To").unwrap_or_default().to_string(),
            remote_target,
            route_set,
            local_addr: self.cfg.local_addr,
            fallback: self.cfg.destination,
            user_agent: self.cfg.user_agent.clone(),
        };
        let (mut ack, _) = dialog.request(Method::Ack, inv.cseq);
        for name in ["Authorization", "Proxy-Authorization"] {
            for v in inv.request.headers.get_all(name) {
                ack.headers.push(name, v);
            }
        }
        let Ok(t) = dialog.transmit(&ack) else {
            // The peer's To, Contact or Record-Route cannot be echoed safely: no ACK, no BYE, no call.
            let end =
                CallEnd { outcome: Outcome::Failed, sip_code: resp.status, reason: EndReason::BadAnswer };
            self.finish(end);
            self.terminate();
            return;
        };
        self.transmits.push_back(t.clone());
        self.ack_2xx = Some(t);
        self.dialog = Some(dialog);
        self.state = State::Confirmed;
        if let Some(reason) = self.cancel_reason {
            // Answered while we were cancelling: the 2xx wins the race, so ACK and hang up (§9.1).
            self.send_bye(now);
            self.finish(CallEnd { outcome: cancel_outcome(reason), sip_code: resp.status, reason });
            return;
        }
        let media = match resp.body.is_empty() {
            false => self.cfg.media.accept_answer(&resp.body),
            true => self.early.clone().ok_or(SdpError::NoAudio),
        };
        match media {
            Ok(media) => self.events.push_back(CallEvent::Answered(media)),
            Err(e) => {
                self.send_bye(now);
                let reason = match e {
                    SdpError::Crypto(_) => EndReason::SrtpRefused,
                    _ => EndReason::BadAnswer,
                };
                self.answer_error = Some(e);
                self.finish(CallEnd { outcome: Outcome::Failed, sip_code: resp.status, reason });
            }
        }
    }

    fn on_failure(&mut self, now: Instant, resp: &Response) {
        self.timers.stop(Timer::A);
        self.timers.stop(Timer::B);
        let Some(inv) = &self.invite else { return };
        // The ACK echoes the response's To; when that cannot be sent back safely, the peer retransmits
        // its final response until its own timer ends the transaction.
        if let Ok(ack) = non_2xx_ack(&inv.request, resp, &self.cfg.user_agent).to_bytes() {
            self.transmits.push_back(Transmit { destination: self.cfg.destination, payload: ack.clone() });
            self.acks.push((inv.branch.clone(), ack));
        }
        if matches!(resp.status, 401 | 407)
            && self.cancel_reason.is_none()
            && self.authorize(resp)
            && self.send_invite(now).is_ok()
        {
            return;
        }
        if let Some(c) = self.cancel.take() {
            c.finish(&mut self.timers);
        }
        let end = match self.cancel_reason {
            Some(reason) if resp.status == 487 => {
                CallEnd { outcome: cancel_outcome(reason), sip_code: 487, reason }
            }
            _ => CallEnd {
                outcome: Outcome::from_final_status(resp.status),
                sip_code: resp.status,
                reason: EndReason::Rejected,
            },
        };
        self.finish(end);
        self.drain(Timer::D, now + self.cfg.timers.d());
    }

    /// Answers a 401/407 challenge by storing the matching authorization header. False when we cannot
    /// (no credentials, no usable challenge, a nonce we already answered, too many rounds).
    fn authorize(&mut self, resp: &Response) -> bool {
        let Some(cred) = &self.cfg.credentials else { return false };
        let (challenge_name, auth_name) = match resp.status {
            401 => ("WWW-Authenticate", "Authorization"),
            _ => ("Proxy-Authenticate", "Proxy-Authorization"),
        };
        let Some(ch) = resp.headers.get_all(challenge_name).find_map(|v| Challenge::parse(v).ok()) else {
            return false;
        };
        if self.answered_nonces.len() >= MAX_AUTH_ROUNDS
            || (self.answered_nonces.contains(&ch.nonce) && !ch.stale)
        {
            return false;
        }
        let cnonce = random_token(16);
        let req = DigestRequest { method: "INVITE", uri: &self.cfg.request_uri, cnonce: &cnonce, nc: 1 };
        let Ok(value) = authorization(&ch, cred, &req) else { return false };
        self.answered_nonces.push(ch.nonce.clone());
        self.auth.retain(|(n, _)| *n != auth_name);
        self.auth.push((auth_name, value));
        true
    }

    /// The media the peer described in a provisional response, if any.
    pub fn early_media(&self) -> Option<&RemoteMedia> {
        self.early.as_ref()
    }

    /// Why the 2xx's SDP answer was refused (the call then ended `BadAnswer` or `SrtpRefused`).
    pub fn answer_error(&self) -> Option<&SdpError> {
        self.answer_error.as_ref()
    }
}

fn cancel_outcome(reason: EndReason) -> Outcome {
    match reason {
        EndReason::RingTimeout => Outcome::NoAnswer,
        _ => Outcome::Cancelled,
    }
}

/// ACK for a non-2xx final response: part of the INVITE transaction, so same branch (RFC 3261 §17.1.1.3).
fn non_2xx_ack(invite: &Request, resp: &Response, user_agent: &str) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    let h = &mut ack.headers;
    for name in ["Via", "Max-Forwards", "From"] {
        if let Some(v) = invite.headers.get(name) {
            h.push(name, v);
        }
    }
    h.push("To", resp.headers.get("To").unwrap_or_default());
    if let Some(v) = invite.headers.get("Call-ID") {
        h.push("Call-ID", v);
    }
    let seq = invite.headers.get("CSeq").and_then(|c| c.split_whitespace().next()).unwrap_or("1");
    h.push("CSeq", format!("{seq} ACK"));
    for r in invite.headers.get_all("Route") {
        h.push("Route", r);
    }
    h.push("User-Agent", user_agent);
    ack
}
