//! `[[bus]]`, `[[desk_unit]]`, `[[io_input]]` and `[[io_output]]`: desk units on Modbus
//! RTU buses, and which seat each unit, key and lamp belongs to.
//!
//! Two ways to map hardware to seats:
//! - `[[desk_unit]]`: a unit that follows the Podium desk-unit register map
//!   (`devices/docs/desk-unit-register-map.md`) belongs to one seat.
//! - `[[io_input]]` / `[[io_output]]`: off-the-shelf I/O modules, one line per wire:
//!   "discrete input 3 of unit 7 on bus `a` is seat 12's request key".

use std::collections::{BTreeMap, HashMap};

use podium_devices::modbus::bus::LineTiming;
use podium_devices::modbus::desk::DeskKey;
use podium_devices::serial::{Parity, SerialSettings};
use podium_floor::setup::SeatNo;

use super::super::reader::{Cx, Sp, Table, did_you_mean};
use super::named;
use super::seating::SeatEntry;

/// What a generic module's coil shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// The seat's microphone is open (drive the microphone relay).
    Microphone,
    /// The seat has the floor (red lamp).
    Speaking,
    /// The seat's request waits (green lamp).
    Requested,
    /// The seat is next in the list.
    NextInLine,
    /// The seat's speaking time is in its warning phase or over.
    TimeWarning,
    /// A vote is open and the seat's member may vote and has not yet (vote lamp).
    VotingOpen,
    /// The seat's member has voted in the open vote.
    VoteRegistered,
}

impl Signal {
    /// Names as written in configuration.
    pub const NAMES: &'static [&'static str] = &[
        "microphone",
        "speaking",
        "requested",
        "next_in_line",
        "time_warning",
        "voting_open",
        "vote_registered",
    ];
}

/// One RS-485 bus (one USB adapter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// Id the units refer to, e.g. `"a"`.
    pub id: String,
    /// The port; `path` is empty for a simulated bus.
    pub serial: SerialSettings,
    /// Run simulated desk units on a pseudo-terminal instead of opening `path`.
    pub simulated: bool,
    /// Answer timeout in milliseconds.
    pub timeout_ms: u32,
    /// Misses in a row after which a unit counts as offline.
    pub offline_after_misses: u32,
    /// Key debounce hold-off in milliseconds.
    pub debounce_ms: u32,
    /// Shortest poll cycle in milliseconds.
    pub cycle_ms: u32,
    /// One priority poll (the chair's unit, waiting requests, open microphones) after every
    /// this many polls of the round; 0 turns priority polls off.
    pub priority_every: u32,
}

/// A unit that follows the Podium desk-unit register map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskUnitConfig {
    /// Bus id.
    pub bus: String,
    /// Unit address, 1-247.
    pub unit: u8,
    /// The seat it serves.
    pub seat: SeatNo,
    /// The chair's unit: priority, next and stop keys, chair display rows.
    pub chair: bool,
    /// Whether the priority key also clears the list of speakers.
    pub priority_clears_requests: bool,
    /// The register-map version the unit implements (`map_version`, 1 or 2; default 1, so an upgrade never changes what an existing unit is sent).
    /// Version 1 units get coils 0-7 only and are never asked for a credential.
    pub map_version: u8,
    /// The silence the unit needs between frames (`line_timing`: `"modbus"`, the serial
    /// line guide's, the default; `"podium"`, 3.5 characters at every speed, the register
    /// map's high-speed mode).
    pub line_timing: LineTiming,
}

/// One discrete input of a generic module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoInputConfig {
    /// Bus id.
    pub bus: String,
    /// Unit address.
    pub unit: u8,
    /// Discrete-input address (0-based, as on the wire).
    pub input: u16,
    /// What the key does.
    pub key: DeskKey,
    /// Whose key; `None` for the chair keys (priority, next, stop).
    pub seat: Option<SeatNo>,
    /// For `priority`: also clear the list.
    pub priority_clears_requests: bool,
}

/// One coil of a generic module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoOutputConfig {
    /// Bus id.
    pub bus: String,
    /// Unit address.
    pub unit: u8,
    /// Coil address (0-based, as on the wire).
    pub coil: u16,
    /// Whose state it shows.
    pub seat: SeatNo,
    /// Which state.
    pub signal: Signal,
}

/// Everything about desk units in the room; empty when the room has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesksConfig {
    /// `[[bus]]` in file order.
    pub buses: Vec<BusConfig>,
    /// `[[desk_unit]]` in file order.
    pub desk_units: Vec<DeskUnitConfig>,
    /// `[[io_input]]` in file order.
    pub io_inputs: Vec<IoInputConfig>,
    /// `[[io_output]]` in file order.
    pub io_outputs: Vec<IoOutputConfig>,
    /// `[[member]] badge` and `pin`: who a desk unit's reader or keypad identifies.
    pub credentials: MemberCredentials,
}

