//! Recognising a message the broker delivers a second time. Pure.
//!
//! podiumd keeps a persistent session (`clean_session = false`): a QoS 1 message it has
//! not acknowledged when the connection drops is delivered again after the reconnect, with
//! the DUP flag set and the same packet id. If podiumd had already handled it (say, a
//! request granted in the moment of the reconnect), handling it again would bring the
//! request back. The rule: within one broker session (until a ConnAck says the session is
//! new), a message with DUP set whose packet id, topic and payload equal those of a message
//! handled before is a repeat: acknowledged, not handled. A message without DUP is always
//! new (the broker may reuse a packet id once the earlier message is acknowledged). The
//! latest [`Redeliveries::KEPT`] packet ids are remembered, far more than any broker's
//! in-flight window (Mosquitto 20, rumqttd 100), so the memory is bounded.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

/// Packet ids of recently handled messages, with a fingerprint of each message.
#[derive(Debug, Default)]
pub struct Redeliveries {
    seen: HashMap<u16, u64>,
    order: VecDeque<u16>,
}

impl Redeliveries {
    /// Packet ids remembered at most.
    pub const KEPT: usize = 1024;

    /// A ConnAck: a new broker session (`session_present` false) delivers nothing again.
    pub fn connected(&mut self, session_present: bool) {
        if !session_present {
            self.seen.clear();
            self.order.clear();
        }
    }

    /// Whether a delivered message repeats one handled before; if not, it is remembered.
    /// `pkid` 0 is a QoS 0 message, which is never delivered again.
    pub fn is_repeat(&mut self, pkid: u16, dup: bool, topic: &str, payload: &[u8]) -> bool {
        if pkid == 0 {
            return false;
        }
        let fingerprint = fingerprint(topic, payload);
        if dup && self.seen.get(&pkid) == Some(&fingerprint) {
            return true;
        }
        if self.seen.insert(pkid, fingerprint).is_some() {
            self.order.retain(|&id| id != pkid);
        }
        self.order.push_back(pkid);
        while self.order.len() > Self::KEPT {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        false
    }
}

fn fingerprint(topic: &str, payload: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    topic.hash(&mut hasher);
    payload.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = "podium/v1/saal/remote/vogt/request";

    #[test]
    fn a_redelivered_message_is_a_repeat_within_the_session() {
        let mut seen = Redeliveries::default();
        seen.connected(false);
        assert!(!seen.is_repeat(7, false, REQUEST, b"{\"v\":1}"), "first delivery");
        // The connection drops before the acknowledgement; the session survives.
        seen.connected(true);
        assert!(seen.is_repeat(7, true, REQUEST, b"{\"v\":1}"), "redelivered with DUP");
        assert!(seen.is_repeat(7, true, REQUEST, b"{\"v\":1}"), "and again");
    }

    #[test]
    fn new_messages_are_never_repeats() {
        let mut seen = Redeliveries::default();
        assert!(!seen.is_repeat(7, false, REQUEST, b"{\"v\":1}"));
        // Without DUP the broker reused the id for a new message.
        assert!(!seen.is_repeat(7, false, REQUEST, b"{\"v\":1}"));
        // DUP, but another message under that id (or one never seen).
        assert!(!seen.is_repeat(7, true, REQUEST, b"{\"v\":1,\"kind\":\"point_of_order\"}"));
        assert!(!seen.is_repeat(8, true, REQUEST, b"{\"v\":1}"));
        assert!(!seen.is_repeat(0, true, REQUEST, b"{\"v\":1}"), "QoS 0");
        assert!(!seen.is_repeat(0, true, REQUEST, b"{\"v\":1}"));
        // A new broker session forgets everything.
        seen.connected(false);
        assert!(!seen.is_repeat(8, true, REQUEST, b"{\"v\":1}"));
    }

    #[test]
    fn memory_is_bounded() {
        let mut seen = Redeliveries::default();
        for round in 0..3u32 {
            for pkid in 1..=u16::MAX {
                assert!(!seen.is_repeat(pkid, false, REQUEST, &round.to_be_bytes()));
            }
        }
        assert_eq!((seen.seen.len(), seen.order.len()), (Redeliveries::KEPT, Redeliveries::KEPT));
        // The latest are still known.
        assert!(seen.is_repeat(u16::MAX, true, REQUEST, &2u32.to_be_bytes()));
        assert!(!seen.is_repeat(1, true, REQUEST, &2u32.to_be_bytes()), "forgotten, handled again");
    }
}
