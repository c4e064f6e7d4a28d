//! Room → city with a real Mosquitto: the retained health document and the alarms a room
//! publishes for the city's fleet view (`firmware-host/docs/mqtt-contract.md`).

mod support;

use serde_json::{Value, json};
use support::Daemon;
use support::mosquitto::{Bridge, Mosquitto, Subscriber};

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
    ("room-ortschaft", "pw-ortschaft"),
    ("bridge-ausschuss", "pw-bridge"),
    ("fleet", "pw-fleet"),
    ("r1", "pw-r1"),
];

/// The shipped central ACL (`deploy/mosquitto/central.acl`: rooms "ratssaal" and
/// "ausschuss") with a third room added as deploy/README.md tells city IT to: its two
/// blocks copied from the ratssaal's, the id replaced.
fn central_acl() -> String {
    let shipped = include_str!("../../deploy/mosquitto/central.acl");
    let block = |start: &str| {
        let from = shipped.find(start).expect("block");
        let to = shipped[from..].find("\n\n").map_or(shipped.len(), |end| from + end);
        shipped[from..to].replace("ratssaal", "ortschaft")
    };
    // The ausschuss's conference bridge too (the shipped file has only the ratssaal's).
    let bridge = block("user bridge-ratssaal");
    format!(
        "{}\n\n{}\n\n{}\n\n{shipped}",
        block("user room-ratssaal"),
        bridge,
        bridge.replace("ortschaft", "ausschuss")
    )
}

/// The city's broker with [`central_acl`]; no TLS on this machine's loopback.
fn central() -> (Mosquitto, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let passwords = dir.path().join("city.passwd");
    support::mosquitto::password_file(&passwords, CENTRAL_PASSWORDS);
    let acl = dir.path().join("city.acl");
    std::fs::write(&acl, central_acl()).expect("acl");
    let broker = Mosquitto::start_with(&format!(
        "allow_anonymous false\npassword_file {}\nacl_file {}\n",
        passwords.display(),
        acl.display()
    ));
    // The password file's directory lives as long as the broker (it reads it at restarts).
    (broker, dir)
}

struct FleetRoom {
    /// The room's local broker (kept running as long as the room).
    _local: Mosquitto,
    daemon: Daemon,
    _dir: tempfile::TempDir,
}

fn start_room(id: &str, central_port: u16, password: &str) -> FleetRoom {
    let local = Mosquitto::bridged_room(id, central_port, password);
    let dir = tempfile::tempdir().expect("temp dir");
    let daemon = Daemon::with_config(dir.path(), &fleet_room(id, local.port));
    FleetRoom { _local: local, daemon, _dir: dir }
}

