//! What a bus knows about its units and tells its owner: the layout of each unit (which
//! inputs, coils and registers), the outputs it should show, the events and the health.
//! Shared by the pure master (`master.rs`), its driver (`bus.rs`) and the daemon.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use super::timing::LineTiming;

/// A range of consecutive addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// First address (0-based, as on the wire).
    pub start: u16,
    /// How many.
    pub count: u16,
}

impl Block {
    /// The block from the lowest to the highest of `addresses`; `None` when empty.
    pub fn spanning(addresses: impl IntoIterator<Item = u16>) -> Option<Block> {
        let mut iter = addresses.into_iter();
        let first = iter.next()?;
        let (low, high) = iter.fold((first, first), |(lo, hi), a| (lo.min(a), hi.max(a)));
        Some(Block { start: low, count: high - low + 1 })
    }

    /// Whether `address` lies in the block.
    pub fn contains(&self, address: u16) -> bool {
        address >= self.start && u32::from(address) < u32::from(self.start) + u32::from(self.count)
    }
}

/// What the driver reads and writes on one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitLayout {
    /// Discrete inputs (keys) read every cycle with function 0x02.
    pub inputs: Option<Block>,
    /// Coils (lamps, relays) written with 0x05/0x0F.
    pub coils: Option<Block>,
    /// Holding registers (display) written with 0x10.
    pub registers: Option<Block>,
    /// A discrete input the unit sets when its outputs fell back to the safe state
    /// (power-up, watchdog): when read as set, every output is written again.
    pub outputs_reset_input: Option<u16>,
    /// Where the unit offers a credential (badge, PIN); `None` for units without a reader
    /// (generic modules, desk units on map version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialLayout>,
}

/// A credential reader: a discrete input that says "a credential waits" and the holding
/// registers that carry it (read with 0x03 once, before the unit's next poll; reading them
/// clears the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialLayout {
    /// The discrete input that is 1 while a credential waits (part of the input block).
    pub waiting_input: u16,
    /// The registers: sequence, kind, then the identifier (see [`Credential::decode`]).
    pub registers: Block,
}

/// What a credential says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// The badge was taken off the reader (kind register 0).
    BadgeRemoved,
    /// A badge lies on the reader (kind 1); the identifier is its UID.
    Badge,
    /// A PIN was entered (kind 2); the identifier is its ASCII digits.
    Pin,
}

/// A credential read from a unit. `Debug` never shows a PIN's digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The unit's sequence number of this credential (register +0).
    pub sequence: u16,
    /// Badge, PIN or badge removed (register +1).
    pub kind: CredentialKind,
    /// The badge UID (big-endian bytes, trailing zero bytes cut) or the PIN's ASCII digits;
    /// empty for a removed badge.
    pub id: Vec<u8>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = match self.kind {
            CredentialKind::Pin => format!("<{} digits>", self.id.len()),
            _ => self.id.iter().map(|b| format!("{b:02X}")).collect(),
        };
        f.debug_struct("Credential")
            .field("sequence", &self.sequence)
            .field("kind", &self.kind)
            .field("id", &id)
            .finish()
    }
}

impl Credential {
    /// Registers a credential block needs: sequence, kind, and four for the identifier.
    pub const REGISTERS: u16 = 6;

    /// Decodes the block: `[sequence, kind, id0..id3]`, the identifier big-endian (high
    /// byte first), zero-padded. `None` for an unknown kind, a short block, a badge or PIN
    /// without identifier, or a PIN with anything but ASCII digits.
    pub fn decode(registers: &[u16]) -> Option<Credential> {
        let [sequence, kind, id @ ..] = registers else { return None };
        let mut bytes: Vec<u8> = id.iter().take(4).flat_map(|r| r.to_be_bytes()).collect();
        while bytes.last() == Some(&0) {
            bytes.pop();
        }
        let kind = match kind {
            0 => CredentialKind::BadgeRemoved,
            1 => CredentialKind::Badge,
            2 => CredentialKind::Pin,
            _ => return None,
        };
        match kind {
            CredentialKind::BadgeRemoved => bytes.clear(),
            CredentialKind::Badge if bytes.is_empty() => return None,
            CredentialKind::Pin if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) => return None,
            _ => {}
        }
        Some(Credential { sequence: *sequence, kind, id: bytes })
    }

    /// Encodes a credential as a unit would offer it (for simulators and tests).
    pub fn encode(&self) -> Vec<u16> {
        let kind = match self.kind {
            CredentialKind::BadgeRemoved => 0,
            CredentialKind::Badge => 1,
            CredentialKind::Pin => 2,
        };
        let mut bytes = [0u8; 8];
        for (slot, b) in bytes.iter_mut().zip(&self.id) {
            *slot = *b;
        }
        let mut out = vec![self.sequence, kind];
        out.extend(bytes.chunks_exact(2).map(|p| u16::from_be_bytes([p[0], p[1]])));
        out
    }
}

