//! A bus on virtual time: the pure [`Master`] against simulated units, every frame taking
//! its wire time at the bus's speed. Nothing sleeps and no port is opened, so the figures
//! are what a real RS-485 line would take with exactly the exchanges the scheduler chose.
//! The benchmark computes its on-the-wire figures with it.
//!
//! The line model: a request takes its bytes' time; the addressed unit answers after its
//! own silence (it must see the request end, [`LineTiming::frame_gap`]), the answer takes
//! its bytes' time, and the master then waits the next unit's silence (the master's own
//! rule). A unit that is not listed, or is told to stay silent, never answers. Units answer
//! without processing time: real units add their own.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use super::codec::{self, Request};
use super::master::{Master, MasterSettings};
use super::sim::SimUnit;
use super::timing::{self, LineTiming};
use super::units::{BusEvent, BusOutputs, UnitSpec};

/// One request on the virtual line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// When its first byte left.
    pub at: Instant,
    /// When its last byte arrived at the unit.
    pub delivered: Instant,
    /// The addressed unit.
    pub unit: u8,
    /// What it asked.
    pub request: Request,
}

/// A master and its units on virtual time. See the module documentation.
pub struct VirtualBus {
    master: Master,
    baud: u32,
    timing: BTreeMap<u8, LineTiming>,
    units: BTreeMap<u8, SimUnit>,
    now: Instant,
}

impl VirtualBus {
    /// A bus of `specs` (their timing decides each unit's silence) played by `units`, the
    /// port open at `start`.
    pub fn new(
        settings: MasterSettings,
        specs: Vec<UnitSpec>,
        units: BTreeMap<u8, SimUnit>,
        start: Instant,
    ) -> Self {
        let baud = settings.baud;
        let timing = specs.iter().map(|s| (s.unit, s.timing)).collect();
        let mut master = Master::new(settings, specs, start);
        master.port_opened(start);
        VirtualBus { master, baud, timing, units, now: start }
    }

    /// Virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// A unit's memory (to press its keys or read its coils).
    pub fn unit_mut(&mut self, unit: u8) -> Option<&mut SimUnit> {
        self.units.get_mut(&unit)
    }

    /// The master (for its health and counters).
    pub fn master(&self) -> &Master {
        &self.master
    }

    /// New desired outputs, as the owner would publish them now.
    pub fn set_desired(&mut self, desired: Arc<BusOutputs>) {
        self.master.set_desired(desired, self.now);
    }

    /// The master's next event.
    pub fn poll_event(&mut self) -> Option<BusEvent> {
        self.master.poll_event()
    }

    /// Moves on by one thing: the next request goes out and is answered (returned), or
    /// time moves to the master's next deadline (`None`), never past `until`.
    pub fn step(&mut self, until: Instant) -> Option<Sent> {
        let transmit =
            self.master.poll_transmit(self.now).map(|t| (t.unit, t.request.clone(), t.frame.len()));
        let Some((unit, request, request_bytes)) = transmit else {
            let next = self.master.poll_timeout().unwrap_or(until).min(until);
            // Nothing to send and no later deadline: the master would spin. That is a bug,
            // and a benchmark must not hide it by moving time on.
            assert!(next > self.now || next == until, "the master would spin at {:?}", self.now);
            self.now = next.max(self.now);
            self.master.handle_timeout(self.now);
            return None;
        };
        let at = self.now;
        let delivered = at + timing::frame_time(request_bytes, self.baud);
        let gap = self.timing.get(&unit).copied().unwrap_or_default().frame_gap(self.baud);
        let answer = self.units.get_mut(&unit).map(|sim| sim.answer(&request));
        match answer {
            Some(response) if unit != codec::BROADCAST => {
                let mut bytes = Vec::new();
                if codec::encode_response(unit, &response, &mut bytes).is_ok() {
                    self.now = delivered + gap + timing::frame_time(bytes.len(), self.baud);
                    self.master.handle_input(&bytes, self.now);
                }
            }
            _ => {
                self.now = self.master.poll_timeout().unwrap_or(delivered).max(delivered);
                self.master.handle_timeout(self.now);
            }
        }
        Some(Sent { at, delivered, unit, request })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::modbus::desk;

    #[test]
    fn each_exchange_takes_its_wire_time_and_each_unit_answers_after_its_own_silence() {
        let baud = 921_600;
        let start = Instant::now();
        let specs = vec![
            UnitSpec { timing: LineTiming::Podium, ..UnitSpec::new(1, desk::layout(false)) },
            UnitSpec::new(2, desk::layout(false)),
        ];
        let units = [(1, SimUnit::desk(false)), (2, SimUnit::desk(false))].into_iter().collect();
        let mut settings = MasterSettings::new("v");
        settings.baud = baud;
        let mut bus = VirtualBus::new(settings, specs, units, start);
        let end = start + Duration::from_millis(5);
        let sent: Vec<Sent> =
            std::iter::from_fn(|| (bus.now() < end).then(|| bus.step(end))).flatten().collect();
        // Unit 1 polled at once; unit 2 after unit 1's answer and the guide's 1.75 ms.
        let (first, second) = (&sent[0], &sent[1]);
        assert_eq!((first.unit, first.at), (1, start));
        assert_eq!(first.delivered, start + timing::frame_time(8, baud));
        let answered = first.delivered + LineTiming::Podium.frame_gap(baud) + timing::frame_time(7, baud);
        assert_eq!((second.unit, second.at), (2, answered + Duration::from_micros(1_750)));
        // Both online, and nothing sent twice in the same instant.
        assert_eq!(bus.master().status(1), Some(crate::modbus::units::UnitStatus::Online));
        assert!(sent.windows(2).all(|w| w[1].at > w[0].at));
    }
}
