//! Desk units: the daemon side of Modbus RTU buses.
//!
//! ```text
//!  bus driver ──BusEvent──▶ translate::command ──Command──▶ session owner
//!      ▲                                                          │ snapshot (watch)
//!      └──desired outputs (watch)── outputs::desired_outputs ◀────┘
//! ```
//!
//! [`start`] starts one driver task per `[[bus]]` (from `podium-devices`), the translator
//! (key edges → engine commands through [`mapping`]) and the director, which recomputes
//! every unit's desired outputs from each new snapshot with the pure
//! [`outputs::desired_outputs`] and hands them to the drivers, which reconcile them with
//! what the units confirmed. A bus with `simulated = true` runs simulated desk units on a
//! pseudo-terminal pair inside the daemon (`podiumd demo`): the driver still opens a real
//! tty and speaks real RTU frames.

pub mod mapping;
pub mod outputs;
pub mod report;
pub mod translate;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use podium_devices::modbus::bus::{BusDriver, BusEvent, BusHealth, BusOutputs, BusSettings};
use podium_devices::modbus::sim::{SimBus, SimUnit};
use podium_devices::serial::{SerialConnector, SerialSettings};
use podium_floor::{Command, SeatNo};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::RoomConfig;
use crate::session::{Answer, CommandError, SessionClosed, SessionHandle, Source};
use mapping::{BusPlan, DeskMap, UnitRole};
use report::DevicesReport;

/// Longest lamp test, in seconds.
pub const MAX_TEST_SECONDS: u16 = 60;

/// Lamp tests in progress: until when each (bus, unit) blinks.
type Tests = BTreeMap<(String, u8), tokio::time::Instant>;

/// A cloneable handle for the API: health, lamp tests, simulated units.
#[derive(Clone)]
pub struct Desks {
    inner: Arc<Inner>,
}

struct Inner {
    map: DeskMap,
    health: Vec<watch::Receiver<BusHealth>>,
    tests: watch::Sender<Tests>,
    simulated: BTreeMap<String, SimBus>,
}

/// What a lamp test is for.
#[derive(Debug, Clone)]
pub enum TestTarget {
    /// Every unit serving this seat.
    Seat(SeatNo),
    /// One unit.
    Unit {
        /// Bus id.
        bus: String,
        /// Unit address.
        unit: u8,
    },
    /// Every unit of the room.
    All,
}

impl Desks {
    /// Health of every bus and unit.
    pub fn report(&self) -> DevicesReport {
        let buses = self
            .inner
            .map
            .buses
            .iter()
            .zip(&self.inner.health)
            .map(|(plan, health)| report::bus_report(plan, &health.borrow()))
            .collect();
        DevicesReport { buses }
    }

    /// Blinks every lamp of the target's units for `seconds` (the microphone relay stays as
    /// the floor says). Returns the units, or `None` if the target has none.
    pub fn test(&self, target: &TestTarget, seconds: u16) -> Option<Vec<(String, u8)>> {
        let units: Vec<(String, u8)> = match target {
            TestTarget::Seat(seat) => self.inner.map.units_of_seat(*seat),
            TestTarget::Unit { bus, unit } => {
                self.inner.map.unit(bus, *unit).map(|_| vec![(bus.clone(), *unit)]).unwrap_or_default()
            }
            TestTarget::All => self
                .inner
                .map
                .buses
                .iter()
                .flat_map(|b| b.units.iter().map(|u| (b.config.id.clone(), u.unit)))
                .collect(),
        };
        if units.is_empty() {
            return None;
        }
        let until =
            tokio::time::Instant::now() + Duration::from_secs(u64::from(seconds.min(MAX_TEST_SECONDS)));
        self.inner.tests.send_modify(|tests| {
            for unit in &units {
                tests.insert(unit.clone(), until);
            }
        });
        Some(units)
    }

    /// The simulated desk units of a bus (`None`: the only simulated bus, if exactly one).
    pub fn simulated(&self, bus: Option<&str>) -> Option<(String, SimBus)> {
        match bus {
            Some(id) => self.inner.simulated.get(id).map(|s| (id.to_owned(), s.clone())),
            None if self.inner.simulated.len() == 1 => {
                self.inner.simulated.iter().next().map(|(id, s)| (id.clone(), s.clone()))
            }
            None => None,
        }
    }

    /// Ids of the simulated buses.
    pub fn simulated_buses(&self) -> Vec<String> {
        self.inner.simulated.keys().cloned().collect()
    }

    /// The mapping (for tests and diagnostics).
    pub fn map(&self) -> &DeskMap {
        &self.inner.map
    }
}

fn bus_settings(plan: &BusPlan) -> BusSettings {
    let c = &plan.config;
    let mut settings = BusSettings::new(&c.id);
    settings.rules.baud = c.serial.baud;
    settings.rules.response_timeout = Duration::from_millis(u64::from(c.timeout_ms));
    settings.rules.offline_after_misses = c.offline_after_misses;
    settings.rules.debounce = Duration::from_millis(u64::from(c.debounce_ms));
    settings.rules.min_cycle = Duration::from_millis(u64::from(c.cycle_ms));
    settings.rules.priority_every = c.priority_every;
    // A bus that rests to save CPU (a long `cycle_ms`) polls its priority units at most four
    // times per cycle during the rest; a real bus (20 ms) every 5 ms.
    settings.rules.priority_interval = (settings.rules.min_cycle / 4).max(Duration::from_millis(5));
    settings
}

