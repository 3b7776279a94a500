//! The shared media clock: ONE OS thread sends AND receives the RTP of every call of an endpoint.
//!
//! Why a thread and not tasks: thousands of calls each send a packet every 20 ms; a timer (or a socket
//! wake-up) per packet would cost a context switch per packet. Instead the clock divides the 20 ms frame
//! period into [`SLOTS`] 1 ms slots and puts each new stream in the least loaded slot. The thread wakes
//! once per millisecond and serves the streams of the current slot: first it sends their due frames (each
//! sender's first frame is aligned to its slot, so every later frame is too), then it drains their sockets
//! without blocking. 50 wake-ups per stream-second become 1,000 wake-ups per second in all, no epoll
//! registration or task wake-up happens per packet, and a slot holds 1/20 of the calls, so its last packet
//! leaves soon after its first. Receiving once per 20 ms adds at most 20 ms to digit detection.
//!
//! With [`crate::config::RtpSocket::Shared`] the streams have no socket of their own: the clock holds the
//! endpoint's one RTP socket ([`SharedRtp`]), queues the due packets of the slot's streams and sends them
//! with one `sendmmsg`, then drains the socket with `recvmmsg` every slot (it carries every call's
//! arrivals) and routes each datagram by its source to the stream whose peer it is. In both modes a stream
//! hears only its peer (the address its SDP names, see [`crate::rtp`]); datagrams from other sources are
//! dropped and counted ([`ClockStats::unknown_source_dropped`]).
//!
//! Lateness is measured by the senders ([`voicebot_media::SenderStats`]: `now` minus the frame's slot) and
//! summed in [`ClockStats`]. Sockets are non-blocking `std` sockets: a full buffer drops the packet and
//! counts it, and the thread never waits for anything but its next slot or a command.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use voicebot_media::{
    Digit, DigitSource, MediaEvent, PromptAudio, ReceiveError, ReceiverConfig, ReceiverStats, RtpReceiver,
    RtpSender, SenderConfig, SrtpContext, SrtpError,
};

use crate::call::CallEvent;
use crate::rtp::{SharedRtp, is_from_peer};
use crate::srtp::CallSrtp;

/// Slots per 20 ms frame period (1 ms each).
pub const SLOTS: usize = 20;
/// Datagrams read from one socket per visit at most (a flood cannot starve the other calls).
const MAX_READS: usize = 32;
/// A peer sends one packet per 20 ms, so most visits read just one datagram and skip the read that would
/// only report "empty"; every `DRAIN_EVERY`-th visit drains the socket (bursts wait at most 100 ms).
const DRAIN_EVERY: u32 = 5;

/// Identifies one stream on the clock (one per call leg).
pub(crate) type StreamId = u64;

/// Called on the clock thread for every digit a stream hears.
pub(crate) type DigitSink = Box<dyn FnMut(Digit, DigitSource) + Send>;

/// How a stream receives: in-band detection, how much audio to keep, where digits go.
pub(crate) struct RecvSetup {
    pub(crate) inband_dtmf: bool,
    /// Samples of decoded audio to keep for a recording (0: none).
    pub(crate) record_limit: usize,
    pub(crate) on_digit: Option<DigitSink>,
}

/// What a stream heard, handed back when it is closed.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Decoded audio in arrival order (only when recording).
    pub(crate) pcm: Vec<i16>,
    /// Receiver counters.
    pub(crate) stats: ReceiverStats,
}

/// What the drivers ask of the clock.
pub(crate) enum ClockCommand {
    /// Start receiving on `socket` (the call's RTP socket, non-blocking); `None`: on the clock's shared
    /// socket, from the peer named by `Start`.
    Open { id: StreamId, socket: Option<UdpSocket>, recv: RecvSetup },
    /// Start sending towards `peer` (plays anything queued before). On the shared socket, receive what
    /// `peer` sends (with `peer_ssrc`, when its SDP announced one). With `srtp`, both directions are
    /// SRTP from now on.
    Start {
        id: StreamId,
        peer: SocketAddr,
        peer_ssrc: Option<u32>,
        config: SenderConfig,
        notify: Option<UnboundedSender<CallEvent>>,
        srtp: Option<Box<CallSrtp>>,
    },
    /// The peer's media address changed (re-INVITE); `receive`: its new SRTP key, if it changed.
    Retarget { id: StreamId, peer: SocketAddr, peer_ssrc: Option<u32>, receive: Option<Box<SrtpContext>> },
    /// Queue prompt audio (8 kHz).
    Play { id: StreamId, audio: PromptAudio },
    /// Drop queued audio (barge-in).
    StopPlayback { id: StreamId },
    /// Queue an RFC 4733 key press.
    Digit { id: StreamId, digit: Digit, duration: Duration },
    /// Stop the stream, close its socket, and hand back what it heard.
    Close { id: StreamId, reply: Option<oneshot::Sender<Received>> },
}

