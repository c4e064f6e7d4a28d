//! The Modbus RTU master: one task per bus.
//!
//! The driver owns the port. It polls the bus's units round-robin with one outstanding
//! request at a time, reports key edges (debounced), units coming online and going
//! offline, and its health. Outputs are **desired state**: the caller publishes, per unit,
//! the coil and register values the unit should show on a `watch` channel; the driver
//! compares them with what the unit last confirmed and writes only the difference. When
//! a unit comes back (after misses, a reconnect, its own power-up flag, or the periodic
//! resync) the confirmed state is forgotten, so everything is written again.
//!
//! Scheduling, per cycle: pending output writes go first (a changed lamp does not wait
//! for the whole round), then every unit that is online (or not yet known) is polled
//! once, plus at most one offline unit whose retry is due, so dead units cannot stretch
//! the cycle by more than one timeout. A cycle lasts at least `min_cycle`, so a fast link
//! (a pseudo-terminal) is not polled in a busy loop.
//!
//! The driver knows units, inputs and coils; it knows nothing of seats or floors.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::codec::{self, ExceptionCode, MAX_ADU_LEN, Request, Response, limits};
use super::debounce::Debouncer;
use super::timing;
use crate::monitor::{Direction, FrameMonitor};
use crate::serial::{Backoff, Connector, LinkHealth, unix_ms_now};

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
}

/// One unit on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitSpec {
    /// Unit address, 1-247.
    pub unit: u8,
    /// What to read and write.
    pub layout: UnitLayout,
}

/// The values a unit's outputs should have, relative to its layout's blocks (index 0 is
/// the block's first address). Shorter vectors are padded with off/0, longer ones cut.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitOutputs {
    /// Coil values from the coil block's start.
    pub coils: Vec<bool>,
    /// Register values from the register block's start.
    pub registers: Vec<u16>,
}

/// Desired outputs of a bus's units, by unit address. Units not listed are not written.
pub type BusOutputs = BTreeMap<u8, UnitOutputs>;

/// How a bus is driven.
#[derive(Debug, Clone)]
pub struct BusSettings {
    /// Bus id from the configuration, named in events and health.
    pub id: String,
    /// Line speed, for the inter-frame silence and the time a request takes to send.
    pub baud: u32,
    /// How long to wait for an answer after the request has left.
    pub response_timeout: Duration,
    /// Consecutive missed answers after which a unit counts as offline.
    pub offline_after_misses: u32,
    /// How often an offline unit is tried again.
    pub offline_retry: Duration,
    /// Shortest cycle: the rest of it is idle (writes still go out at once).
    pub min_cycle: Duration,
    /// Key debounce hold-off.
    pub debounce: Duration,
    /// Every output is written again at least this often, whatever the unit confirmed.
    pub resync: Duration,
    /// Reconnect back-off.
    pub backoff: Backoff,
}

impl BusSettings {
    /// Defaults for a desk-unit bus: 115200 baud, 50 ms timeout, offline after 3 misses,
    /// retried every second, cycles of at least 20 ms, 30 ms debounce, resync every 30 s.
    pub fn new(id: impl Into<String>) -> Self {
        BusSettings {
            id: id.into(),
            baud: 115_200,
            response_timeout: Duration::from_millis(50),
            offline_after_misses: 3,
            offline_retry: Duration::from_secs(1),
            min_cycle: Duration::from_millis(20),
            debounce: Duration::from_millis(30),
            resync: Duration::from_secs(30),
            backoff: Backoff::default(),
        }
    }
}

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

/// Health of a bus: its port and its units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusHealth {
    /// Bus id.
    pub bus: String,
    /// The port.
    pub link: LinkHealth,
    /// Completed poll cycles since start.
    pub cycles: u64,
    /// Duration of the last cycle in microseconds.
    pub last_cycle_us: u64,
    /// Per unit, in configuration order.
    pub units: Vec<UnitHealth>,
}

