//! The desk-unit mapping, the output function, the key translation and the config checks.

use std::path::Path;

use podium_devices::modbus::desk::{self, DeskKey};
use podium_floor::{Actor, Command, Floor, RequestKind, Station, Timestamp};

use super::mapping::{Binding, DeskMap, UnitRole};
use super::outputs::{self, Testing};
use super::translate;
use crate::config::{self, RoomConfig, Signal};

const ROOM: &str = r#"
[room]
id = "saal"
name = "Saal"

[discussion]
mode = "request"

[discussion.speaking_time]
turn_limit = "3:00"
warning = "0:30"

[[seat]]
number = 1
member = "chair"
[[seat]]
number = 12
member = "mueller"
[[seat]]
number = 13

[[member]]
id = "chair"
name = "Vera Vorsitz"
role = "chair"
[[member]]
id = "mueller"
name = "Anna Müller"
badge = "04:A1:B2:C3:D4"
pin = "4711"

[[bus]]
id = "a"
path = "/dev/serial/by-id/usb-FTDI-if00-port0"

[[bus]]
id = "b"
path = "/dev/ttyUSB1"
parity = "none"
stop_bits = 2
baud = 19200

[[desk_unit]]
bus = "a"
unit = 1
seat = 1
chair = true
priority_clears_requests = true

[[desk_unit]]
bus = "a"
unit = 12
seat = 12

[[io_input]]
bus = "b"
unit = 7
input = 3
seat = 13
key = "request"

[[io_input]]
bus = "b"
unit = 7
input = 4
key = "next"

[[io_input]]
bus = "b"
unit = 7
input = 5
seat = 13
key = "vote_yes"

[[io_output]]
bus = "b"
unit = 7
coil = 5
seat = 13
signal = "speaking"

[[io_output]]
bus = "b"
unit = 7
coil = 7
seat = 13
signal = "requested"
"#;

