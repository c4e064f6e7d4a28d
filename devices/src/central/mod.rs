//! Central units of existing conference systems, driven by Podium as the floor master.
//!
//! A central unit serves many seats and keeps its own microphone and request lists. Podium
//! reads what happens at its seats (a delegate's key, the unit's own changes) and makes
//! its lists match the floor's. Each protocol has a pure codec, a sans-IO core (what to
//! send, what a line means, when the unit has gone silent), a thin driver and a simulator.
//!
//! - [`cocon`]: Televic CoCon (Plixus, Confidea, Confero): REST with a notification long
//!   poll on port 8890.
//! - [`dicentis`]: Bosch DICENTIS: the Conference Protocol, JSON over a WebSocket on port
//!   31416.
//! - [`reconcile`]: what every core shares: the unit's lists against the floor, what to
//!   change next, which changes were made at the unit.
//! - [`shure_dcs`]: Shure / DIS External Control Protocol (DCS 6000, DDS 5900, MXC behind a
//!   DIS-CCU): ASCII lines on TCP 3142.
//!
//! The family shares the vocabulary below: seats are the unit's own seat numbers (the
//! daemon maps them to Podium seats), and what Podium wants is a set of open microphones
//! and a set of waiting requests. Request order stays Podium's: the units carry no position.

pub mod cocon;
pub mod dicentis;
pub mod reconcile;
pub mod shure_dcs;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::health::DeviceHealth;

/// A seat number as the central unit numbers it (Shure: 1-65535).
pub type UnitSeat = u16;

/// A change at one of the unit's seats that Podium did not ask for: a delegate's key, the
/// chair's unit, the unit's web page or another controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatReport {
    /// The unit's seat.
    pub seat: UnitSeat,
    /// What changed there.
    pub change: SeatChange,
}

/// What changed at a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatChange {
    /// Its microphone went on.
    MicOn,
    /// Its microphone went off.
    MicOff,
    /// It entered the unit's request list.
    RequestOn,
    /// It left the unit's request list.
    RequestOff,
}

/// What Podium wants the unit to show: whose microphone is open, who waits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFloor {
    /// Seats whose microphone is on.
    pub speakers: BTreeSet<UnitSeat>,
    /// Seats in the request list.
    pub requests: BTreeSet<UnitSeat>,
}

impl UnitFloor {
    /// In words, for the technician (`on: 3, 7; waiting: 12`).
    pub fn describe(&self) -> String {
        let list = |s: &BTreeSet<UnitSeat>| {
            if s.is_empty() {
                "none".to_owned()
            } else {
                s.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
            }
        };
        format!("on: {}; waiting: {}", list(&self.speakers), list(&self.requests))
    }
}

/// The daemon's handle on a running central-unit driver, whatever its protocol.
#[derive(Clone)]
pub struct CentralHandle {
    desired: watch::Sender<UnitFloor>,
    seen: Arc<Mutex<Option<UnitFloor>>>,
    health: Arc<Mutex<DeviceHealth>>,
}

/// What a driver keeps for its handle: the floor it is to show, and where it puts what it
/// saw and its health.
pub(crate) struct DriverSide {
    pub desired: watch::Receiver<UnitFloor>,
    pub seen: Arc<Mutex<Option<UnitFloor>>>,
    pub health: Arc<Mutex<DeviceHealth>>,
}

/// Counters a driver keeps across connections, beside the reconciler's.
#[derive(Default)]
pub(crate) struct Tally {
    /// Answers or events that did not fit the protocol.
    pub malformed: u64,
    /// Error answers of the unit.
    pub errors: u64,
}

impl DriverSide {
    /// The reconciler's counters and lists, and `tally`, into the health; `problem` as the
    /// last error.
    pub fn publish(&self, lists: &reconcile::Reconciler, tally: &Tally, problem: Option<String>) {
        let c = lists.counters().clone();
        let state = lists.synced().then(|| lists.seen().describe());
        self.health(|h| {
            h.counters.sent = c.sent;
            h.counters.completed = c.confirmed;
            h.counters.timeouts = c.ignored;
            h.counters.errors = tally.malformed + tally.errors;
            h.state = state;
            if let Some(p) = problem {
                h.failed(p, false);
            }
        });
        self.set_seen(lists.synced().then(|| lists.seen().clone()));
    }

    /// A connection ended with `error`: shown, the lists forgotten, then the back-off's wait.
    /// `false` when cancelled meanwhile.
    pub async fn link_lost(
        &self,
        error: &str,
        backoff: &mut crate::serial::Backoff,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> bool {
        self.health(|h| h.failed(error, true));
        self.set_seen(None);
        tokio::select! {
            _ = cancel.cancelled() => false,
            _ = tokio::time::sleep(backoff.next_delay()) => true,
        }
    }

    /// Updates the health.
    pub fn health(&self, f: impl FnOnce(&mut DeviceHealth)) {
        f(&mut self.health.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// The unit's lists as last read (`None`: not connected and read).
    pub fn set_seen(&self, floor: Option<UnitFloor>) {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = floor;
        }
    }
}

impl CentralHandle {
    /// A handle and its driver's side, for a unit of `kind` at `address`.
    pub(crate) fn new(name: &str, kind: &str, address: String) -> (CentralHandle, DriverSide) {
        let (desired, rx) = watch::channel(UnitFloor::default());
        let health = Arc::new(Mutex::new(DeviceHealth::new(name, kind, address)));
        let seen = Arc::new(Mutex::new(None));
        let handle = CentralHandle { desired, seen: seen.clone(), health: health.clone() };
        (handle, DriverSide { desired: rx, seen, health })
    }

    /// What the unit is to show; the driver makes it so, now and after every reconnect.
    pub fn set_desired(&self, floor: UnitFloor) {
        self.desired.send_if_modified(|d| {
            let changed = *d != floor;
            *d = floor;
            changed
        });
    }

    /// The unit's lists as last read (`None` while it is not connected and read).
    pub fn seen(&self) -> Option<UnitFloor> {
        self.seen.lock().ok().and_then(|s| s.clone())
    }

    /// Health now.
    pub fn health(&self) -> DeviceHealth {
        self.health.lock().map(|h| h.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }
}
