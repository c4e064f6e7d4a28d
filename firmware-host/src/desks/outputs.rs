//! Outputs are a function of the floor: every unit's lamps, microphone relay and display,
//! computed from the floor snapshot and the mapping. Pure: the same snapshot always gives
//! the same outputs, so after a reconnect or a restart the same call restores every lamp.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use podium_devices::modbus::bus::{BusOutputs, UnitOutputs};
use podium_devices::modbus::desk::{ChairDisplay, ChoiceLamp, DeskOutputs};
use podium_floor::{
    AttendancePlace, AttendanceStatus, CountsAs, Instant, Participant, SeatNo, Snapshot, Speaker, Station,
    VoteKind,
};

/// The snapshot with what the output function looks up for every unit indexed once: a
/// scan of the members, seats and lists per unit would make each change cost units ×
/// members (2.25 million comparisons with 1,500 seats), this costs one pass.
pub struct FloorIndex<'a> {
    /// The snapshot.
    pub snapshot: &'a Snapshot,
    participants: HashMap<&'a str, &'a Participant>,
    seat_labels: HashMap<SeatNo, &'a str>,
    /// The open microphone at each seat.
    speaking: HashMap<SeatNo, &'a Speaker>,
    /// Each seat's position in the list of speakers (0-based, the first if twice).
    positions: HashMap<SeatNo, usize>,
}

impl<'a> FloorIndex<'a> {
    /// Indexes `snapshot`.
    pub fn new(snapshot: &'a Snapshot) -> Self {
        let floor = &snapshot.floor;
        let seat = |station: &Station| match station {
            Station::Seat(seat) => Some(*seat),
            Station::Remote(_) => None,
        };
        let mut positions = HashMap::new();
        for (i, request) in floor.requests.iter().enumerate() {
            if let Some(seat) = seat(&request.station) {
                positions.entry(seat).or_insert(i);
            }
        }
        let mut speaking = HashMap::new();
        for speaker in &floor.speakers {
            if let Some(seat) = seat(&speaker.station) {
                speaking.entry(seat).or_insert(speaker);
            }
        }
        FloorIndex {
            snapshot,
            participants: snapshot.participants.iter().map(|p| (p.id.as_str(), p)).collect(),
            seat_labels: snapshot.seats.iter().map(|s| (s.number, s.label.as_str())).collect(),
            speaking,
            positions,
        }
    }

    fn participant(&self, id: &str) -> Option<&'a Participant> {
        self.participants.get(id).copied()
    }
}

use super::mapping::{DeskMap, UnitRole};
use crate::config::Signal;

/// Whether a secret vote is open: then nothing may show who pressed which vote key (the
/// protocol monitor withholds the desk buses' frames).
pub fn secret_vote_open(snapshot: &Snapshot) -> bool {
    snapshot.floor.vote.as_ref().is_some_and(|v| v.result.is_none() && v.kind == VoteKind::Secret)
}

/// What the floor says about one seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeatState {
    /// The seat's microphone is open.
    pub speaking: bool,
    /// Its speaking time is in the warning phase or over.
    pub time_warning: bool,
    /// Its request waits.
    pub requested: bool,
    /// It is first in the list.
    pub next_in_line: bool,
    /// 1-based position in the list, 0 if not waiting.
    pub list_position: u16,
    /// The vote lamps.
    pub vote: VoteLamps,
}

/// A seat's vote lamps: while a vote is open and the seat's occupant is checked in at this
/// seat with a vote (not excluded from the item), "vote" until they voted, then
/// "registered" and, in an open or roll-call vote, the choice. A secret vote never shows a
/// choice. Once the vote is closed or cancelled every vote lamp is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VoteLamps {
    /// May vote and has not yet.
    pub voting_open: bool,
    /// Has voted.
    pub registered: bool,
    /// The choice, for the choice lamps (open and roll-call votes; yes, no, abstain only).
    pub choice: Option<ChoiceLamp>,
}

