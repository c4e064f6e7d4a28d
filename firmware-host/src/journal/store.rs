//! The journal's SQLite store: synchronous, used only by the writer thread, the restore at
//! start and read-only connections (API queries, `podiumd export`).

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use podium_floor::vote::{UrnDeposit, VoteId};
use podium_floor::{Actor, Command, Event, FloorState, Setup};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::schema::{self, Found};
use super::{JournalError, JournalLocation, MeetingInfo, time, wal};

/// What caused a run of events: stored so the minutes can say who granted the floor.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRecord {
    /// Where the command came from (`api:127.0.0.1`, `desk:rs485-1/7`, ...).
    pub source: String,
    /// The engine actor it was issued as.
    pub actor: Actor,
    /// The command itself.
    pub command: Command,
}

/// A run as stored: one span of the floor with one engine setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// Identifier, increasing, never reused.
    pub id: i64,
    /// The room (`room.id`).
    pub room_id: String,
    /// When it started (Unix milliseconds).
    pub opened_unix_ms: i64,
    /// Sequence number of the floor when it started; its events follow it.
    pub first_seq: u64,
}

/// One thing the journal records, in the order the owner produced it.
#[derive(Debug, Clone)]
pub enum Record {
    /// A run starts with the floor as it stands (at start, after a meeting closed, on a
    /// changed configuration, or when a long run is rotated).
    RunStart {
        /// The new run (id chosen by the owner, never reused).
        run: RunInfo,
        /// Monotonic engine time at the start (anchor for the clock rule if no event follows).
        opened_mono_ms: u64,
        /// The engine setup the run uses.
        setup: Box<Setup>,
        /// The floor state at the start (`state.seq == run.first_seq`).
        state: Box<FloorState>,
    },
    /// Events of the run in progress, with the command that caused them (none for timer
    /// ticks) and, every so often, a checkpoint of the state after the last of them.
    Events {
        /// The run in progress.
        run_id: i64,
        /// The events, in sequence order, without gaps.
        events: Vec<Event>,
        /// The command that caused them.
        command: Option<CommandRecord>,
        /// The state after the last event, if a checkpoint is due.
        checkpoint: Option<Box<FloorState>>,
    },
    /// The run ends; the final state is kept as its last checkpoint.
    RunSeal {
        /// The run.
        run_id: i64,
        /// When (Unix milliseconds).
        sealed_unix_ms: i64,
        /// The floor's sequence number at the end.
        last_seq: u64,
        /// The floor state at the end.
        state: Box<FloorState>,
    },
    /// A meeting opens in the run in progress: the state at its opening is kept (the
    /// minutes start from it).
    MeetingOpen {
        /// The new meeting (`info.run_id` is the run in progress).
        info: MeetingInfo,
        /// The agenda as opened (JSON), if any.
        agenda: Option<String>,
        /// The floor state at the opening (`state.seq == info.first_seq`).
        state: Box<FloorState>,
    },
    /// The meeting closes after event `last_seq`.
    MeetingClose {
        /// The meeting.
        meeting_id: i64,
        /// When (Unix milliseconds).
        closed_unix_ms: i64,
        /// Its last event.
        last_seq: u64,
    },
    /// Records that must be stored together or not at all (sealing a run and starting the
    /// next: a crash between them would leave no run to restore).
    Together(Vec<Record>),
    /// Secret ballots of the run in progress, added to the urn's counts in place (always
    /// written together with the `Events` of the command that cast them).
    Urn {
        /// The run in progress.
        run_id: i64,
        /// One entry per ballot: the vote and the option it counts for.
        deposits: SecretDeposits,
    },
    /// The draft agenda for the next meeting is replaced.
    AgendaDraft {
        /// The draft (JSON).
        draft: String,
        /// When (Unix milliseconds).
        updated_unix_ms: i64,
    },
}

