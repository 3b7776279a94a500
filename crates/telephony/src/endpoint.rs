//! The UAC endpoint: [`Telephony`] owns one SIP UDP socket and a task that drives every outbound call leg.
//!
//! The SIP task is the only owner of the [`OutboundCall`] engines: it routes each datagram by Call-ID
//! ([`voicebot_sip::peek`]), keeps one heap of leg deadlines (next-deadline scheduling, lazy deletion) and
//! turns engine events into [`CallEvent`]s. Each call's RTP socket (or, in shared mode, just its stream on
//! the clock's one socket) goes to the media clock ([`crate::clock`]) when the call is placed (receiving,
//! digits) and starts sending on answer. Protocol decisions stay in `voicebot-sip` and `voicebot-media`;
//! this file only moves bytes and wakes timers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use voicebot_media::SenderConfig;
use voicebot_sip::sdp::NegotiatedSrtp;
use voicebot_sip::{CallConfig, Credentials, LocalMedia, OutboundCall, RemoteMedia, peek};

use crate::call::{CallEvent, CallHandle, MediaSummary};
use crate::clock::{ClockCommand, ClockHandle, ClockStats, RecvSetup, StreamId};
use crate::config::{CallRequest, TelephonyConfig};
use crate::error::TelephonyError;
use crate::rtp::CallRtp;
use crate::srtp::CallSrtp;

/// Requests from handles to the SIP task.
#[derive(Debug)]
pub(crate) enum Command {
    Place {
        req: Box<CallRequest>,
        stream: StreamId,
        events: mpsc::UnboundedSender<CallEvent>,
        reply: oneshot::Sender<Result<(), TelephonyError>>,
    },
    Hangup {
        call_id: String,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// A running UAC endpoint: one SIP socket, RTP sockets per call (or one shared, see
/// [`crate::config::RtpSocket`]), one media clock. Cheap to share behind an
/// `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct Telephony {
    commands: mpsc::UnboundedSender<Command>,
    local_addr: SocketAddr,
    clock: ClockHandle,
    next_stream: AtomicU64,
    active: Arc<AtomicUsize>,
}

impl Telephony {
    /// Binds the SIP socket and starts the SIP task and the media clock. Must run inside a tokio runtime.
    pub async fn start(config: TelephonyConfig) -> Result<Telephony, TelephonyError> {
        let socket = UdpSocket::bind(config.sip_bind)
            .await
            .map_err(|source| TelephonyError::SipBind { addr: config.sip_bind, source })?;
        let bound = socket
            .local_addr()
            .map_err(|source| TelephonyError::SipBind { addr: config.sip_bind, source })?;
        let local_addr = match config.advertised_ip {
            Some(ip) => SocketAddr::new(ip, bound.port()),
            None => bound,
        };
        let (rtp, shared_socket) =
            CallRtp::new(config.rtp_socket, config.rtp_bind_ip, config.rtp_ports.clone())?;
        let clock = ClockHandle::spawn("uac", shared_socket, config.media_priority);
        let (tx, rx) = mpsc::unbounded_channel();
        let active = Arc::new(AtomicUsize::new(0));
        let endpoint = Endpoint {
            rtp,
            cfg: config,
            socket,
            local: local_addr,
            clock: clock.clone(),
            legs: HashMap::new(),
            timers: BinaryHeap::new(),
            active: active.clone(),
            closing: None,
        };
        tokio::spawn(endpoint.run(rx));
        Ok(Telephony { commands: tx, local_addr, clock, next_stream: AtomicU64::new(1), active })
    }

    /// The SIP address we use in Via and Contact.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Places a call: binds its RTP socket and sends the INVITE. Events follow on the handle.
    /// [`TelephonyError::Unsendable`] (nothing sent) when a value of the request would break the INVITE.
    pub async fn place_call(&self, req: CallRequest) -> Result<CallHandle, TelephonyError> {
        if req.call_id.is_empty() || req.number.is_empty() {
            return Err(TelephonyError::InvalidRequest("empty Call-ID or number"));
        }
        if req.trunk.codecs.is_empty() {
            return Err(TelephonyError::InvalidRequest("no codec"));
        }
        let stream = self.next_stream.fetch_add(1, Ordering::Relaxed);
        let (events_tx, events) = mpsc::unbounded_channel();
        let (reply, answer) = oneshot::channel();
        let call_id = req.call_id.clone();
        let cmd = Command::Place { req: Box::new(req), stream, events: events_tx, reply };
        self.commands.send(cmd).map_err(|_| TelephonyError::Stopped)?;
        answer.await.map_err(|_| TelephonyError::Stopped)??;
        Ok(CallHandle {
            call_id,
            stream,
            events,
            commands: self.commands.clone(),
            clock: self.clock.clone(),
            ended: false,
        })
    }

