use std::path::{Path, PathBuf};

use podium_floor::setup::{Activation, Mode, OnExpiry, Profile, Role};
use proptest::prelude::*;

use super::*;

const ROOM: &str = "[room]\nid = \"ratssaal\"\nname = \"Ratssaal\"\n";

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config").join(name)
}

fn parse_str(text: &str) -> Result<RoomConfig, ConfigErrors> {
    parse(text, Path::new("test.toml"))
}

fn errors(text: &str) -> Vec<ConfigError> {
    match parse_str(text) {
        Ok(c) => panic!("expected errors, got {c:#?}"),
        Err(e) => e.0,
    }
}

/// Exactly one error expected.
fn one(text: &str) -> ConfigError {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "expected one error, got:\n{}", ConfigErrors(errs.clone()));
    errs.into_iter().next().unwrap()
}

/// 1-based (line, column in characters) of the `nth` (0-based) occurrence of `needle`.
fn pos(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let (offset, _) =
        text.match_indices(needle).nth(nth).unwrap_or_else(|| panic!("`{needle}` #{nth} not in text"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn assert_at(e: &ConfigError, text: &str, needle: &str, nth: usize, field: &str) {
    assert_eq!((e.line, e.column), pos(text, needle, nth), "position of {e}");
    assert_eq!(e.field, field, "field of {e}");
    assert_eq!(e.file, Path::new("test.toml"));
}

// ---------------------------------------------------------------- shipped files

#[test]
fn demo_config_loads() {
    let path = shipped("demo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    // `podiumd demo` parses it; `run`/`check-config` (load) refuse its public secrets.
    let c = parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.room_id, "ratssaal");
    assert_eq!(c.room_name, "Ratssaal");
    assert_eq!(c.http_listen, "127.0.0.1:8080".parse().unwrap());
    assert!(c.source.ends_with("demo.toml"));

    let s = &c.setup;
    assert_eq!(s.seats.len(), 40);
    let mut numbers: Vec<u16> = s.seats.iter().map(|s| s.number).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=40).collect::<Vec<u16>>());
    assert_eq!(s.participants.len(), 43);

    let seat = |n: u16| s.seats.iter().find(|s| s.number == n).unwrap();
    let person = |id: &str| s.participants.iter().find(|p| p.id == id).unwrap();
    let seat12 = seat(12);
    assert_eq!(seat12.label, "12");
    let mueller = person(seat12.default_participant.as_deref().unwrap());
    assert_eq!(mueller.name, "Anna Müller");
    assert_eq!(mueller.group.as_deref(), Some("SPD"));
    assert_eq!(mueller.role, Role::Member);
    assert!(mueller.voting_right);
    assert_eq!(person(seat(1).default_participant.as_deref().unwrap()).role, Role::Chair);
    assert_eq!(person(seat(2).default_participant.as_deref().unwrap()).role, Role::ViceChair);

    let seated: Vec<&str> = s.seats.iter().filter_map(|s| s.default_participant.as_deref()).collect();
    assert_eq!(seated.len(), 40);
    let unseated: Vec<_> = s.participants.iter().filter(|p| !seated.contains(&p.id.as_str())).collect();
    assert_eq!(unseated.len(), 3);
    assert!(unseated.iter().all(|p| p.remote_allowed));
    let remote_seated =
        s.participants.iter().filter(|p| p.remote_allowed && seated.contains(&p.id.as_str())).count();
    assert!(remote_seated >= 3, "several seated members may join remotely");
    let mut groups: Vec<&str> = s.participants.iter().filter_map(|p| p.group.as_deref()).collect();
    groups.sort();
    groups.dedup();
    assert_eq!(groups.len(), 5, "{groups:?}");

    let p = &s.profile;
    assert_eq!(p.mode, Mode::Request);
    assert_eq!(p.activation, Activation::Toggle);
    assert_eq!(p.limits.max_open_microphones, 1);
    assert_eq!(p.speaking_time.turn_limit_s, Some(180));
    assert_eq!(p.speaking_time.warning_s, 30);
    assert_eq!(p.speaking_time.on_expiry, OnExpiry::Continue);
    assert_eq!(c.floor_setup(), c.setup);
}

#[test]
fn ortschaftsrat_config_loads() {
    let c = load(&shipped("ortschaftsrat.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.setup.seats.len(), 9);
    assert_eq!(c.setup.profile.mode, Mode::Open);
    assert_eq!(c.setup.profile.limits.max_open_microphones, 2);
    assert_eq!(c.setup.profile.speaking_time.turn_limit_s, None);
    let staff = c.setup.participants.iter().find(|p| p.role == Role::Staff).unwrap();
    assert!(!staff.voting_right, "staff do not vote by default");
    assert_eq!(staff.group, None);
}

#[test]
fn readme_example_loads() {
    let readme = std::fs::read_to_string(shipped("README.md")).unwrap();
    let start = readme.find("```toml\n").expect("example in README") + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let c = parse_str(&readme[start..end]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.setup.profile.podium_seat, Some(41));
    assert_eq!(c.setup.seats[1].label, "Rednerpult");
}

#[test]
fn only_room_gives_defaults() {
    let c = parse_str(ROOM).unwrap();
    assert_eq!(c.http_listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.setup.profile, Profile::default());
    assert!(c.setup.seats.is_empty() && c.setup.participants.is_empty());
}

#[test]
fn every_engine_name_is_accepted() {
    for m in Mode::NAMES {
        let text = format!("{ROOM}[discussion]\nmode = \"{m}\"\n");
        parse_str(&text).unwrap_or_else(|e| panic!("{e}"));
    }
    for a in Activation::NAMES {
        let text = format!("{ROOM}[discussion]\nactivation = \"{a}\"\n");
        parse_str(&text).unwrap_or_else(|e| panic!("{e}"));
    }
    for o in OnExpiry::NAMES {
        let text = format!("{ROOM}[discussion.speaking_time]\non_expiry = \"{o}\"\n");
        parse_str(&text).unwrap_or_else(|e| panic!("{e}"));
    }
    for r in Role::NAMES {
        let text = format!("{ROOM}[[member]]\nid = \"x\"\nname = \"X\"\nrole = \"{r}\"\n");
        let c = parse_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let p = &c.setup.participants[0];
        assert_eq!(p.voting_right, !matches!(p.role, Role::Staff | Role::Guest), "{r}");
    }
    let c =
        parse_str(&format!("{ROOM}[discussion]\nmode = \"push_to_talk\"\nactivation = \"push\"\n")).unwrap();
    assert_eq!(c.setup.profile.mode, Mode::PushToTalk);
    assert_eq!(c.setup.profile.activation, Activation::Push);
}

#[test]
fn values_are_read() {
    let text = format!(
        "{ROOM}[http]\nlisten = \"[::]:9000\"\n\
         [discussion]\nmode = \"override\"\nmax_open_microphones = 25\nmax_requests = 0\n\
         members_may_cancel = false\nmembers_may_switch_off = false\n\
         point_of_order_when_closed = false\npodium_seat = 7\n\
         [discussion.speaking_time]\nturn_limit = 300\nwarning = 45\non_expiry = \"cut_off\"\n\
         [[seat]]\nnumber = 7\nlabel = \"Rednerpult\"\n\
         [[seat]]\nnumber = 8\nmember = \"g\"\n\
         [[member]]\nid = \"g\"\nname = \"Gast\"\nrole = \"guest\"\nvoting_right = true\nremote_allowed = true\n"
    );
    let c = parse_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.http_listen, "[::]:9000".parse().unwrap());
    let p = &c.setup.profile;
    assert_eq!(p.mode, Mode::Override);
    assert_eq!(p.limits.max_open_microphones, 25);
    assert_eq!(p.limits.max_requests, 0);
    assert!(!p.limits.members_may_cancel);
    assert!(!p.limits.members_may_switch_off);
    assert!(!p.limits.point_of_order_when_closed);
    assert_eq!(p.podium_seat, Some(7));
    assert_eq!(p.speaking_time.turn_limit_s, Some(300));
    assert_eq!(p.speaking_time.warning_s, 45);
    assert_eq!(p.speaking_time.on_expiry, OnExpiry::CutOff);
    assert_eq!(c.setup.seats[0].label, "Rednerpult");
    assert_eq!(c.setup.seats[0].default_participant, None);
    assert_eq!(c.setup.seats[1].label, "8");
    assert_eq!(c.setup.seats[1].default_participant.as_deref(), Some("g"));
    let g = &c.setup.participants[0];
    assert_eq!((g.role, g.voting_right, g.remote_allowed), (Role::Guest, true, true));
}

#[test]
fn inline_forms_are_accepted() {
    let text = "room = { id = \"r\", name = \"R\" }\n\
                discussion = { mode = \"open\", speaking_time = { turn_limit = \"2:30\" } }\n\
                seat = [{ number = 1, member = \"a\" }, { number = 2 }]\n\
                member = [{ id = \"a\", name = \"A\" }]\n";
    let c = parse_str(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.setup.profile.mode, Mode::Open);
    assert_eq!(c.setup.profile.speaking_time.turn_limit_s, Some(150));
    assert_eq!(c.setup.seats.len(), 2);
}

// ---------------------------------------------------------------- single errors

#[test]
fn unknown_key_suggests_closest() {
    let text = format!("{ROOM}[discussion]\nmode = \"open\"\nmax_open_mics = 2\n");
    let e = one(&text);
    assert_at(&e, &text, "max_open_mics", 0, "discussion.max_open_mics");
    assert_eq!((e.line, e.column), (6, 1));
    assert!(e.message.contains("unknown key `max_open_mics`"), "{}", e.message);
    assert_eq!(e.help.as_deref(), Some("did you mean `max_open_microphones`?"));
}

#[test]
fn unknown_keys_everywhere() {
    let text = format!(
        "{ROOM}colour = \"red\"\n[http]\nlisten = \"127.0.0.1:1\"\nport = 80\n\
         [discusion]\nmode = \"open\"\n\
         [[seat]]\nnumber = 1\nmembr = \"x\"\n\
         [[member]]\nid = \"x\"\nname = \"X\"\nremote = true\n"
    );
    let errs = errors(&text);
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["room.colour", "http.port", "discusion", "seat[1].membr", "member[1].remote"]);
    assert_at(&errs[2], &text, "discusion", 0, "discusion");
    assert!(errs[2].message.contains("unknown section"), "{}", errs[2].message);
    assert_eq!(errs[2].help.as_deref(), Some("did you mean `discussion`?"));
    assert_eq!(errs[3].help.as_deref(), Some("did you mean `member`?"));
    assert_eq!(errs[4].help.as_deref(), Some("did you mean `remote_allowed`?"));
    // No plausible key: list what is allowed instead.
    assert!(errs[0].help.as_deref().unwrap().contains("`id`, `name` or `time_zone`"), "{:?}", errs[0].help);
}

#[test]
fn misspelt_mode_suggests_open() {
    let text = format!("{ROOM}[discussion]\nmode = \"opne\"\n");
    let e = one(&text);
    assert_at(&e, &text, "\"opne\"", 0, "discussion.mode");
    assert_eq!((e.line, e.column), (5, 8));
    assert_eq!(e.message, "unknown mode `opne`");
    assert_eq!(e.help.as_deref(), Some("did you mean `open`?"));
}

#[test]
fn bad_enum_values_without_close_match_list_the_names() {
    let text = format!(
        "{ROOM}[discussion]\nactivation = \"hold\"\n[discussion.speaking_time]\non_expiry = \"cutoff\"\n"
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 2);
    assert_at(&errs[0], &text, "\"hold\"", 0, "discussion.activation");
    assert_eq!(errs[0].help.as_deref(), Some("expected `toggle` or `push`"));
    assert_at(&errs[1], &text, "\"cutoff\"", 0, "discussion.speaking_time.on_expiry");
    assert_eq!(errs[1].help.as_deref(), Some("did you mean `cut_off`?"));
}

#[test]
fn wrong_types() {
    let text = format!(
        "{ROOM}[discussion]\nmax_requests = \"50\"\nmembers_may_cancel = \"true\"\nmode = 3\n\
         max_open_microphones = 1.5\n"
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 4, "{}", ConfigErrors(errs.clone()));
    assert_at(&errs[0], &text, "\"50\"", 0, "discussion.max_requests");
    assert_eq!(errs[0].message, "expected an integer, found a string");
    assert_eq!(errs[0].help.as_deref(), Some("write 50 without quotes"));
    assert_at(&errs[1], &text, "\"true\"", 0, "discussion.members_may_cancel");
    assert_eq!(errs[1].message, "expected a boolean, found a string");
    assert_eq!(errs[1].help.as_deref(), Some("write true without quotes"));
    assert_at(&errs[2], &text, "3", 0, "discussion.mode");
    assert_eq!(errs[2].message, "expected a string, found an integer");
    assert_at(&errs[3], &text, "1.5", 0, "discussion.max_open_microphones");
    assert_eq!(errs[3].message, "expected an integer, found a float");
}

#[test]
fn section_with_wrong_shape() {
    let text = format!("{ROOM}[seat]\nnumber = 1\n");
    let e = one(&text);
    assert_eq!(e.field, "seat");
    assert_eq!(e.line, 4);
    assert!(e.help.as_deref().unwrap().contains("[[seat]]"), "{:?}", e.help);

    let text = format!("http = \"127.0.0.1:80\"\n{ROOM}");
    let e = one(&text);
    assert_at(&e, &text, "\"127.0.0.1:80\"", 0, "http");
    assert_eq!(e.message, "expected a table `[http]`, found a string");
}

#[test]
fn duplicate_seat_points_at_second() {
    let text = format!("{ROOM}[[seat]]\nnumber = 12\n[[seat]]\nnumber = 13\n[[seat]]\nnumber = 12\n");
    let e = one(&text);
    assert_at(&e, &text, "12", 1, "seat[3].number");
    assert_eq!(e.message, "seat 12 appears twice (first at line 5)");
}

#[test]
fn duplicate_member_id() {
    let text = format!(
        "{ROOM}[[member]]\nid = \"mueller\"\nname = \"Anna Müller\"\n\
         [[member]]\nid = \"mueller\"\nname = \"Hans Müller\"\n"
    );
    let e = one(&text);
    assert_at(&e, &text, "\"mueller\"", 1, "member[2].id");
    assert_eq!(e.message, "member `mueller` appears twice (first at line 5)");
}

#[test]
fn seat_member_must_exist() {
    let text = format!(
        "{ROOM}[[seat]]\nnumber = 12\nmember = \"muller\"\n\
         [[seat]]\nnumber = 13\nmember = \"xyz\"\n\
         [[member]]\nid = \"mueller\"\nname = \"Anna Müller\"\n"
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 2);
    assert_at(&errs[0], &text, "\"muller\"", 0, "seat[1].member");
    assert_eq!(errs[0].message, "`muller` is not the id of any [[member]]");
    assert_eq!(errs[0].help.as_deref(), Some("did you mean `mueller`?"));
    assert_at(&errs[1], &text, "\"xyz\"", 0, "seat[2].member");
    assert!(errs[1].help.as_deref().unwrap().contains("add a [[member]]"));
}

#[test]
fn member_at_two_seats() {
    let text = format!(
        "{ROOM}[[seat]]\nnumber = 1\nmember = \"a\"\n[[seat]]\nnumber = 2\nmember = \"a\"\n\
         [[member]]\nid = \"a\"\nname = \"A\"\n"
    );
    let e = one(&text);
    assert_at(&e, &text, "\"a\"", 1, "seat[2].member");
    assert_eq!(e.message, "member `a` is already seated at seat 1");
}

#[test]
fn podium_seat_must_be_a_seat() {
    let text = format!("{ROOM}[discussion]\npodium_seat = 41\n[[seat]]\nnumber = 1\n");
    let e = one(&text);
    assert_at(&e, &text, "41", 0, "discussion.podium_seat");
    assert_eq!(e.message, "seat 41 is not configured");
}

#[test]
fn limits_out_of_range_both_reported() {
    let text = format!("{ROOM}[discussion]\nmax_open_microphones = 0\nmax_requests = 500\n");
    let errs = errors(&text);
    assert_eq!(errs.len(), 2);
    assert_at(&errs[0], &text, "0", 0, "discussion.max_open_microphones");
    assert_eq!(errs[0].message, "max_open_microphones must be between 1 and 25, not 0");
    assert_at(&errs[1], &text, "500", 0, "discussion.max_requests");
    assert_eq!(errs[1].message, "max_requests must be between 0 and 200, not 500");

    // Beyond u16 and negative.
    let text = format!("{ROOM}[discussion]\nmax_open_microphones = 26\nmax_requests = -1\n");
    let errs = errors(&text);
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].field, "discussion.max_open_microphones");
    assert_eq!(errs[1].field, "discussion.max_requests");
    let text = format!("{ROOM}[discussion]\nmax_open_microphones = 99999999999\n");
    assert_eq!(one(&text).field, "discussion.max_open_microphones");
}

