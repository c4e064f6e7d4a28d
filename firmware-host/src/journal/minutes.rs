//! The minutes: the speaker log of a meeting, built from its record, as JSON or CSV.
//!
//! One row per request or turn, in the order they began: who (station, member, group),
//! what (request type, pro/contra, reply to whom), when requested and what became of the
//! request (granted, withdrawn, removed by the chair, cleared, ...), who granted the floor
//! (`chair`, `technician`, `automatic` for open/override mode and freed microphones,
//! `system`), when the microphone opened and closed, the speaking time without pauses,
//! the pauses, who closed the microphone (mute provenance) and whether the time warning
//! was given or the time ran out; the agenda item and whether it was in the non-public part.
//! Beside the rows: the agenda items with when they were discussed, the exclusions for
//! conflict of interest with their reasons, the session log (opened, suspended, resumed,
//! non-public part begins and ends, closed) and who attended. Times are UTC (RFC 3339)
//! plus Unix milliseconds, and local time in the room's time zone (`[room] time_zone`).
//!
//! A *publication* copy (`publication = true`) leaves out every row, exclusion and title of
//! the non-public part: only "nichtöffentlicher Teil" with its times remains.

use std::collections::BTreeMap;

use podium_floor::{
    Actor, AgendaItem, Change, Event, FloorState, ItemId, MeetingPhase, MuteSource, Presence, Publicity,
    RequestKind, Setup, Stance, Station,
};
use serde::{Deserialize, Serialize};

pub use super::council_record::{AttendanceRecord, QuorumRecord, VoteRecord};
use super::council_record::{CouncilBuilder, attendance_csv, votes_csv};
use super::store::{CommandRow, Store};
use super::{JournalError, MeetingInfo, time};

/// The minutes of one meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Minutes {
    /// The meeting.
    pub meeting: MeetingInfo,
    /// When these minutes were produced (RFC 3339, UTC).
    pub generated_at: String,
    /// The room's time zone (IANA name) the `*_local` times are in.
    #[serde(default)]
    pub time_zone: String,
    /// When the meeting opened, local time.
    #[serde(default)]
    pub opened_local: String,
    /// When it closed, local time (absent while open).
    #[serde(default)]
    pub closed_local: Option<String>,
    /// A copy for publication: the non-public part is left out.
    #[serde(default)]
    pub publication: bool,
    /// Every request and turn, in the order they began.
    pub speakers: Vec<SpeakerTurn>,
    /// The agenda items, in agenda order, with when they were discussed.
    #[serde(default)]
    pub items: Vec<ItemRecord>,
    /// Opened, suspended, resumed, non-public part begins and ends, exclusions, closed.
    #[serde(default)]
    pub log: Vec<LogEntry>,
    /// Who was present at some time during the meeting, in the room or remotely.
    #[serde(default)]
    pub attendees: Vec<Attendee>,
    /// Every member's attendance: periods present with place and provenance, each change.
    #[serde(default)]
    pub attendance: Vec<AttendanceRecord>,
    /// Members present at some time during the meeting.
    #[serde(default)]
    pub members_present: u32,
    /// Members present at the end (or now, while open).
    #[serde(default)]
    pub members_present_at_end: u32,
    /// The quorum at the opening and each time it was established or lost.
    #[serde(default)]
    pub quorum: QuorumRecord,
    /// The votes, in the order they were opened.
    #[serde(default)]
    pub votes: Vec<VoteRecord>,
    /// Problems found in the record (the minutes may then be incomplete).
    pub warnings: Vec<String>,
}

/// An agenda item in the minutes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemRecord {
    /// The item's id.
    pub id: ItemId,
    /// Number as printed.
    pub number: String,
    /// Title (empty in a publication copy for a non-public item).
    pub title: String,
    /// Public or non-public.
    pub non_public: bool,
    /// The paper's reference, if any.
    pub paper: Option<String>,
    /// The OParl id of the agenda item, if imported.
    pub oparl_id: Option<String>,
    /// When it was discussed: (from, until) local times; an item called up twice has two.
    pub periods: Vec<Period>,
    /// Members excluded for conflict of interest, with the reason.
    pub exclusions: Vec<Exclusion>,
}

pub use super::time::Period;

/// A member excluded from an item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Exclusion {
    /// The member.
    pub participant: String,
    /// Their name.
    pub name: Option<String>,
    /// Why, as recorded.
    pub reason: String,
    /// When, local time.
    pub at_local: String,
    /// Readmitted later (local time), if so.
    pub readmitted_local: Option<String>,
}

/// A line of the session log.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogEntry {
    /// When (Unix milliseconds).
    pub unix_ms: i64,
    /// When, UTC (RFC 3339).
    pub at: String,
    /// When, local time.
    pub at_local: String,
    /// `opened`, `suspended`, `resumed`, `closed`, `non_public`, `public`, `item` (called up),
    /// `item_finished`, `excluded`, `readmitted`, `budget_exhausted`.
    pub what: String,
    /// Details (the item, the member, the reason, the group).
    pub detail: String,
}

