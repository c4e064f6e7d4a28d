//! The fleet view's state: every room's health, availability and uplink, and the latest
//! alarms, rebuilt from the central broker's messages alone (the retained ones after a
//! restart). Pure: the MQTT task feeds it topics and payloads, the HTTP handlers read it.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use serde_json::Value;

/// Alarms kept for the page (the newest first).
pub const ALARMS_KEPT: usize = 500;
/// A larger alarm is no alarm of Podium's (they are a few hundred bytes): not kept.
pub const ALARM_MAX_BYTES: usize = 4096;

/// One room as the fleet view shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RoomView {
    /// The room id (from the topic).
    pub id: String,
    /// `offline`, `critical`, `warning`, `unknown` (no health yet) or `ok`: the sort order.
    pub trouble: &'static str,
    /// podiumd's `status` (its last will sets `false`); `null` before one arrived.
    pub online: Option<bool>,
    /// The room's bridge to this broker (Mosquitto's bridge notification); `null` where
    /// the room is not bridged (it connects directly) or before one arrived.
    pub uplink: Option<bool>,
    /// The room's latest health document, as it came (fields this version does not know
    /// are kept).
    pub health: Option<Value>,
    /// When anything of the room last arrived (Unix milliseconds).
    pub updated_unix_ms: Option<i64>,
    /// When its health document last arrived (Unix milliseconds).
    pub health_unix_ms: Option<i64>,
}

/// The whole fleet.
#[derive(Debug, Default)]
pub struct Fleet {
    prefix: String,
    rooms: BTreeMap<String, RoomView>,
    alarms: VecDeque<Value>,
}

impl Fleet {
    /// A fleet whose topics start with `prefix` (e.g. `podium/v1`).
    pub fn new(prefix: &str) -> Self {
        Fleet { prefix: prefix.trim_end_matches('/').to_owned(), ..Fleet::default() }
    }

    /// The topic filters to subscribe to.
    pub fn filters(&self) -> [String; 4] {
        ["health", "alarms", "status", "bridge"].map(|leaf| format!("{}/+/{leaf}", self.prefix))
    }