fn room() -> RoomConfig {
    config::parse(ROOM, Path::new("room.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn at(ms: u64) -> Timestamp {
    Timestamp::new(ms, 1_700_000_000_000 + ms as i64)
}

fn floor_with(commands: &[(Command, Actor)]) -> Floor {
    let mut floor = Floor::new(room().floor_setup());
    for (i, (command, actor)) in commands.iter().enumerate() {
        floor.handle(command, actor, at(i as u64 * 10)).unwrap_or_else(|r| panic!("{command:?}: {r}"));
    }
    floor
}

#[test]
fn the_example_config_reads_into_buses_units_and_bindings() {
    let room = room();
    assert_eq!(room.desks.buses.len(), 2);
    assert_eq!(room.desks.buses[1].serial.describe(), "/dev/ttyUSB1 19200 8N2");
    let map = DeskMap::new(&room.desks);
    assert_eq!(map.buses[0].units.iter().map(|u| u.unit).collect::<Vec<_>>(), vec![1, 12]);
    assert_eq!(map.binding("a", 12, 0), Some(Binding::SeatKey { seat: 12, key: DeskKey::Request }));
    assert_eq!(map.binding("a", 1, 9), Some(Binding::ChairKey { key: DeskKey::Next, clears_requests: true }));
    // A delegate unit's chair keys are not wired to anything.
    assert_eq!(map.binding("a", 12, 9), None);
    assert_eq!(map.binding("b", 7, 3), Some(Binding::SeatKey { seat: 13, key: DeskKey::Request }));
    assert_eq!(
        map.binding("b", 7, 4),
        Some(Binding::ChairKey { key: DeskKey::Next, clears_requests: false })
    );
    let module = map.unit("b", 7).expect("module");
    assert_eq!(module.layout.inputs.map(|b| (b.start, b.count)), Some((3, 3)));
    assert_eq!(map.binding("b", 7, 5), Some(Binding::SeatKey { seat: 13, key: DeskKey::VoteYes }));
    assert_eq!(map.binding("a", 12, 7), Some(Binding::SeatKey { seat: 12, key: DeskKey::Presence }));
    assert_eq!(map.desk_seat("a", 12), Some(12));
    assert_eq!(map.desk_seat("b", 7), None, "a module has no reader");
    // Unless declared version 2, a unit gets version 1: no credential reads, coils 0-7.
    assert!(map.unit("a", 12).expect("desk").layout.credential.is_none());
    assert_eq!(map.unit("a", 12).expect("desk").layout.coils.map(|b| (b.start, b.count)), Some((0, 8)));
    assert!(module.layout.credential.is_none());
    assert_eq!(module.layout.coils.map(|b| (b.start, b.count)), Some((5, 3)));
    assert!(
        matches!(&module.role, UnitRole::Module { coils, .. } if coils.contains(&(5, 13, Signal::Speaking)))
    );
    assert_eq!(map.units_of_seat(13), vec![("b".to_owned(), 7)]);
}

#[test]
fn outputs_follow_the_floor() {
    let map = DeskMap::new(&room().desks);
    let seat = |n| Station::Seat(n);
    let floor = floor_with(&[
        (
            Command::Request {
                station: seat(12),
                kind: RequestKind::Ordinary,
                stance: None,
                raised_at: None,
            },
            Actor::Station(seat(12)),
        ),
        (
            Command::Request {
                station: seat(13),
                kind: RequestKind::Ordinary,
                stance: None,
                raised_at: None,
            },
            Actor::Station(seat(13)),
        ),
    ]);
    let snapshot = floor.snapshot();
    let outputs = outputs::desired_outputs(&map, &snapshot, at(100).mono_ms, &Testing::new());
    let twelve = &outputs["a"][&12];
    assert!(twelve.coils[usize::from(desk::COIL_GREEN)]);
    assert!(twelve.coils[usize::from(desk::COIL_NEXT)]);
    assert!(!twelve.coils[usize::from(desk::COIL_RED)]);
    assert_eq!(desk::read_text(&twelve.registers[0..8]), "Anna Müller");
    assert_eq!(twelve.registers[usize::from(desk::REG_LIST_POSITION)], 1);
    assert_eq!(twelve.registers[usize::from(desk::REG_REQUESTS_WAITING)], 2);
    // Seat 13's module: coil 5 (speaking) off, coil 7 (requested) on, coil 6 unmapped off.
    assert_eq!(outputs["b"][&7].coils, vec![false, false, true]);

    // The chair grants seat 12: red lamp, microphone relay, chair display.
    let mut floor = floor;
    floor.handle(&Command::Next {}, &Actor::Chair, at(1_000)).expect("next");
    let snapshot = floor.snapshot();
    let outputs = outputs::desired_outputs(&map, &snapshot, at(1_000 + 60_500).mono_ms, &Testing::new());
    let twelve = &outputs["a"][&12];
    assert!(twelve.coils[usize::from(desk::COIL_MICROPHONE)] && twelve.coils[usize::from(desk::COIL_RED)]);
    assert!(!twelve.coils[usize::from(desk::COIL_GREEN)]);
    let chair = &outputs["a"][&1];
    assert_eq!(desk::read_text(&chair.registers[16..24]), "Anna Müller");
    // 3:00 budget, 60.5 s spoken: 119.5 s left, shown rounded up.
    assert_eq!(chair.registers[usize::from(desk::REG_CHAIR_REMAINING)] as i16, 120);
    assert!(outputs::ticks(&map, &snapshot));
    assert_eq!(outputs["b"][&7].coils, vec![false, false, true], "seat 13 still waits");
}

#[test]
fn units_whose_keys_matter_now_are_marked_for_priority_polls() {
    let map = DeskMap::new(&room().desks);
    let priority = |floor: &Floor| {
        let outputs = outputs::desired_outputs(&map, &floor.snapshot(), at(100).mono_ms, &Testing::new());
        [("a", 1), ("a", 12), ("b", 7)].map(|(bus, unit)| outputs[bus][&unit].priority)
    };
    // Nobody waits or speaks: the chair's unit, and the module with the chair's next key.
    let idle = floor_with(&[]);
    assert_eq!(priority(&idle), [true, false, true]);
    // Seat 12 waits: its unit too (its next key withdraws).
    let waiting = floor_with(&[(
        Command::Request {
            station: Station::Seat(12),
            kind: RequestKind::Ordinary,
            stance: None,
            raised_at: None,
        },
        Actor::Station(Station::Seat(12)),
    )]);
    assert_eq!(priority(&waiting), [true, true, true]);
    // A room whose module has only seat keys: marked only while its seat waits or speaks.
    let text = ROOM.replace("input = 4\nkey = \"next\"", "input = 4\nseat = 13\nkey = \"cancel\"");
    assert_ne!(text, ROOM);
    let room = config::parse(&text, Path::new("room.toml")).unwrap_or_else(|e| panic!("{e}"));
    let map = DeskMap::new(&room.desks);
    let mut floor = Floor::new(room.floor_setup());
    let module = |floor: &Floor| {
        outputs::desired_outputs(&map, &floor.snapshot(), at(100).mono_ms, &Testing::new())["b"][&7].priority
    };
    assert!(!module(&floor));
    floor.handle(&Command::Grant { station: Station::Seat(13) }, &Actor::Chair, at(10)).expect("grant");
    assert!(module(&floor), "seat 13 speaks");
    // A module that only shows seat 13 (a lamp, no keys) is never marked: nothing to read.
    let text = format!(
        "{ROOM}\n[[io_output]]\nbus = \"b\"\nunit = 9\ncoil = 0\nseat = 13\nsignal = \"microphone\"\n"
    );
    let room = config::parse(&text, Path::new("room.toml")).unwrap_or_else(|e| panic!("{e}"));
    let map = DeskMap::new(&room.desks);
    let mut floor = Floor::new(room.floor_setup());
    floor.handle(&Command::Grant { station: Station::Seat(13) }, &Actor::Chair, at(10)).expect("grant");
    let outputs = outputs::desired_outputs(&map, &floor.snapshot(), at(100).mono_ms, &Testing::new());
    assert!(outputs["b"][&9].coils[0], "it shows seat 13's microphone");
    assert!(!outputs["b"][&9].priority);
    assert!(outputs["b"][&7].priority, "seat 13's keys are on unit 7");
}

#[test]
fn line_timing_is_per_unit_and_modules_keep_the_guides() {
    let text = ROOM.replace("unit = 12\nseat = 12", "unit = 12\nseat = 12\nline_timing = \"podium\"");
    let room = config::parse(&text, Path::new("room.toml")).unwrap_or_else(|e| panic!("{e}"));
    let map = DeskMap::new(&room.desks);
    let timing = |bus: &str, unit: u8| map.unit(bus, unit).expect("unit").timing;
    use podium_devices::modbus::bus::LineTiming;
    assert_eq!(timing("a", 12), LineTiming::Podium);
    assert_eq!(timing("a", 1), LineTiming::Modbus, "the default: an existing unit keeps its timing");
    assert_eq!(timing("b", 7), LineTiming::Modbus);
    let found = errors(&ROOM.replace("unit = 12\nseat = 12", "unit = 12\nseat = 12\nline_timing = \"fast\""));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0], "54:15: desk_unit[2].line_timing: unknown line timing `fast`");
}

