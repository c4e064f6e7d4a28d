//! Benchmark (not a test): key press → microphone relay write on desk buses of 32 and 64
//! units at 115200, 460800 and 921600 baud.
//!
//! Two measurements per bus, each beside the computed best and worst case of plain
//! round-robin polling at the same speed:
//! - **on the wire, computed**: the pure master against simulated units on virtual time
//!   (`modbus::wire`), every frame taking its wire time and every unit answering after its
//!   own silence, so the figure is what a real line takes with exactly the exchanges the
//!   scheduler chose (rests included);
//! - **on a pseudo-terminal, measured**: the real driver (precise timer, one thread, as in
//!   podiumd) against the simulator on its own thread; a pty has no wire delay, so beside
//!   it stands the wire time of the exchanges the driver made between press and write.
//!
//! Presses come at random phases, half on priority units (the chair's unit, the speaker,
//! three waiting requests: units 1, 5, 9, 13, 17), half on idle units (a new request).
//! Last, the driver thread's CPU time on an idle 921600-baud bus of 32 Podium units,
//! beside the same bus as before this change (guide timing, round-robin, tokio's timer).
//!
//! Run: `cargo bench -p podium-devices --bench desk_bus_speed`.

#[path = "../../tests/bench/report.rs"]
mod report;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use podium_devices::modbus::bus::{
    BusDriver, BusEvent, BusOutputs, BusSettings, LineTiming, UnitOutputs, UnitSpec,
};
use podium_devices::modbus::codec::Request;
use podium_devices::modbus::desk::{self, DeskKey, DeskOutputs};
use podium_devices::modbus::master::{Mark, MasterSettings};
use podium_devices::modbus::sim::{SimBus, SimUnit};
use podium_devices::modbus::timing;
use podium_devices::modbus::wire::VirtualBus;
use podium_devices::serial::{SerialConnector, SerialSettings};
use report::{Kind, Report, human};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

const BAUDS: [u32; 3] = [115_200, 460_800, 921_600];
const SIZES: [u8; 2] = [32, 64];
const PRIORITY_UNITS: [u8; 5] = [1, 5, 9, 13, 17];
const WIRE_SAMPLES: usize = 400;
const PTY_SAMPLES: usize = 120;
/// A poll of a Podium desk unit (8-byte request, 7-byte answer) and a coil write (8 + 8).
const POLL: (usize, usize) = (8, 7);
const WRITE: (usize, usize) = (8, 8);

/// How a bus is scheduled and timed.
#[derive(Clone, Copy)]
struct Plan {
    name: &'static str,
    timing: LineTiming,
    priority: bool,
    /// `priority_every` when `priority`.
    every: u32,
}

const ROUND_ROBIN: Plan = Plan {
    name: "round-robin, guide timing (before)",
    timing: LineTiming::Modbus,
    priority: false,
    every: 0,
};
const SCHEDULED: Plan = Plan {
    name: "priority polls (after every 2nd poll, the default), guide timing",
    timing: LineTiming::Modbus,
    priority: true,
    every: 2,
};
const SCHEDULED_3: Plan = Plan {
    name: "priority polls after every 3rd poll, guide timing",
    timing: LineTiming::Modbus,
    priority: true,
    every: 3,
};
const PODIUM: Plan =
    Plan { name: "priority polls, Podium timing", timing: LineTiming::Podium, priority: true, every: 2 };

/// A small deterministic generator (the phases need not be cryptographic, only spread).
struct Phases(u64);

impl Phases {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    /// The unit of press number `sample`: even presses on a priority unit, odd ones on an
    /// idle unit (one of `idle`); whether it is a priority unit, and which.
    fn pick(&mut self, sample: usize, idle: &[u8]) -> (bool, u8) {
        if sample.is_multiple_of(2) {
            (true, PRIORITY_UNITS[self.below(PRIORITY_UNITS.len() as u64) as usize])
        } else {
            (false, idle[self.below(idle.len() as u64) as usize])
        }
    }
}

