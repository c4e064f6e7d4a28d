//! Event-stream fan-out benchmark (not a test): 200 SSE clients connected to a real
//! `podiumd`, 50 state changes per second. Checks that every client receives every event,
//! and reports the delivery latency (from sending the command to a client having the
//! event) and the daemon's memory with 200 clients; next to it, the raw loopback TCP
//! round trip measured in the same run, the floor no HTTP stack can go below.
//!
//! Run: `cargo bench -p podium-host --bench sse_fanout` (release build; about 30 s).
//! `PODIUM_BENCH_CLIENTS`, `PODIUM_BENCH_RATE` (changes per second) and
//! `PODIUM_BENCH_SECONDS` change the load. Clients and daemon share this machine's cores,
//! so the figures include the clients' own CPU use.

#[path = "../../tests/bench/report.rs"]
mod report;

use std::collections::HashMap;
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use report::{Kind, Podiumd, Report};
use serde_json::{Value, json};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A 40-seat room whose read API is public and whose loopback clients act as the chair.
fn room_toml(dir: &std::path::Path) -> String {
    let mut toml = format!(
        "[room]\nid = \"fanout\"\nname = \"Fan-out\"\n\n[journal]\npath = {:?}\n\n[discussion]\nmode = \"request\"\n\
         max_requests = 200\n\n[web]\ndisplay_public = true\nmetrics_public = true\ntrust_loopback_as = \"chair\"\n\n",
        dir.join("journal.sqlite3").display().to_string()
    );
    for n in 1..=40 {
        toml.push_str(&format!("[[seat]]\nnumber = {n}\nmember = \"m{n}\"\n\n"));
        let role = if n == 1 { "chair" } else { "member" };
        toml.push_str(&format!("[[member]]\nid = \"m{n}\"\nname = \"Member {n}\"\nrole = \"{role}\"\n\n"));
    }
    toml
}

fn start(config: &std::path::Path) -> Podiumd {
    Podiumd::start(
        Process::new(env!("CARGO_BIN_EXE_podiumd"))
            .args(["run", "--config", config.to_str().expect("utf-8 path"), "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit()),
    )
}

/// Resident and peak memory of a process, in KiB, from /proc.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// One event-stream client: records when each floor event arrived, until it has `last`.
async fn client(
    url: String,
    connected: Arc<AtomicUsize>,
    last: Arc<AtomicU64>,
) -> Result<Vec<(u64, Instant)>, String> {
    let response = reqwest::Client::new()
        .get(url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().as_u16() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let mut got = Vec::new();
    let mut counted = false;
    while let Some(chunk) = stream.next().await {
        let now = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk.map_err(|e| e.to_string())?));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let mut event = "";
            let mut id = None;
            for l in frame.lines() {
                if let Some(v) = l.strip_prefix("event:") {
                    event = v.trim();
                } else if let Some(v) = l.strip_prefix("id:") {
                    id = v.trim().parse::<u64>().ok();
                }
            }
            match (event, id) {
                ("snapshot", _) if !counted => {
                    counted = true;
                    connected.fetch_add(1, Ordering::SeqCst);
                }
                ("floor", Some(seq)) => got.push((seq, now)),
                _ => {}
            }
        }
        let want = last.load(Ordering::SeqCst);
        if want != 0 && got.last().is_some_and(|(seq, _)| *seq >= want) {
            return Ok(got);
        }
    }
    Err("stream ended".into())
}

