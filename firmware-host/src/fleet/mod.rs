//! Room → city: the room's retained health document and its alarms on the room's MQTT
//! prefix, for the city's fleet view (`firmware-host/docs/mqtt-contract.md`, "Health and
//! alarms"). `health.rs` decides what the inputs say; this task gathers them every
//! [`GATHER_EVERY`], publishes the document when it changed (or every [`REFRESH_EVERY`],
//! and after every reconnect, since a restarted central broker may have lost it) and an
//! alarm for each change of what fails.

pub mod health;
pub mod server;
pub mod view;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::desks::Desks;
use crate::mqtt::link::Outlet;
use crate::room::Room;
use crate::session::SessionHandle;
use health::{DiskHealth, HealthDocument, HealthInputs, RoomName};

/// How often the inputs are gathered (and a change can be published).
pub const GATHER_EVERY: Duration = Duration::from_secs(5);
/// The document is published at least this often, changed or not (its uptime moves on).
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// Where the health comes from.
pub struct Sources {
    /// The room.
    pub room: RoomName,
    /// The floor, the journal, the open meeting.
    pub session: SessionHandle,
    /// Desk buses.
    pub desks: Desks,
    /// Networked desk units (MQTT).
    pub networked: std::sync::Arc<crate::mqtt::desk_units::DeskUnits>,
    /// Cameras, displays, switchers, microphones, the button box.
    pub devices: Room,
    /// The journal's directory (for free disk), if it is a file.
    pub journal_dir: Option<PathBuf>,
    /// `[web] public_url`, for the fleet view's link to the technician console.
    pub public_url: Option<String>,
}

/// Starts the publisher on the link's outlet.
pub fn start(outlet: Outlet, sources: Sources, cancel: CancellationToken, tracker: &TaskTracker) {
    tracker.spawn(run(outlet, sources, cancel));
}

async fn run(outlet: Outlet, sources: Sources, cancel: CancellationToken) {
    let started = Instant::now();
    let mut connections = outlet.connections();
    let mut tick = tokio::time::interval(GATHER_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last: Option<HealthDocument> = None;
    let mut published_at: Option<Instant> = None;
    loop {
        let reconnected = tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => false,
            changed = connections.changed() => changed.is_ok(),
        };
        let Ok(document) = gather(&sources, started).await else { return };
        if let Some(before) = &last {
            for alarm in health::alarms(before, &document) {
                tracing::warn!(kind = %alarm.kind, subject = %alarm.subject, "{}", alarm.message);
                outlet.publish(outlet.topics().alarms(), false, to_json(&alarm));
            }
        }
        let due = reconnected
            || last.as_ref().is_none_or(|before| health::differs(before, &document))
            || published_at.is_none_or(|at| at.elapsed() >= REFRESH_EVERY);
        if due {
            outlet.publish(outlet.topics().health(), true, to_json(&document));
            published_at = Some(Instant::now());
        }
        last = Some(document);
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// The health document now. `Err` once the session is gone (shutdown).
async fn gather(
    sources: &Sources,
    started: Instant,
) -> Result<HealthDocument, crate::session::SessionClosed> {
    let session = &sources.session;
    let meeting_title = session.current_meeting().await?.map(|m| m.title);
    let snapshot = session.snapshot();
    Ok(health::document(HealthInputs {
        podiumd: env!("CARGO_PKG_VERSION"),
        room: sources.room.clone(),
        snapshot: &snapshot,
        meeting_title,
        devices: sources.devices.health(),
        desks: sources.desks.report(),
        networked: sources.networked.report(),
        journal: session.journal().status(),
        clock_synchronized: clock_synchronized(),
        disk: sources.journal_dir.as_deref().and_then(disk_free),
        uptime_s: started.elapsed().as_secs(),
        at_unix_ms: podium_devices::serial::unix_ms_now(),
        public_url: sources.public_url.clone(),
    }))
}

/// Whether the system clock is synchronised (NTP or PTP disciplines it): the kernel's view
/// (`adjtimex` reports `TIME_ERROR` or `STA_UNSYNC` while it is not). The shipped unit's
/// `ProtectClock=yes` refuses even that read (EPERM); then systemd-timesyncd's marker file,
/// which it creates once it has synchronised the clock (Raspberry Pi OS and Debian use it).
fn clock_synchronized() -> Option<bool> {
    kernel_clock_synchronized().or_else(|| {
        let marker = std::path::Path::new("/run/systemd/timesync/synchronized");
        let timesyncd = std::path::Path::new("/run/systemd/timesync");
        // Without timesyncd nothing can be said; with it, no marker means not yet.
        timesyncd.is_dir().then(|| marker.exists())
    })
}

fn kernel_clock_synchronized() -> Option<bool> {
    /// `TIME_ERROR` from `adjtimex`, and `STA_UNSYNC` in its status (linux/timex.h).
    const TIME_ERROR: i32 = 5;
    const STA_UNSYNC: i32 = 0x0040;
    // SAFETY: `timex` is a plain C struct; all zeros (mode 0) asks only to read the kernel's
    // clock state, which `adjtimex` writes into it.
    let (state, timex) = unsafe {
        let mut timex: libc::timex = std::mem::zeroed();
        (libc::adjtimex(&mut timex), timex)
    };
    (state >= 0).then_some(state != TIME_ERROR && timex.status & STA_UNSYNC == 0)
}

/// Free space on the file system of `dir`.
fn disk_free(dir: &std::path::Path) -> Option<DiskHealth> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    let fragment = stat.f_frsize.max(1);
    let free = stat.f_bavail.saturating_mul(fragment);
    let size = stat.f_blocks.saturating_mul(fragment).max(1);
    Some(DiskHealth {
        path: dir.display().to_string(),
        free_bytes: free,
        free_percent: (free as f64 * 1000.0 / size as f64).round() / 10.0,
    })
}
