//! The event stream (Server-Sent Events) with resume from a sequence number.
//!
//! A new client gets `event: snapshot` first, then `event: floor` for each change, each with
//! `id:` set to its sequence number. A client that reconnects with `Last-Event-ID` (browsers do
//! this by themselves) or `?since=N` gets every event after N; if N is older than the resume
//! window it gets a fresh snapshot instead. A client too slow to keep up is resynchronised
//! the same way instead of being dropped.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use podium_floor::{Event, Snapshot};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use crate::session::{SessionHandle, Start};

/// Query parameters of the event stream.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// Resume after this sequence number (overrides `Last-Event-ID`).
    pub since: Option<u64>,
}

/// Frames buffered per client before the stream task waits for the client.
const CLIENT_BUFFER: usize = 256;

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
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    let cancel = app.cancel.clone();
    let session = app.session.clone();
    app.tracker.spawn(async move {
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = forward(session, subscription.start, subscription.events, tx) => {}
        }
    });
    Ok(Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Pushes the start and then every event to one client until it goes away.
async fn forward(
    session: SessionHandle,
    mut start: Start,
    mut events: broadcast::Receiver<Arc<Event>>,
    tx: mpsc::Sender<Result<SseEvent, Infallible>>,
) {
    loop {
        let mut sent = match send_start(&start, &tx).await {
            Some(seq) => seq,
            None => return,
        };
        loop {
            match events.recv().await {
                Ok(event) if event.seq <= sent => continue,
                Ok(event) => {
                    if tx.send(Ok(floor_event(&event))).await.is_err() {
                        return;
                    }
                    sent = event.seq;
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "event-stream client lagged; resynchronising");
                    match session.subscribe(Some(sent)).await {
                        Ok(again) => {
                            start = again.start;
                            events = again.events;
                            break;
                        }
                        Err(_) => return,
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// Sends the start of a subscription; returns the sequence number the client is at.
async fn send_start(start: &Start, tx: &mpsc::Sender<Result<SseEvent, Infallible>>) -> Option<u64> {
    match start {
        Start::Snapshot(snapshot) => {
            tx.send(Ok(snapshot_event(snapshot))).await.ok()?;
            Some(snapshot.floor.seq)
        }
        Start::Backlog(backlog) => {
            let mut sent = 0;
            for event in backlog {
                tx.send(Ok(floor_event(event))).await.ok()?;
                sent = event.seq;
            }
            // An empty backlog means the client is current; it is at the seq it asked for,
            // which the caller knows through the first later event.
            Some(if backlog.is_empty() { 0 } else { sent })
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
