//! `GET /voicebot/v1/call/{call_id}/attempts`: one call with its attempt timeline (times, SIP
//! outcome, digits pressed) and what its answer means, for the dashboard's call page.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Serialize;
use voicebot_store::AttemptRow;
use voicebot_store::report::format_timestamp;
use voicebot_workflow::{Step, Workflow};

use super::batches::{CallPageRow, call_page_row};
use super::ok;
use crate::auth::Caller;
use crate::{ApiError, AppState};

#[derive(Serialize)]
struct AttemptView {
    attempt_no: u32,
    trunk: String,
    /// `DIALING` while live, `ENDED`, or `INTERRUPTED` (a node died during it).
    state: String,
    outcome: Option<String>,
    sip_code: Option<i32>,
    started_at: String,
    answered_at: Option<String>,
    ended_at: Option<String>,
    /// Every keypad digit pressed, in order.
    digits: String,
    /// How many prompts it played.
    prompts_played: usize,
}

fn attempt_view(a: &AttemptRow) -> AttemptView {
    AttemptView {
        attempt_no: a.attempt_no,
        trunk: a.trunk.clone(),
        state: a.state.clone(),
        outcome: a.outcome.clone(),
        sip_code: a.sip_code,
        started_at: format_timestamp(a.started_at),
        answered_at: a.answered_at.map(format_timestamp),
        ended_at: a.ended_at.map(format_timestamp),
        digits: a.digits.clone(),
        prompts_played: a.played.len(),
    }
}

#[derive(Serialize)]
struct Timeline {
    batch_id: String,
    batch_name: Option<String>,
    call: CallPageRow,
    max_attempts: u32,
    /// Digit → meaning of the first question's answer.
    options: BTreeMap<String, String>,
    attempts: Vec<AttemptView>,
    /// True when an answered attempt recorded what it played (`GET /call/{id}/audio`).
    audio_available: bool,
}

pub(crate) async fn timeline(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(call_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let call = super::load_call(&state, &integrator.id, &call_id).await?;
    let batch = super::load_batch(&state, &integrator.id, &call.batch_id).await?;
    let attempts = state.store.call_attempts(&integrator.id, &call.id).await?;
    let options = serde_json::from_str::<Workflow>(&batch.workflow)
        .ok()
        .and_then(|w| match w.result_gather().map(|i| w.steps[i].clone()) {
            Some(Step::Gather(g)) => Some(g.options),
            _ => None,
        })
        .unwrap_or_default();
    Ok(ok(
        Timeline {
            batch_id: batch.id,
            batch_name: batch.name,
            call: call_page_row(&call),
            max_attempts: batch.max_attempts,
            options,
            audio_available: attempts.iter().any(|a| a.answered_at.is_some() && !a.played.is_empty()),
            attempts: attempts.iter().map(attempt_view).collect(),
        },
        "call found",
    ))
}
