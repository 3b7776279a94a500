//! `GET /voicebot/v1/batches`: the caller's batches, newest first, with per-status call counts,
//! so a dashboard list can show live progress from one request per poll.

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;
use voicebot_store::report::format_timestamp;
use voicebot_store::{BatchCursor, BatchListFilter, BatchSummary};
use voicebot_workflow::Workflow;

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
    }
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
