//! `[http]`: the web server (API, consoles).

use std::net::{IpAddr, SocketAddr};

use super::super::reader::{Cx, Table};

/// Listen address when `[http]` or `listen` is absent.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The validated `[http]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Http {
    pub listen: SocketAddr,
}

impl Default for Http {
    fn default() -> Self {
        Http { listen: DEFAULT_LISTEN.parse().expect("valid default") }
    }
}

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
    t.finish(cx);
    http
}
