//! What the engine is set up with: the room's seats, the participants and the
//! discussion profile. The daemon builds this from the room configuration.

use serde::{Deserialize, Serialize};

/// A seat number as printed on the desk (1-based).
pub type SeatNo = u16;

/// A participant's stable identifier (from the configuration or the council system).
pub type ParticipantId = String;

/// Everything the engine needs to know about the room before the session starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Setup {
    /// The in-room seats (desk units).
    pub seats: Vec<SeatSetup>,
    /// Everyone who may take part.
    pub participants: Vec<Participant>,
    /// The discussion rules at the start of the session.
    pub profile: Profile,
    /// The quorum and vote settings.
    #[serde(default)]
    pub voting: crate::voting_rules::VotingRules,
    /// The sources the room can present on its screens and stream.
    #[serde(default)]
    pub presentation_sources: Vec<crate::presentation::PresentationSource>,
}

/// One desk unit in the room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeatSetup {
    /// The number on the desk.
    pub number: SeatNo,
    /// A label for consoles, e.g. "Chair" or "12".
    pub label: String,
    /// The participant who sits here when the session opens, if fixed seating.
    pub default_participant: Option<ParticipantId>,
    /// Where it is on the seat map (the room file's `x`, `y`); none: the consoles place it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<SeatPosition>,
}

/// A seat's place on the seat map, in grid units from the top left as seen from the
/// public (the chair's table at the front is usually `y = 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeatPosition {
    /// Column, 0 to 99.
    pub x: u16,
    /// Row, 0 to 99.
    pub y: u16,
}

/// A member, chair, staff or guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Participant {
    /// Stable identifier.
    pub id: ParticipantId,
    /// Name as shown on consoles and in the record.
    pub name: String,
    /// Political group (Fraktion), if any.
    pub group: Option<String>,
    /// Role in the meeting.
    pub role: Role,
    /// Whether this participant may join remotely (a virtual seat).
    pub remote_allowed: bool,
    /// Whether this participant has a vote.
    pub voting_right: bool,
    /// Whether this participant may attend the non-public part remotely (members and
    /// chairs by default; guests and staff not).
    #[serde(default = "admitted_by_default")]
    pub nonpublic_allowed: bool,
}

fn admitted_by_default() -> bool {
    true
}

/// A participant's role in the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Chairs the meeting; the chair's microphone is outside the limits.
    Chair,
    /// Stands in for the chair; treated like the chair at its seat.
    ViceChair,
    /// An ordinary member (delegate).
    Member,
    /// Administration staff.
    Staff,
    /// A guest (e.g. an expert heard on an item).
    Guest,
}

impl Role {
    /// Chair and vice chair speak outside the limits of open microphones.
    pub fn is_chair(self) -> bool {
        matches!(self, Role::Chair | Role::ViceChair)
    }

    /// All role names as written in configuration and API.
    pub const NAMES: &'static [&'static str] = &["chair", "vice_chair", "member", "staff", "guest"];
}

/// The discussion rules. Can be changed at run time by the chair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Profile {
    /// How microphones open.
    pub mode: Mode,
    /// How the microphone key of a desk unit acts.
    pub activation: Activation,
    /// Limits on microphones and the list.
    pub limits: Limits,
    /// Speaking-time rules.
    pub speaking_time: SpeakingTime,
    /// A podium or interruption seat whose microphone, like the chair's, is outside the limit.
    pub podium_seat: Option<SeatNo>,
}

/// The discussion mode: who opens microphones and when. See the crate docs for details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A request opens the microphone at once while below the limit, otherwise it is
    /// queued; when a microphone closes, the head of the list gets it automatically.
    Open,
    /// A request opens the microphone at once; at the limit the longest-speaking delegate is closed.
    Override,
    /// Requests are queued; the chair grants the floor (*next* grants the head of the list).
    Request,
    /// Only the chair or the technician opens delegate microphones; member keys do nothing.
    /// (Conference systems call this operator mode, after the person at the control desk;
    /// in Podium that person is the technician.)
    Operator,
    /// Microphones open on voice activity reported by the microphone system, while below the limit.
    Voice,
    /// A microphone is open while its key is held, while below the limit; nothing is queued.
    PushToTalk,
}

