//! The council part of the minutes: attendance, quorum and votes, built from the record.
//!
//! - **Attendance**: every member of the setup with each period present (from, until, the
//!   place and how it was recorded: presence key, badge, PIN, remote link, chair,
//!   technician, podiumd), each change as marked (present, excused, absent) with its local
//!   time, and the status at the end.
//! - **Quorum**: as it stood at the opening and each time it was established or lost;
//!   `lost_during_meeting` says whether it was lost after it had been established.
//! - **Votes**: question, kind, options, majority, who voted (with the channel; entries by
//!   the chair or technician are marked `proxy`), the result. The choice by name is given
//!   **only for roll-call votes** (namentliche Abstimmung). Open votes give the totals and
//!   who took part, not who chose what (many councils minute only the result; a member who
//!   wants their own vote minuted says so and the secretary adds it). Secret votes cannot
//!   give more: their choices exist nowhere but in the urn's counts.
//!
//! This module knows the engine's events and the setup only (not the rest of the minutes),
//! so the speaker log (`minutes.rs`) can use it without a cycle.

use std::collections::BTreeMap;

use podium_floor::vote::{
    Attendance, AttendancePlace, AttendanceStatus, Majority, Quorum, Vote, VoteKind, VoteOption, VoteResult,
};
use podium_floor::{Change, Event, FloorState, ItemId, Setup};
use serde::{Deserialize, Serialize};

use super::time::{LocalTime, Period};

/// A member's attendance during the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttendanceRecord {
    /// The member.
    pub participant: String,
    /// Their name.
    pub name: String,
    /// Their group.
    pub group: Option<String>,
    /// `present`, `excused`, `absent` at the end (or now), or `unmarked`.
    pub status: String,
    /// Each time present: from, until (absent while still present), where, how recorded.
    pub periods: Vec<PresencePeriod>,
    /// Every change of their attendance during the meeting, in order.
    pub changes: Vec<AttendanceChange>,
}

/// A span of presence.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PresencePeriod {
    /// Arrival and departure (none while present).
    #[serde(flatten)]
    pub span: Period,
    /// `seat 12`, `remote` or `room`.
    pub place: String,
    /// How the arrival was recorded: `presence_key`, `badge`, `pin`, `remote_link`, `chair`,
    /// `technician`, `system`.
    pub by: String,
    /// How the departure was recorded.
    pub left_by: Option<String>,
}

/// One change of a member's attendance.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttendanceChange {
    /// When (Unix milliseconds).
    pub unix_ms: i64,
    /// When, local time.
    pub at_local: String,
    /// `present`, `excused` or `absent`.
    pub status: String,
    /// Where, when present.
    pub place: Option<String>,
    /// How it was recorded.
    pub by: String,
}

/// The quorum at the opening and each time it was established or lost.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuorumEntry {
    /// When (Unix milliseconds).
    pub unix_ms: i64,
    /// When, local time.
    pub at_local: String,
    /// `at_opening`, `established` or `lost`.
    pub what: String,
    /// Members present with a vote.
    pub present: u32,
    /// Members needed.
    pub required: u32,
    /// Statutory members.
    pub statutory: u32,
    /// Quorate then.
    pub quorate: bool,
}

/// The quorum over the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuorumRecord {
    /// At the opening, then each change of quorate.
    pub entries: Vec<QuorumEntry>,
    /// The quorum was lost during the meeting (after the opening or after it was established).
    pub lost_during_meeting: bool,
}

/// A ballot as minuted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BallotRecord {
    /// The member.
    pub participant: String,
    /// Their name.
    pub name: String,
    /// Their group.
    pub group: Option<String>,
    /// The option chosen: roll-call votes only (never for a secret vote; not minuted for an
    /// open vote).
    pub choice: Option<String>,
    /// `desk`, `remote`, `proxy_chair`, `proxy_technician`.
    pub via: String,
    /// Entered by the chair or the technician for the member.
    pub proxy: bool,
}

