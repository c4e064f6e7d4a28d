//! The demo's simulated room devices over the API: what the simulated cameras, displays,
//! matrices and microphone arrays show (`GET /api/v1/sim/room`), someone talking into an
//! array (`POST /api/v1/sim/microphone`) and the simulated button box
//! (`GET/POST /api/v1/sim/gpio`). The simulators themselves start in `room/sim.rs`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::body::JsonBody;
use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::room::Room;
use crate::room::sim::Sim;

/// What one simulated device shows.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulatedDevice {
    /// Device name.
    pub name: String,
    /// `camera`, `projector`, `display`, `matrix` or `microphone`.
    pub kind: String,
    /// Camera: the preset it shows (memory number).
    pub preset: Option<u8>,
    /// Displays: power on.
    pub power: Option<bool>,
    /// Displays: input; matrix: the input tied to each configured output.
    pub input: Option<String>,
    /// Matrix: the input tied to each configured output.
    pub ties: Vec<Tie>,
    /// Microphone array: each channel.
    pub channels: Vec<SimulatedChannel>,
}

/// A channel of a simulated microphone array.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulatedChannel {
    /// Channel number.
    pub channel: u8,
    /// Muted (by Podium or at the array).
    pub muted: bool,
    /// Its automixer gate is open: someone talks and the channel is not muted.
    pub gate: bool,
}

/// Someone starts or stops talking into a channel of a simulated microphone array.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Talk {
    /// The array's name.
    pub name: String,
    /// The channel.
    #[schema(minimum = 1, maximum = 64)]
    pub channel: u8,
    /// Starts (`true`) or stops talking.
    pub talking: bool,
}

/// A matrix output and the input tied to it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tie {
    /// Output number.
    pub output: u16,
    /// Input number tied to it.
    pub input: u16,
}

/// The simulated cameras, displays and matrices of the demo: what they show now.
#[utoipa::path(get, path = "/api/v1/sim/room", tag = "devices",
    responses(
        (status = 200, description = "Simulated room devices", body = [SimulatedDevice]),
        (status = 404, description = "No simulated room device", body = ErrorBody),
    ))]
pub async fn get_sim_room(State(app): State<AppState>) -> Result<Json<Vec<SimulatedDevice>>, ApiError> {
    let room = &app.room;
    if room.sims.is_empty() {
        return Err(ApiError::not_found("this room has no simulated room devices"));
    }
    let view = room
        .sims
        .iter()
        .map(|(name, sim)| {
            let blank = |kind: &str| SimulatedDevice {
                name: name.clone(),
                kind: kind.into(),
                preset: None,
                power: None,
                input: None,
                ties: Vec::new(),
                channels: Vec::new(),
            };
            match sim {
                Sim::Camera(c) => {
                    let s = c.status();
                    SimulatedDevice { preset: s.preset, power: Some(s.power), ..blank("camera") }
                }
                Sim::Projector(p) => {
                    let s = p.status();
                    SimulatedDevice { power: Some(s.power == 1), input: Some(s.input), ..blank("projector") }
                }
                Sim::Display(d) => {
                    let s = d.status();
                    let input = podium_devices::mdc::codec::input_name(s.input);
                    SimulatedDevice { power: Some(s.power), input: Some(input), ..blank("display") }
                }
                Sim::Matrix(m, outputs) => {
                    let ties: Vec<Tie> =
                        outputs.iter().map(|&output| Tie { output, input: m.tie(output) }).collect();
                    let input = ties.first().map(|tie| tie.input.to_string());
                    SimulatedDevice { input, ties, ..blank("matrix") }
                }
                Sim::Microphone(m, channels) => {
                    SimulatedDevice { channels: channels_of(m, *channels), ..blank("microphone") }
                }
            }
        })
        .collect();
    Ok(Json(view))
}

fn channels_of(sim: &podium_devices::shure::sim::SimMxa, channels: u8) -> Vec<SimulatedChannel> {
    (1..=channels)
        .map(|channel| SimulatedChannel {
            channel,
            muted: sim.muted(channel).unwrap_or(true),
            gate: sim.gate(channel).unwrap_or(false),
        })
        .collect()
}