/// Someone present during the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attendee {
    /// The member.
    pub participant: String,
    /// Their name.
    pub name: String,
    /// Their group.
    pub group: Option<String>,
    /// In the room, remotely, or both (at different times).
    pub room: bool,
    /// Attended remotely at some time.
    pub remote: bool,
}

pub use super::time::{DEFAULT_TIME_ZONE, LocalTime};

/// One request or turn.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SpeakerTurn {
    /// 1-based row number.
    pub row: usize,
    /// `seat 12` or `remote mueller`.
    pub station: String,
    /// The member, if known.
    pub participant: Option<String>,
    /// The member's name.
    pub name: Option<String>,
    /// The member's group (Fraktion).
    pub group: Option<String>,
    /// Request type; absent for a direct grant by the chair.
    pub kind: Option<RequestKind>,
    /// Pro/contra tag.
    pub stance: Option<Stance>,
    /// For a reply: the station answered.
    pub reply_to: Option<String>,
    /// When the request arrived (Unix milliseconds).
    pub requested_unix_ms: Option<i64>,
    /// When the request arrived (RFC 3339).
    pub requested_at: Option<String>,
    /// For a request relayed from the video conference: when the member raised their hand
    /// there (Unix milliseconds, the conference's clock), beside podiumd's own stamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand_raised_unix_ms: Option<u64>,
    /// What became of the request: `granted`, `withdrawn`, `removed_by_chair`, `cleared`,
    /// `priority`, `presence_changed`, or `waiting` (still in the list).
    pub request_outcome: Option<String>,
    /// Who gave the floor: `chair`, `technician`, `automatic` or `system`.
    pub granted_by: Option<String>,
    /// When the microphone opened (Unix milliseconds).
    pub started_unix_ms: Option<i64>,
    /// When the microphone opened (RFC 3339).
    pub started_at: Option<String>,
    /// When the microphone closed (Unix milliseconds); absent while speaking.
    pub ended_unix_ms: Option<i64>,
    /// When the microphone closed (RFC 3339).
    pub ended_at: Option<String>,
    /// Speaking time without pauses (milliseconds), once the microphone closed.
    pub spoken_ms: Option<u64>,
    /// How often the chair paused the clock.
    pub pauses: u32,
    /// Milliseconds paused.
    pub paused_ms: u64,
    /// Who or what closed the microphone (mute provenance).
    pub closed_by: Option<MuteSource>,
    /// The time warning was given.
    pub warned: bool,
    /// The speaking time ran out.
    pub expired: bool,
    /// The agenda item it belongs to (number and title), if one was current.
    #[serde(default)]
    pub item: Option<String>,
    /// It began in the non-public part.
    #[serde(default)]
    pub non_public: bool,
    /// When the request arrived, local time.
    #[serde(default)]
    pub requested_local: Option<String>,
    /// When the microphone opened, local time.
    #[serde(default)]
    pub started_local: Option<String>,
    /// When the microphone closed, local time.
    #[serde(default)]
    pub ended_local: Option<String>,
}

/// The name of a serde enum value as in JSON (`removed_by_chair`).
fn json_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Who a command's actor means as "granted by".
fn granted_by(actor: Option<&Actor>) -> &'static str {
    match actor {
        Some(Actor::Chair) => "chair",
        Some(Actor::Technician) => "technician",
        Some(Actor::System) => "system",
        // A member's own key (open/override mode, the chair's seat) or a microphone freed by
        // a member or a timer that went to the head of the list.
        Some(Actor::Station(_)) | None => "automatic",
    }
}

/// Builds the speaker log from the state at the opening and the events after it.
pub struct Builder {
    names: BTreeMap<String, (String, Option<String>)>,
    actors: Vec<(u64, u64, Option<Actor>)>,
    rows: Vec<SpeakerTurn>,
    waiting: BTreeMap<Station, usize>,
    granted: BTreeMap<Station, usize>,
    speaking: BTreeMap<Station, (usize, Option<u64>)>,
    local: LocalTime,
    items: Vec<ItemRecord>,
    current_item: Option<ItemId>,
    public: bool,
    phase: MeetingPhase,
    log: Vec<LogEntry>,
    attendees: BTreeMap<String, Attendee>,
    /// Rows of requests kept with an item (carry-over off), until it is called up again.
    parked: BTreeMap<ItemId, Vec<(Station, usize)>>,
    /// Attendance, quorum and votes.
    council: Option<CouncilBuilder>,
}

/// What the builder made of the record.
pub struct Built {
    /// The rows.
    pub speakers: Vec<SpeakerTurn>,
    /// The agenda items.
    pub items: Vec<ItemRecord>,
    /// The session log.
    pub log: Vec<LogEntry>,
    /// Who attended.
    pub attendees: Vec<Attendee>,
    /// Every member's attendance.
    pub attendance: Vec<AttendanceRecord>,
    /// The quorum.
    pub quorum: QuorumRecord,
    /// The votes.
    pub votes: Vec<VoteRecord>,
}

