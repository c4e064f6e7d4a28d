//! A whole council meeting through the API, against the real daemon, a real Mosquitto and
//! its journal: agenda from a draft (an undecided item blocks the opening), items with
//! their own lists, conflict of interest, a speaking-time budget, the non-public part
//! (no name on any public output: anonymous state, the public event stream, the public
//! MQTT topics), a kill -9 in the middle of an item, and the minutes in three formats.

mod support;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::mosquitto::Mosquitto;
use support::{Daemon, SseClient, hash_password, set_cookie};

const PASSWORD: &str = "chair-password-1";
/// Every name and id of the room: none may appear on a public output in the non-public part.
const MARKERS: [&str; 12] = [
    "Xaverchair",
    "idxchair",
    "Bertamarker",
    "idberta",
    "Caesarmarker",
    "idcaesar",
    "Doramarker",
    "iddora",
    "Remomarker",
    "idremo",
    "Gastmarker",
    "idgast",
];
/// The title of the non-public item.
const SECRET_TITLE: &str = "Grundstueck Geheimweg";

fn room(dir: &std::path::Path, mqtt_port: u16) -> String {
    format!(
        r#"
[room]
id = "rat"
name = "Ratssaal"
time_zone = "Europe/Berlin"

[web]
display_public = true

[[user]]
name = "chair"
role = "chair"
password_hash = "{hash}"

[journal]
path = "{journal}"

[mqtt]
broker = "external"
host = "127.0.0.1"
port = {mqtt_port}

[discussion]
mode = "request"
max_open_microphones = 2

[[seat]]
number = 1
member = "idxchair"
[[seat]]
number = 2
member = "idberta"
[[seat]]
number = 3
member = "idcaesar"
[[seat]]
number = 4
member = "iddora"

[[member]]
id = "idxchair"
name = "Xaverchair"
role = "chair"
group = "CDU"
[[member]]
id = "idberta"
name = "Bertamarker"
group = "SPD"
[[member]]
id = "idcaesar"
name = "Caesarmarker"
group = "CDU"
[[member]]
id = "iddora"
name = "Doramarker"
group = "SPD"
[[member]]
id = "idremo"
name = "Remomarker"
group = "CDU"
remote_allowed = true
[[member]]
id = "idgast"
name = "Gastmarker"
role = "guest"
remote_allowed = true
"#,
        hash = hash_password(PASSWORD),
        journal = dir.join("journal.sqlite3").display(),
    )
}