impl Record {
    /// Number of events in this record.
    pub fn event_count(&self) -> usize {
        match self {
            Record::Events { events, .. } => events.len(),
            Record::Together(records) => records.iter().map(Record::event_count).sum(),
            _ => 0,
        }
    }

    /// Sequence number of the last event in this record, if any.
    pub fn last_seq(&self) -> Option<u64> {
        match self {
            Record::Events { events, .. } => events.last().map(|e| e.seq),
            Record::Together(records) => records.iter().rev().find_map(Record::last_seq),
            _ => None,
        }
    }

    /// Whether writing this record changes the secret urn.
    pub fn touches_urn(&self) -> bool {
        match self {
            Record::Urn { deposits, .. } => !deposits.0.is_empty(),
            Record::Together(records) => records.iter().any(Record::touches_urn),
            _ => false,
        }
    }
}

/// The urn stores `URN_COUNT_BASE + count`: an integer SQLite always writes in 8 bytes, so a
/// count's row never changes its size (and so never moves in its page) as ballots arrive.
/// With every option's row created when the vote opens, the file keeps no trace of which
/// option was chosen first or most recently; only the counts of now.
pub const URN_COUNT_BASE: i64 = 1 << 48;

/// Secret ballots on their way to the urn. Its `Debug` names only how many there are: a
/// record may end up in a log line, a secret choice must not.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretDeposits(pub Vec<UrnDeposit>);

impl std::fmt::Debug for SecretDeposits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} secret ballot(s)>", self.0.len())
    }
}

/// The run in progress as stored, for the restore.
#[derive(Debug, Clone)]
pub struct StoredRun {
    /// The run.
    pub info: RunInfo,
    /// Monotonic engine time at its start.
    pub opened_mono_ms: u64,
    /// The setup it runs with (JSON).
    pub setup: String,
}

/// An event row as stored, not yet parsed.
#[derive(Debug, Clone)]
pub struct RawEvent {
    /// Sequence number.
    pub seq: u64,
    /// Monotonic milliseconds.
    pub mono_ms: u64,
    /// Unix milliseconds.
    pub unix_ms: i64,
    /// The change (JSON).
    pub change: String,
}

impl RawEvent {
    /// Parses the stored change into an engine event.
    pub fn parse(&self) -> Result<Event, serde_json::Error> {
        let change = serde_json::from_str(&self.change)?;
        Ok(Event { seq: self.seq, at: podium_floor::Timestamp::new(self.mono_ms, self.unix_ms), change })
    }
}

/// A stored command row, for the minutes.
#[derive(Debug, Clone)]
pub struct CommandRow {
    /// First event it caused.
    pub first_seq: u64,
    /// Last event it caused.
    pub last_seq: u64,
    /// Where it came from.
    pub source: String,
    /// The actor (JSON).
    pub actor: String,
}

/// An open journal.
pub struct Store {
    conn: Connection,
    location: JournalLocation,
    read_only: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("location", &self.location).field("read_only", &self.read_only).finish()
    }
}

