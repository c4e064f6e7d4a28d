//! Sony VISCA PTZ cameras over RS-232/RS-422, VISCA over IP (UDP 52381) and raw VISCA over
//! TCP (5678).
//!
//! - [`codec`]: packets, commands, camera replies (pure; decoding never panics).
//! - [`ip`]: the VISCA-over-IP header, control messages (RESET, sequence errors).
//! - [`driver`]: one task per camera: start-up (Address Set, IF_Clear / RESET), one
//!   outstanding command, ACK and completion per socket, retransmission, reconnect,
//!   desired preset reconciled with the confirmed one, health.
//! - [`sim`]: a simulated camera on a pty, TCP and UDP.

pub mod codec;
pub mod driver;
pub mod ip;
pub mod link;
pub mod sim;

pub use driver::{CameraAction, CameraError, CameraHandle, CameraSettings, PresetNumbering};
pub use link::Transport;