#[test]
fn time_warning_blinks_and_a_lamp_test_lights_everything_but_the_microphone() {
    let map = DeskMap::new(&room().desks);
    let mut floor = floor_with(&[(Command::Grant { station: Station::Seat(12) }, Actor::Chair)]);
    // 2:30 into a 3:00 turn the warning is due.
    let events = floor.tick(at(150_000));
    assert!(!events.is_empty());
    let snapshot = floor.snapshot();
    let outputs = outputs::desired_outputs(&map, &snapshot, at(150_000).mono_ms, &Testing::new());
    assert!(outputs["a"][&12].coils[usize::from(desk::COIL_BLINK)]);

    let idle = Floor::new(room().floor_setup()).snapshot();
    let testing: Testing = [("a".to_owned(), 12), ("b".to_owned(), 7)].into_iter().collect();
    let outputs = outputs::desired_outputs(&map, &idle, at(0).mono_ms, &testing);
    let coils = &outputs["a"][&12].coils;
    assert!(
        coils[usize::from(desk::COIL_RED)]
            && coils[usize::from(desk::COIL_GREEN)]
            && coils[usize::from(desk::COIL_BLINK)]
    );
    assert!(!coils[usize::from(desk::COIL_MICROPHONE)], "a test never opens a microphone");
    assert_eq!(outputs["b"][&7].coils, vec![true, false, true]);
}

