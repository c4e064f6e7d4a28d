//! The journal: every event of the floor, durably stored before anyone hears of it.
//!
//! # What is stored
//! One SQLite file (`rusqlite`, bundled SQLite) in WAL mode with `synchronous=FULL`, so a
//! commit is on the storage medium when it returns. Tables (see [`schema`]):
//! `run` (one span of the floor with the engine [`Setup`] it ran with), `event` (every
//! engine event, by sequence number), `command` (which command, actor and source caused
//! each batch of events: "who granted" in the minutes), `checkpoint` (the floor state when
//! the run started, when a meeting opened, and every [`CHECKPOINT_EVERY`] events, so a
//! restart replays at most that many events), `meeting` (title, body, agenda and the span
//! of a run it covers), `agenda_draft` (the agenda prepared for the next meeting) and `urn`
//! (the counts per option of a secret vote, the one piece of state that is not an event:
//! see [`schema`]).
//!
//! # The write path (durable before acknowledged)
//! The session owner applies a command to the engine, hands the resulting events to the
//! journal's writer thread ([`writer`]) and keeps the caller's answer back. The writer
//! commits whatever has queued up in one transaction (group commit: one fsync for many
//! commands under load) and reports "written through operation N"; only then does the
//! owner answer the callers and publish the events (snapshot, event stream, MQTT). A
//! command that is answered is therefore on disk. The owner never blocks on SQLite.
//!
//! # Runs and meetings
//! The floor is recorded at all times, in a meeting or not: a crash never loses who was
//! speaking. A *run* is a span of the record with one engine setup; one starts at the
//! first start, after a meeting closes, when the room configuration changed (and no
//! meeting holds the old one), and when a run outside any meeting grows past
//! [`ROTATE_EVENTS`]. A *meeting* labels a span of its run: opening stores the floor as it
//! stands (members checked in before the opening stay where they are), closing marks its
//! last event and seals the run. Closed meetings stay queryable until retention removes
//! them; runs without a meeting are removed after the same retention.
//!
//! # Restart
//! At start `podiumd` restores the open meeting, if any: the latest readable checkpoint
//! plus the events after it, replayed onto [`Floor::restore`]. See [`restore`] for the
//! clock rule (running speaking timers stay right across a restart, also when the wall
//! clock jumps), a changed room configuration and a damaged journal.
//!
//! # When the store fails
//! A full disk, a read-only or vanished file: the room keeps working. Commands are still
//! applied and answered (in memory only), the journal is marked `degraded` in `/healthz`
//! and `/api/v1/diagnostics`, the error is logged, and the writer keeps the unwritten
//! events and retries every second; once a write succeeds everything is written in order
//! and the journal is `ok` again. A store that cannot be opened at all makes the journal
//! `unavailable` for this run: nothing is recorded and meetings cannot be opened.
//!
//! [`Setup`]: podium_floor::Setup
//! [`Floor::restore`]: podium_floor::Floor::restore

pub mod council_record;
pub mod export;
pub mod minutes;
pub mod print;
pub mod restore;
pub mod schema;
pub mod store;
pub mod time;
pub mod wal;
pub mod writer;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use minutes::{Minutes, SpeakerTurn};
pub use restore::{RecoveryReport, Restored};
pub use store::{CommandRecord, Record, RunInfo, Store};
pub use writer::Journal;

/// Where the journal lives by default (the systemd unit's `StateDirectory=podium`).
pub const DEFAULT_PATH: &str = "/var/lib/podium/journal.sqlite3";
/// Closed meetings are deleted this many days after they were closed, by default.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// Largest `retention_days` accepted (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;
/// A checkpoint of the floor state is stored at least every this many events.
pub const CHECKPOINT_EVERY: u64 = 1000;
/// A run outside any meeting is sealed and a new one started after this many events, so
/// retention can remove old rehearsal and idle time.
pub const ROTATE_EVENTS: u64 = 100_000;

/// Where the journal is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalLocation {
    /// An SQLite file (plus its `-wal` and `-shm` companions).
    File(PathBuf),
    /// In memory (`podiumd demo` without `--journal`): meetings work, nothing survives a restart.
    Memory,
}

