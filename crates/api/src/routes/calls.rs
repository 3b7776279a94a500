//! `POST /voicebot/v1/call` (the seed's batch intake) and the seed's call-status shape.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use voicebot_store::report::format_timestamp;
use voicebot_store::{
    BatchCreated, CallRow, CallStatus, IdempotencyKey, Integrator, NewBatch, NewCall, WorkflowRow, now_micros,
};
use voicebot_workflow::{FieldError, Workflow};

use super::ok;
use crate::auth::Caller;
use crate::body::json_body;
use crate::intake::{BatchRequest, check_rows, invalid_request, parse_request};
use crate::{ApiError, AppState};

/// Idempotency keys are honoured for a day (CONTRACT.md §4).
const IDEMPOTENCY_WINDOW_MICROS: i64 = 24 * 3600 * 1_000_000;

#[derive(Serialize)]
struct BatchId {
    batch_id: String,
}

fn created(batch_id: String) -> impl IntoResponse {
    ok(BatchId { batch_id }, "batch request created successfully")
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    match v.to_str().map(str::trim) {
        Ok(k) if !k.is_empty() && k.len() <= 255 => Ok(Some(k.to_string())),
        _ => Err(ApiError::bad_request("Idempotency-Key must be 1-255 visible ASCII characters")),
    }
}

fn conflict() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "Idempotency-Key was already used with a different request body")
}

pub(crate) async fn place_batch(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let key = idempotency_key(&headers)?;
    let body = json_body(&headers, body, state.config.max_body_bytes).await?;
    let now = now_micros();
    let idempotency = key.map(|key| IdempotencyKey {
        key,
        request_hash: hex::encode(Sha256::digest(body.to_string().as_bytes())),
        not_before: now - IDEMPOTENCY_WINDOW_MICROS,
    });
    // A replay answers with the first batch even if its workflow changed since.
    if let Some(idem) = &idempotency
        && let Some((hash, batch_id)) =
            state.store.find_idempotent(&integrator.id, &idem.key, idem.not_before).await?
    {
        return if hash == idem.request_hash { Ok(created(batch_id)) } else { Err(conflict()) };
    }

    let Checked { req, workflow_row: row, .. } = check_batch(&state, &integrator, &body).await?;
    let calls = req
        .recipients
        .iter()
        .map(|r| NewCall {
            id: uuid::Uuid::new_v4().to_string(),
            phone_number: r.phone_number.clone(),
            user_tag_identifiers: r.tags.clone(),
            workflow_variables: serde_json::to_string(&r.variables).unwrap_or_else(|_| "{}".into()),
        })
        .collect();
    let batch = NewBatch {
        id: uuid::Uuid::new_v4().to_string(),
        integrator_id: integrator.id.clone(),
        workflow_id: row.id.clone(),
        workflow: row.definition.clone(),
        tts_voice_accent: req.accent,
        tts_voice_gender: req.gender,
        callback_url: req.callback_url,
        caller_id: req.caller_id,
        not_before: req.not_before,
        not_after: req.not_after,
        max_attempts: req.max_attempts.unwrap_or(state.config.default_max_attempts),
        backoff_seconds: req.backoff_seconds,
        created_at: now,
        idempotency,
        calls,
        name: req.name,
    };
    match state.store.create_batch(&batch).await? {
        BatchCreated::Created(id) => {
            tracing::info!(batch_id = %id, calls = batch.calls.len(), "batch created");
            if let Some(hook) = &state.batch_hook {
                hook.batch_created(&batch);
            }
            Ok(created(id))
        }
        BatchCreated::Replayed(id) => Ok(created(id)),
        BatchCreated::Conflict => Err(conflict()),
    }
}

/// A batch request that passed every intake check, with its workflow: ready to store.
struct Checked {
    req: BatchRequest,
    workflow_row: WorkflowRow,
    workflow: Workflow,
}

