//! The journal's writer thread and the handle the rest of the daemon uses.
//!
//! SQLite calls block, so the store lives on its own OS thread; the async side only sends
//! it records over a channel and receives acknowledgements ("written through operation N").
//! The thread commits everything that has queued up in one transaction (group commit), so
//! under load many commands share one fsync without giving up "durable before answered".
//! A failed write keeps its records and is retried, in order, every [`RETRY_INTERVAL`] and
//! with every new record; the acknowledgement says it was not durable, so the owner can
//! answer anyway (the room keeps working) while the status says `degraded`.

use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use podium_floor::Setup;
use tokio::sync::{mpsc, oneshot, watch};

use super::restore::{self, Restored};
use super::store::{Record, Store};
use super::{JournalError, JournalLocation, JournalSettings, JournalState, JournalStatus};
use crate::clock::unix_ms as now_unix_ms;

/// How often a failed write is retried while no new record arrives.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// A failing journal is logged at most this often (the first failure always).
const LOG_EVERY: Duration = Duration::from_secs(30);

/// "Everything up to operation `through_op` was attempted; it is on disk if `durable`."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// The last operation number covered.
    pub through_op: u64,
    /// Whether it is on disk (false: the write failed; it is kept and retried).
    pub durable: bool,
}

/// The receiving end of the acknowledgements: the session owner holds it.
pub type Acks = mpsc::UnboundedReceiver<Ack>;

type ReadFn = Box<dyn FnOnce(&Store) + Send>;

enum Op {
    Record { op: u64, record: Box<Record> },
    Read(ReadFn),
    Retention { cutoff_unix_ms: i64, reply: oneshot::Sender<Result<usize, JournalError>> },
    Close { reply: oneshot::Sender<()> },
}

/// A cloneable handle to the journal.
#[derive(Clone)]
pub struct Journal {
    ops: Option<std_mpsc::Sender<Op>>,
    status: watch::Receiver<JournalStatus>,
    status_tx: std::sync::Arc<watch::Sender<JournalStatus>>,
    location: Option<JournalLocation>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("location", &self.location).finish()
    }
}

impl Journal {
    /// No journal: nothing is recorded, meetings cannot be opened.
    pub fn disabled() -> (Journal, Acks) {
        let (status_tx, status) =
            watch::channel(JournalStatus::new(JournalState::Disabled, String::new(), 0));
        let (_acks_tx, acks) = mpsc::unbounded_channel();
        (Journal { ops: None, status, status_tx: std::sync::Arc::new(status_tx), location: None }, acks)
    }

