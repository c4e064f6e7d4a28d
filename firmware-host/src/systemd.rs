//! systemd integration (`Type=notify`): READY once the room is served, WATCHDOG while the
//! session owner answers, STOPPING at shutdown. Every call is a no-op when the daemon does
//! not run under systemd (no `NOTIFY_SOCKET`), so `podiumd` behaves the same by hand.
//!
//! The watchdog ping is not a timer that fires by itself: each one is sent only after the
//! session owner answered a ping over its command channel, so a wedged owner stops the
//! pings and systemd restarts the daemon (`Restart=on-failure`), which then restores the
//! meeting from the journal. A failing disk does not stop the pings: the room keeps working
//! and the journal reports `degraded` instead.

use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::session::SessionHandle;

/// Tells systemd the daemon is ready (journal restored, API listening).
pub fn ready(status: &str) {
    if let Err(e) = sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(status)]) {
        tracing::warn!("systemd notification failed: {e}");
    }
}

/// Tells systemd the daemon is shutting down.
pub fn stopping() {
    if let Err(e) = sd_notify::notify(&[NotifyState::Stopping, NotifyState::Status("shutting down")]) {
        tracing::warn!("systemd notification failed: {e}");
    }
}

/// Sends WATCHDOG=1 at half the interval systemd asked for (`WatchdogSec=`), each time after
/// the session owner answered. Does nothing if systemd asked for no watchdog.
pub fn spawn_watchdog(session: SessionHandle, cancel: CancellationToken, tracker: &TaskTracker) {
    let Some(timeout) = sd_notify::watchdog_enabled() else { return };
    let every = (timeout / 2).max(Duration::from_millis(50));
    tracing::info!(?timeout, "systemd watchdog enabled");
    tracker.spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = ticks.tick() => {}
            }
            match tokio::time::timeout(every, session.ping()).await {
                Ok(Ok(_)) => {
                    if let Err(e) = sd_notify::notify(&[NotifyState::Watchdog]) {
                        tracing::warn!("systemd watchdog notification failed: {e}");
                    }
                }
                Ok(Err(_)) => break,
                Err(_) => {
                    tracing::error!("the session owner did not answer within {every:?}; no watchdog ping")
                }
            }
        }
    });
}
