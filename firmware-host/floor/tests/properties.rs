//! Property tests over random command sequences: the invariants hold after every step,
//! rejections change nothing, events are gap-free, and replay reproduces the state.

mod common;

use common::*;
use podium_floor::*;
use proptest::prelude::*;

fn station() -> impl Strategy<Value = Station> {
    prop_oneof![
        8 => (1u16..=11).prop_map(Station::Seat),
        2 => prop_oneof![Just("r1"), Just("r2"), Just("m3"), Just("ghost")].prop_map(|id| Station::Remote(id.into())),
    ]
}

fn participant_id() -> impl Strategy<Value = String> {
    prop_oneof![Just("r1"), Just("r2"), Just("m3"), Just("m4"), Just("chair"), Just("ghost")]
        .prop_map(String::from)
}

fn kind() -> impl Strategy<Value = RequestKind> {
    prop_oneof![Just(RequestKind::Ordinary), Just(RequestKind::Reply), Just(RequestKind::PointOfOrder)]
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::Open),
        Just(Mode::Override),
        Just(Mode::Request),
        Just(Mode::Operator),
        Just(Mode::Voice),
        Just(Mode::PushToTalk)
    ]
}

fn limits() -> impl Strategy<Value = Limits> {
    (0u16..=4, 0u16..=6, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(open, requests, c, s, p)| {
        Limits {
            max_open_microphones: open,
            max_requests: requests,
            members_may_cancel: c,
            members_may_switch_off: s,
            point_of_order_when_closed: p,
        }
    })
}

fn command(with_moves: bool) -> BoxedStrategy<Command> {
    let base = prop_oneof![
        10 => (station(), kind()).prop_map(|(station, kind)| Command::Request { station, kind, stance: None, raised_at: None }),
        3 => station().prop_map(|station| Command::Withdraw { station }),
        3 => station().prop_map(|station| Command::Stop { station }),
        3 => station().prop_map(|station| Command::Cancel { station }),
        2 => Just(Command::StopCurrent {}),
        3 => station().prop_map(|station| Command::KeyPress { station }),
        2 => station().prop_map(|station| Command::KeyRelease { station }),
        2 => (station(), any::<bool>()).prop_map(|(station, active)| Command::VoiceActivity { station, active }),
        3 => station().prop_map(|station| Command::Grant { station }),
        4 => Just(Command::Next {}),
        1 => Just(Command::StopAll {}),
        1 => any::<bool>().prop_map(|clear_requests| Command::Priority { clear_requests }),
        1 => Just(Command::ClearRequests {}),
        1 => any::<bool>().prop_map(|open| Command::SetListOpen { open }),
        1 => mode().prop_map(|mode| Command::SetMode { mode }),
        1 => prop_oneof![Just(Activation::Toggle), Just(Activation::Push)].prop_map(|activation| Command::SetActivation { activation }),
        1 => limits().prop_map(|limits| Command::SetLimits { limits }),
        1 => (proptest::option::of(0u32..120), 0u32..40, any::<bool>()).prop_map(|(turn_limit_s, warning_s, cut)| {
            Command::SetSpeakingTime { speaking_time: SpeakingTime {
                turn_limit_s,
                warning_s,
                on_expiry: if cut { OnExpiry::CutOff } else { OnExpiry::Continue },
            } }
        }),
        1 => station().prop_map(|station| Command::PauseSpeaker { station }),
        1 => station().prop_map(|station| Command::ResumeSpeaker { station }),
        2 => participant_id().prop_map(|participant| Command::JoinRemote { participant }),
        1 => participant_id().prop_map(|participant| Command::LeaveRemote { participant }),
        1 => (participant_id(), 1u16..=11).prop_map(|(participant, seat)| Command::TakeSeat { participant, seat }),
        1 => (1u16..=11).prop_map(|seat| Command::LeaveSeat { seat }),
    ];
    if !with_moves {
        return base.boxed();
    }
    let moves =
        (station(), 0usize..8).prop_map(|(station, position)| Command::MoveRequest { station, position });
    prop_oneof![30 => base, 1 => moves, 6 => session_command(), 8 => voting_command()].boxed()
}

