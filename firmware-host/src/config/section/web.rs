//! `[web]`, `[[user]]` and `[[remote_link]]`: who may use the web consoles and the API.
//!
//! Passwords are stored as argon2 hashes (`podiumd hash-password`); a remote member's
//! personal link carries a random token of which only the SHA-256 hash is stored
//! (`podiumd remote-link MEMBER`). Nothing secret is kept in plain text.

use std::collections::HashMap;

use super::super::reader::{Cx, Sp, Table, did_you_mean};
use super::non_empty;
use super::seating::MemberEntry;

/// Default session lifetime in hours.
pub const DEFAULT_SESSION_HOURS: u32 = 12;
/// Longest session lifetime in hours (30 days).
pub const MAX_SESSION_HOURS: u32 = 720;
/// Prefix of a stored token hash; the rest is 64 lowercase hex digits.
pub const TOKEN_HASH_PREFIX: &str = "sha256:";

/// A role that logs in with a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserRole {
    /// Sitzungsleitung: the chair console and every floor command.
    Chair,
    /// Room technician: diagnostics, devices, and the floor as operator.
    Technician,
    /// Read-only: display, overlay, state and events.
    Viewer,
    /// The video-conference bridge page (`/bridge/jitsi`) on the room's conference PC:
    /// reads the whole floor and relays remote members' presence and hands.
    Bridge,
}

impl UserRole {
    /// Names as written in the configuration.
    pub const NAMES: &'static [&'static str] = &["chair", "technician", "viewer", "bridge"];

    pub(crate) fn from_name(name: &str) -> Option<UserRole> {
        match name {
            "chair" => Some(UserRole::Chair),
            "technician" => Some(UserRole::Technician),
            "viewer" => Some(UserRole::Viewer),
            "bridge" => Some(UserRole::Bridge),
            _ => None,
        }
    }

    /// The name as written in the configuration and shown by the API.
    pub fn name(self) -> &'static str {
        match self {
            UserRole::Chair => "chair",
            UserRole::Technician => "technician",
            UserRole::Viewer => "viewer",
            UserRole::Bridge => "bridge",
        }
    }
}

/// One `[[user]]`: a login for the chair, a technician or a viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// What the user may do.
    pub role: UserRole,
    /// Argon2 hash in PHC format (`$argon2id$v=19$m=...`).
    pub password_hash: String,
}

/// One `[[remote_link]]`: a personal link of a remote member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteLink {
    /// The member's id (`[[member]].id`, with `remote_allowed = true`).
    pub member: String,
    /// `sha256:` + 64 hex digits: the hash of the link's token.
    pub token_hash: String,
}

/// A personal link printed by `podiumd demo` (never read from a file: the demo's token is
/// public by design).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLink {
    /// The member the link belongs to.
    pub member: String,
    /// The token in plain text.
    pub token: String,
}

/// The validated access settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    /// `/display` and the read API (state, events) without login.
    pub display_public: bool,
    /// `/overlay` and the read API without login.
    pub overlay_public: bool,
    /// `/metrics` without login.
    pub metrics_public: bool,
    /// API clients connecting over loopback without credentials act in this role
    /// (for scripts and the demo; off by default).
    pub trust_loopback_as: Option<UserRole>,
    /// How long a login (or an opened personal link) stays valid.
    pub session_hours: u32,
    /// Mark the session cookie `Secure` (set when a TLS proxy is in front).
    pub cookie_secure: bool,
    /// Logins.
    pub users: Vec<User>,
    /// Personal links of remote members.
    pub remote_links: Vec<RemoteLink>,
    /// Where the room's consoles are reached from the city's network (`public_url`, e.g.
    /// `https://ratssaal.stadt.example`): the fleet view links to the technician console.
    pub public_url: Option<String>,
    /// The demo's printed remote link; `None` outside `podiumd demo`.
    pub demo_link: Option<DemoLink>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            display_public: false,
            overlay_public: false,
            metrics_public: false,
            trust_loopback_as: None,
            session_hours: DEFAULT_SESSION_HOURS,
            cookie_secure: false,
            users: Vec::new(),
            remote_links: Vec::new(),
            public_url: None,
            demo_link: None,
        }
    }
}

