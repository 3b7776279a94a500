//! Voices for voicebot: text-to-speech engines, the accent table, recorded prompts and the render cache.
//!
//! Everything ends as [`Pcm16`], 8 kHz mono 16-bit audio ready for G.711.
//!
//! - [`voices`]: the accent → voice table ([`VoiceTable`]); the API validates `tts_voice_accent` and
//!   `tts_voice_gender` with it and lists it for `GET /voicebot/v1/voices`.
//! - [`engine`]: the [`Engine`] trait; [`espeak`] (default, the `espeak-ng` program) and [`http`] (a hosted
//!   TTS service) implement it.
//! - [`renderer`]: [`Renderer`] renders text in a voice through the content-addressed [`RenderCache`]
//!   with a bounded worker pool; batches pre-render every recipient's prompt before the first dial.
//! - [`cache`]: the cache and the [`AudioStore`] of recorded prompts uploaded by integrators; a
//!   [`PlayedPrompt`] names either, as an attempt's record keeps what the call played.
//! - [`decode`]: WAV / MP3 import; a private `dsp` module resamples to 8 kHz and normalises loudness.
//!
//! ```
//! use std::sync::Arc;
//! use voicebot_tts::{Engine, Gender, Pcm16, RenderCache, Renderer, TtsError, VoiceSpec, VoiceTable};
//!
//! /// A stand-in engine: a 440 Hz tone per character.
//! struct Beep;
//!
//! #[async_trait::async_trait]
//! impl Engine for Beep {
//!     fn id(&self) -> &str { "espeak-ng" }
//!     fn fingerprint(&self) -> &str { "beep-v1" }
//!     async fn render(&self, text: &str, _: &VoiceSpec) -> Result<Pcm16, TtsError> {
//!         let n = text.len() * 400;
//!         Ok(Pcm16::new((0..n).map(|i| ((i as f32 * 0.345).sin() * 3000.0) as i16).collect()))
//!     }
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let renderer = Renderer::new(VoiceTable::default(), vec![Arc::new(Beep)], RenderCache::open(dir.path())?, 2)?;
//! let voice = renderer.voice("Yoruba", Gender::Female)?;
//! let report = renderer.prerender(["Hello Ada. Press 1.", "Hello Obi. Press 1."], &voice).await;
//! assert_eq!((report.sentences, report.rendered), (3, 3));
//! let audio = renderer.render("Hello Ada. Press 1.", &voice).await?; // two cache hits
//! assert!(audio.rms() > 500.0);
//! std::fs::write(dir.path().join("out.wav"), audio.to_wav())?;
//! # Ok(()) }
//! ```
//!
//! In production build the renderer with [`Renderer::from_config`] and the store with [`AudioStore::open`],
//! both over `VOICEBOT_DATA_DIR`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cache;
pub mod decode;
mod dsp;
pub mod engine;
mod error;
pub mod espeak;
pub mod http;
mod inflight;
mod pcm;
mod played;
pub mod renderer;
mod text;
pub mod voices;

pub use cache::{AudioId, AudioStore, CacheKey, ImportError, InvalidAudioId, InvalidCacheKey, RenderCache};
pub use decode::{MAX_IMPORT_SECONDS, decode_audio};
pub use engine::{Engine, PIPELINE_VERSION};
pub use error::{DecodeError, TtsError, VoiceError};
pub use espeak::EspeakEngine;
pub use http::{HttpEngine, HttpEngineConfig};
pub use pcm::{Pcm16, SAMPLE_RATE};
pub use played::{InvalidPlayedPrompt, PlayedPrompt};
pub use renderer::{PrerenderFailure, PrerenderReport, RenderStats, Renderer, TtsConfig};
pub use text::sentences;
pub use voices::{GenderInfo, VoiceInfo, VoiceSpec, VoiceTable};

pub use voices::Gender;
