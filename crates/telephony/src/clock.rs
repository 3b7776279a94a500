//! The shared media clock: ONE OS thread paces the outbound RTP of every call of an endpoint.
//!
//! Why a thread and not a task per call: thousands of calls each send a packet every 20 ms; one timer per
//! packet (or per call) would cost a wake-up per packet. Instead the clock divides the 20 ms frame period into
//! [`SLOTS`] 1 ms slots and puts each new stream in the least loaded slot (its first frame is aligned to that
//! slot, so every later frame is too). The thread wakes once per millisecond, serves the streams of the
//! current slot, and goes back to sleep: 50 wake-ups per stream-second become 1,000 wake-ups per second in
//! all, and a slot holds 1/20 of the calls, so the last packet of a slot leaves soon after the first.
//!
//! Lateness is measured by the senders themselves ([`voicebot_media::SenderStats`]: `now` minus the frame's
//! slot) and summed in [`ClockStats`]. The thread uses blocking `std` sends on non-blocking sockets (a full
//! buffer drops the packet and counts it) so it never waits for the tokio reactor.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use voicebot_media::{Digit, RtpSender, SenderConfig, SenderStats};

use crate::call::CallEvent;

/// Slots per 20 ms frame period (1 ms each).
pub const SLOTS: usize = 20;
const SLOT: Duration = Duration::from_millis(1);

/// Identifies one stream on the clock (one per call leg).
pub(crate) type StreamId = u64;

/// What the drivers ask of the clock.
pub(crate) enum ClockCommand {
    /// Start pacing a stream towards `peer` (plays anything queued for `id` before).
    Start {
        id: StreamId,
        socket: UdpSocket,
        peer: SocketAddr,
        config: SenderConfig,
        notify: Option<UnboundedSender<CallEvent>>,
    },
    /// The peer's media address changed (re-INVITE).
    Retarget { id: StreamId, peer: SocketAddr },
    /// Queue prompt audio (8 kHz PCM16).
    Play { id: StreamId, pcm: Arc<[i16]> },
    /// Drop queued audio (barge-in).
    StopPlayback { id: StreamId },
    /// Queue an RFC 4733 key press.
    Digit { id: StreamId, digit: Digit, duration: Duration },
    /// Stop the stream and forget it.
    Remove { id: StreamId },
}

/// Counters of one clock, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockStats {
    /// Streams being paced now.
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
}

#[derive(Default)]
struct SharedStats {
    streams: AtomicU64,
    packets_sent: AtomicU64,
    late_over_5ms: AtomicU64,
    late_max_us: AtomicU64,
    skipped_frames: AtomicU64,
    send_errors: AtomicU64,
}

/// A cloneable handle on the clock thread; the thread ends when every handle is dropped.
#[derive(Clone)]
pub(crate) struct ClockHandle {
    tx: mpsc::Sender<ClockCommand>,
    stats: Arc<SharedStats>,
}

impl ClockHandle {
    /// Starts the clock thread.
    pub(crate) fn spawn(name: &str) -> ClockHandle {
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(SharedStats::default());
        let shared = stats.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("{name}-media-clock"))
            .spawn(move || Clock::new(rx, shared).run());
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
        }
    }
}

struct Stream {
    sender: RtpSender,
    socket: UdpSocket,
    peer: SocketAddr,
    slot: usize,
    playing: bool,
    notify: Option<UnboundedSender<CallEvent>>,
}

struct Clock {
    rx: mpsc::Receiver<ClockCommand>,
    stats: Arc<SharedStats>,
    epoch: Instant,
    /// Milliseconds since `epoch` of the slot served next.
    tick: u64,
    streams: HashMap<StreamId, Stream>,
    slots: Vec<Vec<StreamId>>,
    /// Audio and digits queued before the stream started.
    pending: HashMap<StreamId, Vec<ClockCommand>>,
}

impl Clock {
    fn new(rx: mpsc::Receiver<ClockCommand>, stats: Arc<SharedStats>) -> Clock {
        Clock {
            rx,
            stats,
            epoch: Instant::now(),
            tick: 0,
            streams: HashMap::new(),
            slots: vec![Vec::new(); SLOTS],
            pending: HashMap::new(),
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
            let due = self.epoch + SLOT * self.tick as u32;
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
            self.serve_slot((self.tick % SLOTS as u64) as usize);
            self.tick += 1;
        }
    }