    /// Takes one message in; `false` if the topic is not one of the fleet's or the payload
    /// says nothing (an empty retained message clears what it replaced).
    pub fn apply(&mut self, topic: &str, payload: &[u8], now_unix_ms: i64) -> bool {
        let Some(rest) = topic.strip_prefix(&self.prefix).and_then(|t| t.strip_prefix('/')) else {
            return false;
        };
        let Some((room, leaf)) = rest.split_once('/') else { return false };
        if room.is_empty() || room.len() > 64 || leaf.contains('/') {
            return false;
        }
        let json = || serde_json::from_slice::<Value>(payload).ok();
        let known = match leaf {
            "health" => match json() {
                Some(health) if health.is_object() => {
                    let entry = self.room(room);
                    entry.health = Some(health);
                    entry.health_unix_ms = Some(now_unix_ms);
                    true
                }
                _ if payload.is_empty() => {
                    self.room(room).health = None;
                    true
                }
                _ => false,
            },
            "status" => match json().and_then(|s| s["online"].as_bool()) {
                Some(online) => {
                    self.room(room).online = Some(online);
                    true
                }
                None => false,
            },
            // Mosquitto's bridge notification: "1" connected, "0" not.
            "bridge" => match payload {
                b"1" => {
                    self.room(room).uplink = Some(true);
                    true
                }
                b"0" => {
                    self.room(room).uplink = Some(false);
                    true
                }
                _ => false,
            },
            "alarms" => match json() {
                Some(mut alarm) if alarm.is_object() && payload.len() <= ALARM_MAX_BYTES => {
                    alarm["room"] = Value::String(room.to_owned());
                    self.alarms.push_front(alarm);
                    self.alarms.truncate(ALARMS_KEPT);
                    self.room(room);
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if known {
            let entry = self.room(room);
            entry.updated_unix_ms = Some(now_unix_ms);
            entry.trouble = trouble(entry);
        }
        known
    }

    fn room(&mut self, id: &str) -> &mut RoomView {
        self.rooms.entry(id.to_owned()).or_insert_with(|| RoomView {
            id: id.to_owned(),
            trouble: "unknown",
            ..RoomView::default()
        })
    }

    /// Every room, the ones needing attention first, then by id.
    pub fn rooms(&self) -> Vec<RoomView> {
        let mut rooms: Vec<RoomView> = self.rooms.values().cloned().collect();
        rooms.sort_by(|a, b| rank(b.trouble).cmp(&rank(a.trouble)).then_with(|| a.id.cmp(&b.id)));
        rooms
    }

    /// The latest alarms, newest first.
    pub fn alarms(&self) -> Vec<Value> {
        self.alarms.iter().cloned().collect()
    }
}

fn trouble(room: &RoomView) -> &'static str {
    if room.online == Some(false) || room.uplink == Some(false) {
        return "offline";
    }
    match room.health.as_ref().and_then(|h| h["trouble"].as_str()) {
        Some("critical") => "critical",
        Some("warning") => "warning",
        Some("ok") => "ok",
        _ => "unknown",
    }
}

fn rank(trouble: &str) -> u8 {
    match trouble {
        "offline" => 4,
        "critical" => 3,
        "warning" => 2,
        "unknown" => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(room: &str, trouble: &str) -> Vec<u8> {
        serde_json::json!({"v": 1, "room": {"id": room, "name": room}, "trouble": trouble, "later_field": 1})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn rooms_come_from_their_topics_and_the_troubled_ones_come_first() {
        let mut fleet = Fleet::new("podium/v1/");
        assert_eq!(fleet.filters()[0], "podium/v1/+/health");
        assert!(fleet.apply("podium/v1/a/health", &health("a", "ok"), 1));
        assert!(fleet.apply("podium/v1/b/health", &health("b", "warning"), 2));
        assert!(fleet.apply("podium/v1/c/health", &health("c", "critical"), 3));
        assert!(fleet.apply("podium/v1/d/status", br#"{"v":1,"online":false}"#, 4));
        assert!(fleet.apply("podium/v1/e/bridge", b"1", 5));
        let rooms = fleet.rooms();
        let order: Vec<(&str, &str)> = rooms.iter().map(|r| (r.id.as_str(), r.trouble)).collect();
        // d's podiumd is gone; e is bridged but has sent no health yet.
        assert_eq!(
            order,
            [("d", "offline"), ("c", "critical"), ("b", "warning"), ("e", "unknown"), ("a", "ok")]
        );
        // Fields this version does not know are kept for the page.
        assert_eq!(fleet.rooms()[4].health.as_ref().expect("health")["later_field"], 1);
        // The uplink going down makes a room offline whatever its last health said.
        assert!(fleet.apply("podium/v1/a/bridge", b"0", 6));
        assert_eq!(fleet.rooms()[0].id, "a");
        assert_eq!(fleet.rooms()[0].updated_unix_ms, Some(6));
        assert_eq!(fleet.rooms()[0].health_unix_ms, Some(1), "when its health last came");
    }

    #[test]
    fn alarms_are_kept_newest_first_with_their_room_and_bounded() {
        let mut fleet = Fleet::new("podium/v1");
        for i in 0..(ALARMS_KEPT + 3) {
            let alarm = serde_json::json!({"v": 1, "severity": "warning", "message": format!("{i}"), "room": "forged"});
            assert!(fleet.apply("podium/v1/a/alarms", alarm.to_string().as_bytes(), 1));
        }
        let alarms = fleet.alarms();
        assert_eq!(alarms.len(), ALARMS_KEPT);
        assert_eq!(alarms[0]["message"], format!("{}", ALARMS_KEPT + 2));
        assert_eq!(alarms[0]["room"], "a", "the room is the topic's, not what the payload claims");
    }

    #[test]
    fn foreign_topics_and_bad_payloads_change_nothing() {
        let mut fleet = Fleet::new("podium/v1");
        for (topic, payload) in [
            ("other/v1/a/health", health("a", "ok")),
            ("podium/v1/a/state", b"{}".to_vec()),
            ("podium/v1/a/b/health", health("a", "ok")),
            ("podium/v1//health", health("a", "ok")),
            ("podium/v1/a/health", b"not json".to_vec()),
            ("podium/v1/a/status", b"{}".to_vec()),
            ("podium/v1/a/bridge", b"yes".to_vec()),
            ("podium/v1/a/alarms", b"[1]".to_vec()),
            (
                "podium/v1/a/alarms",
                format!(r#"{{"message":"{}"}}"#, "x".repeat(ALARM_MAX_BYTES)).into_bytes(),
            ),
        ] {
            assert!(!fleet.apply(topic, &payload, 1), "{topic}");
        }
        assert!(fleet.rooms().is_empty());
        // An empty retained message clears a room's health.
        assert!(fleet.apply("podium/v1/a/health", &health("a", "ok"), 1));
        assert!(fleet.apply("podium/v1/a/health", b"", 2));
        assert_eq!(fleet.rooms()[0].trouble, "unknown");
    }
}