/// A vote as minuted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VoteRecord {
    /// The vote's number in its run.
    pub id: u32,
    /// The agenda item (number and title), if one was current.
    pub item: Option<String>,
    /// The item's id.
    pub item_id: Option<ItemId>,
    /// Taken in the non-public part.
    pub non_public: bool,
    /// The question.
    pub question: String,
    /// `open`, `roll_call` or `secret`.
    #[schema(value_type = String)]
    pub kind: VoteKind,
    /// The options.
    #[schema(value_type = Vec<Object>)]
    pub options: Vec<VoteOption>,
    /// The majority required.
    #[schema(value_type = String)]
    pub majority: Majority,
    /// The quorum when it opened.
    #[schema(value_type = Object)]
    pub quorum_at_open: Quorum,
    /// Opened (Unix milliseconds).
    pub opened_unix_ms: i64,
    /// Opened, local time.
    pub opened_local: String,
    /// Closed or cancelled (Unix milliseconds).
    pub ended_unix_ms: Option<i64>,
    /// Closed or cancelled, local time.
    pub ended_local: Option<String>,
    /// Who voted, by name (with the choice for roll-call votes only).
    pub ballots: Vec<BallotRecord>,
    /// The result, once closed.
    #[schema(value_type = Option<Object>)]
    pub result: Option<VoteResult>,
    /// Cancelled by the chair without a result.
    pub cancelled: bool,
}

/// Builds attendance, quorum and votes from the state at the opening and the events.
pub struct CouncilBuilder {
    names: BTreeMap<String, (String, Option<String>)>,
    order: Vec<String>,
    local: LocalTime,
    attendance: BTreeMap<String, AttendanceRecord>,
    quorum: QuorumRecord,
    quorate: bool,
    votes: Vec<VoteRecord>,
}

/// The name of a serde enum value as in JSON.
fn json_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// `seat 12`, `remote`, `room`.
pub fn place_text(place: &AttendancePlace) -> String {
    match place {
        AttendancePlace::Seat(n) => format!("seat {n}"),
        AttendancePlace::Remote => "remote".into(),
        AttendancePlace::Room => "room".into(),
    }
}

impl CouncilBuilder {
    /// A builder for the meeting with this setup, from the state at its opening.
    pub fn new(setup: &Setup, opening: &FloorState, local: LocalTime) -> CouncilBuilder {
        let names =
            setup.participants.iter().map(|p| (p.id.clone(), (p.name.clone(), p.group.clone()))).collect();
        let order = setup.participants.iter().map(|p| p.id.clone()).collect();
        let mut builder = CouncilBuilder {
            names,
            order,
            local,
            attendance: BTreeMap::new(),
            quorum: QuorumRecord::default(),
            quorate: opening.quorum.quorate,
            votes: Vec::new(),
        };
        for p in &setup.participants {
            let record = builder.blank(&p.id);
            builder.attendance.insert(p.id.clone(), record);
        }
        for (participant, attendance) in &opening.attendance {
            // Present since before the opening: the period starts when they arrived.
            builder.attendance_changed(participant, attendance, attendance.since.unix_ms, false);
        }
        builder.quorum.entries.push(builder.quorum_entry(0, "at_opening", &opening.quorum));
        if let Some(vote) = opening.vote.as_ref().filter(|v| v.result.is_none()) {
            builder.vote_opened(vote, vote.opened_at.unix_ms);
            for (participant, ballot) in &vote.ballots {
                builder.ballot(vote.id, participant, ballot.choice.as_deref(), &json_name(&ballot.via));
            }
        }
        builder
    }

    fn blank(&self, participant: &str) -> AttendanceRecord {
        let (name, group) = self.names.get(participant).cloned().unwrap_or((participant.to_owned(), None));
        AttendanceRecord {
            participant: participant.to_owned(),
            name,
            group,
            status: "unmarked".into(),
            periods: Vec::new(),
            changes: Vec::new(),
        }
    }