    fn command(&mut self, cmd: ClockCommand) {
        match cmd {
            ClockCommand::Start { id, socket, peer, config, notify } => {
                self.start(id, socket, peer, config, notify)
            }
            ClockCommand::Remove { id } => self.remove(id),
            ClockCommand::Retarget { id, peer } => {
                if let Some(s) = self.streams.get_mut(&id) {
                    s.peer = peer;
                }
            }
            other => self.apply(other),
        }
    }

    /// Play / StopPlayback / Digit: applied to a running stream, kept for one not started yet.
    fn apply(&mut self, cmd: ClockCommand) {
        let id = match &cmd {
            ClockCommand::Play { id, .. }
            | ClockCommand::StopPlayback { id }
            | ClockCommand::Digit { id, .. } => *id,
            _ => return,
        };
        let Some(s) = self.streams.get_mut(&id) else {
            let queue = self.pending.entry(id).or_default();
            if matches!(cmd, ClockCommand::StopPlayback { .. }) {
                queue.retain(|c| !matches!(c, ClockCommand::Play { .. }));
            } else {
                queue.push(cmd);
            }
            return;
        };
        match cmd {
            ClockCommand::Play { pcm, .. } => {
                s.sender.enqueue_shared(pcm);
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

    fn start(
        &mut self,
        id: StreamId,
        socket: UdpSocket,
        peer: SocketAddr,
        config: SenderConfig,
        notify: Option<UnboundedSender<CallEvent>>,
    ) {
        self.remove(id);
        let slot = (0..SLOTS).min_by_key(|&s| self.slots[s].len()).unwrap_or(0);
        // First frame: the next instant of `slot` at least one slot ahead of the clock.
        let base = self.tick + 1;
        let offset = (slot as u64 + SLOTS as u64 - base % SLOTS as u64) % SLOTS as u64;
        let start = self.epoch + SLOT * (base + offset) as u32;
        let sender = RtpSender::new(config, start);
        self.slots[slot].push(id);
        self.streams.insert(id, Stream { sender, socket, peer, slot, playing: false, notify });
        self.stats.streams.fetch_add(1, Ordering::Relaxed);
        for cmd in self.pending.remove(&id).unwrap_or_default() {
            self.apply(cmd);
        }
    }

    fn remove(&mut self, id: StreamId) {
        self.pending.remove(&id);
        if let Some(s) = self.streams.remove(&id) {
            self.slots[s.slot].retain(|&x| x != id);
            self.stats.streams.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn serve_slot(&mut self, slot: usize) {
        let (mut sent, mut late, mut skipped, mut errors, mut late_max) = (0, 0, 0, 0, Duration::ZERO);
        for id in &self.slots[slot] {
            let Some(s) = self.streams.get_mut(id) else { continue };
            let before: SenderStats = s.sender.stats().clone();
            let now = Instant::now();
            while let Some(packet) = s.sender.poll_transmit(now) {
                if s.socket.send_to(&packet, s.peer).is_err() {
                    errors += 1;
                }
            }
            let after = s.sender.stats();
            sent += after.packets_sent - before.packets_sent;
            late += after.late_over_5ms - before.late_over_5ms;
            skipped += after.skipped_frames - before.skipped_frames;
            late_max = late_max.max(after.late_max);
            if s.playing && s.sender.queued_samples() == 0 {
                s.playing = false;
                if let Some(n) = &s.notify {
                    let _ = n.send(CallEvent::PlaybackFinished);
                }
            }
        }
        let st = &self.stats;
        st.packets_sent.fetch_add(sent, Ordering::Relaxed);
        st.late_over_5ms.fetch_add(late, Ordering::Relaxed);
        st.skipped_frames.fetch_add(skipped, Ordering::Relaxed);
        st.send_errors.fetch_add(errors, Ordering::Relaxed);
        st.late_max_us.fetch_max(late_max.as_micros() as u64, Ordering::Relaxed);
    }
}
