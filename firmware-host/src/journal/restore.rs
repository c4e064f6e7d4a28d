//! Restoring the floor at start: the run in progress, and the meeting open in it.
//!
//! # What is restored
//! The latest readable checkpoint of the run in progress plus the events after it, replayed
//! onto [`Floor::restore`]: list, speakers with their clocks, presence, mode and limits, all
//! exactly as the events left them (events are the truth). The last
//! `resume_window` events are also handed back so that event-stream clients resume across
//! the restart with their `Last-Event-ID`.
//!
//! # The clock rule
//! Engine time is monotonic milliseconds; a speaker's clock is its `started_at` plus its
//! budget. A new process has a new monotonic clock, so the restored session continues the
//! old timeline: with the last stored event at `(last_mono, last_unix)`,
//!
//! ```text
//! origin = last_mono + max(0, now_unix - last_unix)
//! ```
//!
//! is the engine time "now" at restart (`SessionClock::starting_at(origin)`). The wall clock
//! is the only clock that runs while the daemon is down, so the downtime counts against
//! running speaking times, as it does for the people in the room. If the wall clock is
//! *behind* the last event (it jumped backwards, e.g. a Raspberry Pi without RTC booting
//! with an old time before NTP answers), the downtime is unknown and counted as zero: the
//! timers continue where they stood, never backwards, and the report says so
//! (`wall_clock_went_back`). A forward jump while the daemon was down cannot be told from
//! real downtime. While the daemon runs, timers follow the monotonic clock only, so later
//! wall-clock jumps (NTP) do not disturb them; only the record's `unix_ms` shows the jump.
//!
//! # A changed room configuration
//! The run row stores the engine setup (seats, members, rules) it started with. If the
//! configuration changed between starts and a meeting is open, the floor continues with its stored setup
//! (its events refer to those seats and members, and a record must not change under a
//! meeting), with a warning; the new configuration applies once the meeting is closed
//! (the floor is then rebuilt from it). An unreadable stored setup falls back to the
//! current configuration, with a warning.
//!
//! # A damaged journal
//! - SQLite itself recovers its write-ahead log up to the last intact commit; the journal
//!   inspects the log first and warns about a damaged tail ([`super::wal`]).
//! - Events are checked one by one: a gap in the sequence numbers or a record that does not
//!   parse ends the recovery there; the rest is reported and removed so that recording
//!   continues without a gap. A checkpoint past the damage, or unreadable, is skipped for an
//!   older one (the opening state is always kept).
//! - A file SQLite cannot read at all is moved aside and a new journal started
//!   ([`super::Store::open`]).

use podium_floor::{Event, Floor, FloorState, Setup};
use serde::{Deserialize, Serialize};

use super::MeetingInfo;
use super::store::{RawEvent, Record, RunInfo, Store};

/// What the restore found and did, for the log and `/api/v1/diagnostics`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecoveryReport {
    /// The run that was in progress and is restored, if any.
    pub run_id: Option<i64>,
    /// The meeting that was open and is restored, if any.
    pub meeting_id: Option<i64>,
    /// Sequence number of the restored state.
    pub restored_seq: u64,
    /// The checkpoint the replay started from.
    pub checkpoint_seq: Option<u64>,
    /// Events replayed onto the checkpoint.
    pub replayed_events: u64,
    /// Stored events that could not be used (damaged tail) and were removed.
    pub discarded_events: u64,
    /// Engine time at restart (see the clock rule).
    pub clock_origin_ms: u64,
    /// Wall-clock milliseconds between the last stored event and the restart.
    pub since_last_event_ms: Option<i64>,
    /// The wall clock was behind the last stored event; the downtime was counted as zero.
    pub wall_clock_went_back: bool,
    /// The room configuration differs from the setup the run started with.
    pub setup_changed: bool,
    /// How long opening the journal and restoring took (milliseconds).
    pub took_ms: u64,
    /// Everything worth a warning, in order.
    pub warnings: Vec<String>,
    /// The open secret vote whose urn was restored from the journal, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urn_restored: Option<u32>,
    /// Why the urn of the open secret vote could not be restored (its counts do not add up
    /// to the members who voted, e.g. after a damaged tail was removed). That vote must not
    /// be closed: its result would be wrong. The chair cancels and repeats it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urn_refused: Option<String>,
}

