//! Hearing prompts from a browser: `GET /call/{id}/audio` (what that call played, read back from
//! the render cache and recording store by the names its attempt recorded — never a fresh
//! rendering), `POST /workflows/preview` (a whole call of a workflow, as it would be spoken now) and
//! `GET /voices/preview` (a sample of a voice). Speech goes through [`crate::Speech`], the dialer's
//! own renderer and cache, so the audio matches the phone's.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use voicebot_tts::{Pcm16, PlayedPrompt};
use voicebot_workflow::{MAX_MESSAGE_CHARS, Prompt, Runner, Variables, parse_workflow};

use crate::auth::Caller;
use crate::body::json_body;
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

/// Prompts joined with [`GAP_MS`] of silence between them.
fn join(parts: Vec<Pcm16>) -> Pcm16 {
    let mut out = Pcm16::default();
    for (i, pcm) in parts.iter().enumerate() {
        if i > 0 {
            out.append(&Pcm16::silence(GAP_MS));
        }
        out.append(pcm);
    }
    out
}

/// An uploaded recording by id, or 404 when it is gone.
async fn recording(state: &AppState, id: &voicebot_tts::AudioId) -> Result<Pcm16, ApiError> {
    state
        .audio
        .get(id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("a recording this call plays is no longer stored"))
}

/// What the call played on its last answered attempt, in order, from the names that attempt
/// recorded: the cached renderings and recordings themselves, not a new rendering.
pub(crate) async fn call_audio(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(call_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let call = super::load_call(&state, &integrator.id, &call_id).await?;
    let attempts = state.store.call_attempts(&integrator.id, &call.id).await?;
    let Some(attempt) = attempts.iter().rev().find(|a| a.answered_at.is_some() && !a.played.is_empty())
    else {
        return Err(ApiError::not_found("this call was not answered, so it played nothing"));
    };
    let gone = || {
        ApiError::new(
            StatusCode::GONE,
            "the audio this call played is no longer stored (the prompt cache was cleared since)",
        )
    };
    let mut parts = Vec::with_capacity(attempt.played.len());
    for name in &attempt.played {
        let played: PlayedPrompt = name.parse().map_err(ApiError::internal)?;
        parts.push(match played {
            PlayedPrompt::Speech(keys) => {
                speech(&state)?.render_cached(&keys).await.map_err(speech_error)?.ok_or_else(gone)?
            }
            PlayedPrompt::Recording(id) => recording(&state, &id).await?,
        });
    }
    Ok(wav(&join(parts)))
}

/// `POST /workflows/preview` body: a workflow in either shape (saved or not), sample variables,
/// a voice, and `format`: `wav` (default) or `text`.
#[derive(Deserialize)]
pub(crate) struct WorkflowPreview {
    workflow: Value,
    #[serde(default)]
    variables: Variables,
    accent: Option<String>,
    gender: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

/// The whole call a workflow makes (every prompt in step order: message, options, closing), for
/// the workflow editor: as text (`format: text`; variables without a sample read as `[name]`) or
/// spoken in one voice with the sample variables.
pub(crate) async fn workflow_preview(
    _caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, body, state.config.max_body_bytes).await?;
    let mut req: WorkflowPreview = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("invalid preview request: {e}")))?;
    let workflow = parse_workflow(&req.workflow)?;
    let (accent, gender) = voice(&state, req.accent, req.gender)?;
    if req.format.as_deref() == Some("text") {
        for name in workflow.variables() {
            req.variables.entry(name.clone()).or_insert_with(|| format!("[{name}]"));
        }
        let runner = Runner::new(&workflow, &req.variables, &accent).map_err(ApiError::internal)?;
        let prompts: Vec<Value> = runner
            .prompts()
            .into_iter()
            .map(|p| match p {
                Prompt::Text(text) => json!({"say": text}),
                Prompt::Audio(id) => json!({"play": id}),
            })
            .collect();
        let options = match workflow.result_gather().map(|i| &workflow.steps[i]) {
            Some(voicebot_workflow::Step::Gather(g)) => json!(g.options),
            _ => json!({}),
        };
        let data = json!({"variables": workflow.variables(), "prompts": prompts, "options": options});
        return Ok(super::ok(data, "workflow preview").into_response());
    }
    let runner = Runner::new(&workflow, &req.variables, &accent).map_err(|missing| {
        ApiError::unprocessable(&format!("variables.{}", missing.0), "give a sample value to preview with")
    })?;
    let prompts = runner.prompts();
    let chars: usize =
        prompts.iter().map(|p| if let Prompt::Text(t) = p { t.chars().count() } else { 0 }).sum();
    if chars > MAX_MESSAGE_CHARS {
        return Err(ApiError::unprocessable(
            "workflow",
            format!("a preview speaks at most {MAX_MESSAGE_CHARS} characters; this call has {chars}"),
        ));
    }
    let mut parts = Vec::with_capacity(prompts.len());
    for prompt in &prompts {
        parts.push(match prompt {
            Prompt::Text(text) => {
                speech(&state)?.speak(text, &accent, &gender).await.map_err(speech_error)?
            }
            Prompt::Audio(id) => {
                let id = id.parse().map_err(|_| ApiError::unprocessable("workflow", "bad recording id"))?;
                recording(&state, &id).await?
            }
        });
    }
    if parts.is_empty() {
        return Err(ApiError::unprocessable("workflow", "this workflow has nothing to say"));
    }
    Ok(wav(&join(parts)))
}

/// The accent (as the table names it) and gender asked for, defaults filled in, or 422.
fn voice(
    state: &AppState,
    accent: Option<String>,
    gender: Option<String>,
) -> Result<(String, String), ApiError> {
    let accent = accent.filter(|a| !a.is_empty()).unwrap_or_else(|| state.config.default_accent.clone());
    let entry = state
        .voices
        .find(&accent)
        .ok_or_else(|| ApiError::unprocessable("accent", format!("unknown accent '{accent}'")))?;
    let gender = gender.filter(|g| !g.is_empty()).unwrap_or_else(|| state.config.default_gender.clone());
    if !entry.genders.iter().any(|g| g.eq_ignore_ascii_case(&gender)) {
        return Err(ApiError::unprocessable(
            "gender",
            format!("accent '{}' has genders {}", entry.accent, entry.genders.join(", ")),
        ));
    }
    Ok((entry.accent.clone(), gender.to_ascii_lowercase()))
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
    let (accent, gender) = voice(&state, q.accent, q.gender)?;
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
    let pcm = speech(&state)?.speak(text, &accent, &gender).await.map_err(|e| match e {
        SpeechError::Render(why) => {
            tracing::warn!(error = %why, "voice preview not rendered");
            ApiError::unprocessable("text", "this text could not be spoken")
        }
        other => speech_error(other),
    })?;
    Ok(wav(&pcm))
}
