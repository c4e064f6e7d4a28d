//! The hybrid floor over MQTT with real brokers: Mosquitto on a free loopback port and the
//! embedded broker, the reference bridge (`podium-bridge`) and the real daemon.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Daemon;
use support::mosquitto::{Bridge, Mosquitto, password_file};

/// A small room whose MQTT link points at an external broker.
fn room(port: u16, extra: &str) -> String {
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
{extra}

# The tests call the API from this machine as the chair, without logging in.
[web]
trust_loopback_as = "chair"

[discussion]
mode = "request"
max_open_microphones = 1

[[seat]]
number = 1
member = "chair"
[[seat]]
number = 2
member = "a"
[[seat]]
number = 3
member = "b"
[[seat]]
number = 4

[[member]]
id = "chair"
name = "Vorsitz"
role = "chair"
[[member]]
id = "a"
name = "Anna A"
[[member]]
id = "b"
name = "Bernd B"
[[member]]
id = "r1"
name = "Rita Remote"
group = "SPD"
remote_allowed = true
[[member]]
id = "r2"
name = "Rolf Remote"
remote_allowed = true
"#
    )
}

async fn wait_state(daemon: &Daemon, what: &str, predicate: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, state) = daemon.get("/api/v1/state").await;
        if predicate(&state) {
            return state;
        }
        assert!(Instant::now() < deadline, "state never showed {what}: {}", state["floor"]);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn wait_connected(daemon: &Daemon, connects: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, link) = daemon.get("/api/v1/mqtt").await;
        if link["connected"] == true && link["connects"].as_u64().unwrap_or(0) >= connects {
            return link;
        }
        assert!(Instant::now() < deadline, "podiumd did not connect ({connects}×): {link}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn queue(state: &Value) -> Vec<Value> {
    state["floor"]["requests"].as_array().unwrap().iter().map(|r| r["station"].clone()).collect()
}

/// The contract scenario, run against any broker: remote and room requests interleave
/// into one list by arrival, and the floor command reaches the bridge.
async fn interleave_and_floor_command(daemon: &Daemon, broker_port: u16) {
    wait_connected(daemon, 1).await;
    let mut bridge = Bridge::start(broker_port, "ratssaal", &[]);

    assert_eq!(bridge.send_and_reply("join r1", "r1", "presence")["payload"]["ok"], true);
    daemon.command(json!({"command": "request", "station": {"seat": 2}})).await;
    assert_eq!(bridge.send_and_reply("raise r1", "r1", "request")["payload"]["ok"], true);
    daemon.command(json!({"command": "request", "station": {"seat": 3}})).await;
    bridge.send_and_reply("join r2", "r2", "presence");
    bridge.send_and_reply("raise r2 point_of_order", "r2", "request");
    let state = wait_state(daemon, "four requests", |s| queue(s).len() == 4).await;
    assert_eq!(
        queue(&state),
        vec![json!({"remote": "r2"}), json!({"seat": 2}), json!({"remote": "r1"}), json!({"seat": 3})],
        "point of order first, then arrival order across room and remote"
    );

    // Unknown participants and rule violations are answered with the reason.
    let reply = bridge.send_and_reply("raise ghost", "ghost", "request");
    assert_eq!(reply["payload"]["ok"], false);
    assert_eq!(reply["payload"]["reason"], "unknown_participant");
    let reply = bridge.send_and_reply("raise r1", "r1", "request");
    assert_eq!(reply["payload"]["ok"], true, "a repeated hand is idempotent, not an error");

    // Granting a remote member: the bridge is told to unmute them and show them large.
    daemon.command(json!({"command": "grant", "station": {"remote": "r1"}})).await;
    let command = bridge
        .wait_for("unmute r1", |m| m["topic"] == "conference" && m["payload"]["unmuted"] == json!(["r1"]));
    assert_eq!(command["payload"]["large_video"], "r1");
    assert_eq!(command["payload"]["speakers"][0]["name"], "Rita Remote");
    assert_eq!(command["payload"]["speakers"][0]["remote"], true);

    // The floor returns to the room: nobody remote unmuted.
    daemon.command(json!({"command": "grant", "station": {"seat": 3}})).await;
    let command =
        bridge.wait_for("mute r1", |m| m["topic"] == "conference" && m["payload"]["unmuted"] == json!([]));
    assert_eq!(command["payload"]["speakers"][0]["remote"], false);
}

#[tokio::test]
async fn contract_with_mosquitto() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::with_config(dir.path(), &room(broker.port, ""));
    interleave_and_floor_command(&daemon, broker.port).await;
}

