//! `[[microphone]]` with its `[[microphone.zone]]`s: room microphone arrays (Shure MXA)
//! and which seats each channel covers.

use std::collections::HashSet;
use std::net::{SocketAddr, ToSocketAddrs};

use podium_floor::setup::SeatNo;

use super::super::reader::{Cx, Sp, Table};
use super::non_empty;

/// One `[[microphone]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrophoneConfig {
    /// Unique name.
    pub name: String,
    /// Address (port 2202).
    pub addr: SocketAddr,
    /// Channel → the seats it covers.
    pub zones: Vec<(u8, Vec<SeatNo>)>,
}

/// Reads every `[[microphone]]`; `seats` are the room's seat numbers.
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>, seats: &[SeatNo]) -> Vec<MicrophoneConfig> {
    let known: HashSet<SeatNo> = seats.iter().copied().collect();
    let mut out = Vec::new();
    for mut t in root.tables(cx, "microphone") {
        let name = t.string(cx, "name").filter(|n| non_empty(cx, &t, "name", n));
        if name.is_none() && !t.has("name") {
            t.missing(cx, "name", "\"ceiling\"");
        }
        let tcp = t.string(cx, "tcp");
        let addr = tcp.as_ref().and_then(|s: &Sp<String>| {
            let text = s.v.trim();
            let with_port = if text.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
                text.to_owned()
            } else {
                format!("{text}:{}", podium_devices::shure::codec::PORT)
            };
            let found = with_port.to_socket_addrs().ok().and_then(|mut a| a.next());
            if found.is_none() {
                let help = Some("write a host and a port, e.g. \"10.0.0.30:2202\"".to_owned());
                cx.err(&s.span, t.field("tcp"), format!("`{}` is not a reachable address", s.v), help);
            }
            found
        });
        if tcp.is_none() && !t.has("tcp") {
            t.missing(cx, "tcp", "\"10.0.0.30:2202\"");
        }
        let mut zones = Vec::new();
        for mut z in t.tables(cx, "zone") {
            let channel = z.integer_in(cx, "channel", 1, 64).map(|c| c.v as u8);
            if channel.is_none() && !z.has("channel") {
                z.missing(cx, "channel", "1");
            }
            let mut covered = Vec::new();
            for s in z.array_of_integers(cx, "seats").unwrap_or_default() {
                match SeatNo::try_from(s.v).ok().filter(|n| known.contains(n)) {
                    Some(n) => covered.push(n),
                    None => cx.err(
                        &s.span,
                        z.field("seats"),
                        format!("seat {} is not a `[[seat]]` of this room", s.v),
                        None,
                    ),
                }
            }
            z.finish(cx);
            if let Some(c) = channel {
                zones.push((c, covered));
            }
        }
        t.finish(cx);
        if let (Some(name), Some(addr)) = (name, addr) {
            out.push(MicrophoneConfig { name: name.v, addr, zones });
        }
    }
    out
}
