//! The protocol monitor: drivers report the frames they send and receive, and whoever
//! listens (the technician console) gets them, hex and decoded.
//!
//! Recording is meant to stay in the drivers' hot paths, so it costs one atomic load when
//! nobody listens: [`FrameMonitor::record`] checks the receiver count before it formats
//! anything, and the decoded text is built by a closure only when it is needed.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

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

/// What a withheld frame shows instead of its bytes during a secret vote.
pub const WITHHELD_SECRET_VOTE: &str = "withheld: secret vote";

/// A cheap, cloneable handle that drivers record frames on.
#[derive(Debug, Clone)]
pub struct FrameMonitor {
    tx: broadcast::Sender<FrameRecord>,
    /// Devices whose frames are withheld now, with what the monitor shows instead (e.g.
    /// the desk buses during a secret vote: a poll answer would tell who pressed which key).
    withheld: Arc<Mutex<BTreeMap<String, &'static str>>>,
}

impl Default for FrameMonitor {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameMonitor {
    /// A monitor nobody listens to yet.
    pub fn new() -> Self {
        FrameMonitor { tx: broadcast::channel(BUFFER).0, withheld: Arc::default() }
    }

    /// Withholds `device`'s frames from now on (`Some(reason)`: listeners get the reason
    /// instead of the bytes and their decoding), or shows them again (`None`).
    pub fn withhold(&self, device: &str, reason: Option<&'static str>) {
        let mut withheld = self.withheld.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match reason {
            Some(reason) => withheld.insert(device.to_owned(), reason),
            None => withheld.remove(device),
        };
    }

    /// Why `device`'s frames are withheld now, if they are.
    pub fn withheld(&self, device: &str) -> Option<&'static str> {
        self.withheld.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(device).copied()
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
        let (hex, decoded) = match self.withheld(device) {
            Some(reason) => (String::new(), reason.to_owned()),
            None => (hex(bytes), decoded()),
        };
        let record =
            FrameRecord { device: device.to_owned(), direction, hex, decoded, at_unix_ms: unix_ms_now() };
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
    fn withheld_devices_show_the_reason_instead_of_their_bytes() {
        let monitor = FrameMonitor::new();
        let mut rx = monitor.subscribe();
        monitor.withhold("a", Some(WITHHELD_SECRET_VOTE));
        monitor.record("a", Direction::In, &[0x0C, 0x02, 0x01, 0x10], || unreachable!("never decoded"));
        monitor.record("cam", Direction::Out, &[0x81], || "camera".into());
        let got = rx.try_recv().expect("the withheld frame is still counted");
        assert_eq!((got.hex.as_str(), got.decoded.as_str()), ("", WITHHELD_SECRET_VOTE));
        assert_eq!(rx.try_recv().expect("other devices as usual").hex, "81");
        monitor.withhold("a", None);
        monitor.record("a", Direction::In, &[0x0C], || "answer".into());
        assert_eq!(rx.try_recv().expect("shown again").hex, "0C");
    }

    #[test]
    fn hex_of_nothing_is_empty() {
        assert_eq!(hex(&[]), "");
    }
}
