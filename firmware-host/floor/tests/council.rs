//! The session's rules: meeting phase, agenda items with their own lists, conflict of
//! interest, the non-public part and speaking-time budgets.

mod common;

use common::*;
use podium_floor::*;

fn with_agenda(mode: Mode, carry_over: CarryOver) -> Floor {
    let mut f = floor(mode);
    chair(&mut f, Command::SetAgenda { items: agenda(), carry_over }, 0);
    f
}

fn refused(f: &mut Floor, command: Command, actor: Actor, t: u64) -> Reason {
    let before = f.state().clone();
    let reason = f.handle(&command, &actor, at(t)).expect_err("refused").reason;
    assert_eq!(&before, f.state(), "a refusal changes nothing");
    reason
}

#[test]
fn only_podiumd_sets_the_phase_and_suspension_closes_delegates_and_refuses_requests() {
    let mut f = floor(Mode::Request);
    let open = Command::SetPhase { phase: MeetingPhase::Open };
    assert_eq!(refused(&mut f, open.clone(), Actor::Chair, 0), Reason::NotAllowedForRole);
    f.handle(&open, &Actor::System, at(0)).unwrap();
    chair(&mut f, Command::Grant { station: seat(4) }, 1);
    chair(&mut f, Command::Grant { station: seat(1) }, 1);
    f.handle(&request(5), &member(5), at(2)).unwrap();
    f.handle(&Command::SetPhase { phase: MeetingPhase::Suspended }, &Actor::System, at(3)).unwrap();
    assert_eq!(speaking(&f), vec![seat(1)], "the chair keeps the microphone");
    assert_eq!(queue(&f), vec![seat(5)], "the list is kept");
    assert_eq!(refused(&mut f, request(6), member(6), 4), Reason::MeetingSuspended);
    assert_eq!(
        refused(&mut f, Command::Grant { station: seat(5) }, Actor::Chair, 4),
        Reason::MeetingSuspended
    );
    f.handle(&Command::SetPhase { phase: MeetingPhase::Open }, &Actor::System, at(5)).unwrap();
    chair(&mut f, Command::Grant { station: seat(5) }, 6);
    assert_eq!(speaking(&f), vec![seat(1), seat(5)]);
}

#[test]
fn each_item_keeps_its_own_list_and_gets_it_back() {
    let mut f = with_agenda(Mode::Request, CarryOver::PerItem);
    chair(&mut f, Command::EnterItem { item: 2 }, 1);
    f.handle(&request(4), &member(4), at(2)).unwrap();
    f.handle(&request(5), &member(5), at(3)).unwrap();
    chair(&mut f, Command::NextItem {}, 4);
    assert_eq!(f.state().current_item, Some(3));
    assert!(queue(&f).is_empty(), "the next item starts with an empty list");
    assert_eq!(f.state().item(2).unwrap().status, ItemStatus::Done);
    f.handle(&request(6), &member(6), at(5)).unwrap();
    chair(&mut f, Command::EnterItem { item: 2 }, 6);
    assert_eq!(queue(&f), vec![seat(4), seat(5)], "item 2's requests are back, in their order");
    chair(&mut f, Command::EnterItem { item: 3 }, 7);
    assert_eq!(queue(&f), vec![seat(6)]);
}

#[test]
fn with_carry_over_waiting_requests_move_on() {
    let mut f = with_agenda(Mode::Request, CarryOver::Carry);
    chair(&mut f, Command::EnterItem { item: 2 }, 1);
    f.handle(&request(4), &member(4), at(2)).unwrap();
    chair(&mut f, Command::NextItem {}, 3);
    assert_eq!(queue(&f), vec![seat(4)]);
}

#[test]
fn an_item_with_its_own_speaking_time_applies_it_and_leaving_restores_the_meetings() {
    let mut f = with_agenda(Mode::Request, CarryOver::PerItem);
    let meeting = f.state().profile.speaking_time;
    chair(&mut f, Command::EnterItem { item: 3 }, 1);
    assert_eq!(f.state().profile.speaking_time.turn_limit_s, Some(60));
    chair(&mut f, Command::FinishItem {}, 2);
    assert_eq!(f.state().profile.speaking_time, meeting);
    assert_eq!(f.state().current_item, None);
}

