//! Voice mode: what the room microphones hear becomes the floor's voice activity. Pure.
//!
//! - [`VoiceHold`]: per seat, the ears (array channels, networked units) that hear a talker,
//!   and what the floor has been told, after `[voice]`'s hold times: a voice must last
//!   `open_after_ms` before the floor hears of it, a silence `close_after_ms`.
//! - [`listening`]: whether a seat's channel stays unmuted in voice mode, so that the
//!   array's automixer can hear the seat at all (its mute is before the automixer).
//! - [`Voice`]: the room task's voice state: which ear belongs to which seat, the hold, the
//!   talkers kept muted, and the floor commands all this means.
//!
//! The rules between voice and the rest of the floor, stated once:
//! - a seat is heard only while it could be given the floor: below the microphone limit
//!   (the chair's and the lectern's seats always), not excluded from the item, not in a
//!   suspended meeting; every other channel is muted unless its seat speaks;
//! - a talker the floor refused, or whose microphone the chair (or the time limit) closed,
//!   stays muted until the ears hear silence: only a new voice opens it again;
//! - only a zone of one seat feeds voice mode (a channel that covers several seats cannot
//!   tell who talks); such zones follow the floor as in every other mode.

use std::collections::{BTreeMap, BTreeSet};

use podium_floor::setup::SeatNo;
use podium_floor::{Command, MeetingPhase, Mode, Snapshot, Station};

use super::microphone_director::voice_seat;
use crate::config::{MicrophoneConfig, VoiceConfig};

/// The room task's voice state (see the module's rules).
#[derive(Debug)]
pub struct Voice {
    hold: VoiceHold,
    /// (microphone name, channel) → the seat of a one-seat zone.
    ears: BTreeMap<(String, u8), (usize, SeatNo)>,
    /// Talkers refused or closed while still talking: muted until silence.
    muted_talkers: BTreeSet<SeatNo>,
    /// Seats that had the floor in the last snapshot observed.
    speaking: BTreeSet<SeatNo>,
}

impl Voice {
    /// The ears of `microphones`' one-seat zones, with `timing`'s hold times.
    pub fn new(microphones: &[MicrophoneConfig], timing: VoiceConfig) -> Self {
        let mut ears = BTreeMap::new();
        for (index, m) in microphones.iter().enumerate() {
            for (channel, seats) in &m.zones {
                if let Some(seat) = voice_seat(seats) {
                    ears.insert((m.name.clone(), *channel), (index, seat));
                }
            }
        }
        Voice {
            hold: VoiceHold::new(timing),
            ears,
            muted_talkers: BTreeSet::new(),
            speaking: BTreeSet::new(),
        }
    }

    /// The channels of `microphone` whose gates matter (one-seat zones).
    pub fn channels_of(&self, microphone: &str) -> Vec<u8> {
        self.ears.keys().filter(|(name, _)| name == microphone).map(|(_, c)| *c).collect()
    }

    /// A gate of `microphone` opened or closed at `now` (ms): the seat's voice, if it changed
    /// now.
    pub fn gate(&mut self, microphone: &str, channel: u8, open: bool, now: u64) -> Option<(SeatNo, bool)> {
        let (index, seat) = *self.ears.get(&(microphone.to_owned(), channel))?;
        let ear = Ear::Channel { microphone: index, channel };
        let voice = self.hold.heard(seat, ear, open, now)?;
        Some(self.settled(seat, voice))
    }

    /// A networked unit's detector heard a talker start or stop at `now` (ms): the seat's
    /// voice, if it changed now.
    pub fn unit(&mut self, heard: HeardVoice, now: u64) -> Option<(SeatNo, bool)> {
        let voice = self.hold.heard(heard.seat, heard.ear, heard.hearing, now)?;
        Some(self.settled(heard.seat, voice))
    }

    /// The voices and silences whose hold time has passed by `now`.
    pub fn tick(&mut self, now: u64) -> Vec<(SeatNo, bool)> {
        let due = self.hold.tick(now);
        due.into_iter().map(|(seat, voice)| self.settled(seat, voice)).collect()
    }

    fn settled(&mut self, seat: SeatNo, voice: bool) -> (SeatNo, bool) {
        if !voice {
            self.muted_talkers.remove(&seat);
        }
        (seat, voice)
    }

    /// When the next voice or silence is due (ms).
    pub fn next_deadline(&self) -> Option<u64> {
        self.hold.next_deadline()
    }

