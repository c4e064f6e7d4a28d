//! A small room for the engine's tests: 10 seats, the chair at seat 1, members at 2–9,
//! seat 10 empty; two members who attend remotely; the podium seat unset.

#![allow(dead_code)]

use podium_floor::*;

pub fn participant(id: &str, group: &str, role: Role, remote: bool) -> Participant {
    Participant {
        id: id.to_string(),
        name: format!("Name {id}"),
        group: Some(group.to_string()),
        role,
        remote_allowed: remote,
        voting_right: true,
        nonpublic_allowed: true,
    }
}

pub fn setup(profile: Profile) -> Setup {
    let mut participants = vec![participant("chair", "CDU", Role::Chair, false)];
    for n in 2..=9 {
        let group = if n % 2 == 0 { "SPD" } else { "CDU" };
        participants.push(participant(&format!("m{n}"), group, Role::Member, n == 3));
    }
    participants.push(participant("r1", "GRÜNE", Role::Member, true));
    let mut r2 = participant("r2", "FDP", Role::Member, true);
    // May attend remotely, but not the non-public part.
    r2.nonpublic_allowed = false;
    participants.push(r2);
    let seats = (1..=10)
        .map(|n| SeatSetup {
            number: n,
            label: n.to_string(),
            default_participant: match n {
                1 => Some("chair".to_string()),
                2..=9 => Some(format!("m{n}")),
                _ => None,
            },
            position: None,
        })
        .collect();
    Setup { seats, participants, profile, voting: Default::default(), presentation_sources: Vec::new() }
}

pub fn profile(mode: Mode) -> Profile {
    Profile { mode, ..Profile::default() }
}

pub fn floor(mode: Mode) -> Floor {
    Floor::new(setup(profile(mode)))
}

/// A timestamp `s` seconds into the session.
pub fn at(s: u64) -> Timestamp {
    Timestamp::new(s * 1000, 1_700_000_000_000 + (s as i64) * 1000)
}

pub fn seat(n: u16) -> Station {
    Station::Seat(n)
}

pub fn remote(id: &str) -> Station {
    Station::Remote(id.to_string())
}

pub fn member(n: u16) -> Actor {
    Actor::Station(seat(n))
}

pub fn request(n: u16) -> Command {
    Command::Request { station: seat(n), kind: RequestKind::Ordinary, stance: None, raised_at: None }
}

pub fn request_kind(station: Station, kind: RequestKind) -> Command {
    Command::Request { station, kind, stance: None, raised_at: None }
}

pub fn queue(floor: &Floor) -> Vec<Station> {
    floor.state().requests.iter().map(|r| r.station.clone()).collect()
}

pub fn speaking(floor: &Floor) -> Vec<Station> {
    floor.state().speakers.iter().map(|s| s.station.clone()).collect()
}

pub fn reason(outcome: Outcome) -> Reason {
    outcome.expect_err("expected a rejection").reason
}

/// An agenda for the session tests: a header, two public items (one with its own
/// speaking time), a non-public item and one whose publicity an import left undecided.
pub fn agenda() -> Vec<AgendaItem> {
    let item = |id: u32, number: &str, publicity: Publicity| AgendaItem {
        id,
        number: number.to_string(),
        title: format!("Item {number}"),
        kind: ItemKind::Item,
        publicity,
        paper: None,
        oparl_id: None,
        speaking_time: None,
    };
    let mut header = item(1, "", Publicity::Public);
    header.kind = ItemKind::Header;
    header.title = "A Öffentliche Sitzung".into();
    let mut timed = item(3, "Ö 2", Publicity::Public);
    timed.speaking_time =
        Some(SpeakingTime { turn_limit_s: Some(60), warning_s: 10, on_expiry: OnExpiry::Continue });
    vec![
        header,
        item(2, "Ö 1", Publicity::Public),
        timed,
        item(4, "N 1", Publicity::NonPublic),
        item(5, "? 1", Publicity::Undecided),
    ]
}

pub fn chair(floor: &mut Floor, command: Command, t: u64) -> Vec<Event> {
    floor.handle(&command, &Actor::Chair, at(t)).unwrap_or_else(|e| panic!("{command:?}: {e:?}"))
}
