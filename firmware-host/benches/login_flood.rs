//! Login under a flood benchmark (not a test): the time a correct login from one address
//! takes, unloaded and while another address floods `POST /api/v1/login` with wrong
//! passwords (rounds of 500 concurrent requests), against a real `podiumd`. Beside it, the
//! floor no login can go below: one argon2 password check in this process.
//!
//! Run: `cargo bench -p podium-host --bench login_flood` (release build; about 30 s).
//! `PODIUM_BENCH_LOGINS` changes the number of measured logins per phase.

#[path = "../../tests/bench/report.rs"]
mod report;

use std::net::IpAddr;
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use report::{Kind, Podiumd, Report};
use serde_json::json;

const PASSWORD: &str = "vorsitz-passwort";
const FLOOD: usize = 500;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn podiumd() -> &'static str {
    env!("CARGO_BIN_EXE_podiumd")
}

fn start(dir: &std::path::Path, hash: &str) -> Podiumd {
    let config = dir.join("room.toml");
    let toml = format!(
        "[room]\nid = \"login\"\nname = \"Login\"\n\n[journal]\npath = {:?}\n\n[[seat]]\nnumber = 1\nmember = \"c\"\n\n\
         [[member]]\nid = \"c\"\nname = \"C\"\nrole = \"chair\"\n\n[[user]]\nname = \"vorsitz\"\nrole = \"chair\"\n\
         password_hash = \"{hash}\"\n",
        dir.join("journal.sqlite3").display().to_string()
    );
    std::fs::write(&config, toml).expect("write config");
    Podiumd::start(
        Process::new(podiumd())
            .args(["run", "--config", config.to_str().expect("utf-8"), "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "error")
            .stderr(Stdio::inherit()),
    )
}

fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(address.parse::<IpAddr>().expect("ip")))
        .build()
        .expect("client")
}

async fn timed_login(client: &reqwest::Client, url: &str) -> Duration {
    let started = Instant::now();
    let response =
        client.post(url).json(&json!({"user": "vorsitz", "password": PASSWORD})).send().await.expect("login");
    assert_eq!(response.status().as_u16(), 200, "the correct login succeeds");
    let _ = response.bytes().await;
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let logins = env_or("PODIUM_BENCH_LOGINS", 20) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    let hash = podium_host::api::access::secret::hash_password(PASSWORD).expect("hash");
    // The floor: one argon2 check, in this process.
    let mut argon2 = Vec::new();
    for _ in 0..5 {
        let hash = hash.clone();
        let started = Instant::now();
        let ok = tokio::task::spawn_blocking(move || {
            podium_host::api::access::secret::verify_password(&hash, PASSWORD)
        })
        .await
        .expect("verify");
        assert!(ok);
        argon2.push(started.elapsed());
    }
    let daemon = start(dir.path(), &hash);
    let url = format!("{}/api/v1/login", daemon.base);
    let calm = client_from("127.0.0.1");

    let mut unloaded = Vec::new();
    for _ in 0..logins {
        unloaded.push(timed_login(&calm, &url).await);
    }

    // The flood: rounds of 500 concurrent wrong logins from 127.0.0.2 until the measurement ends.
    let flooding = Arc::new(AtomicBool::new(true));
    let sent = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let flood = {
        let (flooding, sent, refused, url) = (flooding.clone(), sent.clone(), refused.clone(), url.clone());
        tokio::spawn(async move {
            let flooder = client_from("127.0.0.2");
            while flooding.load(Ordering::Relaxed) {
                let round: Vec<_> = (0..FLOOD)
                    .map(|_| {
                        let request =
                            flooder.post(&url).json(&json!({"user": "vorsitz", "password": "falsch"})).send();
                        tokio::spawn(request)
                    })
                    .collect();
                for request in round {
                    if let Ok(Ok(response)) = request.await {
                        sent.fetch_add(1, Ordering::Relaxed);
                        if response.status().as_u16() == 429 {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut loaded = Vec::new();
    for _ in 0..logins {
        loaded.push(timed_login(&calm, &url).await);
    }
    flooding.store(false, Ordering::Relaxed);
    flood.await.expect("flood");

    let mut report = Report::new(
        "login_flood",
        "Login during a login flood from another address",
        "cargo bench -p podium-host --bench login_flood",
    );
    report.distribution("one argon2id password check (19 MiB, 2 passes)", Kind::Limit, &mut argon2);
    report.distribution("correct login from 127.0.0.1, unloaded", Kind::Podium, &mut unloaded);
    report.distribution(
        &format!("correct login from 127.0.0.1 during a flood ({FLOOD} concurrent from 127.0.0.2)"),
        Kind::Podium,
        &mut loaded,
    );
    let (sent, refused) = (sent.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    report.figure("flood requests answered / refused with 429", Kind::Podium, format!("{sent} / {refused}"));
    report.note(
        "The flooding address gets one password check at a time and is refused after ten failures (429 \
         `too_many_attempts`, before any password check), so the other address waits at most for one \
         check in progress, never for the flood's queue.",
    );
    report.finish();
}
