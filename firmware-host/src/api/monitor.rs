//! The live protocol monitor for the technician console: every frame the device drivers
//! send and receive, hex and decoded, as Server-Sent Events.
//!
//! Nothing is kept: the stream starts with the next frame. Drivers only format frames while
//! a stream is open (see `podium_devices::monitor`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Extension, Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use podium_devices::monitor::{FrameMonitor, FrameRecord};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;
use super::error::ApiError;

/// Query parameters of the protocol monitor.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MonitorQuery {
    /// Only frames of this device or bus (its configured id or name).
    pub device: Option<String>,
}

/// Frames buffered per client; a slow client skips frames instead of holding up others.
const CLIENT_BUFFER: usize = 256;

/// Frames in and out of every device driver, live, as Server-Sent Events (`event: frame`,
/// data: `{device, direction: "in"|"out", hex, decoded, at_unix_ms}`). Technicians only.
#[utoipa::path(get, path = "/api/v1/monitor", tag = "system",
    params(MonitorQuery),
    responses(
        (status = 200, description = "`event: frame` (data: a frame record: device, direction `in` or `out`, hex, decoded, at_unix_ms)", content_type = "text/event-stream", body = String),
        (status = 400, description = "Bad query", body = crate::api::error::ErrorBody),
        (status = 401, description = "Login required", body = crate::api::error::ErrorBody),
        (status = 403, description = "Technicians only", body = crate::api::error::ErrorBody),
    ))]
pub async fn get_monitor(
    State(app): State<AppState>,
    monitor: Option<Extension<FrameMonitor>>,
    query: Result<Query<MonitorQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let device = query.device.filter(|d| !d.is_empty());
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    // Without drivers (a router built without the daemon's wiring) the stream ends at once.
    if let Some(Extension(monitor)) = monitor {
        let mut frames = monitor.subscribe();
        let cancel = app.cancel.clone();
        app.tracker.spawn(async move {
            let forward = async {
                loop {
                    match frames.recv().await {
                        Ok(frame) if device.as_ref().is_some_and(|d| *d != frame.device) => {}
                        Ok(frame) => {
                            if tx.send(Ok(frame_event(&frame))).await.is_err() {
                                return;
                            }
                        }
                        // A burst of frames: skip to the newest rather than fall behind.
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            };
            // Ends on shutdown, or axum's graceful shutdown would wait for this stream.
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = forward => {}
            }
        });
    }
    Ok(Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn frame_event(frame: &FrameRecord) -> SseEvent {
    SseEvent::default().event("frame").data(serde_json::to_string(frame).unwrap_or_else(|_| "{}".into()))
}
