//! The engine's event JSON (event stream, journal records): any list of events that parses
//! can be replayed onto a floor, turned into minutes and into the public view without a
//! panic, and the state survives a JSON round trip (the journal's checkpoints).
#![no_main]

use libfuzzer_sys::fuzz_target;
use podium_floor::{Event, Floor, FloorState, Profile, Setup};
use podium_host::journal::minutes::{Builder, LocalTime};

fuzz_target!(|data: &[u8]| {
    let Ok(events) = serde_json::from_slice::<Vec<Event>>(data) else { return };
    let setup = Setup {
        seats: Vec::new(),
        participants: Vec::new(),
        profile: Profile::default(),
        voting: Default::default(),
        presentation_sources: Vec::new(),
    };
    let mut floor = Floor::new(setup.clone());
    let opening = floor.state().clone();
    let local = LocalTime::new("Europe/Berlin").expect("a zone of the built-in database");
    let mut minutes = Builder::new(&setup, &[], &opening, local);
    for event in &events {
        floor.replay(event);
        minutes.event(event);
    }
    let _ = minutes.finish_all();
    // The public view of any state is made without a panic.
    let _ = podium_floor::public_view(&floor.snapshot());
    let json = serde_json::to_string(floor.state()).expect("a state serialises");
    let back: FloorState = serde_json::from_str(&json).expect("a serialised state parses");
    assert_eq!(&back, floor.state());
});