/// Someone starts or stops talking into a channel of a simulated microphone array (the
/// demo's voice mode): `{"name":"ceiling","channel":3,"talking":true}`. The array's gate
/// opens if the channel is not muted.
#[utoipa::path(post, path = "/api/v1/sim/microphone", tag = "devices",
    request_body = Talk,
    responses(
        (status = 200, description = "The array's channels after the change", body = [SimulatedChannel]),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such simulated array, or no such channel", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    ))]
pub async fn post_sim_microphone(
    State(app): State<AppState>,
    JsonBody(talk): JsonBody<Talk>,
) -> Result<Json<Vec<SimulatedChannel>>, ApiError> {
    let found = app.room.sims.iter().find_map(|(name, sim)| match sim {
        Sim::Microphone(m, channels) if *name == talk.name => Some((m, *channels)),
        _ => None,
    });
    let (sim, channels) =
        found.ok_or_else(|| ApiError::not_found(format!("no simulated microphone array `{}`", talk.name)))?;
    if !(1..=channels).contains(&talk.channel) {
        return Err(ApiError::not_found(format!("`{}` has channels 1 to {channels}", talk.name)));
    }
    sim.talk(talk.channel, talk.talking);
    Ok(Json(channels_of(sim, channels)))
}

/// The simulated button box: each button (held or not) and each lamp.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulatedButtonBox {
    /// Every button.
    pub buttons: Vec<SimulatedButton>,
    /// Every lamp.
    pub lamps: Vec<SimulatedLamp>,
}

/// A button of the simulated button box.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulatedButton {
    /// GPIO line.
    pub line: u32,
    /// What it does: `next`, `stop`, `priority` or `clear`.
    pub action: String,
    /// Held down now.
    pub held: bool,
}

/// A lamp of the simulated button box.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulatedLamp {
    /// GPIO line.
    pub line: u32,
    /// What it shows, e.g. `someone_speaking`, `on_air`.
    pub shows: String,
    /// Lit now.
    pub lit: bool,
}

/// Holding or releasing a simulated button.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PressButton {
    /// The button's action: `next`, `stop`, `priority` or `clear` (the first such button).
    pub button: String,
    /// Held down (`true`) or released.
    pub down: bool,
}

fn button_box(room: &Room) -> Result<SimulatedButtonBox, ApiError> {
    let (sim, config) =
        room.gpio_sim.as_ref().ok_or_else(|| ApiError::not_found("this room has no simulated button box"))?;
    let outputs = sim.outputs();
    let held = sim.buttons();
    let name = |d: &dyn std::fmt::Debug| {
        let text = format!("{d:?}");
        let mut out = String::new();
        for (i, c) in text.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        }
        out
    };
    Ok(SimulatedButtonBox {
        buttons: config
            .buttons
            .iter()
            .enumerate()
            .map(|(i, (line, action))| SimulatedButton {
                line: *line,
                action: action.name().to_owned(),
                held: held.get(i).copied().unwrap_or(false),
            })
            .collect(),
        lamps: config
            .lamps
            .iter()
            .enumerate()
            .map(|(i, (line, shows))| SimulatedLamp {
                line: *line,
                shows: name(shows),
                lit: outputs.get(i).copied().unwrap_or(false),
            })
            .collect(),
    })
}

/// The demo's simulated chair button box: buttons held, lamps lit.
#[utoipa::path(get, path = "/api/v1/sim/gpio", tag = "devices",
    responses(
        (status = 200, description = "The simulated button box", body = SimulatedButtonBox),
        (status = 404, description = "No simulated button box", body = ErrorBody),
    ))]
pub async fn get_sim_gpio(State(app): State<AppState>) -> Result<Json<SimulatedButtonBox>, ApiError> {
    let room = &app.room;
    button_box(room).map(Json)
}

