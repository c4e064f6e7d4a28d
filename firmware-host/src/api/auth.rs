//! Login, logout, "who am I" and the server clock.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::access::guard::session_cookie;
use super::access::{Principal, Role};
use super::state::AppState;
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
}

/// Who the caller is.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Whoami {
    /// `chair`, `technician`, `member`, `viewer`; absent when not logged in.
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
#[utoipa::path(post, path = "/api/v1/login", tag = "access",
    request_body = Login,
    responses(
        (status = 200, description = "Logged in; `Set-Cookie: podium_session=...`", body = Whoami),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    ))]
pub async fn post_login(
    State(app): State<AppState>,
    JsonBody(login): JsonBody<Login>,
) -> Result<Response, ApiError> {
    let web = app.web.clone();
    // Argon2 is deliberately slow; at most two checks run at once, off the async threads.
    let _slot = web.login_slots.acquire().await.map_err(|_| ApiError::unavailable())?;
    let user = web.config.users.iter().find(|u| u.name == login.user).cloned();
    let checked = tokio::task::spawn_blocking(move || match &user {
        Some(u) if super::access::secret::verify_password(&u.password_hash, &login.password) => user,
        Some(_) => None,
        None => {
            super::access::secret::verify_against_nothing(&login.password);
            None
        }
    })
    .await
    .map_err(|_| ApiError::unavailable())?;
    let Some(user) = checked else {
        web.metrics.login(false);
        tracing::info!("login failed");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong user name or password",
        ));
    };
    web.metrics.login(true);
    tracing::info!(user = %user.name, role = user.role.name(), "login");
    let principal = Principal::User { name: user.name.clone(), role: user.role };
    let cookie = web.start_session(principal.clone())?;
    let mut response = Json(whoami(&app, &principal)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/logout", tag = "access",
    responses((status = 204, description = "Logged out")))]
pub async fn post_logout(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers) {
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
