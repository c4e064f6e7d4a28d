//! The floor's state, and the one function that changes it: [`FloorState::apply`].

use imbl::{OrdMap, Vector};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::agenda::{AgendaEntry, CarryOver, ItemId, ItemStatus, MeetingPhase};
use crate::budget::BudgetState;
use crate::entries::{Presence, Request, Speaker};
use crate::outcome::{Change, Event};
use crate::setup::{ParticipantId, Profile, SeatNo, SpeakingTime};
use crate::station::Station;
use crate::vote::{Attendance, Quorum, Vote};

/// The whole changing state of the floor. Serialises as the snapshot's `floor` part.
//
// What grows with the room (members, seats, attendance, ballots) or with the meeting (the
// list, the agenda) is kept in persistent collections (`imbl`), the budget and the vote
// behind an `Arc`: a clone shares them, and a change copies only the path to what it
// touches (O(log n)). The owner publishes a snapshot after every change, which shares the
// state, so the next change clones it; with plain maps that clone copied all of it (~120 µs
// with 1,500 members). In JSON (and in the OpenAPI description) they are the same objects
// and arrays as before. (Plain comments, not doc comments: those become the API's text.)
//
// The waiting list holds each request behind an `Arc`: changing a shared chunk of the
// vector then copies pointers, not requests, and search it leaf by leaf
// (`request_position`), which is several times faster than its iterator.
//
// Change an `imbl::Vector` only with `insert`, `remove`, `push_back`, `get_mut` and
// `clear` (see `remove_request`, `item_mut`). Its `retain`, `iter_mut` and `sort_by` go
// through `FocusMut`, which in imbl 7.0.2 loses track of a vector of a few hundred
// elements (withdrawals from a list of 250 left the wrong request and corrupted the heap,
// found by the engine benchmark); `tests/rules.rs` keeps a long list honest, and
// clippy.toml forbids those methods (and `leaves_mut`); never write `for x in &mut vector`
// either, which takes the same path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FloorState {
    /// Sequence number of the last event applied (0: none yet).
    pub seq: u64,
    /// The discussion rules in force.
    pub profile: Profile,
    /// Whether the list of speakers takes new requests.
    pub list_open: bool,
    /// Waiting requests, in the order they will be served.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Request>))]
    pub requests: Vector<Arc<Request>>,
    /// Open microphones, in the order they opened.
    // A plain list: the profile bounds it to a few, whatever the size of the room.
    pub speakers: Vec<Speaker>,
    /// Where each participant is.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Presence>))]
    pub presence: OrdMap<ParticipantId, Presence>,
    /// Who sits at each occupied seat. In JSON an object keyed by the seat number as a
    /// string (JSON object keys are strings), e.g. `{"12": "mueller"}`.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub seated: OrdMap<SeatNo, ParticipantId>,
    /// Accumulated speaking time per participant (milliseconds, closed turns).
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, u64>))]
    pub spoken_ms_by_participant: OrdMap<ParticipantId, u64>,
    /// Accumulated speaking time per group (milliseconds, closed turns).
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, u64>))]
    pub spoken_ms_by_group: OrdMap<String, u64>,
    /// Id the next request gets.
    pub next_request_id: u64,
    /// Whether a meeting is open, and whether it runs or is suspended.
    #[serde(default)]
    pub phase: MeetingPhase,
    /// The agenda, in order, with each item's status and exclusions.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<AgendaEntry>))]
    pub agenda: Vector<AgendaEntry>,
    /// The item under discussion.
    #[serde(default)]
    pub current_item: Option<ItemId>,
    /// Whether waiting requests move on to the next item or stay with their item.
    #[serde(default)]
    pub carry_over: CarryOver,
    /// Whether the public may follow (false: the non-public part; names stay off every
    /// public output).
    #[serde(default = "public_by_default")]
    pub public: bool,
    /// Waiting requests kept with the item they were made on (carry-over off), by item.
    /// In JSON an object keyed by the item id as a string.
    #[serde(default, skip_serializing_if = "OrdMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Vec<Request>>))]
    pub parked: OrdMap<ItemId, Vector<Arc<Request>>>,
    /// The meeting's speaking-time rules while the current item has its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_speaking_time: Option<SpeakingTime>,
    /// Speaking-time budgets per group, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<BudgetState>))]
    pub budget: Option<Arc<BudgetState>>,
    /// The source presented on the screens or the stream, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentation: Option<crate::presentation::Presentation>,
    /// Who attends, by participant (no entry: not checked in yet).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Attendance>))]
    pub attendance: OrdMap<ParticipantId, Attendance>,
    /// The quorum now.
    #[serde(default)]
    pub quorum: Quorum,
    /// The open vote, or the last one closed (until the next opens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vote>))]
    pub vote: Option<Arc<Vote>>,
    /// Votes opened in this run (the next vote's id is one more).
    #[serde(default)]
    pub votes_held: u32,
    /// The statutory number of members set for this meeting (e.g. from the OParl
    /// organization), instead of the room's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statutory_members: Option<u32>,
}

fn public_by_default() -> bool {
    true
}