/// The session as it is to continue.
#[derive(Debug)]
pub struct Restored {
    /// The floor, restored or new.
    pub floor: Floor,
    /// Engine time now (see the clock rule).
    pub clock_origin_ms: u64,
    /// The last events (at most the resume window), for clients resuming their event stream.
    pub recent: Vec<Event>,
    /// The run in progress, restored (none: the owner starts one).
    pub run: Option<RunInfo>,
    /// The open meeting, restored.
    pub meeting: Option<MeetingInfo>,
    /// The id the next meeting gets.
    pub next_meeting_id: i64,
    /// The id the next run gets.
    pub next_run_id: i64,
    /// Sequence number of the newest checkpoint of the open meeting.
    pub checkpoint_seq: u64,
    /// What happened.
    pub report: RecoveryReport,
    /// Records to write before anything else (e.g. closing a meeting that cannot be restored).
    pub pending: Vec<Record>,
}

impl Restored {
    /// A new floor with nothing restored.
    pub fn fresh(setup: Setup, next_meeting_id: i64, next_run_id: i64, warnings: Vec<String>) -> Self {
        Restored {
            floor: Floor::new(setup),
            clock_origin_ms: 0,
            recent: Vec::new(),
            run: None,
            meeting: None,
            next_meeting_id,
            next_run_id,
            checkpoint_seq: 0,
            report: RecoveryReport { warnings, ..RecoveryReport::default() },
            pending: Vec::new(),
        }
    }
}

/// Loads and checks a meeting's events after `after`: stops at the first gap or unreadable
/// record. Returns the good events and the problem, if any.
fn load_events(raws: Vec<RawEvent>, after: u64) -> (Vec<Event>, Option<String>) {
    let mut events = Vec::with_capacity(raws.len());
    for (expected, raw) in (after + 1..).zip(raws) {
        if raw.seq != expected {
            return (events, Some(format!("event {expected} is missing (found {} next)", raw.seq)));
        }
        match raw.parse() {
            Ok(event) => events.push(event),
            Err(e) => return (events, Some(format!("event {} is unreadable ({e})", raw.seq))),
        }
    }
    (events, None)
}

