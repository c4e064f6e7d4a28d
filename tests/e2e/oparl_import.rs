//! OParl agenda import: fixture files shaped like the specification's examples (1.1 and
//! the 1.0 draft), and a paginated endpoint served on 127.0.0.1 by the test itself, read
//! through `podium_host::oparl::import` and through `podiumd agenda import`. Failures
//! (timeout, HTTP 500 on page 2, bad JSON, wrong `type`, a bad field, a `links.next`
//! loop) each name the URL and the JSON path and import nothing.

#[path = "oparl/server.rs"]
mod server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use podium_floor::{ItemKind, Publicity};
use podium_host::oparl::{Import, ImportError, MemberLink, OparlSettings, Source, import};
use serde_json::json;
use server::{Council, Reply, Server, item};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/e2e/oparl/fixtures")
}

fn member(id: &str, person: Option<&str>) -> MemberLink {
    MemberLink { id: id.into(), name: id.into(), oparl_person: person.map(Into::into) }
}

fn quick() -> OparlSettings {
    OparlSettings {
        request_timeout: Duration::from_millis(500),
        total_timeout: Duration::from_secs(20),
        ..Default::default()
    }
}

// ------------------------------------------------------------------------------ files

/// The OParl specification's own examples, read where the project's reference material
/// lives (`../shared/reference/oparl`, next to the repository, as in CI); not copied into
/// the repository (their licence is unconfirmed, see fixtures/README.md).
fn spec_example(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/oparl/examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: the reference material must sit next to the repository",
        path.display()
    );
    path
}

#[tokio::test]
async fn the_specifications_meeting_example_imports_with_the_order_warning() {
    let import = import(&Source::Files(spec_example("Meeting-01.json")), &[], &OparlSettings::default())
        .await
        .expect("the spec's Meeting-01 imports");
    assert_eq!(import.meeting.title, "4. Sitzung des Finanzausschusses");
    assert_eq!(import.meeting.oparl_id.as_deref(), Some("https://oparl.example.org/meeting/281"));
    assert_eq!(import.items.len(), 1);
    assert_eq!((import.items[0].number.as_str(), import.items[0].publicity), ("10.1", Publicity::Public));
    assert_eq!(import.items[0].oparl_id.as_deref(), Some("https://oparl.example.org/agendaitem/3271"));
    assert!(import.report.warnings.iter().any(|w| w.contains("order")), "{:?}", import.report.warnings);
}

#[tokio::test]
async fn a_1_1_meeting_file_without_order_imports_with_a_warning() {
    let path = fixtures().join("meeting-1.1.json");
    let import = import(&Source::Files(path), &[member("a", None)], &OparlSettings::default()).await.unwrap();
    assert_eq!(import.meeting.title, "4. Sitzung des Ausschusses für Umwelt und Verkehr");
    assert_eq!(import.meeting.oparl_id.as_deref(), Some("https://ris.example.org/oparl/meeting/281"));
    assert_eq!(import.meeting.start.as_deref(), Some("2026-03-05T16:00:00+01:00"));
    assert_eq!(
        import.meeting.place.as_deref(),
        Some("Rathaus, Sitzungssaal 2, Marktplatz 1, 99999 Musterstadt")
    );
    assert_eq!(import.items.len(), 1);
    let it = &import.items[0];
    assert_eq!(
        (it.id, it.number.as_str(), it.kind, it.publicity),
        (1, "7.2", ItemKind::Item, Publicity::Public)
    );
    assert_eq!(it.title, "Änderung der Parkgebührenordnung");
    assert_eq!(it.oparl_id.as_deref(), Some("https://ris.example.org/oparl/agendaitem/5510"));
    let w = &import.report.warnings;
    assert!(w.iter().any(|w| w.contains("have no `order`")), "{w:?}");
    // The organization is only referenced: reported, not guessed.
    assert!(w.iter().any(|w| w.contains("organization/41 is not embedded")), "{w:?}");
    assert_eq!(import.report.unmapped_members, vec!["a"]);
}

