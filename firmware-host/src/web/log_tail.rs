//! The log tail for the technician console: a `tracing` layer keeps the last lines in a
//! ring and passes new ones on; `GET /api/v1/log` streams them as Server-Sent Events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

use crate::api::AppState;

/// Lines kept for a technician who opens the console.
const KEPT: usize = 500;

/// One log line.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LogLine {
    /// Increasing number of the line since start (the event-stream `id`).
    pub seq: u64,
    /// Wall-clock time, Unix milliseconds.
    pub unix_ms: i64,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: String,
    /// The module that logged.
    pub target: String,
    /// The message and its fields.
    pub message: String,
}

struct Tail {
    lines: Mutex<VecDeque<Arc<LogLine>>>,
    next: AtomicU64,
    live: broadcast::Sender<Arc<LogLine>>,
}

fn tail() -> &'static Tail {
    static TAIL: OnceLock<Tail> = OnceLock::new();
    TAIL.get_or_init(|| Tail {
        lines: Mutex::new(VecDeque::with_capacity(KEPT)),
        next: AtomicU64::new(1),
        live: broadcast::channel(256).0,
    })
}

impl Tail {
    fn push(&self, level: &str, target: &str, message: String) {
        let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        // Numbered under the lock so the ring stays in order.
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let line = Arc::new(LogLine { seq, unix_ms, level: level.into(), target: target.into(), message });
        if lines.len() == KEPT {
            lines.pop_front();
        }
        lines.push_back(line.clone());
        drop(lines);
        let _ = self.live.send(line);
    }

    fn since(&self, after: u64) -> (Vec<Arc<LogLine>>, broadcast::Receiver<Arc<LogLine>>) {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let receiver = self.live.subscribe();
        (lines.iter().filter(|l| l.seq > after).cloned().collect(), receiver)
    }
}

/// Records a log line directly (for messages logged before the subscriber exists and in tests).
pub fn record(level: &str, target: &str, message: impl Into<String>) {
    tail().push(level, target, message.into());
}

/// The `tracing` layer that feeds the tail. Add it to the subscriber after the filter.
pub fn layer() -> TailLayer {
    TailLayer
}

/// See [`layer`].
pub struct TailLayer;

struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for TailLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let meta = event.metadata();
        tail().push(meta.level().as_str(), meta.target(), fields.0);
    }
}

/// The daemon's log, live: the last lines kept (after `Last-Event-ID`, if given), then
/// every new line, as Server-Sent Events (`event: log`, data: a LogLine).
#[utoipa::path(get, path = "/api/v1/log", tag = "system",
    params(("Last-Event-ID" = Option<u64>, Header, description = "Continue after this line")),
    responses(
        (status = 200, description = "`event: log` (data: LogLine), `id:` = line number", content_type = "text/event-stream", body = LogLine),
        (status = 401, description = "Login required", body = crate::api::error::ErrorBody),
        (status = 403, description = "Technicians only", body = crate::api::error::ErrorBody),
    ))]
pub async fn get_log(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let (backlog, mut live) = tail().since(after);
    let (tx, rx) = mpsc::channel(64);
    let cancel = app.cancel.clone();
    app.tracker.spawn(async move {
        let forward = async {
            let mut sent = after;
            for line in backlog {
                sent = line.seq;
                if tx.send(Ok(log_event(&line))).await.is_err() {
                    return;
                }
            }
            loop {
                match live.recv().await {
                    Ok(line) if line.seq <= sent => {}
                    Ok(line) => {
                        sent = line.seq;
                        if tx.send(Ok(log_event(&line))).await.is_err() {
                            return;
                        }
                    }
                    // A burst of lines: skip to the newest ones rather than fall behind.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = forward => {}
        }
    });
    Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn log_event(line: &LogLine) -> SseEvent {
    SseEvent::default()
        .event("log")
        .id(line.seq.to_string())
        .data(serde_json::to_string(line).unwrap_or_else(|_| "{}".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_kept() {
        record("INFO", "test", "first line of this test");
        record("WARN", "test", "second line of this test");
        let (lines, _) = tail().since(0);
        let ours: Vec<_> = lines.iter().filter(|l| l.target == "test").collect();
        assert!(ours.len() >= 2);
        let last_two = &ours[ours.len() - 2..];
        assert_eq!(last_two[0].message, "first line of this test");
        assert_eq!(last_two[1].level, "WARN");
        assert!(last_two[0].seq < last_two[1].seq);
        let (after, _) = tail().since(last_two[0].seq);
        assert!(after.iter().all(|l| l.seq > last_two[0].seq));
    }
}