    /// Opens the journal, restores the open meeting and starts the writer thread. Blocking:
    /// call it before serving or through `spawn_blocking`. Never fails: a store that cannot
    /// be opened gives an `unavailable` journal and a fresh floor, with the error in the report.
    pub fn open(
        settings: &JournalSettings,
        config_setup: &Setup,
        resume_window: usize,
    ) -> (Journal, Acks, Restored) {
        let started = Instant::now();
        let location_text = settings.location.to_string();
        let mut status = JournalStatus::new(JournalState::Ok, location_text.clone(), settings.retention_days);
        let (mut store, warnings) = match Store::open(&settings.location, now_unix_ms()) {
            Ok(opened) => opened,
            Err(e) => {
                let message = format!("cannot open the journal {location_text}: {e}");
                tracing::error!("{message}; the room runs without a record");
                status.state = JournalState::Unavailable;
                status.error = Some(message.clone());
                status.degraded_since_unix_ms = Some(now_unix_ms());
                let mut restored = Restored::fresh(config_setup.clone(), 1, 1, vec![message]);
                restored.report.took_ms = elapsed_ms(started);
                status.recovery = Some(restored.report.clone());
                let (status_tx, status_rx) = watch::channel(status);
                let (_acks_tx, acks) = mpsc::unbounded_channel();
                let journal = Journal {
                    ops: None,
                    status: status_rx,
                    status_tx: std::sync::Arc::new(status_tx),
                    location: Some(settings.location.clone()),
                };
                return (journal, acks, restored);
            }
        };
        let mut restored = restore::restore(&mut store, config_setup, now_unix_ms(), resume_window, warnings);
        if !restored.pending.is_empty() {
            let records: Vec<&Record> = restored.pending.iter().collect();
            if let Err(e) = store.write(&records) {
                restored.report.warnings.push(format!("cannot write to the journal: {e}"));
            }
            restored.pending.clear();
        }
        restored.report.took_ms = elapsed_ms(started);
        for warning in &restored.report.warnings {
            tracing::warn!("journal: {warning}");
        }
        if let Some(refused) = &restored.report.urn_refused {
            // Loud on purpose: `/api/v1/diagnostics` shows it in the recovery report too.
            tracing::error!("journal: {refused}");
        }
        if store.is_read_only() {
            status.state = JournalState::Degraded;
            status.error = Some(format!("{location_text} is read-only"));
            status.degraded_since_unix_ms = Some(now_unix_ms());
            tracing::error!("journal {location_text} is read-only: events are applied but not recorded");
        }
        status.written_seq = restored.floor.state().seq;
        status.recovery = Some(restored.report.clone());
        let (status_tx, status_rx) = watch::channel(status);
        let status_tx = std::sync::Arc::new(status_tx);
        let (ops_tx, ops_rx) = std_mpsc::channel();
        let (acks_tx, acks) = mpsc::unbounded_channel();
        let writer = Writer {
            store,
            ops: ops_rx,
            acks: acks_tx,
            status: status_tx.clone(),
            backlog: Vec::new(),
            last_logged: None,
            urn_in_wal: false,
        };
        let spawned = std::thread::Builder::new().name("journal-writer".into()).spawn(move || writer.run());
        let ops = match spawned {
            Ok(_) => Some(ops_tx),
            Err(e) => {
                tracing::error!("cannot start the journal writer thread: {e}");
                status_tx.send_modify(|s| {
                    s.state = JournalState::Unavailable;
                    s.error = Some(format!("cannot start the writer thread: {e}"));
                });
                None
            }
        };
        let journal =
            Journal { ops, status: status_rx, status_tx, location: Some(settings.location.clone()) };
        (journal, acks, restored)
    }

    /// Whether records can be handed to the writer (a meeting can be recorded).
    pub fn can_record(&self) -> bool {
        self.ops.is_some()
    }

    /// Hands a record to the writer as operation `op`. Returns false if there is no writer.
    pub fn submit(&self, op: u64, record: Record) -> bool {
        match &self.ops {
            Some(ops) => {
                // Counted before the writer can see the record: counted after, a writer
                // that finished first would subtract from too little and leave the count high.
                let events = record.event_count() as u64;
                if events > 0 {
                    self.status_tx.send_modify(|s| s.unwritten_events += events);
                }
                if ops.send(Op::Record { op, record: Box::new(record) }).is_err() {
                    self.status_tx
                        .send_modify(|s| s.unwritten_events = s.unwritten_events.saturating_sub(events));
                    return false;
                }
                true
            }
            None => false,
        }
    }

    /// The current status.
    pub fn status(&self) -> JournalStatus {
        self.status.borrow().clone()
    }

    /// Marks writes as stalled (the owner stopped waiting for them) or no longer stalled.
    pub fn set_stalled(&self, stalled_for: Option<Duration>) {
        self.status_tx.send_if_modified(|s| match stalled_for {
            Some(d) if s.state == JournalState::Ok => {
                s.state = JournalState::Degraded;
                s.error = Some(format!("a journal write has not finished after {} ms", d.as_millis()));
                s.degraded_since_unix_ms = Some(now_unix_ms());
                true
            }
            _ => false,
        });
    }

    /// Records the outcome of a retention run.
    fn note_retention(&self, result: &Result<usize, JournalError>) {
        self.status_tx.send_modify(|s| {
            s.retention.last_run_unix_ms = Some(now_unix_ms());
            match result {
                Ok(n) => {
                    s.retention.deleted_meetings += *n as u64;
                    s.retention.error = None;
                }
                Err(e) => s.retention.error = Some(e.to_string()),
            }
        });
    }

