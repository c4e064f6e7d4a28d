//! Benchmark (not a test): key press → open microphone, end to end through the real
//! `podiumd`. 32 Podium desk units (the chair's and 31 delegates') on one Modbus RTU bus
//! over a real pseudo-terminal, played by Podium's desk-unit simulator in this process;
//! a simulated Shure MXA on loopback TCP whose 8 channels follow the seats' microphones.
//! Open mode: a member's key opens the microphone at once, a second press closes it.
//!
//! Measured from the moment the simulated unit's key input goes high until the simulator
//! decodes the write that switches that unit's microphone relay on (and until the MXA
//! simulator has applied the unmute of the seat's channel), without a meeting and with an
//! open meeting (every change durable in the journal before it is published). Beside it,
//! the measured bus cycle and the computed wire time of one poll cycle and the write at
//! the bus's baud rate.
//!
//! Run: `cargo bench -p podium-host --bench key_to_mic` (add `-- --samples 500`).

#[path = "../../tests/bench/report.rs"]
mod report;
#[path = "../../tests/e2e/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use podium_devices::modbus::codec::{self, Request, Response};
use podium_devices::modbus::desk::{self, DeskKey};
use podium_devices::modbus::sim::SimBus;
use podium_devices::modbus::timing;
use podium_devices::shure::sim::SimMxa;
use report::{Kind, Report, human};
use support::Daemon;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

const UNITS: u8 = 32;
const BAUD: u32 = 115_200;
const CHANNELS: u8 = 8;
/// Longer than the 30 ms debounce, so every edge counts.
const HOLD: Duration = Duration::from_millis(50);
/// Generous bound for an answer on a loaded machine; never a performance goal.
const PATIENCE: Duration = Duration::from_secs(10);

/// The MXA channel of a delegate's seat (seats 2 to 32 share 8 channels).
fn channel_of(seat: u8) -> u8 {
    1 + (seat - 2) % CHANNELS
}

fn room(link: &str, mxa: &str) -> String {
    let mut toml = format!(
        "[room]\nid = \"bench\"\nname = \"Key to microphone\"\n\n[web]\ntrust_loopback_as = \"chair\"\n\n\
         [discussion]\nmode = \"open\"\nactivation = \"toggle\"\nmax_open_microphones = 1\n\n\
         [[bus]]\nid = \"a\"\npath = \"{link}\"\nbaud = {BAUD}\ndesk_units = [\n"
    );
    for unit in 1..=UNITS {
        let chair = if unit == 1 { ", chair = true" } else { "" };
        toml.push_str(&format!("    {{ unit = {unit}, seat = {unit}{chair} }},\n"));
    }
    toml.push_str(&format!("]\n\n[[microphone]]\nname = \"ceiling\"\ntcp = \"{mxa}\"\n"));
    for channel in 1..=CHANNELS {
        let seats: Vec<String> =
            (2..=UNITS).filter(|&s| channel_of(s) == channel).map(|s| s.to_string()).collect();
        toml.push_str(&format!("[[microphone.zone]]\nchannel = {channel}\nseats = [{}]\n", seats.join(", ")));
    }
    for seat in 1..=UNITS {
        let role = if seat == 1 { "role = \"chair\"\n" } else { "" };
        toml.push_str(&format!(
            "\n[[seat]]\nnumber = {seat}\nmember = \"m{seat}\"\n[[member]]\nid = \"m{seat}\"\nname = \"Member {seat}\"\n{role}"
        ));
    }
    toml
}

/// Asks the MXA thread to stamp the moment a channel reaches a mute state.
struct MxaWatch {
    channel: u8,
    muted: bool,
    reply: oneshot::Sender<Option<Instant>>,
}

/// The simulators run on their own threads and runtimes, so their work does not queue
/// behind the benchmark's and the daemon's process has the rest of the machine.
fn start_simulators(cancel: &CancellationToken) -> (SimBus, String, mpsc::UnboundedSender<MxaWatch>, String) {
    let sim = SimBus::desk_units(1..=UNITS, &[1], BAUD);
    let (mut paths, _thread) =
        SimBus::serve_on_a_thread(vec![sim.clone()], cancel.clone()).expect("simulator on a pty");
    let link = paths.remove(0);

    let mxa = SimMxa::new(CHANNELS);
    let (watch_tx, mut watch_rx) = mpsc::unbounded_channel::<MxaWatch>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let addr =
                    mxa.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("mxa");
                addr_tx.send(addr.to_string()).expect("addr");
                while let Some(watch) = watch_rx.recv().await {
                    let mxa = mxa.clone();
                    tokio::spawn(async move {
                        let reached = mxa.wait_for(PATIENCE, watch.channel, watch.muted).await;
                        let _ = watch.reply.send(reached.then(Instant::now));
                    });
                }
            });
        });
    }
    let mxa_addr = addr_rx.recv().expect("mxa address");
    (sim, link, watch_tx, mxa_addr)
}

