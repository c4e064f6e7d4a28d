//! End to end through the real daemon: the journal, restart recovery, minutes export,
//! faults (kill -9, full or read-only store, damaged tail), floods, systemd notifications.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use podium_floor::{Event, FloorState};
use serde_json::{Value, json};
use support::{SseClient, podiumd};

/// A room for these tests: 12 seats (seat 1: the chair), three members who may join
/// remotely, API clients on loopback act as the chair.
fn room_toml(journal: &Path, speaking_time: &str) -> String {
    let mut toml = format!(
        "[room]\nid = \"faultroom\"\nname = \"Fault room\"\n\n[web]\ntrust_loopback_as = \"chair\"\n\n\
         [discussion]\nmode = \"request\"\nmax_open_microphones = 2\nmax_requests = 50\n\n\
         [discussion.speaking_time]\n{speaking_time}\n\n[journal]\npath = {:?}\nretention_days = 30\n\n",
        journal.display().to_string()
    );
    for n in 1..=12 {
        toml.push_str(&format!("[[seat]]\nnumber = {n}\nmember = \"m{n}\"\n\n"));
    }
    for n in 1..=12 {
        let role = if n == 1 { "chair" } else { "member" };
        toml.push_str(&format!(
            "[[member]]\nid = \"m{n}\"\nname = \"Member {n}\"\ngroup = \"G{}\"\nrole = \"{role}\"\n\n",
            n % 3
        ));
    }
    for r in 1..=3 {
        toml.push_str(&format!(
            "[[member]]\nid = \"r{r}\"\nname = \"Remote {r}\"\nremote_allowed = true\n\n"
        ));
    }
    toml
}

const NO_LIMIT: &str = "warning = \"0:30\"\non_expiry = \"continue\"";

/// A test room on disk: its directory, configuration and journal.
struct Room {
    dir: tempfile::TempDir,
    config: PathBuf,
    journal: PathBuf,
}

impl Room {
    fn new(speaking_time: &str) -> Room {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal = dir.path().join("state").join("journal.sqlite3");
        let config = dir.path().join("room.toml");
        std::fs::write(&config, room_toml(&journal, speaking_time)).expect("write config");
        Room { dir, config, journal }
    }

    fn start(&self) -> Podiumd {
        Podiumd::spawn(Command::new(podiumd()), &self.config, &[])
    }

    /// Starts podiumd with a file-size limit (as a full disk would act on its files).
    fn start_with_file_limit(&self, kib: u64) -> Podiumd {
        let mut command = Command::new("sh");
        // An ignored SIGXFSZ stays ignored across exec: writes then fail with EFBIG.
        command.arg("-c").arg(format!("trap '' XFSZ; ulimit -S -f {kib}; exec \"$0\" \"$@\"")).arg(podiumd());
        Podiumd::spawn(command, &self.config, &[])
    }

    fn wal(&self) -> PathBuf {
        let mut name = self.journal.as_os_str().to_owned();
        name.push("-wal");
        PathBuf::from(name)
    }
}