fn item_record(item: &AgendaItem) -> ItemRecord {
    ItemRecord {
        id: item.id,
        number: item.number.clone(),
        title: item.title.clone(),
        non_public: item.publicity != Publicity::Public,
        paper: item.paper.as_ref().and_then(|p| p.reference.clone().or_else(|| p.name.clone())),
        oparl_id: item.oparl_id.clone(),
        periods: Vec::new(),
        exclusions: Vec::new(),
    }
}

impl Builder {
    /// A builder for a meeting with this setup, the commands of its record and the state
    /// at its opening.
    pub fn new(setup: &Setup, commands: &[CommandRow], opening: &FloorState, local: LocalTime) -> Builder {
        let names =
            setup.participants.iter().map(|p| (p.id.clone(), (p.name.clone(), p.group.clone()))).collect();
        let actors = commands
            .iter()
            .map(|c| (c.first_seq, c.last_seq, serde_json::from_str::<Actor>(&c.actor).ok()))
            .collect();
        let mut builder = Builder {
            names,
            actors,
            rows: Vec::new(),
            waiting: BTreeMap::new(),
            granted: BTreeMap::new(),
            speaking: BTreeMap::new(),
            local: local.clone(),
            items: opening
                .agenda
                .iter()
                .filter(|e| e.item.kind == podium_floor::ItemKind::Item)
                .map(|e| item_record(&e.item))
                .collect(),
            current_item: opening.current_item,
            public: opening.public,
            phase: opening.phase,
            log: Vec::new(),
            attendees: BTreeMap::new(),
            parked: BTreeMap::new(),
            council: Some(CouncilBuilder::new(setup, opening, local)),
        };
        for (participant, presence) in &opening.presence {
            builder.attend(participant, *presence);
        }
        for speaker in &opening.speakers {
            let row = builder.new_row(&speaker.station, speaker.participant.clone());
            let turn = &mut builder.rows[row];
            turn.kind = speaker.kind;
            turn.started_unix_ms = Some(speaker.started_at.unix_ms);
            turn.warned = speaker.warned;
            turn.expired = speaker.expired;
            turn.paused_ms = speaker.paused_ms;
            builder.speaking.insert(speaker.station.clone(), (row, speaker.paused_since.map(|i| i.0)));
        }
        for request in &opening.requests {
            let row = builder.new_row(&request.station, request.participant.clone());
            let turn = &mut builder.rows[row];
            turn.kind = Some(request.kind);
            turn.stance = request.stance;
            turn.reply_to = request.reply_to.as_ref().map(ToString::to_string);
            turn.requested_unix_ms = Some(request.requested_at.unix_ms);
            turn.hand_raised_unix_ms = request.raised_at;
            builder.waiting.insert(request.station.clone(), row);
        }
        builder
    }

    fn new_row(&mut self, station: &Station, participant: Option<String>) -> usize {
        let (name, group) = participant
            .as_ref()
            .and_then(|id| self.names.get(id))
            .map_or((None, None), |(n, g)| (Some(n.clone()), g.clone()));
        let item = self.current_item.and_then(|id| self.item(id)).map(|i| label(&i.number, &i.title));
        self.rows.push(SpeakerTurn {
            row: self.rows.len() + 1,
            station: station.to_string(),
            participant,
            name,
            group,
            item,
            non_public: !self.public,
            ..SpeakerTurn::default()
        });
        self.rows.len() - 1
    }

    fn item(&self, id: ItemId) -> Option<&ItemRecord> {
        self.items.iter().find(|i| i.id == id)
    }

    fn item_mut(&mut self, id: ItemId) -> Option<&mut ItemRecord> {
        self.items.iter_mut().find(|i| i.id == id)
    }

    fn name_of(&self, participant: &str) -> Option<String> {
        self.names.get(participant).map(|(name, _)| name.clone())
    }

    fn attend(&mut self, participant: &str, presence: Presence) {
        let (room, remote) = match presence {
            Presence::Seat(_) => (true, false),
            Presence::Remote => (false, true),
            Presence::Absent => return,
        };
        let (name, group) = self.names.get(participant).cloned().unwrap_or((participant.to_owned(), None));
        let entry = self.attendees.entry(participant.to_owned()).or_insert_with(|| Attendee {
            participant: participant.to_owned(),
            name,
            group,
            room: false,
            remote: false,
        });
        entry.room |= room;
        entry.remote |= remote;
    }

    fn note(&mut self, unix_ms: i64, what: &str, detail: String) {
        self.log.push(LogEntry {
            unix_ms,
            at: time::rfc3339(unix_ms),
            at_local: self.local.format(unix_ms),
            what: what.to_owned(),
            detail,
        });
    }

