//! Where a microphone is: a desk unit in the room or a remote member's virtual seat.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::setup::{ParticipantId, SeatNo};

/// A microphone position. A remote participant is a virtual seat: same list, same rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Station {
    /// A desk unit in the room, by seat number.
    Seat(SeatNo),
    /// A remote participant's virtual seat, by participant id.
    Remote(ParticipantId),
}

impl fmt::Display for Station {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Station::Seat(n) => write!(f, "seat {n}"),
            Station::Remote(id) => write!(f, "remote {id}"),
        }
    }
}
