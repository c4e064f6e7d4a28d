//! What the consoles and the access rules share: users and personal links from the room
//! file, live sessions, counters for `/metrics` and the session's clock. The pages
//! themselves are in `pages.rs` (files under `firmware-host/web/`), who may do what in
//! `access/`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use podium_floor::setup::ParticipantId;
use tokio::sync::Semaphore;

use super::access::{Principal, SESSION_COOKIE, secret, sessions};
use super::error::ApiError;
use super::metrics;
use crate::clock::SessionClock;
use crate::config::{RoomConfig, WebConfig};

/// The member whose personal link `podiumd demo` prints.
pub const DEMO_REMOTE_MEMBER: &str = "vogt";
/// The demo's personal-link token: public by design (its hash is in `config/demo.toml`).
pub const DEMO_REMOTE_TOKEN: &str = "demo-remote-link-vogt";

/// Everything the consoles and the access rules need, shared by all requests.
pub struct Web {
    /// `[web]`, users and personal links from the room configuration.
    pub config: WebConfig,
    /// The room's display name.
    pub room_name: String,
    /// Live logins and opened personal links.
    pub sessions: sessions::Sessions,
    /// Counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// The session's clock (the same the owner stamps events with).
    pub clock: SessionClock,
    /// Password checks running at once, at most.
    pub login_slots: Semaphore,
    /// SHA-256 digest of each personal-link token → the member's id.
    tokens: HashMap<[u8; 32], ParticipantId>,
}

impl Web {
    /// The web state for a room whose floor starts at sequence number `seq`.
    pub fn new(config: &RoomConfig, clock: SessionClock, seq: u64) -> Web {
        let tokens = config
            .web
            .remote_links
            .iter()
            .filter_map(|link| Some((digest_from_hash(&link.token_hash)?, link.member.clone())))
            .collect();
        Web {
            config: config.web.clone(),
            room_name: config.room_name.clone(),
            sessions: sessions::Sessions::new(Duration::from_secs(
                u64::from(config.web.session_hours) * 3600,
            )),
            metrics: Arc::new(metrics::Metrics::new(seq)),
            clock,
            login_slots: Semaphore::new(2),
            tokens,
        }
    }

    /// The member a personal-link token belongs to.
    pub fn member_for_token(&self, token: &str) -> Option<ParticipantId> {
        if !secret::plausible_token(token) {
            return None;
        }
        self.tokens.get(&secret::token_digest(token)).cloned()
    }

    /// Starts a session; returns the `Set-Cookie` value.
    pub fn start_session(&self, principal: Principal) -> Result<HeaderValue, ApiError> {
        let id = self.sessions.create(principal).map_err(|e| {
            tracing::error!("{e}");
            ApiError::unavailable()
        })?;
        let max_age = self.sessions.lifetime().as_secs();
        let secure = if self.config.cookie_secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ))
        .map_err(|_| ApiError::unavailable())
    }

    /// A `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self) -> HeaderValue {
        let secure = if self.config.cookie_secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("podium_session=; Path=/; Max-Age=0"))
    }
}

fn digest_from_hash(hash: &str) -> Option<[u8; 32]> {
    let hex = hash.strip_prefix(crate::config::TOKEN_HASH_PREFIX)?;
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The console addresses, printed after the `listening on` line (and the demo's remote
/// link, whose token is public by design).
pub fn announce(config: &WebConfig, addr: SocketAddr) -> Vec<String> {
    let base = format!("http://{addr}");
    let mut lines = vec![
        format!("chair console: {base}/chair"),
        format!("room display:  {base}/display"),
        format!("stream overlay: {base}/overlay"),
        format!("technician:    {base}/tech"),
    ];
    if let Some(link) = &config.demo_link {
        lines.push(format!("remote page of `{}`: {base}/remote/{}", link.member, link.token));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_link_printed_at_start_opens_the_demo_members_page() {
        let room = crate::config::parse(
            include_str!("../../../config/demo.toml"),
            std::path::Path::new("demo.toml"),
        )
        .expect("the demo configuration is valid");
        let web = Web::new(&room, SessionClock::starting_at(0), 0);
        assert_eq!(web.member_for_token(DEMO_REMOTE_TOKEN).as_deref(), Some(DEMO_REMOTE_MEMBER));
        assert_eq!(web.member_for_token("demo-remote-link-vogT"), None);
        // The demo's documented logins.
        let hash =
            |name: &str| web.config.users.iter().find(|u| u.name == name).map(|u| u.password_hash.clone());
        assert!(secret::verify_password(&hash("chair").expect("user chair"), "chair"));
        assert!(secret::verify_password(&hash("technik").expect("user technik"), "technik"));
        assert_eq!(web.config.trust_loopback_as, Some(crate::config::UserRole::Chair));
    }

    #[test]
    fn cookies_carry_the_safe_attributes() {
        let mut room =
            crate::config::parse("[room]\nid = \"r\"\nname = \"R\"\n", std::path::Path::new("r.toml"))
                .expect("valid");
        let web = Web::new(&room, SessionClock::starting_at(0), 0);
        let cookie = web.start_session(Principal::Anonymous).expect("cookie");
        let cookie = cookie.to_str().expect("ascii");
        assert!(cookie.starts_with("podium_session="));
        for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Strict", "; Max-Age=43200"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        assert!(!cookie.contains("Secure"));
        room.web.cookie_secure = true;
        let secure = Web::new(&room, SessionClock::starting_at(0), 0);
        assert!(
            secure
                .start_session(Principal::Anonymous)
                .expect("cookie")
                .to_str()
                .expect("ascii")
                .ends_with("; Secure")
        );
        assert!(secure.clear_cookie().to_str().expect("ascii").contains("Max-Age=0"));
    }
}
