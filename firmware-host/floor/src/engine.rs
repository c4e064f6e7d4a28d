//! The engine: commands in, events out. No I/O, no clock, no threads.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::command::{Actor, Command};
use crate::entries::{Presence, Request, Speaker};
use crate::outcome::{Change, Event, MuteSource, Reason, Rejection, RequestEnd};
use crate::precedence::{PrecedenceRule, RequestKind, Stance, precedence_table};
use crate::setup::{
    Activation, Limits, Mode, Participant, ParticipantId, Profile, SeatNo, SeatSetup, Setup, SpeakingTime,
};
use crate::state::FloorState;
use crate::station::Station;
use crate::time::{Instant, Timestamp};
use crate::vote::{Urn, UrnDeposit, VoteClosedBy, VoteId};

/// The result of a command: the events it caused (possibly none), or why it was rejected.
pub type Outcome = Result<Vec<Event>, Rejection>;

/// Everything a client needs to draw the floor, serialisable at any time.
///
/// The room's fixed parts are shared, not copied: the daemon takes a snapshot after every
/// command, and with hundreds of members copying them would dominate the command's cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snapshot {
    /// The room's seats.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<SeatSetup>))]
    pub seats: Arc<[SeatSetup]>,
    /// The participants.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Participant>))]
    pub participants: Arc<[Participant]>,
    /// The precedence of request types.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<PrecedenceRule>))]
    pub precedence: Arc<[PrecedenceRule]>,
    /// The sources the room can present (`Command::Present`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::presentation::PresentationSource>))]
    pub presentation_sources: Arc<[crate::presentation::PresentationSource]>,
    /// The changing state; `floor.seq` is the last event it includes.
    #[cfg_attr(feature = "openapi", schema(value_type = FloorState))]
    pub floor: Arc<FloorState>,
}

/// The parts of every [`Snapshot`] that never change during a session.
#[derive(Debug, Clone)]
struct SharedParts {
    seats: Arc<[SeatSetup]>,
    participants: Arc<[Participant]>,
    precedence: Arc<[PrecedenceRule]>,
    presentation_sources: Arc<[crate::presentation::PresentationSource]>,
}

/// The discussion engine. Feed it commands with [`Floor::handle`] and call
/// [`Floor::tick`] at [`Floor::next_deadline`].
#[derive(Clone)]
pub struct Floor {
    pub(crate) seats: BTreeMap<SeatNo, SeatSetup>,
    pub(crate) participants: BTreeMap<ParticipantId, Participant>,
    setup: Setup,
    /// The snapshot's fixed parts, built once.
    shared: SharedParts,
    /// Shared with the snapshots taken since the last change; copied on the next change
    /// (see [`Floor::prepare`]).
    state: Arc<FloorState>,
    /// Events emitted by the command being handled.
    pub(crate) emitted: Vec<Event>,
    /// The secret ballots' counts (never in the state: see `vote.rs`).
    pub(crate) urn: Urn,
    /// Secret ballots cast since the owner last took them, for the journal.
    pub(crate) deposits: Vec<UrnDeposit>,
    /// Members with a vote (the setup's participants never change): the statutory number
    /// when nothing else sets it, without counting them on every change.
    pub(crate) voting_members: u32,
    /// How the attendance changes of the command being handled moved the members counted
    /// for the quorum, so that a check-in adjusts the count instead of recounting the room.
    pub(crate) quorum_delta: i64,
    /// Whether the state's quorum count was computed by this floor (false after `new`,
    /// `restore` and `replay`: a saved or replayed count, e.g. from an older version or
    /// another room file, is recounted once before check-ins adjust it).
    pub(crate) quorum_trusted: bool,
}

/// Without the secret urn and its deposits: a `Floor` printed anywhere never shows them.
impl std::fmt::Debug for Floor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Floor")
            .field("state", &self.state)
            .field("emitted", &self.emitted)
            .finish_non_exhaustive()
    }
}

impl Floor {
    /// A floor for this room with everyone at their default seat and no events yet.
    /// Default seating is part of the setup, not an event, so replay starts from here too.
    pub fn new(setup: Setup) -> Self {
        let seats: BTreeMap<_, _> = setup.seats.iter().map(|s| (s.number, s.clone())).collect();
        let participants: BTreeMap<_, _> =
            setup.participants.iter().map(|p| (p.id.clone(), p.clone())).collect();
        let mut state = FloorState::initial(setup.profile.clone());
        for id in participants.keys() {
            state.presence.insert(id.clone(), Presence::Absent);
        }
        for seat in seats.values() {
            if let Some(id) = &seat.default_participant
                && participants.contains_key(id)
                && state.presence.get(id) == Some(&Presence::Absent)
            {
                state.presence.insert(id.clone(), Presence::Seat(seat.number));
                state.seated.insert(seat.number, id.clone());
            }
        }
        let shared = SharedParts {
            seats: setup.seats.as_slice().into(),
            participants: setup.participants.as_slice().into(),
            precedence: precedence_table().into(),
            presentation_sources: setup.presentation_sources.as_slice().into(),
        };
        let mut floor = Floor {
            seats,
            participants,
            setup,
            shared,
            state: Arc::new(state),
            emitted: Vec::new(),
            urn: Urn::default(),
            deposits: Vec::new(),
            voting_members: 0,
            quorum_delta: 0,
            quorum_trusted: false,
        };
        floor.voting_members = floor.participants.values().filter(|p| p.voting_right).count() as u32;
        // The quorum before anyone checked in is part of the setup, like default seating.
        let quorum = floor.compute_quorum();
        Arc::make_mut(&mut floor.state).quorum = quorum;
        floor
    }