    /// Takes in a new snapshot: a talker whose microphone was closed by someone else (the
    /// chair, the time limit) while still talking stays muted until silence.
    pub fn observe(&mut self, snapshot: &Snapshot) {
        let speaking: BTreeSet<SeatNo> = snapshot
            .floor
            .speakers
            .iter()
            .filter_map(|s| match s.station {
                Station::Seat(n) => Some(n),
                Station::Remote(_) => None,
            })
            .collect();
        for seat in self.hold.talking() {
            if self.speaking.contains(&seat) && !speaking.contains(&seat) {
                self.muted_talkers.insert(seat);
            }
        }
        self.speaking = speaking;
    }

    /// The floor refused a talker: muted until silence.
    pub fn refused(&mut self, seat: SeatNo) {
        if self.hold.told(seat) {
            self.muted_talkers.insert(seat);
        }
    }

    /// Whether `seat`'s channel stays unmuted to hear a talker ([`listening`]).
    pub fn listening(&self, snapshot: &Snapshot, seat: SeatNo) -> bool {
        listening(snapshot, seat, &self.muted_talkers)
    }

    /// The floor command a seat's voice or silence means now: none outside voice mode, for a
    /// muted talker, or for the silence of a seat without the floor.
    pub fn command(&self, snapshot: &Snapshot, seat: SeatNo, voice: bool) -> Option<Command> {
        let wanted = snapshot.floor.profile.mode == Mode::Voice
            && if voice { !self.muted_talkers.contains(&seat) } else { speaks(snapshot, seat) };
        wanted.then_some(Command::VoiceActivity { station: Station::Seat(seat), active: voice })
    }
}

/// Where a voice is heard.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ear {
    /// A channel of a `[[microphone]]` array (its index in the room file).
    Channel {
        /// The array's index among the room's microphones.
        microphone: usize,
        /// The array's channel.
        channel: u8,
    },
    /// A networked desk unit, by its id.
    Unit(String),
}

/// A voice detector outside the room task (a networked desk unit) heard a talker start or
/// stop at `seat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeardVoice {
    /// The unit's seat.
    pub seat: SeatNo,
    /// Who heard it.
    pub ear: Ear,
    /// A talker (true) or silence (false).
    pub hearing: bool,
}

/// Where networked units' voice activity goes: to the room task.
pub type VoiceSender = tokio::sync::mpsc::Sender<HeardVoice>;

/// The channel from the networked units to the room task.
pub fn channel() -> (VoiceSender, tokio::sync::mpsc::Receiver<HeardVoice>) {
    tokio::sync::mpsc::channel(256)
}

#[derive(Debug, Default)]
struct Heard {
    ears: BTreeSet<Ear>,
    /// When the seat last went from silence to voice or back (ms).
    changed_at: u64,
    /// What the floor was last told.
    told: bool,
}

impl Heard {
    fn hearing(&self) -> bool {
        !self.ears.is_empty()
    }
}

/// What the room's ears hear per seat, and what the floor has been told.
#[derive(Debug)]
pub struct VoiceHold {
    timing: VoiceConfig,
    seats: BTreeMap<SeatNo, Heard>,
}

impl VoiceHold {
    /// Nothing heard yet.
    pub fn new(timing: VoiceConfig) -> Self {
        VoiceHold { timing, seats: BTreeMap::new() }
    }

    /// `ear` at `seat` starts or stops hearing a voice at `now` (ms); returns what the
    /// floor must be told now, if anything (a hold time of 0 tells at once).
    pub fn heard(&mut self, seat: SeatNo, ear: Ear, hearing: bool, now: u64) -> Option<bool> {
        let heard = self.seats.entry(seat).or_default();
        let before = heard.hearing();
        if hearing {
            heard.ears.insert(ear);
        } else {
            heard.ears.remove(&ear);
        }
        if heard.hearing() != before {
            heard.changed_at = now;
        }
        self.tick(now).into_iter().find(|(s, _)| *s == seat).map(|(_, active)| active)
    }

    /// The changes due by `now`: `(seat, voice)` for each seat whose voice or silence has
    /// lasted its hold time.
    pub fn tick(&mut self, now: u64) -> Vec<(SeatNo, bool)> {
        let mut due = Vec::new();
        for (seat, heard) in &mut self.seats {
            if Self::due(&self.timing, heard).is_some_and(|at| at <= now) {
                heard.told = heard.hearing();
                due.push((*seat, heard.told));
            }
        }
        self.seats.retain(|_, h| h.told || h.hearing());
        due
    }

    /// When the next change is due (ms), if any is pending.
    pub fn next_deadline(&self) -> Option<u64> {
        self.seats.values().filter_map(|h| Self::due(&self.timing, h)).min()
    }

