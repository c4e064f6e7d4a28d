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
//! 3. **The route's rule**, declared with the route in `api/mod.rs` ([`RouteRules`]):
//!    public, read the floor, send commands, staff (chair or technician), technician only,
//!    metrics, or a console page. A method the route does not answer gets 405 before any
//!    rule is applied (it does nothing).
//!
//! Answers carry no detail: `{"error":"unauthorized"}` (401) or `{"error":"forbidden"}`
//! (403); console pages redirect an anonymous visitor to `/login` instead.
//!
//! Inside a handler, the [`Principal`] extractor gives the caller; for commands,
//! [`Principal::actor_for`] narrows further: a remote member may only join, leave,
//! request, withdraw and cancel for their own virtual seat.

pub mod guard;
pub mod secret;
pub mod sessions;
pub mod throttle;

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use podium_floor::setup::ParticipantId;
use podium_floor::{Actor, Command, Station};

use super::error::ApiError;
use crate::config::{UserRole, WebConfig};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "podium_session";
/// Name of the session cookie with `cookie_secure` (HTTPS only, this host, path `/`).
pub const SECURE_SESSION_COOKIE: &str = "__Host-podium_session";
/// The user name of a loopback-trusted caller (`[web] trust_loopback_as`).
pub const LOOPBACK_USER: &str = "loopback";
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
    /// The video-conference bridge: reads the floor, relays remote members' presence and
    /// hands (see [`Principal::actor_for`]).
    Bridge,
}