/// Attendance and votes: check-ins by key, badge and marking, votes of every kind, ballots
/// from seats, remote members and proxies, closing and cancelling.
fn voting_command() -> BoxedStrategy<Command> {
    let kind = prop_oneof![Just(VoteKind::Open), Just(VoteKind::RollCall), Just(VoteKind::Secret)];
    let majority = prop_oneof![
        Just(Majority::Simple),
        Just(Majority::Absolute),
        Just(Majority::TwoThirdsStatutory),
        Just(Majority::TwoThirdsCast)
    ];
    let status = prop_oneof![
        Just(AttendanceStatus::Present),
        Just(AttendanceStatus::Excused),
        Just(AttendanceStatus::Absent)
    ];
    prop_oneof![
        4 => (1u16..=11).prop_map(|seat| Command::PresenceKey { seat }),
        1 => (1u16..=11, participant_id(), any::<bool>()).prop_map(|(seat, participant, badge)| Command::CheckInAtSeat {
            seat,
            participant,
            method: if badge { CheckInMethod::Badge } else { CheckInMethod::Pin },
        }),
        1 => (1u16..=11).prop_map(|seat| Command::CheckOutAtSeat { seat }),
        2 => (participant_id(), status).prop_map(|(participant, status)| Command::MarkAttendance { participant, status }),
        1 => Just(Command::MarkSeatedPresent {}),
        2 => (kind, majority, any::<bool>(), proptest::option::of(1u32..60)).prop_map(|(kind, majority, changeable, duration_s)| {
            Command::OpenVote { vote: VoteRequest {
                question: "Antrag".into(),
                kind,
                options: None,
                majority: Some(majority),
                duration_s,
                changeable: Some(changeable),
            } }
        }),
        8 => (proptest::option::of(participant_id()), prop_oneof![Just("yes"), Just("no"), Just("abstain"), Just("maybe")])
            .prop_map(|(participant, choice)| Command::CastVote { participant, choice: choice.into() }),
        1 => Just(Command::CloseVote {}),
        1 => Just(Command::CancelVote {}),
    ]
    .boxed()
}

/// The session's commands: agenda, items, exclusions, the non-public part, budgets, phase.
fn session_command() -> BoxedStrategy<Command> {
    let item = 0u32..=6;
    prop_oneof![
        1 => any::<bool>().prop_map(|carry| Command::SetAgenda {
            items: agenda(),
            carry_over: if carry { CarryOver::Carry } else { CarryOver::PerItem },
        }),
        3 => item.clone().prop_map(|item| Command::EnterItem { item }),
        2 => Just(Command::NextItem {}),
        1 => Just(Command::FinishItem {}),
        1 => any::<bool>().prop_map(|public| Command::SetPublic { public }),
        1 => (item.clone(), any::<bool>()).prop_map(|(item, public)| Command::SetPublicity {
            item,
            publicity: if public { Publicity::Public } else { Publicity::NonPublic },
        }),
        3 => (item.clone(), participant_id()).prop_map(|(item, participant)| Command::Exclude { item, participant, reason: "test".into() }),
        1 => (item, participant_id()).prop_map(|(item, participant)| Command::Readmit { item, participant }),
        2 => (0u32..120, 0u32..30, 0usize..3, any::<bool>(), any::<bool>()).prop_map(|(spd, warning_s, policy, equal, per_item)| {
            let seconds = [("SPD".to_string(), spd), ("CDU".to_string(), spd * 2), ("GRÜNE".to_string(), 40)].into_iter().collect();
            Command::SetBudget { budget: Some(BudgetSpec {
                scope: if per_item { BudgetScope::Item } else { BudgetScope::Meeting },
                shares: if equal { Shares::Equal { total_s: spd * 3 } } else { Shares::PerGroup { seconds } },
                policy: [BudgetPolicy::WarnOnly, BudgetPolicy::RefuseRequests, BudgetPolicy::CutOff][policy],
                warning_s,
            }) }
        }),
        1 => prop_oneof![Just(MeetingPhase::None), Just(MeetingPhase::Open), Just(MeetingPhase::Suspended)]
            .prop_map(|phase| Command::SetPhase { phase }),
    ]
    .boxed()
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        3 => Just(Actor::Chair),
        1 => Just(Actor::Technician),
        1 => Just(Actor::System),
        4 => station().prop_map(Actor::Station),
    ]
}

/// A step: a command with its actor (or, when `None`, a clock tick), after `advance_ms`.
type Step = (Option<(Command, Actor, bool)>, u64);

fn steps(with_moves: bool) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (
            prop_oneof![
                6 => (command(with_moves), actor(), any::<bool>()).prop_map(Some),
                1 => Just(None),
            ],
            0u64..40_000,
        ),
        1..120,
    )
}

