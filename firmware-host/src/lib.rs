//! podiumd: the council-chamber daemon. See ARCHITECTURE.md for the map.

pub mod api;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod desks;
pub mod journal;
pub mod logging;
pub mod mqtt;
pub mod room;
pub mod session;
pub mod systemd;
pub mod web;
