//! A Samsung display over RS-232 or TCP 1515, as a [`DisplayLink`]: power and input
//! source (input named as in [`super::codec::INPUTS`], e.g. `hdmi1`).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::codec::{self, Frame, INPUT, POWER};
use crate::display::{DisplayLink, DisplayState};
use crate::monitor::{Direction, FrameMonitor};
use crate::serial::SerialSettings;
use crate::visca::link::ByteStream;

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
    conn: Option<(Box<dyn ByteStream>, Vec<u8>)>,
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

    async fn exchange(&mut self, frame: Frame) -> Result<Vec<u8>, String> {
        if self.conn.is_none() {
            let stream = match &self.transport {
                MdcTransport::Tcp(addr) => crate::display::Endpoint::Tcp(*addr),
                MdcTransport::Serial(settings) => crate::display::Endpoint::Serial(settings),
            };
            let stream = crate::display::open_stream(stream, self.timeout).await?;
            self.conn = Some((stream, Vec::new()));
        }
        let monitor = self.monitor.clone();
        let (stream, buf) = self.conn.as_mut().ok_or("not connected")?;
        let bytes = frame.encode();
        if let Some((monitor, device)) = &monitor {
            monitor.record(device, Direction::Out, &bytes, || format!("{frame:?}"));
        }
        stream.write_all(&bytes).await.map_err(|e| format!("write: {e}"))?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            loop {
                match codec::decode(buf) {
                    Ok(Some(reply)) => {
                        if let Some((monitor, device)) = &monitor {
                            monitor.record(device, Direction::In, &reply.encode(), || format!("{reply:?}"));
                        }
                        match reply.as_reply() {
                            Some((true, cmd, data)) if cmd == frame.command && reply.id == frame.id => {
                                return Ok(data.to_vec());
                            }
                            Some((false, cmd, data)) if cmd == frame.command => {
                                return Err(format!(
                                    "display refused command {cmd:#04x} (NAK {:02x?})",
                                    data
                                ));
                            }
                            _ => {}
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {}
                }
            }
            let mut chunk = [0u8; 64];
            let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
                .await
                .map_err(|_| "no answer in time".to_owned())?
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("the display closed the connection".into());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn read(&mut self) -> Result<DisplayState, String> {
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

    async fn apply(&mut self, want: &DisplayState) -> Result<DisplayState, String> {
        if let Some(on) = want.power {
            self.exchange(Frame::set(POWER, self.id, u8::from(on))).await?;
        }
        if let Some(input) = &want.input {
            let code = codec::input_code(input).ok_or_else(|| format!("unknown MDC input `{input}`"))?;
            self.exchange(Frame::set(INPUT, self.id, code)).await?;
        }
        self.read().await
    }

    async fn observe(&mut self) -> Result<DisplayState, String> {
        self.read().await
    }

    fn reset(&mut self) {
        self.conn = None;
    }
}
