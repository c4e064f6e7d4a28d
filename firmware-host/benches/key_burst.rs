//! Benchmark (not a test): 32 desk units press their microphone key in the same poll
//! cycle, through the real `podiumd`, and the lamps answer. 32 Podium desk units (all
//! delegates) on one Modbus RTU bus over a real pseudo-terminal, played by Podium's
//! desk-unit simulator in this process. Open mode with 25 delegate microphones: every press
//! switches a lamp, the first 25 the microphone relay (and red lamp), the other 7 the green
//! lamp of a waiting request.
//!
//! Measured from the moment the first key goes high (all 32 go high within microseconds)
//! until the simulator decodes the last of the 32 writes that show each press (the burst's
//! time to the last lamp), without a meeting and with an open meeting (every change durable
//! in the journal before it is published); and, from `GET /api/v1/diagnostics`, how many
//! journal transactions the 32 commands took (the writer commits whatever queued up while
//! the previous commit ran).
//!
//! The same burst from 32 networked desk units on MQTT (an external Mosquitto, as in a
//! room with its own broker): 32 key messages published at once, until the last unit's
//! retained outputs show its press; meeting open.
//!
//! Run: `cargo bench -p podium-host --bench key_burst` (add `-- --samples 100`).

#[path = "../../tests/bench/report.rs"]
mod report;
#[path = "../../tests/e2e/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use podium_devices::modbus::desk::{self, DeskKey};
use podium_devices::modbus::sim::SimBus;
use podium_devices::mqtt_units::{DeskTopics, KeyPayload, OutputsPayload};
use report::{Kind, Report, human};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::json;
use support::Daemon;
use support::mosquitto::Mosquitto;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const UNITS: u8 = 32;
const BAUD: u32 = 115_200;
const OPEN_MICROPHONES: u8 = 25;
/// Generous bound for an answer on a loaded machine; never a performance goal.
const PATIENCE: Duration = Duration::from_secs(10);

fn room(link: &str) -> String {
    let mut toml = format!(
        "[room]\nid = \"bench\"\nname = \"Key burst\"\n\n[web]\ntrust_loopback_as = \"chair\"\n\n\
         [discussion]\nmode = \"open\"\nactivation = \"toggle\"\nmax_open_microphones = {OPEN_MICROPHONES}\n\
         max_requests = 50\n\n[[bus]]\nid = \"a\"\npath = \"{link}\"\nbaud = {BAUD}\ndesk_units = [\n"
    );
    for unit in 1..=UNITS {
        toml.push_str(&format!("    {{ unit = {unit}, seat = {unit} }},\n"));
    }
    toml.push_str("]\n");
    for seat in 1..=UNITS {
        toml.push_str(&format!(
            "\n[[seat]]\nnumber = {seat}\nmember = \"m{seat}\"\n[[member]]\nid = \"m{seat}\"\nname = \"Member {seat}\"\n"
        ));
    }
    toml
}

/// The simulator runs on its own thread and runtime, so its work does not queue behind the
/// benchmark's.
fn start_simulator(cancel: &CancellationToken) -> (SimBus, String) {
    let sim = SimBus::desk_units(1..=UNITS, &[], BAUD);
    let (mut paths, _thread) =
        SimBus::serve_on_a_thread(vec![sim.clone()], cancel.clone()).expect("simulator on a pty");
    (sim, paths.remove(0))
}

/// One burst: time to the last lamp, and the journal's transactions meanwhile.
struct Burst {
    last_lamp: Duration,
    commits: u64,
}

/// One phase's bursts.
#[derive(Default)]
struct Phase {
    last_lamp: Vec<Duration>,
    commits: Vec<u64>,
}

struct Bench {
    sim: SimBus,
    daemon: Daemon,
}

impl Bench {
    async fn diagnostics(&self) -> serde_json::Value {
        let (status, body) = self.daemon.get("/api/v1/diagnostics").await;
        assert_eq!(status, 200, "diagnostics: {body}");
        body
    }

    async fn commits(&self) -> u64 {
        self.diagnostics().await["journal"]["commits"].as_u64().expect("journal.commits")
    }

    async fn bus_cycles(&self) -> u64 {
        let (_, devices) = self.daemon.get("/api/v1/devices").await;
        devices["buses"][0]["cycles"].as_u64().unwrap_or(0)
    }

