//! One test (or a few) per rule of the engine.

mod common;

use common::*;
use podium_floor::*;

#[test]
fn request_joins_the_list_stamped_with_arrival() {
    let mut f = floor(Mode::Request);
    f.handle(&request(5), &member(5), at(1)).unwrap();
    f.handle(&request(3), &member(3), at(2)).unwrap();
    assert_eq!(queue(&f), vec![seat(5), seat(3)]);
    let first = &f.state().requests[0];
    assert_eq!(first.requested_at, at(1));
    assert_eq!(first.participant.as_deref(), Some("m5"));
    assert!(f.state().requests[1].id > first.id);
}

#[test]
fn repeated_request_is_idempotent() {
    let mut f = floor(Mode::Request);
    let first = f.handle(&request(5), &member(5), at(1)).unwrap();
    assert_eq!(first.len(), 1);
    for _ in 0..3 {
        assert!(f.handle(&request(5), &member(5), at(1)).unwrap().is_empty());
    }
    assert_eq!(queue(&f), vec![seat(5)]);
    assert_eq!(f.state().seq, 1);
}

#[test]
fn precedence_point_of_order_then_reply_then_ordinary() {
    let mut f = floor(Mode::Request);
    f.handle(&Command::Grant { station: seat(2) }, &Actor::Chair, at(0)).unwrap();
    f.handle(&request(4), &member(4), at(1)).unwrap();
    f.handle(&request_kind(seat(5), RequestKind::Reply), &member(5), at(2)).unwrap();
    f.handle(&request_kind(seat(6), RequestKind::PointOfOrder), &member(6), at(3)).unwrap();
    f.handle(&request_kind(seat(7), RequestKind::Reply), &member(7), at(4)).unwrap();
    f.handle(&request_kind(seat(8), RequestKind::PointOfOrder), &member(8), at(5)).unwrap();
    assert_eq!(queue(&f), vec![seat(6), seat(8), seat(5), seat(7), seat(4)]);
    assert_eq!(f.state().requests[2].reply_to, Some(seat(2)));
}

#[test]
fn precedence_is_the_same_for_remote_members() {
    let mut f = floor(Mode::Request);
    f.handle(&Command::JoinRemote { participant: "r1".into() }, &Actor::System, at(0)).unwrap();
    f.handle(&request(4), &member(4), at(1)).unwrap();
    f.handle(&request_kind(remote("r1"), RequestKind::PointOfOrder), &Actor::Station(remote("r1")), at(2))
        .unwrap();
    assert_eq!(queue(&f), vec![remote("r1"), seat(4)]);
}

#[test]
fn reply_needs_a_current_speaker() {
    let mut f = floor(Mode::Request);
    assert_eq!(
        reason(f.handle(&request_kind(seat(5), RequestKind::Reply), &member(5), at(1))),
        Reason::NoCurrentSpeaker
    );
}

#[test]
fn stance_is_kept_on_ordinary_requests() {
    let mut f = floor(Mode::Request);
    let cmd = Command::Request {
        station: seat(4),
        kind: RequestKind::Ordinary,
        stance: Some(Stance::Contra),
        raised_at: None,
    };
    f.handle(&cmd, &member(4), at(1)).unwrap();
    assert_eq!(f.state().requests[0].stance, Some(Stance::Contra));
}

#[test]
fn next_grants_the_head_and_closes_the_previous_speaker_at_the_limit() {
    let mut f = floor(Mode::Request);
    f.handle(&request(4), &member(4), at(1)).unwrap();
    f.handle(&request(5), &member(5), at(2)).unwrap();
    f.handle(&Command::Next {}, &Actor::Chair, at(3)).unwrap();
    assert_eq!(speaking(&f), vec![seat(4)]);
    let events = f.handle(&Command::Next {}, &Actor::Chair, at(10)).unwrap();
    assert_eq!(speaking(&f), vec![seat(5)]);
    assert!(events.iter().any(|e| matches!(
        &e.change,
        Change::MicrophoneClosed { station, closed_by: MuteSource::Chair, spoken_ms: 7000, .. } if *station == seat(4)
    )));
    assert_eq!(reason(f.handle(&Command::Next {}, &Actor::Chair, at(11))), Reason::EmptyList);
}