/// The file name next to `path` with `suffix` appended (`journal.sqlite3-wal`).
pub(crate) fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn to_sql_error(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn as_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    /// Opens the journal for writing, creating it (and its directory) if needed.
    ///
    /// A damaged or foreign file is moved aside (`<path>.damaged-<unix_ms>`) and a new
    /// journal started; a file that cannot be written is opened read-only (writes will fail,
    /// the journal runs degraded). Returns the store and the warnings to report.
    pub fn open(location: &JournalLocation, now_unix_ms: i64) -> Result<(Store, Vec<String>), JournalError> {
        let path = match location {
            JournalLocation::Memory => {
                let mut conn =
                    Connection::open_in_memory().map_err(JournalError::sqlite("open in memory"))?;
                schema::configure_writer(&conn, true).map_err(JournalError::sqlite("configure"))?;
                schema::create(&mut conn).map_err(JournalError::sqlite("create the schema"))?;
                return Ok((Store { conn, location: location.clone(), read_only: false }, Vec::new()));
            }
            JournalLocation::File(path) => path,
        };
        let mut warnings = Vec::new();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            warnings.push(format!("cannot create {}: {e}", parent.display()));
        }
        if let Ok(bytes) = std::fs::read(companion(path, "-wal"))
            && let Some(report) = wal::inspect(&bytes)
        {
            warnings.extend(report.warning());
        }
        match Self::open_file(path) {
            Ok(store) => {
                if store.read_only {
                    warnings.push(format!("{} cannot be written; opened read-only", path.display()));
                }
                Ok((store, warnings))
            }
            Err(e) if e.is_corruption() => {
                let aside = companion(path, &format!(".damaged-{now_unix_ms}"));
                for suffix in ["", "-wal", "-shm"] {
                    let from = companion(path, suffix);
                    if from.exists() {
                        let to = companion(&aside, suffix);
                        std::fs::rename(&from, &to).map_err(|source| JournalError::Io {
                            context: format!("cannot move the damaged journal {} aside", from.display()),
                            source,
                        })?;
                    }
                }
                warnings.push(format!(
                    "the journal {} is unreadable ({e}); it was moved to {} and a new journal started",
                    path.display(),
                    aside.display()
                ));
                let store = Self::open_file(path)?;
                Ok((store, warnings))
            }
            Err(e) => Err(e),
        }
    }

    fn open_file(path: &Path) -> Result<Store, JournalError> {
        let location = JournalLocation::File(path.to_owned());
        let open = |flags| Connection::open_with_flags(path, flags);
        let rw = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = open(rw).map_err(JournalError::sqlite(format!("cannot open {}", path.display())))?;
        let found = schema::check_version(&conn)
            .map_err(JournalError::sqlite(format!("cannot read {}", path.display())))?;
        match found {
            Found::Foreign => return Err(JournalError::Foreign(path.display().to_string())),
            Found::Newer(found) => return Err(JournalError::Newer { found, known: schema::VERSION }),
            Found::Empty | Found::Current | Found::Older(_) => {}
        }
        let backup = companion(
            path,
            &format!(
                ".v{}.bak",
                match found {
                    Found::Older(v) => v,
                    _ => 0,
                }
            ),
        );
        let configured = schema::configure_writer(&conn, false).and_then(|()| match found {
            Found::Empty => schema::create(&mut conn),
            Found::Older(version) => {
                tracing::warn!(
                    "migrating the journal {} from schema version {version} to {} (the old file is kept as {})",
                    path.display(),
                    schema::VERSION,
                    backup.display()
                );
                schema::migrate(&mut conn, version, Some(&backup))
            }
            _ => Ok(()),
        });
        match configured {
            Ok(()) => {
                // Touch the tables so that a damaged file is found now, not at the first write.
                conn.query_row("SELECT count(*) FROM run", [], |row| row.get::<_, i64>(0))
                    .map_err(JournalError::sqlite(format!("cannot read {}", path.display())))?;
                // SQLite quietly opens a write-protected file read-only, and such a
                // connection stays read-only: say so, so the writer reopens it later.
                let read_only = conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false);
                Ok(Store { conn, location, read_only })
            }
            Err(e) if found == Found::Current && is_write_refused(&e) => {
                drop(conn);
                let ro = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn =
                    open(ro).map_err(JournalError::sqlite(format!("cannot open {}", path.display())))?;
                schema::configure_reader(&conn).map_err(JournalError::sqlite("configure"))?;
                Ok(Store { conn, location, read_only: true })
            }
            Err(e) => Err(JournalError::sqlite(format!("cannot prepare {}", path.display()))(e)),
        }
    }

    /// Opens an existing journal for reading only (API queries, `podiumd export`).
    pub fn open_read_only(path: &Path) -> Result<Store, JournalError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(JournalError::sqlite(format!("cannot open {}", path.display())))?;
        schema::configure_reader(&conn).map_err(JournalError::sqlite("configure"))?;
        match schema::check_version(&conn)
            .map_err(JournalError::sqlite(format!("cannot read {}", path.display())))?
        {
            Found::Current => {}
            Found::Newer(found) => return Err(JournalError::Newer { found, known: schema::VERSION }),
            Found::Empty | Found::Foreign => return Err(JournalError::Foreign(path.display().to_string())),
            Found::Older(found) => return Err(JournalError::Older { found, known: schema::VERSION }),
        }
        Ok(Store { conn, location: JournalLocation::File(path.to_owned()), read_only: true })
    }

    /// Where this store is.
    pub fn location(&self) -> &JournalLocation {
        &self.location
    }

    /// Whether writes are impossible (opened read-only).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// A store opened read-only tries to open its file for writing again (the file or its
    /// directory became writable: a remount, a fixed permission). True if it now can write.
    pub fn reopen_writable(&mut self) -> bool {
        let JournalLocation::File(path) = &self.location else { return !self.read_only };
        if !self.read_only {
            return true;
        }
        if std::fs::OpenOptions::new().append(true).open(path).is_err() {
            return false;
        }
        // SQLite shares a file's lock and WAL index between the connections of a process:
        // while the read-only one is open, a new connection would inherit its read-only
        // index. Close it first; if the file cannot be opened at all now, the placeholder
        // stays read-only and the next retry tries again.
        let Ok(placeholder) = Connection::open_in_memory() else { return false };
        drop(std::mem::replace(&mut self.conn, placeholder));
        match Self::open_file(path) {
            Ok(store) => {
                *self = store;
                !self.read_only
            }
            Err(_) => false,
        }
    }

    /// Writes records in one transaction: all of them or none.
    pub fn write(&mut self, records: &[&Record]) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        for record in records {
            write_record(&tx, record)?;
        }
        tx.commit()
    }

    /// The id the next row of `table` gets: never one that was used before, even if deleted.
    fn next_id(&self, table: &str) -> rusqlite::Result<i64> {
        let from_sequence: Option<i64> = self
            .conn
            .query_row("SELECT seq FROM sqlite_sequence WHERE name = ?1", [table], |row| row.get(0))
            .optional()?;
        let from_rows: Option<i64> =
            self.conn.query_row(&format!("SELECT max(id) FROM {table}"), [], |row| row.get(0))?;
        Ok(from_sequence.unwrap_or(0).max(from_rows.unwrap_or(0)) + 1)
    }

    /// The id the next meeting gets.
    pub fn next_meeting_id(&self) -> rusqlite::Result<i64> {
        self.next_id("meeting")
    }

    /// The id the next run gets.
    pub fn next_run_id(&self) -> rusqlite::Result<i64> {
        self.next_id("run")
    }

    /// The run in progress (not sealed), if any.
    pub fn open_run(&self) -> rusqlite::Result<Option<StoredRun>> {
        self.conn
            .query_row(
                "SELECT id, room_id, opened_unix_ms, first_seq, opened_mono_ms, setup FROM run
                 WHERE sealed_unix_ms IS NULL ORDER BY id DESC LIMIT 1",
                [],
                |row| {
                    Ok(StoredRun {
                        info: RunInfo {
                            id: row.get(0)?,
                            room_id: row.get(1)?,
                            opened_unix_ms: row.get(2)?,
                            first_seq: as_u64(row.get(3)?),
                        },
                        opened_mono_ms: as_u64(row.get(4)?),
                        setup: row.get(5)?,
                    })
                },
            )
            .optional()
    }

    /// The open meeting, if any.
    pub fn open_meeting(&self) -> rusqlite::Result<Option<MeetingInfo>> {
        let sql = format!("{MEETING_SELECT} WHERE m.closed_unix_ms IS NULL ORDER BY m.id DESC LIMIT 1");
        self.conn.query_row(&sql, [], meeting_from_row).optional()
    }

    /// The agenda a meeting opened with (JSON), if any.
    pub fn meeting_agenda(&self, id: i64) -> rusqlite::Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT agenda FROM meeting WHERE id = ?1", [id], |row| {
                row.get::<_, Option<String>>(0)
            })
            .optional()?
            .flatten())
    }

    /// The draft agenda for the next meeting (JSON), if any.
    pub fn agenda_draft(&self) -> rusqlite::Result<Option<String>> {
        self.conn.query_row("SELECT draft FROM agenda_draft WHERE id = 1", [], |row| row.get(0)).optional()
    }

    /// The setup a run ran with (JSON).
    pub fn run_setup(&self, run_id: i64) -> rusqlite::Result<Option<String>> {
        self.conn.query_row("SELECT setup FROM run WHERE id = ?1", [run_id], |row| row.get(0)).optional()
    }

    /// One meeting.
    pub fn meeting(&self, id: i64) -> rusqlite::Result<Option<MeetingInfo>> {
        let sql = format!("{MEETING_SELECT} WHERE m.id = ?1");
        self.conn.query_row(&sql, [id], meeting_from_row).optional()
    }

    /// Every meeting, newest first.
    pub fn meetings(&self) -> rusqlite::Result<Vec<MeetingInfo>> {
        let sql = format!("{MEETING_SELECT} ORDER BY m.id DESC");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], meeting_from_row)?;
        rows.collect()
    }

    /// A run's checkpoints, newest first: (seq, state JSON).
    pub fn checkpoints(&self, run_id: i64) -> rusqlite::Result<Vec<(u64, String)>> {
        let mut stmt =
            self.conn.prepare("SELECT seq, state FROM checkpoint WHERE run_id = ?1 ORDER BY seq DESC")?;
        let rows = stmt.query_map([run_id], |row| Ok((as_u64(row.get(0)?), row.get(1)?)))?;
        rows.collect()
    }

    /// A run's events after `after_seq`, in order, unparsed.
    pub fn events_after(&self, run_id: i64, after_seq: u64) -> rusqlite::Result<Vec<RawEvent>> {
        self.events_between(run_id, after_seq, u64::MAX)
    }

    /// A run's events after `after_seq` up to `through_seq`, in order, unparsed.
    pub fn events_between(
        &self,
        run_id: i64,
        after_seq: u64,
        through_seq: u64,
    ) -> rusqlite::Result<Vec<RawEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, mono_ms, unix_ms, change FROM event WHERE run_id = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![run_id, as_i64(after_seq), as_i64(through_seq)], |row| {
            Ok(RawEvent {
                seq: as_u64(row.get(0)?),
                mono_ms: as_u64(row.get(1)?),
                unix_ms: row.get(2)?,
                change: row.get(3)?,
            })
        })?;
        rows.collect()
    }

    /// Sequence number of a run's last stored event.
    pub fn last_event_seq(&self, run_id: i64) -> rusqlite::Result<Option<u64>> {
        let seq: Option<i64> =
            self.conn
                .query_row("SELECT max(seq) FROM event WHERE run_id = ?1", [run_id], |row| row.get(0))?;
        Ok(seq.map(as_u64))
    }

    /// A run's command rows, in order.
    pub fn commands(&self, run_id: i64) -> rusqlite::Result<Vec<CommandRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT first_seq, last_seq, source, actor FROM command WHERE run_id = ?1 ORDER BY first_seq",
        )?;
        let rows = stmt.query_map([run_id], |row| {
            Ok(CommandRow {
                first_seq: as_u64(row.get(0)?),
                last_seq: as_u64(row.get(1)?),
                source: row.get(2)?,
                actor: row.get(3)?,
            })
        })?;
        rows.collect()
    }

    /// The counts in the urn of a run's secret vote, by option.
    pub fn urn_counts(&self, run_id: i64, vote: VoteId) -> rusqlite::Result<BTreeMap<String, u32>> {
        let mut stmt = self.conn.prepare("SELECT option, count FROM urn WHERE run_id = ?1 AND vote = ?2")?;
        let rows = stmt.query_map(params![run_id, i64::from(vote)], |row| {
            let stored = row.get::<_, i64>(1)?;
            let count = if stored >= URN_COUNT_BASE { stored - URN_COUNT_BASE } else { stored };
            Ok((row.get::<_, String>(0)?, u32::try_from(count).unwrap_or(u32::MAX)))
        })?;
        rows.collect()
    }

    /// Removes everything of a run after `seq` (an unreadable tail found at restore), so
    /// that recording continues without a gap. Returns the number of events removed.
    pub fn discard_after(&mut self, run_id: i64, seq: u64) -> rusqlite::Result<usize> {
        let tx = self.conn.transaction()?;
        let seq = as_i64(seq);
        let removed = tx.execute("DELETE FROM event WHERE run_id = ?1 AND seq > ?2", params![run_id, seq])?;
        tx.execute("DELETE FROM command WHERE run_id = ?1 AND last_seq > ?2", params![run_id, seq])?;
        tx.execute("DELETE FROM checkpoint WHERE run_id = ?1 AND seq > ?2", params![run_id, seq])?;
        tx.commit()?;
        Ok(removed)
    }

    /// Deletes the meetings closed before `cutoff_unix_ms` and the sealed runs that ended
    /// before it and hold no kept meeting, with everything recorded in them, then releases
    /// the space and rewrites the write-ahead log so the data is gone from disk too.
    /// Returns how many meetings were deleted.
    pub fn delete_closed_before(&mut self, cutoff_unix_ms: i64) -> rusqlite::Result<usize> {
        let tx = self.conn.transaction()?;
        // A closed meeting's run ended with it: the run goes with the meeting (and takes
        // the meeting row along, `ON DELETE CASCADE`).
        let deleted: i64 = tx.query_row(
            "SELECT count(*) FROM meeting WHERE closed_unix_ms IS NOT NULL AND closed_unix_ms < ?1",
            [cutoff_unix_ms],
            |row| row.get(0),
        )?;
        tx.execute(
            "DELETE FROM run WHERE sealed_unix_ms IS NOT NULL AND id IN
             (SELECT run_id FROM meeting WHERE closed_unix_ms IS NOT NULL AND closed_unix_ms < ?1)",
            [cutoff_unix_ms],
        )?;
        tx.execute(
            "DELETE FROM meeting WHERE closed_unix_ms IS NOT NULL AND closed_unix_ms < ?1",
            [cutoff_unix_ms],
        )?;
        let runs = tx.execute(
            "DELETE FROM run WHERE sealed_unix_ms IS NOT NULL AND sealed_unix_ms < ?1
             AND id NOT IN (SELECT run_id FROM meeting)",
            [cutoff_unix_ms],
        )?;
        tx.commit()?;
        let deleted = usize::try_from(deleted).unwrap_or(0);
        if deleted + runs > 0 {
            self.conn.execute_batch("PRAGMA incremental_vacuum;")?;
            self.checkpoint_wal()?;
        }
        Ok(deleted)
    }

    /// Copies the write-ahead log into the database file and truncates it to nothing,
    /// without waiting for readers: after a secret ballot the log holds the urn's page
    /// as it was after each commit, which, beside the `ballot_cast` events, could tell
    /// the order of the choices. True if the log is empty now; false if a reader held it
    /// (the caller tries again after its next write).
    pub fn truncate_wal_now(&self) -> rusqlite::Result<bool> {
        if !matches!(self.location, JournalLocation::File(_)) || self.read_only {
            return Ok(true);
        }
        self.conn.busy_timeout(std::time::Duration::ZERO)?;
        let result = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get::<_, i64>(0));
        self.conn.busy_timeout(std::time::Duration::from_secs(5))?;
        match result {
            Ok(busy) => Ok(busy == 0),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Copies the write-ahead log into the database file and truncates it.
    pub fn checkpoint_wal(&self) -> rusqlite::Result<()> {
        if matches!(self.location, JournalLocation::File(_)) && !self.read_only {
            self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(())
    }
}

fn is_write_refused(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => matches!(
            f.code,
            rusqlite::ErrorCode::ReadOnly
                | rusqlite::ErrorCode::CannotOpen
                | rusqlite::ErrorCode::PermissionDenied
                | rusqlite::ErrorCode::SystemIoFailure
        ),
        _ => false,
    }
}

