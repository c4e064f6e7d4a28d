//! The one task that owns the floor. Every source sends it commands over a channel; it
//! applies them in arrival order, sleeps until the engine's next deadline, and fans the
//! results out: the latest snapshot on a `watch`, each event on a `broadcast`.
//!
//! # Durable before answered
//! The events of a command go to the journal's writer thread first (in a meeting or not:
//! the floor is recorded at all times, in the current *run*, see [`crate::journal`]); the owner keeps the answer, and the publication, in a queue (`pending`) until the
//! writer reports them written. It goes on handling commands meanwhile, so a slow fsync
//! delays answers, never the floor, and the writer can commit many commands at once. The
//! queue is released strictly in order, so answers and the event stream keep the order of
//! the floor. A write that fails releases its answers anyway (the room keeps working; the
//! journal reports `degraded`); a write that has not finished after [`STALL_LIMIT`] no
//! longer holds answers up. Without a journal nothing is recorded and answers are immediate.
//! Each answer says which of these happened ([`Durability`]): callers that answer people
//! (the API, MQTT replies) pass it on, so nobody takes an unwritten change for recorded.
//!
//! # Secret ballots
//! In a secret vote the engine keeps the choices only as counts in its urn. After every
//! `handle` and `tick` the owner takes the engine's deposits ([`Floor::take_deposits`]) and
//! hands them to the writer with the events of the same command, in one record (one
//! transaction), so the stored counts always match the stored `ballot_cast` events. The
//! command record keeps such a ballot as `"choice":"<secret>"` ([`SECRET_CHOICE`]), and no
//! log line shows any ballot's choice ([`Logged`]).
//!
//! # Sources and rate limits
//! [`SessionHandle::command_from`] names the [`Source`] of a command; each source has a
//! token bucket ([`rate_limit`]) checked before the command is queued, so a flooding
//! source cannot slow anyone else. [`SessionHandle::command`] is the unlimited path for
//! callers that do not name a source.
//!
//! # Pipelined sources
//! A device source (desk units, networked desk units, the button box, the MQTT link) hands
//! its commands over with [`SessionHandle::enqueue_from`] and awaits each [`Answer`] later,
//! beside the next key: it does not wait for one command's journal write before sending
//! the next, so simultaneous presses reach the owner together and the writer commits
//! them in one transaction. The owner's queue keeps each source's order; the answers come
//! in floor order. The owner counts rejections per source ([`SourceStats::rejected`]).

pub mod rate_limit;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use podium_floor::vote::VoteKind;
use podium_floor::{
    Actor, AgendaItem, CarryOver, Command, Event, Floor, MeetingPhase, Outcome, Reason, Rejection, Setup,
    Snapshot,
};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::SessionClock;
use crate::journal::store::{RunInfo, SecretDeposits};
use crate::journal::writer::{Ack, Acks};
use crate::journal::{
    CHECKPOINT_EVERY, CommandRecord, Journal, JournalSettings, MeetingInfo, ROTATE_EVENTS, Record,
};
pub use rate_limit::{Limit, RateLimiter, Source, SourceStats};

/// What the command record keeps of a ballot's choice in a secret vote.
pub const SECRET_CHOICE: &str = "<secret>";

/// A command for a log line: a ballot never shows its choice (whether the vote is secret
/// is not known where some commands are logged, so no choice is ever logged).
pub struct Logged<'a>(pub &'a Command);

impl std::fmt::Debug for Logged<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Command::CastVote { participant, .. } => f
                .debug_struct("CastVote")
                .field("participant", participant)
                .field("choice", &"<not logged>")
                .finish(),
            command => command.fmt(f),
        }
    }
}

/// How many recent events the owner keeps for clients that resume after a disconnect.
pub const RESUME_WINDOW: usize = 10_000;
/// Events buffered per subscriber before it counts as lagging and resynchronises.
const BROADCAST_CAPACITY: usize = 4_096;
/// Commands waiting for the owner before senders wait.
const COMMAND_QUEUE: usize = 1_024;
/// A journal write not finished after this long no longer holds answers up.
pub const STALL_LIMIT: Duration = Duration::from_secs(2);
/// At shutdown, how long the owner waits for the journal to write what was applied.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(2);

/// Where an event-stream subscriber starts.
#[derive(Debug)]
pub enum Start {
    /// Every event after this sequence number, read from the shared [`ResumeWindow`] as the
    /// client can take them (nothing is copied per client).
    After(u64),
    /// A full snapshot: the client asked for none, or its position is older than the
    /// resume window (or in the future); it continues after `snapshot.floor.seq`.
    Snapshot(Arc<Snapshot>),
}

/// A subscription: the start, the shared window to read from, and a receiver that wakes
/// the reader for every later event.
pub struct Subscription {
    /// What to send first.
    pub start: Start,
    /// The owner's recent events, shared by every subscriber.
    pub window: ResumeWindow,
    /// The window's epoch at subscription (a reset floor starts a new one).
    pub epoch: u64,
    /// Events after the start, without gap (subscribed by the owner atomically with `start`).
    pub events: broadcast::Receiver<Arc<Event>>,
}

/// The most recent [`RESUME_WINDOW`] events, kept once for every client that resumes or
/// falls behind: an event stream holds a position in it, not a copy of it, so a client
/// that does not read costs the same as one that does.
#[derive(Clone, Default)]
pub struct ResumeWindow(Arc<std::sync::RwLock<Window>>);

struct Window {
    events: VecDeque<Arc<Event>>,
    /// Counts resets of the floor: sequence numbers start again, positions do not carry over.
    epoch: u64,
    /// Whether the part is public after the newest kept event (kept with the events under
    /// one lock, so a reader never sees one without the other).
    public: bool,
}

impl Default for Window {
    fn default() -> Self {
        Window { events: VecDeque::new(), epoch: 0, public: true }
    }
}

