//! The Televic CoCon REST API's subset for the microphones (Televic, "CoCon API
//! Description" v6.9, §3.3-3.4 and §4.2.2, §4.3.1, §4.3.3): every request is a `GET` on
//! `/CoCon/...` with form-encoded query parameters, and every answer body is a JSON
//! *string* holding the JSON text (`"{\"Connect\":true,\"id\":\"…\"}"`), as the document
//! prints it and clients (the PyPI `cocon-client` among them) read it. Pure; never panics.

use serde_json::{Value, json};

use super::super::{UnitFloor, UnitSeat};

/// The default TCP port.
pub const PORT: u16 = 8890;
/// How long a notification request is held before 408 (§3.3: 30 s).
pub const NOTIFICATION_HOLD_S: u64 = 30;
/// A connection id expires after this long without a notification request (§3.3).
pub const EXPIRY_S: u64 = 180;

/// `Microphone/SetState`'s `State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicState {
    /// Microphone on.
    On,
    /// Microphone off (and out of the request list).
    Off,
    /// Into the request list.
    Request,
    /// On if off, off if on.
    Toggle,
}

impl MicState {
    /// The word on the wire.
    pub fn word(self) -> &'static str {
        match self {
            MicState::On => "On",
            MicState::Off => "Off",
            MicState::Request => "Request",
            MicState::Toggle => "Toggle",
        }
    }
}

/// `Microphone/ClearMicrophoneList`'s `Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearList {
    /// `SpeakersAndRequests`.
    SpeakersAndRequests,
    /// `Speakers`.
    Speakers,
    /// `Requests`.
    Requests,
}

/// A request of the subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `Connect`: a new notification connection.
    Connect,
    /// `Disconnect/?Id=`.
    Disconnect {
        /// The connection.
        id: String,
    },
    /// `Notification/id=<id>`: the long poll.
    Notification {
        /// The connection.
        id: String,
    },
    /// `Subscribe/?Model=&id=&details=`.
    Subscribe {
        /// The model, e.g. `Microphone`.
        model: String,
        /// The connection (may be empty: a client that subscribes before it connected).
        id: String,
        /// Whether details were asked for (default true).
        details: bool,
    },
    /// `Unsubscribe/?Model=&id=`.
    Unsubscribe {
        /// The model.
        model: String,
        /// The connection.
        id: String,
    },
    /// `Microphone/SetState/?State=&SeatNr=`.
    SetState {
        /// What to do.
        state: MicState,
        /// The seat.
        seat: UnitSeat,
    },
    /// `Microphone/GetState`.
    GetState,
    /// `Microphone/Get`: mode and state.
    Get,
    /// `Microphone/ClearMicrophoneList/?Type=`.
    Clear(ClearList),
    /// `Microphone/ActivateNextMicrophone`.
    ActivateNext,
    /// `Microphone/GetMicrophoneMode`.
    GetMode,
    /// `Microphone/SetMicrophoneMode/?Mode=`: `Operator`, `DirectSpeak`, `Request`, `Vox`,
    /// `OnlyRequest`.
    SetMode {
        /// The mode as written.
        mode: String,
        /// `MaxNrActive`, if given (the document lists it with the mode).
        max_active: Option<u8>,
    },
    /// A request of the subset with parameters that do not fit it: answered `1`.
    BadParameter(String),
    /// Anything else.
    Unknown(String),
}

/// The discussion modes of §4.3.3 (`Operator`: only the operator, here Podium, opens
/// microphones; delegates' keys request).
pub const MODES: &[&str] = &["Operator", "DirectSpeak", "Request", "Vox", "OnlyRequest"];

/// The `0` / `1` / `-1` results of §4.3.
pub const OK: i64 = 0;
/// A parameter was wrong.
pub const BAD_PARAMETER: i64 = 1;

