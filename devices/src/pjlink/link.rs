//! PJLink over TCP: one short connection per exchange (greeting, optional MD5
//! authentication in front of the first command, commands, close), as many projectors
//! accept only one connection and drop idle ones.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use super::codec::{self, DeviceError, Greeting, Request, Response};
use crate::display::{DisplayLink, DisplayState, Endpoint};
use crate::link_io::{self, ByteStream, LinkError};
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
    stream: Box<dyn ByteStream>,
    buf: Vec<u8>,
    /// The digest still to send in front of the first command.
    digest: Option<String>,
    timeout: Duration,
    monitor: Option<(FrameMonitor, String)>,
}

impl Session {
    async fn line(&mut self) -> Result<String, LinkError> {
        let deadline = Instant::now() + self.timeout;
        let line = link_io::read_frame(&mut self.stream, &mut self.buf, deadline, codec::take_line).await?;
        if let Some((monitor, device)) = &self.monitor {
            monitor.record(device, Direction::In, line.as_bytes(), || line.clone());
        }
        Ok(line)
    }

    /// Sends `command param` and returns the device's answer: its parameter or its error code.
    async fn ask(&mut self, command: &str, param: &str) -> Result<Result<String, DeviceError>, LinkError> {
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
        self.stream.write_all(line.as_bytes()).await.map_err(LinkError::Write)?;
        let answer = self.line().await?;
        if Greeting::parse(&answer) == Ok(Greeting::AuthError) {
            return Err(LinkError::Authentication("check the PJLink password".into()));
        }
        let response = Response::parse(&answer).map_err(LinkError::protocol)?;
        if response.command != command {
            return Err(LinkError::Protocol(format!("answer to {} instead of {command}", response.command)));
        }
        Ok(response.result)
    }

    /// [`Session::ask`], where an error code is a refusal.
    async fn require(&mut self, command: &str, param: &str) -> Result<String, LinkError> {
        self.ask(command, param).await?.map_err(|e| refused(command, param, e))
    }
}

fn refused(command: &str, param: &str, error: DeviceError) -> LinkError {
    LinkError::Refused { request: format!("{command} {param}"), reason: error.to_string() }
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

    async fn open(&self) -> Result<Session, LinkError> {
        let stream = crate::display::open_stream(Endpoint::Tcp(self.addr), self.timeout).await?;
        let mut session = Session {
            stream,
            buf: Vec::new(),
            digest: None,
            timeout: self.timeout,
            monitor: self.monitor.clone(),
        };
        let greeting = session.line().await?;
        match Greeting::parse(&greeting).map_err(LinkError::protocol)? {
            Greeting::Open => {}
            Greeting::Auth(random) => {
                let password = self.password.as_deref().ok_or_else(|| {
                    LinkError::Authentication(
                        "the device asks for a PJLink password; none is configured".into(),
                    )
                })?;
                session.digest = Some(codec::digest(&random, password));
            }
            Greeting::AuthError => {
                return Err(LinkError::Authentication("the device refused the connection (ERRA)".into()));
            }
        }
        Ok(session)
    }

    async fn read_state(session: &mut Session) -> Result<DisplayState, LinkError> {
        let power = match session.require("POWR", "?").await?.as_str() {
            "1" | "3" => Some(true),
            "0" | "2" => Some(false),
            other => return Err(LinkError::Protocol(format!("unknown power state {other:?}"))),
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

    async fn apply(&mut self, want: &DisplayState) -> Result<DisplayState, LinkError> {
        let mut session = self.open().await?;
        if let Some(on) = want.power {
            // Only on a change: a repeated power-on must not disturb a warm-up.
            let now = Self::read_state(&mut session).await?;
            if now.power != Some(on) {
                session.require("POWR", if on { "1" } else { "0" }).await?;
            }
        }
        if let Some(input) = &want.input {
            match session.ask("INPT", input).await? {
                // Warming up: the input is set on a later attempt.
                Ok(_) | Err(DeviceError::Unavailable) => {}
                Err(e) => return Err(refused("INPT", input, e)),
            }
        }
        Self::read_state(&mut session).await
    }

    async fn observe(&mut self) -> Result<DisplayState, LinkError> {
        let mut session = self.open().await?;
        Self::read_state(&mut session).await
    }

    fn reset(&mut self) {}
}
