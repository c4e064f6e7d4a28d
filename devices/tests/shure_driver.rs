//! The MXA driver against the simulated array over TCP: desired mutes set, device-side
//! changes reported and set back.

use std::time::Duration;

use podium_devices::link_io::LinkError;
use podium_devices::shure::sim::SimMxa;
use podium_devices::shure::{Mutes, driver};
use proptest::prelude::*;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_follow_the_desired_mutes_and_device_changes_are_reported() {
    let cancel = CancellationToken::new();
    let sim = SimMxa::new(8);
    let addr = sim.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("bind");
    let (mic, _task) = driver::spawn("ceiling", addr, cancel.clone());
    mic.set_desired(Mutes::from([(1, false), (2, true), (3, true)]));
    assert!(sim.wait_for(WAIT, 1, false).await, "channel 1 opened");
    assert_eq!(sim.muted(2), Some(true));

    mic.set_desired(Mutes::from([(1, true), (2, true), (3, false)]));
    assert!(sim.wait_for(WAIT, 3, false).await && sim.wait_for(WAIT, 1, true).await);

    // Someone opens channel 2 in the web GUI: reported, then set back.
    sim.set_locally(2, false);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !mic
        .health()
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("channel 2 was opened at the device"))
    {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", mic.health());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(sim.wait_for(WAIT, 2, true).await, "set back to muted");
    // The driver hears the device's confirmation of the mute a moment after the device set it.
    let deadline = tokio::time::Instant::now() + WAIT;
    while mic.health().state.as_deref() != Some("open: 3") {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", mic.health());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(mic.observed().get(&3), Some(&false));
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_changes_are_reported_and_a_lost_array_closes_its_open_gates() {
    let cancel = CancellationToken::new();
    let sim = SimMxa::new(4);
    let serving = cancel.child_token();
    let addr = sim.serve("127.0.0.1:0".parse().expect("addr"), serving.clone()).await.expect("bind");
    // Someone already talks into channel 2 before Podium connects.
    sim.talk(2, true);
    sim.set_locally(2, false);
    let (reports, mut gates) = tokio::sync::mpsc::channel(16);
    let subscription = driver::GateSubscription { channels: vec![2, 3], reports };
    let (mic, _task) = driver::spawn_with_gates("ceiling", addr, cancel.clone(), None, Some(subscription));
    mic.set_desired(Mutes::from([(2, false), (3, false), (4, true)]));
    // The GET on connect answers with the gate already open.
    let open = |channel, open| ("ceiling".to_owned(), driver::GateReport { channel, open });
    assert_eq!(next(&mut gates).await, open(2, true));
    assert!(sim.wait_for(WAIT, 3, false).await);
    sim.talk(3, true);
    assert_eq!(next(&mut gates).await, open(3, true));
    sim.talk(3, false);
    assert_eq!(next(&mut gates).await, open(3, false));
    // Channel 4 is not subscribed: its changes are not passed on.
    sim.set_locally(4, false);
    sim.talk(4, true);
    sim.talk(2, false);
    assert_eq!(next(&mut gates).await, open(2, false));
    sim.talk(2, true);
    assert_eq!(next(&mut gates).await, open(2, true));
    // The array goes away: the gate it last reported open is reported closed.
    serving.cancel();
    assert_eq!(next(&mut gates).await, open(2, false));
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_technician_flashes_an_array_and_reads_its_status() {
    let cancel = CancellationToken::new();
    let sim = SimMxa::new(4);
    let serving = cancel.child_token();
    let addr = sim.serve("127.0.0.1:0".parse().expect("addr"), serving.clone()).await.expect("bind");
    let (mic, _task) = driver::spawn("ceiling", addr, cancel.clone());
    mic.set_desired(Mutes::from([(1, false), (2, true)]));
    assert!(sim.wait_for(WAIT, 1, false).await);
    assert_eq!(mic.action(driver::MicAction::Flash).await.expect("flash"), "flashing: ON");
    let status = mic.action(driver::MicAction::Status).await.expect("status");
    assert!(status.starts_with("MXA910 (Podium simulator)") && status.ends_with("; open: 1"), "{status}");
    // The array goes away: the action fails in bounded time instead of waiting for it.
    serving.cancel();
    let gone = mic.action(driver::MicAction::Flash).await;
    assert!(matches!(gone, Err(LinkError::Timeout | LinkError::Closed)), "{gone:?}");
    cancel.cancel();
}

async fn next(
    gates: &mut tokio::sync::mpsc::Receiver<(String, driver::GateReport)>,
) -> (String, driver::GateReport) {
    tokio::time::timeout(WAIT, gates.recv()).await.expect("a gate report in time").expect("the driver runs")
}

proptest! {
    #[test]
    fn shure_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
        let mut buf = bytes;
        let mut rounds = 0;
        while let Some(m) = podium_devices::shure::codec::take(&mut buf) {
            if let Some(m) = m {
                let _ = m.as_mute();
                let _ = m.as_gate();
                let _ = m.encode();
            }
            rounds += 1;
            prop_assert!(rounds < 1000);
        }
        prop_assert!(buf.len() <= podium_devices::shure::codec::MAX_MESSAGE);
    }
}
