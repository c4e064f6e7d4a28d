//! The one place where a request's caller becomes a [`Principal`], where every route's
//! access rule lives, and where a principal's command becomes an engine [`Actor`].
//!
//! Every request passes [`guard`] (a middleware on the whole router):
//!
//! 1. **Who calls.** A session cookie (`podium_session`, from a login or an opened personal
//!    link), or `Authorization: Bearer <personal-link token>` (a remote member's script),
//!    or — only if `[web] trust_loopback_as` is set, only for API routes, only from a
//!    loopback address with a loopback `Host` — the configured role. Otherwise anonymous.
//!    Presented credentials that are wrong or expired give 401, not a fallback.
//! 2. **Cross-site requests.** A state-changing request (not GET/HEAD/OPTIONS) is refused
//!    with 403 if its `Origin` is another site or `Sec-Fetch-Site` says cross-site, and a
//!    cookie-authenticated one must carry the `X-Podium-Csrf` header, which a cross-site
//!    form cannot send. With `SameSite=Strict` cookies that makes request forgery fail
//!    twice over.
//! 3. **The route's rule** ([`rule_for`]): public, read the floor, send commands, staff
//!    (chair or technician), technician only, metrics, or a console page. Routes not in the
//!    table (added later, e.g. devices or meetings) need staff: the default denies.
//!
//! Answers carry no detail: `{"error":"unauthorized"}` (401) or `{"error":"forbidden"}`
//! (403); console pages redirect an anonymous visitor to `/login` instead.
//!
//! Inside a handler, the [`Principal`] extractor gives the caller; for commands,
//! [`Principal::actor_for`] narrows further: a remote member may only join, leave,
//! request, withdraw and cancel for their own virtual seat.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::StreamExt;
use podium_floor::setup::ParticipantId;
use podium_floor::{Actor, Command, Station};

use super::AppState;
use super::error::ApiError;
use crate::config::UserRole;
use crate::web::Web;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "podium_session";
/// Header a cookie-authenticated state-changing request must carry (any value).
pub const CSRF_HEADER: &str = "x-podium-csrf";

/// The four roles of the web consoles and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sitzungsleitung: every floor command (engine actor `chair`).
    Chair,
    /// Room technician: diagnostics, devices, and the floor as operator.
    Technician,
    /// A remote member through their personal link: their own virtual seat only.
    Member,
    /// Read-only: display, overlay, state and events.
    Viewer,
}

impl From<UserRole> for Role {
    fn from(role: UserRole) -> Self {
        match role {
            UserRole::Chair => Role::Chair,
            UserRole::Technician => Role::Technician,
            UserRole::Viewer => Role::Viewer,
        }
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credentials.
    Anonymous,
    /// A logged-in `[[user]]` (or a trusted loopback client, `name` = `loopback`).
    User {
        /// Login name.
        name: String,
        /// Chair, technician or viewer.
        role: UserRole,
    },
    /// A remote member who opened their personal link (or sent its token).
    Member {
        /// The member's participant id.
        participant: ParticipantId,
    },
}

impl Principal {
    /// The caller's role; `None` when anonymous.
    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Anonymous => None,
            Principal::User { role, .. } => Some((*role).into()),
            Principal::Member { .. } => Some(Role::Member),
        }
    }

    /// The engine actor for this caller issuing this command, or 401/403.
    ///
    /// | role | may send | acts as |
    /// |---|---|---|
    /// | chair | every command | `Actor::Chair` |
    /// | technician | every command | `Actor::Operator` |
    /// | member | `join_remote`/`leave_remote` for themselves; `request`/`withdraw`/`cancel` for their own virtual seat | `Actor::Station(Station::Remote(own id))` |
    /// | viewer | nothing (403) | |
    /// | anonymous | nothing (401) | |
    ///
    /// The engine then applies its own rules for the actor (e.g. `members_may_cancel`).
    pub fn actor_for(&self, command: &Command) -> Result<Actor, ApiError> {
        match self {
            Principal::Anonymous => Err(unauthorized()),
            Principal::User { role: UserRole::Chair, .. } => Ok(Actor::Chair),
            Principal::User { role: UserRole::Technician, .. } => Ok(Actor::Operator),
            Principal::User { role: UserRole::Viewer, .. } => Err(forbidden()),
            Principal::Member { participant } => {
                let own = Station::Remote(participant.clone());
                let allowed = match command {
                    Command::JoinRemote { participant: p } | Command::LeaveRemote { participant: p } => {
                        p == participant
                    }
                    Command::Request { station, .. }
                    | Command::Withdraw { station }
                    | Command::Cancel { station } => *station == own,
                    _ => false,
                };
                if allowed { Ok(Actor::Station(own)) } else { Err(forbidden()) }
            }
        }
    }
}

