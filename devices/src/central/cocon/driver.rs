//! Podium as a Televic CoCon client: `Connect`, the unit set to `Operator` (only the
//! controller opens microphones; delegates' keys request), the lists read with
//! `Microphone/GetState`, then the notification long poll (one request always open, asked
//! again at once after each answer or 408) beside `SetState` for whatever differs from the
//! floor. Every `MicrophoneState` event carries the whole lists; the shared [`Reconciler`]
//! confirms Podium's changes and reports the others. A 400 (the id expired, the server
//! restarted) or a failed request reconnects with back-off, and the lists are read again.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::super::reconcile::{Reconciler, SeatList, ignored_problem};
use super::super::{CentralHandle, DriverSide, SeatReport, Tally, UnitFloor, UnitSeat};
use super::codec::{self, MicState, Request};
use crate::monitor::{Direction, FrameMonitor};
use crate::serial::Backoff;

/// Longest wait for a command's answer.
const COMMAND: Duration = Duration::from_secs(3);
/// Longest wait for a notification: the server's 30 s hold and some slack.
const POLL: Duration = Duration::from_secs(codec::NOTIFICATION_HOLD_S + 5);
/// How long a change may take to show in an event before the lists are read again.
const ANSWER: Duration = Duration::from_secs(2);
/// How long a change the unit did not make waits before it is asked again.
const HOLD: Duration = Duration::from_secs(5);

/// `MaxNrActive` sent with Operator mode: the most the document allows (1-25), so the
/// floor's own limit decides.
const OPERATOR_MAX_ACTIVE: u8 = 25;

/// Starts the driver for the CoCon server at `addr`; changes made at the units go to
/// `reports` with `name`. With `set_operator`, the microphone mode is set to `Operator`
/// after every connect. `managed`: the server's seats Podium manages (`None`: all); the
/// others (another room on the same server) are left alone.
pub fn spawn(
    name: &str,
    addr: SocketAddr,
    set_operator: bool,
    managed: Option<BTreeSet<UnitSeat>>,
    reports: mpsc::Sender<(String, SeatReport)>,
    monitor: Option<FrameMonitor>,
    cancel: CancellationToken,
) -> (CentralHandle, tokio::task::JoinHandle<()>) {
    let (handle, side) = CentralHandle::new(name, "televic_cocon", format!("http {addr}"));
    let client = reqwest::Client::builder().connect_timeout(COMMAND).build().unwrap_or_default();
    let link = Link {
        name: name.to_owned(),
        base: format!("http://{addr}"),
        set_operator,
        managed,
        client,
        reports,
        monitor,
        side,
    };
    let task = tokio::spawn(link.run(cancel));
    (handle, task)
}

struct Link {
    name: String,
    base: String,
    set_operator: bool,
    managed: Option<BTreeSet<UnitSeat>>,
    client: reqwest::Client,
    reports: mpsc::Sender<(String, SeatReport)>,
    monitor: Option<FrameMonitor>,
    side: DriverSide,
}

/// How a request ended.
enum Answer {
    Ok(serde_json::Value),
    Status(u16),
}

impl Link {
    fn record(&self, direction: Direction, text: &str) {
        if let Some(monitor) = &self.monitor {
            let shown = text.to_owned();
            monitor.record(&self.name, direction, text.as_bytes(), || shown.clone());
        }
    }