/// What follows a position in the [`ResumeWindow`].
#[derive(Debug)]
pub enum Next {
    /// The event after the position.
    Event(Arc<Event>),
    /// Nothing yet: the position is the newest event.
    Current,
    /// The position is older than the window: the events after it are gone.
    Behind,
    /// The floor was reset since the position was taken.
    Reset,
}

impl ResumeWindow {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Window> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Window> {
        self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The event after sequence number `seq` in `epoch`.
    pub fn next_after(&self, epoch: u64, seq: u64) -> Next {
        let window = self.read();
        if window.epoch != epoch {
            return Next::Reset;
        }
        let Some(oldest) = window.events.front().map(|e| e.seq) else { return Next::Current };
        if seq.saturating_add(1) < oldest {
            return Next::Behind;
        }
        // Sequence numbers are consecutive; search anyway rather than trust arithmetic.
        let at = window.events.partition_point(|e| e.seq <= seq);
        window.events.get(at).map_or(Next::Current, |e| Next::Event(e.clone()))
    }

    /// Whether the part was public right after event `seq`: the first switch after `seq`
    /// tells the value before it, else it is as after the newest kept event. `None` if the
    /// window cannot tell (another epoch, or `seq` no longer in it).
    pub fn public_after(&self, epoch: u64, seq: u64) -> Option<bool> {
        let window = self.read();
        let public_now = window.public;
        if window.epoch != epoch {
            return None;
        }
        if let Some(oldest) = window.events.front().map(|e| e.seq)
            && seq.saturating_add(1) < oldest
        {
            return None;
        }
        let at = window.events.partition_point(|e| e.seq <= seq);
        let first_switch = window.events.iter().skip(at).find_map(|e| match e.change {
            podium_floor::Change::PublicChanged { public } => Some(public),
            _ => None,
        });
        Some(first_switch.map_or(public_now, |public| !public))
    }

    /// The oldest kept sequence number and the epoch.
    fn oldest(&self) -> (Option<u64>, u64) {
        let window = self.read();
        (window.events.front().map(|e| e.seq), window.epoch)
    }

    /// The part as the floor starts (a restored floor may be in the non-public part).
    fn set_public(&self, public: bool) {
        self.write().public = public;
    }

    fn push(&self, event: Arc<Event>) {
        let mut window = self.write();
        if let podium_floor::Change::PublicChanged { public } = event.change {
            window.public = public;
        }
        if window.events.len() == RESUME_WINDOW {
            window.events.pop_front();
        }
        window.events.push_back(event);
    }

    fn reset(&self) {
        let mut window = self.write();
        window.events.clear();
        window.epoch += 1;
        window.public = true;
    }

    /// Events kept now.
    pub fn len(&self) -> usize {
        self.read().events.len()
    }

    /// Whether no event is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

type MeetingReply = oneshot::Sender<Result<MeetingInfo, MeetingError>>;

enum Message {
    Command { source: Source, command: Command, actor: Actor, reply: oneshot::Sender<Answered> },
    Subscribe { since: Option<u64>, reply: oneshot::Sender<Subscription> },
    OpenMeeting { opening: Box<MeetingOpening>, reply: MeetingReply },
    SetPhase { id: i64, phase: MeetingPhase, by: Source, reply: MeetingReply },
    CloseMeeting { id: i64, by: Source, reply: MeetingReply },
    CurrentMeeting { reply: oneshot::Sender<Option<MeetingInfo>> },
    SaveDraft { draft: String, reply: oneshot::Sender<Result<(), MeetingError>> },
    Ping { reply: oneshot::Sender<u64> },
}

/// The session has stopped (shutdown); the command was not applied.
#[derive(Debug, thiserror::Error)]
#[error("the session is shutting down")]
pub struct SessionClosed;

/// Whether the changes a command made are in the journal when it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Written to the journal (or nothing needed writing: a rejection, a repeated request).
    Written,
    /// Applied, but there is no journal to record it in.
    NotRecorded,
    /// Applied, but the journal could not write it yet (degraded or stalled): it is kept
    /// and retried, and lost if the daemon stops before the store works again.
    NotDurable,
}

/// The engine's answer and what the journal made of it.
#[derive(Debug)]
pub struct Answered {
    /// The engine's answer.
    pub outcome: Outcome,
    /// Whether its changes are recorded.
    pub durability: Durability,
}

/// The engine's answer to a command handed over with [`SessionHandle::enqueue_from`]:
/// resolves once the owner answers (after the journal wrote the command's events, while a
/// meeting is open), or with [`SessionClosed`] if it never will. Awaited directly it gives
/// the engine's outcome; [`Answer::with_durability`] adds whether it was recorded.
#[derive(Debug)]
#[must_use = "the answer tells whether the command was applied"]
pub struct Answer(oneshot::Receiver<Answered>);

impl Answer {
    /// The answer with its [`Durability`].
    pub async fn with_durability(self) -> Result<Answered, SessionClosed> {
        self.0.await.map_err(|_| SessionClosed)
    }
}

impl Future for Answer {
    type Output = Result<Outcome, SessionClosed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|answer| answer.map(|a| a.outcome).map_err(|_| SessionClosed))
    }
}

/// Why a command from a named source was not handled.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The session is shutting down.
    #[error("the session is shutting down")]
    Closed,
    /// The source sent more than its limit; the command was dropped.
    #[error("{from} sends too many commands; try again in {retry_after_ms} ms")]
    RateLimited {
        /// The source.
        from: Source,
        /// When its bucket has a token again.
        retry_after_ms: u64,
    },
}

impl From<SessionClosed> for CommandError {
    fn from(_: SessionClosed) -> Self {
        CommandError::Closed
    }
}

