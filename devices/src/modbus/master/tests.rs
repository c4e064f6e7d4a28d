//! The master's rules on virtual time: no port, no runtime, no sleeps. Time is an
//! `Instant` taken once and moved forward by the test; simulated units answer in-line.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::modbus::codec::{decode_request, encode_response, pack_bits};
use crate::modbus::units::{Block, LineTiming, UnitOutputs};

const MS: Duration = Duration::from_millis(1);

fn settings(baud: u32) -> MasterSettings {
    MasterSettings { baud, ..MasterSettings::new("t") }
}

/// Eight keys (input 7 is the power-up flag), four lamps, two display registers.
fn desk_layout() -> UnitLayout {
    UnitLayout {
        inputs: Some(Block { start: 0, count: 8 }),
        coils: Some(Block { start: 0, count: 4 }),
        registers: Some(Block { start: 10, count: 2 }),
        outputs_reset_input: Some(7),
        credential: None,
    }
}

/// [`desk_layout`] with a credential reader: input 6 says "waiting", registers 40-45.
fn reader_layout() -> UnitLayout {
    UnitLayout {
        credential: Some(crate::modbus::units::CredentialLayout {
            waiting_input: 6,
            registers: Block { start: 40, count: 6 },
        }),
        ..desk_layout()
    }
}

/// A unit as the test sees it: its inputs, and what was written to it.
#[derive(Default, Clone)]
struct FakeUnit {
    inputs: Vec<bool>,
    coils: BTreeMap<u16, bool>,
    registers: BTreeMap<u16, u16>,
    /// The credential registers 40-45; reading them clears input 6.
    credential: Vec<u16>,
    /// Answer the next request, but the answer is lost on the line.
    lose_next_answer: bool,
    /// Answer a read of registers 40-45 with exception 0x02 (no reader).
    refuse_credential: bool,
}

impl FakeUnit {
    fn new() -> Self {
        FakeUnit { inputs: vec![false; 8], ..FakeUnit::default() }
    }

    fn respond(&mut self, request: &Request) -> Response {
        match request {
            Request::ReadDiscreteInputs { quantity, .. } => {
                let mut bits = self.inputs.clone();
                bits.resize(usize::from(*quantity).div_ceil(8) * 8, false);
                Response::ReadDiscreteInputs { bits }
            }
            Request::ReadCoils { quantity, .. } => {
                Response::ReadCoils { bits: vec![false; usize::from(*quantity).div_ceil(8) * 8] }
            }
            Request::ReadHoldingRegisters { address: 40, .. } if self.refuse_credential => {
                Response::Exception {
                    function: request.function(),
                    code: codec::ExceptionCode::ILLEGAL_DATA_ADDRESS,
                }
            }
            Request::ReadHoldingRegisters { address: 40, quantity } if !self.credential.is_empty() => {
                self.inputs[6] = false;
                let mut values = self.credential.clone();
                values.resize(usize::from(*quantity), 0);
                Response::ReadHoldingRegisters { values }
            }
            Request::ReadHoldingRegisters { quantity, .. } => {
                Response::ReadHoldingRegisters { values: vec![0; usize::from(*quantity)] }
            }
            // Any write clears the power-up flag, as the desk firmware does.
            Request::WriteSingleCoil { .. }
            | Request::WriteMultipleCoils { .. }
            | Request::WriteMultipleRegisters { .. }
                if self.inputs[7] =>
            {
                self.inputs[7] = false;
                self.respond(request)
            }
            Request::WriteSingleCoil { address, value } => {
                self.coils.insert(*address, *value);
                Response::WriteSingleCoil { address: *address, value: *value }
            }
            Request::WriteMultipleCoils { address, values } => {
                for (k, v) in values.iter().enumerate() {
                    self.coils.insert(address + k as u16, *v);
                }
                Response::WriteMultipleCoils { address: *address, quantity: values.len() as u16 }
            }
            Request::WriteMultipleRegisters { address, values } => {
                for (k, v) in values.iter().enumerate() {
                    self.registers.insert(address + k as u16, *v);
                }
                Response::WriteMultipleRegisters { address: *address, quantity: values.len() as u16 }
            }
        }
    }
}

/// A master on virtual time with units that answer 1 ms after a request has left.
struct Bus {
    master: Master,
    baud: u32,
    now: Instant,
    units: BTreeMap<u8, FakeUnit>,
    silent: BTreeSet<u8>,
    /// Every request sent: when, to whom, what.
    sent: Vec<(Instant, u8, Request)>,
    events: Vec<BusEvent>,
}

impl Bus {
    fn new(settings: MasterSettings, addresses: &[u8]) -> Bus {
        let specs = addresses.iter().map(|&unit| UnitSpec::new(unit, desk_layout())).collect();
        Bus::with_specs(settings, specs)
    }

