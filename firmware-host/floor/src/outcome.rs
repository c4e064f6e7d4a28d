//! Events (what changed) and rejections (why nothing changed).

use serde::{Deserialize, Serialize};

use crate::agenda::{AgendaItem, CarryOver, ItemId, MeetingPhase, Publicity};
use crate::budget::BudgetState;
use crate::entries::{Presence, Request, Speaker};
use crate::setup::{ParticipantId, Profile, SpeakingTime};
use crate::station::Station;
use crate::time::Timestamp;
use crate::vote::{Attendance, Ballot, Quorum, Vote, VoteId, VoteResult};

/// One accepted change, numbered without gaps from 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Sequence number: 1 for the first event, +1 for each further one.
    pub seq: u64,
    /// When the change happened.
    pub at: Timestamp,
    /// What changed.
    pub change: Change,
}

/// What an event changed. Applying these in order to the initial state gives the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// A request joined the list at a 1-based position.
    RequestAdded {
        /// The new request.
        request: Request,
        /// 1-based position in the list.
        position: usize,
    },
    /// A request left the list.
    RequestRemoved {
        /// Whose request.
        station: Station,
        /// Why.
        reason: RequestEnd,
    },
    /// The chair moved a request.
    RequestMoved {
        /// Whose request.
        station: Station,
        /// New 1-based position.
        position: usize,
    },
    /// Every waiting request was removed at once.
    RequestsCleared {
        /// How many were removed.
        count: usize,
        /// Why.
        reason: RequestEnd,
    },
    /// A microphone opened: someone has the floor.
    MicrophoneOpened {
        /// The new speaker with their clock.
        speaker: Speaker,
    },
    /// A microphone closed.
    MicrophoneClosed {
        /// Whose microphone.
        station: Station,
        /// Who was speaking there.
        participant: Option<ParticipantId>,
        /// Who or what closed it (mute provenance).
        closed_by: MuteSource,
        /// Speaking time of this turn in milliseconds, pauses excluded.
        spoken_ms: u64,
    },
    /// A speaker's clock was paused.
    SpeakerPaused {
        /// Whose clock.
        station: Station,
    },
    /// A speaker's clock runs again.
    SpeakerResumed {
        /// Whose clock.
        station: Station,
    },
    /// The warning time before the end of a turn was reached.
    TimeWarning {
        /// Whose turn.
        station: Station,
    },
    /// A turn's budget is used up (the microphone closes next if the profile cuts off).
    TimeExpired {
        /// Whose turn.
        station: Station,
    },
    /// The list was closed or reopened.
    ListOpenChanged {
        /// Open now?
        open: bool,
    },
    /// Mode, activation, limits or speaking time changed.
    ProfileChanged {
        /// The whole new profile.
        profile: Profile,
    },
    /// A participant's presence changed.
    PresenceChanged {
        /// Who.
        participant: ParticipantId,
        /// Where they are now.
        presence: Presence,
    },
    /// A meeting opened, was suspended, resumed or closed.
    PhaseChanged {
        /// The new phase.
        phase: MeetingPhase,
    },
    /// The agenda was replaced (every item pending, none current, no waiting requests kept).
    AgendaSet {
        /// The items, in order.
        items: Vec<AgendaItem>,
        /// Whether requests carry over from item to item.
        carry_over: CarryOver,
    },
    /// The chair decided whether an item is public.
    PublicityConfirmed {
        /// The item.
        item: ItemId,
        /// Public or non-public.
        publicity: Publicity,
    },
    /// An item became the current one.
    ItemEntered {
        /// The item.
        item: ItemId,
    },
    /// The current item was finished (or left for another).
    ItemFinished {
        /// The item.
        item: ItemId,
    },
    /// The waiting requests stay with the item they were made on.
    RequestsParked {
        /// The item they belong to.
        item: ItemId,
        /// How many.
        count: usize,
    },
    /// The requests kept with an item are back in the list (those whose members are still
    /// where they asked from and not excluded).
    RequestsRestored {
        /// The item.
        item: ItemId,
        /// The requests, in order.
        requests: Vec<Request>,
    },
    /// The meeting's speaking-time rules, kept while an item has its own (none: no item
    /// overrides them now).
    MeetingSpeakingTimeKept {
        /// The meeting's rules.
        speaking_time: Option<SpeakingTime>,
    },
    /// A source is presented (replacing any presented before).
    PresentationStarted {
        /// The source's name.
        source: String,
        /// Where.
        on: crate::presentation::Screens,
    },
    /// Nothing is presented any more: every screen follows the floor.
    PresentationStopped {},
    /// The public part started or ended.
    PublicChanged {
        /// Public (true) or non-public (false).
        public: bool,
    },
    /// A member was excluded from an item for conflict of interest (Befangenheit).
    Excluded {
        /// The item.
        item: ItemId,
        /// Who.
        participant: ParticipantId,
        /// Why, as recorded.
        reason: String,
    },
    /// An exclusion was lifted.
    Readmitted {
        /// The item.
        item: ItemId,
        /// Who.
        participant: ParticipantId,
    },
    /// Speaking-time budgets were set (none: removed).
    BudgetSet {
        /// The budget, counting from zero.
        budget: Option<BudgetState>,
    },
    /// A group's time is nearly used up.
    BudgetWarning {
        /// The group.
        group: String,
    },
    /// A group's time is used up.
    BudgetExhausted {
        /// The group.
        group: String,
    },
    /// The requests kept with items were dropped (the meeting closed).
    ParkedCleared {
        /// How many.
        count: usize,
    },
    /// A member arrived, left, or was marked present, excused or absent.
    AttendanceChanged {
        /// Who.
        participant: ParticipantId,
        /// Their attendance from now on.
        attendance: Attendance,
    },
    /// The number of members present with a vote changed, or the quorum with it.
    QuorumChanged {
        /// The quorum now.
        quorum: Quorum,
    },
    /// The chair opened a vote.
    VoteOpened {
        /// The vote, with no ballots yet.
        vote: Box<Vote>,
    },
    /// A member voted (or changed their vote). In a secret vote the ballot has no choice.
    BallotCast {
        /// The vote.
        vote: VoteId,
        /// Who.
        participant: ParticipantId,
        /// The ballot.
        ballot: Ballot,
    },
    /// A vote closed with its result.
    VoteClosed {
        /// The vote.
        vote: VoteId,
        /// The result.
        result: VoteResult,
    },
    /// The statutory number of members for this meeting was set (none: the room's).
    StatutoryMembersSet {
        /// The number.
        count: Option<u32>,
    },
    /// A vote was cancelled without a result (by the chair, or the meeting closed).
    VoteCancelled {
        /// The vote.
        vote: VoteId,
    },
}

