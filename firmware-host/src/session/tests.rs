//! The owner with a real journal: durable before answered, meetings, restart, floods.

use std::path::Path;

use podium_floor::{Actor, Command, Participant, Profile, RequestKind, Role, SeatSetup, Setup, Station};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::*;
use crate::journal::{JournalLocation, JournalSettings, JournalState, Store, minutes};

fn setup(seats: u16) -> Setup {
    Setup {
        voting: Default::default(),
        presentation_sources: Vec::new(),
        seats: (1..=seats)
            .map(|n| SeatSetup {
                number: n,
                label: n.to_string(),
                default_participant: Some(format!("m{n}")),
                position: None,
            })
            .collect(),
        participants: (1..=seats)
            .map(|n| Participant {
                id: format!("m{n}"),
                name: format!("Member {n}"),
                group: Some("G".into()),
                role: Role::Member,
                remote_allowed: false,
                voting_right: true,
                nonpublic_allowed: true,
            })
            .collect(),
        profile: Profile::default(),
    }
}

fn settings(path: &Path) -> JournalSettings {
    JournalSettings {
        location: JournalLocation::File(path.to_owned()),
        retention_days: 30,
        ..JournalSettings::default()
    }
}

fn request(seat: u16) -> Command {
    Command::Request {
        station: Station::Seat(seat),
        kind: RequestKind::Ordinary,
        stance: None,
        raised_at: None,
    }
}

struct Running {
    session: SessionHandle,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

async fn start(path: &Path, setup: Setup) -> Running {
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let session =
        start_with(&settings(path), setup, "room".into(), cancel.clone(), &tracker).await.expect("start");
    Running { session, cancel, tracker }
}

impl Running {
    async fn stop(self) {
        self.cancel.cancel();
        assert!(self.session.stopped(Duration::from_secs(10)).await, "owner stopped");
        self.tracker.close();
        self.tracker.wait().await;
    }
}

#[tokio::test]
async fn an_answered_command_is_already_in_the_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.sqlite3");
    let run = start(&path, setup(10)).await;
    let meeting = run.session.open_meeting(MeetingOpening::titled("Rat")).await.expect("open");
    for seat in 1..=5 {
        let events = run
            .session
            .command(request(seat), Actor::Station(Station::Seat(seat)))
            .await
            .expect("up")
            .expect("ok");
        let last = events.last().expect("an event").seq;
        // Read with a separate connection, as another process would after a crash.
        let store = Store::open_read_only(&path).expect("read");
        let stored = store.events_after(meeting.run_id, 0).expect("events");
        assert_eq!(stored.last().map(|e| e.seq), Some(last), "event {last} is on disk when answered");
    }
    assert_eq!(run.session.journal().status().state, JournalState::Ok);
    run.stop().await;
}

#[tokio::test]
async fn a_restart_restores_the_meeting_and_continues_its_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.sqlite3");
    let run = start(&path, setup(10)).await;
    let meeting = run.session.open_meeting(MeetingOpening::titled("Rat")).await.expect("open");
    for seat in [3, 4, 5] {
        run.session
            .command(request(seat), Actor::Station(Station::Seat(seat)))
            .await
            .expect("up")
            .expect("ok");
    }
    run.session.command(Command::Next {}, Actor::Chair).await.expect("up").expect("ok");
    let before = run.session.snapshot();
    let last_mono = before.floor.speakers[0].started_at.mono_ms.0;
    run.stop().await;

    let again = start(&path, setup(10)).await;
    assert_eq!(again.session.snapshot().floor, before.floor, "the floor is as before");
    let current = again.session.current_meeting().await.expect("up").expect("restored meeting");
    assert_eq!((current.id, current.last_seq), (meeting.id, before.floor.seq));
    assert!(again.session.clock().now().mono_ms.0 >= last_mono, "the timeline continues, never backwards");
    let report = again.session.journal().status().recovery.expect("report");
    assert_eq!((report.meeting_id, report.restored_seq), (Some(meeting.id), before.floor.seq));
    // Numbering continues without a gap.
    let events = again.session.command(Command::Next {}, Actor::Chair).await.expect("up").expect("ok");
    assert_eq!(events[0].seq, before.floor.seq + 1);
    again.stop().await;
}

