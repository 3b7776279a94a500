//! `GET|PATCH /voicebot/v1/settings`: the calling integrator's own settings. Today one:
//! `default_country`, the ISO 3166 region (`NG`) whose local numbers (`0803 123 4567`) intake
//! and the do-not-call list accept and turn into E.164. The operator sets the same with
//! `voicebot integrators update --default-country`.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use voicebot_store::Integrator;

use super::ok;
use crate::auth::Caller;
use crate::body::json_body;
use crate::{ApiError, AppState, country_id};

fn view(i: &Integrator) -> Value {
    json!({
        "integrator_id": i.id,
        "name": i.name,
        "callback_url": i.callback_url,
        "default_country": i.default_country,
    })
}

pub(crate) async fn get(Caller(integrator): Caller) -> impl IntoResponse {
    ok(view(&integrator), "settings found")
}

pub(crate) async fn patch(
    Caller(mut integrator): Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let body = json_body(&headers, body, state.config.max_body_bytes).await?;
    let Some(obj) = body.as_object() else {
        return Err(ApiError::bad_request("request body must be a JSON object"));
    };
    if let Some(v) = obj.get("default_country") {
        let country = match v {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(
                country_id(s)
                    .ok_or_else(|| {
                        ApiError::unprocessable(
                            "default_country",
                            "must be a two-letter ISO 3166 country code such as NG, GH or KE",
                        )
                    })?
                    .as_ref()
                    .to_string(),
            ),
            _ => return Err(ApiError::bad_request("default_country must be a string or null")),
        };
        state.store.set_default_country(&integrator.id, country.as_deref()).await?;
        integrator.default_country = country;
    }
    Ok(ok(view(&integrator), "settings updated"))
}