#[test]
fn members_cannot_use_chair_commands() {
    let mut f = floor(Mode::Request);
    f.handle(&request(4), &member(4), at(1)).unwrap();
    assert_eq!(reason(f.handle(&Command::Next {}, &member(4), at(2))), Reason::NotAllowedForRole);
    assert_eq!(reason(f.handle(&request(5), &member(4), at(2))), Reason::NotAllowedForRole);
    assert_eq!(
        reason(f.handle(&Command::Stop { station: seat(4) }, &member(5), at(2))),
        Reason::NotAllowedForRole
    );
}

#[test]
fn open_mode_opens_below_the_limit_then_queues_and_serves_the_list() {
    let mut p = profile(Mode::Open);
    p.limits.max_open_microphones = 2;
    let mut f = Floor::new(setup(p));
    f.handle(&request(2), &member(2), at(1)).unwrap();
    f.handle(&request(3), &member(3), at(2)).unwrap();
    f.handle(&request(4), &member(4), at(3)).unwrap();
    assert_eq!(speaking(&f), vec![seat(2), seat(3)]);
    assert_eq!(queue(&f), vec![seat(4)]);
    f.handle(&Command::Stop { station: seat(2) }, &member(2), at(4)).unwrap();
    assert_eq!(speaking(&f), vec![seat(3), seat(4)]);
    assert!(queue(&f).is_empty());
}

#[test]
fn override_mode_closes_the_longest_speaker() {
    let mut p = profile(Mode::Override);
    p.limits.max_open_microphones = 2;
    let mut f = Floor::new(setup(p));
    for (t, n) in [(1, 2), (2, 3), (3, 4)] {
        f.handle(&request(n), &member(n), at(t)).unwrap();
    }
    assert_eq!(speaking(&f), vec![seat(3), seat(4)]);
    assert!(queue(&f).is_empty());
}

#[test]
fn operator_mode_rejects_member_requests_but_not_the_chair() {
    let mut f = floor(Mode::Operator);
    assert_eq!(reason(f.handle(&request(4), &member(4), at(1))), Reason::NotAllowedInMode);
    f.handle(&request(4), &Actor::Technician, at(1)).unwrap();
    assert_eq!(queue(&f), vec![seat(4)]);
    f.handle(&Command::Grant { station: seat(5) }, &Actor::Chair, at(2)).unwrap();
    assert_eq!(speaking(&f), vec![seat(5)]);
}

#[test]
fn voice_mode_follows_voice_activity_within_the_limit() {
    let mut f = floor(Mode::Voice);
    let voice = |n, active| Command::VoiceActivity { station: seat(n), active };
    f.handle(&voice(4, true), &Actor::System, at(1)).unwrap();
    assert_eq!(reason(f.handle(&voice(5, true), &Actor::System, at(2))), Reason::MicrophoneLimitReached);
    assert_eq!(reason(f.handle(&voice(5, true), &member(5), at(2))), Reason::NotAllowedForRole);
    f.handle(&voice(4, false), &Actor::System, at(3)).unwrap();
    assert!(speaking(&f).is_empty());
    let mut r = floor(Mode::Request);
    assert_eq!(reason(r.handle(&voice(4, true), &Actor::System, at(1))), Reason::NotAllowedInMode);
}

#[test]
fn push_to_talk_opens_while_held() {
    let mut f = floor(Mode::PushToTalk);
    f.handle(&Command::KeyPress { station: seat(4) }, &member(4), at(1)).unwrap();
    assert_eq!(speaking(&f), vec![seat(4)]);
    assert_eq!(
        reason(f.handle(&Command::KeyPress { station: seat(5) }, &member(5), at(2))),
        Reason::MicrophoneLimitReached
    );
    f.handle(&Command::KeyRelease { station: seat(4) }, &member(4), at(3)).unwrap();
    assert!(speaking(&f).is_empty());
    assert_eq!(reason(f.handle(&request(4), &member(4), at(4))), Reason::NotAllowedInMode);
}

