//! Central units of existing conference systems, with Podium as the floor master: a driver
//! per `[[central_unit]]` (Shure DCS on TCP 3142, Televic CoCon on HTTP 8890, Bosch
//! DICENTIS on a WebSocket at 31416), the changes made at its seats turned into floor commands by the
//! stateless key table (`desks::translate::central_change`), and the floor turned into the
//! unit's lists by the pure [`unit_floor`] (called by the room's direct task on every
//! snapshot). The drivers reconcile: after every reconnect they read the unit and correct
//! it, so a restarted unit shows the floor again.

use std::net::SocketAddr;

use podium_devices::central::cocon::sim::SimCocon;
use podium_devices::central::dicentis::sim::SimDicentis;
use podium_devices::central::dicentis::{self, DicentisSettings};
use podium_devices::central::shure_dcs::core::CoreSettings;
use podium_devices::central::shure_dcs::sim::SimDcs;
use podium_devices::central::{CentralHandle, SeatReport, UnitFloor, cocon, shure_dcs};
use podium_floor::{FloorState, SeatNo, Station};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::sim::LOOPBACK;
use crate::config::{CentralProtocol, CentralUnitConfig};
use crate::session::{CommandError, SessionHandle, Source};

/// One running central unit.
#[derive(Clone)]
pub struct CentralUnit {
    /// Its configuration (with the simulator's address when simulated).
    pub config: CentralUnitConfig,
    /// Its driver.
    pub handle: CentralHandle,
    /// The simulated unit, with `simulated = true`.
    pub sim: Option<SimUnit>,
}

/// A simulated central unit.
#[derive(Clone)]
pub enum SimUnit {
    /// A Shure DCS on TCP.
    ShureDcs(SimDcs),
    /// A Televic CoCon server on HTTP.
    Cocon(SimCocon),
    /// A Bosch DICENTIS server on a plain WebSocket, with its seat names by unit seat.
    Dicentis(SimDicentis, Vec<(u16, String)>),
}

impl SimUnit {
    /// A key pressed at the unit's seat `seat`.
    pub fn press(&self, seat: u16) {
        match self {
            SimUnit::ShureDcs(s) => s.press(seat),
            SimUnit::Cocon(s) => s.press(seat),
            SimUnit::Dicentis(s, names) => {
                if let Some((_, name)) = names.iter().find(|(u, _)| *u == seat) {
                    s.press(name);
                }
            }
        }
    }

    /// Its open microphones and waiting requests now.
    pub fn floor(&self) -> UnitFloor {
        match self {
            SimUnit::ShureDcs(s) => s.floor(),
            SimUnit::Cocon(s) => s.floor(),
            SimUnit::Dicentis(s, names) => {
                let (speaking, waiting) = s.lists();
                let unit = |name: &String| names.iter().find(|(_, n)| n == name).map(|(u, _)| *u);
                UnitFloor {
                    speakers: speaking.iter().filter_map(unit).collect(),
                    requests: waiting.iter().filter_map(unit).collect(),
                }
            }
        }
    }
}

/// Starts the simulator of a `simulated = true` unit on a free loopback port.
async fn start_sim(
    config: &CentralUnitConfig,
    cancel: &CancellationToken,
) -> std::io::Result<(SimUnit, SocketAddr)> {
    match config.protocol {
        CentralProtocol::ShureDcs => {
            let seats: Vec<(u16, bool)> =
                config.seats.iter().map(|(seat, unit)| (*unit, config.chair_seats.contains(seat))).collect();
            let sim = SimDcs::new(&seats);
            let addr = sim.serve(LOOPBACK, cancel.clone()).await?;
            Ok((SimUnit::ShureDcs(sim), addr))
        }
        CentralProtocol::TelevicCocon => {
            let seats: Vec<u16> = config.seats.iter().map(|(_, unit)| *unit).collect();
            let hold = std::time::Duration::from_secs(cocon::codec::NOTIFICATION_HOLD_S);
            let sim = SimCocon::new(&seats, hold);
            let addr = sim.serve(LOOPBACK, cancel.clone()).await?;
            Ok((SimUnit::Cocon(sim), addr))
        }
        CentralProtocol::BoschDicentis => {
            let names = dicentis_names(config);
            let seat_names: Vec<&str> = names.iter().map(|(_, n)| n.as_str()).collect();
            let sim = SimDicentis::new(&seat_names, SIMULATED_PASSWORD);
            let addr = sim.serve(LOOPBACK, cancel.clone()).await?;
            Ok((SimUnit::Dicentis(sim, names), addr))
        }
    }
}

/// The simulated DICENTIS server's password for the user `podium`.
const SIMULATED_PASSWORD: &str = "simulated";

/// Each unit seat's DICENTIS seat name.
fn dicentis_names(config: &CentralUnitConfig) -> Vec<(u16, String)> {
    let names = config.dicentis.as_ref().map(|d| d.seat_names.clone()).unwrap_or_default();
    config.seats.iter().zip(names).map(|((_, unit), name)| (*unit, name)).collect()
}