/// The caller, as established by [`guard`]. Without the guard (a router built without
/// it) every caller is anonymous, so nothing is allowed by accident.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, ApiError> {
        Ok(parts.extensions.get::<Principal>().cloned().unwrap_or(Principal::Anonymous))
    }
}

/// A console page and who may open it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `/chair`: chair and technician.
    Chair,
    /// `/tech`: technician.
    Tech,
    /// `/display`: any role; anyone if `display_public`.
    Display,
    /// `/overlay`: any role; anyone if `overlay_public`.
    Overlay,
}

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone (health, API description, login, assets, the personal-link page).
    Public,
    /// Read the floor (state, events): any role; anyone if the display or overlay is public.
    ReadFloor,
    /// Send commands: chair, technician, member ([`Principal::actor_for`] narrows further).
    Command,
    /// Chair or technician.
    Staff,
    /// Technician only.
    Technician,
    /// `/metrics`: chair or technician; anyone if `metrics_public`.
    Metrics,
    /// A console page.
    Page(Page),
}

/// The access rule of a route (its matched path, e.g. `/remote/{token}`).
pub fn rule_for(path: &str) -> Rule {
    match path {
        "/healthz"
        | "/api/v1/openapi.json"
        | "/api/v1/login"
        | "/api/v1/logout"
        | "/api/v1/session"
        | "/api/v1/clock" => Rule::Public,
        "/" | "/login" | "/assets/{file}" | "/remote/{token}" => Rule::Public,
        "/api/v1/state" | "/api/v1/precedence" | "/api/v1/events" => Rule::ReadFloor,
        "/api/v1/commands" => Rule::Command,
        // Frames on the wire are diagnostics, like the log.
        "/api/v1/log" | "/api/v1/monitor" => Rule::Technician,
        "/metrics" => Rule::Metrics,
        "/chair" => Rule::Page(Page::Chair),
        "/tech" => Rule::Page(Page::Tech),
        "/display" => Rule::Page(Page::Display),
        "/overlay" => Rule::Page(Page::Overlay),
        // Devices (health, lamp tests, camera tests, the demo's simulated desks), the MQTT
        // link, diagnostics, meetings and their minutes: the chair and the technician. A lamp
        // or camera test is harmless, and the chair runs the room when no technician is there.
        "/api/v1/devices"
        | "/api/v1/devices/test"
        | "/api/v1/devices/room"
        | "/api/v1/devices/room/{name}/test"
        | "/api/v1/sim/desks"
        | "/api/v1/mqtt"
        | "/api/v1/diagnostics" => Rule::Staff,
        p if p.starts_with("/api/v1/meetings") => Rule::Staff,
        // Anything else (routes added later) needs staff until it is given a rule here.
        _ => Rule::Staff,
    }
}

/// Whether the caller may pass the rule. `Err(true)` = needs credentials (401),
/// `Err(false)` = not allowed (403).
fn permits(rule: Rule, principal: &Principal, web: &Web) -> Result<(), bool> {
    let role = principal.role();
    let public_read = web.config.display_public || web.config.overlay_public;
    let ok = match rule {
        Rule::Public => true,
        Rule::ReadFloor => role.is_some() || public_read,
        Rule::Command => matches!(role, Some(Role::Chair | Role::Technician | Role::Member)),
        Rule::Staff => matches!(role, Some(Role::Chair | Role::Technician)),
        Rule::Technician => role == Some(Role::Technician),
        Rule::Metrics => web.config.metrics_public || matches!(role, Some(Role::Chair | Role::Technician)),
        Rule::Page(Page::Chair) => matches!(role, Some(Role::Chair | Role::Technician)),
        Rule::Page(Page::Tech) => role == Some(Role::Technician),
        Rule::Page(Page::Display) => role.is_some() || web.config.display_public,
        Rule::Page(Page::Overlay) => role.is_some() || web.config.overlay_public,
    };
    if ok { Ok(()) } else { Err(role.is_none()) }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// 401 without detail.
pub fn unauthorized() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "authentication required")
}

