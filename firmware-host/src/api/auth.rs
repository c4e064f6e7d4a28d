//! Login, logout, "who am I" and the server clock.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use std::sync::Arc;
use std::time::Instant;

use super::access::guard::session_cookie;
use super::access::throttle::{LoginOutcome, LoginTicket, RetryAfter};
use super::access::{PeerAddress, Principal, Role};
use super::state::AppState;
use super::web::Web;
use crate::api::body::JsonBody;
use crate::api::error::{ApiError, ErrorBody};

/// A login attempt.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The `[[user]]` name.
    pub user: String,
    /// The password.
    pub password: String,
    /// Where the visitor wanted to go (the login page's `next`); the answer's `next` says
    /// where to go: this path if it is on this site, else the console of the role.
    #[serde(default)]
    pub next: Option<String>,
}

/// Who the caller is.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Whoami {
    /// `chair`, `technician`, `member`, `viewer`, `bridge`; absent when not logged in.
    pub role: Option<String>,
    /// Login name, for users.
    pub user: Option<String>,
    /// Participant id, for a remote member.
    pub participant: Option<String>,
    /// The room's name.
    pub room_name: String,
    /// Whether `/display` is open without login.
    pub display_public: bool,
    /// Whether `/overlay` is open without login.
    pub overlay_public: bool,
    /// After a login only: the page to open next (a same-site path; see `Login::next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// For a remote member where the room has a Jitsi conference (`[jitsi]`): its address,
    /// opening with the name the bridge knows the member by (`conference_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_url: Option<String>,
}

/// The daemon's clocks now: what a console needs to compute running speaking times
/// (speakers carry `started_at` in the same monotonic milliseconds).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Clock {
    /// The session's monotonic clock, milliseconds (as in `started_at.mono_ms`).
    pub mono_ms: u64,
    /// Wall-clock time, Unix milliseconds.
    pub unix_ms: i64,
}

/// Logs in with a `[[user]]` name and password. Sets the HttpOnly session cookie.
/// Wrong name or password: 401 `invalid_credentials` (the same answer for both).
/// After 10 wrong passwords from one address (or 20 for one user name from addresses that
/// never logged in as that user) further attempts are refused for 30 s, doubling with every
/// further failure up to 15 min; a second attempt while one from the same address is still
/// being checked is refused too: 429 `too_many_attempts` with `Retry-After` (seconds).
/// Refused attempts never reach the password check.
#[utoipa::path(post, path = "/api/v1/login", tag = "access",
    request_body = Login,
    responses(
        (status = 200, description = "Logged in; `Set-Cookie: podium_session=...` (`__Host-podium_session` with `cookie_secure`)", body = Whoami),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 429, description = "Too many failed attempts from this address or for this user, or an attempt of this address is still being checked: `too_many_attempts`; try again after `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the next attempt is accepted"))),
        (status = 503, description = "Shutting down, or no session can be started (`sessions_full`)", body = ErrorBody),
    ))]