/// The members' badges and PINs (from `[[member]]`), for the desk units' readers.
/// `Debug` shows how many there are, never a PIN.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MemberCredentials {
    badges: BTreeMap<Vec<u8>, String>,
    pins: BTreeMap<String, String>,
}

impl std::fmt::Debug for MemberCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberCredentials")
            .field("badges", &self.badges.len())
            .field("pins", &self.pins.len())
            .finish()
    }
}

impl MemberCredentials {
    /// Adds a member's badge UID (bytes, trailing zeros cut) and PIN.
    pub fn insert(&mut self, member: &str, badge: Option<&[u8]>, pin: Option<&str>) {
        if let Some(b) = badge {
            self.badges.insert(b.to_vec(), member.to_owned());
        }
        if let Some(p) = pin {
            self.pins.insert(p.to_owned(), member.to_owned());
        }
    }

    /// The member whose badge has this UID (trailing zero bytes ignored).
    pub fn badge(&self, uid: &[u8]) -> Option<&str> {
        let end = uid.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        self.badges.get(&uid[..end]).map(String::as_str)
    }

    /// The member with this PIN.
    pub fn pin(&self, digits: &[u8]) -> Option<&str> {
        let digits = std::str::from_utf8(digits).ok()?;
        self.pins.get(digits).map(String::as_str)
    }

    /// Whether no member has a badge or PIN.
    pub fn is_empty(&self) -> bool {
        self.badges.is_empty() && self.pins.is_empty()
    }
}

impl DesksConfig {
    /// Whether any bus is configured.
    pub fn is_empty(&self) -> bool {
        self.buses.is_empty()
    }
}

/// The section as read, with the places needed for the checks.
#[derive(Debug, Clone, Default)]
pub(crate) struct Desks {
    pub config: DesksConfig,
    bus_ids: Vec<Sp<String>>,
    /// Per desk unit / io line: where its `bus`, `unit`, `seat` and own address were written.
    desk_spans: Vec<Places>,
    input_spans: Vec<Places>,
    output_spans: Vec<Places>,
}

#[derive(Debug, Clone, Default)]
struct Places {
    table: String,
    bus: Option<Sp<String>>,
    unit: Option<Sp<u8>>,
    seat: Option<Sp<SeatNo>>,
    /// The input or coil address.
    address: Option<Sp<u16>>,
    key: Option<Sp<DeskKey>>,
}

/// Default answer timeout.
pub(crate) const DEFAULT_TIMEOUT_MS: u32 = 50;

