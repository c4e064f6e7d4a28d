//! Benchmark (not a test): 32 simulated Podium desk units on one bus over a real
//! pseudo-terminal. Measures Podium's own processing per poll and from a key edge to the
//! output write that answers it, I/O waits excluded, and prints it next to the wire time
//! of the same frames at 115200 baud (11 bits per character, t3.5 = 1.75 ms after each
//! frame), the physical limit of an RS-485 bus.
//!
//! Run: `cargo bench -p podium-devices --bench modbus_bus` (add `-- --seconds 10` for longer).

#[path = "../../tests/bench/report.rs"]
mod report;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use podium_devices::modbus::bus::{BusDriver, BusEvent, BusOutputs, BusSettings, UnitSpec};
use podium_devices::modbus::desk::{self, DeskKey, DeskOutputs};
use podium_devices::modbus::master::Mark;
use podium_devices::modbus::sim::SimBus;
use podium_devices::modbus::timing;
use podium_devices::serial::{SerialConnector, SerialSettings};
use report::{Kind, Report, human};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

const UNITS: u8 = 32;
const BAUD: u32 = 115_200;

/// `d` as a share of `wire`, in percent.
fn share(d: Duration, wire: Duration) -> f64 {
    100.0 * d.as_secs_f64() / wire.as_secs_f64()
}

/// Adds a Podium distribution and, after it, its p50/p99/max as a share of `wire` (in %).
fn with_share(report: &mut Report, name: &str, samples: &mut [Duration], wire: Duration, of: &str) {
    if let Some(d) = report.distribution(name, Kind::Podium, samples) {
        report.figure(
            &format!("{name} / {of}"),
            Kind::Podium,
            format!(
                "p50 {:.2} %, p99 {:.2} %, max {:.2} %",
                share(d.p50, wire),
                share(d.p99, wire),
                share(d.max, wire)
            ),
        );
    }
}

fn main() {
    let seconds: u64 =
        std::env::args().skip_while(|a| a != "--seconds").nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    runtime.block_on(run(Duration::from_secs(seconds)));
}

