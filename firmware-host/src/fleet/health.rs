//! The room's health document for the city's fleet view, and the alarms between two of
//! them. Pure: the publisher (`fleet/mod.rs`) gathers the inputs, this decides what they
//! say. The document goes to the city's IT, beyond the room: it names devices and the
//! agenda item's number, never a non-public item's title nor anyone's name.

use serde::{Deserialize, Serialize};

use podium_devices::health::DeviceHealth;
use podium_floor::{MeetingPhase, Publicity, Snapshot};

use crate::desks::report::DevicesReport;
use crate::journal::{JournalState, JournalStatus};

/// Version of the health document and the alarm payload (the contract's rules: fields are
/// added, never renamed or removed, within a version).
pub const HEALTH_VERSION: u32 = 1;

/// Below this share of free disk the room is in warning, below the next one critical: the
/// journal needs room to write the minutes of a long meeting.
const DISK_WARNING_PERCENT: f64 = 15.0;
const DISK_CRITICAL_PERCENT: f64 = 5.0;

/// How much attention a room needs: the fleet view sorts by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trouble {
    /// Nothing to do.
    Ok,
    /// Something is failing, the room still works (a device, the clock, disk getting full).
    Warning,
    /// The record is at risk: the journal is not writing, or the disk is nearly full.
    Critical,
}

/// The retained document on `<prefix>/<room>/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthDocument {
    /// [`HEALTH_VERSION`].
    pub v: u32,
    /// podiumd's version.
    pub podiumd: String,
    /// The room.
    pub room: RoomName,
    /// How much attention the room needs, from the parts below.
    pub trouble: Trouble,
    /// The meeting, if one is open.
    pub meeting: Option<MeetingHealth>,
    /// Every device: counts, and the failing ones by name.
    pub devices: DevicesHealth,
    /// The journal (the record).
    pub journal: JournalHealth,
    /// Whether the system clock is synchronised (minutes carry its times); `null` where
    /// the kernel cannot say.
    pub clock_synchronized: Option<bool>,
    /// Free space where the journal lives; `null` without a journal file.
    pub disk: Option<DiskHealth>,
    /// Seconds since podiumd started.
    pub uptime_s: u64,
    /// When this document was made (Unix milliseconds).
    pub at_unix_ms: i64,
    /// The room's technician console (`[web] public_url` + `/tech`), if configured.
    pub console_url: Option<String>,
}

/// The room's id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomName {
    /// `[room] id`.
    pub id: String,
    /// `[room] name`.
    pub name: String,
}

/// The open meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingHealth {
    /// `open` or `suspended`.
    pub phase: MeetingPhase,
    /// The meeting's title.
    pub title: String,
    /// The item under discussion: its number, and its title only if it is public.
    pub current_item: Option<ItemName>,
    /// Whether the public may follow (false: the non-public part).
    pub public: bool,
}

/// An agenda item as the fleet view may show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemName {
    /// As printed, e.g. "Ö 3.1".
    pub number: String,
    /// Empty for a non-public item.
    pub title: String,
}

/// The devices in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicesHealth {
    /// Every device and desk unit.
    pub total: u32,
    /// Those connected and answering.
    pub online: u32,
    /// The ones that are not, by name.
    pub failing: Vec<FailingDevice>,
}

/// A device that is not answering.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FailingDevice {
    /// `camera`, `display`, `desk unit`, `bus`, ...
    pub kind: String,
    /// Its name in the room file (a desk unit: `bus a unit 12`).
    pub name: String,
    /// The last error, if one is known.
    pub error: Option<String>,
}

/// The journal in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHealth {
    /// `ok`, `degraded`, `unavailable` or `disabled`.
    pub state: JournalState,
    /// Events applied but not yet on disk.
    pub unwritten_events: u64,
    /// The latest error while not `ok`.
    pub error: Option<String>,
}

/// Free disk space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskHealth {
    /// The directory measured (the journal's).
    pub path: String,
    /// Free bytes for podiumd.
    pub free_bytes: u64,
    /// Free share of the file system, percent.
    pub free_percent: f64,
}

