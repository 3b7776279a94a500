//! The inbound RTP stream of one call: decode audio, report digits once, count losses.
//!
//! [`RtpReceiver`] takes datagrams from the driver ([`RtpReceiver::handle_datagram`]) and hands
//! back [`MediaEvent`]s ([`RtpReceiver::poll_event`]): decoded PCM16 frames for recording and
//! digits, from RFC 4733 packets (each event reported once, however many updates and end
//! retransmissions arrive) and optionally from in-band tones. Sequence tracking follows
//! RFC 3550 Appendix A in spirit, per SSRC: extended sequence numbers, loss = expected −
//! received, duplicates detected in a 128-packet window and dropped, restart on big jumps.

use std::collections::VecDeque;
use std::time::Instant;

use thiserror::Error;

use crate::detector::DtmfDetector;
use crate::digit::Digit;
use crate::event::{DEFAULT_EVENT_PAYLOAD_TYPE, EventError, TelephoneEvent};
use crate::g711::Codec;
use crate::rtp::{RtpError, RtpPacket};
use crate::sender::SAMPLE_RATE;
use crate::srtp::{SrtpContext, SrtpError};

/// Remembered RFC 4733 event timestamps (for de-duplication).
const EVENT_HISTORY: usize = 16;
/// Width of the duplicate-detection window, in packets.
const SEQ_WINDOW: u64 = 128;
/// A forward jump beyond this is not a gap but a restart (RFC 3550 A.1 `MAX_DROPOUT`).
const MAX_DROPOUT: u64 = 3000;
/// Packets this far behind are late, not a restart (RFC 3550 A.1 `MAX_MISORDER`).
const MAX_MISORDER: u64 = 100;
/// Sources (SSRCs) tracked at once.
const MAX_SOURCES: usize = 4;

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
    /// An SRTP packet that failed authentication, was replayed or is not SRTP.
    #[error(transparent)]
    Srtp(#[from] SrtpError),
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
    /// Also run the Goertzel detector on received audio. In-band digits are reported only
    /// until the first telephone-event packet arrives (then RFC 4733 alone counts, so a peer
    /// sending both does not produce every digit twice).
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
    /// Datagrams that failed to parse (RTCP excluded).
    pub malformed: u64,
    /// RTCP packets arriving on the RTP port (rtcp-mux); returned as [`RtpError::Rtcp`].
    pub rtcp: u64,
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
    /// Distinct remote SSRCs seen (events may come under their own SSRC).
    pub sources: u64,
    /// Sequence jumps beyond 3000 that restarted loss counting (peer restarted its stream).
    pub restarts: u64,
    /// Packets far out of sequence, dropped (the first of a restart, or strays).
    pub stray: u64,
    /// Packets missing, from sequence gaps (expected − received, RFC 3550 A.3).
    pub lost: u64,
    /// RFC 3550 interarrival jitter estimate, in milliseconds.
    pub jitter_ms: f64,
    /// SRTP packets whose authentication tag did not verify (dropped).
    pub srtp_auth_failures: u64,
    /// SRTP packets refused as replays: already received, or behind the replay window (dropped).
    pub srtp_replays: u64,
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
    /// After a big jump: the sequence number that would confirm a restart.
    bad_seq: Option<u16>,
}

enum SeqVerdict {
    New,
    Reordered,
    Duplicate,
    /// Second packet after a big jump: tracking restarted; carries the losses counted so far.
    Restarted(u64),
    /// First packet after a big jump, dropped until the next confirms it.
    Stray,
}

impl SeqTracker {
    fn update(&mut self, seq: u16) -> SeqVerdict {
        if !self.started {
            // Offset by one cycle so early reordering can go below the first number.
            let ext = (1u64 << 16) | u64::from(seq);
            *self = SeqTracker { started: true, base: ext, max: ext, window: 1, unique: 1, bad_seq: None };
            return SeqVerdict::New;
        }
        let udelta = u64::from(seq.wrapping_sub(self.max as u16));
        if udelta == 0 {
            return SeqVerdict::Duplicate;
        }
        if udelta < MAX_DROPOUT {
            self.window = if udelta >= SEQ_WINDOW { 0 } else { self.window << udelta };
            self.window |= 1;
            self.max += udelta;
            self.unique += 1;
            self.bad_seq = None;
            return SeqVerdict::New;
        }
        if udelta <= (1 << 16) - MAX_MISORDER {
            // A big jump: believe it only when the next packet follows it (RFC 3550 A.1).
            if self.bad_seq == Some(seq) {
                let lost = self.lost();
                *self = SeqTracker::default();
                self.update(seq);
                return SeqVerdict::Restarted(lost);
            }
            self.bad_seq = Some(seq.wrapping_add(1));
            return SeqVerdict::Stray;
        }
        let age = (1 << 16) - udelta;
        if self.window & (1u128 << age) != 0 {
            return SeqVerdict::Duplicate;
        }
        self.window |= 1u128 << age;
        self.unique += 1;
        self.base = self.base.min(self.max - age);
        SeqVerdict::Reordered
    }

