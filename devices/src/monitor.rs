//! The protocol monitor: drivers report the frames they send and receive, and whoever
//! listens (the technician console) gets them, hex and decoded.
//!
//! Recording is meant to stay in the drivers' hot paths, so it costs one atomic load when
//! nobody listens: [`FrameMonitor::record`] checks the receiver count before it formats
//! anything, and the decoded text is built by a closure only when it is needed.

use std::fmt::Write;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::serial::unix_ms_now;

/// Frames buffered per listener; a slower listener skips frames rather than slowing a bus.
const BUFFER: usize = 512;

/// Which way a frame went, seen from Podium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Received from the device.
    In,
    /// Sent to the device.
    Out,
}

/// One frame on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameRecord {
    /// The device or bus that carried it (a bus id, a device id).
    pub device: String,
    /// In or out.
    pub direction: Direction,
    /// The bytes as upper-case hex pairs separated by spaces.
    pub hex: String,
    /// What the codec made of it.
    pub decoded: String,
    /// Wall-clock time, Unix milliseconds.
    pub at_unix_ms: i64,
}

/// A cheap, cloneable handle that drivers record frames on.
#[derive(Debug, Clone)]
pub struct FrameMonitor {
    tx: broadcast::Sender<FrameRecord>,
}

impl Default for FrameMonitor {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameMonitor {
    /// A monitor nobody listens to yet.
    pub fn new() -> Self {
        FrameMonitor { tx: broadcast::channel(BUFFER).0 }
    }

    /// Whether anyone listens (drivers may skip work for the monitor when not).
    pub fn is_watched(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Records a frame if anyone listens; `decoded` runs only then.
    pub fn record(&self, device: &str, direction: Direction, bytes: &[u8], decoded: impl FnOnce() -> String) {
        if !self.is_watched() {
            return;
        }
        let record = FrameRecord {
            device: device.to_owned(),
            direction,
            hex: hex(bytes),
            decoded: decoded(),
            at_unix_ms: unix_ms_now(),
        };
        // A listener may have gone between the check and the send; that is fine.
        let _ = self.tx.send(record);
    }

    /// Every frame recorded from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FrameRecord> {
        self.tx.subscribe()
    }
}

/// `01 02 0A`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02X}");
    }
    out
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn records_only_when_subscribed() {
        let monitor = FrameMonitor::new();
        let formatted = Cell::new(0);
        let decode = || {
            formatted.set(formatted.get() + 1);
            "read inputs".to_owned()
        };
        monitor.record("bus-a", Direction::Out, &[1, 2], decode);
        assert_eq!(formatted.get(), 0, "nothing formatted without a listener");

        let mut rx = monitor.subscribe();
        assert!(monitor.is_watched());
        monitor.record("bus-a", Direction::In, &[0x01, 0xAB, 0x0f], || {
            formatted.set(formatted.get() + 1);
            "answer".to_owned()
        });
        assert_eq!(formatted.get(), 1);
        let got = rx.try_recv().expect("one frame");
        assert_eq!(got.device, "bus-a");
        assert_eq!(got.direction, Direction::In);
        assert_eq!(got.hex, "01 AB 0F");
        assert_eq!(got.decoded, "answer");
        assert!(rx.try_recv().is_err(), "the unwatched frame was never sent");

        drop(rx);
        monitor.record("bus-a", Direction::Out, &[1], || {
            formatted.set(formatted.get() + 1);
            String::new()
        });
        assert_eq!(formatted.get(), 1, "nothing formatted once the listener left");
    }

    #[test]
    fn hex_of_nothing_is_empty() {
        assert_eq!(hex(&[]), "");
    }
}