    fn item_label(&self, id: ItemId) -> String {
        self.item(id).map_or_else(|| format!("#{id}"), |i| label(&i.number, &i.title))
    }

    /// The session's own events: items, the non-public part, phases, exclusions, presence.
    fn session_event(&mut self, event: &Event) {
        let at = event.at.unix_ms;
        match &event.change {
            Change::AgendaSet { items, .. } => {
                let kept = std::mem::take(&mut self.items);
                self.items = items
                    .iter()
                    .filter(|i| i.kind == podium_floor::ItemKind::Item)
                    .map(|item| {
                        let mut record = item_record(item);
                        if let Some(old) = kept.iter().find(|o| o.id == item.id && o.number == item.number) {
                            record.periods = old.periods.clone();
                            record.exclusions = old.exclusions.clone();
                        }
                        record
                    })
                    .collect();
                self.note(at, "agenda", format!("{} items", self.items.len()));
            }
            Change::PublicityConfirmed { item, publicity } => {
                if let Some(record) = self.item_mut(*item) {
                    record.non_public = *publicity != Publicity::Public;
                }
            }
            Change::ItemEntered { item } => {
                self.current_item = Some(*item);
                let from_local = self.local.format(at);
                if let Some(record) = self.item_mut(*item) {
                    record.periods.push(Period { from_unix_ms: at, from_local, ..Period::default() });
                }
                let detail = self.item_label(*item);
                self.note(at, "item", detail);
            }
            Change::ItemFinished { item } => {
                let until_local = self.local.format(at);
                if let Some(period) = self.item_mut(*item).and_then(|r| r.periods.last_mut())
                    && period.until_unix_ms.is_none()
                {
                    period.until_unix_ms = Some(at);
                    period.until_local = Some(until_local);
                }
                if self.current_item == Some(*item) {
                    self.current_item = None;
                }
                let detail = self.item_label(*item);
                self.note(at, "item_finished", detail);
            }
            Change::PublicChanged { public } => {
                self.public = *public;
                if !*public {
                    // Microphones open across the switch speak in the non-public part too.
                    for (row, _) in self.speaking.values() {
                        self.rows[*row].non_public = true;
                    }
                }
                self.note(at, if *public { "public" } else { "non_public" }, String::new());
            }
            Change::PhaseChanged { phase } => {
                let what = match (self.phase, phase) {
                    (_, MeetingPhase::None) => "closed",
                    (_, MeetingPhase::Suspended) => "suspended",
                    (MeetingPhase::Suspended, MeetingPhase::Open) => "resumed",
                    (_, MeetingPhase::Open) => "opened",
                };
                self.phase = *phase;
                self.note(at, what, String::new());
            }
            Change::Excluded { item, participant, reason } => {
                let name = self.name_of(participant);
                let at_local = self.local.format(at);
                let detail = format!(
                    "{}: {} ({reason})",
                    self.item_label(*item),
                    name.clone().unwrap_or_else(|| participant.clone())
                );
                if let Some(record) = self.item_mut(*item) {
                    record.exclusions.push(Exclusion {
                        participant: participant.clone(),
                        name,
                        reason: reason.clone(),
                        at_local,
                        readmitted_local: None,
                    });
                }
                self.note(at, "excluded", detail);
            }
            Change::Readmitted { item, participant } => {
                let at_local = self.local.format(at);
                if let Some(exclusion) = self
                    .item_mut(*item)
                    .and_then(|r| r.exclusions.iter_mut().rev().find(|e| &e.participant == participant))
                {
                    exclusion.readmitted_local = Some(at_local);
                }
                let detail = format!(
                    "{}: {}",
                    self.item_label(*item),
                    self.name_of(participant).unwrap_or_else(|| participant.clone())
                );
                self.note(at, "readmitted", detail);
            }
            Change::BudgetExhausted { group } => self.note(at, "budget_exhausted", group.clone()),
            Change::RequestsParked { item, .. } => {
                let rows: Vec<(Station, usize)> = std::mem::take(&mut self.waiting).into_iter().collect();
                self.parked.entry(*item).or_default().extend(rows);
            }
            Change::RequestsRestored { item, requests } => {
                for (station, row) in self.parked.remove(item).unwrap_or_default() {
                    if requests.iter().any(|r| r.station == station) {
                        self.waiting.insert(station, row);
                    } else {
                        self.rows[row].request_outcome = Some("not_restored".into());
                    }
                }
            }
            Change::ParkedCleared { .. } => {
                for (_, row) in std::mem::take(&mut self.parked).into_values().flatten() {
                    self.rows[row].request_outcome = Some("meeting_closed".into());
                }
            }
            Change::PresenceChanged { participant, presence } => self.attend(participant, *presence),
            _ => {}
        }
    }

