//! OParl 1.0/1.1 agenda import: a meeting, its agenda items and the members of its
//! organization, read from an OParl endpoint over HTTP(S) or from JSON files, mapped to
//! engine agenda items and to the room's members.
//!
//! The import is all or nothing: any required object that cannot be read or understood
//! gives [`ImportError`] with every failure (URL and JSON path each), and nothing
//! partial. Optional objects (consultations and papers) that fail are warnings.
//!
//! `model.rs` (tolerant serde types), `fetch.rs` (HTTP with limits, paginated lists),
//! `files.rs` (a file or a directory of files), `classify.rs` (public, non-public or
//! undecided; pure), `map.rs` (OParl → engine items and the member report; pure).

mod classify;
mod fetch;
mod files;
mod map;
pub mod model;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use classify::{DEFAULT_NON_PUBLIC_MARKERS, DEFAULT_PUBLIC_MARKERS, Line, Markers, Verdict, classify};

/// Where the meeting comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An OParl endpoint: a Meeting URL, or a System URL with the meeting given separately.
    Url {
        /// The System or Meeting URL.
        url: String,
        /// With a System URL: the meeting's URL, or its id (the last part of its URL),
        /// looked up in the bodies' meeting lists.
        meeting: Option<String>,
    },
    /// A Meeting JSON file, or a directory of JSON files (layout in `files.rs` and
    /// config/README.md, "OParl import").
    Files(PathBuf),
}

/// How the import reads and classifies (`[oparl]` in the room file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OparlSettings {
    /// `[oparl] system`: the council information system's OParl System URL. The technician
    /// console imports from it (and only from its host: the API never fetches a URL a
    /// client names on another host).
    pub system: Option<String>,
    /// Longest wait for one HTTP answer (connect to last byte).
    pub request_timeout: Duration,
    /// Longest time for the whole import.
    pub total_timeout: Duration,
    /// Largest accepted body of one answer (or one file).
    pub max_body_bytes: usize,
    /// Most pages read from one list.
    pub max_pages: usize,
    /// Requests in flight at once for objects fetched one by one.
    pub concurrency: usize,
    /// Above this many memberships (persons), the body's list is read page by page instead
    /// of fetching each object.
    pub list_threshold: usize,
    /// Names of header lines that open a public section.
    pub public_markers: Vec<String>,
    /// Names of header lines that open a non-public section.
    pub non_public_markers: Vec<String>,
}

impl Default for OparlSettings {
    fn default() -> Self {
        OparlSettings {
            request_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(120),
            max_body_bytes: 16 * 1024 * 1024,
            max_pages: 1_000,
            concurrency: 8,
            list_threshold: 20,
            public_markers: DEFAULT_PUBLIC_MARKERS.iter().map(|m| (*m).to_owned()).collect(),
            non_public_markers: DEFAULT_NON_PUBLIC_MARKERS.iter().map(|m| (*m).to_owned()).collect(),
            system: None,
        }
    }
}

impl OparlSettings {
    /// The section markers, normalized.
    pub fn markers(&self) -> Markers {
        Markers::new(
            self.public_markers.iter().map(String::as_str),
            self.non_public_markers.iter().map(String::as_str),
        )
    }
}

/// A room member as the import sees it (`[[member]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLink {
    /// `[[member]].id`.
    pub id: String,
    /// `[[member]].name`.
    pub name: String,
    /// `[[member]].oparl_person`: the OParl Person URL this member is.
    pub oparl_person: Option<String>,
}

/// The imported meeting, ready for the chair to check (the draft).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Import {
    /// The meeting.
    pub meeting: ImportedMeeting,
    /// Agenda lines in order, ids 1, 2, 3, ...
    pub items: Vec<podium_floor::AgendaItem>,
    /// What the chair must know: warnings, undecided items, skipped items, member matching.
    pub report: ImportReport,
}

/// The meeting's own data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportedMeeting {
    /// `Meeting.name`.
    pub title: String,
    /// The organization's (committee's) name: `name`, else `shortName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The organization's `shortName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_short_name: Option<String>,
    /// The organization's OParl id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_oparl_id: Option<String>,
    /// The meeting's OParl id (URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oparl_id: Option<String>,
    /// Planned start as given (`yyyy-mm-ddThh:mm:ss±hh:mm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Planned end as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// `location.description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The organization's members with a vote at the meeting's date (memberships without
    /// `votingRight` count as voting): the statutory number for the quorum and majorities
    /// unless the room file sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statutory_members: Option<u32>,
}

/// The import's report.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// Things that were odd but did not stop the import.
    pub warnings: Vec<String>,
    /// Items the chair must classify before the meeting opens.
    pub undecided: Vec<UndecidedItem>,
    /// Agenda items marked `deleted: true`, left out.
    pub skipped_deleted: Vec<String>,
    /// Persons of the organization (at the meeting's date) no member is mapped to.
    pub unmatched_persons: Vec<PersonRef>,
    /// Members whose `oparl_person` is not among the organization's persons.
    pub unmatched_members: Vec<UnmatchedMember>,
    /// Members without `oparl_person`.
    pub unmapped_members: Vec<String>,
    /// Members matched to a person, with the membership's voting right (reported only).
    pub matched_members: Vec<MatchedMember>,
}

/// An undecided item and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UndecidedItem {
    /// The item's id in [`Import::items`].
    pub item: podium_floor::ItemId,
    /// Number and title.
    pub label: String,
    /// Why it could not be classified.
    pub reason: String,
}

