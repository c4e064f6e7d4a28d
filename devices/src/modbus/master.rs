//! The Modbus RTU master as a pure state machine (sans-IO, in the style of quinn-proto).
//!
//! [`Master`] owns every rule of a bus: which unit to poll next, which outputs to write
//! before the next poll (desired against confirmed), when a unit counts as online or
//! offline, when confirmed outputs are forgotten (offline, power-up flag, the periodic
//! rewrite with its per-unit phase), the t3.5 silence between frames, the response
//! deadline (with the request's wire time added, because serial ports are not flushed)
//! and key debouncing. It reads no clock and does no I/O: the driver (`bus.rs`) feeds it
//! received bytes, the desired outputs and `now`, writes what [`Master::poll_transmit`]
//! returns, and sleeps until [`Master::poll_timeout`].
//!
//! Scheduling, per cycle (a *round*): pending output writes go first (a changed lamp does
//! not wait for the whole round), then every unit that is online (or not yet known) is
//! polled once, plus at most one offline unit whose retry is due, so dead units cannot
//! stretch the cycle by more than one timeout. A cycle lasts at least `min_cycle`, so a
//! fast link (a pseudo-terminal) is not polled in a busy loop.
//!
//! **Priority polls.** Units whose keys matter most now (the owner marks them in the
//! desired outputs: the chair's unit, a waiting request, an open microphone) are polled
//! between the round's polls as well: after every `priority_every` polls of the round, the
//! priority unit polled longest ago, if its last poll is at least `priority_interval` old;
//! during the cycle's rest too. A priority unit already polled in the current round is
//! skipped by the round. **Bound:** a round of `n` polls carries at most
//! `n / priority_every` priority polls, so no unit waits longer than
//! `n × (1 + 1/priority_every)` exchanges between two polls (plus the writes, credential
//! reads and the offline probe that also precede polls, and the rest up to `min_cycle`).
//!
//! **Line timing per unit.** The silence before a request is the addressed unit's
//! ([`LineTiming`](super::timing::LineTiming)): 1.75 ms above 19200 baud for units following the serial line guide,
//! 3.5 characters for Podium units in high-speed mode. A guide-timed unit on a mixed bus
//! may take a run of fast exchanges for one garbled frame; it drops it (the address is not
//! its own, or the CRC fails) and is itself only addressed after its own t3.5.
//!
//! **Driver contract:** each turn (after a wake-up) ends with a call to
//! [`Master::poll_transmit`] with a fresh `now`; the time between the first call of a turn
//! and that one is Podium's processing, which the [`Mark`]s of the benchmark report.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::codec::{self, MAX_ADU_LEN, Request, Response, limits};
use super::debounce::EdgeDebouncer;
use super::timing;
use super::units::{BusEvent, BusOutputs, Credential, UnitHealth, UnitLayout, UnitSpec, UnitStatus};

/// The rules' parameters (the part of `BusSettings` that is not about the port).
#[derive(Debug, Clone)]
pub struct MasterSettings {
    /// Bus id, named in events.
    pub bus: Arc<str>,
    /// Line speed, for the inter-frame silence and the time a request takes to send.
    pub baud: u32,
    /// How long to wait for an answer after the request has left.
    pub response_timeout: Duration,
    /// Consecutive missed answers after which a unit counts as offline, provided it has
    /// also been silent for `offline_after_silence` (a unit never heard needs only the misses).
    pub offline_after_misses: u32,
    /// The least silence before a unit that answered once counts as offline: priority polls
    /// come every few milliseconds, and a glitch of that length must not cost a chair's
    /// unit the second until its next probe.
    pub offline_after_silence: Duration,
    /// How often an offline unit is tried again.
    pub offline_retry: Duration,
    /// Shortest cycle: the rest of it is idle (writes still go out at once).
    pub min_cycle: Duration,
    /// Key debounce hold-off.
    pub debounce: Duration,
    /// Every output is written again at least this often, whatever the unit confirmed.
    pub resync: Duration,
    /// One priority poll after every this many polls of the round (0: no priority polls).
    pub priority_every: u32,
    /// Shortest time between two polls of one priority unit.
    pub priority_interval: Duration,
}

impl MasterSettings {
    /// Defaults for a desk-unit bus: 115200 baud, 50 ms timeout, offline after 3 misses and 500 ms,
    /// retried every second, cycles of at least 20 ms, 30 ms debounce, resync every 30 s,
    /// a priority poll after every 2 polls of the round, each priority unit at most every 5 ms.
    pub fn new(bus: &str) -> Self {
        MasterSettings {
            bus: bus.into(),
            baud: 115_200,
            response_timeout: Duration::from_millis(50),
            offline_after_misses: 3,
            offline_after_silence: Duration::from_millis(500),
            offline_retry: Duration::from_secs(1),
            min_cycle: Duration::from_millis(20),
            debounce: Duration::from_millis(30),
            resync: Duration::from_secs(30),
            priority_every: 2,
            priority_interval: Duration::from_millis(5),
        }
    }
}

/// Timestamps the benchmark reads (and tests may check). Only recorded after
/// [`Master::record_marks`]; all times are the `now`s the driver passed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A key edge was decoded from a poll answer.
    KeyEdgeSeen {
        /// Unit address.
        unit: u8,
        /// When its answer was fed in.
        at: Instant,
    },
    /// A request left for the port.
    Transmitted {
        /// Unit address.
        unit: u8,
        /// A poll (else an output write).
        poll: bool,
        /// Frame length.
        bytes: usize,
        /// When.
        at: Instant,
    },
    /// One request/answer exchange ended.
    Exchange {
        /// Unit address.
        unit: u8,
        /// A poll (else an output write).
        poll: bool,
        /// Request frame length.
        request_bytes: usize,
        /// Response frame length (0 without a valid answer).
        response_bytes: usize,
        /// Podium's processing on it (the driver's turns), waits excluded.
        processing: Duration,
        /// From being ready to send (before the t3.5 wait) to the end of the answer's turn.
        total: Duration,
    },
    /// The unit confirmed the first output write after a key edge on it.
    KeyToWrite {
        /// Unit address.
        unit: u8,
        /// Podium's processing from the edge to the confirmation, waits excluded.
        processing: Duration,
        /// The whole time.
        total: Duration,
    },
    /// A poll cycle ended.
    CycleCompleted {
        /// Its length.
        length: Duration,
    },
}