    /// Runs `f` on the journal for reading: on a separate read-only connection for a file
    /// (so long queries never hold up writes), on the writer thread for an in-memory journal.
    pub async fn read<T, F>(&self, f: F) -> Result<T, JournalError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, JournalError> + Send + 'static,
    {
        match &self.location {
            None => Err(JournalError::NoJournal),
            Some(JournalLocation::File(path)) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || f(&Store::open_read_only(&path)?))
                    .await
                    .map_err(|_| JournalError::Stopped)?
            }
            Some(JournalLocation::Memory) => {
                let ops = self.ops.as_ref().ok_or(JournalError::Stopped)?;
                let (reply, answer) = oneshot::channel();
                let job: ReadFn = Box::new(move |store| {
                    let _ = reply.send(f(store));
                });
                ops.send(Op::Read(job)).map_err(|_| JournalError::Stopped)?;
                answer.await.map_err(|_| JournalError::Stopped)?
            }
        }
    }

    /// Deletes the meetings closed more than `days` ago. Refused while writes are failing.
    pub async fn apply_retention(&self, days: u32) -> Result<usize, JournalError> {
        let ops = self.ops.as_ref().ok_or(JournalError::NoJournal)?;
        let cutoff_unix_ms = now_unix_ms().saturating_sub(i64::from(days) * 86_400_000);
        let (reply, answer) = oneshot::channel();
        ops.send(Op::Retention { cutoff_unix_ms, reply }).map_err(|_| JournalError::Stopped)?;
        let result = answer.await.map_err(|_| JournalError::Stopped)?;
        self.note_retention(&result);
        result
    }

    /// Writes what is still queued, folds the write-ahead log into the database and stops
    /// the writer. Waits at most `limit`.
    pub async fn close(&self, limit: Duration) {
        let Some(ops) = &self.ops else { return };
        let (reply, answer) = oneshot::channel();
        if ops.send(Op::Close { reply }).is_err() {
            return;
        }
        if tokio::time::timeout(limit, answer).await.is_err() {
            tracing::warn!("the journal did not finish writing within {limit:?}");
        }
    }
}

/// Applies the retention of closed meetings now and then once a day, until `cancel` fires.
pub fn spawn_retention(
    journal: Journal,
    days: u32,
    cancel: tokio_util::sync::CancellationToken,
    tracker: &tokio_util::task::TaskTracker,
) {
    if !journal.can_record() {
        return;
    }
    tracker.spawn(async move {
        loop {
            if let Err(e) = journal.apply_retention(days).await {
                tracing::warn!("retention of closed meetings failed: {e}");
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(86_400)) => {}
            }
        }
    });
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

struct Writer {
    store: Store,
    ops: std_mpsc::Receiver<Op>,
    acks: mpsc::UnboundedSender<Ack>,
    status: std::sync::Arc<watch::Sender<JournalStatus>>,
    /// Records not yet on disk, in order (several only after a failed write).
    backlog: Vec<(u64, Record)>,
    last_logged: Option<Instant>,
    /// The write-ahead log holds urn pages not yet truncated away (a reader held it).
    urn_in_wal: bool,
}