#[tokio::test]
async fn the_floor_is_recorded_and_restored_without_a_meeting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.sqlite3");
    let run = start(&path, setup(10)).await;
    for seat in [2, 6] {
        let answered = run
            .session
            .enqueue_from(Source::Internal, request(seat), Actor::Station(Station::Seat(seat)))
            .await
            .expect("queued")
            .with_durability()
            .await
            .expect("up");
        assert_eq!(answered.durability, Durability::Written, "recorded outside a meeting too");
    }
    run.session.command(Command::Next {}, Actor::Chair).await.expect("up").expect("ok");
    let before = run.session.snapshot();
    assert_eq!(before.floor.speakers.len(), 1);
    run.stop().await;

    let again = start(&path, setup(10)).await;
    assert_eq!(again.session.snapshot().floor, before.floor, "speaker and list are back");
    assert_eq!(again.session.current_meeting().await.expect("up"), None);
    let report = again.session.journal().status().recovery.expect("report");
    assert_eq!((report.run_id, report.meeting_id), (Some(1), None));
    again.stop().await;
}

#[tokio::test]
async fn closing_a_meeting_seals_its_run_and_the_floor_goes_on_in_a_new_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.sqlite3");
    let run = start(&path, setup(10)).await;
    run.session.command(request(1), Actor::Station(Station::Seat(1))).await.expect("up").expect("ok");
    let meeting = run.session.open_meeting(MeetingOpening::titled("Rat")).await.expect("open");
    assert_eq!(meeting.first_seq, 1, "the meeting labels the run from the floor as it stands");
    run.session.command(request(2), Actor::Station(Station::Seat(2))).await.expect("up").expect("ok");
    let closed = run.session.close_meeting(meeting.id).await.expect("close");
    // Its events: the phase opens (2), the request (3), the phase closes (4) and the
    // waiting requests end with it (5).
    assert_eq!((closed.first_seq, closed.last_seq, closed.events), (1, 5, 4));
    run.session.command(request(3), Actor::Station(Station::Seat(3))).await.expect("up").expect("ok");
    let before = run.session.snapshot();
    run.stop().await;

    let store = Store::open_read_only(&path).expect("read");
    let stored = store.meeting(meeting.id).expect("read").expect("meeting");
    assert_eq!((stored.first_seq, stored.last_seq, stored.events), (1, 5, 4));
    let minutes = minutes::from_store(&store, meeting.id, 0).expect("minutes");
    assert_eq!(
        minutes.speakers.len(),
        2,
        "the request before the opening and the one in it, not the later one"
    );
    drop(store);
    let again = start(&path, setup(10)).await;
    assert_eq!(again.session.snapshot().floor, before.floor);
    let report = again.session.journal().status().recovery.expect("report");
    assert_eq!(report.run_id, Some(2), "a new run after the meeting");
    again.stop().await;
}

#[tokio::test]
async fn a_changed_configuration_waits_until_the_meeting_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.sqlite3");
    let run = start(&path, setup(10)).await;
    let meeting = run.session.open_meeting(MeetingOpening::titled("Rat")).await.expect("open");
    run.session.command(request(9), Actor::Station(Station::Seat(9))).await.expect("up").expect("ok");
    run.stop().await;

    // The new configuration has only 5 seats; seat 9's request is part of the meeting.
    let again = start(&path, setup(5)).await;
    let snapshot = again.session.snapshot();
    assert_eq!(snapshot.seats.len(), 10, "the meeting keeps the setup it opened with");
    assert_eq!(snapshot.floor.requests[0].station, Station::Seat(9));
    let report = again.session.journal().status().recovery.expect("report");
    assert!(report.setup_changed);
    assert!(report.warnings.iter().any(|w| w.contains("configuration changed")), "{:?}", report.warnings);
    let mut watch = again.session.watch();
    again.session.close_meeting(meeting.id).await.expect("close");
    let rebuilt = watch.wait_for(|s| s.seats.len() == 5).await.expect("snapshot").clone();
    assert!(rebuilt.floor.requests.is_empty(), "the new floor starts fresh");
    again.stop().await;
}

