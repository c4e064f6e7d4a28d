//! Attendance, quorum and votes: the rules (data in `vote.rs`).
//!
//! - **Attendance.** A member checks in at a seat (presence key: the seat's occupant; badge
//!   or PIN: that member, who takes the seat), through the personal remote link (joining
//!   remotely), or is marked by the chair or technician (present, excused, absent). One
//!   identity, one presence: checking in at a seat ends a remote presence and joining
//!   remotely ends the seat's; leaving the seat or the conference is a departure. Seating
//!   alone is not attendance.
//! - **Quorum.** Present members with a vote (room and remote together) minus those
//!   excluded from the current item, against the statutory number with the room's rule;
//!   recomputed after every change and announced as `quorum_changed` when it differs.
//! - **Votes.** The chair opens one vote at a time in an open meeting, on the current item
//!   if any. A member is entitled while present with a vote and not excluded from the item;
//!   remote members take part in a secret vote only where the room allows it. One ballot
//!   per member whatever the channel (desk keys, remote page, a proxy entry by the chair or
//!   technician); an open or roll-call ballot may be changed until the vote closes if the
//!   vote allows it, a secret one is final. The item cannot change while a vote is open.
//!   Closing (by the chair or at the deadline) computes the result; cancelling ends it
//!   without one; closing the meeting cancels it.

use crate::agenda::MeetingPhase;
use crate::command::Actor;
use crate::engine::Floor;
use crate::entries::Presence;
use crate::outcome::{Change, Reason, Rejection};
use crate::setup::SeatNo;
use crate::station::Station;
use crate::time::{Instant, Timestamp};
use crate::vote::{
    Attendance, AttendancePlace, AttendanceStatus, Ballot, BallotChannel, CheckInMethod, Quorum, UrnDeposit,
    Vote, VoteClosedBy, VoteKind, VoteOption, VoteRequest,
};

impl Floor {
    // --- attendance ------------------------------------------------------------------

    /// The presence key at `seat`: checks its occupant in, or out if checked in there.
    pub(crate) fn presence_key(&mut self, now: Timestamp, seat: SeatNo) -> Result<(), Rejection> {
        self.known_seat(seat)?;
        let Some(member) = self.state().seated.get(&seat).cloned() else {
            return Err(Rejection::new(Reason::NotPresent, format!("nobody sits at seat {seat}")));
        };
        let here = self.state().attendance.get(&member).is_some_and(|a| {
            a.status == AttendanceStatus::Present && a.place == Some(AttendancePlace::Seat(seat))
        });
        let next = if here {
            self.absent(now, CheckInMethod::PresenceKey)
        } else {
            self.present(now, AttendancePlace::Seat(seat), CheckInMethod::PresenceKey)
        };
        self.record_attendance(now, &member, next);
        Ok(())
    }

    /// A badge or PIN identified `participant` at `seat`: they take the seat and are present.
    pub(crate) fn check_in_at_seat(
        &mut self,
        now: Timestamp,
        seat: SeatNo,
        participant: &str,
        method: CheckInMethod,
    ) -> Result<(), Rejection> {
        self.known_seat(seat)?;
        self.participant(participant)?;
        if !matches!(method, CheckInMethod::Badge | CheckInMethod::Pin) {
            return Err(Rejection::new(
                Reason::InvalidAttendance,
                "a seat identifies a member by badge or PIN",
            ));
        }
        match self.state().seated.get(&seat) {
            Some(occupant) if occupant != participant && self.is_present(occupant) => {
                return Err(Rejection::new(
                    Reason::SeatOccupied,
                    format!("seat {seat} is taken by {occupant}, who is checked in"),
                ));
            }
            // A member assigned to the seat who has not checked in makes room.
            Some(occupant) if occupant != participant => {
                let occupant = occupant.clone();
                self.move_participant(now, &occupant, Presence::Absent);
            }
            _ => {}
        }
        if self.state().presence.get(participant) != Some(&Presence::Seat(seat)) {
            self.move_participant(now, participant, Presence::Seat(seat));
        }
        let next = self.present(now, AttendancePlace::Seat(seat), method);
        self.record_attendance(now, participant, next);
        Ok(())
    }