/// A frame for the port, borrowed from the master until the next call.
#[derive(Debug)]
pub struct Transmit<'a> {
    /// The RTU frame.
    pub frame: &'a [u8],
    /// The unit it addresses.
    pub unit: u8,
    /// What it asks.
    pub request: &'a Request,
}

/// What became of bytes received while an answer was awaited (for the protocol monitor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A valid frame (answering the request or not).
    Frame {
        /// Its bytes.
        bytes: Vec<u8>,
        /// The unit address it carries.
        unit: u8,
        /// What it says.
        response: Response,
    },
    /// The answer to a credential read: its bytes are never kept (they may hold a PIN).
    Credential {
        /// The unit address.
        unit: u8,
    },
    /// Bytes that are no frame (CRC or framing error).
    Garbled(Vec<u8>),
    /// Part of an answer, then silence until the deadline.
    Incomplete(Vec<u8>),
}

/// How an exchange ended.
#[derive(Debug)]
enum Outcome {
    Answer(Response, usize),
    Exception(codec::ExceptionCode),
    Timeout,
    Garbled,
    Unexpected,
}

/// Outputs as last confirmed by the unit: `None` = unknown, to be written.
#[derive(Debug, Clone, Default)]
struct Confirmed {
    coils: Vec<Option<bool>>,
    registers: Vec<Option<u16>>,
    /// Start of the current periodic-rewrite period (`None`: not yet phased).
    since: Option<Instant>,
}

/// A write in flight, to record on success.
#[derive(Debug, Clone)]
enum PendingWrite {
    Coils { offset: usize, values: Vec<bool> },
    Registers { offset: usize, values: Vec<u16> },
}

#[derive(Debug, Clone)]
enum Purpose {
    Poll,
    Write(PendingWrite),
    /// The read of a waiting credential's registers.
    Credential,
}

/// Writes a unit may get between two polls: a unit needs only a few (coils, register
/// chunks), and one that does not answer must not hold the bus.
const WRITES_BETWEEN_POLLS: u8 = 8;

struct Unit {
    spec: UnitSpec,
    status: UnitStatus,
    /// What the owner was last told (events only on change).
    reported_online: Option<bool>,
    misses: u32,
    next_probe: Instant,
    debouncer: EdgeDebouncer,
    confirmed: Confirmed,
    health: UnitHealth,
    last_seen: Option<Instant>,
    /// Writes left before the next poll (see [`WRITES_BETWEEN_POLLS`]).
    write_budget: u8,
    /// A key edge not yet answered by a confirmed write: its time and the busy total then.
    edge: Option<(Instant, Duration)>,
    /// The last poll showed the credential-waiting input: read the registers before the
    /// unit's next poll.
    credential_due: bool,
    /// Sequence number of the last credential reported (a read repeated after a lost
    /// answer returns the same one; it is reported once).
    last_credential: Option<u16>,
    /// The unit refused a credential read (exception): not asked again until it has been
    /// offline, so a unit that flags without registers is not read (and logged) every cycle.
    credential_refused: bool,
    /// When it was last polled (in the round or as a priority unit).
    last_poll: Option<Instant>,
    /// The owner marked its keys as mattering most now (see the module documentation).
    priority: bool,
}

/// Where the poll cycle stands.
#[derive(Debug, Clone, Copy)]
enum Stage {
    Polling { started: Instant, next_unit: usize, offline_probes: u32, polls: u32 },
    Resting { until: Instant },
}

/// What the line is doing.
#[derive(Debug)]
enum Phase {
    /// The port is closed.
    Closed,
    /// Nothing in flight.
    Idle,
    /// A request is out; its answer is due by `deadline`.
    Awaiting { unit: usize, request: Request, purpose: Purpose, deadline: Instant, flight: Flight },
    /// After a garbled or foreign frame: wait until the line has been quiet.
    Draining { quiet_until: Instant, give_up: Instant },
}

/// Timing of an exchange in flight, for its [`Mark::Exchange`].
#[derive(Debug, Clone, Copy)]
struct Flight {
    started: Instant,
    busy_at_start: Duration,
    request_bytes: usize,
}

/// An ended exchange whose mark waits for the end of the turn that handled it.
#[derive(Debug, Clone, Copy)]
struct Ended {
    unit: u8,
    poll: bool,
    flight: Flight,
    response_bytes: usize,
}

/// The next request, chosen but not yet committed.
struct Choice {
    unit: usize,
    request: Request,
    purpose: Purpose,
    /// A poll of the round (else a priority poll, a write or a credential read).
    in_round: bool,
}

/// The pure master of one bus. See the module documentation.
pub struct Master {
    settings: MasterSettings,
    units: Vec<Unit>,
    desired: Arc<BusOutputs>,
    phase: Phase,
    stage: Stage,
    last_line_activity: Option<Instant>,
    rx: Vec<u8>,
    tx: Vec<u8>,
    events: VecDeque<BusEvent>,
    heard: VecDeque<Heard>,
    record_heard: bool,
    marks: VecDeque<Mark>,
    record_marks: bool,
    cycles: u64,
    last_cycle: Duration,
    last_answer: Option<Instant>,
    health_changed: bool,
    stale_bytes: u64,
    // Processing accounting: the driver's turns, by the `now`s it passes.
    turn_started: Option<Instant>,
    busy_total: Duration,
    /// Ready to send since (time, busy total), while waiting for the t3.5 gap.
    ready_since: Option<(Instant, Duration)>,
    /// When the chosen request may go (the end of its unit's silence), while waiting.
    send_at: Option<Instant>,
    /// Polls of the round since the last priority poll.
    round_polls_since_priority: u32,
    ended: Vec<Ended>,
    key_to_write: Vec<(u8, Instant, Duration)>,
}

