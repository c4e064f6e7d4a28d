//! `[oparl]`: how `podiumd agenda import` reads an OParl endpoint and classifies agenda
//! items; and the `[[member]] oparl_person` check.

use std::time::Duration;

use super::super::reader::{Cx, Sp, Table};
use crate::oparl::OparlSettings;

/// Longest allowed `request_timeout_s`.
pub(crate) const MAX_REQUEST_TIMEOUT_S: i64 = 300;
/// Longest allowed `total_timeout_s`.
pub(crate) const MAX_TOTAL_TIMEOUT_S: i64 = 3_600;

/// Reads `[oparl]` (optional).
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> OparlSettings {
    let mut settings = OparlSettings::default();
    let Some(mut t) = root.table(cx, "oparl") else {
        return settings;
    };
    if let Some(url) = t.string(cx, "system") {
        let v = url.v.trim();
        let ok = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://")).is_some_and(|rest| {
            !rest.is_empty() && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
        });
        if ok {
            settings.system = Some(v.to_owned());
        } else {
            cx.err(
                &url.span,
                t.field("system"),
                format!("`{}` is not an OParl System URL", url.v),
                Some("the endpoint your RIS vendor publishes, e.g. \"https://ris.example.org/oparl/v1/system\"".into()),
            );
        }
    }
    if let Some(s) = t.integer_in(cx, "request_timeout_s", 1, MAX_REQUEST_TIMEOUT_S) {
        settings.request_timeout = Duration::from_secs(s.v.unsigned_abs());
    }
    if let Some(s) = t.integer_in(cx, "total_timeout_s", 1, MAX_TOTAL_TIMEOUT_S) {
        settings.total_timeout = Duration::from_secs(s.v.unsigned_abs());
    }
    for (key, target) in [
        ("public_markers", &mut settings.public_markers),
        ("non_public_markers", &mut settings.non_public_markers),
    ] {
        if let Some(markers) = t.array_of_strings(cx, key) {
            let mut ok = Vec::new();
            for m in markers {
                if m.v.trim().is_empty() {
                    cx.err(&m.span, t.field(key), "a section marker must not be empty", None);
                } else {
                    ok.push(m.v);
                }
            }
            *target = ok;
        }
    }
    t.finish(cx);
    settings
}

/// Checks a `[[member]] oparl_person`: an http(s) URL without spaces.
pub(crate) fn check_person(cx: &mut Cx<'_>, t: &Table<'_>, url: &Sp<String>) -> bool {
    let v = url.v.trim();
    let scheme_ok =
        v.strip_prefix("https://").or_else(|| v.strip_prefix("http://")).is_some_and(|rest| !rest.is_empty());
    if !scheme_ok || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        cx.err(
            &url.span,
            t.field("oparl_person"),
            format!("`{}` is not an OParl Person URL", url.v),
            Some(
                "write the person's `id` from the RIS, e.g. \"https://ris.example.org/oparl/person/29\""
                    .into(),
            ),
        );
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::{ConfigError, RoomConfig, parse};

    const ROOM: &str = "[room]\nid = \"r\"\nname = \"R\"\n";

    fn ok(text: &str) -> RoomConfig {
        parse(text, Path::new("room.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn errors(text: &str) -> Vec<ConfigError> {
        parse(text, Path::new("room.toml")).map(|_| ()).expect_err("errors").0
    }

    #[test]
    fn oparl_person_is_read_and_exposed_per_member() {
        let room = ok(&format!(
            "{ROOM}\n[[member]]\nid = \"a\"\nname = \"A\"\noparl_person = \"https://ris/person/1\"\n\n\
             [[member]]\nid = \"b\"\nname = \"B\"\n"
        ));
        let links = room.oparl_members();
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].oparl_person.as_deref(), Some("https://ris/person/1"));
        assert_eq!(links[1].oparl_person, None);
    }

    #[test]
    fn a_bad_or_repeated_oparl_person_is_an_error_at_its_place() {
        let text = format!(
            "{ROOM}\n[[member]]\nid = \"a\"\nname = \"A\"\noparl_person = \"person/1\"\n\n\
             [[member]]\nid = \"b\"\nname = \"B\"\noparl_person = \"https://ris/person/2\"\n\n\
             [[member]]\nid = \"c\"\nname = \"C\"\noparl_person = \"https://ris/person/2\"\n"
        );
        let errs = errors(&text);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].field, "member[1].oparl_person");
        assert_eq!(errs[0].line, 8);
        assert!(errs[0].message.contains("not an OParl Person URL"), "{}", errs[0].message);
        assert_eq!(errs[1].field, "member[3].oparl_person");
        assert_eq!(errs[1].line, 18);
        assert!(errs[1].message.contains("already member `b`"), "{}", errs[1].message);
    }

    #[test]
    fn the_oparl_section_is_read_and_checked() {
        let room = ok(&format!(
            "{ROOM}\n[oparl]\nrequest_timeout_s = 3\ntotal_timeout_s = 30\n\
             public_markers = [\"Teil I\"]\nnon_public_markers = [\"Teil II\", \"Geheim\"]\n"
        ));
        assert_eq!(room.oparl.request_timeout, Duration::from_secs(3));
        assert_eq!(room.oparl.total_timeout, Duration::from_secs(30));
        assert_eq!(room.oparl.public_markers, vec!["Teil I"]);
        assert_eq!(room.oparl.non_public_markers.len(), 2);
        let errs = errors(&format!(
            "{ROOM}\n[oparl]\nrequest_timeout_s = 0\ntimeout = 3\npublic_markers = [\"\"]\n"
        ));
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["oparl.request_timeout_s", "oparl.timeout", "oparl.public_markers"],
            "{errs:?}"
        );
    }
}