/// Counters of one clock, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockStats {
    /// Streams open now.
    pub streams: u64,
    /// RTP packets sent by all streams.
    pub packets_sent: u64,
    /// Packets sent more than 5 ms after their slot.
    pub late_over_5ms: u64,
    /// Largest lateness seen, in microseconds.
    pub late_max_us: u64,
    /// Frames skipped because the clock fell more than 100 ms behind (count them as late).
    pub skipped_frames: u64,
    /// Sends that failed (buffer full, unreachable).
    pub send_errors: u64,
    /// RTP datagrams received by all streams.
    pub packets_received: u64,
    /// RTP datagrams dropped because they are no call's peer's: not from the address the peer's SDP
    /// names (or not with the SSRC it announced), or before the answer — forged key presses included.
    /// Both socket modes count here.
    pub unknown_source_dropped: u64,
    /// SRTP packets whose authentication tag did not verify (dropped).
    pub srtp_auth_failures: u64,
    /// SRTP packets refused as replays or as older than the replay window (dropped).
    pub srtp_replays_dropped: u64,
}

#[derive(Default)]
struct SharedStats {
    streams: AtomicU64,
    packets_sent: AtomicU64,
    late_over_5ms: AtomicU64,
    late_max_us: AtomicU64,
    skipped_frames: AtomicU64,
    send_errors: AtomicU64,
    packets_received: AtomicU64,
    unknown_source_dropped: AtomicU64,
    srtp_auth_failures: AtomicU64,
    srtp_replays_dropped: AtomicU64,
}

/// A cloneable handle on the clock thread; the thread ends when every handle is dropped.
#[derive(Clone)]
pub(crate) struct ClockHandle {
    tx: mpsc::Sender<ClockCommand>,
    stats: Arc<SharedStats>,
}

impl ClockHandle {
    /// Starts the clock thread; `shared_rtp`: the endpoint's one RTP socket in shared mode (non-blocking);
    /// `priority`: run it SCHED_FIFO at that priority (see [`crate::TelephonyConfig::media_priority`]).
    pub(crate) fn spawn(name: &str, shared_rtp: Option<UdpSocket>, priority: Option<u8>) -> ClockHandle {
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(SharedStats::default());
        let counters = stats.clone();
        // The clock (and its batch buffers) is built on its own thread: only the socket crosses.
        let spawned = std::thread::Builder::new().name(format!("{name}-media-clock")).spawn(move || {
            if let Some(priority) = priority {
                run_realtime(priority);
            }
            Clock::new(rx, counters, shared_rtp.map(SharedRtp::new)).run()
        });
        if let Err(e) = spawned {
            // Without a thread there is no media; calls still signal. Visible in logs and in zero packets.
            tracing::error!(error = %e, "cannot start the media clock thread");
        }
        ClockHandle { tx, stats }
    }

    /// Sends a command; a stopped clock ignores it.
    pub(crate) fn send(&self, cmd: ClockCommand) {
        let _ = self.tx.send(cmd);
    }

    /// Closes a stream and waits for what it heard (empty if the clock is gone).
    pub(crate) async fn close(&self, id: StreamId) -> Received {
        let (reply, rx) = oneshot::channel();
        self.send(ClockCommand::Close { id, reply: Some(reply) });
        rx.await.unwrap_or_default()
    }