impl Master {
    /// A master for `units` (layouts clamped to the protocol limits); the port is closed.
    pub fn new(settings: MasterSettings, units: Vec<UnitSpec>, now: Instant) -> Self {
        let units = units
            .into_iter()
            .map(|mut spec| {
                clamp_layout(&mut spec.layout);
                Unit {
                    health: UnitHealth {
                        unit: spec.unit,
                        status: UnitStatus::Unknown,
                        last_seen_unix_ms: None,
                        requests: 0,
                        timeouts: 0,
                        crc_errors: 0,
                        unexpected: 0,
                        exceptions: 0,
                        writes: 0,
                        went_offline: 0,
                        consecutive_misses: 0,
                    },
                    confirmed: Confirmed::unknown(&spec.layout),
                    spec,
                    status: UnitStatus::Unknown,
                    reported_online: None,
                    misses: 0,
                    next_probe: now,
                    debouncer: EdgeDebouncer::new(settings.debounce),
                    last_seen: None,
                    write_budget: WRITES_BETWEEN_POLLS,
                    edge: None,
                    credential_due: false,
                    last_credential: None,
                    credential_refused: false,
                    last_poll: None,
                    priority: false,
                }
            })
            .collect();
        Master {
            settings,
            units,
            desired: Arc::new(BusOutputs::new()),
            phase: Phase::Closed,
            stage: Stage::Resting { until: now },
            last_line_activity: None,
            rx: Vec::with_capacity(MAX_ADU_LEN),
            tx: Vec::with_capacity(MAX_ADU_LEN),
            events: VecDeque::new(),
            heard: VecDeque::new(),
            record_heard: false,
            marks: VecDeque::new(),
            record_marks: false,
            cycles: 0,
            last_cycle: Duration::ZERO,
            last_answer: None,
            health_changed: true,
            stale_bytes: 0,
            turn_started: None,
            busy_total: Duration::ZERO,
            ready_since: None,
            send_at: None,
            round_polls_since_priority: 0,
            ended: Vec::new(),
            key_to_write: Vec::new(),
        }
    }

    /// Records [`Mark`]s from now on (for the benchmark; off by default).
    pub fn record_marks(&mut self, on: bool) {
        self.record_marks = on;
    }

    /// Records what is heard on the line as [`Heard`] (while the protocol monitor listens).
    pub fn record_heard(&mut self, on: bool) {
        self.record_heard = on;
    }

    /// The port opened: every unit is unknown again and a new cycle starts.
    pub fn port_opened(&mut self, now: Instant) {
        self.begin(now);
        self.phase = Phase::Idle;
        self.last_line_activity = None;
        self.rx.clear();
        self.ready_since = None;
        self.send_at = None;
        for unit in &mut self.units {
            unit.status = UnitStatus::Unknown;
            unit.misses = 0;
            unit.write_budget = WRITES_BETWEEN_POLLS;
        }
        self.stage = Stage::Polling { started: now, next_unit: 0, offline_probes: 0, polls: 0 };
        self.events.push_back(BusEvent::Link { bus: self.settings.bus.clone(), connected: true });
        self.health_changed = true;
    }

    /// The open port failed: every unit is offline.
    pub fn port_lost(&mut self, now: Instant) {
        self.begin(now);
        self.phase = Phase::Closed;
        self.events.push_back(BusEvent::Link { bus: self.settings.bus.clone(), connected: false });
        self.all_offline();
    }

    /// The port could not be opened: every unit is offline (told once).
    pub fn open_failed(&mut self, now: Instant) {
        self.begin(now);
        self.phase = Phase::Closed;
        if self.units.iter().any(|u| u.reported_online != Some(false)) {
            self.all_offline();
        }
        self.health_changed = true;
    }

    /// New desired outputs. A unit whose write went unanswered may be tried again now.
    pub fn set_desired(&mut self, desired: Arc<BusOutputs>, now: Instant) {
        self.begin(now);
        self.desired = desired;
        for unit in &mut self.units {
            unit.write_budget = unit.write_budget.max(1);
            unit.priority = self.desired.get(&unit.spec.unit).is_some_and(|o| o.priority);
        }
    }

