//! The virtual phone's SIP task: one [`InboundCall`] per Call-ID, the script's timers (answer, press,
//! hang up) next to the engines' own in one deadline heap, and each call's record written when it ends.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use voicebot_media::tone::dtmf_sequence;
use voicebot_media::{Digit, PromptAudio};
use voicebot_sip::{InboundCall, InboundConfig, InboundError, InboundEvent, LocalMedia, Method, peek};

use super::script::{DtmfMode, Plan};
use super::{PhoneCallRecord, PhoneCommand, PhoneConfig, Seen};
use crate::clock::{ClockCommand, ClockHandle, RecvSetup, StreamId};
use crate::endpoint::sender_config;
use crate::rtp::CallRtp;
use crate::srtp::CallSrtp;

/// Key presses: tone length, pause and level.
const PRESS_ON: Duration = Duration::from_millis(160);
const PRESS_OFF: Duration = Duration::from_millis(120);
const PRESS_LEVEL_DBM0: f32 = -8.0;

struct PLeg {
    call: InboundCall,
    number: String,
    plan: Plan,
    stream: StreamId,
    /// The SSRC our SDP announced (shared RTP socket), which our sender must use.
    ssrc: Option<u32>,
    /// The SRTP suite the call agreed on, if any.
    srtp: Option<&'static str>,
    answered: bool,
    rejected: Option<u16>,
    pressed: String,
    invites: u32,
    answer_at: Option<Instant>,
    press_at: Option<Instant>,
    hangup_at: Option<Instant>,
    ended: bool,
    armed: Option<Instant>,
}

impl PLeg {
    fn deadline(&self) -> Option<Instant> {
        [self.call.poll_timeout(), self.answer_at, self.press_at, self.hangup_at].into_iter().flatten().min()
    }
}

pub(crate) struct Phone {
    cfg: PhoneConfig,
    socket: UdpSocket,
    local: SocketAddr,
    rtp: CallRtp,
    clock: ClockHandle,
    legs: HashMap<String, PLeg>,
    timers: BinaryHeap<Reverse<(Instant, String)>>,
    records: Arc<watch::Sender<Vec<PhoneCallRecord>>>,
    seen: Arc<Seen>,
    next_stream: StreamId,
    finishing: JoinSet<()>,
}

impl Phone {
    pub(crate) fn new(
        cfg: PhoneConfig,
        socket: UdpSocket,
        local: SocketAddr,
        rtp: CallRtp,
        clock: ClockHandle,
        records: watch::Sender<Vec<PhoneCallRecord>>,
        seen: Arc<Seen>,
    ) -> Phone {
        Phone {
            rtp,
            cfg,
            socket,
            local,
            clock,
            legs: HashMap::new(),
            timers: BinaryHeap::new(),
            records: Arc::new(records),
            seen,
            next_stream: 1,
            finishing: JoinSet::new(),
        }
    }

