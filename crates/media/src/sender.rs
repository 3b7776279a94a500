//! The outbound RTP stream of one call: paced 20 ms G.711 frames and RFC 4733 digits.
//!
//! [`RtpSender`] owns everything a peer sees of our media: SSRC, sequence numbers, timestamps,
//! the marker bit, the queue of prompt audio still to play, comfort silence between prompts
//! and telephone-event packets. It performs no I/O and reads no clock: the driver passes `now`
//! to [`RtpSender::poll_transmit`] and sleeps until [`RtpSender::poll_timeout`]. The frame
//! schedule is fixed (`start + k·20 ms`), so a driver that wakes late is measured against it
//! ([`SenderStats`]) rather than drifting.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::digit::Digit;
use crate::event::{DEFAULT_EVENT_PAYLOAD_TYPE, EVENT_LEN, TelephoneEvent};
use crate::g711::{Codec, linear_to_alaw, linear_to_ulaw, ulaw_to_linear};
use crate::rtp::FIXED_HEADER_LEN;
use crate::srtp::{MAX_TAG_LEN, SrtpContext};

/// G.711 / telephone-event clock rate.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one 20 ms frame.
pub const FRAME_SAMPLES: usize = 160;
/// Packetisation time.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// Lateness above which a send counts in [`SenderStats::late_over_5ms`].
const LATE_MARK: Duration = Duration::from_millis(5);
/// End-of-event packets are sent this many times in all (RFC 4733 §2.5.1.4).
const END_PACKETS: u16 = 3;

/// How an [`RtpSender`] stream is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderConfig {
    /// The negotiated codec.
    pub codec: Codec,
    /// RTP payload type for audio; defaults to the codec's static type.
    pub payload_type: u8,
    /// Payload type of `telephone-event/8000` (default 101).
    pub event_payload_type: u8,
    /// Our SSRC.
    pub ssrc: u32,
    /// Sequence number of the first packet.
    pub initial_sequence: u16,
    /// Timestamp of the first frame.
    pub initial_timestamp: u32,
    /// Send silence frames while no prompt is queued (keeps NAT bindings and peers happy).
    pub send_silence: bool,
    /// Volume field for events, in −dBm0 (default 10).
    pub event_volume: u8,
    /// When the driver is this late, skip the missed frames instead of bursting them.
    pub resync_after: Duration,
}

impl SenderConfig {
    /// Defaults with SSRC, first sequence number and timestamp drawn from the thread RNG.
    pub fn new(codec: Codec) -> Self {
        Self::with_rng(codec, &mut rand::thread_rng())
    }

    /// Defaults with the random fields drawn from `rng` (seed it for reproducible tests).
    pub fn with_rng<R: Rng + ?Sized>(codec: Codec, rng: &mut R) -> Self {
        SenderConfig {
            codec,
            payload_type: codec.payload_type(),
            event_payload_type: DEFAULT_EVENT_PAYLOAD_TYPE,
            ssrc: rng.r#gen(),
            initial_sequence: rng.r#gen(),
            initial_timestamp: rng.r#gen(),
            send_silence: true,
            event_volume: 10,
            resync_after: Duration::from_millis(100),
        }
    }
}

/// Counters a driver reads for logs and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderStats {
    /// RTP packets handed out.
    pub packets_sent: u64,
    /// Payload octets handed out (as in an RTCP sender report).
    pub octets_sent: u64,
    /// Frames carrying prompt audio.
    pub audio_frames: u64,
    /// Comfort-silence frames.
    pub silence_frames: u64,
    /// Telephone-event packets (start, updates and end retransmissions).
    pub event_packets: u64,
    /// Digits whose events were completed.
    pub digits_sent: u64,
    /// Sum of `now − scheduled` over sent packets.
    pub late_total: Duration,
    /// Worst lateness seen.
    pub late_max: Duration,
    /// Packets sent more than 5 ms after their slot.
    pub late_over_5ms: u64,
    /// Frame slots dropped because the driver was later than `resync_after`.
    pub skipped_frames: u64,
    /// Packets dropped because SRTP could not protect them (master key lifetime reached).
    pub srtp_refused: u64,
}

