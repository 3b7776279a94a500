//! The seams to telephony and TTS: what the dialer needs from each, as small traits.
//!
//! The binary implements [`CallPlacer`] / [`CallSession`] over the telephony driver and
//! [`PromptRenderer`] over the TTS crate; tests implement them with scripted doubles. Keeping
//! these here (not depending on those crates) keeps the dialer's policy testable alone.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use voicebot_workflow::Prompt;

use crate::outcome::Outcome;

/// 8 kHz mono G.711 µ-law, shared between calls: what the callee hears, at one byte per sample
/// (a live call holds its own rendered message until it hangs up; PCM16 would double that).
pub type Audio = Arc<[u8]>;

/// A boxed error from the other side of a seam.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One INVITE to send.
#[derive(Debug, Clone)]
pub struct PlaceRequest {
    /// Our call id (uuid).
    pub call_id: String,
    /// The attempt row id.
    pub attempt_id: String,
    /// The SIP Call-ID to use: already committed with the attempt row. Never reuse it.
    pub sip_call_id: String,
    /// E.164 number to dial.
    pub phone_number: String,
    /// Trunk name (from config).
    pub trunk: String,
    /// Caller id to present (batch's, else the trunk's).
    pub caller_id: Option<String>,
    /// Give up (CANCEL, outcome no answer) after ringing this long.
    pub ring_timeout: Duration,
}

/// What happens on a live call, in order; `Ended` is last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// The far end rings.
    Ringing,
    /// Answered: media flows.
    Answered,
    /// The callee pressed a key (`0-9`, `*`, `#`).
    Digit(char),
    /// The prompt given to [`CallSession::play`] finished (not sent after `stop_playback`).
    PlaybackFinished,
    /// The call is over.
    Ended {
        /// Mapped outcome.
        outcome: Outcome,
        /// SIP status behind it, if any.
        sip_code: Option<u16>,
    },
}

/// A placed call.
#[async_trait]
pub trait CallSession: Send {
    /// The next event; `None` once the call is gone.
    async fn next_event(&mut self) -> Option<CallEvent>;
    /// Queues a prompt to play.
    fn play(&mut self, pcm: Audio);
    /// Stops the prompt playing now (barge-in).
    fn stop_playback(&mut self);
    /// Hangs up (BYE when answered, CANCEL before).
    fn hangup(&mut self);
}

/// Why a call could not be placed at all (the attempt ends `FAILED`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlaceError {
    /// The trunk named in the request is not configured in telephony.
    #[error("unknown trunk '{0}'")]
    UnknownTrunk(String),
    /// Sending failed.
    #[error("placing the call failed: {0}")]
    Transport(#[source] BoxError),
}

/// Sends INVITEs. Must use [`PlaceRequest::sip_call_id`] as the Call-ID.
#[async_trait]
pub trait CallPlacer: Send + Sync + 'static {
    /// Sends the INVITE and returns the live call.
    async fn place(&self, req: PlaceRequest) -> Result<Box<dyn CallSession>, PlaceError>;
}

/// The voice a batch speaks in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Voice {
    /// Accent name (lower case).
    pub accent: String,
    /// `male` or `female`.
    pub gender: String,
}

/// Why a prompt could not be turned into audio (the call ends `FAILED`, reason `tts_failed`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The engine failed.
    #[error("text to speech failed: {0}")]
    Engine(#[source] BoxError),
    /// No recording with that id.
    #[error("unknown recording '{0}'")]
    UnknownAudio(String),
}

/// Turns prompts into 8 kHz µ-law audio (expected to cache by text and voice).
#[async_trait]
pub trait PromptRenderer: Send + Sync + 'static {
    /// Speaks `text` in `voice`.
    async fn render(&self, text: &str, voice: &Voice) -> Result<Audio, RenderError>;
    /// Loads an uploaded recording.
    async fn audio(&self, id: &str) -> Result<Audio, RenderError>;
    /// How an attempt's record names this prompt once played, so the audio the call played can
    /// be found again later (e.g. the render cache keys); `None` (the default): not recorded.
    /// Asked once per prompt, after rendering it and before dialing.
    fn played_ref(&self, _prompt: &Prompt, _voice: &Voice) -> Option<String> {
        None
    }
}
