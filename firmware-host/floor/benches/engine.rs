//! Benchmark (not a test): the engine at the scale of a large assembly. A room of 1,500
//! seats and 1,500 members, a list of 250 requests and one open delegate microphone;
//! the latency of typical commands (`Floor::handle`, which validates, emits and applies
//! each event through `FloorState::apply`), sustained commands/s with and without what
//! the daemon's owner does after every command (publish a snapshot, make the state its
//! own again), the snapshot itself and its size for a console (JSON, gzip), and `replay`
//! of 100,000 events. Then the same sustained mix at 40, 1,500 and 15,000 seats (30
//! requests waiting), to show how a change's cost grows with the room. Beside them,
//! measured in the same run: one loopback TCP round trip, the least any client of the
//! daemon waits for an answer.
//!
//! Run: `cargo bench -p podium-floor --bench engine` (add `-- --seconds 5` for a longer
//! throughput run).

#[path = "../../../tests/bench/report.rs"]
mod report;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use podium_floor::{
    Activation, Actor, Change, Command, Event, Floor, Limits, Mode, OnExpiry, Participant, Profile,
    RequestKind, Role, SeatNo, SeatSetup, Setup, SpeakingTime, Station, Timestamp,
};
use report::{Kind, Report};

const SEATS: SeatNo = 1_500;
const LIST: usize = 250;
/// The rooms of the scaling rows, and their list (the smallest room must hold it).
const SCALES: [SeatNo; 3] = [40, 1_500, 15_000];
const SCALE_LIST: usize = 30;
const SAMPLES: usize = 10_000;
const REPLAY_EVENTS: usize = 100_000;

/// `seats` seats, each with its member (seat 1: the chair), eight groups; request mode,
/// one open delegate microphone, room for 250 requests, five minutes per turn.
fn setup(seats: SeatNo) -> Setup {
    let count = seats;
    let seats = (1..=count)
        .map(|n| SeatSetup {
            number: n,
            label: n.to_string(),
            default_participant: Some(format!("m{n}")),
            position: None,
        })
        .collect();
    let participants = (1..=count)
        .map(|n| Participant {
            id: format!("m{n}"),
            name: format!("Member {n}"),
            group: Some(format!("group {}", n % 8)),
            role: if n == 1 { Role::Chair } else { Role::Member },
            remote_allowed: true,
            voting_right: true,
            nonpublic_allowed: true,
        })
        .collect();
    let profile = Profile {
        mode: Mode::Request,
        activation: Activation::Toggle,
        limits: Limits {
            max_open_microphones: 1,
            max_requests: LIST as u16,
            members_may_cancel: true,
            members_may_switch_off: true,
            point_of_order_when_closed: true,
        },
        speaking_time: SpeakingTime { turn_limit_s: Some(300), warning_s: 30, on_expiry: OnExpiry::Continue },
        podium_seat: None,
    };
    Setup { seats, participants, profile, voting: Default::default(), presentation_sources: Vec::new() }
}

/// The floor, its clock and the seats that neither wait nor speak.
struct Room {
    floor: Floor,
    ms: u64,
    idle: VecDeque<SeatNo>,
    /// Every event, when recording for the replay.
    log: Option<Vec<Event>>,
    /// The last snapshot, kept as the daemon's watch keeps it (so the next change copies).
    published: Option<podium_floor::Snapshot>,
    /// Requests waiting between rounds.
    list: usize,
}

impl Room {
    /// 1,500 seats: seat 2 speaks; seats 3 to 252 wait (250 requests).
    fn new(record: bool) -> Self {
        Self::sized(SEATS, LIST, record)
    }

    /// `seats` seats: seat 2 speaks, the next `list` seats wait.
    fn sized(seats: SeatNo, list: usize, record: bool) -> Self {
        let log = record.then(Vec::new);
        let mut room = Room {
            floor: Floor::new(setup(seats)),
            ms: 0,
            idle: (2..=seats).collect(),
            log,
            published: None,
            list,
        };
        let first = room.take_idle();
        room.run(&Command::Grant { station: Station::Seat(first) }, &Actor::Chair);
        for _ in 0..list {
            room.request(RequestKind::Ordinary);
        }
        room.check(list);
        room
    }