/// A meeting's last event: stored once it closed, else the newest event of its run.
const MEETING_SELECT: &str = "SELECT m.id, m.run_id, m.title, m.body, m.room_id, m.opened_unix_ms,
    m.closed_unix_ms, m.first_seq,
    CASE WHEN m.closed_unix_ms IS NULL
        THEN coalesce((SELECT max(seq) FROM event e WHERE e.run_id = m.run_id), m.first_seq)
        ELSE m.last_seq END,
    m.oparl_id
    FROM meeting m";

fn meeting_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MeetingInfo> {
    let opened_unix_ms: i64 = row.get(5)?;
    let closed_unix_ms: Option<i64> = row.get(6)?;
    let first_seq = as_u64(row.get(7)?);
    let last_seq = as_u64(row.get(8)?).max(first_seq);
    Ok(MeetingInfo {
        id: row.get(0)?,
        run_id: row.get(1)?,
        title: row.get(2)?,
        body: row.get(3)?,
        room_id: row.get(4)?,
        opened_unix_ms,
        opened_at: time::rfc3339(opened_unix_ms),
        closed_unix_ms,
        closed_at: closed_unix_ms.map(time::rfc3339),
        open: closed_unix_ms.is_none(),
        first_seq,
        last_seq,
        events: last_seq - first_seq,
        oparl_id: row.get(9)?,
    })
}