impl Request {
    /// Reads a request from its path and (form-encoded) query. Paths and parameter names
    /// are matched without regard to case; a `/` before the `?` is optional.
    pub fn parse(path: &str, query: &str) -> Request {
        let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect();
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let trimmed = path.trim_end_matches('/');
        let lower = trimmed.to_ascii_lowercase();
        let Some(rest) = lower.strip_prefix("/cocon/") else { return Request::Unknown(path.to_owned()) };
        // The id of `Notification/id=<id>` keeps its case.
        if let Some(id) = rest.strip_prefix("notification/id=") {
            let start = trimmed.len() - id.len();
            return Request::Notification { id: trimmed[start..].to_owned() };
        }
        let bad = |what: &str| Request::BadParameter(format!("{rest}: {what}"));
        match rest {
            "connect" => Request::Connect,
            "disconnect" => Request::Disconnect { id: param("id").unwrap_or_default() },
            "subscribe" => match param("model") {
                Some(model) => Request::Subscribe {
                    model,
                    id: param("id").unwrap_or_default(),
                    details: param("details").is_none_or(|d| !d.eq_ignore_ascii_case("false")),
                },
                None => bad("Model missing"),
            },
            "unsubscribe" => match param("model") {
                Some(model) => Request::Unsubscribe { model, id: param("id").unwrap_or_default() },
                None => bad("Model missing"),
            },
            "microphone/setstate" => {
                let state = match param("state").map(|s| s.to_ascii_lowercase()).as_deref() {
                    Some("on") => MicState::On,
                    Some("off") => MicState::Off,
                    Some("request") => MicState::Request,
                    Some("toggle") => MicState::Toggle,
                    _ => return bad("State is On, Off, Request or Toggle"),
                };
                match param("seatnr").and_then(|s| s.trim().parse::<UnitSeat>().ok()).filter(|s| *s >= 1) {
                    Some(seat) => Request::SetState { state, seat },
                    None => bad("SeatNr is a seat number"),
                }
            }
            "microphone/getstate" => Request::GetState,
            "microphone/get" => Request::Get,
            "microphone/clearmicrophonelist" => {
                match param("type").map(|t| t.to_ascii_lowercase()).as_deref() {
                    Some("speakersandrequests") | None => Request::Clear(ClearList::SpeakersAndRequests),
                    Some("speakers") => Request::Clear(ClearList::Speakers),
                    Some("requests") => Request::Clear(ClearList::Requests),
                    Some(_) => bad("Type is SpeakersAndRequests, Speakers or Requests"),
                }
            }
            "microphone/activatenextmicrophone" => Request::ActivateNext,
            "microphone/getmicrophonemode" => Request::GetMode,
            "microphone/setmicrophonemode" => match param("mode") {
                Some(mode) if MODES.iter().any(|m| m.eq_ignore_ascii_case(&mode)) => {
                    match param("maxnractive").map(|n| n.trim().parse::<u8>()) {
                        Some(Err(_)) => bad("MaxNrActive is a number"),
                        Some(Ok(n)) => Request::SetMode { mode, max_active: Some(n) },
                        None => Request::SetMode { mode, max_active: None },
                    }
                }
                _ => bad("Mode is Operator, DirectSpeak, Request, Vox or OnlyRequest"),
            },
            _ => Request::Unknown(path.to_owned()),
        }
    }

    /// The path and query a client sends.
    pub fn path(&self) -> String {
        let query = |pairs: &[(&str, &str)]| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            q.finish()
        };
        match self {
            Request::Connect => "/CoCon/Connect".into(),
            Request::Disconnect { id } => format!("/CoCon/Disconnect/?{}", query(&[("Id", id)])),
            Request::Notification { id } => format!("/CoCon/Notification/id={id}"),
            Request::Subscribe { model, id, details } => format!(
                "/CoCon/Subscribe/?{}",
                query(&[("Model", model), ("id", id), ("details", if *details { "true" } else { "false" })])
            ),
            Request::Unsubscribe { model, id } => {
                format!("/CoCon/Unsubscribe/?{}", query(&[("Model", model), ("id", id)]))
            }
            Request::SetState { state, seat } => {
                format!(
                    "/CoCon/Microphone/SetState/?{}",
                    query(&[("State", state.word()), ("SeatNr", &seat.to_string())])
                )
            }
            Request::GetState => "/CoCon/Microphone/GetState".into(),
            Request::Get => "/CoCon/Microphone/Get".into(),
            Request::Clear(list) => {
                let t = match list {
                    ClearList::SpeakersAndRequests => "SpeakersAndRequests",
                    ClearList::Speakers => "Speakers",
                    ClearList::Requests => "Requests",
                };
                format!("/CoCon/Microphone/ClearMicrophoneList/?{}", query(&[("Type", t)]))
            }
            Request::ActivateNext => "/CoCon/Microphone/ActivateNextMicrophone".into(),
            Request::GetMode => "/CoCon/Microphone/GetMicrophoneMode".into(),
            Request::SetMode { mode, max_active: Some(n) } => format!(
                "/CoCon/Microphone/SetMicrophoneMode/?{}",
                query(&[("Mode", mode), ("MaxNrActive", &n.to_string())])
            ),
            Request::SetMode { mode, max_active: None } => {
                format!("/CoCon/Microphone/SetMicrophoneMode/?{}", query(&[("Mode", mode)]))
            }
            Request::BadParameter(p) | Request::Unknown(p) => p.clone(),
        }
    }
}

/// An answer body: the JSON text of `value`, as a JSON string.
pub fn encode_body(value: &Value) -> String {
    Value::String(value.to_string()).to_string()
}

/// A body that is not JSON (or whose inner string is not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

/// Reads an answer body: a JSON string holding JSON (as the server sends it), or plain
/// JSON (as some servers and proxies do).
///
/// # Errors
///
/// [`Malformed`] when neither reading gives JSON.
pub fn decode_body(body: &str) -> Result<Value, Malformed> {
    let outer: Value = serde_json::from_str(body.trim()).map_err(|e| Malformed(e.to_string()))?;
    match outer {
        Value::String(inner) => serde_json::from_str(&inner).map_err(|e| Malformed(e.to_string())),
        other => Ok(other),
    }
}