pub async fn post_login(
    State(app): State<AppState>,
    PeerAddress(address): PeerAddress,
    JsonBody(login): JsonBody<Login>,
) -> Result<Response, ApiError> {
    let web = app.web.clone();
    // The throttle answers before the password check takes one of the argon2 slots, so a
    // flood from one address never queues in front of another address's login.
    let ticket = match web.login_throttle().begin(Instant::now(), address, &login.user) {
        Ok(ticket) => ticket,
        Err(retry) => {
            tracing::debug!(user = ?shown(&login.user), %address, "login refused: too many attempts");
            return Ok(too_many_attempts(retry));
        }
    };
    let mut attempt = Attempt { web: web.clone(), ticket: Some(ticket), user_exists: false };
    // Argon2 is deliberately slow; at most two checks run at once, off the async threads.
    let _slot = web.login_slots.acquire().await.map_err(|_| ApiError::unavailable())?;
    let user = web.config.users.iter().find(|u| u.name == login.user).cloned();
    attempt.user_exists = user.is_some();
    let password = login.password;
    let checked = tokio::task::spawn_blocking(move || match &user {
        Some(u) if super::access::secret::verify_password(&u.password_hash, &password) => user,
        Some(_) => None,
        None => {
            super::access::secret::verify_against_nothing(&password);
            None
        }
    })
    .await
    .map_err(|_| ApiError::unavailable())?;
    let Some(user) = checked else {
        attempt.finish(LoginOutcome::Failure);
        web.metrics.login(false);
        let failures = web.login_throttle().failures_of(address);
        tracing::warn!(user = ?shown(&login.user), %address, failures, "login failed");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong user name or password",
        ));
    };
    attempt.finish(LoginOutcome::Success);
    web.metrics.login(true);
    tracing::info!(user = %user.name, role = user.role.name(), %address, "login");
    let principal = Principal::User { name: user.name.clone(), role: user.role };
    let cookie = web.start_session(principal.clone(), &user.password_hash).await?;
    let mut answer = whoami(&app, &principal);
    answer.next = Some(super::pages::login_target(login.next.as_deref(), principal.role()));
    let mut response = Json(answer).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// 429 `too_many_attempts` with `Retry-After` (whole seconds).
pub fn too_many_attempts(retry: RetryAfter) -> Response {
    let seconds = retry.seconds();
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        format!("too many attempts; try again in {seconds} s"),
    )
    .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// A login attempt the throttle let through: finished exactly once, also when the client
/// goes away while waiting for a slot (then it counts neither way).
struct Attempt {
    web: Arc<Web>,
    ticket: Option<LoginTicket>,
    user_exists: bool,
}

impl Attempt {
    fn finish(&mut self, outcome: LoginOutcome) {
        if let Some(ticket) = self.ticket.take() {
            self.web.login_throttle().finish(Instant::now(), ticket, outcome, self.user_exists);
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.finish(LoginOutcome::Abandoned);
    }
}

/// Ends the session (and its open event streams) and clears the cookie.
#[utoipa::path(post, path = "/api/v1/logout", tag = "access",
    responses((status = 204, description = "Logged out")))]
pub async fn post_logout(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers, app.web.cookie_name()) {
        app.web.sessions.remove(id);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, app.web.clear_cookie());
    response
}

/// Who the caller is (role, name), and whether display and overlay are public.
#[utoipa::path(get, path = "/api/v1/session", tag = "access",
    responses((status = 200, description = "The caller", body = Whoami)))]
pub async fn get_session(State(app): State<AppState>, principal: Principal) -> Json<Whoami> {
    Json(whoami(&app, &principal))
}

fn whoami(app: &AppState, principal: &Principal) -> Whoami {
    let role = principal.role().map(|r| {
        match r {
            Role::Chair => "chair",
            Role::Technician => "technician",
            Role::Member => "member",
            Role::Viewer => "viewer",
            Role::Bridge => "bridge",
        }
        .to_owned()
    });
    let (user, participant) = match principal {
        Principal::Anonymous => (None, None),
        Principal::User { name, .. } => (Some(name.clone()), None),
        Principal::Member { participant } => (None, Some(participant.clone())),
    };
    Whoami {
        role,
        user,
        participant,
        room_name: app.web.room_name.clone(),
        display_public: app.web.config.display_public,
        overlay_public: app.web.config.overlay_public,
        next: None,
        conference_url: match principal {
            Principal::Member { participant } => app.bridge.conference_url_for(participant),
            _ => None,
        },
    }
}

/// The daemon's clocks now, for computing running speaking times.
#[utoipa::path(get, path = "/api/v1/clock", tag = "floor",
    responses((status = 200, description = "The clocks", body = Clock)))]
pub async fn get_clock(State(app): State<AppState>) -> Response {
    let now = app.web.clock.now();
    let mut response = Json(Clock { mono_ms: now.mono_ms.0, unix_ms: now.unix_ms }).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A user name as the log shows it: whatever a client sent, at most 64 characters, and
/// logged quoted and escaped (`?`), so a name cannot forge log lines.
fn shown(name: &str) -> String {
    name.chars().take(64).collect()
}