#[test]
fn toggle_key_requests_then_withdraws_and_push_activation_holds() {
    let mut f = floor(Mode::Request);
    let press = Command::KeyPress { station: seat(4) };
    f.handle(&press, &member(4), at(1)).unwrap();
    assert_eq!(queue(&f), vec![seat(4)]);
    f.handle(&Command::KeyRelease { station: seat(4) }, &member(4), at(1)).unwrap();
    assert_eq!(queue(&f), vec![seat(4)], "release does nothing with toggle activation");
    f.handle(&press, &member(4), at(2)).unwrap();
    assert!(queue(&f).is_empty());

    let mut p = profile(Mode::Open);
    p.activation = Activation::Push;
    let mut g = Floor::new(setup(p));
    g.handle(&press, &member(4), at(1)).unwrap();
    g.handle(&Command::KeyPress { station: seat(5) }, &member(5), at(1)).unwrap();
    assert_eq!((speaking(&g), queue(&g)), (vec![seat(4)], vec![seat(5)]));
    g.handle(&Command::KeyRelease { station: seat(5) }, &member(5), at(2)).unwrap();
    assert!(queue(&g).is_empty(), "releasing withdraws the waiting request");
    g.handle(&Command::KeyRelease { station: seat(4) }, &member(4), at(3)).unwrap();
    assert!(speaking(&g).is_empty());
}

#[test]
fn chair_and_podium_are_outside_the_limit() {
    let mut p = profile(Mode::Request);
    p.podium_seat = Some(10);
    let mut f = Floor::new(setup(p));
    f.handle(&Command::Grant { station: seat(4) }, &Actor::Chair, at(1)).unwrap();
    f.handle(&request(1), &Actor::Station(seat(1)), at(2)).unwrap();
    f.handle(&Command::Grant { station: seat(10) }, &Actor::Chair, at(3)).unwrap();
    assert_eq!(speaking(&f), vec![seat(4), seat(1), seat(10)]);
    assert_eq!(f.state().open_delegate_microphones(), 1);
    f.handle(&Command::Priority { clear_requests: false }, &Actor::Chair, at(4)).unwrap();
    assert_eq!(speaking(&f), vec![seat(1), seat(10)]);
}

#[test]
fn priority_closes_delegates_with_provenance_and_optionally_clears() {
    let mut p = profile(Mode::Open);
    p.limits.max_open_microphones = 2;
    let mut f = Floor::new(setup(p));
    for n in 2..=5 {
        f.handle(&request(n), &member(n), at(1)).unwrap();
    }
    let events = f.handle(&Command::Priority { clear_requests: false }, &Actor::Chair, at(2)).unwrap();
    assert!(speaking(&f).is_empty(), "priority does not hand the floor to the list");
    assert_eq!(queue(&f).len(), 2);
    let sources: Vec<_> = events
        .iter()
        .filter_map(|e| match e.change {
            Change::MicrophoneClosed { closed_by, .. } => Some(closed_by),
            _ => None,
        })
        .collect();
    assert_eq!(sources, vec![MuteSource::Priority, MuteSource::Priority]);
    f.handle(&Command::Priority { clear_requests: true }, &Actor::Chair, at(3)).unwrap();
    assert!(queue(&f).is_empty());
}

#[test]
fn list_closed_rejects_members_but_not_points_of_order_or_the_chair() {
    let mut f = floor(Mode::Request);
    f.handle(&Command::SetListOpen { open: false }, &Actor::Chair, at(1)).unwrap();
    assert_eq!(reason(f.handle(&request(4), &member(4), at(2))), Reason::ListClosed);
    f.handle(&request_kind(seat(5), RequestKind::PointOfOrder), &member(5), at(2)).unwrap();
    f.handle(&request(6), &Actor::Chair, at(2)).unwrap();
    f.handle(&Command::SetListOpen { open: true }, &Actor::Chair, at(3)).unwrap();
    f.handle(&request(4), &member(4), at(4)).unwrap();
    assert_eq!(queue(&f), vec![seat(5), seat(6), seat(4)]);
}

#[test]
fn list_full_is_rejected() {
    let mut p = profile(Mode::Request);
    p.limits.max_requests = 2;
    let mut f = Floor::new(setup(p));
    f.handle(&request(2), &member(2), at(1)).unwrap();
    f.handle(&request(3), &member(3), at(1)).unwrap();
    assert_eq!(reason(f.handle(&request(4), &member(4), at(1))), Reason::ListFull);
}