    /// A snapshot of the counters.
    pub(crate) fn stats(&self) -> ClockStats {
        let s = &self.stats;
        ClockStats {
            streams: s.streams.load(Ordering::Relaxed),
            packets_sent: s.packets_sent.load(Ordering::Relaxed),
            late_over_5ms: s.late_over_5ms.load(Ordering::Relaxed),
            late_max_us: s.late_max_us.load(Ordering::Relaxed),
            skipped_frames: s.skipped_frames.load(Ordering::Relaxed),
            send_errors: s.send_errors.load(Ordering::Relaxed),
            packets_received: s.packets_received.load(Ordering::Relaxed),
            unknown_source_dropped: s.unknown_source_dropped.load(Ordering::Relaxed),
            srtp_auth_failures: s.srtp_auth_failures.load(Ordering::Relaxed),
            srtp_replays_dropped: s.srtp_replays_dropped.load(Ordering::Relaxed),
        }
    }
}

struct Sending {
    sender: RtpSender,
    peer: SocketAddr,
    peer_ssrc: Option<u32>,
    playing: bool,
    notify: Option<UnboundedSender<CallEvent>>,
}

struct Stream {
    /// The call's own socket; `None` on the clock's shared socket.
    socket: Option<UdpSocket>,
    slot: usize,
    sending: Option<Sending>,
    receiver: RtpReceiver,
    record_limit: usize,
    pcm: Vec<i16>,
    on_digit: Option<DigitSink>,
    /// Audio and digits queued before sending started.
    pending: Vec<ClockCommand>,
    /// Visits so far (for the periodic full drain).
    visits: u32,
}

/// Per-slot counter deltas, added to the shared stats once per slot.
#[derive(Default)]
struct Tally {
    sent: u64,
    late: u64,
    skipped: u64,
    errors: u64,
    received: u64,
    unknown: u64,
    auth_failures: u64,
    replays: u64,
    late_max: Duration,
}

struct Clock {
    rx: mpsc::Receiver<ClockCommand>,
    stats: Arc<SharedStats>,
    epoch: Instant,
    /// Milliseconds since `epoch` of the slot served next.
    tick: u64,
    streams: HashMap<StreamId, Stream>,
    slots: Vec<Vec<StreamId>>,
    buf: Vec<u8>,
    /// The endpoint's one RTP socket in shared mode.
    shared: Option<SharedRtp>,
}

impl Clock {
    fn new(rx: mpsc::Receiver<ClockCommand>, stats: Arc<SharedStats>, shared: Option<SharedRtp>) -> Clock {
        Clock {
            rx,
            stats,
            epoch: Instant::now(),
            tick: 0,
            streams: HashMap::new(),
            slots: vec![Vec::new(); SLOTS],
            buf: vec![0u8; 2048],
            shared,
        }
    }