#[test]
fn warning_must_be_shorter_than_turn_limit() {
    let text = format!("{ROOM}[discussion.speaking_time]\nturn_limit = \"0:30\"\nwarning = 30\n");
    let e = one(&text);
    assert_at(&e, &text, "30\n", 0, "discussion.speaking_time.warning");
    assert!(e.message.contains("(0:30)"), "{}", e.message);
}

#[test]
fn bad_time_formats() {
    let text = format!("{ROOM}[discussion.speaking_time]\nturn_limit = \"3 min\"\nwarning = \"0:75\"\n");
    let errs = errors(&text);
    assert_eq!(errs.len(), 2);
    assert_at(&errs[0], &text, "\"3 min\"", 0, "discussion.speaking_time.turn_limit");
    assert_eq!(errs[0].message, "`3 min` is not a valid time");
    assert!(errs[0].help.as_deref().unwrap().contains("\"3:00\""));
    assert_at(&errs[1], &text, "\"0:75\"", 0, "discussion.speaking_time.warning");

    let text = format!("{ROOM}[discussion.speaking_time]\nturn_limit = 0\n");
    let e = one(&text);
    assert!(e.help.as_deref().unwrap().contains("unlimited"), "{e}");
    let text = format!("{ROOM}[discussion.speaking_time]\nwarning = -5\n");
    assert_eq!(one(&text).message, "warning must not be negative");
    let text = format!("{ROOM}[discussion.speaking_time]\nturn_limit = true\n");
    assert_eq!(one(&text).message, "expected a time, found a boolean");
}

