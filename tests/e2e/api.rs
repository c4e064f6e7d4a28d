//! End to end through the real daemon: the demo room, commands, errors, the event stream
//! with resume, the OpenAPI description, and shutdown with clients connected.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Daemon, SseClient};

#[tokio::test]
async fn demo_room_request_and_next_change_the_state() {
    let daemon = Daemon::demo();
    let (status, state) = daemon.get("/api/v1/state").await;
    assert_eq!(status, 200);
    assert_eq!(state["seats"].as_array().unwrap().len(), 40);
    assert_eq!(state["floor"]["seq"], 0);

    let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": 12}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["change"]["type"], "request_added");
    let (_, state) = daemon.get("/api/v1/state").await;
    assert_eq!(state["floor"]["requests"][0]["station"], json!({"seat": 12}));
    assert_eq!(state["floor"]["requests"][0]["participant"], "mueller");

    let (status, body) = daemon.command(json!({"command": "next"})).await;
    assert_eq!(status, 200, "{body}");
    let (_, state) = daemon.get("/api/v1/state").await;
    assert_eq!(state["floor"]["requests"], json!([]));
    assert_eq!(state["floor"]["speakers"][0]["station"], json!({"seat": 12}));
    assert_eq!(state["floor"]["speakers"][0]["budget_ms"], 180_000);
}

#[tokio::test]
async fn bad_input_gets_json_errors_with_fitting_status() {
    let daemon = Daemon::demo();
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("not JSON", "{nope".into(), 400, "invalid_json"),
        ("empty body", String::new(), 400, "empty_body"),
        ("unknown command", json!({"command": "nxt"}).to_string(), 400, "invalid_command"),
        (
            "wrong type",
            json!({"command": "request", "station": {"seat": "twelve"}}).to_string(),
            400,
            "invalid_command",
        ),
        (
            "seat out of range",
            json!({"command": "request", "station": {"seat": 70000}}).to_string(),
            400,
            "invalid_command",
        ),
        ("unknown field", json!({"command": "next", "now": 1}).to_string(), 400, "invalid_command"),
        (
            "unknown seat",
            json!({"command": "request", "station": {"seat": 99}}).to_string(),
            404,
            "unknown_seat",
        ),
        (
            "unknown participant",
            json!({"command": "join_remote", "participant": "nobody"}).to_string(),
            404,
            "unknown_participant",
        ),
        ("empty list", json!({"command": "next"}).to_string(), 409, "empty_list"),
        ("not speaking", json!({"command": "stop", "station": {"seat": 3}}).to_string(), 409, "not_speaking"),
        (
            "too large",
            format!("{{\"command\":\"next\",\"x\":\"{}\"}}", "a".repeat(100_000)),
            413,
            "body_too_large",
        ),
    ];
    for (what, body, status, code) in cases {
        let (got, error) = daemon.post_raw("/api/v1/commands", body).await;
        assert_eq!((got, error["error"].as_str()), (status, Some(code)), "{what}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: message");
    }
    let (status, error) = daemon.get("/api/v1/nothing").await;
    assert_eq!((status, error["error"].as_str()), (404, Some("not_found")));
    let response = reqwest::Client::new().delete(daemon.url("/api/v1/state")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let (status, error) = daemon.get("/api/v1/events?since=abc").await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_query")));
    // After all that the session is intact and still numbered from 1.
    let (_, body) = daemon.command(json!({"command": "request", "station": {"seat": 5}})).await;
    assert_eq!(body["seq"], 1);
}

