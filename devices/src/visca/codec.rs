//! VISCA packets: framing (header … `FF`), the commands Podium sends, the messages a
//! camera returns. Pure: no I/O, no clock; decoding never panics, whatever the bytes.

use thiserror::Error;

/// Longest VISCA packet (header and terminator included).
pub const MAX_PACKET: usize = 16;
/// Packet terminator.
pub const TERMINATOR: u8 = 0xFF;
/// Broadcast header (Address Set, broadcast IF_Clear).
pub const BROADCAST: u8 = 0x88;

/// A framing or parsing error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    /// More than 16 bytes without a terminator: the bytes were dropped.
    #[error("no packet terminator within {MAX_PACKET} bytes")]
    TooLong,
    /// The first byte is not a header (bit 7 clear).
    #[error("byte {0:#04x} is not a VISCA header")]
    BadHeader(u8),
    /// A packet this side does not understand.
    #[error("unknown packet {0}")]
    Unknown(String),
    /// Camera address outside 1..=7.
    #[error("camera address {0} is outside 1..=7")]
    BadAddress(u8),
}

/// One packet as framed on the wire: header byte, body, terminator (not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// `8x` from the controller, `y0` from a camera, `88` broadcast.
    pub header: u8,
    /// The bytes between header and terminator.
    pub body: Vec<u8>,
}

impl Packet {
    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 2);
        out.push(self.header);
        out.extend_from_slice(&self.body);
        out.push(TERMINATOR);
        out
    }

    /// Parses one complete packet (header … `FF`).
    pub fn parse(bytes: &[u8]) -> Result<Packet, CodecError> {
        let (&header, rest) = bytes.split_first().ok_or_else(|| CodecError::Unknown(String::new()))?;
        if header & 0x80 == 0 {
            return Err(CodecError::BadHeader(header));
        }
        match rest.split_last() {
            Some((&TERMINATOR, body)) if bytes.len() <= MAX_PACKET && !body.contains(&TERMINATOR) => {
                Ok(Packet { header, body: body.to_vec() })
            }
            _ => Err(CodecError::Unknown(hex(bytes))),
        }
    }
}

/// Takes the next packet out of `buf` (a byte stream from a serial port or TCP).
///
/// Returns `Ok(None)` when more bytes are needed. Bytes before a header, and runs of more
/// than [`MAX_PACKET`] bytes without a terminator, are dropped and reported once as an
/// error, so the stream resynchronises on the next packet.
pub fn decode(buf: &mut Vec<u8>) -> Result<Option<Packet>, CodecError> {
    // Resynchronise on a header byte (bit 7 set) that is not a terminator.
    let start = buf.iter().position(|&b| b & 0x80 != 0 && b != TERMINATOR);
    match start {
        None => {
            let dropped = buf.first().copied();
            buf.clear();
            return match dropped {
                Some(b) if b != TERMINATOR => Err(CodecError::BadHeader(b)),
                _ => Ok(None),
            };
        }
        Some(0) => {}
        Some(n) => {
            let first = buf[0];
            buf.drain(..n);
            if first != TERMINATOR {
                return Err(CodecError::BadHeader(first));
            }
        }
    }
    match buf.iter().position(|&b| b == TERMINATOR) {
        Some(end) if end < MAX_PACKET => {
            let packet: Vec<u8> = buf.drain(..=end).collect();
            Ok(Some(Packet { header: packet[0], body: packet[1..end].to_vec() }))
        }
        Some(end) => {
            buf.drain(..=end);
            Err(CodecError::TooLong)
        }
        None if buf.len() >= MAX_PACKET => {
            buf.clear();
            Err(CodecError::TooLong)
        }
        None => Ok(None),
    }
}