    /// Bytes read from the port at `now`.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.begin(now);
        let quiet = self.quiet_period();
        match &mut self.phase {
            Phase::Awaiting { .. } => {
                self.rx.extend_from_slice(bytes);
                self.try_decode(now);
            }
            Phase::Draining { quiet_until, .. } => {
                *quiet_until = now + quiet;
            }
            // Noise or a late answer while nobody asked: never taken for the next answer.
            Phase::Idle | Phase::Closed => self.stale_bytes += bytes.len() as u64,
        }
    }

    /// Lets timers expire: a missing answer, the end of a drain.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.begin(now);
        match &self.phase {
            Phase::Awaiting { deadline, purpose, unit, .. } if now >= *deadline => {
                if self.record_heard && !self.rx.is_empty() {
                    self.heard.push_back(match purpose {
                        Purpose::Credential => Heard::Credential { unit: self.units[*unit].spec.unit },
                        _ => Heard::Incomplete(self.rx.clone()),
                    });
                }
                if let Phase::Awaiting { unit, .. } = &self.phase {
                    let unit = *unit;
                    self.units[unit].health.timeouts += 1;
                }
                self.finish(Outcome::Timeout, now);
            }
            Phase::Draining { quiet_until, give_up } if now >= (*quiet_until).min(*give_up) => {
                self.last_line_activity = Some(now);
                self.phase = Phase::Idle;
            }
            _ => {}
        }
    }

    /// The next frame to write, if one may go now. Ends the driver's turn (see the
    /// module documentation); call it with a fresh `now` after handling the turn's inputs.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit<'_>> {
        self.begin(now);
        if !matches!(self.phase, Phase::Idle) {
            self.end_turn(now);
            return None;
        }
        self.forget_for_periodic_rewrite(now);
        let Some(choice) = self.choose(now) else {
            self.ready_since = None;
            self.send_at = None;
            self.end_turn(now);
            return None;
        };
        if let Some(free) = self.line_free_for(choice.unit)
            && now < free
        {
            self.end_turn(now);
            self.ready_since.get_or_insert((now, self.busy_total));
            self.send_at = Some(free);
            return None;
        }
        let turn_start = self.turn_started.unwrap_or(now);
        let (started, busy_at_start) = self.ready_since.take().unwrap_or((turn_start, self.busy_total));
        self.send_at = None;
        let Choice { unit: i, request, purpose, in_round } = choice;
        self.commit(i, &purpose, in_round, now);
        self.tx.clear();
        let address = self.units[i].spec.unit;
        if let Err(error) = codec::encode_request(address, &request, &mut self.tx) {
            // Layouts are clamped to the protocol limits, so this is a bug, not line noise.
            tracing::error!(bus = %self.settings.bus, unit = address, %error, "request not encodable");
            self.end_turn(now);
            return None;
        }
        self.units[i].health.requests += 1;
        let poll = matches!(purpose, Purpose::Poll);
        // The port is not flushed: the frame is on the wire for its wire time after `now`.
        let sent_by = now + timing::frame_time(self.tx.len(), self.settings.baud);
        self.last_line_activity = Some(sent_by);
        self.rx.clear();
        let flight = Flight { started, busy_at_start, request_bytes: self.tx.len() };
        self.phase = Phase::Awaiting {
            unit: i,
            request,
            purpose,
            deadline: sent_by + self.settings.response_timeout,
            flight,
        };
        if self.record_marks {
            self.marks.push_back(Mark::Transmitted { unit: address, poll, bytes: self.tx.len(), at: now });
        }
        self.end_turn(now);
        match &self.phase {
            Phase::Awaiting { request, .. } => Some(Transmit { frame: &self.tx, unit: address, request }),
            _ => None,
        }
    }

    /// When the driver must call again if nothing arrives: the answer's deadline, the end
    /// of a drain, the end of the t3.5 silence, or the end of the cycle's rest.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Closed => None,
            Phase::Awaiting { deadline, .. } => Some(*deadline),
            Phase::Draining { quiet_until, give_up } => Some((*quiet_until).min(*give_up)),
            Phase::Idle if self.ready_since.is_some() => self.send_at.or_else(|| self.line_free_at()),
            Phase::Idle => match self.stage {
                Stage::Resting { until } => Some(self.next_priority_poll().map_or(until, |at| at.min(until))),
                // Not reached after `poll_transmit`, which either sends or rests.
                Stage::Polling { .. } => self.line_free_at(),
            },
        }
    }

    /// The next event for the owner.
    pub fn poll_event(&mut self) -> Option<BusEvent> {
        self.events.pop_front()
    }

    /// The next benchmark mark (see [`Master::record_marks`]).
    pub fn poll_mark(&mut self) -> Option<Mark> {
        self.marks.pop_front()
    }

    /// The next thing heard on the line (see [`Master::record_heard`]).
    pub fn poll_heard(&mut self) -> Option<Heard> {
        self.heard.pop_front()
    }

    /// Whether the health changed since the last call (a cycle ended, a link change).
    pub fn take_health_changed(&mut self) -> bool {
        std::mem::take(&mut self.health_changed)
    }

    /// Whether an answer is awaited (bytes read now belong to it).
    pub fn is_awaiting_answer(&self) -> bool {
        matches!(self.phase, Phase::Awaiting { .. })
    }

    /// Completed poll cycles and the length of the last one.
    pub fn cycles(&self) -> (u64, Duration) {
        (self.cycles, self.last_cycle)
    }

    /// Bytes dropped because they arrived while no answer was awaited.
    pub fn stale_bytes(&self) -> u64 {
        self.stale_bytes
    }

    /// When the last valid answer arrived.
    pub fn last_answer(&self) -> Option<Instant> {
        self.last_answer
    }

    /// Each unit's health, in configuration order; `wall` turns an instant into Unix ms.
    pub fn unit_health(&self, wall: impl Fn(Instant) -> i64) -> Vec<UnitHealth> {
        self.units
            .iter()
            .map(|u| UnitHealth {
                status: u.status,
                last_seen_unix_ms: u.last_seen.map(&wall),
                ..u.health.clone()
            })
            .collect()
    }

    /// One unit's status.
    pub fn status(&self, unit: u8) -> Option<UnitStatus> {
        self.units.iter().find(|u| u.spec.unit == unit).map(|u| u.status)
    }

    fn begin(&mut self, now: Instant) {
        self.turn_started.get_or_insert(now);
    }

    /// Ends the driver's turn: its time counts as processing; marks waiting for it are out.
    fn end_turn(&mut self, now: Instant) {
        if let Some(started) = self.turn_started.take() {
            self.busy_total += now.saturating_duration_since(started);
        }
        let ended = std::mem::take(&mut self.ended);
        let key_to_write = std::mem::take(&mut self.key_to_write);
        if !self.record_marks {
            return;
        }
        for e in ended {
            self.marks.push_back(Mark::Exchange {
                unit: e.unit,
                poll: e.poll,
                request_bytes: e.flight.request_bytes,
                response_bytes: e.response_bytes,
                processing: self.busy_total.saturating_sub(e.flight.busy_at_start),
                total: now.saturating_duration_since(e.flight.started),
            });
        }
        for (unit, at, busy) in key_to_write {
            self.marks.push_back(Mark::KeyToWrite {
                unit,
                processing: self.busy_total.saturating_sub(busy),
                total: now.saturating_duration_since(at),
            });
        }
    }

    /// The end of the guide's t3.5 after the last activity (the longest silence any unit needs).
    fn line_free_at(&self) -> Option<Instant> {
        self.last_line_activity.map(|last| last + timing::frame_gap(self.settings.baud))
    }

    /// When unit `i` may be addressed: its own silence after the last activity on the line.
    fn line_free_for(&self, i: usize) -> Option<Instant> {
        let gap = self.units[i].spec.timing.frame_gap(self.settings.baud);
        self.last_line_activity.map(|last| last + gap)
    }

    /// Silence that ends a drain: t3.5, but at least 2 ms (a pty delivers in bursts).
    fn quiet_period(&self) -> Duration {
        timing::frame_gap(self.settings.baud).max(Duration::from_millis(2))
    }

    fn try_decode(&mut self, now: Instant) {
        let Phase::Awaiting { unit, request, purpose, .. } = &self.phase else { return };
        let (i, unit_address) = (*unit, self.units[*unit].spec.unit);
        let credential = matches!(purpose, Purpose::Credential);
        match codec::decode_response(&self.rx) {
            Ok(Some(decoded)) => {
                self.last_line_activity = Some(now);
                if self.record_heard && credential {
                    self.heard.push_back(Heard::Credential { unit: decoded.adu.unit });
                } else if self.record_heard {
                    let bytes = self.rx.get(..decoded.length).unwrap_or(&self.rx).to_vec();
                    let response = decoded.adu.pdu.clone();
                    self.heard.push_back(Heard::Frame { bytes, unit: decoded.adu.unit, response });
                }
                if decoded.adu.unit != unit_address || !codec::answers(request, &decoded.adu.pdu) {
                    self.units[i].health.unexpected += 1;
                    self.finish(Outcome::Unexpected, now);
                    self.start_drain(now);
                    return;
                }
                self.last_answer = Some(now);
                let outcome = match decoded.adu.pdu {
                    Response::Exception { code, .. } => Outcome::Exception(code),
                    response => Outcome::Answer(response, decoded.length),
                };
                self.finish(outcome, now);
            }
            Ok(None) if self.rx.len() < MAX_ADU_LEN => {}
            Ok(None) | Err(_) => {
                if self.record_heard && credential {
                    self.heard.push_back(Heard::Credential { unit: unit_address });
                } else if self.record_heard {
                    self.heard.push_back(Heard::Garbled(self.rx.clone()));
                }
                self.units[i].health.crc_errors += 1;
                self.finish(Outcome::Garbled, now);
                self.start_drain(now);
            }
        }
    }

    /// Reads until the line has been quiet (at most 50 ms), so the next request starts
    /// on a clean line.
    fn start_drain(&mut self, now: Instant) {
        self.phase = Phase::Draining {
            quiet_until: now + self.quiet_period(),
            give_up: now + Duration::from_millis(50),
        };
    }

    /// Applies an exchange's outcome; the phase becomes idle.
    fn finish(&mut self, outcome: Outcome, now: Instant) {
        let Phase::Awaiting { unit: i, purpose, flight, .. } =
            std::mem::replace(&mut self.phase, Phase::Idle)
        else {
            return;
        };
        let response_bytes = match &outcome {
            Outcome::Answer(_, n) => *n,
            Outcome::Exception(_) => 5,
            _ => 0,
        };
        let poll = matches!(purpose, Purpose::Poll);
        self.ended.push(Ended { unit: self.units[i].spec.unit, poll, flight, response_bytes });
        match (purpose, outcome) {
            (Purpose::Poll, Outcome::Answer(Response::ReadDiscreteInputs { bits }, _)) => {
                self.answered(i, now);
                self.inputs_read(i, &bits, now);
            }
            (Purpose::Poll, Outcome::Answer(..)) => self.answered(i, now),
            (Purpose::Poll, Outcome::Exception(code)) => {
                // An exception is an answer: the unit lives, its map does not fit the layout.
                self.units[i].health.exceptions += 1;
                tracing::debug!(bus = %self.settings.bus, unit = self.units[i].spec.unit, %code, "poll answered with an exception");
                self.answered(i, now);
            }
            (Purpose::Write(pending), Outcome::Answer(..)) => {
                self.answered(i, now);
                let unit = &mut self.units[i];
                unit.confirmed.record(&pending);
                unit.health.writes += 1;
                if let Some((at, busy)) = unit.edge.take() {
                    self.key_to_write.push((unit.spec.unit, at, busy));
                }
            }
            (Purpose::Write(pending), Outcome::Exception(code)) => {
                // The unit refuses (e.g. a module without those registers). Take the write
                // as done so it is not retried every cycle; the periodic rewrite tries again.
                let unit = &mut self.units[i];
                unit.health.exceptions += 1;
                unit.confirmed.record(&pending);
                tracing::warn!(bus = %self.settings.bus, unit = unit.spec.unit, %code, "output write refused");
                self.answered(i, now);
            }
            (Purpose::Credential, Outcome::Answer(Response::ReadHoldingRegisters { values }, _)) => {
                self.answered(i, now);
                self.credential_read(i, &values);
            }
            (Purpose::Credential, Outcome::Answer(..)) => self.answered(i, now),
            (Purpose::Credential, Outcome::Exception(code)) => {
                // A unit that flags a credential but has no registers for it: do not ask
                // again until it flags the next one.
                let unit = &mut self.units[i];
                unit.health.exceptions += 1;
                unit.credential_due = false;
                unit.credential_refused = true;
                tracing::warn!(bus = %self.settings.bus, unit = unit.spec.unit, %code, "credential read refused; not asked again until the unit has been offline");
                self.answered(i, now);
            }
            (Purpose::Poll, _) => self.missed(i, now),
            (Purpose::Credential, _) => {
                // Tried again before the next poll, while the unit counts as online.
                self.missed(i, now);
            }
            (Purpose::Write(_), _) => {
                self.units[i].write_budget = 0;
                self.missed(i, now);
            }
        }
    }

    fn answered(&mut self, i: usize, now: Instant) {
        let unit = &mut self.units[i];
        unit.misses = 0;
        unit.health.consecutive_misses = 0;
        unit.last_seen = Some(now);
        if unit.status != UnitStatus::Online {
            unit.status = UnitStatus::Online;
            // A unit that was away may have restarted its credential numbering (or been
            // replaced by one with a reader).
            unit.last_credential = None;
            unit.credential_refused = false;
            // Whatever the unit showed before, write everything again; keys held while it
            // was away are not presses.
            unit.confirmed = Confirmed::unknown(&unit.spec.layout);
            unit.debouncer.reset();
            if unit.reported_online != Some(true) {
                unit.reported_online = Some(true);
                self.events
                    .push_back(BusEvent::UnitOnline { bus: self.settings.bus.clone(), unit: unit.spec.unit });
            }
        }
    }

    fn missed(&mut self, i: usize, now: Instant) {
        let threshold = self.settings.offline_after_misses.max(1);
        let silence = self.settings.offline_after_silence;
        let unit = &mut self.units[i];
        unit.misses = unit.misses.saturating_add(1);
        unit.health.consecutive_misses = unit.misses;
        let silent_long_enough =
            unit.last_seen.is_none_or(|seen| now.saturating_duration_since(seen) >= silence);
        if unit.status != UnitStatus::Offline && unit.misses >= threshold && silent_long_enough {
            unit.next_probe = now + self.settings.offline_retry;
            self.mark_offline(i);
        }
    }

    fn mark_offline(&mut self, i: usize) {
        let unit = &mut self.units[i];
        unit.status = UnitStatus::Offline;
        unit.confirmed = Confirmed::unknown(&unit.spec.layout);
        unit.debouncer.reset();
        unit.edge = None;
        unit.credential_due = false;
        if unit.reported_online != Some(false) {
            unit.reported_online = Some(false);
            unit.health.went_offline += 1;
            self.events
                .push_back(BusEvent::UnitOffline { bus: self.settings.bus.clone(), unit: unit.spec.unit });
        }
    }

    fn all_offline(&mut self) {
        for i in 0..self.units.len() {
            self.mark_offline(i);
        }
        self.health_changed = true;
    }

    fn inputs_read(&mut self, i: usize, bits: &[bool], now: Instant) {
        let unit = &mut self.units[i];
        let Some(block) = unit.spec.layout.inputs else { return };
        let raw = bits.get(..usize::from(block.count)).unwrap_or(bits);
        let flag = unit.spec.layout.outputs_reset_input;
        if let Some(flag) = flag
            && block.contains(flag)
            && raw.get(usize::from(flag - block.start)).copied().unwrap_or(false)
            && unit.confirmed.is_known()
        {
            tracing::info!(bus = %self.settings.bus, unit = unit.spec.unit, "unit reset its outputs; rewriting them");
            unit.confirmed = Confirmed::unknown(&unit.spec.layout);
        }
        let waiting = unit.spec.layout.credential.map(|c| c.waiting_input);
        if let Some(waiting) = waiting
            && block.contains(waiting)
            && raw.get(usize::from(waiting - block.start)).copied().unwrap_or(false)
        {
            // A level, not an edge: the unit holds it until the registers are read.
            unit.credential_due = true;
        }
        let mut any = false;
        for (index, pressed) in unit.debouncer.sample(raw, now) {
            let Ok(offset) = u16::try_from(index) else { continue };
            let input = block.start + offset;
            if Some(input) == flag || Some(input) == waiting {
                continue;
            }
            any = true;
            self.events.push_back(BusEvent::Input {
                bus: self.settings.bus.clone(),
                unit: unit.spec.unit,
                input,
                pressed,
            });
        }
        if any {
            let in_turn = self.turn_started.map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
            unit.edge = Some((now, self.busy_total + in_turn));
            if self.record_marks {
                self.marks.push_back(Mark::KeyEdgeSeen { unit: unit.spec.unit, at: now });
            }
        }
    }

    /// The credential registers of unit `i` arrived: report the credential once.
    fn credential_read(&mut self, i: usize, values: &[u16]) {
        let unit = &mut self.units[i];
        unit.credential_due = false;
        let Some(credential) = Credential::decode(values) else {
            tracing::warn!(bus = %self.settings.bus, unit = unit.spec.unit, "credential registers hold no valid credential");
            return;
        };
        if unit.last_credential == Some(credential.sequence) {
            tracing::debug!(bus = %self.settings.bus, unit = unit.spec.unit, sequence = credential.sequence, "credential already reported");
            return;
        }
        unit.last_credential = Some(credential.sequence);
        self.events.push_back(BusEvent::Credential {
            bus: self.settings.bus.clone(),
            unit: unit.spec.unit,
            credential,
        });
    }

    /// Forgets what online units confirmed once their rewrite period is over, and gives
    /// each unit its phase of the period the first time it has desired outputs.
    fn forget_for_periodic_rewrite(&mut self, now: Instant) {
        let count = self.units.len().max(1) as u32;
        let resync = self.settings.resync;
        for (i, unit) in self.units.iter_mut().enumerate() {
            if unit.status != UnitStatus::Online || !self.desired.contains_key(&unit.spec.unit) {
                continue;
            }
            if unit.confirmed.since.is_some_and(|since| now.saturating_duration_since(since) >= resync) {
                unit.confirmed = Confirmed::unknown(&unit.spec.layout);
                unit.confirmed.since = Some(now);
                // The rewrite answers no key: an edge that changed nothing (a release) must
                // not be timed against it.
                unit.edge = None;
            }
            if unit.confirmed.since.is_none() {
                // Each unit's rewrite gets its own phase of the period: all units at once
                // would stretch one cycle by a full rewrite of the bus, and a key pressed
                // then waits that much longer for its lamp and microphone.
                let phase = resync * u32::try_from(i).unwrap_or(u32::MAX) / count;
                unit.confirmed.since = Some(now.checked_sub(phase).unwrap_or(now));
            }
        }
    }

    /// The next request: a waiting credential's read, a pending write of an online unit,
    /// else the cycle's next poll. Moves the cycle past units it skips and into its rest;
    /// sends nothing.
    fn choose(&mut self, now: Instant) -> Option<Choice> {
        for (i, unit) in self.units.iter().enumerate() {
            if unit.status != UnitStatus::Online || !unit.credential_due || unit.credential_refused {
                continue;
            }
            if let Some(c) = unit.spec.layout.credential {
                let request = Request::ReadHoldingRegisters {
                    address: c.registers.start,
                    quantity: c.registers.count.clamp(1, limits::READ_REGISTERS),
                };
                return Some(Choice { unit: i, request, purpose: Purpose::Credential, in_round: false });
            }
        }
        for i in 0..self.units.len() {
            let unit = &self.units[i];
            if unit.status != UnitStatus::Online || unit.write_budget == 0 {
                continue;
            }
            if let Some((request, pending)) = self.next_write(i) {
                return Some(Choice { unit: i, request, purpose: Purpose::Write(pending), in_round: false });
            }
        }
        let priority = self.priority_due(now);
        let priority_poll = |i: usize, units: &[Unit]| {
            let request = poll_request(&units[i].spec.layout)?;
            Some(Choice { unit: i, request, purpose: Purpose::Poll, in_round: false })
        };
        // At most three passes: the end of one cycle, the start of the next, its first poll.
        for _ in 0..3 {
            match self.stage {
                Stage::Resting { until } if now >= until => {
                    self.stage = Stage::Polling { started: now, next_unit: 0, offline_probes: 0, polls: 0 };
                }
                // The rest is idle time: priority units need not wait for the next round.
                Stage::Resting { .. } => return priority.and_then(|i| priority_poll(i, &self.units)),
                Stage::Polling { started, next_unit, offline_probes, polls } => {
                    if let Some(i) = priority
                        && self.round_polls_since_priority >= self.settings.priority_every
                    {
                        return priority_poll(i, &self.units);
                    }
                    if let Some(i) = (next_unit..self.units.len())
                        .find(|&i| self.pollable(i, started, offline_probes, now))
                    {
                        self.stage = Stage::Polling { started, next_unit: i, offline_probes, polls };
                        let request = poll_request(&self.units[i].spec.layout)?;
                        return Some(Choice { unit: i, request, purpose: Purpose::Poll, in_round: true });
                    }
                    self.cycle_completed(started, polls, now);
                }
            }
        }
        None
    }

    /// The priority unit to poll now, if one is due: online, marked, its last poll at least
    /// `priority_interval` ago; the one polled longest ago first.
    fn priority_due(&self, now: Instant) -> Option<usize> {
        let interval = self.settings.priority_interval;
        self.priority_units()
            .filter(|(_, u)| u.last_poll.is_none_or(|at| now >= at + interval))
            .min_by_key(|(_, u)| u.last_poll)
            .map(|(i, _)| i)
    }

    /// When the next priority poll falls due (during the rest, the driver wakes for it).
    fn next_priority_poll(&self) -> Option<Instant> {
        self.priority_units()
            // An online unit has answered a poll before (writes go only to online units).
            .filter_map(|(_, u)| u.last_poll)
            .map(|at| at + self.settings.priority_interval)
            .min()
    }

    /// The units priority polls go to: marked, online, with something to poll (none while
    /// priority polls are off).
    fn priority_units(&self) -> impl Iterator<Item = (usize, &Unit)> {
        let on = self.settings.priority_every > 0;
        self.units.iter().enumerate().filter(move |(_, u)| {
            on && u.priority && u.status == UnitStatus::Online && poll_request(&u.spec.layout).is_some()
        })
    }

    /// Whether the round polls unit `i` (the round started at `started`): it has something
    /// to poll, is not offline (or its probe is due and the round has not probed yet), and
    /// is not a priority unit already polled since the round started.
    fn pollable(&self, i: usize, started: Instant, offline_probes: u32, now: Instant) -> bool {
        let unit = &self.units[i];
        if poll_request(&unit.spec.layout).is_none() {
            return false;
        }
        if unit.priority
            && unit.status == UnitStatus::Online
            && unit.last_poll.is_some_and(|at| at >= started)
        {
            return false;
        }
        unit.status != UnitStatus::Offline || (offline_probes == 0 && now >= unit.next_probe)
    }

    fn cycle_completed(&mut self, started: Instant, polls: u32, now: Instant) {
        self.cycles += 1;
        self.last_cycle = now.saturating_duration_since(started);
        self.health_changed = true;
        if self.record_marks {
            self.marks.push_back(Mark::CycleCompleted { length: self.last_cycle });
        }
        let mut until = started + self.settings.min_cycle;
        if polls == 0 {
            // Nothing polled in the round: never spin through empty rounds. With every unit
            // offline and not due, rest until a probe is due; otherwise (priority units
            // polled outside the round) at least a millisecond.
            if self.units.iter().all(|u| u.status == UnitStatus::Offline) {
                let next_probe = self.units.iter().map(|u| u.next_probe).min();
                until = until.max(next_probe.unwrap_or(now + self.settings.offline_retry));
            }
            until = until.max(now + Duration::from_millis(1));
        }
        self.stage = Stage::Resting { until };
    }

    /// Commits the chosen request: the cycle moves on, budgets are spent.
    fn commit(&mut self, i: usize, purpose: &Purpose, in_round: bool, now: Instant) {
        match purpose {
            Purpose::Write(_) | Purpose::Credential => {
                let unit = &mut self.units[i];
                unit.write_budget = unit.write_budget.saturating_sub(1);
            }
            Purpose::Poll => {
                for unit in &mut self.units {
                    unit.write_budget = WRITES_BETWEEN_POLLS;
                }
                self.units[i].last_poll = Some(now);
                if !in_round {
                    self.round_polls_since_priority = 0;
                    return;
                }
                self.round_polls_since_priority = self.round_polls_since_priority.saturating_add(1);
                if let Stage::Polling { started, offline_probes, polls, .. } = self.stage {
                    let probing = self.units[i].status == UnitStatus::Offline;
                    if probing {
                        self.units[i].next_probe = now + self.settings.offline_retry;
                    }
                    self.stage = Stage::Polling {
                        started,
                        next_unit: i + 1,
                        offline_probes: offline_probes + u32::from(probing),
                        polls: polls + 1,
                    };
                }
            }
        }
    }

    /// The next write that brings unit `i` closer to its desired outputs.
    fn next_write(&self, i: usize) -> Option<(Request, PendingWrite)> {
        let unit = &self.units[i];
        let desired = self.desired.get(&unit.spec.unit)?;
        if let Some(block) = unit.spec.layout.coils {
            let want = fit(&desired.coils, block.count, false);
            if let Some((from, to)) = differing(&want, &unit.confirmed.coils, limits::WRITE_BITS) {
                let values = want[from..to].to_vec();
                let address = block.start + u16::try_from(from).ok()?;
                let request = if let [value] = values[..] {
                    Request::WriteSingleCoil { address, value }
                } else {
                    Request::WriteMultipleCoils { address, values: values.clone() }
                };
                return Some((request, PendingWrite::Coils { offset: from, values }));
            }
        }
        if let Some(block) = unit.spec.layout.registers {
            let want = fit(&desired.registers, block.count, 0);
            if let Some((from, to)) = differing(&want, &unit.confirmed.registers, limits::WRITE_REGISTERS) {
                let values = want[from..to].to_vec();
                let address = block.start + u16::try_from(from).ok()?;
                let request = Request::WriteMultipleRegisters { address, values: values.clone() };
                return Some((request, PendingWrite::Registers { offset: from, values }));
            }
        }
        None
    }
}

