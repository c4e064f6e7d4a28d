//! Logins and topic rights at the embedded broker (its gate), and per-participant accounts
//! in the shipped Mosquitto ACL: the real daemon, real MQTT clients (raw MQTT 3.1.1 packets
//! on a TCP socket, so every refusal is seen exactly; `mosquitto_pub`/`mosquitto_sub`
//! against Mosquitto).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Daemon;
use support::mosquitto::{Mosquitto, password_file};

/// A login made with `podiumd mqtt-credential`: (secret, password_hash).
fn credential(user: &str) -> (String, String) {
    let out = Command::new(support::podiumd()).args(["mqtt-credential", user]).output().expect("run podiumd");
    assert!(out.status.success(), "mqtt-credential failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let secret = text.lines().find_map(|l| l.strip_prefix("# password:  ")).expect("secret").to_string();
    let hash = text.lines().find_map(|l| l.strip_prefix("password_hash = ")).expect("hash").trim_matches('"');
    (secret, hash.to_string())
}

struct Logins {
    unit_a: String,
    unit_chair: String,
    bridge: String,
    r2: String,
}

/// A room whose embedded broker checks logins: two desk units, a bridge and one
/// participant's own client (`r2`).
fn gated_room() -> (String, Logins) {
    let (unit_a, unit_a_hash) = credential("unit-a");
    let (unit_chair, unit_chair_hash) = credential("unit-chair");
    let (bridge, bridge_hash) = credential("bridge-ratssaal");
    let (r2, r2_hash) = credential("r2");
    let text = format!(
        r#"
[room]
id = "ratssaal"
name = "Testsaal"

[mqtt]
broker = "embedded"
listen = "127.0.0.1:0"

[web]
trust_loopback_as = "technician"

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
remote_allowed = true
[[member]]
id = "r2"
name = "Rolf Remote"
remote_allowed = true

[[mqtt_desk_unit]]
id = "unit-a"
seat = 2
password_hash = "{unit_a_hash}"

[[mqtt_desk_unit]]
id = "unit-chair"
seat = 1
chair = true
password_hash = "{unit_chair_hash}"

[[mqtt_account]]
username = "bridge-ratssaal"
role = "bridge"
password_hash = "{bridge_hash}"

[[mqtt_account]]
username = "r2"
role = "participant"
password_hash = "{r2_hash}"
"#
    );
    (text, Logins { unit_a, unit_chair, bridge, r2 })
}

// --- A minimal MQTT 3.1.1 client on a blocking socket -------------------------------------

fn put_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

fn connect_packet(client_id: &str, login: Option<(&str, &str)>) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, b"MQTT");
    body.push(4);
    body.push(if login.is_some() { 0xc2 } else { 0x02 });
    body.extend_from_slice(&30u16.to_be_bytes());
    put_str(&mut body, client_id.as_bytes());
    if let Some((user, password)) = login {
        put_str(&mut body, user.as_bytes());
        put_str(&mut body, password.as_bytes());
    }
    packet(0x10, &body)
}

fn publish_packet(topic: &str, payload: &str, retain: bool) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, topic.as_bytes());
    body.extend_from_slice(&1u16.to_be_bytes());
    body.extend_from_slice(payload.as_bytes());
    packet(0x32 | u8::from(retain), &body)
}

fn subscribe_packet(filter: &str) -> Vec<u8> {
    let mut body = vec![0, 1];
    put_str(&mut body, filter.as_bytes());
    body.push(1);
    packet(0x82, &body)
}

struct Client(TcpStream);

impl Client {
    fn open(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the broker");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client(stream)
    }

    /// Connects; the CONNACK return code (`None` if the connection closed without one).
    fn connect(port: u16, client_id: &str, login: Option<(&str, &str)>) -> (Client, Option<u8>) {
        let mut client = Client::open(port);
        client.0.write_all(&connect_packet(client_id, login)).unwrap();
        let mut ack = [0u8; 4];
        let code = client.0.read_exact(&mut ack).ok().map(|()| {
            assert_eq!(&ack[..3], &[0x20, 2, 0], "a CONNACK");
            ack[3]
        });
        (client, code)
    }

