//! The MXA driver: one TCP connection to port 2202; the desired mute state per channel is
//! set, every REP (answers and unsolicited ones, e.g. a change in the web GUI or at the
//! mute button) updates what the device shows, and a difference is set again.
//!
//! With a [`GateSubscription`] it also asks for the automixer's gate of each channel on
//! every connection (the array then reports every change by itself) and passes each change
//! on as a [`GateReport`]. When the link ends, every gate it reported open is reported
//! closed: nobody can be heard through an array Podium cannot reach.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::codec::{self, Message};
use crate::health::DeviceHealth;
use crate::link_io::{self, LinkError};
use crate::monitor::{Direction, FrameMonitor};
use crate::serial::Backoff;

/// Channel → muted.
pub type Mutes = BTreeMap<u8, bool>;

/// A test action on an array, for the technician.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicAction {
    /// `< SET FLASH ON >`: the array's LEDs flash for 30 s, to find it in the ceiling.
    Flash,
    /// `< GET MODEL >`, with the channels' mutes as last reported.
    Status,
}

impl MicAction {
    fn request(self) -> Message {
        let (verb, value) = match self {
            MicAction::Flash => ("SET", "ON"),
            MicAction::Status => ("GET", ""),
        };
        Message { verb: verb.into(), channel: None, param: self.param().into(), value: value.into() }
    }

    /// The parameter whose REP answers it.
    fn param(self) -> &'static str {
        match self {
            MicAction::Flash => "FLASH",
            MicAction::Status => "MODEL",
        }
    }
}

type ActionReply = tokio::sync::oneshot::Sender<Result<String, LinkError>>;

/// The daemon's handle on a running microphone driver.
#[derive(Clone)]
pub struct MicHandle {
    desired: watch::Sender<Mutes>,
    observed: Arc<Mutex<Mutes>>,
    health: Arc<Mutex<DeviceHealth>>,
    actions: mpsc::Sender<(MicAction, ActionReply)>,
}

impl MicHandle {
    /// Sets the wanted mute state of the channels (others are left alone).
    pub fn set_desired(&self, mutes: Mutes) {
        self.desired.send_if_modified(|d| {
            let changed = *d != mutes;
            *d = mutes;
            changed
        });
    }

    /// What the device last reported.
    pub fn observed(&self) -> Mutes {
        self.observed.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Runs a test action; the array's answer in words. Waits for a connection at most
    /// [`ANSWER`] × 2.
    pub async fn action(&self, action: MicAction) -> Result<String, LinkError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        // The wait covers the queue as well: actions are taken only while connected, and a
        // caller who gave up is skipped then (no flash hours later).
        let asked = async {
            self.actions.send((action, reply)).await.map_err(|_| LinkError::Stopped)?;
            // Dropped unanswered: the link ended with the action on it.
            answer.await.map_err(|_| LinkError::Closed)?
        };
        tokio::time::timeout(ANSWER * 2, asked).await.unwrap_or(Err(LinkError::Timeout))
    }

    /// Health now.
    pub fn health(&self) -> DeviceHealth {
        self.health.lock().map(|h| h.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }
}

/// The automixer's gate of one channel opened (someone talks) or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateReport {
    /// The array's channel.
    pub channel: u8,
    /// Open: the array hears a talker on this channel.
    pub open: bool,
}

/// Which channels' gates to follow, and where their changes go.
#[derive(Debug, Clone)]
pub struct GateSubscription {
    /// The channels to ask for.
    pub channels: Vec<u8>,
    /// Receives every change with the microphone's name, in the order the array reported
    /// them (several arrays may share one receiver).
    pub reports: mpsc::Sender<(String, GateReport)>,
}

/// The gates as last reported, and where changes go.
struct Gates {
    name: String,
    subscription: GateSubscription,
    open: BTreeMap<u8, bool>,
}