/// What a meeting opens with.
#[derive(Debug, Clone)]
pub struct MeetingOpening {
    /// Title for the record ("Stadtrat, 12. Sitzung").
    pub title: String,
    /// The body (council, committee) holding it.
    pub body: String,
    /// The agenda, if any (else the floor's agenda stays as it is).
    pub agenda: Option<Vec<AgendaItem>>,
    /// Whether waiting requests move on from item to item.
    pub carry_over: CarryOver,
    /// The OParl id of the meeting it was imported from.
    pub oparl_id: Option<String>,
    /// Who opens it (recorded).
    pub by: Source,
    /// As which actor (chair or technician; recorded with the agenda).
    pub actor: Actor,
}

impl MeetingOpening {
    /// A meeting with only a title, opened by podiumd itself.
    pub fn titled(title: impl Into<String>) -> Self {
        MeetingOpening {
            title: title.into(),
            body: String::new(),
            agenda: None,
            carry_over: CarryOver::default(),
            oparl_id: None,
            by: Source::Internal,
            actor: Actor::Technician,
        }
    }
}

/// Why a meeting could not be opened or closed.
#[derive(Debug, thiserror::Error)]
pub enum MeetingError {
    /// The engine refused part of it (e.g. an invalid agenda, or one that cannot be
    /// replaced while an item is current).
    #[error("{}", .0.message)]
    Rejected(Rejection),
    /// A meeting is open already.
    #[error("meeting {0} is open; close it first")]
    AlreadyOpen(i64),
    /// The meeting is not the open one.
    #[error("meeting {0} is not open")]
    NotOpen(i64),
    /// There is no journal to record it in.
    #[error("no meeting can be recorded: {0}")]
    NoJournal(String),
    /// The session is shutting down.
    #[error("the session is shutting down")]
    Closed,
}

/// A cloneable handle to the session owner.
#[derive(Clone)]
pub struct SessionHandle {
    tx: mpsc::Sender<Message>,
    snapshot: watch::Receiver<Arc<Snapshot>>,
    limiter: Arc<RateLimiter>,
    journal: Journal,
    stopped: watch::Receiver<bool>,
    clock: SessionClock,
}

impl SessionHandle {
    /// Sends a command and waits for the engine's answer. Not rate-limited; sources that
    /// can flood (desk units, clients) use [`SessionHandle::command_from`].
    pub async fn command(&self, command: Command, actor: Actor) -> Result<Outcome, SessionClosed> {
        self.send_command(Source::Internal, command, actor).await
    }

    /// Sends a command from `source`, subject to the source's rate limit, and waits for the
    /// engine's answer (given once the events are durable in the journal).
    pub async fn command_from(
        &self,
        source: Source,
        command: Command,
        actor: Actor,
    ) -> Result<Outcome, CommandError> {
        Ok(self.enqueue_from(source, command, actor).await?.await?)
    }

    /// Hands a command from `source` to the owner, subject to the source's rate limit, and
    /// returns without waiting for the engine: the [`Answer`] comes later. Waits only while
    /// the owner's queue is full. Commands of one caller are applied in the order handed over.
    pub async fn enqueue_from(
        &self,
        source: Source,
        command: Command,
        actor: Actor,
    ) -> Result<Answer, CommandError> {
        if let Err(retry_after_ms) = self.limiter.admit(&source) {
            return Err(CommandError::RateLimited { from: source, retry_after_ms });
        }
        Ok(self.enqueue(source, command, actor).await?)
    }

    async fn send_command(
        &self,
        source: Source,
        command: Command,
        actor: Actor,
    ) -> Result<Outcome, SessionClosed> {
        self.enqueue(source, command, actor).await?.await
    }

    async fn enqueue(&self, source: Source, command: Command, actor: Actor) -> Result<Answer, SessionClosed> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Message::Command { source, command, actor, reply }).await.map_err(|_| SessionClosed)?;
        Ok(Answer(answer))
    }

    /// Subscribes to the event stream from a sequence number (or from a snapshot).
    pub async fn subscribe(&self, since: Option<u64>) -> Result<Subscription, SessionClosed> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Message::Subscribe { since, reply }).await.map_err(|_| SessionClosed)?;
        answer.await.map_err(|_| SessionClosed)
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }

    /// A receiver that sees every new snapshot (for directors and device drivers).
    pub fn watch(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshot.clone()
    }

    /// Opens a meeting: it labels the record from the floor as it stands, with its agenda.
    pub async fn open_meeting(&self, opening: MeetingOpening) -> Result<MeetingInfo, MeetingError> {
        let (reply, answer) = oneshot::channel();
        let opening = Box::new(opening);
        self.tx.send(Message::OpenMeeting { opening, reply }).await.map_err(|_| MeetingError::Closed)?;
        answer.await.map_err(|_| MeetingError::Closed)?
    }

    /// Suspends (`MeetingPhase::Suspended`) or resumes (`MeetingPhase::Open`) the open meeting `id`.
    pub async fn set_meeting_phase(
        &self,
        id: i64,
        phase: MeetingPhase,
        by: Source,
    ) -> Result<MeetingInfo, MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Message::SetPhase { id, phase, by, reply }).await.map_err(|_| MeetingError::Closed)?;
        answer.await.map_err(|_| MeetingError::Closed)?
    }

    /// Closes the open meeting `id`.
    pub async fn close_meeting(&self, id: i64) -> Result<MeetingInfo, MeetingError> {
        self.close_meeting_by(id, Source::Internal).await
    }

    /// Closes the open meeting `id`, recording who closed it.
    pub async fn close_meeting_by(&self, id: i64, by: Source) -> Result<MeetingInfo, MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Message::CloseMeeting { id, by, reply }).await.map_err(|_| MeetingError::Closed)?;
        answer.await.map_err(|_| MeetingError::Closed)?
    }

    /// Stores the draft agenda for the next meeting (JSON) in the journal; answers once written.
    pub async fn save_agenda_draft(&self, draft: String) -> Result<(), MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Message::SaveDraft { draft, reply }).await.map_err(|_| MeetingError::Closed)?;
        answer.await.map_err(|_| MeetingError::Closed)?
    }

    /// The open meeting, if any.
    pub async fn current_meeting(&self) -> Result<Option<MeetingInfo>, SessionClosed> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Message::CurrentMeeting { reply }).await.map_err(|_| SessionClosed)?;
        answer.await.map_err(|_| SessionClosed)
    }

    /// Asks the owner for its published sequence number: proves its loop is turning.
    pub async fn ping(&self) -> Result<u64, SessionClosed> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Message::Ping { reply }).await.map_err(|_| SessionClosed)?;
        answer.await.map_err(|_| SessionClosed)
    }

    /// The session's clock (a restored session continues its timeline).
    pub fn clock(&self) -> SessionClock {
        self.clock
    }

    /// The journal (status, queries).
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Commands counted per source.
    pub fn source_stats(&self) -> Vec<SourceStats> {
        self.limiter.stats()
    }

    /// Waits until the owner has stopped and the journal is flushed (after cancellation),
    /// at most `limit`. Returns whether it did.
    pub async fn stopped(&self, limit: Duration) -> bool {
        let mut stopped = self.stopped.clone();
        tokio::time::timeout(limit, stopped.wait_for(|done| *done)).await.is_ok_and(|r| r.is_ok())
    }
}

