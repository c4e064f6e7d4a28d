//! Display and switcher decoders never panic, whatever the bytes.

use podium_devices::pjlink::codec::{self as pj, Greeting, Request, Response};
use proptest::prelude::*;

proptest! {
    #[test]
    fn pjlink_lines_never_panic(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..10)) {
        let mut buf = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(&chunk);
            loop {
                let line = match pj::take_line(&mut buf) {
                    Ok(Some(line)) => line,
                    Ok(None) => break,
                    Err(_) => continue,
                };
                let _ = Greeting::parse(&line);
                if let Ok(r) = Response::parse(&line) {
                    prop_assert_eq!(Response::parse(r.encode().trim_end_matches('\r')), Ok(r));
                }
                let _ = Request::parse(&line);
            }
            prop_assert!(buf.len() <= pj::MAX_LINE);
        }
    }
}

proptest! {
    #[test]
    fn extron_lines_and_commands_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        use podium_devices::extron::codec::{self as sis, Command, Response};
        let mut buf = bytes.clone();
        while let Some(line) = sis::take_line(&mut buf) {
            let _ = Response::parse(&line);
        }
        prop_assert!(buf.len() <= sis::MAX_LINE);
        let text = String::from_utf8_lossy(&bytes);
        if let Some(c) = Command::parse(&text) {
            prop_assert_eq!(Command::parse(&c.encode()), Some(c));
        }
    }
}

proptest! {
    #[test]
    fn mdc_decoder_never_panics(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..10)) {
        use podium_devices::mdc::codec;
        let mut buf = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(&chunk);
            let mut rounds = 0;
            loop {
                let before = buf.len();
                match codec::decode(&mut buf) {
                    Ok(Some(frame)) => prop_assert_eq!(codec::decode(&mut frame.encode()), Ok(Some(frame))),
                    Ok(None) => break,
                    Err(_) => prop_assert!(buf.len() < before),
                }
                rounds += 1;
                prop_assert!(rounds < 1000);
            }
        }
    }
}
