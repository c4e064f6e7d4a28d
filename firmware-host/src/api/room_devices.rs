//! Room devices over the HTTP API: health of every camera (display, switcher, microphone)
//! and test actions for the technician.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use podium_devices::display::DisplayAction;
use podium_devices::link_io::LinkError;
use podium_devices::shure::driver::MicAction;
use podium_devices::visca::{CameraAction, CameraError};
use serde::{Deserialize, Serialize};

use super::body::JsonBody;
use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::room::camera_director::Shot;

/// What a camera shows, as decided by the camera director.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CameraShot {
    /// The camera's name.
    pub camera: String,
    /// `overview`, `seat 12`, `remote anna`, or none before the first decision.
    pub shot: Option<String>,
    /// The preset wanted for that shot; none: the camera stays where it is.
    pub preset: Option<u16>,
}

/// Every room device.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoomDevices {
    /// Health per device.
    pub devices: Vec<podium_devices::health::DeviceHealth>,
    /// What each camera should show now.
    pub cameras: Vec<CameraShot>,
    /// What each display (or matrix output) should show now.
    pub displays: Vec<DisplayWanted>,
}

/// What a display should show, as decided by the display director.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DisplayWanted {
    /// The display's name.
    pub display: String,
    /// Power wanted (none: left alone).
    pub power: Option<bool>,
    /// Input wanted (none: left alone).
    pub input: Option<String>,
}

/// A test action on a room device.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum TestAction {
    /// Recall a camera preset (the director takes over again at its next change).
    Recall {
        /// Preset number as in the room configuration.
        #[schema(maximum = 65535)]
        preset: u16,
    },
    /// Store the camera's current position as a preset.
    Store {
        /// Preset number.
        #[schema(maximum = 65535)]
        preset: u16,
    },
    /// Pan-tilt home.
    Home {},
    /// Power on or standby.
    Power {
        /// On (`true`) or standby.
        on: bool,
    },
    /// Read the pan-tilt position.
    Position {},
    /// Select a display input (the director takes over again at its next change).
    Input {
        /// Input as in the room configuration: PJLink `31`, MDC `hdmi1`, Extron `3`.
        input: String,
    },
    /// Read a display's power and input, or a microphone array's model and open channels.
    Status {},
    /// Flash a microphone array's LEDs (30 s), to find it in the ceiling.
    Flash {},
}

/// The result of a test action.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TestResult {
    /// What the device did, e.g. `preset 3 recalled`.
    pub result: String,
}

/// Health of the room's cameras (and other room devices), and the director's shots.
#[utoipa::path(get, path = "/api/v1/devices/room", tag = "devices",
    responses((status = 200, description = "Room devices", body = RoomDevices)))]
pub async fn get_room_devices(State(app): State<AppState>) -> Json<RoomDevices> {
    let room = &app.room;
    let cameras = room
        .camera_decisions()
        .into_iter()
        .map(|d| CameraShot {
            camera: d.camera,
            shot: d.shot.map(|s| match s {
                Shot::Overview => "overview".to_owned(),
                Shot::Speaker(station) => station.to_string(),
            }),
            preset: d.preset,
        })
        .collect();
    let displays = room
        .display_desired()
        .into_iter()
        .map(|(display, d)| DisplayWanted { display, power: d.power, input: d.input })
        .collect();
    Json(RoomDevices { devices: room.health(), cameras, displays })
}

/// Runs a test action on a room device: cameras `{"action":"recall","preset":3}`,
/// `home`, `store`, `power`, `position`; displays and matrices `{"action":"input","input":"31"}`,
/// `power`, `status`; microphone arrays `{"action":"flash"}`, `status`.
#[utoipa::path(post, path = "/api/v1/devices/room/{name}/test", tag = "devices",
    params(("name" = String, Path, description = "The device's name in the room configuration")),
    request_body = TestAction,
    responses(
        (status = 200, description = "Done", body = TestResult),
        (status = 400, description = "Malformed action", body = ErrorBody),
        (status = 404, description = "No such device", body = ErrorBody),
        (status = 409, description = "The action is not for this kind of device (`wrong_action`), or the device answered and refused it, e.g. an input or preset it does not have (`device_refused`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 502, description = "The device answered with an error or not at all", body = ErrorBody),
    ))]
