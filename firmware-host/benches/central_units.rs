//! Benchmark (not a test): a key at a central unit → the microphone on at that unit, end to
//! end through the real `podiumd`, for a simulated Shure DCS (TCP 3142 lines), a simulated
//! Televic CoCon server (HTTP long poll) and a simulated Bosch DICENTIS server (WebSocket
//! JSON), all in this process on their own thread. Open mode: the floor grants a request at
//! once.
//!
//! Measured from the key at the simulated unit until the unit has applied Podium's
//! `mic_on` (Shure), `SetState On` (CoCon) or `GrantSpeech` (DICENTIS; the simulator applies it
//! 50 ms after answering, as the real server works asynchronously, so that row carries those
//! 50 ms). The path: the unit's line or event to podiumd,
//! the floor's command (journaled before it is published), the unit's new desired lists,
//! the command back. Beside it, in the same run, the raw transport the path rides on: a
//! loopback TCP round trip, and an HTTP/1.1 request to the simulated CoCon server on a
//! kept-alive connection; Podium's part is the path minus one such round trip.
//!
//! Run: `cargo bench -p podium-host --bench central_units` (add `-- --samples 500`).

#[path = "../../tests/bench/report.rs"]
mod report;
#[path = "../../tests/e2e/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use podium_devices::central::cocon::sim::SimCocon;
use podium_devices::central::dicentis::sim::SimDicentis;
use podium_devices::central::shure_dcs::sim::SimDcs;
use report::{Kind, Report, human};
use support::Daemon;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Seats per unit: each key costs its seat two commands (the request and the switch-off),
/// and a seat may send five a second (its desk rate limit), so presses rotate over many.
const SEATS: u16 = 32;
/// Generous bound for an answer on a loaded machine; never a performance goal.
const PATIENCE: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Shure,
    Cocon,
    Dicentis,
}

/// A key at `seat` of `unit`. With `reply`: answers when the unit shows its microphone on
/// (or `None`); without: the switch-off, not measured.
struct Press {
    unit: Unit,
    seat: u16,
    reply: Option<oneshot::Sender<Option<Duration>>>,
}

fn room(dcs: &str, cocon: &str, bosch: &str) -> String {
    let mut toml = format!(
        "[room]\nid = \"bench\"\nname = \"Central units\"\n\n[web]\ntrust_loopback_as = \"chair\"\n\n\
         [discussion]\nmode = \"open\"\nactivation = \"toggle\"\nmax_open_microphones = 1\n\n\
         [[central_unit]]\nname = \"dcs\"\nprotocol = \"shure_dcs\"\ntcp = \"{dcs}\"\nseats = [{}]\n\n\
         [[central_unit]]\nname = \"cocon\"\nprotocol = \"televic_cocon\"\ntcp = \"{cocon}\"\nseats = [{}]\n\n\
         [[central_unit]]\nname = \"dicentis\"\nprotocol = \"bosch_dicentis\"\ntcp = \"{bosch}\"\ntls = false\n\
         user = \"podium\"\npassword = \"bench\"\nseats = [{}]\n",
        (1..=SEATS).map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
        (SEATS + 1..=2 * SEATS).map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
        (2 * SEATS + 1..=3 * SEATS).map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
    );
    for seat in 1..=3 * SEATS {
        toml.push_str(&format!(
            "\n[[seat]]\nnumber = {seat}\nmember = \"m{seat}\"\n[[member]]\nid = \"m{seat}\"\nname = \"Member {seat}\"\n"
        ));
    }
    toml
}

