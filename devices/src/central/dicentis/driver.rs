//! Podium as a DICENTIS Conference Protocol client: one WebSocket (`DICENTIS_1_0`), `Login`,
//! `RegisterEvents` for the discussion list and the seats, `GetSeats` (the room file names
//! seats by their DICENTIS seat name; the driver finds their ids), `GetDiscussionList` as the
//! unit's state, then `GrantSpeech` / `RemoveSpeech` / `RequestSpeech` for whatever differs
//! from the floor through the shared [`Reconciler`]. Events carry no data and fire once until
//! the list is read again, so every `DiscussionListChanged` is answered with a read, and the
//! list is also read every 5 s in case an event was missed. TLS: the DICENTIS server's
//! certificate is self-signed, so it is pinned by its SHA-256 fingerprint (`tls_fingerprint`)
//! instead of accepted blindly as the open clients do.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;

use super::super::reconcile::{Reconciler, SeatList, ignored_problem};
use super::super::{CentralHandle, DriverSide, SeatReport, Tally, UnitFloor, UnitSeat};
use super::codec::{self, Message};
use crate::monitor::{Direction, FrameMonitor};
use crate::serial::Backoff;

const CONNECT: Duration = Duration::from_secs(5);
/// Longest wait for an answer.
const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// How long a change may take to show in the list (the server works asynchronously).
const ANSWER: Duration = Duration::from_secs(2);
const HOLD: Duration = Duration::from_secs(5);
/// The list is read this often even without an event.
const REREAD: Duration = Duration::from_secs(5);

/// How the driver reaches and logs in to the server (`Debug` shows no password).
#[derive(Clone)]
pub struct DicentisSettings {
    /// The server.
    pub addr: SocketAddr,
    /// SHA-256 of the server's certificate (32 bytes): TLS with that certificate only.
    /// `None`: plain WebSocket (a simulator, a test bench).
    pub tls_fingerprint: Option<[u8; 32]>,
    /// A Meeting application user with "manage meeting" rights.
    pub user: String,
    /// Its password.
    pub password: String,
    /// Podium's unit seat number → the DICENTIS seat name.
    pub seats: BTreeMap<UnitSeat, String>,
}

impl std::fmt::Debug for DicentisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DicentisSettings")
            .field("addr", &self.addr)
            .field("tls", &self.tls_fingerprint.is_some())
            .field("user", &self.user)
            .field("seats", &self.seats)
            .finish_non_exhaustive()
    }
}

/// Starts the driver; changes made at the seats go to `reports` with `name`.
pub fn spawn(
    name: &str,
    settings: DicentisSettings,
    reports: mpsc::Sender<(String, SeatReport)>,
    monitor: Option<FrameMonitor>,
    cancel: CancellationToken,
) -> (CentralHandle, tokio::task::JoinHandle<()>) {
    let scheme = if settings.tls_fingerprint.is_some() { "wss" } else { "ws" };
    let (handle, side) = CentralHandle::new(name, "bosch_dicentis", format!("{scheme} {}", settings.addr));
    let link = Link { name: name.to_owned(), settings, reports, monitor, side };
    (handle, tokio::spawn(link.run(cancel)))
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Link {
    name: String,
    settings: DicentisSettings,
    reports: mpsc::Sender<(String, SeatReport)>,
    monitor: Option<FrameMonitor>,
    side: DriverSide,
}

/// What an answer is for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Asked {
    List,
    Seats,
    Command,
    Other,
}

/// Each configured seat's id, found by its name; and what is wrong, for the health (a name
/// the server lacks, or has twice).
fn seat_ids(
    wanted: &BTreeMap<UnitSeat, String>,
    seats: &[codec::Seat],
) -> (HashMap<UnitSeat, String>, Option<String>) {
    let mut found = HashMap::new();
    let (mut missing, mut twice) = (Vec::new(), Vec::new());
    for (unit, name) in wanted {
        let mut ids = seats.iter().filter(|s| s.name == *name);
        match (ids.next(), ids.next()) {
            (Some(seat), None) => {
                found.insert(*unit, seat.id.clone());
            }
            (Some(_), Some(_)) => twice.push(name.as_str()),
            (None, _) => missing.push(name.as_str()),
        }
    }
    let mut trouble = Vec::new();
    if !missing.is_empty() {
        trouble.push(format!("no DICENTIS seat named {}", missing.join(", ")));
    }
    if !twice.is_empty() {
        trouble.push(format!("more than one DICENTIS seat named {} (left alone)", twice.join(", ")));
    }
    (found, (!trouble.is_empty()).then(|| trouble.join("; ")))
}

/// Requests asked and not yet answered, by id (ids start at 1: events have 0).
#[derive(Default)]
struct Asker {
    next: i64,
    asked: HashMap<i64, Asked>,
}

impl Asker {
    fn ask(&mut self, operation: &str, parameters: serde_json::Value, what: Asked) -> Message {
        self.next += 1;
        // An answer that never came is forgotten after a while, not kept forever.
        if self.asked.len() > 1000 {
            self.asked.clear();
        }
        self.asked.insert(self.next, what);
        Message::request(self.next, operation, parameters)
    }
}

