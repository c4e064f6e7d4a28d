//! `[[central_unit]]`: the central unit of an existing conference system (Shure DCS 6000 /
//! DDS 5900 / MXC behind a DIS-CCU, Televic systems behind CoCon) and the seats it serves. Podium is the floor master:
//! the unit's keys become floor commands and its microphones and request list follow the
//! floor. A seat is served by a central unit or by a `[[desk_unit]]`, never both.

use std::collections::HashMap;
use std::net::SocketAddr;

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
}

impl CentralProtocol {
    /// Names as written in configuration.
    pub const NAMES: &'static [&'static str] = &["shure_dcs", "televic_cocon"];

    /// The protocol's usual port.
    pub fn default_port(self) -> u16 {
        match self {
            CentralProtocol::ShureDcs => podium_devices::central::shure_dcs::codec::PORT,
            CentralProtocol::TelevicCocon => podium_devices::central::cocon::codec::PORT,
        }
    }
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
        t.finish(cx);
        if let (Some(name), Some(protocol)) = (name, protocol)
            && (simulated || addr.is_some())
        {
            out.push(CentralUnitConfig {
                name: name.v,
                protocol,
                addr,
                simulated,
                set_manual_mode,
                seats: mapped,
                chair_seats,
            });
        }
    }
    out
}