    fn quorum_entry(&self, unix_ms: i64, what: &str, quorum: &Quorum) -> QuorumEntry {
        QuorumEntry {
            unix_ms,
            at_local: if unix_ms == 0 { String::new() } else { self.local.format(unix_ms) },
            what: what.into(),
            present: quorum.present,
            required: quorum.required,
            statutory: quorum.statutory,
            quorate: quorum.quorate,
        }
    }

    fn attendance_changed(&mut self, participant: &str, attendance: &Attendance, at: i64, log_change: bool) {
        let local = self.local.clone();
        if !self.attendance.contains_key(participant) {
            let record = self.blank(participant);
            self.attendance.insert(participant.to_owned(), record);
        }
        let Some(record) = self.attendance.get_mut(participant) else { return };
        let by = json_name(&attendance.by);
        if let Some(open) = record.periods.last_mut().filter(|p| p.span.until_unix_ms.is_none()) {
            open.span.until_unix_ms = Some(at);
            open.span.until_local = Some(local.format(at));
            open.left_by = Some(by.clone());
        }
        let place = attendance.place.as_ref().map(place_text);
        if attendance.status == AttendanceStatus::Present {
            record.periods.push(PresencePeriod {
                span: Period { from_unix_ms: at, from_local: local.format(at), ..Period::default() },
                place: place.clone().unwrap_or_else(|| "room".into()),
                by: by.clone(),
                left_by: None,
            });
        }
        record.status = json_name(&attendance.status);
        if log_change {
            record.changes.push(AttendanceChange {
                unix_ms: at,
                at_local: local.format(at),
                status: record.status.clone(),
                place,
                by,
            });
        }
    }

    fn vote_opened(&mut self, vote: &Vote, at: i64) {
        self.votes.push(VoteRecord {
            id: vote.id,
            item: None,
            item_id: vote.item,
            non_public: false,
            question: vote.question.clone(),
            kind: vote.kind,
            options: vote.options.clone(),
            majority: vote.majority,
            quorum_at_open: vote.quorum_at_open,
            opened_unix_ms: at,
            opened_local: self.local.format(at),
            ended_unix_ms: None,
            ended_local: None,
            ballots: Vec::new(),
            result: None,
            cancelled: false,
        });
    }

    fn ballot(&mut self, vote: u32, participant: &str, choice: Option<&str>, via: &str) {
        let (name, group) = self.names.get(participant).cloned().unwrap_or((participant.to_owned(), None));
        let Some(record) = self.votes.iter_mut().rev().find(|v| v.id == vote) else { return };
        // The choice by name is minuted for roll-call votes only (see the module documentation).
        let choice = (record.kind == VoteKind::RollCall).then(|| choice.map(str::to_owned)).flatten();
        let ballot = BallotRecord {
            participant: participant.to_owned(),
            name,
            group,
            choice,
            via: via.to_owned(),
            proxy: via.starts_with("proxy"),
        };
        match record.ballots.iter_mut().find(|b| b.participant == participant) {
            Some(previous) => *previous = ballot,
            None => record.ballots.push(ballot),
        }
    }

    fn vote_ended(&mut self, vote: u32, at: i64) -> Option<&mut VoteRecord> {
        let local = self.local.format(at);
        let record = self.votes.iter_mut().rev().find(|v| v.id == vote)?;
        record.ended_unix_ms = Some(at);
        record.ended_local = Some(local);
        Some(record)
    }

