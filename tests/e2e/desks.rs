//! End to end through the real daemon and real pseudo-terminals: desk units on a Modbus
//! RTU bus drive the floor and show it. Two peers play the desk units: Podium's own
//! simulator, and a pymodbus server (an independent implementation, started as a Python
//! process), so the driver is proven against code nobody here wrote.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use podium_devices::modbus::desk::{self, DeskKey};
use podium_devices::modbus::sim::SimBus;
use podium_devices::serial::{Pty, SerialStream, pty};
use serde_json::{Value, json};
use support::Daemon;
use tokio_util::sync::CancellationToken;

/// Generous bound for anything to happen on a loaded machine; never a performance goal.
const PATIENCE: Duration = Duration::from_secs(20);

/// The room: the chair's unit (1) and seat 12's unit on bus `a`, whose port is `link`.
fn room(dir: &Path, link: &Path, unit_12: u8, line: &str) -> String {
    format!(
        r#"
[room]
id = "e2e"
name = "Desk units"

[journal]
path = "{journal}"

[discussion]
mode = "request"

[[seat]]
number = 1
member = "becker"
[[seat]]
number = 12
member = "mueller"

[[member]]
id = "becker"
name = "Thomas Becker"
role = "chair"
[[member]]
id = "mueller"
name = "Anna Müller"

[web]
trust_loopback_as = "technician"

[[bus]]
id = "a"
path = "{link}"
{line}
timeout_ms = 300
cycle_ms = 10
desk_units = [
    {{ unit = 1, seat = 1, chair = true }},
    {{ unit = {unit_12}, seat = 12 }},
]
"#,
        journal = dir.join("journal.sqlite").display(),
        link = link.display(),
    )
}

