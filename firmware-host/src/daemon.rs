//! Wiring: the session owner, the HTTP server (api/server.rs), and a clean shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::RoomConfig;
use crate::{api, session};

/// How long shutdown may take before the daemon stops waiting for stragglers.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// Runs the room until `cancel` fires. Prints `podiumd listening on http://ADDR` on stdout
/// once the API accepts connections (tests and scripts wait for that line).
pub async fn serve(config: RoomConfig, listen: SocketAddr, cancel: CancellationToken) -> anyhow::Result<()> {
    let tracker = TaskTracker::new();
    // Opens the journal and restores the open meeting with its clock (see crate::journal).
    let session = session::start(&config, cancel.clone(), &tracker).await?;
    if let Some(draft) = &config.initial_draft {
        let stored = session.journal().read(|store| {
            store.agenda_draft().map_err(crate::journal::JournalError::sqlite("cannot read the draft agenda"))
        });
        if matches!(stored.await, Ok(None))
            && let Err(e) = session.save_agenda_draft(draft.clone()).await
        {
            tracing::warn!("cannot store the demo's draft agenda: {e}");
        }
    }
    let clock = session.clock();
    // Networked desk units' voice activity goes to the room task (voice mode).
    let (voices, unit_voices) = crate::room::voice::channel();
    let mqtt = start_mqtt(&config, &session, voices, &cancel, &tracker);
    // Desk-unit buses (and the demo's simulated units); their handle serves /api/v1/devices.
    // One protocol monitor for every driver; GET /api/v1/monitor streams it to technicians.
    let monitor = podium_devices::monitor::FrameMonitor::new();
    let desks = crate::desks::start(&config, &session, cancel.clone(), &tracker, &monitor)?;
    let http = http_limits(&config);
    // Control systems written for Televic drive the floor through the CoCon API.
    if let Some(cocon) = &config.cocon_api
        && let Err(e) = api::cocon::start(cocon, session.clone(), cancel.clone(), &tracker).await
    {
        tracing::error!("{e:#}; the room runs without the CoCon API");
    }
    let listener = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!("podiumd listening on http://{addr}");
    tracing::info!(room = %config.room_id, seats = config.setup.seats.len(), %addr, "room open");
    for line in crate::api::web::announce(&config.web, addr) {
        println!("{line}");
    }
    crate::systemd::ready(&format!("room {} on http://{addr}", config.room_id));
    crate::systemd::spawn_watchdog(session.clone(), cancel.clone(), &tracker);
    let owner = session.clone();

    // Cameras (displays, switchers, microphones) follow the floor; see room/.
    let room = crate::room::start(&config, &session, &cancel, &tracker, &monitor, unit_voices).await;
    // The room's health and alarms for the city's fleet view, on the room's MQTT prefix.
    if let Some(link) = &mqtt {
        let journal_dir = match &config.journal.location {
            crate::journal::JournalLocation::File(path) => path.parent().map(std::path::Path::to_path_buf),
            _ => None,
        };
        let sources = crate::fleet::Sources {
            room: crate::fleet::health::RoomName {
                id: config.room_id.clone(),
                name: config.room_name.clone(),
            },
            session: session.clone(),
            desks: desks.clone(),
            networked: link.desk_units(),
            devices: room.clone(),
            journal_dir,
            public_url: config.web.public_url.clone(),
        };
        crate::fleet::start(link.outlet(), sources, cancel.clone(), &tracker);
    }
    let web = std::sync::Arc::new(crate::api::web::Web::new(&config, clock, session.snapshot().floor.seq));
    let gate = api::server::Gate::new(
        http,
        config.web.trust_loopback_as.is_some(),
        config.http_trusted_proxies.clone(),
        web.metrics.clone(),
    );
    let app = api::router(api::Parts {
        session,
        cancel: cancel.clone(),
        room_id: config.room_id.as_str().into(),
        mqtt,
        web,
        desks,
        room,
        monitor,
        limits: http,
        print: crate::journal::print::PrintSettings {
            room_name: config.room_name.clone(),
            signatories: config.signatories.clone(),
            local: crate::journal::minutes::LocalTime::new(&config.time_zone)
                .unwrap_or_else(|_| crate::journal::minutes::LocalTime::new("UTC").expect("UTC exists")),
        },
        oparl: crate::oparl::OparlContext { settings: config.oparl.clone(), members: config.oparl_members() },
        bridge: crate::conference::setup_from(&config),
    });
    let server = api::server::serve(listener, app, gate, http, cancel.clone());
    let overdue = async {
        cancel.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        () = server => {}
        _ = overdue => tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them"),
    }
    crate::systemd::stopping();
    // The session owner writes what it applied to the journal before the process ends.
    if !owner.stopped(Duration::from_secs(5)).await {
        tracing::warn!("the session did not finish writing its journal in time");
    }
    tracker.close();
    if tokio::time::timeout(Duration::from_millis(300), tracker.wait()).await.is_err() {
        tracing::warn!("background tasks did not stop in time");
    }
    tracing::info!("room closed");
    Ok(())
}

/// The `[http]` caps, within the open-file limit. Every connection is a file descriptor:
/// the soft limit is raised to the hard one (the unit sets `LimitNOFILE=`), and caps above
/// it are lowered so the excess is refused cleanly instead of failing accept (EMFILE).
fn http_limits(config: &RoomConfig) -> crate::config::HttpLimits {
    let open_files = match api::server::raise_open_file_limit() {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!("could not raise the open-file limit: {e}");
            return config.http;
        }
    };
    let (limits, shrunk) = api::server::fit_to_file_limit(config.http, open_files);
    if shrunk {
        tracing::warn!(
            open_files,
            max_connections = limits.max_connections,
            reserved_connections = limits.reserved_connections,
            "[http] max_connections is above what this process may open; lowered (raise LimitNOFILE)"
        );
    } else {
        tracing::info!(open_files, max_connections = limits.max_connections, "open-file limit");
    }
    limits
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

/// Starts the MQTT link if configured. The room never depends on the broker: if the link
/// cannot start (e.g. the embedded broker's port is taken), the error is logged and
/// the room runs without it.
fn start_mqtt(
    config: &RoomConfig,
    session: &session::SessionHandle,
    voices: crate::room::voice::VoiceSender,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
) -> Option<crate::mqtt::link::Link> {
    config.mqtt.as_ref()?;
    match crate::mqtt::link::start(config, session.clone(), voices, cancel.clone(), tracker) {
        Ok(link) => {
            println!("podiumd mqtt on {}", link.status().broker);
            Some(link)
        }
        Err(e) => {
            tracing::error!("MQTT not available, the room runs without it: {e:#}");
            None
        }
    }
}
