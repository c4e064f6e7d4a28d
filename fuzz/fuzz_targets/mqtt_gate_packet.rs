//! The embedded broker's gate reads untrusted clients' MQTT packets: any bytes are framed,
//! parsed and checked against a login's rights without a panic, frames never claim more
//! than the buffer or the bound, and an accepted CONNECT re-encodes to a packet that parses
//! to the same contents.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podium_host::mqtt::packet::{self, MAX_CLIENT_PACKET, kind};
use podium_host::mqtt::rights::Rights;

fuzz_target!(|data: &[u8]| {
    let rights = Rights::desk_unit("podium/v1/saal", "u1");
    let mut buf = data;
    while let Ok(Some(frame)) = packet::frame(buf, MAX_CLIENT_PACKET) {
        assert!(frame.len <= buf.len() && frame.len <= MAX_CLIENT_PACKET && frame.body_start <= frame.len);
        let body = &buf[frame.body_start..frame.len];
        match frame.kind() {
            kind::CONNECT => {
                if let Ok(connect) = packet::parse_connect(body) {
                    let again = packet::encode_connect(&connect);
                    let reframed = packet::frame(&again, usize::MAX).unwrap().unwrap();
                    assert_eq!(packet::parse_connect(&again[reframed.body_start..]), Ok(connect));
                }
            }
            kind::PUBLISH => {
                if let Ok(topic) = packet::parse_publish_topic(frame.first, body) {
                    let _ = rights.may_publish(topic);
                }
            }
            kind::SUBSCRIBE => {
                if let Ok(filters) = packet::parse_subscribe_filters(frame.first, body) {
                    for filter in filters {
                        let _ = rights.may_subscribe(filter);
                    }
                }
            }
            _ => {}
        }
        buf = &buf[frame.len..];
    }
});