/// Reads the four tables (all optional).
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Desks {
    let mut desks = Desks::default();
    // Desk units may also be listed inside their bus: `desk_units = [{ unit = 1, seat = 1 }]`.
    let mut inline_units = Vec::new();
    for mut t in root.tables(cx, "bus") {
        let id = t.string(cx, "id");
        match &id {
            Some(id)
                if id.v.trim().is_empty() || id.v.chars().any(|c| c.is_whitespace() || c.is_control()) =>
            {
                cx.err(
                    &id.span,
                    t.field("id"),
                    "a bus id must be a non-empty word",
                    Some("e.g. id = \"a\"".into()),
                )
            }
            None if !t.has("id") => t.missing(cx, "id", "\"a\""),
            _ => {}
        }
        let simulated = t.boolean(cx, "simulated").is_some_and(|b| b.v);
        let path = t.string(cx, "path");
        if path.is_none() && !simulated && !t.has("path") {
            t.missing(cx, "path", "\"/dev/serial/by-id/usb-...-if00-port0\"");
        }
        if let Some(p) = &path
            && p.v.trim().is_empty()
        {
            cx.err(&p.span, t.field("path"), "path must not be empty", None);
        }
        let mut serial = SerialSettings::new(path.map(|p| p.v).unwrap_or_default());
        if let Some(baud) = t.integer_in(cx, "baud", 1200, 4_000_000) {
            serial.baud = baud.v as u32;
        }
        if let Some(parity) = t.choice(cx, "parity", "parity", Parity::NAMES)
            && let Some(p) = named::<Parity>(parity.v)
        {
            serial.parity = p;
        }
        if let Some(stop) = t.integer_in(cx, "stop_bits", 1, 2) {
            serial.stop_bits = stop.v as u8;
        }
        if let Some(bits) = t.integer_in(cx, "data_bits", 7, 8) {
            if bits.v == 7 {
                cx.err(
                    &bits.span,
                    t.field("data_bits"),
                    "Modbus RTU needs 8 data bits",
                    Some("write data_bits = 8 or leave it out".into()),
                );
            }
            serial.data_bits = bits.v as u8;
        }
        let number =
            |t: &mut Table<'_>, cx: &mut Cx<'_>, key: &'static str, min: i64, max: i64, default: u32| {
                t.integer_in(cx, key, min, max).map_or(default, |v| v.v as u32)
            };
        let bus = BusConfig {
            id: id.as_ref().map(|i| i.v.clone()).unwrap_or_default(),
            simulated,
            timeout_ms: number(&mut t, cx, "timeout_ms", 5, 5000, DEFAULT_TIMEOUT_MS),
            offline_after_misses: number(&mut t, cx, "offline_after_misses", 1, 100, 3),
            debounce_ms: number(&mut t, cx, "debounce_ms", 0, 1000, 30),
            cycle_ms: number(&mut t, cx, "cycle_ms", 0, 10_000, 20),
            priority_every: number(&mut t, cx, "priority_every", 0, 64, 2),
            serial,
        };
        for unit in t.tables(cx, "desk_units") {
            inline_units.push((unit, id.clone()));
        }
        t.finish(cx);
        if let Some(id) = id {
            desks.bus_ids.push(id);
        }
        desks.config.buses.push(bus);
    }

    for mut t in root.tables(cx, "desk_unit") {
        let places = read_common(&mut t, cx);
        read_desk_unit(t, cx, places, &mut desks);
    }
    for (mut t, bus) in inline_units {
        let unit = t.u16_in(cx, "unit", 1, 247).map(|u| Sp { v: u.v as u8, span: u.span });
        if unit.is_none() && !t.has("unit") {
            t.missing(cx, "unit", "7");
        }
        let table = t.field("").trim_end_matches('.').to_owned();
        read_desk_unit(t, cx, Places { table, bus, unit, ..Places::default() }, &mut desks);
    }

    for mut t in root.tables(cx, "io_input") {
        let mut places = read_common(&mut t, cx);
        let input = t.u16_in(cx, "input", 0, u16::MAX);
        if input.is_none() && !t.has("input") {
            t.missing(cx, "input", "3");
        }
        let key = t
            .choice(cx, "key", "key", DeskKey::NAMES)
            .and_then(|k| DeskKey::from_name(k.v).map(|v| Sp { v, span: k.span }));
        if key.is_none() && !t.has("key") {
            t.missing(cx, "key", "\"request\"");
        }
        let seat = t.u16_in(cx, "seat", 1, SeatNo::MAX);
        let clears = t.boolean(cx, "priority_clears_requests");
        match (&key, &seat) {
            (Some(k), Some(s)) if k.v.is_chair_key() => cx.err(
                &s.span,
                t.field("seat"),
                format!("the `{}` key is the chair's and belongs to no seat", k.v.name()),
                Some("remove `seat` from this line".into()),
            ),
            (Some(k), None) if !k.v.is_chair_key() && !t.has("seat") => t.missing(cx, "seat", "12"),
            _ => {}
        }
        if let Some(c) = &clears
            && key.as_ref().is_some_and(|k| k.v != DeskKey::Priority)
        {
            cx.err(
                &c.span,
                t.field("priority_clears_requests"),
                "only the `priority` key clears requests",
                None,
            );
        }
        t.finish(cx);
        if let (Some(bus), Some(unit), Some(input), Some(key)) = (&places.bus, &places.unit, &input, &key) {
            let seat_ok = key.v.is_chair_key() || seat.is_some();
            if seat_ok {
                desks.config.io_inputs.push(IoInputConfig {
                    bus: bus.v.clone(),
                    unit: unit.v,
                    input: input.v,
                    key: key.v,
                    seat: if key.v.is_chair_key() { None } else { seat.as_ref().map(|s| s.v) },
                    priority_clears_requests: clears.is_some_and(|c| c.v),
                });
                places.seat = seat;
                places.address = Some(input.clone());
                places.key = Some(key.clone());
                desks.input_spans.push(places);
            }
        }
    }

    for mut t in root.tables(cx, "io_output") {
        let mut places = read_common(&mut t, cx);
        let coil = t.u16_in(cx, "coil", 0, u16::MAX);
        if coil.is_none() && !t.has("coil") {
            t.missing(cx, "coil", "5");
        }
        let seat = t.u16_in(cx, "seat", 1, SeatNo::MAX);
        if seat.is_none() && !t.has("seat") {
            t.missing(cx, "seat", "12");
        }
        let signal = t.choice(cx, "signal", "signal", Signal::NAMES).and_then(|s| named::<Signal>(s.v));
        if signal.is_none() && !t.has("signal") {
            t.missing(cx, "signal", "\"speaking\"");
        }
        t.finish(cx);
        if let (Some(bus), Some(unit), Some(coil), Some(seat), Some(signal)) =
            (&places.bus, &places.unit, &coil, &seat, signal)
        {
            desks.config.io_outputs.push(IoOutputConfig {
                bus: bus.v.clone(),
                unit: unit.v,
                coil: coil.v,
                seat: seat.v,
                signal,
            });
            places.seat = Some(seat.clone());
            places.address = Some(coil.clone());
            desks.output_spans.push(places);
        }
    }
    desks
}