/// The poll of a unit: its inputs, or without inputs its outputs as a sign of life.
fn poll_request(layout: &UnitLayout) -> Option<Request> {
    if let Some(b) = layout.inputs {
        Some(Request::ReadDiscreteInputs { address: b.start, quantity: b.count })
    } else if let Some(b) = layout.coils {
        Some(Request::ReadCoils { address: b.start, quantity: b.count })
    } else {
        layout.registers.map(|b| Request::ReadHoldingRegisters {
            address: b.start,
            quantity: b.count.min(limits::READ_REGISTERS),
        })
    }
}

impl Confirmed {
    fn unknown(layout: &UnitLayout) -> Self {
        Confirmed {
            coils: vec![None; layout.coils.map_or(0, |b| usize::from(b.count))],
            registers: vec![None; layout.registers.map_or(0, |b| usize::from(b.count))],
            since: None,
        }
    }

    fn is_known(&self) -> bool {
        self.coils.iter().all(Option::is_some) && self.registers.iter().all(Option::is_some)
    }

    fn record(&mut self, write: &PendingWrite) {
        match write {
            PendingWrite::Coils { offset, values } => {
                for (slot, v) in self.coils.iter_mut().skip(*offset).zip(values) {
                    *slot = Some(*v);
                }
            }
            PendingWrite::Registers { offset, values } => {
                for (slot, v) in self.registers.iter_mut().skip(*offset).zip(values) {
                    *slot = Some(*v);
                }
            }
        }
    }
}

