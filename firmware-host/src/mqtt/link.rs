//! The MQTT link: a rumqttc client kept connected to the broker.
//!
//! Three tasks: the event loop (polled continuously, never awaits a publish; on every
//! ConnAck it resubscribes and republishes the retained topics, since rumqttc does neither
//! by itself; after an error it backs off, capped), the inbound task (remote messages →
//! session commands, handed over without waiting for the previous answer → replies, and
//! with an external broker the acknowledgement once handled, in arrival order), and the
//! outbound task (events, state and conference
//! commands → broker). Outgoing publishes use `try_publish` into a bounded queue: with the
//! broker down, events beyond the queue are dropped and counted, never buffered without
//! limit; the retained state and conference topics are republished on reconnect, so
//! consumers converge to the truth.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use podium_floor::{Actor, Reason, Station};
use rumqttc::{AsyncClient, Event as MqttEvent, LastWill, MqttOptions, Packet, QoS, Transport};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::contract::{self, EventPayload, Reply, StatePayload, Status, Topics, VERSION};
use super::desk_units::{DeskMessage, DeskUnits};
use super::redelivery::Redeliveries;
use crate::config::{MqttBroker, MqttConfig, RoomConfig};
use crate::session::{Answer, CommandError, SessionClosed, SessionHandle, Source};

/// Outgoing requests queued for the event loop at most (bounds memory with the broker down).
pub const OUTGOING_QUEUE: usize = 512;
/// Incoming remote messages waiting for the session at most.
const INBOUND_QUEUE: usize = 1024;
/// The retained full state is republished at most this often (events carry every change).
pub const STATE_INTERVAL: Duration = Duration::from_millis(200);
const BACKOFF_START: Duration = Duration::from_millis(200);
/// How often an acknowledgement is tried again while the outgoing queue is full.
const ACK_RETRY: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Counters and state of the link, for diagnostics.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Connected to the broker now.
    pub connected: AtomicBool,
    /// Successful connections (ConnAck) since start.
    pub connects: AtomicU64,
    /// Remote messages turned into accepted commands.
    pub accepted: AtomicU64,
    /// Remote messages rejected by the floor rules.
    pub rejected: AtomicU64,
    /// Remote messages that were not valid contract messages.
    pub malformed: AtomicU64,
    /// Messages dropped because a queue was full: outgoing publishes (broker down or slow)
    /// and, rarely, inbound messages while the session is far behind.
    pub dropped: AtomicU64,
    /// The last connection error.
    pub last_error: Mutex<Option<String>>,
    /// How long the latest remote commands took inside podiumd.
    pub handling: Mutex<HandlingTimes>,
}

/// The time from a remote command's arrival off the broker connection until its change was
/// published to the event streams (journaled first while a meeting is open), over the most
/// recent commands: what podiumd itself adds to the remote path, measured where it happens.
#[derive(Debug, Default)]
pub struct HandlingTimes {
    recent_us: VecDeque<u32>,
}

impl HandlingTimes {
    /// Commands kept for the figures.
    const KEPT: usize = 256;

    fn record(&mut self, took: Duration) {
        if self.recent_us.len() == Self::KEPT {
            self.recent_us.pop_front();
        }
        self.recent_us.push_back(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
    }

    fn summary(&self) -> Option<HandlingSummary> {
        let mut sorted: Vec<u32> = self.recent_us.iter().copied().collect();
        sorted.sort_unstable();
        let at = |quantile: f64| sorted[((sorted.len() - 1) as f64 * quantile).round() as usize];
        (!sorted.is_empty()).then(|| HandlingSummary {
            commands: sorted.len(),
            p50_us: at(0.5),
            p99_us: at(0.99),
            max_us: at(1.0),
        })
    }
}

/// Percentiles of [`HandlingTimes`], in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct HandlingSummary {
    /// How many recent commands the figures cover (at most 256).
    pub commands: usize,
    /// Median.
    pub p50_us: u32,
    /// 99th percentile.
    pub p99_us: u32,
    /// Slowest.
    pub max_us: u32,
}

