//! Login sessions: a random id in an HttpOnly cookie, the principal behind it and its
//! expiry. Only the SHA-256 digest of an id is kept as the key.
//!
//! **Bounds.** At most [`MAX_SESSIONS_PER_PRINCIPAL`] sessions per principal (a new one
//! ends that principal's oldest, never someone else's) and [`MAX_SESSIONS`] in all. When
//! the whole table is full, the oldest session of the same or a lower rank goes (rank:
//! chair and technician above members and viewers), so opening member links or viewer
//! logins can never end a chair's or technician's session; if there is none to end, the
//! new session is refused (503).
//!
//! **Ending.** Every session has a cancellation token: logout, eviction and expiry cancel
//! it, and the guard ends that session's open event streams with it.
//!
//! **Persistence.** With a journal file (`[journal] path`), sessions are also kept in its
//! SQLite database (table `web_sessions`, keyed by the id's digest, with the principal,
//! a digest of the credential that started it and the expiry), through a connection and a
//! writer thread of their own, so a restart (upgrade, watchdog) logs nobody out. At start
//! a stored session is taken back only if its credential is still configured for the
//! same principal: a changed password, a removed user or a regenerated personal link ends
//! it. With an in-memory journal, sessions live in memory only.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::Principal;
use super::secret::{self, NoRandomness};
use crate::clock::unix_ms as now_unix_ms;
use crate::config::UserRole;

/// Sessions kept at most.
pub const MAX_SESSIONS: usize = 10_000;
/// Sessions of one principal (one user, one member) at most.
pub const MAX_SESSIONS_PER_PRINCIPAL: usize = 16;
/// Session writes waiting for the database at most; beyond that a write is skipped (the
/// session still works, it just would not survive a restart).
const PENDING_WRITES: usize = 1024;

type Key = [u8; 32];

/// A live session, as the guard needs it.
#[derive(Debug, Clone)]
pub struct Live {
    /// Who the session belongs to.
    pub principal: Principal,
    /// Cancelled when the session ends (logout, eviction).
    pub ended: CancellationToken,
    /// When the session expires.
    pub expires: Instant,
}

/// The session table was full of sessions that outrank the new one.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No randomness for an id.
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    /// Every slot is taken by higher-ranked sessions.
    #[error("the session table is full")]
    Full,
}

#[derive(Debug)]
struct Session {
    principal: Principal,
    /// Creation order (smaller = older).
    order: u64,
    expires: Instant,
    ended: CancellationToken,
}

fn rank(principal: &Principal) -> u8 {
    match principal {
        Principal::User { role: UserRole::Chair | UserRole::Technician | UserRole::Bridge, .. } => 1,
        _ => 0,
    }
}

/// The sans-IO table: every rule above, with `now` passed in.
#[derive(Debug, Default)]
struct Table {
    sessions: HashMap<Key, Session>,
    next_order: u64,
}

