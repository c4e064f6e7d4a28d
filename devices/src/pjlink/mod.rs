//! PJLink class 1 projectors and displays over TCP 4352 with MD5 authentication.
//!
//! - [`codec`]: lines, greeting, digest, error codes (pure).
//! - [`link`]: the [`crate::display::DisplayLink`] for the shared display driver.
//! - [`sim`]: a simulated projector with authentication.

pub mod codec;
pub mod link;
pub mod sim;

pub use link::PjlinkLink;
