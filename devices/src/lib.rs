//! # podium-devices: device protocols
//!
//! Pure codecs, thin drivers and faithful simulators for the hardware in a council
//! chamber. Architecture invariant: this crate knows devices, units, inputs and coils,
//! never seats or floors; the daemon maps one to the other in its room configuration.
//!
//! - [`serial`]: the serial-port layer every serial device shares (settings, opening
//!   without libudev, back-off, link health).
//! - [`modbus`]: Modbus RTU desk units: codec, bus driver, simulator, register map.
//! - [`mqtt_units`]: the topic and JSON contract of networked desk units.

pub mod modbus;
pub mod mqtt_units;
pub mod serial;
