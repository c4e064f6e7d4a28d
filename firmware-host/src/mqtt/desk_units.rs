//! Networked desk units on the MQTT broker (contract: devices/docs/mqtt-desk-units.md).
//!
//! Key events become engine commands through the same translation as Modbus units
//! (`desks::translate`), and every unit's retained `outputs` are recomputed from each
//! snapshot with the same pure function (`desks::outputs::desk_outputs`): the units
//! remember nothing, podiumd restores their lamps whenever they (re)connect.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use podium_devices::modbus::desk::DeskKey;
use podium_devices::mqtt_units::{self, Dedup, DeskTopics, UnitMessage};
use podium_floor::{Instant, Outcome, Snapshot};
use serde::{Deserialize, Serialize};

use crate::config::{MemberCredentials, MqttDeskUnit};
use crate::desks::mapping::Binding;
use crate::desks::{outputs, translate};
use crate::room::voice::{Ear, HeardVoice, VoiceSender};
use crate::session::{Answer, SessionClosed, SessionHandle, Source};

/// A networked unit's state as the technician sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeskUnitStatus {
    /// The unit's id.
    pub id: String,
    /// Its seat.
    pub seat: u16,
    /// Online, by its retained status and last will.
    pub online: bool,
    /// Firmware version it reported.
    pub firmware: Option<String>,
    /// Key events accepted from it.
    pub key_events: u64,
    /// Voice activity messages accepted from it (voice mode).
    pub voice_events: u64,
    /// Messages from it that were malformed or repeated.
    pub rejected: u64,
}

/// What a message on the broker was to the desk units.
#[derive(Debug)]
pub enum DeskMessage {
    /// Not a desk-unit topic.
    NotMine,
    /// Handled: a status, a malformed or repeated message, a key that means nothing.
    Done,
    /// A key's command, handed to the session; its answer is still to come.
    Key {
        /// The unit's id.
        unit: String,
        /// The engine's answer, once the command is applied (and journaled).
        answer: Answer,
    },
}

/// The networked desk units of one room.
#[derive(Debug)]
pub struct DeskUnits {
    topics: DeskTopics,
    units: BTreeMap<String, MqttDeskUnit>,
    status: Mutex<BTreeMap<String, DeskUnitStatus>>,
    dedup: Mutex<Dedup>,
    /// The members' badges and PINs (`[[member]]`).
    credentials: MemberCredentials,
    /// Where the units' voice activity goes (the room task).
    voices: VoiceSender,
}

impl DeskUnits {
    /// The units configured for this room.
    pub fn new(
        prefix: &str,
        room: &str,
        units: &[MqttDeskUnit],
        credentials: MemberCredentials,
        voices: VoiceSender,
    ) -> Self {
        let status = units
            .iter()
            .map(|u| (u.id.clone(), DeskUnitStatus { id: u.id.clone(), seat: u.seat, ..Default::default() }))
            .collect();
        DeskUnits {
            topics: DeskTopics::new(prefix, room),
            units: units.iter().map(|u| (u.id.clone(), u.clone())).collect(),
            status: Mutex::new(status),
            dedup: Mutex::new(Dedup::default()),
            credentials,
            voices,
        }
    }

    /// Whether any unit is configured.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// What to subscribe to.
    pub fn subscriptions(&self) -> [String; 4] {
        self.topics.subscriptions()
    }

    /// Every unit's state.
    pub fn report(&self) -> Vec<DeskUnitStatus> {
        self.status.lock().map(|s| s.values().cloned().collect()).unwrap_or_default()
    }

    fn update(&self, unit: &str, change: impl FnOnce(&mut DeskUnitStatus)) {
        if let Ok(mut status) = self.status.lock()
            && let Some(entry) = status.get_mut(unit)
        {
            change(entry);
        }
    }