#[test]
fn headers_and_undecided_items_cannot_be_entered_until_decided() {
    let mut f = with_agenda(Mode::Request, CarryOver::PerItem);
    assert_eq!(refused(&mut f, Command::EnterItem { item: 1 }, Actor::Chair, 1), Reason::NotAnItem);
    assert_eq!(refused(&mut f, Command::EnterItem { item: 5 }, Actor::Chair, 1), Reason::PublicityUndecided);
    assert_eq!(refused(&mut f, Command::EnterItem { item: 9 }, Actor::Chair, 1), Reason::NoSuchItem);
    let undecided = Command::SetPublicity { item: 5, publicity: Publicity::Undecided };
    assert_eq!(refused(&mut f, undecided, Actor::Chair, 1), Reason::InvalidAgenda);
    chair(&mut f, Command::SetPublicity { item: 5, publicity: Publicity::NonPublic }, 2);
    chair(&mut f, Command::EnterItem { item: 5 }, 3);
    assert!(!f.state().public);
    let agenda = Command::SetAgenda { items: agenda(), carry_over: CarryOver::PerItem };
    assert_eq!(refused(&mut f, agenda, Actor::Chair, 4), Reason::AgendaLocked);
    assert_eq!(refused(&mut f, Command::NextItem {}, member(4), 4), Reason::NotAllowedForRole);
}

#[test]
fn an_agenda_with_a_repeated_id_or_a_bad_title_is_refused_with_the_field() {
    let mut f = floor(Mode::Request);
    let mut items = agenda();
    items[2].id = 2;
    let rejection = f
        .handle(&Command::SetAgenda { items, carry_over: CarryOver::PerItem }, &Actor::Chair, at(0))
        .unwrap_err();
    assert_eq!(rejection.reason, Reason::InvalidAgenda);
    assert!(rejection.message.contains("items[2].id"), "{}", rejection.message);
    let mut items = agenda();
    items[1].title = "bad\u{7}".into();
    let rejection = f
        .handle(&Command::SetAgenda { items, carry_over: CarryOver::PerItem }, &Actor::Chair, at(0))
        .unwrap_err();
    assert!(rejection.message.contains("items[1].title"), "{}", rejection.message);
}

#[test]
fn an_excluded_member_loses_request_and_microphone_and_cannot_get_them_back() {
    let mut f = with_agenda(Mode::Request, CarryOver::PerItem);
    chair(&mut f, Command::EnterItem { item: 2 }, 1);
    f.handle(&request(4), &member(4), at(2)).unwrap();
    chair(&mut f, Command::Grant { station: seat(6) }, 2);
    let events =
        chair(&mut f, Command::Exclude { item: 2, participant: "m4".into(), reason: "Eigentümer".into() }, 3);
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.change, Change::RequestRemoved { reason: RequestEnd::Excluded, .. }))
    );
    chair(&mut f, Command::Exclude { item: 2, participant: "m6".into(), reason: "Verwandtschaft".into() }, 3);
    assert!(speaking(&f).is_empty());
    assert!(queue(&f).is_empty());
    assert_eq!(f.state().item(2).unwrap().excluded.get("m4").map(String::as_str), Some("Eigentümer"));
    for (command, actor) in [
        (request(4), member(4)),
        (Command::KeyPress { station: seat(4) }, member(4)),
        (Command::Grant { station: seat(4) }, Actor::Chair),
        (request_kind(seat(4), RequestKind::PointOfOrder), Actor::Chair),
    ] {
        assert_eq!(refused(&mut f, command, actor, 4), Reason::ExcludedFromItem);
    }
    // On the next item they take part again; back on item 2 they are excluded again.
    chair(&mut f, Command::NextItem {}, 5);
    f.handle(&request(4), &member(4), at(6)).unwrap();
    chair(&mut f, Command::EnterItem { item: 2 }, 7);
    assert!(queue(&f).is_empty());
    chair(&mut f, Command::Readmit { item: 2, participant: "m4".into() }, 8);
    f.handle(&request(4), &member(4), at(9)).unwrap();
}

