//! A room whose seats are served by existing conference systems: a simulated Shure DCS
//! central unit on real TCP, a simulated Televic CoCon server on real HTTP and a simulated
//! Bosch DICENTIS server on a real WebSocket (loopback), beside simulated Modbus desk units
//! and a remote member. Keys at the unit reach the one floor, the unit's microphones and request list
//! follow the floor, a unit restarted mid-session converges again, and malformed lines
//! are counted and never change the floor.

mod support;

use std::time::Duration;

use podium_devices::central::UnitFloor;
use podium_devices::central::cocon::sim::SimCocon;
use podium_devices::central::dicentis::sim::SimDicentis;
use podium_devices::central::shure_dcs::codec::MicMode;
use podium_devices::central::shure_dcs::sim::SimDcs;
use serde_json::{Value, json};
use support::Daemon;
use tokio_util::sync::CancellationToken;

/// Generous bound for anything to happen on a loaded machine; never a performance goal.
const PATIENCE: Duration = Duration::from_secs(20);

/// Seats 1 (chair, a Modbus desk unit), 2-4 on the Shure unit as its seats 101-103, 5-6
/// on the CoCon server as its seats 5-6, 7-8 on the DICENTIS server as "Platz 7", "Platz 8".
fn room(dcs: &str, cocon: &str, bosch: &str) -> String {
    format!(
        r#"
[room]
id = "e2e-central"
name = "Central unit"

[web]
trust_loopback_as = "chair"

[discussion]
mode = "request"
max_open_microphones = 2
members_may_switch_off = true

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
member = "c"
[[seat]]
number = 5
member = "d"
[[seat]]
number = 6
member = "e"
[[seat]]
number = 7
member = "f"
[[seat]]
number = 8
member = "g"

[[member]]
id = "chair"
name = "Clara Chair"
role = "chair"
[[member]]
id = "a"
name = "Anna A"
[[member]]
id = "b"
name = "Bernd B"
[[member]]
id = "c"
name = "Cem C"
[[member]]
id = "d"
name = "Dora D"
[[member]]
id = "e"
name = "Emil E"
[[member]]
id = "f"
name = "Fritz F"
[[member]]
id = "g"
name = "Greta G"
[[member]]
id = "r1"
name = "Rita Remote"
remote_allowed = true

[[bus]]
id = "a"
simulated = true
desk_units = [{{ unit = 1, seat = 1, chair = true }}]

[[central_unit]]
name = "dcs"
protocol = "shure_dcs"
tcp = "{dcs}"
seats = [2, 3, 4]
unit_seats = [101, 102, 103]

[[central_unit]]
name = "cocon"
protocol = "televic_cocon"
tcp = "{cocon}"
seats = [5, 6]

[[central_unit]]
name = "dicentis"
protocol = "bosch_dicentis"
tcp = "{bosch}"
tls = false
user = "podium"
password = "geheim"
seats = [7, 8]
unit_seat_names = ["Platz 7", "Platz 8"]
"#
    )
}

fn floor(speakers: &[u16], requests: &[u16]) -> UnitFloor {
    UnitFloor { speakers: speakers.iter().copied().collect(), requests: requests.iter().copied().collect() }
}

fn stations(state: &Value, list: &str) -> Vec<Value> {
    state["floor"][list]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| e["station"].clone())
        .collect()
}

