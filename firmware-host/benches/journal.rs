//! Journal benchmark (not a test): restart-to-ready with 100,000 recorded events, and the
//! cost of a durable write per command, next to raw SQLite and raw fsync measured in the
//! same run on the same disk.
//!
//! Run: `cargo bench -p podium-host --bench journal` (release build; about a minute).
//! `PODIUM_BENCH_DIR=/path` puts the files on another disk (default: the system temp dir).

#[path = "../../tests/bench/report.rs"]
mod report;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use podium_floor::{Actor, Command, Floor, RequestKind, Station, Timestamp};
use podium_host::journal::{
    CHECKPOINT_EVERY, CommandRecord, Journal, JournalLocation, JournalSettings, MeetingInfo, Record, RunInfo,
    Store,
};
use podium_host::session::RESUME_WINDOW;
use report::{Kind, Report};

const EVENTS: u64 = 100_000;
const RESTARTS: usize = 15;
const WRITES: usize = 2_000;

/// A 40-seat room like the demo, with a journal at `journal`.
fn room_toml(journal: &Path) -> String {
    let mut toml = format!(
        "[room]\nid = \"bench\"\nname = \"Bench\"\n\n[discussion]\nmode = \"request\"\nmax_open_microphones = 2\n\
         max_requests = 50\n\n[discussion.speaking_time]\nturn_limit = \"3:00\"\nwarning = \"0:30\"\n\n\
         [journal]\npath = {:?}\n\n",
        journal.display().to_string()
    );
    for n in 1..=40 {
        toml.push_str(&format!("[[seat]]\nnumber = {n}\nmember = \"m{n}\"\n\n"));
        let role = if n == 1 { "chair" } else { "member" };
        toml.push_str(&format!(
            "[[member]]\nid = \"m{n}\"\nname = \"Member {n}\"\ngroup = \"G{}\"\nrole = \"{role}\"\n\n",
            n % 5
        ));
    }
    toml
}

/// A plausible command stream over 40 seats: requests, grants, stops, pauses.
fn command(i: u64) -> (Command, Actor) {
    let seat = 2 + (i * 7 % 39) as u16;
    let station = Station::Seat(seat);
    match i % 8 {
        0..=2 => (
            Command::Request { station, kind: RequestKind::Ordinary, stance: None, raised_at: None },
            Actor::Chair,
        ),
        3 => (Command::Next {}, Actor::Chair),
        4 => (Command::PauseSpeaker { station }, Actor::Chair),
        5 => (Command::ResumeSpeaker { station }, Actor::Chair),
        6 => (Command::Stop { station }, Actor::Chair),
        _ => (Command::Withdraw { station }, Actor::Chair),
    }
}

/// Writes a meeting with `EVENTS` events the way the daemon records them (a checkpoint
/// every `CHECKPOINT_EVERY` events), in large transactions to build it quickly.
fn build_journal(path: &Path, setup: &podium_floor::Setup) -> u64 {
    let (mut store, _) = Store::open(&JournalLocation::File(path.to_owned()), 0).expect("open journal");
    let mut floor = Floor::new(setup.clone());
    let start_unix = 1_700_000_000_000i64;
    let run = RunInfo { id: 1, room_id: "bench".into(), opened_unix_ms: start_unix, first_seq: 0 };
    let start = Record::RunStart {
        run,
        opened_mono_ms: 0,
        setup: Box::new(setup.clone()),
        state: Box::new(floor.state().clone()),
    };
    let info = MeetingInfo::opening(1, 1, "Bench".into(), "bench".into(), start_unix, 0);
    let open = Record::MeetingOpen { info, agenda: None, state: Box::new(floor.state().clone()) };
    store.write(&[&start, &open]).expect("open meeting");
    let (mut batch, mut checkpoint_seq, mut i) = (Vec::new(), 0u64, 0u64);
    while floor.state().seq < EVENTS {
        let (command, actor) = command(i);
        let now = Timestamp::new(i * 250, start_unix + (i * 250) as i64);
        i += 1;
        let Ok(events) = floor.handle(&command, &actor, now) else { continue };
        if events.is_empty() {
            continue;
        }
        let seq = floor.state().seq;
        let checkpoint = (seq >= checkpoint_seq + CHECKPOINT_EVERY).then(|| {
            checkpoint_seq = seq;
            Box::new(floor.state().clone())
        });
        let record = CommandRecord { source: "bench".into(), actor, command };
        batch.push(Record::Events { run_id: 1, events, command: Some(record), checkpoint });
        if batch.len() == 500 {
            store.write(&batch.iter().collect::<Vec<_>>()).expect("write");
            batch.clear();
        }
    }
    store.write(&batch.iter().collect::<Vec<_>>()).expect("write");
    store.checkpoint_wal().expect("checkpoint");
    floor.state().seq
}

