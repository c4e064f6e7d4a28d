//! Benchmark (not a test): a fleet of rooms on bridged Mosquittos (deploy/mosquitto).
//!
//! 1. A remote request through the city's broker → the room's bridge → the room's broker →
//!    podiumd → its event stream, beside the raw bridged hop of the same message (publish at
//!    the city's broker → a subscriber on the room's broker), both stamped per message.
//! 2. The fleet view after the city's broker restarts empty, with 50 simulated rooms (each a
//!    local Mosquitto with the shipped bridge and a retained health document): the time until
//!    `podiumd fleet` shows all 50 again, beside a plain subscriber at the city's broker
//!    seeing all 50 documents (the bridges' own reconnect, which the view cannot beat).
//!
//! Run: `cargo bench -p podium-host --bench fleet` (needs `mosquitto`; tests/run installs it).

#[path = "../../tests/e2e/support/mod.rs"]
mod support;

#[path = "../../tests/bench/report.rs"]
mod report;

use std::time::{Duration, Instant};

use report::{Kind, Report, human};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use support::Daemon;
use support::mosquitto::Mosquitto;
use support::socket_sse::SocketSse;

const SAMPLES: usize = 300;
const MEMBERS: usize = 50;
const ROOMS: usize = 50;
const RESTARTS: usize = 5;

/// An MQTT client whose received messages are stamped on arrival, in a thread of its own.
fn client(port: u16, id: &str) -> (AsyncClient, std::sync::mpsc::Receiver<(String, Instant)>) {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30)).set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 10_000);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send((p.topic.clone(), Instant::now())).is_err() {
                            return;
                        }
                    }
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = tx.send(("<connack>".into(), Instant::now()));
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
    });
    (client, rx)
}

fn wait_for(rx: &std::sync::mpsc::Receiver<(String, Instant)>, topic: &str) -> Instant {
    loop {
        let (got, at) = rx.recv_timeout(Duration::from_secs(30)).expect("a message within 30 s");
        if got == topic {
            return at;
        }
    }
}

#[tokio::main]
async fn main() {
    let mut report = Report::new(
        "fleet",
        "A fleet of rooms: a remote request through the city's broker, and the fleet view after its restart",
        "cargo bench -p podium-host --bench fleet",
    );
    bridged_request(&mut report).await;
    fleet_convergence(&mut report).await;
    report.note(format!(
        "Path: {SAMPLES} remote requests (and their withdrawals) published at the city's broker by a client there, \
         bridged to the room's Mosquitto with the shipped `room-bridge.conf` (QoS 1, no TLS on loopback), handled by \
         podiumd (no meeting) and read from its event stream; the raw hop is the same message stamped by a \
         subscriber on the room's broker. Three Mosquittos, podiumd and the clients share this machine's 2 cores."
    ));
    report.note(format!(
        "Convergence: {ROOMS} simulated rooms, each a Mosquitto with the shipped bridge (`restart_timeout 2 30`) \
         and a retained health document; the city's broker (no persistence: it comes back empty) is killed and \
         started again {RESTARTS} times; the view is `podiumd fleet` polled every 20 ms through its JSON API; the \
         limit is a plain subscriber at the city's broker that connects right after the restart and counts the \
         {ROOMS} documents. Both include the bridges' wait before they reconnect."
    ));
    report.finish();
}

