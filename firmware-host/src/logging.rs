//! Structured logs: to the journal under systemd, human-readable on a terminal.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber. `RUST_LOG` overrides `default_level`.
pub fn init(default_level: &str) {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    // systemd sets JOURNAL_STREAM for services whose output goes to the journal.
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        match tracing_journald::layer() {
            Ok(journald) => {
                let tail = crate::log_tail::layer();
                tracing_subscriber::registry().with(filter()).with(journald).with(tail).init();
                return;
            }
            Err(e) => eprintln!("podiumd: journald not reachable ({e}); logging to stderr"),
        }
    }
    // The technician console's log tail sees the same lines (after the same filter).
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    tracing_subscriber::registry().with(filter()).with(stderr).with(crate::log_tail::layer()).init();
}
