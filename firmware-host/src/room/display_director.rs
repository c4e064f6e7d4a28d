//! The display director: which source every room display (or matrix output) shows, as a
//! pure function of the open microphones and the configuration. A remote member with the
//! floor → the video-conference source; the floor in the room (or nobody) → the default
//! source; in the non-public part the configured neutral source; power as configured, or
//! with the meeting (on while one is open).

use podium_devices::display::DisplayState;
use podium_floor::{Speaker, Station};

use crate::config::DisplayConfig;

/// Whether a remote member has an open microphone.
pub fn remote_speaks(speakers: &[Speaker]) -> bool {
    speakers.iter().any(|s| matches!(s.station, Station::Remote(_)))
}

/// The desired state of each display, in configuration order.
/// `meeting_open`: whether a meeting is open (for `power_with_meeting`); `public`: whether
/// the part is public.
pub fn decide(
    displays: &[DisplayConfig],
    speakers: &[Speaker],
    meeting_open: bool,
    public: bool,
) -> Vec<DisplayState> {
    let remote = remote_speaks(speakers);
    displays
        .iter()
        .map(|d| DisplayState {
            power: if d.power_with_meeting { Some(meeting_open) } else { d.power },
            input: if !public && d.nonpublic_input.is_some() {
                d.nonpublic_input.clone()
            } else if remote {
                d.conference_input.clone().or_else(|| d.default_input.clone())
            } else {
                d.default_input.clone()
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use podium_floor::Timestamp;

    use super::*;
    use crate::config::DisplayDevice;

    fn speaker(station: Station) -> Speaker {
        Speaker::unlimited(station, Timestamp::new(0, 0))
    }

    fn display(default: Option<&str>, conference: Option<&str>, power: Option<bool>) -> DisplayConfig {
        DisplayConfig {
            name: "d".into(),
            device: DisplayDevice::Pjlink { addr: ([127, 0, 0, 1], 4352).into(), password: None },
            default_input: default.map(str::to_owned),
            conference_input: conference.map(str::to_owned),
            nonpublic_input: None,
            power,
            power_with_meeting: false,
            simulated: false,
        }
    }

    #[test]
    fn remote_floor_shows_the_conference_and_the_room_floor_the_default() {
        let displays = [display(Some("31"), Some("52"), Some(true)), display(Some("11"), None, None)];
        let room = decide(&displays, &[speaker(Station::Seat(3))], false, true);
        assert_eq!(room[0], DisplayState { power: Some(true), input: Some("31".into()) });
        let remote = decide(
            &displays,
            &[speaker(Station::Seat(3)), speaker(Station::Remote("r".into()))],
            false,
            true,
        );
        assert_eq!(remote[0].input.as_deref(), Some("52"));
        assert_eq!(remote[1].input.as_deref(), Some("11"), "no conference input: stays on default");
        assert_eq!(decide(&displays, &[], false, true)[0].input.as_deref(), Some("31"));
        let mut with_meeting = display(Some("31"), None, None);
        with_meeting.power_with_meeting = true;
        assert_eq!(decide(std::slice::from_ref(&with_meeting), &[], true, true)[0].power, Some(true));
        assert_eq!(decide(&[with_meeting], &[], false, true)[0].power, Some(false));
    }

    #[test]
    fn the_non_public_part_shows_the_neutral_source_where_one_is_configured() {
        let mut neutral = display(Some("31"), Some("52"), Some(true));
        neutral.nonpublic_input = Some("33".into());
        let displays = [neutral, display(Some("11"), None, None)];
        let remote = [speaker(Station::Remote("r".into()))];
        let states = decide(&displays, &remote, true, false);
        assert_eq!(states[0].input.as_deref(), Some("33"), "even while a remote member speaks");
        assert_eq!(states[1].input.as_deref(), Some("11"), "no neutral source configured");
        assert_eq!(decide(&displays, &remote, true, true)[0].input.as_deref(), Some("52"));
    }
}