#[test]
fn keys_translate_to_commands_with_the_right_actor() {
    let seat12 = Binding::SeatKey { seat: 12, key: DeskKey::Request };
    let member = Actor::Station(Station::Seat(12));
    assert_eq!(
        translate::command(seat12, true),
        Some((Command::KeyPress { station: Station::Seat(12) }, member.clone()))
    );
    assert_eq!(
        translate::command(seat12, false),
        Some((Command::KeyRelease { station: Station::Seat(12) }, member.clone()))
    );
    let poo = Binding::SeatKey { seat: 12, key: DeskKey::PointOfOrder };
    assert!(matches!(
        translate::command(poo, true),
        Some((Command::Request { kind: RequestKind::PointOfOrder, .. }, _))
    ));
    assert_eq!(translate::command(poo, false), None);
    // Cancel: the engine decides between stop, withdraw and nothing.
    let cancel = Binding::SeatKey { seat: 12, key: DeskKey::Cancel };
    assert_eq!(
        translate::command(cancel, true),
        Some((Command::Cancel { station: Station::Seat(12) }, member))
    );
    assert_eq!(translate::command(cancel, false), None);
    // Vote keys cast the seat's vote; the presence key toggles check-in; releases mean nothing.
    for (key, choice) in
        [(DeskKey::VoteYes, "yes"), (DeskKey::VoteNo, "no"), (DeskKey::VoteAbstain, "abstain")]
    {
        let binding = Binding::SeatKey { seat: 12, key };
        assert_eq!(
            translate::command(binding, true),
            Some((
                Command::CastVote { participant: None, choice: choice.into() },
                Actor::Station(Station::Seat(12))
            ))
        );
        assert_eq!(translate::command(binding, false), None);
    }
    let presence = Binding::SeatKey { seat: 12, key: DeskKey::Presence };
    assert_eq!(
        translate::command(presence, true),
        Some((Command::PresenceKey { seat: 12 }, Actor::Station(Station::Seat(12))))
    );
    assert_eq!(translate::command(presence, false), None);
    // Chair keys act as the chair, on the press only.
    let next = Binding::ChairKey { key: DeskKey::Next, clears_requests: false };
    assert_eq!(translate::command(next, true), Some((Command::Next {}, Actor::Chair)));
    assert_eq!(translate::command(next, false), None);
    let priority = Binding::ChairKey { key: DeskKey::Priority, clears_requests: true };
    assert_eq!(
        translate::command(priority, true),
        Some((Command::Priority { clear_requests: true }, Actor::Chair))
    );
    let stop = Binding::ChairKey { key: DeskKey::Stop, clears_requests: false };
    assert_eq!(translate::command(stop, true), Some((Command::StopCurrent {}, Actor::Chair)));
}