    fn run(mut self) {
        loop {
            loop {
                match self.rx.try_recv() {
                    Ok(cmd) => self.command(cmd),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return,
                }
            }
            let due = self.epoch + Duration::from_millis(self.tick);
            let now = Instant::now();
            if due > now {
                // Sleep until the slot, but wake for commands: a new call or a barge-in need not wait.
                match self.rx.recv_timeout(due - now) {
                    Ok(cmd) => {
                        self.command(cmd);
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
            // Behind (a busy machine, a slow slot): the sends of every overdue slot go first, then the
            // reads, so time-critical packets never queue behind other slots' reads and a backlog of
            // arrivals cannot keep the clock late.
            let now_tick = now.saturating_duration_since(self.epoch).as_millis() as u64;
            let last = now_tick.clamp(self.tick, self.tick + SLOTS as u64 - 1);
            self.serve_slots(self.tick, last);
            self.tick = last + 1;
        }
    }

    fn command(&mut self, cmd: ClockCommand) {
        match cmd {
            ClockCommand::Open { id, socket, recv } => self.open(id, socket, recv),
            ClockCommand::Start { id, peer, peer_ssrc, config, notify, srtp } => {
                self.start(id, (peer, peer_ssrc), config, notify, srtp)
            }
            ClockCommand::Close { id, reply } => {
                let received = self.close(id);
                if let Some(reply) = reply {
                    let _ = reply.send(received);
                }
            }
            ClockCommand::Retarget { id, peer, peer_ssrc, receive } => {
                let Some(stream) = self.streams.get_mut(&id) else { return };
                if let Some(receive) = receive {
                    stream.receiver.set_srtp(Some(*receive));
                }
                let on_shared = stream.socket.is_none();
                if let Some(s) = stream.sending.as_mut() {
                    if let Some(shared) = self.shared.as_mut().filter(|_| on_shared) {
                        shared.unroute(s.peer, s.peer_ssrc, id);
                        shared.route(peer, peer_ssrc, id);
                    }
                    (s.peer, s.peer_ssrc) = (peer, peer_ssrc);
                }
            }
            other => self.apply(other),
        }
    }

    /// Play / StopPlayback / Digit: applied while sending, kept until then otherwise.
    fn apply(&mut self, cmd: ClockCommand) {
        let id = match &cmd {
            ClockCommand::Play { id, .. }
            | ClockCommand::StopPlayback { id }
            | ClockCommand::Digit { id, .. } => *id,
            _ => return,
        };
        let Some(stream) = self.streams.get_mut(&id) else { return };
        let Some(s) = stream.sending.as_mut() else {
            if matches!(cmd, ClockCommand::StopPlayback { .. }) {
                stream.pending.retain(|c| !matches!(c, ClockCommand::Play { .. }));
            } else {
                stream.pending.push(cmd);
            }
            return;
        };
        match cmd {
            ClockCommand::Play { audio, .. } => {
                s.sender.enqueue_shared(audio);
                s.playing = s.sender.queued_samples() > 0;
            }
            ClockCommand::StopPlayback { .. } => {
                s.sender.clear();
                s.playing = false;
            }
            ClockCommand::Digit { digit, duration, .. } => s.sender.send_digit(digit, duration),
            _ => {}
        }
    }

    fn open(&mut self, id: StreamId, socket: Option<UdpSocket>, recv: RecvSetup) {
        self.close(id);
        let slot = (0..SLOTS).min_by_key(|&s| self.slots[s].len()).unwrap_or(0);
        let config = ReceiverConfig {
            emit_audio: recv.record_limit > 0,
            inband_dtmf: recv.inband_dtmf,
            ..ReceiverConfig::default()
        };
        self.slots[slot].push(id);
        let stream = Stream {
            socket,
            slot,
            sending: None,
            receiver: RtpReceiver::new(config),
            record_limit: recv.record_limit,
            pcm: Vec::new(),
            on_digit: recv.on_digit,
            pending: Vec::new(),
            visits: 0,
        };
        self.streams.insert(id, stream);
        self.stats.streams.fetch_add(1, Ordering::Relaxed);
    }

    fn start(
        &mut self,
        id: StreamId,
        (peer, peer_ssrc): (SocketAddr, Option<u32>),
        config: SenderConfig,
        notify: Option<UnboundedSender<CallEvent>>,
        srtp: Option<Box<CallSrtp>>,
    ) {
        let Some(stream) = self.streams.get_mut(&id) else { return };
        // First frame: the next instant of the stream's slot at least one slot ahead of the clock.
        let base = self.tick + 1;
        let offset = (stream.slot as u64 + SLOTS as u64 - base % SLOTS as u64) % SLOTS as u64;
        let start = self.epoch + Duration::from_millis(base + offset);
        if let Some(shared) = self.shared.as_mut().filter(|_| stream.socket.is_none()) {
            if let Some(old) = &stream.sending {
                shared.unroute(old.peer, old.peer_ssrc, id);
            }
            shared.route(peer, peer_ssrc, id);
        }
        let mut sender = RtpSender::new(config, start);
        if let Some(srtp) = srtp {
            let CallSrtp { send, receive } = *srtp;
            sender.set_srtp(Some(send));
            stream.receiver.set_srtp(Some(receive));
        }
        stream.sending = Some(Sending { sender, peer, peer_ssrc, playing: false, notify });
        for cmd in std::mem::take(&mut stream.pending) {
            self.apply(cmd);
        }
    }

    fn close(&mut self, id: StreamId) -> Received {
        let Some(s) = self.streams.remove(&id) else { return Received::default() };
        self.slots[s.slot].retain(|&x| x != id);
        if let (Some(shared), Some(out), None) = (self.shared.as_mut(), &s.sending, &s.socket) {
            shared.unroute(out.peer, out.peer_ssrc, id);
        }
        self.stats.streams.fetch_sub(1, Ordering::Relaxed);
        Received { pcm: s.pcm, stats: s.receiver.stats().clone() }
    }

    /// Serves the slots of ticks `first..=last`: all their sends, then all their reads.
    fn serve_slots(&mut self, first: u64, last: u64) {
        let mut tally = Tally::default();
        let slot_of = |tick: u64| (tick % SLOTS as u64) as usize;
        for tick in first..=last {
            for id in &self.slots[slot_of(tick)] {
                if let Some(s) = self.streams.get_mut(id) {
                    send_due(s, self.shared.as_mut(), &mut tally);
                }
            }
            if let Some(shared) = self.shared.as_mut() {
                tally.errors += shared.flush();
            }
        }
        let now = Instant::now();
        for tick in first..=last {
            for id in &self.slots[slot_of(tick)] {
                if let Some(s) = self.streams.get_mut(id) {
                    receive_all(s, now, &mut self.buf, &mut tally);
                }
            }
        }
        if let Some(shared) = self.shared.as_mut() {
            // Every slot: the one socket carries the arrivals of all calls, not just this slot's.
            let streams = &mut self.streams;
            let drained = shared.drain(|id, datagram| {
                if let Some(s) = streams.get_mut(&id) {
                    hear(s, now, datagram, &mut tally);
                }
            });
            tally.received += drained.routed;
            tally.unknown += drained.unknown;
        }
        let st = &self.stats;
        st.packets_sent.fetch_add(tally.sent, Ordering::Relaxed);
        st.late_over_5ms.fetch_add(tally.late, Ordering::Relaxed);
        st.skipped_frames.fetch_add(tally.skipped, Ordering::Relaxed);
        st.send_errors.fetch_add(tally.errors, Ordering::Relaxed);
        st.packets_received.fetch_add(tally.received, Ordering::Relaxed);
        st.unknown_source_dropped.fetch_add(tally.unknown, Ordering::Relaxed);
        st.srtp_auth_failures.fetch_add(tally.auth_failures, Ordering::Relaxed);
        st.srtp_replays_dropped.fetch_add(tally.replays, Ordering::Relaxed);
        st.late_max_us.fetch_max(tally.late_max.as_micros() as u64, Ordering::Relaxed);
    }
}

/// Makes the calling thread SCHED_FIFO at `priority` (1–99): the scheduler then runs it as soon as its
/// slot is due, ahead of every normal thread, and spreads such threads over the cores at once. Needs
/// CAP_SYS_NICE; without it the thread stays at normal priority, with a warning.
fn run_realtime(priority: u8) {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let value = ThreadPriorityValue::try_from(priority.clamp(1, 99));
    let result = value.map_err(|e| e.to_string()).and_then(|v| {
        let policy = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
        set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Crossplatform(v), policy)
            .map_err(|e| format!("{e:?}"))
    });
    match result {
        Ok(()) => tracing::info!(priority, "media clock runs SCHED_FIFO"),
        Err(error) => {
            tracing::warn!(priority, %error, "media clock stays at normal priority (needs CAP_SYS_NICE)")
        }
    }
}

/// Sends the stream's due frames (on its own socket, or queued on the shared one for the slot's
/// `sendmmsg`) and notices the end of its prompt.
fn send_due(s: &mut Stream, mut shared: Option<&mut SharedRtp>, tally: &mut Tally) {
    let Some(out) = s.sending.as_mut() else { return };
    let before = out.sender.stats().clone();
    let now = Instant::now();
    while let Some(packet) = out.sender.poll_transmit(now) {
        match (&s.socket, shared.as_deref_mut()) {
            (Some(socket), _) => {
                if socket.send_to(&packet, out.peer).is_err() {
                    tally.errors += 1;
                }
            }
            (None, Some(shared)) => shared.queue(packet, out.peer),
            (None, None) => tally.errors += 1,
        }
    }
    let after = out.sender.stats();
    tally.sent += after.packets_sent - before.packets_sent;
    tally.late += after.late_over_5ms - before.late_over_5ms;
    tally.skipped += after.skipped_frames - before.skipped_frames;
    tally.late_max = tally.late_max.max(after.late_max);
    if out.playing && out.sender.queued_samples() == 0 {
        out.playing = false;
        if let Some(n) = &out.notify {
            let _ = n.send(CallEvent::PlaybackFinished);
        }
    }
}

/// Reads what arrived on the stream's own socket since the last visit. Only the peer's datagrams are
/// heard ([`is_from_peer`]; none before the answer); others are counted and dropped, and do not use up
/// the visit's reads, so a stranger's flood cannot push the peer's packets back (at most [`MAX_READS`]
/// reads per visit in all).
fn receive_all(s: &mut Stream, now: Instant, buf: &mut [u8], tally: &mut Tally) {
    s.visits = s.visits.wrapping_add(1);
    let mut wanted = if s.visits.is_multiple_of(DRAIN_EVERY) { MAX_READS } else { 1 };
    for _ in 0..MAX_READS {
        let Some(socket) = &s.socket else { return };
        let (n, source) = match socket.recv_from(buf) {
            Ok(got) => got,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(_) => continue, // e.g. ICMP port unreachable reported on the socket
        };
        let datagram = &buf[..n];
        if !s.sending.as_ref().is_some_and(|out| is_from_peer(out.peer, out.peer_ssrc, source, datagram)) {
            tally.unknown += 1;
            continue;
        }
        tally.received += 1;
        hear(s, now, datagram, tally);
        wanted -= 1;
        if wanted == 0 {
            return;
        }
    }
}

/// One datagram for the stream: decoded, digits reported, audio kept while recording; SRTP
/// authentication failures and replays counted in `tally`.
fn hear(s: &mut Stream, now: Instant, datagram: &[u8], tally: &mut Tally) {
    // Errors are per datagram (malformed, RTCP, SRTP) and counted by the receiver too.
    match s.receiver.handle_datagram(now, datagram) {
        Err(ReceiveError::Srtp(SrtpError::AuthFailed)) => tally.auth_failures += 1,
        Err(ReceiveError::Srtp(SrtpError::Replayed | SrtpError::TooOld)) => tally.replays += 1,
        _ => {}
    }
    while let Some(ev) = s.receiver.poll_event() {
        match ev {
            MediaEvent::Digit { digit, source } => {
                if let Some(f) = s.on_digit.as_mut() {
                    f(digit, source);
                }
            }
            MediaEvent::Audio(frame) if s.pcm.len() < s.record_limit => s.pcm.extend_from_slice(&frame.pcm),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use voicebot_media::Codec;

    use super::*;

    fn socket() -> (UdpSocket, SocketAddr) {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let a = s.local_addr().expect("addr");
        (s, a)
    }

    /// One stream on a real clock: paced at 50 pps towards its peer, prompt end reported, a digit sent by
    /// the peer heard, and its counters handed back on close.
    #[tokio::test]
    async fn stream_sends_paced_frames_reports_playback_end_and_hears_a_digit() {
        let clock = ClockHandle::spawn("test", None, None);
        let (ours, our_addr) = socket();
        ours.set_nonblocking(true).expect("nonblocking");
        let (peer, _) = socket();
        peer.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        let on_digit: DigitSink = Box::new(move |d, s| sink.lock().expect("lock").push((d, s)));
        let recv = RecvSetup { inband_dtmf: false, record_limit: 0, on_digit: Some(on_digit) };
        clock.send(ClockCommand::Open { id: 1, socket: Some(ours), recv });
        // 200 ms of prompt, queued before Start.
        clock.send(ClockCommand::Play { id: 1, audio: PromptAudio::Pcm16(vec![1000i16; 1600].into()) });
        let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
        let peer_addr = peer.local_addr().expect("addr");
        let config = SenderConfig::new(Codec::Pcmu);
        clock.send(ClockCommand::Start {
            id: 1,
            peer: peer_addr,
            peer_ssrc: None,
            config,
            notify: Some(tx),
            srtp: None,
        });

        let started = Instant::now();
        let mut buf = [0u8; 2048];
        let mut frames = 0;
        while started.elapsed() < Duration::from_millis(500) {
            if peer.recv_from(&mut buf).is_ok() {
                frames += 1;
            }
        }
        assert!((12..=27).contains(&frames), "{frames} frames in 500 ms (50 pps expected)");
        let ev = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("in time");
        assert_eq!(ev, Some(CallEvent::PlaybackFinished));

        let mut far = RtpSender::new(SenderConfig::new(Codec::Pcmu), started);
        far.send_digit(Digit::D5, Duration::from_millis(100));
        for k in 0..12u32 {
            while let Some(p) = far.poll_transmit(started + FRAME * k) {
                peer.send_to(&p, our_addr).expect("send");
            }
        }
        let until = Instant::now() + Duration::from_secs(5);
        while heard.lock().expect("lock").is_empty() && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let digits = heard.lock().expect("lock").clone();
        assert!(matches!(digits.as_slice(), [(Digit::D5, DigitSource::Rfc4733 { .. })]), "{digits:?}");
        let received = clock.close(1).await;
        assert_eq!(received.stats.digits, 1, "{:?}", received.stats);
        let stats = clock.stats();
        assert_eq!(stats.streams, 0);
        assert!(stats.packets_sent >= frames, "{stats:?}");
    }

    /// Shared mode: the stream's frames leave from the clock's one socket towards its peer, the peer's
    /// digit reaches the stream, and a datagram from a stranger is counted and dropped.
    #[tokio::test]
    async fn shared_socket_sends_to_the_peer_hears_it_and_drops_strangers() {
        let (shared, shared_addr) = socket();
        shared.set_nonblocking(true).expect("nonblocking");
        let clock = ClockHandle::spawn("test-shared", Some(shared), None);
        let (peer, peer_addr) = socket();
        peer.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        let on_digit: DigitSink = Box::new(move |d, s| sink.lock().expect("lock").push((d, s)));
        let recv = RecvSetup { inband_dtmf: false, record_limit: 0, on_digit: Some(on_digit) };
        clock.send(ClockCommand::Open { id: 7, socket: None, recv });
        let config = SenderConfig::new(Codec::Pcmu);
        clock.send(ClockCommand::Start {
            id: 7,
            peer: peer_addr,
            peer_ssrc: None,
            config,
            notify: None,
            srtp: None,
        });

        let mut buf = [0u8; 2048];
        let (_, from) = peer.recv_from(&mut buf).expect("a frame from the shared socket");
        assert_eq!(from, shared_addr);

        let (stranger, _) = socket();
        stranger.send_to(&[0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], shared_addr).expect("send");
        let started = Instant::now();
        let mut far = RtpSender::new(SenderConfig::new(Codec::Pcmu), started);
        far.send_digit(Digit::D9, Duration::from_millis(100));
        for k in 0..12u32 {
            while let Some(p) = far.poll_transmit(started + FRAME * k) {
                peer.send_to(&p, shared_addr).expect("send");
            }
        }
        let until = Instant::now() + Duration::from_secs(5);
        while (heard.lock().expect("lock").is_empty() || clock.stats().unknown_source_dropped == 0)
            && Instant::now() < until
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let digits = heard.lock().expect("lock").clone();
        assert!(matches!(digits.as_slice(), [(Digit::D9, DigitSource::Rfc4733 { .. })]), "{digits:?}");
        let received = clock.close(7).await;
        assert_eq!(received.stats.digits, 1, "{:?}", received.stats);
        let stats = clock.stats();
        assert_eq!(stats.unknown_source_dropped, 1, "{stats:?}");
        assert!(stats.packets_received >= 1, "{stats:?}");
        assert_eq!(stats.send_errors, 0, "{stats:?}");
    }

    /// `media_priority` really makes the clock thread SCHED_FIFO where the process may (root or
    /// CAP_SYS_NICE, as root in CI), and leaves it a normal thread where it may not.
    #[test]
    fn realtime_priority_is_applied_where_permitted() {
        use thread_priority::{RealtimeThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy};
        let permitted = may_set_realtime();
        let policy = std::thread::spawn(|| {
            run_realtime(5);
            thread_schedule_policy().expect("policy")
        })
        .join()
        .expect("thread");
        let fifo = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
        if permitted {
            assert_eq!(policy, fifo);
        } else {
            assert_ne!(policy, fifo);
        }
    }

    /// CAP_SYS_NICE (bit 23) in this process's effective capabilities.
    fn may_set_realtime() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                let hex = s.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim().to_string();
                u64::from_str_radix(&hex, 16).ok()
            })
            .is_some_and(|caps| caps & (1 << 23) != 0)
    }

    const FRAME: Duration = Duration::from_millis(20);
}
