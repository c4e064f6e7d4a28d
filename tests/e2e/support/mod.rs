//! Shared helpers for the end-to-end tests: start the real `podiumd` binary on a free
//! loopback port, talk to it over HTTP, read its event stream.

#![allow(dead_code)]

pub mod mosquitto;
pub mod socket_sse;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

/// A room for the MQTT benchmarks: podiumd on an external broker at `port`, loopback
/// trusted as the chair, one seat and `members` members who may join remotely (`r0`, `r1`, ...).
pub fn remote_members_room(port: u16, members: usize) -> String {
    let mut toml = format!(
        "[room]\nid = \"bench\"\nname = \"Bench\"\n\n[mqtt]\nbroker = \"external\"\nhost = \"127.0.0.1\"\nport = {port}\n\n\
         [web]\ntrust_loopback_as = \"chair\"\n\n[discussion]\nmode = \"request\"\nmax_requests = 200\n\n[[seat]]\nnumber = 1\n"
    );
    for i in 0..members {
        toml.push_str(&format!(
            "\n[[member]]\nid = \"r{i}\"\nname = \"Remote {i}\"\nremote_allowed = true\n"
        ));
    }
    toml
}

/// The daemon binary cargo built for these tests.
pub fn podiumd() -> &'static str {
    env!("CARGO_BIN_EXE_podiumd")
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

/// `podiumd hash-password` with the password on standard input: the argon2id hash.
pub fn hash_password(password: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(podiumd())
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hash-password");
    child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("write password");
    let out = child.wait_with_output().expect("hash-password");
    assert!(out.status.success(), "hash-password failed: {}", String::from_utf8_lossy(&out.stderr));
    let hash = String::from_utf8(out.stdout).expect("utf-8").trim().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    hash
}

/// `podiumd remote-link MEMBER --config FILE`: (the link's path, the config lines to add).
pub fn remote_link(member: &str, config: &Path) -> (String, String) {
    let out = Command::new(podiumd())
        .args(["remote-link", member, "--config", config.to_str().expect("utf-8")])
        .output()
        .expect("remote-link");
    assert!(out.status.success(), "remote-link failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let url = text.lines().find(|l| l.starts_with("http://")).expect("a link line").to_owned();
    let path =
        url.split_once("/remote/").map(|(_, token)| format!("/remote/{token}")).expect("a /remote/ link");
    let config_lines =
        text.lines().skip_while(|l| !l.starts_with("[[remote_link]]")).collect::<Vec<_>>().join("\n");
    (path, config_lines)
}

/// The standard error of a child process, collected by a thread, so a test that fails
/// because the process did not start or stopped answering can quote the process's own
/// reason. Keeps the last 64 KiB.
#[derive(Clone, Default)]
pub struct StderrTail(std::sync::Arc<(std::sync::Mutex<String>, std::sync::atomic::AtomicBool)>);

impl StderrTail {
    const KEEP: usize = 64 * 1024;

    /// Takes the child's piped stderr (spawn it with `.stderr(Stdio::piped())`).
    pub fn collect(child: &mut Child) -> StderrTail {
        let tail = StderrTail::default();
        let stderr = child.stderr.take().expect("stderr must be piped");
        let sink = tail.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut text = sink.0.0.lock().unwrap_or_else(|e| e.into_inner());
                text.push_str(&line);
                text.push('\n');
                if text.len() > Self::KEEP {
                    let mut cut = text.len() - Self::KEEP;
                    while !text.is_char_boundary(cut) {
                        cut += 1;
                    }
                    text.drain(..cut);
                }
            }
            sink.0.1.store(true, std::sync::atomic::Ordering::Release);
        });
        tail
    }

    /// What the process wrote so far.
    pub fn text(&self) -> String {
        self.0.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What the process wrote, once its stderr closed (it exited) or after 2 s at most.
    pub fn text_at_exit(&self) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while !self.0.1.load(std::sync::atomic::Ordering::Acquire) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.text()
    }
}

/// The session cookie a response sets, as `name=value` (either cookie name).
pub fn set_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .find(|pair| pair.split_once('=').is_some_and(|(_, value)| !value.is_empty()))
}

/// A running daemon; killed when dropped, so a failing test leaves nothing behind.
pub struct Daemon {
    pub child: Child,
    pub base: String,
    /// The MQTT broker address podiumd uses, if it printed one (`podiumd mqtt on ADDR`).
    pub mqtt: Option<String>,
    /// The CoCon API's address, if it printed one (`podiumd cocon on ADDR`).
    pub cocon: Option<String>,
}

