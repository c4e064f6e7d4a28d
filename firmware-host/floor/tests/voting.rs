//! Attendance, quorum and votes: one test per rule.
//!
//! The room (tests/common): 11 members with a vote (the chair at seat 1, m2–m9 at seats
//! 2–9, r1 and r2 remote-capable, m3 too), so the statutory number is 11 and a quorum
//! needs 6 (more than half).

mod common;

use common::*;
use podium_floor::*;

fn refused(f: &mut Floor, command: Command, actor: Actor, t: u64) -> Reason {
    let before = f.state().clone();
    let reason = f.handle(&command, &actor, at(t)).expect_err("refused").reason;
    assert_eq!(&before, f.state(), "a refusal changes nothing");
    reason
}

fn open_meeting(f: &mut Floor) {
    f.handle(&Command::SetPhase { phase: MeetingPhase::Open }, &Actor::System, at(0)).unwrap();
}

fn key(f: &mut Floor, seat: u16, t: u64) {
    f.handle(&Command::PresenceKey { seat }, &member(seat), at(t)).unwrap();
}

fn cast(f: &mut Floor, actor: Actor, participant: Option<&str>, choice: &str, t: u64) -> Outcome {
    f.handle(
        &Command::CastVote { participant: participant.map(str::to_owned), choice: choice.into() },
        &actor,
        at(t),
    )
}

fn vote(kind: VoteKind) -> VoteRequest {
    VoteRequest {
        question: "Beschlussvorlage VII-DS-01234".into(),
        kind,
        options: None,
        majority: None,
        duration_s: None,
        changeable: None,
    }
}

/// A meeting with seats 1–9 checked in by their presence keys.
fn council() -> Floor {
    let mut f = floor(Mode::Request);
    open_meeting(&mut f);
    for seat in 1..=9 {
        key(&mut f, seat, 1);
    }
    f
}

fn result(f: &Floor) -> VoteResult {
    f.state().vote.as_ref().and_then(|v| v.result.clone()).expect("closed")
}

#[test]
fn seating_is_not_attendance_and_the_presence_key_checks_in_and_out() {
    let mut f = floor(Mode::Request);
    assert!(f.state().attendance.is_empty(), "seated members are not present until they check in");
    assert_eq!(f.state().quorum, Quorum { present: 0, required: 6, statutory: 11, quorate: false });
    let events = f.handle(&Command::PresenceKey { seat: 4 }, &member(4), at(1)).unwrap();
    let attendance = &f.state().attendance["m4"];
    assert_eq!(attendance.status, AttendanceStatus::Present);
    assert_eq!(attendance.place, Some(AttendancePlace::Seat(4)));
    assert_eq!(attendance.by, CheckInMethod::PresenceKey);
    assert_eq!(attendance.since, at(1));
    assert!(matches!(events.last().unwrap().change, Change::QuorumChanged { quorum } if quorum.present == 1));
    key(&mut f, 4, 2);
    assert_eq!(f.state().attendance["m4"].status, AttendanceStatus::Absent, "pressed again: departed");
    assert_eq!(f.state().quorum.present, 0);
    // Another seat's key is not this seat's.
    assert_eq!(refused(&mut f, Command::PresenceKey { seat: 4 }, member(5), 3), Reason::NotAllowedForRole);
    assert_eq!(refused(&mut f, Command::PresenceKey { seat: 10 }, member(10), 3), Reason::NotPresent);
}