#[tokio::test]
async fn contract_with_the_embedded_broker() {
    let daemon = Daemon::demo();
    let port = daemon.mqtt_port();
    // The demo room's remote-capable members come from config/demo.toml.
    wait_connected(&daemon, 1).await;
    let mut bridge = Bridge::start(port, "ratssaal", &[]);
    let (_, state) = daemon.get("/api/v1/state").await;
    let remote: Vec<String> = state["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["remote_allowed"] == true)
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert!(remote.len() >= 2, "the demo has remote members");
    daemon.command(json!({"command": "request", "station": {"seat": 12}})).await;
    for id in &remote[..2] {
        assert_eq!(bridge.send_and_reply(&format!("join {id}"), id, "presence")["payload"]["ok"], true);
        assert_eq!(bridge.send_and_reply(&format!("raise {id}"), id, "request")["payload"]["ok"], true);
    }
    let state = wait_state(&daemon, "three requests", |s| queue(s).len() == 3).await;
    assert_eq!(queue(&state)[0], json!({"seat": 12}));
    assert_eq!(queue(&state)[1], json!({"remote": remote[0]}));
    daemon.command(json!({"command": "next"})).await;
    daemon.command(json!({"command": "next"})).await;
    bridge.wait_for("unmute the remote speaker", |m| {
        m["topic"] == "conference" && m["payload"]["unmuted"] == json!([remote[0]])
    });
}

#[tokio::test]
async fn broker_restart_the_room_works_meanwhile_and_everything_converges() {
    // With persistence, as deploy/mosquitto ships it: podiumd's session (its subscriptions)
    // survives the restart, so a request the bridge sends before podiumd has reconnected is
    // kept for it (without persistence it would be lost: see the contract). The broker is
    // killed, not stopped, so it saves its database on every change, not at exit.
    let store = tempfile::tempdir().unwrap();
    let mut broker = Mosquitto::start_with(&format!(
        "allow_anonymous true\npersistence true\npersistence_location {}/\nautosave_on_changes true\nautosave_interval 1\n",
        store.path().display()
    ));
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::with_config(dir.path(), &room(broker.port, ""));
    wait_connected(&daemon, 1).await;
    let mut bridge = Bridge::start(broker.port, "ratssaal", &[]);
    bridge.send_and_reply("join r1", "r1", "presence");

    broker.kill();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, link) = daemon.get("/api/v1/mqtt").await;
        if link["connected"] == false {
            break;
        }
        assert!(Instant::now() < deadline, "podiumd did not notice the broker is gone");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The room goes on without the broker.
    let (status, _) = daemon.command(json!({"command": "request", "station": {"seat": 2}})).await;
    assert_eq!(status, 200);
    let (status, _) = daemon.command(json!({"command": "grant", "station": {"remote": "r1"}})).await;
    assert_eq!(status, 200, "granting a remote member works while the link is down");
    // A hand raised while the link is down is queued by the bridge and arrives later.
    bridge.send("join r2");
    bridge.send("raise r2");

    // The bridge gets back first (podiumd is held until the bridge has sent the queued
    // hand): the broker keeps the request for podiumd's persistent session.
    support::signal(daemon.child.id(), "STOP");
    broker.restart();
    bridge.wait_for("the bridge reconnected", |m| m["topic"] == "connected");
    std::thread::sleep(Duration::from_millis(300));
    support::signal(daemon.child.id(), "CONT");
    wait_connected(&daemon, 2).await;
    // Nothing lost: the hand raised during the outage is in the list, once.
    let state = wait_state(&daemon, "r2's request", |s| queue(s).contains(&json!({"remote": "r2"}))).await;
    assert_eq!(queue(&state), vec![json!({"seat": 2}), json!({"remote": "r2"})]);
    // The bridge converges: the retained conference command says r1 speaks.
    bridge.wait_for("the current floor after the restart", |m| {
        m["topic"] == "conference" && m["payload"]["unmuted"] == json!(["r1"])
    });
    // A bridge that starts now gets the current truth from the retained topics.
    let late = Bridge::start(broker.port, "ratssaal", &["--client-id", "late-bridge"]);
    let command = late.wait_for("the retained conference command", |m| m["topic"] == "conference");
    let (_, state) = daemon.get("/api/v1/state").await;
    assert_eq!(command["payload"]["unmuted"], json!(["r1"]));
    assert!(command["payload"]["seq"].as_u64().unwrap() <= state["floor"]["seq"].as_u64().unwrap());
}

