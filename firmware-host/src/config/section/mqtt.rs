//! `[mqtt]`: the link to remote participants and networked devices.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::super::reader::{Cx, Span, Table};
use super::non_empty;
use super::web::is_token_hash;

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
    /// `[[mqtt_account]]`: bridges, participants' own clients and dashboards that may log in
    /// to the embedded broker (desk units have their `password_hash` in their own table).
    pub accounts: Vec<MqttAccount>,
    /// Where `listen` was written (for the credentials check of the desk units).
    pub(crate) listen_span: Option<Span>,
}

/// What an account of the embedded broker may do; the rights equal those the shipped
/// `deploy/mosquitto/podium.acl` gives the same kind of account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MqttRole {
    /// A video-conference bridge: acts for every remote participant of the room.
    Bridge,
    /// One remote participant's own client: the user name is the member id, and the client
    /// may act only as that member.
    Participant,
    /// Reads the room's public topics, publishes nothing.
    Dashboard,
}

const ROLES: &[&str] = &["bridge", "participant", "dashboard"];

/// `[[mqtt_account]]`: a login at the embedded broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttAccount {
    /// The user name it logs in with.
    pub username: String,
    /// What it may publish and read.
    pub role: MqttRole,
    /// `sha256:` and 64 hex digits: the hash of its generated secret (`podiumd mqtt-credential`).
    pub password_hash: String,
}

/// The longest user name (and desk-unit id, participant id) the embedded broker accepts.
pub const MAX_MQTT_USERNAME: usize = 64;

/// Default topic prefix: the contract's name and version.
pub const DEFAULT_PREFIX: &str = "podium/v1";
/// Default listen address of the embedded broker.
pub const DEFAULT_EMBEDDED_LISTEN: &str = "127.0.0.1:1883";

const BROKERS: &[&str] = &["embedded", "external"];

/// A networked desk unit (`[[mqtt_desk_unit]]`) on the MQTT broker
/// (contract: devices/docs/mqtt-desk-units.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttDeskUnit {
    /// The unit's own id, as in its topics (`…/desk/<id>/…`).
    pub id: String,
    /// The seat it serves.
    pub seat: u16,
    /// The chair's unit: its priority, next and stop keys act for the chair.
    pub chair: bool,
    /// Whether the chair's priority key also clears the list.
    pub priority_clears_requests: bool,
    /// `sha256:` hash of the secret it logs in to the embedded broker with (user name = id).
    pub password_hash: Option<String>,
}

impl Mqtt {
    /// Whether the embedded broker checks logins: as soon as any account or desk-unit
    /// credential is configured (and always when it listens beyond loopback).
    pub fn embedded_credentials(&self, units: &[MqttDeskUnit]) -> bool {
        matches!(self.broker, Broker::Embedded { .. })
            && (!self.accounts.is_empty() || units.iter().any(|u| u.password_hash.is_some()))
    }
}

/// Reads a `password_hash` that must be a `sha256:` token hash: where it was written, and
/// the hash if it is one.
fn token_hash(t: &mut Table<'_>, cx: &mut Cx<'_>) -> (Option<Span>, Option<String>) {
    let Some(hash) = t.string(cx, "password_hash") else { return (None, None) };
    if is_token_hash(&hash.v) {
        return (Some(hash.span), Some(hash.v));
    }
    cx.err(
        &hash.span,
        t.field("password_hash"),
        "password_hash is not a `sha256:` hash of a generated secret",
        Some(
            "create the secret and its hash with `podiumd mqtt-credential <user name>`; never write the \
             secret itself here"
                .into(),
        ),
    );
    (Some(hash.span), None)
}