    fn actor_of(&self, seq: u64) -> Option<&Actor> {
        let i = self.actors.partition_point(|(first, _, _)| *first <= seq);
        let (first, last, actor) = self.actors.get(i.checked_sub(1)?)?;
        (*first <= seq && seq <= *last).then_some(actor.as_ref()).flatten()
    }

    /// Takes the next event into account.
    pub fn event(&mut self, event: &Event) {
        self.session_event(event);
        if let Some((what, detail)) = self.council.as_mut().and_then(|c| c.event(event)) {
            if let Change::VoteOpened { vote } = &event.change {
                let label = vote.item.map(|id| self.item_label(id));
                let non_public = !self.public;
                if let Some(record) = self.council.as_mut().and_then(|c| c.last_vote_mut()) {
                    record.item = label;
                    record.non_public = non_public;
                }
            }
            self.note(event.at.unix_ms, what, detail);
        }
        let mono = event.at.mono_ms.0;
        match &event.change {
            Change::RequestAdded { request, .. } => {
                let row = self.new_row(&request.station, request.participant.clone());
                let turn = &mut self.rows[row];
                turn.kind = Some(request.kind);
                turn.stance = request.stance;
                turn.reply_to = request.reply_to.as_ref().map(ToString::to_string);
                turn.requested_unix_ms = Some(request.requested_at.unix_ms);
                turn.hand_raised_unix_ms = request.raised_at;
                self.waiting.insert(request.station.clone(), row);
            }
            Change::RequestRemoved { station, reason } => {
                if let Some(row) = self.waiting.remove(station) {
                    self.rows[row].request_outcome = Some(json_name(reason));
                    if *reason == podium_floor::RequestEnd::Granted {
                        self.granted.insert(station.clone(), row);
                    }
                }
            }
            Change::RequestsCleared { reason, .. } => {
                for (_, row) in std::mem::take(&mut self.waiting) {
                    self.rows[row].request_outcome = Some(json_name(reason));
                }
            }
            Change::MicrophoneOpened { speaker } => {
                let row = match self.granted.remove(&speaker.station) {
                    Some(row) => row,
                    None => {
                        let row = self.new_row(&speaker.station, speaker.participant.clone());
                        if speaker.kind.is_some() {
                            // A request that opened the microphone at once (open/override mode).
                            self.rows[row].requested_unix_ms = Some(event.at.unix_ms);
                            self.rows[row].request_outcome = Some("granted".into());
                        }
                        row
                    }
                };
                let by = granted_by(self.actor_of(event.seq));
                let non_public = !self.public;
                let turn = &mut self.rows[row];
                // A turn that speaks in the non-public part belongs to it, wherever it was requested.
                turn.non_public |= non_public;
                turn.kind = turn.kind.or(speaker.kind);
                turn.participant = turn.participant.clone().or_else(|| speaker.participant.clone());
                turn.started_unix_ms = Some(speaker.started_at.unix_ms);
                turn.granted_by = Some(by.into());
                self.speaking.insert(speaker.station.clone(), (row, None));
            }
            Change::MicrophoneClosed { station, closed_by, spoken_ms, .. } => {
                if let Some((row, paused_since)) = self.speaking.remove(station) {
                    let non_public = !self.public;
                    let turn = &mut self.rows[row];
                    turn.non_public |= non_public;
                    if let Some(since) = paused_since {
                        turn.paused_ms += mono.saturating_sub(since);
                    }
                    turn.ended_unix_ms = Some(event.at.unix_ms);
                    turn.spoken_ms = Some(*spoken_ms);
                    turn.closed_by = Some(*closed_by);
                }
            }
            Change::SpeakerPaused { station } => {
                if let Some((row, paused_since)) = self.speaking.get_mut(station) {
                    self.rows[*row].pauses += 1;
                    *paused_since = Some(mono);
                }
            }
            Change::SpeakerResumed { station } => {
                if let Some((row, paused_since)) = self.speaking.get_mut(station)
                    && let Some(since) = paused_since.take()
                {
                    self.rows[*row].paused_ms += mono.saturating_sub(since);
                }
            }
            Change::TimeWarning { station } => {
                if let Some((row, _)) = self.speaking.get(station) {
                    self.rows[*row].warned = true;
                }
            }
            Change::TimeExpired { station } => {
                if let Some((row, _)) = self.speaking.get(station) {
                    self.rows[*row].warned = true;
                    self.rows[*row].expired = true;
                }
            }
            // Parked requests still wait (they come back with their item); the session's
            // own events are read by the minutes' item records.
            _ => {}
        }
    }

    /// Everything built: the rows with readable times, the items, the log, the attendees.
    pub fn finish_all(mut self) -> Built {
        let local = self.local.clone();
        let items = std::mem::take(&mut self.items);
        let log = std::mem::take(&mut self.log);
        let attendees = std::mem::take(&mut self.attendees).into_values().collect();
        let (attendance, quorum, votes) = self.council.take().map(CouncilBuilder::finish).unwrap_or_default();
        let mut speakers = self.finish();
        for turn in &mut speakers {
            turn.requested_local = turn.requested_unix_ms.map(|ms| local.format(ms));
            turn.started_local = turn.started_unix_ms.map(|ms| local.format(ms));
            turn.ended_local = turn.ended_unix_ms.map(|ms| local.format(ms));
        }
        Built { speakers, items, log, attendees, attendance, quorum, votes }
    }

