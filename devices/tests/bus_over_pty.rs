//! The bus driver against simulated desk units over real pseudo-terminals: real RTU
//! bytes, real CRCs, real unplugs.

mod support;

use std::sync::Arc;
use std::time::Duration;

use podium_devices::modbus::bus::Block;
use podium_devices::modbus::bus::{BusEvent, BusOutputs, UnitLayout, UnitOutputs, UnitSpec, UnitStatus};
use podium_devices::modbus::desk::{self, DeskKey, DeskOutputs};
use podium_devices::modbus::sim::{Fault, SimBus, SimUnit};
use support::*;

fn desk_specs(units: &[u8]) -> Vec<UnitSpec> {
    units.iter().map(|&unit| UnitSpec::new(unit, desk::layout(unit == 1))).collect()
}

fn speaking(name: &str) -> UnitOutputs {
    DeskOutputs { microphone: true, speaking: true, name: name.into(), ..DeskOutputs::default() }
        .unit_outputs()
}

fn unit_health(
    h: &podium_devices::modbus::bus::BusHealth,
    unit: u8,
) -> podium_devices::modbus::bus::UnitHealth {
    h.units.iter().find(|u| u.unit == unit).cloned().expect("unit in health")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_edges_reach_the_owner_and_only_changed_outputs_are_written() {
    let mut pty = Pty::new();
    let link = Link::to(&pty.path);
    let sim = SimBus::desk_units([1, 2, 3], &[1], 115_200);
    let _sim = serve(&sim, &mut pty);
    let mut driver = start_driver(test_settings("a"), desk_specs(&[1, 2, 3]), &link.path);
    all_online(&mut driver.events, &[1, 2, 3]).await;

    sim.press(2, DeskKey::Request).expect("unit 2");
    let event =
        expect_event(&mut driver.events, "request key of unit 2", |e| matches!(e, BusEvent::Input { .. }))
            .await;
    assert_eq!(
        event,
        BusEvent::Input { bus: "a".into(), unit: 2, input: DeskKey::Request.input(), pressed: true }
    );
    sim.release(2, DeskKey::Request).expect("unit 2");
    let event = expect_event(&mut driver.events, "release", |e| matches!(e, BusEvent::Input { .. })).await;
    assert!(matches!(event, BusEvent::Input { unit: 2, pressed: false, .. }), "{event:?}");

    // Desired state: unit 2 speaks. The driver writes coils and display.
    let mut outputs = BusOutputs::new();
    outputs.insert(2, speaking("Anna Müller"));
    driver.desired.send_replace(Arc::new(outputs.clone()));
    assert!(
        sim.wait_until(PATIENCE, |s| s
            .view(2)
            .and_then(|v| v.desk)
            .is_some_and(|d| d.red && d.microphone && d.name == "Anna Müller"))
            .await,
        "unit 2 shows speaking: {:?}",
        sim.view(2)
    );
    let writes_before =
        expect_health(&mut driver.health, "writes recorded", |h| unit_health(h, 2).writes >= 2).await;
    let writes_before = unit_health(&writes_before, 2).writes;

    // One lamp changes: exactly one more write (a single coil), nothing else rewritten.
    let mut changed = DeskOutputs {
        microphone: true,
        speaking: true,
        time_warning: true,
        name: "Anna Müller".into(),
        ..DeskOutputs::default()
    };
    outputs.insert(2, changed.unit_outputs());
    driver.desired.send_replace(Arc::new(outputs.clone()));
    assert!(sim.wait_until(PATIENCE, |s| s.coil(2, desk::COIL_BLINK) == Some(true)).await);
    let health =
        expect_health(&mut driver.health, "the blink write", |h| unit_health(h, 2).writes > writes_before)
            .await;
    // Give the driver a few more cycles to do anything extra it (wrongly) might.
    let cycles = health.cycles;
    let health = expect_health(&mut driver.health, "more cycles", |h| h.cycles >= cycles + 5).await;
    assert_eq!(unit_health(&health, 2).writes, writes_before + 1, "only the changed coil is written");

    // Units without desired outputs are left alone.
    assert_eq!(sim.view(3).and_then(|v| v.desk).map(|d| d.red), Some(false));
    changed.time_warning = false;
    assert_eq!(unit_health(&health, 1).crc_errors + unit_health(&health, 2).timeouts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_unit_goes_offline_while_the_others_are_served_and_is_rewritten_when_back() {
    let mut pty = Pty::new();
    let link = Link::to(&pty.path);
    let sim = SimBus::desk_units([1, 2, 3], &[1], 115_200);
    let _sim = serve(&sim, &mut pty);
    let mut driver = start_driver(test_settings("a"), desk_specs(&[1, 2, 3]), &link.path);
    all_online(&mut driver.events, &[1, 2, 3]).await;
    let mut outputs = BusOutputs::new();
    outputs.insert(3, speaking("Jonas Weber"));
    driver.desired.send_replace(Arc::new(outputs));
    assert!(sim.wait_until(PATIENCE, |s| s.coil(3, desk::COIL_RED) == Some(true)).await);

    sim.set_fault(3, Fault::Silent, 0).expect("unit 3");
    expect_event(&mut driver.events, "unit 3 offline", |e| {
        matches!(e, BusEvent::UnitOffline { unit: 3, .. })
    })
    .await;
    // Meanwhile the others still answer: a key on unit 2 still arrives.
    sim.press(2, DeskKey::PointOfOrder).expect("unit 2");
    expect_event(&mut driver.events, "unit 2 key while 3 is offline", |e| {
        matches!(e, BusEvent::Input { unit: 2, pressed: true, .. })
    })
    .await;

    // The unit restarts (its lamps go dark) and comes back: the driver writes them again.
    sim.power_cycle(3).expect("unit 3");
    assert_eq!(sim.coil(3, desk::COIL_RED), Some(false));
    sim.set_fault(3, Fault::None, 0).expect("unit 3");
    expect_event(&mut driver.events, "unit 3 online", |e| matches!(e, BusEvent::UnitOnline { unit: 3, .. }))
        .await;
    assert!(
        sim.wait_until(PATIENCE, |s| s.coil(3, desk::COIL_RED) == Some(true)
            && s.coil(3, desk::COIL_MICROPHONE) == Some(true))
            .await,
        "outputs restored: {:?}",
        sim.view(3)
    );
    let health = expect_health(&mut driver.health, "unit 3 online in health", |h| {
        unit_health(h, 3).status == UnitStatus::Online
    })
    .await;
    let three = unit_health(&health, 3);
    assert_eq!(three.went_offline, 1);
    assert!(three.timeouts >= 3, "{three:?}");
    assert_eq!(unit_health(&health, 2).timeouts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_and_dropped_answers_are_counted_against_their_unit() {
    let mut pty = Pty::new();
    let link = Link::to(&pty.path);
    let sim = SimBus::desk_units([1, 2], &[], 115_200);
    let _sim = serve(&sim, &mut pty);
    let mut driver = start_driver(test_settings("a"), desk_specs(&[1, 2]), &link.path);
    all_online(&mut driver.events, &[1, 2]).await;

    sim.set_fault(1, Fault::Corrupt, 2).expect("unit 1");
    sim.set_fault(2, Fault::Drop, 2).expect("unit 2");
    let health = expect_health(&mut driver.health, "two CRC errors on 1 and two timeouts on 2", |h| {
        unit_health(h, 1).crc_errors >= 2 && unit_health(h, 2).timeouts >= 2
    })
    .await;
    let (one, two) = (unit_health(&health, 1), unit_health(&health, 2));
    assert_eq!((one.crc_errors, one.timeouts), (2, 0), "{one:?}");
    assert_eq!((two.crc_errors, two.timeouts), (0, 2), "{two:?}");
    // Two misses are fewer than the three that mean offline.
    assert_eq!((one.went_offline, two.went_offline), (0, 0));
    let later = expect_health(&mut driver.health, "answers again", |h| h.cycles > health.cycles + 3).await;
    assert_eq!(unit_health(&later, 1).status, UnitStatus::Online);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_that_restarts_between_polls_raises_its_flag_and_gets_its_outputs_back() {
    let mut pty = Pty::new();
    let link = Link::to(&pty.path);
    let sim = SimBus::desk_units([5], &[], 115_200);
    let _sim = serve(&sim, &mut pty);
    let mut driver = start_driver(test_settings("a"), desk_specs(&[5]), &link.path);
    all_online(&mut driver.events, &[5]).await;
    let mut outputs = BusOutputs::new();
    outputs.insert(5, speaking("Eva"));
    driver.desired.send_replace(Arc::new(outputs));
    assert!(sim.wait_until(PATIENCE, |s| s.coil(5, desk::COIL_RED) == Some(true)).await);
    assert_eq!(sim.input(5, desk::INPUT_OUTPUTS_RESET), Some(false), "the write cleared the power-up flag");

    // No missed poll: only the unit's flag tells the driver.
    sim.power_cycle(5).expect("unit 5");
    assert!(sim.wait_until(PATIENCE, |s| s.coil(5, desk::COIL_RED) == Some(true)).await, "{:?}", sim.view(5));
    let health = driver.health.borrow().clone();
    assert_eq!(unit_health(&health, 5).went_offline, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplugging_the_port_takes_units_offline_and_replugging_restores_them() {
    let mut pty = Pty::new();
    let link = Link::to(&pty.path);
    let sim = SimBus::desk_units([1, 2], &[1], 115_200);
    let serving = serve(&sim, &mut pty);
    let mut driver = start_driver(test_settings("a"), desk_specs(&[1, 2]), &link.path);
    all_online(&mut driver.events, &[1, 2]).await;
    let mut outputs = BusOutputs::new();
    outputs.insert(2, speaking("Max"));
    driver.desired.send_replace(Arc::new(outputs));
    assert!(sim.wait_until(PATIENCE, |s| s.coil(2, desk::COIL_RED) == Some(true)).await);

    // Pull the adapter: the pty disappears and so does its by-id link.
    serving.cancel();
    pty.unplug();
    link.remove();
    expect_event(&mut driver.events, "link lost", |e| matches!(e, BusEvent::Link { connected: false, .. }))
        .await;
    expect_event(&mut driver.events, "unit 2 offline", |e| {
        matches!(e, BusEvent::UnitOffline { unit: 2, .. })
    })
    .await;
    expect_health(&mut driver.health, "failed reopen attempts", |h| {
        !h.link.connected && h.link.open_failures >= 2
    })
    .await;

    // The units lose power meanwhile; plug a new adapter in under the same link.
    sim.power_cycle(1).expect("unit 1");
    sim.power_cycle(2).expect("unit 2");
    let mut replugged = Pty::new();
    link.point_to(&replugged.path);
    let _serving = serve(&sim, &mut replugged);
    expect_event(&mut driver.events, "link back", |e| matches!(e, BusEvent::Link { connected: true, .. }))
        .await;
    all_online(&mut driver.events, &[1, 2]).await;
    assert!(
        sim.wait_until(PATIENCE, |s| s.coil(2, desk::COIL_RED) == Some(true)
            && s.coil(2, desk::COIL_MICROPHONE) == Some(true))
            .await,
        "outputs restored after replug: {:?}",
        sim.view(2)
    );
    let health = driver.health.borrow().clone();
    assert_eq!(health.link.disconnects, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_buses_run_side_by_side_with_generic_io_modules() {
    let (mut pty_a, mut pty_b) = (Pty::new(), Pty::new());
    let (link_a, link_b) = (Link::to(&pty_a.path), Link::to(&pty_b.path));
    // Bus b: an off-the-shelf module with 8 inputs and 8 coils and no registers.
    let sim_a = SimBus::desk_units([1], &[], 115_200);
    let sim_b = SimBus::new([(7, SimUnit::io_module(8, 8, 0))], 115_200);
    let (_a, _b) = (serve(&sim_a, &mut pty_a), serve(&sim_b, &mut pty_b));
    let mut a = start_driver(test_settings("a"), desk_specs(&[1]), &link_a.path);
    let module = UnitLayout {
        inputs: Some(Block { start: 3, count: 2 }),
        coils: Some(Block { start: 5, count: 1 }),
        registers: None,
        outputs_reset_input: None,
        credential: None,
    };
    let mut b = start_driver(test_settings("b"), vec![UnitSpec::new(7, module)], &link_b.path);
    all_online(&mut a.events, &[1]).await;
    all_online(&mut b.events, &[7]).await;

    sim_b.set_input(7, 4, true).expect("input 4");
    let event =
        expect_event(&mut b.events, "input 4 of unit 7", |e| matches!(e, BusEvent::Input { .. })).await;
    assert_eq!(event, BusEvent::Input { bus: "b".into(), unit: 7, input: 4, pressed: true });
    let mut outputs = BusOutputs::new();
    outputs.insert(7, UnitOutputs { coils: vec![true], ..UnitOutputs::default() });
    b.desired.send_replace(Arc::new(outputs));
    assert!(sim_b.wait_until(PATIENCE, |s| s.coil(7, 5) == Some(true)).await);
    assert_eq!(sim_b.coil(7, 4), Some(false), "only coil 5 is ours");

    sim_a.press(1, DeskKey::Reply).expect("unit 1");
    let event =
        expect_event(&mut a.events, "reply key on bus a", |e| matches!(e, BusEvent::Input { .. })).await;
    assert_eq!(
        event,
        BusEvent::Input { bus: "a".into(), unit: 1, input: DeskKey::Reply.input(), pressed: true }
    );
    tokio::time::sleep(Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_rewrites_are_spread_over_the_resync_period() {
    const UNITS: [u8; 4] = [1, 2, 3, 4];
    let resync = Duration::from_millis(1200);
    let mut pty = Pty::new();
    let link = Link::to(&pty.path);
    let sim = SimBus::desk_units(UNITS, &[], 115_200);
    let _sim = serve(&sim, &mut pty);
    let mut settings = test_settings("stagger");
    settings.rules.resync = resync;
    let mut driver = start_driver(settings, desk_specs(&UNITS), &link.path);
    all_online(&mut driver.events, &UNITS).await;
    let mut outputs = BusOutputs::new();
    for unit in UNITS {
        outputs.insert(unit, speaking(&format!("Unit {unit}")));
    }
    driver.desired.send_replace(Arc::new(outputs));
    // Outputs never change from here on: every later write is a periodic rewrite.
    let first = expect_health(&mut driver.health, "first writes", |h| {
        UNITS.iter().all(|&u| unit_health(h, u).writes >= 1)
    })
    .await;
    let started = tokio::time::Instant::now();
    let mut seen: Vec<u64> = UNITS.iter().map(|&u| unit_health(&first, u).writes).collect();
    let mut rewritten_at: Vec<Option<Duration>> = vec![None; UNITS.len()];
    // Watch one resync period (plus margin) and note when each unit is first rewritten.
    while started.elapsed() < resync + Duration::from_millis(600) && rewritten_at.iter().any(Option::is_none)
    {
        let _ = tokio::time::timeout(Duration::from_millis(50), driver.health.changed()).await;
        let health = driver.health.borrow_and_update().clone();
        for (k, &unit) in UNITS.iter().enumerate() {
            let writes = unit_health(&health, unit).writes;
            // The first writes of a unit may take a few exchanges; a rewrite comes later.
            if writes > seen[k] && started.elapsed() < Duration::from_millis(100) {
                seen[k] = writes;
            } else if writes > seen[k] && rewritten_at[k].is_none() {
                rewritten_at[k] = Some(started.elapsed());
            }
        }
    }
    let times: Vec<Duration> =
        rewritten_at.iter().map(|t| t.expect("every unit rewritten within one period")).collect();
    let spread = *times.iter().max().unwrap() - *times.iter().min().unwrap();
    // Spread evenly, the rewrites lie 3/4 of a period apart first to last; all at once
    // they would fall into one bus cycle (tens of milliseconds).
    assert!(spread >= resync / 3, "rewrites bunched together: {times:?}");
}
