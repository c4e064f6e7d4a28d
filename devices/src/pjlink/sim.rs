//! A simulated PJLink class 1 projector on TCP, with optional MD5 authentication, a
//! warm-up time, a list of inputs, and a switch that makes it drop every connection (an
//! unplugged device).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::codec::{self, DeviceError, Greeting, Request, Response};

/// What the simulated projector shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectorStatus {
    /// `0` standby, `1` on, `2` cooling, `3` warm-up.
    pub power: u8,
    /// The selected input, e.g. `31`.
    pub input: String,
    /// Commands answered.
    pub commands: u64,
    /// Failed authentications.
    pub auth_failures: u64,
}

struct Config {
    password: Option<String>,
    inputs: Vec<String>,
    online: bool,
    warm_up: Duration,
    salt: u32,
}

/// A simulated projector; clone it to control it while it serves.
#[derive(Clone)]
pub struct SimProjector {
    config: Arc<Mutex<Config>>,
    status: watch::Sender<ProjectorStatus>,
}

impl SimProjector {
    /// A projector in standby on input `11`, with inputs 11, 31, 32, 52, no warm-up.
    pub fn new(password: Option<&str>) -> Self {
        let config = Config {
            password: password.map(str::to_owned),
            inputs: ["11", "31", "32", "52"].map(String::from).to_vec(),
            online: true,
            warm_up: Duration::ZERO,
            salt: 0,
        };
        let status = ProjectorStatus { power: 0, input: "11".into(), commands: 0, auth_failures: 0 };
        SimProjector { config: Arc::new(Mutex::new(config)), status: watch::channel(status).0 }
    }

    fn config(&self) -> std::sync::MutexGuard<'_, Config> {
        self.config.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `false`: every connection is closed at once (an unplugged device).
    pub fn set_online(&self, online: bool) {
        self.config().online = online;
    }

    /// Time in warm-up (`POWR=3`, inputs refused with ERR3) after power on.
    pub fn set_warm_up(&self, warm_up: Duration) {
        self.config().warm_up = warm_up;
    }

    /// Selects an input at the device itself (its remote control).
    pub fn set_input_locally(&self, input: &str) {
        self.status.send_modify(|s| s.input = input.to_owned());
    }

    /// The state now.
    pub fn status(&self) -> ProjectorStatus {
        self.status.borrow().clone()
    }

    /// Waits until `ready` holds; `false` after `timeout`.
    pub async fn wait_for(&self, timeout: Duration, ready: impl Fn(&ProjectorStatus) -> bool) -> bool {
        let mut rx = self.status.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|s| ready(s))).await.is_ok_and(|r| r.is_ok())
    }

    /// Serves on `addr` (port 0: any free port); returns the address.
    pub async fn serve(&self, addr: SocketAddr, cancel: CancellationToken) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let sim = self.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = cancel.cancelled() => return,
                    a = listener.accept() => a,
                };
                let Ok((stream, _)) = accepted else { continue };
                if !sim.config().online {
                    drop(stream);
                    continue;
                }
                let (sim, cancel) = (sim.clone(), cancel.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        _ = cancel.cancelled() => {}
                        _ = sim.connection(stream) => {}
                    }
                });
            }
        });
        Ok(local)
    }

    async fn connection(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let random = {
            let mut c = self.config();
            let mut bytes = [0u8; 4];
            if getrandom::getrandom(&mut bytes).is_err() {
                c.salt = c.salt.wrapping_mul(1_103_515_245).wrapping_add(12345);
                bytes = c.salt.to_be_bytes();
            }
            c.password.as_ref().map(|_| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
        };
        let greeting = match &random {
            Some(r) => Greeting::Auth(r.clone()),
            None => Greeting::Open,
        };
        stream.write_all(greeting.encode().as_bytes()).await?;
        let mut authenticated = random.is_none();
        let mut buf = Vec::new();
        loop {
            let line = loop {
                match codec::take_line(&mut buf) {
                    Ok(Some(line)) => break line,
                    Ok(None) => {}
                    Err(_) => continue,
                }
                let mut chunk = [0u8; 256];
                let n = stream.read(&mut chunk).await?;
                if n == 0 || !self.config().online {
                    return Ok(());
                }
                buf.extend_from_slice(&chunk[..n]);
            };
            let mut line = line.as_str();
            if !authenticated {
                let expected = random
                    .as_deref()
                    .map(|r| codec::digest(r, self.config().password.as_deref().unwrap_or("")));
                let (given, rest) = line.split_at(line.len().min(32));
                if Some(given) != expected.as_deref() {
                    self.status.send_modify(|s| s.auth_failures += 1);
                    stream.write_all(Greeting::AuthError.encode().as_bytes()).await?;
                    return Ok(());
                }
                authenticated = true;
                line = rest;
            }
            let answer = match Request::parse(line) {
                Ok(request) => self.answer(&request),
                // Unparseable: answer as an undefined command if the name is readable.
                Err(_) => Response {
                    class: 1,
                    command: line.get(2..6).unwrap_or("????").to_owned(),
                    result: Err(DeviceError::Undefined),
                },
            };
            self.status.send_modify(|s| s.commands += 1);
            stream.write_all(answer.encode().as_bytes()).await?;
        }
    }

    fn answer(&self, r: &Request) -> Response {
        let result =
            if r.class != 1 { Err(DeviceError::Undefined) } else { self.class1(&r.command, &r.param) };
        Response { class: r.class, command: r.command.clone(), result }
    }

    fn class1(&self, command: &str, param: &str) -> Result<String, DeviceError> {
        let ok = || Ok("OK".to_owned());
        let status = self.status();
        match (command, param) {
            ("POWR", "?") => Ok(status.power.to_string()),
            ("POWR", "1") if matches!(status.power, 1 | 3) => ok(),
            ("POWR", "1") => {
                let warm_up = self.config().warm_up;
                if warm_up.is_zero() {
                    self.status.send_modify(|s| s.power = 1);
                } else {
                    self.status.send_modify(|s| s.power = 3);
                    let status = self.status.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(warm_up).await;
                        status.send_modify(|s| s.power = 1);
                    });
                }
                ok()
            }
            ("POWR", "0") => {
                self.status.send_modify(|s| s.power = 0);
                ok()
            }
            ("POWR", _) => Err(DeviceError::OutOfParameter),
            ("INPT", _) if status.power != 1 => Err(DeviceError::Unavailable),
            ("INPT", "?") => Ok(status.input),
            ("INPT", input) if self.config().inputs.iter().any(|i| i == input) => {
                self.status.send_modify(|s| s.input = input.to_owned());
                ok()
            }
            ("INPT", _) => Err(DeviceError::OutOfParameter),
            ("AVMT", "?") => Ok("30".into()),
            ("ERST", "?") => Ok("000000".into()),
            ("LAMP", "?") => Ok(format!("1234 {}", u8::from(status.power == 1))),
            ("INST", "?") => Ok(self.config().inputs.join(" ")),
            ("NAME", "?") => Ok("Podium simulated projector".into()),
            ("INF1", "?") => Ok("Podium".into()),
            ("INF2", "?") => Ok("SimProjector".into()),
            ("INFO", "?") => Ok(String::new()),
            ("CLSS", "?") => Ok("1".into()),
            _ => Err(DeviceError::Undefined),
        }
    }
}
