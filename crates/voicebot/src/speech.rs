//! The API's [`voicebot_api::Speech`] seam over the TTS renderer: the same renderer type and
//! on-disk cache the dialer speaks with, so call audio in the dashboard is what the phone heard.

use async_trait::async_trait;
use voicebot_api::{Speech, SpeechError};
use voicebot_tts::{CacheKey, Gender, Pcm16, Renderer};

/// Speaks for the API through a [`Renderer`].
pub struct RendererSpeech(pub Renderer);

#[async_trait]
impl Speech for RendererSpeech {
    async fn speak(&self, text: &str, accent: &str, gender: &str) -> Result<Pcm16, SpeechError> {
        let unknown = || SpeechError::UnknownVoice { accent: accent.to_string(), gender: gender.to_string() };
        let gender: Gender = gender.parse().map_err(|_| unknown())?;
        let voice = self.0.voice(accent, gender).map_err(|_| unknown())?;
        self.0.render(text, &voice).await.map_err(|e| SpeechError::Render(e.to_string()))
    }

    async fn render_cached(&self, keys: &[CacheKey]) -> Result<Option<Pcm16>, SpeechError> {
        self.0.render_cached(keys).await.map_err(|e| SpeechError::Render(e.to_string()))
    }
}
