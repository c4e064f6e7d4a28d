//! Attendance, quorum and votes as the engine sees them: the data. The rules are in
//! `voting.rs`.
//!
//! **Secrecy.** In a secret vote the engine records who has voted (`BallotCast` without a
//! choice) and keeps the choices only as counts per option in an urn that no event, state or
//! snapshot carries ([`Urn`], held by the `Floor` beside the state). The owner hands each
//! deposit to the journal, which adds it to a count kept in place; only the closing event
//! carries the totals. A secret ballot cannot be changed once cast: changing it would need
//! the member's previous choice, which is kept nowhere.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::agenda::ItemId;
use crate::setup::{ParticipantId, SeatNo};
use crate::time::{Instant, Timestamp};
pub use crate::voting_rules::{Majority, QuorumRule, VotingRules};

/// A vote's number within the run (1, 2, …).
pub type VoteId = u32;

/// Longest question text.
pub const MAX_QUESTION_CHARS: usize = 500;
/// Longest option label.
pub const MAX_LABEL_CHARS: usize = 100;
/// Longest option id.
pub const MAX_OPTION_ID_CHARS: usize = 32;
/// Most options in one vote.
pub const MAX_OPTIONS: usize = 24;
/// Largest statutory number of members.
pub const MAX_STATUTORY: u32 = 2_000;
/// Longest duration of a timed vote, in seconds (one day).
pub const MAX_DURATION_S: u32 = 86_400;

/// A ballot's choice as a command carries it (an option id, or `yes`/`no`/`abstain`). Its
/// `Debug` never shows it: commands are logged, and a secret ballot's choice must not be.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Choice(pub String);

impl Choice {
    /// The choice's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Choice(<not logged>)")
    }
}

impl From<&str> for Choice {
    fn from(choice: &str) -> Self {
        Choice(choice.to_owned())
    }
}

impl From<String> for Choice {
    fn from(choice: String) -> Self {
        Choice(choice)
    }
}

// ---------------------------------------------------------------- attendance

/// Whether a member attends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttendanceStatus {
    /// Present (in the room or remotely).
    Present,
    /// Absent with an excuse (entschuldigt).
    Excused,
    /// Absent.
    Absent,
}

/// Where a present member attends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttendancePlace {
    /// At a desk unit in the room.
    Seat(SeatNo),
    /// In the video conference.
    Remote,
    /// In the room, without a seat of their own (marked by the chair).
    Room,
}

/// How an attendance came about (the record's provenance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckInMethod {
    /// The presence key of the desk unit at the member's seat.
    PresenceKey,
    /// A badge on the desk unit's reader.
    Badge,
    /// A PIN entered on the desk unit's keys.
    Pin,
    /// The member's personal remote link.
    RemoteLink,
    /// Marked by the chair.
    Chair,
    /// Marked by the technician.
    Technician,
    /// By podiumd itself (e.g. a member moved to another place).
    System,
}

/// A member's attendance record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attendance {
    /// Present, excused or absent.
    pub status: AttendanceStatus,
    /// Where, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<AttendancePlace>,
    /// How it was recorded.
    pub by: CheckInMethod,
    /// Since when.
    pub since: Timestamp,
}

/// The quorum now: members present with a vote, counted room and remote together, minus
/// those excluded from the current item (they cannot take part in its decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quorum {
    /// Present members with a vote (not excluded from the current item).
    pub present: u32,
    /// Needed for a quorum.
    pub required: u32,
    /// The statutory number of members.
    pub statutory: u32,
    /// Whether the council has a quorum.
    pub quorate: bool,
}

// ---------------------------------------------------------------- votes

/// Open (show of hands), by name (each member's choice recorded), or secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    /// Open vote: the choices are visible while it runs; the minutes carry the totals.
    Open,
    /// Roll-call vote (namentliche Abstimmung): the minutes carry each member's choice.
    RollCall,
    /// Secret ballot: only who has voted and the totals exist anywhere.
    Secret,
}

/// What an option counts as when the result is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CountsAs {
    /// For the motion.
    Yes,
    /// Against.
    No,
    /// Abstention: a valid vote not counted toward the majority.
    Abstain,
    /// Neither (a choice among alternatives): counted in its own total only.
    Other,
}