/// The simulators on their own thread and runtime: the press and the wait for the unit's
/// microphone happen there, so the stamps are the unit's own.
fn start_simulators(cancel: &CancellationToken) -> (mpsc::UnboundedSender<Press>, String, String, String) {
    let (press_tx, mut presses) = mpsc::unbounded_channel::<Press>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let cancel = cancel.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let loopback = "127.0.0.1:0".parse().expect("addr");
            let dcs = SimDcs::new(&(1..=SEATS).map(|s| (s, false)).collect::<Vec<_>>());
            let dcs_addr = dcs.serve(loopback, cancel.clone()).await.expect("dcs");
            let seats: Vec<u16> = (SEATS + 1..=2 * SEATS).collect();
            let cocon = SimCocon::new(&seats, Duration::from_secs(30));
            let cocon_addr = cocon.serve(loopback, cancel.clone()).await.expect("cocon");
            // DICENTIS seats are named by their number (the room file's default).
            let names: Vec<String> = (2 * SEATS + 1..=3 * SEATS).map(|s| s.to_string()).collect();
            let bosch = SimDicentis::new(&names.iter().map(String::as_str).collect::<Vec<_>>(), "bench");
            let bosch_addr = bosch.serve(loopback, cancel.clone()).await.expect("dicentis");
            addr_tx
                .send((dcs_addr.to_string(), cocon_addr.to_string(), bosch_addr.to_string()))
                .expect("addresses");
            while let Some(press) = presses.recv().await {
                let Some(reply) = press.reply else {
                    // The delegate switches off again at the unit.
                    match press.unit {
                        Unit::Shure => dcs.press(press.seat),
                        Unit::Cocon => cocon.press(press.seat),
                        Unit::Dicentis => bosch.press(&press.seat.to_string()),
                    }
                    continue;
                };
                let started = Instant::now();
                let on = match press.unit {
                    Unit::Shure => {
                        dcs.press(press.seat);
                        dcs.wait_for(PATIENCE, |f| f.speakers.contains(&press.seat)).await
                    }
                    Unit::Cocon => {
                        cocon.press(press.seat);
                        cocon.wait_for(PATIENCE, |f| f.speakers.contains(&press.seat)).await
                    }
                    Unit::Dicentis => {
                        let name = press.seat.to_string();
                        bosch.press(&name);
                        bosch.wait_for(PATIENCE, |l| l.0.contains(&name)).await
                    }
                };
                let _ = reply.send(on.then(|| started.elapsed()));
            }
        });
    });
    let (dcs, cocon, bosch) = addr_rx.recv().expect("simulator addresses");
    (press_tx, dcs, cocon, bosch)
}

async fn no_speaker(daemon: &Daemon) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, state) = daemon.get("/api/v1/state").await;
        if state["floor"]["speakers"].as_array().is_some_and(Vec::is_empty) {
            return;
        }
        assert!(Instant::now() < deadline, "the floor kept a speaker: {}", state["floor"]["speakers"]);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Shure => "dcs",
        Unit::Cocon => "cocon",
        Unit::Dicentis => "dicentis",
    }
}