pub async fn post_room_test(
    State(app): State<AppState>,
    Path(name): Path<String>,
    JsonBody(action): JsonBody<TestAction>,
) -> Result<Json<TestResult>, ApiError> {
    let room = &app.room;
    // The action is well-formed but does not fit this kind of device: a conflict with
    // what the device is, not a malformed request.
    let wrong = |what: &str| {
        ApiError::new(
            StatusCode::CONFLICT,
            "wrong_action",
            format!("`{name}` is {what}; this action is not for it"),
        )
    };
    if room.display(&name).is_some() {
        let action = match action {
            TestAction::Power { on } => DisplayAction::Power(on),
            TestAction::Input { input } => DisplayAction::Input(input),
            TestAction::Status {} => DisplayAction::Status,
            _ => return Err(wrong("a display")),
        };
        let result =
            room.display_action(&name, action).await.ok_or_else(|| ApiError::not_found("no such device"))?;
        return result.map(|state| Json(TestResult { result: state.describe() })).map_err(link_error);
    }
    if let Some(microphone) = room.microphone(&name) {
        let action = match action {
            TestAction::Flash {} => MicAction::Flash,
            TestAction::Status {} => MicAction::Status,
            _ => return Err(wrong("a microphone array")),
        };
        return microphone.action(action).await.map(|result| Json(TestResult { result })).map_err(link_error);
    }
    if room.camera(&name).is_none() {
        // A device without test actions (a central unit, the button box), or none at all.
        return Err(if room.health().iter().any(|h| h.name == name) {
            wrong("a device without test actions")
        } else {
            ApiError::not_found(format!("no room device `{name}`"))
        });
    }
    let action = match action {
        TestAction::Recall { preset } => CameraAction::Recall(preset),
        TestAction::Store { preset } => CameraAction::Store(preset),
        TestAction::Home {} => CameraAction::Home,
        TestAction::Power { on } => CameraAction::Power(on),
        TestAction::Position {} => CameraAction::Position,
        TestAction::Input { .. } | TestAction::Status {} | TestAction::Flash {} => {
            return Err(wrong("a camera"));
        }
    };
    let result = room
        .camera_action(&name, action)
        .await
        .ok_or_else(|| ApiError::not_found(format!("no room device `{name}`")))?;
    result.map(|result| Json(TestResult { result })).map_err(|e| {
        let code = match e {
            // The camera answered and refused (syntax error, not executable, no such
            // preset): the request does not fit the device, it did not fail.
            CameraError::Device(_) | CameraError::NoSuchPreset(_) => {
                return ApiError::new(StatusCode::CONFLICT, "device_refused", e.to_string());
            }
            CameraError::Timeout(_) => "device_timeout",
            CameraError::Link(_) | CameraError::Stopped => "device_unreachable",
        };
        ApiError::new(StatusCode::BAD_GATEWAY, code, e.to_string())
    })
}

/// A display's or microphone's link error as the API answers it.
fn link_error(e: LinkError) -> ApiError {
    let (status, code) = match e {
        // The device answered and refused, or the request cannot be said in its protocol (an
        // input it does not have): the request does not fit it.
        LinkError::Refused { .. } | LinkError::InvalidRequest(_) => (StatusCode::CONFLICT, "device_refused"),
        LinkError::Timeout | LinkError::ConnectTimeout => (StatusCode::BAD_GATEWAY, "device_timeout"),
        LinkError::Connect(_) | LinkError::Closed | LinkError::Stopped => {
            (StatusCode::BAD_GATEWAY, "device_unreachable")
        }
        _ => (StatusCode::BAD_GATEWAY, "device_error"),
    };
    ApiError::new(status, code, e.to_string())
}
