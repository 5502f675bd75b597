//! vaora's HTTP face: the JSON API under `/api/v1` with its OpenAPI document, the web app's pages,
//! their assets and translations (all compiled into the binary), `/healthz` and `/metrics`.
//!
//! Handlers extract, call one use case of [`vaora_app::App`] and map the result; they hold no SQL
//! and no business rule.

pub mod api;
pub mod assets;
pub mod error;
pub mod exports;
pub mod extract;
pub mod i18n;
pub mod observe;
pub mod pages;
mod pwa;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use vaora_app::App;

/// The largest JSON or form body accepted (roster files have their own, larger limit).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The public base URL, e.g. `https://vaora.hue.gov.vn`; `https` makes cookies `Secure`.
    pub public_base_url: String,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
}

impl WebSettings {
    /// Whether cookies get the `Secure` flag.
    pub fn secure_cookies(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases.
    pub app: Arc<App>,
    /// HTTP settings.
    pub web: Arc<WebSettings>,
}

/// The whole application: API, pages, assets, health and metrics, with its middleware.
pub fn router(app: App, web: WebSettings) -> Router {
    let state = AppState { app: Arc::new(app), web: Arc::new(web) };
    // Install the metrics recorder before the first request is counted.
    observe::prometheus();
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(assets::routes())
        .merge(pwa::routes())
        .merge(observe::routes())
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe::track))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
            ),
        ))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(CatchPanicLayer::custom(observe::panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
