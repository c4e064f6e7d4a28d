//! PJLink over TCP: one short connection per exchange (greeting, optional MD5
//! authentication in front of the first command, commands, close), as many projectors
//! accept only one connection and drop idle ones.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::codec::{self, DeviceError, Greeting, Request, Response};
use crate::display::{DisplayLink, DisplayState};
use crate::monitor::{Direction, FrameMonitor};

/// A PJLink projector or display.
#[derive(Debug, Clone)]
pub struct PjlinkLink {
    /// Address and port (default 4352).
    pub addr: SocketAddr,
    /// The PJLink password, if the device asks for one.
    pub password: Option<String>,
    /// Time for each answer (the spec asks devices to answer within 2 s).
    pub timeout: Duration,
    /// Where its frames are shown (the technician's protocol monitor), under a device name.
    pub monitor: Option<(FrameMonitor, String)>,
}

struct Session {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The digest still to send in front of the first command.
    digest: Option<String>,
    timeout: Duration,
    monitor: Option<(FrameMonitor, String)>,
}

impl Session {
    async fn line(&mut self) -> Result<String, String> {
        loop {
            match codec::take_line(&mut self.buf) {
                Ok(Some(line)) => {
                    if let Some((monitor, device)) = &self.monitor {
                        monitor.record(device, Direction::In, line.as_bytes(), || line.clone());
                    }
                    return Ok(line);
                }
                Ok(None) => {}
                Err(e) => return Err(e.to_string()),
            }
            let mut chunk = [0u8; 256];
            let n = tokio::time::timeout(self.timeout, self.stream.read(&mut chunk))
                .await
                .map_err(|_| "no answer in time".to_owned())?
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("the device closed the connection".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn ask(&mut self, command: &str, param: &str) -> Result<Result<String, DeviceError>, String> {
        let digest = self.digest.take();
        let request = Request::new(command, param).encode();
        if let Some((monitor, device)) = &self.monitor {
            // The authentication digest is not shown: it is derived from the password.
            let decoded = || {
                let shown = request.trim_end().to_owned();
                if digest.is_some() { format!("(authenticated) {shown}") } else { shown }
            };
            monitor.record(device, Direction::Out, request.as_bytes(), decoded);
        }
        let mut line = digest.unwrap_or_default();
        line.push_str(&request);
        self.stream.write_all(line.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
        let answer = self.line().await?;
        if Greeting::parse(&answer) == Ok(Greeting::AuthError) {
            return Err("authentication failed: check the PJLink password".into());
        }
        let response = Response::parse(&answer).map_err(|e| e.to_string())?;
        if response.command != command {
            return Err(format!("answer to {} instead of {command}", response.command));
        }
        Ok(response.result)
    }
}

impl PjlinkLink {
    /// A device at `addr` without password, 3 s per answer.
    pub fn new(addr: SocketAddr, password: Option<String>) -> Self {
        PjlinkLink { addr, password, timeout: Duration::from_secs(3), monitor: None }
    }

    /// Shows this device's frames on `monitor` as `device`.
    pub fn monitored(mut self, monitor: FrameMonitor, device: &str) -> Self {
        self.monitor = Some((monitor, device.to_owned()));
        self
    }

    async fn open(&self) -> Result<Session, String> {
        let stream = tokio::time::timeout(self.timeout, TcpStream::connect(self.addr))
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let mut session = Session {
            stream,
            buf: Vec::new(),
            digest: None,
            timeout: self.timeout,
            monitor: self.monitor.clone(),
        };
        let greeting = session.line().await?;
        match Greeting::parse(&greeting).map_err(|e| e.to_string())? {
            Greeting::Open => {}
            Greeting::Auth(random) => {
                let password = self
                    .password
                    .as_deref()
                    .ok_or("the device asks for a PJLink password; none is configured")?;
                session.digest = Some(codec::digest(&random, password));
            }
            Greeting::AuthError => return Err("the device refused the connection (ERRA)".into()),
        }
        Ok(session)
    }

    async fn read_state(session: &mut Session) -> Result<DisplayState, String> {
        let power = match session.ask("POWR", "?").await? {
            Ok(p) => match p.as_str() {
                "1" | "3" => Some(true),
                "0" | "2" => Some(false),
                other => return Err(format!("unknown power state {other:?}")),
            },
            Err(e) => return Err(format!("POWR ?: {e}")),
        };
        // In standby many devices answer ERR3 for the input: unknown, not an error.
        let input = session.ask("INPT", "?").await?.ok();
        Ok(DisplayState { power, input })
    }
}

impl DisplayLink for PjlinkLink {
    fn kind(&self) -> &'static str {
        "pjlink"
    }

    fn address(&self) -> String {
        format!("tcp {}", self.addr)
    }

    async fn apply(&mut self, want: &DisplayState) -> Result<DisplayState, String> {
        let mut session = self.open().await?;
        if let Some(on) = want.power {
            // Only on a change: a repeated power-on must not disturb a warm-up.
            let now = Self::read_state(&mut session).await?;
            if now.power != Some(on) {
                session.ask("POWR", if on { "1" } else { "0" }).await?.map_err(|e| format!("POWR: {e}"))?;
            }
        }
        if let Some(input) = &want.input {
            match session.ask("INPT", input).await? {
                // Warming up: the input is set on a later attempt.
                Ok(_) | Err(DeviceError::Unavailable) => {}
                Err(e) => return Err(format!("INPT {input}: {e}")),
            }
        }
        Self::read_state(&mut session).await
    }

    async fn observe(&mut self) -> Result<DisplayState, String> {
        let mut session = self.open().await?;
        Self::read_state(&mut session).await
    }

    fn reset(&mut self) {}
}