/// A running podiumd; killed (SIGKILL) when dropped.
struct Podiumd {
    child: Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

impl Podiumd {
    fn spawn(mut command: Command, config: &Path, env: &[(&str, &str)]) -> Podiumd {
        command
            .args(["run", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start podiumd");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("podiumd: {line}");
                sink.lock().expect("log").push(line);
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next().expect("podiumd exited before listening").expect("read stdout");
            if let Some(url) = line.strip_prefix("podiumd listening on ") {
                break url.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Podiumd { child, base, log, http: reqwest::Client::new() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn logged(&self, needle: &str) -> bool {
        self.log.lock().expect("log").iter().any(|line| line.contains(needle))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(self.url(path)).send().await.expect("GET");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get_text(&self, path: &str) -> (u16, String, String) {
        let response = self.http.get(self.url(path)).send().await.expect("GET");
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, kind, response.text().await.expect("body"))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.http.post(self.url(path)).json(&body).send().await.expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn command(&self, command: Value) -> (u16, Value) {
        self.post("/api/v1/commands", command).await
    }

    async fn state(&self) -> Value {
        let (status, state) = self.get("/api/v1/state").await;
        assert_eq!(status, 200, "{state}");
        state
    }

    async fn diagnostics(&self) -> Value {
        let (status, diagnostics) = self.get("/api/v1/diagnostics").await;
        assert_eq!(status, 200, "{diagnostics}");
        diagnostics
    }

    async fn open_meeting(&self, title: &str) -> i64 {
        let (status, meeting) = self.post("/api/v1/meetings", json!({ "title": title })).await;
        assert_eq!(status, 201, "{meeting}");
        meeting["id"].as_i64().expect("meeting id")
    }

    /// Waits (bounded) until the journal's state is `state`.
    async fn wait_for_journal(&self, state: &str) -> Value {
        for _ in 0..200 {
            let diagnostics = self.diagnostics().await;
            if diagnostics["journal"]["state"] == state {
                return diagnostics;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the journal did not become {state} within 10 s: {}", self.diagnostics().await);
    }

    fn kill9(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("wait");
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Podiumd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `count` events after `since` from the event stream (a backlog from the journal
/// after a restart).
async fn events_after(daemon: &Podiumd, since: u64, count: u64) -> Vec<Value> {
    let mut client = SseClient::connect(&daemon.url("/api/v1/events"), Some(since)).await;
    let mut events = Vec::new();
    while (events.len() as u64) < count {
        let event = client.next().await;
        assert_eq!(event.event, "floor", "a backlog, not a snapshot: {:?}", event.data);
        events.push(event.data);
    }
    events
}

/// The floor state after applying `events` to `state` (the engine's own apply).
fn apply(state: &Value, events: &[Value], snapshot: &Value) -> Value {
    let mut floor: FloorState = serde_json::from_value(state.clone()).expect("floor state");
    let groups: BTreeMap<String, Option<String>> = snapshot["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| (p["id"].as_str().unwrap_or_default().to_string(), p["group"].as_str().map(str::to_string)))
        .collect();
    for event in events {
        let event: Event = serde_json::from_value(event.clone()).expect("event");
        floor.apply(&event, |id| groups.get(id).cloned().flatten());
    }
    serde_json::to_value(floor).expect("json")
}

/// A small deterministic generator (xorshift), seeded from the environment or the clock.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed =
            std::env::var("PODIUM_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("fault test seed: {seed} (set PODIUM_FAULT_SEED to repeat)");
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A plausible command of a council session (many are rejected by the rules; that is fine).
fn scripted_command(rng: &mut Rng) -> Value {
    let seat = 2 + rng.below(11);
    let remote = format!("r{}", 1 + rng.below(3));
    match rng.below(20) {
        0..=5 => {
            let kind = ["ordinary", "ordinary", "ordinary", "point_of_order", "reply"][rng.below(5) as usize];
            json!({"command": "request", "station": {"seat": seat}, "kind": kind})
        }
        6 | 7 => json!({"command": "next"}),
        8 => json!({"command": "grant", "station": {"seat": seat}}),
        9 | 10 => json!({"command": "stop", "station": {"seat": seat}}),
        11 => json!({"command": "withdraw", "station": {"seat": seat}}),
        12 => json!({"command": "pause_speaker", "station": {"seat": seat}}),
        13 => json!({"command": "resume_speaker", "station": {"seat": seat}}),
        14 => json!({"command": "set_list_open", "open": rng.below(3) != 0}),
        15 => json!({"command": "join_remote", "participant": remote}),
        16 => json!({"command": "request", "station": {"remote": remote}}),
        17 => json!({"command": "leave_remote", "participant": remote}),
        18 => json!({"command": "move_request", "station": {"seat": seat}, "position": 1 + rng.below(3)}),
        _ => json!({"command": "stop_all"}),
    }
}

/// Records the events of an accepted command; returns whether it was accepted.
fn note_acknowledged(acked: &mut BTreeMap<u64, Value>, status: u16, body: &Value) {
    assert!(matches!(status, 200 | 404 | 409), "unexpected answer {status}: {body}");
    if status == 200 {
        for event in body["events"].as_array().expect("events") {
            let seq = event["seq"].as_u64().expect("seq");
            assert!(acked.insert(seq, event.clone()).is_none(), "event {seq} acknowledged twice");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_loses_nothing_and_applies_nothing_twice() {
    let room = Room::new(NO_LIMIT);
    let mut rng = Rng::new();
    let mut daemon = room.start();
    daemon.open_meeting("Fault test").await;
    let mut acked: BTreeMap<u64, Value> = BTreeMap::new();
    let mut in_flight_applied = 0;
    for round in 0..50 {
        for _ in 0..rng.below(6) {
            let (status, body) = daemon.command(scripted_command(&mut rng)).await;
            note_acknowledged(&mut acked, status, &body);
        }
        let before = daemon.state().await;
        let in_flight = rng.below(2) == 0;
        let mut flying = None;
        if in_flight {
            // Kill while a command is on its way: before, during or after its write.
            let command = scripted_command(&mut rng);
            let url = daemon.url("/api/v1/commands");
            let http = daemon.http.clone();
            flying = Some(tokio::spawn(async move {
                let response = http.post(url).json(&command).send().await.ok()?;
                let status = response.status().as_u16();
                Some((status, response.json::<Value>().await.ok()?))
            }));
            std::thread::sleep(Duration::from_micros(rng.below(4000)));
        }
        daemon.kill9();
        if let Some(flying) = flying
            && let Ok(Some((status, body))) =
                tokio::time::timeout(Duration::from_secs(10), flying).await.expect("task")
        {
            note_acknowledged(&mut acked, status, &body);
        }

        daemon = room.start();
        let after = daemon.state().await;
        let (before_seq, after_seq) =
            (before["floor"]["seq"].as_u64().expect("seq"), after["floor"]["seq"].as_u64().expect("seq"));
        let last_acked = acked.keys().next_back().copied().unwrap_or(0);
        assert!(
            after_seq >= last_acked,
            "round {round}: acknowledged event {last_acked} lost (restored {after_seq})"
        );
        if after_seq == before_seq {
            assert_eq!(after["floor"], before["floor"], "round {round}: the floor differs after the restart");
        } else {
            // Only the command in flight may have made it to disk without an answer.
            assert!(in_flight && after_seq > before_seq, "round {round}: {before_seq} → {after_seq}");
            let extra = events_after(&daemon, before_seq, after_seq - before_seq).await;
            assert_eq!(
                apply(&before["floor"], &extra, &before),
                after["floor"],
                "round {round}: replay differs"
            );
            in_flight_applied += 1;
        }
        let diagnostics = daemon.diagnostics().await;
        assert_eq!(diagnostics["journal"]["state"], "ok", "round {round}: {diagnostics}");
        assert_eq!(diagnostics["journal"]["recovery"]["restored_seq"], after_seq);
    }
    // The whole record: gap-free, every acknowledged event exactly as acknowledged.
    let last = daemon.state().await["floor"]["seq"].as_u64().expect("seq");
    let history = events_after(&daemon, 0, last).await;
    for (i, event) in history.iter().enumerate() {
        assert_eq!(event["seq"], i as u64 + 1, "the record has a gap or a duplicate");
    }
    for (seq, event) in &acked {
        assert_eq!(&history[(*seq - 1) as usize], event, "acknowledged event {seq} differs in the record");
    }
    let replayed = apply(
        &serde_json::to_value(initial_floor(&daemon).await).expect("json"),
        &history,
        &daemon.state().await,
    );
    assert_eq!(replayed, daemon.state().await["floor"], "replaying the record gives the state");
    eprintln!(
        "50 kills: {} events acknowledged, {last} recorded, {in_flight_applied} unanswered commands made it to disk",
        acked.len()
    );
}

/// The floor at the meeting's opening (seq 0): the configured seating, nothing else.
async fn initial_floor(daemon: &Podiumd) -> FloorState {
    let snapshot = daemon.state().await;
    let setup = podium_floor::Setup {
        voting: Default::default(),
        presentation_sources: Vec::new(),
        seats: serde_json::from_value(snapshot["seats"].clone()).expect("seats"),
        participants: serde_json::from_value(snapshot["participants"].clone()).expect("participants"),
        profile: serde_json::from_value(snapshot["floor"]["profile"].clone()).expect("profile"),
    };
    podium_floor::Floor::new(setup).state().clone()
}

#[tokio::test]
async fn speaking_timers_stay_right_across_a_restart() {
    let room = Room::new("turn_limit = 3\nwarning = 1\non_expiry = \"cut_off\"");
    let mut daemon = room.start();
    daemon.open_meeting("Timers").await;
    daemon.command(json!({"command": "request", "station": {"seat": 4}})).await;
    let (status, body) = daemon.command(json!({"command": "next"})).await;
    assert_eq!(status, 200, "{body}");
    let before = daemon.state().await;
    let started = before["floor"]["speakers"][0]["started_at"].clone();
    daemon.kill9();
    // The daemon is down for a while; the wall clock runs on, and so does the speaking time.
    std::thread::sleep(Duration::from_millis(1500));
    let daemon = room.start();
    let after = daemon.state().await;
    let seq = after["floor"]["seq"].as_u64().expect("seq");
    if let Some(speaker) = after["floor"]["speakers"].as_array().and_then(|s| s.first()) {
        assert_eq!(speaker["started_at"], started, "the turn keeps its start");
    }
    // Wait for the cut-off (it may already have happened at the restart).
    let since = before["floor"]["seq"].as_u64().expect("seq");
    let mut client = SseClient::connect(&daemon.url("/api/v1/events"), Some(since)).await;
    let (mut expired, mut closed) = (None, None);
    while closed.is_none() {
        let event = client.next().await;
        match event.data["change"]["type"].as_str() {
            Some("time_expired") => expired = Some(event.data),
            Some("microphone_closed") => closed = Some(event.data),
            _ => {}
        }
    }
    let (expired, closed) = (expired.expect("expiry before the cut-off"), closed.expect("closed"));
    let mono = |v: &Value| v["mono_ms"].as_i64().expect("mono");
    let unix = |v: &Value| v["unix_ms"].as_i64().expect("unix");
    assert!(mono(&expired["at"]) - mono(&started) >= 3000, "never early: {expired}");
    assert_eq!(closed["change"]["closed_by"], "timer");
    assert!(closed["change"]["spoken_ms"].as_u64().expect("spoken") >= 3000);
    // The clock rule: across the restart engine time advanced with the wall clock, so the
    // downtime counted against the turn (without it the expiry would come 1.5 s late).
    let wall = unix(&expired["at"]) - unix(&started);
    let engine = mono(&expired["at"]) - mono(&started);
    assert!((wall - engine).abs() < 1000, "wall {wall} ms vs engine {engine} ms across the restart");
    assert!(seq >= since);
}

#[tokio::test]
async fn a_full_disk_degrades_loudly_and_the_room_keeps_working() {
    let room = Room::new(NO_LIMIT);
    let mut daemon = room.start_with_file_limit(400);
    daemon.open_meeting("Full disk").await;
    // Fill the store: each command's commit grows the write-ahead log.
    let mut seat = 2;
    let mut degraded = false;
    for _ in 0..600 {
        let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": seat}})).await;
        assert!(status == 200 || status == 409, "the room keeps answering: {status} {body}");
        let (status, body) = daemon.command(json!({"command": "withdraw", "station": {"seat": seat}})).await;
        assert!(status == 200 || status == 409, "{status} {body}");
        seat = if seat == 12 { 2 } else { seat + 1 };
        let (_, health) = daemon.get("/healthz").await;
        if health["journal"] == "degraded" {
            assert_eq!(health["status"], "degraded");
            degraded = true;
            break;
        }
    }
    assert!(degraded, "the journal never reported the full store");
    let diagnostics = daemon.diagnostics().await;
    assert!(diagnostics["journal"]["error"].as_str().is_some_and(|e| !e.is_empty()), "{diagnostics}");
    assert!(daemon.logged("JOURNAL WRITE FAILED"), "the failure is logged loudly");
    // The room keeps working while the journal cannot write.
    let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": 7}})).await;
    assert!(status == 200 || status == 409, "{status} {body}");
    daemon.command(json!({"command": "next"})).await;
    let unwritten = daemon.diagnostics().await["journal"]["unwritten_events"].as_u64().expect("count");
    assert!(unwritten > 0, "events wait for the disk");
    // Space again: the writer retries and writes everything, in order.
    let status = Command::new("prlimit")
        .arg(format!("--pid={}", daemon.pid()))
        .arg("--fsize=unlimited")
        .status()
        .expect("prlimit");
    assert!(status.success());
    let diagnostics = daemon.wait_for_journal("ok").await;
    assert_eq!(diagnostics["journal"]["unwritten_events"], 0);
    let before = daemon.state().await;
    daemon.kill9();
    let daemon = room.start();
    assert_eq!(daemon.state().await["floor"], before["floor"], "nothing applied while degraded was lost");
}

/// Makes files immutable (even root cannot write them) and undoes it when dropped.
struct Immutable(Vec<PathBuf>);

impl Immutable {
    fn set(paths: Vec<PathBuf>) -> Immutable {
        for path in &paths {
            let status = Command::new("chattr").arg("+i").arg(path).status().expect("chattr");
            assert!(status.success(), "chattr +i {} (needs root and ext4 or similar)", path.display());
        }
        Immutable(paths)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = Command::new("chattr").arg("-i").arg(path).status();
        }
    }
}

#[tokio::test]
async fn a_read_only_store_degrades_loudly_and_recovers() {
    let room = Room::new(NO_LIMIT);
    let mut daemon = room.start();
    // Outside a meeting the floor is recorded too, and the answer says so.
    let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": 3}})).await;
    assert_eq!((status, body["durability"].as_str()), (200, Some("written")), "{body}");
    daemon.open_meeting("Read-only").await;
    // A repeated request changes nothing; in a recorded meeting that is as written as the floor.
    let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": 3}})).await;
    assert_eq!((status, body["durability"].as_str()), (200, Some("written")), "{body}");
    let (_, body) = daemon.command(json!({"command": "request", "station": {"seat": 9}})).await;
    assert_eq!(body["durability"], "written", "{body}");
    daemon.command(json!({"command": "withdraw", "station": {"seat": 9}})).await;
    let state_dir = room.journal.parent().expect("dir").to_path_buf();
    let lock = Immutable::set(vec![room.journal.clone(), room.wal(), state_dir]);
    for seat in 4..=8 {
        let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": seat}})).await;
        assert_eq!(status, 200, "applied although the store is read-only: {body}");
        // Applied, not on disk: the answer must not pass it off as recorded.
        assert_eq!(body["durability"], "not_durable", "{body}");
    }
    let diagnostics = daemon.wait_for_journal("degraded").await;
    assert!(diagnostics["journal"]["unwritten_events"].as_u64().expect("count") >= 1);
    assert!(daemon.logged("JOURNAL WRITE FAILED"));
    let (_, health) = daemon.get("/healthz").await;
    assert_eq!((health["status"].as_str(), health["journal"].as_str()), (Some("degraded"), Some("degraded")));
    drop(lock);
    daemon.wait_for_journal("ok").await;
    let (_, body) = daemon.command(json!({"command": "request", "station": {"seat": 10}})).await;
    assert_eq!(body["durability"], "written", "{body}");
    let before = daemon.state().await;
    assert_eq!(before["floor"]["requests"].as_array().map(Vec::len), Some(7));
    daemon.kill9();
    let daemon = room.start();
    assert_eq!(daemon.state().await["floor"], before["floor"]);
}

#[tokio::test]
async fn a_journal_opened_read_only_at_start_recovers_once_writable() {
    let room = Room::new(NO_LIMIT);
    let mut daemon = room.start();
    daemon.open_meeting("Read-only from the start").await;
    daemon.command(json!({"command": "request", "station": {"seat": 3}})).await;
    daemon.kill9();
    // The store exists but cannot be written when the daemon starts (e.g. a read-only mount).
    let state_dir = room.journal.parent().expect("dir").to_path_buf();
    let files: Vec<PathBuf> = [room.journal.clone(), room.wal(), state_dir]
        .into_iter()
        .chain(
            std::fs::read_dir(room.journal.parent().expect("dir"))
                .expect("dir")
                .map(|e| e.expect("entry").path()),
        )
        .filter(|p| p.exists())
        .collect();
    let lock = Immutable::set(files);
    let mut daemon = room.start();
    let diagnostics = daemon.wait_for_journal("degraded").await;
    assert!(diagnostics["journal"]["error"].to_string().contains("read-only"), "{diagnostics}");
    assert_eq!(daemon.state().await["floor"]["requests"].as_array().map(Vec::len), Some(1), "restored");
    let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": 4}})).await;
    assert_eq!((status, body["durability"].as_str()), (200, Some("not_durable")), "{body}");
    drop(lock);
    // Writable again: the writer reopens the store by itself and writes what waited.
    let diagnostics = daemon.wait_for_journal("ok").await;
    assert_eq!(diagnostics["journal"]["unwritten_events"], 0, "{diagnostics}");
    assert!(daemon.logged("can be written again"), "the recovery is logged");
    let (_, body) = daemon.command(json!({"command": "request", "station": {"seat": 5}})).await;
    assert_eq!(body["durability"], "written", "{body}");
    let before = daemon.state().await;
    daemon.kill9();
    let daemon = room.start();
    assert_eq!(daemon.state().await["floor"], before["floor"], "nothing applied while read-only was lost");
}

#[tokio::test]
async fn a_damaged_journal_tail_is_recovered_up_to_the_last_good_record() {
    let room = Room::new(NO_LIMIT);
    let mut daemon = room.start();
    daemon.open_meeting("Damage").await;
    let mut states = Vec::new();
    for seat in 2..=9 {
        let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": seat}})).await;
        assert_eq!(status, 200, "{body}");
        states.push(daemon.state().await);
    }
    daemon.kill9();
    // A torn write at the very end of the write-ahead log (one byte of the last frame).
    let mut wal = std::fs::read(room.wal()).expect("write-ahead log after kill -9");
    let at = wal.len() - 100;
    wal[at] ^= 0x5a;
    std::fs::write(room.wal(), &wal).expect("write");

    let mut daemon = room.start();
    let restored = daemon.state().await;
    let previous = &states[states.len() - 2];
    assert_eq!(restored["floor"], previous["floor"], "recovered up to the last intact commit");
    let diagnostics = daemon.diagnostics().await;
    let warnings = diagnostics["journal"]["recovery"]["warnings"].to_string();
    assert!(warnings.contains("damaged tail"), "{warnings}");
    // The log is read from the daemon's output by another thread: give it a moment.
    let mut logged = false;
    for _ in 0..100 {
        logged = daemon.logged("damaged tail");
        if logged {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(logged, "the damage is logged");
    let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": 12}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["seq"], previous["floor"]["seq"].as_u64().expect("seq") + 1, "numbering continues");

    // A record that no longer parses: recovery stops before it, the rest is discarded.
    let seq = body["seq"].as_u64().expect("seq");
    daemon.kill9();
    {
        let db = rusqlite::Connection::open(&room.journal).expect("open journal");
        let changed = db
            .execute("UPDATE event SET change = '{\"type\":\"garbage' WHERE seq = ?1", [seq as i64 - 2])
            .expect("damage a record");
        assert_eq!(changed, 1);
    }
    let daemon = room.start();
    assert_eq!(daemon.state().await["floor"]["seq"], seq - 3);
    let report = &daemon.diagnostics().await["journal"]["recovery"];
    assert_eq!(report["discarded_events"], 3, "{report}");
    assert!(report["warnings"].to_string().contains("unreadable"), "{report}");
    let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": 11}})).await;
    assert_eq!((status, body["seq"].as_u64()), (200, Some(seq - 2)), "{body}");
}

#[tokio::test]
async fn meetings_minutes_export_and_retention() {
    let room = Room::new(NO_LIMIT);
    let mut daemon = room.start();
    let (status, meetings) = daemon.get("/api/v1/meetings").await;
    assert_eq!((status, meetings), (200, json!([])));
    let id = daemon.open_meeting("Stadtrat, 12. Sitzung").await;
    let (status, error) = daemon.post("/api/v1/meetings", json!({"title": "second"})).await;
    assert_eq!((status, error["error"].as_str()), (409, Some("meeting_already_open")));
    for command in [
        json!({"command": "request", "station": {"seat": 5}}),
        json!({"command": "request", "station": {"seat": 6}, "kind": "point_of_order"}),
        json!({"command": "next"}),
        json!({"command": "pause_speaker", "station": {"seat": 6}}),
        json!({"command": "resume_speaker", "station": {"seat": 6}}),
        json!({"command": "stop", "station": {"seat": 6}}),
        json!({"command": "withdraw", "station": {"seat": 5}}),
    ] {
        let (status, body) = daemon.command(command).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, minutes) = daemon.get(&format!("/api/v1/meetings/{id}/minutes")).await;
    assert_eq!(status, 200, "{minutes}");
    let rows = minutes["speakers"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["station"], "seat 5");
    assert_eq!(rows[0]["request_outcome"], "removed_by_chair", "withdrawn through the chair's API");
    assert_eq!(rows[1]["kind"], "point_of_order");
    assert_eq!(
        (rows[1]["granted_by"].as_str(), rows[1]["closed_by"].as_str()),
        (Some("chair"), Some("chair"))
    );
    assert_eq!((rows[1]["name"].as_str(), rows[1]["pauses"].as_u64()), (Some("Member 6"), Some(1)));

    let (status, kind, csv) = daemon.get_text(&format!("/api/v1/meetings/{id}/minutes?format=csv")).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("meeting,row,station,participant,name,group,kind"));
    // The last column, the hand's time in the conference, is empty for a request from a desk.
    assert!(lines[2].contains("point_of_order") && lines[2].ends_with("\"Stadtrat, 12. Sitzung\","), "{csv}");
    let (status, error) = daemon.get(&format!("/api/v1/meetings/{id}/minutes?format=pdf")).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_format")));
    let (status, _) = daemon.get("/api/v1/meetings/999/minutes").await;
    assert_eq!(status, 404);

    // `podiumd export` reads the same journal (read-only, while the daemon runs).
    let export = Command::new(podiumd())
        .args(["export", "--journal"])
        .arg(&room.journal)
        .args(["--meeting", &id.to_string(), "--format", "csv"])
        .output()
        .expect("export");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    assert_eq!(String::from_utf8_lossy(&export.stdout), csv);
    let json_export =
        Command::new(podiumd()).args(["export", "--journal"]).arg(&room.journal).output().expect("export");
    let exported: Value = serde_json::from_slice(&json_export.stdout).expect("JSON export");
    assert_eq!(exported["speakers"], minutes["speakers"], "default: the latest meeting as JSON");
    let missing = Command::new(podiumd())
        .args(["export", "--journal"])
        .arg(room.dir.path().join("nothing.sqlite3"))
        .output()
        .expect("export");
    assert!(!missing.status.success());

    let (status, closed) = daemon.post(&format!("/api/v1/meetings/{id}/close"), json!({})).await;
    assert_eq!((status, closed["open"].as_bool()), (200, Some(false)), "{closed}");
    let (status, error) = daemon.post(&format!("/api/v1/meetings/{id}/close"), json!({})).await;
    assert_eq!((status, error["error"].as_str()), (409, Some("meeting_not_open")));
    let second = daemon.open_meeting("Ausschuss").await;
    assert!(second > id);
    daemon.post(&format!("/api/v1/meetings/{second}/close"), json!({})).await;

    // Retention: the first meeting was closed 31 days ago (retention_days = 30).
    daemon.kill9();
    let run = {
        let db = rusqlite::Connection::open(&room.journal).expect("open journal");
        let month_ago = closed["closed_unix_ms"].as_i64().expect("closed") - 31 * 86_400_000;
        db.execute("UPDATE meeting SET closed_unix_ms = ?1 WHERE id = ?2", [month_ago, id]).expect("age");
        db.query_row("SELECT run_id FROM meeting WHERE id = ?1", [id], |row| row.get::<_, i64>(0))
            .expect("run")
    };
    let daemon = room.start();
    let diagnostics = daemon.wait_for_retention().await;
    assert_eq!(diagnostics["journal"]["retention"]["deleted_meetings"], 1);
    let (_, meetings) = daemon.get("/api/v1/meetings").await;
    let ids: Vec<i64> = meetings.as_array().expect("list").iter().filter_map(|m| m["id"].as_i64()).collect();
    assert_eq!(ids, vec![second], "the old meeting is gone, the recent one stays");
    let db = rusqlite::Connection::open(&room.journal).expect("open journal");
    let left: i64 =
        db.query_row("SELECT count(*) FROM event WHERE run_id = ?1", [run], |row| row.get(0)).expect("count");
    assert_eq!(left, 0, "its events are deleted too");
    let runs: i64 =
        db.query_row("SELECT count(*) FROM run WHERE id = ?1", [run], |row| row.get(0)).expect("count");
    assert_eq!(runs, 0, "and the run it was held in");
}

impl Podiumd {
    async fn wait_for_retention(&self) -> Value {
        for _ in 0..200 {
            let diagnostics = self.diagnostics().await;
            if !diagnostics["journal"]["retention"]["last_run_unix_ms"].is_null() {
                return diagnostics;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("retention did not run at start");
    }
}

#[tokio::test]
async fn a_flooding_client_is_rate_limited_and_others_are_served() {
    let room = Room::new(NO_LIMIT);
    let daemon = room.start();
    let flooder = reqwest::Client::builder()
        .local_address(Some("127.0.0.2".parse::<IpAddr>().expect("ip")))
        .build()
        .expect("client");
    let url = daemon.url("/api/v1/commands");
    let flood = {
        let url = url.clone();
        tokio::spawn(async move {
            let mut limited = 0u64;
            for _ in 0..600 {
                let response = flooder
                    .post(&url)
                    .json(&json!({"command": "request", "station": {"seat": 9}}))
                    .send()
                    .await
                    .expect("flood");
                if response.status().as_u16() == 429 {
                    let body: Value = response.json().await.expect("json");
                    assert_eq!(body["error"], "rate_limited");
                    limited += 1;
                }
            }
            limited
        })
    };
    for seat in 2..=8 {
        let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": seat}})).await;
        assert_eq!(status, 200, "the calm client is served during the flood: {body}");
    }
    let limited = flood.await.expect("flood");
    assert!(limited > 0, "the flood was limited");
    let diagnostics = daemon.diagnostics().await;
    let sources = diagnostics["sources"].as_array().expect("sources");
    let find = |name: &str| sources.iter().find(|s| s["source"] == name).cloned().expect(name);
    let flood_stats = find("api:127.0.0.2");
    assert_eq!(flood_stats["limited"], limited);
    assert_eq!(flood_stats["accepted"].as_u64().expect("count") + limited, 600);
    assert_eq!(find("api:127.0.0.1")["limited"], 0);
}

#[test]
fn systemd_ready_watchdog_stopping_and_a_flushed_journal() {
    use std::os::unix::net::UnixDatagram;
    let room = Room::new(NO_LIMIT);
    let socket_path = room.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind");
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let socket_env = socket_path.to_str().expect("utf-8").to_owned();
    let daemon = Podiumd::spawn(
        Command::new(podiumd()),
        &room.config,
        &[("NOTIFY_SOCKET", &socket_env), ("WATCHDOG_USEC", "200000")],
    );
    let mut received = String::new();
    let mut buf = [0u8; 4096];
    let mut watchdogs = 0;
    while watchdogs < 3 {
        let n = socket.recv(&mut buf).expect("a notification within 10 s");
        let message = String::from_utf8_lossy(&buf[..n]).into_owned();
        if message.contains("WATCHDOG=1") {
            assert!(received.contains("READY=1"), "READY comes first: {received}");
            watchdogs += 1;
        }
        received.push_str(&message);
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        daemon.open_meeting("Flush").await;
        for seat in 2..=4 {
            let (status, _) = daemon.command(json!({"command": "request", "station": {"seat": seat}})).await;
            assert_eq!(status, 200);
        }
    });
    let status = Command::new("kill").arg("-TERM").arg(daemon.pid().to_string()).status().expect("kill");
    assert!(status.success());
    loop {
        let n = socket.recv(&mut buf).expect("STOPPING within 10 s");
        if String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1") {
            break;
        }
    }
    let mut daemon = daemon;
    let exit = daemon.child.wait().expect("exit");
    assert!(exit.success(), "{exit:?}");
    // The journal was flushed and its write-ahead log folded in at shutdown.
    let wal_len = std::fs::metadata(room.wal()).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the write-ahead log is checkpointed at shutdown");
    let db = rusqlite::Connection::open(&room.journal).expect("open journal");
    let events: i64 = db.query_row("SELECT count(*) FROM event", [], |row| row.get(0)).expect("count");
    assert_eq!(events, 4, "the meeting's opening (phase) and the three commands");
}

#[tokio::test]
async fn the_demo_keeps_its_journal_in_memory_unless_told() {
    let mut demo = support::Daemon::demo();
    let (status, meeting) = demo.post_raw("/api/v1/meetings", json!({"title": "Demo"}).to_string()).await;
    assert_eq!(status, 201, "{meeting}");
    let (_, diagnostics) = demo.get("/api/v1/diagnostics").await;
    assert_eq!(diagnostics["journal"]["location"], ":memory:");
    assert_eq!(diagnostics["journal"]["state"], "ok");
    demo.terminate();

    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("demo.sqlite3");
    let journal_arg = journal.to_str().expect("utf-8");
    let demo = support::Daemon::start(&[
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--mqtt-listen",
        "127.0.0.1:0",
        "--journal",
        journal_arg,
    ]);
    let (status, _) = demo.post_raw("/api/v1/meetings", json!({"title": "Demo"}).to_string()).await;
    assert_eq!(status, 201);
    assert!(journal.exists(), "the demo journal is a file when --journal is given");
}