#[test]
fn bad_room_id_and_empty_name() {
    let text = "[room]\nid = \"Ratssaal Süd\"\nname = \"  \"\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 2);
    assert_at(&errs[0], text, "\"Ratssaal", 0, "room.id");
    assert!(errs[0].help.as_deref().unwrap().contains("\"ratssaal-sued\""), "{:?}", errs[0].help);
    assert_at(&errs[1], text, "\"  \"", 0, "room.name");
    assert_eq!(errs[1].message, "name must not be empty");
}

#[test]
fn missing_room_and_required_keys() {
    let e = one("[http]\nlisten = \"127.0.0.1:8080\"\n");
    assert_eq!((e.line, e.column, e.field.as_str()), (1, 1, "room"));
    assert_eq!(e.message, "missing section `[room]`");

    let text = "[room]\nid = \"r\"\n";
    let e = one(text);
    assert_at(&e, text, "[room]", 0, "room.name");

    let text = format!("{ROOM}[[seat]]\nlabel = \"x\"\n[[member]]\nname = \"A\"\n");
    let errs = errors(&text);
    assert_eq!(errs.len(), 2);
    assert_at(&errs[0], &text, "[[seat]]", 0, "seat[1].number");
    assert_at(&errs[1], &text, "[[member]]", 0, "member[1].id");
}