#[test]
fn one_identity_one_presence_across_seat_badge_and_remote_link() {
    let mut f = floor(Mode::Request);
    // m3 checks in at seat 3, then joins through the personal link: the seat presence ends.
    key(&mut f, 3, 1);
    f.handle(&Command::JoinRemote { participant: "m3".into() }, &Actor::Station(remote("m3")), at(2))
        .unwrap();
    let a = &f.state().attendance["m3"];
    assert_eq!(
        (a.status, a.place, a.by),
        (AttendanceStatus::Present, Some(AttendancePlace::Remote), CheckInMethod::RemoteLink)
    );
    assert_eq!(f.state().seated.get(&3), None, "the seat is free");
    assert_eq!(f.state().quorum.present, 1, "one member, counted once");
    // Back in the room with a badge at the free seat 10: the remote presence ends.
    f.handle(
        &Command::CheckInAtSeat { seat: 10, participant: "m3".into(), method: CheckInMethod::Badge },
        &member(10),
        at(3),
    )
    .unwrap();
    let a = &f.state().attendance["m3"];
    assert_eq!((a.place, a.by), (Some(AttendancePlace::Seat(10)), CheckInMethod::Badge));
    assert_eq!(f.state().presence["m3"], Presence::Seat(10));
    assert_eq!(f.state().quorum.present, 1);
    // The badge leaves the reader: departed.
    f.handle(&Command::CheckOutAtSeat { seat: 10 }, &member(10), at(4)).unwrap();
    assert_eq!(f.state().attendance["m3"].status, AttendanceStatus::Absent);
    // A badge of someone else at a seat whose checked-in occupant is there is refused.
    key(&mut f, 5, 5);
    let badge = Command::CheckInAtSeat { seat: 5, participant: "m3".into(), method: CheckInMethod::Pin };
    assert_eq!(refused(&mut f, badge, member(5), 6), Reason::SeatOccupied);
    // A seat occupant who has not checked in makes room for a badge.
    let badge = Command::CheckInAtSeat { seat: 6, participant: "m3".into(), method: CheckInMethod::Pin };
    f.handle(&badge, &member(6), at(7)).unwrap();
    assert_eq!(f.state().seated[&6], "m3");
    assert_eq!(f.state().presence["m6"], Presence::Absent);
}

#[test]
fn the_chair_marks_present_excused_and_absent_with_provenance() {
    let mut f = floor(Mode::Request);
    chair(&mut f, Command::MarkAttendance { participant: "m7".into(), status: AttendanceStatus::Excused }, 1);
    assert_eq!(f.state().attendance["m7"].status, AttendanceStatus::Excused);
    assert_eq!(f.state().attendance["m7"].by, CheckInMethod::Chair);
    f.handle(
        &Command::MarkAttendance { participant: "r1".into(), status: AttendanceStatus::Present },
        &Actor::Technician,
        at(2),
    )
    .unwrap();
    let a = &f.state().attendance["r1"];
    assert_eq!((a.place, a.by), (Some(AttendancePlace::Room), CheckInMethod::Technician));
    // A remote member marked absent leaves the conference floor too.
    f.handle(&Command::JoinRemote { participant: "r2".into() }, &Actor::Station(remote("r2")), at(3))
        .unwrap();
    chair(&mut f, Command::MarkAttendance { participant: "r2".into(), status: AttendanceStatus::Absent }, 4);
    assert_eq!(f.state().presence["r2"], Presence::Absent);
    assert_eq!(f.state().attendance["r2"].status, AttendanceStatus::Absent);
    chair(&mut f, Command::MarkSeatedPresent {}, 5);
    assert_eq!(f.state().quorum.present, 8 + 1, "seats 1–9 but the excused m7, and r1");
    let member_marks =
        Command::MarkAttendance { participant: "m4".into(), status: AttendanceStatus::Present };
    assert_eq!(refused(&mut f, member_marks, member(4), 6), Reason::NotAllowedForRole);
}

