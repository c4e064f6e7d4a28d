//! RTU line timing: character time, inter-frame silence and the wire time of frames.
//!
//! Every character is 11 bits on the wire (start, 8 data, parity or a second stop bit,
//! stop). Above 19200 baud the Modbus serial line guide fixes t1.5 = 750 µs and
//! t3.5 = 1750 µs; below, they are 1.5 and 3.5 character times. Units that follow the
//! Podium register map in high-speed mode ([`LineTiming::Podium`]) frame by 3.5 character
//! times at every speed: 41.8 µs at 921600 baud instead of 1.75 ms.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a unit frames: the silence it needs between two frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineTiming {
    /// The Modbus serial line guide: t3.5 is 3.5 characters up to 19200 baud, 1.75 ms above.
    #[default]
    Modbus,
    /// The Podium register map's high-speed mode: 3.5 characters at every speed.
    Podium,
}

impl LineTiming {
    /// Names as written in configuration.
    pub const NAMES: &'static [&'static str] = &["modbus", "podium"];

    /// The silence before a frame to a unit with this timing, at `baud`.
    pub fn frame_gap(self, baud: u32) -> Duration {
        match self {
            LineTiming::Modbus => frame_gap(baud),
            LineTiming::Podium => char_time(baud) * 7 / 2,
        }
    }

    /// The wire time of one request/response exchange with a unit of this timing: both
    /// frames, each followed by its silence.
    pub fn exchange_time(self, request_bytes: usize, response_bytes: usize, baud: u32) -> Duration {
        frame_time(request_bytes, baud) + frame_time(response_bytes, baud) + self.frame_gap(baud) * 2
    }
}

/// Bits per RTU character: 1 start + 8 data + 1 parity (or 2nd stop) + 1 stop.
pub const BITS_PER_CHAR: u32 = 11;

/// Time on the wire of one character at `baud`.
pub fn char_time(baud: u32) -> Duration {
    Duration::from_nanos(u64::from(BITS_PER_CHAR) * 1_000_000_000 / u64::from(baud.max(1)))
}

/// The silence that separates two frames (t3.5).
pub fn frame_gap(baud: u32) -> Duration {
    if baud > 19_200 { Duration::from_micros(1_750) } else { char_time(baud) * 7 / 2 }
}

/// The longest silence allowed inside a frame (t1.5).
pub fn char_gap(baud: u32) -> Duration {
    if baud > 19_200 { Duration::from_micros(750) } else { char_time(baud) * 3 / 2 }
}

/// Time on the wire of a frame of `bytes` bytes, without the gaps around it.
pub fn frame_time(bytes: usize, baud: u32) -> Duration {
    char_time(baud) * u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// The wire time of one request/response exchange: both frames, each followed by t3.5.
pub fn exchange_time(request_bytes: usize, response_bytes: usize, baud: u32) -> Duration {
    LineTiming::Modbus.exchange_time(request_bytes, response_bytes, baud)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_follows_the_serial_line_guide() {
        assert_eq!(char_time(9600), Duration::from_nanos(1_145_833));
        // Below 19200 baud t3.5 is 3.5 character times: 4.01 ms at 9600.
        assert_eq!(frame_gap(9600), Duration::from_nanos(1_145_833 * 7 / 2));
        assert_eq!(frame_gap(115_200), Duration::from_micros(1_750));
        assert_eq!(char_gap(115_200), Duration::from_micros(750));
        // 8-byte request + 7-byte answer at 115200: 15 × 95.5 µs + 2 × 1.75 ms ≈ 4.93 ms.
        let exchange = exchange_time(8, 7, 115_200);
        assert!(
            exchange > Duration::from_micros(4_900) && exchange < Duration::from_micros(4_950),
            "{exchange:?}"
        );
    }

    #[test]
    fn podium_timing_is_three_and_a_half_characters_at_every_speed() {
        // At 9600 baud both timings agree; above 19200 Podium units need far less silence.
        assert_eq!(LineTiming::Podium.frame_gap(9600), LineTiming::Modbus.frame_gap(9600));
        assert_eq!(LineTiming::Podium.frame_gap(921_600), Duration::from_nanos(11_935 * 7 / 2));
        assert_eq!(LineTiming::Modbus.frame_gap(921_600), Duration::from_micros(1_750));
        // A poll (8 + 7 bytes) at 921600: 179 µs of bytes and 84 µs of silence.
        let poll = LineTiming::Podium.exchange_time(8, 7, 921_600);
        assert!(poll > Duration::from_micros(260) && poll < Duration::from_micros(265), "{poll:?}");
    }
}
