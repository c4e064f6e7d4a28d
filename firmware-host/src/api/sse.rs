//! Server-Sent Events shared by the streams of the API: the floor's event frames, formatted
//! once for all clients ([`FrameCache`]), and [`forward`], the one way a live feed (log
//! lines, protocol frames) reaches a client: polled by the client's connection itself,
//! without a task or a queue per client, ending at shutdown.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use podium_floor::Event;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::error::ApiError;
use super::metrics::Metrics;

/// The largest resume position a client may send: sequence numbers are described as
/// int64 (what JavaScript and most JSON tools hold exactly), so larger ones are refused.
pub const MAX_RESUME: u64 = i64::MAX as u64;

/// The `Last-Event-ID` header as a resume position: absent, or a number from 0 to
/// [`MAX_RESUME`]; anything else is a 400 `invalid_last_event_id`.
pub fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else { return Ok(None) };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n <= MAX_RESUME)
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_last_event_id",
                format!("Last-Event-ID must be a number from 0 to {MAX_RESUME}"),
            )
        })
}

/// How often an idle stream sends a comment, so proxies and browsers keep it open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The most recent events as formatted frames: with many consoles connected, each event is
/// serialised once, not once per client.
#[derive(Default)]
pub struct FrameCache {
    recent: Mutex<VecDeque<(Arc<Event>, SseEvent)>>,
}

impl FrameCache {
    /// Frames kept; enough for a burst of events that the clients drain one after another.
    const KEPT: usize = 16;

    pub fn frame(&self, event: &Arc<Event>) -> SseEvent {
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

    /// The frame of `event` if it is among the recent ones, else formatted without keeping
    /// it: a client replaying old events must not push the live ones out.
    pub fn frame_if_recent(&self, event: &Arc<Event>) -> SseEvent {
        if let Ok(recent) = self.recent.lock()
            && let Some((_, frame)) = recent.iter().find(|(cached, _)| Arc::ptr_eq(cached, event))
        {
            return frame.clone();
        }
        floor_event(event)
    }
}

/// Open event streams per address of callers without credentials (`[http]
/// max_streams_per_address`): the floor is public with `display_public`, and every stream
/// holds a connection and a place in the fan-out. Callers with credentials are not counted
/// here (they are known; a reverse proxy makes them all one address).
pub struct StreamCap {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    metrics: Arc<Metrics>,
}

/// One counted stream; frees its place when dropped (the stream's body ends).
pub struct StreamPermit {
    cap: Arc<StreamCap>,
    ip: IpAddr,
}

impl StreamCap {
    pub fn new(max: usize, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(StreamCap { max, open: Mutex::new(HashMap::new()), metrics })
    }

    /// A place for one more stream from `ip`, or 429 `too_many_streams`.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Result<StreamPermit, ApiError> {
        let ip = ip.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let held = open.entry(ip).or_insert(0);
        if *held >= self.max {
            drop(open);
            self.metrics.stream_refused();
            return Err(ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                format!(
                    "this address has {} event streams open without logging in; close one or log in",
                    self.max
                ),
            ));
        }
        *held += 1;
        Ok(StreamPermit { cap: self.clone(), ip })
    }

    /// Streams counted for `ip` now.
    pub fn open(&self, ip: IpAddr) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).get(&ip.to_canonical()).copied().unwrap_or(0)
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.cap.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = open.get_mut(&self.ip) {
            *held -= 1;
            if *held == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The `event: floor` frame of one floor event.
pub fn floor_event(event: &Event) -> SseEvent {
    SseEvent::default()
        .event("floor")
        .id(event.seq.to_string())
        .data(serde_json::to_string(event).unwrap_or_else(|_| "{}".into()))
}

/// Streams `backlog`, then every item of `live` that `frame` turns into a frame (it may
/// skip items, e.g. ones already in the backlog or of another device). A client that
/// falls behind the broadcast skips to the newest items rather than hold up others; the
/// stream ends when `live` closes or at shutdown.
pub fn forward<T, F>(
    backlog: Vec<T>,
    live: broadcast::Receiver<T>,
    cancel: CancellationToken,
    frame: F,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>>
where
    T: Clone + Send + 'static,
    F: FnMut(&T) -> Option<SseEvent> + Send + 'static,
{
    let state = (backlog.into_iter(), live, frame);
    let stream = futures_util::stream::unfold(state, |(mut backlog, mut live, mut frame)| async move {
        for item in backlog.by_ref() {
            if let Some(event) = frame(&item) {
                return Some((Ok(event), (backlog, live, frame)));
            }
        }
        loop {
            match live.recv().await {
                Ok(item) => {
                    if let Some(event) = frame(&item) {
                        return Some((Ok(event), (backlog, live, frame)));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream.take_until(cancel.cancelled_owned())).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
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
    fn streams_are_counted_per_address_and_freed_when_dropped() {
        let cap = StreamCap::new(2, Arc::new(Metrics::new(0)));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = cap.acquire(a).expect("first");
        let _second = cap.acquire(a).expect("second");
        let refused = cap.acquire(a).err().expect("third is refused");
        assert_eq!(refused.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        let _other = cap.acquire(b).expect("another address has its own places");
        drop(first);
        assert_eq!(cap.open(a), 1);
        let _again = cap.acquire(a).expect("a closed stream frees its place");
        // An IPv4 peer seen through an IPv6 socket is the same address.
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert!(cap.acquire(mapped).is_err());
    }

    #[test]
    fn a_replayed_event_does_not_displace_the_recent_frames() {
        let cache = FrameCache::default();
        let live = cleared(50, 1);
        let _ = cache.frame(&live);
        let old = cleared(3, 2);
        assert!(text(&cache.frame_if_recent(&old)).contains("\\\"count\\\":2"));
        assert_eq!(cache.recent.lock().unwrap().len(), 1, "the replayed frame is not kept");
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
