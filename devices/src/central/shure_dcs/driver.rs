//! The Shure central unit's driver: one TCP connection to port 3142 around the sans-IO
//! [`DcsCore`]. It writes what the core sends, feeds it every line, sleeps until its
//! deadline, reconnects with back-off when the link fails or goes silent, hands the
//! changes made at the unit to the daemon, and keeps the health the technician sees.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::super::{CentralHandle, DriverSide, SeatReport, UnitFloor};
use super::codec::{self, Taken};
use super::core::{CoreSettings, DcsCore};
use crate::health::DeviceHealth;
use crate::link_io::{self, LinkError};
use crate::monitor::{Direction, FrameMonitor};
use crate::serial::Backoff;

/// Starts the driver for the unit at `addr`; changes made at the unit go to `reports`
/// with `name`. Frames go to `monitor` when someone listens.
pub fn spawn(
    name: &str,
    addr: SocketAddr,
    settings: CoreSettings,
    reports: mpsc::Sender<(String, SeatReport)>,
    monitor: Option<FrameMonitor>,
    cancel: CancellationToken,
) -> (CentralHandle, tokio::task::JoinHandle<()>) {
    let (handle, side) = CentralHandle::new(name, "shure_dcs", format!("tcp {addr}"));
    let DriverSide { desired, seen, health } = side;
    let link = Link { name: name.to_owned(), addr, reports, monitor, health, seen };
    let task = tokio::spawn(link.run(DcsCore::new(settings), desired, cancel));
    (handle, task)
}

struct Link {
    name: String,
    addr: SocketAddr,
    reports: mpsc::Sender<(String, SeatReport)>,
    monitor: Option<FrameMonitor>,
    health: Arc<Mutex<DeviceHealth>>,
    seen: Arc<Mutex<Option<UnitFloor>>>,
}

const CONNECT: Duration = Duration::from_secs(3);

impl Link {
    fn health(&self, f: impl FnOnce(&mut DeviceHealth)) {
        f(&mut self.health.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// The core's counters and state into the health.
    fn publish(&self, core: &mut DcsCore, silent: u64) {
        let c = core.counters();
        let problem = core.take_problem();
        let state = core.synced().then(|| {
            let mut s = core.seen().describe();
            if core.mode() != Some(codec::MicMode::Manual) {
                s.push_str(&format!("; mode {}", core.mode().map_or("unknown", |m| m.word())));
            }
            if !core.passive().is_empty() {
                let lost: Vec<String> = core.passive().iter().map(|n| n.to_string()).collect();
                s.push_str(&format!("; units lost: {}", lost.join(", ")));
            }
            s
        });
        self.health(|h| {
            h.counters.sent = c.sent;
            h.counters.completed = c.confirmed;
            h.counters.errors = c.command_errors + c.malformed;
            h.counters.timeouts = c.ignored + silent;
            h.state = state;
            if let Some(p) = problem {
                h.failed(p, false);
            }
        });
        if let Ok(mut seen) = self.seen.lock() {
            *seen = core.synced().then(|| core.seen().clone());
        }
    }

    fn record(&self, direction: Direction, text: &str) {
        if let Some(monitor) = &self.monitor {
            // The protocol is text: the line itself is the decoding.
            let line = text.trim_end().to_owned();
            monitor.record(&self.name, direction, text.as_bytes(), || line.clone());
        }
    }

    async fn run(
        self,
        mut core: DcsCore,
        mut desired: watch::Receiver<UnitFloor>,
        cancel: CancellationToken,
    ) {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        let mut silent = 0;
        loop {
            let connected = tokio::select! {
                _ = cancel.cancelled() => return,
                c = tokio::time::timeout(CONNECT, TcpStream::connect(self.addr)) => c,
            };
            let error = match connected {
                Ok(Ok(stream)) => {
                    self.health(|h| {
                        h.counters.connects += 1;
                        h.answered();
                    });
                    match self
                        .session(stream, &mut core, &mut desired, &cancel, &mut backoff, &mut silent)
                        .await
                    {
                        None => return,
                        Some(e) => e,
                    }
                }
                Ok(Err(e)) => LinkError::Connect(e).to_string(),
                Err(_) => LinkError::ConnectTimeout.to_string(),
            };
            self.health(|h| h.failed(error.clone(), true));
            if let Ok(mut seen) = self.seen.lock() {
                *seen = None;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(backoff.next_delay()) => {}
            }
        }
    }

    /// One connection; `None` when cancelled, else why it ended.
    async fn session(
        &self,
        mut stream: TcpStream,
        core: &mut DcsCore,
        desired: &mut watch::Receiver<UnitFloor>,
        cancel: &CancellationToken,
        backoff: &mut Backoff,
        silent: &mut u64,
    ) -> Option<String> {
        let _ = stream.set_nodelay(true);
        let mut buf = Vec::new();
        core.connected(std::time::Instant::now());
        loop {
            core.set_desired(desired.borrow_and_update().clone());
            let now = std::time::Instant::now();
            let mut out = String::new();
            while let Some(command) = core.poll_transmit(now) {
                out.push_str(&command.encode());
            }
            if !out.is_empty() {
                if let Err(e) = stream.write_all(out.as_bytes()).await {
                    return Some(LinkError::Write(e).to_string());
                }
                self.record(Direction::Out, &out);
            }
            while let Some(report) = core.poll_report() {
                if self.reports.send((self.name.clone(), report)).await.is_err() {
                    return None;
                }
            }
            // A unit that accepts and then fails at once is retried with back-off: the
            // delay starts over only once it has been read.
            if core.synced() {
                backoff.reset();
            }
            self.publish(core, *silent);
            let deadline = core.poll_timeout().map_or_else(
                || tokio::time::Instant::now() + Duration::from_secs(3600),
                tokio::time::Instant::from_std,
            );
            let take = |buf: &mut Vec<u8>| Ok::<_, Infallible>(codec::take_line(buf));
            let taken = tokio::select! {
                _ = cancel.cancelled() => return None,
                changed = desired.changed() => if changed.is_err() { return None } else { continue },
                read = link_io::read_frame(&mut stream, &mut buf, deadline, take) => match read {
                    Ok(taken) => taken,
                    Err(LinkError::Timeout) => {
                        if core.on_timeout(std::time::Instant::now()).is_err() {
                            *silent += 1;
                            return Some("no answer to mic_status: the unit is silent".into());
                        }
                        continue;
                    }
                    Err(e) => return Some(e.to_string()),
                },
            };
            // Every line that came with it, before anything is sent again.
            let mut next = Some(taken);
            while let Some(taken) = next {
                let now = std::time::Instant::now();
                match taken {
                    Taken::Line(text) => {
                        self.record(Direction::In, &text);
                        self.health(DeviceHealth::answered);
                        core.receive(&text, now);
                    }
                    Taken::Overlong => core.overlong(),
                }
                next = codec::take_line(&mut buf);
            }
        }
    }
}
