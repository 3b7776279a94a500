//! Service routes: health, the OpenAPI document, the voice table.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use super::ok;
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// The OpenAPI 3.1 document, kept by hand beside the routes (a test checks they match).
pub(crate) const OPENAPI: &str = include_str!("../openapi.json");

pub(crate) async fn health(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    state.store.ping().await?;
    Ok(ok(json!({"healthy": true}), "healthy"))
}

pub(crate) async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

pub(crate) async fn voices(_caller: Caller, State(state): State<AppState>) -> impl IntoResponse {
    ok(
        json!({
            "voices": state.voices.entries,
            "default_accent": state.config.default_accent,
            "default_gender": state.config.default_gender,
        }),
        "voices found",
    )
}