    /// Handles a message if its topic is a desk-unit topic. A key's command is handed to
    /// the session without waiting for its answer ([`DeskMessage::Key`]).
    pub async fn on_message(&self, topic: &str, payload: &[u8], session: &SessionHandle) -> DeskMessage {
        let Some((unit, kind)) = self.topics.parse(topic) else {
            return DeskMessage::NotMine;
        };
        let Some(config) = self.units.get(unit) else {
            tracing::warn!(unit, "message from a desk unit that is not in the room configuration");
            return DeskMessage::Done;
        };
        match mqtt_units::decode(kind, payload) {
            Err(error) => {
                tracing::warn!(unit, %error, "malformed desk-unit message");
                self.update(unit, |s| s.rejected += 1);
            }
            Ok(UnitMessage::Status(status)) => {
                if !status.online {
                    if let Ok(mut dedup) = self.dedup.lock() {
                        // It restarts with its counter at 0.
                        dedup.forget(unit);
                    }
                    // Nobody is heard through a unit that is gone.
                    self.heard(unit, config.seat, false).await;
                }
                self.update(unit, |s| {
                    s.online = status.online;
                    if status.firmware.is_some() {
                        s.firmware = status.firmware.clone();
                    }
                });
            }
            Ok(UnitMessage::Key(key)) => {
                let new = self.dedup.lock().map(|mut d| d.is_new(unit, key.seq)).unwrap_or(true);
                if !new {
                    self.update(unit, |s| s.rejected += 1);
                    return DeskMessage::Done;
                }
                self.update(unit, |s| {
                    s.key_events += 1;
                    s.online = true;
                });
                let Some((command, actor)) = translate::command(binding(config, key.key), key.pressed) else {
                    return DeskMessage::Done;
                };
                let source = Source::Mqtt(format!("desk:{unit}"));
                match session.enqueue_from(source, command, actor).await {
                    Ok(answer) => return DeskMessage::Key { unit: unit.to_owned(), answer },
                    Err(error) => tracing::warn!(unit, %error, "key dropped"),
                }
            }
            Ok(UnitMessage::Voice(voice)) => {
                let new = self.dedup.lock().map(|mut d| d.is_new(unit, voice.seq)).unwrap_or(true);
                if !new {
                    self.update(unit, |s| s.rejected += 1);
                    return DeskMessage::Done;
                }
                self.update(unit, |s| {
                    s.voice_events += 1;
                    s.online = true;
                });
                self.heard(unit, config.seat, voice.active).await;
            }
            Ok(UnitMessage::Credential(payload)) => {
                let new = self.dedup.lock().map(|mut d| d.is_new(unit, payload.seq)).unwrap_or(true);
                if !new {
                    self.update(unit, |s| s.rejected += 1);
                    return DeskMessage::Done;
                }
                self.update(unit, |s| s.online = true);
                // `decode` accepted it, so it carries a credential.
                let Some(credential) = payload.credential() else { return DeskMessage::Done };
                let (command, actor) = match translate::credential(
                    config.seat,
                    &credential,
                    &self.credentials,
                ) {
                    translate::CredentialCommand::Command(command, actor) => (command, actor),
                    translate::CredentialCommand::UnknownBadge(uid) => {
                        tracing::warn!(unit, seat = config.seat, badge = %uid, "unknown badge: no [[member]] has this badge");
                        return DeskMessage::Done;
                    }
                    translate::CredentialCommand::UnknownPin => {
                        tracing::warn!(unit, seat = config.seat, "unknown PIN entered: no [[member]] has it");
                        return DeskMessage::Done;
                    }
                };
                let source = Source::Mqtt(format!("desk:{unit}"));
                match session.enqueue_from(source, command, actor).await {
                    Ok(answer) => return DeskMessage::Key { unit: unit.to_owned(), answer },
                    Err(error) => tracing::warn!(unit, %error, "credential dropped"),
                }
            }
        }
        DeskMessage::Done
    }

    /// Hands a unit's voice activity to the room task, waiting while its queue is full: a
    /// lost silence would leave a microphone open. (The room task never waits for MQTT.)
    async fn heard(&self, unit: &str, seat: u16, hearing: bool) {
        let heard = HeardVoice { seat, ear: Ear::Unit(unit.to_owned()), hearing };
        if self.voices.send(heard).await.is_err() {
            tracing::debug!(unit, seat, hearing, "voice activity after the room task ended");
        }
    }

    /// Logs the answer to a key's or credential's command (the session counts rejections
    /// per source).
    pub fn key_answered(unit: &str, answer: Result<Outcome, SessionClosed>) {
        match answer {
            Ok(Ok(_)) => {}
            Ok(Err(rejection)) => tracing::debug!(unit, reason = rejection.reason.code(), "key rejected"),
            Err(error) => tracing::warn!(unit, %error, "key dropped"),
        }
    }

    /// Every unit's `outputs` and `vote` topics and payloads for this snapshot, at engine
    /// time `now`. The vote lamps have a topic of their own, so units of contract version
    /// 1 (which reject unknown fields in `outputs`) keep working.
    pub fn outputs(&self, snapshot: &Snapshot, now: Instant) -> HashMap<String, Vec<u8>> {
        let index = outputs::FloorIndex::new(snapshot);
        self.units
            .values()
            .flat_map(|u| {
                let desired = outputs::desk_outputs(&index, u.seat, u.chair, now);
                [
                    (self.topics.outputs(&u.id), mqtt_units::encode_outputs(&desired)),
                    (self.topics.vote(&u.id), mqtt_units::encode_vote(&desired)),
                ]
            })
            .collect()
    }
}

/// On the chair's unit the priority, next and stop keys act for the chair; every other
/// key is the seat's own.
fn binding(unit: &MqttDeskUnit, key: DeskKey) -> Binding {
    match key {
        DeskKey::Priority | DeskKey::Next | DeskKey::Stop if unit.chair => {
            Binding::ChairKey { key, clears_requests: unit.priority_clears_requests }
        }
        key => Binding::SeatKey { seat: unit.seat, key },
    }
}