impl std::fmt::Display for JournalLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalLocation::File(path) => write!(f, "{}", path.display()),
            JournalLocation::Memory => f.write_str(":memory:"),
        }
    }
}

/// The `[journal]` section of the room configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSettings {
    /// Where the journal is kept.
    pub location: JournalLocation,
    /// Closed meetings older than this (days since closing) are deleted, at start and daily.
    pub retention_days: u32,
    /// Whether a command's record names the client address it came from (`api:<address>`
    /// for clients without a login); `false` keeps only the kind of source.
    pub record_addresses: bool,
}

impl Default for JournalSettings {
    fn default() -> Self {
        JournalSettings {
            location: JournalLocation::File(PathBuf::from(DEFAULT_PATH)),
            retention_days: DEFAULT_RETENTION_DAYS,
            record_addresses: true,
        }
    }
}

/// A meeting as listed by the API and the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeetingInfo {
    /// Identifier, increasing, never reused.
    pub id: i64,
    /// The run whose span it labels (internal).
    #[serde(skip)]
    pub run_id: i64,
    /// Title given when it was opened.
    pub title: String,
    /// The body (council, committee) holding it.
    #[serde(default)]
    pub body: String,
    /// The room (`room.id`) it was held in.
    pub room_id: String,
    /// When it was opened (Unix milliseconds).
    pub opened_unix_ms: i64,
    /// When it was opened (RFC 3339, UTC).
    pub opened_at: String,
    /// When it was closed (Unix milliseconds); absent while open.
    pub closed_unix_ms: Option<i64>,
    /// When it was closed (RFC 3339, UTC); absent while open.
    pub closed_at: Option<String>,
    /// Whether it is still open.
    pub open: bool,
    /// Sequence number of the floor when the meeting opened; its events follow it.
    pub first_seq: u64,
    /// Sequence number of its last stored event (`first_seq` if none).
    pub last_seq: u64,
    /// Number of stored events.
    pub events: u64,
    /// The OParl id (URL) of the meeting it was imported from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oparl_id: Option<String>,
}

impl MeetingInfo {
    /// A meeting that opens now.
    pub fn opening(
        id: i64,
        run_id: i64,
        title: String,
        room_id: String,
        opened_unix_ms: i64,
        first_seq: u64,
    ) -> Self {
        MeetingInfo {
            id,
            run_id,
            title,
            body: String::new(),
            oparl_id: None,
            room_id,
            opened_unix_ms,
            opened_at: time::rfc3339(opened_unix_ms),
            closed_unix_ms: None,
            closed_at: None,
            open: true,
            first_seq,
            last_seq: first_seq,
            events: 0,
        }
    }

    /// The same meeting, closed at `unix_ms` after its last event `last_seq`.
    pub fn closing(mut self, unix_ms: i64, last_seq: u64) -> Self {
        self.closed_unix_ms = Some(unix_ms);
        self.closed_at = Some(time::rfc3339(unix_ms));
        self.open = false;
        self.events = last_seq.saturating_sub(self.first_seq);
        self.last_seq = last_seq;
        self
    }
}

/// How the journal is doing, for `/healthz` and `/api/v1/diagnostics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JournalState {
    /// Every acknowledged event is on disk.
    Ok,
    /// Writes fail or stall: commands are applied and answered in memory only; the unwritten
    /// events are kept and retried, in order.
    Degraded,
    /// The store could not be opened at start: nothing is recorded in this run.
    Unavailable,
    /// No journal is attached (library use without a journal).
    Disabled,
}

impl JournalState {
    /// The name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            JournalState::Ok => "ok",
            JournalState::Degraded => "degraded",
            JournalState::Unavailable => "unavailable",
            JournalState::Disabled => "disabled",
        }
    }
}

/// The journal's health and what the last start recovered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JournalStatus {
    /// `ok`, `degraded`, `unavailable` or `disabled`.
    pub state: JournalState,
    /// The file (or `:memory:`).
    pub location: String,
    /// The latest write or open error, while not `ok`.
    pub error: Option<String>,
    /// Since when the journal is not `ok` (Unix milliseconds).
    pub degraded_since_unix_ms: Option<i64>,
    /// Write attempts that failed since start.
    pub failed_writes: u64,
    /// Transactions committed since start. Each holds every record that queued up while
    /// the previous one ran (group commit), so under load this grows slower than the
    /// number of commands recorded.
    pub commits: u64,
    /// Events applied but not yet on disk.
    pub unwritten_events: u64,
    /// Sequence number of the last event on disk.
    pub written_seq: u64,
    /// What the last start restored.
    pub recovery: Option<RecoveryReport>,
    /// Retention of closed meetings.
    pub retention: RetentionStatus,
}