/// `values` padded with `fill` or cut to `count`.
fn fit<T: Copy>(values: &[T], count: u16, fill: T) -> Vec<T> {
    let count = usize::from(count);
    let mut out: Vec<T> = values.iter().copied().take(count).collect();
    out.resize(count, fill);
    out
}

/// The first run of positions (at most `max` long, first to last difference) where
/// `want` differs from `have`.
fn differing<T: PartialEq + Copy>(want: &[T], have: &[Option<T>], max: u16) -> Option<(usize, usize)> {
    let differs = |i: usize| have.get(i).copied().flatten() != Some(want[i]);
    let first = (0..want.len()).find(|&i| differs(i))?;
    let limit = (first + usize::from(max)).min(want.len());
    let last = (first..limit).rev().find(|&i| differs(i)).unwrap_or(first);
    Some((first, last + 1))
}

/// Keeps a layout's reads within the protocol limits so every request is encodable.
fn clamp_layout(layout: &mut UnitLayout) {
    if let Some(b) = &mut layout.inputs {
        b.count = b.count.clamp(1, limits::READ_BITS);
    }
    if let Some(b) = &mut layout.coils {
        b.count = b.count.clamp(1, limits::READ_BITS);
    }
    if let Some(b) = &mut layout.registers {
        b.count = b.count.max(1);
    }
    for b in [&mut layout.inputs, &mut layout.coils, &mut layout.registers].into_iter().flatten() {
        let room = 0x1_0000 - u32::from(b.start);
        b.count = u16::try_from(u32::from(b.count).min(room)).unwrap_or(u16::MAX);
    }
}

#[cfg(test)]
mod tests;