impl Mode {
    /// All mode names as written in configuration and API.
    pub const NAMES: &'static [&'static str] =
        &["open", "override", "request", "operator", "voice", "push_to_talk"];
}

/// How a desk unit's microphone key acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Press to request or open; press again to withdraw or close (where allowed).
    Toggle,
    /// Held to speak: releasing the key closes the microphone or withdraws the request.
    Push,
}

impl Activation {
    /// All activation names as written in configuration and API.
    pub const NAMES: &'static [&'static str] = &["toggle", "push"];
}

/// Limits of the discussion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    /// Open delegate microphones at most (chair and podium seat not counted); 1 to 25.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 25))]
    pub max_open_microphones: u16,
    /// Requests waiting at most; 0 means no requests can be queued (at most 200).
    #[cfg_attr(feature = "openapi", schema(maximum = 200))]
    pub max_requests: u16,
    /// Whether members may withdraw their own request.
    pub members_may_cancel: bool,
    /// Whether members may switch their own microphone off.
    pub members_may_switch_off: bool,
    /// Whether points of order are still accepted while the list is closed.
    pub point_of_order_when_closed: bool,
}

impl Limits {
    /// Largest allowed `max_open_microphones`.
    pub const MAX_OPEN: u16 = 25;
    /// Largest allowed `max_requests`.
    pub const MAX_REQUESTS: u16 = 200;

    /// Checks the ranges; returns the name of the first field out of range.
    pub fn out_of_range_field(&self) -> Option<&'static str> {
        if self.max_open_microphones == 0 || self.max_open_microphones > Self::MAX_OPEN {
            return Some("max_open_microphones");
        }
        if self.max_requests > Self::MAX_REQUESTS {
            return Some("max_requests");
        }
        None
    }
}

/// Speaking-time rules for one turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpeakingTime {
    /// Budget for one turn in seconds (1 to 86400, 24 hours); `None` means unlimited.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 86400))]
    pub turn_limit_s: Option<u32>,
    /// Seconds before expiry at which the warning starts (desk LED blinks, consoles warn);
    /// at most 86400 (24 hours).
    #[cfg_attr(feature = "openapi", schema(maximum = 86400))]
    pub warning_s: u32,
    /// What happens when the budget is used up.
    pub on_expiry: OnExpiry,
}

impl SpeakingTime {
    /// Longest time value in seconds (24 hours), as in the room file.
    pub const MAX_S: u32 = 24 * 3600;

    /// Checks the ranges; returns the name of the first field out of range.
    pub fn out_of_range_field(&self) -> Option<&'static str> {
        if self.turn_limit_s.is_some_and(|s| s == 0 || s > Self::MAX_S) {
            return Some("turn_limit_s");
        }
        if self.warning_s > Self::MAX_S {
            return Some("warning_s");
        }
        None
    }
}

/// What happens when a speaker's time runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnExpiry {
    /// The microphone stays open and the time runs negative.
    Continue,
    /// The microphone closes (mute source: timer).
    CutOff,
}

impl OnExpiry {
    /// All names as written in configuration and API.
    pub const NAMES: &'static [&'static str] = &["continue", "cut_off"];
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            mode: Mode::Request,
            activation: Activation::Toggle,
            limits: Limits {
                max_open_microphones: 1,
                max_requests: 50,
                members_may_cancel: true,
                members_may_switch_off: true,
                point_of_order_when_closed: true,
            },
            speaking_time: SpeakingTime { turn_limit_s: None, warning_s: 30, on_expiry: OnExpiry::Continue },
            podium_seat: None,
        }
    }
}
