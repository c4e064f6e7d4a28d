//! The middleware every request passes: who calls, cross-site checks, the route's rule
//! (see the module docs of `api::access`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::StreamExt;

use super::sessions::Live;
use super::{CSRF_HEADER, Principal, Rule, forbidden, is_safe, permits, unauthorized};
use crate::api::state::AppState;
use crate::api::web::Web;

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    None,
    Cookie,
    Bearer,
    Loopback,
}

/// The value of the cookie `name`, if the request has one.
pub fn session_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
}

/// The caller's live session (set by the guard for cookie-authenticated requests).
#[derive(Debug, Clone)]
pub struct CurrentSession(pub Live);

/// Why presented credentials were not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Invalid {
    /// A bearer token that is malformed or unknown: always 401.
    Bearer,
    /// A session cookie that is unknown or expired (a restart without a journal, a
    /// logout elsewhere): ignored where anonymous callers are allowed.
    StaleCookie,
}

/// Who called: the principal, how they proved it, and their session if by cookie.
type Identified = (Principal, Credential, Option<Live>);

/// Establishes the principal.
fn identify(web: &Web, req: &Request, rule: Rule) -> Result<Identified, Invalid> {
    let headers = req.headers();
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(Invalid::Bearer)?;
        let participant = web.member_for_token(token).ok_or(Invalid::Bearer)?;
        return Ok((Principal::Member { participant }, Credential::Bearer, None));
    }
    if let Some(cookie) = session_cookie(headers, web.cookie_name()) {
        let live = web.sessions.get(cookie).ok_or(Invalid::StaleCookie)?;
        return Ok((live.principal.clone(), Credential::Cookie, Some(live)));
    }
    if let Some(role) = web.config.trust_loopback_as
        && !matches!(rule, Rule::Page(_))
        && from_loopback(req)
        && !forwarded(headers)
    {
        return Ok((Principal::User { name: super::LOOPBACK_USER.into(), role }, Credential::Loopback, None));
    }
    Ok((Principal::Anonymous, Credential::None, None))
}

/// Whether a proxy forwarded the request: then the loopback peer is the proxy, and the
/// real client is somewhere else, so loopback trust must not apply.
fn forwarded(headers: &HeaderMap) -> bool {
    headers.contains_key(header::FORWARDED) || headers.contains_key("x-forwarded-for")
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
    // A method the route does not answer: straight to its 405, which does nothing.
    if !app.rules.answers(&route, req.method()) {
        return next.run(req).await;
    }
    // Every routed path has a rule (they are declared together); staff is the safe default.
    let rule = app.rules.rule(&route).unwrap_or(Rule::Staff);
    let (principal, credential, live, stale) = match identify(&web, &req, rule) {
        Ok((principal, credential, live)) => (principal, credential, live, false),
        // Wrong or expired credentials do not stop public routes (the login page must work
        // with a stale cookie); they count as anonymous there.
        Err(_) if rule == Rule::Public => (Principal::Anonymous, Credential::None, None, false),
        // A stale cookie is ignored wherever an anonymous caller may go (a public display
        // after a restart); it is dropped from the browser with the answer.
        Err(Invalid::StaleCookie) => (Principal::Anonymous, Credential::None, None, true),
        Err(Invalid::Bearer) => return deny(&web, rule, &req, true),
    };
    if cross_site(&req, credential) {
        return deny(&web, rule, &req, false);
    }
    if let Err(needs_login) = permits(rule, &principal, &web.config) {
        return forget_stale(&web, stale, deny(&web, rule, &req, needs_login));
    }
    let is_command = route == "/api/v1/commands" && req.method() == Method::POST;
    let is_events = route == "/api/v1/events";
    req.extensions_mut().insert(principal);
    if let Some(live) = &live {
        req.extensions_mut().insert(CurrentSession(live.clone()));
    }
    let response = next.run(req).await;
    if is_command {
        return count_command(&web, response).await;
    }
    let response = if is_events && response.status() == StatusCode::OK {
        count_stream(&web, response)
    } else {
        response
    };
    let response = match live {
        Some(live) if is_event_stream(&response) => end_with_session(response, live),
        _ => response,
    };
    forget_stale(&web, stale, response)
}

/// Clears a stale session cookie in the browser (unless the answer sets a new one).
fn forget_stale(web: &Web, stale: bool, mut response: Response) -> Response {
    if stale && !response.headers().contains_key(header::SET_COOKIE) {
        response.headers_mut().insert(header::SET_COOKIE, web.clear_cookie());
    }
    response
}

fn is_event_stream(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// Ends a streaming body when its session ends (logout, eviction) or expires: a logged-out
/// browser or a stolen cookie must not keep reading the floor.
fn end_with_session(response: Response, live: Live) -> Response {
    let (parts, body) = response.into_parts();
    let expires = tokio::time::Instant::from_std(live.expires);
    let ended = async move {
        tokio::select! {
            () = live.ended.cancelled() => {}
            () = tokio::time::sleep_until(expires) => {}
        }
    };
    let stream = body.into_data_stream().take_until(ended);
    Response::from_parts(parts, Body::from_stream(stream))
}

fn deny(web: &Web, rule: Rule, req: &Request, needs_login: bool) -> Response {
    web.metrics.denied(if needs_login { 401 } else { 403 });
    if let Rule::Page(_) = rule {
        if needs_login {
            let next = req.uri().path_and_query().map_or("/", |p| p.as_str());
            return Redirect::to(&format!("/login?next={}", crate::api::pages::encode_component(next)))
                .into_response();
        }
        return crate::api::pages::forbidden_page();
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
    let open = web.metrics.stream_opened();
    let stream = body.into_data_stream().map(move |chunk| {
        let _open = &open;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in ["127.0.0.1:8080", "localhost:1", "LOCALHOST", "[::1]:8080", "127.1.2.3"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["evil.example:8080", "10.0.0.1:8080", "", "[fe80::1]:80", "localhost.evil.example"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    /// An event-stream response whose body never ends by itself.
    fn endless_stream() -> Response {
        let body = Body::from_stream(futures_util::stream::pending::<Result<bytes::Bytes, std::io::Error>>());
        let mut response = Response::new(body);
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        response
    }

    async fn ends(response: Response) -> bool {
        let mut stream = response.into_body().into_data_stream();
        tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
            .await
            .is_ok_and(|c| c.is_none())
    }

    #[tokio::test]
    async fn a_sessions_stream_ends_with_its_logout_or_its_expiry() {
        let principal = Principal::Member { participant: "vogt".into() };
        let far = std::time::Instant::now() + std::time::Duration::from_secs(3600);
        let live = Live { principal: principal.clone(), ended: Default::default(), expires: far };
        let response = end_with_session(endless_stream(), live.clone());
        assert!(is_event_stream(&response));
        live.ended.cancel();
        assert!(ends(response).await, "logout ends the stream");

        let soon = std::time::Instant::now() + std::time::Duration::from_millis(50);
        let expiring = Live { principal, ended: Default::default(), expires: soon };
        assert!(ends(end_with_session(endless_stream(), expiring)).await, "expiry ends the stream");
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; podium_session=xyz ; b=2"));
        assert_eq!(session_cookie(&headers, "podium_session"), Some("xyz"));
        assert_eq!(session_cookie(&headers, "__Host-podium_session"), None);
        headers.insert(header::COOKIE, HeaderValue::from_static("podium_sessionx=1"));
        assert_eq!(session_cookie(&headers, "podium_session"), None);
    }
}
