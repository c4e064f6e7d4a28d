//! Device events become engine commands. Pure: a key edge plus the current floor in,
//! the commands with their actors out.
//!
//! | key | pressed | released |
//! |---|---|---|
//! | request (microphone key) | `key_press` | `key_release` (push activation) |
//! | cancel | `stop` while speaking, else `withdraw` while waiting | — |
//! | point of order | `request` with kind `point_of_order` | — |
//! | reply | `request` with kind `reply` | — |
//! | vote yes / no / abstain | nothing yet (voting arrives with its own issue) | — |
//! | chair: priority | `priority` (clears the list if configured) | — |
//! | chair: next | `next` | — |
//! | chair: stop | `stop` of the current delegate speaker | — |
//!
//! Seat keys act as `Actor::Station(Seat(n))`, so the engine applies the members' rules
//! (may they cancel, switch off); chair keys act as `Actor::Chair`. Edges are debounced by
//! the bus driver and the engine ignores a repeated request, so a unit that repeats its
//! key event cannot queue anyone twice.

use podium_devices::modbus::desk::DeskKey;
use podium_floor::{Actor, Command, FloorState, RequestKind, Station};

use super::mapping::Binding;

/// The commands a key edge causes, given the floor now.
pub fn commands(binding: Binding, pressed: bool, floor: &FloorState) -> Vec<(Command, Actor)> {
    match binding {
        Binding::SeatKey { seat, key } => {
            let station = Station::Seat(seat);
            let actor = Actor::Station(station.clone());
            let command = match (key, pressed) {
                (DeskKey::Request, true) => Command::KeyPress { station },
                (DeskKey::Request, false) => Command::KeyRelease { station },
                (DeskKey::Cancel, true) if floor.speaker_index(&station).is_some() => {
                    Command::Stop { station }
                }
                (DeskKey::Cancel, true) if floor.request_index(&station).is_some() => {
                    Command::Withdraw { station }
                }
                (DeskKey::PointOfOrder, true) => {
                    Command::Request { station, kind: RequestKind::PointOfOrder, stance: None }
                }
                (DeskKey::Reply, true) => {
                    Command::Request { station, kind: RequestKind::Reply, stance: None }
                }
                _ => return Vec::new(),
            };
            vec![(command, actor)]
        }
        Binding::ChairKey { key, clears_requests } => {
            if !pressed {
                return Vec::new();
            }
            let command = match key {
                DeskKey::Priority => Command::Priority { clear_requests: clears_requests },
                DeskKey::Next => Command::Next {},
                DeskKey::Stop => {
                    let current = floor.speakers.iter().rev().find(|s| !s.exempt);
                    match current {
                        Some(speaker) => Command::Stop { station: speaker.station.clone() },
                        None => return Vec::new(),
                    }
                }
                _ => return Vec::new(),
            };
            vec![(command, Actor::Chair)]
        }
    }
}
