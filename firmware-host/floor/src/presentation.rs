//! Presentation: a source (the lectern laptop, the document camera, the conference's screen
//! share) shown on the hall screens, the stream or both, instead of what the floor would
//! show. The engine keeps which source is presented where, so it is in every snapshot, in
//! the journal and back after a restart; which input each screen needs for it is the
//! room's business (podiumd's display director).
//!
//! The data only; the rules are in `council.rs` (`present_source`, `stop_presenting`).

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// A source the room can present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresentationSource {
    /// Its name in the room file, e.g. `lectern`.
    pub name: String,
    /// What the consoles call it, e.g. "Laptop am Rednerpult".
    pub label: String,
}

/// Where a source is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Screens {
    /// The screens in the hall.
    Hall,
    /// What goes out on the stream.
    Stream,
    /// Both.
    Both,
}

impl Screens {
    /// Whether this covers the hall's screens.
    pub fn hall(self) -> bool {
        matches!(self, Screens::Hall | Screens::Both)
    }

    /// Whether this covers the stream.
    pub fn stream(self) -> bool {
        matches!(self, Screens::Stream | Screens::Both)
    }
}

/// The source presented now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Presentation {
    /// The source's name.
    pub source: String,
    /// Where.
    pub on: Screens,
    /// Since when.
    pub since: Timestamp,
}
