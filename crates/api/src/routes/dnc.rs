//! The integrator's do-not-call list (issue 6): numbers here are refused at intake (422) and
//! skipped by the dialer. The opt-out digit adds to it; integrators can add and remove too.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use voicebot_store::now_micros;
use voicebot_store::report::format_timestamp;

use super::ok;
use crate::auth::Caller;
use crate::body::json_body;
use crate::{ApiError, AppState, normalize_phone};

pub(crate) async fn list(
    Caller(integrator): Caller,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    let rows = state.store.list_do_not_call(&integrator.id).await?;
    let numbers: Vec<Value> = rows
        .iter()
        .map(|r| json!({"phone_number": r.phone_number, "source": r.source, "created_at": format_timestamp(r.created_at)}))
        .collect();
    Ok(ok(json!({"numbers": numbers}), "do-not-call list found"))
}

pub(crate) async fn add(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let body = json_body(&headers, body, state.config.max_body_bytes).await?;
    let raw = match body.get("phone_number") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::bad_request("phone_number must be a string")),
        None => return Err(ApiError::unprocessable("phone_number", "is required")),
    };
    let phone = normalize_phone(&raw, integrator.default_country.as_deref())
        .map_err(|why| ApiError::unprocessable("phone_number", why))?;
    let added = state.store.add_do_not_call(&integrator.id, &phone, "api", now_micros()).await?;
    let message =
        if added { "number added to the do-not-call list" } else { "number already on the do-not-call list" };
    Ok(ok(json!({"phone_number": phone}), message))
}

pub(crate) async fn remove(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(phone): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let not_found = || ApiError::not_found("number not on the do-not-call list");
    let phone = normalize_phone(&phone, integrator.default_country.as_deref()).map_err(|_| not_found())?;
    if !state.store.remove_do_not_call(&integrator.id, &phone).await? {
        return Err(not_found());
    }
    Ok(ok(json!({"phone_number": phone}), "number removed from the do-not-call list"))
}
