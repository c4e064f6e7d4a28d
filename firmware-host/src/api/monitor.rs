//! The live protocol monitor for the technician console: every frame the device drivers
//! send and receive, hex and decoded, as Server-Sent Events.
//!
//! Nothing is kept: the stream starts with the next frame. Drivers only format frames while
//! a stream is open (see `podium_devices::monitor`).

use std::convert::Infallible;

use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, Sse};
use futures_util::Stream;
use podium_devices::monitor::FrameRecord;
use serde::Deserialize;

use super::error::ApiError;
use super::sse;
use super::state::AppState;

/// Query parameters of the protocol monitor.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonitorQuery {
    /// Only frames of this device or bus (its configured id or name).
    pub device: Option<String>,
}

/// Frames in and out of every device driver, live, as Server-Sent Events (`event: frame`,
/// data: `{device, direction: "in"|"out", hex, decoded, at_unix_ms}`). Technicians only.
#[utoipa::path(get, path = "/api/v1/monitor", tag = "system",
    params(MonitorQuery),
    responses(
        (status = 200, description = "`event: frame` (data: a frame record: device, direction `in` or `out`, hex, decoded, at_unix_ms)", content_type = "text/event-stream", body = String),
        (status = 400, description = "Bad query", body = super::error::ErrorBody),
        (status = 401, description = "Login required", body = super::error::ErrorBody),
        (status = 403, description = "Technicians only", body = super::error::ErrorBody),
    ))]
pub async fn get_monitor(
    State(app): State<AppState>,
    query: Result<Query<MonitorQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let device = query.device.filter(|d| !d.is_empty());
    let live = app.monitor.subscribe();
    Ok(sse::forward(Vec::new(), live, app.cancel.clone(), move |frame: &FrameRecord| {
        device.as_ref().is_none_or(|d| *d == frame.device).then(|| frame_event(frame))
    }))
}

fn frame_event(frame: &FrameRecord) -> SseEvent {
    SseEvent::default().event("frame").data(serde_json::to_string(frame).unwrap_or_else(|_| "{}".into()))
}