    /// Hangs up every call and waits (up to `shutdown_grace`) for them to end; the endpoint then stops.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Shutdown { done }).is_ok() {
            let _ = wait.await;
        }
    }

    /// Calls placed and not yet ended.
    pub fn active_calls(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Counters of the media clock (packets sent, lateness).
    pub fn media_stats(&self) -> ClockStats {
        self.clock.stats()
    }
}

/// One outbound leg as the SIP task holds it.
struct Leg {
    call: OutboundCall,
    stream: StreamId,
    events: mpsc::UnboundedSender<CallEvent>,
    ended: bool,
    /// The SSRC our SDP announced (shared RTP socket), which our sender must use.
    ssrc: Option<u32>,
    /// The SRTP the answer agreed on (to tell a re-INVITE's new key from the same one).
    srtp: Option<NegotiatedSrtp>,
    /// The deadline currently in the heap for this leg.
    armed: Option<Instant>,
}

/// The SIP task's state.
struct Endpoint {
    cfg: TelephonyConfig,
    socket: UdpSocket,
    local: SocketAddr,
    rtp: CallRtp,
    clock: ClockHandle,
    legs: HashMap<String, Leg>,
    timers: BinaryHeap<Reverse<(Instant, String)>>,
    active: Arc<AtomicUsize>,
    /// Set by shutdown: when to give up waiting, and whom to tell.
    closing: Option<(Instant, oneshot::Sender<()>)>,
}