/// Commands Podium sends to a camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Address Set (broadcast `88 30 01 FF`): numbers the cameras of a serial chain.
    AddressSet,
    /// IF_Clear: clears the command buffers; broadcast on serial, addressed over IP.
    IfClear {
        /// `88 01 00 01 FF` instead of `8x 01 00 01 FF`.
        broadcast: bool,
    },
    /// CAM_Power on (`true`) or standby.
    Power(bool),
    /// CAM_Memory Recall of a memory number as sent on the wire.
    PresetRecall(u8),
    /// CAM_Memory Set.
    PresetSet(u8),
    /// Pan-tilt Home.
    Home,
    /// Command Cancel of socket 1 or 2.
    Cancel(u8),
    /// CAM_PowerInq.
    PowerInquiry,
    /// Pan-tiltPosInq.
    PanTiltInquiry,
}

impl Command {
    /// Whether the camera answers with a direct reply (`y0 50 … FF`) and no ACK.
    pub fn is_inquiry(self) -> bool {
        matches!(self, Command::PowerInquiry | Command::PanTiltInquiry)
    }

    /// Whether the camera answers without ACK: inquiries, IF_Clear, Address Set, Cancel.
    pub fn expects_ack(self) -> bool {
        matches!(self, Command::Power(_) | Command::PresetRecall(_) | Command::PresetSet(_) | Command::Home)
    }

    /// The packet for camera `address` (1..=7; over IP always 1).
    pub fn packet(self, address: u8) -> Packet {
        let to = 0x80 | (address & 0x07);
        let (header, body): (u8, Vec<u8>) = match self {
            Command::AddressSet => (BROADCAST, vec![0x30, 0x01]),
            Command::IfClear { broadcast: true } => (BROADCAST, vec![0x01, 0x00, 0x01]),
            Command::IfClear { broadcast: false } => (to, vec![0x01, 0x00, 0x01]),
            Command::Power(on) => (to, vec![0x01, 0x04, 0x00, if on { 0x02 } else { 0x03 }]),
            Command::PresetRecall(n) => (to, vec![0x01, 0x04, 0x3F, 0x02, n]),
            Command::PresetSet(n) => (to, vec![0x01, 0x04, 0x3F, 0x01, n]),
            Command::Home => (to, vec![0x01, 0x06, 0x04]),
            Command::Cancel(socket) => (to, vec![0x20 | (socket & 0x0F)]),
            Command::PowerInquiry => (to, vec![0x09, 0x04, 0x00]),
            Command::PanTiltInquiry => (to, vec![0x09, 0x06, 0x12]),
        };
        Packet { header, body }
    }

    /// The bytes on the wire for camera `address`.
    pub fn encode(self, address: u8) -> Vec<u8> {
        self.packet(address).to_bytes()
    }

    /// What a camera makes of a packet from the controller (the simulator uses this).
    /// Returns the command and the camera address it was sent to (8 = broadcast).
    pub fn parse(packet: &Packet) -> Result<(u8, Command), CodecError> {
        let to = packet.header & 0x0F;
        if packet.header & 0xF0 != 0x80 {
            return Err(CodecError::BadHeader(packet.header));
        }
        let command = match packet.body.as_slice() {
            [0x30, 0x01] if to == 8 => Command::AddressSet,
            [0x01, 0x00, 0x01] => Command::IfClear { broadcast: to == 8 },
            [0x01, 0x04, 0x00, 0x02] => Command::Power(true),
            [0x01, 0x04, 0x00, 0x03] => Command::Power(false),
            [0x01, 0x04, 0x3F, 0x02, n] => Command::PresetRecall(*n),
            [0x01, 0x04, 0x3F, 0x01, n] => Command::PresetSet(*n),
            [0x01, 0x06, 0x04] => Command::Home,
            [s] if s & 0xF0 == 0x20 => Command::Cancel(s & 0x0F),
            [0x09, 0x04, 0x00] => Command::PowerInquiry,
            [0x09, 0x06, 0x12] => Command::PanTiltInquiry,
            _ => return Err(CodecError::Unknown(hex(&packet.to_bytes()))),
        };
        Ok((to, command))
    }
}

