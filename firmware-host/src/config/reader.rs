//! Reading typed values out of a spanned TOML document while collecting every error.
//!
//! A section reader asks a [`Table`] for the keys it knows (`string`, `integer`,
//! `boolean`, `choice`, `table`, `tables`); each request records the key as known. Wrong
//! types are reported and yield `None`, so one bad value never hides another.
//! [`Table::finish`] then reports every key that nobody asked for, with the closest known
//! key as a suggestion.

use std::ops::Range;
use std::path::Path;

use toml_edit::{Item, TableLike, Value};

use super::error::ConfigError;

/// A byte range in the configuration text.
pub(crate) type Span = Range<usize>;

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sp<T> {
    pub v: T,
    pub span: Span,
}

/// The error collector for one file.
pub(crate) struct Cx<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub errors: Vec<ConfigError>,
}

impl<'a> Cx<'a> {
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        Cx { file, text, errors: Vec::new() }
    }

    /// Records an error at `span`.
    pub fn err(
        &mut self,
        span: &Span,
        field: impl Into<String>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let mut e = ConfigError::at(self.file, self.text, span.clone(), field, message);
        // A PIN is a secret: an error about it names its place, never quotes its line.
        if e.field == "pin" || e.field.ends_with(".pin") {
            e.source_line = None;
        }
        self.errors.push(e.with_help(help));
    }

    /// The 1-based line of a byte offset (for "first defined at line N").
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }
}

/// The closest candidate to `input`, if any is close enough to be a plausible typo.
pub(crate) fn suggest<'c>(input: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let input = input.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&input, c).max(strsim::normalized_damerau_levenshtein(&input, c));
        if score >= 0.75 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// "did you mean `x`?" or nothing.
pub(crate) fn did_you_mean<'c>(input: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<String> {
    suggest(input, candidates).map(|s| format!("did you mean `{s}`?"))
}

/// "`a`, `b` or `c`".
pub(crate) fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// "a string", "an integer", ... for messages.
fn with_article(type_name: &str) -> String {
    let article = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {type_name}")
}

/// A table (`[x]`, `[[x]]` element or inline `{ ... }`) being read.
pub(crate) struct Table<'t> {
    inner: &'t dyn TableLike,
    /// Where the table starts (its header), for "missing key" errors.
    pub span: Span,
    /// Dotted path, empty for the root.
    path: String,
    known: Vec<&'static str>,
    elsewhere: Vec<(&'static str, String)>,
}

impl<'t> Table<'t> {
    pub fn new(inner: &'t dyn TableLike, span: Span, path: String) -> Self {
        Table { inner, span, path, known: Vec::new(), elsewhere: Vec::new() }
    }

