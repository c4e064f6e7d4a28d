//! The room follows the floor: cameras (and later displays, switchers, room microphones)
//! driven from the floor snapshot by pure directors, through the device drivers of
//! `podium-devices`.
//!
//! - [`camera_director`]: seat → (camera, preset), overview, stay or jump, minimum hold.
//! - [`display_director`]: remote floor → conference source, room floor → default source.
//! - [`microphone_director`]: a zone's channel is open while one of its seats speaks (in
//!   voice mode also while its seat may be heard).
//! - [`voice`]: voice mode: the arrays' automixer gates → hold times → voice activity.
//! - [`central`]: central units of existing conference systems (Shure DCS): drivers, their
//!   seats' changes → floor commands, the floor → their lists.
//! - [`gpio`]: the chair's button box (debounced buttons → chair commands) and lamps.
//! - [`routes`]: device health and test actions over the HTTP API.
//! - [`sim`]: simulated devices for `simulated = true` (the demo).
//!
//! The room task watches the session's snapshot, asks the directors what every device
//! should show at `now`, hands the result to the drivers as their desired state, and
//! sleeps until the next change or the deadline a director names (a held shot).

pub mod camera_director;
pub mod central;
pub mod display_director;
pub mod gpio;
pub mod microphone_director;
pub mod sim;
pub mod voice;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use podium_devices::display::{self, DisplayAction, DisplayHandle, DisplayState};
use podium_devices::extron::{ExtronLink, MatrixTransport};
use podium_devices::health::DeviceHealth;
use podium_devices::link_io::LinkError;
use podium_devices::mdc::{MdcLink, MdcTransport};
use podium_devices::pjlink::PjlinkLink;
use podium_devices::shure::MicHandle;
use podium_devices::shure::driver::{GateReport, GateSubscription};
use podium_devices::visca::{CameraAction, CameraError, CameraHandle, CameraSettings, driver};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{DisplayConfig, DisplayDevice, MicrophoneConfig, RoomConfig};
use crate::session::SessionHandle;
use camera_director::{CameraDecision, CameraDirector};

/// The room's devices, as the API sees them.
#[derive(Clone, Default)]
pub struct Room {
    cameras: Vec<(String, CameraHandle)>,
    displays: Vec<(String, DisplayHandle)>,
    microphones: Vec<(String, MicHandle)>,
    /// Central units of existing conference systems.
    pub central_units: Vec<central::CentralUnit>,
    gpio: Option<Arc<Mutex<DeviceHealth>>>,
    /// The simulated button box, when `[gpio] backend = "simulated"`.
    pub gpio_sim: Option<(podium_devices::gpio::sim::SimGpio, crate::config::GpioConfig)>,
    /// Simulated devices (`simulated = true`, the demo).
    pub sims: sim::Sims,
    decisions: Arc<Mutex<Vec<CameraDecision>>>,
}

impl Room {
    /// Health of every device, in configuration order.
    pub fn health(&self) -> Vec<DeviceHealth> {
        let cameras = self.cameras.iter().map(|(_, c)| c.health());
        let displays = self.displays.iter().map(|(_, d)| d.health());
        let gpio =
            self.gpio.iter().map(|h| h.lock().map(|h| h.clone()).unwrap_or_else(|e| e.into_inner().clone()));
        let microphones = self.microphones.iter().map(|(_, m)| m.health());
        let central = self.central_units.iter().map(|u| u.handle.health());
        cameras.chain(displays).chain(microphones).chain(central).chain(gpio).collect()
    }

    /// What each display should show now, by name.
    pub fn display_desired(&self) -> Vec<(String, DisplayState)> {
        self.displays.iter().map(|(n, d)| (n.clone(), d.desired())).collect()
    }

    /// The display of that name.
    pub fn display(&self, name: &str) -> Option<&DisplayHandle> {
        self.displays.iter().find(|(n, _)| n == name).map(|(_, d)| d)
    }

    /// A microphone array by name.
    pub fn microphone(&self, name: &str) -> Option<&MicHandle> {
        self.microphones.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }

    /// Runs a test action on a display or switcher.
    pub async fn display_action(
        &self,
        name: &str,
        action: DisplayAction,
    ) -> Option<Result<DisplayState, LinkError>> {
        Some(self.display(name)?.action(action).await)
    }

