//! Modbus RTU framing, pure: bytes in, frames out, and back. No I/O, no clock.
//!
//! Both sides are here: the master encodes requests and decodes responses (the bus
//! driver), the slave decodes requests and encodes responses (the simulator). Decoders take
//! a byte slice and never panic, whatever the bytes: they answer "need more bytes"
//! (`Ok(None)`), a frame with its length, or a [`FrameError`].
//!
//! RTU frames have no length field; a receiver learns the length from the function code
//! (and a byte count where there is one). Real devices also frame by line silence (t3.5),
//! which the drivers handle with timers; this module only knows bytes.
//!
//! Supported function codes: 0x01 read coils, 0x02 read discrete inputs, 0x03 read
//! holding registers, 0x05 write single coil, 0x0F write multiple coils, 0x10 write
//! multiple registers, and exception responses (function | 0x80).

use std::fmt;

/// The longest RTU frame (address + PDU + CRC), from the Modbus serial line guide.
pub const MAX_ADU_LEN: usize = 256;

/// Unit address 0: broadcast. Slaves act on broadcast writes and never answer.
pub const BROADCAST: u8 = 0;

/// Function codes Podium speaks.
pub mod function {
    /// Read coils (outputs).
    pub const READ_COILS: u8 = 0x01;
    /// Read discrete inputs (keys).
    pub const READ_DISCRETE_INPUTS: u8 = 0x02;
    /// Read holding registers.
    pub const READ_HOLDING_REGISTERS: u8 = 0x03;
    /// Write one coil.
    pub const WRITE_SINGLE_COIL: u8 = 0x05;
    /// Write a range of coils.
    pub const WRITE_MULTIPLE_COILS: u8 = 0x0F;
    /// Write a range of holding registers.
    pub const WRITE_MULTIPLE_REGISTERS: u8 = 0x10;
    /// Set in the function code of an exception response.
    pub const EXCEPTION_FLAG: u8 = 0x80;
}

/// Quantity limits from the Modbus application protocol (so a frame fits 256 bytes).
pub mod limits {
    /// Coils or discrete inputs per read.
    pub const READ_BITS: u16 = 2000;
    /// Registers per read.
    pub const READ_REGISTERS: u16 = 125;
    /// Coils per write.
    pub const WRITE_BITS: u16 = 1968;
    /// Registers per write.
    pub const WRITE_REGISTERS: u16 = 123;
}

/// An exception code in an exception response. Kept as the raw byte so that codes this
/// version does not name still round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExceptionCode(pub u8);

impl ExceptionCode {
    /// The function code is not supported by the unit.
    pub const ILLEGAL_FUNCTION: ExceptionCode = ExceptionCode(0x01);
    /// The address range is outside the unit's map.
    pub const ILLEGAL_DATA_ADDRESS: ExceptionCode = ExceptionCode(0x02);
    /// A value in the request is not allowed (quantity, coil value, byte count).
    pub const ILLEGAL_DATA_VALUE: ExceptionCode = ExceptionCode(0x03);
    /// The unit failed while acting on the request.
    pub const SERVER_DEVICE_FAILURE: ExceptionCode = ExceptionCode(0x04);
    /// The unit is busy; try again later.
    pub const SERVER_DEVICE_BUSY: ExceptionCode = ExceptionCode(0x06);
}

impl fmt::Display for ExceptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0x01 => "illegal function",
            0x02 => "illegal data address",
            0x03 => "illegal data value",
            0x04 => "server device failure",
            0x05 => "acknowledge",
            0x06 => "server device busy",
            _ => "exception",
        };
        write!(f, "{name} (0x{:02X})", self.0)
    }
}

/// A request from the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// 0x01: read `quantity` coils from `address`.
    ReadCoils {
        /// First coil.
        address: u16,
        /// How many.
        quantity: u16,
    },
    /// 0x02: read `quantity` discrete inputs from `address`.
    ReadDiscreteInputs {
        /// First input.
        address: u16,
        /// How many.
        quantity: u16,
    },
    /// 0x03: read `quantity` holding registers from `address`.
    ReadHoldingRegisters {
        /// First register.
        address: u16,
        /// How many.
        quantity: u16,
    },
    /// 0x05: set one coil.
    WriteSingleCoil {
        /// The coil.
        address: u16,
        /// On or off.
        value: bool,
    },
    /// 0x0F: set consecutive coils from `address`.
    WriteMultipleCoils {
        /// First coil.
        address: u16,
        /// One value per coil.
        values: Vec<bool>,
    },
    /// 0x10: set consecutive holding registers from `address`.
    WriteMultipleRegisters {
        /// First register.
        address: u16,
        /// One value per register.
        values: Vec<u16>,
    },
}

