//! The journal's tables and connection settings.
//!
//! ```text
//! run        id, room_id, opened_unix_ms, opened_mono_ms, sealed_unix_ms (NULL = the run in
//!            progress), first_seq, last_seq, setup (JSON of the engine Setup it ran with)
//! event      (run_id, seq) → mono_ms, unix_ms, change (JSON of the engine Change)
//! command    (run_id, first_seq) → last_seq, unix_ms, source, actor (JSON), command (JSON)
//! checkpoint (run_id, seq) → state (JSON of the FloorState after event `seq`)
//! meeting    id, run_id, title, body, room_id, opened_unix_ms, closed_unix_ms (NULL = open),
//!            first_seq, last_seq, agenda (JSON as opened), oparl_id
//! agenda_draft  the one agenda prepared for the next meeting (JSON)
//! urn        (run_id, vote, option) → count: the secret ballots of a vote, counted in
//!            place (version 3; see below)
//! ```
//! **The urn** is the one table that holds derived state rather than events: in a secret
//! vote the engine puts no choice into any event, state or snapshot and keeps only counts
//! per option (`podium_floor::vote::Urn`); the journal stores those counts, updated in
//! place (`count = count + 1` in the transaction of the ballot's events), never a row per
//! ballot, so the file keeps no order of ballots that could be matched against the
//! `ballot_cast` events. A `WITHOUT ROWID` table keyed by option leaves no insertion order
//! either. The write-ahead log does hold each committed page image until a checkpoint, so
//! the writer truncates it after every commit that touched the urn (see `writer.rs`).
//! A *run* is one span of the floor with one engine setup: every event is recorded in the
//! run in progress, whether or not a meeting is open. A *meeting* labels a span
//! (`first_seq..=last_seq`) of one run. Children are deleted with their run
//! (`ON DELETE CASCADE`); at most one run is unsealed and at most one meeting open (unique
//! partial indexes). The file carries `application_id` 'Podi' and `user_version` =
//! [`VERSION`]; a newer version is refused rather than misread, an older one is migrated
//! ([`migrate`]) after a copy of it is kept beside it.

use rusqlite::Connection;

/// `PRAGMA application_id`: "Podi" in ASCII, so a foreign SQLite file is recognised.
pub const APPLICATION_ID: i64 = 0x506F_6469;
/// `PRAGMA user_version` of the schema this build writes.
pub const VERSION: i64 = 3;

/// Creates the tables in an empty database.
const CREATE: &str = "
CREATE TABLE run (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id TEXT NOT NULL,
    opened_unix_ms INTEGER NOT NULL,
    opened_mono_ms INTEGER NOT NULL,
    sealed_unix_ms INTEGER,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    setup TEXT NOT NULL
);
CREATE UNIQUE INDEX run_one_unsealed ON run ((sealed_unix_ms IS NULL)) WHERE sealed_unix_ms IS NULL;
CREATE TABLE event (
    run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    mono_ms INTEGER NOT NULL,
    unix_ms INTEGER NOT NULL,
    change TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE command (
    run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    unix_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    actor TEXT NOT NULL,
    command TEXT NOT NULL,
    PRIMARY KEY (run_id, first_seq)
) WITHOUT ROWID;
CREATE TABLE checkpoint (
    run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
";

/// The meeting labels and the draft agenda (version 2).
const CREATE_MEETING: &str = "
CREATE TABLE meeting (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    room_id TEXT NOT NULL,
    opened_unix_ms INTEGER NOT NULL,
    closed_unix_ms INTEGER,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    agenda TEXT,
    oparl_id TEXT
);
CREATE UNIQUE INDEX meeting_one_open ON meeting ((closed_unix_ms IS NULL)) WHERE closed_unix_ms IS NULL;
CREATE INDEX meeting_by_run ON meeting (run_id);
CREATE TABLE agenda_draft (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    draft TEXT NOT NULL,
    updated_unix_ms INTEGER NOT NULL
);
";

/// The secret urn (version 3): counts per option of each secret vote, updated in place.
const CREATE_URN: &str = "
CREATE TABLE urn (
    run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    vote INTEGER NOT NULL,
    option TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (run_id, vote, option)
) WITHOUT ROWID;
";

/// Version 1 recorded only inside meetings: each meeting row was its own span of events.
/// Each becomes a run with the same id, labelled by a meeting with the same id; a meeting
/// still open stays open (its run unsealed), so the restore continues it.
const MIGRATE_V1_TO_V2: &str = "
ALTER TABLE meeting RENAME TO run;
ALTER TABLE run RENAME COLUMN closed_unix_ms TO sealed_unix_ms;
DROP INDEX meeting_one_open;
CREATE UNIQUE INDEX run_one_unsealed ON run ((sealed_unix_ms IS NULL)) WHERE sealed_unix_ms IS NULL;
ALTER TABLE event RENAME COLUMN meeting_id TO run_id;
ALTER TABLE command RENAME COLUMN meeting_id TO run_id;
ALTER TABLE checkpoint RENAME COLUMN meeting_id TO run_id;
";

const MIGRATE_V1_LABELS: &str = "
INSERT INTO meeting (id, run_id, title, body, room_id, opened_unix_ms, closed_unix_ms, first_seq, last_seq)
    SELECT id, id, title, '', room_id, opened_unix_ms, sealed_unix_ms, first_seq, last_seq FROM run;
ALTER TABLE run DROP COLUMN title;
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
    /// A journal of an older version: migrate it ([`migrate`]).
    Older(i64),
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
        (APPLICATION_ID, v) if (1..VERSION).contains(&v) => Found::Older(v),
        _ => Found::Foreign,
    })
}

