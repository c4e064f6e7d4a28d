//! VISCA over IP (UDP 52381): the 8-byte header (payload type, payload length, sequence
//! number, all big-endian) around a VISCA packet or a control message. Pure.

use thiserror::Error;

use super::codec::{MAX_PACKET, Packet};

/// The default UDP port.
pub const UDP_PORT: u16 = 52381;
/// Raw VISCA over TCP (PTZOptics-class cameras).
pub const TCP_PORT: u16 = 5678;
/// Header length.
pub const HEADER_LEN: usize = 8;

/// Payload types of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadType {
    /// `01 00`: VISCA command.
    Command,
    /// `01 10`: VISCA inquiry.
    Inquiry,
    /// `01 11`: VISCA reply (ACK, completion, error).
    Reply,
    /// `01 20`: VISCA device setting command (IF_Clear, version inquiry).
    DeviceSetting,
    /// `02 00`: control command (RESET).
    Control,
    /// `02 01`: control reply.
    ControlReply,
}

impl PayloadType {
    /// The two header bytes.
    pub fn code(self) -> u16 {
        match self {
            PayloadType::Command => 0x0100,
            PayloadType::Inquiry => 0x0110,
            PayloadType::Reply => 0x0111,
            PayloadType::DeviceSetting => 0x0120,
            PayloadType::Control => 0x0200,
            PayloadType::ControlReply => 0x0201,
        }
    }

    /// The type for two header bytes.
    pub fn from_code(code: u16) -> Option<PayloadType> {
        Some(match code {
            0x0100 => PayloadType::Command,
            0x0110 => PayloadType::Inquiry,
            0x0111 => PayloadType::Reply,
            0x0120 => PayloadType::DeviceSetting,
            0x0200 => PayloadType::Control,
            0x0201 => PayloadType::ControlReply,
            _ => return None,
        })
    }

    /// The type for a controller packet: IF_Clear and CAM_VersionInq are device-setting
    /// commands, other `…09…` inquiries, the rest commands.
    pub fn for_packet(packet: &Packet) -> PayloadType {
        match packet.body.as_slice() {
            [0x01, 0x00, 0x01] | [0x09, 0x00, 0x02] => PayloadType::DeviceSetting,
            [0x09, ..] => PayloadType::Inquiry,
            _ => PayloadType::Command,
        }
    }
}

/// Control payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `01` from the controller: reset the sequence number; `01` back: acknowledge.
    Reset,
    /// `0F 01`: abnormality in the sequence number.
    SequenceError,
    /// `0F 02`: abnormality in the message (type).
    MessageError,
}

impl Control {
    /// The payload bytes.
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Control::Reset => vec![0x01],
            Control::SequenceError => vec![0x0F, 0x01],
            Control::MessageError => vec![0x0F, 0x02],
        }
    }
}

/// One datagram, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The header's payload type.
    pub payload_type: PayloadType,
    /// The header's sequence number.
    pub seq: u32,
    /// The payload (a VISCA packet or a control message).
    pub payload: Vec<u8>,
}

/// Why a datagram was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IpError {
    /// Shorter than the header plus one byte.
    #[error("datagram of {0} bytes is too short")]
    TooShort(usize),
    /// Unknown payload type.
    #[error("unknown payload type {0:#06x}")]
    PayloadType(u16),
    /// Length field disagrees with the datagram or exceeds 16.
    #[error("payload length {declared} does not match the {actual} bytes received")]
    Length {
        /// The header's length field.
        declared: u16,
        /// Bytes after the header.
        actual: usize,
    },
}

impl Datagram {
    /// A datagram around a VISCA packet; the payload type follows from the packet.
    pub fn visca(packet: &Packet, seq: u32) -> Datagram {
        Datagram { payload_type: PayloadType::for_packet(packet), seq, payload: packet.to_bytes() }
    }

