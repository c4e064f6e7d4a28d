//! Televic CoCon (Plixus, Confidea, Confero behind CoCon): the REST API on port 8890 with
//! its notification long poll. Followed document: Televic, "CoCon API Description" v6.9
//! (November 2024), §3.3-3.4 (connections, long poll, 408 after 30 s, ids expiring after
//! 180 s), §4.2.2 (Microphone events) and §4.3.1 / §4.3.3 (connection and Microphone
//! commands).
//!
//! - [`codec`]: requests, the doubly encoded bodies, the `MicrophoneState` lists (pure).
//! - [`hub`]: the server side of the notifications (sans-IO): used by the simulator and by
//!   Podium's own CoCon API.
//! - [`driver`]: Podium as a CoCon client: connect, operator mode, read the lists, long
//!   poll, `SetState` what differs from the floor.
//! - [`sim`]: a simulated CoCon server.

pub mod codec;
pub mod driver;
pub mod hub;
pub mod sim;

pub use driver::spawn;