    /// Takes the next event into account. Returns a line for the session log (`what`,
    /// `detail`) if the event deserves one.
    pub fn event(&mut self, event: &Event) -> Option<(&'static str, String)> {
        let at = event.at.unix_ms;
        match &event.change {
            Change::AttendanceChanged { participant, attendance } => {
                self.attendance_changed(participant, attendance, at, true);
                None
            }
            Change::QuorumChanged { quorum } => {
                if quorum.quorate == self.quorate {
                    return None;
                }
                self.quorate = quorum.quorate;
                let what = if quorum.quorate { "established" } else { "lost" };
                if !quorum.quorate {
                    self.quorum.lost_during_meeting = true;
                }
                let entry = self.quorum_entry(at, what, quorum);
                self.quorum.entries.push(entry);
                let detail = format!("{} von {} erforderlich anwesend", quorum.present, quorum.required);
                Some((if quorum.quorate { "quorum_established" } else { "quorum_lost" }, detail))
            }
            Change::VoteOpened { vote } => {
                self.vote_opened(vote, at);
                Some(("vote_opened", vote.question.clone()))
            }
            Change::BallotCast { vote, participant, ballot } => {
                self.ballot(*vote, participant, ballot.choice.as_deref(), &json_name(&ballot.via));
                None
            }
            Change::VoteClosed { vote, result } => {
                let record = self.vote_ended(*vote, at)?;
                record.result = Some(result.clone());
                Some(("vote_closed", record.question.clone()))
            }
            Change::VoteCancelled { vote } => {
                let record = self.vote_ended(*vote, at)?;
                record.cancelled = true;
                Some(("vote_cancelled", record.question.clone()))
            }
            _ => None,
        }
    }

    /// The vote opened last (to label it with its item).
    pub fn last_vote_mut(&mut self) -> Option<&mut VoteRecord> {
        self.votes.last_mut()
    }

    /// Attendance (in setup order), quorum, votes.
    pub fn finish(mut self) -> (Vec<AttendanceRecord>, QuorumRecord, Vec<VoteRecord>) {
        let mut attendance: Vec<AttendanceRecord> =
            self.order.iter().filter_map(|id| self.attendance.remove(id)).collect();
        attendance.extend(self.attendance.into_values());
        (attendance, self.quorum, self.votes)
    }
}

/// A cell that a spreadsheet would take for a formula gets a leading apostrophe.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

/// The attendance CSV columns.
pub const ATTENDANCE_CSV_COLUMNS: [&str; 10] =
    ["meeting", "participant", "name", "group", "status", "from", "until", "place", "by", "left_by"];

