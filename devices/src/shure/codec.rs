//! Shure MXA command strings (TCP 2202): `< GET x AUDIO_MUTE >`, `< SET x AUDIO_MUTE ON >`,
//! `< REP x AUDIO_MUTE ON >`, the automixer's gate `< GET x AUTOMIX_GATE_OUT_EXT_SIG >` /
//! `< REP x AUTOMIX_GATE_OUT_EXT_SIG ON >` (reported by the array on every change, MXA910
//! manual "Get Gate Out Status"), `< REP ERR >`. Pure; never panics.

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

    /// `< GET x AUTOMIX_GATE_OUT_EXT_SIG >`: the gate's state now; the array then reports
    /// every change by itself, so one GET per channel and connection subscribes.
    pub fn get_gate(channel: u8) -> Message {
        Message { verb: "GET".into(), channel: Some(channel), param: GATE.into(), value: String::new() }
    }

    /// `< REP x AUTOMIX_GATE_OUT_EXT_SIG ON|OFF >`.
    pub fn rep_gate(channel: u8, open: bool) -> Message {
        Message { verb: "REP".into(), channel: Some(channel), param: GATE.into(), value: on_off(open).into() }
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
        self.channel_switch("AUDIO_MUTE")
    }

    /// For automixer gate reports: `(channel, open)`; open means the array hears a talker
    /// on that channel.
    pub fn as_gate(&self) -> Option<(u8, bool)> {
        self.channel_switch(GATE)
    }

    fn channel_switch(&self, param: &str) -> Option<(u8, bool)> {
        if self.verb != "REP" || self.param != param {
            return None;
        }
        let on = match self.value.to_ascii_uppercase().as_str() {
            "ON" => true,
            "OFF" => false,
            _ => return None,
        };
        Some((self.channel?, on))
    }

    /// `< REP ERR >`.
    pub fn is_error(&self) -> bool {
        self.verb == "REP" && self.param == "ERR" && self.channel.is_none()
    }
}

/// The automixer's gate output per channel.
const GATE: &str = "AUTOMIX_GATE_OUT_EXT_SIG";

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

    #[test]
    fn gate_reports_as_the_manual_prints_them() {
        assert_eq!(Message::get_gate(4).encode(), "< GET 4 AUTOMIX_GATE_OUT_EXT_SIG >");
        let mut buf = b"< REP 4 AUTOMIX_GATE_OUT_EXT_SIG ON >< REP 4 AUTOMIX_GATE_OUT_EXT_SIG OFF >".to_vec();
        let on = take(&mut buf).flatten().expect("on");
        assert_eq!((on.as_gate(), on.as_mute()), (Some((4, true)), None));
        assert_eq!(take(&mut buf).flatten().and_then(|m| m.as_gate()), Some((4, false)));
        // A GET is a question, not a report; a value other than ON/OFF is no report either.
        assert_eq!(Message::get_gate(4).as_gate(), None);
        assert_eq!(Message::parse("REP 4 AUTOMIX_GATE_OUT_EXT_SIG MAYBE").and_then(|m| m.as_gate()), None);
        assert_eq!(Message::rep_gate(2, false).encode(), "< REP 2 AUTOMIX_GATE_OUT_EXT_SIG OFF >");
    }
}