/// Keys of `[web]`.
pub(crate) const WEB_KEYS: [&str; 6] = [
    "display_public",
    "overlay_public",
    "metrics_public",
    "trust_loopback_as",
    "session_hours",
    "cookie_secure",
];

/// Spans of `[[remote_link]]` members, for the check against `[[member]]`.
pub(crate) struct LinkSpans {
    members: Vec<Option<Sp<String>>>,
}

/// Reads `[web]`, `[[user]]` and `[[remote_link]]` (all optional).
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> (WebConfig, LinkSpans) {
    let mut web = WebConfig::default();
    if let Some(mut t) = root.table(cx, "web") {
        read_web(&mut t, cx, &mut web);
        t.finish(cx);
    }
    web.users = read_users(root, cx);
    let (links, spans) = read_links(root, cx);
    web.remote_links = links;
    (web, spans)
}

fn read_web(t: &mut Table<'_>, cx: &mut Cx<'_>, web: &mut WebConfig) {
    if let Some(b) = t.boolean(cx, "display_public") {
        web.display_public = b.v;
    }
    if let Some(b) = t.boolean(cx, "overlay_public") {
        web.overlay_public = b.v;
    }
    if let Some(b) = t.boolean(cx, "metrics_public") {
        web.metrics_public = b.v;
    }
    if let Some(role) = t.choice(cx, "trust_loopback_as", "role", UserRole::NAMES) {
        web.trust_loopback_as = UserRole::from_name(role.v);
    }
    if let Some(h) = t.integer_in(cx, "session_hours", 1, i64::from(MAX_SESSION_HOURS)) {
        web.session_hours = u32::try_from(h.v).unwrap_or(DEFAULT_SESSION_HOURS);
    }
    if let Some(b) = t.boolean(cx, "cookie_secure") {
        web.cookie_secure = b.v;
    }
    if let Some(url) = t.string(cx, "public_url") {
        let trimmed = url.v.trim_end_matches('/');
        if trimmed.starts_with("https://") || trimmed.starts_with("http://") {
            web.public_url = Some(trimmed.to_owned());
        } else {
            cx.err(
                &url.span,
                t.field("public_url"),
                "public_url must be an http:// or https:// address",
                Some("e.g. public_url = \"https://ratssaal.stadt.example\"".into()),
            );
        }
    }
}

