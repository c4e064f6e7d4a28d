//! The Podium desk-unit register map: what a desk unit's keys, lamps, relay and display
//! are called on the wire. The full specification for firmware authors is
//! `devices/docs/desk-unit-register-map.md`; this module is its single source in code.
//!
//! This module knows keys and lamps, not seats: the daemon decides which seat a unit
//! belongs to and what its lamps should show.

use serde::{Deserialize, Serialize};

use super::units::{Block, Credential, CredentialLayout, UnitLayout, UnitOutputs};

/// The register map version this module implements (see the document's change log).
pub const MAP_VERSION: u8 = 2;

/// Discrete inputs (function 0x02) read in one request: addresses 0-15.
pub const INPUT_COUNT: u16 = 16;
/// Discrete input 15: set by the unit at power-up and after its watchdog fired (its
/// outputs are in the safe state); cleared when the master writes a coil.
pub const INPUT_OUTPUTS_RESET: u16 = 15;

/// Discrete input 11 (map version 2): a credential waits in registers 40-45; the unit
/// clears it when the master reads them.
pub const INPUT_CREDENTIAL_WAITING: u16 = 11;

/// Coils (functions 0x01/0x05/0x0F) written as one block: addresses 0-10 (map version 2).
pub const COIL_COUNT: u16 = 11;
/// The coil block of a unit on map version 1: addresses 0-7.
pub const COIL_COUNT_V1: u16 = 8;
/// Coil 0: microphone relay (1 = open).
pub const COIL_MICROPHONE: u16 = 0;
/// Coil 1: red LED, the floor is this seat's.
pub const COIL_RED: u16 = 1;
/// Coil 2: green LED, a request is waiting.
pub const COIL_GREEN: u16 = 2;
/// Coil 3: the red LED blinks (speaking time warning or expired).
pub const COIL_BLINK: u16 = 3;
/// Coil 4: next-in-line indicator.
pub const COIL_NEXT: u16 = 4;
/// Coil 5 (v2): voting open, this seat may vote and has not yet (the vote lamp).
pub const COIL_VOTING_OPEN: u16 = 5;
/// Coil 6 (v2): this seat's vote is registered.
pub const COIL_VOTE_REGISTERED: u16 = 6;
/// Coil 8 (v2): the registered choice is yes (never in a secret vote).
pub const COIL_CHOICE_YES: u16 = 8;
/// Coil 9 (v2): the registered choice is no (never in a secret vote).
pub const COIL_CHOICE_NO: u16 = 9;
/// Coil 10 (v2): the registered choice is abstain (never in a secret vote).
pub const COIL_CHOICE_ABSTAIN: u16 = 10;

/// Holding registers 0-7: the name shown on the unit's display, 16 Latin-1 characters.
pub const REG_NAME: u16 = 0;
/// Registers per 16-character text field.
pub const TEXT_REGISTERS: u16 = 8;
/// Holding register 8: position in the list of speakers (0 = not waiting).
pub const REG_LIST_POSITION: u16 = 8;
/// Holding register 9: requests waiting in the whole list.
pub const REG_REQUESTS_WAITING: u16 = 9;
/// Registers of an ordinary (delegate) unit's display block: 0-9.
pub const DELEGATE_REGISTERS: u16 = 10;
/// Holding registers 16-23 (chair unit): the current speaker's name.
pub const REG_CHAIR_SPEAKER: u16 = 16;
/// Holding register 24 (chair unit): the current speaker's remaining time in seconds, as
/// a signed 16-bit value; negative when over time.
pub const REG_CHAIR_REMAINING: u16 = 24;
/// Holding register 25 (chair unit): open delegate microphones.
pub const REG_CHAIR_OPEN_MICROPHONES: u16 = 25;
/// Registers of a chair unit's display block: 0-25.
pub const CHAIR_REGISTERS: u16 = 26;
/// [`REG_CHAIR_REMAINING`] when the speaker has no time limit.
pub const REMAINING_UNLIMITED: i16 = i16::MAX;
/// [`REG_CHAIR_REMAINING`] when nobody speaks.
pub const REMAINING_NOBODY: i16 = i16::MIN;
/// Holding register 100: the unit's communication watchdog in units of 100 ms
/// (0 = off; power-up default 30 = 3 s). Podium does not write it.
pub const REG_WATCHDOG: u16 = 100;
/// Power-up value of [`REG_WATCHDOG`].
pub const WATCHDOG_DEFAULT: u16 = 30;
/// Holding registers 40-45 (v2, read only): the credential (40 sequence, 41 kind, 42-45
/// badge UID or PIN digits), see [`Credential::decode`].
pub const REG_CREDENTIAL: u16 = 40;

