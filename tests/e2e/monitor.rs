//! The technician's live protocol monitor (`GET /api/v1/monitor`) through the real demo
//! daemon: the simulated desk units' Modbus frames show up hex and decoded, and only
//! technicians may watch them.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use podium_devices::modbus::codec::crc_ok;
use serde_json::{Value, json};
use support::Daemon;

/// Generous bound for anything to happen on a loaded machine; never a performance goal.
const PATIENCE: Duration = Duration::from_secs(20);

/// Logs in and returns the session cookie as `podium_session=...`.
async fn login(base: &str, user: &str, password: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/login"))
        .header("content-type", "application/json")
        .header("x-podium-csrf", "1")
        .body(json!({"user": user, "password": password}).to_string())
        .send()
        .await
        .expect("login");
    assert_eq!(response.status().as_u16(), 200, "login of {user}");
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("podium_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

fn bytes_of(hex: &str) -> Vec<u8> {
    hex.split_whitespace().map(|pair| u8::from_str_radix(pair, 16).expect("hex pair")).collect()
}

#[tokio::test]
async fn technicians_see_desk_unit_frames_out_and_in() {
    let daemon = Daemon::demo();
    let cookie = login(&daemon.base, "technik", "technik").await;
    let (mut out, mut answer): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    // The bus polls every unit ten times a second, so both directions come soon.
    watch_monitor(&daemon, &cookie, "desks", |frame| {
        assert_eq!(frame["device"], "desks", "the filter keeps other devices out: {frame}");
        assert!(frame["at_unix_ms"].as_i64().is_some_and(|t| t > 0), "{frame}");
        assert!(frame["decoded"].as_str().is_some_and(|d| !d.is_empty()), "{frame}");
        let bytes = bytes_of(frame["hex"].as_str().expect("hex"));
        if !crc_ok(&bytes) {
            return false; // a garbled frame would be shown too, but it is not what we wait for
        }
        match frame["direction"].as_str() {
            Some("out") if out.is_none() => out = Some(bytes),
            // The answer to a request we saw, from the same unit.
            Some("in") if out.as_ref().is_some_and(|o| o[0] == bytes[0]) => answer = Some(bytes),
            _ => {}
        }
        out.is_some() && answer.is_some()
    })
    .await;
    let (out, answer) = (out.unwrap_or_default(), answer.unwrap_or_default());
    assert!(out.len() >= 4 && answer.len() >= 4, "RTU frames: {out:02X?} {answer:02X?}");
    assert!((1..=247).contains(&out[0]), "a unit address: {out:02X?}");
}

#[tokio::test]
async fn cameras_show_their_visca_packets() {
    let daemon = Daemon::demo();
    let cookie = login(&daemon.base, "technik", "technik").await;
    let (mut seen_out, mut seen_in) = (false, false);
    // The driver asks the camera for its power state every few seconds.
    watch_monitor(&daemon, &cookie, "front", |frame| {
        assert_eq!(frame["device"], "front", "{frame}");
        let bytes = bytes_of(frame["hex"].as_str().expect("hex"));
        // A VISCA packet: a header byte with the high bit set, ending in FF.
        assert!(bytes.len() >= 3 && bytes[0] & 0x80 != 0 && bytes.last() == Some(&0xFF), "{frame}");
        match frame["direction"].as_str() {
            Some("out") => seen_out = true,
            Some("in") => seen_in = true,
            other => panic!("direction {other:?}"),
        }
        seen_out && seen_in
    })
    .await;
}

#[tokio::test]
async fn the_chair_may_not_watch_the_monitor() {
    let daemon = Daemon::demo();
    let cookie = login(&daemon.base, "chair", "chair").await;
    let client = reqwest::Client::new();
    let status = |request: reqwest::RequestBuilder| async move {
        tokio::time::timeout(PATIENCE, request.send())
            .await
            .expect("an answer")
            .expect("request")
            .status()
            .as_u16()
    };
    assert_eq!(status(client.get(daemon.url("/api/v1/monitor")).header("cookie", &cookie)).await, 403);
    // The demo trusts loopback clients as the chair: still no monitor.
    assert_eq!(status(client.get(daemon.url("/api/v1/monitor"))).await, 403);
}

/// Watches the monitor for `device` as a technician, handing each frame record to
/// `on_frame` until it returns true; fails after the patience.
async fn watch_monitor(
    daemon: &Daemon,
    cookie: &str,
    device: &str,
    mut on_frame: impl FnMut(&Value) -> bool,
) {
    let response = reqwest::Client::new()
        .get(daemon.url(&format!("/api/v1/monitor?device={device}")))
        .header("cookie", cookie)
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("connect the monitor");
    assert_eq!(response.status().as_u16(), 200);
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("the frames awaited from {device} within the patience"))
            .expect("the stream stays open")
            .expect("read the stream");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) else { continue };
            let frame: Value = serde_json::from_str(data.trim()).expect("a JSON frame record");
            if on_frame(&frame) {
                return;
            }
        }
    }
}

