//! What floods cost (benchmark, not a test): a real `podiumd`, measured in one run
//! - the chair's command round trip unloaded, while 1,100 idle connections are held, and
//!   while 200 event-stream clients resume from seq 1 and never read;
//! - the daemon's memory idle, with ~9,000 events in the resume window, and with those
//!   200 slow resumers.
//!
//! Run: `cargo bench -p podium-host --bench http_limits` (release build; about a minute).
//! Clients and daemon share this machine's cores.

#[path = "../../tests/bench/report.rs"]
mod report;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use report::{Kind, Podiumd, Report};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

const SEATS: u16 = 102;
const IDLE_CONNECTIONS: usize = 1_100;
const SLOW_RESUMERS: usize = 200;
const WINDOW_EVENTS: usize = 9_200;
/// Chair commands per phase, spread over 8 source addresses (each below its burst of 40).
const CHAIR_COMMANDS: usize = 280;

/// A room whose loopback clients act as the chair and whose floor is public; the header
/// timeout is raised so the idle connections stay for the whole measurement (the default,
/// 10 s, would close them part-way).
fn room_toml(dir: &std::path::Path) -> String {
    let mut toml = format!(
        "[room]\nid = \"limits\"\nname = \"Limits\"\n\n[journal]\npath = {:?}\n\n[discussion]\nmode = \"request\"\n\
         max_requests = 200\n\n[web]\ndisplay_public = true\nmetrics_public = true\ntrust_loopback_as = \"chair\"\n\n\
         [http]\nheader_timeout_s = 120\n\n",
        dir.join("journal.sqlite3").display().to_string()
    );
    for n in 1..=SEATS {
        toml.push_str(&format!("[[seat]]\nnumber = {n}\nmember = \"m{n}\"\n\n"));
        let role = if n == 1 { "chair" } else { "member" };
        toml.push_str(&format!("[[member]]\nid = \"m{n}\"\nname = \"Member {n}\"\nrole = \"{role}\"\n\n"));
    }
    toml
}