impl Table {
    /// Inserts a session; returns the keys it ended to make room.
    fn insert(
        &mut self,
        now: Instant,
        key: Key,
        principal: Principal,
        expires: Instant,
    ) -> Result<Vec<Key>, StartError> {
        let mut ended = self.drop_expired(now);
        let mut same: Vec<(u64, Key)> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.principal == principal)
            .map(|(k, s)| (s.order, *k))
            .collect();
        same.sort_unstable();
        let excess = (same.len() + 1).saturating_sub(MAX_SESSIONS_PER_PRINCIPAL);
        for (_, key) in same.into_iter().take(excess) {
            self.end(&key);
            ended.push(key);
        }
        if self.sessions.len() >= MAX_SESSIONS {
            let new_rank = rank(&principal);
            let victim = self
                .sessions
                .iter()
                .filter(|(_, s)| rank(&s.principal) <= new_rank)
                .min_by_key(|(_, s)| s.order)
                .map(|(k, _)| *k)
                .ok_or(StartError::Full)?;
            self.end(&victim);
            ended.push(victim);
        }
        self.next_order += 1;
        self.sessions.insert(
            key,
            Session { principal, order: self.next_order, expires, ended: CancellationToken::new() },
        );
        Ok(ended)
    }

    /// The live session; `Err(true)` if it just expired (and was ended), `Err(false)` if unknown.
    fn lookup(&mut self, now: Instant, key: &Key) -> Result<Live, bool> {
        match self.sessions.get(key) {
            Some(s) if s.expires > now => {
                Ok(Live { principal: s.principal.clone(), ended: s.ended.clone(), expires: s.expires })
            }
            Some(_) => {
                self.end(key);
                Err(true)
            }
            None => Err(false),
        }
    }

    #[cfg(test)]
    fn get(&mut self, now: Instant, key: &Key) -> Option<Live> {
        self.lookup(now, key).ok()
    }

    fn end(&mut self, key: &Key) -> bool {
        match self.sessions.remove(key) {
            Some(s) => {
                s.ended.cancel();
                true
            }
            None => false,
        }
    }

    fn drop_expired(&mut self, now: Instant) -> Vec<Key> {
        let expired: Vec<Key> =
            self.sessions.iter().filter(|(_, s)| s.expires <= now).map(|(k, _)| *k).collect();
        for key in &expired {
            self.end(key);
        }
        expired
    }

    fn live(&self, now: Instant) -> usize {
        self.sessions.values().filter(|s| s.expires > now).count()
    }
}

/// A session as stored in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Digest of the session id.
    key: Key,
    /// `user` or `member`.
    kind: String,
    /// The user's name or the member's id.
    name: String,
    /// The user's role (users only).
    role: Option<String>,
    /// Digest of the credential that started the session (see [`credential_tag`]).
    credential: String,
    /// Expiry, Unix milliseconds.
    expires_unix_ms: i64,
}

impl Stored {
    fn principal(&self) -> Option<Principal> {
        match (self.kind.as_str(), self.role.as_deref()) {
            ("user", Some(role)) => {
                let role = match role {
                    "chair" => UserRole::Chair,
                    "technician" => UserRole::Technician,
                    "viewer" => UserRole::Viewer,
                    "bridge" => UserRole::Bridge,
                    _ => return None,
                };
                Some(Principal::User { name: self.name.clone(), role })
            }
            ("member", None) => Some(Principal::Member { participant: self.name.as_str().into() }),
            _ => None,
        }
    }
}

/// The tag stored with a session: a digest of the credential (a user's password hash, a
/// link's token hash), so a changed credential ends stored sessions.
pub fn credential_tag(credential: &str) -> String {
    secret::token_hash(credential)
}

enum Write {
    /// Store a session; the sender (if any) hears when it is written.
    Put(Stored, Option<tokio::sync::oneshot::Sender<()>>),
    Delete(Key),
}

/// How long a login waits for its session to be written before it answers anyway.
const SAVE_WAIT: Duration = Duration::from_secs(2);

/// The database side: a writer thread that owns its own connection.
struct Persist {
    writes: Option<SyncSender<Write>>,
    writer: Option<std::thread::JoinHandle<()>>,
    /// Deletions that found the queue full: never dropped (a logout must not come back
    /// after a restart); the writer takes them after its next write and before it ends.
    /// Bounded by the sessions that exist.
    overflow: Arc<Mutex<Vec<Key>>>,
}

