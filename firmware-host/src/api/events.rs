//! The event stream (Server-Sent Events) with resume from a sequence number.
//!
//! A new client gets `event: snapshot` first, then `event: floor` for each change, each with
//! `id:` set to its sequence number. A client that reconnects with `Last-Event-ID` (browsers do
//! this by themselves) or `?since=N` gets every event after N; if N is older than the resume
//! window it gets a fresh snapshot instead. A client too slow to keep up is resynchronised
//! the same way instead of being dropped.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use podium_floor::{Event, Snapshot};
use serde::Deserialize;
use tokio::sync::broadcast;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use crate::session::{SessionHandle, Start, Subscription};

/// Query parameters of the event stream.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// Resume after this sequence number (overrides `Last-Event-ID`).
    pub since: Option<u64>,
}

/// Live events of the floor as Server-Sent Events (`text/event-stream`).
#[utoipa::path(get, path = "/api/v1/events", tag = "floor",
    params(EventsQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this sequence number")),
    responses(
        (status = 200, description = "`event: snapshot` (data: Snapshot) then `event: floor` (data: Event), `id:` = sequence number", content_type = "text/event-stream", body = String),
        (status = 400, description = "Bad `since` or `Last-Event-ID`", body = ErrorBody),
    ))]
pub async fn get_events(
    State(app): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let since = match (query.since, headers.get("last-event-id")) {
        (Some(since), _) => Some(since),
        (None, Some(value)) => {
            Some(value.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()).ok_or_else(|| {
                ApiError::bad_request("invalid_last_event_id", "Last-Event-ID must be a number")
            })?)
        }
        (None, None) => None,
    };
    let subscription = app.session.subscribe(since).await?;
    let feed = Feed::new(app.session.clone(), app.frames.clone(), subscription);
    // The stream is polled by the client's connection itself: an event goes from the
    // session's broadcast to the socket without a task or queue in between.
    let stream =
        futures_util::stream::unfold(feed, Feed::next).take_until(app.cancel.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The most recent events as formatted frames: with many consoles connected, each event is
/// serialised once, not once per client.
#[derive(Default)]
pub struct FrameCache {
    recent: Mutex<VecDeque<(Arc<Event>, SseEvent)>>,
}

impl FrameCache {
    /// Frames kept; enough for a burst of events that the clients drain one after another.
    const KEPT: usize = 16;

    fn frame(&self, event: &Arc<Event>) -> SseEvent {
        let Ok(mut recent) = self.recent.lock() else { return floor_event(event) };
        // The same published event, not merely the same seq: a reset floor counts from 0 again.
        if let Some((_, frame)) = recent.iter().find(|(cached, _)| Arc::ptr_eq(cached, event)) {
            return frame.clone();
        }
        let frame = floor_event(event);
        if recent.len() == Self::KEPT {
            recent.pop_front();
        }
        recent.push_back((event.clone(), frame.clone()));
        frame
    }
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

fn floor_event(event: &Event) -> SseEvent {
    SseEvent::default()
        .event("floor")
        .id(event.seq.to_string())
        .data(serde_json::to_string(event).unwrap_or_else(|_| "{}".into()))
}

fn snapshot_event(snapshot: &Snapshot) -> SseEvent {
    SseEvent::default()
        .event("snapshot")
        .id(snapshot.floor.seq.to_string())
        .data(serde_json::to_string(snapshot).unwrap_or_else(|_| "{}".into()))
}

#[cfg(test)]
mod tests {
    use podium_floor::{Change, Timestamp};

    use super::*;

    fn cleared(seq: u64, count: usize) -> Arc<Event> {
        Arc::new(Event {
            seq,
            at: Timestamp::new(seq, 0),
            change: Change::RequestsCleared { count, reason: podium_floor::RequestEnd::Cleared },
        })
    }

    fn text(frame: &SseEvent) -> String {
        format!("{frame:?}")
    }

    #[test]
    fn an_event_is_formatted_once_for_every_client() {
        let cache = FrameCache::default();
        let event = cleared(7, 3);
        let first = cache.frame(&event);
        assert_eq!(text(&cache.frame(&event)), text(&first));
        assert_eq!(cache.recent.lock().unwrap().len(), 1, "one entry for one event");
        assert!(text(&first).contains("\\\"count\\\":3"), "the frame carries the event: {}", text(&first));
    }

    #[test]
    fn a_new_event_with_a_reused_seq_gets_its_own_frame() {
        // After a reset the floor counts from 0 again: seq alone does not identify an event.
        let cache = FrameCache::default();
        let before = cache.frame(&cleared(1, 3));
        let after = cache.frame(&cleared(1, 5));
        assert_ne!(text(&before), text(&after));
        assert!(text(&after).contains("\\\"count\\\":5"));
    }

    #[test]
    fn the_cache_keeps_a_bounded_number_of_frames() {
        let cache = FrameCache::default();
        let events: Vec<_> = (1..=40).map(|seq| cleared(seq, 1)).collect();
        for event in &events {
            let _ = cache.frame(event);
        }
        let recent = cache.recent.lock().unwrap();
        assert_eq!(recent.len(), FrameCache::KEPT);
        assert_eq!(recent.back().map(|(e, _)| e.seq), Some(40));
    }
}
