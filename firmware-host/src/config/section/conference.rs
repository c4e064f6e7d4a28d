//! `[jitsi]`: the Jitsi Meet conference the bridge page joins; and `[[member]]
//! conference_name`, the name a member is known by there.

use std::collections::HashMap;

use super::super::reader::{Cx, Table};
use super::seating::MemberEntry;

/// The room's Jitsi Meet conference, for the bridge page (`/bridge/jitsi`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct JitsiConfig {
    /// The conference as written: `https://<server>/<room>`.
    pub url: String,
    /// What `JitsiMeetExternalAPI` takes as `domain`: the server, with a path prefix if the
    /// deployment has one (everything between the scheme and the room).
    pub domain: String,
    /// The conference room's name (the URL's last segment).
    pub room: String,
    /// Where the server's IFrame API script is: `external_api`, or `<server>/external_api.js`.
    pub external_api: String,
    /// Whether the server speaks plain HTTP (a test stand-in; a real deployment is HTTPS).
    pub no_ssl: bool,
    /// The name the room's conference PC joins with (default: the room's name).
    pub display_name: String,
    /// Mute every remote participant who does not have the floor, members and others
    /// alike (default true); off, the bridge mutes only the members it knows.
    pub mute_others: bool,
}

/// Reads `[jitsi]` (optional); `room_name` is the default display name.
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>, room_name: &str) -> Option<JitsiConfig> {
    let mut t = root.table(cx, "jitsi")?;
    let url = t.string(cx, "url");
    let parsed = match &url {
        Some(url) => {
            let parsed = split_url(url.v.trim());
            if parsed.is_none() {
                cx.err(
                    &url.span,
                    t.field("url"),
                    format!("`{}` is not the address of a Jitsi Meet conference", url.v),
                    Some(
                        "the server and the room, e.g. url = \"https://meet.stadt.example/Ratssitzung\""
                            .into(),
                    ),
                );
            }
            parsed
        }
        None => {
            t.missing(cx, "url", "\"https://meet.stadt.example/Ratssitzung\"");
            None
        }
    };
    let external_api = t.string(cx, "external_api").filter(|s| {
        let ok = http_url(s.v.trim());
        if !ok {
            cx.err(
                &s.span,
                t.field("external_api"),
                format!("`{}` is not an http(s) URL", s.v),
                Some(
                    "the server's IFrame API script, e.g. \"https://meet.stadt.example/external_api.js\""
                        .into(),
                ),
            );
        }
        ok
    });
    let display_name = t.string(cx, "display_name").filter(|n| super::non_empty(cx, &t, "display_name", n));
    let mute_others = t.boolean(cx, "mute_others").is_none_or(|b| b.v);
    t.finish(cx);
    let (scheme, domain, room) = parsed?;
    Some(JitsiConfig {
        url: url.map(|u| u.v.trim().to_owned()).unwrap_or_default(),
        external_api: external_api
            .map_or_else(|| format!("{scheme}://{domain}/external_api.js"), |s| s.v.trim().to_owned()),
        no_ssl: scheme == "http",
        domain,
        room,
        display_name: display_name.map_or_else(|| room_name.to_owned(), |n| n.v.trim().to_owned()),
        mute_others,
    })
}

fn http_url(v: &str) -> bool {
    v.strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.chars().any(|c| c.is_whitespace() || c.is_control()))
}

/// `https://server[/prefix]/room` → (scheme, domain, room).
fn split_url(v: &str) -> Option<(&'static str, String, String)> {
    let (scheme, rest) = if let Some(rest) = v.strip_prefix("https://") {
        ("https", rest)
    } else {
        ("http", v.strip_prefix("http://")?)
    };
    let (domain, room) = rest.rsplit_once('/')?;
    let clean = |s: &str| {
        !s.is_empty()
            && !s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '"'))
    };
    (clean(domain) && clean(room) && !room.contains('/'))
        .then(|| (scheme, domain.to_owned(), room.to_owned()))
}

