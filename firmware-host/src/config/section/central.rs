//! `[[central_unit]]`: the central unit of an existing conference system (Shure DCS 6000 /
//! DDS 5900 / MXC behind a DIS-CCU, Televic systems behind CoCon, Bosch DICENTIS) and the
//! seats it serves. Podium is the floor master:
//! the unit's keys become floor commands and its microphones and request list follow the
//! floor. A seat is served by a central unit or by a `[[desk_unit]]`, never both.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use podium_devices::central::UnitSeat;
use podium_floor::setup::SeatNo;

use super::super::reader::{Cx, Table, did_you_mean};
use super::desks::DeskUnitConfig;
use super::{non_empty, tcp_address};

/// The protocols a central unit can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CentralProtocol {
    /// Shure / DIS External Control Protocol, TCP 3142.
    ShureDcs,
    /// Televic CoCon REST API with its notification long poll, TCP 8890.
    TelevicCocon,
    /// Bosch DICENTIS Conference Protocol: JSON over a WebSocket, TCP 31416.
    BoschDicentis,
}

impl CentralProtocol {
    /// Names as written in configuration.
    pub const NAMES: &'static [&'static str] = &["shure_dcs", "televic_cocon", "bosch_dicentis"];

    /// The protocol's usual port.
    pub fn default_port(self) -> u16 {
        match self {
            CentralProtocol::ShureDcs => podium_devices::central::shure_dcs::codec::PORT,
            CentralProtocol::TelevicCocon => podium_devices::central::cocon::codec::PORT,
            CentralProtocol::BoschDicentis => podium_devices::central::dicentis::codec::PORT,
        }
    }

    /// The name as written in configuration (and the health's `kind`).
    pub fn name(self) -> &'static str {
        match self {
            CentralProtocol::ShureDcs => "shure_dcs",
            CentralProtocol::TelevicCocon => "televic_cocon",
            CentralProtocol::BoschDicentis => "bosch_dicentis",
        }
    }
}

/// What a DICENTIS server needs besides its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DicentisConfig {
    /// A Meeting application user with "manage meeting" rights.
    pub user: String,
    /// Its password, inline (prefer `password_file`).
    pub password: Option<String>,
    /// A file holding its password (read at start).
    pub password_file: Option<PathBuf>,
    /// SHA-256 of the server's certificate; `None` with `tls = false` (plain WebSocket).
    pub tls_fingerprint: Option<[u8; 32]>,
    /// The DICENTIS seat name of each seat in `seats`, in the same order.
    pub seat_names: Vec<String>,
}

/// One `[[central_unit]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralUnitConfig {
    /// Unique name (health, protocol monitor, logs).
    pub name: String,
    /// Its protocol.
    pub protocol: CentralProtocol,
    /// Its address; `None` with `simulated = true` until the simulator is started.
    pub addr: Option<SocketAddr>,
    /// `simulated = true`: podiumd runs a simulated unit (the demo) and drives it.
    pub simulated: bool,
    /// Set the unit to the mode in which the controller decides after every connect
    /// (`set_manual_mode`, default on): Shure `manual`, CoCon `Operator`.
    pub set_manual_mode: bool,
    /// Podium seat ↔ the unit's seat number, in file order.
    pub seats: Vec<(SeatNo, UnitSeat)>,
    /// Podium seats whose unit is a chair unit (the simulator's chair units).
    pub chair_seats: Vec<SeatNo>,
    /// `protocol = "bosch_dicentis"`: login, TLS and seat names.
    pub dicentis: Option<DicentisConfig>,
}

