//! The Shure central unit's rules, sans-IO: fed the unit's lines, the floor Podium wants and
//! `now`; answers what to send, which changes were made at the unit, and when to wake.
//!
//! - **Learning the unit.** After every (re)connect the core sets the unit to `manual` (a
//!   key queues a request; only a controller opens microphones) and asks `mic_status`; the
//!   stream up to `mic_status_done` is the unit's state. Nothing else is sent before it.
//!   The status is asked again every `resync_every`, and whenever the unit ignored a
//!   command: it answers only when it acted, so a silent `mic_on` means our picture of it was
//!   wrong (or it refused: an unknown seat, its own speaker limit).
//! - **Making it match, telling changes at the unit from its answers**: the shared
//!   [`Reconciler`] (`mic_on`, `mic_off`, `mic_request_on`, `mic_request_off`; the unit
//!   reports a delegate's key with the same line as its answer to a controller, and `mic_on`
//!   of a waiting seat also sends `mic_request_off`). A key pressed during a periodic status
//!   read still counts; the read after a connect reports nothing.
//! - **Silence.** A status that does not end within `status_timeout` means the link is dead:
//!   `on_timeout` says so and the driver reconnects.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use super::super::reconcile::{Reconciler, SeatList, ignored_problem};
use super::super::{SeatReport, UnitFloor, UnitSeat};
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
    /// The unit's seats Podium manages (`None`: all); the others are left alone.
    pub managed: Option<BTreeSet<UnitSeat>>,
}

impl Default for CoreSettings {
    fn default() -> Self {
        CoreSettings {
            set_manual: true,
            answer: Duration::from_secs(2),
            status_timeout: Duration::from_secs(10),
            resync_every: Duration::from_secs(30),
            hold: Duration::from_secs(5),
            managed: None,
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
    lists: Reconciler,
    dump: Option<Dump>,
    next_status: Option<Instant>,
    outbox: VecDeque<Command>,
    /// Seats whose unit the central unit reports passive (lost).
    passive: BTreeSet<UnitSeat>,
    mode: Option<MicMode>,
    /// Commands outside the reconciler (mode, status).
    sent_other: u64,
    command_errors: u64,
    malformed: u64,
    status_reads: u64,
    problem: Option<String>,
}

impl DcsCore {
    /// A core for a link not yet connected.
    pub fn new(settings: CoreSettings) -> Self {
        let lists = Reconciler::new(settings.answer, settings.hold);
        let lists = match &settings.managed {
            Some(seats) => lists.manage(seats.clone()),
            None => lists,
        };
        DcsCore {
            lists,
            settings,
            dump: None,
            next_status: None,
            outbox: VecDeque::new(),
            passive: BTreeSet::new(),
            mode: None,
            sent_other: 0,
            command_errors: 0,
            malformed: 0,
            status_reads: 0,
            problem: None,
        }
    }

    /// The link is (re)established: forget what the unit showed, set its mode, read it.
    pub fn connected(&mut self, now: Instant) {
        self.lists.reset();
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
        self.lists.set_desired(floor);
    }

    /// The unit's lists as last seen (empty until the first status is complete).
    pub fn seen(&self) -> &UnitFloor {
        self.lists.seen()
    }

    /// Whether the unit's state has been read since the last connect.
    pub fn synced(&self) -> bool {
        self.lists.synced()
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
    pub fn counters(&self) -> CoreCounters {
        let lists = self.lists.counters();
        CoreCounters {
            sent: lists.sent + self.sent_other,
            confirmed: lists.confirmed,
            ignored: lists.ignored,
            changes_at_unit: lists.changes_at_unit,
            command_errors: self.command_errors,
            malformed: self.malformed,
            status_reads: self.status_reads,
        }
    }

    /// The last problem worth showing the technician, once.
    pub fn take_problem(&mut self) -> Option<String> {
        self.problem.take()
    }

    /// A line too long to keep came in (the driver's framing dropped it).
    pub fn overlong(&mut self) {
        self.malformed += 1;
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
                self.malformed += 1;
                let shown: String = text.chars().take(80).collect();
                self.problem = Some(format!("the unit sent a malformed line: {shown:?}"));
                return;
            }
        };
        let (seat, list, on) = match line {
            Line::MicOn(s) => (s, SeatList::Mic, true),
            Line::MicOff(s) => (s, SeatList::Mic, false),
            Line::RequestOn(s) => (s, SeatList::Request, true),
            Line::RequestOff(s) => (s, SeatList::Request, false),
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
                    self.lists.read(dump.floor);
                    self.status_reads += 1;
                    self.next_status = Some(now + self.settings.resync_every);
                }
                return;
            }
            Line::CommandError(text) => {
                self.command_errors += 1;
                self.problem = Some(format!("the unit answered command_error {text}"));
                return;
            }
            Line::Setting { .. } | Line::Other(_) => return,
        };
        if let Some(dump) = &mut self.dump {
            let set = if list == SeatList::Mic { &mut dump.floor.speakers } else { &mut dump.floor.requests };
            if on {
                set.insert(seat);
            } else {
                set.remove(&seat);
            }
        }
        self.lists.update(seat, list, on, now);
    }

    /// A change made at the unit, for the daemon to turn into a floor command.
    pub fn poll_report(&mut self) -> Option<SeatReport> {
        self.lists.poll_report()
    }

    /// The next command to send, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Command> {
        if let Some(command) = self.outbox.pop_front() {
            self.sent_other += 1;
            return Some(command);
        }
        if self.dump.is_some() {
            return None;
        }
        let change = self.lists.next_change(now)?;
        Some(match (change.list, change.on) {
            (SeatList::Mic, true) => Command::MicOn(change.seat),
            (SeatList::Mic, false) => Command::MicOff(change.seat),
            (SeatList::Request, true) => Command::RequestOn(change.seat),
            (SeatList::Request, false) => Command::RequestOff(change.seat),
        })
    }

    /// When [`DcsCore::on_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let status = self.dump.as_ref().map(|d| d.asked_at + self.settings.status_timeout);
        [status, self.lists.poll_timeout(), self.next_status].into_iter().flatten().min()
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
        let expired = self.lists.expire(now);
        if let Some((seat, list)) = expired.first() {
            self.problem = Some(ignored_problem(*seat, *list));
            if self.dump.is_none() {
                self.ask_status(now);
            }
        }
        if self.next_status.is_some_and(|at| now >= at) && self.dump.is_none() {
            self.ask_status(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