/// Creates the schema in an empty database (incremental auto-vacuum must precede the tables).
pub(crate) fn create(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")?;
    let tx = conn.transaction()?;
    tx.execute_batch(CREATE)?;
    tx.execute_batch(CREATE_MEETING)?;
    tx.execute_batch(CREATE_URN)?;
    tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {VERSION};"))?;
    tx.commit()
}

/// Brings a journal of an older `version` to [`VERSION`] in one transaction, after keeping
/// a copy of the file as it was at `backup` (`VACUUM INTO`; refused if that file exists,
/// so an earlier copy is never overwritten). Without a backup path (in memory) no copy.
pub(crate) fn migrate(
    conn: &mut Connection,
    version: i64,
    backup: Option<&std::path::Path>,
) -> rusqlite::Result<()> {
    if let Some(backup) = backup
        && !backup.exists()
    {
        conn.execute("VACUUM INTO ?1", [backup.to_string_lossy()])?;
    }
    let tx = conn.transaction()?;
    if version < 2 {
        tx.execute_batch(MIGRATE_V1_TO_V2)?;
        tx.execute_batch(CREATE_MEETING)?;
        tx.execute_batch(MIGRATE_V1_LABELS)?;
    }
    if version < 3 {
        // Additive: a version-2 journal had no votes, so its urn is empty.
        tx.execute_batch(CREATE_URN)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {VERSION};"))?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The version-1 schema exactly as earlier builds wrote it.
    const CREATE_V1: &str = "
CREATE TABLE meeting (
    id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, room_id TEXT NOT NULL,
    opened_unix_ms INTEGER NOT NULL, opened_mono_ms INTEGER NOT NULL, closed_unix_ms INTEGER,
    first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, setup TEXT NOT NULL
);
CREATE UNIQUE INDEX meeting_one_open ON meeting ((closed_unix_ms IS NULL)) WHERE closed_unix_ms IS NULL;
CREATE TABLE event (
    meeting_id INTEGER NOT NULL REFERENCES meeting (id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    mono_ms INTEGER NOT NULL, unix_ms INTEGER NOT NULL, change TEXT NOT NULL, PRIMARY KEY (meeting_id, seq)
) WITHOUT ROWID;
CREATE TABLE command (
    meeting_id INTEGER NOT NULL REFERENCES meeting (id) ON DELETE CASCADE, first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL, unix_ms INTEGER NOT NULL, source TEXT NOT NULL, actor TEXT NOT NULL,
    command TEXT NOT NULL, PRIMARY KEY (meeting_id, first_seq)
) WITHOUT ROWID;
CREATE TABLE checkpoint (
    meeting_id INTEGER NOT NULL REFERENCES meeting (id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    state TEXT NOT NULL, PRIMARY KEY (meeting_id, seq)
) WITHOUT ROWID;
PRAGMA application_id = 1349477481; PRAGMA user_version = 1;
INSERT INTO meeting VALUES (1, 'Rat', 'room', 1000, 10, 5000, 0, 2, '{}');
INSERT INTO meeting VALUES (2, 'Ausschuss', 'room', 6000, 60, NULL, 2, 2, '{}');
INSERT INTO event VALUES (1, 1, 11, 1001, '{}'), (1, 2, 12, 1002, '{}'), (2, 3, 61, 6001, '{}');
INSERT INTO command VALUES (2, 3, 3, 6001, 'api', '\"chair\"', '{}');
INSERT INTO checkpoint VALUES (1, 0, '{}'), (2, 2, '{}');
";

    #[test]
    fn a_version_1_journal_is_migrated_with_a_copy_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal.sqlite3");
        let mut conn = Connection::open(&path).expect("open");
        conn.execute_batch(CREATE_V1).expect("v1");
        configure_writer(&conn, false).expect("configure");
        assert_eq!(check_version(&conn).expect("check"), Found::Older(1));
        let backup = dir.path().join("journal.sqlite3.v1.bak");
        migrate(&mut conn, 1, Some(&backup)).expect("migrate");
        assert!(backup.exists(), "the version-1 file is kept");
        assert_eq!(check_version(&conn).expect("check"), Found::Current);
        let meetings: Vec<(i64, i64, String, Option<i64>)> = conn
            .prepare("SELECT id, run_id, title, closed_unix_ms FROM meeting ORDER BY id")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(meetings, vec![(1, 1, "Rat".into(), Some(5000)), (2, 2, "Ausschuss".into(), None)]);
        let unsealed: i64 =
            conn.query_row("SELECT id FROM run WHERE sealed_unix_ms IS NULL", [], |r| r.get(0)).expect("run");
        assert_eq!(unsealed, 2, "the open meeting's run continues");
        let events: i64 =
            conn.query_row("SELECT count(*) FROM event WHERE run_id = 1", [], |r| r.get(0)).expect("n");
        assert_eq!(events, 2);
        let commands: i64 =
            conn.query_row("SELECT count(*) FROM command WHERE run_id = 2", [], |r| r.get(0)).expect("n");
        assert_eq!(commands, 1);
        // Foreign keys follow the renamed table: deleting a run removes its rows.
        conn.execute("DELETE FROM run WHERE id = 1", []).expect("delete");
        let left: i64 = conn.query_row("SELECT count(*) FROM event", [], |r| r.get(0)).expect("n");
        assert_eq!(left, 1);
        let old = Connection::open(&backup).expect("backup");
        assert_eq!(check_version(&old).expect("check"), Found::Older(1));
        let urn: i64 = conn.query_row("SELECT count(*) FROM urn", [], |r| r.get(0)).expect("urn table");
        assert_eq!(urn, 0);
    }

    #[test]
    fn a_version_2_journal_gains_the_urn_with_a_copy_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal.sqlite3");
        let mut conn = Connection::open(&path).expect("open");
        conn.execute_batch(CREATE).expect("v2 tables");
        conn.execute_batch(CREATE_MEETING).expect("v2 meeting");
        conn.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 2;"))
            .expect("v2");
        conn.execute("INSERT INTO run VALUES (1, 'r', 1000, 10, NULL, 0, 0, '{}')", []).expect("run");
        configure_writer(&conn, false).expect("configure");
        assert_eq!(check_version(&conn).expect("check"), Found::Older(2));
        let backup = dir.path().join("journal.sqlite3.v2.bak");
        migrate(&mut conn, 2, Some(&backup)).expect("migrate");
        assert!(backup.exists(), "the version-2 file is kept");
        assert_eq!(check_version(&conn).expect("check"), Found::Current);
        conn.execute("INSERT INTO urn VALUES (1, 1, 'yes', 2)", []).expect("urn row");
        conn.execute("DELETE FROM run WHERE id = 1", []).expect("delete");
        let left: i64 = conn.query_row("SELECT count(*) FROM urn", [], |r| r.get(0)).expect("n");
        assert_eq!(left, 0, "urn rows go with their run");
    }
}