#[test]
fn the_non_public_part_moves_out_remote_members_without_the_right_and_ends_with_the_item() {
    let mut f = with_agenda(Mode::Request, CarryOver::PerItem);
    chair(&mut f, Command::JoinRemote { participant: "r1".into() }, 1);
    chair(&mut f, Command::JoinRemote { participant: "r2".into() }, 1);
    f.handle(&request_kind(remote("r2"), RequestKind::Ordinary), &Actor::Station(remote("r2")), at(2))
        .unwrap();
    chair(&mut f, Command::EnterItem { item: 4 }, 3);
    assert!(!f.state().public);
    assert_eq!(
        f.state().presence.get("r2"),
        Some(&Presence::Absent),
        "r2 may not attend the non-public part"
    );
    assert_eq!(f.state().presence.get("r1"), Some(&Presence::Remote));
    let join = Command::JoinRemote { participant: "r2".into() };
    assert_eq!(refused(&mut f, join.clone(), Actor::Station(remote("r2")), 4), Reason::NotAdmittedNonPublic);
    chair(&mut f, Command::EnterItem { item: 2 }, 5);
    assert!(f.state().public);
    f.handle(&join, &Actor::Station(remote("r2")), at(6)).unwrap();
    chair(&mut f, Command::SetPublic { public: false }, 7);
    assert!(!f.state().public, "the chair can exclude the public regardless of the item");
}

#[test]
fn closing_the_meeting_finishes_the_item_and_makes_the_room_public() {
    let mut f = with_agenda(Mode::Request, CarryOver::PerItem);
    f.handle(&Command::SetPhase { phase: MeetingPhase::Open }, &Actor::System, at(0)).unwrap();
    chair(&mut f, Command::EnterItem { item: 4 }, 1);
    f.handle(&Command::SetPhase { phase: MeetingPhase::None }, &Actor::System, at(2)).unwrap();
    assert!(f.state().public);
    assert_eq!(f.state().current_item, None);
    assert_eq!(f.state().item(4).unwrap().status, ItemStatus::Done);
}

fn budget(policy: BudgetPolicy, spd_s: u32) -> Command {
    let seconds = [("SPD".to_string(), spd_s), ("CDU".to_string(), 600)].into_iter().collect();
    Command::SetBudget {
        budget: Some(BudgetSpec {
            scope: BudgetScope::Meeting,
            shares: Shares::PerGroup { seconds },
            policy,
            warning_s: 10,
        }),
    }
}

#[test]
fn a_group_is_warned_then_cut_off_when_its_time_is_up() {
    let mut f = floor(Mode::Request);
    chair(&mut f, budget(BudgetPolicy::CutOff, 60), 0);
    chair(&mut f, Command::Grant { station: seat(4) }, 0); // m4: SPD
    f.handle(&request(6), &member(6), at(1)).unwrap(); // m6: SPD
    assert_eq!(f.next_deadline(), Some(Instant(50_000)), "the warning 10 s before the 60 s are up");
    let warned = f.tick(at(50));
    assert!(warned.iter().any(|e| matches!(&e.change, Change::BudgetWarning { group } if group == "SPD")));
    assert_eq!(f.next_deadline(), Some(Instant(60_000)));
    let cut = f.tick(at(60));
    assert!(
        cut.iter()
            .any(|e| matches!(&e.change, Change::MicrophoneClosed { closed_by: MuteSource::Budget, .. }))
    );
    assert!(speaking(&f).is_empty());
    assert!(queue(&f).is_empty(), "the group's waiting request is removed");
    assert_eq!(f.remaining_ms("SPD", Instant(60_000)), 0);
    assert_eq!(refused(&mut f, request(8), member(8), 61), Reason::BudgetExhausted);
    f.handle(&request(5), &member(5), at(61)).unwrap(); // m5: CDU has time left
    chair(&mut f, Command::Grant { station: seat(1) }, 62); // the chair is outside every budget
}

