//! Health of one room device (camera, display, switcher, microphone), as the technician
//! sees it: connected, last response, last error, counters. Shared by every driver so
//! `GET /api/v1/room/devices` shows them all alike.

use serde::{Deserialize, Serialize};

/// Counters of one device link, since start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceCounters {
    /// Commands sent (each retransmission counts once more).
    pub sent: u64,
    /// Commands the device confirmed (completion or equivalent).
    pub completed: u64,
    /// Error answers from the device (syntax, buffer full, not executable, ...).
    pub errors: u64,
    /// Answers that did not come in time.
    pub timeouts: u64,
    /// Commands sent again after a timeout or a full buffer.
    pub retransmissions: u64,
    /// Times the link was (re)established.
    pub connects: u64,
    /// Times an established link was lost.
    pub disconnects: u64,
}

/// Health of one device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceHealth {
    /// The device's name in the room configuration.
    pub name: String,
    /// Protocol family: `visca`, `pjlink`, ...
    pub kind: String,
    /// Where it is: `udp 10.0.0.5:52381`, `tcp ...`, `/dev/serial/by-id/...`.
    pub address: String,
    /// Whether the device answered its last command (or the link is open and idle).
    pub connected: bool,
    /// Wall-clock time (Unix milliseconds) of the last answer.
    pub last_response_unix_ms: Option<i64>,
    /// The last error, for the technician; cleared by nothing (read it with its time).
    pub last_error: Option<String>,
    /// Wall-clock time (Unix milliseconds) of the last error.
    pub last_error_unix_ms: Option<i64>,
    /// What the device last confirmed, in words (e.g. `preset 3`).
    pub state: Option<String>,
    /// Counters since start.
    pub counters: DeviceCounters,
}

impl DeviceHealth {
    /// A device not yet contacted.
    pub fn new(name: impl Into<String>, kind: impl Into<String>, address: impl Into<String>) -> Self {
        DeviceHealth { name: name.into(), kind: kind.into(), address: address.into(), ..Default::default() }
    }

    /// Records an answer from the device.
    pub fn answered(&mut self) {
        self.connected = true;
        self.last_response_unix_ms = Some(crate::serial::unix_ms_now());
    }

    /// Records an error; `disconnected` when the device no longer answers at all.
    pub fn failed(&mut self, error: impl Into<String>, disconnected: bool) {
        self.last_error = Some(error.into());
        self.last_error_unix_ms = Some(crate::serial::unix_ms_now());
        if disconnected {
            if self.connected {
                self.counters.disconnects += 1;
            }
            self.connected = false;
        }
    }
}
