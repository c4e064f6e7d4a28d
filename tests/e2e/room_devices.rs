//! The room follows the floor, end to end: the real `podiumd` drives simulated VISCA
//! cameras over a real UDP socket and a real pseudo-terminal. A seat gets the floor → its
//! preset is recalled (the simulated camera reports it) → a remote member gets the floor
//! → the remote shot → the floor ends → the overview. Faults: a camera that does not
//! answer, a camera that answers with errors: the floor keeps working, the fault shows in
//! the device health, podiumd retries and recovers.

mod support;

use std::time::{Duration, Instant};

use podium_devices::extron::sim::SimMatrix;
use podium_devices::mdc::sim::SimDisplay;
use podium_devices::pjlink::sim::SimProjector;
use podium_devices::shure::sim::SimMxa;
use podium_devices::visca::sim::{Behaviour, SimCamera};
use serde_json::{Value, json};
use support::Daemon;
use tokio_util::sync::CancellationToken;

/// Generous bound for anything to happen on a loaded machine; never a performance goal.
const PATIENCE: Duration = Duration::from_secs(25);

fn room(front_udp: &str, side_pty: &str, beamer: &str, wall: &str, matrix_pty: &str, mxa: &str) -> String {
    format!(
        r#"
[room]
id = "e2e-cameras"
name = "Cameras"

[journal]
path = "journal.sqlite"

# The tests call the API from this machine as the chair, without logging in.
[web]
trust_loopback_as = "chair"

[discussion]
mode = "request"
max_open_microphones = 1

[camera_director]
follow = "newest"
min_hold_ms = 0

[[camera]]
name = "front"
udp = "{front_udp}"
overview = 1
remote = 9
shot = [{{ seat = 2, preset = 5 }}, {{ seat = 3, preset = 6 }}]

[[camera]]
name = "side"
serial = "{side_pty}"
baud = 9600
overview = 2
[[camera.shot]]
seat = 2
preset = 3

[[display]]
name = "beamer"
protocol = "pjlink"
tcp = "{beamer}"
password = "JBMIAProjectorLink"
power = true
default_input = "31"
conference_input = "52"

[[display]]
name = "wall"
protocol = "mdc"
tcp = "{wall}"
id = 1
power = true
default_input = "hdmi1"
conference_input = "hdmi2"

[[display]]
name = "matrix"
protocol = "extron"
serial = "{matrix_pty}"
outputs = [1, 2]
default_input = "1"
conference_input = "4"

[[microphone]]
name = "ceiling"
tcp = "{mxa}"
[[microphone.zone]]
channel = 1
seats = [2]
[[microphone.zone]]
channel = 2
seats = [3]

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
"#
    )
}

async fn preset(camera: &SimCamera, name: &str, memory: Option<u8>) {
    assert!(
        camera.wait_for(PATIENCE, |s| s.preset == memory).await,
        "camera {name} never showed preset {memory:?}: {:?}",
        camera.status()
    );
}

async fn command(daemon: &Daemon, command: Value) {
    let (status, body) = daemon.command(command.clone()).await;
    assert_eq!(status, 200, "{command} → {body}");
}

/// Waits until projector, display and matrix show these sources.
async fn sources(
    beamer: &SimProjector,
    wall: &SimDisplay,
    matrix: &SimMatrix,
    pjlink: &str,
    mdc: u8,
    tie: u16,
) {
    assert!(
        beamer.wait_for(PATIENCE, |s| s.power == 1 && s.input == pjlink).await,
        "projector never showed {pjlink}: {:?}",
        beamer.status()
    );
    assert!(
        wall.wait_for(PATIENCE, |s| s.power && s.input == mdc).await,
        "display never showed {mdc:#x}: {:?}",
        wall.status()
    );
    for output in [1, 2] {
        assert!(
            matrix.wait_for_tie(PATIENCE, output, tie).await,
            "matrix output {output} never carried input {tie}"
        );
    }
}

