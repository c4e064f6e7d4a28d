//! From collected OParl objects to the import: engine agenda items, the meeting, and the
//! member report. Pure: no I/O, so HTTP and files share it.

use std::collections::{BTreeMap, HashMap, HashSet};

use podium_floor::agenda::{MAX_ITEMS, MAX_NUMBER_CHARS, MAX_TITLE_CHARS};
use podium_floor::{AgendaItem, ItemKind, PaperRef, Publicity};

use super::classify::{Line, classify};
use super::model::{self, Kind, Ref, Typed};
use super::{
    Import, ImportReport, ImportedMeeting, MatchedMember, MemberLink, ObjectError, OparlSettings, PersonRef,
    UndecidedItem, UnmatchedMember,
};

/// An agenda item with where it was read (its meeting's URL or its own) and its JSON path.
#[derive(Debug, Clone)]
pub(crate) struct SourcedItem {
    pub item: model::AgendaItem,
    pub url: String,
    pub path: String,
}

/// Everything read for one meeting, before mapping.
#[derive(Debug, Clone, Default)]
pub(crate) struct Collected {
    /// Where the meeting was read (URL or file).
    pub meeting_url: String,
    pub meeting: model::Meeting,
    /// The agenda items in `Meeting.agendaItem` order, embedded ones resolved.
    pub items: Vec<SourcedItem>,
    pub organization: Option<model::Organization>,
    /// The organization's memberships (any date; filtered here).
    pub memberships: Vec<model::Membership>,
    pub persons: HashMap<String, model::Person>,
    pub consultations: HashMap<String, model::Consultation>,
    pub papers: HashMap<String, model::Paper>,
    pub warnings: Vec<String>,
}

/// Checks an object's `type`; a wrong one is an error at `url`, `path.type`.
pub(crate) fn check_type<T: Typed>(object: &T, kind: Kind, url: &str, path: &str) -> Result<(), ObjectError> {
    model::check_type(object.type_url(), kind)
        .map(|_| ())
        .map_err(|message| ObjectError::new(url, Some(format!("{path}.type")), message))
}

/// A meeting that cannot be imported whatever else is read: deleted or cancelled.
pub(crate) fn refuse_meeting(meeting: &model::Meeting, url: &str) -> Vec<ObjectError> {
    let mut errors = Vec::new();
    if meeting.is_deleted() {
        errors.push(ObjectError::new(url, Some("$.deleted".into()), "the meeting is deleted in the RIS"));
    }
    if meeting.cancelled == Some(true) {
        errors.push(ObjectError::new(url, Some("$.cancelled".into()), "the meeting is cancelled"));
    }
    errors
}

/// The paper an agenda item deals with, if its consultation and paper were read.
fn paper_of(item: &model::AgendaItem, c: &Collected) -> Option<PaperRef> {
    let consultation = match item.consultation.as_ref()? {
        Ref::Embedded(c) => Some(c.as_ref()),
        Ref::Url(url) => c.consultations.get(url),
    }?;
    let (paper, url) = match consultation.paper.as_ref()? {
        Ref::Embedded(p) => (Some(p.as_ref()), p.id.clone()),
        Ref::Url(url) => (c.papers.get(url), Some(url.clone())),
    };
    let paper = paper?;
    if paper.is_deleted() {
        return None;
    }
    Some(PaperRef {
        reference: paper.reference.clone().filter(|r| !r.trim().is_empty()),
        name: paper.name.clone().filter(|n| !n.trim().is_empty()),
        oparl_id: paper.id.clone().or(url),
    })
}

