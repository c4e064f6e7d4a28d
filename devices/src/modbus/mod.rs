//! Modbus RTU: the pure codec, the bus master (pure rules in `master`, the tokio driver in
//! `bus`), simulated units (slaves), and the Podium desk-unit register map.

pub mod bus;
pub mod codec;
pub mod debounce;
pub mod desk;
pub mod master;
pub mod sim;
pub mod timing;
pub mod units;
pub mod wire;
