//! Room configuration: one TOML file per room, loaded and validated into a
//! [`RoomConfig`], from which the engine's [`Setup`] is built.
//!
//! Every problem in the file is reported, not just the first: unknown keys (with the
//! closest known key as a suggestion), wrong types, bad names, out-of-range limits and the
//! checks between sections (duplicate seats or members, unknown members at seats, a
//! member at two seats, a podium seat that is not a seat). Each [`ConfigError`] carries
//! file, line, column and a dotted field path; [`ConfigErrors`] displays them rustc-style.
//!
//! The keys are documented in `config/README.md` at the repository root.

mod advice;
mod error;
mod public_secrets;
mod reader;
mod section;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use podium_floor::setup::Setup;

pub use advice::warnings;
pub use error::{ConfigError, ConfigErrors};
use reader::{Cx, Table};
pub use section::camera::{CameraConfig, CameraDirectorConfig, Follow as CameraFollow};
pub use section::central::{CentralProtocol, CentralUnitConfig, DicentisConfig};
pub use section::cocon_api::CoconApiConfig;
pub use section::conference::JitsiConfig;
pub use section::desks::{
    BusConfig, DeskUnitConfig, DesksConfig, IoInputConfig, IoOutputConfig, MemberCredentials, Signal,
};
pub use section::display::{DisplayConfig, DisplayDevice};
pub use section::gpio::{ButtonAction, GpioBackendKind, GpioConfig, LampShows};
pub use section::http::HttpLimits;
pub use section::microphone::MicrophoneConfig;
pub use section::mqtt::{
    Broker as MqttBroker, MAX_MQTT_USERNAME, Mqtt as MqttConfig, MqttAccount, MqttDeskUnit, MqttRole,
    valid_username,
};
pub use section::presentation::PresentationSourceConfig;
pub use section::room::DEFAULT_SIGNATORIES;
pub use section::voice::VoiceConfig;
pub use section::web::{DemoLink, RemoteLink, TOKEN_HASH_PREFIX, User, UserRole, WebConfig, is_token_hash};

/// A validated room configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomConfig {
    /// The file it was loaded from (as given to [`load`] or [`parse`]).
    pub source: PathBuf,
    /// `room.id`: lowercase letters, digits, `-` and `_`; used in MQTT topics.
    pub room_id: String,
    /// `room.name`: the room's display name.
    pub room_name: String,
    /// `room.time_zone`: IANA name; local times in the minutes and consoles.
    pub time_zone: String,
    /// `[minutes] signatories`: the signature lines of the printed minutes.
    pub signatories: Vec<String>,
    /// A draft agenda (JSON, as `PUT /api/v1/agenda/draft` takes it) stored at start when the
    /// journal holds none: the demo's "Stadtrat, 12. Sitzung". Not a room-file key.
    pub initial_draft: Option<String>,
    /// `http.listen`: where the web server listens.
    pub http_listen: SocketAddr,
    /// `[http]` limits: timeouts, connection and stream caps.
    pub http: HttpLimits,
    /// `http.trusted_proxies`: reverse proxies whose `X-Forwarded-For` names the client.
    pub http_trusted_proxies: Vec<std::net::IpAddr>,
    /// Seats, participants and discussion profile for the engine.
    pub setup: Setup,
    /// `[mqtt]`: the broker link for remote participants and networked devices; `None` = off.
    pub mqtt: Option<section::mqtt::Mqtt>,
    /// `[[mqtt_desk_unit]]`: networked desk units on the MQTT broker.
    pub mqtt_desk_units: Vec<section::mqtt::MqttDeskUnit>,
    /// `[web]`, `[[user]]`, `[[remote_link]]`: who may use the consoles and the API.
    pub web: WebConfig,
    /// `[[bus]]`, `[[desk_unit]]`, `[[io_input]]`, `[[io_output]]`: desk units on Modbus RTU.
    pub desks: DesksConfig,
    /// `[journal]`: where the record of meetings is kept, and for how long.
    pub journal: crate::journal::JournalSettings,
    /// `[camera_director]`: how the cameras follow the floor.
    pub camera_director: CameraDirectorConfig,
    /// `[[camera]]`: PTZ cameras and their shots of the seats.
    pub cameras: Vec<CameraConfig>,
    /// `[[display]]`: displays, projectors and matrix switchers.
    pub displays: Vec<DisplayConfig>,
    /// `[[microphone]]`: room microphone arrays and the seats of their channels.
    pub microphones: Vec<MicrophoneConfig>,
    /// `[voice]`: hold times of voice activity (voice mode).
    pub voice: VoiceConfig,
    /// `[[presentation_source]]`: what the room can present, with each display's input.
    pub presentation_sources: Vec<PresentationSourceConfig>,
    /// `[[central_unit]]`: central units of existing conference systems and their seats.
    pub central_units: Vec<section::central::CentralUnitConfig>,
    /// `[cocon_api]`: Podium's answer to the Televic CoCon API; `None` = off.
    pub cocon_api: Option<section::cocon_api::CoconApiConfig>,
    /// `[gpio]`: the chair's button box and tally lamps; `None` = no GPIO.
    pub gpio: Option<GpioConfig>,
    /// `[oparl]`: how the agenda import reads an OParl endpoint and classifies items.
    pub oparl: crate::oparl::OparlSettings,
    /// `[[member]] oparl_person`: member id → OParl Person URL.
    pub oparl_persons: std::collections::BTreeMap<String, String>,
    /// `[jitsi]`: the conference the bridge page joins; `None` = no Jitsi bridge.
    pub jitsi: Option<JitsiConfig>,
    /// Member id → the name the member is known by in the video conference
    /// (`[[member]] conference_name`, or the member's name).
    pub conference_names: std::collections::BTreeMap<String, String>,
}

