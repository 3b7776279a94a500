//! The [`Engine`] trait: one text + one voice in, 8 kHz mono [`Pcm16`] out.
//!
//! Engines are chosen per accent by the voice table (`engine = "espeak-ng"` / `"http"`), registered with the
//! [`crate::Renderer`] by their [`Engine::id`]. Their [`Engine::fingerprint`] goes into every cache key, so
//! a new engine version or a changed audio pipeline never serves stale audio.

use async_trait::async_trait;

use crate::error::TtsError;
use crate::pcm::Pcm16;
use crate::voices::VoiceSpec;

/// Version of the shared audio pipeline (resampler, loudness); part of every fingerprint.
pub const PIPELINE_VERSION: &str = "pcm8k-sinc24-rms20-v1";

/// A text-to-speech engine.
#[async_trait]
pub trait Engine: Send + Sync {
    /// The id the voice table uses to pick this engine (`espeak-ng`, `http`).
    fn id(&self) -> &str;

    /// Changes whenever the same text and voice could sound different (engine version, endpoint,
    /// [`PIPELINE_VERSION`]); part of the render cache key.
    fn fingerprint(&self) -> &str;

    /// Checks, without rendering, that this engine can speak `voice` (called once per table entry when a
    /// renderer is built, so a bad table fails at start-up, not at the first call).
    fn check_voice(&self, _voice: &VoiceSpec) -> Result<(), TtsError> {
        Ok(())
    }

    /// Speaks `text` in `voice`: 8 kHz mono, loudness-normalised, never clipped.
    async fn render(&self, text: &str, voice: &VoiceSpec) -> Result<Pcm16, TtsError>;

    /// Speaks several texts in one voice; one result per text, in order. The default renders them one by
    /// one; an engine with a high fixed cost per call (espeak-ng's process start) overrides it. Each result
    /// must sound like [`Engine::render`] of that text.
    async fn render_batch(&self, texts: &[String], voice: &VoiceSpec) -> Vec<Result<Pcm16, TtsError>> {
        let mut out = Vec::with_capacity(texts.len());
        for text in texts {
            out.push(self.render(text, voice).await);
        }
        out
    }
}
