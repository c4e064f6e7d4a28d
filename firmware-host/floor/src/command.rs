//! What can be asked of the engine, and by whom.

use serde::{Deserialize, Serialize};

use crate::agenda::{AgendaItem, CarryOver, ItemId, MeetingPhase, Publicity};
use crate::budget::BudgetSpec;
use crate::precedence::{RequestKind, Stance};
use crate::setup::{Activation, Limits, Mode, ParticipantId, SeatNo, SpeakingTime};
use crate::station::Station;
use crate::vote::{AttendanceStatus, CheckInMethod, Choice, VoteRequest};

/// Who issues a command. The daemon maps its sources (desk unit, web console with a
/// role, MQTT bridge) to one of these; the engine checks permissions against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The chair: chair desk unit, button box or chair console.
    Chair,
    /// The room technician (the technician console, or an operator's desk). Journals
    /// written before this name read `operator`.
    #[serde(alias = "operator")]
    Technician,
    /// The member at a station acting for themselves (desk unit keys, remote page).
    Station(Station),
    /// An integration acting for the room: microphone system, video-conference bridge.
    System,
}

/// A command to the engine. Every command is accepted (with the events it caused,
/// possibly none when it changes nothing) or rejected with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Request to speak. A repeated request from the same station changes nothing.
    Request {
        /// Who requests.
        station: Station,
        /// Type of the request; ordinary when absent.
        #[serde(default = "ordinary")]
        kind: RequestKind,
        /// Optional pro/contra tag (ordinary requests only).
        #[serde(default)]
        stance: Option<Stance>,
        /// When the member raised their hand in the video conference (Unix milliseconds on
        /// the conference's clock), as a bridge reports it. Kept in the record beside the
        /// server stamp; the list's order is still the order of arrival here.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raised_at: Option<u64>,
    },
    /// Withdraw a request: by the member (if members may cancel) or by the chair (always).
    Withdraw {
        /// Whose request.
        station: Station,
    },
    /// Close a microphone: by the member (if members may switch off) or by the chair.
    Stop {
        /// Whose microphone.
        station: Station,
    },
    /// A member's cancel key: stops the station's microphone if it speaks, else withdraws
    /// its request if it waits, else changes nothing. The same rights apply as to `stop`
    /// and `withdraw` (may members switch off, may they withdraw). Decided by the engine on
    /// the current state, so a key pressed while earlier changes are still on their way to
    /// the journal does what the floor says at the moment it is applied.
    Cancel {
        /// Whose microphone or request.
        station: Station,
    },
    /// The microphone key of a desk unit went down; acts according to mode and activation.
    KeyPress {
        /// Which desk unit or virtual seat.
        station: Station,
    },
    /// The microphone key went up (matters for push activation and push-to-talk).
    KeyRelease {
        /// Which desk unit or virtual seat.
        station: Station,
    },
    /// Voice activity reported by the microphone system (voice mode).
    VoiceActivity {
        /// Which microphone.
        station: Station,
        /// Speech detected (true) or silence (false).
        active: bool,
    },
    /// Chair: give the floor to a station, from the list or directly. At the limit of open
    /// microphones, the longest-speaking delegate is closed first.
    Grant {
        /// Who gets the floor.
        station: Station,
    },
    /// Chair: give the floor to the head of the list.
    Next {},
    /// Chair: close every delegate microphone (the chair's and podium's stay open).
    StopAll {},
    /// Chair's stop key: close the microphone of the delegate who got the floor last (the
    /// chair's and podium's stay open); changes nothing when no delegate speaks.
    StopCurrent {},
    /// Chair's priority key: every delegate microphone off, optionally clear the list.
    Priority {
        /// Also remove every waiting request.
        #[serde(default)]
        clear_requests: bool,
    },
    /// Chair: move a request to a 1-based position in the list, within its own type.
    MoveRequest {
        /// Whose request.
        station: Station,
        /// New 1-based position in the whole list (at most 200, the longest list).
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 200))]
        position: usize,
    },
    /// Chair: remove every waiting request.
    ClearRequests {},
    /// Chair: close or reopen the list of speakers.
    SetListOpen {
        /// Open (true) or closed (false).
        open: bool,
    },
    /// Chair: change the discussion mode.
    SetMode {
        /// New mode.
        mode: Mode,
    },
    /// Chair: change how microphone keys act.
    SetActivation {
        /// New activation.
        activation: Activation,
    },
    /// Chair: change the limits. Extra open delegate microphones are closed, longest first.
    SetLimits {
        /// New limits.
        limits: Limits,
    },
    /// Chair: change the speaking-time rules for turns that start from now on.
    SetSpeakingTime {
        /// New rules.
        speaking_time: SpeakingTime,
    },
    /// Chair: pause a speaker's clock (e.g. for an interposed question).
    PauseSpeaker {
        /// Whose clock.
        station: Station,
    },
    /// Chair: resume a paused speaker's clock.
    ResumeSpeaker {
        /// Whose clock.
        station: Station,
    },
    /// A member joins remotely; this releases their seat (one identity, one presence).
    JoinRemote {
        /// Who joins.
        participant: ParticipantId,
    },
    /// A remote member leaves; their request and microphone end.
    LeaveRemote {
        /// Who leaves.
        participant: ParticipantId,
    },
    /// A participant sits at a seat (check-in); this ends any remote presence.
    TakeSeat {
        /// Who sits down.
        participant: ParticipantId,
        /// Where.
        #[cfg_attr(feature = "openapi", schema(value_type = u16, maximum = 65535))]
        seat: SeatNo,
    },
    /// Whoever sits at a seat leaves it.
    LeaveSeat {
        /// Which seat.
        #[cfg_attr(feature = "openapi", schema(value_type = u16, maximum = 65535))]
        seat: SeatNo,
    },
    /// podiumd itself, with the journal's meeting record: the meeting opened, was
    /// suspended, resumed or closed. Clients use the meeting routes instead.
    SetPhase {
        /// The new phase.
        phase: MeetingPhase,
    },
    /// Chair: replace the agenda (not while an item is current).
    SetAgenda {
        /// The items, in order (at most 1,000).
        #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
        items: Vec<AgendaItem>,
        /// Whether waiting requests move on to the next item.
        #[serde(default)]
        carry_over: CarryOver,
    },
    /// Chair: decide whether an item is public (for an item an import left undecided, or
    /// when the council decides to exclude the public).
    SetPublicity {
        /// The item.
        item: ItemId,
        /// Public or non-public (not undecided).
        publicity: Publicity,
    },
    /// Chair: call up an item (the current one, if any, is finished).
    EnterItem {
        /// The item.
        item: ItemId,
    },
    /// Chair: finish the current item and call up the next pending one.
    NextItem {},
    /// Chair: finish the current item.
    FinishItem {},
    /// Chair: start or end the non-public part regardless of the item.
    SetPublic {
        /// Public (true) or non-public (false).
        public: bool,
    },
    /// Chair: exclude a member from an item for conflict of interest (Befangenheit).
    Exclude {
        /// The item.
        item: ItemId,
        /// Who.
        participant: ParticipantId,
        /// Why, as recorded in the minutes (at most 200 characters, no control characters).
        #[serde(default)]
        #[cfg_attr(
            feature = "openapi",
            schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")
        )]
        reason: String,
    },
    /// Chair: lift an exclusion.
    Readmit {
        /// The item.
        item: ItemId,
        /// Who.
        participant: ParticipantId,
    },
    /// Chair: set (or with `null` remove) speaking-time budgets per group.
    SetBudget {
        /// The budget; counting starts from zero.
        budget: Option<BudgetSpec>,
    },
    /// The presence key of a desk unit: its occupant checks in there, or out if checked in
    /// there already.
    PresenceKey {
        /// The seat.
        #[cfg_attr(feature = "openapi", schema(value_type = u16, maximum = 65535))]
        seat: SeatNo,
    },
    /// A desk unit identified a member by badge or PIN: they take the seat and check in.
    CheckInAtSeat {
        /// The seat.
        #[cfg_attr(feature = "openapi", schema(value_type = u16, maximum = 65535))]
        seat: SeatNo,
        /// Who (podiumd looks the badge or PIN up in the room file).
        participant: ParticipantId,
        /// `badge` or `pin`.
        method: CheckInMethod,
    },
    /// The badge left the reader: the member checked in at this seat departs.
    CheckOutAtSeat {
        /// The seat.
        #[cfg_attr(feature = "openapi", schema(value_type = u16, maximum = 65535))]
        seat: SeatNo,
    },
    /// Chair or technician: record a member as present, excused or absent.
    MarkAttendance {
        /// Who.
        participant: ParticipantId,
        /// Present, excused or absent.
        status: AttendanceStatus,
    },
    /// Chair or technician: check in every member sitting at a seat.
    MarkSeatedPresent {},
    /// Chair: open a vote on the current item.
    OpenVote {
        /// Question, kind, options, majority, duration.
        vote: VoteRequest,
    },
    /// Cast (or change) a vote: from a seat for its occupant, from a remote member for
    /// themself, or by the chair or technician for a named member without a device.
    CastVote {
        /// The member (required for an entry by the chair or technician).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
        /// The option's id; `yes`, `no` and `abstain` also pick the first option counting
        /// as that.
        #[cfg_attr(
            feature = "openapi",
            schema(value_type = String, min_length = 1, max_length = 32, pattern = r"^[A-Za-z0-9_-]+$")
        )]
        choice: Choice,
    },
    /// Chair: close the open vote and compute its result.
    CloseVote {},
    /// Chair (or podiumd, from the organization of an imported meeting): the statutory
    /// number of members for this meeting where the room file sets none (`null`: everyone
    /// with a vote). Not while a vote runs.
    SetStatutoryMembers {
        /// 1 to 2,000, or none.
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2000))]
        count: Option<u32>,
    },
    /// Chair: cancel the open vote without a result.
    CancelVote {},
    /// Chair or technician: present a source (`[[presentation_source]]`) on the hall's
    /// screens, the stream or both, instead of what the floor shows there.
    Present {
        /// The source's name.
        source: String,
        /// Where: `hall`, `stream` or `both`.
        on: crate::presentation::Screens,
    },
    /// Chair or technician: stop presenting; every screen follows the floor again.
    StopPresenting {},
}

