//! The one mapping from an [`AppError`] to an HTTP answer: `{"error": {"code", "message"}}` with
//! the status its kind calls for. Internal details were logged where they happened; the client
//! gets only the code and a safe message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use vaora_app::{AppError, ErrorKind};

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `invalid_phone`.
    pub code: String,
    /// A sentence for people, in English.
    pub message: String,
    /// Structured details, e.g. `{"field": "phone"}` or the rows of an import.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// The HTTP status for an error kind.
pub fn status_of(kind: ErrorKind, code: &str) -> StatusCode {
    match kind {
        ErrorKind::Invalid => match code {
            "malformed_json" | "malformed_request" => StatusCode::BAD_REQUEST,
            "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
            "unsupported_media_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        },
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooMany => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => match code {
            "identity_check_unavailable" | "database_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        },
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = status_of(e.kind, e.code);
        let body = ErrorBody { error: ErrorDetail { code: e.code.to_owned(), message: e.message, details: e.details } };
        let mut res = (status, Json(body)).into_response();
        res.extensions_mut().insert(ErrorCode(e.code));
        res
    }
}

/// The error code of an answer, for the metrics layer.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
