//! Throttles in front of the expensive or abusable parts of access: password checks and
//! personal-link opens. Sans-IO: every call takes `now`, so the rules are unit-tested
//! without a clock, and every table is bounded (the least recently seen entry is forgotten
//! first, so a flood from many addresses costs memory once, not without end).
//!
//! **Logins.** Per address: [`LOGIN_FREE_FAILURES`] wrong passwords are answered normally;
//! then the address is refused (429 `too_many_attempts`, `Retry-After`) for
//! [`LOGIN_FIRST_BLOCK`], doubling with every further failure up to [`LOGIN_MAX_BLOCK`].
//! Failures are forgotten after [`LOGIN_FORGET_AFTER`] without one (counted from the end
//! of a refusal), and a correct login
//! clears its address. Per user name the same rule applies with
//! [`LOGIN_FREE_USER_FAILURES`], except for addresses this user has logged in from before
//! (so a flood against `chair` from elsewhere does not lock the chair out of their own
//! console). One password check per address runs at a time ([`LOGIN_IN_FLIGHT_PER_ADDRESS`]):
//! further concurrent attempts are refused at once, so they never queue for the argon2
//! slots in front of another address.
//!
//! **Link opens.** A token bucket per address ([`LINK_OPEN_BURST`], refilled at
//! [`LINK_OPENS_PER_MINUTE`]).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong passwords from one address answered normally before it is refused.
pub const LOGIN_FREE_FAILURES: u32 = 10;
/// Wrong passwords for one user name (from addresses that never logged in as that user).
pub const LOGIN_FREE_USER_FAILURES: u32 = 20;
/// The first refusal after the free failures.
pub const LOGIN_FIRST_BLOCK: Duration = Duration::from_secs(30);
/// The longest refusal.
pub const LOGIN_MAX_BLOCK: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten after this long without another.
pub const LOGIN_FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Password checks of one address running or waiting at once.
pub const LOGIN_IN_FLIGHT_PER_ADDRESS: u32 = 1;
/// Personal-link opens one address may make at once.
pub const LINK_OPEN_BURST: u32 = 30;
/// Personal-link opens per minute one address regains.
pub const LINK_OPENS_PER_MINUTE: u32 = 30;
/// Addresses (and user names) remembered at most per table.
pub const MAX_ENTRIES: usize = 4096;
/// Addresses remembered per user as "logged in from here before".
const KNOWN_ADDRESSES_PER_USER: usize = 8;

/// Refused: try again after this long (the `Retry-After` header, whole seconds, at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, rounded up, at least one.
    pub fn seconds(self) -> u64 {
        self.0.as_millis().div_ceil(1000).max(1) as u64
    }
}

#[derive(Debug, Clone, Default)]
struct Failures {
    count: u32,
    last: Option<Instant>,
    blocked_until: Option<Instant>,
    in_flight: u32,
    /// For user entries: addresses this user logged in from.
    known: Vec<IpAddr>,
}

impl Failures {
    /// Forgets the failures after [`LOGIN_FORGET_AFTER`] without one, counted from the
    /// end of a refusal (while refused, no failure can be counted), so the back-off keeps
    /// growing for an address that tries again right after each refusal.
    fn forget_if_quiet(&mut self, now: Instant) {
        let quiet_since = match (self.last, self.blocked_until) {
            (Some(last), Some(until)) => Some(last.max(until)),
            (last, until) => last.or(until),
        };
        if quiet_since.is_some_and(|since| now.saturating_duration_since(since) >= LOGIN_FORGET_AFTER) {
            self.count = 0;
            self.last = None;
            self.blocked_until = None;
        }
    }

    fn blocked(&self, now: Instant) -> Option<RetryAfter> {
        self.blocked_until.filter(|until| *until > now).map(|until| RetryAfter(until - now))
    }

