//! The server side of CoCon's notifications, sans-IO: connections with their subscriptions
//! and queues of events (§3.3-3.4). A connection is subscribed to every model but
//! `ButtonLED_Event` when it connects; each notification request takes one event (a
//! client asks again at once); a connection that has not asked for 180 s expires. Used by
//! the simulated CoCon server and by Podium's own CoCon API, each with its own clock and
//! wake-up around it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The models of §3.4 a new connection is subscribed to (all but `ButtonLED_Event`).
pub const DEFAULT_MODELS: &[&str] = &[
    "Room",
    "Microphone",
    "MeetingAgenda",
    "Voting",
    "Timer",
    "Delegate",
    "Audio",
    "Interpretation",
    "Logging",
    "Interactive",
    "External",
    "Intercom",
    "Video",
];

/// Events kept per connection at most; beyond it the oldest goes. A state event replaces
/// the one of its kind still waiting (it carries the whole lists), so the microphone state
/// alone never fills a queue.
pub const MAX_QUEUED: usize = 1000;

/// What a notification request finds.
#[derive(Debug, Clone, PartialEq)]
pub enum Take {
    /// The oldest waiting event.
    Event(Value),
    /// Nothing yet: hold the request (up to 30 s, then 408).
    Empty,
    /// No such connection (or expired): 400.
    Unknown,
}

#[derive(Debug, Clone)]
struct Connection {
    models: BTreeSet<String>,
    queue: VecDeque<(String, Value)>,
    last_poll: Instant,
}

/// Every notification connection.
#[derive(Debug, Clone, Default)]
pub struct Hub {
    connections: BTreeMap<String, Connection>,
}

fn key(model: &str) -> String {
    model.to_ascii_lowercase()
}

impl Hub {
    /// A new connection under `id`, subscribed to the default models.
    pub fn connect(&mut self, id: String, now: Instant) {
        let models = DEFAULT_MODELS.iter().map(|m| key(m)).collect();
        self.connections.insert(id, Connection { models, queue: VecDeque::new(), last_poll: now });
    }

    /// Ends a connection; `false` if there was none.
    pub fn disconnect(&mut self, id: &str) -> bool {
        self.connections.remove(id).is_some()
    }

    /// Subscribes `id` to `model`; `false` if there is no such connection.
    pub fn subscribe(&mut self, id: &str, model: &str) -> bool {
        self.connections.get_mut(id).map(|c| c.models.insert(key(model))).is_some()
    }

    /// Unsubscribes `id` from `model`; `false` if there is no such connection.
    pub fn unsubscribe(&mut self, id: &str, model: &str) -> bool {
        self.connections.get_mut(id).map(|c| c.models.remove(&key(model))).is_some()
    }

    /// Queues `event` (one key, e.g. `MicrophoneState`) for every connection subscribed to
    /// `model`. Returns how many got it.
    pub fn publish(&mut self, model: &str, event: &Value) -> usize {
        let model = key(model);
        let name = event.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default();
        let mut reached = 0;
        for c in self.connections.values_mut().filter(|c| c.models.contains(&model)) {
            if name.ends_with("State") {
                c.queue.retain(|(n, _)| *n != name);
            }
            if c.queue.len() >= MAX_QUEUED {
                c.queue.pop_front();
            }
            c.queue.push_back((name.clone(), event.clone()));
            reached += 1;
        }
        reached
    }

    /// Queues `event` for the connection `id` alone (e.g. the lists it starts from);
    /// `false` if there is no such connection.
    pub fn send_to(&mut self, id: &str, event: Value) -> bool {
        let Some(c) = self.connections.get_mut(id) else { return false };
        let name = event.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default();
        if c.queue.len() >= MAX_QUEUED {
            c.queue.pop_front();
        }
        c.queue.push_back((name, event));
        true
    }

    /// A notification request of `id` at `now`: its oldest event, or none yet.
    pub fn take(&mut self, id: &str, now: Instant) -> Take {
        let Some(c) = self.connections.get_mut(id) else { return Take::Unknown };
        c.last_poll = now;
        match c.queue.pop_front() {
            Some((_, event)) => Take::Event(event),
            None => Take::Empty,
        }
    }

    /// A held request of `id` ended (answered or 408): its time counts as a poll.
    pub fn touch(&mut self, id: &str, now: Instant) {
        if let Some(c) = self.connections.get_mut(id) {
            c.last_poll = now;
        }
    }

    /// Drops connections that have not asked for `expiry`; returns how many.
    pub fn expire(&mut self, now: Instant, expiry: Duration) -> usize {
        let before = self.connections.len();
        self.connections.retain(|_, c| now.saturating_duration_since(c.last_poll) < expiry);
        before - self.connections.len()
    }

    /// Open connections.
    pub fn len(&self) -> usize {
        self.connections.len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.connections.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn connections_get_what_they_subscribed_to_one_event_per_request() {
        let t0 = Instant::now();
        let mut hub = Hub::default();
        hub.connect("a".into(), t0);
        hub.connect("b".into(), t0);
        assert!(hub.unsubscribe("b", "microphone"));
        assert!(!hub.subscribe("nobody", "Microphone"));
        assert_eq!(hub.publish("Microphone", &json!({"MicrophoneState": {"Speakers": [1]}})), 1);
        hub.publish("Microphone", &json!({"MicButtonEvent": {"SeatNr": 2, "Event": "down"}}));
        // The newer state replaces the waiting one; other events keep their order.
        hub.publish("Microphone", &json!({"MicrophoneState": {"Speakers": [1, 2]}}));
        assert_eq!(hub.take("a", t0), Take::Event(json!({"MicButtonEvent": {"SeatNr": 2, "Event": "down"}})));
        assert_eq!(hub.take("a", t0), Take::Event(json!({"MicrophoneState": {"Speakers": [1, 2]}})));
        assert_eq!(hub.take("a", t0), Take::Empty);
        assert_eq!(hub.take("b", t0), Take::Empty);
        assert_eq!(hub.take("c", t0), Take::Unknown);
    }

    #[test]
    fn a_connection_that_stops_asking_expires() {
        let t0 = Instant::now();
        let mut hub = Hub::default();
        hub.connect("a".into(), t0);
        hub.connect("b".into(), t0);
        let _ = hub.take("b", t0 + Duration::from_secs(170));
        assert_eq!(hub.expire(t0 + Duration::from_secs(180), Duration::from_secs(180)), 1);
        assert_eq!(hub.take("a", t0 + Duration::from_secs(181)), Take::Unknown);
        assert!(hub.take("b", t0 + Duration::from_secs(181)) == Take::Empty);
    }

    #[test]
    fn a_queue_is_bounded() {
        let t0 = Instant::now();
        let mut hub = Hub::default();
        hub.connect("a".into(), t0);
        for i in 0..MAX_QUEUED + 5 {
            hub.publish("Microphone", &json!({"MicButtonEvent": {"SeatNr": i}}));
        }
        assert_eq!(hub.take("a", t0), Take::Event(json!({"MicButtonEvent": {"SeatNr": 5}})));
    }
}
