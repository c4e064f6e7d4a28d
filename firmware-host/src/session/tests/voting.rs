//! Votes through the owner with a real journal: they survive a restart, and a secret vote
//! leaves no member–choice pair in any output (events, snapshots, every journal table and
//! the raw file, the minutes as JSON, CSV and HTML, the log).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use podium_floor::vote::{AttendanceStatus, CountsAs, VoteKind, VoteOption, VoteRequest, VotingRules};
use serde_json::Value;

use super::*;
use crate::journal::print::{self, PrintSettings};
use crate::journal::time::LocalTime;

/// (id, name, seat); the last one attends remotely.
const MEMBERS: [(&str, &str, u16); 5] = [
    ("member_anna", "Anna Ahrens", 1),
    ("member_bernd", "Bernd Brandt", 2),
    ("member_clara", "Clara Claus", 3),
    ("member_dora", "Dora Dietz", 4),
    ("member_emil", "Emil Engel", 5),
];
/// (id, label): distinctive, so a detector cannot mistake other text for a choice.
const OPTIONS: [(&str, &str, CountsAs); 3] = [
    ("opt_alpha", "Zustimmung", CountsAs::Yes),
    ("opt_beta", "Ablehnung", CountsAs::No),
    ("opt_gamma", "Stimmenthaltung", CountsAs::Abstain),
];

fn council() -> Setup {
    let mut setup = setup(5);
    for (p, (id, name, _)) in setup.participants.iter_mut().zip(MEMBERS) {
        p.id = id.into();
        p.name = name.into();
        p.remote_allowed = true;
    }
    for (s, (id, _, _)) in setup.seats.iter_mut().zip(MEMBERS) {
        s.default_participant = Some(id.into());
    }
    setup.voting = VotingRules { remote_secret: true, ..VotingRules::default() };
    setup
}

fn vote_request(kind: VoteKind) -> VoteRequest {
    VoteRequest {
        question: "Soll der Haushalt beschlossen werden?".into(),
        kind,
        options: Some(
            OPTIONS
                .iter()
                .map(|(id, label, counts_as)| VoteOption {
                    id: (*id).into(),
                    label: (*label).into(),
                    counts_as: *counts_as,
                })
                .collect(),
        ),
        majority: None,
        duration_s: None,
        changeable: None,
    }
}

/// Who votes what, and through which channel.
fn ballots() -> Vec<(Command, Actor, &'static str, &'static str)> {
    let cast = |participant: Option<&str>, choice: &str| Command::CastVote {
        participant: participant.map(str::to_owned),
        choice: choice.into(),
    };
    vec![
        (cast(None, "opt_alpha"), Actor::Station(Station::Seat(1)), "member_anna", "opt_alpha"),
        // Marked present by the chair at their seats, they vote with their desk units (a
        // secret vote takes no entry on a member's behalf).
        (cast(None, "opt_beta"), Actor::Station(Station::Seat(2)), "member_bernd", "opt_beta"),
        (
            cast(Some("member_clara"), "opt_alpha"),
            Actor::Station(Station::Seat(3)),
            "member_clara",
            "opt_alpha",
        ),
        (cast(None, "opt_gamma"), Actor::Station(Station::Seat(4)), "member_dora", "opt_gamma"),
        (
            cast(None, "opt_beta"),
            Actor::Station(Station::Remote("member_emil".into())),
            "member_emil",
            "opt_beta",
        ),
    ]
}

async fn ok(run: &Running, command: Command, actor: Actor) -> Vec<Event> {
    run.session.command(command.clone(), actor).await.expect("up").unwrap_or_else(|r| panic!("{r}"))
}

/// Check-in: two at their desks, two marked by the chair, one remotely.
async fn check_in(run: &Running) -> Vec<Event> {
    let mut events = Vec::new();
    for seat in [1, 4] {
        events.extend(ok(run, Command::PresenceKey { seat }, Actor::Station(Station::Seat(seat))).await);
    }
    for id in ["member_bernd", "member_clara"] {
        let mark = Command::MarkAttendance { participant: id.into(), status: AttendanceStatus::Present };
        events.extend(ok(run, mark, Actor::Chair).await);
    }
    let join = Command::JoinRemote { participant: "member_emil".into() };
    events.extend(ok(run, join, Actor::Station(Station::Remote("member_emil".into()))).await);
    events
}

