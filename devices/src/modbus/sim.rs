//! Simulated Modbus RTU slaves: many units behind one byte stream (a pseudo-terminal in
//! tests and in `podiumd demo`), answering real RTU frames with real CRCs.
//!
//! Faithful where it matters to a master: only the addressed unit answers; other unit
//! ids get silence; broadcast writes are applied and never answered; a bad CRC is ignored
//! (as on a real line); reads or writes outside a unit's map get exception 0x02, bad
//! quantities 0x03, unsupported function codes 0x01 (after line silence, as a real slave
//! frames them). Each unit can be delayed, made to drop answers, corrupt their CRC, or go
//! silent. Podium desk units also have the register map's power-up flag and watchdog.
//!
//! Keys are pressed through [`SimBus::press`] and friends, or through
//! [`SimBus::control`] with the JSON commands of [`ControlCommand`] (used by the
//! `podium-devsim` binary and `podiumd demo`).

use std::collections::BTreeMap;
use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::codec::{self, BROADCAST, ExceptionCode, FrameError, Request, Response};
use super::desk::{self, DeskKey};
use super::timing;
use super::units::{Credential, CredentialKind};

/// What a simulated unit does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Answers correctly.
    #[default]
    None,
    /// Swallows the next `count` answers.
    Drop,
    /// Sends the next `count` answers with a wrong CRC.
    Corrupt,
    /// Stops answering until the fault is cleared (a unit unplugged from the bus).
    Silent,
}

/// One simulated unit's memory.
#[derive(Debug, Clone)]
pub struct SimUnit {
    /// Discrete inputs.
    pub inputs: Vec<bool>,
    /// Coils.
    pub coils: Vec<bool>,
    /// Holding registers (addresses outside `register_ranges` do not exist).
    pub registers: Vec<u16>,
    register_ranges: Vec<Range<u16>>,
    /// The desk-unit power-up flag input, if this is a Podium desk unit.
    outputs_reset_input: Option<u16>,
    /// Whether this unit follows the Podium desk-unit map (for [`UnitView`]).
    desk: Option<bool>,
    fault: Fault,
    fault_count: u32,
    /// Input reads left before a clicked key is released again.
    release_after_reads: Vec<(u16, u32)>,
    last_addressed: Option<Instant>,
    /// The sequence number of the last credential offered (desk units).
    credential_sequence: u16,
}

impl SimUnit {
    /// A Podium desk unit as it is after power-up (see the register map): keys up, every
    /// output off, the outputs-reset flag set, watchdog 3 s.
    pub fn desk(chair: bool) -> Self {
        let display = if chair { desk::CHAIR_REGISTERS } else { desk::DELEGATE_REGISTERS };
        let mut registers = vec![0u16; usize::from(desk::REG_WATCHDOG) + 1];
        registers[usize::from(desk::REG_WATCHDOG)] = desk::WATCHDOG_DEFAULT;
        let mut inputs = vec![false; usize::from(desk::INPUT_COUNT)];
        inputs[usize::from(desk::INPUT_OUTPUTS_RESET)] = true;
        SimUnit {
            inputs,
            coils: vec![false; usize::from(desk::COIL_COUNT)],
            registers,
            register_ranges: vec![
                0..display,
                desk::REG_CREDENTIAL..desk::REG_CREDENTIAL + Credential::REGISTERS,
                desk::REG_WATCHDOG..desk::REG_WATCHDOG + 1,
            ],
            outputs_reset_input: Some(desk::INPUT_OUTPUTS_RESET),
            desk: Some(chair),
            fault: Fault::None,
            fault_count: 0,
            release_after_reads: Vec::new(),
            last_addressed: None,
            credential_sequence: 0,
        }
    }

    /// A plain I/O module: `inputs` discrete inputs, `coils` coils and `registers`
    /// holding registers from address 0; no watchdog, no power-up flag.
    pub fn io_module(inputs: u16, coils: u16, registers: u16) -> Self {
        SimUnit {
            inputs: vec![false; usize::from(inputs)],
            coils: vec![false; usize::from(coils)],
            registers: vec![0; usize::from(registers)],
            register_ranges: std::iter::once(0..registers).collect(),
            outputs_reset_input: None,
            desk: None,
            fault: Fault::None,
            fault_count: 0,
            release_after_reads: Vec::new(),
            last_addressed: None,
            credential_sequence: 0,
        }
    }

    fn watchdog(&self) -> Option<Duration> {
        self.desk?;
        let tenths = *self.registers.get(usize::from(desk::REG_WATCHDOG))?;
        (tenths > 0).then(|| Duration::from_millis(u64::from(tenths) * 100))
    }

