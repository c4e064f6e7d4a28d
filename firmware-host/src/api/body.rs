//! A JSON body extractor whose every failure is a JSON error (axum's own answers in plain text).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest request body accepted, in bytes. Commands are small.
pub const MAX_BODY: usize = 64 * 1024;

/// Extracts and parses a JSON body, reporting the line, column and reason of a parse error.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("the body is larger than {MAX_BODY} bytes"),
                )
            } else {
                ApiError::bad_request("unreadable_body", rejection.body_text())
            }
        })?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request("empty_body", "a JSON body is required"));
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            let code = if e.is_syntax() || e.is_eof() { "invalid_json" } else { "invalid_command" };
            ApiError::bad_request(code, e.to_string())
        })
    }
}
