//! `[[seat]]` and `[[member]]`, and the checks that tie seats, members and the podium
//! seat together.

use std::collections::HashMap;

use podium_floor::setup::{Participant, Role, SeatNo, SeatPosition, SeatSetup};

use super::super::reader::{Cx, Sp, Table, did_you_mean};
use super::discussion::Discussion;
use super::{named, non_empty};

/// One `[[seat]]` with the places needed for cross-checks.
#[derive(Debug, Clone)]
pub(crate) struct SeatEntry {
    pub setup: SeatSetup,
    /// `None` if the number was missing or invalid (the entry is then left out).
    pub number: Option<Sp<SeatNo>>,
    pub member: Option<Sp<String>>,
    /// The seat-map place, where its `x` was written.
    pub place: Option<Sp<SeatPosition>>,
}

/// One `[[member]]` with the places needed for cross-checks.
#[derive(Debug, Clone)]
pub(crate) struct MemberEntry {
    pub participant: Participant,
    /// `None` if the id was missing (the entry is then left out).
    pub id: Option<Sp<String>>,
    /// `oparl_person`: the OParl Person URL of this member (for the agenda import).
    pub oparl_person: Option<Sp<String>>,
    /// `badge`: the UID of the member's badge (hex in the file; bytes here, trailing zero
    /// bytes cut as the desk unit's registers cut them).
    pub badge: Option<Sp<Vec<u8>>>,
    /// `pin`: the member's PIN for a desk unit's keypad (4-8 digits).
    pub pin: Option<Sp<String>>,
    /// `conference_name`: the name the member uses in the video conference (default: `name`).
    pub conference_name: Option<Sp<String>>,
}