    fn with_specs(settings: MasterSettings, specs: Vec<UnitSpec>) -> Bus {
        let now = Instant::now();
        let baud = settings.baud;
        let addresses: Vec<u8> = specs.iter().map(|s: &UnitSpec| s.unit).collect();
        let mut master = Master::new(settings, specs, now);
        master.record_marks(true);
        master.port_opened(now);
        let units = addresses.iter().map(|&a| (a, FakeUnit::new())).collect();
        let mut bus =
            Bus { master, baud, now, units, silent: BTreeSet::new(), sent: Vec::new(), events: Vec::new() };
        bus.collect_events();
        bus
    }

    fn collect_events(&mut self) {
        while let Some(event) = self.master.poll_event() {
            self.events.push(event);
        }
    }

    fn take_events(&mut self) -> Vec<BusEvent> {
        self.collect_events();
        std::mem::take(&mut self.events)
    }

    fn desire(&mut self, outputs: &[(u8, UnitOutputs)]) {
        self.master.set_desired(Arc::new(outputs.iter().cloned().collect()), self.now);
    }

    /// Sends what the master wants now, or moves time to its deadline. A request is
    /// answered by its unit (unless silent) and returned.
    fn step(&mut self) -> Option<(u8, Request)> {
        let sent = self.master.poll_transmit(self.now).map(|t| (t.unit, t.request.clone(), t.frame.to_vec()));
        let Some((unit, request, frame)) = sent else {
            let deadline = self.master.poll_timeout().expect("an open bus always has a deadline");
            assert!(deadline > self.now, "the master would spin: deadline {deadline:?} is not after now");
            self.now = deadline;
            self.master.handle_timeout(self.now);
            self.collect_events();
            return None;
        };
        let decoded = decode_request(&frame).expect("valid frame").expect("whole frame");
        assert_eq!((decoded.adu.unit, &decoded.adu.pdu), (unit, &request), "the frame says what it claims");
        self.sent.push((self.now, unit, request.clone()));
        match self.units.get_mut(&unit) {
            Some(fake) if fake.lose_next_answer => {
                fake.lose_next_answer = false;
                fake.respond(&request);
                self.now = self.master.poll_timeout().expect("a deadline for the answer");
                self.master.handle_timeout(self.now);
            }
            Some(fake) if !self.silent.contains(&unit) => {
                let response = fake.respond(&request);
                let mut bytes = Vec::new();
                encode_response(unit, &response, &mut bytes).expect("encodable");
                self.now += timing::frame_time(frame.len(), self.baud)
                    + MS
                    + timing::frame_time(bytes.len(), self.baud);
                self.master.handle_input(&bytes, self.now);
            }
            _ => {
                self.now = self.master.poll_timeout().expect("a deadline for the answer");
                self.master.handle_timeout(self.now);
            }
        }
        self.collect_events();
        Some((unit, request))
    }

    fn next_request(&mut self) -> (u8, Request) {
        for _ in 0..10_000 {
            if let Some(sent) = self.step() {
                return sent;
            }
        }
        panic!("no request in 10,000 steps");
    }

    fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        while self.now < end {
            self.step();
        }
    }

    fn health(&self, unit: u8) -> UnitHealth {
        self.master.unit_health(|_| 0).into_iter().find(|h| h.unit == unit).expect("unit")
    }
}

fn is_poll(request: &Request) -> bool {
    matches!(request, Request::ReadDiscreteInputs { .. })
}

fn lamps(coils: &[bool]) -> UnitOutputs {
    UnitOutputs { coils: coils.to_vec(), ..UnitOutputs::default() }
}

#[test]
fn units_are_polled_in_order_and_a_cycle_rests_until_min_cycle() {
    let mut bus = Bus::new(settings(115_200), &[1, 2, 3]);
    let start = bus.now;
    let order: Vec<u8> = (0..6).map(|_| bus.next_request().0).collect();
    assert_eq!(order, [1, 2, 3, 1, 2, 3]);
    assert!(bus.sent.iter().all(|(_, _, r)| is_poll(r)), "nothing to write yet");
    // Three exchanges take ~7 ms at 115200; the second cycle waits for the 20 ms minimum.
    assert_eq!(bus.sent[3].0, start + 20 * MS);
    let online: Vec<_> =
        bus.take_events().into_iter().filter(|e| matches!(e, BusEvent::UnitOnline { .. })).collect();
    assert_eq!(online.len(), 3);
    assert_eq!(bus.master.cycles().0, 1);
}

#[test]
fn the_t35_silence_separates_frames_at_9600_and_115200_baud() {
    for baud in [9600, 115_200] {
        let mut bus = Bus::new(settings(baud), &[1, 2]);
        let (answered_at, _) = {
            bus.next_request();
            (bus.now, ())
        };
        // Right after the answer the line must stay quiet for t3.5.
        assert!(bus.master.poll_transmit(bus.now).is_none(), "{baud}: no frame inside t3.5");
        let gap_end = answered_at + timing::frame_gap(baud);
        assert_eq!(bus.master.poll_timeout(), Some(gap_end), "{baud}");
        bus.now = gap_end - Duration::from_micros(1);
        assert!(bus.master.poll_transmit(bus.now).is_none(), "{baud}: 1 µs early");
        bus.now = gap_end;
        let frame_len = bus.master.poll_transmit(bus.now).map(|t| t.frame.len()).expect("due at t3.5");
        // The answer's deadline counts from when the request has left the wire.
        let deadline = gap_end + timing::frame_time(frame_len, baud) + 50 * MS;
        assert_eq!(bus.master.poll_timeout(), Some(deadline), "{baud}");
    }
    // At 9600 baud t3.5 is 3.5 characters (4.01 ms), above 19200 a fixed 1.75 ms.
    assert!(timing::frame_gap(9600) > 4 * MS && timing::frame_gap(115_200) == Duration::from_micros(1750));
}

