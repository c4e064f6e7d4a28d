//! Access to the web consoles and the API through the real daemon: every route × every
//! role, logins, personal links, cookies, cross-site requests, loopback trust, the CLI
//! that makes the secrets, and the demo's printed addresses.

mod support;

use std::process::{Command, Stdio};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use support::{Daemon, hash_password, podiumd, remote_link};

const ROOM: &str = r#"
[room]
id = "webroom"
name = "Web room"

# Each test's daemon keeps its journal in its own temporary directory.
[journal]
path = "journal.sqlite3"

[discussion]
mode = "request"

[[seat]]
number = 1
member = "chairperson"

[[seat]]
number = 12
member = "mueller"

[[member]]
id = "chairperson"
name = "Chair Person"
role = "chair"

[[member]]
id = "mueller"
name = "Anna Müller"
group = "SPD"
remote_allowed = true

[[member]]
id = "vogt"
name = "Matthias Vogt"
remote_allowed = true
"#;

/// A real room: nothing public, no loopback trust; one user per role and a link for vogt.
struct Room {
    _dir: tempfile::TempDir,
    daemon: Daemon,
    member_link: String,
}

fn real_room(web: &str) -> Room {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("room.toml");
    std::fs::write(&path, ROOM).expect("write base config");
    let (member_link, link_lines) = remote_link("vogt", &path);
    let users = [
        ("vorsitz", "chair", "vorsitz-passwort"),
        ("technik", "technician", "technik-passwort"),
        ("gast", "viewer", "gast-passwort"),
        ("konferenz", "bridge", "konferenz-passwort"),
    ]
    .iter()
    .map(|(name, role, password)| {
        format!(
            "[[user]]\nname = \"{name}\"\nrole = \"{role}\"\npassword_hash = \"{}\"\n",
            hash_password(password)
        )
    })
    .collect::<Vec<_>>()
    .join("\n");
    let toml = format!("{ROOM}\n{web}\n{users}\n{link_lines}\n");
    let check = Command::new(podiumd())
        .args(["check-config", path.to_str().expect("utf-8")])
        .output()
        .expect("check");
    assert!(check.status.success());
    let daemon = Daemon::with_config(dir.path(), &toml);
    Room { _dir: dir, daemon, member_link }
}

/// An HTTP client that does not follow redirects (a page's 303 is part of the answer).
fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// The session cookie from a response, as `podium_session=...`.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("podium_session=") && !v.starts_with("podium_session=;"))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

async fn login(base: &str, user: &str, password: &str) -> (u16, Option<String>, Value, HeaderMap) {
    let response = client()
        .post(format!("{base}/api/v1/login"))
        .header("content-type", "application/json")
        .header("x-podium-csrf", "1")
        .body(json!({"user": user, "password": password}).to_string())
        .send()
        .await
        .expect("login");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, session_cookie(&headers), body, headers)
}

/// One caller: a name for messages and the cookie it sends, if any.
#[derive(Clone)]
struct Caller {
    name: &'static str,
    cookie: Option<String>,
}