/// The chair, logged in.
struct Chair {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Chair {
    async fn login(daemon: &Daemon) -> Chair {
        let http = reqwest::Client::new();
        let response = http
            .post(daemon.url("/api/v1/login"))
            .json(&json!({"user": "chair", "password": PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status().as_u16(), 200);
        let cookie = set_cookie(response.headers()).expect("a session cookie");
        Chair { http, base: daemon.base.clone(), cookie }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, String) {
        // A console sends its session cookie with the CSRF header (api/access).
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-podium-csrf", "1");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, text) = self.send(reqwest::Method::POST, path, Some(body)).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn command(&self, command: Value) -> Value {
        let (status, body) = self.post("/api/v1/commands", command.clone()).await;
        assert_eq!(status, 200, "{command} → {body}");
        body
    }

    async fn refused(&self, command: Value) -> (u16, String) {
        let (status, body) = self.post("/api/v1/commands", command).await;
        (status, body["error"].as_str().unwrap_or_default().to_owned())
    }

    async fn state(&self) -> Value {
        let (status, text) = self.send(reqwest::Method::GET, "/api/v1/state", None).await;
        assert_eq!(status, 200);
        serde_json::from_str(&text).expect("state")
    }
}

async fn anonymous_state(daemon: &Daemon) -> Value {
    let (status, state) = daemon.get("/api/v1/state").await;
    assert_eq!(status, 200, "the display is public: anonymous reads are allowed");
    state
}

fn leaks(text: &str) -> Vec<&'static str> {
    let mut found: Vec<&str> = MARKERS.iter().copied().filter(|m| text.contains(m)).collect();
    if text.contains(SECRET_TITLE) {
        found.push(SECRET_TITLE);
    }
    found
}

/// A subscriber on the public MQTT topics, writing everything it receives to a pipe.
fn mqtt_spy(port: u16) -> Child {
    let base = "podium/v1/rat";
    Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-v"])
        .args([
            "-t",
            &format!("{base}/state"),
            "-t",
            &format!("{base}/events"),
            "-t",
            &format!("{base}/conference"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub")
}

fn spy_output(mut spy: Child) -> String {
    let _ = spy.kill();
    let mut out = String::new();
    spy.stdout.take().expect("stdout").read_to_string(&mut out).expect("read");
    let _ = spy.wait();
    out
}

fn agenda(third: &str) -> Value {
    json!({
        "title": "Stadtrat, 12. Sitzung",
        "body": "Stadtrat",
        "items": [
            {"id": 1, "number": "Ö 1", "title": "Haushalt", "publicity": "public"},
            {"id": 2, "number": "Ö 2", "title": "Bebauungsplan", "publicity": "public"},
            {"id": 3, "number": "N 3", "title": SECRET_TITLE, "publicity": third},
            {"id": 4, "number": "Ö 4", "title": "Verschiedenes", "publicity": "public"}
        ]
    })
}

#[tokio::test]
async fn a_whole_meeting_with_a_non_public_part_and_a_crash_in_the_middle() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = room(dir.path(), broker.port);
    let mut daemon = Daemon::with_config(dir.path(), &config);
    let chair = Chair::login(&daemon).await;

    // An undecided item blocks the opening; decided, the draft opens the meeting.
    let (status, _) =
        chair.send(reqwest::Method::PUT, "/api/v1/agenda/draft", Some(agenda("undecided"))).await;
    assert_eq!(status, 200);
    let (status, body) = chair.post("/api/v1/meetings", json!({"use_draft": true})).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("agenda_undecided")), "{body}");
    let (status, _) =
        chair.send(reqwest::Method::PUT, "/api/v1/agenda/draft", Some(agenda("non_public"))).await;
    assert_eq!(status, 200);
    let (status, meeting) = chair.post("/api/v1/meetings", json!({"use_draft": true})).await;
    assert_eq!(status, 201, "{meeting}");
    assert_eq!(
        (meeting["title"].as_str(), meeting["body"].as_str()),
        (Some("Stadtrat, 12. Sitzung"), Some("Stadtrat"))
    );
    let id = meeting["id"].as_i64().expect("id");

    // Ö 1: two requests, one granted; a budget of 600 s for the SPD, cut off at the end.
    chair.command(json!({"command": "next_item"})).await;
    chair.command(json!({"command": "request", "station": {"seat": 2}})).await;
    chair.command(json!({"command": "request", "station": {"seat": 3}})).await;
    chair.command(json!({"command": "grant", "station": {"seat": 2}})).await;
    chair
        .command(json!({"command": "set_budget", "budget": {
            "scope": "meeting", "policy": "cut_off", "warning_s": 30,
            "shares": {"kind": "per_group", "seconds": {"SPD": 600, "CDU": 600}}}}))
        .await;
    // Ö 2 starts with its own, empty list; Caesar is excluded for conflict of interest.
    chair.command(json!({"command": "next_item"})).await;
    let state = chair.state().await;
    assert_eq!(state["floor"]["current_item"], 2);
    assert_eq!(state["floor"]["requests"], json!([]), "Ö 1's waiting request stays with Ö 1");
    assert_eq!(state["floor"]["parked"]["1"][0]["station"], json!({"seat": 3}));
    chair
        .command(json!({"command": "exclude", "item": 2, "participant": "idcaesar", "reason": "Eigentümer"}))
        .await;
    assert_eq!(
        chair.refused(json!({"command": "grant", "station": {"seat": 3}})).await,
        (409, "excluded_from_item".to_owned())
    );
    // A guest attends remotely (without the right to attend the non-public part).
    chair.command(json!({"command": "join_remote", "participant": "idgast"})).await;
    chair.command(json!({"command": "join_remote", "participant": "idremo"})).await;

    // Public outputs are watched from here on.
    let spy = mqtt_spy(broker.port);
    let mut public_stream = SseClient::connect(&daemon.url("/api/v1/events"), None).await;
    let first = public_stream.next().await;
    assert_eq!(first.event, "snapshot", "a public stream starts from the public view");
    assert!(leaks(&first.data["floor"]["agenda"].to_string()).is_empty(), "no non-public title, even now");

    // N 3: the non-public part. Speakers and requests happen; no name gets out.
    chair.command(json!({"command": "enter_item", "item": 3})).await;
    chair.command(json!({"command": "grant", "station": {"seat": 3}})).await;
    chair.command(json!({"command": "request", "station": {"seat": 4}})).await;
    chair.command(json!({"command": "request", "station": {"remote": "idremo"}})).await;
    let state = chair.state().await;
    assert_eq!(state["floor"]["public"], false);
    assert_eq!(state["floor"]["presence"]["idgast"], "absent", "the guest is moved out");
    assert_eq!(state["floor"]["presence"]["idremo"], "remote", "a member stays");
    assert_eq!(
        chair.refused(json!({"command": "join_remote", "participant": "idgast"})).await,
        (409, "not_admitted_non_public".to_owned())
    );
    let public = anonymous_state(&daemon).await;
    assert_eq!(
        (public["floor"]["public"].as_bool(), public["floor"]["current_item"].as_u64()),
        (Some(false), Some(3))
    );
    assert_eq!(leaks(&public.to_string()), Vec::<&str>::new(), "anonymous state: {public}");
    let mut frames = String::new();
    while let Some(frame) = public_stream.next_within(Duration::from_millis(800)).await {
        frames.push_str(&frame.data.to_string());
    }
    assert!(frames.contains("\"public\":false"), "the public stream learned of the non-public part");
    assert_eq!(leaks(&frames), Vec::<&str>::new(), "public event stream: {frames}");
    // A public client resuming from before the non-public part gets nothing of it either.
    let mut resumed = SseClient::connect(&daemon.url("/api/v1/events"), first.id).await;
    let mut frames = String::new();
    while let Some(frame) = resumed.next_within(Duration::from_millis(800)).await {
        frames.push_str(&frame.data.to_string());
    }
    assert!(frames.contains("\"public\":false"));
    assert_eq!(leaks(&frames), Vec::<&str>::new(), "resumed public event stream: {frames}");

    // kill -9 in the middle of the item, Caesar speaking.
    let before = chair.state().await;
    daemon.child.kill().expect("kill -9");
    let _ = daemon.child.wait();
    let mqtt = spy_output(spy);
    // The retained messages from the public part come first (names are public there); from
    // the first message of the non-public part on, nothing may name anyone.
    let from = mqtt.find("\"public\":false").expect("the public topics saw the non-public part");
    let from = mqtt[..from].rfind('\n').map_or(0, |n| n + 1);
    let non_public = &mqtt[from..];
    assert_eq!(leaks(non_public), Vec::<&str>::new(), "public MQTT topics: {non_public}");

    let daemon = Daemon::with_config(dir.path(), &config);
    let chair = Chair::login(&daemon).await;
    let after = chair.state().await;
    for field in
        ["current_item", "public", "phase", "requests", "speakers", "agenda", "budget", "parked", "presence"]
    {
        assert_eq!(after["floor"][field], before["floor"][field], "{field} is restored");
    }
    let public = anonymous_state(&daemon).await;
    assert_eq!(leaks(&public.to_string()), Vec::<&str>::new(), "after the restart the hall stays neutral");

    // Back to the public part: names are public again.
    chair.command(json!({"command": "enter_item", "item": 4})).await;
    let public = anonymous_state(&daemon).await;
    assert_eq!(public["floor"]["public"], true);
    assert!(public.to_string().contains("Bertamarker"), "the public part shows names again");
    assert!(!public.to_string().contains(SECRET_TITLE), "the non-public title stays hidden");
    let (status, closed) = chair.post(&format!("/api/v1/meetings/{id}/close"), json!({})).await;
    assert_eq!(status, 200, "{closed}");

    // The minutes: items with times, the exclusion and its reason, local times, 3 formats.
    let (status, text) =
        chair.send(reqwest::Method::GET, &format!("/api/v1/meetings/{id}/minutes"), None).await;
    assert_eq!(status, 200);
    let minutes: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(minutes["time_zone"], "Europe/Berlin");
    let items = minutes["items"].as_array().expect("items");
    assert_eq!(items.len(), 4);
    assert_eq!(items[1]["exclusions"][0]["reason"], "Eigentümer");
    assert_eq!(items[2]["non_public"], true);
    assert!(items[2]["periods"].as_array().expect("periods").len() == 1);
    let rows = minutes["speakers"].as_array().expect("rows");
    let caesar =
        rows.iter().find(|r| r["name"] == "Caesarmarker" && r["item"] == format!("N 3 {SECRET_TITLE}"));
    let caesar = caesar.expect("Caesar's turn in N 3");
    assert_eq!(caesar["non_public"], true);
    assert!(caesar["started_local"].as_str().expect("local").ends_with("CET"), "{caesar}");
    let log: Vec<&str> =
        minutes["log"].as_array().expect("log").iter().filter_map(|e| e["what"].as_str()).collect();
    for what in ["opened", "item", "excluded", "non_public", "public", "closed"] {
        assert!(log.contains(&what), "{what} in the session log: {log:?}");
    }
    let (status, csv) =
        chair.send(reqwest::Method::GET, &format!("/api/v1/meetings/{id}/minutes?format=csv"), None).await;
    assert_eq!(status, 200);
    assert!(csv.lines().next().expect("header").contains("item,non_public,requested_local"));
    let (status, html) =
        chair.send(reqwest::Method::GET, &format!("/api/v1/meetings/{id}/minutes?format=html"), None).await;
    assert_eq!(status, 200);
    assert!(html.contains("Niederschrift") && html.contains(SECRET_TITLE) && html.contains("Schriftführung"));
    let (status, publication) = chair
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/meetings/{id}/minutes?format=html&publication=true"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(publication.contains("Fassung zur Veröffentlichung"));
    assert!(!publication.contains(SECRET_TITLE), "the publication copy leaves the non-public part out");
    assert!(!publication.contains("Eigentümer") || publication.contains("Bebauungsplan"));

    // `podiumd export` gives the same page from the file.
    let export = Command::new(support::podiumd())
        .args(["export", "--format", "html", "--publication", "--journal"])
        .arg(dir.path().join("journal.sqlite3"))
        .arg("--config")
        .arg(dir.path().join("room.toml"))
        .output()
        .expect("export");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let exported = String::from_utf8_lossy(&export.stdout);
    assert!(exported.contains("Ratssaal") && !exported.contains(SECRET_TITLE));
}
