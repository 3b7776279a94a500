//! The HTTP API: the seed's three JSON shapes plus our extensions (CONTRACT.md §1–§7).
//!
//! Handlers are thin: they authenticate, read the body under a size limit, call the
//! validation in [`intake`] or the workflow crate, and hand rows to the store. Every
//! error leaves through [`ApiError`] so every failure has the seed's envelope.
//!
//! Layout: one file per resource under `routes/` (calls, batches, workflows, meta); the
//! operator dashboard and API docs page (static assets built in) under `dashboard/`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod body;
mod dashboard;
mod error;
pub mod intake;
mod phone;
mod routes;
mod speech;
mod voices;

use std::sync::Arc;

use axum::Router;
use voicebot_store::Store;

pub use error::{ApiError, FieldError};
pub use phone::{country_id, normalize_e164, normalize_phone};
pub use speech::{Speech, SpeechError};
pub use voicebot_workflow::check_http_url as check_callback_url;
pub use voices::{VoiceEntry, Voices};

/// Limits and defaults the API applies (from `voicebot.toml`).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Recipients per `POST /call` (default 10,000).
    pub max_recipients: usize,
    /// Bytes per request body (default 5 MiB).
    pub max_body_bytes: usize,
    /// Accent when a request names none.
    pub default_accent: String,
    /// Gender when a request names none.
    pub default_gender: String,
    /// Attempts per call unless a batch says otherwise.
    pub default_max_attempts: u32,
    /// Bytes per uploaded recording (default 20 MiB).
    pub max_audio_bytes: usize,
    /// Accept callback URLs on loopback/private/link-local hosts (`callbacks.allow_private`).
    pub allow_private_callbacks: bool,
    /// The dialer's calling window, shown to users (`[dialing] window_start/window_end`).
    pub calling_window: Option<CallingWindow>,
}

/// Hours calls may be placed, in each recipient's local time (`08:00`–`20:00`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallingWindow {
    /// First minute, `HH:MM`.
    pub start: String,
    /// End (exclusive), `HH:MM`.
    pub end: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_recipients: 10_000,
            max_body_bytes: 5 * 1024 * 1024,
            default_accent: "english".into(),
            default_gender: "female".into(),
            default_max_attempts: 3,
            max_audio_bytes: 20 * 1024 * 1024,
            allow_private_callbacks: false,
            calling_window: None,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Durable state.
    pub store: Arc<dyn Store>,
    /// Limits and defaults.
    pub config: Arc<ApiConfig>,
    /// The accent table.
    pub voices: Arc<Voices>,
    /// Uploaded recordings (`play` steps).
    pub audio: Arc<voicebot_tts::AudioStore>,
    /// Told about every new batch after it is committed (the binary pre-renders its prompts).
    pub batch_hook: Option<Arc<dyn BatchHook>>,
    /// Speaks prompts for the call-audio and voice-preview routes; `None` answers them 503.
    pub speech: Option<Arc<dyn Speech>>,
}

/// Something to do once a batch is durably stored; must not block (spawn work instead).
pub trait BatchHook: Send + Sync + 'static {
    /// The batch and its calls, exactly as stored.
    fn batch_created(&self, batch: &voicebot_store::NewBatch);
}

/// The whole API as an axum router.
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}
