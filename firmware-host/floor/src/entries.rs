//! The entries of the floor's state: a participant's presence, a waiting request, an open
//! microphone. Their own module, because both the state (`state.rs`) and the events that
//! change it (`outcome.rs`) carry them, and neither may import the other back.

use serde::{Deserialize, Serialize};

use crate::precedence::{RequestKind, Stance};
use crate::setup::{ParticipantId, SeatNo};
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
    /// When the hand went up in the video conference (Unix milliseconds, the conference's
    /// clock), for a request a bridge relayed; see `Command::Request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raised_at: Option<u64>,
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
