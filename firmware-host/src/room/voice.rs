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
use podium_floor::{BudgetPolicy, Command, MeetingPhase, Mode, Snapshot, Station};

use super::microphone_director::voice_seat;
use crate::config::{MicrophoneConfig, VoiceConfig};

/// How long a change the rate limit dropped waits before it is sent again (ms).
const RETRY_MS: u64 = 250;

/// The room task's voice state (see the module's rules).
#[derive(Debug)]
pub struct Voice {
    hold: VoiceHold,
    /// (microphone name, channel) → the seat of a one-seat zone.
    ears: BTreeMap<(String, u8), (usize, SeatNo)>,
    /// Every seat something can hear: one-seat zones and networked units' seats.
    voice_seats: BTreeSet<SeatNo>,
    /// Talkers refused or closed while still talking: muted until silence.
    muted_talkers: BTreeSet<SeatNo>,
    /// Seats that had the floor in the last snapshot observed.
    speaking: BTreeSet<SeatNo>,
    /// Changes the rate limit dropped, to send again at the time given (ms).
    retries: Vec<(u64, SeatNo, bool)>,
}

impl Voice {
    /// The ears of `microphones`' one-seat zones and of the networked units at `unit_seats`,
    /// with `timing`'s hold times.
    pub fn new(microphones: &[MicrophoneConfig], unit_seats: &[SeatNo], timing: VoiceConfig) -> Self {
        let mut ears = BTreeMap::new();
        for (index, m) in microphones.iter().enumerate() {
            for (channel, seats) in &m.zones {
                if let Some(seat) = voice_seat(seats) {
                    ears.insert((m.name.clone(), *channel), (index, seat));
                }
            }
        }
        let voice_seats = ears.values().map(|(_, seat)| *seat).chain(unit_seats.iter().copied()).collect();
        Voice {
            hold: VoiceHold::new(timing),
            ears,
            voice_seats,
            muted_talkers: BTreeSet::new(),
            speaking: BTreeSet::new(),
            retries: Vec::new(),
        }
    }

    /// The channels of `microphone` whose gates matter (one-seat zones).
    pub fn channels_of(&self, microphone: &str) -> Vec<u8> {
        self.ears.keys().filter(|(name, _)| name == microphone).map(|(_, c)| *c).collect()
    }

    /// A gate of `microphone` opened or closed at `now` (ms); then every change due.
    pub fn gate(&mut self, microphone: &str, channel: u8, open: bool, now: u64) -> Vec<(SeatNo, bool)> {
        if let Some((index, seat)) = self.ears.get(&(microphone.to_owned(), channel)).copied() {
            self.hold.heard(seat, Ear::Channel { microphone: index, channel }, open, now);
        }
        self.tick(now)
    }

    /// A networked unit's detector heard a talker start or stop at `now` (ms); then every
    /// change due.
    pub fn unit(&mut self, heard: HeardVoice, now: u64) -> Vec<(SeatNo, bool)> {
        self.hold.heard(heard.seat, heard.ear, heard.hearing, now);
        self.tick(now)
    }

    /// The voices and silences whose hold time has passed by `now`, and the changes to send
    /// again.
    pub fn tick(&mut self, now: u64) -> Vec<(SeatNo, bool)> {
        let mut due = self.hold.tick(now);
        for (seat, voice) in &due {
            if !voice {
                self.muted_talkers.remove(seat);
            }
        }
        let (again, later): (Vec<_>, Vec<_>) = self.retries.drain(..).partition(|(at, ..)| *at <= now);
        self.retries = later;
        // A retry that a newer change of the same seat overtook is dropped.
        let fresh: BTreeSet<SeatNo> = due.iter().map(|(seat, _)| *seat).collect();
        due.extend(again.into_iter().filter(|(_, seat, _)| !fresh.contains(seat)).map(|(_, s, v)| (s, v)));
        due
    }