async fn requests(room: &FleetRoom) -> Vec<String> {
    let (_, state) = room.daemon.get("/api/v1/state").await;
    state["floor"]["requests"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["participant"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// A TCP relay in front of the central broker, for one room's bridge: its uplink can be cut
/// (every connection closed, new ones refused) and restored, while the room and its local
/// broker go on.
struct Uplink {
    port: u16,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cuts: tokio::sync::watch::Sender<u64>,
}

impl Uplink {
    async fn start(central_port: u16) -> Uplink {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("relay");
        let port = listener.local_addr().expect("address").port();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cuts, _) = tokio::sync::watch::channel(0u64);
        let (relay_open, relay_cuts) = (open.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((mut room_side, _)) = listener.accept().await {
                if !relay_open.load(Ordering::SeqCst) {
                    continue; // refused: dropped at once
                }
                let mut cut = relay_cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut city_side) = tokio::net::TcpStream::connect(("127.0.0.1", central_port)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut room_side, &mut city_side) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Uplink { port, open, cuts }
    }

    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Three rooms on one central broker; the ausschuss reaches it through an [`Uplink`].
async fn three_rooms(central_port: u16) -> (FleetRoom, FleetRoom, FleetRoom, Uplink) {
    let uplink = Uplink::start(central_port).await;
    let ratssaal = start_room("ratssaal", central_port, "pw-ratssaal");
    let ausschuss = start_room("ausschuss", uplink.port, "pw-ausschuss");
    let ortschaft = start_room("ortschaft", central_port, "pw-ortschaft");
    (ratssaal, ausschuss, ortschaft, uplink)
}

const ROOMS: [&str; 3] = ["ratssaal", "ausschuss", "ortschaft"];

/// Waits until every room's health document has come, in whatever order they arrive.
fn every_room_health(watch: &Subscriber, what: &str) {
    let mut missing: std::collections::BTreeSet<&str> = ROOMS.into_iter().collect();
    while !missing.is_empty() {
        let document = watch.wait_for(&format!("{what} from {missing:?}"), |topic, p| {
            missing.iter().any(|room| topic == format!("podium/v1/{room}/health") && p["room"]["id"] == *room)
        });
        missing.remove(document["room"]["id"].as_str().unwrap_or_default());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_bridged_to_a_central_broker_each_keep_their_own_floor() {
    let (mut central, _passwords) = central();
    let (ratssaal, ausschuss, ortschaft, _uplink) = three_rooms(central.port).await;
    let fleet = Some(("fleet", "pw-fleet"));

    // The fleet view's login sees every room's health.
    let watch = Subscriber::start_as(central.port, "podium/v1/+/health", fleet);
    every_room_health(&watch, "health at the city");

    // The ausschuss's video-conference bridge connects to the city's broker (the reference
    // bridge, with its own login): a remote member joins and asks for the floor there, and
    // only that room has the request; the chair grants it and the bridge is told to unmute.
    let mut bridge = Bridge::start(
        central.port,
        "ausschuss",
        &["--username", "bridge-ausschuss", "--password", "pw-bridge", "--client-id", "bridge-ausschuss"],
    );
    bridge.send_and_reply("join r1", "r1", "presence");
    let reply = bridge.send_and_reply("raise r1", "r1", "request");
    assert_eq!(reply["payload"]["ok"], true, "{reply}");
    assert_eq!(requests(&ausschuss).await, ["r1"]);
    assert!(
        requests(&ratssaal).await.is_empty() && requests(&ortschaft).await.is_empty(),
        "the other rooms have nothing"
    );
    let (status, body) = ausschuss.daemon.command(json!({"command": "next"})).await;
    assert_eq!(status, 200, "{body}");
    bridge.wait_for("the order to unmute r1", |m| {
        m["topic"] == "conference" && m["payload"]["unmuted"] == json!(["r1"])
    });

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
    every_room_health(&watch, "health again after the restart");
    drop((ratssaal, ausschuss, ortschaft, bridge));
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
    let (ratssaal, ausschuss, ortschaft, uplink) = three_rooms(central.port).await;
    let view = fleet_view(central.port, passwords.path());

    let body = wait_rooms(&view, "every room with its health", |b| {
        b["connected"] == true
            && b["rooms"].as_array().is_some_and(|r| r.len() == 3 && r.iter().all(|r| r["health"]["v"] == 1))
    })
    .await;
    for room in body["rooms"].as_array().expect("rooms") {
        assert_eq!(room["uplink"], true, "{room}");
        assert_eq!(room["online"], true, "{room}");
    }

    // A remote member of the ausschuss is in the conference, through the city's broker.
    let mut bridge = Bridge::start(
        central.port,
        "ausschuss",
        &["--username", "bridge-ausschuss", "--password", "pw-bridge", "--client-id", "bridge-ausschuss"],
    );
    bridge.send_and_reply("join r1", "r1", "presence");

    // The ausschuss's uplink is cut (its room and local broker go on): the central broker
    // sets the bridge's last will, and the room comes first, offline.
    uplink.cut();
    let body = wait_rooms(&view, "the ausschuss offline and first", |b| {
        b["rooms"][0]["id"] == "ausschuss" && b["rooms"][0]["trouble"] == "offline"
    })
    .await;
    assert_eq!(body["rooms"][0]["uplink"], false);
    assert_eq!(room_ids(&body)[0], "ausschuss");
    let (status, body) = ausschuss.daemon.command(json!({"command": "grant", "station": {"seat": 2}})).await;
    assert_eq!(status, 200, "the room works without its uplink: {body}");
    // A hand raised meanwhile waits at the city's broker for the room's bridge (its session
    // is kept) and reaches the room once, when the uplink is back.
    bridge.send("raise r1");
    uplink.restore();
    wait_rooms(&view, "the ausschuss back", |b| {
        b["rooms"].as_array().is_some_and(|r| {
            r.iter().any(|r| r["id"] == "ausschuss" && r["uplink"] == true && r["trouble"] != "offline")
        })
    })
    .await;
    let reply = bridge.wait_for("the answer to the hand raised meanwhile", |m| {
        m["topic"] == "remote/r1/reply" && m["payload"]["action"] == "request"
    });
    assert_eq!(reply["payload"]["ok"], true, "{reply}");
    assert_eq!(requests(&ausschuss).await, ["r1"], "once");

    // The central broker restarts empty: the view reconnects, and every room's bridge brings
    // its retained health back (the view keeps what it knew, so only health that arrived
    // after the restart counts).
    central.restart();
    let restarted = podium_devices::serial::unix_ms_now();
    wait_rooms(&view, "every room's health again after the central restart", |b| {
        b["connected"] == true
            && b["rooms"].as_array().is_some_and(|r| {
                ROOMS.iter().all(|id| {
                    r.iter().any(|r| {
                        r["id"] == *id && r["health_unix_ms"].as_i64().is_some_and(|at| at >= restarted)
                    })
                })
            })
    })
    .await;

    // The view keeps nothing on disk: a new one (a restart) has every room at once from the
    // broker's retained messages.
    drop(view);
    let view = fleet_view(central.port, passwords.path());
    wait_rooms(&view, "every room in a restarted view", |b| {
        b["rooms"].as_array().is_some_and(|r| {
            ROOMS
                .iter()
                .all(|id| r.iter().any(|r| r["id"] == *id && r["health"]["v"] == 1 && r["uplink"] == true))
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
    drop((ratssaal, ausschuss, ortschaft, view, bridge));
}