/// A serialisable view of [`LinkStats`].
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LinkStatus {
    /// Broker address as configured.
    pub broker: String,
    /// Connected now.
    pub connected: bool,
    /// Successful connections since start.
    pub connects: u64,
    /// Remote messages accepted.
    pub accepted: u64,
    /// Remote messages rejected by the rules.
    pub rejected: u64,
    /// Malformed remote messages.
    pub malformed: u64,
    /// Messages dropped for a full queue (mostly outgoing publishes with the broker down).
    pub dropped: u64,
    /// Last connection error.
    pub last_error: Option<String>,
    /// Networked desk units on this broker.
    pub desk_units: Vec<super::desk_units::DeskUnitStatus>,
    /// Remote command received → change published, over the latest commands; absent
    /// before the first.
    pub handling: Option<HandlingSummary>,
}

/// A handle to the running link.
#[derive(Debug, Clone)]
pub struct Link {
    broker: String,
    stats: Arc<LinkStats>,
    desks: Arc<DeskUnits>,
    outlet: Outlet,
}

/// Publishes on the room's topics for tasks outside the link (the fleet's health), and
/// tells them when the link has connected again (their retained topics are sent again).
#[derive(Clone)]
pub struct Outlet {
    client: AsyncClient,
    topics: Topics,
    stats: Arc<LinkStats>,
    connected: watch::Receiver<u64>,
}

impl std::fmt::Debug for Outlet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outlet").field("topics", &self.topics).finish_non_exhaustive()
    }
}

impl Outlet {
    /// The room's topics.
    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// Queues a message (QoS 1); a full queue drops it and counts it, as for every topic.
    pub fn publish(&self, topic: String, retain: bool, payload: Vec<u8>) {
        publish(&self.client, &self.stats, topic, retain, payload);
    }

    /// Changes each time the link connects (its value counts the connections).
    pub fn connections(&self) -> watch::Receiver<u64> {
        self.connected.clone()
    }
}

impl Link {
    /// The networked desk units (their health, for the fleet's health document).
    pub fn desk_units(&self) -> Arc<DeskUnits> {
        self.desks.clone()
    }

    /// Publishing on the room's topics, for tasks outside the link.
    pub fn outlet(&self) -> Outlet {
        self.outlet.clone()
    }

    /// The link's current status.
    pub fn status(&self) -> LinkStatus {
        let s = &self.stats;
        LinkStatus {
            broker: self.broker.clone(),
            connected: s.connected.load(Ordering::Relaxed),
            connects: s.connects.load(Ordering::Relaxed),
            accepted: s.accepted.load(Ordering::Relaxed),
            rejected: s.rejected.load(Ordering::Relaxed),
            malformed: s.malformed.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            last_error: s.last_error.lock().map(|e| e.clone()).unwrap_or(None),
            desk_units: self.desks.report(),
            handling: s.handling.lock().ok().and_then(|h| h.summary()),
        }
    }
}

