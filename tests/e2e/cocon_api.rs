//! Podium speaks Televic's CoCon API: `cocon-client` from PyPI (an independent async CoCon
//! client nobody here wrote) connects to podiumd's `[cocon_api]`, receives the floor's
//! microphone state as it changes, and switches microphones. Addresses not trusted are
//! refused; a viewer role reads but may not switch (CoCon's `-1`).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use support::Daemon;

const PATIENCE: Duration = Duration::from_secs(30);

fn room(role: &str, trusted: &str) -> String {
    format!(
        r#"
[room]
id = "e2e-cocon"
name = "CoCon API"

[web]
trust_loopback_as = "chair"

[discussion]
mode = "request"
max_open_microphones = 2

[cocon_api]
listen = "127.0.0.1:0"
trusted = [{trusted}]
role = "{role}"

[[seat]]
number = 2
member = "a"
[[seat]]
number = 3
member = "b"

[[member]]
id = "a"
name = "Anna A"
[[member]]
id = "b"
name = "Bernd B"
[[member]]
id = "r1"
name = "Rita Remote"
remote_allowed = true
"#
    )
}

/// The cocon-client process: commands in, JSON lines out.
struct Client {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<Value>,
    /// Every line so far: a wait looks from a mark on, so an event that came before the
    /// result it waits for is not lost (their order varies).
    seen: Vec<Value>,
}

impl Client {
    fn start(addr: &str) -> Client {
        let (host, port) = addr.rsplit_once(':').expect("host:port");
        let python = std::env::var("PODIUM_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/e2e/drive_cocon_client.py");
        let mut child = Command::new(python)
            .args([script, host, port])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3 with cocon-client (tests/run installs it)");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        Client { child, stdin, lines, seen: Vec::new() }
    }

    /// Sends a command; returns the mark to wait from.
    fn send(&mut self, line: &str) -> usize {
        let mark = self.seen.len();
        writeln!(self.stdin, "{line}").expect("write to cocon-client");
        mark
    }

    /// The first line from `mark` on that satisfies `test`.
    fn wait_for(&mut self, mark: usize, what: &str, test: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + PATIENCE;
        let mut i = mark;
        loop {
            while let Some(v) = self.seen.get(i) {
                if test(v) {
                    return v.clone();
                }
                i += 1;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) => self.seen.push(v),
                Err(_) => panic!("cocon-client never reported {what}: {:?}", &self.seen[mark..]),
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
    }
}

fn mic_state(v: &Value) -> Option<&Value> {
    v.get("event")?.get("MicrophoneState")
}

#[tokio::test]
async fn cocon_client_follows_the_floor_and_switches_microphones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let daemon = Daemon::with_config(dir.path(), &room("chair", r#""127.0.0.1""#));
    let addr = daemon.cocon.clone().expect("podiumd printed its CoCon address");
    let mut client = Client::start(&addr);
    let empty = json!({"Speakers": [], "Requests": [], "Replies": []});
    client.wait_for(0, "the lists on connect", |v| mic_state(v) == Some(&empty));

    // A change on Podium's floor reaches the client.
    let mark = client.seen.len();
    daemon.command(json!({"command": "request", "station": {"seat": 3}})).await;
    client.wait_for(mark, "seat 3 waiting", |v| mic_state(v).is_some_and(|m| m["Requests"] == json!([3])));

    // The client switches seat 2 on: the floor grants it, and the client hears it.
    let mark = client.send("SetState On 2");
    let answer = client.wait_for(mark, "SetState's result", |v| v.get("result").is_some());
    assert_eq!(answer["result"], 0, "{answer}");
    client.wait_for(mark, "seat 2 speaking", |v| mic_state(v).is_some_and(|m| m["Speakers"] == json!([2])));
    let (_, state) = daemon.get("/api/v1/state").await;
    assert_eq!(state["floor"]["speakers"][0]["station"], json!({"seat": 2}));

    // The next in the list, then everything off.
    let mark = client.send("Send Microphone/ActivateNextMicrophone");
    client.wait_for(mark, "seat 3 speaking", |v| {
        mic_state(v).is_some_and(|m| m["Speakers"] == json!([2, 3]) && m["Requests"] == json!([]))
    });
    let mark = client.send("Send Microphone/GetState");
    let got =
        client.wait_for(mark, "GetState", |v| v.get("result").is_some_and(|r| r.get("GetState").is_some()));
    assert_eq!(got["result"]["GetState"]["State"]["Speakers"], json!([2, 3]));
    let mark = client.send("SetState Off 2");
    client.wait_for(mark, "seat 2 off", |v| mic_state(v).is_some_and(|m| m["Speakers"] == json!([3])));
    let mark = client.send("Send Microphone/ClearMicrophoneList Type=SpeakersAndRequests");
    client.wait_for(mark, "all off", |v| mic_state(v) == Some(&empty));

    // What the floor refuses answers 1, and changes nothing: seat 9 does not exist.
    let mark = client.send("SetState On 9");
    let refused = client.wait_for(mark, "the refusal", |v| v.get("command") == Some(&json!("SetState On 9")));
    assert_eq!(refused["result"], 1, "{refused}");
}

#[tokio::test]
async fn untrusted_addresses_and_viewers_may_not_switch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let daemon = Daemon::with_config(dir.path(), &room("viewer", r#""127.0.0.1""#));
    let base = format!("http://{}", daemon.cocon.clone().expect("address"));
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).send();
    let connect = get("/CoCon/Connect").await.expect("connect");
    assert_eq!(connect.status(), 200);
    assert!(connect.headers()["content-type"].to_str().unwrap_or("").starts_with("application/json"));
    let body: Value = serde_json::from_str(&connect.text().await.expect("body")).expect("json");
    let inner: Value =
        serde_json::from_str(body.as_str().expect("a JSON string, as CoCon sends")).expect("inner json");
    assert_eq!(inner["Connect"], true);
    let id = inner["id"].as_str().expect("id");
    let subscribed =
        get(&format!("/CoCon/Subscribe?Model=Microphone&id={id}&details=true")).await.expect("subscribe");
    let body: Value = serde_json::from_str(&subscribed.text().await.expect("body")).expect("json");
    assert_eq!(
        serde_json::from_str::<Value>(body.as_str().expect("string")).expect("inner"),
        json!({"Subscribe": {"Model": "Microphone", "result": true, "details": true}})
    );
    let switch = get("/CoCon/Microphone/SetState/?State=On&SeatNr=2").await.expect("set");
    assert_eq!(switch.status(), 200, "CoCon clients resend what is not 200");
    assert_eq!(switch.text().await.expect("body"), r#""-1""#, "a viewer may read, not switch");
    assert_eq!(get("/CoCon/Notification/id=nobody").await.expect("poll").status(), 400);
    assert_eq!(get("/CoCon/Voting/GetVotingState").await.expect("other").status(), 404);
    let (_, state) = daemon.get("/api/v1/state").await;
    assert_eq!(state["floor"]["speakers"], json!([]));

    let dir = tempfile::tempdir().expect("temp dir");
    let elsewhere = Daemon::with_config(dir.path(), &room("chair", r#""10.9.8.7""#));
    let base = format!("http://{}", elsewhere.cocon.clone().expect("address"));
    let refused = http.get(format!("{base}/CoCon/Connect")).send().await.expect("connect");
    assert_eq!(refused.status(), 403);
}