/// `{"MicrophoneState":{"Speakers":[…],"Requests":[…],"Replies":[]}}` (§4.2.2.1): the whole
/// lists, in the unit's order.
pub fn microphone_state(speakers: &[UnitSeat], requests: &[UnitSeat]) -> Value {
    json!({"MicrophoneState": {"Speakers": speakers, "Requests": requests, "Replies": []}})
}

/// The lists in a `MicrophoneState` event, a `GetState` or a `Get` answer.
pub fn lists_of(value: &Value) -> Option<UnitFloor> {
    let state = value
        .get("MicrophoneState")
        .or_else(|| value.get("GetState").and_then(|g| g.get("State")))
        .or_else(|| value.get("Get").and_then(|g| g.get("State")))?;
    let seats = |key: &str| -> Option<std::collections::BTreeSet<UnitSeat>> {
        state
            .get(key)?
            .as_array()?
            .iter()
            .map(|s| s.as_u64().and_then(|n| UnitSeat::try_from(n).ok()))
            .collect()
    };
    Some(UnitFloor { speakers: seats("Speakers")?, requests: seats("Requests")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documents_requests_and_what_cocon_client_sends() {
        assert_eq!(Request::parse("/CoCon/Connect", ""), Request::Connect);
        assert_eq!(
            Request::parse("/CoCon/Notification/id=3f5b8afe-6efb-4428-8762-E39D42A0762D", ""),
            Request::Notification { id: "3f5b8afe-6efb-4428-8762-E39D42A0762D".into() }
        );
        // §4.3.1.3 writes `Subscribe/?…`; cocon-client sends `Subscribe?…`.
        for path in ["/CoCon/Subscribe/", "/CoCon/Subscribe", "/cocon/subscribe"] {
            assert_eq!(
                Request::parse(path, "Model=Microphone&id=abc&details=true"),
                Request::Subscribe { model: "Microphone".into(), id: "abc".into(), details: true }
            );
        }
        assert_eq!(
            Request::parse("/CoCon/Microphone/SetState", "State=On&SeatNr=3"),
            Request::SetState { state: MicState::On, seat: 3 }
        );
        assert!(matches!(
            Request::parse("/CoCon/Microphone/SetState", "State=Loud&SeatNr=3"),
            Request::BadParameter(_)
        ));
        assert!(matches!(
            Request::parse("/CoCon/Microphone/SetState", "State=On&SeatNr=x"),
            Request::BadParameter(_)
        ));
        assert!(matches!(Request::parse("/CoCon/Voting/SetVotingState", ""), Request::Unknown(_)));
        assert_eq!(
            Request::parse("/CoCon/Microphone/ClearMicrophoneList/", "Type=Requests"),
            Request::Clear(ClearList::Requests)
        );
    }

    #[test]
    fn paths_read_back() {
        let all = [
            Request::Connect,
            Request::Disconnect { id: "a b".into() },
            Request::Notification { id: "x-1".into() },
            Request::Subscribe { model: "Microphone".into(), id: "x".into(), details: false },
            Request::Unsubscribe { model: "Microphone".into(), id: "x".into() },
            Request::SetState { state: MicState::Request, seat: 65535 },
            Request::GetState,
            Request::Get,
            Request::Clear(ClearList::Speakers),
            Request::ActivateNext,
            Request::GetMode,
            Request::SetMode { mode: "Operator".into(), max_active: Some(25) },
            Request::SetMode { mode: "Vox".into(), max_active: None },
        ];
        for r in all {
            let path = r.path();
            let (p, q) = path.split_once('?').unwrap_or((&path, ""));
            assert_eq!(Request::parse(p, q), r, "{path}");
        }
    }

    #[test]
    fn bodies_are_json_in_a_json_string() {
        // §3.4.2 prints the Connect answer in quotes.
        let body = encode_body(&json!({"Connect": true, "id": "3f5b"}));
        assert_eq!(body, r#""{\"Connect\":true,\"id\":\"3f5b\"}""#);
        assert_eq!(decode_body(&body), Ok(json!({"Connect": true, "id": "3f5b"})));
        assert_eq!(
            decode_body(r#"{"GetState":{"State":{"Speakers":[5],"Requests":[4],"Replies":[]}}}"#)
                .ok()
                .and_then(|v| lists_of(&v)),
            Some(UnitFloor { speakers: [5].into(), requests: [4].into() })
        );
        assert_eq!(
            lists_of(&microphone_state(&[1, 5], &[7])),
            Some(UnitFloor { speakers: [1, 5].into(), requests: [7].into() })
        );
        assert!(decode_body("\"{not json\"").is_err());
        assert!(lists_of(&json!({"MicrophoneState": {"Speakers": [-1], "Requests": []}})).is_none());
    }
}
