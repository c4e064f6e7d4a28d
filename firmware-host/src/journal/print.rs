//! The printable minutes: one German HTML page, rendered on the server without scripts,
//! with a print stylesheet (A4, page numbers "Seite n von m", the record's fingerprint on
//! every page) and the signature lines a council needs.
//!
//! Signing means the printed copy, signed by hand: the municipal codes ask for signatures of
//! the chair, members and the secretary on the minutes (e.g. SächsGemO § 40, GO NRW § 52),
//! not an electronic form. The SHA-256 printed on every page is of the minutes' data
//! (`GET …/minutes?format=json`, without `generated_at`), so the paper can be tied to the
//! record it was printed from. An open meeting prints as "ENTWURF".

use sha2::{Digest, Sha256};

use super::council_record::VoteRecord;
use super::minutes::{LocalTime, Minutes, SpeakerTurn};

/// What the page needs beside the minutes.
#[derive(Debug, Clone)]
pub struct PrintSettings {
    /// The room's name.
    pub room_name: String,
    /// The signature lines, e.g. "Vorsitz", "Schriftführung".
    pub signatories: Vec<String>,
    /// The room's time zone.
    pub local: LocalTime,
}

impl Minutes {
    /// SHA-256 (hex) of the minutes' data, without the time they were generated: the same
    /// record gives the same fingerprint every time it is exported.
    pub fn fingerprint(&self) -> String {
        let mut data = self.clone();
        data.generated_at.clear();
        let json = serde_json::to_vec(&data).unwrap_or_default();
        Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn duration(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

fn kind(turn: &SpeakerTurn) -> &'static str {
    match turn.kind {
        Some(podium_floor::RequestKind::PointOfOrder) => "GO-Antrag",
        Some(podium_floor::RequestKind::Reply) => "Erwiderung",
        Some(podium_floor::RequestKind::Ordinary) => "Wortmeldung",
        None => "Worterteilung",
    }
}

fn log_text(what: &str) -> &'static str {
    match what {
        "opened" => "Sitzung eröffnet",
        "suspended" => "Sitzung unterbrochen",
        "resumed" => "Sitzung fortgesetzt",
        "closed" => "Sitzung geschlossen",
        "non_public" => "Beginn des nichtöffentlichen Teils",
        "public" => "Ende des nichtöffentlichen Teils",
        "item" => "Aufruf",
        "item_finished" => "Abschluss",
        "excluded" => "Ausschluss wegen Befangenheit",
        "readmitted" => "Wieder zugelassen",
        "budget_exhausted" => "Redezeitkontingent erschöpft",
        "agenda" => "Tagesordnung festgelegt",
        "quorum_established" => "Beschlussfähigkeit festgestellt",
        "quorum_lost" => "Beschlussfähigkeit verloren",
        "vote_opened" => "Abstimmung eröffnet",
        "vote_closed" => "Abstimmung geschlossen",
        "vote_cancelled" => "Abstimmung abgebrochen",
        _ => "Ereignis",
    }
}

fn speaker_rows(out: &mut String, turns: &[&SpeakerTurn], local: &LocalTime) {
    if turns.is_empty() {
        out.push_str("<p class=\"muted\">Keine Wortbeiträge.</p>\n");
        return;
    }
    out.push_str(
        "<table><thead><tr><th scope=\"col\">Nr.</th><th scope=\"col\">Name, Fraktion</th>\
         <th scope=\"col\">Art</th><th scope=\"col\">Beginn</th><th scope=\"col\">Ende</th>\
         <th scope=\"col\">Redezeit</th></tr></thead><tbody>\n",
    );
    for turn in turns {
        let who = match (&turn.name, &turn.group) {
            (Some(name), Some(group)) => format!("{}, {}", esc(name), esc(group)),
            (Some(name), None) => esc(name),
            _ => esc(&turn.station),
        };
        let outcome = if turn.started_unix_ms.is_none() {
            match turn.request_outcome.as_deref() {
                Some("withdrawn") => " (zurückgezogen)",
                Some("waiting") => " (nicht aufgerufen)",
                Some(_) => " (nicht erteilt)",
                None => "",
            }
        } else {
            ""
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td>{who}</td><td>{}{outcome}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            turn.row,
            kind(turn),
            turn.started_unix_ms.map(|ms| local.clock(ms)).unwrap_or_default(),
            turn.ended_unix_ms.map(|ms| local.clock(ms)).unwrap_or_default(),
            turn.spoken_ms.map(duration).unwrap_or_default(),
        ));
    }
    out.push_str("</tbody></table>\n");
}