#[test]
fn cancel_and_switch_off_permissions() {
    let mut p = profile(Mode::Request);
    p.limits.members_may_cancel = false;
    p.limits.members_may_switch_off = false;
    let mut f = Floor::new(setup(p));
    f.handle(&request(4), &member(4), at(1)).unwrap();
    assert_eq!(
        reason(f.handle(&Command::Withdraw { station: seat(4) }, &member(4), at(2))),
        Reason::CancelNotAllowed
    );
    f.handle(&Command::Next {}, &Actor::Chair, at(3)).unwrap();
    assert_eq!(
        reason(f.handle(&Command::Stop { station: seat(4) }, &member(4), at(4))),
        Reason::SwitchOffNotAllowed
    );
    f.handle(&Command::Stop { station: seat(4) }, &Actor::Chair, at(4)).unwrap();
    f.handle(&request(5), &member(5), at(5)).unwrap();
    let events = f.handle(&Command::Withdraw { station: seat(5) }, &Actor::Chair, at(6)).unwrap();
    assert!(matches!(events[0].change, Change::RequestRemoved { reason: RequestEnd::RemovedByChair, .. }));
}

#[test]
fn move_request_stays_within_its_type() {
    let mut f = floor(Mode::Request);
    f.handle(&request_kind(seat(2), RequestKind::PointOfOrder), &member(2), at(1)).unwrap();
    for n in 3..=5 {
        f.handle(&request(n), &member(n), at(2)).unwrap();
    }
    f.handle(&Command::MoveRequest { station: seat(5), position: 2 }, &Actor::Chair, at(3)).unwrap();
    assert_eq!(queue(&f), vec![seat(2), seat(5), seat(3), seat(4)]);
    assert_eq!(
        reason(f.handle(&Command::MoveRequest { station: seat(4), position: 1 }, &Actor::Chair, at(3))),
        Reason::InvalidPosition
    );
    assert_eq!(
        reason(f.handle(&Command::MoveRequest { station: seat(4), position: 9 }, &Actor::Chair, at(3))),
        Reason::InvalidPosition
    );
}

#[test]
fn unknown_seats_and_participants_are_rejected() {
    let mut f = floor(Mode::Request);
    assert_eq!(reason(f.handle(&request(99), &Actor::Chair, at(1))), Reason::UnknownSeat);
    assert_eq!(
        reason(f.handle(&Command::JoinRemote { participant: "nobody".into() }, &Actor::System, at(1))),
        Reason::UnknownParticipant
    );
    assert_eq!(
        reason(f.handle(&request_kind(remote("r1"), RequestKind::Ordinary), &Actor::Chair, at(1))),
        Reason::NotPresent
    );
    assert_eq!(
        reason(f.handle(&Command::JoinRemote { participant: "m4".into() }, &Actor::System, at(1))),
        Reason::RemoteNotAllowed
    );
}

#[test]
fn joining_remotely_releases_the_seat() {
    let mut f = floor(Mode::Request);
    f.handle(&request(3), &member(3), at(1)).unwrap();
    f.handle(&Command::JoinRemote { participant: "m3".into() }, &Actor::System, at(2)).unwrap();
    assert!(queue(&f).is_empty(), "the seat's request ends with the presence");
    assert_eq!(f.state().presence["m3"], Presence::Remote);
    assert!(!f.state().seated.contains_key(&3));
    f.handle(&request_kind(remote("m3"), RequestKind::Ordinary), &Actor::Station(remote("m3")), at(3))
        .unwrap();
    f.handle(&Command::TakeSeat { participant: "m3".into(), seat: 10 }, &Actor::Technician, at(4)).unwrap();
    assert!(queue(&f).is_empty());
    assert_eq!(f.state().presence["m3"], Presence::Seat(10));
    assert_eq!(
        reason(f.handle(
            &Command::TakeSeat { participant: "m2".into(), seat: 10 },
            &Actor::Technician,
            at(5)
        )),
        Reason::SeatOccupied
    );
}

#[test]
fn speaking_time_warns_expires_and_runs_negative() {
    let mut p = profile(Mode::Request);
    p.speaking_time = SpeakingTime { turn_limit_s: Some(180), warning_s: 30, on_expiry: OnExpiry::Continue };
    let mut f = Floor::new(setup(p));
    f.handle(&Command::Grant { station: seat(4) }, &Actor::Chair, at(0)).unwrap();
    assert_eq!(f.next_deadline(), Some(Instant(150_000)));
    assert!(f.tick(at(149)).is_empty());
    let warn = f.tick(at(150));
    assert!(matches!(warn[0].change, Change::TimeWarning { .. }));
    assert_eq!(f.next_deadline(), Some(Instant(180_000)));
    let expire = f.tick(at(180));
    assert!(matches!(expire[0].change, Change::TimeExpired { .. }));
    assert_eq!(speaking(&f), vec![seat(4)], "continue: the microphone stays open");
    assert_eq!(f.next_deadline(), None);
    assert!(f.tick(at(500)).is_empty());
}