/// Error codes in `y0 6z ee FF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `01`: message length error.
    MessageLength,
    /// `02`: syntax error (bad format or illegal parameter).
    Syntax,
    /// `03`: both command buffers are in use.
    BufferFull,
    /// `04`: cancelled by Command Cancel.
    Cancelled,
    /// `05`: no command in that socket.
    NoSocket,
    /// `41`: not executable in the current state.
    NotExecutable,
    /// Any other code.
    Other(u8),
}

impl ErrorKind {
    /// The code byte.
    pub fn code(self) -> u8 {
        match self {
            ErrorKind::MessageLength => 0x01,
            ErrorKind::Syntax => 0x02,
            ErrorKind::BufferFull => 0x03,
            ErrorKind::Cancelled => 0x04,
            ErrorKind::NoSocket => 0x05,
            ErrorKind::NotExecutable => 0x41,
            ErrorKind::Other(c) => c,
        }
    }

    /// The kind for a code byte.
    pub fn from_code(code: u8) -> ErrorKind {
        match code {
            0x01 => ErrorKind::MessageLength,
            0x02 => ErrorKind::Syntax,
            0x03 => ErrorKind::BufferFull,
            0x04 => ErrorKind::Cancelled,
            0x05 => ErrorKind::NoSocket,
            0x41 => ErrorKind::NotExecutable,
            c => ErrorKind::Other(c),
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrorKind::MessageLength => f.write_str("message length error"),
            ErrorKind::Syntax => f.write_str("syntax error"),
            ErrorKind::BufferFull => f.write_str("command buffer full"),
            ErrorKind::Cancelled => f.write_str("command cancelled"),
            ErrorKind::NoSocket => f.write_str("no socket"),
            ErrorKind::NotExecutable => f.write_str("command not executable"),
            ErrorKind::Other(c) => write!(f, "error {c:#04x}"),
        }
    }
}

/// A message from a camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `y0 4z FF`: accepted into socket z.
    Ack {
        /// Camera address (1..=7).
        from: u8,
        /// Socket 1 or 2.
        socket: u8,
    },
    /// `y0 5z … FF`: command finished in socket z, or inquiry answer (socket 0, data).
    Completion {
        /// Camera address.
        from: u8,
        /// Socket (0 for inquiries and IF_Clear).
        socket: u8,
        /// Inquiry data (empty for commands).
        data: Vec<u8>,
    },
    /// `y0 6z ee FF`.
    Error {
        /// Camera address.
        from: u8,
        /// Socket (0 when not socket-scoped).
        socket: u8,
        /// What went wrong.
        kind: ErrorKind,
    },
    /// `88 30 0w FF`: Address Set came round the chain; `w − 1` cameras.
    AddressSet {
        /// The address the next camera would get.
        next: u8,
    },
    /// `88 01 00 01 FF`: a broadcast IF_Clear came round the chain.
    IfClearBroadcast,
    /// `z0 38 FF`: a device was added or removed; run Address Set again.
    NetworkChange,
}

impl Reply {
    /// Parses a camera-issued packet.
    pub fn parse(packet: &Packet) -> Result<Reply, CodecError> {
        let unknown = || CodecError::Unknown(hex(&packet.to_bytes()));
        if packet.header == BROADCAST {
            return match packet.body.as_slice() {
                [0x30, w] => Ok(Reply::AddressSet { next: *w }),
                [0x01, 0x00, 0x01] => Ok(Reply::IfClearBroadcast),
                _ => Err(unknown()),
            };
        }
        if packet.header & 0x8F != 0x80 {
            return Err(CodecError::BadHeader(packet.header));
        }
        let from = (packet.header >> 4).wrapping_sub(8) & 0x07;
        let Some((&kind, rest)) = packet.body.split_first() else {
            return Err(unknown());
        };
        let socket = kind & 0x0F;
        match (kind & 0xF0, rest) {
            (0x40, []) => Ok(Reply::Ack { from, socket }),
            (0x50, data) => Ok(Reply::Completion { from, socket, data: data.to_vec() }),
            (0x60, [code]) => Ok(Reply::Error { from, socket, kind: ErrorKind::from_code(*code) }),
            (0x30, []) if kind == 0x38 => Ok(Reply::NetworkChange),
            _ => Err(unknown()),
        }
    }