/// Reads every `[[central_unit]]`; `seats` are the room's seat numbers and `desk_units` the
/// `[[desk_unit]]`s (a seat has one or the other).
pub(crate) fn read(
    root: &mut Table<'_>,
    cx: &mut Cx<'_>,
    seats: &[SeatNo],
    desk_units: &[DeskUnitConfig],
) -> Vec<CentralUnitConfig> {
    let mut out = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut served: HashMap<SeatNo, String> = HashMap::new();
    for mut t in root.tables(cx, "central_unit") {
        let name = t.string(cx, "name").filter(|n| non_empty(cx, &t, "name", n));
        if name.is_none() && !t.has("name") {
            t.missing(cx, "name", "\"dcs\"");
        }
        if let Some(n) = &name {
            if let Some(&first) = names.get(&n.v) {
                let line = cx.line_of(first);
                cx.err(
                    &n.span,
                    t.field("name"),
                    format!("central unit `{}` appears twice (first at line {line})", n.v),
                    None,
                );
            } else {
                names.insert(n.v.clone(), n.span.start);
            }
        }
        let protocol = t.string(cx, "protocol").and_then(|p| match p.v.as_str() {
            "shure_dcs" => Some(CentralProtocol::ShureDcs),
            "televic_cocon" => Some(CentralProtocol::TelevicCocon),
            "bosch_dicentis" => Some(CentralProtocol::BoschDicentis),
            other => {
                let help = did_you_mean(other, CentralProtocol::NAMES.iter().copied())
                    .unwrap_or_else(|| format!("one of: {}", CentralProtocol::NAMES.join(", ")));
                cx.err(&p.span, t.field("protocol"), format!("unknown protocol `{other}`"), Some(help));
                None
            }
        });
        if protocol.is_none() && !t.has("protocol") {
            t.missing(cx, "protocol", "\"shure_dcs\"");
        }
        let simulated = t.boolean(cx, "simulated").is_some_and(|b| b.v);
        let addr = if simulated {
            if t.has("tcp") {
                let tcp = t.string(cx, "tcp");
                let span = tcp.map_or_else(|| t.span(), |s| s.span);
                let help =
                    Some("remove `tcp` to run the simulator, or `simulated` to use the unit".to_owned());
                cx.err(&span, t.field("tcp"), "give `tcp` or `simulated = true`, not both", help);
            }
            None
        } else {
            let port = protocol
                .map_or(podium_devices::central::shure_dcs::codec::PORT, CentralProtocol::default_port);
            let addr = tcp_address(cx, &mut t, "tcp", port, &format!("10.0.0.40:{port}"));
            if !t.has("tcp") {
                t.missing(cx, "tcp", "\"10.0.0.40:3142\" (or simulated = true)");
            }
            addr
        };
        let set_manual_mode = t.boolean(cx, "set_manual_mode").is_none_or(|b| b.v);
        let room_seats = t.array_of_integers(cx, "seats").unwrap_or_default();
        if room_seats.is_empty() {
            if t.has("seats") {
                cx.err(&t.span(), t.field("seats"), "a central unit serves at least one seat", None);
            } else {
                t.missing(cx, "seats", "[1, 2, 3]");
            }
        }
        let unit_seats = t.array_of_integers(cx, "unit_seats");
        if let Some(unit) = &unit_seats
            && unit.len() != room_seats.len()
        {
            let at = unit.first().map_or_else(|| t.span(), |s| s.span.clone());
            cx.err(
                &at,
                t.field("unit_seats"),
                format!("{} unit seats for {} seats", unit.len(), room_seats.len()),
                Some("list the unit's seat number of each seat in `seats`, in the same order".into()),
            );
        }
        let chair = t.array_of_integers(cx, "chair_seats").unwrap_or_default();
        let mut mapped = Vec::new();
        let mut unit_taken: HashMap<UnitSeat, SeatNo> = HashMap::new();
        for (i, s) in room_seats.iter().enumerate() {
            let Some(seat) = SeatNo::try_from(s.v).ok().filter(|n| seats.contains(n)) else {
                cx.err(
                    &s.span,
                    t.field("seats"),
                    format!("seat {} is not a `[[seat]]` of this room", s.v),
                    None,
                );
                continue;
            };
            let unit_spec = unit_seats.as_ref().and_then(|u| u.get(i));
            let unit_value = unit_spec.map_or(s.v, |u| u.v);
            let Some(unit) = UnitSeat::try_from(unit_value).ok().filter(|u| *u >= 1) else {
                let span = unit_spec.map_or(&s.span, |u| &u.span);
                let field = if unit_spec.is_some() { "unit_seats" } else { "seats" };
                cx.err(
                    span,
                    t.field(field),
                    format!("{unit_value} is no seat number of a central unit (1-65535)"),
                    None,
                );
                continue;
            };
            if desk_units.iter().any(|d| d.seat == seat) {
                cx.err(
                    &s.span,
                    t.field("seats"),
                    format!("seat {seat} already has a [[desk_unit]]"),
                    Some("a seat is served by a central unit or a desk unit, not both".into()),
                );
                continue;
            }
            if let Some(other) = served.get(&seat) {
                cx.err(
                    &s.span,
                    t.field("seats"),
                    format!("seat {seat} is served by central unit `{other}` too"),
                    None,
                );
                continue;
            }
            if let Some(first) = unit_taken.insert(unit, seat) {
                let span = unit_spec.map_or(&s.span, |u| &u.span);
                cx.err(
                    span,
                    t.field("unit_seats"),
                    format!("unit seat {unit} is given to seat {first} and seat {seat}"),
                    None,
                );
                continue;
            }
            served.insert(seat, name.as_ref().map_or_else(String::new, |n| n.v.clone()));
            mapped.push((seat, unit));
        }
        let mut chair_seats = Vec::new();
        for c in chair {
            match SeatNo::try_from(c.v).ok().filter(|n| mapped.iter().any(|(s, _)| s == n)) {
                Some(n) => chair_seats.push(n),
                None => cx.err(
                    &c.span,
                    t.field("chair_seats"),
                    format!("seat {} is not in this unit's `seats`", c.v),
                    None,
                ),
            }
        }
        let dicentis = (protocol == Some(CentralProtocol::BoschDicentis))
            .then(|| read_dicentis(cx, &mut t, simulated, &mapped, room_seats.len()))
            .flatten();
        t.finish(cx);
        if let (Some(name), Some(protocol)) = (name, protocol)
            && (simulated || addr.is_some())
            && (protocol != CentralProtocol::BoschDicentis || dicentis.is_some())
        {
            out.push(CentralUnitConfig {
                name: name.v,
                protocol,
                addr,
                simulated,
                set_manual_mode,
                seats: mapped,
                chair_seats,
                dicentis,
            });
        }
    }
    out
}