/// Holds or releases a button of the simulated button box, e.g.
/// `{"button":"next","down":true}` then `{"button":"next","down":false}`.
#[utoipa::path(post, path = "/api/v1/sim/gpio", tag = "devices",
    request_body = PressButton,
    responses(
        (status = 200, description = "The button box after the change", body = SimulatedButtonBox),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No simulated button box, or no such button", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    ))]
pub async fn post_sim_gpio(
    State(app): State<AppState>,
    JsonBody(press): JsonBody<PressButton>,
) -> Result<Json<SimulatedButtonBox>, ApiError> {
    let room = &app.room;
    let view = button_box(room)?;
    let index = view
        .buttons
        .iter()
        .position(|button| button.action == press.button)
        .ok_or_else(|| ApiError::not_found(format!("no `{}` button", press.button)))?;
    if let Some((sim, _)) = &room.gpio_sim {
        sim.set_button(index, press.down);
    }
    button_box(room).map(Json)
}

/// A simulated central unit (Shure DCS or Televic CoCon): what it shows now.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulatedCentralUnit {
    /// The unit's name.
    pub name: String,
    /// `shure_dcs`, `televic_cocon` or `bosch_dicentis`.
    pub protocol: String,
    /// Each seat it serves: the room's number, the unit's number, microphone on, waiting.
    pub seats: Vec<SimulatedCentralSeat>,
}

/// One seat of a simulated central unit.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulatedCentralSeat {
    /// The room's seat number.
    pub seat: u16,
    /// The unit's own seat number.
    pub unit_seat: u16,
    /// Its microphone is on at the unit.
    pub microphone: bool,
    /// It is in the unit's request list.
    pub requested: bool,
}

/// A key pressed at a seat of a simulated central unit.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PressCentralKey {
    /// The unit's name (may be left out when the room has one simulated central unit).
    #[serde(default)]
    pub unit: Option<String>,
    /// The room's seat number.
    #[schema(minimum = 1, maximum = 65535)]
    pub seat: u16,
}

fn central_units(room: &Room) -> Vec<SimulatedCentralUnit> {
    room.central_units
        .iter()
        .filter_map(|u| {
            let sim = u.sim.as_ref()?;
            let floor = sim.floor();
            let protocol = u.config.protocol.name();
            let seats = u
                .config
                .seats
                .iter()
                .map(|(seat, unit_seat)| SimulatedCentralSeat {
                    seat: *seat,
                    unit_seat: *unit_seat,
                    microphone: floor.speakers.contains(unit_seat),
                    requested: floor.requests.contains(unit_seat),
                })
                .collect();
            Some(SimulatedCentralUnit { name: u.config.name.clone(), protocol: protocol.into(), seats })
        })
        .collect()
}

/// The demo's simulated central units: each seat's microphone and request at the unit
/// (empty when the room has none).
#[utoipa::path(get, path = "/api/v1/sim/central", tag = "devices",
    responses((status = 200, description = "The simulated central units", body = [SimulatedCentralUnit])))]
pub async fn get_sim_central(State(app): State<AppState>) -> Json<Vec<SimulatedCentralUnit>> {
    Json(central_units(&app.room))
}

/// Presses the key at a seat of a simulated central unit, as the delegate there would
/// (`{"seat":12}`): the unit reports it, and Podium turns it into a floor command.
#[utoipa::path(post, path = "/api/v1/sim/central", tag = "devices",
    request_body = PressCentralKey,
    responses(
        (status = 200, description = "The units after the key (the floor's answer follows)", body = [SimulatedCentralUnit]),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No simulated central unit, or no such unit or seat", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    ))]
pub async fn post_sim_central(
    State(app): State<AppState>,
    JsonBody(press): JsonBody<PressCentralKey>,
) -> Result<Json<Vec<SimulatedCentralUnit>>, ApiError> {
    let simulated: Vec<_> = app.room.central_units.iter().filter(|u| u.sim.is_some()).collect();
    if simulated.is_empty() {
        return Err(ApiError::not_found("this room has no simulated central unit"));
    }
    let unit = match &press.unit {
        Some(name) => simulated.iter().find(|u| &u.config.name == name),
        None => simulated.iter().find(|u| u.config.seats.iter().any(|(s, _)| *s == press.seat)),
    }
    .ok_or_else(|| ApiError::not_found("no simulated central unit of that name serves that seat"))?;
    let unit_seat =
        unit.config.seats.iter().find(|(s, _)| *s == press.seat).map(|(_, u)| *u).ok_or_else(|| {
            ApiError::not_found(format!(
                "central unit `{}` does not serve seat {}",
                unit.config.name, press.seat
            ))
        })?;
    if let Some(sim) = &unit.sim {
        sim.press(unit_seat);
    }
    Ok(Json(central_units(&app.room)))
}