    /// The packet a camera at `address` sends for this reply.
    pub fn packet(&self, address: u8) -> Packet {
        let header = 0x80 | ((address & 0x07) << 4);
        match self {
            Reply::Ack { socket, .. } => Packet { header, body: vec![0x40 | (socket & 0x0F)] },
            Reply::Completion { socket, data, .. } => {
                let mut body = vec![0x50 | (socket & 0x0F)];
                body.extend_from_slice(data);
                Packet { header, body }
            }
            Reply::Error { socket, kind, .. } => {
                Packet { header, body: vec![0x60 | (socket & 0x0F), kind.code()] }
            }
            Reply::AddressSet { next } => Packet { header: BROADCAST, body: vec![0x30, *next] },
            Reply::IfClearBroadcast => Packet { header: BROADCAST, body: vec![0x01, 0x00, 0x01] },
            Reply::NetworkChange => Packet { header, body: vec![0x38] },
        }
    }
}

/// Pan and tilt from a Pan-tiltPosInq answer (`0p 0p 0p 0p 0t 0t 0t 0t`): signed 16-bit.
pub fn parse_pan_tilt(data: &[u8]) -> Option<(i16, i16)> {
    match data {
        [p @ .., t0, t1, t2, t3] if p.len() == 4 => {
            let pan = nibbles(p)?;
            let tilt = nibbles(&[*t0, *t1, *t2, *t3])?;
            Some((pan as i16, tilt as i16))
        }
        _ => None,
    }
}

/// The inquiry data for a pan/tilt position.
pub fn pan_tilt_data(pan: i16, tilt: i16) -> Vec<u8> {
    let mut out = to_nibbles(pan as u16);
    out.extend(to_nibbles(tilt as u16));
    out
}

/// CAM_PowerInq data: `02` on, `03` standby.
pub fn parse_power(data: &[u8]) -> Option<bool> {
    match data {
        [0x02] => Some(true),
        [0x03] => Some(false),
        _ => None,
    }
}

fn nibbles(bytes: &[u8]) -> Option<u16> {
    bytes.iter().try_fold(0u16, |acc, &b| (b <= 0x0F).then_some((acc << 4) | u16::from(b)))
}

fn to_nibbles(v: u16) -> Vec<u8> {
    vec![(v >> 12) as u8 & 0x0F, (v >> 8) as u8 & 0x0F, (v >> 4) as u8 & 0x0F, v as u8 & 0x0F]
}

