//! API errors: always JSON `{ "error": code, "message": text }` with a fitting status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use podium_floor::Rejection;
use serde::{Deserialize, Serialize};

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `invalid_json`, `list_closed`, `unknown_seat`.
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field the error is about (422 `invalid_value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error the API answers with.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, body: ErrorBody { error: code.to_string(), message: message.into(), field: None } }
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422 `invalid_value`: a well-formed value outside the range the room file allows.
    pub fn invalid_value(field: &str, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message);
        error.body.field = Some(field.to_owned());
        error
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 503: the session is shutting down.
    pub fn unavailable() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the session is shutting down")
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// A rejection by the floor rules: 404 when the target does not exist, else 409,
/// always with the engine's reason code.
impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        let status =
            if rejection.reason.is_unknown_target() { StatusCode::NOT_FOUND } else { StatusCode::CONFLICT };
        ApiError::new(status, rejection.reason.code(), rejection.message)
    }
}

impl From<crate::session::SessionClosed> for ApiError {
    fn from(_: crate::session::SessionClosed) -> Self {
        ApiError::unavailable()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
