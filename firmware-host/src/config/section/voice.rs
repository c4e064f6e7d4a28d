//! `[voice]`: how what the room microphones hear (Shure MXA automixer gates, the `voice`
//! messages of networked desk units) becomes the floor's `voice` mode. A talker's
//! microphone opens once the voice has lasted `open_after_ms` and closes after
//! `close_after_ms` of silence, so a cough, a breath or a gate fluttering between words
//! neither opens a microphone nor closes one mid-sentence.

use super::super::reader::{Cx, Table};

/// `[voice]`; every field has a default, so the section is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceConfig {
    /// Voice heard this long (ms) opens the microphone.
    pub open_after_ms: u64,
    /// Silence this long (ms) closes it.
    pub close_after_ms: u64,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig { open_after_ms: 150, close_after_ms: 1500 }
    }
}

/// Reads `[voice]`; the defaults when absent.
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> VoiceConfig {
    let mut config = VoiceConfig::default();
    let Some(mut t) = root.table(cx, "voice") else { return config };
    if let Some(ms) = t.integer_in(cx, "open_after_ms", 0, 5_000) {
        config.open_after_ms = ms.v as u64;
    }
    if let Some(ms) = t.integer_in(cx, "close_after_ms", 0, 60_000) {
        config.close_after_ms = ms.v as u64;
    }
    t.finish(cx);
    config
}
