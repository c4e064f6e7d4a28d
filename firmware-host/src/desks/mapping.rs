//! The one place where units, inputs and coils meet seats: built once from the room
//! configuration, read by the event translator and the output function.

use std::collections::{BTreeMap, HashMap};

use podium_devices::modbus::bus::{Block, LineTiming, UnitLayout, UnitSpec};
use podium_devices::modbus::desk::{self, DeskKey};
use podium_floor::SeatNo;

use crate::config::{BusConfig, DesksConfig, MemberCredentials, Signal};

/// What an input means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// A member's key at a seat.
    SeatKey {
        /// The seat.
        seat: SeatNo,
        /// The key.
        key: DeskKey,
    },
    /// One of the chair's keys (priority, next, stop).
    ChairKey {
        /// The key.
        key: DeskKey,
        /// For priority: also clear the list.
        clears_requests: bool,
    },
}

/// What a unit is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitRole {
    /// A Podium desk unit at a seat.
    Desk {
        /// The seat.
        seat: SeatNo,
        /// With the chair keys and display rows.
        chair: bool,
    },
    /// A generic I/O module; its coils show these seats' signals.
    Module {
        /// (coil address, seat, signal).
        coils: Vec<(u16, SeatNo, Signal)>,
        /// Seats whose keys are wired to it.
        key_seats: Vec<SeatNo>,
        /// One of the chair's keys (priority, next, stop) is wired to it.
        chair_keys: bool,
    },
}

/// One unit with its layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPlan {
    /// Unit address.
    pub unit: u8,
    /// What the bus driver reads and writes.
    pub layout: UnitLayout,
    /// What it is.
    pub role: UnitRole,
    /// The silence it needs between frames (`[[desk_unit]] line_timing`; modules: the guide's).
    pub timing: LineTiming,
}

impl UnitPlan {
    /// The seats it serves (for health and test actions).
    pub fn seats(&self) -> Vec<SeatNo> {
        let mut seats = match &self.role {
            UnitRole::Desk { seat, .. } => vec![*seat],
            UnitRole::Module { coils, key_seats, .. } => {
                coils.iter().map(|(_, s, _)| *s).chain(key_seats.iter().copied()).collect()
            }
        };
        seats.sort_unstable();
        seats.dedup();
        seats
    }

    /// `desk`, `chair` or `module`.
    pub fn kind(&self) -> &'static str {
        match self.role {
            UnitRole::Desk { chair: true, .. } => "chair",
            UnitRole::Desk { chair: false, .. } => "desk",
            UnitRole::Module { .. } => "module",
        }
    }
}

/// One bus with its units, in configuration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusPlan {
    /// The bus's configuration.
    pub config: BusConfig,
    /// Its units.
    pub units: Vec<UnitPlan>,
}

impl BusPlan {
    /// The driver's view of the units.
    pub fn unit_specs(&self) -> Vec<UnitSpec> {
        self.units
            .iter()
            .map(|u| UnitSpec { unit: u.unit, layout: u.layout.clone(), timing: u.timing })
            .collect()
    }
}

/// The room's desk-unit mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeskMap {
    /// Every bus.
    pub buses: Vec<BusPlan>,
    inputs: HashMap<(String, u8, u16), Binding>,
    /// The members' badges and PINs, for the units' readers.
    pub credentials: MemberCredentials,
}

