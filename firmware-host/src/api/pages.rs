//! The console pages and their assets, compiled into the binary. Who may open which page
//! is decided by `api/access.rs` before these handlers run; the personal-link page checks
//! its token itself (the token is the credential).

use std::sync::OnceLock;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::access::guard::{CurrentSession, session_cookie};
use super::access::{PeerAddress, Principal, Role};
use super::state::AppState;
use crate::config::UserRole;

/// The policy every page and asset is served with: only our own scripts, styles and
/// connections; no framing; no referrer (a personal link must not leak to other sites).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

macro_rules! asset {
    ($name:literal, $type:literal) => {
        Asset { name: $name, content_type: $type, body: include_str!(concat!("../../web/", $name)) }
    };
}

const HTML: &str = "text/html; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("common.css", "text/css; charset=utf-8"),
    asset!("common.js", "text/javascript; charset=utf-8"),
    asset!("i18n.js", "text/javascript; charset=utf-8"),
    asset!("chair.js", "text/javascript; charset=utf-8"),
    asset!("display.js", "text/javascript; charset=utf-8"),
    asset!("remote.js", "text/javascript; charset=utf-8"),
    asset!("tech.js", "text/javascript; charset=utf-8"),
    asset!("seatmap.js", "text/javascript; charset=utf-8"),
    asset!("presentation.js", "text/javascript; charset=utf-8"),
    asset!("login.js", "text/javascript; charset=utf-8"),
    asset!("link-confirm.js", "text/javascript; charset=utf-8"),
    asset!("bridge.js", "text/javascript; charset=utf-8"),
    asset!("bridge-map.js", "text/javascript; charset=utf-8"),
    asset!("bridge.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    // The city's fleet view (`podiumd fleet`) serves these through the same handler.
    asset!("fleet.js", "text/javascript; charset=utf-8"),
    asset!("fleet.css", "text/css; charset=utf-8"),
];

const LOGIN_HTML: &str = include_str!("../../web/login.html");
const CHAIR_HTML: &str = include_str!("../../web/chair.html");
const DISPLAY_HTML: &str = include_str!("../../web/display.html");
const OVERLAY_HTML: &str = include_str!("../../web/overlay.html");
const REMOTE_HTML: &str = include_str!("../../web/remote.html");
const TECH_HTML: &str = include_str!("../../web/tech.html");
const FORBIDDEN_HTML: &str = include_str!("../../web/forbidden.html");
const INVALID_LINK_HTML: &str = include_str!("../../web/invalid-link.html");
const LINK_CONFIRM_HTML: &str = include_str!("../../web/link-confirm.html");
const LINK_BOUNCE_HTML: &str = include_str!("../../web/link-bounce.html");
const BRIDGE_HTML: &str = include_str!("../../web/bridge.html");

/// `/login`.
pub async fn login_page() -> Response {
    page(StatusCode::OK, LOGIN_HTML)
}

/// `/chair`: the chair console.
pub async fn chair_page() -> Response {
    page(StatusCode::OK, CHAIR_HTML)
}

/// `/display`: the hall display.
pub async fn display_page() -> Response {
    page(StatusCode::OK, DISPLAY_HTML)
}

/// `/overlay`: the stream overlay.
pub async fn overlay_page() -> Response {
    page(StatusCode::OK, OVERLAY_HTML)
}

/// `/tech`: the technician console.
pub async fn tech_page() -> Response {
    page(StatusCode::OK, TECH_HTML)
}

/// The bridge page (`api/bridge.rs` widens its policy to the conference server).
pub fn bridge_html() -> Response {
    page(StatusCode::OK, BRIDGE_HTML)
}

/// Security headers every page and asset carries.
fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

fn page(status: StatusCode, html: &'static str) -> Response {
    let response =
        (status, [(header::CONTENT_TYPE, HTML), (header::CACHE_CONTROL, "no-store")], html).into_response();
    secure(response)
}

