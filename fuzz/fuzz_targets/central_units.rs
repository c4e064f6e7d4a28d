//! Central units: what a Shure central unit (ASCII lines), a CoCon server (paths, bodies,
//! events) or a DICENTIS server (WebSocket JSON messages) may send. The first byte picks
//! which. No panic; the line framing consumes its
//! input; the Shure core's commands stay bounded and name only the seats it manages; the
//! CoCon lists and bodies read back.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use podium_devices::central::UnitFloor;
use podium_devices::central::cocon::codec as cocon;
use podium_devices::central::cocon::hub::{Hub, Take};
use podium_devices::central::dicentis::codec as dicentis;
use podium_devices::central::shure_dcs::codec::{self as dcs, Taken};
use podium_devices::central::shure_dcs::core::{CoreSettings, DcsCore};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    match pick % 3 {
        0 => shure(rest),
        1 => televic(rest),
        _ => bosch(rest),
    }
});

fn shure(data: &[u8]) {
    let t0 = Instant::now();
    let settings = CoreSettings { managed: Some([1, 2, 3].into()), ..CoreSettings::default() };
    let mut core = DcsCore::new(settings);
    core.set_desired(UnitFloor { speakers: [1, 2].into(), requests: [3].into() });
    core.connected(t0);
    while core.poll_transmit(t0).is_some() {}
    let mut buf = data.to_vec();
    let mut now = t0;
    loop {
        let before = buf.len();
        let Some(taken) = dcs::take_line(&mut buf) else { break };
        assert!(buf.len() < before, "a line was taken without consuming input");
        match taken {
            Taken::Line(text) => {
                let _ = dcs::Line::parse(&text);
                let _ = dcs::Command::parse(&text);
                core.receive(&text, now);
            }
            Taken::Overlong => core.overlong(),
        }
        now += Duration::from_millis(700);
        let _ = core.on_timeout(now);
        let mut sent = 0;
        while let Some(command) = core.poll_transmit(now) {
            sent += 1;
            assert!(sent <= 16, "a runaway of commands");
            let seat = match command {
                dcs::Command::MicOn(s)
                | dcs::Command::MicOff(s)
                | dcs::Command::RequestOn(s)
                | dcs::Command::RequestOff(s) => Some(s),
                _ => None,
            };
            assert!(seat.is_none_or(|s| (1..=3).contains(&s)), "a command for a seat Podium does not manage");
        }
        while core.poll_report().is_some() {}
    }
    assert!(core.seen().speakers.iter().chain(&core.seen().requests).all(|s| (1..=3).contains(s)));
}

fn bosch(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(message) = dicentis::Message::parse(&text) {
        let _ = (message.error(), message.events(), message.is("GetDiscussionList"));
        if let Some((list, _skipped)) = dicentis::discussion_list(&message.parameters) {
            assert!(list.speaking.iter().chain(&list.waiting).all(|id| !id.is_empty()));
        }
        let _ = dicentis::seats(&message.parameters);
        assert_eq!(dicentis::Message::parse(&message.encode()).ok().map(|m| m.encode()), Some(message.encode()));
    }
}

fn televic(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (path, query) = text.split_once('?').unwrap_or((&text, ""));
    let request = cocon::Request::parse(path, query);
    let _ = request.path();
    if let Ok(value) = cocon::decode_body(&text) {
        if let Some(floor) = cocon::lists_of(&value) {
            let speakers: Vec<u16> = floor.speakers.iter().copied().collect();
            let requests: Vec<u16> = floor.requests.iter().copied().collect();
            assert_eq!(cocon::lists_of(&cocon::microphone_state(&speakers, &requests)), Some(floor));
        }
        let t0 = Instant::now();
        let mut hub = Hub::default();
        hub.connect("a".into(), t0);
        hub.publish("Microphone", &value);
        assert!(matches!(hub.take("a", t0), Take::Event(_)));
        assert_eq!(cocon::decode_body(&cocon::encode_body(&value)).ok(), Some(value));
    }
}