/// One phase's samples.
#[derive(Default)]
struct Samples {
    open_desk: Vec<Duration>,
    open_mxa: Vec<Duration>,
    close_desk: Vec<Duration>,
    cycle: Vec<Duration>,
}

struct Bench {
    sim: SimBus,
    mxa: mpsc::UnboundedSender<MxaWatch>,
    daemon: Daemon,
    rng: u64,
}

impl Bench {
    /// A pseudo-random pause up to `max`, so presses fall at every phase of the poll cycle.
    fn jitter(&mut self, max: Duration) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        max.mul_f64((self.rng % 10_000) as f64 / 10_000.0)
    }

    /// Presses the microphone key of `unit`; returns when the relay shows `on` and the
    /// MXA channel the matching mute state: (press → relay write, press → MXA).
    async fn press(&mut self, unit: u8, on: bool) -> (Duration, Option<Duration>) {
        let (reply, mxa) = oneshot::channel();
        let watch = MxaWatch { channel: channel_of(unit), muted: !on, reply };
        self.mxa.send(watch).expect("mxa thread");
        let mut changes = self.sim.coil_changes();
        // The watcher subscribes during this pause; presses land anywhere in the cycle.
        tokio::time::sleep(Duration::from_millis(5) + self.jitter(Duration::from_millis(110))).await;
        let pressed = Instant::now();
        self.sim.press(unit, DeskKey::Request).expect("unit");
        let relay = tokio::time::timeout(PATIENCE, async {
            loop {
                match changes.recv().await {
                    Ok(c) if c.unit == unit && c.coil == desk::COIL_MICROPHONE && c.on == on => break c.at,
                    Ok(_) => {}
                    Err(e) => panic!("coil changes: {e}"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("unit {unit}: microphone relay not switched {on} within {PATIENCE:?}"));
        let mxa = mxa.await.expect("mxa reply").map(|at| at.saturating_duration_since(pressed));
        tokio::time::sleep(HOLD).await;
        self.sim.release(unit, DeskKey::Request).expect("unit");
        // A key let go and pressed again between two polls of its unit is no press at
        // all: wait until a whole cycle has begun and ended after the release.
        tokio::time::sleep(HOLD).await;
        let (released_at, _) = self.bus_cycle().await;
        while self.bus_cycle().await.0 < released_at + 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (relay.saturating_duration_since(pressed), mxa)
    }

    async fn bus_cycle(&self) -> (u64, Duration) {
        let (_, devices) = self.daemon.get("/api/v1/devices").await;
        let bus = &devices["buses"][0];
        (
            bus["cycles"].as_u64().unwrap_or(0),
            Duration::from_micros(bus["last_cycle_us"].as_u64().unwrap_or(0)),
        )
    }

    async fn phase(&mut self, samples: usize) -> (Samples, Duration) {
        let mut out = Samples::default();
        let (cycles_before, _) = self.bus_cycle().await;
        let started = Instant::now();
        for i in 0..samples {
            let unit = 2 + (i % usize::from(UNITS - 1)) as u8;
            let (desk, mxa) = self.press(unit, true).await;
            out.open_desk.push(desk);
            out.open_mxa.extend(mxa);
            let (desk, _) = self.press(unit, false).await;
            out.close_desk.push(desk);
            if i % 10 == 0 {
                out.cycle.push(self.bus_cycle().await.1);
            }
        }
        let (cycles_after, _) = self.bus_cycle().await;
        let period = started.elapsed() / u32::try_from(cycles_after - cycles_before).unwrap_or(1).max(1);
        (out, period)
    }
}

#[tokio::main]
async fn main() {
    let samples: usize =
        std::env::args().skip_while(|a| a != "--samples").nth(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let cancel = CancellationToken::new();
    let (sim, link, mxa, mxa_addr) = start_simulators(&cancel);
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::with_config(dir.path(), &room(&link, &mxa_addr));
    let mut bench = Bench { sim, mxa, daemon, rng: 0x9E37_79B9_7F4A_7C15 };

    // Every unit online, then a few unmeasured presses (the MXA link is up, caches warm).
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
    for unit in 2..6 {
        let (_, mxa) = bench.press(unit, true).await;
        assert!(mxa.is_some(), "the MXA channel of seat {unit} did not open");
        bench.press(unit, false).await;
    }

    let (mut rehearsal, rehearsal_period) = bench.phase(samples).await;
    let (status, body) = bench.daemon.post_raw("/api/v1/meetings", r#"{"title":"Benchmark"}"#).await;
    assert_eq!(status, 201, "open a meeting: {body}");
    let (mut meeting, meeting_period) = bench.phase(samples).await;

    // The physical limit: the same frames on a real line at the bus's baud rate.
    let frame = |encode: &dyn Fn(&mut Vec<u8>)| {
        let mut out = Vec::new();
        encode(&mut out);
        out.len()
    };
    let poll_request = frame(&|out| {
        let read = Request::ReadDiscreteInputs { address: 0, quantity: desk::INPUT_COUNT };
        codec::encode_request(2, &read, out).expect("encode");
    });
    let poll_response = frame(&|out| {
        let bits = vec![false; usize::from(desk::INPUT_COUNT)];
        codec::encode_response(2, &Response::ReadDiscreteInputs { bits }, out).expect("encode");
    });
    // Microphone relay and red lamp together (coils 0 and 1).
    let write_request = frame(&|out| {
        let write = Request::WriteMultipleCoils { address: 0, values: vec![true, true] };
        codec::encode_request(2, &write, out).expect("encode");
    });
    let write_response = frame(&|out| {
        codec::encode_response(2, &Response::WriteMultipleCoils { address: 0, quantity: 2 }, out)
            .expect("encode");
    });
    let poll_wire = timing::exchange_time(poll_request, poll_response, BAUD);
    let write_wire = timing::exchange_time(write_request, write_response, BAUD);
    let cycle_wire = poll_wire * u32::from(UNITS);

    let mut report = Report::new(
        "key_to_mic",
        "Key press to open microphone, through podiumd (32 desk units, one Modbus RTU bus)",
        "cargo bench -p podium-host --bench key_to_mic",
    );
    report.distribution(
        "key press → relay write at the unit, no meeting",
        Kind::Podium,
        &mut rehearsal.open_desk,
    );
    report.distribution(
        "key press → relay write, meeting open (journal)",
        Kind::Podium,
        &mut meeting.open_desk,
    );
    report.distribution("key press → MXA channel unmuted, no meeting", Kind::Podium, &mut rehearsal.open_mxa);
    report.distribution("key press → MXA channel unmuted, meeting open", Kind::Podium, &mut meeting.open_mxa);
    report.distribution("second press → relay off, meeting open", Kind::Podium, &mut meeting.close_desk);
    let mut cycles: Vec<Duration> = rehearsal.cycle.iter().chain(&meeting.cycle).copied().collect();
    report.distribution("bus cycle, 32 polls on the pty (driver's last cycle)", Kind::Podium, &mut cycles);
    report.figure(
        "bus cycle period on the pty (cycles counted)",
        Kind::Podium,
        format!(
            "{} no meeting, {} meeting open ({} per poll)",
            human(rehearsal_period),
            human(meeting_period),
            human(rehearsal_period / u32::from(UNITS))
        ),
    );
    report.figure(
        "computed: one poll cycle + the write, 115200 baud",
        Kind::Limit,
        format!(
            "{} (32 × {} poll + {} write)",
            human(cycle_wire + write_wire),
            human(poll_wire),
            human(write_wire)
        ),
    );
    report.figure(
        "computed: the unit's own poll + the write, 115200 baud",
        Kind::Limit,
        human(poll_wire + write_wire),
    );
    report.note(format!(
        "Setup: the real podiumd; {UNITS} Podium desk units on one bus over a pseudo-terminal, \
         played by Podium's desk-unit simulator on its own thread; open mode, one delegate \
         microphone; a simulated Shure MXA on loopback TCP, 8 channels following seats 2–32. \
         Each sample: a unit's microphone key goes down (at a random phase of the poll cycle), \
         is held {} ms, released until the bus has polled it again; a second press closes the microphone again. Units 2–32 in turn.",
        HOLD.as_millis()
    ));
    report.note(
        "What the figure includes: the wait for the unit's next poll (up to one bus cycle), the \
         poll exchange, debounce, translation to a command, the session owner and engine, the \
         journal's durable write when a meeting is open, the snapshot, the output function, the \
         driver picking up the new outputs before its next poll, the t3.5 line silence, writes to \
         units earlier on the bus that changed too (the chair's display), a unit's periodic \
         rewrite (every 30 s per unit, the units spread over the period) if the press falls into it, and the write frame \
         reaching the unit (stamped when the simulator decodes it, before it answers). The MXA \
         row ends when the simulator applied `SET AUDIO_MUTE OFF` for the seat's channel (stamped \
         by a watcher task on the simulator's thread: its wake-up adds microseconds).",
    );
    report.note(format!(
        "Not included: wire time. A pseudo-terminal delivers bytes at once; only the driver's \
         t3.5 silences are kept (slept on a timerfd to within microseconds; a poll on the pty \
         also takes the simulator's and the driver's turns, see the cycle period), and the \
         simulator answers without waiting for t3.5 after the request. The second press is on \
         the unit whose microphone is open, which the bus polls with priority (after every \
         second poll of the round), so it does not wait for the round. On a real line at {BAUD} baud a poll exchange takes {} and one \
         cycle of {UNITS} polls {}, so expect the wait for the poll to grow to up to that cycle: \
         the limit rows give the wire time a press waits at worst (one full cycle and the write) \
         and at best (its own poll and the write), whatever the software does.",
        human(poll_wire),
        human(cycle_wire)
    ));
    report.finish();
    cancel.cancel();
}