impl Gates {
    /// Passes on a change of a subscribed channel (a gate not yet heard of counts as
    /// closed); repeats of the same state are dropped.
    async fn report(&mut self, channel: u8, open: bool) {
        if !self.subscription.channels.contains(&channel)
            || self.open.insert(channel, open).unwrap_or(false) == open
        {
            return;
        }
        let _ = self.subscription.reports.send((self.name.clone(), GateReport { channel, open })).await;
    }

    /// The link is gone: every gate reported open closes.
    async fn close_all(&mut self) {
        let open: Vec<u8> = self.open.iter().filter(|(_, open)| **open).map(|(c, _)| *c).collect();
        for channel in open {
            self.report(channel, false).await;
        }
        self.open.clear();
    }
}

fn describe(m: &Mutes) -> String {
    let open: Vec<String> = m.iter().filter(|(_, muted)| !**muted).map(|(c, _)| c.to_string()).collect();
    if open.is_empty() { "all muted".into() } else { format!("open: {}", open.join(",")) }
}

/// Starts the driver for the device at `addr`.
pub fn spawn(
    name: &str,
    addr: SocketAddr,
    cancel: CancellationToken,
) -> (MicHandle, tokio::task::JoinHandle<()>) {
    spawn_monitored(name, addr, cancel, None)
}

/// [`spawn`], reporting every string sent and received to `monitor` under `name`.
pub fn spawn_monitored(
    name: &str,
    addr: SocketAddr,
    cancel: CancellationToken,
    monitor: Option<FrameMonitor>,
) -> (MicHandle, tokio::task::JoinHandle<()>) {
    spawn_with_gates(name, addr, cancel, monitor, None)
}

/// [`spawn_monitored`], following the automixer's gates of `gates`' channels.
pub fn spawn_with_gates(
    name: &str,
    addr: SocketAddr,
    cancel: CancellationToken,
    monitor: Option<FrameMonitor>,
    gates: Option<GateSubscription>,
) -> (MicHandle, tokio::task::JoinHandle<()>) {
    let monitor = monitor.map(|m| (m, name.to_owned()));
    let gates =
        gates.map(|subscription| Gates { name: name.to_owned(), subscription, open: BTreeMap::new() });
    let (desired, rx) = watch::channel(Mutes::new());
    let observed = Arc::new(Mutex::new(Mutes::new()));
    let health = Arc::new(Mutex::new(DeviceHealth::new(name, "shure", format!("tcp {addr}"))));
    let (actions, action_rx) = mpsc::channel(4);
    let handle = MicHandle { desired, observed: observed.clone(), health: health.clone(), actions };
    let task = tokio::spawn(run(addr, rx, action_rx, observed, health, cancel, monitor, gates));
    (handle, task)
}

const ANSWER: Duration = Duration::from_secs(2);