#[tokio::test]
async fn a_1_0_draft_directory_maps_items_papers_and_members() {
    let members = [
        member("beispiel", Some("https://ris.example.org/oparl/people/280")),
        member("muster", Some("https://ris.example.org/oparl/people/281")),
        member("gast", None),
    ];
    let import = import(&Source::Files(fixtures().join("legacy-1.0")), &members, &OparlSettings::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(import.meeting.body.as_deref(), Some("Ausschuss für Bauen und Planen"));
    assert_eq!(import.meeting.body_short_name.as_deref(), Some("Bauausschuss"));
    let lines: Vec<_> = import.items.iter().map(|i| (i.id, i.number.as_str(), i.publicity)).collect();
    assert_eq!(lines, vec![(1, "3", Publicity::Public), (2, "4", Publicity::NonPublic)]);
    let paper = import.items[0].paper.as_ref().expect("paper");
    assert_eq!(paper.reference.as_deref(), Some("VO/0815/2015"));
    assert_eq!(paper.oparl_id.as_deref(), Some("https://ris.example.org/oparl/paper/2396"));
    // 281's membership ended before the meeting (dates with a time, 1.0 draft).
    let r = &import.report;
    assert_eq!(r.matched_members.len(), 1, "{r:?}");
    assert_eq!(r.matched_members[0].member, "beispiel");
    assert_eq!(r.matched_members[0].voting_right, Some(true));
    assert_eq!(r.matched_members[0].name.as_deref(), Some("Erika Beispiel"));
    assert_eq!(r.unmatched_members.len(), 1);
    assert_eq!(r.unmatched_members[0].member, "muster");
    assert_eq!(r.unmatched_persons.len(), 1);
    assert_eq!(r.unmatched_persons[0].name.as_deref(), Some("Dr. Jana Probe"));
    assert_eq!(r.unmapped_members, vec!["gast"]);
    assert!(r.undecided.is_empty());
}

#[tokio::test]
async fn a_bad_field_in_a_file_names_the_file_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixtures().join("meeting-1.1.json")).unwrap();
    let text = text.replace("\"public\": true", "\"public\": \"ja\"");
    let path = dir.path().join("m.json");
    std::fs::write(&path, text).unwrap();
    let err = import(&Source::Files(path.clone()), &[], &OparlSettings::default()).await.unwrap_err();
    assert_eq!(err.errors.len(), 1, "{err}");
    assert_eq!(err.errors[0].url, path.display().to_string());
    assert_eq!(err.errors[0].path.as_deref(), Some("$.agendaItem[0].public"));
    assert!(err.errors[0].message.contains("invalid type"), "{err}");
}

// ------------------------------------------------------------------------- endpoint

/// The meeting of the paginated endpoint: a public and a non-public part marked only by
/// headers, items without `public`, a contradiction, a deleted item, a paper.
fn agenda() -> Vec<serde_json::Value> {
    let mut items = vec![
        item(0, Some("A"), "Öffentliche Sitzung", None),
        item(1, Some("Ö 1"), "Eröffnung und Feststellung der Beschlussfähigkeit", None),
        item(2, Some("Ö 2"), "Bebauungsplan Nr. 12 \"Am Bach\"", None),
        item(3, Some("Ö 3"), "Gestrichener Punkt", None),
        item(4, None, "< Sitzungsteil nichtöffentlich >", None),
        item(5, Some("N 1"), "Grundstücksangelegenheit", None),
        item(6, Some("N 2"), "Vergabe Bauleistungen", Some(true)),
        item(7, Some("N 3"), "Personalangelegenheit", Some(false)),
    ];
    items[2]["consultation"] = json!("{base}/oparl/consultation/1");
    items[5]["consultation"] = json!("{base}/oparl/consultation/2");
    items[3] = json!({"id": "{base}/oparl/agendaitem/3", "type": server::t("AgendaItem"), "order": 3, "deleted": true});
    items
}

fn council_routes(base: &str) -> HashMap<String, Reply> {
    let _ = base;
    let mut r = Council { items: agenda(), members: 30, per_page: 12 }.routes();
    r.insert(
        "/oparl/consultation/1".into(),
        Reply::Json(json!({"id": "{base}/oparl/consultation/1", "type": server::t("Consultation"), "paper": "{base}/oparl/paper/1", "role": "Beschlussfassung"})),
    );
    r.insert(
        "/oparl/paper/1".into(),
        Reply::Json(json!({"id": "{base}/oparl/paper/1", "type": server::t("Paper"), "reference": "VO/2026/012", "name": "Bebauungsplan Nr. 12", "x-vendor": 1})),
    );
    r.insert(
        "/oparl/consultation/2".into(),
        Reply::Json(json!({"id": "{base}/oparl/consultation/2", "type": server::t("Consultation"), "paper": "{base}/oparl/paper/2"})),
    );
    // /oparl/paper/2 is missing (404): a warning, the item has no paper.
    r
}

