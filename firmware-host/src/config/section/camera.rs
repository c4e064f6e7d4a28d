//! `[camera_director]` and `[[camera]]` with its `[[camera.shot]]`s: the PTZ cameras and
//! which preset shows which seat.

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, ToSocketAddrs};

use podium_devices::serial::{Parity, SerialSettings};
use podium_devices::visca::{PresetNumbering, Transport};
use podium_floor::setup::SeatNo;

use super::super::reader::{Cx, Sp, Table, did_you_mean};
use super::non_empty;

/// With several open microphones: which speaker the camera shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Follow {
    /// Jump to whoever opened their microphone last.
    #[default]
    Newest,
    /// Stay on the current speaker while they speak.
    Stay,
}

/// `[camera_director]`: how cameras follow the floor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraDirectorConfig {
    /// Stay or jump with several speakers.
    pub follow: Follow,
    /// A camera keeps a shot at least this long before it moves again.
    pub min_hold_ms: u64,
}

impl Default for CameraDirectorConfig {
    fn default() -> Self {
        CameraDirectorConfig { follow: Follow::Newest, min_hold_ms: 2000 }
    }
}

/// One `[[camera]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraConfig {
    /// Unique name (API, health, logs).
    pub name: String,
    /// Where it is.
    pub transport: Transport,
    /// Camera address on a serial chain (1..=7).
    pub visca_address: u8,
    /// How presets are numbered on the wire.
    pub numbering: PresetNumbering,
    /// Preset when nobody with a shot on this camera speaks; `None`: stay.
    pub overview: Option<u16>,
    /// Preset for a remote speaker; `None`: remote speakers have no shot on this camera.
    pub remote: Option<u16>,
    /// Preset in the non-public part (e.g. pointed at the ceiling); `None`: the overview.
    pub privacy_preset: Option<u16>,
    /// Seat → preset.
    pub shots: Vec<(SeatNo, u16)>,
    /// `simulated = true`: podiumd runs a simulated camera (the demo) and drives it.
    pub simulated: bool,
}

/// A camera with the places needed for cross-checks.
pub(crate) struct CameraEntry {
    pub camera: CameraConfig,
    pub seats: Vec<Sp<SeatNo>>,
}

const FOLLOW: &[&str] = &["newest", "stay"];
/// Keys of `[camera_director]`.
pub(crate) const DIRECTOR_KEYS: [&str; 2] = ["follow", "min_hold_ms"];

/// Reads `[camera_director]` (optional).
pub(crate) fn read_director(root: &mut Table<'_>, cx: &mut Cx<'_>) -> CameraDirectorConfig {
    let mut out = CameraDirectorConfig::default();
    let Some(mut t) = root.table(cx, "camera_director") else {
        return out;
    };
    if let Some(f) = t.choice(cx, "follow", "follow policy", FOLLOW) {
        out.follow = if f.v == "stay" { Follow::Stay } else { Follow::Newest };
    }
    if let Some(h) = t.integer_in(cx, "min_hold_ms", 0, 600_000) {
        out.min_hold_ms = h.v as u64;
    }
    t.finish(cx);
    out
}

