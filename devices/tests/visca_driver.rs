//! The camera driver against the simulated camera over real transports: raw TCP, VISCA
//! over IP (UDP) and a pseudo-terminal; faults: silence, errors, recovery.

use std::time::Duration;

use podium_devices::serial::{Parity, SerialSettings};
use podium_devices::visca::sim::{Behaviour, SimCamera};
use podium_devices::visca::{CameraAction, CameraError, CameraSettings, Transport, driver};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

fn fast(settings: CameraSettings) -> CameraSettings {
    CameraSettings {
        ack_timeout: Duration::from_millis(300),
        completion_timeout: Duration::from_secs(2),
        poll_interval: Duration::from_millis(300),
        ..settings
    }
}

async fn wait_health(
    camera: &podium_devices::visca::CameraHandle,
    ready: impl Fn(&podium_devices::health::DeviceHealth) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if ready(&camera.health()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn follows_desired_presets(transport: Transport, sim: &SimCamera) {
    let cancel = CancellationToken::new();
    let (camera, _task) = driver::spawn(fast(CameraSettings::new("cam", transport)), cancel.clone());
    camera.set_desired(Some(4));
    assert!(sim.wait_for(WAIT, |s| s.preset == Some(4)).await, "preset 4 recalled: {:?}", camera.health());
    assert!(sim.status().if_clears >= 1, "IF_Clear at start-up");
    camera.set_desired(Some(7));
    assert!(sim.wait_for(WAIT, |s| s.preset == Some(7)).await);
    let position = camera.action(CameraAction::Position).await.expect("position");
    assert_eq!(position, "pan 700, tilt -70");
    camera.action(CameraAction::Home).await.expect("home");
    assert_eq!(sim.status().pan, 0);
    assert!(
        wait_health(&camera, |h| h.connected
            && h.counters.completed >= 4
            && h.last_response_unix_ms.is_some())
        .await
    );
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_camera_follows_the_desired_preset() {
    let cancel = CancellationToken::new();
    let sim = SimCamera::new();
    let addr = sim.serve_tcp("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("bind");
    follows_desired_presets(Transport::Tcp(addr), &sim).await;
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_camera_follows_the_desired_preset() {
    let cancel = CancellationToken::new();
    let sim = SimCamera::new();
    let addr = sim.serve_udp("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("bind");
    follows_desired_presets(Transport::Udp(addr), &sim).await;
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_camera_follows_the_desired_preset() {
    let cancel = CancellationToken::new();
    let sim = SimCamera::new();
    let path = sim.serve_pty(cancel.clone()).expect("pty");
    let settings = SerialSettings { baud: 9600, parity: Parity::None, ..SerialSettings::new(path) };
    follows_desired_presets(Transport::Serial(settings), &sim).await;
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_reported_and_the_driver_recovers() {
    let cancel = CancellationToken::new();
    let sim = SimCamera::new();
    let addr = sim.serve_tcp("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("bind");
    let (camera, _task) =
        driver::spawn(fast(CameraSettings::new("cam", Transport::Tcp(addr))), cancel.clone());
    assert!(wait_health(&camera, |h| h.connected).await);

    sim.set_behaviour(Behaviour::NotExecutable);
    let answer = camera.action(CameraAction::Recall(2)).await;
    assert_eq!(answer, Err(CameraError::Device("command not executable".into())));
    sim.set_behaviour(Behaviour::SyntaxError);
    camera.set_desired(Some(3));
    assert!(
        wait_health(&camera, |h| h.last_error.as_deref().is_some_and(|e| e.contains("syntax error"))).await
    );
    assert!(camera.health().counters.errors >= 2);

    // Buffer full: retransmitted, then reported.
    sim.set_behaviour(Behaviour::BufferFull);
    let answer = camera.action(CameraAction::Recall(5)).await;
    assert_eq!(answer, Err(CameraError::Device("command buffer full".into())));
    assert!(camera.health().counters.retransmissions >= 3);

    sim.set_behaviour(Behaviour::Normal);
    assert!(sim.wait_for(WAIT, |s| s.preset == Some(3)).await, "the desired preset is retried");
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_camera_is_reported_and_found_again() {
    for udp in [false, true] {
        let cancel = CancellationToken::new();
        let sim = SimCamera::new();
        let any = "127.0.0.1:0".parse().expect("addr");
        let transport = if udp {
            Transport::Udp(sim.serve_udp(any, cancel.clone()).await.expect("bind"))
        } else {
            Transport::Tcp(sim.serve_tcp(any, cancel.clone()).await.expect("bind"))
        };
        let (camera, _task) = driver::spawn(fast(CameraSettings::new("cam", transport)), cancel.clone());
        assert!(wait_health(&camera, |h| h.connected).await);
        sim.set_behaviour(Behaviour::Silent);
        camera.set_desired(Some(9));
        assert!(
            wait_health(&camera, |h| !h.connected && h.counters.timeouts >= 1).await,
            "{:?}",
            camera.health()
        );
        assert!(camera.health().last_error.is_some());
        sim.set_behaviour(Behaviour::Normal);
        assert!(
            sim.wait_for(WAIT, |s| s.preset == Some(9)).await,
            "recovered over {}",
            if udp { "udp" } else { "tcp" }
        );
        assert!(wait_health(&camera, |h| h.connected && h.counters.connects >= 2).await);
        cancel.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_that_is_not_there_yet_is_retried() {
    let cancel = CancellationToken::new();
    // Reserve a port, free it, let the driver fail against it, then serve there.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = probe.local_addr().expect("addr");
    drop(probe);
    let (camera, _task) =
        driver::spawn(fast(CameraSettings::new("cam", Transport::Tcp(addr))), cancel.clone());
    camera.set_desired(Some(2));
    assert!(wait_health(&camera, |h| h.last_error.is_some() && !h.connected).await);
    let sim = SimCamera::new();
    sim.serve_tcp(addr, cancel.clone()).await.expect("bind the same port");
    assert!(sim.wait_for(WAIT, |s| s.preset == Some(2)).await);
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_acks_over_ip_follow_sonys_delivery_table() {
    let cancel = CancellationToken::new();
    let sim = SimCamera::new();
    let addr = sim.serve_udp("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("bind");
    let (camera, _task) =
        driver::spawn(fast(CameraSettings::new("cam", Transport::Udp(addr))), cancel.clone());
    assert!(wait_health(&camera, |h| h.connected).await);

    // ACK lost, the move outlasts the ACK timeout: the retransmission (same sequence
    // number) is answered with a sequence error, so the command was performed and its
    // completion still comes.
    sim.set_move_time(Duration::from_millis(900));
    sim.lose_acks(1);
    assert_eq!(camera.action(CameraAction::Recall(4)).await, Ok("preset 4 recalled".into()));
    assert_eq!(sim.status().preset, Some(4));
    assert_eq!(sim.status().completed, 1, "carried out once, not twice");
    assert!(camera.health().counters.retransmissions >= 1);

    // ACK lost, the completion comes before the ACK timeout: done without retransmitting.
    sim.set_move_time(Duration::from_millis(20));
    sim.lose_acks(1);
    let before = camera.health().counters.retransmissions;
    assert_eq!(camera.action(CameraAction::Recall(5)).await, Ok("preset 5 recalled".into()));
    assert_eq!(sim.status().preset, Some(5));
    assert_eq!(camera.health().counters.retransmissions, before);
    cancel.cancel();
}
