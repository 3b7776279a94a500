//! `GET /metrics`: Prometheus text exposition of the whole node.
//!
//! Library crates record events through the `metrics` facade (dialer: attempts, finished calls,
//! INVITE→answer latency; callback: deliveries). Figures that already live as counters elsewhere
//! (media clock, TTS renderer, dialer's live calls) or in the database (queue depth) are read at
//! scrape time, so nothing is counted twice and a scrape always shows the current truth.
//! HTTP requests are counted by a middleware on the API router.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use voicebot_store::Store;

/// Seconds; INVITE→answer spans a ring (0.1 s on a test phone, 30 s on a slow mobile).
const ANSWER_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0];
/// Seconds per API request.
const HTTP_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// The process-wide recorder; installed once (the demo runs serve in-process next to tests).
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("voicebot_invite_answer_seconds".into()), ANSWER_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full("voicebot_http_request_seconds".into()), HTTP_BUCKETS)
            })
            .expect("bucket lists are non-empty constants");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder is installed; then our series go there and the
        // handle renders what it has (the scrape-time figures).
        let _ = metrics::set_global_recorder(recorder);
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!("voicebot_call_attempts_total", "Call attempts ended, by SIP outcome");
    describe_counter!("voicebot_calls_finished_total", "Calls made final by this node, by status");
    describe_histogram!(
        "voicebot_invite_answer_seconds",
        metrics::Unit::Seconds,
        "INVITE sent to answer (200 OK)"
    );
    describe_counter!("voicebot_callback_deliveries_total", "Callback delivery attempts, by result");
    describe_gauge!("voicebot_live_calls", "Calls this node has live (dialing or answered)");
    describe_gauge!("voicebot_heap_bytes", metrics::Unit::Bytes, "Heap allocated and not yet freed");
    describe_gauge!("voicebot_queue_depth", "Non-final calls of every batch, by state");
    describe_counter!("voicebot_rtp_packets_sent_total", "RTP packets sent");
    describe_counter!("voicebot_rtp_packets_received_total", "RTP packets received");
    describe_counter!("voicebot_rtp_late_packets_total", "RTP packets sent over 5 ms late, or skipped");
    describe_counter!(
        "voicebot_rtp_foreign_packets_dropped_total",
        "RTP datagrams dropped because they did not come from the call's peer (its SDP address and SSRC)"
    );
    describe_counter!(
        "voicebot_srtp_auth_failures_total",
        "Received SRTP packets that failed authentication"
    );
    describe_counter!("voicebot_srtp_replays_dropped_total", "Received SRTP packets dropped as replays");
    describe_counter!("voicebot_tts_renders_total", "Sentences rendered by a TTS engine");
    describe_counter!("voicebot_tts_cache_hits_total", "Sentences served from the render cache");
    describe_counter!("voicebot_http_requests_total", "API requests, by route and status");
    describe_histogram!("voicebot_http_request_seconds", metrics::Unit::Seconds, "API request duration");
}

/// What a scrape reads besides the recorded series.
#[derive(Clone)]
pub struct Sources {
    pub store: Arc<dyn Store>,
    pub dialer: Option<Arc<crate::dialing::Dialing>>,
    pub renderer: Option<voicebot_tts::Renderer>,
}

/// `/metrics`, to merge into the API router.
pub fn router(sources: Sources) -> Router {
    handle();
    Router::new().route("/metrics", get(scrape)).with_state(sources)
}

async fn scrape(State(s): State<Sources>) -> Response {
    if let Some(d) = &s.dialer {
        metrics::gauge!("voicebot_live_calls").set(f64::from(d.dialer.live_calls()));
        let media = d.telephony.media_stats();
        metrics::counter!("voicebot_rtp_packets_sent_total").absolute(media.packets_sent);
        metrics::counter!("voicebot_rtp_packets_received_total").absolute(media.packets_received);
        metrics::counter!("voicebot_rtp_late_packets_total")
            .absolute(media.late_over_5ms + media.skipped_frames);
        metrics::counter!("voicebot_rtp_foreign_packets_dropped_total")
            .absolute(media.unknown_source_dropped);
        metrics::counter!("voicebot_srtp_auth_failures_total").absolute(media.srtp_auth_failures);
        metrics::counter!("voicebot_srtp_replays_dropped_total").absolute(media.srtp_replays_dropped);
    }
    if let Some(r) = &s.renderer {
        let tts = r.stats();
        metrics::counter!("voicebot_tts_renders_total").absolute(tts.engine_renders);
        metrics::counter!("voicebot_tts_cache_hits_total").absolute(tts.cache_hits);
    }
    match s.store.queue_depth(voicebot_store::now_micros()).await {
        Ok(q) => {
            for (state, n) in [("due", q.due), ("scheduled", q.scheduled), ("dialing", q.dialing)] {
                metrics::gauge!("voicebot_queue_depth", "state" => state).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "queue depth for /metrics failed"),
    }
    metrics::gauge!("voicebot_heap_bytes").set(crate::heap::live_bytes() as f64);
    let handle = handle();
    handle.run_upkeep();
    let body = handle.render();
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
        .into_response()
}

/// Counts every API request by its route template (never the raw path: ids would explode
/// the label set) and status.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().as_str().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("voicebot_http_requests_total", "method" => method, "route" => route, "status" => status)
        .increment(1);
    metrics::histogram!("voicebot_http_request_seconds").record(started.elapsed().as_secs_f64());
    response
}