/// Why a request left the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestEnd {
    /// The requester got the floor.
    Granted,
    /// The member withdrew it.
    Withdrawn,
    /// The chair or operator removed it.
    RemovedByChair,
    /// The chair cleared the list.
    Cleared,
    /// The priority key cleared the list.
    Priority,
    /// The participant moved (seat ↔ remote) or left.
    PresenceChanged,
    /// The member was excluded from the current item (conflict of interest).
    Excluded,
    /// The member's group used up its speaking time.
    BudgetExhausted,
    /// The meeting closed: its waiting requests end with it.
    MeetingClosed,
}

/// Who or what closed a microphone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MuteSource {
    /// The chair (stop, stop all, grant at the limit, lowered limits).
    Chair,
    /// The member at the station.
    Member,
    /// The room technician. Journals written before this name read `operator`.
    #[serde(alias = "operator")]
    Technician,
    /// The speaking-time budget ran out.
    Timer,
    /// The chair's priority key.
    Priority,
    /// A new speaker in override mode displaced the longest speaker.
    Override,
    /// The microphone system reported silence (voice mode).
    Voice,
    /// A presence change (seat released, remote member left) or an integration.
    System,
    /// The member was excluded from the current item (conflict of interest).
    Exclusion,
    /// The meeting was suspended.
    Suspension,
    /// The group's speaking-time budget ran out.
    Budget,
}

