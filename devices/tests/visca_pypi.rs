//! The simulated camera proven against code nobody here wrote: the PyPI client
//! `visca-over-ip` (tests/devices/visca_over_ip_client.py, installed by tests/run) drives
//! the UDP simulator; this test checks what the camera did after each step.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use podium_devices::visca::sim::{Behaviour, SimCamera};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visca_over_ip_client_drives_the_simulator() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/devices/visca_over_ip_client.py");
    let check = std::process::Command::new("python3").args(["-c", "import visca_over_ip"]).status();
    assert!(
        check.is_ok_and(|s| s.success()),
        "python3 with visca-over-ip is needed: run tests/run, or pip install visca-over-ip==0.5.2"
    );

    let cancel = CancellationToken::new();
    let sim = SimCamera::new();
    let addr = sim.serve_udp("127.0.0.1:0".parse().expect("addr"), cancel.clone()).await.expect("bind");
    let mut child = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start python3");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = async || -> Value {
        let line = tokio::time::timeout(WAIT, lines.next_line()).await.expect("client answers in time");
        let line = line.expect("read").expect("the client printed a line");
        serde_json::from_str(&line).expect("JSON line")
    };
    let go = async |stdin: &mut tokio::process::ChildStdin| {
        stdin.write_all(b"go\n").await.expect("write");
        stdin.flush().await.expect("flush");
    };

    assert_eq!(next().await["step"], "connected");
    assert!(sim.status().if_clears >= 1, "the client's IF_Clear reached the camera");

    go(&mut stdin).await;
    assert_eq!(next().await["ok"], true);
    assert!(sim.wait_for(WAIT, |s| s.preset == Some(3)).await, "preset 3 recalled");

    sim.set_behaviour(Behaviour::NotExecutable);
    go(&mut stdin).await;
    let answer = next().await;
    assert_eq!((answer["ok"].clone(), answer["status"].clone()), (Value::Bool(false), Value::from(0x41)));

    sim.set_behaviour(Behaviour::Normal);
    go(&mut stdin).await;
    let answer = next().await;
    assert_eq!(answer["description"], "Syntax error");

    sim.set_behaviour(Behaviour::BufferFull);
    go(&mut stdin).await;
    let answer = next().await;
    assert_eq!(answer["description"], "Command buffer full");

    sim.set_behaviour(Behaviour::Normal);
    go(&mut stdin).await;
    assert_eq!(next().await["ok"], true);
    assert!(sim.wait_for(WAIT, |s| s.preset.is_none() && s.pan == 0 && s.tilt == 0).await, "home");

    go(&mut stdin).await;
    assert_eq!(next().await["ok"], true);
    assert!(sim.wait_for(WAIT, |s| s.stored.get(&9) == Some(&(0, 0))).await, "preset 9 stored at home");
    assert_eq!(sim.status().preset, None);

    drop(stdin);
    let status = tokio::time::timeout(WAIT, child.wait()).await.expect("client exits").expect("wait");
    assert!(status.success());
    cancel.cancel();
}
