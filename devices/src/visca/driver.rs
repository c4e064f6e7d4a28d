//! The camera driver: one task per camera that owns the link, moves packets and sleeps.
//! The rules (one outstanding command, ACK / completion / errors, retransmission, the
//! start-up sequence, the desired preset against the applied one, the liveness poll) are
//! the pure machines of [`engine`](super::engine); this task feeds them what arrives and
//! the time, sends what they ask, and reconnects when they report silence.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

pub use super::engine::CameraError;
use tokio_util::sync::CancellationToken;

use super::codec::{self, Command, Reply};
use super::engine::{Exchange, ExchangeTiming, Incoming, LinkKind, Next, Reconciler, StartupStep, Step};
use super::ip::Control;
use super::link::{Link, Transport};
use crate::health::DeviceHealth;
use crate::monitor::{Direction, FrameMonitor};
use crate::serial::Backoff;

/// How the camera numbers its presets on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PresetNumbering {
    /// Preset n is memory byte n (PTZOptics and most IP cameras: 0..=254).
    #[default]
    Direct,
    /// Preset n is memory byte n − 1 (Sony BRC/SRG: presets 1..=100 → `00`..`63`).
    OneBased,
}

impl PresetNumbering {
    /// Names in configuration.
    pub const NAMES: &'static [&'static str] = &["direct", "one_based"];

    /// The memory byte for preset `n`; `None` if the model has no such preset.
    pub fn memory(self, preset: u16) -> Option<u8> {
        match self {
            PresetNumbering::Direct => u8::try_from(preset).ok().filter(|&b| b != 0xFF),
            PresetNumbering::OneBased => {
                preset.checked_sub(1).and_then(|m| u8::try_from(m).ok()).filter(|&b| b <= 0x7F)
            }
        }
    }
}

/// Everything the driver needs to know about one camera.
#[derive(Debug, Clone)]
pub struct CameraSettings {
    /// The camera's name in the room configuration.
    pub name: String,
    /// Where it is.
    pub transport: Transport,
    /// Camera address on a serial chain (1..=7); over IP always 1.
    pub address: u8,
    /// How presets are numbered on the wire.
    pub numbering: PresetNumbering,
    /// Time to wait for an ACK (or a direct reply) before retransmitting.
    pub ack_timeout: Duration,
    /// Time to wait for completion after the ACK (a preset move can take seconds).
    pub completion_timeout: Duration,
    /// Retransmissions after an ACK timeout or a full buffer before giving up.
    pub retries: u32,
    /// Time between liveness checks (power inquiry) while idle.
    pub poll_interval: Duration,
    /// Where VISCA packets (without the VISCA-over-IP header) go for the technician's
    /// protocol monitor, if anywhere.
    pub monitor: Option<FrameMonitor>,
}

impl CameraSettings {
    /// Defaults after Sony's delivery-confirmation rules and observed cameras: 1 s for the
    /// ACK, 10 s for a move, 3 retransmissions, a liveness check every 5 s.
    pub fn new(name: impl Into<String>, transport: Transport) -> Self {
        CameraSettings {
            name: name.into(),
            transport,
            address: 1,
            numbering: PresetNumbering::Direct,
            ack_timeout: Duration::from_millis(1000),
            completion_timeout: Duration::from_secs(10),
            retries: 3,
            poll_interval: Duration::from_secs(5),
            monitor: None,
        }
    }
}

/// Test actions a technician can run on a camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraAction {
    /// Recall preset n (configuration numbering); the director takes over at its next change.
    Recall(u16),
    /// Store the current position as preset n.
    Store(u16),
    /// Pan-tilt home.
    Home,
    /// Power on or standby.
    Power(bool),
    /// Read pan and tilt.
    Position,
}

type ActionReply = oneshot::Sender<Result<String, CameraError>>;

/// The daemon's handle on a running camera driver.
#[derive(Clone)]
pub struct CameraHandle {
    desired: watch::Sender<Option<u16>>,
    actions: mpsc::Sender<(CameraAction, ActionReply)>,
    health: Arc<Mutex<DeviceHealth>>,
}