/// Timing samples for the benchmark: time spent in Podium's code, I/O waits excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// One request/answer exchange.
    Exchange {
        /// Podium's processing (encode, decode, bookkeeping, events).
        processing: Duration,
        /// The whole exchange including waits.
        total: Duration,
        /// Request frame length.
        request_bytes: usize,
        /// Response frame length (0 on timeout).
        response_bytes: usize,
        /// Whether it was a poll (else a write).
        poll: bool,
    },
    /// From a key edge being decoded to the unit's next confirmed output write.
    KeyToWrite {
        /// Podium's processing on that path, I/O waits excluded.
        processing: Duration,
        /// The whole time.
        total: Duration,
    },
}

/// How an exchange ended.
enum Reply {
    Answer(Response, usize),
    Exception(ExceptionCode),
    Timeout,
    Garbled,
    Unexpected,
}

/// Outputs as last confirmed by the unit: `None` = unknown, to be written.
#[derive(Debug, Clone, Default)]
struct Confirmed {
    coils: Vec<Option<bool>>,
    registers: Vec<Option<u16>>,
    since: Option<Instant>,
}

/// A write in flight, to record on success.
enum PendingWrite {
    Coils { offset: usize, values: Vec<bool> },
    Registers { offset: usize, values: Vec<u16> },
}

struct Unit {
    spec: UnitSpec,
    status: UnitStatus,
    /// What the owner was last told (events only on change).
    reported_online: Option<bool>,
    misses: u32,
    next_probe: Instant,
    debouncer: Debouncer,
    confirmed: Confirmed,
    health: UnitHealth,
    /// When a key edge was decoded, with the I/O-wait counter then (benchmark).
    edge_at: Option<(Instant, Duration)>,
}

/// The driver of one bus. Build with [`BusDriver::new`], run with [`BusDriver::run`].
pub struct BusDriver<C: Connector> {
    settings: BusSettings,
    bus: Arc<str>,
    connector: C,
    units: Vec<Unit>,
    events: mpsc::Sender<BusEvent>,
    desired_rx: watch::Receiver<Arc<BusOutputs>>,
    desired: Arc<BusOutputs>,
    health_tx: watch::Sender<BusHealth>,
    link: LinkHealth,
    cycles: u64,
    last_cycle: Duration,
    timing: Option<mpsc::UnboundedSender<Timing>>,
    /// Total time spent waiting on the port or timers (to separate processing).
    io_wait: Duration,
    rx: Vec<u8>,
    tx: Vec<u8>,
    last_line_activity: Option<Instant>,
    /// Where frames go for the technician's protocol monitor, if anywhere.
    monitor: Option<FrameMonitor>,
}