#[allow(clippy::too_many_arguments)] // the driver's parts, each passed once
async fn run(
    addr: SocketAddr,
    mut desired: watch::Receiver<Mutes>,
    mut actions: mpsc::Receiver<(MicAction, ActionReply)>,
    observed: Arc<Mutex<Mutes>>,
    health: Arc<Mutex<DeviceHealth>>,
    cancel: CancellationToken,
    monitor: Option<(FrameMonitor, String)>,
    mut gates: Option<Gates>,
) {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    loop {
        let connected = tokio::select! {
            _ = cancel.cancelled() => return,
            c = tokio::time::timeout(ANSWER, TcpStream::connect(addr)) => c,
        };
        let error = match connected {
            Ok(Ok(stream)) => {
                backoff.reset();
                upd(&health, |h| {
                    h.counters.connects += 1;
                    h.answered();
                });
                let link = Link {
                    desired: &mut desired,
                    actions: &mut actions,
                    observed: &observed,
                    health: &health,
                };
                let ended = session(stream, link, &cancel, monitor.as_ref(), gates.as_mut()).await;
                if let Some(gates) = gates.as_mut() {
                    gates.close_all().await;
                }
                match ended {
                    None => return,
                    Some(e) => e,
                }
            }
            Ok(Err(e)) => LinkError::Connect(e).to_string(),
            Err(_) => LinkError::ConnectTimeout.to_string(),
        };
        upd(&health, |h| h.failed(error.clone(), true));
        if let Ok(mut o) = observed.lock() {
            o.clear();
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
}

/// Takes in one message from the device: an answer or an unsolicited report.
fn receive(
    message: &Message,
    pending: &mut BTreeMap<u8, (bool, Instant)>,
    desired: &watch::Receiver<Mutes>,
    observed: &Mutex<Mutes>,
    health: &Mutex<DeviceHealth>,
    monitor: Option<&(FrameMonitor, String)>,
) {
    if let Some((monitor, name)) = monitor {
        // The protocol is text: the message itself is the decoding.
        let text = message.encode();
        monitor.record(name, Direction::In, text.as_bytes(), || text.clone());
    }
    if message.is_error() {
        upd(health, |h| {
            h.counters.errors += 1;
            h.failed("the device answered REP ERR", false);
        });
        return;
    }
    let Some((channel, muted)) = message.as_mute() else { return };
    let ours = pending.remove(&channel).is_some_and(|(m, _)| m == muted);
    let was = observed.lock().ok().and_then(|mut o| o.insert(channel, muted));
    let wanted = desired.borrow().get(&channel).copied();
    if !ours && was.is_some() && was != Some(muted) && wanted.is_some_and(|w| w != muted) {
        // Changed at the device (web GUI, mute button): shown, then set back.
        let what = if muted { "muted" } else { "opened" };
        upd(health, |h| h.failed(format!("channel {channel} was {what} at the device"), false));
    }
    let now = observed.lock().map(|o| describe(&o)).unwrap_or_default();
    upd(health, |h| {
        h.answered();
        if ours {
            h.counters.completed += 1;
        }
        h.state = Some(now.clone());
    });
}

/// The answer to the technician's action, if `message` is it.
fn answered(
    wanted: MicAction,
    message: &Message,
    observed: &Mutex<Mutes>,
) -> Option<Result<String, LinkError>> {
    if message.is_error() {
        let request = wanted.request().encode();
        return Some(Err(LinkError::Refused { request, reason: "REP ERR".into() }));
    }
    if message.verb != "REP" || message.param != wanted.param() {
        return None;
    }
    let value = message.value.trim_matches(|c: char| c == '{' || c == '}' || c.is_whitespace());
    Some(Ok(match wanted {
        MicAction::Flash => format!("flashing: {value}"),
        MicAction::Status => {
            let mutes = observed.lock().map(|o| describe(&o)).unwrap_or_default();
            format!("{value}; {mutes}")
        }
    }))
}

fn upd(health: &Mutex<DeviceHealth>, f: impl FnOnce(&mut DeviceHealth)) {
    let mut h = health.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut h);
}

/// What a connection works with: the wanted mutes, the technician's actions, what the
/// array shows, health.
struct Link<'a> {
    desired: &'a mut watch::Receiver<Mutes>,
    actions: &'a mut mpsc::Receiver<(MicAction, ActionReply)>,
    observed: &'a Arc<Mutex<Mutes>>,
    health: &'a Mutex<DeviceHealth>,
}

