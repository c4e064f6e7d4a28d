//! Room → city with a real Mosquitto: the retained health document and the alarms a room
//! publishes for the city's fleet view (`firmware-host/docs/mqtt-contract.md`).

mod support;

use serde_json::{Value, json};
use support::Daemon;
use support::mosquitto::{Mosquitto, Subscriber};

/// A room with three simulated desk units and an external broker.
fn room(port: u16) -> String {
    format!(
        r#"
[room]
id = "ratssaal"
name = "Testsaal"

[mqtt]
broker = "external"
host = "127.0.0.1"
port = {port}
keep_alive_s = 5

[web]
trust_loopback_as = "technician"

[discussion]
mode = "request"

[[seat]]
number = 1
member = "chair"
[[seat]]
number = 2
[[seat]]
number = 3

[[member]]
id = "chair"
name = "Vorsitz"
role = "chair"

[[bus]]
id = "desks"
simulated = true
desk_units = [
    {{ unit = 1, seat = 1, chair = true }},
    {{ unit = 2, seat = 2 }},
    {{ unit = 3, seat = 3 }},
]
"#
    )
}

fn health_of(payload: &Value) -> bool {
    payload["v"] == 1 && payload["room"]["id"] == "ratssaal"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_publishes_its_health_and_an_alarm_for_each_change_of_what_fails() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let health = Subscriber::start(broker.port, "podium/v1/ratssaal/health");
    let alarms = Subscriber::start(broker.port, "podium/v1/ratssaal/alarms");
    let daemon = Daemon::with_config(dir.path(), &room(broker.port));

    let first = health.wait_for("a health document with every unit online", |_, p| {
        health_of(p) && p["devices"]["online"] == 3
    });
    assert_eq!(first["room"]["name"], "Testsaal");
    assert_eq!(first["podiumd"], env!("CARGO_PKG_VERSION"));
    assert_eq!(first["devices"]["total"], 3);
    assert_eq!(first["journal"]["state"], "ok");
    assert!(first["meeting"].is_null(), "no meeting is open");
    assert!(first["disk"]["free_bytes"].as_u64().is_some_and(|b| b > 0), "{}", first["disk"]);
    assert!(first["uptime_s"].is_u64());

    // Unit 2 stops answering: an alarm, and the document names it.
    let fault = json!({"action": "fault", "unit": 2, "fault": "silent"});
    let (status, body) = daemon.post_raw("/api/v1/sim/desks", fault.to_string()).await;
    assert_eq!(status, 200, "{body}");
    let alarm =
        alarms.wait_for("an alarm for unit 2", |_, p| p["kind"] == "device" && p["severity"] == "warning");
    assert_eq!(alarm["subject"], "bus desks unit 2");
    assert_eq!(alarm["room"], "ratssaal");
    let failing = health.wait_for("the document naming unit 2", |_, p| {
        health_of(p) && p["devices"]["failing"].as_array().is_some_and(|f| f.len() == 1)
    });
    assert_eq!(failing["devices"]["failing"][0]["name"], "bus desks unit 2");
    assert_eq!(failing["devices"]["online"], 2);
    assert_ne!(failing["trouble"], "ok");

    // It answers again: the alarm is cleared.
    let clear = json!({"action": "fault", "unit": 2, "fault": "none"});
    let (status, _) = daemon.post_raw("/api/v1/sim/desks", clear.to_string()).await;
    assert_eq!(status, 200);
    let cleared = alarms.wait_for("the alarm cleared", |_, p| p["severity"] == "cleared");
    assert_eq!(cleared["subject"], "bus desks unit 2");
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_broker_gets_the_health_document_again() {
    let mut broker = Mosquitto::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let daemon = Daemon::with_config(dir.path(), &room(broker.port));
    {
        let health = Subscriber::start(broker.port, "podium/v1/ratssaal/health");
        health.wait_for("the first document", |_, p| health_of(p));
    }
    // A broker without persistence forgets retained messages when it restarts; the room
    // sends its document again once it has reconnected, not only at the next refresh.
    broker.restart();
    let health = Subscriber::start(broker.port, "podium/v1/ratssaal/health");
    let again = health.wait_for("the document after the restart", |_, p| health_of(p));
    assert_eq!(again["devices"]["total"], 3);
    drop(daemon);
}

// --- a fleet: rooms bridged to a central broker (deploy/mosquitto) -----------------------

/// A small room on its local broker, with one remote member `r1`.
fn fleet_room(id: &str, port: u16) -> String {
    format!(
        r#"
[room]
id = "{id}"
name = "Raum {id}"

[mqtt]
broker = "external"
host = "127.0.0.1"
port = {port}
keep_alive_s = 5

[web]
trust_loopback_as = "chair"

[discussion]
mode = "request"

[[seat]]
number = 1
member = "chair"
[[seat]]
number = 2

[[member]]
id = "chair"
name = "Vorsitz"
role = "chair"
[[member]]
id = "r1"
name = "Rita Remote"
remote_allowed = true
"#
    )
}

const CENTRAL_PASSWORDS: &[(&str, &str)] = &[
    ("room-ratssaal", "pw-ratssaal"),
    ("room-ausschuss", "pw-ausschuss"),
    ("fleet", "pw-fleet"),
    ("r1", "pw-r1"),
];

/// The city's broker with the shipped ACL (`deploy/mosquitto/central.acl`, rooms
/// "ratssaal" and "ausschuss"); no TLS on this machine's loopback.
fn central() -> (Mosquitto, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let passwords = dir.path().join("city.passwd");
    support::mosquitto::password_file(&passwords, CENTRAL_PASSWORDS);
    let acl = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/mosquitto/central.acl");
    let broker = Mosquitto::start_with(&format!(
        "allow_anonymous false\npassword_file {}\nacl_file {acl}\n",
        passwords.display()
    ));
    // The password file's directory lives as long as the broker (it reads it at restarts).
    (broker, dir)
}

/// A room's local broker with the shipped bridge (`deploy/mosquitto/room-bridge.conf`),
/// the room id, the central address and password filled in, TLS left out.
fn local_broker(room: &str, central_port: u16, password: &str) -> Mosquitto {
    let shipped = include_str!("../../deploy/mosquitto/room-bridge.conf");
    let bridge: String = shipped
        .lines()
        .filter(|l| !l.starts_with("bridge_cafile") && !l.starts_with("bridge_tls_version"))
        .map(|l| match l {
            l if l.starts_with("address ") => format!("address 127.0.0.1:{central_port}"),
            l if l.starts_with("remote_password ") => format!("remote_password {password}"),
            l => l.replace("ratssaal", room),
        })
        .collect::<Vec<_>>()
        .join("\n");
    Mosquitto::start_with(&format!("allow_anonymous true\n{bridge}\n"))
}

struct FleetRoom {
    local: Mosquitto,
    daemon: Daemon,
    _dir: tempfile::TempDir,
}

fn start_room(id: &str, central_port: u16, password: &str) -> FleetRoom {
    let local = local_broker(id, central_port, password);
    let dir = tempfile::tempdir().expect("temp dir");
    let daemon = Daemon::with_config(dir.path(), &fleet_room(id, local.port));
    FleetRoom { local, daemon, _dir: dir }
}

async fn requests(room: &FleetRoom) -> Vec<String> {
    let (_, state) = room.daemon.get("/api/v1/state").await;
    state["floor"]["requests"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["participant"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_bridged_to_a_central_broker_each_keep_their_own_floor() {
    let (mut central, _passwords) = central();
    let ratssaal = start_room("ratssaal", central.port, "pw-ratssaal");
    let ausschuss = start_room("ausschuss", central.port, "pw-ausschuss");
    let fleet = Some(("fleet", "pw-fleet"));

    // The fleet view's login sees both rooms' health and their bridges up.
    let watch = Subscriber::start_as(central.port, "podium/v1/+/health", fleet);
    for room in ["ratssaal", "ausschuss"] {
        watch.wait_for(&format!("{room}'s health at the city"), |topic, p| {
            topic == format!("podium/v1/{room}/health") && p["room"]["id"] == room
        });
    }

    // A remote member asks for the floor in one room through the city's broker: only that
    // room has the request, and the reply comes back through the city.
    let replies =
        Subscriber::start_as(central.port, "podium/v1/ausschuss/remote/r1/reply", Some(("r1", "pw-r1")));
    support::mosquitto::publish_as(
        central.port,
        "podium/v1/ausschuss/remote/r1/presence",
        r#"{"v":1,"present":true}"#,
        true,
        Some(("r1", "pw-r1")),
    );
    replies.wait_for("r1 joined", |_, p| p["action"] == "presence" && p["ok"] == true);
    support::mosquitto::publish_as(
        central.port,
        "podium/v1/ausschuss/remote/r1/request",
        r#"{"v":1}"#,
        false,
        Some(("r1", "pw-r1")),
    );
    let reply = replies.wait_for("the reply to r1", |_, p| p["action"] == "request");
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(requests(&ausschuss).await, ["r1"]);
    assert!(requests(&ratssaal).await.is_empty(), "the other room has nothing");

    // A room may speak only for itself: the ratssaal's login publishing under the
    // ausschuss's prefix is dropped by the central ACL (sent first, then a legitimate
    // message: once that one arrives, the refused one would have been there before it).
    let spy = Subscriber::start_as(central.port, "podium/v1/ausschuss/alarms", fleet);
    support::mosquitto::publish_as(
        central.port,
        "podium/v1/ausschuss/alarms",
        r#"{"forged":true}"#,
        false,
        Some(("room-ratssaal", "pw-ratssaal")),
    );
    support::mosquitto::publish_as(
        central.port,
        "podium/v1/ausschuss/alarms",
        r#"{"genuine":true}"#,
        false,
        Some(("room-ausschuss", "pw-ausschuss")),
    );
    let first = spy.wait_for("an alarm message", |_, _| true);
    assert_eq!(first, json!({"genuine": true}), "the forged message got through");

    // The city's broker goes away (and comes back empty): each room keeps its floor.
    central.kill();
    let (status, body) = ratssaal.daemon.command(json!({"command": "grant", "station": {"seat": 2}})).await;
    assert_eq!(status, 200, "{body}");
    let (_, state) = ratssaal.daemon.get("/api/v1/state").await;
    assert_eq!(state["floor"]["speakers"][0]["station"], json!({"seat": 2}));
    central.restart();
    // The bridges reconnect (2 s, then backing off) and bring the rooms' retained topics.
    let watch = Subscriber::start_as(central.port, "podium/v1/+/health", fleet);
    for room in ["ratssaal", "ausschuss"] {
        watch.wait_for(&format!("{room}'s health again after the restart"), |topic, p| {
            topic == format!("podium/v1/{room}/health") && p["room"]["id"] == room
        });
    }
    drop((ratssaal, ausschuss));
}

/// `podiumd fleet` on the central broker with the fleet login of `central.acl`.
fn fleet_view(central_port: u16, dir: &std::path::Path) -> Daemon {
    let password = dir.join("fleet-password");
    std::fs::write(&password, "pw-fleet\n").expect("password file");
    Daemon::start(&[
        "fleet",
        "--broker",
        &format!("127.0.0.1:{central_port}"),
        "--username",
        "fleet",
        "--password-file",
        password.to_str().expect("utf-8"),
        "--listen",
        "127.0.0.1:0",
    ])
}

async fn wait_rooms(view: &Daemon, what: &str, predicate: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, body) = view.get("/api/v1/rooms").await;
        if status == 200 && predicate(&body) {
            return body;
        }
        assert!(std::time::Instant::now() < deadline, "the fleet view never showed {what}: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn room_ids(body: &Value) -> Vec<String> {
    body["rooms"]
        .as_array()
        .map(|r| r.iter().map(|r| r["id"].as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_view_shows_every_room_troubled_first_and_converges_after_a_central_restart() {
    let (mut central, passwords) = central();
    let ratssaal = start_room("ratssaal", central.port, "pw-ratssaal");
    let mut ausschuss = start_room("ausschuss", central.port, "pw-ausschuss");
    let view = fleet_view(central.port, passwords.path());

    let body = wait_rooms(&view, "both rooms with their health", |b| {
        b["connected"] == true
            && b["rooms"].as_array().is_some_and(|r| r.len() == 2 && r.iter().all(|r| r["health"]["v"] == 1))
    })
    .await;
    for room in body["rooms"].as_array().expect("rooms") {
        assert_eq!(room["uplink"], true, "{room}");
        assert_eq!(room["online"], true, "{room}");
    }

    // The ausschuss's uplink goes down (its local broker dies): the central broker sets the
    // bridge's last will, and the room comes first, offline.
    ausschuss.local.kill();
    let body = wait_rooms(&view, "the ausschuss offline and first", |b| {
        b["rooms"][0]["id"] == "ausschuss" && b["rooms"][0]["trouble"] == "offline"
    })
    .await;
    assert_eq!(body["rooms"][0]["uplink"], false);
    assert_eq!(room_ids(&body), ["ausschuss", "ratssaal"]);

    // The central broker restarts empty: the view reconnects, and the ratssaal's bridge brings
    // its retained health back (the ausschuss stays away until its uplink returns).
    central.restart();
    wait_rooms(&view, "the ratssaal again after the central restart", |b| {
        b["connected"] == true
            && b["rooms"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["id"] == "ratssaal" && r["health"]["v"] == 1))
    })
    .await;
    ausschuss.local.restart();
    wait_rooms(&view, "the ausschuss back", |b| {
        b["rooms"].as_array().is_some_and(|r| {
            r.iter().any(|r| r["id"] == "ausschuss" && r["uplink"] == true && r["health"]["v"] == 1)
        })
    })
    .await;

    // The page and its script are served with a strict policy.
    let page = reqwest::get(view.url("/")).await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"].to_str().expect("csp").starts_with("default-src 'self'")
    );
    assert!(page.text().await.expect("text").contains("fleet.js"));
    let (status, alarms) = view.get("/api/v1/alarms").await;
    assert_eq!(status, 200);
    assert!(alarms["alarms"].is_array());
    drop((ratssaal, ausschuss, view));
}
