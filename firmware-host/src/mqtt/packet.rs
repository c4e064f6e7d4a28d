//! The few MQTT 3.1.1 packets the broker gate (`gate.rs`) must understand: framing,
//! CONNECT (read and rewritten), PUBLISH's topic and SUBSCRIBE's filters. Pure and
//! bounded: every length is checked against the buffer and the limits below before it is
//! used, nothing allocates more than the packet it was given, and no input panics (the
//! fuzz target `mqtt_gate_packet` feeds it arbitrary bytes).

/// Largest packet a client may send through the gate. Desk units, bridges and dashboards
/// only ever send small messages; podiumd's own large retained state does not pass the gate.
pub const MAX_CLIENT_PACKET: usize = 64 * 1024;
/// Longest topic name or filter, in bytes. The longest contract topic with a 64-character
/// room, unit or participant id is well below it.
pub const MAX_TOPIC: usize = 256;
/// Longest client id, in bytes.
pub const MAX_CLIENT_ID: usize = 64;
/// Longest password, in bytes (a generated secret has 43).
pub const MAX_PASSWORD: usize = 256;
/// Most filters in one SUBSCRIBE.
pub const MAX_FILTERS: usize = 16;

/// MQTT control packet types (the high nibble of the first byte).
pub mod kind {
    /// CONNECT.
    pub const CONNECT: u8 = 1;
    /// PUBLISH.
    pub const PUBLISH: u8 = 3;
    /// SUBSCRIBE.
    pub const SUBSCRIBE: u8 = 8;
}

/// CONNACK return codes (MQTT 3.1.1, 3.2.2.3).
pub mod connack {
    /// The broker does not speak the client's protocol version.
    pub const UNACCEPTABLE_PROTOCOL: u8 = 1;
    /// The client id is not allowed (too long, or not UTF-8).
    pub const IDENTIFIER_REJECTED: u8 = 2;
    /// The broker cannot take the connection now (all connection slots taken).
    pub const SERVER_UNAVAILABLE: u8 = 3;
    /// Unknown user or wrong password.
    pub const BAD_CREDENTIALS: u8 = 4;
    /// No credentials, or the account may not do what it asked for (e.g. its last will).
    pub const NOT_AUTHORIZED: u8 = 5;
}

/// Why a packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Longer than [`MAX_CLIENT_PACKET`] (or a remaining length of more than four bytes).
    #[error("packet too large")]
    TooLarge,
    /// Not a well-formed packet of its type.
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    /// A field beyond its bound.
    #[error("{0} too long")]
    TooLong(&'static str),
    /// Not MQTT 3.1.1.
    #[error("unsupported protocol")]
    Protocol,
}

/// One complete packet at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// The first byte: type and flags.
    pub first: u8,
    /// Where the variable header starts.
    pub body_start: usize,
    /// The packet's whole length.
    pub len: usize,
}

impl Frame {
    /// The packet type.
    pub fn kind(&self) -> u8 {
        self.first >> 4
    }
}

/// The packet at the start of `buf`: `Ok(None)` if more bytes are needed. A packet whose
/// announced length is beyond `max` is refused before its bytes are read.
pub fn frame(buf: &[u8], max: usize) -> Result<Option<Frame>, WireError> {
    let Some(&first) = buf.first() else { return Ok(None) };
    let mut remaining: usize = 0;
    for i in 0..4 {
        let Some(&byte) = buf.get(1 + i) else { return Ok(None) };
        remaining |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let body_start = 2 + i;
            let len = body_start + remaining;
            if len > max {
                return Err(WireError::TooLarge);
            }
            return Ok((buf.len() >= len).then_some(Frame { first, body_start, len }));
        }
    }
    Err(WireError::TooLarge)
}