fn initial_profile() -> impl Strategy<Value = Profile> {
    (mode(), 1u16..=3, 1u16..=6, proptest::option::of(5u32..90)).prop_map(|(mode, open, requests, limit)| {
        let mut p = Profile { mode, ..Profile::default() };
        p.limits.max_open_microphones = open;
        p.limits.max_requests = requests;
        p.speaking_time.turn_limit_s = limit;
        p.speaking_time.warning_s = 3;
        p
    })
}

/// Runs the steps; `self_actor` steps act as the station itself, so members' own actions occur often.
fn run(profile: Profile, steps: &[Step], mut each: impl FnMut(&Floor, &[Event])) -> (Floor, Vec<Event>) {
    let mut floor = Floor::new(setup(profile));
    let mut log = Vec::new();
    let mut now = 0u64;
    for (step, advance) in steps {
        now += advance;
        let ts = Timestamp::new(now, 1_700_000_000_000 + now as i64);
        let events = match step {
            None => floor.tick(ts),
            Some((command, actor, self_actor)) => {
                let actor = match (self_actor, command) {
                    (true, Command::Request { station, .. })
                    | (true, Command::Withdraw { station })
                    | (true, Command::Stop { station })
                    | (true, Command::Cancel { station })
                    | (true, Command::KeyPress { station })
                    | (true, Command::KeyRelease { station }) => Actor::Station(station.clone()),
                    (true, Command::PresenceKey { seat }) | (true, Command::CheckInAtSeat { seat, .. }) => {
                        Actor::Station(Station::Seat(*seat))
                    }
                    // A member's own ballot: from the seat or the remote page.
                    (true, Command::CastVote { participant: Some(p), .. }) => {
                        match floor.state().presence.get(p) {
                            Some(Presence::Seat(n)) => Actor::Station(Station::Seat(*n)),
                            _ => Actor::Station(Station::Remote(p.clone())),
                        }
                    }
                    _ => actor.clone(),
                };
                let before = floor.state().clone();
                match floor.handle(command, &actor, ts) {
                    Ok(events) => events,
                    Err(_) => {
                        assert_eq!(&before, floor.state(), "a rejected {command:?} changed the state");
                        Vec::new()
                    }
                }
            }
        };
        each(&floor, &events);
        log.extend(events);
    }
    (floor, log)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_step(profile in initial_profile(), steps in steps(true)) {
        run(profile, &steps, |floor, _| {
            if let Err(broken) = floor.check_invariants() {
                panic!("invariant broken: {broken}");
            }
        });
    }

    #[test]
    fn events_are_gap_free_and_replay_reproduces_the_state(profile in initial_profile(), steps in steps(true)) {
        let (floor, log) = run(profile.clone(), &steps, |_, _| {});
        for (i, event) in log.iter().enumerate() {
            prop_assert_eq!(event.seq, i as u64 + 1);
        }
        prop_assert_eq!(floor.state().seq, log.len() as u64);
        let mut replayed = Floor::new(setup(profile));
        for event in &log {
            replayed.replay(event);
        }
        prop_assert_eq!(replayed.state(), floor.state());
        // The events also survive serialisation (the journal and the wire carry them as JSON).
        let json = serde_json::to_string(&log).unwrap();
        let back: Vec<Event> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, log);
    }

    #[test]
    fn fifo_within_each_type_without_moves(profile in initial_profile(), steps in steps(false)) {
        run(profile, &steps, |floor, _| {
            let requests: Vec<_> = floor.state().requests.iter().collect();
            for pair in requests.windows(2) {
                if pair[0].kind == pair[1].kind {
                    assert!(pair[0].id < pair[1].id, "FIFO broken: {:?} before {:?}", pair[0], pair[1]);
                    assert!(pair[0].requested_at.mono_ms <= pair[1].requested_at.mono_ms);
                }
            }
        });
    }

    #[test]
    fn deadlines_are_never_in_the_past_after_a_tick(profile in initial_profile(), steps in steps(true)) {
        let mut floor = Floor::new(setup(profile));
        let mut now = 0;
        for (step, advance) in &steps {
            now += advance;
            let ts = Timestamp::new(now, now as i64);
            if let Some((command, actor, _)) = step {
                let _ = floor.handle(command, actor, ts);
            }
            floor.tick(ts);
            if let Some(deadline) = floor.next_deadline() {
                prop_assert!(deadline.0 > now, "deadline {deadline:?} not after tick at {now}");
            }
        }
    }

    /// The keys' commands decide on the state they are applied to exactly what a translator
    /// reading that state would have sent: `stop`, `withdraw` or nothing.
    #[test]
    fn cancel_and_stop_current_do_what_the_floor_says_they_stand_for(
        profile in initial_profile(),
        steps in steps(true),
        probe in station(),
        chair in any::<bool>(),
    ) {
        let at = Timestamp::new(10_000_000, 1_700_010_000_000);
        run(profile, &steps, |floor, _| {
            let state = floor.state();
            let actor = if chair { Actor::Chair } else { Actor::Station(probe.clone()) };
            let spelled_out = if state.speaker_index(&probe).is_some() {
                Some(Command::Stop { station: probe.clone() })
            } else if state.request_index(&probe).is_some() {
                Some(Command::Withdraw { station: probe.clone() })
            } else {
                None
            };
            let cancelled = floor.clone().handle(&Command::Cancel { station: probe.clone() }, &actor, at);
            match spelled_out {
                Some(command) => assert_eq!(cancelled, floor.clone().handle(&command, &actor, at)),
                // An unknown or absent station is rejected as by `stop`; a known idle one changes nothing.
                None => match cancelled {
                    Ok(events) => assert_eq!(events, vec![]),
                    Err(rejection) => assert_eq!(
                        Err(rejection),
                        floor.clone().handle(&Command::Stop { station: probe.clone() }, &actor, at)
                    ),
                },
            }

            let current = state.speakers.iter().rev().find(|s| !s.exempt).map(|s| s.station.clone());
            let stopped = floor.clone().handle(&Command::StopCurrent {}, &Actor::Chair, at);
            match current {
                Some(station) => {
                    assert_eq!(stopped, floor.clone().handle(&Command::Stop { station }, &Actor::Chair, at))
                }
                None => assert_eq!(stopped, Ok(vec![])),
            }
        });
    }
}