    fn logged_in(port: u16, user: &str, password: &str) -> Client {
        let (client, code) = Client::connect(port, &format!("test-{user}"), Some((user, password)));
        assert_eq!(code, Some(0), "{user} could not log in");
        client
    }

    /// Sends a packet and reports whether the broker closed the connection (reading, up
    /// to 10 s, until the end of the stream; a PUBACK or SUBACK means it was let through).
    fn refused(mut self, packet: &[u8]) -> bool {
        self.0.write_all(packet).unwrap();
        let mut buf = [0u8; 64];
        match self.0.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => true,
            Err(e) => panic!("neither an answer nor a closed connection: {e}"),
        }
    }
}

// --- Helpers on the daemon -----------------------------------------------------------------

async fn wait_connected(daemon: &Daemon) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, link) = daemon.get("/api/v1/mqtt").await;
        if link["connected"] == true {
            return link;
        }
        assert!(Instant::now() < deadline, "podiumd did not connect to its broker: {link}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
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

fn queue(state: &Value) -> Vec<Value> {
    state["floor"]["requests"].as_array().unwrap().iter().map(|r| r["station"].clone()).collect()
}

const BASE: &str = "podium/v1/ratssaal";

fn key(unit: &str) -> String {
    format!("{BASE}/desk/{unit}/key")
}

fn press(key: &str, seq: u32) -> String {
    json!({"v": 1, "key": key, "pressed": true, "seq": seq}).to_string()
}

/// Resident memory of a process in KiB (Linux).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmRSS value")
}