    /// One request; a body that is not JSON is an error.
    async fn get(&self, request: &Request, timeout: Duration) -> Result<Answer, String> {
        let path = request.path();
        if !matches!(request, Request::Notification { .. }) {
            self.record(Direction::Out, &format!("GET {path}"));
        }
        let response =
            self.client.get(format!("{}{path}", self.base)).timeout(timeout).send().await.map_err(|e| {
                if e.is_timeout() { format!("no answer to {path}") } else { format!("{path}: {e}") }
            })?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|e| format!("{path}: {e}"))?;
        if status != 200 {
            return Ok(Answer::Status(status));
        }
        self.record(Direction::In, &body);
        codec::decode_body(&body)
            .map(Answer::Ok)
            .map_err(|e| format!("{path}: a body that is not JSON ({})", e.0))
    }

    async fn run(self, cancel: CancellationToken) {
        let mut lists = Reconciler::new(ANSWER, HOLD);
        if let Some(seats) = &self.managed {
            lists = lists.manage(seats.clone());
        }
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        let mut desired = self.side.desired.clone();
        let mut tally = Tally::default();
        loop {
            lists.reset();
            let mut id = None;
            let ended = tokio::select! {
                _ = cancel.cancelled() => return,
                ended = self.session(&mut lists, &mut desired, &mut backoff, &mut tally, &mut id) => ended,
            };
            let Some(error) = ended else { return };
            // The server keeps a connection it was not told of for 180 s, queuing events.
            if let Some(id) = id.filter(|_| !error.contains("(400)")) {
                let _ = self.get(&Request::Disconnect { id }, COMMAND).await;
            }
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
        connection: &mut Option<String>,
    ) -> Option<String> {
        let id = match self.get(&Request::Connect, COMMAND).await {
            Ok(Answer::Ok(v)) if v["Connect"] == true && v["id"].as_str().is_some_and(|i| !i.is_empty()) => {
                v["id"].as_str().unwrap_or_default().to_owned()
            }
            Ok(Answer::Ok(v)) => return Some(format!("Connect refused: {v}")),
            Ok(Answer::Status(s)) => return Some(format!("Connect answered HTTP {s}")),
            Err(e) => return Some(e),
        };
        *connection = Some(id.clone());
        self.side.health(|h| {
            h.counters.connects += 1;
            h.answered();
        });
        let mut problem = None;
        if self.set_operator {
            let mode = Request::SetMode { mode: "Operator".into(), max_active: Some(OPERATOR_MAX_ACTIVE) };
            match self.get(&mode, COMMAND).await {
                Ok(Answer::Ok(v)) if v == codec::OK => {}
                Ok(Answer::Ok(v)) => {
                    tally.errors += 1;
                    problem = Some(format!(
                        "the server did not take Operator mode (answered {v}): its keys may open microphones \
                         by themselves; set Operator mode in CoCon"
                    ));
                }
                Ok(Answer::Status(s)) => return Some(format!("SetMicrophoneMode answered HTTP {s}")),
                Err(e) => return Some(e),
            }
        }
        let mut read_again = true;
        let notification = Request::Notification { id };
        let mut poll: std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Answer, String>> + Send + '_>,
        > = Box::pin(self.get(&notification, POLL));
        loop {
            if read_again {
                read_again = false;
                match self.get(&Request::GetState, COMMAND).await {
                    Ok(Answer::Ok(v)) => match codec::lists_of(&v) {
                        Some(floor) => {
                            lists.read(floor);
                            // The delay starts over only once the server has been read.
                            backoff.reset();
                        }
                        None => {
                            tally.malformed += 1;
                            return Some(format!("GetState answered without lists: {v}"));
                        }
                    },
                    Ok(Answer::Status(s)) => return Some(format!("GetState answered HTTP {s}")),
                    Err(e) => return Some(e),
                }
            }
            lists.set_desired(desired.borrow_and_update().clone());
            while let Some(change) = lists.next_change(Instant::now()) {
                let state = match (change.list, change.on) {
                    (SeatList::Mic, true) => MicState::On,
                    (SeatList::Request, true) => MicState::Request,
                    (_, false) => MicState::Off,
                };
                match self.get(&Request::SetState { state, seat: change.seat }, COMMAND).await {
                    Ok(Answer::Ok(v)) if v == codec::OK => {}
                    Ok(Answer::Ok(v)) => {
                        tally.errors += 1;
                        problem =
                            Some(format!("SetState {} seat {} answered {v}", state.word(), change.seat));
                    }
                    Ok(Answer::Status(s)) => return Some(format!("SetState answered HTTP {s}")),
                    Err(e) => return Some(e),
                }
            }
            while let Some(report) = lists.poll_report() {
                if self.reports.send((self.name.clone(), report)).await.is_err() {
                    return None;
                }
            }
            self.side.publish(lists, tally, problem.take());
            let wake = lists.poll_timeout().map(tokio::time::Instant::from_std);
            tokio::select! {
                changed = desired.changed() => if changed.is_err() { return None },
                answered = &mut poll => {
                    match answered {
                        Ok(Answer::Ok(event)) => {
                            self.side.health(|h| h.answered());
                            self.record(Direction::In, &event.to_string());
                            if event.get("MicrophoneState").is_some() {
                                match codec::lists_of(&event) {
                                    Some(floor) => lists.update_all(&floor, Instant::now()),
                                    None => {
                                        tally.malformed += 1;
                                        problem = Some(format!("a MicrophoneState that is not two lists of seats: {event}"));
                                    }
                                }
                            }
                        }
                        Ok(Answer::Status(408)) => self.side.health(|h| h.answered()),
                        Ok(Answer::Status(400)) => return Some("the server no longer knows this connection (400)".into()),
                        Ok(Answer::Status(s)) => return Some(format!("Notification answered HTTP {s}")),
                        Err(e) if e.contains("not JSON") => {
                            tally.malformed += 1;
                            problem = Some(e);
                            // A server (or proxy) that answers garbage at once is not asked
                            // again at once.
                            poll = Box::pin(async {
                                tokio::time::sleep(Duration::from_secs(1)).await;
                                self.get(&notification, POLL).await
                            });
                            continue;
                        }
                        Err(e) => return Some(e),
                    }
                    poll = Box::pin(self.get(&notification, POLL));
                }
                _ = async { match wake { Some(at) => tokio::time::sleep_until(at).await, None => std::future::pending().await } } => {
                    if let Some((seat, list)) = lists.expire(Instant::now()).first() {
                        problem = Some(ignored_problem(*seat, *list));
                        read_again = true;
                    }
                }
            }
        }
    }
}