    fn now(&mut self) -> Timestamp {
        self.ms += 1;
        Timestamp::new(self.ms, 1_780_000_000_000 + self.ms as i64)
    }

    fn take_idle(&mut self) -> SeatNo {
        self.idle.pop_front().expect("an idle seat")
    }

    /// Runs a command that must be accepted; returns its events.
    fn run(&mut self, command: &Command, actor: &Actor) -> Vec<Event> {
        let now = self.now();
        let events = self.floor.handle(command, actor, now).unwrap_or_else(|r| panic!("{command:?}: {r:?}"));
        if let Some(log) = &mut self.log {
            log.extend(events.iter().cloned());
        }
        events
    }

    /// Runs a command and returns how long `Floor::handle` took.
    fn timed(&mut self, command: &Command, actor: &Actor) -> Duration {
        let now = self.now();
        let started = Instant::now();
        let outcome = self.floor.handle(command, actor, now);
        let took = started.elapsed();
        let events = outcome.unwrap_or_else(|r| panic!("{command:?}: {r:?}"));
        assert!(!events.is_empty(), "{command:?} changed nothing");
        if let Some(log) = &mut self.log {
            log.extend(events);
        }
        took
    }

    fn request_command(seat: SeatNo, kind: RequestKind) -> (Command, Actor) {
        (
            Command::Request { station: Station::Seat(seat), kind, stance: None, raised_at: None },
            Actor::Station(Station::Seat(seat)),
        )
    }

    fn request(&mut self, kind: RequestKind) -> SeatNo {
        let seat = self.take_idle();
        let (command, actor) = Self::request_command(seat, kind);
        self.run(&command, &actor);
        seat
    }

    fn withdraw(&mut self, seat: SeatNo) {
        let station = Station::Seat(seat);
        self.run(&Command::Withdraw { station: station.clone() }, &Actor::Station(station));
        self.idle.push_back(seat);
    }

    fn speaker(&self) -> SeatNo {
        match self.floor.state().speakers.first().map(|s| &s.station) {
            Some(Station::Seat(n)) => *n,
            other => panic!("expected one seat speaking, found {other:?}"),
        }
    }