/// How the owner starts: the floor, its clock and whatever the journal restored.
pub struct Begin {
    /// The floor.
    pub floor: Floor,
    /// Its clock.
    pub clock: SessionClock,
    /// The journal (or [`Journal::disabled`]).
    pub journal: Journal,
    /// The journal's acknowledgements.
    pub acks: Acks,
    /// The setup from the room configuration (applies after a restored meeting closes).
    pub config_setup: Setup,
    /// `room.id`, stored with each meeting.
    pub room_id: String,
    /// Events to keep for resuming clients (restored from the journal).
    pub recent: Vec<Event>,
    /// The run in progress, if restored (none: a new run starts).
    pub run: Option<RunInfo>,
    /// The open meeting, if restored.
    pub meeting: Option<MeetingInfo>,
    /// The id of the next meeting.
    pub next_meeting_id: i64,
    /// The id of the next run.
    pub next_run_id: i64,
    /// Sequence number of the run's newest checkpoint.
    pub checkpoint_seq: u64,
    /// Whether command records name client addresses (`[journal] record_addresses`).
    pub record_addresses: bool,
}

/// Starts the owner task without a journal (nothing is recorded); it runs until `cancel` fires.
pub fn spawn(
    floor: Floor,
    clock: SessionClock,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> SessionHandle {
    let (journal, acks) = Journal::disabled();
    let config_setup = floor.setup().clone();
    let begin = Begin {
        floor,
        clock,
        journal,
        acks,
        config_setup,
        room_id: String::new(),
        recent: Vec::new(),
        run: None,
        meeting: None,
        next_meeting_id: 1,
        next_run_id: 1,
        checkpoint_seq: 0,
        record_addresses: true,
    };
    spawn_with(begin, cancel, tracker)
}

/// Opens the journal of `config`, restores the open meeting (see [`crate::journal::restore`]),
/// starts the daily retention and the owner task.
pub async fn start(
    config: &crate::config::RoomConfig,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> anyhow::Result<SessionHandle> {
    start_with(&config.journal, config.floor_setup(), config.room_id.clone(), cancel, tracker).await
}

/// [`start`] with its parts (for tests and tools).
pub async fn start_with(
    settings: &JournalSettings,
    config_setup: Setup,
    room_id: String,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> anyhow::Result<SessionHandle> {
    let open_settings = settings.clone();
    let setup = config_setup.clone();
    let (journal, acks, restored) =
        tokio::task::spawn_blocking(move || Journal::open(&open_settings, &setup, RESUME_WINDOW)).await?;
    let report = &restored.report;
    match &restored.meeting {
        Some(meeting) => tracing::info!(
            meeting = meeting.id,
            seq = report.restored_seq,
            replayed = report.replayed_events,
            checkpoint = report.checkpoint_seq,
            clock_origin_ms = report.clock_origin_ms,
            took_ms = report.took_ms,
            "journal: restored the open meeting \"{}\"",
            meeting.title
        ),
        None => tracing::info!(
            journal = %settings.location,
            run = report.run_id,
            seq = report.restored_seq,
            took_ms = report.took_ms,
            "journal: restored the floor (no meeting open)"
        ),
    }
    crate::journal::writer::spawn_retention(
        journal.clone(),
        settings.retention_days,
        cancel.clone(),
        tracker,
    );
    let begin = Begin {
        floor: restored.floor,
        clock: SessionClock::starting_at(restored.clock_origin_ms),
        journal,
        acks,
        config_setup,
        room_id,
        recent: restored.recent,
        run: restored.run,
        meeting: restored.meeting,
        next_meeting_id: restored.next_meeting_id,
        next_run_id: restored.next_run_id,
        checkpoint_seq: restored.checkpoint_seq,
        record_addresses: settings.record_addresses,
    };
    Ok(spawn_with(begin, cancel, tracker))
}

/// Starts the owner task from `begin`; it runs until `cancel` fires.
pub fn spawn_with(begin: Begin, cancel: CancellationToken, tracker: &TaskTracker) -> SessionHandle {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let (snapshot_tx, snapshot_rx) = watch::channel(Arc::new(begin.floor.snapshot()));
    let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
    let (stopped_tx, stopped_rx) = watch::channel(false);
    let published_seq = begin.floor.state().seq;
    let recent = ResumeWindow::default();
    recent.set_public(begin.floor.state().public);
    for event in begin.recent {
        recent.push(Arc::new(event));
    }
    let journal = begin.journal.clone();
    let clock = begin.clock;
    let limiter = Arc::new(RateLimiter::default());
    let owner = Owner {
        limiter: limiter.clone(),
        floor: begin.floor,
        clock: begin.clock,
        config_setup: begin.config_setup,
        room_id: begin.room_id,
        recent,
        events,
        snapshot: snapshot_tx,
        published_seq,
        journal: begin.journal,
        acks: begin.acks,
        acks_open: true,
        sent_op: 0,
        acked_op: 0,
        durable_op: 0,
        pending: VecDeque::new(),
        stalled: false,
        run: begin.run,
        unwritten_seal: None,
        meeting: begin.meeting,
        next_meeting_id: begin.next_meeting_id,
        next_run_id: begin.next_run_id,
        checkpoint_seq: begin.checkpoint_seq,
        record_addresses: begin.record_addresses,
        retired: Vec::new(),
    };
    let mut owner = owner;
    owner.begin_recording();
    tracker.spawn(owner.run(rx, cancel, stopped_tx));
    SessionHandle { tx, snapshot: snapshot_rx, limiter, journal, stopped: stopped_rx, clock }
}

/// What to send whom once an entry of the pending queue is released.
enum Reply {
    None,
    Command(oneshot::Sender<Answered>, Outcome),
    Meeting(MeetingReply, Result<MeetingInfo, MeetingError>),
    Done(oneshot::Sender<Result<(), MeetingError>>, Result<(), MeetingError>),
}

/// Answers and publications waiting for the journal, in floor order.
struct Pending {
    /// Released once the journal acknowledged this operation number.
    wait_op: u64,
    /// When it was queued (for the stall limit).
    since: tokio::time::Instant,
    /// Events to publish.
    events: Vec<Event>,
    /// The snapshot after them.
    snapshot: Option<Arc<Snapshot>>,
    /// The floor was rebuilt: end every event stream (clients resynchronise from a snapshot).
    reset: bool,
    /// Operation `wait_op` holds this entry's own record (its events go to the journal).
    recorded: bool,
    reply: Reply,
}

/// The owner's state: the engine, the journal link and the fan-out.
struct Owner {
    floor: Floor,
    /// Shared with the handles: the owner counts each source's rejected commands.
    limiter: Arc<RateLimiter>,
    clock: SessionClock,
    config_setup: Setup,
    room_id: String,
    recent: ResumeWindow,
    events: broadcast::Sender<Arc<Event>>,
    snapshot: watch::Sender<Arc<Snapshot>>,
    /// Sequence number of the last published event (the floor may be ahead of it).
    published_seq: u64,
    journal: Journal,
    acks: Acks,
    acks_open: bool,
    /// The last operation number handed to the journal.
    sent_op: u64,
    /// The last operation number the journal acknowledged.
    acked_op: u64,
    /// The last operation number the journal acknowledged as written to disk.
    durable_op: u64,
    pending: VecDeque<Pending>,
    /// The journal did not answer within the stall limit: answer without waiting.
    stalled: bool,
    /// The run in progress (none without a journal).
    run: Option<RunInfo>,
    /// A sealed run's record, written with the next run's start.
    unwritten_seal: Option<Record>,
    meeting: Option<MeetingInfo>,
    next_meeting_id: i64,
    next_run_id: i64,
    checkpoint_seq: u64,
    record_addresses: bool,
    /// Snapshots replaced since the owner was last idle. The last one to go frees what the
    /// changes since replaced (the rest is shared with the state now); that waits until the
    /// change is out.
    retired: Vec<Arc<Snapshot>>,
}

impl Owner {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Message>,
        cancel: CancellationToken,
        stopped: watch::Sender<bool>,
    ) {
        loop {
            let deadline = self.floor.next_deadline().map(|d| self.clock.to_tokio(d));
            let stall_at = match self.pending.front() {
                Some(front) if !self.stalled && front.wait_op > self.acked_op => {
                    Some(front.since + STALL_LIMIT)
                }
                _ => None,
            };
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                ack = self.acks.recv(), if self.acks_open => match ack {
                    Some(ack) => self.on_ack(ack),
                    None => self.acks_open = false,
                },
                message = rx.recv() => match message {
                    Some(message) => self.on_message(message),
                    None => break,
                },
                _ = sleep_until(deadline) => {
                    let events = self.floor.tick(self.clock.now());
                    self.apply(events, None, Reply::None);
                }
                _ = sleep_until(stall_at) => self.on_stall(),
            }
            if self.floor.is_shared() || !self.retired.is_empty() {
                // The snapshot just taken shares the state; the next change must copy its top
                // level (~0.1 µs: the collections are persistent and stay shared), and the
                // replaced one must be freed (only what the change replaced). Both are small
                // now, but still belong after the tasks this change woke (event streams,
                // MQTT, devices) had their turn, not on the path of this change or the next.
                tokio::task::yield_now().await;
                self.floor.prepare();
                self.retired.clear();
            }
        }
        self.shutdown().await;
        let _ = stopped.send(true);
    }

    fn on_message(&mut self, message: Message) {
        match message {
            Message::Command { source, command, actor, reply } => {
                let outcome = if matches!(command, Command::SetPhase { .. }) {
                    // The phase follows the journal's meeting record: only the meeting routes set it.
                    Err(Rejection::new(
                        Reason::NotAllowedForRole,
                        "meetings are opened, suspended, resumed and closed through the meeting routes",
                    ))
                } else {
                    self.floor.handle(&command, &actor, self.clock.now())
                };
                let logged = Logged(&command);
                match &outcome {
                    Ok(events) => {
                        tracing::debug!(command = ?logged, ?actor, %source, events = events.len(), "command accepted");
                        let events = events.clone();
                        let source = source.recorded(self.record_addresses);
                        let command = self.recorded_command(command);
                        let record = CommandRecord { source, actor, command };
                        self.apply(events, Some(record), Reply::Command(reply, outcome));
                    }
                    Err(rejection)
                        if rejection.reason == podium_floor::Reason::NoVoteOpen
                            && matches!(command, Command::CastVote { .. })
                            && matches!(actor, Actor::Station(_)) =>
                    {
                        // A vote key pressed (or a ballot sent) outside a vote does nothing
                        // and is no error of its source.
                        tracing::debug!(%source, "ballot outside a vote ignored");
                        self.apply(Vec::new(), None, Reply::Command(reply, outcome));
                    }
                    Err(rejection) => {
                        tracing::info!(command = ?logged, ?actor, %source, reason = rejection.reason.code(), "command rejected");
                        self.limiter.note_rejected(&source);
                        self.apply(Vec::new(), None, Reply::Command(reply, outcome));
                    }
                }
                debug_assert_eq!(self.floor.check_invariants(), Ok(()));
            }
            Message::Subscribe { since, reply } => {
                let events = self.events.subscribe();
                let (start, epoch) = self.start_for(since);
                let window = self.recent.clone();
                let _ = reply.send(Subscription { start, window, epoch, events });
            }
            Message::OpenMeeting { opening, reply } => self.open_meeting(*opening, reply),
            Message::SetPhase { id, phase, by, reply } => self.set_phase(id, phase, by, reply),
            Message::CloseMeeting { id, by, reply } => self.close_meeting(id, by, reply),
            Message::CurrentMeeting { reply } => {
                let _ = reply.send(self.meeting.clone().map(|m| self.with_progress(m)));
            }
            Message::SaveDraft { draft, reply } => {
                let result = if !self.journal.can_record() {
                    Err(MeetingError::NoJournal("no journal is configured".into()))
                } else {
                    let updated_unix_ms = self.clock.now().unix_ms;
                    self.submit(Record::AgendaDraft { draft, updated_unix_ms });
                    Ok(())
                };
                self.queue(Pending::new(self.sent_op, Vec::new(), None, Reply::Done(reply, result)));
            }
            Message::Ping { reply } => {
                let _ = reply.send(self.published_seq);
            }
        }
    }

    /// A meeting's counters as of the published state.
    fn with_progress(&self, mut meeting: MeetingInfo) -> MeetingInfo {
        meeting.last_seq = self.published_seq.max(meeting.first_seq);
        meeting.events = meeting.last_seq - meeting.first_seq;
        meeting
    }

    /// The command as the journal keeps it: a ballot in a secret vote without its choice
    /// (the vote it went to is the floor's current one, still there after it closed).
    fn recorded_command(&self, command: Command) -> Command {
        match command {
            Command::CastVote { participant, .. } if self.current_vote_is_secret() => {
                Command::CastVote { participant, choice: SECRET_CHOICE.into() }
            }
            command => command,
        }
    }

    fn current_vote_is_secret(&self) -> bool {
        self.floor.state().vote.as_ref().is_some_and(|v| v.kind == VoteKind::Secret)
    }

    /// Records `events` (while a meeting is open), then queues their publication and the
    /// reply behind the write. The engine's secret deposits of the same command go into the
    /// same transaction.
    fn apply(&mut self, events: Vec<Event>, command: Option<CommandRecord>, reply: Reply) {
        let deposits = SecretDeposits(self.floor.take_deposits());
        if !deposits.0.is_empty() && events.is_empty() {
            tracing::error!("the engine deposited secret ballots without an event; they are not recorded");
        }
        if events.is_empty() {
            if matches!(reply, Reply::None) {
                return;
            }
            self.queue(Pending::new(self.sent_op, Vec::new(), None, reply));
            return;
        }
        // Applied but not journaled: no journal, or the writer is gone.
        let mut recorded = false;
        if let Some(run) = &self.run {
            let run_id = run.id;
            let seq = self.floor.state().seq;
            let checkpoint = (seq >= self.checkpoint_seq + CHECKPOINT_EVERY).then(|| {
                self.checkpoint_seq = seq;
                Box::new(self.floor.state().clone())
            });
            let mut record = Record::Events { run_id, events: events.clone(), command, checkpoint };
            if !deposits.0.is_empty() {
                record = Record::Together(vec![record, Record::Urn { run_id, deposits }]);
            }
            recorded = self.submit(record);
        }
        let snapshot = Arc::new(self.floor.snapshot());
        let mut pending = Pending::new(self.sent_op, events, Some(snapshot), reply);
        pending.recorded = recorded;
        self.queue(pending);
        if self.meeting.is_none()
            && let Some(run) = &self.run
            && self.floor.state().seq >= run.first_seq + ROTATE_EVENTS
        {
            self.seal_run();
            self.start_run();
        }
    }

    /// At start: makes sure a run is in progress. A restored run whose setup differs from
    /// the room configuration is sealed and the floor starts afresh with the configuration,
    /// unless a meeting is open in it (a meeting keeps its setup until it closes).
    fn begin_recording(&mut self) {
        if !self.journal.can_record() {
            self.run = None;
            return;
        }
        if self.run.is_some() && self.meeting.is_none() && self.floor.setup() != &self.config_setup {
            tracing::warn!("the room configuration changed: the floor starts afresh with it");
            self.seal_run();
            self.reset_to_config();
        }
        if self.run.is_none() {
            self.start_run();
        }
        // The phase follows the meeting record (a journal from before phases, or a crash
        // between the record and the phase change).
        let phase = self.floor.state().phase;
        match (&self.meeting, phase) {
            (Some(_), MeetingPhase::None) => {
                let _ = self.apply_own(
                    Command::SetPhase { phase: MeetingPhase::Open },
                    Actor::System,
                    &Source::Internal,
                );
            }
            (None, MeetingPhase::Open | MeetingPhase::Suspended) => {
                let _ = self.apply_own(
                    Command::SetPhase { phase: MeetingPhase::None },
                    Actor::System,
                    &Source::Internal,
                );
            }
            _ => {}
        }
    }

    /// Applies a command podiumd issues itself (meeting lifecycle), recorded like any other.
    fn apply_own(&mut self, command: Command, actor: Actor, source: &Source) -> Result<(), Rejection> {
        let events = self.floor.handle(&command, &actor, self.clock.now())?;
        let command = self.recorded_command(command);
        let record = CommandRecord { source: source.recorded(self.record_addresses), actor, command };
        self.apply(events, Some(record), Reply::None);
        Ok(())
    }

    /// Starts a new run with the floor as it stands.
    fn start_run(&mut self) {
        let now = self.clock.now();
        let seq = self.floor.state().seq;
        let run = RunInfo {
            id: self.next_run_id,
            room_id: self.room_id.clone(),
            opened_unix_ms: now.unix_ms,
            first_seq: seq,
        };
        self.next_run_id += 1;
        let start = Record::RunStart {
            run: run.clone(),
            opened_mono_ms: now.mono_ms.0,
            setup: Box::new(self.floor.setup().clone()),
            state: Box::new(self.floor.state().clone()),
        };
        let record = match self.unwritten_seal.take() {
            Some(seal) => Record::Together(vec![seal, start]),
            None => start,
        };
        if self.submit(record) {
            tracing::debug!(run = run.id, seq, "journal: a new run starts");
            self.run = Some(run);
            self.checkpoint_seq = seq;
        } else {
            self.run = None;
        }
    }

    /// Seals the run in progress with the floor as it stands. The seal is written together
    /// with the start of the next run ([`Owner::start_run`], which always follows).
    fn seal_run(&mut self) {
        let Some(run) = self.run.take() else { return };
        let now = self.clock.now();
        self.unwritten_seal = Some(Record::RunSeal {
            run_id: run.id,
            sealed_unix_ms: now.unix_ms,
            last_seq: self.floor.state().seq,
            state: Box::new(self.floor.state().clone()),
        });
    }

    /// Rebuilds the floor from the room configuration; every event stream resynchronises.
    fn reset_to_config(&mut self) {
        self.floor = Floor::new(self.config_setup.clone());
        self.checkpoint_seq = 0;
        let snapshot = Arc::new(self.floor.snapshot());
        let mut pending = Pending::new(self.sent_op, Vec::new(), Some(snapshot), Reply::None);
        pending.reset = true;
        self.queue(pending);
    }

    /// Hands `record` to the writer as the next operation; false if there is no writer.
    fn submit(&mut self, record: Record) -> bool {
        if self.journal.submit(self.sent_op + 1, record) {
            self.sent_op += 1;
            true
        } else {
            tracing::error!("the journal writer is gone; this change is not recorded");
            false
        }
    }

    fn queue(&mut self, pending: Pending) {
        self.pending.push_back(pending);
        self.release();
    }

    /// Publishes and answers, in order, everything the journal has acknowledged.
    fn release(&mut self) {
        while let Some(front) = self.pending.front() {
            if front.wait_op > self.acked_op && !self.stalled {
                break;
            }
            if let Some(pending) = self.pending.pop_front() {
                self.publish(pending);
            }
        }
    }

    fn on_ack(&mut self, ack: Ack) {
        self.acked_op = self.acked_op.max(ack.through_op);
        if ack.durable {
            self.durable_op = self.durable_op.max(ack.through_op);
        }
        if self.stalled && self.acked_op >= self.sent_op {
            self.stalled = false;
            tracing::warn!("the journal caught up after a stalled write");
        }
        self.release();
    }

    fn on_stall(&mut self) {
        self.stalled = true;
        self.journal.set_stalled(Some(STALL_LIMIT));
        tracing::error!(
            waiting = self.pending.len(),
            "JOURNAL WRITE STALLED for {STALL_LIMIT:?}: answering without waiting for the disk"
        );
        self.release();
    }

    fn open_meeting(&mut self, opening: MeetingOpening, reply: MeetingReply) {
        let result = self.try_open_meeting(opening);
        self.queue(Pending::new(self.sent_op, Vec::new(), None, Reply::Meeting(reply, result)));
    }

    fn try_open_meeting(&mut self, opening: MeetingOpening) -> Result<MeetingInfo, MeetingError> {
        if let Some(open) = &self.meeting {
            return Err(MeetingError::AlreadyOpen(open.id));
        }
        if !self.journal.can_record() {
            let status = self.journal.status();
            return Err(MeetingError::NoJournal(
                status.error.unwrap_or_else(|| "no journal is configured".into()),
            ));
        }
        let now = self.clock.now();
        let agenda = opening.agenda.map(|items| Command::SetAgenda { items, carry_over: opening.carry_over });
        if let Some(command) = &agenda {
            // Tried on a copy first: an agenda the engine refuses opens nothing.
            self.floor.clone().handle(command, &opening.actor, now).map_err(MeetingError::Rejected)?;
        }
        if self.run.is_none() {
            self.start_run();
        }
        let run_id = self.run.as_ref().map_or(0, |run| run.id);
        let id = self.next_meeting_id;
        self.next_meeting_id += 1;
        let seq = self.floor.state().seq;
        let mut info =
            MeetingInfo::opening(id, run_id, opening.title, self.room_id.clone(), now.unix_ms, seq);
        info.body = opening.body;
        info.oparl_id = opening.oparl_id;
        let agenda_json = match &agenda {
            Some(Command::SetAgenda { items, .. }) => serde_json::to_string(items).ok(),
            _ => None,
        };
        self.submit(Record::MeetingOpen {
            info: info.clone(),
            agenda: agenda_json,
            state: Box::new(self.floor.state().clone()),
        });
        self.meeting = Some(info.clone());
        self.checkpoint_seq = seq;
        if let Some(command) = agenda {
            self.apply_own(command, opening.actor, &opening.by).map_err(MeetingError::Rejected)?;
        }
        self.apply_own(Command::SetPhase { phase: MeetingPhase::Open }, Actor::System, &opening.by)
            .map_err(MeetingError::Rejected)?;
        tracing::info!(meeting = id, seq, "meeting \"{}\" opened", info.title);
        Ok(info)
    }

    fn set_phase(&mut self, id: i64, phase: MeetingPhase, by: Source, reply: MeetingReply) {
        let result = match &self.meeting {
            Some(open) if open.id == id => {
                let info = open.clone();
                self.apply_own(Command::SetPhase { phase }, Actor::System, &by)
                    .map(|()| self.with_progress(info))
                    .map_err(MeetingError::Rejected)
            }
            _ => Err(MeetingError::NotOpen(id)),
        };
        self.queue(Pending::new(self.sent_op, Vec::new(), None, Reply::Meeting(reply, result)));
    }

    fn close_meeting(&mut self, id: i64, by: Source, reply: MeetingReply) {
        if self.meeting.as_ref().is_none_or(|m| m.id != id) {
            self.queue(Pending::new(
                self.sent_op,
                Vec::new(),
                None,
                Reply::Meeting(reply, Err(MeetingError::NotOpen(id))),
            ));
            return;
        }
        // The meeting's last events: its item ends, the room is public again.
        if let Err(e) = self.apply_own(Command::SetPhase { phase: MeetingPhase::None }, Actor::System, &by) {
            tracing::error!("closing the meeting: {}", e.message);
        }
        let Some(open) = self.meeting.take() else { return };
        let now = self.clock.now();
        let seq = self.floor.state().seq;
        self.submit(Record::MeetingClose { meeting_id: id, closed_unix_ms: now.unix_ms, last_seq: seq });
        // The meeting's run ends with it: what follows is a new span of the record, so
        // retention can remove the meeting with exactly its run.
        self.seal_run();
        let info = open.closing(now.unix_ms, seq);
        tracing::info!(meeting = id, seq, "meeting \"{}\" closed", info.title);
        self.queue(Pending::new(self.sent_op, Vec::new(), None, Reply::Meeting(reply, Ok(info))));
        if self.floor.setup() != &self.config_setup {
            // A restored meeting ran with the setup it opened with; the changed room
            // configuration applies from now on.
            tracing::warn!("the floor now follows the changed room configuration");
            self.reset_to_config();
        }
        self.start_run();
    }

    fn start_for(&self, since: Option<u64>) -> (Start, u64) {
        let current = self.published_seq;
        let (oldest, epoch) = self.recent.oldest();
        let snapshot = || Start::Snapshot(self.snapshot.borrow().clone());
        let Some(since) = since else { return (snapshot(), epoch) };
        let oldest_kept = oldest.unwrap_or(current + 1);
        if since > current || since + 1 < oldest_kept {
            return (snapshot(), epoch);
        }
        (Start::After(since), epoch)
    }

    fn publish(&mut self, pending: Pending) {
        let durability = if pending.recorded {
            if pending.wait_op <= self.durable_op { Durability::Written } else { Durability::NotDurable }
        } else if pending.events.is_empty() && self.run.is_some() {
            // Nothing of its own to write (a rejection, a repeated request) while recording.
            Durability::Written
        } else {
            Durability::NotRecorded
        };
        if pending.reset {
            // Dropping the old sender ends every event stream; clients come back for a snapshot.
            self.events = broadcast::channel(BROADCAST_CAPACITY).0;
            self.recent.reset();
            self.published_seq = 0;
        }
        if let Some(snapshot) = pending.snapshot {
            self.retired.push(self.snapshot.send_replace(snapshot));
        }
        for event in pending.events {
            self.published_seq = event.seq;
            let event = Arc::new(event);
            self.recent.push(event.clone());
            // No subscriber is not an error: the event is kept for resuming clients.
            let _ = self.events.send(event);
        }
        // The caller may have gone away; the command stands either way.
        match pending.reply {
            Reply::None => {}
            Reply::Command(reply, outcome) => {
                let _ = reply.send(Answered { outcome, durability });
            }
            Reply::Meeting(reply, result) => {
                let _ = reply.send(result);
            }
            Reply::Done(reply, result) => {
                let _ = reply.send(result);
            }
        }
    }

    /// Waits (bounded) until the journal has written what was applied, answers what is
    /// durable, and closes the journal. What is not durable stays unanswered: its callers
    /// learn that the session shut down.
    async fn shutdown(mut self) {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_FLUSH;
        while self.acks_open && self.pending.iter().any(|p| p.wait_op > self.acked_op) {
            match tokio::time::timeout_at(deadline, self.acks.recv()).await {
                Ok(Some(ack)) => self.on_ack(ack),
                Ok(None) | Err(_) => break,
            }
        }
        self.release();
        if !self.pending.is_empty() {
            tracing::error!(unanswered = self.pending.len(), "shutting down with journal writes unfinished");
        }
        self.pending.clear();
        self.journal.close(SHUTDOWN_FLUSH).await;
        tracing::info!(seq = self.floor.state().seq, "session owner stopped");
    }
}

impl Pending {
    fn new(wait_op: u64, events: Vec<Event>, snapshot: Option<Arc<Snapshot>>, reply: Reply) -> Self {
        Pending {
            wait_op,
            since: tokio::time::Instant::now(),
            events,
            snapshot,
            reset: false,
            recorded: false,
            reply,
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