/// One answer a member can give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VoteOption {
    /// Identifier used to cast it (`yes`, `no`, `abstain`, or free: letters, digits, `_`, `-`).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 32, pattern = r"^[A-Za-z0-9_-]+$"))]
    pub id: String,
    /// Label shown on consoles (empty for the defaults: the consoles translate them).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    pub label: String,
    /// What it counts as.
    pub counts_as: CountsAs,
}

impl VoteOption {
    /// Yes, no, abstain: the default options.
    pub fn defaults() -> Vec<VoteOption> {
        [("yes", CountsAs::Yes), ("no", CountsAs::No), ("abstain", CountsAs::Abstain)]
            .into_iter()
            .map(|(id, counts_as)| VoteOption { id: id.to_string(), label: String::new(), counts_as })
            .collect()
    }
}

/// The chair's request to open a vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VoteRequest {
    /// The question (the motion as voted on).
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 500,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*\S[^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub question: String,
    /// Open, roll-call or secret.
    pub kind: VoteKind,
    /// The answers (default: yes, no, abstain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_items = 2, max_items = 24))]
    pub options: Option<Vec<VoteOption>>,
    /// The majority needed (default: the room's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub majority: Option<Majority>,
    /// Closes by itself after this many seconds (1 to 86,400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 86400))]
    pub duration_s: Option<u32>,
    /// Whether a member may change an open or roll-call vote until it closes (default: the
    /// room's; a secret ballot is final).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changeable: Option<bool>,
}

impl VoteRequest {
    /// Whether two options share an id (a conflict, not a range: the description cannot
    /// state it).
    pub fn has_duplicate_options(&self) -> bool {
        self.options.as_ref().is_some_and(|options| {
            let ids: BTreeSet<&str> = options.iter().map(|o| o.id.as_str()).collect();
            ids.len() != options.len()
        })
    }

    /// The first field outside its range, by name.
    pub fn out_of_range_field(&self) -> Option<&'static str> {
        let printable = |s: &str| !s.chars().any(char::is_control);
        if self.question.trim().is_empty()
            || self.question.chars().count() > MAX_QUESTION_CHARS
            || !printable(&self.question)
        {
            return Some("question");
        }
        if self.duration_s.is_some_and(|d| d == 0 || d > MAX_DURATION_S) {
            return Some("duration_s");
        }
        if let Some(options) = &self.options {
            let valid_option = |o: &VoteOption| {
                !o.id.is_empty()
                    && o.id.len() <= MAX_OPTION_ID_CHARS
                    && o.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    && o.label.chars().count() <= MAX_LABEL_CHARS
                    && printable(&o.label)
            };
            if options.len() < 2 || options.len() > MAX_OPTIONS {
                return Some("options");
            }
            if !options.iter().all(valid_option) {
                return Some("options");
            }
        }
        None
    }
}

/// Through which channel a ballot arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BallotChannel {
    /// The vote keys of the desk unit at the member's seat (wired or networked).
    Desk,
    /// The member's remote page.
    Remote,
    /// Entered by the chair for a member without a device (recorded as such).
    ProxyChair,
    /// Entered by the technician for a member without a device (recorded as such).
    ProxyTechnician,
}

/// A member's ballot as the state keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ballot {
    /// The option chosen; never present in a secret vote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<String>,
    /// How it arrived.
    pub via: BallotChannel,
    /// When (the last change).
    pub at: Timestamp,
}

/// How a vote ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VoteOutcome {
    /// The motion has the majority it needs.
    Accepted,
    /// It has not (a tie rejects).
    Rejected,
    /// A choice among alternatives (no yes/no options): the totals are the result.
    Counted,
}

/// Who closed a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VoteClosedBy {
    /// The chair (or technician).
    Chair,
    /// Its duration ran out.
    Deadline,
}

/// The result of a closed vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VoteResult {
    /// Votes per option id, in the options' order.
    pub totals: Vec<OptionTotal>,
    /// Yes votes (options counting as yes).
    pub yes: u32,
    /// No votes.
    pub no: u32,
    /// Abstentions.
    pub abstain: u32,
    /// Members who voted.
    pub voted: u32,
    /// Members entitled to vote when it closed who did not.
    pub not_voted: u32,
    /// Yes votes needed (none for a choice among alternatives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<u32>,
    /// Accepted, rejected, or counted.
    pub outcome: VoteOutcome,
    /// Who closed it.
    pub closed_by: VoteClosedBy,
}

/// One option's total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptionTotal {
    /// The option's id.
    pub option: String,
    /// Votes for it.
    pub count: u32,
}