#[tokio::main]
async fn main() {
    let clients = env_or("PODIUM_BENCH_CLIENTS", 200) as usize;
    let rate = env_or("PODIUM_BENCH_RATE", 50).max(1);
    let seconds = env_or("PODIUM_BENCH_SECONDS", 20).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("room.toml");
    std::fs::write(&config, room_toml(dir.path())).expect("write config");
    let daemon = start(&config);
    let pid = daemon.child.id();
    let (idle_rss, _) = memory_kib(pid);
    println!("podiumd {} (pid {pid}); {clients} clients, {rate} changes/s for {seconds} s", daemon.base);

    // Connect every client and wait until each has its snapshot.
    let connected = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(AtomicU64::new(0));
    let url = format!("{}/api/v1/events", daemon.base);
    let tasks: Vec<_> =
        (0..clients).map(|_| tokio::spawn(client(url.clone(), connected.clone(), last.clone()))).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while connected.load(Ordering::SeqCst) < clients {
        assert!(
            Instant::now() < deadline,
            "only {} of {clients} clients connected in 60 s",
            connected.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (connected_rss, _) = memory_kib(pid);
    let http = reqwest::Client::new();
    let metrics = http.get(format!("{}/metrics", daemon.base)).send().await.expect("metrics");
    let metrics = metrics.text().await.unwrap_or_default();
    let stream_gauge =
        metrics.lines().find(|l| l.starts_with("podium_event_stream_clients ")).unwrap_or("?").to_owned();

    // Drive the floor: request and withdraw in turn, one event per command. The daemon
    // limits each source to 20 commands a second, so the changes come from four sources
    // (127.0.0.2 to .5), as from a chair console, a bridge and desk units together.
    let drivers: Vec<reqwest::Client> = (2..=5)
        .map(|n| {
            reqwest::Client::builder()
                .local_address(std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, n)))
                .build()
                .expect("driver client")
        })
        .collect();
    let commands = (rate * seconds) as usize;
    let mut sent_at: HashMap<u64, Instant> = HashMap::with_capacity(commands);
    let mut command_rtt = Vec::with_capacity(commands);
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let mut last_seq = 0;
    for i in 0..commands {
        ticker.tick().await;
        let seat = 2 + ((i / 2) % 39) as u16;
        let body = if i % 2 == 0 {
            json!({"command": "request", "station": {"seat": seat}})
        } else {
            json!({"command": "withdraw", "station": {"seat": seat}})
        };
        let t = Instant::now();
        let response = drivers[i % drivers.len()]
            .post(format!("{}/api/v1/commands", daemon.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("command");
        let status = response.status().as_u16();
        let answer: Value = response.json().await.expect("JSON answer");
        command_rtt.push(t.elapsed());
        assert_eq!(status, 200, "command {i}: {answer}");
        for event in answer["events"].as_array().expect("events") {
            let seq = event["seq"].as_u64().expect("seq");
            sent_at.insert(seq, t);
            last_seq = last_seq.max(seq);
        }
    }
    let driving = started.elapsed();
    last.store(last_seq, Ordering::SeqCst);
    let (loaded_rss, peak_rss) = memory_kib(pid);

    // Collect: every client must have every event, in order, without gaps.
    let mut latencies = Vec::with_capacity(clients * sent_at.len());
    let mut complete = 0;
    for task in tasks {
        let got = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("a client did not get the last event within 30 s")
            .expect("client task")
            .expect("client stream");
        let seqs: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
        let expected: Vec<u64> = (1..=last_seq).collect();
        if seqs == expected {
            complete += 1;
        }
        for (seq, at) in got {
            if let Some(sent) = sent_at.get(&seq) {
                latencies.push(at.saturating_duration_since(*sent));
            }
        }
    }

    let mut raw =
        tokio::task::spawn_blocking(|| report::loopback_round_trips(2_000)).await.expect("round trips");
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);

    let mut report = Report::new(
        "sse_fanout",
        &format!("Event fan-out to {clients} consoles"),
        "cargo bench -p podium-host --bench sse_fanout",
    );
    report.distribution("raw loopback TCP round trip, 64 bytes", Kind::Limit, &mut raw);
    report.distribution("command round trip (POST → 200 answered)", Kind::Podium, &mut command_rtt);
    report.distribution(
        &format!("delivery: command sent → client has the event ({clients} clients)"),
        Kind::Podium,
        &mut latencies,
    );
    report.figure(
        "clients with every event, in order, no gaps",
        Kind::Podium,
        format!("{complete} of {clients}"),
    );
    report.figure(
        "events delivered",
        Kind::Podium,
        format!(
            "{last_seq} in {:.1} s ({:.1}/s achieved)",
            driving.as_secs_f64(),
            last_seq as f64 / driving.as_secs_f64()
        ),
    );
    report.figure("podiumd memory (RSS), idle", Kind::Podium, mib(idle_rss));
    report.figure(
        &format!("podiumd memory (RSS), {clients} clients connected"),
        Kind::Podium,
        mib(connected_rss),
    );
    report.figure(
        "podiumd memory (RSS) after the run (peak)",
        Kind::Podium,
        format!("{} ({})", mib(loaded_rss), mib(peak_rss)),
    );
    report.note(format!(
        "{clients} event-stream clients (HTTP/1.1 SSE on loopback) on a real podiumd, a 40-seat \
         room without an open meeting (nothing journaled); {rate} changes/s for {seconds} s, one \
         event per command (request, withdraw in turn), sent from four source addresses."
    ));
    report.note(format!(
        "Delivery runs from sending the command until the chunk holding the event reached a \
         client, one sample per client and event; it includes the HTTP command, the floor and the fan-out. Clients \
         and daemon share this machine's {} cores, so it includes the clients' own CPU use.",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    ));
    report.note(format!(
        "The raw round trip is 2,000 echoes of 64 bytes over one loopback TCP connection \
         (TCP_NODELAY) in this process, measured after the load. The daemon counted its own \
         streams while they were connected: `{stream_gauge}`."
    ));
    report.finish();
    assert_eq!(complete, clients, "every client receives every event");
}