    /// The dotted path of a key of this table.
    pub fn field(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    /// Keys that belong in another table: if one of them turns up here as unknown, the
    /// help says where it goes (e.g. `turn_limit` under `[discussion]`).
    pub fn belong_elsewhere(&mut self, keys: &[&'static str], home: &str) {
        for k in keys {
            self.elsewhere.push((*k, home.to_owned()));
        }
    }

    /// Where the table was written (its header), for errors about the table as a whole.
    pub fn span(&self) -> Span {
        self.span.clone()
    }

    /// Whether the key is present (whatever its type).
    pub fn has(&self, key: &str) -> bool {
        self.inner.get(key).is_some_and(|i| !i.is_none())
    }

    /// Looks a key up and records it as known. Returns the item and its best span.
    fn get(&mut self, key: &'static str) -> Option<(&'t Item, Span)> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        let (k, item) = self.inner.get_key_value(key)?;
        if item.is_none() {
            return None;
        }
        let span = item.span().or_else(|| k.span()).unwrap_or_else(|| self.span.clone());
        Some((item, span))
    }

    fn type_error(&self, cx: &mut Cx<'_>, key: &str, span: &Span, expected: &str, item: &Item) {
        let help = match (expected, item) {
            ("a boolean", Item::Value(Value::String(s)))
                if matches!(s.value().as_str(), "true" | "false") =>
            {
                Some(format!("write {} without quotes", s.value()))
            }
            ("an integer" | "a time", Item::Value(Value::String(s)))
                if s.value().trim().parse::<i64>().is_ok() =>
            {
                Some(format!("write {} without quotes", s.value().trim()))
            }
            ("an integer", Item::Value(Value::Float(f))) => {
                Some(format!("write a whole number, e.g. {}", f.value().trunc()))
            }
            _ => None,
        };
        cx.err(
            span,
            self.field(key),
            format!("expected {expected}, found {}", with_article(item.type_name())),
            help,
        );
    }

    /// A string value.
    pub fn string(&mut self, cx: &mut Cx<'_>, key: &'static str) -> Option<Sp<String>> {
        let (item, span) = self.get(key)?;
        match item.as_str() {
            Some(s) => Some(Sp { v: s.to_owned(), span }),
            None => {
                self.type_error(cx, key, &span, "a string", item);
                None
            }
        }
    }

    /// An integer value.
    pub fn integer(&mut self, cx: &mut Cx<'_>, key: &'static str) -> Option<Sp<i64>> {
        let (item, span) = self.get(key)?;
        match item.as_integer() {
            Some(i) => Some(Sp { v: i, span }),
            None => {
                self.type_error(cx, key, &span, "an integer", item);
                None
            }
        }
    }

    /// An integer that must lie in `min..=max`, e.g. a seat number.
    pub fn integer_in(&mut self, cx: &mut Cx<'_>, key: &'static str, min: i64, max: i64) -> Option<Sp<i64>> {
        let i = self.integer(cx, key)?;
        if i.v < min || i.v > max {
            cx.err(
                &i.span,
                self.field(key),
                format!("{key} must be between {min} and {max}, not {}", i.v),
                None,
            );
            return None;
        }
        Some(i)
    }

    /// An integer in `min..=max` as `u16` (e.g. a seat number).
    pub fn u16_in(&mut self, cx: &mut Cx<'_>, key: &'static str, min: u16, max: u16) -> Option<Sp<u16>> {
        let i = self.integer_in(cx, key, i64::from(min), i64::from(max))?;
        let v = u16::try_from(i.v).ok()?;
        Some(Sp { v, span: i.span })
    }

    /// An array of integers, e.g. `outputs = [1, 2]`, each with its place.
    pub fn array_of_integers(&mut self, cx: &mut Cx<'_>, key: &'static str) -> Option<Vec<Sp<i64>>> {
        let (item, span) = self.get(key)?;
        let Some(array) = item.as_array() else {
            self.type_error(cx, key, &span, "an array of integers", item);
            return None;
        };
        let mut out = Vec::new();
        for v in array.iter() {
            let s = v.span().unwrap_or_else(|| span.clone());
            match v.as_integer() {
                Some(i) => out.push(Sp { v: i, span: s }),
                None => cx.err(
                    &s,
                    self.field(key),
                    format!("expected an integer, found {}", with_article(v.type_name())),
                    None,
                ),
            }
        }
        Some(out)
    }

    /// An array of strings, e.g. `trusted_proxies = ["127.0.0.1"]`, each with its place.
    pub fn array_of_strings(&mut self, cx: &mut Cx<'_>, key: &'static str) -> Option<Vec<Sp<String>>> {
        let (item, span) = self.get(key)?;
        let Some(array) = item.as_array() else {
            self.type_error(cx, key, &span, "an array of strings", item);
            return None;
        };
        let mut out = Vec::new();
        for v in array.iter() {
            let s = v.span().unwrap_or_else(|| span.clone());
            match v.as_str() {
                Some(text) => out.push(Sp { v: text.to_owned(), span: s }),
                None => cx.err(
                    &s,
                    self.field(key),
                    format!("expected a string, found {}", with_article(v.type_name())),
                    None,
                ),
            }
        }
        Some(out)
    }

    /// A boolean value.
    pub fn boolean(&mut self, cx: &mut Cx<'_>, key: &'static str) -> Option<Sp<bool>> {
        let (item, span) = self.get(key)?;
        match item.as_bool() {
            Some(b) => Some(Sp { v: b, span }),
            None => {
                self.type_error(cx, key, &span, "a boolean", item);
                None
            }
        }
    }

    /// Either a string or an integer (e.g. a time as "3:00" or 180), as spanned raw value.
    pub fn string_or_integer(
        &mut self,
        cx: &mut Cx<'_>,
        key: &'static str,
        expected: &str,
    ) -> Option<Sp<StrOrInt>> {
        let (item, span) = self.get(key)?;
        if let Some(s) = item.as_str() {
            return Some(Sp { v: StrOrInt::Str(s.to_owned()), span });
        }
        if let Some(i) = item.as_integer() {
            return Some(Sp { v: StrOrInt::Int(i), span });
        }
        self.type_error(cx, key, &span, expected, item);
        None
    }

    /// One of a fixed set of names (an enum), with a suggestion for a misspelt value.
    /// `what` names the kind of value in messages, e.g. "mode".
    pub fn choice(
        &mut self,
        cx: &mut Cx<'_>,
        key: &'static str,
        what: &str,
        names: &'static [&'static str],
    ) -> Option<Sp<&'static str>> {
        let s = self.string(cx, key)?;
        match names.iter().find(|n| **n == s.v) {
            Some(n) => Some(Sp { v: *n, span: s.span }),
            None => {
                let help = did_you_mean(&s.v, names.iter().copied())
                    .unwrap_or_else(|| format!("expected {}", one_of(names)));
                cx.err(&s.span, self.field(key), format!("unknown {what} `{}`", s.v), Some(help));
                None
            }
        }
    }

    /// A sub-table `[path.key]` (or an inline table). `None` if absent or not a table.
    pub fn table(&mut self, cx: &mut Cx<'_>, key: &'static str) -> Option<Table<'t>> {
        let (item, span) = self.get(key)?;
        match item.as_table_like() {
            Some(t) if !matches!(item, Item::ArrayOfTables(_)) => Some(Table::new(t, span, self.field(key))),
            _ => {
                let help = matches!(item, Item::ArrayOfTables(_))
                    .then(|| format!("write `[{}]` with single brackets", self.field(key)));
                cx.err(
                    &span,
                    self.field(key),
                    format!(
                        "expected a table `[{}]`, found {}",
                        self.field(key),
                        with_article(item.type_name())
                    ),
                    help,
                );
                None
            }
        }
    }

    /// A list of tables `[[key]]` (or an array of inline tables). Elements are named
    /// `key[1]`, `key[2]`, ... (1-based, in file order).
    pub fn tables(&mut self, cx: &mut Cx<'_>, key: &'static str) -> Vec<Table<'t>> {
        let Some((item, span)) = self.get(key) else {
            return Vec::new();
        };
        let field = self.field(key);
        let mut out = Vec::new();
        match item {
            Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    let s = t.span().unwrap_or_else(|| span.clone());
                    out.push(Table::new(t, s, format!("{field}[{}]", i + 1)));
                }
            }
            Item::Value(Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    let s = v.span().unwrap_or_else(|| span.clone());
                    let path = format!("{field}[{}]", i + 1);
                    match v.as_inline_table() {
                        Some(t) => out.push(Table::new(t, s, path)),
                        None => cx.err(
                            &s,
                            path,
                            format!("expected an inline table, found {}", with_article(v.type_name())),
                            None,
                        ),
                    }
                }
            }
            _ => {
                let help = matches!(item, Item::Table(_))
                    .then(|| format!("write `[[{field}]]` with double brackets, once per entry"));
                cx.err(
                    &span,
                    field.clone(),
                    format!(
                        "expected a list of tables `[[{field}]]`, found {}",
                        with_article(item.type_name())
                    ),
                    help,
                );
            }
        }
        out
    }

    /// Reports a missing required key at the table's header.
    pub fn missing(&self, cx: &mut Cx<'_>, key: &str, example: &str) {
        let (message, help) = if self.path.is_empty() {
            (format!("missing section `[{key}]`"), format!("add a `[{key}]` section{example}"))
        } else {
            (format!("missing key `{key}` in `{}`", self.path), format!("add `{key} = {example}`"))
        };
        cx.err(&self.span, self.field(key), message, Some(help));
    }

    /// Reports every key nobody asked for.
    pub fn finish(self, cx: &mut Cx<'_>) {
        for (key, item) in self.inner.iter() {
            if self.known.contains(&key) || item.is_none() {
                continue;
            }
            let span = self
                .inner
                .key(key)
                .and_then(|k| k.span())
                .or_else(|| item.span())
                .unwrap_or_else(|| self.span.clone());
            let message = if self.path.is_empty() && item.is_table_like() {
                format!("unknown section `{key}`")
            } else if self.path.is_empty() {
                format!("unknown top-level key `{key}`")
            } else {
                format!("unknown key `{key}` in `{}`", self.path)
            };
            let home = self.elsewhere.iter().find(|(k, _)| *k == key);
            let help = home.map(|(_, home)| format!("`{key}` belongs in `{home}`"));
            let help = help.or_else(|| did_you_mean(key, self.known.iter().copied()));
            let help = help.or_else(|| {
                let list = one_of(&self.known);
                (!list.is_empty()).then(|| format!("expected {list}"))
            });
            cx.err(&span, self.field(key), message, help);
        }
    }
}

/// A value that may be written as a string or as an integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StrOrInt {
    Str(String),
    Int(i64),
}
