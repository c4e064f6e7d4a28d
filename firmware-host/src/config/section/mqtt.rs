//! `[mqtt]`: the link to remote participants and networked devices.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::super::reader::{Cx, Table};
use super::non_empty;

/// Which broker podiumd talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broker {
    /// A broker inside podiumd, listening on `listen` (one room, nothing else to install).
    Embedded {
        /// Where the embedded broker listens.
        listen: SocketAddr,
    },
    /// An external broker (Mosquitto on the Pi, or a central cluster).
    External {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
    },
}

/// The validated `[mqtt]` section; absent means MQTT is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mqtt {
    /// Which broker.
    pub broker: Broker,
    /// Topic prefix; topics are `<prefix>/<room id>/...`.
    pub prefix: String,
    /// The client id podiumd connects with (its persistent session at the broker).
    pub client_id: Option<String>,
    /// User name at the broker.
    pub username: Option<String>,
    /// Password at the broker (prefer `password_file`).
    pub password: Option<String>,
    /// A file whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// Connect with TLS (server certificate verified; never disabled).
    pub tls: bool,
    /// PEM file with the CA certificate(s) that sign the broker's certificate.
    pub ca_file: Option<PathBuf>,
    /// MQTT keep-alive in seconds.
    pub keep_alive_s: u16,
}

/// Default topic prefix: the contract's name and version.
pub const DEFAULT_PREFIX: &str = "podium/v1";
/// Default listen address of the embedded broker.
pub const DEFAULT_EMBEDDED_LISTEN: &str = "127.0.0.1:1883";

const BROKERS: &[&str] = &["embedded", "external"];