/// Simulated units for a bus: a Podium desk unit per desk unit, a plain module (big
/// enough for its mapped addresses) per generic module.
fn simulated_units(plan: &BusPlan) -> Vec<(u8, SimUnit)> {
    plan.units
        .iter()
        .map(|u| {
            let sim = match &u.role {
                UnitRole::Desk { chair, .. } => SimUnit::desk(*chair),
                UnitRole::Module { .. } => {
                    let end = |b: Option<podium_devices::modbus::bus::Block>| {
                        b.map_or(0, |b| b.start.saturating_add(b.count))
                    };
                    SimUnit::io_module(end(u.layout.inputs), end(u.layout.coils), 0)
                }
            };
            (u.unit, sim)
        })
        .collect()
}

/// Starts the buses, the translator and the director. Must run inside the runtime.
///
/// # Errors
///
/// Only when a simulated bus cannot get a pseudo-terminal; a real port that cannot be
/// opened is retried with back-off and shown in the health instead.
pub fn start(
    config: &RoomConfig,
    session: &SessionHandle,
    cancel: CancellationToken,
    tracker: &TaskTracker,
    monitor: &podium_devices::monitor::FrameMonitor,
) -> anyhow::Result<Desks> {
    let map = DeskMap::new(&config.desks);
    let (events_tx, events_rx) = mpsc::channel(1024);
    let mut desired = BTreeMap::new();
    let mut health = Vec::new();
    let mut simulated = BTreeMap::new();
    for plan in &map.buses {
        let (desired_tx, desired_rx) = watch::channel(Arc::new(BusOutputs::new()));
        let mut serial = plan.config.serial.clone();
        if plan.config.simulated {
            let sim = SimBus::new(simulated_units(plan), serial.baud);
            let pty = podium_devices::serial::pty()
                .with_context(|| format!("bus `{}`: cannot create a pseudo-terminal", plan.config.id))?;
            let (master, slave) = (pty.master, pty.slave);
            serial = SerialSettings { path: pty.path, ..serial };
            let (sim_task, token) = (sim.clone(), cancel.clone());
            tracker.spawn(async move {
                // Holding the slave side open keeps the master from hanging up while the
                // driver reopens its own handle.
                let _keep_open = slave;
                if let Err(e) = sim_task.serve(master, token).await {
                    tracing::warn!(error = %e, "simulated desk units stopped");
                }
            });
            tracing::info!(bus = %plan.config.id, path = %serial.path, units = plan.units.len(), "simulated desk units on a pseudo-terminal");
            simulated.insert(plan.config.id.clone(), sim);
        }
        let connector = SerialConnector { settings: serial };
        let (driver, bus_health) =
            BusDriver::new(bus_settings(plan), plan.unit_specs(), connector, events_tx.clone(), desired_rx);
        let driver = driver.with_monitor(monitor.clone());
        tracker.spawn(driver.run(cancel.clone()));
        desired.insert(plan.config.id.clone(), desired_tx);
        health.push(bus_health);
    }
    let (tests, tests_rx) = watch::channel(Tests::new());
    let desks = Desks { inner: Arc::new(Inner { map, health, tests, simulated }) };
    if !desks.inner.map.buses.is_empty() {
        tracker.spawn(translate_events(desks.clone(), session.clone(), events_rx, cancel.clone()));
        let clock = session.clock();
        let monitor = monitor.clone();
        tracker.spawn(direct(desks.clone(), session.watch(), clock, desired, tests_rx, monitor, cancel));
    }
    Ok(desks)
}

/// Commands handed to the session whose answers are still awaited, at most. Beyond it the
/// translator waits for answers before taking the next key edge.
const KEYS_IN_FLIGHT: usize = 256;

