//! Samsung MDC displays over RS-232 or TCP 1515: power and input source.
//!
//! - [`codec`]: frames and checksums (pure).
//! - [`link`]: the [`crate::display::DisplayLink`].
//! - [`sim`]: a simulated display on a pty or TCP.

pub mod codec;
pub mod link;
pub mod sim;

pub use link::{MdcLink, MdcTransport};
