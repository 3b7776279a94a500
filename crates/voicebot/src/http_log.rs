//! Request logging: every API request gets an `x-request-id` (kept if the client sent one,
//! echoed in the response) and one INFO line when it finishes, inside a span carrying the id,
//! the method and the route template.
//!
//! The route template (`/voicebot/v1/dnc/{phone_number}`), never the raw path or query, is what
//! gets logged: paths carry phone numbers and ids, and logs must not hold a patient's number.

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::Request;
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// Wraps `router` with request ids and request logging.
pub fn layer(router: Router) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(span)
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Millis))
        .on_failure(DefaultOnFailure::new().level(Level::WARN).latency_unit(LatencyUnit::Millis));
    // Outermost last: the id is set first, then the span sees it, then the response echoes it.
    router
        .layer(trace)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

fn span<B>(request: &Request<B>) -> tracing::Span {
    let request_id =
        request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("-");
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", request_id, method = %request.method(), route)
}