impl Drop for Persist {
    /// Lets the writer finish what is queued (at shutdown: the last logouts).
    fn drop(&mut self) {
        self.writes = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Persist {
    fn send(&self, write: Write) {
        let Some(writes) = &self.writes else { return };
        match writes.try_send(write) {
            Ok(()) => {}
            Err(TrySendError::Full(Write::Delete(key))) => {
                self.overflow.lock().unwrap_or_else(|p| p.into_inner()).push(key);
            }
            Err(TrySendError::Full(_)) => {
                tracing::warn!(
                    "session store busy: a session change was not saved (it still works until a restart)"
                );
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS web_sessions (
    digest BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT,
    credential TEXT NOT NULL,
    expires_unix_ms INTEGER NOT NULL
) WITHOUT ROWID";

/// Opens the journal's database for sessions: only an existing journal (its application
/// id set), so this never creates or claims a file the journal has not made its own.
fn open_database(path: &Path) -> rusqlite::Result<Option<rusqlite::Connection>> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = rusqlite::Connection::open(path)?;
    // SQLite opens a write-protected file read-only without saying so; such a connection
    // could not save a session, and while it is open the journal's own connection could
    // not become writable again once the store is (they share the file's lock state).
    if conn.is_readonly(rusqlite::MAIN_DB)? {
        return Ok(None);
    }
    conn.busy_timeout(Duration::from_secs(5))?;
    let app: i64 = conn.query_row("PRAGMA application_id", [], |row| row.get(0))?;
    if app != crate::journal::schema::APPLICATION_ID {
        return Ok(None);
    }
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;")?;
    conn.execute_batch(CREATE_TABLE)?;
    Ok(Some(conn))
}

fn load(conn: &rusqlite::Connection, now_unix_ms: i64) -> rusqlite::Result<Vec<Stored>> {
    conn.execute("DELETE FROM web_sessions WHERE expires_unix_ms <= ?1", [now_unix_ms])?;
    let mut statement =
        conn.prepare("SELECT digest, kind, name, role, credential, expires_unix_ms FROM web_sessions")?;
    let rows = statement.query_map([], |row| {
        let digest: Vec<u8> = row.get(0)?;
        Ok((digest, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (digest, kind, name, role, credential, expires_unix_ms) = row?;
        let Ok(key) = <Key>::try_from(digest.as_slice()) else { continue };
        out.push(Stored { key, kind, name, role, credential, expires_unix_ms });
    }
    Ok(out)
}

fn apply(conn: &rusqlite::Connection, write: &Write) -> rusqlite::Result<()> {
    match write {
        Write::Put(s, _) => conn.execute(
            "INSERT OR REPLACE INTO web_sessions (digest, kind, name, role, credential, expires_unix_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![s.key.as_slice(), s.kind, s.name, s.role, s.credential, s.expires_unix_ms],
        )?,
        Write::Delete(key) => conn.execute("DELETE FROM web_sessions WHERE digest = ?1", [key.as_slice()])?,
    };
    Ok(())
}

fn stored(key: Key, principal: &Principal, credential: &str, expires_unix_ms: i64) -> Option<Stored> {
    let (kind, name, role) = match principal {
        Principal::User { name, role } => ("user", name.clone(), Some(role.name().to_owned())),
        Principal::Member { participant } => ("member", participant.to_string(), None),
        Principal::Anonymous => return None,
    };
    Some(Stored { key, kind: kind.into(), name, role, credential: credential.to_owned(), expires_unix_ms })
}

/// The session store.
pub struct Sessions {
    lifetime: Duration,
    inner: Mutex<Table>,
    persist: Option<Persist>,
}

impl Sessions {
    /// An in-memory store whose sessions last `lifetime`.
    pub fn new(lifetime: Duration) -> Self {
        Sessions { lifetime, inner: Mutex::new(Table::default()), persist: None }
    }

    /// A store kept in the journal's database at `path` (if it is a journal), taking back
    /// the stored sessions whose credential tag `valid` still maps to their principal.
    /// Without a usable database it is an in-memory store (and says so in the log).
    pub fn persistent(lifetime: Duration, path: &Path, valid: &HashMap<String, Principal>) -> Self {
        let mut store = Sessions::new(lifetime);
        let conn = match open_database(path) {
            Ok(Some(conn)) => conn,
            Ok(None) => {
                tracing::warn!(
                    path = %path.display(),
                    "sessions are kept in memory: no writable journal database"
                );
                return store;
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), "sessions are kept in memory: {e}");
                return store;
            }
        };
        let now = Instant::now();
        let now_unix = now_unix_ms();
        let rows = load(&conn, now_unix).unwrap_or_else(|e| {
            tracing::warn!("stored sessions not read: {e}");
            Vec::new()
        });
        let mut dropped = Vec::new();
        {
            let mut table = store.lock();
            for row in rows {
                match row.principal() {
                    Some(principal) if valid.get(&row.credential) == Some(&principal) => {
                        let left =
                            Duration::from_millis(u64::try_from(row.expires_unix_ms - now_unix).unwrap_or(0));
                        let expires = now + left.min(lifetime);
                        if table.insert(now, row.key, principal, expires).is_err() {
                            dropped.push(row.key);
                        }
                    }
                    _ => dropped.push(row.key),
                }
            }
        }
        for key in &dropped {
            let _ = apply(&conn, &Write::Delete(*key));
        }
        tracing::info!(
            sessions = store.live(),
            ended = dropped.len(),
            "sessions taken back from the journal database"
        );
        let (writes, queue) = sync_channel::<Write>(PENDING_WRITES);
        let overflow = Arc::new(Mutex::new(Vec::new()));
        let overflowed = overflow.clone();
        let spawned = std::thread::Builder::new().name("podium-sessions".into()).spawn(move || {
            let deletions_that_waited = || {
                let keys = std::mem::take(&mut *overflowed.lock().unwrap_or_else(|p| p.into_inner()));
                for key in keys {
                    if let Err(e) = apply(&conn, &Write::Delete(key)) {
                        tracing::warn!("session end not saved: {e}");
                    }
                }
            };
            for write in queue {
                if let Err(e) = apply(&conn, &write) {
                    tracing::warn!("session not saved: {e}");
                }
                if let Write::Put(_, Some(done)) = write {
                    let _ = done.send(());
                }
                deletions_that_waited();
            }
            deletions_that_waited();
        });
        match spawned {
            Ok(writer) => {
                store.persist = Some(Persist { writes: Some(writes), writer: Some(writer), overflow });
            }
            Err(e) => tracing::warn!("sessions are kept in memory: no writer thread: {e}"),
        }
        store
    }

    /// How long a new session lasts.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Starts a session for a principal who proved `credential` (see [`credential_tag`]);
    /// returns the id for the cookie. With a database, waits (up to two seconds, without
    /// blocking the runtime) until the session is written: a login that was answered
    /// survives a restart right after.
    pub async fn create(&self, principal: Principal, credential: &str) -> Result<String, StartError> {
        let id = secret::new_token()?;
        let key = secret::token_digest(&id);
        let now = Instant::now();
        let ended = self.lock().insert(now, key, principal.clone(), now + self.lifetime)?;
        if let Some(persist) = &self.persist {
            for key in ended {
                persist.send(Write::Delete(key));
            }
            let lifetime_ms = i64::try_from(self.lifetime.as_millis()).unwrap_or(i64::MAX);
            let expires_unix_ms = now_unix_ms().saturating_add(lifetime_ms);
            if let Some(row) = stored(key, &principal, &credential_tag(credential), expires_unix_ms) {
                let (done, written) = tokio::sync::oneshot::channel();
                persist.send(Write::Put(row, Some(done)));
                let _ = tokio::time::timeout(SAVE_WAIT, written).await;
            }
        }
        Ok(id)
    }

    /// The live session behind a cookie value.
    pub fn get(&self, id: &str) -> Option<Live> {
        if !secret::plausible_token(id) {
            return None;
        }
        let key = secret::token_digest(id);
        let found = self.lock().lookup(Instant::now(), &key);
        if found.as_ref().is_err_and(|expired| *expired)
            && let Some(persist) = &self.persist
        {
            persist.send(Write::Delete(key));
        }
        found.ok()
    }

    /// Ends a session (logout): its streams end too.
    pub fn remove(&self, id: &str) {
        let key = secret::token_digest(id);
        let removed = self.lock().end(&key);
        if removed && let Some(persist) = &self.persist {
            persist.send(Write::Delete(key));
        }
    }

    /// Live sessions (for metrics).
    pub fn live(&self) -> usize {
        self.lock().live(Instant::now())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave the map inconsistent (single
        // inserts and removes), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, role: UserRole) -> Principal {
        Principal::User { name: name.into(), role }
    }

    fn member(id: &str) -> Principal {
        Principal::Member { participant: id.into() }
    }

    fn key(i: usize) -> Key {
        let mut k = [0u8; 32];
        k[..8].copy_from_slice(&(i as u64).to_le_bytes());
        k
    }

    #[tokio::test]
    async fn sessions_live_until_removed_or_expired() {
        let store = Sessions::new(Duration::from_secs(60));
        let p = member("vogt");
        let id = store.create(p.clone(), "link").await.expect("id");
        let live = store.get(&id).expect("live");
        assert_eq!(live.principal, p);
        assert_eq!(store.get("not-a-session-id-at-all").map(|l| l.principal), None);
        assert_eq!(store.live(), 1);
        store.remove(&id);
        assert!(live.ended.is_cancelled(), "logout ends the session's streams");
        assert!(store.get(&id).is_none());

        let expired = Sessions::new(Duration::ZERO);
        let id = expired.create(member("vogt"), "link").await.expect("id");
        assert!(expired.get(&id).is_none());
        assert_eq!(expired.live(), 0);
    }

    #[test]
    fn a_principal_keeps_at_most_its_cap_and_loses_its_own_oldest() {
        let mut table = Table::default();
        let now = Instant::now();
        let later = now + Duration::from_secs(3600);
        table.insert(now, key(0), user("chair", UserRole::Chair), later).expect("chair");
        let first = table.get(now, &key(0)).expect("chair live");
        for i in 1..=MAX_SESSIONS_PER_PRINCIPAL {
            assert_eq!(table.insert(now, key(i), member("vogt"), later).expect("member"), Vec::<Key>::new());
        }
        let oldest = table.get(now, &key(1)).expect("vogt's first");
        let ended =
            table.insert(now, key(MAX_SESSIONS_PER_PRINCIPAL + 1), member("vogt"), later).expect("one more");
        // Vogt's oldest (key 1) made room for the newest; the chair is untouched.
        assert_eq!(ended, vec![key(1)]);
        assert!(oldest.ended.is_cancelled(), "its streams end");
        assert!(table.get(now, &key(1)).is_none());
        assert!(table.get(now, &key(MAX_SESSIONS_PER_PRINCIPAL + 1)).is_some());
        assert!(table.get(now, &key(0)).is_some());
        assert!(!first.ended.is_cancelled());
        assert_eq!(table.live(now), 1 + MAX_SESSIONS_PER_PRINCIPAL);
    }

    #[test]
    fn a_full_table_never_ends_staff_for_members_or_viewers() {
        let mut table = Table::default();
        let now = Instant::now();
        let later = now + Duration::from_secs(3600);
        // The chair's session is the oldest of all.
        table.insert(now, key(0), user("chair", UserRole::Chair), later).expect("chair");
        for i in 1..MAX_SESSIONS {
            let who =
                if i % 2 == 0 { member(&format!("m{i}")) } else { user(&format!("v{i}"), UserRole::Viewer) };
            table.insert(now, key(i), who, later).expect("fits");
        }
        assert_eq!(table.sessions.len(), MAX_SESSIONS);
        let ended = table.insert(now, key(MAX_SESSIONS), member("new"), later).expect("room made");
        assert_eq!(ended, vec![key(1)], "the oldest non-staff session made room");
        assert!(table.get(now, &key(0)).is_some(), "the chair stays");

        // A table full of staff refuses a member rather than ending staff.
        let mut staff = Table::default();
        for i in 0..MAX_SESSIONS {
            staff.insert(now, key(i), user(&format!("t{i}"), UserRole::Technician), later).expect("fits");
        }
        assert!(matches!(staff.insert(now, key(MAX_SESSIONS), member("m"), later), Err(StartError::Full)));
        // ... but another technician may replace the oldest staff session.
        assert_eq!(
            staff.insert(now, key(MAX_SESSIONS), user("x", UserRole::Technician), later).expect("staff"),
            vec![key(0)]
        );
    }

    #[tokio::test]
    async fn sessions_survive_in_the_journal_database_while_their_credential_holds() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("journal.sqlite3");
        let conn = rusqlite::Connection::open(&path).expect("db");
        conn.execute_batch(&format!("PRAGMA application_id = {};", crate::journal::schema::APPLICATION_ID))
            .expect("journal id");
        drop(conn);
        let chair = user("chair", UserRole::Chair);
        let vogt = member("vogt");
        let valid: HashMap<String, Principal> =
            [(credential_tag("chair-hash"), chair.clone()), (credential_tag("vogt-link"), vogt.clone())]
                .into();
        let lifetime = Duration::from_secs(3600);
        let (kept, changed, removed);
        {
            let store = Sessions::persistent(lifetime, &path, &valid);
            kept = store.create(chair.clone(), "chair-hash").await.expect("id");
            changed = store.create(vogt.clone(), "old-vogt-link").await.expect("id");
            removed = store.create(vogt.clone(), "vogt-link").await.expect("id");
            store.remove(&removed);
            // Written once created: the three rows are there before the logout's delete.
            let conn = rusqlite::Connection::open(&path).expect("db");
            let rows: i64 =
                conn.query_row("SELECT count(*) FROM web_sessions", [], |r| r.get(0)).expect("count");
            assert!(rows >= 2, "created sessions are written before create returns ({rows})");
        }
        // Dropping the store drains its queue (the logout's delete included).
        let conn = rusqlite::Connection::open(&path).expect("db");
        let rows: i64 = conn.query_row("SELECT count(*) FROM web_sessions", [], |r| r.get(0)).expect("count");
        assert_eq!(rows, 2, "kept and changed are stored, the logged-out one is not");
        let store = Sessions::persistent(lifetime, &path, &valid);
        assert_eq!(store.get(&kept).map(|l| l.principal), Some(chair));
        assert!(store.get(&changed).is_none(), "a regenerated link ends the stored session");
        assert!(store.get(&removed).is_none());

        // A file that is not a journal is left alone.
        let other = dir.path().join("other.sqlite3");
        rusqlite::Connection::open(&other).expect("db").execute_batch("CREATE TABLE t (x)").expect("t");
        let store = Sessions::persistent(lifetime, &other, &valid);
        assert!(store.persist.is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn logouts_are_saved_even_when_the_write_queue_is_full() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("journal.sqlite3");
        let conn = rusqlite::Connection::open(&path).expect("db");
        conn.execute_batch(&format!("PRAGMA application_id = {};", crate::journal::schema::APPLICATION_ID))
            .expect("journal id");
        let count = PENDING_WRITES + 50;
        let members: Vec<Principal> = (0..count).map(|i| member(&format!("m{i}"))).collect();
        let valid: HashMap<String, Principal> = members
            .iter()
            .enumerate()
            .map(|(i, m)| (credential_tag(&format!("link-{i}")), m.clone()))
            .collect();
        let store = Sessions::persistent(Duration::from_secs(3600), &path, &valid);
        let mut ids = Vec::new();
        for (i, m) in members.iter().enumerate() {
            ids.push(store.create(m.clone(), &format!("link-{i}")).await.expect("id"));
        }
        // Another process holds the database: the writer waits, the queue fills up.
        conn.execute_batch("BEGIN EXCLUSIVE").expect("lock");
        for id in &ids {
            store.remove(id);
        }
        std::thread::sleep(Duration::from_millis(300));
        conn.execute_batch("COMMIT").expect("unlock");
        drop(store);
        let rows: i64 = conn.query_row("SELECT count(*) FROM web_sessions", [], |r| r.get(0)).expect("count");
        assert_eq!(rows, 0, "every logout is saved, also those that found the queue full");
    }
}
