//! `[journal]`: where the record of meetings is kept, and for how long.

use std::path::PathBuf;

use super::super::reader::{Cx, Table};
use super::non_empty;
use crate::journal::{DEFAULT_RETENTION_DAYS, JournalLocation, JournalSettings, MAX_RETENTION_DAYS};

/// Reads `[journal]` (optional). A relative `path` is taken relative to the directory of
/// the configuration file, so the file means the same wherever `podiumd` is started.
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> JournalSettings {
    let mut settings = JournalSettings::default();
    let Some(mut t) = root.table(cx, "journal") else {
        return settings;
    };
    if let Some(path) = t.string(cx, "path")
        && non_empty(cx, &t, "path", &path)
    {
        let path = PathBuf::from(path.v.trim());
        let path = match cx.file.parent() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path,
        };
        settings.location = JournalLocation::File(path);
    }
    if let Some(days) = t.integer_in(cx, "retention_days", 1, i64::from(MAX_RETENTION_DAYS)) {
        settings.retention_days = u32::try_from(days.v).unwrap_or(DEFAULT_RETENTION_DAYS);
    }
    if let Some(record) = t.boolean(cx, "record_addresses") {
        settings.record_addresses = record.v;
    }
    t.finish(cx);
    settings
}
