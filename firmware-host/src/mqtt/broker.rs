//! The embedded broker (rumqttd) for a single room with no IT department.
//!
//! Limits, documented in firmware-host/docs/mqtt-contract.md: MQTT 3.1.1 only, no persistence (retained
//! messages and sessions live in memory; podiumd republishes its retained topics on every
//! connect), and it cannot be stopped without ending the process. Rooms that need more use
//! an external Mosquitto.
//!
//! Without credentials in the room file (allowed on loopback only) rumqttd listens on the
//! configured address and lets anyone in. With credentials (required beyond loopback),
//! rumqttd listens on a random loopback port with one internal login, and the gate
//! (`gate.rs`) listens on the configured address and enforces logins and topic rights.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use super::gate::{Gate, InternalLogin};
use super::rights::Accounts;

/// Largest MQTT packet the embedded broker accepts (snapshots of large rooms fit).
pub const MAX_PACKET: usize = 1024 * 1024;

/// The running embedded broker, as podiumd's own client reaches it.
#[derive(Debug)]
pub struct Embedded {
    /// Where podiumd connects.
    pub connect: SocketAddr,
    /// Where clients connect (the gate's address when there is one).
    pub listen: SocketAddr,
    /// podiumd's login at the broker when it checks logins.
    pub login: Option<InternalLogin>,
    /// The gate to run, with its bound listener.
    pub gate: Option<(std::net::TcpListener, Arc<Gate>)>,
}

/// Starts the broker on its own threads. Port 0 picks a free port (for tests and
/// side-by-side demos). With `accounts`, the broker listens on loopback only and the gate
/// is returned to be run on `listen`.
pub fn start(listen: SocketAddr, accounts: Option<Accounts>) -> anyhow::Result<Embedded> {
    let Some(accounts) = accounts else {
        // The configuration check refuses this; a second line of defence for every other
        // way of building a room (the demo's `--mqtt-listen`).
        anyhow::ensure!(
            listen.ip().is_loopback(),
            "the embedded MQTT broker has no credentials, so it listens on loopback only, not on {listen} \
             (add `password_hash` to the desk units and `[[mqtt_account]]`s: see config/README.md)"
        );
        let listen = run_rumqttd(listen, None)?;
        return Ok(Embedded { connect: listen, listen, login: None, gate: None });
    };
    let gate_listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("embedded MQTT broker cannot listen on {listen}"))?;
    let listen = gate_listener.local_addr()?;
    let internal = InternalLogin {
        username: "podium-internal".into(),
        password: crate::api::access::secret::new_token()?,
    };
    let upstream = run_rumqttd(SocketAddr::from(([127, 0, 0, 1], 0)), Some(&internal))?;
    let gate = Arc::new(Gate::new(accounts, upstream, internal.clone()));
    tracing::info!(%listen, "embedded MQTT broker checks logins and topic rights");
    Ok(Embedded { connect: upstream, listen, login: Some(internal), gate: Some((gate_listener, gate)) })
}

/// Runs rumqttd on `listen`, with one login if given; returns the address.
fn run_rumqttd(listen: SocketAddr, login: Option<&InternalLogin>) -> anyhow::Result<SocketAddr> {
    // Fail early and clearly if the port is taken (rumqttd would only log it), and learn
    // the port when 0 was asked for.
    let probe = std::net::TcpListener::bind(listen)
        .with_context(|| format!("embedded MQTT broker cannot listen on {listen}"))?;
    let listen = probe.local_addr()?;
    drop(probe);
    let server = rumqttd::ServerSettings {
        name: "podium-embedded".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: rumqttd::ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: MAX_PACKET,
            max_inflight_count: 500,
            auth: login.map(|l| HashMap::from([(l.username.clone(), l.password.clone())])),
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let config = rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 10_010,
            max_outgoing_packet_count: 2_000,
            max_segment_size: 10 * 1024 * 1024,
            max_segment_count: 10,
            ..Default::default()
        },
        v4: Some(HashMap::from([("v4".to_string(), server)])),
        ..Default::default()
    };
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        })
        .context("cannot start the embedded MQTT broker thread")?;
    tracing::info!(%listen, "embedded MQTT broker started");
    Ok(listen)
}
