//! The camera director: which preset each camera shows, as a pure function of the open
//! microphones, the room configuration, the director's own memory (current shot and
//! since when) and `now`. No I/O, no clock: the room task feeds it and sleeps until the
//! deadline it returns.

use podium_floor::setup::SeatNo;
use podium_floor::{Instant, Speaker, Station};

use crate::config::{CameraConfig, CameraDirectorConfig, CameraFollow};

/// What one camera shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shot {
    /// A speaker's shot.
    Speaker(Station),
    /// The overview, when nobody with a shot on this camera speaks.
    Overview,
}

/// One camera's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Current {
    shot: Shot,
    since: Instant,
}

/// The decision for one camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraDecision {
    /// The camera's name.
    pub camera: String,
    /// The shot it shows.
    pub shot: Option<Shot>,
    /// The preset for that shot; `None`: leave the camera where it is.
    pub preset: Option<u16>,
}

/// The camera director for a room.
#[derive(Debug, Clone)]
pub struct CameraDirector {
    policy: CameraDirectorConfig,
    cameras: Vec<CameraConfig>,
    current: Vec<Option<Current>>,
}

impl CameraDirector {
    /// A director for these cameras; no camera has a shot yet.
    pub fn new(policy: CameraDirectorConfig, cameras: Vec<CameraConfig>) -> Self {
        let current = vec![None; cameras.len()];
        CameraDirector { policy, cameras, current }
    }

    fn preset_of(camera: &CameraConfig, shot: &Shot) -> Option<u16> {
        match shot {
            Shot::Overview => camera.overview,
            Shot::Speaker(Station::Seat(n)) => seat_preset(camera, *n),
            Shot::Speaker(Station::Remote(_)) => camera.remote,
        }
    }

    /// Decides every camera's shot for the open microphones (in the order they opened) at
    /// `now`. Returns the decisions and when to ask again (a held shot's hold ends). In the
    /// non-public part (`public == false`) every camera goes to its privacy preset (or its
    /// overview) at once, whoever speaks: no hold, and nobody is shown.
    pub fn decide(
        &mut self,
        speakers: &[Speaker],
        public: bool,
        now: Instant,
    ) -> (Vec<CameraDecision>, Option<Instant>) {
        if !public {
            for current in &mut self.current {
                *current = Some(Current { shot: Shot::Overview, since: now });
            }
            let decisions = self
                .cameras
                .iter()
                .map(|camera| CameraDecision {
                    camera: camera.name.clone(),
                    shot: Some(Shot::Overview),
                    preset: camera.privacy_preset.or(camera.overview),
                })
                .collect();
            return (decisions, None);
        }
        let mut decisions = Vec::with_capacity(self.cameras.len());
        let mut deadline: Option<Instant> = None;
        for (camera, current) in self.cameras.iter().zip(self.current.iter_mut()) {
            let with_shot: Vec<&Station> = speakers
                .iter()
                .map(|s| &s.station)
                .filter(|st| Self::preset_of(camera, &Shot::Speaker((*st).clone())).is_some())
                .collect();
            let wanted = match (self.policy.follow, current.as_ref()) {
                _ if with_shot.is_empty() => Shot::Overview,
                (CameraFollow::Stay, Some(Current { shot: Shot::Speaker(st), .. }))
                    if with_shot.contains(&st) =>
                {
                    Shot::Speaker(st.clone())
                }
                _ => Shot::Speaker(with_shot[with_shot.len() - 1].clone()),
            };
            match current {
                Some(c) if c.shot == wanted => {}
                Some(c) if now.ms_since(c.since) < self.policy.min_hold_ms => {
                    // Too soon to move: keep the shot, ask again when the hold ends.
                    let end = c.since.plus_ms(self.policy.min_hold_ms);
                    deadline = Some(deadline.map_or(end, |d| d.min(end)));
                }
                _ => *current = Some(Current { shot: wanted, since: now }),
            }
            let shot = current.as_ref().map(|c| c.shot.clone());
            let preset = shot.as_ref().and_then(|s| Self::preset_of(camera, s));
            decisions.push(CameraDecision { camera: camera.name.clone(), shot, preset });
        }
        (decisions, deadline)
    }
}

