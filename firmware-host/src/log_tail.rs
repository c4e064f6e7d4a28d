//! The log tail for the technician console: a `tracing` layer keeps the last lines in a
//! ring and passes new ones on; `GET /api/v1/log` (api/log.rs) streams them.

use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::broadcast;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

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

/// The lines kept after `after`, and a receiver of every new line (subscribed before the
/// kept lines were read, so nothing falls between them; a line may come in both).
pub fn since(after: u64) -> (Vec<Arc<LogLine>>, broadcast::Receiver<Arc<LogLine>>) {
    tail().since(after)
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