#[test]
fn the_quorum_counts_room_and_remote_without_excluded_members_and_its_loss_is_an_event() {
    let mut f = floor(Mode::Request);
    chair(&mut f, Command::SetAgenda { items: agenda(), carry_over: CarryOver::PerItem }, 0);
    open_meeting(&mut f);
    for seat in 1..=5 {
        key(&mut f, seat, 1);
    }
    assert!(!f.state().quorum.quorate, "5 of 11");
    f.handle(&Command::JoinRemote { participant: "r1".into() }, &Actor::Station(remote("r1")), at(2))
        .unwrap();
    assert_eq!(f.state().quorum, Quorum { present: 6, required: 6, statutory: 11, quorate: true });
    chair(&mut f, Command::Exclude { item: 2, participant: "m4".into(), reason: "Befangen".into() }, 3);
    assert!(f.state().quorum.quorate, "not the current item");
    let events = chair(&mut f, Command::EnterItem { item: 2 }, 4);
    assert!(events.iter().any(|e| matches!(
        e.change,
        Change::QuorumChanged { quorum: Quorum { present: 5, quorate: false, .. } }
    )));
    chair(&mut f, Command::FinishItem {}, 5);
    assert!(f.state().quorum.quorate);
}

#[test]
fn a_restored_quorum_count_is_recounted_before_check_ins_adjust_it() {
    let mut f = floor(Mode::Request);
    open_meeting(&mut f);
    for seat in 1..=5 {
        key(&mut f, seat, 1);
    }
    assert_eq!(f.state().quorum.present, 5);
    // A saved state whose count is off (an older version, another room file).
    let mut saved = f.state().clone();
    saved.quorum.present = 9;
    let mut restored = Floor::restore(f.setup().clone(), saved);
    key(&mut restored, 6, 2);
    assert_eq!(restored.state().quorum, Quorum { present: 6, required: 6, statutory: 11, quorate: true });
    restored.check_invariants().expect("the count equals a recount");
    // From then on a check-in adjusts the count it made itself.
    key(&mut restored, 7, 3);
    assert_eq!(restored.state().quorum.present, 7);
    restored.check_invariants().expect("the count equals a recount");
}

#[test]
fn the_statutory_number_and_rule_come_from_the_room() {
    let mut s = setup(Profile::default());
    s.voting.statutory_members = Some(10);
    s.voting.quorum = QuorumRule::AtLeastHalf;
    let f = Floor::new(s);
    assert_eq!(f.state().quorum, Quorum { present: 0, required: 5, statutory: 10, quorate: false });
    assert_eq!(QuorumRule::MoreThanHalf.required(10), 6);
    assert_eq!(QuorumRule::AtLeastHalf.required(11), 6);
    assert_eq!(QuorumRule::MoreThanHalf.required(11), 6);
}

#[test]
fn a_vote_needs_an_open_meeting_and_only_one_runs_at_a_time() {
    let mut f = floor(Mode::Request);
    let open = Command::OpenVote { vote: vote(VoteKind::Open) };
    assert_eq!(refused(&mut f, open.clone(), Actor::Chair, 1), Reason::NoMeeting);
    open_meeting(&mut f);
    assert_eq!(refused(&mut f, open.clone(), member(4), 1), Reason::NotAllowedForRole);
    chair(&mut f, open.clone(), 2);
    assert_eq!(refused(&mut f, open, Actor::Chair, 3), Reason::VoteOpen);
    let mut blank = vote(VoteKind::Open);
    blank.question = "  ".into();
    assert_eq!(Command::OpenVote { vote: blank }.out_of_range_field(), Some("question"));
}

#[test]
fn one_member_one_vote_whatever_the_channel() {
    let mut f = council();
    f.handle(&Command::JoinRemote { participant: "r1".into() }, &Actor::Station(remote("r1")), at(1))
        .unwrap();
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Open) }, 2);
    cast(&mut f, member(4), None, "yes", 3).unwrap();
    // The chair's proxy entry and the desk are the same member's one vote.
    cast(&mut f, Actor::Chair, Some("m4"), "no", 4).unwrap();
    let ballots = &f.state().vote.as_ref().unwrap().ballots;
    assert_eq!(ballots.len(), 1);
    assert_eq!(ballots["m4"].choice.as_deref(), Some("no"));
    assert_eq!(ballots["m4"].via, BallotChannel::ProxyChair);
    cast(&mut f, Actor::Station(remote("r1")), None, "abstain", 5).unwrap();
    assert_eq!(
        reason(cast(&mut f, Actor::Station(remote("r1")), Some("m5"), "yes", 6)),
        Reason::NotAllowedForRole,
        "a remote member votes only for themself"
    );
    assert_eq!(reason(cast(&mut f, member(5), Some("m6"), "yes", 6)), Reason::NotAllowedForRole);
    assert_eq!(reason(cast(&mut f, member(5), None, "maybe", 6)), Reason::NoSuchOption);
    let ballots = &f.state().vote.as_ref().unwrap().ballots;
    assert_eq!(ballots.len(), 2);
    assert_eq!(ballots["r1"].via, BallotChannel::Remote);
}