    fn register_ok(&self, range: Range<u32>) -> bool {
        range.clone().all(|a| {
            u16::try_from(a).is_ok_and(|a| self.register_ranges.iter().any(|r| r.contains(&a)))
                && (a as usize) < self.registers.len()
        })
    }

    /// The answer to `request`, applying writes: every request gets a response or an
    /// exception (faults and line timing are the bus's part, not the unit's memory's).
    pub fn answer(&mut self, request: &Request) -> Response {
        let exception = |code| Response::Exception { function: request.function(), code };
        if !request.quantity_ok() {
            return exception(ExceptionCode::ILLEGAL_DATA_VALUE);
        }
        let span = |address: u16, quantity: usize| u32::from(address)..u32::from(address) + quantity as u32;
        let fits = |range: &Range<u32>, len: usize| range.end as usize <= len;
        match request {
            Request::ReadDiscreteInputs { address, quantity } => {
                let range = span(*address, usize::from(*quantity));
                if !fits(&range, self.inputs.len()) {
                    return exception(ExceptionCode::ILLEGAL_DATA_ADDRESS);
                }
                let bits = self.inputs[range.start as usize..range.end as usize].to_vec();
                self.count_input_read();
                Response::ReadDiscreteInputs { bits }
            }
            Request::ReadCoils { address, quantity } => {
                let range = span(*address, usize::from(*quantity));
                if !fits(&range, self.coils.len()) {
                    return exception(ExceptionCode::ILLEGAL_DATA_ADDRESS);
                }
                Response::ReadCoils { bits: self.coils[range.start as usize..range.end as usize].to_vec() }
            }
            Request::ReadHoldingRegisters { address, quantity } => {
                let range = span(*address, usize::from(*quantity));
                if !self.register_ok(range.clone()) {
                    return exception(ExceptionCode::ILLEGAL_DATA_ADDRESS);
                }
                let credential =
                    u32::from(desk::REG_CREDENTIAL)..u32::from(desk::REG_CREDENTIAL + Credential::REGISTERS);
                if self.desk.is_some() && range.start < credential.end && credential.start < range.end {
                    // Reading the credential clears "credential waiting" (map v2, §4).
                    if let Some(flag) = self.inputs.get_mut(usize::from(desk::INPUT_CREDENTIAL_WAITING)) {
                        *flag = false;
                    }
                }
                Response::ReadHoldingRegisters {
                    values: self.registers[range.start as usize..range.end as usize].to_vec(),
                }
            }
            Request::WriteSingleCoil { address, value } => {
                let Some(coil) = self.coils.get_mut(usize::from(*address)) else {
                    return exception(ExceptionCode::ILLEGAL_DATA_ADDRESS);
                };
                *coil = *value;
                self.clear_reset_flag();
                Response::WriteSingleCoil { address: *address, value: *value }
            }
            Request::WriteMultipleCoils { address, values } => {
                let range = span(*address, values.len());
                if !fits(&range, self.coils.len()) {
                    return exception(ExceptionCode::ILLEGAL_DATA_ADDRESS);
                }
                self.coils[range.start as usize..range.end as usize].copy_from_slice(values);
                self.clear_reset_flag();
                Response::WriteMultipleCoils { address: *address, quantity: values.len() as u16 }
            }
            Request::WriteMultipleRegisters { address, values } => {
                let range = span(*address, values.len());
                let credential =
                    u32::from(desk::REG_CREDENTIAL)..u32::from(desk::REG_CREDENTIAL + Credential::REGISTERS);
                let read_only =
                    self.desk.is_some() && range.start < credential.end && credential.start < range.end;
                if !self.register_ok(range.clone()) || read_only {
                    return exception(ExceptionCode::ILLEGAL_DATA_ADDRESS);
                }
                self.registers[range.start as usize..range.end as usize].copy_from_slice(values);
                Response::WriteMultipleRegisters { address: *address, quantity: values.len() as u16 }
            }
        }
    }

    fn clear_reset_flag(&mut self) {
        if let Some(flag) = self.outputs_reset_input
            && let Some(input) = self.inputs.get_mut(usize::from(flag))
        {
            *input = false;
        }
    }

    fn count_input_read(&mut self) {
        for (_, left) in &mut self.release_after_reads {
            *left = left.saturating_sub(1);
        }
        let (due, keep): (Vec<_>, Vec<_>) =
            self.release_after_reads.drain(..).partition(|(_, left)| *left == 0);
        self.release_after_reads = keep;
        for (input, _) in due {
            if let Some(v) = self.inputs.get_mut(usize::from(input)) {
                *v = false;
            }
        }
    }