    /// What the camera director decided last.
    pub fn camera_decisions(&self) -> Vec<CameraDecision> {
        self.decisions.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// The camera of that name.
    pub fn camera(&self, name: &str) -> Option<&CameraHandle> {
        self.cameras.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// Runs a test action on a camera.
    pub async fn camera_action(
        &self,
        name: &str,
        action: CameraAction,
    ) -> Option<Result<String, CameraError>> {
        Some(self.camera(name)?.action(action).await)
    }

    /// Whether the room has any device.
    pub fn is_empty(&self) -> bool {
        self.cameras.is_empty()
            && self.displays.is_empty()
            && self.microphones.is_empty()
            && self.central_units.is_empty()
    }
}

/// Starts a driver per configured device and the task that directs them.
/// Devices with `simulated = true` get their simulator first (the demo), bound to a free
/// port or a new pty, so several demos run side by side.
/// `unit_voices` receives the networked desk units' voice activity (`voice::channel`).
pub async fn start(
    config: &RoomConfig,
    session: &SessionHandle,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
    monitor: &podium_devices::monitor::FrameMonitor,
    unit_voices: tokio::sync::mpsc::Receiver<voice::HeardVoice>,
) -> Room {
    let mut room = Room::default();
    let config = &sim::start(config, &mut room.sims, cancel).await;
    for c in &config.cameras {
        let mut settings = CameraSettings::new(&c.name, c.transport.clone());
        settings.address = c.visca_address;
        settings.numbering = c.numbering;
        settings.monitor = Some(monitor.clone());
        let (handle, task) = driver::spawn(settings, cancel.clone());
        tracker.spawn(async move {
            let _ = task.await;
        });
        room.cameras.push((c.name.clone(), handle));
    }
    for d in &config.displays {
        let handle = spawn_display(d, cancel, tracker, monitor);
        room.displays.push((d.name.clone(), handle));
    }
    let unit_seats: Vec<_> = config.mqtt_desk_units.iter().map(|u| u.seat).collect();
    let voice = voice::Voice::new(&config.microphones, &unit_seats, config.voice);
    let (gate_reports, gates) = tokio::sync::mpsc::channel(256);
    for m in &config.microphones {
        let channels = voice.channels_of(&m.name);
        let subscription =
            (!channels.is_empty()).then(|| GateSubscription { channels, reports: gate_reports.clone() });
        let (handle, task) = podium_devices::shure::driver::spawn_with_gates(
            &m.name,
            m.addr,
            cancel.clone(),
            Some(monitor.clone()),
            subscription,
        );
        tracker.spawn(async move {
            let _ = task.await;
        });
        room.microphones.push((m.name.clone(), handle));
    }
    room.central_units = central::start(&config.central_units, session, cancel, tracker, monitor).await;
    if let Some(gpio) = &config.gpio {
        start_gpio(&mut room, gpio, session, cancel, tracker);
    }
    if room.is_empty() && config.mqtt_desk_units.is_empty() {
        return room;
    }
    let director = CameraDirector::new(config.camera_director.clone(), config.cameras.clone());
    let plan = Plan {
        displays: config.displays.clone(),
        microphones: config.microphones.clone(),
        presentation_sources: config.presentation_sources.clone(),
    };
    let voice = VoiceInputs { voice, gates, units: unit_voices };
    tracker.spawn(direct(director, plan, voice, room.clone(), session.clone(), cancel.clone()));
    room
}

/// Opens the button box; without GPIO hardware the room runs on, and health says why.
fn start_gpio(
    room: &mut Room,
    config: &crate::config::GpioConfig,
    session: &SessionHandle,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
) {
    use podium_devices::gpio::cdev::CdevGpio;
    use podium_devices::gpio::sim::SimGpio;

    let address = match config.backend {
        crate::config::GpioBackendKind::Cdev => config.chip.clone(),
        crate::config::GpioBackendKind::Simulated => "simulated".to_owned(),
    };
    let health = Arc::new(Mutex::new(DeviceHealth::new("buttons", "gpio", address)));
    room.gpio = Some(health.clone());
    let (commands, received) = tokio::sync::mpsc::channel(8);
    let snapshots = session.watch();
    match config.backend {
        crate::config::GpioBackendKind::Simulated => {
            let sim = SimGpio::new(config.buttons.len(), config.lamps.len());
            room.gpio_sim = Some((sim.clone(), config.clone()));
            tracker.spawn(gpio::run(sim, config.clone(), commands, snapshots, health, cancel.clone()));
        }
        crate::config::GpioBackendKind::Cdev => {
            let inputs: Vec<u32> = config.buttons.iter().map(|(l, _)| *l).collect();
            let outputs: Vec<u32> = config.lamps.iter().map(|(l, _)| *l).collect();
            match CdevGpio::open(&config.chip, &inputs, &outputs) {
                Ok(chip) => {
                    tracker.spawn(gpio::run(
                        chip,
                        config.clone(),
                        commands,
                        snapshots,
                        health,
                        cancel.clone(),
                    ));
                }
                Err(e) => {
                    tracing::error!("{e}; the button box is off, the room runs without it");
                    if let Ok(mut h) = health.lock() {
                        h.failed(e.to_string(), true);
                    }
                    return;
                }
            }
        }
    }
    tracker.spawn(hand_over_presses(received, session.clone()));
}

/// Button presses the session has not answered yet, at most; beyond it presses wait.
const PRESSES_IN_FLIGHT: usize = 64;

/// Hands each press of the button box to the session without waiting for the answer of
/// the one before (with a meeting open that is a journal write); answers are logged as
/// they come, in order.
async fn hand_over_presses(
    mut presses: tokio::sync::mpsc::Receiver<podium_floor::Command>,
    session: SessionHandle,
) {
    use crate::session::{CommandError, SessionClosed, Source};
    use futures_util::StreamExt;

    let mut in_flight = futures_util::stream::FuturesOrdered::new();
    loop {
        let command = tokio::select! {
            Some(answered) = in_flight.next(), if !in_flight.is_empty() => {
                if let Err(SessionClosed) = answered {
                    return;
                }
                continue;
            }
            command = presses.recv(), if in_flight.len() < PRESSES_IN_FLIGHT => match command {
                Some(command) => command,
                None => return,
            },
        };
        // A stuck or chattering button is rate-limited like any other source.
        let source = Source::Other("gpio".into());
        match session.enqueue_from(source, command, podium_floor::Actor::Chair).await {
            Ok(answer) => in_flight.push_back(log_press_answer(answer)),
            Err(CommandError::RateLimited { .. }) => tracing::warn!("button box: too many presses, ignored"),
            Err(CommandError::Closed) => return,
        }
    }
}

async fn log_press_answer(answer: crate::session::Answer) -> Result<(), crate::session::SessionClosed> {
    if let Err(rejection) = answer.await? {
        tracing::info!("button box: {rejection:?}");
    }
    Ok(())
}

/// How often an idle display is read back (to see device-side changes and faults).
const DISPLAY_POLL: Duration = Duration::from_secs(3);

fn spawn_display(
    d: &DisplayConfig,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
    monitor: &podium_devices::monitor::FrameMonitor,
) -> DisplayHandle {
    let (handle, task) = match &d.device {
        DisplayDevice::Pjlink { addr, password } => display::spawn(
            &d.name,
            PjlinkLink::new(*addr, password.clone()).monitored(monitor.clone(), &d.name),
            DISPLAY_POLL,
            cancel.clone(),
        ),
        DisplayDevice::Mdc { addr, serial, id } => {
            let transport = match (addr, serial) {
                (Some(a), _) => MdcTransport::Tcp(*a),
                (None, Some(s)) => MdcTransport::Serial(s.clone()),
                (None, None) => MdcTransport::Tcp(([127, 0, 0, 1], podium_devices::mdc::codec::PORT).into()),
            };
            display::spawn(
                &d.name,
                MdcLink::new(transport, *id).monitored(monitor.clone(), &d.name),
                DISPLAY_POLL,
                cancel.clone(),
            )
        }
        DisplayDevice::Extron { addr, serial, outputs } => {
            let transport = match (addr, serial) {
                (Some(a), _) => MatrixTransport::Tcp(*a),
                (None, Some(s)) => MatrixTransport::Serial(s.clone()),
                (None, None) => MatrixTransport::Tcp(([127, 0, 0, 1], 23).into()),
            };
            display::spawn(
                &d.name,
                ExtronLink::new(transport, outputs.clone()).monitored(monitor.clone(), &d.name),
                DISPLAY_POLL,
                cancel.clone(),
            )
        }
    };
    tracker.spawn(async move {
        let _ = task.await;
    });
    handle
}

/// The configuration the stateless directors need.
struct Plan {
    displays: Vec<DisplayConfig>,
    microphones: Vec<MicrophoneConfig>,
    presentation_sources: Vec<crate::config::PresentationSourceConfig>,
}

/// The voice state and what feeds it: the arrays' gates and the networked units.
struct VoiceInputs {
    voice: voice::Voice,
    gates: tokio::sync::mpsc::Receiver<(String, GateReport)>,
    units: tokio::sync::mpsc::Receiver<voice::HeardVoice>,
}

/// Recomputes the desired state on every snapshot and at the directors' deadlines, and
/// turns what the room's ears hear into voice activity.
async fn direct(
    mut director: CameraDirector,
    plan: Plan,
    VoiceInputs { mut voice, mut gates, mut units }: VoiceInputs,
    room: Room,
    session: SessionHandle,
    cancel: CancellationToken,
) {
    use futures_util::StreamExt;
    let origin = tokio::time::Instant::now();
    let now = || podium_floor::Instant(origin.elapsed().as_millis() as u64);
    let mut snapshots = session.watch();
    // Voice commands whose answers are still to come: (seat, refused).
    let mut in_flight = futures_util::stream::FuturesUnordered::new();
    let mut voices = Vec::new();
    loop {
        let snapshot = snapshots.borrow_and_update().clone();
        let floor = &snapshot.floor;
        for unit in &room.central_units {
            unit.handle.set_desired(central::unit_floor(&unit.config, floor));
        }
        voice.observe(&snapshot, now().0);
        voices.extend(voice.tick(now().0));
        for (seat, active) in voices.drain(..) {
            let Some(command) = voice.command(&snapshot, seat, active) else { continue };
            // Per seat, as a desk's keys: a chattering seat is cut off alone.
            let source = crate::session::Source::Desk { bus: "voice".into(), unit: seat };
            match session.enqueue_from(source, command, podium_floor::Actor::System).await {
                Ok(answer) => in_flight.push(async move { (seat, !matches!(answer.await, Ok(Ok(_)))) }),
                Err(crate::session::CommandError::RateLimited { .. }) => {
                    voice.rate_limited(seat, active, now().0)
                }
                Err(crate::session::CommandError::Closed) => return,
            }
        }
        let (speakers, meeting_open, public) =
            (&floor.speakers, floor.phase != podium_floor::MeetingPhase::None, floor.public);
        let (decisions, deadline) = director.decide(speakers, public, now());
        for d in &decisions {
            if let Some(camera) = room.camera(&d.camera) {
                camera.set_desired(d.preset);
            }
        }
        // A source the room file no longer has (changed since it was presented) shows nothing.
        let presenting = floor
            .presentation
            .as_ref()
            .and_then(|p| plan.presentation_sources.iter().find(|s| s.name == p.source).map(|s| (s, p.on)));
        let states = display_director::decide(&plan.displays, speakers, meeting_open, public, presenting);
        for ((_, handle), state) in room.displays.iter().zip(states) {
            handle.set_desired(state);
        }
        let listening = |seat| voice.listening(&snapshot, seat);
        for ((_, handle), mutes) in
            room.microphones.iter().zip(microphone_director::decide(&plan.microphones, speakers, listening))
        {
            handle.set_desired(mutes);
        }
        if let Ok(mut last) = room.decisions.lock() {
            *last = decisions;
        }
        let deadline = [deadline.map(|d| d.0), voice.next_deadline()].into_iter().flatten().min();
        let wake = deadline.map(|d| origin + Duration::from_millis(d));
        tokio::select! {
            _ = cancel.cancelled() => return,
            changed = snapshots.changed() => if changed.is_err() { return },
            Some((name, report)) = gates.recv() => voices.extend(voice.gate(&name, report.channel, report.open, now().0)),
            Some(heard) = units.recv() => voices.extend(voice.unit(heard, now().0)),
            Some((seat, refused)) = in_flight.next(), if !in_flight.is_empty() => {
                if refused {
                    voice.refused(seat);
                }
            }
            _ = async { match wake { Some(at) => tokio::time::sleep_until(at).await, None => std::future::pending().await } } => {}
        }
    }
}
