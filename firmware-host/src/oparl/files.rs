//! Reading a meeting from files, for a RIS without a reachable endpoint (or an export).
//!
//! Layout (config/README.md, "OParl import"):
//! - a single file: an OParl Meeting with its `agendaItem` embedded; its `organization`
//!   may be embedded too (with embedded `membership` and `person`);
//! - a directory: `meeting.json` (required) and, optionally, `organization.json` (one
//!   Organization), `memberships.json`, `persons.json`, `consultations.json` and
//!   `papers.json`, each a list page (`{"data": [...]}`) or a plain JSON array.
//!   References by URL are looked up by `id` among these files.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::fetch::parse;
use super::map::{Collected, SourcedItem, check_type, refuse_meeting};
use super::model::{self, Kind, Page, Ref, Typed};
use super::{ObjectError, OparlSettings};

fn shown(path: &Path) -> String {
    path.display().to_string()
}

fn read(path: &Path, max: usize) -> Result<Vec<u8>, ObjectError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ObjectError::new(shown(path), None, format!("cannot open: {e}")))?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ObjectError::new(shown(path), None, format!("cannot read: {e}")))?;
    if bytes.len() > max {
        return Err(ObjectError::new(shown(path), None, format!("larger than {max} bytes")));
    }
    Ok(bytes)
}

/// A list file: a page or a plain array; objects' types checked, deleted ones dropped.
fn read_list<T: DeserializeOwned + Typed>(
    path: &Path,
    kind: Kind,
    max: usize,
) -> Result<Vec<T>, ObjectError> {
    let bytes = read(path, max)?;
    let name = shown(path);
    let array = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let (objects, prefix) = if array {
        (parse::<Vec<T>>(&name, &bytes)?, "$")
    } else {
        (parse::<Page<T>>(&name, &bytes)?.data, "$.data")
    };
    let mut out = Vec::with_capacity(objects.len());
    for (i, o) in objects.into_iter().enumerate() {
        check_type(&o, kind, &name, &format!("{prefix}[{i}]"))?;
        if !o.is_deleted() {
            out.push(o);
        }
    }
    Ok(out)
}

fn optional_list<T: DeserializeOwned + Typed>(
    dir: &Path,
    file: &str,
    kind: Kind,
    max: usize,
    errors: &mut Vec<ObjectError>,
) -> Vec<T> {
    let path = dir.join(file);
    if !path.exists() {
        return Vec::new();
    }
    read_list(&path, kind, max).unwrap_or_else(|e| {
        errors.push(e);
        Vec::new()
    })
}

fn by_id<T: model::HasId>(objects: Vec<T>) -> HashMap<String, T> {
    objects.into_iter().filter_map(|o| o.id().map(str::to_owned).map(|id| (id, o))).collect()
}

/// Reads the meeting and what it refers to from `path` (a file or a directory).
pub(crate) fn collect(path: &Path, settings: &OparlSettings) -> Result<Collected, Vec<ObjectError>> {
    let max = settings.max_body_bytes;
    let (meeting_path, dir): (PathBuf, Option<&Path>) =
        if path.is_dir() { (path.join("meeting.json"), Some(path)) } else { (path.to_owned(), None) };
    let name = shown(&meeting_path);
    let bytes = read(&meeting_path, max).map_err(|e| vec![e])?;
    let meeting: model::Meeting = parse(&name, &bytes).map_err(|e| vec![e])?;
    check_type(&meeting, Kind::Meeting, &name, "$").map_err(|e| vec![e])?;
    let refused = refuse_meeting(&meeting, &name);
    if !refused.is_empty() {
        return Err(refused);
    }

    let mut errors = Vec::new();
    let mut c = Collected { meeting_url: name.clone(), ..Default::default() };
    for (i, r) in meeting.agenda_item.clone().unwrap_or_default().into_iter().enumerate() {
        match r {
            Ref::Embedded(item) => c.items.push(SourcedItem {
                item: *item,
                url: name.clone(),
                path: format!("$.agendaItem[{i}]"),
            }),
            Ref::Url(u) => errors.push(ObjectError::new(
                &name,
                Some(format!("$.agendaItem[{i}]")),
                format!("agenda item {u} given as a URL; files must embed the agenda items"),
            )),
        }
    }

    let (organization_file, memberships, persons) = match dir {
        Some(dir) => {
            let org_path = dir.join("organization.json");
            let org = if org_path.exists() {
                match read(&org_path, max).and_then(|b| parse::<model::Organization>(&shown(&org_path), &b)) {
                    Ok(o) => match check_type(&o, Kind::Organization, &shown(&org_path), "$") {
                        Ok(()) => Some(o),
                        Err(e) => {
                            errors.push(e);
                            None
                        }
                    },
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                }
            } else {
                None
            };
            c.consultations =
                by_id(optional_list(dir, "consultations.json", Kind::Consultation, max, &mut errors));
            c.papers = by_id(optional_list(dir, "papers.json", Kind::Paper, max, &mut errors));
            let memberships: Vec<model::Membership> =
                optional_list(dir, "memberships.json", Kind::Membership, max, &mut errors);
            let persons =
                by_id(optional_list::<model::Person>(dir, "persons.json", Kind::Person, max, &mut errors));
            (org, memberships, persons)
        }
        None => (None, Vec::new(), HashMap::new()),
    };

    // The organization: embedded in the meeting, or organization.json with the same id.
    let first = meeting.organization.as_ref().and_then(|o| o.first()).cloned();
    let organization = match (first, organization_file) {
        (Some(Ref::Embedded(o)), _) => {
            match check_type(o.as_ref(), Kind::Organization, &name, "$.organization[0]") {
                Ok(()) => Some(*o),
                Err(e) => {
                    errors.push(e);
                    None
                }
            }
        }
        (Some(Ref::Url(u)), Some(o)) if o.id.as_deref() == Some(u.as_str()) => Some(o),
        (Some(Ref::Url(u)), _) => {
            c.warnings.push(format!(
                "{name}: organization {u} is not embedded and not in organization.json; no members to match"
            ));
            None
        }
        (None, o) => o,
    };
    if let Some(org) = &organization {
        let by_membership_id = by_id(memberships.clone());
        for (i, r) in org.membership.clone().unwrap_or_default().into_iter().enumerate() {
            match r {
                Ref::Embedded(m) => c.memberships.push(*m),
                Ref::Url(u) => match by_membership_id.get(&u) {
                    Some(m) => c.memberships.push(m.clone()),
                    None => errors.push(ObjectError::new(
                        &name,
                        Some(format!(
                            "organization {}: $.membership[{i}]",
                            org.id.as_deref().unwrap_or("(no id)")
                        )),
                        format!("membership {u} is not in memberships.json"),
                    )),
                },
            }
        }
        if org.membership.is_none() {
            // No list in the organization: every membership that names it.
            c.memberships.extend(
                memberships.into_iter().filter(|m| m.organization.is_some() && m.organization == org.id),
            );
        }
        for m in &c.memberships {
            if let Some(Ref::Url(p)) = &m.person
                && !persons.contains_key(p)
            {
                errors.push(ObjectError::new(
                    m.id.as_deref().unwrap_or("(membership without id)"),
                    Some("$.person".into()),
                    format!("person {p} is not in persons.json"),
                ));
            }
        }
    }
    c.persons = persons;
    c.organization = organization;
    c.meeting = meeting;
    if errors.is_empty() { Ok(c) } else { Err(errors) }
}
