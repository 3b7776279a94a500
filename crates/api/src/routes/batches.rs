//! Batch results (CONTRACT.md §6): the callback-shaped report, paged rows, CSV, cancel.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;
use voicebot_store::report::{ReportCall, batch_report, format_timestamp, report_call, report_status};
use voicebot_store::{BatchRow, CallFilter, CallRow, CallStatus, now_micros};
use voicebot_workflow::{Step, Workflow};

use super::{load_batch, ok};
use crate::auth::Caller;
use crate::{ApiError, AppState};

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

/// Digits of the first gather of the batch's workflow snapshot.
fn result_options(batch: &BatchRow) -> Vec<String> {
    let Ok(wf) = serde_json::from_str::<Workflow>(&batch.workflow) else { return vec![] };
    match wf.result_gather().map(|i| &wf.steps[i]) {
        Some(Step::Gather(g)) => g.options.keys().cloned().collect(),
        _ => vec![],
    }
}

pub(crate) async fn report(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(batch_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let batch = load_batch(&state, &integrator.id, &batch_id).await?;
    let calls = state.store.batch_calls(&batch.id, &CallFilter::default()).await?;
    Ok(ok(batch_report(&batch, &calls, &result_options(&batch)), "batch found"))
}

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

#[derive(Serialize)]
struct CallPageRow {
    #[serde(flatten)]
    call: ReportCall,
    attempts: u32,
    outcome: Option<String>,
    sip_code: Option<i32>,
    reason: Option<String>,
}

fn parse_status(s: &str) -> Result<CallStatus, ApiError> {
    match s.to_ascii_uppercase().as_str() {
        "PROCESSING" => Ok(CallStatus::Dialing),
        other => CallStatus::parse(other).ok_or_else(|| {
            ApiError::unprocessable(
                "status",
                "must be one of QUEUED, PROCESSING, COMPLETED, TIMEOUT, FAILED, CANCELLED",
            )
        }),
    }
}

pub(crate) async fn calls(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(batch_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let batch = load_batch(&state, &integrator.id, &batch_id).await?;
    let status = q.status.as_deref().map(parse_status).transpose()?;
    let after_seq = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => {
            Some(c.parse::<i64>().map_err(|_| ApiError::unprocessable("cursor", "not a valid cursor"))?)
        }
    };
    let limit = match q.limit.as_deref() {
        None | Some("") => DEFAULT_PAGE,
        Some(l) => l.parse::<u32>().ok().filter(|l| (1..=MAX_PAGE).contains(l)).ok_or_else(|| {
            ApiError::unprocessable("limit", format!("must be an integer from 1 to {MAX_PAGE}"))
        })?,
    };
    let rows =
        state.store.batch_calls(&batch.id, &CallFilter { status, after_seq, limit: Some(limit + 1) }).await?;
    let more = rows.len() > limit as usize;
    let page: Vec<&CallRow> = rows.iter().take(limit as usize).collect();
    let next_cursor = if more { page.last().map(|c| c.seq.to_string()) } else { None };
    let calls: Vec<CallPageRow> = page
        .iter()
        .map(|c| CallPageRow {
            call: report_call(c),
            attempts: c.attempts,
            outcome: c.outcome.clone(),
            sip_code: c.sip_code,
            reason: c.reason.clone(),
        })
        .collect();
    Ok(ok(json!({"batch_id": batch.id, "calls": calls, "next_cursor": next_cursor}), "calls found"))
}

/// Quotes a CSV field when it must be (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

pub(crate) async fn calls_csv(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(batch_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let batch = load_batch(&state, &integrator.id, &batch_id).await?;
    let rows = state.store.batch_calls(&batch.id, &CallFilter::default()).await?;
    let mut out = String::from(
        "id,status,phone_number,user_tag_identifiers,call_result_duration,call_result_options_selected,created_at,attempts,outcome,sip_code,reason\r\n",
    );
    for c in &rows {
        let fields = [
            c.id.clone(),
            report_status(c.status).to_string(),
            c.phone_number.clone(),
            c.user_tag_identifiers.clone(),
            c.duration_seconds.to_string(),
            c.options_selected.clone().unwrap_or_default(),
            format_timestamp(c.created_at),
            c.attempts.to_string(),
            c.outcome.clone().unwrap_or_default(),
            c.sip_code.map(|s| s.to_string()).unwrap_or_default(),
            c.reason.clone().unwrap_or_default(),
        ];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    let disposition = format!("attachment; filename=\"batch-{}.csv\"", batch.id);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    ))
}

pub(crate) async fn cancel(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(batch_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let cancelled = state
        .store
        .cancel_batch(&integrator.id, &batch_id, now_micros())
        .await?
        .ok_or_else(|| ApiError::not_found("batch not found"))?;
    let batch = load_batch(&state, &integrator.id, &batch_id).await?;
    Ok(ok(
        json!({"batch_id": batch.id, "cancelled_calls": cancelled, "status": batch.status.as_str()}),
        "batch cancellation accepted",
    ))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(r#"{"a": "b,c"}"#), r#""{""a"": ""b,c""}""#);
    }
}