#[test]
fn speaking_time_cut_off_closes_with_timer_provenance() {
    let mut p = profile(Mode::Request);
    p.speaking_time = SpeakingTime { turn_limit_s: Some(60), warning_s: 10, on_expiry: OnExpiry::CutOff };
    let mut f = Floor::new(setup(p));
    f.handle(&Command::Grant { station: seat(4) }, &Actor::Chair, at(0)).unwrap();
    let events = f.tick(at(70));
    let kinds: Vec<_> = events.iter().map(|e| e.change.clone()).collect();
    assert!(matches!(kinds[0], Change::TimeExpired { .. }), "a late tick skips straight to expiry");
    assert!(matches!(
        kinds[1],
        Change::MicrophoneClosed { closed_by: MuteSource::Timer, spoken_ms: 70_000, .. }
    ));
    assert!(speaking(&f).is_empty());
}

#[test]
fn pause_stops_the_clock_and_moves_the_deadline() {
    let mut p = profile(Mode::Request);
    p.speaking_time = SpeakingTime { turn_limit_s: Some(60), warning_s: 0, on_expiry: OnExpiry::CutOff };
    let mut f = Floor::new(setup(p));
    f.handle(&Command::Grant { station: seat(4) }, &Actor::Chair, at(0)).unwrap();
    f.handle(&Command::PauseSpeaker { station: seat(4) }, &Actor::Chair, at(20)).unwrap();
    assert_eq!(f.next_deadline(), None);
    assert_eq!(
        reason(f.handle(&Command::PauseSpeaker { station: seat(4) }, &Actor::Chair, at(21))),
        Reason::AlreadyPaused
    );
    f.handle(&Command::ResumeSpeaker { station: seat(4) }, &Actor::Chair, at(50)).unwrap();
    assert_eq!(f.next_deadline(), Some(Instant(90_000)));
    assert_eq!(f.state().speakers[0].spoken_ms(Instant(60_000)), 30_000);
}

#[test]
fn accumulated_time_per_member_and_group() {
    let mut f = floor(Mode::Request);
    f.handle(&Command::Grant { station: seat(2) }, &Actor::Chair, at(0)).unwrap();
    f.handle(&Command::Grant { station: seat(4) }, &Actor::Chair, at(10)).unwrap();
    f.handle(&Command::Grant { station: seat(3) }, &Actor::Chair, at(15)).unwrap();
    f.handle(&Command::Grant { station: seat(2) }, &Actor::Chair, at(20)).unwrap();
    f.handle(&Command::StopAll {}, &Actor::Chair, at(21)).unwrap();
    let s = f.state();
    assert_eq!(s.spoken_ms_by_participant["m2"], 11_000);
    assert_eq!(s.spoken_ms_by_participant["m4"], 5_000);
    assert_eq!(s.spoken_ms_by_group["SPD"], 16_000);
    assert_eq!(s.spoken_ms_by_group["CDU"], 5_000);
}

#[test]
fn lowering_the_limit_closes_the_longest_speakers() {
    let mut p = profile(Mode::Request);
    p.limits.max_open_microphones = 3;
    let mut f = Floor::new(setup(p.clone()));
    for (t, n) in [(1, 2), (2, 3), (3, 4)] {
        f.handle(&Command::Grant { station: seat(n) }, &Actor::Chair, at(t)).unwrap();
    }
    let mut limits = p.limits;
    limits.max_open_microphones = 1;
    f.handle(&Command::SetLimits { limits }, &Actor::Chair, at(5)).unwrap();
    assert_eq!(speaking(&f), vec![seat(4)]);
    limits.max_open_microphones = 0;
    assert_eq!(reason(f.handle(&Command::SetLimits { limits }, &Actor::Chair, at(6))), Reason::InvalidLimits);
}