/// A key on a desk unit, by its discrete-input address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeskKey {
    /// Input 0: request to speak / microphone key.
    Request,
    /// Input 1: cancel the request or switch the microphone off.
    Cancel,
    /// Input 2: point of order.
    PointOfOrder,
    /// Input 3: reply to the current speaker.
    Reply,
    /// Input 4: vote yes.
    VoteYes,
    /// Input 5: vote no.
    VoteNo,
    /// Input 6: abstain.
    VoteAbstain,
    /// Input 7 (v2): presence key, check in or out at this seat.
    Presence,
    /// Input 8 (chair unit): priority, every delegate microphone off.
    Priority,
    /// Input 9 (chair unit): give the floor to the next in the list.
    Next,
    /// Input 10 (chair unit): stop the current speaker.
    Stop,
}

impl DeskKey {
    /// Every key, in input order.
    pub const ALL: [DeskKey; 11] = [
        DeskKey::Request,
        DeskKey::Cancel,
        DeskKey::PointOfOrder,
        DeskKey::Reply,
        DeskKey::VoteYes,
        DeskKey::VoteNo,
        DeskKey::VoteAbstain,
        DeskKey::Presence,
        DeskKey::Priority,
        DeskKey::Next,
        DeskKey::Stop,
    ];

    /// Names as written in configuration and the simulator's control interface.
    pub const NAMES: &'static [&'static str] = &[
        "request",
        "cancel",
        "point_of_order",
        "reply",
        "vote_yes",
        "vote_no",
        "vote_abstain",
        "presence",
        "priority",
        "next",
        "stop",
    ];

    /// The discrete-input address of the key.
    pub fn input(self) -> u16 {
        match self {
            DeskKey::Request => 0,
            DeskKey::Cancel => 1,
            DeskKey::PointOfOrder => 2,
            DeskKey::Reply => 3,
            DeskKey::VoteYes => 4,
            DeskKey::VoteNo => 5,
            DeskKey::VoteAbstain => 6,
            DeskKey::Presence => 7,
            DeskKey::Priority => 8,
            DeskKey::Next => 9,
            DeskKey::Stop => 10,
        }
    }

    /// The key at a discrete-input address, if any.
    pub fn from_input(input: u16) -> Option<DeskKey> {
        DeskKey::ALL.into_iter().find(|k| k.input() == input)
    }

    /// The key by its configuration name.
    pub fn from_name(name: &str) -> Option<DeskKey> {
        DeskKey::NAMES.iter().position(|n| *n == name).map(|i| DeskKey::ALL[i])
    }

    /// The configuration name.
    pub fn name(self) -> &'static str {
        DeskKey::NAMES[DeskKey::ALL.iter().position(|k| *k == self).unwrap_or(0)]
    }

    /// Keys only a chair unit has.
    pub fn is_chair_key(self) -> bool {
        matches!(self, DeskKey::Priority | DeskKey::Next | DeskKey::Stop)
    }
}

/// The chair unit's display rows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChairDisplay {
    /// Name of the current speaker (empty when nobody speaks).
    pub current_speaker: String,
    /// Remaining speaking time in seconds (negative when over time); `None` for
    /// unlimited or nobody speaking (see [`REMAINING_UNLIMITED`], [`REMAINING_NOBODY`]).
    pub remaining_s: Option<i32>,
    /// Whether someone speaks (distinguishes "unlimited" from "nobody").
    pub someone_speaks: bool,
    /// Open delegate microphones.
    pub open_microphones: u16,
}

/// A registered choice as the choice coils show it (open and roll-call votes only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceLamp {
    /// Coil 8.
    Yes,
    /// Coil 9.
    No,
    /// Coil 10.
    Abstain,
}

/// Everything a desk unit shows, as the daemon computes it from the floor.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeskOutputs {
    /// Microphone relay closed (microphone live).
    pub microphone: bool,
    /// Red LED: the floor is this seat's.
    pub speaking: bool,
    /// Green LED: a request is waiting.
    pub requested: bool,
    /// Red LED blinks: time warning or time expired.
    pub time_warning: bool,
    /// Next-in-line indicator.
    pub next_in_line: bool,
    /// Vote lamp: a vote is open and this seat may vote and has not yet (coil 5).
    pub voting_open: bool,
    /// This seat's vote is registered (coil 6).
    pub vote_registered: bool,
    /// The registered choice (coils 8-10); always `None` in a secret vote.
    pub choice: Option<ChoiceLamp>,
    /// Name on the display.
    pub name: String,
    /// Position in the list (0 = not waiting).
    pub list_position: u16,
    /// Requests waiting in the whole list.
    pub requests_waiting: u16,
    /// The chair unit's extra rows; `None` on a delegate unit.
    pub chair: Option<ChairDisplay>,
}