/// Reads fields front to back, never past the end.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, WireError> {
        let byte = *self.buf.get(self.at).ok_or(WireError::Malformed("truncated"))?;
        self.at += 1;
        Ok(byte)
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn bytes(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], WireError> {
        let len = usize::from(self.u16()?);
        if len > max {
            return Err(WireError::TooLong(field));
        }
        let end = self.at.checked_add(len).ok_or(WireError::Malformed("truncated"))?;
        let bytes = self.buf.get(self.at..end).ok_or(WireError::Malformed("truncated"))?;
        self.at = end;
        Ok(bytes)
    }

    fn string(&mut self, field: &'static str, max: usize) -> Result<&'a str, WireError> {
        let bytes = self.bytes(field, max)?;
        let text = std::str::from_utf8(bytes).map_err(|_| WireError::Malformed("a string is not UTF-8"))?;
        if text.contains('\0') {
            return Err(WireError::Malformed("a string contains NUL"));
        }
        Ok(text)
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.at..).unwrap_or_default()
    }
}

/// A client's last will.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will<'a> {
    /// Where it is published.
    pub topic: &'a str,
    /// What is published.
    pub payload: &'a [u8],
    /// Its QoS (0 to 2).
    pub qos: u8,
    /// Published retained.
    pub retain: bool,
}

/// A CONNECT packet's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Start without an earlier session.
    pub clean_session: bool,
    /// Keep-alive interval in seconds.
    pub keep_alive: u16,
    /// The client id.
    pub client_id: &'a str,
    /// The last will.
    pub will: Option<Will<'a>>,
    /// User name.
    pub username: Option<&'a str>,
    /// Password.
    pub password: Option<&'a [u8]>,
}

/// Parses a CONNECT packet's body (after the fixed header). Only MQTT 3.1.1 (level 4).
pub fn parse_connect(body: &[u8]) -> Result<Connect<'_>, WireError> {
    let mut r = Reader { buf: body, at: 0 };
    if r.bytes("protocol name", 4)? != b"MQTT" || r.u8()? != 4 {
        return Err(WireError::Protocol);
    }
    let flags = r.u8()?;
    if flags & 0x01 != 0 {
        return Err(WireError::Malformed("reserved connect flag set"));
    }
    let keep_alive = r.u16()?;
    let client_id = r.string("client id", MAX_CLIENT_ID)?;
    let will = if flags & 0x04 != 0 {
        let qos = (flags >> 3) & 0x03;
        if qos == 3 {
            return Err(WireError::Malformed("will QoS 3"));
        }
        let topic = r.string("will topic", MAX_TOPIC)?;
        if topic.is_empty() || topic.contains(['+', '#']) {
            return Err(WireError::Malformed("a will topic is empty or has a wildcard"));
        }
        let payload = r.bytes("will payload", MAX_CLIENT_PACKET)?;
        Some(Will { topic, payload, qos, retain: flags & 0x20 != 0 })
    } else if flags & 0x38 != 0 {
        return Err(WireError::Malformed("will flags without a will"));
    } else {
        None
    };
    let username =
        if flags & 0x80 != 0 { Some(r.string("user name", super::rights::MAX_USERNAME)?) } else { None };
    let password = if flags & 0x40 != 0 {
        if username.is_none() {
            return Err(WireError::Malformed("password without user name"));
        }
        Some(r.bytes("password", MAX_PASSWORD)?)
    } else {
        None
    };
    if !r.rest().is_empty() {
        return Err(WireError::Malformed("bytes after the payload"));
    }
    Ok(Connect { clean_session: flags & 0x02 != 0, keep_alive, client_id, will, username, password })
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Every field here was bounded well below 64 KiB when it was parsed or configured.
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&bytes[..usize::from(len)]);
}

fn put_remaining_length(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
}