    /// Waits until the bus has begun and finished a whole cycle from now.
    async fn whole_cycle(&self) {
        let start = self.bus_cycles().await;
        while self.bus_cycles().await < start + 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Every key goes down at once; returns when every unit shows its press.
    async fn burst(&mut self) -> Burst {
        let mut changes = self.sim.coil_changes();
        let commits_before = self.commits().await;
        let pressed = Instant::now();
        for unit in 1..=UNITS {
            self.sim.press(unit, DeskKey::Request).expect("unit");
        }
        // The first write that shows a unit's press: the relay of a speaker, the green
        // lamp of a waiting request.
        let mut shown: BTreeMap<u8, Instant> = BTreeMap::new();
        tokio::time::timeout(PATIENCE, async {
            while shown.len() < usize::from(UNITS) {
                match changes.recv().await {
                    Ok(c) if c.on && (c.coil == desk::COIL_MICROPHONE || c.coil == desk::COIL_GREEN) => {
                        shown.entry(c.unit).or_insert(c.at);
                    }
                    Ok(_) => {}
                    Err(e) => panic!("coil changes: {e}"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!("only {} of {UNITS} units showed their press within {PATIENCE:?}", shown.len())
        });
        let last = shown.values().max().copied().expect("32 units");
        // Every change is published only once written: the last lamp means the last commit.
        let commits = self.commits().await - commits_before;
        for unit in 1..=UNITS {
            self.sim.release(unit, DeskKey::Request).expect("unit");
        }
        Burst { last_lamp: last.saturating_duration_since(pressed), commits }
    }

    /// Every microphone off, the list empty, every lamp dark, every key seen released.
    async fn reset(&self) {
        self.whole_cycle().await;
        reset_floor(&self.daemon).await;
        let deadline = Instant::now() + PATIENCE;
        loop {
            let dark = (1..=UNITS).all(|u| {
                [desk::COIL_MICROPHONE, desk::COIL_RED, desk::COIL_GREEN]
                    .iter()
                    .all(|&coil| self.sim.coil(u, coil) == Some(false))
            });
            if dark {
                break;
            }
            assert!(Instant::now() < deadline, "lamps still lit after the reset");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn phase(&mut self, bursts: usize) -> Phase {
        let mut out = Phase::default();
        for _ in 0..bursts {
            let burst = self.burst().await;
            out.last_lamp.push(burst.last_lamp);
            out.commits.push(burst.commits);
            self.reset().await;
        }
        out
    }
}

/// The room with 32 networked desk units on an external broker.
fn mqtt_room(port: u16) -> String {
    let mut toml = format!(
        "[room]\nid = \"bench\"\nname = \"Key burst, MQTT\"\n\n[web]\ntrust_loopback_as = \"chair\"\n\n\
         [mqtt]\nbroker = \"external\"\nhost = \"127.0.0.1\"\nport = {port}\n\n\
         [discussion]\nmode = \"open\"\nactivation = \"toggle\"\nmax_open_microphones = {OPEN_MICROPHONES}\n\
         max_requests = 50\n"
    );
    for unit in 1..=UNITS {
        toml.push_str(&format!("\n[[mqtt_desk_unit]]\nid = \"u{unit}\"\nseat = {unit}\n"));
    }
    for seat in 1..=UNITS {
        toml.push_str(&format!(
            "\n[[seat]]\nnumber = {seat}\nmember = \"m{seat}\"\n[[member]]\nid = \"m{seat}\"\nname = \"Member {seat}\"\n"
        ));
    }
    toml
}

/// Plays the 32 networked units: publishes their keys, reports each outputs message with
/// its arrival time (the client's event loop runs on a thread of its own).
struct MqttUnits {
    client: AsyncClient,
    topics: DeskTopics,
    outputs: mpsc::UnboundedReceiver<(u8, OutputsPayload, Instant)>,
    seq: u32,
}

impl MqttUnits {
    async fn connect(port: u16) -> MqttUnits {
        let mut options = MqttOptions::new("bench-units", "127.0.0.1", port);
        options.set_max_packet_size(1 << 20, 1 << 20).set_keep_alive(Duration::from_secs(30));
        let (client, mut eventloop) = AsyncClient::new(options, 10_000);
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        eventloop.set_network_options(network);
        let topics = DeskTopics::new("podium/v1", "bench");
        let (tx, outputs) = mpsc::unbounded_channel();
        let (connected_tx, connected) = std::sync::mpsc::channel();
        let parse = topics.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            let at = Instant::now();
                            let unit = (1..=UNITS).find(|u| p.topic == parse.outputs(&format!("u{u}")));
                            if let (Some(unit), Ok(payload)) = (unit, serde_json::from_slice(&p.payload)) {
                                let _ = tx.send((unit, payload, at));
                            }
                        }
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            let _ = connected_tx.send(());
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            });
        });
        connected.recv_timeout(PATIENCE).expect("connected to the broker");
        for unit in 1..=UNITS {
            client.subscribe(topics.outputs(&format!("u{unit}")), QoS::AtLeastOnce).await.expect("subscribe");
        }
        MqttUnits { client, topics, outputs, seq: 0 }
    }

    /// Waits until every unit's latest outputs satisfy `shown`; returns when the last one
    /// arrived (the latest arrival among the messages that first satisfied it).
    async fn until_all(
        &mut self,
        latest: &mut BTreeMap<u8, OutputsPayload>,
        shown: impl Fn(&OutputsPayload) -> bool,
    ) -> Instant {
        let mut first_shown: BTreeMap<u8, Instant> = BTreeMap::new();
        let now = Instant::now();
        for (unit, outputs) in latest.iter() {
            if shown(outputs) {
                first_shown.insert(*unit, now);
            }
        }
        tokio::time::timeout(PATIENCE, async {
            while first_shown.len() < usize::from(UNITS) {
                let (unit, outputs, at) = self.outputs.recv().await.expect("outputs");
                if shown(&outputs) {
                    first_shown.entry(unit).or_insert(at);
                } else {
                    first_shown.remove(&unit);
                }
                latest.insert(unit, outputs);
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!("only {} of {UNITS} networked units showed it within {PATIENCE:?}", first_shown.len())
        });
        first_shown.values().max().copied().expect("32 units")
    }

    /// Every unit's key goes down at once.
    async fn press_all(&mut self) {
        self.seq += 1;
        for unit in 1..=UNITS {
            let key = KeyPayload { v: 1, key: DeskKey::Request, pressed: true, seq: self.seq };
            let payload = serde_json::to_vec(&key).expect("json");
            self.client
                .publish(self.topics.key(&format!("u{unit}")), QoS::AtLeastOnce, false, payload)
                .await
                .expect("publish");
        }
    }
}

async fn mqtt_phase(bursts: usize) -> Phase {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::with_config(dir.path(), &mqtt_room(broker.port));
    let mut units = MqttUnits::connect(broker.port).await;
    let mut latest: BTreeMap<u8, OutputsPayload> = BTreeMap::new();
    let dark = |o: &OutputsPayload| !o.microphone && !o.green;
    units.until_all(&mut latest, dark).await;
    let (status, body) = daemon.post_raw("/api/v1/meetings", r#"{"title":"Benchmark"}"#).await;
    assert_eq!(status, 201, "open a meeting: {body}");
    let commits = || async {
        let (_, d) = daemon.get("/api/v1/diagnostics").await;
        d["journal"]["commits"].as_u64().expect("journal.commits")
    };
    let mut out = Phase::default();
    for i in 0..bursts + 3 {
        let before = commits().await;
        let pressed = Instant::now();
        units.press_all().await;
        let last = units.until_all(&mut latest, |o| o.microphone || o.green).await;
        let burst =
            Burst { last_lamp: last.saturating_duration_since(pressed), commits: commits().await - before };
        // The first three warm up.
        if i >= 3 {
            out.last_lamp.push(burst.last_lamp);
            out.commits.push(burst.commits);
        }
        reset_floor(&daemon).await;
        units.until_all(&mut latest, dark).await;
    }
    out
}

/// Every delegate microphone off and the list empty, through the API. Bursts can follow
/// each other faster than the API's 20 commands a second: a refused reset waits its turn.
async fn reset_floor(daemon: &Daemon) {
    for command in [json!({"command": "stop_all"}), json!({"command": "clear_requests"})] {
        loop {
            let (status, body) = daemon.command(command.clone()).await;
            if status == 429 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            assert_eq!(status, 200, "reset: {body}");
            break;
        }
    }
}

/// "p50 a, max b" of a count.
fn counts(values: &[u64]) -> String {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    format!("p50 {}, min {}, max {} (per burst of {UNITS} commands)", at(0.5), sorted[0], at(1.0))
}

#[tokio::main]
async fn main() {
    let bursts: usize =
        std::env::args().skip_while(|a| a != "--samples").nth(1).and_then(|s| s.parse().ok()).unwrap_or(40);
    let cancel = CancellationToken::new();
    let (sim, link) = start_simulator(&cancel);
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::with_config(dir.path(), &room(&link));
    let mut bench = Bench { sim, daemon };

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, devices) = bench.daemon.get("/api/v1/devices").await;
        let online = devices["buses"][0]["units"]
            .as_array()
            .map_or(0, |units| units.iter().filter(|u| u["status"] == "online").count());
        if online == usize::from(UNITS) {
            break;
        }
        assert!(Instant::now() < deadline, "units not online: {devices}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Unmeasured: caches warm, every lamp written once.
    bench.phase(3).await;

    let mut rehearsal = bench.phase(bursts).await;
    let (status, body) = bench.daemon.post_raw("/api/v1/meetings", r#"{"title":"Benchmark"}"#).await;
    assert_eq!(status, 201, "open a meeting: {body}");
    let mut meeting = bench.phase(bursts).await;
    let mut networked = mqtt_phase(bursts).await;

    let mut report = Report::new(
        "key_burst",
        "32 keys at once: time to the last lamp and journal commits (32 desk units on one Modbus RTU bus, and on MQTT)",
        "cargo bench -p podium-host --bench key_burst",
    );
    report.distribution(
        "32 presses → last unit's lamp written, no meeting",
        Kind::Podium,
        &mut rehearsal.last_lamp,
    );
    report.distribution(
        "32 presses → last unit's lamp written, meeting open",
        Kind::Podium,
        &mut meeting.last_lamp,
    );
    report.figure(
        "journal transactions for the 32 commands, meeting open",
        Kind::Podium,
        counts(&meeting.commits),
    );
    report.distribution(
        "MQTT: 32 key messages → last unit's outputs, meeting open",
        Kind::Podium,
        &mut networked.last_lamp,
    );
    report.figure("MQTT: journal transactions for the 32 commands", Kind::Podium, counts(&networked.commits));
    let mut cycle = Vec::new();
    for _ in 0..20 {
        let (_, devices) = bench.daemon.get("/api/v1/devices").await;
        cycle.push(Duration::from_micros(devices["buses"][0]["last_cycle_us"].as_u64().unwrap_or(0)));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report.distribution("bus cycle, 32 polls on the pty (driver's last cycle)", Kind::Limit, &mut cycle);
    report.note(format!(
        "Setup: the real podiumd; {UNITS} Podium desk units on one bus over a pseudo-terminal, \
         played by Podium's desk-unit simulator on its own thread; open mode, toggle activation, \
         {OPEN_MICROPHONES} delegate microphones. Each burst: every unit's microphone key goes down \
         within microseconds (the driver sees them in one or two poll cycles), then every lamp is \
         reset through the API. {bursts} bursts without and {bursts} with an open meeting."
    ));
    report.note(
        "What the figure includes: the wait for each unit's poll (the bus reads the 32 units in \
         turn, so the last press is read up to a cycle after the first), debounce, translation, the \
         session owner and engine for 32 commands, the journal's durable writes when a meeting is \
         open, the snapshots, the output function, and the driver's writes to every unit whose lamps \
         changed (stamped when the simulator decodes the last of them). The bus cycle row is the \
         floor below which no burst can go.",
    );
    report.note(format!(
        "Journal transactions: from `journal.commits` in `GET /api/v1/diagnostics`, read before \
         the burst and after its last lamp; each command is one record, so {UNITS} means one commit \
         per command, fewer means group commits. The bus cycle was {} at the median.",
        human(cycle[cycle.len() / 2])
    ));
    report.note(
        "Why the bus bursts take one commit per command: the driver reads the units one after \
         another, so the 32 edges reach podiumd one poll apart (a few milliseconds on the pty, \
         ~1.6 ms at 115200 baud on a real line), longer than a journal commit takes (see the \
         journal benchmark); each command is written before the next arrives and there is \
         nothing to group. The burst's time is the bus's: the polls, and the writes (each \
         request that queues changes the waiting count shown on every unit). Commands that arrive together (the MQTT rows) \
         or a slower disk let the writer group them, now that the sources do not wait for each \
         answer before handing over the next.",
    );
    report.note(format!(
        "MQTT rows: a second podiumd with {UNITS} `[[mqtt_desk_unit]]` on an external Mosquitto on \
         loopback (acknowledged once handled); one client plays the units, publishes the {UNITS} key \
         messages (QoS 1) back to back and stamps each unit's retained `outputs` on arrival; the \
         figure ends with the last unit whose outputs show its press (microphone or green). \
         {bursts} bursts after 3 unmeasured ones, meeting open; reset through the API as above."
    ));
    report.finish();
    cancel.cancel();
}
