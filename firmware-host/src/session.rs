//! The one task that owns the floor. Every source sends it commands over a channel; it
//! applies them in arrival order, sleeps until the engine's next deadline, and fans the
//! results out: the latest snapshot on a `watch`, each event on a `broadcast`.

use std::collections::VecDeque;
use std::sync::Arc;

use podium_floor::{Actor, Command, Event, Floor, Outcome, Snapshot};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::clock::SessionClock;

/// How many recent events the owner keeps for clients that resume after a disconnect.
pub const RESUME_WINDOW: usize = 10_000;
/// Events buffered per subscriber before it counts as lagging and resynchronises.
const BROADCAST_CAPACITY: usize = 4_096;
/// Commands waiting for the owner before senders wait.
const COMMAND_QUEUE: usize = 1_024;

/// Where an event-stream subscriber starts.
#[derive(Debug)]
pub enum Start {
    /// Everything after the sequence number the client asked for (may be empty).
    Backlog(Vec<Arc<Event>>),
    /// A full snapshot: the client asked for none, or its position is older than the
    /// resume window (or in the future); it continues after `snapshot.floor.seq`.
    Snapshot(Arc<Snapshot>),
}

/// A subscription: the start, and a receiver that already holds every later event.
pub struct Subscription {
    /// What to send first.
    pub start: Start,
    /// Events after the start, without gap (subscribed by the owner atomically with `start`).
    pub events: broadcast::Receiver<Arc<Event>>,
}

enum Message {
    Command { command: Command, actor: Actor, reply: oneshot::Sender<Outcome> },
    Subscribe { since: Option<u64>, reply: oneshot::Sender<Subscription> },
}

/// The session has stopped (shutdown); the command was not applied.
#[derive(Debug, thiserror::Error)]
#[error("the session is shutting down")]
pub struct SessionClosed;

/// A cloneable handle to the session owner.
#[derive(Clone)]
pub struct SessionHandle {
    tx: mpsc::Sender<Message>,
    snapshot: watch::Receiver<Arc<Snapshot>>,
}

impl SessionHandle {
    /// Sends a command and waits for the engine's answer.
    pub async fn command(&self, command: Command, actor: Actor) -> Result<Outcome, SessionClosed> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Message::Command { command, actor, reply }).await.map_err(|_| SessionClosed)?;
        answer.await.map_err(|_| SessionClosed)
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
}

/// The owner's state: the engine plus the fan-out.
struct Owner {
    floor: Floor,
    clock: SessionClock,
    recent: VecDeque<Arc<Event>>,
    events: broadcast::Sender<Arc<Event>>,
    snapshot: watch::Sender<Arc<Snapshot>>,
}

/// Starts the owner task; it runs until `cancel` fires.
pub fn spawn(
    floor: Floor,
    clock: SessionClock,
    cancel: CancellationToken,
    tracker: &tokio_util::task::TaskTracker,
) -> SessionHandle {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let (snapshot_tx, snapshot_rx) = watch::channel(Arc::new(floor.snapshot()));
    let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
    let owner = Owner { floor, clock, recent: VecDeque::new(), events, snapshot: snapshot_tx };
    tracker.spawn(owner.run(rx, cancel));
    SessionHandle { tx, snapshot: snapshot_rx }
}

impl Owner {
    async fn run(mut self, mut rx: mpsc::Receiver<Message>, cancel: CancellationToken) {
        loop {
            let deadline = self.floor.next_deadline().map(|d| self.clock.to_tokio(d));
            tokio::select! {
                _ = cancel.cancelled() => break,
                message = rx.recv() => match message {
                    Some(message) => self.on_message(message),
                    None => break,
                },
                _ = sleep_until(deadline) => {
                    let events = self.floor.tick(self.clock.now());
                    self.publish(events);
                }
            }
        }
        tracing::info!(seq = self.floor.state().seq, "session owner stopped");
    }

    fn on_message(&mut self, message: Message) {
        match message {
            Message::Command { command, actor, reply } => {
                let outcome = self.floor.handle(&command, &actor, self.clock.now());
                match &outcome {
                    Ok(events) => {
                        tracing::debug!(?command, ?actor, events = events.len(), "command accepted");
                        self.publish(events.clone());
                    }
                    Err(rejection) => {
                        tracing::info!(?command, ?actor, reason = rejection.reason.code(), "command rejected")
                    }
                }
                debug_assert_eq!(self.floor.check_invariants(), Ok(()));
                // The caller may have gone away; the command stands either way.
                let _ = reply.send(outcome);
            }
            Message::Subscribe { since, reply } => {
                let events = self.events.subscribe();
                let _ = reply.send(Subscription { start: self.start_for(since), events });
            }
        }
    }

    fn start_for(&self, since: Option<u64>) -> Start {
        let current = self.floor.state().seq;
        let Some(since) = since else {
            return Start::Snapshot(self.snapshot.borrow().clone());
        };
        let oldest_kept = self.recent.front().map(|e| e.seq).unwrap_or(current + 1);
        if since > current || since + 1 < oldest_kept {
            return Start::Snapshot(self.snapshot.borrow().clone());
        }
        Start::Backlog(self.recent.iter().filter(|e| e.seq > since).cloned().collect())
    }

    fn publish(&mut self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        self.snapshot.send_replace(Arc::new(self.floor.snapshot()));
        for event in events {
            let event = Arc::new(event);
            if self.recent.len() == RESUME_WINDOW {
                self.recent.pop_front();
            }
            self.recent.push_back(event.clone());
            // No subscriber is not an error: the event is kept for resuming clients.
            let _ = self.events.send(event);
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
