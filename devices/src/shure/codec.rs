//! Shure MXA command strings (TCP 2202): `< GET x AUDIO_MUTE >`, `< SET x AUDIO_MUTE ON >`,
//! `< REP x AUDIO_MUTE ON >`, `< REP ERR >`. Pure; never panics.

/// The default TCP port.
pub const PORT: u16 = 2202;
/// Longest message kept (between `<` and `>`).
pub const MAX_MESSAGE: usize = 512;

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `GET`, `SET`, `REP`, `SAMPLE`.
    pub verb: String,
    /// Channel index, if the message has one.
    pub channel: Option<u8>,
    /// Parameter, e.g. `AUDIO_MUTE` (empty for `< REP ERR >`).
    pub param: String,
    /// The rest, e.g. `ON`.
    pub value: String,
}

impl Message {
    /// `< SET x AUDIO_MUTE ON|OFF >`.
    pub fn set_mute(channel: u8, muted: bool) -> Message {
        Message {
            verb: "SET".into(),
            channel: Some(channel),
            param: "AUDIO_MUTE".into(),
            value: on_off(muted).into(),
        }
    }

    /// `< GET x AUDIO_MUTE >`.
    pub fn get_mute(channel: u8) -> Message {
        Message {
            verb: "GET".into(),
            channel: Some(channel),
            param: "AUDIO_MUTE".into(),
            value: String::new(),
        }
    }

    /// `< REP x AUDIO_MUTE ON|OFF >`.
    pub fn rep_mute(channel: u8, muted: bool) -> Message {
        Message {
            verb: "REP".into(),
            channel: Some(channel),
            param: "AUDIO_MUTE".into(),
            value: on_off(muted).into(),
        }
    }

    /// The text on the wire.
    pub fn encode(&self) -> String {
        let mut parts = vec![self.verb.as_str()];
        let channel = self.channel.map(|c| c.to_string());
        if let Some(c) = &channel {
            parts.push(c);
        }
        if !self.param.is_empty() {
            parts.push(&self.param);
        }
        if !self.value.is_empty() {
            parts.push(&self.value);
        }
        format!("< {} >", parts.join(" "))
    }

    /// Parses the text between `<` and `>`.
    pub fn parse(inner: &str) -> Option<Message> {
        let mut words = inner.split_whitespace();
        let verb = words.next()?.to_ascii_uppercase();
        let mut rest: Vec<&str> = words.collect();
        let channel = match rest.first().map(|w| w.parse::<u8>()) {
            Some(Ok(c)) => {
                rest.remove(0);
                Some(c)
            }
            _ => None,
        };
        let param = if rest.is_empty() { String::new() } else { rest.remove(0).to_ascii_uppercase() };
        Some(Message { verb, channel, param, value: rest.join(" ") })
    }

    /// For `AUDIO_MUTE` reports: `(channel, muted)`.
    pub fn as_mute(&self) -> Option<(u8, bool)> {
        if self.param != "AUDIO_MUTE" {
            return None;
        }
        let muted = match self.value.to_ascii_uppercase().as_str() {
            "ON" => true,
            "OFF" => false,
            _ => return None,
        };
        Some((self.channel?, muted))
    }

    /// `< REP ERR >`.
    pub fn is_error(&self) -> bool {
        self.verb == "REP" && self.param == "ERR" && self.channel.is_none()
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "ON" } else { "OFF" }
}

/// Takes the next `< … >` message out of `buf`. Bytes outside brackets are dropped; an
/// overlong message is dropped whole.
pub fn take(buf: &mut Vec<u8>) -> Option<Option<Message>> {
    let start = match buf.iter().position(|&b| b == b'<') {
        Some(s) => s,
        None => {
            buf.clear();
            return None;
        }
    };
    buf.drain(..start);
    match buf.iter().position(|&b| b == b'>') {
        Some(end) => {
            let message: Vec<u8> = buf.drain(..=end).collect();
            let inner = String::from_utf8_lossy(&message[1..end]).into_owned();
            Some(Message::parse(&inner))
        }
        None => {
            if buf.len() > MAX_MESSAGE {
                buf.clear();
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_strings() {
        assert_eq!(Message::set_mute(3, true).encode(), "< SET 3 AUDIO_MUTE ON >");
        assert_eq!(Message::get_mute(1).encode(), "< GET 1 AUDIO_MUTE >");
        let mut buf =
            b"junk< REP 3 AUDIO_MUTE OFF >< REP ERR >< REP MODEL {MXA910                          } ><"
                .to_vec();
        assert_eq!(take(&mut buf).flatten().and_then(|m| m.as_mute()), Some((3, false)));
        assert!(take(&mut buf).flatten().is_some_and(|m| m.is_error()));
        let model = take(&mut buf).flatten().expect("model");
        assert_eq!((model.param.as_str(), model.value.trim()), ("MODEL", "{MXA910 }"));
        assert_eq!(take(&mut buf), None);
        assert_eq!(buf, b"<");
    }
}
