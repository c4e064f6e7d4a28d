//! The floor's state, and the one function that changes it: [`FloorState::apply`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::agenda::{AgendaEntry, CarryOver, ItemId, ItemStatus, MeetingPhase};
use crate::budget::BudgetState;
use crate::entries::{Presence, Request, Speaker};
use crate::outcome::{Change, Event};
use crate::setup::{ParticipantId, Profile, SeatNo, SpeakingTime};
use crate::station::Station;
use crate::vote::{Attendance, Quorum, Vote};

/// The whole changing state of the floor. Serialises as the snapshot's `floor` part.
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
    pub requests: Vec<Request>,
    /// Open microphones, in the order they opened.
    pub speakers: Vec<Speaker>,
    /// Where each participant is.
    pub presence: BTreeMap<ParticipantId, Presence>,
    /// Who sits at each occupied seat. In JSON an object keyed by the seat number as a
    /// string (JSON object keys are strings), e.g. `{"12": "mueller"}`.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub seated: BTreeMap<SeatNo, ParticipantId>,
    /// Accumulated speaking time per participant (milliseconds, closed turns).
    pub spoken_ms_by_participant: BTreeMap<ParticipantId, u64>,
    /// Accumulated speaking time per group (milliseconds, closed turns).
    pub spoken_ms_by_group: BTreeMap<String, u64>,
    /// Id the next request gets.
    pub next_request_id: u64,
    /// Whether a meeting is open, and whether it runs or is suspended.
    #[serde(default)]
    pub phase: MeetingPhase,
    /// The agenda, in order, with each item's status and exclusions.
    #[serde(default)]
    pub agenda: Vec<AgendaEntry>,
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
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Vec<Request>>))]
    pub parked: BTreeMap<ItemId, Vec<Request>>,
    /// The meeting's speaking-time rules while the current item has its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_speaking_time: Option<SpeakingTime>,
    /// Speaking-time budgets per group, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetState>,
    /// Who attends, by participant (no entry: not checked in yet).
    #[serde(default)]
    pub attendance: BTreeMap<ParticipantId, Attendance>,
    /// The quorum now.
    #[serde(default)]
    pub quorum: Quorum,
    /// The open vote, or the last one closed (until the next opens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vote: Option<Vote>,
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
            requests: Vec::new(),
            speakers: Vec::new(),
            presence: BTreeMap::new(),
            seated: BTreeMap::new(),
            spoken_ms_by_participant: BTreeMap::new(),
            spoken_ms_by_group: BTreeMap::new(),
            next_request_id: 1,
            phase: MeetingPhase::None,
            agenda: Vec::new(),
            current_item: None,
            carry_over: CarryOver::default(),
            public: true,
            parked: BTreeMap::new(),
            meeting_speaking_time: None,
            budget: None,
            attendance: BTreeMap::new(),
            quorum: Quorum::default(),
            vote: None,
            votes_held: 0,
            statutory_members: None,
        }
    }

    /// Index of a station's waiting request.
    pub fn request_index(&self, station: &Station) -> Option<usize> {
        self.requests.iter().position(|r| &r.station == station)
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
        self.agenda.iter_mut().find(|e| e.item.id == id)
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
                self.requests.insert(index, request.clone());
                self.next_request_id = self.next_request_id.max(request.id + 1);
            }
            Change::RequestRemoved { station, .. } => {
                self.requests.retain(|r| &r.station != station);
            }
            Change::RequestMoved { station, position } => {
                if let Some(from) = self.request_index(station) {
                    let request = self.requests.remove(from);
                    let to = position.saturating_sub(1).min(self.requests.len());
                    self.requests.insert(to, request);
                }
            }
            Change::RequestsCleared { .. } => self.requests.clear(),
            Change::MicrophoneOpened { speaker } => {
                self.requests.retain(|r| r.station != speaker.station);
                self.speakers.push(speaker.clone());
            }
            Change::MicrophoneClosed { station, participant, spoken_ms, .. } => {
                let exempt = self.speaker_index(station).is_some_and(|i| self.speakers[i].exempt);
                self.speakers.retain(|s| &s.station != station);
                if let Some(id) = participant {
                    *self.spoken_ms_by_participant.entry(id.clone()).or_default() += spoken_ms;
                    if let Some(group) = group_of(id) {
                        *self.spoken_ms_by_group.entry(group.clone()).or_default() += spoken_ms;
                        if let Some(budget) =
                            self.budget.as_mut().filter(|b| !exempt && b.allotted_ms.contains_key(&group))
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
                self.requests.extend(requests.iter().cloned());
                // Requests made between items may be waiting already: keep the order of types.
                self.requests.sort_by_key(|r| r.kind.rank());
            }
            Change::MeetingSpeakingTimeKept { speaking_time } => self.meeting_speaking_time = *speaking_time,
            Change::PublicChanged { public } => self.public = *public,
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
            Change::BudgetSet { budget } => self.budget = budget.clone(),
            Change::ParkedCleared { .. } => self.parked.clear(),
            Change::BudgetWarning { group } => {
                if let Some(budget) = self.budget.as_mut() {
                    budget.warned.insert(group.clone());
                }
            }
            Change::BudgetExhausted { group } => {
                if let Some(budget) = self.budget.as_mut() {
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
                self.vote = Some((**vote).clone());
            }
            Change::BallotCast { vote, participant, ballot } => {
                if let Some(open) = self.vote.as_mut().filter(|v| v.id == *vote) {
                    open.ballots.insert(participant.clone(), ballot.clone());
                }
            }
            Change::VoteClosed { vote, result } => {
                if let Some(open) = self.vote.as_mut().filter(|v| v.id == *vote) {
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
