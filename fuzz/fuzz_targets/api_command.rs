//! The API's command JSON (`POST /api/v1/commands`), then the engine: any body parses or is
//! refused; every command that parses is handled (accepted or rejected with a reason) by
//! every kind of actor without a panic, and the engine's invariants hold afterwards.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podium_floor::{Actor, Command, Floor, Participant, Profile, Role, SeatSetup, Setup, Station, Timestamp};

fn setup() -> Setup {
    let participants = (1..=6u16)
        .map(|n| Participant {
            id: format!("m{n}"),
            name: format!("Member {n}"),
            group: Some(format!("G{}", n % 2)),
            role: if n == 1 { Role::Chair } else { Role::Member },
            remote_allowed: n % 2 == 0,
            voting_right: true,
            nonpublic_allowed: n != 6,
        })
        .collect();
    let seats = (1..=5u16)
        .map(|n| SeatSetup {
            number: n,
            label: n.to_string(),
            default_participant: Some(format!("m{n}")),
            position: None,
        })
        .collect();
    Setup {
        seats,
        participants,
        profile: Profile::default(),
        voting: Default::default(),
        presentation_sources: Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    // One command, or a JSON array of commands (a session).
    let commands: Vec<Command> = match serde_json::from_slice::<Vec<Command>>(data) {
        Ok(commands) => commands,
        Err(_) => match serde_json::from_slice::<Command>(data) {
            Ok(command) => vec![command],
            Err(_) => return,
        },
    };
    let actors = [
        Actor::Chair,
        Actor::Technician,
        Actor::System,
        Actor::Station(Station::Seat(2)),
        Actor::Station(Station::Remote("m4".into())),
    ];
    let mut floor = Floor::new(setup());
    let mut replayed = Floor::new(setup());
    for (i, command) in commands.iter().enumerate() {
        let now = Timestamp::new(1000 * i as u64, 1_700_000_000_000 + 1000 * i as i64);
        let actor = &actors[i % actors.len()];
        if let Ok(events) = floor.handle(command, actor, now) {
            for event in &events {
                replayed.replay(event);
            }
        }
        for event in floor.tick(now.plus_ms(500)) {
            replayed.replay(&event);
        }
        assert_eq!(floor.check_invariants(), Ok(()));
        assert_eq!(floor.state(), replayed.state(), "events are the truth");
    }
});
