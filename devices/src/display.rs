//! The driver shared by displays, projectors and switchers (PJLink, Samsung MDC, Extron
//! SIS): it holds the desired state (power, input), applies it through a protocol link,
//! reads the device back at intervals, re-applies when the device changed on its own or
//! came back after a fault, and reports health. Protocols implement [`DisplayLink`].

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::health::DeviceHealth;
use crate::link_io::{ByteStream, LinkError};
use crate::serial::Backoff;

/// What a display shows (or a switcher output carries). `None` fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayState {
    /// Power on (`false`: standby).
    pub power: Option<bool>,
    /// The selected input, in the protocol's own words: PJLink `31`, MDC `HDMI1` (`0x21`),
    /// Extron input number `3`.
    pub input: Option<String>,
}

impl DisplayState {
    /// Whether `observed` shows everything this state asks for.
    pub fn satisfied_by(&self, observed: &DisplayState) -> bool {
        self.power.is_none_or(|p| observed.power == Some(p))
            && self
                .input
                .as_ref()
                .is_none_or(|i| observed.input.as_ref().is_some_and(|o| o.eq_ignore_ascii_case(i)))
    }

    /// `power on, input 31` for health.
    pub fn describe(&self) -> String {
        let power = match self.power {
            Some(true) => "power on",
            Some(false) => "standby",
            None => "power unknown",
        };
        match &self.input {
            Some(i) => format!("{power}, input {i}"),
            None => power.to_owned(),
        }
    }
}

/// Where a byte-stream device is reached: MDC displays and Extron matrices alike.
pub(crate) enum Endpoint<'a> {
    /// TCP, without Nagle's delay.
    Tcp(std::net::SocketAddr),
    /// A serial port.
    Serial(&'a crate::serial::SerialSettings),
}

/// Opens the endpoint (a TCP connection within `timeout`).
pub(crate) async fn open_stream(
    endpoint: Endpoint<'_>,
    timeout: Duration,
) -> Result<Box<dyn ByteStream>, LinkError> {
    match endpoint {
        Endpoint::Tcp(addr) => {
            let stream = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr))
                .await
                .map_err(|_| LinkError::ConnectTimeout)?
                .map_err(LinkError::Connect)?;
            let _ = stream.set_nodelay(true);
            Ok(Box::new(stream))
        }
        Endpoint::Serial(settings) => {
            Ok(Box::new(crate::serial::open(settings).map_err(LinkError::Connect)?))
        }
    }
}

/// An open byte stream and what was read from it but not yet taken.
pub(crate) type Connection = (Box<dyn ByteStream>, Vec<u8>);

/// The open connection in `conn`, opened first if there is none (or it was reset).
pub(crate) async fn reuse_or_open<'c>(
    conn: &'c mut Option<Connection>,
    endpoint: Endpoint<'_>,
    timeout: Duration,
) -> Result<&'c mut Connection, LinkError> {
    match conn {
        Some(open) => Ok(open),
        None => Ok(conn.insert((open_stream(endpoint, timeout).await?, Vec::new()))),
    }
}

/// One protocol's way to a device.
pub trait DisplayLink: Send + 'static {
    /// Protocol family for health (`pjlink`, `mdc`, `extron`).
    fn kind(&self) -> &'static str;
    /// Where the device is.
    fn address(&self) -> String;
    /// Sets what `want` asks for and returns what the device then reports.
    fn apply(&mut self, want: &DisplayState) -> impl Future<Output = Result<DisplayState, LinkError>> + Send;
    /// Reads power and input.
    fn observe(&mut self) -> impl Future<Output = Result<DisplayState, LinkError>> + Send;
    /// Drops any open connection (after an error), so the next call reconnects.
    fn reset(&mut self);
}

/// Test actions on a display or switcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayAction {
    /// Power on or standby.
    Power(bool),
    /// Select an input (the director takes over again at its next change).
    Input(String),
    /// Read power and input.
    Status,
}

type Reply = oneshot::Sender<Result<DisplayState, LinkError>>;

/// The daemon's handle on a running display driver.
#[derive(Clone)]
pub struct DisplayHandle {
    desired: watch::Sender<DisplayState>,
    actions: mpsc::Sender<(DisplayAction, Reply)>,
    health: Arc<Mutex<DeviceHealth>>,
}

impl DisplayHandle {
    /// Sets what the device should show.
    pub fn set_desired(&self, state: DisplayState) {
        self.desired.send_if_modified(|d| {
            let changed = *d != state;
            *d = state;
            changed
        });
    }

    /// What the director wants now.
    pub fn desired(&self) -> DisplayState {
        self.desired.borrow().clone()
    }

