//! The embedded broker (rumqttd) for a single room with no IT department.
//!
//! Limits, documented in firmware-host/docs/mqtt-contract.md: MQTT 3.1.1 only, no persistence (retained
//! messages and sessions live in memory; podiumd republishes its retained topics on every
//! connect), no ACLs (it listens on loopback by default), and it cannot be stopped
//! without ending the process. Rooms that need more use an external Mosquitto.

use std::collections::HashMap;
use std::net::SocketAddr;

use anyhow::Context;

/// Largest MQTT packet the embedded broker accepts (snapshots of large rooms fit).
pub const MAX_PACKET: usize = 1024 * 1024;

/// Starts the broker on its own threads; returns the address it listens on. Port 0 picks
/// a free port (for tests and side-by-side demos).
pub fn start(listen: SocketAddr) -> anyhow::Result<SocketAddr> {
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
            auth: None,
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