#[test]
fn a_missing_answer_times_out_and_n_misses_take_a_unit_offline_until_it_answers_again() {
    let mut bus = Bus::new(settings(115_200), &[1, 2]);
    bus.run_for(100 * MS);
    bus.take_events();
    let silent_from = bus.now;
    bus.silent.insert(2);
    let mut offline_at = None;
    while offline_at.is_none() {
        bus.step();
        if bus.take_events().iter().any(|e| matches!(e, BusEvent::UnitOffline { unit: 2, .. })) {
            offline_at = Some(bus.now);
        }
    }
    let two = bus.health(2);
    assert!(two.timeouts >= 3, "{} misses", two.timeouts);
    assert_eq!((two.went_offline, two.status), (1, UnitStatus::Offline));
    assert_eq!(bus.health(1).timeouts, 0);
    // Three misses are not enough on their own: the unit must also have been silent 500 ms
    // since its last answer (which came a few milliseconds before `silent_from`).
    let silent_for = offline_at.expect("offline") - silent_from;
    assert!(silent_for >= 450 * MS && silent_for < 700 * MS, "offline after {silent_for:?}");

    // Offline: unit 1 is polled every cycle, unit 2 only once per offline_retry.
    let before = bus.sent.len();
    bus.run_for(Duration::from_millis(2500));
    let probes: Vec<Instant> =
        bus.sent[before..].iter().filter(|(_, u, _)| *u == 2).map(|(t, ..)| *t).collect();
    assert_eq!(probes.len(), 2, "one probe per second: {probes:?}");
    assert!(probes[1] - probes[0] >= Duration::from_secs(1));
    assert!(bus.sent[before..].iter().filter(|(_, u, _)| *u == 1).count() > 50);
    assert_eq!(bus.health(2).went_offline, 1, "told once");

    bus.silent.clear();
    bus.run_for(Duration::from_millis(1100));
    assert!(bus.take_events().contains(&BusEvent::UnitOnline { bus: "t".into(), unit: 2 }));
    assert_eq!(bus.master.status(2), Some(UnitStatus::Online));
}

#[test]
fn a_changed_lamp_is_written_before_the_next_poll_and_only_what_differs() {
    let mut bus = Bus::new(settings(115_200), &[1, 2]);
    bus.run_for(50 * MS);
    bus.desire(&[(2, lamps(&[true, false, true, false]))]);
    // Everything unknown is written first, before the next poll: the coils, the registers.
    assert_eq!(
        bus.next_request(),
        (2, Request::WriteMultipleCoils { address: 0, values: vec![true, false, true, false] })
    );
    assert_eq!(bus.next_request(), (2, Request::WriteMultipleRegisters { address: 10, values: vec![0, 0] }));
    assert!(is_poll(&bus.next_request().1));
    bus.run_for(100 * MS);
    let writes = bus.health(2).writes;
    assert_eq!(writes, 2);

    // One lamp changes: exactly that coil, before any further poll.
    bus.desire(&[(2, lamps(&[true, true, true, false]))]);
    assert_eq!(bus.next_request(), (2, Request::WriteSingleCoil { address: 1, value: true }));
    bus.run_for(200 * MS);
    assert_eq!(bus.health(2).writes, writes + 1, "nothing else rewritten");
    assert!(bus.sent.iter().all(|(_, u, r)| *u == 2 || is_poll(r)), "unit 1 has no desired outputs");
    assert_eq!(bus.units[&2].coils.get(&1), Some(&true));
}

#[test]
fn confirmed_outputs_are_forgotten_when_a_unit_goes_offline_and_rewritten_when_back() {
    let mut bus = Bus::new(settings(115_200), &[1]);
    bus.desire(&[(1, lamps(&[true, true, false, false]))]);
    bus.run_for(100 * MS);
    let writes = bus.health(1).writes;
    bus.silent.insert(1);
    bus.run_for(600 * MS); // three misses and 500 ms of silence
    assert_eq!(bus.master.status(1), Some(UnitStatus::Offline));
    // The unit lost power meanwhile.
    bus.units.insert(1, FakeUnit::new());
    bus.silent.clear();
    bus.run_for(Duration::from_millis(1200));
    assert_eq!(bus.master.status(1), Some(UnitStatus::Online));
    assert_eq!(bus.health(1).writes, writes * 2, "every output written again");
    assert_eq!(bus.units[&1].coils.get(&0), Some(&true));
}

