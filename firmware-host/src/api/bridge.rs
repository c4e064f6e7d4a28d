//! The video-conference bridge (`/bridge/jitsi`, `web/bridge.js`): what it needs from
//! podiumd and how it reports back. The page runs in the room's conference PC browser as
//! the Jitsi moderator; it talks to podiumd only through the API and the event stream:
//! `GET /api/v1/bridge/setup` once (the conference and who is who), the event stream for
//! the floor (from which it derives what the conference must do by the rule of the MQTT
//! `conference` topic), `POST /api/v1/commands` for presence and hands, and
//! `PUT /api/v1/bridge/report` for its own state, which the technician console shows
//! (`GET /api/v1/bridges`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::body::JsonBody;
use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::conference::{BridgeReport, BridgeSetup};

/// `GET /api/v1/bridge/setup`.
#[utoipa::path(get, path = "/api/v1/bridge/setup", tag = "conference",
    responses((status = 200, description = "The conference and the members", body = BridgeSetup)))]
pub async fn get_setup(State(app): State<AppState>) -> Json<BridgeSetup> {
    Json(app.bridge.setup().clone())
}

/// `PUT /api/v1/bridge/report`: the bridge page's state, for the technician console.
#[utoipa::path(put, path = "/api/v1/bridge/report", tag = "conference",
    request_body = BridgeReport,
    responses(
        (status = 204, description = "Taken"),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "A value out of range (`invalid_value`)", body = ErrorBody),
    ))]
pub async fn put_report(
    State(app): State<AppState>,
    JsonBody(report): JsonBody<BridgeReport>,
) -> Result<StatusCode, ApiError> {
    report.check().map_err(|(field, why)| ApiError::invalid_value(field, why))?;
    app.bridge.take_report(report);
    Ok(StatusCode::NO_CONTENT)
}

/// The bridge as the technician console shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BridgeStatus {
    /// Whether the room has a Jitsi conference configured.
    pub configured: bool,
    /// The conference's address.
    pub url: Option<String>,
    /// The last report; none: no bridge page has reported since podiumd started.
    pub report: Option<BridgeReport>,
    /// When it arrived (Unix milliseconds).
    pub received_at: Option<i64>,
    /// No report for 30 s: the page is closed, or cannot reach podiumd.
    pub stale: bool,
}

/// `GET /api/v1/bridges`: the video-conference bridge's last report.
#[utoipa::path(get, path = "/api/v1/bridges", tag = "conference",
    responses((status = 200, description = "The bridge's state", body = BridgeStatus)))]
pub async fn get_bridges(State(app): State<AppState>) -> Json<BridgeStatus> {
    let last = app.bridge.last_report();
    let jitsi = app.bridge.setup().jitsi.as_ref();
    Json(BridgeStatus {
        configured: jitsi.is_some(),
        url: jitsi.map(|j| j.url.clone()),
        stale: last.as_ref().is_none_or(|(_, _, stale)| *stale),
        received_at: last.as_ref().map(|(_, at, _)| *at),
        report: last.map(|(report, ..)| report),
    })
}

/// `GET /bridge/jitsi`: the bridge page. Its policy lets it load the conference server's
/// IFrame API script and frame the conference, and nothing else from elsewhere.
pub async fn bridge_page(State(app): State<AppState>) -> Response {
    let (frame, script) = app.bridge.conference_origins().unwrap_or_default();
    let csp = format!(
        "default-src 'none'; script-src 'self' {script}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; frame-src {frame}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    let mut response = super::pages::bridge_html();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response.into_response()
}
