//! The Modbus RTU bus driver: one tokio task per bus that only moves bytes and sleeps.
//!
//! Every rule (what to poll and write next, online and offline, debouncing, the periodic
//! rewrite, t3.5 and response deadlines) lives in the pure [`Master`](super::master::Master).
//! This task opens the port (reopening it with back-off), feeds the master what it reads,
//! the desired outputs and the time, writes the frames it hands out, sleeps until its next
//! deadline (on a [`PreciseTimer`]: line silences are tens of microseconds at high speed,
//! tokio's timer ticks in milliseconds), and passes its events, health and benchmark marks on.
//!
//! Outputs are **desired state**: the caller publishes, per unit, the coil and register
//! values the unit should show on a `watch` channel; the master writes only what differs
//! from what the unit last confirmed.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::codec::MAX_ADU_LEN;
use super::master::{Heard, Master, MasterSettings};
use crate::monitor::{Direction, FrameMonitor};
use crate::precise_timer::PreciseTimer;
use crate::serial::{Backoff, Connector, LinkHealth, unix_ms_now};

pub use super::master::Mark;
pub use super::units::{
    Block, BusEvent, BusOutputs, Credential, CredentialKind, CredentialLayout, LineTiming, UnitHealth,
    UnitLayout, UnitOutputs, UnitSpec, UnitStatus,
};

/// How a bus is driven: the rules its master follows, and how the port is reopened.
#[derive(Debug, Clone)]
pub struct BusSettings {
    /// Bus id, speed, timeouts, debounce, resync: everything the [`Master`] decides by.
    pub rules: MasterSettings,
    /// Reconnect back-off.
    pub backoff: Backoff,
}

impl BusSettings {
    /// Defaults for a desk-unit bus (see [`MasterSettings::new`]), default back-off.
    pub fn new(id: &str) -> Self {
        BusSettings { rules: MasterSettings::new(id), backoff: Backoff::default() }
    }
}

/// Health of a bus: its port and its units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusHealth {
    /// Bus id.
    pub bus: String,
    /// The port.
    pub link: LinkHealth,
    /// Completed poll cycles since start.
    pub cycles: u64,
    /// Duration of the last cycle in microseconds.
    pub last_cycle_us: u64,
    /// Per unit, in configuration order.
    pub units: Vec<UnitHealth>,
}

/// The driver of one bus. Build with [`BusDriver::new`], run with [`BusDriver::run`].
pub struct BusDriver<C: Connector> {
    settings: BusSettings,
    bus: Arc<str>,
    connector: C,
    master: Master,
    events: mpsc::Sender<BusEvent>,
    desired_rx: watch::Receiver<Arc<BusOutputs>>,
    /// False once the owner dropped the desired-outputs sender (the last value stays).
    desired_open: bool,
    health_tx: watch::Sender<BusHealth>,
    link: LinkHealth,
    marks: Option<mpsc::UnboundedSender<Mark>>,
    /// Where frames go for the technician's protocol monitor, if anywhere.
    monitor: Option<FrameMonitor>,
    /// Sleep on a timerfd (else on tokio's millisecond timer; only for the benchmark's
    /// comparison).
    precise: bool,
}

impl<C: Connector> BusDriver<C> {
    /// A driver for `units` on the port `connector` opens. Key and unit events go to
    /// `events`; desired outputs come from `desired`. Returns the driver and its health.
    pub fn new(
        settings: BusSettings,
        units: Vec<UnitSpec>,
        connector: C,
        events: mpsc::Sender<BusEvent>,
        mut desired: watch::Receiver<Arc<BusOutputs>>,
    ) -> (Self, watch::Receiver<BusHealth>) {
        let now = Instant::now();
        let mut master = Master::new(settings.rules.clone(), units, now);
        master.set_desired(desired.borrow_and_update().clone(), now);
        let link = LinkHealth { port: connector.describe(), ..LinkHealth::default() };
        let health = BusHealth {
            bus: settings.rules.bus.to_string(),
            link: link.clone(),
            cycles: 0,
            last_cycle_us: 0,
            units: master.unit_health(|_| 0),
        };
        let (health_tx, health_rx) = watch::channel(health);
        let driver = BusDriver {
            bus: settings.rules.bus.clone(),
            settings,
            connector,
            master,
            events,
            desired_rx: desired,
            desired_open: true,
            health_tx,
            link,
            marks: None,
            monitor: None,
            precise: true,
        };
        (driver, health_rx)
    }

