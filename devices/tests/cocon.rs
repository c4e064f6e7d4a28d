//! The CoCon driver against the simulated CoCon server over real HTTP on loopback: the
//! server's lists follow the floor, keys at the units come back as reports, a restarted
//! server (every id gone) converges again, and malformed events change nothing.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use podium_devices::central::cocon::{self, sim::SimCocon};
use podium_devices::central::{CentralHandle, SeatChange, SeatReport};
use serde_json::json;
use support::central::{WAIT, floor, next_report, until};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

async fn start(
    sim: &SimCocon,
    cancel: &CancellationToken,
) -> (CentralHandle, mpsc::Receiver<(String, SeatReport)>) {
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let addr = sim.serve(loopback, cancel.clone()).await.expect("serve");
    let (tx, rx) = mpsc::channel(64);
    let (handle, _task) = cocon::spawn("cocon", addr, true, None, tx, None, cancel.clone());
    (handle, rx)
}

#[tokio::test]
async fn the_server_follows_the_floor_and_its_keys_come_back_as_reports() {
    let cancel = CancellationToken::new();
    // A short hold, so the 408 path runs too.
    let sim = SimCocon::new(&[1, 2, 3, 4], Duration::from_millis(300));
    let (handle, mut reports) = start(&sim, &cancel).await;
    assert!(until(|| handle.seen().is_some()).await);
    assert_eq!(sim.mode(), "Operator");
    let asked = sim.requests();
    assert!(
        asked[0] == "/CoCon/Connect" && asked.iter().any(|r| r.starts_with("/CoCon/Microphone/GetState")),
        "{asked:?}"
    );

    sim.press(3);
    assert_eq!(next_report(&mut reports).await, SeatReport { seat: 3, change: SeatChange::RequestOn });
    handle.set_desired(floor(&[3], &[2]));
    assert!(sim.wait_for(WAIT, |f| *f == floor(&[3], &[2])).await, "server: {:?}", sim.floor());
    assert!(until(|| handle.seen() == Some(floor(&[3], &[2]))).await, "the driver saw its changes");
    // Held notification requests time out with 408 (after 300 ms here) and are asked again.
    let polls = || sim.requests().iter().filter(|r| r.starts_with("/CoCon/Notification/")).count();
    let before = polls();
    assert!(until(|| polls() >= before + 2).await, "the long poll is asked again after a 408");
    sim.press(3);
    assert_eq!(next_report(&mut reports).await, SeatReport { seat: 3, change: SeatChange::MicOff });
    assert!(sim.wait_for(WAIT, |f| f.speakers.contains(&3)).await, "corrected to the floor");
    cancel.cancel();
}

#[tokio::test]
async fn a_restarted_server_converges_and_malformed_events_change_nothing() {
    let cancel = CancellationToken::new();
    let sim = SimCocon::new(&[1, 2, 3], Duration::from_secs(30));
    let (handle, mut reports) = start(&sim, &cancel).await;
    handle.set_desired(floor(&[1], &[2, 3]));
    assert!(sim.wait_for(WAIT, |f| *f == floor(&[1], &[2, 3])).await, "server: {:?}", sim.floor());

    sim.send_event(json!({"MicrophoneState": {"Speakers": "all", "Requests": []}}));
    assert!(until(|| handle.health().counters.errors >= 1).await, "{:?}", handle.health());
    assert_eq!(sim.floor(), floor(&[1], &[2, 3]));

    sim.restart();
    assert!(sim.wait_for(WAIT, |f| *f == floor(&[1], &[2, 3])).await, "after restart: {:?}", sim.floor());
    assert_eq!(sim.mode(), "Operator");
    assert!(until(|| handle.health().counters.connects >= 2).await);
    assert!(reports.try_recv().is_err(), "a restart is no change made at the units");
    cancel.cancel();
}