fn write_record(tx: &rusqlite::Transaction<'_>, record: &Record) -> rusqlite::Result<()> {
    match record {
        Record::RunStart { run, opened_mono_ms, setup, state } => {
            let setup = serde_json::to_string(setup).map_err(to_sql_error)?;
            tx.prepare_cached(
                "INSERT INTO run (id, room_id, opened_unix_ms, opened_mono_ms, first_seq, last_seq, setup)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
            )?
            .execute(params![
                run.id,
                run.room_id,
                run.opened_unix_ms,
                as_i64(*opened_mono_ms),
                as_i64(run.first_seq),
                setup
            ])?;
            insert_checkpoint(tx, run.id, state)?;
        }
        Record::Events { run_id, events, command, checkpoint } => {
            let mut insert = tx.prepare_cached(
                "INSERT INTO event (run_id, seq, mono_ms, unix_ms, change) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for event in events {
                let change = serde_json::to_string(&event.change).map_err(to_sql_error)?;
                insert.execute(params![
                    run_id,
                    as_i64(event.seq),
                    as_i64(event.at.mono_ms.0),
                    event.at.unix_ms,
                    change
                ])?;
                prepare_urn(tx, *run_id, &event.change)?;
            }
            if let (Some(command), Some(first), Some(last)) = (command, events.first(), events.last()) {
                let actor = serde_json::to_string(&command.actor).map_err(to_sql_error)?;
                let body = serde_json::to_string(&command.command).map_err(to_sql_error)?;
                tx.prepare_cached(
                    "INSERT INTO command (run_id, first_seq, last_seq, unix_ms, source, actor, command)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    run_id,
                    as_i64(first.seq),
                    as_i64(last.seq),
                    first.at.unix_ms,
                    command.source,
                    actor,
                    body
                ])?;
            }
            if let Some(state) = checkpoint {
                insert_checkpoint(tx, *run_id, state)?;
            }
        }
        Record::RunSeal { run_id, sealed_unix_ms, last_seq, state } => {
            tx.prepare_cached("UPDATE run SET sealed_unix_ms = ?2, last_seq = ?3 WHERE id = ?1")?
                .execute(params![run_id, sealed_unix_ms, as_i64(*last_seq)])?;
            insert_checkpoint(tx, *run_id, state)?;
        }
        Record::MeetingOpen { info, agenda, state } => {
            tx.prepare_cached(
                "INSERT INTO meeting (id, run_id, title, body, room_id, opened_unix_ms, first_seq, last_seq,
                 agenda, oparl_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
            )?
            .execute(params![
                info.id,
                info.run_id,
                info.title,
                info.body,
                info.room_id,
                info.opened_unix_ms,
                as_i64(info.first_seq),
                agenda,
                info.oparl_id
            ])?;
            insert_checkpoint(tx, info.run_id, state)?;
        }
        Record::MeetingClose { meeting_id, closed_unix_ms, last_seq } => {
            tx.prepare_cached("UPDATE meeting SET closed_unix_ms = ?2, last_seq = ?3 WHERE id = ?1")?
                .execute(params![meeting_id, closed_unix_ms, as_i64(*last_seq)])?;
        }
        Record::Together(records) => {
            for record in records {
                write_record(tx, record)?;
            }
        }
        Record::Urn { run_id, deposits } => {
            let mut add = tx.prepare_cached(
                "INSERT INTO urn (run_id, vote, option, count) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (run_id, vote, option) DO UPDATE SET count = count + 1",
            )?;
            for deposit in &deposits.0 {
                add.execute(params![run_id, i64::from(deposit.vote), deposit.option, URN_COUNT_BASE + 1])?;
            }
        }
        Record::AgendaDraft { draft, updated_unix_ms } => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO agenda_draft (id, draft, updated_unix_ms) VALUES (1, ?1, ?2)",
            )?
            .execute(params![draft, updated_unix_ms])?;
        }
    }
    Ok(())
}