#[test]
fn only_entitled_members_vote() {
    let mut s = setup(Profile::default());
    s.participants.iter_mut().find(|p| p.id == "m9").unwrap().voting_right = false;
    s.voting.statutory_members = Some(10);
    let mut f = Floor::new(s);
    chair(&mut f, Command::SetAgenda { items: agenda(), carry_over: CarryOver::PerItem }, 0);
    open_meeting(&mut f);
    for seat in [2, 4, 9] {
        key(&mut f, seat, 1);
    }
    chair(&mut f, Command::Exclude { item: 2, participant: "m4".into(), reason: "Befangen".into() }, 1);
    chair(&mut f, Command::EnterItem { item: 2 }, 2);
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Open) }, 3);
    assert_eq!(
        reason(cast(&mut f, member(4), None, "yes", 4)),
        Reason::NotEntitled,
        "excluded from the item"
    );
    assert_eq!(reason(cast(&mut f, member(9), None, "yes", 4)), Reason::NotEntitled, "no vote");
    assert_eq!(reason(cast(&mut f, member(5), None, "yes", 4)), Reason::NotEntitled, "not checked in");
    assert_eq!(
        reason(cast(&mut f, Actor::Chair, Some("m6"), "yes", 4)),
        Reason::NotEntitled,
        "proxy: not present"
    );
    cast(&mut f, member(2), None, "yes", 5).unwrap();
    chair(&mut f, Command::CloseVote {}, 6);
    let r = result(&f);
    assert_eq!((r.voted, r.not_voted, r.yes), (1, 0, 1), "m4 excluded and m9 without a vote are not missing");
    // The item cannot change, nor its exclusions, while a vote on it runs.
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Open) }, 7);
    assert_eq!(refused(&mut f, Command::NextItem {}, Actor::Chair, 8), Reason::VoteOpen);
    assert_eq!(refused(&mut f, Command::FinishItem {}, Actor::Chair, 8), Reason::VoteOpen);
    let readmit = Command::Readmit { item: 2, participant: "m4".into() };
    assert_eq!(refused(&mut f, readmit, Actor::Chair, 8), Reason::VoteOpen);
}

#[test]
fn a_changeable_vote_takes_the_last_choice_and_a_final_one_refuses_a_second() {
    let mut f = council();
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::RollCall) }, 2);
    cast(&mut f, member(2), None, "yes", 3).unwrap();
    cast(&mut f, member(2), None, "no", 4).unwrap();
    let same = cast(&mut f, member(2), None, "no", 5).unwrap();
    assert!(same.is_empty(), "the same choice again changes nothing");
    chair(&mut f, Command::CloseVote {}, 6);
    assert_eq!((result(&f).yes, result(&f).no), (0, 1));
    let mut fixed = vote(VoteKind::Open);
    fixed.changeable = Some(false);
    chair(&mut f, Command::OpenVote { vote: fixed }, 7);
    cast(&mut f, member(2), None, "yes", 8).unwrap();
    assert_eq!(reason(cast(&mut f, member(2), None, "no", 9)), Reason::VoteFinal);
}