/// Whitespace (also newlines, which RIS titles often carry) collapsed; cut to `max` chars.
fn clean(text: &str, max: usize, what: &str, at: &str, warnings: &mut Vec<String>) -> String {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    if text.chars().count() > max {
        warnings.push(format!("{at}: {what} longer than {max} characters, cut"));
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// The date part (`yyyy-mm-dd`) of a date or date-time, if well formed.
fn date_of(text: &str) -> Option<&str> {
    let date = text.trim().get(..10)?;
    let b = date.as_bytes();
    let ok =
        b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    ok.then_some(date)
}

/// Builds the import from what was read.
pub(crate) fn build(
    mut c: Collected,
    members: &[MemberLink],
    settings: &OparlSettings,
) -> Result<Import, Vec<ObjectError>> {
    let url = c.meeting_url.clone();
    let mut errors = Vec::new();
    let mut warnings = std::mem::take(&mut c.warnings);
    if let Err(e) = check_type(&c.meeting, Kind::Meeting, &url, "$") {
        errors.push(e);
    }
    errors.extend(refuse_meeting(&c.meeting, &url));
    for s in &c.items {
        if let Err(e) = check_type(&s.item, Kind::AgendaItem, &s.url, &s.path) {
            errors.push(e);
        }
    }
    if c.items.len() > MAX_ITEMS {
        errors.push(ObjectError::new(
            &url,
            Some("$.agendaItem".into()),
            format!("{} agenda items; at most {MAX_ITEMS} are supported", c.items.len()),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Deleted items are left out before classification: they carry no section.
    let mut report = ImportReport::default();
    let mut live: Vec<&SourcedItem> = Vec::with_capacity(c.items.len());
    for s in &c.items {
        if s.item.is_deleted() {
            report.skipped_deleted.push(s.item.id.clone().unwrap_or_else(|| format!("{} {}", s.url, s.path)));
        } else {
            live.push(s);
        }
    }

    // Order: `order` when every item has one and they are distinct, else array order.
    let missing = live.iter().filter(|s| s.item.order.is_none()).count();
    if missing > 0 {
        warnings.push(format!(
            "{url}: {missing} of {} agenda items have no `order` (required since OParl 1.1); kept in the order of Meeting.agendaItem",
            live.len()
        ));
    } else {
        let distinct: HashSet<i64> = live.iter().filter_map(|s| s.item.order).collect();
        if distinct.len() == live.len() {
            let before: Vec<*const SourcedItem> = live.iter().map(|s| *s as *const _).collect();
            live.sort_by_key(|s| s.item.order);
            if live.iter().zip(&before).any(|(s, b)| !std::ptr::eq(*s, *b)) {
                warnings.push(format!("{url}: agenda items sorted by `order`, which differs from their order in Meeting.agendaItem"));
            }
        } else {
            warnings.push(format!(
                "{url}: agenda items share an `order` value; kept in the order of Meeting.agendaItem"
            ));
        }
    }

    let lines: Vec<Line<'_>> = live
        .iter()
        .map(|s| Line {
            number: s.item.number.as_deref(),
            name: s.item.name.as_deref(),
            public: s.item.public,
        })
        .collect();
    let verdicts = classify(&lines, &settings.markers());
    let mut items = Vec::with_capacity(live.len());
    for (index, (s, verdict)) in live.iter().zip(verdicts).enumerate() {
        let id = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let at = s.item.id.clone().unwrap_or_else(|| format!("{} {}", s.url, s.path));
        let number =
            clean(s.item.number.as_deref().unwrap_or(""), MAX_NUMBER_CHARS, "number", &at, &mut warnings);
        let mut title =
            clean(s.item.name.as_deref().unwrap_or(""), MAX_TITLE_CHARS, "name", &at, &mut warnings);
        if title.is_empty() {
            warnings.push(format!("{at}: agenda item without a name"));
            title = if number.is_empty() { "(ohne Titel)".to_owned() } else { format!("TOP {number}") };
        }
        if s.item.id.is_none() {
            warnings.push(format!("{at}: agenda item without an id; minutes cannot refer back to it"));
        }
        let paper = if verdict.kind == ItemKind::Item { paper_of(&s.item, &c) } else { None };
        let item = AgendaItem {
            id,
            number,
            title,
            kind: verdict.kind,
            publicity: verdict.publicity,
            paper,
            oparl_id: s.item.id.clone(),
            speaking_time: None,
        };
        if verdict.publicity == Publicity::Undecided {
            report.undecided.push(UndecidedItem {
                item: id,
                label: item.label(),
                reason: verdict.note.clone().unwrap_or_else(|| "not classified".into()),
            });
        } else if let Some(note) = &verdict.note {
            warnings.push(format!("{}: {note}", item.label()));
        }
        items.push(item);
    }

    // The meeting.
    let org = c.organization.as_ref();
    let org_name = org.and_then(|o| o.name.clone().or_else(|| o.short_name.clone()));
    let title = match c.meeting.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => clean(name, MAX_TITLE_CHARS, "meeting name", &url, &mut warnings),
        None => {
            warnings.push(format!("{url}: the meeting has no name"));
            org_name.clone().map_or_else(|| "Sitzung".to_owned(), |o| format!("Sitzung {o}"))
        }
    };
    let place = match &c.meeting.location {
        Some(Ref::Embedded(l)) => l.description.clone().filter(|d| !d.trim().is_empty()),
        Some(Ref::Url(l)) => {
            warnings.push(format!("{url}: location given as a URL ({l}); place left empty"));
            None
        }
        None => None,
    };
    let meeting = ImportedMeeting {
        title,
        body: org_name,
        body_short_name: org.and_then(|o| o.short_name.clone()),
        body_oparl_id: org.and_then(|o| o.id.clone()),
        oparl_id: c.meeting.id.clone(),
        start: c.meeting.start.clone(),
        end: c.meeting.end.clone(),
        place,
        statutory_members: None,
    };

    let mut meeting = meeting;
    meeting.statutory_members = match_members(&c, members, &mut report, &mut warnings);
    report.warnings = warnings;
    Ok(Import { meeting, items, report })
}

/// Persons of the organization at the meeting's date, matched to the room's members; the
/// number of them with a vote (none without an organization or without any).
fn match_members(
    c: &Collected,
    members: &[MemberLink],
    report: &mut ImportReport,
    warnings: &mut Vec<String>,
) -> Option<u32> {
    let Some(org) = &c.organization else {
        for m in members {
            if let Some(person) = &m.oparl_person {
                report
                    .unmatched_members
                    .push(UnmatchedMember { member: m.id.clone(), oparl_person: person.clone() });
            } else {
                report.unmapped_members.push(m.id.clone());
            }
        }
        return None;
    };
    let day = c.meeting.start.as_deref().and_then(date_of);
    if day.is_none() {
        warnings.push(format!(
            "{}: the meeting has no valid start; memberships are taken regardless of their dates",
            c.meeting_url
        ));
    }
    // Person URL → the membership that counts (the first active one).
    let mut active: BTreeMap<String, &model::Membership> = BTreeMap::new();
    for m in &c.memberships {
        if m.is_deleted() {
            continue;
        }
        if let (Some(of), Some(org_id)) = (&m.organization, &org.id)
            && of != org_id
        {
            continue;
        }
        let Some(person) = m.person.as_ref().and_then(Ref::id) else {
            warnings.push(format!("{}: membership without a person", m.id.as_deref().unwrap_or("(no id)")));
            continue;
        };
        let mut within = |date: &Option<String>, after: bool| -> bool {
            let (Some(day), Some(text)) = (day, date.as_deref()) else { return true };
            match date_of(text) {
                Some(d) if after => day >= d,
                Some(d) => day <= d,
                None => {
                    warnings.push(format!(
                        "{}: unreadable date {text:?}; membership counted",
                        m.id.as_deref().unwrap_or("(no id)")
                    ));
                    true
                }
            }
        };
        if within(&m.start_date, true) && within(&m.end_date, false) {
            active.entry(person.to_owned()).or_insert(m);
        }
    }
    let person_of = |id: &str| -> Option<&model::Person> {
        c.persons.get(id).or_else(|| {
            c.memberships.iter().find_map(|m| match &m.person {
                Some(Ref::Embedded(p)) if p.id.as_deref() == Some(id) => Some(p.as_ref()),
                _ => None,
            })
        })
    };
    let mut matched: HashSet<&str> = HashSet::new();
    for member in members {
        let Some(url) = &member.oparl_person else {
            report.unmapped_members.push(member.id.clone());
            continue;
        };
        match active.get(url.as_str()) {
            Some(m) if !person_of(url).is_some_and(Typed::is_deleted) => {
                matched.insert(url.as_str());
                report.matched_members.push(MatchedMember {
                    member: member.id.clone(),
                    oparl_person: url.clone(),
                    name: person_of(url).and_then(model::Person::display_name),
                    voting_right: m.voting_right,
                    role: m.role.clone(),
                });
            }
            _ => report
                .unmatched_members
                .push(UnmatchedMember { member: member.id.clone(), oparl_person: url.clone() }),
        }
    }
    for person in active.keys() {
        let p = person_of(person);
        if matched.contains(person.as_str()) || p.is_some_and(Typed::is_deleted) {
            continue;
        }
        report
            .unmatched_persons
            .push(PersonRef { oparl_id: person.clone(), name: p.and_then(model::Person::display_name) });
    }
    let voting = active
        .iter()
        .filter(|(person, m)| {
            m.voting_right != Some(false) && !person_of(person).is_some_and(Typed::is_deleted)
        })
        .count();
    u32::try_from(voting).ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(
        id: &str,
        number: Option<&str>,
        name: &str,
        order: Option<i64>,
        public: Option<bool>,
    ) -> SourcedItem {
        SourcedItem {
            item: model::AgendaItem {
                id: Some(id.into()),
                kind: Some("https://schema.oparl.org/1.1/AgendaItem".into()),
                number: number.map(Into::into),
                order,
                name: Some(name.into()),
                public,
                ..Default::default()
            },
            url: "https://ris/meeting/1".into(),
            path: "$.agendaItem[0]".into(),
        }
    }

    fn collected(items: Vec<SourcedItem>) -> Collected {
        Collected {
            meeting_url: "https://ris/meeting/1".into(),
            meeting: model::Meeting {
                id: Some("https://ris/meeting/1".into()),
                kind: Some("https://schema.oparl.org/1.1/Meeting".into()),
                name: Some("Rat".into()),
                ..Default::default()
            },
            items,
            ..Default::default()
        }
    }

    #[test]
    fn without_order_the_array_order_is_kept_with_a_warning() {
        let c = collected(vec![
            item("b", Some("2"), "B", None, Some(true)),
            item("a", Some("1"), "A", Some(0), Some(true)),
        ]);
        let import = build(c, &[], &OparlSettings::default()).unwrap();
        let ids: Vec<_> = import.items.iter().map(|i| (i.id, i.oparl_id.clone().unwrap())).collect();
        assert_eq!(ids, vec![(1, "b".to_owned()), (2, "a".to_owned())]);
        assert!(import.report.warnings.iter().any(|w| w.contains("1 of 2 agenda items have no `order`")));
    }

    #[test]
    fn with_order_items_are_sorted_by_it() {
        let c = collected(vec![
            item("b", Some("2"), "B", Some(1), Some(true)),
            item("a", Some("1"), "A", Some(0), Some(true)),
        ]);
        let import = build(c, &[], &OparlSettings::default()).unwrap();
        let ids: Vec<_> = import.items.iter().map(|i| i.oparl_id.clone().unwrap()).collect();
        assert_eq!(ids, vec!["a", "b"]);
        assert!(import.report.warnings.iter().any(|w| w.contains("sorted by `order`")));
    }

    #[test]
    fn deleted_and_cancelled() {
        let mut gone = item("x", Some("3"), "X", None, Some(true));
        gone.item.deleted = Some(true);
        let import = build(collected(vec![gone]), &[], &OparlSettings::default()).unwrap();
        assert!(import.items.is_empty());
        assert_eq!(import.report.skipped_deleted, vec!["x"]);
        let mut c = collected(vec![]);
        c.meeting.cancelled = Some(true);
        let errors = build(c, &[], &OparlSettings::default()).unwrap_err();
        assert_eq!(errors[0].path.as_deref(), Some("$.cancelled"));
    }

    #[test]
    fn long_and_multi_line_titles_are_cleaned() {
        let long = "Wort ".repeat(200);
        let c = collected(vec![item(
            "a",
            Some("1\n"),
            &format!("Bebauungsplan\nNr. 1 {long}"),
            Some(0),
            Some(true),
        )]);
        let import = build(c, &[], &OparlSettings::default()).unwrap();
        let it = &import.items[0];
        assert_eq!(it.number, "1");
        assert!(it.title.starts_with("Bebauungsplan Nr. 1 Wort"));
        assert_eq!(it.title.chars().count(), MAX_TITLE_CHARS);
        assert_eq!(it.invalid_field(), None);
    }

    #[test]
    fn the_statutory_number_is_the_organizations_voting_members_at_the_meeting_date() {
        let mut c = collected(vec![item("https://ris/ai/1", Some("Ö 1"), "Eröffnung", Some(1), Some(true))]);
        c.meeting.start = Some("2024-05-02T17:00:00+02:00".into());
        c.organization =
            Some(model::Organization { id: Some("https://ris/org/1".into()), ..Default::default() });
        let membership = |n: u32, voting: Option<bool>, end: Option<&str>| model::Membership {
            id: Some(format!("https://ris/membership/{n}")),
            person: Some(Ref::Url(format!("https://ris/person/{n}"))),
            organization: Some("https://ris/org/1".into()),
            voting_right: voting,
            end_date: end.map(Into::into),
            ..Default::default()
        };
        c.memberships = vec![
            membership(1, Some(true), None),
            membership(2, None, None),        // no votingRight given: counts
            membership(3, Some(false), None), // advisory member: does not count
            membership(4, Some(true), Some("2023-12-31")), // left before the meeting
            membership(5, Some(true), Some("2024-12-31")),
        ];
        let import = build(c, &[], &OparlSettings::default()).unwrap();
        assert_eq!(import.meeting.statutory_members, Some(3));
        let none = build(collected(vec![]), &[], &OparlSettings::default()).unwrap();
        assert_eq!(none.meeting.statutory_members, None, "no organization, no number");
    }

    #[test]
    fn dates() {
        assert_eq!(date_of("2013-12-03T16:30:00+01:00"), Some("2013-12-03"));
        assert_eq!(date_of("2013-12-03"), Some("2013-12-03"));
        assert_eq!(date_of("3.12.2013"), None);
        assert_eq!(date_of("2013"), None);
    }
}