fn copy_journal(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy journal");
}

fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("PODIUM_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir).expect("bench dir"),
        None => tempfile::tempdir().expect("tempdir"),
    }
}

/// Spawn to "listening" of the real binary, `RESTARTS` times.
fn process_restarts(config: &Path) -> Vec<Duration> {
    (0..RESTARTS)
        .map(|_| {
            let started = Instant::now();
            let mut child = Process::new(env!("CARGO_BIN_EXE_podiumd"))
                .args(["run", "--config"])
                .arg(config)
                .args(["--listen", "127.0.0.1:0"])
                .env("RUST_LOG", "error")
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start podiumd");
            let stdout = child.stdout.take().expect("stdout");
            let ready = BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|line| line.starts_with("podiumd listening on "));
            let took = started.elapsed();
            assert!(ready, "podiumd did not start");
            // kill -9, as after a crash: the next start restores again.
            let _ = child.kill();
            let _ = child.wait();
            took
        })
        .collect()
}

fn main() {
    let dir = bench_dir();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("journal benchmark in {} ({cores} cores)", dir.path().display());
    let journal = dir.path().join("journal.sqlite3");
    let config = dir.path().join("room.toml");
    std::fs::write(&config, room_toml(&journal)).expect("config");
    let room = podium_host::config::load(&config).expect("valid config");
    let setup = room.floor_setup();

    // --- restart to ready with 100,000 events ----------------------------------------
    let built = Instant::now();
    let seq = build_journal(&journal, &setup);
    let size = std::fs::metadata(&journal).map(|m| m.len()).unwrap_or(0);
    let build_took = built.elapsed();
    println!("built a meeting of {seq} events ({:.1} MB) in {build_took:.1?}", size as f64 / 1e6);
    let pristine = dir.path().join("pristine.sqlite3");
    copy_journal(&journal, &pristine);

    let settings = JournalSettings {
        location: JournalLocation::File(journal.clone()),
        retention_days: 90,
        ..JournalSettings::default()
    };
    let mut restores: Vec<Duration> = (0..RESTARTS)
        .map(|_| {
            let started = Instant::now();
            let (journal, _acks, restored) = Journal::open(&settings, &setup, RESUME_WINDOW);
            let took = started.elapsed();
            assert_eq!(restored.floor.state().seq, seq, "restored everything");
            drop(journal);
            took
        })
        .collect();
    let mut restarts = process_restarts(&config);

    // Worst case: no checkpoint but the opening one, every event replayed.
    let full = dir.path().join("full.sqlite3");
    copy_journal(&pristine, &full);
    {
        let conn = rusqlite::Connection::open(&full).expect("open");
        conn.execute("DELETE FROM checkpoint WHERE seq > 0", []).expect("drop checkpoints");
    }
    let full_settings = JournalSettings {
        location: JournalLocation::File(full),
        retention_days: 90,
        ..JournalSettings::default()
    };
    let mut replays: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let (_journal, _acks, restored) = Journal::open(&full_settings, &setup, RESUME_WINDOW);
            assert_eq!(restored.floor.state().seq, seq);
            started.elapsed()
        })
        .collect();

    // --- minutes of the whole meeting, beside a raw scan of the same rows ----------------
    let store = Store::open_read_only(&pristine).expect("read-only");
    let local = podium_host::journal::minutes::LocalTime::new("Europe/Berlin").expect("zone");
    let print = podium_host::journal::print::PrintSettings {
        room_name: "Ratssaal".into(),
        signatories: vec!["Vorsitz".into(), "Schriftführung".into()],
        local: local.clone(),
    };
    let mut span_h = 0.0;
    let mut minutes_json: Vec<Duration> = Vec::new();
    let mut minutes_csv: Vec<Duration> = Vec::new();
    let mut minutes_html: Vec<Duration> = Vec::new();
    let mut raw_scans: Vec<Duration> = Vec::new();
    let mut rows = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let mut changes = 0usize;
        {
            let conn =
                rusqlite::Connection::open_with_flags(&pristine, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .expect("open");
            let mut stmt =
                conn.prepare("SELECT change FROM event WHERE run_id = 1 ORDER BY seq").expect("prepare");
            let mut scan = stmt.query([]).expect("query");
            while let Some(row) = scan.next().expect("row") {
                changes += row.get_ref(0).expect("change").as_str().expect("text").len().min(1);
            }
        }
        raw_scans.push(started.elapsed());
        assert_eq!(changes as u64, seq);
        let started = Instant::now();
        let minutes = podium_host::journal::minutes::from_store_in(&store, 1, 0, &local).expect("minutes");
        let json = serde_json::to_string(&minutes).expect("json");
        minutes_json.push(started.elapsed());
        let started = Instant::now();
        let csv = minutes.to_csv().expect("csv");
        minutes_csv.push(started.elapsed());
        let started = Instant::now();
        let html = podium_host::journal::print::to_html(&minutes, &print);
        minutes_html.push(started.elapsed());
        rows = minutes.speakers.len();
        // How long the recorded meeting lasted, from its first to its last row.
        let first =
            minutes.speakers.first().and_then(|t| t.requested_unix_ms.or(t.started_unix_ms)).unwrap_or(0);
        let last =
            minutes.speakers.iter().filter_map(|t| t.ended_unix_ms.or(t.started_unix_ms)).max().unwrap_or(0);
        span_h = (last - first).max(0) as f64 / 3.6e6;
        assert!(json.len() > 1000 && csv.len() > 1000 && html.len() > 1000);
    }
    drop(store);

    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).expect("mkdir");
    let empty_config = empty_dir.join("room.toml");
    std::fs::write(&empty_config, room_toml(&empty_dir.join("journal.sqlite3"))).expect("config");
    let mut empty_restarts = process_restarts(&empty_config);

    // --- write cost per command --------------------------------------------------------
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let write_dir = dir.path().join("writes");
    std::fs::create_dir(&write_dir).expect("mkdir");
    let write_settings = JournalSettings {
        location: JournalLocation::File(write_dir.join("journal.sqlite3")),
        retention_days: 90,
        ..JournalSettings::default()
    };
    let (mut latencies, mut per_event, events_written, grouped) = runtime.block_on(async {
        let (journal, mut acks, restored) = Journal::open(&write_settings, &setup, RESUME_WINDOW);
        let mut floor = restored.floor;
        let run =
            RunInfo { id: restored.next_run_id, room_id: "bench".into(), opened_unix_ms: 0, first_seq: 0 };
        let id = run.id;
        journal.submit(
            1,
            Record::RunStart {
                run,
                opened_mono_ms: 0,
                setup: Box::new(setup.clone()),
                state: Box::new(floor.state().clone()),
            },
        );
        let mut op = 1;
        while acks.recv().await.is_some_and(|a| a.through_op < op) {}
        let mut latencies = Vec::with_capacity(WRITES);
        let mut per_event = Vec::with_capacity(WRITES);
        let mut events_written = 0;
        let mut i = 0u64;
        while latencies.len() < WRITES {
            let (command, actor) = command(i);
            i += 1;
            let Ok(events) = floor.handle(&command, &actor, Timestamp::new(i, i as i64)) else { continue };
            if events.is_empty() {
                continue;
            }
            events_written += events.len();
            let count = events.len() as u32;
            let started = Instant::now();
            op += 1;
            let record = CommandRecord { source: "bench".into(), actor, command };
            journal
                .submit(op, Record::Events { run_id: id, events, command: Some(record), checkpoint: None });
            loop {
                match acks.recv().await {
                    Some(ack) if ack.through_op >= op => break,
                    Some(_) => continue,
                    None => panic!("writer stopped"),
                }
            }
            let took = started.elapsed();
            latencies.push(took);
            per_event.push(took / count);
        }
        // Group commit: 2,000 commands handed over at once, as under a burst.
        let started = Instant::now();
        let first = op + 1;
        let mut grouped_events = 0;
        while op + 1 - first < WRITES as u64 {
            let (command, actor) = command(i);
            i += 1;
            let Ok(events) = floor.handle(&command, &actor, Timestamp::new(i, i as i64)) else { continue };
            if events.is_empty() {
                continue;
            }
            grouped_events += events.len();
            op += 1;
            journal.submit(op, Record::Events { run_id: id, events, command: None, checkpoint: None });
        }
        let mut acks_seen = 0;
        while let Some(ack) = acks.recv().await {
            acks_seen += 1;
            if ack.through_op >= op {
                break;
            }
        }
        let took = started.elapsed();
        journal.close(Duration::from_secs(10)).await;
        (latencies, per_event, events_written, (op + 1 - first, grouped_events, acks_seen, took))
    });
    // --- the same disk, raw -------------------------------------------------------------
    let raw = dir.path().join("raw.sqlite3");
    let conn = rusqlite::Connection::open(&raw).expect("open raw");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (seq INTEGER PRIMARY KEY, body TEXT);",
    )
    .expect("raw setup");
    let body = "x".repeat(200);
    let mut raw_inserts: Vec<Duration> = (0..WRITES)
        .map(|i| {
            let started = Instant::now();
            conn.execute("INSERT INTO t (seq, body) VALUES (?1, ?2)", rusqlite::params![i as i64, body])
                .expect("insert");
            started.elapsed()
        })
        .collect();

    let file = dir.path().join("raw.bin");
    let mut out = std::fs::OpenOptions::new().create(true).append(true).open(&file).expect("open raw file");
    let block = vec![0u8; 4096];
    let mut fsyncs: Vec<Duration> = (0..WRITES)
        .map(|_| {
            let started = Instant::now();
            out.write_all(&block).expect("write");
            out.sync_data().expect("fdatasync");
            started.elapsed()
        })
        .collect();

    let mut report = Report::new(
        "journal",
        "Journal: durable write and restart",
        "cargo bench -p podium-host --bench journal",
    );
    report.distribution(
        &format!("restore in process ({seq} events: open + checkpoint + tail + resume window)"),
        Kind::Podium,
        &mut restores,
    );
    report.distribution(
        &format!("restore without checkpoints (replays all {seq} events)"),
        Kind::Podium,
        &mut replays,
    );
    report.distribution(
        &format!("restart to ready: podiumd spawn → listening ({seq} events)"),
        Kind::Podium,
        &mut restarts,
    );
    report.distribution(
        "restart to ready: podiumd spawn → listening (empty journal)",
        Kind::Podium,
        &mut empty_restarts,
    );
    report.distribution(
        &format!("minutes as JSON: read, build and serialise {seq} events ({rows} rows, {span_h:.1} h)"),
        Kind::Podium,
        &mut minutes_json,
    );
    report.distribution("minutes as CSV (from the built minutes)", Kind::Podium, &mut minutes_csv);
    report.distribution(
        "minutes as printable HTML (from the built minutes)",
        Kind::Podium,
        &mut minutes_html,
    );
    report.distribution(
        &format!("raw SQLite: scan the same {seq} event rows (SELECT change, no parsing)"),
        Kind::Limit,
        &mut raw_scans,
    );
    report.distribution(
        "raw SQLite: INSERT + COMMIT of 200 bytes, WAL, synchronous=FULL",
        Kind::Limit,
        &mut raw_inserts,
    );
    report.distribution("raw file: append 4 KiB + fdatasync", Kind::Limit, &mut fsyncs);
    let per_command = events_written as f64 / latencies.len() as f64;
    report.distribution(
        &format!("journal: durable write of one command ({per_command:.2} events)"),
        Kind::Podium,
        &mut latencies,
    );
    report.distribution("journal: the same, per event", Kind::Podium, &mut per_event);
    let (commands, events, commits, took) = grouped;
    report.figure(
        &format!("journal: {commands} commands queued at once ({events} events)"),
        Kind::Podium,
        format!(
            "{commits} commits, {:.0} events/s, {:.4} ms per event",
            events as f64 / took.as_secs_f64(),
            took.as_secs_f64() * 1e3 / events as f64
        ),
    );
    report.note(format!(
        "A 40-seat room; the meeting of {seq} events ({:.1} MB, a checkpoint every \
         {CHECKPOINT_EVERY} events) was written beforehand in {build_took:.1?}. Files in the \
         system temp dir (or PODIUM_BENCH_DIR), {cores} cores.",
        size as f64 / 1e6
    ));
    report.note(format!(
        "Restore in process: open the journal, load the latest checkpoint, replay the tail and \
         load the last {RESUME_WINDOW} events for resuming clients; {RESTARTS} samples, 5 without \
         checkpoints. Restart to ready: spawn of the real podiumd until it prints that it \
         listens (config, restore, bind), killed with SIGKILL between starts."
    ));
    report.note(
        "Durable write: one command's events handed to the journal's writer thread until its \
         acknowledgement (committed with fsync), one command at a time; the raw rows are the same \
         disk in the same run, without Podium. The queued row hands all commands over at once, \
         so the writer groups them into few commits.",
    );
    report.finish();
}
