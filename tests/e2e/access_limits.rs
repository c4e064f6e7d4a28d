//! Login throttling, rate limits per principal, session bounds and persistence, and the
//! web layer's safe defaults, through the real daemon. Several loopback addresses
//! (127.0.0.1, .2, .3, ...) stand for several hosts: the daemon sees each as its own peer.

mod support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{Daemon, hash_password, remote_link, set_cookie};

const ROOM: &str = r#"
[room]
id = "limits"
name = "Limits room"

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
remote_allowed = true

[[member]]
id = "vogt"
name = "Matthias Vogt"
remote_allowed = true
"#;

const CHAIR: (&str, &str) = ("vorsitz", "vorsitz-passwort");

/// A room with a chair login and vogt's personal link; `web` is extra `[web]` text.
struct Room {
    dir: tempfile::TempDir,
    toml: String,
    daemon: Daemon,
    link: String,
}

impl Room {
    fn new(web: &str) -> Room {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("room.toml");
        std::fs::write(&path, ROOM).expect("write");
        let (link, link_lines) = remote_link("vogt", &path);
        let user = format!(
            "[[user]]\nname = \"{}\"\nrole = \"chair\"\npassword_hash = \"{}\"\n",
            CHAIR.0,
            hash_password(CHAIR.1)
        );
        let toml = format!("{ROOM}\n{web}\n{user}\n{link_lines}\n");
        let daemon = Daemon::with_config(dir.path(), &toml);
        Room { dir, toml, daemon, link }
    }

    fn token(&self) -> &str {
        self.link.trim_start_matches("/remote/")
    }

    /// Stops the daemon and starts it again on the same room file and journal.
    fn restart(&mut self) {
        self.daemon.terminate();
        self.daemon = Daemon::with_config(self.dir.path(), &self.toml);
    }
}

/// A client that does not follow redirects, sending from `from`.
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(Some(from.parse::<IpAddr>().expect("ip")))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn client() -> reqwest::Client {
    client_from("127.0.0.1")
}

async fn login_from(client: &reqwest::Client, base: &str, user: &str, password: &str) -> reqwest::Response {
    client
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"user": user, "password": password}))
        .send()
        .await
        .expect("login")
}

async fn login_chair(base: &str) -> String {
    let response = login_from(&client(), base, CHAIR.0, CHAIR.1).await;
    assert_eq!(response.status().as_u16(), 200);
    set_cookie(response.headers()).expect("a session cookie")
}