#[test]
fn the_power_up_flag_makes_every_output_written_again() {
    let mut bus = Bus::new(settings(115_200), &[1]);
    bus.desire(&[(1, lamps(&[true, false, false, false]))]);
    bus.run_for(100 * MS);
    let writes = bus.health(1).writes;
    // The unit restarted between two polls: its lamps are dark and its flag is up.
    bus.units.insert(1, FakeUnit::new());
    bus.units.get_mut(&1).expect("unit").inputs[7] = true;
    bus.run_for(30 * MS);
    assert_eq!(bus.health(1).writes, writes * 2);
    assert_eq!(bus.health(1).went_offline, 0);
    assert_eq!(bus.units[&1].coils.get(&0), Some(&true));
    assert!(
        !bus.take_events().iter().any(|e| matches!(e, BusEvent::Input { input: 7, .. })),
        "the flag is no key"
    );
}

#[test]
fn periodic_rewrites_come_every_resync_period_each_unit_in_its_own_phase() {
    let mut s = settings(115_200);
    s.resync = Duration::from_secs(1);
    let mut bus = Bus::new(s, &[1, 2]);
    let start = bus.now;
    bus.desire(&[(1, lamps(&[true; 4])), (2, lamps(&[true; 4]))]);
    bus.run_for(Duration::from_millis(2300));
    let writes_to = |unit: u8| -> Vec<Duration> {
        bus.sent.iter().filter(|(_, u, r)| *u == unit && !is_poll(r)).map(|(t, ..)| *t - start).collect()
    };
    let (one, two) = (writes_to(1), writes_to(2));
    // Each rewrite is the coil run and the registers (two writes).
    assert_eq!(one.len(), 6, "{one:?}");
    assert_eq!(two.len(), 6, "{two:?}");
    // Unit 1 (first) is rewritten a full period after its first write; unit 2 half a
    // period earlier, as its phase puts it.
    assert!(one[2] >= Duration::from_millis(1000) && one[2] < Duration::from_millis(1030), "{one:?}");
    assert!(two[2] >= Duration::from_millis(500) && two[2] < Duration::from_millis(530), "{two:?}");
    assert!(two[4] - two[2] >= Duration::from_millis(1000) && two[4] - two[2] < Duration::from_millis(1030));
}

#[test]
fn garbled_and_foreign_replies_are_counted_drained_and_never_panic() {
    let mut bus = Bus::new(settings(115_200), &[1, 2]);
    bus.run_for(50 * MS);
    let transmitted = loop {
        if let Some(t) = bus.master.poll_transmit(bus.now) {
            break (t.unit, t.frame.len());
        }
        bus.now = bus.master.poll_timeout().expect("deadline");
        bus.master.handle_timeout(bus.now);
    };
    let unit = transmitted.0;
    // An answer with a broken CRC.
    let mut reply = Vec::new();
    encode_response(unit, &Response::ReadDiscreteInputs { bits: vec![false; 8] }, &mut reply)
        .expect("encode");
    let last = reply.len() - 1;
    reply[last] ^= 0xFF;
    bus.now += 2 * MS;
    bus.master.handle_input(&reply, bus.now);
    assert_eq!(bus.health(unit).crc_errors, 1);
    // Draining: trailing noise extends the quiet wait; nothing is sent meanwhile.
    bus.now += MS;
    bus.master.handle_input(&[0x55, 0xAA], bus.now);
    assert!(bus.master.poll_transmit(bus.now).is_none());
    let quiet_end = bus.master.poll_timeout().expect("drain deadline");
    assert_eq!(quiet_end, bus.now + 2 * MS, "quiet for max(t3.5, 2 ms) after the last byte");
    bus.now = quiet_end;
    bus.master.handle_timeout(bus.now);
    assert_eq!(bus.master.poll_timeout(), Some(quiet_end + timing::frame_gap(115_200)), "then t3.5");

    // A valid frame from the wrong unit answers nothing.
    bus.next_request();
    let (unit, _) = loop {
        if let Some(t) = bus.master.poll_transmit(bus.now) {
            break (t.unit, ());
        }
        bus.now = bus.master.poll_timeout().expect("deadline");
        bus.master.handle_timeout(bus.now);
    };
    let misses = bus.health(unit).consecutive_misses;
    let mut foreign = Vec::new();
    encode_response(99, &Response::ReadDiscreteInputs { bits: vec![false; 8] }, &mut foreign)
        .expect("encode");
    bus.now += 2 * MS;
    bus.master.handle_input(&foreign, bus.now);
    assert_eq!(bus.health(unit).unexpected, 1);
    assert_eq!(bus.health(unit).consecutive_misses, misses + 1);

    // Arbitrary bytes at any moment: counted or dropped, never a panic, never a spin.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..2_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 12) as usize;
        let noise: Vec<u8> = (0..len).map(|k| (seed >> (k * 5)) as u8).collect();
        if bus.master.poll_transmit(bus.now).is_none() {
            bus.now = bus.master.poll_timeout().expect("deadline").max(bus.now + Duration::from_micros(1));
            bus.master.handle_timeout(bus.now);
        }
        bus.now += Duration::from_micros(seed % 700);
        bus.master.handle_input(&noise, bus.now);
    }
    let _ = bus.take_events();
}