impl Link {
    fn record(&self, direction: Direction, text: &str) {
        if let Some(monitor) = &self.monitor {
            // Passwords never reach the monitor.
            let shown = if text.contains("\"password\"") {
                "Login (password withheld)".to_owned()
            } else {
                text.to_owned()
            };
            monitor.record(&self.name, direction, shown.as_bytes(), || shown.clone());
        }
    }

    async fn open(&self) -> Result<Box<dyn Io>, String> {
        let addr = self.settings.addr;
        let tcp = tokio::time::timeout(CONNECT, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("no connection to {addr} within {CONNECT:?}"))?
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let Some(fingerprint) = self.settings.tls_fingerprint else { return Ok(Box::new(tcp)) };
        let config = super::pinned::client_config(fingerprint).map_err(|e| format!("TLS: {e}"))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let server = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        let tls = tokio::time::timeout(CONNECT, connector.connect(server, tcp))
            .await
            .map_err(|_| "no TLS handshake in time".to_owned())?
            .map_err(|e| format!("TLS: {e}"))?;
        Ok(Box::new(tls))
    }

    async fn run(self, cancel: CancellationToken) {
        let managed: BTreeSet<UnitSeat> = self.settings.seats.keys().copied().collect();
        let mut lists = Reconciler::new(ANSWER, HOLD).manage(managed);
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut desired = self.side.desired.clone();
        let mut tally = Tally::default();
        loop {
            lists.reset();
            let ended = tokio::select! {
                _ = cancel.cancelled() => return,
                ended = self.session(&mut lists, &mut desired, &mut backoff, &mut tally) => ended,
            };
            let Some(error) = ended else { return };
            if !self.side.link_lost(&error, &mut backoff, &cancel).await {
                return;
            }
        }
    }