impl Endpoint {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; 65_535];
        let mut rx_open = true;
        loop {
            if self.closing.as_ref().is_some_and(|(until, _)| self.all_ended() || Instant::now() >= *until) {
                break;
            }
            if !rx_open && self.closing.is_none() {
                // Every handle is gone: nobody can hang up or hear events any more.
                self.begin_shutdown(None).await;
            }
            let next = self.timers.peek().map(|Reverse((at, _))| *at);
            let wake = next.map_or(Instant::now() + Duration::from_secs(3600), |at| {
                self.closing.as_ref().map_or(at, |(until, _)| at.min(*until))
            });
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => self.on_datagram(Instant::now(), from, &buf[..n]).await,
                    Err(e) => tracing::debug!(error = %e, "SIP socket receive error"),
                },
                cmd = rx.recv(), if rx_open => match cmd {
                    Some(cmd) => self.on_command(cmd).await,
                    None => rx_open = false,
                },
                _ = tokio::time::sleep_until(wake.into()) => self.on_timers(Instant::now()).await,
            }
        }
        if let Some((_, done)) = self.closing.take() {
            let _ = done.send(());
        }
        for leg in self.legs.values().filter(|l| !l.ended) {
            self.clock.send(ClockCommand::Close { id: leg.stream, reply: None });
        }
    }

    fn all_ended(&self) -> bool {
        self.legs.values().all(|l| l.ended)
    }

    async fn begin_shutdown(&mut self, done: Option<oneshot::Sender<()>>) {
        let now = Instant::now();
        let (tx, _rx) = oneshot::channel();
        self.closing = Some((now + self.cfg.shutdown_grace, done.unwrap_or(tx)));
        let ids: Vec<String> = self.legs.keys().cloned().collect();
        for id in &ids {
            if let Some(leg) = self.legs.get_mut(id) {
                leg.call.hangup(now);
            }
            self.drive(id, now).await;
        }
    }

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Place { req, stream, events, reply } => {
                if self.closing.is_some() {
                    let _ = reply.send(Err(TelephonyError::Stopped));
                    return;
                }
                let call_id = req.call_id.clone();
                let placed = self.place(*req, stream, events);
                let ok = placed.is_ok();
                let _ = reply.send(placed);
                if ok {
                    self.drive(&call_id, Instant::now()).await;
                }
            }
            Command::Hangup { call_id } => {
                let now = Instant::now();
                if let Some(leg) = self.legs.get_mut(&call_id) {
                    leg.call.hangup(now);
                    self.drive(&call_id, now).await;
                }
            }
            Command::Shutdown { done } => {
                if self.closing.is_none() {
                    self.begin_shutdown(Some(done)).await;
                } else {
                    let _ = done.send(());
                }
            }
        }
    }

    /// Creates the leg (RTP socket opened on the clock, INVITE queued). The caller drives it. A request
    /// whose values cannot be sent is refused with nothing queued.
    fn place(
        &mut self,
        req: CallRequest,
        stream: StreamId,
        events: mpsc::UnboundedSender<CallEvent>,
    ) -> Result<(), TelephonyError> {
        if self.legs.contains_key(&req.call_id) {
            return Err(TelephonyError::DuplicateCallId(req.call_id));
        }
        let (rtp, rtp_addr) = self.rtp.bind()?;
        let cc = self.call_config(&req, rtp_addr)?;
        let ssrc = cc.media.ssrc;
        // On a refusal the RTP socket is dropped here, unused.
        let call = OutboundCall::new(Instant::now(), cc)?;
        let digits = events.clone();
        let on_digit = Box::new(move |digit, source: voicebot_media::DigitSource| {
            let _ = digits.send(CallEvent::Digit { digit, source: source.into() });
        });
        let recv = RecvSetup { inband_dtmf: self.cfg.inband_dtmf, record_limit: 0, on_digit: Some(on_digit) };
        self.clock.send(ClockCommand::Open { id: stream, socket: rtp, recv });
        let leg = Leg { call, stream, events, ended: false, ssrc, srtp: None, armed: None };
        self.legs.insert(req.call_id, leg);
        self.active.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The engine's config for `req`, receiving RTP at `rtp_addr`; refused when the number, caller id or
    /// trunk host cannot stand in a SIP URI.
    fn call_config(&self, req: &CallRequest, rtp_addr: SocketAddr) -> Result<CallConfig, TelephonyError> {
        let trunk = &req.trunk;
        let host = trunk.uri_host();
        let mut media = LocalMedia::new(rtp_addr);
        media.ssrc = self.rtp.announced_ssrc();
        media.codecs = trunk.codecs.clone();
        media.srtp = crate::srtp::local(trunk.srtp);
        media.session_id = rand::random::<u32>().into();
        let to = voicebot_sip::sip_uri(&req.number, &host)?;
        let from = voicebot_sip::sip_uri(&trunk.caller_id, &host)?;
        let mut cc = CallConfig::new(req.call_id.clone(), to, from, trunk.addr, self.local, media);
        if let (Some(username), Some(password)) = (&trunk.username, &trunk.password) {
            cc.credentials = Some(Credentials { username: username.clone(), password: password.clone() });
        }
        cc.ring_timeout = trunk.ring_timeout;
        cc.timers = self.cfg.timers;
        cc.user_agent = self.cfg.user_agent.clone();
        Ok(cc)
    }

    async fn on_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        let Ok(p) = peek(datagram) else { return };
        if let Some(leg) = self.legs.get_mut(&p.call_id) {
            // Unparseable bytes leave the leg as it was.
            let _ = leg.call.handle_datagram(now, from, datagram);
            self.drive(&p.call_id, now).await;
        } else if p.request.is_some()
            && let Some(resp) = voicebot_sip::stateless_response(datagram, 481, &self.cfg.user_agent)
        {
            let _ = self.socket.send_to(&resp, from).await;
        }
    }

    async fn on_timers(&mut self, now: Instant) {
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, id))) = self.timers.pop() else { break };
            let Some(leg) = self.legs.get_mut(&id) else { continue };
            if leg.armed != Some(at) {
                continue; // superseded deadline
            }
            leg.armed = None;
            leg.call.handle_timeout(now);
            self.drive(&id, now).await;
        }
    }

    /// Sends what the leg queued, turns its events into [`CallEvent`]s, re-arms its deadline, and forgets it
    /// once terminated.
    async fn drive(&mut self, id: &str, now: Instant) {
        let Some(leg) = self.legs.get_mut(id) else { return };
        while let Some(t) = leg.call.poll_transmit() {
            if let Err(e) = self.socket.send_to(&t.payload, t.destination).await {
                tracing::debug!(error = %e, "SIP send failed");
                leg.call.handle_transport_error(now);
            }
        }
        while let Some(ev) = leg.call.poll_event() {
            on_leg_event(leg, ev, &self.clock, &self.active);
        }
        if leg.call.is_terminated() {
            if !leg.ended {
                self.clock.send(ClockCommand::Close { id: leg.stream, reply: None });
            }
            self.legs.remove(id);
            return;
        }
        let next = leg.call.poll_timeout();
        if next != leg.armed {
            leg.armed = next;
            if let Some(at) = next {
                self.timers.push(Reverse((at, id.to_string())));
            }
        }
    }
}

