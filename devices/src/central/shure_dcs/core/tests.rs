//! The core on virtual time: one `Instant` as the origin, every step's `now` from it.

use std::time::{Duration, Instant};

use super::*;
use crate::central::SeatChange;

fn floor(speakers: &[UnitSeat], requests: &[UnitSeat]) -> UnitFloor {
    UnitFloor { speakers: speakers.iter().copied().collect(), requests: requests.iter().copied().collect() }
}

fn sent(core: &mut DcsCore, now: Instant) -> Vec<String> {
    std::iter::from_fn(|| core.poll_transmit(now)).map(|c| c.encode().trim_end().to_owned()).collect()
}

fn feed(core: &mut DcsCore, lines: &[&str], now: Instant) {
    for line in lines {
        core.receive(line, now);
    }
}

fn reports(core: &mut DcsCore) -> Vec<SeatReport> {
    std::iter::from_fn(|| core.poll_report()).collect()
}

/// A core connected to a unit with seat 3 speaking and seat 5 waiting.
fn synced(t0: Instant) -> DcsCore {
    let mut core = DcsCore::new(CoreSettings::default());
    core.connected(t0);
    assert_eq!(sent(&mut core, t0), ["mic_mode manual", "mic_status"]);
    feed(
        &mut core,
        &[
            "mic_mode manual",
            "seat_state 3 active A",
            "seat_state 5 active B",
            "mic_mode manual",
            "max_speakers 4",
            "mic_on 3",
            "mic_request_on 5",
            "mic_status_done",
        ],
        t0,
    );
    assert!(core.synced());
    assert_eq!(core.seen(), &floor(&[3], &[5]));
    core
}

#[test]
fn nothing_is_sent_before_the_status_and_the_status_reports_nothing() {
    let t0 = Instant::now();
    let mut core = DcsCore::new(CoreSettings::default());
    core.set_desired(floor(&[1], &[]));
    core.connected(t0);
    assert_eq!(sent(&mut core, t0), ["mic_mode manual", "mic_status"]);
    feed(&mut core, &["mic_on 3", "mic_request_on 5"], t0);
    assert_eq!(sent(&mut core, t0), Vec::<String>::new(), "the unit is not known yet");
    feed(&mut core, &["mic_status_done"], t0);
    // A unit that restarted or was changed while we were away follows the floor.
    assert!(reports(&mut core).is_empty());
    // Off before on: a unit at its own limit would ignore the opening.
    assert_eq!(sent(&mut core, t0), ["mic_off 3", "mic_request_off 5", "mic_on 1"]);
}

#[test]
fn answers_that_move_the_unit_towards_the_floor_are_not_reports() {
    let t0 = Instant::now();
    let mut core = synced(t0);
    // The chair grants seat 5: its microphone opens, and the unit drops its request itself.
    core.set_desired(floor(&[3, 5], &[]));
    assert_eq!(sent(&mut core, t0), ["mic_on 5"]);
    feed(&mut core, &["mic_on 5", "mic_request_off 5"], t0);
    assert!(reports(&mut core).is_empty());
    assert_eq!(core.seen(), &floor(&[3, 5], &[]));
    assert_eq!(core.counters().confirmed, 1);
    assert_eq!(sent(&mut core, t0), Vec::<String>::new());
}

#[test]
fn changes_made_at_the_unit_are_reported_once() {
    let t0 = Instant::now();
    let mut core = synced(t0);
    core.set_desired(floor(&[3], &[5]));
    feed(&mut core, &["mic_request_on 7", "mic_request_on 7", "mic_off 3", "mic_request_off 5"], t0);
    assert_eq!(
        reports(&mut core),
        [
            SeatReport { seat: 7, change: SeatChange::RequestOn },
            SeatReport { seat: 3, change: SeatChange::MicOff },
            SeatReport { seat: 5, change: SeatChange::RequestOff },
        ]
    );
    assert_eq!(core.counters().changes_at_unit, 3);
    // The floor decides first: no correction while it has not answered.
    assert_eq!(sent(&mut core, t0), Vec::<String>::new());
    // It takes seat 7's request: decided, nothing to correct there.
    core.set_desired(floor(&[3], &[5, 7]));
    assert_eq!(sent(&mut core, t0), Vec::<String>::new());
    // It did not let the others go (no change in 2 s): the unit is made to match it.
    let t1 = t0 + Duration::from_secs(2);
    assert_eq!(core.poll_timeout(), Some(t1));
    assert_eq!(core.on_timeout(t1), Ok(()));
    assert_eq!(sent(&mut core, t1), ["mic_on 3", "mic_request_on 5"]);
}