/// Encodes a CONNECT packet (MQTT 3.1.1).
pub fn encode_connect(connect: &Connect<'_>) -> Vec<u8> {
    let mut body = Vec::with_capacity(64);
    put_bytes(&mut body, b"MQTT");
    body.push(4);
    let mut flags = 0u8;
    if connect.clean_session {
        flags |= 0x02;
    }
    if let Some(will) = &connect.will {
        flags |= 0x04 | (will.qos.min(2) << 3);
        if will.retain {
            flags |= 0x20;
        }
    }
    if connect.username.is_some() {
        flags |= 0x80;
        if connect.password.is_some() {
            flags |= 0x40;
        }
    }
    body.push(flags);
    body.extend_from_slice(&connect.keep_alive.to_be_bytes());
    put_bytes(&mut body, connect.client_id.as_bytes());
    if let Some(will) = &connect.will {
        put_bytes(&mut body, will.topic.as_bytes());
        put_bytes(&mut body, will.payload);
    }
    if let Some(username) = connect.username {
        put_bytes(&mut body, username.as_bytes());
        if let Some(password) = connect.password {
            put_bytes(&mut body, password);
        }
    }
    let mut packet = Vec::with_capacity(body.len() + 5);
    packet.push(kind::CONNECT << 4);
    put_remaining_length(&mut packet, body.len());
    packet.extend_from_slice(&body);
    packet
}

/// A CONNACK with this return code (no session present).
pub fn connack(code: u8) -> [u8; 4] {
    [0x20, 2, 0, code]
}

/// A PUBLISH packet's topic (first byte `first`, body after the fixed header).
pub fn parse_publish_topic(first: u8, body: &[u8]) -> Result<&str, WireError> {
    if (first >> 1) & 0x03 == 3 {
        return Err(WireError::Malformed("publish QoS 3"));
    }
    let mut r = Reader { buf: body, at: 0 };
    let topic = r.string("topic", MAX_TOPIC)?;
    if topic.is_empty() || topic.contains(['+', '#']) {
        return Err(WireError::Malformed("a topic name is empty or has a wildcard"));
    }
    Ok(topic)
}

