//! `[[microphone]]` with its `[[microphone.zone]]`s: room microphone arrays (Shure MXA)
//! and which seats each channel covers.

use std::collections::HashSet;
use std::net::SocketAddr;

use podium_floor::setup::SeatNo;

use super::super::reader::{Cx, Table};
use super::{non_empty, tcp_address};

/// One `[[microphone]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrophoneConfig {
    /// Unique name.
    pub name: String,
    /// Address (port 2202).
    pub addr: SocketAddr,
    /// Channel → the seats it covers.
    pub zones: Vec<(u8, Vec<SeatNo>)>,
    /// `simulated = true`: podiumd runs a simulated array (the demo) and drives it.
    pub simulated: bool,
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
        let simulated = t.boolean(cx, "simulated").is_some_and(|b| b.v);
        let addr = if simulated {
            if let Some(tcp) = t.string(cx, "tcp") {
                cx.err(&tcp.span, t.field("tcp"), "give either tcp or simulated = true, not both", None);
            }
            // Replaced by the simulator's address when podiumd starts it.
            Some(SocketAddr::from(([127, 0, 0, 1], 0)))
        } else {
            let addr = tcp_address(cx, &mut t, "tcp", podium_devices::shure::codec::PORT, "10.0.0.30:2202");
            if !t.has("tcp") {
                t.missing(cx, "tcp", "\"10.0.0.30:2202\"");
            }
            addr
        };
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
            out.push(MicrophoneConfig { name: name.v, addr, zones, simulated });
        }
    }
    out
}