/// Starts podiumd with a soft open-file limit of 1,024, as most shells and services give.
fn start(config: &std::path::Path) -> Podiumd {
    Podiumd::start(
        Process::new("sh")
            .args(["-c", "ulimit -S -n 1024 && exec \"$0\" \"$@\"", env!("CARGO_BIN_EXE_podiumd")])
            .args(["run", "--config", config.to_str().expect("utf-8 path"), "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit()),
    )
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn client_from(from: IpAddr) -> reqwest::Client {
    reqwest::Client::builder().local_address(from).build().expect("client")
}

async fn connect_from(from: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(from, 0)).expect("bind");
    socket.connect(to).await.expect("connect")
}

fn toggle(seat: u16, on: bool) -> Value {
    let command = if on { "request" } else { "withdraw" };
    json!({"command": command, "station": {"seat": seat}})
}

/// Sends `command`; on 429 waits and sends again. Returns the round trip of the answered
/// attempt and the highest seq in its events.
async fn send(client: &reqwest::Client, url: &str, command: &Value) -> (Duration, u64) {
    loop {
        let started = Instant::now();
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .body(command.to_string())
            .send()
            .await
            .expect("command");
        let status = response.status().as_u16();
        let answer: Value = response.json().await.expect("JSON answer");
        let took = started.elapsed();
        if status == 429 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        assert_eq!(status, 200, "{answer}");
        let seq = answer["events"].as_array().into_iter().flatten().filter_map(|e| e["seq"].as_u64()).max();
        return (took, seq.unwrap_or(0));
    }
}

/// The chair's command round trip, one command at a time from 8 source addresses
/// (`first_source` on), each toggling a request on the last seat (no driver uses it) and
/// withdrawing it again.
async fn chair_round_trips(base: &str, first_source: u8) -> Vec<Duration> {
    let url = format!("{base}/api/v1/commands");
    let clients: Vec<_> = (0..8).map(|n| client_from(loopback(first_source + n))).collect();
    let mut samples = Vec::with_capacity(CHAIR_COMMANDS);
    for i in 0..CHAIR_COMMANDS {
        let (took, _) = send(&clients[i % clients.len()], &url, &toggle(SEATS, i % 2 == 0)).await;
        samples.push(took);
    }
    samples
}

/// Fills the resume window: 100 sources, each toggling its own seat.
async fn fill_window(base: &str) -> u64 {
    let drivers: u16 = 100;
    let per_driver = WINDOW_EVENTS.div_ceil(usize::from(drivers));
    let tasks: Vec<_> = (0..drivers)
        .map(|d| {
            let url = format!("{base}/api/v1/commands");
            let client = client_from(loopback(100 + d as u8));
            tokio::spawn(async move {
                let mut last = 0;
                for i in 0..per_driver {
                    last = last.max(send(&client, &url, &toggle(d + 2, i % 2 == 0)).await.1);
                }
                last
            })
        })
        .collect();
    let mut last = 0;
    for task in tasks {
        last = last.max(task.await.expect("driver"));
    }
    last
}

async fn metric(base: &str, sample: &str) -> Option<f64> {
    let text = reqwest::get(format!("{base}/metrics")).await.ok()?.text().await.ok()?;
    text.lines().find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn wait_for_metric(base: &str, sample: &str, want: f64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(base, sample).await.is_none_or(|v| v < want) {
        assert!(Instant::now() < deadline, "{sample} did not reach {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main]
async fn main() {
    podium_host::api::server::raise_open_file_limit().expect("this benchmark holds 1,100 sockets");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("room.toml");
    std::fs::write(&config, room_toml(dir.path())).expect("write config");
    let daemon = start(&config);
    let pid = daemon.child.id();
    let to: SocketAddr = daemon.base.trim_start_matches("http://").parse().expect("address");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_kib(pid);
    println!("podiumd {} (pid {pid})", daemon.base);

    let mut unloaded = chair_round_trips(&daemon.base, 2).await;

    let mut idle = Vec::with_capacity(IDLE_CONNECTIONS);
    for _ in 0..IDLE_CONNECTIONS {
        idle.push(TcpStream::connect(to).await.expect("idle connection"));
    }
    wait_for_metric(&daemon.base, "podium_http_connections", IDLE_CONNECTIONS as f64).await;
    let flood_rss = rss_kib(pid);
    let mut flooded = chair_round_trips(&daemon.base, 10).await;
    drop(idle);

    let last_seq = fill_window(&daemon.base).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let window_rss = rss_kib(pid);
    let mut resumers = Vec::with_capacity(SLOW_RESUMERS);
    for n in 0..SLOW_RESUMERS {
        // Anonymous (Host is not a loopback name), from 10 addresses, never read.
        let mut socket = connect_from(loopback(20 + (n % 10) as u8), to).await;
        socket
            .write_all(b"GET /api/v1/events?since=1 HTTP/1.1\r\nHost: podium.example\r\n\r\n")
            .await
            .expect("request");
        resumers.push(socket);
    }
    wait_for_metric(&daemon.base, "podium_event_stream_clients", SLOW_RESUMERS as f64).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resumers_rss = rss_kib(pid);
    let mut resumed = chair_round_trips(&daemon.base, 30).await;
    drop(resumers);

    // The transport's own floor, measured in the same run: an echo over loopback TCP.
    let mut raw =
        tokio::task::spawn_blocking(|| report::loopback_round_trips(2_000)).await.expect("round trips");
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    let mut report = Report::new(
        "http_limits",
        "Floods: idle connections and slow event-stream resumers",
        "cargo bench -p podium-host --bench http_limits",
    );
    report.distribution("raw loopback TCP round trip, 64 bytes", Kind::Limit, &mut raw);
    report.distribution("chair command round trip, unloaded", Kind::Podium, &mut unloaded);
    report.distribution(
        &format!("chair command round trip, {IDLE_CONNECTIONS} idle connections held"),
        Kind::Podium,
        &mut flooded,
    );
    report.distribution(
        &format!("chair command round trip, {SLOW_RESUMERS} slow resumers connected"),
        Kind::Podium,
        &mut resumed,
    );
    report.figure("podiumd memory (RSS), idle", Kind::Podium, mib(idle_rss));
    report.figure(
        &format!("podiumd memory (RSS), {IDLE_CONNECTIONS} idle connections held"),
        Kind::Podium,
        mib(flood_rss),
    );
    report.figure(
        &format!("podiumd memory (RSS), {last_seq} events in the resume window"),
        Kind::Podium,
        mib(window_rss),
    );
    report.figure(
        &format!("podiumd memory (RSS), {SLOW_RESUMERS} slow `since=1` resumers"),
        Kind::Podium,
        format!("{} (+{})", mib(resumers_rss), mib(resumers_rss.saturating_sub(window_rss))),
    );
    report.note(format!(
        "A {SEATS}-seat room, no open meeting (nothing journaled), started with a soft open-file \
         limit of 1,024 (podiumd raises it to the hard limit). Chair commands: {CHAIR_COMMANDS} per \
         phase, one at a time (request and withdraw on a member's seat), from 8 loopback addresses \
         (each source's rate limit allows a burst of 40)."
    ));
    report.note(format!(
        "Idle connections: {IDLE_CONNECTIONS} TCP sockets from 127.0.0.1 that send nothing \
         (`header_timeout_s` raised to 120 s so they stay for the measurement; by default they \
         are closed after 10 s). Slow resumers: {SLOW_RESUMERS} anonymous clients on 10 \
         addresses, each sending `GET /api/v1/events?since=1` and never reading, with {last_seq} \
         events in the resume window; memory measured 3 s after all were connected."
    ));
    report.note(format!(
        "Clients and daemon share this machine's {} cores.",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    ));
    report.finish();
}