    /// The badge left the reader at `seat`: its occupant, checked in there, departs.
    pub(crate) fn check_out_at_seat(&mut self, now: Timestamp, seat: SeatNo) -> Result<(), Rejection> {
        self.known_seat(seat)?;
        // Only a member who came in by badge leaves with it: a card pulled from a reader must
        // not check out someone who came in by PIN or presence key.
        if let Some(member) = self.state().seated.get(&seat).cloned()
            && self.state().attendance.get(&member).is_some_and(|a| {
                a.status == AttendanceStatus::Present
                    && a.place == Some(AttendancePlace::Seat(seat))
                    && a.by == CheckInMethod::Badge
            })
        {
            let next = self.absent(now, CheckInMethod::Badge);
            self.record_attendance(now, &member, next);
        }
        Ok(())
    }

    /// The chair or technician records a member's attendance.
    pub(crate) fn mark_attendance(
        &mut self,
        now: Timestamp,
        actor: &Actor,
        participant: &str,
        status: AttendanceStatus,
    ) -> Result<(), Rejection> {
        self.participant(participant)?;
        let by =
            if matches!(actor, Actor::Technician) { CheckInMethod::Technician } else { CheckInMethod::Chair };
        let next = match status {
            AttendanceStatus::Present => {
                let place = match self.state().presence.get(participant) {
                    Some(Presence::Seat(n)) => AttendancePlace::Seat(*n),
                    Some(Presence::Remote) => AttendancePlace::Remote,
                    _ => AttendancePlace::Room,
                };
                self.present(now, place, by)
            }
            other => {
                // Marked away: they leave the floor and the conference too.
                if self.state().presence.get(participant) == Some(&Presence::Remote) {
                    self.move_participant(now, participant, Presence::Absent);
                }
                Attendance { status: other, place: None, by, since: now }
            }
        };
        self.record_attendance(now, participant, next);
        Ok(())
    }

    /// The chair checks in every member sitting at a seat (a room without presence keys),
    /// except those the chair or technician marked excused or absent: their mark stands.
    pub(crate) fn mark_seated_present(&mut self, now: Timestamp, actor: &Actor) {
        let by =
            if matches!(actor, Actor::Technician) { CheckInMethod::Technician } else { CheckInMethod::Chair };
        let seated: Vec<_> = self.state().seated.iter().map(|(seat, id)| (*seat, id.clone())).collect();
        for (seat, member) in seated {
            let marked_away = self.state().attendance.get(&member).is_some_and(|a| {
                a.status != AttendanceStatus::Present
                    && matches!(a.by, CheckInMethod::Chair | CheckInMethod::Technician)
            });
            if !self.is_present(&member) && !marked_away {
                let next = self.present(now, AttendancePlace::Seat(seat), by);
                self.record_attendance(now, &member, next);
            }
        }
    }

    /// Joining or leaving the conference is remote attendance (called by the presence rules).
    pub(crate) fn remote_attendance(
        &mut self,
        now: Timestamp,
        actor: &Actor,
        participant: &str,
        joined: bool,
    ) {
        let by = match actor {
            Actor::Chair => CheckInMethod::Chair,
            Actor::Technician => CheckInMethod::Technician,
            Actor::System => CheckInMethod::System,
            Actor::Station(_) => CheckInMethod::RemoteLink,
        };
        let next = if joined { self.present(now, AttendancePlace::Remote, by) } else { self.absent(now, by) };
        self.record_attendance(now, participant, next);
    }