async fn wait_state(daemon: &Daemon, what: &str, predicate: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (_, state) = daemon.get("/api/v1/state").await;
        if predicate(&state) {
            return state;
        }
        assert!(tokio::time::Instant::now() < deadline, "the floor never showed {what}: {}", state["floor"]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn unit_health(daemon: &Daemon, name: &str) -> Value {
    let (_, devices) = daemon.get("/api/v1/devices/room").await;
    devices["devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == name).cloned())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn keys_at_the_central_unit_reach_the_one_floor_and_its_microphones_follow() {
    let cancel = CancellationToken::new();
    let sim = SimDcs::new(&[(101, false), (102, false), (103, false)]);
    let addr = sim.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("serve");
    let televic = SimCocon::new(&[5, 6], Duration::from_secs(30));
    let cocon_addr =
        televic.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("serve");
    let bosch = SimDicentis::new(&["Platz 7", "Platz 8", "Gast"], "geheim");
    let bosch_addr = bosch.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("serve");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = room(&addr.to_string(), &cocon_addr.to_string(), &bosch_addr.to_string());
    let daemon = Daemon::with_config(dir.path(), &config);

    // Podium takes the units over (manual and operator mode: their keys only ask) and reads
    // them; a key pressed before that read is part of what the read finds.
    for name in ["dcs", "cocon", "dicentis"] {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while unit_health(&daemon, name).await["state"].is_null() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} never read: {}",
                unit_health(&daemon, name).await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(sim.mode(), MicMode::Manual);
    assert_eq!(televic.mode(), "Operator");

    // A delegate at unit seat 102 (Podium seat 3) presses; a remote member asks too.
    sim.press(102);
    wait_state(&daemon, "seat 3 waiting", |s| stations(s, "requests") == [json!({"seat": 3})]).await;
    assert!(sim.wait_for(PATIENCE, |f| *f == floor(&[], &[102])).await, "unit: {:?}", sim.floor());
    daemon.command(json!({"command": "join_remote", "participant": "r1"})).await;
    daemon.command(json!({"command": "request", "station": {"remote": "r1"}})).await;
    sim.press(103);
    wait_state(&daemon, "three waiting", |s| stations(s, "requests").len() == 3).await;

    // The chair grants the remote member first: the unit shows nobody speaking.
    let (status, body) = daemon.command(json!({"command": "grant", "station": {"remote": "r1"}})).await;
    assert_eq!(status, 200, "{body}");
    // Then next: seat 3 (unit 102) speaks beside the remote member; 103 still waits.
    let (status, body) = daemon.command(json!({"command": "next"})).await;
    assert_eq!(status, 200, "{body}");
    assert!(sim.wait_for(PATIENCE, |f| *f == floor(&[102], &[103])).await, "unit: {:?}", sim.floor());

    // The delegate switches off at the unit: the floor stops them.
    sim.press(102);
    wait_state(&daemon, "seat 3 done", |s| !stations(s, "speakers").contains(&json!({"seat": 3}))).await;
    // Withdrawing at the unit withdraws on the floor.
    sim.press(103);
    wait_state(&daemon, "seat 4 withdrawn", |s| stations(s, "requests").is_empty()).await;
    assert!(sim.wait_for(PATIENCE, |f| *f == floor(&[], &[])).await, "unit: {:?}", sim.floor());

    // A key at the Televic system's seat 6 reaches the same floor; granted, its microphone
    // opens there, and the Shure unit still shows nobody.
    televic.press(6);
    wait_state(&daemon, "seat 6 waiting", |s| stations(s, "requests") == [json!({"seat": 6})]).await;
    assert!(televic.wait_for(PATIENCE, |f| *f == floor(&[], &[6])).await, "CoCon: {:?}", televic.floor());
    let (status, body) = daemon.command(json!({"command": "next"})).await;
    assert_eq!(status, 200, "{body}");
    assert!(televic.wait_for(PATIENCE, |f| *f == floor(&[6], &[])).await, "CoCon: {:?}", televic.floor());
    assert_eq!(sim.floor(), floor(&[], &[]));
    daemon.command(json!({"command": "stop", "station": {"seat": 6}})).await;
    assert!(televic.wait_for(PATIENCE, |f| *f == floor(&[], &[])).await, "CoCon: {:?}", televic.floor());
    assert_eq!(unit_health(&daemon, "cocon").await["kind"], "televic_cocon");

    // And at the DICENTIS seat "Platz 8": the same floor, its list follows.
    bosch.press("Platz 8");
    wait_state(&daemon, "seat 8 waiting", |s| stations(s, "requests") == [json!({"seat": 8})]).await;
    let (status, body) = daemon.command(json!({"command": "next"})).await;
    assert_eq!(status, 200, "{body}");
    let names = |speaking: &[&str], waiting: &[&str]| {
        (
            speaking.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            waiting.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    assert!(
        bosch.wait_for(PATIENCE, |l| *l == names(&["Platz 8"], &[])).await,
        "DICENTIS: {:?}",
        bosch.lists()
    );
    daemon.command(json!({"command": "stop", "station": {"seat": 8}})).await;
    assert!(bosch.wait_for(PATIENCE, |l| l.0.is_empty()).await, "DICENTIS: {:?}", bosch.lists());
    assert_eq!(unit_health(&daemon, "dicentis").await["kind"], "bosch_dicentis");

    // Malformed lines are counted; the floor and the unit stay as they are.
    let (_, before) = daemon.get("/api/v1/state").await;
    sim.send_raw("mic_on banana\r\n");
    sim.send_raw("mic_request_on\r\n");
    sim.send_raw(&format!("{}\r\n", "y".repeat(300)));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while unit_health(&daemon, "dcs").await["counters"]["errors"].as_u64().unwrap_or(0) < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "errors not counted: {}",
            unit_health(&daemon, "dcs").await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, after) = daemon.get("/api/v1/state").await;
    assert_eq!(before["floor"]["speakers"], after["floor"]["speakers"]);
    assert_eq!(before["floor"]["requests"], after["floor"]["requests"]);
    assert_eq!(before["floor"]["seq"], after["floor"]["seq"], "no event from a malformed line");

    // The unit restarts mid-session while seat 2 speaks and seat 4 waits: it comes back
    // empty and in auto mode; Podium reconnects and makes it show the floor again.
    daemon.command(json!({"command": "stop_all"})).await;
    daemon.command(json!({"command": "grant", "station": {"seat": 2}})).await;
    daemon.command(json!({"command": "request", "station": {"seat": 4}})).await;
    assert!(sim.wait_for(PATIENCE, |f| *f == floor(&[101], &[103])).await, "unit: {:?}", sim.floor());
    sim.restart();
    assert!(
        sim.wait_for(PATIENCE, |f| *f == floor(&[101], &[103])).await,
        "unit after restart: {:?}",
        sim.floor()
    );
    assert_eq!(sim.mode(), MicMode::Manual);
    let state = wait_state(&daemon, "the floor unchanged by the restart", |_| true).await;
    assert_eq!(stations(&state, "speakers"), [json!({"seat": 2})]);
    assert_eq!(stations(&state, "requests"), [json!({"seat": 4})]);
    let health = unit_health(&daemon, "dcs").await;
    assert_eq!(health["kind"], "shure_dcs");
    assert!(health["counters"]["connects"].as_u64().unwrap_or(0) >= 2, "{health}");
    cancel.cancel();
}

#[test]
fn a_seat_served_twice_is_refused_with_its_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = room("127.0.0.1:3142", "127.0.0.1:8890", "127.0.0.1:31416")
        .replace("seats = [2, 3, 4]", "seats = [1, 3, 4]");
    let path = dir.path().join("room.toml");
    std::fs::write(&path, &text).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_podiumd"))
        .args(["check-config", path.to_str().expect("path")])
        .output()
        .expect("run podiumd");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().position(|l| l.starts_with("seats = [1")).expect("line") + 1;
    assert!(stderr.contains(&format!("room.toml:{line}:")), "{stderr}");
    assert!(
        stderr.contains("central_unit[1].seats") && stderr.contains("seat 1 already has a [[desk_unit]]"),
        "{stderr}"
    );
}

/// `podiumd demo --central-unit …`: the delegates' seats on a simulated central unit, keys
/// pressed through the API, the unit following the floor.
#[tokio::test]
async fn the_demo_runs_on_a_simulated_central_unit() {
    for protocol in ["shure_dcs", "televic_cocon", "bosch_dicentis"] {
        let daemon =
            Daemon::start(&["demo", "--listen", "127.0.0.1:0", "--no-mqtt", "--central-unit", protocol]);
        let seat_12 = |units: &Value| {
            units[0]["seats"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["seat"] == 12).cloned())
                .unwrap_or_default()
        };
        // The unit is read before its keys count.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while unit_health(&daemon, "zentrale").await["state"].is_null() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{protocol}: {}",
                unit_health(&daemon, "zentrale").await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (status, units) = daemon.post_raw("/api/v1/sim/central", r#"{"seat":12}"#).await;
        assert_eq!(status, 200, "{protocol}: {units}");
        assert_eq!(units[0]["protocol"], protocol);
        wait_state(&daemon, "seat 12 waiting", |s| stations(s, "requests").contains(&json!({"seat": 12})))
            .await;
        daemon.command(json!({"command": "grant", "station": {"seat": 12}})).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let (_, units) = daemon.get("/api/v1/sim/central").await;
            if seat_12(&units)["microphone"] == true {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{protocol}: the unit never opened seat 12: {units}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (status, body) = daemon.post_raw("/api/v1/sim/central", r#"{"seat":1}"#).await;
        assert_eq!(status, 404, "the chair keeps its desk unit: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
}

#[test]
fn a_dicentis_server_needs_a_login_and_a_pinned_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "[room]\nid = \"x\"\nname = \"x\"\n\n[[seat]]\nnumber = 1\n\n[[central_unit]]\nname = \"d\"\nprotocol = \"bosch_dicentis\"\ntcp = \"127.0.0.1\"\nseats = [1]\ntls_fingerprint = \"AB:CD\"\n";
    let path = dir.path().join("room.toml");
    std::fs::write(&path, text).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_podiumd"))
        .args(["check-config", path.to_str().expect("path")])
        .output()
        .expect("run podiumd");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("room.toml:13:")
            && stderr.contains("central_unit[1].tls_fingerprint: not a SHA-256 fingerprint"),
        "{stderr}"
    );
    assert!(
        stderr.contains("missing key `user`") && stderr.contains("missing key `password_file`"),
        "{stderr}"
    );
}