/// A person of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PersonRef {
    /// The Person URL.
    pub oparl_id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A member whose person is not in the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnmatchedMember {
    /// `[[member]].id`.
    pub member: String,
    /// Its `oparl_person`.
    pub oparl_person: String,
}

/// A member matched to a person of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MatchedMember {
    /// `[[member]].id`.
    pub member: String,
    /// The Person URL.
    pub oparl_person: String,
    /// The person's name in OParl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Membership.votingRight`; `None` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voting_right: Option<bool>,
    /// `Membership.role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// One object that could not be read: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ObjectError {
    /// The URL (or file) of the object or list page.
    pub url: String,
    /// The JSON path inside it (`$.agendaItem[3].public`), when the content was at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl ObjectError {
    pub(crate) fn new(url: impl Into<String>, path: Option<String>, message: impl Into<String>) -> Self {
        ObjectError { url: url.into(), path, message: message.into() }
    }
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}: {path}: {}", self.url, self.message),
            None => write!(f, "{}: {}", self.url, self.message),
        }
    }
}

/// The import failed; nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportError {
    /// Every failure found.
    pub errors: Vec<ObjectError>,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the OParl import failed; nothing was imported ({} error(s)):", self.errors.len())?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportError {}

impl From<Vec<ObjectError>> for ImportError {
    fn from(errors: Vec<ObjectError>) -> Self {
        ImportError { errors }
    }
}

/// Imports a meeting: reads it (HTTP or files), classifies its agenda, matches the
/// organization's persons to `members`.
///
/// # Errors
///
/// Every required object that could not be read or understood, each with its URL (or
/// file) and JSON path; nothing partial is returned.
pub async fn import(
    source: &Source,
    members: &[MemberLink],
    settings: &OparlSettings,
) -> Result<Import, ImportError> {
    let collected = match source {
        Source::Url { url, meeting } => fetch::collect(url, meeting.as_deref(), settings).await?,
        Source::Files(path) => files::collect(path, settings)?,
    };
    Ok(map::build(collected, members, settings)?)
}

impl Import {
    /// The report for people: what was imported and every warning, in English.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let m = &self.meeting;
        let _ = fmt::Write::write_fmt(&mut out, format_args!("Meeting: {}\n", m.title));
        let line = |out: &mut String, label: &str, value: &Option<String>| {
            if let Some(v) = value {
                out.push_str(&format!("  {label}: {v}\n"));
            }
        };
        line(&mut out, "body", &m.body);
        line(&mut out, "start", &m.start);
        line(&mut out, "end", &m.end);
        line(&mut out, "place", &m.place);
        line(&mut out, "OParl id", &m.oparl_id);
        let count = |p: podium_floor::Publicity| {
            self.items.iter().filter(|i| i.kind == podium_floor::ItemKind::Item && i.publicity == p).count()
        };
        out.push_str(&format!(
            "Agenda: {} lines; items: {} public, {} non-public, {} undecided; headers: {}\n",
            self.items.len(),
            count(podium_floor::Publicity::Public),
            count(podium_floor::Publicity::NonPublic),
            count(podium_floor::Publicity::Undecided),
            self.items.iter().filter(|i| i.kind == podium_floor::ItemKind::Header).count()
        ));
        let r = &self.report;
        if !r.undecided.is_empty() {
            out.push_str("Undecided (the chair must classify them before the meeting opens):\n");
            for u in &r.undecided {
                out.push_str(&format!("  #{} {}: {}\n", u.item, u.label, u.reason));
            }
        }
        if !r.skipped_deleted.is_empty() {
            out.push_str("Skipped (deleted in the RIS):\n");
            for s in &r.skipped_deleted {
                out.push_str(&format!("  {s}\n"));
            }
        }
        out.push_str(&format!("Members matched: {}\n", r.matched_members.len()));
        for m in &r.matched_members {
            let vote = match m.voting_right {
                Some(true) => "voting",
                Some(false) => "not voting",
                None => "voting right not given",
            };
            out.push_str(&format!(
                "  {} = {} ({vote})\n",
                m.member,
                m.name.as_deref().unwrap_or(&m.oparl_person)
            ));
        }
        if !r.unmatched_persons.is_empty() {
            out.push_str("Persons of the organization not matched to any member:\n");
            for p in &r.unmatched_persons {
                out.push_str(&format!("  {} <{}>\n", p.name.as_deref().unwrap_or("(no name)"), p.oparl_id));
            }
        }
        if !r.unmatched_members.is_empty() {
            out.push_str("Members whose oparl_person is not in the organization:\n");
            for m in &r.unmatched_members {
                out.push_str(&format!("  {} <{}>\n", m.member, m.oparl_person));
            }
        }
        if !r.unmapped_members.is_empty() {
            out.push_str(&format!("Members without oparl_person: {}\n", r.unmapped_members.join(", ")));
        }
        if !r.warnings.is_empty() {
            out.push_str("Warnings:\n");
            for w in &r.warnings {
                out.push_str(&format!("  {w}\n"));
            }
        }
        out
    }
}

/// What the import route needs from the room file.
#[derive(Debug, Clone, Default)]
pub struct OparlContext {
    /// `[oparl]`.
    pub settings: OparlSettings,
    /// The members with their `oparl_person`.
    pub members: Vec<MemberLink>,
}