/// Runs one connection; `None` when cancelled, else why it ended.
async fn session(
    mut stream: TcpStream,
    link: Link<'_>,
    cancel: &CancellationToken,
    monitor: Option<&(FrameMonitor, String)>,
    mut gates: Option<&mut Gates>,
) -> Option<String> {
    let Link { desired, actions, observed, health } = link;
    // The technician's action waiting for its REP, with when it was sent.
    let mut action: Option<(MicAction, ActionReply, Instant)> = None;
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    // Channels set and not yet confirmed, with when.
    let mut pending: BTreeMap<u8, (bool, Instant)> = BTreeMap::new();
    let mut asked = std::collections::BTreeSet::new();
    let mut gates_asked = false;
    loop {
        let want = desired.borrow_and_update().clone();
        let seen = observed.lock().map(|o| o.clone()).unwrap_or_default();
        let mut out = String::new();
        // Subscribe to the gates once per connection (the array reports every change).
        if let Some(gates) = gates.as_deref()
            && !std::mem::replace(&mut gates_asked, true)
        {
            for c in &gates.subscription.channels {
                out.push_str(&Message::get_gate(*c).encode());
            }
        }
        // Learn the device's state of each channel first (its REP answers).
        for c in want.keys() {
            if asked.insert(*c) {
                out.push_str(&Message::get_mute(*c).encode());
            }
        }
        for (c, muted) in &want {
            let known = seen.get(c);
            let in_flight = pending.get(c).is_some_and(|(m, _)| m == muted);
            if known.is_some() && known != Some(muted) && !in_flight {
                out.push_str(&Message::set_mute(*c, *muted).encode());
                pending.insert(*c, (*muted, Instant::now()));
            }
        }
        if !out.is_empty() {
            upd(health, |h| h.counters.sent += 1);
            if let Err(e) = stream.write_all(out.as_bytes()).await {
                return Some(LinkError::Write(e).to_string());
            }
            if let Some((monitor, name)) = monitor {
                // The protocol is text: the strings themselves are the decoding.
                monitor.record(name, Direction::Out, out.as_bytes(), || out.trim().to_owned());
            }
        }
        let oldest = pending.values().map(|(_, at)| *at).chain(action.as_ref().map(|(_, _, at)| *at)).min();
        let deadline = oldest.map_or_else(|| Instant::now() + Duration::from_secs(3600), |at| at + ANSWER);
        let take_message = |buf: &mut Vec<u8>| Ok::<_, Infallible>(codec::take(buf));
        let mut message = tokio::select! {
            _ = cancel.cancelled() => return None,
            changed = desired.changed() => if changed.is_err() { return None } else { continue },
            // Not while a mute answer is awaited: `< REP ERR >` names no command, so an error
            // then could not be told apart from the action's.
            Some((wanted, reply)) = actions.recv(), if action.is_none() && pending.is_empty() => {
                if reply.is_closed() {
                    continue;
                }
                let request = wanted.request().encode();
                if let Err(e) = stream.write_all(request.as_bytes()).await {
                    let _ = reply.send(Err(LinkError::Closed));
                    return Some(LinkError::Write(e).to_string());
                }
                if let Some((monitor, name)) = monitor {
                    monitor.record(name, Direction::Out, request.as_bytes(), || request.clone());
                }
                action = Some((wanted, reply, Instant::now()));
                continue;
            }
            read = link_io::read_frame(&mut stream, &mut buf, deadline, take_message) => match read {
                Ok(message) => message,
                Err(LinkError::Timeout) => {
                    upd(health, |h| h.counters.timeouts += 1);
                    // An unanswered diagnostic fails alone; the link (and what the gates
                    // report) stays unless a mute went unanswered as well.
                    let now = Instant::now();
                    if let Some((_, reply, _)) = action.take_if(|(_, _, at)| *at + ANSWER <= now) {
                        let _ = reply.send(Err(LinkError::Timeout));
                    }
                    if pending.values().any(|(_, at)| *at + ANSWER <= now) {
                        return Some("no answer to SET AUDIO_MUTE".into());
                    }
                    continue;
                }
                Err(e) => return Some(e.to_string()),
            },
        };
        // Every message that came with it first, so a later report in the same read counts
        // before anything is set again.
        loop {
            // `None`: an empty `< >`, nothing to act on.
            if let Some(message) = message {
                receive(&message, &mut pending, desired, observed, health, monitor);
                if let Some(answer) =
                    action.as_ref().and_then(|(wanted, ..)| answered(*wanted, &message, observed))
                    && let Some((_, reply, _)) = action.take()
                {
                    let _ = reply.send(answer);
                }
                if let (Some(gates), Some((channel, open))) = (gates.as_deref_mut(), message.as_gate()) {
                    upd(health, |h| h.answered());
                    gates.report(channel, open).await;
                }
            }
            match codec::take(&mut buf) {
                Some(next) => message = next,
                None => break,
            }
        }
    }
}