    fn seat_at(&self, index: usize) -> SeatNo {
        match &self.floor.state().requests[index].station {
            Station::Seat(n) => *n,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Seats that lost the floor in these events go back to the idle pool.
    fn release_closed(&mut self, events: &[Event]) {
        for event in events {
            if let Change::MicrophoneClosed { station: Station::Seat(n), .. } = &event.change {
                self.idle.push_back(*n);
            }
        }
    }

    fn check(&self, list: usize) {
        assert_eq!(self.floor.state().requests.len(), list, "list length");
        assert_eq!(self.floor.state().speakers.len(), 1, "one speaker");
        debug_assert!(self.floor.check_invariants().is_ok());
    }

    /// One round of a busy meeting at this scale; leaves the room as it found it (the
    /// list full, one speaking). Six commands.
    fn round(&mut self, snapshot_each: bool) -> usize {
        // As the session owner: publish a snapshot (it shares the state; the one it
        // replaces is dropped), then make the state its own again while idle, since the
        // published snapshot keeps the old one.
        let snap = |room: &mut Room| {
            if snapshot_each {
                room.published = Some(std::hint::black_box(room.floor.snapshot()));
                room.floor.prepare();
            }
        };
        // The chair gives the floor to the head of the list; the speaker's seat is free.
        let events = self.run(&Command::Next {}, &Actor::Chair);
        self.release_closed(&events);
        snap(&mut *self);
        // A request at the end, a withdrawal from the middle.
        self.request(RequestKind::Ordinary);
        snap(&mut *self);
        let middle = self.seat_at(self.list / 2);
        self.withdraw(middle);
        snap(&mut *self);
        // A point of order jumps the queue (the next round's *next* serves it).
        self.request(RequestKind::PointOfOrder);
        snap(&mut *self);
        // The chair closes the microphone and opens another directly.
        let speaker = self.speaker();
        let events = self.run(&Command::Stop { station: Station::Seat(speaker) }, &Actor::Chair);
        self.release_closed(&events);
        snap(&mut *self);
        let seat = self.take_idle();
        self.run(&Command::Grant { station: Station::Seat(seat) }, &Actor::Chair);
        snap(&mut *self);
        6
    }
}

fn main() {
    let seconds: u64 =
        std::env::args().skip_while(|a| a != "--seconds").nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let mut report = Report::new(
        "engine",
        "Engine: 1,500 seats, 250 requests waiting",
        "cargo bench -p podium-floor --bench engine",
    );

    // --- latency of single commands at scale --------------------------------------------
    let mut room = Room::new(false);

    // A request joins the end of the list (249 waiting before, 250 after).
    let last = room.seat_at(LIST - 1);
    room.withdraw(last);
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let seat = room.take_idle();
        let (command, actor) = Room::request_command(seat, RequestKind::Ordinary);
        samples.push(room.timed(&command, &actor));
        room.check(LIST);
        room.withdraw(seat);
    }
    report.distribution("request, added as the 250th", Kind::Podium, &mut samples);

    // A point of order from a new seat goes before the 249 ordinary requests.
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let seat = room.take_idle();
        let (command, actor) = Room::request_command(seat, RequestKind::PointOfOrder);
        samples.push(room.timed(&command, &actor));
        assert_eq!(room.seat_at(0), seat, "the point of order leads the list");
        room.withdraw(seat);
    }
    report.distribution("point of order, jumps 249 requests", Kind::Podium, &mut samples);
    room.request(RequestKind::Ordinary);
    room.check(LIST);