    /// When the next voice, silence or retry is due (ms).
    pub fn next_deadline(&self) -> Option<u64> {
        self.hold.next_deadline().into_iter().chain(self.retries.iter().map(|(at, ..)| *at)).min()
    }

    /// The rate limit dropped `seat`'s change: it is sent again shortly.
    pub fn rate_limited(&mut self, seat: SeatNo, voice: bool, now: u64) {
        self.retries.retain(|(_, s, _)| *s != seat);
        self.retries.push((now + RETRY_MS, seat, voice));
    }

    /// Takes in a new snapshot at `now` (ms):
    /// - a talker whose microphone was closed by someone else (the chair, the time limit)
    ///   while still talking stays muted until silence;
    /// - in voice mode, a seat that has the floor without a voice heard (granted by the
    ///   chair, opened before voice mode or before a restart) closes after a silence of
    ///   `close_after_ms` unless a voice is heard meanwhile: microphones follow the voice.
    pub fn observe(&mut self, snapshot: &Snapshot, now: u64) {
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
        if snapshot.floor.profile.mode == Mode::Voice {
            for seat in speaking.intersection(&self.voice_seats) {
                self.hold.silent_speaker(*seat, now);
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

    /// The floor command a seat's voice or silence means now: none outside voice mode or
    /// for a muted talker's voice. A silence is always sent in voice mode (for a seat
    /// without the floor the engine does nothing): the snapshot may not show yet the voice
    /// command still on its way.
    pub fn command(&self, snapshot: &Snapshot, seat: SeatNo, voice: bool) -> Option<Command> {
        let wanted =
            snapshot.floor.profile.mode == Mode::Voice && !(voice && self.muted_talkers.contains(&seat));
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

    /// `ear` at `seat` starts or stops hearing a voice at `now` (ms). What the floor must be
    /// told comes from [`VoiceHold::tick`] (at once for a hold time of 0).
    pub fn heard(&mut self, seat: SeatNo, ear: Ear, hearing: bool, now: u64) {
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
    }

    /// `seat` has the floor though nothing was heard there: treated as a voice that fell
    /// silent at `now`, so it closes after the release time unless a voice is heard. A
    /// seat already heard or told keeps its state.
    pub fn silent_speaker(&mut self, seat: SeatNo, now: u64) {
        self.seats.entry(seat).or_insert(Heard { ears: BTreeSet::new(), changed_at: now, told: true });
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
    let person = occupant.and_then(|p| snapshot.participants.iter().find(|q| &q.id == p));
    let exempt = floor.profile.podium_seat == Some(seat) || person.is_some_and(|p| p.role.is_chair());
    // The engine's budget rule: a group whose time is used up is refused (the chair is
    // never budgeted), unless the budget only warns.
    let budget_used_up = floor.budget.as_ref().is_some_and(|b| {
        b.spec.policy != BudgetPolicy::WarnOnly
            && person.and_then(|p| p.group.as_ref()).is_some_and(|g| b.exhausted.contains(g))
    });
    exempt
        || (floor.phase != MeetingPhase::Suspended
            && !budget_used_up
            && floor.open_delegate_microphones() < usize::from(floor.profile.limits.max_open_microphones))
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

    /// `heard`, then what is due at once.
    fn hear(v: &mut VoiceHold, seat: SeatNo, ear: Ear, hearing: bool, now: u64) -> Vec<(SeatNo, bool)> {
        v.heard(seat, ear, hearing, now);
        v.tick(now)
    }

    #[test]
    fn a_voice_opens_after_its_hold_time_and_closes_after_the_silence() {
        let mut v = hold(150, 1500);
        assert_eq!(hear(&mut v, 3, ch(1), true, 1000), vec![]);
        assert_eq!(v.next_deadline(), Some(1150));
        assert_eq!(v.tick(1149), vec![]);
        assert_eq!(v.tick(1150), vec![(3, true)]);
        assert!(v.told(3));
        assert_eq!(hear(&mut v, 3, ch(1), false, 5000), vec![]);
        assert_eq!(v.next_deadline(), Some(6500));
        assert_eq!(v.tick(6500), vec![(3, false)]);
        assert_eq!((v.told(3), v.next_deadline()), (false, None));
    }

    #[test]
    fn a_cough_and_a_pause_between_words_change_nothing() {
        let mut v = hold(150, 1500);
        // A cough: 100 ms of voice.
        hear(&mut v, 3, ch(1), true, 0);
        hear(&mut v, 3, ch(1), false, 100);
        assert_eq!((v.tick(10_000), v.next_deadline()), (vec![], None));
        // A talker who pauses for a second between sentences keeps the microphone.
        hear(&mut v, 3, ch(1), true, 20_000);
        assert_eq!(v.tick(20_150), vec![(3, true)]);
        hear(&mut v, 3, ch(1), false, 25_000);
        hear(&mut v, 3, ch(1), true, 26_000);
        assert_eq!((v.tick(40_000), v.told(3)), (vec![], true));
        // A gate fluttering on and off every 50 ms before anyone really talks opens nothing.
        for i in 0..20 {
            assert!(hear(&mut v, 4, ch(2), i % 2 == 0, 50_000 + i * 50).is_empty());
        }
    }

    #[test]
    fn a_seat_heard_by_two_ears_is_silent_only_when_both_are() {
        let mut v = hold(0, 0);
        assert_eq!(hear(&mut v, 3, ch(1), true, 0), vec![(3, true)]);
        assert_eq!(hear(&mut v, 3, Ear::Unit("u3".into()), true, 10), vec![]);
        assert_eq!(hear(&mut v, 3, ch(1), false, 20), vec![]);
        assert!(v.told(3));
        assert_eq!(hear(&mut v, 3, Ear::Unit("u3".into()), false, 30), vec![(3, false)]);
        assert_eq!(v.talking().count(), 0);
    }

    #[test]
    fn a_report_at_another_seats_deadline_loses_neither_change() {
        let mut v = hold(100, 100);
        hear(&mut v, 3, ch(1), true, 0);
        // Seat 3's voice is due at 100; seat 4's gate report arrives at 150 with it.
        let mut due = hear(&mut v, 4, ch(2), true, 150);
        assert_eq!(due, vec![(3, true)]);
        due = v.tick(250);
        assert_eq!(due, vec![(4, true)]);
    }

    mod room {
        use podium_floor::setup::{Participant, Profile, Role, SeatSetup, Setup};
        use podium_floor::{Actor, Floor, Timestamp};

        use super::super::*;

        fn voice_floor(max_open: u16) -> Floor {
            let seat = |n: u16| SeatSetup {
                number: n,
                label: n.to_string(),
                default_participant: Some(format!("m{n}")),
                position: None,
            };
            let person = |n: u16| Participant {
                id: format!("m{n}"),
                name: format!("Member {n}"),
                group: None,
                role: if n == 1 { Role::Chair } else { Role::Member },
                remote_allowed: false,
                voting_right: true,
                nonpublic_allowed: true,
            };
            let mut profile = Profile { mode: Mode::Voice, ..Profile::default() };
            profile.limits.max_open_microphones = max_open;
            Floor::new(Setup {
                seats: (1..=4).map(seat).collect(),
                participants: (1..=4).map(person).collect(),
                profile,
                voting: Default::default(),
                presentation_sources: Vec::new(),
            })
        }

        fn ceiling() -> MicrophoneConfig {
            MicrophoneConfig {
                name: "ceiling".into(),
                addr: ([127, 0, 0, 1], 2202).into(),
                zones: vec![(1, vec![1]), (2, vec![2]), (3, vec![3]), (4, vec![4])],
                simulated: false,
            }
        }

        fn apply(floor: &mut Floor, voice: &Voice, seat: SeatNo, active: bool, at: u64) -> bool {
            let Some(command) = voice.command(&floor.snapshot(), seat, active) else { return false };
            floor.handle(&command, &Actor::System, Timestamp::new(at, at as i64)).is_ok()
        }

        #[test]
        fn a_speaker_without_a_voice_closes_after_the_silence_and_a_stopped_talker_waits_for_silence() {
            let mut floor = voice_floor(1);
            let mut voice =
                Voice::new(&[ceiling()], &[], VoiceConfig { open_after_ms: 0, close_after_ms: 1000 });
            // The chair grants seat 2 in voice mode; nobody talks there.
            floor
                .handle(&Command::Grant { station: Station::Seat(2) }, &Actor::Chair, Timestamp::new(0, 0))
                .unwrap();
            voice.observe(&floor.snapshot(), 0);
            assert_eq!(voice.next_deadline(), Some(1000));
            assert_eq!(voice.tick(1000), vec![(2, false)]);
            assert!(apply(&mut floor, &voice, 2, false, 1000));
            assert!(floor.state().speakers.is_empty(), "microphones follow the voice");

            // Seat 3 talks and gets the floor; at the limit seat 4 cannot be heard.
            for (seat, active) in voice.gate("ceiling", 3, true, 2000) {
                assert!(apply(&mut floor, &voice, seat, active, 2000));
            }
            voice.observe(&floor.snapshot(), 2000);
            assert!(!voice.listening(&floor.snapshot(), 4) && voice.listening(&floor.snapshot(), 1));
            // The chair stops seat 3 while it still talks: muted until silence.
            floor
                .handle(
                    &Command::Stop { station: Station::Seat(3) },
                    &Actor::Chair,
                    Timestamp::new(2500, 2500),
                )
                .unwrap();
            voice.observe(&floor.snapshot(), 2500);
            assert!(!voice.listening(&floor.snapshot(), 3));
            assert_eq!(voice.command(&floor.snapshot(), 3, true), None, "its voice opens nothing");
            assert_eq!(voice.gate("ceiling", 3, false, 2600), vec![]);
            assert_eq!(voice.tick(3600), vec![(3, false)]);
            assert!(voice.listening(&floor.snapshot(), 3), "silence: listening again");
        }

        #[test]
        fn a_refused_talker_and_a_dropped_change() {
            let mut floor = voice_floor(1);
            let mut voice =
                Voice::new(&[ceiling()], &[4], VoiceConfig { open_after_ms: 0, close_after_ms: 0 });
            for (seat, active) in voice.gate("ceiling", 2, true, 0) {
                assert!(apply(&mut floor, &voice, seat, active, 0));
            }
            // A networked unit at seat 4 hears its member at the limit: refused, muted.
            let heard = HeardVoice { seat: 4, ear: Ear::Unit("u4".into()), hearing: true };
            assert_eq!(voice.unit(heard, 10), vec![(4, true)]);
            assert!(!apply(&mut floor, &voice, 4, true, 10));
            voice.refused(4);
            assert_eq!(voice.command(&floor.snapshot(), 4, true), None);
            // The rate limit drops seat 2's silence: it is sent again, not lost.
            assert_eq!(voice.gate("ceiling", 2, false, 100), vec![(2, false)]);
            voice.rate_limited(2, false, 100);
            assert_eq!(voice.next_deadline(), Some(100 + RETRY_MS));
            assert_eq!(voice.tick(100 + RETRY_MS), vec![(2, false)]);
            assert!(apply(&mut floor, &voice, 2, false, 400));
            assert!(floor.state().speakers.is_empty());
            // Outside voice mode nothing is sent.
            floor
                .handle(&Command::SetMode { mode: Mode::Request }, &Actor::Chair, Timestamp::new(500, 500))
                .unwrap();
            assert_eq!(voice.command(&floor.snapshot(), 2, true), None);
        }
    }
}
