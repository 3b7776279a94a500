//! Route table. One module per resource; handlers stay thin.

mod audio;
mod batches;
mod callbacks;
mod calls;
mod dnc;
mod listing;
mod meta;
mod prompts;
mod settings;
mod timeline;
mod workflows;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::{ApiError, AppState};

/// The seed's success envelope: `{"data", "message", "status": "Ok"}` in that order.
#[derive(Serialize)]
pub(crate) struct Ok<T: Serialize> {
    pub data: T,
    pub message: &'static str,
    pub status: &'static str,
}

/// Wraps `data` in the success envelope.
pub(crate) fn ok<T: Serialize>(data: T, message: &'static str) -> axum::Json<Ok<T>> {
    axum::Json(Ok { data, message, status: "Ok" })
}

/// The caller's batch, or 404 (another integrator's batch is "not found" too).
pub(crate) async fn load_batch(
    state: &AppState,
    integrator_id: &str,
    batch_id: &str,
) -> Result<voicebot_store::BatchRow, ApiError> {
    state
        .store
        .get_batch(integrator_id, batch_id)
        .await?
        .ok_or_else(|| ApiError::not_found("batch not found"))
}

/// The caller's call, or 404.
pub(crate) async fn load_call(
    state: &AppState,
    integrator_id: &str,
    call_id: &str,
) -> Result<voicebot_store::CallRow, ApiError> {
    state.store.get_call(integrator_id, call_id).await?.ok_or_else(|| ApiError::not_found("call not found"))
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this route")
}

/// Any error response that is not already our JSON envelope (axum's own extractor
/// rejections, for instance) is rewritten into it, keeping its status code.
async fn envelope_errors(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let bytes = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text.trim().to_string()
    };
    ApiError::new(status, message).into_response()
}

pub(crate) fn router() -> Router<AppState> {
    let v1 = Router::new()
        .route("/call", post(calls::place_batch))
        .route("/call/validate", post(calls::validate_batch))
        .route("/call/{call_id}", get(calls::call_status))
        .route("/call/{call_id}/audio", get(prompts::call_audio))
        .route("/call/{call_id}/attempts", get(timeline::timeline))
        .route("/batches", get(listing::list))
        .route("/batches/{batch_id}", get(listing::overview))
        .route("/status/{call_id}", get(calls::call_status))
        .route("/batch/{batch_id}", get(batches::report))
        .route("/batch/{batch_id}/calls", get(batches::calls))
        .route("/batch/{batch_id}/calls.csv", get(batches::calls_csv))
        .route("/batch/{batch_id}/cancel", post(batches::cancel))
        .route("/batch/{batch_id}/callback", get(callbacks::status))
        .route("/batch/{batch_id}/callback/redeliver", post(callbacks::redeliver))
        .route("/workflows", get(workflows::list).post(workflows::create))
        .route("/workflows/preview", post(prompts::workflow_preview))
        .route("/workflows/{workflow_id}", get(workflows::get).put(workflows::put).delete(workflows::delete))
        .route("/voices", get(meta::voices))
        .route("/voices/preview", get(prompts::voice_preview))
        .route("/settings", get(settings::get).patch(settings::patch))
        .route("/dnc", get(dnc::list).post(dnc::add))
        .route("/dnc/{phone_number}", axum::routing::delete(dnc::remove))
        .route("/audio", post(audio::upload))
        .route("/audio/{audio_id}", get(audio::download));
    Router::new()
        .nest("/voicebot/v1", v1)
        .route("/healthz", get(meta::health))
        .route("/openapi.json", get(meta::openapi))
        .merge(crate::dashboard::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(envelope_errors))
}