// ------------------------------------------------------------------ the detector

/// The member identifiers and the choice words (ids and labels).
fn members() -> Vec<(&'static str, &'static str, u16)> {
    MEMBERS.to_vec()
}

fn choice_words() -> Vec<&'static str> {
    OPTIONS.iter().flat_map(|(id, label, _)| [*id, *label]).collect()
}

/// A JSON object that names a member (a string value or a key equal to the member's id)
/// and holds a `choice` naming an option somewhere inside: a member–choice pair.
fn json_pairs(value: &Value, found: &mut Vec<String>) {
    fn has_choice(value: &Value) -> bool {
        match value {
            Value::Object(map) => map.iter().any(|(k, v)| {
                (k == "choice" && v.as_str().is_some_and(|c| OPTIONS.iter().any(|(id, _, _)| *id == c)))
                    || has_choice(v)
            }),
            Value::Array(items) => items.iter().any(has_choice),
            _ => false,
        }
    }
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let named_by_key = members().iter().any(|(id, _, _)| key == id);
                if named_by_key && has_choice(inner) {
                    found.push(format!("{key}: {inner}"));
                }
                json_pairs(inner, found);
            }
            let names_member = map.values().any(|v| {
                v.as_str().is_some_and(|s| members().iter().any(|(id, name, _)| s == *id || s == *name))
            });
            if names_member && has_choice(value) {
                found.push(value.to_string());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| json_pairs(v, found)),
        _ => {}
    }
}

/// A line of text (log line, CSV row, HTML line) naming a member and a choice word.
fn text_pairs(text: &str, found: &mut Vec<String>) {
    for line in text.lines() {
        let member = members().iter().any(|(id, name, _)| line.contains(id) || line.contains(name));
        let choice = choice_words().iter().any(|w| line.contains(w));
        if member && choice {
            found.push(line.to_owned());
        }
    }
}

/// Raw bytes (the SQLite file and its log): a stored choice, or a member id within
/// `WINDOW` bytes of an option id in the same stored text.
fn byte_pairs(bytes: &[u8], found: &mut Vec<String>) {
    const WINDOW: usize = 48;
    let positions = |needle: &[u8]| -> Vec<usize> {
        bytes.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect()
    };
    for (option, _, _) in OPTIONS {
        let stored = format!("\"choice\":\"{option}\"");
        if !positions(stored.as_bytes()).is_empty() {
            found.push(format!("raw bytes hold {stored}"));
        }
        for at in positions(option.as_bytes()) {
            // The stored text the option is part of (SQLite's record headers and free space
            // are bytes below 0x20; JSON text has none), at most `WINDOW` bytes either side.
            let text = |b: &u8| *b >= 0x20;
            let from = at - bytes[at.saturating_sub(WINDOW)..at].iter().rev().take_while(|b| text(b)).count();
            let end = at + option.len();
            let to = end + bytes[end..(end + WINDOW).min(bytes.len())].iter().take_while(|b| text(b)).count();
            let near = &bytes[from..to];
            for (id, _, _) in members() {
                if near.windows(id.len()).any(|w| w == id.as_bytes()) {
                    found.push(format!(
                        "{id} within {WINDOW} bytes of {option}: {:?}",
                        String::from_utf8_lossy(near)
                    ));
                }
            }
        }
    }
}

/// The log, captured for the whole test process (nextest runs each test in its own).
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every output of a vote held through the session, and what the detector found in each.
struct Surfaces {
    found: BTreeMap<&'static str, Vec<String>>,
    result: podium_floor::vote::VoteResult,
    minutes: minutes::Minutes,
    urn_mid_vote: Vec<(String, i64)>,
    urn_after_close: Vec<(String, i64)>,
    /// Size of the write-ahead log after the last ballot.
    wal_mid_vote: u64,
    log: String,
}

