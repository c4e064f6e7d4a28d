//! `[room]`: which room this daemon serves.

use super::super::reader::{Cx, Table};
use super::non_empty;

/// The validated `[room]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Room {
    pub id: String,
    pub name: String,
}

/// Longest allowed room id.
pub(crate) const MAX_ID_LEN: usize = 64;

/// Reads `[room]` (required).
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Room {
    let mut room = Room { id: String::new(), name: String::new() };
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
