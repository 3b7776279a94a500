//! The operator dashboard (`/`) and the API docs page (`/docs`): hand-written HTML, CSS and JS,
//! compiled into the binary so a node serves them with no files to deploy and no CDN to reach.
//!
//! The pages are public shells; all data comes from the JSON API with the API key the user
//! pastes (kept in `sessionStorage`, sent as `Authorization: Bearer`), so the dashboard has no
//! session or cookie of its own and sees exactly what the integrator's API key sees. A strict
//! Content-Security-Policy allows only these same-origin assets (and `blob:` audio).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

/// One embedded file.
struct Asset {
    body: &'static str,
    content_type: &'static str,
}

const INDEX: Asset = Asset { body: include_str!("index.html"), content_type: "text/html; charset=utf-8" };
const DOCS: Asset = Asset { body: include_str!("docs.html"), content_type: "text/html; charset=utf-8" };
const CSS: Asset = Asset { body: include_str!("app.css"), content_type: "text/css; charset=utf-8" };
const APP_JS: Asset = Asset { body: include_str!("app.js"), content_type: "text/javascript; charset=utf-8" };
const DOCS_JS: Asset =
    Asset { body: include_str!("docs.js"), content_type: "text/javascript; charset=utf-8" };

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   media-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
                   frame-ancestors 'none'";

fn serve(asset: &'static Asset) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            // Assets change with the binary; a short cache keeps upgrades visible.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        asset.body,
    )
}

/// `/`, `/docs` and their assets.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { serve(&INDEX) }))
        .route("/docs", get(|| async { serve(&DOCS) }))
        .route("/ui/app.css", get(|| async { serve(&CSS) }))
        .route("/ui/app.js", get(|| async { serve(&APP_JS) }))
        .route("/ui/docs.js", get(|| async { serve(&DOCS_JS) }))
}
