//! Benchmark (not a test): 32 simulated Podium desk units on one bus over a real
//! pseudo-terminal. Measures Podium's own processing per poll and from a key edge to the
//! output write that answers it, I/O waits excluded, and prints it next to the wire time
//! of the same frames at 115200 baud (11 bits per character, t3.5 = 1.75 ms after each
//! frame), the physical limit of an RS-485 bus.
//!
//! Run: `cargo bench -p podium-devices --bench modbus_bus` (add `-- --seconds 10` for longer).

use std::sync::Arc;
use std::time::{Duration, Instant};

use podium_devices::modbus::bus::{BusDriver, BusEvent, BusOutputs, BusSettings, Timing, UnitSpec};
use podium_devices::modbus::desk::{self, DeskKey, DeskOutputs};
use podium_devices::modbus::sim::SimBus;
use podium_devices::modbus::timing;
use podium_devices::serial::{SerialConnector, SerialSettings, pty};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

const UNITS: u8 = 32;
const BAUD: u32 = 115_200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn row(name: &str, mut samples: Vec<Duration>, wire: Duration) {
    samples.sort();
    let (p50, p99, max) =
        (percentile(&samples, 50.0), percentile(&samples, 99.0), percentile(&samples, 100.0));
    let share = |d: Duration| 100.0 * d.as_secs_f64() / wire.as_secs_f64();
    println!(
        "{name:<34} n={:<6} p50 {:>8.1} µs  p99 {:>8.1} µs  max {:>8.1} µs | wire {:>7.0} µs | p50 {:>5.2}%  p99 {:>5.2}%  max {:>6.2}%",
        samples.len(),
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        max.as_secs_f64() * 1e6,
        wire.as_secs_f64() * 1e6,
        share(p50),
        share(p99),
        share(max),
    );
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
    let port = pty().expect("pseudo-terminal");
    let path = port.path.clone();
    let cancel = CancellationToken::new();

    // The simulated units get their own thread and runtime, so their work is not
    // counted as Podium's and does not queue behind it.
    let sim_thread = {
        let (sim, cancel, master) = (sim.clone(), cancel.clone(), port.master);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let _ = sim.serve(master, cancel).await;
            });
        })
    };
    let _keep_open = port.slave;

    let mut settings = BusSettings::new("bench");
    settings.baud = BAUD;
    settings.min_cycle = Duration::ZERO;
    settings.response_timeout = Duration::from_millis(100);
    let specs = units.iter().map(|&unit| UnitSpec { unit, layout: desk::layout(false) }).collect();
    let (events_tx, mut events) = mpsc::channel(1024);
    let (desired_tx, desired_rx) = watch::channel(Arc::new(BusOutputs::new()));
    let (timing_tx, mut timings) = mpsc::unbounded_channel();
    let connector = SerialConnector { settings: SerialSettings::new(path) };
    let (driver, _health) = BusDriver::new(settings, specs, connector, events_tx, desired_rx);
    tokio::spawn(driver.with_timing(timing_tx).run(cancel.clone()));

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
    let _ = sim_thread.join();

    let (mut poll_processing, mut poll_total, mut write_processing, mut key_processing, mut key_total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut poll_bytes, mut write_bytes) = ((0, 0), (0, 0));
    while let Ok(sample) = timings.try_recv() {
        match sample {
            Timing::Exchange { processing, total, request_bytes, response_bytes, poll: true }
                if response_bytes > 0 =>
            {
                poll_processing.push(processing);
                poll_total.push(total);
                poll_bytes = (request_bytes, response_bytes);
            }
            Timing::Exchange { processing, poll: false, request_bytes, response_bytes, .. }
                if response_bytes > 0 =>
            {
                write_processing.push(processing);
                write_bytes = (request_bytes, response_bytes);
            }
            Timing::KeyToWrite { processing, total } => {
                key_processing.push(processing);
                key_total.push(total);
            }
            _ => {}
        }
    }

    let poll_wire = timing::exchange_time(poll_bytes.0, poll_bytes.1, BAUD);
    let write_wire = timing::exchange_time(write_bytes.0, write_bytes.1, BAUD);
    let cycle_wire = poll_wire * u32::from(UNITS);
    println!();
    println!("modbus_bus: {UNITS} simulated desk units on one pseudo-terminal, {} s", duration.as_secs());
    println!(
        "wire time at {BAUD} baud, 11 bits/char, t3.5 after each frame: poll {}+{} bytes = {:.0} µs, write {}+{} bytes = {:.0} µs, one cycle of {UNITS} polls = {:.1} ms",
        poll_bytes.0,
        poll_bytes.1,
        poll_wire.as_secs_f64() * 1e6,
        write_bytes.0,
        write_bytes.1,
        write_wire.as_secs_f64() * 1e6,
        cycle_wire.as_secs_f64() * 1e3
    );
    println!("Podium's processing (I/O waits excluded) against the wire time of the same frames:");
    row("per poll: processing", poll_processing, poll_wire);
    row("per output write: processing", write_processing, write_wire);
    row("key edge -> write: processing", key_processing, poll_wire + write_wire);
    println!(
        "for reference, on the pseudo-terminal (no wire delay; includes the simulator and the t3.5 waits):"
    );
    row("per poll: total", poll_total, poll_wire);
    row("key edge -> write: total", key_total, cycle_wire + write_wire);
}