/// The cancel key pressed twice before the first press is published: the second press
/// acts on the floor the first one left (the engine's state). Chosen from the older
/// snapshot, it was a second `stop`, rejected as `not_speaking`.
#[test]
fn a_second_cancel_acts_on_the_floor_the_first_one_left() {
    let room = room();
    let map = DeskMap::new(&room.desks);
    let mut floor = floor_with(&[(Command::Grant { station: Station::Seat(12) }, Actor::Chair)]);
    let cancel = map.binding("a", 12, DeskKey::Cancel.input()).expect("mapped");
    let (command, actor) = translate::command(cancel, true).expect("a command");
    let first = floor.handle(&command, &actor, at(2)).expect("stop");
    assert!(matches!(first[0].change, podium_floor::Change::MicrophoneClosed { .. }));
    let second = floor.handle(&command, &actor, at(3)).expect("nothing left to cancel");
    assert_eq!(second, vec![], "the microphone is off already: no stop again, no rejection");
}

#[test]
fn a_repeated_request_key_event_is_harmless() {
    let room = room();
    let map = DeskMap::new(&room.desks);
    let mut floor = Floor::new(room.floor_setup());
    let poo = map.binding("a", 12, DeskKey::PointOfOrder.input()).expect("mapped");
    for i in 0..4 {
        if let Some((command, actor)) = translate::command(poo, true) {
            floor.handle(&command, &actor, at(i)).expect("accepted");
        }
    }
    assert_eq!(floor.state().requests.len(), 1, "some units repeat a request four times");
}

fn errors(text: &str) -> Vec<String> {
    match config::parse(text, Path::new("room.toml")) {
        Ok(_) => Vec::new(),
        Err(errors) => {
            errors.iter().map(|e| format!("{}:{}: {}: {}", e.line, e.column, e.field, e.message)).collect()
        }
    }
}

#[test]
fn mapping_mistakes_are_reported_with_line_and_column() {
    let base = "[room]\nid = \"x\"\nname = \"X\"\n[[seat]]\nnumber = 12\n[[bus]]\nid = \"a\"\npath = \"/dev/ttyUSB0\"\n";
    let found = errors(&format!(
        "{base}[[desk_unit]]\nbus = \"b\"\nunit = 7\nseat = 12\n[[desk_unit]]\nbus = \"a\"\nunit = 8\nseat = 13\n"
    ));
    assert_eq!(
        found,
        vec![
            "10:7: desk_unit[1].bus: no [[bus]] has the id `b`".to_owned(),
            "16:8: desk_unit[2].seat: seat 13 is not configured".to_owned(),
        ]
    );
    let found = errors(&format!(
        "{base}[[desk_unit]]\nbus = \"a\"\nunit = 7\nseat = 12\n[[desk_unit]]\nbus = \"a\"\nunit = 7\nseat = 12\n"
    ));
    assert_eq!(
        found,
        vec![
            "15:8: desk_unit[2].unit: unit 7 on bus `a` is already the desk unit of seat 12 (line 11)"
                .to_owned(),
            "16:8: desk_unit[2].seat: seat 12 already has a desk unit (line 12)".to_owned(),
        ]
    );
    let found = errors(&format!(
        "{base}[[io_input]]\nbus = \"a\"\nunit = 3\ninput = 1\nkey = \"request\"\nseat = 12\n\
         [[io_input]]\nbus = \"a\"\nunit = 3\ninput = 1\nkey = \"reply\"\nseat = 12\n\
         [[io_input]]\nbus = \"a\"\nunit = 3\ninput = 2\nkey = \"nxt\"\n\
         [[io_input]]\nbus = \"a\"\nunit = 3\ninput = 5\nkey = \"stop\"\nseat = 12\n"
    ));
    assert_eq!(
        found,
        vec![
            "18:9: io_input[2].input: input 1 of unit 3 on bus `a` is already mapped (line 12)".to_owned(),
            "25:7: io_input[3].key: unknown key `nxt`".to_owned(),
            "31:8: io_input[4].seat: the `stop` key is the chair's and belongs to no seat".to_owned(),
        ]
    );
    let found =
        errors("[room]\nid = \"x\"\nname = \"X\"\n[[bus]]\nid = \"a\"\nparity = \"evn\"\ntimeout_ms = 0\n");
    assert_eq!(
        found,
        vec![
            "4:1: bus[1].path: missing key `path` in `bus[1]`".to_owned(),
            "6:10: bus[1].parity: unknown parity `evn`".to_owned(),
            "7:14: bus[1].timeout_ms: timeout_ms must be between 5 and 5000, not 0".to_owned(),
        ]
    );
    assert!(
        errors("[room]\nid = \"x\"\nname = \"X\"\n[[bus]]\nid = \"demo\"\nsimulated = true\n").is_empty()
    );
}