#[tokio::test]
async fn event_stream_delivers_and_resumes_without_loss() {
    let daemon = Daemon::demo();
    let events_url = daemon.url("/api/v1/events");
    let mut client = SseClient::connect(&events_url, None).await;
    let first = client.next().await;
    assert_eq!(first.event, "snapshot");
    assert_eq!(first.id, Some(0));
    assert_eq!(first.data["seats"].as_array().unwrap().len(), 40);

    daemon.command(json!({"command": "request", "station": {"seat": 12}})).await;
    daemon.command(json!({"command": "request", "station": {"seat": 7}, "kind": "point_of_order"})).await;
    let a = client.next().await;
    let b = client.next().await;
    assert_eq!((a.event.as_str(), a.id, b.id), ("floor", Some(1), Some(2)));
    assert_eq!(b.data["change"]["request"]["kind"], "point_of_order");
    assert_eq!(b.data["change"]["position"], 1, "point of order goes first");
    drop(client);

    // While disconnected, more happens.
    daemon.command(json!({"command": "next"})).await;
    daemon.command(json!({"command": "set_list_open", "open": false})).await;

    // Resume with Last-Event-ID: every missed event, in order, no snapshot, no duplicate.
    let mut resumed = SseClient::connect(&events_url, Some(2)).await;
    let mut seqs = Vec::new();
    while let Some(event) = resumed.next_within(Duration::from_millis(500)).await {
        assert_eq!(event.event, "floor");
        seqs.push(event.id.unwrap());
    }
    let (_, state) = daemon.get("/api/v1/state").await;
    let last = state["floor"]["seq"].as_u64().unwrap();
    assert_eq!(seqs, (3..=last).collect::<Vec<_>>());

    // The same with ?since=, and live events continue after the backlog.
    let mut by_query = SseClient::connect(&format!("{events_url}?since={last}"), None).await;
    daemon.command(json!({"command": "set_list_open", "open": true})).await;
    let live = by_query.next().await;
    assert_eq!(live.id, Some(last + 1));
    assert_eq!(live.data["change"], json!({"type": "list_open_changed", "open": true}));

    // A position in the future cannot be resumed: the client gets a snapshot.
    let mut future = SseClient::connect(&events_url, Some(last + 100)).await;
    assert_eq!(future.next().await.event, "snapshot");
}

#[tokio::test]
async fn openapi_describes_every_route_and_every_route_answers() {
    let daemon = Daemon::demo();
    let (status, spec) = daemon.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths = spec["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/state", "get"),
        ("/api/v1/precedence", "get"),
        ("/api/v1/commands", "post"),
        ("/api/v1/events", "get"),
        ("/api/v1/openapi.json", "get"),
        ("/healthz", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from the spec"
        );
    }
    // Conversely every documented operation exists on the server (not 404/405).
    let client = reqwest::Client::new();
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let url = daemon.url(path);
            let request = match method.as_str() {
                "get" => client.get(&url),
                "post" => client.post(&url).body("{}"),
                "put" => client.put(&url).body("{}"),
                other => panic!("unexpected method {other}"),
            };
            let response =
                tokio::time::timeout(Duration::from_secs(5), request.send()).await.unwrap().unwrap();
            let status = response.status().as_u16();
            assert!(status != 404 && status != 405, "{method} {path} answered {status}");
        }
    }
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for schema in ["Command", "Event", "Snapshot", "ErrorBody", "Reason"] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
}

#[tokio::test]
async fn healthz_and_precedence() {
    let daemon = Daemon::demo();
    let (status, health) = daemon.get("/healthz").await;
    assert_eq!(
        (status, health["status"].as_str(), health["room"].as_str()),
        (200, Some("ok"), Some("ratssaal"))
    );
    let (_, precedence) = daemon.get("/api/v1/precedence").await;
    let kinds: Vec<&str> =
        precedence.as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["point_of_order", "reply", "ordinary"]);
}

