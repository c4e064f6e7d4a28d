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