fn read_accounts(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Vec<(MqttAccount, Span)> {
    let mut accounts: Vec<(MqttAccount, Span)> = Vec::new();
    for mut t in root.tables(cx, "mqtt_account") {
        let username = t.string(cx, "username");
        let role = t.choice(cx, "role", "role", ROLES).map(|s| s.v);
        let (_, hash) = token_hash(&mut t, cx);
        for (key, example) in [
            ("username", "\"bridge-ratssaal\""),
            ("role", "\"bridge\", \"participant\" or \"dashboard\""),
            ("password_hash", "\"sha256:…\" (from `podiumd mqtt-credential`)"),
        ] {
            if !t.has(key) {
                t.missing(cx, key, example);
            }
        }
        let mut ok = true;
        if let Some(name) = &username {
            if !valid_username(&name.v) {
                cx.err(
                    &name.span,
                    t.field("username"),
                    format!("`{}` is not a valid MQTT user name", name.v),
                    Some(format!("use 1 to {MAX_MQTT_USERNAME} characters from a-z A-Z 0-9 - _ .")),
                );
                ok = false;
            } else if let Some((_, first)) = accounts.iter().find(|(a, _)| a.username == name.v) {
                let line = cx.line_of(first.start);
                cx.err(
                    &name.span,
                    t.field("username"),
                    format!("account `{}` appears twice (first at line {line})", name.v),
                    None,
                );
                ok = false;
            }
        }
        t.finish(cx);
        let role = role.and_then(super::named::<MqttRole>);
        if let (true, Some(name), Some(role), Some(password_hash)) = (ok, username, role, hash) {
            accounts.push((MqttAccount { username: name.v, role, password_hash }, name.span));
        }
    }
    accounts
}

/// A user name the embedded broker accepts: the characters of unit ids, bounded.
pub fn valid_username(name: &str) -> bool {
    (1..=MAX_MQTT_USERNAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Reads every `[[mqtt_desk_unit]]`; `seats` are the room's seat numbers.
pub(crate) fn read_desk_units(
    root: &mut Table<'_>,
    cx: &mut Cx<'_>,
    seats: &[u16],
    mqtt: Option<&Mqtt>,
) -> Vec<MqttDeskUnit> {
    let mqtt_on = mqtt.is_some();
    let embedded = mqtt.is_some_and(|m| matches!(m.broker, Broker::Embedded { .. }));
    let mut units: Vec<MqttDeskUnit> = Vec::new();
    let mut seen_ids: Vec<(String, usize)> = Vec::new();
    let mut seen_seats: Vec<(u16, usize)> = Vec::new();
    let mut unit_spans: Vec<UnitSpan> = Vec::new();
    for mut t in root.tables(cx, "mqtt_desk_unit") {
        let id = t.string(cx, "id");
        let seat = t.u16_in(cx, "seat", 1, u16::MAX);
        let chair = t.boolean(cx, "chair").is_some_and(|b| b.v);
        let clears = t.boolean(cx, "priority_clears_requests").is_some_and(|b| b.v);
        let (hash_span, password_hash) = token_hash(&mut t, cx);
        if let (Some(span), false) = (&hash_span, embedded) {
            cx.err(
                span,
                t.field("password_hash"),
                "password_hash is for units on the embedded broker",
                Some("an external broker keeps its own password file (mosquitto_passwd)".into()),
            );
        }
        if !t.has("id") {
            t.missing(cx, "id", "\"esp32-a1b2c3\" (the unit's id in its topics)");
        }
        if !t.has("seat") {
            t.missing(cx, "seat", "12");
        }
        let mut ok = true;
        if let Some(id) = &id {
            if !podium_devices::mqtt_units::valid_unit_id(&id.v) {
                cx.err(
                    &id.span,
                    t.field("id"),
                    format!("`{}` is not a valid unit id", id.v),
                    Some("use 1 to 64 characters from a-z A-Z 0-9 - _ .".into()),
                );
                ok = false;
            } else if let Some((_, first)) = seen_ids.iter().find(|(seen, _)| *seen == id.v) {
                let line = cx.line_of(*first);
                cx.err(
                    &id.span,
                    t.field("id"),
                    format!("unit `{}` appears twice (first at line {line})", id.v),
                    None,
                );
                ok = false;
            } else {
                seen_ids.push((id.v.clone(), id.span.start));
            }
            if !mqtt_on {
                cx.err(
                    &id.span,
                    t.field("id"),
                    "networked desk units need an `[mqtt]` section (their broker)",
                    Some("add `[mqtt]` with `broker = \"embedded\"` or an external broker".into()),
                );
                ok = false;
            }
        }
        if let Some(seat) = &seat {
            if !seats.contains(&seat.v) {
                cx.err(&seat.span, t.field("seat"), format!("there is no seat {}", seat.v), None);
                ok = false;
            } else if let Some((_, first)) = seen_seats.iter().find(|(n, _)| *n == seat.v) {
                let line = cx.line_of(*first);
                cx.err(
                    &seat.span,
                    t.field("seat"),
                    format!("seat {} has two networked desk units (first at line {line})", seat.v),
                    None,
                );
                ok = false;
            } else {
                seen_seats.push((seat.v, seat.span.start));
            }
        }
        if let Some(id) = &id {
            unit_spans.push((id.v.clone(), t.field("id"), id.span.clone()));
        }
        t.finish(cx);
        if let (true, Some(id), Some(seat)) = (ok, id, seat) {
            units.push(MqttDeskUnit {
                id: id.v,
                seat: seat.v,
                chair,
                priority_clears_requests: clears,
                password_hash: password_hash.filter(|_| embedded),
            });
        }
    }
    if let Some(mqtt) = mqtt {
        check_embedded_credentials(cx, mqtt, &units, &unit_spans);
    }
    units
}

/// The embedded broker checks logins whenever it listens beyond loopback, and then every
/// desk unit needs a credential (a unit without one could not log in).
fn check_embedded_credentials(cx: &mut Cx<'_>, mqtt: &Mqtt, units: &[MqttDeskUnit], unit_spans: &[UnitSpan]) {
    let Broker::Embedded { listen } = mqtt.broker else { return };
    let credentials = mqtt.embedded_credentials(units);
    if !listen.ip().is_loopback() && !credentials {
        let span = mqtt.listen_span.clone().unwrap_or(0..0);
        cx.err(
            &span,
            "mqtt.listen",
            format!("the embedded broker listens on {listen}, beyond loopback, without credentials"),
            Some(
                "give every [[mqtt_desk_unit]] a password_hash and add an [[mqtt_account]] for each \
                 bridge (make them with `podiumd mqtt-credential <user name>`), or listen on \
                 127.0.0.1"
                    .into(),
            ),
        );
        return;
    }
    if credentials {
        for (id, field, span) in unit_spans {
            if mqtt.accounts.iter().any(|a| &a.username == id) {
                // Logins are by name: one would silently take the other's rights.
                cx.err(
                    span,
                    field.clone(),
                    format!(
                        "desk unit `{id}` has the name of an [[mqtt_account]]; a login name must be unique"
                    ),
                    Some("rename the account or the unit".into()),
                );
            }
            if units.iter().any(|u| &u.id == id && u.password_hash.is_none()) {
                cx.err(
                    span,
                    field.clone(),
                    format!("desk unit `{id}` has no password_hash, but the embedded broker checks logins"),
                    Some(format!("add `password_hash = \"sha256:…\"` (from `podiumd mqtt-credential {id}`)")),
                );
            }
        }
    }
}

/// A unit's id, its table's field name for `id`, and where the id was written.
type UnitSpan = (String, String, Span);

/// Reads `[mqtt]` (optional).
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Option<Mqtt> {
    let accounts = read_accounts(root, cx);
    let Some(mut t) = root.table(cx, "mqtt") else {
        if let Some((_, span)) = accounts.first() {
            cx.err(
                span,
                "mqtt_account[1].username",
                "MQTT accounts need an `[mqtt]` section with `broker = \"embedded\"`",
                None,
            );
        }
        return None;
    };
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
        accounts: Vec::new(),
        listen_span: listen.as_ref().map(|l| l.span.clone()),
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
    if !accounts.is_empty() && !matches!(mqtt.broker, Broker::Embedded { .. }) {
        cx.err(
            &accounts[0].1,
            "mqtt_account[1].username",
            "MQTT accounts are for the embedded broker",
            Some("an external broker keeps its own password file and ACL (deploy/mosquitto/)".into()),
        );
    }
    mqtt.accounts = accounts.into_iter().map(|(account, _)| account).collect();
    t.finish(cx);
    Some(mqtt)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Broker, DEFAULT_PREFIX};
    use crate::config::parse;

    const ROOM: &str = "[room]\nid = \"saal\"\nname = \"Saal\"\n";

    #[test]
    fn networked_desk_units_are_read_and_checked() {
        let seats = "[[seat]]\nnumber = 1\n[[seat]]\nnumber = 2\n";
        let ok = format!(
            "{ROOM}[mqtt]\nbroker = \"embedded\"\n{seats}[[mqtt_desk_unit]]\nid = \"esp32-a1\"\nseat = 2\n\
             [[mqtt_desk_unit]]\nid = \"esp32-c0\"\nseat = 1\nchair = true\n"
        );
        let room = parse(&ok, Path::new("r.toml")).unwrap();
        assert_eq!(room.mqtt_desk_units.len(), 2);
        assert!(room.mqtt_desk_units[1].chair);
        let bad = format!(
            "{seats}[mqtt]\nbroker = \"embedded\"\n[[mqtt_desk_unit]]\nid = \"bad id\"\nseat = 9\n\
             [[mqtt_desk_unit]]\nid = \"u1\"\nseat = 1\n[[mqtt_desk_unit]]\nid = \"u1\"\nseat = 1\n"
        );
        let fields: Vec<(String, String)> = errors(&bad).into_iter().map(|e| (e.2, e.3)).collect();
        assert_eq!(fields.len(), 4, "{fields:?}");
        assert!(fields[0].1.contains("not a valid unit id"));
        assert!(fields[1].1.contains("no seat 9"));
        assert!(fields[2].1.contains("appears twice"));
        assert!(fields[3].1.contains("two networked desk units"));
        let no_mqtt = errors(&format!("{seats}[[mqtt_desk_unit]]\nid = \"u1\"\nseat = 1\n"));
        assert!(no_mqtt[0].3.contains("need an `[mqtt]`"), "{no_mqtt:?}");
    }

    fn errors(text: &str) -> Vec<(usize, usize, String, String)> {
        match parse(&format!("{ROOM}{text}"), Path::new("room.toml")) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(|e| (e.line, e.column, e.field.clone(), e.message.clone())).collect(),
        }
    }

    const HASH: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_lan_embedded_broker_needs_credentials() {
        let seats = "[[seat]]\nnumber = 1\n";
        let open = errors(&format!("[mqtt]\nbroker = \"embedded\"\nlisten = \"0.0.0.0:1883\"\n{seats}"));
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!((open[0].0, open[0].1, open[0].2.as_str()), (6, 10, "mqtt.listen"));
        assert!(open[0].3.contains("beyond loopback, without credentials"), "{open:?}");
        // Loopback without credentials stays as it was.
        assert!(errors(&format!("[mqtt]\nbroker = \"embedded\"\n{seats}")).is_empty());
        // With credentials for the bridge and every unit, the LAN is fine.
        let good = format!(
            "[mqtt]\nbroker = \"embedded\"\nlisten = \"0.0.0.0:1883\"\n{seats}\
             [[mqtt_desk_unit]]\nid = \"u1\"\nseat = 1\npassword_hash = \"{HASH}\"\n\
             [[mqtt_account]]\nusername = \"bridge-saal\"\nrole = \"bridge\"\npassword_hash = \"{HASH}\"\n"
        );
        let room = parse(&format!("{ROOM}{good}"), Path::new("r.toml")).unwrap();
        let mqtt = room.mqtt.unwrap();
        assert!(mqtt.embedded_credentials(&room.mqtt_desk_units));
        assert_eq!(mqtt.accounts[0].role, super::MqttRole::Bridge);
        // A unit without a credential could not log in.
        let unit_without = errors(&format!(
            "[mqtt]\nbroker = \"embedded\"\n{seats}[[mqtt_desk_unit]]\nid = \"u1\"\nseat = 1\n\
             [[mqtt_account]]\nusername = \"b\"\nrole = \"bridge\"\npassword_hash = \"{HASH}\"\n"
        ));
        assert_eq!(unit_without[0].2, "mqtt_desk_unit[1].id", "{unit_without:?}");
        assert!(unit_without[0].3.contains("no password_hash"));
        // An account may not carry a unit's name: it would take over the unit's login.
        let clash = errors(&format!(
            "[mqtt]\nbroker = \"embedded\"\n{seats}[[mqtt_desk_unit]]\nid = \"u1\"\nseat = 1\npassword_hash = \"{HASH}\"\n\
             [[mqtt_account]]\nusername = \"u1\"\nrole = \"bridge\"\npassword_hash = \"{HASH}\"\n"
        ));
        assert_eq!(clash.len(), 1, "{clash:?}");
        assert_eq!(clash[0].2, "mqtt_desk_unit[1].id");
        assert!(clash[0].3.contains("must be unique"), "{clash:?}");
    }

    #[test]
    fn credentials_are_hashes_of_generated_secrets() {
        let found = errors(
            "[mqtt]\nbroker = \"embedded\"\n[[mqtt_account]]\nusername = \"a b\"\nrole = \"admin\"\n\
             password_hash = \"hunter2\"\n",
        );
        let fields: Vec<&str> = found.iter().map(|e| e.2.as_str()).collect();
        assert_eq!(
            fields,
            ["mqtt_account[1].username", "mqtt_account[1].role", "mqtt_account[1].password_hash"]
        );
        let external = errors(&format!(
            "[mqtt]\nbroker = \"external\"\nhost = \"h\"\n[[mqtt_account]]\nusername = \"b\"\nrole = \"bridge\"\n\
             password_hash = \"{HASH}\"\n"
        ));
        assert!(external[0].3.contains("for the embedded broker"), "{external:?}");
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
