//! # podium-floor: the discussion engine
//!
//! A sans-IO state machine for the floor of a council meeting: who asked to speak, in what
//! order, who has an open microphone, for how long. It takes a [`Command`] with the
//! [`Actor`] who issued it and the current [`Timestamp`], and returns the [`Event`]s it
//! caused or a [`Rejection`] with a machine-readable [`Reason`]. Timers are data:
//! [`Floor::next_deadline`] says when to call [`Floor::tick`]. No I/O, no clock, no threads:
//! the same inputs always give the same outputs.
//!
//! Events are the truth: [`FloorState::apply`] is the only code that changes the state, and
//! the engine applies every event it emits through it, so replaying a run's events onto
//! [`Floor::new`] reproduces the run's state.
//!
//! ## Modes
//! | mode | a member's request | the chair |
//! |---|---|---|
//! | `open` | opens the microphone while below the limit, else queues; a freed microphone goes to the head of the list | grants, stops |
//! | `override` | opens at once; at the limit the longest-speaking delegate is closed | grants, stops |
//! | `request` | queues | grants; *next* grants the head of the list |
//! | `operator` | rejected (`not_allowed_in_mode`) | queues on behalf, grants |
//! | `voice` | no list: microphones follow voice activity while below the limit | grants, stops |
//! | `push_to_talk` | no list: open while the key is held, while below the limit | grants, stops |
//!
//! With `activation = push`, open and override modes also hold to speak: releasing the key
//! closes the microphone or withdraws the waiting request. The chair's and vice chair's
//! stations and the podium seat open at once in every mode and do not count against the limit.
//!
//! Precedence of request types: see [`precedence`].
//!
//! ## Keys whose meaning depends on the floor
//! Device keys are translated by the daemon without looking at the floor; where a key's
//! meaning depends on the state, the command carries the key and the engine decides on the
//! state it applies the command to (a snapshot the daemon reads may lag behind commands
//! still waiting for the journal):
//! - [`Command::Cancel`] (a member's cancel key): `stop` while the station speaks, else
//!   `withdraw` while it waits, else nothing; with the members' rights of `stop` and
//!   `withdraw` (`members_may_switch_off`, `members_may_cancel`).
//! - [`Command::StopCurrent`] (the chair's stop key): `stop` of the delegate who got the
//!   floor last; the chair's and podium's microphones stay open; nothing if no delegate speaks.
//! - [`Command::KeyPress`] / [`Command::KeyRelease`] (the microphone key): by mode and activation.

pub mod agenda;
pub mod budget;
pub mod command;
mod council;
pub mod engine;
pub mod entries;
pub mod outcome;
pub mod precedence;
pub mod presentation;
pub mod public;
pub mod setup;
pub mod state;
pub mod station;
pub mod time;
pub mod vote;
mod voting;
pub mod voting_rules;

pub use agenda::{
    AgendaEntry, AgendaItem, CarryOver, ItemId, ItemKind, ItemStatus, MeetingPhase, PaperRef, Publicity,
};
pub use budget::{BudgetPolicy, BudgetScope, BudgetSpec, BudgetState, Shares};
pub use command::{Actor, Command};
pub use engine::{Floor, Outcome, Snapshot};
pub use entries::{Presence, Request, Speaker};
pub use outcome::{Change, Event, MuteSource, Reason, Rejection, RequestEnd};
pub use precedence::{PrecedenceRule, RequestKind, Stance, precedence_table};
pub use presentation::{Presentation, PresentationSource, Screens};
pub use public::{public_view, shown_as_is};
pub use setup::{
    Activation, Limits, Mode, OnExpiry, Participant, ParticipantId, Profile, Role, SeatNo, SeatSetup, Setup,
    SpeakingTime,
};
pub use state::FloorState;
pub use station::Station;
pub use time::{Instant, Timestamp};
pub use vote::{
    Attendance, AttendancePlace, AttendanceStatus, Ballot, BallotChannel, CheckInMethod, CountsAs, Majority,
    OptionTotal, Quorum, QuorumRule, Urn, UrnDeposit, Vote, VoteClosedBy, VoteId, VoteKind, VoteOption,
    VoteOutcome, VoteRequest, VoteResult, VotingRules,
};
