//! # podium-devices: device protocols
//!
//! Pure codecs, thin drivers and faithful simulators for the hardware in a council
//! chamber. Architecture invariant: this crate knows devices, units, inputs and coils,
//! never seats or floors; the daemon maps one to the other in its room configuration.
//!
//! - [`serial`]: the serial-port layer every serial device shares (settings, opening
//!   without libudev, back-off, link health).
//! - [`modbus`]: Modbus RTU desk units: codec, bus driver, simulator, register map.
//! - [`monitor`]: the protocol monitor (frames in and out, hex and decoded) for the
//!   technician console.
//! - [`mqtt_units`]: the topic and JSON contract of networked desk units.
//! - [`health`]: health of room devices (cameras, displays, switchers, microphones).
//! - [`visca`]: Sony VISCA PTZ cameras (serial, UDP 52381, TCP 5678).
//! - [`display`]: the driver shared by displays and switchers (desired power and input).
//! - [`link_io`]: what the display, switcher and microphone links share: the byte
//!   stream, their typed error and the one read-until-a-frame-or-the-deadline loop.
//! - [`pjlink`]: PJLink class 1 projectors and displays (TCP 4352, MD5 authentication).
//! - [`extron`]: Extron SIS matrix switchers (RS-232 or TCP).
//! - [`mdc`]: Samsung MDC displays (RS-232 or TCP 1515).
//! - [`shure`]: Shure MXA microphone arrays (command strings, TCP 2202).
//! - [`central`]: central units of existing conference systems (Shure DCS 6000 / DDS 5900 /
//!   MXC on TCP 3142), driven by Podium as the floor master.
//! - [`gpio`]: the chair's button box and tally lamps (kernel GPIO device or simulated).

pub mod central;
pub mod display;
pub mod extron;
pub mod gpio;
pub mod health;
pub mod link_io;
pub mod mdc;
pub mod modbus;
pub mod monitor;
pub mod mqtt_units;
pub mod pjlink;
pub mod precise_timer;
pub mod serial;
pub mod shure;
pub mod sim_serve;
pub mod visca;
