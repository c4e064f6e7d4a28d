//! `[room]`: which room this daemon serves.

use super::super::reader::{Cx, Table};
use super::non_empty;

/// The validated `[room]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Room {
    pub id: String,
    pub name: String,
    /// IANA time zone of the room, for the minutes and consoles.
    pub time_zone: String,
}

/// Who signs the printed minutes by default (Saxony, SächsGemO § 40: the chair, two
/// members who attended, the secretary).
pub const DEFAULT_SIGNATORIES: [&str; 4] =
    ["Vorsitz", "Stadtrat/Stadträtin", "Stadtrat/Stadträtin", "Schriftführung"];

/// Reads `[minutes]` (optional): the signature lines of the printed minutes.
pub(crate) fn read_minutes(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Vec<String> {
    let default = || DEFAULT_SIGNATORIES.iter().map(|s| (*s).to_owned()).collect();
    let Some(mut t) = root.table(cx, "minutes") else { return default() };
    let lines = match t.array_of_strings(cx, "signatories") {
        Some(lines) => {
            for line in &lines {
                if line.v.trim().is_empty()
                    || line.v.chars().count() > 100
                    || line.v.chars().any(char::is_control)
                {
                    cx.err(
                        &line.span,
                        t.field("signatories"),
                        "a signature line has 1 to 100 characters and no control characters",
                        None,
                    );
                }
            }
            if lines.len() > 10 {
                cx.err(&lines[10].span, t.field("signatories"), "at most 10 signature lines", None);
            }
            lines.into_iter().map(|l| l.v).collect()
        }
        None => default(),
    };
    t.finish(cx);
    lines
}

/// Longest allowed room id.
pub(crate) const MAX_ID_LEN: usize = 64;

/// Reads `[room]` (required).
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Room {
    let mut room = Room {
        id: String::new(),
        name: String::new(),
        time_zone: crate::journal::time::DEFAULT_TIME_ZONE.to_owned(),
    };
    let Some(mut t) = root.table(cx, "room") else {
        // Report "missing" only if the key is absent, not if it had the wrong type.
        if !root.has("room") {
            root.missing(cx, "room", " with `id` and `name`");
        }
        return room;
    };
    match t.string(cx, "id") {
        Some(id) => {
            if let Some((message, help)) = check_id(&id.v) {
                cx.err(&id.span, t.field("id"), message, Some(help));
            }
            room.id = id.v;
        }
        None if !t.has("id") => t.missing(cx, "id", "\"ratssaal\""),
        None => {}
    }
    match t.string(cx, "name") {
        Some(name) => {
            non_empty(cx, &t, "name", &name);
            room.name = name.v;
        }
        None if !t.has("name") => t.missing(cx, "name", "\"Ratssaal\""),
        None => {}
    }
    if let Some(zone) = t.string(cx, "time_zone") {
        match crate::journal::time::LocalTime::new(&zone.v) {
            Ok(_) => room.time_zone = zone.v,
            Err(message) => cx.err(
                &zone.span,
                t.field("time_zone"),
                message,
                Some("an IANA time zone name such as \"Europe/Berlin\"".into()),
            ),
        }
    }
    t.finish(cx);
    room
}

/// Checks a room id; returns message and help if it is not valid.
fn check_id(id: &str) -> Option<(String, String)> {
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if id.is_empty() {
        return Some((
            "the room id must not be empty".into(),
            "use lowercase letters, digits, `-` and `_`, e.g. \"ratssaal\"".into(),
        ));
    }
    if id.chars().count() > MAX_ID_LEN {
        return Some((
            format!("the room id is longer than {MAX_ID_LEN} characters"),
            "use a short name such as \"ratssaal\"".into(),
        ));
    }
    if let Some(bad) = id.chars().find(|c| !valid_char(*c)) {
        let slug = slug(id);
        let help = if slug.is_empty() {
            "use lowercase letters, digits, `-` and `_`, e.g. \"ratssaal\"".to_owned()
        } else {
            format!("use lowercase letters, digits, `-` and `_`, e.g. \"{slug}\"")
        };
        return Some((
            format!("the room id `{id}` contains {bad:?}, which is not allowed (it is used in MQTT topics)"),
            help,
        ));
    }
    None
}

/// A valid id made from any text: "Ratssaal Süd" → "ratssaal-sued".
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let repl: &str = match c {
            'ä' | 'Ä' => "ae",
            'ö' | 'Ö' => "oe",
            'ü' | 'Ü' => "ue",
            'ß' => "ss",
            c if c.is_ascii_alphanumeric() || c == '_' => {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            _ => "-",
        };
        out.push_str(repl);
    }
    let mut collapsed = String::new();
    for part in out.split('-').filter(|p| !p.is_empty()) {
        if !collapsed.is_empty() {
            collapsed.push('-');
        }
        collapsed.push_str(part);
    }
    collapsed.chars().take(MAX_ID_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Ratssaal Süd"), "ratssaal-sued");
        assert_eq!(slug("  A/B  "), "a-b");
        assert_eq!(slug("!!"), "");
        assert!(check_id("ratssaal-2_b").is_none());
        assert!(check_id("Ratssaal").is_some());
        assert!(check_id("").is_some());
        assert!(check_id(&"a".repeat(65)).is_some());
    }
}