#[test]
fn warn_only_lets_the_group_overdraw_and_refuse_requests_lets_the_turn_finish() {
    let mut f = floor(Mode::Request);
    chair(&mut f, budget(BudgetPolicy::WarnOnly, 30), 0);
    chair(&mut f, Command::Grant { station: seat(4) }, 0);
    f.tick(at(45));
    assert_eq!(speaking(&f), vec![seat(4)]);
    assert_eq!(f.remaining_ms("SPD", Instant(45_000)), -15_000);
    f.handle(&request(6), &member(6), at(46)).unwrap();

    let mut f = floor(Mode::Request);
    chair(&mut f, budget(BudgetPolicy::RefuseRequests, 30), 0);
    chair(&mut f, Command::Grant { station: seat(4) }, 0);
    f.tick(at(45));
    assert_eq!(speaking(&f), vec![seat(4)], "the running turn continues");
    assert_eq!(refused(&mut f, request(6), member(6), 46), Reason::BudgetExhausted);
    chair(&mut f, Command::Stop { station: seat(4) }, 50);
    assert_eq!(f.state().budget.as_ref().unwrap().used_ms.get("SPD"), Some(&50_000));
}

#[test]
fn equal_shares_divide_the_total_among_the_members_groups_and_per_item_budgets_restart() {
    let mut f = with_agenda(Mode::Request, CarryOver::PerItem);
    let spec = BudgetSpec {
        scope: BudgetScope::Item,
        shares: Shares::Equal { total_s: 400 },
        policy: BudgetPolicy::WarnOnly,
        warning_s: 0,
    };
    chair(&mut f, Command::SetBudget { budget: Some(spec) }, 0);
    let allotted = &f.state().budget.as_ref().unwrap().allotted_ms;
    assert_eq!(allotted.len(), 4, "CDU, SPD, GRÜNE, FDP: {allotted:?}");
    assert!(allotted.values().all(|ms| *ms == 100_000));
    chair(&mut f, Command::EnterItem { item: 2 }, 0);
    chair(&mut f, Command::Grant { station: seat(4) }, 0);
    chair(&mut f, Command::Stop { station: seat(4) }, 30);
    assert_eq!(f.remaining_ms("SPD", Instant(30_000)), 70_000);
    chair(&mut f, Command::NextItem {}, 31);
    assert_eq!(f.remaining_ms("SPD", Instant(31_000)), 100_000, "a per-item budget starts afresh");
}

#[test]
fn the_public_view_hides_exclusions_and_non_public_titles_and_in_the_non_public_part_every_name() {
    let mut f = with_agenda(Mode::Request, CarryOver::PerItem);
    chair(
        &mut f,
        Command::SetBudget {
            budget: Some(BudgetSpec {
                scope: BudgetScope::Meeting,
                shares: Shares::Equal { total_s: 600 },
                policy: BudgetPolicy::WarnOnly,
                warning_s: 0,
            }),
        },
        0,
    );
    chair(&mut f, Command::EnterItem { item: 2 }, 1);
    chair(&mut f, Command::Exclude { item: 2, participant: "m5".into(), reason: "Eigentümer".into() }, 1);
    chair(&mut f, Command::Grant { station: seat(4) }, 2);
    f.handle(&request(6), &member(6), at(3)).unwrap();
    let public = public_view(&f.snapshot());
    let text = serde_json::to_string(&public).unwrap();
    assert!(!text.contains("Eigentümer") && public.floor.item(2).unwrap().excluded.is_empty());
    assert_eq!(public.floor.item(4).unwrap().item.title, "", "a non-public item's title is hidden");
    assert_eq!(public.floor.item(2).unwrap().item.title, "Item Ö 1");
    assert_eq!(public.floor.speakers.len(), 1, "the public part shows the floor");
    assert!(public.floor.budget.is_some());

    chair(&mut f, Command::EnterItem { item: 4 }, 4);
    chair(&mut f, Command::Grant { station: seat(7) }, 5);
    let public = public_view(&f.snapshot());
    let floor = &public.floor;
    assert!(!floor.public);
    assert!(public.participants.is_empty());
    assert!(public.seats.iter().all(|s| s.default_participant.is_none()));
    assert!(floor.requests.is_empty() && floor.speakers.is_empty() && floor.parked.is_empty());
    assert!(floor.presence.is_empty() && floor.seated.is_empty());
    assert!(floor.spoken_ms_by_participant.is_empty() && floor.spoken_ms_by_group.is_empty());
    assert!(floor.budget.is_none());
    assert_eq!(floor.current_item, Some(4), "the current item's number stays");
    let text = serde_json::to_string(&public).unwrap();
    for p in &setup(Profile::default()).participants {
        assert!(
            !text.contains(&p.name) && !text.contains(&format!("\"{}\"", p.id)),
            "{} leaks: {text}",
            p.name
        );
    }
    // The full snapshot is untouched.
    assert!(!f.snapshot().floor.speakers.is_empty());
}