#[test]
fn a_simple_majority_needs_more_yes_than_no_and_a_tie_rejects() {
    let mut f = council();
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Open) }, 2);
    for (seat, choice) in [(2, "yes"), (3, "yes"), (4, "no"), (5, "no"), (6, "abstain"), (7, "abstain")] {
        cast(&mut f, member(seat), None, choice, 3).unwrap();
    }
    chair(&mut f, Command::CloseVote {}, 4);
    let r = result(&f);
    assert_eq!((r.yes, r.no, r.abstain, r.voted, r.not_voted), (2, 2, 2, 6, 3));
    assert_eq!(r.required, Some(3));
    assert_eq!(r.outcome, VoteOutcome::Rejected, "a tie rejects; abstentions do not count");
    assert_eq!(r.closed_by, VoteClosedBy::Chair);
    assert_eq!(r.totals.iter().map(|t| t.count).sum::<u32>(), r.voted);
}

#[test]
fn absolute_and_two_thirds_majorities_count_against_the_statutory_number() {
    let mut f = council();
    let mut absolute = vote(VoteKind::Open);
    absolute.majority = Some(Majority::Absolute);
    chair(&mut f, Command::OpenVote { vote: absolute }, 2);
    for seat in 2..=6 {
        cast(&mut f, member(seat), None, "yes", 3).unwrap();
    }
    chair(&mut f, Command::CloseVote {}, 4);
    assert_eq!(
        (result(&f).required, result(&f).outcome),
        (Some(6), VoteOutcome::Rejected),
        "5 of 11 is no absolute majority"
    );
    let mut two_thirds = vote(VoteKind::Open);
    two_thirds.majority = Some(Majority::TwoThirdsStatutory);
    chair(&mut f, Command::OpenVote { vote: two_thirds }, 5);
    for seat in 1..=8 {
        cast(&mut f, member(seat), None, "yes", 6).unwrap();
    }
    chair(&mut f, Command::CloseVote {}, 7);
    assert_eq!((result(&f).required, result(&f).outcome), (Some(8), VoteOutcome::Accepted));
    assert_eq!(Majority::TwoThirdsCast.required_yes(4, 2, 11), 4);
    assert_eq!(Majority::Simple.required_yes(0, 0, 11), 1, "no votes at all: rejected");
}

#[test]
fn a_secret_vote_keeps_who_voted_and_the_totals_but_no_choice() {
    let mut f = council();
    f.handle(&Command::JoinRemote { participant: "r1".into() }, &Actor::Station(remote("r1")), at(1))
        .unwrap();
    let opened = chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Secret) }, 2);
    let Change::VoteOpened { vote: v } = &opened[0].change else { panic!() };
    assert!(!v.changeable && !v.remote_allowed, "final, and without remote members by default");
    let mut events = Vec::new();
    for (seat, choice) in [(2, "yes"), (3, "no"), (4, "yes"), (5, "abstain")] {
        events.extend(cast(&mut f, member(seat), None, choice, 3).unwrap());
    }
    assert_eq!(reason(cast(&mut f, member(2), None, "no", 4)), Reason::VoteFinal);
    assert_eq!(reason(cast(&mut f, Actor::Station(remote("r1")), None, "yes", 4)), Reason::NotEntitled);
    let deposits = f.take_deposits();
    assert_eq!(deposits.len(), 4);
    assert!(f.take_deposits().is_empty(), "taken once");
    for e in &events {
        let json = serde_json::to_string(e).unwrap();
        for choice in ["\"yes\"", "\"no\"", "\"abstain\""] {
            assert!(!json.contains(choice), "an event of a secret vote names a choice: {json}");
        }
    }
    let state = serde_json::to_string(f.state()).unwrap();
    assert!(!state.contains("\"choice\""), "the state holds no choice");
    assert_eq!(f.state().vote.as_ref().unwrap().ballots.len(), 4);
    chair(&mut f, Command::CloseVote {}, 5);
    let r = result(&f);
    assert_eq!((r.yes, r.no, r.abstain, r.voted), (2, 1, 1, 4));
    assert_eq!(r.outcome, VoteOutcome::Accepted);
    assert!(f.urn().counts.is_empty(), "the urn is emptied with the result");
}

