//! The display director: which source every room display (or matrix output) shows, as a
//! pure function of the open microphones, the presentation and the configuration, in this
//! order of precedence:
//! 1. in the non-public part, a display with a neutral source (`nonpublic_input`) shows it,
//!    whatever is presented: what must not go out never does;
//! 2. a presented source, on the displays it is presented on (the hall's, the stream's or
//!    both, by each display's `feeds`) that have an input for it; in the non-public part
//!    never on the stream (a closed session's documents do not go out);
//! 3. a remote member with the floor → the video-conference source;
//! 4. otherwise the default source.
//!
//! So presenting and the floor never fight: while a source is presented, the floor changes
//! nothing on the displays showing it and goes on switching the others; stopping returns
//! every display to rule 3 or 4 at once. Power as configured, or with the meeting (on
//! while one is open, or while the display shows a presentation).

use podium_devices::display::DisplayState;
use podium_floor::{Screens, Speaker, Station};

use crate::config::{DisplayConfig, PresentationSourceConfig};

/// What is presented now, and where: the source's configuration and the screens.
pub type Presenting<'a> = Option<(&'a PresentationSourceConfig, Screens)>;

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
    presenting: Presenting<'_>,
) -> Vec<DisplayState> {
    let remote = remote_speaks(speakers);
    displays
        .iter()
        .map(|d| {
            let presented = presenting
                .filter(|(_, on)| if d.feeds_stream { public && on.stream() } else { on.hall() })
                .and_then(|(source, _)| source.input_on(&d.name));
            let private = !public && d.nonpublic_input.is_some();
            DisplayState {
                power: if d.power_with_meeting { Some(meeting_open || presented.is_some()) } else { d.power },
                input: if private {
                    d.nonpublic_input.clone()
                } else if let Some(input) = presented {
                    Some(input.to_owned())
                } else if remote {
                    d.conference_input.clone().or_else(|| d.default_input.clone())
                } else {
                    d.default_input.clone()
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use podium_floor::Timestamp;

    use super::*;
    use crate::config::DisplayDevice;

    fn decide_now(
        displays: &[DisplayConfig],
        speakers: &[Speaker],
        meeting: bool,
        public: bool,
    ) -> Vec<DisplayState> {
        decide(displays, speakers, meeting, public, None)
    }

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
            feeds_stream: false,
        }
    }

    #[test]
    fn remote_floor_shows_the_conference_and_the_room_floor_the_default() {
        let displays = [display(Some("31"), Some("52"), Some(true)), display(Some("11"), None, None)];
        let room = decide_now(&displays, &[speaker(Station::Seat(3))], false, true);
        assert_eq!(room[0], DisplayState { power: Some(true), input: Some("31".into()) });
        let remote = decide_now(
            &displays,
            &[speaker(Station::Seat(3)), speaker(Station::Remote("r".into()))],
            false,
            true,
        );
        assert_eq!(remote[0].input.as_deref(), Some("52"));
        assert_eq!(remote[1].input.as_deref(), Some("11"), "no conference input: stays on default");
        assert_eq!(decide_now(&displays, &[], false, true)[0].input.as_deref(), Some("31"));
        let mut with_meeting = display(Some("31"), None, None);
        with_meeting.power_with_meeting = true;
        assert_eq!(decide_now(std::slice::from_ref(&with_meeting), &[], true, true)[0].power, Some(true));
        assert_eq!(decide_now(&[with_meeting], &[], false, true)[0].power, Some(false));
    }

    #[test]
    fn a_presentation_wins_over_the_floor_where_it_is_shown_and_nowhere_else() {
        let mut beamer = display(Some("31"), Some("52"), None);
        beamer.name = "beamer".into();
        beamer.power_with_meeting = true;
        let mut stream = display(Some("1"), Some("4"), None);
        stream.name = "stream".into();
        stream.feeds_stream = true;
        stream.nonpublic_input = Some("9".into());
        let mut wall = display(Some("hdmi1"), Some("hdmi2"), Some(true));
        wall.name = "wall".into();
        let displays = [beamer, stream, wall];
        let lectern = PresentationSourceConfig {
            name: "lectern".into(),
            label: "Lectern".into(),
            inputs: vec![("beamer".into(), "32".into()), ("stream".into(), "3".into())],
        };
        let remote = [speaker(Station::Remote("r".into()))];
        let inputs = |states: Vec<DisplayState>| -> Vec<String> {
            states.into_iter().map(|s| s.input.unwrap_or_default()).collect()
        };
        // In the hall: the beamer shows the laptop even while a remote member speaks (and is
        // switched on for it without a meeting); the stream and the wall (no input for the
        // laptop) follow the floor.
        let hall = decide(&displays, &remote, false, true, Some((&lectern, Screens::Hall)));
        assert_eq!(hall[0].power, Some(true));
        assert_eq!(inputs(hall), ["32", "4", "hdmi2"]);
        let both = decide(&displays, &remote, false, true, Some((&lectern, Screens::Both)));
        assert_eq!(inputs(both), ["32", "3", "hdmi2"]);
        let stream_only = decide(&displays, &[], false, true, Some((&lectern, Screens::Stream)));
        assert_eq!(inputs(stream_only.clone()), ["31", "3", "hdmi1"]);
        assert_eq!(stream_only[0].power, Some(false), "not presented on the beamer: off without a meeting");
        // The non-public part: the stream's neutral source wins over the presentation.
        assert_eq!(
            inputs(decide(&displays, &remote, true, false, Some((&lectern, Screens::Both)))),
            ["32", "9", "hdmi2"]
        );
        // Stopped: every display follows the floor again.
        assert_eq!(inputs(decide(&displays, &remote, true, true, None)), ["52", "4", "hdmi2"]);
    }

    #[test]
    fn the_non_public_part_shows_the_neutral_source_where_one_is_configured() {
        let mut neutral = display(Some("31"), Some("52"), Some(true));
        neutral.nonpublic_input = Some("33".into());
        let displays = [neutral, display(Some("11"), None, None)];
        let remote = [speaker(Station::Remote("r".into()))];
        let states = decide_now(&displays, &remote, true, false);
        assert_eq!(states[0].input.as_deref(), Some("33"), "even while a remote member speaks");
        assert_eq!(states[1].input.as_deref(), Some("11"), "no neutral source configured");
        assert_eq!(decide_now(&displays, &remote, true, true)[0].input.as_deref(), Some("52"));
    }
}
