//! The MQTT contract, version 1: topics and JSON payloads. Pure: no client, no I/O.
//!
//! Every topic lies under `<prefix>/<room>/` (prefix default `podium/v1`). Every payload
//! is a JSON object with `"v": 1`. The contract is documented in `firmware-host/docs/mqtt-contract.md`.

use podium_floor::{Command, Event, ParticipantId, Reason, RequestKind, Snapshot, Stance, Station};
use serde::{Deserialize, Serialize};

use crate::session::Durability;

/// Version written into, and required in, every payload.
pub const VERSION: u32 = 1;

/// The longest participant id podiumd accepts in a remote topic, in bytes; a message with
/// a longer one is counted as malformed and ignored (no reply, no rate-limit bucket).
pub const MAX_PARTICIPANT_ID: usize = 64;

/// The topic names of one room.
#[derive(Debug, Clone)]
pub struct Topics {
    base: String,
}

impl Topics {
    /// Topics under `<prefix>/<room>/`.
    pub fn new(prefix: &str, room: &str) -> Self {
        Topics { base: format!("{prefix}/{room}") }
    }

    /// `…/status` (retained): podiumd's availability; the last will sets it offline.
    pub fn status(&self) -> String {
        format!("{}/status", self.base)
    }

    /// `…/state` (retained): the full snapshot with its sequence number.
    pub fn state(&self) -> String {
        format!("{}/state", self.base)
    }

    /// `…/health` (retained): the room's health document for the city's fleet view.
    pub fn health(&self) -> String {
        format!("{}/health", self.base)
    }

    /// `…/alarms`: a device failing or recovering, the journal, the clock, the disk.
    pub fn alarms(&self) -> String {
        format!("{}/alarms", self.base)
    }

    /// `…/events`: every event with its sequence number.
    pub fn events(&self) -> String {
        format!("{}/events", self.base)
    }

    /// `…/conference` (retained): what the video-conference side must do now.
    pub fn conference(&self) -> String {
        format!("{}/conference", self.base)
    }

    /// `…/private/<topic>`: the same as `state`, `events` and `conference`, with names in
    /// the non-public part too; for the video-conference bridge and dashboards only.
    pub fn private(&self, topic: &str) -> String {
        format!("{}/private/{topic}", self.base)
    }

    /// `…/remote/+/+`: what podiumd subscribes to for remote participants.
    pub fn remote_filter(&self) -> String {
        format!("{}/remote/+/+", self.base)
    }

    /// `…/remote/<participant>/reply`: the answer to each message from a participant.
    pub fn reply(&self, participant: &str) -> String {
        format!("{}/remote/{participant}/reply", self.base)
    }

    /// Parses an incoming topic into (participant, action), if it is one of ours.
    pub fn parse_remote<'t>(&self, topic: &'t str) -> Option<(&'t str, &'t str)> {
        let rest = topic.strip_prefix(&self.base)?.strip_prefix("/remote/")?;
        let (participant, action) = rest.split_once('/')?;
        (!participant.is_empty() && !action.contains('/')).then_some((participant, action))
    }
}

/// `…/remote/<participant>/request`: the participant asks for the floor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestPayload {
    /// Contract version, must be 1.
    pub v: u32,
    /// Request type; ordinary when absent.
    #[serde(default = "ordinary")]
    pub kind: RequestKind,
    /// Optional pro/contra tag.
    #[serde(default)]
    pub stance: Option<Stance>,
    /// When the hand went up in the conference (Unix milliseconds, the conference's clock);
    /// kept in the record beside podiumd's stamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raised_at: Option<u64>,
}

/// `…/remote/<participant>/withdraw`: the participant lowers the hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawPayload {
    /// Contract version, must be 1.
    pub v: u32,
}

/// `…/remote/<participant>/presence` (retained by the bridge): joined or left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresencePayload {
    /// Contract version, must be 1.
    pub v: u32,
    /// In the conference (true) or not (false).
    pub present: bool,
}

fn ordinary() -> RequestKind {
    RequestKind::Ordinary
}