    pub(crate) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<PhoneCommand>) {
        let mut buf = vec![0u8; 65_535];
        let mut closing: Option<(Instant, Option<oneshot::Sender<()>>)> = None;
        loop {
            if let Some((until, _)) = &closing
                && (self.legs.values().all(|l| l.ended) || Instant::now() >= *until)
            {
                break;
            }
            let next = self.timers.peek().map(|Reverse((at, _))| *at);
            let mut wake = next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            if let Some((until, _)) = &closing {
                wake = wake.min(*until);
            }
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => self.on_datagram(Instant::now(), from, &buf[..n]).await,
                    Err(e) => tracing::debug!(error = %e, "phone SIP receive error"),
                },
                cmd = rx.recv(), if closing.is_none() => {
                    let done = cmd.map(|PhoneCommand::Shutdown { done }| done);
                    closing = Some((Instant::now() + Duration::from_secs(5), done));
                    self.hangup_all().await;
                }
                _ = tokio::time::sleep_until(wake.into()) => self.on_timers(Instant::now()).await,
            }
        }
        while self.finishing.join_next().await.is_some() {}
        for leg in self.legs.values().filter(|l| !l.ended) {
            self.clock.send(ClockCommand::Close { id: leg.stream, reply: None });
        }
        if let Some((_, Some(done))) = closing {
            let _ = done.send(());
        }
    }

    async fn hangup_all(&mut self) {
        let now = Instant::now();
        let ids: Vec<String> = self.legs.keys().cloned().collect();
        for id in ids {
            if let Some(leg) = self.legs.get_mut(&id) {
                leg.answer_at = None;
                leg.call.hangup(now);
            }
            self.drive(&id).await;
        }
    }

    async fn on_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        let Ok(p) = peek(datagram) else { return };
        let is_invite = p.request == Some(Method::Invite);
        if is_invite {
            self.count_invite(&p.call_id);
        }
        if let Some(leg) = self.legs.get_mut(&p.call_id) {
            leg.invites += u32::from(is_invite);
            if leg.call.handle_datagram(now, from, datagram).is_ok() {
                self.drive(&p.call_id).await;
            }
        } else if is_invite {
            self.new_call(now, from, datagram, p.call_id).await;
        } else if p.request.is_some()
            && let Some(resp) = voicebot_sip::stateless_response(datagram, 481, "voicebot-phone")
        {
            let _ = self.socket.send_to(&resp, from).await;
        }
    }

    fn count_invite(&self, call_id: &str) {
        if let Ok(mut v) = self.seen.invites.lock() {
            match v.iter_mut().find(|(id, _)| id == call_id) {
                Some((_, n)) => *n += 1,
                None => v.push((call_id.to_string(), 1)),
            }
        }
    }

    async fn new_call(&mut self, now: Instant, from: SocketAddr, datagram: &[u8], call_id: String) {
        let (rtp, rtp_addr) = match self.rtp.bind() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "phone: no RTP port; answering 503");
                if let Some(resp) = voicebot_sip::stateless_response(datagram, 503, "voicebot-phone") {
                    let _ = self.socket.send_to(&resp, from).await;
                }
                return;
            }
        };
        let mut media = LocalMedia::new(rtp_addr);
        media.ssrc = self.rtp.announced_ssrc();
        let ssrc = media.ssrc;
        media.srtp = crate::srtp::local(self.cfg.srtp);
        let mut icfg = InboundConfig::new(self.local, media);
        icfg.timers = self.cfg.timers;
        let Ok(mut call) = InboundCall::new(now, from, datagram, icfg) else { return };
        let number = call.dialed_user().unwrap_or_default();
        let plan = self.cfg.script.plan_for(&number);
        call.ring(now);
        let stream = self.next_stream;
        self.next_stream += 1;
        let recv = RecvSetup { inband_dtmf: false, record_limit: self.record_limit(), on_digit: None };
        self.clock.send(ClockCommand::Open { id: stream, socket: rtp, recv });
        let leg = PLeg {
            call,
            number,
            answer_at: (!plan.ring_forever).then(|| now + plan.answer_after),
            plan,
            stream,
            ssrc,
            srtp: None,
            answered: false,
            rejected: None,
            pressed: String::new(),
            invites: 1,
            press_at: None,
            hangup_at: None,
            ended: false,
            armed: None,
        };
        self.legs.insert(call_id.clone(), leg);
        self.seen.active.fetch_add(1, Ordering::Relaxed);
        self.drive(&call_id).await;
    }

    async fn on_timers(&mut self, now: Instant) {
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, id))) = self.timers.pop() else { break };
            let Some(leg) = self.legs.get_mut(&id) else { continue };
            if leg.armed != Some(at) {
                continue;
            }
            leg.armed = None;
            self.fire(&id, now);
            self.drive(&id).await;
        }
    }

    /// Runs the script actions due at `now`, then the engine's timers.
    fn fire(&mut self, id: &str, now: Instant) {
        let Some(leg) = self.legs.get_mut(id) else { return };
        if leg.answer_at.is_some_and(|t| t <= now) {
            leg.answer_at = None;
            answer(leg, now, &self.clock);
        }
        if leg.press_at.is_some_and(|t| t <= now) {
            leg.press_at = None;
            press(leg, &self.clock);
        }
        if leg.hangup_at.is_some_and(|t| t <= now) {
            leg.hangup_at = None;
            leg.call.hangup(now);
        }
        leg.call.handle_timeout(now);
    }

    fn record_limit(&self) -> usize {
        if self.cfg.record_dir.is_some() { (self.cfg.max_record.as_millis() * 8) as usize } else { 0 }
    }

    async fn drive(&mut self, id: &str) {
        let Some(leg) = self.legs.get_mut(id) else { return };
        while let Some(t) = leg.call.poll_transmit() {
            if let Err(e) = self.socket.send_to(&t.payload, t.destination).await {
                tracing::debug!(error = %e, "phone SIP send failed");
            }
        }
        while let Some(ev) = leg.call.poll_event() {
            if let InboundEvent::Ended(reason) = ev
                && !leg.ended
            {
                leg.ended = true;
                leg.answer_at = None;
                leg.press_at = None;
                leg.hangup_at = None;
                self.seen.active.fetch_sub(1, Ordering::Relaxed);
                let done = Finished::from_leg(leg, format!("{reason:?}"), self.clock.clone());
                let (dir, log, records) =
                    (self.cfg.record_dir.clone(), self.cfg.log_stdout, self.records.clone());
                self.finishing.spawn(done.write(dir, log, records));
            }
        }
        if leg.call.is_terminated() {
            if !leg.ended {
                self.seen.active.fetch_sub(1, Ordering::Relaxed);
                self.clock.send(ClockCommand::Close { id: leg.stream, reply: None });
            }
            self.legs.remove(id);
            return;
        }
        let next = leg.deadline();
        if next != leg.armed {
            leg.armed = next;
            if let Some(at) = next {
                self.timers.push(Reverse((at, id.to_string())));
            }
        }
    }
}

