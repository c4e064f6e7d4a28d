//! The Shure central unit's rules, sans-IO: fed the unit's lines, the floor Podium wants and
//! `now`; answers what to send, which changes were made at the unit, and when to wake.
//!
//! - **Learning the unit.** After every (re)connect the core sets the unit to `manual` (a
//!   key queues a request; only a controller opens microphones) and asks `mic_status`; the
//!   stream up to `mic_status_done` is the unit's state. Nothing else is sent before it.
//!   The status is asked again every `resync_every`, and whenever the unit ignored a
//!   command: it answers only when it acted, so a silent `mic_on` means our picture of it was
//!   wrong (or it refused: an unknown seat, its own speaker limit).
//! - **Making it match.** Whatever differs between the floor and the unit's lists as last
//!   seen is sent (`mic_on`, `mic_off`, `mic_request_on`, `mic_request_off`), each seat at
//!   most once until the unit confirms it or the answer deadline passes; a command the unit
//!   ignored waits `hold` before it is tried again.
//! - **Telling changes at the unit from its answers.** The unit reports a delegate's key
//!   with the same line as its answer to a controller, and adds lines of its own (`mic_on`
//!   of a waiting seat also sends `mic_request_off`). So a line that moves the unit *towards*
//!   the floor is an answer; a line that moves it *away* from the floor is a change made at
//!   the unit, and is reported (`poll_report`) for the daemon to turn into a command. The
//!   status stream after a connect reports nothing: a unit that restarted follows the
//!   floor, it does not stop the speakers.
//! - **Silence.** A status that does not end within `status_timeout` means the link is dead:
//!   `on_timeout` says so and the driver reconnects.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use super::super::{SeatChange, SeatReport, UnitFloor, UnitSeat};
use super::codec::{Command, Line, MicMode};

/// The core's timing and choices.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// Set the unit to `manual` after every connect (and back, if someone changes it).
    pub set_manual: bool,
    /// How long a command may go unanswered before the unit counts as having ignored it.
    pub answer: Duration,
    /// How long the status stream may take before the link counts as dead.
    pub status_timeout: Duration,
    /// How often the unit's state is read again while all is quiet.
    pub resync_every: Duration,
    /// How long an ignored command waits before it is sent again.
    pub hold: Duration,
}

impl Default for CoreSettings {
    fn default() -> Self {
        CoreSettings {
            set_manual: true,
            answer: Duration::from_secs(2),
            status_timeout: Duration::from_secs(10),
            resync_every: Duration::from_secs(30),
            hold: Duration::from_secs(5),
        }
    }
}

/// Counters since start, for the technician.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoreCounters {
    /// Commands sent.
    pub sent: u64,
    /// Commands the unit confirmed with its answer.
    pub confirmed: u64,
    /// Commands the unit did not act on within the answer deadline.
    pub ignored: u64,
    /// Changes made at the unit (keys, the chair, its web page), reported.
    pub changes_at_unit: u64,
    /// `command_error` answers.
    pub command_errors: u64,
    /// Lines that did not fit their verb, or were too long.
    pub malformed: u64,
    /// Status streams completed.
    pub status_reads: u64,
}

/// The link is silent: the status stream did not end in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum List {
    Mic,
    Request,
}

/// A status stream in progress.
#[derive(Debug, Clone)]
struct Dump {
    asked_at: Instant,
    floor: UnitFloor,
}

/// The core of one connection to one central unit.
#[derive(Debug, Clone)]
pub struct DcsCore {
    settings: CoreSettings,
    desired: UnitFloor,
    /// The unit's lists as last seen; meaningful once `synced`.
    seen: UnitFloor,
    synced: bool,
    dump: Option<Dump>,
    next_status: Option<Instant>,
    /// Sent and not yet confirmed: (seat, list) → (wanted, when sent).
    pending: BTreeMap<(UnitSeat, List), (bool, Instant)>,
    /// Ignored by the unit: not again before.
    hold: BTreeMap<(UnitSeat, List), Instant>,
    outbox: VecDeque<Command>,
    reports: VecDeque<SeatReport>,
    /// Seats whose unit the central unit reports passive (lost).
    passive: BTreeSet<UnitSeat>,
    mode: Option<MicMode>,
    counters: CoreCounters,
    problem: Option<String>,
}