#[tokio::test]
async fn meetings_open_close_and_give_minutes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.sqlite3");
    let run = start(&path, setup(10)).await;
    // Rehearsal: nothing recorded.
    run.session.command(request(1), Actor::Station(Station::Seat(1))).await.expect("up").expect("ok");
    let meeting = run.session.open_meeting(MeetingOpening::titled("Ausschuss")).await.expect("open");
    assert_eq!(meeting.first_seq, 1);
    assert!(
        matches!(run.session.open_meeting(MeetingOpening::titled("again")).await, Err(MeetingError::AlreadyOpen(id)) if id == meeting.id)
    );
    run.session.command(request(2), Actor::Station(Station::Seat(2))).await.expect("up").expect("ok");
    run.session.command(Command::Next {}, Actor::Chair).await.expect("up").expect("ok");
    assert!(matches!(run.session.close_meeting(meeting.id + 1).await, Err(MeetingError::NotOpen(_))));
    let closed = run.session.close_meeting(meeting.id).await.expect("close");
    assert!(!closed.open);
    assert_eq!(run.session.current_meeting().await.expect("up"), None);

    let id = meeting.id;
    let minutes =
        run.session.journal().read(move |store| minutes::from_store(store, id, 0)).await.expect("minutes");
    // The request from the rehearsal was waiting at the opening; it was granted by `next`.
    assert_eq!(minutes.speakers.len(), 2);
    assert_eq!(minutes.speakers[0].station, "seat 1");
    assert_eq!(minutes.speakers[0].granted_by.as_deref(), Some("chair"));
    // Still waiting when the meeting closed: closing ends it with the meeting.
    assert_eq!(minutes.speakers[1].request_outcome.as_deref(), Some("meeting_closed"));
    assert!(minutes.warnings.is_empty(), "{:?}", minutes.warnings);
    let listed = run
        .session
        .journal()
        .read(|store| store.meetings().map_err(crate::journal::JournalError::sqlite("list")))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].events, listed[0].open), (closed.events, false));
    run.stop().await;
}

#[tokio::test]
async fn a_chattering_desk_key_is_cut_off_and_others_are_served() {
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let session =
        spawn(podium_floor::Floor::new(setup(10)), SessionClock::starting_at(0), cancel.clone(), &tracker);
    let chatter = Source::Desk { bus: "rs485-1".into(), unit: 7 };
    let calm = Source::Desk { bus: "rs485-1".into(), unit: 3 };
    let station = Station::Seat(7);
    let flood = {
        let session = session.clone();
        tokio::spawn(async move {
            let mut limited = 0;
            for i in 0..1000 {
                let command = if i % 2 == 0 {
                    Command::KeyPress { station: station.clone() }
                } else {
                    Command::KeyRelease { station: station.clone() }
                };
                match session.command_from(chatter.clone(), command, Actor::Station(station.clone())).await {
                    Err(CommandError::RateLimited { .. }) => limited += 1,
                    Err(CommandError::Closed) => panic!("session closed"),
                    Ok(_) => {}
                }
            }
            limited
        })
    };
    for _ in 0..5 {
        let answer = session.command_from(calm.clone(), request(3), Actor::Station(Station::Seat(3))).await;
        assert!(matches!(answer, Ok(Ok(_))), "the calm desk is served: {answer:?}");
    }
    let limited = flood.await.expect("flood");
    assert!(limited >= 900, "most of the chatter is dropped ({limited} of 1000)");
    let stats = session.source_stats();
    let chatter_stats = stats.iter().find(|s| s.source == "desk:rs485-1/7").expect("counted");
    assert_eq!(chatter_stats.limited, limited);
    assert_eq!(chatter_stats.accepted + chatter_stats.limited, 1000);
    let calm_stats = stats.iter().find(|s| s.source == "desk:rs485-1/3").expect("counted");
    assert_eq!((calm_stats.accepted, calm_stats.limited), (5, 0));
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
}