#[test]
fn key_edges_are_reported_at_once_and_bounce_is_ignored() {
    let mut bus = Bus::new(settings(115_200), &[1]);
    bus.run_for(50 * MS);
    bus.take_events();
    let key = |bus: &mut Bus, on: bool| bus.units.get_mut(&1).expect("unit").inputs[2] = on;
    key(&mut bus, true);
    bus.run_for(21 * MS);
    key(&mut bus, false); // bounce inside the 30 ms hold-off
    bus.run_for(5 * MS);
    key(&mut bus, true);
    bus.run_for(60 * MS);
    let inputs: Vec<_> =
        bus.take_events().into_iter().filter(|e| matches!(e, BusEvent::Input { .. })).collect();
    assert_eq!(inputs, [BusEvent::Input { bus: "t".into(), unit: 1, input: 2, pressed: true }]);
    key(&mut bus, false);
    bus.run_for(30 * MS);
    let inputs: Vec<_> =
        bus.take_events().into_iter().filter(|e| matches!(e, BusEvent::Input { .. })).collect();
    assert_eq!(inputs, [BusEvent::Input { bus: "t".into(), unit: 1, input: 2, pressed: false }]);
}

#[test]
fn a_lost_port_takes_every_unit_offline_once_and_reopening_starts_over() {
    let mut bus = Bus::new(settings(115_200), &[1, 2]);
    bus.desire(&[(1, lamps(&[true; 4]))]);
    bus.run_for(50 * MS);
    bus.take_events();
    bus.master.port_lost(bus.now);
    bus.master.open_failed(bus.now);
    let events = bus.take_events();
    assert_eq!(events.iter().filter(|e| matches!(e, BusEvent::UnitOffline { .. })).count(), 2, "{events:?}");
    assert!(events.contains(&BusEvent::Link { bus: "t".into(), connected: false }));
    assert_eq!(bus.master.poll_timeout(), None, "a closed port has no deadline");
    bus.master.port_opened(bus.now);
    bus.run_for(50 * MS);
    assert_eq!(bus.health(1).writes, 4, "written again after reopening");
}

#[test]
fn marks_time_a_key_edge_to_the_write_that_answers_it() {
    let mut bus = Bus::new(settings(115_200), &[1]);
    bus.run_for(50 * MS);
    bus.units.get_mut(&1).expect("unit").inputs[0] = true;
    let mut edge_at = None;
    while edge_at.is_none() {
        bus.step();
        while let Some(mark) = bus.master.poll_mark() {
            if let Mark::KeyEdgeSeen { unit: 1, at } = mark {
                edge_at = Some(at);
            }
        }
    }
    // The driver ends its turn (the cycle rests, nothing to send); the owner answers the
    // key by lighting a lamp.
    assert!(bus.master.poll_transmit(bus.now).is_none());
    bus.desire(&[(1, lamps(&[true]))]);
    bus.run_for(20 * MS);
    let marks: Vec<Mark> = std::iter::from_fn(|| bus.master.poll_mark()).collect();
    let transmitted = marks.iter().find_map(|m| match m {
        Mark::Transmitted { unit: 1, poll: false, at, .. } => Some(*at),
        _ => None,
    });
    let key_to_write = marks.iter().find_map(|m| match m {
        Mark::KeyToWrite { unit: 1, total, processing } => Some((*total, *processing)),
        _ => None,
    });
    let (total, processing) = key_to_write.expect("key → write mark");
    let edge_at = edge_at.expect("edge");
    assert!(transmitted.expect("write transmitted") >= edge_at + timing::frame_gap(115_200));
    assert!(total > timing::frame_gap(115_200) && total < 10 * MS, "{total:?}");
    // Virtual time stands still inside a turn: all of the edge → write path is waits.
    assert_eq!(processing, Duration::ZERO);
}

#[test]
fn helpers_find_runs_blocks_and_fit() {
    let want = [true, false, true, false];
    assert_eq!(differing(&want, &[Some(true), Some(false), Some(true), Some(false)], 100), None);
    assert_eq!(differing(&want, &[Some(true), Some(true), Some(true), Some(true)], 100), Some((1, 4)));
    assert_eq!(differing(&want, &[Some(true), None, Some(true), Some(false)], 100), Some((1, 2)));
    assert_eq!(differing(&want, &[None, None, None, None], 2), Some((0, 2)));
    assert_eq!(Block::spanning([5, 3, 9]), Some(Block { start: 3, count: 7 }));
    assert_eq!(Block::spanning(std::iter::empty()), None);
    assert!(Block { start: 3, count: 7 }.contains(9));
    assert!(!Block { start: 3, count: 7 }.contains(10));
    assert_eq!(fit(&[1u16, 2], 4, 0), vec![1, 2, 0, 0]);
    assert_eq!(fit(&[true, true, true], 2, false), vec![true, true]);
    let _ = pack_bits(&[true]);
}