impl SenderStats {
    /// Mean lateness per sent packet.
    pub fn late_mean(&self) -> Duration {
        match u32::try_from(self.packets_sent) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.late_total / n,
            Err(_) => self.late_total.div_f64(self.packets_sent as f64),
        }
    }
}

/// Prompt audio at 8 kHz for [`RtpSender`], shared between calls without copies.
///
/// `Ulaw` holds G.711 µ-law bytes: half the memory of PCM16, which counts when thousands of
/// live calls each hold their own rendered message, and a PCMU stream sends the bytes as they
/// are. A PCMA stream converts µ-law to A-law through linear, as G.711's own tables do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptAudio {
    /// Linear 16-bit samples.
    Pcm16(Arc<[i16]>),
    /// G.711 µ-law bytes, one per sample.
    Ulaw(Arc<[u8]>),
}

impl PromptAudio {
    /// Encodes PCM16 as µ-law (the compact form for holding a prompt while a call lasts).
    pub fn ulaw(pcm: &[i16]) -> Self {
        PromptAudio::Ulaw(pcm.iter().map(|&s| linear_to_ulaw(s)).collect())
    }

    /// Samples (8 kHz).
    pub fn len(&self) -> usize {
        match self {
            PromptAudio::Pcm16(p) => p.len(),
            PromptAudio::Ulaw(u) => u.len(),
        }
    }

    /// `true` for no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Play time.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// Appends samples `range` encoded for `codec` to `out`.
    fn encode_into(&self, range: std::ops::Range<usize>, codec: Codec, out: &mut Vec<u8>) {
        match (self, codec) {
            (PromptAudio::Pcm16(p), _) => out.extend(p[range].iter().map(|&s| codec.encode_sample(s))),
            (PromptAudio::Ulaw(u), Codec::Pcmu) => out.extend_from_slice(&u[range]),
            (PromptAudio::Ulaw(u), Codec::Pcma) => {
                out.extend(u[range].iter().map(|&c| linear_to_alaw(ulaw_to_linear(c))))
            }
        }
    }
}

impl From<Arc<[i16]>> for PromptAudio {
    fn from(pcm: Arc<[i16]>) -> Self {
        PromptAudio::Pcm16(pcm)
    }
}

#[derive(Debug, Clone)]
struct ActiveEvent {
    code: u8,
    timestamp: u32,
    /// Packets while the tone lasts; the last of them is the first end packet.
    tone_packets: u16,
    sent: u16,
}

/// Paced outbound RTP for one call. See the crate docs for the driver loop.
#[derive(Debug)]
pub struct RtpSender {
    config: SenderConfig,
    sequence: u16,
    /// Timestamp of the frame slot at `next_frame`.
    timestamp: u32,
    next_frame: Instant,
    /// Prompt audio still to play: shared buffers and the position reached in the first.
    audio: VecDeque<(PromptAudio, usize)>,
    /// Samples left in `audio`.
    queued: usize,
    /// The previous frame carried prompt audio (so the next one is not a talkspurt start).
    in_talkspurt: bool,
    digits: VecDeque<(Digit, Duration)>,
    event: Option<ActiveEvent>,
    stats: SenderStats,
    /// Protects every packet when the call negotiated SRTP.
    srtp: Option<SrtpContext>,
}

impl RtpSender {
    /// A stream whose first frame is due at `start`.
    pub fn new(config: SenderConfig, start: Instant) -> Self {
        RtpSender {
            sequence: config.initial_sequence,
            timestamp: config.initial_timestamp,
            config,
            next_frame: start,
            audio: VecDeque::new(),
            queued: 0,
            in_talkspurt: false,
            digits: VecDeque::new(),
            event: None,
            stats: SenderStats::default(),
            srtp: None,
        }
    }

