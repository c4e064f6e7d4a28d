//! Networked (ESP32-class) desk units over MQTT: topics and JSON payloads, pure. The
//! contract is documented for firmware authors in `devices/docs/mqtt-desk-units.md`;
//! this module encodes and decodes it. No client, no I/O: the daemon's MQTT link feeds
//! it topics and payloads.
//!
//! Every topic lies under `<prefix>/<room>/desk/<unit>/` where `<unit>` is the unit's own
//! id (e.g. `esp32-a1b2c3`); which seat a unit serves is the room configuration's
//! business, not the unit's.

use serde::{Deserialize, Serialize};

use crate::modbus::desk::{ChairDisplay, ChoiceLamp, DeskKey, DeskOutputs};
use crate::modbus::units::{Credential, CredentialKind};

/// Contract version carried as `"v"` in every payload.
pub const VERSION: u32 = 1;

/// Longest accepted payload from a unit, in bytes (a key event is about 60).
pub const MAX_PAYLOAD: usize = 1024;

/// The topics of one room's networked desk units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskTopics {
    base: String,
}

/// What a topic from a unit carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitTopic {
    /// `…/key`: a key went down or up.
    Key,
    /// `…/status`: online (published by the unit) or offline (its last will).
    Status,
    /// `…/credential`: a badge presented or removed, a PIN entered.
    Credential,
    /// `…/voice`: the unit's voice detector heard a talker start or stop (voice mode).
    Voice,
}

impl DeskTopics {
    /// Topics under `<prefix>/<room>/desk/`.
    pub fn new(prefix: &str, room: &str) -> Self {
        DeskTopics { base: format!("{}/{}/desk", prefix.trim_end_matches('/'), room) }
    }

    /// `…/desk/+/key`, `…/desk/+/status`, `…/desk/+/credential` and `…/desk/+/voice`:
    /// what podiumd subscribes to.
    pub fn subscriptions(&self) -> [String; 4] {
        [
            format!("{}/+/key", self.base),
            format!("{}/+/status", self.base),
            format!("{}/+/credential", self.base),
            format!("{}/+/voice", self.base),
        ]
    }

    /// Where a unit publishes voice activity.
    pub fn voice(&self, unit: &str) -> String {
        format!("{}/{unit}/voice", self.base)
    }

    /// Where a unit publishes credentials.
    pub fn credential(&self, unit: &str) -> String {
        format!("{}/{unit}/credential", self.base)
    }

    /// Where podiumd publishes a unit's vote lamps (retained).
    pub fn vote(&self, unit: &str) -> String {
        format!("{}/{unit}/vote", self.base)
    }

    /// Where a unit publishes key events.
    pub fn key(&self, unit: &str) -> String {
        format!("{}/{unit}/key", self.base)
    }

    /// Where a unit publishes its status and sets its last will (retained).
    pub fn status(&self, unit: &str) -> String {
        format!("{}/{unit}/status", self.base)
    }

    /// Where podiumd publishes a unit's desired outputs (retained).
    pub fn outputs(&self, unit: &str) -> String {
        format!("{}/{unit}/outputs", self.base)
    }

    /// Where podiumd publishes a test action (not retained).
    pub fn test(&self, unit: &str) -> String {
        format!("{}/{unit}/test", self.base)
    }

    /// The unit id and kind of an incoming topic, if it is a unit → podiumd topic of
    /// this room. Unit ids must be one non-empty level without wildcards.
    pub fn parse<'t>(&self, topic: &'t str) -> Option<(&'t str, UnitTopic)> {
        let rest = topic.strip_prefix(&self.base)?.strip_prefix('/')?;
        let (unit, leaf) = rest.split_once('/')?;
        if !valid_unit_id(unit) {
            return None;
        }
        match leaf {
            "key" => Some((unit, UnitTopic::Key)),
            "status" => Some((unit, UnitTopic::Status)),
            "credential" => Some((unit, UnitTopic::Credential)),
            "voice" => Some((unit, UnitTopic::Voice)),
            _ => None,
        }
    }
}

