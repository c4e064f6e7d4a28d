//! Podium's answer to the Televic CoCon REST API (`[cocon_api]`): the microphone subset,
//! on its own listener, for control systems written for Televic. Followed document: Televic,
//! "CoCon API Description" v6.9, §3.3-3.4, §4.2.2, §4.3.1, §4.3.3; the wire details
//! (doubly encoded bodies, long poll) are `podium_devices::central::cocon`'s codec and hub,
//! shared with the simulated CoCon server.
//!
//! | CoCon | Podium |
//! |---|---|
//! | `Connect`, `Disconnect`, `Subscribe`, `Unsubscribe`, `Notification/id=` | connections of the hub; every change of the floor's seats is a `MicrophoneState` event (whole lists, in the floor's order) |
//! | `Microphone/GetState`, `Get`, `GetMicrophoneMode` | the floor now |
//! | `SetState On` / `Off` / `Request` / `Toggle` | `grant`; `stop` (speaking) or `withdraw` (waiting); `request`; `stop` or `grant` |
//! | `ClearMicrophoneList` `Speakers` / `Requests` / both | `stop_all` / `clear_requests` / both |
//! | `ActivateNextMicrophone` | `next` |
//! | `SetMicrophoneMode` | refused (`1`): the floor's mode is set from Podium's consoles |
//!
//! Seat numbers are the room's seat numbers; remote members are in Podium's floor but not in
//! CoCon's lists (CoCon knows seats only). Access: only `trusted` addresses, with `role`'s
//! rights through the same `Principal::actor_for` as the HTTP API, rate-limited per address
//! like any API client. A command the floor refuses answers `1` (CoCon's "bad parameter");
//! one the role may not give, or one beyond the rate limit, answers `-1` ("exception") and is
//! logged: CoCon clients resend anything that is not HTTP 200. Untrusted addresses get 403.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use podium_devices::central::cocon::codec::{self, ClearList, MicState, Request};
use podium_devices::central::cocon::hub::{Hub, Take};
use podium_floor::{Command, FloorState, Mode, RequestKind, SeatNo, Snapshot, Station};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::access::Principal;
use crate::config::CoconApiConfig;
use crate::session::{SessionHandle, Source};

/// The CoCon listener's state.
#[derive(Clone)]
struct CoconApi {
    session: SessionHandle,
    hub: Arc<Mutex<Hub>>,
    /// Bumped whenever an event is queued: held notification requests look again.
    events: watch::Receiver<u64>,
    trusted: Arc<Vec<IpAddr>>,
    principal: Principal,
    hold: Duration,
    cancel: CancellationToken,
}

impl CoconApi {
    /// The notification hub (never held across an await).
    fn hub(&self) -> std::sync::MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The seats in the floor's lists, in the floor's order (each once).
pub fn seat_lists(floor: &FloorState) -> (Vec<SeatNo>, Vec<SeatNo>) {
    let seats = |stations: &mut dyn Iterator<Item = &Station>| {
        let mut out: Vec<SeatNo> = Vec::new();
        for station in stations {
            if let Station::Seat(seat) = station
                && !out.contains(seat)
            {
                out.push(*seat);
            }
        }
        out
    };
    (
        seats(&mut floor.speakers.iter().map(|s| &s.station)),
        seats(&mut floor.requests.iter().map(|r| &r.station)),
    )
}

/// CoCon's word for the floor's mode.
fn mode_word(mode: Mode) -> &'static str {
    match mode {
        Mode::Open | Mode::Override | Mode::PushToTalk => "DirectSpeak",
        Mode::Request => "Request",
        Mode::Operator => "Operator",
        Mode::Voice => "Vox",
    }
}

/// The floor commands a CoCon command means on `floor` (empty: nothing to do).
pub fn commands_for(request: &Request, floor: &FloorState) -> Vec<Command> {
    let (speakers, requests) = seat_lists(floor);
    match request {
        Request::SetState { state, seat } => {
            let station = Station::Seat(*seat);
            let speaking = speakers.contains(seat);
            match state {
                MicState::On if !speaking => vec![Command::Grant { station }],
                MicState::Request if !speaking => {
                    vec![Command::Request {
                        station,
                        kind: RequestKind::Ordinary,
                        stance: None,
                        raised_at: None,
                    }]
                }
                MicState::Off | MicState::Toggle if speaking => vec![Command::Stop { station }],
                MicState::Off if requests.contains(seat) => vec![Command::Withdraw { station }],
                MicState::Toggle => vec![Command::Grant { station }],
                _ => Vec::new(),
            }
        }
        Request::Clear(ClearList::Speakers) => vec![Command::StopAll {}],
        Request::Clear(ClearList::Requests) => vec![Command::ClearRequests {}],
        Request::Clear(ClearList::SpeakersAndRequests) => {
            vec![Command::StopAll {}, Command::ClearRequests {}]
        }
        Request::ActivateNext => vec![Command::Next {}],
        _ => Vec::new(),
    }
}

