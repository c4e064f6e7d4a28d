//! A real Mosquitto broker on a free loopback port, stopped when dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The name of the user this test runs as (`id -un`).
///
/// Mosquitto started as root drops its privileges to the user named by its `user` option
/// (default `mosquitto`, which exists only where the Debian package created it) and then
/// cannot read an ACL or password file under a directory only root may enter, such as
/// `/root` or a `mktemp -d` folder. Naming the current user keeps the broker's rights equal
/// to the test's own; for a user other than root the option has no effect.
fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run `id -un`");
    assert!(out.status.success(), "`id -un` failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A running Mosquitto.
pub struct Mosquitto {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    config: PathBuf,
}

impl Mosquitto {
    /// Anonymous access, no persistence.
    pub fn start() -> Mosquitto {
        Self::start_with("allow_anonymous true\n")
    }

    /// With extra configuration lines (e.g. password and ACL files). Panics with the
    /// broker's own log when it does not start.
    pub fn start_with(extra: &str) -> Mosquitto {
        Self::try_start_with(extra).unwrap_or_else(|error| panic!("{error}"))
    }

    /// Like [`Mosquitto::start_with`], but a broker that does not start is an error
    /// carrying Mosquitto's log (its own reason, e.g. a file it cannot open).
    pub fn try_start_with(extra: &str) -> Result<Mosquitto, String> {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("mosquitto.conf");
        let user = current_user();
        std::fs::write(
            &config,
            format!(
                "user {user}\nlistener {port} 127.0.0.1\npersistence false\nmax_packet_size 1048576\nset_tcp_nodelay true\n{extra}"
            ),
        )
        .unwrap();
        let mut broker = Mosquitto { child: None, port, dir, config };
        broker.try_restart()?;
        Ok(broker)
    }

    /// A room's local broker bridged to the city's broker on `central_port` with the
    /// shipped bridge (`deploy/mosquitto/room-bridge.conf`): the room id, the address and
    /// the password filled in (login `room-<room>`), TLS left out (loopback). The bridge
    /// retries within 1-5 s instead of the shipped 2-30 s, so tests that restart brokers do
    /// not wait for a backed-off retry (the benchmark keeps the shipped timing).
    pub fn bridged_room(room: &str, central_port: u16, password: &str) -> Mosquitto {
        Self::bridged_room_retrying(room, central_port, password, "restart_timeout 1 5")
    }

    /// [`Mosquitto::bridged_room`] with the bridge's `restart_timeout` line as given.
    pub fn bridged_room_retrying(room: &str, central_port: u16, password: &str, restart: &str) -> Mosquitto {
        let shipped = include_str!("../../../deploy/mosquitto/room-bridge.conf");
        let bridge: String = shipped
            .lines()
            .filter(|l| !l.starts_with("bridge_cafile") && !l.starts_with("bridge_tls_version"))
            .map(|l| match l {
                l if l.starts_with("address ") => format!("address 127.0.0.1:{central_port}"),
                l if l.starts_with("remote_password ") => format!("remote_password {password}"),
                l if l.starts_with("restart_timeout ") => restart.to_owned(),
                l => l.replace("ratssaal", room),
            })
            .collect::<Vec<_>>()
            .join("\n");
        Self::start_with(&format!("allow_anonymous true\n{bridge}\n"))
    }

    /// Kills the broker (as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.try_restart().unwrap_or_else(|error| panic!("{error}"));
    }

    /// The broker's log: everything it wrote since it was last started.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("mosquitto.log")).unwrap_or_default()
    }

    /// Starts the broker and waits until it listens; if it exits first or does not listen
    /// within 15 s, the error quotes its log (which lives in the broker's temp directory).
    fn try_restart(&mut self) -> Result<(), String> {
        self.kill();
        let log = std::fs::File::create(self.path("mosquitto.log")).expect("create mosquitto.log");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.config)
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .map_err(|e| {
                format!("cannot start mosquitto ({e}); tests/run installs it (apt-get install mosquitto)")
            })?;
        let child = self.child.insert(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            let exited = child.try_wait().expect("wait for mosquitto");
            if exited.is_some() || Instant::now() >= deadline {
                let how = match exited {
                    Some(status) => format!("exited ({status})"),
                    None => "did not listen within 15 s".to_string(),
                };
                self.kill();
                return Err(format!(
                    "mosquitto on port {} {how}; its log ({}):\n{}",
                    self.port,
                    self.path("mosquitto.log").display(),
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Creates a Mosquitto password file with these users.
pub fn password_file(path: &Path, users: &[(&str, &str)]) {
    for (i, (user, password)) in users.iter().enumerate() {
        let mut cmd = Command::new("mosquitto_passwd");
        if i == 0 {
            cmd.arg("-c");
        }
        let out = cmd.arg("-b").arg(path).arg(user).arg(password).output().expect("run mosquitto_passwd");
        assert!(out.status.success(), "mosquitto_passwd failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// The reference bridge (`podium-bridge`), driven through stdin, read through stdout.
pub struct Bridge {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<Value>,
    stderr: super::StderrTail,
}

impl Bridge {
    pub fn start(port: u16, room: &str, extra: &[&str]) -> Bridge {
        let mut child = Command::new(env!("CARGO_BIN_EXE_podium-bridge"))
            .args(["--port", &port.to_string(), "--room", room])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start podium-bridge");
        let stderr = super::StderrTail::collect(&mut child);
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str(&line)
                    && tx.send(value).is_err()
                {
                    break;
                }
            }
        });
        let bridge = Bridge { child, stdin, lines, stderr };
        bridge.wait_for("the bridge's connection", |m| m["topic"] == "connected");
        bridge
    }

    pub fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Waits (up to 15 s, a generous bound) for a message the predicate accepts.
    pub fn wait_for(&self, what: &str, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(message) if predicate(&message) => return message,
                Ok(_) => {}
                Err(_) => {
                    panic!("the bridge did not see {what} within 15 s; its stderr:\n{}", self.stderr.text())
                }
            }
        }
    }

    /// Sends a line and waits for podiumd's reply to that participant's action.
    pub fn send_and_reply(&mut self, line: &str, participant: &str, action: &str) -> Value {
        self.send(line);
        let topic = format!("remote/{participant}/reply");
        self.wait_for(&format!("a reply to {line}"), |m| {
            m["topic"] == topic && m["payload"]["action"] == action
        })
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mosquitto_sub` on a topic filter: every message as (topic, JSON payload).
pub struct Subscriber {
    child: Child,
    lines: mpsc::Receiver<(String, Value)>,
}

impl Subscriber {
    pub fn start(port: u16, filter: &str) -> Subscriber {
        Self::start_as(port, filter, None)
    }

    /// Logged in as `(user, password)`, if given. Returns once the broker has answered the
    /// subscription (granted or refused), so nothing published after it can be missed.
    pub fn start_as(port: u16, filter: &str, login: Option<(&str, &str)>) -> Subscriber {
        // `-d` prints the protocol's steps ("Client … received SUBACK", "Subscribed (mid: 1):
        // 1") among the messages: the SUBACK is the moment the subscription holds. Into a
        // pipe, stdio would hold those lines back until a message flushes them; `stdbuf -oL`
        // (coreutils) writes each line at once.
        let mut command = Command::new("stdbuf");
        command.args(["-oL", "mosquitto_sub", "-p", &port.to_string(), "-t", filter, "-v", "-q", "1", "-d"]);
        if let Some((user, password)) = login {
            command.args(["-u", user, "-P", password]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("mosquitto_sub (tests/run installs mosquitto-clients)");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let (subscribed_tx, subscribed) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("Subscribed (mid:") {
                    let _ = subscribed_tx.send(());
                    continue;
                }
                if line.starts_with("Client ") {
                    continue;
                }
                let (topic, payload) = line.split_once(' ').unwrap_or((line.as_str(), ""));
                let payload = serde_json::from_str(payload).unwrap_or(Value::Null);
                if tx.send((topic.to_string(), payload)).is_err() {
                    break;
                }
            }
        });
        subscribed.recv_timeout(Duration::from_secs(15)).unwrap_or_else(|_| {
            panic!("mosquitto_sub on port {port} was not subscribed to {filter} within 15 s")
        });
        Subscriber { child, lines }
    }

    /// Waits (up to 15 s) for a message the predicate accepts.
    pub fn wait_for(&self, what: &str, predicate: impl Fn(&str, &Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok((topic, payload)) if predicate(&topic, &payload) => return payload,
                Ok(_) => {}
                Err(_) => panic!("no MQTT message with {what} within 15 s"),
            }
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes one message with `mosquitto_pub` (QoS 1).
pub fn publish(port: u16, topic: &str, payload: &str, retain: bool) {
    publish_as(port, topic, payload, retain, None);
}

/// [`publish`] logged in as `(user, password)`, if given. A publish the broker's ACL
/// refuses still succeeds for the client (MQTT 3.1.1 has no refusal): check delivery.
pub fn publish_as(port: u16, topic: &str, payload: &str, retain: bool, login: Option<(&str, &str)>) {
    let mut args = vec![
        "-p".to_string(),
        port.to_string(),
        "-q".into(),
        "1".into(),
        "-t".into(),
        topic.into(),
        "-m".into(),
        payload.into(),
    ];
    if retain {
        args.push("-r".into());
    }
    if let Some((user, password)) = login {
        args.extend(["-u".into(), user.into(), "-P".into(), password.into()]);
    }
    let status = Command::new("mosquitto_pub").args(&args).status().expect("mosquitto_pub");
    assert!(status.success(), "mosquitto_pub {topic}");
}