fn credential(
    kind: podium_devices::modbus::bus::CredentialKind,
    id: &[u8],
) -> podium_devices::modbus::bus::Credential {
    podium_devices::modbus::bus::Credential { sequence: 1, kind, id: id.to_vec() }
}

#[test]
fn badges_and_pins_check_members_in_at_the_seat() {
    use podium_devices::modbus::bus::CredentialKind;
    use podium_floor::CheckInMethod;
    use translate::CredentialCommand;
    let room = room();
    let members = &DeskMap::new(&room.desks).credentials;
    let seat = Actor::Station(Station::Seat(13));
    let check_in = |method| {
        CredentialCommand::Command(
            Command::CheckInAtSeat { seat: 13, participant: "mueller".into(), method },
            seat.clone(),
        )
    };
    let badge = [0x04, 0xA1, 0xB2, 0xC3, 0xD4];
    assert_eq!(
        translate::credential(13, &credential(CredentialKind::Badge, &badge), members),
        check_in(CheckInMethod::Badge)
    );
    // Zero padding from the registers does not matter.
    let padded = [0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0, 0, 0];
    assert_eq!(
        translate::credential(13, &credential(CredentialKind::Badge, &padded), members),
        check_in(CheckInMethod::Badge)
    );
    assert_eq!(
        translate::credential(13, &credential(CredentialKind::Pin, b"4711"), members),
        check_in(CheckInMethod::Pin)
    );
    assert_eq!(
        translate::credential(13, &credential(CredentialKind::BadgeRemoved, &[]), members),
        CredentialCommand::Command(Command::CheckOutAtSeat { seat: 13 }, seat.clone())
    );
    assert_eq!(
        translate::credential(13, &credential(CredentialKind::Badge, &[0xDE, 0xAD]), members),
        CredentialCommand::UnknownBadge("DEAD".into())
    );
    assert_eq!(
        translate::credential(13, &credential(CredentialKind::Pin, b"1234"), members),
        CredentialCommand::UnknownPin
    );
    // Nothing that prints the configuration shows a PIN.
    assert!(!format!("{room:?}").contains("4711"));

    // The engine takes the badge's check-in: Anna Müller is present at seat 13 now.
    let mut floor = Floor::new(room.floor_setup());
    let CredentialCommand::Command(command, actor) =
        translate::credential(13, &credential(CredentialKind::Badge, &badge), members)
    else {
        panic!("a command")
    };
    floor.handle(&command, &actor, at(1)).expect("checked in");
    let attendance = &floor.state().attendance["mueller"];
    assert_eq!(attendance.place, Some(podium_floor::AttendancePlace::Seat(13)));
    assert_eq!(attendance.by, CheckInMethod::Badge);
}

fn vote(kind: podium_floor::VoteKind) -> Command {
    Command::OpenVote {
        vote: podium_floor::VoteRequest {
            question: "Antrag 7".into(),
            kind,
            options: None,
            majority: None,
            duration_s: None,
            changeable: None,
        },
    }
}

fn coils_of(map: &DeskMap, floor: &Floor, unit: u8) -> Vec<bool> {
    outputs::desired_outputs(map, &floor.snapshot(), at(0).mono_ms, &Testing::new())["a"][&unit].coils.clone()
}