#[test]
fn remote_members_take_part_in_secret_votes_where_the_room_allows_it() {
    let mut s = setup(Profile::default());
    s.voting.remote_secret = true;
    let mut f = Floor::new(s);
    open_meeting(&mut f);
    f.handle(&Command::JoinRemote { participant: "r1".into() }, &Actor::Station(remote("r1")), at(1))
        .unwrap();
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Secret) }, 2);
    cast(&mut f, Actor::Station(remote("r1")), None, "no", 3).unwrap();
    chair(&mut f, Command::CloseVote {}, 4);
    assert_eq!(result(&f).no, 1);
}

#[test]
fn the_urn_is_restored_only_if_it_fits_the_ballots() {
    let mut f = council();
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Secret) }, 2);
    cast(&mut f, member(2), None, "yes", 3).unwrap();
    cast(&mut f, member(3), None, "no", 3).unwrap();
    // A restart: replay the events onto a new floor, then the urn from the journal.
    let mut restored = Floor::restore(f.setup().clone(), f.state().clone());
    let counts = |pairs: &[(&str, u32)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    assert!(restored.restore_urn(1, counts(&[("yes", 1)])).is_err(), "one ballot missing");
    assert!(restored.restore_urn(1, counts(&[("yes", 1), ("maybe", 1)])).is_err(), "unknown option");
    assert!(restored.restore_urn(2, counts(&[("yes", 1), ("no", 1)])).is_err(), "not the open vote");
    restored.restore_urn(1, counts(&[("yes", 1), ("no", 1)])).unwrap();
    cast(&mut restored, member(4), None, "yes", 4).unwrap();
    chair(&mut restored, Command::CloseVote {}, 5);
    assert_eq!((result(&restored).yes, result(&restored).no), (2, 1));
}

#[test]
fn a_timed_vote_closes_at_its_deadline() {
    let mut f = council();
    let mut timed = vote(VoteKind::Open);
    timed.duration_s = Some(30);
    chair(&mut f, Command::OpenVote { vote: timed }, 10);
    assert_eq!(f.next_deadline(), Some(Instant(40_000)));
    cast(&mut f, member(2), None, "yes", 20).unwrap();
    assert!(f.tick(at(39)).is_empty());
    assert_eq!(
        reason(cast(&mut f, member(3), None, "yes", 40)),
        Reason::NoVoteOpen,
        "a ballot at the deadline is late"
    );
    let events = f.tick(at(40));
    assert!(matches!(events.last().unwrap().change, Change::VoteClosed { .. }));
    assert_eq!(result(&f).closed_by, VoteClosedBy::Deadline);
    assert_eq!(f.next_deadline(), None);
}

#[test]
fn keys_outside_a_vote_change_nothing_and_closing_the_meeting_cancels_a_vote() {
    let mut f = council();
    assert_eq!(reason(cast(&mut f, member(2), None, "yes", 2)), Reason::NoVoteOpen);
    assert_eq!(refused(&mut f, Command::CloseVote {}, Actor::Chair, 2), Reason::NoVoteOpen);
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Open) }, 3);
    cast(&mut f, member(2), None, "yes", 4).unwrap();
    let events = f.handle(&Command::SetPhase { phase: MeetingPhase::None }, &Actor::System, at(5)).unwrap();
    assert!(events.iter().any(|e| matches!(e.change, Change::VoteCancelled { vote: 1 })));
    assert_eq!(f.state().vote, None);
}