    /// A checked-in member's place follows their presence: moved to another seat, they
    /// attend there; gone from every station (not marked in the room), they departed.
    pub(crate) fn attendance_follows_presence(&mut self, now: Timestamp, participant: &str, to: Presence) {
        let Some(current) = self.state().attendance.get(participant).cloned() else { return };
        if current.status != AttendanceStatus::Present {
            return;
        }
        let next = match (to, current.place) {
            (Presence::Seat(n), Some(AttendancePlace::Seat(m))) if n != m => Attendance {
                place: Some(AttendancePlace::Seat(n)),
                since: now,
                by: CheckInMethod::System,
                ..current
            },
            (Presence::Absent, Some(AttendancePlace::Seat(_) | AttendancePlace::Remote)) => {
                self.absent(now, CheckInMethod::System)
            }
            _ => return,
        };
        self.record_attendance(now, participant, next);
    }

    /// The meeting is over: everyone present departs with it, and marks of absence end, so
    /// the next meeting starts with nobody checked in.
    pub(crate) fn end_attendance(&mut self, now: Timestamp) {
        let recorded: Vec<_> = self
            .state()
            .attendance
            .iter()
            .filter(|(_, a)| !(a.status == AttendanceStatus::Absent && a.by == CheckInMethod::System))
            .map(|(id, _)| id.clone())
            .collect();
        for member in recorded {
            let next = self.absent(now, CheckInMethod::System);
            self.record_attendance(now, &member, next);
        }
    }

    fn present(&self, now: Timestamp, place: AttendancePlace, by: CheckInMethod) -> Attendance {
        Attendance { status: AttendanceStatus::Present, place: Some(place), by, since: now }
    }

    fn absent(&self, now: Timestamp, by: CheckInMethod) -> Attendance {
        Attendance { status: AttendanceStatus::Absent, place: None, by, since: now }
    }

    fn record_attendance(&mut self, now: Timestamp, participant: &str, next: Attendance) {
        let unchanged = self
            .state()
            .attendance
            .get(participant)
            .is_some_and(|a| a.status == next.status && a.place == next.place && a.by == next.by);
        if !unchanged {
            self.emit(
                now,
                Change::AttendanceChanged { participant: participant.to_owned(), attendance: next },
            );
        }
    }

    pub(crate) fn is_present(&self, participant: &str) -> bool {
        self.state().attendance.get(participant).is_some_and(|a| a.status == AttendanceStatus::Present)
    }

    fn known_seat(&self, seat: SeatNo) -> Result<(), Rejection> {
        if self.seats.contains_key(&seat) {
            Ok(())
        } else {
            Err(Rejection::new(Reason::UnknownSeat, format!("there is no seat {seat}")))
        }
    }

    // --- quorum ----------------------------------------------------------------------

    /// The statutory number of members: the room file's (the authority when set), else the
    /// meeting's (from its OParl organization or the chair), else everyone with a vote.
    pub(crate) fn statutory_members(&self) -> u32 {
        self.setup()
            .voting
            .statutory_members
            .or(self.state().statutory_members)
            .unwrap_or(self.voting_members)
    }

    pub(crate) fn set_statutory_members(
        &mut self,
        now: Timestamp,
        count: Option<u32>,
    ) -> Result<(), Rejection> {
        if count.is_some_and(|n| n == 0 || n > crate::vote::MAX_STATUTORY) {
            return Err(Rejection::new(Reason::InvalidVote, "the statutory number is 1 to 2,000"));
        }
        self.no_vote_running()?;
        if self.state().statutory_members != count {
            self.emit(now, Change::StatutoryMembersSet { count });
        }
        Ok(())
    }

    /// The quorum on the current state.
    pub(crate) fn compute_quorum(&self) -> Quorum {
        let state = self.state();
        let present =
            state.attendance.iter().filter(|(id, a)| self.counts_for_quorum(id, Some(a))).count() as u32;
        let statutory = self.statutory_members();
        let required = self.setup().voting.quorum.required(statutory);
        Quorum { present, required, statutory, quorate: present >= required }
    }