/// A unit id: 1-64 characters from `a-z A-Z 0-9 - _ .` (safe as one MQTT topic level).
pub fn valid_unit_id(unit: &str) -> bool {
    !unit.is_empty()
        && unit.len() <= 64
        && unit.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `…/key` payload: `{"v":1,"key":"request","pressed":true,"seq":17}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPayload {
    /// Contract version.
    pub v: u32,
    /// Which key.
    pub key: DeskKey,
    /// Down (true) or up (false).
    pub pressed: bool,
    /// The unit's event counter, +1 per event, from 0 at boot: duplicates (QoS 1
    /// redelivery) repeat a number and are dropped.
    pub seq: u32,
}

/// `…/voice` payload: `{"v":1,"active":true,"seq":21}` when the unit's voice detector
/// hears its member start talking, `"active":false` when they stop. `seq` is the same
/// counter as the key events'. Podiumd applies `[voice]`'s hold times, so a unit may
/// report its detector's raw changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoicePayload {
    /// Contract version.
    pub v: u32,
    /// A talker is heard (true) or silence (false).
    pub active: bool,
    /// The unit's event counter (shared with key events).
    pub seq: u32,
}

/// `…/credential` payload: `{"v":1,"kind":"badge","uid":"04A1B2C3D4","seq":18}`,
/// `{"v":1,"kind":"badge_removed","seq":19}` or `{"v":1,"kind":"pin","pin":"4711","seq":20}`.
/// `seq` is the same counter as the key events'. `Debug` never shows the PIN.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialPayload {
    /// Contract version.
    pub v: u32,
    /// `badge`, `badge_removed` or `pin`.
    pub kind: CredentialKind,
    /// The badge UID in hex (1-8 bytes), for `badge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The PIN's digits (1-8), for `pin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// The unit's event counter (shared with key events).
    pub seq: u32,
}

impl std::fmt::Debug for CredentialPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialPayload")
            .field("v", &self.v)
            .field("kind", &self.kind)
            .field("uid", &self.uid)
            .field("pin", &self.pin.as_ref().map(|p| format!("<{} digits>", p.len())))
            .field("seq", &self.seq)
            .finish()
    }
}

impl CredentialPayload {
    /// The credential it carries, as a Modbus unit's registers would (`seq` cut to 16
    /// bits); `None` when `uid` or `pin` is missing, misplaced or malformed.
    pub fn credential(&self) -> Option<Credential> {
        let id = match (self.kind, &self.uid, &self.pin) {
            (CredentialKind::BadgeRemoved, None, None) => Vec::new(),
            (CredentialKind::Badge, Some(uid), None) => {
                let uid = uid.trim();
                if !uid.len().is_multiple_of(2)
                    || !(2..=16).contains(&uid.len())
                    || !uid.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return None;
                }
                (0..uid.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&uid[i..i + 2], 16).ok())
                    .collect::<Option<_>>()?
            }
            (CredentialKind::Pin, None, Some(pin)) => {
                if pin.is_empty() || pin.len() > 8 || !pin.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                pin.as_bytes().to_vec()
            }
            _ => return None,
        };
        Some(Credential { sequence: self.seq as u16, kind: self.kind, id })
    }
}

/// `…/vote` payload (podiumd → unit, retained): the vote lamps,
/// `{"v":1,"voting_open":true,"registered":false}` and with `"choice":"yes"` once voted in
/// an open or roll-call vote (never in a secret one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VotePayload {
    /// Contract version.
    pub v: u32,
    /// A vote is open and this seat may vote and has not yet.
    pub voting_open: bool,
    /// This seat's vote is registered.
    pub registered: bool,
    /// `yes`, `no` or `abstain`: the registered choice, in open and roll-call votes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<ChoiceLamp>,
}

