//! Login sessions, in memory: a random id in an HttpOnly cookie, the principal behind it
//! and its expiry. Only the SHA-256 digest of an id is kept as the key. A restart of the
//! daemon ends every session (people log in again; personal links simply open again).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Principal;
use super::secret::{self, NoRandomness};

/// Sessions kept at most; beyond that the ones closest to expiry are dropped first.
const MAX_SESSIONS: usize = 10_000;

struct Session {
    principal: Principal,
    expires: Instant,
}

/// The session store.
pub struct Sessions {
    lifetime: Duration,
    inner: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    /// An empty store whose sessions last `lifetime`.
    pub fn new(lifetime: Duration) -> Self {
        Sessions { lifetime, inner: Mutex::new(HashMap::new()) }
    }

    /// How long a new session lasts.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Starts a session; returns the id for the cookie.
    pub fn create(&self, principal: Principal) -> Result<String, NoRandomness> {
        let id = secret::new_token()?;
        let now = Instant::now();
        let mut sessions = self.lock();
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, s| s.expires > now);
        }
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)
        {
            sessions.remove(&oldest);
        }
        sessions.insert(secret::token_digest(&id), Session { principal, expires: now + self.lifetime });
        Ok(id)
    }

    /// The principal of a live session.
    pub fn get(&self, id: &str) -> Option<Principal> {
        if !secret::plausible_token(id) {
            return None;
        }
        let key = secret::token_digest(id);
        let mut sessions = self.lock();
        match sessions.get(&key) {
            Some(s) if s.expires > Instant::now() => Some(s.principal.clone()),
            Some(_) => {
                sessions.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends a session (logout).
    pub fn remove(&self, id: &str) {
        self.lock().remove(&secret::token_digest(id));
    }

    /// Live sessions (for metrics).
    pub fn live(&self) -> usize {
        let now = Instant::now();
        self.lock().values().filter(|s| s.expires > now).count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // A panic while holding the lock cannot leave the map inconsistent (single
        // inserts and removes), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_live_until_removed_or_expired() {
        let store = Sessions::new(Duration::from_secs(60));
        let p = Principal::Member { participant: "vogt".into() };
        let id = store.create(p.clone()).expect("id");
        assert_eq!(store.get(&id), Some(p));
        assert_eq!(store.get("not-a-session-id-at-all"), None);
        assert_eq!(store.live(), 1);
        store.remove(&id);
        assert_eq!(store.get(&id), None);

        let expired = Sessions::new(Duration::ZERO);
        let id = expired.create(Principal::Anonymous).expect("id");
        assert_eq!(expired.get(&id), None);
        assert_eq!(expired.live(), 0);
    }
}
