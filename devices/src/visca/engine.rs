//! The camera's rules as pure state machines (sans-IO): fed what arrived and `now`, they
//! say what to send and when to be called again. The driver (`driver.rs`) owns the link,
//! sends, reads and sleeps; it decides nothing.
//!
//! - [`Exchange`]: one outstanding command: ACK then completion in the ACK's socket,
//!   retransmission after a silent ACK timeout (over IP also after a completion timeout,
//!   with the same sequence number, as Sony's delivery table asks), a sequence error
//!   taken as "performed", buffer full retried shortly, errors ended.
//! - [`Reconciler`]: the desired preset against the one applied on this link, retried
//!   with back-off, and the idle liveness poll.
//! - [`startup`]: the start-up sequence per transport.

use std::time::{Duration, Instant};

use super::codec::{Command, ErrorKind, Packet, Reply};
use super::ip::Control;
use crate::serial::Backoff;

/// Something that arrived from the camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A VISCA packet.
    Packet(Packet),
    /// A control reply (VISCA over IP only).
    Control(Control),
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CameraError {
    /// The camera answered with an error.
    #[error("camera answered: {0}")]
    Device(String),
    /// No answer in time (after retransmissions).
    #[error("no answer from the camera ({0})")]
    Timeout(&'static str),
    /// The link failed.
    #[error("link error: {0}")]
    Link(String),
    /// The preset does not exist with this numbering.
    #[error("preset {0} does not exist on this camera")]
    NoSuchPreset(u16),
    /// The driver has stopped.
    #[error("the camera driver has stopped")]
    Stopped,
}

impl CameraError {
    /// Whether the link must be dropped and reopened after this error: silence or a
    /// broken link, not a camera that answers with an error.
    pub fn needs_reconnect(&self) -> bool {
        matches!(self, CameraError::Timeout(_) | CameraError::Link(_))
    }
}

/// How long an [`Exchange`] waits and how often it retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeTiming {
    /// Time to wait for an ACK (or a direct reply) before retransmitting.
    pub ack_timeout: Duration,
    /// Time to wait for completion after the ACK.
    pub completion_timeout: Duration,
    /// Retransmissions after an ACK timeout or a full buffer before giving up.
    pub retries: u32,
}

/// Wait before sending again after "buffer full": another controller (or a lost
/// completion) holds both sockets, which frees up within a move.
pub const BUFFER_FULL_RETRY: Duration = Duration::from_millis(100);

/// What the driver does next for an [`Exchange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Keep reading until [`Exchange::deadline`].
    Wait,
    /// Send the command's packet again now (same sequence number over IP).
    Resend,
    /// The command ended: the completion's or reply's data, or why it failed.
    Done(Result<Vec<u8>, CameraError>),
}

/// Counters an exchange adds to the camera's health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Deadlines that passed without an answer.
    pub timeouts: u64,
    /// Packets sent again.
    pub retransmissions: u64,
    /// Error replies that ended the command.
    pub errors: u64,
}

/// One command in flight. The driver sends its packet, then feeds it what arrives and
/// calls [`Exchange::handle_timeout`] at its deadline.
#[derive(Debug, Clone)]
pub struct Exchange {
    command: Command,
    over_ip: bool,
    timing: ExchangeTiming,
    attempts: u32,
    /// `Some(socket)` once ACKed; completion must come in that socket (0: unknown).
    acked: Option<u8>,
    /// Over IP after a completion timeout: a retransmission answered by a sequence error
    /// means the command was performed.
    asked_again: bool,
    /// A resend is waiting for the buffer-full pause to end.
    resend_pending: bool,
    deadline: Instant,
    tally: Tally,
}

impl Exchange {
    /// A command whose packet the driver sends at `now`.
    pub fn start(command: Command, over_ip: bool, timing: ExchangeTiming, now: Instant) -> Self {
        Exchange {
            command,
            over_ip,
            timing,
            attempts: 0,
            acked: None,
            asked_again: false,
            resend_pending: false,
            deadline: now + timing.ack_timeout,
            tally: Tally::default(),
        }
    }

    /// The command in flight.
    pub fn command(&self) -> Command {
        self.command
    }

    /// When to call [`Exchange::handle_timeout`] if nothing arrives.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// What this exchange adds to the health counters.
    pub fn tally(&self) -> Tally {
        self.tally
    }

    /// The deadline passed: retransmit, or give up.
    pub fn handle_timeout(&mut self, now: Instant) -> Step {
        if now < self.deadline {
            return Step::Wait;
        }
        if std::mem::take(&mut self.resend_pending) {
            return self.resend(now);
        }
        self.tally.timeouts += 1;
        // Without IP's sequence numbers a resent command after its ACK would run twice.
        let can_retry = self.attempts < self.timing.retries && (self.acked.is_none() || self.over_ip);
        if !can_retry {
            let what = if self.acked.is_some() { "completion" } else { "ACK" };
            return Step::Done(Err(CameraError::Timeout(what)));
        }
        self.attempts += 1;
        self.asked_again = self.acked.is_some();
        self.resend(now)
    }

    fn resend(&mut self, now: Instant) -> Step {
        self.tally.retransmissions += 1;
        self.deadline = now + self.timing.ack_timeout;
        Step::Resend
    }