    /// Whether a change can move the quorum (who is present, who is excluded from the item
    /// now, the statutory number): only those make the engine count again, not every
    /// request or grant.
    pub(crate) fn moves_quorum(change: &Change) -> bool {
        matches!(
            change,
            Change::AttendanceChanged { .. }
                | Change::ItemEntered { .. }
                | Change::ItemFinished { .. }
                | Change::Excluded { .. }
                | Change::Readmitted { .. }
                | Change::AgendaSet { .. }
                | Change::StatutoryMembersSet { .. }
        )
    }

    /// Whether `participant` with `attendance` counts for the quorum now.
    pub(crate) fn counts_for_quorum(&self, participant: &str, attendance: Option<&Attendance>) -> bool {
        attendance.is_some_and(|a| a.status == AttendanceStatus::Present)
            && self.participants.get(participant).is_some_and(|p| p.voting_right)
            && !self.state().is_excluded_now(participant)
    }

    /// Announces the quorum if the change just handled moved it. When only attendance
    /// changed, the count moves by what those changes added or took away (O(log n) per
    /// check-in); a change of item, exclusion, agenda or statutory number recounts the room.
    /// `check_invariants` proves the result equals a recount. A count this floor did not
    /// make itself (restored or replayed) is recounted once first.
    pub(crate) fn update_quorum(&mut self, now: Timestamp) {
        let only_attendance = self
            .emitted
            .iter()
            .filter(|e| Self::moves_quorum(&e.change))
            .all(|e| matches!(e.change, Change::AttendanceChanged { .. }));
        let quorum = if only_attendance && self.quorum_trusted {
            let present = (i64::from(self.state().quorum.present) + self.quorum_delta).max(0) as u32;
            let statutory = self.statutory_members();
            let required = self.setup().voting.quorum.required(statutory);
            Quorum { present, required, statutory, quorate: present >= required }
        } else {
            self.compute_quorum()
        };
        self.quorum_trusted = true;
        if quorum != self.state().quorum {
            self.emit(now, Change::QuorumChanged { quorum });
        }
    }

    // --- votes -----------------------------------------------------------------------

    /// The vote that is open, if any.
    pub(crate) fn open_vote(&self) -> Option<&Vote> {
        self.state().vote.as_deref().filter(|v| v.result.is_none())
    }

    /// Refuses a change of item, agenda or exclusion while a vote runs.
    pub(crate) fn no_vote_running(&self) -> Result<(), Rejection> {
        match self.open_vote() {
            Some(vote) => {
                Err(Rejection::new(Reason::VoteOpen, format!("vote {} is open: close it first", vote.id)))
            }
            None => Ok(()),
        }
    }

    pub(crate) fn open_a_vote(&mut self, now: Timestamp, request: &VoteRequest) -> Result<(), Rejection> {
        if let Some(field) = request.out_of_range_field() {
            return Err(Rejection::new(Reason::InvalidVote, format!("{field} is out of range")));
        }
        if request.has_duplicate_options() {
            return Err(Rejection::new(Reason::InvalidVote, "two options share an id"));
        }
        match self.state().phase {
            MeetingPhase::Open => {}
            MeetingPhase::Suspended => {
                return Err(Rejection::new(Reason::MeetingSuspended, "the meeting is suspended"));
            }
            MeetingPhase::None => {
                return Err(Rejection::new(Reason::NoMeeting, "votes are held in an open meeting"));
            }
        }
        self.no_vote_running()?;
        let rules = &self.setup().voting;
        let secret = request.kind == VoteKind::Secret;
        let vote = Vote {
            id: self.state().votes_held + 1,
            item: self.state().current_item,
            question: request.question.trim().to_owned(),
            kind: request.kind,
            options: request.options.clone().unwrap_or_else(VoteOption::defaults),
            majority: request.majority.unwrap_or(rules.majority),
            changeable: !secret && request.changeable.unwrap_or(rules.changeable),
            remote_allowed: !secret || rules.remote_secret,
            statutory: self.statutory_members(),
            quorum_at_open: self.state().quorum,
            public: self.state().public,
            opened_at: now,
            closes_at: request.duration_s.map(|s| now.mono_ms.plus_ms(u64::from(s) * 1_000)),
            ballots: imbl::OrdMap::new(),
            result: None,
            closed_at: None,
        };
        self.urn.vote = secret.then_some(vote.id);
        self.urn.counts.clear();
        self.emit(now, Change::VoteOpened { vote: Box::new(vote) });
        Ok(())
    }