/// Retention of closed meetings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RetentionStatus {
    /// Closed meetings are deleted this many days after closing.
    pub days: u32,
    /// When retention last ran (Unix milliseconds).
    pub last_run_unix_ms: Option<i64>,
    /// Meetings deleted since start.
    pub deleted_meetings: u64,
    /// The last retention error, if the last run failed.
    pub error: Option<String>,
}

impl JournalStatus {
    /// The status of a journal in `state` at `location`.
    pub fn new(state: JournalState, location: String, retention_days: u32) -> Self {
        JournalStatus {
            state,
            location,
            error: None,
            degraded_since_unix_ms: None,
            failed_writes: 0,
            commits: 0,
            unwritten_events: 0,
            written_seq: 0,
            recovery: None,
            retention: RetentionStatus { days: retention_days, ..RetentionStatus::default() },
        }
    }
}

/// A journal operation failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite reported an error.
    #[error("{context}: {source}")]
    Sqlite {
        /// What was being done.
        context: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is an SQLite database, but not a Podium journal.
    #[error("{0} is not a Podium journal (foreign application id)")]
    Foreign(String),
    /// The journal was written by a newer `podiumd`.
    #[error("the journal has schema version {found}; this podiumd knows up to {known}")]
    Newer {
        /// The journal's version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// The journal was written by an older `podiumd` and must be migrated by the daemon
    /// (which opens it for writing) before it can be read here.
    #[error("the journal has schema version {found}; start podiumd once to migrate it to {known}")]
    Older {
        /// The journal's version.
        found: i64,
        /// The version this build writes.
        known: i64,
    },
    /// A stored record cannot be read.
    #[error("{0}")]
    Corrupt(String),
    /// No such meeting.
    #[error("there is no meeting {0}")]
    NoSuchMeeting(i64),
    /// The writer thread is gone (shutdown).
    #[error("the journal writer has stopped")]
    Stopped,
    /// There is no journal (none attached, or it could not be opened at start).
    #[error("no journal is available")]
    NoJournal,
    /// Writes are failing; the operation waits until the journal is writable again.
    #[error("the journal is degraded (writes fail); try again once it is ok")]
    Degraded,
    /// The journal holds no meeting.
    #[error("the journal holds no meeting")]
    NoMeetings,
    /// The minutes could not be written out.
    #[error("cannot write the minutes: {0}")]
    Export(String),
}

impl JournalError {
    pub(crate) fn sqlite(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> JournalError {
        let context = context.into();
        move |source| JournalError::Sqlite { context, source }
    }

    /// Whether the file itself is damaged or not a database (as opposed to "cannot write").
    pub fn is_corruption(&self) -> bool {
        match self {
            JournalError::Sqlite { source: rusqlite::Error::SqliteFailure(e, _), .. } => {
                matches!(e.code, rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            }
            JournalError::Corrupt(_) | JournalError::Foreign(_) => true,
            _ => false,
        }
    }
}

/// Stores `draft` as the draft agenda in the journal file at `path` (from another process,
/// e.g. `podiumd agenda import --journal`; SQLite serialises it with the running daemon).
pub fn store_agenda_draft(path: &std::path::Path, draft: &impl Serialize) -> Result<(), JournalError> {
    let json = serde_json::to_string(draft).map_err(|e| JournalError::Export(e.to_string()))?;
    let (mut store, _) = Store::open(&JournalLocation::File(path.to_owned()), 0)?;
    if store.is_read_only() {
        return Err(JournalError::Io {
            context: format!("{} cannot be written", path.display()),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        });
    }
    let updated_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let record = Record::AgendaDraft { draft: json, updated_unix_ms };
    store.write(&[&record]).map_err(JournalError::sqlite("cannot store the draft agenda"))
}
