//! The seam through which the API speaks: the call-audio, workflow-preview and voice-preview routes
//! need the same TTS renderer (and its on-disk cache) the dialer uses. A call's audio is read back
//! from that cache by the keys its attempt recorded, so it is what the phone heard; previews are
//! rendered through it. The API crate does not own TTS; the binary implements [`Speech`] over its
//! renderer and hands it in through [`crate::AppState`].

use async_trait::async_trait;
use voicebot_tts::{CacheKey, Pcm16};

/// Why a text could not be spoken.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    /// The accent/gender pair has no voice in the table.
    #[error("no voice for accent '{accent}' and gender '{gender}'")]
    UnknownVoice {
        /// Accent asked for.
        accent: String,
        /// Gender asked for.
        gender: String,
    },
    /// The engine failed (logged; answered as a 500).
    #[error("rendering failed: {0}")]
    Render(String),
}

/// Renders text in a batch voice, through the dialer's renderer and cache.
#[async_trait]
pub trait Speech: Send + Sync + 'static {
    /// `text` spoken by the voice of `accent`/`gender`, 8 kHz mono.
    async fn speak(&self, text: &str, accent: &str, gender: &str) -> Result<Pcm16, SpeechError>;
    /// A prompt as a call played it, from the render cache alone (never rendered again):
    /// `None` once one of its sentences has left the cache.
    async fn render_cached(&self, keys: &[CacheKey]) -> Result<Option<Pcm16>, SpeechError>;
}