    pub(crate) fn cast_vote(
        &mut self,
        now: Timestamp,
        actor: &Actor,
        participant: Option<&str>,
        choice: &str,
    ) -> Result<(), Rejection> {
        let Some(vote) = self.open_vote() else {
            return Err(Rejection::new(Reason::NoVoteOpen, "no vote is open"));
        };
        if vote.closes_at.is_some_and(|due| due <= now.mono_ms) {
            // Its time is up; the tick due now closes it.
            return Err(Rejection::new(Reason::NoVoteOpen, "the vote's time is up"));
        }
        let (vote_id, secret, changeable) = (vote.id, vote.kind == VoteKind::Secret, vote.changeable);
        let option = vote.option_for(choice).map(|o| o.id.clone()).ok_or_else(|| {
            Rejection::new(Reason::NoSuchOption, format!("this vote has no option {choice:?}"))
        })?;
        let (member, via) = self.voter(actor, participant)?;
        if self.state().phase == MeetingPhase::Suspended {
            return Err(Rejection::new(Reason::MeetingSuspended, "the meeting is suspended"));
        }
        self.entitled(self.open_vote().expect("checked above"), &member)?;
        let previous = self.open_vote().and_then(|v| v.ballots.get(&member));
        if let Some(previous) = previous {
            if !changeable {
                return Err(Rejection::new(
                    Reason::VoteFinal,
                    format!("{member} has voted; this vote is final"),
                ));
            }
            if previous.choice.as_deref() == Some(option.as_str()) {
                return Ok(());
            }
        }
        let ballot = Ballot { choice: (!secret).then(|| option.clone()), via, at: now };
        if secret {
            *self.urn.counts.entry(option.clone()).or_insert(0) += 1;
            self.deposits.push(UrnDeposit { vote: vote_id, option });
        }
        self.emit(now, Change::BallotCast { vote: vote_id, participant: member, ballot });
        Ok(())
    }

    /// Who votes, and through which channel, for a ballot from `actor`.
    fn voter(&self, actor: &Actor, participant: Option<&str>) -> Result<(String, BallotChannel), Rejection> {
        let named = |participant: Option<&str>| {
            participant.map(str::to_owned).ok_or_else(|| {
                Rejection::new(Reason::UnknownParticipant, "name the member the vote is entered for")
            })
        };
        let (member, via) = match actor {
            Actor::Station(Station::Seat(seat)) => {
                let occupant = self.state().seated.get(seat).cloned().ok_or_else(|| {
                    Rejection::new(Reason::NotEntitled, format!("nobody sits at seat {seat}"))
                })?;
                if participant.is_some_and(|p| p != occupant) {
                    return Err(Rejection::new(Reason::NotAllowedForRole, "a seat votes for its occupant"));
                }
                let at_seat = self
                    .state()
                    .attendance
                    .get(&occupant)
                    .is_some_and(|a| matches!(a.place, Some(AttendancePlace::Seat(n)) if n == *seat));
                if !at_seat {
                    return Err(Rejection::new(
                        Reason::NotEntitled,
                        format!("{occupant} is not checked in at seat {seat}"),
                    ));
                }
                (occupant, BallotChannel::Desk)
            }
            Actor::Station(Station::Remote(own)) => {
                if participant.is_some_and(|p| p != own) {
                    return Err(Rejection::new(Reason::NotAllowedForRole, "members vote for themselves"));
                }
                if self.state().presence.get(own) != Some(&Presence::Remote) {
                    return Err(Rejection::new(Reason::NotPresent, format!("{own} is not present remotely")));
                }
                (own.clone(), BallotChannel::Remote)
            }
            // A proxy entry shows its author the choice: never in a secret vote.
            Actor::Chair | Actor::Technician
                if self.open_vote().is_some_and(|v| v.kind == VoteKind::Secret) =>
            {
                return Err(Rejection::new(
                    Reason::NotAllowedForRole,
                    "in a secret vote only the member votes (no entry on their behalf)",
                ));
            }
            Actor::Chair => (named(participant)?, BallotChannel::ProxyChair),
            Actor::Technician => (named(participant)?, BallotChannel::ProxyTechnician),
            Actor::System => return Err(Rejection::new(Reason::NotAllowedForRole, "podiumd does not vote")),
        };
        self.participant(&member)?;
        Ok((member, via))
    }

