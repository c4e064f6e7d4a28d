//! podiumd: the council-chamber daemon. See ARCHITECTURE.md for the map.

pub mod api;
pub mod cli;
pub mod clock;
pub mod conference;
pub mod config;
pub mod daemon;
pub mod desks;
pub mod fleet;
pub mod journal;
pub mod log_tail;
pub mod logging;
pub mod mqtt;
pub mod oparl;
pub mod room;
pub mod session;
pub mod systemd;
