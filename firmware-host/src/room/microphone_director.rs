//! The microphone director: a channel of a room microphone array is open while a seat of
//! its zone has the floor, muted otherwise. Pure.

use podium_devices::shure::Mutes;
use podium_floor::{Speaker, Station};

use crate::config::MicrophoneConfig;

/// Channel → muted, for each microphone in configuration order.
pub fn decide(microphones: &[MicrophoneConfig], speakers: &[Speaker]) -> Vec<Mutes> {
    microphones
        .iter()
        .map(|m| {
            m.zones
                .iter()
                .map(|(channel, seats)| {
                    let speaking =
                        speakers.iter().any(|s| matches!(s.station, Station::Seat(n) if seats.contains(&n)));
                    (*channel, !speaking)
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use podium_floor::Timestamp;

    use super::*;

    #[test]
    fn a_zone_opens_while_one_of_its_seats_speaks() {
        let mic = MicrophoneConfig {
            name: "ceiling".into(),
            addr: ([127, 0, 0, 1], 2202).into(),
            zones: vec![(1, vec![1, 2]), (2, vec![3])],
        };
        let speaker = |station| Speaker::unlimited(station, Timestamp::new(0, 0));
        let mics = [mic];
        assert_eq!(decide(&mics, &[])[0], Mutes::from([(1, true), (2, true)]));
        assert_eq!(decide(&mics, &[speaker(Station::Seat(2))])[0], Mutes::from([(1, false), (2, true)]));
        assert_eq!(
            decide(&mics, &[speaker(Station::Remote("r".into()))])[0],
            Mutes::from([(1, true), (2, true)])
        );
    }
}