impl FloorState {
    /// The state before any event.
    pub fn initial(profile: Profile) -> Self {
        FloorState {
            seq: 0,
            profile,
            list_open: true,
            requests: Vector::new(),
            speakers: Vec::new(),
            presence: OrdMap::new(),
            seated: OrdMap::new(),
            spoken_ms_by_participant: OrdMap::new(),
            spoken_ms_by_group: OrdMap::new(),
            next_request_id: 1,
            phase: MeetingPhase::None,
            agenda: Vector::new(),
            current_item: None,
            carry_over: CarryOver::default(),
            public: true,
            parked: OrdMap::new(),
            meeting_speaking_time: None,
            budget: None,
            presentation: None,
            attendance: OrdMap::new(),
            quorum: Quorum::default(),
            vote: None,
            votes_held: 0,
            statutory_members: None,
        }
    }

    /// Index of a station's waiting request.
    pub fn request_index(&self, station: &Station) -> Option<usize> {
        self.request_position(|r| &r.station == station)
    }

    /// Index of the first waiting request that fulfils `test`. Searched chunk by chunk: a
    /// slice's `position` is several times faster than the persistent vector's iterator,
    /// and the list is searched on almost every command.
    pub fn request_position(&self, mut test: impl FnMut(&Request) -> bool) -> Option<usize> {
        let mut offset = 0;
        for leaf in self.requests.leaves() {
            if let Some(index) = leaf.iter().position(|r| test(r)) {
                return Some(offset + index);
            }
            offset += leaf.len();
        }
        None
    }

    /// Removes a station's waiting request (a station waits at most once: `check_invariants`).
    fn remove_request(&mut self, station: &Station) {
        if let Some(index) = self.request_index(station) {
            self.requests.remove(index);
        }
    }

    /// Index of a station's open microphone.
    pub fn speaker_index(&self, station: &Station) -> Option<usize> {
        self.speakers.iter().position(|s| &s.station == station)
    }

    /// The agenda entry of item `id`.
    pub fn item(&self, id: ItemId) -> Option<&AgendaEntry> {
        self.agenda.iter().find(|e| e.item.id == id)
    }

    fn item_mut(&mut self, id: ItemId) -> Option<&mut AgendaEntry> {
        let index = self.agenda.iter().position(|e| e.item.id == id)?;
        self.agenda.get_mut(index)
    }

    /// Whether `participant` is excluded from the current item (conflict of interest).
    pub fn is_excluded_now(&self, participant: &str) -> bool {
        self.current_item
            .and_then(|id| self.item(id))
            .is_some_and(|entry| entry.excluded.contains_key(participant))
    }

    /// Open delegate microphones (chair and podium not counted).
    pub fn open_delegate_microphones(&self) -> usize {
        self.speakers.iter().filter(|s| !s.exempt).count()
    }