/// Waits until the unit's health shows `seat`'s microphone on (as Podium last read it).
async fn seen_on(daemon: &Daemon, name: &str, seat: u16) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, devices) = daemon.get("/api/v1/devices/room").await;
        let state = devices["devices"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["name"] == name))
            .and_then(|d| d["state"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let on = state.strip_prefix("on: ").and_then(|s| s.split(';').next()).unwrap_or_default();
        if on.split(", ").any(|s| s == seat.to_string()) {
            return;
        }
        assert!(Instant::now() < deadline, "{name} never showed seat {seat} on: {state}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn read(daemon: &Daemon, name: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, devices) = daemon.get("/api/v1/devices/room").await;
        let unit = devices["devices"].as_array().and_then(|d| d.iter().find(|d| d["name"] == name).cloned());
        if unit.is_some_and(|u| !u["state"].is_null()) {
            return;
        }
        assert!(Instant::now() < deadline, "{name} was never read");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn samples_arg() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--samples")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let samples = samples_arg();
    let cancel = CancellationToken::new();
    let (presses, dcs, cocon, bosch) = start_simulators(&cancel);
    let dir = tempfile::tempdir().expect("temp dir");
    let daemon = Daemon::with_config(dir.path(), &room(&dcs, &cocon, &bosch));
    read(&daemon, "dcs").await;
    read(&daemon, "cocon").await;
    read(&daemon, "dicentis").await;

    let mut report = Report::new(
        "central_units",
        "Central units: key at the unit → microphone on at the unit (Shure DCS, Televic CoCon, Bosch DICENTIS)",
        "cargo bench -p podium-host --bench central_units",
    );
    let mut paths = Vec::new();
    let units = [
        (Unit::Shure, "Shure DCS (TCP 3142)", 1),
        (Unit::Cocon, "Televic CoCon (HTTP 8890)", SEATS + 1),
        (Unit::Dicentis, "Bosch DICENTIS (WebSocket 31416)", 2 * SEATS + 1),
    ];
    for (unit, name, first) in units {
        let mut taken = Vec::with_capacity(samples);
        for i in 0..samples {
            let seat = first + (i as u16 % SEATS);
            let (reply, answer) = oneshot::channel();
            presses.send(Press { unit, seat, reply: Some(reply) }).expect("simulator thread");
            let elapsed =
                answer.await.expect("answer").unwrap_or_else(|| panic!("{name}: seat {seat} never opened"));
            taken.push(elapsed);
            // Off only once Podium has seen it on: a unit that reports its lists (DICENTIS,
            // CoCon's coalesced state) cannot show an on and off between two of its reads.
            seen_on(&daemon, unit_name(unit), seat).await;
            presses.send(Press { unit, seat, reply: None }).expect("simulator thread");
            no_speaker(&daemon).await;
        }
        let d = report.distribution(
            &format!("{name}: key → microphone on at the unit"),
            Kind::Podium,
            &mut taken,
        );
        paths.push((name, d));
    }

    let mut tcp = tokio::task::spawn_blocking(|| report::loopback_round_trips(2000)).await.expect("loopback");
    let tcp = report.distribution("Limit: loopback TCP round trip (64 bytes)", Kind::Limit, &mut tcp);
    let client = reqwest::Client::new();
    let url = format!("http://{cocon}/CoCon/Microphone/GetState");
    let mut http = Vec::new();
    for i in 0..600 {
        let started = Instant::now();
        let answer = client.get(&url).send().await.expect("GetState");
        let _ = answer.text().await.expect("body");
        if i >= 100 {
            http.push(started.elapsed());
        }
    }
    let http = report.distribution(
        "Limit: HTTP/1.1 request to the CoCon simulator (kept alive)",
        Kind::Limit,
        &mut http,
    );
    // What the path rides on besides Podium: Shure a line each way (one TCP round trip);
    // CoCon an event on the open poll and a request (one HTTP request); DICENTIS an event,
    // the list read and the command (two round trips on the WebSocket's TCP) and the
    // simulator's 50 ms before it applies a command.
    let riding = [
        tcp.map(|t| (t.p50, "one TCP round trip")),
        http.map(|h| (h.p50, "one HTTP request")),
        tcp.map(|t| (2 * t.p50 + Duration::from_millis(50), "two TCP round trips and the simulator's 50 ms")),
    ];
    for ((name, path), limit) in paths.into_iter().zip(riding) {
        if let (Some(path), Some((limit, what))) = (path, limit) {
            report.figure(
                &format!("{name}: Podium's part (p50 of the path − {what})"),
                Kind::Podium,
                human(path.p50.saturating_sub(limit)),
            );
        }
    }
    report.note(
        "Open mode, no meeting: every floor change is written to the journal (SQLite, synchronous=FULL, in a temporary \
         directory) before the unit is told. The Shure path is a line to podiumd and a line back; the CoCon path is an \
         event on the open long poll and a SetState request; the DICENTIS path is an event, a GetDiscussionList and a \
         GrantSpeech on the WebSocket, the simulator applying the grant 50 ms after its answer (as the real server \
         changes its list after answering). The simulators run in this process on one thread of their own.",
    );
    report.finish();
    cancel.cancel();
}
