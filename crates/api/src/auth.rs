//! `Authorization: Bearer <api-key>` → the calling integrator. Keys are compared by their
//! SHA-256, the only form the store has.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use voicebot_store::{Integrator, now_micros, secrets::hash_api_key};

use crate::{ApiError, AppState};

/// The authenticated integrator of a request.
pub struct Caller(pub Integrator);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, m);
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization header (Bearer api key)"))?;
        let value = header.to_str().map_err(|_| unauthorized("invalid Authorization header"))?;
        let key = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| unauthorized("Authorization must be 'Bearer <api key>'"))?;
        match state.store.integrator_for_key(&hash_api_key(key), now_micros()).await? {
            Some(integrator) => Ok(Caller(integrator)),
            None => Err(unauthorized("invalid api key")),
        }
    }
}