fn seat_preset(camera: &CameraConfig, seat: SeatNo) -> Option<u16> {
    camera.shots.iter().find(|(s, _)| *s == seat).map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use podium_devices::visca::{PresetNumbering, Transport};
    use podium_floor::Timestamp;

    use super::*;

    fn camera(name: &str, overview: Option<u16>, remote: Option<u16>) -> CameraConfig {
        CameraConfig {
            name: name.into(),
            transport: Transport::Udp(([127, 0, 0, 1], 52381).into()),
            visca_address: 1,
            numbering: PresetNumbering::Direct,
            overview,
            remote,
            privacy_preset: Some(99),
            shots: vec![(1, 11), (2, 12), (3, 13)],
            simulated: false,
        }
    }

    fn speaker(station: Station, at: u64) -> Speaker {
        Speaker::unlimited(station, Timestamp::new(at, 0))
    }

    fn seat(n: SeatNo, at: u64) -> Speaker {
        speaker(Station::Seat(n), at)
    }

    fn presets(d: &[CameraDecision]) -> Vec<Option<u16>> {
        d.iter().map(|c| c.preset).collect()
    }

    fn director(follow: CameraFollow, hold: u64, cameras: Vec<CameraConfig>) -> CameraDirector {
        CameraDirector::new(CameraDirectorConfig { follow, min_hold_ms: hold }, cameras)
    }

    #[test]
    fn overview_when_nobody_speaks_then_the_seats_preset() {
        let mut d = director(CameraFollow::Newest, 0, vec![camera("a", Some(1), None)]);
        assert_eq!(presets(&d.decide(&[], true, Instant(0)).0), [Some(1)]);
        assert_eq!(presets(&d.decide(&[seat(2, 5)], true, Instant(5)).0), [Some(12)]);
        assert_eq!(presets(&d.decide(&[], true, Instant(9)).0), [Some(1)]);
    }

    #[test]
    fn newest_jumps_and_stay_stays() {
        let mut newest = director(CameraFollow::Newest, 0, vec![camera("a", Some(1), None)]);
        let mut stay = director(CameraFollow::Stay, 0, vec![camera("a", Some(1), None)]);
        for d in [&mut newest, &mut stay] {
            d.decide(&[seat(1, 0)], true, Instant(0));
        }
        let both = [seat(1, 0), seat(3, 10)];
        assert_eq!(presets(&newest.decide(&both, true, Instant(10)).0), [Some(13)]);
        assert_eq!(presets(&stay.decide(&both, true, Instant(10)).0), [Some(11)]);
        // The first speaker ends: stay moves on to the one still speaking.
        assert_eq!(presets(&stay.decide(&[seat(3, 10)], true, Instant(20)).0), [Some(13)]);
    }

    #[test]
    fn minimum_hold_delays_a_jump_and_names_the_deadline() {
        let mut d = director(CameraFollow::Newest, 3000, vec![camera("a", Some(1), None)]);
        d.decide(&[seat(1, 1000)], true, Instant(1000));
        let (decision, deadline) = d.decide(&[seat(1, 1000), seat(2, 1500)], true, Instant(1500));
        assert_eq!(presets(&decision), [Some(11)]);
        assert_eq!(deadline, Some(Instant(4000)));
        let (decision, deadline) = d.decide(&[seat(1, 1000), seat(2, 1500)], true, Instant(4000));
        assert_eq!(presets(&decision), [Some(12)]);
        assert_eq!(deadline, None);
    }

    #[test]
    fn remote_speakers_get_their_shot_or_none() {
        let remote = Station::Remote("anna".into());
        let mut d = director(
            CameraFollow::Newest,
            0,
            vec![camera("a", Some(1), Some(20)), camera("b", Some(2), None)],
        );
        let (decision, _) = d.decide(&[speaker(remote.clone(), 0)], true, Instant(0));
        assert_eq!(presets(&decision), [Some(20), Some(2)]);
        // Seat 9 has no shot: camera b ignores it, camera a keeps the remote shot.
        let (decision, _) = d.decide(&[speaker(remote, 0), seat(9, 5)], true, Instant(5));
        assert_eq!(presets(&decision), [Some(20), Some(2)]);
    }

    #[test]
    fn a_camera_without_overview_stays_where_it_is() {
        let mut d = director(CameraFollow::Newest, 0, vec![camera("a", None, None)]);
        let (decision, _) = d.decide(&[], true, Instant(0));
        assert_eq!(decision[0].shot, Some(Shot::Overview));
        assert_eq!(decision[0].preset, None);
    }

    #[test]
    fn the_non_public_part_turns_every_camera_to_its_privacy_preset_at_once() {
        let mut d = director(
            CameraFollow::Newest,
            10_000,
            vec![camera("a", Some(1), None), camera("b", Some(2), None)],
        );
        d.cameras[1].privacy_preset = None;
        assert_eq!(presets(&d.decide(&[seat(2, 0)], true, Instant(0)).0), [Some(12), Some(12)]);
        let (decisions, deadline) = d.decide(&[seat(2, 0)], false, Instant(1));
        assert_eq!(presets(&decisions), [Some(99), Some(2)], "privacy preset, else the overview; no hold");
        assert_eq!(deadline, None);
    }
}