/// The name each member is known by in the conference: `conference_name`, or the member's
/// name. Two members known by the same name (compared as [`same_name`] compares them) would
/// make a hand in the conference ambiguous: an error where `[jitsi]` is configured.
pub(crate) fn conference_names(
    cx: &mut Cx<'_>,
    members: &[MemberEntry],
    jitsi: bool,
) -> std::collections::BTreeMap<String, String> {
    let mut names = std::collections::BTreeMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        let name = m.conference_name.as_ref().map_or(m.participant.name.as_str(), |n| n.v.as_str());
        if jitsi && let Some(&first) = seen.get(&fold(name)) {
            let first_id = members[first].participant.id.as_str();
            let (span, field) = match &m.conference_name {
                Some(n) => (n.span.clone(), format!("member[{}].conference_name", i + 1)),
                None => (m.id.as_ref().map_or(0..0, |id| id.span.clone()), format!("member[{}].name", i + 1)),
            };
            cx.err(
                &span,
                field,
                format!("member `{first_id}` is known by the same name `{name}` in the conference"),
                Some("give one of them a `conference_name` the member uses in Jitsi".into()),
            );
        } else {
            seen.insert(fold(name), i);
        }
        names.insert(m.participant.id.clone(), name.to_owned());
    }
    names
}

/// How the bridge compares names (the same rule is in `web/bridge.js`): case and runs of
/// white space do not count.
fn fold(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{ConfigError, RoomConfig, parse};

    const ROOM: &str = "[room]\nid = \"r\"\nname = \"Ratssaal\"\n\n[[seat]]\nnumber = 1\n";

    fn ok(text: &str) -> RoomConfig {
        parse(text, Path::new("room.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn errors(text: &str) -> Vec<ConfigError> {
        parse(text, Path::new("room.toml")).map(|_| ()).expect_err("errors").0
    }

    #[test]
    fn the_conference_is_read_with_its_defaults() {
        let room = ok(&format!("{ROOM}\n[jitsi]\nurl = \"https://meet.example.org/rat/Sitzung-1\"\n"));
        let jitsi = room.jitsi.expect("jitsi");
        assert_eq!(jitsi.domain, "meet.example.org/rat");
        assert_eq!(jitsi.room, "Sitzung-1");
        assert_eq!(jitsi.external_api, "https://meet.example.org/rat/external_api.js");
        assert_eq!(jitsi.display_name, "Ratssaal");
        assert!(jitsi.mute_others && !jitsi.no_ssl);
        let room = ok(&format!(
            "{ROOM}\n[jitsi]\nurl = \"http://127.0.0.1:9/raum\"\nexternal_api = \"http://127.0.0.1:9/api.js\"\n\
             display_name = \"Saal\"\nmute_others = false\n"
        ));
        let jitsi = room.jitsi.expect("jitsi");
        assert_eq!((jitsi.domain.as_str(), jitsi.room.as_str()), ("127.0.0.1:9", "raum"));
        assert_eq!(jitsi.external_api, "http://127.0.0.1:9/api.js");
        assert!(!jitsi.mute_others && jitsi.no_ssl);
    }

    #[test]
    fn a_bad_conference_address_is_an_error_at_its_place() {
        let errs = errors(&format!("{ROOM}\n[jitsi]\nurl = \"meet.example.org\"\nexternal_api = \"x\"\n"));
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!((errs[0].field.as_str(), errs[0].line), ("jitsi.url", 9));
        assert!(
            errs[0].message.contains("not the address of a Jitsi Meet conference"),
            "{}",
            errs[0].message
        );
        assert_eq!((errs[1].field.as_str(), errs[1].line), ("jitsi.external_api", 10));
        let errs = errors(&format!("{ROOM}\n[jitsi]\ndisplay_name = \"Saal\"\n"));
        assert_eq!(errs[0].field, "jitsi.url");
    }

    #[test]
    fn members_known_by_one_name_in_the_conference_are_an_error_only_with_a_conference() {
        let members = "[[member]]\nid = \"a\"\nname = \"Anna Roth\"\n\n\
                       [[member]]\nid = \"b\"\nname = \"anna  roth\"\n\n\
                       [[member]]\nid = \"c\"\nname = \"Carl\"\nconference_name = \"C. Berg\"\n";
        let room = ok(&format!("{ROOM}\n{members}"));
        assert_eq!(room.conference_names["c"], "C. Berg");
        let errs = errors(&format!("{ROOM}\n{members}\n[jitsi]\nurl = \"https://m.example/r\"\n"));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].field, "member[2].name");
        assert!(errs[0].message.contains("member `a` is known by the same name"), "{}", errs[0].message);
        let fixed = members
            .replace("name = \"anna  roth\"", "name = \"anna  roth\"\nconference_name = \"Anna R. (SPD)\"");
        let room = ok(&format!("{ROOM}\n{fixed}\n[jitsi]\nurl = \"https://m.example/r\"\n"));
        assert_eq!(room.conference_names["b"], "Anna R. (SPD)");
    }
}
