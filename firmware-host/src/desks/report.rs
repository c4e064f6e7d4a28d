//! Device health as the API shows it: the bus drivers' health plus what each unit is for.

use podium_devices::modbus::bus::{BusHealth, UnitStatus};
use podium_floor::SeatNo;
use serde::{Deserialize, Serialize};

use super::mapping::BusPlan;

/// Every desk-unit bus and unit.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DevicesReport {
    /// One entry per `[[bus]]`, in configuration order.
    pub buses: Vec<BusReport>,
}

/// One bus: its port and its units.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BusReport {
    /// Bus id from the configuration.
    pub id: String,
    /// Port and line settings, e.g. `/dev/serial/by-id/... 115200 8E1`.
    pub port: String,
    /// Simulated desk units on a pseudo-terminal (demo).
    pub simulated: bool,
    /// Whether the port is open.
    pub connected: bool,
    /// Failed attempts to open the port since start.
    pub open_failures: u64,
    /// Times the open port was lost (unplugged, I/O error).
    pub disconnects: u64,
    /// The last port error.
    pub last_error: Option<String>,
    /// Wall-clock time (Unix ms) of the last valid frame.
    pub last_frame_unix_ms: Option<i64>,
    /// Completed poll cycles.
    pub cycles: u64,
    /// Duration of the last poll cycle in microseconds.
    pub last_cycle_us: u64,
    /// The units, in configuration order.
    pub units: Vec<UnitReport>,
}

/// One unit.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnitReport {
    /// Unit address on the bus.
    pub unit: u8,
    /// `desk`, `chair` (desk units following the Podium register map) or `module`
    /// (generic I/O module).
    pub kind: String,
    /// Seats it serves.
    pub seats: Vec<SeatNo>,
    /// `unknown` (not polled yet), `online` or `offline`.
    pub status: String,
    /// Wall-clock time (Unix ms) of its last answer.
    pub last_seen_unix_ms: Option<i64>,
    /// Requests sent.
    pub requests: u64,
    /// Requests not answered in time.
    pub timeouts: u64,
    /// Garbled answers (bad CRC).
    pub crc_errors: u64,
    /// Valid frames that did not answer the request.
    pub unexpected: u64,
    /// Exception responses.
    pub exceptions: u64,
    /// Output writes confirmed.
    pub writes: u64,
    /// Times it went offline.
    pub went_offline: u64,
    /// Misses since its last answer.
    pub consecutive_misses: u32,
}

/// Merges a bus's plan with its driver's health.
pub fn bus_report(plan: &BusPlan, health: &BusHealth) -> BusReport {
    BusReport {
        id: plan.config.id.clone(),
        port: health.link.port.clone(),
        simulated: plan.config.simulated,
        connected: health.link.connected,
        open_failures: health.link.open_failures,
        disconnects: health.link.disconnects,
        last_error: health.link.last_error.clone(),
        last_frame_unix_ms: health.link.last_frame_unix_ms,
        cycles: health.cycles,
        last_cycle_us: health.last_cycle_us,
        units: plan
            .units
            .iter()
            .map(|u| {
                let h = health.units.iter().find(|h| h.unit == u.unit);
                UnitReport {
                    unit: u.unit,
                    kind: u.kind().to_owned(),
                    seats: u.seats(),
                    status: match h.map(|h| h.status) {
                        Some(UnitStatus::Online) => "online",
                        Some(UnitStatus::Offline) => "offline",
                        _ => "unknown",
                    }
                    .to_owned(),
                    last_seen_unix_ms: h.and_then(|h| h.last_seen_unix_ms),
                    requests: h.map_or(0, |h| h.requests),
                    timeouts: h.map_or(0, |h| h.timeouts),
                    crc_errors: h.map_or(0, |h| h.crc_errors),
                    unexpected: h.map_or(0, |h| h.unexpected),
                    exceptions: h.map_or(0, |h| h.exceptions),
                    writes: h.map_or(0, |h| h.writes),
                    went_offline: h.map_or(0, |h| h.went_offline),
                    consecutive_misses: h.map_or(0, |h| h.consecutive_misses),
                }
            })
            .collect(),
    }
}
