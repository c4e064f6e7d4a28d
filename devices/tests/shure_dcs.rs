//! The Shure central unit's driver against the simulated unit over real TCP on loopback:
//! the unit follows the floor, keys at the unit come back as reports, a restarted unit
//! converges again, malformed lines are counted and change nothing.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use podium_devices::central::shure_dcs::codec::{Command, MicMode};
use podium_devices::central::shure_dcs::core::CoreSettings;
use podium_devices::central::shure_dcs::sim::SimDcs;
use podium_devices::central::shure_dcs::{self, CentralHandle};
use podium_devices::central::{SeatChange, SeatReport};
use support::central::{WAIT, floor, next_report, until};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

async fn start(
    sim: &SimDcs,
    cancel: &CancellationToken,
) -> (CentralHandle, mpsc::Receiver<(String, SeatReport)>) {
    start_with(sim, cancel, CoreSettings::default()).await
}

async fn start_with(
    sim: &SimDcs,
    cancel: &CancellationToken,
    settings: CoreSettings,
) -> (CentralHandle, mpsc::Receiver<(String, SeatReport)>) {
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let addr = sim.serve(loopback, cancel.clone()).await.expect("serve");
    let (tx, rx) = mpsc::channel(64);
    let (handle, _task) = shure_dcs::spawn("dcs", addr, settings, tx, None, cancel.clone());
    (handle, rx)
}

#[tokio::test]
async fn the_unit_follows_the_floor_and_its_keys_come_back_as_reports() {
    let cancel = CancellationToken::new();
    let sim = SimDcs::new(&[(1, true), (2, false), (3, false), (4, false)]);
    let (handle, mut reports) = start(&sim, &cancel).await;
    // Podium sets the unit to manual and reads it before anything else.
    assert!(until(|| sim.mode() == MicMode::Manual && handle.seen().is_some()).await);
    assert_eq!(sim.commands()[..2], ["mic_mode manual", "mic_status"]);

    sim.press(3);
    assert_eq!(next_report(&mut reports).await, SeatReport { seat: 3, change: SeatChange::RequestOn });
    // The floor grants seat 3 and keeps 2 waiting: the unit shows exactly that.
    handle.set_desired(floor(&[3], &[2]));
    assert!(sim.wait_for(WAIT, |f| *f == floor(&[3], &[2])).await, "unit: {:?}", sim.floor());
    // The delegate switches off at the unit: reported, not hidden.
    sim.press(3);
    assert_eq!(next_report(&mut reports).await, SeatReport { seat: 3, change: SeatChange::MicOff });
    // The floor did not let them (the report went nowhere here): the unit is corrected.
    assert!(sim.wait_for(WAIT, |f| f.speakers.contains(&3)).await);
    let health = handle.health();
    assert!(health.connected && health.counters.completed >= 2, "{health:?}");
    cancel.cancel();
}

#[tokio::test]
async fn a_restarted_unit_converges_to_the_floor_and_bad_lines_change_nothing() {
    let cancel = CancellationToken::new();
    let sim = SimDcs::new(&[(1, false), (2, false), (3, false)]);
    let (handle, mut reports) = start(&sim, &cancel).await;
    handle.set_desired(floor(&[1], &[2, 3]));
    assert!(sim.wait_for(WAIT, |f| *f == floor(&[1], &[2, 3])).await);

    sim.send_raw("mic_on banana\r\n");
    sim.send_raw("seat_state 2 sideways\r\n");
    sim.send_raw(&format!("{}\r\n", "x".repeat(400)));
    assert!(until(|| handle.health().counters.errors >= 3).await, "{:?}", handle.health());
    assert_eq!(sim.floor(), floor(&[1], &[2, 3]));

    // A power cycle: the unit forgets its lists and its mode; the driver reconnects,
    // sets it to manual again and restores the floor, without reporting the loss.
    sim.restart();
    assert!(sim.wait_for(WAIT, |f| f.speakers.is_empty()).await);
    assert!(sim.wait_for(WAIT, |f| *f == floor(&[1], &[2, 3])).await, "unit: {:?}", sim.floor());
    assert_eq!(sim.mode(), MicMode::Manual);
    assert!(handle.health().counters.connects >= 2);
    assert!(reports.try_recv().is_err(), "a restart is no change made at the unit");

    // A change at the unit's own web page is a change at the unit too.
    sim.act(Command::MicOff(1));
    assert_eq!(next_report(&mut reports).await, SeatReport { seat: 1, change: SeatChange::MicOff });
    cancel.cancel();
}

#[tokio::test]
async fn a_seat_the_unit_does_not_have_is_held_not_hammered() {
    let cancel = CancellationToken::new();
    let sim = SimDcs::new(&[(1, false)]);
    // A long hold, so "not tried again" does not depend on how fast a loaded machine is.
    let settings = CoreSettings { hold: Duration::from_secs(60), ..CoreSettings::default() };
    let (handle, _reports) = start_with(&sim, &cancel, settings).await;
    handle.set_desired(floor(&[1, 99], &[]));
    assert!(sim.wait_for(WAIT, |f| f.speakers.contains(&1)).await);
    // The unit stays silent on `mic_on 99`; after the answer deadline the driver reads the
    // unit again and waits before it tries once more.
    assert!(until(|| handle.health().counters.timeouts >= 1).await);
    let health = handle.health();
    assert!(health.last_error.as_deref().is_some_and(|e| e.contains("seat 99")), "{health:?}");
    // Within the hold it is not tried again, though the unit is read again meanwhile.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(sim.commands().iter().filter(|c| *c == "mic_status").count() >= 2);
    let tries = sim.commands().iter().filter(|c| *c == "mic_on 99").count();
    assert_eq!(tries, 1, "held, not hammered");
    cancel.cancel();
}