    /// Sends the master's benchmark marks to `tx`.
    pub fn with_marks(mut self, tx: mpsc::UnboundedSender<Mark>) -> Self {
        self.master.record_marks(true);
        self.marks = Some(tx);
        self
    }

    /// Sleeps on tokio's millisecond timer instead of a timerfd, as the driver did before
    /// (the benchmark measures both).
    pub fn with_coarse_timer(mut self) -> Self {
        self.precise = false;
        self
    }

    /// Reports every frame written and read to `monitor` (costs nothing while nobody
    /// listens to it).
    pub fn with_monitor(mut self, monitor: FrameMonitor) -> Self {
        self.monitor = Some(monitor);
        self
    }

    /// Runs until `cancel` fires: opens the port, polls, and reopens it with back-off
    /// after every failure.
    pub async fn run(mut self, cancel: CancellationToken) {
        let mut backoff = self.settings.backoff.clone();
        let mut failures_logged = 0u32;
        loop {
            let attempt = tokio::select! {
                _ = cancel.cancelled() => return,
                attempt = self.connector.connect() => attempt,
            };
            match attempt {
                Ok(mut port) => {
                    backoff.reset();
                    failures_logged = 0;
                    tracing::info!(bus = %self.bus, port = %self.link.port, "bus port open");
                    self.link.connected = true;
                    self.master.port_opened(Instant::now());
                    let error = tokio::select! {
                        _ = cancel.cancelled() => return,
                        error = self.session(&mut port) => error,
                    };
                    tracing::warn!(bus = %self.bus, port = %self.link.port, %error, "bus port lost; reopening");
                    self.link.connected = false;
                    self.link.disconnects += 1;
                    self.link.last_error = Some(error.to_string());
                    self.master.port_lost(Instant::now());
                }
                Err(error) => {
                    self.link.open_failures += 1;
                    self.link.last_error = Some(error.to_string());
                    // Say it once loudly, then quietly: an unplugged adapter is retried forever.
                    if failures_logged == 0 {
                        tracing::warn!(bus = %self.bus, port = %self.link.port, %error, "cannot open bus port; retrying");
                    } else {
                        tracing::debug!(bus = %self.bus, %error, "cannot open bus port");
                    }
                    failures_logged += 1;
                    self.master.open_failed(Instant::now());
                }
            }
            self.deliver().await;
            self.publish_health();
            let delay = backoff.next_delay();
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Moves bytes between the port and the master until the port fails; returns the error.
    async fn session(&mut self, port: &mut C::Port) -> io::Error {
        match self.turns(port).await {
            Ok(never) => match never {},
            Err(error) => error,
        }
    }

    /// One turn per wake-up: pass on what the master produced, write what it asks, then
    /// sleep until its deadline, bytes or new desired outputs.
    async fn turns(&mut self, port: &mut C::Port) -> io::Result<std::convert::Infallible> {
        let mut chunk = [0u8; MAX_ADU_LEN];
        let mut timer = if self.precise { PreciseTimer::new() } else { PreciseTimer::coarse() };
        loop {
            self.deliver().await;
            if self.master.take_health_changed() {
                self.publish_health();
            }
            if !self.master.is_awaiting_answer() {
                self.feed_ready_input(port)?;
            }
            let watched = self.monitor.as_ref().is_some_and(FrameMonitor::is_watched);
            self.master.record_heard(watched);
            // A fresh `now`: it ends the turn, and the master counts the turn as processing.
            if let Some(transmit) = self.master.poll_transmit(Instant::now()) {
                // No flush: on a serial port it is tcdrain(), which blocks the thread until
                // the frame has left the UART, and podiumd runs all its tasks on one thread.
                // The master adds the frame's wire time to its deadlines instead.
                port.write_all(transmit.frame).await?;
                if let Some(monitor) = &self.monitor {
                    let (unit, request) = (transmit.unit, transmit.request);
                    monitor.record(&self.bus, Direction::Out, transmit.frame, || {
                        format!("unit {unit}: {request:?}")
                    });
                }
            }
            let deadline = self.master.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => timer.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                read = port.read(&mut chunk) => match read {
                    Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the port closed")),
                    Ok(n) => self.master.handle_input(&chunk[..n], Instant::now()),
                    Err(error) => return Err(error),
                },
                () = sleep => self.master.handle_timeout(Instant::now()),
                changed = self.desired_rx.changed(), if self.desired_open => match changed {
                    Ok(()) => {
                        let desired = self.desired_rx.borrow_and_update().clone();
                        self.master.set_desired(desired, Instant::now());
                    }
                    // The owner is gone: keep the last outputs.
                    Err(_) => self.desired_open = false,
                },
            }
        }
    }

    /// Feeds what the port already holds (noise, a late answer) to the master, which drops
    /// it while no answer is awaited. Never waits.
    fn feed_ready_input(&mut self, port: &mut C::Port) -> io::Result<()> {
        let mut chunk = [0u8; MAX_ADU_LEN];
        loop {
            match read_ready(port, &mut chunk) {
                None => return Ok(()),
                Some(Ok(0)) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the port closed")),
                Some(Ok(n)) => {
                    tracing::debug!(bus = %self.bus, bytes = n, "dropped stale bytes");
                    self.master.handle_input(&chunk[..n], Instant::now());
                }
                Some(Err(error)) => return Err(error),
            }
        }
    }

    /// Passes the master's events to the owner, its marks to the benchmark and what it
    /// heard to the protocol monitor.
    async fn deliver(&mut self) {
        while let Some(event) = self.master.poll_event() {
            match &event {
                BusEvent::UnitOnline { unit, .. } => tracing::info!(bus = %self.bus, unit, "unit online"),
                BusEvent::UnitOffline { unit, .. } => tracing::warn!(bus = %self.bus, unit, "unit offline"),
                _ => {}
            }
            // The owner may be gone at shutdown; the bus keeps its state either way.
            let _ = self.events.send(event).await;
        }
        while let Some(mark) = self.master.poll_mark() {
            if let Some(tx) = &self.marks {
                let _ = tx.send(mark);
            }
        }
        while let Some(heard) = self.master.poll_heard() {
            let Some(monitor) = &self.monitor else { continue };
            match heard {
                Heard::Frame { bytes, unit, response } => {
                    monitor.record(&self.bus, Direction::In, &bytes, || format!("unit {unit}: {response:?}"));
                }
                Heard::Credential { unit } => {
                    // The answer may hold a PIN's digits: never shown.
                    monitor.record(&self.bus, Direction::In, &[], || {
                        format!("unit {unit}: credential (withheld)")
                    });
                }
                Heard::Garbled(bytes) => {
                    monitor.record(&self.bus, Direction::In, &bytes, || "garbled (bad CRC or frame)".into());
                }
                Heard::Incomplete(bytes) => {
                    monitor.record(&self.bus, Direction::In, &bytes, || "incomplete (timeout)".into());
                }
            }
        }
    }

    fn publish_health(&mut self) {
        // Instants become wall-clock time for the technician.
        let (now, unix_now) = (Instant::now(), unix_ms_now());
        let wall = |at: Instant| {
            unix_now - i64::try_from(now.saturating_duration_since(at).as_millis()).unwrap_or(i64::MAX)
        };
        if let Some(at) = self.master.last_answer() {
            self.link.last_frame_unix_ms = Some(wall(at));
        }
        let (cycles, last_cycle) = self.master.cycles();
        let health = BusHealth {
            bus: self.settings.rules.bus.to_string(),
            link: self.link.clone(),
            cycles,
            last_cycle_us: u64::try_from(last_cycle.as_micros()).unwrap_or(u64::MAX),
            units: self.master.unit_health(wall),
        };
        self.health_tx.send_replace(health);
    }
}

/// Reads what is already buffered, without waiting: `None` when nothing is. (A zero
/// timer would wait for the next timer tick, a millisecond.)
fn read_ready<P: tokio::io::AsyncRead + Unpin>(port: &mut P, buf: &mut [u8]) -> Option<io::Result<usize>> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut read = tokio::io::ReadBuf::new(buf);
    match std::pin::Pin::new(port).poll_read(&mut cx, &mut read) {
        std::task::Poll::Ready(Ok(())) => Some(Ok(read.filled().len())),
        std::task::Poll::Ready(Err(error)) => Some(Err(error)),
        std::task::Poll::Pending => None,
    }
}