/// Key edges → engine commands, in arrival order. Each command is handed to the session
/// without waiting for its answer, so keys pressed together reach the owner together and
/// the journal writes them in one transaction; the answers are taken as they come, in order.
async fn translate_events(
    desks: Desks,
    session: SessionHandle,
    mut events: mpsc::Receiver<BusEvent>,
    cancel: CancellationToken,
) {
    let mut in_flight = FuturesOrdered::new();
    loop {
        let event = tokio::select! {
            _ = cancel.cancelled() => return,
            Some(answered) = in_flight.next(), if !in_flight.is_empty() => {
                if answered == KeyAnswer::SessionClosed {
                    return;
                }
                continue;
            }
            event = events.recv(), if in_flight.len() < KEYS_IN_FLIGHT => match event { Some(e) => e, None => return },
        };
        let (bus, unit, input, command, actor) = match event {
            BusEvent::Input { bus, unit, input, pressed } => {
                let Some(binding) = desks.inner.map.binding(&bus, unit, input) else {
                    tracing::debug!(%bus, unit, input, pressed, "unmapped input");
                    continue;
                };
                let Some((command, actor)) = translate::command(binding, pressed) else { continue };
                (bus, unit, input, command, actor)
            }
            BusEvent::Credential { bus, unit, credential } => {
                let Some(seat) = desks.inner.map.desk_seat(&bus, unit) else { continue };
                match translate::credential(seat, &credential, &desks.inner.map.credentials) {
                    translate::CredentialCommand::Command(command, actor) => {
                        (bus, unit, podium_devices::modbus::desk::INPUT_CREDENTIAL_WAITING, command, actor)
                    }
                    translate::CredentialCommand::UnknownBadge(uid) => {
                        tracing::warn!(%bus, unit, seat, badge = %uid, "unknown badge: no [[member]] has this badge");
                        continue;
                    }
                    translate::CredentialCommand::UnknownPin => {
                        tracing::warn!(%bus, unit, seat, "unknown PIN entered: no [[member]] has it");
                        continue;
                    }
                }
            }
            // Online, offline and link changes show in the health; the drivers log them.
            _ => continue,
        };
        let source = Source::Desk { bus: bus.to_string(), unit: u16::from(unit) };
        match session.enqueue_from(source, command.clone(), actor).await {
            Ok(answer) => in_flight.push_back(key_answer(answer, bus.to_string(), unit, input, command)),
            // A chattering key is cut off by its own rate limit; the session logs it.
            Err(CommandError::RateLimited { .. }) => {}
            Err(CommandError::Closed) => return,
        }
    }
}

/// What became of a key's command.
#[derive(Debug, PartialEq, Eq)]
enum KeyAnswer {
    Answered,
    SessionClosed,
}

/// Waits for a key's answer and logs it; the owner counts rejections per source.
async fn key_answer(answer: Answer, bus: String, unit: u8, input: u16, command: Command) -> KeyAnswer {
    // A vote key's input names the choice: which unit pressed which vote key must not be
    // logged (a secret vote), so a ballot's line names neither input nor choice.
    let input = if matches!(command, Command::CastVote { .. }) { None } else { Some(input) };
    match answer.await {
        Ok(Ok(events)) => {
            tracing::debug!(%bus, unit, ?input, ?command, events = events.len(), "desk key")
        }
        // A vote key outside a vote is no mistake: a member pressed it early or late.
        Ok(Err(rejection)) if rejection.reason == podium_floor::Reason::NoVoteOpen => {
            tracing::debug!(%bus, unit, ?input, ?command, "desk vote key outside a vote")
        }
        // A rejection is the floor's rule at work (list closed, not allowed): normal.
        Ok(Err(rejection)) => {
            tracing::info!(%bus, unit, ?input, ?command, reason = rejection.reason.code(), "desk key rejected")
        }
        Err(SessionClosed) => return KeyAnswer::SessionClosed,
    }
    KeyAnswer::Answered
}

/// Recomputes every unit's desired outputs on each new snapshot, lamp test change, and
/// every second while a chair display counts down. While a secret vote is open the desk
/// buses' frames are withheld from the protocol monitor (a poll answer tells who pressed
/// which vote key).
async fn direct(
    desks: Desks,
    mut snapshots: watch::Receiver<Arc<podium_floor::Snapshot>>,
    clock: crate::clock::SessionClock,
    desired: BTreeMap<String, watch::Sender<Arc<BusOutputs>>>,
    mut tests: watch::Receiver<Tests>,
    monitor: podium_devices::monitor::FrameMonitor,
    cancel: CancellationToken,
) {
    let mut withheld = false;
    loop {
        let snapshot = snapshots.borrow_and_update().clone();
        let secret = outputs::secret_vote_open(&snapshot);
        if secret != withheld {
            withheld = secret;
            let reason = secret.then_some(podium_devices::monitor::WITHHELD_SECRET_VOTE);
            for bus in &desks.inner.map.buses {
                monitor.withhold(&bus.config.id, reason);
            }
            tracing::info!(
                secret,
                "desk bus frames in the protocol monitor {}",
                if secret { "withheld" } else { "shown again" }
            );
        }
        let now = tokio::time::Instant::now();
        let active: Tests = tests
            .borrow_and_update()
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let testing: outputs::Testing = active.keys().cloned().collect();
        let computed = outputs::desired_outputs(&desks.inner.map, &snapshot, clock.now().mono_ms, &testing);
        for (bus, outputs) in computed {
            if let Some(tx) = desired.get(&bus) {
                tx.send_if_modified(|current| {
                    if **current == outputs {
                        return false;
                    }
                    *current = Arc::new(outputs);
                    true
                });
            }
        }
        let test_ends = active.values().min().copied();
        let tick = outputs::ticks(&desks.inner.map, &snapshot).then(|| now + Duration::from_secs(1));
        let wake = [test_ends, tick].into_iter().flatten().min();
        tokio::select! {
            _ = cancel.cancelled() => return,
            changed = snapshots.changed() => if changed.is_err() { return },
            changed = tests.changed() => if changed.is_err() { return },
            _ = sleep_until(wake) => {}
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