    fn lost(&self) -> u64 {
        (self.max + 1 - self.base).saturating_sub(self.unique)
    }
}

/// Per-SSRC state. Peers may send telephone-events under another SSRC than audio (sipp's
/// `play_pcap_audio` does), so each source keeps its own sequence and event history.
#[derive(Debug)]
struct Source {
    ssrc: u32,
    seq: SeqTracker,
    recent_events: VecDeque<u32>,
    /// `(arrival instant, rtp timestamp)` of the previous audio packet, for jitter.
    last_audio: Option<(Instant, u32)>,
    /// RFC 3550 jitter in timestamp units.
    jitter: f64,
    /// Packet counter value when last heard (for eviction).
    last_heard: u64,
}

impl Source {
    fn new(ssrc: u32) -> Source {
        Source {
            ssrc,
            seq: SeqTracker::default(),
            recent_events: VecDeque::with_capacity(EVENT_HISTORY),
            last_audio: None,
            jitter: 0.0,
            last_heard: 0,
        }
    }
}

/// Inbound RTP for one call. See the crate docs for the driver loop.
#[derive(Debug)]
pub struct RtpReceiver {
    config: ReceiverConfig,
    sources: Vec<Source>,
    /// Losses of sources forgotten or restarted.
    lost_before: u64,
    audio_ssrc: Option<u32>,
    detector: Option<DtmfDetector>,
    events: VecDeque<MediaEvent>,
    stats: ReceiverStats,
    /// Unprotects every datagram when the call negotiated SRTP.
    srtp: Option<SrtpContext>,
    /// Where a datagram is decrypted (reused: no allocation per packet).
    scratch: Vec<u8>,
}

impl RtpReceiver {
    /// A receiver for the negotiated payload types.
    pub fn new(config: ReceiverConfig) -> Self {
        RtpReceiver {
            detector: config.inband_dtmf.then(DtmfDetector::new),
            config,
            sources: Vec::new(),
            lost_before: 0,
            audio_ssrc: None,
            events: VecDeque::new(),
            stats: ReceiverStats::default(),
            srtp: None,
            scratch: Vec::new(),
        }
    }

    /// Unprotects every datagram from now on with `srtp` (the call's inbound SRTP context): a
    /// packet that fails authentication or replays an earlier one is dropped and counted
    /// ([`ReceiverStats::srtp_auth_failures`], [`ReceiverStats::srtp_replays`]). `None`: plain RTP.
    pub fn set_srtp(&mut self, srtp: Option<SrtpContext>) {
        self.srtp = srtp;
    }

    /// The SSRC of the latest audio packet (or of any packet, before audio arrives).
    pub fn remote_ssrc(&self) -> Option<u32> {
        self.audio_ssrc.or_else(|| self.sources.iter().max_by_key(|s| s.last_heard).map(|s| s.ssrc))
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
        if self.srtp.is_none() {
            return self.handle_rtp(now, datagram);
        }
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        buf.extend_from_slice(datagram);
        let result = self.unprotect(&mut buf).and_then(|len| self.handle_rtp(now, &buf[..len]));
        self.scratch = buf;
        result
    }

    /// SRTP → RTP in place; RTCP (rtcp-mux) is counted as such, failures by kind.
    fn unprotect(&mut self, buf: &mut [u8]) -> Result<usize, ReceiveError> {
        if let Err(e @ RtpError::Rtcp(_)) = RtpPacket::parse(buf) {
            self.stats.rtcp += 1;
            return Err(e.into());
        }
        let Some(srtp) = self.srtp.as_mut() else { return Ok(buf.len()) };
        srtp.unprotect(buf).map_err(|e| {
            match e {
                SrtpError::AuthFailed => self.stats.srtp_auth_failures += 1,
                SrtpError::Replayed | SrtpError::TooOld => self.stats.srtp_replays += 1,
                _ => self.stats.malformed += 1,
            }
            e.into()
        })
    }