fn answer(leg: &mut PLeg, now: Instant, clock: &ClockHandle) {
    if let Some(code) = leg.plan.reject {
        leg.call.reject(now, code);
        leg.rejected = Some(code);
        return;
    }
    match leg.call.answer(now) {
        Ok(remote) => {
            leg.answered = true;
            let config = sender_config(&remote, leg.ssrc);
            let (peer, peer_ssrc) = (remote.rtp_addr, remote.ssrc);
            let srtp = remote.srtp.as_ref().map(CallSrtp::new);
            leg.srtp = remote.srtp.map(|s| s.suite.name());
            clock.send(ClockCommand::Start { id: leg.stream, peer, peer_ssrc, config, notify: None, srtp });
            leg.press_at = leg.plan.press.as_ref().map(|_| now + leg.plan.press_after);
            leg.hangup_at = leg.plan.hangup_after.map(|d| now + d);
        }
        Err(e) => {
            let code = if matches!(e, InboundError::Sdp(_)) { 488 } else { 500 };
            leg.call.reject(now, code);
            leg.rejected = Some(code);
        }
    }
}

fn press(leg: &mut PLeg, clock: &ClockHandle) {
    let Some(keys) = leg.plan.press.clone() else { return };
    let digits: Vec<Digit> = keys.chars().filter_map(Digit::from_char).collect();
    match leg.plan.dtmf {
        DtmfMode::Rfc4733 => {
            for &digit in &digits {
                clock.send(ClockCommand::Digit { id: leg.stream, digit, duration: PRESS_ON });
            }
        }
        DtmfMode::Inband => {
            let pcm = dtmf_sequence(&digits, PRESS_ON, PRESS_OFF, PRESS_LEVEL_DBM0);
            clock.send(ClockCommand::Play { id: leg.stream, audio: PromptAudio::Pcm16(pcm.into()) });
        }
    }
    leg.pressed.extend(digits.iter().map(|d| d.to_char()));
}

/// What is left of a leg once it ended: written out by a separate task (the WAV write can take a while).
struct Finished {
    record: PhoneCallRecord,
    stream: StreamId,
    clock: ClockHandle,
}

impl Finished {
    fn from_leg(leg: &PLeg, end_reason: String, clock: ClockHandle) -> Finished {
        let record = PhoneCallRecord {
            call_id: leg.call.call_id().to_string(),
            number: leg.number.clone(),
            answered: leg.answered,
            rejected: leg.rejected,
            digits_pressed: leg.pressed.clone(),
            dtmf: leg.plan.dtmf,
            wav: None,
            invites: leg.invites,
            end_reason,
            rtp_packets: 0,
            heard_ms: 0,
            srtp: leg.srtp.map(str::to_string),
            srtp_auth_failures: 0,
        };
        Finished { record, stream: leg.stream, clock }
    }

    async fn write(
        mut self,
        dir: Option<PathBuf>,
        log_stdout: bool,
        records: Arc<watch::Sender<Vec<PhoneCallRecord>>>,
    ) {
        let heard = self.clock.close(self.stream).await;
        self.record.rtp_packets = heard.stats.packets_received;
        self.record.heard_ms = heard.pcm.len() as u64 / 8;
        self.record.srtp_auth_failures = heard.stats.srtp_auth_failures;
        if let Some(dir) = dir.filter(|_| self.record.answered) {
            let path = dir.join(format!("{}.wav", file_name(&self.record.call_id)));
            let p = path.clone();
            let written = tokio::task::spawn_blocking(move || crate::wav::write_wav(&p, &heard.pcm)).await;
            match written {
                Ok(Ok(())) => self.record.wav = Some(path),
                Ok(Err(e)) => tracing::warn!(error = %e, "phone: cannot write recording"),
                Err(e) => tracing::warn!(error = %e, "phone: recording task failed"),
            }
        }
        if log_stdout && let Ok(line) = serde_json::to_string(&self.record) {
            println!("{line}");
        }
        records.send_modify(|r| r.push(self.record));
    }
}

/// A Call-ID made safe as a file name.
fn file_name(call_id: &str) -> String {
    call_id.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}