/// Reads `[mqtt]` (optional).
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Option<Mqtt> {
    let mut t = root.table(cx, "mqtt")?;
    let kind = t.choice(cx, "broker", "broker", BROKERS).map(|s| s.v);
    let listen = t.string(cx, "listen");
    let host = t.string(cx, "host");
    let tls_value = t.boolean(cx, "tls");
    let tls = tls_value.as_ref().is_some_and(|b| b.v);
    let port = t.u16_in(cx, "port", 1, u16::MAX).map(|p| p.v);
    let mut mqtt = Mqtt {
        broker: Broker::Embedded { listen: DEFAULT_EMBEDDED_LISTEN.parse().expect("valid default") },
        prefix: DEFAULT_PREFIX.to_owned(),
        client_id: t.string(cx, "client_id").filter(|s| non_empty(cx, &t, "client_id", s)).map(|s| s.v),
        username: t.string(cx, "username").map(|s| s.v),
        password: None,
        password_file: None,
        tls,
        ca_file: t.string(cx, "ca_file").map(|s| PathBuf::from(s.v)),
        keep_alive_s: t.u16_in(cx, "keep_alive_s", 5, 3600).map(|k| k.v).unwrap_or(15),
    };
    let password = t.string(cx, "password");
    let password_file = t.string(cx, "password_file");
    if let (Some(_), Some(file)) = (&password, &password_file) {
        cx.err(&file.span, t.field("password_file"), "give either password or password_file, not both", None);
    }
    mqtt.password = password.map(|s| s.v);
    mqtt.password_file = password_file.map(|s| PathBuf::from(s.v));
    if let Some(prefix) = t.string(cx, "prefix") {
        let bad = prefix.v.is_empty()
            || prefix.v.starts_with('/')
            || prefix.v.ends_with('/')
            || prefix.v.contains(['+', '#', '\0']);
        if bad {
            cx.err(
                &prefix.span,
                t.field("prefix"),
                format!("`{}` is not a valid topic prefix", prefix.v),
                Some("use topic levels without wildcards or leading/trailing `/`, e.g. \"podium/v1\"".into()),
            );
        } else {
            mqtt.prefix = prefix.v;
        }
    }
    match kind {
        Some("external") => match host {
            Some(host) if non_empty(cx, &t, "host", &host) => {
                mqtt.broker =
                    Broker::External { host: host.v, port: port.unwrap_or(if tls { 8883 } else { 1883 }) };
            }
            Some(_) => {}
            None => t.missing(cx, "host", "\"mqtt.example.org\" (the external broker)"),
        },
        Some(_) => {
            if let Some(listen) = listen {
                match listen.v.trim().parse::<SocketAddr>() {
                    Ok(addr) => mqtt.broker = Broker::Embedded { listen: addr },
                    Err(_) => cx.err(
                        &listen.span,
                        t.field("listen"),
                        format!("`{}` is not a valid listen address", listen.v),
                        Some("write an IP address and a port, e.g. \"127.0.0.1:1883\"".into()),
                    ),
                }
            }
        }
        None if !t.has("broker") => t.missing(cx, "broker", "\"embedded\" or \"external\""),
        None => {}
    }
    if let Some(tls) = tls_value.as_ref().filter(|b| b.v)
        && !matches!(mqtt.broker, Broker::Embedded { .. })
        && mqtt.ca_file.is_none()
    {
        cx.err(
            &tls.span,
            t.field("tls"),
            "tls needs ca_file: the CA that signed the broker's certificate",
            Some("add `ca_file = \"/etc/podium/broker-ca.pem\"`; verification cannot be turned off".into()),
        );
    }
    if let Some(tls) = tls_value.filter(|b| b.v)
        && matches!(mqtt.broker, Broker::Embedded { .. })
    {
        cx.err(
            &tls.span,
            t.field("tls"),
            "the embedded broker listens without TLS",
            Some("use TLS with an external broker, or keep the embedded broker on loopback".into()),
        );
    }
    t.finish(cx);
    Some(mqtt)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Broker, DEFAULT_PREFIX};
    use crate::config::parse;

    const ROOM: &str = "[room]\nid = \"saal\"\nname = \"Saal\"\n";

    fn errors(text: &str) -> Vec<(usize, usize, String, String)> {
        match parse(&format!("{ROOM}{text}"), Path::new("room.toml")) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(|e| (e.line, e.column, e.field.clone(), e.message.clone())).collect(),
        }
    }

    #[test]
    fn absent_means_off_and_defaults_apply() {
        let room = parse(ROOM, Path::new("room.toml")).unwrap();
        assert_eq!(room.mqtt, None);
        let room = parse(&format!("{ROOM}[mqtt]\nbroker = \"embedded\"\n"), Path::new("r.toml")).unwrap();
        let mqtt = room.mqtt.unwrap();
        assert_eq!(mqtt.broker, Broker::Embedded { listen: "127.0.0.1:1883".parse().unwrap() });
        assert_eq!(mqtt.prefix, DEFAULT_PREFIX);
        let text = format!(
            "{ROOM}[mqtt]\nbroker = \"external\"\nhost = \"mqtt.local\"\ntls = true\nca_file = \"ca.pem\"\n"
        );
        let mqtt = parse(&text, Path::new("r.toml")).unwrap().mqtt.unwrap();
        assert_eq!(mqtt.broker, Broker::External { host: "mqtt.local".into(), port: 8883 });
    }

    #[test]
    fn every_mistake_is_reported_with_its_position() {
        let found = errors(
            "[mqtt]\nbroker = \"extrenal\"\nprefix = \"podium/#\"\nkeep_alive_s = 1\nlisten = \"nowhere\"\npasword = \"x\"\n",
        );
        let fields: Vec<&str> = found.iter().map(|e| e.2.as_str()).collect();
        assert_eq!(fields, ["mqtt.broker", "mqtt.prefix", "mqtt.keep_alive_s", "mqtt.pasword"], "{found:?}");
        assert_eq!((found[0].0, found[0].1), (5, 10));
        let missing_host = errors("[mqtt]\nbroker = \"external\"\n");
        assert!(missing_host[0].3.contains("host"), "{missing_host:?}");
        let no_ca = errors("[mqtt]\nbroker = \"external\"\nhost = \"h\"\ntls = true\n");
        assert!(no_ca[0].3.contains("ca_file"), "{no_ca:?}");
        let both =
            errors("[mqtt]\nbroker = \"external\"\nhost = \"h\"\npassword = \"a\"\npassword_file = \"b\"\n");
        assert_eq!(both[0].2, "mqtt.password_file");
        let tls_embedded = errors("[mqtt]\nbroker = \"embedded\"\ntls = true\n");
        assert_eq!(tls_embedded[0].2, "mqtt.tls");
        let bad_listen = errors("[mqtt]\nbroker = \"embedded\"\nlisten = \"localhost\"\n");
        assert_eq!(bad_listen[0].2, "mqtt.listen");
    }
}