async fn bridged_request(report: &mut Report) {
    let central = Mosquitto::start();
    let local = Mosquitto::bridged_room("bench", central.port, "unused");
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::with_config(dir.path(), &support::remote_members_room(local.port, MEMBERS));
    let (remote, remote_rx) = client(central.port, "bench-remote");
    wait_for(&remote_rx, "<connack>");
    let (local_spy, spy_rx) = client(local.port, "bench-spy");
    wait_for(&spy_rx, "<connack>");
    local_spy.subscribe("podium/v1/bench/remote/+/request", QoS::AtLeastOnce).await.expect("subscribe");
    let base = "podium/v1/bench/remote";
    for i in 0..MEMBERS {
        let presence = r#"{"v":1,"present":true}"#;
        remote
            .publish(format!("{base}/r{i}/presence"), QoS::AtLeastOnce, true, presence)
            .await
            .expect("publish");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, state) = daemon.get("/api/v1/state").await;
        let present =
            state["floor"]["presence"].as_object().map(|p| p.values().filter(|v| *v == "remote").count());
        if present == Some(MEMBERS) {
            break;
        }
        assert!(Instant::now() < deadline, "the remote members did not join through the bridge");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The spy's subscription is in place once a request reaches it.
    let (_, state) = daemon.get("/api/v1/state").await;
    let address = daemon.base.trim_start_matches("http://").to_owned();
    let mut sse = SocketSse::connect(&address, "/api/v1/events", state["floor"]["seq"].as_u64()).await;
    let (mut path, mut hop) = (Vec::new(), Vec::new());
    for i in 0..SAMPLES + 10 {
        let who = format!("r{}", i % MEMBERS);
        let topic = format!("{base}/{who}/request");
        let sent = Instant::now();
        remote.publish(topic.clone(), QoS::AtLeastOnce, false, r#"{"v":1}"#).await.expect("publish");
        let (event, arrived) = sse.next().await;
        assert_eq!(event.data["change"]["type"], "request_added");
        let bridged = wait_for(&spy_rx, &topic);
        remote
            .publish(format!("{base}/{who}/withdraw"), QoS::AtLeastOnce, false, r#"{"v":1}"#)
            .await
            .expect("publish");
        assert_eq!(sse.next().await.0.data["change"]["type"], "request_removed");
        // The first few warm the connections up.
        if i >= 10 {
            path.push(arrived - sent);
            hop.push(bridged - sent);
        }
    }
    report.distribution(
        "raw bridged hop: city's broker → bridge → room's broker → subscriber",
        Kind::Limit,
        &mut hop,
    );
    report.distribution(
        "remote request at the city's broker → room's event stream (podiumd)",
        Kind::Podium,
        &mut path,
    );
    drop((daemon, local, central));
}

async fn fleet_convergence(report: &mut Report) {
    let mut central = Mosquitto::start();
    let rooms: Vec<Mosquitto> = (0..ROOMS)
        .map(|i| {
            let id = format!("room{i:02}");
            let local = Mosquitto::bridged_room_retrying(&id, central.port, "unused", "restart_timeout 2 30");
            let health =
                serde_json::json!({"v": 1, "room": {"id": id, "name": id}, "trouble": "ok"}).to_string();
            support::mosquitto::publish(local.port, &format!("podium/v1/{id}/health"), &health, true);
            local
        })
        .collect();
    let view = Daemon::start(&[
        "fleet",
        "--broker",
        &format!("127.0.0.1:{}", central.port),
        "--listen",
        "127.0.0.1:0",
    ]);
    let all_shown = |body: &serde_json::Value| {
        body["connected"] == true
            && body["rooms"].as_array().is_some_and(|r| {
                r.iter().filter(|r| r["health"]["v"] == 1 && r["uplink"] == true).count() == ROOMS
            })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !all_shown(&view.get("/api/v1/rooms").await.1) {
        assert!(Instant::now() < deadline, "the fleet view never showed the {ROOMS} rooms");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut shown, mut documents) = (Vec::new(), Vec::new());
    for round in 0..RESTARTS {
        central.kill();
        // The bridges notice and start their back-off; the view notices too.
        tokio::time::sleep(Duration::from_secs(1)).await;
        central.restart();
        let restarted = Instant::now();
        let restarted_wall = podium_devices::serial::unix_ms_now();
        let (spy, spy_rx) = client(central.port, &format!("bench-count-{round}"));
        wait_for(&spy_rx, "<connack>");
        spy.subscribe("podium/v1/+/health", QoS::AtLeastOnce).await.expect("subscribe");
        let counter = std::thread::spawn(move || {
            let mut seen = std::collections::BTreeSet::new();
            while seen.len() < ROOMS {
                let (topic, at) =
                    spy_rx.recv_timeout(Duration::from_secs(60)).expect("documents within 60 s");
                if topic.ends_with("/health") {
                    seen.insert(topic);
                }
                if seen.len() == ROOMS {
                    return at;
                }
            }
            Instant::now()
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, body) = view.get("/api/v1/rooms").await;
            // Only health that arrived after the restart counts: the view keeps what it knew.
            let fresh =
                |r: &serde_json::Value| r["health_unix_ms"].as_i64().is_some_and(|at| at >= restarted_wall);
            if all_shown(&body) && body["rooms"].as_array().is_some_and(|r| r.iter().all(fresh)) {
                shown.push(restarted.elapsed());
                break;
            }
            assert!(Instant::now() < deadline, "the fleet view did not converge within 60 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        documents.push(counter.join().expect("counter") - restarted);
        drop(spy);
    }
    report.distribution(
        &format!("city's broker restarted → a subscriber there has all {ROOMS} rooms' health again"),
        Kind::Limit,
        &mut documents,
    );
    report.distribution(
        &format!("city's broker restarted → the fleet view shows all {ROOMS} rooms again"),
        Kind::Podium,
        &mut shown,
    );
    report.figure(
        "bridges' first retry after a lost connection (restart_timeout)",
        Kind::Limit,
        human(Duration::from_secs(2)),
    );
    drop((view, rooms, central));
}
