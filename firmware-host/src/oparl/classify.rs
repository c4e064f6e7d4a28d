//! Public or non-public, item or header: pure rules over the agenda lines in order.
//!
//! Many RIS leave the optional `public` out and mark the parts with header lines instead
//! ("A Öffentliche Sitzung", "< Sitzungsteil nichtöffentlich >"). A line is a header when
//! it has no number or its name is a section marker; a marker header opens a section whose
//! publicity the following items take when they carry no `public` of their own. An item
//! that cannot be classified, or whose `public` contradicts its section, is
//! [`Publicity::Undecided`] with a report line: the import never guesses "public".

use podium_floor::{ItemKind, Publicity};

/// The default markers of a public section (compared after [`normalize`]).
pub const DEFAULT_PUBLIC_MARKERS: &[&str] =
    &["Öffentliche Sitzung", "Öffentlicher Teil", "Sitzungsteil öffentlich", "Öffentlicher Sitzungsteil"];

/// The default markers of a non-public section.
pub const DEFAULT_NON_PUBLIC_MARKERS: &[&str] = &[
    "Nichtöffentliche Sitzung",
    "Nicht öffentliche Sitzung",
    "Nichtöffentlicher Teil",
    "Nicht öffentlicher Teil",
    "Sitzungsteil nichtöffentlich",
    "Sitzungsteil nicht öffentlich",
    "Nichtöffentlicher Sitzungsteil",
    "Nicht öffentlicher Sitzungsteil",
];

/// What the classifier sees of one agenda line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    pub number: Option<&'a str>,
    pub name: Option<&'a str>,
    pub public: Option<bool>,
}

/// The verdict on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub kind: ItemKind,
    pub publicity: Publicity,
    /// Why it is undecided (or what was odd), for the report.
    pub note: Option<String>,
}

/// The section markers, normalized once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Markers {
    public: Vec<String>,
    non_public: Vec<String>,
}

impl Default for Markers {
    fn default() -> Self {
        Markers::new(DEFAULT_PUBLIC_MARKERS.iter().copied(), DEFAULT_NON_PUBLIC_MARKERS.iter().copied())
    }
}

impl Markers {
    /// Markers from configured texts.
    pub fn new<'a>(
        public: impl IntoIterator<Item = &'a str>,
        non_public: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let norm = |m: &str| normalize(m);
        Markers {
            public: public.into_iter().map(norm).filter(|m| !m.is_empty()).collect(),
            non_public: non_public.into_iter().map(norm).filter(|m| !m.is_empty()).collect(),
        }
    }

    /// The publicity a marker line announces, if `name` is one.
    pub fn section_of(&self, name: &str) -> Option<Publicity> {
        let name = strip_section_letter(&normalize(name));
        let hit = |markers: &[String]| markers.iter().any(|m| starts_with_word(&name, m));
        // Non-public first: its markers may contain a public one ("nicht öffentliche ...").
        if hit(&self.non_public) {
            Some(Publicity::NonPublic)
        } else if hit(&self.public) {
            Some(Publicity::Public)
        } else {
            None
        }
    }
}

/// Lowercase, without angle brackets, dashes as spaces, whitespace collapsed.
pub fn normalize(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            '<' | '>' | '«' | '»' | '*' | '_' | '"' | ':' => ' ',
            '-' | '–' | '—' => ' ',
            c => c,
        })
        .collect::<String>()
        .to_lowercase();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "a öffentliche sitzung" → "öffentliche sitzung"; also "b." and "b)".
fn strip_section_letter(name: &str) -> String {
    let mut chars = name.chars();
    if let (Some(letter), Some(next)) = (chars.next(), chars.next())
        && letter.is_alphabetic()
        && matches!(next, ' ' | '.' | ')')
    {
        return chars.as_str().trim_start_matches(['.', ')']).trim_start().to_owned();
    }
    name.to_owned()
}

/// `text` is `marker`, or starts with it followed by a non-alphanumeric character.
fn starts_with_word(text: &str, marker: &str) -> bool {
    text.strip_prefix(marker).is_some_and(|rest| rest.chars().next().is_none_or(|c| !c.is_alphanumeric()))
}

fn blank(text: Option<&str>) -> bool {
    text.is_none_or(|t| t.trim().is_empty())
}

fn word(p: Publicity) -> &'static str {
    match p {
        Publicity::Public => "public",
        Publicity::NonPublic => "non-public",
        Publicity::Undecided => "undecided",
    }
}