#[tokio::test]
async fn sigterm_with_event_stream_clients_exits_promptly() {
    let mut daemon = Daemon::demo();
    let url = daemon.url("/api/v1/events");
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut client = SseClient::connect(&url, None).await;
        assert_eq!(client.next().await.event, "snapshot");
        clients.push(client);
    }
    let (took, status) = daemon.terminate();
    eprintln!("podiumd exited {took:?} after SIGTERM with 5 event-stream clients");
    assert!(status.success(), "exit status {status:?}");
    // The design bound is 1.5 s; the test only proves it does not hang (axum's graceful
    // shutdown waits forever for open streams unless they are cancelled).
    assert!(took < Duration::from_secs(10), "took {took:?}");
    for mut client in clients {
        assert!(client.next_within(Duration::from_secs(2)).await.is_none(), "stream ended");
    }
}

#[test]
fn check_config_reports_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(
        &file,
        "[room]\nid = \"saal\"\nname = \"Saal\"\n\n[discussion]\nmode = \"opne\"\n\n[[seat]]\nnumber = 1\n\n[[seat]]\nnumber = 1\n",
    )
    .unwrap();
    let output =
        std::process::Command::new(support::podiumd()).arg("check-config").arg(&file).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let path = file.display().to_string();
    assert!(stderr.contains(&format!("{path}:6:8")), "mode error position in:\n{stderr}");
    assert!(stderr.contains("did you mean `open`"), "suggestion in:\n{stderr}");
    assert!(stderr.contains(&format!("{path}:12:")), "duplicate seat position in:\n{stderr}");

    let path = support::repo_root().join("config").join("ortschaftsrat.toml");
    let output =
        std::process::Command::new(support::podiumd()).arg("check-config").arg(&path).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("OK"));
    // The demo room's logins and link are public: only `podiumd demo` runs with them.
    let path = support::repo_root().join("config").join("demo.toml");
    for args in [vec!["check-config"], vec!["run", "--config"]] {
        let output = std::process::Command::new(support::podiumd()).args(&args).arg(&path).output().unwrap();
        assert!(!output.status.success(), "{args:?} refuses the demo's secrets");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("demo's public password `chair`"), "{args:?}: {stderr}");
        assert!(stderr.contains("podiumd hash-password"), "{args:?}: {stderr}");
    }
}

#[test]
fn cli_help_and_version() {
    let version = std::process::Command::new(support::podiumd()).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
    let help = std::process::Command::new(support::podiumd()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for command in ["run", "check-config", "demo"] {
        assert!(help.contains(command), "help lists {command}");
    }
}

/// A console that accepts gzip gets the state compressed, the same JSON once unpacked; a
/// client that does not (or refuses it) gets it as it is.
#[tokio::test]
async fn the_state_comes_gzipped_when_the_client_accepts_it() {
    use std::io::Read;
    let daemon = Daemon::demo();
    let (status, body) = daemon.command(json!({"command": "request", "station": {"seat": 12}})).await;
    assert_eq!(status, 200, "{body}");
    let get = |accept: Option<&'static str>| {
        let mut request = reqwest::Client::new().get(daemon.url("/api/v1/state"));
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        async move { request.send().await.expect("GET /api/v1/state") }
    };

    let plain = get(None).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers().get("content-encoding"), None);
    assert_eq!(plain.headers()["vary"], "accept-encoding");
    let plain: serde_json::Value = plain.json().await.unwrap();
    assert_eq!(plain["floor"]["requests"][0]["station"], json!({"seat": 12}));

    let packed = get(Some("gzip, deflate, br")).await;
    assert_eq!(packed.status(), 200);
    assert_eq!(packed.headers()["content-encoding"], "gzip");
    assert_eq!(packed.headers()["content-type"], "application/json");
    let bytes = packed.bytes().await.unwrap();
    let mut unpacked = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut unpacked).expect("gzip");
    assert!(bytes.len() * 3 < unpacked.len(), "{} bytes packed from {}", bytes.len(), unpacked.len());
    assert_eq!(serde_json::from_str::<serde_json::Value>(&unpacked).unwrap(), plain);

    let refused = get(Some("gzip;q=0, identity")).await;
    assert_eq!(refused.headers().get("content-encoding"), None);
    assert_eq!(refused.json::<serde_json::Value>().await.unwrap(), plain);
}
