//! The inbound RTP stream of one call: decode audio, report digits once, count losses.
//!
//! [`RtpReceiver`] takes datagrams from the driver ([`RtpReceiver::handle_datagram`]) and hands
//! back [`MediaEvent`]s ([`RtpReceiver::poll_event`]): decoded PCM16 frames for recording and
//! digits, from RFC 4733 packets (each event reported once, however many updates and end
//! retransmissions arrive) and optionally from in-band tones. Sequence tracking follows
//! RFC 3550 Appendix A in spirit: extended sequence numbers, loss = expected − received,
//! duplicates detected in a 128-packet window and dropped.

use std::collections::VecDeque;
use std::time::Instant;

use thiserror::Error;

use crate::detector::DtmfDetector;
use crate::digit::Digit;
use crate::event::{DEFAULT_EVENT_PAYLOAD_TYPE, EventError, TelephoneEvent};
use crate::g711::Codec;
use crate::rtp::{RtpError, RtpPacket};
use crate::sender::SAMPLE_RATE;

/// Remembered RFC 4733 event timestamps (for de-duplication).
const EVENT_HISTORY: usize = 16;
/// Width of the duplicate-detection window, in packets.
const SEQ_WINDOW: u64 = 128;

/// Why a datagram was not used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// Not a valid RTP packet.
    #[error(transparent)]
    Rtp(#[from] RtpError),
    /// A telephone-event packet with a bad payload.
    #[error(transparent)]
    Event(#[from] EventError),
}

/// How an [`RtpReceiver`] interprets payload types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// Audio payload types and their codecs (default: 0 → PCMU, 8 → PCMA).
    pub codecs: Vec<(u8, Codec)>,
    /// Payload type of `telephone-event/8000`, if negotiated (default 101).
    pub event_payload_type: Option<u8>,
    /// Emit [`MediaEvent::Audio`] frames (turn off when nothing records).
    pub emit_audio: bool,
    /// Also run the Goertzel detector on received audio.
    pub inband_dtmf: bool,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            codecs: vec![(0, Codec::Pcmu), (8, Codec::Pcma)],
            event_payload_type: Some(DEFAULT_EVENT_PAYLOAD_TYPE),
            emit_audio: true,
            inband_dtmf: false,
        }
    }
}

/// Where a digit was heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigitSource {
    /// An RFC 4733 telephone-event with this RTP timestamp.
    Rfc4733 {
        /// The event's timestamp (its identity).
        timestamp: u32,
    },
    /// The in-band Goertzel detector.
    InBand,
}

/// Decoded audio of one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFrame {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp of the first sample.
    pub timestamp: u32,
    /// Marker bit (talkspurt start).
    pub marker: bool,
    /// 8 kHz PCM16 samples.
    pub pcm: Vec<i16>,
}

/// What the receiver has to tell the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// A decoded audio frame, in arrival order (duplicates dropped).
    Audio(AudioFrame),
    /// A key press, reported once.
    Digit {
        /// The key.
        digit: Digit,
        /// How it arrived.
        source: DigitSource,
    },
}

/// Counters for logs and call records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReceiverStats {
    /// Valid RTP packets (including duplicates).
    pub packets_received: u64,
    /// Datagrams that failed to parse.
    pub malformed: u64,
    /// Packets whose sequence number was already seen (dropped).
    pub duplicates: u64,
    /// Packets that arrived after a later one (kept).
    pub reordered: u64,
    /// Packets with a payload type we did not negotiate.
    pub unknown_payload_type: u64,
    /// Audio frames decoded.
    pub audio_frames: u64,
    /// Telephone-event packets.
    pub event_packets: u64,
    /// Telephone events that are not DTMF (flash, tones, …).
    pub non_dtmf_events: u64,
    /// Digits reported (both sources).
    pub digits: u64,
    /// Times the remote SSRC changed (counters restart).
    pub ssrc_changes: u64,
    /// Packets missing, from sequence gaps (expected − received, RFC 3550 A.3).
    pub lost: u64,
    /// RFC 3550 interarrival jitter estimate, in milliseconds.
    pub jitter_ms: f64,
}

/// Extended-sequence bookkeeping for one SSRC.
#[derive(Debug, Clone, Default)]
struct SeqTracker {
    started: bool,
    base: u64,
    max: u64,
    /// Bit `i` set: packet `max − i` seen.
    window: u128,
    unique: u64,
}

enum SeqVerdict {
    New,
    Reordered,
    Duplicate,
}

impl SeqTracker {
    fn update(&mut self, seq: u16) -> SeqVerdict {
        if !self.started {
            // Offset by one cycle so early reordering can go below the first number.
            let ext = (1u64 << 16) | u64::from(seq);
            *self = SeqTracker { started: true, base: ext, max: ext, window: 1, unique: 1 };
            return SeqVerdict::New;
        }
        let cand = (self.max & !0xFFFF) | u64::from(seq);
        let ext = [cand.wrapping_sub(1 << 16), cand, cand + (1 << 16)]
            .into_iter()
            .min_by_key(|&c| c.abs_diff(self.max))
            .unwrap_or(cand);
        if ext > self.max {
            let shift = ext - self.max;
            self.window = if shift >= SEQ_WINDOW { 0 } else { self.window << shift };
            self.window |= 1;
            self.max = ext;
            self.unique += 1;
            return SeqVerdict::New;
        }
        let age = self.max - ext;
        if age >= SEQ_WINDOW || self.window & (1u128 << age) != 0 {
            return SeqVerdict::Duplicate;
        }
        self.window |= 1u128 << age;
        self.unique += 1;
        self.base = self.base.min(ext);
        SeqVerdict::Reordered
    }

