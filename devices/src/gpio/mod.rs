//! GPIO for the chair's button box and tally lamps, behind a small trait
//! ([`GpioBackend`]) with two backends: the kernel's GPIO character device
//! ([`cdev::CdevGpio`], crate `gpiocdev`) and a simulation ([`sim::SimGpio`]) for tests
//! and the demo. [`debounce::StableLevelFilter`] turns sampled levels into clean presses.
//!
//! Why `gpiocdev` and not `rppal`/`rpi-pal`: `rppal` is archived (2025-07); its fork
//! `rpi-pal` is maintained but, like `rppal`, drives the Pi's registers through
//! `/dev/gpiomem` and knows only Raspberry Pi SoCs. `gpiocdev` speaks the kernel's
//! supported GPIO character-device ABI (`/dev/gpiochipN`, v2 uAPI), which works on every
//! Pi model (including the Pi 5, whose GPIO sits behind the RP1 chip) and any other
//! Linux board, needs no unsafe memory mapping, and fails with an ordinary I/O error where
//! there is no GPIO chip, so podiumd can say "GPIO unavailable" and run without it.

pub mod cdev;
pub mod debounce;
pub mod sim;

use thiserror::Error;

/// A GPIO failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GpioError {
    /// No GPIO here (not a Pi, no `/dev/gpiochipN`, no permission).
    #[error("GPIO unavailable: {0}")]
    Unavailable(String),
    /// A read or write failed.
    #[error("GPIO error: {0}")]
    Io(String),
}

/// Input and output lines, in the order they were configured.
pub trait GpioBackend: Send + 'static {
    /// Whether each input line is active (pressed) now.
    fn read_inputs(&mut self) -> Result<Vec<bool>, GpioError>;
    /// Drives output line `index` active or inactive.
    fn write_output(&mut self, index: usize, active: bool) -> Result<(), GpioError>;
}
