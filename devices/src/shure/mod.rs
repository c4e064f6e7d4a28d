//! Shure MXA ceiling and table arrays over TCP 2202: channel mutes by command strings.
//!
//! - [`codec`]: `< GET … >`, `< SET … >`, `< REP … >` (pure).
//! - [`driver`]: desired mutes per channel, unsolicited REPs, health.
//! - [`sim`]: a simulated array.

pub mod codec;
pub mod driver;
pub mod sim;

pub use driver::{MicHandle, Mutes};