    /// A badge presented (`Badge`), removed, or a PIN entered: the credential goes into
    /// registers 40-45 with the next sequence number and input 11 is set until they are read.
    /// A credential not yet read is replaced (the unit keeps only the newest).
    pub fn offer_credential(&mut self, kind: CredentialKind, id: &[u8]) {
        self.credential_sequence = self.credential_sequence.wrapping_add(1);
        let credential =
            Credential { sequence: self.credential_sequence, kind, id: id.iter().copied().take(8).collect() };
        let at = usize::from(desk::REG_CREDENTIAL);
        for (k, v) in credential.encode().into_iter().enumerate() {
            if let Some(r) = self.registers.get_mut(at + k) {
                *r = v;
            }
        }
        if let Some(flag) = self.inputs.get_mut(usize::from(desk::INPUT_CREDENTIAL_WAITING)) {
            *flag = true;
        }
    }

    /// The watchdog fired: outputs to the safe state, flag set.
    fn fall_back_to_safe_state(&mut self) {
        self.coils.iter_mut().for_each(|c| *c = false);
        if let Some(flag) = self.outputs_reset_input
            && let Some(input) = self.inputs.get_mut(usize::from(flag))
        {
            *input = true;
        }
    }
}

/// What a unit shows, for tests, the demo and the control interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitView {
    /// Unit address.
    pub unit: u8,
    /// Discrete inputs that are on (pressed keys), by address.
    pub inputs_on: Vec<u16>,
    /// Coils that are on, by address.
    pub coils_on: Vec<u16>,
    /// Decoded desk-unit state, for Podium desk units.
    pub desk: Option<DeskView>,
    /// The fault in force.
    pub fault: Fault,
}

/// A Podium desk unit's lamps, relay and display, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeskView {
    /// Microphone relay.
    pub microphone: bool,
    /// Red LED.
    pub red: bool,
    /// Green LED.
    pub green: bool,
    /// Red LED blinking.
    pub blink: bool,
    /// Next-in-line indicator.
    pub next_in_line: bool,
    /// Vote lamp: voting open, not yet voted (coil 5).
    #[serde(default)]
    pub voting_open: bool,
    /// Vote registered (coil 6).
    #[serde(default)]
    pub vote_registered: bool,
    /// The choice lamp that is on (coils 8-10): `yes`, `no`, `abstain`.
    #[serde(default)]
    pub choice: Option<String>,
    /// Display: name.
    pub name: String,
    /// Display: position in the list.
    pub list_position: u16,
    /// Display: requests waiting.
    pub requests_waiting: u16,
    /// Chair display: current speaker (chair units only).
    pub current_speaker: Option<String>,
    /// Chair display: remaining seconds (raw signed register; see the register map).
    pub remaining_s: Option<i16>,
}

/// A command for the simulator's JSON control interface, e.g.
/// `{"action":"click","unit":12,"key":"request"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlCommand {
    /// Hold a key (or a raw discrete input) down.
    Press {
        /// Unit address.
        unit: u8,
        /// Desk-unit key name.
        #[serde(default)]
        key: Option<DeskKey>,
        /// Or a raw discrete-input address.
        #[serde(default)]
        input: Option<u16>,
    },
    /// Let it go.
    Release {
        /// Unit address.
        unit: u8,
        /// Desk-unit key name.
        #[serde(default)]
        key: Option<DeskKey>,
        /// Or a raw discrete-input address.
        #[serde(default)]
        input: Option<u16>,
    },
    /// Press, and release once the master has read the key down.
    Click {
        /// Unit address.
        unit: u8,
        /// Desk-unit key name.
        #[serde(default)]
        key: Option<DeskKey>,
        /// Or a raw discrete-input address.
        #[serde(default)]
        input: Option<u16>,
    },
    /// Inject a fault (`count` for drop and corrupt; default 1).
    Fault {
        /// Unit address.
        unit: u8,
        /// The fault.
        fault: Fault,
        /// How many answers it affects (drop, corrupt).
        #[serde(default)]
        count: Option<u32>,
    },
    /// Put a badge on the unit's reader (`uid`: hex, up to 8 bytes).
    Badge {
        /// Unit address.
        unit: u8,
        /// The badge UID in hex, e.g. `04A1B2C3D4`.
        uid: String,
    },
    /// Take the badge off the reader.
    RemoveBadge {
        /// Unit address.
        unit: u8,
    },
    /// Enter a PIN on the unit's keypad (4-8 digits).
    Pin {
        /// Unit address.
        unit: u8,
        /// The digits.
        pin: String,
    },
    /// Show units (all when `unit` is absent).
    State {
        /// Unit address.
        #[serde(default)]
        unit: Option<u8>,
    },
}