fn room_members(base: &str) -> Vec<MemberLink> {
    vec![
        member("vorsitz", Some(&format!("{base}/oparl/person/1"))),
        member("m10", Some(&format!("{base}/oparl/person/10"))),
        member("m2", Some(&format!("{base}/oparl/person/2"))),
        member("fremd", Some(&format!("{base}/oparl/person/9001"))),
        member("technik", None),
    ]
}

fn check_council(import: &Import, base: &str) {
    assert_eq!(import.meeting.title, "12. Sitzung des Rates");
    assert_eq!(import.meeting.body.as_deref(), Some("Rat der Stadt Beispiel"));
    assert_eq!(import.meeting.place.as_deref(), Some("Ratssaal, Markt 1"));
    assert_eq!(import.meeting.oparl_id, Some(format!("{base}/oparl/meeting/7")));
    let lines: Vec<_> = import.items.iter().map(|i| (i.id, i.number.as_str(), i.kind, i.publicity)).collect();
    use ItemKind::{Header, Item};
    use Publicity::{NonPublic, Public, Undecided};
    assert_eq!(
        lines,
        vec![
            (1, "A", Header, Public),
            (2, "Ö 1", Item, Public),
            (3, "Ö 2", Item, Public),
            (4, "", Header, NonPublic),
            (5, "N 1", Item, NonPublic),
            (6, "N 2", Item, Undecided),
            (7, "N 3", Item, NonPublic),
        ]
    );
    assert_eq!(import.items[2].paper.as_ref().and_then(|p| p.reference.as_deref()), Some("VO/2026/012"));
    assert_eq!(import.items[4].paper, None);
    let r = &import.report;
    assert_eq!(r.undecided.len(), 1);
    assert_eq!(r.undecided[0].item, 6);
    assert!(r.undecided[0].reason.contains("public inside a non-public section"), "{r:?}");
    assert_eq!(r.skipped_deleted, vec![format!("{base}/oparl/agendaitem/3")]);
    assert!(r.warnings.iter().any(|w| w.contains("paper not read") && w.contains("/oparl/paper/2")), "{r:?}");
    let matched: Vec<_> = r.matched_members.iter().map(|m| (m.member.as_str(), m.voting_right)).collect();
    assert_eq!(matched, vec![("vorsitz", Some(true)), ("m10", Some(false)), ("m2", Some(true))]);
    assert_eq!(r.matched_members[0].role.as_deref(), Some("Vorsitzender"));
    assert_eq!(r.matched_members[0].name.as_deref(), Some("Person 1"));
    assert_eq!(r.unmatched_members.len(), 1);
    assert_eq!(r.unmatched_members[0].member, "fremd");
    assert_eq!(r.unmatched_persons.len(), 27);
    assert_eq!(r.unmapped_members, vec!["technik"]);
}

#[tokio::test]
async fn a_paginated_endpoint_imports_through_the_system() {
    let server = Server::start(council_routes).await;
    let source = Source::Url { url: server.url("/oparl/system"), meeting: Some("7".into()) };
    let import =
        import(&source, &room_members(&server.base), &quick()).await.unwrap_or_else(|e| panic!("{e}"));
    check_council(&import, &server.base);
    // The meeting was found on page 2 of the body's meeting list; 30 members came from
    // the body's lists, three pages each, not one request per object.
    for page in
        ["/oparl/body/1/meetings?page=2", "/oparl/body/1/memberships?page=3", "/oparl/body/1/persons?page=3"]
    {
        assert!(server.was_asked(page), "{page}");
    }
    assert!(!server.was_asked("/oparl/person/5"));
}

