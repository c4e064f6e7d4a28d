//! A simulated Televic CoCon server on HTTP (hyper): connections with the notification
//! long poll (held up to `hold`, then 408; unknown ids 400; ids expire after 180 s without a
//! poll), `Subscribe`/`Unsubscribe`, and the Microphone model: `SetState` (On, Off, Request,
//! Toggle), `GetState`, `Get`, `GetMicrophoneMode`, `SetMicrophoneMode`,
//! `ClearMicrophoneList`, `ActivateNextMicrophone`. Every change goes to every subscribed
//! connection as a `MicrophoneState` event with the whole lists. A delegate's key is
//! [`SimCocon::press`]; [`SimCocon::restart`] forgets every connection and the lists.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request as HttpRequest, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::super::{UnitFloor, UnitSeat};
use super::codec::{self, ClearList, MicState, Request};
use super::hub::{Hub, Take};

#[derive(Debug, Clone)]
struct Lists {
    seats: Vec<UnitSeat>,
    mode: String,
    max_active: usize,
    speakers: Vec<UnitSeat>,
    requests: Vec<UnitSeat>,
}

impl Lists {
    fn event(&self) -> Value {
        codec::microphone_state(&self.speakers, &self.requests)
    }

    fn floor(&self) -> UnitFloor {
        UnitFloor {
            speakers: self.speakers.iter().copied().collect(),
            requests: self.requests.iter().copied().collect(),
        }
    }

    fn on(&mut self, seat: UnitSeat) {
        if self.seats.contains(&seat)
            && !self.speakers.contains(&seat)
            && self.speakers.len() < self.max_active
        {
            self.requests.retain(|s| *s != seat);
            self.speakers.push(seat);
        }
    }

    fn off(&mut self, seat: UnitSeat) {
        self.speakers.retain(|s| *s != seat);
        self.requests.retain(|s| *s != seat);
    }

    fn request(&mut self, seat: UnitSeat) {
        if self.seats.contains(&seat) && !self.speakers.contains(&seat) && !self.requests.contains(&seat) {
            self.requests.push(seat);
        }
    }

    fn set(&mut self, state: MicState, seat: UnitSeat) {
        match state {
            MicState::On => self.on(seat),
            MicState::Off => self.off(seat),
            MicState::Request => self.request(seat),
            MicState::Toggle if self.speakers.contains(&seat) => self.off(seat),
            MicState::Toggle => self.on(seat),
        }
    }
}

struct Inner {
    lists: Lists,
    hub: Hub,
    next_id: u64,
}

/// A simulated CoCon server; clone it to act at its seats while it serves.
#[derive(Clone)]
pub struct SimCocon {
    inner: Arc<Mutex<Inner>>,
    /// Bumped on every event: held notification requests look again.
    events: watch::Sender<u64>,
    /// Bumped by a restart: every connection of an older generation ends.
    generation: watch::Sender<u64>,
    floor: watch::Sender<UnitFloor>,
    hold: Duration,
    requests: Arc<Mutex<Vec<String>>>,
}