/// Stores a checkpoint and drops the older ones, except the run's starting state and the
/// opening states of its meetings (the minutes start from those).
fn insert_checkpoint(
    tx: &rusqlite::Transaction<'_>,
    run_id: i64,
    state: &FloorState,
) -> rusqlite::Result<()> {
    let json = serde_json::to_string(state).map_err(to_sql_error)?;
    let seq = as_i64(state.seq);
    tx.prepare_cached(
        "DELETE FROM checkpoint WHERE run_id = ?1 AND seq < ?2
         AND seq > (SELECT first_seq FROM run WHERE id = ?1)
         AND seq NOT IN (SELECT first_seq FROM meeting WHERE run_id = ?1)",
    )?
    .execute(params![run_id, seq])?;
    tx.prepare_cached("INSERT OR REPLACE INTO checkpoint (run_id, seq, state) VALUES (?1, ?2, ?3)")?
        .execute(params![run_id, seq, json])?;
    Ok(())
}

/// A secret vote's urn is made when it opens (a row per option, all at zero) and removed
/// when it ends: its totals are then in `vote_closed`, and a cancelled vote's counts are
/// discarded, as the consoles say.
fn prepare_urn(
    tx: &rusqlite::Transaction<'_>,
    run_id: i64,
    change: &podium_floor::Change,
) -> rusqlite::Result<()> {
    use podium_floor::Change;
    match change {
        Change::VoteOpened { vote } if vote.kind == podium_floor::VoteKind::Secret => {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO urn (run_id, vote, option, count) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for option in &vote.options {
                insert.execute(params![run_id, i64::from(vote.id), option.id, URN_COUNT_BASE])?;
            }
        }
        Change::VoteClosed { vote, .. } | Change::VoteCancelled { vote } => {
            tx.prepare_cached("DELETE FROM urn WHERE run_id = ?1 AND vote = ?2")?
                .execute(params![run_id, i64::from(*vote)])?;
        }
        _ => {}
    }
    Ok(())
}
