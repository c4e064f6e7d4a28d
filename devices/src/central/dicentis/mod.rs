//! Bosch DICENTIS: the Conference Protocol, JSON over a WebSocket on port 31416
//! (subprotocol `DICENTIS_1_0`). Followed: Bosch's DICENTIS configuration manual V3.7 p. 101
//! (the protocol, its port, the "manage meeting" right); Bosch's protocol document is not
//! public, so the wire shapes follow the open clients bitfocus/companion-module-bosch-dicentis
//! and mko1989/LikeABosch (whose authors tested against a DICENTIS 6.50); the gaps are in
//! `devices/README.md`.
//!
//! - [`codec`]: messages, events, seats and the discussion list (pure).
//! - [`driver`]: Podium as a client: login, events, seats by name, the list, grant/remove/
//!   request speech through the shared reconciler; TLS pinned by fingerprint ([`pinned`]).
//! - [`sim`]: a simulated server on a plain WebSocket or TLS.

pub mod codec;
pub mod driver;
pub mod pinned;
pub mod sim;

pub use driver::{DicentisSettings, spawn};