#[test]
fn invalid_listen_address() {
    let text = format!("{ROOM}[http]\nlisten = \"localhost:8080\"\n");
    let e = one(&text);
    assert_at(&e, &text, "\"localhost", 0, "http.listen");
    assert!(e.help.as_deref().unwrap().contains("host names are not allowed"));

    let text = format!("{ROOM}[http]\nlisten = \"0.0.0.0\"\n");
    assert_eq!(one(&text).help.as_deref(), Some("add a port, e.g. \"0.0.0.0:8080\""));
}

#[test]
fn syntax_error_is_one_error() {
    let text = "[room]\nid = \"r\"\nname = \"unterminated\n[http]\n";
    let e = one(text);
    assert_eq!(e.line, 3);
    assert!(e.column > 1, "{e}");
    assert!(e.message.starts_with("TOML syntax error"), "{}", e.message);

    let text = "[room]\nid = \"a\"\nid = \"b\"\n";
    let e = one(text);
    assert_eq!(e.line, 3, "{e}");
}

#[test]
fn columns_count_characters_not_bytes() {
    let text = format!("member = [{{ id = \"ü\", name = \"Jürgen Müß\", role = \"boss\" }}]\n{ROOM}");
    let e = one(&text);
    assert_at(&e, &text, "\"boss\"", 0, "member[1].role");
    // Byte offset would be larger because of the umlauts.
    let line = text.lines().next().unwrap();
    let byte = line.find("\"boss\"").unwrap();
    assert_eq!(e.column, line[..byte].chars().count() + 1);
    assert_eq!(e.column, 51);
    assert_ne!(e.column, byte + 1);
}

