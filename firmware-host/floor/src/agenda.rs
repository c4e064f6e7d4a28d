//! The meeting's agenda as the engine sees it: items with their publicity, which one is
//! current, and the members excluded from an item for conflict of interest.
//!
//! Items arrive as data in [`Command::SetAgenda`](crate::Command::SetAgenda) (from the
//! console or an OParl import); the engine never reads files or clocks.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::setup::{ParticipantId, SpeakingTime};

/// An item's identifier, unique within the agenda (its position is not its identity:
/// the printed number is free text).
pub type ItemId = u32;

/// Longest printed item number ("Ö 3.1").
pub const MAX_NUMBER_CHARS: usize = 32;
/// Longest item title.
pub const MAX_TITLE_CHARS: usize = 500;
/// Most items in one agenda.
pub const MAX_ITEMS: usize = 1_000;
/// Longest reason recorded for an exclusion.
pub const MAX_REASON_CHARS: usize = 200;

/// Whether the public may follow an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Publicity {
    /// Public part.
    Public,
    /// Non-public part: names stay off every public output.
    NonPublic,
    /// Not known (an import could not classify it): the chair must decide before the
    /// item can be entered. Never taken for public.
    Undecided,
}

/// An agenda line: an item that is discussed, or a header that only structures the agenda.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// An item that is discussed (can be current).
    #[default]
    Item,
    /// A heading such as "A Öffentliche Sitzung" (cannot be current).
    Header,
}

/// The paper (Vorlage) an item deals with.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaperRef {
    /// The paper's reference as printed ("VII-DS-01234").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The paper's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The paper's OParl id (URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oparl_id: Option<String>,
}

/// One agenda line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AgendaItem {
    /// Identifier, unique within the agenda.
    pub id: ItemId,
    /// Number as printed ("Ö 3.1", "N 2"); may be empty for a header. At most 32
    /// characters, no control characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 32, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    pub number: String,
    /// Title: 1 to 500 characters, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 500, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")
    )]
    pub title: String,
    /// Item or header.
    #[serde(default)]
    pub kind: ItemKind,
    /// Public, non-public or undecided.
    pub publicity: Publicity,
    /// The paper it deals with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<PaperRef>,
    /// The OParl id (URL) of the agenda item it was imported from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oparl_id: Option<String>,
    /// Speaking-time rules for this item (the meeting's rules when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaking_time: Option<SpeakingTime>,
}

impl AgendaItem {
    /// The first field that breaks the limits, with why (for a 422 naming the field).
    pub fn invalid_field(&self) -> Option<(&'static str, &'static str)> {
        fn bad_text(text: &str, max: usize) -> Option<&'static str> {
            if text.chars().count() > max {
                Some("too long")
            } else if text.chars().any(char::is_control) {
                Some("contains control characters")
            } else {
                None
            }
        }
        if i32::try_from(self.id).is_err() {
            // Ids are 32-bit integers in the API description.
            return Some(("id", "too large"));
        }
        if let Some(why) = bad_text(&self.number, MAX_NUMBER_CHARS) {
            return Some(("number", why));
        }
        if let Some(why) = bad_text(&self.title, MAX_TITLE_CHARS) {
            return Some(("title", why));
        }
        if self.title.is_empty() {
            return Some(("title", "empty"));
        }
        if let Some(speaking_time) = &self.speaking_time
            && let Some(field) = speaking_time.out_of_range_field()
        {
            return Some((field, "out of range"));
        }
        None
    }

    /// "Ö 3.1 Bebauungsplan" (or the title alone when there is no number).
    pub fn label(&self) -> String {
        if self.number.is_empty() { self.title.clone() } else { format!("{} {}", self.number, self.title) }
    }
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Not yet discussed.
    #[default]
    Pending,
    /// Under discussion now.
    Current,
    /// Discussed (it can be called up again).
    Done,
}

/// Whether a meeting is open, and whether it is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MeetingPhase {
    /// No meeting is open: the floor works, labelled as no meeting.
    #[default]
    None,
    /// A meeting is open and running.
    Open,
    /// The meeting is suspended (Sitzungsunterbrechung): delegate microphones are closed,
    /// the list is kept, new requests wait until it resumes.
    Suspended,
}

/// An item's line in the state: the item and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgendaEntry {
    /// The item.
    pub item: AgendaItem,
    /// Pending, current or done.
    pub status: ItemStatus,
    /// Members excluded from this item for conflict of interest, with the reason recorded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub excluded: BTreeMap<ParticipantId, String>,
}

/// Whether the list carries over to the next item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CarryOver {
    /// Each item keeps its own list: waiting requests stay with the item they were made
    /// on and come back when it is called up again.
    #[default]
    PerItem,
    /// Waiting requests move on to the next item.
    Carry,
}
