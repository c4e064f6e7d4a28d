//! Device health as the API shows it: the bus drivers' health plus what each unit is for.

use podium_devices::modbus::bus::{BusHealth, UnitHealth};
use podium_devices::serial::LinkHealth;
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
    /// Simulated desk units on a pseudo-terminal (demo).
    pub simulated: bool,
    /// The port: `port`, `connected`, `open_failures`, `disconnects`, `last_error`,
    /// `last_frame_unix_ms`.
    #[serde(flatten)]
    pub link: LinkHealth,
    /// Completed poll cycles.
    pub cycles: u64,
    /// Duration of the last poll cycle in microseconds.
    pub last_cycle_us: u64,
    /// The units, in configuration order.
    pub units: Vec<UnitReport>,
}

/// One unit: what it is for, and the bus driver's health of it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnitReport {
    /// `desk`, `chair` (desk units following the Podium register map) or `module`
    /// (generic I/O module).
    pub kind: String,
    /// Seats it serves.
    pub seats: Vec<SeatNo>,
    /// Address, status and counters, as the bus driver reports them.
    #[serde(flatten)]
    pub health: UnitHealth,
}

/// Merges a bus's plan with its driver's health.
pub fn bus_report(plan: &BusPlan, health: &BusHealth) -> BusReport {
    BusReport {
        id: plan.config.id.clone(),
        simulated: plan.config.simulated,
        link: health.link.clone(),
        cycles: health.cycles,
        last_cycle_us: health.last_cycle_us,
        // The driver reports every unit of its plan (`BusPlan::unit_specs`), from the start.
        units: plan
            .units
            .iter()
            .filter_map(|u| {
                let health = health.units.iter().find(|h| h.unit == u.unit)?;
                Some(UnitReport { kind: u.kind().to_owned(), seats: u.seats(), health: health.clone() })
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use podium_devices::modbus::bus::UnitStatus;

    use super::*;

    fn keys(value: &serde_json::Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value.as_object().expect("an object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    /// The driver's health types are flattened in: the API's JSON stays one flat object per
    /// bus and per unit, with the field names it always had.
    #[test]
    fn bus_and_unit_reports_are_flat_objects() {
        let health = UnitHealth {
            unit: 7,
            status: UnitStatus::Online,
            last_seen_unix_ms: Some(1),
            requests: 2,
            timeouts: 0,
            crc_errors: 0,
            unexpected: 0,
            exceptions: 0,
            writes: 1,
            went_offline: 0,
            consecutive_misses: 0,
        };
        let report = BusReport {
            id: "a".into(),
            simulated: false,
            link: LinkHealth {
                port: "/dev/ttyUSB0 115200 8E1".into(),
                connected: true,
                ..LinkHealth::default()
            },
            cycles: 3,
            last_cycle_us: 40,
            units: vec![UnitReport { kind: "desk".into(), seats: vec![12], health }],
        };
        let json = serde_json::to_value(&report).expect("serialize");
        assert_eq!(
            keys(&json),
            [
                "connected",
                "cycles",
                "disconnects",
                "id",
                "last_cycle_us",
                "last_error",
                "last_frame_unix_ms",
                "open_failures",
                "port",
                "simulated",
                "units"
            ]
        );
        let unit = &json["units"][0];
        assert_eq!(
            keys(unit),
            [
                "consecutive_misses",
                "crc_errors",
                "exceptions",
                "kind",
                "last_seen_unix_ms",
                "requests",
                "seats",
                "status",
                "timeouts",
                "unexpected",
                "unit",
                "went_offline",
                "writes"
            ]
        );
        assert_eq!((unit["unit"].as_u64(), unit["status"].as_str()), (Some(7), Some("online")));
        let back: BusReport = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back.units[0].health.writes, 1);
    }
}