/// The keys of a desk unit after `bus` and `unit`.
fn read_desk_unit(mut t: Table<'_>, cx: &mut Cx<'_>, places: Places, desks: &mut Desks) {
    let seat = t.u16_in(cx, "seat", 1, SeatNo::MAX);
    if seat.is_none() && !t.has("seat") {
        t.missing(cx, "seat", "12");
    }
    let chair = t.boolean(cx, "chair").is_some_and(|b| b.v);
    let map_version = t.integer_in(cx, "map_version", 1, 2).map_or(1, |v| v.v as u8);
    let line_timing = t
        .choice(cx, "line_timing", "line timing", LineTiming::NAMES)
        .and_then(|name| named::<LineTiming>(name.v))
        .unwrap_or_default();
    let clears = t.boolean(cx, "priority_clears_requests");
    if let Some(c) = &clears
        && !chair
    {
        cx.err(
            &c.span,
            t.field("priority_clears_requests"),
            "only a chair unit has a priority key",
            Some("add chair = true or remove this key".into()),
        );
    }
    t.finish(cx);
    if let (Some(bus), Some(unit), Some(seat)) = (&places.bus, &places.unit, &seat) {
        desks.config.desk_units.push(DeskUnitConfig {
            bus: bus.v.clone(),
            unit: unit.v,
            seat: seat.v,
            chair,
            priority_clears_requests: clears.is_some_and(|c| c.v),
            map_version,
            line_timing,
        });
        desks.desk_spans.push(Places { seat: Some(seat.clone()), ..places });
    }
}

/// `bus` and `unit`, common to the mapping tables.
fn read_common(t: &mut Table<'_>, cx: &mut Cx<'_>) -> Places {
    let bus = t.string(cx, "bus");
    if bus.is_none() && !t.has("bus") {
        t.missing(cx, "bus", "\"a\"");
    }
    let unit = t.u16_in(cx, "unit", 1, 247).map(|u| Sp { v: u.v as u8, span: u.span });
    if unit.is_none() && !t.has("unit") {
        t.missing(cx, "unit", "7");
    }
    let table = t.field("").trim_end_matches('.').to_owned();
    Places { table, bus, unit, ..Places::default() }
}

/// The field path of a key in a mapping table, e.g. `desk_unit[2].seat`.
fn field(places: &Places, key: &str) -> String {
    format!("{}.{key}", places.table)
}

