//! MQTT benchmark (issue 6): from a remote request published to the broker until the change
//! reaches an API event-stream client, next to the raw transports it needs, measured in the
//! same run: the broker hop (publish → subscriber through the same Mosquitto), an HTTP
//! event-stream hop (a bare axum SSE endpoint → the same client code) and, with a meeting
//! open, a durable SQLite commit on the same disk. Then 500 remote participants raising and
//! lowering hands at 200 events/s.
//!
//! Run: `cargo bench -p podium-host --bench mqtt` (needs `mosquitto`; tests/run installs it).

#[path = "../../tests/e2e/support/mod.rs"]
mod support;

#[path = "../../tests/bench/report.rs"]
mod report;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use report::{Kind, Report};
use support::mosquitto::Mosquitto;
use support::{Daemon, SseClient};

const SAMPLES: usize = 300;
const PARTICIPANTS: usize = 500;
const LOAD_RATE: u64 = 200;
const LOAD_SECONDS: u64 = 10;

fn room(port: u16) -> String {
    let mut toml = format!(
        "[room]\nid = \"bench\"\nname = \"Bench\"\n\n[mqtt]\nbroker = \"external\"\nhost = \"127.0.0.1\"\nport = {port}\n\n\
         [web]\ntrust_loopback_as = \"chair\"\n\n[discussion]\nmode = \"request\"\nmax_requests = 200\n\n[[seat]]\nnumber = 1\n"
    );
    for i in 0..PARTICIPANTS {
        toml.push_str(&format!(
            "\n[[member]]\nid = \"r{i}\"\nname = \"Remote {i}\"\nremote_allowed = true\n"
        ));
    }
    toml
}

async fn client(
    port: u16,
    id: &str,
) -> (AsyncClient, tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>) {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20).set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 10_000);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send((String::from_utf8_lossy(&p.payload).into_owned(), Instant::now()));
                }
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = tx.send(("<connack>".into(), Instant::now()));
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    (client, rx)
}