/// CoCon's `-1` ("exception"): what a refused or dropped command answers.
const EXCEPTION: i64 = -1;

fn body(status: StatusCode, value: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], codec::encode_body(value))
        .into_response()
}

fn state_of(snapshot: &Snapshot) -> Value {
    let (s, r) = seat_lists(&snapshot.floor);
    json!({"Speakers": s, "Requests": r, "Replies": []})
}

/// Binds `[cocon_api] listen`, prints `podiumd cocon on ADDR`, and serves until `cancel`.
///
/// # Errors
///
/// When the address cannot be bound.
pub async fn start(
    config: &CoconApiConfig,
    session: SessionHandle,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> anyhow::Result<SocketAddr> {
    use anyhow::Context;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("[cocon_api] cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    println!("podiumd cocon on {addr}");
    let (events_tx, events) = watch::channel(0u64);
    let hub = Arc::new(Mutex::new(Hub::default()));
    let api = CoconApi {
        session: session.clone(),
        hub: hub.clone(),
        events,
        trusted: Arc::new(config.trusted.iter().map(IpAddr::to_canonical).collect()),
        principal: Principal::User { name: "cocon".into(), role: config.role },
        hold: Duration::from_secs(codec::NOTIFICATION_HOLD_S),
        cancel: cancel.clone(),
    };
    tracker.spawn(publish(session, hub, events_tx, cancel.clone()));
    let app = axum::Router::new().fallback(answer).with_state(api);
    let token = cancel.clone();
    tracker.spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let served =
            axum::serve(listener, service).with_graceful_shutdown(async move { token.cancelled().await });
        if let Err(e) = served.await {
            tracing::error!("[cocon_api] stopped: {e}");
        }
    });
    Ok(addr)
}

/// Every change of the seats in the floor's lists → a `MicrophoneState` event; idle
/// connections expire.
async fn publish(
    session: SessionHandle,
    hub: Arc<Mutex<Hub>>,
    events: watch::Sender<u64>,
    cancel: CancellationToken,
) {
    let mut snapshots = session.watch();
    let mut last = None;
    let mut sweep = tokio::time::interval(Duration::from_secs(30));
    loop {
        let lists = seat_lists(&snapshots.borrow_and_update().floor);
        if last.as_ref() != Some(&lists) {
            let event = codec::microphone_state(&lists.0, &lists.1);
            if let Ok(mut hub) = hub.lock() {
                hub.publish("Microphone", &event);
            }
            events.send_modify(|n| *n += 1);
            last = Some(lists);
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            changed = snapshots.changed() => if changed.is_err() { return },
            _ = sweep.tick() => {
                if let Ok(mut hub) = hub.lock() {
                    hub.expire(Instant::now(), Duration::from_secs(codec::EXPIRY_S));
                }
            }
        }
    }
}

async fn answer(
    State(api): State<CoconApi>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
) -> Response {
    let forbidden = |message: &str| {
        (StatusCode::FORBIDDEN, axum::Json(json!({"error": "forbidden", "message": message}))).into_response()
    };
    if !api.trusted.contains(&peer.ip().to_canonical()) {
        return forbidden("this address is not in [cocon_api] trusted");
    }
    let request = Request::parse(uri.path(), uri.query().unwrap_or(""));
    let ok = |v: Value| body(StatusCode::OK, &v);
    match &request {
        Request::Connect => {
            let id = uuid::Uuid::new_v4().to_string();
            // A new connection starts from the lists as they are now: taken under the hub's
            // lock, so a change published meanwhile comes after them, not before.
            let mut hub = api.hub();
            hub.connect(id.clone(), Instant::now());
            hub.send_to(&id, json!({"MicrophoneState": state_of(&api.session.snapshot())}));
            ok(json!({"Connect": true, "id": id}))
        }
        Request::Disconnect { id } => ok(json!(if api.hub().disconnect(id) { 0 } else { 1 })),
        Request::Notification { id } => notification(&api, id).await,
        Request::Subscribe { model, id, details } => {
            let result = api.hub().subscribe(id, model);
            ok(json!({"Subscribe": {"Model": model, "result": result, "details": details}}))
        }
        Request::Unsubscribe { model, id } => {
            let result = api.hub().unsubscribe(id, model);
            ok(json!({"UnSubscribe": {"Model": model, "result": result}}))
        }
        Request::GetState => ok(json!({"GetState": {"State": state_of(&api.session.snapshot())}})),
        Request::Get | Request::GetMode => {
            let snapshot = api.session.snapshot();
            let profile = &snapshot.floor.profile;
            let mode = json!({
                "Mode": mode_word(profile.mode),
                "MaxNrActive": profile.limits.max_open_microphones,
                "AllowCancelRequest": profile.limits.members_may_cancel,
                "AllowSwitchOffMic": profile.limits.members_may_switch_off,
                "FIFO": profile.mode == Mode::Open,
            });
            if matches!(request, Request::Get) {
                ok(json!({"Get": {"MicrophoneMode": mode, "State": state_of(&snapshot)}}))
            } else {
                ok(json!({"GetMicrophoneMode": {"MicrophoneMode": mode}}))
            }
        }
        Request::SetMode { .. } | Request::BadParameter(_) => ok(json!(codec::BAD_PARAMETER)),
        Request::Unknown(path) => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "not_found", "message": format!("{path} is not part of Podium's CoCon subset")})),
        )
            .into_response(),
        Request::SetState { .. } | Request::Clear(_) | Request::ActivateNext => {
            let snapshot = api.session.snapshot();
            let mut result = codec::OK;
            for command in commands_for(&request, &snapshot.floor) {
                // CoCon clients resend whatever is not 200 (cocon-client: five times, about
                // 20 s, its command queue blocked meanwhile): a refusal is CoCon's `-1`.
                let Ok(actor) = api.principal.actor_for(&command) else {
                    tracing::warn!(%peer, "CoCon command refused: [cocon_api] role may not switch microphones");
                    return ok(json!(EXCEPTION));
                };
                let source = Source::Api(format!("cocon:{}", peer.ip()));
                match api.session.command_from(source, command, actor).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(rejection)) => {
                        tracing::info!(reason = rejection.reason.code(), "CoCon command refused by the floor");
                        result = codec::BAD_PARAMETER;
                    }
                    Err(crate::session::CommandError::RateLimited { retry_after_ms, .. }) => {
                        tracing::warn!(%peer, retry_after_ms, "CoCon command dropped: too many commands");
                        return ok(json!(EXCEPTION));
                    }
                    Err(crate::session::CommandError::Closed) => {
                        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
                    }
                }
            }
            ok(json!(result))
        }
    }
}

