//! Extron SIS matrix switchers over RS-232 or TCP: ties and tie reads.
//!
//! - [`codec`]: commands and response lines (pure).
//! - [`link`]: the [`crate::display::DisplayLink`] (input = the input tied to the outputs).
//! - [`sim`]: a simulated matrix on TCP or a pty.

pub mod codec;
pub mod link;
pub mod sim;

pub use link::{ExtronLink, MatrixTransport};