/// Why an incoming message was not turned into a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// Not a topic of the contract (e.g. a reply topic podiumd itself publishes).
    #[error("not a command topic")]
    NotACommand,
    /// Unknown action segment.
    #[error("unknown action `{0}` (expected request, withdraw or presence)")]
    UnknownAction(String),
    /// Payload not valid JSON of the expected shape.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// Wrong contract version.
    #[error("unsupported contract version {0} (this podiumd speaks version {VERSION})")]
    Version(u32),
}

impl InboundError {
    /// Stable code published back in the reply.
    pub fn code(&self) -> &'static str {
        match self {
            InboundError::NotACommand => "not_a_command",
            InboundError::UnknownAction(_) => "unknown_action",
            InboundError::Malformed(_) => "malformed_payload",
            InboundError::Version(_) => "unsupported_version",
        }
    }
}

/// Turns an incoming remote message into an engine command on behalf of the participant.
pub fn inbound_command(participant: &str, action: &str, payload: &[u8]) -> Result<Command, InboundError> {
    fn parse<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, InboundError> {
        serde_json::from_slice(payload).map_err(|e| InboundError::Malformed(e.to_string()))
    }
    fn check(v: u32) -> Result<(), InboundError> {
        if v == VERSION { Ok(()) } else { Err(InboundError::Version(v)) }
    }
    let station = Station::Remote(participant.to_string());
    match action {
        "request" => {
            let p: RequestPayload = parse(payload)?;
            check(p.v)?;
            Ok(Command::Request { station, kind: p.kind, stance: p.stance, raised_at: p.raised_at })
        }
        "withdraw" => {
            let p: WithdrawPayload = parse(payload)?;
            check(p.v)?;
            Ok(Command::Withdraw { station })
        }
        "presence" => {
            let p: PresencePayload = parse(payload)?;
            check(p.v)?;
            let participant = participant.to_string();
            Ok(if p.present {
                Command::JoinRemote { participant }
            } else {
                Command::LeaveRemote { participant }
            })
        }
        "reply" => Err(InboundError::NotACommand),
        other => Err(InboundError::UnknownAction(other.to_string())),
    }
}

/// `…/remote/<participant>/reply`: the outcome of one incoming message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Contract version.
    pub v: u32,
    /// The action answered (`request`, `withdraw`, `presence`, …).
    pub action: String,
    /// Accepted?
    pub ok: bool,
    /// On rejection: the engine's reason code or a contract error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// On rejection: a human-readable explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// On acceptance: the sequence number of the state after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// On acceptance: whether the change is in the journal (`written`, `not_recorded`
    /// without a journal, `not_durable` while the journal cannot write).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub durability: Option<Durability>,
}

impl Reply {
    /// An accepted message.
    pub fn accepted(action: &str, seq: u64, durability: Durability) -> Self {
        Reply {
            v: VERSION,
            action: action.into(),
            ok: true,
            reason: None,
            message: None,
            seq: Some(seq),
            durability: Some(durability),
        }
    }

    /// A rejected message.
    pub fn rejected(action: &str, reason: &str, message: String) -> Self {
        Reply {
            v: VERSION,
            action: action.into(),
            ok: false,
            reason: Some(reason.into()),
            message: Some(message),
            seq: None,
            durability: None,
        }
    }

    /// A rejection by the floor rules.
    pub fn from_reason(action: &str, reason: Reason, message: String) -> Self {
        Reply::rejected(action, reason.code(), message)
    }
}

/// `…/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Contract version.
    pub v: u32,
    /// podiumd is connected.
    pub online: bool,
}

/// `…/state`. Borrows the snapshot: publishing serialises it without copying it first.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StatePayload<'a> {
    /// Contract version.
    pub v: u32,
    /// The snapshot; `snapshot.floor.seq` is the last event it contains.
    pub snapshot: &'a Snapshot,
}

/// `…/events`. Borrows the event, like [`StatePayload`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EventPayload<'a> {
    /// Contract version.
    pub v: u32,
    /// The event; `event.seq` is gap-free, so a consumer sees what it missed and can
    /// resynchronise from `…/state`.
    pub event: &'a Event,
}

