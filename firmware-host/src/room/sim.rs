//! Simulated room devices for `simulated = true` (the demo room): a VISCA camera on UDP,
//! a PJLink projector or MDC display on TCP, an Extron matrix on a pty, each on a free
//! port, so several demos can run at once. Their state is visible at `GET /api/v1/sim/room`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{Extension, State};
use podium_devices::extron::sim::SimMatrix;
use podium_devices::mdc::sim::SimDisplay;
use podium_devices::pjlink::sim::SimProjector;
use podium_devices::serial::{Parity, SerialSettings};
use podium_devices::visca::Transport;
use podium_devices::visca::sim::SimCamera;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::api::AppState;
use crate::api::error::{ApiError, ErrorBody};
use crate::config::{DisplayDevice, RoomConfig};

/// One running simulator.
#[derive(Clone)]
pub enum Sim {
    /// A camera.
    Camera(SimCamera),
    /// A PJLink projector.
    Projector(SimProjector),
    /// A Samsung display.
    Display(SimDisplay),
    /// An Extron matrix and the outputs configured.
    Matrix(SimMatrix, Vec<u16>),
}

/// The simulators by device name.
pub type Sims = Vec<(String, Sim)>;

const LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Starts a simulator for every `simulated = true` device and returns the configuration
/// with their real addresses. A simulator that cannot start leaves its device pointing
/// nowhere: the driver reports it in health, the room runs on.
pub async fn start(config: &RoomConfig, sims: &mut Sims, cancel: &CancellationToken) -> RoomConfig {
    let mut config = config.clone();
    for c in config.cameras.iter_mut().filter(|c| c.simulated) {
        let sim = SimCamera::new();
        sim.set_move_time(std::time::Duration::from_millis(800));
        match sim.serve_udp(LOOPBACK, cancel.clone()).await {
            Ok(addr) => {
                c.transport = Transport::Udp(addr);
                sims.push((c.name.clone(), Sim::Camera(sim)));
            }
            Err(e) => tracing::error!(camera = %c.name, "cannot start the simulated camera: {e}"),
        }
    }
    for d in config.displays.iter_mut().filter(|d| d.simulated) {
        let started = match &mut d.device {
            DisplayDevice::Pjlink { addr, password } => {
                let sim = SimProjector::new(password.as_deref());
                sim.serve(LOOPBACK, cancel.clone()).await.map(|a| {
                    *addr = a;
                    Sim::Projector(sim)
                })
            }
            DisplayDevice::Mdc { addr, serial, id } => {
                let sim = SimDisplay::new(*id);
                sim.serve_tcp(LOOPBACK, cancel.clone()).await.map(|a| {
                    *addr = Some(a);
                    *serial = None;
                    Sim::Display(sim)
                })
            }
            DisplayDevice::Extron { addr, serial, outputs } => {
                let sim = SimMatrix::new(16, outputs.iter().copied().max().unwrap_or(1).max(1));
                sim.serve_pty(cancel.clone()).map(|path| {
                    *addr = None;
                    *serial = Some(SerialSettings {
                        baud: 9600,
                        parity: Parity::None,
                        ..SerialSettings::new(path)
                    });
                    Sim::Matrix(sim, outputs.clone())
                })
            }
        };
        match started {
            Ok(sim) => sims.push((d.name.clone(), sim)),
            Err(e) => tracing::error!(display = %d.name, "cannot start the simulated device: {e}"),
        }
    }
    config
}

/// What one simulated device shows.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulatedDevice {
    /// Device name.
    pub name: String,
    /// `camera`, `projector`, `display` or `matrix`.
    pub kind: String,
    /// Camera: the preset it shows (memory number).
    pub preset: Option<u8>,
    /// Displays: power on.
    pub power: Option<bool>,
    /// Displays: input; matrix: the input tied to each configured output.
    pub input: Option<String>,
    /// Matrix: `output → input` ties of the configured outputs.
    pub ties: Vec<(u16, u16)>,
}

/// The simulated cameras, displays and matrices of the demo: what they show now.
#[utoipa::path(get, path = "/api/v1/sim/room", tag = "devices",
    responses(
        (status = 200, description = "Simulated room devices", body = [SimulatedDevice]),
        (status = 404, description = "No simulated room device", body = ErrorBody),
    ))]
pub async fn get_sim_room(
    _: State<AppState>,
    room: Option<Extension<super::Room>>,
) -> Result<Json<Vec<SimulatedDevice>>, ApiError> {
    let room = room.map(|Extension(r)| r).unwrap_or_default();
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
                    let ties: Vec<(u16, u16)> = outputs.iter().map(|o| (*o, m.tie(*o))).collect();
                    let input = ties.first().map(|(_, i)| i.to_string());
                    SimulatedDevice { input, ties, ..blank("matrix") }
                }
            }
        })
        .collect();
    Ok(Json(view))
}

/// The simulated button box: each button (held or not) and each lamp.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulatedButtonBox {
    /// `(line, action, held)` per button.
    pub buttons: Vec<(u32, String, bool)>,
    /// `(line, shows, lit)` per lamp.
    pub lamps: Vec<(u32, String, bool)>,
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

fn button_box(room: &super::Room) -> Result<SimulatedButtonBox, ApiError> {
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
            .map(|(i, (l, a))| (*l, name(a), held.get(i).copied().unwrap_or(false)))
            .collect(),
        lamps: config
            .lamps
            .iter()
            .enumerate()
            .map(|(i, (l, s))| (*l, name(s), outputs.get(i).copied().unwrap_or(false)))
            .collect(),
    })
}

/// The demo's simulated chair button box: buttons held, lamps lit.
#[utoipa::path(get, path = "/api/v1/sim/gpio", tag = "devices",
    responses(
        (status = 200, description = "The simulated button box", body = SimulatedButtonBox),
        (status = 404, description = "No simulated button box", body = ErrorBody),
    ))]
pub async fn get_sim_gpio(
    _: State<AppState>,
    room: Option<Extension<super::Room>>,
) -> Result<Json<SimulatedButtonBox>, ApiError> {
    let room = room.map(|Extension(r)| r).unwrap_or_default();
    button_box(&room).map(Json)
}

/// Holds or releases a button of the simulated button box, e.g.
/// `{"button":"next","down":true}` then `{"button":"next","down":false}`.
#[utoipa::path(post, path = "/api/v1/sim/gpio", tag = "devices",
    request_body = PressButton,
    responses(
        (status = 200, description = "The button box after the change", body = SimulatedButtonBox),
        (status = 404, description = "No simulated button box, or no such button", body = ErrorBody),
    ))]
pub async fn post_sim_gpio(
    _: State<AppState>,
    room: Option<Extension<super::Room>>,
    crate::api::body::JsonBody(press): crate::api::body::JsonBody<PressButton>,
) -> Result<Json<SimulatedButtonBox>, ApiError> {
    let room = room.map(|Extension(r)| r).unwrap_or_default();
    let view = button_box(&room)?;
    let index = view
        .buttons
        .iter()
        .position(|(_, action, _)| *action == press.button)
        .ok_or_else(|| ApiError::not_found(format!("no `{}` button", press.button)))?;
    if let Some((sim, _)) = &room.gpio_sim {
        sim.set_button(index, press.down);
    }
    button_box(&room).map(Json)
}
