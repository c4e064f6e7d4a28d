//! The DICENTIS driver against the simulated DICENTIS server over a real WebSocket on
//! loopback: login, seats found by name, the server's lists follow the floor, keys come back
//! as reports, a restarted server converges again, malformed messages change nothing, a
//! wrong password is reported.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use podium_devices::central::dicentis::sim::SimDicentis;
use podium_devices::central::dicentis::{self, DicentisSettings};
use podium_devices::central::{CentralHandle, SeatChange, SeatReport};
use support::central::{WAIT, floor, next_report, until};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn names(speaking: &[&str], waiting: &[&str]) -> (Vec<String>, Vec<String>) {
    (speaking.iter().map(|s| s.to_string()).collect(), waiting.iter().map(|s| s.to_string()).collect())
}

async fn start(
    sim: &SimDicentis,
    password: &str,
    cancel: &CancellationToken,
) -> (CentralHandle, mpsc::Receiver<(String, SeatReport)>) {
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let addr = sim.serve(loopback, cancel.clone()).await.expect("serve");
    let seats: BTreeMap<u16, String> = [(1, "Platz 1"), (2, "Platz 2"), (3, "Platz 3")]
        .into_iter()
        .map(|(n, s)| (n, s.to_string()))
        .collect();
    let settings = DicentisSettings {
        addr,
        tls_fingerprint: None,
        user: "podium".into(),
        password: password.into(),
        seats,
    };
    let (tx, rx) = mpsc::channel(64);
    let (handle, _task) = dicentis::spawn("dicentis", settings, tx, None, cancel.clone());
    (handle, rx)
}

#[tokio::test]
async fn the_server_follows_the_floor_and_its_keys_come_back() {
    let cancel = CancellationToken::new();
    let sim = SimDicentis::new(&["Platz 1", "Platz 2", "Platz 3", "Gast"], "geheim");
    let (handle, mut reports) = start(&sim, "geheim", &cancel).await;
    assert!(until(|| handle.seen().is_some()).await, "{:?}", handle.health());
    let ops = sim.operations();
    assert_eq!(ops[..3], ["Login", "RegisterEvents", "GetSeats"], "{ops:?}");

    sim.press("Platz 2");
    assert_eq!(next_report(&mut reports).await, SeatReport { seat: 2, change: SeatChange::RequestOn });
    handle.set_desired(floor(&[2], &[3]));
    assert!(sim.wait_for(WAIT, |l| *l == names(&["Platz 2"], &["Platz 3"])).await, "{:?}", sim.lists());
    // A seat the room file does not map is left alone: after the driver read the list
    // with it (the event, or the 5 s read), nothing changed it.
    let reads = || sim.operations().iter().filter(|o| *o == "GetDiscussionList").count();
    let before = reads();
    sim.press("Gast");
    assert!(until(|| reads() > before).await, "the driver reads the list after the event");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sim.lists(), names(&["Platz 2"], &["Platz 3", "Gast"]));
    // The delegate switches off at the seat: reported; the floor did not let them, so the
    // server is corrected.
    sim.press("Platz 2");
    assert_eq!(next_report(&mut reports).await, SeatReport { seat: 2, change: SeatChange::MicOff });
    assert!(sim.wait_for(WAIT, |l| l.0 == ["Platz 2"]).await, "{:?}", sim.lists());
    cancel.cancel();
}

#[tokio::test]
async fn a_restarted_server_converges_and_bad_messages_change_nothing() {
    let cancel = CancellationToken::new();
    let sim = SimDicentis::new(&["Platz 1", "Platz 2", "Platz 3"], "geheim");
    let (handle, mut reports) = start(&sim, "geheim", &cancel).await;
    handle.set_desired(floor(&[1], &[2, 3]));
    assert!(
        sim.wait_for(WAIT, |l| *l == names(&["Platz 1"], &["Platz 2", "Platz 3"])).await,
        "{:?}",
        sim.lists()
    );
    sim.send_raw("{not json");
    sim.send_raw(r#"{"messageId":0,"operation":"event","parameters":{"events":"all"}}"#);
    assert!(until(|| handle.health().counters.errors >= 1).await, "{:?}", handle.health());
    sim.restart();
    assert!(sim.wait_for(WAIT, |l| l.0.is_empty()).await);
    assert!(
        sim.wait_for(WAIT, |l| *l == names(&["Platz 1"], &["Platz 2", "Platz 3"])).await,
        "after restart: {:?}",
        sim.lists()
    );
    assert!(until(|| handle.health().counters.connects >= 2).await);
    assert!(reports.try_recv().is_err(), "a restart is no change made at the seats");
    cancel.cancel();
}

#[tokio::test]
async fn a_wrong_password_is_reported() {
    let cancel = CancellationToken::new();
    let sim = SimDicentis::new(&["Platz 1"], "geheim");
    let (handle, _reports) = start(&sim, "falsch", &cancel).await;
    assert!(
        until(|| handle.health().last_error.is_some_and(|e| e.contains("login refused"))).await,
        "{:?}",
        handle.health()
    );
    assert!(handle.seen().is_none());
    cancel.cancel();
}

/// A self-signed certificate for 127.0.0.1 from the openssl tool (tests/run installs it):
/// (certificate PEM, key PEM, SHA-256 of the certificate).
fn self_signed(dir: &std::path::Path) -> (Vec<u8>, Vec<u8>, [u8; 32]) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args(["-subj", "/CN=dicentis", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success());
    let der = std::process::Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .output()
        .expect("openssl")
        .stdout;
    use sha2::Digest;
    let fingerprint: [u8; 32] = sha2::Sha256::digest(&der).into();
    (std::fs::read(&cert).expect("cert"), std::fs::read(&key).expect("key"), fingerprint)
}

#[tokio::test]
async fn tls_is_accepted_with_the_pinned_certificate_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key, fingerprint) = self_signed(dir.path());
    let cancel = CancellationToken::new();
    let sim = SimDicentis::new(&["Platz 1"], "geheim");
    let addr =
        sim.serve_tls("127.0.0.1:0".parse().expect("addr"), cancel.clone(), &cert, &key).await.expect("tls");
    let seats: BTreeMap<u16, String> = [(1, "Platz 1".to_string())].into_iter().collect();
    let settings = |fingerprint| DicentisSettings {
        addr,
        tls_fingerprint: Some(fingerprint),
        user: "podium".into(),
        password: "geheim".into(),
        seats: seats.clone(),
    };
    let (tx, _rx) = mpsc::channel(8);
    let (pinned, _task) = dicentis::spawn("pinned", settings(fingerprint), tx.clone(), None, cancel.clone());
    assert!(until(|| pinned.seen().is_some()).await, "{:?}", pinned.health());
    pinned.set_desired(floor(&[1], &[]));
    assert!(sim.wait_for(WAIT, |l| *l == names(&["Platz 1"], &[])).await);
    assert!(pinned.health().address.starts_with("wss "));

    let mut other = fingerprint;
    other[0] ^= 0xFF;
    let (stranger, _task) = dicentis::spawn("stranger", settings(other), tx, None, cancel.clone());
    assert!(
        until(|| stranger.health().last_error.is_some_and(|e| e.contains("not the pinned one"))).await,
        "{:?}",
        stranger.health()
    );
    assert!(stranger.seen().is_none());
    cancel.cancel();
}
