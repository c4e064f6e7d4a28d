//! The floor's state, and the one function that changes it: [`FloorState::apply`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::outcome::{Change, Event};
use crate::precedence::{RequestKind, Stance};
use crate::setup::{ParticipantId, Profile, SeatNo};
use crate::station::Station;
use crate::time::{Instant, Timestamp};

/// Where a participant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Not in the meeting.
    Absent,
    /// At a desk unit.
    Seat(SeatNo),
    /// In the video conference (virtual seat).
    Remote,
}

/// A waiting request to speak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Request {
    /// Arrival number, increasing: ties in arrival are impossible.
    pub id: u64,
    /// Who requested.
    pub station: Station,
    /// Who sat there when the request was made, if known.
    pub participant: Option<ParticipantId>,
    /// Type of request.
    pub kind: RequestKind,
    /// Pro/contra tag.
    pub stance: Option<Stance>,
    /// For a reply: whom it answers.
    pub reply_to: Option<Station>,
    /// Server stamp of the arrival.
    pub requested_at: Timestamp,
}

/// An open microphone and its clock. Timers are data: start + budget, no ticks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Speaker {
    /// Whose microphone.
    pub station: Station,
    /// Who speaks, if known.
    pub participant: Option<ParticipantId>,
    /// The request type the floor was granted for; none for a direct grant.
    pub kind: Option<RequestKind>,
    /// When the microphone opened.
    pub started_at: Timestamp,
    /// Budget of this turn in milliseconds; none means unlimited.
    pub budget_ms: Option<u64>,
    /// Warning this many milliseconds before the budget ends.
    pub warning_ms: u64,
    /// Whether the microphone closes when the budget ends.
    pub cut_off: bool,
    /// Chair or podium microphone: outside the limit of open microphones.
    pub exempt: bool,
    /// Since when the clock is paused, if it is.
    pub paused_since: Option<Instant>,
    /// Milliseconds paused in earlier pauses of this turn.
    pub paused_ms: u64,
    /// The warning was given.
    pub warned: bool,
    /// The budget ran out (time runs negative if the microphone stays open).
    pub expired: bool,
}

impl Speaker {
    /// A microphone opened at `started_at` with no budget, no pause and no one known at the
    /// station: what tests of the directors and clients need.
    pub fn unlimited(station: Station, started_at: Timestamp) -> Speaker {
        Speaker {
            station,
            participant: None,
            kind: None,
            started_at,
            budget_ms: None,
            warning_ms: 0,
            cut_off: false,
            exempt: false,
            paused_since: None,
            paused_ms: 0,
            warned: false,
            expired: false,
        }
    }

    /// Milliseconds spoken at `now`, pauses excluded.
    pub fn spoken_ms(&self, now: Instant) -> u64 {
        let until = self.paused_since.unwrap_or(now);
        until.ms_since(self.started_at.mono_ms).saturating_sub(self.paused_ms)
    }

    /// When the warning is due (none while paused or without budget).
    pub fn warning_due(&self) -> Option<Instant> {
        if self.warned {
            return None;
        }
        self.running_budget_end().map(|end| Instant(end.0.saturating_sub(self.warning_ms)))
    }

    /// When the budget runs out (none while paused, without budget or already expired).
    pub fn expiry_due(&self) -> Option<Instant> {
        if self.expired {
            return None;
        }
        self.running_budget_end()
    }

    fn running_budget_end(&self) -> Option<Instant> {
        if self.paused_since.is_some() {
            return None;
        }
        let budget = self.budget_ms?;
        Some(self.started_at.mono_ms.plus_ms(self.paused_ms.saturating_add(budget)))
    }
}

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
