//! The video-conference bridge's state in podiumd: its setup from the room file (the
//! conference and the names members use there) and the last report of the bridge page
//! (`web/bridge.js`), which the technician console shows. The routes are in
//! `api/bridge.rs`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use podium_floor::setup::ParticipantId;
use serde::{Deserialize, Serialize};

use crate::config::JitsiConfig;

/// A report older than this is shown as stale: the page reports at least every 10 s.
pub const REPORT_STALE_AFTER: Duration = Duration::from_secs(30);
/// Most participants a report may list (a council's conference is far smaller).
const MAX_REPORTED: usize = 200;
/// Longest text in a report (a display name, an action).
const MAX_TEXT: usize = 200;

/// The bridge's fixed part (from the room file) and its last report.
#[derive(Debug, Default)]
pub struct Bridge {
    setup: BridgeSetup,
    last: Mutex<Option<Received>>,
}

#[derive(Debug, Clone)]
struct Received {
    report: BridgeReport,
    unix_ms: i64,
    at: Instant,
}

impl Bridge {
    /// The bridge of a room with this conference and these members.
    pub fn new(setup: BridgeSetup) -> Self {
        Bridge { setup, last: Mutex::new(None) }
    }

    /// The conference and the members, as the page needs them.
    pub fn setup(&self) -> &BridgeSetup {
        &self.setup
    }

    /// Keeps the page's latest report.
    pub fn take_report(&self, report: BridgeReport) {
        let received = Received { report, unix_ms: crate::clock::unix_ms(), at: Instant::now() };
        *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(received);
    }

    /// The latest report, when it came (Unix ms), and whether it is stale.
    pub fn last_report(&self) -> Option<(BridgeReport, i64, bool)> {
        let last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()?;
        let stale = last.at.elapsed() > REPORT_STALE_AFTER;
        Some((last.report, last.unix_ms, stale))
    }

    /// The conference's address for a member, with the display name the bridge maps to
    /// them in Jitsi's URL options (`#userInfo.displayName="…"`, a JSON string,
    /// percent-encoded); none without `[jitsi]` or for someone who is no member.
    pub fn conference_url_for(&self, member: &str) -> Option<String> {
        let jitsi = self.setup.jitsi.as_ref()?;
        let name = &self.setup.members.iter().find(|m| m.id == member)?.conference_name;
        let json = serde_json::to_string(name).ok()?;
        let mut encoded = String::with_capacity(json.len() * 3);
        for byte in json.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                encoded.push(char::from(byte));
            } else {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
        Some(format!("{}#userInfo.displayName={encoded}", jitsi.url))
    }

    /// The conference's origin (`https://server[:port]`), for the bridge page's CSP.
    pub fn conference_origins(&self) -> Option<(String, String)> {
        let jitsi = self.setup.jitsi.as_ref()?;
        let origin = |url: &str| -> Option<String> {
            let (scheme, rest) = url.split_once("://")?;
            Some(format!("{scheme}://{}", rest.split('/').next()?))
        };
        let scheme = if jitsi.no_ssl { "http" } else { "https" };
        let conference = origin(&format!("{scheme}://{}", jitsi.domain))?;
        Some((conference, origin(&jitsi.external_api)?))
    }
}

/// What the bridge page needs to start: the conference, and who is who.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BridgeSetup {
    /// `[jitsi]`; none: the room has no Jitsi conference configured.
    pub jitsi: Option<JitsiConfig>,
    /// Every member, with the name they are known by in the conference.
    pub members: Vec<BridgeMember>,
}

/// One member as the bridge maps conference participants to members.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BridgeMember {
    /// Participant id.
    pub id: ParticipantId,
    /// The member's name.
    pub name: String,
    /// The name in the conference (`[[member]] conference_name`, or the name).
    pub conference_name: String,
    /// Whether the member may attend remotely.
    pub remote_allowed: bool,
}

