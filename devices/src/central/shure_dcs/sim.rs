//! A simulated Shure central unit (DIS-CCU dialect) on TCP: seats with delegate and chair
//! units, the modes `auto`, `fifo`, `manual` and `vox` (as `auto`: there is no voice here),
//! the speaker limits and the request list, answering only when it acts (as the manuals
//! say), every change sent to every connected controller, `mic_status` and `help` to the one
//! who asked, `command_error` for what it does not understand. A delegate's key is
//! [`SimDcs::press`]; [`SimDcs::restart`] drops every connection and forgets the lists, as a
//! power cycle does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::super::{UnitFloor, UnitSeat};
use super::codec::{self, Command, Line, MicMode, Taken};

#[derive(Debug, Clone)]
struct Seat {
    name: String,
    chair: bool,
}

#[derive(Debug, Clone)]
struct State {
    seats: BTreeMap<UnitSeat, Seat>,
    mode: MicMode,
    max_total: u8,
    max_delegates: u8,
    max_requests: u8,
    /// In the order they opened.
    speakers: Vec<UnitSeat>,
    /// In the order they asked.
    requests: Vec<UnitSeat>,
}

impl State {
    fn fresh(seats: BTreeMap<UnitSeat, Seat>) -> Self {
        State {
            seats,
            mode: MicMode::Auto,
            max_total: 4,
            max_delegates: 4,
            max_requests: 50,
            speakers: Vec::new(),
            requests: Vec::new(),
        }
    }

    fn is_chair(&self, seat: UnitSeat) -> bool {
        self.seats.get(&seat).is_some_and(|s| s.chair)
    }

    fn room_for(&self, seat: UnitSeat) -> bool {
        let delegates = self.speakers.iter().filter(|s| !self.is_chair(**s)).count();
        self.speakers.len() < usize::from(self.max_total)
            && (self.is_chair(seat) || delegates < usize::from(self.max_delegates))
    }

    /// Opens `seat`'s microphone if it can; the lines it sends.
    fn mic_on(&mut self, seat: UnitSeat, out: &mut Vec<Line>) {
        if !self.seats.contains_key(&seat) || self.speakers.contains(&seat) || !self.room_for(seat) {
            return;
        }
        self.speakers.push(seat);
        out.push(Line::MicOn(seat));
        self.request_off(seat, out);
    }

    fn mic_off(&mut self, seat: UnitSeat, out: &mut Vec<Line>) {
        let Some(i) = self.speakers.iter().position(|s| *s == seat) else { return };
        self.speakers.remove(i);
        out.push(Line::MicOff(seat));
        if self.mode == MicMode::Fifo
            && let Some(first) = self.requests.first().copied()
        {
            self.mic_on(first, out);
        }
    }

    fn request_on(&mut self, seat: UnitSeat, out: &mut Vec<Line>) {
        if !self.seats.contains_key(&seat)
            || self.is_chair(seat)
            || self.requests.contains(&seat)
            || self.speakers.contains(&seat)
            || self.requests.len() >= usize::from(self.max_requests)
        {
            return;
        }
        self.requests.push(seat);
        out.push(Line::RequestOn(seat));
    }

    fn request_off(&mut self, seat: UnitSeat, out: &mut Vec<Line>) {
        if let Some(i) = self.requests.iter().position(|s| *s == seat) {
            self.requests.remove(i);
            out.push(Line::RequestOff(seat));
        }
    }

    /// A key at `seat`: off while speaking, withdraw while waiting, else by the mode.
    fn press(&mut self, seat: UnitSeat, out: &mut Vec<Line>) {
        if self.speakers.contains(&seat) {
            self.mic_off(seat, out);
        } else if self.requests.contains(&seat) {
            self.request_off(seat, out);
        } else if self.is_chair(seat)
            || matches!(self.mode, MicMode::Auto | MicMode::Vox)
            || (self.mode == MicMode::Fifo && self.room_for(seat))
        {
            self.mic_on(seat, out);
        } else {
            self.request_on(seat, out);
        }
    }

