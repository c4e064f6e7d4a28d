//! Shared helpers for the device tests: real pseudo-terminals behind a symlink (as udev's
//! `/dev/serial/by-id/` links are), a bus driver on them, and waiting for events.

#![allow(dead_code)]

pub mod central;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use podium_devices::modbus::bus::{BusDriver, BusEvent, BusHealth, BusOutputs, BusSettings, UnitSpec};
use podium_devices::modbus::sim::SimBus;
use podium_devices::serial::{Backoff, SerialConnector, SerialSettings};
use tokio::sync::{mpsc, watch};
use tokio_serial::{SerialPort, SerialStream};
use tokio_util::sync::CancellationToken;

/// Generous bound for anything to happen on a loaded machine; never a performance goal.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A pseudo-terminal pair: the simulator serves `master`; the driver opens the slave by
/// path. `keep_open` holds the slave side so the master never sees a hang-up while the
/// driver reopens.
pub struct Pty {
    pub master: Option<SerialStream>,
    pub keep_open: Option<SerialStream>,
    pub path: String,
}

impl Pty {
    pub fn new() -> Pty {
        let (master, slave) = SerialStream::pair().expect("create a pseudo-terminal pair");
        let path = slave.name().expect("the slave side has a name");
        Pty { master: Some(master), keep_open: Some(slave), path }
    }

    /// Closes both ends: the cable is pulled.
    pub fn unplug(&mut self) {
        self.master = None;
        self.keep_open = None;
    }
}

/// A stable link to the current pseudo-terminal, as `/dev/serial/by-id/...` is to a USB adapter.
pub struct Link {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Link {
    pub fn to(target: &str) -> Link {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("usb-Podium_RS485-if00-port0");
        std::os::unix::fs::symlink(target, &path).expect("symlink");
        Link { dir, path }
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }

    pub fn point_to(&self, target: &str) {
        self.remove();
        std::os::unix::fs::symlink(target, &self.path).expect("symlink");
    }
}

/// Short timings so tests run quickly; robustness comes from the waits, not from these.
pub fn test_settings(id: &str) -> BusSettings {
    let mut settings = BusSettings::new(id);
    settings.rules.response_timeout = Duration::from_millis(400);
    settings.rules.offline_after_misses = 3;
    settings.rules.offline_retry = Duration::from_millis(200);
    settings.rules.min_cycle = Duration::from_millis(10);
    settings.backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(400));
    settings
}

/// A running driver and its channels.
pub struct Driver {
    pub events: mpsc::Receiver<BusEvent>,
    pub desired: watch::Sender<Arc<BusOutputs>>,
    pub health: watch::Receiver<BusHealth>,
    pub cancel: CancellationToken,
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

pub fn start_driver(settings: BusSettings, units: Vec<UnitSpec>, path: &Path) -> Driver {
    let (events_tx, events) = mpsc::channel(1024);
    let (desired, desired_rx) = watch::channel(Arc::new(BusOutputs::new()));
    let connector = SerialConnector { settings: SerialSettings::new(path.to_string_lossy()) };
    let (driver, health) = BusDriver::new(settings, units, connector, events_tx, desired_rx);
    let cancel = CancellationToken::new();
    tokio::spawn(driver.run(cancel.clone()));
    Driver { events, desired, health, cancel }
}

/// Serves `sim` on the pty's master until cancelled.
pub fn serve(sim: &SimBus, pty: &mut Pty) -> CancellationToken {
    let cancel = CancellationToken::new();
    let master = pty.master.take().expect("master not yet served");
    let (sim, token) = (sim.clone(), cancel.clone());
    tokio::spawn(async move {
        let _ = sim.serve(master, token).await;
    });
    cancel
}

/// Receives events until one matches, or fails after [`PATIENCE`].
pub async fn expect_event(
    events: &mut mpsc::Receiver<BusEvent>,
    what: &str,
    matches: impl Fn(&BusEvent) -> bool,
) -> BusEvent {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) if matches(&event) => return event,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the driver stopped before: {what}"),
            Err(_) => panic!("no event within {PATIENCE:?}: {what}"),
        }
    }
}

/// Waits until the health satisfies `condition`.
pub async fn expect_health(
    health: &mut watch::Receiver<BusHealth>,
    what: &str,
    condition: impl Fn(&BusHealth) -> bool,
) -> BusHealth {
    let found = match tokio::time::timeout(PATIENCE, health.wait_for(|h| condition(h))).await {
        Ok(Ok(h)) => Some(h.clone()),
        _ => None,
    };
    found.unwrap_or_else(|| panic!("health never showed: {what}; last: {:?}", *health.borrow()))
}

pub async fn all_online(events: &mut mpsc::Receiver<BusEvent>, units: &[u8]) {
    let mut waiting: Vec<u8> = units.to_vec();
    while !waiting.is_empty() {
        let event = expect_event(events, "units online", |e| matches!(e, BusEvent::UnitOnline { .. })).await;
        if let BusEvent::UnitOnline { unit, .. } = event {
            waiting.retain(|u| *u != unit);
        }
    }
}