use std::collections::BTreeMap;

/// Holds a vote of `kind` with [`ballots`], restarts the daemon in the middle, closes it,
/// closes the meeting, and runs the detector over every output.
async fn hold_a_vote(kind: VoteKind) -> Surfaces {
    let log = captured_log();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.sqlite3");
    let run = start(&path, council()).await;
    let meeting = run.session.open_meeting(MeetingOpening::titled("Rat")).await.expect("open");
    let mut events = check_in(&run).await;
    let mut snapshots = vec![run.session.snapshot()];
    events.extend(ok(&run, Command::OpenVote { vote: vote_request(kind) }, Actor::Chair).await);
    let mut subscription = run.session.subscribe(None).await.expect("subscribe");
    for (command, actor, _, _) in ballots() {
        events.extend(ok(&run, command, actor).await);
        snapshots.push(run.session.snapshot());
    }
    // Mid-vote: the urn as stored, and the raw file as it is now.
    let urn_mid_vote: Vec<(String, i64)> = {
        let conn = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open");
        let mut stmt = conn
            .prepare(&format!(
                "SELECT option, count - {} FROM urn ORDER BY option",
                crate::journal::store::URN_COUNT_BASE
            ))
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    let wal_mid_vote =
        std::fs::metadata(crate::journal::store::companion(&path, "-wal")).map_or(0, |m| m.len());
    let mut raw_mid_vote = std::fs::read(&path).expect("file");
    raw_mid_vote.extend(std::fs::read(crate::journal::store::companion(&path, "-wal")).unwrap_or_default());
    let before = run.session.snapshot();
    run.stop().await;

    // A restart in the middle of the vote: it is open again with the same ballots.
    let run = start(&path, council()).await;
    let restored = run.session.snapshot();
    assert_eq!(restored.floor.vote, before.floor.vote, "the vote reopens as it was");
    let report = run.session.journal().status().recovery.expect("report");
    assert_eq!(report.urn_refused, None);
    assert_eq!(report.urn_restored.is_some(), kind == VoteKind::Secret);
    snapshots.push(restored);
    events.extend(ok(&run, Command::CloseVote {}, Actor::Chair).await);
    snapshots.push(run.session.snapshot());
    while let Ok(event) = subscription.events.try_recv() {
        events.push((*event).clone());
    }
    let result = run.session.snapshot().floor.vote.clone().and_then(|v| v.result.clone()).expect("result");
    run.session.close_meeting(meeting.id).await.expect("close");
    let id = meeting.id;
    let local = LocalTime::new("Europe/Berlin").expect("zone");
    let zone = local.clone();
    let minutes = run
        .session
        .journal()
        .read(move |store| minutes::from_store_in(store, id, 0, &zone))
        .await
        .expect("minutes");
    run.stop().await;

    let mut found: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for event in &events {
        json_pairs(&serde_json::to_value(event).expect("json"), found.entry("events").or_default());
    }
    for snapshot in &snapshots {
        json_pairs(&serde_json::to_value(&**snapshot).expect("json"), found.entry("snapshots").or_default());
    }
    // Every row of every table, each JSON column parsed; a command row also names its
    // member through its actor (the seat or remote station).
    let conn = rusqlite::Connection::open(&path).expect("open");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("tables");
    for expected in ["event", "command", "checkpoint", "urn", "run", "meeting"] {
        assert!(tables.iter().any(|t| t == expected), "table {expected}");
    }
    for table in &tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).expect("prepare");
        let columns = stmt.column_count();
        let rows: Vec<Vec<rusqlite::types::Value>> = stmt
            .query_map([], |r| (0..columns).map(|i| r.get(i)).collect())
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        let sink = found.entry("tables").or_default();
        for row in rows {
            let mut texts = Vec::new();
            for value in row {
                if let rusqlite::types::Value::Text(text) = value {
                    if let Ok(json) = serde_json::from_str::<Value>(&text) {
                        json_pairs(&json, sink);
                    }
                    texts.push(text);
                }
            }
            let line = texts.join(" | ");
            let by_actor = members().iter().any(|(id, _, seat)| {
                line.contains(&format!("{{\"station\":{{\"seat\":{seat}}}}}")) || line.contains(id)
            });
            let choice = OPTIONS.iter().any(|(id, _, _)| line.contains(&format!("\"choice\":\"{id}\"")));
            if by_actor && choice {
                sink.push(format!("{table}: {line}"));
            }
        }
    }
    drop(conn);
    let mut raw = std::fs::read(&path).expect("file");
    raw.extend(std::fs::read(crate::journal::store::companion(&path, "-wal")).unwrap_or_default());
    byte_pairs(&raw, found.entry("raw file").or_default());
    byte_pairs(&raw_mid_vote, found.entry("raw file mid-vote").or_default());
    json_pairs(&serde_json::to_value(&minutes).expect("json"), found.entry("minutes json").or_default());
    text_pairs(&minutes.to_csv().expect("csv"), found.entry("minutes csv").or_default());
    text_pairs(&minutes.attendance_csv().expect("csv"), found.entry("minutes csv").or_default());
    text_pairs(&minutes.votes_csv().expect("csv"), found.entry("minutes csv").or_default());
    let settings = PrintSettings { room_name: "Ratssaal".into(), signatories: Vec::new(), local };
    let html = print::to_html(&minutes, &settings);
    text_pairs(&html, found.entry("minutes html").or_default());
    let public = print::to_html(&minutes.clone().for_publication(), &settings);
    text_pairs(&public, found.entry("minutes html").or_default());
    let log = String::from_utf8_lossy(&log.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    text_pairs(&log, found.entry("log").or_default());
    let urn_after_close: Vec<(String, i64)> = {
        let conn = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open");
        let mut stmt = conn.prepare("SELECT option, count FROM urn").expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    Surfaces { found, result, minutes, urn_mid_vote, urn_after_close, wal_mid_vote, log }
}

#[tokio::test]
async fn a_secret_vote_leaves_no_member_choice_pair_in_any_output() {
    let surfaces = hold_a_vote(VoteKind::Secret).await;
    for (surface, pairs) in &surfaces.found {
        assert!(pairs.is_empty(), "{surface} ties a member to a choice: {pairs:#?}");
    }
    // Who voted and the totals are there.
    let totals: Vec<(String, u32)> =
        surfaces.result.totals.iter().map(|t| (t.option.clone(), t.count)).collect();
    assert_eq!(totals, vec![("opt_alpha".into(), 2), ("opt_beta".into(), 2), ("opt_gamma".into(), 1)]);
    assert_eq!(surfaces.result.voted, 5);
    assert_eq!(
        surfaces.urn_mid_vote,
        vec![("opt_alpha".into(), 2), ("opt_beta".into(), 2), ("opt_gamma".into(), 1)],
        "the urn holds counts, one row per option"
    );
    assert!(
        surfaces.urn_after_close.is_empty(),
        "a closed vote's urn is gone: its totals are in vote_closed"
    );
    assert_eq!(surfaces.wal_mid_vote, 0, "no history of the urn's counts stays in the write-ahead log");
    let vote = &surfaces.minutes.votes[0];
    assert_eq!(vote.kind, VoteKind::Secret);
    let voters: Vec<&str> = vote.ballots.iter().map(|b| b.participant.as_str()).collect();
    assert_eq!(voters.len(), 5, "who voted is minuted: {voters:?}");
    assert!(vote.ballots.iter().all(|b| b.choice.is_none()));
    assert!(vote.ballots.iter().all(|b| !b.proxy), "a secret vote takes no proxy entry");
    assert_eq!(vote.result.as_ref().map(|r| r.voted), Some(5));
    assert!(surfaces.log.contains("command accepted"), "the log was captured");
}

/// The detector can fail: the same vote held by roll call (choices public by design) is
/// found in the events, the snapshots, the tables, the raw file and the minutes; and a
/// ballot logged with plain `{:?}` would be found in the log.
#[tokio::test]
async fn the_detector_finds_the_pairs_of_a_roll_call_vote() {
    let surfaces = hold_a_vote(VoteKind::RollCall).await;
    for surface in
        ["events", "snapshots", "tables", "raw file", "minutes json", "minutes csv", "minutes html"]
    {
        assert!(
            surfaces.found.get(surface).is_some_and(|pairs| !pairs.is_empty()),
            "the detector misses the roll-call choices in {surface}"
        );
    }
    // Clara's ballot names her: its JSON ties her to the choice.
    let (command, _, _, _) = ballots().remove(2);
    let mut plain = Vec::new();
    // A ballot written out as it is (its JSON) would be found; its `Debug`, as every log
    // line formats commands, never shows the choice.
    let json = serde_json::to_string(&command).expect("json");
    text_pairs(&format!("command accepted command={json}"), &mut plain);
    assert!(!plain.is_empty(), "a plainly logged ballot is found");
    let mut debug = Vec::new();
    text_pairs(&format!("command accepted command={command:?}"), &mut debug);
    assert!(debug.is_empty(), "{debug:?}");
    let mut redacted = Vec::new();
    text_pairs(&format!("command accepted command={:?}", Logged(&command)), &mut redacted);
    assert!(redacted.is_empty(), "{redacted:?}");
    assert!(surfaces.found["log"].is_empty(), "no choice is ever logged: {:?}", surfaces.found["log"]);
}

#[tokio::test]
async fn a_secret_ballot_is_recorded_without_its_choice_and_an_urn_that_does_not_add_up_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.sqlite3");
    let run = start(&path, council()).await;
    run.session.open_meeting(MeetingOpening::titled("Rat")).await.expect("open");
    check_in(&run).await;
    ok(&run, Command::OpenVote { vote: vote_request(VoteKind::Secret) }, Actor::Chair).await;
    for (command, actor, _, _) in ballots().into_iter().take(2) {
        ok(&run, command, actor).await;
    }
    run.stop().await;
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        let commands: Vec<String> = conn
            .prepare("SELECT command FROM command WHERE command LIKE '%cast_vote%'")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(commands.len(), 2);
        assert!(
            commands.iter().all(|c| c.contains(&format!("\"choice\":\"{SECRET_CHOICE}\""))),
            "{commands:?}"
        );
        // A count lost (as after a damaged tail): the urn no longer adds up.
        conn.execute("UPDATE urn SET count = count - 1 WHERE option = 'opt_alpha'", []).expect("damage");
    }
    let run = start(&path, council()).await;
    let report = run.session.journal().status().recovery.expect("report");
    let refused = report.urn_refused.expect("reported");
    assert!(refused.contains("CANNOT BE COUNTED"), "{refused}");
    assert!(report.warnings.iter().any(|w| w == &refused));
    let vote = run.session.snapshot().floor.vote.clone().expect("vote");
    assert!(vote.result.is_none() && vote.ballots.len() == 2, "the vote stays open as it was");
    run.stop().await;
}

#[tokio::test]
async fn an_open_vote_survives_a_restart_with_its_ballots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.sqlite3");
    let run = start(&path, council()).await;
    run.session.open_meeting(MeetingOpening::titled("Rat")).await.expect("open");
    check_in(&run).await;
    ok(&run, Command::OpenVote { vote: vote_request(VoteKind::Open) }, Actor::Chair).await;
    for (command, actor, _, _) in ballots().into_iter().take(3) {
        ok(&run, command, actor).await;
    }
    let before = run.session.snapshot();
    run.stop().await;
    let run = start(&path, council()).await;
    assert_eq!(run.session.snapshot().floor.vote, before.floor.vote);
    let events = ok(&run, Command::CloseVote {}, Actor::Chair).await;
    let Some(podium_floor::Change::VoteClosed { result, .. }) = events.last().map(|e| &e.change) else {
        panic!("closed: {events:?}")
    };
    let totals: Vec<u32> = result.totals.iter().map(|t| t.count).collect();
    assert_eq!(totals, vec![2, 1, 0]);
    run.stop().await;
}