    /// Counts a failure; blocks once more than `free` failures are counted.
    fn fail(&mut self, now: Instant, free: u32) {
        self.count = self.count.saturating_add(1);
        self.last = Some(now);
        if self.count >= free {
            let doublings = (self.count - free).min(16);
            let block = LOGIN_FIRST_BLOCK.saturating_mul(1 << doublings).min(LOGIN_MAX_BLOCK);
            self.blocked_until = Some(now + block);
        }
    }
}

/// A table bounded to [`MAX_ENTRIES`]: a new key forgets the least recently used one.
#[derive(Debug)]
struct Bounded<K, V> {
    entries: HashMap<K, (V, Instant)>,
}

impl<K: Hash + Eq + Clone, V: Default> Bounded<K, V> {
    fn new() -> Self {
        Bounded { entries: HashMap::new() }
    }

    fn entry(&mut self, key: &K, now: Instant) -> &mut V {
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_ENTRIES {
            let oldest = self.entries.iter().min_by_key(|(_, (_, seen))| *seen).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        let slot = self.entries.entry(key.clone()).or_insert_with(|| (V::default(), now));
        slot.1 = now;
        &mut slot.0
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.entries.get_mut(key).map(|(v, _)| v)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// A password check that may run; hand it back with [`LoginThrottle::finish`].
#[derive(Debug)]
#[must_use = "a started login must be finished, or its address stays busy"]
pub struct LoginTicket {
    address: IpAddr,
    user: String,
}

impl LoginTicket {
    /// The address the attempt came from.
    pub fn address(&self) -> IpAddr {
        self.address
    }
}

/// How a password check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Right name and password.
    Success,
    /// Wrong name or password.
    Failure,
    /// The check did not complete (shutting down); counts neither way.
    Abandoned,
}

/// The login throttle (see the module docs).
#[derive(Debug)]
pub struct LoginThrottle {
    by_address: Bounded<IpAddr, Failures>,
    by_user: Bounded<String, Failures>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new()
    }
}

impl LoginThrottle {
    /// An empty throttle.
    pub fn new() -> Self {
        LoginThrottle { by_address: Bounded::new(), by_user: Bounded::new() }
    }

    /// May `address` check a password for `user` now? Refused attempts are not counted
    /// as failures (they never reach the password check).
    pub fn begin(&mut self, now: Instant, address: IpAddr, user: &str) -> Result<LoginTicket, RetryAfter> {
        let by_address = self.by_address.entry(&address, now);
        by_address.forget_if_quiet(now);
        if let Some(retry) = by_address.blocked(now) {
            return Err(retry);
        }
        if by_address.in_flight >= LOGIN_IN_FLIGHT_PER_ADDRESS {
            return Err(RetryAfter(Duration::from_secs(1)));
        }
        // Unknown user names are throttled by address only, so random names cannot fill
        // the table of users; known names come from the room file and are few.
        let user_key = user.to_owned();
        if let Some(by_user) = self.by_user.get_mut(&user_key) {
            by_user.forget_if_quiet(now);
            if !by_user.known.contains(&address)
                && let Some(retry) = by_user.blocked(now)
            {
                return Err(retry);
            }
        }
        self.by_address.entry(&address, now).in_flight += 1;
        Ok(LoginTicket { address, user: user_key })
    }

    /// Records how the check went. `user_exists`: the name is a configured user (only
    /// those get a per-user entry).
    pub fn finish(&mut self, now: Instant, ticket: LoginTicket, outcome: LoginOutcome, user_exists: bool) {
        let by_address = self.by_address.entry(&ticket.address, now);
        by_address.in_flight = by_address.in_flight.saturating_sub(1);
        match outcome {
            LoginOutcome::Abandoned => {}
            LoginOutcome::Success => {
                by_address.count = 0;
                by_address.blocked_until = None;
                let by_user = self.by_user.entry(&ticket.user, now);
                if !by_user.known.contains(&ticket.address) {
                    if by_user.known.len() >= KNOWN_ADDRESSES_PER_USER {
                        by_user.known.remove(0);
                    }
                    by_user.known.push(ticket.address);
                }
            }
            LoginOutcome::Failure => {
                by_address.fail(now, LOGIN_FREE_FAILURES);
                if user_exists {
                    self.by_user.entry(&ticket.user, now).fail(now, LOGIN_FREE_USER_FAILURES);
                }
            }
        }
    }