impl From<UserRole> for Role {
    fn from(role: UserRole) -> Self {
        match role {
            UserRole::Chair => Role::Chair,
            UserRole::Technician => Role::Technician,
            UserRole::Viewer => Role::Viewer,
            UserRole::Bridge => Role::Bridge,
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
    /// | technician | every command | `Actor::Technician` |
    /// | member | `join_remote`/`leave_remote` for themselves (remote attendance); `request`/`withdraw`/`cancel` for their own virtual seat (`cancel` ends their own turn only where `members_may_switch_off` allows); `cast_vote` for themselves | `Actor::Station(Station::Remote(own id))` |
    /// | bridge | `join_remote`/`leave_remote` for any member; `request` (with the hand's `raised_at`) and `withdraw` for any member's virtual seat: what the member did in the conference | `Actor::Station(Station::Remote(that member))` |
    /// | viewer | nothing (403) | |
    /// | anonymous | nothing (401) | |
    ///
    /// The engine then applies its own rules for the actor (e.g. `members_may_cancel`).
    pub fn actor_for(&self, command: &Command) -> Result<Actor, ApiError> {
        match self {
            Principal::Anonymous => Err(unauthorized()),
            Principal::User { role: UserRole::Chair, .. } => Ok(Actor::Chair),
            Principal::User { role: UserRole::Technician, .. } => Ok(Actor::Technician),
            Principal::User { role: UserRole::Viewer, .. } => Err(forbidden()),
            // The bridge relays what a member did in the conference: the member acts, so
            // the engine applies the member's own rules (e.g. `members_may_cancel`).
            Principal::User { role: UserRole::Bridge, .. } => match command {
                Command::JoinRemote { participant } | Command::LeaveRemote { participant } => {
                    Ok(Actor::Station(Station::Remote(participant.clone())))
                }
                Command::Request { station: station @ Station::Remote(_), .. }
                | Command::Withdraw { station: station @ Station::Remote(_) } => {
                    Ok(Actor::Station(station.clone()))
                }
                _ => Err(forbidden()),
            },
            Principal::Member { participant } => {
                let own = Station::Remote(participant.clone());
                let allowed = match command {
                    Command::JoinRemote { participant: p } | Command::LeaveRemote { participant: p } => {
                        p == participant
                    }
                    Command::Request { station, .. }
                    | Command::Withdraw { station }
                    | Command::Cancel { station } => *station == own,
                    Command::CastVote { participant: p, .. } => p.as_ref().is_none_or(|p| p == participant),
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

/// The address of the connected peer (`0.0.0.0` if the server was built without peer
/// addresses, as in unit tests). Never fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddress(pub std::net::IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(PeerAddress(peer_ip(&parts.extensions)))
    }
}

/// The peer's IP address from the connection info, `0.0.0.0` when there is none.
pub fn peer_ip(extensions: &axum::http::Extensions) -> std::net::IpAddr {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
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
    /// `/bridge/jitsi`: the bridge, or a technician setting it up.
    Bridge,
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
    /// The video-conference bridge (or a technician): its setup, its floor document and
    /// its status report.
    Bridge,
    /// `/metrics`: chair or technician; anyone if `metrics_public`.
    Metrics,
    /// A console page.
    Page(Page),
}

/// The access rule of every route, declared with the route in `api/mod.rs` (the one
/// table of routes), with the methods the route answers.
#[derive(Debug, Clone, Default)]
pub struct RouteRules(BTreeMap<String, (Rule, Vec<Method>)>);

impl RouteRules {
    /// Declares a route. A path declared twice with different rules is a programming error.
    pub(in crate::api) fn declare(&mut self, path: &str, rule: Rule, methods: Vec<Method>) {
        let entry = self.0.entry(path.to_owned()).or_insert((rule, Vec::new()));
        assert_eq!(entry.0, rule, "route {path} declared with two access rules");
        entry.1.extend(methods);
    }

    /// The rule of a route by its matched path (e.g. `/remote/{token}`).
    pub fn rule(&self, path: &str) -> Option<Rule> {
        self.0.get(path).map(|(rule, _)| *rule)
    }

    /// Whether the route answers this method (a GET route answers HEAD too).
    pub fn answers(&self, path: &str, method: &Method) -> bool {
        self.0.get(path).is_some_and(|(_, methods)| {
            methods.contains(method) || (*method == Method::HEAD && methods.contains(&Method::GET))
        })
    }

    /// Every route: path, rule and methods.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Rule, &[Method])> {
        self.0.iter().map(|(path, (rule, methods))| (path.as_str(), *rule, methods.as_slice()))
    }
}

/// Whether the caller may pass the rule. `Err(true)` = needs credentials (401),
/// `Err(false)` = not allowed (403).
pub(super) fn permits(rule: Rule, principal: &Principal, config: &WebConfig) -> Result<(), bool> {
    let role = principal.role();
    let public_read = config.display_public || config.overlay_public;
    let ok = match rule {
        Rule::Public => true,
        Rule::ReadFloor => role.is_some() || public_read,
        Rule::Command => matches!(role, Some(Role::Chair | Role::Technician | Role::Member | Role::Bridge)),
        Rule::Bridge => matches!(role, Some(Role::Bridge | Role::Technician)),
        Rule::Staff => matches!(role, Some(Role::Chair | Role::Technician)),
        Rule::Technician => role == Some(Role::Technician),
        Rule::Metrics => config.metrics_public || matches!(role, Some(Role::Chair | Role::Technician)),
        Rule::Page(Page::Chair) => matches!(role, Some(Role::Chair | Role::Technician)),
        Rule::Page(Page::Tech) => role == Some(Role::Technician),
        Rule::Page(Page::Display) => role.is_some() || config.display_public,
        Rule::Page(Page::Overlay) => role.is_some() || config.overlay_public,
        Rule::Page(Page::Bridge) => matches!(role, Some(Role::Bridge | Role::Technician)),
    };
    if ok { Ok(()) } else { Err(role.is_none()) }
}

pub(super) fn is_safe(method: &Method) -> bool {
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
                raised_at: None,
            },
            Command::Withdraw { station: own.clone() },
            Command::Cancel { station: own.clone() },
            Command::CastVote { participant: None, choice: "yes".into() },
            Command::CastVote { participant: Some("vogt".into()), choice: "no".into() },
        ];
        for command in &allowed {
            assert_eq!(me.actor_for(command).ok(), Some(Actor::Station(own.clone())), "{command:?}");
        }
        let refused = [
            Command::JoinRemote { participant: "engel".into() },
            Command::CastVote { participant: Some("engel".into()), choice: "yes".into() },
            Command::MarkAttendance {
                participant: "vogt".into(),
                status: podium_floor::AttendanceStatus::Present,
            },
            Command::Request {
                station: other.clone(),
                kind: podium_floor::RequestKind::Ordinary,
                stance: None,
                raised_at: None,
            },
            Command::Request {
                station: Station::Seat(12),
                kind: podium_floor::RequestKind::Ordinary,
                stance: None,
                raised_at: None,
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
    fn the_bridge_relays_presence_and_hands_as_the_member_and_nothing_else() {
        let bridge = Principal::User { name: "konferenz".into(), role: UserRole::Bridge };
        let anna = Station::Remote("anna".into());
        let relayed = [
            Command::JoinRemote { participant: "anna".into() },
            Command::LeaveRemote { participant: "anna".into() },
            Command::Request {
                station: anna.clone(),
                kind: podium_floor::RequestKind::Ordinary,
                stance: None,
                raised_at: Some(1_764_000_000_000),
            },
            Command::Withdraw { station: anna.clone() },
        ];
        for command in &relayed {
            assert_eq!(bridge.actor_for(command).ok(), Some(Actor::Station(anna.clone())), "{command:?}");
        }
        let refused = [
            Command::Request {
                station: Station::Seat(3),
                kind: podium_floor::RequestKind::Ordinary,
                stance: None,
                raised_at: None,
            },
            Command::Grant { station: anna.clone() },
            Command::Stop { station: anna.clone() },
            Command::Cancel { station: anna },
            Command::Next {},
            Command::CastVote { participant: Some("anna".into()), choice: "yes".into() },
            Command::MarkAttendance {
                participant: "anna".into(),
                status: podium_floor::AttendanceStatus::Present,
            },
        ];
        for command in &refused {
            let e = bridge.actor_for(command).expect_err("refused");
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
        assert_eq!(tech.actor_for(&next).ok(), Some(Actor::Technician));
        assert_eq!(viewer.actor_for(&next).map_err(|e| e.status()).err(), Some(StatusCode::FORBIDDEN));
        assert_eq!(
            Principal::Anonymous.actor_for(&next).map_err(|e| e.status()).err(),
            Some(StatusCode::UNAUTHORIZED)
        );
    }
}
