//! Shure / DIS External Control Protocol on TCP 3142 (DCS 6000, DDS 5900, MXC behind a
//! DIS-CCU). Followed documents: the DDS 5900 and DCS 6000 user manuals' chapter
//! "External control" (manualslib 989584 p. 52-53, 1036103 p. 55-60, 1207558 p. 73) and
//! Shure's MXC command-strings page (pubs.shure.com/command-strings/MXC); details and
//! the gaps they leave in `devices/README.md`.
//!
//! - [`codec`]: lines both ways (pure).
//! - [`core`]: sans-IO: the unit's lists as last seen, what to send to make them the
//!   floor's, which changes were made at the unit, silence.
//! - [`driver`]: the TCP task around the core.
//! - [`sim`]: a simulated central unit.

pub mod codec;
pub mod core;
pub mod driver;
pub mod sim;

pub use super::CentralHandle;
pub use driver::spawn;
