//! An Extron matrix over TCP (SIS over Telnet) or a serial port, as a
//! [`DisplayLink`]: the "input" of the display state is the matrix input tied to every
//! configured output; matrices have no power state.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::codec::{self, Command, Response, TieKind};
use crate::display::{DisplayLink, DisplayState};
use crate::monitor::{Direction, FrameMonitor};
use crate::serial::SerialSettings;
use crate::visca::link::ByteStream;

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
    conn: Option<(Box<dyn ByteStream>, Vec<u8>)>,
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

    async fn connection(&mut self) -> Result<&mut (Box<dyn ByteStream>, Vec<u8>), String> {
        if self.conn.is_none() {
            let stream = match &self.transport {
                MatrixTransport::Tcp(addr) => crate::display::Endpoint::Tcp(*addr),
                MatrixTransport::Serial(settings) => crate::display::Endpoint::Serial(settings),
            };
            let stream = crate::display::open_stream(stream, self.timeout).await?;
            self.conn = Some((stream, Vec::new()));
        }
        self.conn.as_mut().ok_or_else(|| "not connected".to_owned())
    }

    /// Sends one command and returns its answer, skipping banners and front-panel messages.
    async fn ask(&mut self, command: Command) -> Result<Response, String> {
        let timeout = self.timeout;
        let monitor = self.monitor.clone();
        let (stream, buf) = self.connection().await?;
        let text = command.encode();
        if let Some((monitor, device)) = &monitor {
            monitor.record(device, Direction::Out, text.as_bytes(), || text.trim_end().to_owned());
        }
        stream.write_all(text.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            while let Some(line) = codec::take_line(buf) {
                if let Some((monitor, device)) = &monitor {
                    monitor.record(device, Direction::In, line.as_bytes(), || line.clone());
                }
                match Response::parse(&line) {
                    Response::Banner(_) | Response::Other(_) => {}
                    Response::Error(e) => return Err(e.to_string()),
                    r => return Ok(r),
                }
            }
            let mut chunk = [0u8; 256];
            let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
                .await
                .map_err(|_| "no answer in time".to_owned())?
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("the matrix closed the connection".into());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn read(&mut self) -> Result<DisplayState, String> {
        let mut tied: Option<u16> = None;
        for output in self.outputs.clone() {
            match self.ask(Command::ReadTie { output }).await? {
                Response::Input(i) if tied.is_none_or(|t| t == i) => tied = Some(i),
                // Outputs disagree: report none, so the driver ties them again.
                Response::Input(_) => return Ok(DisplayState::default()),
                other => return Err(format!("unexpected answer {other:?}")),
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

    async fn apply(&mut self, want: &DisplayState) -> Result<DisplayState, String> {
        if let Some(input) = &want.input {
            let input: u16 =
                input.trim().parse().map_err(|_| format!("`{input}` is not a matrix input number"))?;
            for output in self.outputs.clone() {
                self.ask(Command::Tie { input, output, kind: TieKind::All }).await?;
            }
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