#[test]
fn vote_lamps_show_who_may_vote_and_that_they_voted_then_go_dark() {
    use podium_floor::{MeetingPhase, Reason, VoteKind};
    let room = room();
    let map = DeskMap::new(&room.desks);
    let mut floor = Floor::new(room.floor_setup());
    let twelve = Actor::Station(Station::Seat(12));
    floor.handle(&Command::SetPhase { phase: MeetingPhase::Open }, &Actor::System, at(1)).expect("open");
    // A vote key outside a vote: rejected as no_vote_open, nothing changes.
    let yes = map.binding("a", 12, DeskKey::VoteYes.input()).expect("mapped");
    let (command, actor) = translate::command(yes, true).expect("a command");
    let before = floor.state().clone();
    let rejection = floor.handle(&command, &actor, at(2)).expect_err("no vote");
    assert_eq!(rejection.reason, Reason::NoVoteOpen);
    assert_eq!(*floor.state(), before);
    // The presence key checks Anna Müller in at seat 12.
    let presence = map.binding("a", 12, DeskKey::Presence.input()).expect("mapped");
    let (command, actor) = translate::command(presence, true).expect("a command");
    floor.handle(&command, &actor, at(3)).expect("present");
    assert!(!coils_of(&map, &floor, 12)[usize::from(desk::COIL_VOTING_OPEN)], "no vote yet");

    floor.handle(&vote(VoteKind::RollCall), &Actor::Chair, at(4)).expect("vote opened");
    let coils = coils_of(&map, &floor, 12);
    assert!(coils[usize::from(desk::COIL_VOTING_OPEN)] && !coils[usize::from(desk::COIL_VOTE_REGISTERED)]);
    // The chair sits at seat 1 but has not checked in: no vote lamp there.
    assert!(!coils_of(&map, &floor, 1)[usize::from(desk::COIL_VOTING_OPEN)]);

    let no = map.binding("a", 12, DeskKey::VoteNo.input()).expect("mapped");
    let (command, actor) = translate::command(no, true).expect("a command");
    assert_eq!(actor, twelve);
    floor.handle(&command, &actor, at(5)).expect("voted");
    let coils = coils_of(&map, &floor, 12);
    assert!(!coils[usize::from(desk::COIL_VOTING_OPEN)]);
    assert!(coils[usize::from(desk::COIL_VOTE_REGISTERED)] && coils[usize::from(desk::COIL_CHOICE_NO)]);
    assert!(!coils[usize::from(desk::COIL_CHOICE_YES)] && !coils[usize::from(desk::COIL_CHOICE_ABSTAIN)]);

    assert!(!outputs::secret_vote_open(&floor.snapshot()), "a roll-call vote is no secret");
    floor.handle(&Command::CloseVote {}, &Actor::Chair, at(6)).expect("closed");
    assert_eq!(floor.state().vote.as_ref().and_then(|v| v.result.as_ref()).map(|r| r.no), Some(1));
    let coils = coils_of(&map, &floor, 12);
    assert!(coils[5..].iter().all(|c| !c), "after the vote the vote lamps are off: {coils:?}");
}