impl Writer {
    fn run(mut self) {
        loop {
            // A store opened read-only is retried like a failed write, until it can write.
            let first = if self.backlog.is_empty() && !self.store.is_read_only() {
                self.ops.recv().map_err(|_| std_mpsc::RecvTimeoutError::Disconnected)
            } else {
                self.ops.recv_timeout(RETRY_INTERVAL)
            };
            let mut batch = Vec::new();
            match first {
                Ok(op) => batch.push(op),
                Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                    self.write_backlog();
                    return;
                }
            }
            // Group commit: everything that queued up while the last write ran goes together.
            while let Ok(op) = self.ops.try_recv() {
                batch.push(op);
            }
            for op in batch {
                match op {
                    Op::Record { op, record } => self.backlog.push((op, *record)),
                    Op::Read(job) => {
                        self.write_backlog();
                        job(&self.store);
                    }
                    Op::Retention { cutoff_unix_ms, reply } => {
                        self.write_backlog();
                        let result = if self.backlog.is_empty() {
                            self.store
                                .delete_closed_before(cutoff_unix_ms)
                                .map_err(JournalError::sqlite("cannot delete old meetings"))
                        } else {
                            Err(JournalError::Degraded)
                        };
                        if let Ok(n) = &result
                            && *n > 0
                        {
                            tracing::info!(deleted = n, "retention: deleted closed meetings");
                        }
                        let _ = reply.send(result);
                    }
                    Op::Close { reply } => {
                        self.write_backlog();
                        if !self.backlog.is_empty() {
                            tracing::error!(
                                records = self.backlog.len(),
                                "shutting down with journal records that could not be written"
                            );
                        } else if let Err(e) = self.store.checkpoint_wal() {
                            tracing::warn!("journal: final checkpoint failed: {e}");
                        }
                        let _ = reply.send(());
                        return;
                    }
                }
            }
            self.write_backlog();
        }
    }

    fn write_backlog(&mut self) {
        if self.store.is_read_only() && self.store.reopen_writable() {
            tracing::warn!("the journal {} can be written again", self.store.location());
            if self.backlog.is_empty() {
                self.status.send_modify(|s| {
                    s.state = JournalState::Ok;
                    s.error = None;
                    s.degraded_since_unix_ms = None;
                });
            }
        }
        let Some(&(through_op, _)) = self.backlog.last() else { return };
        let records: Vec<&Record> = self.backlog.iter().map(|(_, r)| r).collect();
        let result = if self.store.is_read_only() {
            Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
                Some("the journal was opened read-only".into()),
            ))
        } else {
            self.store.write(&records)
        };
        match result {
            Ok(()) => {
                self.urn_in_wal |= self.backlog.iter().any(|(_, r)| r.touches_urn());
                if self.urn_in_wal {
                    // Secrecy: no history of the urn's counts may stay in the log (see
                    // `Store::truncate_wal_now`). Tried again after the next write if busy.
                    match self.store.truncate_wal_now() {
                        Ok(done) => self.urn_in_wal = !done,
                        Err(e) => tracing::warn!("journal: cannot truncate the write-ahead log: {e}"),
                    }
                }
                let events: u64 = self.backlog.iter().map(|(_, r)| r.event_count() as u64).sum();
                let last_seq = self.backlog.iter().rev().find_map(|(_, r)| r.last_seq());
                self.backlog.clear();
                let mut recovered = false;
                self.status.send_modify(|s| {
                    recovered = s.state == JournalState::Degraded;
                    s.state = JournalState::Ok;
                    s.error = None;
                    s.degraded_since_unix_ms = None;
                    s.unwritten_events = s.unwritten_events.saturating_sub(events);
                    s.commits += 1;
                    if let Some(seq) = last_seq {
                        s.written_seq = seq;
                    }
                });
                if recovered {
                    tracing::warn!("journal writes work again; everything applied meanwhile is now recorded");
                    self.last_logged = None;
                }
                let _ = self.acks.send(Ack { through_op, durable: true });
            }
            Err(e) => {
                let message = describe_write_error(&e);
                self.status.send_modify(|s| {
                    if s.state != JournalState::Degraded {
                        s.degraded_since_unix_ms = Some(now_unix_ms());
                    }
                    s.state = JournalState::Degraded;
                    s.error = Some(message.clone());
                    s.failed_writes += 1;
                });
                if self.last_logged.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
                    tracing::error!(
                        unwritten_records = self.backlog.len(),
                        "JOURNAL WRITE FAILED: {message}. The room keeps working; commands are applied \
                         but not recorded until the store is writable again (retrying every {}s)",
                        RETRY_INTERVAL.as_secs()
                    );
                    self.last_logged = Some(Instant::now());
                }
                let _ = self.acks.send(Ack { through_op, durable: false });
            }
        }
    }
}

