//! OParl import benchmark (not a test): a meeting with 200 agenda items and an
//! organization with 1,500 members (memberships and persons in the body's lists, 100 per
//! page) from a local fixture server on 127.0.0.1, imported in this process with
//! `podium_host::oparl::import` and by `podiumd agenda import`. Beside it, the floor: the
//! raw HTTP fetch of the same pages with reqwest (bytes only, no parsing).
//!
//! Run: `cargo bench -p podium-host --bench oparl_import` (release build; about 20 s).
//! `PODIUM_BENCH_RUNS` changes the number of runs per row (default 9).

#[path = "../../tests/bench/report.rs"]
mod report;
#[path = "../../tests/e2e/oparl/server.rs"]
mod server;

use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use podium_host::oparl::{MemberLink, OparlSettings, Source, import};
use report::{Kind, Report};
use server::{Council, Server, item};

const ITEMS: usize = 200;
const MEMBERS: usize = 1_500;
const PER_PAGE: usize = 100;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn agenda() -> Vec<serde_json::Value> {
    let mut items = Vec::with_capacity(ITEMS);
    items.push(item(0, Some("A"), "Öffentliche Sitzung", None));
    for n in 1..150 {
        items.push(item(
            n,
            Some(&format!("Ö {n}")),
            &format!("Tagesordnungspunkt {n}: Beschlussvorlage"),
            None,
        ));
    }
    items.push(item(150, None, "< Sitzungsteil nichtöffentlich >", None));
    for n in 151..ITEMS {
        items.push(item(
            n,
            Some(&format!("N {}", n - 150)),
            &format!("Vertrauliche Angelegenheit {n}"),
            Some(false),
        ));
    }
    items
}

/// Every page the import reads, in its order.
fn pages(base: &str) -> Vec<String> {
    let mut out = vec![
        format!("{base}/oparl/meeting/7"),
        format!("{base}/oparl/organization/3"),
        format!("{base}/oparl/body/1"),
    ];
    let pages = (MEMBERS + 1).div_ceil(PER_PAGE);
    for list in ["memberships", "persons"] {
        out.push(format!("{base}/oparl/body/1/{list}"));
        out.extend((2..=pages).map(|n| format!("{base}/oparl/body/1/{list}?page={n}")));
    }
    out
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    let runs = env_or("PODIUM_BENCH_RUNS", 9) as usize;
    // The fixture server on its own thread and runtime; the import on a current-thread
    // runtime, as `podiumd agenda import` runs it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let server =
                Server::start(|_| Council { items: agenda(), members: MEMBERS, per_page: PER_PAGE }.routes())
                    .await;
            tx.send(server.base.clone()).expect("send");
            std::future::pending::<()>().await;
            drop(server);
        });
    });
    let base = rx.recv().expect("server");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let members: Vec<MemberLink> = (1..=MEMBERS)
        .step_by(2)
        .map(|n| MemberLink {
            id: format!("m{n}"),
            name: format!("M {n}"),
            oparl_person: Some(format!("{base}/oparl/person/{n}")),
        })
        .collect();
    let settings = OparlSettings::default();
    let source = Source::Url { url: format!("{base}/oparl/meeting/7"), meeting: None };
    let page_urls = pages(&base);

    let mut imports = Vec::new();
    let mut raw = Vec::new();
    let mut bytes = 0usize;
    let client = reqwest::Client::new();
    runtime.block_on(async {
        // Warm-up, and a check that the import is the one measured.
        let first = import(&source, &members, &settings).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.items.len(), ITEMS);
        assert_eq!(first.report.matched_members.len(), MEMBERS.div_ceil(2));
        for _ in 0..runs {
            let started = Instant::now();
            let result = import(&source, &members, &settings).await;
            imports.push(started.elapsed());
            assert!(result.is_ok());
            let started = Instant::now();
            bytes = 0;
            for url in &page_urls {
                let body = client.get(url).send().await.expect("get").bytes().await.expect("body");
                bytes += body.len();
            }
            raw.push(started.elapsed());
        }
    });

    // `podiumd agenda import`: the whole command (start, room file, import, report, draft).
    let dir = tempfile::tempdir().expect("temp dir");
    let mut toml = String::from("[room]\nid = \"rat\"\nname = \"Rat\"\n");
    for m in &members {
        toml.push_str(&format!(
            "\n[[member]]\nid = \"{}\"\nname = \"{}\"\noparl_person = \"{}\"\n",
            m.id,
            m.name,
            m.oparl_person.as_deref().unwrap_or_default()
        ));
    }
    let config = dir.path().join("room.toml");
    std::fs::write(&config, toml).expect("room file");
    let mut commands = Vec::new();
    let mut peak = 0u64;
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = Process::new(env!("CARGO_BIN_EXE_podiumd"))
            .args(["agenda", "import", "--url", &format!("{base}/oparl/meeting/7"), "--config"])
            .arg(&config)
            .arg("--out")
            .arg(dir.path().join("draft.json"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("podiumd");
        let pid = child.id();
        let status = loop {
            if let Some(hwm) = peak_rss_kib(pid) {
                peak = peak.max(hwm);
            }
            match child.try_wait().expect("wait") {
                Some(status) => break status,
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        };
        commands.push(started.elapsed());
        assert!(status.success(), "podiumd agenda import failed");
    }

    let mut report = Report::new(
        "oparl_import",
        "OParl import: 200 agenda items, 1,500 members",
        "cargo bench -p podium-host --bench oparl_import",
    );
    report.distribution(
        &format!("raw HTTP fetch of the same {} pages (reqwest, bytes only)", page_urls.len()),
        Kind::Limit,
        &mut raw,
    );
    report.distribution("import in process (fetch, parse, classify, match)", Kind::Podium, &mut imports);
    report.distribution("`podiumd agenda import` (whole command)", Kind::Podium, &mut commands);
    report.figure(
        "peak RSS of `podiumd agenda import`",
        Kind::Podium,
        format!("{:.1} MiB", peak as f64 / 1024.0),
    );
    report.note(format!(
        "{} pages, {:.1} MiB of JSON, from a fixture server on 127.0.0.1 (axum, same process as the in-process \
         import, another thread); memberships and persons come from the body's lists, 100 per page; 750 of the \
         1,500 persons are mapped to members. Peak RSS is the child's VmHWM sampled every millisecond (a lower bound).",
        page_urls.len(),
        bytes as f64 / (1024.0 * 1024.0)
    ));
    report.finish();
}