    /// Whether the floor was told that `seat` talks.
    pub fn told(&self, seat: SeatNo) -> bool {
        self.seats.get(&seat).is_some_and(|h| h.told)
    }

    /// Every seat the floor was told talks.
    pub fn talking(&self) -> impl Iterator<Item = SeatNo> + '_ {
        self.seats.iter().filter(|(_, h)| h.told).map(|(s, _)| *s)
    }

    fn due(timing: &VoiceConfig, heard: &Heard) -> Option<u64> {
        match (heard.hearing(), heard.told) {
            (true, false) => Some(heard.changed_at + timing.open_after_ms),
            (false, true) => Some(heard.changed_at + timing.close_after_ms),
            _ => None,
        }
    }
}

/// Whether `seat`'s voice channel stays unmuted in voice mode so that a talker there can be
/// heard; `muted_talkers` are the seats refused or closed while still talking. Outside
/// voice mode, never (channels then follow the floor alone).
pub fn listening(snapshot: &Snapshot, seat: SeatNo, muted_talkers: &BTreeSet<SeatNo>) -> bool {
    let floor = &snapshot.floor;
    if floor.profile.mode != Mode::Voice || muted_talkers.contains(&seat) {
        return false;
    }
    let occupant = floor.seated.get(&seat);
    if occupant.is_some_and(|p| floor.is_excluded_now(p)) {
        return false;
    }
    let exempt = floor.profile.podium_seat == Some(seat)
        || occupant.is_some_and(|p| snapshot.participants.iter().any(|q| &q.id == p && q.role.is_chair()));
    exempt
        || (floor.phase != MeetingPhase::Suspended
            && floor.open_delegate_microphones() < usize::from(floor.profile.limits.max_open_microphones))
}

/// Whether `seat` has the floor in `snapshot`.
pub fn speaks(snapshot: &Snapshot, seat: SeatNo) -> bool {
    snapshot.floor.speakers.iter().any(|s| s.station == Station::Seat(seat))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(open_after_ms: u64, close_after_ms: u64) -> VoiceHold {
        VoiceHold::new(VoiceConfig { open_after_ms, close_after_ms })
    }

    fn ch(channel: u8) -> Ear {
        Ear::Channel { microphone: 0, channel }
    }

    #[test]
    fn a_voice_opens_after_its_hold_time_and_closes_after_the_silence() {
        let mut v = hold(150, 1500);
        assert_eq!(v.heard(3, ch(1), true, 1000), None);
        assert_eq!(v.next_deadline(), Some(1150));
        assert_eq!(v.tick(1149), vec![]);
        assert_eq!(v.tick(1150), vec![(3, true)]);
        assert!(v.told(3));
        assert_eq!(v.heard(3, ch(1), false, 5000), None);
        assert_eq!(v.next_deadline(), Some(6500));
        assert_eq!(v.tick(6500), vec![(3, false)]);
        assert_eq!((v.told(3), v.next_deadline()), (false, None));
    }

    #[test]
    fn a_cough_and_a_pause_between_words_change_nothing() {
        let mut v = hold(150, 1500);
        // A cough: 100 ms of voice.
        v.heard(3, ch(1), true, 0);
        v.heard(3, ch(1), false, 100);
        assert_eq!((v.tick(10_000), v.next_deadline()), (vec![], None));
        // A talker who pauses for a second between sentences keeps the microphone.
        v.heard(3, ch(1), true, 20_000);
        assert_eq!(v.tick(20_150), vec![(3, true)]);
        v.heard(3, ch(1), false, 25_000);
        v.heard(3, ch(1), true, 26_000);
        assert_eq!((v.tick(40_000), v.told(3)), (vec![], true));
        // A gate fluttering on and off every 50 ms before anyone really talks opens nothing.
        for i in 0..20 {
            v.heard(4, ch(2), i % 2 == 0, 50_000 + i * 50);
            assert!(v.tick(50_000 + i * 50).is_empty());
        }
    }

    #[test]
    fn a_seat_heard_by_two_ears_is_silent_only_when_both_are() {
        let mut v = hold(0, 0);
        assert_eq!(v.heard(3, ch(1), true, 0), Some(true));
        assert_eq!(v.heard(3, Ear::Unit("u3".into()), true, 10), None);
        assert_eq!(v.heard(3, ch(1), false, 20), None);
        assert!(v.told(3));
        assert_eq!(v.heard(3, Ear::Unit("u3".into()), false, 30), Some(false));
        assert_eq!(v.talking().count(), 0);
    }
}
