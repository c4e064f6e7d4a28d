//! `[cocon_api]`: Podium answers the Televic CoCon REST API's microphone subset, so
//! control systems written for Televic (Crestron, Q-SYS, Companion, camera trackers)
//! drive Podium's floor unchanged. CoCon has no logins: the addresses in `trusted` act with
//! `role`'s rights (as `[web] trust_loopback_as` does for loopback); everyone else is
//! refused.

use std::net::{IpAddr, SocketAddr};

use super::super::reader::{Cx, Table};
use super::web::UserRole;

/// `[cocon_api]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoconApiConfig {
    /// Where it listens (Televic's port is 8890).
    pub listen: SocketAddr,
    /// Clients that may use it.
    pub trusted: Vec<IpAddr>,
    /// What they may do: `viewer` reads, `chair` or `technician` also switch microphones.
    pub role: UserRole,
}

/// Reads `[cocon_api]`; `None` when absent.
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Option<CoconApiConfig> {
    let mut t = root.table(cx, "cocon_api")?;
    let listen = t.string(cx, "listen").and_then(|s| match s.v.trim().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            let help = Some("an address and port, e.g. \"0.0.0.0:8890\"".to_owned());
            cx.err(&s.span, t.field("listen"), format!("`{}` is not an address and port", s.v), help);
            None
        }
    });
    if !t.has("listen") {
        t.missing(cx, "listen", "\"0.0.0.0:8890\"");
    }
    let mut trusted = Vec::new();
    for s in t.array_of_strings(cx, "trusted").unwrap_or_default() {
        match s.v.trim().parse::<IpAddr>() {
            Ok(ip) => trusted.push(ip),
            Err(_) => cx.err(&s.span, t.field("trusted"), format!("`{}` is not an IP address", s.v), None),
        }
    }
    if !t.has("trusted") {
        t.missing(cx, "trusted", "[\"10.0.0.7\"] (the control system's address)");
    }
    let role = match t.choice(cx, "role", "role", &["chair", "technician", "viewer"]) {
        Some(r) => UserRole::from_name(r.v),
        None => Some(UserRole::Viewer),
    };
    t.finish(cx);
    Some(CoconApiConfig { listen: listen?, trusted, role: role? })
}