/// A stable name for the current pseudo-terminal, like `/dev/serial/by-id/...` for an adapter.
fn point(link: &Path, target: &str) {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

/// Serves the simulated units on the pty's master; returns the token that stops them and
/// the slave side, which must stay open (else the master hangs up) until the cable is pulled.
fn serve(sim: &SimBus, pty: Pty) -> (CancellationToken, SerialStream) {
    let cancel = CancellationToken::new();
    let (sim, token) = (sim.clone(), cancel.clone());
    tokio::spawn(async move {
        let _ = sim.serve(pty.master, token).await;
    });
    (cancel, pty.slave)
}

/// Waits until `GET path` satisfies `condition`; panics with the last answer after [`PATIENCE`].
async fn wait_for(daemon: &Daemon, path: &str, what: &str, condition: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, body) = daemon.get(path).await;
        if status == 200 && condition(&body) {
            return body;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{what}: not seen within {PATIENCE:?}; last {path}: {status} {body}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn unit_status(devices: &Value, unit: u64) -> String {
    devices["buses"][0]["units"]
        .as_array()
        .and_then(|units| units.iter().find(|u| u["unit"] == unit))
        .and_then(|u| u["status"].as_str())
        .unwrap_or("absent")
        .to_owned()
}

fn requests_of(state: &Value) -> Vec<Value> {
    state["floor"]["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| r["station"].clone())
        .collect()
}

fn speakers_of(state: &Value) -> Vec<Value> {
    state["floor"]["speakers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| r["station"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_keys_drive_the_floor_and_lamps_survive_an_unplugged_adapter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("usb-Podium_RS485-if00-port0");
    let first = pty().expect("pseudo-terminal");
    point(&link, &first.path);
    let sim = SimBus::desk_units([1, 12], &[1], 115_200);
    let (serving, keep) = serve(&sim, first);
    let daemon = Daemon::with_config(dir.path(), &room(dir.path(), &link, 12, ""));

    let devices = wait_for(&daemon, "/api/v1/devices", "both units online", |d| {
        unit_status(d, 1) == "online" && unit_status(d, 12) == "online"
    })
    .await;
    assert_eq!(devices["buses"][0]["connected"], true);
    assert_eq!(devices["buses"][0]["units"][1]["seats"], json!([12]));

    // Seat 12 presses request: the request reaches the floor, the green lamp lights.
    sim.press(12, DeskKey::Request).expect("unit 12");
    wait_for(&daemon, "/api/v1/state", "seat 12's request", |s| requests_of(s) == vec![json!({"seat": 12})])
        .await;
    sim.release(12, DeskKey::Request).expect("unit 12");
    assert!(
        sim.wait_until(PATIENCE, |s| s
            .view(12)
            .and_then(|v| v.desk)
            .is_some_and(|d| d.green && d.list_position == 1 && d.name == "Anna Müller"))
            .await,
        "green lamp and display: {:?}",
        sim.view(12)
    );

    // The chair grants through the API: red lamp and microphone relay, green off.
    let (status, body) = daemon.command(json!({"command": "grant", "station": {"seat": 12}})).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        sim.wait_until(PATIENCE, |s| {
            s.coil(12, desk::COIL_RED) == Some(true)
                && s.coil(12, desk::COIL_MICROPHONE) == Some(true)
                && s.coil(12, desk::COIL_GREEN) == Some(false)
        })
        .await,
        "unit 12 shows speaking: {:?}",
        sim.view(12)
    );
    assert!(
        sim.wait_until(PATIENCE, |s| s
            .view(1)
            .and_then(|v| v.desk)
            .and_then(|d| d.current_speaker)
            .as_deref()
            == Some("Anna Müller"))
            .await,
        "chair display: {:?}",
        sim.view(1)
    );

    // Unplug the adapter: the pty and its link vanish; the units lose power meanwhile.
    serving.cancel();
    drop(keep);
    let _ = std::fs::remove_file(&link);
    let devices = wait_for(&daemon, "/api/v1/devices", "units offline after unplug", |d| {
        d["buses"][0]["connected"] == false && unit_status(d, 12) == "offline"
    })
    .await;
    assert!(devices["buses"][0]["disconnects"].as_u64() >= Some(1));
    sim.power_cycle(12).expect("unit 12");
    assert_eq!(sim.coil(12, desk::COIL_RED), Some(false));

    // Plug it back in under the same link: online again, lamps and relay restored.
    let second = pty().expect("pseudo-terminal");
    point(&link, &second.path);
    let (_serving, _keep) = serve(&sim, second);
    wait_for(&daemon, "/api/v1/devices", "unit 12 online after replug", |d| unit_status(d, 12) == "online")
        .await;
    assert!(
        sim.wait_until(PATIENCE, |s| s.coil(12, desk::COIL_RED) == Some(true)
            && s.coil(12, desk::COIL_MICROPHONE) == Some(true))
            .await,
        "outputs restored: {:?}",
        sim.view(12)
    );

    // The chair's stop key closes the microphone; the lamps follow.
    sim.click_input(1, DeskKey::Stop.input()).expect("unit 1");
    wait_for(&daemon, "/api/v1/state", "seat 12 stopped by the chair key", |s| speakers_of(s).is_empty())
        .await;
    assert!(
        sim.wait_until(PATIENCE, |s| s.coil(12, desk::COIL_MICROPHONE) == Some(false)).await,
        "{:?}",
        sim.view(12)
    );

    // Lamp test on seat 12: every lamp blinks, the microphone stays closed, then it ends.
    let (status, body) =
        daemon.post_raw("/api/v1/devices/test", json!({"seat": 12, "seconds": 1}).to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["units"], json!([{"bus": "a", "unit": 12}]));
    assert!(
        sim.wait_until(PATIENCE, |s| s
            .view(12)
            .and_then(|v| v.desk)
            .is_some_and(|d| d.red && d.green && d.blink && !d.microphone))
            .await,
        "lamp test: {:?}",
        sim.view(12)
    );
    assert!(
        sim.wait_until(PATIENCE, |s| s
            .view(12)
            .and_then(|v| v.desk)
            .is_some_and(|d| !d.red && !d.green && !d.blink))
            .await,
        "lamp test over: {:?}",
        sim.view(12)
    );
}

/// The pymodbus desk unit, controlled over its stdin/stdout.
struct PyUnit {
    child: Child,
    stdin: ChildStdin,
    stdout: std::io::Lines<BufReader<ChildStdout>>,
}

impl PyUnit {
    fn start(port: &str, unit: u8) -> PyUnit {
        let python = std::env::var("PODIUM_PYTHON").unwrap_or_else(|_| "python3".into());
        let script: PathBuf = support::repo_root().join("tests/pymodbus/desk_unit.py");
        let probe = Command::new(&python).args(["-c", "import pymodbus"]).status();
        assert!(
            probe.is_ok_and(|s| s.success()),
            "{python} cannot import pymodbus: tests/run installs it (pip install pymodbus==3.16.1)"
        );
        // Pseudo-terminals on some kernels refuse even parity through Python's termios;
        // both ends use the other line setting the Modbus spec allows: no parity, 2 stop bits.
        let mut child = Command::new(&python)
            .arg(script)
            .args(["--port", port, "--unit", &unit.to_string(), "--parity", "N", "--stopbits", "2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the pymodbus desk unit");
        let stderr = support::StderrTail::collect(&mut child);
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = stdout.next().and_then(Result::ok);
        if ready.as_deref() != Some(r#"{"ready": true}"#) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the pymodbus desk unit did not start (first line {ready:?}); its stderr:\n{}",
                stderr.text_at_exit()
            );
        }
        PyUnit { child, stdin, stdout }
    }

    fn send(&mut self, command: Value) -> Value {
        writeln!(self.stdin, "{command}").expect("write to pymodbus");
        let line = self.stdout.next().expect("pymodbus answered").expect("read");
        serde_json::from_str(&line).expect("JSON from pymodbus")
    }

    /// Polls the unit's state until `condition` holds.
    async fn wait_for(&mut self, what: &str, condition: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let state = self.send(json!({"state": true}));
            if condition(&state) {
                return state;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("pymodbus unit: {what} not seen within {PATIENCE:?}; last {state}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for PyUnit {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn coil(state: &Value, coil: u16) -> bool {
    state["coils"][usize::from(coil)] == true
}

/// Clicks a key of seat 12's unit once the driver has seen the last click end: a click
/// within the debounce hold-off of the previous release would be no edge at all.
async fn click(sim: &SimBus, key: DeskKey) {
    assert!(sim.wait_until(PATIENCE, |s| s.input(12, key.input()) == Some(false)).await);
    tokio::time::sleep(Duration::from_millis(150)).await;
    sim.click_input(12, key.input()).expect("unit 12");
}

/// The cancel key means what the floor says when the engine applies it: withdraw while
/// waiting, stop while speaking, nothing otherwise; with a meeting open (every change
/// journaled before it is published) and never a rejected command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cancel_key_withdraws_or_stops_as_the_floor_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("usb-Podium_RS485-if00-port0");
    let port = pty().expect("pseudo-terminal");
    point(&link, &port.path);
    let sim = SimBus::desk_units([1, 12], &[1], 115_200);
    let (_serving, _keep) = serve(&sim, port);
    let daemon = Daemon::with_config(dir.path(), &room(dir.path(), &link, 12, ""));
    wait_for(&daemon, "/api/v1/devices", "both units online", |d| {
        unit_status(d, 1) == "online" && unit_status(d, 12) == "online"
    })
    .await;
    let (status, body) = daemon.post_raw("/api/v1/meetings", r#"{"title":"Cancel"}"#).await;
    assert_eq!(status, 201, "{body}");

    click(&sim, DeskKey::Request).await;
    wait_for(&daemon, "/api/v1/state", "seat 12's request", |s| requests_of(s) == vec![json!({"seat": 12})])
        .await;
    click(&sim, DeskKey::Cancel).await;
    wait_for(&daemon, "/api/v1/state", "seat 12's request withdrawn", |s| requests_of(s).is_empty()).await;

    let (status, body) = daemon.command(json!({"command": "grant", "station": {"seat": 12}})).await;
    assert_eq!(status, 200, "{body}");
    assert!(sim.wait_until(PATIENCE, |s| s.coil(12, desk::COIL_MICROPHONE) == Some(true)).await);
    click(&sim, DeskKey::Cancel).await;
    let state =
        wait_for(&daemon, "/api/v1/state", "seat 12 switched off", |s| speakers_of(s).is_empty()).await;
    assert!(sim.wait_until(PATIENCE, |s| s.coil(12, desk::COIL_MICROPHONE) == Some(false)).await);

    // Nothing left to cancel: accepted, no event.
    click(&sim, DeskKey::Cancel).await;
    // Request press and release, three cancels (a released cancel key sends nothing).
    let diagnostics = wait_for(&daemon, "/api/v1/diagnostics", "five commands from unit 12", |d| {
        d["sources"]
            .as_array()
            .is_some_and(|sources| sources.iter().any(|s| s["source"] == "desk:a/12" && s["accepted"] == 5))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, diagnostics_after) = daemon.get("/api/v1/diagnostics").await;
    let unit_12 = |d: &Value| {
        d["sources"].as_array().and_then(|s| s.iter().find(|s| s["source"] == "desk:a/12")).cloned()
    };
    assert_eq!(unit_12(&diagnostics_after).map(|s| s["rejected"].clone()), Some(json!(0)), "{diagnostics}");
    let (_, after) = daemon.get("/api/v1/state").await;
    assert_eq!(after["floor"]["seq"], state["floor"]["seq"], "the last cancel changed nothing");
    assert_eq!(diagnostics_after["journal"]["written_seq"], state["floor"]["seq"], "every change journaled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podium_drives_a_pymodbus_desk_unit() {
    // Two pseudo-terminals joined master to master: pymodbus opens one slave side,
    // podiumd the other, as if both hung on one RS-485 pair.
    let dir = tempfile::tempdir().expect("temp dir");
    let (python_side, podium_side) = (pty().expect("pty"), pty().expect("pty"));
    let link = dir.path().join("usb-Podium_RS485-if00-port0");
    point(&link, &podium_side.path);
    let (mut a, mut b) = (python_side.master, podium_side.master);
    let (_keep_a, _keep_b) = (python_side.slave, podium_side.slave);
    tokio::spawn(async move {
        let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
    });
    let mut unit = PyUnit::start(&python_side.path, 7);

    let daemon =
        Daemon::with_config(dir.path(), &room(dir.path(), &link, 7, "parity = \"none\"\nstop_bits = 2"));
    // Unit 1 (the chair's) is not on this bus: it goes offline, unit 7 answers.
    wait_for(&daemon, "/api/v1/devices", "the pymodbus unit online", |d| unit_status(d, 7) == "online").await;
    // The first write after coming online sets the display name (Latin-1, 2 characters a register).
    let state = unit
        .wait_for("the name on its display", |s| {
            let registers: Vec<u16> = s["registers"]
                .as_array()
                .map_or(Vec::new(), |r| r.iter().filter_map(|v| v.as_u64().map(|v| v as u16)).collect());
            registers.len() >= 8 && desk::read_text(&registers[..8]) == "Anna Müller"
        })
        .await;
    assert!(!coil(&state, desk::COIL_RED));

    unit.send(json!({"press": DeskKey::Request.input()}));
    wait_for(&daemon, "/api/v1/state", "seat 12's request from pymodbus", |s| {
        requests_of(s) == vec![json!({"seat": 12})]
    })
    .await;
    unit.send(json!({"release": DeskKey::Request.input()}));
    unit.wait_for("green lamp", |s| coil(s, desk::COIL_GREEN) && !coil(s, desk::COIL_RED)).await;

    let (status, body) = daemon.command(json!({"command": "next"})).await;
    assert_eq!(status, 200, "{body}");
    let state = unit
        .wait_for("red lamp and microphone relay", |s| {
            coil(s, desk::COIL_RED) && coil(s, desk::COIL_MICROPHONE) && !coil(s, desk::COIL_GREEN)
        })
        .await;
    assert!(state["input_reads"].as_u64() > Some(2), "{state}");
    let devices = wait_for(&daemon, "/api/v1/devices", "health", |_| true).await;
    let seven = devices["buses"][0]["units"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["unit"] == 7))
        .cloned()
        .expect("unit 7");
    assert_eq!((seven["crc_errors"].as_u64(), seven["exceptions"].as_u64()), (Some(0), Some(0)), "{seven}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_simulated_desk_units_over_real_frames() {
    let daemon = Daemon::demo();
    let devices = wait_for(&daemon, "/api/v1/devices", "the demo's 40 desk units online", |d| {
        d["buses"][0]["units"]
            .as_array()
            .is_some_and(|u| u.len() == 40 && u.iter().all(|u| u["status"] == "online"))
    })
    .await;
    assert_eq!(devices["buses"][0]["simulated"], true);

    // A key click on unit 12 travels as RTU frames over the pty into the floor.
    let click = json!({"action": "click", "unit": 12, "key": "request"});
    let (status, body) = daemon.post_raw("/api/v1/sim/desks", click.to_string()).await;
    assert_eq!(status, 200, "{body}");
    wait_for(&daemon, "/api/v1/state", "seat 12's request", |s| requests_of(s) == vec![json!({"seat": 12})])
        .await;
    let (status, body) = daemon.command(json!({"command": "next"})).await;
    assert_eq!(status, 200, "{body}");
    let sim = wait_for(&daemon, "/api/v1/sim/desks", "unit 12 speaking", |s| {
        s[0]["units"].as_array().and_then(|u| u.iter().find(|u| u["unit"] == 12)).is_some_and(|u| {
            u["desk"]["red"] == true && u["desk"]["microphone"] == true && u["desk"]["name"] == "Anna Müller"
        })
    })
    .await;
    assert_eq!(sim[0]["bus"], "desks");
    let (status, body) =
        daemon.post_raw("/api/v1/sim/desks", json!({"action": "wave", "unit": 12}).to_string()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_command")), "{body}");
}

/// A council of four on two buses: the simulator plays the chair's unit (1) and seats 12
/// and 13 on bus `a`; the pymodbus unit 7 is seat 14 on bus `b`.
fn voting_room(dir: &Path, link_a: &Path, link_b: &Path) -> String {
    format!(
        r#"
[room]
id = "e2e"
name = "Votes at the desks"

[journal]
path = "{journal}"

[discussion]
mode = "request"

[[seat]]
number = 1
member = "becker"
[[seat]]
number = 12
member = "mueller"
[[seat]]
number = 13
member = "schmidt"
[[seat]]
number = 14
member = "weber"

[[member]]
id = "becker"
name = "Thomas Becker"
role = "chair"
[[member]]
id = "mueller"
name = "Anna Müller"
badge = "04A1B2C3D4"
[[member]]
id = "schmidt"
name = "Jan Schmidt"
pin = "4711"
[[member]]
id = "weber"
name = "Eva Weber"
badge = "0BADC0DE"

[web]
trust_loopback_as = "chair"

[[bus]]
id = "a"
path = "{a}"
timeout_ms = 300
cycle_ms = 10
desk_units = [
    {{ unit = 1, seat = 1, chair = true, map_version = 2 }},
    {{ unit = 12, seat = 12, map_version = 2 }},
    {{ unit = 13, seat = 13, map_version = 2 }},
]

[[bus]]
id = "b"
path = "{b}"
parity = "none"
stop_bits = 2
timeout_ms = 300
cycle_ms = 10
desk_units = [{{ unit = 7, seat = 14, map_version = 2 }}]
"#,
        journal = dir.join("journal.sqlite").display(),
        a = link_a.display(),
        b = link_b.display(),
    )
}

fn present_at(state: &Value, member: &str) -> Option<u64> {
    let attendance = &state["floor"]["attendance"][member];
    (attendance["status"] == "present").then(|| attendance["place"]["seat"].as_u64()).flatten()
}

/// Clicks a key of a simulated unit once the driver has seen its last click end.
async fn click_on(sim: &SimBus, unit: u8, key: DeskKey) {
    assert!(sim.wait_until(PATIENCE, |s| s.input(unit, key.input()) == Some(false)).await);
    tokio::time::sleep(Duration::from_millis(150)).await;
    sim.click_input(unit, key.input()).expect("unit");
}

/// Presses and releases a key of the pymodbus unit, held long enough for a poll to see it.
async fn py_click(unit: &mut PyUnit, input: u16) {
    unit.send(json!({"press": input}));
    let reads = unit.send(json!({"state": true}))["input_reads"].as_u64().unwrap_or(0);
    unit.wait_for("the press read", |s| s["input_reads"].as_u64() > Some(reads + 1)).await;
    unit.send(json!({"release": input}));
    tokio::time::sleep(Duration::from_millis(100)).await;
}

fn vote_coils(state: &Value) -> Vec<bool> {
    (5..=10).map(|c| coil(state, c)).collect()
}

/// Members check in at their desks (presence key, badge, PIN, and the presence key of the
/// pymodbus unit), the chair opens a vote, the desks vote yes, no and abstain (one through
/// the pymodbus unit), the vote lamps follow and go dark when the vote closes, the totals
/// match; a vote key outside a vote changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_check_in_and_vote_at_their_desks() {
    use podium_devices::modbus::bus::CredentialKind;
    let dir = tempfile::tempdir().expect("temp dir");
    let link_a = dir.path().join("usb-Podium_RS485-A-if00-port0");
    let port_a = pty().expect("pseudo-terminal");
    point(&link_a, &port_a.path);
    let sim = SimBus::desk_units([1, 12, 13], &[1], 115_200);
    let (_serving, _keep) = serve(&sim, port_a);
    let (python_side, podium_side) = (pty().expect("pty"), pty().expect("pty"));
    let link_b = dir.path().join("usb-Podium_RS485-B-if00-port0");
    point(&link_b, &podium_side.path);
    let (mut a, mut b) = (python_side.master, podium_side.master);
    let (_keep_a, _keep_b) = (python_side.slave, podium_side.slave);
    tokio::spawn(async move {
        let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
    });
    let mut py = PyUnit::start(&python_side.path, 7);
    let daemon = Daemon::with_config(dir.path(), &voting_room(dir.path(), &link_a, &link_b));
    wait_for(&daemon, "/api/v1/devices", "every unit online", |d| {
        [1, 12, 13].iter().all(|&u| unit_status(d, u) == "online")
            && d["buses"][1]["units"][0]["status"] == "online"
    })
    .await;
    let (status, body) = daemon.post_raw("/api/v1/meetings", r#"{"title":"Votes"}"#).await;
    assert_eq!(status, 201, "{body}");

    // A vote key outside a vote: nothing changes (and it is no error).
    let (_, before) = daemon.get("/api/v1/state").await;
    click_on(&sim, 12, DeskKey::VoteYes).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, after) = daemon.get("/api/v1/state").await;
    assert_eq!(after["floor"]["seq"], before["floor"]["seq"], "a vote key outside a vote changed the floor");

    // Check in: the chair's presence key, a badge at 12, a PIN at 13, the pymodbus unit's
    // presence key at 14.
    click_on(&sim, 1, DeskKey::Presence).await;
    sim.offer_credential(12, CredentialKind::Badge, &[0x04, 0xA1, 0xB2, 0xC3, 0xD4]).expect("unit 12");
    sim.offer_credential(13, CredentialKind::Pin, b"4711").expect("unit 13");
    py_click(&mut py, DeskKey::Presence.input()).await;
    let state = wait_for(&daemon, "/api/v1/state", "four members checked in at their seats", |s| {
        present_at(s, "becker") == Some(1)
            && present_at(s, "mueller") == Some(12)
            && present_at(s, "schmidt") == Some(13)
            && present_at(s, "weber") == Some(14)
    })
    .await;
    assert_eq!(state["floor"]["attendance"]["mueller"]["by"], "badge");
    assert_eq!(state["floor"]["attendance"]["schmidt"]["by"], "pin");
    assert_eq!(state["floor"]["attendance"]["weber"]["by"], "presence_key");
    assert!(sim.input(12, desk::INPUT_CREDENTIAL_WAITING) == Some(false), "the credential was read");

    // The chair opens a vote: every vote lamp lights.
    let (status, body) = daemon
        .command(json!({"command": "open_vote", "vote": {"question": "Antrag 7", "kind": "open"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        sim.wait_until(PATIENCE, |s| [1, 12, 13]
            .iter()
            .all(|&u| s.coil(u, desk::COIL_VOTING_OPEN) == Some(true)))
            .await,
        "vote lamps: {:?} {:?}",
        sim.view(12),
        sim.view(13)
    );
    py.wait_for("the vote lamp", |s| vote_coils(s) == [true, false, false, false, false, false]).await;

    // Yes at 1 and 12, no at 13, abstain at 14 (pymodbus).
    click_on(&sim, 1, DeskKey::VoteYes).await;
    click_on(&sim, 12, DeskKey::VoteYes).await;
    click_on(&sim, 13, DeskKey::VoteNo).await;
    py_click(&mut py, DeskKey::VoteAbstain.input()).await;
    wait_for(&daemon, "/api/v1/state", "four ballots", |s| {
        s["floor"]["vote"]["ballots"].as_object().is_some_and(|b| b.len() == 4)
    })
    .await;
    let choice_lit = |s: &SimBus, unit: u8, coil: u16| {
        s.coil(unit, desk::COIL_VOTING_OPEN) == Some(false)
            && s.coil(unit, desk::COIL_VOTE_REGISTERED) == Some(true)
            && s.coil(unit, coil) == Some(true)
    };
    assert!(
        sim.wait_until(PATIENCE, |s| choice_lit(s, 12, desk::COIL_CHOICE_YES)
            && choice_lit(s, 13, desk::COIL_CHOICE_NO)
            && choice_lit(s, 1, desk::COIL_CHOICE_YES))
            .await,
        "registered and choice lamps: {:?} {:?}",
        sim.view(12),
        sim.view(13)
    );
    assert_eq!(sim.view(13).and_then(|v| v.desk).and_then(|d| d.choice).as_deref(), Some("no"));
    py.wait_for("registered, abstain", |s| vote_coils(s) == [false, true, false, false, false, true]).await;

    // The chair closes it: the totals match the keys, every vote lamp goes dark.
    let (status, body) = daemon.command(json!({"command": "close_vote"})).await;
    assert_eq!(status, 200, "{body}");
    let state =
        wait_for(&daemon, "/api/v1/state", "the result", |s| s["floor"]["vote"]["result"].is_object()).await;
    let result = &state["floor"]["vote"]["result"];
    assert_eq!(
        (result["yes"].as_u64(), result["no"].as_u64(), result["abstain"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{result}"
    );
    assert_eq!(result["outcome"], "accepted");
    assert!(
        sim.wait_until(PATIENCE, |s| [1, 12, 13]
            .iter()
            .all(|&u| (5..=10).all(|c| s.coil(u, c) == Some(false))))
            .await,
        "vote lamps off: {:?}",
        sim.view(12)
    );
    py.wait_for("vote lamps off", |s| vote_coils(s).iter().all(|c| !c)).await;

    // The badge reader of the pymodbus unit: a removed badge checks out only a member who
    // came in by badge.
    py.send(json!({"remove_badge": true}));
    py.wait_for("the credential read", |s| s["credential_reads"] == 1 && s["credential_waiting"] == false)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(present_at(&daemon.get("/api/v1/state").await.1, "weber"), Some(14), "came in by key: stays");
    py.send(json!({"badge": "0BADC0DE"}));
    wait_for(&daemon, "/api/v1/state", "weber by badge", |s| {
        s["floor"]["attendance"]["weber"]["by"] == "badge"
    })
    .await;
    py.send(json!({"remove_badge": true}));
    wait_for(&daemon, "/api/v1/state", "weber checked out", |s| present_at(s, "weber").is_none()).await;
    py.wait_for("the credential reads", |s| s["credential_reads"] == 3 && s["credential_waiting"] == false)
        .await;

    // A key after the vote closed changes nothing either.
    let (_, before) = daemon.get("/api/v1/state").await;
    click_on(&sim, 13, DeskKey::VoteYes).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, after) = daemon.get("/api/v1/state").await;
    assert_eq!(after["floor"]["seq"], before["floor"]["seq"]);
    let devices = wait_for(&daemon, "/api/v1/devices", "health", |_| true).await;
    let seven = &devices["buses"][1]["units"][0];
    assert_eq!((seven["crc_errors"].as_u64(), seven["exceptions"].as_u64()), (Some(0), Some(0)), "{seven}");
}
