//! Hearing prompts from a browser: `GET /call/{id}/audio` (what that call heard) and
//! `GET /voices/preview` (a sample of a voice). Both speak through [`crate::Speech`], the
//! dialer's own renderer and cache, so the audio matches the phone's.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use voicebot_store::{BatchRow, CallRow};
use voicebot_tts::Pcm16;
use voicebot_workflow::{Prompt, Runner, Workflow, variables_from_json};

use crate::auth::Caller;
use crate::{ApiError, AppState, Speech, SpeechError};

/// Longest preview text, in characters: previews are cached like prompts, so keep them small.
pub(crate) const MAX_PREVIEW_CHARS: usize = 300;
/// Silence between a call's prompts in the joined WAV (on the phone each is its own playback).
const GAP_MS: u32 = 400;
const DEFAULT_PREVIEW: &str = "Hello, this is how your patients will hear this voice.";

fn wav(pcm: &Pcm16) -> Response {
    let headers = [(header::CONTENT_TYPE, "audio/wav"), (header::CACHE_CONTROL, "private, max-age=300")];
    (StatusCode::OK, headers, pcm.to_wav()).into_response()
}

fn speech(state: &AppState) -> Result<&dyn Speech, ApiError> {
    state.speech.as_deref().ok_or_else(|| ApiError::unavailable("no TTS engine is configured on this node"))
}

fn speech_error(e: SpeechError) -> ApiError {
    match e {
        SpeechError::UnknownVoice { .. } => ApiError::unprocessable("accent", e.to_string()),
        SpeechError::Render(_) => ApiError::internal(e),
    }
}

/// Every prompt of the call in step order (as the dialer renders them before dialing), joined.
async fn call_prompts(state: &AppState, batch: &BatchRow, call: &CallRow) -> Result<Pcm16, ApiError> {
    let workflow: Workflow = serde_json::from_str(&batch.workflow).map_err(ApiError::internal)?;
    let runner = Runner::new(
        &workflow,
        &variables_from_json(&call.workflow_variables).map_err(ApiError::internal)?,
        &batch.tts_voice_accent,
    )
    .map_err(|missing| {
        ApiError::unprocessable("call_id", format!("the call's prompts need variable '{}'", missing.0))
    })?;
    let mut out = Pcm16::default();
    for (i, prompt) in runner.prompts().iter().enumerate() {
        let pcm =
            match prompt {
                Prompt::Text(text) => speech(state)?
                    .speak(text, &batch.tts_voice_accent, &batch.tts_voice_gender)
                    .await
                    .map_err(speech_error)?,
                Prompt::Audio(id) => {
                    let id = id.parse::<voicebot_tts::AudioId>().map_err(ApiError::internal)?;
                    state.audio.get(&id).await.map_err(ApiError::internal)?.ok_or_else(|| {
                        ApiError::not_found("a recording this call plays is no longer stored")
                    })?
                }
            };
        if i > 0 {
            out.append(&Pcm16::silence(GAP_MS));
        }
        out.append(&pcm);
    }
    if out.is_empty() {
        return Err(ApiError::not_found("this call's workflow has nothing to play"));
    }
    Ok(out)
}

pub(crate) async fn call_audio(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(call_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let call = super::load_call(&state, &integrator.id, &call_id).await?;
    let batch = state
        .store
        .get_batch(&integrator.id, &call.batch_id)
        .await?
        .ok_or_else(|| ApiError::internal("call without its batch"))?;
    Ok(wav(&call_prompts(&state, &batch, &call).await?))
}

#[derive(Deserialize)]
pub(crate) struct PreviewQuery {
    accent: Option<String>,
    gender: Option<String>,
    text: Option<String>,
}

pub(crate) async fn voice_preview(
    _caller: Caller,
    State(state): State<AppState>,
    Query(q): Query<PreviewQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let accent = q.accent.filter(|a| !a.is_empty()).unwrap_or_else(|| state.config.default_accent.clone());
    let entry = state
        .voices
        .find(&accent)
        .ok_or_else(|| ApiError::unprocessable("accent", format!("unknown accent '{accent}'")))?;
    let gender = q.gender.filter(|g| !g.is_empty()).unwrap_or_else(|| state.config.default_gender.clone());
    if !entry.genders.iter().any(|g| g.eq_ignore_ascii_case(&gender)) {
        return Err(ApiError::unprocessable(
            "gender",
            format!("accent '{}' has genders {}", entry.accent, entry.genders.join(", ")),
        ));
    }
    let text = q.text.unwrap_or_else(|| DEFAULT_PREVIEW.to_string());
    let text = text.trim();
    if !text.chars().any(char::is_alphanumeric) {
        return Err(ApiError::unprocessable("text", "must contain something to say"));
    }
    if text.chars().count() > MAX_PREVIEW_CHARS {
        return Err(ApiError::unprocessable("text", format!("at most {MAX_PREVIEW_CHARS} characters")));
    }
    // Free text from the request may be unspeakable (only symbols the engine skips): that is the
    // caller's text, not our failure, so it is a 422 and a warning rather than a 500.
    let pcm = speech(&state)?.speak(text, &entry.accent, &gender.to_ascii_lowercase()).await.map_err(
        |e| match e {
            SpeechError::Render(why) => {
                tracing::warn!(error = %why, "voice preview not rendered");
                ApiError::unprocessable("text", "this text could not be spoken")
            }
            other => speech_error(other),
        },
    )?;
    Ok(wav(&pcm))
}
