//! GPIO through the Linux character device (`/dev/gpiochipN`) with `gpiocdev`.

use gpiocdev::Request;
use gpiocdev::line::{Bias, Offset, Value};

use super::{GpioBackend, GpioError};

/// Buttons (inputs, pulled up, active low: a button shorts the pin to ground) and lamps
/// (outputs, active high) on one GPIO chip.
pub struct CdevGpio {
    request: Request,
    inputs: Vec<Offset>,
    outputs: Vec<Offset>,
}

impl CdevGpio {
    /// Requests the lines on `chip` (e.g. `/dev/gpiochip0`); lamps start off.
    pub fn open(chip: &str, inputs: &[u32], outputs: &[u32]) -> Result<CdevGpio, GpioError> {
        if !std::path::Path::new(chip).exists() {
            return Err(GpioError::Unavailable(format!(
                "{chip} does not exist (not a Raspberry Pi, or GPIO disabled)"
            )));
        }
        let mut builder = Request::builder();
        builder.on_chip(chip).with_consumer("podiumd");
        if !inputs.is_empty() {
            builder.with_lines(inputs).as_input().as_active_low().with_bias(Bias::PullUp);
        }
        if !outputs.is_empty() {
            builder.with_lines(outputs).as_output(Value::Inactive);
        }
        let request = builder.request().map_err(|e| GpioError::Unavailable(format!("{chip}: {e}")))?;
        Ok(CdevGpio { request, inputs: inputs.to_vec(), outputs: outputs.to_vec() })
    }
}

impl GpioBackend for CdevGpio {
    fn read_inputs(&mut self) -> Result<Vec<bool>, GpioError> {
        self.inputs
            .iter()
            .map(|o| {
                self.request.value(*o).map(|v| v == Value::Active).map_err(|e| GpioError::Io(e.to_string()))
            })
            .collect()
    }

    fn write_output(&mut self, index: usize, active: bool) -> Result<(), GpioError> {
        let offset = *self.outputs.get(index).ok_or_else(|| GpioError::Io(format!("no output {index}")))?;
        let value = if active { Value::Active } else { Value::Inactive };
        self.request.set_value(offset, value).map_err(|e| GpioError::Io(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_chip_means_a_clear_unavailable_error() {
        let Err(e) = CdevGpio::open("/dev/gpiochip-that-is-not-there", &[17], &[22]) else {
            panic!("opened a chip that does not exist");
        };
        assert!(matches!(e, GpioError::Unavailable(_)));
        assert!(
            e.to_string().starts_with("GPIO unavailable: /dev/gpiochip-that-is-not-there does not exist")
        );
    }
}