impl RoomConfig {
    /// The engine setup built from this configuration.
    pub fn floor_setup(&self) -> Setup {
        self.setup.clone()
    }

    /// The members as the OParl import sees them: id, name and `oparl_person`.
    pub fn oparl_members(&self) -> Vec<crate::oparl::MemberLink> {
        self.setup
            .participants
            .iter()
            .map(|p| crate::oparl::MemberLink {
                id: p.id.clone(),
                name: p.name.clone(),
                oparl_person: self.oparl_persons.get(&p.id).cloned(),
            })
            .collect()
    }
}

/// Reads and validates the configuration file at `path`.
///
/// # Errors
///
/// Every problem found in the file, in file order. An unreadable file gives one error at
/// line 1, column 1 naming the I/O error. A file with the demo room's public logins or
/// personal link is refused (only `podiumd demo` runs with them, from [`parse`]).
pub fn load(path: &Path) -> Result<RoomConfig, ConfigErrors> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let room = parse(&text, path)?;
            let refused = public_secrets::refuse_demo_secrets(&room, &text, path);
            if refused.is_empty() { Ok(room) } else { Err(ConfigErrors(refused)) }
        }
        Err(e) => {
            let help = (e.kind() == std::io::ErrorKind::InvalidData)
                .then(|| "save the file with UTF-8 encoding".to_owned());
            let error = ConfigError::whole_file(path, format!("cannot read the configuration file: {e}"));
            Err(ConfigErrors(vec![error.with_help(help)]))
        }
    }
}