/// The bridge's own account of itself.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BridgeReport {
    /// Whether the page is in the conference: `joining`, `joined` or `left`.
    pub conference: ConferenceState,
    /// Whether its event stream from podiumd is open.
    pub podium: bool,
    /// Everyone in the conference but the room itself.
    #[schema(max_items = 200)]
    pub participants: Vec<ReportedParticipant>,
    /// The last thing the bridge did (e.g. `askToUnmute Anna Roth`).
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub last_action: Option<String>,
    /// When it did it (Unix milliseconds, the page's clock).
    #[schema(minimum = 0)]
    pub last_action_at: Option<u64>,
    /// Commands to the conference and to podiumd since the page loaded.
    #[schema(minimum = 0)]
    pub actions: u64,
    /// Of those, the ones that failed.
    #[schema(minimum = 0)]
    pub failures: u64,
}

/// The bridge page's place in the conference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConferenceState {
    /// Loading the IFrame API or joining.
    Joining,
    /// In the conference as its moderator.
    Joined,
    /// Out of it (reconnecting).
    Left,
}

/// One participant of the conference as the bridge sees them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportedParticipant {
    /// The display name in the conference.
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub name: String,
    /// The member it maps to; none: not known to Podium.
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub member: Option<ParticipantId>,
    /// When their hand went up (Unix ms, the conference's clock); none: not raised.
    #[schema(minimum = 0)]
    pub hand_raised_at: Option<u64>,
}

impl BridgeReport {
    /// The first value out of range: (field, why).
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        let text_ok = |s: &str| s.chars().count() <= MAX_TEXT && !s.chars().any(char::is_control);
        if self.participants.len() > MAX_REPORTED {
            return Err(("participants", "at most 200 participants"));
        }
        if self
            .participants
            .iter()
            .any(|p| !text_ok(&p.name) || p.member.as_deref().is_some_and(|m| !text_ok(m)))
        {
            return Err(("participants", "names: at most 200 characters, no control characters"));
        }
        if self.last_action.as_deref().is_some_and(|a| !text_ok(a)) {
            return Err(("last_action", "at most 200 characters, no control characters"));
        }
        Ok(())
    }
}

/// The bridge's setup from the room file.
pub fn setup_from(config: &crate::config::RoomConfig) -> std::sync::Arc<Bridge> {
    let members = config
        .setup
        .participants
        .iter()
        .map(|p| BridgeMember {
            id: p.id.clone(),
            name: p.name.clone(),
            conference_name: config.conference_names.get(&p.id).cloned().unwrap_or_else(|| p.name.clone()),
            remote_allowed: p.remote_allowed,
        })
        .collect();
    std::sync::Arc::new(Bridge::new(BridgeSetup { jitsi: config.jitsi.clone(), members }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bridge(jitsi: bool) -> Bridge {
        let jitsi = jitsi.then(|| JitsiConfig {
            url: "https://meet.example.org/Rat".into(),
            domain: "meet.example.org".into(),
            room: "Rat".into(),
            external_api: "https://meet.example.org/external_api.js".into(),
            no_ssl: false,
            display_name: "Ratssaal".into(),
            mute_others: true,
        });
        let member = BridgeMember {
            id: "roth".into(),
            name: "Anna Roth".into(),
            conference_name: "Anna Röth \"SPD\"".into(),
            remote_allowed: true,
        };
        Bridge::new(BridgeSetup { jitsi, members: vec![member] })
    }

    #[test]
    fn a_member_opens_the_conference_under_the_name_the_bridge_knows() {
        assert_eq!(
            bridge(true).conference_url_for("roth").as_deref(),
            Some(
                "https://meet.example.org/Rat#userInfo.displayName=%22Anna%20R%C3%B6th%20%5C%22SPD%5C%22%22"
            )
        );
        assert_eq!(bridge(true).conference_url_for("nobody"), None);
        assert_eq!(bridge(false).conference_url_for("roth"), None);
    }

    #[test]
    fn the_page_may_load_the_conference_servers_script_and_frame_it() {
        let origins = bridge(true).conference_origins();
        assert_eq!(
            origins,
            Some(("https://meet.example.org".to_owned(), "https://meet.example.org".to_owned()))
        );
        assert_eq!(bridge(false).conference_origins(), None);
    }
}
