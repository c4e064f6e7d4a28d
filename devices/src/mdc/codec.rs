//! Samsung MDC (Multiple Display Control): binary frames `AA cmd id len data… checksum`,
//! checksum = sum of every byte after `AA`, mod 256. Pure; decoding never panics.

use thiserror::Error;

/// The default TCP port.
pub const PORT: u16 = 1515;
/// Frame start.
pub const START: u8 = 0xAA;
/// Power (get/set 0 off, 1 on).
pub const POWER: u8 = 0x11;
/// Input source (get/set).
pub const INPUT: u8 = 0x14;

/// Named input sources and their codes.
pub const INPUTS: &[(&str, u8)] = &[
    ("pc", 0x14),
    ("dvi", 0x18),
    ("magicinfo", 0x20),
    ("hdmi1", 0x21),
    ("hdmi2", 0x23),
    ("displayport1", 0x25),
    ("displayport2", 0x26),
    ("hdmi3", 0x31),
    ("hdmi4", 0x33),
];

/// The code of a named input (`hdmi1`) or of a hex code (`0x21`).
pub fn input_code(name: &str) -> Option<u8> {
    let name = name.trim().to_ascii_lowercase();
    if let Some(hex) = name.strip_prefix("0x") {
        return u8::from_str_radix(hex, 16).ok();
    }
    INPUTS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// The canonical name of an input code: its name, or `0xNN`.
pub fn input_name(code: u8) -> String {
    INPUTS.iter().find(|(_, c)| *c == code).map_or_else(|| format!("0x{code:02x}"), |(n, _)| (*n).to_owned())
}

/// A decoding error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MdcError {
    /// The checksum does not match; the frame was dropped.
    #[error("checksum mismatch")]
    Checksum,
    /// Bytes before a frame start were dropped.
    #[error("{0} bytes of noise dropped")]
    Noise(usize),
}

/// One frame (either direction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Command (`FF` for replies).
    pub command: u8,
    /// Display id (`FE`: all, no answer).
    pub id: u8,
    /// Data bytes.
    pub data: Vec<u8>,
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b))
}

impl Frame {
    /// A get (no data).
    pub fn get(command: u8, id: u8) -> Frame {
        Frame { command, id, data: Vec::new() }
    }

    /// A set with one value.
    pub fn set(command: u8, id: u8, value: u8) -> Frame {
        Frame { command, id, data: vec![value] }
    }

    /// An ACK (`A`) or NAK (`N`) reply.
    pub fn reply(id: u8, ack: bool, command: u8, data: &[u8]) -> Frame {
        let mut d = vec![if ack { b'A' } else { b'N' }, command];
        d.extend_from_slice(data);
        Frame { command: 0xFF, id, data: d }
    }

    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![START, self.command, self.id, self.data.len() as u8];
        out.extend_from_slice(&self.data);
        out.push(checksum(&out[1..]));
        out
    }

    /// For a reply frame: `(ack, command, values)`.
    pub fn as_reply(&self) -> Option<(bool, u8, &[u8])> {
        if self.command != 0xFF {
            return None;
        }
        match self.data.as_slice() {
            [b'A', cmd, rest @ ..] => Some((true, *cmd, rest)),
            [b'N', cmd, rest @ ..] => Some((false, *cmd, rest)),
            _ => None,
        }
    }
}

/// Takes the next frame out of `buf`; `Ok(None)` when more bytes are needed.
pub fn decode(buf: &mut Vec<u8>) -> Result<Option<Frame>, MdcError> {
    match buf.iter().position(|&b| b == START) {
        None => {
            let n = buf.len();
            buf.clear();
            return if n == 0 { Ok(None) } else { Err(MdcError::Noise(n)) };
        }
        Some(0) => {}
        Some(n) => {
            buf.drain(..n);
            return Err(MdcError::Noise(n));
        }
    }
    if buf.len() < 5 {
        return Ok(None);
    }
    let len = usize::from(buf[3]);
    if buf.len() < 5 + len {
        return Ok(None);
    }
    let frame: Vec<u8> = buf.drain(..5 + len).collect();
    if checksum(&frame[1..4 + len]) != frame[4 + len] {
        return Err(MdcError::Checksum);
    }
    Ok(Some(Frame { command: frame[1], id: frame[2], data: frame[4..4 + len].to_vec() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_vectors() {
        assert_eq!(Frame::set(POWER, 1, 1).encode(), [0xAA, 0x11, 0x01, 0x01, 0x01, 0x14]);
        assert_eq!(Frame::set(POWER, 0, 1).encode(), [0xAA, 0x11, 0x00, 0x01, 0x01, 0x13]);
        assert_eq!(Frame::get(POWER, 1).encode(), [0xAA, 0x11, 0x01, 0x00, 0x12]);
        assert_eq!(Frame::set(INPUT, 1, 0x21).encode(), [0xAA, 0x14, 0x01, 0x01, 0x21, 0x37]);
        let ack = Frame::reply(1, true, POWER, &[1]);
        assert_eq!(ack.encode(), [0xAA, 0xFF, 0x01, 0x03, 0x41, 0x11, 0x01, 0x56]);
        let mut buf = vec![0x00, 0xAA, 0xFF, 0x01, 0x03, 0x41, 0x11, 0x01, 0x56];
        assert_eq!(decode(&mut buf), Err(MdcError::Noise(1)));
        assert_eq!(
            decode(&mut buf).expect("frame").expect("complete").as_reply(),
            Some((true, POWER, &[1u8][..]))
        );
        let mut bad = vec![0xAA, 0x11, 0x01, 0x00, 0x13];
        assert_eq!(decode(&mut bad), Err(MdcError::Checksum));
        assert_eq!(
            (input_code("HDMI1"), input_code("0x25"), input_name(0x21)),
            (Some(0x21), Some(0x25), "hdmi1".into())
        );
    }
}
