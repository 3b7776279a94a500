//! The HTTP engine: a hosted TTS service that speaks accents espeak-ng cannot.
//!
//! Protocol (the hosted product's own TTS API): `POST <url>` with `Authorization: Bearer <key>` and JSON
//! `{"text", "voice_accent", "voice_gender"}`; the answer is a WAV (or MP3) file, converted to 8 kHz mono and
//! normalised like every other engine's output. Server errors (5xx), timeouts and connection failures are
//! retried with exponential backoff; client errors (4xx) are not, because repeating them cannot help. Audio
//! that does not decode is [`TtsError::BadAudio`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::decode;
use crate::dsp;
use crate::engine::{Engine, PIPELINE_VERSION};
use crate::error::TtsError;
use crate::pcm::Pcm16;
use crate::voices::VoiceSpec;

/// Default engine id used in the voice table.
pub const HTTP_ID: &str = "http";

/// Settings of the hosted TTS service (`[tts.http]` in voicebot.toml).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpEngineConfig {
    /// Engine id the voice table uses (default `http`).
    #[serde(default = "default_id")]
    pub id: String,
    /// Full URL the JSON request is POSTed to.
    pub url: String,
    /// Bearer token.
    pub api_key: String,
    /// Per-attempt timeout in milliseconds (default 10 000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries after the first attempt, for 5xx, timeouts and connection errors (default 2).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// First backoff in milliseconds, doubled per retry, capped at 5 s (default 250).
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
}

fn default_id() -> String {
    HTTP_ID.to_owned()
}
fn default_timeout_ms() -> u64 {
    10_000
}
fn default_retries() -> u32 {
    2
}
fn default_backoff_ms() -> u64 {
    250
}

impl HttpEngineConfig {
    /// Settings with the defaults above.
    pub fn new(url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            id: default_id(),
            url: url.into(),
            api_key: api_key.into(),
            timeout_ms: default_timeout_ms(),
            retries: default_retries(),
            backoff_ms: default_backoff_ms(),
        }
    }
}

impl fmt::Debug for HttpEngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpEngineConfig")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("api_key", &"<redacted>")
            .field("timeout_ms", &self.timeout_ms)
            .field("retries", &self.retries)
            .field("backoff_ms", &self.backoff_ms)
            .finish()
    }
}

#[derive(Serialize)]
struct Request<'a> {
    text: &'a str,
    voice_accent: &'a str,
    voice_gender: &'a str,
}

/// Speaks through a hosted TTS service.
#[derive(Debug, Clone)]
pub struct HttpEngine {
    config: HttpEngineConfig,
    client: reqwest::Client,
    fingerprint: String,
}

/// What one attempt ended with.
enum Attempt {
    Audio(Vec<u8>),
    Retry(TtsError),
    Fail(TtsError),
}

impl HttpEngine {
    /// Builds the client; no request is made.
    pub fn new(config: HttpEngineConfig) -> Result<Self, TtsError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms.max(1)))
            .build()
            .map_err(|source| TtsError::Http { attempts: 0, source })?;
        Ok(Self { fingerprint: format!("{}|{}|{PIPELINE_VERSION}", config.id, config.url), config, client })
    }

    async fn attempt(&self, body: &Request<'_>, attempt: u32) -> Attempt {
        let result =
            self.client.post(&self.config.url).bearer_auth(&self.config.api_key).json(body).send().await;
        let response = match result {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(self.transport_error(e, attempt)),
        };
        let status = response.status();
        if !status.is_success() {
            let err = TtsError::HttpStatus { status: status.as_u16(), attempts: attempt };
            return if status.is_server_error() { Attempt::Retry(err) } else { Attempt::Fail(err) };
        }
        match response.bytes().await {
            Ok(bytes) => Attempt::Audio(bytes.to_vec()),
            Err(e) => Attempt::Retry(self.transport_error(e, attempt)),
        }
    }

    fn transport_error(&self, source: reqwest::Error, attempts: u32) -> TtsError {
        if source.is_timeout() {
            TtsError::Timeout { engine: self.config.id.clone(), attempts }
        } else {
            TtsError::Http { attempts, source }
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        let ms = self.config.backoff_ms.saturating_mul(1 << retry.min(16));
        Duration::from_millis(ms.min(5_000))
    }
}

#[async_trait]
impl Engine for HttpEngine {
    fn id(&self) -> &str {
        &self.config.id
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    async fn render(&self, text: &str, voice: &VoiceSpec) -> Result<Pcm16, TtsError> {
        if text.trim().is_empty() {
            return Err(TtsError::EmptyText);
        }
        let accent = if voice.voice.is_empty() { &voice.accent } else { &voice.voice };
        let request = Request { text, voice_accent: accent, voice_gender: voice.gender.as_str() };
        let attempts = self.config.retries.saturating_add(1);
        let mut last = None;
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(self.backoff(attempt - 2)).await;
            }
            match self.attempt(&request, attempt).await {
                Attempt::Audio(bytes) => return to_pcm(bytes).await,
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(e) => {
                    tracing::warn!(engine = %self.config.id, attempt, error = %e, "TTS request failed");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or(TtsError::HttpStatus { status: 0, attempts }))
    }
}

async fn to_pcm(bytes: Vec<u8>) -> Result<Pcm16, TtsError> {
    tokio::task::spawn_blocking(move || {
        let decoded = decode::decode_any(&bytes)?;
        Ok(dsp::to_telephone(&decoded.samples, decoded.rate, decoded.channels))
    })
    .await
    .map_err(|_| TtsError::TaskFailed)?
}
