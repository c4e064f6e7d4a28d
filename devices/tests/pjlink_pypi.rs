//! The simulated PJLink projector proven against `aiopjlink2` from PyPI
//! (tests/devices/aiopjlink_client.py, installed by tests/run).

use std::path::Path;
use std::time::Duration;

use podium_devices::pjlink::sim::SimProjector;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiopjlink2_drives_the_simulated_projector() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/devices/aiopjlink_client.py");
    let check = std::process::Command::new("python3").args(["-c", "import aiopjlink"]).status();
    assert!(
        check.is_ok_and(|s| s.success()),
        "python3 with aiopjlink2 is needed: run tests/run, or pip install aiopjlink2==1.2.0"
    );

    let cancel = CancellationToken::new();
    let sim = SimProjector::new(Some("JBMIAProjectorLink"));
    let addr = sim.serve("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("bind");
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new("python3")
            .arg(&script)
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string())
            .arg("JBMIAProjectorLink")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("client finishes in time")
    .expect("run python3");
    assert!(output.status.success(), "client failed: {}", String::from_utf8_lossy(&output.stderr));
    let result: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(
        result,
        json!({
            "power_before": "OFF",
            "power_after": "ON",
            "input": "32",
            "inputs": ["11", "31", "32", "52"],
            "name": "Podium simulated projector",
            "class": "1",
            "bad_input": "ERR2",
            "wrong_password": "refused",
        })
    );
    let status = sim.status();
    assert_eq!((status.power, status.input.as_str(), status.auth_failures), (1, "32", 1));
    cancel.cancel();
}
