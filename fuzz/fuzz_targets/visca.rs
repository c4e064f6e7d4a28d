//! The VISCA codecs: a serial/TCP byte stream, camera replies, controller commands and
//! VISCA-over-IP datagrams; any bytes decode or fail, never panic, and the stream decoder
//! always makes progress.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podium_devices::visca::codec::{Command, Reply, decode};
use podium_devices::visca::ip::Datagram;

fuzz_target!(|data: &[u8]| {
    let _ = Datagram::decode(data);
    let mut buf = data.to_vec();
    for _ in 0..=data.len() {
        let before = buf.len();
        match decode(&mut buf) {
            Ok(Some(packet)) => {
                let _ = Reply::parse(&packet);
                let _ = Command::parse(&packet);
            }
            Ok(None) => break,
            Err(_) => {}
        }
        if buf.len() == before && before > 0 {
            // No progress on a non-empty buffer would loop forever on a stream.
            assert!(matches!(decode(&mut buf.clone()), Ok(None)), "stuck on {buf:02x?}");
            break;
        }
    }
});