/// The `…/vote` payload as JSON bytes.
pub fn encode_vote(outputs: &DeskOutputs) -> Vec<u8> {
    let payload = VotePayload {
        v: VERSION,
        voting_open: outputs.voting_open,
        registered: outputs.vote_registered,
        choice: outputs.choice,
    };
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// `…/status` payload: `{"v":1,"online":true,"firmware":"1.0.0"}`; the last will is
/// `{"v":1,"online":false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPayload {
    /// Contract version.
    pub v: u32,
    /// Connected (true) or gone (false, the last will).
    pub online: bool,
    /// Firmware version, for the technician.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
}

/// `…/outputs` payload (podiumd → unit, retained): what the unit shows now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputsPayload {
    /// Contract version.
    pub v: u32,
    /// Microphone open.
    pub microphone: bool,
    /// Red LED (speaking).
    pub red: bool,
    /// Green LED (requested).
    pub green: bool,
    /// Red LED blinks (time warning).
    pub blink: bool,
    /// Next-in-line indicator.
    pub next_in_line: bool,
    /// Display rows.
    pub display: DisplayPayload,
    /// Chair display rows (chair units only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chair: Option<ChairPayload>,
}

/// Display rows of every unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisplayPayload {
    /// Who sits here.
    pub name: String,
    /// Position in the list (0: not waiting).
    pub list_position: u16,
    /// Requests waiting in the whole list.
    pub requests_waiting: u16,
}

/// Display rows of the chair unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChairPayload {
    /// Current speaker's name; empty when nobody speaks.
    pub current_speaker: String,
    /// Remaining seconds (negative when over time); absent when unlimited or nobody speaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_s: Option<i32>,
    /// Open delegate microphones.
    pub open_microphones: u16,
}

/// `…/test` payload: blink every lamp for `seconds`, then show the outputs again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestPayload {
    /// Contract version.
    pub v: u32,
    /// How long to blink.
    pub seconds: u16,
}

/// A decoded message from a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitMessage {
    /// A key event.
    Key(KeyPayload),
    /// Online or offline.
    Status(StatusPayload),
    /// A credential.
    Credential(CredentialPayload),
    /// Voice activity.
    Voice(VoicePayload),
}

/// Why a unit's message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitMessageError {
    /// Larger than [`MAX_PAYLOAD`].
    #[error("payload of {0} bytes is larger than {MAX_PAYLOAD}")]
    TooLarge(usize),
    /// Not JSON of the expected shape.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// A contract version this podiumd does not speak.
    #[error("unsupported contract version {0} (this podiumd speaks {VERSION})")]
    Version(u32),
}

/// Decodes a message from a unit. Never panics, whatever the bytes.
pub fn decode(topic: UnitTopic, payload: &[u8]) -> Result<UnitMessage, UnitMessageError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(UnitMessageError::TooLarge(payload.len()));
    }
    let malformed = |e: serde_json::Error| UnitMessageError::Malformed(e.to_string());
    let (v, message) = match topic {
        UnitTopic::Key => {
            let p: KeyPayload = serde_json::from_slice(payload).map_err(malformed)?;
            (p.v, UnitMessage::Key(p))
        }
        UnitTopic::Status => {
            let p: StatusPayload = serde_json::from_slice(payload).map_err(malformed)?;
            (p.v, UnitMessage::Status(p))
        }
        UnitTopic::Credential => {
            // serde's message may quote a value (a PIN): only say where it went wrong.
            let p: CredentialPayload = serde_json::from_slice(payload).map_err(|e| {
                UnitMessageError::Malformed(format!(
                    "not a credential payload (line {}, column {})",
                    e.line(),
                    e.column()
                ))
            })?;
            if p.credential().is_none() {
                return Err(UnitMessageError::Malformed(format!(
                    "a {:?} credential needs {}",
                    p.kind,
                    match p.kind {
                        CredentialKind::Badge => "`uid` (1-8 bytes of hex) and no `pin`",
                        CredentialKind::Pin => "`pin` (1-8 digits) and no `uid`",
                        CredentialKind::BadgeRemoved => "neither `uid` nor `pin`",
                    }
                )));
            }
            (p.v, UnitMessage::Credential(p))
        }
        UnitTopic::Voice => {
            let p: VoicePayload = serde_json::from_slice(payload).map_err(malformed)?;
            (p.v, UnitMessage::Voice(p))
        }
    };
    if v != VERSION {
        return Err(UnitMessageError::Version(v));
    }
    Ok(message)
}

