//! Time as a value: the engine never reads a clock, the caller passes the instant in.

use serde::{Deserialize, Serialize};

/// A monotonic instant in milliseconds since an origin the caller chooses
/// (the daemon uses its start). Only differences between instants mean anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Instant(pub u64);

impl Instant {
    /// The instant `ms` milliseconds later.
    pub fn plus_ms(self, ms: u64) -> Instant {
        Instant(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn ms_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// When something happened: the monotonic instant the rules use, and the wall-clock
/// time (Unix milliseconds) a human reads in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timestamp {
    /// Monotonic milliseconds; see [`Instant`].
    pub mono_ms: Instant,
    /// Wall-clock time in milliseconds since the Unix epoch (UTC).
    pub unix_ms: i64,
}

impl Timestamp {
    /// A timestamp from both clocks.
    pub fn new(mono_ms: u64, unix_ms: i64) -> Self {
        Timestamp { mono_ms: Instant(mono_ms), unix_ms }
    }

    /// The same moment seen `ms` milliseconds later on both clocks.
    pub fn plus_ms(self, ms: u64) -> Timestamp {
        Timestamp { mono_ms: self.mono_ms.plus_ms(ms), unix_ms: self.unix_ms.saturating_add(ms as i64) }
    }
}
