//! The Bosch DICENTIS Conference Protocol's messages: JSON over a WebSocket (subprotocol
//! `DICENTIS_1_0`, `wss://<server>:31416/Dicentis/API`). Requests are
//! `{"messageId":n,"operation":"…","parameters":{…}}`; the answer echoes the id and the
//! operation, or says `"operation":"error"` with `parameters.message`; events come with
//! id 0 as `{"operation":"event","parameters":{"events":["DiscussionListChanged"]}}` and
//! carry no data (each fires once until the data is read again). Followed: Bosch's
//! configuration manual V3.7 p. 101 (the protocol's existence, port, rights), the open
//! clients bitfocus/companion-module-bosch-dicentis and mko1989/LikeABosch (wire shapes,
//! tested there against a DICENTIS 6.50); Bosch's own protocol document is not public.
//! Pure; never panics.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The TCP port.
pub const PORT: u16 = 31416;
/// The WebSocket path.
pub const PATH: &str = "/Dicentis/API";
/// The WebSocket subprotocol.
pub const SUBPROTOCOL: &str = "DICENTIS_1_0";
/// The event that says the discussion list changed.
pub const LIST_CHANGED: &str = "DiscussionListChanged";
/// The event that says the seats changed.
pub const SEATS_CHANGED: &str = "SeatsChanged";

/// One message either way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The request's id, echoed in its answer; 0 for events. Some clients send none.
    #[serde(rename = "messageId", default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// The operation (matched without regard to case), `error` or `event`.
    pub operation: String,
    /// Its parameters.
    #[serde(default)]
    pub parameters: Value,
}

impl Message {
    /// A request.
    pub fn request(id: i64, operation: &str, parameters: Value) -> Message {
        Message { message_id: Some(id), operation: operation.to_owned(), parameters }
    }

    /// `Login` with a user of the Meeting application.
    pub fn login(id: i64, user: &str, password: &str) -> Message {
        Message::request(id, "Login", json!({"user": user, "password": password}))
    }

    /// The text on the wire.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a message.
    ///
    /// # Errors
    ///
    /// Text that is not such a JSON object.
    pub fn parse(text: &str) -> Result<Message, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Whether this is `operation` (or its answer).
    pub fn is(&self, operation: &str) -> bool {
        self.operation.eq_ignore_ascii_case(operation)
    }

    /// An `error` answer's text.
    pub fn error(&self) -> Option<String> {
        self.is("error").then(|| self.parameters["message"].as_str().unwrap_or("error").to_owned())
    }

    /// The events of an `event` message.
    pub fn events(&self) -> Vec<String> {
        if !self.is("event") {
            return Vec::new();
        }
        self.parameters["events"]
            .as_array()
            .map_or_else(Vec::new, |e| e.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
    }
}

/// A seat as `GetSeats` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    /// Its id (a GUID on real systems).
    pub id: String,
    /// Its name, as the Meeting application shows it.
    pub name: String,
}

/// The seats of a `GetSeats` answer, and how many entries had no id (skipped, as the open
/// clients do).
pub fn seats(parameters: &Value) -> Option<(Vec<Seat>, u64)> {
    let entries = parameters["seats"].as_array()?;
    let seats: Vec<Seat> = entries
        .iter()
        .filter_map(|s| {
            let id = id_text(&s["seatId"])?;
            let name = s["seatName"].as_str().unwrap_or_default().to_owned();
            Some(Seat { id, name })
        })
        .collect();
    let skipped = (entries.len() - seats.len()) as u64;
    Some((seats, skipped))
}

/// Who speaks and who waits, by seat id, in the list's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscussionList {
    /// Seats speaking (microphone on or muted in response mode, or a speaker type).
    pub speaking: Vec<String>,
    /// Seats waiting (`isRequest`, `isResponseRequest`).
    pub waiting: Vec<String>,
}

/// The lists of a `GetDiscussionList` answer, and how many entries had no seat id (skipped). `speakerType` says who waits
/// (`isRequest`, `isResponseRequest`) and who speaks (`isSpeaker`, `isPrioritySpeaker`,
/// `isResponder`, `isImportant`); enums are read without regard to case.
pub fn discussion_list(parameters: &Value) -> Option<(DiscussionList, u64)> {
    let mut list = DiscussionList::default();
    let mut skipped = 0;
    for entry in parameters["discussionList"].as_array()? {
        let Some(id) = id_text(&entry["seatId"]) else {
            skipped += 1;
            continue;
        };
        let kind = entry["speakerType"].as_str().unwrap_or_default().to_ascii_lowercase();
        let microphone = entry["microphoneState"].as_str().unwrap_or_default().to_ascii_lowercase();
        let waiting = matches!(kind.as_str(), "isrequest" | "isresponserequest");
        if waiting {
            list.waiting.push(id);
        } else if matches!(kind.as_str(), "isspeaker" | "ispriorityspeaker" | "isresponder" | "isimportant")
            || microphone == "on"
            || microphone == "mute"
        {
            list.speaking.push(id);
        }
    }
    Some((list, skipped))
}

/// A seat id as text (real systems send GUID strings; some mocks numbers).
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The answer to a floor command and the entries of a list, as the simulator sends them.
pub fn entry(seat_id: &str, speaking: bool) -> Value {
    json!({
        "seatId": seat_id,
        "microphoneState": if speaking { "on" } else { "off" },
        "speakerType": if speaking { "isSpeaker" } else { "isRequest" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shapes_the_open_clients_use() {
        let login = Message::login(1, "podium", "secret").encode();
        assert_eq!(
            login,
            r#"{"messageId":1,"operation":"Login","parameters":{"password":"secret","user":"podium"}}"#
        );
        let answer = Message::parse(
            r#"{"messageId":1,"operation":"login","parameters":{"loggedIn":true,"token":"t"}}"#,
        )
        .unwrap();
        assert!(answer.is("Login") && answer.error().is_none());
        let error = Message::parse(
            r#"{"messageId":2,"operation":"error","parameters":{"message":"Please login first"}}"#,
        )
        .unwrap();
        assert_eq!(error.error().as_deref(), Some("Please login first"));
        let event = Message::parse(
            r#"{"messageId":0,"operation":"event","parameters":{"events":["DiscussionListChanged"]}}"#,
        )
        .unwrap();
        assert_eq!(event.events(), ["DiscussionListChanged"]);
        let list = discussion_list(&json!({"discussionList": [
            {"seatId": "a", "microphoneState": "on", "speakerType": "isSpeaker"},
            {"seatId": "b", "microphoneState": "off", "speakerType": "IsRequest"},
            {"seatId": "c", "microphoneState": "mute", "speakerType": "isResponder"},
            {"seatId": "d", "microphoneState": "off", "speakerType": "isResponseRequest"},
            {"microphoneState": "on"},
        ], "referenceTime": 5}))
        .unwrap();
        assert_eq!(list.1, 1, "an entry without a seat is skipped, not the whole list");
        assert_eq!(list.0.speaking, ["a", "c"]);
        assert_eq!(list.0.waiting, ["b", "d"]);
        assert_eq!(
            seats(&json!({"seats": [{"seatId": "g-1", "seatName": "12"}, {"seatId": "", "seatName": ""}]})),
            Some((vec![Seat { id: "g-1".into(), name: "12".into() }], 1))
        );
        assert!(discussion_list(&json!({"discussion": []})).is_none());
        assert!(Message::parse("[1,2]").is_err());
    }
}
