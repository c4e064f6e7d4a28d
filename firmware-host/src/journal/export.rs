//! `podiumd export`: a meeting's minutes from a journal file, as JSON, CSV or the
//! printable page (the journal is opened read-only, so it can run beside podiumd).

use super::minutes::{DEFAULT_TIME_ZONE, LocalTime, from_store_in};
use super::{JournalError, Store};

/// How `podiumd export` writes the minutes.
#[derive(Debug, Clone, Default)]
pub struct Export {
    /// `json`, `csv` (speaker log), `attendance-csv`, `votes-csv` or `html`.
    pub format: String,
    /// The copy for publication.
    pub publication: bool,
    /// The room configuration (time zone, room name, signature lines), if given.
    pub room: Option<crate::config::RoomConfig>,
}

/// `podiumd export`: the minutes of meeting `meeting` (default: the most recently opened)
/// from the journal file at `path`, as pretty JSON, CSV or HTML. Opens the file read-only,
/// so it can run while `podiumd` is running.
pub fn export(path: &std::path::Path, meeting: Option<i64>, how: &Export) -> Result<String, JournalError> {
    if !path.exists() {
        return Err(JournalError::Io {
            context: format!("cannot open {}", path.display()),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let store = Store::open_read_only(path)?;
    let id = match meeting {
        Some(id) => id,
        None => {
            let meetings = store.meetings().map_err(JournalError::sqlite("cannot list the meetings"))?;
            meetings.first().map(|m| m.id).ok_or(JournalError::NoMeetings)?
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let zone = how.room.as_ref().map_or(DEFAULT_TIME_ZONE, |r| r.time_zone.as_str());
    let local = LocalTime::new(zone).map_err(JournalError::Export)?;
    let mut minutes = from_store_in(&store, id, now, &local)?;
    if how.publication {
        minutes = minutes.for_publication();
    }
    if how.format == "html" {
        let settings = super::print::PrintSettings {
            room_name: how
                .room
                .as_ref()
                .map_or_else(|| minutes.meeting.room_id.clone(), |r| r.room_name.clone()),
            signatories: how.room.as_ref().map_or_else(
                || crate::config::DEFAULT_SIGNATORIES.iter().map(|s| (*s).to_owned()).collect(),
                |r| r.signatories.clone(),
            ),
            local,
        };
        Ok(super::print::to_html(&minutes, &settings))
    } else if how.format == "attendance-csv" {
        minutes.attendance_csv().map_err(|e| JournalError::Export(e.to_string()))
    } else if how.format == "votes-csv" {
        minutes.votes_csv().map_err(|e| JournalError::Export(e.to_string()))
    } else if how.format == "csv" {
        minutes.to_csv().map_err(|e| JournalError::Export(e.to_string()))
    } else {
        serde_json::to_string_pretty(&minutes)
            .map(|json| json + "\n")
            .map_err(|e| JournalError::Export(e.to_string()))
    }
}