    /// Something arrived (undecodable input is ignored: the camera's next reply or the
    /// deadline decides).
    pub fn handle(&mut self, incoming: &Incoming, now: Instant) -> Step {
        let reply = match incoming {
            Incoming::Control(Control::SequenceError) => {
                // Sony's table: the command was performed; if the ACK was lost the
                // completion still comes, if the completion was lost it will not.
                if self.asked_again {
                    return Step::Done(Ok(Vec::new()));
                }
                self.acked = Some(self.acked.unwrap_or(0));
                self.deadline = now + self.timing.completion_timeout;
                return Step::Wait;
            }
            Incoming::Control(_) => return Step::Wait,
            Incoming::Packet(packet) => match Reply::parse(packet) {
                Ok(reply) => reply,
                Err(_) => return Step::Wait,
            },
        };
        let command = self.command;
        match reply {
            Reply::Ack { socket, .. } if command.expects_ack() && self.acked.is_none() => {
                self.acked = Some(socket);
                self.deadline = now + self.timing.completion_timeout;
            }
            Reply::Ack { socket, .. } if self.acked == Some(0) => self.acked = Some(socket),
            Reply::Completion { socket, data, .. } => {
                let ours = match self.acked {
                    Some(s) => s == 0 || s == socket,
                    // Over IP the sequence number ties a completion to this command even
                    // when its ACK was lost.
                    None => {
                        (!command.expects_ack() && socket == 0)
                            || (command.expects_ack() && self.over_ip && socket != 0)
                    }
                };
                if ours {
                    return Step::Done(Ok(data));
                }
            }
            // A repeat during the pause says nothing new: the resend is already planned.
            Reply::Error { kind: ErrorKind::BufferFull, .. } if self.resend_pending => {}
            Reply::Error { kind: ErrorKind::BufferFull, .. }
                if self.acked.is_none() && self.attempts < self.timing.retries =>
            {
                self.attempts += 1;
                self.resend_pending = true;
                self.deadline = now + BUFFER_FULL_RETRY;
            }
            Reply::Error { socket, kind, .. } => {
                // Not executable can arrive instead of an ACK, in any socket.
                let ours = self.acked.is_none() || self.acked == Some(socket) || socket == 0;
                if ours {
                    self.tally.errors += 1;
                    return Step::Done(Err(CameraError::Device(kind.to_string())));
                }
            }
            Reply::AddressSet { .. } if command == Command::AddressSet => return Step::Done(Ok(Vec::new())),
            Reply::IfClearBroadcast if command == (Command::IfClear { broadcast: true }) => {
                return Step::Done(Ok(Vec::new()));
            }
            _ => {}
        }
        Step::Wait
    }
}

/// How a camera is reached, as far as the start-up sequence cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// A serial chain: cameras must be numbered.
    Serial,
    /// VISCA over IP (UDP): sequence numbers must be reset.
    Ip,
    /// Raw VISCA over TCP.
    Tcp,
}

/// One step of the start-up sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartupStep {
    /// Send the VISCA-over-IP RESET and wait (one ACK timeout) for its reply.
    Reset,
    /// Run a command to its end.
    Run(Command),
}

/// The start-up sequence: over IP RESET then IF_Clear; on a serial chain Address Set then
/// the broadcast IF_Clear; over TCP IF_Clear alone.
pub fn startup(kind: LinkKind) -> &'static [StartupStep] {
    match kind {
        LinkKind::Ip => &[StartupStep::Reset, StartupStep::Run(Command::IfClear { broadcast: false })],
        LinkKind::Serial => {
            &[StartupStep::Run(Command::AddressSet), StartupStep::Run(Command::IfClear { broadcast: true })]
        }
        LinkKind::Tcp => &[StartupStep::Run(Command::IfClear { broadcast: false })],
    }
}

/// What the camera task does next while the link is up and idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Recall this preset (the desired one, not yet applied on this link).
    Recall(u16),
    /// Ask the camera something (power inquiry) to see that it still answers.
    Poll,
    /// Nothing until then (or until the desired preset changes, or an action comes).
    Sleep(Instant),
}

/// The desired preset reconciled with the one applied on this link, and the liveness poll.
#[derive(Debug, Clone)]
pub struct Reconciler {
    /// The desired value already carried out (`None`: nothing yet on this link).
    applied: Option<Option<u16>>,
    retry: Backoff,
    retry_at: Option<Instant>,
    poll_at: Instant,
    poll_interval: Duration,
}

impl Reconciler {
    /// A fresh link at `now`: nothing applied yet, so the desired preset is recalled.
    pub fn new(poll_interval: Duration, now: Instant) -> Self {
        Reconciler {
            applied: None,
            retry: Backoff::new(Duration::from_millis(200), Duration::from_secs(5)),
            retry_at: None,
            poll_at: now + poll_interval,
            poll_interval,
        }
    }

    /// What to do at `now` with this desired preset.
    pub fn next(&mut self, desired: Option<u16>, now: Instant) -> Next {
        let pending = desired.is_some() && self.applied != Some(desired);
        if let (Some(preset), true) = (desired, pending && self.retry_at.is_none_or(|at| at <= now)) {
            return Next::Recall(preset);
        }
        if pending && let Some(at) = self.retry_at {
            // A failing recall is retried; the retries show the camera is alive.
            return Next::Sleep(at);
        }
        if now >= self.poll_at {
            self.poll_at = now + self.poll_interval;
            return Next::Poll;
        }
        Next::Sleep(self.poll_at)
    }

    /// The recall of `desired` ended.
    pub fn recalled(&mut self, desired: Option<u16>, ok: bool, now: Instant) {
        if ok {
            self.applied = Some(desired);
            self.retry.reset();
            self.retry_at = None;
        } else {
            self.retry_at = Some(now + self.retry.next_delay());
        }
    }

    /// A new desired preset: try it at once, whatever the back-off said.
    pub fn desired_changed(&mut self) {
        self.retry_at = None;
    }

    /// A technician recalled a preset by hand: the director's current `desired` counts as
    /// applied, so the hand-picked shot holds until the director changes its mind.
    pub fn recalled_by_hand(&mut self, desired: Option<u16>) {
        self.applied = Some(desired);
    }
}

#[cfg(test)]
mod tests;