fn read_users(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Vec<User> {
    let mut users = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for mut t in root.tables(cx, "user") {
        let name = t.string(cx, "name");
        match &name {
            Some(n) => check_user_name(cx, &t, n),
            None if !t.has("name") => t.missing(cx, "name", "\"vorsitz\""),
            None => {}
        }
        let role = t.choice(cx, "role", "role", UserRole::NAMES);
        if role.is_none() && !t.has("role") {
            t.missing(cx, "role", "\"chair\"");
        }
        let hash = t.string(cx, "password_hash");
        match &hash {
            Some(h) => check_password_hash(cx, &t, h),
            None if !t.has("password_hash") => {
                let help = "add `password_hash = \"$argon2id$...\"`; create it with \
                            `podiumd hash-password` (reads the password from standard input)";
                let field = t.field("password_hash");
                let path = field.trim_end_matches(".password_hash").to_owned();
                cx.err(&t.span, field, format!("missing key `password_hash` in `{path}`"), Some(help.into()));
            }
            None => {}
        }
        t.finish(cx);
        if let Some(n) = &name {
            if let Some(first) = seen.get(&n.v) {
                cx.err(
                    &n.span,
                    format!("user[{}].name", users.len() + 1),
                    format!("user `{}` appears twice (first at line {first})", n.v),
                    Some("every user name must be unique".into()),
                );
            } else {
                seen.insert(n.v.clone(), cx.line_of(n.span.start));
            }
        }
        if let (Some(name), Some(role), Some(hash)) =
            (name, role.and_then(|r| UserRole::from_name(r.v)), hash)
        {
            users.push(User { name: name.v, role, password_hash: hash.v });
        } else {
            // Keep the numbering of later entries in messages right.
            users.push(User { name: String::new(), role: UserRole::Viewer, password_hash: String::new() });
        }
    }
    users.retain(|u| !u.name.is_empty() && !u.password_hash.is_empty());
    users
}

fn check_user_name(cx: &mut Cx<'_>, t: &Table<'_>, name: &Sp<String>) {
    if !non_empty(cx, t, "name", name) {
        return;
    }
    if let Some(bad) = name.v.chars().find(|c| c.is_whitespace() || c.is_control()) {
        cx.err(
            &name.span,
            t.field("name"),
            format!("the user name `{}` contains {bad:?}", name.v),
            Some("user names must not contain spaces or control characters, e.g. \"vorsitz\"".into()),
        );
    }
}

fn check_password_hash(cx: &mut Cx<'_>, t: &Table<'_>, hash: &Sp<String>) {
    let ok = argon2::PasswordHash::new(&hash.v)
        .is_ok_and(|h| matches!(h.algorithm.as_str(), "argon2id" | "argon2i" | "argon2d"));
    if !ok {
        cx.err(
            &hash.span,
            t.field("password_hash"),
            "password_hash is not an argon2 hash",
            Some(
                "create one with `podiumd hash-password` (it reads the password from standard \
                 input and prints `$argon2id$v=19$...`); never write the password itself here"
                    .into(),
            ),
        );
    }
}

/// Whether `s` is `sha256:` followed by 64 lowercase hex digits.
pub fn is_token_hash(s: &str) -> bool {
    s.strip_prefix(TOKEN_HASH_PREFIX).is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn read_links(root: &mut Table<'_>, cx: &mut Cx<'_>) -> (Vec<RemoteLink>, LinkSpans) {
    let mut links = Vec::new();
    let mut spans = LinkSpans { members: Vec::new() };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, mut t) in root.tables(cx, "remote_link").into_iter().enumerate() {
        let member = t.string(cx, "member");
        match &member {
            Some(m) => {
                non_empty(cx, &t, "member", m);
            }
            None if !t.has("member") => t.missing(cx, "member", "\"mueller\""),
            None => {}
        }
        let hash = t.string(cx, "token_hash");
        match &hash {
            Some(h) if !is_token_hash(&h.v) => cx.err(
                &h.span,
                t.field("token_hash"),
                "token_hash must be `sha256:` followed by 64 hex digits",
                Some("create a link and its hash with `podiumd remote-link MEMBER`".into()),
            ),
            Some(h) => {
                if let Some(first) = seen.get(&h.v) {
                    cx.err(
                        &h.span,
                        format!("remote_link[{}].token_hash", i + 1),
                        format!("this token hash appears twice (first at line {first})"),
                        Some("create a new link for each member with `podiumd remote-link MEMBER`".into()),
                    );
                } else {
                    seen.insert(h.v.clone(), cx.line_of(h.span.start));
                }
            }
            None if !t.has("token_hash") => t.missing(cx, "token_hash", "\"sha256:...\""),
            None => {}
        }
        t.finish(cx);
        if let (Some(m), Some(h)) = (&member, &hash)
            && is_token_hash(&h.v)
        {
            links.push(RemoteLink { member: m.v.clone(), token_hash: h.v.clone() });
        }
        spans.members.push(member);
    }
    (links, spans)
}

/// Checks that every `[[remote_link]]` names a member who may attend remotely.
pub(crate) fn check_links(cx: &mut Cx<'_>, spans: &LinkSpans, members: &[MemberEntry]) {
    let by_id: HashMap<&str, &MemberEntry> =
        members.iter().filter_map(|m| m.id.as_ref().map(|id| (id.v.as_str(), m))).collect();
    for (i, member) in spans.members.iter().enumerate() {
        let Some(m) = member else { continue };
        if m.v.trim().is_empty() {
            continue; // already reported
        }
        let field = format!("remote_link[{}].member", i + 1);
        match by_id.get(m.v.as_str()) {
            None => {
                let help = did_you_mean(&m.v, by_id.keys().copied())
                    .unwrap_or_else(|| format!("add a [[member]] with id = \"{}\" or fix the id", m.v));
                cx.err(&m.span, field, format!("`{}` is not the id of any [[member]]", m.v), Some(help));
            }
            Some(entry) if !entry.participant.remote_allowed => cx.err(
                &m.span,
                field,
                format!("member `{}` may not attend remotely", m.v),
                Some(format!("set `remote_allowed = true` in the [[member]] `{}`", m.v)),
            ),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::parse;

    const BASE: &str = "[room]\nid = \"r\"\nname = \"R\"\n\n[[member]]\nid = \"vogt\"\nname = \"Matthias Vogt\"\n\
                        remote_allowed = true\n\n[[member]]\nid = \"becker\"\nname = \"Thomas Becker\"\n";
    const HASH: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$8D9h2c8MDjFkddQMPIpYyQ$Co20UKRe6Kxy4+VntiyeaPXHov9TcGfZfVpl1i+JtUM";

    #[test]
    fn defaults_are_closed() {
        let room = parse(BASE, Path::new("t.toml")).expect("valid");
        assert_eq!(room.web, WebConfig::default());
        assert!(!room.web.display_public && !room.web.overlay_public && !room.web.metrics_public);
        assert_eq!(room.web.trust_loopback_as, None);
        assert_eq!(room.web.session_hours, DEFAULT_SESSION_HOURS);
    }

    #[test]
    fn values_are_read() {
        let text = format!(
            "{BASE}\n[web]\ndisplay_public = true\noverlay_public = true\nmetrics_public = true\n\
             trust_loopback_as = \"technician\"\nsession_hours = 2\ncookie_secure = true\n\n\
             [[user]]\nname = \"vorsitz\"\nrole = \"chair\"\npassword_hash = \"{HASH}\"\n\n\
             [[user]]\nname = \"gast\"\nrole = \"viewer\"\npassword_hash = \"{HASH}\"\n\n\
             [[remote_link]]\nmember = \"vogt\"\ntoken_hash = \"sha256:{}\"\n",
            "0123456789abcdef".repeat(4)
        );
        let web = parse(&text, Path::new("t.toml")).expect("valid").web;
        assert!(web.display_public && web.overlay_public && web.metrics_public && web.cookie_secure);
        assert_eq!(web.trust_loopback_as, Some(UserRole::Technician));
        assert_eq!(web.session_hours, 2);
        let users: Vec<(&str, UserRole)> = web.users.iter().map(|u| (u.name.as_str(), u.role)).collect();
        assert_eq!(users, [("vorsitz", UserRole::Chair), ("gast", UserRole::Viewer)]);
        assert_eq!(web.remote_links.len(), 1);
        assert_eq!(web.remote_links[0].member, "vogt");
    }

    #[test]
    fn every_mistake_is_reported_with_its_field() {
        let text = format!(
            "{BASE}\n[web]\nsession_hours = 0\ndisplay_public = \"yes\"\nlogin_banner = 1\n\n\
             [[user]]\nname = \"a b\"\nrole = \"admin\"\npassword_hash = \"{HASH}\"\n\n\
             [[user]]\nname = \"x\"\nrole = \"chair\"\n\n\
             [[user]]\nname = \"x\"\nrole = \"chair\"\npassword_hash = \"{HASH}\"\n\n\
             [[remote_link]]\nmember = \"becker\"\ntoken_hash = \"sha256:{h}\"\n\n\
             [[remote_link]]\nmember = \"vogt\"\ntoken_hash = \"sha256:{h}\"\n",
            h = "ab".repeat(32)
        );
        let errors = parse(&text, Path::new("t.toml")).expect_err("invalid").0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for field in [
            "web.session_hours",
            "web.display_public",
            "web.login_banner",
            "user[1].name",
            "user[1].role",
            "user[2].password_hash",
            "user[3].name",
            "remote_link[1].member",
            "remote_link[2].token_hash",
        ] {
            assert!(fields.contains(&field), "{field} not in {fields:?}");
        }
    }

    #[test]
    fn token_hash_format() {
        assert!(is_token_hash(&format!("sha256:{}", "a1".repeat(32))));
        assert!(!is_token_hash(&format!("sha256:{}", "A1".repeat(32))));
        assert!(!is_token_hash(&format!("sha1:{}", "a1".repeat(32))));
        assert!(!is_token_hash("sha256:abc"));
    }
}
