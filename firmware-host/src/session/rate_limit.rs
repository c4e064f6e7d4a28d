//! Per-source rate limits in front of the session owner: a chattering desk key or a
//! flooding client is cut off at its own token bucket, before its commands reach the
//! owner's queue, so everyone else's commands are served as before. Counted per source
//! and shown in `/api/v1/diagnostics`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::unix_ms as now_unix_ms;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// Where a command comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// An HTTP API client: by principal (`api:user:chair`, `api:member:vogt`) when it
    /// authenticated, else by address (`api:127.0.0.1`).
    Api(String),
    /// A desk unit on a bus (`desk:rs485-1/7`).
    Desk {
        /// The bus id from the room configuration.
        bus: String,
        /// The unit's address on the bus.
        unit: u16,
    },
    /// An MQTT client, e.g. the video-conference bridge (`mqtt:bridge`).
    Mqtt(String),
    /// The daemon itself and callers that do not name a source; not limited.
    Internal,
    /// Anything else, named freely (limited like a client).
    Other(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Api(client) => write!(f, "api:{client}"),
            Source::Desk { bus, unit } => write!(f, "desk:{bus}/{unit}"),
            Source::Mqtt(client) => write!(f, "mqtt:{client}"),
            Source::Internal => f.write_str("internal"),
            Source::Other(name) => f.write_str(name),
        }
    }
}

impl Source {
    /// The source as the journal records it: without the client's address unless
    /// `with_address` (`[journal] record_addresses`); other sources name no person's address.
    pub fn recorded(&self, with_address: bool) -> String {
        match self {
            Source::Api(client) if !with_address && client.parse::<std::net::IpAddr>().is_ok() => {
                "api".into()
            }
            _ => self.to_string(),
        }
    }
}

/// A token bucket: up to `burst` commands at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Limit {
    /// Commands accepted in a burst.
    pub burst: u32,
    /// Sustained commands per second.
    pub per_second: u32,
}

/// A desk unit: a person presses a key a few times a second at most; some units repeat an
/// event up to four times.
pub const DESK_LIMIT: Limit = Limit { burst: 10, per_second: 5 };
/// A client (web console, bridge): bursts of clicks and replays after a reconnect.
pub const CLIENT_LIMIT: Limit = Limit { burst: 40, per_second: 20 };
/// Sources remembered at most; the least recently seen is forgotten first.
const MAX_SOURCES: usize = 4096;
/// A flooding source is logged at most this often.
const WARN_EVERY: Duration = Duration::from_secs(10);

impl Source {
    /// The limit for this source; `None` means unlimited.
    pub fn limit(&self) -> Option<Limit> {
        match self {
            Source::Desk { .. } => Some(DESK_LIMIT),
            Source::Api(_) | Source::Mqtt(_) | Source::Other(_) => Some(CLIENT_LIMIT),
            Source::Internal => None,
        }
    }
}

/// Counters of one source, as shown to the technician.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceStats {
    /// The source (`api:user:chair`, `api:member:vogt`, `api:127.0.0.1`, `desk:rs485-1/7`,
    /// `mqtt:bridge`, `internal`).
    pub source: String,
    /// Commands let through to the floor.
    pub accepted: u64,
    /// Commands dropped by the rate limit.
    pub limited: u64,
    /// Commands let through that the floor rules rejected (counted by the session owner;
    /// a source that does not wait for its answers sees them here).
    pub rejected: u64,
    /// When a command was last dropped (Unix milliseconds).
    pub last_limited_unix_ms: Option<i64>,
    /// The limit applied; absent for unlimited sources.
    pub limit: Option<Limit>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
    accepted: u64,
    limited: u64,
    rejected: u64,
    last_limited_unix_ms: Option<i64>,
    warned: Option<Instant>,
}

/// The buckets of every source.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<Source, Bucket>>,
}