/// The `…/outputs` payload for what a unit should show.
pub fn outputs_payload(outputs: &DeskOutputs) -> OutputsPayload {
    OutputsPayload {
        v: VERSION,
        microphone: outputs.microphone,
        red: outputs.speaking,
        green: outputs.requested,
        blink: outputs.time_warning,
        next_in_line: outputs.next_in_line,
        display: DisplayPayload {
            name: outputs.name.clone(),
            list_position: outputs.list_position,
            requests_waiting: outputs.requests_waiting,
        },
        chair: outputs.chair.as_ref().map(|c: &ChairDisplay| ChairPayload {
            current_speaker: c.current_speaker.clone(),
            remaining_s: if c.someone_speaks { c.remaining_s } else { None },
            open_microphones: c.open_microphones,
        }),
    }
}

/// The `…/outputs` payload as JSON bytes.
pub fn encode_outputs(outputs: &DeskOutputs) -> Vec<u8> {
    // Serialising plain structs of strings, numbers and booleans cannot fail.
    serde_json::to_vec(&outputs_payload(outputs)).unwrap_or_default()
}

/// Drops repeated key events (QoS 1 may deliver twice): remembers the last `seq` per unit.
///
/// An event is a repeat if its `seq` lies within [`Dedup::REPEAT_WINDOW`] at or before the
/// last accepted one (counting with wrap-around); any other `seq` is new and becomes the
/// last. So a jump cannot silence a unit: after a `seq` far ahead, the unit's real next
/// events lie far "behind" it, outside the window, and are accepted again at once.
#[derive(Debug, Default, Clone)]
pub struct Dedup {
    last: std::collections::HashMap<String, u32>,
}

impl Dedup {
    /// How far back a repeat can lie. A broker redelivers only the few unacknowledged
    /// events of one connection, so a repeat is never far behind.
    pub const REPEAT_WINDOW: u32 = 64;

    /// Whether the event is new (see [`Dedup`]). A unit that reboots starts again at 0,
    /// which is new once its counter had passed the window; before that, its
    /// offline/online status resets the counter ([`Dedup::forget`]).
    pub fn is_new(&mut self, unit: &str, seq: u32) -> bool {
        match self.last.get(unit) {
            Some(&last) if last.wrapping_sub(seq) < Self::REPEAT_WINDOW => false,
            _ => {
                self.last.insert(unit.to_owned(), seq);
                true
            }
        }
    }