/// 403 for a console the caller's role may not open.
pub fn forbidden_page() -> Response {
    page(StatusCode::FORBIDDEN, FORBIDDEN_HTML)
}

/// `/`: the console that fits the caller's role, or the login page.
pub async fn index(principal: Principal) -> Redirect {
    Redirect::to(home(principal.role()).unwrap_or("/login"))
}

/// `GET /remote/{token}`: checks the personal link, starts the member's session (an
/// HttpOnly cookie, so the token is not needed again by scripts) and serves the remote
/// page. A browser that already holds this member's session keeps it (no new session per
/// open); one that holds a chair or technician session is asked first (the link's owner
/// may have sent it to the wrong person), see [`remote_confirm`]. A link opened from
/// another site is first reloaded from our own origin (the session cookie is
/// `SameSite=Strict`: without that step a chair's login would be invisible here and
/// silently replaced). Opens are throttled per address (429 with `Retry-After`).
pub async fn remote(
    State(app): State<AppState>,
    PeerAddress(address): PeerAddress,
    session: Option<Extension<CurrentSession>>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    if arrived_from_another_site(&headers) {
        return page(StatusCode::OK, LINK_BOUNCE_HTML);
    }
    let participant = match open_link(&app, address, &token) {
        Ok(participant) => participant,
        Err(refused) => return refused.into_response(),
    };
    // Only the browser's own session counts (not loopback trust, which is no session).
    let current = session.map_or(Principal::Anonymous, |Extension(CurrentSession(live))| live.principal);
    match current {
        Principal::Member { participant: ref current } if *current == participant => {
            return page(StatusCode::OK, REMOTE_HTML);
        }
        Principal::User { role: UserRole::Chair | UserRole::Technician, .. } => {
            return page(StatusCode::OK, LINK_CONFIRM_HTML);
        }
        _ => {}
    }
    start_member_page(&app, &headers, participant, &token, StatusCode::OK).await
}

/// A navigation from another origin's page (`Sec-Fetch-Site`): a cross-site one carries no
/// `SameSite=Strict` cookie; a same-site one (another port or subdomain, perhaps someone
/// else's) is reloaded too, at the cost of one round trip. Clients that send no such header
/// (scripts, old browsers) are taken as they come.
fn arrived_from_another_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site"))
}

/// `POST /remote/{token}`: opens the personal link even though the browser holds another
/// session (the confirmation page's button); that session ends. Answers 204 with the
/// member's session cookie; then `GET` serves the page.
pub async fn remote_confirm(
    State(app): State<AppState>,
    PeerAddress(address): PeerAddress,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let participant = match open_link(&app, address, &token) {
        Ok(participant) => participant,
        Err(refused) => return refused.into_response(),
    };
    start_member_page(&app, &headers, participant, &token, StatusCode::NO_CONTENT).await
}

/// Why a personal link does not open.
enum LinkRefused {
    /// Too many opens from this address.
    Throttled(super::access::throttle::RetryAfter),
    /// No such token.
    Invalid,
}

impl IntoResponse for LinkRefused {
    fn into_response(self) -> Response {
        match self {
            LinkRefused::Throttled(retry) => super::auth::too_many_attempts(retry),
            LinkRefused::Invalid => page(StatusCode::UNAUTHORIZED, INVALID_LINK_HTML),
        }
    }
}

/// The throttle and the token check shared by both: the member whose link it is.
fn open_link(app: &AppState, address: std::net::IpAddr, token: &str) -> Result<String, LinkRefused> {
    if let Err(retry) = app.web.admit_link_open(address) {
        tracing::debug!(%address, "personal link opens throttled");
        return Err(LinkRefused::Throttled(retry));
    }
    app.web.member_for_token(token).ok_or_else(|| {
        app.web.metrics.denied(401);
        LinkRefused::Invalid
    })
}