/// Reads every `[[camera]]`.
pub(crate) fn read_cameras(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Vec<CameraEntry> {
    let mut out = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for mut t in root.tables(cx, "camera") {
        let name = t.string(cx, "name");
        let name = match name {
            Some(n) if non_empty(cx, &t, "name", &n) => {
                if let Some(line) = names.get(&n.v) {
                    cx.err(
                        &n.span,
                        t.field("name"),
                        format!("camera `{}` is defined twice (first at line {line})", n.v),
                        None,
                    );
                } else {
                    let line = cx.line_of(n.span.start);
                    names.insert(n.v.clone(), line);
                }
                n.v
            }
            Some(_) => String::new(),
            None => {
                if !t.has("name") {
                    t.missing(cx, "name", "\"front\"");
                }
                String::new()
            }
        };
        let simulated = t.boolean(cx, "simulated").is_some_and(|b| b.v);
        let transport = if simulated {
            // Replaced by the simulator's address when podiumd starts it.
            Some(Transport::Udp(([127, 0, 0, 1], 0).into()))
        } else {
            read_transport(&mut t, cx)
        };
        let visca_address = t.integer_in(cx, "visca_address", 1, 7).map_or(1, |a| a.v as u8);
        let numbering = match t.choice(cx, "preset_numbering", "preset numbering", PresetNumbering::NAMES) {
            Some(n) if n.v == "one_based" => PresetNumbering::OneBased,
            _ => PresetNumbering::Direct,
        };
        let preset = |t: &mut Table<'_>, cx: &mut Cx<'_>, key: &'static str| {
            let p = t.u16_in(cx, key, 0, 254)?;
            if numbering.memory(p.v).is_none() {
                cx.err(
                    &p.span,
                    t.field(key),
                    format!("preset {} does not exist with this preset_numbering", p.v),
                    None,
                );
                return None;
            }
            Some(p.v)
        };
        let overview = preset(&mut t, cx, "overview");
        let remote = preset(&mut t, cx, "remote");
        let privacy_preset = preset(&mut t, cx, "privacy_preset");
        let mut shots = Vec::new();
        let mut seats: Vec<Sp<SeatNo>> = Vec::new();
        for mut s in t.tables(cx, "shot") {
            let seat = s.u16_in(cx, "seat", 1, SeatNo::MAX);
            if seat.is_none() && !s.has("seat") {
                s.missing(cx, "seat", "12");
            }
            let p = preset(&mut s, cx, "preset");
            if p.is_none() && !s.has("preset") {
                s.missing(cx, "preset", "3");
            }
            if let Some(seat) = &seat
                && seats.iter().any(|x| x.v == seat.v)
            {
                cx.err(
                    &seat.span,
                    s.field("seat"),
                    format!("seat {} has two shots on this camera", seat.v),
                    None,
                );
            }
            s.finish(cx);
            if let (Some(seat), Some(p)) = (seat, p) {
                shots.push((seat.v, p));
                seats.push(seat);
            }
        }
        t.finish(cx);
        if let Some(transport) = transport {
            out.push(CameraEntry {
                camera: CameraConfig {
                    name,
                    transport,
                    visca_address,
                    numbering,
                    overview,
                    remote,
                    privacy_preset,
                    shots,
                    simulated,
                },
                seats,
            });
        }
    }
    out
}

/// Exactly one of `udp`, `tcp`, `serial` (with `baud`).
fn read_transport(t: &mut Table<'_>, cx: &mut Cx<'_>) -> Option<Transport> {
    let udp = t.string(cx, "udp");
    let tcp = t.string(cx, "tcp");
    let serial = t.string(cx, "serial");
    let baud = t.integer(cx, "baud").and_then(|b| {
        if [9600, 19200, 38400].contains(&b.v) {
            Some(b.v as u32)
        } else {
            let help = Some("VISCA cameras run at 9600, 19200 or 38400 baud".to_owned());
            cx.err(&b.span, t.field("baud"), format!("unsupported baud rate {}", b.v), help);
            None
        }
    });
    let given: Vec<&Sp<String>> = [&udp, &tcp, &serial].into_iter().flatten().collect();
    if given.len() > 1 {
        cx.err(&given[1].span, t.field("udp"), "give one of udp, tcp or serial, not several", None);
        return None;
    }
    let addr = |cx: &mut Cx<'_>, key: &str, s: &Sp<String>, port: u16| -> Option<SocketAddr> {
        let text = s.v.trim();
        let with_port = if text.parse::<SocketAddr>().is_ok()
            || text.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            text.to_owned()
        } else {
            format!("{text}:{port}")
        };
        match with_port.to_socket_addrs().ok().and_then(|mut a| a.next()) {
            Some(a) => Some(a),
            None => {
                cx.err(
                    &s.span,
                    t.field(key),
                    format!("`{}` is not a reachable address", s.v),
                    Some(format!("write a host and a port, e.g. \"10.0.0.5:{port}\"")),
                );
                None
            }
        }
    };
    if let Some(u) = &udp {
        return addr(cx, "udp", u, podium_devices::visca::ip::UDP_PORT).map(Transport::Udp);
    }
    if let Some(u) = &tcp {
        return addr(cx, "tcp", u, podium_devices::visca::ip::TCP_PORT).map(Transport::Tcp);
    }
    if let Some(path) = serial {
        if !non_empty(cx, t, "serial", &path) {
            return None;
        }
        let baud = baud.unwrap_or(9600);
        return Some(Transport::Serial(SerialSettings {
            baud,
            parity: Parity::None,
            stop_bits: 1,
            data_bits: 8,
            path: path.v,
        }));
    }
    let help = Some(
        "add `udp = \"10.0.0.5:52381\"`, `tcp = \"10.0.0.5:5678\"` or `serial = \"/dev/serial/by-id/...\"`"
            .to_owned(),
    );
    cx.err(&t.span, t.field("udp"), "the camera needs an address: udp, tcp or serial", help);
    None
}

