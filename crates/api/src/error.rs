//! The error envelope (CONTRACT.md §1): `{"data": null, "message", "status": "Error", "errors"}`.
//! Internal failures are logged with detail and answered with a bare 500, never a trace.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use voicebot_workflow::FieldError;

/// An API failure: HTTP status, one-line message, field errors.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// One-line reason.
    pub message: String,
    /// Per-field problems.
    pub errors: Vec<FieldError>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    data: Option<()>,
    message: &'a str,
    status: &'static str,
    errors: &'a [FieldError],
}

impl ApiError {
    /// An error with no field list.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), errors: vec![], retry_after: None }
    }

    /// An error with field errors.
    pub fn with_errors(status: StatusCode, message: impl Into<String>, errors: Vec<FieldError>) -> Self {
        ApiError { status, message: message.into(), errors, retry_after: None }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 with the resource's own wording (`call not found`).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 422 for one field.
    pub fn unprocessable(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::with_errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            message.clone(),
            vec![FieldError::new(field, message)],
        )
    }

    /// 503: a part this node was started without (e.g. no TTS engine).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500; the cause is logged here, not sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

impl From<voicebot_store::StoreError> for ApiError {
    fn from(e: voicebot_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl From<voicebot_workflow::WorkflowError> for ApiError {
    fn from(e: voicebot_workflow::WorkflowError) -> Self {
        let status = if e.wrong_type { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY };
        ApiError::with_errors(status, e.message, e.errors)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Envelope { data: None, message: &self.message, status: "Error", errors: &self.errors };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