/// Bytes as `81 01 04 FF` for messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_match_the_published_vectors() {
        assert_eq!(Command::Power(true).encode(1), [0x81, 0x01, 0x04, 0x00, 0x02, 0xFF]);
        assert_eq!(Command::Power(false).encode(2), [0x82, 0x01, 0x04, 0x00, 0x03, 0xFF]);
        assert_eq!(Command::AddressSet.encode(1), [0x88, 0x30, 0x01, 0xFF]);
        assert_eq!(Command::IfClear { broadcast: true }.encode(1), [0x88, 0x01, 0x00, 0x01, 0xFF]);
        assert_eq!(Command::IfClear { broadcast: false }.encode(1), [0x81, 0x01, 0x00, 0x01, 0xFF]);
        assert_eq!(Command::PresetRecall(2).encode(1), [0x81, 0x01, 0x04, 0x3F, 0x02, 0x02, 0xFF]);
        assert_eq!(Command::PresetSet(0x10).encode(1), [0x81, 0x01, 0x04, 0x3F, 0x01, 0x10, 0xFF]);
        assert_eq!(Command::Home.encode(1), [0x81, 0x01, 0x06, 0x04, 0xFF]);
        assert_eq!(Command::PanTiltInquiry.encode(1), [0x81, 0x09, 0x06, 0x12, 0xFF]);
        assert_eq!(Command::Cancel(2).encode(1), [0x81, 0x22, 0xFF]);
    }

    #[test]
    fn commands_round_trip_through_the_camera_side_parser() {
        for c in [
            Command::AddressSet,
            Command::IfClear { broadcast: true },
            Command::IfClear { broadcast: false },
            Command::Power(true),
            Command::Power(false),
            Command::PresetRecall(7),
            Command::PresetSet(99),
            Command::Home,
            Command::Cancel(1),
            Command::PowerInquiry,
            Command::PanTiltInquiry,
        ] {
            let (_, parsed) = Command::parse(&c.packet(3)).expect("parses");
            assert_eq!(parsed, c);
        }
        let missing_parameter = Packet::parse(&[0x81, 0x01, 0x04, 0x38, 0xFF]).expect("framed");
        assert!(Command::parse(&missing_parameter).is_err());
    }

    #[test]
    fn replies_parse_from_the_published_examples() {
        let parse = |b: &[u8]| Reply::parse(&Packet::parse(b).expect("framed")).expect("reply");
        assert_eq!(parse(&[0x90, 0x41, 0xFF]), Reply::Ack { from: 1, socket: 1 });
        assert_eq!(parse(&[0x90, 0x52, 0xFF]), Reply::Completion { from: 1, socket: 2, data: vec![] });
        assert_eq!(
            parse(&[0x90, 0x60, 0x02, 0xFF]),
            Reply::Error { from: 1, socket: 0, kind: ErrorKind::Syntax }
        );
        assert_eq!(
            parse(&[0x90, 0x60, 0x03, 0xFF]),
            Reply::Error { from: 1, socket: 0, kind: ErrorKind::BufferFull }
        );
        assert_eq!(
            parse(&[0x90, 0x62, 0x41, 0xFF]),
            Reply::Error { from: 1, socket: 2, kind: ErrorKind::NotExecutable }
        );
        assert_eq!(
            parse(&[0x90, 0x61, 0x04, 0xFF]),
            Reply::Error { from: 1, socket: 1, kind: ErrorKind::Cancelled }
        );
        assert_eq!(parse(&[0x88, 0x30, 0x03, 0xFF]), Reply::AddressSet { next: 3 });
        assert_eq!(parse(&[0x88, 0x01, 0x00, 0x01, 0xFF]), Reply::IfClearBroadcast);
        assert_eq!(parse(&[0xA0, 0x38, 0xFF]), Reply::NetworkChange);
        // The real transcript: pan 0xFFD5 = -43, tilt 8.
        let Reply::Completion { data, .. } = parse(&[0x90, 0x50, 0x0F, 0x0F, 0x0D, 0x05, 0, 0, 0, 8, 0xFF])
        else {
            panic!("expected a completion");
        };
        assert_eq!(parse_pan_tilt(&data), Some((-43, 8)));
        assert_eq!(pan_tilt_data(-43, 8), data);
    }

    #[test]
    fn replies_round_trip() {
        for r in [
            Reply::Ack { from: 2, socket: 1 },
            Reply::Completion { from: 2, socket: 0, data: vec![0x02] },
            Reply::Error { from: 2, socket: 2, kind: ErrorKind::NotExecutable },
            Reply::AddressSet { next: 2 },
        ] {
            assert_eq!(Reply::parse(&r.packet(2)), Ok(r));
        }
    }

    #[test]
    fn stream_decoding_resynchronises_after_garbage_and_overlong_runs() {
        let mut buf = vec![0x00, 0x12, 0x90, 0x41, 0xFF, 0x90];
        assert_eq!(decode(&mut buf), Err(CodecError::BadHeader(0x00)));
        assert_eq!(decode(&mut buf), Ok(Some(Packet { header: 0x90, body: vec![0x41] })));
        assert_eq!(decode(&mut buf), Ok(None));
        buf.extend_from_slice(&[0x51, 0xFF]);
        assert_eq!(decode(&mut buf), Ok(Some(Packet { header: 0x90, body: vec![0x51] })));
        let mut long = vec![0x90; 20];
        assert_eq!(decode(&mut long), Err(CodecError::TooLong));
        assert!(long.is_empty());
    }
}
