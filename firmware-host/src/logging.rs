//! Structured logs: to stderr, which systemd hands to the journal (each line carries its
//! syslog priority, `<3>` for errors, so `journalctl -p err` works) and a terminal shows.
//!
//! Logging never blocks the runtime: lines go through a bounded in-memory queue to a
//! writer thread ([`tracing_appender::non_blocking`]). If the consumer stalls (a stopped
//! journald, a full pipe), lines beyond [`LOG_QUEUE_LINES`] are dropped and counted
//! ([`dropped_lines`], shown in `/metrics`) instead of stopping the floor. Not the
//! `tracing-journald` layer: it sends each line on a blocking socket.

use std::sync::OnceLock;

use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Lines waiting for the writer at most; beyond that new lines are dropped and counted.
pub const LOG_QUEUE_LINES: usize = 16_384;

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Log lines dropped because the output could not keep up, since start.
pub fn dropped_lines() -> usize {
    DROPPED.get().map_or(0, ErrorCounter::dropped_lines)
}

/// Keeps the log writer running; dropping it writes what is queued. Hold it until exit.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard(#[allow(dead_code)] WorkerGuard);

/// Installs the global subscriber. `RUST_LOG` overrides `default_level`.
pub fn init(default_level: &str) -> LogGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let (writer, guard) = queued(std::io::stderr());
    let _ = DROPPED.set(writer.error_counter());
    // systemd sets JOURNAL_STREAM for services whose output goes to the journal, which
    // stamps lines itself and reads the priority prefix.
    let under_systemd = std::env::var_os("JOURNAL_STREAM").is_some();
    let output = tracing_subscriber::fmt::layer().with_writer(writer);
    let registry = tracing_subscriber::registry().with(filter).with(crate::log_tail::layer());
    if under_systemd {
        let format = tracing_subscriber::fmt::format().without_time().with_ansi(false);
        registry.with(output.with_ansi(false).event_format(SyslogPriority(format))).init();
    } else {
        registry.with(output).init();
    }
    LogGuard(guard)
}

fn queued<W: std::io::Write + Send + 'static>(
    sink: W,
) -> (tracing_appender::non_blocking::NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default().lossy(true).buffered_lines_limit(LOG_QUEUE_LINES).finish(sink)
}

/// Prefixes each line with its syslog priority (`sd-daemon(3)`), which journald reads.
struct SyslogPriority<F>(F);

impl<S, N, F> FormatEvent<S, N> for SyslogPriority<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            Level::DEBUG | Level::TRACE => 7,
        };
        write!(writer, "<{priority}>")?;
        self.0.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Condvar, Mutex};

    use super::*;

    /// An output that blocks until released, like a stopped journald.
    struct Stalled(Arc<(Mutex<bool>, Condvar)>);

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (released, wake) = &*self.0;
            let mut released = released.lock().expect("lock");
            while !*released {
                released = wake.wait(released).expect("wait");
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_output_drops_and_counts_lines_instead_of_blocking() {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let (writer, guard) = queued(Stalled(gate.clone()));
        let counter = writer.error_counter();
        let subscriber = tracing_subscriber::fmt().with_writer(writer).finish();
        // Were logging blocking, this loop would never finish (the output never returns).
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..LOG_QUEUE_LINES + 500 {
                tracing::warn!(i, "line");
            }
        });
        assert!(counter.dropped_lines() >= 400, "dropped {}", counter.dropped_lines());
        let (released, wake) = &*gate;
        *released.lock().expect("lock") = true;
        wake.notify_all();
        drop(guard);
    }

    #[test]
    fn lines_carry_their_syslog_priority() {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let make = move || SharedBuf(sink.clone());
        let format = tracing_subscriber::fmt::format().without_time().with_ansi(false);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(make)
            .with_ansi(false)
            .event_format(SyslogPriority(format))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!("broken");
            tracing::info!("fine");
        });
        let text = String::from_utf8(out.lock().expect("lock").clone()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("<3>") && lines[0].contains("broken"), "{text}");
        assert!(lines[1].starts_with("<6>") && lines[1].contains("fine"), "{text}");
    }

    struct SharedBuf(Arc<Mutex<Vec<u8>>>);

    impl Write for SharedBuf {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
