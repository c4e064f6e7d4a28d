//! Device events become engine commands. Pure and stateless: a key edge in, the command
//! with its actor out. It reads no floor: where a key's meaning depends on the floor
//! (cancel, the chair's stop), the engine decides on the state it applies the command to,
//! so a key pressed while earlier changes still wait for the journal acts on the floor as
//! it is, not on a published snapshot that lags behind.
//!
//! | key | pressed | released |
//! |---|---|---|
//! | request (microphone key) | `key_press` | `key_release` (push activation) |
//! | cancel | `cancel` (the engine: stop while speaking, else withdraw while waiting) | — |
//! | point of order | `request` with kind `point_of_order` | — |
//! | reply | `request` with kind `reply` | — |
//! | vote yes / no / abstain | nothing yet (voting arrives with its own issue) | — |
//! | chair: priority | `priority` (clears the list if configured) | — |
//! | chair: next | `next` | — |
//! | chair: stop | `stop_current` (the engine: the newest delegate speaker) | — |
//!
//! Seat keys act as `Actor::Station(Seat(n))`, so the engine applies the members' rules
//! (may they cancel, switch off); chair keys act as `Actor::Chair`. Edges are debounced by
//! the bus driver and the engine ignores a repeated request, so a unit that repeats its
//! key event cannot queue anyone twice.

use podium_devices::modbus::desk::DeskKey;
use podium_floor::{Actor, Command, RequestKind, Station};

use super::mapping::Binding;

/// The command a key edge causes, with its actor (`None`: the edge means nothing).
pub fn command(binding: Binding, pressed: bool) -> Option<(Command, Actor)> {
    match binding {
        Binding::SeatKey { seat, key } => {
            let station = Station::Seat(seat);
            let actor = Actor::Station(station.clone());
            let command = match (key, pressed) {
                (DeskKey::Request, true) => Command::KeyPress { station },
                (DeskKey::Request, false) => Command::KeyRelease { station },
                (DeskKey::Cancel, true) => Command::Cancel { station },
                (DeskKey::PointOfOrder, true) => {
                    Command::Request { station, kind: RequestKind::PointOfOrder, stance: None }
                }
                (DeskKey::Reply, true) => {
                    Command::Request { station, kind: RequestKind::Reply, stance: None }
                }
                _ => return None,
            };
            Some((command, actor))
        }
        Binding::ChairKey { key, clears_requests } => {
            if !pressed {
                return None;
            }
            let command = match key {
                DeskKey::Priority => Command::Priority { clear_requests: clears_requests },
                DeskKey::Next => Command::Next {},
                DeskKey::Stop => Command::StopCurrent {},
                _ => return None,
            };
            Some((command, Actor::Chair))
        }
    }
}
