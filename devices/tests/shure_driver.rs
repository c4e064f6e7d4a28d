//! The MXA driver against the simulated array over TCP: desired mutes set, device-side
//! changes reported and set back.

use std::time::Duration;

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

proptest! {
    #[test]
    fn shure_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
        let mut buf = bytes;
        let mut rounds = 0;
        while let Some(m) = podium_devices::shure::codec::take(&mut buf) {
            if let Some(m) = m {
                let _ = m.as_mute();
                let _ = m.encode();
            }
            rounds += 1;
            prop_assert!(rounds < 1000);
        }
        prop_assert!(buf.len() <= podium_devices::shure::codec::MAX_MESSAGE);
    }
}
