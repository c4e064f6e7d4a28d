//! podiumd: the council-chamber daemon. See ARCHITECTURE.md for the map.

pub mod config;