/// Runs the steps as the daemon does: the clock ticks at every deadline before a later step.
fn run_on_time(profile: Profile, steps: &[Step], mut each: impl FnMut(&Floor, &[Event], Instant)) {
    let mut floor = Floor::new(setup(profile));
    let mut now = 0u64;
    for (step, advance) in steps {
        now += advance;
        while let Some(due) = floor.next_deadline().filter(|due| due.0 <= now) {
            let events = floor.tick(Timestamp::new(due.0, 1_700_000_000_000 + due.0 as i64));
            each(&floor, &events, due);
        }
        let ts = Timestamp::new(now, 1_700_000_000_000 + now as i64);
        let events = match step {
            None => floor.tick(ts),
            Some((command, actor, _)) => floor.handle(command, actor, ts).unwrap_or_default(),
        };
        each(&floor, &events, Instant(now));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_member_excluded_from_the_current_item_ever_gets_the_floor(profile in initial_profile(), steps in steps(true)) {
        run(profile, &steps, |floor, events| {
            for event in events {
                if let Change::MicrophoneOpened { speaker } = &event.change
                    && !speaker.exempt
                    && let Some(who) = &speaker.participant
                {
                    assert!(!floor.state().is_excluded_now(who), "{who} got the floor while excluded");
                }
                if let Change::RequestAdded { request, .. } = &event.change
                    && let Some(who) = &request.participant
                {
                    assert!(!floor.state().is_excluded_now(who), "{who} was listed while excluded");
                }
            }
        });
    }

    #[test]
    fn budgets_never_go_negative_unless_warn_only_and_count_every_turn(profile in initial_profile(), steps in steps(true)) {
        // Used time per group, summed from the closed turns since the budget was (re)started.
        let mut counted: std::collections::BTreeMap<String, u64> = Default::default();
        let groups: std::collections::BTreeMap<String, String> = setup(Profile::default())
            .participants
            .iter()
            .filter(|p| !p.role.is_chair())
            .filter_map(|p| p.group.clone().map(|g| (p.id.clone(), g)))
            .collect();
        run_on_time(profile, &steps, |floor, events, at| {
            for event in events {
                match &event.change {
                    Change::BudgetSet { .. } => counted.clear(),
                    Change::ItemEntered { .. }
                        if floor.state().budget.as_ref().is_some_and(|b| b.spec.scope == BudgetScope::Item) =>
                    {
                        counted.clear()
                    }
                    Change::MicrophoneClosed { participant: Some(who), spoken_ms, .. } => {
                        if let (Some(group), Some(budget)) = (groups.get(who), &floor.state().budget)
                            && budget.allotted_ms.contains_key(group)
                        {
                            *counted.entry(group.clone()).or_default() += spoken_ms;
                        }
                    }
                    _ => {}
                }
            }
            let Some(budget) = &floor.state().budget else { return };
            for group in budget.allotted_ms.keys() {
                assert_eq!(
                    budget.used_ms.get(group).copied().unwrap_or(0),
                    counted.get(group).copied().unwrap_or(0),
                    "used time of {group} is the sum of its turns"
                );
                if budget.spec.policy == BudgetPolicy::CutOff {
                    assert!(floor.remaining_ms(group, at) >= 0, "{group} overdrew a cut-off budget");
                }
            }
            // A tick leaves no deadline in the past (else the daemon would spin).
            let mut ticked = floor.clone();
            ticked.tick(Timestamp::new(at.0, 0));
            if let Some(due) = ticked.next_deadline() {
                assert!(due > at, "deadline {due:?} in the past at {at:?}");
            }
        });
    }
}

/// Steps in a meeting where votes are frequent: every other command is about attendance or votes.
fn vote_steps() -> impl Strategy<Value = Vec<Step>> {
    let command = prop_oneof![1 => command(true), 1 => voting_command()];
    prop::collection::vec(
        (prop_oneof![8 => (command, actor(), any::<bool>()).prop_map(Some), 1 => Just(None)], 0u64..15_000),
        1..150,
    )
}

/// Whether `member` may vote in `vote` on this state (the engine's rule, restated).
fn entitled(floor: &Floor, vote: &Vote, member: &str) -> bool {
    let state = floor.state();
    let participant = floor.setup().participants.iter().find(|p| p.id == member);
    let attendance = state.attendance.get(member).filter(|a| a.status == AttendanceStatus::Present);
    participant.is_some_and(|p| p.voting_right)
        && attendance.is_some_and(|a| vote.remote_allowed || a.place != Some(AttendancePlace::Remote))
        && !vote.item.and_then(|i| state.item(i)).is_some_and(|e| e.excluded.contains_key(member))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn one_member_one_vote_from_entitled_members_and_totals_equal_the_ballots(profile in initial_profile(), steps in vote_steps()) {
        // In a meeting with the seated members checked in, so that votes happen often.
        let mut all: Vec<Step> = vec![
            (Some((Command::SetPhase { phase: MeetingPhase::Open }, Actor::System, false)), 0),
            (Some((Command::MarkSeatedPresent {}, Actor::Chair, false)), 0),
        ];
        all.extend(steps);
        let mut closed_with_ballots = 0;
        run(profile, &all, |floor, events| {
            for event in events {
                match &event.change {
                    Change::BallotCast { participant, ballot, vote } => {
                        let open = floor.state().vote.as_ref().expect("a ballot goes to the open vote");
                        assert_eq!(open.id, *vote);
                        assert!(entitled(floor, open, participant), "{participant} voted without being entitled");
                        if open.kind == VoteKind::Secret {
                            assert!(ballot.choice.is_none(), "a secret ballot carries a choice");
                        }
                    }
                    Change::VoteClosed { result, .. } => {
                        let vote = floor.state().vote.as_ref().unwrap();
                        let total: u32 = result.totals.iter().map(|t| t.count).sum();
                        assert_eq!(total, result.voted, "totals equal the members who voted");
                        assert_eq!(result.voted as usize, vote.ballots.len(), "one ballot per member");
                        if vote.kind != VoteKind::Secret {
                            for t in &result.totals {
                                let recorded = vote.ballots.values().filter(|b| b.choice.as_deref() == Some(t.option.as_str())).count();
                                assert_eq!(t.count as usize, recorded, "option {} counted from the ballots", t.option);
                            }
                        }
                        if result.outcome == VoteOutcome::Accepted && vote.majority == Majority::Simple {
                            assert!(result.yes > result.no, "a tie or fewer yes never passes");
                        }
                        closed_with_ballots += usize::from(result.voted > 0);
                    }
                    _ => {}
                }
            }
            // An open secret vote's urn holds exactly one ballot per member who voted.
            if let Some(vote) = floor.state().vote.as_ref().filter(|v| v.result.is_none() && v.kind == VoteKind::Secret) {
                assert_eq!(floor.urn().counts.values().sum::<u32>() as usize, vote.ballots.len());
            }
        });
        if std::env::var_os("PODIUM_VOTE_STATS").is_some() {
            eprintln!("votes closed with ballots: {closed_with_ballots}");
        }
    }
}