impl RateLimiter {
    /// Takes a token for `source`. `Err(retry_after_ms)` if its bucket is empty.
    pub fn admit(&self, source: &Source) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !buckets.contains_key(source) && buckets.len() >= MAX_SOURCES {
            let oldest = buckets.iter().min_by_key(|(_, b)| b.refilled).map(|(s, _)| s.clone());
            if let Some(oldest) = oldest {
                buckets.remove(&oldest);
            }
        }
        let limit = source.limit();
        let bucket = buckets.entry(source.clone()).or_insert_with(|| Bucket {
            tokens: limit.map_or(0.0, |l| f64::from(l.burst)),
            refilled: now,
            accepted: 0,
            limited: 0,
            rejected: 0,
            last_limited_unix_ms: None,
            warned: None,
        });
        let Some(limit) = limit else {
            bucket.accepted += 1;
            bucket.refilled = now;
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * f64::from(limit.per_second)).min(f64::from(limit.burst));
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            bucket.accepted += 1;
            return Ok(());
        }
        bucket.limited += 1;
        bucket.last_limited_unix_ms = Some(now_unix_ms());
        if bucket.warned.is_none_or(|t| now.saturating_duration_since(t) >= WARN_EVERY) {
            bucket.warned = Some(now);
            tracing::warn!(
                %source,
                limited = bucket.limited,
                "rate limit: {source} sends more than {} commands a second; the excess is dropped",
                limit.per_second
            );
        }
        let missing = 1.0 - bucket.tokens;
        Err((missing / f64::from(limit.per_second.max(1)) * 1000.0).ceil() as u64)
    }

    /// Counts a command of `source` that the floor rules rejected. A source forgotten
    /// meanwhile (more sources than kept) is not counted.
    pub fn note_rejected(&self, source: &Source) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(bucket) = buckets.get_mut(source) {
            bucket.rejected += 1;
        }
    }

    /// The counters of every source, busiest first.
    pub fn stats(&self) -> Vec<SourceStats> {
        let buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut stats: Vec<SourceStats> = buckets
            .iter()
            .map(|(source, b)| SourceStats {
                source: source.to_string(),
                accepted: b.accepted,
                limited: b.limited,
                rejected: b.rejected,
                last_limited_unix_ms: b.last_limited_unix_ms,
                limit: source.limit(),
            })
            .collect();
        stats.sort_by(|a, b| {
            (b.accepted + b.limited).cmp(&(a.accepted + a.limited)).then(a.source.cmp(&b.source))
        });
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_named_as_documented() {
        assert_eq!(Source::Api("127.0.0.1".into()).to_string(), "api:127.0.0.1");
        assert_eq!(Source::Api("member:vogt".into()).to_string(), "api:member:vogt");
        assert_eq!(Source::Desk { bus: "rs485-1".into(), unit: 7 }.to_string(), "desk:rs485-1/7");
        assert_eq!(Source::Mqtt("bridge".into()).to_string(), "mqtt:bridge");
        assert_eq!(Source::Internal.to_string(), "internal");
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_rate_and_other_sources_untouched() {
        let limiter = RateLimiter::default();
        let desk = Source::Desk { bus: "b".into(), unit: 1 };
        let other = Source::Desk { bus: "b".into(), unit: 2 };
        let accepted = (0..1000).filter(|_| limiter.admit(&desk).is_ok()).count();
        assert_eq!(accepted, DESK_LIMIT.burst as usize);
        assert!(limiter.admit(&other).is_ok(), "another desk has its own bucket");
        tokio::time::advance(Duration::from_secs(2)).await;
        let accepted = (0..1000).filter(|_| limiter.admit(&desk).is_ok()).count();
        assert_eq!(accepted, 2 * DESK_LIMIT.per_second as usize);
        let retry = limiter.admit(&desk).expect_err("still limited");
        assert!(retry > 0 && retry <= 1000 / u64::from(DESK_LIMIT.per_second), "retry after {retry} ms");
        let stats = limiter.stats();
        let desk_stats = stats.iter().find(|s| s.source == "desk:b/1").expect("desk counted");
        assert_eq!((desk_stats.accepted, desk_stats.limited), (20, 1981));
        assert!(desk_stats.last_limited_unix_ms.is_some());
        let other_stats = stats.iter().find(|s| s.source == "desk:b/2").expect("other counted");
        assert_eq!((other_stats.accepted, other_stats.limited), (1, 0));
    }

    #[test]
    fn internal_is_never_limited_and_the_table_is_bounded() {
        let limiter = RateLimiter::default();
        assert!((0..10_000).all(|_| limiter.admit(&Source::Internal).is_ok()));
        for i in 0..(MAX_SOURCES + 10) {
            let _ = limiter.admit(&Source::Api(format!("10.0.{}.{}", i / 256, i % 256)));
        }
        assert!(limiter.stats().len() <= MAX_SOURCES);
    }
}