fn reader_bus(addresses: &[u8]) -> Bus {
    let mut bus = Bus::new(settings(115_200), &[]);
    let specs = addresses.iter().map(|&unit| UnitSpec::new(unit, reader_layout())).collect();
    bus.master = Master::new(settings(115_200), specs, bus.now);
    bus.master.port_opened(bus.now);
    bus.master.record_heard(true);
    bus.units = addresses.iter().map(|&a| (a, FakeUnit::new())).collect();
    bus.take_events();
    bus
}

fn credentials(events: &[BusEvent]) -> Vec<(u8, Credential)> {
    events
        .iter()
        .filter_map(|e| match e {
            BusEvent::Credential { unit, credential, .. } => Some((*unit, credential.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_waiting_credential_is_read_once_before_the_units_next_poll() {
    let mut bus = reader_bus(&[1, 2]);
    bus.run_for(100 * MS);
    bus.take_events();
    let badge = Credential {
        sequence: 1,
        kind: crate::modbus::units::CredentialKind::Badge,
        id: vec![0x04, 0xA1, 0xB2],
    };
    let fake = bus.units.get_mut(&1).expect("unit 1");
    fake.credential = badge.encode();
    fake.inputs[6] = true;
    // Up to unit 1's next poll, then the read comes at once: before unit 2's poll.
    loop {
        let (unit, request) = bus.next_request();
        if unit == 1 && is_poll(&request) {
            break;
        }
    }
    let (unit, request) = bus.next_request();
    assert_eq!((unit, request), (1, Request::ReadHoldingRegisters { address: 40, quantity: 6 }));
    let events = bus.take_events();
    assert_eq!(credentials(&events), vec![(1, badge)]);
    assert!(
        !events.iter().any(|e| matches!(e, BusEvent::Input { input: 6, .. })),
        "the waiting flag is no key: {events:?}"
    );
    // Read once: the flag is clear now, so no further reads.
    let reads_before = bus.sent.len();
    bus.run_for(200 * MS);
    assert!(bus.sent[reads_before..].iter().all(|(_, _, r)| is_poll(r)), "only polls after the read");
    assert!(credentials(&bus.take_events()).is_empty());
}

#[test]
fn a_credential_read_whose_answer_is_lost_is_repeated_and_reported_once() {
    let mut bus = reader_bus(&[1]);
    bus.run_for(100 * MS);
    bus.take_events();
    let pin =
        Credential { sequence: 5, kind: crate::modbus::units::CredentialKind::Pin, id: b"4711".to_vec() };
    let fake = bus.units.get_mut(&1).expect("unit 1");
    fake.credential = pin.encode();
    fake.inputs[6] = true;
    loop {
        let (_, request) = bus.next_request();
        if is_poll(&request) {
            break;
        }
    }
    // The unit answers the read (and clears its flag) but the answer never arrives.
    bus.units.get_mut(&1).expect("unit 1").lose_next_answer = true;
    let (_, first) = bus.next_request();
    assert!(matches!(first, Request::ReadHoldingRegisters { address: 40, .. }));
    assert!(credentials(&bus.take_events()).is_empty());
    let (_, again) = bus.next_request();
    assert_eq!(again, first, "read again before the next poll");
    assert_eq!(credentials(&bus.take_events()), vec![(1, pin.clone())]);
    // The protocol monitor never gets the answer's bytes: they hold the PIN.
    let heard: Vec<Heard> = std::iter::from_fn(|| bus.master.poll_heard()).collect();
    assert!(heard.contains(&Heard::Credential { unit: 1 }), "{heard:?}");
    assert!(
        !heard
            .iter()
            .any(|h| matches!(h, Heard::Frame { response: Response::ReadHoldingRegisters { .. }, .. })),
        "{heard:?}"
    );
    // The same sequence number offered again (e.g. the unit re-flags it) is not reported twice.
    let fake = bus.units.get_mut(&1).expect("unit 1");
    fake.inputs[6] = true;
    bus.run_for(100 * MS);
    assert!(credentials(&bus.take_events()).is_empty());
    assert_eq!(bus.health(1).timeouts, 1);
}

#[test]
fn a_unit_without_a_reader_is_never_asked_for_a_credential() {
    let mut bus = Bus::new(settings(115_200), &[1]);
    bus.run_for(100 * MS);
    bus.units.get_mut(&1).expect("unit 1").inputs[6] = true;
    bus.run_for(200 * MS);
    assert!(bus.sent.iter().all(|(_, _, r)| !matches!(r, Request::ReadHoldingRegisters { .. })));
    let events = bus.take_events();
    assert!(
        events.iter().any(|e| matches!(e, BusEvent::Input { input: 6, pressed: true, .. })),
        "an ordinary key"
    );
}

#[test]
fn a_unit_that_refuses_the_credential_read_is_not_asked_every_cycle() {
    let mut bus = reader_bus(&[1]);
    bus.run_for(100 * MS);
    // Flags a credential (the flag sticks) but has no registers 40-45.
    let fake = bus.units.get_mut(&1).expect("unit 1");
    fake.inputs[6] = true;
    fake.refuse_credential = true;
    bus.run_for(300 * MS);
    let reads = bus.sent.iter().filter(|(_, _, r)| matches!(r, Request::ReadHoldingRegisters { .. })).count();
    assert_eq!(reads, 1, "asked once, then left alone");
    assert_eq!(bus.health(1).exceptions, 1);
    assert_eq!(bus.master.status(1), Some(UnitStatus::Online), "an exception is an answer");
}

// --- line timing per unit and priority polls ---------------------------------------------

/// Desired outputs that only mark `priority` units (no lamps on).
fn priority_only(addresses: &[u8], priority: &[u8]) -> Vec<(u8, UnitOutputs)> {
    addresses
        .iter()
        .map(|&a| {
            (a, UnitOutputs { coils: vec![false; 4], registers: vec![0; 2], priority: priority.contains(&a) })
        })
        .collect()
}

/// Runs until every desired output is confirmed, then forgets what was sent.
fn settle(bus: &mut Bus) {
    bus.run_for(200 * MS);
    bus.sent.clear();
}

/// The polls sent, in order, as unit addresses.
fn polled(bus: &Bus) -> Vec<u8> {
    bus.sent.iter().filter(|(_, _, r)| is_poll(r)).map(|(_, u, _)| *u).collect()
}

#[test]
fn each_unit_gets_its_own_silence_podium_units_three_and_a_half_characters() {
    let baud = 921_600;
    let specs = vec![
        UnitSpec { timing: LineTiming::Podium, ..UnitSpec::new(1, desk_layout()) },
        UnitSpec::new(2, desk_layout()),
    ];
    let mut bus = Bus::with_specs(settings(baud), specs);
    // Unit 1 (Podium timing) first: after its answer, unit 2 (guide timing) waits 1.75 ms.
    assert_eq!(bus.next_request().0, 1);
    let answered = bus.now;
    assert!(bus.master.poll_transmit(bus.now).is_none());
    assert_eq!(bus.master.poll_timeout(), Some(answered + Duration::from_micros(1_750)));
    bus.now = answered + Duration::from_micros(1_750) - Duration::from_nanos(1);
    assert!(bus.master.poll_transmit(bus.now).is_none(), "1 ns early");
    bus.now += Duration::from_nanos(1);
    assert_eq!(bus.next_request().0, 2);
    assert_eq!(bus.sent[1].0, answered + Duration::from_micros(1_750));
    // Without a rest (a long cycle) the Podium unit's own silence is all it waits.
    let mut busy = settings(baud);
    busy.min_cycle = Duration::ZERO;
    let specs = vec![UnitSpec { timing: LineTiming::Podium, ..UnitSpec::new(1, desk_layout()) }];
    let mut bus = Bus::with_specs(busy, specs);
    bus.next_request();
    let answered = bus.now;
    let gap = LineTiming::Podium.frame_gap(baud);
    assert_eq!(gap, Duration::from_nanos(41_772));
    assert!(bus.master.poll_transmit(answered + gap - Duration::from_nanos(1)).is_none(), "1 ns early");
    assert_eq!(bus.master.poll_transmit(answered + gap).map(|t| t.unit), Some(1));
}

#[test]
fn priority_units_are_polled_between_the_rounds_polls_and_the_round_skips_them() {
    let addresses: Vec<u8> = (1..=12).collect();
    let mut settings = settings(115_200);
    settings.min_cycle = Duration::ZERO;
    settings.priority_every = 3;
    let mut bus = Bus::new(settings, &addresses);
    bus.desire(&priority_only(&addresses, &[5]));
    settle(&mut bus);
    bus.run_for(2_000 * MS);
    let polls = polled(&bus);
    let of = |u: u8| polls.iter().filter(|&&p| p == u).count();
    // Every third poll of the round is followed by a poll of unit 5: the 11 other units
    // share 3/4 of the polls, unit 5 gets 1/4 (and is skipped by the round).
    let (priority, others) = (of(5), (1..=12).filter(|&u| u != 5).map(of).collect::<Vec<_>>());
    let (least, most) = (*others.iter().min().unwrap(), *others.iter().max().unwrap());
    assert!(most - least <= 1, "the round polls the others evenly: {others:?}");
    assert!(priority >= 3 * least, "unit 5 polled {priority} times, the others {least}-{most}");
    // Never two priority polls in a row, and never more than three round polls between them.
    for window in polls.windows(2) {
        assert!(!(window[0] == 5 && window[1] == 5), "two priority polls in a row");
    }
    let gaps: Vec<usize> = polls.split(|&u| u == 5).skip(1).map(<[u8]>::len).collect();
    assert!(gaps.iter().rev().skip(1).all(|&g| g == 3), "three round polls between priority polls: {gaps:?}");
}

#[test]
fn no_unit_waits_longer_than_the_stated_bound_whatever_is_marked() {
    // Eleven of twelve units marked: the one left still gets a poll at least once every
    // n × (1 + 1/priority_every) polls (12 + 12/every, rounded up).
    let addresses: Vec<u8> = (1..=12).collect();
    for every in [1, 2, 3, 5] {
        let mut settings = settings(115_200);
        settings.min_cycle = Duration::ZERO;
        settings.priority_every = every;
        let mut bus = Bus::new(settings, &addresses);
        let marked: Vec<u8> = (2..=12).collect();
        bus.desire(&priority_only(&addresses, &marked));
        settle(&mut bus);
        bus.run_for(3_000 * MS);
        let polls = polled(&bus);
        let bound = 12 + 12usize.div_ceil(every as usize);
        let positions: Vec<usize> =
            polls.iter().enumerate().filter(|(_, u)| **u == 1).map(|(i, _)| i).collect();
        assert!(positions.len() > 10, "every {every}: unit 1 polled {} times", positions.len());
        for pair in positions.windows(2) {
            assert!(
                pair[1] - pair[0] <= bound,
                "every {every}: unit 1 waited {} polls (bound {bound})",
                pair[1] - pair[0]
            );
        }
        for unit in 2..=12u8 {
            assert!(polls.contains(&unit), "every {every}: unit {unit} never polled");
        }
    }
}

#[test]
fn during_the_rest_priority_units_are_polled_no_more_often_than_their_interval() {
    let addresses: Vec<u8> = (1..=4).collect();
    let mut bus = Bus::new(settings(921_600), &addresses);
    bus.desire(&priority_only(&addresses, &[3]));
    settle(&mut bus);
    bus.run_for(1_000 * MS);
    let times: Vec<Instant> =
        bus.sent.iter().filter(|(_, u, r)| *u == 3 && is_poll(r)).map(|(at, _, _)| *at).collect();
    let rounds = bus.sent.iter().filter(|(_, u, r)| *u == 1 && is_poll(r)).count();
    // Rounds come every 20 ms (min_cycle); unit 3 every 5 ms (priority_interval) between them.
    assert!((45..=55).contains(&rounds), "{rounds} rounds in 1 s");
    assert!(times.len() >= 3 * rounds, "unit 3 polled {} times in {rounds} rounds", times.len());
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 5 * MS, "unit 3 polled again after {:?}", pair[1] - pair[0]);
    }
}

#[test]
fn without_priority_polls_the_round_is_plain_round_robin() {
    let addresses: Vec<u8> = (1..=6).collect();
    let mut settings = settings(115_200);
    settings.priority_every = 0;
    settings.min_cycle = Duration::ZERO;
    let mut bus = Bus::new(settings, &addresses);
    bus.desire(&priority_only(&addresses, &[2, 4]));
    settle(&mut bus);
    bus.run_for(500 * MS);
    let polls = polled(&bus);
    let first = polls[0];
    let expected: Vec<u8> = (0..polls.len()).map(|i| (first - 1 + i as u8 % 6) % 6 + 1).collect();
    assert_eq!(polls, expected);
}

#[test]
fn a_key_on_a_priority_unit_is_seen_sooner_than_a_round_takes() {
    // 32 units at 115200 (guide timing): a round takes ~170 ms; the chair's unit, marked,
    // is polled every 3 exchanges (~15 ms, the default priority_every = 2), so its key is
    // seen within that.
    let addresses: Vec<u8> = (1..=32).collect();
    let mut settings = settings(115_200);
    settings.debounce = Duration::ZERO;
    let mut bus = Bus::new(settings, &addresses);
    bus.desire(&priority_only(&addresses, &[1]));
    settle(&mut bus);
    bus.run_for(300 * MS);
    bus.units.get_mut(&1).unwrap().inputs[0] = true;
    let pressed = bus.now;
    bus.take_events();
    let seen = loop {
        bus.step();
        if bus.take_events().iter().any(|e| matches!(e, BusEvent::Input { unit: 1, pressed: true, .. })) {
            break bus.now;
        }
        assert!(bus.now - pressed < Duration::from_secs(1), "never seen");
    };
    let exchange = timing::exchange_time(8, 7, 115_200) + MS;
    assert!(seen - pressed <= exchange * 5, "seen after {:?} (exchange {exchange:?})", seen - pressed);
}

#[test]
fn a_short_glitch_on_a_priority_unit_does_not_take_it_offline() {
    // Priority polls miss three times within a few tens of milliseconds; the unit stays
    // online (no second-long wait for its next probe) until it has been silent 500 ms.
    let addresses: Vec<u8> = (1..=4).collect();
    let mut bus = Bus::new(settings(921_600), &addresses);
    bus.desire(&priority_only(&addresses, &[1]));
    settle(&mut bus);
    bus.take_events();
    bus.silent.insert(1);
    bus.run_for(200 * MS);
    assert!(bus.health(1).consecutive_misses >= 3, "{} misses", bus.health(1).consecutive_misses);
    assert_eq!(bus.master.status(1), Some(UnitStatus::Online));
    bus.silent.clear();
    bus.run_for(50 * MS);
    assert_eq!(bus.health(1).consecutive_misses, 0);
    assert!(!bus.take_events().iter().any(|e| matches!(e, BusEvent::UnitOffline { .. })));
    // A unit that stays silent goes offline once 500 ms have passed.
    bus.silent.insert(1);
    bus.run_for(700 * MS);
    assert_eq!(bus.master.status(1), Some(UnitStatus::Offline));
}
