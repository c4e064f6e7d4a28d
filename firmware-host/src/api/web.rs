//! What the consoles and the access rules share: users and personal links from the room
//! file, live sessions, counters for `/metrics` and the session's clock. The pages
//! themselves are in `pages.rs` (files under `firmware-host/web/`), who may do what in
//! `access/`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderValue;
use podium_floor::setup::ParticipantId;
use tokio::sync::Semaphore;

use super::access::throttle::{LinkOpenThrottle, LoginThrottle, RetryAfter};
use super::access::{Principal, SECURE_SESSION_COOKIE, SESSION_COOKIE, secret, sessions};
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
    /// Failed logins per address and user (checked before a password check takes a slot).
    pub login_throttle: Mutex<LoginThrottle>,
    /// Personal-link opens per address.
    pub link_throttle: Mutex<LinkOpenThrottle>,
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
        let lifetime = Duration::from_secs(u64::from(config.web.session_hours) * 3600);
        let sessions = match &config.journal.location {
            crate::journal::JournalLocation::File(path) => {
                sessions::Sessions::persistent(lifetime, path, &credentials(&config.web))
            }
            crate::journal::JournalLocation::Memory => sessions::Sessions::new(lifetime),
        };
        Web {
            config: config.web.clone(),
            room_name: config.room_name.clone(),
            sessions,
            metrics: Arc::new(metrics::Metrics::new(seq)),
            clock,
            login_slots: Semaphore::new(2),
            login_throttle: Mutex::new(LoginThrottle::new()),
            link_throttle: Mutex::new(LinkOpenThrottle::default()),
            tokens,
        }
    }

    /// The name of the session cookie: `__Host-podium_session` with `cookie_secure` (the
    /// browser then accepts it only over HTTPS, for this host, path `/`).
    pub fn cookie_name(&self) -> &'static str {
        if self.config.cookie_secure { SECURE_SESSION_COOKIE } else { SESSION_COOKIE }
    }

    /// The login throttle, locked.
    pub fn login_throttle(&self) -> std::sync::MutexGuard<'_, LoginThrottle> {
        self.login_throttle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes one personal-link open for `address`.
    pub fn admit_link_open(&self, address: IpAddr) -> Result<(), RetryAfter> {
        let mut throttle = self.link_throttle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        throttle.admit(std::time::Instant::now(), address)
    }

    /// The member a personal-link token belongs to.
    pub fn member_for_token(&self, token: &str) -> Option<ParticipantId> {
        if !secret::plausible_token(token) {
            return None;
        }
        self.tokens.get(&secret::token_digest(token)).cloned()
    }

    /// Starts a session for a principal who proved `credential` (a user's password hash,
    /// a personal link's token hash: a stored session ends when it changes); returns the
    /// `Set-Cookie` value.
    pub async fn start_session(
        &self,
        principal: Principal,
        credential: &str,
    ) -> Result<HeaderValue, ApiError> {
        let id = self.sessions.create(principal, credential).await.map_err(|e| {
            tracing::error!("no session started: {e}");
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "sessions_full",
                "no session can be started now; try again later",
            )
        })?;
        let max_age = self.sessions.lifetime().as_secs();
        let secure = if self.config.cookie_secure { "; Secure" } else { "" };
        let name = self.cookie_name();
        HeaderValue::from_str(&format!(
            "{name}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ))
        .map_err(|_| ApiError::unavailable())
    }

    /// A `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self) -> HeaderValue {
        let secure = if self.config.cookie_secure { "; Secure" } else { "" };
        let name = self.cookie_name();
        HeaderValue::from_str(&format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"))
            .unwrap_or_else(|_| HeaderValue::from_static("podium_session=; Path=/; Max-Age=0"))
    }
}

/// Every credential tag a stored session may carry, with the principal it stands for.
fn credentials(config: &WebConfig) -> HashMap<String, Principal> {
    let users = config.users.iter().map(|u| {
        (sessions::credential_tag(&u.password_hash), Principal::User { name: u.name.clone(), role: u.role })
    });
    let links = config.remote_links.iter().map(|l| {
        (sessions::credential_tag(&l.token_hash), Principal::Member { participant: l.member.clone() })
    });
    users.chain(links).collect()
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

    #[tokio::test]
    async fn cookies_carry_the_safe_attributes() {
        let mut room =
            crate::config::parse("[room]\nid = \"r\"\nname = \"R\"\n", std::path::Path::new("r.toml"))
                .expect("valid");
        let web = Web::new(&room, SessionClock::starting_at(0), 0);
        let vogt = Principal::Member { participant: "vogt".into() };
        let cookie = web.start_session(vogt.clone(), "link").await.expect("cookie");
        let cookie = cookie.to_str().expect("ascii");
        assert!(cookie.starts_with("podium_session="));
        for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Strict", "; Max-Age=43200"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        assert!(!cookie.contains("Secure"));
        room.web.cookie_secure = true;
        let secure = Web::new(&room, SessionClock::starting_at(0), 0);
        let cookie = secure.start_session(vogt, "link").await.expect("cookie");
        let cookie = cookie.to_str().expect("ascii");
        assert!(cookie.ends_with("; Secure"));
        // With TLS the cookie is bound to this host and path (the `__Host-` prefix).
        assert!(cookie.starts_with("__Host-podium_session="), "{cookie}");
        let cleared = secure.clear_cookie();
        let cleared = cleared.to_str().expect("ascii");
        assert!(cleared.starts_with("__Host-podium_session=") && cleared.contains("Max-Age=0"));
    }
}