fn rules(baud: u32, plan: Plan) -> MasterSettings {
    let mut rules = MasterSettings::new("bench");
    rules.baud = baud;
    rules.priority_every = if plan.priority { plan.every } else { 0 };
    rules
}

fn specs(units: u8, plan: Plan) -> Vec<UnitSpec> {
    (1..=units).map(|u| UnitSpec { timing: plan.timing, ..UnitSpec::new(u, desk::layout(u == 1)) }).collect()
}

/// The owner's part: the microphone as toggled so far, the priority units marked.
fn outputs(units: u8, speaking: &BTreeMap<u8, bool>, plan: Plan) -> Arc<BusOutputs> {
    let outputs = (1..=units)
        .map(|u| {
            let on = speaking.get(&u).copied().unwrap_or(false);
            let desk = DeskOutputs { microphone: on, speaking: on, ..DeskOutputs::default() };
            let priority = plan.priority && PRIORITY_UNITS.contains(&u);
            (u, UnitOutputs { priority, ..desk.unit_outputs() })
        })
        .collect();
    Arc::new(outputs)
}

fn is_relay_write(request: &Request) -> bool {
    let relay = desk::COIL_MICROPHONE;
    match request {
        Request::WriteSingleCoil { address, .. } => *address == relay,
        Request::WriteMultipleCoils { address, values } => {
            (*address..*address + values.len() as u16).contains(&relay)
        }
        _ => false,
    }
}

/// Press → relay write on virtual time, for presses on priority units and on idle ones.
fn on_the_wire(units: u8, baud: u32, plan: Plan) -> (Vec<Duration>, Vec<Duration>) {
    let start = Instant::now();
    let sims = (1..=units).map(|u| (u, SimUnit::desk(u == 1))).collect();
    let mut bus = VirtualBus::new(rules(baud, plan), specs(units, plan), sims, start);
    let mut speaking = BTreeMap::new();
    bus.set_desired(outputs(units, &speaking, plan));
    let settle = bus.now() + Duration::from_secs(2);
    while bus.now() < settle {
        bus.step(settle);
    }
    while bus.poll_event().is_some() {}
    let cycle = timing::exchange_time(POLL.0, POLL.1, baud) * u32::from(units);
    let mut phases = Phases(0x9E37_79B9_7F4A_7C15 ^ u64::from(baud) ^ u64::from(units));
    let (mut priority, mut idle) = (Vec::new(), Vec::new());
    let idle_units: Vec<u8> = (1..=units).filter(|u| !PRIORITY_UNITS.contains(u)).collect();
    for sample in 0..WIRE_SAMPLES {
        let (on_priority, unit) = phases.pick(sample, &idle_units);
        // A random phase of the cycle, then the key goes down.
        let until = bus.now() + Duration::from_nanos(phases.below(cycle.as_nanos() as u64 * 2));
        while bus.now() < until {
            bus.step(until);
        }
        let key = usize::from(DeskKey::Request.input());
        bus.unit_mut(unit).expect("unit").inputs[key] = true;
        let pressed = bus.now();
        let limit = pressed + Duration::from_secs(5);
        // The relay write that answers the press: after its edge (a periodic rewrite of the
        // unit before the poll does not count).
        let mut seen = false;
        let written = loop {
            assert!(bus.now() < limit, "unit {unit}: no relay write within 5 s");
            let sent = bus.step(limit);
            while let Some(event) = bus.poll_event() {
                if let BusEvent::Input { unit: u, pressed: true, .. } = event {
                    seen |= u == unit;
                    let on = speaking.entry(u).or_insert(false);
                    *on = !*on;
                    bus.set_desired(outputs(units, &speaking, plan));
                }
            }
            if let Some(sent) = sent
                && seen
                && sent.unit == unit
                && is_relay_write(&sent.request)
            {
                break sent.delivered;
            }
        };
        (if on_priority { &mut priority } else { &mut idle }).push(written - pressed);
        bus.unit_mut(unit).expect("unit").inputs[key] = false;
        // Until the release has been polled, then past the debounce hold-off, so the next
        // press on this unit is an edge again.
        let limit = bus.now() + Duration::from_secs(5);
        let mut released = false;
        while !released {
            assert!(bus.now() < limit, "unit {unit}: release not seen within 5 s");
            bus.step(limit);
            while let Some(event) = bus.poll_event() {
                released |= matches!(event, BusEvent::Input { unit: u, pressed: false, .. } if u == unit);
            }
        }
        let quiet = bus.now() + Duration::from_millis(40);
        while bus.now() < quiet {
            bus.step(quiet);
        }
        while bus.poll_event().is_some() {}
    }
    (priority, idle)
}