    /// The secret ballots cast since the last call, for the journal: it keeps only a count
    /// per option, updated in place (never who chose what).
    pub fn take_deposits(&mut self) -> Vec<UrnDeposit> {
        std::mem::take(&mut self.deposits)
    }

    /// After a restart: the counts of the open secret vote's urn, from the journal. Refused
    /// unless `vote` is the open secret vote and the counts add up to its ballots (a count
    /// that does not fit would make a wrong result).
    pub fn restore_urn(&mut self, vote: VoteId, counts: BTreeMap<String, u32>) -> Result<(), String> {
        let open = self.state.vote.as_ref().filter(|v| v.result.is_none() && v.id == vote);
        let Some(open) = open else { return Err(format!("vote {vote} is not open")) };
        if open.kind != crate::vote::VoteKind::Secret {
            return Err(format!("vote {vote} is not secret"));
        }
        let cast: u32 = counts.values().sum();
        if cast as usize != open.ballots.len() {
            return Err(format!(
                "the urn of vote {vote} holds {cast} ballots, but {} members voted",
                open.ballots.len()
            ));
        }
        if let Some(unknown) = counts.keys().find(|k| !open.options.iter().any(|o| &o.id == *k)) {
            return Err(format!("the urn of vote {vote} names an option it does not have: {unknown}"));
        }
        self.urn = Urn { vote: Some(vote), counts };
        Ok(())
    }

    /// The open secret vote's counts (tests and invariants only: never published).
    pub fn urn(&self) -> &Urn {
        &self.urn
    }

    /// A floor restored from a saved state (e.g. from the journal at restart).
    pub fn restore(setup: Setup, state: FloorState) -> Self {
        let mut floor = Floor::new(setup);
        floor.state = Arc::new(state);
        floor
    }

    /// The current state.
    pub fn state(&self) -> &FloorState {
        &self.state
    }