#[test]
fn unreadable_file() {
    let path = Path::new("/nonexistent/podium/room.toml");
    let errs = load(path).unwrap_err();
    assert_eq!(errs.len(), 1);
    let e = &errs.0[0];
    assert_eq!((e.line, e.column), (1, 1));
    assert_eq!(e.file, path);
    let shown = errs.to_string();
    assert!(shown.starts_with("/nonexistent/podium/room.toml:1:1: cannot read"), "{shown}");
}

#[test]
fn byte_order_mark_is_ignored() {
    let e = one("\u{feff}[room] bad\n");
    assert_eq!((e.line, e.column), (1, 8), "{e}");
    let e = one("\u{feff}[room]\nid = \"X\"\nname = \"a\"\n");
    assert_eq!((e.line, e.column, e.field.as_str()), (2, 6, "room.id"));
}

#[test]
fn file_that_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.toml");
    std::fs::write(&path, b"[room]\nid = \"r\"\nname = \"M\xfcller\"\n").unwrap();
    let errs = load(&path).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!((errs.0[0].line, errs.0[0].column), (1, 1));
    assert!(errs.0[0].help.as_deref().unwrap().contains("UTF-8"));
}

// ---------------------------------------------------------------- many errors, display

const MANY: &str = "\
[room]
id = \"Rat saal\"
name = \"\"

[http]
listen = \"nowhere\"

[discussion]
mode = \"opne\"
max_open_microphones = 30
podium_seat = 99

[discussion.speaking_time]
turn_limit = \"3:00\"
warning = \"5:00\"

[[seat]]
number = 1
member = \"a\"

[[seat]]
number = 1
member = \"b\"

[[member]]
id = \"a\"
name = \"A\"
rol = \"chair\"
";

#[test]
fn many_errors_all_reported_in_file_order() {
    let errs = errors(MANY);
    let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(
        got,
        [
            (2, "room.id"),
            (3, "room.name"),
            (6, "http.listen"),
            (9, "discussion.mode"),
            (10, "discussion.max_open_microphones"),
            (11, "discussion.podium_seat"),
            (15, "discussion.speaking_time.warning"),
            (22, "seat[2].number"),
            (23, "seat[2].member"),
            (28, "member[1].rol"),
        ]
    );
    assert_eq!(errs[9].help.as_deref(), Some("did you mean `role`?"));
}

#[test]
fn display_is_rustc_style() {
    let errs = parse(MANY, Path::new("rooms/bad.toml")).unwrap_err();
    let shown = errs.to_string();
    let expected_mode = "\
rooms/bad.toml:9:8: discussion.mode: unknown mode `opne`
  |
9 | mode = \"opne\"
  |        ^^^^^^
  = help: did you mean `open`?";
    assert!(shown.contains(expected_mode), "{shown}");
    let expected_seat = "\
rooms/bad.toml:22:10: seat[2].number: seat 1 appears twice (first at line 18)
   |
22 | number = 1
   |          ^";
    assert!(shown.contains(expected_seat), "{shown}");
    assert!(shown.ends_with("10 errors in rooms/bad.toml"), "{shown}");
    // One block per error.
    assert_eq!(shown.matches("rooms/bad.toml:").count(), 10);
}