impl VoteLamps {
    /// The lamps of `seat`.
    pub fn of(index: &FloorIndex<'_>, seat: SeatNo) -> Self {
        let floor = &index.snapshot.floor;
        let Some(vote) = floor.vote.as_ref().filter(|v| v.result.is_none()) else {
            return VoteLamps::default();
        };
        let Some(occupant) = floor.seated.get(&seat) else { return VoteLamps::default() };
        let here = floor.attendance.get(occupant).is_some_and(|a| {
            a.status == AttendanceStatus::Present && a.place == Some(AttendancePlace::Seat(seat))
        });
        let has_vote = index.participant(occupant).is_some_and(|p| p.voting_right);
        let excluded =
            vote.item.and_then(|i| floor.item(i)).is_some_and(|e| e.excluded.contains_key(occupant));
        if !here || !has_vote || excluded {
            return VoteLamps::default();
        }
        let Some(ballot) = vote.ballots.get(occupant) else {
            return VoteLamps { voting_open: true, ..VoteLamps::default() };
        };
        let choice = if vote.kind == VoteKind::Secret {
            None
        } else {
            let counts_as = ballot
                .choice
                .as_ref()
                .and_then(|c| vote.options.iter().find(|o| &o.id == c))
                .map(|o| o.counts_as);
            match counts_as {
                Some(CountsAs::Yes) => Some(ChoiceLamp::Yes),
                Some(CountsAs::No) => Some(ChoiceLamp::No),
                Some(CountsAs::Abstain) => Some(ChoiceLamp::Abstain),
                Some(CountsAs::Other) | None => None,
            }
        };
        VoteLamps { voting_open: false, registered: true, choice }
    }
}

impl SeatState {
    /// The seat's state.
    pub fn of(index: &FloorIndex<'_>, seat: SeatNo) -> Self {
        let speaker = index.speaking.get(&seat);
        let position = index.positions.get(&seat).copied();
        SeatState {
            speaking: speaker.is_some(),
            time_warning: speaker.is_some_and(|s| s.warned),
            requested: position.is_some(),
            next_in_line: position == Some(0),
            list_position: position.map_or(0, |p| u16::try_from(p + 1).unwrap_or(u16::MAX)),
            vote: VoteLamps::of(index, seat),
        }
    }

    fn signal(&self, signal: Signal) -> bool {
        match signal {
            Signal::Microphone | Signal::Speaking => self.speaking,
            Signal::Requested => self.requested,
            Signal::NextInLine => self.next_in_line,
            Signal::TimeWarning => self.time_warning,
            Signal::VotingOpen => self.vote.voting_open,
            Signal::VoteRegistered => self.vote.registered,
        }
    }
}

/// The name shown for a station: the participant's name, else the seat's label.
fn station_name(index: &FloorIndex<'_>, station: &Station, participant: Option<&String>) -> String {
    let by_id = |id: &String| index.participant(id).map(|p| p.name.clone());
    if let Some(name) = participant.and_then(by_id) {
        return name;
    }
    match station {
        Station::Seat(seat) => {
            let seated = index.snapshot.floor.seated.get(seat).and_then(by_id);
            let label = || index.seat_labels.get(seat).map(|l| (*l).to_owned());
            seated.or_else(label).unwrap_or_else(|| seat.to_string())
        }
        Station::Remote(id) => by_id(id).unwrap_or_else(|| id.clone()),
    }
}

