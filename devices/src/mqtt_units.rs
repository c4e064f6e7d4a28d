//! Networked (ESP32-class) desk units over MQTT: topics and JSON payloads, pure. The
//! contract is documented for firmware authors in `devices/docs/mqtt-desk-units.md`;
//! this module encodes and decodes it. No client, no I/O: the daemon's MQTT link feeds
//! it topics and payloads.
//!
//! Every topic lies under `<prefix>/<room>/desk/<unit>/` where `<unit>` is the unit's own
//! id (e.g. `esp32-a1b2c3`); which seat a unit serves is the room configuration's
//! business, not the unit's.

use serde::{Deserialize, Serialize};

use crate::modbus::desk::{ChairDisplay, DeskKey, DeskOutputs};

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
}

impl DeskTopics {
    /// Topics under `<prefix>/<room>/desk/`.
    pub fn new(prefix: &str, room: &str) -> Self {
        DeskTopics { base: format!("{}/{}/desk", prefix.trim_end_matches('/'), room) }
    }

    /// `…/desk/+/key` and `…/desk/+/status`: what podiumd subscribes to.
    pub fn subscriptions(&self) -> [String; 2] {
        [format!("{}/+/key", self.base), format!("{}/+/status", self.base)]
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
    fn topics_are_built_and_parsed() {
        let topics = DeskTopics::new("podium/v1/", "ratssaal");
        assert_eq!(topics.key("esp32-a1"), "podium/v1/ratssaal/desk/esp32-a1/key");
        assert_eq!(topics.outputs("esp32-a1"), "podium/v1/ratssaal/desk/esp32-a1/outputs");
        assert_eq!(topics.subscriptions()[1], "podium/v1/ratssaal/desk/+/status");
        assert_eq!(topics.parse("podium/v1/ratssaal/desk/esp32-a1/key"), Some(("esp32-a1", UnitTopic::Key)));
        assert_eq!(topics.parse("podium/v1/ratssaal/desk/u7/status"), Some(("u7", UnitTopic::Status)));
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
