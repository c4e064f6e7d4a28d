//! A Samsung display over RS-232 or TCP 1515, as a [`DisplayLink`]: power and input
//! source (input named as in [`super::codec::INPUTS`], e.g. `hdmi1`).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::codec::{self, Frame, INPUT, MdcError, POWER};
use crate::display::{self, Connection, DisplayLink, DisplayState, Endpoint};
use crate::link_io::{self, LinkError};
use crate::monitor::{Direction, FrameMonitor};
use crate::serial::SerialSettings;

/// Where the display is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MdcTransport {
    /// TCP (port 1515).
    Tcp(SocketAddr),
    /// RS-232, 9600 8N1.
    Serial(SerialSettings),
}

/// A Samsung MDC display.
pub struct MdcLink {
    transport: MdcTransport,
    id: u8,
    timeout: Duration,
    conn: Option<Connection>,
    monitor: Option<(FrameMonitor, String)>,
}

impl MdcLink {
    /// Display `id` at `transport`.
    pub fn new(transport: MdcTransport, id: u8) -> Self {
        MdcLink { transport, id, timeout: Duration::from_secs(2), conn: None, monitor: None }
    }

    /// Shows this display's frames on `monitor` as `device`.
    pub fn monitored(mut self, monitor: FrameMonitor, device: &str) -> Self {
        self.monitor = Some((monitor, device.to_owned()));
        self
    }

    async fn exchange(&mut self, frame: Frame) -> Result<Vec<u8>, LinkError> {
        let endpoint = match &self.transport {
            MdcTransport::Tcp(addr) => Endpoint::Tcp(*addr),
            MdcTransport::Serial(settings) => Endpoint::Serial(settings),
        };
        let (stream, buf) = display::reuse_or_open(&mut self.conn, endpoint, self.timeout).await?;
        let bytes = frame.encode();
        if let Some((monitor, device)) = &self.monitor {
            monitor.record(device, Direction::Out, &bytes, || format!("{frame:?}"));
        }
        stream.write_all(&bytes).await.map_err(LinkError::Write)?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let reply = link_io::read_frame(stream, buf, deadline, take_whole_frame).await?;
            if let Some((monitor, device)) = &self.monitor {
                monitor.record(device, Direction::In, &reply.encode(), || format!("{reply:?}"));
            }
            match reply.as_reply() {
                Some((true, cmd, data)) if cmd == frame.command && reply.id == frame.id => {
                    return Ok(data.to_vec());
                }
                Some((false, cmd, data)) if cmd == frame.command => {
                    return Err(LinkError::Refused {
                        request: format!("command {cmd:#04x}"),
                        reason: format!("NAK {data:02x?}"),
                    });
                }
                // An answer for another display on the bus, or to an earlier command.
                _ => {}
            }
        }
    }

    async fn read(&mut self) -> Result<DisplayState, LinkError> {
        let power = self.exchange(Frame::get(POWER, self.id)).await?;
        let input = self.exchange(Frame::get(INPUT, self.id)).await?;
        Ok(DisplayState {
            power: power.first().map(|p| *p == 1),
            input: input.first().map(|c| codec::input_name(*c)),
        })
    }
}

impl DisplayLink for MdcLink {
    fn kind(&self) -> &'static str {
        "mdc"
    }

    fn address(&self) -> String {
        match &self.transport {
            MdcTransport::Tcp(a) => format!("tcp {a}, id {}", self.id),
            MdcTransport::Serial(s) => format!("{}, id {}", s.describe(), self.id),
        }
    }

    async fn apply(&mut self, want: &DisplayState) -> Result<DisplayState, LinkError> {
        if let Some(on) = want.power {
            self.exchange(Frame::set(POWER, self.id, u8::from(on))).await?;
        }
        if let Some(input) = &want.input {
            let code = codec::input_code(input)
                .ok_or_else(|| LinkError::InvalidRequest(format!("unknown MDC input `{input}`")))?;
            self.exchange(Frame::set(INPUT, self.id, code)).await?;
        }
        self.read().await
    }

    async fn observe(&mut self) -> Result<DisplayState, LinkError> {
        self.read().await
    }

    fn reset(&mut self) {
        self.conn = None;
    }
}

/// [`codec::decode`], skipping noise and garbled frames: the answer may still follow, and
/// if it does not, the exchange times out.
fn take_whole_frame(buf: &mut Vec<u8>) -> Result<Option<Frame>, MdcError> {
    loop {
        match codec::decode(buf) {
            // Each error has dropped bytes from `buf`, so this ends.
            Err(_) => continue,
            taken => return taken,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::codec::START;
    use super::*;

    #[test]
    fn noise_and_garbled_frames_are_skipped_until_a_whole_frame() {
        let answer = Frame::reply(1, true, POWER, &[1]);
        let mut garbled = Frame::reply(1, true, INPUT, &[0x21]).encode();
        *garbled.last_mut().expect("checksum") ^= 0xFF;
        let mut buf = vec![0x00, 0x13];
        buf.extend_from_slice(&garbled);
        buf.extend_from_slice(&answer.encode());
        buf.extend_from_slice(&[START, 0xFF]);
        assert_eq!(take_whole_frame(&mut buf), Ok(Some(answer)));
        assert_eq!(buf, [START, 0xFF], "the start of the next frame stays");
        assert_eq!(take_whole_frame(&mut buf), Ok(None));
    }
}
