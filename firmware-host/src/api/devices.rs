//! Desk units and other devices: health, lamp tests, and the demo's simulated units.

use axum::Json;
use axum::extract::State;
use podium_devices::modbus::desk::DeskKey;
use podium_devices::modbus::sim::{ControlCommand, Fault, UnitView};
use podium_floor::SeatNo;
use serde::{Deserialize, Serialize};

use super::body::JsonBody;
use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::desks::report::DevicesReport;
use crate::desks::{MAX_TEST_SECONDS, TestTarget};

/// Health of every desk-unit bus and unit: port open, units online or offline with their
/// last answer, error counters.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices",
    responses((status = 200, description = "Bus and unit health (empty when the room has no buses)", body = DevicesReport)))]
pub async fn get_devices(State(app): State<AppState>) -> Json<DevicesReport> {
    Json(app.desks.report())
}

/// A lamp test's target: one seat, one unit, or every unit; each with an optional
/// duration.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum TestRequest {
    /// Every unit serving a seat: `{"seat": 12}`.
    Seat(SeatTest),
    /// One unit: `{"bus": "a", "unit": 7}`.
    Unit(UnitTest),
    /// Every unit of the room: `{"all": true}` (`false` tests nothing: 404).
    All(AllTest),
}

/// Every unit serving a seat.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatTest {
    /// The seat.
    #[schema(value_type = u16, maximum = 65535)]
    pub seat: SeatNo,
    /// How long the lamps blink, 1 to 60 seconds (default 5).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 60)]
    pub seconds: Option<u16>,
}

/// One unit.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitTest {
    /// The bus id.
    pub bus: String,
    /// The unit's address on it.
    #[schema(minimum = 1, maximum = 247)]
    pub unit: u8,
    /// How long the lamps blink, 1 to 60 seconds (default 5).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 60)]
    pub seconds: Option<u16>,
}

/// Every unit of the room.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllTest {
    /// `true`: every unit.
    pub all: bool,
    /// How long the lamps blink, 1 to 60 seconds (default 5).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 60)]
    pub seconds: Option<u16>,
}

/// The units a test runs on.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TestStarted {
    /// (bus, unit) pairs.
    pub units: Vec<TestedUnit>,
    /// How long they blink.
    pub seconds: u16,
}

/// One tested unit.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TestedUnit {
    /// Bus id.
    pub bus: String,
    /// Unit address.
    pub unit: u8,
}

/// Lamp test: every lamp of the target's units lights and blinks for a few seconds, then
/// shows the floor again. Microphone relays are never switched by a test.
#[utoipa::path(post, path = "/api/v1/devices/test", tag = "devices",
    request_body = TestRequest,
    responses(
        (status = 200, description = "The test runs", body = TestStarted),
        (status = 400, description = "Malformed (`invalid_json`), or not exactly one target (`invalid_target`)", body = ErrorBody),
        (status = 404, description = "No unit serves the target", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "`seconds` out of 1 to 60 (`invalid_value`)", body = ErrorBody),
    ))]
pub async fn post_devices_test(
    State(app): State<AppState>,
    JsonBody(request): JsonBody<serde_json::Value>,
) -> Result<Json<TestStarted>, ApiError> {
    // serde's answer for an untagged enum names no field; say what a target looks like.
    let request = TestRequest::deserialize(request).map_err(|_| {
        ApiError::bad_request(
            "invalid_target",
            "give exactly one target, optionally with \"seconds\" (1 to 60): {\"seat\":12}, {\"bus\":\"a\",\"unit\":7} or {\"all\":true}",
        )
    })?;
    let (target, seconds) = match request {
        TestRequest::Seat(SeatTest { seat, seconds }) => (TestTarget::Seat(seat), seconds),
        TestRequest::Unit(UnitTest { bus, unit, seconds }) => (TestTarget::Unit { bus, unit }, seconds),
        TestRequest::All(AllTest { all: true, seconds }) => (TestTarget::All, seconds),
        TestRequest::All(AllTest { all: false, .. }) => {
            return Err(ApiError::not_found("`all: false` names no desk unit"));
        }
    };
    let seconds = seconds.unwrap_or(5);
    if !(1..=MAX_TEST_SECONDS).contains(&seconds) {
        return Err(ApiError::invalid_value("seconds", format!("seconds must be 1 to {MAX_TEST_SECONDS}")));
    }
    let desks = &app.desks;
    let units =
        desks.test(&target, seconds).ok_or_else(|| ApiError::not_found("no desk unit serves this target"))?;
    Ok(Json(TestStarted {
        units: units.into_iter().map(|(bus, unit)| TestedUnit { bus, unit }).collect(),
        seconds,
    }))
}

/// The simulated desk units of a bus with `simulated = true` (the demo).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulatedUnits {
    /// Bus id.
    pub bus: String,
    /// Each unit's keys, lamps and display, as the simulator holds them.
    #[schema(value_type = Vec<Object>)]
    pub units: Vec<UnitView>,
}

/// Every simulated desk unit: which keys are down, which lamps are lit, what the display
/// shows. 404 when no bus is simulated.
#[utoipa::path(get, path = "/api/v1/sim/desks", tag = "devices",
    responses(
        (status = 200, description = "Simulated units per simulated bus", body = [SimulatedUnits]),
        (status = 404, description = "No simulated bus", body = ErrorBody),
    ))]
