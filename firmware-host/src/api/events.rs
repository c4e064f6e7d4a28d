//! The event stream (Server-Sent Events) with resume from a sequence number.
//!
//! A new client gets `event: snapshot` first, then `event: floor` for each change, each with
//! `id:` set to its sequence number. A client that reconnects with `Last-Event-ID` (browsers do
//! this by themselves) or `?since=N` gets every event after N; if N is older than the resume
//! window it gets a fresh snapshot instead.
//!
//! What a client costs does not grow with what it has not read: every stream reads the
//! session's one shared [`ResumeWindow`] by position, and a frame is formatted only when
//! the connection can take it (hyper stops polling a stream whose client does not read
//! once a few frames wait, see `api/server.rs`). A client that falls so far behind that its
//! position leaves the window (it holds [`crate::session::RESUME_WINDOW`] events) is sent a fresh
//! `event: snapshot` and continues from there, as if it had reconnected.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use podium_floor::{Event, Snapshot};
use serde::Deserialize;
use tokio::sync::broadcast;

use super::access::Principal;
use super::error::{ApiError, ErrorBody};
use super::metrics::Metrics;
use super::sse::{FrameCache, MAX_RESUME, StreamPermit, last_event_id};
use super::state::AppState;
use crate::session::{Next, ResumeWindow, SessionHandle, Start, Subscription};

/// Query parameters of the event stream.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Resume after this sequence number (overrides `Last-Event-ID`).
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    pub since: Option<u64>,
}

/// Live events of the floor as Server-Sent Events (`text/event-stream`).
#[utoipa::path(get, path = "/api/v1/events", tag = "floor",
    params(EventsQuery,
        ("Last-Event-ID" = Option<u64>, Header, minimum = 0, maximum = 9223372036854775807_i64, description = "Resume after this sequence number")),
    responses(
        (status = 200, description = "Server-Sent Events, `id:` = sequence number. `event: snapshot`: data is a `Snapshot` (components/schemas/Snapshot), sent first, after a resume from further back than the resume window (10,000 events), and to a client that fell that far behind while connected (it continues after the snapshot's seq: replace your state with it); `event: floor`: data is an `Event` (components/schemas/Event). No other event types.", content_type = "text/event-stream", body = String),
        (status = 400, description = "Bad `since` or `Last-Event-ID`", body = ErrorBody),
        (status = 429, description = "This address has as many event streams open without credentials as it may (`too_many_streams`, `[http] max_streams_per_address`); close one or log in", body = ErrorBody),
    ))]
