//! An Extron matrix over TCP (SIS over Telnet) or a serial port, as a
//! [`DisplayLink`]: the "input" of the display state is the matrix input tied to every
//! configured output; matrices have no power state.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::codec::{self, Command, Response, TieKind};
use crate::display::{self, Connection, DisplayLink, DisplayState, Endpoint};
use crate::link_io::{self, LinkError};
use crate::monitor::{Direction, FrameMonitor};
use crate::serial::SerialSettings;

/// Where the matrix is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatrixTransport {
    /// SIS over Telnet/TCP (port 23).
    Tcp(SocketAddr),
    /// RS-232, 9600 8N1.
    Serial(SerialSettings),
}

/// An Extron matrix and the outputs the director switches.
pub struct ExtronLink {
    transport: MatrixTransport,
    outputs: Vec<u16>,
    timeout: Duration,
    conn: Option<Connection>,
    monitor: Option<(FrameMonitor, String)>,
}

impl ExtronLink {
    /// The matrix at `transport`; ties go to every one of `outputs`.
    pub fn new(transport: MatrixTransport, outputs: Vec<u16>) -> Self {
        ExtronLink { transport, outputs, timeout: Duration::from_secs(2), conn: None, monitor: None }
    }

    /// Shows this matrix's frames on `monitor` as `device`.
    pub fn monitored(mut self, monitor: FrameMonitor, device: &str) -> Self {
        self.monitor = Some((monitor, device.to_owned()));
        self
    }

    /// Sends one command and returns its answer, skipping banners and front-panel messages.
    async fn ask(&mut self, command: Command) -> Result<Response, LinkError> {
        let endpoint = match &self.transport {
            MatrixTransport::Tcp(addr) => Endpoint::Tcp(*addr),
            MatrixTransport::Serial(settings) => Endpoint::Serial(settings),
        };
        let (stream, buf) = display::reuse_or_open(&mut self.conn, endpoint, self.timeout).await?;
        let text = command.encode();
        if let Some((monitor, device)) = &self.monitor {
            monitor.record(device, Direction::Out, text.as_bytes(), || text.trim_end().to_owned());
        }
        stream.write_all(text.as_bytes()).await.map_err(LinkError::Write)?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let take_line = |buf: &mut Vec<u8>| Ok::<_, Infallible>(codec::take_line(buf));
            let line = link_io::read_frame(stream, buf, deadline, take_line).await?;
            if let Some((monitor, device)) = &self.monitor {
                monitor.record(device, Direction::In, line.as_bytes(), || line.clone());
            }
            match Response::parse(&line) {
                Response::Banner(_) | Response::Other(_) => {}
                Response::Error(e) => {
                    return Err(LinkError::Refused {
                        request: text.trim_end().to_owned(),
                        reason: e.to_string(),
                    });
                }
                r => return Ok(r),
            }
        }
    }

    async fn read(&mut self) -> Result<DisplayState, LinkError> {
        let mut tied: Option<u16> = None;
        for output in self.outputs.clone() {
            match self.ask(Command::ReadTie { output }).await? {
                Response::Input(i) if tied.is_none_or(|t| t == i) => tied = Some(i),
                // Outputs disagree: report none, so the driver ties them again.
                Response::Input(_) => return Ok(DisplayState::default()),
                other => return Err(LinkError::Protocol(format!("unexpected answer {other:?}"))),
            }
        }
        Ok(DisplayState { power: None, input: tied.map(|i| i.to_string()) })
    }
}

impl DisplayLink for ExtronLink {
    fn kind(&self) -> &'static str {
        "extron"
    }

    fn address(&self) -> String {
        let outputs: Vec<String> = self.outputs.iter().map(u16::to_string).collect();
        match &self.transport {
            MatrixTransport::Tcp(a) => format!("tcp {a}, outputs {}", outputs.join(",")),
            MatrixTransport::Serial(s) => format!("{}, outputs {}", s.describe(), outputs.join(",")),
        }
    }

    async fn apply(&mut self, want: &DisplayState) -> Result<DisplayState, LinkError> {
        if let Some(input) = &want.input {
            let input: u16 = input
                .trim()
                .parse()
                .map_err(|_| LinkError::InvalidRequest(format!("`{input}` is not a matrix input number")))?;
            for output in self.outputs.clone() {
                self.ask(Command::Tie { input, output, kind: TieKind::All }).await?;
            }
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
