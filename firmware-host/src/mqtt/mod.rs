//! MQTT: the hybrid floor's link to remote participants (through a video-conference
//! bridge or a client per participant) and to networked devices. The contract is in
//! `contract.rs` and documented in firmware-host/docs/mqtt-contract.md; `link.rs` keeps the client
//! connected; `broker.rs` runs the embedded broker for single-room installs, behind the
//! gate (`gate.rs`, `packet.rs`, `rights.rs`) that checks logins and topic rights.

pub mod broker;
pub mod contract;
pub mod desk_units;
pub mod gate;
pub mod link;
pub mod packet;
pub mod redelivery;
pub mod rights;