impl Request {
    /// The function code of this request.
    pub fn function(&self) -> u8 {
        match self {
            Request::ReadCoils { .. } => function::READ_COILS,
            Request::ReadDiscreteInputs { .. } => function::READ_DISCRETE_INPUTS,
            Request::ReadHoldingRegisters { .. } => function::READ_HOLDING_REGISTERS,
            Request::WriteSingleCoil { .. } => function::WRITE_SINGLE_COIL,
            Request::WriteMultipleCoils { .. } => function::WRITE_MULTIPLE_COILS,
            Request::WriteMultipleRegisters { .. } => function::WRITE_MULTIPLE_REGISTERS,
        }
    }

    /// Whether the quantity is within the protocol's limits and the range does not run
    /// past address 65535. A slave answers a request that is not with exception 0x03.
    pub fn quantity_ok(&self) -> bool {
        let (address, quantity, max) = match self {
            Request::ReadCoils { address, quantity } | Request::ReadDiscreteInputs { address, quantity } => {
                (*address, *quantity, limits::READ_BITS)
            }
            Request::ReadHoldingRegisters { address, quantity } => {
                (*address, *quantity, limits::READ_REGISTERS)
            }
            Request::WriteSingleCoil { .. } => return true,
            Request::WriteMultipleCoils { address, values } => {
                (*address, u16::try_from(values.len()).unwrap_or(u16::MAX), limits::WRITE_BITS)
            }
            Request::WriteMultipleRegisters { address, values } => {
                (*address, u16::try_from(values.len()).unwrap_or(u16::MAX), limits::WRITE_REGISTERS)
            }
        };
        quantity >= 1 && quantity <= max && u32::from(address) + u32::from(quantity) <= 0x1_0000
    }
}

/// A response from a slave. Read responses carry whole bytes of bits: after decoding,
/// `bits` has a multiple of 8 entries and the master keeps the first `quantity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// 0x01: coil values, LSB of the first byte first.
    ReadCoils {
        /// The values (padded with `false` to whole bytes).
        bits: Vec<bool>,
    },
    /// 0x02: discrete input values, LSB of the first byte first.
    ReadDiscreteInputs {
        /// The values (padded with `false` to whole bytes).
        bits: Vec<bool>,
    },
    /// 0x03: register values.
    ReadHoldingRegisters {
        /// The values.
        values: Vec<u16>,
    },
    /// 0x05: echo of the written coil.
    WriteSingleCoil {
        /// The coil.
        address: u16,
        /// Its new value.
        value: bool,
    },
    /// 0x0F: echo of the written range.
    WriteMultipleCoils {
        /// First coil.
        address: u16,
        /// How many were written.
        quantity: u16,
    },
    /// 0x10: echo of the written range.
    WriteMultipleRegisters {
        /// First register.
        address: u16,
        /// How many were written.
        quantity: u16,
    },
    /// The request failed: `function` is the request's function code (without 0x80).
    Exception {
        /// The request's function code.
        function: u8,
        /// Why it failed.
        code: ExceptionCode,
    },
}

impl Response {
    /// The function code this response answers (without the exception flag).
    pub fn function(&self) -> u8 {
        match self {
            Response::ReadCoils { .. } => function::READ_COILS,
            Response::ReadDiscreteInputs { .. } => function::READ_DISCRETE_INPUTS,
            Response::ReadHoldingRegisters { .. } => function::READ_HOLDING_REGISTERS,
            Response::WriteSingleCoil { .. } => function::WRITE_SINGLE_COIL,
            Response::WriteMultipleCoils { .. } => function::WRITE_MULTIPLE_COILS,
            Response::WriteMultipleRegisters { .. } => function::WRITE_MULTIPLE_REGISTERS,
            Response::Exception { function, .. } => *function,
        }
    }
}

/// A frame: the unit address and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adu<T> {
    /// Unit address (1-247; 0 is broadcast).
    pub unit: u8,
    /// The request or response.
    pub pdu: T,
}