    /// Failures counted for an address (for logs and tests).
    pub fn failures_of(&mut self, address: IpAddr) -> u32 {
        self.by_address.get_mut(&address).map_or(0, |f| f.count)
    }

    /// Entries kept (for tests: the tables are bounded).
    pub fn entries(&self) -> usize {
        self.by_address.len() + self.by_user.len()
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled: Option<Instant>,
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket { tokens: f64::from(LINK_OPEN_BURST), refilled: None }
    }
}

/// Personal-link opens per address (see the module docs).
#[derive(Debug)]
pub struct LinkOpenThrottle {
    buckets: Bounded<IpAddr, Bucket>,
}

impl Default for LinkOpenThrottle {
    fn default() -> Self {
        LinkOpenThrottle { buckets: Bounded::new() }
    }
}

impl LinkOpenThrottle {
    /// Takes one open for `address`, or says when the next one is possible.
    pub fn admit(&mut self, now: Instant, address: IpAddr) -> Result<(), RetryAfter> {
        let per_second = f64::from(LINK_OPENS_PER_MINUTE) / 60.0;
        let bucket = self.buckets.entry(&address, now);
        if let Some(refilled) = bucket.refilled {
            let elapsed = now.saturating_duration_since(refilled).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * per_second).min(f64::from(LINK_OPEN_BURST));
        }
        bucket.refilled = Some(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        Err(RetryAfter(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn fail(t: &mut LoginThrottle, now: Instant, address: IpAddr, user: &str) -> Result<(), RetryAfter> {
        let ticket = t.begin(now, address, user)?;
        t.finish(now, ticket, LoginOutcome::Failure, true);
        Ok(())
    }

    #[test]
    fn ten_failures_then_refused_with_growing_back_off() {
        let mut t = LoginThrottle::new();
        let start = Instant::now();
        let a = ip("192.0.2.1");
        for i in 0..LOGIN_FREE_FAILURES {
            assert!(fail(&mut t, start, a, "x").is_ok(), "failure {i} is answered normally");
        }
        let retry = t.begin(start, a, "x").expect_err("the 11th is refused");
        assert_eq!(retry.0, LOGIN_FIRST_BLOCK);
        assert_eq!(retry.seconds(), 30);
        // Refused attempts are not counted.
        assert_eq!(t.failures_of(a), LOGIN_FREE_FAILURES);
        // After the block: one more failure doubles it.
        let later = start + LOGIN_FIRST_BLOCK;
        assert!(fail(&mut t, later, a, "x").is_ok());
        assert_eq!(t.begin(later, a, "x").expect_err("blocked").0, 2 * LOGIN_FIRST_BLOCK);
        // The block never exceeds the maximum.
        let mut now = later;
        for _ in 0..40 {
            now += LOGIN_MAX_BLOCK;
            let _ = fail(&mut t, now, a, "x");
        }
        assert!(t.begin(now, a, "x").expect_err("blocked").0 <= LOGIN_MAX_BLOCK);
    }

    #[test]
    fn another_address_is_not_affected_and_success_clears() {
        let mut t = LoginThrottle::new();
        let now = Instant::now();
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        for _ in 0..LOGIN_FREE_FAILURES {
            fail(&mut t, now, a, "nobody").expect("free failures");
        }
        assert!(t.begin(now, a, "chair").is_err());
        let ticket = t.begin(now, b, "chair").expect("b is not throttled");
        t.finish(now, ticket, LoginOutcome::Success, true);
        // Some failures then a success: the address starts again from zero.
        for _ in 0..5 {
            fail(&mut t, now, b, "chair").expect("free");
        }
        let ticket = t.begin(now, b, "chair").expect("free");
        t.finish(now, ticket, LoginOutcome::Success, true);
        assert_eq!(t.failures_of(b), 0);
    }

    #[test]
    fn one_check_per_address_at_a_time() {
        let mut t = LoginThrottle::new();
        let now = Instant::now();
        let a = ip("192.0.2.1");
        let first = t.begin(now, a, "chair").expect("first");
        assert_eq!(first.address(), a);
        assert_eq!(t.begin(now, a, "chair").expect_err("second waits").seconds(), 1);
        assert!(t.begin(now, ip("192.0.2.9"), "chair").is_ok(), "other addresses are free");
        t.finish(now, first, LoginOutcome::Abandoned, true);
        assert_eq!(t.failures_of(a), 0, "an abandoned check counts neither way");
        assert!(t.begin(now, a, "chair").is_ok());
    }

    #[test]
    fn a_flood_against_a_user_spares_addresses_that_logged_in_as_them() {
        let mut t = LoginThrottle::new();
        let now = Instant::now();
        let home = ip("192.0.2.10");
        let ticket = t.begin(now, home, "chair").expect("first login");
        t.finish(now, ticket, LoginOutcome::Success, true);
        // Many addresses, a few failures each, all against `chair`.
        for i in 0..LOGIN_FREE_USER_FAILURES {
            let from = IpAddr::from([198, 51, 100, u8::try_from(i).expect("small")]);
            fail(&mut t, now, from, "chair").expect("free per address");
        }
        let stranger = ip("203.0.113.7");
        assert!(t.begin(now, stranger, "chair").is_err(), "the user is throttled for strangers");
        assert!(t.begin(now, stranger, "technik").is_ok(), "other users are not");
        assert!(t.begin(now, home, "chair").is_ok(), "the chair's own address still logs in");
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_spell() {
        let mut t = LoginThrottle::new();
        let now = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..LOGIN_FREE_FAILURES - 1 {
            fail(&mut t, now, a, "x").expect("free");
        }
        let later = now + LOGIN_FORGET_AFTER;
        fail(&mut t, later, a, "x").expect("forgotten: free again");
        assert_eq!(t.failures_of(a), 1);
    }

    #[test]
    fn tables_are_bounded() {
        let mut t = LoginThrottle::new();
        let now = Instant::now();
        for i in 0..(MAX_ENTRIES as u32 + 100) {
            let from = IpAddr::from(i.to_be_bytes());
            let _ = fail(&mut t, now, from, &format!("user{i}"));
        }
        // Unknown names never get an entry unless the check said they exist; here every
        // name "exists", and both tables still stay bounded.
        assert!(t.entries() <= 2 * MAX_ENTRIES);
        let mut links = LinkOpenThrottle::default();
        for i in 0..(MAX_ENTRIES as u32 + 100) {
            links.admit(now, IpAddr::from(i.to_be_bytes())).expect("fresh address");
        }
        assert!(links.buckets.len() <= MAX_ENTRIES);
    }

    #[test]
    fn link_opens_are_a_token_bucket_per_address() {
        let mut links = LinkOpenThrottle::default();
        let now = Instant::now();
        let a = ip("192.0.2.1");
        let admitted = (0..1000).filter(|_| links.admit(now, a).is_ok()).count();
        assert_eq!(admitted, LINK_OPEN_BURST as usize);
        let retry = links.admit(now, a).expect_err("empty");
        assert_eq!(retry.seconds(), 2);
        assert!(links.admit(now, ip("192.0.2.2")).is_ok());
        let later = now + Duration::from_secs(10);
        let admitted = (0..1000).filter(|_| links.admit(later, a).is_ok()).count();
        assert_eq!(admitted, 5);
    }
}