    /// The rows, with readable times; requests still in the list are `waiting`.
    pub fn finish(mut self) -> Vec<SpeakerTurn> {
        for row in self.waiting.values() {
            self.rows[*row].request_outcome = Some("waiting".into());
        }
        for turn in &mut self.rows {
            turn.requested_at = turn.requested_unix_ms.map(time::rfc3339);
            turn.started_at = turn.started_unix_ms.map(time::rfc3339);
            turn.ended_at = turn.ended_unix_ms.map(time::rfc3339);
        }
        self.rows
    }
}

/// "Ö 3.1 Bebauungsplan".
fn label(number: &str, title: &str) -> String {
    if number.is_empty() { title.to_owned() } else { format!("{number} {title}") }
}

/// The minutes of meeting `id` from the journal, times in UTC and in `local`.
pub fn from_store(store: &Store, id: i64, now_unix_ms: i64) -> Result<Minutes, JournalError> {
    from_store_in(store, id, now_unix_ms, &LocalTime::new(DEFAULT_TIME_ZONE).map_err(JournalError::Export)?)
}

/// [`from_store`] with the room's time zone.
pub fn from_store_in(
    store: &Store,
    id: i64,
    now_unix_ms: i64,
    local: &LocalTime,
) -> Result<Minutes, JournalError> {
    let info = store.meeting(id).map_err(JournalError::sqlite("cannot read the meeting"))?;
    let info = info.ok_or(JournalError::NoSuchMeeting(id))?;
    let mut warnings = Vec::new();
    let run = info.run_id;
    let setup = store.run_setup(run).map_err(JournalError::sqlite("cannot read the meeting"))?;
    let setup = setup.and_then(|json| match serde_json::from_str::<Setup>(&json) {
        Ok(setup) => Some(setup),
        Err(e) => {
            warnings.push(format!("the meeting's setup is unreadable ({e}); names are missing"));
            None
        }
    });
    let setup = setup.unwrap_or_else(|| Setup {
        voting: Default::default(),
        presentation_sources: Vec::new(),
        seats: Vec::new(),
        participants: Vec::new(),
        profile: podium_floor::Profile::default(),
    });
    let checkpoints = store.checkpoints(run).map_err(JournalError::sqlite("cannot read the checkpoints"))?;
    let opening = checkpoints
        .iter()
        .find(|(seq, _)| *seq == info.first_seq)
        .and_then(|(_, json)| serde_json::from_str::<FloorState>(json).ok());
    let opening = opening.unwrap_or_else(|| {
        warnings
            .push("the state at the opening is unreadable; earlier requests and speakers are missing".into());
        FloorState::initial(setup.profile.clone())
    });
    let mut commands = store.commands(run).map_err(JournalError::sqlite("cannot read the commands"))?;
    commands.retain(|c| c.first_seq > info.first_seq && c.first_seq <= info.last_seq);
    let raws = store
        .events_between(run, info.first_seq, info.last_seq)
        .map_err(JournalError::sqlite("cannot read the events"))?;
    let mut builder = Builder::new(&setup, &commands, &opening, local.clone());
    for (expected, raw) in (info.first_seq + 1..).zip(raws) {
        if raw.seq != expected {
            warnings.push(format!("event {expected} is missing; the minutes end there"));
            break;
        }
        match raw.parse() {
            Ok(event) => builder.event(&event),
            Err(e) => {
                warnings.push(format!("event {} is unreadable ({e}); the minutes end there", raw.seq));
                break;
            }
        }
    }
    let built = builder.finish_all();
    let opened_ms = info.opened_unix_ms;
    Ok(Minutes {
        generated_at: time::rfc3339(now_unix_ms),
        time_zone: local.name().to_owned(),
        opened_local: local.format(info.opened_unix_ms),
        closed_local: info.closed_unix_ms.map(|ms| local.format(ms)),
        meeting: info,
        publication: false,
        speakers: built.speakers,
        items: built.items,
        log: built.log,
        attendees: built.attendees,
        members_present: built.attendance.iter().filter(|a| !a.periods.is_empty()).count() as u32,
        members_present_at_end: built
            .attendance
            .iter()
            .filter(|a| a.periods.last().is_some_and(|p| p.span.until_unix_ms.is_none()))
            .count() as u32,
        attendance: built.attendance,
        quorum: {
            let mut quorum = built.quorum;
            for entry in quorum.entries.iter_mut().filter(|e| e.what == "at_opening") {
                entry.unix_ms = opened_ms;
                entry.at_local = local.format(opened_ms);
            }
            quorum
        },
        votes: built.votes,
        warnings,
    })
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 27] = [
    "meeting",
    "row",
    "station",
    "participant",
    "name",
    "group",
    "kind",
    "stance",
    "reply_to",
    "requested_at",
    "request_outcome",
    "granted_by",
    "started_at",
    "ended_at",
    "spoken_s",
    "pauses",
    "paused_s",
    "closed_by",
    "warned",
    "expired",
    "item",
    "non_public",
    "requested_local",
    "started_local",
    "ended_local",
    "title",
    "hand_raised_at",
];