pub async fn get_events(
    State(app): State<AppState>,
    principal: Principal,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let since = match query.since {
        Some(since) if since > MAX_RESUME => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("since must be at most {MAX_RESUME}"),
            ));
        }
        Some(since) => Some(since),
        None => last_event_id(&headers)?,
    };
    // Anonymous streams are capped per address; the permit lives as long as the stream.
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
    let permit = match (&principal, peer) {
        (Principal::Anonymous, Some(ip)) => Some(app.streams.acquire(ip)?),
        _ => None,
    };
    let redacted = !super::floor::sees_everything(&principal, &app.session.snapshot());
    let subscription = app.session.subscribe(since).await?;
    let mut feed =
        Feed::new(app.session.clone(), app.frames.clone(), app.web.metrics.clone(), subscription, permit);
    if redacted {
        feed.redact();
    }
    // The stream is polled by the client's connection itself: an event goes from the
    // session's broadcast to the socket without a task or queue in between.
    let stream =
        futures_util::stream::unfold(feed, Feed::next).take_until(app.cancel.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// One client's position in the event stream: a sequence number in the shared window, and
/// at most one frame of its own (a snapshot) not yet sent.
struct Feed {
    session: SessionHandle,
    frames: Arc<FrameCache>,
    metrics: Arc<Metrics>,
    window: ResumeWindow,
    epoch: u64,
    /// Wakes the feed for each new event; also its fast path while it keeps up.
    events: broadcast::Receiver<Arc<Event>>,
    /// A snapshot to send before anything else.
    snapshot: Option<Arc<Snapshot>>,
    /// The sequence number the client has (or will have once `snapshot` is sent).
    sent: u64,
    /// A public stream (viewers, anonymous readers): see [`podium_floor::public`].
    redacted: bool,
    /// For a public stream: whether the part is public as of the last frame sent.
    public_now: bool,
    _permit: Option<StreamPermit>,
}

impl Feed {
    fn new(
        session: SessionHandle,
        frames: Arc<FrameCache>,
        metrics: Arc<Metrics>,
        subscription: Subscription,
        permit: Option<StreamPermit>,
    ) -> Self {
        let Subscription { start, window, epoch, events } = subscription;
        let mut feed = Feed {
            session,
            frames,
            metrics,
            window,
            epoch,
            events,
            snapshot: None,
            sent: 0,
            redacted: false,
            public_now: true,
            _permit: permit,
        };
        feed.begin(start);
        feed
    }

    /// Makes this a public stream: snapshots in the public view, and events only while the
    /// part is public and the event carries nothing the public may not see. A resuming
    /// client continues from its position only if the window tells whether the part was
    /// public there (the events it replays are judged by that); else it gets the public
    /// view of now.
    fn redact(&mut self) {
        self.redacted = true;
        if let Some(snapshot) = self.snapshot.take() {
            self.begin(Start::Snapshot(snapshot));
            return;
        }
        match self.window.public_after(self.epoch, self.sent) {
            Some(public) => self.public_now = public,
            None => self.begin(Start::Snapshot(self.session.snapshot())),
        }
    }

    /// The frame for `event` on this stream: the event itself, or for a public stream a
    /// fresh public view in its place (which the client continues from).
    fn frame_for(&mut self, event: &Arc<Event>, recent: bool) -> SseEvent {
        if self.redacted && !(self.public_now && podium_floor::shown_as_is(event)) {
            let view = podium_floor::public_view(&self.session.snapshot());
            self.sent = view.floor.seq.max(event.seq);
            self.public_now = view.floor.public;
            return snapshot_event(&view);
        }
        self.sent = event.seq;
        if recent { self.frames.frame(event) } else { self.frames.frame_if_recent(event) }
    }

    fn begin(&mut self, start: Start) {
        let start = match start {
            Start::Snapshot(snapshot) if self.redacted => {
                let view = Arc::new(podium_floor::public_view(&snapshot));
                self.public_now = view.floor.public;
                Start::Snapshot(view)
            }
            other => other,
        };
        match start {
            Start::Snapshot(snapshot) => {
                self.sent = snapshot.floor.seq;
                self.snapshot = Some(snapshot);
            }
            Start::After(seq) => self.sent = seq,
        }
    }

    /// The next frame for the client; `None` ends the stream. Called only when the
    /// connection can take a frame, so nothing is formatted ahead of the client.
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Self)> {
        loop {
            if let Some(snapshot) = self.snapshot.take() {
                return Some((Ok(snapshot_event(&snapshot)), self));
            }
            match self.window.next_after(self.epoch, self.sent) {
                Next::Event(event) => {
                    let frame = self.frame_for(&event, false);
                    return Some((Ok(frame), self));
                }
                Next::Current => {}
                Next::Behind => {
                    // Fell out of the window: the events it missed are gone; a snapshot
                    // replaces them, as for a client that resumes from too far back.
                    tracing::info!(
                        behind_seq = self.sent,
                        "event-stream client fell behind; sending a snapshot"
                    );
                    self.metrics.stream_resynced();
                    let again = self.session.subscribe(None).await.ok()?;
                    self.window = again.window;
                    self.epoch = again.epoch;
                    self.events = again.events;
                    self.begin(again.start);
                    continue;
                }
                // The floor was rebuilt: end the stream; the client comes back for a snapshot.
                Next::Reset => return None,
            }
            // Current: wait for the next event. Subscribed before the window was read, so
            // none is missed; one that is already sent is skipped.
            match self.events.recv().await {
                Ok(event) if event.seq == self.sent + 1 => {
                    let frame = self.frame_for(&event, true);
                    return Some((Ok(frame), self));
                }
                // Older (already read from the window) or ahead (read the window again).
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

fn snapshot_event(snapshot: &Snapshot) -> SseEvent {
    SseEvent::default()
        .event("snapshot")
        .id(snapshot.floor.seq.to_string())
        .data(serde_json::to_string(snapshot).unwrap_or_else(|_| "{}".into()))
}

#[cfg(test)]
mod tests {
    use podium_floor::{
        Actor, Command, Floor, Participant, Profile, RequestKind, Role, SeatSetup, Setup, Station,
    };
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    use super::*;
    use crate::clock::SessionClock;
    use crate::session::RESUME_WINDOW;

    fn one_seat() -> Setup {
        Setup {
            voting: Default::default(),
            presentation_sources: Vec::new(),
            seats: vec![SeatSetup {
                number: 1,
                label: "1".into(),
                default_participant: Some("m1".into()),
                position: None,
            }],
            participants: vec![Participant {
                id: "m1".into(),
                name: "Member 1".into(),
                group: None,
                role: Role::Member,
                remote_allowed: false,
                voting_right: true,
                nonpublic_allowed: true,
            }],
            profile: Profile::default(),
        }
    }

    async fn toggle(session: &SessionHandle, on: bool) {
        let station = Station::Seat(1);
        let command = if on {
            Command::Request { station, kind: RequestKind::Ordinary, stance: None, raised_at: None }
        } else {
            Command::Withdraw { station }
        };
        session.command(command, Actor::Chair).await.expect("session").expect("accepted");
    }

    /// A session owner on a one-seat floor; cancel the token to stop it.
    fn one_seat_session() -> (SessionHandle, CancellationToken) {
        let cancel = CancellationToken::new();
        let session = crate::session::spawn(
            Floor::new(one_seat()),
            SessionClock::starting_at(0),
            cancel.clone(),
            &TaskTracker::new(),
        );
        (session, cancel)
    }

    fn text(frame: &SseEvent) -> String {
        format!("{frame:?}")
    }

    #[tokio::test]
    async fn a_client_that_falls_out_of_the_window_gets_a_snapshot_and_continues() {
        let (session, cancel) = one_seat_session();
        toggle(&session, true).await;
        let subscription = session.subscribe(Some(0)).await.expect("subscribe");
        let metrics = Arc::new(Metrics::new(0));
        let feed = Feed::new(session.clone(), Arc::default(), metrics, subscription, None);
        // The client reads nothing while more than the window's worth of events happen.
        let events = RESUME_WINDOW as u64 + 1;
        for n in 0..events {
            toggle(&session, n % 2 == 1).await;
        }
        let current = events + 1;
        let (frame, feed) = feed.next().await.expect("a frame");
        let frame = text(&frame.expect("infallible"));
        assert!(frame.contains("event: snapshot"), "{frame}");
        assert!(frame.contains(&format!("id: {current}\\n")), "{frame}");
        toggle(&session, true).await;
        let (frame, _) = feed.next().await.expect("a frame");
        let frame = text(&frame.expect("infallible"));
        assert!(
            frame.contains("event: floor") && frame.contains(&format!("id: {}\\n", current + 1)),
            "{frame}"
        );
        cancel.cancel();
    }

    #[tokio::test]
    async fn a_resuming_client_reads_the_shared_window_in_order() {
        let (session, cancel) = one_seat_session();
        for n in 0..5 {
            toggle(&session, n % 2 == 0).await;
        }
        let subscription = session.subscribe(Some(2)).await.expect("subscribe");
        let mut feed =
            Feed::new(session.clone(), Arc::default(), Arc::new(Metrics::new(0)), subscription, None);
        for want in 3..=5 {
            let (frame, next) = feed.next().await.expect("a frame");
            let frame = text(&frame.expect("infallible"));
            assert!(frame.contains("event: floor") && frame.contains(&format!("id: {want}\\n")), "{frame}");
            feed = next;
        }
        // Then live events, without gap.
        toggle(&session, false).await;
        let (frame, _) = feed.next().await.expect("a frame");
        assert!(text(&frame.expect("infallible")).contains("id: 6\\n"));
        cancel.cancel();
    }
}