#[test]
fn only_plain_floor_events_go_out_as_they_are() {
    let mut f = with_agenda(Mode::Request, CarryOver::PerItem);
    let entered = chair(&mut f, Command::EnterItem { item: 2 }, 1);
    assert!(
        entered.iter().all(|e| !shown_as_is(e)),
        "item events carry the agenda: a fresh public view instead"
    );
    let asked = f.handle(&request(4), &member(4), at(2)).unwrap();
    assert!(asked.iter().all(shown_as_is));
    let excluded =
        chair(&mut f, Command::Exclude { item: 2, participant: "m4".into(), reason: "x".into() }, 3);
    assert!(!shown_as_is(&excluded[0]));
}

#[test]
fn a_budget_deadline_stays_exact_after_a_speaker_was_paused_and_resumed() {
    let mut f = floor(Mode::Request);
    let seconds = [("SPD".to_string(), 300)].into_iter().collect();
    let spec = BudgetSpec {
        scope: BudgetScope::Meeting,
        shares: Shares::PerGroup { seconds },
        policy: BudgetPolicy::CutOff,
        warning_s: 30,
    };
    chair(&mut f, Command::SetBudget { budget: Some(spec) }, 0);
    chair(&mut f, Command::Grant { station: seat(4) }, 0);
    chair(&mut f, Command::PauseSpeaker { station: seat(4) }, 10);
    chair(&mut f, Command::ResumeSpeaker { station: seat(4) }, 30);
    // 300 s less 30 s warning, plus the 20 s paused.
    assert_eq!(f.next_deadline(), Some(Instant(290_000)));
    assert!(f.tick(at(270)).is_empty(), "nothing is due at the naive time");
    let warned = f.tick(at(290));
    assert!(warned.iter().any(|e| matches!(e.change, Change::BudgetWarning { .. })));
    assert_eq!(f.next_deadline(), Some(Instant(320_000)));
    let cut = f.tick(at(320));
    assert!(
        cut.iter()
            .any(|e| matches!(e.change, Change::MicrophoneClosed { closed_by: MuteSource::Budget, .. }))
    );
}

#[test]
fn an_excluded_chair_does_not_get_the_floor_on_that_item_either() {
    let mut f = with_agenda(Mode::Request, CarryOver::PerItem);
    chair(&mut f, Command::EnterItem { item: 2 }, 1);
    chair(&mut f, Command::Exclude { item: 2, participant: "chair".into(), reason: "befangen".into() }, 1);
    assert_eq!(refused(&mut f, request(1), member(1), 2), Reason::ExcludedFromItem);
    assert_eq!(
        refused(&mut f, Command::Grant { station: seat(1) }, Actor::Technician, 2),
        Reason::ExcludedFromItem
    );
    chair(&mut f, Command::NextItem {}, 3);
    f.handle(&request(1), &member(1), at(4)).unwrap();
    assert_eq!(speaking(&f), vec![seat(1)], "on the next item the chair speaks again");
}

#[test]
fn closing_the_meeting_ends_its_waiting_and_kept_requests() {
    let mut f = with_agenda(Mode::Request, CarryOver::PerItem);
    f.handle(&Command::SetPhase { phase: MeetingPhase::Open }, &Actor::System, at(0)).unwrap();
    chair(&mut f, Command::EnterItem { item: 2 }, 1);
    f.handle(&request(4), &member(4), at(2)).unwrap();
    chair(&mut f, Command::NextItem {}, 3);
    f.handle(&request(5), &member(5), at(4)).unwrap();
    f.handle(&Command::SetPhase { phase: MeetingPhase::None }, &Actor::System, at(5)).unwrap();
    assert!(queue(&f).is_empty());
    assert!(f.state().parked.is_empty(), "nothing carries into the next meeting");
    chair(&mut f, Command::SetAgenda { items: agenda(), carry_over: CarryOver::PerItem }, 6);
    assert!(queue(&f).is_empty());
}