/// A write error in words a technician can act on.
fn describe_write_error(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode;
    let hint = match e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DiskFull => "the disk is full",
            ErrorCode::ReadOnly | ErrorCode::PermissionDenied => "the journal cannot be written (read-only)",
            ErrorCode::SystemIoFailure => "the storage reported an I/O error",
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => "another process holds the journal",
            ErrorCode::DatabaseCorrupt => "the journal file is damaged",
            _ => "the write failed",
        },
        _ => "the write failed",
    };
    format!("{hint} ({e})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::MeetingInfo;
    use podium_floor::{Actor, Command, Floor, Profile, Station, Timestamp};

    fn setup() -> Setup {
        Setup {
            voting: Default::default(),
            presentation_sources: Vec::new(),
            seats: (1..=5)
                .map(|n| podium_floor::SeatSetup {
                    number: n,
                    label: n.to_string(),
                    default_participant: None,
                    position: None,
                })
                .collect(),
            participants: Vec::new(),
            profile: Profile::default(),
        }
    }

    fn settings(dir: &std::path::Path) -> JournalSettings {
        JournalSettings {
            location: JournalLocation::File(dir.join("j.sqlite3")),
            retention_days: 30,
            ..JournalSettings::default()
        }
    }

    async fn wait_ack(acks: &mut Acks, op: u64) -> Ack {
        loop {
            let ack = acks.recv().await.expect("ack");
            if ack.through_op >= op {
                return ack;
            }
        }
    }

    #[tokio::test]
    async fn records_are_durable_and_restored_after_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (journal, mut acks, restored) = Journal::open(&settings(dir.path()), &setup(), 100);
        assert_eq!(restored.meeting, None);
        assert_eq!(restored.run, None);
        let mut floor = restored.floor;
        let run =
            RunInfo { id: restored.next_run_id, room_id: "room".into(), opened_unix_ms: 1_000, first_seq: 0 };
        let info =
            MeetingInfo::opening(restored.next_meeting_id, run.id, "Test".into(), "room".into(), 1_000, 0);
        assert!(journal.submit(
            1,
            Record::RunStart {
                run: run.clone(),
                opened_mono_ms: 0,
                setup: Box::new(setup()),
                state: Box::new(floor.state().clone()),
            }
        ));
        assert!(journal.submit(
            2,
            Record::MeetingOpen { info: info.clone(), agenda: None, state: Box::new(floor.state().clone()) }
        ));
        let mut op = 2;
        for seat in 1..=3u16 {
            let command = Command::Request {
                station: Station::Seat(seat),
                kind: podium_floor::RequestKind::Ordinary,
                stance: None,
                raised_at: None,
            };
            let events = floor
                .handle(
                    &command,
                    &Actor::Station(Station::Seat(seat)),
                    Timestamp::new(u64::from(seat) * 10, 2_000),
                )
                .expect("accepted");
            op += 1;
            let record = CommandRecord { source: "test".into(), actor: Actor::Chair, command };
            journal.submit(
                op,
                Record::Events { run_id: run.id, events, command: Some(record), checkpoint: None },
            );
        }
        assert_eq!(wait_ack(&mut acks, op).await, Ack { through_op: op, durable: true });
        assert_eq!(journal.status().written_seq, 3);
        let commits = journal.status().commits;
        assert!((1..=5).contains(&commits), "5 records in 1 to 5 transactions, not {commits}");
        // Reopen without a clean close (as after a crash): the state comes back.
        drop(journal);
        let (_journal, _acks, again) = Journal::open(&settings(dir.path()), &setup(), 100);
        assert_eq!(again.meeting.map(|m| m.id), Some(info.id));
        assert_eq!(again.run.map(|r| r.id), Some(run.id));
        assert_eq!(again.floor.state(), floor.state());
        assert_eq!(again.recent.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(again.report.warnings.is_empty(), "{:?}", again.report.warnings);
    }

    use super::super::store::{CommandRecord, RunInfo};

    #[tokio::test]
    async fn a_store_that_cannot_be_opened_is_unavailable_and_the_floor_is_fresh() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A directory where the file should be: SQLite cannot open it.
        let path = dir.path().join("j.sqlite3");
        std::fs::create_dir(&path).expect("mkdir");
        let settings = JournalSettings {
            location: JournalLocation::File(path),
            retention_days: 30,
            ..JournalSettings::default()
        };
        let (journal, _acks, restored) = Journal::open(&settings, &setup(), 100);
        assert_eq!(journal.status().state, JournalState::Unavailable);
        assert!(!journal.can_record());
        assert_eq!(restored.floor.state(), Floor::new(setup()).state());
        assert!(journal.status().error.is_some_and(|e| e.contains("cannot open")));
    }
}
