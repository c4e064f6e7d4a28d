//! Benchmark (not a test): a vote of a large hybrid council through the real `podiumd`.
//! 1,500 members at Podium desk units on 47 Modbus RTU buses of up to 32 units (115200 baud,
//! each bus a real pseudo-terminal played by Podium's desk-unit simulator in this process),
//! 300 remote members voting through their personal links (HTTP, bearer token), 200
//! event-stream clients (consoles, displays). A meeting is open, so every ballot is durable
//! in the journal before anyone hears of it.
//!
//! Per round: an open vote opens; every desk unit's vote key goes down at once and every
//! remote member posts a ballot at the same moment. Measured:
//! - the time to collect all 1,500 desk votes (first key down → the last desk ballot seen
//!   on an event stream), beside the buses' own cycle: the wire time of one poll cycle of
//!   32 units at 115200 baud (computed from the frame lengths and the t3.5 silences) and
//!   the cycle the buses actually ran (from their counters);
//! - from the last ballot to the result: the chair closes the vote as soon as the last
//!   ballot is seen; the time until each of the 200 clients has the result (`vote_closed`),
//!   beside the raw loopback round trip measured in the same run.
//!
//! Run: `cargo bench -p podium-host --bench vote_result` (add `-- --samples 5`).

#[path = "../../tests/bench/report.rs"]
mod report;
#[path = "../../tests/e2e/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use podium_devices::modbus::desk::DeskKey;
use podium_devices::modbus::sim::SimBus;
use report::{Kind, Report};
use serde_json::json;
use sha2::{Digest, Sha256};
use support::{Daemon, SseClient};
use tokio_util::sync::CancellationToken;

const BUSES: usize = 47;
const UNITS_PER_BUS: usize = 32;
const DESK_MEMBERS: usize = 1_500;
const REMOTE_MEMBERS: usize = 300;
const CLIENTS: usize = 200;
const BAUD: u32 = 115_200;
/// Generous bound on a loaded machine; never a performance goal.
const PATIENCE: Duration = Duration::from_secs(60);

fn samples() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == "--samples").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(3)
}

/// Seat `s` (1-based) is unit `(s - 1) % 32 + 1` on bus `(s - 1) / 32`.
fn place(seat: usize) -> (usize, u8) {
    ((seat - 1) / UNITS_PER_BUS, ((seat - 1) % UNITS_PER_BUS + 1) as u8)
}

fn token(i: usize) -> String {
    format!("bench-remote-member-token-{i:04}-abcdefghijklmnop")
}

