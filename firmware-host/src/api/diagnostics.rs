//! What the technician needs to see: the journal's health and what the last start
//! recovered, the open meeting, and commands counted (and rate-limited) per source.
//! Also the source of an API command (its client's address) for the rate limits.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::journal::{JournalStatus, MeetingInfo};
use crate::session::{CommandError, Source, SourceStats};

/// The daemon's diagnostics.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Diagnostics {
    /// The journal: state, errors, unwritten events, recovery report, retention.
    pub journal: JournalStatus,
    /// The open meeting, if any.
    pub meeting: Option<MeetingInfo>,
    /// Commands per source, busiest first, with what the rate limit dropped.
    pub sources: Vec<SourceStats>,
}

/// Journal health, the last recovery, the open meeting and commands per source.
#[utoipa::path(get, path = "/api/v1/diagnostics", tag = "system",
    responses(
        (status = 200, description = "Diagnostics", body = Diagnostics),
        (status = 503, description = "Shutting down", body = ErrorBody),
    ))]
pub async fn get_diagnostics(State(app): State<AppState>) -> Result<Json<Diagnostics>, ApiError> {
    let meeting = app.session.current_meeting().await?;
    Ok(Json(Diagnostics {
        journal: app.session.journal().status(),
        meeting,
        sources: app.session.source_stats(),
    }))
}

/// The source of an API request: its client's address (`api:127.0.0.1`). Behind a reverse
/// proxy every client shares the proxy's address and so one rate limit.
#[derive(Debug, Clone)]
pub struct ApiSource(pub Source);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ApiSource {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, ApiError> {
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |ConnectInfo(addr)| addr.ip().to_string());
        Ok(ApiSource(Source::Api(client)))
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Closed => ApiError::unavailable(),
            CommandError::RateLimited { .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", e.to_string())
            }
        }
    }
}