/// One unit on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitSpec {
    /// Unit address, 1-247.
    pub unit: u8,
    /// What to read and write.
    pub layout: UnitLayout,
    /// The silence it needs between frames (Podium units in high-speed mode need less).
    #[serde(default)]
    pub timing: LineTiming,
}

impl UnitSpec {
    /// A unit with the Modbus serial line guide's timing.
    pub fn new(unit: u8, layout: UnitLayout) -> Self {
        UnitSpec { unit, layout, timing: LineTiming::Modbus }
    }
}

/// The values a unit's outputs should have, relative to its layout's blocks (index 0 is
/// the block's first address). Shorter vectors are padded with off/0, longer ones cut.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitOutputs {
    /// Coil values from the coil block's start.
    pub coils: Vec<bool>,
    /// Register values from the register block's start.
    pub registers: Vec<u16>,
    /// The unit's keys matter most now (the chair's unit, a waiting request, an open
    /// microphone): the master polls it between the round's polls (see `master.rs`).
    /// A unit listed only for this, with empty outputs and no output blocks, gets no write.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub priority: bool,
}

/// Desired outputs of a bus's units, by unit address. Units not listed are not written.
pub type BusOutputs = BTreeMap<u8, UnitOutputs>;

/// What the driver tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEvent {
    /// A discrete input changed (after debounce).
    Input {
        /// Bus id.
        bus: Arc<str>,
        /// Unit address.
        unit: u8,
        /// Discrete-input address.
        input: u16,
        /// New value: true = pressed / closed.
        pressed: bool,
    },
    /// A unit offered a credential (a badge presented or removed, a PIN entered); each
    /// credential is reported once, in the order the unit numbered them.
    Credential {
        /// Bus id.
        bus: Arc<str>,
        /// Unit address.
        unit: u8,
        /// What it read.
        credential: Credential,
    },
    /// A unit answers (again); its outputs are being rewritten.
    UnitOnline {
        /// Bus id.
        bus: Arc<str>,
        /// Unit address.
        unit: u8,
    },
    /// A unit stopped answering, or the bus's port was lost.
    UnitOffline {
        /// Bus id.
        bus: Arc<str>,
        /// Unit address.
        unit: u8,
    },
    /// The port was opened or lost.
    Link {
        /// Bus id.
        bus: Arc<str>,
        /// Open now.
        connected: bool,
    },
}

/// Whether a unit answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UnitStatus {
    /// Not polled yet since the port opened.
    Unknown,
    /// Answering.
    Online,
    /// Missed `offline_after_misses` answers in a row; polled every `offline_retry`.
    Offline,
}

/// Counters and state of one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitHealth {
    /// Unit address.
    pub unit: u8,
    /// Whether it answers.
    pub status: UnitStatus,
    /// Wall-clock time (Unix ms) of its last valid answer.
    pub last_seen_unix_ms: Option<i64>,
    /// Requests sent to it.
    pub requests: u64,
    /// Requests it did not answer in time.
    pub timeouts: u64,
    /// Answers with a wrong CRC (or otherwise garbled).
    pub crc_errors: u64,
    /// Valid frames that did not answer the request (wrong unit or function).
    pub unexpected: u64,
    /// Exception responses.
    pub exceptions: u64,
    /// Output writes it confirmed.
    pub writes: u64,
    /// Times it went offline.
    pub went_offline: u64,
    /// Misses since its last answer.
    pub consecutive_misses: u32,
}
