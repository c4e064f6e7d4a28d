//! Wiring: the session owner, the HTTP server, and a clean shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use podium_floor::Floor;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::SessionClock;
use crate::config::RoomConfig;
use crate::{api, session};

/// How long shutdown may take before the daemon stops waiting for stragglers.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// Runs the room until `cancel` fires. Prints `podiumd listening on http://ADDR` on stdout
/// once the API accepts connections (tests and scripts wait for that line).
pub async fn serve(config: RoomConfig, listen: SocketAddr, cancel: CancellationToken) -> anyhow::Result<()> {
    let tracker = TaskTracker::new();
    let floor = Floor::new(config.floor_setup());
    let session = session::spawn(floor, SessionClock::starting_at(0), cancel.clone(), &tracker);
    let listener = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!("podiumd listening on http://{addr}");
    tracing::info!(room = %config.room_id, seats = config.setup.seats.len(), %addr, "room open");

    let app = api::router(session, cancel.clone(), tracker.clone(), &config.room_id);
    let server = axum::serve(listener, app).with_graceful_shutdown(cancel.clone().cancelled_owned());
    let overdue = async {
        cancel.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result.context("HTTP server failed")?,
        _ = overdue => tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them"),
    }
    tracker.close();
    if tokio::time::timeout(Duration::from_millis(300), tracker.wait()).await.is_err() {
        tracing::warn!("background tasks did not stop in time");
    }
    tracing::info!("room closed");
    Ok(())
}

/// Cancels `cancel` on SIGTERM or SIGINT.
pub fn cancel_on_signals(cancel: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
        cancel.cancel();
    });
    Ok(())
}