    /// One plain RTP datagram.
    fn handle_rtp(&mut self, now: Instant, datagram: &[u8]) -> Result<(), ReceiveError> {
        let packet = match RtpPacket::parse(datagram) {
            Ok(p) => p,
            Err(e) => {
                if matches!(e, RtpError::Rtcp(_)) {
                    self.stats.rtcp += 1;
                } else {
                    self.stats.malformed += 1;
                }
                return Err(e.into());
            }
        };
        self.stats.packets_received += 1;
        let src = self.source_index(packet.ssrc);
        let verdict = self.sources[src].seq.update(packet.sequence);
        match verdict {
            SeqVerdict::Duplicate => self.stats.duplicates += 1,
            SeqVerdict::Stray => self.stats.stray += 1,
            SeqVerdict::Reordered => self.stats.reordered += 1,
            SeqVerdict::Restarted(lost) => {
                self.stats.restarts += 1;
                self.lost_before += lost;
            }
            SeqVerdict::New => {}
        }
        self.stats.lost = self.lost_before + self.sources.iter().map(|s| s.seq.lost()).sum::<u64>();
        if matches!(verdict, SeqVerdict::Duplicate | SeqVerdict::Stray) {
            return Ok(());
        }
        if Some(packet.payload_type) == self.config.event_payload_type {
            return self.handle_event(src, &packet);
        }
        let codec = self.config.codecs.iter().find(|(pt, _)| *pt == packet.payload_type).map(|&(_, c)| c);
        match codec {
            Some(codec) => self.handle_audio(now, src, &packet, codec),
            None => self.stats.unknown_payload_type += 1,
        }
        Ok(())
    }

    /// Index of the state for `ssrc`, created (evicting the longest-silent one) if new.
    fn source_index(&mut self, ssrc: u32) -> usize {
        let tick = self.stats.packets_received;
        if let Some(i) = self.sources.iter().position(|s| s.ssrc == ssrc) {
            self.sources[i].last_heard = tick;
            return i;
        }
        self.stats.sources += 1;
        let mut fresh = Source::new(ssrc);
        fresh.last_heard = tick;
        if self.sources.len() < MAX_SOURCES {
            self.sources.push(fresh);
            return self.sources.len() - 1;
        }
        let oldest = (0..self.sources.len()).min_by_key(|&i| self.sources[i].last_heard).unwrap_or(0);
        self.lost_before += self.sources[oldest].seq.lost();
        self.sources[oldest] = fresh;
        oldest
    }

    fn handle_event(&mut self, src: usize, packet: &RtpPacket<'_>) -> Result<(), ReceiveError> {
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
        let recent = &mut self.sources[src].recent_events;
        if recent.contains(&packet.timestamp) {
            return Ok(());
        }
        if recent.len() == EVENT_HISTORY {
            recent.pop_front();
        }
        recent.push_back(packet.timestamp);
        self.push_digit(digit, DigitSource::Rfc4733 { timestamp: packet.timestamp });
        Ok(())
    }

    fn handle_audio(&mut self, now: Instant, src: usize, packet: &RtpPacket<'_>, codec: Codec) {
        self.stats.audio_frames += 1;
        self.audio_ssrc = Some(packet.ssrc);
        self.update_jitter(now, src, packet.timestamp);
        if !self.config.emit_audio && self.detector.is_none() {
            return;
        }
        let mut pcm = Vec::with_capacity(packet.payload.len());
        codec.decode(packet.payload, &mut pcm);
        if let Some(det) = self.detector.as_mut() {
            det.process(&pcm);
        }
        while let Some(digit) = self.detector.as_mut().and_then(DtmfDetector::poll_digit) {
            // A peer that sends telephone-events may also leave the tones in the audio: once it
            // has sent one, its events are the digits and the in-band copies are ignored.
            if self.stats.event_packets == 0 {
                self.push_digit(digit, DigitSource::InBand);
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
    fn update_jitter(&mut self, now: Instant, src: usize, timestamp: u32) {
        let s = &mut self.sources[src];
        if let Some((prev_at, prev_ts)) = s.last_audio {
            let arrival = now.saturating_duration_since(prev_at).as_secs_f64() * f64::from(SAMPLE_RATE);
            let sent = f64::from(timestamp.wrapping_sub(prev_ts) as i32);
            let d = (arrival - sent).abs();
            s.jitter += (d - s.jitter) / 16.0;
            self.stats.jitter_ms = s.jitter * 1000.0 / f64::from(SAMPLE_RATE);
        }
        s.last_audio = Some((now, timestamp));
    }
}
