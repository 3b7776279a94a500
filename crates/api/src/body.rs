//! Request bodies: read under the configured size limit (413 past it) and parsed as JSON
//! whatever the Content-Type says — the seed's JS example sends `text/plain`.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header::CONTENT_LENGTH};
use serde_json::Value;

use crate::ApiError;

fn too_large(limit: usize) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("request body is larger than {limit} bytes"))
}

/// Bodies larger than this are not read to the end when refused; smaller ones are drained so
/// the client reads our 413 instead of a connection reset.
const DRAIN_CAP: u64 = 64 * 1024 * 1024;

/// Reads the whole body, refusing more than `limit` bytes with a 413.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    use http_body_util::BodyExt;
    let declared =
        headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_CAP) {
        return Err(too_large(limit));
    }
    let mut body = body;
    let mut buf = Vec::new();
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Err(ApiError::bad_request("request body could not be read")) };
        let Ok(chunk) = frame.into_data() else { continue };
        seen += chunk.len() as u64;
        if seen > DRAIN_CAP {
            break;
        }
        if seen <= limit as u64 {
            buf.extend_from_slice(&chunk);
        }
    }
    if seen > limit as u64 {
        return Err(too_large(limit));
    }
    Ok(buf.into())
}

/// Parses JSON with a one-line error that says where it broke.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("request body is empty; a JSON object is required"));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))
}

/// Reads and parses a JSON body.
pub async fn json_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Value, ApiError> {
    parse_json(&read_limited(headers, body, limit).await?)
}