/// Restores the open meeting from `store`, or starts fresh. `config_setup` is the current
/// room configuration; `now_unix_ms` the wall clock now; `resume_window` how many recent
/// events to hand back.
pub fn restore(
    store: &mut Store,
    config_setup: &Setup,
    now_unix_ms: i64,
    resume_window: usize,
    mut warnings: Vec<String>,
) -> Restored {
    let next_meeting_id = store.next_meeting_id().unwrap_or_else(|e| {
        warnings.push(format!("cannot read the meeting ids ({e}); numbering from 1"));
        1
    });
    let next_run_id = store.next_run_id().unwrap_or_else(|e| {
        warnings.push(format!("cannot read the run ids ({e}); numbering from 1"));
        1
    });
    let stored = match store.open_run() {
        Ok(Some(stored)) => stored,
        Ok(None) => return Restored::fresh(config_setup.clone(), next_meeting_id, next_run_id, warnings),
        Err(e) => {
            warnings.push(format!("cannot read the run in progress ({e}); starting without it"));
            return Restored::fresh(config_setup.clone(), next_meeting_id, next_run_id, warnings);
        }
    };
    let id = stored.info.id;
    let meeting = match store.open_meeting() {
        Ok(meeting) => meeting.filter(|m| m.run_id == id),
        Err(e) => {
            warnings.push(format!("cannot read the open meeting ({e}); the floor is restored without it"));
            None
        }
    };
    let mut report = RecoveryReport {
        run_id: Some(id),
        meeting_id: meeting.as_ref().map(|m| m.id),
        ..RecoveryReport::default()
    };

    let setup = match serde_json::from_str::<Setup>(&stored.setup) {
        Ok(setup) => setup,
        Err(e) => {
            warnings.push(format!(
                "run {id}: its stored setup is unreadable ({e}); using the current configuration"
            ));
            config_setup.clone()
        }
    };
    if setup != *config_setup {
        report.setup_changed = true;
        warnings.push(format!(
            "the room configuration changed since run {id} started ({}); {}",
            describe_change(&setup, config_setup),
            if meeting.is_some() {
                "the open meeting continues with the setup it opened with, the new configuration applies once it is closed"
            } else {
                "the floor starts afresh with the new configuration"
            }
        ));
    }

    let mut checkpoints: Vec<(u64, FloorState)> = Vec::new();
    match store.checkpoints(id) {
        Ok(rows) => {
            for (seq, json) in rows {
                match serde_json::from_str::<FloorState>(&json) {
                    Ok(state) if state.seq == seq => checkpoints.push((seq, state)),
                    Ok(state) => warnings
                        .push(format!("run {id}: checkpoint {seq} holds state {}; skipped", state.seq)),
                    Err(e) => {
                        warnings.push(format!("run {id}: checkpoint {seq} is unreadable ({e}); skipped"))
                    }
                }
            }
        }
        Err(e) => warnings.push(format!("run {id}: cannot read its checkpoints ({e})")),
    }
    let last_stored = store.last_event_seq(id).ok().flatten().unwrap_or(stored.info.first_seq);
    let Some(newest) = checkpoints.first().map(|(seq, _)| *seq) else {
        warnings.push(format!(
            "run {id} has no readable checkpoint and cannot be restored; it is sealed (with its open meeting) \
             and the room starts fresh"
        ));
        let floor = Floor::new(config_setup.clone());
        let mut fresh = Restored::fresh(config_setup.clone(), next_meeting_id, next_run_id, warnings);
        if let Some(meeting) = &meeting {
            fresh.pending.push(Record::MeetingClose {
                meeting_id: meeting.id,
                closed_unix_ms: now_unix_ms,
                last_seq: last_stored,
            });
        }
        fresh.pending.push(Record::RunSeal {
            run_id: id,
            sealed_unix_ms: now_unix_ms,
            last_seq: last_stored,
            state: Box::new(floor.state().clone()),
        });
        return fresh;
    };

    // Load from the newest checkpoint, or earlier to fill the resume window.
    let window_start = last_stored.saturating_sub(resume_window as u64).max(stored.info.first_seq);
    let mut loaded_from = newest.min(window_start);
    let raws = store.events_after(id, loaded_from).unwrap_or_else(|e| {
        warnings.push(format!("run {id}: cannot read its events ({e})"));
        Vec::new()
    });
    let (mut events, mut problem) = load_events(raws, loaded_from);
    let (base_seq, base_state) = loop {
        let good_through = events.last().map_or(loaded_from, |e| e.seq);
        let Some((seq, state)) = checkpoints.iter().find(|(seq, _)| *seq <= good_through) else {
            // Every checkpoint lies past the damage: the opening checkpoint is at first_seq,
            // so this only happens if the opening checkpoint itself was unreadable.
            break (loaded_from, None);
        };
        if *seq >= loaded_from {
            break (*seq, Some(state.clone()));
        }
        // The usable checkpoint is older than what was loaded: load from there.
        loaded_from = *seq;
        let raws = store.events_after(id, loaded_from).unwrap_or_default();
        (events, problem) = load_events(raws, loaded_from);
    };
    let Some(base_state) = base_state else {
        warnings.push(format!("run {id}: no checkpoint before the damaged part; starting fresh"));
        return Restored::fresh(config_setup.clone(), next_meeting_id, next_run_id, warnings);
    };
    let good_through = events.last().map_or(loaded_from, |e| e.seq).max(base_seq);
    if let Some(problem) = problem {
        let lost = last_stored.saturating_sub(good_through);
        warnings.push(format!(
            "meeting {id}: {problem}; recovered up to event {good_through}, {lost} later event(s) discarded"
        ));
        report.discarded_events = lost;
        if let Err(e) = store.discard_after(id, good_through) {
            warnings.push(format!("run {id}: cannot remove the damaged events ({e})"));
        }
    }

    let mut floor = Floor::restore(setup, base_state);
    let mut replayed = 0u64;
    for event in events.iter().filter(|e| e.seq > base_seq) {
        floor.replay(event);
        replayed += 1;
    }
    // The one piece of state not in the events: the open secret vote's urn.
    let open_secret = floor
        .state()
        .vote
        .as_ref()
        .filter(|v| v.result.is_none() && v.kind == podium_floor::vote::VoteKind::Secret)
        .map(|v| v.id);
    if let Some(vote) = open_secret {
        let restored = store
            .urn_counts(id, vote)
            .map_err(|e| format!("cannot read its urn ({e})"))
            .and_then(|counts| floor.restore_urn(vote, counts));
        match restored {
            Ok(()) => report.urn_restored = Some(vote),
            Err(why) => {
                let message = format!(
                    "SECRET VOTE {vote} CANNOT BE COUNTED: {why}; do not close it (the result would be \
                     wrong): cancel it and vote again"
                );
                warnings.push(message.clone());
                report.urn_refused = Some(message);
            }
        }
    }
    if let Err(broken) = floor.check_invariants() {
        warnings.push(format!("run {id}: the restored floor breaks an invariant: {broken}"));
    }

    // The clock rule (see the module documentation).
    let (anchor_mono, anchor_unix) = events
        .last()
        .map_or((stored.opened_mono_ms, stored.info.opened_unix_ms), |e| (e.at.mono_ms.0, e.at.unix_ms));
    let since = now_unix_ms.saturating_sub(anchor_unix);
    report.since_last_event_ms = Some(since);
    report.wall_clock_went_back = since < 0;
    if since < 0 {
        warnings.push(format!(
            "the wall clock is {} ms behind the last stored event; the downtime is counted as zero",
            -since
        ));
    }
    let origin = anchor_mono.saturating_add(u64::try_from(since).unwrap_or(0));

    let recent_from = good_through.saturating_sub(resume_window as u64);
    let recent: Vec<Event> = events.into_iter().filter(|e| e.seq > recent_from).collect();
    let meeting = meeting.map(|mut info| {
        info.last_seq = good_through.max(info.first_seq);
        info.events = info.last_seq - info.first_seq;
        info
    });
    report.restored_seq = floor.state().seq;
    report.checkpoint_seq = Some(base_seq);
    report.replayed_events = replayed;
    report.clock_origin_ms = origin;
    report.warnings = warnings;
    Restored {
        floor,
        clock_origin_ms: origin,
        recent,
        run: Some(stored.info),
        meeting,
        next_meeting_id,
        next_run_id,
        checkpoint_seq: base_seq,
        report,
        pending: Vec::new(),
    }
}

