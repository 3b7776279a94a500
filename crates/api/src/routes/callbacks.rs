//! A batch's completion callback (CONTRACT.md §7): its delivery state with every attempt,
//! and redelivery with the same `webhook-id`. Delivery itself is the callback crate's job;
//! these handlers only read and reschedule the outbox row.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Serialize;
use voicebot_store::report::format_timestamp;
use voicebot_store::{BatchRow, BatchStatus, CallbackDelivery, now_micros};

use super::{load_batch, ok};
use crate::auth::Caller;
use crate::{ApiError, AppState};

#[derive(Serialize)]
struct AttemptView {
    attempt_no: u32,
    url: Option<String>,
    started_at: String,
    http_status: Option<u16>,
    latency_ms: Option<i64>,
    error: Option<String>,
    outcome: String,
}

#[derive(Serialize)]
struct DeliveryView {
    batch_id: String,
    batch_status: &'static str,
    webhook_id: Option<String>,
    /// `NOT_FINAL` until the batch is final, then the outbox state (`NONE` for a batch made
    /// final before callbacks existed).
    state: &'static str,
    attempts: u32,
    next_attempt_at: Option<String>,
    target_url: Option<String>,
    last_error: Option<String>,
    delivered_at: Option<String>,
    attempt_log: Vec<AttemptView>,
}

fn view(batch: &BatchRow, delivery: Option<CallbackDelivery>) -> DeliveryView {
    let Some(d) = delivery else {
        return DeliveryView {
            batch_id: batch.id.clone(),
            batch_status: batch.status.as_str(),
            webhook_id: None,
            state: if matches!(batch.status, BatchStatus::Completed | BatchStatus::Cancelled) {
                "NONE"
            } else {
                "NOT_FINAL"
            },
            attempts: 0,
            next_attempt_at: None,
            target_url: None,
            last_error: None,
            delivered_at: None,
            attempt_log: vec![],
        };
    };
    let pending = d.state == voicebot_store::CallbackState::Pending;
    DeliveryView {
        batch_id: batch.id.clone(),
        batch_status: batch.status.as_str(),
        webhook_id: Some(d.webhook_id),
        state: d.state.as_str(),
        attempts: d.attempts,
        next_attempt_at: pending.then(|| format_timestamp(d.next_attempt_at)),
        target_url: d.target_url,
        last_error: d.last_error,
        delivered_at: d.delivered_at.map(format_timestamp),
        attempt_log: d
            .attempt_log
            .into_iter()
            .map(|a| AttemptView {
                attempt_no: a.attempt_no,
                url: a.url,
                started_at: format_timestamp(a.started_at),
                http_status: a.http_status,
                latency_ms: a.latency_ms,
                error: a.error,
                outcome: a.outcome,
            })
            .collect(),
    }
}

pub(crate) async fn status(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(batch_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let batch = load_batch(&state, &integrator.id, &batch_id).await?;
    let delivery = state.store.callback_delivery(&integrator.id, &batch.id).await?;
    Ok(ok(view(&batch, delivery), "callback delivery found"))
}

pub(crate) async fn redeliver(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(batch_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let batch = load_batch(&state, &integrator.id, &batch_id).await?;
    let delivery =
        state.store.redeliver_callback(&integrator.id, &batch.id, now_micros()).await?.ok_or_else(|| {
            ApiError::unprocessable("batch_id", "batch is not final yet; its callback is sent when it is")
        })?;
    Ok(ok(view(&batch, Some(delivery)), "callback redelivery scheduled"))
}