/// Cross-checks: bus ids unique and known, seats configured, no unit or seat mapped twice.
pub(crate) fn check(cx: &mut Cx<'_>, desks: &Desks, seats: &[SeatEntry]) {
    let mut bus_at: HashMap<&str, usize> = HashMap::new();
    for id in &desks.bus_ids {
        if let Some(&first) = bus_at.get(id.v.as_str()) {
            let line = cx.line_of(first);
            cx.err(
                &id.span,
                "bus.id",
                format!("bus `{}` appears twice (first at line {line})", id.v),
                Some("every bus id must be unique".into()),
            );
        } else {
            bus_at.insert(&id.v, id.span.start);
        }
    }
    let seat_numbers: Vec<SeatNo> = seats.iter().filter_map(|s| s.number.as_ref().map(|n| n.v)).collect();
    let all_places = desks.desk_spans.iter().chain(&desks.input_spans).chain(&desks.output_spans);
    for places in all_places {
        if let Some(bus) = &places.bus
            && !bus_at.contains_key(bus.v.as_str())
        {
            let help = did_you_mean(&bus.v, bus_at.keys().copied())
                .unwrap_or_else(|| format!("add a [[bus]] with id = \"{}\"", bus.v));
            cx.err(&bus.span, field(places, "bus"), format!("no [[bus]] has the id `{}`", bus.v), Some(help));
        }
        if let Some(seat) = &places.seat
            && !seat_numbers.contains(&seat.v)
        {
            cx.err(
                &seat.span,
                field(places, "seat"),
                format!("seat {} is not configured", seat.v),
                Some(format!("add a [[seat]] with number = {} or fix the number", seat.v)),
            );
        }
    }

    // A unit is either one desk unit or a generic module, never both or twice.
    let mut desk_unit_at: HashMap<(&str, u8), (SeatNo, usize)> = HashMap::new();
    let mut desk_seat_at: HashMap<SeatNo, usize> = HashMap::new();
    for places in &desks.desk_spans {
        let (Some(bus), Some(unit), Some(seat)) = (&places.bus, &places.unit, &places.seat) else { continue };
        if let Some(&(other, at)) = desk_unit_at.get(&(bus.v.as_str(), unit.v)) {
            let line = cx.line_of(at);
            cx.err(
                &unit.span,
                field(places, "unit"),
                format!(
                    "unit {} on bus `{}` is already the desk unit of seat {other} (line {line})",
                    unit.v, bus.v
                ),
                Some("every unit address on a bus must be unique".into()),
            );
        } else {
            desk_unit_at.insert((&bus.v, unit.v), (seat.v, unit.span.start));
        }
        if let Some(&at) = desk_seat_at.get(&seat.v) {
            let line = cx.line_of(at);
            cx.err(
                &seat.span,
                field(places, "seat"),
                format!("seat {} already has a desk unit (line {line})", seat.v),
                Some("a seat has one desk unit".into()),
            );
        } else {
            desk_seat_at.insert(seat.v, seat.span.start);
        }
    }
    let mut input_at: HashMap<(&str, u8, u16), usize> = HashMap::new();
    let mut key_at: HashMap<(Option<SeatNo>, DeskKey), usize> = HashMap::new();
    for places in &desks.input_spans {
        check_generic(cx, places, &desk_unit_at, &mut input_at, "input");
        let (Some(key), seat) = (&places.key, places.seat.as_ref().map(|s| s.v)) else { continue };
        if let Some(s) = &places.seat
            && let Some(&at) = desk_seat_at.get(&s.v)
        {
            let line = cx.line_of(at);
            cx.err(
                &s.span,
                field(places, "seat"),
                format!("seat {} already has a desk unit (line {line}); its keys come from there", s.v),
                None,
            );
        }
        let seat_key = (if key.v.is_chair_key() { None } else { seat }, key.v);
        if let Some(&at) = key_at.get(&seat_key) {
            let line = cx.line_of(at);
            let whose = seat_key.0.map_or_else(|| "the chair's".to_owned(), |s| format!("seat {s}'s"));
            cx.err(
                &key.span,
                field(places, "key"),
                format!("{whose} `{}` key is already mapped (line {line})", key.v.name()),
                Some("map each key to one input".into()),
            );
        } else {
            key_at.insert(seat_key, key.span.start);
        }
    }
    let mut coil_at: HashMap<(&str, u8, u16), usize> = HashMap::new();
    for places in &desks.output_spans {
        check_generic(cx, places, &desk_unit_at, &mut coil_at, "coil");
        if let Some(s) = &places.seat
            && let Some(&at) = desk_seat_at.get(&s.v)
        {
            let line = cx.line_of(at);
            cx.err(
                &s.span,
                field(places, "seat"),
                format!("seat {} already has a desk unit (line {line}); its lamps are driven there", s.v),
                None,
            );
        }
    }
}

/// A generic line must not use a desk unit's address nor repeat an input or coil.
fn check_generic<'a>(
    cx: &mut Cx<'_>,
    places: &'a Places,
    desk_unit_at: &HashMap<(&str, u8), (SeatNo, usize)>,
    used: &mut HashMap<(&'a str, u8, u16), usize>,
    what: &str,
) {
    let (Some(bus), Some(unit), Some(address)) = (&places.bus, &places.unit, &places.address) else { return };
    if let Some(&(seat, at)) = desk_unit_at.get(&(bus.v.as_str(), unit.v)) {
        let line = cx.line_of(at);
        cx.err(
            &unit.span,
            field(places, "unit"),
            format!(
                "unit {} on bus `{}` is the desk unit of seat {seat} (line {line}), not a generic module",
                unit.v, bus.v
            ),
            None,
        );
    }
    if let Some(&at) = used.get(&(bus.v.as_str(), unit.v, address.v)) {
        let line = cx.line_of(at);
        cx.err(
            &address.span,
            field(places, what),
            format!(
                "{what} {} of unit {} on bus `{}` is already mapped (line {line})",
                address.v, unit.v, bus.v
            ),
            None,
        );
    } else {
        used.insert((&bus.v, unit.v, address.v), address.span.start);
    }
}
