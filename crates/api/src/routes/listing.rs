//! `GET /voicebot/v1/batches`: the caller's batches, newest first, with per-status call counts,
//! so a dashboard list can show live progress from one request per poll; `GET /batches/{id}`: one
//! of them with what explains its waiting (schedule, calling window, next attempt, retries) and
//! what its answers mean (the first gather's options).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;
use voicebot_store::report::format_timestamp;
use voicebot_store::{BatchCursor, BatchListFilter, BatchSummary};
use voicebot_workflow::{Step, Workflow};

use super::ok;
use crate::auth::Caller;
use crate::{ApiError, AppState};

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

/// Calls by status. `processing` is a live attempt; `queued` includes calls waiting for a retry.
#[derive(Serialize)]
struct Progress {
    queued: u64,
    processing: u64,
    completed: u64,
    timeout: u64,
    failed: u64,
    cancelled: u64,
    finished: u64,
}

#[derive(Serialize)]
struct BatchListRow {
    batch_id: String,
    created_at: String,
    completed_at: Option<String>,
    status: &'static str,
    workflow_id: String,
    workflow_name: Option<String>,
    tts_voice_accent: String,
    tts_voice_gender: String,
    total_calls: u32,
    progress: Progress,
    /// The batch's label (`POST /call` extension `name`).
    name: Option<String>,
    /// When the earliest queued call is due.
    next_attempt_at: Option<String>,
}

fn row(s: &BatchSummary) -> BatchListRow {
    let (b, p) = (&s.batch, &s.progress);
    BatchListRow {
        batch_id: b.id.clone(),
        created_at: format_timestamp(b.created_at),
        completed_at: b.completed_at.map(format_timestamp),
        status: b.status.as_str(),
        workflow_id: b.workflow_id.clone(),
        workflow_name: serde_json::from_str::<Workflow>(&b.workflow).ok().map(|w| w.name),
        tts_voice_accent: b.tts_voice_accent.clone(),
        tts_voice_gender: b.tts_voice_gender.clone(),
        total_calls: b.total_calls,
        progress: Progress {
            queued: p.queued,
            processing: p.dialing,
            completed: p.completed,
            timeout: p.timeout,
            failed: p.failed,
            cancelled: p.cancelled,
            finished: p.finished(),
        },
        name: b.name.clone(),
        next_attempt_at: s.next_attempt_at.map(format_timestamp),
    }
}

/// One batch in full for its dashboard page.
#[derive(Serialize)]
struct BatchOverview {
    #[serde(flatten)]
    row: BatchListRow,
    /// Schedule (`POST /call` extension): not dialed before, given up after.
    not_before: Option<String>,
    not_after: Option<String>,
    max_attempts: u32,
    backoff_seconds: Option<u32>,
    /// The dialer's calling window in each recipient's local time.
    calling_window: Option<crate::CallingWindow>,
    /// Digit → what the first question's answer means (`"1": "Press 1 to confirm"`).
    options: BTreeMap<String, String>,
    /// Variables the workflow speaks.
    variables: Vec<String>,
    /// False when the accent is spoken by a stand-in voice.
    native_voice: bool,
}

pub(crate) async fn overview(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(batch_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let summary = state
        .store
        .get_batch_summary(&integrator.id, &batch_id)
        .await?
        .ok_or_else(|| ApiError::not_found("batch not found"))?;
    let b = &summary.batch;
    let workflow = serde_json::from_str::<Workflow>(&b.workflow).ok();
    let options = workflow
        .as_ref()
        .and_then(|w| match w.result_gather().map(|i| &w.steps[i]) {
            Some(Step::Gather(g)) => Some(g.options.clone()),
            _ => None,
        })
        .unwrap_or_default();
    Ok(ok(
        BatchOverview {
            not_before: b.not_before.map(format_timestamp),
            not_after: b.not_after.map(format_timestamp),
            max_attempts: b.max_attempts,
            backoff_seconds: b.backoff_seconds,
            calling_window: state.config.calling_window.clone(),
            options,
            variables: workflow.map(|w| w.variables()).unwrap_or_default(),
            native_voice: state.voices.find(&b.tts_voice_accent).is_some_and(|v| v.native),
            row: row(&summary),
        },
        "batch found",
    ))
}

/// Cursors are `<created_at µs>_<batch id>`: opaque to clients, stable under new inserts.
fn parse_cursor(c: &str) -> Result<BatchCursor, ApiError> {
    let bad = || ApiError::unprocessable("cursor", "not a valid cursor");
    let (at, id) = c.split_once('_').ok_or_else(bad)?;
    let created_at = at.parse::<i64>().map_err(|_| bad())?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok(BatchCursor { created_at, id: id.to_string() })
}

pub(crate) async fn list(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let before = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(parse_cursor(c)?),
    };
    let limit = match q.limit.as_deref() {
        None | Some("") => DEFAULT_PAGE,
        Some(l) => l.parse::<u32>().ok().filter(|l| (1..=MAX_PAGE).contains(l)).ok_or_else(|| {
            ApiError::unprocessable("limit", format!("must be an integer from 1 to {MAX_PAGE}"))
        })?,
    };
    let page =
        state.store.list_batches(&integrator.id, &BatchListFilter { before, limit: limit + 1 }).await?;
    let more = page.len() > limit as usize;
    let page = &page[..page.len().min(limit as usize)];
    let next_cursor = if more {
        page.last().map(|s| {
            let c = s.cursor();
            format!("{}_{}", c.created_at, c.id)
        })
    } else {
        None
    };
    let batches: Vec<BatchListRow> = page.iter().map(row).collect();
    Ok(ok(json!({"batches": batches, "next_cursor": next_cursor}), "batches found"))
}

#[cfg(test)]
mod tests {
    use super::parse_cursor;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = parse_cursor("1700000000000000_9b643eb4-0799-4761-bd34-9580eb315aaf").unwrap();
        assert_eq!(
            (c.created_at, c.id.as_str()),
            (1_700_000_000_000_000, "9b643eb4-0799-4761-bd34-9580eb315aaf")
        );
        for bad in ["x", "12_", "a_b", "_id"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }
}
