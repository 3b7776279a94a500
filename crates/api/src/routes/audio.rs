//! Recorded prompts (issue 5): an integrator uploads WAV or MP3, we keep it as 8 kHz mono and a
//! workflow `play` step names it by id. Ids are content hashes, so re-uploading the same file
//! gives the same id.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;
use voicebot_tts::{AudioId, ImportError, SAMPLE_RATE};

use super::ok;
use crate::auth::Caller;
use crate::body::read_limited;
use crate::{ApiError, AppState};

pub(crate) async fn upload(
    _caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = read_limited(&headers, body, state.config.max_audio_bytes).await?;
    if bytes.is_empty() {
        return Err(ApiError::unprocessable("body", "an audio file (WAV or MP3) is required"));
    }
    let id = match state.audio.import(&bytes).await {
        Ok(id) => id,
        Err(ImportError::Decode(e)) => {
            return Err(ApiError::unprocessable("body", format!("not a usable WAV or MP3 file: {e}")));
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    let pcm = state
        .audio
        .get(&id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal("stored audio vanished"))?;
    Ok(ok(
        json!({"audio_id": id.as_str(), "duration_seconds": pcm.duration().as_secs_f64(), "sample_rate": SAMPLE_RATE}),
        "audio uploaded successfully",
    ))
}

pub(crate) async fn download(
    _caller: Caller,
    State(state): State<AppState>,
    Path(audio_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let not_found = || ApiError::not_found("audio not found");
    let id: AudioId = audio_id.parse().map_err(|_| not_found())?;
    let pcm = state.audio.get(&id).await.map_err(ApiError::internal)?.ok_or_else(not_found)?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "audio/wav")], pcm.to_wav()))
}