#[tokio::test]
async fn the_embedded_broker_admits_only_logins_within_their_rights() {
    let dir = tempfile::tempdir().unwrap();
    let (room, logins) = gated_room();
    let daemon = Daemon::with_config(dir.path(), &room);
    wait_connected(&daemon).await;
    let port = daemon.mqtt_port();
    let presence_before = daemon.get("/api/v1/state").await.1["floor"]["presence"].clone();

    // No credentials, unknown user, wrong password: refused with a CONNACK code.
    assert_eq!(Client::connect(port, "anon", None).1, Some(5), "anonymous CONNECT");
    assert_eq!(Client::connect(port, "x", Some(("nobody", &logins.bridge))).1, Some(4));
    assert_eq!(Client::connect(port, "x", Some(("unit-a", &logins.bridge))).1, Some(4));
    let anonymous_pub = Command::new("mosquitto_pub")
        .args(["-p", &port.to_string(), "-t", &key("unit-a"), "-m", &press("request", 0)])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("mosquitto_pub");
    assert!(!anonymous_pub.success(), "mosquitto_pub without a login got through");

    // A desk unit may not act as another unit, as a remote participant, or set another
    // unit's lamps and microphone relay, nor read other units' topics.
    let unit_a = || Client::logged_in(port, "unit-a", &logins.unit_a);
    for forbidden in [
        publish_packet(&key("unit-chair"), &press("next", 0), false),
        publish_packet(&key("unit-b"), &press("request", 0), false),
        publish_packet(&format!("{BASE}/remote/r1/request"), r#"{"v":1}"#, false),
        publish_packet(&format!("{BASE}/remote/r1/presence"), r#"{"v":1,"present":true}"#, true),
        publish_packet(&format!("{BASE}/desk/unit-chair/outputs"), r#"{"v":1,"microphone":true}"#, true),
        publish_packet(&format!("{BASE}/conference"), r#"{"v":1}"#, true),
        subscribe_packet(&format!("{BASE}/desk/+/outputs")),
        subscribe_packet(&format!("{BASE}/#")),
    ] {
        assert!(unit_a().refused(&forbidden), "unit-a was let through: {forbidden:?}");
    }
    // A last will on a foreign topic is refused at the login.
    let mut will = Vec::new();
    put_str(&mut will, b"MQTT");
    will.extend_from_slice(&[4, 0xc2 | 0x04 | 0x08 | 0x20, 0, 30]);
    put_str(&mut will, b"will");
    put_str(&mut will, format!("{BASE}/desk/unit-chair/status").as_bytes());
    put_str(&mut will, br#"{"v":1,"online":false}"#);
    put_str(&mut will, b"unit-a");
    put_str(&mut will, logins.unit_a.as_bytes());
    let mut client = Client::open(port);
    client.0.write_all(&packet(0x10, &will)).unwrap();
    let mut ack = [0u8; 4];
    client.0.read_exact(&mut ack).unwrap();
    assert_eq!(ack, [0x20, 2, 0, 5], "a foreign last will");

    // Its own key works, and is the only change on the floor: none of the refused
    // packets reached podiumd (they were sent before this one).
    assert!(!unit_a().refused(&publish_packet(&key("unit-a"), &press("request", 0), false)));
    let state = wait_state(&daemon, "seat 2 waiting", |s| !queue(s).is_empty()).await;
    assert_eq!(queue(&state), vec![json!({"seat": 2})]);
    assert_eq!(state["floor"]["speakers"], json!([]), "the chair's `next` from unit-a had no effect");
    assert_eq!(state["floor"]["presence"], presence_before, "the presence from unit-a had no effect");

    // A participant's own client acts only as itself.
    let r2 = || Client::logged_in(port, "r2", &logins.r2);
    assert!(r2().refused(&publish_packet(&format!("{BASE}/remote/r1/request"), r#"{"v":1}"#, false)));
    assert!(r2().refused(&subscribe_packet(&format!("{BASE}/remote/+/reply"))));
    assert!(!r2().refused(&subscribe_packet(&format!("{BASE}/remote/r2/reply"))));
    let joined = r#"{"v":1,"present":true}"#;
    assert!(!r2().refused(&publish_packet(&format!("{BASE}/remote/r2/presence"), joined, true)));
    assert!(!r2().refused(&publish_packet(&format!("{BASE}/remote/r2/request"), r#"{"v":1}"#, false)));
    wait_state(&daemon, "r2 waiting", |s| queue(s).contains(&json!({"remote": "r2"}))).await;
    // The bridge acts for every participant, but not as a desk unit.
    let bridge = || Client::logged_in(port, "bridge-ratssaal", &logins.bridge);
    assert!(bridge().refused(&publish_packet(&key("unit-a"), &press("cancel", 1), false)));
    assert!(!bridge().refused(&publish_packet(&format!("{BASE}/remote/r1/presence"), joined, true)));
    assert!(!bridge().refused(&publish_packet(&format!("{BASE}/remote/r1/request"), r#"{"v":1}"#, false)));
    let state = wait_state(&daemon, "r1 waiting", |s| queue(s).contains(&json!({"remote": "r1"}))).await;
    assert_eq!(queue(&state), vec![json!({"seat": 2}), json!({"remote": "r2"}), json!({"remote": "r1"})]);

    // A client cannot take over podiumd's session by its client id.
    let (taker, code) =
        Client::connect(port, "podiumd-ratssaal", Some(("unit-chair", logins.unit_chair.as_str())));
    assert_eq!(code, Some(0));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, link) = daemon.get("/api/v1/mqtt").await;
    assert_eq!((link["connected"].clone(), link["connects"].clone()), (json!(true), json!(1)), "{link}");
    drop(taker);
}

#[tokio::test]
async fn oversized_ids_are_refused_without_growth() {
    let dir = tempfile::tempdir().unwrap();
    let (room, logins) = gated_room();
    let daemon = Daemon::with_config(dir.path(), &room);
    wait_connected(&daemon).await;
    let port = daemon.mqtt_port();
    let pid = daemon.child.id();
    let sources = async || {
        let (status, diagnostics) = daemon.get("/api/v1/diagnostics").await;
        assert_eq!(status, 200, "{diagnostics}");
        diagnostics["sources"].as_array().expect("sources").len()
    };

    // A participant id just beyond the bound passes the gate (its topic is short enough)
    // and is dropped by podiumd: counted as malformed, no reply, no rate-limit bucket.
    let long_id = "x".repeat(65);
    let bridge = || Client::logged_in(port, "bridge-ratssaal", &logins.bridge);
    assert!(!bridge().refused(&publish_packet(
        &format!("{BASE}/remote/{long_id}/request"),
        r#"{"v":1}"#,
        false
    )));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, link) = daemon.get("/api/v1/mqtt").await;
        if link["malformed"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the long id was not counted: {link}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let flood = |rounds: usize| {
        let huge = "y".repeat(60 * 1024);
        for _ in 0..rounds {
            // A 60 KiB client id: refused at the CONNECT.
            let (_, code) = Client::connect(port, &huge, Some(("bridge-ratssaal", logins.bridge.as_str())));
            assert_eq!(code, Some(2), "a 60 KiB client id");
            // A 60 KiB participant id: the publish closes the connection.
            let topic = format!("{BASE}/remote/{huge}/request");
            assert!(bridge().refused(&publish_packet(&topic, r#"{"v":1}"#, false)));
            // A 60 KiB user name.
            assert_eq!(Client::connect(port, "c", Some((huge.as_str(), "x"))).1, None, "a 60 KiB user name");
        }
    };
    flood(50);
    let sources_before = sources().await;
    // Made-up participant ids within the bound are answered `unknown_participant` and get
    // no rate-limit bucket either.
    let mut ghosts = bridge();
    for i in 0..200 {
        let topic = format!("{BASE}/remote/ghost-{i:0>52}/request");
        ghosts.0.write_all(&publish_packet(&topic, r#"{"v":1}"#, false)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, link) = daemon.get("/api/v1/mqtt").await;
        if link["rejected"].as_u64() == Some(200) {
            break;
        }
        assert!(Instant::now() < deadline, "the made-up ids were not answered: {link}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    drop(ghosts);
    let rss_before = rss_kib(pid);
    flood(1000);
    let rss_after = rss_kib(pid);
    let sources_after = sources().await;
    eprintln!("podiumd RSS {rss_before} KiB before, {rss_after} KiB after 3,000 oversized ids");
    assert_eq!(sources_after, sources_before, "rate-limit sources grew");
    assert!(rss_after < rss_before + 8 * 1024, "RSS grew from {rss_before} to {rss_after} KiB");
    // The room still works.
    let joined = r#"{"v":1,"present":true}"#;
    assert!(!bridge().refused(&publish_packet(&format!("{BASE}/remote/r1/presence"), joined, true)));
    assert!(!bridge().refused(&publish_packet(&format!("{BASE}/remote/r1/request"), r#"{"v":1}"#, false)));
    wait_state(&daemon, "r1 waiting", |s| queue(s).contains(&json!({"remote": "r1"}))).await;
}

#[tokio::test]
async fn idle_sockets_from_one_host_do_not_keep_the_units_out() {
    let dir = tempfile::tempdir().unwrap();
    let (room, logins) = gated_room();
    let daemon = Daemon::with_config(dir.path(), &room);
    wait_connected(&daemon).await;
    let port = daemon.mqtt_port();
    // 300 sockets from another loopback address that never send a CONNECT.
    let mut idle = Vec::new();
    for _ in 0..300 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        idle.push(socket.connect(([127, 0, 0, 1], port).into()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The desk unit (another address) still logs in and its key reaches the floor.
    let unit = tokio::task::spawn_blocking(move || {
        let unit = Client::logged_in(port, "unit-a", &logins.unit_a);
        unit.refused(&publish_packet(&key("unit-a"), &press("request", 0), false))
    });
    assert!(!unit.await.unwrap());
    wait_state(&daemon, "seat 2 waiting", |s| queue(s) == vec![json!({"seat": 2})]).await;
    drop(idle);
}

#[test]
fn a_lan_embedded_broker_without_credentials_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("room.toml");
    std::fs::write(
        &path,
        "[room]\nid = \"saal\"\nname = \"Saal\"\n\n[mqtt]\nbroker = \"embedded\"\nlisten = \"0.0.0.0:1883\"\n\n[[seat]]\nnumber = 1\n",
    )
    .unwrap();
    for command in [&["check-config"][..], &["run", "--listen", "127.0.0.1:0", "--config"][..]] {
        let out = Command::new(support::podiumd()).args(command).arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{command:?} accepted it");
        assert!(
            stderr.contains("room.toml:7:10")
                && stderr.contains("mqtt.listen")
                && stderr.contains("without credentials"),
            "{command:?}: {stderr}"
        );
    }
}

/// A child process killed when dropped (also when an assertion fails).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Mosquitto with the shipped ACL: a participant's own account (`%u` patterns) acts only
/// as itself; a witness with podiumd's rights sees what gets through.
#[test]
fn a_participant_account_acts_only_as_itself_in_mosquitto() {
    let acl = support::repo_root().join("deploy/mosquitto/podium.acl");
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("passwd");
    password_file(&passwd, &[("podiumd", "pw-podiumd"), ("vogt", "pw-vogt"), ("engel", "pw-engel")]);
    let broker = Mosquitto::start_with(&format!(
        "allow_anonymous false\npassword_file {}\nacl_file {}\n",
        passwd.display(),
        acl.display()
    ));
    let port = broker.port.to_string();
    let subscribe = |user: &str, password: &str, filter: &str| {
        let mut child = Command::new("mosquitto_sub")
            .args(["-p", &port, "-u", user, "-P", password, "-t", filter, "-v", "-q", "1"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, seen) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        (Killed(child), seen)
    };
    let publish = |user: &str, password: &str, topic: &str| {
        let status = Command::new("mosquitto_pub")
            .args(["-p", &port, "-u", user, "-P", password, "-q", "1", "-t", topic, "-m", r#"{"v":1}"#])
            .status()
            .unwrap();
        assert!(status.success(), "mosquitto_pub as {user} failed to connect");
    };
    // Waits until `line` (published by `send`) arrives, repeating the publish until the
    // subscriber is in place; everything seen before it is returned.
    let until = |seen: &std::sync::mpsc::Receiver<String>, marker: &str, send: &dyn Fn()| -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut before = Vec::new();
        loop {
            send();
            while let Ok(line) = seen.recv_timeout(Duration::from_millis(300)) {
                if line.starts_with(marker) {
                    return before;
                }
                before.push(line);
            }
            assert!(Instant::now() < deadline, "{marker} never arrived");
        }
    };
    let (_witness, seen) = subscribe("podiumd", "pw-podiumd", "podium/v1/#");
    let ready = "podium/v1/ratssaal/status";
    until(&seen, ready, &|| publish("podiumd", "pw-podiumd", ready));

    // vogt as engel: denied (Mosquitto drops it silently); vogt as vogt: delivered. The
    // fence is vogt's own request, published after the forbidden one on the same broker.
    publish("vogt", "pw-vogt", "podium/v1/ratssaal/remote/engel/request");
    publish("vogt", "pw-vogt", "podium/v1/ratssaal/remote/engel/presence");
    let own = "podium/v1/ratssaal/remote/vogt/request";
    let before = until(&seen, own, &|| publish("vogt", "pw-vogt", own));
    assert!(before.iter().all(|l| !l.contains("/remote/engel/")), "vogt acted as engel: {before:?}");
    // vogt may not publish a reply or the conference either.
    publish("vogt", "pw-vogt", "podium/v1/ratssaal/remote/vogt/reply");
    publish("vogt", "pw-vogt", "podium/v1/ratssaal/conference");
    let before = until(&seen, own, &|| publish("vogt", "pw-vogt", own));
    assert!(before.iter().all(|l| !l.contains("/reply") && !l.contains("/conference")), "{before:?}");

    // vogt reads its own replies, not engel's.
    let (_reader, replies) = subscribe("vogt", "pw-vogt", "podium/v1/ratssaal/remote/+/reply");
    let vogt_reply = "podium/v1/ratssaal/remote/vogt/reply";
    let engel_reply = "podium/v1/ratssaal/remote/engel/reply";
    until(&replies, vogt_reply, &|| publish("podiumd", "pw-podiumd", vogt_reply));
    publish("podiumd", "pw-podiumd", engel_reply);
    let before = until(&replies, vogt_reply, &|| publish("podiumd", "pw-podiumd", vogt_reply));
    assert!(before.iter().all(|l| !l.starts_with(engel_reply)), "vogt read engel's reply: {before:?}");
}
