//! Property tests of the central units' codecs: every command and line reads back; line
//! framing does not depend on how the bytes were cut; the CoCon paths, bodies and lists
//! read back; nothing panics on arbitrary input.

use podium_devices::central::UnitFloor;
use podium_devices::central::cocon::codec::{self as cocon, ClearList, MicState, Request};
use podium_devices::central::shure_dcs::codec::{Command, Line, MicMode, Taken, take_line};
use proptest::prelude::*;
use serde_json::Value;

fn seat() -> impl Strategy<Value = u16> {
    1u16..=u16::MAX
}

fn mode() -> impl Strategy<Value = MicMode> {
    prop_oneof![Just(MicMode::Auto), Just(MicMode::Fifo), Just(MicMode::Manual), Just(MicMode::Vox)]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        seat().prop_map(Command::MicOn),
        seat().prop_map(Command::MicOff),
        seat().prop_map(Command::RequestOn),
        seat().prop_map(Command::RequestOff),
        Just(Command::AllDelegatesOff),
        Just(Command::AllRequestsOff),
        Just(Command::NextOn),
        mode().prop_map(Command::Mode),
        (1u8..=8).prop_map(Command::MaxTotalSpeakers),
        (1u8..=8).prop_map(Command::MaxSpeakers),
        (0u8..=250).prop_map(Command::MaxRequests),
        Just(Command::Status),
    ]
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        seat().prop_map(Line::MicOn),
        seat().prop_map(Line::MicOff),
        seat().prop_map(Line::RequestOn),
        seat().prop_map(Line::RequestOff),
        (seat(), any::<bool>(), "[A-Za-z0-9äöü]{1,8}( [A-Za-z0-9]{1,8}){0,2}")
            .prop_map(|(seat, active, name)| Line::Seat { seat, active, name }),
        mode().prop_map(Line::Mode),
        Just(Line::StatusDone),
        "[a-z ]{1,30}".prop_map(|t| Line::CommandError(t.split_whitespace().collect::<Vec<_>>().join(" "))),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    let id = "[A-Za-z0-9-]{1,36}";
    prop_oneof![
        Just(Request::Connect),
        id.prop_map(|id| Request::Notification { id }),
        (id, "[A-Za-z_ ]{1,20}", any::<bool>()).prop_map(|(id, model, details)| Request::Subscribe {
            model,
            id,
            details
        }),
        (id, "[A-Za-z_]{1,20}").prop_map(|(id, model)| Request::Unsubscribe { model, id }),
        (
            prop_oneof![
                Just(MicState::On),
                Just(MicState::Off),
                Just(MicState::Request),
                Just(MicState::Toggle)
            ],
            seat()
        )
            .prop_map(|(state, seat)| Request::SetState { state, seat }),
        prop_oneof![
            Just(ClearList::Speakers),
            Just(ClearList::Requests),
            Just(ClearList::SpeakersAndRequests)
        ]
        .prop_map(Request::Clear),
        (prop::sample::select(cocon::MODES), prop::option::of(any::<u8>()))
            .prop_map(|(mode, max_active)| Request::SetMode { mode: mode.to_owned(), max_active }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn shure_commands_read_back(c in command()) {
        let text = c.encode();
        prop_assert!(text.ends_with('\r'));
        prop_assert_eq!(Command::parse(text.trim_end()), Ok(c));
    }

    #[test]
    fn shure_lines_read_back_through_the_framing(lines in prop::collection::vec(line(), 0..20), cuts in prop::collection::vec(0usize..64, 0..10)) {
        let wire: Vec<u8> = lines.iter().flat_map(|l| l.encode().into_bytes()).collect();
        // The same bytes cut anywhere give the same lines.
        let mut buf = Vec::new();
        let mut got = Vec::new();
        let mut rest = &wire[..];
        for cut in cuts.iter().chain(std::iter::once(&usize::MAX)) {
            let (chunk, tail) = rest.split_at((*cut).min(rest.len()));
            buf.extend_from_slice(chunk);
            rest = tail;
            while let Some(taken) = take_line(&mut buf) {
                if let Taken::Line(text) = taken {
                    got.push(Line::parse(&text).expect("our own line"));
                }
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, lines);
    }

    #[test]
    fn shure_framing_never_panics_and_consumes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut buf = bytes;
        while let Some(taken) = take_line(&mut buf) {
            if let Taken::Line(text) = taken {
                let _ = Line::parse(&text);
                let _ = Command::parse(&text);
            }
        }
        prop_assert!(buf.len() <= podium_devices::central::shure_dcs::codec::MAX_LINE);
    }

    #[test]
    fn cocon_requests_read_back_from_their_path(r in request()) {
        let path = r.path();
        let (p, q) = path.split_once('?').unwrap_or((&path, ""));
        prop_assert_eq!(Request::parse(p, q), r);
    }

    #[test]
    fn cocon_bodies_and_lists_read_back(speakers in prop::collection::btree_set(seat(), 0..10), requests in prop::collection::btree_set(seat(), 0..10), text in "\\PC{0,40}") {
        let s: Vec<u16> = speakers.iter().copied().collect();
        let r: Vec<u16> = requests.iter().copied().collect();
        let event = cocon::microphone_state(&s, &r);
        let back = cocon::decode_body(&cocon::encode_body(&event)).expect("our own body");
        prop_assert_eq!(cocon::lists_of(&back), Some(UnitFloor { speakers, requests }));
        let string = Value::String(text);
        prop_assert_eq!(cocon::decode_body(&cocon::encode_body(&string)).ok(), Some(string));
    }

    #[test]
    fn cocon_parsing_never_panics(path in "\\PC{0,80}", query in "\\PC{0,80}", body in "\\PC{0,80}") {
        let _ = Request::parse(&path, &query).path();
        if let Ok(v) = cocon::decode_body(&body) {
            let _ = cocon::lists_of(&v);
        }
    }
}
