//! A simulated button box: press and release buttons, read the lamps.

use std::sync::{Arc, Mutex};

use super::{GpioBackend, GpioError};

#[derive(Debug, Default)]
struct Lines {
    inputs: Vec<bool>,
    outputs: Vec<bool>,
}

/// A simulated GPIO chip; clone it to press buttons while a driver owns another clone.
#[derive(Debug, Clone, Default)]
pub struct SimGpio {
    lines: Arc<Mutex<Lines>>,
}

impl SimGpio {
    /// `inputs` buttons (released) and `outputs` lamps (off).
    pub fn new(inputs: usize, outputs: usize) -> Self {
        let lines = Lines { inputs: vec![false; inputs], outputs: vec![false; outputs] };
        SimGpio { lines: Arc::new(Mutex::new(lines)) }
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds button `index` down (`true`) or releases it.
    pub fn set_button(&self, index: usize, down: bool) {
        if let Some(b) = self.lines().inputs.get_mut(index) {
            *b = down;
        }
    }

    /// The buttons held now.
    pub fn buttons(&self) -> Vec<bool> {
        self.lines().inputs.clone()
    }

    /// The lamps now.
    pub fn outputs(&self) -> Vec<bool> {
        self.lines().outputs.clone()
    }
}

impl GpioBackend for SimGpio {
    fn read_inputs(&mut self) -> Result<Vec<bool>, GpioError> {
        Ok(self.lines().inputs.clone())
    }

    fn write_output(&mut self, index: usize, active: bool) -> Result<(), GpioError> {
        let mut lines = self.lines();
        let lamp = lines.outputs.get_mut(index).ok_or_else(|| GpioError::Io(format!("no output {index}")))?;
        *lamp = active;
        Ok(())
    }
}