/// Every shot's seat must be a `[[seat]]`.
pub(crate) fn check(cx: &mut Cx<'_>, cameras: &[CameraEntry], seats: &[SeatNo]) {
    let known: HashSet<SeatNo> = seats.iter().copied().collect();
    for (i, c) in cameras.iter().enumerate() {
        for (j, seat) in c.seats.iter().enumerate() {
            if !known.contains(&seat.v) {
                let names: Vec<String> = seats.iter().map(|s| s.to_string()).collect();
                let help = did_you_mean(&seat.v.to_string(), names.iter().map(String::as_str));
                cx.err(
                    &seat.span,
                    format!("camera[{}].shot[{}].seat", i + 1, j + 1),
                    format!("seat {} is not a `[[seat]]` of this room", seat.v),
                    help,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{ConfigError, RoomConfig, parse};

    const ROOM: &str = "[room]\nid = \"r\"\nname = \"R\"\n[[seat]]\nnumber = 1\n[[seat]]\nnumber = 2\n";

    fn parse_str(text: &str) -> Result<RoomConfig, Vec<ConfigError>> {
        parse(text, Path::new("test.toml")).map_err(|e| e.0)
    }

    #[test]
    fn cameras_with_shots_load() {
        let text = format!(
            "{ROOM}[camera_director]\nfollow = \"stay\"\nmin_hold_ms = 1500\n\
             [[camera]]\nname = \"front\"\nudp = \"127.0.0.1\"\noverview = 1\nremote = 7\n\
             [[camera.shot]]\nseat = 2\npreset = 4\n\
             [[camera]]\nname = \"side\"\nserial = \"/dev/ttyUSB0\"\nbaud = 38400\nvisca_address = 2\npreset_numbering = \"one_based\"\n"
        );
        let c = parse_str(&text).expect("valid");
        assert_eq!(c.camera_director, CameraDirectorConfig { follow: Follow::Stay, min_hold_ms: 1500 });
        assert_eq!(c.cameras.len(), 2);
        assert_eq!(c.cameras[0].transport, Transport::Udp("127.0.0.1:52381".parse().expect("addr")));
        assert_eq!(c.cameras[0].shots, vec![(2, 4)]);
        assert_eq!((c.cameras[0].overview, c.cameras[0].remote), (Some(1), Some(7)));
        let Transport::Serial(s) = &c.cameras[1].transport else { panic!("serial") };
        assert_eq!((s.baud, c.cameras[1].visca_address), (38400, 2));
        assert_eq!(c.cameras[1].numbering, PresetNumbering::OneBased);
    }

    #[test]
    fn every_camera_error_is_reported_with_its_place() {
        let text = format!(
            "{ROOM}[camera_director]\nfollow = \"newset\"\n\
             [[camera]]\nname = \"front\"\ntcp = \"127.0.0.1:5678\"\nzoom = 3\n\
             [[camera.shot]]\nseat = 9\npreset = 4\n\
             [[camera]]\nname = \"front\"\nserial = \"/dev/x\"\nbaud = 1200\npreset_numbering = \"one_based\"\noverview = 0\n\
             [[camera]]\nname = \"nowhere\"\n"
        );
        let errors = parse_str(&text).expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "camera_director.follow",
                "camera[1].zoom",
                "camera[1].shot[1].seat",
                "camera[2].name",
                "camera[2].baud",
                "camera[2].overview",
                "camera[3].udp"
            ],
            "{errors:#?}"
        );
        assert_eq!(errors[0].help.as_deref(), Some("did you mean `newest`?"));
        let line_of = |needle: &str| text[..text.find(needle).expect("in text")].matches('\n').count() + 1;
        assert_eq!(errors[1].line, line_of("zoom"));
        assert_eq!(errors[2].line, line_of("seat = 9"));
        assert!(errors[3].message.contains("defined twice"));
    }
}