/// The long poll: the oldest event at once, else wait for one up to the hold (408), or the
/// shutdown.
async fn notification(api: &CoconApi, id: &str) -> Response {
    let deadline = tokio::time::Instant::now() + api.hold;
    let mut events = api.events.clone();
    loop {
        events.borrow_and_update();
        let taken = api.hub().take(id, Instant::now());
        match taken {
            Take::Event(event) => return body(StatusCode::OK, &event),
            Take::Unknown => return body(StatusCode::BAD_REQUEST, &json!({"Notification": "Error 400"})),
            Take::Empty => {}
        }
        tokio::select! {
            _ = api.cancel.cancelled() => return body(StatusCode::REQUEST_TIMEOUT, &json!({"Notification": "Error 408"})),
            changed = tokio::time::timeout_at(deadline, events.changed()) => {
                if !matches!(changed, Ok(Ok(()))) {
                    api.hub().touch(id, Instant::now());
                    return body(StatusCode::REQUEST_TIMEOUT, &json!({"Notification": "Error 408"}));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use podium_floor::setup::{SeatSetup, Setup};
    use podium_floor::{Actor, Floor, Timestamp};

    use super::*;

    fn floor_with(commands: &[Command]) -> FloorState {
        let seat =
            |n: u16| SeatSetup { number: n, label: n.to_string(), default_participant: None, position: None };
        let seats = (1..=4).map(seat).collect();
        let mut floor = Floor::new(Setup {
            voting: Default::default(),
            presentation_sources: Vec::new(),
            seats,
            participants: Vec::new(),
            profile: Default::default(),
        });
        for c in commands {
            assert!(floor.handle(c, &Actor::Chair, Timestamp::new(0, 0)).is_ok(), "{c:?}");
        }
        (*floor.snapshot().floor).clone()
    }

    #[test]
    fn cocon_commands_mean_the_floor_commands_of_the_table() {
        let seat = |n| Station::Seat(n);
        let request = |n| Command::Request {
            station: seat(n),
            kind: RequestKind::Ordinary,
            stance: None,
            raised_at: None,
        };
        let floor = floor_with(&[Command::Grant { station: seat(1) }, request(2)]);
        let set = |state, seat| commands_for(&Request::SetState { state, seat }, &floor);
        assert_eq!(set(MicState::On, 2), [Command::Grant { station: seat(2) }]);
        assert_eq!(set(MicState::On, 1), [], "on already");
        assert_eq!(set(MicState::Off, 1), [Command::Stop { station: seat(1) }]);
        assert_eq!(set(MicState::Off, 2), [Command::Withdraw { station: seat(2) }]);
        assert_eq!(set(MicState::Off, 3), []);
        assert_eq!(set(MicState::Request, 3), [request(3)]);
        assert_eq!(set(MicState::Toggle, 1), [Command::Stop { station: seat(1) }]);
        assert_eq!(set(MicState::Toggle, 3), [Command::Grant { station: seat(3) }]);
        assert_eq!(commands_for(&Request::ActivateNext, &floor), [Command::Next {}]);
        assert_eq!(
            commands_for(&Request::Clear(ClearList::SpeakersAndRequests), &floor),
            [Command::StopAll {}, Command::ClearRequests {}]
        );
        assert_eq!(seat_lists(&floor), (vec![1], vec![2]));
    }
}
