//! The journal's tables and connection settings.
//!
//! ```text
//! meeting    id, title, room_id, opened_unix_ms, opened_mono_ms, closed_unix_ms (NULL = open),
//!            first_seq, last_seq, setup (JSON of the engine Setup it ran with)
//! event      (meeting_id, seq) → mono_ms, unix_ms, change (JSON of the engine Change)
//! command    (meeting_id, first_seq) → last_seq, unix_ms, source, actor (JSON), command (JSON)
//! checkpoint (meeting_id, seq) → state (JSON of the FloorState after event `seq`)
//! ```
//! Children are deleted with their meeting (`ON DELETE CASCADE`); at most one meeting is
//! open (a unique partial index). The file carries `application_id` 'Podi' and
//! `user_version` = [`VERSION`]; a newer version is refused rather than misread.

use rusqlite::Connection;

/// `PRAGMA application_id`: "Podi" in ASCII, so a foreign SQLite file is recognised.
pub const APPLICATION_ID: i64 = 0x506F_6469;
/// `PRAGMA user_version` of the schema this build writes.
pub const VERSION: i64 = 1;

/// Creates the tables in an empty database.
const CREATE: &str = "
CREATE TABLE meeting (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    room_id TEXT NOT NULL,
    opened_unix_ms INTEGER NOT NULL,
    opened_mono_ms INTEGER NOT NULL,
    closed_unix_ms INTEGER,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    setup TEXT NOT NULL
);
CREATE UNIQUE INDEX meeting_one_open ON meeting ((closed_unix_ms IS NULL)) WHERE closed_unix_ms IS NULL;
CREATE TABLE event (
    meeting_id INTEGER NOT NULL REFERENCES meeting (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    mono_ms INTEGER NOT NULL,
    unix_ms INTEGER NOT NULL,
    change TEXT NOT NULL,
    PRIMARY KEY (meeting_id, seq)
) WITHOUT ROWID;
CREATE TABLE command (
    meeting_id INTEGER NOT NULL REFERENCES meeting (id) ON DELETE CASCADE,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    unix_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    actor TEXT NOT NULL,
    command TEXT NOT NULL,
    PRIMARY KEY (meeting_id, first_seq)
) WITHOUT ROWID;
CREATE TABLE checkpoint (
    meeting_id INTEGER NOT NULL REFERENCES meeting (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (meeting_id, seq)
) WITHOUT ROWID;
";

/// Settings for a connection that writes: WAL with a full sync at every commit, foreign
/// keys enforced, deleted content overwritten (personal data must not linger in free pages).
pub(crate) fn configure_writer(conn: &Connection, in_memory: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    if !in_memory {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(format!("cannot switch to WAL mode (got {mode})")),
            ));
        }
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA journal_size_limit = 8388608;",
    )
}

/// Settings for a reading connection.
pub(crate) fn configure_reader(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")
}

/// What [`check_version`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// A new, empty database.
    Empty,
    /// A journal of this version.
    Current,
    /// Another application's database.
    Foreign,
    /// A journal of a newer version.
    Newer(i64),
}

/// Reads `application_id` and `user_version`.
pub(crate) fn check_version(conn: &Connection) -> rusqlite::Result<Found> {
    let app: i64 = conn.query_row("PRAGMA application_id", [], |row| row.get(0))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
    Ok(match (app, version) {
        (0, 0) if tables == 0 => Found::Empty,
        (APPLICATION_ID, VERSION) => Found::Current,
        (APPLICATION_ID, v) if v > VERSION => Found::Newer(v),
        _ => Found::Foreign,
    })
}

/// Creates the schema in an empty database (incremental auto-vacuum must precede the tables).
pub(crate) fn create(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")?;
    let tx = conn.transaction()?;
    tx.execute_batch(CREATE)?;
    tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {VERSION};"))?;
    tx.commit()
}
