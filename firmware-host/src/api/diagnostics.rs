//! What the technician needs to see: the journal's health and what the last start
//! recovered, the open meeting, and commands counted (and rate-limited) per source.
//! Also the source of an API command (its principal, or its client's address) for the
//! rate limits.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::access::{LOOPBACK_USER, Principal, peer_ip};
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

/// The source of an API request, for the rate limits and the journal: the authenticated
/// principal where there is one (`api:user:chair`, `api:member:vogt`), so one member's
/// flood never empties the chair's bucket even when both come through the same reverse
/// proxy; the client's address for anonymous and loopback-trusted callers
/// (`api:127.0.0.1`), which share one bucket per address.
#[derive(Debug, Clone)]
pub struct ApiSource(pub Source);

impl ApiSource {
    /// The source for a caller at an address.
    pub fn of(principal: &Principal, address: IpAddr) -> ApiSource {
        ApiSource(Source::Api(match principal {
            Principal::User { name, .. } if name != LOOPBACK_USER => format!("user:{name}"),
            Principal::Member { participant } => format!("member:{participant}"),
            _ => address.to_string(),
        }))
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ApiSource {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, ApiError> {
        let principal = parts.extensions.get::<Principal>().cloned().unwrap_or(Principal::Anonymous);
        Ok(ApiSource::of(&principal, peer_ip(&parts.extensions)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UserRole;

    #[test]
    fn sources_are_principals_and_addresses_only_for_anonymous_and_loopback() {
        let address: IpAddr = "192.0.2.7".parse().expect("ip");
        let source = |p: Principal| ApiSource::of(&p, address).0.to_string();
        assert_eq!(
            source(Principal::User { name: "vorsitz".into(), role: UserRole::Chair }),
            "api:user:vorsitz"
        );
        assert_eq!(source(Principal::Member { participant: "vogt".into() }), "api:member:vogt");
        assert_eq!(source(Principal::Anonymous), "api:192.0.2.7");
        assert_eq!(
            source(Principal::User { name: LOOPBACK_USER.into(), role: UserRole::Chair }),
            "api:192.0.2.7"
        );
    }
}