/// Validates configuration text; `file` is used in error messages and as
/// [`RoomConfig::source`].
///
/// # Errors
///
/// Every problem found, in file order (a TOML syntax error is reported alone).
pub fn parse(text: &str, file: &Path) -> Result<RoomConfig, ConfigErrors> {
    // A byte-order mark (some Windows editors write one) is invisible: drop it so that
    // columns on the first line match what the user sees.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = match toml_edit::ImDocument::parse(text) {
        Ok(doc) => doc,
        Err(e) => return Err(ConfigErrors(vec![syntax_error(text, file, &e)])),
    };
    let mut cx = Cx::new(file, text);
    let mut root = Table::new(doc.as_table(), 0..0, String::new());

    let room = section::room::read(&mut root, &mut cx);
    let signatories = section::room::read_minutes(&mut root, &mut cx);
    let http = section::http::read(&mut root, &mut cx);
    let mqtt = section::mqtt::read(&mut root, &mut cx);
    let discussion = section::discussion::read(&mut root, &mut cx);
    let seats = section::seating::read_seats(&mut root, &mut cx);
    let members = section::seating::read_members(&mut root, &mut cx);
    let (web, links) = section::web::read(&mut root, &mut cx);
    let desks = section::desks::read(&mut root, &mut cx);
    let journal = section::journal::read(&mut root, &mut cx);
    let camera_director = section::camera::read_director(&mut root, &mut cx);
    let cameras = section::camera::read_cameras(&mut root, &mut cx);
    let displays = section::display::read(&mut root, &mut cx);
    let room_seats: Vec<_> = seats.iter().filter_map(|s| s.number.as_ref().map(|n| n.v)).collect();
    let microphones = section::microphone::read(&mut root, &mut cx, &room_seats);
    let voice = section::voice::read(&mut root, &mut cx);
    let presentation_sources = section::presentation::read(&mut root, &mut cx, &displays);
    let cocon_api = section::cocon_api::read(&mut root, &mut cx);
    let central_units = section::central::read(&mut root, &mut cx, &room_seats, &desks.config.desk_units);
    let gpio = section::gpio::read(&mut root, &mut cx, &presentation_sources);
    let oparl = section::oparl::read(&mut root, &mut cx);
    let voting = section::voting::read(&mut root, &mut cx);
    let jitsi = section::conference::read(&mut root, &mut cx, room.name.as_str());
    let conference_names = section::conference::conference_names(&mut cx, &members, jitsi.is_some());
    let mqtt_desk_units = section::mqtt::read_desk_units(&mut root, &mut cx, &room_seats, mqtt.as_ref());
    // Keys written above the first section header belong to a section.
    root.belong_elsewhere(&["id", "name"], "[room]");
    root.belong_elsewhere(&section::http::HTTP_KEYS, "[http]");
    root.belong_elsewhere(&section::discussion::LIMIT_KEYS, "[discussion]");
    root.belong_elsewhere(&section::discussion::TIME_KEYS, "[discussion.speaking_time]");
    root.belong_elsewhere(&section::web::WEB_KEYS, "[web]");
    root.belong_elsewhere(&section::camera::DIRECTOR_KEYS, "[camera_director]");
    root.finish(&mut cx);
    section::seating::check(&mut cx, &seats, &members, &discussion);
    section::web::check_links(&mut cx, &links, &members);
    section::desks::check(&mut cx, &desks, &seats);
    section::camera::check(&mut cx, &cameras, &room_seats);

    if !cx.errors.is_empty() {
        let mut errors = cx.errors;
        errors.sort_by_key(|e| (e.line, e.column));
        return Err(ConfigErrors(errors));
    }
    let mut desks = desks;
    for m in &members {
        desks.config.credentials.insert(
            &m.participant.id,
            m.badge.as_ref().map(|b| b.v.as_slice()),
            m.pin.as_ref().map(|p| p.v.as_str()),
        );
    }
    let oparl_persons = members
        .iter()
        .filter_map(|m| Some((m.participant.id.clone(), m.oparl_person.as_ref()?.v.clone())))
        .collect();
    Ok(RoomConfig {
        source: file.to_owned(),
        oparl,
        oparl_persons,
        jitsi,
        conference_names,
        room_id: room.id,
        room_name: room.name,
        time_zone: room.time_zone,
        signatories,
        initial_draft: None,
        http_listen: http.listen,
        http: http.limits,
        http_trusted_proxies: http.trusted_proxies,
        mqtt,
        mqtt_desk_units,
        web,
        desks: desks.config,
        journal,
        camera_director,
        cameras: cameras.into_iter().map(|c| c.camera).collect(),
        displays,
        microphones,
        voice,
        central_units,
        cocon_api,
        gpio,
        setup: Setup {
            voting,
            seats: seats.into_iter().map(|s| s.setup).collect(),
            participants: members.into_iter().map(|m| m.participant).collect(),
            profile: discussion.profile,
            presentation_sources: presentation_sources.iter().map(PresentationSourceConfig::source).collect(),
        },
        presentation_sources,
    })
}

fn syntax_error(text: &str, file: &Path, e: &toml_edit::TomlError) -> ConfigError {
    let message: Vec<&str> = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let message = format!("TOML syntax error: {}", message.join("; "));
    let span = e.span().unwrap_or(0..0);
    ConfigError::at(file, text, span, "", message)
}

#[cfg(test)]
mod tests;