/// Connects to the configured broker (starting the embedded one if configured) and runs
/// the link until `cancel` fires. Returns at once; the connection is made in the background.
pub fn start(
    room: &RoomConfig,
    session: SessionHandle,
    voices: crate::room::voice::VoiceSender,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> anyhow::Result<Link> {
    let config: &MqttConfig = room.mqtt.as_ref().context("no [mqtt] section")?;
    let room_id = room.room_id.as_str();
    let desks = Arc::new(DeskUnits::new(
        &config.prefix,
        room_id,
        &room.mqtt_desk_units,
        room.desks.credentials.clone(),
        voices,
    ));
    let mut internal_login = None;
    // What clients connect to (the embedded broker's gate, if it has one).
    let mut shown = None;
    let (host, port) = match &config.broker {
        MqttBroker::Embedded { listen } => {
            let accounts = config.embedded_credentials(&room.mqtt_desk_units).then(|| {
                super::rights::Accounts::new(
                    &format!("{}/{room_id}", config.prefix),
                    &room.mqtt_desk_units,
                    &config.accounts,
                )
            });
            let embedded = super::broker::start(*listen, accounts)?;
            if let Some((listener, gate)) = embedded.gate {
                tracker.spawn(super::gate::serve(listener, gate, cancel.clone()));
            }
            internal_login = embedded.login;
            shown = Some(embedded.listen.to_string());
            let connect = embedded.connect;
            let host = if connect.ip().is_unspecified() {
                "127.0.0.1".to_string()
            } else {
                connect.ip().to_string()
            };
            (host, connect.port())
        }
        MqttBroker::External { host, port } => (host.clone(), *port),
    };
    let topics = Topics::new(&config.prefix, room_id);
    let client_id = config.client_id.clone().unwrap_or_else(|| format!("podiumd-{room_id}"));
    let mut options = MqttOptions::new(client_id, host.clone(), port);
    options
        .set_keep_alive(Duration::from_secs(u64::from(config.keep_alive_s)))
        // A persistent session: the broker keeps remote requests while podiumd restarts.
        .set_clean_session(false)
        .set_manual_acks(acknowledge_when_handled(&config.broker))
        .set_max_packet_size(super::broker::MAX_PACKET, super::broker::MAX_PACKET)
        .set_request_channel_capacity(OUTGOING_QUEUE)
        .set_last_will(LastWill::new(
            topics.status(),
            json(&Status { v: VERSION, online: false }),
            QoS::AtLeastOnce,
            true,
        ));
    if let Some(login) = internal_login {
        options.set_credentials(login.username, login.password);
    } else if let Some(user) = &config.username {
        options.set_credentials(user.clone(), password(config)?);
    }
    if config.tls {
        options.set_transport(Transport::tls_with_config(tls_config(config)?));
    }
    let (client, mut eventloop) = AsyncClient::new(options, OUTGOING_QUEUE);
    // Small messages must leave at once; Nagle's algorithm would hold them for an ACK.
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    let stats = Arc::new(LinkStats::default());
    let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_QUEUE);

    let reconnected = Arc::new(tokio::sync::Notify::new());
    let (connections_tx, connections) = watch::channel(0u64);
    let outlet = Outlet {
        client: client.clone(),
        topics: topics.clone(),
        stats: stats.clone(),
        connected: connections,
    };
    let link = Links {
        client,
        topics,
        session,
        stats: stats.clone(),
        desks: desks.clone(),
        manual_acks: acknowledge_when_handled(&config.broker),
        connection: Arc::new(AtomicU64::new(0)),
    };
    tracker.spawn(run_event_loop(
        eventloop,
        link.clone(),
        inbound_tx,
        (reconnected.clone(), connections_tx),
        cancel.clone(),
    ));
    tracker.spawn(run_inbound(inbound_rx, link.clone(), cancel.clone()));
    tracker.spawn(run_outbound(link, reconnected, cancel));
    Ok(Link { broker: shown.unwrap_or_else(|| format!("{host}:{port}")), stats, desks, outlet })
}

/// What the link's tasks share.
#[derive(Clone)]
struct Links {
    client: AsyncClient,
    topics: Topics,
    session: SessionHandle,
    stats: Arc<LinkStats>,
    desks: Arc<DeskUnits>,
    /// Inbound messages are acknowledged by the inbound task once handled, not by rumqttc
    /// on arrival.
    manual_acks: bool,
    /// Counts connections made and lost: an acknowledgement belongs to the connection its
    /// message came on, and is not sent on a later one.
    connection: Arc<AtomicU64>,
}

/// Whether podiumd acknowledges inbound messages only once handled. With an external broker
/// a message podiumd had not handled when it stopped is delivered again. The embedded broker
/// dies with podiumd, so late acknowledgements gain nothing there, and rumqttd pauses a
/// client with 100 unacknowledged deliveries, which late acknowledgements queued behind
/// podiumd's own publishes could turn into a stall.
fn acknowledge_when_handled(broker: &MqttBroker) -> bool {
    matches!(broker, MqttBroker::External { .. })
}

fn password(config: &MqttConfig) -> anyhow::Result<String> {
    if let Some(file) = &config.password_file {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_string());
    }
    Ok(config.password.clone().unwrap_or_default())
}