    /// Forgets a unit's counter (it restarted).
    pub fn forget(&mut self, unit: &str) {
        self.last.remove(unit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_vote_lamps_follow_the_contract() {
        let topics = DeskTopics::new("podium/v1", "ratssaal");
        assert_eq!(
            topics.parse("podium/v1/ratssaal/desk/u7/credential"),
            Some(("u7", UnitTopic::Credential))
        );
        assert_eq!(topics.vote("u7"), "podium/v1/ratssaal/desk/u7/vote");
        assert_eq!(topics.subscriptions()[2], "podium/v1/ratssaal/desk/+/credential");
        let badge = decode(UnitTopic::Credential, br#"{"v":1,"kind":"badge","uid":"04a1B2c3D4","seq":4}"#);
        let Ok(UnitMessage::Credential(badge)) = badge else { panic!("{badge:?}") };
        let credential = badge.credential().expect("valid");
        assert_eq!(
            (credential.kind, credential.id, credential.sequence),
            (CredentialKind::Badge, vec![4, 0xA1, 0xB2, 0xC3, 0xD4], 4)
        );
        let pin = decode(UnitTopic::Credential, br#"{"v":1,"kind":"pin","pin":"4711","seq":5}"#);
        let Ok(UnitMessage::Credential(pin)) = pin else { panic!("{pin:?}") };
        assert!(!format!("{pin:?}").contains("4711"), "Debug hides the PIN");
        assert_eq!(pin.credential().map(|c| c.id), Some(b"4711".to_vec()));
        let removed = decode(UnitTopic::Credential, br#"{"v":1,"kind":"badge_removed","seq":6}"#);
        assert!(matches!(removed, Ok(UnitMessage::Credential(_))));
        for bad in [
            &br#"{"v":1,"kind":"badge","seq":1}"#[..],
            br#"{"v":1,"kind":"badge","uid":"04A","seq":1}"#,
            br#"{"v":1,"kind":"pin","pin":"47a1","seq":1}"#,
            br#"{"v":1,"kind":"pin","uid":"04A1","seq":1}"#,
            br#"{"v":1,"kind":"badge_removed","pin":"1234","seq":1}"#,
            br#"{"v":1,"kind":"retina","seq":1}"#,
            br#"{"v":1,"kind":"pin","pin":47111,"seq":1}"#,
        ] {
            let got = decode(UnitTopic::Credential, bad);
            assert!(matches!(got, Err(UnitMessageError::Malformed(_))), "{got:?}");
            if let Err(e) = got {
                assert!(
                    !e.to_string().contains("47a1") && !e.to_string().contains("4711"),
                    "never the PIN: {e}"
                );
            }
        }
        let voted = DeskOutputs {
            vote_registered: true,
            choice: Some(ChoiceLamp::Abstain),
            ..DeskOutputs::default()
        };
        assert_eq!(
            String::from_utf8(encode_vote(&voted)).expect("utf-8"),
            r#"{"v":1,"voting_open":false,"registered":true,"choice":"abstain"}"#
        );
        let open = DeskOutputs { voting_open: true, ..DeskOutputs::default() };
        assert_eq!(
            String::from_utf8(encode_vote(&open)).expect("utf-8"),
            r#"{"v":1,"voting_open":true,"registered":false}"#
        );
    }

    #[test]
    fn topics_are_built_and_parsed() {
        let topics = DeskTopics::new("podium/v1/", "ratssaal");
        assert_eq!(topics.key("esp32-a1"), "podium/v1/ratssaal/desk/esp32-a1/key");
        assert_eq!(topics.outputs("esp32-a1"), "podium/v1/ratssaal/desk/esp32-a1/outputs");
        assert_eq!(topics.subscriptions()[1], "podium/v1/ratssaal/desk/+/status");
        assert_eq!(topics.parse("podium/v1/ratssaal/desk/esp32-a1/key"), Some(("esp32-a1", UnitTopic::Key)));
        assert_eq!(topics.parse("podium/v1/ratssaal/desk/u7/status"), Some(("u7", UnitTopic::Status)));
        assert_eq!(topics.parse(&topics.voice("u7")), Some(("u7", UnitTopic::Voice)));
        assert_eq!(topics.subscriptions()[3], "podium/v1/ratssaal/desk/+/voice");
        for other in [
            "podium/v1/ratssaal/desk/u7/outputs",
            "podium/v1/other/desk/u7/key",
            "podium/v1/ratssaal/desk//key",
            "podium/v1/ratssaal/desk/+/key",
            "podium/v1/ratssaal/desk/u7/key/extra",
        ] {
            assert_eq!(topics.parse(other), None, "{other}");
        }
    }

    #[test]
    fn voice_payloads_decode() {
        assert_eq!(
            decode(UnitTopic::Voice, br#"{"v":1,"active":true,"seq":21}"#),
            Ok(UnitMessage::Voice(VoicePayload { v: 1, active: true, seq: 21 }))
        );
        for bad in [
            &br#"{"v":1,"active":"yes","seq":1}"#[..],
            br#"{"v":1,"seq":1}"#,
            br#"{"v":1,"active":true,"seq":1,"level":3}"#,
        ] {
            assert!(matches!(decode(UnitTopic::Voice, bad), Err(UnitMessageError::Malformed(_))), "{bad:?}");
        }
        assert_eq!(
            decode(UnitTopic::Voice, br#"{"v":2,"active":true,"seq":1}"#),
            Err(UnitMessageError::Version(2))
        );
    }

    #[test]
    fn key_and_status_payloads_decode() {
        let key = decode(UnitTopic::Key, br#"{"v":1,"key":"point_of_order","pressed":true,"seq":3}"#);
        assert_eq!(
            key,
            Ok(UnitMessage::Key(KeyPayload { v: 1, key: DeskKey::PointOfOrder, pressed: true, seq: 3 }))
        );
        let will = decode(UnitTopic::Status, br#"{"v":1,"online":false}"#);
        assert_eq!(will, Ok(UnitMessage::Status(StatusPayload { v: 1, online: false, firmware: None })));
        assert!(matches!(
            decode(UnitTopic::Key, br#"{"v":2,"key":"request","pressed":true,"seq":1}"#),
            Err(UnitMessageError::Version(2))
        ));
        assert!(matches!(
            decode(UnitTopic::Key, br#"{"v":1,"key":"shout","pressed":true,"seq":1}"#),
            Err(UnitMessageError::Malformed(_))
        ));
        assert!(matches!(decode(UnitTopic::Status, b"\xff\x00"), Err(UnitMessageError::Malformed(_))));
        assert!(matches!(decode(UnitTopic::Key, &[b' '; 2000]), Err(UnitMessageError::TooLarge(2000))));
    }

    #[test]
    fn outputs_encode_as_documented() {
        let outputs = DeskOutputs {
            microphone: true,
            speaking: true,
            name: "Anna Müller".into(),
            requests_waiting: 2,
            ..DeskOutputs::default()
        };
        let json: serde_json::Value = serde_json::from_slice(&encode_outputs(&outputs)).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "v": 1, "microphone": true, "red": true, "green": false, "blink": false, "next_in_line": false,
                "display": {"name": "Anna Müller", "list_position": 0, "requests_waiting": 2}
            })
        );
    }

    #[test]
    fn repeated_key_events_are_dropped_until_the_unit_restarts() {
        let mut dedup = Dedup::default();
        assert!(dedup.is_new("u1", 0));
        assert!(dedup.is_new("u1", 1));
        assert!(!dedup.is_new("u1", 1));
        assert!(!dedup.is_new("u1", 0));
        assert!(dedup.is_new("u2", 1));
        dedup.forget("u1");
        assert!(dedup.is_new("u1", 0));
    }

    #[test]
    fn a_seq_jump_does_not_silence_the_unit() {
        let mut dedup = Dedup::default();
        for seq in 0..10 {
            assert!(dedup.is_new("u1", seq));
        }
        // A message far ahead (a bug, or a forged message) is accepted once…
        assert!(dedup.is_new("u1", 10 + u32::MAX / 2));
        assert!(!dedup.is_new("u1", 10 + u32::MAX / 2), "its repeat is dropped");
        // …and the unit's real next events still count.
        assert!(dedup.is_new("u1", 10));
        assert!(dedup.is_new("u1", 11));
        assert!(!dedup.is_new("u1", 11), "repeats are still dropped");
        assert!(
            !dedup.is_new("u1", 11u32.wrapping_sub(Dedup::REPEAT_WINDOW - 1)),
            "within the window behind"
        );
        assert!(dedup.is_new("u1", 11u32.wrapping_sub(Dedup::REPEAT_WINDOW)), "beyond the window: new");
        // Across the wrap-around of the counter.
        assert!(dedup.is_new("u2", u32::MAX));
        assert!(dedup.is_new("u2", 0));
        assert!(!dedup.is_new("u2", u32::MAX));
        // A reboot to 0 after many events is new without waiting for its status.
        assert!(dedup.is_new("u3", 500));
        assert!(dedup.is_new("u3", 0));
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..1200)) {
            let _ = decode(UnitTopic::Key, &bytes);
            let _ = decode(UnitTopic::Status, &bytes);
        }
    }
}
