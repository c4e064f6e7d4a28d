//! Configuration errors: where in the file, which field, what is wrong, how to fix it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a room configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters (not bytes).
    pub column: usize,
    /// Dotted path of the field, e.g. `seat[3].number` or `discussion.mode`
    /// (`seat[3]` is the third `[[seat]]` table in the file). Empty for errors that
    /// concern the whole file (unreadable file, TOML syntax error).
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, e.g. "did you mean `open`?".
    pub help: Option<String>,
    /// The text of the offending line (without line break), for display.
    pub source_line: Option<String>,
    /// How many characters from `column` on are marked with carets (at least 1).
    pub width: usize,
}

impl ConfigError {
    /// An error at a byte span of `text`; line and column are computed from the span.
    pub(crate) fn at(
        file: &Path,
        text: &str,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let start = floor_char_boundary(text, span.start);
        let end = floor_char_boundary(text, span.end.max(start));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let source_line = text[line_start..line_end].trim_end_matches('\r').to_owned();
        let width = text[start..end.min(line_end)].trim_end_matches(['\r', '\n']).chars().count().max(1);
        ConfigError {
            file: file.to_owned(),
            line,
            column,
            field: field.into(),
            message: message.into(),
            help: None,
            source_line: Some(source_line),
            width,
        }
    }

    /// An error about the whole file (line 1, column 1, no source line).
    pub(crate) fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_owned(),
            line: 1,
            column: 1,
            field: String::new(),
            message: message.into(),
            help: None,
            source_line: None,
            width: 1,
        }
    }

    /// Adds a help line.
    pub(crate) fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for ConfigError {
    /// `file:line:column: field: message`, then the source line with a caret under the
    /// column and the help line, in the style of rustc.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)?;
        let gutter = self.line.to_string().len();
        if let Some(source) = &self.source_line {
            // Keep tabs so the caret lines up with the text above it.
            let pad: String = source
                .chars()
                .take(self.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let source = source.replace(|c: char| c.is_control() && c != '\t', " ");
            write!(f, "\n{:gutter$} |", "")?;
            write!(f, "\n{} | {}", self.line, source)?;
            write!(f, "\n{:gutter$} | {}{}", "", pad, "^".repeat(self.width))?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n{:gutter$} = help: {}", "", help)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// All problems found in one configuration file, in file order. Never empty when
/// returned by [`super::load`] or [`super::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The individual errors.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for ConfigErrors {
    /// Every error as in [`ConfigError`]'s `Display`, separated by blank lines, then a
    /// count when there is more than one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{e}")?;
        }
        if self.0.len() > 1 {
            let file = self.0[0].file.display();
            write!(f, "\n\n{} errors in {file}", self.0.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
