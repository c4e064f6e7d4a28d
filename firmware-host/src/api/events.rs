//! The event stream (Server-Sent Events) with resume from a sequence number.
//!
//! A new client gets `event: snapshot` first, then `event: floor` for each change, each with
//! `id:` set to its sequence number. A client that reconnects with `Last-Event-ID` (browsers do
//! this by themselves) or `?since=N` gets every event after N; if N is older than the resume
//! window it gets a fresh snapshot instead. A client too slow to keep up is resynchronised
//! the same way instead of being dropped.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use podium_floor::{Event, Snapshot};
use serde::Deserialize;
use tokio::sync::broadcast;

use super::error::{ApiError, ErrorBody};
use super::sse::{FrameCache, MAX_RESUME, floor_event, last_event_id};
use super::state::AppState;
use crate::session::{SessionHandle, Start, Subscription};

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
        (status = 200, description = "Server-Sent Events, `id:` = sequence number. `event: snapshot`: data is a `Snapshot` (components/schemas/Snapshot), sent first and after a resume from too far back; `event: floor`: data is an `Event` (components/schemas/Event). No other event types.", content_type = "text/event-stream", body = String),
        (status = 400, description = "Bad `since` or `Last-Event-ID`", body = ErrorBody),
    ))]
pub async fn get_events(
    State(app): State<AppState>,
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
    let subscription = app.session.subscribe(since).await?;
    let feed = Feed::new(app.session.clone(), app.frames.clone(), subscription);
    // The stream is polled by the client's connection itself: an event goes from the
    // session's broadcast to the socket without a task or queue in between.
    let stream =
        futures_util::stream::unfold(feed, Feed::next).take_until(app.cancel.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// One client's position in the event stream.
struct Feed {
    session: SessionHandle,
    frames: Arc<FrameCache>,
    /// Frames of the current start (snapshot or backlog) not yet sent.
    start: VecDeque<SseEvent>,
    events: broadcast::Receiver<Arc<Event>>,
    /// The sequence number the client has.
    sent: u64,
}

impl Feed {
    fn new(session: SessionHandle, frames: Arc<FrameCache>, subscription: Subscription) -> Self {
        let mut feed = Feed { session, frames, start: VecDeque::new(), events: subscription.events, sent: 0 };
        feed.begin(subscription.start);
        feed
    }

    /// Queues the start of a subscription and notes where the client will be.
    fn begin(&mut self, start: Start) {
        match start {
            Start::Snapshot(snapshot) => {
                self.start.push_back(snapshot_event(&snapshot));
                self.sent = snapshot.floor.seq;
            }
            Start::Backlog(backlog) => {
                self.start.extend(backlog.iter().map(|event| floor_event(event)));
                // An empty backlog means the client is current; it is at the seq it asked
                // for, which shows through the first later event.
                self.sent = backlog.last().map_or(0, |event| event.seq);
            }
        }
    }

    /// The next frame for the client; `None` ends the stream.
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Self)> {
        loop {
            if let Some(frame) = self.start.pop_front() {
                return Some((Ok(frame), self));
            }
            match self.events.recv().await {
                Ok(event) if event.seq <= self.sent => continue,
                Ok(event) => {
                    self.sent = event.seq;
                    let frame = self.frames.frame(&event);
                    return Some((Ok(frame), self));
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Too slow to keep up: resynchronise instead of dropping the client.
                    tracing::warn!(missed, "event-stream client lagged; resynchronising");
                    let again = self.session.subscribe(Some(self.sent)).await.ok()?;
                    self.events = again.events;
                    self.begin(again.start);
                }
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