    /// Whether `member` may vote in the open vote now.
    fn entitled(&self, vote: &Vote, member: &str) -> Result<(), Rejection> {
        let refuse = |why: String| Err(Rejection::new(Reason::NotEntitled, why));
        if !self.participant(member)?.voting_right {
            return refuse(format!("{member} has no vote"));
        }
        let Some(attendance) =
            self.state().attendance.get(member).filter(|a| a.status == AttendanceStatus::Present)
        else {
            return refuse(format!("{member} is not checked in"));
        };
        if let Some(item) = vote.item
            && self.state().item(item).is_some_and(|e| e.excluded.contains_key(member))
        {
            return refuse(format!("{member} is excluded from this item (conflict of interest)"));
        }
        if attendance.place == Some(AttendancePlace::Remote) && !vote.remote_allowed {
            return refuse("remote members do not take part in secret votes in this room".to_owned());
        }
        Ok(())
    }

    /// Entitled members who have not voted.
    fn not_voted(&self, vote: &Vote) -> u32 {
        self.state()
            .attendance
            .keys()
            .filter(|id| !vote.ballots.contains_key(*id) && self.entitled(vote, id).is_ok())
            .count() as u32
    }

    pub(crate) fn close_vote(&mut self, now: Timestamp, closed_by: VoteClosedBy) -> Result<(), Rejection> {
        let Some(vote) = self.open_vote() else {
            return Err(Rejection::new(Reason::NoVoteOpen, "no vote is open"));
        };
        let counts = if vote.kind == VoteKind::Secret {
            // Counts that are not this vote's, or miss ballots (a journal that could not give
            // them back after a restart), would make a wrong result: none is better.
            let complete = vote.ballots.is_empty()
                || (self.urn.vote == Some(vote.id)
                    && self.urn.counts.values().sum::<u32>() as usize == vote.ballots.len());
            if !complete {
                return Err(Rejection::new(
                    Reason::UrnIncomplete,
                    "the secret ballots' counts are incomplete: cancel the vote and hold it again",
                ));
            }
            self.urn.counts.clone()
        } else {
            vote.counted_ballots()
        };
        let result = vote.decide(&counts, self.not_voted(vote), closed_by);
        let id = vote.id;
        self.urn = Default::default();
        self.emit(now, Change::VoteClosed { vote: id, result });
        Ok(())
    }

    pub(crate) fn cancel_vote(&mut self, now: Timestamp) -> Result<(), Rejection> {
        let Some(vote) = self.open_vote() else {
            return Err(Rejection::new(Reason::NoVoteOpen, "no vote is open"));
        };
        let id = vote.id;
        self.urn = Default::default();
        self.emit(now, Change::VoteCancelled { vote: id });
        Ok(())
    }

    /// When the open vote closes by itself.
    pub(crate) fn vote_deadline(&self) -> Option<Instant> {
        self.open_vote().and_then(|v| v.closes_at)
    }

    /// Closes the vote whose time ran out.
    pub(crate) fn check_vote_deadline(&mut self, now: Timestamp) {
        if self.vote_deadline().is_some_and(|due| due <= now.mono_ms)
            && self.close_vote(now, VoteClosedBy::Deadline).is_err()
        {
            // Its urn is incomplete: it ends without a result rather than with a wrong one.
            let _ = self.cancel_vote(now);
        }
    }
}