#[test]
fn a_secret_vote_lights_registered_but_never_a_choice() {
    use podium_floor::{MeetingPhase, VoteKind};
    let room = room();
    let map = DeskMap::new(&room.desks);
    let mut floor = Floor::new(room.floor_setup());
    let twelve = Actor::Station(Station::Seat(12));
    floor.handle(&Command::SetPhase { phase: MeetingPhase::Open }, &Actor::System, at(1)).expect("open");
    floor.handle(&Command::PresenceKey { seat: 12 }, &twelve, at(2)).expect("present");
    assert!(!outputs::secret_vote_open(&floor.snapshot()));
    floor.handle(&vote(VoteKind::Secret), &Actor::Chair, at(3)).expect("vote opened");
    assert!(outputs::secret_vote_open(&floor.snapshot()), "the monitor withholds the desk buses now");
    assert!(coils_of(&map, &floor, 12)[usize::from(desk::COIL_VOTING_OPEN)]);
    let yes = map.binding("a", 12, DeskKey::VoteYes.input()).expect("mapped");
    let (command, actor) = translate::command(yes, true).expect("a command");
    floor.handle(&command, &actor, at(4)).expect("voted");
    let snapshot = floor.snapshot();
    let ballot = &snapshot.floor.vote.as_ref().expect("vote").ballots["mueller"];
    assert_eq!(ballot.choice, None, "the snapshot of a secret vote carries no choice");
    let outputs = outputs::desired_outputs(&map, &snapshot, at(0).mono_ms, &Testing::new());
    let coils = &outputs["a"][&12].coils;
    assert!(coils[usize::from(desk::COIL_VOTE_REGISTERED)] && !coils[usize::from(desk::COIL_VOTING_OPEN)]);
    for choice in [desk::COIL_CHOICE_YES, desk::COIL_CHOICE_NO, desk::COIL_CHOICE_ABSTAIN] {
        assert!(!coils[usize::from(choice)], "coil {choice} would tell the room the secret choice");
    }
    floor.handle(&Command::CancelVote {}, &Actor::Chair, at(5)).expect("cancelled");
    assert!(!outputs::secret_vote_open(&floor.snapshot()));
    assert!(coils_of(&map, &floor, 12)[5..].iter().all(|c| !c), "a cancelled vote leaves no lamp on");
}

#[test]
fn badge_and_pin_mistakes_are_reported_with_place_and_field() {
    let base = "[room]\nid = \"x\"\nname = \"X\"\n";
    let found = errors(&format!(
        "{base}[[member]]\nid = \"a\"\nname = \"A\"\nbadge = \"04A1G2\"\npin = \"12a4\"\n\
         [[member]]\nid = \"b\"\nname = \"B\"\nbadge = \"0011223\"\npin = \"123\"\n"
    ));
    assert_eq!(
        found,
        vec![
            "7:9: member[1].badge: `04A1G2` is not a badge UID".to_owned(),
            "8:7: member[1].pin: a PIN must be 4 to 8 digits".to_owned(),
            "12:9: member[2].badge: `0011223` is not a badge UID".to_owned(),
            "13:7: member[2].pin: a PIN must be 4 to 8 digits".to_owned(),
        ]
    );
    let found = errors(&format!(
        "{base}[[member]]\nid = \"a\"\nname = \"A\"\nbadge = \"04A1B2\"\npin = \"4711\"\n\
         [[member]]\nid = \"b\"\nname = \"B\"\nbadge = \"04:a1:b2:00\"\npin = \"4711\"\n"
    ));
    assert_eq!(
        found,
        vec![
            "12:9: member[2].badge: this badge is already member `a`'s".to_owned(),
            "13:7: member[2].pin: this PIN is already member `a`'s".to_owned(),
        ]
    );
    assert!(found.iter().all(|e| !e.contains("4711")), "an error never repeats a PIN");
    let Err(config_errors) = config::parse(
        &format!("{base}[[member]]\nid = \"a\"\nname = \"A\"\npin = \"12\"\n"),
        Path::new("room.toml"),
    ) else {
        panic!("a short PIN is an error")
    };
    let e = config_errors.iter().next().expect("one error");
    assert_eq!(
        (e.file.as_path(), e.line, e.column, e.field.as_str()),
        (Path::new("room.toml"), 7, 7, "member[1].pin")
    );
    let found = errors(&format!("{base}[[member]]\nid = \"a\"\nname = \"A\"\npin = \"123456789\"\n"));
    assert_eq!(found, vec!["7:7: member[1].pin: a PIN must be 4 to 8 digits".to_owned()]);
    let found = errors(&format!(
        "{base}[[seat]]\nnumber = 1\n[[bus]]\nid = \"a\"\npath = \"/dev/x\"\n[[desk_unit]]\nbus = \"a\"\nunit = 1\nseat = 1\nmap_version = 3\n"
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0], "13:15: desk_unit[1].map_version: map_version must be between 1 and 2, not 3");
}