    /// Protects every packet from now on with `srtp` (the call's outbound SRTP context), or sends
    /// plain RTP again with `None`.
    pub fn set_srtp(&mut self, srtp: Option<SrtpContext>) {
        self.srtp = srtp;
    }

    /// The stream's configuration (SSRC, payload types, …).
    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// Appends 8 kHz PCM16 prompt audio to the play queue (copied; see
    /// [`enqueue_shared`](Self::enqueue_shared) to avoid the copy).
    pub fn enqueue(&mut self, pcm: &[i16]) {
        self.enqueue_shared(Arc::from(pcm));
    }

    /// Appends a shared prompt buffer without copying it: one rendered prompt can play on
    /// thousands of calls at once.
    pub fn enqueue_shared(&mut self, audio: impl Into<PromptAudio>) {
        let audio = audio.into();
        if !audio.is_empty() {
            self.queued += audio.len();
            self.audio.push_back((audio, 0));
        }
    }

    /// Drops all queued prompt audio (barge-in). Queued digits are kept.
    pub fn clear(&mut self) {
        self.audio.clear();
        self.queued = 0;
    }

    /// `true` when no prompt audio is queued and no digit is pending or being sent.
    pub fn is_idle(&self) -> bool {
        self.audio.is_empty() && self.digits.is_empty() && self.event.is_none()
    }

    /// Samples of prompt audio still queued.
    pub fn queued_samples(&self) -> usize {
        self.queued
    }

    /// Play time of the queued prompt audio.
    pub fn queued_duration(&self) -> Duration {
        Duration::from_micros(self.queued as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// Queues an RFC 4733 key press lasting `duration` (rounded to 20 ms, at least one
    /// packet, at most ~8 s). While it plays, prompt audio pauses; it resumes afterwards.
    pub fn send_digit(&mut self, digit: Digit, duration: Duration) {
        self.digits.push_back((digit, duration));
    }

    /// Counters so far.
    pub fn stats(&self) -> &SenderStats {
        &self.stats
    }

    /// When the next frame is due. Call [`poll_transmit`](Self::poll_transmit) at (or after)
    /// that instant. Always `Some`: the stream never stops on its own.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_frame)
    }

    /// The next datagram due at `now`, if any. Call in a loop until `None`, then sleep until
    /// [`poll_timeout`](Self::poll_timeout). `now − slot` is recorded as lateness; a driver
    /// later than `resync_after` skips the missed slots (timestamps still advance).
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        while now >= self.next_frame {
            let late = now - self.next_frame;
            if late >= self.config.resync_after {
                self.skip_slots(late);
                continue;
            }
            let packet = self.build_frame();
            self.next_frame += FRAME_DURATION;
            self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
            if let Some(mut bytes) = packet {
                let plain_len = bytes.len();
                if let Some(srtp) = self.srtp.as_mut()
                    && srtp.protect(&mut bytes).is_err()
                {
                    self.stats.srtp_refused += 1;
                    continue;
                }
                self.record_sent(late, plain_len);
                return Some(bytes);
            }
        }
        None
    }

    fn skip_slots(&mut self, late: Duration) {
        // At least one slot, so a `resync_after` below 20 ms cannot stall the loop.
        let slots = ((late.as_micros() / FRAME_DURATION.as_micros()) as u32).max(1);
        self.next_frame += FRAME_DURATION * slots;
        self.timestamp = self.timestamp.wrapping_add(slots * FRAME_SAMPLES as u32);
        self.stats.skipped_frames += u64::from(slots);
        // Playout restarts after a gap: flag it as a new talkspurt.
        self.in_talkspurt = false;
    }