#[test]
fn every_accepted_command_numbers_its_events_without_gaps() {
    let mut f = floor(Mode::Request);
    let mut all = Vec::new();
    all.extend(f.handle(&request(2), &member(2), at(1)).unwrap());
    let _ = f.handle(&request(99), &member(2), at(1));
    all.extend(f.handle(&Command::Next {}, &Actor::Chair, at(2)).unwrap());
    all.extend(f.handle(&Command::Next {}, &Actor::Chair, at(3)).unwrap_or_default());
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(f.state().seq, seqs.len() as u64);
}

#[test]
fn snapshot_serialises_and_round_trips() {
    let mut f = floor(Mode::Request);
    f.handle(&request(2), &member(2), at(1)).unwrap();
    let json = serde_json::to_string(&f.snapshot()).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, f.snapshot());
    assert!(json.contains("\"seat\":2"));
}

#[test]
fn commands_parse_from_json_and_reject_unknown_fields() {
    let cmd: Command =
        serde_json::from_str(r#"{"command":"request","station":{"seat":12},"kind":"point_of_order"}"#)
            .unwrap();
    assert_eq!(cmd, request_kind(seat(12), RequestKind::PointOfOrder));
    let cmd: Command = serde_json::from_str(r#"{"command":"request","station":{"remote":"r1"}}"#).unwrap();
    assert_eq!(cmd, request_kind(remote("r1"), RequestKind::Ordinary));
    assert!(serde_json::from_str::<Command>(r#"{"command":"next","extra":1}"#).is_err());
    assert!(serde_json::from_str::<Command>(r#"{"command":"nxet"}"#).is_err());
}

#[test]
fn a_published_snapshot_never_changes_with_the_floor() {
    let mut f = floor(Mode::Request);
    f.handle(&request(5), &member(5), at(1)).unwrap();
    let published = f.snapshot();
    assert!(f.is_shared(), "a snapshot shares the state instead of copying it");
    f.prepare();
    assert!(!f.is_shared(), "prepare copies the state the snapshot shares");
    f.handle(&request(3), &member(3), at(2)).unwrap();
    // Without prepare, the next change copies by itself.
    let second = f.snapshot();
    f.handle(&request(4), &member(4), at(3)).unwrap();
    assert_eq!(published.floor.seq, 1);
    assert_eq!(published.floor.requests.len(), 1);
    assert_eq!(second.floor.seq, 2);
    assert_eq!(second.floor.requests.len(), 2);
    assert_eq!(f.state().requests.len(), 3);
    assert_eq!(f.snapshot().floor.as_ref(), f.state());
}

#[test]
fn cancel_stops_a_speaker_withdraws_a_request_and_otherwise_changes_nothing() {
    let mut f = floor(Mode::Request);
    f.handle(&request(4), &member(4), at(1)).unwrap();
    f.handle(&request(5), &member(5), at(1)).unwrap();
    f.handle(&Command::Next {}, &Actor::Chair, at(2)).unwrap();
    let cancel = |n| Command::Cancel { station: seat(n) };

    let events = f.handle(&cancel(4), &member(4), at(3)).unwrap();
    assert!(matches!(
        events.as_slice(),
        [Event { change: Change::MicrophoneClosed { closed_by: MuteSource::Member, .. }, .. }]
    ));
    assert_eq!(speaking(&f), vec![]);
    assert_eq!(queue(&f), vec![seat(5)], "a stop does not touch the list");

    let events = f.handle(&cancel(5), &member(5), at(4)).unwrap();
    assert!(matches!(
        events.as_slice(),
        [Event { change: Change::RequestRemoved { reason: RequestEnd::Withdrawn, .. }, .. }]
    ));
    assert_eq!(queue(&f), vec![]);

    let seq = f.state().seq;
    assert_eq!(f.handle(&cancel(6), &member(6), at(5)).unwrap(), vec![], "neither speaking nor waiting");
    assert_eq!(f.state().seq, seq);
    assert_eq!(reason(f.handle(&cancel(99), &Actor::Chair, at(5))), Reason::UnknownSeat);
}

#[test]
fn cancel_in_open_mode_hands_the_freed_microphone_to_the_head_of_the_list() {
    let mut f = floor(Mode::Open);
    f.handle(&request(4), &member(4), at(1)).unwrap();
    f.handle(&request(5), &member(5), at(2)).unwrap();
    assert_eq!((speaking(&f), queue(&f)), (vec![seat(4)], vec![seat(5)]));
    f.handle(&Command::Cancel { station: seat(4) }, &member(4), at(3)).unwrap();
    assert_eq!((speaking(&f), queue(&f)), (vec![seat(5)], vec![]));
}

#[test]
fn cancel_respects_the_members_rights_and_the_chair_may_always() {
    let mut p = profile(Mode::Request);
    p.limits.members_may_cancel = false;
    p.limits.members_may_switch_off = false;
    let mut f = Floor::new(setup(p));
    let cancel = |n| Command::Cancel { station: seat(n) };
    f.handle(&request(4), &member(4), at(1)).unwrap();
    assert_eq!(reason(f.handle(&cancel(4), &member(4), at(2))), Reason::CancelNotAllowed);
    f.handle(&Command::Next {}, &Actor::Chair, at(3)).unwrap();
    assert_eq!(reason(f.handle(&cancel(4), &member(4), at(4))), Reason::SwitchOffNotAllowed);
    assert_eq!(speaking(&f), vec![seat(4)], "a rejected cancel changes nothing");
    let events = f.handle(&cancel(4), &Actor::Chair, at(5)).unwrap();
    assert!(matches!(events[0].change, Change::MicrophoneClosed { closed_by: MuteSource::Chair, .. }));
    f.handle(&request(5), &member(5), at(6)).unwrap();
    let events = f.handle(&cancel(5), &Actor::Technician, at(7)).unwrap();
    assert!(matches!(events[0].change, Change::RequestRemoved { reason: RequestEnd::RemovedByChair, .. }));
}

#[test]
fn cancel_is_only_for_the_own_station_or_the_chair() {
    let mut f = floor(Mode::Request);
    f.handle(&request(4), &member(4), at(1)).unwrap();
    let cancel = Command::Cancel { station: seat(4) };
    assert_eq!(reason(f.handle(&cancel, &member(5), at(2))), Reason::NotAllowedForRole);
    assert_eq!(reason(f.handle(&cancel, &Actor::System, at(2))), Reason::NotAllowedForRole);
    assert_eq!(queue(&f), vec![seat(4)]);
}

#[test]
fn stop_current_closes_the_newest_delegate_and_leaves_the_chair_open() {
    let mut p = profile(Mode::Request);
    p.limits.max_open_microphones = 3;
    let mut f = Floor::new(setup(p));
    f.handle(&Command::Grant { station: seat(4) }, &Actor::Chair, at(1)).unwrap();
    f.handle(&Command::Grant { station: seat(6) }, &Actor::Chair, at(2)).unwrap();
    // The chair's own microphone opens last; it is exempt, so seat 6 is the current speaker.
    f.handle(&request(1), &member(1), at(3)).unwrap();
    assert_eq!(speaking(&f), vec![seat(4), seat(6), seat(1)]);

    let events = f.handle(&Command::StopCurrent {}, &Actor::Chair, at(4)).unwrap();
    assert!(matches!(
        events.as_slice(),
        [Event {
            change: Change::MicrophoneClosed { station: Station::Seat(6), closed_by: MuteSource::Chair, .. },
            ..
        }]
    ));
    f.handle(&Command::StopCurrent {}, &Actor::Technician, at(5)).unwrap();
    assert_eq!(speaking(&f), vec![seat(1)]);
    assert_eq!(
        f.handle(&Command::StopCurrent {}, &Actor::Chair, at(6)).unwrap(),
        vec![],
        "no delegate speaks"
    );
    assert_eq!(speaking(&f), vec![seat(1)]);
}

#[test]
fn stop_current_is_for_the_chair_only() {
    let mut f = floor(Mode::Request);
    f.handle(&Command::Grant { station: seat(4) }, &Actor::Chair, at(1)).unwrap();
    for actor in [member(4), member(5), Actor::System] {
        assert_eq!(reason(f.handle(&Command::StopCurrent {}, &actor, at(2))), Reason::NotAllowedForRole);
    }
    assert_eq!(speaking(&f), vec![seat(4)]);
}

#[test]
fn stop_current_in_open_mode_hands_the_microphone_on() {
    let mut f = floor(Mode::Open);
    f.handle(&request(4), &member(4), at(1)).unwrap();
    f.handle(&request(5), &member(5), at(2)).unwrap();
    f.handle(&Command::StopCurrent {}, &Actor::Chair, at(3)).unwrap();
    assert_eq!((speaking(&f), queue(&f)), (vec![seat(5)], vec![]));
}

#[test]
fn new_commands_have_their_wire_names() {
    let cancel: Command = serde_json::from_str(r#"{"command":"cancel","station":{"seat":4}}"#).unwrap();
    assert_eq!(cancel, Command::Cancel { station: seat(4) });
    let stop: Command = serde_json::from_str(r#"{"command":"stop_current"}"#).unwrap();
    assert_eq!(stop, Command::StopCurrent {});
    assert!(stop.is_chair_command() && !cancel.is_chair_command());
}

#[test]
fn the_technician_reads_records_written_when_it_was_called_operator() {
    // Journals keep commands and events as JSON; older ones name the technician `operator`.
    assert_eq!(serde_json::from_str::<Actor>("\"operator\"").ok(), Some(Actor::Technician));
    assert_eq!(serde_json::from_str::<MuteSource>("\"operator\"").ok(), Some(MuteSource::Technician));
    assert_eq!(serde_json::to_string(&Actor::Technician).ok().as_deref(), Some("\"technician\""));
    assert_eq!(serde_json::to_string(&MuteSource::Technician).ok().as_deref(), Some("\"technician\""));
}

/// A list longer than one chunk of the state's persistent vector (64) keeps its order
/// through withdrawals from the middle, points of order and grants, and a snapshot taken
/// before a change still shows the state it was taken of (the list of 200, the most a room
/// allows, in a room of 400).
#[test]
fn a_long_list_keeps_its_order_and_snapshots_keep_their_state() {
    let participants: Vec<Participant> = (1..=400)
        .map(|n| participant(&format!("p{n}"), "G", if n == 1 { Role::Chair } else { Role::Member }, false))
        .collect();
    let seats = (1..=400)
        .map(|n| SeatSetup {
            number: n,
            label: n.to_string(),
            default_participant: Some(format!("p{n}")),
            position: None,
        })
        .collect();
    let mut profile = profile(Mode::Request);
    profile.limits.max_requests = 200;
    let mut floor = Floor::new(Setup {
        seats,
        participants,
        profile,
        voting: Default::default(),
        presentation_sources: Vec::new(),
    });
    let mut model: Vec<Station> = Vec::new();
    let mut s = 0;
    let mut step = |floor: &mut Floor, command: Command, actor: Actor| {
        s += 1;
        floor.handle(&command, &actor, at(s)).unwrap_or_else(|r| panic!("{command:?}: {r:?}"))
    };
    for n in 2..=201 {
        step(&mut floor, request(n), member(n));
        model.push(seat(n));
    }
    let mut next_seat = 202;
    for round in 0..300u16 {
        let before = floor.snapshot();
        let before_json = serde_json::to_string(&before).unwrap();
        // A withdrawal from the middle (or near either end), then a new request at the end.
        let index = [100, 0, 199, 63, 64, 127][usize::from(round % 6)].min(model.len() - 1);
        let leaving = model.remove(index);
        step(&mut floor, Command::Withdraw { station: leaving.clone() }, Actor::Station(leaving.clone()));
        assert_eq!(queue(&floor), model, "round {round}: after withdrawing from position {index}");
        let Station::Seat(free) = leaving else { unreachable!() };
        step(&mut floor, request(next_seat), member(next_seat));
        model.push(seat(next_seat));
        // A point of order goes first; the chair grants it the floor and stops it again.
        let Station::Seat(first) = model.remove(0) else { unreachable!() };
        step(&mut floor, Command::Withdraw { station: seat(first) }, member(first));
        step(&mut floor, request_kind(seat(first), RequestKind::PointOfOrder), member(first));
        model.insert(0, seat(first));
        assert_eq!(queue(&floor), model, "round {round}: after a point of order");
        step(&mut floor, Command::Next {}, Actor::Chair);
        model.remove(0);
        step(&mut floor, Command::Stop { station: seat(first) }, Actor::Chair);
        step(&mut floor, request(first), member(first));
        model.push(seat(first));
        assert_eq!(queue(&floor), model, "round {round}: after next, stop and a new request");
        assert_eq!(floor.check_invariants(), Ok(()));
        // The snapshot taken before the round is untouched by it.
        assert_eq!(
            serde_json::to_string(&before).unwrap(),
            before_json,
            "round {round}: the snapshot changed"
        );
        next_seat = free;
    }
}
