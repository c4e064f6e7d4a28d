//! `[[display]]`: room displays, projectors and matrix switchers, and which source they
//! show when the floor is in the room or with a remote member.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};

use podium_devices::serial::{Parity, SerialSettings};

use super::super::reader::{Cx, Sp, Table};
use super::non_empty;

/// How podiumd reaches the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayDevice {
    /// PJLink class 1 over TCP (port 4352).
    Pjlink {
        /// Address.
        addr: SocketAddr,
        /// PJLink password, if the device asks for one.
        password: Option<String>,
    },
    /// Samsung MDC over TCP (port 1515) or RS-232.
    Mdc {
        /// TCP address, or `None` with `serial`.
        addr: Option<SocketAddr>,
        /// Serial port, or `None` with `addr`.
        serial: Option<SerialSettings>,
        /// Display id.
        id: u8,
    },
    /// Extron SIS matrix over TCP (port 23) or RS-232; ties go to `outputs`.
    Extron {
        /// TCP address, or `None` with `serial`.
        addr: Option<SocketAddr>,
        /// Serial port, or `None` with `addr`.
        serial: Option<SerialSettings>,
        /// Matrix outputs that feed the room displays.
        outputs: Vec<u16>,
    },
}

/// One `[[display]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayConfig {
    /// Unique name.
    pub name: String,
    /// Protocol and address.
    pub device: DisplayDevice,
    /// Source while the floor is in the room (PJLink `31`, MDC `hdmi1`, Extron input `1`).
    pub default_input: Option<String>,
    /// Source while a remote member speaks (the video-conference feed).
    pub conference_input: Option<String>,
    /// Source in the non-public part (e.g. a neutral slide), for every display and the
    /// switcher that feeds the stream; `None`: as in the public part.
    pub nonpublic_input: Option<String>,
    /// Keep the display powered on while podiumd runs (not for matrices).
    pub power: Option<bool>,
    /// On while a meeting is open (`POST /api/v1/meetings`), standby otherwise.
    pub power_with_meeting: bool,
    /// `simulated = true`: podiumd runs a simulated device (the demo) and drives it.
    pub simulated: bool,
    /// What it shows: the hall (`"hall"`, the default) or the stream (`"stream"`, e.g. the
    /// matrix output to the streaming encoder); a presentation chooses either or both.
    pub feeds_stream: bool,
}

const PROTOCOLS: &[&str] = &["pjlink", "mdc", "extron"];

/// Whether `input` is an input of a `protocol` device; else how its inputs are written.
pub(crate) fn input_of(protocol: &str, input: &str) -> Result<(), &'static str> {
    let ok = match protocol {
        "pjlink" => podium_devices::pjlink::codec::is_input(input.trim()),
        "mdc" => podium_devices::mdc::codec::input_code(input).is_some(),
        _ => input.trim().parse::<u16>().is_ok_and(|i| (1..=999).contains(&i)),
    };
    ok.then_some(()).ok_or(match protocol {
        "pjlink" => "PJLink inputs are two characters: type 1-6 and index 1-9 or A-Z, e.g. \"31\"",
        "mdc" => {
            "MDC inputs: hdmi1, hdmi2, hdmi3, hdmi4, displayport1, displayport2, dvi, pc, magicinfo or a code like \"0x21\""
        }
        _ => "Extron inputs are numbers, e.g. \"3\"",
    })
}

impl DisplayDevice {
    /// The protocol's name in the room file.
    pub fn protocol(&self) -> &'static str {
        match self {
            DisplayDevice::Pjlink { .. } => "pjlink",
            DisplayDevice::Mdc { .. } => "mdc",
            DisplayDevice::Extron { .. } => "extron",
        }
    }
}

fn address(cx: &mut Cx<'_>, t: &Table<'_>, s: &Sp<String>, port: u16) -> Option<SocketAddr> {
    let text = s.v.trim();
    let with_port = if text.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        text.to_owned()
    } else {
        format!("{text}:{port}")
    };
    let found = with_port.to_socket_addrs().ok().and_then(|mut a| a.next());
    if found.is_none() {
        let help = Some(format!("write a host and a port, e.g. \"10.0.0.20:{port}\""));
        cx.err(&s.span, t.field("tcp"), format!("`{}` is not a reachable address", s.v), help);
    }
    found
}