pub async fn get_sim_desks(State(app): State<AppState>) -> Result<Json<Vec<SimulatedUnits>>, ApiError> {
    let desks = &app.desks;
    let buses = desks.simulated_buses();
    if buses.is_empty() {
        return Err(ApiError::not_found("no bus is simulated (set `simulated = true` on a [[bus]])"));
    }
    let all = buses
        .into_iter()
        .filter_map(|id| desks.simulated(Some(&id)))
        .map(|(bus, sim)| SimulatedUnits {
            bus,
            units: sim.units().into_iter().filter_map(|u| sim.view(u)).collect(),
        })
        .collect();
    Ok(Json(all))
}

/// An action on a simulated desk unit, e.g. `{"action":"click","unit":12,"key":"request"}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimAction {
    /// Which simulated bus; may be left out when there is one.
    #[serde(default)]
    pub bus: Option<String>,
    /// `press`, `release`, `click` (press, and release once Podium has read it) or `fault`.
    #[schema(pattern = "^(press|release|click|fault)$")]
    pub action: String,
    /// Unit address.
    #[schema(minimum = 1, maximum = 247)]
    pub unit: u8,
    /// Key name: `request`, `cancel`, `point_of_order`, `reply`, `vote_yes`, `vote_no`,
    /// `vote_abstain`, `presence`, `priority`, `next`, `stop`. Without `key` and `input`: 404.
    #[serde(default)]
    #[schema(
        pattern = "^(request|cancel|point_of_order|reply|vote_yes|vote_no|vote_abstain|presence|priority|next|stop)$"
    )]
    pub key: Option<String>,
    /// Or a raw discrete-input address.
    #[serde(default)]
    #[schema(maximum = 65535)]
    pub input: Option<u16>,
    /// For `fault`: `none` (the default: the unit answers correctly again), `drop`,
    /// `corrupt` or `silent`.
    #[serde(default)]
    #[schema(pattern = "^(none|drop|corrupt|silent)$")]
    pub fault: Option<String>,
    /// For `fault`: how many answers to drop or corrupt (default 1, at most 1000).
    #[serde(default)]
    #[schema(maximum = 1000)]
    pub count: Option<u32>,
}

/// Most answers a simulated fault may drop or corrupt in one go.
const MAX_FAULT_COUNT: u32 = 1000;

fn parse_name<T: serde::de::DeserializeOwned>(what: &str, name: &str) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| ApiError::bad_request("invalid_command", format!("unknown {what} `{name}`")))
}

/// Presses keys on (or injects faults into) simulated desk units. The unit then talks to
/// Podium over real Modbus RTU frames like a real one. 404 when no bus is simulated.
#[utoipa::path(post, path = "/api/v1/sim/desks", tag = "devices",
    request_body = SimAction,
    responses(
        (status = 200, description = "The unit after the action", body = SimulatedUnits),
        (status = 400, description = "Malformed action", body = ErrorBody),
        (status = 404, description = "No simulated bus, unit, key or input", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "`count` above 1000 (`invalid_value`)", body = ErrorBody),
    ))]
pub async fn post_sim_desks(
    State(app): State<AppState>,
    JsonBody(action): JsonBody<SimAction>,
) -> Result<Json<SimulatedUnits>, ApiError> {
    let key = action.key.as_deref().map(|k| parse_name::<DeskKey>("key", k)).transpose()?;
    // Checked whatever the action, so a wrong name is never silently ignored.
    let fault = action.fault.as_deref().map(|f| parse_name::<Fault>("fault", f)).transpose()?;
    if action.count.is_some_and(|count| count > MAX_FAULT_COUNT) {
        return Err(ApiError::invalid_value("count", format!("count is at most {MAX_FAULT_COUNT}")));
    }
    let (unit, input) = (action.unit, action.input);
    let command = match action.action.as_str() {
        "press" => ControlCommand::Press { unit, key, input },
        "release" => ControlCommand::Release { unit, key, input },
        "click" => ControlCommand::Click { unit, key, input },
        "fault" => ControlCommand::Fault { unit, fault: fault.unwrap_or_default(), count: action.count },
        other => {
            return Err(ApiError::bad_request(
                "invalid_command",
                format!("unknown action `{other}` (press, release, click or fault)"),
            ));
        }
    };
    let desks = &app.desks;
    let (bus, sim) = desks
        .simulated(action.bus.as_deref())
        .ok_or_else(|| ApiError::not_found("no such simulated bus (name `bus` when there are several)"))?;
    let units = sim.control(&command).map_err(|e| match e {
        podium_devices::modbus::sim::ControlError::UnknownUnit(_) => ApiError::not_found(e.to_string()),
        podium_devices::modbus::sim::ControlError::UnknownInput { .. } => ApiError::not_found(e.to_string()),
        // Not reachable from these actions (no badge or PIN action here).
        podium_devices::modbus::sim::ControlError::BadCredential { .. }
        | podium_devices::modbus::sim::ControlError::NoReader(_) => {
            ApiError::bad_request("invalid_command", e.to_string())
        }
    })?;
    Ok(Json(SimulatedUnits { bus, units }))
}