impl DcsCore {
    /// A core for a link not yet connected.
    pub fn new(settings: CoreSettings) -> Self {
        DcsCore {
            settings,
            desired: UnitFloor::default(),
            seen: UnitFloor::default(),
            synced: false,
            dump: None,
            next_status: None,
            pending: BTreeMap::new(),
            hold: BTreeMap::new(),
            outbox: VecDeque::new(),
            reports: VecDeque::new(),
            passive: BTreeSet::new(),
            mode: None,
            counters: CoreCounters::default(),
            problem: None,
        }
    }

    /// The link is (re)established: forget what the unit showed, set its mode, read it.
    pub fn connected(&mut self, now: Instant) {
        self.seen = UnitFloor::default();
        self.synced = false;
        self.pending.clear();
        self.hold.clear();
        self.outbox.clear();
        self.passive.clear();
        self.mode = None;
        if self.settings.set_manual {
            self.outbox.push_back(Command::Mode(MicMode::Manual));
        }
        self.ask_status(now);
    }

    /// What Podium wants the unit to show.
    pub fn set_desired(&mut self, floor: UnitFloor) {
        self.desired = floor;
    }

    /// The unit's lists as last seen (empty until the first status is complete).
    pub fn seen(&self) -> &UnitFloor {
        &self.seen
    }

    /// Whether the unit's state has been read since the last connect.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// The unit's discussion mode as it last reported it.
    pub fn mode(&self) -> Option<MicMode> {
        self.mode
    }

    /// Seats whose unit the central unit reports lost.
    pub fn passive(&self) -> &BTreeSet<UnitSeat> {
        &self.passive
    }

    /// Counters since start.
    pub fn counters(&self) -> &CoreCounters {
        &self.counters
    }

    /// The last problem worth showing the technician, once.
    pub fn take_problem(&mut self) -> Option<String> {
        self.problem.take()
    }

    /// A line too long to keep came in (the driver's framing dropped it).
    pub fn overlong(&mut self) {
        self.counters.malformed += 1;
        self.problem = Some("the unit sent a line too long to be one of its messages".into());
    }

    fn ask_status(&mut self, now: Instant) {
        self.outbox.push_back(Command::Status);
        self.dump = Some(Dump { asked_at: now, floor: UnitFloor::default() });
        self.next_status = None;
    }

    /// Takes in one line from the unit (without its terminator).
    pub fn receive(&mut self, text: &str, now: Instant) {
        let line = match Line::parse(text) {
            Ok(line) => line,
            Err(_) => {
                self.counters.malformed += 1;
                self.problem = Some(format!(
                    "the unit sent a malformed line: {:?}",
                    text.chars().take(80).collect::<String>()
                ));
                return;
            }
        };
        let (seat, list, on) = match line {
            Line::MicOn(s) => (s, List::Mic, true),
            Line::MicOff(s) => (s, List::Mic, false),
            Line::RequestOn(s) => (s, List::Request, true),
            Line::RequestOff(s) => (s, List::Request, false),
            Line::Seat { seat, active, .. } => {
                if active {
                    self.passive.remove(&seat);
                } else {
                    self.passive.insert(seat);
                }
                return;
            }
            Line::Mode(mode) => {
                self.mode = Some(mode);
                // Someone set another mode at the unit: its keys would open microphones
                // without the floor. Set it back (not during the status: it comes anyway).
                if self.settings.set_manual && mode != MicMode::Manual && self.dump.is_none() {
                    self.outbox.push_back(Command::Mode(MicMode::Manual));
                    self.problem =
                        Some(format!("the unit was set to `{}`; set back to `manual`", mode.word()));
                }
                return;
            }
            Line::StatusDone => {
                if let Some(dump) = self.dump.take() {
                    self.seen = dump.floor;
                    self.synced = true;
                    self.pending.clear();
                    self.counters.status_reads += 1;
                    self.next_status = Some(now + self.settings.resync_every);
                }
                return;
            }
            Line::CommandError(text) => {
                self.counters.command_errors += 1;
                self.problem = Some(format!("the unit answered command_error {text}"));
                return;
            }
            Line::Setting { .. } | Line::Other(_) => return,
        };
        if let Some(dump) = &mut self.dump {
            set(&mut dump.floor, list, seat, on);
        }
        if !self.synced {
            return;
        }
        let was = contains(&self.seen, list, seat);
        set(&mut self.seen, list, seat, on);
        if self.pending.get(&(seat, list)).is_some_and(|(want, _)| *want == on) {
            self.pending.remove(&(seat, list));
            self.counters.confirmed += 1;
        }
        let wanted = contains(&self.desired, list, seat);
        if was != on && wanted != on {
            self.counters.changes_at_unit += 1;
            let change = match (list, on) {
                (List::Mic, true) => SeatChange::MicOn,
                (List::Mic, false) => SeatChange::MicOff,
                (List::Request, true) => SeatChange::RequestOn,
                (List::Request, false) => SeatChange::RequestOff,
            };
            self.reports.push_back(SeatReport { seat, change });
        }
    }