    fn status(&self) -> Vec<Line> {
        let mut lines: Vec<Line> = self
            .seats
            .iter()
            .map(|(n, s)| Line::Seat { seat: *n, active: true, name: s.name.clone() })
            .collect();
        let setting = |name: &str, value: u8| Line::Setting { name: name.into(), value: value.to_string() };
        lines.push(Line::Mode(self.mode));
        lines.push(Line::Setting { name: "mic_interrupt".into(), value: "off".into() });
        lines.push(setting("max_total_speakers", self.max_total));
        lines.push(setting("max_speakers", self.max_delegates));
        lines.push(setting("max_requests", self.max_requests));
        lines.extend(self.speakers.iter().map(|s| Line::MicOn(*s)));
        lines.extend(self.requests.iter().map(|s| Line::RequestOn(*s)));
        lines.push(Line::StatusDone);
        lines
    }

    /// Carries out a controller's command: the lines for everyone, the lines for the asker.
    fn execute(&mut self, command: Command) -> (Vec<Line>, Vec<Line>) {
        let mut all = Vec::new();
        let mut asker = Vec::new();
        match command {
            Command::MicOn(s) => self.mic_on(s, &mut all),
            Command::MicOff(s) => self.mic_off(s, &mut all),
            Command::RequestOn(s) => self.request_on(s, &mut all),
            Command::RequestOff(s) => self.request_off(s, &mut all),
            Command::AllDelegatesOff => {
                let delegates: Vec<UnitSeat> =
                    self.speakers.iter().copied().filter(|s| !self.is_chair(*s)).collect();
                for s in delegates {
                    self.mic_off(s, &mut all);
                }
            }
            Command::AllRequestsOff => {
                for s in self.requests.clone() {
                    self.request_off(s, &mut all);
                }
            }
            Command::NextOn => {
                if let Some(first) = self.speakers.first().copied() {
                    self.mic_off(first, &mut all);
                }
                if let Some(next) = self.requests.first().copied() {
                    self.mic_on(next, &mut all);
                }
            }
            Command::Mode(m) => {
                self.mode = m;
                all.push(Line::Mode(m));
            }
            Command::MaxTotalSpeakers(n) => {
                self.max_total = n;
                all.push(Line::Setting { name: "max_total_speakers".into(), value: n.to_string() });
            }
            Command::MaxSpeakers(n) => {
                self.max_delegates = n;
                all.push(Line::Setting { name: "max_speakers".into(), value: n.to_string() });
            }
            Command::MaxRequests(n) => {
                self.max_requests = n;
                all.push(Line::Setting { name: "max_requests".into(), value: n.to_string() });
            }
            Command::Status => asker = self.status(),
            Command::Help => {
                asker = [
                    "mic_on",
                    "mic_off",
                    "mic_request_on",
                    "mic_request_off",
                    "mic_all_delegates_off",
                    "mic_all_requests_off",
                    "mic_next_on",
                    "mic_mode",
                    "max_total_speakers",
                    "max_speakers",
                    "max_requests",
                    "mic_status",
                ]
                .iter()
                .map(|c| Line::Other((*c).to_owned()))
                .collect();
            }
        }
        (all, asker)
    }
}

/// A simulated central unit; clone it to act at its seats while it serves.
#[derive(Clone)]
pub struct SimDcs {
    state: Arc<Mutex<State>>,
    /// The lists after every change, to wait on.
    floor: watch::Sender<UnitFloor>,
    lines: broadcast::Sender<String>,
    /// Bumped by a restart: every connection of an older generation ends.
    generation: watch::Sender<u64>,
    commands: Arc<Mutex<Vec<String>>>,
}