fn status_text(status: &str) -> &'static str {
    match status {
        "present" => "anwesend",
        "excused" => "entschuldigt",
        "absent" => "abwesend",
        _ => "nicht erfasst",
    }
}

fn by_text(by: &str) -> &'static str {
    match by {
        "presence_key" => "Anwesenheitstaste",
        "badge" => "Ausweis",
        "pin" => "PIN",
        "remote_link" => "persönlicher Zugang",
        "chair" => "durch den Vorsitz",
        "technician" => "durch die Technik",
        "system" => "durch podiumd",
        _ => "",
    }
}

fn place_de(place: &str) -> String {
    match place {
        "remote" => "zugeschaltet".into(),
        "room" => "im Saal".into(),
        seat => seat.strip_prefix("seat ").map_or_else(|| esc(seat), |n| format!("Platz {}", esc(n))),
    }
}

/// Anwesenheit: each member with their periods present, place and provenance.
fn attendance_section(out: &mut String, minutes: &Minutes) {
    if minutes.attendance.is_empty() {
        return;
    }
    out.push_str("<h2>Anwesenheitsliste</h2>\n");
    out.push_str(&format!(
        "<p>Anwesende Mitglieder: {} (am Ende: {})</p>\n",
        minutes.members_present, minutes.members_present_at_end
    ));
    out.push_str(
        "<table><thead><tr><th scope=\"col\">Name, Fraktion</th><th scope=\"col\">Status</th>\
         <th scope=\"col\">Anwesend (Ort, Erfassung)</th></tr></thead><tbody>\n",
    );
    for a in &minutes.attendance {
        let group = a.group.as_deref().map(|g| format!(", {}", esc(g))).unwrap_or_default();
        let periods: Vec<String> = a
            .periods
            .iter()
            .map(|p| {
                format!(
                    "{} – {} ({}, {}{})",
                    esc(&p.span.from_local),
                    p.span.until_local.as_deref().map_or_else(|| "Ende".to_owned(), esc),
                    place_de(&p.place),
                    by_text(&p.by),
                    p.left_by.as_deref().map(|b| format!("; abgemeldet {}", by_text(b))).unwrap_or_default()
                )
            })
            .collect();
        let marks: Vec<String> = a
            .changes
            .iter()
            .filter(|c| c.status != "present")
            .map(|c| format!("{} {} ({})", status_text(&c.status), esc(&c.at_local), by_text(&c.by)))
            .collect();
        let mut detail = periods.join("<br>");
        if !marks.is_empty() {
            if !detail.is_empty() {
                detail.push_str("<br>");
            }
            detail.push_str(&marks.join("<br>"));
        }
        out.push_str(&format!(
            "<tr><td>{}{group}</td><td>{}</td><td>{detail}</td></tr>\n",
            esc(&a.name),
            status_text(&a.status)
        ));
    }
    out.push_str("</tbody></table>\n");
}

/// Beschlussfähigkeit: at the opening and each time it was established or lost.
fn quorum_section(out: &mut String, minutes: &Minutes) {
    if minutes.quorum.entries.is_empty() {
        return;
    }
    out.push_str("<h2>Beschlussfähigkeit</h2>\n<ul>\n");
    for e in &minutes.quorum.entries {
        let what = match (e.what.as_str(), e.quorate) {
            ("at_opening", true) => "Bei Eröffnung beschlussfähig",
            ("at_opening", false) => "Bei Eröffnung nicht beschlussfähig",
            ("established", _) => "Beschlussfähigkeit hergestellt",
            _ => "Beschlussfähigkeit verloren",
        };
        out.push_str(&format!(
            "<li>{what}: {} ({} von {} erforderlichen Mitgliedern anwesend, gesetzliche Mitgliederzahl {})</li>\n",
            esc(&e.at_local),
            e.present,
            e.required,
            e.statutory
        ));
    }
    out.push_str("</ul>\n");
    if minutes.quorum.lost_during_meeting {
        out.push_str("<p><strong>Die Beschlussfähigkeit ging während der Sitzung verloren.</strong></p>\n");
    }
}