/// A SUBSCRIBE packet's topic filters (body after the fixed header).
pub fn parse_subscribe_filters(first: u8, body: &[u8]) -> Result<Vec<&str>, WireError> {
    if first & 0x0f != 0x02 {
        return Err(WireError::Malformed("subscribe flags"));
    }
    let mut r = Reader { buf: body, at: 0 };
    r.u16()?;
    let mut filters = Vec::new();
    while !r.rest().is_empty() {
        if filters.len() == MAX_FILTERS {
            return Err(WireError::TooLong("subscribe"));
        }
        let filter = r.string("topic filter", MAX_TOPIC)?;
        if r.u8()? > 2 {
            return Err(WireError::Malformed("subscribe QoS"));
        }
        filters.push(filter);
    }
    if filters.is_empty() {
        return Err(WireError::Malformed("subscribe without a filter"));
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect_bytes(client_id: &str, username: Option<&str>, password: Option<&[u8]>) -> Vec<u8> {
        encode_connect(&Connect {
            clean_session: true,
            keep_alive: 30,
            client_id,
            will: Some(Will { topic: "a/b", payload: b"gone", qos: 1, retain: true }),
            username,
            password,
        })
    }

    #[test]
    fn connect_round_trips_through_frame_and_parse() {
        let bytes = connect_bytes("unit-1", Some("unit-1"), Some(b"secret"));
        let frame = frame(&bytes, MAX_CLIENT_PACKET).unwrap().expect("complete");
        assert_eq!((frame.kind(), frame.len), (kind::CONNECT, bytes.len()));
        let connect = parse_connect(&bytes[frame.body_start..frame.len]).unwrap();
        assert_eq!(connect.client_id, "unit-1");
        assert_eq!((connect.username, connect.password), (Some("unit-1"), Some(&b"secret"[..])));
        let will = connect.will.as_ref().unwrap();
        assert_eq!((will.topic, will.payload, will.qos, will.retain), ("a/b", &b"gone"[..], 1, true));
        assert_eq!(encode_connect(&connect), bytes, "re-encoding gives the same bytes");
        // Every prefix is incomplete, not an error.
        for end in 0..bytes.len() {
            assert_eq!(super::frame(&bytes[..end], MAX_CLIENT_PACKET), Ok(None), "prefix {end}");
        }
    }

    #[test]
    fn bounds_are_enforced_before_reading() {
        let long_id = "x".repeat(MAX_CLIENT_ID + 1);
        let bytes = connect_bytes(&long_id, None, None);
        let frame = frame(&bytes, MAX_CLIENT_PACKET).unwrap().unwrap();
        assert_eq!(parse_connect(&bytes[frame.body_start..]), Err(WireError::TooLong("client id")));
        // A header announcing 200 MB is refused with five bytes read.
        assert_eq!(
            super::frame(&[0x30, 0xff, 0xff, 0xff, 0x7f], MAX_CLIENT_PACKET),
            Err(WireError::TooLarge)
        );
        assert_eq!(super::frame(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01], usize::MAX), Err(WireError::TooLarge));
        let mut publish = vec![0x30];
        let topic = "t".repeat(MAX_TOPIC + 1);
        put_remaining_length(&mut publish, topic.len() + 2);
        put_bytes(&mut publish, topic.as_bytes());
        let frame = super::frame(&publish, MAX_CLIENT_PACKET).unwrap().unwrap();
        assert_eq!(
            parse_publish_topic(frame.first, &publish[frame.body_start..]),
            Err(WireError::TooLong("topic"))
        );
    }

    #[test]
    fn publish_and_subscribe_are_read() {
        let mut body = Vec::new();
        put_bytes(&mut body, b"podium/v1/saal/desk/u1/key");
        body.extend_from_slice(&[0, 7]);
        body.extend_from_slice(b"{}");
        assert_eq!(parse_publish_topic(0x32, &body), Ok("podium/v1/saal/desk/u1/key"));
        let mut wild = Vec::new();
        put_bytes(&mut wild, b"podium/+/x");
        assert!(parse_publish_topic(0x30, &wild).is_err());
        let mut sub = vec![0, 1];
        put_bytes(&mut sub, b"a/+/b");
        sub.push(1);
        put_bytes(&mut sub, b"c/#");
        sub.push(0);
        assert_eq!(parse_subscribe_filters(0x82, &sub), Ok(vec!["a/+/b", "c/#"]));
        assert!(parse_subscribe_filters(0x80, &sub).is_err(), "wrong flags");
        assert!(parse_subscribe_filters(0x82, &[0, 1]).is_err(), "no filter");
    }

    #[test]
    fn other_protocols_and_bad_flags_are_refused() {
        let mut body = Vec::new();
        put_bytes(&mut body, b"MQIsdp");
        body.extend_from_slice(&[3, 0x02, 0, 30, 0, 0]);
        assert!(parse_connect(&body).is_err());
        let wild_will = encode_connect(&Connect {
            clean_session: true,
            keep_alive: 30,
            client_id: "c",
            will: Some(Will { topic: "a/+/b", payload: b"", qos: 0, retain: false }),
            username: None,
            password: None,
        });
        assert!(parse_connect(&wild_will[2..]).is_err(), "a will topic with a wildcard");
        let mut v5 = Vec::new();
        put_bytes(&mut v5, b"MQTT");
        v5.extend_from_slice(&[5, 0x02, 0, 30, 0, 0]);
        assert_eq!(parse_connect(&v5), Err(WireError::Protocol));
        let mut password_only = Vec::new();
        put_bytes(&mut password_only, b"MQTT");
        password_only.extend_from_slice(&[4, 0x42, 0, 30, 0, 0, 0, 1, b'p']);
        assert!(parse_connect(&password_only).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            if let Ok(Some(frame)) = frame(&bytes, MAX_CLIENT_PACKET) {
                let body = &bytes[frame.body_start..frame.len];
                let _ = parse_connect(body);
                let _ = parse_publish_topic(frame.first, body);
                let _ = parse_subscribe_filters(frame.first, body);
            }
            let _ = parse_connect(&bytes);
            let _ = parse_publish_topic(0x30, &bytes);
            let _ = parse_subscribe_filters(0x82, &bytes);
        }
    }
}