#[test]
fn replaying_the_events_reproduces_attendance_quorum_and_votes() {
    let mut f = council();
    let mut log: Vec<Event> = Vec::new();
    log.extend(
        f.handle(&Command::JoinRemote { participant: "r1".into() }, &Actor::Station(remote("r1")), at(2))
            .unwrap(),
    );
    log.extend(chair(&mut f, Command::OpenVote { vote: vote(VoteKind::RollCall) }, 3));
    log.extend(cast(&mut f, member(2), None, "yes", 4).unwrap());
    log.extend(cast(&mut f, Actor::Station(remote("r1")), None, "no", 5).unwrap());
    log.extend(chair(&mut f, Command::CloseVote {}, 6));
    let mut copy = council();
    for event in &log {
        copy.replay(event);
    }
    assert_eq!(copy.state(), f.state());
}

#[test]
fn in_the_non_public_part_the_public_sees_no_attendance_and_no_vote() {
    let mut f = council();
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Open) }, 2);
    let public = public_view(&f.snapshot());
    assert!(public.floor.vote.is_some() && !public.floor.attendance.is_empty());
    chair(&mut f, Command::CloseVote {}, 3);
    chair(&mut f, Command::SetPublic { public: false }, 3);
    let hidden = public_view(&f.snapshot());
    assert!(hidden.floor.vote.is_none() && hidden.floor.attendance.is_empty());
    assert_eq!(hidden.floor.quorum, f.state().quorum, "the numbers stay");
}

#[test]
fn a_meeting_may_set_its_own_statutory_number_until_it_closes() {
    let mut f = council();
    assert_eq!(f.state().quorum.statutory, 11);
    f.handle(&Command::SetStatutoryMembers { count: Some(20) }, &Actor::System, at(2)).unwrap();
    assert_eq!(f.state().quorum, Quorum { present: 9, required: 11, statutory: 20, quorate: false });
    assert_eq!(
        refused(&mut f, Command::SetStatutoryMembers { count: Some(5) }, member(2), 3),
        Reason::NotAllowedForRole
    );
    assert_eq!(Command::SetStatutoryMembers { count: Some(0) }.out_of_range_field(), Some("count"));
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Open) }, 4);
    assert_eq!(
        refused(&mut f, Command::SetStatutoryMembers { count: None }, Actor::Chair, 5),
        Reason::VoteOpen
    );
    chair(&mut f, Command::CancelVote {}, 6);
    f.handle(&Command::SetPhase { phase: MeetingPhase::None }, &Actor::System, at(7)).unwrap();
    assert_eq!(f.state().statutory_members, None);
    assert_eq!(f.state().quorum.statutory, 11, "the room's number again");
    // A number in the room file is the authority.
    let mut s = setup(Profile::default());
    s.voting.statutory_members = Some(30);
    let mut f = Floor::new(s);
    f.handle(&Command::SetStatutoryMembers { count: Some(20) }, &Actor::System, at(1)).unwrap();
    assert_eq!(f.state().quorum.statutory, 30);
}

#[test]
fn a_ballot_command_never_shows_its_choice_in_a_log() {
    let command = Command::CastVote { participant: Some("m4".into()), choice: "abstain".into() };
    let logged = format!("{command:?}");
    assert!(!logged.contains("abstain"), "{logged}");
    assert!(logged.contains("m4"), "who voted is no secret: {logged}");
    let json = serde_json::to_value(&command).unwrap();
    assert_eq!(
        json["choice"], "abstain",
        "the API and the journal still read it (the journal redacts secret ones)"
    );
}

#[test]
fn attendance_ends_with_the_meeting_and_marks_of_absence_stand_against_mark_seated_present() {
    let mut f = floor(Mode::Request);
    open_meeting(&mut f);
    chair(&mut f, Command::MarkAttendance { participant: "m5".into(), status: AttendanceStatus::Excused }, 1);
    chair(&mut f, Command::MarkSeatedPresent {}, 2);
    assert_eq!(f.state().attendance["m5"].status, AttendanceStatus::Excused, "the chair's mark stands");
    assert_eq!(f.state().quorum.present, 8);
    f.handle(&Command::JoinRemote { participant: "r1".into() }, &Actor::Station(remote("r1")), at(3))
        .unwrap();
    f.handle(&Command::SetPhase { phase: MeetingPhase::None }, &Actor::System, at(4)).unwrap();
    assert!(
        f.state().attendance.values().all(|a| a.status == AttendanceStatus::Absent && a.since == at(4)),
        "everyone departs with the meeting's close"
    );
    assert_eq!(f.state().quorum.present, 0);
    // A member still in the conference checks in again for the next meeting.
    open_meeting(&mut f);
    f.handle(&Command::JoinRemote { participant: "r1".into() }, &Actor::Station(remote("r1")), at(5))
        .unwrap();
    assert_eq!(f.state().attendance["r1"].status, AttendanceStatus::Present);
}

