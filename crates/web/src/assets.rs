//! Static assets compiled into the binary: styles, scripts, icons and the font, served with a
//! long cache lifetime under a versioned path (`/assets/<version>/…`) so that a new release is
//! fetched at once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::Embed;

use crate::AppState;

/// The files under `crates/web/assets/`.
#[derive(Embed)]
#[folder = "assets/"]
struct Files;

/// The browser libraries `build.rs` installed from the npm registry (see `frontend/package.json`).
const VENDORED: &[(&str, &[u8])] = &[
    ("vendor/jsqr.js", include_bytes!(concat!(env!("OUT_DIR"), "/vendor/jsqr.js"))),
    ("vendor/qrcode.js", include_bytes!(concat!(env!("OUT_DIR"), "/vendor/qrcode.js"))),
    ("vendor/uplot.js", include_bytes!(concat!(env!("OUT_DIR"), "/vendor/uplot.js"))),
    ("vendor/uplot.css", include_bytes!(concat!(env!("OUT_DIR"), "/vendor/uplot.css"))),
];

/// This build's assets version: a hash of their contents, so that a changed file gets a new URL.
pub const VERSION: &str = env!("VAORA_ASSET_VERSION");

/// The path prefix of the assets of this build.
pub const PREFIX: &str = concat!("/assets/", env!("VAORA_ASSET_VERSION"));

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/{version}/{*path}", get(asset))
        .route("/favicon.ico", get(|headers: HeaderMap| async move { asset_response("icon.svg", false, &headers) }))
}

async fn asset(Path((version, path)): Path<(String, String)>, headers: HeaderMap) -> Response {
    asset_response(&path, version == VERSION, &headers)
}

/// The bytes and media type of an asset.
fn lookup(path: &str) -> Option<(Cow<'static, [u8]>, &'static str)> {
    if path == "fonts/DejaVuSans.ttf" {
        return Some((dejavu::sans::regular().into(), "font/ttf"));
    }
    if path == "fonts/DejaVuSans-Bold.ttf" {
        return Some((dejavu::sans::bold().into(), "font/ttf"));
    }
    let bytes = match VENDORED.iter().find(|(name, _)| *name == path) {
        Some((_, bytes)) => Cow::Borrowed(*bytes),
        None => Files::get(path)?.data,
    };
    let mime = match path.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") | Some("webmanifest") => "application/manifest+json",
        _ => "application/octet-stream",
    };
    Some((bytes, mime))
}

/// Text assets are sent gzip-compressed to clients that accept it (every browser), compressed
/// once per process.
fn gzipped(path: &str, bytes: &[u8]) -> Bytes {
    static CACHE: OnceLock<Mutex<HashMap<String, Bytes>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(b) = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(path) {
        return b.clone();
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let compressed = match encoder.write_all(bytes).and_then(|()| encoder.finish()) {
        Ok(c) => Bytes::from(c),
        // Writing into memory does not fail; if it did, the plain bytes still serve.
        Err(_) => return Bytes::copy_from_slice(bytes),
    };
    cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(path.to_owned(), compressed.clone());
    compressed
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| e.split(';').next().is_some_and(|name| name.trim().eq_ignore_ascii_case("gzip")))
}

pub(crate) fn asset_response(path: &str, immutable: bool, headers: &HeaderMap) -> Response {
    let Some((bytes, mime)) = lookup(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "public, max-age=300" };
    let compressible = mime.starts_with("text/") || mime.starts_with("image/svg") || mime.contains("json");
    if compressible && accepts_gzip(headers) {
        let body = gzipped(path, &bytes);
        return (
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, cache),
                (header::CONTENT_ENCODING, "gzip"),
                (header::VARY, "Accept-Encoding"),
            ],
            body,
        )
            .into_response();
    }
    ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, cache), (header::VARY, "Accept-Encoding")], bytes)
        .into_response()
}