/// `…/conference`: the floor commands for the video-conference side, as desired state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conference {
    /// Contract version.
    pub v: u32,
    /// Sequence number of the floor state this follows.
    pub seq: u64,
    /// Remote participants whose microphone must be open; every other remote participant
    /// must be muted.
    pub unmuted: Vec<ParticipantId>,
    /// Whose video to show large: the remote participant who got the floor last, if any.
    pub large_video: Option<ParticipantId>,
    /// Everyone speaking now, room and remote, for the conference's own display.
    pub speakers: Vec<ConferenceSpeaker>,
}

/// One current speaker, as the video-conference side shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConferenceSpeaker {
    /// Participant id, if known.
    pub participant: Option<ParticipantId>,
    /// Display name: the participant's name or the seat label.
    pub name: String,
    /// Remote (true) or in the room (false).
    pub remote: bool,
}

/// What the conference side must do for this snapshot. Pure: a function of the floor.
pub fn conference(snapshot: &Snapshot) -> Conference {
    let name_of = |station: &Station, participant: &Option<ParticipantId>| -> String {
        if let Some(p) =
            participant.as_ref().and_then(|id| snapshot.participants.iter().find(|p| &p.id == id))
        {
            return p.name.clone();
        }
        match station {
            Station::Seat(n) => snapshot
                .seats
                .iter()
                .find(|s| s.number == *n)
                .map(|s| format!("Platz {}", s.label))
                .unwrap_or_else(|| format!("Platz {n}")),
            Station::Remote(id) => id.clone(),
        }
    };
    let speakers = &snapshot.floor.speakers;
    let unmuted: Vec<ParticipantId> = speakers
        .iter()
        .filter_map(|s| match &s.station {
            Station::Remote(id) => Some(id.clone()),
            Station::Seat(_) => None,
        })
        .collect();
    Conference {
        v: VERSION,
        seq: snapshot.floor.seq,
        large_video: unmuted.last().cloned(),
        unmuted,
        speakers: speakers
            .iter()
            .map(|s| ConferenceSpeaker {
                participant: s.participant.clone(),
                name: name_of(&s.station, &s.participant),
                remote: matches!(s.station, Station::Remote(_)),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_topics_parse_and_others_do_not() {
        let t = Topics::new("podium/v1", "saal");
        assert_eq!(t.parse_remote("podium/v1/saal/remote/mueller/request"), Some(("mueller", "request")));
        assert_eq!(t.parse_remote("podium/v1/other/remote/mueller/request"), None);
        assert_eq!(t.parse_remote("podium/v1/saal/remote//request"), None);
        assert_eq!(t.parse_remote("podium/v1/saal/remote/a/b/c"), None);
        assert_eq!(t.parse_remote("podium/v1/saal/state"), None);
    }

    #[test]
    fn payloads_become_commands() {
        let request = inbound_command("m", "request", br#"{"v":1,"kind":"point_of_order"}"#).unwrap();
        assert_eq!(
            request,
            Command::Request {
                station: Station::Remote("m".into()),
                kind: RequestKind::PointOfOrder,
                stance: None,
                raised_at: None
            }
        );
        assert_eq!(
            inbound_command("m", "presence", br#"{"v":1,"present":false}"#).unwrap(),
            Command::LeaveRemote { participant: "m".into() }
        );
        assert_eq!(
            inbound_command("m", "withdraw", br#"{"v":1}"#).unwrap(),
            Command::Withdraw { station: Station::Remote("m".into()) }
        );
    }

    #[test]
    fn bad_payloads_are_classified() {
        let code = |action: &str, payload: &[u8]| inbound_command("m", action, payload).unwrap_err().code();
        assert_eq!(code("request", b"not json"), "malformed_payload");
        assert_eq!(code("request", br#"{"v":1,"kind":"shout"}"#), "malformed_payload");
        assert_eq!(code("request", br#"{"v":1,"extra":true}"#), "malformed_payload");
        assert_eq!(code("request", br#"{"kind":"ordinary"}"#), "malformed_payload");
        assert_eq!(code("request", br#"{"v":2}"#), "unsupported_version");
        assert_eq!(code("dance", br#"{"v":1}"#), "unknown_action");
        assert_eq!(code("reply", br#"{"v":1}"#), "not_a_command");
        assert_eq!(code("presence", &[0xff, 0xfe, 0x00]), "malformed_payload");
    }
}