/// A short description of how two setups differ, for the warning.
fn describe_change(old: &Setup, new: &Setup) -> String {
    let mut parts = Vec::new();
    if old.seats != new.seats {
        parts.push(format!("seats {} → {}", old.seats.len(), new.seats.len()));
    }
    if old.participants != new.participants {
        parts.push(format!("members {} → {}", old.participants.len(), new.participants.len()));
    }
    if old.profile != new.profile {
        parts.push("discussion rules".to_owned());
    }
    if parts.is_empty() { "details".to_owned() } else { parts.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::store::RunInfo;
    use crate::journal::{JournalLocation, MeetingInfo};
    use podium_floor::{Actor, Command, Profile, RequestKind, SeatSetup, Station, Timestamp};

    fn setup() -> Setup {
        Setup {
            voting: Default::default(),
            presentation_sources: Vec::new(),
            seats: (1..=4)
                .map(|n| SeatSetup {
                    number: n,
                    label: n.to_string(),
                    default_participant: None,
                    position: None,
                })
                .collect(),
            participants: Vec::new(),
            profile: Profile::default(),
        }
    }

    /// A journal with one run in progress and no meeting: requests from seats 1..=n at
    /// mono 1000·k, unix 10⁶ + 1000·k.
    fn journal(n: u16) -> (tempfile::TempDir, Store, Floor) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut store, _) =
            Store::open(&JournalLocation::File(dir.path().join("j.sqlite3")), 0).expect("open");
        let mut floor = Floor::new(setup());
        let run = RunInfo { id: 1, room_id: "r".into(), opened_unix_ms: 1_000_000, first_seq: 0 };
        let open = Record::RunStart {
            run,
            opened_mono_ms: 0,
            setup: Box::new(setup()),
            state: Box::new(floor.state().clone()),
        };
        store.write(&[&open]).expect("start run");
        for seat in 1..=n {
            let command = Command::Request {
                station: Station::Seat(seat),
                kind: RequestKind::Ordinary,
                stance: None,
                raised_at: None,
            };
            let k = u64::from(seat);
            let at = Timestamp::new(1000 * k, 1_000_000 + 1000 * k as i64);
            let events = floor.handle(&command, &Actor::Chair, at).expect("ok");
            let record = Record::Events { run_id: 1, events, command: None, checkpoint: None };
            store.write(&[&record]).expect("events");
        }
        (dir, store, floor)
    }

    #[test]
    fn the_clock_continues_by_the_wall_clock_time_that_passed() {
        let (_dir, mut store, floor) = journal(3);
        // Last event at mono 3000, unix 1_003_000; now 5 s later on the wall clock.
        let restored = restore(&mut store, &setup(), 1_008_000, 100, Vec::new());
        assert_eq!(restored.floor.state(), floor.state());
        assert_eq!(restored.clock_origin_ms, 8000);
        assert_eq!(restored.report.since_last_event_ms, Some(5000));
        assert!(!restored.report.wall_clock_went_back);
        assert!(restored.report.warnings.is_empty(), "{:?}", restored.report.warnings);
    }

    #[test]
    fn a_wall_clock_behind_the_record_counts_no_downtime() {
        let (_dir, mut store, _) = journal(3);
        let restored = restore(&mut store, &setup(), 900_000, 100, Vec::new());
        assert_eq!(restored.clock_origin_ms, 3000, "timers continue where they stood, never backwards");
        assert!(restored.report.wall_clock_went_back);
        assert!(restored.report.warnings.iter().any(|w| w.contains("behind")));
    }

    #[test]
    fn an_unreadable_record_ends_the_recovery_and_the_rest_is_removed() {
        let (dir, store, _) = journal(4);
        drop(store);
        let conn = rusqlite::Connection::open(dir.path().join("j.sqlite3")).expect("open");
        conn.execute("UPDATE event SET change = 'not json' WHERE seq = 3", []).expect("damage");
        drop(conn);
        let (mut store, _) =
            Store::open(&JournalLocation::File(dir.path().join("j.sqlite3")), 0).expect("open");
        let restored = restore(&mut store, &setup(), 1_004_000, 100, Vec::new());
        assert_eq!(restored.floor.state().seq, 2);
        assert_eq!(restored.floor.state().requests.len(), 2);
        assert_eq!(restored.report.discarded_events, 2);
        assert!(restored.report.warnings.iter().any(|w| w.contains("event 3 is unreadable")));
        assert_eq!(store.last_event_seq(1).expect("seq"), Some(2), "the damaged tail is removed");
        assert_eq!(restored.recent.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn a_checkpoint_shortens_the_replay_and_a_bad_one_is_skipped() {
        let (dir, mut store, floor) = journal(4);
        // A checkpoint after event 3, written as the owner would (state after event 3).
        let mut at_three = Floor::new(setup());
        for event in store.events_after(1, 0).expect("events").iter().take(3) {
            at_three.replay(&event.parse().expect("event"));
        }
        let record = Record::Events {
            run_id: 1,
            events: Vec::new(),
            command: None,
            checkpoint: Some(Box::new(at_three.state().clone())),
        };
        store.write(&[&record]).expect("checkpoint");
        let restored = restore(&mut store, &setup(), 1_004_000, 100, Vec::new());
        assert_eq!((restored.report.checkpoint_seq, restored.report.replayed_events), (Some(3), 1));
        assert_eq!(restored.floor.state(), floor.state());
        // Damage the checkpoint: the opening state is used instead, with a warning.
        drop(store);
        let conn = rusqlite::Connection::open(dir.path().join("j.sqlite3")).expect("open");
        conn.execute("UPDATE checkpoint SET state = '{' WHERE seq = 3", []).expect("damage");
        drop(conn);
        let (mut store, _) =
            Store::open(&JournalLocation::File(dir.path().join("j.sqlite3")), 0).expect("open");
        let restored = restore(&mut store, &setup(), 1_004_000, 100, Vec::new());
        assert_eq!((restored.report.checkpoint_seq, restored.report.replayed_events), (Some(0), 4));
        assert_eq!(restored.floor.state(), floor.state());
        assert!(restored.report.warnings.iter().any(|w| w.contains("checkpoint 3 is unreadable")));
    }

    #[test]
    fn a_meeting_open_in_the_run_is_restored_with_its_span() {
        let (_dir, mut store, floor) = journal(2);
        let info = MeetingInfo::opening(5, 1, "Rat".into(), "r".into(), 1_002_500, 2);
        let open = Record::MeetingOpen { info, agenda: None, state: Box::new(floor.state().clone()) };
        store.write(&[&open]).expect("open meeting");
        let restored = restore(&mut store, &setup(), 1_003_000, 100, Vec::new());
        let meeting = restored.meeting.expect("the open meeting");
        assert_eq!((meeting.id, meeting.first_seq, meeting.last_seq), (5, 2, 2));
        assert_eq!(restored.report.meeting_id, Some(5));
        assert_eq!(restored.run.map(|r| r.id), Some(1));
        assert_eq!(restored.floor.state(), floor.state());
    }

    #[test]
    fn a_sealed_run_is_not_restored() {
        let (_dir, mut store, floor) = journal(2);
        let seal = Record::RunSeal {
            run_id: 1,
            sealed_unix_ms: 1_003_000,
            last_seq: 2,
            state: Box::new(floor.state().clone()),
        };
        store.write(&[&seal]).expect("seal");
        let restored = restore(&mut store, &setup(), 1_003_000, 100, Vec::new());
        assert_eq!(restored.run, None);
        assert_eq!(restored.floor.state().seq, 0);
        assert_eq!(restored.next_run_id, 2);
    }

    #[test]
    fn a_file_that_is_not_a_journal_is_moved_aside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.sqlite3");
        std::fs::write(&path, vec![0x42u8; 8192]).expect("garbage");
        let (mut store, warnings) = Store::open(&JournalLocation::File(path.clone()), 77).expect("open");
        assert!(warnings.iter().any(|w| w.contains("moved to")), "{warnings:?}");
        assert!(dir.path().join("j.sqlite3.damaged-77").exists());
        let restored = restore(&mut store, &setup(), 0, 100, Vec::new());
        assert_eq!(restored.meeting, None);
    }
}