async fn call(base: &str, caller: &Caller, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = client().request(method.clone(), format!("{base}{path}"));
    if let Some(cookie) = &caller.cookie {
        request = request.header("cookie", cookie);
    }
    if method != Method::GET {
        // What the consoles send: JSON and the CSRF header.
        request = request.header("content-type", "application/json").header("x-podium-csrf", "1");
        request = request.body(body.unwrap_or_else(|| json!({})).to_string());
    }
    let response = tokio::time::timeout(std::time::Duration::from_secs(10), request.send())
        .await
        .expect("an answer within 10 s")
        .expect("request");
    let status = response.status().as_u16();
    let is_stream = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if is_stream {
        return (status, Value::Null); // do not wait for the end of an event stream
    }
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn callers(room: &Room) -> Vec<Caller> {
    let base = &room.daemon.base;
    let mut out = vec![Caller { name: "anonymous", cookie: None }];
    for (name, user, password) in [
        ("viewer", "gast", "gast-passwort"),
        ("chair", "vorsitz", "vorsitz-passwort"),
        ("technician", "technik", "technik-passwort"),
    ] {
        let (status, cookie, body, _) = login(base, user, password).await;
        assert_eq!(status, 200, "login of {user}: {body}");
        out.push(Caller { name, cookie: Some(cookie.expect("a session cookie")) });
    }
    let opened = client().get(format!("{base}{}", room.member_link)).send().await.expect("open the link");
    assert_eq!(opened.status().as_u16(), 200, "the personal link opens");
    let cookie = session_cookie(opened.headers()).expect("the link starts a session");
    out.push(Caller { name: "member", cookie: Some(cookie) });
    let (status, cookie, body, _) = login(base, "konferenz", "konferenz-passwort").await;
    assert_eq!(status, 200, "login of the bridge: {body}");
    out.push(Caller { name: "bridge", cookie: Some(cookie.expect("a session cookie")) });
    out
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_access_table_says() {
    let room = real_room("");
    let base = room.daemon.base.clone();
    let callers = callers(&room).await;
    let next = json!({"command": "next"});
    let own_join = json!({"command": "join_remote", "participant": "vogt"});
    let other_join = json!({"command": "join_remote", "participant": "mueller"});

    // (method, path, body, [anonymous, viewer, chair, technician, member, bridge])
    let table: Vec<(Method, &str, Option<Value>, [u16; 6])> = vec![
        (Method::GET, "/healthz", None, [200, 200, 200, 200, 200, 200]),
        (Method::GET, "/api/v1/openapi.json", None, [200, 200, 200, 200, 200, 200]),
        (Method::GET, "/api/v1/session", None, [200, 200, 200, 200, 200, 200]),
        (Method::GET, "/api/v1/clock", None, [200, 200, 200, 200, 200, 200]),
        (Method::POST, "/api/v1/login", Some(json!({})), [400, 400, 400, 400, 400, 400]),
        (Method::GET, "/api/v1/state", None, [401, 200, 200, 200, 200, 200]),
        (Method::GET, "/api/v1/precedence", None, [401, 200, 200, 200, 200, 200]),
        (Method::GET, "/api/v1/events", None, [401, 200, 200, 200, 200, 200]),
        (Method::POST, "/api/v1/commands", Some(next.clone()), [401, 403, 409, 409, 403, 403]),
        (Method::POST, "/api/v1/commands", Some(other_join), [401, 403, 200, 200, 403, 200]),
        (Method::POST, "/api/v1/commands", Some(own_join), [401, 403, 200, 200, 200, 200]),
        (Method::GET, "/api/v1/log", None, [401, 403, 403, 200, 403, 403]),
        (Method::GET, "/api/v1/monitor", None, [401, 403, 403, 200, 403, 403]),
        // The OParl import reaches out to the council information system: the technician
        // (this room has none configured: 409).
        (
            Method::POST,
            "/api/v1/agenda/import",
            Some(json!({"meeting": "1"})),
            [401, 403, 403, 409, 403, 403],
        ),
        // A method a route does not answer is 405 for everyone: it does nothing.
        (Method::TRACE, "/api/v1/log", None, [405, 405, 405, 405, 405, 405]),
        (Method::DELETE, "/api/v1/commands", None, [405, 405, 405, 405, 405, 405]),
        (Method::GET, "/metrics", None, [401, 403, 200, 200, 403, 403]),
        (Method::GET, "/", None, [303, 303, 303, 303, 303, 303]),
        (Method::GET, "/login", None, [200, 200, 200, 200, 200, 200]),
        (Method::GET, "/assets/common.js", None, [200, 200, 200, 200, 200, 200]),
        (Method::GET, "/assets/nothing.js", None, [404, 404, 404, 404, 404, 404]),
        (Method::GET, "/chair", None, [303, 403, 200, 200, 403, 403]),
        (Method::GET, "/tech", None, [303, 403, 403, 200, 403, 403]),
        (Method::GET, "/display", None, [303, 200, 200, 200, 200, 200]),
        (Method::GET, "/overlay", None, [303, 200, 200, 200, 200, 200]),
        (Method::GET, "/remote/not-a-valid-token", None, [401, 401, 401, 401, 401, 401]),
        // The video-conference bridge: its setup and report; the staff read its state.
        (Method::GET, "/api/v1/bridge/setup", None, [401, 403, 403, 200, 403, 200]),
        (Method::PUT, "/api/v1/bridge/report", Some(json!({})), [401, 403, 403, 400, 403, 400]),
        (Method::GET, "/api/v1/bridges", None, [401, 403, 200, 200, 403, 403]),
        (Method::GET, "/bridge/jitsi", None, [303, 403, 403, 200, 403, 200]),
    ];
    let mut failures = Vec::new();
    for (method, path, body, expected) in &table {
        for (caller, want) in callers.iter().zip(expected) {
            let (got, answer) = call(&base, caller, method.clone(), path, body.clone()).await;
            if got != *want {
                failures.push(format!(
                    "{method} {path} {body:?} as {}: {got} (want {want}) {answer}",
                    caller.name
                ));
            }
            if got == 401 || got == 403 {
                // No detail for refused callers (pages answer with HTML).
                if path.starts_with("/api/") || *path == "/metrics" {
                    let code = if got == 401 { "unauthorized" } else { "forbidden" };
                    if answer["error"] != code {
                        failures.push(format!("{method} {path} as {}: body {answer}", caller.name));
                    }
                }
            }
        }
    }

    // Every route in the API description that the table does not name (devices, meetings,
    // diagnostics, MQTT, ... added by other parts): staff only, by default.
    let (_, spec) = call(&base, &callers[0], Method::GET, "/api/v1/openapi.json", None).await;
    let named: Vec<&str> = table.iter().map(|(_, p, _, _)| *p).collect();
    let paths = spec["paths"].as_object().expect("paths");
    let mut others = 0;
    for (path, operations) in paths {
        if named.contains(&path.as_str()) || path == "/api/v1/logout" {
            continue;
        }
        for method in operations.as_object().expect("operations").keys() {
            let method: Method = method.to_uppercase().parse().expect("method");
            others += 1;
            for caller in &callers {
                let (got, answer) = call(&base, caller, method.clone(), path, None).await;
                let ok = match caller.name {
                    "anonymous" => got == 401,
                    "viewer" | "member" | "bridge" => got == 403,
                    _ => got != 401 && got != 403,
                };
                if !ok {
                    failures.push(format!("{method} {path} as {}: {got} {answer}", caller.name));
                }
            }
        }
    }
    assert!(others > 0 || paths.len() == named.len() + 1, "routes beyond the table were checked");
    assert!(failures.is_empty(), "{} unexpected answers:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn logins_cookies_and_logout() {
    let room = real_room("");
    let base = room.daemon.base.clone();

    // Wrong password and unknown user get the same answer.
    let (status, cookie, wrong_password, _) = login(&base, "vorsitz", "falsch").await;
    assert_eq!((status, cookie), (401, None));
    let (status, _, unknown_user, _) = login(&base, "niemand", "vorsitz-passwort").await;
    assert_eq!(status, 401);
    assert_eq!(wrong_password, unknown_user);
    assert_eq!(wrong_password["error"], "invalid_credentials");

    let (status, cookie, who, headers) = login(&base, "vorsitz", "vorsitz-passwort").await;
    assert_eq!(status, 200);
    assert_eq!(who["role"], "chair");
    let set_cookie = headers.get("set-cookie").and_then(|v| v.to_str().ok()).expect("set-cookie").to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attribute), "{attribute} in {set_cookie}");
    }
    let chair = Caller { name: "chair", cookie: cookie.clone() };
    assert_eq!(call(&base, &chair, Method::GET, "/api/v1/session", None).await.1["user"], "vorsitz");

    // Logout ends the session on the server: the same cookie is refused afterwards.
    let (status, _) = call(&base, &chair, Method::POST, "/api/v1/logout", None).await;
    assert_eq!(status, 204);
    assert_eq!(call(&base, &chair, Method::GET, "/api/v1/state", None).await.0, 401);
    assert_eq!(call(&base, &chair, Method::GET, "/api/v1/session", None).await.1["role"], Value::Null);
    let (status, _) = call(&base, &chair, Method::GET, "/chair", None).await;
    assert_eq!(status, 303, "a page sends an expired session to the login");

    // A made-up cookie is no session.
    let forged = Caller {
        name: "forged",
        cookie: Some("podium_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
    };
    assert_eq!(call(&base, &forged, Method::GET, "/api/v1/state", None).await.0, 401);
}

#[tokio::test]
async fn cross_site_requests_are_refused() {
    let room = real_room("");
    let base = room.daemon.base.clone();
    let (_, cookie, _, _) = login(&base, "vorsitz", "vorsitz-passwort").await;
    let cookie = cookie.expect("cookie");
    let host = base.trim_start_matches("http://").to_owned();
    let send = |extra: Vec<(&'static str, String)>| {
        let mut request = client()
            .post(format!("{base}/api/v1/commands"))
            .header("cookie", cookie.clone())
            .header("content-type", "application/json")
            .body(json!({"command": "set_list_open", "open": false}).to_string());
        for (name, value) in extra {
            request = request.header(name, value);
        }
        async move { request.send().await.expect("send").status().as_u16() }
    };
    let csrf = ("x-podium-csrf", "1".to_owned());
    assert_eq!(
        send(vec![csrf.clone(), ("origin", "http://evil.example".into())]).await,
        403,
        "foreign Origin"
    );
    assert_eq!(
        send(vec![csrf.clone(), ("sec-fetch-site", "cross-site".into())]).await,
        403,
        "cross-site fetch"
    );
    assert_eq!(send(vec![("origin", format!("http://{host}"))]).await, 403, "cookie without the CSRF header");
    assert_eq!(
        send(vec![
            csrf.clone(),
            ("origin", format!("http://{host}")),
            ("sec-fetch-site", "same-origin".into())
        ])
        .await,
        200
    );
    let (_, state) = call(
        &base,
        &Caller { name: "chair", cookie: Some(cookie.clone()) },
        Method::GET,
        "/api/v1/state",
        None,
    )
    .await;
    assert_eq!(state["floor"]["list_open"], false, "only the same-origin request took effect");
}

#[tokio::test]
async fn personal_link_token_works_as_bearer_for_its_member_only() {
    let room = real_room("");
    let base = room.daemon.base.clone();
    let token = room.member_link.trim_start_matches("/remote/").to_owned();
    let bearer = |value: String, body: Value| {
        let request = client()
            .post(format!("{base}/api/v1/commands"))
            .header("authorization", value)
            .header("content-type", "application/json")
            .body(body.to_string());
        async move {
            let response = request.send().await.expect("send");
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let join = json!({"command": "join_remote", "participant": "vogt"});
    assert_eq!(bearer(format!("Bearer {token}"), join).await.0, 200);
    let request = json!({"command": "request", "station": {"remote": "vogt"}, "kind": "point_of_order"});
    let (status, accepted) = bearer(format!("Bearer {token}"), request).await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["events"][0]["change"]["type"], "request_added");
    let (status, refused) = bearer(format!("Bearer {token}"), json!({"command": "next"})).await;
    assert_eq!((status, refused), (403, json!({"error": "forbidden", "message": "not allowed"})));
    let (status, refused) = bearer("Bearer wrong-token-123".into(), json!({"command": "next"})).await;
    assert_eq!((status, refused["error"].as_str()), (401, Some("unauthorized")));
    assert_eq!(bearer(format!("Basic {token}"), json!({"command": "next"})).await.0, 401);
}

#[tokio::test]
async fn public_display_metrics_and_loopback_trust_when_configured() {
    let web = "[web]\ndisplay_public = true\noverlay_public = false\nmetrics_public = true\ntrust_loopback_as = \"chair\"\n";
    let room = real_room(web);
    let base = room.daemon.base.clone();
    let anonymous = Caller { name: "anonymous", cookie: None };
    for (path, want) in
        [("/display", 200), ("/overlay", 303), ("/api/v1/state", 200), ("/metrics", 200), ("/chair", 303)]
    {
        assert_eq!(call(&base, &anonymous, Method::GET, path, None).await.0, want, "GET {path}");
    }
    // Loopback API clients act as the chair; pages still need a login.
    let (status, body) =
        call(&base, &anonymous, Method::POST, "/api/v1/commands", Some(json!({"command": "stop_all"}))).await;
    assert_eq!(status, 200, "{body}");
    // ...but not when the request names another host (DNS rebinding).
    let response = client()
        .post(format!("{base}/api/v1/commands"))
        .header("host", "podium.evil.example")
        .header("content-type", "application/json")
        .body(json!({"command": "stop_all"}).to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 401);

    // The metrics count what happened: one accepted command; three callers without
    // credentials refused (the overlay and the chair console redirected to the login, the
    // rebinding request).
    let metrics =
        client().get(format!("{base}/metrics")).send().await.expect("metrics").text().await.expect("text");
    for line in
        ["podium_api_commands_total{result=\"accepted\"} 1", "podium_http_denied_total{status=\"401\"} 3"]
    {
        assert!(metrics.lines().any(|l| l == line), "`{line}` in\n{metrics}");
    }
    assert!(metrics.contains("# TYPE podium_event_stream_clients gauge"));
    assert!(metrics.contains("podium_uptime_seconds "));
}

#[tokio::test]
async fn event_stream_clients_are_counted_while_connected() {
    let web = "[web]\ndisplay_public = true\nmetrics_public = true\n";
    let room = real_room(web);
    let base = room.daemon.base.clone();
    let gauge = || async {
        let text = client()
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|l| l.strip_prefix("podium_event_stream_clients "))
            .and_then(|v| v.parse::<i64>().ok())
            .expect("gauge")
    };
    assert_eq!(gauge().await, 0);
    let mut first = support::SseClient::connect(&format!("{base}/api/v1/events"), None).await;
    let mut second = support::SseClient::connect(&format!("{base}/api/v1/events"), None).await;
    assert_eq!(first.next().await.event, "snapshot");
    assert_eq!(second.next().await.event, "snapshot");
    assert_eq!(gauge().await, 2);
    drop(first);
    drop(second);
    // The server notices a closed connection at its next write; wait for that condition.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if gauge().await == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "streams still counted 30 s after closing");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[test]
fn demo_prints_its_consoles_and_a_remote_link_that_works() {
    let mut child = Command::new(podiumd())
        .args(["demo", "--listen", "127.0.0.1:0", "--no-mqtt"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let mut seen = Vec::new();
    while seen.len() < 20 {
        let Some(Ok(line)) = lines.next() else { break };
        let done = line.starts_with("remote page of");
        seen.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = seen.join("\n");
    assert!(text.contains("chair / chair"), "{text}");
    let base =
        seen.iter().find_map(|l| l.strip_prefix("podiumd listening on ")).expect("listening line").to_owned();
    for console in ["/chair", "/display", "/overlay", "/tech"] {
        assert!(text.contains(&format!("{base}{console}")), "{console} in\n{text}");
    }
    let link = format!("{base}/remote/demo-remote-link-vogt");
    assert!(text.contains(&link), "{link} in\n{text}");
}

#[test]
fn check_config_reports_bad_secrets_with_line_and_help() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("room.toml");
    let bad = format!(
        "{ROOM}\n[web]\ntrust_loopback_as = \"chiar\"\n\n[[user]]\nname = \"vorsitz\"\nrole = \"chair\"\npassword_hash = \"geheim\"\n\n\
         [[remote_link]]\nmember = \"mueler\"\ntoken_hash = \"sha256:1234\"\n\n[[remote_link]]\nmember = \"chairperson\"\n\
         token_hash = \"sha256:{}\"\n",
        "a".repeat(64)
    );
    std::fs::write(&path, bad).expect("write");
    let out = Command::new(podiumd())
        .args(["check-config", path.to_str().expect("utf-8")])
        .output()
        .expect("check");
    assert!(!out.status.success());
    let errors = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "web.trust_loopback_as: unknown role `chiar`",
        "did you mean `chair`?",
        "user[1].password_hash: password_hash is not an argon2 hash",
        "podiumd hash-password",
        "remote_link[1].token_hash: token_hash must be `sha256:` followed by 64 hex digits",
        "remote_link[1].member: `mueler` is not the id of any [[member]]",
        "did you mean `mueller`?",
        "remote_link[2].member: member `chairperson` may not attend remotely",
    ] {
        assert!(errors.contains(expected), "`{expected}` in\n{errors}");
    }
}