/// Why a control command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No simulated unit has this address.
    #[error("no simulated unit {0}")]
    UnknownUnit(u8),
    /// Neither `key` nor `input` given, or the input does not exist.
    #[error("unit {unit} has no such input (give `key` or a valid `input`)")]
    UnknownInput {
        /// The unit.
        unit: u8,
    },
    /// A badge UID that is not 1-8 bytes of hex, or a PIN that is not 1-8 digits.
    #[error("unit {unit}: {what}")]
    BadCredential {
        /// The unit.
        unit: u8,
        /// What is wrong.
        what: &'static str,
    },
    /// The unit has no credential reader (not a Podium desk unit).
    #[error("unit {0} has no credential reader")]
    NoReader(u8),
}

/// A coil the master switched with a write, and when the write was decoded (see
/// [`SimBus::coil_changes`]). Watchdog and power-cycle resets are not writes and are not reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoilChange {
    /// Unit address.
    pub unit: u8,
    /// Coil address.
    pub coil: u16,
    /// New value.
    pub on: bool,
    /// When the simulator decoded the write that changed it.
    pub at: Instant,
}

struct SimState {
    units: BTreeMap<u8, SimUnit>,
    response_delay: Duration,
    baud: u32,
}

/// A bus of simulated units. Cheap to clone: clones share the units.
#[derive(Clone)]
pub struct SimBus {
    state: Arc<Mutex<SimState>>,
    changes: Arc<watch::Sender<u64>>,
    coil_changes: broadcast::Sender<CoilChange>,
}

impl SimBus {
    /// A bus with these units, answering at once (`baud` sets the line-silence timing).
    pub fn new(units: impl IntoIterator<Item = (u8, SimUnit)>, baud: u32) -> Self {
        let state = SimState { units: units.into_iter().collect(), response_delay: Duration::ZERO, baud };
        SimBus {
            state: Arc::new(Mutex::new(state)),
            changes: Arc::new(watch::channel(0).0),
            coil_changes: broadcast::channel(1024).0,
        }
    }

    /// Podium desk units at these addresses; those in `chairs` are chair units.
    pub fn desk_units(units: impl IntoIterator<Item = u8>, chairs: &[u8], baud: u32) -> Self {
        SimBus::new(units.into_iter().map(|u| (u, SimUnit::desk(chairs.contains(&u)))), baud)
    }