/// 403 without detail.
pub fn forbidden() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", "not allowed")
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    None,
    Cookie,
    Bearer,
    Loopback,
}

/// The value of the session cookie, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
}

/// Establishes the principal. `Err(())` = credentials were presented and are not valid.
fn identify(web: &Web, req: &Request, rule: Rule) -> Result<(Principal, Credential), ()> {
    let headers = req.headers();
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).ok_or(())?;
        let participant = web.member_for_token(token).ok_or(())?;
        return Ok((Principal::Member { participant }, Credential::Bearer));
    }
    if let Some(cookie) = session_cookie(headers) {
        let principal = web.sessions.get(cookie).ok_or(())?;
        return Ok((principal, Credential::Cookie));
    }
    if let Some(role) = web.config.trust_loopback_as
        && !matches!(rule, Rule::Page(_))
        && from_loopback(req)
    {
        return Ok((Principal::User { name: "loopback".into(), role }, Credential::Loopback));
    }
    Ok((Principal::Anonymous, Credential::None))
}

/// A loopback peer that also addressed us by a loopback name. The `Host` check stops DNS
/// rebinding: a web page whose host name resolves to 127.0.0.1 still sends its own name.
fn from_loopback(req: &Request) -> bool {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let peer_ok = peer.is_some_and(|ip| match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    });
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    peer_ok && is_loopback_host(host)
}

fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses cross-site state-changing requests (see the module docs).
fn cross_site(req: &Request, credential: Credential) -> bool {
    if is_safe(req.method()) {
        return false;
    }
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://").or_else(|| o.strip_prefix("https://")))
            .unwrap_or("\u{0}");
        if host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return true;
        }
    }
    credential == Credential::Cookie && !headers.contains_key(CSRF_HEADER)
}

/// The middleware that applies all of the above to every route.
pub async fn guard(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let web = app.web.clone();
    // Unmatched paths go to the fallback (404), which needs no rule.
    let Some(route) = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()) else {
        return next.run(req).await;
    };
    let rule = rule_for(&route);
    let (principal, credential) = match identify(&web, &req, rule) {
        Ok(found) => found,
        // Wrong or expired credentials do not stop public routes (the login page must work
        // with a stale cookie); they count as anonymous there.
        Err(()) if rule == Rule::Public => (Principal::Anonymous, Credential::None),
        Err(()) => return deny(&web, rule, &req, true),
    };
    if cross_site(&req, credential) {
        return deny(&web, rule, &req, false);
    }
    if let Err(needs_login) = permits(rule, &principal, &web) {
        return deny(&web, rule, &req, needs_login);
    }
    let is_command = route == "/api/v1/commands" && req.method() == Method::POST;
    let is_events = route == "/api/v1/events";
    req.extensions_mut().insert(principal);
    let response = next.run(req).await;
    if is_command {
        return count_command(&web, response).await;
    }
    if is_events && response.status() == StatusCode::OK {
        return count_stream(&web, response);
    }
    response
}

fn deny(web: &Web, rule: Rule, req: &Request, needs_login: bool) -> Response {
    web.metrics.denied(if needs_login { 401 } else { 403 });
    if let Rule::Page(_) = rule {
        if needs_login {
            let next = req.uri().path_and_query().map_or("/", |p| p.as_str());
            return Redirect::to(&format!("/login?next={}", crate::web::pages::encode_component(next)))
                .into_response();
        }
        return crate::web::pages::forbidden_page();
    }
    let mut response = if needs_login { unauthorized().into_response() } else { forbidden().into_response() };
    if needs_login {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"podium\""));
    }
    response
}