/// The DICENTIS keys of a `[[central_unit]]`: `user`, `password` or `password_file`,
/// `tls_fingerprint` (or `tls = false`), `unit_seat_names`.
fn read_dicentis(
    cx: &mut Cx<'_>,
    t: &mut Table<'_>,
    simulated: bool,
    mapped: &[(SeatNo, UnitSeat)],
    listed: usize,
) -> Option<DicentisConfig> {
    let user = t.string(cx, "user").filter(|u| non_empty(cx, t, "user", u)).map(|u| u.v);
    let password = t.string(cx, "password").map(|p| p.v);
    let password_file = t.string(cx, "password_file");
    if password.is_some()
        && let Some(file) = &password_file
    {
        cx.err(&file.span, t.field("password_file"), "give either password or password_file, not both", None);
    }
    let password_file = password_file.map(|f| PathBuf::from(f.v));
    let tls = t.boolean(cx, "tls").is_none_or(|b| b.v);
    if !tls && let Some(f) = t.string(cx, "tls_fingerprint") {
        cx.err(
            &f.span,
            t.field("tls_fingerprint"),
            "a fingerprint with `tls = false` would not be used",
            Some("remove `tls = false` (the server speaks TLS) or the fingerprint".to_owned()),
        );
    }
    let fingerprint = t.string(cx, "tls_fingerprint").and_then(|f| {
        let parsed = podium_devices::central::dicentis::pinned::parse_fingerprint(&f.v);
        if parsed.is_none() {
            let help =
                Some("64 hex digits, as `openssl x509 -noout -fingerprint -sha256` prints them".to_owned());
            cx.err(&f.span, t.field("tls_fingerprint"), "not a SHA-256 fingerprint", help);
        }
        parsed
    });
    if !simulated {
        if user.is_none() && !t.has("user") {
            t.missing(cx, "user", "\"podium\" (a Meeting application user with \"manage meeting\")");
        }
        if password.is_none() && password_file.is_none() {
            t.missing(cx, "password_file", "\"/etc/podium/dicentis-password\"");
        }
        if tls && fingerprint.is_none() && !t.has("tls_fingerprint") {
            t.missing(
                cx,
                "tls_fingerprint",
                "\"AB:CD:…\" (the server certificate's SHA-256), or tls = false",
            );
        }
    }
    let names = t.array_of_strings(cx, "unit_seat_names");
    let seat_names: Vec<String> = match &names {
        Some(names) if names.len() != listed => {
            let at = names.first().map_or_else(|| t.span(), |n| n.span.clone());
            let help = Some("the DICENTIS seat name of each seat in `seats`, in the same order".to_owned());
            cx.err(
                &at,
                t.field("unit_seat_names"),
                format!("{} names for {listed} seats", names.len()),
                help,
            );
            return None;
        }
        Some(names) => {
            let mut seen: Vec<&str> = Vec::new();
            for n in names {
                if n.v.trim().is_empty() || seen.contains(&n.v.as_str()) {
                    let what =
                        if n.v.trim().is_empty() { "an empty seat name" } else { "a seat name given twice" };
                    cx.err(&n.span, t.field("unit_seat_names"), what, None);
                    return None;
                }
                seen.push(&n.v);
            }
            names.iter().map(|n| n.v.clone()).collect()
        }
        None => mapped.iter().map(|(_, unit)| unit.to_string()).collect(),
    };
    if seat_names.len() != mapped.len() {
        // Some seats were refused above; their errors are reported already.
        return None;
    }
    Some(DicentisConfig {
        user: user.unwrap_or_else(|| "podium".into()),
        password,
        password_file,
        tls_fingerprint: if tls { fingerprint } else { None },
        seat_names,
    })
}
