//! The room devices' text and frame protocols: PJLink (projectors), Samsung MDC (displays),
//! Extron SIS (matrix switchers) and Shure command strings (microphones). The first byte
//! picks the protocol; the rest is a byte stream from the device. Any bytes decode or fail,
//! never panic, and every stream decoder makes progress (a stuck decoder would spin on a
//! socket).
#![no_main]

use libfuzzer_sys::fuzz_target;
use podium_devices::{extron, mdc, pjlink, shure};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else { return };
    let mut buf = stream.to_vec();
    for _ in 0..=stream.len() {
        let before = buf.len();
        let more = match selector % 4 {
            0 => match pjlink::codec::take_line(&mut buf) {
                Ok(Some(line)) => {
                    let _ = pjlink::codec::Greeting::parse(&line);
                    let _ = pjlink::codec::Request::parse(&line);
                    if let Ok(response) = pjlink::codec::Response::parse(&line) {
                        let _ = response.encode();
                    }
                    let _ = pjlink::codec::parse_power(&line);
                    true
                }
                Ok(None) => false,
                Err(_) => true,
            },
            1 => match mdc::codec::decode(&mut buf) {
                Ok(Some(frame)) => {
                    let _ = frame.as_reply();
                    let mut again = frame.encode();
                    assert_eq!(
                        mdc::codec::decode(&mut again),
                        Ok(Some(frame)),
                        "a frame encodes back to itself"
                    );
                    true
                }
                Ok(None) => false,
                Err(_) => true,
            },
            2 => match extron::codec::take_line(&mut buf) {
                Some(line) => {
                    let _ = extron::codec::Command::parse(&line);
                    let _ = extron::codec::Response::parse(&line);
                    true
                }
                None => false,
            },
            _ => match shure::codec::take(&mut buf) {
                Some(message) => {
                    if let Some(message) = message {
                        let _ = message.as_mute();
                        let _ = message.encode();
                    }
                    true
                }
                None => false,
            },
        };
        if !more || buf.is_empty() {
            break;
        }
        assert!(buf.len() < before, "the decoder did not consume anything from {buf:02x?}");
    }
});