/// Computed best and worst case of plain round-robin: the press just before its unit's
/// poll (poll + write), or just after it (a whole cycle + the write).
fn round_robin_bounds(units: u8, baud: u32, timing: LineTiming) -> (Duration, Duration) {
    let poll = timing.exchange_time(POLL.0, POLL.1, baud);
    let write = timing.exchange_time(WRITE.0, WRITE.1, baud);
    (poll + write, poll * u32::from(units) + write)
}

struct PtyRun {
    priority: Vec<Duration>,
    idle: Vec<Duration>,
    /// Wire time of the exchanges the driver made between each press and its write.
    wire: Vec<Duration>,
}

/// Serves `sim` on a pty from a thread of its own; its path and the thread.
fn serve_on_a_pty(sim: SimBus, cancel: CancellationToken) -> (String, std::thread::JoinHandle<()>) {
    let (mut paths, thread) = SimBus::serve_on_a_thread(vec![sim], cancel).expect("simulator on a pty");
    (paths.remove(0), thread)
}

/// Press → relay on a pseudo-terminal with the real driver.
fn on_a_pty(units: u8, baud: u32, plan: Plan) -> PtyRun {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(pty_run(units, baud, plan))
}

async fn pty_run(units: u8, baud: u32, plan: Plan) -> PtyRun {
    let sim = SimBus::desk_units(1..=units, &[1], baud);
    let cancel = CancellationToken::new();
    let (path, sim_thread) = serve_on_a_pty(sim.clone(), cancel.clone());
    let settings = BusSettings { rules: rules(baud, plan), ..BusSettings::new("bench") };
    let (events_tx, mut events) = mpsc::channel(1024);
    let (desired_tx, desired_rx) = watch::channel(outputs(units, &BTreeMap::new(), plan));
    let (marks_tx, mut marks) = mpsc::unbounded_channel();
    let connector = SerialConnector { settings: SerialSettings::new(path) };
    let (driver, _health) = BusDriver::new(settings, specs(units, plan), connector, events_tx, desired_rx);
    tokio::spawn(driver.with_marks(marks_tx).run(cancel.clone()));
    // The owner: a request key toggles the unit's microphone.
    tokio::spawn(async move {
        let mut speaking = BTreeMap::new();
        while let Some(event) = events.recv().await {
            if let BusEvent::Input { unit, pressed: true, .. } = event {
                let on = speaking.entry(unit).or_insert(false);
                *on = !*on;
                desired_tx.send_replace(outputs(units, &speaking, plan));
            }
        }
    });
    let mut relays = sim.coil_changes();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut phases = Phases(0x2545_F491_4F6C_DD1D ^ u64::from(baud) ^ u64::from(units));
    let idle_units: Vec<u8> = (1..=units).filter(|u| !PRIORITY_UNITS.contains(u)).collect();
    let mut run = PtyRun { priority: Vec::new(), idle: Vec::new(), wire: Vec::new() };
    for sample in 0..PTY_SAMPLES {
        let (on_priority, unit) = phases.pick(sample, &idle_units);
        tokio::time::sleep(Duration::from_micros(phases.below(30_000))).await;
        while marks.try_recv().is_ok() {}
        while relays.try_recv().is_ok() {}
        let pressed = Instant::now();
        sim.press(unit, DeskKey::Request).expect("unit");
        let written = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match relays.recv().await {
                    Ok(change) if change.unit == unit && change.coil == desk::COIL_MICROPHONE => {
                        return change.at;
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(error) => panic!("relay changes: {error}"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("unit {unit}: no relay write within 5 s"));
        (if on_priority { &mut run.priority } else { &mut run.idle }).push(written - pressed);
        // The wire time of what the driver sent meanwhile (each exchange at its unit's timing).
        let mut wire = Duration::ZERO;
        while let Ok(mark) = marks.try_recv() {
            if let Mark::Exchange { request_bytes, response_bytes, .. } = mark {
                wire += plan.timing.exchange_time(request_bytes, response_bytes, baud);
            }
        }
        run.wire.push(wire);
        sim.release(unit, DeskKey::Request).expect("unit");
        // Until the driver has polled the release (a cycle on the pty is under 30 ms even
        // with 64 units) and past the debounce hold-off.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cancel.cancel();
    let _ = sim_thread.join();
    run
}

/// CPU of the driver's thread on an idle bus of 32 units (only the chair's unit marked
/// for priority, as in a room where nobody waits or speaks): its share of a core over
/// `span`, the exchanges per second it made, and its CPU time per exchange.
fn idle_cpu(baud: u32, plan: Plan, precise: bool, span: Duration) -> (f64, f64, Duration) {
    let sim = SimBus::desk_units(1..=32, &[1], baud);
    let cancel = CancellationToken::new();
    let (path, sim_thread) = serve_on_a_pty(sim, cancel.clone());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let figures = runtime.block_on(async {
        let settings = BusSettings { rules: rules(baud, plan), ..BusSettings::new("bench") };
        let (events_tx, mut events) = mpsc::channel(1024);
        let mut idle = outputs(32, &BTreeMap::new(), plan).as_ref().clone();
        for (unit, outputs) in &mut idle {
            outputs.priority = plan.priority && *unit == 1;
        }
        let (_desired_tx, desired_rx) = watch::channel(Arc::new(idle));
        let connector = SerialConnector { settings: SerialSettings::new(path) };
        let (driver, health) = BusDriver::new(settings, specs(32, plan), connector, events_tx, desired_rx);
        let driver = if precise { driver } else { driver.with_coarse_timer() };
        tokio::spawn(driver.run(cancel.clone()));
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        tokio::time::sleep(Duration::from_secs(1)).await;
        let thread_cpu = || {
            let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).expect("clock");
            Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
        };
        let requests = || health.borrow().units.iter().map(|u| u.requests).sum::<u64>();
        let (cpu, wall, sent) = (thread_cpu(), Instant::now(), requests());
        tokio::time::sleep(span).await;
        let (cpu, wall, sent) = (thread_cpu() - cpu, wall.elapsed(), requests() - sent);
        let share = 100.0 * cpu.as_secs_f64() / wall.as_secs_f64();
        (share, sent as f64 / wall.as_secs_f64(), cpu / u32::try_from(sent.max(1)).unwrap_or(u32::MAX))
    });
    cancel.cancel();
    drop(runtime);
    let _ = sim_thread.join();
    figures
}

fn main() {
    let mut report = Report::new(
        "desk_bus_speed",
        "Desk buses at every size and speed: key press → microphone relay (Modbus RTU)",
        "cargo bench -p podium-devices --bench desk_bus_speed",
    );
    let mut goals = Vec::new();
    for units in SIZES {
        for baud in BAUDS {
            let plans: &[Plan] = if baud == 115_200 {
                &[ROUND_ROBIN, SCHEDULED, SCHEDULED_3, PODIUM]
            } else {
                &[ROUND_ROBIN, PODIUM]
            };
            for &timing in &[LineTiming::Modbus, LineTiming::Podium] {
                let (best, worst) = round_robin_bounds(units, baud, timing);
                let timing_name = if timing == LineTiming::Modbus { "guide" } else { "Podium" };
                report.figure(
                    &format!("{units} units, {baud} baud: plain round-robin, {timing_name} timing, computed best / worst"),
                    Kind::Limit,
                    format!("{} / {}", human(best), human(worst)),
                );
            }
            for &plan in plans {
                let (mut priority, mut idle) = on_the_wire(units, baud, plan);
                let mut all: Vec<Duration> = priority.iter().chain(&idle).copied().collect();
                let label =
                    |what: &str| format!("{units} units, {baud} baud, {}: {what}, on the wire", plan.name);
                let p = report.distribution(
                    &label("press on a priority unit → relay"),
                    Kind::Podium,
                    &mut priority,
                );
                report.distribution(&label("press on an idle unit → relay"), Kind::Podium, &mut idle);
                let every = report.distribution(&label("every press → relay"), Kind::Podium, &mut all);
                if units == 32 && baud == 921_600 && plan.timing == LineTiming::Podium {
                    goals.push(format!(
                        "32 Podium units at 921600 baud: p99 press → relay {} on the wire (goal < 25 ms)",
                        every.map_or("—".into(), |d| human(d.p99))
                    ));
                }
                if units == 32 && baud == 115_200 && plan.timing == LineTiming::Modbus && plan.priority {
                    let (_, worst) = round_robin_bounds(units, baud, LineTiming::Modbus);
                    goals.push(format!(
                        "32 units at 115200 baud, scheduling alone ({}): p99 {} on priority units, {} on every press; half of round-robin's worst case is {}",
                        plan.name,
                        p.map_or("—".into(), |d| human(d.p99)),
                        every.map_or("—".into(), |d| human(d.p99)),
                        human(worst / 2)
                    ));
                }
            }
            let mut run = on_a_pty(units, baud, PODIUM);
            let label =
                |what: &str| format!("{units} units, {baud} baud, {}: {what}, on the pty", PODIUM.name);
            report.distribution(&label("press on a priority unit → relay"), Kind::Podium, &mut run.priority);
            report.distribution(&label("press on an idle unit → relay"), Kind::Podium, &mut run.idle);
            report.distribution(
                &label("wire time of the exchanges made meanwhile, computed"),
                Kind::Limit,
                &mut run.wire,
            );
        }
    }
    let span = Duration::from_secs(5);
    let cases = [
        ("115200 baud, guide timing, round-robin, tokio's timer (before)", 115_200, ROUND_ROBIN, false),
        ("921600 baud, guide timing, round-robin, tokio's timer", 921_600, ROUND_ROBIN, false),
        ("921600 baud, Podium timing, priority polls, tokio's timer", 921_600, PODIUM, false),
        ("921600 baud, Podium timing, priority polls, timerfd (now)", 921_600, PODIUM, true),
    ];
    for (name, baud, plan, precise) in cases {
        let (share, rate, per_exchange) = idle_cpu(baud, plan, precise, span);
        report.figure(
            &format!("idle CPU of the driver thread, 32 units on a pty: {name}"),
            Kind::Podium,
            format!(
                "{share:.2} % of a core; {rate:.0} exchanges/s, {} CPU per exchange",
                human(per_exchange)
            ),
        );
    }
    for goal in goals {
        report.note(goal);
    }
    report.note(
        "On the wire, computed: the pure master and simulated units on virtual time (`podium_devices::modbus::wire`): 11 bits per character, each frame followed by the addressed unit's silence (the guide's 1.75 ms above 19200 baud, or 3.5 characters for Podium timing), units answering without processing time, the bus's default 20 ms minimum cycle and 30 ms debounce; the write is stamped when its last byte reaches the unit. 400 presses per row set, at random phases, alternately on a priority unit (units 1, 5, 9, 13, 17: the chair, a speaker, three waiting requests) and on an idle unit.",
    );
    report.note(
        "On the pty, measured: the real driver on one thread with its timerfd, the simulator on its own thread, 120 presses at random phases, stamped from the press to the simulator decoding the relay write. A pty has no wire delay: the limit row beside it is the wire time the same exchanges would take. Idle CPU: CLOCK_THREAD_CPUTIME_ID of the driver's thread over 5 s (the simulator's thread not counted), only the chair's unit marked for priority; a pty answers at once, so the bus polls as fast as its timing, the 20 ms minimum cycle and the priority interval allow: the exchanges per second say how much work each row did, the CPU per exchange what the timer method costs.",
    );
    report.finish();
}