/// A decoded frame and how many bytes of the input it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<T> {
    /// The frame.
    pub adu: Adu<T>,
    /// Bytes consumed from the start of the input.
    pub length: usize,
}

/// Why bytes are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The checksum does not match: a transmission error.
    #[error(
        "CRC mismatch in a {length}-byte frame for unit {unit}: computed {computed:04X}, received {received:04X}"
    )]
    Crc {
        /// The address byte as received (may itself be corrupted).
        unit: u8,
        /// Frame length the function code implied.
        length: usize,
        /// CRC computed over the frame.
        computed: u16,
        /// CRC received.
        received: u16,
    },
    /// The function code is not one this codec frames; the length is unknown.
    #[error("unit {unit}: function code 0x{function:02X} is not supported")]
    UnknownFunction {
        /// The address byte.
        unit: u8,
        /// The function byte.
        function: u8,
    },
    /// The CRC is right but the content is inconsistent (byte count, coil value).
    #[error("unit {unit}: malformed frame for function 0x{function:02X}: {reason}")]
    Malformed {
        /// The address byte.
        unit: u8,
        /// The function byte.
        function: u8,
        /// Frame length.
        length: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

impl FrameError {
    /// Bytes a receiver should drop before looking for the next frame: the bad frame when
    /// its length is known, else everything (RTU resynchronises on silence, not content).
    pub fn discard(&self, available: usize) -> usize {
        match self {
            FrameError::Crc { length, .. } | FrameError::Malformed { length, .. } => (*length).min(available),
            FrameError::UnknownFunction { .. } => available,
        }
    }
}

/// Why a frame cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The quantity is zero, above the protocol limit or runs past address 65535.
    #[error("quantity out of range for function 0x{function:02X}")]
    QuantityOutOfRange {
        /// The function code.
        function: u8,
    },
    /// The response would not fit the 256-byte frame.
    #[error("the frame would exceed {MAX_ADU_LEN} bytes")]
    TooLong,
}

// --- CRC ---------------------------------------------------------------------------------

/// CRC-16/MODBUS lookup table (reflected polynomial 0xA001), built at compile time.
const CRC_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xA001 } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// CRC-16/MODBUS (init 0xFFFF, reflected polynomial 0xA001). On the wire the low byte
/// goes first.
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0xFFFF_u16, |crc, &b| (crc >> 8) ^ CRC_TABLE[usize::from((crc ^ u16::from(b)) as u8)])
}