/// A cell that a spreadsheet would take for a formula gets a leading apostrophe.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

fn seconds(ms: u64) -> String {
    format!("{}.{}", ms / 1000, ms % 1000 / 100)
}

impl Minutes {
    /// The speaker log as CSV (RFC 4180, comma-separated, UTF-8, header row).
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(CSV_COLUMNS)?;
        for t in &self.speakers {
            let opt = |s: &Option<String>| s.as_deref().map(cell).unwrap_or_default();
            out.write_record([
                self.meeting.id.to_string(),
                t.row.to_string(),
                cell(&t.station),
                opt(&t.participant),
                opt(&t.name),
                opt(&t.group),
                t.kind.as_ref().map(json_name).unwrap_or_default(),
                t.stance.as_ref().map(json_name).unwrap_or_default(),
                opt(&t.reply_to),
                opt(&t.requested_at),
                opt(&t.request_outcome),
                opt(&t.granted_by),
                opt(&t.started_at),
                opt(&t.ended_at),
                t.spoken_ms.map(seconds).unwrap_or_default(),
                t.pauses.to_string(),
                seconds(t.paused_ms),
                t.closed_by.as_ref().map(json_name).unwrap_or_default(),
                t.warned.to_string(),
                t.expired.to_string(),
                opt(&t.item),
                t.non_public.to_string(),
                opt(&t.requested_local),
                opt(&t.started_local),
                opt(&t.ended_local),
                cell(&self.meeting.title),
                t.hand_raised_unix_ms
                    .and_then(|ms| i64::try_from(ms).ok())
                    .map(time::rfc3339)
                    .unwrap_or_default(),
            ])?;
        }
        let bytes = out.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

impl Minutes {
    /// The attendance as CSV: one row per period present (members never present: one row
    /// with their status).
    pub fn attendance_csv(&self) -> Result<String, csv::Error> {
        attendance_csv(self.meeting.id, &self.attendance)
    }

