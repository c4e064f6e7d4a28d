//! MQTT benchmark (issue 6): from a remote request published to the broker until the change
//! reaches an API event-stream client, next to the raw broker round trip (publish →
//! subscriber through the same Mosquitto) measured in the same run; then 500 remote
//! participants raising and lowering hands at 200 events/s.
//!
//! Run: `cargo bench -p podium-host --bench mqtt` (needs `mosquitto`; tests/run installs it).
//! A meeting is open, so the path includes the journal's durable write.

#[path = "../../tests/e2e/support/mod.rs"]
mod support;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(name: &str, samples: &mut [Duration]) -> Duration {
    samples.sort();
    let (p50, p99, max) = (percentile(samples, 0.5), percentile(samples, 0.99), samples[samples.len() - 1]);
    println!("{name:<44} n={:<5} p50={:>9.3?} p99={:>9.3?} max={:>9.3?}", samples.len(), p50, p99, max);
    p50
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

    // Raw transport: one publish → one delivery through the same broker.
    let (raw_pub, mut raw_pub_rx) = client(broker.port, "bench-raw-pub").await;
    let (raw_sub, mut raw_rx) = client(broker.port, "bench-raw-sub").await;
    raw_pub_rx.recv().await;
    raw_rx.recv().await;
    raw_sub.subscribe("bench/raw", QoS::AtLeastOnce).await.expect("subscribe");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut raw = Vec::new();
    for i in 0..SAMPLES {
        let sent = Instant::now();
        raw_pub.publish("bench/raw", QoS::AtLeastOnce, false, i.to_string()).await.expect("publish");
        let (_, at) = raw_rx.recv().await.expect("delivery");
        raw.push(at - sent);
    }

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
    // every change is durable in the journal (fsync) before it is published.
    let mut podium = measure(&daemon, &bridge, base).await;
    let (status, _) = daemon.post_raw("/api/v1/meetings", r#"{"title":"Benchmark"}"#).await;
    assert_eq!(status, 201, "open a meeting");
    let mut durable = measure(&daemon, &bridge, base).await;

    println!("\nRemote request → API event stream, next to the raw broker hop (same Mosquitto, same run)");
    let raw_p50 = summary("raw broker hop (publish → subscriber)", &mut raw);
    let podium_p50 = summary("podium, no meeting (publish → SSE client)", &mut podium);
    let durable_p50 = summary("podium, meeting open: journaled + fsync", &mut durable);
    println!(
        "ratio p50 podium / raw hop: {:.2} without journal, {:.2} with (goal ≤ 1.5)",
        podium_p50.as_secs_f64() / raw_p50.as_secs_f64(),
        durable_p50.as_secs_f64() / raw_p50.as_secs_f64()
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
    summary("publish → SSE event under load", &mut latencies);
    println!(
        "final list: {} requests, {} expected; duplicates: {}; lost: {}; events gap-free: {gap_free}",
        queued.len(),
        expected_raised.len(),
        queued.len() - unique.len(),
        expected_raised.difference(&unique).count()
    );
    let (_, link) = daemon.get("/api/v1/mqtt").await;
    println!("link counters: {link}");
}

/// Remote request → SSE event, SAMPLES times (each followed by a withdrawal).
async fn measure(daemon: &Daemon, bridge: &AsyncClient, base: &str) -> Vec<Duration> {
    let (_, state) = daemon.get("/api/v1/state").await;
    let mut sse = SseClient::connect(&daemon.url("/api/v1/events"), state["floor"]["seq"].as_u64()).await;
    let mut samples = Vec::new();
    for i in 0..SAMPLES {
        let who = format!("r{}", i % PARTICIPANTS);
        let sent = Instant::now();
        bridge.publish(format!("{base}/{who}/request"), QoS::AtLeastOnce, false, r#"{"v":1}"#).await.unwrap();
        let event = sse.next().await;
        samples.push(sent.elapsed());
        assert_eq!(event.data["change"]["type"], "request_added");
        bridge
            .publish(format!("{base}/{who}/withdraw"), QoS::AtLeastOnce, false, r#"{"v":1}"#)
            .await
            .unwrap();
        assert_eq!(sse.next().await.data["change"]["type"], "request_removed");
    }
    samples
}