/// What the publisher gathered.
pub struct HealthInputs<'a> {
    /// podiumd's version.
    pub podiumd: &'a str,
    /// The room.
    pub room: RoomName,
    /// The floor now.
    pub snapshot: &'a Snapshot,
    /// The open meeting's title, if one is open.
    pub meeting_title: Option<String>,
    /// Cameras, displays, switchers, microphones, the button box.
    pub devices: Vec<DeviceHealth>,
    /// The desk buses and their units.
    pub desks: DevicesReport,
    /// Networked desk units (MQTT).
    pub networked: Vec<crate::mqtt::desk_units::DeskUnitStatus>,
    /// The journal.
    pub journal: JournalStatus,
    /// The kernel's clock state.
    pub clock_synchronized: Option<bool>,
    /// Free space by the journal.
    pub disk: Option<DiskHealth>,
    /// Seconds since start.
    pub uptime_s: u64,
    /// Now (Unix milliseconds).
    pub at_unix_ms: i64,
    /// `[web] public_url`.
    pub public_url: Option<String>,
}

/// The document for `inputs`.
pub fn document(inputs: HealthInputs<'_>) -> HealthDocument {
    let floor = &inputs.snapshot.floor;
    let meeting = (floor.phase != MeetingPhase::None).then(|| MeetingHealth {
        phase: floor.phase,
        title: inputs.meeting_title.unwrap_or_default(),
        current_item: floor.current_item.and_then(|id| floor.item(id)).map(|entry| ItemName {
            number: entry.item.number.clone(),
            title: if entry.item.publicity == Publicity::Public {
                entry.item.title.clone()
            } else {
                String::new()
            },
        }),
        public: floor.public,
    });
    let devices = devices_health(&inputs.devices, &inputs.desks, &inputs.networked);
    let journal = JournalHealth {
        state: inputs.journal.state,
        unwritten_events: inputs.journal.unwritten_events,
        error: inputs.journal.error,
    };
    let trouble = trouble(&devices, &journal, inputs.clock_synchronized, inputs.disk.as_ref());
    HealthDocument {
        v: HEALTH_VERSION,
        podiumd: inputs.podiumd.to_owned(),
        room: inputs.room,
        trouble,
        meeting,
        devices,
        journal,
        clock_synchronized: inputs.clock_synchronized,
        disk: inputs.disk,
        uptime_s: inputs.uptime_s,
        at_unix_ms: inputs.at_unix_ms,
        console_url: inputs.public_url.map(|url| format!("{url}/tech")),
    }
}

fn devices_health(
    devices: &[DeviceHealth],
    desks: &DevicesReport,
    networked: &[crate::mqtt::desk_units::DeskUnitStatus],
) -> DevicesHealth {
    let mut failing: Vec<FailingDevice> = devices
        .iter()
        .filter(|d| !d.connected)
        .map(|d| FailingDevice { kind: d.kind.clone(), name: d.name.clone(), error: d.last_error.clone() })
        .collect();
    let mut total = devices.len();
    let mut online = devices.iter().filter(|d| d.connected).count();
    for bus in &desks.buses {
        if !bus.link.connected {
            failing.push(FailingDevice {
                kind: "bus".into(),
                name: format!("bus {}", bus.id),
                error: bus.link.last_error.clone(),
            });
            // Its units are offline with it: one line for the bus says it all.
            total += bus.units.len();
            continue;
        }
        for unit in &bus.units {
            total += 1;
            match unit.health.status {
                podium_devices::modbus::bus::UnitStatus::Offline => failing.push(FailingDevice {
                    kind: unit.kind.clone(),
                    name: format!("bus {} unit {}", bus.id, unit.health.unit),
                    error: None,
                }),
                podium_devices::modbus::bus::UnitStatus::Online => online += 1,
                // Not polled yet (just started): neither answering nor failing.
                podium_devices::modbus::bus::UnitStatus::Unknown => {}
            }
        }
    }
    for unit in networked {
        total += 1;
        if unit.online {
            online += 1;
        } else {
            failing.push(FailingDevice {
                kind: "networked desk unit".into(),
                name: unit.id.clone(),
                error: None,
            });
        }
    }
    failing.sort();
    DevicesHealth {
        total: u32::try_from(total).unwrap_or(u32::MAX),
        online: u32::try_from(online).unwrap_or(u32::MAX),
        failing,
    }
}