impl DeskOutputs {
    /// The coil block 0-10 (a unit on map version 1 takes the first 8: the bus cuts the
    /// rest to its layout).
    pub fn coils(&self) -> Vec<bool> {
        let mut coils = vec![false; usize::from(COIL_COUNT)];
        coils[usize::from(COIL_MICROPHONE)] = self.microphone;
        coils[usize::from(COIL_RED)] = self.speaking;
        coils[usize::from(COIL_GREEN)] = self.requested;
        coils[usize::from(COIL_BLINK)] = self.time_warning;
        coils[usize::from(COIL_NEXT)] = self.next_in_line;
        coils[usize::from(COIL_VOTING_OPEN)] = self.voting_open;
        coils[usize::from(COIL_VOTE_REGISTERED)] = self.vote_registered;
        coils[usize::from(COIL_CHOICE_YES)] = self.choice == Some(ChoiceLamp::Yes);
        coils[usize::from(COIL_CHOICE_NO)] = self.choice == Some(ChoiceLamp::No);
        coils[usize::from(COIL_CHOICE_ABSTAIN)] = self.choice == Some(ChoiceLamp::Abstain);
        coils
    }

    /// The holding-register block from 0: 10 registers, or 26 with the chair rows.
    pub fn registers(&self) -> Vec<u16> {
        let count = if self.chair.is_some() { CHAIR_REGISTERS } else { DELEGATE_REGISTERS };
        let mut registers = vec![0u16; usize::from(count)];
        write_text(&mut registers, REG_NAME, &self.name);
        registers[usize::from(REG_LIST_POSITION)] = self.list_position;
        registers[usize::from(REG_REQUESTS_WAITING)] = self.requests_waiting;
        if let Some(chair) = &self.chair {
            write_text(&mut registers, REG_CHAIR_SPEAKER, &chair.current_speaker);
            let remaining = match (chair.someone_speaks, chair.remaining_s) {
                (false, _) => REMAINING_NOBODY,
                (true, None) => REMAINING_UNLIMITED,
                // Clamp inside the sentinels so a very long overrun never reads as one.
                (true, Some(s)) => s.clamp(i32::from(i16::MIN) + 1, i32::from(i16::MAX) - 1) as i16,
            };
            registers[usize::from(REG_CHAIR_REMAINING)] = remaining as u16;
            registers[usize::from(REG_CHAIR_OPEN_MICROPHONES)] = chair.open_microphones;
        }
        registers
    }

    /// Both blocks, as the bus driver takes them. The chair's unit and a unit whose
    /// request waits or whose microphone is open are polled with priority: their keys
    /// (next, stop, withdraw, microphone off) are the ones pressed next.
    pub fn unit_outputs(&self) -> UnitOutputs {
        let priority = self.chair.is_some() || self.speaking || self.requested;
        UnitOutputs { coils: self.coils(), registers: self.registers(), priority }
    }
}

/// The polling and output layout of a Podium desk unit (`chair`: with the chair rows) on
/// the current map version.
pub fn layout(chair: bool) -> UnitLayout {
    layout_for(chair, MAP_VERSION)
}

/// The layout for a unit that implements map `version` (1 or 2): version 1 has coils 0-7
/// and no credential reader, so Podium never writes coils 8-10 to it nor reads registers
/// 40-45 (its vote lamps stay dark; its keys 4-6 still vote).
pub fn layout_for(chair: bool, version: u8) -> UnitLayout {
    let v2 = version >= 2;
    UnitLayout {
        inputs: Some(Block { start: 0, count: INPUT_COUNT }),
        coils: Some(Block { start: 0, count: if v2 { COIL_COUNT } else { COIL_COUNT_V1 } }),
        registers: Some(Block { start: 0, count: if chair { CHAIR_REGISTERS } else { DELEGATE_REGISTERS } }),
        outputs_reset_input: Some(INPUT_OUTPUTS_RESET),
        credential: v2.then_some(CredentialLayout {
            waiting_input: INPUT_CREDENTIAL_WAITING,
            registers: Block { start: REG_CREDENTIAL, count: Credential::REGISTERS },
        }),
    }
}

/// Writes `text` as 16 Latin-1 characters into 8 registers from `at` (high byte first,
/// padded with 0x00). Characters outside Latin-1 become `?`; longer text is cut.
pub fn write_text(registers: &mut [u16], at: u16, text: &str) {
    let mut bytes = [0u8; 2 * TEXT_REGISTERS as usize];
    for (slot, c) in bytes.iter_mut().zip(text.chars()) {
        *slot = u8::try_from(u32::from(c)).unwrap_or(b'?');
    }
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        if let Some(r) = registers.get_mut(usize::from(at) + i) {
            *r = u16::from_be_bytes([pair[0], pair[1]]);
        }
    }
}