impl<C: Connector> BusDriver<C> {
    /// A driver for `units` on the port `connector` opens. Key and unit events go to
    /// `events`; desired outputs come from `desired`. Returns the driver and its health.
    pub fn new(
        settings: BusSettings,
        units: Vec<UnitSpec>,
        connector: C,
        events: mpsc::Sender<BusEvent>,
        desired: watch::Receiver<Arc<BusOutputs>>,
    ) -> (Self, watch::Receiver<BusHealth>) {
        let now = Instant::now();
        let units: Vec<Unit> = units
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
                    debouncer: Debouncer::new(settings.debounce),
                    edge_at: None,
                }
            })
            .collect();
        let link = LinkHealth { port: connector.describe(), ..LinkHealth::default() };
        let health = BusHealth {
            bus: settings.id.clone(),
            link: link.clone(),
            cycles: 0,
            last_cycle_us: 0,
            units: units.iter().map(|u| u.health.clone()).collect(),
        };
        let (health_tx, health_rx) = watch::channel(health);
        let desired_now = desired.borrow().clone();
        let driver = BusDriver {
            bus: settings.id.as_str().into(),
            settings,
            connector,
            units,
            events,
            desired_rx: desired,
            desired: desired_now,
            health_tx,
            link,
            cycles: 0,
            last_cycle: Duration::ZERO,
            timing: None,
            io_wait: Duration::ZERO,
            rx: Vec::with_capacity(MAX_ADU_LEN),
            tx: Vec::with_capacity(MAX_ADU_LEN),
            last_line_activity: None,
            monitor: None,
        };
        (driver, health_rx)
    }

    /// Sends timing samples to `tx` (for the benchmark).
    pub fn with_timing(mut self, tx: mpsc::UnboundedSender<Timing>) -> Self {
        self.timing = Some(tx);
        self
    }

    /// Reports every frame written and read to `monitor` (costs nothing while nobody
    /// listens to it).
    pub fn with_monitor(mut self, monitor: FrameMonitor) -> Self {
        self.monitor = Some(monitor);
        self
    }

    /// Runs until `cancel` fires: opens the port, polls, and reopens it with back-off
    /// after every failure.
    pub async fn run(mut self, cancel: CancellationToken) {
        let mut backoff = self.settings.backoff.clone();
        let mut failures_logged = 0u32;
        loop {
            let attempt = tokio::select! {
                _ = cancel.cancelled() => return,
                attempt = self.connector.connect() => attempt,
            };
            match attempt {
                Ok(mut port) => {
                    backoff.reset();
                    failures_logged = 0;
                    tracing::info!(bus = %self.bus, port = %self.link.port, "bus port open");
                    self.link.connected = true;
                    self.last_line_activity = None;
                    for unit in &mut self.units {
                        unit.status = UnitStatus::Unknown;
                        unit.misses = 0;
                    }
                    self.emit(BusEvent::Link { bus: self.bus.clone(), connected: true }).await;
                    self.publish_health();
                    let error = tokio::select! {
                        _ = cancel.cancelled() => return,
                        error = self.session(&mut port) => error,
                    };
                    tracing::warn!(bus = %self.bus, port = %self.link.port, %error, "bus port lost; reopening");
                    self.link.connected = false;
                    self.link.disconnects += 1;
                    self.link.last_error = Some(error.to_string());
                    self.emit(BusEvent::Link { bus: self.bus.clone(), connected: false }).await;
                    self.all_offline().await;
                    self.publish_health();
                }
                Err(error) => {
                    self.link.open_failures += 1;
                    self.link.last_error = Some(error.to_string());
                    // Say it once loudly, then quietly: an unplugged adapter is retried forever.
                    if failures_logged == 0 {
                        tracing::warn!(bus = %self.bus, port = %self.link.port, %error, "cannot open bus port; retrying");
                    } else {
                        tracing::debug!(bus = %self.bus, %error, "cannot open bus port");
                    }
                    failures_logged += 1;
                    if self.units.iter().any(|u| u.reported_online != Some(false)) {
                        self.all_offline().await;
                    }
                    self.publish_health();
                }
            }
            let delay = backoff.next_delay();
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Polls and writes until the port fails; returns the error.
    async fn session(&mut self, port: &mut C::Port) -> io::Error {
        match self.cycles_forever(port).await {
            Ok(never) => match never {},
            Err(error) => error,
        }
    }

    async fn cycles_forever(&mut self, port: &mut C::Port) -> io::Result<std::convert::Infallible> {
        loop {
            let cycle_start = Instant::now();
            let mut offline_probes = 0;
            for i in 0..self.units.len() {
                self.refresh_desired();
                self.flush_writes(port).await?;
                let unit = &mut self.units[i];
                if unit.status == UnitStatus::Offline {
                    let now = Instant::now();
                    if offline_probes > 0 || now < unit.next_probe {
                        continue;
                    }
                    offline_probes += 1;
                    unit.next_probe = now + self.settings.offline_retry;
                }
                self.poll(port, i).await?;
            }
            self.cycles += 1;
            self.last_cycle = cycle_start.elapsed();
            self.publish_health();
            let until = cycle_start + self.settings.min_cycle;
            loop {
                self.refresh_desired();
                self.flush_writes(port).await?;
                if Instant::now() >= until {
                    break;
                }
                let waited = Instant::now();
                let changed = tokio::select! {
                    _ = tokio::time::sleep_until(until.into()) => false,
                    changed = self.desired_rx.changed() => changed.is_ok(),
                };
                self.io_wait += waited.elapsed();
                if changed {
                    // `changed()` marked the value seen; take it now or it would be missed.
                    self.desired = self.desired_rx.borrow_and_update().clone();
                } else {
                    // Timer expired, or the owner is gone (then just keep the cycle).
                    if Instant::now() < until {
                        let waited = Instant::now();
                        tokio::time::sleep_until(until.into()).await;
                        self.io_wait += waited.elapsed();
                    }
                    break;
                }
            }
        }
    }

    fn refresh_desired(&mut self) {
        if self.desired_rx.has_changed().unwrap_or(false) {
            self.desired = self.desired_rx.borrow_and_update().clone();
        }
    }

    /// Reads the unit's inputs (or, without inputs, its outputs as a sign of life).
    async fn poll(&mut self, port: &mut C::Port, i: usize) -> io::Result<()> {
        let layout = &self.units[i].spec.layout;
        let request = if let Some(b) = layout.inputs {
            Request::ReadDiscreteInputs { address: b.start, quantity: b.count }
        } else if let Some(b) = layout.coils {
            Request::ReadCoils { address: b.start, quantity: b.count }
        } else if let Some(b) = layout.registers {
            Request::ReadHoldingRegisters { address: b.start, quantity: b.count.min(limits::READ_REGISTERS) }
        } else {
            return Ok(());
        };
        let started = Instant::now();
        let waited_before = self.io_wait;
        let reply = self.transact(port, i, &request).await?;
        let response_bytes = match &reply {
            Reply::Answer(_, n) => *n,
            Reply::Exception(_) => 5,
            _ => 0,
        };
        match reply {
            Reply::Answer(Response::ReadDiscreteInputs { bits }, _) => {
                self.answered(i).await;
                self.inputs_read(i, &bits).await;
            }
            Reply::Answer(_, _) => self.answered(i).await,
            Reply::Exception(code) => {
                // An exception is an answer: the unit lives, its map does not fit the layout.
                self.units[i].health.exceptions += 1;
                tracing::debug!(bus = %self.bus, unit = self.units[i].spec.unit, %code, "poll answered with an exception");
                self.answered(i).await;
            }
            Reply::Timeout | Reply::Garbled | Reply::Unexpected => self.missed(i).await,
        }
        self.sample_exchange(started, waited_before, true, response_bytes);
        Ok(())
    }

    async fn inputs_read(&mut self, i: usize, bits: &[bool]) {
        let unit = &mut self.units[i];
        let Some(block) = unit.spec.layout.inputs else { return };
        let raw = bits.get(..usize::from(block.count)).unwrap_or(bits);
        if let Some(flag) = unit.spec.layout.outputs_reset_input
            && block.contains(flag)
            && raw.get(usize::from(flag - block.start)).copied().unwrap_or(false)
            && unit.confirmed.is_known()
        {
            tracing::info!(bus = %self.bus, unit = unit.spec.unit, "unit reset its outputs; rewriting them");
            unit.confirmed = Confirmed::unknown(&unit.spec.layout);
        }
        let edges = unit.debouncer.sample(raw, Instant::now());
        let unit_no = unit.spec.unit;
        let flag = unit.spec.layout.outputs_reset_input;
        let mut any = false;
        for (index, pressed) in edges {
            let input = block.start + index as u16;
            if Some(input) == flag {
                continue;
            }
            any = true;
            self.emit(BusEvent::Input { bus: self.bus.clone(), unit: unit_no, input, pressed }).await;
        }
        if any && self.timing.is_some() {
            self.units[i].edge_at = Some((Instant::now(), self.io_wait));
        }
    }

    /// Writes every online unit's outputs that differ from what it confirmed.
    async fn flush_writes(&mut self, port: &mut C::Port) -> io::Result<()> {
        for i in 0..self.units.len() {
            // Bounded: a unit needs at most a few writes to match (coils, register chunks).
            for _ in 0..8 {
                if self.units[i].status != UnitStatus::Online {
                    break;
                }
                let Some((request, pending)) = self.next_write(i) else { break };
                let started = Instant::now();
                let waited_before = self.io_wait;
                let reply = self.transact(port, i, &request).await?;
                let mut response_bytes = 0;
                match reply {
                    Reply::Answer(_, n) => {
                        response_bytes = n;
                        self.answered(i).await;
                        let unit = &mut self.units[i];
                        unit.confirmed.record(&pending);
                        unit.health.writes += 1;
                        if let Some((at, waited)) = unit.edge_at.take()
                            && let Some(tx) = &self.timing
                        {
                            let total = at.elapsed();
                            let processing = total.saturating_sub(self.io_wait.saturating_sub(waited));
                            let _ = tx.send(Timing::KeyToWrite { processing, total });
                        }
                    }
                    Reply::Exception(code) => {
                        // The unit refuses (e.g. a module without those registers). Take the
                        // write as done so it is not retried every cycle; resync tries again.
                        let unit = &mut self.units[i];
                        unit.health.exceptions += 1;
                        unit.confirmed.record(&pending);
                        tracing::warn!(bus = %self.bus, unit = unit.spec.unit, %code, "output write refused");
                        self.answered(i).await;
                    }
                    Reply::Timeout | Reply::Garbled | Reply::Unexpected => {
                        self.missed(i).await;
                        self.sample_exchange(started, waited_before, false, 0);
                        break;
                    }
                }
                self.sample_exchange(started, waited_before, false, response_bytes);
            }
        }
        Ok(())
    }

    /// The next write that brings unit `i` closer to its desired outputs.
    fn next_write(&mut self, i: usize) -> Option<(Request, PendingWrite)> {
        let units = self.units.len();
        let unit = &mut self.units[i];
        let desired = self.desired.get(&unit.spec.unit)?;
        let now = Instant::now();
        let resync = self.settings.resync;
        if unit.confirmed.since.is_some_and(|since| now.duration_since(since) >= resync) {
            unit.confirmed = Confirmed::unknown(&unit.spec.layout);
            unit.confirmed.since = Some(now);
            // The rewrite answers no key: an edge that changed nothing (a release) must not
            // be timed against it.
            unit.edge_at = None;
        }
        if unit.confirmed.since.is_none() {
            // Each unit's periodic rewrite gets its own phase of the resync period: all
            // units at once would stretch one cycle by a full rewrite of the bus, and a key
            // pressed then waits that much longer for its lamp and microphone.
            let phase = resync.mul_f64(i as f64 / units.max(1) as f64);
            unit.confirmed.since = Some(now.checked_sub(phase).unwrap_or(now));
        }
        if let Some(block) = unit.spec.layout.coils {
            let want = fit(&desired.coils, block.count, false);
            if let Some((from, to)) = differing(&want, &unit.confirmed.coils, limits::WRITE_BITS) {
                let values = want[from..to].to_vec();
                let address = block.start + from as u16;
                let request = if values.len() == 1 {
                    Request::WriteSingleCoil { address, value: values[0] }
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
                let address = block.start + from as u16;
                let request = Request::WriteMultipleRegisters { address, values: values.clone() };
                return Some((request, PendingWrite::Registers { offset: from, values }));
            }
        }
        None
    }

    /// One request and its answer, with the inter-frame silence before it.
    async fn transact(&mut self, port: &mut C::Port, i: usize, request: &Request) -> io::Result<Reply> {
        let unit = self.units[i].spec.unit;
        self.units[i].health.requests += 1;
        if let Some(last) = self.last_line_activity {
            let gap_end = last + timing::frame_gap(self.settings.baud);
            if Instant::now() < gap_end {
                let waited = Instant::now();
                tokio::time::sleep_until(gap_end.into()).await;
                self.io_wait += waited.elapsed();
            }
        }
        self.discard_stale_input(port).await?;
        self.tx.clear();
        if let Err(error) = codec::encode_request(unit, request, &mut self.tx) {
            // Layouts are clamped to the protocol limits, so this is a bug, not line noise.
            tracing::error!(bus = %self.bus, unit, %error, "request not encodable");
            return Ok(Reply::Unexpected);
        }
        let waited = Instant::now();
        // No flush: on a serial port it is tcdrain(), which blocks the thread until the frame
        // has left the UART, and podiumd runs all its tasks on one thread. The kernel has the
        // bytes once written; the frame's wire time is added instead.
        port.write_all(&self.tx).await?;
        self.io_wait += waited.elapsed();
        if let Some(monitor) = &self.monitor {
            monitor.record(&self.bus, Direction::Out, &self.tx, || format!("unit {unit}: {request:?}"));
        }
        let sent_by = Instant::now() + timing::frame_time(self.tx.len(), self.settings.baud);
        self.last_line_activity = Some(sent_by);
        let deadline = sent_by + self.settings.response_timeout;
        self.rx.clear();
        let mut chunk = [0u8; MAX_ADU_LEN];
        loop {
            match codec::decode_response(&self.rx) {
                Ok(Some(decoded)) => {
                    self.last_line_activity = Some(Instant::now());
                    if let Some(monitor) = &self.monitor {
                        let frame = self.rx.get(..decoded.length).unwrap_or(&self.rx);
                        monitor.record(&self.bus, Direction::In, frame, || {
                            format!("unit {}: {:?}", decoded.adu.unit, decoded.adu.pdu)
                        });
                    }
                    if decoded.adu.unit != unit || !codec::answers(request, &decoded.adu.pdu) {
                        self.units[i].health.unexpected += 1;
                        self.wait_for_silence(port).await?;
                        return Ok(Reply::Unexpected);
                    }
                    self.link.last_frame_unix_ms = Some(unix_ms_now());
                    return Ok(match decoded.adu.pdu {
                        Response::Exception { code, .. } => Reply::Exception(code),
                        response => Reply::Answer(response, decoded.length),
                    });
                }
                Ok(None) if self.rx.len() < MAX_ADU_LEN => {}
                Ok(None) | Err(_) => {
                    if let Some(monitor) = &self.monitor {
                        monitor.record(&self.bus, Direction::In, &self.rx, || {
                            "garbled (bad CRC or frame)".into()
                        });
                    }
                    self.units[i].health.crc_errors += 1;
                    self.wait_for_silence(port).await?;
                    return Ok(Reply::Garbled);
                }
            }
            let waited = Instant::now();
            let read = tokio::time::timeout_at(deadline.into(), port.read(&mut chunk)).await;
            self.io_wait += waited.elapsed();
            match read {
                Err(_elapsed) => {
                    // A partial answer is worth seeing when hunting a wiring fault.
                    if let (Some(monitor), false) = (&self.monitor, self.rx.is_empty()) {
                        monitor.record(&self.bus, Direction::In, &self.rx, || "incomplete (timeout)".into());
                    }
                    self.units[i].health.timeouts += 1;
                    return Ok(Reply::Timeout);
                }
                Ok(Ok(0)) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the port closed")),
                Ok(Ok(n)) => self.rx.extend_from_slice(&chunk[..n]),
                Ok(Err(error)) => return Err(error),
            }
        }
    }

    /// Drops bytes that arrived while nobody asked (noise, a late answer), so they cannot
    /// be taken for the next answer. Never waits: it only takes what is already there.
    async fn discard_stale_input(&mut self, port: &mut C::Port) -> io::Result<()> {
        let mut chunk = [0u8; MAX_ADU_LEN];
        loop {
            match read_ready(port, &mut chunk) {
                None => return Ok(()),
                Some(Ok(0)) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the port closed")),
                Some(Ok(n)) => tracing::debug!(bus = %self.bus, bytes = n, "dropped stale bytes"),
                Some(Err(error)) => return Err(error),
            }
        }
    }

    /// After a garbled frame: reads until the line has been quiet for t3.5 (at most 50 ms),
    /// then the next request starts on a clean line.
    async fn wait_for_silence(&mut self, port: &mut C::Port) -> io::Result<()> {
        let quiet = timing::frame_gap(self.settings.baud).max(Duration::from_millis(2));
        let give_up = Instant::now() + Duration::from_millis(50);
        let mut chunk = [0u8; MAX_ADU_LEN];
        let waited = Instant::now();
        while Instant::now() < give_up {
            match tokio::time::timeout(quiet, port.read(&mut chunk)).await {
                Err(_) => break,
                Ok(Ok(0)) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the port closed")),
                Ok(Ok(_)) => {}
                Ok(Err(error)) => return Err(error),
            }
        }
        self.io_wait += waited.elapsed();
        self.last_line_activity = Some(Instant::now());
        Ok(())
    }

    async fn answered(&mut self, i: usize) {
        let unit = &mut self.units[i];
        unit.misses = 0;
        unit.health.consecutive_misses = 0;
        unit.health.last_seen_unix_ms = Some(unix_ms_now());
        if unit.status != UnitStatus::Online {
            unit.status = UnitStatus::Online;
            // Whatever the unit showed before, write everything again; keys held while it
            // was away are not presses.
            unit.confirmed = Confirmed::unknown(&unit.spec.layout);
            unit.debouncer.reset();
            if unit.reported_online != Some(true) {
                unit.reported_online = Some(true);
                let event = BusEvent::UnitOnline { bus: self.bus.clone(), unit: unit.spec.unit };
                tracing::info!(bus = %self.bus, unit = unit.spec.unit, "unit online");
                self.emit(event).await;
            }
        }
    }

    async fn missed(&mut self, i: usize) {
        let threshold = self.settings.offline_after_misses.max(1);
        let unit = &mut self.units[i];
        unit.misses = unit.misses.saturating_add(1);
        unit.health.consecutive_misses = unit.misses;
        if unit.status != UnitStatus::Offline && unit.misses >= threshold {
            unit.status = UnitStatus::Offline;
            unit.next_probe = Instant::now() + self.settings.offline_retry;
            self.mark_offline(i).await;
        }
    }

    async fn mark_offline(&mut self, i: usize) {
        let unit = &mut self.units[i];
        unit.status = UnitStatus::Offline;
        unit.confirmed = Confirmed::unknown(&unit.spec.layout);
        unit.debouncer.reset();
        if unit.reported_online != Some(false) {
            unit.reported_online = Some(false);
            unit.health.went_offline += 1;
            tracing::warn!(bus = %self.bus, unit = unit.spec.unit, "unit offline");
            let event = BusEvent::UnitOffline { bus: self.bus.clone(), unit: unit.spec.unit };
            self.emit(event).await;
        }
    }

    async fn all_offline(&mut self) {
        for i in 0..self.units.len() {
            self.mark_offline(i).await;
        }
    }

    async fn emit(&self, event: BusEvent) {
        // The owner may be gone at shutdown; the bus keeps its state either way.
        let _ = self.events.send(event).await;
    }

    fn sample_exchange(&self, started: Instant, waited_before: Duration, poll: bool, response_bytes: usize) {
        if let Some(tx) = &self.timing {
            let total = started.elapsed();
            let processing = total.saturating_sub(self.io_wait.saturating_sub(waited_before));
            let _ = tx.send(Timing::Exchange {
                processing,
                total,
                request_bytes: self.tx.len(),
                response_bytes,
                poll,
            });
        }
    }

    fn publish_health(&mut self) {
        let health = BusHealth {
            bus: self.settings.id.clone(),
            link: self.link.clone(),
            cycles: self.cycles,
            last_cycle_us: u64::try_from(self.last_cycle.as_micros()).unwrap_or(u64::MAX),
            units: self.units.iter().map(|u| UnitHealth { status: u.status, ..u.health.clone() }).collect(),
        };
        self.health_tx.send_replace(health);
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

/// Reads what is already buffered, without waiting: `None` when nothing is. (A zero
/// timer would wait for the next timer tick, a millisecond.)
fn read_ready<P: tokio::io::AsyncRead + Unpin>(port: &mut P, buf: &mut [u8]) -> Option<io::Result<usize>> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut read = tokio::io::ReadBuf::new(buf);
    match std::pin::Pin::new(port).poll_read(&mut cx, &mut read) {
        std::task::Poll::Ready(Ok(())) => Some(Ok(read.filled().len())),
        std::task::Poll::Ready(Err(error)) => Some(Err(error)),
        std::task::Poll::Pending => None,
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
mod tests {
    use super::*;

    #[test]
    fn differing_finds_the_smallest_covering_run() {
        let want = [true, false, true, false];
        assert_eq!(differing(&want, &[Some(true), Some(false), Some(true), Some(false)], 100), None);
        assert_eq!(differing(&want, &[Some(true), Some(true), Some(true), Some(true)], 100), Some((1, 4)));
        assert_eq!(differing(&want, &[Some(true), None, Some(true), Some(false)], 100), Some((1, 2)));
        assert_eq!(differing(&want, &[None, None, None, None], 2), Some((0, 2)));
    }

    #[test]
    fn blocks_span_addresses() {
        assert_eq!(Block::spanning([5, 3, 9]), Some(Block { start: 3, count: 7 }));
        assert_eq!(Block::spanning(std::iter::empty()), None);
        assert!(Block { start: 3, count: 7 }.contains(9));
        assert!(!Block { start: 3, count: 7 }.contains(10));
    }

    #[test]
    fn fit_pads_and_cuts() {
        assert_eq!(fit(&[1u16, 2], 4, 0), vec![1, 2, 0, 0]);
        assert_eq!(fit(&[true, true, true], 2, false), vec![true, true]);
    }
}
