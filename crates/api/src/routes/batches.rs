//! Batch results (CONTRACT.md §6): the callback-shaped report, paged rows, CSV, cancel.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;
use voicebot_store::report::{ReportCall, batch_report, format_timestamp, report_call, report_status};
use voicebot_store::{BatchRow, CallFilter, CallRow, CallSort, CallStatus, now_micros};
use voicebot_workflow::{Step, Workflow};

use super::{load_batch, ok};
use crate::auth::Caller;
use crate::{ApiError, AppState};

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

/// Digits of the first gather of the batch's workflow snapshot.
pub(crate) fn result_options(batch: &BatchRow) -> Vec<String> {
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
    /// Text to look for in the number, variables and tags.
    q: Option<String>,
    /// `row` (default), `phone_number`, `status`, `attempts`, `duration`, `updated_at` or
    /// `variable:<name>`.
    sort: Option<String>,
    /// `asc` (default) or `desc`.
    order: Option<String>,
}

/// One call as the calls list and the call page show it: the report's row plus what a person
/// looking at it needs (attempts, SIP outcome, why it failed, when it is next tried, variables).
#[derive(Serialize)]
pub(crate) struct CallPageRow {
    #[serde(flatten)]
    call: ReportCall,
    attempts: u32,
    outcome: Option<String>,
    sip_code: Option<i32>,
    reason: Option<String>,
    /// Row number in the request (0-based).
    row: i64,
    workflow_variables: Box<RawValue>,
    /// When a queued call is next dialed (first attempt, retry, calling window or schedule).
    next_attempt_at: Option<String>,
    updated_at: String,
}

pub(crate) fn call_page_row(c: &CallRow) -> CallPageRow {
    CallPageRow {
        call: report_call(c),
        attempts: c.attempts,
        outcome: c.outcome.clone(),
        sip_code: c.sip_code,
        reason: c.reason.clone(),
        row: c.seq,
        workflow_variables: RawValue::from_string(c.workflow_variables.clone())
            .unwrap_or_else(|_| RawValue::from_string("{}".into()).unwrap_or_default()),
        next_attempt_at: (c.status == CallStatus::Queued).then(|| format_timestamp(c.next_attempt_at)),
        updated_at: format_timestamp(c.updated_at),
    }
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

fn parse_sort(s: &str) -> Result<CallSort, ApiError> {
    Ok(match s {
        "" | "row" => CallSort::Row,
        "phone_number" => CallSort::Phone,
        "status" => CallSort::Status,
        "attempts" => CallSort::Attempts,
        "duration" => CallSort::Duration,
        "updated_at" => CallSort::Updated,
        other => match other.strip_prefix("variable:") {
            Some(name) if CallSort::is_variable_name(name) => CallSort::Variable(name.to_string()),
            _ => {
                return Err(ApiError::unprocessable(
                    "sort",
                    "must be row, phone_number, status, attempts, duration, updated_at or variable:<name>",
                ));
            }
        },
    })
}

/// Longest search text, in characters.
const MAX_SEARCH_CHARS: usize = 100;

/// The store filter a page query asks for. Cursors are opaque: the last row number in request
/// order (keyset), or `o<offset>` in any other order.
fn call_filter(q: &PageQuery) -> Result<CallFilter, ApiError> {
    let bad_cursor = || ApiError::unprocessable("cursor", "not a valid cursor");
    let status = q.status.as_deref().filter(|s| !s.is_empty()).map(parse_status).transpose()?;
    let sort = parse_sort(q.sort.as_deref().unwrap_or(""))?;
    let descending = match q.order.as_deref() {
        None | Some("" | "asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::unprocessable("order", "must be asc or desc")),
    };
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if search.as_ref().is_some_and(|s| s.chars().count() > MAX_SEARCH_CHARS) {
        return Err(ApiError::unprocessable("q", format!("at most {MAX_SEARCH_CHARS} characters")));
    }
    let limit = match q.limit.as_deref() {
        None | Some("") => DEFAULT_PAGE,
        Some(l) => l.parse::<u32>().ok().filter(|l| (1..=MAX_PAGE).contains(l)).ok_or_else(|| {
            ApiError::unprocessable("limit", format!("must be an integer from 1 to {MAX_PAGE}"))
        })?,
    };
    let (mut after_seq, mut offset) = (None, None);
    match q.cursor.as_deref() {
        None | Some("") => {}
        Some(c) if sort == CallSort::Row && !descending => {
            after_seq = Some(c.parse::<i64>().map_err(|_| bad_cursor())?);
        }
        Some(c) => {
            offset = Some(c.strip_prefix('o').and_then(|o| o.parse::<u32>().ok()).ok_or_else(bad_cursor)?)
        }
    }
    Ok(CallFilter { status, after_seq, limit: Some(limit + 1), search, sort, descending, offset })
}

pub(crate) async fn calls(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(batch_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let batch = load_batch(&state, &integrator.id, &batch_id).await?;
    let filter = call_filter(&q)?;
    let limit = filter.limit.unwrap_or(1) as usize - 1;
    let rows = state.store.batch_calls(&batch.id, &filter).await?;
    let more = rows.len() > limit;
    let page: Vec<&CallRow> = rows.iter().take(limit).collect();
    let next_cursor = match (more, page.last()) {
        (false, _) | (_, None) => None,
        (true, Some(last)) if filter.sort == CallSort::Row && !filter.descending => {
            Some(last.seq.to_string())
        }
        (true, Some(_)) => Some(format!("o{}", filter.offset.unwrap_or(0) as usize + limit)),
    };
    let calls: Vec<CallPageRow> = page.iter().map(|c| call_page_row(c)).collect();
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