    /// One connection; `None` when the report channel closed, else why it ended.
    async fn session(
        &self,
        lists: &mut Reconciler,
        desired: &mut watch::Receiver<UnitFloor>,
        backoff: &mut Backoff,
        tally: &mut Tally,
    ) -> Option<String> {
        let io = match self.open().await {
            Ok(io) => io,
            Err(e) => return Some(e),
        };
        let mut request = match format!("ws://{}{}", self.settings.addr, codec::PATH).into_client_request() {
            Ok(r) => r,
            Err(e) => return Some(e.to_string()),
        };
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", codec::SUBPROTOCOL.parse().expect("a header value"));
        let (mut ws, response) =
            match tokio::time::timeout(CONNECT, tokio_tungstenite::client_async(request, io)).await {
                Ok(Ok(done)) => done,
                Ok(Err(e)) => return Some(format!("WebSocket: {e}")),
                Err(_) => return Some("no WebSocket handshake in time".into()),
            };
        let agreed = response.headers().get("Sec-WebSocket-Protocol").and_then(|v| v.to_str().ok());
        if agreed != Some(codec::SUBPROTOCOL) {
            return Some(format!("the server did not agree to {} ({agreed:?})", codec::SUBPROTOCOL));
        }
        self.side.health(|h| {
            h.counters.connects += 1;
            h.answered();
        });
        let mut asker = Asker::default();
        // Login first; the rest follows its answer.
        let login = Message::login(0, &self.settings.user, &self.settings.password);
        let mut outbox: Vec<Message> = vec![asker.ask("Login", login.parameters, Asked::Other)];
        let mut logged_in = false;
        // The seats' ids, once `GetSeats` answered: no list is read before (its ids would
        // map to nothing, and the next read would report every seat as changed).
        let mut ids: Option<HashMap<UnitSeat, String>> = None;
        let mut missing_seats: Option<String> = None;
        let mut problem = None;
        let mut reread = tokio::time::Instant::now() + REREAD;
        let mut last_answer = tokio::time::Instant::now();
        loop {
            if let (true, Some(ids)) = (logged_in && lists.synced(), &ids) {
                // Seats the server does not have are not asked for (health names them).
                let mut want = desired.borrow_and_update().clone();
                want.speakers.retain(|s| ids.contains_key(s));
                want.requests.retain(|s| ids.contains_key(s));
                lists.set_desired(want);
                while let Some(change) = lists.next_change(Instant::now()) {
                    let Some(id) = ids.get(&change.seat).cloned() else { continue };
                    let op = match (change.list, change.on) {
                        (SeatList::Mic, true) => "GrantSpeech",
                        (SeatList::Request, true) => "RequestSpeech",
                        (_, false) => "RemoveSpeech",
                    };
                    outbox.push(asker.ask(op, json!({"seatIds": [id]}), Asked::Command));
                }
            }
            for message in outbox.drain(..) {
                let text = message.encode();
                self.record(Direction::Out, &text);
                if let Err(e) = ws.send(Frame::Text(text.into())).await {
                    return Some(format!("WebSocket: {e}"));
                }
            }
            while let Some(report) = lists.poll_report() {
                if self.reports.send((self.name.clone(), report)).await.is_err() {
                    return None;
                }
            }
            self.side.publish(lists, tally, problem.take());
            let wake = lists.poll_timeout().map(tokio::time::Instant::from_std);
            let deadline = [Some(reread), wake].into_iter().flatten().min().unwrap_or(reread);
            tokio::select! {
                changed = desired.changed() => if changed.is_err() { return None },
                _ = tokio::time::sleep_until(deadline) => {
                    if let Some((seat, list)) = lists.expire(Instant::now()).first() {
                        problem = Some(ignored_problem(*seat, *list));
                        if ids.is_some() {
                            outbox.push(asker.ask("GetDiscussionList", json!({}), Asked::List));
                        }
                    }
                    if tokio::time::Instant::now() >= reread {
                        reread = tokio::time::Instant::now() + REREAD;
                        // The server answers every request (the login too); silence this
                        // long is a dead link.
                        if last_answer.elapsed() > ANSWER_WAIT + REREAD {
                            return Some("the server stopped answering".into());
                        }
                        if logged_in {
                            let (operation, what) = if ids.is_some() { ("GetDiscussionList", Asked::List) } else { ("GetSeats", Asked::Seats) };
                            outbox.push(asker.ask(operation, json!({}), what));
                            if let Some(missing) = &missing_seats {
                                problem = Some(missing.clone());
                            }
                        }
                    }
                }
                frame = ws.next() => {
                    let text = match frame {
                        Some(Ok(Frame::Text(t))) => t.to_string(),
                        Some(Ok(Frame::Close(_))) | None => return Some("the server closed the connection".into()),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Some(format!("WebSocket: {e}")),
                    };
                    self.record(Direction::In, &text);
                    self.side.health(|h| h.answered());
                    let Ok(message) = Message::parse(&text) else {
                        tally.malformed += 1;
                        problem = Some(format!("the server sent a message that is not JSON: {:?}", text.chars().take(80).collect::<String>()));
                        continue;
                    };
                    if message.is("event") {
                        if ids.is_some() && message.events().iter().any(|e| e.eq_ignore_ascii_case(codec::LIST_CHANGED)) {
                            outbox.push(asker.ask("GetDiscussionList", json!({}), Asked::List));
                        }
                        if message.events().iter().any(|e| e.eq_ignore_ascii_case(codec::SEATS_CHANGED)) {
                            outbox.push(asker.ask("GetSeats", json!({}), Asked::Seats));
                        }
                        continue;
                    }
                    last_answer = tokio::time::Instant::now();
                    let what = message.message_id.and_then(|id| asker.asked.remove(&id)).unwrap_or(Asked::Other);
                    if let Some(error) = message.error() {
                        if !logged_in {
                            return Some(format!("login refused: {error}"));
                        }
                        tally.errors += 1;
                        problem = Some(format!("the server answered: {error}"));
                        continue;
                    }
                    if message.is("Login") {
                        if message.parameters["loggedIn"] != true {
                            return Some("login refused (check the user and its password)".into());
                        }
                        logged_in = true;
                        let events = json!({"events": [codec::LIST_CHANGED, codec::SEATS_CHANGED]});
                        outbox.push(asker.ask("RegisterEvents", events, Asked::Other));
                        outbox.push(asker.ask("GetSeats", json!({}), Asked::Seats));
                        continue;
                    }
                    match what {
                        Asked::Seats => match codec::seats(&message.parameters) {
                            Some((seats, skipped)) => {
                                tally.malformed += skipped;
                                let (found, trouble) = seat_ids(&self.settings.seats, &seats);
                                missing_seats = trouble.clone();
                                if trouble.is_some() {
                                    problem = trouble;
                                }
                                ids = Some(found);
                                outbox.push(asker.ask("GetDiscussionList", json!({}), Asked::List));
                            }
                            None => {
                                tally.malformed += 1;
                                return Some("GetSeats answered without seats".into());
                            }
                        },
                        Asked::List if ids.is_none() => {}
                        Asked::List => match codec::discussion_list(&message.parameters) {
                            Some((list, skipped)) => {
                                tally.malformed += skipped;
                                let ids = ids.as_ref().map(|i| i.iter().map(|(u, id)| (id.as_str(), *u)).collect::<HashMap<&str, UnitSeat>>());
                                let unit_of = ids.unwrap_or_default();
                                let floor = UnitFloor {
                                    speakers: list.speaking.iter().filter_map(|id| unit_of.get(id.as_str()).copied()).collect(),
                                    requests: list.waiting.iter().filter_map(|id| unit_of.get(id.as_str()).copied()).collect(),
                                };
                                if lists.synced() {
                                    lists.update_all(&floor, Instant::now());
                                } else {
                                    lists.read(floor);
                                    backoff.reset();
                                }
                            }
                            None => {
                                tally.malformed += 1;
                                problem = Some("GetDiscussionList answered without a list".into());
                            }
                        },
                        // The server works asynchronously: the list shows the command later.
                        Asked::Command => outbox.push(asker.ask("GetDiscussionList", json!({}), Asked::List)),
                        Asked::Other => {}
                    }
                }
            }
        }
    }
}