#[test]
fn the_part_does_not_change_while_a_vote_runs() {
    let mut f = council();
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Open) }, 2);
    assert_eq!(refused(&mut f, Command::SetPublic { public: false }, Actor::Chair, 3), Reason::VoteOpen);
    chair(&mut f, Command::SetPublic { public: true }, 3);
}

#[test]
fn a_secret_vote_without_its_urn_cannot_close_with_a_result() {
    let mut f = council();
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Secret) }, 2);
    cast(&mut f, member(2), None, "yes", 3).unwrap();
    // A restart whose journal could not give the counts back.
    let mut restored = Floor::restore(f.setup().clone(), f.state().clone());
    assert_eq!(refused(&mut restored, Command::CloseVote {}, Actor::Chair, 4), Reason::UrnIncomplete);
    chair(&mut restored, Command::CancelVote {}, 5);
    // A timed one ends without a result at its deadline.
    let mut timed = vote(VoteKind::Secret);
    timed.duration_s = Some(10);
    chair(&mut f, Command::CancelVote {}, 6);
    chair(&mut f, Command::OpenVote { vote: timed }, 7);
    cast(&mut f, member(3), None, "no", 8).unwrap();
    let mut restored = Floor::restore(f.setup().clone(), f.state().clone());
    let events = restored.tick(at(17));
    assert!(matches!(events.last().unwrap().change, Change::VoteCancelled { .. }));
}

#[test]
fn a_pulled_badge_checks_out_only_a_member_who_came_in_by_badge() {
    let mut f = floor(Mode::Request);
    key(&mut f, 4, 1);
    f.handle(&Command::CheckOutAtSeat { seat: 4 }, &member(4), at(2)).unwrap();
    assert_eq!(f.state().attendance["m4"].status, AttendanceStatus::Present, "came in by key");
    let badge = Command::CheckInAtSeat { seat: 4, participant: "m4".into(), method: CheckInMethod::Badge };
    f.handle(&badge, &member(4), at(3)).unwrap();
    f.handle(&Command::CheckOutAtSeat { seat: 4 }, &member(4), at(4)).unwrap();
    assert_eq!(f.state().attendance["m4"].status, AttendanceStatus::Absent);
}

#[test]
fn a_vote_of_the_non_public_part_never_reaches_the_public_and_a_secret_one_takes_no_proxy() {
    let mut f = council();
    chair(&mut f, Command::SetPublic { public: false }, 2);
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::RollCall) }, 3);
    cast(&mut f, member(2), None, "no", 4).unwrap();
    chair(&mut f, Command::CloseVote {}, 5);
    chair(&mut f, Command::SetPublic { public: true }, 6);
    assert!(f.state().vote.is_some(), "the chair still sees it");
    assert!(public_view(&f.snapshot()).floor.vote.is_none(), "the public never does");
    chair(&mut f, Command::OpenVote { vote: vote(VoteKind::Secret) }, 7);
    assert_eq!(reason(cast(&mut f, Actor::Chair, Some("m4"), "yes", 8)), Reason::NotAllowedForRole);
    assert_eq!(reason(cast(&mut f, Actor::Technician, Some("m4"), "yes", 8)), Reason::NotAllowedForRole);
    let printed = format!("{f:?}");
    assert!(!printed.contains("Urn {") && !printed.contains("deposits"), "a printed floor shows no urn");
}
