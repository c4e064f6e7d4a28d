//! A JSON body extractor whose every failure is a JSON error (axum's own answers in plain text).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest request body accepted, in bytes. Commands are small.
pub const MAX_BODY: usize = 64 * 1024;

/// How long a request's body may take to arrive once its headers have (`[http]
/// header_timeout_s`; the server puts it in each request's extensions). A client that
/// trickles its body gets 408 `body_timeout` instead of holding the connection.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub std::time::Duration);

/// Without the server's setting (tests that call the router directly).
const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Extracts and parses a JSON body, reporting the line, column and reason of a parse error.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, MAX_BODY).await.map(JsonBody)
    }
}

/// Largest agenda accepted, in bytes: 1,000 items with long titles and paper references.
pub const MAX_AGENDA_BODY: usize = 2 * 1024 * 1024;

/// [`JsonBody`] for the routes that take a whole agenda ([`MAX_AGENDA_BODY`]).
pub struct AgendaBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AgendaBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, MAX_AGENDA_BODY).await.map(AgendaBody)
    }
}

async fn read_json<T: DeserializeOwned>(req: Request, limit: usize) -> Result<T, ApiError> {
    let timeout = req.extensions().get::<BodyTimeout>().map_or(DEFAULT_BODY_TIMEOUT, |t| t.0);
    let read =
        tokio::time::timeout(timeout, axum::body::to_bytes(req.into_body(), limit)).await.map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!("the body did not arrive within {} s", timeout.as_secs()),
            )
        })?;
    let bytes: Bytes = read.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than {limit} bytes"),
            )
        } else {
            ApiError::bad_request("unreadable_body", e.to_string())
        }
    })?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request("empty_body", "a JSON body is required"));
    }
    let mut value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))?;
    integral_numbers_as_integers(&mut value);
    if !value.is_object() {
        // serde would read a struct from an array of its fields' values.
        return Err(ApiError::bad_request("invalid_command", "the body must be a JSON object"));
    }
    if let Some(tag) = numeric_tag(&value) {
        return Err(ApiError::bad_request("invalid_command", format!("`{tag}` must be a string")));
    }
    if let Some(key) = object_as_array(&value) {
        return Err(ApiError::bad_request("invalid_command", format!("`{key}` must be an object")));
    }
    T::deserialize(value).map_err(|e| ApiError::bad_request("invalid_command", e.to_string()))
}

/// Members that hold a structure (or a list of them): serde would also read a structure
/// from an array of its fields' values, which no client means.
fn object_as_array(value: &serde_json::Value) -> Option<&'static str> {
    const OBJECTS: [&str; 6] = ["paper", "speaking_time", "budget", "shares", "limits", "spec"];
    const LISTS_OF_OBJECTS: [&str; 2] = ["items", "agenda"];
    match value {
        serde_json::Value::Object(fields) => {
            for key in OBJECTS {
                if fields.get(key).is_some_and(serde_json::Value::is_array) {
                    return Some(key);
                }
            }
            for key in LISTS_OF_OBJECTS {
                if let Some(serde_json::Value::Array(list)) = fields.get(key)
                    && list.iter().any(|item| !item.is_object())
                {
                    return Some(key);
                }
            }
            fields.values().find_map(object_as_array)
        }
        serde_json::Value::Array(items) => items.iter().find_map(object_as_array),
        _ => None,
    }
}

/// The members that name a variant of an internally tagged enum (`command`, `action`, a
/// budget's `kind`) must be strings; serde would take a number for the variant's index.
fn numeric_tag(value: &serde_json::Value) -> Option<&'static str> {
    const TAGS: [&str; 3] = ["command", "action", "kind"];
    match value {
        serde_json::Value::Object(fields) => {
            for tag in TAGS {
                if fields.get(tag).is_some_and(|v| !v.is_string()) {
                    return Some(tag);
                }
            }
            fields.values().find_map(numeric_tag)
        }
        serde_json::Value::Array(items) => items.iter().find_map(numeric_tag),
        _ => None,
    }
}

/// JSON has one number type: `12.0` is the integer 12 (JSON Schema says so too), but serde
/// refuses it for an integer field. Whole numbers written with a fraction or exponent
/// become integers before the body is read.
fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.007_199_254_740_992e15
            {
                // Exactly representable (below 2^53), so the cast loses nothing.
                *value = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_with_a_fraction_read_as_integers() {
        let mut value = serde_json::json!({"seat": 12.0, "n": [1e3, 2.5, -4.0], "s": "7.0"});
        integral_numbers_as_integers(&mut value);
        assert_eq!(value, serde_json::json!({"seat": 12, "n": [1000, 2.5, -4], "s": "7.0"}));
        assert_eq!(serde_json::from_value::<u16>(value["seat"].clone()).ok(), Some(12));
    }
}