impl SimDcs {
    /// A unit with these seats (`(seat, chair)`), named `Seat <n>`, in `auto` mode.
    pub fn new(seats: &[(UnitSeat, bool)]) -> Self {
        let seats =
            seats.iter().map(|(n, chair)| (*n, Seat { name: format!("Seat {n}"), chair: *chair })).collect();
        SimDcs {
            state: Arc::new(Mutex::new(State::fresh(seats))),
            floor: watch::channel(UnitFloor::default()).0,
            lines: broadcast::channel(1024).0,
            generation: watch::channel(0).0,
            commands: Arc::default(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let r = f(&mut state);
        let floor = UnitFloor {
            speakers: state.speakers.iter().copied().collect(),
            requests: state.requests.iter().copied().collect(),
        };
        self.floor.send_if_modified(|f| {
            let changed = *f != floor;
            *f = floor;
            changed
        });
        r
    }

    fn broadcast(&self, lines: &[Line]) {
        for line in lines {
            let _ = self.lines.send(line.encode());
        }
    }

    /// A key pressed at `seat`; every controller hears what the unit did.
    pub fn press(&self, seat: UnitSeat) {
        let mut out = Vec::new();
        self.with(|s| s.press(seat, &mut out));
        self.broadcast(&out);
    }

    /// A command given at the unit itself (its web page, its front panel).
    pub fn act(&self, command: Command) {
        let (all, _) = self.with(|s| s.execute(command));
        self.broadcast(&all);
    }

    /// Sends `text` (a line as is, e.g. a malformed one) to every controller.
    pub fn send_raw(&self, text: &str) {
        let _ = self.lines.send(text.to_owned());
    }

    /// Open microphones and waiting requests now.
    pub fn floor(&self) -> UnitFloor {
        self.floor.borrow().clone()
    }

    /// The discussion mode now.
    pub fn mode(&self) -> MicMode {
        self.with(|s| s.mode)
    }

    /// Every command line received, in order.
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Waits until the lists satisfy `test`; `false` after `timeout`.
    pub async fn wait_for(&self, timeout: Duration, test: impl FnMut(&UnitFloor) -> bool) -> bool {
        let mut rx = self.floor.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(test)).await.is_ok_and(|r| r.is_ok())
    }

    /// A power cycle: every connection drops, the lists are empty and the mode is `auto`.
    pub fn restart(&self) {
        self.with(|s| *s = State::fresh(s.seats.clone()));
        self.generation.send_modify(|g| *g += 1);
    }

    async fn connection(&self, stream: TcpStream) -> std::io::Result<()> {
        let mut generation = self.generation.subscribe();
        generation.borrow_and_update();
        let mut lines = self.lines.subscribe();
        let (mut reader, mut writer) = stream.into_split();
        let mut buf = Vec::new();
        loop {
            let mut chunk = [0u8; 512];
            tokio::select! {
                _ = generation.changed() => return Ok(()),
                l = lines.recv() => match l {
                    Ok(text) => writer.write_all(text.as_bytes()).await?,
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                n = reader.read(&mut chunk) => {
                    let n = n?;
                    if n == 0 {
                        return Ok(());
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(taken) = codec::take_line(&mut buf) {
                        let Taken::Line(text) = taken else {
                            writer.write_all(Line::CommandError("syntax error".into()).encode().as_bytes()).await?;
                            continue;
                        };
                        if let Ok(mut c) = self.commands.lock() {
                            c.push(text.clone());
                        }
                        match Command::parse(&text) {
                            Ok(command) => {
                                let (all, asker) = self.with(|s| s.execute(command));
                                self.broadcast(&all);
                                // A unit works through its input in order: what this command
                                // changed goes out before a status it asked for next.
                                let mut reply = String::new();
                                while let Ok(text) = lines.try_recv() {
                                    reply.push_str(&text);
                                }
                                reply.extend(asker.iter().map(Line::encode));
                                writer.write_all(reply.as_bytes()).await?;
                            }
                            Err(text) => writer.write_all(Line::CommandError(text.into()).encode().as_bytes()).await?,
                        }
                    }
                }
            }
        }
    }

    /// Serves on `addr` (port 0: any free port) until `cancel`; returns the address.
    pub async fn serve(&self, addr: SocketAddr, cancel: CancellationToken) -> std::io::Result<SocketAddr> {
        let sim = self.clone();
        crate::sim_serve::tcp(
            addr,
            cancel,
            || true,
            move |stream| {
                let sim = sim.clone();
                async move { sim.connection(stream).await }
            },
        )
        .await
    }
}