    /// Every answer waits this long first (a slow unit).
    pub fn set_response_delay(&self, delay: Duration) {
        self.lock().response_delay = delay;
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic while holding the lock would be a bug in this module; the data is still
        // usable, so carry on rather than poison every later call.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// Sets a discrete input.
    pub fn set_input(&self, unit: u8, input: u16, on: bool) -> Result<(), ControlError> {
        {
            let mut state = self.lock();
            let sim = state.units.get_mut(&unit).ok_or(ControlError::UnknownUnit(unit))?;
            let slot = sim.inputs.get_mut(usize::from(input)).ok_or(ControlError::UnknownInput { unit })?;
            *slot = on;
            sim.release_after_reads.retain(|(i, _)| *i != input);
        }
        self.changed();
        Ok(())
    }

    /// Holds a desk-unit key down.
    pub fn press(&self, unit: u8, key: DeskKey) -> Result<(), ControlError> {
        self.set_input(unit, key.input(), true)
    }

    /// Releases a desk-unit key.
    pub fn release(&self, unit: u8, key: DeskKey) -> Result<(), ControlError> {
        self.set_input(unit, key.input(), false)
    }

    /// Presses an input and releases it after the master has read it down once.
    pub fn click_input(&self, unit: u8, input: u16) -> Result<(), ControlError> {
        {
            let mut state = self.lock();
            let sim = state.units.get_mut(&unit).ok_or(ControlError::UnknownUnit(unit))?;
            let slot = sim.inputs.get_mut(usize::from(input)).ok_or(ControlError::UnknownInput { unit })?;
            *slot = true;
            sim.release_after_reads.retain(|(i, _)| *i != input);
            sim.release_after_reads.push((input, 1));
        }
        self.changed();
        Ok(())
    }

    /// Restarts a unit: its memory returns to the power-up state (keys up, outputs off,
    /// for desk units the outputs-reset flag set); its fault stays.
    pub fn power_cycle(&self, unit: u8) -> Result<(), ControlError> {
        {
            let mut state = self.lock();
            let sim = state.units.get_mut(&unit).ok_or(ControlError::UnknownUnit(unit))?;
            let fresh = match sim.desk {
                Some(chair) => SimUnit::desk(chair),
                None => SimUnit::io_module(
                    sim.inputs.len() as u16,
                    sim.coils.len() as u16,
                    sim.registers.len() as u16,
                ),
            };
            *sim = SimUnit { fault: sim.fault, fault_count: sim.fault_count, ..fresh };
        }
        self.changed();
        Ok(())
    }

    /// Injects a fault.
    pub fn set_fault(&self, unit: u8, fault: Fault, count: u32) -> Result<(), ControlError> {
        let mut state = self.lock();
        let sim = state.units.get_mut(&unit).ok_or(ControlError::UnknownUnit(unit))?;
        sim.fault = fault;
        sim.fault_count = count;
        Ok(())
    }

    /// A coil's value.
    pub fn coil(&self, unit: u8, coil: u16) -> Option<bool> {
        self.lock().units.get(&unit)?.coils.get(usize::from(coil)).copied()
    }

    /// A discrete input's value.
    pub fn input(&self, unit: u8, input: u16) -> Option<bool> {
        self.lock().units.get(&unit)?.inputs.get(usize::from(input)).copied()
    }

    /// A copy of a unit's memory.
    pub fn unit(&self, unit: u8) -> Option<SimUnit> {
        self.lock().units.get(&unit).cloned()
    }

    /// Unit addresses.
    pub fn units(&self) -> Vec<u8> {
        self.lock().units.keys().copied().collect()
    }

    /// What a unit shows.
    pub fn view(&self, unit: u8) -> Option<UnitView> {
        let state = self.lock();
        let sim = state.units.get(&unit)?;
        let on =
            |bits: &[bool]| bits.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| i as u16).collect();
        let desk = sim.desk.map(|chair| {
            let coil = |c: u16| sim.coils.get(usize::from(c)).copied().unwrap_or(false);
            let reg = |r: u16| sim.registers.get(usize::from(r)).copied().unwrap_or(0);
            let text = |at: u16| {
                let end = (usize::from(at + desk::TEXT_REGISTERS)).min(sim.registers.len());
                desk::read_text(sim.registers.get(usize::from(at)..end).unwrap_or(&[]))
            };
            DeskView {
                microphone: coil(desk::COIL_MICROPHONE),
                red: coil(desk::COIL_RED),
                green: coil(desk::COIL_GREEN),
                blink: coil(desk::COIL_BLINK),
                next_in_line: coil(desk::COIL_NEXT),
                voting_open: coil(desk::COIL_VOTING_OPEN),
                vote_registered: coil(desk::COIL_VOTE_REGISTERED),
                choice: [
                    (desk::COIL_CHOICE_YES, "yes"),
                    (desk::COIL_CHOICE_NO, "no"),
                    (desk::COIL_CHOICE_ABSTAIN, "abstain"),
                ]
                .into_iter()
                .find(|(c, _)| coil(*c))
                .map(|(_, name)| name.to_owned()),
                name: text(desk::REG_NAME),
                list_position: reg(desk::REG_LIST_POSITION),
                requests_waiting: reg(desk::REG_REQUESTS_WAITING),
                current_speaker: chair.then(|| text(desk::REG_CHAIR_SPEAKER)),
                remaining_s: chair.then(|| reg(desk::REG_CHAIR_REMAINING) as i16),
            }
        });
        Some(UnitView { unit, inputs_on: on(&sim.inputs), coils_on: on(&sim.coils), desk, fault: sim.fault })
    }

    /// Offers a credential on a desk unit (see [`SimUnit::offer_credential`]).
    pub fn offer_credential(&self, unit: u8, kind: CredentialKind, id: &[u8]) -> Result<(), ControlError> {
        {
            let mut state = self.lock();
            let sim = state.units.get_mut(&unit).ok_or(ControlError::UnknownUnit(unit))?;
            if sim.desk.is_none() {
                return Err(ControlError::NoReader(unit));
            }
            sim.offer_credential(kind, id);
        }
        self.changed();
        Ok(())
    }

