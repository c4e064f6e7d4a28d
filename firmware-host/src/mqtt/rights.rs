//! Who may log in to the embedded broker and what each login may publish and read: the same
//! rights the shipped `deploy/mosquitto/podium.acl` gives Mosquitto's accounts, for one room.
//! Pure: the gate (`gate.rs`) asks, this answers.
//!
//! | account            | publishes                                   | reads                                   |
//! |--------------------|---------------------------------------------|-----------------------------------------|
//! | desk unit `<id>`   | `desk/<id>/key`, `desk/<id>/status`, `desk/<id>/credential`, `desk/<id>/voice` | `desk/<id>/outputs`, `desk/<id>/vote`, `desk/<id>/test` |
//! | bridge             | `remote/+/request`, `…/withdraw`, `…/presence` | `remote/+/reply`, `conference`, `state`, `events`, `status` |
//! | participant `<id>` | `remote/<id>/request`, `…/withdraw`, `…/presence` | `remote/<id>/reply`, `conference`, `state`, `events`, `status` |
//! | dashboard          | nothing                                     | everything of the room but what desk units send (`desk/+/key`, `desk/+/credential`: a vote key in a secret vote, a PIN) |
//!
//! All topics lie under `<prefix>/<room>/`. podiumd itself does not pass the gate.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{MqttAccount, MqttDeskUnit, MqttRole, TOKEN_HASH_PREFIX};

pub use crate::config::MAX_MQTT_USERNAME as MAX_USERNAME;

/// What one login may publish and subscribe to: topic patterns with `+` and `#`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rights {
    write: Vec<String>,
    read: Vec<String>,
}

impl Rights {
    /// A networked desk unit's rights.
    pub fn desk_unit(base: &str, unit: &str) -> Rights {
        let topic = |leaf: &str| format!("{base}/desk/{unit}/{leaf}");
        Rights {
            write: vec![topic("key"), topic("status"), topic("credential"), topic("voice")],
            read: vec![topic("outputs"), topic("vote"), topic("test")],
        }
    }

    /// An account's rights by its role.
    pub fn account(base: &str, username: &str, role: MqttRole) -> Rights {
        let remote = |who: &str| -> Vec<String> {
            ["request", "withdraw", "presence"].iter().map(|a| format!("{base}/remote/{who}/{a}")).collect()
        };
        let public = |who: &str| -> Vec<String> {
            let mut read = vec![format!("{base}/remote/{who}/reply")];
            read.extend(["conference", "state", "events", "status"].iter().map(|t| format!("{base}/{t}")));
            read
        };
        match role {
            MqttRole::Bridge => {
                // The bridge runs the conference in the non-public part too.
                let mut read = public("+");
                read.extend(["conference", "state", "events"].iter().map(|t| format!("{base}/private/{t}")));
                Rights { write: remote("+"), read }
            }
            MqttRole::Participant => Rights { write: remote(username), read: public(username) },
            // Everything of the room but what desk units send: their vote keys in a secret
            // vote and their PINs are for podiumd alone.
            MqttRole::Dashboard => {
                let mut read = public("+");
                read.extend(["conference", "state", "events"].iter().map(|t| format!("{base}/private/{t}")));
                read.extend(
                    ["status", "outputs", "vote", "test"].iter().map(|leaf| format!("{base}/desk/+/{leaf}")),
                );
                // The room's health and alarms, as the city's fleet view reads them.
                read.extend(["health", "alarms"].iter().map(|t| format!("{base}/{t}")));
                Rights { write: Vec::new(), read }
            }
        }
    }

    /// Whether this login may publish to `topic` (a topic name, no wildcards).
    pub fn may_publish(&self, topic: &str) -> bool {
        self.write.iter().any(|pattern| topic_matches(pattern, topic))
    }

    /// Whether this login may subscribe to `filter`: every topic the filter can match must
    /// be one it may read.
    pub fn may_subscribe(&self, filter: &str) -> bool {
        self.read.iter().any(|pattern| filter_covered(pattern, filter))
    }
}

/// Whether topic name `topic` matches `pattern` (MQTT wildcards `+` and `#`).
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    let mut topic_levels = topic.split('/');
    for level in pattern.split('/') {
        match (level, topic_levels.next()) {
            ("#", _) => return true,
            (_, None) => return false,
            ("+", Some(_)) => {}
            (literal, Some(actual)) if literal == actual => {}
            _ => return false,
        }
    }
    topic_levels.next().is_none()
}

