//! The microphone director: a channel of a room microphone array is open while a seat of
//! its zone has the floor, muted otherwise; in voice mode a zone of one seat also stays
//! open while that seat is `listening` (see `voice.rs` for when). Pure.

use podium_devices::shure::Mutes;
use podium_floor::setup::SeatNo;
use podium_floor::{Speaker, Station};

use crate::config::MicrophoneConfig;

/// Channel → muted, for each microphone in configuration order.
pub fn decide(
    microphones: &[MicrophoneConfig],
    speakers: &[Speaker],
    listening: impl Fn(SeatNo) -> bool,
) -> Vec<Mutes> {
    microphones
        .iter()
        .map(|m| {
            m.zones
                .iter()
                .map(|(channel, seats)| {
                    let speaking =
                        speakers.iter().any(|s| matches!(s.station, Station::Seat(n) if seats.contains(&n)));
                    let open = speaking || voice_seat(seats).is_some_and(&listening);
                    (*channel, !open)
                })
                .collect()
        })
        .collect()
}

/// The seat a zone's voice belongs to: only a zone of one seat can tell who talks.
pub fn voice_seat(seats: &[SeatNo]) -> Option<SeatNo> {
    match seats {
        [seat] => Some(*seat),
        _ => None,
    }
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
            simulated: false,
        };
        let speaker = |station| Speaker::unlimited(station, Timestamp::new(0, 0));
        let mics = [mic];
        let deaf = |_| false;
        assert_eq!(decide(&mics, &[], deaf)[0], Mutes::from([(1, true), (2, true)]));
        assert_eq!(
            decide(&mics, &[speaker(Station::Seat(2))], deaf)[0],
            Mutes::from([(1, false), (2, true)])
        );
        assert_eq!(
            decide(&mics, &[speaker(Station::Remote("r".into()))], deaf)[0],
            Mutes::from([(1, true), (2, true)])
        );
        // Voice mode listens on the zone of one seat only: zone 1 covers two seats.
        assert_eq!(decide(&mics, &[], |_| true)[0], Mutes::from([(1, true), (2, false)]));
        assert_eq!(decide(&mics, &[], |seat| seat != 3)[0], Mutes::from([(1, true), (2, true)]));
    }
}