#[tokio::test]
async fn malformed_messages_are_counted_answered_and_change_nothing() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::with_config(dir.path(), &room(broker.port, ""));
    wait_connected(&daemon, 1).await;
    let bridge = Bridge::start(broker.port, "ratssaal", &[]);
    let publish = |topic: &str, payload: &[u8]| {
        let mut child = std::process::Command::new("mosquitto_pub")
            .args(["-p", &broker.port.to_string(), "-q", "1", "-t", topic, "-s"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(payload).unwrap();
        assert!(child.wait().unwrap().success());
    };
    let base = "podium/v1/ratssaal/remote";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("r1/request", b"not json".to_vec(), "malformed_payload"),
        ("r1/request", vec![0xff, 0x00, 0xfe], "malformed_payload"),
        ("r1/request", br#"{"v":1,"kind":"shout"}"#.to_vec(), "malformed_payload"),
        ("r1/request", br#"{"v":9}"#.to_vec(), "unsupported_version"),
        ("r1/presence", br#"{"v":1,"present":"yes"}"#.to_vec(), "malformed_payload"),
        ("r1/dance", br#"{"v":1}"#.to_vec(), "unknown_action"),
        (
            "r1/request",
            format!("{{\"v\":1,\"x\":\"{}\"}}", "a".repeat(200_000)).into_bytes(),
            "malformed_payload",
        ),
    ];
    for (topic, payload, reason) in &cases {
        publish(&format!("{base}/{topic}"), payload);
        let action = topic.split('/').nth(1).unwrap();
        let reply = bridge.wait_for(&format!("the reply to {topic}"), |m| {
            m["topic"] == "remote/r1/reply" && m["payload"]["action"] == action
        });
        assert_eq!(reply["payload"]["reason"], *reason, "{topic}");
    }
    let (_, link) = daemon.get("/api/v1/mqtt").await;
    assert_eq!(link["malformed"], cases.len());
    assert_eq!(link["accepted"], 0);
    let (_, state) = daemon.get("/api/v1/state").await;
    assert_eq!(state["floor"]["seq"], 0, "nothing changed");
    // And the link still works.
    publish(&format!("{base}/r1/presence"), br#"{"v":1,"present":true}"#);
    wait_state(&daemon, "r1 present", |s| s["floor"]["presence"]["r1"] == "remote").await;
}

#[tokio::test]
async fn the_shipped_acl_is_enforced_by_mosquitto() {
    let acl = support::repo_root().join("deploy/mosquitto/podium.acl");
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("passwd");
    password_file(
        &passwd,
        &[
            ("podiumd", "pw-podiumd"),
            ("bridge-ratssaal", "pw-bridge"),
            ("dashboard", "pw-dash"),
            ("unit-07", "pw-unit"),
        ],
    );
    let broker = Mosquitto::start_with(&format!(
        "allow_anonymous false\npassword_file {}\nacl_file {}\n",
        passwd.display(),
        acl.display()
    ));
    let port = broker.port.to_string();
    // A witness with full rights records everything that gets through.
    let mut witness = std::process::Command::new("mosquitto_sub")
        .args(["-p", &port, "-u", "podiumd", "-P", "pw-podiumd", "-t", "podium/v1/#", "-v", "-q", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let witness_out = witness.stdout.take().unwrap();
    let (tx, seen) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(witness_out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Make sure the witness is subscribed before the test publishes.
    let ready = |marker: &str| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let status = std::process::Command::new("mosquitto_pub")
                .args([
                    "-p",
                    &port,
                    "-u",
                    "podiumd",
                    "-P",
                    "pw-podiumd",
                    "-q",
                    "1",
                    "-t",
                    "podium/v1/ratssaal/status",
                    "-m",
                    marker,
                ])
                .status()
                .unwrap();
            assert!(status.success());
            if let Ok(line) = seen.recv_timeout(Duration::from_millis(500))
                && line.ends_with(marker)
            {
                return;
            }
            assert!(Instant::now() < deadline, "witness never subscribed");
        }
    };
    ready("ready");
    let publish = |user: &str, password: &str, topic: &str| {
        let status = std::process::Command::new("mosquitto_pub")
            .args(["-p", &port, "-u", user, "-P", password, "-q", "1", "-t", topic, "-m", r#"{"v":1}"#])
            .status()
            .unwrap();
        assert!(status.success(), "mosquitto_pub as {user} failed to connect");
    };
    // Forbidden publishes, each followed by an allowed one from the same user as a fence:
    // Mosquitto delivers in order, so if the forbidden one had passed it would come first.
    let forbidden = [
        ("bridge-ratssaal", "pw-bridge", "podium/v1/ratssaal/desk/unit-07/key"),
        ("bridge-ratssaal", "pw-bridge", "podium/v1/otherroom/remote/x/request"),
        ("bridge-ratssaal", "pw-bridge", "podium/v1/ratssaal/conference"),
        ("unit-07", "pw-unit", "podium/v1/ratssaal/desk/unit-08/key"),
        ("unit-07", "pw-unit", "podium/v1/ratssaal/remote/x/request"),
        ("dashboard", "pw-dash", "podium/v1/ratssaal/remote/x/request"),
    ];
    for (user, password, topic) in forbidden {
        publish(user, password, topic);
        let fence = format!("fence-{user}");
        ready(&fence);
        let leaked: Vec<String> = seen.try_iter().filter(|l| l.starts_with(topic)).collect();
        assert!(leaked.is_empty(), "{user} could publish to {topic}");
    }
    // Allowed publishes do get through.
    for (user, password, topic) in [
        ("bridge-ratssaal", "pw-bridge", "podium/v1/ratssaal/remote/r1/request"),
        ("unit-07", "pw-unit", "podium/v1/ratssaal/desk/unit-07/key"),
    ] {
        publish(user, password, topic);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match seen.recv_timeout(Duration::from_millis(200)) {
                Ok(line) if line.starts_with(topic) => break,
                _ => assert!(Instant::now() < deadline, "{user} could not publish to {topic}"),
            }
        }
    }
    // A wrong password is refused.
    let refused = std::process::Command::new("mosquitto_pub")
        .args(["-p", &port, "-u", "dashboard", "-P", "wrong", "-t", "podium/v1/x", "-m", "x"])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!refused.success());
    let _ = witness.kill();
    let _ = witness.wait();
}

#[tokio::test]
async fn podiumd_logs_in_with_credentials() {
    let acl = support::repo_root().join("deploy/mosquitto/podium.acl");
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("passwd");
    password_file(&passwd, &[("podiumd", "pw-podiumd"), ("bridge-ratssaal", "pw-bridge")]);
    let secret = dir.path().join("mqtt-password");
    std::fs::write(&secret, "pw-podiumd\n").unwrap();
    let broker = Mosquitto::start_with(&format!(
        "allow_anonymous false\npassword_file {}\nacl_file {}\n",
        passwd.display(),
        acl.display()
    ));
    let extra = format!("username = \"podiumd\"\npassword_file = \"{}\"", secret.display());
    let daemon = Daemon::with_config(dir.path(), &room(broker.port, &extra));
    wait_connected(&daemon, 1).await;
    let mut bridge =
        Bridge::start(broker.port, "ratssaal", &["--username", "bridge-ratssaal", "--password", "pw-bridge"]);
    assert_eq!(bridge.send_and_reply("join r1", "r1", "presence")["payload"]["ok"], true);
}

/// Makes a CA and a server certificate for 127.0.0.1 with openssl; returns (ca, cert, key).
fn certificates(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let path = |file: &str| dir.join(format!("{name}-{file}"));
    let run = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl (tests/run installs it)");
        assert!(status.success(), "openssl {args:?}");
    };
    let (ca_key, ca, key, csr, cert, ext) = (
        path("ca.key"),
        path("ca.pem"),
        path("server.key"),
        path("server.csr"),
        path("server.pem"),
        path("ext.cnf"),
    );
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\n").unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &s(&ca_key),
        "-out",
        &s(&ca),
        "-days",
        "2",
        "-subj",
        &format!("/CN=Podium test CA {name}"),
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &s(&key),
        "-out",
        &s(&csr),
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        &s(&csr),
        "-CA",
        &s(&ca),
        "-CAkey",
        &s(&ca_key),
        "-CAcreateserial",
        "-out",
        &s(&cert),
        "-days",
        "2",
        "-extfile",
        &s(&ext),
    ]);
    // Mosquitto started as root drops to its own user before it reads the key.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for file in [&cert, &key] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    (ca, cert, key)
}

#[tokio::test]
async fn tls_to_the_broker_verifies_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path(), "good");
    let (other_ca, _, _) = certificates(dir.path(), "other");
    let broker = Mosquitto::start_with(&format!(
        "allow_anonymous true\ncertfile {}\nkeyfile {}\n",
        cert.display(),
        key.display()
    ));
    // Trusting the broker's CA: connected.
    let good_dir = tempfile::tempdir().unwrap();
    let extra = format!("tls = true\nca_file = \"{}\"", ca.display());
    let daemon = Daemon::with_config(good_dir.path(), &room(broker.port, &extra));
    wait_connected(&daemon, 1).await;
    drop(daemon);
    // Trusting another CA: never connected, and the error says why.
    let bad_dir = tempfile::tempdir().unwrap();
    let extra = format!("tls = true\nca_file = \"{}\"", other_ca.display());
    let daemon = Daemon::with_config(bad_dir.path(), &room(broker.port, &extra));
    let deadline = Instant::now() + Duration::from_secs(15);
    let link = loop {
        let (_, link) = daemon.get("/api/v1/mqtt").await;
        if link["last_error"].is_string() {
            break link;
        }
        assert!(Instant::now() < deadline, "no connection error reported: {link}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(link["connected"], false);
    assert_eq!(link["connects"], 0);
    // The room works without the link.
    let (status, _) = daemon.command(json!({"command": "request", "station": {"seat": 2}})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn networked_desk_units_drive_the_floor_and_show_it() {
    use support::mosquitto::{Subscriber, publish};
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let units = "[[mqtt_desk_unit]]\nid = \"esp32-a\"\nseat = 2\n\n[[mqtt_desk_unit]]\nid = \"esp32-chair\"\nseat = 1\nchair = true\n";
    let daemon = Daemon::with_config(dir.path(), &format!("{}\n{units}", room(broker.port, "")));
    wait_connected(&daemon, 1).await;
    let base = "podium/v1/ratssaal/desk";
    let outputs = Subscriber::start(broker.port, &format!("{base}/esp32-a/outputs"));
    // Retained: a unit that subscribes gets its lamps at once.
    outputs.wait_for("the initial outputs", |_, p| p["v"] == 1 && p["green"] == false && p["red"] == false);

    publish(
        broker.port,
        &format!("{base}/esp32-a/status"),
        r#"{"v":1,"online":true,"firmware":"1.0.0"}"#,
        true,
    );
    publish(
        broker.port,
        &format!("{base}/esp32-a/key"),
        r#"{"v":1,"key":"request","pressed":true,"seq":0}"#,
        false,
    );
    publish(
        broker.port,
        &format!("{base}/esp32-a/key"),
        r#"{"v":1,"key":"request","pressed":false,"seq":1}"#,
        false,
    );
    // QoS 1 may deliver twice: the repeat (same seq) must not toggle the request away.
    publish(
        broker.port,
        &format!("{base}/esp32-a/key"),
        r#"{"v":1,"key":"request","pressed":true,"seq":0}"#,
        false,
    );
    outputs.wait_for("the green lamp", |_, p| p["green"] == true && p["display"]["list_position"] == 1);
    let state = wait_state(&daemon, "seat 2 waiting", |s| queue(s) == vec![json!({"seat": 2})]).await;
    assert_eq!(state["floor"]["requests"][0]["participant"], "a");

    // The chair's unit: `next` grants the floor; seat 2's red lamp and microphone follow.
    publish(
        broker.port,
        &format!("{base}/esp32-chair/key"),
        r#"{"v":1,"key":"next","pressed":true,"seq":0}"#,
        false,
    );
    outputs
        .wait_for("the red lamp", |_, p| p["red"] == true && p["microphone"] == true && p["green"] == false);

    let (_, link) = daemon.get("/api/v1/mqtt").await;
    let unit = link["desk_units"].as_array().unwrap().iter().find(|u| u["id"] == "esp32-a").unwrap().clone();
    assert_eq!((unit["online"].clone(), unit["firmware"].clone()), (json!(true), json!("1.0.0")));
    assert_eq!((unit["key_events"].clone(), unit["rejected"].clone()), (json!(2), json!(1)));

    // Malformed and unknown-unit messages change nothing.
    publish(broker.port, &format!("{base}/esp32-a/key"), "garbage", false);
    publish(
        broker.port,
        &format!("{base}/stranger/key"),
        r#"{"v":1,"key":"request","pressed":true,"seq":5}"#,
        false,
    );
    let seq = daemon.get("/api/v1/state").await.1["floor"]["seq"].clone();
    // The last will: the unit goes offline.
    publish(broker.port, &format!("{base}/esp32-a/status"), r#"{"v":1,"online":false}"#, true);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, link) = daemon.get("/api/v1/mqtt").await;
        let unit =
            link["desk_units"].as_array().unwrap().iter().find(|u| u["id"] == "esp32-a").unwrap().clone();
        if unit["online"] == false {
            assert_eq!(unit["rejected"], 2, "the garbage was counted");
            break;
        }
        assert!(Instant::now() < deadline, "unit never went offline: {unit}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(daemon.get("/api/v1/state").await.1["floor"]["seq"], seq);
}

#[tokio::test]
async fn networked_units_voice_opens_and_closes_microphones_in_voice_mode() {
    use support::mosquitto::{Subscriber, publish};
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let units = "[voice]\nopen_after_ms = 100\nclose_after_ms = 300\n\n\
                 [[mqtt_desk_unit]]\nid = \"esp32-a\"\nseat = 2\n\n[[mqtt_desk_unit]]\nid = \"esp32-b\"\nseat = 3\n";
    let config = room(broker.port, "").replace("mode = \"request\"", "mode = \"voice\"");
    let daemon = Daemon::with_config(dir.path(), &format!("{config}\n{units}"));
    wait_connected(&daemon, 1).await;
    let base = "podium/v1/ratssaal/desk";
    let outputs = Subscriber::start(broker.port, &format!("{base}/esp32-a/outputs"));
    outputs.wait_for("the initial outputs", |_, p| p["microphone"] == false);
    let voice = |unit: &str, active: bool, seq: u32| {
        let payload = format!(r#"{{"v":1,"active":{active},"seq":{seq}}}"#);
        publish(broker.port, &format!("{base}/{unit}/voice"), &payload, false);
    };
    let speakers = |s: &Value| -> Vec<Value> {
        s["floor"]["speakers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|s| s["station"].clone())
            .collect()
    };

    // Anna's unit hears her: after the hold time her microphone opens and the unit shows it.
    voice("esp32-a", true, 0);
    outputs.wait_for("the open microphone", |_, p| p["microphone"] == true && p["red"] == true);
    // Bernd's unit hears him too, but the limit (one delegate) is reached: refused.
    voice("esp32-b", true, 0);
    // A repeat of Anna's message (QoS 1) is dropped; her silence closes her microphone after
    // the release time. Bernd, refused while talking, is heard again only after a silence
    // longer than the release time (a pause shorter than it is the same voice).
    voice("esp32-a", true, 0);
    voice("esp32-a", false, 1);
    outputs.wait_for("the closed microphone", |_, p| p["microphone"] == false);
    assert_eq!(speakers(&daemon.get("/api/v1/state").await.1), Vec::<Value>::new());
    voice("esp32-b", false, 1);
    // Not a timing goal: a silence well beyond the 300 ms release.
    tokio::time::sleep(Duration::from_secs(1)).await;
    voice("esp32-b", true, 2);
    wait_state(&daemon, "Bernd speaks", |s| speakers(s) == vec![json!({"seat": 3})]).await;
    // A unit that goes away (its last will) can no longer hear: Bernd's microphone closes.
    publish(broker.port, &format!("{base}/esp32-b/status"), r#"{"v":1,"online":false}"#, true);
    wait_state(&daemon, "nobody speaks", |s| speakers(s).is_empty()).await;

    let (_, link) = daemon.get("/api/v1/mqtt").await;
    let unit = link["desk_units"].as_array().unwrap().iter().find(|u| u["id"] == "esp32-a").unwrap().clone();
    assert_eq!((unit["voice_events"].clone(), unit["rejected"].clone()), (json!(2), json!(1)));
}

#[tokio::test]
async fn availability_online_on_connect_offline_by_last_will() {
    use support::mosquitto::Subscriber;
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::with_config(dir.path(), &room(broker.port, ""));
    wait_connected(&daemon, 1).await;
    let status = Subscriber::start(broker.port, "podium/v1/ratssaal/status");
    status.wait_for("online", |_, p| p == &json!({"v": 1, "online": true}));
    // A crash: no goodbye, so the broker publishes the last will.
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    status.wait_for("the last will", |_, p| p == &json!({"v": 1, "online": false}));
    // Retained: a dashboard that looks now sees it too.
    let late = Subscriber::start(broker.port, "podium/v1/ratssaal/status");
    late.wait_for("the retained offline status", |_, p| p["online"] == false);
}

/// podiumd acknowledges a remote message only once it is handled (journaled first while a
/// meeting is open), so a podiumd that stops in between gets it again from the broker.
/// With an in-flight window of 2 the broker stops delivering to a client that leaves
/// messages unacknowledged: the last request arrives only if every kind of message before
/// it (malformed, unknown, rejected, accepted, podiumd's own replies) was acknowledged.
#[tokio::test]
async fn every_remote_message_is_acknowledged_once_handled() {
    let broker = Mosquitto::start_with("allow_anonymous true\nmax_inflight_messages 2\n");
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::with_config(dir.path(), &room(broker.port, ""));
    wait_connected(&daemon, 1).await;
    let base = "podium/v1/ratssaal/remote";
    let publish_lines = |topic: &str, lines: &[&str]| {
        let mut child = std::process::Command::new("mosquitto_pub")
            .args(["-p", &broker.port.to_string(), "-q", "1", "-t", &format!("{base}/{topic}"), "-l"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(format!("{}\n", lines.join("\n")).as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
    };
    publish_lines("r1/request", &["not json"; 30]);
    publish_lines("r1/dance", &[r#"{"v":1}"#; 10]);
    publish_lines("ghost/request", &[r#"{"v":1}"#; 5]);
    publish_lines("r1/presence", &[r#"{"v":1,"present":true}"#]);
    publish_lines("r2/presence", &[r#"{"v":1,"present":true}"#]);
    for _ in 0..5 {
        publish_lines("r2/request", &[r#"{"v":1}"#]);
        publish_lines("r2/withdraw", &[r#"{"v":1}"#]);
    }
    publish_lines("r1/request", &[r#"{"v":1}"#]);
    let state = wait_state(&daemon, "the last request", |s| queue(s) == vec![json!({"remote": "r1"})]).await;
    assert_eq!(state["floor"]["presence"]["r2"], "remote");

    let (_, link) = daemon.get("/api/v1/mqtt").await;
    assert_eq!(link["malformed"], 40, "{link}");
    assert_eq!(link["rejected"], 5, "the unknown participant: {link}");
    assert_eq!(link["accepted"], 13, "{link}");
    // podiumd reports what it adds to the remote path, over the accepted commands.
    let handling = &link["handling"];
    assert_eq!(handling["commands"], 13, "{link}");
    let (p50, max) = (handling["p50_us"].as_u64().unwrap(), handling["max_us"].as_u64().unwrap());
    assert!(p50 > 0 && p50 <= max, "{link}");
}

/// The test support quotes Mosquitto's own reason when the broker cannot start, instead of
/// a bare "nothing listens" (here: a password file that does not exist).
#[test]
fn a_broker_that_cannot_start_reports_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-passwd");
    let error = match Mosquitto::try_start_with(&format!(
        "allow_anonymous false\npassword_file {}\n",
        missing.display()
    )) {
        Ok(broker) => panic!("mosquitto started on port {} with a missing password file", broker.port),
        Err(error) => error,
    };
    assert!(error.contains("exited"), "{error}");
    assert!(error.contains(&missing.display().to_string()), "the broker's log should name the file: {error}");
}

/// The shipped ACL and a password file inside a directory only the test's user may enter
/// (as a checkout under `/root` or a `mktemp -d` folder is) are readable by the broker.
#[test]
fn the_broker_reads_files_in_a_private_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let acl = dir.path().join("podium.acl");
    std::fs::copy(support::repo_root().join("deploy/mosquitto/podium.acl"), &acl).unwrap();
    let passwd = dir.path().join("passwd");
    password_file(&passwd, &[("podiumd", "pw-podiumd")]);
    let broker = Mosquitto::try_start_with(&format!(
        "allow_anonymous false\npassword_file {}\nacl_file {}\n",
        passwd.display(),
        acl.display()
    ))
    .unwrap_or_else(|error| panic!("{error}"));
    assert!(broker.log().contains("running"), "{}", broker.log());
}

/// A relay between podiumd and Mosquitto that can swallow podiumd's next PUBACK and then
/// cut the connection, and refuse connections while closed: the moment "handled, but the
/// acknowledgement never reached the broker" made on purpose.
struct AckCutter {
    port: u16,
    state: std::sync::Arc<std::sync::Mutex<CutterState>>,
}

#[derive(Default)]
struct CutterState {
    closed: bool,
    swallow_next_ack: bool,
    swallowed: bool,
    /// PUBACKs passed on to the broker.
    acks_forwarded: u64,
}

impl AckCutter {
    async fn start(broker_port: u16) -> AckCutter {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = std::sync::Arc::new(std::sync::Mutex::new(CutterState::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                if shared.lock().unwrap().closed {
                    continue;
                }
                let broker = tokio::net::TcpStream::connect(("127.0.0.1", broker_port)).await.unwrap();
                let (mut from_broker, mut to_broker) = broker.into_split();
                let (mut from_client, mut to_client) = client.into_split();
                let shared = shared.clone();
                let downstream = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut from_broker, &mut to_client).await;
                });
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    'read: while let Ok(n) = from_client.read(&mut chunk).await {
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        // Forward whole packets; a PUBACK (type 4) may be swallowed.
                        while let Some(len) = packet_len(&buf) {
                            let packet: Vec<u8> = buf.drain(..len).collect();
                            let swallow = {
                                let mut state = shared.lock().unwrap();
                                let swallow = state.swallow_next_ack && packet[0] >> 4 == 4;
                                if swallow {
                                    state.swallow_next_ack = false;
                                    state.swallowed = true;
                                    state.closed = true;
                                }
                                swallow
                            };
                            if swallow {
                                break 'read;
                            }
                            if packet[0] >> 4 == 4 {
                                shared.lock().unwrap().acks_forwarded += 1;
                            }
                            if to_broker.write_all(&packet).await.is_err() {
                                break 'read;
                            }
                        }
                    }
                    downstream.abort();
                });
            }
        });
        AckCutter { port, state }
    }
}

/// The length of the MQTT packet at the start of `buf`, once it is complete.
fn packet_len(buf: &[u8]) -> Option<usize> {
    let mut remaining = 0usize;
    for i in 0..4 {
        let byte = *buf.get(1 + i)?;
        remaining |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let len = 2 + i + remaining;
            return (buf.len() >= len).then_some(len);
        }
    }
    None
}

#[tokio::test]
async fn a_request_granted_while_its_acknowledgement_was_lost_does_not_come_back() {
    use support::mosquitto::publish;
    let broker = Mosquitto::start();
    let cutter = AckCutter::start(broker.port).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::with_config(dir.path(), &room(cutter.port, ""));
    wait_connected(&daemon, 1).await;
    let base = "podium/v1/ratssaal/remote";
    publish(broker.port, &format!("{base}/r1/presence"), r#"{"v":1,"present":true}"#, true);
    wait_state(&daemon, "r1 present", |s| s["floor"]["presence"]["r1"] == "remote").await;
    // podiumd acknowledges a message just after it publishes the change: wait until the
    // presence's PUBACK went through, or the cutter would swallow that one instead.
    let deadline = Instant::now() + Duration::from_secs(15);
    while cutter.state.lock().unwrap().acks_forwarded < 1 {
        assert!(Instant::now() < deadline, "podiumd never acknowledged the presence");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // podiumd handles r1's request; its PUBACK is swallowed and the connection cut.
    cutter.state.lock().unwrap().swallow_next_ack = true;
    publish(broker.port, &format!("{base}/r1/request"), r#"{"v":1}"#, false);
    wait_state(&daemon, "r1 waiting", |s| queue(s) == vec![json!({"remote": "r1"})]).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !cutter.state.lock().unwrap().swallowed {
        assert!(Instant::now() < deadline, "podiumd never acknowledged the request");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // While it is away, the chair gives r1 the floor and ends the turn.
    daemon.command(json!({"command": "grant", "station": {"remote": "r1"}})).await;
    daemon.command(json!({"command": "stop", "station": {"remote": "r1"}})).await;
    let state = wait_state(&daemon, "r1 done", |s| queue(s).is_empty()).await;
    assert_eq!(state["floor"]["speakers"], json!([]));

    // On the reconnect Mosquitto delivers the request again (DUP, same packet id).
    cutter.state.lock().unwrap().closed = false;
    wait_connected(&daemon, 2).await;
    // A fence: r2's request, published after the redelivery was queued at the broker.
    publish(broker.port, &format!("{base}/r2/presence"), r#"{"v":1,"present":true}"#, true);
    publish(broker.port, &format!("{base}/r2/request"), r#"{"v":1}"#, false);
    let state = wait_state(&daemon, "r2 waiting", |s| queue(s).contains(&json!({"remote": "r2"}))).await;
    assert_eq!(queue(&state), vec![json!({"remote": "r2"})], "r1's granted request came back");
}

/// A networked unit checks its member in with a PIN, votes with its vote key, sees its
/// retained vote lamps follow the vote, and a removed badge checks the member out.
#[tokio::test]
async fn networked_desk_units_take_attendance_and_votes() {
    use support::mosquitto::{Subscriber, publish};
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let units = "[[mqtt_desk_unit]]\nid = \"esp32-a\"\nseat = 2\n";
    let config = room(broker.port, "")
        .replace("name = \"Anna A\"", "name = \"Anna A\"\npin = \"4711\"\nbadge = \"CAFE01\"");
    let daemon = Daemon::with_config(dir.path(), &format!("{config}\n{units}"));
    wait_connected(&daemon, 1).await;
    let base = "podium/v1/ratssaal/desk";
    let vote = Subscriber::start(broker.port, &format!("{base}/esp32-a/vote"));
    vote.wait_for("the initial vote lamps", |_, p| {
        p == &json!({"v": 1, "voting_open": false, "registered": false})
    });
    let credential =
        |payload: &str| publish(broker.port, &format!("{base}/esp32-a/credential"), payload, false);

    credential(r#"{"v":1,"kind":"pin","pin":"4711","seq":0}"#);
    let state = wait_state(&daemon, "a checked in at seat 2", |s| {
        s["floor"]["attendance"]["a"]["status"] == "present"
            && s["floor"]["attendance"]["a"]["place"]["seat"] == 2
    })
    .await;
    assert_eq!(state["floor"]["attendance"]["a"]["by"], "pin");

    let (status, body) = daemon.post_raw("/api/v1/meetings", r#"{"title":"MQTT"}"#).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = daemon
        .command(json!({"command": "open_vote", "vote": {"question": "Antrag", "kind": "roll_call"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    vote.wait_for("the vote lamp", |_, p| p["voting_open"] == true && p["registered"] == false);
    publish(
        broker.port,
        &format!("{base}/esp32-a/key"),
        r#"{"v":1,"key":"vote_no","pressed":true,"seq":1}"#,
        false,
    );
    vote.wait_for("registered, no", |_, p| {
        p == &json!({"v": 1, "voting_open": false, "registered": true, "choice": "no"})
    });
    let (status, body) = daemon.command(json!({"command": "close_vote"})).await;
    assert_eq!(status, 200, "{body}");
    vote.wait_for("the vote lamps off", |_, p| {
        p == &json!({"v": 1, "voting_open": false, "registered": false})
    });
    let state = wait_state(&daemon, "the result", |s| s["floor"]["vote"]["result"].is_object()).await;
    assert_eq!(state["floor"]["vote"]["result"]["no"], 1);

    // An unknown PIN changes nothing, nor does a removed badge for a member who came in by
    // PIN; a badge checks in, and its removal checks the member at the seat out.
    let seq = state["floor"]["seq"].clone();
    credential(r#"{"v":1,"kind":"pin","pin":"9999","seq":2}"#);
    credential(r#"{"v":1,"kind":"badge_removed","seq":3}"#);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(daemon.get("/api/v1/state").await.1["floor"]["seq"], seq);
    credential(r#"{"v":1,"kind":"badge","uid":"CAFE01","seq":4}"#);
    wait_state(&daemon, "a by badge", |s| s["floor"]["attendance"]["a"]["by"] == "badge").await;
    credential(r#"{"v":1,"kind":"badge_removed","seq":5}"#);
    wait_state(&daemon, "a checked out", |s| s["floor"]["attendance"]["a"]["status"] != "present").await;
}