/// The driver's settings for a DICENTIS server: the password read from its file now (a
/// file that cannot be read leaves it empty: the server refuses the login, health says why).
fn dicentis_settings(config: &CentralUnitConfig, addr: SocketAddr) -> DicentisSettings {
    let login = config.dicentis.as_ref();
    let password = if config.simulated {
        SIMULATED_PASSWORD.to_owned()
    } else if let Some(file) = login.and_then(|l| l.password_file.as_ref()) {
        std::fs::read_to_string(file).map(|p| p.trim_end().to_owned()).unwrap_or_else(|e| {
            tracing::error!(unit = %config.name, file = %file.display(), "cannot read the DICENTIS password: {e}");
            String::new()
        })
    } else {
        login.and_then(|l| l.password.clone()).unwrap_or_default()
    };
    DicentisSettings {
        addr,
        tls_fingerprint: if config.simulated { None } else { login.and_then(|l| l.tls_fingerprint) },
        user: if config.simulated {
            "podium".into()
        } else {
            login.map_or_else(|| "podium".into(), |l| l.user.clone())
        },
        password,
        seats: dicentis_names(config).into_iter().collect(),
    }
}

/// What the floor wants `unit` to show: the open microphones and waiting requests of the
/// seats it serves, in its own seat numbers.
pub fn unit_floor(unit: &CentralUnitConfig, floor: &FloorState) -> UnitFloor {
    let unit_seat = |station: &Station| match station {
        Station::Seat(seat) => unit.seats.iter().find(|(s, _)| s == seat).map(|(_, u)| *u),
        Station::Remote(_) => None,
    };
    UnitFloor {
        speakers: floor.speakers.iter().filter_map(|s| unit_seat(&s.station)).collect(),
        requests: floor.requests.iter().filter_map(|r| unit_seat(&r.station)).collect(),
    }
}

/// The Podium seat of `unit`'s seat number.
fn room_seat(unit: &CentralUnitConfig, unit_seat: u16) -> Option<SeatNo> {
    unit.seats.iter().find(|(_, u)| *u == unit_seat).map(|(s, _)| *s)
}

/// Starts every central unit's driver (and simulator) and the task that hands the changes
/// made at their seats to the session.
pub async fn start(
    configs: &[CentralUnitConfig],
    session: &SessionHandle,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
    monitor: &podium_devices::monitor::FrameMonitor,
) -> Vec<CentralUnit> {
    let (reports_tx, reports_rx) = mpsc::channel(1024);
    let mut units = Vec::new();
    for config in configs {
        let mut config = config.clone();
        let mut sim = None;
        if config.simulated {
            match start_sim(&config, cancel).await {
                Ok((simulated, addr)) => {
                    config.addr = Some(addr);
                    sim = Some(simulated);
                }
                Err(e) => {
                    tracing::error!(unit = %config.name, "cannot start the simulated central unit: {e}")
                }
            }
        }
        // A simulator that could not start leaves the unit pointing nowhere: health says so.
        let addr = config.addr.unwrap_or(LOOPBACK);
        let (reports, monitor, token) = (reports_tx.clone(), Some(monitor.clone()), cancel.clone());
        // Only the seats the room file maps are Podium's; the unit's others are left alone.
        let managed = Some(config.seats.iter().map(|(_, unit)| *unit).collect());
        let (handle, task) = match config.protocol {
            CentralProtocol::ShureDcs => {
                let settings =
                    CoreSettings { set_manual: config.set_manual_mode, managed, ..CoreSettings::default() };
                shure_dcs::spawn(&config.name, addr, settings, reports, monitor, token)
            }
            CentralProtocol::TelevicCocon => {
                cocon::spawn(&config.name, addr, config.set_manual_mode, managed, reports, monitor, token)
            }
            CentralProtocol::BoschDicentis => {
                dicentis::spawn(&config.name, dicentis_settings(&config, addr), reports, monitor, token)
            }
        };
        tracker.spawn(async move {
            let _ = task.await;
        });
        units.push(CentralUnit { config, handle, sim });
    }
    if !units.is_empty() {
        tracker.spawn(hand_over(units.clone(), reports_rx, session.clone(), cancel.clone()));
    }
    units
}

/// Changes made at the units → floor commands, in arrival order, each handed over without
/// waiting for the answer of the one before (as the desk units' keys).
async fn hand_over(
    units: Vec<CentralUnit>,
    mut reports: mpsc::Receiver<(String, SeatReport)>,
    session: SessionHandle,
    cancel: CancellationToken,
) {
    use futures_util::StreamExt;
    let mut in_flight = futures_util::stream::FuturesOrdered::new();
    loop {
        let (name, report) = tokio::select! {
            _ = cancel.cancelled() => return,
            Some(answered) = in_flight.next(), if !in_flight.is_empty() => {
                if answered {
                    continue;
                }
                return;
            }
            r = reports.recv(), if in_flight.len() < 256 => match r { Some(r) => r, None => return },
        };
        let Some(unit) = units.iter().find(|u| u.config.name == name) else { continue };
        let Some(seat) = room_seat(&unit.config, report.seat) else {
            tracing::debug!(unit = %name, unit_seat = report.seat, "a seat the room file does not map");
            continue;
        };
        let (command, actor) = crate::desks::translate::central_change(seat, report.change);
        let source = Source::Desk { bus: name.clone(), unit: report.seat };
        match session.enqueue_from(source, command.clone(), actor).await {
            Ok(answer) => in_flight.push_back(async move {
                match answer.await {
                    Ok(Ok(_)) => tracing::debug!(unit = %name, seat, ?command, "central unit key"),
                    // The floor's rule at work: the unit is corrected to the floor.
                    Ok(Err(rejection)) => {
                        tracing::info!(unit = %name, seat, ?command, reason = rejection.reason.code(), "central unit key rejected")
                    }
                    Err(_) => return false,
                }
                true
            }),
            Err(CommandError::RateLimited { .. }) => {}
            Err(CommandError::Closed) => return,
        }
    }
}
