//! vaora's own extractors: who is asking ([`CurrentActor`], [`MaybeActor`]), request facts for the
//! audit log ([`ClientMeta`]) and JSON bodies whose rejections use the API's error format
//! ([`ApiJson`]). Handlers use these rather than axum's, so that every failure has a stable code.

use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum_extra::extract::CookieJar;
use serde::de::DeserializeOwned;
use vaora_app::auth::RequestMeta;
use vaora_app::{Actor, AppError};

use crate::AppState;
use crate::error::ApiError;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "vaora_session";

/// The client's address and user agent.
#[derive(Debug, Clone)]
pub struct ClientMeta(pub RequestMeta);

fn meta_of(parts: &Parts, state: &AppState) -> RequestMeta {
    let forwarded = state
        .web
        .trust_forwarded_for
        .then(|| parts.headers.get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_owned());
    let ip = forwarded
        .or_else(|| parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string()));
    let user_agent =
        parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").chars().take(200).collect();
    RequestMeta { ip, user_agent }
}

impl FromRequestParts<AppState> for ClientMeta {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(meta_of(parts, state)))
    }
}

/// Where the credentials came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer …`.
    Bearer,
    /// The session cookie.
    Cookie,
}

/// The session token of a request, if any.
pub fn token_of(headers: &HeaderMap) -> Option<(String, TokenSource)> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some((t.trim().to_owned(), TokenSource::Bearer));
    }
    let jar = CookieJar::from_headers(headers);
    jar.get(SESSION_COOKIE).map(|c| (c.value().to_owned(), TokenSource::Cookie))
}

/// Whether a cookie-authenticated request that changes something comes from vaora's own pages.
/// SameSite cookies already stop most cross-site requests; this checks `Sec-Fetch-Site` or
/// `Origin` as well, the maintained defence against cross-site request forgery.
pub fn same_origin(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => origin.split("://").nth(1).is_some_and(|o| o == host),
        // Neither header: not a browser (browsers send Origin on every POST), so no CSRF risk.
        (None, _) => true,
        (Some(_), None) => false,
    }
}

async fn actor_of(parts: &Parts, state: &AppState) -> Result<Option<Actor>, ApiError> {
    let Some((token, source)) = token_of(&parts.headers) else {
        return Ok(None);
    };
    if source == TokenSource::Cookie && !same_origin(&parts.method, &parts.headers) {
        return Err(AppError::new(
            vaora_app::ErrorKind::Forbidden,
            "cross_site_request",
            "requests from other sites are refused",
        )
        .into());
    }
    match state.app.authenticate(&token, meta_of(parts, state)).await {
        Ok(a) => Ok(Some(a)),
        Err(e) if e.code == "unauthenticated" => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The signed-in person; answers `401 unauthenticated` otherwise.
#[derive(Debug, Clone)]
pub struct CurrentActor(pub Actor);

impl FromRequestParts<AppState> for CurrentActor {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        actor_of(parts, state).await?.map(Self).ok_or_else(|| AppError::unauthenticated().into())
    }
}

/// The signed-in person, if any.
#[derive(Debug, Clone)]
pub struct MaybeActor(pub Option<Actor>);

impl FromRequestParts<AppState> for MaybeActor {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(actor_of(parts, state).await?))
    }
}

/// A JSON body; malformed JSON, unknown fields, a wrong content type or an oversized body are
/// answered in the API's error format with their own codes.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection).into()),
        }
    }
}

fn json_rejection(r: JsonRejection) -> AppError {
    match r {
        JsonRejection::JsonDataError(e) => AppError::invalid("invalid_request", clean(&e.body_text())),
        JsonRejection::JsonSyntaxError(_) => AppError::invalid("malformed_json", "the body is not valid JSON"),
        JsonRejection::MissingJsonContentType(_) => {
            AppError::invalid("unsupported_media_type", "send the body as application/json")
        }
        JsonRejection::BytesRejection(_) => AppError::invalid("payload_too_large", "the body is too large"),
        _ => AppError::invalid("malformed_request", "the request body cannot be read"),
    }
}

/// serde's message without axum's prefix, e.g. `unknown field `x`, expected one of …`.
fn clean(text: &str) -> String {
    text.split_once(": ").map(|(_, rest)| rest.to_owned()).unwrap_or_else(|| text.to_owned())
}

/// Query parameters; a malformed query answers `422 invalid_query` in the API's format.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(AppError::invalid("invalid_query", clean(&e.body_text())).into()),
        }
    }
}

/// Path parameters; a malformed id answers `404 not_found` (there is no such record).
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(_) => Err(AppError::not_found("not_found", "no such record").into()),
        }
    }
}