/// One vote: question, kind, options, majority, who voted, the result.
fn vote_section(out: &mut String, vote: &VoteRecord) {
    use podium_floor::vote::{Majority, VoteKind, VoteOutcome};
    let kind = match vote.kind {
        VoteKind::Open => "offene Abstimmung",
        VoteKind::RollCall => "namentliche Abstimmung",
        VoteKind::Secret => "geheime Abstimmung",
    };
    let majority = match vote.majority {
        Majority::Simple => "einfache Mehrheit",
        Majority::Absolute => "absolute Mehrheit der gesetzlichen Mitglieder",
        Majority::TwoThirdsStatutory => "Zweidrittelmehrheit der gesetzlichen Mitglieder",
        Majority::TwoThirdsCast => "Zweidrittelmehrheit der abgegebenen Stimmen",
    };
    let label = |id: &str| {
        vote.options
            .iter()
            .find(|o| o.id == id)
            .map_or_else(|| esc(id), |o| if o.label.is_empty() { esc(&o.id) } else { esc(&o.label) })
    };
    out.push_str(&format!(
        "<p><strong>Abstimmung {}: {}</strong><br>{kind}, {majority}; Optionen: {}; eröffnet {}{}</p>\n",
        vote.id,
        esc(&vote.question),
        vote.options.iter().map(|o| label(&o.id)).collect::<Vec<_>>().join(", "),
        esc(&vote.opened_local),
        vote.ended_local.as_deref().map(|t| format!(", beendet {}", esc(t))).unwrap_or_default()
    ));
    match (&vote.result, vote.cancelled) {
        (_, true) => out.push_str("<p>Die Abstimmung wurde ohne Ergebnis abgebrochen.</p>\n"),
        (None, _) => out.push_str("<p class=\"muted\">Die Abstimmung läuft noch.</p>\n"),
        (Some(result), _) => {
            let totals: Vec<String> =
                result.totals.iter().map(|t| format!("{}: {}", label(&t.option), t.count)).collect();
            let outcome = match result.outcome {
                VoteOutcome::Accepted => "angenommen",
                VoteOutcome::Rejected => "abgelehnt",
                VoteOutcome::Counted => "ausgezählt",
            };
            out.push_str(&format!(
                "<p>Ergebnis: {}; abgestimmt: {}, nicht abgestimmt: {}{}. <strong>{outcome}</strong></p>\n",
                totals.join(", "),
                result.voted,
                result.not_voted,
                result.required.map(|r| format!(", erforderlich: {r} Ja-Stimmen")).unwrap_or_default()
            ));
        }
    }
    if vote.ballots.is_empty() {
        return;
    }
    let heading = match vote.kind {
        VoteKind::RollCall => "Stimmabgabe",
        _ => "Abgestimmt haben",
    };
    let names: Vec<String> = vote
        .ballots
        .iter()
        .map(|b| {
            let mut text = esc(&b.name);
            if let Some(choice) = &b.choice {
                text.push_str(&format!(": {}", label(choice)));
            }
            match b.via.as_str() {
                "proxy_chair" => text.push_str(" (eingetragen durch den Vorsitz)"),
                "proxy_technician" => text.push_str(" (eingetragen durch die Technik)"),
                "remote" => text.push_str(" (zugeschaltet)"),
                _ => {}
            }
            text
        })
        .collect();
    out.push_str(&format!("<p>{heading}: {}</p>\n", names.join("; ")));
}