/// Reads every `[[seat]]`.
pub(crate) fn read_seats(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Vec<SeatEntry> {
    let mut out = Vec::new();
    for mut t in root.tables(cx, "seat") {
        let number = t.u16_in(cx, "number", 1, SeatNo::MAX);
        if number.is_none() && !t.has("number") {
            t.missing(cx, "number", "12");
        }
        let label = t.string(cx, "label");
        if let Some(l) = &label {
            non_empty(cx, &t, "label", l);
        }
        let member = t.string(cx, "member");
        if let Some(m) = &member {
            non_empty(cx, &t, "member", m);
        }
        let x = t.u16_in(cx, "x", 0, 99);
        let y = t.u16_in(cx, "y", 0, 99);
        let place = match (&x, &y) {
            (Some(x), Some(y)) => Some(Sp { v: SeatPosition { x: x.v, y: y.v }, span: x.span.clone() }),
            _ => None,
        };
        let position = match (x, y) {
            (Some(x), Some(y)) => Some(SeatPosition { x: x.v, y: y.v }),
            (Some(given), None) | (None, Some(given)) => {
                let (have, lacks) = if t.has("x") { ("x", "y") } else { ("y", "x") };
                if !t.has(lacks) {
                    cx.err(
                        &given.span,
                        t.field(have),
                        format!("`{have}` without `{lacks}`: give both or neither"),
                        None,
                    );
                }
                None
            }
            (None, None) => None,
        };
        t.finish(cx);
        let no = number.as_ref().map_or(0, |n| n.v);
        out.push(SeatEntry {
            setup: SeatSetup {
                number: no,
                label: label.map_or_else(|| no.to_string(), |l| l.v),
                default_participant: member.as_ref().map(|m| m.v.clone()),
                position,
            },
            number,
            member,
            place,
        });
    }
    out
}

/// Reads every `[[member]]`.
pub(crate) fn read_members(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Vec<MemberEntry> {
    let mut out = Vec::new();
    for mut t in root.tables(cx, "member") {
        let id = t.string(cx, "id");
        match &id {
            Some(id) => check_member_id(cx, &t, id),
            None if !t.has("id") => t.missing(cx, "id", "\"mueller\""),
            None => {}
        }
        let name = t.string(cx, "name");
        match &name {
            Some(n) => {
                non_empty(cx, &t, "name", n);
            }
            None if !t.has("name") => t.missing(cx, "name", "\"Anna Müller\""),
            None => {}
        }
        let group = t.string(cx, "group");
        if let Some(g) = &group
            && g.v.trim().is_empty()
        {
            cx.err(
                &g.span,
                t.field("group"),
                "group must not be empty",
                Some("leave `group` out for a member without a group".into()),
            );
        }
        let mut role = Role::Member;
        if let Some(r) = t.choice(cx, "role", "role", Role::NAMES) {
            match named::<Role>(r.v) {
                Some(v) => role = v,
                None => cx.err(
                    &r.span,
                    t.field("role"),
                    format!("`{}` is not supported by this version of podiumd", r.v),
                    None,
                ),
            }
        }
        let remote_allowed = t.boolean(cx, "remote_allowed").is_some_and(|b| b.v);
        let voting_right = t.boolean(cx, "voting_right").map_or_else(|| default_voting_right(role), |b| b.v);
        let nonpublic_allowed =
            t.boolean(cx, "nonpublic").map_or_else(|| default_voting_right(role), |b| b.v);
        let oparl_person = t.string(cx, "oparl_person").filter(|p| super::oparl::check_person(cx, &t, p));
        let badge = t.string(cx, "badge").and_then(|b| badge_uid(cx, &t, b));
        let pin = t.string(cx, "pin").filter(|p| pin_ok(cx, &t, p));
        let conference_name = t.string(cx, "conference_name").filter(|n| check_conference_name(cx, &t, n));
        t.finish(cx);
        out.push(MemberEntry {
            participant: Participant {
                id: id.as_ref().map(|i| i.v.clone()).unwrap_or_default(),
                name: name.map(|n| n.v).unwrap_or_default(),
                group: group.map(|g| g.v),
                role,
                remote_allowed,
                voting_right,
                nonpublic_allowed,
            },
            id,
            oparl_person: oparl_person.map(|p| Sp { v: p.v.trim().to_owned(), span: p.span }),
            badge,
            pin,
            conference_name: conference_name.map(|n| Sp { v: n.v.trim().to_owned(), span: n.span }),
        });
    }
    out
}

/// Checks a `[[member]] conference_name`: not empty, at most 100 characters.
fn check_conference_name(cx: &mut Cx<'_>, t: &Table<'_>, name: &Sp<String>) -> bool {
    if !super::non_empty(cx, t, "conference_name", name) {
        return false;
    }
    if name.v.chars().count() > 100 || name.v.chars().any(char::is_control) {
        cx.err(&name.span, t.field("conference_name"), "at most 100 characters, no control characters", None);
        return false;
    }
    true
}

/// A badge UID as written (`"04A1B2C3D4"`, hex, 1-8 bytes, `:` or spaces between bytes
/// allowed) as bytes, trailing zero bytes cut; an error at its place otherwise.
fn badge_uid(cx: &mut Cx<'_>, t: &Table<'_>, badge: Sp<String>) -> Option<Sp<Vec<u8>>> {
    let digits: String = badge.v.chars().filter(|c| !matches!(c, ':' | ' ' | '-')).collect();
    let bytes: Option<Vec<u8>> = (digits.len().is_multiple_of(2)
        && digits.chars().all(|c| c.is_ascii_hexdigit()))
    .then(|| {
        (0..digits.len()).step_by(2).filter_map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok()).collect()
    });
    let mut bytes = match bytes {
        Some(b) if (1..=8).contains(&b.len()) => b,
        _ => {
            cx.err(
                &badge.span,
                t.field("badge"),
                format!("`{}` is not a badge UID", badge.v),
                Some("write the UID in hex, 1 to 8 bytes, e.g. badge = \"04A1B2C3D4\"".into()),
            );
            return None;
        }
    };
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    if bytes.is_empty() {
        cx.err(&badge.span, t.field("badge"), "a badge UID must not be all zeros", None);
        return None;
    }
    Some(Sp { v: bytes, span: badge.span })
}

/// A PIN: 4 to 8 digits. The error never repeats the PIN.
fn pin_ok(cx: &mut Cx<'_>, t: &Table<'_>, pin: &Sp<String>) -> bool {
    let ok = (4..=8).contains(&pin.v.len()) && pin.v.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        cx.err(&pin.span, t.field("pin"), "a PIN must be 4 to 8 digits", Some("e.g. pin = \"4711\"".into()));
    }
    ok
}

/// Chair, vice chair and members vote (and attend non-public parts) by default; staff and
/// guests do not.
pub(crate) fn default_voting_right(role: Role) -> bool {
    matches!(role, Role::Chair | Role::ViceChair | Role::Member)
}

fn check_member_id(cx: &mut Cx<'_>, t: &Table<'_>, id: &Sp<String>) {
    if id.v.is_empty() {
        cx.err(&id.span, t.field("id"), "id must not be empty", None);
    } else if let Some(bad) = id.v.chars().find(|c| c.is_whitespace() || c.is_control()) {
        cx.err(
            &id.span,
            t.field("id"),
            format!("the member id `{}` contains {bad:?}", id.v),
            Some("member ids must not contain spaces or control characters, e.g. \"mueller\"".into()),
        );
    }
}

