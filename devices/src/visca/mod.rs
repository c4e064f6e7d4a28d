//! Sony VISCA PTZ cameras over RS-232/RS-422, VISCA over IP (UDP 52381) and raw VISCA over
//! TCP (5678).
//!
//! - [`codec`]: packets, commands, camera replies (pure; decoding never panics).
//! - [`ip`]: the VISCA-over-IP header, control messages (RESET, sequence errors).
//! - [`engine`]: the rules, pure: one outstanding command (ACK and completion per socket,
//!   retransmission, sequence errors, buffer full), the start-up sequence, the desired
//!   preset reconciled with the applied one and the liveness poll; fed packets and `now`.
//! - [`driver`]: one task per camera that owns the link, sends what the engine says,
//!   sleeps until its deadlines, reconnects and reports health.
//! - [`sim`]: a simulated camera on a pty, TCP and UDP.

pub mod codec;
pub mod driver;
pub mod engine;
pub mod ip;
pub mod link;
pub mod sim;

pub use driver::{CameraAction, CameraError, CameraHandle, CameraSettings, PresetNumbering};
pub use link::Transport;