/// Ends the browser's previous session (if any), starts the member's and answers with
/// the remote page (200) or nothing (204).
async fn start_member_page(
    app: &AppState,
    headers: &HeaderMap,
    participant: String,
    token: &str,
    status: StatusCode,
) -> Response {
    if let Some(previous) = session_cookie(headers, app.web.cookie_name()) {
        app.web.sessions.remove(previous);
    }
    let credential = super::access::secret::token_hash(token);
    let member = Principal::Member { participant: participant.clone() };
    let cookie = match app.web.start_session(member, &credential).await {
        Ok(cookie) => cookie,
        Err(e) => return e.into_response(),
    };
    tracing::info!(%participant, "personal link opened");
    let mut response = if status == StatusCode::OK {
        page(StatusCode::OK, REMOTE_HTML)
    } else {
        secure(status.into_response())
    };
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// The page to go to after login: `next` if it is a path on this site, else the console
/// of the role. Rejects everything a browser might resolve to another site: `//host`,
/// backslashes (`/\host`), control characters and spaces (browsers strip tabs and
/// newlines, so `/\t/host` becomes `//host`), and anything not starting with one `/`.
pub fn login_target(next: Option<&str>, role: Option<Role>) -> String {
    if let Some(next) = next
        && next.starts_with('/')
        && !next.starts_with("//")
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    {
        return next.to_owned();
    }
    home(role).unwrap_or("/").to_owned()
}

/// The console of a role. A member's page lives at their personal link, which is not
/// known here.
fn home(role: Option<Role>) -> Option<&'static str> {
    match role? {
        Role::Chair => Some("/chair"),
        Role::Technician => Some("/tech"),
        Role::Viewer => Some("/display"),
        Role::Bridge => Some("/bridge/jitsi"),
        Role::Member => None,
    }
}

fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let digest = super::access::secret::token_digest(a.body);
                let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    })
}

/// `/assets/{file}`: an embedded file, revalidated by ETag.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.name == file) else {
        return crate::api::error::ApiError::not_found("no such asset").into_response();
    };
    let asset = &ASSETS[index];
    let etag = &etags()[index];
    let fresh = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str());
    let etag_value = HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    let response = if fresh {
        (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response()
    } else {
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                (header::ETAG, etag_value),
            ],
            asset.body,
        )
            .into_response()
    };
    secure(response)
}

/// Percent-encodes a path for a `next=` query parameter.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_a_page_names_is_embedded() {
        let pages =
            [LOGIN_HTML, CHAIR_HTML, DISPLAY_HTML, OVERLAY_HTML, REMOTE_HTML, TECH_HTML, FORBIDDEN_HTML];
        for html in pages {
            for part in html.split("/assets/").skip(1) {
                let name: String = part.chars().take_while(|c| *c != '"').collect();
                assert!(ASSETS.iter().any(|a| a.name == name), "missing asset {name}");
            }
            assert!(html.contains("<html lang="), "pages declare their language");
            assert!(!html.contains("<script>"), "no inline scripts (the CSP forbids them)");
        }
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            for part in a.body.split("from './").skip(1) {
                let name: String = part.chars().take_while(|c| *c != '\'').collect();
                assert!(ASSETS.iter().any(|x| x.name == name), "{} imports missing {name}", a.name);
            }
        }
    }

    #[test]
    fn after_login_only_same_origin_paths_are_followed() {
        let chair = Some(Role::Chair);
        for evil in
            ["/\t/x", "/\n/x", "//x", "/\\x", "https://x", "http://x/y", "x", "/ /x", "/\r/x", "\\/x", ""]
        {
            assert_eq!(login_target(Some(evil), chair), "/chair", "{evil:?}");
        }
        assert_eq!(login_target(None, Some(Role::Technician)), "/tech");
        assert_eq!(login_target(Some("//x"), None), "/");
        for fine in ["/chair", "/display?lang=en", "/tech#devices", "/"] {
            assert_eq!(login_target(Some(fine), chair), fine);
        }
    }

    #[test]
    fn next_parameter_is_encoded() {
        assert_eq!(encode_component("/chair?x=1&y"), "/chair%3Fx%3D1%26y");
    }
}