/// Cross-checks seats, members and the podium seat; reports duplicates and dangling
/// references at the later occurrence.
pub(crate) fn check(cx: &mut Cx<'_>, seats: &[SeatEntry], members: &[MemberEntry], discussion: &Discussion) {
    // Duplicate seat numbers.
    let mut seat_at: HashMap<SeatNo, usize> = HashMap::new();
    for (i, s) in seats.iter().enumerate() {
        let Some(n) = &s.number else { continue };
        if let Some(&first) = seat_at.get(&n.v) {
            let line = seats[first].number.as_ref().map_or(1, |f| cx.line_of(f.span.start));
            cx.err(
                &n.span,
                format!("seat[{}].number", i + 1),
                format!("seat {} appears twice (first at line {line})", n.v),
                Some("every seat number must be unique".into()),
            );
        } else {
            seat_at.insert(n.v, i);
        }
    }

    // Two seats in one place on the seat map.
    let mut placed: HashMap<SeatPosition, usize> = HashMap::new();
    for (i, s) in seats.iter().enumerate() {
        let Some(place) = &s.place else { continue };
        if let Some(&first) = placed.get(&place.v) {
            let other = seats[first].setup.number;
            cx.err(
                &place.span,
                format!("seat[{}].x", i + 1),
                format!(
                    "seat {} is placed where seat {other} is (x = {}, y = {})",
                    s.setup.number, place.v.x, place.v.y
                ),
                Some("every seat needs a place of its own on the seat map".into()),
            );
        } else {
            placed.insert(place.v, i);
        }
    }

    // Duplicate member ids.
    let mut member_at: HashMap<&str, usize> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        let Some(id) = &m.id else { continue };
        if let Some(&first) = member_at.get(id.v.as_str()) {
            let line = members[first].id.as_ref().map_or(1, |f| cx.line_of(f.span.start));
            cx.err(
                &id.span,
                format!("member[{}].id", i + 1),
                format!("member `{}` appears twice (first at line {line})", id.v),
                Some("every member id must be unique".into()),
            );
        } else {
            member_at.insert(&id.v, i);
        }
    }

    // One OParl person per member.
    let mut person_at: HashMap<&str, usize> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        let Some(p) = &m.oparl_person else { continue };
        if let Some(&first) = person_at.get(p.v.as_str()) {
            let first_id = members[first].participant.id.as_str();
            cx.err(
                &p.span,
                format!("member[{}].oparl_person", i + 1),
                format!("OParl person `{}` is already member `{first_id}`", p.v),
                Some("each OParl person maps to one member".into()),
            );
        } else {
            person_at.insert(&p.v, i);
        }
    }

    // Badges and PINs identify one member each.
    let mut badge_at: HashMap<&[u8], usize> = HashMap::new();
    let mut pin_at: HashMap<&str, usize> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        if let Some(b) = &m.badge {
            if let Some(&first) = badge_at.get(b.v.as_slice()) {
                let first_id = members[first].participant.id.as_str();
                cx.err(
                    &b.span,
                    format!("member[{}].badge", i + 1),
                    format!("this badge is already member `{first_id}`'s"),
                    Some("each badge identifies one member".into()),
                );
            } else {
                badge_at.insert(&b.v, i);
            }
        }
        if let Some(p) = &m.pin {
            if let Some(&first) = pin_at.get(p.v.as_str()) {
                let first_id = members[first].participant.id.as_str();
                cx.err(
                    &p.span,
                    format!("member[{}].pin", i + 1),
                    format!("this PIN is already member `{first_id}`'s"),
                    Some("each PIN identifies one member".into()),
                );
            } else {
                pin_at.insert(&p.v, i);
            }
        }
    }

    // Seats' members: must exist, and sit at one seat only.
    let mut seated_at: HashMap<&str, SeatNo> = HashMap::new();
    for (i, s) in seats.iter().enumerate() {
        let Some(m) = &s.member else { continue };
        if m.v.trim().is_empty() {
            continue; // already reported
        }
        let field = format!("seat[{}].member", i + 1);
        if !member_at.contains_key(m.v.as_str()) {
            let help = did_you_mean(&m.v, member_at.keys().copied())
                .unwrap_or_else(|| format!("add a [[member]] with id = \"{}\" or fix the id", m.v));
            cx.err(&m.span, field, format!("`{}` is not the id of any [[member]]", m.v), Some(help));
            continue;
        }
        let no = s.number.as_ref().map_or(0, |n| n.v);
        match seated_at.get(m.v.as_str()) {
            Some(&other) => cx.err(
                &m.span,
                field,
                format!("member `{}` is already seated at seat {other}", m.v),
                Some("a member can have only one seat; remote attendance needs no seat".into()),
            ),
            None => {
                seated_at.insert(&m.v, no);
            }
        }
    }

    // The podium seat must be a configured seat.
    if let Some(p) = &discussion.podium_seat
        && !seat_at.contains_key(&p.v)
    {
        cx.err(
            &p.span,
            "discussion.podium_seat",
            format!("seat {} is not configured", p.v),
            Some(format!("add a [[seat]] with number = {} or remove podium_seat", p.v)),
        );
    }
}