    // The member at position 125 of 250 withdraws (and asks again, untimed, at the end).
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let seat = room.seat_at(LIST / 2 - 1);
        let station = Station::Seat(seat);
        samples.push(room.timed(&Command::Withdraw { station: station.clone() }, &Actor::Station(station)));
        let (command, actor) = Room::request_command(seat, RequestKind::Ordinary);
        room.run(&command, &actor);
    }
    report.distribution("withdrawal from position 125 of 250", Kind::Podium, &mut samples);
    room.check(LIST);

    // The chair's *next*: the speaker is closed, the head of the list gets the floor.
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let speaker = room.speaker();
        samples.push(room.timed(&Command::Next {}, &Actor::Chair));
        // The closed speaker's seat is free again; refill the list to 250.
        room.idle.push_back(speaker);
        room.request(RequestKind::Ordinary);
        room.check(LIST);
    }
    let next_p50 = report
        .distribution("next: close speaker, grant head of 250", Kind::Podium, &mut samples)
        .expect("samples")
        .p50;

    // The chair closes the microphone, then opens another one directly.
    let (mut closes, mut opens) = (Vec::with_capacity(SAMPLES), Vec::with_capacity(SAMPLES));
    for _ in 0..SAMPLES {
        let speaker = room.speaker();
        closes.push(room.timed(&Command::Stop { station: Station::Seat(speaker) }, &Actor::Chair));
        room.idle.push_back(speaker);
        let seat = room.take_idle();
        opens.push(room.timed(&Command::Grant { station: Station::Seat(seat) }, &Actor::Chair));
        room.check(LIST);
    }
    report.distribution("microphone close (chair stops the speaker)", Kind::Podium, &mut closes);
    report.distribution("microphone open (chair grants a seat)", Kind::Podium, &mut opens);

    // --- the snapshot the daemon takes after every command ------------------------------
    let mut samples = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        let started = Instant::now();
        let snapshot = std::hint::black_box(room.floor.snapshot());
        samples.push(started.elapsed());
        drop(snapshot);
    }
    report.distribution(
        "Floor::snapshot (owner, after every change; shares the state)",
        Kind::Podium,
        &mut samples,
    );
    let mut samples = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        let published = room.floor.snapshot();
        let started = Instant::now();
        room.floor.prepare();
        samples.push(started.elapsed());
        drop(published);
    }
    let copy_p50 = report
        .distribution("copy of the state after a snapshot (owner, while idle)", Kind::Podium, &mut samples)
        .expect("samples")
        .p50;
    let mut samples = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        let started = Instant::now();
        let state = std::hint::black_box(room.floor.state().clone());
        samples.push(started.elapsed());
        drop(state);
    }
    report.distribution("FloorState clone (its changing part)", Kind::Podium, &mut samples);
    let snapshot = room.floor.snapshot();
    let mut samples = Vec::with_capacity(500);
    let mut bytes = 0;
    for _ in 0..500 {
        let started = Instant::now();
        let json = serde_json::to_vec(&snapshot).expect("serialise");
        samples.push(started.elapsed());
        bytes = json.len();
    }
    report.distribution("snapshot as JSON (GET /api/v1/state)", Kind::Podium, &mut samples);
    report.figure("snapshot JSON size", Kind::Podium, kib(bytes));
    // What a console that (re)loads receives when it accepts gzip (as podiumd compresses it).
    let json = serde_json::to_vec(&snapshot).expect("serialise");
    let mut samples = Vec::with_capacity(100);
    let mut gzipped = 0;
    for _ in 0..100 {
        let started = Instant::now();
        gzipped = gzip(&json).len();
        samples.push(started.elapsed());
    }
    report.distribution("snapshot JSON gzip (Accept-Encoding: gzip)", Kind::Podium, &mut samples);
    report.figure("snapshot gzip size", Kind::Podium, kib(gzipped));
    // The changing part alone, without the room's seats, participants and precedence.
    let floor_json = serde_json::to_vec(&snapshot.floor).expect("serialise");
    report.figure(
        "its changing part alone (`floor`): JSON, gzip",
        Kind::Podium,
        format!("{}, {}", kib(floor_json.len()), kib(gzip(&floor_json).len())),
    );

    // --- sustained throughput ------------------------------------------------------------
    let alone = sustained(SEATS, LIST, false, seconds);
    report.figure("sustained, engine alone (mix of the commands above)", Kind::Podium, rate(alone));
    let daemon = sustained(SEATS, LIST, true, seconds);
    report.figure("sustained, with a snapshot after each (as the daemon)", Kind::Podium, rate(daemon));
    report.figure(
        "as the daemon ÷ engine alone (per change)",
        Kind::Podium,
        format!("{:.2}×", alone / daemon),
    );

    // --- how a change's cost grows with the room ------------------------------------------
    let mut per_change = Vec::new();
    for seats in SCALES {
        let alone = sustained(seats, SCALE_LIST, false, seconds);
        let daemon = sustained(seats, SCALE_LIST, true, seconds);
        let members = format_thousands(seats);
        report.figure(
            &format!("{members} seats, {SCALE_LIST} waiting: engine alone"),
            Kind::Podium,
            rate(alone),
        );
        report.figure(
            &format!("{members} seats, {SCALE_LIST} waiting: as the daemon"),
            Kind::Podium,
            rate(daemon),
        );
        per_change.push((seats, 1e6 / daemon, alone / daemon));
    }
    let (small, _, _) = per_change[0];
    let (_, base, _) = per_change[0];
    for &(seats, micros, ratio) in &per_change[1..] {
        let log_growth = (seats as f64).log2() / (small as f64).log2();
        report.figure(
            &format!("as the daemon, per change: {} seats vs {}", format_thousands(seats), format_thousands(small)),
            Kind::Podium,
            format!("{:.2}× ({micros:.2} µs vs {base:.2} µs; log₂ n grows {log_growth:.2}×; {ratio:.2}× the engine alone)", micros / base),
        );
    }

    // --- replay ------------------------------------------------------------------------
    let mut room = Room::new(true);
    let initial = Floor::new(setup(SEATS));
    while room.log.as_ref().map_or(0, Vec::len) < REPLAY_EVENTS {
        room.round(false);
    }
    let log = room.log.take().expect("log");
    let mut samples = Vec::new();
    for _ in 0..5 {
        let mut floor = initial.clone();
        let started = Instant::now();
        for event in &log {
            floor.replay(event);
        }
        samples.push(started.elapsed());
        assert_eq!(floor.state(), room.floor.state(), "replay reproduces the state");
    }
    let name = format!("replay of {} events", log.len());
    let replay = report.distribution(&name, Kind::Podium, &mut samples).expect("samples");
    report.figure(
        "replay, per event",
        Kind::Podium,
        format!("{:.2} µs", replay.p50.as_secs_f64() * 1e6 / log.len() as f64),
    );

    // --- raw figures to compare with -----------------------------------------------------
    let mut samples = report::loopback_round_trips(2_000);
    report.distribution("raw: one loopback TCP round trip (64 bytes)", Kind::Limit, &mut samples);

    report.note(format!(
        "Set-up: {SEATS} seats, each with its member; {LIST} requests waiting (configurations allow at \
         most 200, so this is beyond any configured room) and one delegate speaking; request mode, one \
         open delegate microphone. Each latency is one `Floor::handle` call (authorise, validate, emit \
         and apply through `FloorState::apply`), {SAMPLES} samples, on the list at full length."
    ));
    report.note(
        "Sustained: rounds of next, request at the end, withdrawal from the middle, point of order, \
         stop, grant, one thread; \"as the daemon\" adds what the session owner does after every \
         command that changed something: the snapshot it publishes (sharing the state) and the \
         copy of the state it then makes while idle (the journal and the fan-out are not \
         included; see the journal and event-stream benchmarks).",
    );
    report.note(format!(
        "The state keeps what grows with the room (presence, seating, attendance, spoken times, \
         ballots) and the list and agenda in persistent collections (`imbl`): a snapshot shares \
         them, and the owner's copy after it (`Floor::prepare`) duplicates the state's top level \
         only ({:.2} µs, {:.0}% of the median command, next), while the change after it copies \
         the path to what it touches; the waiting list holds each request behind an `Arc`, so \
         that copying a chunk of it copies pointers. Scaling rows: the same mix with {SCALE_LIST} requests waiting at \
         40, 1,500 and 15,000 seats, each member at their seat; a change's cost as the daemon \
         compared with log₂ of the room's size. The limit row, a loopback TCP round trip \
         measured in the same run, is the least any client waits for an answer; the desk units' \
         wire time is in their own section.",
        copy_p50.as_secs_f64() * 1e6,
        100.0 * copy_p50.as_secs_f64() / next_p50.as_secs_f64()
    ));
    report.note(
        "Snapshot size: what `GET /api/v1/state` sends a console that (re)loads; podiumd \
         compresses it with gzip (fast level) when the client accepts it, as every browser \
         does. The changing part alone is what the room's fixed parts (seats, participants, \
         precedence) would leave.",
    );
    report.finish();
}

/// Sustained commands/s of the round's mix in a room of `seats` with `list` waiting,
/// with or without what the owner does after each change.
fn sustained(seats: SeatNo, list: usize, snapshot_each: bool, seconds: u64) -> f64 {
    let mut room = Room::sized(seats, list, false);
    let (mut commands, started) = (0usize, Instant::now());
    while started.elapsed() < Duration::from_secs(seconds) {
        for _ in 0..100 {
            commands += room.round(snapshot_each);
        }
    }
    let rate = commands as f64 / started.elapsed().as_secs_f64();
    room.check(list);
    rate
}

fn rate(per_second: f64) -> String {
    format!("{per_second:.0} commands/s ({:.2} µs each)", 1e6 / per_second)
}

fn kib(bytes: usize) -> String {
    format!("{:.0} KiB", bytes as f64 / 1024.0)
}

fn format_thousands(n: SeatNo) -> String {
    if n >= 1_000 { format!("{},{:03}", n / 1_000, n % 1_000) } else { n.to_string() }
}

/// Gzip at the fast level, as podiumd compresses `GET /api/v1/state`.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}