fn room(paths: &[String]) -> String {
    let mut toml = String::from(
        "[room]\nid = \"bench\"\nname = \"Vote, 1,800 members\"\n\n[web]\ntrust_loopback_as = \"chair\"\n\
         display_public = true\n\n[discussion]\nmode = \"request\"\n\n",
    );
    for (bus, path) in paths.iter().enumerate() {
        toml.push_str(&format!(
            "[[bus]]\nid = \"b{bus}\"\npath = \"{path}\"\nbaud = {BAUD}\ndesk_units = [\n"
        ));
        for seat in (1..=DESK_MEMBERS).filter(|s| place(*s).0 == bus) {
            toml.push_str(&format!("    {{ unit = {}, seat = {seat} }},\n", place(seat).1));
        }
        toml.push_str("]\n\n");
    }
    for seat in 1..=DESK_MEMBERS {
        toml.push_str(&format!(
            "[[seat]]\nnumber = {seat}\nmember = \"m{seat}\"\n[[member]]\nid = \"m{seat}\"\nname = \"Member {seat}\"\n\n"
        ));
    }
    for i in 1..=REMOTE_MEMBERS {
        let digest: String = Sha256::digest(token(i).as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        toml.push_str(&format!(
            "[[member]]\nid = \"r{i}\"\nname = \"Remote {i}\"\nremote_allowed = true\n\
             [[remote_link]]\nmember = \"r{i}\"\ntoken_hash = \"sha256:{digest}\"\n\n"
        ));
    }
    toml
}

/// The simulators run on their own thread and runtime, so their work does not queue behind
/// the benchmark's.
fn start_simulators(cancel: &CancellationToken) -> (Vec<SimBus>, Vec<String>) {
    let sims: Vec<SimBus> = (0..BUSES)
        .map(|bus| {
            let units = (1..=DESK_MEMBERS).filter(|s| place(*s).0 == bus).map(|s| place(s).1);
            SimBus::desk_units(units, &[], BAUD)
        })
        .collect();
    let (paths, _thread) =
        SimBus::serve_on_a_thread(sims.clone(), cancel.clone()).expect("simulators on ptys");
    (sims, paths)
}

/// The wire time of one poll cycle: per unit a read of 16 discrete inputs (8 bytes) and its
/// answer (7 bytes), 11 bits per character (8E1), each frame followed by a t3.5 silence of
/// 1.75 ms (the Modbus rule above 19200 baud).
fn cycle_wire_time(units: usize) -> Duration {
    let character = Duration::from_secs_f64(11.0 / f64::from(BAUD));
    let exchange = character * (8 + 7) + Duration::from_micros(1_750) * 2;
    exchange * units as u32
}

struct Round {
    collect_desk: Duration,
    collect_all: Duration,
    to_result: Vec<Duration>,
}

async fn bus_cycles(daemon: &Daemon) -> u64 {
    let (_, devices) = daemon.get("/api/v1/devices").await;
    devices["buses"].as_array().map_or(0, |b| b.iter().filter_map(|b| b["cycles"].as_u64()).sum())
}

async fn round(
    daemon: &Daemon,
    sims: &[SimBus],
    clients: &mut [SseClient],
    observer: &mut SseClient,
    n: usize,
) -> Round {
    let (status, body) = daemon
        .command(json!({"command": "open_vote", "vote": {"question": format!("Antrag {n}"), "kind": "open"}}))
        .await;
    assert_eq!(status, 200, "open_vote: {body}");
    let keys = [DeskKey::VoteYes, DeskKey::VoteNo, DeskKey::VoteAbstain];
    let choices = ["yes", "no", "abstain"];
    let http = reqwest::Client::new();
    let pressed = Instant::now();
    for seat in 1..=DESK_MEMBERS {
        let (bus, unit) = place(seat);
        sims[bus].press(unit, keys[seat % 3]).expect("unit");
    }
    let url = daemon.url("/api/v1/commands");
    let remote = join_all((1..=REMOTE_MEMBERS).map(|i| {
        let request = http
            .post(&url)
            .bearer_auth(token(i))
            .json(&json!({"command": "cast_vote", "choice": choices[i % 3]}))
            .send();
        async move { request.await.map(|r| r.status().as_u16()) }
    }));
    // Count ballots on one event stream while the remote ballots are posted.
    let expected = DESK_MEMBERS + REMOTE_MEMBERS;
    let watch = async {
        let (mut desk, mut all, mut last_desk, mut last) = (0, 0, pressed, pressed);
        while all < expected {
            let event = observer.next_within(PATIENCE).await.expect("ballots keep coming");
            if event.data["change"]["type"] == "ballot_cast" {
                all += 1;
                last = Instant::now();
                if event.data["change"]["ballot"]["via"] == "desk" {
                    desk += 1;
                    last_desk = last;
                }
            }
        }
        assert_eq!(desk, DESK_MEMBERS, "every desk unit voted");
        (last_desk, last)
    };
    let (statuses, (last_desk, last)) = tokio::join!(remote, watch);
    assert!(statuses.iter().all(|s| matches!(s, Ok(200))), "every remote ballot accepted: {statuses:?}");
    // The result, as soon as the last ballot is in.
    let closing = Instant::now();
    let (status, body) = daemon.command(json!({"command": "close_vote"})).await;
    assert_eq!(status, 200, "close_vote: {body}");
    let result = &body["events"][0]["change"]["result"];
    assert_eq!(result["voted"], json!(expected), "every ballot counted: {result}");
    let arrivals = join_all(clients.iter_mut().map(|client| async move {
        loop {
            let event = client.next_within(PATIENCE).await.expect("the result reaches every client");
            if event.data["change"]["type"] == "vote_closed" {
                return Instant::now();
            }
        }
    }))
    .await;
    for seat in 1..=DESK_MEMBERS {
        let (bus, unit) = place(seat);
        sims[bus].release(unit, keys[seat % 3]).expect("unit");
    }
    Round {
        collect_desk: last_desk.saturating_duration_since(pressed),
        collect_all: last.saturating_duration_since(pressed),
        to_result: arrivals.into_iter().map(|at| at.saturating_duration_since(closing)).collect(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cancel = CancellationToken::new();
    let (sims, paths) = start_simulators(&cancel);
    let dir = tempfile::tempdir().expect("temp dir");
    let daemon = Daemon::with_config(dir.path(), &room(&paths));
    // Every unit online on every bus.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, devices) = daemon.get("/api/v1/devices").await;
        let online = devices["buses"].as_array().map_or(0, |b| {
            b.iter()
                .flat_map(|b| b["units"].as_array().cloned().unwrap_or_default())
                .filter(|u| u["status"] == "online")
                .count()
        });
        if online == DESK_MEMBERS {
            break;
        }
        assert!(Instant::now() < deadline, "only {online} of {DESK_MEMBERS} units online");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = daemon.post_raw("/api/v1/meetings", json!({"title": "Benchmark"}).to_string()).await;
    assert_eq!(status, 201, "open meeting: {body}");
    let (status, body) = daemon.command(json!({"command": "mark_seated_present"})).await;
    assert_eq!(status, 200, "mark_seated_present: {body}");
    // Each remote member joins through their own link (rate limits are per member).
    let http = reqwest::Client::new();
    for i in 1..=REMOTE_MEMBERS {
        let response = http
            .post(daemon.url("/api/v1/commands"))
            .bearer_auth(token(i))
            .json(&json!({"command": "join_remote", "participant": format!("r{i}")}))
            .send()
            .await
            .expect("join");
        assert_eq!(response.status().as_u16(), 200, "join_remote r{i}: {:?}", response.text().await);
    }
    let (_, state) = daemon.get("/api/v1/state").await;
    assert_eq!(state["floor"]["quorum"]["present"], json!(DESK_MEMBERS + REMOTE_MEMBERS), "everyone present");

    let events = daemon.url("/api/v1/events");
    let mut observer = SseClient::connect(&events, None).await;
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        clients.push(SseClient::connect(&events, None).await);
    }
    let cycles_before = (bus_cycles(&daemon).await, Instant::now());
    let mut rounds = Vec::new();
    for n in 1..=samples() {
        rounds.push(round(&daemon, &sims, &mut clients, &mut observer, n).await);
        // Let the buses see every key released before the next vote opens.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let cycles_after = (bus_cycles(&daemon).await, Instant::now());
    let ran_cycle = cycles_after.1.duration_since(cycles_before.1) * BUSES as u32
        / u32::try_from(cycles_after.0.saturating_sub(cycles_before.0).max(1)).unwrap_or(u32::MAX);
    let mut raw =
        tokio::task::spawn_blocking(|| report::loopback_round_trips(2_000)).await.expect("round trips");

    let mut report = Report::new(
        "vote_result",
        "A vote of 1,800 members: 1,500 desk units on 47 buses, 300 remote, 200 consoles",
        "cargo bench -p podium-host --bench vote_result",
    );
    report.figure(
        "bus cycle wire time, 32 units at 115200 baud (computed: frames + t3.5 silences)",
        Kind::Limit,
        report::human(cycle_wire_time(UNITS_PER_BUS)),
    );
    report.figure("bus cycle as run, mean over the buses and rounds", Kind::Podium, report::human(ran_cycle));
    let mut desk: Vec<Duration> = rounds.iter().map(|r| r.collect_desk).collect();
    let mut all: Vec<Duration> = rounds.iter().map(|r| r.collect_all).collect();
    let mut result: Vec<Duration> = rounds.iter().flat_map(|r| r.to_result.iter().copied()).collect();
    report.distribution(
        "collect all 1,500 desk votes: keys down → last desk ballot on an event stream",
        Kind::Podium,
        &mut desk,
    );
    report.distribution("collect all 1,800 votes (desk and remote together)", Kind::Podium, &mut all);
    report.distribution("raw loopback TCP round trip, 64 bytes", Kind::Limit, &mut raw);
    report.distribution(
        &format!("last ballot → result on each of {CLIENTS} event-stream clients (close sent at once)"),
        Kind::Podium,
        &mut result,
    );
    report.note(format!(
        "{} rounds. Each round opens an open vote, presses every desk unit's vote key at once \
         (yes, no, abstain in turn) while 300 remote members post their ballots over HTTP with \
         their personal-link tokens, and closes the vote as soon as the last ballot is seen. A \
         meeting is open: every ballot is written to the journal (SQLite, synchronous=FULL) \
         before it is published. The simulators, the clients and podiumd share this machine's {} cores.",
        rounds.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    ));
    report.note(
        "The buses poll in parallel; a key is seen at its unit's next poll, so collecting every \
         desk vote cannot take less than about one cycle; the rest is the 1,500 ballots passing \
         the engine, the journal's group commits and the event fan-out."
            .to_owned(),
    );
    report.finish();
    cancel.cancel();
}
