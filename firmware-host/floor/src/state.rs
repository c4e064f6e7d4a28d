//! The floor's state, and the one function that changes it: [`FloorState::apply`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::entries::{Presence, Request, Speaker};
use crate::outcome::{Change, Event};
use crate::setup::{ParticipantId, Profile, SeatNo};
use crate::station::Station;

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
                self.speakers.retain(|s| &s.station != station);
                if let Some(id) = participant {
                    *self.spoken_ms_by_participant.entry(id.clone()).or_default() += spoken_ms;
                    if let Some(group) = group_of(id) {
                        *self.spoken_ms_by_group.entry(group).or_default() += spoken_ms;
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
        }
    }
}
