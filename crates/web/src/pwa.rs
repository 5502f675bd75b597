//! What makes vaora installable on a phone's home screen: the web app manifest, its icons, and the
//! service worker that keeps the app's frame, scripts and the last-seen pass screen available
//! without network (the pass screen then shows this minute's pass from its offline batch).

use std::sync::OnceLock;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::AppState;
use crate::assets::{PREFIX, VERSION};
use crate::i18n::{Lang, Texts};

const ICON_SVG: &str = include_str!("../assets/icon.svg");
const SERVICE_WORKER: &str = include_str!("../assets/sw.js");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/manifest.webmanifest", get(manifest))
        .route("/sw.js", get(service_worker))
        .route("/icon-192.png", get(|| async { icon(192) }))
        .route("/icon-512.png", get(|| async { icon(512) }))
}

async fn manifest(State(_): State<AppState>, headers: HeaderMap) -> Response {
    let t = Texts::new(Lang::of(&headers));
    let body = json!({
        "name": t.s("app.pwa_name"),
        "short_name": "vaora",
        "description": t.s("home.lead"),
        "lang": t.code(),
        "start_url": "/pass",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f4f6f8",
        "theme_color": "#0b5cab",
        "icons": [
            {"src": "/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": format!("{PREFIX}/icon.svg"), "sizes": "any", "type": "image/svg+xml"}
        ]
    });
    (
        [(header::CONTENT_TYPE, "application/manifest+json"), (header::CACHE_CONTROL, "public, max-age=300")],
        body.to_string(),
    )
        .into_response()
}

/// The service worker, told which assets this build has; never cached by HTTP so that a new
/// release is picked up at the next visit.
async fn service_worker() -> Response {
    let body = format!("const VERSION = {VERSION:?};\nconst ASSETS = {PREFIX:?};\n{SERVICE_WORKER}");
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], body)
        .into_response()
}

fn icon(size: u32) -> Response {
    static ICONS: OnceLock<[Option<Vec<u8>>; 2]> = OnceLock::new();
    let icons = ICONS.get_or_init(|| {
        // The SVG is 64 CSS pixels wide; 96 dpi is one pixel per CSS pixel.
        let render = |px: u32| vaora_render::svg_to_png(ICON_SVG, 96.0 * px as f32 / 64.0).ok();
        [render(192), render(512)]
    });
    match &icons[usize::from(size == 512)] {
        Some(png) => {
            ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "public, max-age=86400")], png.clone())
                .into_response()
        }
        None => (StatusCode::INTERNAL_SERVER_ERROR, "icon unavailable").into_response(),
    }
}