#[tokio::test]
async fn a_small_organization_is_read_object_by_object() {
    let server = Server::start(|_| Council { items: agenda(), members: 5, per_page: 2 }.routes()).await;
    let source = Source::Url { url: server.url("/oparl/meeting/7"), meeting: None };
    let members = [member("m5", Some(&server.url("/oparl/person/5")))];
    let import = import(&source, &members, &quick()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(import.report.matched_members.len(), 1);
    assert_eq!(import.report.unmatched_persons.len(), 4);
    assert!(server.was_asked("/oparl/membership/5") && server.was_asked("/oparl/person/5"));
    assert!(!server.was_asked("/oparl/body/1/memberships"));
}

#[tokio::test]
async fn a_meeting_url_imports_directly() {
    let server = Server::start(council_routes).await;
    let source = Source::Url { url: server.url("/oparl/meeting/7"), meeting: None };
    let import =
        import(&source, &room_members(&server.base), &quick()).await.unwrap_or_else(|e| panic!("{e}"));
    check_council(&import, &server.base);
}

/// The endpoint with one route replaced; the import must fail with exactly these errors.
async fn failing(path: &str, reply: Reply) -> (Server, ImportError) {
    let path = path.to_owned();
    let server = Server::start(move |base| {
        let mut r = council_routes(base);
        r.insert(path, reply);
        r
    })
    .await;
    let source = Source::Url { url: server.url("/oparl/meeting/7"), meeting: None };
    let err = import(&source, &room_members(&server.base), &quick()).await.expect_err("the import fails");
    (server, err)
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_naming_the_url() {
    let (server, err) = failing("/oparl/organization/3", Reply::Hang).await;
    assert_eq!(err.errors.len(), 1, "{err}");
    assert_eq!(err.errors[0].url, server.url("/oparl/organization/3"));
    assert!(err.errors[0].message.contains("timeout"), "{err}");
}

#[tokio::test]
async fn the_whole_import_has_a_time_limit_too() {
    let server = Server::start(|base| {
        let mut r = council_routes(base);
        r.insert("/oparl/body/1/persons?page=2".into(), Reply::Hang);
        r
    })
    .await;
    let settings = OparlSettings {
        request_timeout: Duration::from_secs(30),
        total_timeout: Duration::from_millis(400),
        ..Default::default()
    };
    let source = Source::Url { url: server.url("/oparl/meeting/7"), meeting: None };
    let err = import(&source, &[], &settings).await.expect_err("fails");
    assert_eq!(err.errors.len(), 1, "{err}");
    assert_eq!(err.errors[0].url, server.url("/oparl/meeting/7"));
    assert!(err.errors[0].message.contains("total timeout"), "{err}");
}

#[tokio::test]
async fn a_system_url_needs_the_meeting_and_finds_only_existing_ones() {
    let server = Server::start(council_routes).await;
    let without = Source::Url { url: server.url("/oparl/system"), meeting: None };
    let err = import(&without, &[], &quick()).await.expect_err("fails");
    assert!(err.errors[0].message.contains("name the meeting too"), "{err}");
    let unknown = Source::Url { url: server.url("/oparl/system"), meeting: Some("70".into()) };
    let err = import(&unknown, &[], &quick()).await.expect_err("fails");
    assert!(err.errors[0].message.contains("no meeting with id \"70\""), "{err}");
}

#[tokio::test]
async fn http_500_on_page_2_fails_the_import() {
    let (server, err) = failing("/oparl/body/1/persons?page=2", Reply::Status(500)).await;
    assert_eq!(err.errors.len(), 1, "{err}");
    assert_eq!(err.errors[0].url, server.url("/oparl/body/1/persons?page=2"));
    assert!(err.errors[0].message.contains("HTTP 500"), "{err}");
    assert!(err.to_string().contains("nothing was imported"));
}

#[tokio::test]
async fn bad_json_names_the_url_and_the_place() {
    let (server, err) =
        failing("/oparl/body/1/memberships?page=3", Reply::Raw("{\"data\": [{\"id\": \"x\",".into())).await;
    assert_eq!(err.errors.len(), 1, "{err}");
    assert_eq!(err.errors[0].url, server.url("/oparl/body/1/memberships?page=3"));
    assert!(err.errors[0].message.contains("not valid JSON"), "{err}");
    assert!(err.errors[0].path.as_deref().is_some_and(|p| p.starts_with("$.data[0]")), "{err}");
}

#[tokio::test]
async fn a_wrong_type_names_the_url_and_type() {
    let (server, err) = failing(
        "/oparl/organization/3",
        Reply::Json(json!({"id": "{base}/oparl/organization/3", "type": server::t("Person"), "name": "Rat"})),
    )
    .await;
    assert_eq!(err.errors.len(), 1, "{err}");
    assert_eq!(err.errors[0].url, server.url("/oparl/organization/3"));
    assert_eq!(err.errors[0].path.as_deref(), Some("$.type"));
    assert!(err.errors[0].message.contains("Organization"), "{err}");
}

#[tokio::test]
async fn a_bad_field_on_a_list_page_names_its_path() {
    let mut persons: Vec<serde_json::Value> = (1..=30)
        .map(|n| json!({"id": format!("{{base}}/oparl/person/{n}"), "type": server::t("Person"), "name": format!("P{n}")}))
        .collect();
    persons[14]["name"] = json!(["not", "a", "string"]);
    let pages = server::paged("/oparl/body/1/persons", persons, 12);
    let server = Server::start(move |base| {
        let mut r = council_routes(base);
        r.extend(pages);
        r
    })
    .await;
    let source = Source::Url { url: server.url("/oparl/meeting/7"), meeting: None };
    let err = import(&source, &[], &quick()).await.expect_err("fails");
    assert_eq!(err.errors.len(), 1, "{err}");
    assert_eq!(err.errors[0].url, server.url("/oparl/body/1/persons?page=2"));
    assert_eq!(err.errors[0].path.as_deref(), Some("$.data[2].name"));
    assert!(err.errors[0].message.contains("invalid type"), "{err}");
}

#[tokio::test]
async fn a_relative_links_next_is_read_against_its_page() {
    let server = Server::start(|base| {
        let mut r = council_routes(base);
        for page in ["/oparl/body/1/persons", "/oparl/body/1/persons?page=2"] {
            let Some(Reply::Json(mut json)) = r.remove(page) else { panic!("{page}") };
            let next = json["links"]["next"].as_str().unwrap().replace("{base}/oparl/body/1/persons", "");
            json["links"]["next"] = json!(next);
            r.insert(page.into(), Reply::Json(json));
        }
        r
    })
    .await;
    let source = Source::Url { url: server.url("/oparl/meeting/7"), meeting: None };
    let import =
        import(&source, &room_members(&server.base), &quick()).await.unwrap_or_else(|e| panic!("{e}"));
    check_council(&import, &server.base);
    assert!(server.was_asked("/oparl/body/1/persons?page=3"));
}

#[tokio::test]
async fn a_links_next_loop_is_refused() {
    let (server, err) = failing(
        "/oparl/body/1/memberships?page=2",
        Reply::Json(json!({"data": [], "links": {"next": "{base}/oparl/body/1/memberships"}})),
    )
    .await;
    assert_eq!(err.errors.len(), 1, "{err}");
    assert_eq!(err.errors[0].url, server.url("/oparl/body/1/memberships"));
    assert!(err.errors[0].message.contains("loop"), "{err}");
}

#[tokio::test]
async fn a_cancelled_meeting_is_refused() {
    let mut routes = Council { items: agenda(), members: 3, per_page: 12 }.routes();
    let Some(Reply::Json(mut meeting)) = routes.remove("/oparl/meeting/7") else { panic!("meeting") };
    meeting["cancelled"] = json!(true);
    let server = Server::start(move |_| {
        routes.insert("/oparl/meeting/7".into(), Reply::Json(meeting));
        routes
    })
    .await;
    let source = Source::Url { url: server.url("/oparl/meeting/7"), meeting: None };
    let err = import(&source, &[], &quick()).await.expect_err("fails");
    assert_eq!(err.errors[0].path.as_deref(), Some("$.cancelled"), "{err}");
}

// ----------------------------------------------------------------------------- CLI

fn room_file(dir: &Path, base: &str, request_timeout_s: u32) -> PathBuf {
    let text = format!(
        "[room]\nid = \"rat\"\nname = \"Ratssaal\"\n\n[oparl]\nrequest_timeout_s = {request_timeout_s}\n\n\
         [[member]]\nid = \"vorsitz\"\nname = \"Person 1\"\nrole = \"chair\"\noparl_person = \"{base}/oparl/person/1\"\n\n\
         [[member]]\nid = \"m2\"\nname = \"Person 2\"\noparl_person = \"{base}/oparl/person/2\"\n"
    );
    let path = dir.join("room.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn podiumd_agenda_import_writes_the_draft_and_prints_the_report() {
    let server = Server::start(council_routes).await;
    let dir = tempfile::tempdir().unwrap();
    let config = room_file(dir.path(), &server.base, 5);
    let out = dir.path().join("draft.json");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_podiumd"))
        .args(["agenda", "import", "--url", &server.url("/oparl/system"), "--meeting", "7", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("Meeting: 12. Sitzung des Rates"), "{stderr}");
    assert!(stderr.contains("Undecided"), "{stderr}");
    assert!(stderr.contains("vorsitz = Person 1 (voting)"), "{stderr}");
    // The draft as `PUT /api/v1/agenda/draft` takes it, with the report.
    let draft: podium_host::api::agenda::AgendaDraft =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(draft.items.len(), 7);
    assert_eq!(draft.title.as_deref(), Some("12. Sitzung des Rates"));
    assert_eq!(draft.report.as_ref().unwrap()["matched_members"].as_array().unwrap().len(), 2);
    assert!(draft.check().is_ok());
}

#[tokio::test]
async fn podiumd_agenda_import_fails_without_writing_anything() {
    let server = Server::start(|base| {
        let mut r = council_routes(base);
        r.insert("/oparl/body/1/persons?page=2".into(), Reply::Status(500));
        r
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = room_file(dir.path(), &server.base, 5);
    let out = dir.path().join("draft.json");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_podiumd"))
        .args(["agenda", "import", "--url", &server.url("/oparl/meeting/7"), "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: HTTP 500", server.url("/oparl/body/1/persons?page=2"))),
        "{stderr}"
    );
    assert!(!out.exists());
}

// ----------------------------------------------------------------------------- API

#[path = "support/mod.rs"]
mod support;

#[tokio::test]
async fn the_technician_imports_into_the_draft_through_the_api_only_from_the_configured_system() {
    let server = Server::start(council_routes).await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[room]\nid = \"rat\"\nname = \"Ratssaal\"\n\n[oparl]\nsystem = \"{system}\"\n\n\
         [[user]]\nname = \"technik\"\nrole = \"technician\"\npassword_hash = \"{hash}\"\n\n\
         [[member]]\nid = \"vorsitz\"\nname = \"Person 1\"\nrole = \"chair\"\noparl_person = \"{base}/oparl/person/1\"\n",
        system = server.url("/oparl/system"),
        hash = support::hash_password("technik-password"),
        base = server.base,
    );
    let daemon = support::Daemon::with_config(dir.path(), &text);
    let http = reqwest::Client::new();
    let login = http
        .post(daemon.url("/api/v1/login"))
        .json(&json!({"user": "technik", "password": "technik-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let cookie = support::set_cookie(login.headers()).expect("a session cookie");
    let post = |body: serde_json::Value| {
        http.post(daemon.url("/api/v1/agenda/import"))
            .header("cookie", &cookie)
            .header("x-podium-csrf", "1")
            .json(&body)
            .send()
    };
    let response = post(json!({"meeting": "7"})).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let draft: serde_json::Value = response.json().await.unwrap();
    assert_eq!(draft["items"].as_array().unwrap().len(), 7);
    assert!(!draft["report"]["undecided"].as_array().unwrap().is_empty(), "{draft}");
    let draft_now = || async {
        let response = http.get(daemon.url("/api/v1/agenda/draft")).header("cookie", &cookie).send().await;
        response.unwrap().json::<serde_json::Value>().await.unwrap()
    };
    let stored = draft_now().await;
    assert_eq!(stored, draft, "stored as the draft for the next meeting");
    // A meeting on another host is never fetched.
    let response = post(json!({"meeting": "http://127.0.0.2:9/oparl/meeting/7"})).await.unwrap();
    assert_eq!(response.status().as_u16(), 422);
    // A failed import names the object and leaves the draft as it was.
    let response = post(json!({"meeting": "999"})).await.unwrap();
    assert_eq!(response.status().as_u16(), 502);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["error"], "oparl_import_failed", "{error}");
    assert_eq!(draft_now().await, draft);
}