/// Whether every topic `filter` matches also matches `pattern`.
pub fn filter_covered(pattern: &str, filter: &str) -> bool {
    let mut filter_levels = filter.split('/');
    for level in pattern.split('/') {
        match (level, filter_levels.next()) {
            ("#", _) => return true,
            (_, None) => return false,
            // `#` in the filter matches deeper levels too, which only `#` covers.
            (_, Some("#")) => return false,
            ("+", Some(_)) => {}
            (literal, Some(actual)) if literal == actual && actual != "+" => {}
            _ => return false,
        }
    }
    filter_levels.next().is_none()
}

/// One login: its secret's SHA-256 digest and its rights.
#[derive(Debug, Clone)]
struct Login {
    digest: [u8; 32],
    rights: Rights,
    /// Connections of this login at once (see [`MAX_CONNECTIONS_PER_LOGIN`]).
    connections: Arc<Semaphore>,
}

/// Connections one login may hold at once: a unit needs one, a bridge or a member a few.
/// One leaked secret (a desk unit's flash can be read) cannot take every broker slot.
pub const MAX_CONNECTIONS_PER_LOGIN: usize = 8;

fn login(digest: [u8; 32], rights: Rights) -> Login {
    Login { digest, rights, connections: Arc::new(Semaphore::new(MAX_CONNECTIONS_PER_LOGIN)) }
}

/// The logins of the embedded broker.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    logins: HashMap<String, Login>,
}

impl Accounts {
    /// The room's desk units (those with a credential) and accounts, for topics under `base`.
    pub fn new(base: &str, units: &[MqttDeskUnit], accounts: &[MqttAccount]) -> Accounts {
        let mut logins = HashMap::new();
        for unit in units {
            if let Some(digest) = unit.password_hash.as_deref().and_then(digest_of_hash) {
                logins.insert(unit.id.clone(), login(digest, Rights::desk_unit(base, &unit.id)));
            }
        }
        for account in accounts {
            if let Some(digest) = digest_of_hash(&account.password_hash) {
                let rights = Rights::account(base, &account.username, account.role);
                logins.insert(account.username.clone(), login(digest, rights));
            }
        }
        Accounts { logins }
    }

    /// Takes one of `username`'s connection places; `None` when it holds all of them (or
    /// is no login). The place is free again when the returned permit is dropped.
    pub fn connection_place(&self, username: &str) -> Option<OwnedSemaphorePermit> {
        self.logins.get(username)?.connections.clone().try_acquire_owned().ok()
    }

    /// The rights of `username` if `password` is its secret. The digests are compared in
    /// constant time; an unknown user costs the same hash.
    pub fn login(&self, username: &str, password: &[u8]) -> Option<&Rights> {
        let digest: [u8; 32] = Sha256::digest(password).into();
        let login = self.logins.get(username)?;
        let difference = login.digest.iter().zip(digest).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        (difference == 0).then_some(&login.rights)
    }
}