/// Reads a text field written by [`write_text`] (stops at the first 0x00).
pub fn read_text(registers: &[u16]) -> String {
    registers.iter().flat_map(|r| r.to_be_bytes()).take_while(|b| *b != 0).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_unique_inputs_and_names() {
        for key in DeskKey::ALL {
            assert_eq!(DeskKey::from_input(key.input()), Some(key));
            assert_eq!(DeskKey::from_name(key.name()), Some(key));
            assert!(key.input() < INPUT_COUNT && key.input() != INPUT_OUTPUTS_RESET);
            assert_ne!(key.input(), INPUT_CREDENTIAL_WAITING);
        }
        assert_eq!(DeskKey::from_input(7), Some(DeskKey::Presence));
        assert_eq!(DeskKey::from_input(11), None);
        assert_eq!(DeskKey::from_name("nope"), None);
    }

    #[test]
    fn text_is_latin1_sixteen_characters() {
        let mut registers = vec![0u16; 8];
        write_text(&mut registers, 0, "Jürgen Müller-Lüdenscheidt");
        assert_eq!(registers[0], u16::from_be_bytes([b'J', 0xFC]));
        assert_eq!(read_text(&registers), "Jürgen Müller-Lü");
        write_text(&mut registers, 0, "Zoë 😀");
        assert_eq!(read_text(&registers), "Zoë ?");
    }

    #[test]
    fn outputs_map_to_coils_and_registers() {
        let outputs = DeskOutputs {
            microphone: true,
            speaking: true,
            time_warning: true,
            name: "Anna".into(),
            list_position: 0,
            requests_waiting: 3,
            chair: Some(ChairDisplay {
                current_speaker: "Anna".into(),
                remaining_s: Some(-5),
                someone_speaks: true,
                open_microphones: 1,
            }),
            ..DeskOutputs::default()
        };
        assert_eq!(
            outputs.coils(),
            vec![true, true, false, true, false, false, false, false, false, false, false]
        );
        let voted =
            DeskOutputs { vote_registered: true, choice: Some(ChoiceLamp::No), ..DeskOutputs::default() };
        let coils = voted.coils();
        assert!(coils[6] && coils[9] && !coils[5] && !coils[8] && !coils[10]);
        let registers = outputs.registers();
        assert_eq!(registers.len(), 26);
        assert_eq!(read_text(&registers[16..24]), "Anna");
        assert_eq!(registers[24] as i16, -5);
        assert_eq!(registers[9], 3);
        let nobody = DeskOutputs { chair: Some(ChairDisplay::default()), ..DeskOutputs::default() };
        assert_eq!(nobody.registers()[24] as i16, REMAINING_NOBODY);
        assert_eq!(DeskOutputs::default().registers().len(), 10);
    }

    #[test]
    fn version_one_units_keep_the_old_coil_block_and_no_reader() {
        let v1 = layout_for(false, 1);
        assert_eq!(v1.coils, Some(Block { start: 0, count: 8 }));
        assert_eq!(v1.credential, None);
        let v2 = layout(true);
        assert_eq!(v2.coils, Some(Block { start: 0, count: 11 }));
        assert_eq!(
            v2.credential.map(|c| (c.waiting_input, c.registers.start, c.registers.count)),
            Some((11, 40, 6))
        );
    }

    #[test]
    fn credentials_decode_badges_pins_and_removal() {
        use super::super::units::CredentialKind;
        let badge = Credential::decode(&[7, 1, 0x04A1, 0xB2C3, 0xD400, 0]).unwrap();
        assert_eq!((badge.sequence, badge.kind), (7, CredentialKind::Badge));
        assert_eq!(badge.id, vec![0x04, 0xA1, 0xB2, 0xC3, 0xD4]);
        assert_eq!(Credential::decode(&badge.encode()), Some(badge));
        let pin = Credential::decode(&[8, 2, u16::from_be_bytes(*b"47"), u16::from_be_bytes(*b"11"), 0, 0])
            .unwrap();
        assert_eq!((pin.kind, pin.id.as_slice()), (CredentialKind::Pin, &b"4711"[..]));
        assert!(!format!("{pin:?}").contains("4711"), "Debug never shows the digits");
        let removed = Credential::decode(&[9, 0, 0xFFFF, 0, 0, 0]).unwrap();
        assert_eq!((removed.kind, removed.id.len()), (CredentialKind::BadgeRemoved, 0));
        assert_eq!(Credential::decode(&[1, 3, 1, 0, 0, 0]), None, "unknown kind");
        assert_eq!(Credential::decode(&[1, 1, 0, 0, 0, 0]), None, "badge without UID");
        assert_eq!(
            Credential::decode(&[1, 2, u16::from_be_bytes(*b"4A"), 0, 0, 0]),
            None,
            "PIN with a letter"
        );
        assert_eq!(Credential::decode(&[1]), None);
    }
}
