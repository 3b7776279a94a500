//! The operator dashboard (`/`) and the API docs page (`/docs`): hand-written HTML, CSS and JS
//! (ES modules, one file per page area), compiled into the binary so a node serves them with no
//! files to deploy and no CDN to reach.
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

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

const INDEX: Asset = Asset { body: include_str!("index.html"), content_type: HTML };
const DOCS: Asset = Asset { body: include_str!("docs.html"), content_type: HTML };

/// Everything under `/ui/`: the stylesheet and the dashboard's ES modules (and the docs script).
const UI: &[(&str, Asset)] = &[
    ("app.css", Asset { body: include_str!("app.css"), content_type: "text/css; charset=utf-8" }),
    ("app.js", Asset { body: include_str!("app.js"), content_type: JS }),
    ("core.js", Asset { body: include_str!("core.js"), content_type: JS }),
    ("view.js", Asset { body: include_str!("view.js"), content_type: JS }),
    ("batches.js", Asset { body: include_str!("batches.js"), content_type: JS }),
    ("call.js", Asset { body: include_str!("call.js"), content_type: JS }),
    ("newbatch.js", Asset { body: include_str!("newbatch.js"), content_type: JS }),
    ("recipients.js", Asset { body: include_str!("recipients.js"), content_type: JS }),
    ("xlsx.js", Asset { body: include_str!("xlsx.js"), content_type: JS }),
    ("workflows.js", Asset { body: include_str!("workflows.js"), content_type: JS }),
    ("editor.js", Asset { body: include_str!("editor.js"), content_type: JS }),
    ("lists.js", Asset { body: include_str!("lists.js"), content_type: JS }),
    ("docs.js", Asset { body: include_str!("docs.js"), content_type: JS }),
];

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
    let mut router = Router::new()
        .route("/", get(|| async { serve(&INDEX) }))
        .route("/docs", get(|| async { serve(&DOCS) }));
    for (name, asset) in UI {
        router = router.route(&format!("/ui/{name}"), get(move || async move { serve(asset) }));
    }
    router
}
