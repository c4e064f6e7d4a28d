//! The serial-port layer every serial device shares: settings from the room
//! configuration, opening a port (no libudev: `serialport` without default features),
//! capped exponential back-off between attempts, and link health.
//!
//! Configure ports by their stable path under `/dev/serial/by-id/` (e.g.
//! `/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1ABC-if00-port0`): udev recreates that
//! link with the same name whenever the adapter is plugged in, whereas `/dev/ttyUSB0`
//! numbers follow plug order and change between boots. The driver re-resolves the path on
//! every attempt, so a replugged adapter is found again under its link.

use std::future::Future;
use std::io;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};

pub use tokio_serial::SerialStream;

/// Parity of each character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parity {
    /// No parity bit (Modbus then asks for two stop bits).
    None,
    /// Even parity (the Modbus RTU default).
    Even,
    /// Odd parity.
    Odd,
}

impl Parity {
    /// Names as written in configuration.
    pub const NAMES: &'static [&'static str] = &["none", "even", "odd"];
}

/// How to open a serial port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialSettings {
    /// Device path, preferably under `/dev/serial/by-id/`.
    pub path: String,
    /// Bits per second.
    pub baud: u32,
    /// Parity.
    pub parity: Parity,
    /// Stop bits: 1 or 2.
    pub stop_bits: u8,
    /// Data bits: 7 or 8 (Modbus RTU needs 8).
    pub data_bits: u8,
}

impl SerialSettings {
    /// 115200 baud, 8 data bits, even parity, 1 stop bit: Podium desk units' default.
    pub fn new(path: impl Into<String>) -> Self {
        SerialSettings { path: path.into(), baud: 115_200, parity: Parity::Even, stop_bits: 1, data_bits: 8 }
    }

    /// Short form for logs: `/dev/ttyUSB0 115200 8E1`.
    pub fn describe(&self) -> String {
        let parity = match self.parity {
            Parity::None => 'N',
            Parity::Even => 'E',
            Parity::Odd => 'O',
        };
        format!("{} {} {}{}{}", self.path, self.baud, self.data_bits, parity, self.stop_bits)
    }
}

/// Opens the port with these settings, non-blocking, registered with the tokio reactor
/// (so it must be called inside a runtime). The port is opened exclusively: a second
/// `podiumd` or a stray terminal program cannot interleave frames on the same bus.
pub fn open(settings: &SerialSettings) -> io::Result<SerialStream> {
    let data_bits = match settings.data_bits {
        7 => tokio_serial::DataBits::Seven,
        _ => tokio_serial::DataBits::Eight,
    };
    let stop_bits = match settings.stop_bits {
        2 => tokio_serial::StopBits::Two,
        _ => tokio_serial::StopBits::One,
    };
    let parity = match settings.parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Even => tokio_serial::Parity::Even,
        Parity::Odd => tokio_serial::Parity::Odd,
    };
    let builder = tokio_serial::new(&settings.path, settings.baud)
        .data_bits(data_bits)
        .stop_bits(stop_bits)
        .parity(parity)
        .flow_control(tokio_serial::FlowControl::None);
    let port = SerialStream::open(&builder).map_err(io::Error::from)?;
    Ok(port)
}

/// A pseudo-terminal pair, for simulators and tests: the master side for the simulated
/// devices, the slave side for whoever opens `path` like a serial port.
pub struct Pty {
    /// The master side.
    pub master: SerialStream,
    /// The slave side. Keep it open: when the last slave handle closes, the master side
    /// reports a hang-up until the slave is opened again.
    pub slave: SerialStream,
    /// The slave side's path, e.g. `/dev/pts/7`.
    pub path: String,
}

/// Creates a pseudo-terminal pair (inside the tokio runtime). Both ends are closed on
/// `exec`: a child process (a test's daemon, a helper script) that inherited the master
/// would keep it open, and the slave would never see the hang-up of a pulled cable.
pub fn pty() -> io::Result<Pty> {
    use tokio_serial::SerialPort;
    let (master, slave) = SerialStream::pair().map_err(io::Error::from)?;
    close_on_exec(&master)?;
    close_on_exec(&slave)?;
    let path = slave.name().ok_or_else(|| io::Error::other("the pseudo-terminal has no name"))?;
    Ok(Pty { master, slave, path })
}

fn close_on_exec(stream: &SerialStream) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    use std::os::fd::{AsRawFd, BorrowedFd};
    // SAFETY: the descriptor belongs to `stream`, which outlives this borrow.
    let fd = unsafe { BorrowedFd::borrow_raw(stream.as_raw_fd()) };
    let flags = FdFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFD).map_err(io::Error::from)?);
    fcntl(fd, FcntlArg::F_SETFD(flags | FdFlag::FD_CLOEXEC)).map_err(io::Error::from)?;
    Ok(())
}

/// Something that can (re)open a byte stream to a bus: a serial port, or in tests and
/// benchmarks any async stream.
pub trait Connector: Send + 'static {
    /// The open stream.
    type Port: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Opens the stream; called again after every failure or disconnect.
    fn connect(&mut self) -> impl Future<Output = io::Result<Self::Port>> + Send;
    /// What is being opened, for health and logs.
    fn describe(&self) -> String;
}

/// Opens a serial port by path on every attempt.
#[derive(Debug, Clone)]
pub struct SerialConnector {
    /// The port settings.
    pub settings: SerialSettings,
}

impl Connector for SerialConnector {
    type Port = SerialStream;

    async fn connect(&mut self) -> io::Result<SerialStream> {
        open(&self.settings)
    }

    fn describe(&self) -> String {
        self.settings.describe()
    }
}

/// Capped exponential back-off between reconnect attempts: `initial`, doubling, at most
/// `max`; back to `initial` after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Back-off from `initial` doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max: max.max(initial), next: initial }
    }

    /// The delay before the next attempt; each call doubles the following one.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// After a successful connection.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

impl Default for Backoff {
    /// 100 ms doubling to 5 s: a replugged adapter is back within seconds, an absent one
    /// costs one failed `open` every 5 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(5))
    }
}

/// Health of one link (a serial port or other stream).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkHealth {
    /// What the link opens, e.g. `/dev/serial/by-id/... 115200 8E1`.
    pub port: String,
    /// Whether the port is open now.
    pub connected: bool,
    /// Failed attempts to open the port, since start.
    pub open_failures: u64,
    /// Times an open port was lost (unplugged, read or write error, end of file).
    pub disconnects: u64,
    /// The last error, for the technician.
    pub last_error: Option<String>,
    /// Wall-clock time (Unix milliseconds) of the last valid frame received.
    pub last_frame_unix_ms: Option<i64>,
}

/// Now as Unix milliseconds (for health fields a human reads).
pub fn unix_ms_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(700));
        let delays: Vec<u64> = (0..5).map(|_| backoff.next_delay().as_millis() as u64).collect();
        assert_eq!(delays, vec![100, 200, 400, 700, 700]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn settings_describe_like_a_terminal_program() {
        let mut settings = SerialSettings::new("/dev/ttyUSB0");
        assert_eq!(settings.describe(), "/dev/ttyUSB0 115200 8E1");
        settings.parity = Parity::None;
        settings.stop_bits = 2;
        assert_eq!(settings.describe(), "/dev/ttyUSB0 115200 8N2");
    }
}