fn tls_config(config: &MqttConfig) -> anyhow::Result<rumqttc::TlsConfiguration> {
    let ca_file =
        config.ca_file.as_ref().context("mqtt.tls needs mqtt.ca_file (the CA that signed the broker)")?;
    let pem = std::fs::read(ca_file).with_context(|| format!("cannot read {}", ca_file.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.context("bad certificate in mqtt.ca_file")?).context("unusable CA certificate")?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(rumqttc::TlsConfiguration::Rustls(Arc::new(client)))
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Queues a publish without waiting; a full queue drops it and counts the drop.
fn publish(client: &AsyncClient, stats: &LinkStats, topic: String, retain: bool, payload: Vec<u8>) {
    if client.try_publish(topic, QoS::AtLeastOnce, retain, payload).is_err() {
        stats.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Publishes the retained topics from the current snapshot.
fn publish_retained(client: &AsyncClient, topics: &Topics, session: &SessionHandle, stats: &LinkStats) {
    let snapshot = session.snapshot();
    publish(client, stats, topics.status(), true, json(&Status { v: VERSION, online: true }));
    let public = podium_floor::public_view(&snapshot);
    publish(client, stats, topics.private("conference"), true, json(&contract::conference(&snapshot)));
    publish(client, stats, topics.conference(), true, json(&contract::conference(&public)));
    publish(
        client,
        stats,
        topics.private("state"),
        true,
        json(&StatePayload { v: VERSION, snapshot: &snapshot }),
    );
    publish(client, stats, topics.state(), true, json(&StatePayload { v: VERSION, snapshot: &public }));
}

async fn run_event_loop(
    mut eventloop: rumqttc::EventLoop,
    link: Links,
    inbound: mpsc::Sender<Inbound>,
    (reconnected, connections): (Arc<tokio::sync::Notify>, watch::Sender<u64>),
    cancel: CancellationToken,
) {
    let Links { client, topics, session, stats, desks, manual_acks, connection } = link;
    let mut backoff = BACKOFF_START;
    let mut redeliveries = Redeliveries::default();
    loop {
        let polled = tokio::select! {
            _ = cancel.cancelled() => break,
            polled = eventloop.poll() => polled,
        };
        match polled {
            Ok(MqttEvent::Incoming(Packet::ConnAck(ack))) => {
                redeliveries.connected(ack.session_present);
                connection.fetch_add(1, Ordering::Relaxed);
                backoff = BACKOFF_START;
                stats.connected.store(true, Ordering::Relaxed);
                stats.connects.fetch_add(1, Ordering::Relaxed);
                tracing::info!("MQTT connected");
                let mut filters = vec![topics.remote_filter()];
                if !desks.is_empty() {
                    filters.extend(desks.subscriptions());
                }
                for filter in filters {
                    if client.try_subscribe(filter, QoS::AtLeastOnce).is_err() {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                publish_retained(&client, &topics, &session, &stats);
                // The outbound task republishes every desk unit's outputs, the fleet's
                // publisher the room's health.
                reconnected.notify_one();
                connections.send_modify(|n| *n += 1);
            }
            Ok(MqttEvent::Incoming(Packet::Publish(message)))
                if redeliveries.is_repeat(message.pkid, message.dup, &message.topic, &message.payload) =>
            {
                // Handled on the connection before: acknowledge it again, do not act twice.
                tracing::debug!(pkid = message.pkid, "redelivered MQTT message acknowledged, not handled");
                if manual_acks && client.try_ack(&message).is_err() {
                    tracing::warn!("redelivered message left unacknowledged: outgoing queue full");
                }
            }
            Ok(MqttEvent::Incoming(Packet::Publish(message))) => {
                let inbound_message = Inbound {
                    message,
                    arrived: Instant::now(),
                    connection: connection.load(Ordering::Relaxed),
                };
                match inbound.try_send(inbound_message) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(dropped)) => {
                        // The session is far behind; dropping is safer than stalling the link.
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("remote message dropped: inbound queue full");
                        // Acknowledged regardless, so the broker's in-flight window does not
                        // stay occupied (unless the outgoing queue is full too).
                        if manual_acks && client.try_ack(&dropped.message).is_err() {
                            tracing::warn!("dropped remote message left unacknowledged: outgoing queue full");
                        }
                    }
                    // The inbound task has ended: the session is shutting down.
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
            Ok(_) => {}
            Err(error) => {
                // Acknowledgements still queued for the lost connection must not go out on
                // the next one (rumqttc drops those already in its queue; the inbound task
                // checks the count before queueing one).
                connection.fetch_add(1, Ordering::Relaxed);
                if manual_acks {
                    // Messages read in the same batch as the failure would be handed out after
                    // the next ConnAck, looking like the new connection's; the broker sends
                    // them again, unacknowledged as they are.
                    eventloop
                        .state
                        .events
                        .retain(|event| !matches!(event, MqttEvent::Incoming(Packet::Publish(_))));
                }
                if stats.connected.swap(false, Ordering::Relaxed) {
                    tracing::warn!(%error, "MQTT connection lost");
                } else {
                    tracing::debug!(%error, "MQTT connect failed");
                }
                if let Ok(mut last) = stats.last_error.lock() {
                    *last = Some(error.to_string());
                }
                // rumqttc reconnects on the next poll at once; back off ourselves.
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
    // Best effort: say goodbye so consumers do not wait for the keep-alive to expire.
    let _ = client.try_publish(
        topics.status(),
        QoS::AtLeastOnce,
        true,
        json(&Status { v: VERSION, online: false }),
    );
    let _ = tokio::time::timeout(Duration::from_millis(200), async {
        let _ = client.try_disconnect();
        while let Ok(event) = eventloop.poll().await {
            if matches!(event, MqttEvent::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
}

/// A message off the broker connection, when it arrived and on which connection.
struct Inbound {
    message: rumqttc::Publish,
    arrived: Instant,
    connection: u64,
}

/// Messages handed to the session whose answers are still awaited, at most; beyond it the
/// inbound task waits for answers before taking the next message.
const MESSAGES_IN_FLIGHT: usize = 256;

/// Hands each message's command to the session without waiting for the answer to the one
/// before (while a meeting is open, a journal write), so messages that arrive together are
/// written together; replies and acknowledgements follow the answers, in arrival order.
async fn run_inbound(mut messages: mpsc::Receiver<Inbound>, link: Links, cancel: CancellationToken) {
    let mut in_flight = FuturesOrdered::new();
    loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            Some((inbound, handled)) = in_flight.next(), if !in_flight.is_empty() => {
                if !finish(inbound, handled, &link, &cancel).await {
                    return;
                }
            }
            message = messages.recv(), if in_flight.len() < MESSAGES_IN_FLIGHT => match message {
                Some(inbound) => {
                    let awaiting = hand_over(&inbound.message, &link).await;
                    in_flight.push_back(settle(inbound, awaiting, &link));
                }
                None => return,
            },
        }
    }
}

/// Replies to a handled message and acknowledges it. Returns false when the session or the
/// link is shutting down.
async fn finish(inbound: Inbound, handled: Handled, link: &Links, cancel: &CancellationToken) -> bool {
    let Inbound { message, arrived, connection } = inbound;
    let reply = match handled {
        Handled::Done => None,
        Handled::Reply(participant, reply) => Some((participant, reply)),
        // Unacknowledged, the broker delivers it again to the next podiumd.
        Handled::SessionClosed => return false,
    };
    if reply.as_ref().is_some_and(|(_, reply)| reply.ok) {
        // The owner answers after publishing; every event stream woken has been served.
        if let Ok(mut handling) = link.stats.handling.lock() {
            handling.record(arrived.elapsed());
        }
    }
    // The reply and the acknowledgement only confirm to the bridge and the broker;
    // consoles and devices woken by the same change go first.
    tokio::task::yield_now().await;
    if let Some((participant, reply)) = reply {
        publish(&link.client, &link.stats, link.topics.reply(&participant), false, json(&reply));
    }
    !link.manual_acks || acknowledge(link, &message, connection, cancel).await
}

/// Acknowledges a handled message (recorded, while a meeting is open): a podiumd that stops
/// before this gets the message again from the broker. An acknowledgement is never dropped
/// for a full outgoing queue: the broker sends no more than its in-flight window
/// unacknowledged, so waiting holds only the remote side back. One for a connection since
/// lost is not sent, not even after waiting: the broker delivers the message again, and on
/// a new session its packet id may name another message. Returns false at shutdown.
async fn acknowledge(
    link: &Links,
    message: &rumqttc::Publish,
    connection: u64,
    cancel: &CancellationToken,
) -> bool {
    loop {
        if cancel.is_cancelled() {
            return false;
        }
        if connection != link.connection.load(Ordering::Relaxed) || link.client.try_ack(message).is_ok() {
            return true;
        }
        // The queue is full (or the event loop is ending, which `cancel` shows next).
        tokio::time::sleep(ACK_RETRY).await;
    }
}

/// What became of one inbound message.
enum Handled {
    /// Nothing to answer (a desk unit's message, or a topic that is no command).
    Done,
    /// Answer the remote participant.
    Reply(String, Reply),
    SessionClosed,
}

/// A message whose command was handed to the session, with what it still waits for.
enum Awaiting {
    /// Nothing: handled already.
    Nothing(Handled),
    /// A remote participant's command: the reply follows the engine's answer.
    Remote { participant: String, action: String, answer: Answer },
    /// A networked desk unit's key.
    DeskKey { unit: String, answer: Answer },
}

/// Turns a message into a command and hands it to the session; waits only for room in the
/// owner's queue, not for the answer.
async fn hand_over(message: &rumqttc::Publish, link: &Links) -> Awaiting {
    let Links { topics, session, stats, desks, .. } = link;
    match desks.on_message(&message.topic, &message.payload, session).await {
        DeskMessage::NotMine => {}
        DeskMessage::Done => return Awaiting::Nothing(Handled::Done),
        DeskMessage::Key { unit, answer } => return Awaiting::DeskKey { unit, answer },
    }
    let Some((participant, action)) = topics.parse_remote(&message.topic) else {
        return Awaiting::Nothing(Handled::Done);
    };
    if participant.len() > contract::MAX_PARTICIPANT_ID {
        // Never a member id: no reply (its topic would carry the id), no rate-limit bucket.
        stats.malformed.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(len = participant.len(), "remote message with an oversized participant id ignored");
        return Awaiting::Nothing(Handled::Done);
    }
    let reply = match contract::inbound_command(participant, action, &message.payload) {
        Err(contract::InboundError::NotACommand) => return Awaiting::Nothing(Handled::Done),
        Err(error) => {
            stats.malformed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(topic = %message.topic, %error, "malformed remote message");
            Reply::rejected(action, error.code(), error.to_string())
        }
        // A rate-limit bucket only for a participant of the room: made-up ids get the
        // engine's answer here, and never a source of their own.
        Ok(_) if !session.snapshot().participants.iter().any(|p| p.id == participant) => {
            stats.rejected.fetch_add(1, Ordering::Relaxed);
            Reply::from_reason(
                action,
                Reason::UnknownParticipant,
                format!("there is no participant {participant}"),
            )
        }
        Ok(command) => {
            let actor = Actor::Station(Station::Remote(participant.to_string()));
            // Each participant is its own source: one flooding client cannot crowd out the rest.
            let source = Source::Mqtt(format!("remote:{participant}"));
            match session.enqueue_from(source, command, actor).await {
                Err(CommandError::Closed) => return Awaiting::Nothing(Handled::SessionClosed),
                Err(error @ CommandError::RateLimited { .. }) => {
                    stats.rejected.fetch_add(1, Ordering::Relaxed);
                    Reply::rejected(action, "rate_limited", error.to_string())
                }
                Ok(answer) => {
                    return Awaiting::Remote {
                        participant: participant.to_string(),
                        action: action.to_string(),
                        answer,
                    };
                }
            }
        }
    };
    Awaiting::Nothing(Handled::Reply(participant.to_string(), reply))
}

/// Waits for the engine's answer to a handed-over message (given once it is applied and,
/// while a meeting is open, journaled) and turns it into what to reply.
async fn settle(inbound: Inbound, awaiting: Awaiting, link: &Links) -> (Inbound, Handled) {
    let handled = match awaiting {
        Awaiting::Nothing(handled) => handled,
        Awaiting::DeskKey { unit, answer } => {
            DeskUnits::key_answered(&unit, answer.await);
            Handled::Done
        }
        Awaiting::Remote { participant, action, answer } => {
            let reply = match answer.with_durability().await.map(|a| (a.outcome, a.durability)) {
                Err(SessionClosed) => return (inbound, Handled::SessionClosed),
                Ok((Ok(events), durability)) => {
                    link.stats.accepted.fetch_add(1, Ordering::Relaxed);
                    let seq =
                        events.last().map(|e| e.seq).unwrap_or_else(|| link.session.snapshot().floor.seq);
                    Reply::accepted(&action, seq, durability)
                }
                Ok((Err(rejection), _)) => {
                    link.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    Reply::from_reason(&action, rejection.reason, rejection.message)
                }
            };
            Handled::Reply(participant, reply)
        }
    };
    (inbound, handled)
}

async fn run_outbound(link: Links, reconnected: Arc<tokio::sync::Notify>, cancel: CancellationToken) {
    let Links { client, topics, session, stats, desks, .. } = link;
    let Ok(subscription) = session.subscribe(None).await else { return };
    // Whether the part was public as of the last event seen: the public `events` topic
    // carries an event only then, and only one that shows nothing the public may not see
    // (see podium_floor::public); otherwise the public state is republished at once.
    // Events up to `represented` are in the state it starts from (or resynchronised to).
    let (mut public_now, mut represented) = match &subscription.start {
        crate::session::Start::Snapshot(snapshot) => (snapshot.floor.public, snapshot.floor.seq),
        crate::session::Start::After(seq) => (false, *seq),
    };
    let mut events = subscription.events;
    let mut snapshots = session.watch();
    let mut last_conference = None;
    let mut last_public_conference = None;
    // The full state is large (every seat and participant): it is coalesced and published
    // at most every STATE_INTERVAL; events carry every change at once.
    let mut state_due: Option<tokio::time::Instant> = None;
    // Desk units' outputs as last published; only changes are sent. The chair display's
    // remaining time changes every second, hence the tick.
    let mut desk_outputs: HashMap<String, Vec<u8>> = HashMap::new();
    let mut desk_tick = tokio::time::interval(Duration::from_secs(1));
    desk_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let mut refresh_desks = false;
        tokio::select! {
            _ = cancel.cancelled() => return,
            event = events.recv() => match event {
                Ok(event) => {
                    // MQTT mirrors the change after the event streams woken with it had their turn.
                    tokio::task::yield_now().await;
                    let payload = json(&EventPayload { v: VERSION, event: &event });
                    publish(&client, &stats, topics.private("events"), false, payload.clone());
                    if event.seq <= represented {
                        continue;
                    }
                    if let podium_floor::Change::PublicChanged { public } = event.change {
                        public_now = public;
                    }
                    if public_now && podium_floor::shown_as_is(&event) {
                        publish(&client, &stats, topics.events(), false, payload);
                    } else {
                        state_due = Some(tokio::time::Instant::now());
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Consumers see the gap in `seq` and resynchronise from the retained state.
                    stats.dropped.fetch_add(missed, Ordering::Relaxed);
                    // A lost event may have switched the part: judge what follows by the
                    // state of now, and skip what it already holds.
                    let now = session.snapshot();
                    public_now = now.floor.public;
                    represented = now.floor.seq;
                    state_due = Some(tokio::time::Instant::now());
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            changed = snapshots.changed() => {
                if changed.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
                let snapshot = snapshots.borrow_and_update().clone();
                let conference = contract::conference(&snapshot);
                // Only a change of what the conference must do is republished, at once.
                let key = (conference.unmuted.clone(), conference.large_video.clone(), conference.speakers.clone());
                if last_conference.as_ref() != Some(&key) {
                    publish(&client, &stats, topics.private("conference"), true, json(&conference));
                    last_conference = Some(key);
                }
                let public = contract::conference(&podium_floor::public_view(&snapshot));
                let key = (public.unmuted.clone(), public.large_video.clone(), public.speakers.clone());
                if last_public_conference.as_ref() != Some(&key) {
                    publish(&client, &stats, topics.conference(), true, json(&public));
                    last_public_conference = Some(key);
                }
                state_due.get_or_insert_with(|| tokio::time::Instant::now() + STATE_INTERVAL);
                refresh_desks = true;
            }
            _ = sleep_until(state_due) => {
                state_due = None;
                let snapshot = session.snapshot();
                publish(&client, &stats, topics.private("state"), true, json(&StatePayload { v: VERSION, snapshot: &snapshot }));
                let public = podium_floor::public_view(&snapshot);
                publish(&client, &stats, topics.state(), true, json(&StatePayload { v: VERSION, snapshot: &public }));
            }
            _ = reconnected.notified() => {
                desk_outputs.clear();
                refresh_desks = true;
            }
            _ = desk_tick.tick(), if !desks.is_empty() => refresh_desks = true,
        }
        if refresh_desks && !desks.is_empty() {
            let snapshot = session.snapshot();
            for (topic, payload) in desks.outputs(&snapshot, session.clock().now().mono_ms) {
                if desk_outputs.get(&topic) != Some(&payload) {
                    publish(&client, &stats, topic.clone(), true, payload.clone());
                    desk_outputs.insert(topic, payload);
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handling_times_summarise_the_latest_commands() {
        let mut times = HandlingTimes::default();
        assert_eq!(times.summary(), None, "no figures before the first command");
        for us in 1..=100 {
            times.record(Duration::from_micros(us));
        }
        let summary = times.summary().expect("figures");
        assert_eq!((summary.commands, summary.p50_us, summary.p99_us, summary.max_us), (100, 51, 99, 100));
        // Only the latest are kept: 300 slow ones push the fast ones out.
        for _ in 0..300 {
            times.record(Duration::from_millis(2));
        }
        let summary = times.summary().expect("figures");
        assert_eq!((summary.commands, summary.p50_us, summary.max_us), (HandlingTimes::KEPT, 2000, 2000));
    }
}
