//! The daemon's clocks, turned into the engine's time values.

use podium_floor::{Instant, Timestamp};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Maps tokio's monotonic clock to engine instants (milliseconds since the clock's origin)
/// and stamps each instant with wall-clock time for the record.
#[derive(Debug, Clone, Copy)]
pub struct SessionClock {
    origin: tokio::time::Instant,
    /// Engine instant of `origin`; non-zero when a restored session continues its timeline.
    origin_ms: u64,
}

impl SessionClock {
    /// A clock whose engine time starts at `origin_ms` now.
    pub fn starting_at(origin_ms: u64) -> Self {
        SessionClock { origin: tokio::time::Instant::now(), origin_ms }
    }

    /// Now, on both clocks.
    pub fn now(&self) -> Timestamp {
        let mono = self.origin_ms + self.origin.elapsed().as_millis() as u64;
        Timestamp::new(mono, unix_ms())
    }

    /// The tokio instant at which the engine's `instant` falls.
    pub fn to_tokio(&self, instant: Instant) -> tokio::time::Instant {
        self.origin + Duration::from_millis(instant.0.saturating_sub(self.origin_ms))
    }
}

/// The wall clock now, in Unix milliseconds (0 if the clock is before 1970).
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