impl DeskMap {
    /// Builds the mapping from a validated configuration.
    pub fn new(config: &DesksConfig) -> Self {
        let mut inputs = HashMap::new();
        let mut units: BTreeMap<(String, u8), UnitPlan> = BTreeMap::new();
        let mut order: Vec<(String, u8)> = Vec::new();
        for d in &config.desk_units {
            for key in DeskKey::ALL {
                let binding = if key.is_chair_key() {
                    if !d.chair {
                        continue;
                    }
                    Binding::ChairKey { key, clears_requests: d.priority_clears_requests }
                } else {
                    Binding::SeatKey { seat: d.seat, key }
                };
                inputs.insert((d.bus.clone(), d.unit, key.input()), binding);
            }
            let plan = UnitPlan {
                unit: d.unit,
                layout: desk::layout_for(d.chair, d.map_version),
                role: UnitRole::Desk { seat: d.seat, chair: d.chair },
                timing: d.line_timing,
            };
            order.push((d.bus.clone(), d.unit));
            units.insert((d.bus.clone(), d.unit), plan);
        }
        for i in &config.io_inputs {
            let plan = module(&mut units, &mut order, &i.bus, i.unit);
            let span =
                plan.layout.inputs.iter().flat_map(|b| [b.start, b.start + b.count - 1]).chain([i.input]);
            plan.layout.inputs = Block::spanning(span);
            if let UnitRole::Module { key_seats, chair_keys, .. } = &mut plan.role {
                match i.seat {
                    Some(seat) => key_seats.push(seat),
                    None => *chair_keys = true,
                }
            }
            let binding = match i.seat {
                Some(seat) => Binding::SeatKey { seat, key: i.key },
                None => Binding::ChairKey { key: i.key, clears_requests: i.priority_clears_requests },
            };
            inputs.insert((i.bus.clone(), i.unit, i.input), binding);
        }
        for o in &config.io_outputs {
            let plan = module(&mut units, &mut order, &o.bus, o.unit);
            let span =
                plan.layout.coils.iter().flat_map(|b| [b.start, b.start + b.count - 1]).chain([o.coil]);
            plan.layout.coils = Block::spanning(span);
            if let UnitRole::Module { coils, .. } = &mut plan.role {
                coils.push((o.coil, o.seat, o.signal));
            }
        }
        let buses = config
            .buses
            .iter()
            .map(|b| BusPlan {
                config: b.clone(),
                units: order
                    .iter()
                    .filter(|(bus, _)| *bus == b.id)
                    .filter_map(|key| units.get(key).cloned())
                    .collect(),
            })
            .collect();
        DeskMap { buses, inputs, credentials: config.credentials.clone() }
    }

    /// What an input means, if it is mapped.
    pub fn binding(&self, bus: &str, unit: u8, input: u16) -> Option<Binding> {
        self.inputs.get(&(bus.to_owned(), unit, input)).copied()
    }

    /// The seat of the desk unit at an address (where its credentials check in).
    pub fn desk_seat(&self, bus: &str, unit: u8) -> Option<SeatNo> {
        match self.unit(bus, unit)?.role {
            UnitRole::Desk { seat, .. } => Some(seat),
            UnitRole::Module { .. } => None,
        }
    }

    /// The unit at an address.
    pub fn unit(&self, bus: &str, unit: u8) -> Option<&UnitPlan> {
        self.buses.iter().find(|b| b.config.id == bus)?.units.iter().find(|u| u.unit == unit)
    }

    /// Every (bus, unit) that serves `seat`.
    pub fn units_of_seat(&self, seat: SeatNo) -> Vec<(String, u8)> {
        self.buses
            .iter()
            .flat_map(|b| b.units.iter().map(move |u| (b, u)))
            .filter(|(_, u)| u.seats().contains(&seat))
            .map(|(b, u)| (b.config.id.clone(), u.unit))
            .collect()
    }
}

/// The generic module at (bus, unit), created on first mention.
fn module<'m>(
    units: &'m mut BTreeMap<(String, u8), UnitPlan>,
    order: &mut Vec<(String, u8)>,
    bus: &str,
    unit: u8,
) -> &'m mut UnitPlan {
    let key = (bus.to_owned(), unit);
    if !units.contains_key(&key) {
        order.push(key.clone());
    }
    units.entry(key).or_insert_with(|| UnitPlan {
        unit,
        layout: UnitLayout {
            inputs: None,
            coils: None,
            registers: None,
            outputs_reset_input: None,
            credential: None,
        },
        role: UnitRole::Module { coils: Vec::new(), key_seats: Vec::new(), chair_keys: false },
        timing: LineTiming::Modbus,
    })
}