fn trouble(
    devices: &DevicesHealth,
    journal: &JournalHealth,
    clock: Option<bool>,
    disk: Option<&DiskHealth>,
) -> Trouble {
    let journal = if matches!(journal.state, JournalState::Degraded | JournalState::Unavailable) {
        Trouble::Critical
    } else {
        Trouble::Ok
    };
    let others =
        if !devices.failing.is_empty() || clock == Some(false) { Trouble::Warning } else { Trouble::Ok };
    journal.max(others).max(disk_trouble(disk))
}

/// What free disk by the journal says: under 5 % critical, under 15 % a warning.
fn disk_trouble(disk: Option<&DiskHealth>) -> Trouble {
    match disk.map(|d| d.free_percent) {
        Some(p) if p < DISK_CRITICAL_PERCENT => Trouble::Critical,
        Some(p) if p < DISK_WARNING_PERCENT => Trouble::Warning,
        _ => Trouble::Ok,
    }
}

/// How bad an alarm is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Needs attention.
    Warning,
    /// The record is at risk.
    Critical,
    /// What an earlier alarm said is over.
    Cleared,
}

/// One alarm on `<prefix>/<room>/alarms` (not retained).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    /// [`HEALTH_VERSION`].
    pub v: u32,
    /// The room's id.
    pub room: String,
    /// When the change was seen (Unix milliseconds).
    pub at_unix_ms: i64,
    /// How bad.
    pub severity: Severity,
    /// `device`, `journal`, `clock` or `disk`.
    pub kind: String,
    /// What it is about (a device's name, the journal's state).
    pub subject: String,
    /// A sentence for the fleet view.
    pub message: String,
}

/// The alarms that the change from `before` to `after` raises or clears (none for the
/// first document: its state is in the document itself).
pub fn alarms(before: &HealthDocument, after: &HealthDocument) -> Vec<Alarm> {
    let alarm = |severity, kind: &str, subject: String, message: String| Alarm {
        v: HEALTH_VERSION,
        room: after.room.id.clone(),
        at_unix_ms: after.at_unix_ms,
        severity,
        kind: kind.into(),
        subject,
        message,
    };
    let mut out = Vec::new();
    let was = |d: &FailingDevice| before.devices.failing.iter().any(|b| b.kind == d.kind && b.name == d.name);
    let is = |d: &FailingDevice| after.devices.failing.iter().any(|a| a.kind == d.kind && a.name == d.name);
    for device in after.devices.failing.iter().filter(|d| !was(d)) {
        let error = device.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
        let message = format!("{} {} does not answer{error}", device.kind, device.name);
        out.push(alarm(Severity::Warning, "device", device.name.clone(), message));
    }
    // A unit folded into its failing bus has not recovered: no "answers again" for it.
    let under_failing_bus = |d: &FailingDevice| {
        after
            .devices
            .failing
            .iter()
            .any(|a| a.kind == "bus" && d.name.starts_with(&format!("{} unit ", a.name)))
    };
    for device in before.devices.failing.iter().filter(|d| !is(d) && !under_failing_bus(d)) {
        let message = format!("{} {} answers again", device.kind, device.name);
        out.push(alarm(Severity::Cleared, "device", device.name.clone(), message));
    }
    if before.journal.state != after.journal.state {
        let state = format!("{:?}", after.journal.state).to_lowercase();
        let (severity, message) = match after.journal.state {
            JournalState::Ok => (Severity::Cleared, "the journal writes again".to_owned()),
            JournalState::Disabled => (Severity::Warning, "no journal is attached".to_owned()),
            JournalState::Degraded | JournalState::Unavailable => (
                Severity::Critical,
                format!(
                    "the journal is {state}: {}",
                    after.journal.error.as_deref().unwrap_or("no error text")
                ),
            ),
        };
        out.push(alarm(severity, "journal", state, message));
    }
    if before.clock_synchronized != after.clock_synchronized {
        match after.clock_synchronized {
            Some(false) => out.push(alarm(
                Severity::Warning,
                "clock",
                "system clock".into(),
                "the system clock is not synchronised: the minutes' times may be off".into(),
            )),
            Some(true) if before.clock_synchronized == Some(false) => out.push(alarm(
                Severity::Cleared,
                "clock",
                "system clock".into(),
                "the system clock is synchronised again".into(),
            )),
            _ => {}
        }
    }
    let disk_now = disk_trouble(after.disk.as_ref());
    if disk_trouble(before.disk.as_ref()) != disk_now {
        let free = after.disk.as_ref().map_or(String::new(), |d| format!("{:.1} % free", d.free_percent));
        let severity = match disk_now {
            Trouble::Critical => Severity::Critical,
            Trouble::Warning => Severity::Warning,
            Trouble::Ok => Severity::Cleared,
        };
        let path = after.disk.as_ref().map_or_else(String::new, |d| d.path.clone());
        out.push(alarm(severity, "disk", path, format!("disk by the journal: {free}")));
    }
    out
}