async fn run(duration: Duration) {
    let units: Vec<u8> = (1..=UNITS).collect();
    let sim = SimBus::desk_units(units.iter().copied(), &[], BAUD);
    let cancel = CancellationToken::new();
    // The simulated units get their own thread and runtime, so their work is not
    // counted as Podium's and does not queue behind it.
    let (mut paths, sim_thread) =
        SimBus::serve_on_a_thread(vec![sim.clone()], cancel.clone()).expect("simulator on a pty");
    let path = paths.remove(0);

    let mut settings = BusSettings::new("bench");
    settings.rules.baud = BAUD;
    settings.rules.min_cycle = Duration::ZERO;
    settings.rules.response_timeout = Duration::from_millis(100);
    let specs = units.iter().map(|&unit| UnitSpec::new(unit, desk::layout(false))).collect();
    let (events_tx, mut events) = mpsc::channel(1024);
    let (desired_tx, desired_rx) = watch::channel(Arc::new(BusOutputs::new()));
    let (marks_tx, mut marks) = mpsc::unbounded_channel();
    let connector = SerialConnector { settings: SerialSettings::new(path) };
    let (driver, mut health) = BusDriver::new(settings, specs, connector, events_tx, desired_rx);
    tokio::spawn(driver.with_marks(marks_tx).run(cancel.clone()));

    // The bus cycle as the driver measures it (its health after each cycle); the first
    // cycles, while the units come online, are left out.
    let cycles = Arc::new(Mutex::new(Vec::new()));
    let cycle_watch = {
        let cycles = cycles.clone();
        tokio::spawn(async move {
            while health.changed().await.is_ok() {
                let (count, last) = {
                    let h = health.borrow_and_update();
                    (h.cycles, Duration::from_micros(h.last_cycle_us))
                };
                if count > 2 {
                    cycles.lock().expect("cycles").push(last);
                }
            }
        })
    };

    // The owner's part, kept minimal: a request key lights the unit's green lamp.
    let owner = tokio::spawn(async move {
        let mut outputs = BusOutputs::new();
        let mut online = 0;
        while let Some(event) = events.recv().await {
            match event {
                BusEvent::UnitOnline { .. } => online += 1,
                BusEvent::Input { unit, input, pressed: true, .. } if input == DeskKey::Request.input() => {
                    let lit = outputs.get(&unit).is_some_and(|o| o.coils.get(2).copied().unwrap_or(false));
                    let state = DeskOutputs { requested: !lit, ..DeskOutputs::default() };
                    outputs.insert(unit, state.unit_outputs());
                    desired_tx.send_replace(Arc::new(outputs.clone()));
                }
                _ => {}
            }
            let _ = online;
        }
    });

    // Presses: one key click every 20 ms, round the units.
    let started = Instant::now();
    let mut next_unit = 0usize;
    while started.elapsed() < duration {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = sim.click_input(units[next_unit % units.len()], DeskKey::Request.input());
        next_unit += 1;
    }
    cancel.cancel();
    owner.abort();
    cycle_watch.abort();
    let _ = sim_thread.join();

    let (mut poll_processing, mut poll_total, mut write_processing, mut key_processing, mut key_total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut poll_bytes, mut write_bytes) = ((0, 0), (0, 0));
    // Every figure comes from the master's marks: the `now`s the driver fed it, so the
    // driver itself carries no measuring code.
    while let Ok(mark) = marks.try_recv() {
        match mark {
            Mark::Exchange { processing, total, request_bytes, response_bytes, poll: true, .. }
                if response_bytes > 0 =>
            {
                poll_processing.push(processing);
                poll_total.push(total);
                poll_bytes = (request_bytes, response_bytes);
            }
            Mark::Exchange { processing, poll: false, request_bytes, response_bytes, .. }
                if response_bytes > 0 =>
            {
                write_processing.push(processing);
                write_bytes = (request_bytes, response_bytes);
            }
            Mark::KeyToWrite { processing, total, .. } => {
                key_processing.push(processing);
                key_total.push(total);
            }
            _ => {}
        }
    }

    let poll_wire = timing::exchange_time(poll_bytes.0, poll_bytes.1, BAUD);
    let write_wire = timing::exchange_time(write_bytes.0, write_bytes.1, BAUD);
    let cycle_wire = poll_wire * u32::from(UNITS);
    let mut cycles = std::mem::take(&mut *cycles.lock().expect("cycles"));

    let mut report = Report::new(
        "modbus_bus",
        "Desk units: key press → lamp/microphone output (Modbus RTU)",
        "cargo bench -p podium-devices --bench modbus_bus",
    );
    // Podium's processing (I/O waits excluded) against the wire time of the same frames.
    report.figure(
        &format!("wire time of one poll ({}+{} bytes), computed", poll_bytes.0, poll_bytes.1),
        Kind::Limit,
        human(poll_wire),
    );
    with_share(&mut report, "per poll: processing", &mut poll_processing, poll_wire, "wire time");
    report.figure(
        &format!("wire time of one output write ({}+{} bytes), computed", write_bytes.0, write_bytes.1),
        Kind::Limit,
        human(write_wire),
    );
    with_share(&mut report, "per output write: processing", &mut write_processing, write_wire, "wire time");
    report.figure("wire time of one poll + one write, computed", Kind::Limit, human(poll_wire + write_wire));
    with_share(
        &mut report,
        "key edge → write: processing",
        &mut key_processing,
        poll_wire + write_wire,
        "(poll + write) wire time",
    );
    // On the pseudo-terminal: no wire delay, but the simulator and the t3.5 waits.
    report.figure(
        &format!("wire time of a cycle of {UNITS} polls + one write, computed"),
        Kind::Limit,
        human(cycle_wire + write_wire),
    );
    report.distribution(
        &format!("bus cycle of {UNITS} polls on the pty, measured"),
        Kind::Limit,
        &mut cycles,
    );
    with_share(&mut report, "per poll: total on the pty", &mut poll_total, poll_wire, "wire time");
    with_share(
        &mut report,
        "key edge → write: total on the pty",
        &mut key_total,
        cycle_wire + write_wire,
        "(cycle + write) wire time",
    );
    report.note(format!(
        "{UNITS} simulated desk units on one bus over a real pseudo-terminal for {} s, a request key \
         clicked every 20 ms round the units and answered by lighting the unit's lamp; the driver \
         runs on one worker thread, the simulator on its own thread.",
        duration.as_secs()
    ));
    report.note(format!(
        "Wire time is computed from the frames actually exchanged: {BAUD} baud, 11 bits per \
         character, t3.5 = 1.75 ms after each frame (request and answer)."
    ));
    report.note(
        "Processing is Podium's own work (encode, decode, bookkeeping, events), I/O waits \
         excluded: the driver's turns from waking up to handing the master a fresh time when it \
         asks for the next frame, as the master's marks report them; key edge → write runs from \
         the key edge being decoded to the confirmed write that answers it.",
    );
    report.note(
        "Totals on the pty have no wire delay but include the simulator and the t3.5 waits. Key \
         edge → write starts when the poll answer showing the edge is decoded, so it leaves out \
         the wait for that poll; the cycle + write wire time beside it is the most a press waits \
         on a real wire (its poll up to a cycle later, then the write).",
    );
    report.finish();
}