    /// A reply datagram (camera side).
    pub fn reply(packet: &Packet, seq: u32) -> Datagram {
        Datagram { payload_type: PayloadType::Reply, seq, payload: packet.to_bytes() }
    }

    /// A control command or reply.
    pub fn control(control: Control, reply: bool, seq: u32) -> Datagram {
        let payload_type = if reply { PayloadType::ControlReply } else { PayloadType::Control };
        Datagram { payload_type, seq, payload: control.bytes() }
    }

    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len());
        out.extend_from_slice(&self.payload_type.code().to_be_bytes());
        out.extend_from_slice(&(self.payload.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Decodes one datagram; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Datagram, IpError> {
        if bytes.len() <= HEADER_LEN {
            return Err(IpError::TooShort(bytes.len()));
        }
        let code = u16::from_be_bytes([bytes[0], bytes[1]]);
        let payload_type = PayloadType::from_code(code).ok_or(IpError::PayloadType(code))?;
        let declared = u16::from_be_bytes([bytes[2], bytes[3]]);
        let seq = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let payload = &bytes[HEADER_LEN..];
        if usize::from(declared) != payload.len() || payload.len() > MAX_PACKET {
            return Err(IpError::Length { declared, actual: payload.len() });
        }
        Ok(Datagram { payload_type, seq, payload: payload.to_vec() })
    }

    /// The control message in a control payload.
    pub fn as_control(&self) -> Option<Control> {
        if !matches!(self.payload_type, PayloadType::Control | PayloadType::ControlReply) {
            return None;
        }
        match self.payload.as_slice() {
            [0x01] => Some(Control::Reset),
            [0x0F, 0x01] => Some(Control::SequenceError),
            [0x0F, 0x02] => Some(Control::MessageError),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::Command;
    use super::*;

    #[test]
    fn power_on_with_seq_5_matches_the_reference_vector() {
        let d = Datagram::visca(&Command::Power(true).packet(1), 5);
        assert_eq!(d.encode(), [0x01, 0x00, 0x00, 0x06, 0, 0, 0, 5, 0x81, 0x01, 0x04, 0x00, 0x02, 0xFF]);
        let ack = Datagram::decode(&[0x01, 0x11, 0x00, 0x03, 0, 0, 0, 5, 0x90, 0x41, 0xFF]).expect("ack");
        assert_eq!(ack.payload_type, PayloadType::Reply);
        assert_eq!(ack.seq, 5);
        assert_eq!(ack.payload, [0x90, 0x41, 0xFF]);
    }

    #[test]
    fn reset_is_the_datagram_companion_sends() {
        assert_eq!(Datagram::control(Control::Reset, false, 0).encode(), [2, 0, 0, 1, 0, 0, 0, 0, 1]);
        let d = Datagram::decode(&[2, 1, 0, 2, 0, 0, 0, 9, 0x0F, 0x01]).expect("error reply");
        assert_eq!(d.as_control(), Some(Control::SequenceError));
    }

    #[test]
    fn device_setting_and_inquiry_types_follow_the_packet() {
        assert_eq!(
            Datagram::visca(&Command::IfClear { broadcast: false }.packet(1), 1).payload_type,
            PayloadType::DeviceSetting
        );
        assert_eq!(Datagram::visca(&Command::PanTiltInquiry.packet(1), 1).payload_type, PayloadType::Inquiry);
    }

    #[test]
    fn bad_lengths_and_types_are_rejected() {
        assert_eq!(
            Datagram::decode(&[1, 0, 0, 9, 0, 0, 0, 1, 0x81]),
            Err(IpError::Length { declared: 9, actual: 1 })
        );
        assert_eq!(Datagram::decode(&[7, 7, 0, 1, 0, 0, 0, 1, 0x81]), Err(IpError::PayloadType(0x0707)));
        assert_eq!(Datagram::decode(&[1, 0, 0]), Err(IpError::TooShort(3)));
    }
}
