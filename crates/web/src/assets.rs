//! Static assets compiled into the binary: styles, scripts, icons and the font, served with a
//! long cache lifetime under a versioned path (`/assets/<version>/…`) so that a new release is
//! fetched at once.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::Embed;

use crate::AppState;

/// The files under `crates/web/assets/`.
#[derive(Embed)]
#[folder = "assets/"]
struct Files;

/// The path prefix of the assets of this build.
pub const PREFIX: &str = concat!("/assets/", env!("CARGO_PKG_VERSION"));

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/{version}/{*path}", get(asset))
        .route("/favicon.ico", get(|| async { asset_response("icon.svg", false) }))
}

async fn asset(Path((version, path)): Path<(String, String)>) -> Response {
    asset_response(&path, version == env!("CARGO_PKG_VERSION"))
}

fn asset_response(path: &str, immutable: bool) -> Response {
    let (bytes, mime): (std::borrow::Cow<'static, [u8]>, &str) = if path == "fonts/DejaVuSans.ttf" {
        (dejavu::sans::regular().into(), "font/ttf")
    } else if path == "fonts/DejaVuSans-Bold.ttf" {
        (dejavu::sans::bold().into(), "font/ttf")
    } else if let Some(f) = Files::get(path) {
        let mime = match path.rsplit('.').next() {
            Some("css") => "text/css; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            Some("svg") => "image/svg+xml",
            Some("png") => "image/png",
            Some("json") | Some("webmanifest") => "application/manifest+json",
            _ => "application/octet-stream",
        };
        (f.data, mime)
    } else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "public, max-age=300" };
    ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, cache)], bytes).into_response()
}