/// Counts an answered command by outcome (the reason code for a rejection).
async fn count_command(web: &Web, response: Response) -> Response {
    if response.status().is_success() {
        web.metrics.command_accepted();
        return response;
    }
    let (parts, body) = response.into_parts();
    // Error bodies are small JSON objects; anything larger is counted without its code.
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let code = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    web.metrics.command_rejected(&code);
    Response::from_parts(parts, Body::from(bytes))
}

/// Counts an open event stream for as long as its body lives.
fn count_stream(web: &Arc<Web>, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let open = web.stream_opened();
    let stream = body.into_data_stream().map(move |chunk| {
        let _open = &open;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str) -> Principal {
        Principal::Member { participant: id.into() }
    }

    #[test]
    fn members_act_only_for_their_own_virtual_seat() {
        let me = member("vogt");
        let own = Station::Remote("vogt".into());
        let other = Station::Remote("engel".into());
        let allowed = [
            Command::JoinRemote { participant: "vogt".into() },
            Command::LeaveRemote { participant: "vogt".into() },
            Command::Request {
                station: own.clone(),
                kind: podium_floor::RequestKind::Ordinary,
                stance: None,
            },
            Command::Withdraw { station: own.clone() },
            Command::Cancel { station: own.clone() },
        ];
        for command in &allowed {
            assert_eq!(me.actor_for(command).ok(), Some(Actor::Station(own.clone())), "{command:?}");
        }
        let refused = [
            Command::JoinRemote { participant: "engel".into() },
            Command::Request {
                station: other.clone(),
                kind: podium_floor::RequestKind::Ordinary,
                stance: None,
            },
            Command::Request {
                station: Station::Seat(12),
                kind: podium_floor::RequestKind::Ordinary,
                stance: None,
            },
            Command::Withdraw { station: other.clone() },
            Command::Cancel { station: other },
            Command::Stop { station: own.clone() },
            Command::KeyPress { station: own },
            Command::Next {},
            Command::Grant { station: Station::Seat(3) },
            Command::StopAll {},
            Command::StopCurrent {},
            Command::Priority { clear_requests: true },
            Command::ClearRequests {},
            Command::SetListOpen { open: false },
            Command::TakeSeat { participant: "vogt".into(), seat: 3 },
        ];
        for command in &refused {
            let e = me.actor_for(command).expect_err("refused");
            assert_eq!(e.status(), StatusCode::FORBIDDEN, "{command:?}");
        }
    }

    #[test]
    fn roles_map_to_actors() {
        let next = Command::Next {};
        let chair = Principal::User { name: "c".into(), role: UserRole::Chair };
        let tech = Principal::User { name: "t".into(), role: UserRole::Technician };
        let viewer = Principal::User { name: "v".into(), role: UserRole::Viewer };
        assert_eq!(chair.actor_for(&next).ok(), Some(Actor::Chair));
        assert_eq!(tech.actor_for(&next).ok(), Some(Actor::Operator));
        assert_eq!(viewer.actor_for(&next).map_err(|e| e.status()).err(), Some(StatusCode::FORBIDDEN));
        assert_eq!(
            Principal::Anonymous.actor_for(&next).map_err(|e| e.status()).err(),
            Some(StatusCode::UNAUTHORIZED)
        );
    }

    #[test]
    fn routes_without_a_rule_need_staff() {
        assert_eq!(rule_for("/api/v1/meetings/{id}/minutes"), Rule::Staff);
        assert_eq!(rule_for("/api/v1/something/new"), Rule::Staff);
        assert_eq!(rule_for("/api/v1/log"), Rule::Technician);
        assert_eq!(rule_for("/api/v1/monitor"), Rule::Technician);
        assert_eq!(rule_for("/api/v1/commands"), Rule::Command);
    }

    #[test]
    fn loopback_hosts() {
        for host in ["127.0.0.1:8080", "localhost:1", "LOCALHOST", "[::1]:8080", "127.1.2.3"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["evil.example:8080", "10.0.0.1:8080", "", "[fe80::1]:80", "localhost.evil.example"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; podium_session=xyz ; b=2"));
        assert_eq!(session_cookie(&headers), Some("xyz"));
        headers.insert(header::COOKIE, HeaderValue::from_static("podium_sessionx=1"));
        assert_eq!(session_cookie(&headers), None);
    }
}