    /// Runs a test action; answers with the state the device reports afterwards.
    pub async fn action(&self, action: DisplayAction) -> Result<DisplayState, LinkError> {
        let (tx, rx) = oneshot::channel();
        self.actions.send((action, tx)).await.map_err(|_| LinkError::Stopped)?;
        rx.await.map_err(|_| LinkError::Stopped)?
    }

    /// Health now.
    pub fn health(&self) -> DeviceHealth {
        self.health.lock().map(|h| h.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }
}

/// Starts the driver task for `link`, polling every `poll` while idle.
pub fn spawn<L: DisplayLink>(
    name: &str,
    link: L,
    poll: Duration,
    cancel: CancellationToken,
) -> (DisplayHandle, tokio::task::JoinHandle<()>) {
    let (desired, desired_rx) = watch::channel(DisplayState::default());
    let (actions, actions_rx) = mpsc::channel(8);
    let health = Arc::new(Mutex::new(DeviceHealth::new(name, link.kind(), link.address())));
    let task = tokio::spawn(run(link, poll, health.clone(), desired_rx, actions_rx, cancel));
    (DisplayHandle { desired, actions, health }, task)
}

async fn run<L: DisplayLink>(
    mut link: L,
    poll: Duration,
    health: Arc<Mutex<DeviceHealth>>,
    mut desired: watch::Receiver<DisplayState>,
    mut actions: mpsc::Receiver<(DisplayAction, Reply)>,
    cancel: CancellationToken,
) {
    let update = |f: &mut dyn FnMut(&mut DeviceHealth)| {
        let mut h = health.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut h);
    };
    let record = |result: &Result<DisplayState, LinkError>, link: &mut L| match result {
        Ok(state) => update(&mut |h| {
            h.answered();
            h.counters.completed += 1;
            h.state = Some(state.describe());
        }),
        Err(e) => {
            link.reset();
            update(&mut |h| {
                h.failed(e.to_string(), !e.device_answered());
                match e {
                    LinkError::Timeout => h.counters.timeouts += 1,
                    _ => h.counters.errors += 1,
                }
            });
        }
    };
    // The desired state already carried out (`None`: not yet, or the device drifted).
    let mut applied: Option<DisplayState> = None;
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    let mut next_try = Instant::now();
    let mut next_poll = Instant::now() + poll;
    // A technician's test action holds until the director's next change.
    let mut held = false;
    loop {
        let want = desired.borrow_and_update().clone();
        let pending = applied.as_ref() != Some(&want) && want != DisplayState::default();
        if pending && Instant::now() >= next_try {
            update(&mut |h| h.counters.sent += 1);
            let result = link.apply(&want).await;
            record(&result, &mut link);
            match result {
                Ok(observed) if want.satisfied_by(&observed) => {
                    applied = Some(want);
                    backoff.reset();
                }
                Ok(observed) => {
                    update(&mut |h| {
                        h.failed(
                            format!(
                                "asked for {}, the device shows {}",
                                want.describe(),
                                observed.describe()
                            ),
                            false,
                        )
                    });
                    next_try = Instant::now() + backoff.next_delay();
                }
                Err(_) => next_try = Instant::now() + backoff.next_delay(),
            }
            next_poll = Instant::now() + poll;
            continue;
        }
        let wake = if pending { next_try.min(next_poll) } else { next_poll };
        tokio::select! {
            _ = cancel.cancelled() => return,
            changed = desired.changed() => {
                if changed.is_err() {
                    return;
                }
                next_try = Instant::now();
                held = false;
            }
            Some((action, reply)) = actions.recv() => {
                update(&mut |h| h.counters.sent += 1);
                let result = match &action {
                    DisplayAction::Power(on) => link.apply(&DisplayState { power: Some(*on), input: None }).await,
                    DisplayAction::Input(i) => link.apply(&DisplayState { power: None, input: Some(i.clone()) }).await,
                    DisplayAction::Status => link.observe().await,
                };
                record(&result, &mut link);
                if !matches!(action, DisplayAction::Status) && result.is_ok() {
                    applied = Some(desired.borrow().clone());
                    held = true;
                }
                let _ = reply.send(result);
            }
            _ = tokio::time::sleep_until(wake) => {
                if Instant::now() >= next_poll {
                    next_poll = Instant::now() + poll;
                    update(&mut |h| h.counters.sent += 1);
                    let result = link.observe().await;
                    record(&result, &mut link);
                    match result {
                        // Changed at the device itself, or lost: set it again.
                        Ok(observed) if !held && !want.satisfied_by(&observed) => applied = None,
                        Err(_) => {
                            applied = None;
                            next_try = Instant::now() + backoff.next_delay();
                        }
                        Ok(_) => {}
                    }
                }
            }
        }
    }
}