/// The minutes as a printable German HTML page.
pub fn to_html(minutes: &Minutes, settings: &PrintSettings) -> String {
    let local = &settings.local;
    let meeting = &minutes.meeting;
    let fingerprint = minutes.fingerprint();
    let draft = meeting.open;
    let mut out = String::new();
    out.push_str("<!doctype html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!("<title>Niederschrift – {}</title>\n", esc(&meeting.title)));
    out.push_str("<style>\n");
    out.push_str(&format!(
        "@page {{ size: A4; margin: 20mm 18mm 24mm 22mm;\n\
         @bottom-right {{ content: \"Seite \" counter(page) \" von \" counter(pages); font: 9pt sans-serif; }}\n\
         @bottom-left {{ content: \"SHA-256 {fingerprint}\"; font: 7pt monospace; }}\n\
         @top-right {{ content: \"{}\"; font: 9pt sans-serif; }} }}\n",
        if draft { "ENTWURF" } else { "" }
    ));
    out.push_str(
        "body { font: 11pt/1.4 \"DejaVu Sans\", Arial, sans-serif; color: #000; max-width: 180mm; margin: 1em auto; }\n\
         h1 { font-size: 16pt; margin: 0 0 .3em; } h2 { font-size: 13pt; margin: 1.2em 0 .4em; break-after: avoid; }\n\
         h3 { font-size: 11.5pt; margin: 1em 0 .3em; break-after: avoid; }\n\
         table { border-collapse: collapse; width: 100%; margin: .3em 0 .8em; font-size: 10pt; }\n\
         th, td { border: 1px solid #555; padding: 2px 5px; text-align: left; vertical-align: top; }\n\
         tr { break-inside: avoid; } .muted { color: #333; font-style: italic; }\n\
         .draft { border: 2px solid #000; padding: .3em .6em; font-weight: bold; display: inline-block; }\n\
         .signatures { margin-top: 3em; display: grid; grid-template-columns: 1fr 1fr; gap: 3em 2em; break-inside: avoid; }\n\
         .signature { border-top: 1px solid #000; padding-top: .3em; font-size: 10pt; }\n\
         .fingerprint { font: 8pt monospace; word-break: break-all; }\n\
         @media screen { body { padding: 0 1em; } }\n",
    );
    out.push_str("</style>\n</head>\n<body>\n<main>\n");
    if draft {
        out.push_str("<p class=\"draft\">ENTWURF – die Sitzung ist noch nicht geschlossen</p>\n");
    }
    if minutes.publication {
        out.push_str("<p class=\"draft\">Fassung zur Veröffentlichung (ohne nichtöffentlichen Teil)</p>\n");
    }
    out.push_str(&format!("<h1>Niederschrift: {}</h1>\n", esc(&meeting.title)));
    out.push_str("<table><tbody>\n");
    let mut fact = |label: &str, value: String| {
        out.push_str(&format!("<tr><th scope=\"row\">{label}</th><td>{value}</td></tr>\n"));
    };
    if !meeting.body.is_empty() {
        fact("Gremium", esc(&meeting.body));
    }
    fact("Ort", esc(&settings.room_name));
    fact("Datum", local.date(meeting.opened_unix_ms));
    fact(
        "Beginn – Ende",
        format!(
            "{} – {} Uhr ({})",
            local.clock(meeting.opened_unix_ms),
            meeting.closed_unix_ms.map(|ms| local.clock(ms)).unwrap_or_else(|| "…".into()),
            esc(local.name())
        ),
    );
    if let Some(id) = &meeting.oparl_id {
        fact("OParl", esc(id));
    }
    out.push_str("</tbody></table>\n");

    out.push_str("<h2>Anwesend</h2>\n");
    if minutes.attendees.is_empty() {
        out.push_str("<p class=\"muted\">Keine Anwesenheit erfasst.</p>\n");
    } else {
        out.push_str("<ul>\n");
        for a in &minutes.attendees {
            let place = match (a.room, a.remote) {
                (true, true) => "im Saal und zugeschaltet",
                (false, true) => "zugeschaltet",
                _ => "im Saal",
            };
            let group = a.group.as_deref().map(|g| format!(", {}", esc(g))).unwrap_or_default();
            out.push_str(&format!("<li>{}{group} ({place})</li>\n", esc(&a.name)));
        }
        out.push_str("</ul>\n");
    }

    attendance_section(&mut out, minutes);
    quorum_section(&mut out, minutes);

    out.push_str("<h2>Tagesordnung und Verlauf</h2>\n");
    for item in &minutes.items {
        let title = if item.title.is_empty() && item.non_public {
            "nichtöffentlich".to_owned()
        } else {
            esc(&item.title)
        };
        out.push_str(&format!(
            "<h3>{} {title}{}</h3>\n",
            esc(&item.number),
            if item.non_public { " (nichtöffentlich)" } else { "" }
        ));
        if let Some(paper) = &item.paper {
            out.push_str(&format!("<p>Vorlage: {}</p>\n", esc(paper)));
        }
        if item.periods.is_empty() {
            out.push_str("<p class=\"muted\">Nicht aufgerufen.</p>\n");
            continue;
        }
        let spans: Vec<String> = item
            .periods
            .iter()
            .map(|p| {
                format!(
                    "{} – {}",
                    local.clock(p.from_unix_ms),
                    p.until_unix_ms.map(|ms| local.clock(ms)).unwrap_or_else(|| "…".into())
                )
            })
            .collect();
        out.push_str(&format!("<p>Beraten: {} Uhr</p>\n", spans.join(", ")));
        for e in &item.exclusions {
            out.push_str(&format!(
                "<p>Wegen Befangenheit ausgeschlossen: {} ({}){}</p>\n",
                esc(e.name.as_deref().unwrap_or(&e.participant)),
                esc(&e.reason),
                e.readmitted_local.as_ref().map(|_| ", später wieder zugelassen").unwrap_or_default()
            ));
        }
        if minutes.publication && item.non_public {
            continue;
        }
        let label = format!("{} {}", item.number, item.title);
        let label = label.trim();
        for vote in minutes.votes.iter().filter(|v| v.item_id == Some(item.id)) {
            vote_section(&mut out, vote);
        }
        let turns: Vec<&SpeakerTurn> =
            minutes.speakers.iter().filter(|t| t.item.as_deref().map(str::trim) == Some(label)).collect();
        speaker_rows(&mut out, &turns, local);
    }
    let loose: Vec<&VoteRecord> = minutes
        .votes
        .iter()
        .filter(|v| v.item_id.is_none_or(|id| !minutes.items.iter().any(|i| i.id == id)))
        .collect();
    if !loose.is_empty() {
        out.push_str("<h3>Abstimmungen außerhalb eines Tagesordnungspunkts</h3>\n");
        for vote in loose {
            vote_section(&mut out, vote);
        }
    }
    let outside: Vec<&SpeakerTurn> = minutes.speakers.iter().filter(|t| t.item.is_none()).collect();
    if !outside.is_empty() {
        out.push_str("<h3>Außerhalb eines Tagesordnungspunkts</h3>\n");
        speaker_rows(&mut out, &outside, local);
    }

    out.push_str("<h2>Sitzungsverlauf</h2>\n<table><thead><tr><th scope=\"col\">Uhrzeit</th><th scope=\"col\">Ereignis</th></tr></thead><tbody>\n");
    for entry in &minutes.log {
        let detail =
            if entry.detail.is_empty() { String::new() } else { format!(": {}", esc(&entry.detail)) };
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}{detail}</td></tr>\n",
            local.clock(entry.unix_ms),
            log_text(&entry.what)
        ));
    }
    out.push_str("</tbody></table>\n");
    if !minutes.warnings.is_empty() {
        out.push_str("<h2>Hinweise zur Aufzeichnung</h2>\n<ul>\n");
        for w in &minutes.warnings {
            out.push_str(&format!("<li>{}</li>\n", esc(w)));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<section class=\"signatures\" aria-label=\"Unterschriften\">\n");
    for line in &settings.signatories {
        out.push_str(&format!("<div class=\"signature\">{}</div>\n", esc(line)));
    }
    out.push_str("</section>\n");
    out.push_str(&format!(
        "<p class=\"fingerprint\">Prüfsumme der Aufzeichnung (SHA-256): {fingerprint}</p>\n"
    ));
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::MeetingInfo;
    use crate::journal::minutes::{Attendee, ItemRecord, Period};

    fn minutes() -> Minutes {
        let mut meeting =
            MeetingInfo::opening(3, 3, "Stadtrat <12>".into(), "saal".into(), 1_774_746_000_000, 0);
        meeting.body = "Stadtrat".into();
        Minutes {
            meeting,
            generated_at: "x".into(),
            time_zone: "Europe/Berlin".into(),
            opened_local: String::new(),
            closed_local: None,
            publication: false,
            speakers: vec![SpeakerTurn {
                row: 1,
                station: "seat 3".into(),
                name: Some("Anna Müller".into()),
                group: Some("SPD".into()),
                item: Some("Ö 1 Haushalt".into()),
                started_unix_ms: Some(1_774_746_060_000),
                ended_unix_ms: Some(1_774_746_150_000),
                spoken_ms: Some(90_000),
                ..SpeakerTurn::default()
            }],
            items: vec![ItemRecord {
                id: 1,
                number: "Ö 1".into(),
                title: "Haushalt".into(),
                periods: vec![Period { from_unix_ms: 1_774_746_000_000, ..Period::default() }],
                ..ItemRecord::default()
            }],
            log: Vec::new(),
            attendees: vec![Attendee {
                participant: "m".into(),
                name: "Anna Müller".into(),
                group: None,
                room: true,
                remote: false,
            }],
            attendance: Vec::new(),
            members_present: 0,
            members_present_at_end: 0,
            quorum: Default::default(),
            votes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn the_page_has_the_facts_signatures_fingerprint_and_escapes_text() {
        let settings = PrintSettings {
            room_name: "Ratssaal".into(),
            signatories: vec!["Vorsitz".into(), "Schriftführung".into()],
            local: LocalTime::new("Europe/Berlin").expect("zone"),
        };
        let m = minutes();
        let html = to_html(&m, &settings);
        assert!(html.contains("Stadtrat &lt;12&gt;") && !html.contains("<12>"), "escaped");
        assert!(html.contains("ENTWURF"), "an open meeting prints as a draft");
        assert!(html.contains("counter(pages)"));
        assert!(html.contains(&m.fingerprint()));
        assert!(html.contains("<div class=\"signature\">Schriftführung</div>"));
        // 2026-03-29 01:00 UTC is 03:00 CEST (the clocks went forward at 02:00 CET).
        assert!(html.contains("29.03.2026"), "{html}");
        assert!(html.contains("Beginn – Ende</th><td>03:00"), "{html}");
        assert!(html.contains("<td>03:01</td><td>03:02</td><td>1:30</td>"), "{html}");
        let mut again = m.clone();
        again.generated_at = "y".into();
        assert_eq!(again.fingerprint(), m.fingerprint(), "the time of the export is not part of it");
        again.speakers[0].spoken_ms = Some(1);
        assert_ne!(again.fingerprint(), m.fingerprint());
    }

    #[test]
    fn local_time_follows_daylight_saving_in_both_directions() {
        let berlin = LocalTime::new("Europe/Berlin").expect("zone");
        // 2026-03-29 00:59:59 UTC = 01:59:59 CET; one second later 03:00:00 CEST.
        assert_eq!(berlin.format(1_774_745_999_000), "2026-03-29 01:59:59 CET");
        assert_eq!(berlin.format(1_774_746_000_000), "2026-03-29 03:00:00 CEST");
        // 2026-10-25 00:59:59 UTC = 02:59:59 CEST; one second later 02:00:00 CET.
        assert_eq!(berlin.format(1_792_889_999_000), "2026-10-25 02:59:59 CEST");
        assert_eq!(berlin.format(1_792_890_000_000), "2026-10-25 02:00:00 CET");
        assert!(LocalTime::new("Mars/Olympus").is_err());
    }
}