async fn whoami(base: &str, cookie: &str) -> Value {
    let response = client()
        .get(format!("{base}/api/v1/session"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("session");
    response.json().await.expect("json")
}

#[tokio::test]
async fn ten_failures_then_429_while_another_address_logs_in_during_a_flood() {
    let room = Room::new("");
    let base = room.daemon.base.clone();
    // Ten wrong passwords from one address are answered normally, the eleventh is refused.
    // (A name that is no user: these failures count for the address only, so the flood
    // below stays under the per-user limit, which is tested in the throttle's unit tests.)
    let guesser = client_from("127.0.0.2");
    for attempt in 1..=10 {
        let response = login_from(&guesser, &base, "admin", "falsch").await;
        assert_eq!(response.status().as_u16(), 401, "failure {attempt} is answered normally");
    }
    let refused = login_from(&guesser, &base, CHAIR.0, CHAIR.1).await;
    assert_eq!(refused.status().as_u16(), 429, "even the right password, after ten failures");
    let retry_after: u64 =
        refused.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!(retry_after >= 1, "Retry-After {retry_after}");
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"], "too_many_attempts");

    // 500 concurrent wrong logins from a third address; meanwhile 127.0.0.1 logs in.
    let flooder = client_from("127.0.0.3");
    let flood: Vec<_> = (0..500)
        .map(|_| {
            let flooder = flooder.clone();
            let url = format!("{base}/api/v1/login");
            tokio::spawn(async move {
                // Beyond the per-address connection cap ([http]) the server closes the
                // connection unread: that is an answer too (0 here).
                let response =
                    flooder.post(url).json(&json!({"user": "vorsitz", "password": "falsch"})).send().await;
                response.map_or(0, |r| r.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let response = login_from(&client(), &base, CHAIR.0, CHAIR.1).await;
    let took = started.elapsed();
    assert_eq!(response.status().as_u16(), 200);
    assert!(took < Duration::from_secs(2), "the chair's login took {took:?} during the flood");
    let mut statuses = Vec::new();
    for request in flood {
        statuses.push(request.await.expect("flood task"));
    }
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let closed = statuses.iter().filter(|s| **s == 0).count();
    assert_eq!(wrong + refused + closed, 500, "only 401, 429 or closed at the cap: {statuses:?}");
    assert!(refused > 0, "the throttle answered some of the flood: {statuses:?}");
    assert!(wrong <= 10, "at most ten password checks for the flooding address, got {wrong}");
}

#[tokio::test]
async fn a_members_flood_never_rate_limits_the_chair_from_the_same_address() {
    let room = Room::new("");
    let base = room.daemon.base.clone();
    let chair = login_chair(&base).await;
    let bearer = format!("Bearer {}", room.token());
    let join = client()
        .post(format!("{base}/api/v1/commands"))
        .header("authorization", &bearer)
        .json(&json!({"command": "join_remote", "participant": "vogt"}))
        .send()
        .await
        .expect("join");
    assert_eq!(join.status().as_u16(), 200);
    let flood = {
        let url = format!("{base}/api/v1/commands");
        let bearer = bearer.clone();
        tokio::spawn(async move {
            let member = client();
            let mut limited = 0;
            for i in 0..400 {
                let command = if i % 2 == 0 {
                    json!({"command": "request", "station": {"remote": "vogt"}})
                } else {
                    json!({"command": "withdraw", "station": {"remote": "vogt"}})
                };
                let response = member
                    .post(&url)
                    .header("authorization", &bearer)
                    .json(&command)
                    .send()
                    .await
                    .expect("flood");
                if response.status().as_u16() == 429 {
                    limited += 1;
                }
            }
            limited
        })
    };
    for i in 0..30 {
        let response = client()
            .post(format!("{base}/api/v1/commands"))
            .header("cookie", &chair)
            .header("x-podium-csrf", "1")
            .json(&json!({"command": "set_list_open", "open": i % 2 == 0}))
            .send()
            .await
            .expect("chair command");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(status, 429, "the chair is never limited by the member's flood: {body}");
    }
    let limited = flood.await.expect("flood");
    assert!(limited > 0, "the member's flood itself was limited");
    // The technician's diagnostics name the buckets: by principal, not by address.
    let response = client()
        .get(format!("{base}/api/v1/diagnostics"))
        .header("cookie", &chair)
        .send()
        .await
        .expect("diagnostics");
    let diagnostics: Value = response.json().await.expect("json");
    let sources = diagnostics["sources"].as_array().expect("sources");
    let find = |name: &str| sources.iter().find(|s| s["source"] == name).cloned();
    assert_eq!(find("api:member:vogt").expect("the member's bucket")["limited"], limited);
    assert_eq!(find("api:user:vorsitz").expect("the chair's bucket")["limited"], 0);
}

#[tokio::test]
async fn a_login_survives_a_restart_on_the_same_journal() {
    let mut room = Room::new("");
    let cookie = login_chair(&room.daemon.base).await;
    assert_eq!(whoami(&room.daemon.base, &cookie).await["role"], "chair");
    room.restart();
    assert_eq!(whoami(&room.daemon.base, &cookie).await["role"], "chair", "the session was taken back");
    // A logout after the restart ends it for good (also across the next restart).
    let response = client()
        .post(format!("{}/api/v1/logout", room.daemon.base))
        .header("cookie", &cookie)
        .header("x-podium-csrf", "1")
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status().as_u16(), 204);
    room.restart();
    assert_eq!(whoami(&room.daemon.base, &cookie).await["role"], Value::Null);
}

#[tokio::test]
async fn a_stale_cookie_is_ignored_on_public_routes() {
    let room = Room::new("[web]\ndisplay_public = true\n");
    let base = room.daemon.base.clone();
    let stale = "podium_session=c3RhbGUtc2Vzc2lvbi1pZC1mcm9tLWJlZm9yZS10aGUtcmVzdGFydA";
    let display =
        client().get(format!("{base}/display")).header("cookie", stale).send().await.expect("display");
    assert_eq!(display.status().as_u16(), 200, "the public display opens, no redirect to the login");
    let cleared = display.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(cleared.contains("Max-Age=0"), "the stale cookie is dropped: {cleared}");
    // The event stream the display (and the remote page) reconnect to works too.
    let events =
        client().get(format!("{base}/api/v1/events")).header("cookie", stale).send().await.expect("events");
    assert_eq!(events.status().as_u16(), 200);
    drop(events);
    // The personal link with a stale cookie starts a fresh session and the page's stream works.
    let opened =
        client().get(format!("{base}{}", room.link)).header("cookie", stale).send().await.expect("link");
    assert_eq!(opened.status().as_u16(), 200);
    let fresh = set_cookie(opened.headers()).expect("a fresh session");
    assert_eq!(whoami(&base, &fresh).await["participant"], "vogt");

    // Where anonymous callers may not go, a stale cookie still gets 401 (and the page redirect).
    let private = Room::new("");
    let base = private.daemon.base.clone();
    let state =
        client().get(format!("{base}/api/v1/state")).header("cookie", stale).send().await.expect("state");
    assert_eq!(state.status().as_u16(), 401);
    let page = client().get(format!("{base}/display")).header("cookie", stale).send().await.expect("display");
    assert_eq!(page.status().as_u16(), 303);
}

#[tokio::test]
async fn logout_ends_the_sessions_open_event_stream() {
    let room = Room::new("");
    let base = room.daemon.base.clone();
    let cookie = login_chair(&base).await;
    let other = login_chair(&base).await;
    let open = |cookie: String| {
        let url = format!("{base}/api/v1/events");
        async move {
            let response = client().get(url).header("cookie", cookie).send().await.expect("events");
            assert_eq!(response.status().as_u16(), 200);
            response.bytes_stream()
        }
    };
    let mut stream = open(cookie.clone()).await;
    let mut untouched = open(other.clone()).await;
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("the snapshot");
    assert!(first.is_some_and(|chunk| chunk.is_ok()));
    let response = client()
        .post(format!("{base}/api/v1/logout"))
        .header("cookie", &cookie)
        .header("x-podium-csrf", "1")
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status().as_u16(), 204);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the logged-out session's stream ended");
    // The same user's other session keeps its stream: a change still arrives.
    let _ = tokio::time::timeout(Duration::from_secs(10), untouched.next()).await.expect("snapshot");
    let changed = client()
        .post(format!("{base}/api/v1/commands"))
        .header("cookie", &other)
        .header("x-podium-csrf", "1")
        .json(&json!({"command": "set_list_open", "open": false}))
        .send()
        .await
        .expect("command");
    assert_eq!(changed.status().as_u16(), 200);
    let next = tokio::time::timeout(Duration::from_secs(10), untouched.next()).await.expect("an event");
    assert!(next.is_some_and(|chunk| chunk.is_ok()), "the other session still streams");
}

#[tokio::test]
async fn loopback_trust_is_refused_for_forwarded_requests() {
    let room = Room::new("[web]\ntrust_loopback_as = \"chair\"\n");
    let url = format!("{}/api/v1/commands", room.daemon.base);
    let command = json!({"command": "set_list_open", "open": false});
    let direct = client().post(&url).json(&command).send().await.expect("direct");
    assert_eq!(direct.status().as_u16(), 200, "a local script is trusted");
    for (header, value) in [("x-forwarded-for", "203.0.113.5"), ("forwarded", "for=203.0.113.5")] {
        let proxied = client().post(&url).header(header, value).json(&command).send().await.expect("proxied");
        assert_eq!(proxied.status().as_u16(), 401, "a request through a proxy ({header}) is not the chair");
    }
    // Loopback trust is no browser session: a member's link opens without asking.
    let opened = client().get(format!("{}{}", room.daemon.base, room.link)).send().await.expect("link");
    assert_eq!(opened.status().as_u16(), 200);
    assert!(set_cookie(opened.headers()).is_some(), "the member's session starts");
    assert!(!opened.text().await.expect("page").contains("confirm-replace"));
}

#[tokio::test]
async fn the_session_cookie_is_host_prefixed_with_cookie_secure() {
    let room = Room::new("[web]\ncookie_secure = true\n");
    let base = room.daemon.base.clone();
    let response = login_from(&client(), &base, CHAIR.0, CHAIR.1).await;
    let header = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    assert!(header.starts_with("__Host-podium_session="), "{header}");
    for attribute in ["; Secure", "; Path=/", "; HttpOnly", "; SameSite=Strict"] {
        assert!(header.contains(attribute), "{attribute} in {header}");
    }
    assert!(!header.contains("Domain"), "{header}");
    let cookie = set_cookie(response.headers()).expect("cookie");
    assert_eq!(whoami(&base, &cookie).await["role"], "chair");
    // The plain name is not read when the secure one is configured.
    let value = cookie.split_once('=').expect("pair").1;
    assert_eq!(whoami(&base, &format!("podium_session={value}")).await["role"], Value::Null);
}

#[tokio::test]
async fn after_login_only_same_origin_paths_are_followed() {
    let room = Room::new("");
    let url = format!("{}/api/v1/login", room.daemon.base);
    for (next, want) in [
        ("/\t/x", "/chair"),
        ("/\n/x", "/chair"),
        ("//x", "/chair"),
        ("/\\x", "/chair"),
        ("https://x", "/chair"),
        ("/display?lang=en", "/display?lang=en"),
    ] {
        let response = client()
            .post(&url)
            .json(&json!({"user": CHAIR.0, "password": CHAIR.1, "next": next}))
            .send()
            .await
            .expect("login");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["next"], want, "next = {next:?}");
    }
}

#[tokio::test]
async fn a_member_link_asks_before_replacing_a_chair_session() {
    let room = Room::new("");
    let base = room.daemon.base.clone();
    let chair = login_chair(&base).await;
    let link = format!("{base}{}", room.link);
    let asked = client().get(&link).header("cookie", &chair).send().await.expect("open");
    assert_eq!(asked.status().as_u16(), 200);
    assert!(asked.headers().get("set-cookie").is_none(), "nothing replaced yet");
    let page = asked.text().await.expect("page");
    assert!(page.contains("Anmeldung ersetzen?") && page.contains("Replace login?"), "{page}");
    assert_eq!(whoami(&base, &chair).await["role"], "chair", "the chair is still logged in");
    // Confirming needs our CSRF header (a cross-site form cannot send it) ...
    let forged = client().post(&link).header("cookie", &chair).send().await.expect("forged");
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(whoami(&base, &chair).await["role"], "chair");
    // ... and then replaces the session.
    let confirmed = client()
        .post(&link)
        .header("cookie", &chair)
        .header("x-podium-csrf", "1")
        .send()
        .await
        .expect("confirm");
    assert_eq!(confirmed.status().as_u16(), 204);
    let member = set_cookie(confirmed.headers()).expect("the member's session");
    assert_eq!(whoami(&base, &member).await["participant"], "vogt");
    assert_eq!(whoami(&base, &chair).await["role"], Value::Null, "the chair's session ended");
}

#[tokio::test]
async fn a_member_link_from_another_site_is_reloaded_before_it_can_replace_a_session() {
    let room = Room::new("");
    let base = room.daemon.base.clone();
    let chair = login_chair(&base).await;
    let link = format!("{base}{}", room.link);
    // Opened from a web mail or chat page: the browser withholds the Strict cookie, so the
    // daemon cannot see the chair's login. It must not set a member cookie now.
    for site in ["cross-site", "same-site"] {
        let bounced = client().get(&link).header("sec-fetch-site", site).send().await.expect("open");
        assert_eq!(bounced.status().as_u16(), 200);
        assert!(bounced.headers().get("set-cookie").is_none(), "{site}: no session from another site");
        let page = bounced.text().await.expect("page");
        assert!(page.contains("http-equiv=\"refresh\""), "{site}: reloads itself: {page}");
    }
    assert_eq!(whoami(&base, &chair).await["role"], "chair", "the chair is still logged in");
    // The reload comes from our own origin, with the cookie: the question is asked.
    let asked = client()
        .get(&link)
        .header("sec-fetch-site", "same-origin")
        .header("cookie", &chair)
        .send()
        .await
        .expect("reload");
    assert!(asked.headers().get("set-cookie").is_none());
    assert!(asked.text().await.expect("page").contains("Replace login?"));
    // Without a session the reload opens the member's page as before.
    let opened = client().get(&link).header("sec-fetch-site", "same-origin").send().await.expect("open");
    assert!(set_cookie(opened.headers()).is_some(), "the member's session starts");
}

#[tokio::test]
async fn link_opens_reuse_the_session_are_capped_per_member_and_throttled() {
    let room = Room::new("");
    let base = room.daemon.base.clone();
    let link = format!("{base}{}", room.link);
    let chair = login_chair(&base).await;
    // Opening the link again from a browser with the member's session keeps that session.
    let first = client().get(&link).send().await.expect("open");
    let cookie = set_cookie(first.headers()).expect("session");
    let again = client().get(&link).header("cookie", &cookie).send().await.expect("open again");
    assert_eq!(again.status().as_u16(), 200);
    assert!(again.headers().get("set-cookie").is_none(), "the member's session is reused");
    // Twenty fresh browsers (one address each): the member keeps sixteen sessions, the
    // oldest ends; the chair's session is never touched.
    for i in 0..20 {
        let opened = client_from(&format!("127.0.1.{}", i + 1)).get(&link).send().await.expect("open");
        assert_eq!(opened.status().as_u16(), 200);
    }
    assert_eq!(whoami(&base, &cookie).await["participant"], Value::Null, "vogt's oldest session ended");
    assert_eq!(whoami(&base, &chair).await["role"], "chair");
    // One address opening links without end is throttled.
    let spammer = client_from("127.0.0.9");
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let response = spammer.get(&link).send().await.expect("open");
        if response.status().as_u16() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
        statuses.push(response.status().as_u16());
    }
    // The burst of thirty is served; the bucket refills at one open per two seconds, so
    // most of the ten after it are refused.
    assert!(statuses[..30].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses[30..].iter().filter(|s| **s == 429).count() >= 5, "{statuses:?}");
    assert_eq!(whoami(&base, &chair).await["role"], "chair");
}