/// Reads every `[[display]]`.
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Vec<DisplayConfig> {
    let mut out = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for mut t in root.tables(cx, "display") {
        let name = match t.string(cx, "name") {
            Some(n) if non_empty(cx, &t, "name", &n) => {
                if let Some(line) = names.get(&n.v) {
                    cx.err(
                        &n.span,
                        t.field("name"),
                        format!("display `{}` is defined twice (first at line {line})", n.v),
                        None,
                    );
                }
                let line = cx.line_of(n.span.start);
                names.entry(n.v.clone()).or_insert(line);
                Some(n.v)
            }
            Some(_) => None,
            None => {
                if !t.has("name") {
                    t.missing(cx, "name", "\"wall\"");
                }
                None
            }
        };
        let protocol = t.choice(cx, "protocol", "display protocol", PROTOCOLS).map(|p| p.v);
        if protocol.is_none() && !t.has("protocol") {
            t.missing(cx, "protocol", "\"pjlink\"");
        }
        let simulated = t.boolean(cx, "simulated").is_some_and(|b| b.v);
        let feeds_stream =
            t.choice(cx, "feeds", "screen", &["hall", "stream"]).is_some_and(|f| f.v == "stream");
        let tcp = t.string(cx, "tcp");
        let serial = t.string(cx, "serial");
        let baud = t.integer_in(cx, "baud", 1200, 115_200).map_or(9600, |b| b.v as u32);
        let password = t.string(cx, "password");
        let id = t.integer_in(cx, "id", 0, 254).map_or(1, |i| i.v as u8);
        let outputs: Vec<Sp<i64>> = t.array_of_integers(cx, "outputs").unwrap_or_default();
        let default_input = t.string(cx, "default_input");
        let conference_input = t.string(cx, "conference_input");
        let nonpublic_input = t.string(cx, "nonpublic_input");
        let power_value = t.boolean(cx, "power");
        let power_with_meeting = t.boolean(cx, "power_with_meeting");
        if let (Some(_), Some(m)) = (&power_value, &power_with_meeting) {
            cx.err(
                &m.span,
                t.field("power_with_meeting"),
                "give either power or power_with_meeting, not both",
                None,
            );
        }
        let power = power_value.map(|p| p.v);
        let power_with_meeting = power_with_meeting.is_some_and(|m| m.v);
        let default_port = match protocol {
            Some("pjlink") => 4352,
            Some("mdc") => 1515,
            _ => 23,
        };
        let addr = if simulated {
            // Replaced by the simulator's address when podiumd starts it.
            Some(SocketAddr::from(([127, 0, 0, 1], 0)))
        } else {
            tcp.as_ref().and_then(|s| address(cx, &t, s, default_port))
        };
        let serial_settings = serial.as_ref().filter(|s| non_empty(cx, &t, "serial", s)).map(|s| {
            SerialSettings { path: s.v.clone(), baud, parity: Parity::None, stop_bits: 1, data_bits: 8 }
        });
        if let (Some(_), Some(s)) = (&tcp, &serial) {
            cx.err(&s.span, t.field("serial"), "give either tcp or serial, not both", None);
        }
        let check_input = |cx: &mut Cx<'_>, value: &Option<Sp<String>>, key: &str| -> Option<String> {
            let v = value.as_ref()?;
            if let Some(Err(help)) = protocol.map(|p| input_of(p, &v.v)) {
                cx.err(
                    &v.span,
                    t.field(key),
                    format!("`{}` is not an input of this device", v.v),
                    Some(help.into()),
                );
                return None;
            }
            Some(v.v.trim().to_owned())
        };
        let default_input = check_input(cx, &default_input, "default_input");
        let conference_input = check_input(cx, &conference_input, "conference_input");
        let nonpublic_input = check_input(cx, &nonpublic_input, "nonpublic_input");
        let device = match protocol {
            Some("pjlink") => {
                if let Some(s) = &serial {
                    cx.err(
                        &s.span,
                        t.field("serial"),
                        "PJLink runs over TCP only",
                        Some("write `tcp = \"10.0.0.20\"`".into()),
                    );
                }
                match addr {
                    Some(addr) => Some(DisplayDevice::Pjlink { addr, password: password.map(|p| p.v) }),
                    None => {
                        if tcp.is_none() {
                            t.missing(cx, "tcp", "\"10.0.0.20:4352\"");
                        }
                        None
                    }
                }
            }
            Some(kind) => {
                if addr.is_none() && serial_settings.is_none() && tcp.is_none() && serial.is_none() {
                    t.missing(cx, "tcp", "\"10.0.0.20\" (or `serial = \"/dev/serial/by-id/...\"`)");
                }
                if let Some(p) = &password {
                    cx.err(&p.span, t.field("password"), "only PJLink devices take a password", None);
                }
                let outputs: Vec<u16> = outputs
                    .iter()
                    .filter_map(|o| match u16::try_from(o.v) {
                        Ok(v) if (1..=999).contains(&v) => Some(v),
                        _ => {
                            cx.err(
                                &o.span,
                                t.field("outputs"),
                                format!("output {} is not between 1 and 999", o.v),
                                None,
                            );
                            None
                        }
                    })
                    .collect();
                if kind == "extron" && outputs.is_empty() {
                    t.missing(cx, "outputs", "[1, 2] (the matrix outputs of the room displays)");
                }
                (addr.is_some() || serial_settings.is_some()).then(|| {
                    if kind == "mdc" {
                        DisplayDevice::Mdc { addr, serial: serial_settings.clone(), id }
                    } else {
                        DisplayDevice::Extron { addr, serial: serial_settings.clone(), outputs }
                    }
                })
            }
            None => None,
        };
        t.finish(cx);
        if let (Some(name), Some(device)) = (name, device) {
            out.push(DisplayConfig {
                name,
                device,
                default_input,
                conference_input,
                nonpublic_input,
                power,
                power_with_meeting,
                simulated,
                feeds_stream,
            });
        }
    }
    out
}