    /// Runs one control command; answers with the affected units' views.
    pub fn control(&self, command: &ControlCommand) -> Result<Vec<UnitView>, ControlError> {
        let resolve = |unit: u8, key: &Option<DeskKey>, input: &Option<u16>| {
            key.map(DeskKey::input).or(*input).ok_or(ControlError::UnknownInput { unit })
        };
        let unit = match command {
            ControlCommand::Press { unit, key, input } => {
                self.set_input(*unit, resolve(*unit, key, input)?, true)?;
                Some(*unit)
            }
            ControlCommand::Release { unit, key, input } => {
                self.set_input(*unit, resolve(*unit, key, input)?, false)?;
                Some(*unit)
            }
            ControlCommand::Click { unit, key, input } => {
                self.click_input(*unit, resolve(*unit, key, input)?)?;
                Some(*unit)
            }
            ControlCommand::Fault { unit, fault, count } => {
                self.set_fault(*unit, *fault, count.unwrap_or(1))?;
                Some(*unit)
            }
            ControlCommand::Badge { unit, uid } => {
                let bytes = parse_hex(uid).filter(|b| (1..=8).contains(&b.len())).ok_or(
                    ControlError::BadCredential { unit: *unit, what: "a badge UID is 1-8 bytes of hex" },
                )?;
                self.offer_credential(*unit, CredentialKind::Badge, &bytes)?;
                Some(*unit)
            }
            ControlCommand::RemoveBadge { unit } => {
                self.offer_credential(*unit, CredentialKind::BadgeRemoved, &[])?;
                Some(*unit)
            }
            ControlCommand::Pin { unit, pin } => {
                if pin.is_empty() || pin.len() > 8 || !pin.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ControlError::BadCredential { unit: *unit, what: "a PIN is 1-8 digits" });
                }
                self.offer_credential(*unit, CredentialKind::Pin, pin.as_bytes())?;
                Some(*unit)
            }
            ControlCommand::State { unit } => *unit,
        };
        match unit {
            Some(unit) => Ok(vec![self.view(unit).ok_or(ControlError::UnknownUnit(unit))?]),
            None => Ok(self.units().into_iter().filter_map(|u| self.view(u)).collect()),
        }
    }

    /// Every coil the master switches from now on, stamped when its write was decoded (for
    /// latency measurements: key press to microphone relay).
    pub fn coil_changes(&self) -> broadcast::Receiver<CoilChange> {
        self.coil_changes.subscribe()
    }

    /// Applies a master's request to a unit; reports the coils it switched.
    fn apply_request(&self, unit: u8, sim: &mut SimUnit, request: &Request) -> Response {
        let watched = self.coil_changes.receiver_count() > 0
            && matches!(request, Request::WriteSingleCoil { .. } | Request::WriteMultipleCoils { .. });
        let before = watched.then(|| sim.coils.clone());
        let response = sim.answer(request);
        if let Some(before) = before {
            let at = Instant::now();
            for (coil, (old, new)) in before.iter().zip(&sim.coils).enumerate() {
                if old != new {
                    let _ = self.coil_changes.send(CoilChange { unit, coil: coil as u16, on: *new, at });
                }
            }
        }
        response
    }

    /// Waits until `condition` holds (checked now and after every change the master
    /// makes or a key press), or `deadline` passes. Returns whether it held.
    pub async fn wait_until(&self, deadline: Duration, condition: impl Fn(&SimBus) -> bool) -> bool {
        let mut changes = self.changes.subscribe();
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if condition(self) {
                return true;
            }
            // Watchdogs change state without a frame; look again at least every 100 ms.
            let step = (tokio::time::Instant::now() + Duration::from_millis(100)).min(until);
            let _ = tokio::time::timeout_at(step, changes.changed()).await;
            if tokio::time::Instant::now() >= until {
                return condition(self);
            }
        }
    }

    /// Serves each of `buses` on a new pseudo-terminal, all from one thread with a runtime
    /// of its own (for benchmarks: the simulators' work then does not queue behind the
    /// driver's, nor count as its CPU). Returns the slaves' paths, in order, and the thread,
    /// which ends once `cancel` fires.
    pub fn serve_on_a_thread(
        buses: Vec<SimBus>,
        cancel: CancellationToken,
    ) -> io::Result<(Vec<String>, std::thread::JoinHandle<()>)> {
        let (paths_tx, paths_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => return drop(paths_tx.send(Err(error))),
            };
            runtime.block_on(async move {
                let mut ports = Vec::new();
                for _ in &buses {
                    match crate::serial::pty() {
                        Ok(port) => ports.push(port),
                        Err(error) => return drop(paths_tx.send(Err(error))),
                    }
                }
                let _ = paths_tx.send(Ok(ports.iter().map(|p| p.path.clone()).collect()));
                let serving: Vec<_> = buses
                    .into_iter()
                    .zip(ports)
                    .map(|(bus, port)| {
                        let cancel = cancel.clone();
                        tokio::spawn(async move {
                            let _keep_open = port.slave;
                            let _ = bus.serve(port.master, cancel).await;
                        })
                    })
                    .collect();
                for task in serving {
                    let _ = task.await;
                }
            });
        });
        let paths = paths_rx.recv().map_err(|_| io::Error::other("the simulator thread ended"))??;
        Ok((paths, thread))
    }

    /// Answers the master on `port` until `cancel` fires or the port fails. Can be called
    /// again with a new port (a replugged cable); the units keep their memory.
    pub async fn serve<T>(&self, mut port: T, cancel: CancellationToken) -> io::Result<()>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        let mut buffer: Vec<u8> = Vec::with_capacity(codec::MAX_ADU_LEN);
        let mut chunk = [0u8; 512];
        let mut answer = Vec::with_capacity(codec::MAX_ADU_LEN);
        loop {
            // Idle: wake every 100 ms for the watchdogs. Mid-frame: t3.5 of silence ends it.
            let gap = timing::frame_gap(self.lock().baud).max(Duration::from_millis(2));
            let wait = if buffer.is_empty() { Duration::from_millis(100) } else { gap };
            let read = tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                read = tokio::time::timeout(wait, port.read(&mut chunk)) => read,
            };
            match read {
                Err(_silence) => {
                    if !buffer.is_empty() {
                        if let Some(reply) = self.on_silence(&buffer) {
                            self.reply(&mut port, &reply).await?;
                        }
                        buffer.clear();
                    }
                    self.check_watchdogs();
                    continue;
                }
                Ok(Ok(0)) => return Ok(()),
                Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
                Ok(Err(error)) => return Err(error),
            }
            loop {
                match codec::decode_request(&buffer) {
                    Ok(Some(decoded)) => {
                        buffer.drain(..decoded.length);
                        answer.clear();
                        if self.handle(&decoded.adu, &mut answer) {
                            self.reply(&mut port, &answer).await?;
                        }
                    }
                    Ok(None) => {
                        if buffer.len() > codec::MAX_ADU_LEN {
                            buffer.clear();
                        }
                        break;
                    }
                    // Unknown function: its length is unknown, wait for the line to go quiet.
                    Err(FrameError::UnknownFunction { .. }) => break,
                    Err(error) => {
                        if let FrameError::Malformed { unit, function, .. } = error
                            && self.lock().units.contains_key(&unit)
                        {
                            let exception =
                                Response::Exception { function, code: ExceptionCode::ILLEGAL_DATA_VALUE };
                            answer.clear();
                            if codec::encode_response(unit, &exception, &mut answer).is_ok() {
                                self.reply(&mut port, &answer).await?;
                            }
                        }
                        // A bad CRC is dropped silently, as a real slave does.
                        let n = error.discard(buffer.len());
                        buffer.drain(..n);
                    }
                }
            }
            self.check_watchdogs();
        }
    }

    async fn reply<T: AsyncWrite + Unpin>(&self, port: &mut T, bytes: &[u8]) -> io::Result<()> {
        let delay = self.lock().response_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        port.write_all(bytes).await?;
        port.flush().await
    }

    /// A frame ended by silence that the length rules could not frame: a valid frame with
    /// a function code we do not implement gets exception 0x01 from its unit.
    fn on_silence(&self, frame: &[u8]) -> Option<Vec<u8>> {
        let (&unit, &function) = (frame.first()?, frame.get(1)?);
        if !codec::crc_ok(frame) || unit == BROADCAST || !self.lock().units.contains_key(&unit) {
            return None;
        }
        let mut out = Vec::new();
        let exception = Response::Exception { function, code: ExceptionCode::ILLEGAL_FUNCTION };
        codec::encode_response(unit, &exception, &mut out).ok()?;
        Some(out)
    }

    /// Applies a request; fills `answer` and returns true if the unit answers.
    fn handle(&self, adu: &codec::Adu<Request>, answer: &mut Vec<u8>) -> bool {
        let mut wrote = false;
        let answered = {
            let mut state = self.lock();
            if adu.unit == BROADCAST {
                for (&unit, sim) in state.units.iter_mut() {
                    if matches!(
                        adu.pdu,
                        Request::WriteSingleCoil { .. }
                            | Request::WriteMultipleCoils { .. }
                            | Request::WriteMultipleRegisters { .. }
                    ) {
                        sim.last_addressed = Some(Instant::now());
                        self.apply_request(unit, sim, &adu.pdu);
                        wrote = true;
                    }
                }
                false
            } else if let Some(sim) = state.units.get_mut(&adu.unit) {
                if sim.fault == Fault::Silent {
                    false
                } else {
                    sim.last_addressed = Some(Instant::now());
                    let response = self.apply_request(adu.unit, sim, &adu.pdu);
                    wrote = !matches!(response, Response::Exception { .. })
                        && !matches!(
                            adu.pdu,
                            Request::ReadCoils { .. } | Request::ReadHoldingRegisters { .. }
                        );
                    let mut send = true;
                    let mut corrupt = false;
                    match sim.fault {
                        Fault::Drop if sim.fault_count > 0 => {
                            sim.fault_count -= 1;
                            send = false;
                        }
                        Fault::Corrupt if sim.fault_count > 0 => {
                            sim.fault_count -= 1;
                            corrupt = true;
                        }
                        _ => {}
                    }
                    if send && codec::encode_response(adu.unit, &response, answer).is_ok() {
                        if corrupt && let Some(last) = answer.last_mut() {
                            *last ^= 0xFF;
                        }
                        true
                    } else {
                        false
                    }
                }
            } else {
                false
            }
        };
        if wrote {
            self.changed();
        }
        answered
    }

    fn check_watchdogs(&self) {
        let now = Instant::now();
        let mut fired = false;
        for sim in self.lock().units.values_mut() {
            let (Some(watchdog), Some(last)) = (sim.watchdog(), sim.last_addressed) else { continue };
            if now.duration_since(last) >= watchdog {
                sim.fall_back_to_safe_state();
                sim.last_addressed = None;
                fired = true;
            }
        }
        if fired {
            self.changed();
        }
    }
}