/// Reads the monitor for `device` until a frame out and a frame in arrived; returns them.
async fn frames_out_and_in(daemon: &Daemon, cookie: &str, device: &str) -> (Value, Value) {
    let (mut out, mut into) = (None, None);
    watch_monitor(daemon, cookie, device, |frame| {
        assert_eq!(frame["device"], device, "{frame}");
        match frame["direction"].as_str() {
            Some("out") => out = Some(frame.clone()),
            Some("in") => into = Some(frame.clone()),
            other => panic!("direction {other:?}"),
        }
        out.is_some() && into.is_some()
    })
    .await;
    (out.unwrap_or_default(), into.unwrap_or_default())
}

#[tokio::test]
async fn displays_and_matrices_show_their_protocol_lines() {
    let daemon = Daemon::demo();
    let cookie = login(&daemon.base, "technik", "technik").await;
    // PJLink: the driver reads power back every few seconds; the digest is never shown.
    let (out, answer) = frames_out_and_in(&daemon, &cookie, "projector").await;
    let sent = String::from_utf8(bytes_of(out["hex"].as_str().unwrap())).unwrap();
    assert!(sent.starts_with("%1") && sent.ends_with('\r'), "{out}");
    assert!(!out["decoded"].as_str().unwrap().contains("podium"), "no password material: {out}");
    assert!(
        answer["decoded"].as_str().unwrap().starts_with("PJLINK")
            || answer["decoded"].as_str().unwrap().starts_with("%1"),
        "{answer}"
    );
    // Extron SIS: commands and answers as text lines.
    let (out, answer) = frames_out_and_in(&daemon, &cookie, "matrix").await;
    assert!(
        !out["hex"].as_str().unwrap().is_empty() && !answer["decoded"].as_str().unwrap().is_empty(),
        "{out} {answer}"
    );
}

/// During a secret vote the desk buses' frames are withheld (a poll answer would tell who
/// pressed which vote key); after the vote they show again.
#[tokio::test]
async fn desk_frames_are_withheld_while_a_secret_vote_is_open() {
    let daemon = Daemon::demo();
    let cookie = login(&daemon.base, "technik", "technik").await;
    // The demo trusts loopback as the chair: open a meeting and a secret vote.
    let (status, body) = daemon.post_raw("/api/v1/meetings", r#"{"title":"Geheim"}"#).await;
    assert!(status == 201 || status == 409, "{status} {body}");
    let (status, body) =
        daemon.command(json!({"command": "open_vote", "vote": {"question": "Wahl", "kind": "secret"}})).await;
    assert_eq!(status, 200, "{body}");
    // The director withholds the buses once it has seen the snapshot: give it a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seen = 0;
    watch_monitor(&daemon, &cookie, "desks", |frame| {
        assert_eq!(frame["hex"], "", "no bytes during a secret vote: {frame}");
        assert_eq!(frame["decoded"], "withheld: secret vote", "{frame}");
        seen += 1;
        seen >= 30
    })
    .await;

    let (status, body) = daemon.command(json!({"command": "cancel_vote"})).await;
    assert_eq!(status, 200, "{body}");
    watch_monitor(&daemon, &cookie, "desks", |frame| frame["hex"].as_str().is_some_and(|h| !h.is_empty()))
        .await;
}