fn push_crc(out: &mut Vec<u8>, start: usize) {
    let crc = crc16(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Checks the CRC of `frame` (whose last two bytes are the CRC).
pub fn crc_ok(frame: &[u8]) -> bool {
    match frame.len().checked_sub(2) {
        Some(body) if body > 0 => crc16(&frame[..body]).to_le_bytes() == [frame[body], frame[body + 1]],
        _ => false,
    }
}

// --- bits and words ----------------------------------------------------------------------

/// Packs bits LSB-first into bytes, padding the last byte with zeros.
pub fn pack_bits(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, _) in bits.iter().enumerate().filter(|(_, b)| **b) {
        out[i / 8] |= 1 << (i % 8);
    }
    out
}

/// Unpacks bytes into bits, LSB of the first byte first.
pub fn unpack_bits(bytes: &[u8]) -> Vec<bool> {
    bytes.iter().flat_map(|&b| (0..8).map(move |i| b & (1 << i) != 0)).collect()
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

// --- encoding ----------------------------------------------------------------------------

/// Appends a request frame (address, PDU, CRC) to `out`.
pub fn encode_request(unit: u8, request: &Request, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if !request.quantity_ok() {
        return Err(EncodeError::QuantityOutOfRange { function: request.function() });
    }
    let start = out.len();
    out.push(unit);
    out.push(request.function());
    match request {
        Request::ReadCoils { address, quantity }
        | Request::ReadDiscreteInputs { address, quantity }
        | Request::ReadHoldingRegisters { address, quantity } => {
            out.extend_from_slice(&address.to_be_bytes());
            out.extend_from_slice(&quantity.to_be_bytes());
        }
        Request::WriteSingleCoil { address, value } => {
            out.extend_from_slice(&address.to_be_bytes());
            out.extend_from_slice(if *value { &[0xFF, 0x00] } else { &[0x00, 0x00] });
        }
        Request::WriteMultipleCoils { address, values } => {
            let packed = pack_bits(values);
            out.extend_from_slice(&address.to_be_bytes());
            // quantity_ok() bounds both to the protocol limits, so they fit.
            out.extend_from_slice(&(values.len() as u16).to_be_bytes());
            out.push(packed.len() as u8);
            out.extend_from_slice(&packed);
        }
        Request::WriteMultipleRegisters { address, values } => {
            out.extend_from_slice(&address.to_be_bytes());
            out.extend_from_slice(&(values.len() as u16).to_be_bytes());
            out.push((values.len() * 2) as u8);
            for v in values {
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
    }
    push_crc(out, start);
    Ok(())
}

/// Appends a response frame (address, PDU, CRC) to `out`.
pub fn encode_response(unit: u8, response: &Response, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let push_bytes = |out: &mut Vec<u8>, function: u8, data: &[u8]| -> Result<(), EncodeError> {
        // 1 address + 1 function + 1 count + data + 2 CRC
        if data.len() + 5 > MAX_ADU_LEN {
            return Err(EncodeError::TooLong);
        }
        out.push(unit);
        out.push(function);
        out.push(data.len() as u8);
        out.extend_from_slice(data);
        Ok(())
    };
    match response {
        Response::ReadCoils { bits } => push_bytes(out, function::READ_COILS, &pack_bits(bits))?,
        Response::ReadDiscreteInputs { bits } => {
            push_bytes(out, function::READ_DISCRETE_INPUTS, &pack_bits(bits))?
        }
        Response::ReadHoldingRegisters { values } => {
            let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
            push_bytes(out, function::READ_HOLDING_REGISTERS, &data)?
        }
        Response::WriteSingleCoil { address, value } => {
            out.extend_from_slice(&[unit, function::WRITE_SINGLE_COIL]);
            out.extend_from_slice(&address.to_be_bytes());
            out.extend_from_slice(if *value { &[0xFF, 0x00] } else { &[0x00, 0x00] });
        }
        Response::WriteMultipleCoils { address, quantity } => {
            out.extend_from_slice(&[unit, function::WRITE_MULTIPLE_COILS]);
            out.extend_from_slice(&address.to_be_bytes());
            out.extend_from_slice(&quantity.to_be_bytes());
        }
        Response::WriteMultipleRegisters { address, quantity } => {
            out.extend_from_slice(&[unit, function::WRITE_MULTIPLE_REGISTERS]);
            out.extend_from_slice(&address.to_be_bytes());
            out.extend_from_slice(&quantity.to_be_bytes());
        }
        Response::Exception { function, code } => {
            out.extend_from_slice(&[unit, function | function::EXCEPTION_FLAG, code.0]);
        }
    }
    push_crc(out, start);
    Ok(())
}

// --- decoding ----------------------------------------------------------------------------

/// The full length of the request frame at the start of `buf`: `Ok(None)` if more bytes
/// are needed to tell.
fn request_length(buf: &[u8]) -> Result<Option<usize>, FrameError> {
    let (Some(&unit), Some(&function)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    match function {
        function::READ_COILS
        | function::READ_DISCRETE_INPUTS
        | function::READ_HOLDING_REGISTERS
        | function::WRITE_SINGLE_COIL => Ok(Some(8)),
        function::WRITE_MULTIPLE_COILS | function::WRITE_MULTIPLE_REGISTERS => {
            Ok(buf.get(6).map(|&count| 9 + usize::from(count)))
        }
        _ => Err(FrameError::UnknownFunction { unit, function }),
    }
}

/// The full length of the response frame at the start of `buf`.
fn response_length(buf: &[u8]) -> Result<Option<usize>, FrameError> {
    let (Some(&unit), Some(&function)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    if function & function::EXCEPTION_FLAG != 0 {
        return Ok(Some(5));
    }
    match function {
        function::READ_COILS | function::READ_DISCRETE_INPUTS | function::READ_HOLDING_REGISTERS => {
            Ok(buf.get(2).map(|&count| 5 + usize::from(count)))
        }
        function::WRITE_SINGLE_COIL | function::WRITE_MULTIPLE_COILS | function::WRITE_MULTIPLE_REGISTERS => {
            Ok(Some(8))
        }
        _ => Err(FrameError::UnknownFunction { unit, function }),
    }
}

/// Cuts the frame of `length` bytes off `buf` and checks its CRC; `Ok(None)` when `buf`
/// is shorter.
fn checked_frame(buf: &[u8], length: usize) -> Result<Option<&[u8]>, FrameError> {
    let Some(frame) = buf.get(..length) else {
        return Ok(None);
    };
    if !crc_ok(frame) {
        let body = &frame[..length - 2];
        return Err(FrameError::Crc {
            unit: frame[0],
            length,
            computed: crc16(body),
            received: u16::from_le_bytes([frame[length - 2], frame[length - 1]]),
        });
    }
    Ok(Some(frame))
}

/// Decodes the request frame at the start of `buf` (slave side).
///
/// `Ok(None)`: incomplete, wait for more bytes. `Ok(Some(d))`: a frame of `d.length`
/// bytes. `Err(e)`: drop [`FrameError::discard`] bytes. Never panics.
pub fn decode_request(buf: &[u8]) -> Result<Option<Decoded<Request>>, FrameError> {
    let Some(length) = request_length(buf)? else {
        return Ok(None);
    };
    let Some(frame) = checked_frame(buf, length)? else {
        return Ok(None);
    };
    let (unit, function) = (frame[0], frame[1]);
    let malformed = |reason| FrameError::Malformed { unit, function, length, reason };
    let address = be16(frame, 2).ok_or_else(|| malformed("short frame"))?;
    let word = be16(frame, 4).ok_or_else(|| malformed("short frame"))?;
    let pdu = match function {
        function::READ_COILS => Request::ReadCoils { address, quantity: word },
        function::READ_DISCRETE_INPUTS => Request::ReadDiscreteInputs { address, quantity: word },
        function::READ_HOLDING_REGISTERS => Request::ReadHoldingRegisters { address, quantity: word },
        function::WRITE_SINGLE_COIL => match word {
            0xFF00 => Request::WriteSingleCoil { address, value: true },
            0x0000 => Request::WriteSingleCoil { address, value: false },
            _ => return Err(malformed("a coil value must be 0xFF00 or 0x0000")),
        },
        function::WRITE_MULTIPLE_COILS => {
            let data = &frame[7..length - 2];
            if usize::from(word).div_ceil(8) != data.len() || word == 0 {
                return Err(malformed("the byte count does not match the quantity of coils"));
            }
            let mut values = unpack_bits(data);
            values.truncate(usize::from(word));
            Request::WriteMultipleCoils { address, values }
        }
        function::WRITE_MULTIPLE_REGISTERS => {
            let data = &frame[7..length - 2];
            if usize::from(word) * 2 != data.len() || word == 0 {
                return Err(malformed("the byte count does not match the quantity of registers"));
            }
            let values = data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            Request::WriteMultipleRegisters { address, values }
        }
        _ => return Err(FrameError::UnknownFunction { unit, function }),
    };
    Ok(Some(Decoded { adu: Adu { unit, pdu }, length }))
}

/// Decodes the response frame at the start of `buf` (master side). Same contract as
/// [`decode_request`].
pub fn decode_response(buf: &[u8]) -> Result<Option<Decoded<Response>>, FrameError> {
    let Some(length) = response_length(buf)? else {
        return Ok(None);
    };
    let Some(frame) = checked_frame(buf, length)? else {
        return Ok(None);
    };
    let (unit, function) = (frame[0], frame[1]);
    let malformed = |reason| FrameError::Malformed { unit, function, length, reason };
    let pdu = if function & function::EXCEPTION_FLAG != 0 {
        Response::Exception { function: function & !function::EXCEPTION_FLAG, code: ExceptionCode(frame[2]) }
    } else {
        match function {
            function::READ_COILS => Response::ReadCoils { bits: unpack_bits(&frame[3..length - 2]) },
            function::READ_DISCRETE_INPUTS => {
                Response::ReadDiscreteInputs { bits: unpack_bits(&frame[3..length - 2]) }
            }
            function::READ_HOLDING_REGISTERS => {
                let data = &frame[3..length - 2];
                if data.len() % 2 != 0 {
                    return Err(malformed("odd byte count for registers"));
                }
                Response::ReadHoldingRegisters {
                    values: data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect(),
                }
            }
            _ => {
                let address = be16(frame, 2).ok_or_else(|| malformed("short frame"))?;
                let word = be16(frame, 4).ok_or_else(|| malformed("short frame"))?;
                match function {
                    function::WRITE_SINGLE_COIL => match word {
                        0xFF00 => Response::WriteSingleCoil { address, value: true },
                        0x0000 => Response::WriteSingleCoil { address, value: false },
                        _ => return Err(malformed("a coil value must be 0xFF00 or 0x0000")),
                    },
                    function::WRITE_MULTIPLE_COILS => {
                        Response::WriteMultipleCoils { address, quantity: word }
                    }
                    _ => Response::WriteMultipleRegisters { address, quantity: word },
                }
            }
        }
    };
    Ok(Some(Decoded { adu: Adu { unit, pdu }, length }))
}

/// Whether `response` is a well-formed answer to `request` (same function, the echo
/// matches, a read returns enough bits or exactly the registers asked for). Exceptions
/// answer any request with the same function code.
pub fn answers(request: &Request, response: &Response) -> bool {
    match (request, response) {
        (_, Response::Exception { function, .. }) => *function == request.function(),
        (Request::ReadCoils { quantity, .. }, Response::ReadCoils { bits })
        | (Request::ReadDiscreteInputs { quantity, .. }, Response::ReadDiscreteInputs { bits }) => {
            bits.len() == usize::from(*quantity).div_ceil(8) * 8
        }
        (Request::ReadHoldingRegisters { quantity, .. }, Response::ReadHoldingRegisters { values }) => {
            values.len() == usize::from(*quantity)
        }
        (Request::WriteSingleCoil { address, value }, Response::WriteSingleCoil { address: a, value: v }) => {
            address == a && value == v
        }
        (
            Request::WriteMultipleCoils { address, values },
            Response::WriteMultipleCoils { address: a, quantity },
        ) => address == a && values.len() == usize::from(*quantity),
        (
            Request::WriteMultipleRegisters { address, values },
            Response::WriteMultipleRegisters { address: a, quantity },
        ) => address == a && values.len() == usize::from(*quantity),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex")).collect()
    }

    #[test]
    fn crc_reference_vectors() {
        // From device-protocols.md §5.2; the low byte goes first on the wire.
        assert_eq!(crc16(&hex("01 03 00 00 00 01")).to_le_bytes(), [0x84, 0x0A]);
        assert_eq!(crc16(&hex("11 03 00 6B 00 03")).to_le_bytes(), [0x76, 0x87]);
        // The CRC-16/MODBUS catalogue check value.
        assert_eq!(crc16(b"123456789"), 0x4B37);
        assert!(crc_ok(&hex("01 03 00 00 00 01 84 0A")));
        assert!(!crc_ok(&hex("01 03 00 00 00 01 0A 84")));
        assert!(!crc_ok(&[0x01, 0x02]));
    }

    #[test]
    fn reference_read_request_encodes_to_the_published_frame() {
        let mut out = Vec::new();
        encode_request(0x11, &Request::ReadHoldingRegisters { address: 0x006B, quantity: 3 }, &mut out)
            .expect("encode");
        assert_eq!(out, hex("11 03 00 6B 00 03 76 87"));
        let decoded = decode_request(&out).expect("valid").expect("complete");
        assert_eq!(decoded.length, 8);
        assert_eq!(
            decoded.adu,
            Adu { unit: 0x11, pdu: Request::ReadHoldingRegisters { address: 0x6B, quantity: 3 } }
        );
    }

    #[test]
    fn every_request_round_trips() {
        let requests = [
            Request::ReadCoils { address: 0, quantity: 8 },
            Request::ReadDiscreteInputs { address: 3, quantity: 16 },
            Request::ReadHoldingRegisters { address: 100, quantity: 125 },
            Request::WriteSingleCoil { address: 5, value: true },
            Request::WriteSingleCoil { address: 5, value: false },
            Request::WriteMultipleCoils {
                address: 0,
                values: vec![true, false, true, true, false, false, true, false, true],
            },
            Request::WriteMultipleRegisters { address: 16, values: vec![0x4D75, 0x656C, 0xFFFF] },
        ];
        for request in requests {
            let mut out = Vec::new();
            encode_request(7, &request, &mut out).expect("encode");
            let decoded = decode_request(&out).expect("valid").expect("complete");
            assert_eq!(decoded.adu.pdu, request);
            assert_eq!(decoded.length, out.len());
            // One byte short is incomplete, never an error.
            assert_eq!(decode_request(&out[..out.len() - 1]), Ok(None));
        }
    }

    #[test]
    fn every_response_round_trips() {
        let responses = [
            Response::ReadCoils { bits: unpack_bits(&[0b1010_0101]) },
            Response::ReadDiscreteInputs { bits: unpack_bits(&[0x01, 0x80]) },
            Response::ReadHoldingRegisters { values: vec![1, 2, 0xBEEF] },
            Response::WriteSingleCoil { address: 4, value: true },
            Response::WriteMultipleCoils { address: 0, quantity: 5 },
            Response::WriteMultipleRegisters { address: 16, quantity: 10 },
            Response::Exception { function: 0x02, code: ExceptionCode::ILLEGAL_DATA_ADDRESS },
        ];
        for response in responses {
            let mut out = Vec::new();
            encode_response(9, &response, &mut out).expect("encode");
            let decoded = decode_response(&out).expect("valid").expect("complete");
            assert_eq!(decoded.adu.pdu, response);
            assert_eq!(decoded.adu.unit, 9);
            assert_eq!(decoded.length, out.len());
        }
    }

    #[test]
    fn exception_frame_matches_the_specification() {
        let mut out = Vec::new();
        let response = Response::Exception { function: 0x01, code: ExceptionCode::ILLEGAL_DATA_ADDRESS };
        encode_response(0x0A, &response, &mut out).expect("encode");
        assert_eq!(&out[..3], &[0x0A, 0x81, 0x02]);
        assert!(crc_ok(&out));
    }

    #[test]
    fn bits_pack_lsb_first() {
        let bits = [true, false, false, false, false, false, false, false, false, true];
        assert_eq!(pack_bits(&bits), vec![0x01, 0x02]);
        assert_eq!(&unpack_bits(&[0x01, 0x02])[..10], &bits);
    }

    #[test]
    fn corrupted_crc_and_bad_content_are_errors_with_a_discard_length() {
        let mut out = Vec::new();
        encode_request(1, &Request::ReadDiscreteInputs { address: 0, quantity: 16 }, &mut out)
            .expect("encode");
        out[7] ^= 0x01;
        let error = decode_request(&out).expect_err("crc");
        assert!(matches!(error, FrameError::Crc { unit: 1, length: 8, .. }), "{error}");
        assert_eq!(error.discard(out.len()), 8);

        // A coil value other than 0xFF00/0x0000 with a valid CRC is malformed.
        let mut frame = hex("01 05 00 01 12 34");
        frame.extend_from_slice(&crc16(&frame).to_le_bytes());
        assert!(matches!(decode_request(&frame), Err(FrameError::Malformed { function: 0x05, .. })));

        let unknown = hex("01 2B 0E 01 00");
        assert!(matches!(decode_request(&unknown), Err(FrameError::UnknownFunction { function: 0x2B, .. })));
        assert_eq!(FrameError::UnknownFunction { unit: 1, function: 0x2B }.discard(5), 5);
    }

    #[test]
    fn quantities_outside_the_protocol_limits_are_not_encoded() {
        let mut out = Vec::new();
        for request in [
            Request::ReadCoils { address: 0, quantity: 0 },
            Request::ReadDiscreteInputs { address: 0, quantity: 2001 },
            Request::ReadHoldingRegisters { address: 0xFFFF, quantity: 2 },
            Request::WriteMultipleRegisters { address: 0, values: vec![0; 124] },
        ] {
            assert!(encode_request(1, &request, &mut out).is_err(), "{request:?}");
        }
        assert!(out.is_empty());
    }

    #[test]
    fn answers_checks_function_and_echo() {
        let read = Request::ReadDiscreteInputs { address: 0, quantity: 16 };
        assert!(answers(&read, &Response::ReadDiscreteInputs { bits: vec![false; 16] }));
        assert!(!answers(&read, &Response::ReadDiscreteInputs { bits: vec![false; 8] }));
        assert!(!answers(&read, &Response::ReadCoils { bits: vec![false; 16] }));
        assert!(answers(&read, &Response::Exception { function: 2, code: ExceptionCode::ILLEGAL_FUNCTION }));
        let write = Request::WriteMultipleCoils { address: 0, values: vec![true; 5] };
        assert!(answers(&write, &Response::WriteMultipleCoils { address: 0, quantity: 5 }));
        assert!(!answers(&write, &Response::WriteMultipleCoils { address: 1, quantity: 5 }));
    }
}