/// Why a command was rejected. Stable, machine-readable codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No such seat in this room.
    UnknownSeat,
    /// No such participant.
    UnknownParticipant,
    /// The remote participant is not present remotely.
    NotPresent,
    /// This participant may not attend remotely.
    RemoteNotAllowed,
    /// The seat is taken by someone else.
    SeatOccupied,
    /// The list of speakers is closed.
    ListClosed,
    /// The list of speakers is full.
    ListFull,
    /// The actor may not issue this command.
    NotAllowedForRole,
    /// The current mode does not allow this.
    NotAllowedInMode,
    /// As many delegate microphones are open as allowed.
    MicrophoneLimitReached,
    /// Members may not withdraw their own request.
    CancelNotAllowed,
    /// Members may not switch their own microphone off.
    SwitchOffNotAllowed,
    /// The station has no waiting request.
    NotRequested,
    /// The station's microphone is not open.
    NotSpeaking,
    /// The station's microphone is already open.
    AlreadySpeaking,
    /// A reply needs someone else speaking.
    NoCurrentSpeaker,
    /// The list is empty.
    EmptyList,
    /// The position is outside the list or outside the request's own type.
    InvalidPosition,
    /// Limits out of their allowed range.
    InvalidLimits,
    /// Speaking-time rules out of range.
    InvalidSpeakingTime,
    /// The speaker's clock is already paused.
    AlreadyPaused,
    /// The speaker's clock is not paused.
    NotPaused,
    /// The meeting is suspended.
    MeetingSuspended,
    /// No such agenda item.
    NoSuchItem,
    /// The agenda line is a header, not an item.
    NotAnItem,
    /// The item's publicity is undecided: the chair must decide first.
    PublicityUndecided,
    /// The member is excluded from the current item (conflict of interest).
    ExcludedFromItem,
    /// The member's group has used up its speaking time.
    BudgetExhausted,
    /// The member may not attend the non-public part.
    NotAdmittedNonPublic,
    /// The agenda cannot be replaced while an item is current.
    AgendaLocked,
    /// No presentation source of that name.
    UnknownSource,
    /// Nothing is presented.
    NotPresenting,
    /// The agenda or budget is invalid.
    InvalidAgenda,
    /// No item is current.
    NoCurrentItem,
    /// An attendance command that does not fit (e.g. a seat check-in without badge or PIN).
    InvalidAttendance,
    /// A vote is open: the item, agenda or exclusions cannot change, nor can another open.
    VoteOpen,
    /// The vote's settings are out of range.
    InvalidVote,
    /// Votes are held in an open meeting.
    NoMeeting,
    /// No vote is open.
    NoVoteOpen,
    /// The vote has no such option.
    NoSuchOption,
    /// The member may not vote in this vote (not present, no vote, excluded, remote in a
    /// secret vote where that is not allowed).
    NotEntitled,
    /// The member has voted and the vote does not allow changes.
    VoteFinal,
    /// A secret vote's counts are incomplete (not restored after a restart): it can only be
    /// cancelled and held again.
    UrnIncomplete,
}

impl Reason {
    /// The stable code as used in JSON (`list_closed`, ...).
    pub fn code(self) -> &'static str {
        match self {
            Reason::UnknownSeat => "unknown_seat",
            Reason::UnknownParticipant => "unknown_participant",
            Reason::NotPresent => "not_present",
            Reason::RemoteNotAllowed => "remote_not_allowed",
            Reason::SeatOccupied => "seat_occupied",
            Reason::ListClosed => "list_closed",
            Reason::ListFull => "list_full",
            Reason::NotAllowedForRole => "not_allowed_for_role",
            Reason::NotAllowedInMode => "not_allowed_in_mode",
            Reason::MicrophoneLimitReached => "microphone_limit_reached",
            Reason::CancelNotAllowed => "cancel_not_allowed",
            Reason::SwitchOffNotAllowed => "switch_off_not_allowed",
            Reason::NotRequested => "not_requested",
            Reason::NotSpeaking => "not_speaking",
            Reason::AlreadySpeaking => "already_speaking",
            Reason::NoCurrentSpeaker => "no_current_speaker",
            Reason::EmptyList => "empty_list",
            Reason::InvalidPosition => "invalid_position",
            Reason::InvalidLimits => "invalid_limits",
            Reason::InvalidSpeakingTime => "invalid_speaking_time",
            Reason::AlreadyPaused => "already_paused",
            Reason::NotPaused => "not_paused",
            Reason::MeetingSuspended => "meeting_suspended",
            Reason::NoSuchItem => "no_such_item",
            Reason::NotAnItem => "not_an_item",
            Reason::PublicityUndecided => "publicity_undecided",
            Reason::ExcludedFromItem => "excluded_from_item",
            Reason::BudgetExhausted => "budget_exhausted",
            Reason::NotAdmittedNonPublic => "not_admitted_non_public",
            Reason::AgendaLocked => "agenda_locked",
            Reason::UnknownSource => "unknown_source",
            Reason::NotPresenting => "not_presenting",
            Reason::InvalidAgenda => "invalid_agenda",
            Reason::NoCurrentItem => "no_current_item",
            Reason::InvalidAttendance => "invalid_attendance",
            Reason::VoteOpen => "vote_open",
            Reason::InvalidVote => "invalid_vote",
            Reason::NoMeeting => "no_meeting",
            Reason::NoVoteOpen => "no_vote_open",
            Reason::NoSuchOption => "no_such_option",
            Reason::NotEntitled => "not_entitled",
            Reason::VoteFinal => "vote_final",
            Reason::UrnIncomplete => "urn_incomplete",
        }
    }

    /// Whether the reason means "the thing named does not exist" (HTTP 404) rather than
    /// "the rules forbid it" (HTTP 409).
    pub fn is_unknown_target(self) -> bool {
        matches!(
            self,
            Reason::UnknownSeat | Reason::UnknownParticipant | Reason::NoSuchItem | Reason::UnknownSource
        )
    }
}

/// A command that changed nothing, with the reason and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{message}")]
pub struct Rejection {
    /// Machine-readable reason.
    pub reason: Reason,
    /// Human-readable explanation (English).
    pub message: String,
}

impl Rejection {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Rejection { reason, message: message.into() }
    }
}