/// Classifies the lines in agenda order.
pub fn classify(lines: &[Line<'_>], markers: &Markers) -> Vec<Verdict> {
    let mut section: Option<Publicity> = None;
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let marker = line.name.and_then(|n| markers.section_of(n));
        if let Some(marked) = marker {
            // A section header: it opens a section, unless its own `public` contradicts it.
            let verdict = match line.public {
                Some(p) if (p && marked == Publicity::NonPublic) || (!p && marked == Publicity::Public) => {
                    section = None;
                    Verdict {
                        kind: ItemKind::Header,
                        publicity: Publicity::Undecided,
                        note: Some(format!(
                            "section header names a {} part but says public: {p}; the items below it need their own `public`",
                            word(marked)
                        )),
                    }
                }
                _ => {
                    section = Some(marked);
                    Verdict { kind: ItemKind::Header, publicity: marked, note: None }
                }
            };
            out.push(verdict);
            continue;
        }
        let kind = if blank(line.number) { ItemKind::Header } else { ItemKind::Item };
        let explicit = line.public.map(|p| if p { Publicity::Public } else { Publicity::NonPublic });
        let verdict = match (explicit, section) {
            (Some(p), Some(s)) if p == s => Verdict { kind, publicity: p, note: None },
            (Some(p), Some(s)) => Verdict {
                kind,
                publicity: Publicity::Undecided,
                note: Some(format!("says {} inside a {} section", word(p), word(s))),
            },
            (Some(p), None) => Verdict { kind, publicity: p, note: None },
            (None, Some(s)) => Verdict { kind, publicity: s, note: None },
            (None, None) => Verdict {
                kind,
                publicity: Publicity::Undecided,
                note: Some("no `public` and no section header before it".to_owned()),
            },
        };
        out.push(verdict);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ItemKind::{Header, Item};
    use Publicity::{NonPublic, Public, Undecided};

    fn line<'a>(number: Option<&'a str>, name: &'a str, public: Option<bool>) -> Line<'a> {
        Line { number, name: Some(name), public }
    }

    fn kinds(verdicts: &[Verdict]) -> Vec<(ItemKind, Publicity, bool)> {
        verdicts.iter().map(|v| (v.kind, v.publicity, v.note.is_some())).collect()
    }

    #[test]
    fn every_default_marker_opens_its_section() {
        let m = Markers::default();
        for name in [
            "Öffentliche Sitzung",
            "A Öffentliche Sitzung",
            "A. Öffentliche Sitzung",
            "ÖFFENTLICHE SITZUNG",
            "Öffentlicher Teil",
            "< Sitzungsteil öffentlich >",
        ] {
            assert_eq!(m.section_of(name), Some(Public), "{name}");
        }
        for name in [
            "Nichtöffentliche Sitzung",
            "B Nichtöffentliche Sitzung",
            "B) Nicht öffentliche Sitzung",
            "Nicht-öffentliche Sitzung",
            "Sitzungsteil nichtöffentlich",
            "< Sitzungsteil nichtöffentlich >",
            "<Sitzungsteil nicht öffentlich>",
            "Nichtöffentlicher Teil:",
        ] {
            assert_eq!(m.section_of(name), Some(NonPublic), "{name}");
        }
        for name in [
            "Bebauungsplan Nr. 12",
            "Öffentlichkeitsbeteiligung zum Radweg",
            "Anfragen zur öffentlichen Sitzung",
            "Bericht über nichtöffentliche Sitzungen",
        ] {
            assert_eq!(m.section_of(name), None, "{name}");
        }
    }

    #[test]
    fn configured_markers_replace_the_defaults() {
        let m = Markers::new(["Teil I"], ["Teil II"]);
        assert_eq!(m.section_of("Teil II"), Some(NonPublic));
        assert_eq!(m.section_of("Teil I"), Some(Public));
        assert_eq!(m.section_of("Öffentliche Sitzung"), None);
    }

    #[test]
    fn headers_set_the_publicity_of_items_without_public() {
        let lines = [
            line(Some("A"), "Öffentliche Sitzung", None),
            line(Some("1"), "Eröffnung", None),
            line(Some("2"), "Haushalt", Some(true)),
            line(None, "< Sitzungsteil nichtöffentlich >", None),
            line(Some("3"), "Grundstücksangelegenheit", None),
            line(Some("4"), "Personalsache", Some(false)),
        ];
        let v = classify(&lines, &Markers::default());
        assert_eq!(
            kinds(&v),
            vec![
                (Header, Public, false),
                (Item, Public, false),
                (Item, Public, false),
                (Header, NonPublic, false),
                (Item, NonPublic, false),
                (Item, NonPublic, false),
            ]
        );
    }

    #[test]
    fn never_public_by_default() {
        let lines = [line(Some("1"), "Eröffnung", None), line(Some("2"), "Haushalt", Some(true))];
        let v = classify(&lines, &Markers::default());
        assert_eq!(kinds(&v), vec![(Item, Undecided, true), (Item, Public, false)]);
    }

    #[test]
    fn a_public_item_under_a_non_public_header_is_undecided() {
        let lines = [
            line(Some("B"), "Nichtöffentliche Sitzung", None),
            line(Some("7"), "Vergabe", Some(true)),
            line(Some("8"), "Vertrag", Some(false)),
        ];
        let v = classify(&lines, &Markers::default());
        assert_eq!(
            kinds(&v),
            vec![(Header, NonPublic, false), (Item, Undecided, true), (Item, NonPublic, false)]
        );
        assert!(v[1].note.as_deref().unwrap().contains("public inside a non-public section"));
    }

    #[test]
    fn a_header_contradicting_its_own_public_closes_the_section() {
        let lines = [
            line(None, "Öffentliche Sitzung", None),
            line(None, "Nichtöffentliche Sitzung", Some(true)),
            line(Some("9"), "Sache", None),
        ];
        let v = classify(&lines, &Markers::default());
        assert_eq!(
            kinds(&v),
            vec![(Header, Public, false), (Header, Undecided, true), (Item, Undecided, true)]
        );
    }

    #[test]
    fn a_line_without_number_is_a_header_that_keeps_the_section() {
        let lines = [
            line(None, "Nichtöffentliche Sitzung", None),
            line(Some(" "), "Bauangelegenheiten", None),
            line(Some("5"), "Bauantrag", None),
        ];
        let v = classify(&lines, &Markers::default());
        assert_eq!(
            kinds(&v),
            vec![(Header, NonPublic, false), (Header, NonPublic, false), (Item, NonPublic, false)]
        );
    }
}