    /// The setup this floor was created with.
    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    /// The whole picture for clients.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            seats: self.shared.seats.clone(),
            participants: self.shared.participants.clone(),
            precedence: self.shared.precedence.clone(),
            presentation_sources: self.shared.presentation_sources.clone(),
            floor: self.state.clone(),
        }
    }

    /// Makes the state this floor's own again, copying it if a snapshot still shares it.
    /// A snapshot shares the state instead of copying it; the first change after it copies.
    /// The copy is of the state's top level only (its collections are persistent and stay
    /// shared, ~0.1 µs); calling this while idle still takes it off the next command's path.
    pub fn prepare(&mut self) {
        Arc::make_mut(&mut self.state);
    }

    /// Whether a snapshot still shares the state (the next change will copy it).
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.state) > 1
    }

    /// Applies an event produced earlier (replay). Events must come in sequence order.
    pub fn replay(&mut self, event: &Event) {
        self.quorum_trusted = false;
        let participants = &self.participants;
        Arc::make_mut(&mut self.state).apply(event, |id| participants.get(id).and_then(|p| p.group.clone()));
    }

    /// When the engine next needs [`Floor::tick`]: the earliest speaking-time warning or expiry.
    pub fn next_deadline(&self) -> Option<Instant> {
        let speakers =
            self.state.speakers.iter().flat_map(|s| [s.warning_due(), s.expiry_due()]).flatten().min();
        [speakers, self.budget_deadline(), self.vote_deadline()].into_iter().flatten().min()
    }

    /// Advances the clocks: warnings, expiries and cut-offs due at `now`. Repeats until
    /// nothing is due, since a cut-off can hand the floor to a speaker whose warning is due.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Event> {
        self.emitted.clear();
        while self.next_deadline().is_some_and(|due| due <= now.mono_ms) {
            let before = self.emitted.len();
            self.tick_once(now);
            if self.emitted.len() == before {
                // A deadline that changes nothing must not spin the owner (it would be a
                // bug in a deadline's arithmetic; the floor stays responsive regardless).
                debug_assert!(false, "a deadline at {:?} changed nothing", self.next_deadline());
                break;
            }
        }
        std::mem::take(&mut self.emitted)
    }

    fn tick_once(&mut self, now: Timestamp) {
        let due: Vec<(Station, bool, bool, bool)> = self
            .state
            .speakers
            .iter()
            .map(|s| {
                let warn = s.warning_due().is_some_and(|t| t <= now.mono_ms);
                let expire = s.expiry_due().is_some_and(|t| t <= now.mono_ms);
                (s.station.clone(), warn, expire, s.cut_off)
            })
            .collect();
        let mut closed_any = false;
        for (station, warn, expire, cut_off) in due {
            if warn && !expire {
                self.emit(now, Change::TimeWarning { station: station.clone() });
            }
            if expire {
                self.emit(now, Change::TimeExpired { station: station.clone() });
                if cut_off {
                    self.close(now, &station, MuteSource::Timer);
                    closed_any = true;
                }
            }
        }
        if closed_any {
            self.fill_open_slots(now);
        }
        self.check_budgets(now);
        self.check_vote_deadline(now);
    }

    /// Handles one command from `actor` at `now`.
    pub fn handle(&mut self, command: &Command, actor: &Actor, now: Timestamp) -> Outcome {
        self.emitted.clear();
        self.quorum_delta = 0;
        self.authorize(command, actor)?;
        let deposits_before = self.deposits.len();
        let result = self.dispatch(command, actor, now);
        if result.is_ok() && self.emitted.iter().any(|e| Self::moves_quorum(&e.change)) {
            self.update_quorum(now);
        }
        debug_assert!(
            result.is_ok() || self.deposits.len() == deposits_before,
            "a rejected ballot left a deposit"
        );
        let events = std::mem::take(&mut self.emitted);
        match result {
            Ok(()) => Ok(events),
            Err(rejection) => {
                // Every handler validates before it emits; a rejection after an event
                // would leave a half-applied command, which must never happen.
                debug_assert!(events.is_empty(), "rejected after emitting: {rejection:?}");
                Err(rejection)
            }
        }
    }

    fn authorize(&self, command: &Command, actor: &Actor) -> Result<(), Rejection> {
        let chairish = matches!(actor, Actor::Chair | Actor::Technician);
        let allowed = if command.is_chair_command() {
            // podiumd sets a meeting's statutory number from its imported organization.
            chairish
                || (matches!(command, Command::SetStatutoryMembers { .. }) && matches!(actor, Actor::System))
        } else {
            match command {
                Command::Request { station, .. }
                | Command::Withdraw { station }
                | Command::Stop { station }
                | Command::Cancel { station }
                | Command::KeyPress { station }
                | Command::KeyRelease { station } => {
                    chairish || matches!(actor, Actor::Station(own) if own == station)
                }
                Command::VoiceActivity { .. } => matches!(actor, Actor::System | Actor::Technician),
                // Checked in the handler, with a reason that points to the meeting routes.
                Command::SetPhase { .. } => true,
                Command::JoinRemote { participant } | Command::LeaveRemote { participant } => {
                    chairish
                        || matches!(actor, Actor::System)
                        || matches!(actor, Actor::Station(Station::Remote(own)) if own == participant)
                }
                Command::TakeSeat { .. } | Command::LeaveSeat { .. } => {
                    chairish || matches!(actor, Actor::System)
                }
                Command::PresenceKey { seat }
                | Command::CheckInAtSeat { seat, .. }
                | Command::CheckOutAtSeat { seat } => {
                    chairish
                        || matches!(actor, Actor::System)
                        || matches!(actor, Actor::Station(Station::Seat(own)) if own == seat)
                }
                // Who votes for whom is decided with the vote's rules.
                Command::CastVote { .. } => true,
                _ => chairish,
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(Rejection::new(Reason::NotAllowedForRole, format!("{actor:?} may not do this")))
        }
    }

    fn dispatch(&mut self, command: &Command, actor: &Actor, now: Timestamp) -> Result<(), Rejection> {
        match command {
            Command::Request { station, kind, stance, raised_at } => {
                self.request(now, actor, station, *kind, *stance, *raised_at)
            }
            Command::Withdraw { station } => self.withdraw(now, actor, station),
            Command::Stop { station } => self.stop(now, actor, station),
            Command::Cancel { station } => self.cancel(now, actor, station),
            Command::KeyPress { station } => self.key_press(now, actor, station),
            Command::KeyRelease { station } => self.key_release(now, station),
            Command::VoiceActivity { station, active } => self.voice(now, station, *active),
            Command::Grant { station } => self.grant(now, actor, station),
            Command::Next {} => {
                let head = self.state.requests.front().map(|r| r.station.clone());
                let station = head.ok_or_else(|| Rejection::new(Reason::EmptyList, "nobody is waiting"))?;
                self.grant(now, actor, &station)
            }
            Command::StopAll {} => {
                self.close_all_delegates(now, Self::mute_source(actor));
                Ok(())
            }
            Command::StopCurrent {} => {
                let current = self.state.speakers.iter().rev().find(|s| !s.exempt);
                match current.map(|s| s.station.clone()) {
                    Some(station) => self.stop(now, actor, &station),
                    None => Ok(()),
                }
            }
            Command::Priority { clear_requests } => {
                self.close_all_delegates(now, MuteSource::Priority);
                if *clear_requests {
                    self.clear(now, RequestEnd::Priority);
                }
                Ok(())
            }
            Command::MoveRequest { station, position } => self.move_request(now, station, *position),
            Command::ClearRequests {} => {
                self.clear(now, RequestEnd::Cleared);
                Ok(())
            }
            Command::SetListOpen { open } => {
                if self.state.list_open != *open {
                    self.emit(now, Change::ListOpenChanged { open: *open });
                }
                Ok(())
            }
            Command::SetMode { mode } => self.set_mode(now, *mode),
            Command::SetActivation { activation } => self.set_activation(now, *activation),
            Command::SetLimits { limits } => self.set_limits(now, actor, *limits),
            Command::SetSpeakingTime { speaking_time } => self.set_speaking_time(now, *speaking_time),
            Command::PauseSpeaker { station } => self.pause(now, station, true),
            Command::ResumeSpeaker { station } => self.pause(now, station, false),
            Command::JoinRemote { participant } => self.join_remote(now, actor, participant),
            Command::LeaveRemote { participant } => self.leave_remote(now, actor, participant),
            Command::TakeSeat { participant, seat } => self.take_seat(now, participant, *seat),
            Command::LeaveSeat { seat } => self.leave_seat(now, *seat),
            Command::SetPhase { phase } => self.set_phase(now, actor, *phase),
            Command::SetAgenda { items, carry_over } => self.set_agenda(now, items, *carry_over),
            Command::SetPublicity { item, publicity } => self.set_publicity(now, *item, *publicity),
            Command::EnterItem { item } => self.enter_item(now, *item),
            Command::NextItem {} => self.next_item(now),
            Command::FinishItem {} => self.finish_item(now),
            Command::Present { source, on } => self.present_source(now, source, *on),
            Command::StopPresenting {} => self.stop_presenting(now),
            Command::SetPublic { public } => {
                // A vote keeps the part it was opened in: the public must not lose sight
                // of it halfway, nor see the rest of a non-public one.
                if self.state.public != *public {
                    self.no_vote_running()?;
                }
                self.set_public(now, *public);
                Ok(())
            }
            Command::Exclude { item, participant, reason } => self.exclude(now, *item, participant, reason),
            Command::Readmit { item, participant } => self.readmit(now, *item, participant),
            Command::SetBudget { budget } => self.set_budget(now, budget.as_ref()),
            Command::PresenceKey { seat } => self.presence_key(now, *seat),
            Command::CheckInAtSeat { seat, participant, method } => {
                self.check_in_at_seat(now, *seat, participant, *method)
            }
            Command::CheckOutAtSeat { seat } => self.check_out_at_seat(now, *seat),
            Command::MarkAttendance { participant, status } => {
                self.mark_attendance(now, actor, participant, *status)
            }
            Command::MarkSeatedPresent {} => {
                self.mark_seated_present(now, actor);
                Ok(())
            }
            Command::OpenVote { vote } => self.open_a_vote(now, vote),
            Command::CastVote { participant, choice } => {
                self.cast_vote(now, actor, participant.as_deref(), choice.as_str())
            }
            Command::CloseVote {} => self.close_vote(now, VoteClosedBy::Chair),
            Command::CancelVote {} => self.cancel_vote(now),
            Command::SetStatutoryMembers { count } => self.set_statutory_members(now, *count),
        }
    }

    // --- members' commands -------------------------------------------------------------

    fn request(
        &mut self,
        now: Timestamp,
        actor: &Actor,
        station: &Station,
        kind: RequestKind,
        stance: Option<Stance>,
        raised_at: Option<u64>,
    ) -> Result<(), Rejection> {
        self.check_station(station)?;
        if self.state.speaker_index(station).is_some() {
            return Err(Rejection::new(Reason::AlreadySpeaking, format!("{station} already has the floor")));
        }
        if self.state.request_index(station).is_some() {
            // Idempotent: desk units may repeat a key event; the first request stands.
            return Ok(());
        }
        let on_behalf = matches!(actor, Actor::Chair | Actor::Technician);
        self.admissible(now, station)?;
        if self.is_exempt(station) {
            self.open(now, station, None);
            return Ok(());
        }
        let mode = self.state.profile.mode;
        match mode {
            Mode::Voice | Mode::PushToTalk => {
                return Err(Rejection::new(
                    Reason::NotAllowedInMode,
                    format!("no list of speakers in {mode:?} mode"),
                ));
            }
            Mode::Operator if !on_behalf => {
                return Err(Rejection::new(
                    Reason::NotAllowedInMode,
                    "in operator mode only the chair or operator opens microphones",
                ));
            }
            _ => {}
        }
        let reply_to =
            if kind == RequestKind::Reply {
                let current = self.state.speakers.iter().rev().find(|s| &s.station != station && !s.exempt);
                let current =
                    current.or_else(|| self.state.speakers.iter().rev().find(|s| &s.station != station));
                Some(current.map(|s| s.station.clone()).ok_or_else(|| {
                    Rejection::new(Reason::NoCurrentSpeaker, "a reply needs a current speaker")
                })?)
            } else {
                None
            };
        let below_limit = self.below_limit();
        match mode {
            Mode::Open if below_limit => {
                self.open(now, station, Some(kind));
                return Ok(());
            }
            Mode::Override => {
                if !below_limit {
                    self.close_longest_delegate(now, MuteSource::Override);
                }
                self.open(now, station, Some(kind));
                return Ok(());
            }
            _ => {}
        }
        self.enqueue(now, on_behalf, station, (kind, stance, raised_at), reply_to)
    }

    fn enqueue(
        &mut self,
        now: Timestamp,
        on_behalf: bool,
        station: &Station,
        (kind, stance, raised_at): (RequestKind, Option<Stance>, Option<u64>),
        reply_to: Option<Station>,
    ) -> Result<(), Rejection> {
        let limits = self.state.profile.limits;
        let closed_exempt = kind == RequestKind::PointOfOrder && limits.point_of_order_when_closed;
        if !self.state.list_open && !on_behalf && !closed_exempt {
            return Err(Rejection::new(Reason::ListClosed, "the list of speakers is closed"));
        }
        if self.state.requests.len() >= usize::from(limits.max_requests) {
            return Err(Rejection::new(
                Reason::ListFull,
                format!("the list of speakers is full ({} requests)", limits.max_requests),
            ));
        }
        let position = 1 + self
            .state
            .request_position(|r| r.kind.rank() > kind.rank())
            .unwrap_or(self.state.requests.len());
        let request = Request {
            id: self.state.next_request_id,
            station: station.clone(),
            participant: self.occupant(station),
            kind,
            stance: if kind == RequestKind::Ordinary { stance } else { None },
            reply_to,
            requested_at: now,
            raised_at,
        };
        self.emit(now, Change::RequestAdded { request, position });
        Ok(())
    }

    fn withdraw(&mut self, now: Timestamp, actor: &Actor, station: &Station) -> Result<(), Rejection> {
        self.check_station(station)?;
        if self.state.request_index(station).is_none() {
            return Err(Rejection::new(Reason::NotRequested, format!("{station} has no waiting request")));
        }
        let by_member = matches!(actor, Actor::Station(_));
        if by_member && !self.state.profile.limits.members_may_cancel {
            return Err(Rejection::new(Reason::CancelNotAllowed, "members may not withdraw their request"));
        }
        let reason = if by_member { RequestEnd::Withdrawn } else { RequestEnd::RemovedByChair };
        self.emit(now, Change::RequestRemoved { station: station.clone(), reason });
        Ok(())
    }

    fn stop(&mut self, now: Timestamp, actor: &Actor, station: &Station) -> Result<(), Rejection> {
        self.check_station(station)?;
        let Some(index) = self.state.speaker_index(station) else {
            return Err(Rejection::new(Reason::NotSpeaking, format!("{station} is not speaking")));
        };
        let by_member = matches!(actor, Actor::Station(_));
        if by_member
            && !self.state.speakers[index].exempt
            && !self.state.profile.limits.members_may_switch_off
        {
            return Err(Rejection::new(
                Reason::SwitchOffNotAllowed,
                "members may not switch their microphone off",
            ));
        }
        self.close(now, station, Self::mute_source(actor));
        self.fill_open_slots(now);
        Ok(())
    }

    fn cancel(&mut self, now: Timestamp, actor: &Actor, station: &Station) -> Result<(), Rejection> {
        self.check_station(station)?;
        if self.state.speaker_index(station).is_some() {
            return self.stop(now, actor, station);
        }
        if self.state.request_index(station).is_some() {
            return self.withdraw(now, actor, station);
        }
        Ok(())
    }

    fn key_press(&mut self, now: Timestamp, actor: &Actor, station: &Station) -> Result<(), Rejection> {
        self.check_station(station)?;
        let mode = self.state.profile.mode;
        if mode == Mode::Voice && !self.is_exempt(station) {
            return Err(Rejection::new(
                Reason::NotAllowedInMode,
                "microphones follow the voice in voice mode",
            ));
        }
        if self.held_to_speak() || mode == Mode::PushToTalk {
            // Held to speak: the press opens (or queues), the release ends it.
            if self.state.speaker_index(station).is_some() || self.state.request_index(station).is_some() {
                return Ok(());
            }
            if mode == Mode::PushToTalk && !self.is_exempt(station) {
                self.admissible(now, station)?;
                if !self.below_limit() {
                    return Err(Rejection::new(Reason::MicrophoneLimitReached, "all microphones are in use"));
                }
                self.open(now, station, None);
                return Ok(());
            }
            return self.request(now, actor, station, RequestKind::Ordinary, None, None);
        }
        if self.state.speaker_index(station).is_some() {
            return self.stop(now, actor, station);
        }
        if self.state.request_index(station).is_some() {
            return self.withdraw(now, actor, station);
        }
        self.request(now, actor, station, RequestKind::Ordinary, None, None)
    }

    fn key_release(&mut self, now: Timestamp, station: &Station) -> Result<(), Rejection> {
        self.check_station(station)?;
        if !(self.held_to_speak() || self.state.profile.mode == Mode::PushToTalk) {
            return Ok(());
        }
        if self.state.speaker_index(station).is_some() {
            self.close(now, station, MuteSource::Member);
            self.fill_open_slots(now);
        } else if self.state.request_index(station).is_some() {
            self.emit(
                now,
                Change::RequestRemoved { station: station.clone(), reason: RequestEnd::Withdrawn },
            );
        }
        Ok(())
    }

    fn voice(&mut self, now: Timestamp, station: &Station, active: bool) -> Result<(), Rejection> {
        self.check_station(station)?;
        if self.state.profile.mode != Mode::Voice {
            return Err(Rejection::new(
                Reason::NotAllowedInMode,
                "voice activity only opens microphones in voice mode",
            ));
        }
        let speaking = self.state.speaker_index(station).is_some();
        match (active, speaking) {
            (true, false) => {
                self.admissible(now, station)?;
                if !self.is_exempt(station) && !self.below_limit() {
                    return Err(Rejection::new(Reason::MicrophoneLimitReached, "all microphones are in use"));
                }
                self.open(now, station, None);
            }
            (false, true) => self.close(now, station, MuteSource::Voice),
            _ => {}
        }
        Ok(())
    }

    // --- chair's commands --------------------------------------------------------------

    fn grant(&mut self, now: Timestamp, actor: &Actor, station: &Station) -> Result<(), Rejection> {
        self.check_station(station)?;
        if self.state.speaker_index(station).is_some() {
            return Err(Rejection::new(Reason::AlreadySpeaking, format!("{station} already has the floor")));
        }
        self.admissible(now, station)?;
        let kind = self.state.request_index(station).map(|i| self.state.requests[i].kind);
        if !self.is_exempt(station) && !self.below_limit() {
            self.close_longest_delegate(now, Self::mute_source(actor));
        }
        if kind.is_some() {
            self.emit(now, Change::RequestRemoved { station: station.clone(), reason: RequestEnd::Granted });
        }
        self.open(now, station, kind);
        Ok(())
    }

    fn move_request(&mut self, now: Timestamp, station: &Station, position: usize) -> Result<(), Rejection> {
        self.check_station(station)?;
        let Some(from) = self.state.request_index(station) else {
            return Err(Rejection::new(Reason::NotRequested, format!("{station} has no waiting request")));
        };
        let rank = self.state.requests[from].kind.rank();
        let first = self.state.requests.iter().position(|r| r.kind.rank() == rank).unwrap_or(from);
        let last = self.state.requests.iter().rposition(|r| r.kind.rank() == rank).unwrap_or(from);
        if position < first + 1 || position > last + 1 {
            return Err(Rejection::new(
                Reason::InvalidPosition,
                format!("a request of this type can only be at positions {} to {}", first + 1, last + 1),
            ));
        }
        if position != from + 1 {
            self.emit(now, Change::RequestMoved { station: station.clone(), position });
        }
        Ok(())
    }

    fn set_mode(&mut self, now: Timestamp, mode: Mode) -> Result<(), Rejection> {
        if self.state.profile.mode != mode {
            let profile = Profile { mode, ..self.state.profile.clone() };
            self.emit(now, Change::ProfileChanged { profile });
            self.fill_open_slots(now);
        }
        Ok(())
    }

    fn set_activation(&mut self, now: Timestamp, activation: Activation) -> Result<(), Rejection> {
        if self.state.profile.activation != activation {
            let profile = Profile { activation, ..self.state.profile.clone() };
            self.emit(now, Change::ProfileChanged { profile });
        }
        Ok(())
    }

    fn set_limits(&mut self, now: Timestamp, actor: &Actor, limits: Limits) -> Result<(), Rejection> {
        if let Some(field) = limits.out_of_range_field() {
            return Err(Rejection::new(
                Reason::InvalidLimits,
                format!(
                    "{field} out of range (max_open_microphones 1..={}, max_requests 0..={})",
                    Limits::MAX_OPEN,
                    Limits::MAX_REQUESTS
                ),
            ));
        }
        if self.state.profile.limits == limits {
            return Ok(());
        }
        let profile = Profile { limits, ..self.state.profile.clone() };
        self.emit(now, Change::ProfileChanged { profile });
        while self.state.open_delegate_microphones() > usize::from(limits.max_open_microphones) {
            self.close_longest_delegate(now, Self::mute_source(actor));
        }
        self.fill_open_slots(now);
        Ok(())
    }

    fn set_speaking_time(&mut self, now: Timestamp, speaking_time: SpeakingTime) -> Result<(), Rejection> {
        if let Some(field) = speaking_time.out_of_range_field() {
            return Err(Rejection::new(
                Reason::InvalidSpeakingTime,
                format!(
                    "{field} out of range (turn_limit_s 1..={max}, warning_s 0..={max})",
                    max = SpeakingTime::MAX_S
                ),
            ));
        }
        if self.state.profile.speaking_time != speaking_time {
            let profile = Profile { speaking_time, ..self.state.profile.clone() };
            self.emit(now, Change::ProfileChanged { profile });
        }
        Ok(())
    }

    fn pause(&mut self, now: Timestamp, station: &Station, pause: bool) -> Result<(), Rejection> {
        self.check_station(station)?;
        let Some(index) = self.state.speaker_index(station) else {
            return Err(Rejection::new(Reason::NotSpeaking, format!("{station} is not speaking")));
        };
        let paused = self.state.speakers[index].paused_since.is_some();
        match (pause, paused) {
            (true, true) => Err(Rejection::new(Reason::AlreadyPaused, "the clock is already paused")),
            (false, false) => Err(Rejection::new(Reason::NotPaused, "the clock is not paused")),
            (true, false) => {
                self.emit(now, Change::SpeakerPaused { station: station.clone() });
                Ok(())
            }
            (false, true) => {
                self.emit(now, Change::SpeakerResumed { station: station.clone() });
                Ok(())
            }
        }
    }

    // --- presence -----------------------------------------------------------------------

    fn join_remote(&mut self, now: Timestamp, actor: &Actor, participant: &str) -> Result<(), Rejection> {
        let allowed = self.participant(participant)?.remote_allowed;
        if !allowed {
            return Err(Rejection::new(
                Reason::RemoteNotAllowed,
                format!("{participant} may not attend remotely"),
            ));
        }
        if self.state.presence.get(participant) == Some(&Presence::Remote) {
            // Joined already (e.g. since before this meeting): checking in again is attendance.
            self.remote_attendance(now, actor, participant, true);
            return Ok(());
        }
        self.admitted_remotely(participant)?;
        self.move_participant(now, participant, Presence::Remote);
        self.remote_attendance(now, actor, participant, true);
        Ok(())
    }

    fn leave_remote(&mut self, now: Timestamp, actor: &Actor, participant: &str) -> Result<(), Rejection> {
        self.participant(participant)?;
        if self.state.presence.get(participant) != Some(&Presence::Remote) {
            return Err(Rejection::new(Reason::NotPresent, format!("{participant} is not present remotely")));
        }
        // Recorded before the move, so the departure carries the remote link, not podiumd.
        self.remote_attendance(now, actor, participant, false);
        self.move_participant(now, participant, Presence::Absent);
        Ok(())
    }

    fn take_seat(&mut self, now: Timestamp, participant: &str, seat: SeatNo) -> Result<(), Rejection> {
        self.participant(participant)?;
        if !self.seats.contains_key(&seat) {
            return Err(Rejection::new(Reason::UnknownSeat, format!("there is no seat {seat}")));
        }
        match self.state.seated.get(&seat) {
            Some(occupant) if occupant == participant => return Ok(()),
            Some(occupant) => {
                return Err(Rejection::new(
                    Reason::SeatOccupied,
                    format!("seat {seat} is taken by {occupant}"),
                ));
            }
            None => {}
        }
        self.move_participant(now, participant, Presence::Seat(seat));
        Ok(())
    }

    fn leave_seat(&mut self, now: Timestamp, seat: SeatNo) -> Result<(), Rejection> {
        if !self.seats.contains_key(&seat) {
            return Err(Rejection::new(Reason::UnknownSeat, format!("there is no seat {seat}")));
        }
        if let Some(occupant) = self.state.seated.get(&seat).cloned() {
            self.move_participant(now, &occupant, Presence::Absent);
        }
        Ok(())
    }

    /// One identity, one presence: leaving a station ends its request and microphone.
    pub(crate) fn move_participant(&mut self, now: Timestamp, participant: &str, to: Presence) {
        let from = match self.state.presence.get(participant) {
            Some(Presence::Seat(n)) => Some(Station::Seat(*n)),
            Some(Presence::Remote) => Some(Station::Remote(participant.to_string())),
            _ => None,
        };
        let mut closed = false;
        if let Some(station) = from {
            if self.state.request_index(&station).is_some() {
                self.emit(
                    now,
                    Change::RequestRemoved { station: station.clone(), reason: RequestEnd::PresenceChanged },
                );
            }
            if self.state.speaker_index(&station).is_some() {
                self.close(now, &station, MuteSource::System);
                closed = true;
            }
        }
        self.emit(now, Change::PresenceChanged { participant: participant.to_string(), presence: to });
        self.attendance_follows_presence(now, participant, to);
        if closed {
            self.fill_open_slots(now);
        }
    }

    // --- helpers -------------------------------------------------------------------------

    pub(crate) fn emit(&mut self, at: Timestamp, change: Change) {
        if let Change::AttendanceChanged { participant, attendance } = &change {
            let before = self.counts_for_quorum(participant, self.state.attendance.get(participant));
            let after = self.counts_for_quorum(participant, Some(attendance));
            self.quorum_delta += i64::from(after) - i64::from(before);
        }
        let event = Event { seq: self.state.seq + 1, at, change };
        self.replay(&event);
        self.emitted.push(event);
    }

    pub(crate) fn participant(&self, id: &str) -> Result<&Participant, Rejection> {
        self.participants.get(id).ok_or_else(|| {
            Rejection::new(Reason::UnknownParticipant, format!("there is no participant {id}"))
        })
    }

    fn check_station(&self, station: &Station) -> Result<(), Rejection> {
        match station {
            Station::Seat(n) if self.seats.contains_key(n) => Ok(()),
            Station::Seat(n) => Err(Rejection::new(Reason::UnknownSeat, format!("there is no seat {n}"))),
            Station::Remote(id) => {
                self.participant(id)?;
                if self.state.presence.get(id) == Some(&Presence::Remote) {
                    Ok(())
                } else {
                    Err(Rejection::new(Reason::NotPresent, format!("{id} is not present remotely")))
                }
            }
        }
    }

    pub(crate) fn occupant(&self, station: &Station) -> Option<ParticipantId> {
        match station {
            Station::Seat(n) => self.state.seated.get(n).cloned(),
            Station::Remote(id) => Some(id.clone()),
        }
    }

    /// The chair's (and vice chair's) station and the podium seat speak outside the limit.
    pub(crate) fn is_exempt(&self, station: &Station) -> bool {
        if let Station::Seat(n) = station
            && self.state.profile.podium_seat == Some(*n)
        {
            return true;
        }
        self.occupant(station).and_then(|id| self.participants.get(&id)).is_some_and(|p| p.role.is_chair())
    }

    fn below_limit(&self) -> bool {
        self.state.open_delegate_microphones() < usize::from(self.state.profile.limits.max_open_microphones)
    }

    fn held_to_speak(&self) -> bool {
        self.state.profile.activation == Activation::Push
            && matches!(self.state.profile.mode, Mode::Open | Mode::Override)
    }

    fn mute_source(actor: &Actor) -> MuteSource {
        match actor {
            Actor::Chair => MuteSource::Chair,
            Actor::Technician => MuteSource::Technician,
            Actor::Station(_) => MuteSource::Member,
            Actor::System => MuteSource::System,
        }
    }

    pub(crate) fn open(&mut self, now: Timestamp, station: &Station, kind: Option<RequestKind>) {
        let time = self.state.profile.speaking_time;
        let exempt = self.is_exempt(station);
        let budget_ms = if exempt { None } else { time.turn_limit_s.map(|s| u64::from(s) * 1000) };
        let speaker = Speaker {
            station: station.clone(),
            participant: self.occupant(station),
            kind,
            started_at: now,
            budget_ms,
            warning_ms: u64::from(time.warning_s) * 1000,
            cut_off: time.on_expiry == crate::setup::OnExpiry::CutOff,
            exempt,
            paused_since: None,
            paused_ms: 0,
            warned: false,
            expired: false,
        };
        self.emit(now, Change::MicrophoneOpened { speaker });
    }

    pub(crate) fn close(&mut self, now: Timestamp, station: &Station, closed_by: MuteSource) {
        if let Some(index) = self.state.speaker_index(station) {
            let speaker = &self.state.speakers[index];
            let change = Change::MicrophoneClosed {
                station: station.clone(),
                participant: speaker.participant.clone(),
                closed_by,
                spoken_ms: speaker.spoken_ms(now.mono_ms),
            };
            self.emit(now, change);
        }
    }

    fn close_longest_delegate(&mut self, now: Timestamp, closed_by: MuteSource) {
        let longest = self
            .state
            .speakers
            .iter()
            .filter(|s| !s.exempt)
            .min_by_key(|s| s.started_at.mono_ms)
            .map(|s| s.station.clone());
        if let Some(station) = longest {
            self.close(now, &station, closed_by);
        }
    }

    pub(crate) fn close_all_delegates(&mut self, now: Timestamp, closed_by: MuteSource) {
        let delegates: Vec<Station> =
            self.state.speakers.iter().filter(|s| !s.exempt).map(|s| s.station.clone()).collect();
        for station in delegates {
            self.close(now, &station, closed_by);
        }
    }

    pub(crate) fn clear(&mut self, now: Timestamp, reason: RequestEnd) {
        let count = self.state.requests.len();
        if count > 0 {
            self.emit(now, Change::RequestsCleared { count, reason });
        }
    }

    /// Open mode serves the list by itself: whenever a delegate microphone is free, the
    /// head of the list gets it.
    pub(crate) fn fill_open_slots(&mut self, now: Timestamp) {
        while self.state.profile.mode == Mode::Open
            && self.below_limit()
            && self.state.phase != crate::agenda::MeetingPhase::Suspended
        {
            let Some(head) = self.state.requests.front() else { break };
            let (station, kind) = (head.station.clone(), head.kind);
            if let Err(rejection) = self.admissible(now, &station) {
                // A request that may no longer be served (its member is excluded here, or
                // the group's time is up) leaves the list instead of getting the floor.
                let reason = match rejection.reason {
                    Reason::ExcludedFromItem => RequestEnd::Excluded,
                    Reason::BudgetExhausted => RequestEnd::BudgetExhausted,
                    _ => break,
                };
                self.emit(now, Change::RequestRemoved { station, reason });
                continue;
            }
            self.emit(now, Change::RequestRemoved { station: station.clone(), reason: RequestEnd::Granted });
            self.open(now, &station, Some(kind));
        }
    }

    /// Checks the invariants; returns a description of the first one broken.
    /// Used by the property tests and by the daemon's debug assertions.
    pub fn check_invariants(&self) -> Result<(), String> {
        let s = &self.state;
        let max = usize::from(s.profile.limits.max_open_microphones);
        if s.open_delegate_microphones() > max {
            return Err(format!("{} delegate microphones open, limit {max}", s.open_delegate_microphones()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for station in s.requests.iter().map(|r| &r.station).chain(s.speakers.iter().map(|sp| &sp.station)) {
            if !seen.insert(station) {
                return Err(format!("{station} is listed twice (queued twice, or queued and speaking)"));
            }
        }
        for (before, after) in s.requests.iter().zip(s.requests.iter().skip(1)) {
            if before.kind.rank() > after.kind.rank() {
                return Err(format!("{:?} queued before {:?}", before.kind, after.kind));
            }
        }
        for (participant, presence) in &s.presence {
            if let Presence::Seat(n) = presence
                && s.seated.get(n) != Some(participant)
            {
                return Err(format!("{participant} at seat {n}, but the seat says otherwise"));
            }
        }
        for (seat, participant) in &s.seated {
            if s.presence.get(participant) != Some(&Presence::Seat(*seat)) {
                return Err(format!("seat {seat} has {participant}, who is elsewhere"));
            }
        }
        // The exemption (chair, podium) does not lift an exclusion.
        for (station, participant) in s
            .requests
            .iter()
            .map(|r| (&r.station, &r.participant))
            .chain(s.speakers.iter().map(|sp| (&sp.station, &sp.participant)))
        {
            if participant.as_deref().is_some_and(|p| s.is_excluded_now(p)) {
                return Err(format!("{station} is on the floor although excluded from the current item"));
            }
        }
        // The quorum is counted only after changes that can move it: it must never be stale.
        if self.compute_quorum() != s.quorum {
            return Err(format!("the quorum {:?} is stale: it is {:?}", s.quorum, self.compute_quorum()));
        }
        if s.phase == crate::agenda::MeetingPhase::Suspended && s.open_delegate_microphones() > 0 {
            return Err("a delegate microphone is open while the meeting is suspended".into());
        }
        if !s.public {
            for (id, presence) in &s.presence {
                if *presence == Presence::Remote
                    && !self.participants.get(id).is_some_and(|p| p.nonpublic_allowed)
                {
                    return Err(format!("{id} attends the non-public part remotely without the right"));
                }
            }
        }
        for station in s.requests.iter().map(|r| &r.station).chain(s.speakers.iter().map(|sp| &sp.station)) {
            if let Station::Remote(id) = station
                && s.presence.get(id) != Some(&Presence::Remote)
            {
                return Err(format!("{station} is active but {id} is not remote"));
            }
        }
        Ok(())
    }
}