/// Every check `POST /call` makes before storing (CONTRACT.md §4): all-or-nothing, every bad row
/// listed. Shared with `POST /call/validate` so a dashboard's confirmation step sees exactly the
/// answer the real request will get.
async fn check_batch(state: &AppState, integrator: &Integrator, body: &Value) -> Result<Checked, ApiError> {
    let req = parse_request(body, &state.config, &state.voices, integrator.default_country.as_deref())?;
    let mut errors = req.problems.clone();
    let row = match req.workflow_id.trim() {
        "" => None,
        id => state.store.get_workflow(&integrator.id, id).await?,
    };
    let Some(row) = row else {
        if !req.workflow_id.trim().is_empty() {
            errors.push(FieldError::new("workflow_id", format!("unknown workflow '{}'", req.workflow_id)));
        }
        return Err(invalid_request(errors));
    };
    let workflow: Workflow = serde_json::from_str(&row.definition).map_err(ApiError::internal)?;
    if workflow.status != voicebot_workflow::WorkflowStatus::Active {
        errors.push(FieldError::new("workflow_id", "workflow is INACTIVE"));
        return Err(invalid_request(errors));
    }
    errors.extend(check_rows(&req, &workflow));
    let phones: Vec<String> = req
        .recipients
        .iter()
        .filter(|r| !r.phone_number.is_empty())
        .map(|r| r.phone_number.clone())
        .collect();
    let blocked = state.store.do_not_call_hits(&integrator.id, &phones).await?;
    for r in req.recipients.iter().filter(|r| blocked.contains(&r.phone_number)) {
        errors.push(FieldError::new(
            format!("workflow_params[{}].phone_number", r.row),
            "number is on the do-not-call list",
        ));
    }
    if !errors.is_empty() {
        return Err(invalid_request(errors));
    }
    Ok(Checked { req, workflow_row: row, workflow })
}

#[derive(Serialize)]
struct Validated {
    calls: usize,
    /// Every recipient's number as it will be dialed (E.164), in request order.
    phone_numbers: Vec<String>,
    workflow_id: String,
    workflow_name: String,
    name: Option<String>,
    tts_voice_accent: String,
    tts_voice_gender: String,
    /// False when the accent is spoken by a stand-in voice.
    native_voice: bool,
    max_attempts: u32,
    not_before: Option<String>,
    not_after: Option<String>,
    /// The dialing window in each recipient's local time, if this node has one configured.
    calling_window: Option<crate::CallingWindow>,
}

/// `POST /call/validate`: the checks of `POST /call` without storing anything, and what the batch
/// would be (numbers normalised, voice, window) for a confirmation step.
pub(crate) async fn validate_batch(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let body = json_body(&headers, body, state.config.max_body_bytes).await?;
    let Checked { req, workflow_row, workflow } = check_batch(&state, &integrator, &body).await?;
    let native_voice = state.voices.find(&req.accent).is_some_and(|v| v.native);
    Ok(ok(
        Validated {
            calls: req.recipients.len(),
            phone_numbers: req.recipients.iter().map(|r| r.phone_number.clone()).collect(),
            workflow_id: workflow_row.id,
            workflow_name: workflow.name,
            name: req.name,
            tts_voice_accent: req.accent,
            tts_voice_gender: req.gender,
            native_voice,
            max_attempts: req.max_attempts.unwrap_or(state.config.default_max_attempts),
            not_before: req.not_before.map(format_timestamp),
            not_after: req.not_after.map(format_timestamp),
            calling_window: state.config.calling_window.clone(),
        },
        "batch request is valid",
    ))
}

/// The seed's `processing_status` for a call (CONTRACT.md §5).
pub(crate) fn processing_status(call: &CallRow) -> &'static str {
    match call.status {
        CallStatus::Queued if call.attempts == 0 => "VOICE_CALL_QUEUED",
        CallStatus::Queued | CallStatus::Dialing => "VOICE_CALL_PROCESSING",
        CallStatus::Completed | CallStatus::Timeout => "VOICE_CALL_PROCESSED",
        CallStatus::Failed => match call.outcome.as_deref() {
            Some("BUSY" | "REJECTED" | "INVALID_NUMBER" | "NO_ANSWER") => "VOICE_CALL_PROCESSED",
            _ => "VOICE_CALL_FAILED",
        },
        CallStatus::Cancelled => "VOICE_CALL_CANCELLED",
    }
}

#[derive(Serialize)]
struct CallStatusData {
    call_id: String,
    call_duration_in_seconds: i64,
    processing_status: &'static str,
    batch_id: String,
    status: &'static str,
    phone_number: String,
    attempts: u32,
    outcome: Option<String>,
    call_result_options_selected: Option<String>,
}

pub(crate) async fn call_status(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(call_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let call = super::load_call(&state, &integrator.id, &call_id).await?;
    Ok(ok(
        CallStatusData {
            call_id: call.id.clone(),
            call_duration_in_seconds: call.duration_seconds,
            processing_status: processing_status(&call),
            batch_id: call.batch_id.clone(),
            status: voicebot_store::report::report_status(call.status),
            phone_number: call.phone_number.clone(),
            attempts: call.attempts,
            outcome: call.outcome.clone(),
            call_result_options_selected: call.options_selected.clone(),
        },
        "call status found",
    ))
}
