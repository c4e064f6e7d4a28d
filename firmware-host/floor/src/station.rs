//! Where a microphone is: a desk unit in the room or a remote member's virtual seat.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::setup::{ParticipantId, SeatNo};

/// A microphone position. A remote participant is a virtual seat: same list, same rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// The schema by hand: the derive cannot bound a tuple variant's number, and a seat number
/// above 65535 is not a seat (`{"seat": 12}` or `{"remote": "mueller"}`, one key only).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Station {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        let one_key = |key: &str, value: ObjectBuilder, description: &str| {
            ObjectBuilder::new()
                .property(key, value)
                .required(key)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .description(Some(description))
        };
        OneOfBuilder::new()
            .item(one_key(
                "seat",
                ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).maximum(Some(65535)),
                "A desk unit in the room, by seat number.",
            ))
            .item(one_key(
                "remote",
                ObjectBuilder::new().schema_type(Type::String),
                "A remote participant's virtual seat, by participant id.",
            ))
            .description(Some(
                "A microphone position: a seat in the room or a remote participant's virtual seat.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Station {}
