//! Passwords, tokens and session ids: how they are made, hashed and checked.
//!
//! - Passwords (chosen by people, guessable) are hashed with argon2id, the memory-hard
//!   function OWASP recommends, with the argon2 crate's defaults (19 MiB, 2 passes).
//! - Personal-link tokens and session ids are 256 random bits from the operating system.
//!   Guessing one is hopeless, so a fast SHA-256 hash is enough to keep them out of the
//!   configuration and out of memory dumps; it also allows a direct lookup per request
//!   instead of an argon2 computation for every API call.

use std::sync::OnceLock;

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::config::TOKEN_HASH_PREFIX;

/// Bytes of randomness in a token or session id.
const TOKEN_BYTES: usize = 32;

/// The operating system's random generator failed (it practically never does).
#[derive(Debug, thiserror::Error)]
#[error("no randomness from the operating system: {0}")]
pub struct NoRandomness(String);

/// Hashing failed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// No salt could be drawn.
    #[error(transparent)]
    Random(#[from] NoRandomness),
    /// The password could not be hashed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

fn random_bytes<const N: usize>() -> Result<[u8; N], NoRandomness> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| NoRandomness(e.to_string()))?;
    Ok(bytes)
}

/// A new random token (43 URL-safe characters, 256 bits) for links and sessions.
pub fn new_token() -> Result<String, NoRandomness> {
    let bytes = random_bytes::<TOKEN_BYTES>()?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The SHA-256 digest of a token.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The stored form of a link token: `sha256:` and 64 hex digits.
pub fn token_hash(token: &str) -> String {
    let mut out = String::from(TOKEN_HASH_PREFIX);
    for b in token_digest(token) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Whether a string can be a token at all (URL-safe characters, sane length); anything
/// else is rejected before hashing.
pub fn plausible_token(token: &str) -> bool {
    (8..=128).contains(&token.len())
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Hashes a password with argon2id and a random salt, in PHC format.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt_bytes = random_bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| HashError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

/// Checks a password against a stored hash (the hash's own parameters are used).
/// A hash that cannot be parsed never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Spends as much time as checking a real password, for a user name that does not exist,
/// so that the answer time does not tell which user names exist.
pub fn verify_against_nothing(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(hash) = DUMMY.get_or_init(|| hash_password("podium: no such user").ok()) {
        let _ = verify_password(hash, password);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip_and_salted() {
        let a = hash_password("geheim").expect("hash");
        let b = hash_password("geheim").expect("hash");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password(&a, "geheim"));
        assert!(!verify_password(&a, "Geheim"));
        assert!(!verify_password("not a hash", "geheim"));
    }

    #[test]
    fn tokens_are_random_and_hash_to_the_config_format() {
        let a = new_token().expect("token");
        let b = new_token().expect("token");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(plausible_token(&a));
        assert!(!plausible_token("short"));
        assert!(!plausible_token("has space in it"));
        let h = token_hash(&a);
        assert!(crate::config::is_token_hash(&h), "{h}");
        assert_eq!(h, token_hash(&a));
        assert_ne!(h, token_hash(&b));
        // A known vector: SHA-256 of "abc".
        assert_eq!(
            token_hash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