/// The digest in a `sha256:<64 hex>` hash (validated by the configuration reader).
fn digest_of_hash(hash: &str) -> Option<[u8; 32]> {
    let hex = hash.strip_prefix(TOKEN_HASH_PREFIX)?;
    let mut digest = [0u8; 32];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "podium/v1/saal";

    fn hash(secret: &str) -> String {
        crate::api::access::secret::token_hash(secret)
    }

    #[test]
    fn matching_follows_mqtt_wildcards() {
        assert!(topic_matches("a/+/c", "a/b/c"));
        assert!(!topic_matches("a/+/c", "a/b/c/d"));
        assert!(!topic_matches("a/+/c", "a/c"));
        assert!(topic_matches("a/#", "a/b/c"));
        assert!(topic_matches("a/#", "a"));
        assert!(!topic_matches("a/b", "a/b/"));
        assert!(filter_covered("a/+/c", "a/x/c"));
        assert!(filter_covered("a/+/c", "a/+/c"));
        assert!(!filter_covered("a/x/c", "a/+/c"), "a wildcard is wider than a name");
        assert!(!filter_covered("a/+/c", "a/#"));
        assert!(filter_covered("a/#", "a/+/#"));
        assert!(!filter_covered("a/b", "#"));
    }

    #[test]
    fn each_login_gets_the_rights_of_the_shipped_acl() {
        let units = [MqttDeskUnit {
            id: "u7".into(),
            seat: 7,
            chair: false,
            priority_clears_requests: false,
            password_hash: Some(hash("unit-secret")),
        }];
        let accounts = [
            MqttAccount {
                username: "bridge".into(),
                role: MqttRole::Bridge,
                password_hash: hash("bridge-secret"),
            },
            MqttAccount {
                username: "vogt".into(),
                role: MqttRole::Participant,
                password_hash: hash("vogt-secret"),
            },
            MqttAccount {
                username: "dash".into(),
                role: MqttRole::Dashboard,
                password_hash: hash("dash-secret"),
            },
        ];
        let all = Accounts::new(BASE, &units, &accounts);
        assert!(all.login("u7", b"wrong").is_none());
        assert!(all.login("nobody", b"unit-secret").is_none());
        let unit = all.login("u7", b"unit-secret").expect("unit login");
        assert!(unit.may_publish("podium/v1/saal/desk/u7/key"));
        assert!(unit.may_publish("podium/v1/saal/desk/u7/status"));
        assert!(unit.may_publish("podium/v1/saal/desk/u7/credential"));
        assert!(unit.may_publish("podium/v1/saal/desk/u7/voice"));
        assert!(!unit.may_publish("podium/v1/saal/desk/u8/voice"), "another unit's voice");
        assert!(unit.may_subscribe("podium/v1/saal/desk/u7/vote"));
        assert!(!unit.may_publish("podium/v1/saal/desk/u8/credential"), "another unit's reader");
        assert!(!unit.may_publish("podium/v1/saal/desk/u8/key"), "another unit's keys");
        assert!(!unit.may_publish("podium/v1/saal/desk/u7/outputs"), "its own lamps");
        assert!(!unit.may_publish("podium/v1/saal/remote/x/request"));
        assert!(unit.may_subscribe("podium/v1/saal/desk/u7/outputs"));
        assert!(!unit.may_subscribe("podium/v1/saal/desk/+/outputs"));
        let bridge = all.login("bridge", b"bridge-secret").unwrap();
        assert!(bridge.may_publish("podium/v1/saal/remote/anyone/request"));
        assert!(!bridge.may_publish("podium/v1/saal/remote/anyone/reply"));
        assert!(!bridge.may_publish("podium/v1/saal/desk/u7/key"));
        assert!(!bridge.may_publish("podium/v1/saal/conference"));
        assert!(bridge.may_subscribe("podium/v1/saal/remote/+/reply"));
        assert!(bridge.may_subscribe("podium/v1/saal/conference"));
        assert!(bridge.may_subscribe("podium/v1/saal/private/conference"));
        assert!(!bridge.may_subscribe("podium/v1/saal/#"));
        let vogt = all.login("vogt", b"vogt-secret").unwrap();
        assert!(vogt.may_publish("podium/v1/saal/remote/vogt/request"));
        assert!(!vogt.may_publish("podium/v1/saal/remote/engel/request"), "acts only as itself");
        assert!(vogt.may_subscribe("podium/v1/saal/remote/vogt/reply"));
        assert!(!vogt.may_subscribe("podium/v1/saal/remote/+/reply"));
        assert!(!vogt.may_subscribe("podium/v1/saal/private/state"));
        let dash = all.login("dash", b"dash-secret").unwrap();
        assert!(!dash.may_subscribe("podium/v1/saal/#"), "not what desk units send");
        assert!(!dash.may_subscribe("podium/v1/saal/desk/+/key"), "vote keys of a secret vote");
        assert!(!dash.may_subscribe("podium/v1/saal/desk/u7/credential"), "PINs");
        assert!(dash.may_subscribe("podium/v1/saal/private/state"));
        assert!(dash.may_subscribe("podium/v1/saal/desk/+/status"));
        assert!(dash.may_subscribe("podium/v1/saal/desk/+/vote"));
        assert!(!dash.may_publish("podium/v1/saal/events"));
    }

    #[test]
    fn one_login_holds_a_bounded_number_of_connections() {
        let units = [MqttDeskUnit {
            id: "u7".into(),
            seat: 7,
            chair: false,
            priority_clears_requests: false,
            password_hash: Some(hash("unit-secret")),
        }];
        let accounts = [MqttAccount {
            username: "bridge".into(),
            role: MqttRole::Bridge,
            password_hash: hash("bridge-secret"),
        }];
        let all = Accounts::new(BASE, &units, &accounts);
        let held: Vec<_> =
            (0..MAX_CONNECTIONS_PER_LOGIN).map(|_| all.connection_place("u7").expect("a place")).collect();
        assert!(all.connection_place("u7").is_none(), "a login's places are bounded");
        assert!(all.connection_place("bridge").is_some(), "another login is not affected");
        assert!(all.connection_place("nobody").is_none(), "no places for a name that is no login");
        drop(held);
        assert!(all.connection_place("u7").is_some(), "a closed connection frees its place");
    }
}