#[tokio::test]
async fn commands_handed_over_without_waiting_are_answered_in_order_once_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.sqlite3");
    let run = start(&path, setup(40)).await;
    let meeting = run.session.open_meeting(MeetingOpening::titled("Rat")).await.expect("open");
    let mut answers = Vec::new();
    for seat in 1..=32u16 {
        let source = Source::Desk { bus: "a".into(), unit: seat };
        let actor = Actor::Station(Station::Seat(seat));
        answers.push(run.session.enqueue_from(source, request(seat), actor).await.expect("handed over"));
    }
    // A withdrawal without a request: rejected, and counted for its source.
    let stray = Source::Desk { bus: "a".into(), unit: 40 };
    let withdraw = Command::Withdraw { station: Station::Seat(40) };
    let rejected = run
        .session
        .enqueue_from(stray, withdraw, Actor::Station(Station::Seat(40)))
        .await
        .expect("handed over");
    let mut last = 0;
    for (i, answer) in answers.into_iter().enumerate() {
        let events = answer.await.expect("up").expect("accepted");
        let seq = events.last().expect("an event").seq;
        assert!(seq > last, "answer {i} out of order: {seq} after {last}");
        last = seq;
        let store = Store::open_read_only(&path).expect("read");
        let stored = store.events_after(meeting.run_id, 0).expect("events");
        assert!(stored.last().is_some_and(|e| e.seq >= seq), "event {seq} is on disk when answered");
    }
    assert_eq!(rejected.await.expect("up").map_err(|r| r.reason), Err(podium_floor::Reason::NotRequested));
    let requests: Vec<Station> =
        run.session.snapshot().floor.requests.iter().map(|r| r.station.clone()).collect();
    assert_eq!(requests, (1..=32).map(Station::Seat).collect::<Vec<_>>(), "applied in the order handed over");
    let stats = run.session.source_stats();
    let stray = stats.iter().find(|s| s.source == "desk:a/40").expect("counted");
    assert_eq!((stray.accepted, stray.rejected), (1, 1), "let through, then rejected by the floor");
    assert!(stats.iter().filter(|s| s.source != "desk:a/40").all(|s| s.rejected == 0));
    run.stop().await;
}

#[tokio::test]
async fn command_records_name_client_addresses_only_when_configured() {
    for record_addresses in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal.sqlite3");
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let settings = JournalSettings { record_addresses, ..settings(&path) };
        let session =
            start_with(&settings, setup(10), "room".into(), cancel.clone(), &tracker).await.expect("start");
        let meeting = session.open_meeting(MeetingOpening::titled("Rat")).await.expect("open");
        let client = Source::Api("192.0.2.7".into());
        let desk = Source::Desk { bus: "rs485-1".into(), unit: 3 };
        session.command_from(client, request(1), Actor::Chair).await.expect("up").expect("ok");
        session.command_from(desk, request(2), Actor::Chair).await.expect("up").expect("ok");
        let store = Store::open_read_only(&path).expect("read");
        let sources: Vec<String> =
            store.commands(meeting.run_id).expect("commands").into_iter().map(|c| c.source).collect();
        let client = if record_addresses { "api:192.0.2.7" } else { "api" };
        assert_eq!(sources, ["internal", client, "desk:rs485-1/3"], "record_addresses = {record_addresses}");
        cancel.cancel();
        assert!(session.stopped(Duration::from_secs(10)).await);
        tracker.close();
        tracker.wait().await;
    }
}