#[tokio::main]
async fn main() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::with_config(dir.path(), &room(broker.port));

    let mut raw = Raw::start(broker.port).await;

    // Podium: a remote request → the API's event stream.
    let (bridge, mut bridge_rx) = client(broker.port, "bench-bridge").await;
    bridge_rx.recv().await;
    let base = "podium/v1/bench/remote";
    for i in 0..PARTICIPANTS {
        bridge
            .publish(format!("{base}/r{i}/presence"), QoS::AtLeastOnce, true, r#"{"v":1,"present":true}"#)
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, state) = daemon.get("/api/v1/state").await;
        let present =
            state["floor"]["presence"].as_object().map(|p| p.values().filter(|v| *v == "remote").count());
        if present == Some(PARTICIPANTS) {
            break;
        }
        assert!(Instant::now() < deadline, "participants did not join");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Without a meeting (rehearsal: nothing is journaled), then with an open meeting, where
    // every change is durable in the journal (fsync) before it is published. The raw
    // transports are sampled between Podium's samples, so both see the same machine: these
    // virtual machines are noisy, and a limit measured a minute apart is no limit.
    let (mut raw_hops, mut sse_hops, mut commits, mut podium, mut durable) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut sse = events_from_now(&daemon).await;
    for i in 0..SAMPLES {
        raw_hops.push(raw.broker_hop().await);
        sse_hops.push(raw.sse_hop().await);
        podium.push(request_and_withdraw(&mut sse, &bridge, base, i).await);
    }
    let (status, _) = daemon.post_raw("/api/v1/meetings", r#"{"title":"Benchmark"}"#).await;
    assert_eq!(status, 201, "open a meeting");
    let mut sse = events_from_now(&daemon).await;
    for i in 0..SAMPLES {
        raw_hops.push(raw.broker_hop().await);
        sse_hops.push(raw.sse_hop().await);
        commits.push(raw.commit());
        durable.push(request_and_withdraw(&mut sse, &bridge, base, i).await);
    }
    drop(raw);

    let mut report = Report::new(
        "mqtt",
        "Remote request → consoles (MQTT → event stream)",
        "cargo bench -p podium-host --bench mqtt",
    );
    let raw_hop = report.distribution(
        "raw broker hop (publish → subscriber, same Mosquitto)",
        Kind::Limit,
        &mut raw_hops,
    );
    let raw_sse =
        report.distribution("raw HTTP event-stream hop (bare axum SSE → client)", Kind::Limit, &mut sse_hops);
    let raw_commit = report.distribution(
        "raw durable write (SQLite commit, WAL, synchronous=FULL)",
        Kind::Limit,
        &mut commits,
    );
    let podium_rehearsal =
        report.distribution("remote request → SSE client, no meeting", Kind::Podium, &mut podium);
    let podium_meeting = report.distribution(
        "remote request → SSE client, meeting open (journaled)",
        Kind::Podium,
        &mut durable,
    );
    let (raw_hop, raw_sse, raw_commit, rehearsal, meeting) = (
        raw_hop.expect("samples").p50.as_secs_f64(),
        raw_sse.expect("samples").p50.as_secs_f64(),
        raw_commit.expect("samples").p50.as_secs_f64(),
        podium_rehearsal.expect("samples").p50.as_secs_f64(),
        podium_meeting.expect("samples").p50.as_secs_f64(),
    );
    report.figure(
        "ratio p50 path / raw broker hop (issue goal ≤ 1.5)",
        Kind::Podium,
        format!("{:.2} no meeting, {:.2} meeting open", rehearsal / raw_hop, meeting / raw_hop),
    );
    // What Podium itself adds: the path minus the transports it cannot avoid.
    let own = |path: f64, transports: f64| (path - transports).max(0.0) / raw_hop;
    report.figure(
        "Podium's own share (path − raw hops [− commit]) / broker hop",
        Kind::Podium,
        format!(
            "{:.2} no meeting, {:.2} meeting open",
            own(rehearsal, raw_hop + raw_sse),
            own(meeting, raw_hop + raw_sse + raw_commit)
        ),
    );
    report.note(format!(
        "{PARTICIPANTS} remote members present; each sample is one request (followed by a withdrawal) published by a bridge client with QoS 1."
    ));
    report.note(
        "The path contains two transport hops (broker → podiumd, podiumd → HTTP client) and, with a meeting open, the journal's fsync before anything is published; the limit rows measure each of them alone.",
    );

    // Load: 200 events/s for 10 s; raise r_k, and lower the one raised 100 steps before.
    let total = (LOAD_RATE * LOAD_SECONDS) as usize;
    let mut plan: Vec<(String, &str)> = Vec::with_capacity(total);
    let mut k = 0;
    while plan.len() < total {
        plan.push((format!("r{}", k % PARTICIPANTS), "request"));
        if k >= 100 && plan.len() < total {
            plan.push((format!("r{}", (k - 100) % PARTICIPANTS), "withdraw"));
        }
        k += 1;
    }
    let mut expected_raised = BTreeSet::new();
    for (who, action) in &plan {
        if *action == "request" {
            expected_raised.insert(who.clone());
        } else {
            expected_raised.remove(who);
        }
    }
    let (_, state) = daemon.get("/api/v1/state").await;
    let start_seq = state["floor"]["seq"].as_u64().unwrap();
    let mut sse = SseClient::connect(&daemon.url("/api/v1/events"), Some(start_seq)).await;
    let receiver = tokio::spawn(async move {
        let mut seen: HashMap<(String, String), Vec<Instant>> = HashMap::new();
        let mut seqs = Vec::new();
        while let Some(event) = sse.next_within(Duration::from_secs(5)).await {
            seqs.push(event.id.unwrap_or(0));
            let change = &event.data["change"];
            let station =
                change["request"]["station"]["remote"].as_str().or(change["station"]["remote"].as_str());
            let kind = match change["type"].as_str() {
                Some("request_added") => "request",
                Some("request_removed") => "withdraw",
                _ => continue,
            };
            if let Some(who) = station {
                seen.entry((who.to_string(), kind.to_string())).or_default().push(Instant::now());
            }
        }
        (seen, seqs)
    });
    let interval = Duration::from_micros(1_000_000 / LOAD_RATE);
    let started = Instant::now();
    let mut sent_at: HashMap<(String, String), Vec<Instant>> = HashMap::new();
    for (i, (who, action)) in plan.iter().enumerate() {
        let due = started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        sent_at.entry((who.clone(), action.to_string())).or_default().push(Instant::now());
        bridge
            .publish(format!("{base}/{who}/{action}"), QoS::AtLeastOnce, false, r#"{"v":1}"#)
            .await
            .unwrap();
    }
    let sending_took = started.elapsed();
    let (seen, seqs) = receiver.await.expect("receiver");
    let mut latencies = Vec::new();
    for (key, sends) in &sent_at {
        for (sent, got) in sends.iter().zip(seen.get(key).map(|v| v.as_slice()).unwrap_or(&[])) {
            latencies.push(got.saturating_duration_since(*sent));
        }
    }
    let (_, state) = daemon.get("/api/v1/state").await;
    let queued: Vec<String> = state["floor"]["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["station"]["remote"].as_str().map(String::from))
        .collect();
    let unique: BTreeSet<String> = queued.iter().cloned().collect();
    let gap_free = seqs.windows(2).all(|w| w[1] == w[0] + 1);
    println!(
        "\n{PARTICIPANTS} participants, {} messages at {LOAD_RATE}/s over {:.1?}",
        plan.len(),
        sending_took
    );
    report.distribution(
        &format!("under load: {PARTICIPANTS} members, {LOAD_RATE} msg/s, publish → SSE"),
        Kind::Podium,
        &mut latencies,
    );
    let (duplicates, lost) = (queued.len() - unique.len(), expected_raised.difference(&unique).count());
    report.figure(
        "under load: lost / duplicated requests, events gap-free",
        Kind::Podium,
        format!("{lost} / {duplicates}, gap-free: {gap_free}"),
    );
    report.note(format!(
        "Load: {} messages over {:.1?}; final list {} requests, {} expected.",
        plan.len(),
        sending_took,
        queued.len(),
        expected_raised.len()
    ));
    let (_, link) = daemon.get("/api/v1/mqtt").await;
    println!("link counters: {link}");
    report.finish();
    assert!(lost == 0 && duplicates == 0 && gap_free, "requests lost or duplicated under load");
}

/// A bare axum event stream on loopback, fed by `send`, with a connected client.
async fn sse_server()
-> (tokio::sync::broadcast::Sender<usize>, tokio::task::JoinHandle<std::io::Result<()>>, SseClient) {
    use axum::response::sse::{Event as SseEvent, Sse};
    let (tx, _) = tokio::sync::broadcast::channel::<usize>(16);
    let feed = tx.clone();
    let app = axum::Router::new().route(
        "/raw",
        axum::routing::get(move || {
            let events = tokio_stream::wrappers::BroadcastStream::new(feed.subscribe());
            let stream = futures_util::StreamExt::map(events, |i| {
                Ok::<_, std::convert::Infallible>(
                    SseEvent::default().event("floor").id(i.unwrap_or(0).to_string()).data("{}"),
                )
            });
            async move { Sse::new(stream) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let stream = SseClient::connect(&format!("http://{address}/raw"), None).await;
    while tx.receiver_count() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (tx, server, stream)
}

/// An event stream on the daemon, starting after its current state.
async fn events_from_now(daemon: &Daemon) -> SseClient {
    let (_, state) = daemon.get("/api/v1/state").await;
    SseClient::connect(&daemon.url("/api/v1/events"), state["floor"]["seq"].as_u64()).await
}

/// One remote request → its SSE event (the sample), then its withdrawal.
async fn request_and_withdraw(sse: &mut SseClient, bridge: &AsyncClient, base: &str, i: usize) -> Duration {
    let who = format!("r{}", i % PARTICIPANTS);
    let sent = Instant::now();
    bridge.publish(format!("{base}/{who}/request"), QoS::AtLeastOnce, false, r#"{"v":1}"#).await.unwrap();
    let event = sse.next().await;
    let took = sent.elapsed();
    assert_eq!(event.data["change"]["type"], "request_added");
    bridge.publish(format!("{base}/{who}/withdraw"), QoS::AtLeastOnce, false, r#"{"v":1}"#).await.unwrap();
    assert_eq!(sse.next().await.data["change"]["type"], "request_removed");
    took
}

/// The raw transports of the path, each alone.
struct Raw {
    /// Publishes to `bench/raw` on the same broker; `deliveries` is a subscriber's inbox.
    publisher: AsyncClient,
    deliveries: tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>,
    /// A bare axum event stream in this process, read with the same client code as podiumd's.
    feed: tokio::sync::broadcast::Sender<usize>,
    stream: SseClient,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// SQLite as the journal configures it.
    db: rusqlite::Connection,
    _db_dir: tempfile::TempDir,
    n: usize,
}

impl Raw {
    async fn start(broker_port: u16) -> Raw {
        let (publisher, mut connected) = client(broker_port, "bench-raw-pub").await;
        let (subscriber, mut deliveries) = client(broker_port, "bench-raw-sub").await;
        connected.recv().await;
        deliveries.recv().await;
        subscriber.subscribe("bench/raw", QoS::AtLeastOnce).await.expect("subscribe");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (feed, server, stream) = sse_server().await;
        let db_dir = tempfile::tempdir().expect("tempdir");
        let db = rusqlite::Connection::open(db_dir.path().join("raw.sqlite3")).expect("open");
        db.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (seq INTEGER PRIMARY KEY, body TEXT);",
        )
        .expect("schema");
        Raw { publisher, deliveries, feed, stream, server, db, _db_dir: db_dir, n: 0 }
    }

    /// One publish → one delivery through the broker.
    async fn broker_hop(&mut self) -> Duration {
        self.n += 1;
        let sent = Instant::now();
        self.publisher
            .publish("bench/raw", QoS::AtLeastOnce, false, self.n.to_string())
            .await
            .expect("publish");
        let (_, at) = self.deliveries.recv().await.expect("delivery");
        at - sent
    }

    /// One event through the bare HTTP event stream.
    async fn sse_hop(&mut self) -> Duration {
        self.n += 1;
        let sent = Instant::now();
        self.feed.send(self.n).expect("a subscriber");
        self.stream.next().await;
        sent.elapsed()
    }

    /// One INSERT in autocommit mode: a transaction, fsynced.
    fn commit(&mut self) -> Duration {
        self.n += 1;
        let started = Instant::now();
        self.db
            .execute(
                "INSERT INTO t (seq, body) VALUES (?1, ?2)",
                (self.n as i64, r#"{"change":"request_added"}"#),
            )
            .expect("insert");
        started.elapsed()
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.server.abort();
    }
}