impl CameraHandle {
    /// Sets the preset the camera should show (`None`: leave it where it is).
    pub fn set_desired(&self, preset: Option<u16>) {
        self.desired.send_if_modified(|d| {
            let changed = *d != preset;
            *d = preset;
            changed
        });
    }

    /// The preset the director currently wants.
    pub fn desired(&self) -> Option<u16> {
        *self.desired.borrow()
    }

    /// Runs a test action; answers with a description of the result.
    pub async fn action(&self, action: CameraAction) -> Result<String, CameraError> {
        let (tx, rx) = oneshot::channel();
        self.actions.send((action, tx)).await.map_err(|_| CameraError::Stopped)?;
        rx.await.map_err(|_| CameraError::Stopped)?
    }

    /// The camera's health now.
    pub fn health(&self) -> DeviceHealth {
        self.health.lock().map(|h| h.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }
}

/// Starts the driver task; it runs until `cancel` fires.
pub fn spawn(
    settings: CameraSettings,
    cancel: CancellationToken,
) -> (CameraHandle, tokio::task::JoinHandle<()>) {
    let (desired, desired_rx) = watch::channel(None);
    let (actions, actions_rx) = mpsc::channel(8);
    let health =
        Arc::new(Mutex::new(DeviceHealth::new(&settings.name, "visca", settings.transport.to_string())));
    let driver = Driver { settings, health: health.clone(), desired: desired_rx, actions: actions_rx };
    let task = tokio::spawn(driver.run(cancel));
    (CameraHandle { desired, actions, health }, task)
}

struct Driver {
    settings: CameraSettings,
    health: Arc<Mutex<DeviceHealth>>,
    desired: watch::Receiver<Option<u16>>,
    actions: mpsc::Receiver<(CameraAction, ActionReply)>,
}

impl Driver {
    /// Reports a packet sent to the protocol monitor (nothing while nobody listens).
    fn tap_out(&self, command: Command, packet: &codec::Packet) {
        if let Some(monitor) = self.settings.monitor.as_ref().filter(|m| m.is_watched()) {
            monitor
                .record(&self.settings.name, Direction::Out, &packet.to_bytes(), || format!("{command:?}"));
        }
    }

    /// Passes what the link received through, reporting packets to the protocol monitor.
    fn tapped(
        &self,
        incoming: std::io::Result<Result<Incoming, codec::CodecError>>,
    ) -> std::io::Result<Result<Incoming, codec::CodecError>> {
        if let (Some(monitor), Ok(Ok(Incoming::Packet(packet)))) =
            (self.settings.monitor.as_ref().filter(|m| m.is_watched()), &incoming)
        {
            monitor.record(&self.settings.name, Direction::In, &packet.to_bytes(), || {
                match Reply::parse(packet) {
                    Ok(reply) => format!("{reply:?}"),
                    Err(e) => format!("undecodable: {e}"),
                }
            });
        }
        incoming
    }

    fn update(&self, f: impl FnOnce(&mut DeviceHealth)) {
        let mut h = self.health.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut h);
    }