    fn record_sent(&mut self, late: Duration, len: usize) {
        let s = &mut self.stats;
        s.packets_sent += 1;
        s.octets_sent += (len - FIXED_HEADER_LEN) as u64;
        s.late_total += late;
        s.late_max = s.late_max.max(late);
        if late > LATE_MARK {
            s.late_over_5ms += 1;
        }
    }

    /// Builds the packet for the current slot, or `None` for a silent slot.
    fn build_frame(&mut self) -> Option<Vec<u8>> {
        if self.event.is_none()
            && let Some((digit, duration)) = self.digits.pop_front()
        {
            let frames = duration.as_millis() / FRAME_DURATION.as_millis();
            // Duration field is 16 bits: at most 409 packets of 160 samples.
            let tone_packets = frames.clamp(1, u128::from(u16::MAX) / FRAME_SAMPLES as u128) as u16;
            let timestamp = self.timestamp;
            self.event = Some(ActiveEvent { code: digit.event_code(), timestamp, tone_packets, sent: 0 });
        }
        if let Some(packet) = self.event_packet() {
            return Some(packet);
        }
        let codec = self.config.codec;
        let mut out = Vec::with_capacity(FIXED_HEADER_LEN + FRAME_SAMPLES + MAX_TAG_LEN);
        if !self.audio.is_empty() {
            let marker = !self.in_talkspurt;
            self.in_talkspurt = true;
            self.stats.audio_frames += 1;
            self.write_header(self.config.payload_type, marker, self.timestamp, &mut out);
            self.take_frame(codec, &mut out);
        } else {
            self.in_talkspurt = false;
            if !self.config.send_silence {
                return None;
            }
            let marker = self.stats.packets_sent == 0;
            self.stats.silence_frames += 1;
            self.write_header(self.config.payload_type, marker, self.timestamp, &mut out);
        }
        out.resize(FIXED_HEADER_LEN + FRAME_SAMPLES, codec.silence());
        Some(out)
    }

    /// The next packet of the event in progress, if one is.
    fn event_packet(&mut self) -> Option<Vec<u8>> {
        let ev = self.event.as_mut()?;
        let k = ev.sent;
        ev.sent += 1;
        let tone = TelephoneEvent {
            event: ev.code,
            end: k + 1 >= ev.tone_packets,
            volume: self.config.event_volume,
            duration: (k + 1).min(ev.tone_packets) * FRAME_SAMPLES as u16,
        };
        let timestamp = ev.timestamp;
        if ev.sent >= ev.tone_packets + END_PACKETS - 1 {
            self.event = None;
            self.in_talkspurt = false;
            self.stats.digits_sent += 1;
        }
        self.stats.event_packets += 1;
        let mut out = Vec::with_capacity(FIXED_HEADER_LEN + EVENT_LEN + MAX_TAG_LEN);
        self.write_header(self.config.event_payload_type, k == 0, timestamp, &mut out);
        out.extend_from_slice(&tone.to_bytes());
        Some(out)
    }

    /// Encodes up to one frame of queued prompt audio into `out`.
    fn take_frame(&mut self, codec: Codec, out: &mut Vec<u8>) {
        let mut want = FRAME_SAMPLES;
        while want > 0 {
            let Some((audio, pos)) = self.audio.front_mut() else { break };
            let n = want.min(audio.len() - *pos);
            audio.encode_into(*pos..*pos + n, codec, out);
            *pos += n;
            want -= n;
            self.queued -= n;
            if *pos == audio.len() {
                self.audio.pop_front();
            }
        }
    }

    /// Appends a 12-byte RTP header (no CSRC, extension or padding) and uses a sequence number.
    fn write_header(&mut self, payload_type: u8, marker: bool, timestamp: u32, out: &mut Vec<u8>) {
        out.push(0x80);
        out.push(if marker { 0x80 } else { 0 } | (payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&timestamp.to_be_bytes());
        out.extend_from_slice(&self.config.ssrc.to_be_bytes());
        self.sequence = self.sequence.wrapping_add(1);
    }
}
