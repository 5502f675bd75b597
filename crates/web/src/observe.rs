//! Health and metrics: `/healthz` answers 200 only when the database answers; `/metrics` serves
//! Prometheus text (requests, latencies, errors, the database pool).

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

/// The process-wide Prometheus recorder (a process has one metrics recorder).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let recorder = builder
            .set_buckets(&[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        // Another recorder may be installed already (in tests); the handle still renders ours.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics_text))
}

async fn healthz(State(state): State<AppState>) -> Response {
    if state.app.database_ready().await {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    let pool = state.app.pool_stats();
    metrics::gauge!("vaora_db_pool_connections").set(f64::from(pool.size));
    metrics::gauge!("vaora_db_pool_idle_connections").set(f64::from(pool.idle));
    let body = prometheus().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Counts requests, times them and counts errors by code, labelled by route (not by raw path, so
/// that ids do not explode the number of series).
pub(crate) async fn track(State(_): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".to_owned());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let elapsed = start.elapsed().as_secs_f64();
    metrics::counter!("vaora_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("vaora_http_request_duration_seconds", "method" => method, "route" => route.clone())
        .record(elapsed);
    if let Some(ErrorCode(code)) = res.extensions().get::<ErrorCode>() {
        metrics::counter!("vaora_http_errors_total", "route" => route, "code" => *code).increment(1);
    }
    res
}

/// A panic in a handler becomes a plain 500 in the API's format, never a dropped connection.
pub(crate) fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked");
    ApiError(vaora_app::AppError::new(vaora_app::ErrorKind::Internal, "internal", "something went wrong on our side"))
        .into_response()
}