fn ordinary() -> RequestKind {
    RequestKind::Ordinary
}

impl Command {
    /// Commands only the chair or operator may issue.
    pub fn is_chair_command(&self) -> bool {
        matches!(
            self,
            Command::Grant { .. }
                | Command::Next {}
                | Command::StopAll {}
                | Command::StopCurrent {}
                | Command::Priority { .. }
                | Command::MoveRequest { .. }
                | Command::ClearRequests {}
                | Command::SetListOpen { .. }
                | Command::SetMode { .. }
                | Command::SetActivation { .. }
                | Command::SetLimits { .. }
                | Command::SetSpeakingTime { .. }
                | Command::PauseSpeaker { .. }
                | Command::ResumeSpeaker { .. }
                | Command::SetAgenda { .. }
                | Command::SetPublicity { .. }
                | Command::EnterItem { .. }
                | Command::NextItem {}
                | Command::FinishItem {}
                | Command::SetPublic { .. }
                | Command::Exclude { .. }
                | Command::Readmit { .. }
                | Command::SetBudget { .. }
                | Command::MarkAttendance { .. }
                | Command::MarkSeatedPresent {}
                | Command::OpenVote { .. }
                | Command::CloseVote {}
                | Command::CancelVote {}
                | Command::SetStatutoryMembers { .. }
                | Command::Present { .. }
                | Command::StopPresenting {}
        )
    }

    /// The first value out of the range the room file allows, by field name (the engine
    /// rejects such a command; the API answers 422 naming the field before asking it).
    pub fn out_of_range_field(&self) -> Option<&'static str> {
        match self {
            Command::SetLimits { limits } => limits.out_of_range_field(),
            Command::SetSpeakingTime { speaking_time } => speaking_time.out_of_range_field(),
            Command::SetBudget { budget: Some(budget) } => budget.out_of_range_field(),
            Command::OpenVote { vote } => vote.out_of_range_field(),
            Command::SetStatutoryMembers { count: Some(n) } if *n == 0 || *n > crate::vote::MAX_STATUTORY => {
                Some("count")
            }
            Command::CastVote { choice, .. }
                if choice.as_str().is_empty()
                    || choice.as_str().len() > crate::vote::MAX_OPTION_ID_CHARS
                    || !choice
                        .as_str()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                Some("choice")
            }
            _ => None,
        }
    }
}