/// Remaining seconds of a speaker's turn at engine time `now`, rounded up (negative
/// when over time); `None` without a limit.
pub fn remaining_s(speaker: &Speaker, now: Instant) -> Option<i32> {
    let budget = i64::try_from(speaker.budget_ms?).unwrap_or(i64::MAX);
    let spoken = i64::try_from(speaker.spoken_ms(now)).unwrap_or(i64::MAX);
    let left_ms = budget.saturating_sub(spoken);
    let seconds = left_ms.div_euclid(1000) + i64::from(left_ms.rem_euclid(1000) > 0);
    Some(seconds.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
}

/// The chair display rows.
fn chair_display(index: &FloorIndex<'_>, now: Instant) -> ChairDisplay {
    let floor = &index.snapshot.floor;
    // The current speaker is the latest delegate to get the floor (the chair's own
    // microphone is not "the speaker"); else whoever speaks.
    let current = floor.speakers.iter().rev().find(|s| !s.exempt).or_else(|| floor.speakers.last());
    ChairDisplay {
        current_speaker: current
            .map(|s| station_name(index, &s.station, s.participant.as_ref()))
            .unwrap_or_default(),
        remaining_s: current.and_then(|s| remaining_s(s, now)),
        someone_speaks: current.is_some(),
        open_microphones: u16::try_from(floor.open_delegate_microphones()).unwrap_or(u16::MAX),
    }
}

/// What a desk unit at `seat` shows.
pub fn desk_outputs(index: &FloorIndex<'_>, seat: SeatNo, chair: bool, now: Instant) -> DeskOutputs {
    let state = SeatState::of(index, seat);
    DeskOutputs {
        microphone: state.speaking,
        speaking: state.speaking,
        requested: state.requested,
        time_warning: state.time_warning,
        next_in_line: state.next_in_line,
        voting_open: state.vote.voting_open,
        vote_registered: state.vote.registered,
        choice: state.vote.choice,
        name: station_name(index, &Station::Seat(seat), None),
        list_position: state.list_position,
        requests_waiting: u16::try_from(index.snapshot.floor.requests.len()).unwrap_or(u16::MAX),
        chair: chair.then(|| chair_display(index, now)),
    }
}

/// Units whose lamps are being tested: every lamp on and blinking, the microphone relay
/// as the floor says (a test never opens a microphone).
pub type Testing = BTreeSet<(String, u8)>;

/// Every unit's desired outputs, per bus id, at engine time `now` (which only the chair
/// display's remaining time depends on).
pub fn desired_outputs(
    map: &DeskMap,
    snapshot: &Snapshot,
    now: Instant,
    testing: &Testing,
) -> BTreeMap<String, BusOutputs> {
    let index = FloorIndex::new(snapshot);
    let mut out = BTreeMap::new();
    for bus in &map.buses {
        let mut outputs = BusOutputs::new();
        for unit in &bus.units {
            let under_test = testing.contains(&(bus.config.id.clone(), unit.unit));
            let unit_outputs = match &unit.role {
                UnitRole::Desk { seat, chair } => {
                    let mut desk = desk_outputs(&index, *seat, *chair, now);
                    if under_test {
                        desk.speaking = true;
                        desk.requested = true;
                        desk.next_in_line = true;
                        desk.time_warning = true;
                    }
                    desk.unit_outputs()
                }
                UnitRole::Module { coils, key_seats, chair_keys } => {
                    // Priority as for desk units, by the keys wired to the module: the chair's,
                    // or those of a seat whose request waits or whose microphone is open. A
                    // module that only shows seats (no inputs) has no key to read sooner.
                    let priority = unit.layout.inputs.is_some()
                        && (*chair_keys
                            || key_seats.iter().any(|seat| {
                                let state = SeatState::of(&index, *seat);
                                state.speaking || state.requested
                            }));
                    let Some(block) = unit.layout.coils else {
                        if priority {
                            // Listed only to be polled with priority: no output block, no write.
                            outputs.insert(unit.unit, UnitOutputs { priority, ..UnitOutputs::default() });
                        }
                        continue;
                    };
                    let mut values = vec![false; usize::from(block.count)];
                    for (coil, seat, signal) in coils {
                        let on = if under_test && *signal != Signal::Microphone {
                            true
                        } else {
                            SeatState::of(&index, *seat).signal(*signal)
                        };
                        if let Some(slot) = values.get_mut(usize::from(coil - block.start)) {
                            *slot = on;
                        }
                    }
                    UnitOutputs { coils: values, registers: Vec::new(), priority }
                }
            };
            outputs.insert(unit.unit, unit_outputs);
        }
        out.insert(bus.config.id.clone(), outputs);
    }
    out
}

/// Whether the outputs change with time alone (a chair display counting down), so they
/// must be recomputed every second even without floor events.
pub fn ticks(map: &DeskMap, snapshot: &Snapshot) -> bool {
    let has_chair_unit =
        map.buses.iter().flat_map(|b| &b.units).any(|u| matches!(u.role, UnitRole::Desk { chair: true, .. }));
    has_chair_unit
        && snapshot.floor.speakers.iter().any(|s| s.budget_ms.is_some() && s.paused_since.is_none())
}