fn on_leg_event(leg: &mut Leg, ev: voicebot_sip::CallEvent, clock: &ClockHandle, active: &AtomicUsize) {
    use voicebot_sip::CallEvent as Sip;
    match ev {
        Sip::Ringing => {
            let _ = leg.events.send(CallEvent::Ringing);
        }
        Sip::Answered(remote) => {
            let config = sender_config(&remote, leg.ssrc);
            let notify = Some(leg.events.clone());
            let (peer, peer_ssrc) = (remote.rtp_addr, remote.ssrc);
            let srtp = remote.srtp.as_ref().map(CallSrtp::new);
            leg.srtp = remote.srtp;
            clock.send(ClockCommand::Start { id: leg.stream, peer, peer_ssrc, config, notify, srtp });
            let _ = leg.events.send(CallEvent::Answered { at: SystemTime::now() });
        }
        Sip::MediaUpdated(remote) => {
            let rekeyed = remote.srtp.as_ref().filter(|new| {
                leg.srtp
                    .as_ref()
                    .is_none_or(|old| old.receive_key != new.receive_key || old.suite != new.suite)
            });
            let receive = rekeyed.map(|new| Box::new(crate::srtp::receiving(new)));
            if receive.is_some() {
                leg.srtp = remote.srtp.clone();
            }
            clock.send(ClockCommand::Retarget {
                id: leg.stream,
                peer: remote.rtp_addr,
                peer_ssrc: remote.ssrc,
                receive,
            })
        }
        Sip::Ended(end) if !leg.ended => {
            if let Some(e) = leg.call.answer_error() {
                tracing::warn!(error = %e, reason = ?end.reason, "call ended: the answer's SDP was refused");
            }
            leg.ended = true;
            active.fetch_sub(1, Ordering::Relaxed);
            // Close the stream; `Ended` (the last event) carries what it received.
            let (clock, id, events) = (clock.clone(), leg.stream, leg.events.clone());
            tokio::spawn(async move {
                let media = MediaSummary::from(&clock.close(id).await.stats);
                let (outcome, sip_code, reason) = (end.outcome, end.sip_code, end.reason);
                let _ = events.send(CallEvent::Ended { outcome, sip_code, reason, media });
            });
        }
        _ => {}
    }
}

/// The RTP sender for the negotiated codec and the peer's telephone-event payload type, with the SSRC our
/// SDP announced (if it did; random otherwise).
pub(crate) fn sender_config(remote: &RemoteMedia, ssrc: Option<u32>) -> SenderConfig {
    let codec = media_codec(remote.codec);
    let mut config = SenderConfig::new(codec);
    if let Some(ssrc) = ssrc {
        config.ssrc = ssrc;
    }
    config.event_payload_type =
        remote.telephone_event_pt.unwrap_or(voicebot_media::DEFAULT_EVENT_PAYLOAD_TYPE);
    config
}

/// SDP codec → media codec.
pub(crate) fn media_codec(codec: voicebot_sip::Codec) -> voicebot_media::Codec {
    match codec {
        voicebot_sip::Codec::Pcma => voicebot_media::Codec::Pcma,
        _ => voicebot_media::Codec::Pcmu,
    }
}
