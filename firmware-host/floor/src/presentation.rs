//! Presentation: a source (the lectern laptop, the document camera, the conference's screen
//! share) shown on the hall screens, the stream or both, instead of what the floor would
//! show. The engine keeps which source is presented where, so it is in every snapshot, in
//! the journal and back after a restart; which input each screen needs for it is the
//! room's business (podiumd's display director).
//!
//! Rules: the chair or the technician presents a source named in the setup and stops it;
//! presenting another source replaces the one presented; stopping returns every screen to
//! the floor. The floor itself is untouched by either.

use serde::{Deserialize, Serialize};

use crate::engine::Floor;
use crate::outcome::{Change, Reason, Rejection};
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

impl Floor {
    pub(crate) fn present_source(
        &mut self,
        now: Timestamp,
        source: &str,
        on: Screens,
    ) -> Result<(), Rejection> {
        if !self.setup().presentation_sources.iter().any(|s| s.name == source) {
            let known: Vec<&str> =
                self.setup().presentation_sources.iter().map(|s| s.name.as_str()).collect();
            return Err(Rejection::new(
                Reason::UnknownSource,
                if known.is_empty() {
                    "this room has no presentation sources ([[presentation_source]])".to_owned()
                } else {
                    format!("no presentation source `{source}`; the room has {}", known.join(", "))
                },
            ));
        }
        let same = self.state().presentation.as_ref().is_some_and(|p| p.source == source && p.on == on);
        if !same {
            self.emit(now, Change::PresentationStarted { source: source.to_owned(), on });
        }
        Ok(())
    }

    pub(crate) fn stop_presenting(&mut self, now: Timestamp) -> Result<(), Rejection> {
        if self.state().presentation.is_none() {
            return Err(Rejection::new(Reason::NotPresenting, "nothing is presented"));
        }
        self.emit(now, Change::PresentationStopped {});
        Ok(())
    }
}