    fn lost(&self) -> u64 {
        (self.max + 1 - self.base).saturating_sub(self.unique)
    }
}

/// Inbound RTP for one call. See the crate docs for the driver loop.
#[derive(Debug)]
pub struct RtpReceiver {
    config: ReceiverConfig,
    ssrc: Option<u32>,
    seq: SeqTracker,
    lost_before: u64,
    recent_events: VecDeque<u32>,
    /// `(arrival instant, rtp timestamp)` of the previous audio packet, for jitter.
    last_audio: Option<(Instant, u32)>,
    jitter: f64,
    detector: Option<DtmfDetector>,
    events: VecDeque<MediaEvent>,
    stats: ReceiverStats,
}

impl RtpReceiver {
    /// A receiver for the negotiated payload types.
    pub fn new(config: ReceiverConfig) -> Self {
        RtpReceiver {
            detector: config.inband_dtmf.then(DtmfDetector::new),
            config,
            ssrc: None,
            seq: SeqTracker::default(),
            lost_before: 0,
            recent_events: VecDeque::with_capacity(EVENT_HISTORY),
            last_audio: None,
            jitter: 0.0,
            events: VecDeque::new(),
            stats: ReceiverStats::default(),
        }
    }

    /// The remote SSRC being followed, once a packet has arrived.
    pub fn remote_ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// Counters so far.
    pub fn stats(&self) -> &ReceiverStats {
        &self.stats
    }

    /// Next event produced by earlier datagrams. Drain after each
    /// [`handle_datagram`](Self::handle_datagram).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// Takes one datagram received at `now`. Errors are for logging/counting only; the
    /// receiver stays usable.
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) -> Result<(), ReceiveError> {
        let packet = match RtpPacket::parse(datagram) {
            Ok(p) => p,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e.into());
            }
        };
        if self.ssrc != Some(packet.ssrc) {
            if self.ssrc.is_some() {
                self.stats.ssrc_changes += 1;
                self.lost_before += self.seq.lost();
                self.recent_events.clear();
                self.last_audio = None;
            }
            self.ssrc = Some(packet.ssrc);
            self.seq = SeqTracker::default();
        }
        self.stats.packets_received += 1;
        match self.seq.update(packet.sequence) {
            SeqVerdict::Duplicate => {
                self.stats.duplicates += 1;
                return Ok(());
            }
            SeqVerdict::Reordered => self.stats.reordered += 1,
            SeqVerdict::New => {}
        }
        self.stats.lost = self.lost_before + self.seq.lost();
        if Some(packet.payload_type) == self.config.event_payload_type {
            return self.handle_event(&packet);
        }
        let codec = self.config.codecs.iter().find(|(pt, _)| *pt == packet.payload_type).map(|&(_, c)| c);
        match codec {
            Some(codec) => self.handle_audio(now, &packet, codec),
            None => self.stats.unknown_payload_type += 1,
        }
        Ok(())
    }

    fn handle_event(&mut self, packet: &RtpPacket<'_>) -> Result<(), ReceiveError> {
        let event = match TelephoneEvent::parse(packet.payload) {
            Ok(e) => e,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e.into());
            }
        };
        self.stats.event_packets += 1;
        let Some(digit) = Digit::from_event_code(event.event) else {
            self.stats.non_dtmf_events += 1;
            return Ok(());
        };
        if self.recent_events.contains(&packet.timestamp) {
            return Ok(());
        }
        if self.recent_events.len() == EVENT_HISTORY {
            self.recent_events.pop_front();
        }
        self.recent_events.push_back(packet.timestamp);
        self.push_digit(digit, DigitSource::Rfc4733 { timestamp: packet.timestamp });
        Ok(())
    }

    fn handle_audio(&mut self, now: Instant, packet: &RtpPacket<'_>, codec: Codec) {
        self.stats.audio_frames += 1;
        self.update_jitter(now, packet.timestamp);
        if !self.config.emit_audio && self.detector.is_none() {
            return;
        }
        let mut pcm = Vec::with_capacity(packet.payload.len());
        codec.decode(packet.payload, &mut pcm);
        if let Some(det) = self.detector.as_mut() {
            det.process(&pcm);
            let mut found = Vec::new();
            while let Some(d) = det.poll_digit() {
                found.push(d);
            }
            for d in found {
                self.push_digit(d, DigitSource::InBand);
            }
        }
        if self.config.emit_audio {
            self.events.push_back(MediaEvent::Audio(AudioFrame {
                sequence: packet.sequence,
                timestamp: packet.timestamp,
                marker: packet.marker,
                pcm,
            }));
        }
    }

    fn push_digit(&mut self, digit: Digit, source: DigitSource) {
        self.stats.digits += 1;
        self.events.push_back(MediaEvent::Digit { digit, source });
    }

    /// RFC 3550 §6.4.1: J += (|D| − J) / 16, in timestamp units.
    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        if let Some((prev_at, prev_ts)) = self.last_audio {
            let arrival = now.saturating_duration_since(prev_at).as_secs_f64() * f64::from(SAMPLE_RATE);
            let sent = f64::from(timestamp.wrapping_sub(prev_ts) as i32);
            let d = (arrival - sent).abs();
            self.jitter += (d - self.jitter) / 16.0;
            self.stats.jitter_ms = self.jitter * 1000.0 / f64::from(SAMPLE_RATE);
        }
        self.last_audio = Some((now, timestamp));
    }
}