    /// A change made at the unit, for the daemon to turn into a floor command.
    pub fn poll_report(&mut self) -> Option<SeatReport> {
        self.reports.pop_front()
    }

    /// The next command to send, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Command> {
        if let Some(command) = self.outbox.pop_front() {
            self.counters.sent += 1;
            return Some(command);
        }
        if !self.synced || self.dump.is_some() {
            return None;
        }
        let (want, seen) = (&self.desired, &self.seen);
        let differences = [
            (List::Mic, true, want.speakers.difference(&seen.speakers).copied().collect::<Vec<_>>()),
            (List::Mic, false, seen.speakers.difference(&want.speakers).copied().collect()),
            // A seat that is to speak leaves the request list by itself when it opens.
            (
                List::Request,
                false,
                seen.requests
                    .difference(&want.requests)
                    .filter(|s| !want.speakers.contains(s))
                    .copied()
                    .collect(),
            ),
            (
                List::Request,
                true,
                want.requests
                    .difference(&seen.requests)
                    .filter(|s| !seen.speakers.contains(s))
                    .copied()
                    .collect(),
            ),
        ];
        for (list, on, seats) in differences {
            for seat in seats {
                let key = (seat, list);
                if self.pending.contains_key(&key) || self.hold.get(&key).is_some_and(|until| *until > now) {
                    continue;
                }
                self.hold.remove(&key);
                self.pending.insert(key, (on, now));
                self.counters.sent += 1;
                return Some(match (list, on) {
                    (List::Mic, true) => Command::MicOn(seat),
                    (List::Mic, false) => Command::MicOff(seat),
                    (List::Request, true) => Command::RequestOn(seat),
                    (List::Request, false) => Command::RequestOff(seat),
                });
            }
        }
        None
    }

    /// When [`DcsCore::on_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let status = self.dump.as_ref().map(|d| d.asked_at + self.settings.status_timeout);
        let answer = self.pending.values().map(|(_, at)| *at + self.settings.answer).min();
        // A held command is due again only while it still differs; waking for it is cheap.
        let held = self.hold.values().min().copied();
        [status, answer, self.next_status, held].into_iter().flatten().min()
    }

    /// Deadlines that passed: a silent status ends the link; an ignored command is held and
    /// the unit read again; the periodic read starts.
    ///
    /// # Errors
    ///
    /// [`Silent`] when the status stream did not end in time: reconnect.
    pub fn on_timeout(&mut self, now: Instant) -> Result<(), Silent> {
        if self.dump.as_ref().is_some_and(|d| now >= d.asked_at + self.settings.status_timeout) {
            self.dump = None;
            return Err(Silent);
        }
        let expired: Vec<(UnitSeat, List)> = self
            .pending
            .iter()
            .filter(|(_, (_, at))| now >= *at + self.settings.answer)
            .map(|(k, _)| *k)
            .collect();
        if !expired.is_empty() {
            for key in &expired {
                self.pending.remove(key);
                self.hold.insert(*key, now + self.settings.hold);
                self.counters.ignored += 1;
            }
            let (seat, list) = expired[0];
            let what = if list == List::Mic { "microphone" } else { "request" };
            self.problem = Some(format!(
                "the unit did not act on seat {seat}'s {what} (an unknown seat, or its own limit); reading its state again"
            ));
            if self.dump.is_none() {
                self.ask_status(now);
            }
        }
        self.hold.retain(|_, until| *until > now);
        if self.next_status.is_some_and(|at| now >= at) && self.dump.is_none() {
            self.ask_status(now);
        }
        Ok(())
    }
}

fn contains(floor: &UnitFloor, list: List, seat: UnitSeat) -> bool {
    match list {
        List::Mic => floor.speakers.contains(&seat),
        List::Request => floor.requests.contains(&seat),
    }
}

fn set(floor: &mut UnitFloor, list: List, seat: UnitSeat, on: bool) {
    let set = match list {
        List::Mic => &mut floor.speakers,
        List::Request => &mut floor.requests,
    };
    if on {
        set.insert(seat);
    } else {
        set.remove(&seat);
    }
}

#[cfg(test)]
mod tests;