#[test]
fn open_mode_never_hands_the_floor_to_an_excluded_member_or_an_exhausted_group() {
    let mut f = with_agenda(Mode::Open, CarryOver::Carry);
    let limits = Limits { max_open_microphones: 1, ..f.state().profile.limits };
    chair(&mut f, Command::SetLimits { limits }, 0);
    chair(&mut f, Command::EnterItem { item: 2 }, 0);
    f.handle(&request(3), &member(3), at(1)).unwrap(); // speaks
    f.handle(&request(5), &member(5), at(2)).unwrap(); // waits
    f.handle(&request(7), &member(7), at(3)).unwrap(); // waits
    // Carried over to item 3, where m5 is excluded beforehand.
    chair(&mut f, Command::Exclude { item: 3, participant: "m5".into(), reason: "x".into() }, 4);
    chair(&mut f, Command::EnterItem { item: 3 }, 5);
    assert_eq!(queue(&f), vec![seat(7)], "the excluded member's carried request left the list");
    chair(&mut f, Command::Stop { station: seat(3) }, 6);
    assert_eq!(speaking(&f), vec![seat(7)]);
}

#[test]
fn the_chair_presents_a_source_of_the_setup_and_stops_it_and_the_floor_goes_on() {
    let mut setup = setup(profile(Mode::Request));
    setup.presentation_sources = vec![
        PresentationSource { name: "lectern".into(), label: "Laptop am Rednerpult".into() },
        PresentationSource { name: "doccam".into(), label: "Dokumentenkamera".into() },
    ];
    let mut f = Floor::new(setup.clone());
    assert_eq!(f.snapshot().presentation_sources.len(), 2);
    let present = |source: &str, on| Command::Present { source: source.into(), on };
    assert_eq!(refused(&mut f, present("beamer", Screens::Hall), Actor::Chair, 0), Reason::UnknownSource);
    assert_eq!(refused(&mut f, present("lectern", Screens::Hall), member(4), 0), Reason::NotAllowedForRole);
    assert_eq!(refused(&mut f, Command::StopPresenting {}, Actor::Chair, 0), Reason::NotPresenting);

    let events = chair(&mut f, present("lectern", Screens::Hall), 1);
    assert_eq!(events.len(), 1);
    assert_eq!(
        f.state().presentation,
        Some(Presentation { source: "lectern".into(), on: Screens::Hall, since: at(1) })
    );
    assert!(chair(&mut f, present("lectern", Screens::Hall), 2).is_empty(), "the same again changes nothing");
    // The floor is untouched by presenting.
    f.handle(&request(4), &member(4), at(3)).unwrap();
    chair(&mut f, Command::Next {}, 4);
    assert_eq!(speaking(&f), vec![seat(4)]);
    // Another source replaces it; the technician may present too.
    f.handle(&present("doccam", Screens::Both), &Actor::Technician, at(5)).unwrap();
    assert_eq!(
        f.state().presentation.as_ref().map(|p| (p.source.as_str(), p.on)),
        Some(("doccam", Screens::Both))
    );
    chair(&mut f, Command::StopPresenting {}, 6);
    assert_eq!(f.state().presentation, None);
    assert_eq!(speaking(&f), vec![seat(4)]);
    // Closing the meeting ends its presentation.
    f.handle(&Command::SetPhase { phase: MeetingPhase::Open }, &Actor::System, at(6)).unwrap();
    chair(&mut f, present("lectern", Screens::Both), 7);
    // In the non-public part the public does not learn what is shown.
    chair(&mut f, Command::SetPublic { public: false }, 7);
    assert!(f.snapshot().floor.presentation.is_some());
    assert_eq!(public_view(&f.snapshot()).floor.presentation, None);
    f.handle(&Command::SetPhase { phase: MeetingPhase::None }, &Actor::System, at(8)).unwrap();
    assert_eq!(f.state().presentation, None);
    // Its events rebuild the same state (the journal's restart).
    let mut replayed = Floor::new(setup);
    chair(&mut replayed, present("lectern", Screens::Stream), 9);
    let mut again = Floor::new(replayed.setup().clone());
    let started = Change::PresentationStarted { source: "lectern".into(), on: Screens::Stream };
    again.replay(&Event { seq: replayed.state().seq, at: at(9), change: started });
    assert_eq!(again.state(), replayed.state());
}