impl Daemon {
    /// Starts `podiumd` with these arguments (which must make it listen on 127.0.0.1:0)
    /// and waits for its `listening on` line.
    pub fn start(args: &[&str]) -> Daemon {
        Daemon::spawn(Command::new(podiumd()).args(args))
    }

    /// Runs `command` (podiumd, or a shell that execs it, e.g. under a `ulimit`) and waits
    /// for its `listening on` line.
    pub fn spawn(command: &mut Command) -> Daemon {
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start podiumd");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut mqtt = None;
        let mut cocon = None;
        let base = loop {
            let line = lines.next().expect("podiumd exited before listening").expect("read stdout");
            if let Some(url) = line.strip_prefix("podiumd listening on ") {
                break url.trim().to_string();
            }
            if let Some(addr) = line.strip_prefix("podiumd mqtt on ") {
                mqtt = Some(addr.trim().to_string());
            }
            if let Some(addr) = line.strip_prefix("podiumd cocon on ") {
                cocon = Some(addr.trim().to_string());
            }
        };
        // Keep draining stdout so the daemon never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Daemon { child, base, mqtt, cocon }
    }

    /// The demo room on a free port (its embedded MQTT broker on another free port).
    pub fn demo() -> Daemon {
        Daemon::start(&["demo", "--listen", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0"])
    }

    /// A room from configuration text, on a free port. The file lives in `dir`, and so
    /// does its journal unless the text names one (tests must never share a journal).
    pub fn with_config(dir: &Path, toml: &str) -> Daemon {
        let path = dir.join("room.toml");
        let mut toml = toml.to_string();
        if !toml.contains("[journal]") {
            let journal = dir.join("journal.sqlite3");
            toml.push_str(&format!("\n[journal]\npath = \"{}\"\n", journal.display()));
        }
        std::fs::write(&path, toml).expect("write config");
        Daemon::start(&["run", "--config", path.to_str().expect("utf-8 path"), "--listen", "127.0.0.1:0"])
    }

    /// The port of the MQTT broker podiumd uses.
    pub fn mqtt_port(&self) -> u16 {
        let addr = self.mqtt.as_deref().expect("podiumd printed no MQTT address");
        addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("MQTT port")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = reqwest::get(self.url(path)).await.expect("GET");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn command(&self, command: Value) -> (u16, Value) {
        self.post_raw("/api/v1/commands", command.to_string()).await
    }

    /// Sends SIGTERM and waits for the exit; returns how long it took.
    pub fn terminate(&mut self) -> (Duration, std::process::ExitStatus) {
        let started = std::time::Instant::now();
        unsafe_kill(self.child.id(), "TERM");
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (started.elapsed(), status);
            }
            if started.elapsed() > Duration::from_secs(20) {
                panic!("podiumd did not exit 20 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `signal` (e.g. `STOP`, `CONT`) to a process.
pub fn signal(pid: u32, signal: &str) {
    unsafe_kill(pid, signal);
}

/// Sends a signal with the system's `kill` (keeps the tests free of unsafe code).
fn unsafe_kill(pid: u32, signal: &str) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().expect("kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub event: String,
    pub id: Option<u64>,
    pub data: Value,
}

/// A minimal SSE reader over a real HTTP connection.
pub struct SseClient {
    stream: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseClient {
    pub async fn connect(url: &str, last_event_id: Option<u64>) -> SseClient {
        let mut request = reqwest::Client::new().get(url).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("connect SSE");
        assert_eq!(response.status().as_u16(), 200, "SSE status");
        assert!(
            response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"),
            "SSE content type"
        );
        SseClient { stream: response.bytes_stream().boxed(), buffer: String::new() }
    }

    /// The next event, or `None` if none arrives within `wait` or the stream ends.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_frame(&frame) {
                    return Some(event);
                }
                continue; // keep-alive comment
            }
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }

    /// The next event; panics if none arrives within 10 s (a generous bound, not a goal).
    pub async fn next(&mut self) -> Sse {
        self.next_within(Duration::from_secs(10)).await.expect("an event within 10 s")
    }
}

fn parse_frame(frame: &str) -> Option<Sse> {
    let (mut event, mut id, mut data) = (String::from("message"), None, String::new());
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("id:") {
            id = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
    if data.is_empty() {
        return None;
    }
    Some(Sse { event, id, data: serde_json::from_str(&data).expect("SSE data is JSON") })
}
