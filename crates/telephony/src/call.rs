//! The caller's side of one outbound call: [`CallHandle`] (commands in, [`CallEvent`]s out).
//!
//! Events come from the two places that own a piece of the call: the SIP task (ringing, answer, end) and
//! the media clock (digits heard, playback finished). They meet in one channel,
//! so the dialer reads a single ordered stream per call and never touches sockets or timers.

use std::time::SystemTime;

use tokio::sync::mpsc;
use voicebot_media::{Digit, PromptAudio};
use voicebot_sip::{EndReason, Outcome};

use crate::clock::{ClockCommand, ClockHandle, StreamId};
use crate::endpoint::Command;

/// How a digit reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DigitSource {
    /// An RFC 4733 telephone-event.
    Rfc4733,
    /// In-band tones found by the Goertzel detector.
    InBand,
}

impl From<voicebot_media::DigitSource> for DigitSource {
    fn from(s: voicebot_media::DigitSource) -> Self {
        match s {
            voicebot_media::DigitSource::InBand => DigitSource::InBand,
            _ => DigitSource::Rfc4733,
        }
    }
}

/// What happens to an outbound call, in order. `Ended` is always the last event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallEvent {
    /// The far end rings (first 180–182).
    Ringing,
    /// The call was answered (200 OK, ACK sent); media flows both ways from now.
    Answered {
        /// Wall-clock time of the answer.
        at: SystemTime,
    },
    /// The callee pressed a key.
    Digit {
        /// The key.
        digit: Digit,
        /// How it arrived.
        source: DigitSource,
    },
    /// Everything queued with [`CallHandle::play`] has been sent (not sent after `stop_playback`).
    PlaybackFinished,
    /// The call is over.
    Ended {
        /// The mapped outcome (ANSWERED, BUSY, NO_ANSWER, …).
        outcome: Outcome,
        /// The SIP status behind it (200 for answered calls, 408 for Timer B, 487 after a CANCEL, …).
        sip_code: u16,
        /// Who or what ended it.
        reason: EndReason,
        /// What the call's RTP receiver counted.
        media: MediaSummary,
    },
}

/// Inbound RTP counters of one call, reported with [`CallEvent::Ended`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MediaSummary {
    /// RTP packets received (audio and events).
    pub packets_received: u64,
    /// Audio frames received.
    pub audio_frames: u64,
    /// Packets lost (sequence gaps).
    pub lost: u64,
    /// Digits detected.
    pub digits: u64,
    /// SRTP packets that failed authentication (dropped).
    pub srtp_auth_failures: u64,
    /// SRTP packets refused as replays (dropped).
    pub srtp_replays: u64,
}

impl From<&voicebot_media::ReceiverStats> for MediaSummary {
    fn from(s: &voicebot_media::ReceiverStats) -> Self {
        MediaSummary {
            packets_received: s.packets_received,
            audio_frames: s.audio_frames,
            lost: s.lost,
            digits: s.digits,
            srtp_auth_failures: s.srtp_auth_failures,
            srtp_replays: s.srtp_replays,
        }
    }
}

/// One placed call. Dropping the handle does not hang up: call [`CallHandle::hangup`].
#[derive(Debug)]
pub struct CallHandle {
    pub(crate) call_id: String,
    pub(crate) stream: StreamId,
    pub(crate) events: mpsc::UnboundedReceiver<CallEvent>,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) clock: ClockHandle,
    pub(crate) ended: bool,
}

impl CallHandle {
    /// The call's Call-ID.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The next event; `None` after `Ended` was returned (or if the endpoint stopped).
    pub async fn next_event(&mut self) -> Option<CallEvent> {
        if self.ended {
            return None;
        }
        let ev = self.events.recv().await;
        self.ended = matches!(ev, Some(CallEvent::Ended { .. }) | None);
        ev
    }

    /// A cloneable controller (play, stop, hang up) for another task, e.g. a workflow runner, while this
    /// handle keeps reading events.
    pub fn control(&self) -> CallControl {
        CallControl {
            call_id: self.call_id.clone(),
            stream: self.stream,
            commands: self.commands.clone(),
            clock: self.clock.clone(),
        }
    }

    /// Queues 8 kHz mono audio (an `Arc<[i16]>` of PCM16, or [`PromptAudio::Ulaw`] bytes at half the
    /// memory); it plays once the call is answered, after what is already queued. A shared buffer is not
    /// copied: one rendered prompt can play on thousands of calls.
    pub fn play(&self, audio: impl Into<PromptAudio>) {
        self.clock.send(ClockCommand::Play { id: self.stream, audio: audio.into() });
    }

    /// Drops all queued audio at once (barge-in); comfort silence follows.
    pub fn stop_playback(&self) {
        self.clock.send(ClockCommand::StopPlayback { id: self.stream });
    }

    /// Hangs up: CANCEL while ringing, BYE once answered. `Ended` follows.
    pub fn hangup(&self) {
        let _ = self.commands.send(Command::Hangup { call_id: self.call_id.clone() });
    }
}

impl std::fmt::Debug for ClockHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClockHandle")
    }
}

/// Commands for one call, usable from any task (see [`CallHandle::control`]).
#[derive(Debug, Clone)]
pub struct CallControl {
    call_id: String,
    stream: StreamId,
    commands: mpsc::UnboundedSender<Command>,
    clock: ClockHandle,
}

impl CallControl {
    /// The call's Call-ID.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Same as [`CallHandle::play`].
    pub fn play(&self, audio: impl Into<PromptAudio>) {
        self.clock.send(ClockCommand::Play { id: self.stream, audio: audio.into() });
    }

    /// Same as [`CallHandle::stop_playback`].
    pub fn stop_playback(&self) {
        self.clock.send(ClockCommand::StopPlayback { id: self.stream });
    }

    /// Same as [`CallHandle::hangup`].
    pub fn hangup(&self) {
        let _ = self.commands.send(Command::Hangup { call_id: self.call_id.clone() });
    }
}