/// Waits until the health of device `name` satisfies `ready`.
async fn device(daemon: &Daemon, name: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, body) = daemon.get("/api/v1/devices/room").await;
        assert_eq!(status, 200, "{body}");
        let health = body["devices"].as_array().and_then(|d| d.iter().find(|d| d["name"] == name)).cloned();
        if let Some(h) = health.filter(|h| ready(h)) {
            return h;
        }
        assert!(Instant::now() < deadline, "device {name} never showed {what}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_follows_the_floor_and_survives_faults() {
    let cancel = CancellationToken::new();
    let front = SimCamera::new();
    let front_addr =
        front.serve_udp("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("udp");
    let side = SimCamera::new();
    let side_path = side.serve_pty(cancel.clone()).expect("pty");
    let beamer = SimProjector::new(Some("JBMIAProjectorLink"));
    let beamer_addr = beamer.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("tcp");
    let wall = SimDisplay::new(1);
    let wall_addr = wall.serve_tcp("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("tcp");
    let matrix = SimMatrix::new(8, 4);
    let matrix_path = matrix.serve_pty(cancel.clone()).expect("pty");
    let mxa = SimMxa::new(8);
    let mxa_addr = mxa.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("tcp");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = room(
        &front_addr.to_string(),
        &side_path,
        &beamer_addr.to_string(),
        &wall_addr.to_string(),
        &matrix_path,
        &mxa_addr.to_string(),
    );
    let daemon = Daemon::with_config(dir.path(), &config);

    // Nobody speaks: the overview shots.
    preset(&front, "front", Some(1)).await;
    preset(&side, "side", Some(2)).await;
    // Displays on, default sources.
    sources(&beamer, &wall, &matrix, "31", 0x21, 1).await;

    // Seat 2 gets the floor: both cameras show it.
    command(&daemon, json!({"command": "grant", "station": {"seat": 2}})).await;
    preset(&front, "front", Some(5)).await;
    preset(&side, "side", Some(3)).await;
    assert!(mxa.wait_for(PATIENCE, 1, false).await, "seat 2's ceiling zone opened");
    assert_eq!(mxa.muted(2), Some(true));

    // A remote member gets the floor: front shows the remote shot, side has none → overview.
    command(&daemon, json!({"command": "join_remote", "participant": "r1"})).await;
    command(&daemon, json!({"command": "grant", "station": {"remote": "r1"}})).await;
    preset(&front, "front", Some(9)).await;
    preset(&side, "side", Some(2)).await;
    sources(&beamer, &wall, &matrix, "52", 0x23, 4).await;
    assert!(mxa.wait_for(PATIENCE, 1, true).await, "the room zone closed for the remote speaker");
    let (_, devices) = daemon.get("/api/v1/devices/room").await;
    let shots: Vec<Value> = devices["cameras"].as_array().cloned().unwrap_or_default();
    assert_eq!(shots[0], json!({"camera": "front", "shot": "remote r1", "preset": 9}));
    assert_eq!(shots[1], json!({"camera": "side", "shot": "overview", "preset": 2}));

    // The floor ends: overview.
    command(&daemon, json!({"command": "stop_all"})).await;
    preset(&front, "front", Some(1)).await;
    sources(&beamer, &wall, &matrix, "31", 0x21, 1).await;
    let (_, devices) = daemon.get("/api/v1/devices/room").await;
    assert_eq!(devices["displays"][0], json!({"display": "beamer", "power": true, "input": "31"}));
    for name in ["beamer", "wall", "matrix", "ceiling"] {
        device(&daemon, name, "a healthy link", |h| h["connected"] == true).await;
    }
    let healthy = device(&daemon, "front", "a healthy link", |h| h["connected"] == true).await;
    assert_eq!(healthy["kind"], "visca");
    assert!(healthy["counters"]["completed"].as_u64().unwrap_or(0) >= 4, "{healthy}");
    assert_eq!(healthy["state"], "preset 1");

    // Fault 1: the front camera stops answering. The floor goes on; the fault is reported.
    front.set_behaviour(Behaviour::Silent);
    command(&daemon, json!({"command": "grant", "station": {"seat": 3}})).await;
    let (_, state) = daemon.get("/api/v1/state").await;
    assert_eq!(state["floor"]["speakers"][0]["station"], json!({"seat": 3}));
    let lost = device(&daemon, "front", "the camera is not answering", |h| {
        h["connected"] == false && h["counters"]["timeouts"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(lost["last_error"].as_str().is_some_and(|e| e.contains("no answer")), "{lost}");
    // It answers again: podiumd reconnects and shows seat 3.
    front.set_behaviour(Behaviour::Normal);
    preset(&front, "front", Some(6)).await;
    device(&daemon, "front", "reconnected", |h| h["connected"] == true && h["state"] == "preset 6").await;

    // Fault 2: the side camera answers with errors; reported, then retried until it works.
    side.set_behaviour(Behaviour::NotExecutable);
    command(&daemon, json!({"command": "grant", "station": {"seat": 2}})).await;
    preset(&front, "front", Some(5)).await;
    device(&daemon, "side", "the camera's error", |h| {
        h["last_error"].as_str().is_some_and(|e| e.contains("not executable"))
    })
    .await;
    assert_eq!(side.status().preset, Some(2), "the refused recall did not move the camera");
    side.set_behaviour(Behaviour::Normal);
    preset(&side, "side", Some(3)).await;

    // Fault 3: the projector disconnects. Reported; when it is back it is set again.
    beamer.set_online(false);
    command(&daemon, json!({"command": "grant", "station": {"remote": "r1"}})).await;
    preset(&front, "front", Some(9)).await;
    assert!(matrix.wait_for_tie(PATIENCE, 1, 4).await, "the matrix still follows");
    device(&daemon, "beamer", "the lost projector", |h| {
        h["connected"] == false && h["last_error"].is_string()
    })
    .await;
    beamer.set_online(true);
    assert!(
        beamer.wait_for(PATIENCE, |s| s.input == "52").await,
        "the projector recovered: {:?}",
        beamer.status()
    );
    device(&daemon, "beamer", "reconnected", |h| h["connected"] == true).await;

    // Test actions (the chair may run them too: they are harmless).
    let (status, body) = daemon.post_raw("/api/v1/devices/room/side/test", r#"{"action":"home"}"#).await;
    assert_eq!((status, body), (200, json!({"result": "home"})));
    assert!(side.wait_for(PATIENCE, |s| s.pan == 0 && s.tilt == 0 && s.preset.is_none()).await);
    let (status, body) =
        daemon.post_raw("/api/v1/devices/room/matrix/test", r#"{"action":"input","input":"3"}"#).await;
    assert_eq!((status, body), (200, json!({"result": "power unknown, input 3"})));
    assert_eq!(matrix.tie(2), 3);
    let (status, body) = daemon.post_raw("/api/v1/devices/room/matrix/test", r#"{"action":"home"}"#).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("wrong_action")));
    let (status, _) = daemon.post_raw("/api/v1/devices/room/nothing/test", r#"{"action":"home"}"#).await;
    assert_eq!(status, 404);
    // Not a camera's action, on no device at all: still "no such device", not "wrong action".
    let (status, body) = daemon.post_raw("/api/v1/devices/room/nothing/test", r#"{"action":"status"}"#).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body}");
    cancel.cancel();
}

/// Waits until the simulated device `name` of a demo satisfies `ready`.
async fn simulated(daemon: &Daemon, name: &str, what: &str, ready: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, body) = daemon.get("/api/v1/sim/room").await;
        assert_eq!(status, 200, "{body}");
        let device = body.as_array().and_then(|d| d.iter().find(|d| d["name"] == name)).cloned();
        if device.as_ref().is_some_and(&ready) {
            return;
        }
        assert!(Instant::now() < deadline, "demo device {name} never showed {what}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_demos_run_side_by_side_with_their_simulated_room() {
    let demos = [Daemon::demo(), Daemon::demo()];
    for daemon in &demos {
        simulated(daemon, "front", "the overview", |d| d["preset"] == 1).await;
        simulated(daemon, "projector", "power and the default input", |d| {
            d["power"] == true && d["input"] == "31"
        })
        .await;
        simulated(daemon, "matrix", "the default tie", |d| {
            d["ties"] == json!([{"output": 1, "input": 1}, {"output": 2, "input": 1}])
        })
        .await;
    }
    // The first demo's floor moves its own camera only.
    command(&demos[0], json!({"command": "grant", "station": {"seat": 12}})).await;
    simulated(&demos[0], "front", "seat 12's preset", |d| d["preset"] == 13).await;
    command(&demos[0], json!({"command": "join_remote", "participant": "wagner"})).await;
    command(&demos[0], json!({"command": "grant", "station": {"remote": "wagner"}})).await;
    simulated(&demos[0], "projector", "the conference", |d| d["input"] == "52").await;
    simulated(&demos[0], "matrix", "the conference tie", |d| {
        d["ties"] == json!([{"output": 1, "input": 4}, {"output": 2, "input": 4}])
    })
    .await;
    let (_, second) = demos[1].get("/api/v1/sim/room").await;
    assert_eq!(second[0]["preset"], 1, "the second demo's camera did not move: {second}");

    // The second demo's chair presses *next* on the simulated button box.
    command(&demos[1], json!({"command": "request", "station": {"seat": 5}})).await;
    let press = |down: bool| json!({"button": "next", "down": down}).to_string();
    let (status, body) = demos[1].post_raw("/api/v1/sim/gpio", press(true)).await;
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, lamps) = demos[1].get("/api/v1/sim/gpio").await;
        if lamps["lamps"]
            == json!([
                {"line": 22, "shows": "someone_speaking", "lit": true},
                {"line": 23, "shows": "remote_speaking", "lit": false},
                {"line": 24, "shows": "on_air", "lit": true}
            ])
        {
            break;
        }
        assert!(Instant::now() < deadline, "the lamps never showed seat 5 speaking: {lamps}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, state) = demos[1].get("/api/v1/state").await;
    assert_eq!(state["floor"]["speakers"][0]["station"], json!({"seat": 5}));
    simulated(&demos[1], "front", "seat 5's preset", |d| d["preset"] == 6).await;
    let (status, _) = demos[1].post_raw("/api/v1/sim/gpio", press(false)).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projector_is_on_while_a_meeting_is_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = r#"
[room]
id = "e2e-meeting-power"
name = "Meeting power"

[journal]
path = "journal.sqlite"

# The tests call the API from this machine as the chair, without logging in.
[web]
trust_loopback_as = "chair"

[[display]]
name = "projector"
protocol = "pjlink"
simulated = true
power_with_meeting = true
default_input = "31"

[[seat]]
number = 1
"#;
    let daemon = Daemon::with_config(dir.path(), config);
    simulated(&daemon, "projector", "standby before the meeting", |d| d["power"] == false).await;
    let (status, meeting) = daemon.post_raw("/api/v1/meetings", r#"{"title":"Test"}"#).await;
    assert_eq!(status, 201, "{meeting}");
    simulated(&daemon, "projector", "power on and input 31 in the meeting", |d| {
        d["power"] == true && d["input"] == "31"
    })
    .await;
    let id = meeting["id"].as_i64().expect("meeting id");
    let (status, body) = daemon.post_raw(&format!("/api/v1/meetings/{id}/close"), "{}").await;
    assert_eq!(status, 200, "{body}");
    simulated(&daemon, "projector", "standby after the meeting", |d| d["power"] == false).await;
}

fn voice_room(mxa: &str) -> String {
    format!(
        r#"
[room]
id = "e2e-voice"
name = "Voice"

[journal]
path = "journal.sqlite"

[web]
trust_loopback_as = "chair"

[discussion]
mode = "voice"
max_open_microphones = 1

[voice]
open_after_ms = 100
close_after_ms = 400

[[microphone]]
name = "ceiling"
tcp = "{mxa}"
[[microphone.zone]]
channel = 1
seats = [1]
[[microphone.zone]]
channel = 2
seats = [2]
[[microphone.zone]]
channel = 3
seats = [3]
[[microphone.zone]]
channel = 4
seats = [4, 5]

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
[[seat]]
number = 5

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
"#
    )
}

/// Waits until the floor's speakers are `seats` (in order).
async fn speakers(daemon: &Daemon, seats: &[u16]) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, state) = daemon.get("/api/v1/state").await;
        let now: Vec<u64> = state["floor"]["speakers"]
            .as_array()
            .map(|s| s.iter().filter_map(|s| s["station"]["seat"].as_u64()).collect())
            .unwrap_or_default();
        if now == seats.iter().map(|s| u64::from(*s)).collect::<Vec<_>>() {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "the speakers never became {seats:?}: {}",
            state["floor"]["speakers"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_voice_mode_the_arrays_gates_open_and_close_the_microphones() {
    let cancel = CancellationToken::new();
    let mxa = SimMxa::new(4);
    let mxa_addr = mxa.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("tcp");
    let dir = tempfile::tempdir().expect("temp dir");
    let daemon = Daemon::with_config(dir.path(), &voice_room(&mxa_addr.to_string()));

    // Below the limit every one-seat zone listens; the zone of two seats cannot tell who
    // talks, so it follows the floor and stays muted.
    for channel in [1, 2, 3] {
        assert!(mxa.wait_for(PATIENCE, channel, false).await, "channel {channel} listens");
    }
    assert_eq!(mxa.muted(4), Some(true));

    // Anna talks: her gate opens, the floor gives her the microphone (voice mode).
    mxa.talk(2, true);
    let state = speakers(&daemon, &[2]).await;
    assert_eq!(state["floor"]["profile"]["mode"], "voice");
    // The limit (one delegate) is reached: Bernd's channel is muted, so he cannot be heard;
    // the chair's stays open.
    assert!(mxa.wait_for(PATIENCE, 3, true).await, "the other delegate's channel muted at the limit");
    assert_eq!((mxa.muted(1), mxa.muted(2)), (Some(false), Some(false)));
    mxa.talk(3, true);
    assert_eq!(mxa.gate(3), Some(false), "a muted channel hears nobody");
    // The chair talks as well: exempt from the limit.
    mxa.talk(1, true);
    speakers(&daemon, &[2, 1]).await;

    // Anna stops; after the release time her microphone closes by silence, and Bernd, who
    // was talking all along, is heard as soon as his channel opens.
    mxa.talk(2, false);
    speakers(&daemon, &[1, 3]).await;
    assert!(mxa.wait_for(PATIENCE, 2, true).await, "Anna's channel muted: the limit is reached again");
    mxa.talk(1, false);
    speakers(&daemon, &[3]).await;

    // The chair stops Bernd while he still talks: his channel is muted at once. A muted
    // channel's gate reports silence, so after the release time it listens again and Bernd,
    // still talking, is heard again: in voice mode a stop is a pause, as in the vox modes of
    // conference systems.
    command(&daemon, json!({"command": "stop", "station": {"seat": 3}})).await;
    speakers(&daemon, &[]).await;
    assert!(mxa.wait_for(PATIENCE, 3, true).await, "the stopped talker is muted");
    speakers(&daemon, &[3]).await;
    assert_eq!(mxa.muted(3), Some(false));
    mxa.talk(3, false);
    speakers(&daemon, &[]).await;
    mxa.talk(3, true);
    speakers(&daemon, &[3]).await;

    // The array goes away: nobody can be heard through it, so its talkers' microphones close.
    cancel.cancel();
    speakers(&daemon, &[]).await;
    device(&daemon, "ceiling", "the lost array", |h| h["connected"] == false).await;
}

fn presenting_room(beamer: &str, matrix_pty: &str, stream: &str) -> String {
    format!(
        r#"
[room]
id = "e2e-presentation"
name = "Presentation"

[web]
trust_loopback_as = "chair"

[discussion]
mode = "request"
max_open_microphones = 1

[[display]]
name = "beamer"
protocol = "pjlink"
tcp = "{beamer}"
password = "JBMIAProjectorLink"
power = true
default_input = "31"
conference_input = "52"

[[display]]
name = "matrix"
protocol = "extron"
serial = "{matrix_pty}"
outputs = [1, 2]
default_input = "1"
conference_input = "4"

[[display]]
name = "encoder"
protocol = "mdc"
tcp = "{stream}"
id = 1
power = true
feeds = "stream"
default_input = "hdmi1"
conference_input = "hdmi2"

[[presentation_source]]
name = "lectern"
label = "Laptop am Rednerpult"
inputs = [
    {{ display = "beamer", input = "32" }},
    {{ display = "matrix", input = "3" }},
    {{ display = "encoder", input = "hdmi3" }},
]

[[presentation_source]]
name = "doccam"
label = "Dokumentenkamera"
inputs = [{{ display = "matrix", input = "5" }}]

[[seat]]
number = 1
member = "chair"
[[seat]]
number = 2
member = "a"

[[member]]
id = "chair"
name = "Vorsitz"
role = "chair"
[[member]]
id = "a"
name = "Anna A"
[[member]]
id = "r1"
name = "Rita Remote"
remote_allowed = true
"#
    )
}

/// Waits until projector, matrix (both outputs) and the stream's display show these inputs.
async fn showing(
    beamer: &SimProjector,
    matrix: &SimMatrix,
    encoder: &SimDisplay,
    pjlink: &str,
    tie: u16,
    mdc: &str,
) {
    let mdc = podium_devices::mdc::codec::input_code(mdc).expect("an MDC input");
    assert!(
        beamer.wait_for(PATIENCE, |s| s.input == pjlink).await,
        "projector never showed {pjlink}: {:?}",
        beamer.status()
    );
    for output in [1, 2] {
        assert!(
            matrix.wait_for_tie(PATIENCE, output, tie).await,
            "matrix output {output} never carried {tie}"
        );
    }
    assert!(
        encoder.wait_for(PATIENCE, |s| s.input == mdc).await,
        "the stream's display never showed {mdc:#x}: {:?}",
        encoder.status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presentation_takes_the_screens_it_is_shown_on_and_survives_a_restart() {
    let cancel = CancellationToken::new();
    let beamer = SimProjector::new(Some("JBMIAProjectorLink"));
    let beamer_addr = beamer.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("tcp");
    let matrix = SimMatrix::new(8, 4);
    let matrix_path = matrix.serve_pty(cancel.clone()).expect("pty");
    let encoder = SimDisplay::new(1);
    let encoder_addr =
        encoder.serve_tcp("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("tcp");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = presenting_room(&beamer_addr.to_string(), &matrix_path, &encoder_addr.to_string());
    let mut daemon = Daemon::with_config(dir.path(), &config);
    showing(&beamer, &matrix, &encoder, "31", 1, "hdmi1").await;

    // The sources are in the state, for the consoles.
    let (_, state) = daemon.get("/api/v1/state").await;
    assert_eq!(state["presentation_sources"][1], json!({"name": "doccam", "label": "Dokumentenkamera"}));
    // An unknown source is refused with its reason.
    let (status, body) =
        daemon.command(json!({"command": "present", "source": "beamer", "on": "hall"})).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_source")), "{body}");

    // The laptop on the hall's screens: projector and matrix show it, the stream does not.
    command(&daemon, json!({"command": "present", "source": "lectern", "on": "hall"})).await;
    showing(&beamer, &matrix, &encoder, "32", 3, "hdmi1").await;
    // A remote member gets the floor: the floor switches only what is not presented on.
    command(&daemon, json!({"command": "join_remote", "participant": "r1"})).await;
    command(&daemon, json!({"command": "grant", "station": {"remote": "r1"}})).await;
    showing(&beamer, &matrix, &encoder, "32", 3, "hdmi2").await;
    // On the stream as well.
    command(&daemon, json!({"command": "present", "source": "lectern", "on": "both"})).await;
    showing(&beamer, &matrix, &encoder, "32", 3, "hdmi3").await;

    // podiumd restarts while presenting: the presentation is back, and the screens keep it
    // (a lost presentation would switch them to the conference at once).
    let (_, exit) = daemon.terminate();
    assert!(exit.success(), "{exit:?}");
    drop(daemon);
    let daemon = Daemon::with_config(dir.path(), &config);
    let (_, state) = daemon.get("/api/v1/state").await;
    assert_eq!(state["floor"]["presentation"]["source"], "lectern", "{}", state["floor"]);
    assert_eq!(state["floor"]["presentation"]["on"], "both");
    let wanted = |devices: &Value| devices["displays"].as_array().cloned().unwrap_or_default();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, devices) = daemon.get("/api/v1/devices/room").await;
        let inputs: Vec<Value> = wanted(&devices).iter().map(|d| d["input"].clone()).collect();
        if inputs == [json!("32"), json!("3"), json!("hdmi3")] {
            break;
        }
        assert!(Instant::now() < deadline, "after the restart the displays want {inputs:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    showing(&beamer, &matrix, &encoder, "32", 3, "hdmi3").await;

    // Another source replaces it; stopping returns every screen to the floor (the remote
    // member still speaks: the conference).
    command(&daemon, json!({"command": "present", "source": "doccam", "on": "hall"})).await;
    showing(&beamer, &matrix, &encoder, "52", 5, "hdmi2").await;
    command(&daemon, json!({"command": "stop_presenting"})).await;
    showing(&beamer, &matrix, &encoder, "52", 4, "hdmi2").await;
    let (status, body) = daemon.command(json!({"command": "stop_presenting"})).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("not_presenting")), "{body}");
    cancel.cancel();
}
