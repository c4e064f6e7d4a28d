//! What every central unit's core shares, sans-IO: the unit's lists as last seen against
//! the floor Podium wants, what to change next, which changes were made at the unit, and
//! commands the unit did not act on.
//!
//! - **Making it match.** Whatever differs between the floor and the lists as last seen is
//!   changed, each seat at most once until the unit confirms it or the answer deadline
//!   passes; a change the unit did not make waits `hold` before it is tried again.
//! - **Telling changes at the unit from its answers.** A unit reports a delegate's key the
//!   same way as its answer to a controller, and adds changes of its own (opening a waiting
//!   seat drops its request). So a change that moves the unit *towards* the floor is an
//!   answer; one that moves it *away* from the floor was made at the unit, and is reported
//!   for the daemon to turn into a command. A full read after a connect reports nothing: a
//!   unit that restarted follows the floor, it does not stop the speakers.
//! - **Letting the floor decide first.** A seat that was just reported is not corrected
//!   until the floor's answer changes what Podium wants there, or `answer` passes (the
//!   floor refused): otherwise the unit would flap back in the moment between the key and
//!   the floor's decision.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use super::{SeatChange, SeatReport, UnitFloor, UnitSeat};

/// One of a unit's two lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SeatList {
    /// Open microphones.
    Mic,
    /// Waiting requests.
    Request,
}

/// A change to make at the unit: the seat, the list, in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The unit's seat.
    pub seat: UnitSeat,
    /// Which list.
    pub list: SeatList,
    /// Into the list (on) or out of it.
    pub on: bool,
}

/// Counters since start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileCounters {
    /// Changes asked of the unit.
    pub sent: u64,
    /// Changes the unit confirmed.
    pub confirmed: u64,
    /// Changes the unit did not make within the answer deadline.
    pub ignored: u64,
    /// Changes made at the unit (keys, the chair, its web page), reported.
    pub changes_at_unit: u64,
}

/// The unit's lists against the floor.
#[derive(Debug, Clone)]
pub struct Reconciler {
    answer: Duration,
    hold_for: Duration,
    desired: UnitFloor,
    seen: UnitFloor,
    synced: bool,
    /// Asked and not yet confirmed: (seat, list) → (wanted, when asked).
    pending: BTreeMap<(UnitSeat, SeatList), (bool, Instant)>,
    /// Not made by the unit: not asked again before.
    hold: BTreeMap<(UnitSeat, SeatList), Instant>,
    /// Reported and not yet decided by the floor: not corrected before.
    deciding: BTreeMap<(UnitSeat, SeatList), Instant>,
    reports: VecDeque<SeatReport>,
    counters: ReconcileCounters,
    /// The seats Podium manages (`None`: all); the unit's other seats are left alone.
    managed: Option<BTreeSet<UnitSeat>>,
}

impl Reconciler {
    /// `answer`: how long a change may take; `hold`: how long an ignored one waits.
    pub fn new(answer: Duration, hold: Duration) -> Self {
        Reconciler {
            answer,
            hold_for: hold,
            desired: UnitFloor::default(),
            seen: UnitFloor::default(),
            synced: false,
            pending: BTreeMap::new(),
            hold: BTreeMap::new(),
            deciding: BTreeMap::new(),
            reports: VecDeque::new(),
            counters: ReconcileCounters::default(),
            managed: None,
        }
    }

    /// Only these seats are Podium's: the unit's other seats (another room on the same
    /// server, seats the room file does not map) are neither read, reported nor changed.
    pub fn manage(mut self, seats: BTreeSet<UnitSeat>) -> Self {
        self.managed = Some(seats);
        self
    }

    fn ours(&self, seat: UnitSeat) -> bool {
        self.managed.as_ref().is_none_or(|m| m.contains(&seat))
    }

    /// A new link: nothing is known of the unit until its next full read.
    pub fn reset(&mut self) {
        self.seen = UnitFloor::default();
        self.synced = false;
        self.pending.clear();
        self.hold.clear();
        self.deciding.clear();
    }

    /// What Podium wants the unit to show. A reported seat whose wish changed is decided.
    pub fn set_desired(&mut self, floor: UnitFloor) {
        let before = std::mem::replace(&mut self.desired, floor);
        let desired = &self.desired;
        self.deciding
            .retain(|(seat, list), _| contains(&before, *list, *seat) == contains(desired, *list, *seat));
    }

    /// The unit's lists as last seen.
    pub fn seen(&self) -> &UnitFloor {
        &self.seen
    }

    /// Whether the unit has been read since the last reset.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// Counters since start.
    pub fn counters(&self) -> &ReconcileCounters {
        &self.counters
    }

    /// A full read of the unit: its lists are `floor`. Reports nothing.
    pub fn read(&mut self, mut floor: UnitFloor) {
        if let Some(managed) = &self.managed {
            floor.speakers.retain(|s| managed.contains(s));
            floor.requests.retain(|s| managed.contains(s));
        }
        self.seen = floor;
        self.synced = true;
        self.pending.clear();
    }