/// Hex digits (an even number, upper or lower case) as bytes.
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_desk_unit_offers_credentials_as_the_register_map_says() {
        let mut unit = SimUnit::desk(false);
        let waiting = usize::from(desk::INPUT_CREDENTIAL_WAITING);
        assert!(!unit.inputs[waiting]);
        unit.offer_credential(CredentialKind::Pin, b"4711");
        unit.offer_credential(CredentialKind::Badge, &[0x04, 0xA1, 0xB2]);
        assert!(unit.inputs[waiting], "input 11 until the registers are read");
        let read = Request::ReadHoldingRegisters { address: desk::REG_CREDENTIAL, quantity: 6 };
        let Response::ReadHoldingRegisters { values } = unit.answer(&read) else { panic!("an answer") };
        // Only the newest counts; its sequence number still counts both.
        assert_eq!(values, vec![2, 1, 0x04A1, 0xB200, 0, 0]);
        assert!(!unit.inputs[waiting], "reading clears input 11");
        let write = Request::WriteMultipleRegisters { address: desk::REG_CREDENTIAL, values: vec![0] };
        assert!(matches!(
            unit.answer(&write),
            Response::Exception { code: ExceptionCode::ILLEGAL_DATA_ADDRESS, .. }
        ));
        // The vote lamps' coils 5-10 exist.
        let coils = Request::WriteMultipleCoils { address: 0, values: vec![false; 11] };
        assert!(matches!(unit.answer(&coils), Response::WriteMultipleCoils { quantity: 11, .. }));
        let bus = SimBus::desk_units([3], &[], 115_200);
        let badge = ControlCommand::Badge { unit: 3, uid: "04a1b2".into() };
        assert!(bus.control(&badge).is_ok());
        assert_eq!(bus.input(3, desk::INPUT_CREDENTIAL_WAITING), Some(true));
        let bad = ControlCommand::Pin { unit: 3, pin: "12a".into() };
        assert!(matches!(bus.control(&bad), Err(ControlError::BadCredential { .. })));
    }

    #[tokio::test]
    async fn coil_writes_are_reported_with_the_time_they_arrived() {
        let sim = SimBus::desk_units([7], &[], 115_200);
        let mut changes = sim.coil_changes();
        let (mut master, slave) = tokio::io::duplex(256);
        let cancel = CancellationToken::new();
        tokio::spawn({
            let (sim, cancel) = (sim.clone(), cancel.clone());
            async move { sim.serve(slave, cancel).await }
        });
        let write = |value| Request::WriteSingleCoil { address: desk::COIL_MICROPHONE, value };
        let mut frame = Vec::new();
        let mut answer = [0u8; 8];
        for value in [true, true, false] {
            frame.clear();
            codec::encode_request(7, &write(value), &mut frame).expect("encode");
            master.write_all(&frame).await.expect("write");
            master.read_exact(&mut answer).await.expect("echo");
        }
        let answered = Instant::now();
        let on = changes.try_recv().expect("switched on");
        assert_eq!((on.unit, on.coil, on.on), (7, desk::COIL_MICROPHONE, true));
        assert!(on.at <= answered);
        // Writing the value the coil already has changes nothing and is not reported.
        let off = changes.try_recv().expect("switched off");
        assert_eq!((off.coil, off.on), (desk::COIL_MICROPHONE, false));
        assert!(changes.try_recv().is_err());
        cancel.cancel();
    }
}