    async fn run(mut self, cancel: CancellationToken) {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        loop {
            let opened = tokio::select! {
                _ = cancel.cancelled() => return,
                opened = self.open() => opened,
            };
            match opened {
                Ok(link) => {
                    backoff.reset();
                    tracing::info!(camera = %self.settings.name, "camera connected");
                    if self.serve(link, &cancel).await.is_none() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!(camera = %self.settings.name, "camera not reachable: {e}");
                    self.update(|h| h.failed(e.to_string(), true));
                }
            }
            // Answer test actions while waiting, so the API never hangs on a dead camera.
            let delay = tokio::time::sleep(backoff.next_delay());
            tokio::pin!(delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = &mut delay => break,
                    Some((_, reply)) = self.actions.recv() => {
                        let _ = reply.send(Err(CameraError::Link("not connected; retrying".into())));
                    }
                }
            }
        }
    }

    /// Opens the link and runs the start-up sequence.
    async fn open(&mut self) -> Result<Link, CameraError> {
        let mut link =
            Link::open(&self.settings.transport).await.map_err(|e| CameraError::Link(e.to_string()))?;
        self.update(|h| h.counters.connects += 1);
        let kind = match (&self.settings.transport, link.is_ip()) {
            (_, true) => LinkKind::Ip,
            (Transport::Serial(_), false) => LinkKind::Serial,
            _ => LinkKind::Tcp,
        };
        for step in super::engine::startup(kind) {
            match *step {
                StartupStep::Reset => {
                    link.send_reset().await.map_err(|e| CameraError::Link(e.to_string()))?;
                    self.expect_reset(&mut link).await?;
                }
                StartupStep::Run(command) => {
                    self.exec(&mut link, command).await?;
                }
            }
        }
        self.update(|h| h.answered());
        Ok(link)
    }

    async fn expect_reset(&mut self, link: &mut Link) -> Result<(), CameraError> {
        let deadline = Instant::now() + self.settings.ack_timeout;
        loop {
            match tokio::time::timeout_at(deadline, link.recv()).await {
                Err(_) => {
                    self.update(|h| h.counters.timeouts += 1);
                    return Err(CameraError::Timeout("RESET"));
                }
                Ok(Err(e)) => return Err(CameraError::Link(e.to_string())),
                Ok(Ok(Ok(Incoming::Control(Control::Reset)))) => return Ok(()),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Serves an open link until it fails (`Some`) or the daemon stops (`None`).
    async fn serve(&mut self, mut link: Link, cancel: &CancellationToken) -> Option<()> {
        let mut reconciler = Reconciler::new(self.settings.poll_interval, now());
        loop {
            let desired = *self.desired.borrow_and_update();
            let until = match reconciler.next(desired, now()) {
                Next::Recall(preset) => {
                    let result = self.recall(&mut link, preset).await;
                    reconciler.recalled(desired, result.is_ok(), now());
                    if let Err(e) = result {
                        tracing::warn!(camera = %self.settings.name, preset, "recall failed: {e}");
                        if e.needs_reconnect() {
                            return Some(());
                        }
                    }
                    continue;
                }
                Next::Poll => {
                    if let Err(e) = self.exec(&mut link, Command::PowerInquiry).await
                        && e.needs_reconnect()
                    {
                        return Some(());
                    }
                    continue;
                }
                Next::Sleep(until) => until,
            };
            tokio::select! {
                _ = cancel.cancelled() => return None,
                changed = self.desired.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    reconciler.desired_changed();
                }
                Some((action, reply)) = self.actions.recv() => {
                    let result = self.act(&mut link, action).await;
                    if let (CameraAction::Recall(_), Ok(_)) = (action, &result) {
                        reconciler.recalled_by_hand(*self.desired.borrow());
                    }
                    let fatal = result.as_ref().err().is_some_and(CameraError::needs_reconnect);
                    let _ = reply.send(result);
                    if fatal {
                        return Some(());
                    }
                }
                incoming = link.recv() => match self.tapped(incoming) {
                    Err(e) => {
                        self.update(|h| h.failed(format!("link lost: {e}"), true));
                        return Some(());
                    }
                    Ok(Ok(Incoming::Packet(p))) if matches!(Reply::parse(&p), Ok(Reply::NetworkChange)) => {
                        // A device was added or removed on the chain: number them again.
                        return Some(());
                    }
                    Ok(_) => {}
                },
                _ = tokio::time::sleep_until(Instant::from_std(until)) => {}
            }
        }
    }

    async fn recall(&mut self, link: &mut Link, preset: u16) -> Result<String, CameraError> {
        let memory = self.settings.numbering.memory(preset).ok_or(CameraError::NoSuchPreset(preset))?;
        self.exec(link, Command::PresetRecall(memory)).await?;
        self.update(|h| h.state = Some(format!("preset {preset}")));
        Ok(format!("preset {preset} recalled"))
    }

    async fn act(&mut self, link: &mut Link, action: CameraAction) -> Result<String, CameraError> {
        match action {
            CameraAction::Recall(n) => self.recall(link, n).await,
            CameraAction::Store(n) => {
                let memory = self.settings.numbering.memory(n).ok_or(CameraError::NoSuchPreset(n))?;
                self.exec(link, Command::PresetSet(memory)).await.map(|_| format!("preset {n} stored"))
            }
            CameraAction::Home => {
                self.exec(link, Command::Home).await?;
                self.update(|h| h.state = Some("home".into()));
                Ok("home".into())
            }
            CameraAction::Power(on) => self
                .exec(link, Command::Power(on))
                .await
                .map(|_| if on { "power on" } else { "standby" }.into()),
            CameraAction::Position => {
                let data = self.exec(link, Command::PanTiltInquiry).await?;
                let (pan, tilt) = codec::parse_pan_tilt(&data).ok_or_else(|| {
                    CameraError::Device(format!("unreadable position {}", codec::hex(&data)))
                })?;
                Ok(format!("pan {pan}, tilt {tilt}"))
            }
        }
    }

    /// Sends one command and waits for its end: completion, direct reply or error.
    /// One command is outstanding at a time; a lost ACK or reply is retransmitted (over IP
    /// with the same sequence number, as Sony's delivery confirmation asks).
    async fn exec(&mut self, link: &mut Link, command: Command) -> Result<Vec<u8>, CameraError> {
        let packet = command.packet(self.settings.address);
        link.next_message();
        let result = self.exchange(link, command, &packet).await;
        match &result {
            Ok(_) => self.update(|h| {
                h.answered();
                h.counters.completed += 1;
            }),
            Err(e) => {
                let gone = e.needs_reconnect();
                self.update(|h| h.failed(format!("{command:?}: {e}"), gone));
            }
        }
        result
    }

    /// Sends the packet and lets an [`Exchange`] decide until the command ends.
    async fn exchange(
        &mut self,
        link: &mut Link,
        command: Command,
        packet: &codec::Packet,
    ) -> Result<Vec<u8>, CameraError> {
        let timing = ExchangeTiming {
            ack_timeout: self.settings.ack_timeout,
            completion_timeout: self.settings.completion_timeout,
            retries: self.settings.retries,
        };
        let mut exchange = Exchange::start(command, link.is_ip(), timing, now());
        let result = self.drive(link, &mut exchange, packet).await;
        let tally = exchange.tally();
        self.update(|h| {
            h.counters.timeouts += tally.timeouts;
            h.counters.retransmissions += tally.retransmissions;
            h.counters.errors += tally.errors;
        });
        result
    }

    async fn drive(
        &mut self,
        link: &mut Link,
        exchange: &mut Exchange,
        packet: &codec::Packet,
    ) -> Result<Vec<u8>, CameraError> {
        let link_err = |e: std::io::Error| CameraError::Link(e.to_string());
        let command = exchange.command();
        link.send(packet).await.map_err(link_err)?;
        self.tap_out(command, packet);
        self.update(|h| h.counters.sent += 1);
        loop {
            let deadline = Instant::from_std(exchange.deadline());
            let step = match tokio::time::timeout_at(deadline, link.recv()).await {
                Err(_elapsed) => exchange.handle_timeout(now()),
                Ok(incoming) => match self.tapped(incoming).map_err(link_err)? {
                    Ok(incoming) => exchange.handle(&incoming, now()),
                    // Undecodable bytes: the next reply or the deadline decides.
                    Err(_) => Step::Wait,
                },
            };
            match step {
                Step::Wait => {}
                Step::Resend => {
                    link.send(packet).await.map_err(link_err)?;
                    self.tap_out(command, packet);
                    self.update(|h| h.counters.sent += 1);
                }
                Step::Done(result) => return result,
            }
        }
    }
}

/// The engine's time: tokio's clock (so paused test clocks apply) as a std instant.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_numbering_per_model() {
        assert_eq!(PresetNumbering::Direct.memory(2), Some(2));
        assert_eq!(PresetNumbering::Direct.memory(255), None);
        assert_eq!(PresetNumbering::OneBased.memory(1), Some(0));
        assert_eq!(PresetNumbering::OneBased.memory(100), Some(0x63));
        assert_eq!(PresetNumbering::OneBased.memory(0), None);
    }
}