mod resume_window {
    use podium_floor::{Change, Timestamp};

    use super::*;

    fn event(seq: u64) -> Arc<Event> {
        Arc::new(Event {
            seq,
            at: Timestamp::new(seq, 0),
            change: Change::RequestsCleared { count: 0, reason: podium_floor::RequestEnd::Cleared },
        })
    }

    fn seq_of(next: Next) -> Option<u64> {
        match next {
            Next::Event(e) => Some(e.seq),
            _ => None,
        }
    }

    #[test]
    fn the_window_tells_whether_the_part_was_public_at_a_position() {
        let window = ResumeWindow::default();
        let switch = |seq, public| {
            Arc::new(Event { seq, at: Timestamp::new(seq, 0), change: Change::PublicChanged { public } })
        };
        window.push(event(1));
        window.push(switch(2, false));
        window.push(event(3));
        window.push(switch(4, true));
        window.push(event(5));
        // After 1 it was public, after 2 or 3 not, after 4 again (as now).
        assert_eq!(window.public_after(0, 1), Some(true));
        assert_eq!(window.public_after(0, 2), Some(false));
        assert_eq!(window.public_after(0, 3), Some(false));
        assert_eq!(window.public_after(0, 4), Some(true));
        assert_eq!(window.public_after(0, 5), Some(true));
        assert_eq!(window.public_after(1, 3), None, "another epoch");
    }

    #[test]
    fn positions_read_the_shared_events_in_order() {
        let window = ResumeWindow::default();
        for seq in 1..=5 {
            window.push(event(seq));
        }
        assert_eq!(seq_of(window.next_after(0, 0)), Some(1));
        assert_eq!(seq_of(window.next_after(0, 3)), Some(4));
        assert!(matches!(window.next_after(0, 5), Next::Current));
        // A reader holds an Arc to one event at a time, not a copy of the window.
        let Next::Event(held) = window.next_after(0, 1) else { panic!("event 2") };
        assert_eq!(Arc::strong_count(&held), 2, "the window and this reader");
    }

    #[test]
    fn a_position_older_than_the_window_is_behind() {
        let window = ResumeWindow::default();
        for seq in 1..=(RESUME_WINDOW as u64 + 10) {
            window.push(event(seq));
        }
        assert_eq!(window.len(), RESUME_WINDOW);
        assert!(matches!(window.next_after(0, 5), Next::Behind));
        assert_eq!(seq_of(window.next_after(0, 10)), Some(11), "the oldest kept follows position 10");
    }

    #[test]
    fn a_reset_ends_old_positions() {
        let window = ResumeWindow::default();
        window.push(event(1));
        window.reset();
        window.push(event(1));
        assert!(matches!(window.next_after(0, 0), Next::Reset));
        assert_eq!(seq_of(window.next_after(1, 0)), Some(1));
    }

    #[tokio::test]
    async fn a_subscriber_resumes_by_position_or_gets_a_snapshot() {
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let session = spawn(Floor::new(setup(3)), SessionClock::starting_at(0), cancel.clone(), &tracker);
        for seat in 1..=3 {
            session.command(request(seat), Actor::Chair).await.expect("session").expect("accepted");
        }
        let resumed = session.subscribe(Some(1)).await.expect("subscribe");
        assert!(matches!(resumed.start, Start::After(1)));
        assert_eq!(seq_of(resumed.window.next_after(resumed.epoch, 1)), Some(2));
        let fresh = session.subscribe(None).await.expect("subscribe");
        assert!(matches!(fresh.start, Start::Snapshot(ref s) if s.floor.seq == 3));
        let future = session.subscribe(Some(99)).await.expect("subscribe");
        assert!(matches!(future.start, Start::Snapshot(_)), "a position in the future gets a snapshot");
        cancel.cancel();
    }
}

mod voting;