/// One row per period present (a member never present gets one row with their status).
pub fn attendance_csv(meeting: i64, records: &[AttendanceRecord]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(ATTENDANCE_CSV_COLUMNS)?;
    for r in records {
        let who = [
            meeting.to_string(),
            cell(&r.participant),
            cell(&r.name),
            r.group.as_deref().map(cell).unwrap_or_default(),
            r.status.clone(),
        ];
        if r.periods.is_empty() {
            out.write_record(who.iter().cloned().chain(std::iter::repeat_n(String::new(), 5)))?;
        }
        for p in &r.periods {
            let rest = [
                p.span.from_local.clone(),
                p.span.until_local.clone().unwrap_or_default(),
                p.place.clone(),
                p.by.clone(),
                p.left_by.clone().unwrap_or_default(),
            ];
            out.write_record(who.iter().cloned().chain(rest))?;
        }
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The votes CSV columns.
pub const VOTES_CSV_COLUMNS: [&str; 14] = [
    "meeting",
    "vote",
    "item",
    "question",
    "kind",
    "majority",
    "opened",
    "ended",
    "outcome",
    "totals",
    "voted",
    "not_voted",
    "participant",
    "choice",
];

/// One row per vote with its result, then one row per ballot (the choice for roll-call
/// votes only; `via` in the choice column otherwise).
pub fn votes_csv(meeting: i64, votes: &[VoteRecord]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(VOTES_CSV_COLUMNS)?;
    for v in votes {
        let outcome = match (&v.result, v.cancelled) {
            (_, true) => "cancelled".to_owned(),
            (Some(result), _) => json_name(&result.outcome),
            (None, _) => "open".to_owned(),
        };
        let totals = v
            .result
            .as_ref()
            .map(|r| {
                r.totals.iter().map(|t| format!("{}={}", t.option, t.count)).collect::<Vec<_>>().join(" ")
            })
            .unwrap_or_default();
        let head = [
            meeting.to_string(),
            v.id.to_string(),
            v.item.as_deref().map(cell).unwrap_or_default(),
            cell(&v.question),
            json_name(&v.kind),
            json_name(&v.majority),
            v.opened_local.clone(),
            v.ended_local.clone().unwrap_or_default(),
        ];
        let result = [
            outcome,
            totals,
            v.result.as_ref().map(|r| r.voted.to_string()).unwrap_or_default(),
            v.result.as_ref().map(|r| r.not_voted.to_string()).unwrap_or_default(),
        ];
        out.write_record(head.iter().cloned().chain(result).chain([String::new(), String::new()]))?;
        for b in &v.ballots {
            let choice = b.choice.clone().unwrap_or_else(|| format!("({})", b.via));
            let row = head
                .iter()
                .cloned()
                .chain(std::iter::repeat_n(String::new(), 4))
                .chain([cell(&b.name), choice]);
            out.write_record(row)?;
        }
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use podium_floor::{Actor, Command, Floor, Participant, Profile, Role, SeatSetup, Timestamp};

    fn setup() -> Setup {
        Setup {
            voting: Default::default(),
            presentation_sources: Vec::new(),
            seats: (1..=3)
                .map(|n| SeatSetup {
                    number: n,
                    label: n.to_string(),
                    default_participant: Some(format!("m{n}")),
                    position: None,
                })
                .collect(),
            participants: (1..=3)
                .map(|n| Participant {
                    id: format!("m{n}"),
                    name: format!("Mitglied {n}"),
                    group: None,
                    role: Role::Member,
                    remote_allowed: false,
                    voting_right: true,
                    nonpublic_allowed: true,
                })
                .collect(),
            profile: Profile::default(),
        }
    }

    #[test]
    fn arrivals_departures_marks_and_a_lost_quorum_are_minuted() {
        let mut floor = Floor::new(setup());
        let mut council =
            CouncilBuilder::new(floor.setup(), floor.state(), LocalTime::new("UTC").expect("zone"));
        let mut log = Vec::new();
        let mut t = 0;
        let steps = [
            (Command::PresenceKey { seat: 1 }, Actor::Station(podium_floor::Station::Seat(1))),
            (
                Command::MarkAttendance { participant: "m2".into(), status: AttendanceStatus::Present },
                Actor::Chair,
            ),
            (
                Command::MarkAttendance { participant: "m3".into(), status: AttendanceStatus::Excused },
                Actor::Chair,
            ),
            (Command::PresenceKey { seat: 1 }, Actor::Station(podium_floor::Station::Seat(1))),
        ];
        for (command, actor) in steps {
            t += 60_000;
            let events = floor.handle(&command, &actor, Timestamp::new(t as u64, t)).expect("accepted");
            for event in &events {
                log.extend(council.event(event).map(|(what, _)| what));
            }
        }
        let (attendance, quorum, votes) = council.finish();
        assert!(votes.is_empty());
        let m1 = &attendance[0];
        assert_eq!(m1.periods.len(), 1);
        let period = &m1.periods[0];
        assert_eq!((period.place.as_str(), period.by.as_str()), ("seat 1", "presence_key"));
        assert_eq!(
            (period.span.from_local.as_str(), period.span.until_local.as_deref()),
            ("1970-01-01 00:01:00 UTC", Some("1970-01-01 00:04:00 UTC"))
        );
        assert_eq!(period.left_by.as_deref(), Some("presence_key"));
        assert_eq!(m1.status, "absent");
        assert_eq!(
            (attendance[1].periods[0].by.as_str(), attendance[1].status.as_str()),
            ("chair", "present")
        );
        assert_eq!(attendance[2].status, "excused");
        assert!(attendance[2].periods.is_empty());
        let whats: Vec<&str> = quorum.entries.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(whats, ["at_opening", "established", "lost"]);
        assert!(quorum.lost_during_meeting);
        assert_eq!(log, ["quorum_established", "quorum_lost"]);
    }
}
