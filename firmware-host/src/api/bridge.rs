//! The video-conference bridge (`/bridge/jitsi`, `web/bridge.js`): what it needs from
//! podiumd and how it reports back. The page runs in the room's conference PC browser as
//! the Jitsi moderator; it talks to podiumd only through the API and the event stream:
//! `GET /api/v1/bridge/setup` once (the conference and who is who), the event stream for
//! the floor (from which it derives what the conference must do by the rule of the MQTT
//! `conference` topic), `POST /api/v1/commands` for presence and hands, and
//! `PUT /api/v1/bridge/report` for its own state, which the technician console shows
//! (`GET /api/v1/bridges`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use podium_floor::setup::ParticipantId;
use serde::{Deserialize, Serialize};

use super::body::JsonBody;
use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::config::JitsiConfig;

/// A report older than this is shown as stale: the page reports at least every 10 s.
pub const REPORT_STALE_AFTER: Duration = Duration::from_secs(30);
/// Most participants a report may list (a council's conference is far smaller).
const MAX_REPORTED: usize = 1_000;
/// Longest text in a report (a display name, an action).
const MAX_TEXT: usize = 200;

/// The bridge's fixed part (from the room file) and its last report.
#[derive(Debug, Default)]
pub struct Bridge {
    setup: BridgeSetup,
    last: Mutex<Option<Received>>,
}

#[derive(Debug, Clone)]
struct Received {
    report: BridgeReport,
    unix_ms: i64,
    at: Instant,
}

impl Bridge {
    /// The bridge of a room with this conference and these members.
    pub fn new(setup: BridgeSetup) -> Self {
        Bridge { setup, last: Mutex::new(None) }
    }

    /// The conference's origin (`https://server[:port]`), for the bridge page's CSP.
    pub fn conference_origins(&self) -> Option<(String, String)> {
        let jitsi = self.setup.jitsi.as_ref()?;
        let origin = |url: &str| -> Option<String> {
            let (scheme, rest) = url.split_once("://")?;
            Some(format!("{scheme}://{}", rest.split('/').next()?))
        };
        let scheme = if jitsi.no_ssl { "http" } else { "https" };
        let conference = origin(&format!("{scheme}://{}", jitsi.domain))?;
        Some((conference, origin(&jitsi.external_api)?))
    }
}

/// What the bridge page needs to start: the conference, and who is who.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BridgeSetup {
    /// `[jitsi]`; none: the room has no Jitsi conference configured.
    pub jitsi: Option<JitsiConfig>,
    /// Every member, with the name they are known by in the conference.
    pub members: Vec<BridgeMember>,
}

/// One member as the bridge maps conference participants to members.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BridgeMember {
    /// Participant id.
    pub id: ParticipantId,
    /// The member's name.
    pub name: String,
    /// The name in the conference (`[[member]] conference_name`, or the name).
    pub conference_name: String,
    /// Whether the member may attend remotely.
    pub remote_allowed: bool,
}

/// `GET /api/v1/bridge/setup`.
#[utoipa::path(get, path = "/api/v1/bridge/setup", tag = "conference",
    responses((status = 200, description = "The conference and the members", body = BridgeSetup)))]
pub async fn get_setup(State(app): State<AppState>) -> Json<BridgeSetup> {
    Json(app.bridge.setup.clone())
}

/// The bridge's own account of itself.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BridgeReport {
    /// Whether the page is in the conference: `joining`, `joined` or `left`.
    pub conference: ConferenceState,
    /// Whether its event stream from podiumd is open.
    pub podium: bool,
    /// Everyone in the conference but the room itself.
    #[schema(max_items = 1000)]
    pub participants: Vec<ReportedParticipant>,
    /// The last thing the bridge did (e.g. `askToUnmute Anna Roth`).
    #[schema(max_length = 200)]
    pub last_action: Option<String>,
    /// When it did it (Unix milliseconds, the page's clock).
    #[schema(minimum = 0)]
    pub last_action_at: Option<u64>,
    /// Commands to the conference and to podiumd since the page loaded.
    #[schema(minimum = 0)]
    pub actions: u64,
    /// Of those, the ones that failed.
    #[schema(minimum = 0)]
    pub failures: u64,
}

/// The bridge page's place in the conference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConferenceState {
    /// Loading the IFrame API or joining.
    Joining,
    /// In the conference as its moderator.
    Joined,
    /// Out of it (reconnecting).
    Left,
}

/// One participant of the conference as the bridge sees them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportedParticipant {
    /// The display name in the conference.
    #[schema(max_length = 200)]
    pub name: String,
    /// The member it maps to; none: not known to Podium.
    #[schema(max_length = 200)]
    pub member: Option<ParticipantId>,
    /// When their hand went up (Unix ms, the conference's clock); none: not raised.
    #[schema(minimum = 0)]
    pub hand_raised_at: Option<u64>,
}

impl BridgeReport {
    fn check(&self) -> Result<(), ApiError> {
        let text_ok = |s: &str| s.chars().count() <= MAX_TEXT && !s.chars().any(char::is_control);
        if self.participants.len() > MAX_REPORTED {
            return Err(ApiError::invalid_value("participants", "at most 1,000 participants"));
        }
        if self
            .participants
            .iter()
            .any(|p| !text_ok(&p.name) || p.member.as_deref().is_some_and(|m| !text_ok(m)))
        {
            return Err(ApiError::invalid_value(
                "participants",
                "names: at most 200 characters, no control characters",
            ));
        }
        if self.last_action.as_deref().is_some_and(|a| !text_ok(a)) {
            return Err(ApiError::invalid_value(
                "last_action",
                "at most 200 characters, no control characters",
            ));
        }
        Ok(())
    }
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
    report.check()?;
    let received = Received { report, unix_ms: crate::clock::unix_ms(), at: Instant::now() };
    *app.bridge.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(received);
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
    let last = app.bridge.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let jitsi = app.bridge.setup.jitsi.as_ref();
    Json(BridgeStatus {
        configured: jitsi.is_some(),
        url: jitsi.map(|j| j.url.clone()),
        stale: last.as_ref().is_none_or(|l| l.at.elapsed() > REPORT_STALE_AFTER),
        received_at: last.as_ref().map(|l| l.unix_ms),
        report: last.map(|l| l.report),
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

/// The bridge's setup from the room file.
pub fn setup_from(config: &crate::config::RoomConfig) -> Arc<Bridge> {
    let members = config
        .setup
        .participants
        .iter()
        .map(|p| BridgeMember {
            id: p.id.clone(),
            name: p.name.clone(),
            conference_name: config.conference_names.get(&p.id).cloned().unwrap_or_else(|| p.name.clone()),
            remote_allowed: p.remote_allowed,
        })
        .collect();
    Arc::new(Bridge::new(BridgeSetup { jitsi: config.jitsi.clone(), members }))
}
