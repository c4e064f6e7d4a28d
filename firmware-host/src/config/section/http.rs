//! `[http]`: the web server (API, consoles): where it listens, and what one client may hold.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::super::reader::{Cx, Table};

/// Listen address when `[http]` or `listen` is absent.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// What the HTTP server allows one client and all clients together (see config/README.md,
/// `[http]`). The defaults fit the unit's `LimitNOFILE=65536` with room to spare for the
/// journal, serial ports and the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// `header_timeout_s`: a connection must deliver a request's headers this long after it
    /// opens or after its previous answer; otherwise it is closed. Also the idle keep-alive
    /// limit. Long answers (event streams) are not affected.
    pub header_timeout: Duration,
    /// `max_connections`: open connections in all.
    pub max_connections: usize,
    /// `reserved_connections`: of those, kept for consoles that logged in recently (and for
    /// loopback when `[web] trust_loopback_as` is set); other clients get at most
    /// `max_connections - reserved_connections`.
    pub reserved_connections: usize,
    /// `max_connections_per_address`: open connections of one address that has not logged in.
    pub max_connections_per_address: usize,
    /// `max_streams_per_address`: open event streams of one address without credentials.
    pub max_streams_per_address: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 8192,
            reserved_connections: 1024,
            max_connections_per_address: 128,
            max_streams_per_address: 32,
        }
    }
}

/// The validated `[http]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Http {
    pub listen: SocketAddr,
    pub limits: HttpLimits,
    /// `trusted_proxies`: reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            limits: HttpLimits::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Keys of `[http]` (also recognised when written above the first section header).
pub(crate) const HTTP_KEYS: [&str; 7] = [
    "listen",
    "trusted_proxies",
    "header_timeout_s",
    "max_connections",
    "reserved_connections",
    "max_connections_per_address",
    "max_streams_per_address",
];

/// Reads `[http]` (optional).
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Http {
    let mut http = Http::default();
    let Some(mut t) = root.table(cx, "http") else {
        return http;
    };
    if let Some(listen) = t.string(cx, "listen") {
        match listen.v.trim().parse::<SocketAddr>() {
            Ok(addr) => http.listen = addr,
            Err(_) => {
                let help = match listen.v.trim().parse::<IpAddr>() {
                    Ok(IpAddr::V4(ip)) => format!("add a port, e.g. \"{ip}:8080\""),
                    Ok(IpAddr::V6(ip)) => format!("add a port, e.g. \"[{ip}]:8080\""),
                    Err(_) => "write an IP address and a port, e.g. \"127.0.0.1:8080\", \
                               \"0.0.0.0:8080\" or \"[::]:8080\" (host names are not allowed)"
                        .to_owned(),
                };
                cx.err(
                    &listen.span,
                    t.field("listen"),
                    format!("`{}` is not a valid listen address", listen.v),
                    Some(help),
                );
            }
        }
    }
    for proxy in t.array_of_strings(cx, "trusted_proxies").unwrap_or_default() {
        match proxy.v.trim().parse::<IpAddr>() {
            Ok(ip) => http.trusted_proxies.push(ip.to_canonical()),
            Err(_) => cx.err(
                &proxy.span,
                t.field("trusted_proxies"),
                format!("`{}` is not an IP address", proxy.v),
                Some("name each reverse proxy by its address, e.g. \"127.0.0.1\" or \"::1\"".to_owned()),
            ),
        }
    }
    let limits = &mut http.limits;
    if let Some(s) = t.integer_in(cx, "header_timeout_s", 1, 300) {
        limits.header_timeout = Duration::from_secs(s.v as u64);
    }
    // Each connection is a file descriptor; the unit allows 65,536.
    let max = t.integer_in(cx, "max_connections", 16, 60_000);
    if let Some(n) = &max {
        limits.max_connections = n.v as usize;
    }
    let reserved = t.integer_in(cx, "reserved_connections", 0, 60_000);
    if let Some(n) = &reserved {
        limits.reserved_connections = n.v as usize;
    }
    if let Some(n) = t.integer_in(cx, "max_connections_per_address", 1, 60_000) {
        limits.max_connections_per_address = n.v as usize;
    }
    if let Some(n) = t.integer_in(cx, "max_streams_per_address", 1, 60_000) {
        limits.max_streams_per_address = n.v as usize;
    }
    if limits.reserved_connections >= limits.max_connections {
        // Clients that have not logged in need some room; named at the key that was written.
        let (key, span) = match (&reserved, &max) {
            (Some(r), _) => ("reserved_connections", r.span.clone()),
            (None, Some(m)) => ("max_connections", m.span.clone()),
            (None, None) => unreachable!("the defaults leave room"),
        };
        cx.err(
            &span,
            t.field(key),
            format!(
                "reserved_connections ({}) must be less than max_connections ({})",
                limits.reserved_connections, limits.max_connections
            ),
            Some("keep some connections for clients that have not logged in".to_owned()),
        );
    }
    t.finish(cx);
    http
}
