//! Request types and their precedence: defined here, once, for room and remote alike.
//!
//! The list of speakers is ordered by precedence rank first, then by arrival (FIFO within
//! a type). The chair may move a request only within its own type.
//!
//! | rank | type             | why                                                      |
//! |------|------------------|----------------------------------------------------------|
//! | 0    | point of order   | procedure comes before substance                         |
//! | 1    | reply            | answers the current speaker, so it comes directly after |
//! | 2    | ordinary request | the normal list, optionally tagged pro or contra         |

use serde::{Deserialize, Serialize};

/// The type of a request to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Antrag zur Geschäftsordnung: goes before everything else.
    PointOfOrder,
    /// Erwiderung: a reply to the current speaker, directly after them.
    Reply,
    /// Wortmeldung: an ordinary request.
    Ordinary,
}

/// An optional pro/contra tag on an ordinary request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stance {
    /// Speaks for the motion.
    Pro,
    /// Speaks against the motion.
    Contra,
}

impl RequestKind {
    /// Lower rank goes first.
    pub fn rank(self) -> u8 {
        match self {
            RequestKind::PointOfOrder => 0,
            RequestKind::Reply => 1,
            RequestKind::Ordinary => 2,
        }
    }

    /// All request kinds, highest precedence first.
    pub const BY_PRECEDENCE: [RequestKind; 3] =
        [RequestKind::PointOfOrder, RequestKind::Reply, RequestKind::Ordinary];
}

/// One row of the published precedence table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrecedenceRule {
    /// Request type.
    pub kind: RequestKind,
    /// Lower goes first.
    pub rank: u8,
    /// Human explanation (English).
    pub rule: String,
}

/// The precedence table as clients see it (`GET /api/v1/precedence`).
pub fn precedence_table() -> Vec<PrecedenceRule> {
    RequestKind::BY_PRECEDENCE
        .iter()
        .map(|&kind| PrecedenceRule {
            kind,
            rank: kind.rank(),
            rule: match kind {
                RequestKind::PointOfOrder => "before all other requests; FIFO among points of order",
                RequestKind::Reply => "after points of order, before ordinary requests; FIFO among replies",
                RequestKind::Ordinary => "after points of order and replies; FIFO by arrival",
            }
            .to_string(),
        })
        .collect()
}