/// Whether two documents differ in more than their clocks (uptime, time made): only then
/// is a new one published before the periodic refresh.
pub fn differs(a: &HealthDocument, b: &HealthDocument) -> bool {
    // Free bytes move with every write: the share, rounded to a percent, says enough.
    let strip = |d: &HealthDocument| HealthDocument {
        uptime_s: 0,
        at_unix_ms: 0,
        disk: d.disk.as_ref().map(|disk| DiskHealth {
            free_bytes: 0,
            free_percent: disk.free_percent.round(),
            path: disk.path.clone(),
        }),
        ..d.clone()
    };
    strip(a) != strip(b)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use podium_devices::health::DeviceHealth;
    use podium_floor::{Actor, AgendaItem, CarryOver, Command, Floor, MeetingPhase, Timestamp};

    use super::*;
    use crate::journal::{JournalState, JournalStatus, RetentionStatus};

    const ROOM: &str = r#"
[room]
id = "saal"
name = "Ratssaal"

[discussion]
mode = "request"

[[seat]]
number = 1
member = "chair"

[[member]]
id = "chair"
name = "Vera Vorsitz"
role = "chair"
"#;

    fn at(ms: u64) -> Timestamp {
        Timestamp::new(ms, 1_700_000_000_000 + ms as i64)
    }

    fn journal(state: JournalState) -> JournalStatus {
        JournalStatus {
            state,
            location: "/var/lib/podium/journal.sqlite".into(),
            error: (state != JournalState::Ok).then(|| "disk I/O error".into()),
            degraded_since_unix_ms: None,
            failed_writes: 0,
            commits: 0,
            unwritten_events: 0,
            written_seq: 0,
            recovery: None,
            retention: RetentionStatus::default(),
        }
    }

    fn camera(connected: bool) -> DeviceHealth {
        let mut camera = DeviceHealth::new("kamera-saal", "camera", "udp:10.0.0.7:52381");
        camera.connected = connected;
        if !connected {
            camera.last_error = Some("no answer".into());
        }
        camera
    }

    fn doc(
        floor: &Floor,
        devices: Vec<DeviceHealth>,
        journal_state: JournalState,
        clock: Option<bool>,
        free: f64,
    ) -> HealthDocument {
        let snapshot = floor.snapshot();
        document(HealthInputs {
            podiumd: "0.1.0",
            room: RoomName { id: "saal".into(), name: "Ratssaal".into() },
            snapshot: &snapshot,
            meeting_title: Some("Stadtrat, 12. Sitzung".into()),
            devices,
            desks: DevicesReport { buses: Vec::new() },
            networked: Vec::new(),
            journal: journal(journal_state),
            clock_synchronized: clock,
            disk: Some(DiskHealth {
                path: "/var/lib/podium".into(),
                free_bytes: 1 << 30,
                free_percent: free,
            }),
            uptime_s: 10,
            at_unix_ms: 1_700_000_000_000,
            public_url: Some("https://ratssaal.stadt.example".into()),
        })
    }

    fn meeting_in_a_non_public_item() -> Floor {
        let room = crate::config::parse(ROOM, Path::new("room.toml")).unwrap_or_else(|e| panic!("{e}"));
        let mut floor = Floor::new(room.floor_setup());
        let items: Vec<AgendaItem> = serde_json::from_value(serde_json::json!([
            {"id": 1, "number": "Ö 1", "title": "Haushalt", "publicity": "public"},
            {"id": 2, "number": "N 1", "title": "Grundstücksverkauf Müller", "publicity": "non_public"},
        ]))
        .expect("items");
        // Meetings open through the meeting routes, which act as the system.
        let commands = [
            (Command::SetAgenda { items, carry_over: CarryOver::PerItem }, Actor::Chair),
            (Command::SetPhase { phase: MeetingPhase::Open }, Actor::System),
            (Command::EnterItem { item: 2 }, Actor::Chair),
        ];
        for (i, (command, actor)) in commands.iter().enumerate() {
            floor.handle(command, actor, at(i as u64)).unwrap_or_else(|r| panic!("{command:?}: {r}"));
        }
        floor
    }

    #[test]
    fn the_document_names_failing_devices_and_never_a_non_public_items_title() {
        let floor = meeting_in_a_non_public_item();
        let document = doc(
            &floor,
            vec![camera(false), DeviceHealth::new("beamer", "display", "tcp")],
            JournalState::Ok,
            Some(true),
            40.0,
        );
        let meeting = document.meeting.as_ref().expect("a meeting is open");
        assert_eq!(meeting.title, "Stadtrat, 12. Sitzung");
        assert_eq!(meeting.current_item, Some(ItemName { number: "N 1".into(), title: String::new() }));
        assert!(!serde_json::to_string(&document).expect("json").contains("Müller"), "nothing of the item");
        assert_eq!((document.devices.total, document.devices.online), (2, 0));
        let failing: Vec<(&str, &str)> =
            document.devices.failing.iter().map(|d| (d.kind.as_str(), d.name.as_str())).collect();
        assert_eq!(failing, [("camera", "kamera-saal"), ("display", "beamer")], "sorted by kind, then name");
        assert_eq!(document.devices.failing[0].error.as_deref(), Some("no answer"));
        assert_eq!(document.trouble, Trouble::Warning);
        assert_eq!(document.v, HEALTH_VERSION);
        assert_eq!(document.console_url.as_deref(), Some("https://ratssaal.stadt.example/tech"));
    }

    #[test]
    fn trouble_is_critical_when_the_record_is_at_risk() {
        let floor = meeting_in_a_non_public_item();
        let fine = doc(&floor, vec![camera(true)], JournalState::Ok, Some(true), 40.0);
        assert_eq!(fine.trouble, Trouble::Ok);
        assert_eq!(
            doc(&floor, vec![camera(true)], JournalState::Ok, Some(false), 40.0).trouble,
            Trouble::Warning
        );
        assert_eq!(doc(&floor, vec![camera(true)], JournalState::Ok, None, 12.0).trouble, Trouble::Warning);
        assert_eq!(doc(&floor, vec![camera(true)], JournalState::Ok, None, 4.0).trouble, Trouble::Critical);
        assert_eq!(
            doc(&floor, vec![camera(true)], JournalState::Degraded, Some(true), 40.0).trouble,
            Trouble::Critical
        );
    }

    #[test]
    fn alarms_come_with_each_change_and_clear_when_it_is_over() {
        let floor = meeting_in_a_non_public_item();
        let fine = doc(&floor, vec![camera(true)], JournalState::Ok, Some(true), 40.0);
        assert!(alarms(&fine, &fine).is_empty(), "no change, no alarm");
        let bad = doc(&floor, vec![camera(false)], JournalState::Degraded, Some(false), 4.0);
        let raised = alarms(&fine, &bad);
        let kinds: Vec<(&str, Severity)> = raised.iter().map(|a| (a.kind.as_str(), a.severity)).collect();
        assert_eq!(
            kinds,
            [
                ("device", Severity::Warning),
                ("journal", Severity::Critical),
                ("clock", Severity::Warning),
                ("disk", Severity::Critical)
            ]
        );
        assert_eq!(raised[0].subject, "kamera-saal");
        assert!(raised[0].message.contains("no answer"), "{}", raised[0].message);
        assert!(raised.iter().all(|a| a.room == "saal" && a.v == HEALTH_VERSION));
        let cleared = alarms(&bad, &fine);
        assert_eq!(cleared.len(), 4);
        assert!(cleared.iter().all(|a| a.severity == Severity::Cleared), "{cleared:?}");
    }

    fn bus(connected: bool, unit_status: &str) -> DevicesReport {
        serde_json::from_value(serde_json::json!({"buses": [{
            "id": "a", "simulated": false, "port": "/dev/ttyUSB0", "connected": connected,
            "open_failures": 0, "disconnects": 0, "last_error": null, "last_frame_unix_ms": null,
            "cycles": 1, "last_cycle_us": 1,
            "units": [{"kind": "desk", "seats": [2], "unit": 2, "status": unit_status,
                "last_seen_unix_ms": null, "requests": 0, "timeouts": 0, "crc_errors": 0,
                "unexpected": 0, "exceptions": 0, "writes": 0, "went_offline": 0, "consecutive_misses": 0}]
        }]}))
        .expect("a bus report")
    }

    fn with_desks(
        floor: &Floor,
        desks: DevicesReport,
        networked: Vec<crate::mqtt::desk_units::DeskUnitStatus>,
    ) -> HealthDocument {
        let mut document = doc(floor, Vec::new(), JournalState::Ok, Some(true), 40.0);
        let fresh = devices_health(&[], &desks, &networked);
        document.trouble = trouble(&fresh, &document.journal, Some(true), document.disk.as_ref());
        document.devices = fresh;
        document
    }

    #[test]
    fn a_closed_bus_is_one_failure_and_its_units_are_not_cleared_by_it() {
        let floor = meeting_in_a_non_public_item();
        let unit_down = with_desks(&floor, bus(true, "offline"), Vec::new());
        assert_eq!(unit_down.devices.failing[0].name, "bus a unit 2");
        let bus_down = with_desks(&floor, bus(false, "offline"), Vec::new());
        let names: Vec<&str> = bus_down.devices.failing.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["bus a"], "one line for the bus");
        let raised = alarms(&unit_down, &bus_down);
        assert_eq!(raised.len(), 1, "the bus fails; unit 2 has not come back: {raised:?}");
        assert_eq!((raised[0].subject.as_str(), raised[0].severity), ("bus a", Severity::Warning));
        let all_back = with_desks(&floor, bus(true, "online"), Vec::new());
        assert_eq!(all_back.devices.online, 1);
        let cleared = alarms(&bus_down, &all_back);
        assert_eq!(cleared.len(), 1);
        assert_eq!((cleared[0].subject.as_str(), cleared[0].severity), ("bus a", Severity::Cleared));
        // Not polled yet: neither answering nor failing.
        let starting = with_desks(&floor, bus(true, "unknown"), Vec::new());
        assert_eq!(
            (starting.devices.total, starting.devices.online, starting.devices.failing.len()),
            (1, 0, 0)
        );
    }

    #[test]
    fn networked_desk_units_count_and_fail_by_their_id() {
        let floor = meeting_in_a_non_public_item();
        let unit = |id: &str, online| crate::mqtt::desk_units::DeskUnitStatus {
            id: id.into(),
            online,
            ..Default::default()
        };
        let document = with_desks(
            &floor,
            DevicesReport { buses: Vec::new() },
            vec![unit("u7", true), unit("u8", false)],
        );
        assert_eq!((document.devices.total, document.devices.online), (2, 1));
        assert_eq!(
            document.devices.failing,
            [FailingDevice { kind: "networked desk unit".into(), name: "u8".into(), error: None }]
        );
        assert_eq!(document.trouble, Trouble::Warning);
    }

    #[test]
    fn only_a_change_beyond_the_clocks_publishes_before_the_refresh() {
        let floor = meeting_in_a_non_public_item();
        let a = doc(&floor, vec![camera(true)], JournalState::Ok, Some(true), 40.0);
        let mut later = a.clone();
        later.uptime_s += 5;
        later.at_unix_ms += 5_000;
        later.disk.as_mut().expect("disk").free_bytes -= 4096;
        assert!(!differs(&a, &later));
        let failing = doc(&floor, vec![camera(false)], JournalState::Ok, Some(true), 40.0);
        assert!(differs(&a, &failing));
    }
}