/// A vote as the state keeps it, open or closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vote {
    /// Its number in this run.
    pub id: VoteId,
    /// The agenda item it belongs to, if one was current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemId>,
    /// The question.
    pub question: String,
    /// Open, roll-call or secret.
    pub kind: VoteKind,
    /// The answers.
    pub options: Vec<VoteOption>,
    /// The majority it needs.
    pub majority: Majority,
    /// Whether a cast vote may be changed until it closes (never in a secret vote).
    pub changeable: bool,
    /// Whether remote members take part (false: a secret vote in a room that does not
    /// allow remote members to take part in one).
    pub remote_allowed: bool,
    /// The statutory number of members when it opened (for the absolute and two-thirds
    /// majorities).
    pub statutory: u32,
    /// The quorum when it opened.
    pub quorum_at_open: Quorum,
    /// Whether it was opened in the public part (a vote of the non-public part never
    /// reaches a public output, also after the part ends).
    #[serde(default = "opened_in_public")]
    pub public: bool,
    /// When it opened.
    pub opened_at: Timestamp,
    /// When it closes by itself, on the monotonic clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<Instant>,
    /// Who has voted, with their choice unless the vote is secret. In JSON an object keyed
    /// by participant id.
    // A persistent map: a ballot cast copies O(log n) of it, not all of it.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Ballot>))]
    pub ballots: imbl::OrdMap<ParticipantId, Ballot>,
    /// The result, once closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<VoteResult>,
    /// When it closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
}

fn opened_in_public() -> bool {
    true
}

impl Vote {
    /// The option a choice names: its id, or for a desk key (`yes`, `no`, `abstain`) the
    /// first option counting as that.
    pub fn option_for(&self, choice: &str) -> Option<&VoteOption> {
        self.options.iter().find(|o| o.id == choice).or_else(|| {
            let counts_as = match choice {
                "yes" => CountsAs::Yes,
                "no" => CountsAs::No,
                "abstain" => CountsAs::Abstain,
                _ => return None,
            };
            self.options.iter().find(|o| o.counts_as == counts_as)
        })
    }

    /// Totals per option from the ballots (open and roll-call votes).
    pub fn counted_ballots(&self) -> BTreeMap<String, u32> {
        let mut counts = BTreeMap::new();
        for ballot in self.ballots.values() {
            if let Some(choice) = &ballot.choice {
                *counts.entry(choice.clone()).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The result from counts per option, `not_voted` and who closed it.
    pub fn decide(
        &self,
        counts: &BTreeMap<String, u32>,
        not_voted: u32,
        closed_by: VoteClosedBy,
    ) -> VoteResult {
        let totals: Vec<OptionTotal> = self
            .options
            .iter()
            .map(|o| OptionTotal { option: o.id.clone(), count: counts.get(&o.id).copied().unwrap_or(0) })
            .collect();
        let sum = |kind: CountsAs| -> u32 {
            self.options
                .iter()
                .filter(|o| o.counts_as == kind)
                .map(|o| counts.get(&o.id).copied().unwrap_or(0))
                .sum()
        };
        let (yes, no, abstain) = (sum(CountsAs::Yes), sum(CountsAs::No), sum(CountsAs::Abstain));
        let is_motion = self.options.iter().any(|o| o.counts_as == CountsAs::Yes)
            && self.options.iter().any(|o| o.counts_as == CountsAs::No);
        let (required, outcome) = if is_motion {
            let required = self.majority.required_yes(yes, no, self.statutory);
            let accepted = yes >= required;
            (Some(required), if accepted { VoteOutcome::Accepted } else { VoteOutcome::Rejected })
        } else {
            (None, VoteOutcome::Counted)
        };
        VoteResult {
            totals,
            yes,
            no,
            abstain,
            voted: self.ballots.len() as u32,
            not_voted,
            required,
            outcome,
            closed_by,
        }
    }
}

/// The secret ballots' counts per option, held beside the state (never in it, never in an
/// event): see the module's note on secrecy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Urn {
    /// The secret vote these counts belong to.
    pub vote: Option<VoteId>,
    /// Ballots per option id.
    pub counts: BTreeMap<String, u32>,
}

/// One secret ballot for the journal: which option of which vote gets one more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrnDeposit {
    /// The vote.
    pub vote: VoteId,
    /// The option.
    pub option: String,
}