#[test]
fn a_command_the_unit_ignores_is_held_and_the_unit_read_again() {
    let t0 = Instant::now();
    let mut core = synced(t0);
    core.set_desired(floor(&[3, 9], &[5]));
    assert_eq!(sent(&mut core, t0), ["mic_on 9"]);
    assert_eq!(core.poll_timeout(), Some(t0 + Duration::from_secs(2)));
    let t1 = t0 + Duration::from_secs(2);
    assert_eq!(core.on_timeout(t1), Ok(()));
    assert_eq!(core.counters().ignored, 1);
    assert!(core.take_problem().is_some_and(|p| p.contains("seat 9")));
    assert_eq!(sent(&mut core, t1), ["mic_status"]);
    feed(&mut core, &["mic_on 3", "mic_request_on 5", "mic_status_done"], t1);
    assert_eq!(sent(&mut core, t1), Vec::<String>::new(), "held for 5 s");
    let t2 = t1 + Duration::from_secs(5);
    assert_eq!(core.on_timeout(t2), Ok(()));
    assert_eq!(sent(&mut core, t2), ["mic_on 9"]);
}

#[test]
fn a_status_that_does_not_end_means_the_link_is_dead() {
    let t0 = Instant::now();
    let mut core = DcsCore::new(CoreSettings::default());
    core.connected(t0);
    let _ = sent(&mut core, t0);
    assert_eq!(core.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    assert_eq!(core.on_timeout(t0 + Duration::from_secs(9)), Ok(()));
    assert_eq!(core.on_timeout(t0 + Duration::from_secs(10)), Err(Silent));
}

#[test]
fn the_unit_is_read_again_every_30_s_and_keys_during_the_read_still_count() {
    let t0 = Instant::now();
    let mut core = synced(t0);
    core.set_desired(floor(&[3], &[5]));
    let t1 = t0 + Duration::from_secs(30);
    assert_eq!(core.poll_timeout(), Some(t1));
    assert_eq!(core.on_timeout(t1), Ok(()));
    assert_eq!(sent(&mut core, t1), ["mic_status"]);
    feed(&mut core, &["mic_on 3", "mic_request_on 8", "mic_request_on 5", "mic_status_done"], t1);
    assert_eq!(reports(&mut core), [SeatReport { seat: 8, change: SeatChange::RequestOn }]);
}

#[test]
fn a_mode_changed_at_the_unit_is_set_back_and_bad_lines_change_nothing() {
    let t0 = Instant::now();
    let mut core = synced(t0);
    core.set_desired(floor(&[3], &[5]));
    feed(&mut core, &["mic_mode fifo"], t0);
    assert_eq!(sent(&mut core, t0), ["mic_mode manual"]);
    feed(
        &mut core,
        &[
            "mic_on x",
            "mic_request_on",
            "seat_state 5 maybe",
            "command_error unknown command",
            "voting_started",
        ],
        t0,
    );
    assert_eq!(core.counters().malformed, 3);
    assert_eq!(core.counters().command_errors, 1);
    assert_eq!(core.seen(), &floor(&[3], &[5]));
    assert!(reports(&mut core).is_empty());
    feed(&mut core, &["seat_state 5 passive B"], t0);
    assert!(core.passive().contains(&5));
}

#[test]
fn an_answer_to_podium_is_no_report_even_if_the_floor_moved_on() {
    let t0 = Instant::now();
    let mut core = synced(t0);
    core.set_desired(floor(&[3, 5], &[]));
    assert_eq!(sent(&mut core, t0), ["mic_on 5"]);
    // The chair changes their mind before the unit answers.
    core.set_desired(floor(&[3], &[5]));
    feed(&mut core, &["mic_on 5", "mic_request_off 5"], t0);
    assert!(reports(&mut core).is_empty(), "Podium's own command is no key");
    assert_eq!(sent(&mut core, t0), ["mic_off 5"]);
    feed(&mut core, &["mic_off 5"], t0);
    // An open seat cannot queue: its request goes in once it is off.
    assert_eq!(sent(&mut core, t0), ["mic_request_on 5"]);
    assert!(reports(&mut core).is_empty());
}

#[test]
fn a_seat_the_unit_opens_itself_keeps_its_request_on_the_floor() {
    let t0 = Instant::now();
    let mut core = synced(t0);
    core.set_desired(floor(&[3], &[5]));
    // The chair's unit (or the unit's web page) opens waiting seat 5.
    feed(&mut core, &["mic_on 5", "mic_request_off 5"], t0);
    assert_eq!(reports(&mut core), [SeatReport { seat: 5, change: SeatChange::MicOn }]);
}

#[test]
fn seats_podium_does_not_manage_are_left_alone() {
    let t0 = Instant::now();
    let settings = CoreSettings { managed: Some([3, 5].into()), ..CoreSettings::default() };
    let mut core = DcsCore::new(settings);
    core.set_desired(floor(&[], &[5]));
    core.connected(t0);
    let _ = sent(&mut core, t0);
    feed(&mut core, &["mic_on 3", "mic_on 40", "mic_request_on 41", "mic_status_done"], t0);
    assert_eq!(sent(&mut core, t0), ["mic_off 3", "mic_request_on 5"]);
    feed(&mut core, &["mic_request_on 42"], t0);
    assert!(reports(&mut core).is_empty());
    assert_eq!(core.seen(), &floor(&[3], &[]));
}