    /// The votes as CSV: a row per vote with its result, then a row per ballot.
    pub fn votes_csv(&self) -> Result<String, csv::Error> {
        votes_csv(self.meeting.id, &self.votes)
    }
}

impl Minutes {
    /// The copy for publication: every row, exclusion, title and log detail of the
    /// non-public part is left out; the non-public part's times remain.
    pub fn for_publication(mut self) -> Minutes {
        self.publication = true;
        self.speakers.retain(|turn| !turn.non_public);
        for (row, turn) in self.speakers.iter_mut().enumerate() {
            turn.row = row + 1;
        }
        let hidden: Vec<String> =
            self.items.iter().filter(|i| i.non_public).map(|i| label(&i.number, &i.title)).collect();
        for turn in &mut self.speakers {
            if turn.item.as_ref().is_some_and(|item| hidden.contains(item)) {
                turn.item = Some("nichtöffentlicher Tagesordnungspunkt".to_owned());
            }
        }
        for item in self.items.iter_mut().filter(|i| i.non_public) {
            item.title.clear();
            item.paper = None;
            item.oparl_id = None;
            item.exclusions.clear();
        }
        // Votes of the non-public part are left out with it (question, names, result).
        self.votes.retain(|vote| !vote.non_public);
        let mut public = true;
        self.log.retain_mut(|entry| {
            match entry.what.as_str() {
                "non_public" => public = false,
                "public" => public = true,
                _ => {}
            }
            if hidden.iter().any(|h| entry.detail.starts_with(h.as_str())) {
                if matches!(entry.what.as_str(), "excluded" | "readmitted") {
                    return false;
                }
                entry.detail = "nichtöffentlicher Teil".to_owned();
            }
            public
                || matches!(entry.what.as_str(), "non_public" | "suspended" | "resumed" | "closed" | "opened")
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use podium_floor::{Floor, Participant, Profile, Role, SeatSetup, Timestamp};

    fn setup() -> Setup {
        let member = |id: &str, name: &str, group: &str| Participant {
            id: id.into(),
            name: name.into(),
            group: Some(group.into()),
            role: Role::Member,
            remote_allowed: true,
            voting_right: true,
            nonpublic_allowed: true,
        };
        Setup {
            voting: Default::default(),
            presentation_sources: Vec::new(),
            seats: (1..=3)
                .map(|n| SeatSetup {
                    number: n,
                    label: n.to_string(),
                    default_participant: Some(["a", "b", "c"][usize::from(n) - 1].into()),
                    position: None,
                })
                .collect(),
            participants: vec![
                member("a", "Anna Müller", "SPD"),
                member("b", "=cmd|' /C calc'!A0", "CDU"),
                member("c", "Carla, \"C\" Weber", "GRÜNE"),
            ],
            profile: Profile::default(),
        }
    }

    #[test]
    fn a_session_becomes_one_row_per_request_with_provenance() {
        let mut floor = Floor::new(setup());
        let opening = floor.state().clone();
        let mut events = Vec::new();
        let mut commands = Vec::new();
        let mut t = 0u64;
        let mut run = |floor: &mut Floor, command: Command, actor: Actor| {
            t += 1000;
            let new =
                floor.handle(&command, &actor, Timestamp::new(t, 1_700_000_000_000 + t as i64)).expect("ok");
            if let (Some(first), Some(last)) = (new.first(), new.last()) {
                commands.push(CommandRow {
                    first_seq: first.seq,
                    last_seq: last.seq,
                    source: "test".into(),
                    actor: serde_json::to_string(&actor).expect("json"),
                });
            }
            events.extend(new);
        };
        use podium_floor::Command;
        let seat = |n| Station::Seat(n);
        run(
            &mut floor,
            Command::Request { station: seat(1), kind: RequestKind::Ordinary, stance: None, raised_at: None },
            Actor::Station(seat(1)),
        );
        run(
            &mut floor,
            Command::Request {
                station: seat(2),
                kind: RequestKind::Ordinary,
                stance: Some(Stance::Contra),
                raised_at: None,
            },
            Actor::Station(seat(2)),
        );
        run(
            &mut floor,
            Command::Request { station: seat(3), kind: RequestKind::Ordinary, stance: None, raised_at: None },
            Actor::Station(seat(3)),
        );
        run(&mut floor, Command::Next {}, Actor::Chair);
        run(&mut floor, Command::PauseSpeaker { station: seat(1) }, Actor::Chair);
        run(&mut floor, Command::ResumeSpeaker { station: seat(1) }, Actor::Chair);
        run(&mut floor, Command::Withdraw { station: seat(3) }, Actor::Station(seat(3)));
        run(&mut floor, Command::Stop { station: seat(1) }, Actor::Station(seat(1)));
        run(&mut floor, Command::Grant { station: seat(2) }, Actor::Chair);

        let mut builder =
            Builder::new(&setup(), &commands, &opening, LocalTime::new("Europe/Berlin").expect("zone"));
        for event in &events {
            builder.event(event);
        }
        let rows = builder.finish();
        assert_eq!(rows.len(), 3);
        let first = &rows[0];
        assert_eq!((first.station.as_str(), first.name.as_deref()), ("seat 1", Some("Anna Müller")));
        assert_eq!(first.request_outcome.as_deref(), Some("granted"));
        assert_eq!(first.granted_by.as_deref(), Some("chair"));
        assert_eq!((first.pauses, first.paused_ms), (1, 1000));
        assert_eq!(first.spoken_ms, Some(3000), "opened at 4 s, paused 5–6 s, closed at 8 s");
        assert_eq!(first.closed_by, Some(MuteSource::Member));
        assert_eq!(first.requested_at.as_deref(), Some("2023-11-14T22:13:21.000Z"));
        assert_eq!(rows[1].stance, Some(Stance::Contra));
        assert_eq!(rows[1].granted_by.as_deref(), Some("chair"));
        assert_eq!(rows[1].ended_at, None, "still speaking");
        assert_eq!(rows[2].request_outcome.as_deref(), Some("withdrawn"));
        assert_eq!(rows[2].started_at, None);

        let minutes = Minutes {
            attendance: Vec::new(),
            members_present: 0,
            members_present_at_end: 0,
            quorum: Default::default(),
            votes: Vec::new(),
            meeting: MeetingInfo::opening(7, 7, "Rat, 3. Sitzung".into(), "room".into(), 0, 0),
            generated_at: time::rfc3339(0),
            time_zone: "Europe/Berlin".into(),
            opened_local: String::new(),
            closed_local: None,
            publication: false,
            speakers: rows,
            items: Vec::new(),
            log: Vec::new(),
            attendees: Vec::new(),
            warnings: Vec::new(),
        };
        let csv = minutes.to_csv().expect("csv");
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(reader.headers().expect("headers").iter().collect::<Vec<_>>(), CSV_COLUMNS);
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
        assert_eq!(records.len(), 3);
        assert_eq!(&records[0][14], "3.0");
        assert_eq!(&records[1][4], "'=cmd|' /C calc'!A0", "a formula is defused");
        assert_eq!(&records[2][4], "Carla, \"C\" Weber", "commas and quotes survive");
        assert_eq!(&records[2][25], "Rat, 3. Sitzung");
    }
}