    /// The unit says `seat` is (`on`) or is not in `list` (at `now`). Confirms what was
    /// asked; a change away from the floor is reported. Ignored before the first full read.
    pub fn update(&mut self, seat: UnitSeat, list: SeatList, on: bool, now: Instant) {
        if !self.synced || !self.ours(seat) {
            return;
        }
        let was = contains(&self.seen, list, seat);
        set(&mut self.seen, list, seat, on);
        // The unit did what Podium asked: an answer, even if the floor has moved on since
        // (then the next change corrects it).
        if self.pending.get(&(seat, list)).is_some_and(|(want, _)| *want == on) {
            self.pending.remove(&(seat, list));
            self.counters.confirmed += 1;
            return;
        }
        // A waiting seat the unit opened leaves its request list by itself: the opening is
        // the change, not a withdrawal.
        let opened = list == SeatList::Request && !on && self.seen.speakers.contains(&seat);
        if was != on && !opened && contains(&self.desired, list, seat) != on {
            self.counters.changes_at_unit += 1;
            let change = match (list, on) {
                (SeatList::Mic, true) => SeatChange::MicOn,
                (SeatList::Mic, false) => SeatChange::MicOff,
                (SeatList::Request, true) => SeatChange::RequestOn,
                (SeatList::Request, false) => SeatChange::RequestOff,
            };
            self.reports.push_back(SeatReport { seat, change });
            self.deciding.insert((seat, list), now + self.answer);
        }
    }

    /// The unit's whole lists as they are now (a unit that sends full lists on every
    /// change): each difference is an [`Reconciler::update`].
    pub fn update_all(&mut self, floor: &UnitFloor, now: Instant) {
        let seen = self.seen.clone();
        for (list, current, before) in [
            (SeatList::Mic, &floor.speakers, &seen.speakers),
            (SeatList::Request, &floor.requests, &seen.requests),
        ] {
            for seat in current.difference(before) {
                self.update(*seat, list, true, now);
            }
            for seat in before.difference(current) {
                self.update(*seat, list, false, now);
            }
        }
    }

    /// A change made at the unit, for the daemon to turn into a floor command.
    pub fn poll_report(&mut self) -> Option<SeatReport> {
        self.reports.pop_front()
    }

    /// The next change to ask of the unit (after its first read), recorded as asked.
    pub fn next_change(&mut self, now: Instant) -> Option<Change> {
        if !self.synced {
            return None;
        }
        let (want, seen) = (&self.desired, &self.seen);
        // Off before on: a unit at its own limit ignores an opening until a speaker is off.
        let differences = [
            (SeatList::Mic, false, seen.speakers.difference(&want.speakers).copied().collect::<Vec<_>>()),
            // A seat that is to speak leaves the request list by itself when it opens.
            (
                SeatList::Request,
                false,
                seen.requests
                    .difference(&want.requests)
                    .filter(|s| !want.speakers.contains(s))
                    .copied()
                    .collect(),
            ),
            (SeatList::Mic, true, want.speakers.difference(&seen.speakers).copied().collect()),
            (
                SeatList::Request,
                true,
                want.requests
                    .difference(&seen.requests)
                    .filter(|s| !seen.speakers.contains(s))
                    .copied()
                    .collect(),
            ),
        ];
        for (list, on, seats) in differences {
            for seat in seats.into_iter().filter(|s| self.managed.as_ref().is_none_or(|m| m.contains(s))) {
                let key = (seat, list);
                let waits = |m: &BTreeMap<(UnitSeat, SeatList), Instant>| {
                    m.get(&key).is_some_and(|until| *until > now)
                };
                if self.pending.contains_key(&key) || waits(&self.hold) || waits(&self.deciding) {
                    continue;
                }
                self.hold.remove(&key);
                self.pending.insert(key, (on, now));
                self.counters.sent += 1;
                return Some(Change { seat, list, on });
            }
        }
        None
    }

    /// The earliest deadline: an answer due, or a hold ending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let answer = self.pending.values().map(|(_, at)| *at + self.answer).min();
        [answer, self.hold.values().min().copied(), self.deciding.values().min().copied()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Changes whose answer is overdue: held, counted, returned (the caller reads the unit
    /// again: its picture of it was wrong, or the unit refused).
    pub fn expire(&mut self, now: Instant) -> Vec<(UnitSeat, SeatList)> {
        let expired: Vec<(UnitSeat, SeatList)> =
            self.pending.iter().filter(|(_, (_, at))| now >= *at + self.answer).map(|(k, _)| *k).collect();
        for key in &expired {
            self.pending.remove(key);
            self.hold.insert(*key, now + self.hold_for);
            self.counters.ignored += 1;
        }
        self.hold.retain(|_, until| *until > now);
        self.deciding.retain(|_, until| *until > now);
        expired
    }
}

fn contains(floor: &UnitFloor, list: SeatList, seat: UnitSeat) -> bool {
    match list {
        SeatList::Mic => floor.speakers.contains(&seat),
        SeatList::Request => floor.requests.contains(&seat),
    }
}

fn set(floor: &mut UnitFloor, list: SeatList, seat: UnitSeat, on: bool) {
    let set = match list {
        SeatList::Mic => &mut floor.speakers,
        SeatList::Request => &mut floor.requests,
    };
    if on {
        set.insert(seat);
    } else {
        set.remove(&seat);
    }
}

/// The words for a change the unit did not make, for the technician.
pub fn ignored_problem(seat: UnitSeat, list: SeatList) -> String {
    let what = if list == SeatList::Mic { "microphone" } else { "request" };
    format!(
        "the unit did not act on seat {seat}'s {what} (an unknown seat, or its own limit); reading its state again"
    )
}
