//! The counters behind `/metrics` (served by `health.rs`) in the Prometheus text format. Only what the daemon can count honestly:
//! floor events since start, commands through the HTTP API by outcome, open event
//! streams, denied requests, logins, live sessions, uptime.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Counters, shared by every request.
pub struct Metrics {
    started: Instant,
    seq_at_start: u64,
    commands_accepted: AtomicU64,
    commands_rejected: Mutex<BTreeMap<String, u64>>,
    streams_open: AtomicI64,
    streams_total: AtomicU64,
    denied_401: AtomicU64,
    denied_403: AtomicU64,
    logins_ok: AtomicU64,
    logins_failed: AtomicU64,
    /// HTTP connections open now, and those closed at once for a cap (see api/server.rs).
    connections_open: AtomicI64,
    connections_refused_global: AtomicU64,
    connections_refused_address: AtomicU64,
    /// Event streams refused (429 `too_many_streams`) and slow ones resynchronised.
    streams_refused: AtomicU64,
    streams_resynced: AtomicU64,
}

/// An open event stream counted by [`Metrics`]; owns a handle so it can live in a body.
pub struct StreamGuard(Arc<Metrics>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.streams_open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Counters starting now, at floor sequence number `seq`.
    pub fn new(seq: u64) -> Self {
        Metrics {
            started: Instant::now(),
            seq_at_start: seq,
            commands_accepted: AtomicU64::new(0),
            commands_rejected: Mutex::new(BTreeMap::new()),
            streams_open: AtomicI64::new(0),
            streams_total: AtomicU64::new(0),
            denied_401: AtomicU64::new(0),
            denied_403: AtomicU64::new(0),
            logins_ok: AtomicU64::new(0),
            logins_failed: AtomicU64::new(0),
            connections_open: AtomicI64::new(0),
            connections_refused_global: AtomicU64::new(0),
            connections_refused_address: AtomicU64::new(0),
            streams_refused: AtomicU64::new(0),
            streams_resynced: AtomicU64::new(0),
        }
    }

    /// A command through the API was accepted.
    pub fn command_accepted(&self) {
        self.commands_accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// A command through the API was refused with this code (engine reason, access or
    /// input error).
    pub fn command_rejected(&self, code: &str) {
        // Codes come from our own error bodies; keep the label set bounded anyway.
        let code = if code.len() <= 40 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            code
        } else {
            "other"
        };
        let mut map = self.commands_rejected.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(code.to_owned()).or_default() += 1;
    }

    /// A request was refused by the access rules.
    pub fn denied(&self, status: u16) {
        let counter = if status == 401 { &self.denied_401 } else { &self.denied_403 };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A login attempt ended.
    pub fn login(&self, ok: bool) {
        let counter = if ok { &self.logins_ok } else { &self.logins_failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// An HTTP connection opened (`+1`) or closed (`-1`).
    pub fn connections_changed(&self, by: i64) {
        self.connections_open.fetch_add(by, Ordering::Relaxed);
    }

    /// A connection was closed at once: all connections in use (`global`) or its address's.
    pub fn connection_refused(&self, global: bool) {
        let counter =
            if global { &self.connections_refused_global } else { &self.connections_refused_address };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// An event stream was refused: its address has as many as it may.
    pub fn stream_refused(&self) {
        self.streams_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A client fell behind the resume window and was sent a fresh snapshot.
    pub fn stream_resynced(&self) {
        self.streams_resynced.fetch_add(1, Ordering::Relaxed);
    }

    /// Event streams open now.
    pub fn streams_open(&self) -> i64 {
        self.streams_open.load(Ordering::Relaxed)
    }

    /// The counters as Prometheus text.
    pub fn render(&self, seq: u64, sessions: usize, room: &str) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let plain = |v: String| vec![(String::new(), v)];
        metric(
            "podium_info",
            "gauge",
            "Version and room of this daemon.",
            &[(
                format!("{{version=\"{}\",room=\"{}\"}}", env!("CARGO_PKG_VERSION"), escape(room)),
                "1".into(),
            )],
        );
        metric(
            "podium_uptime_seconds",
            "gauge",
            "Seconds since the daemon started.",
            &plain(format!("{:.3}", self.started.elapsed().as_secs_f64())),
        );
        metric(
            "podium_floor_seq",
            "gauge",
            "Sequence number of the last floor event.",
            &plain(seq.to_string()),
        );
        metric(
            "podium_floor_events_total",
            "counter",
            "Floor events since the daemon started.",
            &plain(seq.saturating_sub(self.seq_at_start).to_string()),
        );
        let mut commands = vec![(
            "{result=\"accepted\"}".to_owned(),
            self.commands_accepted.load(Ordering::Relaxed).to_string(),
        )];
        let rejected = self.commands_rejected.lock().unwrap_or_else(|p| p.into_inner()).clone();
        commands.extend(
            rejected
                .iter()
                .map(|(code, n)| (format!("{{result=\"rejected\",reason=\"{code}\"}}"), n.to_string())),
        );
        metric(
            "podium_api_commands_total",
            "counter",
            "Commands sent through the HTTP API, by outcome and rejection reason.",
            &commands,
        );
        metric(
            "podium_event_stream_clients",
            "gauge",
            "Event-stream (SSE) clients connected now.",
            &plain(self.streams_open.load(Ordering::Relaxed).to_string()),
        );
        metric(
            "podium_event_stream_connections_total",
            "counter",
            "Event-stream (SSE) connections since start.",
            &plain(self.streams_total.load(Ordering::Relaxed).to_string()),
        );
        metric(
            "podium_http_denied_total",
            "counter",
            "Requests refused by the access rules, by status.",
            &[
                ("{status=\"401\"}".into(), self.denied_401.load(Ordering::Relaxed).to_string()),
                ("{status=\"403\"}".into(), self.denied_403.load(Ordering::Relaxed).to_string()),
            ],
        );
        metric(
            "podium_logins_total",
            "counter",
            "Password logins, by result.",
            &[
                ("{result=\"ok\"}".into(), self.logins_ok.load(Ordering::Relaxed).to_string()),
                ("{result=\"failed\"}".into(), self.logins_failed.load(Ordering::Relaxed).to_string()),
            ],
        );
        metric("podium_sessions", "gauge", "Live login sessions.", &plain(sessions.to_string()));
        metric(
            "podium_log_lines_dropped_total",
            "counter",
            "Log lines dropped because the log output could not keep up (logging never waits).",
            &plain(crate::logging::dropped_lines().to_string()),
        );
        metric(
            "podium_http_connections",
            "gauge",
            "HTTP connections open now.",
            &plain(self.connections_open.load(Ordering::Relaxed).to_string()),
        );
        metric(
            "podium_http_connections_refused_total",
            "counter",
            "HTTP connections closed at once because a cap was reached: all connections or one address's ([http] limits).",
            &[
                (
                    "{cap=\"global\"}".into(),
                    self.connections_refused_global.load(Ordering::Relaxed).to_string(),
                ),
                (
                    "{cap=\"address\"}".into(),
                    self.connections_refused_address.load(Ordering::Relaxed).to_string(),
                ),
            ],
        );
        metric(
            "podium_event_streams_refused_total",
            "counter",
            "Event streams refused with 429 too_many_streams ([http] max_streams_per_address).",
            &plain(self.streams_refused.load(Ordering::Relaxed).to_string()),
        );
        metric(
            "podium_event_streams_resynced_total",
            "counter",
            "Event-stream clients that fell behind the resume window and got a fresh snapshot.",
            &plain(self.streams_resynced.load(Ordering::Relaxed).to_string()),
        );
        out
    }
}

impl Metrics {
    /// Counts an event stream as open until the returned guard is dropped.
    pub fn stream_opened(self: &Arc<Self>) -> StreamGuard {
        self.streams_open.fetch_add(1, Ordering::Relaxed);
        self.streams_total.fetch_add(1, Ordering::Relaxed);
        StreamGuard(self.clone())
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new(5);
        m.command_accepted();
        m.command_rejected("list_closed");
        m.command_rejected("list_closed");
        m.command_rejected("Weird Code\"");
        m.denied(401);
        let text = m.render(12, 3, "rat\"saal");
        for line in [
            "podium_floor_events_total 7",
            "podium_floor_seq 12",
            "podium_api_commands_total{result=\"accepted\"} 1",
            "podium_api_commands_total{result=\"rejected\",reason=\"list_closed\"} 2",
            "podium_api_commands_total{result=\"rejected\",reason=\"other\"} 1",
            "podium_http_denied_total{status=\"401\"} 1",
            "podium_sessions 3",
            "# TYPE podium_event_stream_clients gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
        }
        assert!(text.contains("room=\"rat\\\"saal\""));
    }
}
