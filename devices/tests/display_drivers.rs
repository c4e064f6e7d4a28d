//! The shared display driver with real protocol links against their simulators over real
//! sockets: desired power and input applied, device-side changes undone, faults reported
//! and recovered.

use std::time::Duration;

use podium_devices::display::{self, DisplayAction, DisplayHandle, DisplayState};
use podium_devices::health::DeviceHealth;
use podium_devices::link_io::LinkError;
use podium_devices::pjlink::PjlinkLink;
use podium_devices::pjlink::sim::SimProjector;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(200);

async fn wait_health(handle: &DisplayHandle, ready: impl Fn(&DeviceHealth) -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if ready(&handle.health()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn want(power: bool, input: &str) -> DisplayState {
    DisplayState { power: Some(power), input: Some(input.to_owned()) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projector_follows_the_desired_state_and_recovers() {
    let cancel = CancellationToken::new();
    let sim = SimProjector::new(Some("secret"));
    sim.set_warm_up(Duration::from_millis(300));
    let addr = sim.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("bind");
    let (handle, _task) =
        display::spawn("beamer", PjlinkLink::new(addr, Some("secret".into())), POLL, cancel.clone());

    // Power on with warm-up: the input is set once the projector is ready.
    handle.set_desired(want(true, "31"));
    assert!(sim.wait_for(WAIT, |s| s.power == 1 && s.input == "31").await, "{:?}", sim.status());
    assert!(wait_health(&handle, |h| h.connected && h.state.as_deref() == Some("power on, input 31")).await);

    // Someone switches the input at the projector: the driver sets it back.
    sim.set_input_locally("11");
    assert!(sim.wait_for(WAIT, |s| s.input == "31").await, "device-side change undone");

    // Unplugged: reported; back: recovered and reconciled.
    sim.set_online(false);
    handle.set_desired(want(true, "52"));
    assert!(wait_health(&handle, |h| !h.connected && h.last_error.is_some()).await, "{:?}", handle.health());
    sim.set_online(true);
    assert!(sim.wait_for(WAIT, |s| s.input == "52").await);
    assert!(wait_health(&handle, |h| h.connected && h.counters.disconnects >= 1).await);

    // Test actions.
    let state = handle.action(DisplayAction::Input("32".into())).await.expect("switch");
    assert_eq!(state.input.as_deref(), Some("32"));
    let refused = handle.action(DisplayAction::Input("59".into())).await;
    assert!(
        matches!(&refused, Err(LinkError::Refused { request, reason })
            if request == "INPT 59" && reason.starts_with("ERR2")),
        "{refused:?}"
    );
    let state = handle.action(DisplayAction::Status).await.expect("status");
    assert_eq!(state, want(true, "32"), "a test holds until the director changes its mind");
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pjlink_password_is_reported() {
    let cancel = CancellationToken::new();
    let sim = SimProjector::new(Some("secret"));
    let addr = sim.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("bind");
    let (handle, _task) =
        display::spawn("beamer", PjlinkLink::new(addr, Some("wrong".into())), POLL, cancel.clone());
    handle.set_desired(want(true, "31"));
    assert!(
        wait_health(&handle, |h| h
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("authentication failed")))
        .await
    );
    assert_eq!(sim.status().power, 0);
    assert!(sim.status().auth_failures >= 1);
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_ties_follow_the_desired_input_over_pty_and_tcp() {
    use podium_devices::extron::sim::SimMatrix;
    use podium_devices::extron::{ExtronLink, MatrixTransport};
    use podium_devices::serial::{Parity, SerialSettings};

    let cancel = CancellationToken::new();
    let over_pty = SimMatrix::new(8, 4);
    let path = over_pty.serve_pty(cancel.clone()).expect("pty");
    let serial = SerialSettings { baud: 9600, parity: Parity::None, ..SerialSettings::new(path) };
    let over_tcp = SimMatrix::new(8, 4);
    let addr = over_tcp.serve_tcp("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("bind");
    for (sim, transport) in
        [(&over_pty, MatrixTransport::Serial(serial)), (&over_tcp, MatrixTransport::Tcp(addr))]
    {
        let (handle, _task) =
            display::spawn("matrix", ExtronLink::new(transport, vec![2, 3]), POLL, cancel.clone());
        handle.set_desired(DisplayState { power: None, input: Some("5".into()) });
        assert!(sim.wait_for_tie(WAIT, 2, 5).await && sim.wait_for_tie(WAIT, 3, 5).await);
        assert!(
            wait_health(&handle, |h| h.connected && h.state.as_deref() == Some("power unknown, input 5"))
                .await
        );
        handle.set_desired(DisplayState { power: None, input: Some("1".into()) });
        assert!(sim.wait_for_tie(WAIT, 3, 1).await);
        let refused = handle.action(DisplayAction::Input("9".into())).await;
        assert!(
            matches!(&refused, Err(LinkError::Refused { reason, .. }) if reason == "E01 invalid input"),
            "{refused:?}"
        );
        assert_eq!(sim.tie(2), 1, "a refused tie changes nothing");
    }

    // The TCP matrix drops its connections: reported, then recovered.
    let (handle, _task) =
        display::spawn("matrix", ExtronLink::new(MatrixTransport::Tcp(addr), vec![4]), POLL, cancel.clone());
    handle.set_desired(DisplayState { power: None, input: Some("2".into()) });
    assert!(over_tcp.wait_for_tie(WAIT, 4, 2).await);
    over_tcp.set_online(false);
    handle.set_desired(DisplayState { power: None, input: Some("3".into()) });
    assert!(wait_health(&handle, |h| !h.connected && h.last_error.is_some()).await);
    over_tcp.set_online(true);
    assert!(over_tcp.wait_for_tie(WAIT, 4, 3).await);
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samsung_display_follows_over_pty_and_tcp() {
    use podium_devices::mdc::sim::SimDisplay;
    use podium_devices::mdc::{MdcLink, MdcTransport};
    use podium_devices::serial::{Parity, SerialSettings};

    let cancel = CancellationToken::new();
    let over_pty = SimDisplay::new(1);
    let path = over_pty.serve_pty(cancel.clone()).expect("pty");
    let serial = SerialSettings { baud: 9600, parity: Parity::None, ..SerialSettings::new(path) };
    let over_tcp = SimDisplay::new(3);
    let addr = over_tcp.serve_tcp("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("bind");
    for (sim, link) in [
        (&over_pty, MdcLink::new(MdcTransport::Serial(serial), 1)),
        (&over_tcp, MdcLink::new(MdcTransport::Tcp(addr), 3)),
    ] {
        let (handle, _task) = display::spawn("wall", link, POLL, cancel.clone());
        handle.set_desired(want(true, "hdmi2"));
        assert!(sim.wait_for(WAIT, |s| s.power && s.input == 0x23).await, "{:?}", sim.status());
        assert!(wait_health(&handle, |h| h.state.as_deref() == Some("power on, input hdmi2")).await);
        let refused = handle.action(DisplayAction::Input("0x99".into())).await;
        // 0x99 is no input of this display: it answers with a NAK.
        assert!(
            matches!(&refused, Err(LinkError::Refused { request, .. }) if request == "command 0x14"),
            "{refused:?}"
        );
        handle.set_desired(want(false, "hdmi2"));
        assert!(sim.wait_for(WAIT, |s| !s.power).await);
    }
    cancel.cancel();
}