impl SimCocon {
    /// A server with these seats in `DirectSpeak` mode (four microphones at most), holding
    /// notification requests for `hold` (the real one: 30 s).
    pub fn new(seats: &[UnitSeat], hold: Duration) -> Self {
        let lists = Lists {
            seats: seats.to_vec(),
            mode: "DirectSpeak".into(),
            max_active: 4,
            speakers: Vec::new(),
            requests: Vec::new(),
        };
        SimCocon {
            inner: Arc::new(Mutex::new(Inner { lists, hub: Hub::default(), next_id: 1 })),
            events: watch::channel(0).0,
            generation: watch::channel(0).0,
            floor: watch::channel(UnitFloor::default()).0,
            hold,
            requests: Arc::default(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let before = inner.lists.floor();
        let r = f(&mut inner);
        let after = inner.lists.floor();
        if after != before {
            let event = inner.lists.event();
            inner.hub.publish("Microphone", &event);
            self.events.send_modify(|n| *n += 1);
            self.floor.send_replace(after);
        }
        r
    }

    /// A key pressed at `seat`: off while speaking, withdrawn while waiting, else on
    /// (`DirectSpeak`, if there is room) or a request (the other modes).
    pub fn press(&self, seat: UnitSeat) {
        self.with(|i| {
            let l = &mut i.lists;
            if l.speakers.contains(&seat) || l.requests.contains(&seat) {
                l.off(seat);
            } else if l.mode.eq_ignore_ascii_case("DirectSpeak") {
                l.on(seat);
            } else {
                l.request(seat);
            }
        });
    }

    /// Sends `event` as it is (e.g. a malformed one) to every connection subscribed to the
    /// Microphone model.
    pub fn send_event(&self, event: Value) {
        self.with(|i| i.hub.publish("Microphone", &event));
        self.events.send_modify(|n| *n += 1);
    }

    /// Open microphones and waiting requests now.
    pub fn floor(&self) -> UnitFloor {
        self.floor.borrow().clone()
    }

    /// The microphone mode now.
    pub fn mode(&self) -> String {
        self.with(|i| i.lists.mode.clone())
    }

    /// Every request's path and query, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Waits until the lists satisfy `test`; `false` after `timeout`.
    pub async fn wait_for(&self, timeout: Duration, test: impl FnMut(&UnitFloor) -> bool) -> bool {
        let mut rx = self.floor.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(test)).await.is_ok_and(|r| r.is_ok())
    }

    /// A power cycle: every connection and id is gone, the lists are empty, the mode is
    /// `DirectSpeak` again.
    pub fn restart(&self) {
        self.with(|i| {
            i.hub = Hub::default();
            i.lists.speakers.clear();
            i.lists.requests.clear();
            i.lists.mode = "DirectSpeak".into();
        });
        self.generation.send_modify(|g| *g += 1);
    }

    fn reply(status: StatusCode, value: &Value) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(codec::encode_body(value))));
        *response.status_mut() = status;
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    }

    async fn answer(&self, path: &str, query: &str) -> Response<Full<Bytes>> {
        if let Ok(mut r) = self.requests.lock() {
            r.push(if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") });
        }
        let ok = |v: Value| Self::reply(StatusCode::OK, &v);
        match Request::parse(path, query) {
            Request::Connect => {
                let id = self.with(|i| {
                    let id = format!("sim-{:08x}-0000-4000-8000-000000000000", i.next_id);
                    i.next_id += 1;
                    i.hub.connect(id.clone(), Instant::now());
                    id
                });
                ok(json!({"Connect": true, "id": id}))
            }
            Request::Disconnect { id } => ok(json!(if self.with(|i| i.hub.disconnect(&id)) { 0 } else { 1 })),
            Request::Notification { id } => self.notification(&id).await,
            Request::Subscribe { model, id, details } => {
                let result = self.with(|i| i.hub.subscribe(&id, &model));
                ok(json!({"Subscribe": {"Model": model, "result": result, "details": details}}))
            }
            Request::Unsubscribe { model, id } => {
                let result = self.with(|i| i.hub.unsubscribe(&id, &model));
                ok(json!({"UnSubscribe": {"Model": model, "result": result}}))
            }
            Request::SetState { state, seat } => {
                self.with(|i| i.lists.set(state, seat));
                ok(json!(codec::OK))
            }
            Request::GetState => {
                let (s, r) = self.with(|i| (i.lists.speakers.clone(), i.lists.requests.clone()));
                ok(json!({"GetState": {"State": {"Speakers": s, "Requests": r, "Replies": []}}}))
            }
            Request::Get => {
                let l = self.with(|i| i.lists.clone());
                ok(
                    json!({"Get": {"MicrophoneMode": {"Mode": l.mode, "MaxNrActive": l.max_active}, "State": {"Speakers": l.speakers, "Requests": l.requests, "Replies": []}}}),
                )
            }
            Request::GetMode => {
                let l = self.with(|i| i.lists.clone());
                ok(
                    json!({"GetMicrophoneMode": {"MicrophoneMode": {"Mode": l.mode, "MaxNrActive": l.max_active}}}),
                )
            }
            Request::SetMode { mode, max_active } => {
                self.with(|i| {
                    let known = codec::MODES.iter().find(|m| m.eq_ignore_ascii_case(&mode));
                    i.lists.mode = known.map_or(mode, |m| (*m).to_owned());
                    if let Some(n) = max_active {
                        i.lists.max_active = usize::from(n.max(1));
                    }
                });
                ok(json!(codec::OK))
            }
            Request::Clear(list) => {
                self.with(|i| {
                    if list != ClearList::Requests {
                        i.lists.speakers.clear();
                    }
                    if list != ClearList::Speakers {
                        i.lists.requests.clear();
                    }
                });
                ok(json!(codec::OK))
            }
            Request::ActivateNext => {
                self.with(|i| {
                    if let Some(next) = i.lists.requests.first().copied() {
                        if i.lists.speakers.len() >= i.lists.max_active && !i.lists.speakers.is_empty() {
                            let first = i.lists.speakers[0];
                            i.lists.off(first);
                        }
                        i.lists.on(next);
                    }
                });
                ok(json!(codec::OK))
            }
            Request::BadParameter(_) => ok(json!(codec::BAD_PARAMETER)),
            Request::Unknown(_) => Self::reply(StatusCode::NOT_FOUND, &json!({"Error": "unknown request"})),
        }
    }

    async fn notification(&self, id: &str) -> Response<Full<Bytes>> {
        let deadline = tokio::time::Instant::now() + self.hold;
        let mut events = self.events.subscribe();
        loop {
            events.borrow_and_update();
            let taken = self.with(|i| {
                let now = Instant::now();
                i.hub.expire(now, Duration::from_secs(codec::EXPIRY_S));
                i.hub.take(id, now)
            });
            match taken {
                Take::Event(event) => return Self::reply(StatusCode::OK, &event),
                Take::Unknown => {
                    return Self::reply(StatusCode::BAD_REQUEST, &json!({"Notification": "Error 400"}));
                }
                Take::Empty => {}
            }
            if tokio::time::timeout_at(deadline, events.changed()).await.is_err() {
                self.with(|i| i.hub.touch(id, Instant::now()));
                return Self::reply(StatusCode::REQUEST_TIMEOUT, &json!({"Notification": "Error 408"}));
            }
        }
    }

    async fn connection(&self, stream: TcpStream) {
        let mut generation = self.generation.subscribe();
        generation.borrow_and_update();
        let sim = self.clone();
        let service = hyper::service::service_fn(move |request: HttpRequest<hyper::body::Incoming>| {
            let sim = sim.clone();
            async move {
                let path = request.uri().path().to_owned();
                let query = request.uri().query().unwrap_or("").to_owned();
                Ok::<_, Infallible>(sim.answer(&path, &query).await)
            }
        });
        let serving = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        tokio::select! {
            _ = generation.changed() => {}
            _ = serving => {}
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