#[test]
fn display_keeps_tabs_for_the_caret() {
    let text = format!("{ROOM}[discussion]\n\tmode\t=\t\"x\"\n");
    let shown = ConfigErrors(errors(&text)).to_string();
    assert!(shown.contains("\n  | \t    \t \t^^^"), "{shown:?}");
}

// ---------------------------------------------------------------- robustness

fn check_no_panic(text: &str) {
    match parse_str(text) {
        Ok(c) => {
            let _ = format!("{c:?}");
        }
        Err(errs) => {
            assert!(!errs.is_empty());
            let lines = text.split('\n').count();
            for e in &errs {
                assert!(e.line >= 1 && e.line <= lines, "{e:?}");
                assert!(e.column >= 1, "{e:?}");
            }
            let _ = errs.to_string();
        }
    }
}

#[test]
fn mutated_demo_never_panics() {
    let demo = std::fs::read_to_string(shipped("demo.toml")).unwrap();
    let chars: Vec<char> = demo.chars().collect();
    let inserts = ['"', '[', ']', '=', '\n', '\t', '{', '}', ',', 'ü', '0', '\'', '#', '\r', '\0'];
    // Deterministic pseudo-random mutations (xorshift).
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..300 {
        let mut m = chars.clone();
        for _ in 0..(next() % 4 + 1) {
            let at = (next() as usize) % (m.len() + 1);
            match next() % 3 {
                0 if at < m.len() => {
                    m.remove(at);
                }
                1 if at < m.len() => m[at] = inserts[(next() as usize) % inserts.len()],
                _ => m.insert(at, inserts[(next() as usize) % inserts.len()]),
            }
        }
        check_no_panic(&m.into_iter().collect::<String>());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn garbage_never_panics(text in "\\PC{0,200}") {
        check_no_panic(&text);
    }

    #[test]
    fn toml_like_garbage_never_panics(
        text in "(\\[\\[?(room|seat|member|discussion|http|x)\\]\\]?\n|[a-z_]{1,12} = (\"[^\"\n]{0,8}\"|-?[0-9]{1,12}|true|\\{\\}|\\[1\\]|1\\.5)\n){0,12}"
    ) {
        check_no_panic(&text);
    }
}

#[test]
fn misplaced_keys_say_where_they_belong() {
    let text = format!(
        "listen = \"127.0.0.1:80\"\n{ROOM}[discussion]\nturn_limit = \"3:00\"\n\
         [discussion.speaking_time]\nmode = \"open\"\n"
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 3, "{}", ConfigErrors(errs.clone()));
    assert_at(&errs[0], &text, "listen", 0, "listen");
    assert_eq!(errs[0].message, "unknown top-level key `listen`");
    assert_eq!(errs[0].help.as_deref(), Some("`listen` belongs in `[http]`"));
    assert_at(&errs[1], &text, "turn_limit", 0, "discussion.turn_limit");
    assert_eq!(errs[1].help.as_deref(), Some("`turn_limit` belongs in `[discussion.speaking_time]`"));
    assert_at(&errs[2], &text, "mode", 0, "discussion.speaking_time.mode");
    assert_eq!(errs[2].help.as_deref(), Some("`mode` belongs in `[discussion]`"));
}

#[test]
fn the_demo_rooms_public_logins_and_link_are_refused_outside_the_demo() {
    let path = shipped("demo.toml");
    let errors = load(&path).unwrap_err();
    let text = std::fs::read_to_string(&path).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let fields: Vec<(&str, usize)> = errors.iter().map(|e| (e.field.as_str(), e.line)).collect();
    assert_eq!(
        fields,
        [
            ("user.password_hash", line_of("$8D9h2c8MDjFkddQMPIpYyQ$")),
            ("user.password_hash", line_of("$f7wpGgQM1E6gnh234YKd0Q$")),
            ("user.password_hash", line_of("$TAP23ZjQjMreUQvqZGhlsg$")),
            ("remote_link.token_hash", line_of("sha256:a161075586a1369b")),
        ],
        "{errors}"
    );
    assert!(errors.to_string().contains("demo's public password `chair`"), "{errors}");
    assert!(errors.iter().all(|e| e.column > 1 && e.help.is_some()), "{errors}");

    // The same password hashed anew (another salt) is the same public password.
    let dir = tempfile::tempdir().unwrap();
    let rehashed = crate::api::access::secret::hash_password("technik").unwrap();
    let file = dir.path().join("room.toml");
    std::fs::write(
        &file,
        format!("[room]\nid = \"r\"\nname = \"R\"\n\n[[user]]\nname = \"t\"\nrole = \"technician\"\npassword_hash = \"{rehashed}\"\n"),
    )
    .unwrap();
    let errors = load(&file).unwrap_err();
    assert_eq!((errors.len(), errors.iter().next().unwrap().line), (1, 8), "{errors}");
    // A password of one's own passes.
    let own = crate::api::access::secret::hash_password("a long password of our own").unwrap();
    std::fs::write(
        &file,
        format!("[room]\nid = \"r\"\nname = \"R\"\n\n[[user]]\nname = \"t\"\nrole = \"technician\"\npassword_hash = \"{own}\"\n"),
    )
    .unwrap();
    load(&file).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn http_limits_have_defaults_and_are_read() {
    let c = parse_str(ROOM).expect("defaults");
    assert_eq!(c.http, crate::config::HttpLimits::default());
    let text = format!(
        "{ROOM}[http]\nheader_timeout_s = 3\nmax_connections = 500\nreserved_connections = 50\n\
         max_connections_per_address = 20\nmax_streams_per_address = 4\n"
    );
    let c = parse_str(&text).expect("limits");
    assert_eq!(c.http.header_timeout, std::time::Duration::from_secs(3));
    assert_eq!(
        (c.http.max_connections, c.http.reserved_connections, c.http.max_connections_per_address),
        (500, 50, 20)
    );
    assert_eq!(c.http.max_streams_per_address, 4);
}

#[test]
fn trusted_proxies_are_addresses() {
    let c = parse_str(&format!("{ROOM}[http]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n")).expect("valid");
    assert_eq!(
        c.http_trusted_proxies,
        ["127.0.0.1".parse::<std::net::IpAddr>().unwrap(), "::1".parse().unwrap()]
    );
    let text = format!("{ROOM}[http]\ntrusted_proxies = [\"127.0.0.1\", \"proxy.local\"]\n");
    let e = one(&text);
    assert_at(&e, &text, "\"proxy.local\"", 0, "http.trusted_proxies");
    assert!(e.message.contains("not an IP address"), "{e}");
    let text = format!("{ROOM}[http]\ntrusted_proxies = \"127.0.0.1\"\n");
    assert_at(&one(&text), &text, "\"127.0.0.1\"\n", 0, "http.trusted_proxies");
}

#[test]
fn http_limits_out_of_range_are_named() {
    let text = format!("{ROOM}[http]\nmax_streams_per_address = 0\n");
    let e = one(&text);
    assert_at(&e, &text, "0\n", 0, "http.max_streams_per_address");
    let text = format!("{ROOM}[http]\nheader_timeout_s = 0\n");
    assert_at(&one(&text), &text, "0\n", 0, "http.header_timeout_s");
    let text = format!("{ROOM}[http]\nmax_connections = 100\nreserved_connections = 100\n");
    let e = one(&text);
    assert_at(&e, &text, "100\n", 1, "http.reserved_connections");
    assert!(e.message.contains("must be less than max_connections"), "{e}");
    // Only max_connections written: the default reserve (1,024) no longer fits; named there.
    let text = format!("{ROOM}[http]\nmax_connections = 1000\n");
    assert_at(&one(&text), &text, "1000", 0, "http.max_connections");
    // Written above the first header, the help points to [http].
    let text = format!("max_streams_per_address = 3\n{ROOM}");
    assert!(one(&text).help.as_deref().unwrap_or("").contains("[http]"));
}

#[test]
fn the_voting_section_sets_the_quorum_and_vote_rules() {
    let text = format!(
        "{ROOM}\n[voting]\nstatutory_members = 71\nquorum = \"at_least_half\"\nmajority = \"absolute\"\n\
         changeable = false\nremote_secret = true\n"
    );
    let voting = parse_str(&text).expect("valid").setup.voting;
    assert_eq!(voting.statutory_members, Some(71));
    assert_eq!(voting.quorum, podium_floor::QuorumRule::AtLeastHalf);
    assert_eq!(voting.majority, podium_floor::Majority::Absolute);
    assert!(!voting.changeable && voting.remote_secret);
    let defaults = parse_str(ROOM).expect("valid").setup.voting;
    assert_eq!(defaults, podium_floor::VotingRules::default());
    assert!(
        defaults.changeable && !defaults.remote_secret,
        "by default a vote may be changed, and remote members do not vote in secret"
    );
}

#[test]
fn a_wrong_voting_value_names_its_field() {
    let text = format!("{ROOM}\n[voting]\nquorum = \"two_thirds\"\n");
    let e = one(&text);
    assert_at(&e, &text, "\"two_thirds\"", 0, "voting.quorum");
    assert!(e.message.contains("unknown quorum rule"), "{}", e.message);
    assert!(format!("{e}").contains("more_than_half"), "the choices are named: {e}");
    let text = format!("{ROOM}\n[voting]\nstatutory_members = 0\n");
    let e = one(&text);
    assert_at(&e, &text, "0", 0, "voting.statutory_members");
    let text = format!("{ROOM}\n[voting]\nremote_secrets = true\n");
    assert_eq!(one(&text).field, "voting.remote_secrets");
}

#[test]
fn an_error_about_a_pin_never_quotes_it() {
    let members = "[[member]]\nid = \"a\"\nname = \"A\"\npin = \"4711\"\n[[member]]\nid = \"b\"\nname = \"B\"\npin = \"4711\"\n";
    let text = format!("{ROOM}\n{members}");
    let e = one(&text);
    assert_eq!(e.field, "member[2].pin");
    assert!(!format!("{e}").contains("4711"), "{e}");
    let text = format!("{ROOM}\n[[member]]\nid = \"a\"\nname = \"A\"\npin = 4711\n");
    let e = one(&text);
    assert_eq!(e.field, "member[1].pin");
    assert!(!format!("{e}").contains("4711"), "a PIN of the wrong type is not quoted either: {e}");
}

// ---------------------------------------------------------------- presentation and voice

const DISPLAYS: &str = "[room]\nid = \"ratssaal\"\nname = \"Ratssaal\"\n\n[[display]]\nname = \"beamer\"\nprotocol = \"pjlink\"\ntcp = \"10.0.0.20\"\n\n\
     [[display]]\nname = \"encoder\"\nprotocol = \"extron\"\ntcp = \"10.0.0.21\"\noutputs = [3]\nfeeds = \"stream\"\n";

#[test]
fn presentation_sources_name_displays_and_inputs_they_have() {
    let good = format!(
        "{DISPLAYS}\n[[presentation_source]]\nname = \"lectern\"\nlabel = \"Pult\"\n\
         inputs = [{{ display = \"beamer\", input = \"32\" }}, {{ display = \"encoder\", input = \"3\" }}]\n"
    );
    let c = parse_str(&good).expect("valid");
    assert_eq!(c.presentation_sources[0].input_on("encoder"), Some("3"));
    assert_eq!(c.setup.presentation_sources[0].label, "Pult");
    assert!(c.displays[1].feeds_stream && !c.displays[0].feeds_stream);

    let text = format!(
        "{DISPLAYS}\n[[presentation_source]]\nname = \"lectern\"\ninputs = [{{ display = \"beamr\", input = \"32\" }}]\n"
    );
    let e = one(&text);
    assert_at(&e, &text, "\"beamr\"", 0, "presentation_source[1].inputs[1].display");
    assert!(e.message.contains("no [[display]] named `beamr`"), "{e}");
    assert_eq!(e.help.as_deref(), Some("the room's displays: beamer, encoder"));

    let text = format!(
        "{DISPLAYS}\n[[presentation_source]]\nname = \"lectern\"\ninputs = [{{ display = \"beamer\", input = \"99\" }}]\n"
    );
    let e = one(&text);
    assert_at(&e, &text, "\"99\"", 0, "presentation_source[1].inputs[1].input");

    let text = format!("{DISPLAYS}\n[[presentation_source]]\nname = \"a\"\ninputs = []\n");
    let e = one(&text);
    assert_eq!(e.field, "presentation_source[1].inputs");
    assert!(e.message.contains("no display can show"), "{e}");
    let one_input = "inputs = [{ display = \"beamer\", input = \"31\" }]";
    let text = format!(
        "{DISPLAYS}\n[[presentation_source]]\nname = \"a\"\n{one_input}\n[[presentation_source]]\nname = \"a\"\n{one_input}\n"
    );
    let e = one(&text);
    assert_at(&e, &text, "\"a\"", 1, "presentation_source[2].name");
}

#[test]
fn voice_hold_times_and_simulated_arrays() {
    let c = parse_str(&format!("{ROOM}[voice]\nopen_after_ms = 0\nclose_after_ms = 2500\n")).expect("valid");
    assert_eq!((c.voice.open_after_ms, c.voice.close_after_ms), (0, 2500));
    assert_eq!(parse_str(ROOM).expect("valid").voice, VoiceConfig::default());
    let text = format!("{ROOM}[voice]\nclose_after_ms = 70000\n");
    assert_at(&one(&text), &text, "70000", 0, "voice.close_after_ms");
    let text = format!("{ROOM}[[microphone]]\nname = \"ceiling\"\nsimulated = true\ntcp = \"10.0.0.30\"\n");
    let e = one(&text);
    assert_at(&e, &text, "\"10.0.0.30\"", 0, "microphone[1].tcp");
}

#[test]
fn a_seat_is_placed_by_both_x_and_y() {
    let c = parse_str(&format!("{ROOM}[[seat]]\nnumber = 1\nx = 4\ny = 0\n[[seat]]\nnumber = 2\n"))
        .expect("valid");
    assert_eq!(c.setup.seats[0].position, Some(podium_floor::setup::SeatPosition { x: 4, y: 0 }));
    assert_eq!(c.setup.seats[1].position, None);
    let text = format!("{ROOM}[[seat]]\nnumber = 1\nx = 4\n");
    let e = one(&text);
    assert_at(&e, &text, "4\n", 0, "seat[1].x");
    assert!(e.message.contains("give both or neither"), "{e}");
    let text = format!("{ROOM}[[seat]]\nnumber = 1\nx = 4\ny = 100\n");
    assert_at(&one(&text), &text, "100", 0, "seat[1].y");
    let text = format!("{ROOM}[[seat]]\nnumber = 1\nx = 4\ny = 2\n[[seat]]\nnumber = 2\nx = 4\ny = 2\n");
    let e = one(&text);
    assert_at(&e, &text, "4\ny = 2", 1, "seat[2].x");
    assert!(e.message.contains("seat 2 is placed where seat 1 is"), "{e}");
}