    /// Applies one event. `group_of` tells a participant's group for the time totals.
    ///
    /// This is the only place the state changes; the engine applies every event it emits
    /// through here, so replaying a run's events reproduces its state exactly.
    pub fn apply(&mut self, event: &Event, group_of: impl Fn(&str) -> Option<String>) {
        self.seq = event.seq;
        match &event.change {
            Change::RequestAdded { request, position } => {
                let index = position.saturating_sub(1).min(self.requests.len());
                self.requests.insert(index, Arc::new(request.clone()));
                self.next_request_id = self.next_request_id.max(request.id + 1);
            }
            Change::RequestRemoved { station, .. } => self.remove_request(station),
            Change::RequestMoved { station, position } => {
                if let Some(from) = self.request_index(station) {
                    let request = self.requests.remove(from);
                    let to = position.saturating_sub(1).min(self.requests.len());
                    self.requests.insert(to, request);
                }
            }
            Change::RequestsCleared { .. } => self.requests.clear(),
            Change::MicrophoneOpened { speaker } => {
                self.remove_request(&speaker.station);
                self.speakers.push(speaker.clone());
            }
            Change::MicrophoneClosed { station, participant, spoken_ms, .. } => {
                let exempt = self.speaker_index(station).is_some_and(|i| self.speakers[i].exempt);
                self.speakers.retain(|s| &s.station != station);
                if let Some(id) = participant {
                    *self.spoken_ms_by_participant.entry(id.clone()).or_default() += spoken_ms;
                    if let Some(group) = group_of(id) {
                        *self.spoken_ms_by_group.entry(group.clone()).or_default() += spoken_ms;
                        if let Some(budget) = self
                            .budget
                            .as_mut()
                            .filter(|b| !exempt && b.allotted_ms.contains_key(&group))
                            .map(Arc::make_mut)
                        {
                            *budget.used_ms.entry(group).or_default() += spoken_ms;
                        }
                    }
                }
            }
            Change::SpeakerPaused { station } => {
                if let Some(i) = self.speaker_index(station) {
                    self.speakers[i].paused_since = Some(event.at.mono_ms);
                }
            }
            Change::SpeakerResumed { station } => {
                if let Some(i) = self.speaker_index(station) {
                    let speaker = &mut self.speakers[i];
                    if let Some(since) = speaker.paused_since.take() {
                        speaker.paused_ms += event.at.mono_ms.ms_since(since);
                    }
                }
            }
            Change::TimeWarning { station } => {
                if let Some(i) = self.speaker_index(station) {
                    self.speakers[i].warned = true;
                }
            }
            Change::TimeExpired { station } => {
                if let Some(i) = self.speaker_index(station) {
                    self.speakers[i].warned = true;
                    self.speakers[i].expired = true;
                }
            }
            Change::ListOpenChanged { open } => self.list_open = *open,
            Change::ProfileChanged { profile } => self.profile = profile.clone(),
            Change::PresenceChanged { participant, presence } => {
                if let Some(Presence::Seat(old)) = self.presence.get(participant) {
                    self.seated.remove(old);
                }
                if let Presence::Seat(seat) = presence {
                    self.seated.insert(*seat, participant.clone());
                }
                self.presence.insert(participant.clone(), *presence);
            }
            Change::PhaseChanged { phase } => self.phase = *phase,
            Change::AgendaSet { items, carry_over } => {
                self.agenda = items
                    .iter()
                    .map(|item| AgendaEntry {
                        item: item.clone(),
                        status: ItemStatus::Pending,
                        excluded: BTreeMap::new(),
                    })
                    .collect();
                self.current_item = None;
                self.carry_over = *carry_over;
                self.parked.clear();
            }
            Change::PublicityConfirmed { item, publicity } => {
                if let Some(entry) = self.item_mut(*item) {
                    entry.item.publicity = *publicity;
                }
            }
            Change::ItemEntered { item } => {
                if let Some(entry) = self.item_mut(*item) {
                    entry.status = ItemStatus::Current;
                }
                self.current_item = Some(*item);
            }
            Change::ItemFinished { item } => {
                if let Some(entry) = self.item_mut(*item) {
                    entry.status = ItemStatus::Done;
                }
                if self.current_item == Some(*item) {
                    self.current_item = None;
                }
            }
            Change::RequestsParked { item, count: _ } => {
                let requests = std::mem::take(&mut self.requests);
                self.parked.entry(*item).or_default().extend(requests);
            }
            Change::RequestsRestored { item, requests } => {
                self.parked.remove(item);
                // Requests made between items may be waiting already: keep the order of types
                // (a stable sort: within a type, the order they were made in).
                let restored = requests.iter().map(|r| Arc::new(r.clone()));
                let mut all: Vec<Arc<Request>> = self.requests.iter().cloned().chain(restored).collect();
                all.sort_by_key(|r| r.kind.rank());
                self.requests = all.into_iter().collect();
            }
            Change::MeetingSpeakingTimeKept { speaking_time } => self.meeting_speaking_time = *speaking_time,
            Change::PublicChanged { public } => self.public = *public,
            Change::PresentationStarted { source, on } => {
                self.presentation = Some(crate::presentation::Presentation {
                    source: source.clone(),
                    on: *on,
                    since: event.at,
                });
            }
            Change::PresentationStopped {} => self.presentation = None,
            Change::Excluded { item, participant, reason } => {
                if let Some(entry) = self.item_mut(*item) {
                    entry.excluded.insert(participant.clone(), reason.clone());
                }
            }
            Change::Readmitted { item, participant } => {
                if let Some(entry) = self.item_mut(*item) {
                    entry.excluded.remove(participant);
                }
            }
            Change::BudgetSet { budget } => self.budget = budget.clone().map(Arc::new),
            Change::ParkedCleared { .. } => self.parked.clear(),
            Change::BudgetWarning { group } => {
                if let Some(budget) = self.budget.as_mut().map(Arc::make_mut) {
                    budget.warned.insert(group.clone());
                }
            }
            Change::BudgetExhausted { group } => {
                if let Some(budget) = self.budget.as_mut().map(Arc::make_mut) {
                    budget.warned.insert(group.clone());
                    budget.exhausted.insert(group.clone());
                }
            }
            Change::AttendanceChanged { participant, attendance } => {
                self.attendance.insert(participant.clone(), attendance.clone());
            }
            Change::QuorumChanged { quorum } => self.quorum = *quorum,
            Change::StatutoryMembersSet { count } => self.statutory_members = *count,
            Change::VoteOpened { vote } => {
                self.votes_held = self.votes_held.max(vote.id);
                self.vote = Some(Arc::new((**vote).clone()));
            }
            Change::BallotCast { vote, participant, ballot } => {
                if let Some(open) = self.vote.as_mut().filter(|v| v.id == *vote).map(Arc::make_mut) {
                    open.ballots.insert(participant.clone(), ballot.clone());
                }
            }
            Change::VoteClosed { vote, result } => {
                if let Some(open) = self.vote.as_mut().filter(|v| v.id == *vote).map(Arc::make_mut) {
                    open.result = Some(result.clone());
                    open.closed_at = Some(event.at);
                }
            }
            Change::VoteCancelled { vote } => {
                if self.vote.as_ref().is_some_and(|v| v.id == *vote) {
                    self.vote = None;
                }
            }
        }
    }
}
