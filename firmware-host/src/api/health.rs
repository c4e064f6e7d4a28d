//! Liveness, the API description, the MQTT link and `/metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::state::AppState;

/// Daemon health.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` while the session owner runs; `degraded` while the journal cannot record
    /// (the room works, see `journal` and `/api/v1/diagnostics`).
    pub status: String,
    /// Daemon version.
    pub version: String,
    /// Room id from the configuration.
    pub room: String,
    /// Sequence number of the last event.
    pub seq: u64,
    /// Seconds since start.
    pub uptime_s: u64,
    /// The journal: `ok`, `degraded` (writes fail: applied in memory only), `unavailable`
    /// (could not be opened) or `disabled`.
    pub journal: crate::journal::JournalState,
}

/// Is the daemon up? For load balancers, systemd checks and monitoring.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "The daemon runs", body = Health)))]
pub async fn get_healthz(State(app): State<AppState>) -> Json<Health> {
    let journal = app.session.journal().status().state;
    let degraded =
        matches!(journal, crate::journal::JournalState::Degraded | crate::journal::JournalState::Unavailable);
    Json(Health {
        status: if degraded { "degraded" } else { "ok" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        room: app.room_id.to_string(),
        seq: app.session.snapshot().floor.seq,
        uptime_s: app.started.elapsed().as_secs(),
        journal,
    })
}

/// This API's OpenAPI 3.1 description, generated from the code.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system",
    responses((status = 200, description = "OpenAPI description", content_type = "application/json", body = Object)))]
pub async fn get_openapi(State(app): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json((*app.openapi).clone())
}

/// The MQTT link: broker, connection, counters of remote messages and dropped publishes.
#[utoipa::path(get, path = "/api/v1/mqtt", tag = "system",
    responses(
        (status = 200, description = "Link status", body = crate::mqtt::link::LinkStatus),
        (status = 404, description = "MQTT is not configured", body = super::error::ErrorBody),
    ))]
pub async fn get_mqtt(
    State(app): State<AppState>,
) -> Result<Json<crate::mqtt::link::LinkStatus>, super::error::ApiError> {
    app.mqtt.as_ref().map(|link| Json(link.status())).ok_or_else(|| {
        super::error::ApiError::not_found(
            "MQTT is off: not configured for this room, or it could not start (the log says why)",
        )
    })
}

/// Counters in the Prometheus text format (version 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "Login required (unless `[web] metrics_public`)", body = super::error::ErrorBody),
    ))]
pub async fn get_metrics(State(app): State<AppState>) -> impl IntoResponse {
    let seq = app.session.snapshot().floor.seq;
    let body = app.web.metrics.render(seq, app.web.sessions.live(), &app.room_id);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}
