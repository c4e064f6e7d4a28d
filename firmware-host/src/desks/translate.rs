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
//! | vote yes / no / abstain | `cast_vote` with choice `yes` / `no` / `abstain` (the engine: the seat's occupant, checked in there, in the open vote; `no_vote_open` outside a vote) | — |
//! | presence | `presence_key` (the engine: check the occupant in, or out if in already) | — |
//! | chair: priority | `priority` (clears the list if configured) | — |
//! | chair: next | `next` | — |
//! | chair: stop | `stop_current` (the engine: the newest delegate speaker) | — |
//!
//! A central unit's seat (Shure DCS and the like) reports changes, not keys: a microphone
//! or request that appeared is `request`, one that disappeared is `cancel`
//! ([`central_change`]).
//!
//! Seat keys act as `Actor::Station(Seat(n))`, so the engine applies the members' rules
//! (may they cancel, switch off); chair keys act as `Actor::Chair`. Edges are debounced by
//! the bus driver and the engine ignores a repeated request, so a unit that repeats its
//! key event cannot queue anyone twice.
//!
//! A credential from a unit's reader or keypad (register map v2, or a networked unit)
//! becomes `check_in_at_seat` with the member the room file gives that badge or PIN, and a
//! removed badge `check_out_at_seat`; an unknown badge or PIN becomes nothing (the caller
//! logs it, without the digits).

use podium_devices::central::SeatChange;
use podium_devices::modbus::bus::{Credential, CredentialKind};
use podium_devices::modbus::desk::DeskKey;
use podium_floor::{Actor, CheckInMethod, Command, RequestKind, SeatNo, Station};

use super::mapping::Binding;
use crate::config::MemberCredentials;

/// What a credential means.
#[derive(Debug, Clone, PartialEq)]
pub enum CredentialCommand {
    /// The command, with the seat's actor.
    Command(Command, Actor),
    /// No member has this badge (the UID in hex, for the log).
    UnknownBadge(String),
    /// No member has this PIN (its digits are never logged).
    UnknownPin,
}

/// The command a credential at `seat` causes. Stateless: whether the member may take the
/// seat, and who departs when a badge is removed, the engine decides.
pub fn credential(seat: SeatNo, credential: &Credential, members: &MemberCredentials) -> CredentialCommand {
    let actor = Actor::Station(Station::Seat(seat));
    let check_in = |participant: &str, method| {
        CredentialCommand::Command(
            Command::CheckInAtSeat { seat, participant: participant.to_owned(), method },
            actor.clone(),
        )
    };
    match credential.kind {
        CredentialKind::BadgeRemoved => CredentialCommand::Command(Command::CheckOutAtSeat { seat }, actor),
        CredentialKind::Badge => match members.badge(&credential.id) {
            Some(member) => check_in(member, CheckInMethod::Badge),
            None => {
                CredentialCommand::UnknownBadge(credential.id.iter().map(|b| format!("{b:02X}")).collect())
            }
        },
        CredentialKind::Pin => match members.pin(&credential.id) {
            Some(member) => check_in(member, CheckInMethod::Pin),
            None => CredentialCommand::UnknownPin,
        },
    }
}

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
                (DeskKey::PointOfOrder, true) => Command::Request {
                    station,
                    kind: RequestKind::PointOfOrder,
                    stance: None,
                    raised_at: None,
                },
                (DeskKey::Reply, true) => {
                    Command::Request { station, kind: RequestKind::Reply, stance: None, raised_at: None }
                }
                (DeskKey::VoteYes, true) => Command::CastVote { participant: None, choice: "yes".into() },
                (DeskKey::VoteNo, true) => Command::CastVote { participant: None, choice: "no".into() },
                (DeskKey::VoteAbstain, true) => {
                    Command::CastVote { participant: None, choice: "abstain".into() }
                }
                (DeskKey::Presence, true) => Command::PresenceKey { seat },
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

/// The command a change made at a central unit's seat causes, with the seat's actor. A
/// microphone or request that appeared is a request (the floor grants it, queues it or
/// refuses it by its own rules); one that disappeared is `cancel` (stop while speaking,
/// withdraw while waiting). Whatever the floor decides, the unit is then made to show it.
pub fn central_change(seat: SeatNo, change: SeatChange) -> (Command, Actor) {
    let station = Station::Seat(seat);
    let actor = Actor::Station(station.clone());
    let command = match change {
        SeatChange::MicOn | SeatChange::RequestOn => {
            Command::Request { station, kind: RequestKind::Ordinary, stance: None, raised_at: None }
        }
        SeatChange::MicOff | SeatChange::RequestOff => Command::Cancel { station },
    };
    (command, actor)
}
