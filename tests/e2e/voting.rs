//! End to end through the real daemon: attendance and votes survive `kill -9`. A meeting
//! with an item, members checked in by the chair, an open and a secret vote with some
//! ballots; the daemon is killed in the middle of each vote and restarted on the same
//! journal: the vote is open again with the same ballots, the secret vote closes with the
//! right totals, and the minutes show the attendance and both votes.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::podiumd;

/// Six members (seat 1: the chair); loopback API clients act as the chair.
fn room_toml(journal: &Path) -> String {
    let mut toml = format!(
        "[room]\nid = \"voteroom\"\nname = \"Ratssaal\"\n\n[web]\ntrust_loopback_as = \"chair\"\n\n\
         [journal]\npath = {:?}\nretention_days = 30\n\n",
        journal.display().to_string()
    );
    for n in 1..=6 {
        toml.push_str(&format!("[[seat]]\nnumber = {n}\nmember = \"m{n}\"\n\n"));
    }
    for n in 1..=6 {
        let role = if n == 1 { "chair" } else { "member" };
        toml.push_str(&format!(
            "[[member]]\nid = \"m{n}\"\nname = \"Mitglied {n}\"\nrole = \"{role}\"\nremote_allowed = true\n\n"
        ));
        let digest: String =
            Sha256::digest(token(&format!("m{n}")).as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        toml.push_str(&format!("[[remote_link]]\nmember = \"m{n}\"\ntoken_hash = \"sha256:{digest}\"\n\n"));
    }
    // Remote members take part in the secret vote: in a secret vote only the members
    // themselves vote (no entry by the chair), here through their personal links.
    toml.push_str("[voting]\nremote_secret = true\n");
    toml
}

/// A member's personal-link token.
fn token(member: &str) -> String {
    format!("e2e-voting-personal-link-{member}-0123456789")
}

/// A running podiumd; killed (SIGKILL) when dropped.
struct Podiumd {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Podiumd {
    fn start(config: &Path) -> Podiumd {
        let mut child = Command::new(podiumd())
            .args(["run", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start podiumd");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let base = loop {
            let line = lines.next().expect("podiumd exited before listening").expect("read stdout");
            if let Some(url) = line.strip_prefix("podiumd listening on ") {
                break url.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Podiumd { child, base, http: reqwest::Client::new() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn get(&self, path: &str) -> Value {
        let response = self.http.get(self.url(path)).send().await.expect("GET");
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        response.json().await.expect("json")
    }

    async fn get_text(&self, path: &str) -> String {
        let response = self.http.get(self.url(path)).send().await.expect("GET");
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        response.text().await.expect("text")
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.http.post(self.url(path)).json(&body).send().await.expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A command as a member through their personal link; it must be accepted.
    async fn as_member(&self, member: &str, command: Value) -> Value {
        let response = self
            .http
            .post(self.url("/api/v1/commands"))
            .bearer_auth(token(member))
            .json(&command)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "{member}: {command} → {body}");
        body
    }

    /// A command as the loopback chair; it must be accepted.
    async fn command(&self, command: Value) -> Value {
        let (status, body) = self.post("/api/v1/commands", command.clone()).await;
        assert_eq!(status, 200, "{command} → {body}");
        body
    }

    async fn vote(&self) -> Value {
        self.get("/api/v1/state").await["floor"]["vote"].clone()
    }

    fn kill9(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("wait");
    }
}

impl Drop for Podiumd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn voters(vote: &Value) -> Vec<String> {
    vote["ballots"].as_object().map(|b| b.keys().cloned().collect()).unwrap_or_default()
}

#[tokio::test]
async fn votes_and_attendance_survive_kill_9_and_reach_the_minutes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("state").join("journal.sqlite3");
    let config = dir.path().join("room.toml");
    std::fs::write(&config, room_toml(&journal)).expect("config");

    let mut daemon = Podiumd::start(&config);
    let agenda = json!([
        {"id": 1, "number": "Ö 1", "title": "Haushalt 2027", "publicity": "public"},
        {"id": 2, "number": "Ö 2", "title": "Wahl der Schiedsperson", "publicity": "public"}
    ]);
    let (status, meeting) =
        daemon.post("/api/v1/meetings", json!({"title": "Stadtrat, 3. Sitzung", "agenda": agenda})).await;
    assert_eq!(status, 201, "{meeting}");
    let id = meeting["id"].as_i64().expect("meeting id");
    for n in 1..=5 {
        daemon
            .command(
                json!({"command": "mark_attendance", "participant": format!("m{n}"), "status": "present"}),
            )
            .await;
    }
    daemon.command(json!({"command": "mark_attendance", "participant": "m6", "status": "excused"})).await;
    daemon.command(json!({"command": "enter_item", "item": 1})).await;

    // An open vote: three ballots, then kill -9.
    daemon
        .command(json!({"command": "open_vote", "vote": {"question": "Haushalt 2027 beschließen?", "kind": "open"}}))
        .await;
    for (member, choice) in [("m2", "yes"), ("m3", "no"), ("m4", "yes")] {
        daemon.command(json!({"command": "cast_vote", "participant": member, "choice": choice})).await;
    }
    let open_before = daemon.vote().await;
    assert_eq!(voters(&open_before), ["m2", "m3", "m4"]);
    daemon.kill9();

    let mut daemon = Podiumd::start(&config);
    let open_after = daemon.vote().await;
    assert_eq!(open_after, open_before, "the open vote is open again with the same ballots");
    daemon.as_member("m5", json!({"command": "join_remote", "participant": "m5"})).await;
    daemon.as_member("m5", json!({"command": "cast_vote", "choice": "yes"})).await;
    let closed = daemon.command(json!({"command": "close_vote"})).await;
    let result = &closed["events"].as_array().expect("events").last().expect("closed")["change"]["result"];
    assert_eq!((result["yes"].as_u64(), result["no"].as_u64()), (Some(3), Some(1)), "{closed}");
    assert_eq!(result["outcome"], "accepted");

    // A secret vote on the next item: four ballots, then kill -9.
    daemon.command(json!({"command": "enter_item", "item": 2})).await;
    daemon
        .command(
            json!({"command": "open_vote", "vote": {"question": "Frau Beispiel wählen?", "kind": "secret"}}),
        )
        .await;
    for (member, choice) in [("m1", "yes"), ("m2", "no"), ("m3", "yes"), ("m4", "abstain")] {
        daemon.as_member(member, json!({"command": "join_remote", "participant": member})).await;
        daemon.as_member(member, json!({"command": "cast_vote", "choice": choice})).await;
    }
    let secret_before = daemon.vote().await;
    assert_eq!(voters(&secret_before), ["m1", "m2", "m3", "m4"]);
    assert!(!secret_before.to_string().contains("\"choice\""), "no choice in the state: {secret_before}");
    daemon.kill9();

    let daemon = Podiumd::start(&config);
    assert_eq!(daemon.vote().await, secret_before, "the secret vote is open again with the same voters");
    let diagnostics = daemon.get("/api/v1/diagnostics").await;
    let recovery = &diagnostics["journal"]["recovery"];
    assert!(recovery["urn_restored"].is_u64(), "the urn was restored: {recovery}");
    assert!(recovery.get("urn_refused").is_none(), "{recovery}");
    daemon.as_member("m5", json!({"command": "join_remote", "participant": "m5"})).await;
    daemon.as_member("m5", json!({"command": "cast_vote", "choice": "yes"})).await;
    let closed = daemon.command(json!({"command": "close_vote"})).await;
    let result = &closed["events"].as_array().expect("events").last().expect("closed")["change"]["result"];
    assert_eq!(
        (result["yes"].as_u64(), result["no"].as_u64(), result["abstain"].as_u64(), result["voted"].as_u64()),
        (Some(3), Some(1), Some(1), Some(5)),
        "the urn's counts from before the crash plus the ballot after it: {closed}"
    );

    // The minutes: attendance and both votes.
    let minutes = daemon.get(&format!("/api/v1/meetings/{id}/minutes")).await;
    let attendance = minutes["attendance"].as_array().expect("attendance");
    assert_eq!(attendance.len(), 6);
    assert_eq!(minutes["members_present"], 5);
    let m6 = attendance.iter().find(|a| a["participant"] == "m6").expect("m6");
    assert_eq!(m6["status"], "excused");
    let m2 = attendance.iter().find(|a| a["participant"] == "m2").expect("m2");
    assert_eq!(m2["periods"][0]["by"], "chair");
    let votes = minutes["votes"].as_array().expect("votes");
    assert_eq!(votes.len(), 2, "{votes:?}");
    assert_eq!((votes[0]["kind"].as_str(), votes[0]["item_id"].as_u64()), (Some("open"), Some(1)));
    assert_eq!(votes[0]["result"]["outcome"], "accepted");
    assert_eq!(votes[1]["kind"], "secret");
    assert_eq!(votes[1]["ballots"].as_array().map(Vec::len), Some(5), "who voted");
    assert!(votes[1]["ballots"].as_array().expect("ballots").iter().all(|b| b["choice"].is_null()));
    assert_eq!(votes[1]["result"]["voted"], 5);
    let html = daemon.get_text(&format!("/api/v1/meetings/{id}/minutes?format=html")).await;
    for needle in
        ["Anwesenheitsliste", "Beschlussfähigkeit", "geheime Abstimmung", "offene Abstimmung", "entschuldigt"]
    {
        assert!(html.contains(needle), "the printed minutes show {needle}");
    }
    let csv = daemon.get_text(&format!("/api/v1/meetings/{id}/minutes?format=csv&part=votes")).await;
    assert!(csv.starts_with("meeting,vote,item,question"), "{csv}");
    assert!(csv.contains("Frau Beispiel wählen?"));
    let csv = daemon.get_text(&format!("/api/v1/meetings/{id}/minutes?format=csv&part=attendance")).await;
    assert!(csv.contains("Mitglied 6") && csv.contains("excused"), "{csv}");
}
